#!/usr/bin/python3
# test_scale_out.py: several gateways behind HAProxy (issue 11, item 4), from
# conf/examples/scale-out: HAProxy (mode tcp, leastconn, send-proxy-v2, health
# checks) in front of three `postern run` instances sharing one config and one
# keystore on loopback.  Sessions spread over all three; SIGKILL one and its
# clients are served again by the others, and no new connection reaches it
# once its check fails; SIGTERM one and its sessions end with 1001 while the
# others lose no byte; SIGHUP each in turn with a changed config and no
# connection is refused.  The figures are printed as TAP diagnostics.
# SPDX-License-Identifier: Apache-2.0
import asyncio
import csv
import io
import os
import re
import signal
import socket
import sys
import time

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, "..", "e2e"))
sys.path.insert(0, os.path.join(HERE, "..", "e2e-proxy"))
import harness as h  # noqa: E402
import proxylib as p  # noqa: E402

T = h.Tap(case_timeout=60)
N = 3
SESSIONS = 30
CHECK_INTER_MS = 300          # HAProxy's check interval here (2 s in the example)


def example(name):
    return os.path.join(h.source_dir(), "conf", "examples", "scale-out", name)


def substitute(text, pattern, replacement, what):
    new, count = re.subn(pattern, replacement, text, flags=re.M)
    h.require(count > 0, f"the example no longer has {what} ({pattern!r})")
    return new


class Cluster:
    def __init__(self):
        self.dir = T.tmpdir("postern-scale-out-")
        self.haproxy_bin = h.require_tool("haproxy")
        self.keystore = h.make_keystore(self.dir)
        ports = h.free_ports(N + 1)
        self.front, self.ports = ports[0], ports[1:]
        self.url = f"wss://localhost:{self.front}/echo"
        self.configs = [os.path.join(self.dir, f"gateway-{i + 1}.xml") for i in range(N)]
        for i in range(N):
            self.write_config(i, extra_service=False)
        self.gateways = [[] for _ in range(N)]   # every process of each instance
        for i in range(N):
            self.start(i)
        self.sock_path = os.path.join(self.dir, "haproxy.sock")
        cfg = self.haproxy_config()
        r = h.run_tool([self.haproxy_bin, "-c", "-f", cfg])
        h.require(r.returncode == 0, f"haproxy -c rejects its config:\n{r.stdout}{r.stderr}")
        self.haproxy = p.Proc([self.haproxy_bin, "-db", "-f", cfg], "haproxy", self.dir,
                              ready_port=self.front)
        T.add_cleanup(self.haproxy.kill)
        self.wait_states({f"gw{i + 1}": "UP" for i in range(N)}, 10)

    # -- configs, from the example ------------------------------------------

    def write_config(self, i, extra_service):
        with open(example("gateway-config.xml"), encoding="utf-8") as f:
            text = f.read()
        text = substitute(text, r"(<name>public\.address</name><value>)[^<]*",
                          rf"\g<1>localhost:{self.front}", "the public.address property")
        text = substitute(text, r"(<name>instance\.bind</name><value>)[^<]*",
                          rf"\g<1>127.0.0.1:{self.ports[i]}", "the instance.bind property")
        if extra_service:   # the change rolled out by SIGHUP
            text = substitute(text, r"(\s*<security>)",
                              "\n  <service>\n    <name>echo2</name>\n"
                              "    <accept>wss://${public.address}/echo2</accept>\n"
                              r"    <type>echo</type>\n  </service>\n\g<1>", "a <security> element")
        with open(self.configs[i], "w", encoding="utf-8") as f:
            f.write(text)

    def haproxy_config(self):
        with open(example("haproxy.cfg"), encoding="utf-8") as f:
            text = f.read()
        text = substitute(text, r"^global\n", f"global\n    stats socket {self.sock_path} mode 600 level admin\n",
                          "a global section")
        text = substitute(text, r"^(\s*bind) :443$", rf"\1 127.0.0.1:{self.front}", "bind :443")
        text = substitute(text, r"inter 2s", f"inter {CHECK_INTER_MS}ms", "a check interval")
        for i in range(N):
            text = substitute(text, rf"^(\s*server gw{i + 1}) \S+$", rf"\1 127.0.0.1:{self.ports[i]}",
                              f"server gw{i + 1}")
        path = os.path.join(self.dir, "haproxy.cfg")
        with open(path, "w") as f:
            f.write(text)
        return path

    # -- processes -------------------------------------------------------------

    def start(self, i):
        gw = h.start_gateway(self.configs[i], [self.url], name=f"postern run (instance {i + 1})")
        self.gateways[i].append(gw)
        T.add_cleanup(gw.kill)
        return gw

    def current(self, i):
        return self.gateways[i][-1]

    def marks(self):
        """Where each instance's log is now: a client's open line comes later
        (ports are reused, so older lines must not count)."""
        marks = []
        for i in range(N):
            gw = self.current(i)
            with gw.cond:
                marks.append((gw, len(gw.stderr)))
        return marks

    def instance_of(self, client_port, marks, timeout=5.0):
        """Which instance logged the open line of the client with this port
        (its real address, from HAProxy's PROXY v2 header) after marks."""
        pattern = re.compile(rf"(?:^|: )open echo2? client=127\.0\.0\.1:{client_port} via=")
        deadline = time.monotonic() + timeout
        while True:
            for i, (gw, start) in enumerate(marks):
                with gw.cond:
                    if any(pattern.search(l) for l in gw.stderr[start:]):
                        return i
            if time.monotonic() > deadline:
                return None
            time.sleep(0.02)

    # -- HAProxy's view ------------------------------------------------------------

    def stats(self):
        s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        s.settimeout(5)
        s.connect(self.sock_path)
        s.sendall(b"show stat\n")
        data = b""
        while True:
            chunk = s.recv(65536)
            if not chunk:
                break
            data += chunk
        s.close()
        text = data.decode().lstrip("# ")
        return {row["svname"]: row for row in csv.DictReader(io.StringIO(text))
                if row.get("pxname") == "postern"}

    def wait_states(self, want, timeout):
        deadline = time.monotonic() + timeout
        while True:
            st = self.stats()
            got = {name: st.get(name, {}).get("status", "?") for name in want}
            if all(got[n].startswith(want[n]) for n in want):
                return time.monotonic()
            if time.monotonic() > deadline:
                raise h.Fail(f"HAProxy server states {got}, expected {want} within {timeout} s")
            time.sleep(0.05)


cluster = h.Fixture(f"HAProxy (conf/examples/scale-out) in front of {N} postern instances", Cluster)


# --------------------------------------------------------------------------
# Clients


class Client:
    """One WebSocket session through HAProxy that knows which instance
    serves it."""

    def __init__(self, c, path="/echo"):
        self.c = c
        self.url = f"wss://localhost:{c.front}{path}"
        self.conn = None
        self.port = None
        self.instance = None
        self.sent = self.echoed = 0
        self.close_code = None

    async def open(self):
        marks = self.c.marks()
        sock = socket.create_connection(("127.0.0.1", self.c.front), 10)
        self.port = sock.getsockname()[1]
        ctx = h.client_ssl_context(cafile=self.c.keystore.trust_pem)
        self.conn = await h.ws_connect(self.url, ssl_ctx=ctx, sock=sock,
                                       server_hostname="localhost").__aenter__()
        await self.echo(b"hello")
        loop = asyncio.get_running_loop()
        self.instance = await loop.run_in_executor(None, self.c.instance_of, self.port, marks)
        h.require(self.instance is not None, f"no instance logged the client 127.0.0.1:{self.port}")
        return self

    async def echo(self, payload):
        self.sent += len(payload)
        await h.echo_once(self.conn, payload)
        self.echoed += len(payload)

    async def close(self):
        if self.conn is not None:
            await self.conn.close()


async def open_many(c, count, path="/echo"):
    # one at a time, so that leastconn sees the previous ones open
    clients = []
    for _ in range(count):
        clients.append(await Client(c, path).open())
    return clients


def per_instance(clients):
    counts = [0] * N
    for cl in clients:
        counts[cl.instance] += 1
    return counts


async def stream(client, stop, chunk=4096):
    """Echo random chunks until stop is set; raises on any difference."""
    while not stop.is_set():
        await client.echo(os.urandom(chunk))
        await asyncio.sleep(0.005)


@T.case("the examples: haproxy -c accepts conf/examples/scale-out/haproxy.cfg as written; postern "
        "check finds nothing wrong in its gateway-config.xml but the keystore to make")
def _():
    haproxy = h.require_tool("haproxy")
    r = h.run_tool([haproxy, "-c", "-f", example("haproxy.cfg")])
    h.check_equal(r.returncode, 0, f"haproxy -c exit status ({r.stdout}{r.stderr})")
    r = h.run_postern(["check", "--config", example("gateway-config.xml")])
    errors = [l for l in (r.stdout + r.stderr).splitlines() if ": error: " in l or ": warning: " in l]
    h.require(len(errors) == 1 and "keystore" in errors[0] and "does not exist" in errors[0],
              f"postern check says more than the missing keystore:\n{r.stdout}{r.stderr}")


@T.case(f"spread: {SESSIONS} sessions held open through HAProxy (leastconn) are served by all "
        f"{N} instances, each naming the real client")
def _():
    c = cluster.get()

    async def scenario():
        clients = await open_many(c, SESSIONS)
        try:
            counts = per_instance(clients)
            h._diag(f"sessions per instance: {counts}")
            h.require(min(counts) >= SESSIONS // N - 2,
                      f"uneven spread {counts} for {SESSIONS} sessions under leastconn")
            for cl in clients:
                await cl.echo(os.urandom(1000))
        finally:
            for cl in clients:
                await cl.close()

    h.arun(scenario(), 40)


@T.case("SIGKILL one instance: its clients reconnect and are served by the others; once its "
        "check fails HAProxy sends it no new connection; the others' sessions lose nothing")
def _():
    c = cluster.get()
    victim = 0

    async def scenario():
        clients = await open_many(c, SESSIONS)
        stop = asyncio.Event()
        others = [cl for cl in clients if cl.instance != victim]
        mine = [cl for cl in clients if cl.instance == victim]
        h.require(len(mine) >= 3, f"only {len(mine)} session(s) on the instance to kill")
        streams = [asyncio.ensure_future(stream(cl, stop)) for cl in others]
        await asyncio.sleep(0.3)
        t0 = time.monotonic()
        c.current(victim).kill()
        ws = h.import_websockets()
        # its clients see their session end, and reconnect through HAProxy
        async def come_back(cl):
            try:
                await cl.echo(b"after the kill")
                raise h.Fail("a session on the killed instance still echoes")
            except ws.exceptions.ConnectionClosed:
                pass
            again = await Client(c).open()
            took = time.monotonic() - t0
            h.require(again.instance != victim, "a reconnect was served by the killed instance")
            await again.close()
            return took

        reconnect = await asyncio.gather(*(come_back(cl) for cl in mine))
        down_at = await asyncio.get_running_loop().run_in_executor(
            None, c.wait_states, {f"gw{victim + 1}": "DOWN"}, 5)
        stot = int(c.stats()[f"gw{victim + 1}"]["stot"])
        fresh = await open_many(c, 15)
        h.require(all(cl.instance != victim for cl in fresh), "a new session reached the killed instance")
        h.check_equal(int(c.stats()[f"gw{victim + 1}"]["stot"]), stot,
                      "sessions HAProxy sent to the killed instance after its check failed")
        stop.set()
        await asyncio.gather(*streams)   # raises on any lost or changed byte
        for cl in fresh + others:
            await cl.close()
        sent = sum(cl.sent for cl in others)
        lost = sent - sum(cl.echoed for cl in others)
        h._diag(f"killed instance 1 held {len(mine)} of {SESSIONS} sessions; reconnect time after "
                f"the kill: max {max(reconnect):.3f} s, mean {sum(reconnect) / len(reconnect):.3f} s; "
                f"marked DOWN after {down_at - t0:.2f} s; new sessions after that: "
                f"{per_instance(fresh)}; the others' {len(others)} sessions echoed {sent} bytes, lost {lost}")
        h.check_equal(lost, 0, "bytes lost on the other instances")

    h.arun(scenario(), 50)
    c.start(victim)
    c.wait_states({f"gw{victim + 1}": "UP"}, 10)


@T.case("SIGTERM one instance: its sessions end with close 1001, it exits 0, and the sessions "
        "on the others go on with zero bytes lost")
def _():
    c = cluster.get()
    victim = 1

    async def scenario():
        clients = await open_many(c, SESSIONS)
        stop = asyncio.Event()
        others = [cl for cl in clients if cl.instance != victim]
        mine = [cl for cl in clients if cl.instance == victim]
        h.require(len(mine) >= 3, f"only {len(mine)} session(s) on the instance to stop")
        streams = [asyncio.ensure_future(stream(cl, stop)) for cl in others]
        await asyncio.sleep(0.3)
        gw = c.current(victim)
        gw.signal(signal.SIGTERM)
        codes = []
        for cl in mine:
            await asyncio.wait_for(cl.conn.wait_closed(), 10)
            codes.append(cl.conn.close_code)
        rc = await asyncio.get_running_loop().run_in_executor(None, gw.wait_exit, 10)
        await asyncio.sleep(0.5)
        stop.set()
        await asyncio.gather(*streams)
        for cl in others:
            await cl.close()
        sent = sum(cl.sent for cl in others)
        lost = sent - sum(cl.echoed for cl in others)
        h._diag(f"stopped instance 2 held {len(mine)} sessions: close codes {sorted(set(codes))}; "
                f"exit {rc}; the others' {len(others)} sessions echoed {sent} bytes, lost {lost}")
        h.check_equal(sorted(set(codes)), [1001], "close codes of the stopped instance's sessions")
        h.check_equal(rc, 0, "exit status after SIGTERM")
        h.check_equal(lost, 0, "bytes lost on the other instances")

    h.arun(scenario(), 50)
    c.start(victim)
    c.wait_states({f"gw{victim + 1}": "UP"}, 10)


@T.case("SIGHUP roll: a new service added to each instance's config in turn, reloaded one by one "
        "while clients keep connecting: zero refused connections, then the new service everywhere")
def _():
    c = cluster.get()

    async def churn(stop, result):
        while not stop.is_set():
            result["attempts"] += 1
            try:
                cl = await Client(c).open()
                await cl.close()
            except Exception as e:  # noqa: BLE001 - every failure counts
                result["failures"].append(repr(e))
            await asyncio.sleep(0.01)

    async def scenario():
        held = await open_many(c, 6)
        stop = asyncio.Event()
        result = {"attempts": 0, "failures": []}
        tasks = [asyncio.ensure_future(churn(stop, result)) for _ in range(3)]
        loop = asyncio.get_running_loop()
        for i in range(N):
            gw = c.current(i)
            c.write_config(i, extra_service=True)
            gw.signal(signal.SIGHUP)
            line = await loop.run_in_executor(None, gw.wait_stderr,
                                              lambda l: "reloaded " in l or "reload failed" in l, 10)
            h.require(line and "reloaded " in line, f"instance {i + 1} did not reload: {line}")
            await asyncio.sleep(1.0)
        stop.set()
        await asyncio.gather(*tasks)
        for cl in held:
            await cl.echo(b"after the roll")
            await cl.close()
        h._diag(f"during the roll: {result['attempts']} connections, {len(result['failures'])} refused")
        h.require(result["attempts"] >= 30, f"only {result['attempts']} connections during the roll")
        h.require(not result["failures"], f"refused during the roll: {result['failures'][:3]}")
        fresh = await open_many(c, 9, "/echo2")
        counts = per_instance(fresh)
        for cl in fresh:
            await cl.close()
        h._diag(f"the new service after the roll, sessions per instance: {counts}")
        h.require(min(counts) >= 1, f"the new service is not served by every instance: {counts}")

    h.arun(scenario(), 50)


T.run()
