#!/usr/bin/python3
# make-seeds.py: writes the seed corpora of tests/fuzz/corpus/ (stores made by openssl and keytool)
# SPDX-License-Identifier: Apache-2.0
"""Regenerate the committed seeds: /usr/bin/python3 tests/fuzz/make-seeds.py

Stores are made fresh (new keys every time), with keytool's default
password "changeit", small (EC P-256) so that the fuzzer mutates
structure, not bulk, and mostly with low key-derivation iteration counts
(PKCS#12 -iter 2, JCEKS 10000: Java's lowest) so that a run reaches a million inputs:
the counts are read from the file, so the fuzzer still tries large ones.  Text seeds are written as they are below."""

import os
import shutil
import socket
import struct
import subprocess
import tempfile
import threading

HERE = os.path.dirname(os.path.abspath(__file__))
SRC = os.path.dirname(os.path.dirname(HERE))
CORPUS = os.path.join(HERE, 'corpus')
PW = 'changeit'


def UPGRADE_REQUESTS(key):
    base = f'Host: localhost:8000\r\nUpgrade: websocket\r\nConnection: keep-alive, Upgrade\r\n' \
           f'Sec-WebSocket-Version: 13\r\nSec-WebSocket-Key: {key}\r\n'
    return {
        'ok': f'GET /echo HTTP/1.1\r\n{base}Origin: http://localhost:8000\r\n\r\n\x81\x82ab',
        'ok-case': f'GET / HTTP/1.1\r\nhost:127.0.0.1\r\nupgrade:  WebSocket \r\nconnection:upgrade\r\n'
                   f'sec-websocket-version:13\r\nsec-websocket-key:{key}\r\n\r\n',
        'query': f'GET /echo?x=1 HTTP/1.1\r\n{base}\r\n',
        'dot-segment': f'GET /a/../echo HTTP/1.1\r\n{base}\r\n',
        'twice-host': f'GET /echo HTTP/1.1\r\n{base}Host: other\r\n\r\n',
        'body': f'GET /echo HTTP/1.1\r\n{base}Content-Length: 2\r\n\r\nab',
        'bad-key': f'GET /echo HTTP/1.1\r\n{base.replace(key, "short")}\r\n',
        'http10': f'GET /echo HTTP/1.0\r\n{base}\r\n',
        'bare-lf': f'GET /echo HTTP/1.1\n{base}\n',
        'page': 'GET /index.html HTTP/1.1\r\nHost: localhost\r\n\r\n',
        'partial': f'GET /echo HTTP/1.1\r\n{base}',
    }


def put(target, name, data):
    d = os.path.join(CORPUS, target)
    os.makedirs(d, exist_ok=True)
    if isinstance(data, str):
        data = data.encode()
    with open(os.path.join(d, name), 'wb') as f:
        f.write(data)


def run(cmd, cwd):
    subprocess.run(cmd, cwd=cwd, shell=True, check=True,
                   stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)


def read(cwd, name):
    with open(os.path.join(cwd, name), 'rb') as f:
        return f.read()


def stores(tmp):
    run('openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'
        ' -keyout key.pem -out cert.pem -days 30 -subj /CN=localhost'
        ' -addext subjectAltName=DNS:localhost,IP:127.0.0.1', tmp)
    run('openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'
        ' -keyout ca-key.pem -out ca.pem -days 30 -subj /CN=fuzz-ca'
        ' -addext basicConstraints=critical,CA:true', tmp)
    run('openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes'
        ' -keyout leaf-key.pem -out leaf.csr -subj /CN=*.example.test', tmp)
    run('printf "subjectAltName=DNS:*.example.test,DNS:example.test\\n" > ext.cnf && '
        'openssl x509 -req -in leaf.csr -CA ca.pem -CAkey ca-key.pem -CAcreateserial'
        ' -days 30 -extfile ext.cnf -out leaf.pem', tmp)
    run(f'openssl pkcs8 -topk8 -in key.pem -out enc-key.pem -passout pass:{PW}', tmp)
    run('openssl ec -in leaf-key.pem -out ec-key.pem', tmp)

    put('pem', 'cert.pem', read(tmp, 'cert.pem'))
    put('pem', 'key-and-cert.pem', read(tmp, 'key.pem') + read(tmp, 'cert.pem'))
    put('pem', 'encrypted-key-and-cert.pem', read(tmp, 'enc-key.pem') + read(tmp, 'cert.pem'))
    put('pem', 'ec-key-and-chain.pem', read(tmp, 'ec-key.pem') + read(tmp, 'leaf.pem') + read(tmp, 'ca.pem'))
    put('pem', 'bundle.pem', read(tmp, 'ca.pem') + read(tmp, 'cert.pem'))
    # alias lines holding a control character (ignored: the default alias)
    put('pem', 'alias-lines.pem', b'# alias: a\x01b\n# subject: CN=x\n' + read(tmp, 'cert.pem') +
        b'\nfriendlyName: c\rd\n' + read(tmp, 'ca.pem'))

    run(f'openssl pkcs12 -export -in cert.pem -inkey key.pem -name localhost'
        f' -passout pass:{PW} -out key.p12', tmp)
    run(f'openssl pkcs12 -export -in leaf.pem -inkey leaf-key.pem -certfile ca.pem -iter 2'
        f' -name example -passout pass:{PW} -out chain.p12', tmp)
    run(f'openssl pkcs12 -export -in cert.pem -inkey key.pem -iter 2 -name low-iter'
        f' -passout pass:{PW} -out low-iter.p12', tmp)
    run(f'openssl pkcs12 -export -in cert.pem -inkey key.pem -name legacy -legacy'
        f' -passout pass:{PW} -out legacy.p12', tmp)
    run(f'keytool -importcert -noprompt -alias fuzz-ca -file ca.pem -storetype PKCS12'
        f' -keystore trust.p12 -storepass {PW}', tmp)
    for n in ('key', 'chain', 'low-iter', 'legacy', 'trust'):
        put('pkcs12', n + '.p12', read(tmp, n + '.p12'))

    for kind in ('JKS', 'JCEKS'):
        low = kind.lower()
        run(f'keytool -J-Djdk.jceks.iterationCount=10000 -importkeystore -noprompt -srckeystore key.p12 -srcstoretype PKCS12'
            f' -srcstorepass {PW} -destkeystore key.{low} -deststoretype {kind}'
            f' -deststorepass {PW} -destkeypass {PW}', tmp)
        run(f'keytool -importcert -noprompt -alias fuzz-ca -file ca.pem -storetype {kind}'
            f' -keystore trust.{low} -storepass {PW}', tmp)
        put(low, 'key.' + low, read(tmp, 'key.' + low))
        put(low, 'trust.' + low, read(tmp, 'trust.' + low))
        if kind == 'JKS':   # install-ca --java edits such stores in place
            put('jks-edit', 'key.jks', read(tmp, 'key.jks'))
            put('jks-edit', 'trust.jks', read(tmp, 'trust.jks'))
    run(f'keytool -J-Djdk.jceks.iterationCount=10000 -genseckey -alias secret -keyalg AES -keysize 128 -storetype JCEKS'
        f' -keystore secret.jceks -storepass {PW} -keypass {PW}', tmp)
    put('jceks', 'secret.jceks', read(tmp, 'secret.jceks'))


def capture_hello(client_cmd):
    """The first TLS record a real client sends to a listening socket."""
    srv = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    srv.bind(('127.0.0.1', 0))
    srv.listen(1)
    srv.settimeout(10)
    port = srv.getsockname()[1]
    proc = subprocess.Popen(client_cmd.format(port=port), shell=True, stdin=subprocess.PIPE,
                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    conn, _ = srv.accept()
    conn.settimeout(10)
    data = b''
    while len(data) < 5 or len(data) < 5 + struct.unpack('>H', data[3:5])[0]:
        chunk = conn.recv(65536)
        if not chunk:
            break
        data += chunk
    conn.close()
    srv.close()
    proc.kill()
    proc.wait()
    return data


def hellos():
    cases = {
        'openssl-sni': 'openssl s_client -connect 127.0.0.1:{port} -servername gateway.example.test',
        'openssl-no-sni': 'openssl s_client -connect 127.0.0.1:{port} -noservername',
        'openssl-tls12': 'openssl s_client -connect 127.0.0.1:{port} -tls1_2 -servername a.test',
        'gnutls-sni': 'gnutls-cli --insecure -p {port} --sni-hostname=localhost 127.0.0.1',
        # a server name that is no host name (logged escaped, never a URL)
        'openssl-sni-colon': "openssl s_client -connect 127.0.0.1:{port} -servername 'a:b'",
    }
    for name, cmd in cases.items():
        hello = capture_hello(cmd)
        assert len(hello) > 5, name
        # two leading bytes choose where the prefix is cut (fuzz-client-hello.c)
        put('client-hello', name, b'\x00\x40' + hello)
        put('client-hello', name + '-whole', b'\xff\xff' + hello)
    put('client-hello', 'http', b'\x00\x03GET / HTTP/1.1\r\nHost: x\r\n\r\n')


def frame(op, payload, fin=True, mask=None, rsv=0):
    b0 = (0x80 if fin else 0) | rsv | op
    n = len(payload)
    m = 0x80 if mask is not None else 0
    if n < 126:
        head = bytes([b0, m | n])
    elif n < 65536:
        head = bytes([b0, m | 126]) + struct.pack('>H', n)
    else:
        head = bytes([b0, m | 127]) + struct.pack('>Q', n)
    if mask is not None:
        payload = bytes(c ^ mask[i % 4] for i, c in enumerate(payload))
        head += mask
    return head + payload


def ws():
    k = b'\x11\x22\x33\x44'
    # mode byte: bit 0 server side (masked), bits 1-3 max size index; then cut count and cuts
    server = b'\x01'
    client = b'\x00'
    small = b'\x05'   # server side, max size 126
    streams = {
        'text': (server, frame(1, b'hello', mask=k)),
        'binary-client': (client, frame(2, bytes(range(40)))),
        'fragmented': (server, frame(1, b'hel', fin=False, mask=k) + frame(9, b'p', mask=k) +
                       frame(0, 'lo é'.encode(), mask=k)),
        'ping-pong-close': (server, frame(9, b'x', mask=k) + frame(10, b'', mask=k) +
                            frame(8, struct.pack('>H', 1000) + b'bye', mask=k)),
        'close-empty': (client, frame(8, b'')),
        'len16': (server, frame(2, b'a' * 300, mask=k)),
        'len64': (client, frame(2, b'b' * 70000)[:14] + b'b' * 200),
        'too-big': (small, frame(2, b'c' * 200, mask=k)),
        'bad-utf8': (server, frame(1, b'\xc3\x28', mask=k)),
        'split-utf8': (server, frame(1, b'\xe2\x82', fin=False, mask=k) + frame(0, b'\xac', mask=k)),
        'unmasked-to-server': (server, frame(1, b'x')),
        'rsv': (client, frame(1, b'x', rsv=0x40)),
        'bad-close-code': (client, frame(8, struct.pack('>H', 1005))),
    }
    for name, (mode, stream) in streams.items():
        put('ws-parser', name, mode + b'\x00' + stream)
        put('ws-parser', name + '-cut', mode + b'\x03\x01\x02\x05' + stream)


def texts():
    for n in ('ws://localhost:8000/echo', 'wss://[::1]:9443/', 'http://127.0.0.1', 'https://h',
              'tcp://backend:5000', 'ssl://a.test:443/x?y', 'ws://host:0/', 'ws://host:99999',
              'udp://x:1', 'WSS://UPPER:1/Path', 'ws://[fe80::1%25eth0]:80/', 'ws://${p}:80/',
              'ws://user@host:80/'):
        put('url', n.replace('/', '_').replace(':', '-')[:40], n)

    accept = 's3pPLMBiTxaQ9kYGzzhZRbK+xOo='
    for name, text in {
        'ok': f'HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n'
              f'Sec-WebSocket-Accept: {accept}\r\n\r\n\x81\x02hi',
        'ok-case': f'HTTP/1.1 101 x\r\nsec-websocket-accept:{accept}  \r\n\r\n',
        'wrong-accept': 'HTTP/1.1 101 x\r\nSec-WebSocket-Accept: AAAA\r\n\r\n',
        'no-accept': 'HTTP/1.1 101 x\r\n\r\n',
        'refused': 'HTTP/1.1 403 Forbidden\r\nContent-Length: 0\r\n\r\n',
        'empty-head': '\r\n\r\n',
        'partial': 'HTTP/1.1 101 Switching',
    }.items():
        put('upgrade-response', name, b'\x00\x10' + text.encode())
        put('upgrade-response', name + '-whole', b'\xff\xff' + text.encode())

    # upgrade-request: the client's upgrade head the gateway answers itself
    key = 'dGhlIHNhbXBsZSBub25jZQ=='
    for name, text in UPGRADE_REQUESTS(key).items():
        put('upgrade-request', name, b'\x00\x20' + text.encode())
        put('upgrade-request', name + '-whole', b'\xff\xff' + text.encode())

    for i, p in enumerate(['', '/', '/index.html', '/sub/', '/sub/page.html', '/in-link/page.html',
                           '/out-link/outside.txt', '/sub/escape', '/abs/passwd', '/sub/.hidden',
                           '/../outside.txt', '/%2e%2e/x', '/a%2fb', '//sub//page.html',
                           '/sub/page%2Ehtml', '/sp%20ace', '/%00', '/%zz', '/a\\b', '/in-link/']):
        put('directory-path', f'path-{i:02d}', p)

    # log-json: what peers choose (close reasons, SNI) as JSON log fields
    for name, data in {
        'plain': b'gateway shutting down',
        'injection': b'bye"}\n{"event":"forged"}\r\t\\',
        'invalid-utf8': b'\xff\xfe\xc3\x28 \xe2\x80\xa8 \xc2\x85 \x1b[31m',
        'number': b'1234.5',
        'nul': b'a\x00b',
    }.items():
        put('log-json', name, data)

    listing = ('\nCertificate Nickname                                         Trust Attributes\n'
               '                                                             SSL,S/MIME,JAR/XPI\n\n')
    for name, rows in {
        'one-ca': ['postern development ca on vm                                 C,,'],
        'several': ['localhost                                                    u,u,u',
                    'Back-end Test CA                                             CT,C,C',
                    'peer only                                                    P,,'],
        'crlf': ['a b c                  C,,\r', 'x  ,,\r'],
        'odd': ['no trust field here', 'C,,', '   C,,', 'name \t  C,,,', 'utf8 ünïcødé   c,,'],
    }.items():
        put('certutil', 'list-' + name, listing + '\n'.join(rows) + '\n')
    pem_body = 'MIIBszCCAVmgAwIBAgIUQ1Jk\nAAECAwQFBgcICQ==\n'
    put('certutil', 'pem-two', '-----BEGIN CERTIFICATE-----\r\n' + pem_body + '-----END CERTIFICATE-----\r\n'
        'junk\n-----BEGIN CERTIFICATE-----\n' + pem_body + '-----END CERTIFICATE-----\n')
    put('certutil', 'pem-cut', '-----BEGIN CERTIFICATE-----\n' + pem_body)
    put('certutil', 'pem-empty', '-----BEGIN CERTIFICATE-----\n-----END CERTIFICATE-----\n')


def labels():
    # service names and store aliases as they may come, and TLS messages
    for i, n in enumerate(['echo', 'a"b', 'back\\slash', 'line\nbreak', 'trailing\\', '"',
                           'é ü ✓', '\x01\x7f', 'Peer sent fatal TLS alert: CA is unknown',
                           'Certificate is expired', '{service="x"} 1', '']):
        put('metrics-label', f'name-{i:02d}', n)


def workers():
    # the master's and the workers' control lines (first byte: where to cut)
    for i, t in enumerate([b'\x03ready\n', b'\x02drain\nretire\nstop\n', b'\x10reload-ok\n',
                           b'\x05reload-failed gateway-config.xml:3:1: error: no\n', b'\x00\n\n\n',
                           b'\x40' + b'x' * 200 + b'\nready\n', b'\x01no newline']):
        put('control-lines', f'lines-{i:02d}', t)
    # a worker's figures as it writes them in shared memory (GVariant)
    from gi.repository import GLib
    kind = '(a(stttttattda(qt))atttxx)'
    buckets = [0, 0, 3, 1, 0, 0, 0, 0, 0, 0, 0, 0]
    for i, services in enumerate([
            [],
            [('echo', 5, 2, 20, 20, 0, [0] * 12, 0, 0.0, [(1000, 2)])],
            [('proxy', 9, 9, 1 << 40, 7, 2, buckets, 4, 0.0123, [(1000, 7), (1001, 2)]),
             ('a"b\n', 1, 0, 0, 0, 0, [0] * 12, 0, 0.0, [])]]):
        v = GLib.Variant(kind, (services, [0, 1, 0, 0, 2, 0, 0, 0, 0, 3, 0, 0], i, 1, 1700000000, 1690000000))
        put('metrics-slot', f'slot-{i:02d}', v.get_data_as_bytes().get_data())


def configs():
    put('config', 'shipped.xml', read(os.path.join(SRC, 'conf'), 'gateway-config.xml'))
    fixtures = os.path.join(SRC, 'tests', 'fixtures', 'config')
    for n in ('valid.xml', 'namespace-2014.xml', 'namespace-none.xml', 'property-cycle.xml',
              'undefined-property.xml', 'unknown-elements.xml', 'loosening.xml', 'doctype.xml',
              'bad-option-values.xml', 'proxy-schemes.xml', 'directory-connect.xml', 'malformed.xml'):
        put('config', n, read(fixtures, n))
    put('config', 'properties.xml', '''<?xml version="1.0"?>
<gateway-config xmlns="http://xmlns.kaazing.org/2016/06/gateway">
  <properties>
    <property><name>host</name><value>localhost</value></property>
    <property><name>port</name><value>8${digit}0</value></property>
    <property><name>digit</name><value>0</value></property>
  </properties>
  <service-defaults><accept-options><ws.maximum.message.size>64k</ws.maximum.message.size></accept-options></service-defaults>
  <service>
    <name>proxy ${host}</name>
    <accept>ws://${host}:${port}/p</accept>
    <connect>tcp://${host}:5000</connect>
    <type>proxy</type>
    <accept-options><ssl.encryption>disabled</ssl.encryption><ws.inactivity.timeout>30s</ws.inactivity.timeout></accept-options>
    <cross-site-constraint><allow-origin>*</allow-origin></cross-site-constraint>
  </service>
  <service>
    <accept>http://${host}:8001/</accept>
    <type>directory</type>
    <properties><directory>web</directory><options>indexes</options>
      <location><patterns>*.js</patterns><cache-control>max-age=m+1h</cache-control></location></properties>
  </service>
</gateway-config>
''')

    # <password-keyring> (issue 12): a store that exists (so that check
    # asks the keyring, which the target makes unreachable), a bad value,
    # and both ways of giving the password
    for name, store in (('keyring.xml', '<file>/etc/passwd</file><password-keyring>true</password-keyring>'),
                        ('keyring-bad-value.xml', '<file>/etc/passwd</file><password-keyring> yes </password-keyring>'),
                        ('keyring-and-file.xml', '<file>ks.p12</file><password-file>ks.pw</password-file>'
                                                 '<password-keyring>TRUE</password-keyring>')):
        put('config', name, f'''<?xml version="1.0"?>
<gateway-config xmlns="http://xmlns.kaazing.org/2016/06/gateway">
  <service><accept>wss://localhost:9443/</accept><type>echo</type></service>
  <security><keystore><type>PKCS12</type>{store}</keystore>
    <truststore><file>/etc/passwd</file><password-keyring>false</password-keyring></truststore></security>
</gateway-config>
''')


def proxy_protocol():
    # a cut count byte, the cuts, then the stream (header + what follows it)
    sig = b'\r\n\r\n\x00\r\nQUIT\n'
    inet = bytes([192, 0, 2, 1, 198, 51, 100, 2]) + struct.pack('>HH', 56324, 443)
    inet6 = bytes(15) + b'\x07' + bytes(15) + b'\x01' + struct.pack('>HH', 65535, 80)
    tlvs = b'\x01\x00\x02h2' + b'\x04\x00\x02\x00\x00' + b'\x05\x00\x00'

    def v2(ver_cmd, fam, body):
        return sig + bytes([ver_cmd, fam]) + struct.pack('>H', len(body)) + body

    hello = b'\x16\x03\x01\x00\x05\x01\x00\x00\x01\x00'
    streams = {
        'v1-tcp4': b'PROXY TCP4 192.0.2.1 198.51.100.2 56324 443\r\nGET / HTTP/1.1\r\n\r\n',
        'v1-tcp6': b'PROXY TCP6 2001:db8::1 ::1 1 65535\r\n' + hello,
        'v1-unknown': b'PROXY UNKNOWN ::1 ::2 3 4\r\n',
        'v1-bad-port': b'PROXY TCP4 1.2.3.4 5.6.7.8 65536 1\r\n',
        'v2-inet': v2(0x21, 0x11, inet) + hello,
        'v2-inet6': v2(0x21, 0x21, inet6) + hello,
        'v2-tlvs': v2(0x21, 0x11, inet + tlvs),
        'v2-local': v2(0x20, 0x00, b''),
        'v2-unix': v2(0x21, 0x31, bytes(216)),
        'v2-dgram': v2(0x21, 0x12, inet),
        'tls': hello,
        'http': b'GET / HTTP/1.1\r\nHost: x\r\n\r\n',
    }
    for name, stream in streams.items():
        put('proxy-protocol', name, b'\x00' + stream)
        put('proxy-protocol', name + '-cut', b'\x03\x01\x0d\x05' + stream)


def main():
    if os.path.isdir(CORPUS):
        shutil.rmtree(CORPUS)
    with tempfile.TemporaryDirectory() as tmp:
        stores(tmp)
    hellos()
    ws()
    texts()
    labels()
    workers()
    configs()
    proxy_protocol()


if __name__ == '__main__':
    main()
