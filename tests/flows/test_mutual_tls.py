#!/usr/bin/python3
# Flow 5 (issue 6, p_tls_mutualauth.md): clients must show a certificate.
# `postern cert generate --client` makes the client's certificate, its
# certificate (exported with `postern cert export`) goes into the gateway's
# truststore with `postern cert import`, and the accept has
# ssl.verify-client required.  curl (--cert/--key) and a python3-websockets
# client with that certificate get through (page bytes, echo round trip);
# without a certificate, or with one the truststore does not hold, the TLS
# handshake fails and the gateway's log says why; for an accepted client it
# names the client's subject.
# SPDX-License-Identifier: Apache-2.0
import os
import ssl
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib as f  # noqa: E402
from flowlib import h, p  # noqa: E402

T = h.Tap(case_timeout=90)
CLIENT_NAME = "flow-client.test"
STRANGER_NAME = "stranger.test"


class Setup:
    def __init__(self):
        self.dir = d = T.tmpdir("postern-flow5-")
        # the gateway's own certificate (self-signed), exported for clients
        f.postern(["cert", "generate", "--keystore", "keystore.db", *f.LOCAL_NAMES], d)
        f.postern(["cert", "export", "keystore.db", "localhost", "--out", "gateway.pem"], d)
        self.gateway_pem = os.path.join(d, "gateway.pem")
        # the client's certificate (docs: made on the client, public part
        # exported and imported into the gateway's truststore)
        f.postern(["cert", "generate", "--client", "--keystore", "client.p12", CLIENT_NAME], d)
        f.postern(["cert", "export", "client.p12", CLIENT_NAME, "--out", "client.pem"], d)
        f.postern(["cert", "import", "truststore.db", "client.pem"], d)
        # a client certificate the gateway has never seen
        f.postern(["cert", "generate", "--client", "--keystore", "stranger.p12", STRANGER_NAME], d)
        # the clients' TLS libraries (curl, Python) take PEM files
        self.client_cert, self.client_key = f.store_to_pem(
            "client.p12", "client.pw", "client-chain.pem", "client-key.pem", d)
        self.stranger_cert, self.stranger_key = f.store_to_pem(
            "stranger.p12", "stranger.pw", "stranger-chain.pem", "stranger-key.pem", d)
        self.port, self.opt_port = h.free_ports(2)
        self.optional = f"wss://localhost:{self.opt_port}/echo"
        base = f"localhost:{self.port}"
        self.echo = f"wss://{base}/echo"
        self.page = f"https://{base}/"
        opts = {"ssl.verify-client": "required"}
        cfg = f.config(d, [
            h.service_xml("echo", "echo", [self.echo], accept_options=opts),
            h.service_xml("welcome", "directory", [self.page], accept_options=opts,
                          properties={"directory": f.web_dir(), "welcome-file": "index.html"}),
            h.service_xml("echo-optional", "echo", [self.optional],
                          accept_options={"ssl.verify-client": "optional"}),
        ], keystore=("keystore.db", "keystore.pw"), truststore=("truststore.db", "truststore.pw"))
        f.postern(["check", "--config", cfg], d)
        self.gw = h.start_gateway(cfg, [self.echo, self.page, self.optional], name="postern run (mutual TLS)")
        T.add_cleanup(self.gw.kill)

    def curl(self, out, cert=None, key=None):
        curl = h.require_tool("curl")
        argv = [curl, "-sS", "--max-time", "15", "--cacert", self.gateway_pem,
                "-o", out, "-w", "%{http_code}"]
        if cert:
            argv += ["--cert", cert, "--key", key]
        return h.run_tool(argv + [self.page], timeout=30)


setup = h.Fixture("gateway with ssl.verify-client required, client certificate in its "
                  "truststore", Setup)


@T.case("truststore.db trusts the client's certificate and nothing else; the client's "
        "certificate allows client authentication")
def _():
    s = setup.get()
    rows = f.cert_entries("truststore.db", s.dir)
    h.check_equal([r["kind"] for r in rows], ["trusted"], "truststore.db entry kinds")
    h.require(CLIENT_NAME in rows[0]["subject"], f"truststore entry: {rows[0]['line']}")
    r = h.run_checked([h.require_tool("openssl"), "x509", "-in", s.client_cert, "-noout",
                       "-ext", "extendedKeyUsage"])
    h.require("TLS Web Client Authentication" in r.stdout, f"client EKU: {r.stdout}")


@T.case("curl --cert/--key with the client certificate fetches the welcome page, "
        "byte for byte")
def _():
    s = setup.get()
    out = os.path.join(s.dir, "page.curl")
    r = s.curl(out, s.client_cert, s.client_key)
    h.require(r.returncode == 0, f"curl exited {r.returncode}: {r.stderr}")
    h.check_equal(r.stdout, "200", "HTTP status")
    with open(out, "rb") as fh:
        h.require(fh.read() == f.index_html_bytes(), "page differs from data/web/index.html")


@T.case("a python3-websockets client with the certificate round-trips through echo; the "
        "gateway's close line names its subject (client-cert=…CN=flow-client.test)")
def _():
    s = setup.get()
    sock = p.connected_socket(s.port)
    local = sock.getsockname()[1]
    ctx = f.verifying_ctx(s.gateway_pem, s.client_cert, s.client_key)
    msgs = f.payloads("flow5 mtls")
    h.arun(_echo_on(sock, s.echo, ctx, msgs), 30)
    line = f.wait_close_line(s.gw, "echo", local)
    f.say(line)
    subject = f.log_field(line, "client-cert")
    h.require(subject and f"CN={CLIENT_NAME}" in subject,
              f"client-cert= does not name CN={CLIENT_NAME}: {line}")


async def _echo_on(sock, uri, ctx, msgs):
    async with h.ws_connect(uri, ctx, sock=sock, server_hostname="localhost") as c:
        for m in msgs:
            await h.echo_once(c, m, timeout=20)
        await h.close_cleanly(c)


def log_count(s, phrase):
    return len(p.stderr_lines(s.gw, lambda l: phrase in l))


def wait_new_log(s, phrase, before, what):
    line = p.wait_log(s.gw, lambda l: log_count(s, phrase) > before, 10, what)
    lines = p.stderr_lines(s.gw, lambda l: phrase in l)
    return lines[-1] if lines else line


def curl_refused(s, cert=None, key=None, phrase=""):
    """curl must get no HTTP response: over TLS 1.2 the handshake itself
    fails (exit 35, or 56 when the alert arrives on the first read); over
    TLS 1.3, where the client finishes its side first, the connection ends
    before any HTTP response (exit 35, 52, 55 or 56).  Each refusal is logged."""
    for label, extra, codes in (("TLS 1.2", ["--tlsv1.2", "--tls-max", "1.2"], (35, 56)),
                                ("TLS 1.3", ["--tlsv1.3"], (35, 52, 55, 56))):
        before = log_count(s, phrase)
        out = os.path.join(s.dir, "refused.curl")
        curl = h.require_tool("curl")
        argv = [curl, "-sS", "--max-time", "15", "--cacert", s.gateway_pem, "-o", out,
                "-w", "%{http_code}"] + extra
        if cert:
            argv += ["--cert", cert, "--key", key]
        r = h.run_tool(argv + [s.page], timeout=30)
        f.say(f"curl ({label}): exit {r.returncode}, HTTP {r.stdout}: {r.stderr.strip()}")
        h.check_equal(r.stdout, "000", f"HTTP status curl saw ({label}): none expected")
        h.require(r.returncode in codes, f"curl ({label}) exit {r.returncode}, expected one of "
                                         f"{codes} (a TLS-level refusal)")
        f.say(wait_new_log(s, phrase, before, f"a new line saying {phrase!r}"))


def python_refused(s, cert=None, key=None, phrase=""):
    """python3-websockets: TLS 1.2 fails in the handshake; TLS 1.3 gets no
    HTTP response (no 101, no error status)."""
    ws = h.import_websockets()
    ctx12 = f.verifying_ctx(s.gateway_pem, cert, key)
    ctx12.maximum_version = ssl.TLSVersion.TLSv1_2
    before = log_count(s, phrase)
    sock = p.connected_socket(s.port)
    try:
        with ctx12.wrap_socket(sock, server_hostname="localhost") as tls:
            tls.sendall(b"GET /echo HTTP/1.1\r\nHost: localhost\r\n\r\n")
            data = tls.recv(100)
            h.require(not data, f"TLS 1.2 without an accepted certificate got data: {data!r}")
            handshake = "connection ended without data"
    except (ssl.SSLError, ConnectionError) as e:
        handshake = f"{type(e).__name__}: {e}"
    finally:
        sock.close()
    f.say(f"python TLS 1.2: {handshake}")
    f.say(wait_new_log(s, phrase, before, f"a new line saying {phrase!r}"))
    before = log_count(s, phrase)
    try:
        err = h.arun(f.expect_ws_refused(s.echo, f.verifying_ctx(s.gateway_pem, cert, key)), 30)
    except h.Fail:
        raise
    f.say(f"python3-websockets TLS 1.3: {err}")
    h.require(not isinstance(err, ws.exceptions.InvalidStatusCode) and "status code" not in err,
              f"the gateway answered HTTP instead of refusing the TLS connection: {err}")
    f.say(wait_new_log(s, phrase, before, f"a new line saying {phrase!r}"))


NO_CERT = "no client certificate (ssl.verify-client is required)"
NOT_TRUSTED = "the client certificate is not trusted"


@T.case("curl without a client certificate is refused at the TLS level (TLS 1.2: in the "
        "handshake; TLS 1.3: before any HTTP response); the log says no client certificate "
        "and that ssl.verify-client requires one")
def _():
    curl_refused(setup.get(), phrase=NO_CERT)


@T.case("python3-websockets without a client certificate: refused the same way, logged")
def _():
    python_refused(setup.get(), phrase=NO_CERT)


@T.case("a client certificate the truststore does not hold (curl and python3-websockets) "
        "is refused; the log says it is not trusted")
def _():
    s = setup.get()
    curl_refused(s, s.stranger_cert, s.stranger_key, phrase=NOT_TRUSTED)
    python_refused(s, s.stranger_cert, s.stranger_key, phrase=NOT_TRUSTED)


@T.case("ssl.verify-client optional: a client without a certificate and one with the "
        "trusted certificate both round-trip; only the second is logged with client-cert=")
def _():
    s = setup.get()
    for cert, key, want in ((None, None, None), (s.client_cert, s.client_key, CLIENT_NAME)):
        sock = p.connected_socket(s.opt_port)
        local = sock.getsockname()[1]
        ctx = f.verifying_ctx(s.gateway_pem, cert, key)
        h.arun(_echo_on(sock, s.optional, ctx, f.payloads(f"flow5 optional {want}")), 30)
        line = f.wait_close_line(s.gw, "echo-optional", local)
        f.say(line)
        subject = f.log_field(line, "client-cert")
        if want is None:
            h.require(subject is None, f"client-cert= although no certificate was sent: {line}")
        else:
            h.require(subject and f"CN={want}" in subject, f"client-cert= missing: {line}")


if __name__ == "__main__":
    T.run()
