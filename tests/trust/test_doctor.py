#!/usr/bin/python3
# test_doctor.py: "postern cert doctor" against real stores, openssl s_server back-ends,
# an NSS database made by certutil, and Node/Python/curl environment variables (TAP)
# SPDX-License-Identifier: Apache-2.0
import json
import os
import re
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import taprun  # noqa: E402

POSTERN = os.environ["POSTERN"]
SOURCE = os.environ["POSTERN_SOURCE_DIR"]
TIMEOUT = 120
WORK = tempfile.mkdtemp(prefix="postern-doctor-")
HOME = os.path.join(WORK, "home")
CONF = os.path.join(WORK, "conf")
NSSDB = os.path.join(HOME, ".pki", "nssdb")
SANITIZED = os.environ.get("POSTERN_SANITIZED") == "1"
PROBE_TIMEOUT = 60 if SANITIZED else 20
TESTS = []
SERVERS = []
PORTS = {}


def test(func):
    TESTS.append(func)
    return func


def base_env(**extra):
    """An isolated HOME, no CA variables unless given, a UTF-8 locale."""
    env = dict(os.environ)
    for var in ("NODE_EXTRA_CA_CERTS", "SSL_CERT_FILE", "SSL_CERT_DIR", "CURL_CA_BUNDLE", "JAVA_HOME"):
        env.pop(var, None)
    env["HOME"] = HOME
    env["LANG"] = "C.UTF-8"
    env.pop("LC_ALL", None)
    env.update(extra)
    return env


def run(argv, check=True, cwd=WORK, env=None, timeout=TIMEOUT):
    proc = subprocess.run(argv, cwd=cwd, env=env if env is not None else base_env(),
                          stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=timeout)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(argv), proc.returncode,
                                                          proc.stdout, proc.stderr))
    return proc


def postern(*args, **kw):
    return run([POSTERN] + list(args), **kw)


def openssl(*args):
    return run(["openssl"] + list(args))


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def doctor(config, env=None, extra=()):
    """(exit status, {key: row}, rows, report) from --format json"""
    if "--timeout" not in extra:
        extra = ("--timeout", str(PROBE_TIMEOUT)) + tuple(extra)
    proc = postern("cert", "doctor", "--config", config, "--format", "json", *extra,
                   check=False, env=env, cwd=WORK)
    assert proc.returncode in (0, 1), "exit %d:\n%s%s" % (proc.returncode, proc.stdout, proc.stderr)
    assert "CRITICAL" not in proc.stderr and "WARNING" not in proc.stderr, proc.stderr
    report = json.loads(proc.stdout)
    rows = report["rows"]
    by_key = {}
    for r in rows:
        assert set(r) == {"section", "key", "subject", "check", "status", "needed", "detail", "fix"}, r
        assert r["status"] in ("ok", "fail", "info"), r
        assert r["key"] not in by_key, "duplicate key %s" % r["key"]
        by_key[r["key"]] = r
    # the verdict is the rows' verdict, and the exit status says it
    blocking = [r for r in rows if r["needed"] and r["status"] == "fail"]
    assert report["trusted"] == (not blocking), report
    assert proc.returncode == (1 if blocking else 0), (proc.returncode, blocking)
    return proc.returncode, by_key, rows, report


def status(rows, key):
    assert key in rows, "no row %s in %s" % (key, sorted(rows))
    return rows[key]["status"]


def expect(rows, key, wanted):
    assert status(rows, key) == wanted, "%s is %s, wanted %s: %r" % (key, rows[key]["status"], wanted, rows[key])


def parse_table(text, ascii_marks=False):
    """Rows of the text table: (mark, rest of line); fix lines attach to the row above."""
    marks = ("ok", "XX", "--") if ascii_marks else ("✓", "✗", "·")
    rows = []
    for line in text.splitlines():
        m = re.match(r"^  (%s)  (\S.*)$" % "|".join(re.escape(x) for x in marks), line)
        if m:
            rows.append({"mark": m.group(1), "text": m.group(2), "fix": None})
            continue
        m = re.match(r"^      fix: (.+)$", line)
        if m:
            assert rows and rows[-1]["fix"] is None, line
            rows[-1]["fix"] = m.group(1)
    return rows, marks


def check_table_matches(config, env, ascii_marks=False):
    code, by_key, rows, _ = doctor(config, env=env)
    proc = postern("cert", "doctor", "--config", config, "--timeout", str(PROBE_TIMEOUT), check=False, env=env)
    assert proc.returncode == code, (proc.returncode, code)
    table, marks = parse_table(proc.stdout, ascii_marks)
    assert len(table) == len(rows), (len(table), len(rows), proc.stdout)
    mark_of = {"ok": marks[0], "fail": marks[1], "info": marks[2]}
    for t, r in zip(table, rows):
        assert t["mark"] == mark_of[r["status"]], (t, r)
        assert t["text"].startswith(r["subject"][:40]), (t, r)
        assert t["fix"] == r["fix"], (t, r)
    if ascii_marks:
        for line in proc.stdout.splitlines():
            assert not re.match(r"^  [✓✗·]", line), line
    return proc.stdout


# --- fixtures -----------------------------------------------------------------

def write_config(name, backends, truststore=True):
    services = []
    for i, port in enumerate(backends):
        services.append("""
  <service>
    <name>backend-%d</name>
    <accept>wss://localhost:%d/b%d</accept>
    <connect>ssl://localhost:%d</connect>
    <type>proxy</type>
  </service>""" % (i, PORTS["accept"], i, port))
    trust = """
    <truststore>
      <file>truststore.db</file>
    </truststore>""" if truststore else ""
    text = """<?xml version="1.0" encoding="UTF-8"?>
<gateway-config xmlns="http://xmlns.kaazing.org/2016/06/gateway">
  <service>
    <name>echo</name>
    <accept>wss://localhost:%d/echo</accept>
    <type>echo</type>
  </service>%s
  <security>
    <keystore>
      <file>keystore.db</file>
    </keystore>%s
  </security>
</gateway-config>
""" % (PORTS["accept"], "".join(services), trust)
    path = os.path.join(CONF, name)
    with open(path, "w") as f:
        f.write(text)
    return path


def make_cert(name, san, ca=None):
    """An EC key and certificate for san (openssl), signed by ca or self-signed"""
    key, crt = os.path.join(WORK, name + ".key"), os.path.join(WORK, name + ".pem")
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", key)
    if ca is None:
        openssl("req", "-x509", "-new", "-key", key, "-out", crt, "-days", "30", "-subj", "/CN=" + name,
                "-addext", "subjectAltName=" + san)
    else:
        csr = os.path.join(WORK, name + ".csr")
        ext = os.path.join(WORK, name + ".ext")
        with open(ext, "w") as f:
            f.write("subjectAltName=%s\nextendedKeyUsage=serverAuth\n" % san)
        openssl("req", "-new", "-key", key, "-out", csr, "-subj", "/CN=" + name)
        openssl("x509", "-req", "-in", csr, "-CA", ca + ".pem", "-CAkey", ca + ".key", "-CAcreateserial",
                "-out", crt, "-days", "30", "-extfile", ext)
    return key, crt


def start_s_server(key, crt, www=False):
    port = free_port()
    argv = ["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-key", key, "-cert", crt, "-quiet"]
    if www:
        argv.append("-www")
    proc = subprocess.Popen(argv, stdin=subprocess.PIPE, stdout=subprocess.DEVNULL,
                            stderr=subprocess.DEVNULL, cwd=WORK)
    SERVERS.append(proc)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return port
        except OSError:
            assert proc.poll() is None, "openssl s_server exited"
            time.sleep(0.05)
    raise AssertionError("openssl s_server did not listen on %d" % port)


def setup():
    os.makedirs(HOME)
    os.makedirs(CONF)
    PORTS["accept"] = free_port()   # never bound: the doctor binds nothing
    # the gateway's certificate from a local CA, as `make run` makes it
    postern("cert", "generate", "--keystore", "keystore.db", "--ca", "devca.p12",
            "localhost", "127.0.0.1", cwd=CONF)
    # a back-end CA that the truststore trusts, and back-ends
    openssl("ecparam", "-name", "prime256v1", "-genkey", "-noout", "-out", os.path.join(WORK, "backca.key"))
    openssl("req", "-x509", "-new", "-key", os.path.join(WORK, "backca.key"), "-out",
            os.path.join(WORK, "backca.pem"), "-days", "30", "-subj", "/CN=Back-end Test CA",
            "-addext", "basicConstraints=critical,CA:true", "-addext", "keyUsage=critical,keyCertSign")
    postern("cert", "import", "truststore.db", os.path.join(WORK, "backca.pem"), "--alias", "backca", cwd=CONF)
    ca = os.path.join(WORK, "backca")
    PORTS["good"] = start_s_server(*make_cert("good", "DNS:localhost,IP:127.0.0.1", ca))
    PORTS["untrusted"] = start_s_server(*make_cert("untrusted", "DNS:localhost,IP:127.0.0.1"))
    PORTS["wrongname"] = start_s_server(*make_cert("wrongname", "DNS:other.example.test", ca))
    PORTS["down"] = free_port()
    # accepts TCP but never answers the TLS handshake: the probe's bound
    silent = socket.socket()
    silent.bind(("127.0.0.1", 0))
    silent.listen(8)
    PORTS["silent"] = silent.getsockname()[1]
    PORTS["silent-socket"] = silent
    silent2 = socket.socket()
    silent2.bind(("127.0.0.1", 0))
    silent2.listen(8)
    PORTS["silent2"] = silent2.getsockname()[1]
    PORTS["silent2-socket"] = silent2


def gateway_server():
    """The gateway's own key and certificate (conf/keystore.db), served by openssl s_server -www"""
    if "gateway" not in PORTS:
        postern("cert", "export", "conf/keystore.db", "localhost", "--out",
                os.path.join(WORK, "gw.pem"), "--format", "pem")
        run(["openssl", "pkcs12", "-in", os.path.join(CONF, "keystore.db"), "-nodes", "-passin",
             "file:" + os.path.join(CONF, "keystore.pw"), "-out", os.path.join(WORK, "gw-all.pem")])
        PORTS["gateway"] = start_s_server(os.path.join(WORK, "gw-all.pem"), os.path.join(WORK, "gw.pem"),
                                          www=True)
    return PORTS["gateway"]


def devca_pem():
    path = os.path.join(WORK, "devca-only.pem")
    out = run(["openssl", "pkcs12", "-in", os.path.join(CONF, "devca.p12"), "-nokeys", "-passin",
               "file:" + os.path.join(CONF, "devca.pw")]).stdout
    with open(path, "w") as f:
        f.write(out[out.index("-----BEGIN CERTIFICATE-----"):])
    return path


def key(name, what):
    return "backend:localhost:%d:%s" % (PORTS[name], what)


# --- tests --------------------------------------------------------------------

@test
def backends_trusted_untrusted_wrong_name_down():
    config = write_config("backends.xml", [PORTS["good"], PORTS["untrusted"], PORTS["wrongname"], PORTS["down"]])
    code, rows, _, _ = doctor(config)
    assert code == 1
    expect(rows, key("good", "reachable"), "ok")
    expect(rows, key("good", "trusted"), "ok")
    expect(rows, key("good", "host"), "ok")
    expect(rows, key("good", "chain"), "info")
    assert "good" in rows[key("good", "chain")]["detail"]

    expect(rows, key("untrusted", "reachable"), "ok")
    r = rows[key("untrusted", "trusted")]
    assert r["status"] == "fail" and r["needed"], r
    assert "not trusted" in r["detail"], r
    assert r["fix"] == "postern cert fetch conf/truststore.db localhost:%d" % PORTS["untrusted"], r
    expect(rows, key("untrusted", "host"), "ok")

    expect(rows, key("wrongname", "trusted"), "ok")
    r = rows[key("wrongname", "host")]
    assert r["status"] == "fail" and r["needed"], r
    assert "other.example.test" in r["detail"], r
    assert r["fix"].startswith("postern cert generate --keystore ") and r["fix"].endswith(" localhost"), r

    r = rows[key("down", "reachable")]
    assert r["status"] == "fail" and r["needed"], r
    assert "localhost:%d" % PORTS["down"] in r["detail"], r
    assert key("down", "trusted") not in rows

    # the keystore covers the accept host
    expect(rows, "host:localhost", "ok")
    expect(rows, "entry:localhost:chain", "ok")
    assert "Postern development CA" in rows["entry:localhost:chain"]["detail"]
    expect(rows, "entry:localhost:expiry", "ok")
    expect(rows, "entry:localhost:key", "ok")


@test
def fetch_fix_makes_the_backend_trusted():
    config = write_config("fetch.xml", [PORTS["untrusted"]])
    _, rows, _, _ = doctor(config)
    fix = rows[key("untrusted", "trusted")]["fix"]
    argv = shlex.split(fix) + ["--yes"]
    assert argv[:3] == ["postern", "cert", "fetch"], argv
    postern(*argv[1:])
    _, rows, _, _ = doctor(config)
    expect(rows, key("untrusted", "trusted"), "ok")
    postern("cert", "remove", "conf/truststore.db", "localhost")   # as it was for the other tests


@test
def probes_are_bounded():
    """Two back-ends that accept TCP and never answer TLS: each probe ends at --timeout,
    and they run at once, so the run takes one timeout more than a run without them."""
    timeout = 8 if SANITIZED else 3
    baseline_config = write_config("nobackend.xml", [])
    started = time.monotonic()
    doctor(baseline_config)
    baseline = time.monotonic() - started
    config = write_config("silent.xml", [PORTS["silent"], PORTS["silent2"]])
    started = time.monotonic()
    _, rows, _, _ = doctor(config, extra=("--timeout", str(timeout)))
    elapsed = time.monotonic() - started
    for name in ("silent", "silent2"):
        r = rows[key(name, "reachable")]
        assert r["status"] == "fail" and "within %d seconds" % timeout in r["detail"], r
    assert elapsed >= timeout, elapsed
    assert elapsed < baseline + 1.6 * timeout, (elapsed, baseline, timeout)

@test
def nss_row_flips_after_install_ca():
    config = write_config("nss.xml", [])
    code, rows, _, _ = doctor(config)
    nss = "nss:" + NSSDB
    assert status(rows, nss) == "fail" and "no NSS database" in rows[nss]["detail"], rows[nss]
    assert status(rows, "browsers") == "fail" and rows["browsers"]["needed"], rows["browsers"]
    assert rows["browsers"]["fix"] == "postern cert install-ca conf/devca.p12 --nss", rows["browsers"]
    assert code == 1

    # an empty database made by certutil: still not trusted
    os.makedirs(NSSDB)
    run(["certutil", "-N", "-d", "sql:" + NSSDB, "--empty-password"])
    code, rows, _, _ = doctor(config)
    assert status(rows, nss) == "fail" and "not in the database" in rows[nss]["detail"], rows[nss]
    assert code == 1

    # the fix the doctor gave, as given
    postern(*shlex.split(rows["browsers"]["fix"])[1:])
    listing = run(["certutil", "-L", "-d", "sql:" + NSSDB]).stdout
    assert re.search(r"Postern development CA.*C,,", listing, re.I), listing
    code, rows, _, _ = doctor(config)
    expect(rows, nss, "ok")
    expect(rows, "browsers", "ok")
    # the optional rows may still fail: the verdict is 0
    assert code == 0, [r for r in rows.values() if r["needed"] and r["status"] == "fail"]

    # a Firefox profile is one more row, not trusting yet
    profile = os.path.join(HOME, ".mozilla", "firefox", "abcd.default-release")
    os.makedirs(profile)
    run(["certutil", "-N", "-d", "sql:" + profile, "--empty-password"])
    code, rows, _, _ = doctor(config)
    expect(rows, "nss:" + profile, "fail")
    assert code == 0
    shutil.rmtree(os.path.join(HOME, ".mozilla"))


@test
def node_python_curl_variables():
    config = write_config("vars.xml", [])
    _, rows, _, _ = doctor(config)
    node = rows.get("node")
    assert node is not None and node["status"] == "fail", node
    assert "NODE_EXTRA_CA_CERTS is not set" in node["detail"], node
    assert "export NODE_EXTRA_CA_CERTS=" in node["fix"], node
    pythons = [r for k, r in rows.items() if k.startswith("python:")]
    assert pythons and all(r["status"] == "fail" for r in pythons), pythons
    expect(rows, "curl", "fail")

    # run the export half of the fix, then point the variables at the file
    export, _, assignment = node["fix"].partition(" && ")
    postern(*shlex.split(export)[1:])
    pem = assignment.split("=", 1)[1]
    assert os.path.isabs(pem) and os.path.exists(pem), pem
    env = base_env(NODE_EXTRA_CA_CERTS=pem, SSL_CERT_FILE=pem)
    _, rows, _, _ = doctor(config, env=env)
    expect(rows, "node", "ok")
    expect(rows, "python:/usr/bin/python3", "ok")
    assert "SSL_CERT_FILE" in rows["python:/usr/bin/python3"]["detail"]
    expect(rows, "curl", "ok")

    # a variable naming a file without the CA: fail, and the fix appends to it
    other = os.path.join(WORK, "backca.pem")
    env = base_env(NODE_EXTRA_CA_CERTS=other)
    _, rows, _, _ = doctor(config, env=env)
    assert status(rows, "node") == "fail" and ">> " + other in rows["node"]["fix"], rows["node"]


@test
def real_clients_agree_with_the_node_and_curl_rows():
    """The rows' verdict is what node and curl do against the gateway's certificate."""
    config = write_config("real.xml", [])
    _, rows, _, _ = doctor(config)
    export, _, assignment = rows["node"]["fix"].partition(" && ")
    postern(*shlex.split(export)[1:])
    pem = assignment.split("=", 1)[1]
    port = gateway_server()
    for env, wanted in ((base_env(), "fail"), (base_env(NODE_EXTRA_CA_CERTS=pem, SSL_CERT_FILE=pem), "ok")):
        _, rows, _, _ = doctor(config, env=env)
        assert status(rows, "node") == wanted, rows["node"]
        assert status(rows, "curl") == wanted, rows["curl"]
        js = ("const tls = require('tls'); const s = tls.connect({host: '127.0.0.1', port: %d, "
              "servername: 'localhost'}, () => { console.log('authorized'); s.destroy(); });"
              "s.on('error', e => { console.log('error ' + e.code); process.exit(0); });" % port)
        out = run(["node", "-e", js], env=env, timeout=30).stdout
        assert ("authorized" in out) == (wanted == "ok"), (wanted, out)
        c = run(["curl", "-sS", "-o", "/dev/null", "--max-time", "10", "--resolve",
                 "localhost:%d:127.0.0.1" % port, "https://localhost:%d/" % port], env=env, check=False)
        # 60: the peer's certificate is not trusted
        assert c.returncode == (0 if wanted == "ok" else 60), (wanted, c.returncode, c.stderr)


@test
def system_store_in_a_private_mount_namespace():
    """A scratch bundle with the CA bind-mounted over the system bundle: the system,
    Python and curl rows turn ✓, and so does the browser rule without any NSS database;
    curl agrees.  Nothing outside the namespace changes."""
    bundle = os.path.join(WORK, "bundle.crt")
    with open("/etc/ssl/certs/ca-certificates.crt") as src, open(bundle, "w") as dst:
        dst.write(src.read())
        dst.write(open(devca_pem()).read())
    config = write_config("system.xml", [])
    home = os.path.join(WORK, "home-system")
    os.makedirs(home)
    env = base_env(HOME=home)
    port = gateway_server()

    def inside(*argv):
        return run(["unshare", "--mount", "--propagation", "private", "sh", "-c",
                    'mount --bind "$0" /etc/ssl/certs/ca-certificates.crt && exec "$@"', bundle] + list(argv),
                   env=env, check=False)

    code, rows, _, _ = doctor(config, env=env)
    assert status(rows, "system") == "fail" and status(rows, "browsers") == "fail"
    assert rows["system"]["fix"] == "sudo postern cert install-ca conf/devca.p12 --system", rows["system"]
    assert code == 1
    proc = inside(POSTERN, "cert", "doctor", "--config", config, "--format", "json")
    assert proc.returncode == 0, proc.stdout + proc.stderr
    rows = {r["key"]: r for r in json.loads(proc.stdout)["rows"]}
    expect(rows, "system", "ok")
    expect(rows, "python:/usr/bin/python3", "ok")
    expect(rows, "curl", "ok")
    expect(rows, "browsers", "ok")
    expect(rows, "nss:" + os.path.join(home, ".pki", "nssdb"), "fail")
    curl = ["curl", "-sS", "-o", "/dev/null", "--max-time", "10", "--resolve",
            "localhost:%d:127.0.0.1" % port, "https://localhost:%d/" % port]
    assert inside(*curl).returncode == 0
    assert run(curl, env=env, check=False).returncode == 60


JAVA_CLIENT = """
import javax.net.ssl.*;
public class Probe {
    public static void main(String[] a) throws Exception {
        SSLSocket s = (SSLSocket) SSLSocketFactory.getDefault().createSocket("127.0.0.1", Integer.parseInt(a[0]));
        try { s.startHandshake(); System.out.println("trusted"); }
        catch (javax.net.ssl.SSLHandshakeException e) { System.out.println("refused " + e.getMessage()); }
        s.close();
    }
}
"""


@test
def java_row_flips_after_the_java_fix():
    """A scratch JDK home (JAVA_HOME) with a copy of cacerts: the doctor's --java fix,
    run as given, makes the row ✓, and a Java client trusts the gateway through it."""
    jdk = os.path.join(WORK, "jdk")
    os.makedirs(os.path.join(jdk, "lib", "security"))
    # install-ca --java runs the JDK's own bin/keytool (on this cacerts)
    os.symlink(os.path.dirname(os.path.realpath(shutil.which("keytool"))), os.path.join(jdk, "bin"))
    cacerts = os.path.join(jdk, "lib", "security", "cacerts")
    shutil.copy("/etc/ssl/certs/java/cacerts", cacerts)
    env = base_env(JAVA_HOME=jdk)
    config = write_config("java.xml", [])
    _, rows, _, _ = doctor(config, env=env)
    row = rows["java:" + cacerts]
    assert row["status"] == "fail" and not row["needed"], row
    fix = shlex.split(row["fix"])
    assert fix[:2] == ["sudo", "JAVA_HOME=" + jdk] and fix[2:4] == ["postern", "cert"], fix
    postern(*fix[3:], env=env)
    _, rows, _, _ = doctor(config, env=env)
    expect(rows, "java:" + cacerts, "ok")

    probe = os.path.join(WORK, "Probe.java")
    with open(probe, "w") as f:
        f.write(JAVA_CLIENT)
    port = gateway_server()
    for store, wanted in ((cacerts, "trusted"), ("/etc/ssl/certs/java/cacerts", "refused")):
        out = run(["java", "-Djavax.net.ssl.trustStore=" + store, "-Djavax.net.ssl.trustStorePassword=changeit",
                   probe, str(port)], env=env, timeout=60).stdout
        assert out.startswith(wanted), (store, out)


@test
def accept_host_without_entry_and_its_fix():
    config = write_config("otherhost.xml", [])
    with open(config) as f:
        text = f.read().replace("wss://localhost:%d/echo" % PORTS["accept"],
                                "wss://other.test:%d/echo" % PORTS["accept"])
    with open(config, "w") as f:
        f.write(text)
    code, rows, _, _ = doctor(config)
    r = rows["host:other.test"]
    assert code == 1 and r["status"] == "fail" and r["needed"], r
    assert r["fix"] == "postern cert generate --keystore conf/keystore.db --ca conf/devca.p12 other.test", r
    # the localhost entry covers none of this config's hosts: its rows do not count
    assert rows["entry:localhost:expiry"]["needed"] is False
    postern(*shlex.split(r["fix"])[1:])
    _, rows, _, _ = doctor(config)
    expect(rows, "host:other.test", "ok")
    expect(rows, "entry:other.test:chain", "ok")
    postern("cert", "remove", "conf/keystore.db", "other.test")


@test
def self_signed_gateway_certificate():
    """No local CA: the certificate itself is what clients must trust, and the NSS
    fix exports it and adds it with certutil as a trusted peer."""
    conf = os.path.join(WORK, "selfsigned")
    home = os.path.join(WORK, "home-selfsigned")
    nssdb = os.path.join(home, ".pki", "nssdb")
    os.makedirs(conf)
    os.makedirs(nssdb)
    run(["certutil", "-N", "-d", "sql:" + nssdb, "--empty-password"])
    postern("cert", "generate", "--keystore", "keystore.db", "selfsigned.test", cwd=conf)
    config = os.path.join(conf, "gateway-config.xml")
    with open(config, "w") as f:
        f.write("""<gateway-config xmlns="http://xmlns.kaazing.org/2016/06/gateway">
  <service><name>echo</name><accept>wss://selfsigned.test:%d/</accept><type>echo</type></service>
  <security><keystore><file>keystore.db</file></keystore></security>
</gateway-config>
""" % PORTS["accept"])
    env = base_env(HOME=home)
    code, rows, _, _ = doctor(config, env=env)
    assert code == 1
    chain = rows["entry:selfsigned.test:chain"]
    assert chain["status"] == "ok" and "self-signed" in chain["detail"], chain
    nss = rows["nss:" + nssdb]
    assert nss["status"] == "fail", nss
    assert "postern cert export selfsigned/keystore.db selfsigned.test" in nss["fix"], nss
    assert "certutil -A -d sql:%s -t P,, -n selfsigned.test" % nssdb in nss["fix"], nss
    run(["sh", "-c", nss["fix"].replace("postern ", shlex.quote(POSTERN) + " ", 1)], env=env)
    code, rows, _, _ = doctor(config, env=env)
    expect(rows, "nss:" + nssdb, "ok")
    assert code == 0


@test
def text_table_matches_json_and_ascii_fallback():
    config = write_config("table.xml", [PORTS["good"], PORTS["untrusted"]])
    out = check_table_matches(config, base_env())
    assert "✗" in out and "✓" in out and "fix: postern cert fetch" in out, out
    out = check_table_matches(config, base_env(LANG="C"), ascii_marks=True)
    assert "fix: postern cert fetch" in out


@test
def default_config_of_make_run():
    """conf/gateway-config.xml as `make run` serves it, before and after install-ca --nss."""
    home = os.path.join(WORK, "home-default")
    os.makedirs(home)
    default = os.path.join(WORK, "default")
    os.makedirs(default)
    shutil.copy(os.path.join(SOURCE, "conf", "gateway-config.xml"), default)
    postern("cert", "generate", "--keystore", "keystore.db", "--ca", "devca.p12",
            "localhost", "127.0.0.1", "::1", cwd=default)
    config = os.path.join(default, "gateway-config.xml")
    env = base_env(HOME=home)
    code, rows, _, _ = doctor(config, env=env)
    assert code == 1
    expect(rows, "host:localhost", "ok")
    expect(rows, "browsers", "fail")
    check_table_matches(config, env)
    postern(*shlex.split(rows["browsers"]["fix"])[1:], env=env)
    code, rows, _, _ = doctor(config, env=env)
    expect(rows, "nss:" + os.path.join(home, ".pki", "nssdb"), "ok")
    assert code == 0
    check_table_matches(config, env)


@test
def bad_input_is_a_clear_error():
    missing = postern("cert", "doctor", "--config", os.path.join(WORK, "nope.xml"), check=False)
    assert missing.returncode == 1 and "nope.xml" in missing.stderr, missing.stderr
    bad = postern("cert", "doctor", "--format", "yaml", check=False)
    assert bad.returncode == 1 and "--format" in bad.stderr, bad.stderr
    # a keystore that is not there: a failed row with the command that makes it
    path = os.path.join(CONF, "nokeystore.xml")
    with open(path, "w") as f:
        f.write(open(write_config("tmp.xml", [])).read().replace("keystore.db", "missing.db"))
    code, rows, _, _ = doctor(path)
    r = rows["keystore"]
    assert code == 1 and r["status"] == "fail" and "does not exist" in r["detail"], r
    assert r["fix"].startswith("postern cert generate --keystore conf/missing.db") and "localhost" in r["fix"], r


def stop_servers():
    for proc in SERVERS:
        proc.kill()
        proc.wait(timeout=10)
    shutil.rmtree(WORK, ignore_errors=True)


def main():
    return taprun.run("stores and back-ends made", setup, TESTS, cleanup=stop_servers, timed=True)


if __name__ == "__main__":
    sys.exit(main())
