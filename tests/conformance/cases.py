# cases.py: the RFC 6455 conformance cases, numbered after the Autobahn
# test suite's sections, each with the bytes a client sends and the
# RFC-correct answer expected from the gateway.
# SPDX-License-Identifier: Apache-2.0
"""The case list, shared by every target.

A Case holds `blob`, the raw bytes a client sends after the upgrade, and
what must come back:
  outcome "echo":  exactly the events in `expect` (messages, pongs), then a
                   clean closing handshake started by the client (1000).
  outcome "fail":  the events in `expect`, then the server's close frame with
                   `code`; the client answers with a close and TCP must close.
  outcome "close": the blob holds the client's close; the server answers with
                   a close whose code is in `codes`, sends nothing else, and
                   closes TCP.
`pongs="last"` relaxes pongs to what RFC 6455 5.5.3 allows for a burst of
pings: at least one, in order, the last one answering the last ping.
`pongs="any"` lets pongs come anywhere among the data messages (in order).
"""

import random

import wsraw as w
from wsraw import BINARY, CLOSE, CONT, PING, PONG, TEXT, frame

LIMIT = 64 * 1024          # ws.maximum.message.size "64k" on the limited URLs


class Case:
    def __init__(self, cid, title, blob, expect=(), outcome="echo", code=None,
                 codes=None, pongs="exact", limited=False):
        self.cid = cid
        self.title = title
        self.blob = blob
        self.expect = list(expect)
        self.outcome = outcome
        self.code = code
        self.codes = codes
        self.pongs = pongs
        self.limited = limited

    @property
    def name(self):
        return f"{self.cid} {self.title}"

    def modes(self):
        if len(self.blob) < w.BYTEWISE_MAX:
            return w.MODES
        return ("whole", "split")


def text_of(n, seed=0):
    """n bytes of printable ASCII (valid UTF-8 of exactly n bytes)."""
    rnd = random.Random(seed + n)
    return bytes(rnd.randrange(0x21, 0x7F) for _ in range(min(n, 4096))) * (n // 4096 + 1)


def binary_of(n, seed=1):
    return random.Random(seed + n).randbytes(n)


def echo(cid, title, blob, expect, **kw):
    return Case(cid, title, blob, expect, "echo", **kw)


def fail(cid, title, blob, code, expect=(), **kw):
    return Case(cid, title, blob, expect, "fail", code=code, **kw)


def fragments(opcode, parts, **kw):
    """One message as len(parts) frames: opcode, then continuations."""
    out = b""
    for i, part in enumerate(parts):
        out += frame(opcode if i == 0 else CONT, part, fin=i == len(parts) - 1, **kw)
    return out


def section1():
    sizes = (0, 1, 125, 126, 127, 128, 65535, 65536, 1024 * 1024)
    out = []
    for i, n in enumerate(sizes, 1):
        label = "1 MiB" if n == 1024 * 1024 else f"{n} bytes"
        t = text_of(n)[:n]
        b = binary_of(n)
        out.append(echo(f"1.1.{i}", f"text {label}", frame(TEXT, t), [("text", t)]))
        out.append(echo(f"1.2.{i}", f"binary {label}", frame(BINARY, b), [("binary", b)]))
    return out


def section2():
    p125 = binary_of(125)
    pings = [f"ping {i}".encode() for i in range(10)]
    return [
        echo("2.1", "ping without payload -> pong without payload",
             frame(PING), [("pong", b"")]),
        echo("2.2", "ping with 125-byte binary payload -> same pong",
             frame(PING, p125), [("pong", p125)]),
        fail("2.3", "ping with 126-byte payload -> 1002", frame(PING, binary_of(126)), 1002),
        fail("2.4", "fragmented ping -> 1002",
             frame(PING, b"frag", fin=False) + frame(CONT, b"ment", fin=True), 1002),
        echo("2.5", "unsolicited pong is ignored",
             frame(PONG, b"unsolicited") + frame(TEXT, b"after the pong"),
             [("text", b"after the pong")]),
        echo("2.6", "unsolicited empty pong is ignored",
             frame(PONG) + frame(TEXT, b"after the pong"), [("text", b"after the pong")]),
        echo("2.7", "10 pings in a row -> pongs, the last answering the last ping",
             b"".join(frame(PING, p) for p in pings), [("pong", p) for p in pings],
             pongs="last"),
        echo("2.8", "ping between two text messages",
             frame(TEXT, b"one") + frame(PING, b"p") + frame(TEXT, b"two"),
             [("text", b"one"), ("pong", b"p"), ("text", b"two")], pongs="any"),
    ]


def section3():
    out = []
    bits = ((w.RSV1, "RSV1"), (w.RSV2, "RSV2"), (w.RSV3, "RSV3"))
    kinds = ((TEXT, "text", b"Hello"), (BINARY, "binary", b"\x00\xff\x10"),
             (PING, "ping", b"ping"), (CLOSE, "close", w.close_payload(1000)))
    n = 0
    for rsv, bname in bits:
        for op, kname, payload in kinds:
            n += 1
            out.append(fail(f"3.{n}", f"{bname} on {kname} -> 1002",
                            frame(op, payload, rsv=rsv), 1002))
    for rsv, bname in bits:
        n += 1
        out.append(fail(f"3.{n}", f"{bname} on text after a valid echo -> echo, 1002",
                        frame(TEXT, b"valid") + frame(TEXT, b"bad", rsv=rsv)
                        + frame(PING, b"never"),
                        1002, expect=[("text", b"valid")]))
    n += 1
    out.append(fail(f"3.{n}", "RSV1 on a continuation -> 1002",
                    frame(TEXT, b"frag", fin=False) + frame(CONT, b"ment", rsv=w.RSV1), 1002))
    n += 1
    out.append(fail(f"3.{n}", "all RSV bits on text -> 1002",
                    frame(TEXT, b"Hello", rsv=7), 1002))
    return out


def section4():
    out = []
    for sub, ops in ((1, (3, 4, 5, 6, 7)), (2, (0xB, 0xC, 0xD, 0xE, 0xF))):
        kind = "data" if sub == 1 else "control"
        n = 0
        for op in ops:
            n += 1
            out.append(fail(f"4.{sub}.{n}", f"{kind} opcode {op:#x} -> 1002", frame(op), 1002))
        for op in ops:
            n += 1
            out.append(fail(f"4.{sub}.{n}", f"{kind} opcode {op:#x} with payload -> 1002",
                            frame(op, b"reserved opcode payload"), 1002))
        n += 1
        op = ops[0]
        out.append(fail(f"4.{sub}.{n}",
                        f"{kind} opcode {op:#x} after a valid echo -> echo, 1002",
                        frame(TEXT, b"valid") + frame(op, b"bad") + frame(PING, b"never"),
                        1002, expect=[("text", b"valid")]))
        n += 1
        op = ops[-1]
        out.append(fail(f"4.{sub}.{n}",
                        f"{kind} opcode {op:#x} with 200-byte payload -> 1002",
                        frame(op, binary_of(200)), 1002))
    return out


def section5():
    t = "fragmented message ".encode() * 3
    b = binary_of(300)
    many_t = text_of(100)[:100]
    many_b = binary_of(60000)
    return [
        echo("5.1", "text in 2 fragments", fragments(TEXT, [t[:10], t[10:]]), [("text", t)]),
        echo("5.2", "binary in 2 fragments", fragments(BINARY, [b[:150], b[150:]]),
             [("binary", b)]),
        echo("5.3", "text in 3 fragments", fragments(TEXT, [t[:5], t[5:20], t[20:]]),
             [("text", t)]),
        echo("5.4", "binary in 3 fragments", fragments(BINARY, [b[:1], b[1:299], b[299:]]),
             [("binary", b)]),
        echo("5.5", "text in 100 one-byte fragments",
             fragments(TEXT, [many_t[i:i + 1] for i in range(100)]), [("text", many_t)]),
        echo("5.6", "binary 60000 bytes in 60 fragments",
             fragments(BINARY, [many_b[i:i + 1000] for i in range(0, 60000, 1000)]),
             [("binary", many_b)]),
        echo("5.7", "text with empty first, middle and last fragments",
             fragments(TEXT, [b"", b"ab", b"", b"cd", b""]), [("text", b"abcd")]),
        echo("5.8", "empty text in 3 empty fragments",
             fragments(TEXT, [b"", b"", b""]), [("text", b"")]),
        echo("5.9", "binary with empty fragments",
             fragments(BINARY, [b"", b"\x00\x01", b"", b"\x02"]), [("binary", b"\x00\x01\x02")]),
        echo("5.10", "ping between two text fragments -> pong, then the message",
             frame(TEXT, b"frag", fin=False) + frame(PING, b"between")
             + frame(CONT, b"ment"), [("pong", b"between"), ("text", b"fragment")]),
        echo("5.11", "two pings between binary fragments -> pongs, then the message",
             frame(BINARY, b"\x01", fin=False) + frame(PING, b"a")
             + frame(CONT, b"\x02", fin=False) + frame(PING, b"b") + frame(CONT, b"\x03"),
             [("pong", b"a"), ("pong", b"b"), ("binary", b"\x01\x02\x03")]),
        echo("5.12", "unsolicited pong between fragments is ignored",
             frame(TEXT, b"frag", fin=False) + frame(PONG, b"x") + frame(CONT, b"ment"),
             [("text", b"fragment")]),
        fail("5.13", "continuation with no message open -> 1002",
             frame(CONT, b"orphan"), 1002),
        fail("5.14", "unfinished continuation with no message open -> 1002",
             frame(CONT, b"orphan", fin=False) + frame(CONT, b"s"), 1002),
        fail("5.15", "continuation after a complete message -> echo, 1002",
             frame(TEXT, b"complete") + frame(CONT, b"stray"), 1002,
             expect=[("text", b"complete")]),
        fail("5.16", "new text while a text message is open -> 1002",
             frame(TEXT, b"open", fin=False) + frame(TEXT, b"again"), 1002),
        fail("5.17", "new binary while a text message is open -> 1002",
             frame(TEXT, b"open", fin=False) + frame(BINARY, b"again"), 1002),
        fail("5.18", "new text while a binary message is open -> 1002",
             frame(BINARY, b"open", fin=False) + frame(TEXT, b"again", fin=False)
             + frame(CONT, b"x"), 1002),
        fail("5.19", "fragmented close -> 1002",
             frame(CLOSE, w.close_payload(1000), fin=False) + frame(CONT, b"more"), 1002),
        fail("5.20", "fragmented ping inside a fragmented text -> 1002",
             frame(TEXT, b"frag", fin=False) + frame(PING, b"p", fin=False)
             + frame(CONT, b"q"), 1002),
    ]


UTF8_VALID = [
    ("2-byte code points", "κόσμε ç ß".encode()),
    ("3-byte code points", "€ 한국어 ✓".encode()),
    ("4-byte code points", "𝄞 😀 𐍈".encode()),
    ("U+10FFFF", "a\U0010ffffb".encode()),
    ("U+FFFF and U+FFFE", "\uffff\ufffe".encode()),
    ("U+0000 and U+007F, U+0080, U+07FF, U+0800, U+D7FF, U+E000, U+10000",
     "\x00\x7f\x80\u07ff\u0800\ud7ff\ue000\U00010000".encode()),
]

UTF8_INVALID = [
    ("overlong C0 80", b"\xc0\x80"),
    ("overlong C1 BF", b"\xc1\xbf"),
    ("overlong E0 80 80", b"\xe0\x80\x80"),
    ("overlong F0 80 80 80", b"\xf0\x80\x80\x80"),
    ("surrogate ED A0 80", b"\xed\xa0\x80"),
    ("surrogate ED BF BF", b"\xed\xbf\xbf"),
    ("above U+10FFFF F4 90 80 80", b"\xf4\x90\x80\x80"),
    ("lone continuation 80", b"\x80"),
    ("lone continuation BF", b"\xbf"),
    ("F5", b"\xf5\x80\x80\x80"),
    ("FE", b"\xfe"),
    ("FF", b"\xff"),
    ("lead byte followed by ASCII", b"\xe2\x82a"),
]


def section6():
    out = []
    n = 0
    for label, data in UTF8_VALID:
        n += 1
        blob = b"".join(fragments(TEXT, [data[:k], data[k:]]) for k in range(len(data) + 1))
        out.append(echo(f"6.1.{n}", f"valid {label}, split into 2 fragments at every byte",
                        blob, [("text", data)] * (len(data) + 1)))
        n += 1
        out.append(echo(f"6.1.{n}", f"valid {label}, one byte per fragment",
                        fragments(TEXT, [data[i:i + 1] for i in range(len(data))]),
                        [("text", data)]))
    n = 0
    for label, bad in UTF8_INVALID:
        n += 1
        out.append(fail(f"6.2.{n}", f"invalid UTF-8 {label} -> 1007",
                        frame(TEXT, b"abc" + bad + b"def"), 1007))
    n = 0
    for label, bad in (("€ E2 82", "€".encode()[:2]), ("𝄞 F0 9D 84", "𝄞".encode()[:3]),
                       ("ç C3", "ç".encode()[:1])):
        n += 1
        out.append(fail(f"6.3.{n}", f"truncated {label} at the end of a message -> 1007",
                        frame(TEXT, b"abc" + bad), 1007))
        n += 1
        out.append(fail(f"6.3.{n}", f"truncated {label} at the end of the last fragment -> 1007",
                        fragments(TEXT, [b"abc", bad, b""]), 1007))
    n = 0
    for label, bad in (("C0 80", b"\xc0\x80"), ("ED A0 80", b"\xed\xa0\x80"),
                       ("F5", b"\xf5"), ("F4 90 80 80", b"\xf4\x90\x80\x80")):
        n += 1
        out.append(fail(f"6.4.{n}",
                        f"fail fast: {label} in the first fragment, message never finished -> 1007",
                        frame(TEXT, b"abc" + bad + b"def", fin=False), 1007))
    n += 1
    out.append(fail(f"6.4.{n}", "fail fast: invalid in the 2nd fragment, never finished -> 1007",
                    frame(TEXT, b"good", fin=False) + frame(CONT, b"\xed\xa0\x80", fin=False),
                    1007))
    n += 1
    out.append(fail(f"6.4.{n}", "invalid UTF-8 after a valid echo -> echo, 1007",
                    frame(TEXT, "valid €".encode()) + frame(TEXT, b"\xff"), 1007,
                    expect=[("text", "valid €".encode())]))
    return out


VALID_CODES = (1000, 1001, 1002, 1003, 1007, 1008, 1009, 1010, 1011, 1012, 1013, 1014,
               3000, 3999, 4000, 4999)
INVALID_CODES = (0, 999, 1004, 1005, 1006, 1015, 1016, 1100, 2000, 2999, 5000, 65535)


def section7():
    out = [
        Case("7.1.1", "empty close -> close (1000 or no code)", w.close_frame(),
             outcome="close", codes={1000, None}),
        Case("7.1.2", "close 1000, then a text frame -> close 1000, no echo",
             w.close_frame(1000) + frame(TEXT, b"after close"),
             outcome="close", codes={1000}),
        Case("7.1.3", "close 1000, then ping and binary -> close 1000, nothing else",
             w.close_frame(1000) + frame(PING, b"after") + frame(BINARY, b"\x00"),
             outcome="close", codes={1000}),
        Case("7.1.4", "text, then close 1000 -> echo, close 1000",
             frame(TEXT, b"before close") + w.close_frame(1000, "bye"),
             expect=[("text", b"before close")], outcome="close", codes={1000}),
        Case("7.1.5", "close while a fragmented message is open -> close 1000",
             frame(TEXT, b"open", fin=False) + w.close_frame(1000),
             outcome="close", codes={1000}),
    ]
    for i, code in enumerate(VALID_CODES, 1):
        out.append(Case(f"7.2.{i}", f"close with valid code {code} -> close {code}",
                        w.close_frame(code, "reason"), outcome="close", codes={code}))
    for i, code in enumerate(INVALID_CODES, 1):
        out.append(fail(f"7.3.{i}", f"close with invalid code {code} -> 1002",
                        w.close_frame(code), 1002))
    reason123 = ("ü" * 61 + "x").encode()
    assert len(reason123) == 123
    out += [
        fail("7.4.1", "close with a 1-byte payload -> 1002", frame(CLOSE, b"\x03"), 1002),
        fail("7.4.2", "close reason with invalid UTF-8 -> 1007",
             w.close_frame(1000, b"bad \xc0\x80 reason"), 1007),
        Case("7.4.3", "close with a 123-byte valid reason -> close 1000",
             w.close_frame(1000, reason123), outcome="close", codes={1000}),
        fail("7.4.4", "close with a 124-byte reason (126-byte payload) -> 1002",
             w.close_frame(1000, b"r" * 124), 1002),
        fail("7.5.1", "unmasked text frame -> 1002", frame(TEXT, b"unmasked", mask=False), 1002),
        fail("7.5.2", "unmasked binary frame -> 1002",
             frame(BINARY, b"\x00\x01", mask=False), 1002),
        fail("7.5.3", "unmasked ping -> 1002", frame(PING, b"p", mask=False), 1002),
        fail("7.5.4", "unmasked text after a valid echo -> echo, 1002",
             frame(TEXT, b"masked") + frame(TEXT, b"unmasked", mask=False), 1002,
             expect=[("text", b"masked")]),
    ]
    return out


def section9():
    at = text_of(LIMIT)[:LIMIT]
    over_t = text_of(LIMIT + 1)[:LIMIT + 1]
    over_b = binary_of(100 * 1024)
    at_b = binary_of(LIMIT)
    q = LIMIT // 4
    return [
        echo("9.1.1", "text exactly at the 64 KiB limit is echoed", frame(TEXT, at),
             [("text", at)], limited=True),
        echo("9.1.2", "binary exactly at the limit in 4 fragments is echoed",
             fragments(BINARY, [at_b[i:i + q] for i in range(0, LIMIT, q)]),
             [("binary", at_b)], limited=True),
        fail("9.2.1", "text 1 byte over the limit -> 1009", frame(TEXT, over_t), 1009,
             limited=True),
        fail("9.2.2", "binary 100 KiB -> 1009", frame(BINARY, over_b), 1009, limited=True),
        fail("9.2.3", "binary 100 KiB in 4 fragments -> 1009",
             fragments(BINARY, [over_b[i:i + 25600] for i in range(0, len(over_b), 25600)]),
             1009, limited=True),
        fail("9.2.4", "text in 65 fragments of 1 KiB, never finished -> 1009",
             b"".join(frame(TEXT if i == 0 else CONT, b"k" * 1024, fin=False)
                      for i in range(65)), 1009, limited=True),
    ]


def all_cases():
    cases = section1() + section2() + section3() + section4() + section5() \
        + section6() + section7() + section9()
    names = [c.cid for c in cases]
    assert len(names) == len(set(names)), "duplicate case ids"
    return cases
