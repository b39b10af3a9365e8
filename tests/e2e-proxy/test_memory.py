#!/usr/bin/python3
# test_memory.py: issue 10 item 5 -- what a held, idle proxied connection
# costs the gateway.  N wss → ssl connections (TLS on both legs, a TLS echo
# back-end), N wss → tcp and N ws → tcp connections are opened, each echoes
# once and is then held idle; the gateway's PSS (/proc/PID/smaps_rollup,
# Pss_Anon) grows by at
# most a bound per connection, every connection still echoes afterwards,
# and the gateway's descriptor count returns to its start once they close.
# Each case runs its own gateway: memory freed by an earlier case would be
# reused without growing PSS and hide the cost.
# SPDX-License-Identifier: Apache-2.0
#
# The bounds (KiB of PSS per held connection, anonymous memory only,
# against the same gateway after a warm-up, so one-time allocations are
# not counted).  Measured (500 held, 2-core machine under the other
# engineers' load): 25.4 KiB wss → ssl and 14.6-14.9 KiB wss → tcp since
# the accept leg is our own GnuTLS server (pst-tls-server.c); 37.7 and
# 27.2 KiB the same hour while it was glib-networking's
# GTlsServerConnection (its own credentials with an empty trust list,
# ~6.5 KiB, and a copy of our certificate and key, ~4 KiB, per
# connection; 62-68 KiB wss → ssl while the back-end leg was a
# GTlsClientConnection too; 218 KiB while each pump kept its own 64 KiB
# read buffer); 5.1-5.5 KiB ws → tcp.  (The total PSS, libraries
# included, swung from 17 to 29 KiB per wss → ssl connection as other
# gateways on the machine started and stopped.)  What is left per wss → ssl
# connection: the two GnuTLS sessions (~7 KiB each, gnutls_init), the
# back-end leg's resumed session data (~1.4 KiB), handshake leftovers in
# GnuTLS, then GIO objects and ours (the connection, WebSocket, two pumps,
# the proxy session).  No read buffer (the read-ahead is freed once
# drained), write tail or vector, or HTTP head is held by an idle
# connection.  The bounds sit ~30 % over the figures; a
# GTlsServerConnection or GTlsClientConnection, or a 64 KiB buffer per
# connection, coming back would break them (checked: the former GIO accept
# leg fails both).
#
# By hand: POSTERN_MEM_N (default 500) connections of each kind;
# POSTERN_MEM_PARALLEL handshakes in flight (16); POSTERN_MEM_WRAP a command
# prefix for the gateway (e.g. "heaptrack -o FILE"); POSTERN_MEM_INSPECT a
# command run with the gateway's pid while the connections are held;
# POSTERN_MEM_CASES a comma-separated subset of wss-ssl,wss-tcp,ws-tcp (the
# others then report ok without running, marked as skipped by hand).
import asyncio
import os
import resource
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxylib as p  # noqa: E402
from proxylib import h  # noqa: E402

N = int(os.environ.get("POSTERN_MEM_N", "500"))
# seconds: 500 connections open in ~40 s on this 2-core machine under load
HOLD_BUDGET = max(200, N * 0.4)
T = h.Tap(case_timeout=HOLD_BUDGET + 60)
SANITIZED = os.environ.get("POSTERN_SANITIZED") == "1"
WSS_BOUND = 34     # KiB of PSS per held wss → ssl connection
TCP_BOUND = 26     # KiB of PSS per held wss → tcp connection
PLAIN_BOUND = 10   # KiB of PSS per held ws → tcp connection (no TLS: our own objects, GIO's)
WARMUP = 32        # connections opened and closed before the baseline
PARALLEL = int(os.environ.get("POSTERN_MEM_PARALLEL", "16"))   # handshakes in flight at once
SETTLE_S = 1.0     # after the last echo, before measuring


def raise_fd_limit():
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))


def held_echo_handler(conn, record):
    """proxylib's echo, with a socket timeout that outlasts the hold (its
    default, 60 s, would close the first connections while the last open)."""
    conn.settimeout(HOLD_BUDGET + 60)
    p.echo_handler(conn, record)


class Setup:
    def __init__(self):
        raise_fd_limit()
        self.dir = T.tmpdir()
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=self.pki)
        good = self.pki.server("localhost")
        self.tls_echo = p.Server("tls-echo", held_echo_handler, p.server_ssl_context(good))
        T.add_cleanup(self.tls_echo.close)
        self.tcp_echo = p.Server("tcp-echo", held_echo_handler)
        T.add_cleanup(self.tcp_echo.close)
        self.tls_echo.sock.listen(1024)
        self.tcp_echo.sock.listen(1024)
        self.port, ws_port = h.free_ports(2)
        W = f"wss://localhost:{self.port}"
        self.truststore = p.pem_truststore(self.dir, self.pki.ca.cert)
        self.urls = {"wss-ssl": f"{W}/ssl", "wss-tcp": f"{W}/tcp",
                     "ws-tcp": f"ws://127.0.0.1:{ws_port}/tcp"}
        connects = {"wss-ssl": f"ssl://localhost:{self.tls_echo.port}",
                    "wss-tcp": f"tcp://127.0.0.1:{self.tcp_echo.port}",
                    "ws-tcp": f"tcp://127.0.0.1:{self.tcp_echo.port}"}
        opts = {"tcp.maximum.connections.per.address": str(4 * N + 2 * WARMUP + 100)}
        services = [h.service_xml(name, "proxy", [self.urls[name]], [connects[name]],
                                  accept_options=opts)
                    for name in self.urls]
        text = p.config_xml(services,
                            keystore=self.keystore.relative_to(self.dir),
                            truststore=os.path.relpath(self.truststore, self.dir))
        self.config = h.write_config(self.dir, text)

    def ctx(self):
        return self.keystore.client_context()


setup = h.Fixture("PKI, TLS and TCP echo back-ends, proxy config", Setup)


def start_gateway(name):
    """A fresh gateway per case (see the header), maybe under POSTERN_MEM_WRAP."""
    s = setup.get()
    # One process: its PSS and descriptors are read from /proc/PID (the
    # bench sums master and workers).
    gw = h.Gateway(s.config, name=f"postern run (memory, {name})", extra_args=["--workers", "1"])
    wrap = os.environ.get("POSTERN_MEM_WRAP", "").split()
    gw.argv = wrap + gw.argv
    gw.start()
    try:
        gw.wait_listening(len(s.urls), 60 if wrap else h.LISTEN_TIMEOUT)
    except BaseException:
        gw.kill()
        raise
    return gw


def pss_kib(pid):
    """The PSS of the gateway's anonymous memory (heap, stacks): what
    connections allocate.  The PSS of the mapped libraries moves with the
    other processes of the machine that share them (other gateways start
    and stop): a total PSS once shrank by 1.4 MiB, and once grew by 11 MiB,
    while 500 connections opened."""
    fields = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for line in f:
            name, _, rest = line.partition(":")
            if name in ("Pss", "Pss_Anon"):
                fields[name] = int(rest.split()[0])
    if "Pss_Anon" in fields:
        return fields["Pss_Anon"]
    if "Pss" in fields:
        return fields["Pss"]
    raise h.Fail(f"no Pss in /proc/{pid}/smaps_rollup")


def fd_count(pid):
    return len(os.listdir(f"/proc/{pid}/fd"))


async def open_many(uri, ctx, count, tag):
    """count connections, each having echoed one message; bounded."""
    sem = asyncio.Semaphore(PARALLEL)
    conns = []

    async def one(i):
        async with sem:
            c = await h.ws_connect(uri, ctx)
            conns.append(c)
            msg = f"{tag} {i} hello".encode()
            await c.send(msg)
            got = await h.recv_within(c, 30)
            h.check_equal(got, msg, f"{tag} connection {i}: first echo")

    await asyncio.gather(*(one(i) for i in range(count)))
    return conns


async def echo_all(conns, tag):
    sem = asyncio.Semaphore(64)

    async def one(i, c):
        async with sem:
            msg = f"{tag} {i} still here".encode()
            await c.send(msg)
            got = await h.recv_within(c, 30)
            h.check_equal(got, msg, f"{tag} connection {i}: echo after the hold")

    await asyncio.gather(*(one(i, c) for i, c in enumerate(conns)))


async def close_all(conns):
    sem = asyncio.Semaphore(64)

    async def one(c):
        async with sem:
            await c.close()

    await asyncio.gather(*(one(c) for c in conns))


def wait_fds(pid, target, timeout):
    deadline = time.monotonic() + timeout
    n = fd_count(pid)
    while n > target and time.monotonic() < deadline:
        time.sleep(0.2)
        n = fd_count(pid)
    return n


def profiled_pid(gw):
    """The gateway's pid; under POSTERN_MEM_WRAP, the postern child of the wrapper."""
    if not os.environ.get("POSTERN_MEM_WRAP"):
        return gw.proc.pid
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        r = subprocess.run(["pgrep", "-P", str(gw.proc.pid), "-x", "postern"],
                           capture_output=True, text=True)
        if r.returncode == 0:
            return int(r.stdout.split()[0])
        time.sleep(0.1)
    raise h.Fail("no postern child under the POSTERN_MEM_WRAP wrapper")


def hold_case(name, bound):
    only = os.environ.get("POSTERN_MEM_CASES")
    if only and name not in only.split(","):
        sys.stdout.write(f"# {name}: not run (POSTERN_MEM_CASES={only})\n")
        return
    s = setup.get()
    gw = start_gateway(name)
    pid = profiled_pid(gw)
    try:
        measure(s, pid, name, bound)
    finally:
        if pid != gw.proc.pid:
            os.kill(pid, signal.SIGTERM)
            gw.wait_exit(120)
        gw.kill()


def measure(s, pid, name, bound):
    uri = s.urls[name]
    ctx = s.ctx() if uri.startswith("wss:") else None

    async def run():
        warm = await open_many(uri, ctx, WARMUP, name + " warm-up")
        await close_all(warm)
        return None

    h.arun(run(), 120)
    time.sleep(SETTLE_S)
    fds0 = fd_count(pid)
    pss0 = pss_kib(pid)
    result = {}

    async def hold():
        # Half, then the other half: the second half's cost is the marginal
        # one (the first reuses what the warm-up freed), shown for the record.
        t0 = time.monotonic()
        conns = await open_many(uri, ctx, N // 2, name)
        await asyncio.sleep(SETTLE_S)
        pss_half = pss_kib(pid)
        conns += await open_many(uri, ctx, N - N // 2, name + " (2nd half)")
        opened = time.monotonic() - t0
        await asyncio.sleep(SETTLE_S)
        pss1 = pss_kib(pid)
        fds1 = fd_count(pid)
        result.update(pss1=pss1, fds1=fds1, opened=opened)
        h._diag(f"{name}: {N} held: PSS {pss0} → {pss1} KiB, {(pss1 - pss0) / N:.1f} KiB per "
                f"connection (bound {bound}; the second half alone "
                f"{(pss1 - pss_half) / max(1, N - N // 2):.1f}); fds {fds0} → {fds1}; "
                f"opened in {opened:.1f} s")
        if os.environ.get("POSTERN_MEM_INSPECT"):   # by hand: a command run with the pid
            cmd = os.environ["POSTERN_MEM_INSPECT"].split() + [str(pid)]
            r = await asyncio.to_thread(subprocess.run, cmd, capture_output=True, text=True,
                                        timeout=50)
            h._diag(f"{' '.join(cmd)}:\n{r.stdout}{r.stderr}")
        await echo_all(conns, name)
        await close_all(conns)

    h.arun(hold(), HOLD_BUDGET)
    per = (result["pss1"] - pss0) / N
    fds2 = wait_fds(pid, fds0, 15)
    h.require(result["fds1"] >= fds0 + 2 * N,
              f"{N} held connections should hold 2 descriptors each: {fds0} → {result['fds1']}")
    if SANITIZED:
        # ASan's redzones, quarantine and shadow multiply small objects'
        # cost: the bound is for the real build (make check); here the
        # figure is reported and the echoes and descriptors still checked.
        sys.stdout.write(f"# sanitized build: PSS bound not applied ({per:.1f} KiB measured)\n")
    else:
        h.require(per <= bound, f"{per:.1f} KiB of PSS per held {name} connection, over the bound {bound}")
    h.require(fds2 <= fds0, f"the gateway holds {fds2} descriptors after every session closed, "
                            f"{fds0} before")


@T.case(f"wss → ssl: {N} held connections cost at most {WSS_BOUND} KiB of PSS each, all echo "
        "after the hold, and the gateway's descriptors return to their start")
def _():
    hold_case("wss-ssl", WSS_BOUND)


@T.case(f"wss → tcp: {N} held connections cost at most {TCP_BOUND} KiB of PSS each, all echo "
        "after the hold, and the gateway's descriptors return to their start")
def _():
    hold_case("wss-tcp", TCP_BOUND)


@T.case(f"ws → tcp (no TLS): {N} held connections cost at most {PLAIN_BOUND} KiB of PSS each, "
        "all echo after the hold, and the gateway's descriptors return to their start")
def _():
    hold_case("ws-tcp", PLAIN_BOUND)


if __name__ == "__main__":
    T.run()
