#!/usr/bin/python3
# test_foundation.py: issue 2's end-to-end tests — `postern run` serving echo
# over ws:// and wss:// to real clients that verify the certificate, and
# `postern run` refusing bad input with exit 1 and one clear line.
# SPDX-License-Identifier: Apache-2.0
import asyncio
import contextlib
import json
import os
import re
import signal
import ssl
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import harness as h  # noqa: E402

T = h.Tap(case_timeout=60)

NODE = "/usr/bin/node"
NODE_WS = "/usr/share/nodejs/ws"
ONE_MIB = 1 << 20
# Kaazing documents a 128k default for ws.maximum.message.size; issue 2 wants
# a 1 MiB message echoed, so the test config sets the limit explicitly.
ECHO_OPTIONS = {"ws.maximum.message.size": "4m"}


class Setup:
    """Temp folder, a fresh CA + server certificate in keystore.db, free
    ports, and the echo config."""

    def __init__(self):
        self.dir = T.tmpdir()
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=self.pki)
        self.ws_port, self.wss_port = h.free_ports(2)
        self.config, self.urls = h.echo_config(
            self.dir, self.keystore, ws_port=self.ws_port, wss_port=self.wss_port,
            accept_options=ECHO_OPTIONS)
        self.ws_url = f"ws://localhost:{self.ws_port}/echo"
        self.wss_url = f"wss://localhost:{self.wss_port}/echo"
        self.ca = self.keystore.trust_pem

    def ctx(self):
        return h.client_ssl_context(cafile=self.ca)


setup = h.Fixture("CA, keystore and config", Setup)


def start():
    s = setup.get()
    return h.start_gateway(s.config, s.urls, name="postern run (echo)")


gateway = h.Fixture("postern run on the echo config", start)


def url_of(scheme):
    s = setup.get()
    gateway.get()
    return s.ws_url if scheme == "ws" else s.wss_url


# --------------------------------------------------------------------------
# before the gateway runs


@T.case("postern check on the good config exits 0 with no error or warning")
def _():
    s = setup.get()
    r = h.run_postern(["check", "--config", s.config], timeout=30)
    h.require(r.returncode == 0,
              f"postern check exited {r.returncode}:\n{r.stdout}{r.stderr}")
    h.require(not re.search(r": (error|warning):", r.stdout + r.stderr),
              f"postern check printed a diagnostic:\n{r.stdout}{r.stderr}")


# --------------------------------------------------------------------------
# the running gateway


@T.case("postern run prints one 'listening on' line per accept URL within 10 s")
def _():
    gw = gateway.get()
    h.check_equal(len(gw.listening_urls()), len(setup.get().urls),
                  "number of 'listening on' lines")


@T.case("the 'listening on' lines name the accept URLs")
def _():
    gw = gateway.get()
    h.check_equal(sorted(gw.listening_urls()), sorted(setup.get().urls),
                  "URLs printed after 'listening on'")


def text_echo(scheme):
    s = setup.get()
    url = url_of(scheme)

    async def go():
        async with h.ws_connect(url, s.ctx()) as c:
            await h.echo_once(c, "hello, postern")
            await h.echo_once(c, "ünïcødé ✓ — 𝄞 " + "x" * 1000)
            await h.echo_once(c, "")
            await h.close_cleanly(c)
    h.arun(go(), 30)


def binary_echo(scheme):
    s = setup.get()
    url = url_of(scheme)
    payload = os.urandom(ONE_MIB)

    async def go():
        async with h.ws_connect(url, s.ctx()) as c:
            await h.echo_once(c, payload, timeout=20)
            await h.echo_once(c, b"\x00\xff" * 3)
            await h.close_cleanly(c)
    h.arun(go(), 40)


def ping_pong(scheme):
    s = setup.get()
    url = url_of(scheme)

    async def go():
        async with h.ws_connect(url, s.ctx()) as c:
            for data in (b"", b"postern-ping", os.urandom(125)):
                waiter = await c.ping(data)
                try:
                    await asyncio.wait_for(waiter, 5)
                except asyncio.TimeoutError:
                    raise h.Fail(f"no pong for ping {data!r} within 5 s") from None
            # the session still echoes after the pings
            await h.echo_once(c, "after ping")
            await h.close_cleanly(c)
    h.arun(go(), 30)


def clean_close(scheme):
    s = setup.get()
    url = url_of(scheme)

    async def go():
        c = await h.ws_connect(url, s.ctx())
        try:
            await h.echo_once(c, "about to close")
            await h.close_cleanly(c)
            h.check_equal(c.close_code, 1000, "close code of the connection")
        finally:
            await c.close()
    h.arun(go(), 30)


for scheme in ("wss", "ws"):
    how = ("verifying the certificate against the CA" if scheme == "wss"
           else "plain")
    T.case(f"{scheme}://: text messages echoed exactly ({how})")(
        lambda scheme=scheme: text_echo(scheme))
    T.case(f"{scheme}://: a 1 MiB random binary message echoed byte-exactly")(
        lambda scheme=scheme: binary_echo(scheme))
    T.case(f"{scheme}://: pings get pongs")(lambda scheme=scheme: ping_pong(scheme))
    T.case(f"{scheme}://: close 1000 answered with close 1000 from the server")(
        lambda scheme=scheme: clean_close(scheme))


def echo_by_address(host):
    s = setup.get()
    gateway.get()
    url = f"wss://{host}:{s.wss_port}/echo"

    async def go():
        async with h.ws_connect(url, s.ctx()) as c:
            await h.echo_once(c, f"by address {host}")
            await h.close_cleanly(c)
    h.arun(go(), 30)


@T.case("wss://127.0.0.1 (IP SAN, no SNI) echoes with a verified certificate")
def _():
    echo_by_address("127.0.0.1")


@T.case("wss://[::1] (accept host localhost, IPv6 SAN) echoes with a verified certificate")
def _():
    echo_by_address("[::1]")


class LoggedSession:
    """One wss session with known traffic, and the gateway's log lines that
    name its client address (DESIGN.md, Logging: a line at open and at close
    with the client address, TLS details, bytes each way and close code)."""

    def __init__(self):
        s = setup.get()
        gw = gateway.get()

        async def go():
            async with h.ws_connect(url_of("wss"), s.ctx()) as c:
                port = c.local_address[1]
                await h.echo_once(c, "x" * 1000)
                await h.close_cleanly(c)
                return port
        self.port = h.arun(go(), 30)
        mine = re.compile(rf"(127\.0\.0\.1|localhost|::1\]?):{self.port}\b")
        # the close line is written when the gateway has closed: bounded wait
        gw.wait_stderr(lambda l: mine.search(l) and "1000" in l, 3.0)
        self.lines = [l for l in gw.stderr if mine.search(l)]
        self.all = gw.stderr

    def show(self):
        return "lines naming the client:\n" + "\n".join(self.lines or ["(none)"]) + \
            "\nlast log lines:\n" + "\n".join(self.all[-5:])


logged = h.Fixture("a logged wss session", LoggedSession)


@T.case("connection log: a line names the client address and close code 1000")
def _():
    s = logged.get()
    h.require(any("1000" in l for l in s.lines), s.show())


@T.case("connection log: the close line counts the bytes each way (not 0)")
def _():
    s = logged.get()
    h.require(any("1000" in l and not re.search(r"\b(in|out)=0\b", l) for l in s.lines),
              s.show())


@T.case("connection log: one line at open and one at close (DESIGN.md, Logging)")
def _():
    s = logged.get()
    h.require(len(s.lines) >= 2, s.show())


def expect_untrusted(ctx, what):
    url = url_of("wss")

    async def go():
        try:
            async with h.ws_connect(url, ctx) as c:
                await c.close()
        except ssl.SSLCertVerificationError as e:
            return e
        raise h.Fail(f"{what}: the connection succeeded; expected "
                     "ssl.SSLCertVerificationError")
    err = h.arun(go(), 20)
    h.require(re.search(r"certificate verify failed: (unable to get local issuer"
                        r"|self[- ]signed certificate)", str(err)),
              f"refused, but not because the issuer is unknown: {err}")


@T.case("a client trusting only the system CAs is refused (SSLCertVerificationError)")
def _():
    expect_untrusted(h.client_ssl_context(), "system CAs only")


@T.case("a client trusting another CA is refused (SSLCertVerificationError)")
def _():
    other = h.Pki(os.path.join(setup.get().dir, "other-pki"), "Some Other CA")
    expect_untrusted(h.client_ssl_context(cafile=other.ca.cert), "another CA")


@T.case("the gateway still echoes after refused handshakes")
def _():
    text_echo("wss")


NODE_CLIENT = r"""
const WebSocket = require(process.argv[2]);
const fs = require('fs');
const crypto = require('crypto');
const [url, caFile] = process.argv.slice(3);
const result = { steps: [] };
const done = (code) => { clearTimeout(timer); console.log(JSON.stringify(result)); process.exit(code); };
const timer = setTimeout(() => { result.error = 'timeout after 20 s'; done(3); }, 20000);
const opts = caFile ? { ca: fs.readFileSync(caFile) } : {};
const ws = new WebSocket(url, opts);
const text = 'hello from node-ws ' + crypto.randomBytes(8).toString('hex');
const bin = crypto.randomBytes(256 * 1024);
let step = 0;
ws.on('open', () => { result.steps.push('open'); ws.send(text); });
ws.on('message', (data, isBinary) => {
  if (step === 0) {
    result.text = !isBinary && data.toString('utf8') === text;
    step = 1;
    ws.send(bin);
  } else if (step === 1) {
    result.binary = isBinary && Buffer.compare(Buffer.from(data), bin) === 0;
    result.binaryLength = data.length;
    step = 2;
    ws.close(1000, 'done');
  }
});
ws.on('close', (code, reason) => { result.closeCode = code; done(0); });
ws.on('error', (e) => { result.error = String(e); result.errorCode = e.code; done(2); });
"""


def run_node(url, ca):
    node = h.require_tool("node", NODE)
    h.require(os.path.isfile(os.path.join(NODE_WS, "index.js")),
              f"node-ws not found at {NODE_WS}; install Debian's node-ws")
    script = os.path.join(setup.get().dir, "node-client.js")
    with open(script, "w") as f:
        f.write(NODE_CLIENT)
    argv = [node, script, NODE_WS, url] + ([ca] if ca else [])
    r = h.run_tool(argv, timeout=30)
    try:
        return r.returncode, json.loads(r.stdout.strip().splitlines()[-1])
    except (ValueError, IndexError):
        raise h.Fail(f"node client exited {r.returncode} without a JSON result:\n"
                     f"{r.stdout}{r.stderr}")


@T.case("node-ws over wss:// with ca: echoes text and 256 KiB binary, closes 1000")
def _():
    s = setup.get()
    rc, res = run_node(url_of("wss"), s.ca)
    h.require(rc == 0 and "error" not in res, f"node client failed: {res}")
    h.require(res.get("text") is True, f"text echo wrong: {res}")
    h.require(res.get("binary") is True, f"binary echo wrong: {res}")
    h.check_equal(res.get("closeCode"), 1000, "close code seen by node-ws")


@T.case("node-ws over wss:// without the CA is refused")
def _():
    rc, res = run_node(url_of("wss"), None)
    h.require(rc == 2 and "error" in res, f"node client was not refused: {res}")
    h.require(res.get("errorCode") in ("UNABLE_TO_VERIFY_LEAF_SIGNATURE",
                                       "SELF_SIGNED_CERT_IN_CHAIN",
                                       "UNABLE_TO_GET_ISSUER_CERT_LOCALLY",
                                       "DEPTH_ZERO_SELF_SIGNED_CERT"),
              f"refused, but not for trust: {res}")


@T.case("SIGTERM stops postern run with exit 0 within 5 s")
def _():
    gw = gateway.get()
    took = gw.stop()
    h._diag(f"stopped in {took:.2f} s")


@T.case("after the stop, both ports are free again")
def _():
    s = setup.get()
    h.require(not gateway.get().running(), "gateway is still running")
    for port in (s.ws_port, s.wss_port):
        for host in ("127.0.0.1", "::1"):
            h.require(h.port_is_free(port, host), f"{host} port {port} is still bound")


def echo_with_postern_keystore(signed_by_ca):
    """A keystore made by `postern cert generate` (self-signed, or signed by
    a CA store given with --ca) serves wss:// to a verifying client."""
    s = setup.get()
    d = os.path.join(s.dir, "postern-ca" if signed_by_ca else "postern-self-signed")
    os.makedirs(d)
    pki = h.Pki(os.path.join(d, "pki"), "Postern E2E CA for cert generate") if signed_by_ca else None
    ks = h.make_keystore(d, pki=pki, method="postern")
    ws_port, wss_port = h.free_ports(2)
    config, urls = h.echo_config(d, ks, ws_port=ws_port, wss_port=wss_port)
    with h.start_gateway(config, urls, name="postern run (postern-made keystore)") as gw:
        ctx = h.client_ssl_context(cafile=ks.trust_pem)

        async def go():
            for host in ("localhost", "127.0.0.1", "[::1]"):
                async with h.ws_connect(f"wss://{host}:{wss_port}/echo", ctx) as c:
                    await h.echo_once(c, f"postern-made certificate via {host}")
                    await h.echo_once(c, os.urandom(70000))
                    await h.close_cleanly(c)
        h.arun(go(), 30)
        gw.stop()


@T.case("a keystore from 'postern cert generate' (self-signed) serves wss:// to a "
        "client trusting its 'postern cert export' PEM (localhost, 127.0.0.1, ::1)")
def _():
    echo_with_postern_keystore(signed_by_ca=False)


@T.case("a keystore from 'postern cert generate --ca' serves wss:// to a client "
        "trusting the CA (localhost, 127.0.0.1, ::1)")
def _():
    echo_with_postern_keystore(signed_by_ca=True)


class Reload:
    """SIGHUP (the contract: reloads config and certificates).  A session is
    open on the first certificate (CA 1); the keystore is replaced by one
    from CA 2 and the config gains a second echo path; then SIGHUP."""

    def __init__(self):
        s = setup.get()
        self.dir = os.path.join(s.dir, "reload")
        os.makedirs(self.dir)
        self.pki1 = h.Pki(os.path.join(self.dir, "pki1"), "Reload CA 1")
        self.pki2 = h.Pki(os.path.join(self.dir, "pki2"), "Reload CA 2")
        ks = h.make_keystore(self.dir, pki=self.pki1, method="openssl")
        self.ws_port, self.wss_port = h.free_ports(2)
        self.config, urls = h.echo_config(self.dir, ks, ws_port=self.ws_port,
                                          wss_port=self.wss_port)
        self.gw = h.start_gateway(self.config, urls, name="postern run (reload)")
        self.url = f"wss://localhost:{self.wss_port}"
        self.ctx1 = h.client_ssl_context(cafile=self.pki1.ca.cert)
        self.ctx2 = h.client_ssl_context(cafile=self.pki2.ca.cert)
        self.loop = asyncio.new_event_loop()
        T.add_cleanup(self.close)
        self.session = self.run(self.open_session())
        self.run(h.echo_once(self.session, "before the reload"))

    async def open_session(self):
        return await h.ws_connect(f"{self.url}/echo", self.ctx1)

    def run(self, coro, timeout=20):
        try:
            return self.loop.run_until_complete(asyncio.wait_for(coro, timeout))
        except asyncio.TimeoutError:
            raise h.Fail(f"timed out after {timeout} s") from None

    def replace_files(self):
        # new keystore (CA 2) and a second echo path, each written atomically
        leaf = self.pki2.leaf("localhost", h.LOCAL_SANS, stem="localhost-reload")
        tmp_store = os.path.join(self.dir, "new-keystore.db")
        tmp_pw = os.path.join(self.dir, "new-keystore.pw")
        self.pki2.pkcs12(leaf, tmp_store, password_file=tmp_pw)
        os.replace(tmp_pw, os.path.join(self.dir, "keystore.pw"))
        os.replace(tmp_store, os.path.join(self.dir, "keystore.db"))
        text = h.config_xml([h.service_xml("echo", "echo", [
            f"ws://localhost:{self.ws_port}/echo", f"{self.url}/echo",
            f"ws://localhost:{self.ws_port}/echo2", f"{self.url}/echo2"])],
            keystore=("keystore.db", "keystore.pw"))
        h.write_config(self.dir, text, "new-config.xml")
        os.replace(os.path.join(self.dir, "new-config.xml"), self.config)

    async def try_echo(self, path, ctx, text="hello"):
        async with h.ws_connect(f"{self.url}{path}", ctx) as c:
            await h.echo_once(c, text)
            await h.close_cleanly(c)

    def wait_new_certificate(self, timeout=10.0):
        """Poll (bounded) until a client trusting CA 2 gets through."""
        deadline = time.monotonic() + timeout
        last = None
        while time.monotonic() < deadline:
            try:
                self.run(self.try_echo("/echo", self.ctx2), 5)
                return
            except (ssl.SSLError, OSError, h.Fail) as e:
                last = e
            time.sleep(0.2)
        raise h.Fail(f"{timeout:g} s after SIGHUP, a client trusting the new CA still "
                     f"fails: {last!r}")

    def close(self):
        with contextlib.suppress(Exception):
            self.run(self.session.close(), 5)
        self.loop.close()
        self.gw.kill()


reload_fx = h.Fixture("gateway for the SIGHUP reload", Reload)


@T.case("SIGHUP: new connections get the new keystore's certificate")
def _():
    r = reload_fx.get()
    r.replace_files()
    r.gw.signal(signal.SIGHUP)
    r.wait_new_certificate()


@T.case("SIGHUP: a client trusting only the old CA is refused afterwards")
def _():
    r = reload_fx.get()
    try:
        r.run(r.try_echo("/echo", r.ctx1), 10)
    except ssl.SSLCertVerificationError:
        return
    raise h.Fail("a client trusting only the old CA still got through after the reload")


@T.case("SIGHUP: the reloaded config's new path /echo2 is served")
def _():
    r = reload_fx.get()
    r.run(r.try_echo("/echo2", r.ctx2), 10)


@T.case("SIGHUP: the session opened before the reload keeps echoing")
def _():
    r = reload_fx.get()
    r.run(h.echo_once(r.session, "after the reload"))
    r.run(h.echo_once(r.session, os.urandom(200000)))


@T.case("SIGHUP with a broken config: still running, still serving the previous one")
def _():
    r = reload_fx.get()
    with open(r.config, "w") as f:
        f.write("<gateway-config><service>\n")
    r.gw.signal(signal.SIGHUP)
    time.sleep(1.0)
    h.require(r.gw.running(), "the gateway exited after a SIGHUP with a broken config")
    r.run(r.try_echo("/echo2", r.ctx2), 10)
    r.run(h.echo_once(r.session, "after the failed reload"))


@T.case("after the reloads: close 1000 answered, SIGTERM exits 0 within 5 s")
def _():
    r = reload_fx.get()
    r.run(h.close_cleanly(r.session))
    r.gw.stop()


def stop_right_after_listening(sig, rounds=5):
    """The contract: once the 'listening on' lines are out, SIGINT/SIGTERM
    stop the gateway cleanly -- also when sent at once (as a script or a
    service manager may do).  Several rounds, since a handler installed
    after the lines are printed loses only some of the races."""
    s = setup.get()
    outcomes = []
    for i in range(rounds):
        d = os.path.join(s.dir, f"{sig.name.lower()}-{i}")
        os.makedirs(d)
        ws_port, wss_port = h.free_ports(2)
        config, urls = h.echo_config(d, s.keystore, ws_port=ws_port, wss_port=wss_port)
        with h.start_gateway(config, urls, name=f"postern run ({sig.name} {i})") as gw:
            gw.signal(sig)
            rc = gw.wait_exit(h.STOP_TIMEOUT)
            outcomes.append("still running" if rc is None
                            else f"killed by signal {-rc}" if rc < 0 else f"exit {rc}")
    h.require(all(o == "exit 0" for o in outcomes),
              f"{sig.name} sent right after the 'listening on' lines, {rounds} rounds: "
              f"{', '.join(outcomes)} (expected exit 0 each time)")


@T.case("SIGINT right after the 'listening on' lines: exit 0 within 5 s (5 rounds)")
def _():
    stop_right_after_listening(signal.SIGINT)


@T.case("SIGTERM right after the 'listening on' lines: exit 0 within 5 s (5 rounds)")
def _():
    stop_right_after_listening(signal.SIGTERM)


# --------------------------------------------------------------------------
# bad input: exit 1, one clear line naming the file, nothing bound


class BadRun:
    """Run `postern run` on a broken config and record what happened."""

    def __init__(self, kind):
        s = setup.get()
        self.kind = kind
        self.dir = os.path.join(s.dir, f"bad-{kind}")
        os.makedirs(self.dir)
        self.ws_port, self.wss_port = h.free_ports(2)
        store = os.path.join(self.dir, "keystore.db")
        pwfile = os.path.join(self.dir, "keystore.pw")
        leaf = s.pki.leaf("localhost", h.LOCAL_SANS, stem=f"localhost-{kind}")
        if kind == "wrong-password":
            s.pki.pkcs12(leaf, store, password_file=pwfile)
            h.write_secret(pwfile, "not-the-password\n")
            self.names = ["keystore.db", "keystore.pw"]
        elif kind == "missing-keystore":
            h.write_secret(pwfile, "whatever\n")
            self.names = ["keystore.db"]
        elif kind == "expired-certificate":
            s.pki.pkcs12(s.pki.expired(), store, password_file=pwfile)
            self.names = ["keystore.db"]
        elif kind == "wrong-host-certificate":
            s.pki.pkcs12(s.pki.wrong_host(), store, password_file=pwfile)
            self.names = ["keystore.db"]
        else:
            s.pki.pkcs12(leaf, store, password_file=pwfile)
            self.names = ["gateway-config.xml"]
        ks = h.Keystore(store, pwfile, s.ca, "openssl")
        self.config, _ = h.echo_config(self.dir, ks, ws_port=self.ws_port,
                                       wss_port=self.wss_port)
        if kind == "malformed-config":
            text = open(self.config).read()
            cut = text.index("</accept>") + len("</accept>")
            with open(self.config, "w") as f:
                f.write(text[:cut] + "\n    <type>echo</type\n")  # truncated, bad tag
        gw = h.Gateway(self.config, name=f"postern run ({kind})").start()
        t0 = time.monotonic()
        try:
            self.rc = gw.wait_exit(h.BAD_CONFIG_TIMEOUT)
            self.took = time.monotonic() - t0
        finally:
            gw.kill()
        self.stdout, self.stderr = gw.stdout, gw.stderr

    def show(self):
        return (f"exit {self.rc} after {self.took:.2f} s\n"
                + "".join(f"stdout| {l}\n" for l in self.stdout)
                + "".join(f"stderr| {l}\n" for l in self.stderr))


BAD = {
    "malformed-config": "a malformed config",
    "wrong-password": "a wrong keystore password",
    "missing-keystore": "a missing keystore",
    "expired-certificate": "an expired keystore certificate",
    "wrong-host-certificate": "a keystore with no certificate for the accept host",
}
bad_runs = {k: h.Fixture(f"postern run with {v}", lambda k=k: BadRun(k)) for k, v in BAD.items()}


def bad_exit(kind):
    b = bad_runs[kind].get()
    h.require(b.rc is not None,
              f"still running {h.BAD_CONFIG_TIMEOUT} s after start (killed)\n{b.show()}")
    h.require(b.rc == 1, f"expected exit 1\n{b.show()}")


def bad_message(kind):
    b = bad_runs[kind].get()
    lines = [l for l in b.stderr if l.strip()]
    h.require(len(lines) == 1, f"expected exactly one line on stderr, got "
                               f"{len(lines)}\n{b.show()}")
    h.require(any(n in lines[0] for n in b.names),
              f"the line does not name {' or '.join(b.names)}\n{b.show()}")
    if kind == "wrong-password":
        h.require(re.search(r"password", lines[0], re.I),
                  f"the line does not say the password is wrong\n{b.show()}")


def bad_binds_nothing(kind):
    b = bad_runs[kind].get()
    h.require(not any(l.startswith("listening on") for l in b.stdout),
              f"printed 'listening on'\n{b.show()}")
    for port in (b.ws_port, b.wss_port):
        for host in ("127.0.0.1", "::1"):
            h.require(h.port_is_free(port, host),
                      f"{host} port {port} is bound after the failed start\n{b.show()}")


for kind, what in BAD.items():
    T.case(f"{what}: postern run exits 1 within {h.BAD_CONFIG_TIMEOUT:g} s")(
        lambda kind=kind: bad_exit(kind))
    T.case(f"{what}: exactly one stderr line, naming the file")(
        lambda kind=kind: bad_message(kind))
    T.case(f"{what}: nothing bound, no 'listening on'")(
        lambda kind=kind: bad_binds_nothing(kind))


@T.case("postern check reports each bad config as FILE:LINE:COL: error: and exits 1")
def _():
    problems = []
    for kind in BAD:
        b = bad_runs[kind].get()
        r = h.run_postern(["check", "--config", b.config], timeout=30)
        out = r.stdout + r.stderr
        if r.returncode != 1:
            problems.append(f"{kind}: exit {r.returncode}\n{out}")
        elif not re.search(r"gateway-config\.xml:\d+:\d+: error: ", out):
            problems.append(f"{kind}: no 'gateway-config.xml:LINE:COL: error:' line\n{out}")
    h.require(not problems, "\n".join(problems))


if __name__ == "__main__":
    T.run()
