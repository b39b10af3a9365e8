#!/usr/bin/python3
# test_keyring.py: store passwords in the desktop keyring (TAP) — a real
# Secret Service (gnome-keyring-daemon, unlocked from the test) on a private
# session bus, checked with secret-tool and openssl, the gateway serving wss
# to python3-websockets, and the headless errors.
#
# The script re-executes itself under `dbus-run-session` (a private session
# bus for this run only); inside, it starts `gnome-keyring-daemon
# --foreground --unlock --components=secrets` with a scratch HOME and XDG
# folders and feeds the unlock password on stdin, so nothing touches the
# user's keyring.  Headless cases run postern with no session bus at all,
# and on a second bus that has no Secret Service (a bus configuration with
# no service activation).
# SPDX-License-Identifier: Apache-2.0
import os
import re
import shutil
import signal
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
BUS_MARK = "POSTERN_KEYRING_TEST_BUS"

if os.environ.get(BUS_MARK) != "1":
    # outside: start a private session bus for the whole run, or fail
    if shutil.which("dbus-run-session") is None:
        print("1..1")
        print("not ok 1 - a private session bus: dbus-run-session not found; "
              "install Debian's dbus-daemon (make deps)")
        sys.exit(1)
    os.environ[BUS_MARK] = "1"
    os.execvp("dbus-run-session", ["dbus-run-session", "--", sys.executable,
                                   os.path.abspath(__file__)] + sys.argv[1:])

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(HERE), "e2e"))
import harness as h  # noqa: E402

T = h.Tap(case_timeout=90)
SCHEMA = "org.postern.StorePassword"
UNLOCK_PASSWORD = "postern-test-login-keyring"
OUTPUTS = []          # (what, text) of every command run, for the leak check
SECRETS = {}          # store → keyring password, once the leak check has read them
BUS_WAIT = 15.0       # the Secret Service owns its name on the bus
HEADLESS_VARS = ("DBUS_SESSION_BUS_ADDRESS", "DISPLAY", "WAYLAND_DISPLAY")

BARE_BUS_CONF = """<!DOCTYPE busconfig PUBLIC "-//freedesktop//DTD D-Bus Bus Configuration 1.0//EN"
 "http://www.freedesktop.org/standards/dbus/1.0/busconfig.dtd">
<busconfig>
  <type>session</type>
  <listen>unix:tmpdir=/tmp</listen>
  <auth>EXTERNAL</auth>
  <policy context="default">
    <allow send_destination="*" eavesdrop="true"/>
    <allow eavesdrop="true"/>
    <allow own="*"/>
  </policy>
</busconfig>
"""


class Setup:
    """A scratch HOME/XDG tree, an unlocked gnome-keyring on this run's bus"""

    def __init__(self):
        self.dir = T.tmpdir("postern-keyring-")
        self.home = os.path.join(self.dir, "home")
        self.work = os.path.join(self.dir, "work")
        self.runtime = os.path.join(self.dir, "runtime")
        for d in (self.home, self.work, self.runtime):
            os.makedirs(d, mode=0o700)
        self.env = dict(os.environ,
                        HOME=self.home,
                        XDG_DATA_HOME=os.path.join(self.home, ".local", "share"),
                        XDG_CONFIG_HOME=os.path.join(self.home, ".config"),
                        XDG_CACHE_HOME=os.path.join(self.home, ".cache"),
                        XDG_RUNTIME_DIR=self.runtime,
                        LC_ALL="C.UTF-8")
        for var in ("DISPLAY", "WAYLAND_DISPLAY"):
            self.env.pop(var, None)
        # make check-asan: libsecret's own leaks are suppressed in
        # tests/config/lsan.supp, which matches only full stacks (GLib and
        # libsecret have no frame pointers): use the slow unwinder here
        asan = self.env.get("ASAN_OPTIONS")
        if asan and "fast_unwind_on_malloc=1" in asan:
            self.env["ASAN_OPTIONS"] = asan.replace("fast_unwind_on_malloc=1", "fast_unwind_on_malloc=0")
        h.require(self.env.get("DBUS_SESSION_BUS_ADDRESS"),
                  "no DBUS_SESSION_BUS_ADDRESS inside dbus-run-session")
        self.daemon = None
        self.log = open(os.path.join(self.dir, "gnome-keyring-daemon.log"), "wb")
        daemon = h.require_tool("gnome-keyring-daemon")
        self.secret_tool = h.require_tool("secret-tool")
        self.gdbus = h.require_tool("gdbus")
        self.daemon = subprocess.Popen(
            [daemon, "--foreground", "--unlock", "--components=secrets"],
            stdin=subprocess.PIPE, stdout=self.log, stderr=subprocess.STDOUT,
            env=self.env, start_new_session=True)
        T.add_cleanup(self.stop)
        self.daemon.stdin.write(UNLOCK_PASSWORD.encode())
        self.daemon.stdin.close()
        deadline = time.monotonic() + BUS_WAIT
        while not self.has_secret_service():
            if self.daemon.poll() is not None:
                with open(self.log.name, errors="replace") as f:
                    raise h.Fail(f"gnome-keyring-daemon exited {self.daemon.returncode}: {f.read()}")
            h.require(time.monotonic() < deadline,
                      f"org.freedesktop.secrets has no owner {BUS_WAIT} s after starting "
                      "gnome-keyring-daemon")
            time.sleep(0.1)

    def has_secret_service(self):
        r = h.run_tool([self.gdbus, "call", "--session", "--dest", "org.freedesktop.DBus",
                        "--object-path", "/org/freedesktop/DBus",
                        "--method", "org.freedesktop.DBus.NameHasOwner",
                        "org.freedesktop.secrets"], env=self.env, timeout=10)
        return r.returncode == 0 and "true" in r.stdout

    def stop(self):
        if self.daemon is not None and self.daemon.poll() is None:
            os.kill(self.daemon.pid, signal.SIGTERM)
            try:
                self.daemon.wait(5)
            except subprocess.TimeoutExpired:
                os.kill(self.daemon.pid, signal.SIGKILL)
                self.daemon.wait(5)
        self.log.close()

    def path(self, name):
        return os.path.join(self.work, name)

    def postern(self, args, env=None, what=None, timeout=h.TOOL_TIMEOUT):
        r = h.run_tool([h.postern_path()] + list(args), cwd=self.work,
                       env=env or self.env, timeout=timeout)
        OUTPUTS.append((what or "postern " + " ".join(args), r.stdout + r.stderr))
        return r

    def ok(self, args, **kw):
        r = self.postern(args, **kw)
        h.require(r.returncode == 0, f"postern {' '.join(args)} exited {r.returncode}:\n"
                                     f"{r.stdout}{r.stderr}")
        return r

    def lookup(self, store):
        """secret-tool's view: the store's password, or None"""
        r = h.run_tool([self.secret_tool, "lookup", "store", os.path.abspath(store)],
                       env=self.env, timeout=20)
        return r.stdout if r.returncode == 0 and r.stdout else None

    def store_secret(self, store, password):
        r = h.run_tool([self.secret_tool, "store", "--label=test", "xdg:schema", SCHEMA,
                        "store", os.path.abspath(store)], input=password, env=self.env,
                       timeout=20)
        h.require(r.returncode == 0, f"secret-tool store failed: {r.stderr}")

    def headless_env(self):
        env = {k: v for k, v in self.env.items() if k not in HEADLESS_VARS}
        empty = os.path.join(self.dir, "no-bus-runtime")
        os.makedirs(empty, mode=0o700, exist_ok=True)
        env["XDG_RUNTIME_DIR"] = empty     # no $XDG_RUNTIME_DIR/bus either
        return env


setup = h.Fixture("a Secret Service: gnome-keyring-daemon --unlock on a private session bus", Setup)


def config_text(store="ks.p12", keyring="true", password_file=None, port=None):
    port = port or h.free_port()
    x = ('<?xml version="1.0" encoding="UTF-8"?>\n'
         f'<gateway-config xmlns="{h.NS_2016}">\n'
         "  <service>\n    <name>echo</name>\n"
         f"    <accept>wss://localhost:{port}/echo</accept>\n"
         "    <type>echo</type>\n  </service>\n"
         "  <security>\n    <keystore>\n      <type>PKCS12</type>\n"
         f"      <file>{store}</file>\n")
    if password_file:
        x += f"      <password-file>{password_file}</password-file>\n"
    if keyring is not None:
        x += f"      <password-keyring>{keyring}</password-keyring>\n"
    x += "    </keystore>\n  </security>\n</gateway-config>\n"
    return x, f"wss://localhost:{port}/echo"


def write_config(name, **kw):
    s = setup.get()
    text, url = config_text(**kw)
    return h.write_config(s.work, text, name=name), url


def line_of(path, needle):
    with open(path, encoding="utf-8") as f:
        for n, line in enumerate(f, 1):
            if needle in line:
                return n
    raise h.Fail(f"{needle!r} not in {path}")


def keystore():
    """ks.p12, made by the generate case (made here if that one failed)"""
    s = setup.get()
    ks = s.path("ks.p12")
    if not os.path.exists(ks):
        s.ok(["cert", "generate", "--keystore", "ks.p12", "--password-keyring",
              "localhost", "127.0.0.1", "::1"])
    return ks


def require_headless_error(text, store, what):
    h.require("cannot reach the keyring" in text,
              f"{what}: the error does not say the keyring is unreachable:\n{text}")
    h.require(store in text, f"{what}: the error does not name the store {store}:\n{text}")
    pw = os.path.splitext(store)[0] + ".pw"
    h.require(pw in text and "--password-file" in text,
              f"{what}: the error does not give the .pw alternative ({pw}):\n{text}")


@T.case("cert generate --password-keyring: a store, its password in the keyring, no .pw file")
def case_generate():
    s = setup.get()
    r = s.ok(["cert", "generate", "--keystore", "ks.p12", "--password-keyring",
              "localhost", "127.0.0.1", "::1"])
    ks = s.path("ks.p12")
    h.require(os.path.isfile(ks), "no ks.p12")
    h.check_equal(oct(os.stat(ks).st_mode & 0o777), oct(0o600), "mode of ks.p12")
    pw_files = [n for n in os.listdir(s.work) if n.endswith(".pw")]
    h.check_equal(pw_files, [], ".pw files made")
    h.require("keyring" in r.stdout, f"generate does not say where the password went:\n{r.stdout}")
    password = s.lookup(ks)
    h.require(password is not None, "secret-tool lookup store finds no password for ks.p12")
    h.require(re.fullmatch(r"[A-Za-z0-9_-]{24}", password),
              f"the keyring's password is not a 24-character random one ({len(password)} chars)")
    # openssl, not Postern, opens the store with the keyring's password
    openssl = h.require_tool("openssl")
    o = h.run_tool([openssl, "pkcs12", "-in", ks, "-nokeys", "-passin", "env:KR_PW"],
                   env=dict(s.env, KR_PW=password))
    h.require(o.returncode == 0 and "BEGIN CERTIFICATE" in o.stdout,
              f"openssl pkcs12 cannot open ks.p12 with the keyring's password:\n{o.stderr}")
    wrong = h.run_tool([openssl, "pkcs12", "-in", ks, "-nokeys", "-passin", "pass:changeit"],
                       env=s.env)
    h.require(wrong.returncode != 0, "ks.p12 opens with keytool's default password")


@T.case("cert list --password-keyring opens the store; without it the password is wrong")
def case_list():
    s = setup.get()
    keystore()
    r = s.ok(["cert", "list", "ks.p12", "--password-keyring", "--format=tsv"])
    h.require(re.search(r"^localhost\tkey\t", r.stdout, re.M),
              f"no key entry localhost in the list:\n{r.stdout}")
    r = s.postern(["cert", "list", "ks.p12"])
    h.check_equal(r.returncode, 1, "exit status of cert list without --password-keyring")
    h.require("wrong password" in r.stderr and "add --password-keyring" in r.stderr,
              f"the error does not point at --password-keyring:\n{r.stderr}")
    r = s.postern(["cert", "list", "ks.p12", "--password-keyring", "--password-file", "ks.pw"])
    h.check_equal(r.returncode, 1, "exit status with --password-file and --password-keyring")
    h.require("--password-keyring" in r.stderr and "give one" in r.stderr,
              f"unclear refusal of both options:\n{r.stderr}")


@T.case("cert export, import and remove with --password-keyring (a new truststore, no .pw)")
def case_import_remove():
    s = setup.get()
    keystore()
    s.ok(["cert", "export", "ks.p12", "localhost", "--out", "gateway.pem", "--password-keyring"])
    with open(s.path("gateway.pem")) as f:
        h.require("BEGIN CERTIFICATE" in f.read(), "gateway.pem holds no PEM certificate")
    s.ok(["cert", "import", "trust.p12", "gateway.pem", "--alias", "gateway", "--password-keyring"])
    h.require(not os.path.exists(s.path("trust.pw")), "import made trust.pw")
    h.require(s.lookup(s.path("trust.p12")) is not None, "no keyring password for trust.p12")
    r = s.ok(["cert", "list", "trust.p12", "--password-keyring", "--format=tsv"])
    h.require(re.search(r"^gateway\ttrusted\t", r.stdout, re.M), f"no trusted entry:\n{r.stdout}")
    s.ok(["cert", "remove", "trust.p12", "gateway", "--password-keyring"])
    r = s.ok(["cert", "list", "trust.p12", "--password-keyring", "--format=tsv"])
    h.require("gateway" not in r.stdout, f"the entry is still there:\n{r.stdout}")


@T.case("a refused generate takes the password it stored out of the keyring again")
def case_abandon():
    s = setup.get()
    with open(s.path("not-a-ca.p12"), "wb") as f:
        f.write(b"this is not a store\n")
    r = s.postern(["cert", "generate", "--keystore", "refused.p12", "--password-keyring",
                   "--ca", "not-a-ca.p12", "localhost"])
    h.check_equal(r.returncode, 1, "exit status with a damaged CA store")
    h.require(not os.path.exists(s.path("refused.p12")), "refused.p12 was written")
    h.require(s.lookup(s.path("refused.p12")) is None,
              "the keyring still holds a password for the store that was never written")


@T.case("postern check accepts <password-keyring>true</password-keyring>")
def case_check_ok():
    s = setup.get()
    keystore()
    config, _ = write_config("check-ok.xml")
    r = s.ok(["check", "--config", config])
    h.require("warning:" not in r.stdout + r.stderr and "no errors or warnings" in r.stdout + r.stderr,
              f"check warns about a keyring store:\n{r.stdout}{r.stderr}")


@T.case("postern check: a bad <password-keyring>, or both elements, is an error on its line")
def case_check_bad():
    s = setup.get()
    keystore()
    config, _ = write_config("check-bad.xml", keyring="yes")
    r = s.postern(["check", "--config", config])
    h.check_equal(r.returncode, 1, "exit status for <password-keyring>yes</…>")
    n = line_of(config, "<password-keyring>")
    h.require(re.search(rf"check-bad\.xml:{n}:\d+: error: .*true or false", r.stdout + r.stderr),
              f"no error at line {n}:\n{r.stdout}{r.stderr}")
    config, _ = write_config("check-both.xml", password_file="ks.pw")
    r = s.postern(["check", "--config", config])
    h.check_equal(r.returncode, 1, "exit status with <password-file> and <password-keyring>")
    h.require("both <password-file> and <password-keyring>" in r.stdout + r.stderr,
              f"unclear error:\n{r.stdout}{r.stderr}")


@T.case("postern check: a wrong password in the keyring names the store and the keyring")
def case_check_wrong():
    s = setup.get()
    shutil.copyfile(keystore(), s.path("copy.p12"))
    s.store_secret(s.path("copy.p12"), "not-the-password")
    config, _ = write_config("check-wrong.xml", store="copy.p12")
    r = s.postern(["check", "--config", config])
    h.check_equal(r.returncode, 1, "exit status with a wrong keyring password")
    out = r.stdout + r.stderr
    h.require("wrong password" in out and "copy.p12" in out and "keyring" in out,
              f"unclear error:\n{out}")


@T.case("postern run serves wss with the keyring's password (python3-websockets echo), also after SIGHUP")
def case_run():
    s = setup.get()
    keystore()
    config, url = write_config("run.xml")
    gw = h.Gateway(config, name="postern run (keyring)", env=s.env).start()
    try:
        gw.wait_listening(1)
        ctx = h.client_ssl_context(cafile=s.path("gateway.pem")
                                   if os.path.exists(s.path("gateway.pem")) else None)
        if not os.path.exists(s.path("gateway.pem")):
            s.ok(["cert", "export", "ks.p12", "localhost", "--out", "gateway.pem",
                  "--password-keyring"])
            ctx = h.client_ssl_context(cafile=s.path("gateway.pem"))

        async def talk():
            async with h.ws_connect(url, ctx) as conn:
                await h.echo_once(conn, "kept in the keyring")
                await h.echo_once(conn, b"\x00\x01binary")
                await h.close_cleanly(conn)
        h.arun(talk(), 20)
        # SIGHUP reads the configuration, and so the keyring, again
        gw.signal(signal.SIGHUP)
        line = gw.wait_stderr(lambda l: "reloaded" in l or "reload failed" in l, 20)
        h.require(line is not None and "reloaded" in line, f"no successful reload: {line}")
        h.arun(talk(), 20)
        gw.stop()
    finally:
        OUTPUTS.append(("postern run", gw.describe(tail=None)))
        gw.kill()


@T.case("cert doctor reads a keystore whose password is in the keyring")
def case_doctor():
    s = setup.get()
    keystore()
    config, _ = write_config("doctor.xml")
    r = s.postern(["cert", "doctor", "--config", config], timeout=120)
    out = r.stdout + r.stderr
    h.require("ks.p12" in out, f"the doctor does not show the keystore:\n{out}")
    h.require(re.search(r"✓\s+ks\.p12\s+readable", out),
              f"the doctor could not open the keyring store:\n{out}")
    h.require(re.search(r"✓\s+accept host localhost\s+has a certificate", out),
              f"no ✓ row for the accept host localhost:\n{out}")
    exports = [l for l in out.splitlines() if "postern cert export ks.p12" in l]
    h.require(exports and all("--password-keyring" in l for l in exports),
              f"the doctor's export fixes lack --password-keyring:\n{out}")


@T.case("headless (no session bus): run, check and cert exit 1 with what to do")
def case_headless():
    s = setup.get()
    ks = keystore()
    env = s.headless_env()
    config, _ = write_config("headless.xml")
    # Gateway.start() adds os.environ to env: take the bus out of both
    saved = {k: os.environ.pop(k) for k in HEADLESS_VARS if k in os.environ}
    try:
        gw = h.Gateway(config, name="postern run (headless)", env=env).start()
    finally:
        os.environ.update(saved)
    rc = gw.wait_exit(h.BAD_CONFIG_TIMEOUT)
    text = gw.describe(tail=None)
    OUTPUTS.append(("postern run (headless)", text))
    if rc is None:
        gw.kill()
        raise h.Fail(f"postern run still running headless:\n{text}")
    h.check_equal(rc, 1, "exit status of postern run headless")
    n = line_of(config, "<password-keyring>")
    h.require(re.search(rf"headless\.xml:{n}:\d+: error: ", text), f"no error at line {n}:\n{text}")
    require_headless_error(text, ks, "postern run")
    r = s.postern(["check", "--config", config], env=env)
    h.check_equal(r.returncode, 1, "exit status of postern check headless")
    require_headless_error(r.stdout + r.stderr, ks, "postern check")
    r = s.postern(["cert", "list", "ks.p12", "--password-keyring"], env=env)
    h.check_equal(r.returncode, 1, "exit status of cert list headless")
    require_headless_error(r.stderr, "ks.p12", "cert list")
    r = s.postern(["cert", "generate", "--keystore", "headless.p12", "--password-keyring",
                   "localhost"], env=env)
    h.check_equal(r.returncode, 1, "exit status of cert generate headless")
    require_headless_error(r.stderr, "headless.p12", "cert generate")
    h.require(not os.path.exists(s.path("headless.p12")) and not os.path.exists(s.path("headless.pw")),
              "a headless generate left files behind")


@T.case("a session bus without a Secret Service: the same clear error")
def case_bare_bus():
    s = setup.get()
    ks = keystore()
    conf = os.path.join(s.dir, "bare-bus.conf")
    with open(conf, "w") as f:
        f.write(BARE_BUS_CONF)
    config, _ = write_config("bare.xml")
    r = h.run_tool(["dbus-run-session", "--config-file", conf, "--",
                    h.postern_path(), "check", "--config", config],
                   env=s.headless_env(), cwd=s.work)
    out = r.stdout + r.stderr
    OUTPUTS.append(("postern check (bare bus)", out))
    h.check_equal(r.returncode, 1, "exit status of postern check on a bus with no keyring")
    require_headless_error(out, ks, "postern check (bare bus)")


@T.case("no keyring password appears in any output or log")
def case_no_leak():
    s = setup.get()
    secrets = {}
    for name in ("ks.p12", "trust.p12"):
        pw = s.lookup(s.path(name))
        h.require(pw, f"no keyring password for {name} to look for")
        secrets[name] = pw
    h.require(len(OUTPUTS) >= 10, f"only {len(OUTPUTS)} outputs collected")
    for what, text in OUTPUTS:
        for name, pw in secrets.items():
            h.require(pw not in text, f"the password of {name} appears in the output of {what}")
    h.require(UNLOCK_PASSWORD not in "".join(t for _, t in OUTPUTS), "the unlock password leaked")
    SECRETS.update(secrets)


@T.case("a locked keyring (no prompt can unlock it here): check says it is locked, exit 1")
def case_locked():
    # last: nothing unlocks the collection again without a prompt
    s = setup.get()
    ks = keystore()
    r = h.run_tool([s.gdbus, "call", "--session", "--dest", "org.freedesktop.secrets",
                    "--object-path", "/org/freedesktop/secrets",
                    "--method", "org.freedesktop.Secret.Service.Lock",
                    "['/org/freedesktop/secrets/collection/login']"], env=s.env, timeout=20)
    h.require(r.returncode == 0, f"could not lock the login collection: {r.stderr}")
    h.require(s.lookup(ks) is None, "secret-tool still reads the password: the keyring is not locked")
    config, _ = write_config("locked.xml")
    r = s.postern(["check", "--config", config], timeout=60)
    out = r.stdout + r.stderr
    h.check_equal(r.returncode, 1, "exit status of check with a locked keyring")
    h.require("is locked" in out and ks in out and ".pw" in out, f"unclear error:\n{out}")
    h.require(SECRETS and not any(pw in out for pw in SECRETS.values()), "a password leaked")


T.run()
