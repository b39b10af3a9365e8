#!/usr/bin/python3
# test_welcome_page.py: data/web/ in headless Chromium against real WebSocket peers (TAP)
# SPDX-License-Identifier: Apache-2.0
#
# The page is served, with an echo WebSocket on the same host and port, by
# python3-websockets (Debian's, under /usr/bin/python3); Chromium loads it and
# the DOM's <output id="status" data-state> must say what really happened:
# "ok" against an echo, "error" (with the close code) when the server closes
# with 1011, and "error" when the echo answers something else.  The same page
# against the gateway itself is the e2e suite's business.

import asyncio
import http
import logging
import mimetypes
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import threading

import websockets

WEB = os.path.join(os.environ.get("POSTERN_SOURCE_DIR",
                                  os.path.join(os.path.dirname(__file__), "..", "..")),
                   "data", "web")
CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")


def free_port():
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Server:
    """Static files from data/web plus /echo, on one port, in a thread."""

    def __init__(self, mode):
        self.mode = mode
        self.port = free_port()
        self.ready = threading.Event()
        self.loop = asyncio.new_event_loop()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        if not self.ready.wait(10):
            raise RuntimeError("server did not start")

    async def _process_request(self, path, headers):
        if path.split("?")[0] == "/echo":
            return None
        rel = path.split("?")[0].lstrip("/") or "index.html"
        full = os.path.realpath(os.path.join(WEB, rel))
        if not full.startswith(os.path.realpath(WEB) + os.sep) or not os.path.isfile(full):
            return (http.HTTPStatus.NOT_FOUND, [], b"not found")
        ctype = mimetypes.guess_type(full)[0] or "application/octet-stream"
        with open(full, "rb") as f:
            return (http.HTTPStatus.OK, [("Content-Type", ctype)], f.read())

    async def _handler(self, ws, path):
        if self.mode == "close":
            await ws.close(1011, "back-end down")
            return
        try:
            async for message in ws:
                await ws.send(message if self.mode == "echo" else "something else")
        except websockets.ConnectionClosed:
            pass   # the page closes without a code once it has its answer

    def _run(self):
        asyncio.set_event_loop(self.loop)

        async def main():
            self.stop = asyncio.Event()
            async with websockets.serve(self._handler, "127.0.0.1", self.port,
                                        process_request=self._process_request):
                self.ready.set()
                await self.stop.wait()

        self.loop.run_until_complete(main())

    def close(self):
        self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)


def load(url):
    with tempfile.TemporaryDirectory() as profile:
        out = subprocess.run(
            [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
             "--no-first-run", "--disable-background-networking",
             "--disable-component-update", "--disable-sync",
             "--user-data-dir=" + profile, "--virtual-time-budget=8000",
             "--dump-dom", url],
            capture_output=True, text=True, timeout=90)
    return out.stdout


def status_of(dom):
    m = re.search(r'<output id="status"([^>]*)>([^<]*)</output>', dom)
    if not m:
        return None, {}, ""
    attrs = dict(re.findall(r'(data-[a-z-]+)="([^"]*)"', m.group(1)))
    return attrs.get("data-state"), attrs, m.group(2)


def main():
    logging.getLogger("websockets").setLevel(logging.CRITICAL)
    cases = [
        ("echo", "ok", None),
        ("close", "error", "1011"),
        ("garble", "error", None),
    ]
    print("1..%d" % (len(cases) + 1))
    n = 0

    # the page itself: no external resource, the status element, the CA link
    n += 1
    with open(os.path.join(WEB, "index.html"), encoding="utf-8") as f:
        html = f.read()
    external = re.findall(r'(?:src|href)="(?:https?:)?//', html)
    good = (not external and 'id="status"' in html and 'data-state="pending"' in html
            and 'href="/postern-ca.pem"' in html)
    print("%s %d - index.html is self-contained, has #status and the CA link"
          % ("ok" if good else "not ok", n))

    for mode, want, code in cases:
        n += 1
        server = Server(mode)
        try:
            dom = load("http://127.0.0.1:%d/" % server.port)
        finally:
            server.close()
        state, attrs, text = status_of(dom)
        ok = state == want and (code is None or attrs.get("data-close-code") == code)
        if want == "ok":
            ok = ok and "data-rtt-ms" in attrs
        print("%s %d - %s server: status %s (%s)" % ("ok" if ok else "not ok", n, mode, state, text))
        if not ok:
            for line in dom.splitlines():
                if 'id="log"' in line or 'id="status"' in line:
                    print("# " + line.strip())
    return 0


if __name__ == "__main__":
    sys.exit(main())
