#!/usr/bin/python3
# reference_server.py: Debian's python3-websockets as an independent echo
# server, so the conformance cases can be checked against a known-good peer.
# SPDX-License-Identifier: Apache-2.0
"""Usage: reference_server.py PORT LIMITED_PORT

Echoes every message on 127.0.0.1:PORT (no size limit) and on
127.0.0.1:LIMITED_PORT (65536-byte messages at most, like the gateway's
"64k" limit); prints "ready" once both listen.  Stopped by SIGTERM/SIGKILL.
"""
import asyncio
import sys

import websockets


async def echo(ws, *_):
    async for message in ws:
        await ws.send(message)


async def main(port, limited_port):
    opts = dict(compression=None, ping_interval=None, close_timeout=1)
    async with websockets.serve(echo, "127.0.0.1", port, max_size=None, **opts), \
            websockets.serve(echo, "127.0.0.1", limited_port, max_size=65536, **opts):
        print("ready", flush=True)
        await asyncio.Future()


if __name__ == "__main__":
    asyncio.run(main(int(sys.argv[1]), int(sys.argv[2])))
