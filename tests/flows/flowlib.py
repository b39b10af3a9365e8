#!/usr/bin/python3
# flowlib.py: helpers for the documented TLS flows (issue 6): `postern cert`
# steps, stores to PEM for third-party peers, WebSocket round trips that
# compare payloads, gateway log lines, Chromium driven over DevTools.
# Builds on tests/e2e/harness.py and tests/e2e-proxy/proxylib.py (imported,
# not modified).
# SPDX-License-Identifier: Apache-2.0
import asyncio
import base64
import contextlib
import hashlib
import json
import os
import re
import shutil
import signal
import ssl
import subprocess
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
TESTS = os.path.dirname(HERE)
sys.path.insert(0, os.path.join(TESTS, "e2e"))
sys.path.insert(0, os.path.join(TESTS, "e2e-proxy"))
import harness as h  # noqa: E402
import proxylib as p  # noqa: E402

KiB = 1024
MiB = 1024 * KiB
LOCAL_NAMES = ("localhost", "127.0.0.1", "::1")


def say(text):
    """A TAP diagnostic line (timings, what was checked)."""
    for line in str(text).splitlines() or [""]:
        sys.stdout.write(f"# {line}\n")
    sys.stdout.flush()


def web_dir():
    return os.path.join(h.source_dir(), "data", "web")


def index_html_bytes():
    with open(os.path.join(web_dir(), "index.html"), "rb") as f:
        return f.read()


# --------------------------------------------------------------------------
# postern cert …


def postern(args, cwd, expect=0):
    """`postern ARGS` in folder cwd; its exit status must be `expect`.
    Returns the CompletedProcess (stdout+stderr in the failure message)."""
    t0 = time.monotonic()
    r = h.run_postern(list(args), cwd=cwd)
    took = time.monotonic() - t0
    if r.returncode != expect:
        raise h.Fail(f"`postern {' '.join(args)}` (in {cwd}) exited {r.returncode}, "
                     f"expected {expect}:\n{r.stdout}{r.stderr}")
    say(f"postern {' '.join(args)} → {r.returncode} ({took:.2f} s)")
    return r


def cert_entries(store, cwd):
    """`postern cert list STORE` parsed: a list of dicts alias, kind,
    subject (columns are separated by two or more spaces)."""
    r = postern(["cert", "list", store], cwd)
    lines = r.stdout.splitlines()
    rows = []
    header_seen = False
    for line in lines:
        if line.startswith("ALIAS"):
            header_seen = True
            continue
        if not header_seen or not line.strip():
            continue
        cols = re.split(r"\s{2,}", line.strip())
        h.require(len(cols) >= 6, f"`postern cert list {store}`: unexpected row {line!r}\n"
                                  f"{r.stdout}")
        rows.append({"alias": cols[0], "kind": cols[1], "subject": cols[2],
                     "names": cols[3], "line": line})
    if not header_seen and re.search(r"\b0 entries\b", r.stdout):
        return []
    h.require(header_seen, f"`postern cert list {store}` printed no ALIAS header:\n{r.stdout}")
    return rows


def ca_alias(ca_store, cwd):
    """The alias of the one key entry of a CA store made by `--ca`."""
    rows = cert_entries(ca_store, cwd)
    h.require(len(rows) == 1 and rows[0]["kind"] == "key",
              f"{ca_store}: expected one key entry (the CA), got {rows}")
    return rows[0]["alias"]


def store_to_pem(store, password_file, cert_out, key_out, cwd):
    """A key entry's certificate (with chain) and private key as PEM, with
    openssl — for the third parties (back-end server, HAProxy, a client's
    TLS library) that take PEM files.  Returns (cert path, key path)."""
    openssl = h.require_tool("openssl")
    store = os.path.join(cwd, store)
    pw = os.path.join(cwd, password_file)
    cert_out = os.path.join(cwd, cert_out)
    key_out = os.path.join(cwd, key_out)
    h.run_checked([openssl, "pkcs12", "-in", store, "-passin", f"file:{pw}",
                   "-nokeys", "-out", cert_out])
    h.run_checked([openssl, "pkcs12", "-in", store, "-passin", f"file:{pw}",
                   "-nocerts", "-nodes", "-out", key_out])
    os.chmod(key_out, 0o600)
    with open(cert_out) as f:
        h.require("BEGIN CERTIFICATE" in f.read(), f"no certificate in {store}")
    with open(key_out) as f:
        h.require("PRIVATE KEY" in f.read(), f"no private key in {store}")
    return cert_out, key_out


def pem_der(path):
    with open(path) as f:
        text = f.read()
    m = re.search(r"-----BEGIN CERTIFICATE-----.+?-----END CERTIFICATE-----", text, re.S)
    h.require(m, f"{path}: no PEM certificate")
    return ssl.PEM_cert_to_DER_cert(m.group(0))


def keystore_xml(store="keystore.db", pw="keystore.pw"):
    return (store, pw)


def config(directory, services, keystore=None, truststore=None):
    """gateway-config.xml in `directory`: services (harness.service_xml
    strings); keystore/truststore: (file, password-file) relative to it."""
    return h.write_config(directory, h.config_xml(services, keystore=keystore,
                                                   truststore=truststore))


def directory_service(name, accepts):
    return h.service_xml(name, "directory", accepts,
                         properties={"directory": web_dir(), "welcome-file": "index.html"})


# --------------------------------------------------------------------------
# WebSocket round trips that compare payloads


def verifying_ctx(cafile, certfile=None, keyfile=None):
    return h.client_ssl_context(cafile=cafile, certfile=certfile, keyfile=keyfile)


def payloads(tag):
    """Text (non-ASCII included) and binary messages of a few sizes, with
    every byte value, deterministic per tag."""
    seed = hashlib.sha256(tag.encode()).digest()
    blob = hashlib.sha256(seed).digest()
    big = bytearray()
    while len(big) < 300 * KiB:
        blob = hashlib.sha256(blob).digest()
        big += blob
    return [f"{tag}: héllo ✓ 🔒", bytes(range(256)), bytes(big[:300 * KiB]),
            "x" * 70000]


async def echo_roundtrip(uri, ctx, messages, server_hostname=None):
    """Open uri, send each message and require it back identical (type
    and content), close with 1000 and require 1000 back."""
    kw = {}
    if server_hostname:
        kw["server_hostname"] = server_hostname
    async with h.ws_connect(uri, ctx, **kw) as c:
        for m in messages:
            await h.echo_once(c, m, timeout=20)
        await h.close_cleanly(c)
    return len(messages)


async def stream_roundtrip(uri, ctx, messages, sock=None):
    """For a byte back-end behind a proxy (tcp:// or ssl://): send the
    messages, read binary messages until as many bytes came back as were
    sent, and require the byte stream to be identical."""
    sent = b"".join(m.encode() if isinstance(m, str) else m for m in messages)
    got = bytearray()
    kinds = set()
    kw = {"sock": sock, "server_hostname": "localhost" if ctx else None} if sock else {}
    async with h.ws_connect(uri, ctx, **kw) as c:
        async def reader():
            while len(got) < len(sent):
                m = await h.recv_within(c, 20)
                kinds.add(type(m).__name__)
                got.extend(m if isinstance(m, bytes) else m.encode())
        task = asyncio.ensure_future(reader())
        try:
            for m in messages:
                await c.send(m)
            await asyncio.wait_for(task, 60)
        finally:
            task.cancel()
        await h.close_cleanly(c)
    h.check_equal(len(got), len(sent), "bytes back through the proxy")
    h.require(bytes(got) == sent,
              f"bytes back differ from bytes sent (SHA-256 "
              f"{hashlib.sha256(got).hexdigest()[:16]} vs {hashlib.sha256(sent).hexdigest()[:16]})")
    return sent


async def expect_ws_refused(uri, ctx, **kw):
    """Open uri; it must fail before the upgrade completes (TLS or HTTP).
    Returns the exception's text."""
    ws = h.import_websockets()
    try:
        async with h.ws_connect(uri, ctx, **kw) as c:
            # TLS 1.3: a refused client certificate shows on the first read
            await c.send("should not get through")
            got = await asyncio.wait_for(c.recv(), 10)
            raise h.Fail(f"{uri}: connection expected to fail, but it echoed {got!r}")
    except h.Fail:
        raise
    except (ssl.SSLError, OSError, ws.exceptions.WebSocketException,
            asyncio.TimeoutError, EOFError) as e:
        return f"{type(e).__name__}: {e}"


def backend_tls_ctx(cert, key):
    ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    ctx.load_cert_chain(cert, key)
    return ctx


# --------------------------------------------------------------------------
# Gateway log


def close_lines(gw, service):
    return p.stderr_lines(gw, lambda l: re.search(rf"\bclose {re.escape(service)} ", l))


def wait_close_line(gw, service, client_port, timeout=10):
    """The gateway's `close SERVICE client=…:PORT …` line for our socket."""
    pat = re.compile(rf"\bclose {re.escape(service)} client=\S*:{client_port}\b")
    return p.wait_log(gw, lambda l: pat.search(l), timeout,
                      f"`close {service} client=…:{client_port}`")


def session_close_line(gw, service, client_port, settle=1.0, timeout=10):
    """The one `close SERVICE client=…:PORT` line the gateway writes when
    our session ends (DESIGN.md: one line at open, one at close).  Waits
    for it, lets `settle` seconds pass, and requires exactly one."""
    wait_close_line(gw, service, client_port, timeout)
    time.sleep(settle)
    pat = re.compile(rf"\bclose {re.escape(service)} client=\S*:{client_port}\b")
    lines = p.stderr_lines(gw, lambda l: pat.search(l))
    h.require(len(lines) == 1, f"{len(lines)} `close {service}` lines for client port "
                               f"{client_port}, expected one:\n" + "\n".join(lines))
    return lines[0]


def log_field(line, name):
    m = re.search(rf"\b{re.escape(name)}=(\"[^\"]*\"|\S+)", line)
    return m.group(1).strip('"') if m else None


# --------------------------------------------------------------------------
# Node and Java


def node():
    return h.require_tool("node", "/usr/bin/node") if os.path.exists("/usr/bin/node") \
        else h.require_tool("node")


NODE_WS = "/usr/share/nodejs/ws"


def require_node_ws():
    h.require(os.path.isdir(NODE_WS), f"node-ws not found at {NODE_WS}; install Debian's node-ws")
    return NODE_WS


# --------------------------------------------------------------------------
# Chromium over the DevTools protocol


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_FLAGS = ["--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
                  "--no-first-run", "--disable-background-networking",
                  "--disable-component-update", "--disable-sync"]


class Chromium:
    """Headless Chromium with a fresh --user-data-dir and HOME (its NSS
    database is HOME/.pki/nssdb), DevTools on a port Chromium picks
    (--remote-debugging-port=0, read back from DevToolsActivePort)."""

    def __init__(self, home, workdir, name="chromium"):
        self.exe = h.require_tool("chromium", CHROMIUM)
        self.home = home
        self.profile = os.path.join(workdir, f"{name}-profile")
        os.makedirs(self.profile)
        env = dict(os.environ)
        env["HOME"] = home
        env.pop("DBUS_SESSION_BUS_ADDRESS", None)
        self.proc = _EnvProc([self.exe] + CHROMIUM_FLAGS +
                             [f"--user-data-dir={self.profile}", "--remote-debugging-port=0",
                              "--remote-allow-origins=*", "about:blank"], name, workdir, env)
        port_file = os.path.join(self.profile, "DevToolsActivePort")
        deadline = time.monotonic() + 30
        self.ws_url = None
        while time.monotonic() < deadline:
            if self.proc.proc.poll() is not None:
                raise h.Fail(f"chromium exited {self.proc.proc.returncode} at start:\n"
                             f"{self.output()}")
            with contextlib.suppress(OSError, ValueError):
                with open(port_file) as f:
                    lines = f.read().split("\n")
                if len(lines) >= 2 and lines[0].strip() and lines[1].strip():
                    self.ws_url = f"ws://127.0.0.1:{int(lines[0])}{lines[1].strip()}"
                    break
            time.sleep(0.1)
        if self.ws_url is None:
            self.close()
            raise h.Fail(f"chromium wrote no {port_file} within 30 s:\n{self.output()}")

    def output(self):
        out = self.proc.output()
        # drop Chromium's D-Bus noise (no bus here) from diagnostics
        return "\n".join(l for l in out.splitlines() if "dbus" not in l)[-3000:]

    def close(self):
        self.proc.kill()


class _EnvProc:
    """A child process with its own environment, output to a file, killed
    with its process group (proxylib.Proc takes no environment)."""

    def __init__(self, argv, name, directory, env):
        self.name = name
        self.log_path = os.path.join(directory, f"{name}.log")
        self.log = open(self.log_path, "wb")
        self.proc = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=self.log,
                                     stderr=subprocess.STDOUT, env=env,
                                     start_new_session=True)

    def output(self):
        self.log.flush()
        with open(self.log_path, "rb") as f:
            return f.read().decode("utf-8", "replace")[-20000:]

    def kill(self):
        if self.proc.poll() is None:
            # the whole process group: Chromium's zygote and renderers
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
        self.log.close()


class Cdp:
    """A DevTools protocol client on python3-websockets (flattened sessions)."""

    def __init__(self, conn):
        self.conn = conn
        self.next_id = 0
        self.pending = {}
        self.events = []
        self.event_cond = asyncio.Condition()
        self.reader = asyncio.ensure_future(self._read())

    @classmethod
    async def open(cls, url):
        ws = h.import_websockets()
        conn = await ws.connect(url, max_size=None, ping_interval=None, open_timeout=10,
                                close_timeout=2)
        return cls(conn)

    async def _read(self):
        try:
            async for raw in self.conn:
                msg = json.loads(raw)
                if "id" in msg and msg["id"] in self.pending:
                    self.pending.pop(msg["id"]).set_result(msg)
                else:
                    async with self.event_cond:
                        self.events.append(msg)
                        self.event_cond.notify_all()
        except Exception as e:  # noqa: BLE001
            for fut in self.pending.values():
                if not fut.done():
                    fut.set_exception(h.Fail(f"DevTools connection lost: {e!r}"))

    async def call(self, method, params=None, session=None, timeout=30):
        self.next_id += 1
        mid = self.next_id
        msg = {"id": mid, "method": method, "params": params or {}}
        if session:
            msg["sessionId"] = session
        fut = asyncio.get_running_loop().create_future()
        self.pending[mid] = fut
        await self.conn.send(json.dumps(msg))
        try:
            res = await asyncio.wait_for(fut, timeout)
        except asyncio.TimeoutError:
            raise h.Fail(f"DevTools {method}: no answer within {timeout} s") from None
        if "error" in res:
            raise h.Fail(f"DevTools {method} failed: {res['error']}")
        return res.get("result", {})

    async def wait_event(self, method, session=None, timeout=30, since=0):
        deadline = time.monotonic() + timeout
        async with self.event_cond:
            while True:
                for e in self.events[since:]:
                    if e.get("method") == method and (session is None or
                                                      e.get("sessionId") == session):
                        return e
                left = deadline - time.monotonic()
                if left <= 0:
                    raise h.Fail(f"DevTools: no {method} event within {timeout} s")
                with contextlib.suppress(asyncio.TimeoutError):
                    await asyncio.wait_for(self.event_cond.wait(), left)

    async def new_page(self):
        t = await self.call("Target.createTarget", {"url": "about:blank"})
        s = await self.call("Target.attachToTarget", {"targetId": t["targetId"],
                                                      "flatten": True})
        session = s["sessionId"]
        await self.call("Page.enable", session=session)
        await self.call("Runtime.enable", session=session)
        return session

    async def navigate(self, session, url, timeout=30):
        """Page.navigate; returns errorText ("" when the page loaded, after
        its load event)."""
        since = len(self.events)
        r = await self.call("Page.navigate", {"url": url}, session=session, timeout=timeout)
        err = r.get("errorText", "")
        if not err:
            await self.wait_event("Page.loadEventFired", session, timeout, since)
        return err

    async def evaluate(self, session, expression, await_promise=False, timeout=60):
        r = await self.call("Runtime.evaluate",
                            {"expression": expression, "returnByValue": True,
                             "awaitPromise": await_promise},
                            session=session, timeout=timeout)
        if "exceptionDetails" in r:
            d = r["exceptionDetails"]
            text = d.get("exception", {}).get("description") or d.get("text")
            raise h.Fail(f"page script threw: {text}")
        return r["result"].get("value")

    async def close(self):
        self.reader.cancel()
        with contextlib.suppress(Exception):
            await asyncio.wait_for(self.conn.close(), 3)


def nss_import(home, cert_pem, nickname="postern", trust="C,,"):
    """A certificate into HOME/.pki/nssdb, the database created first when
    missing.  trust: "C,," a CA trusted for TLS servers; "P,," a trusted
    peer (a self-signed server certificate, which is no CA)."""
    certutil = h.require_tool("certutil", "/usr/bin/certutil")
    db = os.path.join(home, ".pki", "nssdb")
    os.makedirs(db, exist_ok=True)
    if not os.path.exists(os.path.join(db, "cert9.db")):
        h.run_checked([certutil, "-N", "-d", f"sql:{db}", "--empty-password"])
    h.run_checked([certutil, "-A", "-d", f"sql:{db}", "-t", trust, "-n", nickname,
                   "-i", cert_pem])
    r = h.run_checked([certutil, "-L", "-d", f"sql:{db}"])
    h.require(nickname in r.stdout, f"certutil -L does not list {nickname}:\n{r.stdout}")
    return db


def b64(data):
    return base64.b64encode(data).decode()


async def expect_close_code(uri, ctx, message=b"hello?"):
    """Open uri (the upgrade must succeed), send one message, and return
    the close frame (code, reason) the gateway sends instead of data."""
    ws = h.import_websockets()
    async with h.ws_connect(uri, ctx) as c:
        with contextlib.suppress(ws.exceptions.ConnectionClosed):
            await c.send(message)
        try:
            got = await asyncio.wait_for(c.recv(), 15)
            raise h.Fail(f"{uri}: expected the gateway to close, got a message {got!r}")
        except ws.exceptions.ConnectionClosed:
            pass
        except asyncio.TimeoutError:
            raise h.Fail(f"{uri}: no close from the gateway within 15 s") from None
        rcvd = c.close_rcvd
        h.require(rcvd is not None, f"{uri}: connection dropped without a close frame "
                                    f"(close code seen: {c.close_code})")
        return rcvd.code, rcvd.reason
