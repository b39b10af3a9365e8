#!/usr/bin/python3
# test_tls_state.py: issue 10 item 2 -- the TLS state (certificates, keys,
# trust anchors) is built once per config snapshot: while N connections
# arrive, `strace -f -e trace=openat,open -p PID` on the running gateway
# sees no open of a certificate, key or trust file.  Checked for a wss://
# echo service that asks for no client certificate, one with
# ssl.verify-client required (the truststore verifies the client), a
# wss:// -> ssl:// proxy (the truststore verifies the back-end), and a
# gateway without a truststore dialling an ssl:// back-end (the system's
# CAs verify it, and refuse our test CA).
# SPDX-License-Identifier: Apache-2.0
import os
import re
import signal
import subprocess
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxylib as p  # noqa: E402
from proxylib import h  # noqa: E402

T = h.Tap(case_timeout=120)

N = 20   # connections per case

# What a per-connection trust or credential load would open.
TRUST_FILE = re.compile(r"\.(pem|crt|cer|der|p12|pfx|db|jks|jceks|key)$|/etc/ssl/|ca-certificates|"
                        r"postern-anchors|/certs?/|/pki/")
OPEN_LINE = re.compile(r'\bopen(?:at)?\((?:[^,]*, )?"([^"]*)"')
ACCEPT_LINE = re.compile(r"\baccept4?\(.*\)\s+= \d+")


def echo_noting_resumption(conn, record):
    record["reused"] = conn.session_reused
    p.echo_handler(conn, record)


class Setup:
    def __init__(self):
        self.dir = T.tmpdir()
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=self.pki)
        self.client = self.pki.client("Postern TLS State Client")
        self.truststore = p.pem_truststore(self.dir, self.pki.ca.cert)
        self.tls_echo = p.Server("tls-echo", echo_noting_resumption, p.server_ssl_context(self.pki.server()))
        T.add_cleanup(self.tls_echo.close)
        self.echo_port, self.mtls_port, self.proxy_port, self.sys_port = h.free_ports(4)
        self.echo_url = f"wss://localhost:{self.echo_port}/echo"
        self.mtls_url = f"wss://localhost:{self.mtls_port}/echo"
        self.proxy_url = f"wss://localhost:{self.proxy_port}/proxy"
        self.sys_url = f"wss://localhost:{self.sys_port}/proxy"
        ks = self.keystore.relative_to(self.dir)
        backend = f"ssl://localhost:{self.tls_echo.port}"
        self.config = h.write_config(self.dir, p.config_xml([
            h.service_xml("echo", "echo", [self.echo_url]),
            h.service_xml("mtls", "echo", [self.mtls_url],
                          accept_options={"ssl.verify-client": "required"}),
            h.service_xml("proxy", "proxy", [self.proxy_url], [backend]),
        ], ks, os.path.relpath(self.truststore, self.dir)))
        # No truststore: the back-end is checked against the system's CAs.
        self.sys_config = h.write_config(self.dir, p.config_xml([
            h.service_xml("proxy", "proxy", [self.sys_url], [backend]),
        ], ks), name="system-trust.xml")

    def ctx(self, cert=None):
        return h.client_ssl_context(cafile=self.pki.ca.cert,
                                    certfile=cert.cert if cert else None,
                                    keyfile=cert.key if cert else None)


setup = h.Fixture("PKI, key store, truststore, TLS echo back-end", Setup)
gateway = h.Fixture("postern run (echo, mutual TLS, proxy to ssl://)",
                    lambda: h.start_gateway(setup.get().config,
                                            [setup.get().echo_url, setup.get().mtls_url,
                                             setup.get().proxy_url], name="postern run (tls state)",
                                            # one process to strace (-p PID)
                                            extra_args=["--workers", "1"]))
sys_gateway = h.Fixture("postern run (no truststore, proxy to ssl://)",
                        lambda: h.start_gateway(setup.get().sys_config, [setup.get().sys_url],
                                                name="postern run (system trust)",
                                                extra_args=["--workers", "1"]))   # one process to strace


class Strace:
    """`strace -f -e trace=openat,open,accept,accept4 -p PID` until stop():
    the paths opened, and the number of connections accepted (which shows
    that strace saw the threads doing the work)."""

    def __init__(self, pid, directory):
        self.out = os.path.join(directory, f"strace-{pid}-{time.monotonic_ns()}.txt")
        self.err_path = self.out + ".err"
        self.err = open(self.err_path, "w")
        self.proc = subprocess.Popen([h.require_tool("strace"), "-f", "-qq", "-e", "trace=openat,open,accept,accept4",
                                      "-o", self.out, "-p", str(pid)],
                                     stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                                     stderr=self.err, start_new_session=True)
        T.add_cleanup(self.kill)
        # Attached once every thread of the gateway shows a tracer.
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise h.Fail(f"strace exited {self.proc.returncode}: {self.errors()}")
            if self._traced(pid):
                return
            time.sleep(0.05)
        raise h.Fail(f"strace did not attach to {pid} within 10 s: {self.errors()}")

    @staticmethod
    def _traced(pid):
        try:
            tids = os.listdir(f"/proc/{pid}/task")
        except OSError:
            return False
        for tid in tids:
            try:
                with open(f"/proc/{pid}/task/{tid}/status") as f:
                    tracer = [l for l in f if l.startswith("TracerPid:")]
            except OSError:
                continue
            if not tracer or tracer[0].split()[1] == "0":
                return False
        return True

    def errors(self):
        self.err.flush()
        with open(self.err_path) as f:
            return f.read()[-2000:]

    def stop(self):
        """Detach (SIGINT); return (paths opened, connections accepted)."""
        self.proc.send_signal(signal.SIGINT)
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            self.kill()
            raise h.Fail("strace did not detach within 10 s")
        paths = []
        accepted = 0
        with open(self.out, errors="replace") as f:
            for line in f:
                m = OPEN_LINE.search(line)
                if m:
                    paths.append(m.group(1))
                elif ACCEPT_LINE.search(line):
                    accepted += 1
        return paths, accepted

    def kill(self):
        if self.proc.poll() is None:
            os.kill(self.proc.pid, signal.SIGKILL)
            self.proc.wait(5)
        self.err.close()


async def echo_sessions(uri, ctx, count, text=True):
    """count sessions, one after the other, each echoing (a text message
    and) 1000 random bytes; a byte back-end answers binary only."""
    for i in range(count):
        async with h.ws_connect(uri, ctx) as c:
            if text:
                await h.echo_once(c, f"hello {i}")
            await h.echo_once(c, os.urandom(1000))
            await h.close_cleanly(c)


def no_trust_opens(gw, what, run):
    """Run `run()` under strace; require that no certificate or trust file
    was opened meanwhile."""
    s = setup.get()
    tracer = Strace(gw.proc.pid, s.dir)
    try:
        run()
    finally:
        paths, accepted = tracer.stop()
    trust = [x for x in paths if TRUST_FILE.search(x)]
    h._diag(f"{what}: {accepted} connection(s) accepted under strace, {len(paths)} open(s) in all; "
            f"certificate/trust files: {len(trust)}")
    h.require(accepted >= N, f"{what}: strace saw {accepted} accepted connection(s), not {N}: "
              "it did not trace the gateway's work")
    for x in sorted(set(paths))[:20]:
        h._diag(f"  opened: {x}")
    h.require(not trust, f"{what}: the gateway opened certificate or trust files while "
              f"{N} connections arrived ({len(trust)} opens): {sorted(set(trust))[:5]}")


@T.case(f"wss:// echo, no client certificates: {N} sessions open no certificate or trust file")
def _():
    s = setup.get()
    gw = gateway.get()
    # one session before tracing: whatever is lazily set up once per process
    h.arun(echo_sessions(s.echo_url, s.ctx(), 1), 30)
    no_trust_opens(gw, "wss echo", lambda: h.arun(echo_sessions(s.echo_url, s.ctx(), N), 90))


@T.case(f"wss:// with ssl.verify-client required: {N} sessions with a trusted client certificate "
        "open no certificate or trust file, and a client without one is still refused")
def _():
    s = setup.get()
    gw = gateway.get()
    h.arun(echo_sessions(s.mtls_url, s.ctx(s.client), 1), 30)
    no_trust_opens(gw, "mutual TLS", lambda: h.arun(echo_sessions(s.mtls_url, s.ctx(s.client), N), 90))

    async def anonymous():
        try:
            async with h.ws_connect(s.mtls_url, s.ctx()) as c:
                await h.echo_once(c, "should not echo")
        except h.Fail:
            raise
        except Exception as e:  # noqa: BLE001 -- any refusal will do
            return f"{type(e).__name__}: {e}"
        return None
    refused = h.arun(anonymous(), 30)
    h.require(refused is not None, "a client without a certificate got an echo session "
              "although ssl.verify-client is required")


@T.case(f"wss:// -> ssl:// proxy verified by the truststore: {N} sessions open no certificate "
        "or trust file")
def _():
    s = setup.get()
    gw = gateway.get()
    h.arun(echo_sessions(s.proxy_url, s.ctx(), 1, text=False), 30)
    before = len(s.tls_echo.records)
    no_trust_opens(gw, "wss -> ssl proxy",
                   lambda: h.arun(echo_sessions(s.proxy_url, s.ctx(), N, text=False), 90))
    recs = s.tls_echo.wait_records(before + N, 30)
    h._diag(f"back-end TLS sessions resumed by the gateway: {sum(1 for r in recs[before:] if r.get('reused'))} "
            f"of {N} (each chain is verified again all the same)")
    h.require(all(r.get("tls") == "TLSv1.3" for r in recs[before:]),
              f"back-end sessions not all TLS 1.3: {[r.get('tls') for r in recs[before:]]}")


@T.case(f"no truststore: {N} dials of an ssl:// back-end against the system's CAs open no "
        "certificate file, and are refused (our test CA is not a system CA)")
def _():
    s = setup.get()
    gw = sys_gateway.get()

    async def refused(count):
        for i in range(count):
            try:
                async with h.ws_connect(s.sys_url, s.ctx()) as c:
                    await c.send(b"x")
                    await h.recv_within(c, 10)
            except h.Fail:
                raise
            except Exception:  # noqa: BLE001 -- the session ends: expected
                continue
            raise h.Fail("a back-end whose CA is not a system CA was reached without a truststore")
    h.arun(refused(1), 30)
    no_trust_opens(gw, "system trust", lambda: h.arun(refused(N), 120))
    h.require(gw.wait_stderr(lambda l: "not in the system's CA database" in l, 5),
              "no log line naming the untrusted back-end certificate")


if __name__ == "__main__":
    T.run()
