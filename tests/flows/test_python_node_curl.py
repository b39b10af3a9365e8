#!/usr/bin/python3
# Flow 4 (issue 6, p_tls_clientapp.md): the clients people script with —
# python3-websockets and node-ws verifying the gateway against the CA file
# exported by `postern cert export`, through echo and through a wss→ws
# proxy; curl --cacert fetches the welcome page over https:// byte for byte.
# Each also fails, on trust, without the CA file.
# SPDX-License-Identifier: Apache-2.0
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib as f  # noqa: E402
from flowlib import h, p  # noqa: E402

T = h.Tap(case_timeout=90)
NODE_CLIENT = os.path.join(f.HERE, "client.js")


class Setup:
    def __init__(self):
        self.dir = d = T.tmpdir("postern-flow4-")
        f.postern(["cert", "generate", "--keystore", "keystore.db", "--ca", "devca.p12",
                   *f.LOCAL_NAMES], d)
        alias = f.ca_alias("devca.p12", d)
        f.postern(["cert", "export", "devca.p12", alias, "--out", "ca.pem"], d)
        self.ca = os.path.join(d, "ca.pem")
        self.backend = p.WsBackend()
        T.add_cleanup(self.backend.close)
        self.port = h.free_port()
        base = f"localhost:{self.port}"
        self.echo = f"wss://{base}/echo"
        self.page = f"https://{base}/"
        self.proxy = f"wss://{base}/app"
        cfg = f.config(d, [
            h.service_xml("echo", "echo", [self.echo]),
            f.directory_service("welcome", [self.page]),
            h.service_xml("app", "proxy", [self.proxy],
                          connects=[f"ws://127.0.0.1:{self.backend.port}/app"]),
        ], keystore=("keystore.db", "keystore.pw"))
        f.postern(["check", "--config", cfg], d)
        self.gw = h.start_gateway(cfg, [self.echo, self.page, self.proxy],
                                  name="postern run (flow 4)")
        T.add_cleanup(self.gw.kill)

    def node(self, url, ca=None, tag="node"):
        nodejs = f.node()
        f.require_node_ws()
        env = {k: v for k, v in os.environ.items()
               if k not in ("NODE_EXTRA_CA_CERTS", "NODE_TLS_REJECT_UNAUTHORIZED", "NODE_OPTIONS")}
        argv = [nodejs, NODE_CLIENT, url] + ([ca] if ca else [""]) + [tag]
        t0 = time.monotonic()
        r = h.run_tool(argv, timeout=40, env=env)
        f.say(f"node client.js {url}{' ' + os.path.basename(ca) if ca else ''} → "
              f"exit {r.returncode} ({time.monotonic() - t0:.2f} s): {(r.stdout + r.stderr).strip()}")
        return r

    def curl(self, url, out, cacert=True):
        curl = h.require_tool("curl")
        argv = [curl, "-sS", "--max-time", "15", "-o", out, "-w", "%{http_code}"]
        if cacert:
            argv += ["--cacert", self.ca]
        env = {k: v for k, v in os.environ.items()
               if k not in ("CURL_CA_BUNDLE", "SSL_CERT_FILE", "SSL_CERT_DIR")}
        return h.run_tool(argv + [url], timeout=30, env=env)


setup = h.Fixture("CA-issued gateway certificate, echo, welcome page, wss→ws proxy", Setup)


@T.case("python3-websockets verifying ca.pem: echo round-trips text and binary")
def _():
    s = setup.get()
    n = h.arun(f.echo_roundtrip(s.echo, f.verifying_ctx(s.ca), f.payloads("flow4 python")), 30)
    f.say(f"{n} messages echoed")


@T.case("python3-websockets verifying ca.pem: the wss→ws proxy delivers every message "
        "to the back-end and back, types and bytes equal")
def _():
    s = setup.get()
    before = len(s.backend.messages)
    msgs = f.payloads("flow4 python proxy")
    h.arun(f.echo_roundtrip(s.proxy, f.verifying_ctx(s.ca), msgs), 30)
    got = s.backend.messages[before]["messages"]
    h.check_equal([type(m).__name__ for m in got], [type(m).__name__ for m in msgs],
                  "message types at the back-end")
    h.require(got == msgs, "messages at the back-end differ from those sent")


@T.case("python3-websockets with the system's CAs only: certificate verify failed")
def _():
    s = setup.get()
    err = h.arun(f.expect_ws_refused(s.echo, f.verifying_ctx(None)), 30)
    f.say(err)
    h.require("CERTIFICATE_VERIFY_FAILED" in err or "certificate verify failed" in err, err)


@T.case("node-ws with ca: ca.pem round-trips through echo")
def _():
    s = setup.get()
    r = s.node(s.echo, s.ca, "node echo")
    h.require(r.returncode == 0 and r.stdout.startswith("OK messages=2"),
              f"node client failed: {r.stdout}{r.stderr}")


@T.case("node-ws with ca: ca.pem round-trips through the wss→ws proxy; the back-end got "
        "the same two messages")
def _():
    s = setup.get()
    before = len(s.backend.messages)
    r = s.node(s.proxy, s.ca, "node proxy")
    h.require(r.returncode == 0 and r.stdout.startswith("OK messages=2"),
              f"node client failed: {r.stdout}{r.stderr}")
    got = s.backend.messages[before]["messages"]
    binary = bytes((i * 131 + 7) & 0xFF for i in range(100_000))
    h.check_equal(got, ["node proxy: héllo ✓ 🔒", binary], "messages at the back-end")


@T.case("node-ws without ca: refused on trust (certificate chain not verifiable)")
def _():
    s = setup.get()
    r = s.node(s.echo, None)
    h.require(r.returncode == 1 and r.stdout.startswith("FAIL"), f"{r.stdout}{r.stderr}")
    h.require(any(c in r.stdout for c in ("SELF_SIGNED_CERT_IN_CHAIN",
                                          "UNABLE_TO_VERIFY_LEAF_SIGNATURE",
                                          "UNABLE_TO_GET_ISSUER_CERT_LOCALLY")),
              f"not a trust error: {r.stdout}")


@T.case("curl --cacert ca.pem https://localhost:PORT/ returns data/web/index.html byte for "
        "byte; /postern-ca.pem is the CA")
def _():
    s = setup.get()
    out = os.path.join(s.dir, "index.curl")
    r = s.curl(s.page, out)
    h.require(r.returncode == 0, f"curl exited {r.returncode}: {r.stderr}")
    h.check_equal(r.stdout, "200", "HTTP status")
    with open(out, "rb") as fh:
        body = fh.read()
    want = f.index_html_bytes()
    h.check_equal(len(body), len(want), "bytes of the welcome page")
    h.require(body == want, "the page curl got differs from data/web/index.html")
    out2 = os.path.join(s.dir, "ca.curl")
    r = s.curl(s.page + "postern-ca.pem", out2)
    h.require(r.returncode == 0 and r.stdout == "200", f"curl /postern-ca.pem: {r.stdout} {r.stderr}")
    h.check_equal(p.cert_sha256(out2), p.cert_sha256(s.ca), "SHA-256 of /postern-ca.pem vs ca.pem")


@T.case("curl without --cacert: exit 60 (peer certificate cannot be authenticated)")
def _():
    s = setup.get()
    r = s.curl(s.page, os.path.join(s.dir, "none.curl"), cacert=False)
    f.say(r.stderr.strip())
    h.check_equal(r.returncode, 60, "curl's exit status")


if __name__ == "__main__":
    T.run()
