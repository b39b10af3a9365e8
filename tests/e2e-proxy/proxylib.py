#!/usr/bin/python3
# proxylib.py: helpers for the data-path end-to-end tests (issue 4): back-end
# servers on loopback (TCP/TLS echo, a deterministic byte source, a
# python3-websockets echo), a minimal blocking WebSocket client for the tests
# that need to control every byte read, and tool runners (openssl s_client,
# HAProxy, keytool).
# Builds on tests/e2e/harness.py (imported, not modified).
# SPDX-License-Identifier: Apache-2.0
import asyncio
import base64
import hashlib
import os
import random
import re
import socket
import ssl
import struct
import subprocess
import sys
import threading
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
import harness as h  # noqa: E402

MiB = 1024 * 1024
KiB = 1024
IO_TIMEOUT = 60.0        # one blocking socket operation in a back-end or client


# --------------------------------------------------------------------------
# Deterministic data


class Pattern:
    """A deterministic byte stream: chunk i is an 8-byte big-endian counter
    followed by a window of a seeded random buffer, so that any loss,
    duplication or reordering changes the SHA-256."""

    def __init__(self, seed, base_size=4 * MiB):
        self.base = random.Random(seed).randbytes(base_size)

    def chunk(self, i, size):
        if size <= 8:
            return struct.pack(">Q", i)[8 - size:]
        off = (i * 1_000_003 * 16) % (len(self.base) - size)
        return struct.pack(">Q", i) + self.base[off:off + size - 8]

    def pieces(self, total, sizes):
        """Yield pieces whose lengths cycle through `sizes`, `total` bytes in all."""
        i = 0
        left = total
        while left > 0:
            n = min(sizes[i % len(sizes)], left)
            yield self.chunk(i, n)
            left -= n
            i += 1

    def sha256(self, total, sizes):
        d = hashlib.sha256()
        for p in self.pieces(total, sizes):
            d.update(p)
        return d.hexdigest()


# --------------------------------------------------------------------------
# Back-end servers (threads, blocking sockets, bounded by timeouts)


class Server:
    """A TCP (or, with ssl_ctx, TLS) server on 127.0.0.1:free port (or host:port).  Each
    connection runs handler(conn, record) in its own thread; `record` is a
    dict appended to self.records (bytes in/out, SHA-256, errors)."""

    def __init__(self, name, handler, ssl_ctx=None, host="127.0.0.1", port=0):
        self.name = name
        self.handler = handler
        self.ssl_ctx = ssl_ctx
        self.sock = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET,
                                  socket.SOCK_STREAM)
        self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        self.sock.bind((host, port))
        self.sock.listen(64)
        self.sock.settimeout(0.2)
        self.port = self.sock.getsockname()[1]
        self.records = []
        self.cond = threading.Condition()
        self.stopping = False
        self.conns = []
        self.threads = []
        t = threading.Thread(target=self._accept_loop, daemon=True)
        t.start()
        self.threads.append(t)

    def _accept_loop(self):
        while not self.stopping:
            try:
                conn, addr = self.sock.accept()
            except socket.timeout:
                continue
            except OSError:
                return
            conn.settimeout(IO_TIMEOUT)
            record = {"peer": addr, "in": 0, "out": 0, "done": False, "error": None}
            with self.cond:
                self.records.append(record)
                self.conns.append(conn)
            t = threading.Thread(target=self._serve, args=(conn, record), daemon=True)
            t.start()
            self.threads.append(t)

    def _serve(self, conn, record):
        try:
            if self.ssl_ctx is not None:
                conn = self.ssl_ctx.wrap_socket(conn, server_side=True)
                with self.cond:
                    self.conns.append(conn)
                record["tls"] = conn.version()
            self.handler(conn, record)
        except Exception as e:  # noqa: BLE001 - recorded for the test to see
            record["error"] = f"{type(e).__name__}: {e}"
        finally:
            try:
                conn.close()
            except OSError:
                pass
            with self.cond:
                record["done"] = True
                self.cond.notify_all()

    def wait_records(self, count, timeout):
        """Wait until `count` connections have finished; return them all."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while sum(1 for r in self.records if r["done"]) < count:
                left = deadline - time.monotonic()
                if left <= 0:
                    raise h.Fail(f"back-end {self.name}: {count} finished connection(s) "
                                 f"expected within {timeout} s; records: {self.describe()}")
                self.cond.wait(min(left, 0.2))
            return list(self.records)

    def describe(self):
        with self.cond:
            return [{k: v for k, v in r.items() if k != "progress"} for r in self.records]

    def close(self):
        self.stopping = True
        try:
            self.sock.close()
        except OSError:
            pass
        with self.cond:
            conns = list(self.conns)
        for c in conns:
            try:
                c.close()
            except OSError:
                pass
        for t in self.threads:
            t.join(2)


def echo_handler(conn, record):
    """Echo every byte until EOF; record count and SHA-256 of what came in."""
    d = hashlib.sha256()
    while True:
        data = conn.recv(256 * KiB)
        if not data:
            break
        d.update(data)
        record["in"] += len(data)
        conn.sendall(data)
        record["out"] += len(data)
    record["sha256"] = d.hexdigest()


def source_handler(pattern, total, sizes):
    """A handler that sends `total` bytes of `pattern` as fast as the socket
    takes them, recording progress in record['out'] (with the time), then
    closes."""
    def handler(conn, record):
        record["started"] = time.monotonic()
        d = hashlib.sha256()
        for p in pattern.pieces(total, sizes):
            conn.sendall(p)
            d.update(p)
            record["out"] += len(p)
        record["sha256"] = d.hexdigest()
        record["finished"] = time.monotonic()
        try:
            conn.shutdown(socket.SHUT_WR)
        except OSError:
            pass
        # Wait (bounded) for the gateway to close its side.
        try:
            while conn.recv(64 * KiB):
                pass
        except OSError:
            pass
    return handler


def server_ssl_context(cert):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert.cert, cert.key)
    return ctx


class WsBackend:
    """A python3-websockets server on 127.0.0.1 (its own event loop in a
    thread) that records every message it receives, with its type, and
    echoes it back unchanged."""

    def __init__(self, ssl_ctx=None):
        self.ws = h.import_websockets()
        self.messages = []       # per connection: list of received messages
        self.errors = []
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.ssl_ctx = ssl_ctx
        self.port = None
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise h.Fail("python3-websockets back-end did not start within 10 s")
        if self.port is None:
            raise h.Fail(f"python3-websockets back-end failed to start: {self.errors}")

    async def _handler(self, conn, path=None):
        got = []
        self.messages.append({"path": conn.path, "messages": got,
                              "headers": dict(conn.request_headers)})
        try:
            async for m in conn:
                got.append(m)
                await conn.send(m)
        except Exception as e:  # noqa: BLE001
            self.errors.append(f"{type(e).__name__}: {e}")

    def _run(self):
        asyncio.set_event_loop(self.loop)

        async def main():
            self.stop = asyncio.Event()
            try:
                server = await self.ws.serve(self._handler, "127.0.0.1", 0, ssl=self.ssl_ctx,
                                             max_size=None, ping_interval=None,
                                             compression=None)
                self.port = server.sockets[0].getsockname()[1]
            except Exception as e:  # noqa: BLE001
                self.errors.append(repr(e))
                self.ready.set()
                return
            self.ready.set()
            await self.stop.wait()
            server.close()
            await asyncio.wait_for(server.wait_closed(), 5)

        try:
            self.loop.run_until_complete(main())
        except Exception as e:  # noqa: BLE001
            self.errors.append(repr(e))

    def close(self):
        if self.thread.is_alive() and self.port is not None:
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)


# --------------------------------------------------------------------------
# Gateway helpers


def rss_kib(pid):
    """The resident set size of a process, from /proc/PID/status (KiB)."""
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    raise h.Fail(f"no VmRSS in /proc/{pid}/status")


def stderr_lines(gw, predicate):
    with gw.cond:
        return [l for l in gw.stderr if predicate(l)]


def dump_log(gw, limit=200):
    """The gateway's stderr as TAP diagnostics (for the record)."""
    with gw.cond:
        lines = list(gw.stderr)
    sys.stdout.write(f"# {gw.name} stderr ({len(lines)} lines):\n")
    for l in lines[-limit:]:
        sys.stdout.write(f"#   {l}\n")


def wait_log(gw, predicate, timeout, what):
    line = gw.wait_stderr(predicate, timeout)
    if line is None:
        raise h.Fail(f"no gateway log line {what} within {timeout} s; gateway stderr:\n"
                     + "\n".join(gw.stderr[-30:]))
    return line


def connected_socket(port, host="127.0.0.1", rcvbuf=None, timeout=10.0):
    """A TCP socket connected to host:port (so the test knows its own port
    and can find it in the gateway's log)."""
    s = socket.socket(socket.AF_INET6 if ":" in host else socket.AF_INET, socket.SOCK_STREAM)
    if rcvbuf:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
    s.settimeout(timeout)
    try:
        s.connect((host, port))
    except OSError:
        s.close()
        raise
    return s


def cert_sha256(pem_path):
    with open(pem_path) as f:
        der = ssl.PEM_cert_to_DER_cert(f.read())
    return hashlib.sha256(der).hexdigest()


# --------------------------------------------------------------------------
# A minimal blocking RFC 6455 client: the tests that must control how fast
# bytes are read (backpressure) or look at the raw handshake use it.


class HandshakeRefused(Exception):
    def __init__(self, status, head):
        super().__init__(f"HTTP status {status}: {head!r}")
        self.status = status
        self.head = head


class FrameParser:
    def __init__(self):
        self.buf = bytearray()

    def feed(self, data):
        """Add bytes; return the complete frames now available, as
        (fin, opcode, payload)."""
        self.buf += data
        frames = []
        buf = self.buf
        pos = 0
        while True:
            if len(buf) - pos < 2:
                break
            b0, b1 = buf[pos], buf[pos + 1]
            n = b1 & 0x7F
            hdr = 2
            if n == 126:
                if len(buf) - pos < 4:
                    break
                n = struct.unpack_from(">H", buf, pos + 2)[0]
                hdr = 4
            elif n == 127:
                if len(buf) - pos < 10:
                    break
                n = struct.unpack_from(">Q", buf, pos + 2)[0]
                hdr = 10
            if b1 & 0x80:
                raise h.Fail("the gateway sent a masked frame to the client (RFC 6455 5.1)")
            if len(buf) - pos < hdr + n:
                break
            frames.append((bool(b0 & 0x80), b0 & 0x0F, bytes(buf[pos + hdr:pos + hdr + n])))
            pos += hdr + n
        if pos:
            del buf[:pos]
        return frames


def mask_frame(opcode, payload, fin=True):
    mask = os.urandom(4)
    n = len(payload)
    head = bytes([(0x80 if fin else 0) | opcode])
    if n < 126:
        head += bytes([0x80 | n])
    elif n < 65536:
        head += bytes([0x80 | 126]) + struct.pack(">H", n)
    else:
        head += bytes([0x80 | 127]) + struct.pack(">Q", n)
    if n:
        m = (mask * (n // 4 + 1))[:n]
        payload = (int.from_bytes(payload, "little") ^ int.from_bytes(m, "little")).to_bytes(n, "little")
    return head + mask + payload


class RawWs:
    """A blocking WebSocket client over a (TLS) socket.  open() sends the
    upgrade and returns the client, or raises HandshakeRefused with the
    status code."""

    def __init__(self, sock):
        self.sock = sock
        self.parser = FrameParser()
        self.pending = []         # frames parsed but not consumed
        self.close_frame = None   # (code, reason) once received

    @classmethod
    def open(cls, sock, host_header, path, origin=None, timeout=10.0):
        key = base64.b64encode(os.urandom(16)).decode()
        req = (f"GET {path} HTTP/1.1\r\nHost: {host_header}\r\n"
               "Upgrade: websocket\r\nConnection: Upgrade\r\n"
               f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n")
        if origin is not None:
            req += f"Origin: {origin}\r\n"
        req += "\r\n"
        sock.settimeout(timeout)
        sock.sendall(req.encode())
        head = b""
        while b"\r\n\r\n" not in head:
            data = sock.recv(4096)
            if not data:
                raise HandshakeRefused(None, head)
            head += data
            if len(head) > 65536:
                raise h.Fail(f"handshake response head larger than 64 KiB: {head[:200]!r}")
        head, rest = head.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        m = re.match(r"HTTP/1\.1 (\d{3})", lines[0])
        if not m:
            raise h.Fail(f"not an HTTP/1.1 status line: {lines[0]!r}")
        status = int(m.group(1))
        if status != 101:
            raise HandshakeRefused(status, head + b"\r\n\r\n" + rest)
        headers = {}
        for l in lines[1:]:
            k, _, v = l.partition(":")
            headers[k.strip().lower()] = v.strip()
        want = base64.b64encode(hashlib.sha1(
            (key + "258EAFA5-E914-47DA-95CA-C5AB0DC85B11").encode()).digest()).decode()
        h.check_equal(headers.get("sec-websocket-accept"), want, "Sec-WebSocket-Accept")
        c = cls(sock)
        if rest:
            c.pending += c.parser.feed(rest)
        return c

    def feed_from_socket(self, nbytes):
        """One recv() of at most nbytes; returns the number of bytes read
        (0 at EOF)."""
        data = self.sock.recv(nbytes)
        if data:
            self.pending += self.parser.feed(data)
        return len(data)

    def take_frames(self):
        frames, self.pending = self.pending, []
        return frames

    def send(self, opcode, payload):
        self.sock.sendall(mask_frame(opcode, payload))

    def close(self, code=1000, reason=b""):
        try:
            self.send(0x8, struct.pack(">H", code) + reason)
        except OSError:
            pass


# --------------------------------------------------------------------------
# openssl s_client


def s_client(port, args=(), host="127.0.0.1", timeout=20, stdin_data=""):
    """`openssl s_client -connect HOST:PORT ARGS…` with stdin closed after
    stdin_data; returns CompletedProcess (text)."""
    openssl = h.require_tool("openssl")
    argv = [openssl, "s_client", "-connect", f"{host}:{port}"] + list(args)
    return h.run_tool(argv, timeout=timeout, input=stdin_data)


def s_client_protocol(r):
    """The negotiated protocol from s_client's output, or None."""
    # "New, (NONE), Cipher is (NONE)" when the handshake failed (the
    # SSL-Session's "Protocol :" line then shows what was offered); after a
    # handshake, "Protocol :" is the version agreed ("New, TLSv1.0, …" is
    # the cipher's version, not the connection's).
    if re.search(r"^New, \(NONE\), Cipher is \(NONE\)", r.stdout, re.M) or \
            not re.search(r"^New, ", r.stdout, re.M):
        return None
    m = re.search(r"^\s*Protocol\s*:\s*(TLSv[0-9.]+)", r.stdout, re.M) or \
        re.search(r"^New, (TLSv1\.3), Cipher is ", r.stdout, re.M)   # no session printed yet
    return m.group(1) if m else None


def s_client_leaf_pem(r):
    m = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", r.stdout, re.S)
    return m.group(0) if m else None


def pem_sha256(pem_text):
    return hashlib.sha256(ssl.PEM_cert_to_DER_cert(pem_text)).hexdigest()


# --------------------------------------------------------------------------
# Processes we start (HAProxy, openssl s_server)


class Proc:
    """A child process with output collected to a file; killed by pid."""

    def __init__(self, argv, name, directory, ready_port=None, ready_timeout=10.0,
                 open_stdin=False):
        self.name = name
        self.argv = argv
        self.log_path = os.path.join(directory, f"{name}.log")
        self.log = open(self.log_path, "wb")
        # open_stdin: a pipe that stays open (openssl s_server ends at EOF)
        self.proc = subprocess.Popen(argv, stdin=subprocess.PIPE if open_stdin else
                                     subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, start_new_session=True)
        if ready_port is not None:
            deadline = time.monotonic() + ready_timeout
            while True:
                if self.proc.poll() is not None:
                    raise h.Fail(f"{name} exited {self.proc.returncode} at start:\n{self.output()}")
                try:
                    socket.create_connection(("127.0.0.1", ready_port), 1).close()
                    break
                except OSError:
                    pass
                if time.monotonic() > deadline:
                    self.kill()
                    raise h.Fail(f"{name} did not accept on port {ready_port} within "
                                 f"{ready_timeout} s:\n{self.output()}")
                time.sleep(0.1)

    def output(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")[-4000:]

    def kill(self):
        if self.proc.poll() is None:
            try:
                os.kill(self.proc.pid, 9)
            except ProcessLookupError:
                pass
            try:
                self.proc.wait(5)
            except subprocess.TimeoutExpired:
                pass
        if self.proc.stdin:
            self.proc.stdin.close()
        self.log.close()


def haproxy_config(directory, fronts, pem, back_port):
    """An HAProxy config: one TLS-terminating frontend per (port, mode) in
    `fronts` ("tcp" or "http"), each forwarding plaintext to
    127.0.0.1:back_port."""
    text = """global
    maxconn 200
defaults
    timeout connect 5s
    timeout client 60s
    timeout server 60s
    timeout tunnel 60s
"""
    for port, mode in fronts:
        text += f"""frontend fe_{mode}_{port}
    mode {mode}
    bind 127.0.0.1:{port} ssl crt {pem}
    default_backend be_{mode}_{port}
backend be_{mode}_{port}
    mode {mode}
    server gateway 127.0.0.1:{back_port}
"""
    path = os.path.join(directory, "haproxy.cfg")
    with open(path, "w") as f:
        f.write(text)
    return path


# --------------------------------------------------------------------------
# Key and trust stores


def config_xml(services, keystore=None, truststore=None, truststore_type="PEM"):
    """harness.config_xml, with the trust store's <type> set (the harness
    always writes PKCS12).  keystore/truststore: paths as written in the
    XML (relative to the config's folder); truststore has no password file."""
    text = h.config_xml(services, keystore=keystore)
    if truststore is None:
        return text
    block = h.store_xml("truststore", truststore, None, type_=truststore_type)
    if "  </security>\n" in text:
        return text.replace("  </security>\n", block + "  </security>\n")
    return text.replace("</gateway-config>\n",
                        "  <security>\n" + block + "  </security>\n</gateway-config>\n")


def pem_truststore(directory, *cert_paths, name="truststore.pem"):
    path = os.path.join(directory, name)
    with open(path, "w") as out:
        for p in cert_paths:
            with open(p) as f:
                out.write(f.read())
    return path


def tls_material(fixture, directory):
    """The PKI, its server leaf, a PKCS#12 key store and a PEM trust store of
    the CA in `directory`, set on `fixture` (pki, leaf, keystore,
    truststore); returns the key store's (store, password file) relative to
    `directory`, as config_xml takes them."""
    fixture.pki = h.Pki(os.path.join(directory, "pki"))
    fixture.leaf = fixture.pki.server()
    fixture.keystore = h.make_keystore(directory, pki=fixture.pki)
    fixture.truststore = pem_truststore(directory, fixture.pki.ca.cert)
    return (os.path.relpath(fixture.keystore.store, directory),
            os.path.relpath(fixture.keystore.password_file, directory))


def merged_keystore(pki, certs, store, directory):
    """One PKCS#12 key store with one key entry per cert (alias = its name):
    each made with `openssl pkcs12 -export`, merged with
    `keytool -importkeystore`.  Returns (store, password file)."""
    keytool = h.require_tool("keytool")
    password = base64.b32encode(os.urandom(15)).decode().lower()
    pwfile = os.path.splitext(store)[0] + ".pw"
    h.write_secret(pwfile, password + "\n")
    for c in certs:
        part = os.path.join(directory, f"part-{c.name}.p12")
        _, _, part_pw = pki.pkcs12(c, part, alias=c.name)
        h.run_checked([keytool, "-importkeystore", "-noprompt",
                       "-srckeystore", part, "-srcstoretype", "PKCS12",
                       "-srcstorepass", part_pw, "-srcalias", c.name,
                       "-destkeystore", store, "-deststoretype", "PKCS12",
                       "-deststorepass", password, "-destkeypass", password,
                       "-destalias", c.name])
    r = h.run_checked([keytool, "-list", "-keystore", store, "-storetype", "PKCS12",
                       "-storepass", password])
    for c in certs:
        h.require(c.name in r.stdout, f"keytool -list does not show {c.name}:\n{r.stdout}")
    return store, pwfile
