# wsraw.py: a raw RFC 6455 client for the conformance suite -- hand-built
# frames (any opcode, RSV bits, lengths, masked or not) sent whole, split or
# one byte per write, and a reader that reports everything the server does.
# SPDX-License-Identifier: Apache-2.0
"""Raw WebSocket client on socket + ssl, no third-party code.

The point is to send what a polite client library never would, so frames are
plain bytes built by frame().  Conn.send_blob() writes them in one of three
ways (MODES); while it writes it keeps reading, so a gateway that fails the
connection half-way is seen at once and large echoes cannot deadlock us.
Everything the server sends is turned into events:
  ("text", bytes) ("binary", bytes)   whole messages, reassembled
  ("ping", bytes) ("pong", bytes)
  ("close", code or None, reason bytes)
  ("bad", description)                a frame no server may send
  ("eof", how)                        TCP/TLS closed ("eof" or "reset ...")
  ("timeout", seconds)                nothing more within the wait
"""

import base64
import hashlib
import os
import select
import socket
import ssl
import struct
import time

GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"

CONT, TEXT, BINARY, CLOSE, PING, PONG = 0x0, 0x1, 0x2, 0x8, 0x9, 0xA
RSV1, RSV2, RSV3 = 4, 2, 1

# whole: one write; split: first 2 bytes, then the rest of the first
# header, then the rest, 50 ms apart; bytes: one byte per write, 1 ms apart.
MODES = ("whole", "split", "bytes")
BYTEWISE_MAX = 300        # inputs at least this long are not sent bytewise
SPLIT_GAP = 0.05
BYTE_GAP = 0.001
CHUNK = 16 * 1024         # large inputs: writes of this size, reads between


class ProtocolError(Exception):
    """The server broke the handshake (not a WebSocket server answer)."""


def mask_bytes(payload, key):
    n = len(payload)
    if n == 0:
        return b""
    keys = (key * (n // 4 + 1))[:n]
    return (int.from_bytes(payload, "big") ^ int.from_bytes(keys, "big")).to_bytes(n, "big")


def frame(opcode, payload=b"", fin=True, rsv=0, mask=True, key=None):
    """One frame: opcode 0..15, rsv a 3-bit value (RSV1 = 4), masked with a
    random key unless mask=False."""
    if isinstance(payload, str):
        payload = payload.encode("utf-8")
    b0 = (0x80 if fin else 0) | (rsv & 7) << 4 | (opcode & 0xF)
    n = len(payload)
    mbit = 0x80 if mask else 0
    if n < 126:
        head = bytes([b0, mbit | n])
    elif n < 65536:
        head = bytes([b0, mbit | 126]) + struct.pack("!H", n)
    else:
        head = bytes([b0, mbit | 127]) + struct.pack("!Q", n)
    if not mask:
        return head + payload
    key = key or os.urandom(4)
    return head + key + mask_bytes(payload, key)


def close_payload(code=None, reason=b""):
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    return b"" if code is None else struct.pack("!H", code) + reason


def close_frame(code=None, reason=b"", **kw):
    return frame(CLOSE, close_payload(code, reason), **kw)


def header_length(data):
    """Length of the header (with mask key) of the frame at the start of
    data, or len(data) if it is shorter."""
    if len(data) < 2:
        return len(data)
    n = data[1] & 0x7F
    size = 2 + (2 if n == 126 else 8 if n == 127 else 0) + (4 if data[1] & 0x80 else 0)
    return min(size, len(data))


class Conn:
    """One client connection: TCP (TLS if ssl_ctx), the opening handshake,
    then raw frames out and events in.  Every wait is bounded."""

    def __init__(self, port, path, ssl_ctx=None, host="127.0.0.1",
                 server_name="localhost", timeout=5.0):
        self.events = []
        self.buf = bytearray()
        self.message = None       # (opcode, bytearray) while a fragmented one is open
        self.closed = None        # "eof" / "reset …" once TCP is gone
        self.sent = 0
        self.send_error = None
        sock = socket.create_connection((host, port), timeout)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        if ssl_ctx is not None:
            try:
                sock = ssl_ctx.wrap_socket(sock, server_hostname=server_name)
            except BaseException:
                sock.close()
                raise
        self.sock = sock
        try:
            self._handshake(port, path, server_name, timeout)
        except BaseException:
            self.close()
            raise

    def _handshake(self, port, path, server_name, timeout):
        key = base64.b64encode(os.urandom(16))
        request = (f"GET {path} HTTP/1.1\r\nHost: {server_name}:{port}\r\n"
                   "Upgrade: websocket\r\nConnection: Upgrade\r\n"
                   f"Sec-WebSocket-Key: {key.decode()}\r\n"
                   "Sec-WebSocket-Version: 13\r\n\r\n").encode()
        self.sock.settimeout(timeout)
        self.sock.sendall(request)
        deadline = time.monotonic() + timeout
        data = b""
        while b"\r\n\r\n" not in data:
            left = deadline - time.monotonic()
            if left <= 0 or len(data) > 16384:
                raise ProtocolError(f"no complete upgrade response within {timeout} s: {data[:200]!r}")
            self.sock.settimeout(left)
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ProtocolError(f"connection closed during the upgrade: {data[:200]!r}")
            data += chunk
        head, rest = data.split(b"\r\n\r\n", 1)
        lines = head.decode("latin-1").split("\r\n")
        if not lines[0].startswith("HTTP/1.1 101"):
            raise ProtocolError(f"upgrade refused: {lines[0]!r}")
        headers = {}
        for line in lines[1:]:
            name, _, value = line.partition(":")
            headers[name.strip().lower()] = value.strip()
        accept = base64.b64encode(hashlib.sha1(key + GUID).digest()).decode()
        if headers.get("sec-websocket-accept") != accept:
            raise ProtocolError(f"Sec-WebSocket-Accept {headers.get('sec-websocket-accept')!r}, "
                                f"expected {accept!r}")
        if "sec-websocket-extensions" in headers:
            raise ProtocolError("the server accepted extensions nobody asked for: "
                                f"{headers['sec-websocket-extensions']!r}")
        self.buf += rest
        self._parse()

    # ---------------------------------------------------------------- reading

    def _readable(self, wait):
        if isinstance(self.sock, ssl.SSLSocket) and self.sock.pending():
            return True
        r, _, _ = select.select([self.sock], [], [], max(wait, 0))
        return bool(r)

    def _read_once(self, wait):
        """Read what arrives within `wait` s; False if nothing did."""
        if self.closed:
            return False
        if not self._readable(wait):
            return False
        # readable, but a TLS record may still be partial: bounded anyway
        self.sock.settimeout(max(wait, 1.0))
        try:
            chunk = self.sock.recv(262144)
        except (socket.timeout, ssl.SSLWantReadError):
            return False
        except (ConnectionError, ssl.SSLError, OSError) as e:
            self.closed = f"reset ({type(e).__name__}: {e})"
            self.events.append(("eof", self.closed))
            return True
        if not chunk:
            self.closed = "eof"
            self.events.append(("eof", "eof"))
            return True
        self.buf += chunk
        self._parse()
        return True

    def _parse(self):
        buf = self.buf
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            n = b1 & 0x7F
            pos = 2
            if n == 126:
                if len(buf) < 4:
                    return
                n = struct.unpack_from("!H", buf, 2)[0]
                pos = 4
            elif n == 127:
                if len(buf) < 10:
                    return
                n = struct.unpack_from("!Q", buf, 2)[0]
                pos = 10
            masked = bool(b1 & 0x80)
            if masked:
                pos += 4
            if len(buf) < pos + n:
                return
            payload = bytes(buf[pos:pos + n])
            if masked:
                payload = mask_bytes(payload, bytes(buf[pos - 4:pos]))
            del buf[:pos + n]
            self._frame(bool(b0 & 0x80), (b0 >> 4) & 7, b0 & 0xF, masked, payload)

    def _frame(self, fin, rsv, opcode, masked, payload):
        ev = self.events
        if masked:
            ev.append(("bad", f"server frame opcode {opcode:#x} is masked (RFC 6455 5.1)"))
        if rsv:
            ev.append(("bad", f"server frame opcode {opcode:#x} has RSV bits {rsv:#x}"))
        if opcode >= 8:
            if not fin or len(payload) > 125:
                ev.append(("bad", f"server control frame {opcode:#x} fragmented or > 125 bytes"))
            if opcode == CLOSE:
                code = struct.unpack("!H", payload[:2])[0] if len(payload) >= 2 else None
                ev.append(("close", code, payload[2:]))
            elif opcode == PING:
                ev.append(("ping", payload))
            elif opcode == PONG:
                ev.append(("pong", payload))
            else:
                ev.append(("bad", f"server sent reserved opcode {opcode:#x}"))
            return
        if opcode == CONT:
            if self.message is None:
                ev.append(("bad", "server sent a continuation with no message open"))
                return
            self.message[1].extend(payload)
        elif opcode in (TEXT, BINARY):
            if self.message is not None:
                ev.append(("bad", "server started a message inside another"))
            self.message = (opcode, bytearray(payload))
        else:
            ev.append(("bad", f"server sent reserved opcode {opcode:#x}"))
            return
        if fin:
            op, data = self.message
            self.message = None
            ev.append(("text" if op == TEXT else "binary", bytes(data)))

    def next_event(self, index, timeout):
        """The event at position `index`, waiting up to `timeout` s for it;
        ("timeout", timeout) if none came."""
        deadline = time.monotonic() + timeout
        while len(self.events) <= index:
            if self.closed:
                return ("timeout", 0)   # nothing can come any more
            left = deadline - time.monotonic()
            if left <= 0:
                return ("timeout", timeout)
            self._read_once(min(left, 0.5))
        return self.events[index]

    def wait_closed(self, timeout):
        """Read until TCP closes; True if it did within `timeout` s."""
        deadline = time.monotonic() + timeout
        while not self.closed:
            left = deadline - time.monotonic()
            if left <= 0:
                return False
            self._read_once(min(left, 0.5))
        return True

    def server_closed(self):
        return self.closed or any(e[0] == "close" for e in self.events)

    # ---------------------------------------------------------------- writing

    def _write(self, data):
        """Write data; False (and send_error set) if the peer is gone."""
        try:
            self.sock.settimeout(5.0)
            self.sock.sendall(data)
            self.sent += len(data)
            return True
        except (OSError, ssl.SSLError) as e:
            self.send_error = f"{type(e).__name__}: {e}"
            return False

    def send_blob(self, data, mode="whole"):
        """Send data the way `mode` says, reading between writes; stop early
        once the server has sent its close frame or closed TCP (as a client
        would).  Returns the number of bytes sent."""
        if mode == "bytes":
            pieces = [data[i:i + 1] for i in range(len(data))]
            gap = BYTE_GAP
        elif mode == "split":
            cut = header_length(data)
            marks = sorted({0, min(2, len(data)), cut, len(data)})
            pieces = [data[a:b] for a, b in zip(marks, marks[1:])]
            if pieces and len(pieces[-1]) > CHUNK:
                last = pieces.pop()
                pieces += [last[i:i + CHUNK] for i in range(0, len(last), CHUNK)]
            gap = SPLIT_GAP
        elif len(data) > 4 * CHUNK:
            # one write would leave nobody reading the echo; chunks instead
            pieces = [data[i:i + CHUNK] for i in range(0, len(data), CHUNK)]
            gap = 0
        else:
            pieces = [data]
            gap = 0
        for i, piece in enumerate(pieces):
            if self.server_closed():
                break
            if not self._write(piece):
                break
            if mode == "split" and i < 2:
                # the gap itself: the server sees a pause mid-frame
                t_end = time.monotonic() + gap
                while (left := t_end - time.monotonic()) > 0 and not self.closed:
                    self._read_once(left)
            else:
                while self._read_once(gap if mode == "bytes" else 0):
                    pass
        return self.sent

    def send_close(self, code=None, reason=b""):
        return self._write(close_frame(code, reason))

    def close(self):
        try:
            self.sock.close()
        except OSError:
            pass
