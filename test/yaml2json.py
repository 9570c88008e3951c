#!/usr/bin/env python3
"""yaml2json.py - a small, strict YAML subset parser for Kubernetes manifests.

Usage as a CLI:
    python3 test/yaml2json.py [-p] [FILE ...]    (no FILE: read stdin)
prints a JSON list of the documents (empty documents are skipped; -p
pretty-prints). Exit 1 with "FILE:LINE: message" on a parse error.

Usage as a module:
    import yaml2json
    docs = yaml2json.load_all(text)     # list of documents, empty ones skipped
    doc  = yaml2json.load(text)         # the first non-empty document or None

What it understands (everything kubectl manifests normally use):
  - block mappings and sequences, including "key:\\n- item" at the key's
    indent and "- key: v" compact nested mappings
  - flow collections {a: b, c: [d, e]} (may span lines)
  - plain, 'single' and "double" quoted scalars (multi-line folding, all
    YAML double-quote escapes)
  - literal and folded block scalars: |, |-, |+, >, >-, >+, |2 ...
  - comments, multi-document streams (---, ...), %directives
  - anchors &a, aliases *a, merge keys <<, and the !!str/!!int/!!bool/
    !!float/!!null tags on scalars (other tags are ignored)

Typing follows go-yaml v2 (what kubectl uses, YAML 1.1): plain true/false,
yes/no, on/off, y/n (any of the three usual casings) are booleans; null, ~
and empty are null; decimal, 0x hex, 0o / leading-zero octal and 0b binary
integers (underscores allowed) are ints; floats are floats (integral ones
become ints, as Go's JSON encoder would print them); everything else, and
every quoted scalar, is a string. Mapping keys are always strings.

Not supported (raises YAMLError with the line number): tabs used for
indentation, complex keys ("? "), multi-line implicit keys.
"""

import json
import re
import sys

__all__ = ["YAMLError", "load", "load_all", "resolve_plain"]


class YAMLError(ValueError):
    """A parse error; .line is the 1-based line number (or None)."""

    def __init__(self, line, msg):
        self.line = line
        self.msg = msg
        super().__init__(f"line {line}: {msg}" if line else msg)


# ---------------------------------------------------------------- scalars
_BOOL_TRUE = {"y", "Y", "yes", "Yes", "YES", "true", "True", "TRUE", "on", "On", "ON"}
_BOOL_FALSE = {"n", "N", "no", "No", "NO", "false", "False", "FALSE", "off", "Off", "OFF"}
_NULLS = {"", "~", "null", "Null", "NULL"}
_INT_DEC = re.compile(r"[-+]?(0|[1-9][0-9_]*)$")
_INT_OCT = re.compile(r"[-+]?0[0-7_]+$")
_INT_OCT_O = re.compile(r"[-+]?0o[0-7_]+$")
_INT_HEX = re.compile(r"[-+]?0x[0-9a-fA-F_]+$")
_INT_BIN = re.compile(r"[-+]?0b[01_]+$")
_FLOAT = re.compile(r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?$")


def _num(f):
    """Integral floats become ints (Go prints float64(80) as 80)."""
    if f == f and f not in (float("inf"), float("-inf")) and f == int(f) and abs(f) < 2**63:
        return int(f)
    return f


def resolve_plain(s):
    """Type of a plain (unquoted) scalar, go-yaml v2 rules."""
    if s in _NULLS:
        return None
    if s in _BOOL_TRUE:
        return True
    if s in _BOOL_FALSE:
        return False
    if s and s[0] in "-+0123456789.":
        t = s.replace("_", "")
        try:
            if _INT_DEC.match(s):
                return int(t, 10)
            if _INT_HEX.match(s):
                return int(t, 16)
            if _INT_OCT_O.match(s):
                return int(t.replace("0o", "", 1), 8)
            if _INT_OCT.match(s):
                return int(t, 8)
            if _INT_BIN.match(s):
                return int(t, 2)
            if _FLOAT.match(s) and any(c.isdigit() for c in s):
                return _num(float(t))
        except ValueError:
            pass
    return s


def _apply_tag(tag, value, raw, line):
    """Apply a !!tag to a scalar. raw is its source text (None for quoted or
    collection values, whose value is already final)."""
    if tag is None or not tag.startswith("!!") or tag in (
            "!!map", "!!seq", "!!set", "!!omap", "!!binary", "!!timestamp"):
        return value  # local tags and collection tags: ignored
    text = raw if raw is not None else value
    if tag == "!!str":
        return "" if text is None else text
    if not isinstance(text, str):
        raise YAMLError(line, f"cannot use {tag} on a collection")
    if tag == "!!null":
        return None
    if tag == "!!bool" and (text in _BOOL_TRUE or text in _BOOL_FALSE):
        return text in _BOOL_TRUE
    if tag == "!!int":
        v = resolve_plain(text)
        if isinstance(v, int) and not isinstance(v, bool):
            return v
    if tag == "!!float":
        try:
            return _num(float(text.replace("_", "")))
        except ValueError:
            pass
    if tag in ("!!bool", "!!int", "!!float"):
        raise YAMLError(line, f"cannot use {tag} on {text!r}")
    return value


_DQ_ESCAPES = {
    "0": "\0", "a": "\a", "b": "\b", "t": "\t", "\t": "\t", "n": "\n", "v": "\v",
    "f": "\f", "r": "\r", "e": "\x1b", " ": " ", '"': '"', "/": "/", "\\": "\\",
    "N": "\x85", "_": "\xa0", "L": "\u2028", "P": "\u2029",
}


def _fold_lines(parts):
    """YAML flow-scalar line folding: one break -> space, n breaks -> n-1 newlines."""
    out = parts[0]
    blank = 0
    for p in parts[1:]:
        if p == "":
            blank += 1
            continue
        out += ("\n" * blank) if blank else " "
        out += p
        blank = 0
    return out


# ---------------------------------------------------------------- comments
def _strip_comment(s, quote=None, state=False):
    """Remove a trailing comment (' #...' or a leading '#') outside quotes.
    quote is the quote open at the start of s (for flow collections that span
    lines); with state=True returns (text, quote open at the end)."""
    i, n = 0, len(s)
    while i < n:
        c = s[i]
        if quote == "'":
            if c == "'":
                if i + 1 < n and s[i + 1] == "'":
                    i += 1
                else:
                    quote = None
        elif quote == '"':
            if c == "\\":
                i += 1
            elif c == '"':
                quote = None
        elif c == "#" and (i == 0 or s[i - 1] in " \t"):
            s = s[:i].rstrip()
            break
        elif c in "'\"" and (i == 0 or s[i - 1] in " \t[{,:"):
            quote = c
        i += 1
    if state:
        return s.rstrip() if quote is None else s, quote
    return s.rstrip()


def _indent_of(raw):
    n = len(raw) - len(raw.lstrip(" "))
    return n


# ---------------------------------------------------------------- parser
class _Parser:
    def __init__(self, lines, linenos, anchors):
        self.lines = lines        # raw text lines of one document (no newline)
        self.linenos = linenos    # their 1-based line numbers in the stream
        self.i = 0
        self.anchors = anchors

    # -- line helpers
    def lineno(self, i=None):
        i = self.i if i is None else i
        if i < len(self.linenos):
            return self.linenos[i]
        return self.linenos[-1] if self.linenos else None

    def err(self, msg, i=None):
        return YAMLError(self.lineno(i), msg)

    def blank(self, i):
        s = self.lines[i].strip()
        return s == "" or s.startswith("#")

    def skip_blank(self):
        while self.i < len(self.lines) and self.blank(self.i):
            self.i += 1

    def indent(self, i):
        raw = self.lines[i]
        n = _indent_of(raw)
        if n < len(raw) and raw[n] == "\t":
            raise self.err("tab character used for indentation", i)
        return n

    def content(self, i):
        return self.lines[i][_indent_of(self.lines[i]):]

    # -- classification
    @staticmethod
    def is_seq_item(text):
        return text == "-" or text.startswith("- ") or text.startswith("-\t")

    def split_key(self, text, i):
        """If text is 'key: rest' return (key, rest, quoted), else None."""
        if not text or text[0] in "[{&*!|>%@`" or self.is_seq_item(text):
            return None
        if text.startswith("? "):
            raise self.err("complex mapping keys ('? ') are not supported", i)
        if text[0] in "'\"":
            val, end = self.scan_quoted(text, 0, i)
            if val is None:
                return None  # multi-line quoted scalar: not a key
            rest = text[end:].lstrip(" ")
            if rest == ":" or rest.startswith(": ") or rest.startswith(":\t"):
                return val, rest[1:].strip(), True
            return None
        j = 0
        n = len(text)
        while True:
            j = text.find(":", j)
            if j < 0:
                return None
            if j + 1 == n or text[j + 1] in " \t":
                key = text[:j].rstrip()
                if " #" in key or "\t#" in key:
                    return None  # the colon is inside a comment
                return key, text[j + 1:].strip(), False
            j += 1

    # -- quoted scalars
    def scan_quoted(self, text, start, i):
        """Scan a quoted scalar that must close on this line: (value, end) or (None, None)."""
        q = text[start]
        j = start + 1
        out = []
        n = len(text)
        while j < n:
            c = text[j]
            if q == "'":
                if c == "'":
                    if j + 1 < n and text[j + 1] == "'":
                        out.append("'")
                        j += 2
                        continue
                    return "".join(out), j + 1
                out.append(c)
                j += 1
            else:
                if c == '"':
                    return "".join(out), j + 1
                if c == "\\":
                    if j + 1 >= n:
                        return None, None  # escaped line break: multi-line
                    s, j = self.dq_escape(text, j, i)
                    out.append(s)
                    continue
                out.append(c)
                j += 1
        return None, None

    def dq_escape(self, text, j, i):
        e = text[j + 1]
        if e in _DQ_ESCAPES:
            return _DQ_ESCAPES[e], j + 2
        width = {"x": 2, "u": 4, "U": 8}.get(e)
        if width:
            h = text[j + 2:j + 2 + width]
            if len(h) != width or not all(c in "0123456789abcdefABCDEF" for c in h):
                raise self.err(f"bad escape \\{e}{h}", i)
            return chr(int(h, 16)), j + 2 + width
        raise self.err(f"unknown escape \\{e} in double-quoted scalar", i)

    @staticmethod
    def find_close(s, q):
        """Index of the closing quote in s, or -1 when the scalar goes on."""
        j = 0
        while j < len(s):
            c = s[j]
            if q == "'" and c == "'":
                if j + 1 < len(s) and s[j + 1] == "'":
                    j += 2
                    continue
                return j
            if q == '"':
                if c == "\\":
                    j += 2
                    continue
                if c == '"':
                    return j
            j += 1
        return -1

    def decode_quoted(self, seg, q, i):
        if q == "'":
            return seg.replace("''", "'")
        out = []
        j = 0
        while j < len(seg):
            c = seg[j]
            if c == "\\" and j + 1 < len(seg):
                s, j = self.dq_escape(seg, j, i)
                out.append(s)
                continue
            out.append(c)
            j += 1
        return "".join(out)

    def parse_quoted_multiline(self, text, start):
        """A quoted scalar starting at text[start] on line self.i, possibly
        spanning lines. Returns (value, rest of its last line) and leaves
        self.i on the line after it."""
        q = text[start]
        i0 = self.i
        segs = []
        cur = text[start + 1:]
        while True:
            end = self.find_close(cur, q)
            if end >= 0:
                segs.append(cur[:end])
                rest = cur[end + 1:]
                self.i += 1
                break
            segs.append(cur)
            self.i += 1
            if self.i >= len(self.lines):
                raise self.err("unterminated quoted scalar", i0)
            cur = self.lines[self.i]
        if len(segs) == 1:
            return self.decode_quoted(segs[0], q, i0), rest
        # line folding: a break is a space, n empty lines are n newlines, and
        # a double-quoted line ending in a backslash joins with no space
        out = ""
        blanks = 0
        glue = False
        last = len(segs) - 1
        for k, seg in enumerate(segs):
            if k > 0:
                seg = seg.lstrip(" \t")
            escaped_break = False
            if k < last:
                tail = len(seg) - len(seg.rstrip("\\"))
                if q == '"' and tail % 2 == 1:
                    seg = seg[:-1]
                    escaped_break = True
                else:
                    seg = seg.rstrip(" \t")
            piece = self.decode_quoted(seg, q, i0 + k)
            if k == 0:
                out = piece
            elif piece == "" and k < last and not escaped_break:
                blanks += 1
                continue
            elif glue:
                out += piece
            elif blanks:
                out += "\n" * blanks + piece
            else:
                out += " " + piece
            blanks = 0
            glue = escaped_break
        return out, rest

    # -- nodes
    def parse_node(self, min_indent):
        """Parse the block node starting at the next non-blank line whose indent
        is >= min_indent; None when there is none."""
        self.skip_blank()
        if self.i >= len(self.lines):
            return None
        ind = self.indent(self.i)
        if ind < min_indent:
            return None
        text = self.content(self.i)
        if self.is_seq_item(text):
            return self.parse_seq(ind)
        if self.split_key(_strip_comment(text), self.i) is not None:
            return self.parse_map(ind)
        # a scalar, flow collection, alias or block scalar on its own line
        self.i += 1
        return self.parse_inline(text, ind - 1, self.i - 1)

    def parse_seq(self, ind):
        out = []
        while True:
            self.skip_blank()
            if self.i >= len(self.lines):
                break
            cur = self.indent(self.i)
            text = self.content(self.i)
            if cur != ind or not self.is_seq_item(text):
                if cur > ind:
                    raise self.err("bad indentation of a sequence entry")
                break
            rest = text[1:]
            col = ind + 1 + (len(rest) - len(rest.lstrip(" ")))
            rest = rest.lstrip(" ")
            stripped = _strip_comment(rest)
            if stripped == "":
                self.i += 1
                self.skip_blank()
                if self.i < len(self.lines) and self.indent(self.i) > ind:
                    out.append(self.parse_node(ind + 1))
                else:
                    out.append(None)
                continue
            if self.is_seq_item(rest) or self.split_key(stripped, self.i) is not None:
                # "- key: v" or "- - x": re-read the rest as a block node at its column
                self.lines[self.i] = " " * col + rest
                out.append(self.parse_node(col))
                continue
            self.i += 1
            out.append(self.parse_inline(rest, ind, self.i - 1))
        return out

    def parse_map(self, ind):
        out = {}
        merges = []
        while True:
            self.skip_blank()
            if self.i >= len(self.lines):
                break
            cur = self.indent(self.i)
            if cur < ind:
                break
            text = self.content(self.i)
            if cur > ind:
                raise self.err("bad indentation of a mapping entry")
            if self.is_seq_item(text):
                break  # a sequence at the same indent belongs to our parent
            kv = self.split_key(_strip_comment(text), self.i)
            if kv is None:
                raise self.err(f"expected 'key: value', found {text.strip()!r}")
            key, rest, quoted = kv
            line_i = self.i
            # the value text is taken from the unstripped line (comments are
            # stripped per value kind: block scalars keep '#' lines)
            raw_rest = self.raw_value_text(text, quoted)
            self.i += 1
            if _strip_comment(raw_rest) == "":
                self.skip_blank()
                if self.i < len(self.lines) and (
                    self.indent(self.i) > ind
                    or (self.indent(self.i) == ind and self.is_seq_item(self.content(self.i)))
                ):
                    if self.indent(self.i) == ind:
                        value = self.parse_seq(ind)
                    else:
                        value = self.parse_node(ind + 1)
                else:
                    value = None
            else:
                value = self.parse_inline(raw_rest, ind, line_i)
            if key == "<<" and not quoted:
                merges.append((value, line_i))
                continue
            if key in out:
                raise self.err(f"mapping key {key!r} already defined", line_i)
            out[key] = value
        for value, line_i in merges:
            srcs = value if isinstance(value, list) else [value]
            for src in srcs:
                if not isinstance(src, dict):
                    raise self.err("merge key '<<' needs a mapping or a list of mappings", line_i)
                for k, v in src.items():
                    out.setdefault(k, v)
        return out

    def raw_value_text(self, text, quoted):
        """The text after the key's ':' on a mapping line, comment not stripped."""
        if quoted:
            _, end = self.scan_quoted(text, 0, self.i)
            rest = text[end:].lstrip(" ")
            return rest[1:].strip(" \t")
        j = 0
        while True:
            j = text.find(":", j)
            if j + 1 == len(text) or text[j + 1] in " \t":
                return text[j + 1:].strip(" \t")
            j += 1

    # -- values that start on a line ("key: VALUE" / "- VALUE" / a lone line)
    def parse_inline(self, text, parent_indent, line_i):
        """Parse a value whose text starts on line line_i (already consumed);
        continuation lines must be indented more than parent_indent."""
        text = text.strip(" \t")
        anchor = tag = None
        while text and text[0] in "&!":
            m = re.match(r"([&!][^ \t]*)[ \t]*", text)
            if m.group(1)[0] == "&":
                anchor = m.group(1)[1:]
            else:
                tag = m.group(1)
            text = text[m.end():]
        line = self.lineno(line_i)
        raw = None
        if _strip_comment(text) == "":
            # "key: &a" / "- !!map" followed by a block node (or nothing)
            value = self.parse_node(parent_indent + 1)
            if value is None and self.i < len(self.lines) and not self.blank(self.i) \
                    and self.indent(self.i) == parent_indent and self.is_seq_item(self.content(self.i)):
                value = self.parse_seq(parent_indent)
            if value is None:
                raw = ""
        elif text[0] == "*":
            name = _strip_comment(text)[1:]
            if name not in self.anchors:
                raise self.err(f"unknown alias *{name}", line_i)
            value = json.loads(json.dumps(self.anchors[name]))
        elif text[0] in "|>":
            value = self.block_scalar(_strip_comment(text), parent_indent, line_i)
        elif text[0] in "'\"":
            self.i = line_i
            value, rem = self.parse_quoted_multiline(text, 0)
            if _strip_comment(rem) != "":
                raise self.err(f"unexpected text after quoted scalar: {rem.strip()!r}", self.i - 1)
        elif text[0] in "[{":
            value = self.flow(text, line_i)
        else:
            first = _strip_comment(text)
            if self.is_seq_item(first):
                raise self.err("block sequence entries are not allowed here", line_i)
            if re.search(r":[ \t]|:$", first):
                raise self.err("mapping values are not allowed here (quote the value?)", line_i)
            raw, multiline = self.plain_multiline(first, parent_indent)
            value = raw if multiline else resolve_plain(raw)
        value = _apply_tag(tag, value, raw, line)
        if anchor:
            self.anchors[anchor] = value
        return value

    def plain_multiline(self, first, parent_indent):
        """A plain scalar and its continuation lines: (text, was_multiline)."""
        parts = [first]
        while self.i < len(self.lines):
            raw = self.lines[self.i]
            s = raw.strip()
            if s == "":
                # blank lines belong to the scalar only if more of it follows
                k = self.i
                while k < len(self.lines) and self.lines[k].strip() == "":
                    k += 1
                if k < len(self.lines) and _indent_of(self.lines[k]) > parent_indent \
                        and not self.lines[k].strip().startswith("#"):
                    parts.extend([""] * (k - self.i))
                    self.i = k
                    continue
                break
            if s.startswith("#") or _indent_of(raw) <= parent_indent:
                break
            if self.split_key(_strip_comment(s), self.i) is not None:
                raise self.err("bad indentation (a mapping or sequence where a scalar continues)")
            parts.append(_strip_comment(s))
            self.i += 1
        if len(parts) == 1:
            return first, False
        return _fold_lines(parts), True

    def block_scalar(self, header, parent_indent, line_i):
        m = re.match(r"([|>])([+-]?)([1-9]?)([+-]?)$", header)
        if not m or (m.group(2) and m.group(4)):
            raise self.err(f"bad block scalar header {header!r}", line_i)
        style, chomp, digit = m.group(1), m.group(2) or m.group(4), m.group(3)
        if digit:
            ind = max(parent_indent, 0) + int(digit)
        else:
            ind = None
            k = self.i
            while k < len(self.lines) and self.lines[k].strip() == "":
                k += 1
            if k < len(self.lines) and _indent_of(self.lines[k]) > parent_indent:
                ind = _indent_of(self.lines[k])
        lines = []
        while self.i < len(self.lines):
            raw = self.lines[self.i]
            if raw.strip() == "":
                lines.append(raw[ind:] if ind is not None else "")
                self.i += 1
                continue
            if ind is None or _indent_of(raw) < ind:
                break
            lines.append(raw[ind:])
            self.i += 1
        trail = 0
        while lines and lines[-1].strip() == "":
            lines.pop()
            trail += 1
        if not lines:
            return "\n" * trail if chomp == "+" else ""
        text = "\n".join(lines) if style == "|" else self.fold_block(lines)
        if chomp == "-":
            return text
        if chomp == "+":
            return text + "\n" * (trail + 1)
        return text + "\n"

    @staticmethod
    def fold_block(lines):
        """Folded (>) content: breaks between plain lines become spaces, empty
        lines newlines; lines starting with white space keep their breaks."""
        out = []
        prev = None
        blanks = 0
        for ln in lines:
            if ln.strip() == "":
                blanks += 1
                continue
            kind = "more" if ln[0] in " \t" else "normal"
            if prev is None:
                out.append("\n" * blanks + ln)
            elif prev == "normal" and kind == "normal":
                out.append(("\n" * blanks if blanks else " ") + ln)
            else:
                out.append("\n" * (blanks + 1) + ln)
            prev = kind
            blanks = 0
        return "".join(out)

    # -- flow collections
    def flow(self, text, line_i):
        """Parse a flow collection starting in text; it may span lines. The
        flow parser sees raw text (it skips comments itself) and asks for
        another line while the collection is unterminated."""
        buf = text
        while True:
            fp = _FlowParser(buf, self.lineno(line_i), self.anchors)
            try:
                value = fp.value()
                fp.ws()
            except _Incomplete:
                if self.i >= len(self.lines):
                    raise self.err("unterminated flow collection", line_i)
                buf += "\n" + self.lines[self.i]
                self.i += 1
                continue
            if fp.pos != len(buf):
                raise self.err(f"unexpected text after flow collection: {buf[fp.pos:]!r}", self.i - 1)
            return value


class _Incomplete(Exception):
    """The flow collection goes on past the text seen so far."""


class _FlowParser:
    def __init__(self, s, line, anchors):
        self.s = s
        self.pos = 0
        self.line = line
        self.anchors = anchors

    def err(self, msg):
        return YAMLError(self.line, f"{msg} (in flow collection at column {self.pos + 1})")

    def ws(self):
        """Skip white space, line breaks and comments."""
        s = self.s
        while self.pos < len(s):
            c = s[self.pos]
            if c in " \t\n":
                self.pos += 1
            elif c == "#" and (self.pos == 0 or s[self.pos - 1] in " \t\n"):
                nl = s.find("\n", self.pos)
                self.pos = len(s) if nl < 0 else nl
            else:
                break

    def peek(self):
        self.ws()
        return self.s[self.pos] if self.pos < len(self.s) else ""

    def value(self):
        c = self.peek()
        if c == "":
            raise _Incomplete()
        tag = None
        if c == "!":
            m = re.compile(r"![^ \t,\]}]*").match(self.s, self.pos)
            tag = m.group(0)
            self.pos = m.end()
            c = self.peek()
        if c == "[":
            return self.seq()
        if c == "{":
            return self.map()
        if c in "'\"":
            return _apply_tag(tag, self.quoted(), None, self.line)
        if c == "*":
            m = re.compile(r"\*([^ \t,\]}]+)").match(self.s, self.pos)
            self.pos = m.end()
            if m.group(1) not in self.anchors:
                raise self.err(f"unknown alias *{m.group(1)}")
            return json.loads(json.dumps(self.anchors[m.group(1)]))
        raw = self.plain()
        return _apply_tag(tag, resolve_plain(raw), raw, self.line)

    def quoted(self):
        q = self.s[self.pos]
        s = self.s
        j = self.pos + 1
        out = []
        keep = 0  # out[:keep] must survive trailing-space trimming (escapes)
        while j < len(s):
            c = s[j]
            if q == "'" and c == "'":
                if j + 1 < len(s) and s[j + 1] == "'":
                    out.append("'")
                    keep = len(out)
                    j += 2
                    continue
                self.pos = j + 1
                return "".join(out)
            if q == '"' and c == '"':
                self.pos = j + 1
                return "".join(out)
            if c == "\n" or (q == '"' and c == "\\" and s[j + 1:j + 2] == "\n"):
                escaped = c == "\\"
                if escaped:
                    j += 1
                else:
                    while len(out) > keep and out[-1] in " \t":
                        out.pop()
                j += 1
                blanks = 0
                while j < len(s) and s[j] in " \t\n":
                    if s[j] == "\n":
                        blanks += 1
                    j += 1
                if blanks:
                    out.append("\n" * blanks)
                elif not escaped:
                    out.append(" ")
                keep = len(out)
                continue
            if q == '"' and c == "\\":
                if j + 1 >= len(s):
                    raise _Incomplete()
                e = s[j + 1]
                if e in _DQ_ESCAPES:
                    out.append(_DQ_ESCAPES[e])
                    j += 2
                    keep = len(out)
                    continue
                width = {"x": 2, "u": 4, "U": 8}.get(e)
                h = s[j + 2:j + 2 + width] if width else ""
                if not width or len(h) != width or not all(x in "0123456789abcdefABCDEF" for x in h):
                    raise self.err(f"bad escape \\{e}{h}")
                out.append(chr(int(h, 16)))
                j += 2 + width
                keep = len(out)
                continue
            out.append(c)
            j += 1
        raise _Incomplete()

    def plain(self):
        start = self.pos
        s = self.s
        while self.pos < len(s):
            c = s[self.pos]
            if c in ",[]{}":
                break
            if c == "#" and self.pos > start and s[self.pos - 1] in " \t\n":
                break
            if c == ":" and (self.pos + 1 == len(s) or s[self.pos + 1] in " \t,[]{}"):
                break
            self.pos += 1
        text = s[start:self.pos].strip()
        if "\n" in text:  # a plain scalar spanning lines folds
            text = _fold_lines([ln.strip() for ln in text.split("\n")])
        return text

    def seq(self):
        self.pos += 1
        out = []
        while True:
            c = self.peek()
            if c == "]":
                self.pos += 1
                return out
            if c == "":
                raise _Incomplete()
            item = self.value()
            if self.peek() == ":":  # [a: b] is a single-pair mapping
                self.pos += 1
                item = {self.key_text(item): self.value_or_null()}
            out.append(item)
            c = self.peek()
            if c == "":
                raise _Incomplete()
            if c == ",":
                self.pos += 1
            elif c != "]":
                raise self.err(f"expected ',' or ']' in flow sequence, found {c!r}")

    def value_or_null(self):
        c = self.peek()
        if c in (",", "}", "]", ""):
            return None
        return self.value()

    @staticmethod
    def key_text(k):
        if isinstance(k, str):
            return k
        if isinstance(k, bool):
            return "true" if k else "false"
        if k is None:
            return "null"
        return json.dumps(k)

    def map(self):
        self.pos += 1
        out = {}
        while True:
            c = self.peek()
            if c == "}":
                self.pos += 1
                return out
            if c == "":
                raise _Incomplete()
            if c in "'\"":
                key = self.quoted()
            else:
                key = self.plain()
                if key == "" and self.peek() != ":":
                    raise self.err(f"unexpected {self.peek()!r} in flow mapping")
            if self.peek() == ":":
                self.pos += 1
                value = self.value_or_null()
            else:
                value = None
            if key in out:
                raise self.err(f"mapping key {key!r} already defined")
            out[key] = value
            c = self.peek()
            if c == "":
                raise _Incomplete()
            if c == ",":
                self.pos += 1
            elif c != "}":
                raise self.err(f"expected ',' or '}}' in flow mapping, found {c!r}")


# ---------------------------------------------------------------- documents
def _split_documents(text):
    """Yield (lines, linenos) per document."""
    lines, nos = [], []
    started = False
    rows = text.split("\n")
    if rows and rows[-1] == "":
        rows.pop()  # the final newline ends the last line; it is not a line
    for no, raw in enumerate(rows, 1):
        raw = raw.rstrip("\r")
        if raw.startswith("%") and not lines:
            continue  # directive
        if raw == "---" or raw.startswith("--- ") or raw.startswith("---\t"):
            if lines or started:
                yield lines, nos
            lines, nos = [], []
            started = True
            rest = raw[3:].strip()
            if rest and not rest.startswith("#"):
                lines.append(rest)
                nos.append(no)
            continue
        if raw == "..." or raw.startswith("... "):
            yield lines, nos
            lines, nos = [], []
            started = False
            continue
        lines.append(raw)
        nos.append(no)
    if lines:
        yield lines, nos


def load_all(text):
    """Every non-empty document of a YAML stream, as Python values."""
    if isinstance(text, bytes):
        text = text.decode("utf-8")
    if text.startswith("\ufeff"):
        text = text[1:]
    docs = []
    for lines, nos in _split_documents(text):
        p = _Parser(lines, nos, {})
        value = p.parse_node(0)
        p.skip_blank()
        if p.i < len(p.lines):
            raise p.err(f"unexpected text {p.content(p.i).strip()!r} (bad indentation?)")
        if value is not None:
            docs.append(value)
    return docs


def load(text):
    docs = load_all(text)
    return docs[0] if docs else None


def main(argv):
    pretty = False
    files = []
    for a in argv:
        if a in ("-p", "--pretty"):
            pretty = True
        elif a in ("-h", "--help"):
            print(__doc__.split("\n\n")[1])
            return 0
        else:
            files.append(a)
    out = []
    for f in files or ["-"]:
        name = "<stdin>" if f == "-" else f
        try:
            text = sys.stdin.read() if f == "-" else open(f, encoding="utf-8").read()
            out.extend(load_all(text))
        except YAMLError as e:
            print(f"{name}:{e.line}: {e.msg}", file=sys.stderr)
            return 1
        except OSError as e:
            print(f"{name}: {e.strerror}", file=sys.stderr)
            return 1
    try:
        json.dump(out, sys.stdout, indent=2 if pretty else None, ensure_ascii=False)
        sys.stdout.write("\n")
        sys.stdout.flush()
    except BrokenPipeError:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
