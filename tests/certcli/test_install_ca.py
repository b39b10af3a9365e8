#!/usr/bin/python3
# test_install_ca.py: `postern cert install-ca/uninstall-ca --system --java`
# for real, inside a private mount namespace (TAP).
#
# The script re-executes itself under `unshare --mount --propagation private`
# (root: here and in CI) and bind-mounts scratch copies over
# /usr/local/share/ca-certificates, /etc/ssl/certs and the JDK's cacerts
# file (Debian: /etc/ssl/certs/java/cacerts); and an empty folder over /etc/ca-certificates/update.d, whose
# ca-certificates-java hook would run dpkg triggers on the real system.
# Nothing outside the namespace changes: before any install the script
# checks that the scratch copies are the ones in place.
#
# Checked with the real tools: update-ca-certificates, openssl verify
# -CApath, curl (no --cacert) against a running https/wss gateway, keytool
# -list -cacerts, a Java client (tests/flows/Client.java) with the JVM's own
# cacerts; uninstall-ca leaves every store as it was.
# SPDX-License-Identifier: Apache-2.0
import hashlib
import os
import re
import shutil
import socket
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
NS_MARK = "POSTERN_INSTALL_CA_NAMESPACE"

if os.environ.get(NS_MARK) != "1":
    # outside: enter a private mount namespace, or fail (no silent skip)
    if os.geteuid() != 0 or shutil.which("unshare") is None:
        print("1..1")
        print("not ok 1 - a private mount namespace: this test needs root and unshare "
              "(util-linux); run make check as root")
        sys.exit(1)
    os.environ[NS_MARK] = "1"
    os.execvp("unshare", ["unshare", "--mount", "--propagation", "private",
                          sys.executable, os.path.abspath(__file__)] + sys.argv[1:])

sys.path.insert(0, os.path.join(os.path.dirname(HERE), "flows"))
import flowlib as f  # noqa: E402
from flowlib import h  # noqa: E402

T = h.Tap(case_timeout=180)
SYSTEM_DIR = "/usr/local/share/ca-certificates"
CERTS_DIR = "/etc/ssl/certs"
HOOKS_DIR = "/etc/ca-certificates/update.d"
MARKER = ".postern-install-ca-scratch"
CLIENT = os.path.join(os.path.dirname(HERE), "flows", "Client.java")
JAVA_TIMEOUT = 90
TRUST_ENV = ("SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "JAVA_HOME",
             "JAVA_TOOL_OPTIONS", "JDK_JAVA_OPTIONS", "_JAVA_OPTIONS")


def clean_env(**extra):
    env = {k: v for k, v in os.environ.items() if k not in TRUST_ENV}
    env.update(extra)
    return env


def sha256_file(path):
    with open(path, "rb") as fh:
        return hashlib.sha256(fh.read()).hexdigest()


def jdk():
    """(java, keytool, cacerts as the JDK sees it, cacerts resolved)"""
    java = os.path.realpath(h.require_tool("java"))
    home = os.path.dirname(os.path.dirname(java))
    keytool = os.path.join(home, "bin", "keytool")
    cacerts = os.path.join(home, "lib", "security", "cacerts")
    h.require(os.path.exists(keytool) and os.path.exists(cacerts),
              f"the JDK of {java} has no bin/keytool or lib/security/cacerts")
    return java, keytool, cacerts, os.path.realpath(cacerts)


def mount_bind(source, target):
    h.run_checked([h.require_tool("mount"), "--bind", source, target])


def mounted_over(path):
    with open("/proc/self/mountinfo") as fh:
        return any(line.split()[4] == path for line in fh)


class Scratch:
    """Scratch copies of the trust stores, bound over the real ones."""

    def __init__(self):
        self.dir = d = T.tmpdir("postern-install-ca-")
        os.chmod(d, 0o755)
        # --nss writes under $HOME: a scratch one for everything started here
        os.environ["HOME"] = os.path.join(d, "home")
        os.makedirs(os.environ["HOME"])
        self.java, self.keytool, self.cacerts, real_cacerts = jdk()
        h.require(not mounted_over(CERTS_DIR), f"{CERTS_DIR} is a mount point already")
        copies = {SYSTEM_DIR: os.path.join(d, "local-ca"), CERTS_DIR: os.path.join(d, "etc-ssl-certs")}
        os.makedirs(SYSTEM_DIR, exist_ok=True)
        for real, copy in copies.items():
            h.run_checked(["cp", "-a", real, copy])
            with open(os.path.join(copy, MARKER), "w") as fh:
                fh.write("scratch\n")
        hooks = os.path.join(d, "no-hooks")
        os.makedirs(hooks)
        binds = list(copies.items())
        if os.path.isdir(HOOKS_DIR):
            binds.append((HOOKS_DIR, hooks))
        # and the JDK's cacerts file on its own, as a container would
        # mount it: postern cannot replace it by a rename there
        binds.append((real_cacerts, os.path.join(d, "cacerts")))
        shutil.copy2(real_cacerts, binds[-1][1])
        # unmounted again before the scratch folder is removed (a mount
        # point cannot be); the namespace would drop them at exit anyway
        T.add_cleanup(lambda: [subprocess.run(["umount", real], check=False)
                               for real, _ in reversed(binds)])
        for real, copy in binds:
            mount_bind(copy, real)
        # never touch the machine: the scratch copies must be what we see
        for real, copy in copies.items():
            h.require(os.path.exists(os.path.join(real, MARKER)) and mounted_over(real),
                      f"{real} is not the scratch copy {copy}: refusing to go on")
        h.require(os.path.realpath(self.cacerts) == real_cacerts and mounted_over(real_cacerts),
                  f"the JDK's cacerts {real_cacerts} is not a scratch copy")
        # update-ca-certificates --fresh (what uninstall-ca runs) rebuilds the
        # links from the configuration; a store assembled some other way
        # (a hand-made .pem file here) would differ from it before postern
        # ran at all, so compare against the store it converges to.
        h.run_checked(["update-ca-certificates", "--fresh"], env=clean_env())
        f.say(f"scratch trust stores in {d}; JDK {os.path.dirname(os.path.dirname(self.java))}, "
              f"cacerts {real_cacerts}")

        # the local CA, a gateway certificate from it, and the gateway
        f.postern(["cert", "generate", "--keystore", "keystore.db", "--ca", "devca.p12", *f.LOCAL_NAMES], d)
        f.postern(["cert", "export", "keystore.db", "localhost", "--out", "leaf.pem"], d)
        f.postern(["cert", "export", "devca.p12", "postern-dev-ca", "--out", "ca.pem"], d)
        self.ca_pem = os.path.join(d, "ca.pem")
        self.leaf_pem = os.path.join(d, "leaf.pem")
        self.ca_fp = f.openssl_fingerprint(self.ca_pem) if hasattr(f, "openssl_fingerprint") else \
            h.run_checked(["openssl", "x509", "-in", self.ca_pem, "-noout", "-fingerprint", "-sha256"]
                          ).stdout.strip().split("=", 1)[1]
        self.https_port, self.wss_port = h.free_ports(2)
        self.page = f"https://localhost:{self.https_port}/"
        self.wss = f"wss://localhost:{self.wss_port}/echo"
        cfg = f.config(d, [f.directory_service("web", [self.page]),
                           h.service_xml("echo", "echo", [self.wss])],
                       keystore=("keystore.db", "keystore.pw"))
        self.gw = h.start_gateway(cfg, [self.page, self.wss], name="postern run (install-ca)")
        T.add_cleanup(self.gw.kill)
        with open(self.cacerts, "rb") as fh:
            self.cacerts_is_jks = fh.read(4) == b"\xfe\xed\xfe\xed"
        self.before = self.snapshot()

    def postern(self, *args, expect=0):
        return f.postern(["cert", *args], self.dir, expect=expect)

    def certs_dir_state(self):
        """/etc/ssl/certs: every name → link target or content digest"""
        state = {}
        for root, dirs, files in os.walk(CERTS_DIR):
            dirs[:] = [x for x in dirs if x != "java"]
            for name in files + [x for x in dirs if os.path.islink(os.path.join(root, x))]:
                p = os.path.join(root, name)
                rel = os.path.relpath(p, CERTS_DIR)
                state[rel] = ("link", os.readlink(p)) if os.path.islink(p) else ("file", sha256_file(p))
        return state

    def cacerts_entries(self):
        out = h.run_checked([self.keytool, "-list", "-v", "-cacerts", "-storepass", "changeit"],
                            env=clean_env()).stdout
        entries = {}
        for block in out.split("Alias name: ")[1:]:
            alias = block.splitlines()[0].strip()
            entries[alias] = re.search(r"SHA256: ([0-9A-F:]+)", block).group(1)
        return entries

    def snapshot(self):
        return {"certs": self.certs_dir_state(),
                "local": sorted(os.listdir(SYSTEM_DIR)),
                "cacerts": sha256_file(self.cacerts),
                "cacerts_entries": self.cacerts_entries()}

    def require_as_before(self, what, java_bytes=True):
        now = self.snapshot()
        before = self.before
        h.check_equal(now["local"], before["local"], f"{SYSTEM_DIR} after {what}")
        changed = sorted(k for k in set(now["certs"]) | set(before["certs"])
                         if now["certs"].get(k) != before["certs"].get(k))
        h.require(not changed, f"{CERTS_DIR} after {what} differs in: {changed[:10]}")
        h.require(now["cacerts_entries"] == before["cacerts_entries"],
                  f"cacerts entries after {what}: "
                  f"{set(now['cacerts_entries'].items()) ^ set(before['cacerts_entries'].items())}")
        if java_bytes and self.cacerts_is_jks:
            # postern edits a JKS cacerts in place (keytool would rewrite
            # every entry in its hash table's order)
            h.check_equal(now["cacerts"], before["cacerts"], f"cacerts bytes after {what}")
        else:
            # PKCS#12 (keytool: new salts), or the store keytool rewrote:
            # the same entries, not the same bytes
            f.say(f"cacerts after {what}: the same entries (bytes not compared)")
        f.say(f"after {what}: {len(now['certs'])} names in {CERTS_DIR}, "
              f"{len(now['cacerts_entries'])} cacerts entries, as before")

    def curl(self, url):
        curl = h.require_tool("curl")
        out = os.path.join(self.dir, "page.curl")
        return h.run_tool([curl, "-sS", "--max-time", "15", "-o", out, "-w", "%{http_code}", url],
                          env=clean_env())

    def run_java(self):
        home = os.path.join(self.dir, "home")
        os.makedirs(home, exist_ok=True)
        argv = [self.java, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", CLIENT, self.wss]
        r = h.run_tool(argv, timeout=JAVA_TIMEOUT, cwd=self.dir, env=clean_env(HOME=home))
        f.say(f"java Client.java {self.wss} → exit {r.returncode}: {r.stdout.strip()[:120]}")
        return r

    def openssl_verify(self):
        return h.run_tool([h.require_tool("openssl"), "verify", "-CApath", CERTS_DIR, self.leaf_pem],
                          env=clean_env())


scratch = h.Fixture("scratch trust stores bound over the real ones, a local CA and a gateway", Scratch)


@T.case("before: openssl verify -CApath, curl and Java do not trust the gateway")
def _():
    s = scratch.get()
    r = s.openssl_verify()
    h.require(r.returncode != 0 and "unable to get local issuer" in r.stdout + r.stderr,
              f"openssl verify before install: {r.returncode} {r.stdout}{r.stderr}")
    r = s.curl(s.page)
    h.check_equal(r.returncode, 60, "curl's exit status before install (60: untrusted)")
    r = s.run_java()
    h.require(r.returncode != 0 and "PKIX" in r.stdout + r.stderr,
              f"Java before install: {r.returncode} {r.stdout}{r.stderr}")


@T.case("unprivileged (setpriv --reuid=65534): install-ca --system --java says it needs root "
        "and what to run, and changes nothing")
def _():
    s = scratch.get()
    setpriv = h.require_tool("setpriv")
    store = os.path.join(s.dir, "devca.p12")
    for command in ("install-ca", "uninstall-ca"):
        r = h.run_tool([setpriv, "--reuid=65534", "--regid=65534", "--clear-groups",
                        h.postern_path(), "cert", command, store, "--system", "--java", "--nss"],
                       cwd="/", env=clean_env(HOME="/nonexistent"))
        text = r.stderr
        h.check_equal(r.returncode, 1, f"exit status of {command} as nobody")
        for needle in (f"{command} --system needs root", "update-ca-certificates",
                       f"{command} --java needs root", s.cacerts,
                       f"nothing was changed; run: sudo postern cert {command} {store} --system --java",
                       f"postern cert {command} {store} --nss"):
            h.require(needle in text, f"{needle!r} not in what {command} said as nobody:\n{text}")
        h.require("CRITICAL" not in text and "Traceback" not in text, text)
        f.say(text.strip())
    s.require_as_before("the refused commands")


@T.case("install-ca --system: postern-dev-ca.crt, update-ca-certificates; openssl verify "
        "-CApath /etc/ssl/certs passes; curl trusts https:// without --cacert")
def _():
    s = scratch.get()
    r = s.postern("install-ca", "devca.p12", "--system")
    crt = os.path.join(SYSTEM_DIR, "postern-dev-ca.crt")
    h.require(f"added {crt} and ran update-ca-certificates" in r.stdout, r.stdout)
    h.check_equal(oct(os.stat(crt).st_mode & 0o777), "0o644", f"mode of {crt}")
    with open(crt) as fh, open(s.ca_pem) as ca:
        h.check_equal(fh.read(), ca.read(), f"{crt} is the CA's certificate")
    link = os.path.join(CERTS_DIR, "postern-dev-ca.pem")
    h.check_equal(os.readlink(link), crt, f"{link} → ")
    v = s.openssl_verify()
    h.require(v.returncode == 0 and v.stdout.strip() == f"{s.leaf_pem}: OK",
              f"openssl verify -CApath {CERTS_DIR}: {v.stdout}{v.stderr}")
    with open(os.path.join(CERTS_DIR, "ca-certificates.crt")) as fh, open(s.ca_pem) as ca:
        h.require(ca.read().strip() in fh.read(), "the CA is not in ca-certificates.crt")
    r = s.curl(s.page)
    h.require(r.returncode == 0 and r.stdout == "200", f"curl {s.page}: {r.returncode} {r.stdout} {r.stderr}")
    with open(os.path.join(s.dir, "page.curl"), "rb") as fh:
        h.require(fh.read() == f.index_html_bytes(), "curl got another page than data/web/index.html")
    # Python's default context (OpenSSL's default paths) too, over wss://
    code = ("import socket, ssl, sys; ctx = ssl.create_default_context(); "
            "raw = socket.create_connection(('localhost', int(sys.argv[1])), timeout=10); "
            "print(ctx.wrap_socket(raw, server_hostname='localhost').version())")
    r = h.run_tool([sys.executable, "-c", code, str(s.wss_port)], env=clean_env())
    h.require(r.returncode == 0, f"python ssl default context to {s.wss}: {r.stdout}{r.stderr}")
    f.say(f"python ssl default context: {r.stdout.strip()} to {s.wss}")
    r = s.postern("install-ca", "devca.p12", "--system")
    h.require("already there" in r.stdout and "Nothing changed" in r.stdout, r.stdout)


@T.case("uninstall-ca --system: /etc/ssl/certs the same files and links as before, "
        "ca-certificates.crt byte for byte; curl refuses again")
def _():
    s = scratch.get()
    r = s.postern("uninstall-ca", "devca.p12", "--system")
    h.require("removed /usr/local/share/ca-certificates/postern-dev-ca.crt and ran update-ca-certificates --fresh"
              in r.stdout, r.stdout)
    s.require_as_before("uninstall-ca --system")
    h.check_equal(s.curl(s.page).returncode, 60, "curl's exit status after uninstall")
    r = s.postern("uninstall-ca", "devca.p12", "--system")
    h.require("was not there" in r.stdout, r.stdout)


@T.case("install-ca --java: keytool -list -cacerts shows postern-dev-ca; a Java client "
        "connects over wss:// with the JVM's own cacerts")
def _():
    s = scratch.get()
    r = s.postern("install-ca", "devca.p12", "--java")
    h.require(f"Java cacerts {s.cacerts}: added “postern-dev-ca”" in r.stdout, r.stdout)
    out = h.run_checked([s.keytool, "-list", "-cacerts", "-storepass", "changeit", "-alias", "postern-dev-ca"],
                        env=clean_env()).stdout
    h.require("postern-dev-ca," in out and "trustedCertEntry" in out, out)
    h.check_equal(s.cacerts_entries().get("postern-dev-ca"), s.ca_fp.upper(), "fingerprint in cacerts")
    r = s.run_java()
    h.require(r.returncode == 0 and r.stdout.startswith("OK"), f"Java client: {r.stdout}{r.stderr}")
    r = s.postern("install-ca", "devca.p12", "--java")
    h.require("already there" in r.stdout, r.stdout)


@T.case("uninstall-ca --java: cacerts as before, byte for byte (JKS; else the same entries)")
def _():
    s = scratch.get()
    r = s.postern("uninstall-ca", "devca.p12", "--java")
    h.require("removed “postern-dev-ca”" in r.stdout, r.stdout)
    s.require_as_before("uninstall-ca --java")


@T.case("a CA aliased 'my root ca' by keytool: my-root-ca.crt; NSS nickname quoted; "
        "uninstall leaves everything as before")
def _():
    s = scratch.get()
    keytool = s.keytool
    h.run_checked([keytool, "-genkeypair", "-keystore", "other-ca.p12", "-storetype", "PKCS12",
                   "-storepass", "changeit", "-alias", "my root ca", "-keyalg", "EC", "-groupname",
                   "secp256r1", "-dname", "CN=My Root CA,O=Elsewhere", "-ext", "bc:c"],
                  cwd=s.dir, env=clean_env())
    r = s.postern("install-ca", "other-ca.p12", "--system", "--nss")
    h.require(os.path.exists(os.path.join(SYSTEM_DIR, "my-root-ca.crt")), r.stdout)
    h.require("added “My Root CA” as a trusted CA" in r.stdout, r.stdout)
    r = s.postern("uninstall-ca", "other-ca.p12", "--system", "--nss")
    h.require("removed /usr/local/share/ca-certificates/my-root-ca.crt" in r.stdout and
              "removed “My Root CA”" in r.stdout, r.stdout)
    s.require_as_before("installing and removing 'my root ca'")


@T.case("what an older version installed (file and alias after the CA's name) is found "
        "and removed by uninstall-ca")
def _():
    s = scratch.get()
    stem = re.sub(r"[^a-z0-9]", "-", ("Postern development CA on " + socket.gethostname()).lower())
    old_crt = os.path.join(SYSTEM_DIR, stem + ".crt")
    shutil.copy(s.ca_pem, old_crt)
    h.run_checked(["update-ca-certificates"], env=clean_env())
    h.run_checked([s.keytool, "-importcert", "-noprompt", "-cacerts", "-storepass", "changeit",
                   "-alias", "postern-" + stem, "-file", s.ca_pem], env=clean_env())
    r = s.postern("install-ca", "devca.p12", "--system", "--java")
    h.require(r.stdout.count("already there") == 2 and not os.path.exists(
        os.path.join(SYSTEM_DIR, "postern-dev-ca.crt")), r.stdout)
    r = s.postern("uninstall-ca", "devca.p12", "--system", "--java")
    h.require(f"removed {old_crt}" in r.stdout and f"removed “postern-{stem}”" in r.stdout, r.stdout)
    s.require_as_before("removing an older version's install", java_bytes=False)   # keytool added it


@T.case("another certificate already called postern-dev-ca.crt is left alone (exit 1)")
def _():
    s = scratch.get()
    crt = os.path.join(SYSTEM_DIR, "postern-dev-ca.crt")
    h.run_checked([h.require_tool("openssl"), "req", "-x509", "-newkey", "ec", "-pkeyopt",
                   "ec_paramgen_curve:P-256", "-nodes", "-keyout", os.path.join(s.dir, "x.key"),
                   "-out", crt, "-subj", "/CN=Someone else", "-days", "2"])
    with open(crt, "rb") as fh:
        theirs = fh.read()
    r = s.postern("install-ca", "devca.p12", "--system", expect=1)
    h.require(f"{crt} holds another certificate; Postern leaves it alone" in r.stderr, r.stderr)
    with open(crt, "rb") as fh:
        h.require(fh.read() == theirs, f"{crt} was changed")
    r = s.postern("uninstall-ca", "devca.p12", "--system")
    h.require(os.path.exists(crt) and "was not there" in r.stdout, r.stdout)
    os.unlink(crt)


if __name__ == "__main__":
    T.run()
