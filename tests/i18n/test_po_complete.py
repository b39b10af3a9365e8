#!/usr/bin/python3
# test_po_complete.py: every language of po/LINGUAS translates every string
# of po/POTFILES.in, none fuzzy: the catalogue is extracted as
# `meson compile postern-pot` does (xgettext, GLib's keywords), merged with
# each po/LANG.po (msgmerge) in a scratch folder, and counted (TAP).
# SPDX-License-Identifier: Apache-2.0
import os
import re
import shutil
import subprocess
import sys
import tempfile

SOURCE = os.environ.get("POSTERN_SOURCE_DIR") or os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "..")
PO = os.path.join(SOURCE, "po")
# meson's i18n.gettext(preset: 'glib') arguments, and ours (po/meson.build)
XGETTEXT_ARGS = [
    "--from-code=UTF-8", "--add-comments", "--keyword=_", "--keyword=N_", "--keyword=C_:1c,2",
    "--keyword=NC_:1c,2", "--keyword=g_dcgettext:2", "--keyword=g_dngettext:2,3",
    "--keyword=g_dpgettext2:2c,3", "--flag=N_:1:pass-c-format", "--flag=C_:2:pass-c-format",
    "--flag=NC_:2:pass-c-format", "--flag=g_dngettext:2:pass-c-format",
    "--flag=g_strdup_printf:1:c-format", "--flag=g_string_printf:2:c-format",
    "--flag=g_string_append_printf:2:c-format", "--flag=g_error_new:3:c-format",
    "--flag=g_set_error:4:c-format", "--flag=g_markup_printf_escaped:1:c-format",
    "--flag=g_log:3:c-format", "--flag=g_print:1:c-format", "--flag=g_printerr:1:c-format",
    "--flag=g_printf:1:c-format", "--flag=g_fprintf:2:c-format", "--flag=g_sprintf:2:c-format",
    "--flag=g_snprintf:3:c-format",
]


def run(argv, **kw):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120, **kw)


def msgids(po_file):
    """The first line of each msgid in po_file (header excluded)."""
    out = []
    for block in open(po_file, encoding="utf-8").read().split("\n\n"):
        m = re.search(r'^msgid "(.*)"\n((?:".*"\n?)*)', block, re.M)
        if m:
            text = m.group(1) + "".join(re.findall(r'^"(.*)"$', m.group(2), re.M))
            if text:
                out.append(text[:100])
    return out


def main():
    work = tempfile.mkdtemp(prefix="postern-po-")
    pot = os.path.join(work, "postern.pot")
    with open(os.path.join(PO, "LINGUAS"), encoding="utf-8") as f:
        languages = [w for line in f if not line.startswith("#") for w in line.split()]
    print("1..%d" % (1 + len(languages)))
    failed = 0
    r = run(["xgettext", "--package-name=postern", "-D", SOURCE, "-f", os.path.join(PO, "POTFILES.in"),
             "-o", pot] + XGETTEXT_ARGS)
    if r.returncode != 0 or not os.path.exists(pot):
        print("not ok 1 - xgettext extracts the catalogue from po/POTFILES.in")
        print("# " + r.stderr.replace("\n", "\n# "))
        shutil.rmtree(work, ignore_errors=True)
        return 1
    print("ok 1 - xgettext extracts %d strings from po/POTFILES.in" % len(msgids(pot)))
    for n, lang in enumerate(languages, start=2):
        merged = os.path.join(work, lang + ".po")
        r = run(["msgmerge", "--quiet", "--no-wrap", "-o", merged, os.path.join(PO, lang + ".po"), pot])
        if r.returncode != 0:
            failed += 1
            print("not ok %d - po/%s.po merges with the catalogue" % (n, lang))
            print("# " + r.stderr.replace("\n", "\n# "))
            continue
        missing = {}
        for what, flag in (("untranslated", "--untranslated"), ("fuzzy", "--only-fuzzy")):
            part = os.path.join(work, f"{lang}-{what}.po")
            run(["msgattrib", flag, "--no-obsolete", "--no-wrap", "-o", part, merged])
            missing[what] = msgids(part) if os.path.exists(part) else []
        stats = run(["msgfmt", "--check", "--statistics", "-o", "/dev/null", merged])
        ok = not missing["untranslated"] and not missing["fuzzy"] and stats.returncode == 0
        print("%s %d - po/%s.po translates every string, none fuzzy, formats checked (%s)"
              % ("ok" if ok else "not ok", n, lang, stats.stderr.strip()))
        if not ok:
            failed += 1
            for what, ids in missing.items():
                for msgid in ids:
                    print(f"# {what}: {msgid}")
            if stats.returncode != 0:
                print("# " + stats.stderr.replace("\n", "\n# "))
            print(f"# fix: meson compile -C build postern-update-po, then translate po/{lang}.po")
    shutil.rmtree(work, ignore_errors=True)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
