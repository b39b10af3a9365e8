#!/usr/bin/python3
# test_listen_plan.py: accepts that share one bound address share one
# listener and its TLS handshake.  `postern run` refuses routes on one
# address that disagree on ssl.verify-client (and address sets that overlap
# without being equal), with the same FILE:LINE:COL error `postern check`
# gives; when they agree on "required", a client without a certificate is
# refused whichever host name it uses (openssl s_client, curl), and one with
# a trusted certificate echoes on both.
# SPDX-License-Identifier: Apache-2.0
import os
import sys
import time

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import proxylib as p  # noqa: E402
from proxylib import h  # noqa: E402

T = h.Tap(case_timeout=90)

# Two names for one address: "localhost" and "127.0.0.1", both bound to
# 127.0.0.1:PORT by wss.bind, so the test needs no /etc/hosts entries.
NAMES = ("localhost", "127.0.0.1")


class Pkis:
    def __init__(self):
        self.dir = T.tmpdir()
        self.pki = h.Pki(os.path.join(self.dir, "pki"))
        self.keystore = h.make_keystore(self.dir, pki=self.pki)
        self.client = self.pki.client("Postern Plan Client")
        self.truststore = p.pem_truststore(self.dir, self.pki.ca.cert)

    def config(self, name, port, verify, bind=True):
        """Service "open" on wss://localhost:PORT/open and "mutual" on
        wss://127.0.0.1:PORT/mutual; verify: (open's, mutual's)
        ssl.verify-client."""
        directory = T.tmpdir()
        services = []
        for service, host, mode in (("open", NAMES[0], verify[0]), ("mutual", NAMES[1], verify[1])):
            options = {"ssl.verify-client": mode}
            if bind:
                options["wss.bind"] = f"127.0.0.1:{port}"
            services.append(h.service_xml(service, "echo", [f"wss://{host}:{port}/{service}"],
                                          accept_options=options))
        ks = self.keystore.relative_to(directory)
        return h.write_config(directory, p.config_xml(services, ks,
                                                      os.path.relpath(self.truststore, directory)),
                              name=name)


pkis = h.Fixture("a CA, a key store for localhost and 127.0.0.1, a client certificate", Pkis)


def refused_like_check(config, port, phrases, wrap=()):
    """`postern run` exits 1 with the error `postern check` prints, binds
    nothing; both name the phrases.  wrap: argv run before postern's."""
    r = h.run_tool(list(wrap) + [h.postern_path(), "check", "--config", config])
    errors = [l for l in r.stderr.splitlines() if ": error: " in l]
    h.require(r.returncode == 1 and len(errors) == 1,
              f"postern check: expected exit 1 and one error, got {r.returncode}:\n{r.stderr}")
    for phrase in phrases:
        h.require(phrase in errors[0], f"postern check's error lacks {phrase!r}: {errors[0]}")
    h.require(errors[0].startswith(config + ":"),
              f"postern check's error does not start with {config}:LINE:COL: {errors[0]}")

    gw = h.Gateway(config, name="postern run (conflicting routes)")
    gw.argv = list(wrap) + gw.argv
    gw.start()
    rc = gw.wait_exit(h.BAD_CONFIG_TIMEOUT)
    if rc is None:
        gw.kill()
        raise h.Fail(f"postern run still running {h.BAD_CONFIG_TIMEOUT} s after start; "
                     f"it must refuse the config\n{gw.describe()}")
    h.check_equal(rc, 1, "postern run exit status")
    h.require(not gw.listening_urls(), f"postern run printed 'listening on':\n{gw.describe()}")
    h.require(any(errors[0] in l for l in gw.stderr),
              f"postern run did not print check's error {errors[0]!r}:\n{gw.describe()}")
    h.require(h.port_is_free(port), f"port {port} is still bound after postern run exited")


@T.case("ssl.verify-client none and required on one bound address (two host names): "
        "check and run both refuse it with one error naming both services")
def _():
    k = pkis.get()
    port = h.free_port()
    config = k.config("verify-mismatch.xml", port, ("none", "required"))
    refused_like_check(config, port, ("ssl.verify-client", "“required”", "“none”",
                                      "service “open”", "service “mutual”",
                                      f"127.0.0.1:{port}"))


@T.case("localhost (127.0.0.1 and ::1) and 127.0.0.1 on one port overlap without being "
        "equal: check and run both refuse it")
def _():
    k = pkis.get()
    port = h.free_port()
    config = k.config("overlap.xml", port, ("required", "required"), bind=False)
    refused_like_check(config, port, ("overlap", "service “open”", "service “mutual”",
                                      f"[::1]:{port}"))


def hosts_namespace(names):
    """argv that runs a command in a private mount namespace whose
    /etc/hosts maps `names` to 127.0.0.1 (the machine's is untouched), so
    that real host-name lookups are tested without relying on the names
    existing here or on CI.  Needs root, as `make check` does."""
    unshare = h.require_tool("unshare")
    hosts = os.path.join(T.tmpdir(), "hosts")
    with open(hosts, "w") as f:
        f.write("127.0.0.1 localhost\n::1 localhost\n127.0.0.1 " + " ".join(names) + "\n")
    wrap = [unshare, "--mount", "sh", "-c", 'mount --bind "$0" /etc/hosts && exec "$@"', hosts]
    r = h.run_tool(wrap + ["getent", "ahostsv4", names[0]])
    h.require(r.returncode == 0 and "127.0.0.1" in r.stdout,
              f"cannot map {names[0]} to 127.0.0.1 in a private mount namespace "
              f"(unshare/mount need root): exit {r.returncode}\n{r.stdout}{r.stderr}")
    return wrap


@T.case("two host names that resolve to 127.0.0.1 (private /etc/hosts), ssl.verify-client "
        "none and required, no *.bind: check looks them up as run does and both refuse it")
def _():
    k = pkis.get()
    names = ("plan-a.test", "plan-b.test")
    wrap = hosts_namespace(names)
    directory = T.tmpdir()
    port = h.free_port()
    keystore = h.make_keystore(directory, names=names, pki=k.pki)
    services = [
        h.service_xml("open", "echo", [f"wss://{names[0]}:{port}/open"]),
        h.service_xml("mutual", "echo", [f"wss://{names[1]}:{port}/mutual"],
                      accept_options={"ssl.verify-client": "required"}),
    ]
    ks = (os.path.basename(keystore.store), os.path.basename(keystore.password_file))
    config = h.write_config(directory, p.config_xml(services, ks,
                                                    os.path.relpath(k.truststore, directory)))
    refused_like_check(config, port, ("ssl.verify-client", "service “open”", "service “mutual”",
                                      f"on the same address 127.0.0.1:{port} has"), wrap=wrap)


class Agreed:
    def __init__(self):
        k = pkis.get()
        self.port = h.free_port()
        self.config = k.config("agreed.xml", self.port, ("required", "required"))
        self.urls = [f"wss://{NAMES[0]}:{self.port}/open", f"wss://{NAMES[1]}:{self.port}/mutual"]
        r = h.run_postern(["check", "--config", self.config])
        h.require(r.returncode == 0, f"postern check refused the agreed config:\n{r.stderr}")
        self.gw = h.start_gateway(self.config, self.urls, name="postern run (both required)")


agreed = h.Fixture("postern run: two host names on one address, both ssl.verify-client required",
                   Agreed)


def count_refusals(gw):
    return sum(1 for l in gw.stderr if "no client certificate" in l)


def wait_refusals(gw, count, timeout=10):
    deadline = time.monotonic() + timeout
    while count_refusals(gw) < count and time.monotonic() < deadline:
        time.sleep(0.05)
    return count_refusals(gw)


def s_client_http(port, sni, host, path, cert=None):
    """`openssl s_client -tls1_2` sending one HTTP request; returns its
    stdout.  (s_client prints "New, TLSv1.2" even when the server ends the
    handshake, so the proof of a refusal is that no HTTP answer comes.)"""
    k = pkis.get()
    args = ["-tls1_2", "-CAfile", k.pki.ca.cert, "-ign_eof"] + sni
    if cert is not None:
        args += ["-cert", cert.cert, "-key", cert.key]
    request = f"GET /{path} HTTP/1.1\r\nHost: {host}:{port}\r\nConnection: close\r\n\r\n"
    return p.s_client(port, args, stdin_data=request).stdout


VIAS = ((["-servername", NAMES[0]], NAMES[0], "open"), (["-noservername"], NAMES[1], "mutual"))


@T.case("both required: openssl s_client (TLS 1.2) without a client certificate gets no "
        "HTTP answer for either host name; the gateway logs each refusal")
def _():
    a = agreed.get()
    before = count_refusals(a.gw)
    for sni, host, path in VIAS:
        out = s_client_http(a.port, sni, host, path)
        h.require("HTTP/1.1 " not in out,
                  f"s_client {' '.join(sni)} got an HTTP answer without a client "
                  f"certificate:\n{out[-2000:]}")
    got = wait_refusals(a.gw, before + 2)
    h.require(got >= before + 2,
              f"the gateway logged {got - before} 'no client certificate' refusals, expected 2\n"
              f"{a.gw.describe()}")
    # The same requests with a trusted certificate are answered: the refusal
    # above is the client certificate's doing, not a broken set-up.
    for sni, host, path in VIAS:
        out = s_client_http(a.port, sni, host, path, cert=pkis.get().client)
        h.require("HTTP/1.1 " in out,
                  f"s_client {' '.join(sni)} with a trusted client certificate got no HTTP "
                  f"answer:\n{out[-2000:]}")


@T.case("both required: curl without a client certificate gets no HTTP answer on "
        "https://localhost:PORT/open nor https://127.0.0.1:PORT/mutual")
def _():
    a = agreed.get()
    k = pkis.get()
    curl = h.require_tool("curl")
    for url in (f"https://localhost:{a.port}/open", f"https://127.0.0.1:{a.port}/mutual"):
        r = h.run_tool([curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                        "--cacert", k.pki.ca.cert, "--resolve", f"localhost:{a.port}:127.0.0.1", url])
        h.require(r.returncode != 0 and r.stdout.strip() in ("", "000"),
                  f"curl {url} without a client certificate: exit {r.returncode}, "
                  f"HTTP {r.stdout.strip()!r}; the TLS handshake must fail\n{r.stderr}")
    # …and with one, TLS passes and HTTP answers (a plain GET on an echo route).
    for url in (f"https://localhost:{a.port}/open", f"https://127.0.0.1:{a.port}/mutual"):
        r = h.run_tool([curl, "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--max-time", "10",
                        "--cacert", k.pki.ca.cert, "--cert", k.client.cert, "--key", k.client.key,
                        "--resolve", f"localhost:{a.port}:127.0.0.1", url])
        h.require(r.returncode == 0 and r.stdout.strip() not in ("", "000"),
                  f"curl {url} with a trusted client certificate: exit {r.returncode}, "
                  f"HTTP {r.stdout.strip()!r}\n{r.stderr}")


async def echo_with(uri, ctx, port, server_hostname):
    sock = p.connected_socket(port)
    async with h.ws_connect(uri, ctx, sock=sock, server_hostname=server_hostname) as c:
        await h.echo_once(c, f"hello {uri}")
        await h.close_cleanly(c)


@T.case("both required: a client with a trusted certificate echoes on both host names")
def _():
    a = agreed.get()
    k = pkis.get()
    ctx = h.client_ssl_context(cafile=k.pki.ca.cert, certfile=k.client.cert,
                               keyfile=k.client.key)
    for url, name in zip(a.urls, NAMES):
        h.arun(echo_with(url, ctx, a.port, name), 30)


@T.case("both required: postern run stops cleanly")
def _():
    agreed.get().gw.stop()


T.run()
