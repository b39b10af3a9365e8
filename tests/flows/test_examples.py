#!/usr/bin/python3
# conf/examples (issue 6): every example configuration passes `postern
# check` apart from the stores it expects you to make, and the how-tos in
# conf/examples/README.md work as written: for each flow, its `postern …`
# and `openssl pkcs12 …` commands run in a fresh copy of the folder, and
# the `postern check` they end with then reports no errors.
# SPDX-License-Identifier: Apache-2.0
import glob
import os
import re
import shlex
import shutil
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib as f  # noqa: E402
from flowlib import h  # noqa: E402

T = h.Tap(case_timeout=60)


def examples_dir():
    return os.path.join(h.source_dir(), "conf", "examples")


def readme_sections():
    """{flow number: [command lines from its ```sh blocks]} (continuations
    joined, comments dropped)."""
    with open(os.path.join(examples_dir(), "README.md"), encoding="utf-8") as fh:
        text = fh.read()
    sections = {}
    for m in re.finditer(r"^## (\d+)\. .*?(?=^## |\Z)", text, re.M | re.S):
        cmds = []
        for block in re.findall(r"```sh\n(.*?)```", m.group(0), re.S):
            joined = block.replace("\\\n", " ")
            for line in joined.splitlines():
                line = line.split(" #")[0].strip() if not line.lstrip().startswith("#") else ""
                if line:
                    cmds.append(line)
        sections[int(m.group(1))] = cmds
    return sections


def check_output_ok(r, name):
    lines = [l for l in (r.stdout + r.stderr).splitlines() if l.strip()]
    errors = [l for l in lines if ": error: " in l]
    warnings = [l for l in lines if ": warning: " in l]
    h.require(not warnings, f"{name}: warnings:\n" + "\n".join(warnings))
    for e in errors:
        h.require("does not exist" in e and ("keystore" in e or "truststore" in e),
                  f"{name}: an error other than a missing store:\n{e}")
    h.check_equal(r.returncode, 1 if errors else 0, f"{name}: postern check exit status")
    return errors


for path in sorted(glob.glob(os.path.join(os.environ.get("POSTERN_SOURCE_DIR", "."),
                                          "conf", "examples", "*.xml"))):
    name = os.path.basename(path)

    @T.case(f"postern check conf/examples/{name}: no warnings, no errors but missing stores")
    def _(path=path, name=name):
        r = h.run_postern(["check", "--config", path])
        errors = check_output_ok(r, name)
        f.say(f"{name}: {len(errors)} missing store(s)")


FLOW_BASE = {3: 1, 4: 2}          # flows that start where another left off
MANUAL = ("postern run", "postern cert fetch", "postern cert remove")


def run_section(workdir, cmds, alias_holder):
    ran = 0
    checks = []
    for line in cmds:
        if line.startswith(MANUAL) or not line.startswith(("postern ", "openssl pkcs12 ")):
            continue
        argv = shlex.split(line)
        if argv[0] == "postern":
            if "devca.p12" in argv and argv[1:3] == ["cert", "export"]:
                argv = [a if a not in ("ALIAS", "postern development ca on HOST")
                        else alias_holder.setdefault("alias", f.ca_alias("devca.p12", workdir))
                        for a in argv]
            r = h.run_postern(argv[1:], cwd=workdir)
            h.require(r.returncode == 0, f"README command `{line}` exited {r.returncode}:\n"
                                         f"{r.stdout}{r.stderr}")
            if argv[1] == "check":
                checks.append((line, r))
            ran += 1
        elif argv[:2] == ["openssl", "pkcs12"]:
            h.run_checked([h.require_tool("openssl")] + argv[1:], cwd=workdir)
            ran += 1
    return ran, checks


def readme_case(flow):
    sections = readme_sections()
    h.require(flow in sections, f"README.md has no section '## {flow}. …'")
    root = T.tmpdir(f"postern-examples-{flow}-")
    work = os.path.join(root, "conf", "examples")
    shutil.copytree(examples_dir(), work)
    for junk in glob.glob(os.path.join(work, "*.db")) + glob.glob(os.path.join(work, "*.p12")) \
            + glob.glob(os.path.join(work, "*.pw")) + glob.glob(os.path.join(work, "*.pem")):
        os.unlink(junk)
    os.makedirs(os.path.join(root, "data"))
    os.symlink(f.web_dir(), os.path.join(root, "data", "web"))
    alias = {}
    total = 0
    checks = []
    for part in ([FLOW_BASE[flow]] if flow in FLOW_BASE else []) + [flow]:
        ran, c = run_section(work, sections[part], alias)
        total += ran
        checks += c
    h.require(total > 0, f"no commands found in README.md section {flow}")
    for line, r in checks:
        h.require(": OK" in r.stdout + r.stderr, f"`{line}` after the section's commands:\n{r.stdout}{r.stderr}")
    f.say(f"flow {flow}: {total} commands ran, {len(checks)} check(s) OK")


for flow in range(1, 8):
    @T.case(f"README.md flow {flow}: its postern and openssl pkcs12 commands run as written "
            "in a copy of conf/examples and its `postern check` then says OK")
    def _(flow=flow):
        readme_case(flow)


if __name__ == "__main__":
    T.run()
