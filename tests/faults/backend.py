#!/usr/bin/python3
# backend.py: a back-end server in its own process, so that a test can kill
# it (SIGKILL) mid-stream: a TCP or TLS echo on 127.0.0.1 (asyncio, many
# connections in one thread), or a "silent" server that accepts TCP and
# never says a word (no TLS handshake).  Prints "port N" once listening.
# SPDX-License-Identifier: Apache-2.0
"""usage: backend.py echo|sink [--cert PEM --key PEM] [--pause S] | silent

echo:   echoes every byte until EOF; with --cert/--key, over TLS.
sink:   reads every byte until EOF and sends nothing back, pausing S
        seconds after each read (a slow reader: bytes queue up in front of
        it); --pause 0 reads as fast as it can.  Prints "total N" (bytes
        read over all connections) when it changed, every 50 ms at most.
silent: accepts TCP connections and holds them open without reading or
        writing, until the peer closes them (or this process ends).

Each connection's end is printed as one line on stdout:
"closed IN_BYTES SHA256 [error]" — the test reads it for what the back-end
received.  The process runs until it is killed (every test kills it by
its pid) or stdin reaches EOF (the parent died), whichever comes first."""
import argparse
import asyncio
import hashlib
import os
import ssl
import sys

CHUNK = 256 * 1024


async def echo(reader, writer):
    d = hashlib.sha256()
    n = 0
    error = ""
    try:
        while True:
            data = await reader.read(CHUNK)
            if not data:
                break
            d.update(data)
            n += len(data)
            writer.write(data)
            await writer.drain()
    except (OSError, ssl.SSLError, asyncio.IncompleteReadError) as e:
        error = f" {type(e).__name__}"
    finally:
        print(f"closed {n} {d.hexdigest()}{error}", flush=True)
        writer.close()


PAUSE = 0.0
TOTAL = 0                 # bytes every sink connection has read so far


async def report_total():
    """sink: "total N" on stdout whenever it changed, at most every 50 ms."""
    last = -1
    while True:
        if TOTAL != last:
            last = TOTAL
            print(f"total {last}", flush=True)
        await asyncio.sleep(0.05)


async def sink(reader, writer):
    global TOTAL
    d = hashlib.sha256()
    n = 0
    error = ""
    try:
        while True:
            data = await reader.read(64 * 1024)
            if not data:
                break
            d.update(data)
            n += len(data)
            TOTAL += len(data)
            if PAUSE:
                await asyncio.sleep(PAUSE)
    except (OSError, ssl.SSLError, asyncio.IncompleteReadError) as e:
        error = f" {type(e).__name__}"
    finally:
        print(f"closed {n} {d.hexdigest()}{error}", flush=True)
        writer.close()


async def silent(reader, writer):
    # Hold the connection: wait for the peer's end (read returns b"" at
    # EOF; it never gets a byte from a gateway waiting for a ServerHello
    # other than its ClientHello, which stays unread in the kernel).
    try:
        while await reader.read(CHUNK):
            pass
    except OSError:
        pass
    print("closed 0 -", flush=True)
    writer.close()


async def watch_stdin():
    loop = asyncio.get_running_loop()
    await loop.run_in_executor(None, sys.stdin.buffer.read)
    os._exit(0)


async def main():
    ap = argparse.ArgumentParser()
    global PAUSE
    ap.add_argument("mode", choices=("echo", "sink", "silent"))
    ap.add_argument("--cert")
    ap.add_argument("--key")
    ap.add_argument("--pause", type=float, default=0.0)
    args = ap.parse_args()
    PAUSE = args.pause
    ctx = None
    if args.cert:
        ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ctx.load_cert_chain(args.cert, args.key)
    handler = {"echo": echo, "sink": sink, "silent": silent}[args.mode]
    server = await asyncio.start_server(handler, "127.0.0.1", 0,
                                        ssl=ctx if args.mode != "silent" else None,
                                        backlog=1024, limit=CHUNK)
    print(f"port {server.sockets[0].getsockname()[1]}", flush=True)
    asyncio.ensure_future(watch_stdin())
    if args.mode == "sink":
        asyncio.ensure_future(report_total())
    async with server:
        await server.serve_forever()


if __name__ == "__main__":
    asyncio.run(main())
