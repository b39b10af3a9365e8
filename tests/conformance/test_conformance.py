#!/usr/bin/python3
# test_conformance.py: the RFC 6455 conformance suite (Autobahn-style
# sections 1-7 and 9) against the real `postern run`: echo over ws:// and
# wss://, and a ws -> ws proxy to the gateway's own echo over ws:// and wss://.
# SPDX-License-Identifier: Apache-2.0
"""One TAP point per case per target: `ok N - 4 (proxy ws) 4.2.3 …`.

Every case is sent in one write, split mid-header with 50 ms pauses, and,
when shorter than 300 bytes, one byte per write; every mode must give the
RFC-correct answer with the exact close code, TCP must close after the
closing handshake, and a new connection must still echo afterwards.
The expectations are the RFC's, not what today's gateway happens to do.

By hand, from the source root:
    POSTERN=$PWD/build/gateway/postern POSTERN_SOURCE_DIR=$PWD \\
        /usr/bin/python3 tests/conformance/test_conformance.py [FILTER…]
FILTER keeps the cases whose id starts with it (e.g. `4.2 7.3.1`);
CONFORMANCE_TARGETS="echo ws,proxy wss" keeps those targets.
"""

import os
import sys

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(HERE, os.pardir, "e2e"))
import harness as h  # noqa: E402
import cases as cs  # noqa: E402
import runner as r  # noqa: E402

TARGET_BUDGET = 100    # seconds for one target before crash bisection gives up

T = h.Tap(case_timeout=TARGET_BUDGET + 60)


class Setup:
    """Certificates, the config and the gateway: echo and a ws -> ws proxy
    to that echo, each with and without a 64 KiB message limit, each
    accepted on ws:// and wss://."""

    def __init__(self):
        self.dir = T.tmpdir("postern-conformance-")
        self.keystore = h.make_keystore(self.dir)
        ports = h.free_ports(8)
        self.urls = {}
        names = ("echo", "echo-limited", "proxy", "proxy-limited")
        for i, name in enumerate(names):
            self.urls[name] = (f"ws://localhost:{ports[2 * i]}/{name}",
                               f"wss://localhost:{ports[2 * i + 1]}/{name}")
        self.ports = {name: (ports[2 * i], ports[2 * i + 1]) for i, name in enumerate(names)}
        limit = {"ws.maximum.message.size": "64k"}
        back = self.urls["echo"][0]
        services = [
            h.service_xml("echo", "echo", self.urls["echo"]),
            h.service_xml("echo-limited", "echo", self.urls["echo-limited"],
                          accept_options=limit),
            h.service_xml("proxy", "proxy", self.urls["proxy"], [back]),
            h.service_xml("proxy-limited", "proxy", self.urls["proxy-limited"], [back],
                          accept_options=limit),
        ]
        ks = self.keystore.relative_to(self.dir)
        self.config = h.write_config(self.dir, h.config_xml(services, keystore=ks))
        self.ctx = h.client_ssl_context(cafile=self.keystore.trust_pem)
        all_urls = [u for pair in self.urls.values() for u in pair]
        self.box = r.GatewayBox(self.config, all_urls, "postern run (conformance)")
        T.add_cleanup(self.box.stop)

    def target(self, service, secure):
        i = 1 if secure else 0
        ctx = self.ctx if secure else None
        return r.Target(f"{service} {'wss' if secure else 'ws'}",
                        self.ports[service][i], f"/{service}",
                        self.ports[f"{service}-limited"][i], f"/{service}-limited", ctx)


setup = h.Fixture("keystore, config and postern run", Setup)

TARGETS = (("echo", False), ("echo", True), ("proxy", False), ("proxy", True))


def selected_cases():
    filters = sys.argv[1:]
    cases = cs.all_cases()
    if filters:
        cases = [c for c in cases if any(c.cid == f or c.cid.startswith(f.rstrip(".") + ".")
                                         for f in filters)]
    return cases


def make_run(service, secure, cases):
    def build():
        s = setup.get()
        run = r.TargetRun(s.target(service, secure), s.box, cases, TARGET_BUDGET)
        failed = sum(1 for e in run.results.values() if e)
        h._diag(f"target {service} {'wss' if secure else 'ws'}: {len(cases)} cases in "
                f"{run.took:.1f} s, {failed} failed, gateway crashes: {run.crashes}")
        return run
    return h.Fixture(f"{service} {'wss' if secure else 'ws'} run", build)


def selected_targets():
    wanted = os.environ.get("CONFORMANCE_TARGETS")
    if not wanted:
        return TARGETS
    names = {n.strip() for n in wanted.split(",")}
    return [t for t in TARGETS if f"{t[0]} {'wss' if t[1] else 'ws'}" in names]


def register():
    cases = selected_cases()
    for service, secure in selected_targets():
        run = make_run(service, secure, cases)
        label = f"{service} {'wss' if secure else 'ws'}"
        for case in cases:
            section = case.cid.split(".")[0]

            def check(case=case, run=run):
                errors = run.get().results.get(case.cid)
                h.require(errors is not None, "the case produced no result")
                h._diag(f"case ran {run.get().durations.get(case.cid, 0):.2f} s "
                        "(all modes and the liveness check)")
                if errors:
                    raise h.Fail("\n".join(errors))
            T.case(f"{section} ({label}) {case.name}")(check)


register()

if __name__ == "__main__":
    T.run()
