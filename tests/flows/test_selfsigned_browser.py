#!/usr/bin/python3
# Flow 1 (issue 6, p_tls_selfsigned.md + p_tls_clientapp.md "web browser"):
# a self-signed gateway certificate made by `postern cert generate`, the
# welcome page over https://, echo and a wss→ssl proxy over wss:// on the
# same port.  Headless Chromium first refuses the certificate
# (ERR_CERT_AUTHORITY_INVALID); once the certificate exported with
# `postern cert export` is in the profile's NSS database (certutil), the page
# loads, its script's echo check reaches data-state="ok", and scripts run in
# the page round-trip text and binary through echo and the proxy.
# SPDX-License-Identifier: Apache-2.0
import base64
import hashlib
import json
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib as f  # noqa: E402
from flowlib import h, p  # noqa: E402

T = h.Tap(case_timeout=120)
BIN_SIZE = 200_000


def binary_payload():
    return bytes(((i * 31) + (i >> 8)) & 0xFF for i in range(BIN_SIZE))


TEXT = "self-signed flow: héllo ✓ 🔒"

# JavaScript run in the loaded page: open URL, send TEXT then the binary
# payload, collect everything that comes back; resolve with the messages
# (type + base64) or the close code.  `want` is how many bytes to wait for.
JS_ROUNDTRIP = r"""
(async () => {
  const url = %(url)s, text = %(text)s, size = %(size)d, want = %(want)d;
  const bin = new Uint8Array(size);
  for (let i = 0; i < size; i++) bin[i] = ((i * 31) + (i >> 8)) & 0xff;
  function b64(u8) {
    let s = '';
    for (let i = 0; i < u8.length; i += 0x8000)
      s += String.fromCharCode.apply(null, u8.subarray(i, i + 0x8000));
    return btoa(s);
  }
  return await new Promise((resolve) => {
    const got = [];
    let n = 0, done = false;
    const finish = (r) => { if (!done) { done = true; resolve(r); } };
    const ws = new WebSocket(url);
    ws.binaryType = 'arraybuffer';
    ws.onopen = () => { ws.send(text); ws.send(bin); };
    ws.onmessage = (e) => {
      if (typeof e.data === 'string') {
        got.push({type: 'text', data: e.data});
        n += new TextEncoder().encode(e.data).length;
      } else {
        const u8 = new Uint8Array(e.data);
        got.push({type: 'binary', data: b64(u8)});
        n += u8.length;
      }
      if (n >= want) { ws.onclose = null; ws.close(1000, 'done'); finish({ok: true, got}); }
    };
    ws.onclose = (e) => finish({ok: false, code: e.code, reason: e.reason, n});
    setTimeout(() => finish({ok: false, timeout: true, n}), 20000);
  });
})()
"""


class Setup:
    def __init__(self):
        self.dir = T.tmpdir("postern-flow1-")
        self.home = os.path.join(self.dir, "home")
        os.makedirs(self.home)
        d = self.dir
        # The gateway's self-signed certificate (docs: keytool -genkeypair)
        f.postern(["cert", "generate", "--keystore", "keystore.db", *f.LOCAL_NAMES], d)
        # …exported for the browser (docs: keytool -exportcert)
        f.postern(["cert", "export", "keystore.db", "localhost", "--out", "gateway.pem",
                   "--format", "pem"], d)
        # The back-end's own self-signed certificate, trusted by the gateway
        f.postern(["cert", "generate", "--keystore", "backend.p12", "localhost"], d)
        f.postern(["cert", "export", "backend.p12", "localhost", "--out", "backend.pem"], d)
        f.postern(["cert", "import", "truststore.db", "backend.pem", "--alias", "backend"], d)
        cert, key = f.store_to_pem("backend.p12", "backend.pw", "backend-chain.pem",
                                   "backend-key.pem", d)
        self.backend = p.Server("tls-echo", p.echo_handler, ssl_ctx=f.backend_tls_ctx(cert, key))
        T.add_cleanup(self.backend.close)
        self.port = h.free_port()
        base = f"localhost:{self.port}"
        self.page = f"https://{base}/"
        self.echo = f"wss://{base}/echo"
        self.proxy = f"wss://{base}/backend"
        cfg = f.config(d, [
            h.service_xml("echo", "echo", [self.echo]),
            f.directory_service("welcome", [self.page]),
            h.service_xml("backend", "proxy", [self.proxy],
                          connects=[f"ssl://localhost:{self.backend.port}"]),
        ], keystore=("keystore.db", "keystore.pw"), truststore=("truststore.db", "truststore.pw"))
        r = f.postern(["check", "--config", cfg], d)
        f.say(r.stdout.strip())
        self.gw = h.start_gateway(cfg, [self.echo, self.page, self.proxy],
                                  name="postern run (self-signed)")
        T.add_cleanup(self.gw.kill)


setup = h.Fixture("self-signed keystore, ssl back-end, gateway", Setup)


def browse(chromium, script):
    async def go():
        cdp = await f.Cdp.open(chromium.ws_url)
        try:
            return await script(cdp)
        finally:
            await cdp.close()
    return h.arun(go(), 90)


@T.case("postern cert: keystore.db holds a key entry for localhost with its SANs; "
        "truststore.db trusts the back-end's certificate")
def _():
    s = setup.get()
    rows = f.cert_entries("keystore.db", s.dir)
    h.check_equal([(r["alias"], r["kind"]) for r in rows], [("localhost", "key")],
                  "keystore.db entries")
    for name in ("DNS:localhost", "IP:127.0.0.1"):
        h.require(name in rows[0]["names"], f"{name} not in the SANs: {rows[0]['line']}")
    rows = f.cert_entries("truststore.db", s.dir)
    h.check_equal([(r["alias"], r["kind"]) for r in rows], [("backend", "trusted")],
                  "truststore.db entries")


@T.case("Chromium with a fresh profile refuses the self-signed certificate: "
        "net::ERR_CERT_AUTHORITY_INVALID, and no welcome page")
def _():
    s = setup.get()
    c = f.Chromium(s.home, s.dir, "chromium-untrusted")
    try:
        async def script(cdp):
            page = await cdp.new_page()
            t0 = time.monotonic()
            err = await cdp.navigate(page, s.page)
            status = await cdp.evaluate(
                page, "(() => { const e = document.getElementById('status');"
                      " return e ? e.dataset.state : null; })()")
            return err, status, time.monotonic() - t0
        err, status, took = browse(c, script)
    finally:
        c.close()
    f.say(f"navigation error: {err!r} ({took:.2f} s)")
    h.check_equal(err, "net::ERR_CERT_AUTHORITY_INVALID", "Page.navigate errorText")
    h.check_equal(status, None, "the welcome page's status element on the error page")


class Trusted:
    """The exported certificate imported into HOME/.pki/nssdb, then a new
    Chromium with the page loaded."""

    def __init__(self):
        s = setup.get()
        # Trusted as a peer ("P", a server certificate); case 8 checks the
        # welcome page's "import as an authority" advice ("C").
        f.nss_import(s.home, os.path.join(s.dir, "gateway.pem"), trust="P,,")
        self.chromium = f.Chromium(s.home, s.dir, "chromium-trusted")
        T.add_cleanup(self.chromium.close)


trusted = h.Fixture("gateway.pem in the profile's NSS database (certutil -A -t P,,)", Trusted)


@T.case("after certutil imports the exported certificate, Chromium loads the page over "
        "https:// and its script's echo check reaches data-state=\"ok\"")
def _():
    s = setup.get()
    c = trusted.get().chromium

    async def script(cdp):
        page = await cdp.new_page()
        err = await cdp.navigate(page, s.page)
        if err:
            return err, None, None, None
        deadline = time.monotonic() + 30
        state = None
        while time.monotonic() < deadline:
            state = await cdp.evaluate(
                page, "JSON.stringify((() => { const e = document.getElementById('status');"
                      " return e ? [e.dataset.state, e.dataset.rttMs || null, e.textContent,"
                      " document.getElementById('echo-url').textContent] : null; })())")
            if state and '"pending"' not in state:
                break
            await __import__("asyncio").sleep(0.2)
        html = await cdp.evaluate(page, "document.documentElement.outerHTML.length")
        return err, state, html, None
    err, state, html_len, _ = browse(c, script)
    h.check_equal(err, "", "Page.navigate errorText after the import")
    h.require(state is not None, "no <output id=\"status\"> in the loaded page")

    st, rtt, text, echo_url = json.loads(state)
    f.say(f"status: {st} rtt={rtt} ms — {text} (echo URL {echo_url})")
    h.check_equal(st, "ok", f"data-state of the status element ({text})")
    h.require(rtt is not None, "no data-rtt-ms once the check said ok")
    h.check_equal(echo_url, s.echo, "the echo URL the page used")


@T.case("scripts in the trusted page round-trip text and 200 kB binary through "
        "wss:// echo (types and bytes equal)")
def _():
    s = setup.get()
    c = trusted.get().chromium
    want = len(TEXT.encode()) + BIN_SIZE
    res = page_roundtrip(c, s, s.echo, want)
    h.require(res.get("ok"), f"round trip through echo failed in the browser: {res}")
    got = res["got"]
    h.check_equal([m["type"] for m in got], ["text", "binary"], "message types echoed")
    h.check_equal(got[0]["data"], TEXT, "text echoed")
    h.require(base64.b64decode(got[1]["data"]) == binary_payload(),
              "binary echo differs from what the page sent")


@T.case("scripts in the trusted page round-trip through the wss→ssl proxy: the "
        "back-end (self-signed, in truststore.db) got and returned the exact bytes")
def _():
    s = setup.get()
    c = trusted.get().chromium
    before = len(s.backend.records)
    sent = TEXT.encode() + binary_payload()
    res = page_roundtrip(c, s, s.proxy, len(sent))
    h.require(res.get("ok"), f"round trip through the proxy failed in the browser: {res}; "
                             f"back-end records: {s.backend.describe()}")
    back = b"".join(m["data"].encode() if m["type"] == "text" else
                    base64.b64decode(m["data"]) for m in res["got"])
    h.check_equal(len(back), len(sent), "bytes back in the browser")
    h.require(back == sent, "bytes back through the proxy differ from bytes sent")
    recs = s.backend.wait_records(before + 1, 15)
    rec = recs[before]
    h.require(rec["error"] is None, f"back-end error: {rec['error']}")
    h.check_equal(rec["in"], len(sent), "bytes the back-end received")
    h.check_equal(rec["sha256"], hashlib.sha256(sent).hexdigest(),
                  "SHA-256 of what the back-end received")
    line = p.wait_log(s.gw, lambda l: " close backend " in l, 10, "`close backend …`")
    f.say(line)


@T.case("the page's /postern-ca.pem (top of the chain) is the exported certificate, "
        "fetched by the trusted browser")
def _():
    s = setup.get()
    c = trusted.get().chromium

    async def script(cdp):
        page = await cdp.new_page()
        err = await cdp.navigate(page, s.page)
        if err:
            return err
        return await cdp.evaluate(page, "fetch('/postern-ca.pem').then(r => r.ok ? r.text()"
                                        " : 'HTTP ' + r.status)", await_promise=True)
    text = browse(c, script)
    with open(os.path.join(s.dir, "gateway.pem")) as fh:
        exported = fh.read()
    h.require("BEGIN CERTIFICATE" in (text or ""), f"/postern-ca.pem: {text!r}")
    h.check_equal(p.pem_sha256(text), p.pem_sha256(exported),
                  "SHA-256 of /postern-ca.pem vs postern cert export")


def page_roundtrip(c, s, url, want):


    async def script(cdp):
        page = await cdp.new_page()
        err = await cdp.navigate(page, s.page)
        if err:
            return {"ok": False, "navigate": err}
        js = JS_ROUNDTRIP % {"url": json.dumps(url), "text": json.dumps(TEXT),
                             "size": BIN_SIZE, "want": want}
        return await cdp.evaluate(page, js, await_promise=True, timeout=40)
    return browse(c, script)


@T.case("the gateway logged the browser's connections: TLS, SNI localhost, code 1000")
def _():
    s = setup.get()
    trusted.get()
    lines = f.close_lines(s.gw, "echo")
    h.require(lines, "no `close echo` line in the gateway log")
    for l in lines:
        f.say(l)
    h.require(all("tls=TLS" in l and "sni=localhost" in l for l in lines),
              "a close line without tls=TLS… sni=localhost")
    h.require(any(f.log_field(l, "code") == "1000" for l in lines),
              "no close line with code=1000 (the page closes with 1000)")


@T.case("the welcome page's advice holds for a self-signed gateway: /postern-ca.pem "
        "imported as an authority (certutil -t C,,, i.e. Chromium's Authorities → Import) "
        "makes Chromium load the page")
def _():
    # The page tells people to import /postern-ca.pem under "Authorities";
    # for a `postern cert generate` self-signed store that file is the
    # server certificate itself, so it must be usable as an authority.
    s = setup.get()
    home = os.path.join(s.dir, "home-authority")
    os.makedirs(home)
    served = os.path.join(s.dir, "served-ca.pem")
    r = h.run_checked([h.require_tool("curl"), "-sS", "--max-time", "10", "--cacert",
                       os.path.join(s.dir, "gateway.pem"), "-o", served,
                       s.page + "postern-ca.pem"])
    f.nss_import(home, served, trust="C,,")
    c = f.Chromium(home, s.dir, "chromium-authority")
    try:
        async def script(cdp):
            page = await cdp.new_page()
            return await cdp.navigate(page, s.page)
        err = browse(c, script)
    finally:
        c.close()
    h.check_equal(err, "", "Page.navigate errorText with /postern-ca.pem trusted as an "
                           "authority (a CA:FALSE self-signed certificate would give "
                           "net::ERR_CERT_INVALID)")


if __name__ == "__main__":
    T.run()
