#!/usr/bin/python3
# test_certcli.py: "postern cert" against keytool 17, openssl and certutil (TAP)
# SPDX-License-Identifier: Apache-2.0
import os
import pty
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), ".."))
import taprun  # noqa: E402

POSTERN = os.environ["POSTERN"]
KEYTOOL = "/usr/bin/keytool"
TIMEOUT = 120
WORK = tempfile.mkdtemp(prefix="postern-certcli-")
TESTS = []


def test(func):
    TESTS.append(func)
    return func


def run(argv, check=True, cwd=WORK, env=None, stdin=subprocess.DEVNULL):
    proc = subprocess.run(argv, cwd=cwd, env=env, stdin=stdin, capture_output=True,
                          text=True, timeout=TIMEOUT)
    if check and proc.returncode != 0:
        raise AssertionError("%s failed (%d):\n%s%s" % (" ".join(argv), proc.returncode,
                                                          proc.stdout, proc.stderr))
    return proc


def postern(*args, check=True, **kw):
    return run([POSTERN, "cert"] + list(args), check=check, **kw)


def refused(proc, *needles):
    """A clean refusal: exit 1 (not a signal), each needle in stderr."""
    assert proc.returncode == 1, "exit %d, wanted 1:\n%s%s" % (proc.returncode, proc.stdout, proc.stderr)
    for n in needles:
        assert n in proc.stderr, "%r not in stderr:\n%s" % (n, proc.stderr)
    assert "CRITICAL" not in proc.stderr and "AddressSanitizer" not in proc.stderr, proc.stderr


def path(name):
    return os.path.join(WORK, name)


def keytool(*args):
    return run([KEYTOOL] + list(args))


def keytool_fingerprints(store, storetype, password):
    """alias → (kind, SHA-256, owner) from keytool -list -v"""
    out = keytool("-list", "-v", "-keystore", store, "-storetype", storetype,
                  "-storepass", password).stdout
    result = {}
    for block in out.split("Alias name: ")[1:]:
        alias = block.splitlines()[0].strip()
        kind = re.search(r"Entry type: (\w+)", block).group(1)
        sha = re.search(r"SHA256: ([0-9A-F:]+)", block).group(1)
        owner = re.search(r"Owner: (.*)", block).group(1)
        result[alias] = (kind, sha, owner)
    return result


def list_rows(store, *extra):
    out = postern("list", store, *extra).stdout
    return out, out.splitlines()[2:]


def openssl_fingerprint(pem):
    out = run(["openssl", "x509", "-noout", "-fingerprint", "-sha256", "-in", pem]).stdout
    return out.strip().split("=", 1)[1].upper()


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


# --- fixtures made once -----------------------------------------------------

def make_keytool_stores():
    """JKS, JCEKS and PKCS#12 stores named .db: RSA and EC keys, a trusted entry"""
    keytool("-genkeypair", "-keystore", "anchor.p12", "-storetype", "PKCS12", "-storepass", "changeit",
            "-alias", "anchor", "-keyalg", "EC", "-groupname", "secp256r1", "-dname", "CN=Anchor CA,O=Test")
    keytool("-exportcert", "-keystore", "anchor.p12", "-storepass", "changeit", "-alias", "anchor",
            "-file", "anchor.der")
    for storetype in ("JKS", "JCEKS", "PKCS12"):
        store = "keystore-%s.db" % storetype.lower()
        for alias, alg in (("rsa.example.test", ["-keyalg", "RSA", "-keysize", "2048"]),
                           ("ec.example.test", ["-keyalg", "EC", "-groupname", "secp256r1"])):
            keytool("-genkeypair", "-keystore", store, "-storetype", storetype, "-storepass", "changeit",
                    "-keypass", "changeit", "-alias", alias, *alg, "-dname", "CN=%s,O=Postern Test" % alias,
                    "-ext", "SAN=dns:%s,ip:127.0.0.1" % alias)
        keytool("-importcert", "-noprompt", "-keystore", store, "-storetype", storetype,
                "-storepass", "changeit", "-alias", "anchor", "-file", "anchor.der")
    # a store with its own password in the .pw file beside it
    keytool("-genkeypair", "-keystore", "secret.db", "-storetype", "JKS", "-storepass", "Zq-8u!s3cret",
            "-keypass", "Zq-8u!s3cret", "-alias", "secret.test", "-keyalg", "EC", "-groupname", "secp256r1",
            "-dname", "CN=secret.test")
    with open(path("secret.pw"), "w") as f:
        f.write("Zq-8u!s3cret\n")
    os.chmod(path("secret.pw"), 0o600)


# --- tests --------------------------------------------------------------------

@test
def help_for_every_command():
    out = postern("--help").stdout
    for sub in ("generate", "list", "export", "import", "fetch", "remove", "convert",
                "install-ca", "uninstall-ca"):
        assert sub in out, sub
        p = postern(sub, "--help")
        assert p.stdout.startswith("Usage:\n  postern cert %s" % sub), p.stdout[:80]
    refused(postern("frobnicate", check=False), "postern cert --help")


@test
def list_keytool_stores():
    for storetype in ("JKS", "JCEKS", "PKCS12"):
        store = "keystore-%s.db" % storetype.lower()
        expected = keytool_fingerprints(store, storetype, "changeit")
        assert len(expected) == 3, expected
        out, rows = list_rows(store)
        assert "%s store, 3 entries" % storetype in out, out
        assert len(rows) == 3, out
        for alias, (kind, sha, owner) in expected.items():
            row = [r for r in rows if r.split()[0] == alias]
            assert len(row) == 1, (alias, out)
            row = row[0]
            assert sha in row, (alias, sha, row)
            assert (" key " if kind == "PrivateKeyEntry" else " trusted ") in row, row
            cn = re.search(r"CN=([^,]*)", owner).group(1)
            assert "CN=%s" % cn in row, (cn, row)
            assert "expires in" in row, row
        assert "DNS:rsa.example.test,IP:127.0.0.1" in out, out


@test
def password_file_beside_store():
    expected = keytool_fingerprints("secret.db", "JKS", "Zq-8u!s3cret")
    out, rows = list_rows("secret.db")
    assert expected["secret.test"][1] in out, out
    # an explicit --password-file elsewhere works too, and nothing prints the password
    shutil.copy(path("secret.pw"), path("elsewhere.pw"))
    out = postern("list", "secret.db", "--password-file", "elsewhere.pw").stdout
    assert expected["secret.test"][1] in out and "Zq-8u" not in out


@test
def wrong_password_is_named():
    for storetype in ("JKS", "JCEKS", "PKCS12"):
        store = "keystore-%s.db" % storetype.lower()
        with open(path("wrong.pw"), "w") as f:
            f.write("not-the-password\n")
        p = postern("list", store, "--password-file", "wrong.pw", check=False)
        refused(p, "wrong password for %s (read from wrong.pw)" % store)
        assert "not-the-password" not in p.stderr + p.stdout


@test
def damaged_stores_fail_cleanly():
    for storetype in ("jks", "jceks", "pkcs12"):
        data = open(path("keystore-%s.db" % storetype), "rb").read()
        for cut in (len(data) // 2, len(data) - 1, 7):
            name = "cut-%s-%d.db" % (storetype, cut)
            with open(path(name), "wb") as f:
                f.write(data[:cut])
            refused(postern("list", name, check=False), name)
    with open(path("random.db"), "wb") as f:
        f.write(os.urandom(3000))
    refused(postern("list", "random.db", check=False), "random.db")
    with open(path("jksrandom.db"), "wb") as f:
        f.write(b"\xfe\xed\xfe\xed\x00\x00\x00\x02\x00\x00\x00\x05" + os.urandom(3000))
    refused(postern("list", "jksrandom.db", check=False), "jksrandom.db", "damaged")
    refused(postern("list", "missing.db", check=False), "missing.db does not exist")


@test
def keytool_stores_are_read_only_and_convert():
    p = postern("generate", "--keystore", "keystore-jks.db", "new.test", check=False)
    refused(p, "keystore-jks.db", "convert")
    refused(postern("remove", "keystore-jceks.db", "anchor", check=False), "convert")
    expected = keytool_fingerprints("keystore-jceks.db", "JCEKS", "changeit")
    postern("convert", "keystore-jceks.db", "--out", "converted.p12")
    password = open(path("converted.pw")).read().strip()
    assert oct(os.stat(path("converted.pw")).st_mode & 0o777) == "0o600"
    got = keytool_fingerprints("converted.p12", "PKCS12", password)
    assert {a: v[1] for a, v in got.items()} == {a: v[1] for a, v in expected.items()}, (got, expected)
    assert got["rsa.example.test"][0] == "PrivateKeyEntry" and got["anchor"][0] == "trustedCertEntry", got
    refused(postern("convert", "keystore-jceks.db", "--out", "converted.p12", check=False), "already exists")


@test
def generate_with_local_ca():
    p = postern("generate", "--keystore", "gen.db", "--ca", "devca.p12", "localhost", "127.0.0.1", "app.test")
    for f, mode in (("gen.pw", 0o600), ("devca.pw", 0o600), ("gen.db", 0o600)):
        assert os.stat(path(f)).st_mode & 0o777 == mode, f
    password = open(path("gen.pw")).read().strip()
    assert len(password) >= 16 and password not in p.stdout
    got = keytool_fingerprints("gen.db", "PKCS12", password)
    assert list(got) == ["localhost"] and got["localhost"][0] == "PrivateKeyEntry", got
    info = run(["openssl", "pkcs12", "-info", "-nokeys", "-in", "gen.db", "-passin", "file:gen.pw"])
    assert "subject=CN = localhost" in info.stdout, info.stdout
    out, rows = list_rows("gen.db")
    assert got["localhost"][1] in out

    # the leaf verifies against the CA, with SANs and serverAuth
    run(["openssl", "pkcs12", "-in", "devca.p12", "-nokeys", "-passin", "file:devca.pw", "-out", "ca.pem"])
    postern("export", "gen.db", "localhost", "--out", "leaf.pem")
    v = run(["openssl", "verify", "-CAfile", "ca.pem", "leaf.pem"])
    assert v.stdout.strip() == "leaf.pem: OK", v.stdout
    text = run(["openssl", "x509", "-in", "leaf.pem", "-noout", "-text"]).stdout
    for needle in ("DNS:localhost", "IP Address:127.0.0.1", "DNS:app.test",
                   "TLS Web Server Authentication", "CA:FALSE"):
        assert needle in text, needle
    assert "TLS Web Client Authentication" not in text
    assert openssl_fingerprint("leaf.pem") == got["localhost"][1]
    catext = run(["openssl", "x509", "-in", "ca.pem", "-noout", "-text"]).stdout
    assert "CA:TRUE, pathlen:0" in catext and "Permitted:" in catext, catext

    # DER export, RSA and --client
    postern("export", "gen.db", "localhost", "--out", "leaf.der", "--format", "der")
    assert open(path("leaf.der"), "rb").read()[0] == 0x30
    postern("generate", "--keystore", "gen.db", "--ca", "devca.p12", "--key", "rsa2048", "--client",
            "--days", "30", "client.test")
    postern("export", "gen.db", "client.test", "--out", "client.pem")
    text = run(["openssl", "x509", "-in", "client.pem", "-noout", "-text"]).stdout
    assert "TLS Web Client Authentication" in text and "rsaEncryption" in text, text
    assert "expires in 29 days" in postern("list", "gen.db").stdout or \
           "expires in 30 days" in postern("list", "gen.db").stdout
    assert run(["openssl", "verify", "-CAfile", "ca.pem", "client.pem"]).stdout.strip() == "client.pem: OK"


@test
def name_constraints_refuse_public_names():
    postern("generate", "--keystore", "nc.db", "--ca", "devca.p12", "ok.localhost")
    p = postern("generate", "--keystore", "nc2.db", "--ca", "devca.p12", "www.example.com", check=False)
    refused(p, "www.example.com", "name constraints")
    assert not os.path.exists(path("nc2.db")) and not os.path.exists(path("nc2.pw"))
    # an unconstrained CA may certify it
    postern("generate", "--keystore", "nc3.db", "--ca", "openca.p12", "--unconstrained", "www.example.com")


@test
def export_pkcs12_truststore_for_java():
    postern("export", "gen.db", "localhost", "--out", "trust.p12", "--format", "pkcs12")
    out = keytool("-list", "-keystore", "trust.p12", "-storetype", "PKCS12", "-storepass", "changeit").stdout
    assert "contains 1 entry" in out and "trustedCertEntry" in out, out
    with open(path("trust2.pw"), "w") as f:
        f.write("another-Pa55\n")
    postern("export", "gen.db", "localhost", "--out", "trust2.p12", "--format", "pkcs12",
            "--password-file", "trust2.pw")
    out = keytool("-list", "-keystore", "trust2.p12", "-storetype", "PKCS12", "-storepass", "another-Pa55").stdout
    assert "contains 1 entry" in out, out
    refused(postern("export", "gen.db", "nope", "--out", "x.pem", check=False), "no entry “nope”", "localhost")


@test
def import_and_remove():
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", "imp.key", "-out", "imp.pem", "-subj", "/CN=Imported Server", "-days", "5"])
    run(["openssl", "x509", "-in", "imp.pem", "-outform", "DER", "-out", "imp.der"])
    fp = openssl_fingerprint("imp.pem")
    postern("import", "trust.db", "imp.pem")
    assert fp in postern("list", "trust.db").stdout
    assert "already trusts" in postern("import", "trust.db", "imp.der").stdout
    postern("import", "trust.db", "anchor.der", "--alias", "my-anchor")
    out, rows = list_rows("trust.db")
    assert len(rows) == 2 and any(r.startswith("my-anchor ") and " trusted " in r for r in rows), out
    assert "expires in 4 days" in out or "expires in 5 days" in out, out
    postern("remove", "trust.db", "imported server")
    out, rows = list_rows("trust.db")
    assert fp not in out and len(rows) == 1, out
    refused(postern("remove", "trust.db", "imported server", check=False), "my-anchor")
    with open(path("notcert.pem"), "w") as f:
        f.write("hello\n")
    refused(postern("import", "trust.db", "notcert.pem", check=False), "notcert.pem")


def start_s_server():
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", "srv.key", "-out", "srv.pem",
         "-subj", "/CN=fetch.test", "-addext", "subjectAltName=DNS:fetch.test", "-days", "10"])
    for attempt in range(5):
        port = free_port()
        proc = subprocess.Popen(["openssl", "s_server", "-accept", "127.0.0.1:%d" % port, "-cert", "srv.pem",
                                 "-key", "srv.key", "-quiet"], cwd=WORK, stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline and proc.poll() is None:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                return proc, port
            except OSError:
                time.sleep(0.1)
        proc.kill()
        proc.wait(timeout=10)
    raise AssertionError("openssl s_server did not start")


@test
def fetch_from_s_server():
    server, port = start_s_server()
    try:
        fp = openssl_fingerprint("srv.pem")
        # no terminal and no --yes: shows the chain, refuses, changes nothing
        p = postern("fetch", "fetched.db", "127.0.0.1:%d" % port, check=False)
        refused(p, "--yes")
        assert fp in p.stdout and "CN=fetch.test" in p.stdout, p.stdout
        assert not os.path.exists(path("fetched.db")) and not os.path.exists(path("fetched.pw"))
        p = postern("fetch", "fetched.db", "127.0.0.1:%d" % port, "--yes", "--alias", "fetch.test")
        assert fp in p.stdout
        out, rows = list_rows("fetched.db")
        assert len(rows) == 1 and rows[0].startswith("fetch.test ") and fp in rows[0], out
        # on a terminal it asks; "n" changes nothing, "y" trusts
        for answer, status in ((b"n\n", 1), (b"y\n", 0)):
            master, slave = pty.openpty()
            proc = subprocess.Popen([POSTERN, "cert", "fetch", "asked.db", "127.0.0.1:%d" % port],
                                    cwd=WORK, stdin=slave, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
            os.close(slave)
            os.write(master, answer)
            out, err = proc.communicate(timeout=TIMEOUT)
            os.close(master)
            assert proc.returncode == status, (answer, proc.returncode, out, err)
            assert b"Trust certificate [0] as \xe2\x80\x9c127.0.0.1\xe2\x80\x9d in asked.db? [y/N]" in out, out
            assert os.path.exists(path("asked.db")) == (status == 0)
        assert fp in postern("list", "asked.db").stdout
    finally:
        server.kill()
        server.wait(timeout=10)
    refused(postern("fetch", "fetched.db", "127.0.0.1:%d" % free_port(), "--yes", check=False),
            "cannot connect")


@test
def install_ca_nss():
    home = path("home")
    os.makedirs(home)
    profile = os.path.join(home, ".mozilla", "firefox", "abcd.default-release")
    os.makedirs(profile)
    run(["certutil", "-N", "-d", "sql:" + profile, "--empty-password"])
    env = dict(os.environ, HOME=home)
    nick = re.search(r"CN ?= ?([^,\n]*)", run(["openssl", "x509", "-in", "ca.pem", "-noout", "-subject"]).stdout).group(1)

    p = postern("install-ca", "devca.p12", "--nss", env=env)
    nssdb = os.path.join(home, ".pki", "nssdb")
    assert "added" in p.stdout and nssdb in p.stdout and profile in p.stdout, p.stdout
    for db in (nssdb, profile):
        listing = run(["certutil", "-L", "-d", "sql:" + db], env=env).stdout
        line = [l for l in listing.splitlines() if l.startswith(nick)]
        assert len(line) == 1 and line[0].split()[-1] == "C,,", listing
    assert "already there" in postern("install-ca", "devca.p12", "--nss", env=env).stdout

    p = postern("uninstall-ca", "devca.p12", "--nss", env=env)
    assert p.stdout.count("removed") == 2, p.stdout
    for db in (nssdb, profile):
        assert nick not in run(["certutil", "-L", "-d", "sql:" + db], env=env).stdout
    refused(postern("install-ca", "devca.p12", env=env, check=False), "--nss")
    refused(postern("install-ca", "trust.db", "--nss", env=env, check=False), "no CA certificate")




@test
def install_ca_java_with_java_home():
    """--java on a JDK of one's own (JAVA_HOME): a JKS cacerts edited in place
    comes back byte for byte; a PKCS#12 one goes through keytool (same entries)."""
    real_keytool = os.path.realpath(shutil.which("keytool"))
    for storetype in ("JKS", "PKCS12"):
        home = path("jdk-%s" % storetype.lower())
        os.makedirs(os.path.join(home, "bin"))
        os.makedirs(os.path.join(home, "lib", "security"))
        os.symlink(real_keytool, os.path.join(home, "bin", "keytool"))
        cacerts = os.path.join(home, "lib", "security", "cacerts")
        keytool("-importcert", "-noprompt", "-keystore", cacerts, "-storetype", storetype,
                "-storepass", "changeit", "-alias", "anchor", "-file", "anchor.der")
        before = open(cacerts, "rb").read()
        env = dict(os.environ, JAVA_HOME=home)
        p = postern("install-ca", "devca.p12", "--java", env=env)
        assert "Java cacerts %s: added “postern-dev-ca”" % cacerts in p.stdout, p.stdout
        got = keytool_fingerprints(cacerts, storetype, "changeit")
        assert sorted(got) == ["anchor", "postern-dev-ca"], got
        assert got["postern-dev-ca"][0] == "trustedCertEntry", got
        assert got["postern-dev-ca"][1] == openssl_fingerprint("ca.pem"), got
        assert "already there" in postern("install-ca", "devca.p12", "--java", env=env).stdout
        p = postern("uninstall-ca", "devca.p12", "--java", env=env)
        assert "removed “postern-dev-ca”" in p.stdout, p.stdout
        after = open(cacerts, "rb").read()
        if storetype == "JKS":
            assert after == before, "JKS cacerts not restored byte for byte"
        assert sorted(keytool_fingerprints(cacerts, storetype, "changeit")) == ["anchor"]
        assert "was not there" in postern("uninstall-ca", "devca.p12", "--java", env=env).stdout
    # a wrong cacerts password (not the JDK's default) is named, nothing changes
    bad = path("jdk-bad")
    os.makedirs(os.path.join(bad, "bin"))
    os.makedirs(os.path.join(bad, "lib", "security"))
    os.symlink(real_keytool, os.path.join(bad, "bin", "keytool"))
    keytool("-importcert", "-noprompt", "-keystore", os.path.join(bad, "lib", "security", "cacerts"),
            "-storetype", "JKS", "-storepass", "other-pass", "-alias", "anchor", "-file", "anchor.der")
    p = postern("install-ca", "devca.p12", "--java", env=dict(os.environ, JAVA_HOME=bad), check=False)
    refused(p, "jdk-bad/lib/security/cacerts", "wrong password")

# --- aliases: the local CA's plain token, spaces from elsewhere ---------------

TSV_COLUMNS = ["alias", "kind", "subject", "sans", "not_after", "days_left", "status", "sha256"]


def unescape_tsv(cell):
    """The documented TSV escapes: \\\\ \\t \\n \\r \\xNN \\uNNNN"""
    return re.sub(r"\\(\\|t|n|r|x[0-9a-f]{2}|u[0-9a-f]{4})",
                  lambda m: {"\\": "\\", "t": "\t", "n": "\n", "r": "\r"}.get(m.group(1))
                  or chr(int(m.group(1)[1:], 16)), cell)


def tsv_rows(store, *extra):
    out = postern("list", store, "--format=tsv", *extra).stdout
    lines = out.split("\n")
    assert lines[-1] == "", "TSV must end with a newline: %r" % out[-40:]
    header = lines[0].split("\t")
    assert header == TSV_COLUMNS, header
    rows = []
    for line in lines[1:-1]:
        cells = line.split("\t")
        assert len(cells) == len(TSV_COLUMNS), (line, out)
        rows.append(dict(zip(TSV_COLUMNS, cells)))
    return rows


def json_rows(store, *extra):
    import json
    out = postern("list", store, "--format=json", *extra).stdout
    rows = json.loads(out)
    assert isinstance(rows, list), out
    for r in rows:
        assert sorted(r) == sorted(TSV_COLUMNS), r
        assert isinstance(r["days_left"], int) and isinstance(r["sans"], list), r
        assert r["kind"] in ("key", "trusted") and r["status"] in ("valid", "expired", "not-yet-valid"), r
    return rows


@test
def local_ca_alias_is_a_token():
    rows = tsv_rows("devca.p12")
    assert [(r["alias"], r["kind"]) for r in rows] == [("postern-dev-ca", "key")], rows
    host = socket.gethostname()
    assert "CN=Postern development CA on %s" % host in rows[0]["subject"], rows
    assert "O=Postern development CA" in rows[0]["subject"], rows
    # importing its certificate elsewhere keeps the token; no quoting anywhere
    postern("export", "devca.p12", "postern-dev-ca", "--out", "ca-token.pem")
    p = postern("import", "ca-trust.db", "ca-token.pem")
    assert "now trusts “postern-dev-ca”" in p.stdout, p.stdout
    assert [r["alias"] for r in tsv_rows("ca-trust.db")] == ["postern-dev-ca"]
    out = keytool("-list", "-keystore", "ca-trust.db", "-storetype", "PKCS12",
                  "-storepass", open(path("ca-trust.pw")).read().strip()).stdout
    assert "postern-dev-ca, " in out and "trustedCertEntry" in out, out
    postern("remove", "ca-trust.db", "postern-dev-ca")
    assert tsv_rows("ca-trust.db") == []


@test
def old_local_ca_alias_still_works():
    """A CA store made by an older version: alias "postern development ca on HOST"."""
    host = socket.gethostname()
    old_alias = "postern development ca on %s" % host
    run(["openssl", "pkcs12", "-in", "devca.p12", "-passin", "file:devca.pw", "-nodes", "-out", "devca-all.pem"])
    run(["openssl", "pkcs12", "-export", "-in", "devca-all.pem", "-name", old_alias,
         "-out", "oldca.p12", "-passout", "pass:old-Pa55"])
    with open(path("oldca.pw"), "w") as f:
        f.write("old-Pa55\n")
    os.chmod(path("oldca.pw"), 0o600)
    assert [r["alias"] for r in tsv_rows("oldca.p12")] == [old_alias]
    # the new name finds it, and it still signs
    postern("export", "oldca.p12", "postern-dev-ca", "--out", "oldca.pem")
    postern("export", "oldca.p12", old_alias, "--out", "oldca2.pem")
    assert open(path("oldca.pem")).read() == open(path("oldca2.pem")).read() == open(path("ca-token.pem")).read()
    postern("generate", "--keystore", "fromold.db", "--ca", "oldca.p12", "old.localhost")
    postern("export", "fromold.db", "old.localhost", "--out", "fromold.pem")
    assert run(["openssl", "verify", "-CAfile", "oldca.pem", "fromold.pem"]).stdout.strip() == "fromold.pem: OK"
    # a truststore that imported it under the old alias (keytool here): both names remove it
    for name in ("postern-dev-ca", old_alias):
        if os.path.exists(path("oldtrust.p12")):
            os.unlink(path("oldtrust.p12"))
        keytool("-importcert", "-noprompt", "-keystore", "oldtrust.p12", "-storetype", "PKCS12",
                "-storepass", "changeit", "-alias", old_alias, "-file", "oldca.pem")
        assert [(r["alias"], r["kind"]) for r in tsv_rows("oldtrust.p12")] == [(old_alias, "trusted")]
        p = postern("remove", "oldtrust.p12", name)
        assert "Removed “%s”" % old_alias in p.stdout, p.stdout
    # install-ca puts it where clients look under the new alias too
    env = dict(os.environ, JAVA_HOME=path("jdk-jks"))
    p = postern("install-ca", "oldca.p12", "--java", env=env)
    assert "added “postern-dev-ca”" in p.stdout, p.stdout
    assert "removed “postern-dev-ca”" in postern("uninstall-ca", "oldca.p12", "--java", env=env).stdout
    # a new store with the new alias is found by the old name too (old scripts)
    postern("export", "devca.p12", old_alias, "--out", "byoldname.pem")
    # any other alias is not a fallback
    refused(postern("export", "devca.p12", "postern development ca", "--out", "x.pem", check=False),
            "no entry “postern development ca”", "“postern-dev-ca”")


@test
def keytool_aliases_with_spaces():
    store = "spaces.p12"
    keytool("-genkeypair", "-keystore", store, "-storetype", "PKCS12", "-storepass", "changeit",
            "-alias", "my server", "-keyalg", "EC", "-groupname", "secp256r1",
            "-dname", "CN=my.server.test", "-ext", "SAN=dns:my.server.test")
    keytool("-importcert", "-noprompt", "-keystore", store, "-storetype", "PKCS12",
            "-storepass", "changeit", "-alias", "my anchor", "-file", "anchor.der")
    expected = keytool_fingerprints(store, "PKCS12", "changeit")
    assert sorted(expected) == ["my anchor", "my server"], expected
    rows = tsv_rows(store)
    assert {r["alias"]: r["sha256"] for r in rows} == {a: v[1] for a, v in expected.items()}, rows
    assert {r["alias"]: r["kind"] for r in rows} == {"my server": "key", "my anchor": "trusted"}, rows
    assert [r["alias"] for r in json_rows(store)] == [r["alias"] for r in rows]
    postern("export", store, "my server", "--out", "myserver.pem")
    assert openssl_fingerprint("myserver.pem") == expected["my server"][1]
    # every message quotes the aliases
    p = postern("export", store, "my sever", "--out", "x.pem", check=False)
    refused(p, "no entry “my sever”", "“my anchor”", "“my server”")
    # a taken alias: the fix is a command that can be pasted as it is
    p = postern("import", store, "imp.pem", "--alias", "my anchor", check=False)
    refused(p, "different entry “my anchor”", "postern cert remove spaces.p12 'my anchor'")
    p = postern("remove", store, "my anchor")
    assert "Removed “my anchor” from spaces.p12" in p.stdout, p.stdout
    assert [r["alias"] for r in tsv_rows(store)] == ["my server"]
    assert sorted(keytool_fingerprints(store, "PKCS12", "changeit")) == ["my server"]


@test
def list_tsv_and_json_agree_with_keytool():
    for storetype in ("JKS", "JCEKS", "PKCS12"):
        store = "keystore-%s.db" % storetype.lower()
        expected = keytool_fingerprints(store, storetype, "changeit")
        tsv = tsv_rows(store)
        js = json_rows(store)
        assert len(tsv) == len(js) == len(expected) == 3, (tsv, js)
        for t, j in zip(tsv, js):
            kind, sha, owner = expected[t["alias"]]
            assert t["sha256"] == j["sha256"] == sha, (t, sha)
            assert t["kind"] == j["kind"] == ("key" if kind == "PrivateKeyEntry" else "trusted"), t
            assert t["subject"] == j["subject"], (t, j)
            assert (t["sans"].split(",") if t["sans"] else []) == j["sans"], (t, j)
            assert t["status"] == j["status"] == "valid", t
            assert int(t["days_left"]) == j["days_left"] and 85 <= j["days_left"] <= 90, t
            # not_after: ISO 8601 UTC, the same instant keytool shows
            assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", t["not_after"]), t
            assert t["not_after"] == j["not_after"], (t, j)
        ec = [j for j in js if j["alias"] == "ec.example.test"][0]
        assert ec["sans"] == ["DNS:ec.example.test", "IP:127.0.0.1"], ec
    # an expired certificate: negative days, status expired
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", "old.key", "-out", "expired.pem", "-subj", "/CN=expired.test",
         "-not_before", "20200101000000Z", "-not_after", "20200301000000Z"], check=False)
    if not os.path.exists(path("expired.pem")):   # openssl 3.0 has no -not_before on req
        run(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
             "-keyout", "old.key", "-out", "expired.csr", "-subj", "/CN=expired.test"])
        run(["openssl", "ca", "-batch", "-selfsign", "-keyfile", "old.key", "-in", "expired.csr",
             "-out", "expired.pem", "-startdate", "20200101000000Z", "-enddate", "20200301000000Z",
             "-config", write_ca_config()])
    postern("import", "expired.db", "expired.pem")
    (t,), (j,) = tsv_rows("expired.db"), json_rows("expired.db")
    assert t["status"] == j["status"] == "expired" and j["days_left"] < -1000, j
    assert j["not_after"] == "2020-03-01T00:00:00Z", j
    # empty store: header only / []
    postern("remove", "expired.db", "expired.test")
    assert tsv_rows("expired.db") == [] and json_rows("expired.db") == []
    refused(postern("list", "expired.db", "--format=xml", check=False), "--format=tsv", "--format=json")


def write_ca_config():
    os.makedirs(path("ca-db"), exist_ok=True)
    open(path("ca-db/index.txt"), "w").close()
    with open(path("ca-db/serial"), "w") as f:
        f.write("1000\n")
    conf = path("ca.cnf")
    with open(conf, "w") as f:
        f.write("[ca]\ndefault_ca = d\n[d]\ndir = %s\ndatabase = $dir/index.txt\nserial = $dir/serial\n"
                "new_certs_dir = $dir\ndefault_md = sha256\npolicy = p\n[p]\ncommonName = supplied\n"
                % path("ca-db"))
    return conf


@test
def hostile_subject_cannot_break_a_row():
    cn = 'evil\tcell\nfake\trow "quoted" \'single\' end'
    san_email = "a\tb@x.test"
    run(["openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
         "-keyout", "evil.key", "-out", "evil.pem", "-subj", "/CN=%s/O=Hostile, Inc." % cn, "-days", "3",
         "-addext", "subjectAltName=DNS:evil.test,email:%s" % san_email])
    alias = "evil\talias\nsecond line"
    postern("import", "evil.db", "evil.pem", "--alias", alias)
    postern("import", "evil.db", "imp.pem")          # a normal row after it
    tsv = tsv_rows("evil.db")                        # asserts 8 cells on each of 2 lines
    assert len(tsv) == 2, tsv
    evil = tsv[0]
    assert unescape_tsv(evil["alias"]) == alias, evil
    assert cn.replace('"', '\\"') in unescape_tsv(evil["subject"]), evil
    assert [unescape_tsv(s) for s in evil["sans"].split(",")] == ["DNS:evil.test", "email:" + san_email], evil
    assert tsv[1]["alias"] == "imported server", tsv
    js = json_rows("evil.db")
    assert js[0]["alias"] == alias and js[0]["sans"] == ["DNS:evil.test", "email:" + san_email], js[0]
    assert cn.replace('"', '\\"') in js[0]["subject"], js[0]
    assert js[0]["sha256"] == openssl_fingerprint("evil.pem")
    # the table for people: one line per entry too
    out = postern("list", "evil.db").stdout
    assert len(out.splitlines()) == 4, out
    # RFC 4514's own escape stays readable there (doubled only in TSV)
    assert "O=Hostile\\, Inc." in out and "Hostile\\\\," not in out, out
    assert "O=Hostile\\\\, Inc." in postern("list", "evil.db", "--format=tsv").stdout
    # and the messages naming it stay on one line
    p = postern("export", "evil.db", "nope", "--out", "x.pem", check=False)
    refused(p, "“evil\\talias\\nsecond line”")
    assert len(p.stderr.splitlines()) == 1, p.stderr


def main():
    return taprun.run("keytool stores made", make_keytool_stores, TESTS,
                      cleanup=lambda: shutil.rmtree(WORK, ignore_errors=True))


if __name__ == "__main__":
    sys.exit(main())
