#!/usr/bin/python3
# Flow 2 (issue 6, p_tls_trusted.md): a local CA made and used by
# `postern cert generate --ca devca.p12` issues the gateway's and the
# back-end's certificates; the gateway's truststore holds only the CA
# (`postern cert import`).  wss→ssl proxy and echo work for a client that
# trusts only the CA; with the CA taken out (`postern cert remove`) the
# back-end hop fails: the client gets close 1011 and the gateway's log says
# "not trusted" and gives the `postern cert fetch` command, which, run as
# printed, makes the proxy work again.
# SPDX-License-Identifier: Apache-2.0
import asyncio
import os
import re
import shlex
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib as f  # noqa: E402
from flowlib import h, p  # noqa: E402

T = h.Tap(case_timeout=90)


def echo_noting_resumption(conn, record):
    """proxylib's echo, noting whether the gateway resumed a TLS session
    (a resumed session skips the certificate, and so the truststore)."""
    record["resumed"] = conn.session_reused
    p.echo_handler(conn, record)


class Setup:
    def __init__(self):
        self.dir = d = T.tmpdir("postern-flow2-")
        # The gateway's certificate, issued by a local CA (made on first use)
        f.postern(["cert", "generate", "--keystore", "keystore.db", "--ca", "devca.p12",
                   *f.LOCAL_NAMES], d)
        # The back-end's certificate, issued by the same CA
        f.postern(["cert", "generate", "--keystore", "backend.p12", "--ca", "devca.p12",
                   "localhost", "127.0.0.1"], d)
        self.ca_alias = f.ca_alias("devca.p12", d)
        f.postern(["cert", "export", "devca.p12", self.ca_alias, "--out", "ca.pem"], d)
        # The truststore holds the CA and nothing else
        f.postern(["cert", "import", "truststore.db", "ca.pem"], d)
        self.ca_pem = os.path.join(d, "ca.pem")
        # The back-end server (a third party) takes PEM files
        openssl = h.require_tool("openssl")
        self.backend_cert = os.path.join(d, "backend-cert.pem")
        self.backend_key = os.path.join(d, "backend-key.pem")
        h.run_checked([openssl, "pkcs12", "-in", "backend.p12", "-passin", "file:backend.pw",
                       "-clcerts", "-nokeys", "-out", self.backend_cert], cwd=d)
        h.run_checked([openssl, "pkcs12", "-in", "backend.p12", "-passin", "file:backend.pw",
                       "-nocerts", "-nodes", "-out", self.backend_key], cwd=d)
        self.backend = p.Server("tls-echo", echo_noting_resumption,
                                ssl_ctx=f.backend_tls_ctx(self.backend_cert, self.backend_key))
        T.add_cleanup(self.backend.close)
        self.port = h.free_port()
        base = f"localhost:{self.port}"
        self.echo = f"wss://{base}/echo"
        self.page = f"https://{base}/"
        self.proxy = f"wss://{base}/backend"
        self.urls = [self.echo, self.page, self.proxy]
        self.config = f.config(d, [
            h.service_xml("echo", "echo", [self.echo]),
            f.directory_service("welcome", [self.page]),
            h.service_xml("backend", "proxy", [self.proxy],
                          connects=[f"ssl://localhost:{self.backend.port}"]),
        ], keystore=("keystore.db", "keystore.pw"), truststore=("truststore.db", "truststore.pw"))
        f.postern(["check", "--config", self.config], d)
        self.gw = None
        self.start()

    def start(self, name="postern run (trusted CA)"):
        if self.gw is not None:
            self.gw.stop()
        self.gw = h.start_gateway(self.config, self.urls, name=name)
        T.add_cleanup(self.gw.kill)

    def ctx(self):
        return f.verifying_ctx(self.ca_pem)


setup = h.Fixture("local CA, gateway and back-end certificates, truststore with the CA",
                  Setup)


@T.case("truststore.db holds exactly one entry: the CA (trusted), no key, no leaf")
def _():
    s = setup.get()
    rows = f.cert_entries("truststore.db", s.dir)
    h.check_equal([(r["alias"], r["kind"]) for r in rows], [(s.ca_alias, "trusted")],
                  "truststore.db entries")
    h.require("Postern development CA" in rows[0]["subject"], f"subject: {rows[0]['line']}")
    # and the gateway's and the back-end's leaves are issued by it
    openssl = h.require_tool("openssl")
    r = h.run_checked([openssl, "verify", "-CAfile", s.ca_pem, s.backend_cert])
    f.say(r.stdout.strip())


@T.case("a Python client trusting only ca.pem round-trips through wss:// echo")
def _():
    s = setup.get()
    n = h.arun(f.echo_roundtrip(s.echo, s.ctx(), f.payloads("flow2 echo")), 30)
    f.say(f"{n} messages echoed")


@T.case("proxy wss→ssl: the back-end (issued by the CA) receives and returns the exact "
        "bytes, the gateway verifies it through the CA in truststore.db")
def _():
    s = setup.get()
    before = len(s.backend.records)
    t0 = time.monotonic()
    sent = h.arun(f.stream_roundtrip(s.proxy, s.ctx(), f.payloads("flow2 proxy")), 60)
    f.say(f"{len(sent)} bytes each way in {time.monotonic() - t0:.2f} s")
    rec = s.backend.wait_records(before + 1, 15)[before]
    h.require(rec["error"] is None, f"back-end error: {rec['error']}")
    h.check_equal(rec["in"], len(sent), "bytes the back-end received")
    h.check_equal(rec.get("tls"), "TLSv1.3", "TLS version on the back-end hop")
    s.proxy_worked = True


@T.case("postern cert remove takes the CA out; after a restart the back-end hop fails: "
        "close 1011 for the client, and a log line with \"not trusted\" and the "
        "`postern cert fetch` command")
def _():
    s = setup.get()
    # A refusal only shows that trust was taken away if it was there before
    h.require(getattr(s, "proxy_worked", False),
              "precondition: the proxy never worked with the CA in truststore.db "
              "(previous case), so a refusal now would prove nothing")
    f.postern(["cert", "remove", "truststore.db", s.ca_alias], s.dir)
    h.check_equal(f.cert_entries("truststore.db", s.dir), [], "truststore.db entries after remove")
    s.start(name="postern run (CA removed)")
    before = len(s.backend.records)
    code, reason = h.arun(f.expect_close_code(s.proxy, s.ctx()), 30)
    f.say(f"client got close {code} {reason!r}")
    h.check_equal(code, 1011, "close code for the client when the back-end is not trusted")
    line = p.wait_log(s.gw, lambda l: "not trusted" in l, 10, "saying \"not trusted\"")
    f.say(line)
    h.require("postern cert fetch" in line, f"no `postern cert fetch` advice in: {line}")
    h.require(f"localhost:{s.backend.port}" in line, f"the back-end's address is not named: {line}")
    h.require("truststore.db" in line, f"the truststore is not named: {line}")
    s.fetch_line = line
    # the echo service (no back-end) is not affected
    h.arun(f.echo_roundtrip(s.echo, s.ctx(), ["still here"]), 20)
    # the back-end saw the gateway's TLS attempt and nothing more
    recs = s.backend.wait_records(before + 1, 10)
    h.require(all(r["in"] == 0 for r in recs[before:]), f"back-end got data: {recs[before:]}")


@T.case("the command from the log, run as printed with --yes, trusts the back-end again; "
        "after a restart the proxy round-trips")
def _():
    s = setup.get()
    line = getattr(s, "fetch_line", None)
    h.require(line, "the previous case found no `postern cert fetch` line")
    m = re.search(r"(postern cert fetch .+?)\s*$", line)
    argv = shlex.split(m.group(1))[1:] + ["--yes"]
    f.postern(argv, s.dir)
    rows = f.cert_entries("truststore.db", s.dir)
    h.require(rows and all(r["kind"] == "trusted" for r in rows),
              f"truststore.db after fetch: {rows}")
    s.start(name="postern run (after fetch)")
    h.arun(f.stream_roundtrip(s.proxy, s.ctx(), f.payloads("flow2 after fetch")), 60)


def proxy_outcome(s):
    """One attempt through the proxy: "ok" (bytes back), or the close code."""
    ws = h.import_websockets()

    async def go():
        async with h.ws_connect(s.proxy, s.ctx()) as c:
            # A refused back-end can close the session (1011) before the
            # client has sent anything: the send fails the same way.
            try:
                await c.send(b"reload?")
                got = await asyncio.wait_for(c.recv(), 10)
            except ws.exceptions.ConnectionClosed:
                return c.close_rcvd.code if c.close_rcvd else c.close_code
            return "ok" if got == b"reload?" else f"got {got!r}"
    return h.arun(go(), 20)


def wait_outcome(s, want, budget=6.0):
    deadline = time.monotonic() + budget
    seen = []
    while time.monotonic() < deadline:
        out = proxy_outcome(s)
        seen.append(out)
        if out == want:
            return seen
        time.sleep(0.3)
    resumed = [r.get("resumed") for r in s.backend.describe()[-len(seen):]]
    raise h.Fail(f"after SIGHUP the proxy still gives {seen[-1]!r} (wanted {want!r}) "
                 f"within {budget} s; attempts: {seen}; back-end TLS sessions resumed "
                 f"by the gateway (no certificate check): {resumed}")


@T.case("SIGHUP reloads the truststore: the CA taken out → new sessions get 1011; the CA "
        "imported again → new sessions round-trip (no restart)")
def _():
    s = setup.get()
    # back to the CA set-up, on a fresh gateway
    for r in f.cert_entries("truststore.db", s.dir):
        f.postern(["cert", "remove", "truststore.db", r["alias"]], s.dir)
    f.postern(["cert", "import", "truststore.db", "ca.pem"], s.dir)
    s.start(name="postern run (before SIGHUP)")
    h.check_equal(proxy_outcome(s), "ok", "proxy with the CA trusted")
    f.postern(["cert", "remove", "truststore.db", s.ca_alias], s.dir)
    s.gw.signal(signal.SIGHUP)
    seen = wait_outcome(s, 1011)
    f.say(f"after remove + SIGHUP: {seen}")
    f.postern(["cert", "import", "truststore.db", "ca.pem"], s.dir)
    s.gw.signal(signal.SIGHUP)
    seen = wait_outcome(s, "ok")
    f.say(f"after import + SIGHUP: {seen}")
    h.require(s.gw.running(), "the gateway exited on SIGHUP")


if __name__ == "__main__":
    T.run()
