#!/usr/bin/python3
# test_status.py: issue 11 item 1 — the status service: /health for load
# balancers and /metrics for Prometheus, scraped with curl and read by a
# strict parser of the text format (promtext.py) and by Debian's
# python3-prometheus-client, while real clients (python3-websockets, openssl)
# make echo and wss→ssl proxy sessions, TLS refusals on both legs, reloads.
# SPDX-License-Identifier: Apache-2.0
import datetime
import os
import re
import signal
import socket
import ssl
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e-proxy"))
import promtext  # noqa: E402
import proxylib as p  # noqa: E402
from proxylib import h  # noqa: E402

T = h.Tap(case_timeout=90)
METRICS_TYPE = "text/plain; version=0.0.4; charset=utf-8"
ODD_NAME = 'echo "q" \\ x'        # a service name that needs label escaping
SCRAPE_WAIT = 10.0                # a figure must move within this (s)


class Env:
    """One gateway: status on http:// (at /) and https:// (under /ops), echo
    on ws:// and wss://, echo with client certificates required, and
    wss→ssl proxies to a trusted TLS echo and to back-ends whose
    certificates fail (unknown CA, wrong host, expired)."""

    def __init__(self):
        self.dir = T.tmpdir()
        self.started = time.time()
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.other = h.Pki(os.path.join(self.dir, "other-pki"), ca_name="Postern Unknown CA")
        self.keystore = h.make_keystore(self.dir, pki=self.pki, method="openssl")
        self.truststore = p.pem_truststore(self.dir, self.pki.ca.cert)
        self.stranger_cert = self.other.client("Postern Stranger")
        self.backends = {
            "good": p.Server("tls-echo", p.echo_handler,
                             p.server_ssl_context(self.pki.server("127.0.0.1"))),
            "bad-ca": p.Server("tls-unknown-ca", p.echo_handler,
                               p.server_ssl_context(self.other.server("127.0.0.1"))),
            "wrong-host": p.Server("tls-wrong-host", p.echo_handler,
                                   p.server_ssl_context(self.pki.wrong_host())),
            "expired": p.Server("tls-expired", p.echo_handler,
                                p.server_ssl_context(self.pki.expired("127.0.0.1"))),
        }
        for b in self.backends.values():
            T.add_cleanup(b.close)
        (self.http_port, self.https_port, self.ws_port, self.wss_port,
         self.mtls_port, self.proxy_port) = h.free_ports(6)
        self.status_url = f"http://127.0.0.1:{self.http_port}/"
        self.status_tls_url = f"https://localhost:{self.https_port}/ops"
        self.ws_url = f"ws://127.0.0.1:{self.ws_port}/echo"
        self.wss_url = f"wss://localhost:{self.wss_port}/echo"
        self.mtls_url = f"wss://localhost:{self.mtls_port}/mtls"
        self.proxy_base = f"wss://localhost:{self.proxy_port}"
        services = [
            h.service_xml("status", "status", [self.status_url]),
            h.service_xml("status-tls", "status", [self.status_tls_url]),
            h.service_xml(ODD_NAME, "echo", [self.ws_url]),
            h.service_xml("echo-tls", "echo", [self.wss_url]),
            h.service_xml("mtls", "echo", [self.mtls_url],
                          accept_options={"ssl.verify-client": "required"}),
        ]
        for name, backend in self.backends.items():
            services.append(h.service_xml(
                f"proxy-{name}", "proxy", [f"{self.proxy_base}/{name}"],
                connects=[f"ssl://127.0.0.1:{backend.port}"]))
        ks = self.keystore.relative_to(self.dir)
        self.config_text = p.config_xml(services, ks, os.path.relpath(self.truststore, self.dir))
        self.config = h.write_config(self.dir, self.config_text)
        self.urls = [self.status_url, self.status_tls_url, self.ws_url, self.wss_url,
                     self.mtls_url] + [f"{self.proxy_base}/{n}" for n in self.backends]
        # One process: /metrics counts and the process figures are checked
        # against what this test did and against /proc/PID of the process
        # started (with workers, each answers for itself).
        self.gw = h.start_gateway(self.config, self.urls, name="postern run (status)",
                                  extra_args=["--workers", "1"])

    def ctx(self, cert=None):
        return h.client_ssl_context(cafile=self.pki.ca.cert,
                                    certfile=cert.cert if cert else None,
                                    keyfile=cert.key if cert else None)


env = h.Fixture("gateway with status, echo, mutual-TLS echo and wss→ssl proxies", Env)


# --------------------------------------------------------------------------
# curl and the scrape


def curl(url, method=None, head=False, extra=(), cacert=None):
    """(status, {lower-case header: value}, body bytes) of one request made
    by curl, bounded."""
    e = env.get()
    curl_bin = h.require_tool("curl")
    d = T.tmpdir("postern-curl-")
    hdr, body = os.path.join(d, "h"), os.path.join(d, "b")
    argv = [curl_bin, "-sS", "--max-time", "10", "-D", hdr, "-o", body, "--path-as-is"]
    if head:
        argv.append("-I")
    if method:
        argv += ["-X", method]
    if cacert or url.startswith("https:"):
        argv += ["--cacert", cacert or e.pki.ca.cert]
    argv += list(extra) + [url]
    r = h.run_tool(argv, timeout=20)
    if r.returncode != 0:
        raise h.Fail(f"curl {url} exited {r.returncode}: {r.stderr.strip()}")
    with open(hdr, "rb") as f:
        lines = f.read().decode("latin-1").split("\r\n")
    with open(body, "rb") as f:
        data = f.read()
    m = re.match(r"HTTP/1\.1 (\d{3}) ", lines[0])
    h.require(m, f"not an HTTP/1.1 status line: {lines[0]!r}")
    headers = {}
    for line in lines[1:]:
        if line:
            k, _, v = line.partition(":")
            headers[k.strip().lower()] = v.strip()
    return int(m.group(1)), headers, data


def raw_head(port, path):
    """HEAD over a plain socket with Connection: close: (status, headers,
    every byte after the head until the server closes)."""
    with socket.create_connection(("127.0.0.1", port), 10) as s:
        s.settimeout(10)
        s.sendall(f"HEAD {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while len(data) < 1 << 20:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
    head, sep, rest = data.partition(b"\r\n\r\n")
    h.require(sep, f"no complete response head to HEAD {path}: {data[:200]!r}")
    lines = head.decode("latin-1").split("\r\n")
    m = re.match(r"HTTP/1\.1 (\d{3}) ", lines[0])
    h.require(m, f"not an HTTP/1.1 status line: {lines[0]!r}")
    headers = {k.strip().lower(): v.strip() for k, _, v in (l.partition(":") for l in lines[1:])}
    return int(m.group(1)), headers, rest


def linger_close(sock, timeout=5.0):
    """Close without a reset: a close() with unread bytes (the rest of the
    server's flight) sends RST, which can overtake the alert just sent."""
    try:
        sock.shutdown(socket.SHUT_WR)
        sock.settimeout(timeout)
        while sock.recv(65536):
            pass
    except OSError:
        pass


def scrape(url=None):
    """GET /metrics: 200, the 0.0.4 content type, parsed by the strict parser
    and by prometheus_client (both must accept it)."""
    e = env.get()
    status, headers, body = curl(url or e.status_url + "metrics")
    h.check_equal(status, 200, "GET /metrics status")
    h.check_equal(headers.get("content-type"), METRICS_TYPE, "Content-Type of /metrics")
    text = body.decode("utf-8")
    try:
        families = promtext.parse(text)
    except promtext.ExpositionError as err:
        raise h.Fail(f"/metrics is not valid exposition text: {err}\n{text}") from None
    try:
        from prometheus_client.parser import text_string_to_metric_families
    except ImportError as err:
        raise h.Fail(f"python3-prometheus-client is not importable ({err}); "
                     "install Debian's python3-prometheus-client") from None
    try:
        list(text_string_to_metric_families(text))
    except Exception as err:  # noqa: BLE001
        raise h.Fail(f"prometheus_client refuses /metrics: {err}\n{text}") from None
    return families


def val(families, name, **labels):
    try:
        return promtext.value(families, name, **labels)
    except KeyError:
        raise h.Fail(f"/metrics has no series {name}{labels}; it has "
                     f"{promtext.series(families, name)}") from None


def wait_value(name, labels, predicate, what):
    """Scrape until name{labels} satisfies predicate (bounded)."""
    deadline = time.monotonic() + SCRAPE_WAIT
    while True:
        fams = scrape()
        v = val(fams, name, **labels)
        if predicate(v):
            return fams
        if time.monotonic() > deadline:
            raise h.Fail(f"{name}{labels} = {v} after {SCRAPE_WAIT} s: {what}")
        time.sleep(0.1)


def count_lines(gw, needle):
    with gw.cond:
        return sum(1 for l in gw.stderr if needle in l)


def wait_lines(gw, needle, n, what, timeout=10.0):
    deadline = time.monotonic() + timeout
    while count_lines(gw, needle) < n:
        if time.monotonic() > deadline:
            raise h.Fail(f"no new {needle!r} line within {timeout} s {what}")
        time.sleep(0.05)


async def echo_sessions(uri, ctx, count, messages):
    for _ in range(count):
        async with h.ws_connect(uri, ctx) as c:
            for m in messages:
                await h.echo_once(c, m)
            await h.close_cleanly(c)


# --------------------------------------------------------------------------
# the format

EXPECTED = {
    "postern_connections_open": "gauge",
    "postern_connections_total": "counter",
    "postern_received_bytes_total": "counter",
    "postern_sent_bytes_total": "counter",
    "postern_websocket_closes_total": "counter",
    "postern_backend_connect_duration_seconds": "histogram",
    "postern_backend_connect_failures_total": "counter",
    "postern_tls_handshake_failures_total": "counter",
    "postern_certificate_expiry_seconds": "gauge",
    "postern_certificate_not_after_timestamp_seconds": "gauge",
    "postern_reloads_total": "counter",
    "postern_last_reload_timestamp_seconds": "gauge",
    "postern_draining": "gauge",
    "postern_process_open_fds": "gauge",
    "postern_process_resident_memory_bytes": "gauge",
    "postern_process_start_time_seconds": "gauge",
}


@T.case("the strict parser refuses malformed expositions (its own check)")
def _():
    good = ("# HELP a_total A.\n# TYPE a_total counter\na_total{x=\"1\"} 2\n"
            "# TYPE h histogram\nh_bucket{le=\"1\"} 1\nh_bucket{le=\"+Inf\"} 2\n"
            "h_sum 3.5\nh_count 2\n")
    promtext.parse(good)
    bad = {
        "no TYPE before the sample": "a_total 1\n",
        "no final newline": "# TYPE a gauge\na 1",
        "bad escape": "# TYPE a gauge\na{x=\"\\t\"} 1\n",
        "unterminated label": "# TYPE a gauge\na{x=\"1} 1\n",
        "duplicate series": "# TYPE a gauge\na{x=\"1\"} 1\na{x=\"1\"} 2\n",
        "bad name": "# TYPE 1a gauge\n1a 1\n",
        "bad value": "# TYPE a gauge\na one\n",
        "interleaved families": "# TYPE a gauge\n# TYPE b gauge\nb 1\na 1\n",
        "negative counter": "# TYPE c_total counter\nc_total -1\n",
        "not cumulative": "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_bucket{le=\"+Inf\"} 1\n"
                          "h_sum 1\nh_count 1\n",
        "+Inf != count": "# TYPE h histogram\nh_bucket{le=\"+Inf\"} 2\nh_sum 1\nh_count 3\n",
        "no +Inf": "# TYPE h histogram\nh_bucket{le=\"1\"} 2\nh_sum 1\nh_count 2\n",
        "empty line": "# TYPE a gauge\n\na 1\n",
        "two TYPE lines": "# TYPE a gauge\n# TYPE a gauge\na 1\n",
        "unknown type": "# TYPE a thing\na 1\n",
    }
    for what, text in bad.items():
        try:
            promtext.parse(text)
        except promtext.ExpositionError:
            continue
        raise h.Fail(f"the strict parser accepted an exposition with {what}: {text!r}")


@T.case("GET /metrics: 200, Content-Type 0.0.4, every family postern_* with HELP and TYPE")
def _():
    fams = scrape()
    for name, type_ in EXPECTED.items():
        h.require(name in fams, f"family {name} missing; families: {sorted(fams)}")
        h.check_equal(fams[name].type, type_, f"TYPE of {name}")
    for name, f in fams.items():
        h.require(name.startswith("postern_"), f"family {name} is not named postern_*")
        h.require(f.help, f"family {name} has no HELP text")
        h.require(f.type, f"family {name} has no TYPE")
    services = {l["service"] for l, _ in promtext.series(fams, "postern_connections_total")}
    want = {"status", "status-tls", ODD_NAME, "echo-tls", "mtls",
            "proxy-good", "proxy-bad-ca", "proxy-wrong-host", "proxy-expired"}
    h.require(want <= services, f"services in /metrics: {sorted(services)}; want {sorted(want)}")


@T.case("label values are escaped (\\\\, \\\") and read back the same by prometheus_client")
def _():
    e = env.get()
    _, _, body = curl(e.status_url + "metrics")
    text = body.decode()
    h.require('service="echo \\"q\\" \\\\ x"' in text,
              "the service name with a quote and a backslash is not escaped as the format says")
    from prometheus_client.parser import text_string_to_metric_families
    names = {s.labels.get("service") for f in text_string_to_metric_families(text)
             for s in f.samples}
    h.require(ODD_NAME in names, f"prometheus_client did not read back {ODD_NAME!r}: {names}")


@T.case("GET /health: 200 ok; HEAD: 200 without a body; not cached")
def _():
    e = env.get()
    status, headers, body = curl(e.status_url + "health")
    h.check_equal((status, body), (200, b"ok\n"), "GET /health")
    h.check_equal(headers.get("cache-control"), "no-store", "Cache-Control")
    for path, ctype in (("health", "text/plain; charset=utf-8"), ("metrics", METRICS_TYPE)):
        status, headers, rest = raw_head(e.http_port, "/" + path)
        h.check_equal(status, 200, f"HEAD /{path} status")
        h.check_equal(rest, b"", f"bytes after the head of HEAD /{path} (no body)")
        h.check_equal(headers.get("content-type"), ctype, f"HEAD /{path} Content-Type")


@T.case("HTTP clients that leave between requests are over at once (open status == the scrape)")
def _():
    e = env.get()
    for _ in range(5):
        curl(e.status_url + "health")
    # the scrape's own connection is the only one left open
    wait_value("postern_connections_open", {"service": "status"}, lambda v: v == 1,
               "five finished /health requests still count as open")


@T.case("health checks do not flood the log: 20 probes (curl, and HAProxy-like HTTP/1.0 GET + close) "
        "log no open/close line at info; a probe answered 404 logs its close at info, naming the client")
def _():
    e = env.get()
    with e.gw.cond:
        mark = len(e.gw.stderr)
    status_lines = re.compile(r"(?:^|: )(?:open|close) status client=")
    for _ in range(10):
        status, _, body = curl(e.status_url + "health")
        h.check_equal((status, body), (200, b"ok\n"), "GET /health")
    for _ in range(10):
        with socket.create_connection(("127.0.0.1", e.http_port), timeout=10) as s:
            s.sendall(b"GET /health HTTP/1.0\r\n\r\n")
            got = b""
            while True:
                data = s.recv(4096)
                if not data:
                    break
                got += data
        h.require(got.startswith(b"HTTP/1.0 200") or got.startswith(b"HTTP/1.1 200"), f"probe answered {got[:40]!r}")
    # the gateway has logged what it would (each probe's end is seen at once)
    wait_value("postern_connections_open", {"service": "status"}, lambda v: v == 1,
               "the probes still count as open")
    with e.gw.cond:
        flood = [l for l in e.gw.stderr[mark:] if status_lines.search(l)]
    h.require(not flood, f"{len(flood)} open/close lines at info for 20 health checks, e.g. {flood[:2]}")
    sock = socket.create_connection(("127.0.0.1", e.http_port), timeout=10)
    me = f"127.0.0.1:{sock.getsockname()[1]}"
    sock.sendall(b"GET /nothing-here HTTP/1.0\r\n\r\n")
    got = sock.recv(4096)
    sock.close()
    h.require(b" 404 " in got.split(b"\r\n", 1)[0], f"GET /nothing-here answered {got[:40]!r}")
    line = p.wait_log(e.gw, lambda l: re.search(rf"(?:^|: )close status client={re.escape(me)} ", l), 10,
                      f"closing the failed probe from {me}")
    h.require(" info: " in line or line.startswith("info"), f"not at info: {line}")


@T.case("N ws:// echo sessions: connections +N, open back to 0, close 1000 +N, bytes each way")
def _():
    e = env.get()
    n, size, k = 5, 1000, 3
    lab = {"service": ODD_NAME}
    before = scrape()
    h.arun(echo_sessions(e.ws_url, None, n, [os.urandom(size) for _ in range(k)]), 60)
    fams = wait_value("postern_connections_open", lab, lambda v: v == 0,
                      "sessions over, nothing should be open")
    fams = wait_value("postern_websocket_closes_total", dict(lab, code="1000"),
                      lambda v: v >= n + _maybe(before, "postern_websocket_closes_total",
                                                dict(lab, code="1000")),
                      f"{n} sessions closed with 1000")
    d = lambda name, **l: val(fams, name, **l) - _maybe(before, name, l)  # noqa: E731
    h.check_equal(d("postern_connections_total", **lab), n, "connections_total delta")
    h.check_equal(d("postern_websocket_closes_total", code="1000", **lab), n, "close 1000 delta")
    # Client frames: 2 + 2 (16-bit length) + 4 (mask) + payload; the
    # close frame: 2 + 4 + 2 (code) + "bye".
    want_in = n * (k * (8 + size) + 2 + 4 + 2 + 3)
    h.check_equal(d("postern_received_bytes_total", **lab), want_in,
                  "bytes received from the clients (frames as on the wire)")
    out = d("postern_sent_bytes_total", **lab)
    h.require(n * k * size <= out <= n * (k * (size + 64) + 64),
              f"bytes sent to the clients: {out}, expected about {n * k * (size + 4)}")


def _maybe(fams, name, labels):
    try:
        return promtext.value(fams, name, **labels)
    except KeyError:
        return 0


@T.case("wss→ssl proxy sessions: counted, latency histogram cumulative with +Inf == count")
def _():
    e = env.get()
    n = 4
    lab = {"service": "proxy-good"}
    before = scrape()
    h.arun(echo_sessions(f"{e.proxy_base}/good", e.ctx(), n, [b"x" * 5000, os.urandom(3000)]), 60)
    fams = wait_value("postern_connections_open", lab, lambda v: v == 0, "proxy sessions over")
    d = lambda name, **l: val(fams, name, **l) - _maybe(before, name, l)  # noqa: E731
    h.check_equal(d("postern_connections_total", **lab), n, "proxy connections_total delta")
    h.check_equal(d("postern_backend_connect_duration_seconds_count", **lab), n,
                  "back-end connects observed in the histogram")
    s = d("postern_backend_connect_duration_seconds_sum", **lab)
    h.require(0 < s < n * 5, f"histogram _sum moved by {s} s for {n} loopback TLS connects")
    h.check_equal(d("postern_backend_connect_duration_seconds_bucket", le="+Inf", **lab), n,
                  "+Inf bucket delta")
    h.check_equal(d("postern_backend_connect_duration_seconds_bucket", le="10", **lab), n,
                  "every loopback connect is under 10 s")
    h.check_equal(d("postern_backend_connect_failures_total", **lab), 0, "connect failures")
    h.require(d("postern_received_bytes_total", **lab) > n * 5000, "proxy bytes received")
    h.require(d("postern_sent_bytes_total", **lab) > n * 5000, "proxy bytes sent")


@T.case("back-end TLS refusals counted by cause: unknown_ca, name_mismatch, expired; client gets 1011")
def _():
    e = env.get()
    ws = h.import_websockets()
    before = scrape()
    causes = {"bad-ca": "unknown_ca", "wrong-host": "name_mismatch", "expired": "expired"}

    async def refused(uri):
        async with h.ws_connect(uri, e.ctx()) as c:
            try:
                await h.recv_within(c, 10)
            except ws.exceptions.ConnectionClosed:
                pass
            return c.close_code

    for name in causes:
        code = h.arun(refused(f"{e.proxy_base}/{name}"), 30)
        h.check_equal(code, 1011, f"close code for a back-end with {causes[name]}")
    fams = scrape()
    for name, cause in causes.items():
        lab = {"leg": "backend", "cause": cause}
        h.check_equal(val(fams, "postern_tls_handshake_failures_total", **lab)
                      - _maybe(before, "postern_tls_handshake_failures_total", lab), 1,
                      f"backend TLS failures with cause {cause}")
        sl = {"service": f"proxy-{name}"}
        h.check_equal(val(fams, "postern_backend_connect_failures_total", **sl)
                      - _maybe(before, "postern_backend_connect_failures_total", sl), 1,
                      f"connect failures of proxy-{name}")
    h.check_equal(val(fams, "postern_tls_handshake_failures_total", leg="client", cause="unknown_ca")
                  - _maybe(before, "postern_tls_handshake_failures_total",
                           {"leg": "client", "cause": "unknown_ca"}),
                  0, "client-leg failures while only back-ends failed")


@T.case("client TLS failures: unknown CA (both ways), no client certificate, not TLS — leg=client")
def _():
    e = env.get()
    before = scrape()

    def delta(fams, cause):
        lab = {"leg": "client", "cause": cause}
        return (val(fams, "postern_tls_handshake_failures_total", **lab)
                - _maybe(before, "postern_tls_handshake_failures_total", lab))

    # A client that trusts only the system's CAs gives up on our
    # certificate: over TLS 1.2 its alert (unknown_ca) is read.
    def stranger(tls12):
        sock = socket.create_connection(("127.0.0.1", e.wss_port), 10)
        # ssl closes the socket of a failed handshake at once; a copy of
        # the descriptor lets us close without a reset (linger_close).
        spare = socket.socket(fileno=os.dup(sock.fileno()))
        try:
            c = h.client_ssl_context()
            if tls12:
                c.maximum_version = ssl.TLSVersion.TLSv1_2
            c.wrap_socket(sock, server_hostname="localhost")
            raise h.Fail("a client without the gateway's CA completed the handshake")
        except ssl.SSLCertVerificationError:
            linger_close(spare)
        finally:
            sock.close()
            spare.close()

    stranger(True)
    wait_value("postern_tls_handshake_failures_total", {"leg": "client", "cause": "unknown_ca"},
               lambda v: v >= 1 + _maybe(before, "postern_tls_handshake_failures_total",
                                         {"leg": "client", "cause": "unknown_ca"}),
               "a client refusing the gateway's certificate (alert unknown_ca)")
    # No client certificate where one is required (TLS 1.2: the handshake fails there).
    sock = socket.create_connection(("127.0.0.1", e.mtls_port), 10)
    try:
        c = e.ctx()
        c.maximum_version = ssl.TLSVersion.TLSv1_2
        c.wrap_socket(sock, server_hostname="localhost").close()
        raise h.Fail("a handshake without a client certificate succeeded on a verify-client port")
    except (ssl.SSLError, ConnectionError):
        pass
    finally:
        sock.close()
    wait_value("postern_tls_handshake_failures_total",
               {"leg": "client", "cause": "no_client_certificate"},
               lambda v: v >= 1 + _maybe(before, "postern_tls_handshake_failures_total",
                                         {"leg": "client", "cause": "no_client_certificate"}),
               "a client without a certificate on ssl.verify-client required")
    # A client certificate from a CA the truststore does not hold.
    sock = socket.create_connection(("127.0.0.1", e.mtls_port), 10)
    try:
        c = e.ctx(e.stranger_cert)
        c.maximum_version = ssl.TLSVersion.TLSv1_2
        c.wrap_socket(sock, server_hostname="localhost").close()
        raise h.Fail("a handshake with an untrusted client certificate succeeded")
    except (ssl.SSLError, ConnectionError):
        pass
    finally:
        sock.close()
    wait_value("postern_tls_handshake_failures_total", {"leg": "client", "cause": "unknown_ca"},
               lambda v: v >= 2 + _maybe(before, "postern_tls_handshake_failures_total",
                                         {"leg": "client", "cause": "unknown_ca"}),
               "a client certificate from an unknown CA")
    # Plain HTTP to a TLS port.
    with socket.create_connection(("127.0.0.1", e.wss_port), 10) as s:
        s.sendall(b"GET / HTTP/1.1\r\nHost: localhost\r\n\r\n")
        s.settimeout(10)
        try:
            while s.recv(4096):
                pass
        except OSError:
            pass
    fams = wait_value("postern_tls_handshake_failures_total", {"leg": "client", "cause": "protocol"},
                      lambda v: v >= 1 + _maybe(before, "postern_tls_handshake_failures_total",
                                                {"leg": "client", "cause": "protocol"}),
                      "plain HTTP sent to a TLS port")
    for cause, want in (("unknown_ca", 2), ("no_client_certificate", 1), ("protocol", 1),
                        ("expired", 0), ("name_mismatch", 0)):
        h.check_equal(delta(fams, cause), want, f"client TLS failures with cause {cause}")
    # Over TLS 1.3 the client's alert cannot be read (see pst-metrics.c):
    # it counts on the client leg as cause="other".
    other = delta(fams, "other")
    stranger(False)
    wait_value("postern_tls_handshake_failures_total", {"leg": "client", "cause": "other"},
               lambda v: v - _maybe(before, "postern_tls_handshake_failures_total",
                                    {"leg": "client", "cause": "other"}) == other + 1,
               "a TLS 1.3 client refusing the gateway's certificate")


@T.case("certificate expiry: seconds left and notAfter per keystore entry")
def _():
    e = env.get()
    fams = scrape()
    left = promtext.series(fams, "postern_certificate_expiry_seconds")
    h.require(left, "no postern_certificate_expiry_seconds series")
    aliases = {l["alias"]: v for l, v in left}
    h.require("localhost" in aliases, f"no entry for alias localhost: {aliases}")
    # the harness's leaves are valid for 90 days from now
    h.require(89 * 86400 < aliases["localhost"] <= 90 * 86400,
              f"seconds left for localhost: {aliases['localhost']} (expected ~90 days)")
    na = val(fams, "postern_certificate_not_after_timestamp_seconds", alias="localhost")
    h.require(abs((na - time.time()) - aliases["localhost"]) < 60,
              f"notAfter {na} and seconds left {aliases['localhost']} disagree")


@T.case("process figures agree with /proc: open fds, resident memory, start time")
def _():
    e = env.get()
    fams = scrape()
    pid = e.gw.proc.pid
    fds = len(os.listdir(f"/proc/{pid}/fd"))
    got = val(fams, "postern_process_open_fds")
    h.require(abs(got - fds) <= 4, f"open fds: /metrics says {got}, /proc/{pid}/fd has {fds}")
    with open(f"/proc/{pid}/statm") as f:
        rss = int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    got = val(fams, "postern_process_resident_memory_bytes")
    h.require(0.7 * rss < got < 1.3 * rss, f"RSS: /metrics says {got}, /proc says {rss}")
    start = val(fams, "postern_process_start_time_seconds")
    h.require(e.started - 5 <= start <= time.time(),
              f"start time {start} is not within the test's run ({e.started}…now)")


@T.case("status over https:// under a base path: /ops/health, /ops/metrics; /health there is 404")
def _():
    e = env.get()
    status, _, body = curl(e.status_tls_url + "/health")
    h.check_equal((status, body), (200, b"ok\n"), "GET https …/ops/health")
    scrape(e.status_tls_url + "/metrics")
    status, _, _ = curl(f"https://localhost:{e.https_port}/health")
    h.check_equal(status, 404, "GET /health outside the service's path")


@T.case("hostile requests: methods, long paths, query strings, huge heads; others untouched")
def _():
    e = env.get()

    async def hold_session_through(fn):
        async with h.ws_connect(e.ws_url, None) as c:
            await h.echo_once(c, "before")
            fn()
            await h.echo_once(c, "after")
            await h.close_cleanly(c)

    def hostile():
        for m in ("POST", "PUT", "DELETE", "OPTIONS", "PATCH", "TRACE", "FOO"):
            status, headers, _ = curl(e.status_url + "health", method=m)
            h.require(status in (405, 400, 501), f"{m} /health answered {status}")
            if status == 405:
                h.check_equal(headers.get("allow"), "GET, HEAD", f"Allow on {m}")
        for path in ("", "x", "health/", "healthz", "metrics/x",
                     "metrics%00", "metrics%2f", "a" * 8000):
            status, _, _ = curl(e.status_url + path)
            h.check_equal(status, 404, f"GET /{path[:40]}")
        status, _, body = curl(e.status_url + "health?probe=1&x=" + "y" * 2000)
        h.check_equal((status, body), (200, b"ok\n"), "GET /health with a query string")
        scrape(e.status_url + "metrics?name[]=postern_up&x=%00")
        # A request head over the gateway's limit is refused or cut; the gateway survives.
        with socket.create_connection(("127.0.0.1", e.http_port), 10) as s:
            s.settimeout(10)
            try:
                s.sendall(b"GET /metrics HTTP/1.1\r\nHost: x\r\nX-Big: " + b"a" * 100000 + b"\r\n\r\n")
                s.recv(4096)
            except OSError:
                pass
        # A request line alone, never finished, then gone.
        with socket.create_connection(("127.0.0.1", e.http_port), 10) as s:
            s.sendall(b"GET /health HTTP/1.1\r\n")

    h.arun(hold_session_through(hostile), 60)
    h.require(e.gw.running(), "the gateway exited during the hostile requests")
    status, _, body = curl(e.status_url + "health")
    h.check_equal((status, body), (200, b"ok\n"), "GET /health after the hostile requests")


@T.case("reload: a broken config → /health 503 naming the error, counters kept; a good one → 200")
def _():
    e = env.get()
    before = scrape()
    total = val(before, "postern_connections_total", service=ODD_NAME)
    rs = _maybe(before, "postern_reloads_total", {"outcome": "success"})
    rf = _maybe(before, "postern_reloads_total", {"outcome": "failure"})
    at = e.config_text.index("<type>echo</type>", e.config_text.index("<name>mtls</name>"))
    broken = e.config_text[:at] + "<type>bogus</type>" + e.config_text[at + len("<type>echo</type>"):]
    with open(e.config, "w") as f:
        f.write(broken)
    bad_line = next(i for i, l in enumerate(broken.split("\n"), 1) if "<type>bogus</type>" in l)
    failed = count_lines(e.gw, "reload failed")
    e.gw.signal(signal.SIGHUP)
    wait_lines(e.gw, "reload failed", failed + 1, "after SIGHUP with a broken config")
    status, _, body = curl(e.status_url + "health")
    text = body.decode()
    h.check_equal(status, 503, "GET /health after a failed reload")
    h.require("reload failed" in text and "bogus" in text and f"gateway-config.xml:{bad_line}:" in text,
              f"/health does not say which reload error (want file:line {bad_line} and 'bogus'): {text!r}")
    fams = scrape()
    h.check_equal(val(fams, "postern_reloads_total", outcome="failure") - rf, 1, "failed reloads")
    h.require(abs(val(fams, "postern_last_reload_timestamp_seconds") - time.time()) < 30,
              "last reload timestamp is not now")
    h.check_equal(val(fams, "postern_connections_total", service=ODD_NAME), total,
                  "connections_total after a failed reload")
    # The previous config still serves.
    h.arun(echo_sessions(e.ws_url, None, 1, ["still here"]), 30)
    with open(e.config, "w") as f:
        f.write(e.config_text)
    reloaded = count_lines(e.gw, "info: reloaded ")
    e.gw.signal(signal.SIGHUP)
    wait_lines(e.gw, "info: reloaded ", reloaded + 1, "after SIGHUP with the good config")
    status, _, body = curl(e.status_url + "health")
    h.check_equal((status, body), (200, b"ok\n"), "GET /health after a good reload")
    fams = scrape()
    h.check_equal(val(fams, "postern_reloads_total", outcome="success") - rs, 1, "good reloads")
    h.check_equal(val(fams, "postern_connections_total", service=ODD_NAME), total + 1,
                  "connections_total survives the reload (a snapshot swap resets nothing)")


@T.case("drain: after SIGTERM /health answers 503 draining while a session ends, then exit 0")
def _():
    d = T.tmpdir()
    http_port, ws_port = h.free_ports(2)
    status_url = f"http://127.0.0.1:{http_port}/"
    ws_url = f"ws://127.0.0.1:{ws_port}/echo"
    cfg = h.write_config(d, h.config_xml([h.service_xml("status", "status", [status_url]),
                                          h.service_xml("echo", "echo", [ws_url])]))
    gw = h.start_gateway(cfg, [status_url, ws_url], name="postern run (drain)")
    try:
        status, _, body = curl(status_url + "health")
        h.check_equal((status, body), (200, b"ok\n"), "GET /health before SIGTERM")
        # A client that will not answer the gateway's close frame keeps the drain going.
        sock = p.connected_socket(ws_port)
        try:
            p.RawWs.open(sock, f"127.0.0.1:{ws_port}", "/echo")
            gw.signal(signal.SIGTERM)
            wait_lines(gw, "stopping:", 1, "after SIGTERM")
            status, headers, body = curl(status_url + "health")
            h.check_equal(status, 503, f"GET /health while draining (body {body!r})")
            h.require(b"draining" in body, f"the 503 body does not say draining: {body!r}")
            h.check_equal(headers.get("connection"), "close", "Connection header while draining")
            fams = scrape(status_url + "metrics")
            h.check_equal(val(fams, "postern_draining"), 1, "postern_draining while draining")
        finally:
            sock.close()
        rc = gw.wait_exit(h.STOP_TIMEOUT)
        h.check_equal(rc, 0, "exit status once the last session is gone")
    finally:
        gw.kill()


@T.case("postern check: a status service with a <connect> or a ws:// accept is an error naming the line")
def _():
    d = T.tmpdir()
    port = h.free_port()
    text = h.config_xml([
        h.service_xml("st1", "status", [f"http://127.0.0.1:{port}/"],
                      connects=["tcp://127.0.0.1:9"]),
        h.service_xml("st2", "status", [f"ws://127.0.0.1:{port}/x"]),
    ])
    cfg = h.write_config(d, text)
    lines = text.split("\n")
    connect_line = next(i for i, l in enumerate(lines, 1) if "<connect>" in l)
    ws_line = next(i for i, l in enumerate(lines, 1) if f"ws://127.0.0.1:{port}/x" in l)
    r = h.run_postern(["check", "--config", cfg])
    out = r.stdout + r.stderr
    h.check_equal(r.returncode, 1, f"postern check exit status\n{out}")
    h.require(re.search(rf"gateway-config\.xml:{connect_line}:\d+: error: .*connect", out),
              f"no error naming line {connect_line} (the <connect>):\n{out}")
    h.require(re.search(rf"gateway-config\.xml:{ws_line}:\d+: error: .*status service accepts only http",
                        out), f"no error naming line {ws_line} (the ws:// accept):\n{out}")


T.run()
