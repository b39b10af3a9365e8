#!/usr/bin/python3
# test_tls_accept.py: issue 4 items 3, 4 and 5 — the client side of TLS:
# mutual TLS (ssl.verify-client required / optional), SNI (two host names on
# one port, each with its own certificate from one key store), a TLS
# offloader (HAProxy) in front of a wss:// accept with ssl.encryption
# disabled, and ssl.protocols (TLSv1.2 only; the default refuses TLS 1.1).
# SPDX-License-Identifier: Apache-2.0
import asyncio
import hashlib
import os
import ssl
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxylib as p  # noqa: E402
from proxylib import h, MiB  # noqa: E402

T = h.Tap(case_timeout=90)


class Pkis:
    def __init__(self):
        self.dir = T.tmpdir()
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.other = h.Pki(os.path.join(self.dir, "other-pki"),
                           ca_name="Postern E2E Unknown CA")
        self.keystore = h.make_keystore(self.dir, pki=self.pki)
        self.ks = self.keystore.relative_to(self.dir)
        self.client = self.pki.client("Postern E2E Client")
        self.stranger = self.other.client("Postern E2E Stranger")
        self.truststore = p.pem_truststore(self.dir, self.pki.ca.cert)

    def ctx(self, cert=None, tls12=False):
        c = h.client_ssl_context(cafile=self.pki.ca.cert,
                                 certfile=cert.cert if cert else None,
                                 keyfile=cert.key if cert else None)
        if tls12:
            c.maximum_version = ssl.TLSVersion.TLSv1_2
        return c


pkis = h.Fixture("PKIs (gateway CA, unknown CA), key store, client certificates", Pkis)


def write(directory, services, keystore, truststore=None, name="gateway-config.xml"):
    return h.write_config(directory, p.config_xml(services, keystore, truststore), name=name)


async def echo_session(uri, ctx, sock, server_hostname="localhost", messages=None):
    """Echo text and binary messages; returns the TLS object's version and the
    DER of the certificate the gateway presented."""
    messages = messages or ["text ✓", b"\x00binary\xff", os.urandom(256 * 1024)]
    async with h.ws_connect(uri, ctx, sock=sock, server_hostname=server_hostname) as c:
        for m in messages:
            await h.echo_once(c, m)
        tls = c.transport.get_extra_info("ssl_object")
        info = (tls.version(), tls.getpeercert(binary_form=True)) if tls else (None, None)
        await h.close_cleanly(c)
    return info


# --------------------------------------------------------------------------
# mutual TLS


class Mtls:
    def __init__(self):
        k = pkis.get()
        self.dir = T.tmpdir()
        self.req_port, self.opt_port = h.free_ports(2)
        self.req_url = f"wss://localhost:{self.req_port}/echo"
        self.opt_url = f"wss://localhost:{self.opt_port}/echo"
        ks = k.keystore.relative_to(self.dir)
        self.config = write(self.dir, [
            h.service_xml("mtls-required", "echo", [self.req_url],
                          accept_options={"ssl.verify-client": "required"}),
            h.service_xml("mtls-optional", "echo", [self.opt_url],
                          accept_options={"ssl.verify-client": "optional"}),
        ], ks, os.path.relpath(k.truststore, self.dir))
        self.gw = h.start_gateway(self.config, [self.req_url, self.opt_url],
                                  name="postern run (mutual TLS)")


mtls = h.Fixture("postern run with ssl.verify-client required and optional", Mtls)


def mtls_ok(url_attr, port_attr, service, cert):
    """An echo session succeeds; the close line for this client names the
    certificate's subject (or has no client-cert= without one)."""
    k = pkis.get()
    m = mtls.get()
    sock = p.connected_socket(getattr(m, port_attr))
    port = sock.getsockname()[1]
    h.arun(echo_session(getattr(m, url_attr), k.ctx(cert), sock), 30)
    line = p.wait_log(m.gw, lambda l: f"close {service} " in l and
                      f"client=127.0.0.1:{port} " in l, 10,
                      f"'close {service}' for client port {port}")
    if cert is not None:
        h.require(f"client-cert=" in line and cert.name in line,
                  f"close line does not carry the client certificate's subject "
                  f"(CN={cert.name}): {line}")
    else:
        h.require("client-cert=" not in line,
                  f"close line names a client certificate although none was sent: {line}")


def mtls_refused(cert, phrase):
    """With ssl.verify-client required the session must not get to HTTP:
    over TLS 1.2 the handshake itself fails; over TLS 1.3 (where the client
    finishes first) the gateway's alert ends the connection before any HTTP
    response.  The gateway logs the refusal for this client with `phrase`."""
    k = pkis.get()
    m = mtls.get()
    ws = h.import_websockets()
    # TLS 1.2: the handshake fails
    sock = p.connected_socket(m.req_port)
    port12 = sock.getsockname()[1]
    try:
        tls = k.ctx(cert, tls12=True).wrap_socket(sock, server_hostname="localhost")
        tls.close()
        raise h.Fail("TLS 1.2 handshake succeeded although ssl.verify-client is required "
                     f"and the client {'sent no' if cert is None else 'sent an unknown'} "
                     "certificate")
    except (ssl.SSLError, ConnectionError) as e:
        handshake_error = f"{type(e).__name__}: {e}"
    finally:
        sock.close()
    # TLS 1.3 (default): no WebSocket session, no HTTP response at all
    sock = p.connected_socket(m.req_port)
    port13 = sock.getsockname()[1]
    try:
        h.arun(echo_session(m.req_url, k.ctx(cert), sock), 30)
        raise h.Fail("a WebSocket session was established although ssl.verify-client is "
                     "required and the client "
                     f"{'sent no' if cert is None else 'sent an unknown'} certificate")
    except ws.exceptions.InvalidStatusCode as e:
        raise h.Fail(f"the gateway answered HTTP {e.status_code} instead of ending the TLS "
                     "connection") from None
    except h.Fail:
        raise
    except Exception:  # noqa: BLE001 - any TLS / connection error is the refusal
        pass
    for port in (port12, port13):
        p.wait_log(m.gw, lambda l: f"127.0.0.1:{port}" in l and phrase in l, 10,
                   f"saying {phrase!r} about the refused client 127.0.0.1:{port}")
    sys.stdout.write(f"# TLS 1.2 client saw: {handshake_error}\n")


@T.case("mutual TLS, required: a client without a certificate fails the TLS "
        "handshake; the log says no client certificate")
def _():
    mtls_refused(None, "no client certificate")


@T.case("mutual TLS, required: a client with a certificate issued by a CA in the "
        "truststore echoes; the close line holds the certificate's subject")
def _():
    mtls_ok("req_url", "req_port", "mtls-required", pkis.get().client)


@T.case("mutual TLS, required: a client with a certificate from an unknown CA "
        "fails the TLS handshake; the log says the certificate is not trusted")
def _():
    mtls_refused(pkis.get().stranger, "not trusted")


@T.case("mutual TLS, optional: a client without a certificate echoes (no client-cert "
        "in the close line)")
def _():
    mtls_ok("opt_url", "opt_port", "mtls-optional", None)


@T.case("mutual TLS, optional: a client with a trusted certificate echoes; the close "
        "line holds its subject")
def _():
    mtls_ok("opt_url", "opt_port", "mtls-optional", pkis.get().client)


# --------------------------------------------------------------------------
# SNI


class Sni:
    def __init__(self):
        k = pkis.get()
        self.dir = T.tmpdir()
        self.a = k.pki.leaf("a.test", ("DNS:a.test",), stem="a.test")
        self.b = k.pki.leaf("b.test", ("DNS:b.test",), stem="b.test")
        store, pwfile = p.merged_keystore(k.pki, [self.a, self.b],
                                          os.path.join(self.dir, "sni.p12"), self.dir)
        self.port = h.free_port()
        self.urls = [f"wss://a.test:{self.port}/echo", f"wss://b.test:{self.port}/echo"]
        self.config = write(self.dir, [
            h.service_xml("sni", "echo", self.urls,
                          accept_options={"wss.bind": f"127.0.0.1:{self.port}"}),
        ], (os.path.basename(store), os.path.basename(pwfile)))
        self.gw = h.start_gateway(self.config, self.urls, name="postern run (SNI)")


sni = h.Fixture("a.test and b.test in one PKCS#12 key store (keytool merge) on one port", Sni)


def sni_case(name):
    k = pkis.get()
    s = sni.get()
    cert = getattr(s, name[0])
    other = s.b if cert is s.a else s.a
    r = p.s_client(s.port, ["-servername", name, "-CAfile", k.pki.ca.cert,
                            "-verify_return_error", "-verify_hostname", name])
    out = r.stdout + r.stderr
    h.require(r.returncode == 0, f"openssl s_client -servername {name} exited "
                                 f"{r.returncode}:\n{out[-3000:]}")
    pem = p.s_client_leaf_pem(r)
    h.require(pem, f"no server certificate in s_client's output:\n{out[-3000:]}")
    got = p.pem_sha256(pem)
    want = p.cert_sha256(cert.cert)
    h.require(got != p.cert_sha256(other.cert),
              f"-servername {name} got {other.name}'s certificate")
    h.check_equal(got, want, f"SHA-256 fingerprint of the certificate for SNI {name}")
    h.require("Verify return code: 0 (ok)" in r.stdout,
              f"s_client did not verify the chain and host name {name}:\n{out[-2000:]}")
    # a WebSocket client using that host name echoes, and sees the same certificate
    sock = p.connected_socket(s.port)
    version, der = h.arun(echo_session(f"wss://{name}:{s.port}/echo", k.ctx(), sock,
                                       server_hostname=name), 30)
    h.check_equal(hashlib.sha256(der).hexdigest(), want,
                  f"fingerprint seen by the wss client for {name}")


@T.case("SNI: openssl s_client -servername a.test gets a.test's certificate "
        "(fingerprint), verified; a wss client for a.test echoes")
def _():
    sni_case("a.test")


@T.case("SNI: openssl s_client -servername b.test on the same port gets b.test's "
        "certificate (fingerprint), verified; a wss client for b.test echoes")
def _():
    sni_case("b.test")


# --------------------------------------------------------------------------
# TLS offloader: HAProxy terminates TLS, the gateway reads plaintext


class Offload:
    def __init__(self):
        k = pkis.get()
        self.dir = T.tmpdir()
        haproxy = h.require_tool("haproxy")
        leaf = self.leaf = k.pki.server("localhost")
        self.pem = os.path.join(self.dir, "haproxy.pem")
        with open(self.pem, "w") as out:
            for f in (leaf.cert, leaf.key, k.pki.ca.cert):
                with open(f) as src:
                    out.write(src.read())
        os.chmod(self.pem, 0o600)
        self.front_tcp, self.front_http, self.back = h.free_ports(3)
        # the accept URLs are what clients see (HAProxy's ports); the
        # gateway binds its plaintext port with wss.bind
        self.urls = {"tcp": f"wss://localhost:{self.front_tcp}/echo",
                     "http": f"wss://localhost:{self.front_http}/echo"}
        ks = k.keystore.relative_to(self.dir)
        self.config = write(self.dir, [
            h.service_xml("offloaded", "echo", list(self.urls.values()),
                          accept_options={"ssl.encryption": "disabled",
                                          "wss.bind": f"127.0.0.1:{self.back}"}),
        ], ks)
        self.gw = h.start_gateway(self.config, list(self.urls.values()),
                                  name="postern run (behind HAProxy)")
        cfg = p.haproxy_config(self.dir, [(self.front_tcp, "tcp"), (self.front_http, "http")],
                               self.pem, self.back)
        r = h.run_tool([haproxy, "-c", "-f", cfg])
        h.require(r.returncode == 0, f"haproxy -c rejects its config:\n{r.stdout}{r.stderr}")
        self.haproxy = p.Proc([haproxy, "-db", "-f", cfg], "haproxy", self.dir,
                              ready_port=self.front_tcp)
        T.add_cleanup(self.haproxy.kill)


offload = h.Fixture("HAProxy (ssl crt) in front of a wss:// accept with ssl.encryption "
                    "disabled", Offload)


def through_haproxy(mode):
    k = pkis.get()
    o = offload.get()
    port = o.front_tcp if mode == "tcp" else o.front_http
    sock = p.connected_socket(port)
    big = os.urandom(4 * MiB)
    version, der = h.arun(echo_session(o.urls[mode], k.ctx(), sock,
                                       messages=[f"through haproxy ({mode}) ✓", b"\x01\x02",
                                                 big]), 60)
    h.require(version is not None, "no TLS between the client and HAProxy")
    h.check_equal(hashlib.sha256(der).hexdigest(), p.cert_sha256(o.leaf.cert),
                  "fingerprint of the certificate the client saw (HAProxy's)")
    h.require(o.haproxy.proc.poll() is None, f"haproxy exited:\n{o.haproxy.output()}")


@T.case("offloader: a wss client through HAProxy (mode tcp, TLS terminated there) "
        "echoes text, binary and 4 MiB")
def _():
    through_haproxy("tcp")


@T.case("offloader: a wss client through HAProxy (mode http, TLS terminated there) "
        "echoes text, binary and 4 MiB")
def _():
    through_haproxy("http")


@T.case("offloader: the gateway's bound port speaks plaintext: a plain WebSocket "
        "upgrade (Host = the public wss URL) echoes")
def _():
    o = offload.get()
    raw = p.connected_socket(o.back)
    try:
        c = p.RawWs.open(raw, f"localhost:{o.front_tcp}", "/echo")
        c.send(0x1, b"plain")
        deadline = time.monotonic() + 10
        frames = []
        while not frames and time.monotonic() < deadline:
            if not c.feed_from_socket(65536):
                break
            frames = c.take_frames()
        h.require(frames, "no echo from the plaintext port")
        h.check_equal(frames[0][1:], (0x1, b"plain"), "plaintext echo (opcode, payload)")
    finally:
        raw.close()


# --------------------------------------------------------------------------
# ssl.protocols


class Protocols:
    def __init__(self):
        k = pkis.get()
        self.dir = T.tmpdir()
        self.only12_port, self.default_port = h.free_ports(2)
        ks = k.keystore.relative_to(self.dir)
        self.only12_url = f"wss://localhost:{self.only12_port}/echo"
        self.default_url = f"wss://localhost:{self.default_port}/echo"
        c12 = write(self.dir, [h.service_xml("tls12", "echo", [self.only12_url],
                                             accept_options={"ssl.protocols": "TLSv1.2"})],
                    ks, name="tls12.xml")
        cdef = write(self.dir, [h.service_xml("tlsdefault", "echo", [self.default_url])],
                     ks, name="default.xml")
        self.gw12 = h.start_gateway(c12, [self.only12_url], name="postern run (TLSv1.2 only)")
        self.gwdef = h.start_gateway(cdef, [self.default_url], name="postern run (default)")


protocols = h.Fixture("gateways with ssl.protocols TLSv1.2 and with the default", Protocols)


def s_client_proto(port, flag, extra=()):
    k = pkis.get()
    return p.s_client(port, [flag, "-servername", "localhost", "-CAfile", k.pki.ca.cert,
                             "-verify_return_error"] + list(extra))


def expect_proto(port, flag, want, extra=()):
    r = s_client_proto(port, flag, extra)
    got = p.s_client_protocol(r)
    out = (r.stdout + r.stderr)[-2500:]
    if want is None:
        h.require(r.returncode != 0 and got is None,
                  f"openssl s_client {flag} was expected to fail, but exited {r.returncode} "
                  f"with protocol {got}:\n{out}")
    else:
        h.require(r.returncode == 0, f"openssl s_client {flag} exited {r.returncode}:\n{out}")
        h.require(got == want, f"protocol negotiated by s_client {flag}: expected {want}, "
                               f"got {got}:\n{out}")
    return r


@T.case("ssl.protocols TLSv1.2: openssl s_client -tls1_3 fails to connect")
def _():
    expect_proto(protocols.get().only12_port, "-tls1_3", None)


@T.case("ssl.protocols TLSv1.2: openssl s_client -tls1_2 connects with TLSv1.2 "
        "(chain verified); a wss client echoes over TLSv1.2")
def _():
    pr = protocols.get()
    expect_proto(pr.only12_port, "-tls1_2", "TLSv1.2")
    sock = p.connected_socket(pr.only12_port)
    version, _ = h.arun(echo_session(pr.only12_url, pkis.get().ctx(), sock), 30)
    h.check_equal(version, "TLSv1.2", "TLS version of a default python client")


LEGACY = ["-cipher", "DEFAULT@SECLEVEL=0"]


@T.case("default protocols: s_client -tls1_1 is refused by the gateway although the "
        "same client command negotiates TLSv1.1 with openssl s_server")
def _():
    k = pkis.get()
    pr = protocols.get()
    # control: the client can really speak TLS 1.1 (so a failure is the gateway's)
    leaf = k.pki.server("localhost")
    port = h.free_port()
    openssl = h.require_tool("openssl")
    srv = p.Proc([openssl, "s_server", "-accept", f"127.0.0.1:{port}", "-cert", leaf.cert,
                  "-key", leaf.key, "-tls1_1", "-cipher", "DEFAULT@SECLEVEL=0"],
                 "s_server-tls1_1", T.tmpdir(), ready_port=None, open_stdin=True)
    try:
        deadline = time.monotonic() + 10
        while p.s_client_protocol(r := s_client_proto(port, "-tls1_1", LEGACY)) is None:
            h.require(time.monotonic() < deadline,
                      "control failed: openssl s_client -tls1_1 cannot negotiate TLSv1.1 "
                      f"with openssl s_server -tls1_1:\n{(r.stdout + r.stderr)[-2000:]}\n"
                      f"s_server: {srv.output()}")
            time.sleep(0.3)
        h.check_equal(p.s_client_protocol(r), "TLSv1.1", "control: s_server's protocol")
    finally:
        srv.kill()
    expect_proto(pr.default_port, "-tls1_1", None, LEGACY)


@T.case("default protocols: TLSv1.3 and TLSv1.2 both connect")
def _():
    pr = protocols.get()
    expect_proto(pr.default_port, "-tls1_3", "TLSv1.3")
    expect_proto(pr.default_port, "-tls1_2", "TLSv1.2")


# --------------------------------------------------------------------------
# a client that does not trust the gateway (issue 4 item 10)


@T.case("a client that rejects the gateway's certificate (alert unknown_ca) is logged "
        "as not trusting this gateway's certificate, with the certificate page's URL")
def _():
    k = pkis.get()
    pr = protocols.get()
    sock = p.connected_socket(pr.default_port)
    port = sock.getsockname()[1]
    distrustful = h.client_ssl_context(cafile=k.other.ca.cert)
    try:
        distrustful.wrap_socket(sock, server_hostname="localhost").close()
        raise h.Fail("a client trusting only another CA completed the handshake")
    except ssl.SSLCertVerificationError:
        pass
    finally:
        sock.close()
    line = p.wait_log(pr.gwdef, lambda l: f"127.0.0.1:{port}" in l, 10,
                      f"about client 127.0.0.1:{port}")
    for phrase in ("does not trust this gateway's certificate", "localhost",
                   f"https://localhost:{pr.default_port}/"):
        h.require(phrase in line, f"log line lacks {phrase!r}: {line}")


@T.case("a server name that is no host name (openssl s_client -servername 'a:b', and one with a line "
        "break) is refused and logged as such on one line, the name escaped, with the URL to use "
        "instead (no https://[a:b]/ built from it); the gateway serves the next client")
def _():
    pr = protocols.get()
    for name, shown in (("a:b", "a:b"), ("x\ny", "x\\x0Ay")):
        r = p.s_client(pr.default_port, ["-servername", name])
        h.check_equal(p.s_client_protocol(r), None, f"handshake with SNI {name!r}")
        line = p.wait_log(pr.gwdef, lambda l: f"(SNI “{shown}”)" in l, 10, f"naming the SNI {shown}")
        for phrase in ("TLS handshake refused", "is not a host name", f"connect to {pr.default_url.rsplit('/', 1)[0]}/"):
            h.require(phrase in line, f"log line lacks {phrase!r}: {line}")
        h.require("https://[" not in line and "does not trust" not in line, f"a trust hint for a bad name: {line}")
    h.require(not any(l.startswith("y”") for l in pr.gwdef.stderr), "the line break split a log line")
    expect_proto(pr.default_port, "-tls1_3", "TLSv1.3")


@T.case("the gateways of this file stop cleanly (exit 0) on SIGTERM")
def _():
    errors = []
    for fx, attrs in ((mtls, ["gw"]), (sni, ["gw"]), (offload, ["gw"]),
                      (protocols, ["gw12", "gwdef"])):
        if not fx.built:
            continue
        for a in attrs:
            try:
                getattr(fx.get(), a).stop()
            except h.Fail as e:
                errors.append(str(e))
    h.require(not errors, "\n".join(errors))


if __name__ == "__main__":
    T.run()
