#!/usr/bin/python3
# harness.py: shared helpers for Postern's end-to-end tests (TAP, ports,
# certificates, configs, the gateway process, WebSocket clients).
# SPDX-License-Identifier: Apache-2.0
"""End-to-end test harness.

Runs under Debian's /usr/bin/python3 (3.11) with python3-websockets 10.4 and
the standard library only.  Everything talks to 127.0.0.1 / ::1; every wait
is bounded; every process started here is stopped by its own pid.

Environment:
  POSTERN             path of the built `postern` binary (required)
  POSTERN_SOURCE_DIR  the source root (required)
  POSTERN_E2E_CERTS   "openssl" (default) or "postern": how keystores are made
  POSTERN_E2E_KEEP    set to keep temporary folders even when all cases pass

A test file registers cases with Tap.case and calls Tap.run().  Each case is
one TAP test point; a case fails by raising (Fail from check()/require(), or
any exception).  Shared set-up goes in a Fixture: if it fails, every case that
uses it reports "not ok" with the set-up error, so the count of failures is
real and nothing is skipped.
"""

import asyncio
import contextlib
import datetime
import errno
import os
import secrets
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import traceback
from xml.sax.saxutils import escape as xml_escape

NS_2016 = "http://xmlns.kaazing.org/2016/06/gateway"

# Bounded waits used across the tests (seconds).
LISTEN_TIMEOUT = 10.0     # all `listening on` lines after start
STOP_TIMEOUT = 5.0        # exit after SIGTERM
BAD_CONFIG_TIMEOUT = 5.0  # exit 1 after a config error
WS_OPEN_TIMEOUT = 10.0
WS_CLOSE_TIMEOUT = 5.0
TOOL_TIMEOUT = 60.0       # openssl, node, postern check/cert


class Fail(Exception):
    """A failed expectation; the message is printed as TAP diagnostics."""


def require(cond, message):
    if not cond:
        raise Fail(message)


def check_equal(actual, expected, what):
    if actual != expected:
        raise Fail(f"{what}: expected {expected!r}, got {actual!r}")


def short(data, limit=80):
    """repr() of data, shortened for diagnostics."""
    r = repr(data)
    return r if len(r) <= limit else r[:limit] + f"… ({len(data)} long)"


# --------------------------------------------------------------------------
# TAP producer


def _diag(text):
    for line in str(text).rstrip("\n").splitlines() or [""]:
        sys.stdout.write(f"# {line}\n")


class Fixture:
    """Lazily built shared state.  get() builds it once; if building fails,
    every later get() raises Fail with the original error, so each dependent
    case fails (and is counted) instead of being skipped."""

    def __init__(self, name, build):
        self.name = name
        self._build = build
        self._done = False
        self._value = None
        self._error = None

    def get(self):
        if not self._done:
            self._done = True
            try:
                self._value = self._build()
            except Exception as e:  # noqa: BLE001 - reported per case
                self._error = e
                self._trace = traceback.format_exc()
                _diag(f"set-up '{self.name}' failed:")
                _diag(self._trace)
        if self._error is not None:
            raise Fail(f"set-up '{self.name}' failed: {self._error}")
        return self._value

    @property
    def built(self):
        return self._done and self._error is None


class Tap:
    """A TAP producer: `1..N`, then `ok N - name` / `not ok N - name` with
    diagnostics; exit status 0 only if every case passed."""

    def __init__(self, case_timeout=120):
        self.cases = []
        self.cleanups = []
        self.case_timeout = case_timeout
        self.tmpdirs = []
        self.failed = 0

    def case(self, name, timeout=None):
        def register(fn):
            self.cases.append((name, fn, timeout or self.case_timeout))
            return fn
        return register

    def add_cleanup(self, fn):
        self.cleanups.append(fn)

    def tmpdir(self, prefix="postern-e2e-"):
        d = tempfile.mkdtemp(prefix=prefix)
        self.tmpdirs.append(d)
        return d

    def _alarm(self, signum, frame):
        raise Fail("case exceeded its time budget (harness watchdog)")

    def run(self):
        sys.stdout.write(f"1..{len(self.cases)}\n")
        sys.stdout.flush()
        signal.signal(signal.SIGALRM, self._alarm)
        try:
            for number, (name, fn, budget) in enumerate(self.cases, 1):
                started = time.monotonic()
                error = None
                signal.alarm(int(budget))
                try:
                    fn()
                except Fail as e:
                    error = str(e)
                except BaseException as e:  # noqa: BLE001
                    if isinstance(e, KeyboardInterrupt):
                        raise
                    error = "".join(traceback.format_exception(e)).rstrip()
                finally:
                    signal.alarm(0)
                took = time.monotonic() - started
                report = Gateway.sanitizer_reports()
                if report and error is None:
                    error = "a sanitizer reported an error in a gateway:\n" + report
                if error is None:
                    sys.stdout.write(f"ok {number} - {name}\n")
                else:
                    self.failed += 1
                    sys.stdout.write(f"not ok {number} - {name}\n")
                    _diag(error)
                    for gw in list(Gateway.live):
                        _diag(gw.describe())
                _diag(f"({took:.2f} s)")
                sys.stdout.flush()
        finally:
            for fn in reversed(self.cleanups):
                try:
                    fn()
                except Exception as e:  # noqa: BLE001
                    _diag(f"cleanup failed: {e!r}")
            for gw in list(Gateway.live):
                gw.kill()
            report = Gateway.sanitizer_reports()
            if report:
                # reported at exit (LeakSanitizer): fail the run as a whole
                self.failed += 1
                sys.stdout.write(f"not ok {len(self.cases) + 1} - no sanitizer report from any gateway\n")
                _diag(report)
            keep = self.failed or os.environ.get("POSTERN_E2E_KEEP")
            if keep:
                for i, gw in enumerate(Gateway.started):
                    gw.save_log(os.path.join(os.path.dirname(gw.config),
                                             f"postern-run-{i}.log"))
            for d in self.tmpdirs:
                if keep:
                    _diag(f"kept {d}")
                else:
                    shutil.rmtree(d, ignore_errors=True)
            sys.stdout.flush()
        sys.exit(1 if self.failed else 0)


# --------------------------------------------------------------------------
# Environment and tools


def postern_path():
    path = os.environ.get("POSTERN")
    require(path, "POSTERN is not set: it must name the built postern binary "
                  "(meson sets it; by hand: POSTERN=build-e2e/gateway/postern)")
    require(os.path.isfile(path) and os.access(path, os.X_OK),
            f"POSTERN={path} is not an executable file; build it first "
            "(meson compile -C build-e2e)")
    return path


def source_dir():
    path = os.environ.get("POSTERN_SOURCE_DIR")
    require(path and os.path.isdir(path),
            "POSTERN_SOURCE_DIR is not set to the source root")
    return path


def require_tool(name, path=None):
    """Return the path of a tool; a missing one is a failure, not a skip."""
    found = path if path and os.access(path, os.X_OK) else shutil.which(name)
    require(found, f"required tool '{name}' not found"
                   f"{' at ' + path if path else ' on PATH'}; install its Debian package")
    return found


def run_tool(argv, timeout=TOOL_TIMEOUT, cwd=None, input=None, env=None):
    """Run a command, bounded; return CompletedProcess (text)."""
    try:
        return subprocess.run(argv, cwd=cwd, input=input, env=env,
                              capture_output=True, text=True, timeout=timeout)
    except subprocess.TimeoutExpired as e:
        raise Fail(f"{' '.join(map(str, argv))} did not finish within {timeout} s; "
                   f"stdout={e.stdout!r} stderr={e.stderr!r}")


def run_checked(argv, **kw):
    r = run_tool(argv, **kw)
    if r.returncode != 0:
        raise Fail(f"{' '.join(map(str, argv))} exited {r.returncode}:\n"
                   f"{r.stdout}{r.stderr}")
    return r


def run_postern(args, timeout=TOOL_TIMEOUT, cwd=None):
    """`postern ARGS…` (check, cert …), bounded; returns CompletedProcess."""
    return run_tool([postern_path()] + list(args), timeout=timeout, cwd=cwd)


# --------------------------------------------------------------------------
# Ports


def free_ports(count=1, host="127.0.0.1", also=("::1",)):
    """`count` distinct ports the kernel says are free now on `host` (bound
    to port 0 together, then released) and also free on the `also` hosts,
    since an accept URL on `localhost` may bind both 127.0.0.1 and ::1."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    for _ in range(50):
        socks = []
        try:
            for _ in range(count):
                s = socket.socket(family, socket.SOCK_STREAM)
                s.bind((host, 0))
                socks.append(s)
            ports = [s.getsockname()[1] for s in socks]
        finally:
            for s in socks:
                s.close()
        if all(port_is_free(p, other) for p in ports for other in also):
            return ports
    raise Fail(f"no {count} ports free on {host} and {', '.join(also)} after 50 tries")


def free_port(host="127.0.0.1"):
    return free_ports(1, host)[0]


def port_is_free(port, host="127.0.0.1"):
    """True if we can bind host:port ourselves (nobody listens on it).
    SO_REUSEADDR as a server would, so TIME_WAIT leftovers don't count."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    try:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        s.bind((host, port))
        s.listen(1)
        return True
    except OSError as e:
        if e.errno in (errno.EADDRINUSE, errno.EACCES):
            return False
        if e.errno == errno.EADDRNOTAVAIL:  # e.g. no ::1 on this host
            return True
        raise
    finally:
        s.close()


def nobody_accepts(port, host="127.0.0.1"):
    """True if a TCP connect to host:port is refused."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    s = socket.socket(family, socket.SOCK_STREAM)
    s.settimeout(2)
    try:
        s.connect((host, port))
        return False
    except (ConnectionRefusedError, socket.timeout, OSError):
        return True
    finally:
        s.close()


# --------------------------------------------------------------------------
# Certificates with openssl


class Cert:
    def __init__(self, name, cert, key):
        self.name = name
        self.cert = cert   # PEM certificate path
        self.key = key     # PEM private key path

    def __repr__(self):
        return f"Cert({self.name!r}, {self.cert!r})"


LOCAL_SANS = ("DNS:localhost", "IP:127.0.0.1", "IP:::1")


def _stamp(when):
    return when.strftime("%Y%m%d%H%M%SZ")


class Pki:
    """A test PKI under DIR, made with the openssl command: a CA, leaves
    signed by it (server, client, expired, wrong host), PKCS#12 stores."""

    def __init__(self, directory, ca_name="Postern E2E Test CA"):
        self.dir = directory
        self.openssl = require_tool("openssl")
        os.makedirs(directory, exist_ok=True)
        # `openssl req` for CSRs, independent of the system openssl.cnf
        with open(self._path("ca-req.cnf"), "w") as f:
            f.write("[req]\ndistinguished_name = dn\nprompt = no\n[dn]\nCN = x\n")
        self.ca = self._make_ca(ca_name)

    def _path(self, name):
        return os.path.join(self.dir, name)

    def _key(self, path):
        run_checked([self.openssl, "genpkey", "-algorithm", "EC",
                     "-pkeyopt", "ec_paramgen_curve:P-256", "-out", path])
        os.chmod(path, 0o600)
        return path

    def _make_ca(self, name):
        key = self._key(self._path("ca.key"))
        cert = self._path("ca.pem")
        # openssl ca's bookkeeping for this CA
        os.makedirs(self._path("newcerts"), exist_ok=True)
        open(self._path("index.txt"), "w").close()
        self.ca_cnf = self._path("ca.cnf")
        with open(self.ca_cnf, "w") as f:
            f.write(f"""[ca]
default_ca = testca
[testca]
database = {self._path('index.txt')}
new_certs_dir = {self._path('newcerts')}
certificate = {cert}
private_key = {key}
rand_serial = yes
default_md = sha256
policy = policy_any
unique_subject = no
copy_extensions = none
email_in_dn = no
default_days = 30
[policy_any]
commonName = supplied
[v3_ca]
basicConstraints = critical, CA:TRUE
keyUsage = critical, keyCertSign, cRLSign
subjectKeyIdentifier = hash
""")
        # Self-signed with `openssl ca -selfsign` so that its validity can
        # start in the past and hold the expired leaves too.
        csr = self._path("ca.csr")
        run_checked([self.openssl, "req", "-new", "-key", key, "-subj", f"/CN={name}",
                     "-config", self._path("ca-req.cnf"), "-out", csr])
        now = datetime.datetime.now(datetime.timezone.utc)
        run_checked([self.openssl, "ca", "-batch", "-selfsign", "-config", self.ca_cnf,
                     "-keyfile", key, "-in", csr, "-out", cert, "-notext",
                     "-extensions", "v3_ca",
                     "-startdate", _stamp(now - datetime.timedelta(days=500)),
                     "-enddate", _stamp(now + datetime.timedelta(days=365))])
        return Cert(name, cert, key)

    def leaf(self, name, sans=LOCAL_SANS, client=False, server=True,
             not_before=None, not_after=None, stem=None):
        """A leaf signed by the CA, CN=name, SAN=sans (e.g. "DNS:x", "IP:y").
        not_before/not_after: datetime (UTC) to make expired or future certs."""
        stem = stem or name.replace("/", "_").replace(" ", "_")
        key = self._key(self._path(f"{stem}.key"))
        csr = self._path(f"{stem}.csr")
        run_checked([self.openssl, "req", "-new", "-key", key, "-subj", f"/CN={name}",
                     "-config", self._path("ca-req.cnf"), "-out", csr])
        usages = []
        if server:
            usages.append("serverAuth")
        if client:
            usages.append("clientAuth")
        ext = self._path(f"{stem}.ext")
        with open(ext, "w") as f:
            f.write("[leaf]\nbasicConstraints = critical, CA:FALSE\n"
                    "keyUsage = critical, digitalSignature\n"
                    f"extendedKeyUsage = {', '.join(usages)}\n"
                    "subjectKeyIdentifier = hash\n"
                    "authorityKeyIdentifier = keyid\n")
            if sans:
                f.write(f"subjectAltName = {', '.join(sans)}\n")
        now = datetime.datetime.now(datetime.timezone.utc)
        nb = not_before or (now - datetime.timedelta(hours=1))
        # > 30 days: the gateway warns about certificates expiring sooner
        na = not_after or (now + datetime.timedelta(days=90))
        cert = self._path(f"{stem}.pem")
        run_checked([self.openssl, "ca", "-batch", "-config", self.ca_cnf,
                     "-in", csr, "-out", cert, "-notext",
                     "-extfile", ext, "-extensions", "leaf",
                     "-startdate", _stamp(nb), "-enddate", _stamp(na)])
        return Cert(name, cert, key)

    def server(self, name="localhost", sans=LOCAL_SANS):
        return self.leaf(name, sans)

    def expired(self, name="localhost", sans=LOCAL_SANS):
        now = datetime.datetime.now(datetime.timezone.utc)
        return self.leaf(name, sans, stem=f"{name}-expired",
                         not_before=now - datetime.timedelta(days=400),
                         not_after=now - datetime.timedelta(days=35))

    def wrong_host(self, name="wrong.example.org"):
        return self.leaf(name, (f"DNS:{name}",), stem=f"{name}-wronghost")

    def client(self, name="Postern E2E Client"):
        return self.leaf(name, None, client=True, server=False,
                         stem=name.replace(" ", "_") + "-client")

    def pkcs12(self, cert, store, password=None, password_file=None,
               alias=None, with_ca=True, newline=True):
        """Write a PKCS#12 key store (`openssl pkcs12 -export … -passout
        file:`).  The password file defaults to the store's path with its
        extension replaced by .pw (DESIGN.md); it is written mode 0600.
        Returns (store, password_file, password)."""
        password = password or secrets.token_urlsafe(18)
        password_file = password_file or os.path.splitext(store)[0] + ".pw"
        write_secret(password_file, password + ("\n" if newline else ""))
        argv = [self.openssl, "pkcs12", "-export", "-inkey", cert.key,
                "-in", cert.cert, "-name", alias or cert.name,
                "-out", store, "-passout", f"file:{password_file}"]
        if with_ca:
            argv += ["-certfile", self.ca.cert]
        run_checked(argv)
        # It holds a private key: 0600, as `postern cert generate` writes
        # stores (`postern check` warns about one other users can read).
        os.chmod(store, 0o600)
        return store, password_file, password

    def ca_store(self, store, password=None):
        """The CA itself as a PKCS#12 store (for `postern cert generate --ca`)."""
        return self.pkcs12(self.ca, store, password=password, alias="ca",
                           with_ca=False)


def write_secret(path, text):
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as f:
        f.write(text)
    os.chmod(path, 0o600)


class Keystore:
    """A gateway key store and what a client must trust to verify it."""

    def __init__(self, store, password_file, trust_pem, method):
        self.store = store
        self.password_file = password_file
        self.trust_pem = trust_pem   # CA (openssl) or exported leaf (postern)
        self.method = method

    def __repr__(self):
        return f"Keystore({self.store!r}, via {self.method})"

    def relative_to(self, directory):
        """(store, password file) as a config in directory names them."""
        return (os.path.relpath(self.store, directory), os.path.relpath(self.password_file, directory))

    def client_context(self, **kw):
        """A client TLS context that trusts this store's certificates."""
        return client_ssl_context(cafile=self.trust_pem, **kw)


def make_keystore(directory, names=("localhost", "127.0.0.1", "::1"),
                  pki=None, method=None):
    """A fresh server key store `DIR/keystore.db` + `DIR/keystore.pw` for the
    given names.  method "openssl" (default): a leaf signed by the Pki's CA,
    exported with `openssl pkcs12`; the client trusts the CA.  method
    "postern": `postern cert generate` (signed by the Pki's CA when a Pki is
    given, self-signed otherwise); the client trusts the CA, or the leaf
    exported with `postern cert export`."""
    method = method or os.environ.get("POSTERN_E2E_CERTS", "openssl")
    store = os.path.join(directory, "keystore.db")
    pwfile = os.path.join(directory, "keystore.pw")
    if method == "openssl":
        pki = pki or Pki(os.path.join(directory, "pki"))
        sans = tuple(("IP:" if _is_ip(n) else "DNS:") + n for n in names)
        leaf = pki.leaf(names[0], sans)
        pki.pkcs12(leaf, store, password_file=pwfile, alias=names[0])
        return Keystore(store, pwfile, pki.ca.cert, method)
    if method == "postern":
        argv = ["cert", "generate", "--keystore", store, "--password-file", pwfile]
        if pki is not None:
            ca_store, _, _ = pki.ca_store(os.path.join(directory, "devca.p12"))
            argv += ["--ca", ca_store]
        argv += list(names)
        r = run_postern(argv)
        require(r.returncode == 0,
                f"postern {' '.join(argv)} exited {r.returncode}: {r.stdout}{r.stderr}")
        if pki is not None:
            return Keystore(store, pwfile, pki.ca.cert, method)
        trust = os.path.join(directory, "gateway-cert.pem")
        r = run_postern(["cert", "export", store, names[0], "--out", trust,
                         "--format", "pem"])
        require(r.returncode == 0,
                f"postern cert export exited {r.returncode}: {r.stdout}{r.stderr}")
        return Keystore(store, pwfile, trust, method)
    raise Fail(f"POSTERN_E2E_CERTS={method!r}: expected 'openssl' or 'postern'")


def _is_ip(name):
    try:
        socket.inet_pton(socket.AF_INET6 if ":" in name else socket.AF_INET, name)
        return True
    except OSError:
        return False


# --------------------------------------------------------------------------
# gateway-config.xml


def _options_xml(tag, options, indent="    "):
    if not options:
        return ""
    body = "".join(f"{indent}  <{k}>{xml_escape(str(v))}</{k}>\n"
                   for k, v in options.items())
    return f"{indent}<{tag}>\n{body}{indent}</{tag}>\n"


def service_xml(name, type_, accepts, connects=(), accept_options=None,
                connect_options=None, properties=None, extra=""):
    x = f"  <service>\n    <name>{xml_escape(name)}</name>\n"
    x += "".join(f"    <accept>{xml_escape(a)}</accept>\n" for a in accepts)
    x += "".join(f"    <connect>{xml_escape(c)}</connect>\n" for c in connects)
    x += f"    <type>{xml_escape(type_)}</type>\n"
    x += _options_xml("properties", properties)
    x += _options_xml("accept-options", accept_options)
    x += _options_xml("connect-options", connect_options)
    x += extra
    x += "  </service>\n"
    return x


def store_xml(tag, store, password_file, type_="PKCS12"):
    x = f"    <{tag}>\n      <type>{xml_escape(type_)}</type>\n"
    x += f"      <file>{xml_escape(store)}</file>\n"
    if password_file:
        x += f"      <password-file>{xml_escape(password_file)}</password-file>\n"
    return x + f"    </{tag}>\n"


def config_xml(services, keystore=None, truststore=None, properties=None,
               service_defaults=None, namespace=NS_2016):
    """A gateway-config.xml text.  services: list of service_xml() strings;
    keystore/truststore: (file, password-file) paths as written in the XML
    (relative to the config's folder)."""
    x = '<?xml version="1.0" encoding="UTF-8"?>\n'
    x += "<!-- written by tests/e2e/harness.py -->\n"
    x += f'<gateway-config xmlns="{namespace}">\n' if namespace else "<gateway-config>\n"
    if properties:
        x += "  <properties>\n"
        for k, v in properties.items():
            x += (f"    <property>\n      <name>{xml_escape(k)}</name>\n"
                  f"      <value>{xml_escape(str(v))}</value>\n    </property>\n")
        x += "  </properties>\n"
    if service_defaults:
        x += "  <service-defaults>\n"
        x += _options_xml("accept-options", service_defaults)
        x += "  </service-defaults>\n"
    x += "".join(services)
    if keystore or truststore:
        x += "  <security>\n"
        if keystore:
            x += store_xml("keystore", *keystore)
        if truststore:
            x += store_xml("truststore", *truststore)
        x += "  </security>\n"
    x += "</gateway-config>\n"
    return x


def write_config(directory, text, name="gateway-config.xml"):
    path = os.path.join(directory, name)
    with open(path, "w", encoding="utf-8") as f:
        f.write(text)
    return path


def echo_config(directory, keystore, ws_port=None, wss_port=None,
                host="localhost", path="/echo", accept_options=None):
    """Write a config with one echo service on ws:// and/or wss:// and the
    key store `keystore` (a Keystore).  Returns (config path, accept URLs)."""
    accepts = []
    if ws_port:
        accepts.append(f"ws://{host}:{ws_port}{path}")
    if wss_port:
        accepts.append(f"wss://{host}:{wss_port}{path}")
    ks = None
    if keystore is not None:
        ks = keystore.relative_to(directory)
    text = config_xml([service_xml("echo", "echo", accepts,
                                   accept_options=accept_options)], keystore=ks)
    return write_config(directory, text), accepts


# --------------------------------------------------------------------------
# The gateway process


class Gateway:
    """`postern run --config FILE` as a child process, with stdout/stderr
    collected by background threads."""

    live = []
    started = []   # every gateway of this run, for the logs kept on failure

    def __init__(self, config, name="gateway", extra_args=(), env=None):
        self.config = config
        self.name = name
        self.argv = [postern_path(), "run", "--config", config] + list(extra_args)
        self.env = env
        self.proc = None
        self.stdout = []
        self.stderr = []
        self.scanned = 0
        self.cond = threading.Condition()
        self.threads = []
        self.started_at = None

    def start(self):
        env = dict(os.environ)
        env.update(self.env or {})
        self.proc = subprocess.Popen(self.argv, stdin=subprocess.DEVNULL,
                                     stdout=subprocess.PIPE, stderr=subprocess.PIPE,
                                     env=env, start_new_session=True)
        self.started_at = time.monotonic()
        Gateway.live.append(self)
        Gateway.started.append(self)
        for stream, sink in ((self.proc.stdout, self.stdout),
                             (self.proc.stderr, self.stderr)):
            t = threading.Thread(target=self._reader, args=(stream, sink), daemon=True)
            t.start()
            self.threads.append(t)
        return self

    def _reader(self, stream, sink):
        for raw in iter(stream.readline, b""):
            line = raw.decode("utf-8", "replace").rstrip("\n")
            with self.cond:
                sink.append(line)
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    # What ASan, UBSan and LSan print (UBSan writes to stderr even when
    # log_path is set, with GCC 12's runtime linked beside ASan's).
    SANITIZER_MARKERS = ("runtime error:", "ERROR: AddressSanitizer", "ERROR: LeakSanitizer",
                         "ERROR: UndefinedBehaviorSanitizer")

    @classmethod
    def sanitizer_reports(cls):
        """New sanitizer lines in the stderr of any gateway of this run,
        with some context, or "" (each line is reported once)."""
        found = []
        for gw in cls.started:
            with gw.cond:
                lines = gw.stderr[gw.scanned:]
                gw.scanned = len(gw.stderr)
            for i, line in enumerate(lines):
                if any(m in line for m in cls.SANITIZER_MARKERS):
                    found.append(f"{gw.name}: " + "\n  ".join(lines[i:i + 12]))
        return "\n".join(found)

    def listening_urls(self):
        with self.cond:
            return [l[len("listening on "):].strip() for l in self.stdout
                    if l.startswith("listening on ")]

    def wait_listening(self, count, timeout=LISTEN_TIMEOUT):
        """Wait for `count` lines `listening on URL`; return the URLs."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                urls = self.listening_urls()
                if len(urls) >= count:
                    return urls
                if self.proc.poll() is not None:
                    self._drain()
                    raise Fail(f"{self.name} exited with {self.proc.returncode} before "
                               f"printing {count} 'listening on' lines "
                               f"(got {len(urls)})")
                left = deadline - time.monotonic()
                if left <= 0:
                    raise Fail(f"{self.name}: only {len(urls)} of {count} "
                               f"'listening on' lines within {timeout} s")
                self.cond.wait(min(left, 0.2))

    def _drain(self, timeout=2.0):
        for t in self.threads:
            t.join(timeout)

    def wait_exit(self, timeout):
        """The exit status, or None if still running after `timeout`."""
        try:
            rc = self.proc.wait(timeout)
        except subprocess.TimeoutExpired:
            return None
        self._drain()
        self._forget()
        return rc

    def wait_stderr(self, predicate, timeout):
        """Wait until some stderr line satisfies predicate; return it or None."""
        deadline = time.monotonic() + timeout
        with self.cond:
            while True:
                for l in self.stderr:
                    if predicate(l):
                        return l
                left = deadline - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.2))

    def signal(self, sig):
        if self.proc and self.proc.poll() is None:
            os.kill(self.proc.pid, sig)

    def stop(self, timeout=STOP_TIMEOUT):
        """SIGTERM; the gateway must exit 0 within `timeout` (Fail otherwise,
        after killing it)."""
        if self.proc.poll() is not None:
            rc = self.proc.returncode
            self._drain()
            self._forget()
            raise Fail(f"{self.name} had already exited with {rc} before SIGTERM")
        t0 = time.monotonic()
        self.signal(signal.SIGTERM)
        rc = self.wait_exit(timeout)
        if rc is None:
            self.kill()
            raise Fail(f"{self.name} still running {timeout} s after SIGTERM; killed")
        if rc != 0:
            raise Fail(f"{self.name} exited {rc} after SIGTERM (expected 0)")
        return time.monotonic() - t0

    def kill(self):
        if self.proc and self.proc.poll() is None:
            # The whole group (start_new_session): a master's workers too,
            # as a service manager kills a unit's control group.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.killpg(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.proc.pid, signal.SIGKILL)
            with contextlib.suppress(subprocess.TimeoutExpired):
                self.proc.wait(5)
        self._drain(1.0)
        self._forget()

    def _forget(self):
        if self in Gateway.live:
            Gateway.live.remove(self)

    def running(self):
        return self.proc is not None and self.proc.poll() is None

    def save_log(self, path):
        """Write the whole stdout and stderr to `path` (kept on failure)."""
        with contextlib.suppress(OSError), open(path, "w") as f:
            f.write(self.describe(tail=None) + "\n")

    def describe(self, tail=25):
        with self.cond:
            out = self.stdout[-tail:] if tail else list(self.stdout)
            err = self.stderr[-tail:] if tail else list(self.stderr)
        state = ("running" if self.running() else
                 f"exited {self.proc.returncode}" if self.proc else "not started")
        lines = [f"{self.name} ({state}): {' '.join(self.argv)}"]
        lines += [f"  stdout| {l}" for l in out]
        lines += [f"  stderr| {l}" for l in err]
        return "\n".join(lines)

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.kill()
        return False


def start_gateway(config, expected_urls, name="gateway", timeout=LISTEN_TIMEOUT, extra_args=()):
    """Start `postern run --config CONFIG [EXTRA_ARGS]` and wait for one
    `listening on` line per expected URL.  Kills the process if that fails."""
    gw = Gateway(config, name=name, extra_args=extra_args).start()
    try:
        gw.wait_listening(len(expected_urls), timeout)
    except Fail as e:
        gw.kill()
        raise Fail(f"{e}\n{gw.describe()}") from None
    except BaseException:
        gw.kill()
        raise
    return gw


# --------------------------------------------------------------------------
# WebSocket clients (python3-websockets, asyncio)


def import_websockets():
    try:
        import websockets  # noqa: F401
        import websockets.client  # noqa: F401
        import websockets.exceptions  # noqa: F401
    except ImportError as e:
        raise Fail(f"python3-websockets is not importable from {sys.executable} ({e}); "
                   "install Debian's python3-websockets and run with /usr/bin/python3")
    return websockets


def client_ssl_context(cafile=None, certfile=None, keyfile=None):
    """A verifying client context: CERT_REQUIRED and host-name checking.
    cafile=None trusts the system's CAs only (which do not include ours)."""
    ctx = ssl.create_default_context(ssl.Purpose.SERVER_AUTH, cafile=cafile)
    assert ctx.verify_mode == ssl.CERT_REQUIRED and ctx.check_hostname
    if certfile:
        ctx.load_cert_chain(certfile, keyfile)
    return ctx


def arun(coro, timeout):
    """Run a coroutine in a fresh event loop, bounded by `timeout` s."""
    async def bounded():
        try:
            return await asyncio.wait_for(coro, timeout)
        except asyncio.TimeoutError:
            raise Fail(f"timed out after {timeout} s") from None
    return asyncio.run(bounded())


def ws_connect(uri, ssl_ctx=None, **kw):
    """websockets.connect with bounded open/close, no automatic pings and no
    client-side size limit (the gateway's limits are what we test)."""
    ws = import_websockets()
    opts = dict(open_timeout=WS_OPEN_TIMEOUT, close_timeout=WS_CLOSE_TIMEOUT,
                ping_interval=None, max_size=None, compression=None)
    opts.update(kw)
    if uri.startswith("wss:"):
        opts["ssl"] = ssl_ctx
    return ws.connect(uri, **opts)


async def recv_within(conn, timeout=10.0):
    try:
        return await asyncio.wait_for(conn.recv(), timeout)
    except asyncio.TimeoutError:
        raise Fail(f"no message within {timeout} s") from None


async def echo_once(conn, message, timeout=10.0):
    """Send one message and require the identical message (type and bytes)
    back."""
    await conn.send(message)
    got = await recv_within(conn, timeout)
    if type(got) is not type(message):
        raise Fail(f"sent a {type(message).__name__} message, got a "
                   f"{type(got).__name__} one back: {short(got)}")
    if got != message:
        raise Fail(f"echo differs: sent {short(message)}, got {short(got)}")
    return got


async def close_cleanly(conn, timeout=WS_CLOSE_TIMEOUT):
    """Close with 1000 and require the server's close frame with 1000."""
    await asyncio.wait_for(conn.close(1000, "bye"), timeout + 1)
    rcvd = conn.close_rcvd
    require(rcvd is not None,
            f"no close frame received from the server (close code seen: {conn.close_code})")
    check_equal(rcvd.code, 1000, "close code received from the server")
