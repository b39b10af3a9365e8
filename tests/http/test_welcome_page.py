#!/usr/bin/python3
# test_welcome_page.py: data/web/ in headless Chromium against real WebSocket peers (TAP)
# SPDX-License-Identifier: Apache-2.0
#
# The page is served, with an echo WebSocket on the same host and port, by
# python3-websockets (Debian's, under /usr/bin/python3); Chromium loads it and
# the DOM's <output id="status" data-state> must say what really happened:
# "ok" against an echo, "error" (with the close code) when the server closes
# with 1011, and "error" when the echo answers something else.  The same page
# against the gateway itself is the e2e suite's business.  Chromium runs in
# real time over DevTools (tests/flows/flowlib.py) and the DOM is polled until
# the page has decided: a virtual-time budget made the "echo" case flaky.

import asyncio
import http
import logging
import mimetypes
import os
import re
import socket
import sys
import tempfile
import threading
import time

import websockets

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "flows"))
import flowlib as f  # noqa: E402  Chromium over DevTools, shared with the flows
from flowlib import h  # noqa: E402

WEB = os.path.join(os.environ.get("POSTERN_SOURCE_DIR",
                                  os.path.join(os.path.dirname(__file__), "..", "..")),
                   "data", "web")


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
        with open(full, "rb") as fh:
            return (http.HTTPStatus.OK, [("Content-Type", ctype)], fh.read())

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


# The page decides on its own within CONNECT_TIMEOUT_MS + MESSAGES x
# ECHO_TIMEOUT_MS (10 + 3 x 5 s, app.js); past that, "pending" is a failure.
SETTLE_TIMEOUT = 40.0

# The status element and the page's log, read from the live DOM.
READ_STATUS = """(() => {
  const s = document.getElementById('status');
  const log = document.getElementById('log');
  return s ? { state: s.dataset.state || null, data: Object.assign({}, s.dataset),
               text: s.textContent, log: log ? log.innerText : '' } : null;
})()"""


def load(chromium, url):
    """Navigate a new tab to url in real time (no --virtual-time-budget: it
    lets the page's own timers fire before a real reply can arrive) and poll
    the DOM until #status leaves "pending"; a bounded wait, never a sleep
    that hopes."""
    async def go():
        cdp = await f.Cdp.open(chromium.ws_url)
        try:
            page = await cdp.new_page()
            err = await cdp.navigate(page, url)
            if err:
                raise h.Fail(f"Page.navigate {url}: {err}")
            deadline = time.monotonic() + SETTLE_TIMEOUT
            while True:
                st = await cdp.evaluate(page, READ_STATUS)
                if st is None or st["state"] != "pending" or time.monotonic() > deadline:
                    return st
                await asyncio.sleep(0.05)
        finally:
            await cdp.close()
    return h.arun(go(), SETTLE_TIMEOUT + 30)


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
    with open(os.path.join(WEB, "index.html"), encoding="utf-8") as fh:
        html = fh.read()
    external = re.findall(r'(?:src|href)="(?:https?:)?//', html)
    good = (not external and 'id="status"' in html and 'data-state="pending"' in html
            and 'href="/postern-ca.pem"' in html)
    print("%s %d - index.html is self-contained, has #status and the CA link"
          % ("ok" if good else "not ok", n))

    with tempfile.TemporaryDirectory(prefix="postern-welcome-") as tmp:
        chromium = f.Chromium(tmp, tmp)
        try:
            for mode, want, code in cases:
                n += 1
                server = Server(mode)
                t0 = time.monotonic()
                try:
                    st = load(chromium, "http://127.0.0.1:%d/" % server.port)
                    error = None
                except h.Fail as e:
                    st, error = None, str(e)
                finally:
                    server.close()
                took = time.monotonic() - t0
                st = st or {"state": None, "data": {}, "text": "", "log": ""}
                data = st["data"]
                ok = (error is None and st["state"] == want
                      and (code is None or data.get("closeCode") == code))
                if want == "ok":
                    ok = ok and "rttMs" in data
                print("%s %d - %s server: status %s (%s)"
                      % ("ok" if ok else "not ok", n, mode, st["state"], st["text"]))
                print("# settled in %.2f s, data-* %s" % (took, data))
                if not ok:
                    if error:
                        print("# " + error)
                    for line in st["log"].splitlines():
                        print("# log| " + line)
                sys.stdout.flush()
        finally:
            chromium.close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
