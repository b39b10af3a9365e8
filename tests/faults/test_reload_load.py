#!/usr/bin/python3
# test_reload_load.py: issue 11 item 8 (a) — change under load: 50 clients
# stream through a wss → ssl proxy (a TLS echo back-end in its own process)
# while the keystore file is replaced, by atomic rename, with one holding a
# new certificate and SIGHUP is sent, 10 times.  No session is dropped, no
# byte is corrupted (SHA-256 of everything sent and received, at the client
# and at the back-end), and a new connection after each reload is shown the
# new certificate (its SHA-256 read from the client side).
# SPDX-License-Identifier: Apache-2.0
import asyncio
import os
import signal
import sys
import threading
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import faultlib as f  # noqa: E402
from faultlib import h, p, KiB  # noqa: E402

T = h.Tap(case_timeout=90)

CLIENTS = 50
RELOADS = 10
RELOAD_GAP = 0.7          # seconds between reloads (after the previous one is done)
RELOAD_TIMEOUT = 10.0     # for the gateway's "reloaded" line
SIZES = [16 * KiB, 7, 4096, 125, 126, 65535, 1000, 30000]
PACE = 0.04               # seconds between a client's messages


class Setup:
    def __init__(self):
        self.dir = T.tmpdir("postern-faults-")
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=self.pki, method="openssl")
        with open(self.keystore.password_file) as fp:
            self.password = fp.read().strip()
        self.first_sha = None
        # the certificates each reload installs, made before the load starts
        self.next_certs = [self.pki.leaf("localhost", h.LOCAL_SANS, stem=f"rotated-{i}")
                           for i in range(RELOADS)]
        self.backend = f.Backend("echo", cert=self.pki.server("localhost"), name="tls-echo")
        T.add_cleanup(self.backend.kill)
        self.port = h.free_port()
        self.url = f"wss://localhost:{self.port}/ssl"
        truststore = p.pem_truststore(self.dir, self.pki.ca.cert)
        text = p.config_xml([h.service_xml("wss-ssl", "proxy", [self.url],
                                           [f"ssl://localhost:{self.backend.port}"])],
                            keystore=("keystore.db", "keystore.pw"),
                            truststore=os.path.relpath(truststore, self.dir))
        self.config = h.write_config(self.dir, text)
        self.gw = h.start_gateway(self.config, [self.url], name="postern run (reload under load)")
        self.first_sha = f.presented_cert_sha256(self.port, cafile=self.pki.ca.cert)
        self.reloads = []        # (cert sha expected, cert sha seen, seconds to reload)
        self.run()

    def replace_keystore(self, cert, i):
        """A new PKCS#12 store with `cert` (same password), renamed over
        keystore.db: the gateway sees the old file or the new, never half."""
        tmp = os.path.join(self.dir, f".keystore-{i}.db")
        self.pki.pkcs12(cert, tmp, password=self.password,
                        password_file=os.path.join(self.dir, f".keystore-{i}.pw"),
                        alias="localhost")
        os.rename(tmp, self.keystore.store)

    def reload_loop(self):
        for i, cert in enumerate(self.next_certs):
            time.sleep(RELOAD_GAP)
            before = f.count_lines(self.gw, "reloaded ")
            self.replace_keystore(cert, i)
            t0 = time.monotonic()
            self.gw.signal(signal.SIGHUP)
            ok = f.wait_until(lambda: f.count_lines(self.gw, "reloaded ") > before
                              or f.count_lines(self.gw, "reload failed") > 0, RELOAD_TIMEOUT)
            took = time.monotonic() - t0
            seen = None
            if ok:
                seen = f.presented_cert_sha256(self.port, cafile=self.pki.ca.cert)
            self.reloads.append((p.cert_sha256(cert.cert), seen, took))

    def run(self):
        ctx = h.client_ssl_context(cafile=self.pki.ca.cert)
        self.streams = [f.Stream(f"client {i}") for i in range(CLIENTS)]
        self.during = None

        async def go():
            loop = asyncio.get_running_loop()
            stop = asyncio.Event()
            tasks = [asyncio.ensure_future(
                f.stream_echo(self.url, ctx, stop, s, p.Pattern(f"reload-{i}"),
                              sizes=SIZES, pace=PACE))
                     for i, s in enumerate(self.streams)]
            # every client streaming before the first reload
            deadline = time.monotonic() + 30
            while any(s.n_got == 0 and s.error is None for s in self.streams):
                if time.monotonic() > deadline:
                    break
                await asyncio.sleep(0.05)
            self.got_before = [s.n_got for s in self.streams]
            await loop.run_in_executor(None, self.reload_loop)
            self.got_after = [s.n_got for s in self.streams]
            stop.set()
            await asyncio.gather(*tasks)

        h.arun(go(), 80)


setup = h.Fixture("PKI, TLS echo back-end, gateway, 50 streaming clients and 10 reloads", Setup)


@T.case(f"{CLIENTS} wss → ssl sessions stream through {RELOADS} keystore replacements + "
        "SIGHUP: none dropped, each closes with 1000, every byte echoed (SHA-256 equal)",
        timeout=85)
def _():
    s = setup.get()
    bad = [st for st in s.streams
           if st.error or st.close_code != 1000 or st.n_got != st.n_sent or
           st.got.hexdigest() != st.sent.hexdigest() or st.n_sent == 0]
    h.require(not bad, f"{len(bad)} of {CLIENTS} sessions failed:\n" +
              "\n".join(map(repr, bad[:10])))
    total = sum(st.n_sent for st in s.streams)
    sys.stdout.write(f"# {total} bytes each way over {CLIENTS} sessions\n")


@T.case("every session kept moving bytes while the reloads ran")
def _():
    s = setup.get()
    stalled = [i for i in range(CLIENTS) if s.got_after[i] <= s.got_before[i]]
    h.require(not stalled, f"sessions with no byte echoed during the reloads: {stalled}")


@T.case("the back-end received exactly what each client sent (SHA-256 at both ends)")
def _():
    s = setup.get()
    want = sorted((str(st.n_sent), st.sent.hexdigest()) for st in s.streams)
    got = f.wait_until(lambda: len(s.backend.closed()) >= CLIENTS and s.backend.closed(), 15)
    h.require(got, f"the back-end saw {len(s.backend.closed())} of {CLIENTS} connections end")
    h.check_equal(sorted(got), want, "(bytes, SHA-256) the back-end received per connection")


@T.case(f"{RELOADS} reloads logged, none failed; each within {RELOAD_TIMEOUT:.0f} s")
def _():
    s = setup.get()
    h.check_equal(f.count_lines(s.gw, "reload failed"), 0, "'reload failed' lines")
    h.check_equal(f.count_lines(s.gw, "reloaded "), RELOADS, "'reloaded' lines")
    slow = [r for r in s.reloads if r[1] is None]
    h.require(not slow, f"{len(slow)} reload(s) not logged within {RELOAD_TIMEOUT} s")
    sys.stdout.write("# reload times (s): " + " ".join(f"{r[2]:.2f}" for r in s.reloads) + "\n")


@T.case("after each reload a new connection is shown that reload's certificate "
        "(SHA-256 from the client side, verified against the CA)")
def _():
    s = setup.get()
    h.check_equal(len(s.reloads), RELOADS, "reloads done")
    shas = [r[0] for r in s.reloads]
    h.require(len(set(shas + [s.first_sha])) == RELOADS + 1,
              "the rotated certificates are not all different")
    for i, (want, seen, _) in enumerate(s.reloads):
        h.check_equal(seen, want, f"certificate shown after reload {i + 1}")


@T.case("the gateway still runs and stops with exit 0 after the reloads")
def _():
    s = setup.get()
    h.require(s.gw.running(), "the gateway is no longer running")
    s.gw.stop()


T.run()
