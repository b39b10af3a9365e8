#!/usr/bin/python3
# Flow 3 (issue 6, p_tls_clientapp.md "Java clients"): a Java 17 program on
# java.net.http.WebSocket (Client.java, run as a single-file program) talks
# to a wss:// echo whose self-signed certificate was made by
# `postern cert generate`.  With -Djavax.net.ssl.trustStore= a PKCS#12
# truststore written by `postern cert export --format pkcs12` it round-trips
# text and binary; without it the JVM refuses the certificate (PKIX).
# SPDX-License-Identifier: Apache-2.0
import hashlib
import os
import re
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib as f  # noqa: E402
from flowlib import h, p  # noqa: E402

T = h.Tap(case_timeout=120)
CLIENT = os.path.join(f.HERE, "Client.java")
JAVA_TIMEOUT = 90


class Setup:
    def __init__(self):
        self.dir = d = T.tmpdir("postern-flow3-")
        self.java = h.require_tool("java")
        f.postern(["cert", "generate", "--keystore", "keystore.db", *f.LOCAL_NAMES], d)
        # docs: keytool -exportcert, then keytool -importcert into a client
        # truststore; here one step
        f.postern(["cert", "export", "keystore.db", "localhost", "--out", "ts.p12",
                   "--format", "pkcs12"], d)
        self.port = h.free_port()
        self.url = f"wss://localhost:{self.port}/echo"
        cfg = f.config(d, [h.service_xml("echo", "echo", [self.url])],
                       keystore=("keystore.db", "keystore.pw"))
        self.gw = h.start_gateway(cfg, [self.url], name="postern run (for Java)")
        T.add_cleanup(self.gw.kill)

    def run_java(self, props, url=None):
        # a private HOME: no user-level Java settings leak in
        home = os.path.join(self.dir, "home")
        os.makedirs(home, exist_ok=True)
        env = dict(os.environ, HOME=home)
        env.pop("JAVA_TOOL_OPTIONS", None)
        env.pop("JDK_JAVA_OPTIONS", None)
        argv = [self.java, "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", *props,
                CLIENT, url or self.url]
        t0 = time.monotonic()
        r = h.run_tool(argv, timeout=JAVA_TIMEOUT, cwd=self.dir, env=env)
        took = time.monotonic() - t0
        f.say(f"java … Client.java {url or self.url} → exit {r.returncode} ({took:.1f} s)")
        return r


setup = h.Fixture("self-signed keystore, echo on wss://, ts.p12", Setup)


@T.case("ts.p12 from `postern cert export --format pkcs12` is a Java truststore: keytool "
        "lists one trustedCertEntry, the gateway's certificate")
def _():
    s = setup.get()
    keytool = h.require_tool("keytool")
    r = h.run_checked([keytool, "-list", "-keystore", "ts.p12", "-storepass", "changeit"],
                      cwd=s.dir)
    h.require("Your keystore contains 1 entry" in r.stdout, f"keytool -list:\n{r.stdout}")
    h.require("trustedCertEntry" in r.stdout, f"no trustedCertEntry:\n{r.stdout}")
    # the fingerprint keytool shows is the gateway's certificate's
    f.postern(["cert", "export", "keystore.db", "localhost", "--out", "gateway.pem"], s.dir)
    want = p.cert_sha256(os.path.join(s.dir, "gateway.pem")).upper()
    got = re.search(r"\(SHA-256\): ([0-9A-F:]+)", r.stdout)
    h.require(got, f"no SHA-256 fingerprint in keytool -list:\n{r.stdout}")
    h.check_equal(got.group(1).replace(":", ""), want, "fingerprint in ts.p12")


@T.case("java -Djavax.net.ssl.trustStore=ts.p12 Client.java wss://localhost:PORT/echo: "
        "text, 100,000-byte binary and 70,000-character text echoed identical, close 1000")
def _():
    s = setup.get()
    r = s.run_java(["-Djavax.net.ssl.trustStore=ts.p12",
                    "-Djavax.net.ssl.trustStorePassword=changeit"])
    out = r.stdout + r.stderr
    h.require(r.returncode == 0 and out.startswith("OK "),
              f"the Java client failed (exit {r.returncode}):\n{out}")
    f.say(out.strip())
    text = "java.net.http.WebSocket: héllo ✓ 🔒".encode()
    binary = bytes((i * 131 + 7) & 0xFF for i in range(100_000))
    h.require(f"text={hashlib.sha256(text).hexdigest()}" in out, f"text digest: {out}")
    h.require(f"binary={hashlib.sha256(binary).hexdigest()}" in out, f"binary digest: {out}")


@T.case("without the truststore the JVM refuses the self-signed certificate: "
        "SSLHandshakeException, PKIX path building failed; no message got through")
def _():
    s = setup.get()
    r = s.run_java([])
    out = r.stdout + r.stderr
    f.say(out.strip())
    h.require(r.returncode != 0, f"the Java client succeeded without the truststore:\n{out}")
    h.require("SSLHandshakeException" in out, f"no SSLHandshakeException:\n{out}")
    h.require("PKIX path building failed" in out, f"no 'PKIX path building failed':\n{out}")
    line = p.wait_log(s.gw, lambda l: "TLS handshake" in l, 10,
                      "about the refused TLS handshake")
    f.say(line)


class CaSetup:
    """A second gateway whose certificate a local CA issued; Java trusts the
    CA through `postern cert export devca.p12 ALIAS --format pkcs12`."""

    def __init__(self):
        s = setup.get()
        self.dir = d = os.path.join(s.dir, "ca")
        os.makedirs(d)
        f.postern(["cert", "generate", "--keystore", "keystore.db", "--ca", "devca.p12",
                   *f.LOCAL_NAMES], d)
        alias = f.ca_alias("devca.p12", d)
        f.postern(["cert", "export", "devca.p12", alias, "--out", "ca-ts.p12",
                   "--format", "pkcs12"], d)
        self.ts = os.path.join(d, "ca-ts.p12")
        self.url = f"wss://localhost:{h.free_port()}/echo"
        cfg = f.config(d, [h.service_xml("echo", "echo", [self.url])],
                       keystore=("keystore.db", "keystore.pw"))
        self.gw = h.start_gateway(cfg, [self.url], name="postern run (CA-issued, for Java)")
        T.add_cleanup(self.gw.kill)


ca_setup = h.Fixture("CA-issued gateway certificate, CA exported as a Java truststore", CaSetup)


@T.case("with the CA exported as a PKCS#12 truststore, Java trusts a gateway whose "
        "certificate the CA issued: the same round trip succeeds")
def _():
    s = setup.get()
    c = ca_setup.get()
    r = s.run_java([f"-Djavax.net.ssl.trustStore={c.ts}",
                    "-Djavax.net.ssl.trustStorePassword=changeit"], url=c.url)
    out = r.stdout + r.stderr
    h.require(r.returncode == 0 and out.startswith("OK "),
              f"the Java client failed (exit {r.returncode}):\n{out}")
    f.say(out.strip())


if __name__ == "__main__":
    T.run()
