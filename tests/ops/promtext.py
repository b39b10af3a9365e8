#!/usr/bin/python3
# promtext.py: a strict parser of the Prometheus text exposition format 0.0.4,
# for the tests that scrape /metrics.
# SPDX-License-Identifier: Apache-2.0
"""Strict parser of the Prometheus text exposition format, version 0.0.4.

Every line must be a HELP line, a TYPE line, another comment or a sample;
names and labels must follow the grammar; label values use only the escapes
\\\\, \\" and \\n; a family's TYPE comes before its samples and each family's
lines are contiguous; a series (name + label set) appears once; counters
and histogram figures are non-negative; histogram buckets carry `le`, are
sorted, cumulative, end with +Inf, and +Inf equals _count.  Anything else
raises ExpositionError naming the line.
"""

import math
import re

METRIC_NAME = re.compile(r"[a-zA-Z_:][a-zA-Z0-9_:]*")
LABEL_NAME = re.compile(r"[a-zA-Z_][a-zA-Z0-9_]*")
TYPES = ("counter", "gauge", "histogram", "summary", "untyped")
# Go's strconv.ParseFloat as Prometheus reads values
FLOAT = re.compile(r"[+-]?(?:(?:\d+\.?\d*|\.\d+)(?:[eE][+-]?\d+)?|Inf|inf|NaN)")
TIMESTAMP = re.compile(r"-?\d+")


class ExpositionError(Exception):
    pass


class Family:
    def __init__(self, name):
        self.name = name
        self.type = None
        self.help = None
        self.samples = []   # (sample name, {label: value}, float)

    def __repr__(self):
        return f"Family({self.name}, {self.type}, {len(self.samples)} samples)"


def _unescape_help(text, where):
    out = []
    i = 0
    while i < len(text):
        c = text[i]
        if c == "\\":
            if i + 1 >= len(text):
                raise ExpositionError(f"{where}: HELP ends with a lone backslash")
            n = text[i + 1]
            if n == "\\":
                out.append("\\")
            elif n == "n":
                out.append("\n")
            else:
                # the format passes other escapes through; we never write them
                raise ExpositionError(f"{where}: HELP has an unknown escape \\{n}")
            i += 2
        else:
            out.append(c)
            i += 1
    return "".join(out)


def _parse_labels(text, pos, where):
    """Parse `{a="x",b="y"}` from text[pos] == '{'; return (labels, new pos)."""
    assert text[pos] == "{"
    pos += 1
    labels = {}
    while True:
        if pos >= len(text):
            raise ExpositionError(f"{where}: unterminated label set")
        if text[pos] == "}":
            return labels, pos + 1
        m = LABEL_NAME.match(text, pos)
        if not m:
            raise ExpositionError(f"{where}: bad label name at column {pos + 1}")
        name = m.group(0)
        if name.startswith("__"):
            raise ExpositionError(f"{where}: label name {name} is reserved")
        pos = m.end()
        if text[pos:pos + 2] != '="':
            raise ExpositionError(f"{where}: expected =\" after label {name}")
        pos += 2
        value = []
        while True:
            if pos >= len(text):
                raise ExpositionError(f"{where}: unterminated value of label {name}")
            c = text[pos]
            if c == '"':
                pos += 1
                break
            if c == "\\":
                n = text[pos + 1] if pos + 1 < len(text) else ""
                if n == "\\":
                    value.append("\\")
                elif n == '"':
                    value.append('"')
                elif n == "n":
                    value.append("\n")
                else:
                    raise ExpositionError(f"{where}: label {name} has an invalid escape \\{n}")
                pos += 2
                continue
            if c == "\n":
                raise ExpositionError(f"{where}: raw newline in label {name}")
            value.append(c)
            pos += 1
        if name in labels:
            raise ExpositionError(f"{where}: label {name} given twice")
        labels[name] = "".join(value)
        if pos < len(text) and text[pos] == ",":
            pos += 1
        elif pos < len(text) and text[pos] == "}":
            continue
        else:
            raise ExpositionError(f"{where}: expected , or }} after label {name}")


def _parse_float(text, where):
    if not FLOAT.fullmatch(text):
        raise ExpositionError(f"{where}: {text!r} is not a number")
    return float(text)


def _family_of(sample, families_by_type):
    """The family a sample name belongs to (histogram/summary suffixes)."""
    for suffix in ("_bucket", "_sum", "_count"):
        if sample.endswith(suffix):
            base = sample[: -len(suffix)]
            f = families_by_type.get(base)
            if f is not None and f.type in ("histogram", "summary"):
                if suffix == "_bucket" and f.type != "histogram":
                    continue
                return f
    return families_by_type.get(sample)


def parse(text):
    """Parse an exposition; return {family name: Family}, in order."""
    if text and not text.endswith("\n"):
        raise ExpositionError("the exposition does not end with a newline")
    families = {}
    current = None
    closed = set()          # families whose lines are over
    series = set()
    for number, line in enumerate(text.split("\n")[:-1] if text else [], 1):
        where = f"line {number}"
        if line == "":
            raise ExpositionError(f"{where}: empty line")
        if line.startswith("#"):
            parts = line.split(" ", 3)
            if len(parts) >= 3 and parts[0] == "#" and parts[1] in ("HELP", "TYPE"):
                kind, name = parts[1], parts[2]
                if not METRIC_NAME.fullmatch(name):
                    raise ExpositionError(f"{where}: bad metric name {name!r}")
                if name in closed:
                    raise ExpositionError(f"{where}: family {name} resumes after other families")
                if current is not None and current.name != name:
                    closed.add(current.name)
                f = families.setdefault(name, Family(name))
                current = f
                if kind == "HELP":
                    if f.help is not None:
                        raise ExpositionError(f"{where}: second HELP for {name}")
                    f.help = _unescape_help(parts[3] if len(parts) > 3 else "", where)
                else:
                    if f.type is not None:
                        raise ExpositionError(f"{where}: second TYPE for {name}")
                    if f.samples:
                        raise ExpositionError(f"{where}: TYPE for {name} after its samples")
                    t = parts[3] if len(parts) > 3 else ""
                    if t not in TYPES:
                        raise ExpositionError(f"{where}: unknown type {t!r}")
                    f.type = t
            continue   # any other comment
        m = METRIC_NAME.match(line)
        if not m:
            raise ExpositionError(f"{where}: a sample must start with a metric name: {line!r}")
        name = m.group(0)
        pos = m.end()
        labels = {}
        if pos < len(line) and line[pos] == "{":
            labels, pos = _parse_labels(line, pos, where)
        if pos >= len(line) or line[pos] != " ":
            raise ExpositionError(f"{where}: expected a space before the value")
        rest = line[pos + 1:].split(" ")
        if len(rest) not in (1, 2) or any(r == "" for r in rest):
            raise ExpositionError(f"{where}: expected 'value [timestamp]', got {line[pos:]!r}")
        value = _parse_float(rest[0], where)
        if len(rest) == 2 and not TIMESTAMP.fullmatch(rest[1]):
            raise ExpositionError(f"{where}: bad timestamp {rest[1]!r}")
        typed = {k: v for k, v in families.items() if v.type is not None}
        fam = _family_of(name, typed)
        if fam is None:
            raise ExpositionError(f"{where}: sample {name} has no TYPE line before it")
        if fam.name in closed or (current is not None and current is not fam):
            raise ExpositionError(f"{where}: sample {name} is not with the rest of family {fam.name}")
        key = (name, tuple(sorted(labels.items())))
        if key in series:
            raise ExpositionError(f"{where}: duplicate series {name}{labels}")
        series.add(key)
        if fam.type == "counter":
            if name != fam.name:
                raise ExpositionError(f"{where}: counter sample {name} is not named {fam.name}")
            if math.isnan(value) or value < 0:
                raise ExpositionError(f"{where}: counter {name} is {value}")
        if fam.type == "histogram":
            if name == fam.name:
                raise ExpositionError(f"{where}: histogram sample without a suffix")
            if name.endswith("_bucket"):
                if "le" not in labels:
                    raise ExpositionError(f"{where}: bucket without an le label")
                _parse_float(labels["le"], where)
            elif "le" in labels:
                raise ExpositionError(f"{where}: le label outside a bucket")
            if value < 0 or math.isnan(value):
                raise ExpositionError(f"{where}: histogram figure {name} is {value}")
        fam.samples.append((name, labels, value))
    for f in families.values():
        if f.type == "histogram":
            _check_histogram(f)
    return families


def _check_histogram(f):
    groups = {}
    for name, labels, value in f.samples:
        rest = tuple(sorted((k, v) for k, v in labels.items() if k != "le"))
        g = groups.setdefault(rest, {"buckets": [], "sum": None, "count": None})
        if name == f.name + "_bucket":
            g["buckets"].append((float(labels["le"]), value))
        elif name == f.name + "_sum":
            g["sum"] = value
        elif name == f.name + "_count":
            g["count"] = value
    for rest, g in groups.items():
        what = f"histogram {f.name}{dict(rest)}"
        bounds = [b for b, _ in g["buckets"]]
        if not bounds or bounds[-1] != math.inf:
            raise ExpositionError(f"{what}: no +Inf bucket last")
        if bounds != sorted(bounds) or len(set(bounds)) != len(bounds):
            raise ExpositionError(f"{what}: buckets not in increasing order: {bounds}")
        counts = [c for _, c in g["buckets"]]
        if any(b < a for a, b in zip(counts, counts[1:])):
            raise ExpositionError(f"{what}: buckets not cumulative: {counts}")
        if g["count"] is None or g["sum"] is None:
            raise ExpositionError(f"{what}: _sum or _count missing")
        if counts[-1] != g["count"]:
            raise ExpositionError(f"{what}: +Inf bucket {counts[-1]} != _count {g['count']}")


def value(families, name, **labels):
    """The value of the one series name{labels}, looked up in the parsed
    families (samples of histograms too); KeyError when absent."""
    for f in families.values():
        for n, l, v in f.samples:
            if n == name and l == labels:
                return v
    raise KeyError(f"{name}{labels}")


def series(families, name):
    """[(labels, value)] of every sample called name."""
    return [(l, v) for f in families.values() for n, l, v in f.samples if n == name]
