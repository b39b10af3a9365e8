#!/usr/bin/python3
# test_reference.py: the conformance cases against python3-websockets' own
# echo server, a known-good RFC 6455 peer: proves the harness and its
# expectations right, so a gateway failure is the gateway's.
# SPDX-License-Identifier: Apache-2.0
"""One TAP point per section: every case of the section, in every send
mode, passes against websockets 10.4 (Debian) -- exact close codes, TCP
closed within 2 s after the closing handshake, liveness afterwards."""

import os
import subprocess
import sys
import threading

sys.dont_write_bytecode = True
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
sys.path.insert(1, os.path.join(HERE, os.pardir, "e2e"))
import harness as h  # noqa: E402
import cases as cs  # noqa: E402
import runner as r  # noqa: E402

T = h.Tap(case_timeout=120)
SECTIONS = {"1": "framing", "2": "pings", "3": "reserved bits", "4": "opcodes",
            "5": "fragmentation", "6": "UTF-8", "7": "close", "9": "limits"}


class Reference:
    """The reference server process, in the shape runner.TargetRun needs."""

    generation = 0

    def __init__(self):
        h.import_websockets()
        self.port, self.limited_port = h.free_ports(2)
        self.proc = subprocess.Popen(
            [sys.executable, os.path.join(HERE, "reference_server.py"),
             str(self.port), str(self.limited_port)],
            stdout=subprocess.PIPE, stderr=subprocess.PIPE, start_new_session=True)
        T.add_cleanup(self.stop)
        line = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()),
                                  daemon=True)
        reader.start()
        reader.join(10)
        h.require(line and line[0].strip() == b"ready",
                  f"reference server did not start within 10 s (exit {self.proc.poll()})")
        # its tracebacks for the hostile cases are expected; don't let a
        # full pipe block it
        threading.Thread(target=self.proc.stderr.read, daemon=True).start()

    def ensure(self):
        h.require(not self.dead(), f"the reference server died: {self.death()}")
        return 0

    def dead(self):
        return self.proc.poll() is not None

    def death(self):
        return f"exit {self.proc.poll()}"

    def stop(self):
        if self.proc.poll() is None:
            self.proc.kill()
            self.proc.wait(5)


def run_all():
    ref = Reference()
    target = r.Target("reference", ref.port, "/", ref.limited_port, "/", None)
    run = r.TargetRun(target, ref, cs.all_cases(), 100)
    h._diag(f"{len(run.results)} cases in {run.took:.1f} s against python3-websockets")
    return run


run = h.Fixture("python3-websockets reference server", run_all)


def register():
    by_section = {}
    for case in cs.all_cases():
        by_section.setdefault(case.cid.split(".")[0], []).append(case)
    for section, cases in by_section.items():
        def check(cases=cases):
            results = run.get().results
            bad = [f"{c.name}:\n  " + "\n  ".join(results.get(c.cid, ["no result"]))
                   for c in cases if results.get(c.cid) != []]
            if bad:
                raise h.Fail("\n".join(bad))
        T.case(f"reference (python3-websockets): all {len(cases)} section {section} "
               f"({SECTIONS.get(section, '?')}) cases pass")(check)


register()

if __name__ == "__main__":
    T.run()
