#!/usr/bin/python3
# echo-backend.py: a back-end for trying the proxy examples by hand — it
# sends every byte back.  TCP by default; TLS with --tls FILE (a PEM file
# holding the certificate and its key, as `openssl pkcs12 -nodes` writes).
#   ./echo-backend.py 5050
#   ./echo-backend.py --tls backend-all.pem 61617
# SPDX-License-Identifier: Apache-2.0
import argparse
import socketserver
import ssl


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("port", type=int)
    ap.add_argument("--tls", metavar="PEM", help="certificate and key (PEM) to serve TLS")
    ap.add_argument("--host", default="127.0.0.1")
    args = ap.parse_args()
    ctx = None
    if args.tls:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.tls)

    class Echo(socketserver.BaseRequestHandler):
        def handle(self):
            conn = self.request
            try:
                if ctx:
                    conn = ctx.wrap_socket(conn, server_side=True)
                while data := conn.recv(65536):
                    conn.sendall(data)
            except (OSError, ssl.SSLError) as e:
                print(f"{self.client_address}: {e}")

    socketserver.ThreadingTCPServer.allow_reuse_address = True
    with socketserver.ThreadingTCPServer((args.host, args.port), Echo) as server:
        print(f"echoing on {'tls' if ctx else 'tcp'}://{args.host}:{args.port}")
        server.serve_forever()


if __name__ == "__main__":
    main()
