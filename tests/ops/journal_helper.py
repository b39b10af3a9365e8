#!/usr/bin/python3
# journal_helper.py: run under `unshare -m` by test_logs.py.  In this private
# mount namespace a tmpfs hides /run/systemd, and this script plays
# journald there: it binds /run/systemd/journal/socket (the native protocol,
# datagrams) and /run/systemd/journal/stdout (the stream stderr is connected
# to, which is how GLib tells it runs under the journal), starts
# `postern run` with stderr on that stream, makes one WebSocket echo session,
# stops the gateway, and prints what arrived as one JSON object.
# Usage: journal_helper.py POSTERN CONFIG WS_URL
# SPDX-License-Identifier: Apache-2.0
import asyncio
import json
import os
import select
import signal
import socket
import struct
import subprocess
import sys
import time

JOURNAL = "/run/systemd/journal"


def parse_native(data):
    """journald's native protocol: KEY=VALUE lines, or KEY, newline, a
    64-bit little-endian length, the value and a newline."""
    fields = {}
    pos = 0
    while pos < len(data):
        nl = data.index(b"\n", pos)
        line = data[pos:nl]
        if b"=" in line:
            k, v = line.split(b"=", 1)
            fields[k.decode()] = v.decode("utf-8", "replace")
            pos = nl + 1
        else:
            n = struct.unpack_from("<Q", data, nl + 1)[0]
            start = nl + 9
            fields[line.decode()] = data[start:start + n].decode("utf-8", "replace")
            pos = start + n + 1
    return fields


def main():
    postern, config, url = sys.argv[1:4]
    subprocess.run(["mount", "-t", "tmpfs", "tmpfs", "/run/systemd"], check=True)
    os.makedirs(JOURNAL)
    dgram = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    dgram.bind(f"{JOURNAL}/socket")
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    listener.bind(f"{JOURNAL}/stdout")
    listener.listen(1)
    client = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    client.connect(f"{JOURNAL}/stdout")
    stream, _ = listener.accept()
    stream.setblocking(False)
    proc = subprocess.Popen([postern, "run", "--config", config], stdin=subprocess.DEVNULL,
                            stdout=subprocess.PIPE, stderr=client.fileno())
    client.close()
    result = {"records": [], "stream": "", "stdout": "", "rc": None, "error": None}
    try:
        deadline = time.monotonic() + 10
        out = b""
        while b"listening on" not in out and time.monotonic() < deadline:
            r, _, _ = select.select([proc.stdout], [], [], 0.2)
            if r:
                chunk = os.read(proc.stdout.fileno(), 4096)
                if not chunk:
                    break
                out += chunk
        result["stdout"] = out.decode("utf-8", "replace")
        if b"listening on" not in out:
            raise RuntimeError("no 'listening on' line within 10 s")

        import websockets

        async def session():
            async with websockets.connect(url, open_timeout=10, close_timeout=5,
                                          ping_interval=None) as ws:
                await ws.send("hello journal")
                await asyncio.wait_for(ws.recv(), 10)
                await ws.close(1000, "done")
        asyncio.run(asyncio.wait_for(session(), 20))
        time.sleep(0.3)
        proc.send_signal(signal.SIGTERM)
        result["rc"] = proc.wait(10)
    except Exception as e:  # noqa: BLE001 - reported to the test
        result["error"] = f"{type(e).__name__}: {e}"
        proc.kill()
        proc.wait(5)
    dgram.setblocking(False)
    while True:
        try:
            data = dgram.recv(1 << 20)
        except BlockingIOError:
            break
        result["records"].append(parse_native(data))
    try:
        result["stream"] = stream.recv(1 << 20).decode("utf-8", "replace")
    except BlockingIOError:
        pass
    print(json.dumps(result))


main()
