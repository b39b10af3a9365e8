#!/usr/bin/python3
# heldlib.py: what the tests holding thousands of connections share
# (test_many_idle.py, test_event_loop.py): an asyncio echo back-end in its
# own thread, a minimal WebSocket client on asyncio streams, bounded phases,
# and the descriptor limit.
# SPDX-License-Identifier: Apache-2.0
import asyncio
import base64
import os
import resource
import ssl
import struct
import threading
import time

from proxylib import h

OPENING = 64          # handshakes in flight at once
STEP_TIMEOUT = 60.0   # one phase (open all, echo all, close all)


def raise_nofile(need, count):
    """Take the hard descriptor limit; `need` descriptors for `count`
    connections (client and back-end ends, both in this process)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if soft < hard:
        resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    h.require(hard >= need, f"RLIMIT_NOFILE hard limit {hard} < {need}: cannot hold {count} "
              "connections and their back-end ends in one test process")


class Echo:
    """An asyncio TCP (ctx: TLS) echo back-end (its own thread and loop)
    counting the connections it holds (live) and has taken (total)."""

    def __init__(self, ctx=None):
        self.ctx = ctx
        self.live = 0
        self.total = 0
        self.loop = asyncio.new_event_loop()
        self.ready = threading.Event()
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()
        h.require(self.ready.wait(10), "echo back-end did not start within 10 s")

    async def _handle(self, reader, writer):
        self.live += 1
        self.total += 1
        try:
            while True:
                data = await reader.read(65536)
                if not data:
                    break
                writer.write(data)
                await writer.drain()
        except (ConnectionError, ssl.SSLError, OSError):
            pass
        finally:
            self.live -= 1
            writer.close()

    def _run(self):
        asyncio.set_event_loop(self.loop)

        async def main():
            self.server = await asyncio.start_server(self._handle, "127.0.0.1", 0, ssl=self.ctx,
                                                     backlog=1024)
            self.port = self.server.sockets[0].getsockname()[1]
            self.stop = asyncio.Event()
            self.ready.set()
            await self.stop.wait()
            self.server.close()

        self.loop.run_until_complete(main())

    def close(self):
        if self.thread.is_alive():
            self.loop.call_soon_threadsafe(self.stop.set)
        self.thread.join(10)


class Conn:
    """A minimal WebSocket client on asyncio streams (TLS): upgrade, then
    masked binary frames out, unmasked frames in."""

    def __init__(self, i):
        self.i = i
        self.reader = self.writer = None

    async def open(self, port, ctx):
        self.reader, self.writer = await asyncio.open_connection(
            "127.0.0.1", port, ssl=ctx, server_hostname="localhost" if ctx else None)
        key = base64.b64encode(os.urandom(16)).decode()
        self.writer.write((f"GET /held HTTP/1.1\r\nHost: localhost:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           "Sec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await self.reader.readuntil(b"\r\n\r\n")
        if not head.startswith(b"HTTP/1.1 101"):
            raise h.Fail(f"connection {self.i}: upgrade refused: {head[:80]!r}")

    async def echo(self, payload):
        mask = os.urandom(4)
        n = len(payload)
        masked = bytes(b ^ mask[j % 4] for j, b in enumerate(payload))
        self.writer.write(bytes([0x82, 0x80 | n]) + mask + masked)
        got = b""
        while len(got) < n:      # a byte back-end may split the echo over frames
            b0, b1 = await self.reader.readexactly(2)
            h.require(b0 & 0x0F in (0x0, 0x2), f"connection {self.i}: frame opcode {b0 & 0x0F}, "
                      "not binary data")
            size = b1 & 0x7F
            if size == 126:
                size = struct.unpack(">H", await self.reader.readexactly(2))[0]
            got += await self.reader.readexactly(size)
        h.check_equal(got, payload, f"echo on connection {self.i}")

    async def close(self):
        try:
            self.writer.write(b"\x88\x82\x00\x00\x00\x00\x03\xe8")
            await asyncio.wait_for(self.writer.drain(), 5)
        except (ConnectionError, OSError, asyncio.TimeoutError):
            pass
        self.writer.close()
        try:
            await asyncio.wait_for(self.writer.wait_closed(), 5)
        except (ConnectionError, OSError, ssl.SSLError, asyncio.TimeoutError):
            pass


async def phase(what, coros, opening=OPENING, step_timeout=STEP_TIMEOUT):
    """Run the coroutines `opening` at a time, all within `step_timeout` s."""
    sem = asyncio.Semaphore(opening)

    async def one(c):
        async with sem:
            return await c

    t0 = time.monotonic()
    try:
        await asyncio.wait_for(asyncio.gather(*(one(c) for c in coros)), step_timeout)
    except asyncio.TimeoutError:
        raise h.Fail(f"{what}: not done within {step_timeout} s") from None
    h._diag(f"{what}: {time.monotonic() - t0:.1f} s")
