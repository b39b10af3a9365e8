#!/usr/bin/python3
# Flow 6 (issue 6, seed note on ssl.encryption): the gateway behind a TLS
# offloader.  HAProxy terminates TLS with the gateway's certificate (made by
# `postern cert generate`, handed to HAProxy as one PEM file) and forwards
# plaintext to the gateway, whose accept URLs stay wss:// and https:// (what
# clients use) with <ssl.encryption>disabled</ssl.encryption> and a
# wss.bind / https.bind on the private port.  A python3-websockets client
# to HAProxy echoes end to end, in HAProxy's mode tcp and mode http; curl
# gets the welcome page through it byte for byte.
# SPDX-License-Identifier: Apache-2.0
import asyncio
import hashlib
import os
import ssl
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib as f  # noqa: E402
from flowlib import h, p  # noqa: E402

T = h.Tap(case_timeout=90)


def haproxy_cfg(directory, name, mode, front, pem, back):
    text = f"""global
    maxconn 100
defaults
    mode {mode}
    timeout connect 5s
    timeout client 30s
    timeout server 30s
    timeout tunnel 30s
frontend fe
    bind 127.0.0.1:{front} ssl crt {pem}
    default_backend be
backend be
    server gateway 127.0.0.1:{back}
"""
    path = os.path.join(directory, f"{name}.cfg")
    with open(path, "w") as fh:
        fh.write(text)
    return path


class Setup:
    def __init__(self):
        self.dir = d = T.tmpdir("postern-flow6-")
        haproxy = h.require_tool("haproxy", "/usr/sbin/haproxy")
        f.postern(["cert", "generate", "--keystore", "keystore.db", *f.LOCAL_NAMES], d)
        f.postern(["cert", "export", "keystore.db", "localhost", "--out", "gateway.pem"], d)
        self.gateway_pem = os.path.join(d, "gateway.pem")
        # HAProxy wants the certificate and its key in one PEM file
        cert, key = f.store_to_pem("keystore.db", "keystore.pw", "chain.pem", "key.pem", d)
        self.combined = os.path.join(d, "combined.pem")
        with open(self.combined, "w") as out:
            for part in (cert, key):
                with open(part) as src:
                    out.write(src.read())
        os.chmod(self.combined, 0o600)
        self.front_tcp, self.front_http, self.back_tcp, self.back_http = h.free_ports(4)
        # Two services, one per HAProxy mode; each binds its private port
        self.urls = {}
        services = []
        for mode, front, back in (("tcp", self.front_tcp, self.back_tcp),
                                  ("http", self.front_http, self.back_http)):
            echo = f"wss://localhost:{front}/echo"
            page = f"https://localhost:{front}/"
            self.urls[mode] = (echo, page)
            services.append(h.service_xml(
                f"echo-{mode}", "echo", [echo],
                accept_options={"ssl.encryption": "disabled", "wss.bind": f"127.0.0.1:{back}"}))
            services.append(h.service_xml(
                f"welcome-{mode}", "directory", [page],
                accept_options={"ssl.encryption": "disabled", "https.bind": f"127.0.0.1:{back}"},
                properties={"directory": f.web_dir(), "welcome-file": "index.html"}))
        # no keystore: the certificate lives with the offloader
        cfg = f.config(d, services)
        r = f.postern(["check", "--config", cfg], d)
        f.say(r.stdout.strip())
        self.gw = h.start_gateway(cfg, [u for pair in self.urls.values() for u in pair],
                                  name="postern run (behind HAProxy)")
        T.add_cleanup(self.gw.kill)
        self.haproxy = {}
        for mode, front, back in (("tcp", self.front_tcp, self.back_tcp),
                                  ("http", self.front_http, self.back_http)):
            c = haproxy_cfg(d, f"haproxy-{mode}", mode, front, self.combined, back)
            r = h.run_tool([haproxy, "-c", "-f", c])
            h.require(r.returncode == 0, f"haproxy -c -f {c}:\n{r.stdout}{r.stderr}")
            proc = p.Proc([haproxy, "-db", "-f", c], f"haproxy-{mode}", d, ready_port=front)
            T.add_cleanup(proc.kill)
            self.haproxy[mode] = proc


setup = h.Fixture("gateway with ssl.encryption disabled behind HAProxy (mode tcp and http)",
                  Setup)


def through(mode):
    s = setup.get()
    echo, _ = s.urls[mode]
    front = s.front_tcp if mode == "tcp" else s.front_http
    sock = p.connected_socket(front)
    ctx = f.verifying_ctx(s.gateway_pem)
    msgs = f.payloads(f"flow6 {mode}")

    async def go():
        async with h.ws_connect(echo, ctx, sock=sock, server_hostname="localhost") as c:
            peer = c.transport.get_extra_info("ssl_object").getpeercert(binary_form=True)
            for m in msgs:
                await h.echo_once(c, m, timeout=20)
            await h.close_cleanly(c)
            return peer
    der = h.arun(go(), 40)
    h.check_equal(hashlib.sha256(der).hexdigest(), p.cert_sha256(s.gateway_pem),
                  "certificate the client saw (HAProxy's) vs the gateway's exported one")
    proc = s.haproxy[mode]
    h.require(proc.proc.poll() is None, f"haproxy ({mode}) exited:\n{proc.output()}")
    f.say(f"{len(msgs)} messages echoed through HAProxy mode {mode}")


@T.case("HAProxy mode tcp: a wss:// client verifying the gateway's certificate echoes text "
        "and binary end to end")
def _():
    through("tcp")


@T.case("HAProxy mode http: the same through HAProxy's HTTP mode (WebSocket upgrade "
        "forwarded)")
def _():
    through("http")


@T.case("curl --cacert gateway.pem https:// through HAProxy: the welcome page byte for byte")
def _():
    s = setup.get()
    curl = h.require_tool("curl")
    for mode in ("tcp", "http"):
        _, page = s.urls[mode]
        out = os.path.join(s.dir, f"page-{mode}.curl")
        r = h.run_tool([curl, "-sS", "--max-time", "15", "--cacert", s.gateway_pem, "-o", out,
                        "-w", "%{http_code}", page], timeout=30)
        h.require(r.returncode == 0 and r.stdout == "200",
                  f"curl {page} (mode {mode}): exit {r.returncode} {r.stdout} {r.stderr}")
        with open(out, "rb") as fh:
            h.require(fh.read() == f.index_html_bytes(), f"page via mode {mode} differs")


@T.case("the gateway's private port speaks plaintext: a TLS handshake on it fails, and the "
        "gateway's close line for the offloaded session shows no TLS")
def _():
    s = setup.get()
    # (the gateway waits for an HTTP request head: a ClientHello gets no
    # answer, the handshake times out or is dropped)
    raw = p.connected_socket(s.back_tcp, timeout=3)
    ctx = ssl.create_default_context(cafile=s.gateway_pem)
    try:
        with ctx.wrap_socket(raw, server_hostname="localhost") as tls:
            tls.sendall(b"x")
            raise h.Fail(f"a TLS handshake succeeded on the plaintext port ({tls.version()})")
    except (ssl.SSLError, OSError) as e:
        f.say(f"TLS on 127.0.0.1:{s.back_tcp}: {type(e).__name__}: {e}")
    lines = f.close_lines(s.gw, "echo-tcp")
    h.require(lines, "no `close echo-tcp` line")
    f.say(lines[0])
    tls = f.log_field(lines[0], "tls")
    h.require(tls in ("-", "none", "off", "disabled") or tls is None,
              f"tls= on an ssl.encryption disabled accept: {lines[0]}")


@T.case("Chromium through HAProxy (mode http): the welcome page loads over https:// and its "
        "wss:// echo check reaches data-state=\"ok\"; the browser's Origin is accepted")
def _():
    s = setup.get()
    _, page = s.urls["http"]
    home = os.path.join(s.dir, "home")
    os.makedirs(home)
    # a self-signed server certificate: a trusted peer for NSS
    f.nss_import(home, s.gateway_pem, trust="P,,")
    c = f.Chromium(home, s.dir, "chromium-offloaded")
    try:
        async def script(cdp):
            pg = await cdp.new_page()
            err = await cdp.navigate(pg, page)
            if err:
                return err, None
            deadline = time.monotonic() + 20
            st = None
            while time.monotonic() < deadline:
                st = await cdp.evaluate(pg, "(() => { const e = document.getElementById('status');"
                                            " return e ? [e.dataset.state, e.textContent] : null;"
                                            " })()")
                if st and st[0] != "pending":
                    break
                await asyncio.sleep(0.2)
            return err, st

        async def go():
            cdp = await f.Cdp.open(c.ws_url)
            try:
                return await script(cdp)
            finally:
                await cdp.close()
        err, st = h.arun(go(), 60)
    finally:
        c.close()
    h.check_equal(err, "", "Page.navigate errorText through HAProxy")
    h.require(st is not None, "no status element on the page")
    f.say(f"status: {st[0]} — {st[1]}")
    h.check_equal(st[0], "ok", f"data-state ({st[1]})")


if __name__ == "__main__":
    T.run()
