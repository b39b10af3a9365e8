#!/usr/bin/python3
# test_keytool_serve.py: `postern run` serves wss:// from keystores that Java's
# keytool made (JKS, JCEKS, PKCS#12 named .db; RSA and EC keys), verified by
# a real client; a leaf outside the local CA's name constraints fails
# `openssl verify` even when made by other means.
# SPDX-License-Identifier: Apache-2.0
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "e2e"))
import harness as h  # noqa: E402

T = h.Tap(case_timeout=120)
KEYTOOL = "/usr/bin/keytool"
PASSWORD = "s3cret-keytool-pass"


def keytool(*args, cwd):
    h.require_tool("keytool", KEYTOOL)
    p = subprocess.run([KEYTOOL] + list(args), cwd=cwd, capture_output=True, text=True, timeout=120)
    h.require(p.returncode == 0, f"keytool {' '.join(args)} failed: {p.stdout}{p.stderr}")
    return p.stdout


def serve_and_echo(storetype, keyalg):
    d = T.tmpdir(prefix=f"postern-keytool-{storetype.lower()}-")
    extra = ["-groupname", "secp256r1"] if keyalg == "EC" else ["-keysize", "2048"]
    keytool("-genkeypair", "-alias", "localhost", "-keyalg", keyalg, *extra,
            "-dname", "CN=localhost", "-ext", "SAN=dns:localhost,ip:127.0.0.1",
            "-validity", "90", "-keystore", "keystore.db", "-storetype", storetype,
            "-storepass", PASSWORD, "-keypass", PASSWORD, cwd=d)
    # a trusted entry beside the key entry, as real stores have
    keytool("-exportcert", "-rfc", "-alias", "localhost", "-keystore", "keystore.db",
            "-storetype", storetype, "-storepass", PASSWORD, "-file", "gateway.pem", cwd=d)
    h.write_secret(os.path.join(d, "keystore.pw"), PASSWORD + "\n")
    port = h.free_port()
    url = f"wss://localhost:{port}/echo"
    config = h.write_config(d, h.config_xml(
        [h.service_xml("echo", "echo", [url])],
        keystore=("keystore.db", "keystore.pw", storetype)))
    gw = h.start_gateway(config, [url], name=f"postern run ({storetype} {keyalg})")
    try:
        async def go():
            async with h.ws_connect(url, h.client_ssl_context(cafile=os.path.join(d, "gateway.pem"))) as c:
                payload = os.urandom(300 * 1024)
                await c.send(payload)
                got = await c.recv()
                h.check_equal(got, payload, "binary echo through a keytool store")
                await c.send("text through " + storetype)
                h.check_equal(await c.recv(), "text through " + storetype, "text echo")
        h.arun(go(), 30)
    finally:
        gw.stop()


for storetype in ("JKS", "JCEKS", "PKCS12"):
    for keyalg in ("RSA", "EC"):
        @T.case(f"postern run serves wss:// from a keytool {storetype} store (keystore.db, {keyalg} key), "
                "verified by python3-websockets against keytool's exported certificate")
        def _(storetype=storetype, keyalg=keyalg):
            serve_and_echo(storetype, keyalg)


@T.case("a leaf outside the local CA's name constraints, signed by other means (openssl), "
        "fails openssl verify; one inside passes")
def _():
    d = T.tmpdir(prefix="postern-constraints-")
    p = h.run_postern(["cert", "generate", "--keystore", "leaf.db", "--ca", "devca.p12", "app.test"], cwd=d)
    h.require(p.returncode == 0, f"postern cert generate --ca failed: {p.stderr}")
    h.run_checked(["openssl", "pkcs12", "-in", "devca.p12", "-passin", "file:devca.pw",
                   "-nodes", "-out", "ca-with-key.pem"], cwd=d)
    h.run_checked(["openssl", "pkcs12", "-in", "devca.p12", "-passin", "file:devca.pw",
                   "-nokeys", "-out", "ca.pem"], cwd=d)
    h.run_checked(["openssl", "pkcs12", "-in", "devca.p12", "-passin", "file:devca.pw",
                   "-nocerts", "-nodes", "-out", "ca.key"], cwd=d)
    results = {}
    for name in ("www.example.com", "inside.test"):
        h.run_checked(["openssl", "req", "-new", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256",
                       "-nodes", "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}"],
                      cwd=d)
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(f"subjectAltName=DNS:{name}\nextendedKeyUsage=serverAuth\n")
        h.run_checked(["openssl", "x509", "-req", "-in", f"{name}.csr", "-CA", "ca.pem", "-CAkey", "ca.key",
                       "-CAcreateserial", "-days", "30", "-extfile", f"{name}.ext", "-out", f"{name}.pem"],
                      cwd=d)
        v = h.run_tool(["openssl", "verify", "-CAfile", "ca.pem", f"{name}.pem"], cwd=d)
        results[name] = (v.returncode, v.stdout + v.stderr)
    rc, out = results["www.example.com"]
    h.require(rc != 0 and "permitted subtree violation" in out,
              f"www.example.com should violate the CA's name constraints: rc={rc} {out}")
    rc, out = results["inside.test"]
    h.require(rc == 0, f"inside.test should verify: rc={rc} {out}")


if __name__ == "__main__":
    sys.exit(T.run())
