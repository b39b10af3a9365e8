#!/usr/bin/python3
# test_man.py: the manual pages render without warnings, install, and
# document every command, option and configuration name the code knows.
# SPDX-License-Identifier: Apache-2.0
"""Manual page tests (TAP).

Usage: test_man.py BUILD_ROOT PAGE... [--editor POSTERN_EDITOR]

Each page must render with `man --warnings` (LC_ALL=C and C.UTF-8,
MANWIDTH=80) and `groff -ww` without a single warning, give mandb a whatis
line (lexgrog), and install under mandir with `meson install --destdir`.
The XML of gateway-config.xml(5)'s SYNOPSIS and EXAMPLES must pass
`postern check` (no error; a fragment is checked inside a gateway-config).

Each PAGE is a built page (build/data/man/postern.1, ...).  The facts the
pages must cover are taken from the code, never from a list kept here:

- `postern --help`, `postern cert --help`: every command and cert command
  has a subsection "postern COMMAND" in postern(1);
- `postern COMMAND --help` and `postern cert COMMAND --help` (the built
  binary): every option it prints appears in that command's subsection;
- gateway/config/*.c: every option of the parser's `known_options[]`, every
  element of `known_elements[]`, every element of `loosening_elements[]`,
  every namespace of `gateway_namespaces[]`, and every service type of the
  validator's `TYPE_accepts[]` (with its accept and connect schemes) appears
  in gateway-config.xml(5);
- `postern-editor --help-all`: every option appears in postern-editor(1);
- every variable gateway/ and editor/ read with (g_)getenv appears in the
  ENVIRONMENT section of postern(1) and postern-editor(1).

So adding an option, a command, a config option or a service type without
documenting it fails this test.  Pages are rendered by man(1) itself (with
LC_ALL=C, no hyphenation, wide lines) before they are searched.
"""

import glob
import os
import re
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness as h  # noqa: E402

TOOL_TIMEOUT = 30

args = sys.argv[1:]
editor = None
if "--editor" in args:
    i = args.index("--editor")
    editor = args[i + 1]
    del args[i:i + 2]
if len(args) < 2:
    sys.exit("usage: test_man.py BUILD_ROOT PAGE... [--editor POSTERN_EDITOR]")
BUILD_ROOT = args[0]
PAGES = {os.path.basename(p): p for p in args[1:]}
POSTERN = os.environ["POSTERN"]
SOURCE = os.environ["POSTERN_SOURCE_DIR"]

tap = h.Tap(case_timeout=60)


# ---- running things --------------------------------------------------------

def run(argv, env=None, check=True):
    full_env = dict(os.environ)
    full_env.update(env or {})
    p = subprocess.run(argv, capture_output=True, text=True, env=full_env,
                       timeout=TOOL_TIMEOUT, stdin=subprocess.DEVNULL)
    if check and p.returncode != 0:
        raise h.Fail(f"{' '.join(argv)} exited with {p.returncode}:\n{p.stdout}{p.stderr}")
    return p


def render(page, width, locale="C", extra=()):
    """(stdout, stderr, status) of man(1) formatting PAGE."""
    p = run(["man", "--warnings", *extra, "-l", page],
            env={"MANWIDTH": str(width), "LC_ALL": locale, "MANPAGER": "cat",
                 "PAGER": "cat", "MAN_KEEP_FORMATTING": ""}, check=False)
    return p.stdout, p.stderr, p.returncode


_plain_cache = {}


def plain_text(page):
    """The page as man shows it, one paragraph per line (no hyphenation,
    no justification, lines wide enough never to wrap), formatting removed."""
    if page not in _plain_cache:
        out, err, status = render(PAGES[page], 4000, extra=("--nh", "--nj"))
        if status != 0 or not out.strip():
            raise h.Fail(f"man -l {PAGES[page]} failed ({status}): {err}")
        out = re.sub(r".\x08", "", out)             # overstrike bold/underline
        out = re.sub(r"\x1b\[[0-9;]*m", "", out)    # SGR
        _plain_cache[page] = out
    return _plain_cache[page]


def sections(page):
    """{heading: text} for every section (column 0) and subsection
    (indented by 3) of a rendered page; a subsection's text is also part
    of its section's."""
    result = {}
    section = sub = None
    for line in plain_text(page).splitlines():
        if re.match(r"^\S", line):
            section, sub = line.strip(), None
            result.setdefault(section, "")
            continue
        if re.match(r"^ {3}\S", line):
            sub = line.strip()
            result.setdefault(sub, "")
        if section is not None:
            result[section] += line + "\n"
        if sub is not None:
            result[sub] += line + "\n"
    return result


def mentions(text, word):
    """Whether WORD appears in TEXT as a whole token (an option name is not
    found inside a longer one: --format is not in --format-version)."""
    return re.search(r"(?<![\w.-])" + re.escape(word) + r"(?![\w-])", text) is not None


# ---- what the code knows ---------------------------------------------------

def help_commands(argv):
    """The command names listed under "Commands:" by ARGV --help."""
    out = run(argv + ["--help"]).stdout
    names, listing = [], False
    for line in out.splitlines():
        if line.strip().endswith(":") and not line.startswith(" "):
            listing = line.strip() == "Commands:"
            continue
        m = re.match(r"^  (\S+)\s", line)
        if listing and m:
            names.append(m.group(1))
    if not names:
        raise h.Fail(f"{' '.join(argv)} --help lists no commands:\n{out}")
    return names


def help_options(argv):
    """Every option ARGV --help-all prints, GLib's own help options aside."""
    p = run(argv + ["--help-all"])
    options, group = [], None
    for line in p.stdout.splitlines():
        if line and not line.startswith(" "):
            group = line.strip()
            continue
        if group is None or group.startswith("Help Options") or group.startswith("Usage"):
            continue
        m = re.match(r"^\s+(?:(-\w), )?(--[\w-]+)", line)
        if m:
            options += [o for o in m.groups() if o]
    return options


def c_table(name, where="gateway/config/*.c"):
    """The string literals of the C array NAME[] in the sources."""
    for path in sorted(glob.glob(os.path.join(SOURCE, where))):
        text = open(path, encoding="utf-8").read()
        m = re.search(r"\b" + re.escape(name) + r"\s*\[\]\s*=\s*\{(.*?)\};", text, re.S)
        if m:
            body = re.sub(r"/\*.*?\*/", "", m.group(1), flags=re.S)
            return re.findall(r'"((?:[^"\\]|\\.)*)"', body)
    raise h.Fail(f"no table {name}[] in {where}: it moved, so update tests/man/test_man.py "
                 "to read it where it is now")


def service_types():
    """{type: (accept schemes, connect schemes)} from the validator's tables."""
    types = {}
    for path in sorted(glob.glob(os.path.join(SOURCE, "gateway/config/*.c"))):
        text = open(path, encoding="utf-8").read()
        for m in re.finditer(r"\b(\w+)_(accepts|connects)\s*\[\]\s*=\s*\{(.*?)\};", text, re.S):
            entry = types.setdefault(m.group(1), ([], []))
            entry[0 if m.group(2) == "accepts" else 1].extend(re.findall(r'"([^"]*)"', m.group(3)))
    if not types:
        raise h.Fail("no TYPE_accepts[] tables in gateway/config/*.c: update tests/man/test_man.py")
    return types


def missing(text, words):
    return [w for w in words if not mentions(text, w)]


# ---- cases -----------------------------------------------------------------

def lint_case(page, locale):
    def case():
        out, err, status = render(PAGES[page], 80, locale)
        h.require(status == 0, f"man exited with {status}: {err}")
        h.require(err.strip() == "", f"man --warnings printed on stderr:\n{err}")
        h.require("NAME" in out and "SEE ALSO" in out, f"the page lacks NAME or SEE ALSO:\n{out[:400]}")
        widest = max(len(line) for line in out.splitlines())
        h.require(widest <= 80, f"a line of {widest} columns at MANWIDTH=80")
    return case


def strict_case(page):
    """groff with every warning on, and the whatis line mandb will index."""
    def case():
        pre = run(["preconv", PAGES[page]])
        p = subprocess.run(["groff", "-t", "-ww", "-z", "-man", "-Tutf8"], input=pre.stdout,
                           capture_output=True, text=True, timeout=TOOL_TIMEOUT)
        h.require(p.returncode == 0 and p.stderr.strip() == "",
                  f"groff -ww exited with {p.returncode}:\n{p.stderr}")
        name = page.rsplit(".", 1)[0]
        whatis = run(["lexgrog", PAGES[page]]).stdout
        h.require(re.search(r':\s*"' + re.escape(name) + r" - \S", whatis) is not None,
                  f"lexgrog finds no “{name} - …” whatis line: {whatis!r}")
    return case


for page in PAGES:
    for locale in ("C", "C.UTF-8"):
        tap.case(f"{page} renders with no warning (man --warnings, LC_ALL={locale}, MANWIDTH=80)")(
            lint_case(page, locale))
    tap.case(f"{page}: no groff warning of any kind (-ww), and a whatis line (lexgrog)")(
        strict_case(page))


def command_case(argv, heading):
    """Every option of ARGV --help is in postern(1) under HEADING."""
    def case():
        text = sections("postern.1").get(heading)
        h.require(text is not None, f"postern.1 has no subsection “{heading}”")
        options = help_options(argv)
        h.require(options, f"{' '.join(argv)} --help-all printed no option")
        gone = missing(text, options)
        h.require(not gone, f"postern.1, “{heading}”, does not document {', '.join(gone)} "
                            f"(from {' '.join(argv)} --help-all)")
    return case


@tap.case("postern.1 has a subsection for every command of postern --help")
def every_command():
    subs = sections("postern.1")
    gone = [c for c in help_commands([POSTERN]) if f"postern {c}" not in subs]
    h.require(not gone, f"no subsection for: {', '.join(gone)}")


@tap.case("postern.1 has a subsection for every command of postern cert --help")
def every_cert_command():
    subs = sections("postern.1")
    gone = [c for c in help_commands([POSTERN, "cert"]) if f"postern cert {c}" not in subs]
    h.require(not gone, f"no subsection for: {', '.join(gone)}")


for command in ("run", "check"):
    tap.case(f"postern.1 documents every option of postern {command} --help")(
        command_case([POSTERN, command], f"postern {command}"))

try:
    CERT_COMMANDS = help_commands([POSTERN, "cert"])
except Exception as e:  # noqa: BLE001 - reported as a failing case
    CERT_COMMANDS = []

    @tap.case("postern cert --help lists the cert commands")
    def cert_help_failed(error=e):
        raise h.Fail(str(error))

for command in CERT_COMMANDS:
    tap.case(f"postern.1 documents every option of postern cert {command} --help")(
        command_case([POSTERN, "cert", command], f"postern cert {command}"))


@tap.case("the option check finds an undocumented option (self-test)")
def self_test():
    text = sections("postern.1")["postern check"]
    h.require(missing(text, ["--config", "-q"]) == [], "--config / -q not found where they are")
    h.require(missing(text, ["--no-such-option", "--conf", "-z"]) == ["--no-such-option", "--conf", "-z"],
              "a made-up or partial option name was taken as documented")
    h.require(mentions("use --format=tsv here", "--format") and not mentions("--format-x", "--format"),
              "whole-token matching is wrong")


@tap.case("gateway-config.xml.5 documents every option of known_options[]")
def config_options():
    options = c_table("known_options")
    h.require(len(options) >= 10, f"suspiciously few options read: {options}")
    text = sections("gateway-config.xml.5")
    gone = missing(text.get("OPTIONS", ""), options)
    h.require(not gone, f"OPTIONS does not document: {', '.join(gone)}")


@tap.case("gateway-config.xml.5 names every element of known_elements[]")
def config_elements():
    names = c_table("known_elements")
    h.require(len(names) >= 20, f"suspiciously few elements read: {names}")
    text = sections("gateway-config.xml.5").get("ELEMENTS", "")
    gone = [n for n in dict.fromkeys(names) if f"<{n}>" not in text]
    h.require(not gone, f"ELEMENTS does not name: {', '.join(gone)}")


@tap.case("gateway-config.xml.5 lists every element refused as loosening security")
def config_loosening():
    names = c_table("loosening_elements")
    text = sections("gateway-config.xml.5").get("DIAGNOSTICS", "")
    gone = missing(text, names)
    h.require(not gone, f"DIAGNOSTICS does not list: {', '.join(gone)}")


@tap.case("gateway-config.xml.5 names every namespace the parser accepts")
def config_namespaces():
    uris = c_table("gateway_namespaces")
    text = sections("gateway-config.xml.5").get("DESCRIPTION", "")
    gone = [u for u in uris if u not in text]
    h.require(uris and not gone, f"DESCRIPTION does not name: {', '.join(gone) or 'any namespace'}")


@tap.case("gateway-config.xml.5 documents every service type with its URL schemes")
def config_service_types():
    subs = sections("gateway-config.xml.5")
    problems = []
    for kind, (accepts, connects) in service_types().items():
        text = subs.get(kind)
        if text is None:
            problems.append(f"no subsection “{kind}” under SERVICE TYPES")
            continue
        for scheme in accepts + connects:
            if f"{scheme}://" not in text:
                problems.append(f"“{kind}” does not mention {scheme}://")
    h.require(not problems, "; ".join(problems))


NS = "http://xmlns.kaazing.org/2016/06/gateway"
EXAMPLE_HOSTS = ["localhost", "gateway.example"]


def config_examples():
    """The XML blocks of SYNOPSIS and EXAMPLES in the page's (configured)
    scdoc source, which is built beside the page."""
    source = open(PAGES["gateway-config.xml.5"] + ".scd", encoding="utf-8").read()
    blocks, section, inside, lines = [], None, False, []
    for line in source.splitlines():
        if line.startswith("# ") and not inside:
            section = line[2:].strip()
        elif line.strip() == "```":
            if inside and section in ("SYNOPSIS", "EXAMPLES"):
                blocks.append((section, "\n".join(lines)))
            inside, lines = not inside, []
        elif inside:
            lines.append(line)
    return blocks


def check_example(number, section, xml):
    """postern check accepts the example: a complete file as it is, a
    fragment inside a gateway-config with a key store for EXAMPLE_HOSTS."""
    d = tap.tmpdir("postern-man-example-")
    run([POSTERN, "cert", "generate", "--keystore", os.path.join(d, "keystore.db"), *EXAMPLE_HOSTS])
    if "<gateway-config" not in xml:
        xml = (f'<gateway-config xmlns="{NS}">\n{xml}\n'
               "<security><keystore><file>keystore.db</file></keystore></security>\n"
               "</gateway-config>\n")
    path = os.path.join(d, "gateway-config.xml")
    with open(path, "w", encoding="utf-8") as f:
        f.write(xml)
    p = run([POSTERN, "check", "--config", path], check=False)
    errors = [line for line in p.stderr.splitlines() if ": error: " in line]
    h.require(p.returncode == 0 and not errors,
              f"{section} example {number}: postern check exited with {p.returncode}:\n{p.stderr}\n"
              f"--- the file ---\n{xml}")


@tap.case("gateway-config.xml.5: postern check accepts the SYNOPSIS and every EXAMPLES block")
def config_examples_check():
    blocks = config_examples()
    h.require(len(blocks) >= 3, f"found {len(blocks)} example blocks, expected the SYNOPSIS and EXAMPLES")
    for number, (section, xml) in enumerate(blocks, 1):
        check_example(number, section, xml)


def environment_variables(where):
    """The names the C sources under WHERE read with (g_)getenv."""
    names = set()
    for path in glob.glob(os.path.join(SOURCE, where, "**", "*.c"), recursive=True):
        names.update(re.findall(r'\b(?:g_)?getenv\s*\(\s*"([A-Za-z_][A-Za-z0-9_]*)"',
                                open(path, encoding="utf-8").read()))
    return sorted(names)


def environment_case(page, where):
    def case():
        names = environment_variables(where)
        h.require(names, f"no getenv() call found under {where}/: update tests/man/test_man.py")
        text = sections(page).get("ENVIRONMENT")
        h.require(text is not None, f"{page} has no ENVIRONMENT section")
        gone = missing(text, names)
        h.require(not gone, f"{page}, ENVIRONMENT, does not document {', '.join(gone)}")
    return case


tap.case("postern.1 documents every environment variable gateway/ reads")(
    environment_case("postern.1", "gateway"))

if editor is not None:
    tap.case("postern-editor.1 documents every environment variable editor/ reads")(
        environment_case("postern-editor.1", "editor"))

    @tap.case("postern-editor.1 documents every option of postern-editor --help-all")
    def editor_options():
        h.require("postern-editor.1" in PAGES, "postern-editor.1 was not built")
        options = help_options([editor])
        gone = missing(plain_text("postern-editor.1"), options + ["-h", "--help"])
        h.require(not gone, f"postern-editor.1 does not document {', '.join(gone)}")


@tap.case("meson install --tags man installs every page under mandir")
def install():
    dest = tap.tmpdir("postern-man-")
    run(["meson", "install", "-C", BUILD_ROOT, "--no-rebuild", "--quiet",
         "--tags", "man", "--destdir", dest])
    found = {os.path.basename(p): p for p in glob.glob(os.path.join(dest, "**", "man?", "*"),
                                                        recursive=True)}
    for page in PAGES:
        h.require(page in found, f"{page} not installed: {sorted(found)}")
        section = page.rsplit(".", 1)[1]
        h.require(os.path.basename(os.path.dirname(found[page])) == f"man{section}",
                  f"{page} installed in {found[page]}")
        h.require(open(found[page], "rb").read() == open(PAGES[page], "rb").read(),
                  f"installed {page} differs from the built one")


tap.run()
