#!/usr/bin/python3
# test_logs.py: issue 11 item 5 -- `postern run --log-format=json`: every
# log line is one JSON object (parsed with Python's json module), the
# open/close lines carry typed fields (a ws echo and a wss→ssl proxy), a
# hostile close reason or SNI cannot break a line, and the text format is
# unchanged.
# SPDX-License-Identifier: Apache-2.0
import asyncio
import json
import os
import re
import socket
import ssl
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import opslib  # noqa: E402,F401
from opslib import h, p  # noqa: E402

T = h.Tap(case_timeout=90)
STAMP = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")
TEXT_LINE = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3} (info|warning|critical|error|debug): ")
HOSTILE_REASON = 'bye"}\n{"event":"forged"}\r\t\\ \u2028 \x1b[31m é'


class Setup:
    def __init__(self):
        self.dir = T.tmpdir()
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=self.pki)
        leaf = self.pki.server("localhost")
        self.tls_echo = p.Server("tls-echo", p.echo_handler, ssl_ctx=p.server_ssl_context(leaf))
        T.add_cleanup(self.tls_echo.close)
        trust = p.pem_truststore(self.dir, self.pki.ca.cert)
        self.ws_port, self.wss_port = h.free_ports(2)
        self.ws_url = f"ws://127.0.0.1:{self.ws_port}/echo"
        self.wss_url = f"wss://localhost:{self.wss_port}/proxy"
        self.backend = f"ssl://localhost:{self.tls_echo.port}"
        text = p.config_xml([
            h.service_xml("echo", "echo", [self.ws_url]),
            h.service_xml("proxy", "proxy", [self.wss_url], [self.backend]),
        ], keystore=self.keystore.relative_to(self.dir),
            truststore=os.path.basename(trust))
        self.config = h.write_config(self.dir, text)
        self.urls = [self.ws_url, self.wss_url]

    def ctx(self):
        return self.keystore.client_context()

    def start(self, *args):
        return h.start_gateway(self.config, self.urls, name=f"postern run {' '.join(args)}", extra_args=args)


setup = h.Fixture("PKI, TLS echo back-end, config", Setup)


def json_lines(gw):
    """Every stderr line parsed as one JSON object with the common fields."""
    with gw.cond:
        lines = list(gw.stderr)
    records = []
    for line in lines:
        try:
            r = json.loads(line)
        except ValueError as e:
            raise h.Fail(f"not a JSON line ({e}): {line!r}")
        h.require(isinstance(r, dict), f"not an object: {line!r}")
        for key in ("timestamp", "level", "event", "message"):
            h.require(isinstance(r.get(key), str), f"no string {key!r} in {line!r}")
        h.require(STAMP.match(r["timestamp"]), f"timestamp not RFC 3339 UTC with ms: {r['timestamp']!r}")
        records.append(r)
    return records


def wait_event(gw, event, predicate=lambda r: True, timeout=10):
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        found = [r for r in json_lines(gw) if r["event"] == event and predicate(r)]
        if found:
            return found[0]
        time.sleep(0.05)
    raise h.Fail(f"no {event!r} record within {timeout} s:\n" + "\n".join(gw.stderr[-20:]))


def check_types(r, numbers, strings):
    for k in numbers:
        h.require(isinstance(r.get(k), (int, float)) and not isinstance(r.get(k), bool),
                  f"{r['event']}: {k} is not a number: {r.get(k)!r}")
    for k in strings:
        h.require(isinstance(r.get(k), str), f"{r['event']}: {k} is not a string: {r.get(k)!r}")


def text_field(message, name):
    m = re.search(rf" {name}=(\S+)", message)
    return m.group(1) if m else None


def mine(port):
    return lambda r: r.get("client", "").endswith(f":{port}")


async def echo_session(url, ctx, sock, payload, reason="bye", by_bytes=False):
    ws = h.import_websockets()
    kw = dict(sock=sock, max_size=None, ping_interval=None, open_timeout=10, close_timeout=5,
              compression=None)
    if ctx is not None:
        kw.update(ssl=ctx, server_hostname="localhost")
    async with ws.connect(url, **kw) as conn:
        if by_bytes:
            # A byte back-end: the echo comes back in chunks (one message each).
            await conn.send(payload)
            got = b""
            while len(got) < len(payload):
                got += await h.recv_within(conn, 10)
            h.require(got == payload, "the echo through the proxy differs")
        else:
            await h.echo_once(conn, payload)
        await conn.close(1000, reason)


@T.case("--log-format=json: every line is a JSON object; listening records; a ws echo's "
        "open/close carry typed fields that agree with the text message")
def _():
    s = setup.get()
    gw = s.start("--log-format=json")
    with gw:
        for url in s.urls:
            wait_event(gw, "listening", lambda r, u=url: r.get("url") == u)
        sock = p.connected_socket(s.ws_port)
        port = sock.getsockname()[1]
        payload = os.urandom(3000)
        h.arun(echo_session(s.ws_url, None, sock, payload), 20)
        opened = wait_event(gw, "open", mine(port))
        closed = wait_event(gw, "close", mine(port))
        check_types(opened, [], ["service", "client"])
        h.check_equal(opened["service"], "echo", "open: service")
        h.check_equal(opened["client"], f"127.0.0.1:{port}", "open: client")
        h.require("backend" not in opened, f"an echo has no back-end: {opened}")
        check_types(closed, ["bytes_in", "bytes_out", "duration_s", "close_code"],
                    ["service", "client", "close_reason"])
        h.check_equal(closed["close_code"], 1000, "close: close_code")
        h.check_equal(closed["close_reason"], "bye", "close: close_reason")
        h.require(closed["bytes_in"] >= len(payload) and closed["bytes_out"] >= len(payload),
                  f"close: bytes below the {len(payload)}-byte payload: {closed}")
        h.check_equal(closed["bytes_in"], int(text_field(closed["message"], "in")), "bytes_in vs in=")
        h.check_equal(closed["bytes_out"], int(text_field(closed["message"], "out")), "bytes_out vs out=")
        h.check_equal(closed["close_code"], int(text_field(closed["message"], "code")), "close_code vs code=")
        h.require(0 <= closed["duration_s"] < 20, f"duration_s {closed['duration_s']}")
        h.require(closed["message"].startswith("close echo client="), closed["message"])
        h.check_equal(closed["level"], "info", "level")
        gw.stop()
        json_lines(gw)   # the stop's lines too


@T.case("--log-format=json: a wss→ssl proxy's open/close have tls_version, tls_cipher, sni, "
        "backend, and bytes that agree with the text message")
def _():
    s = setup.get()
    gw = s.start("--log-format=json")
    with gw:
        sock = p.connected_socket(s.wss_port)
        port = sock.getsockname()[1]
        h.arun(echo_session(s.wss_url, s.ctx(), sock, os.urandom(70000), by_bytes=True), 20)
        opened = wait_event(gw, "open", mine(port))
        closed = wait_event(gw, "close", mine(port))
        for r in (opened, closed):
            check_types(r, [], ["service", "client", "tls_version", "tls_cipher", "sni", "backend"])
            h.check_equal(r["service"], "proxy", f"{r['event']}: service")
            h.require(r["tls_version"].startswith("TLSv1."), f"tls_version {r['tls_version']!r}")
            h.require(r["tls_cipher"].startswith("TLS_"), f"tls_cipher {r['tls_cipher']!r}")
            h.check_equal(r["sni"], "localhost", f"{r['event']}: sni")
            h.require(r["backend"].startswith(s.backend), f"backend {r['backend']!r}")
            h.check_equal(f"{r['tls_version']}/{r['tls_cipher']}", text_field(r["message"], "tls"),
                          "tls_version/tls_cipher vs tls=")
        check_types(closed, ["bytes_in", "bytes_out", "duration_s", "close_code"], ["close_reason"])
        h.require(closed["bytes_in"] >= 70000 and closed["bytes_out"] >= 70000, f"bytes: {closed}")
        h.check_equal(closed["bytes_in"], int(text_field(closed["message"], "in")), "bytes_in vs in=")
        h.check_equal(closed["close_code"], 1000, "close_code")
        gw.stop()
        json_lines(gw)


@T.case("a hostile close reason and a hostile SNI stay inside one JSON line each and "
        "decode to what the peer sent (the SNI in a tls-failure record)")
def _():
    s = setup.get()
    gw = s.start("--log-format=json")
    with gw:
        sock = p.connected_socket(s.ws_port)
        port = sock.getsockname()[1]
        h.arun(echo_session(s.ws_url, None, sock, "x", reason=HOSTILE_REASON), 20)
        closed = wait_event(gw, "close", mine(port))
        h.check_equal(closed["close_reason"], HOSTILE_REASON, "close_reason decoded")
        # An SNI with quotes, braces and a backslash (GnuTLS refuses it).
        hostile_sni = 'evil"}{"event":"forged\\x'
        ctx = ssl.create_default_context()
        ctx.check_hostname = False
        ctx.verify_mode = ssl.CERT_NONE
        raw = socket.create_connection(("127.0.0.1", s.wss_port), timeout=10)
        try:
            with ctx.wrap_socket(raw, server_hostname=hostile_sni) as t:
                t.recv(1)
        except (ssl.SSLError, OSError):
            pass   # refused: no certificate for that name
        failure = wait_event(gw, "tls-failure", lambda r: r.get("sni") == hostile_sni)
        h.require(isinstance(failure.get("cause"), str) and failure.get("client"), f"tls-failure: {failure}")
        h.check_equal(failure.get("sni"), hostile_sni, "tls-failure: sni decoded")
        h.require("evil" in failure["message"], f"tls-failure message: {failure}")
        records = json_lines(gw)
        h.require(not any(r["event"] == "forged" for r in records), "a forged record appeared")
        with gw.cond:
            lines = list(gw.stderr)
        h.check_equal(len(lines), len(records), "lines vs records")
        gw.stop()


@T.case("text format (the default and --log-format=text): the same 'DATE info: open …' / "
        "'close …' lines as before; --log-format=xml is refused with exit 1")
def _():
    s = setup.get()
    for args in ((), ("--log-format=text",)):
        gw = s.start(*args)
        with gw:
            sock = p.connected_socket(s.ws_port)
            port = sock.getsockname()[1]
            h.arun(echo_session(s.ws_url, None, sock, "hi"), 20)
            line = p.wait_log(gw, lambda l: f" close echo client=127.0.0.1:{port} " in l, 10, "close")
            h.require(TEXT_LINE.match(line), f"not a text log line: {line!r}")
            h.require(re.search(r" info: close echo client=127\.0\.0\.1:\d+ backend=- in=\d+ out=\d+ "
                                r"duration=\d+\.\d{3}s code=1000 reason=\"bye\"$", line), line)
            h.require(p.stderr_lines(gw, lambda l: re.search(
                rf" info: open echo client=127\.0\.0\.1:{port} backend=-$", l)), "no open line")
            h.require(not p.stderr_lines(gw, lambda l: l.lstrip().startswith("{")), "JSON in text mode")
            gw.stop()
    r = h.run_postern(["run", "--config", s.config, "--log-format=xml"], timeout=10)
    h.check_equal(r.returncode, 1, "exit status for --log-format=xml")
    h.require("log-format" in r.stderr, f"the error does not name the option: {r.stderr!r}")


@T.case("under the journal (a private mount namespace where the test plays journald): "
        "open/close records carry POSTERN_* fields and SYSLOG_IDENTIFIER=postern, nothing "
        "falls back to text")
def _():
    s = setup.get()
    unshare = h.require_tool("unshare")
    helper = os.path.join(os.path.dirname(os.path.abspath(__file__)), "journal_helper.py")
    r = h.run_tool([unshare, "-m", "--propagation", "private", sys.executable, helper,
                    h.postern_path(), s.config, s.ws_url], timeout=60)
    h.require(r.returncode == 0 and r.stdout.strip(),
              f"the journal helper failed ({r.returncode}): {r.stdout}{r.stderr}")
    result = json.loads(r.stdout.strip().splitlines()[-1])
    h.require(result["error"] is None, f"helper: {result['error']}")
    h.check_equal(result["rc"], 0, "postern's exit status")
    records = result["records"]
    h.require(records, "no record reached the journal socket")
    for rec in records:
        h.check_equal(rec.get("SYSLOG_IDENTIFIER"), "postern", f"SYSLOG_IDENTIFIER of {rec}")
        h.require(rec.get("PRIORITY", "").isdigit(), f"no PRIORITY in {rec}")
    opened = [x for x in records if x.get("POSTERN_EVENT") == "open"]
    closed = [x for x in records if x.get("POSTERN_EVENT") == "close"]
    h.check_equal(len(opened), 1, "open records")
    h.check_equal(len(closed), 1, "close records")
    c = closed[0]
    h.check_equal(c.get("POSTERN_SERVICE"), "echo", "POSTERN_SERVICE")
    h.require(re.fullmatch(r"127\.0\.0\.1:\d+", c.get("POSTERN_CLIENT", "")), f"POSTERN_CLIENT in {c}")
    for k in ("POSTERN_BYTES_IN", "POSTERN_BYTES_OUT", "POSTERN_CLOSE_CODE"):
        h.require(c.get(k, "").isdigit(), f"{k} is not a number: {c}")
    h.check_equal(c["POSTERN_CLOSE_CODE"], "1000", "POSTERN_CLOSE_CODE")
    h.check_equal(c.get("POSTERN_CLOSE_REASON"), "done", "POSTERN_CLOSE_REASON")
    h.require(c.get("MESSAGE", "").startswith("close echo client=127.0.0.1:"), f"MESSAGE {c}")
    h.require(any(x.get("POSTERN_EVENT") == "stopping" for x in records), "no stopping record")
    h.require(" open echo " not in result["stream"] and " close echo " not in result["stream"],
              f"open/close also written as text on stderr: {result['stream']!r}")


T.run()
