#!/usr/bin/python3
# Flow 7 (issue 6, seed: "You can choose to configure one or both secure
# connections"): each hop is secured on its own.  wss:// client → gateway →
# tcp:// back-end, and ws:// client → gateway → ssl:// back-end (its
# certificate issued by a local CA made by `postern cert generate --ca`, the
# CA in the gateway's truststore via `postern cert import`).  Each round-trips
# data, checked at the client and at the back-end.
# SPDX-License-Identifier: Apache-2.0
import hashlib
import os
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import flowlib as f  # noqa: E402
from flowlib import h, p  # noqa: E402

T = h.Tap(case_timeout=90)
MiB = f.MiB


class Setup:
    def __init__(self):
        self.dir = d = T.tmpdir("postern-flow7-")
        # the client hop: the gateway's certificate from a local CA
        f.postern(["cert", "generate", "--keystore", "keystore.db", "--ca", "devca.p12",
                   *f.LOCAL_NAMES], d)
        alias = f.ca_alias("devca.p12", d)
        f.postern(["cert", "export", "devca.p12", alias, "--out", "ca.pem"], d)
        self.ca = os.path.join(d, "ca.pem")
        # the back-end hop: the back-end's certificate from the same CA, the
        # CA in the gateway's truststore
        f.postern(["cert", "generate", "--keystore", "backend.p12", "--ca", "devca.p12",
                   "localhost"], d)
        f.postern(["cert", "import", "truststore.db", "ca.pem"], d)
        cert, key = f.store_to_pem("backend.p12", "backend.pw", "backend-chain.pem",
                                   "backend-key.pem", d)
        self.tcp_backend = p.Server("tcp-echo", p.echo_handler)
        T.add_cleanup(self.tcp_backend.close)
        self.ssl_backend = p.Server("tls-echo", p.echo_handler,
                                    ssl_ctx=f.backend_tls_ctx(cert, key))
        T.add_cleanup(self.ssl_backend.close)
        self.wss_port, self.ws_port = h.free_ports(2)
        self.wss_tcp = f"wss://localhost:{self.wss_port}/plain-backend"
        self.ws_ssl = f"ws://localhost:{self.ws_port}/secure-backend"
        cfg = f.config(d, [
            h.service_xml("wss-to-tcp", "proxy", [self.wss_tcp],
                          connects=[f"tcp://127.0.0.1:{self.tcp_backend.port}"]),
            h.service_xml("ws-to-ssl", "proxy", [self.ws_ssl],
                          connects=[f"ssl://localhost:{self.ssl_backend.port}"]),
        ], keystore=("keystore.db", "keystore.pw"), truststore=("truststore.db", "truststore.pw"))
        f.postern(["check", "--config", cfg], d)
        self.gw = h.start_gateway(cfg, [self.wss_tcp, self.ws_ssl],
                                  name="postern run (optional hops)")
        T.add_cleanup(self.gw.kill)


setup = h.Fixture("gateway with wss→tcp and ws→ssl proxies", Setup)


def hop_case(url_attr, backend_attr, ctx_of, service, tag):
    s = setup.get()
    backend = getattr(s, backend_attr)
    before = len(backend.records)
    msgs = f.payloads(tag) + [os.urandom(2 * MiB)]
    url = getattr(s, url_attr)
    sock = p.connected_socket(int(url.split(":")[2].split("/")[0]))
    client_port = sock.getsockname()[1]
    t0 = time.monotonic()
    sent = h.arun(f.stream_roundtrip(url, ctx_of(s), msgs, sock=sock), 60)
    f.say(f"{len(sent)} bytes each way in {time.monotonic() - t0:.2f} s")
    rec = backend.wait_records(before + 1, 15)[before]
    h.require(rec["error"] is None, f"back-end error: {rec['error']}")
    h.check_equal(rec["in"], len(sent), "bytes the back-end received")
    h.check_equal(rec["sha256"], hashlib.sha256(sent).hexdigest(),
                  "SHA-256 at the back-end vs what the client sent")
    # the session's log line: back-end, bytes each way, close code
    line = f.session_close_line(s.gw, service, client_port)
    f.say(line)
    h.require(f"localhost:{backend.port}" in (f.log_field(line, "backend") or "") or
              f"127.0.0.1:{backend.port}" in (f.log_field(line, "backend") or ""),
              f"backend= does not name the back-end (port {backend.port}): {line}")
    for field in ("in", "out"):
        v = f.log_field(line, field)
        h.require(v is not None and v.isdigit() and int(v) >= len(sent),
                  f"{field}= should count at least the {len(sent)} bytes moved: {line}")
    h.check_equal(f.log_field(line, "code"), "1000", f"code= in {line}")
    return rec, line


@T.case("wss:// client → tcp:// back-end: 2.4 MB each way, identical at the back-end and "
        "back at the client; TLS on the client hop only")
def _():
    rec, line = hop_case("wss_tcp", "tcp_backend", lambda s: f.verifying_ctx(s.ca),
                         "wss-to-tcp", "flow7 wss-tcp")
    h.require("tls=TLS" in line, f"the client hop is not logged as TLS: {line}")
    h.require("tls" not in rec, "the tcp back-end saw TLS")


@T.case("ws:// client → ssl:// back-end (verified through the CA in truststore.db): "
        "2.4 MB each way, identical; TLS on the back-end hop only")
def _():
    rec, line = hop_case("ws_ssl", "ssl_backend", lambda s: None, "ws-to-ssl",
                         "flow7 ws-ssl")
    h.check_equal(rec.get("tls"), "TLSv1.3", "TLS version at the back-end")
    h.require("tls=TLS" not in line, f"the ws:// client hop is logged as TLS: {line}")


if __name__ == "__main__":
    T.run()
