#!/usr/bin/env python3
"""yaml2json.py - Kubernetes manifests (YAML) to JSON, typed as kubectl does.

Usage as a CLI:
    python3 test/yaml2json.py [-p] [FILE ...]    (no FILE: read stdin)
prints a JSON list of the documents (empty documents are skipped; -p
pretty-prints). Exit 1 with "FILE:LINE: message" on a parse error.

Usage as a module:
    import yaml2json
    docs = yaml2json.load_all(text)     # list of documents, empty ones skipped
    doc  = yaml2json.load(text)         # the first non-empty document or None

PyYAML (Debian: python3-yaml, in `make deps`) parses; this file only
makes its YAML 1.1 typing match go-yaml v2's, which kubectl uses: y/n are
booleans too, no sexagesimal numbers (12:30 stays a string), 1e3 is a
number, integral floats become ints (Go prints float64(80) as 80), no
timestamps (creationTimestamp stays a string), mapping keys are their
source text (on: is "on"), and a key given twice is an error.
"""

import json
import re
import sys

try:
    import yaml
except ImportError as e:
    raise ImportError(f"yaml2json.py needs PyYAML in {sys.executable} ({e}): "
                      "Debian's python3-yaml, installed by `make deps`") from e

__all__ = ["YAMLError", "load", "load_all"]


class YAMLError(ValueError):
    """A parse error; .line is the 1-based line number (or None)."""

    def __init__(self, line, msg):
        self.line = line
        self.msg = msg
        super().__init__(f"line {line}: {msg}" if line else msg)


def _num(f):
    """Integral floats become ints, as Go's JSON encoder prints them."""
    if f == f and f not in (float("inf"), float("-inf")) and f == int(f) and abs(f) < 2**63:
        return int(f)
    return f


class _Loader(yaml.SafeLoader):
    yaml_implicit_resolvers = {}  # go-yaml v2's set, below, instead of PyYAML's
    bool_values = dict(yaml.SafeLoader.bool_values, y=True, n=False)

    def construct_mapping(self, node, deep=False):
        self.flatten_mapping(node)  # merge keys (<<)
        out = {}
        for k, v in node.value:
            if not isinstance(k, yaml.ScalarNode):
                raise yaml.MarkedYAMLError(None, None, "a collection as a mapping key", k.start_mark)
            if k.value in out:
                raise yaml.MarkedYAMLError(None, None, f"mapping key {k.value!r} already defined", k.start_mark)
            out[k.value] = self.construct_object(v, deep=deep)
        return out


for _tag, _re, _first in [
        ("bool", "y|Y|yes|Yes|YES|n|N|no|No|NO|true|True|TRUE|false|False|FALSE|on|On|ON|off|Off|OFF", "yYnNtTfFoO"),
        ("null", "~|null|Null|NULL|", ["~", "n", "N", ""]),
        ("int", "[-+]?(0|[1-9][0-9_]*|0[0-7_]+|0o[0-7_]+|0x[0-9a-fA-F_]+|0b[01_]+)", "-+0123456789"),
        ("float", r"[-+]?(\.[0-9]+|[0-9][0-9_]*(\.[0-9_]*)?)([eE][-+]?[0-9]+)?", "-+0123456789."),
        ("merge", "<<", "<")]:
    _Loader.add_implicit_resolver("tag:yaml.org,2002:" + _tag, re.compile(f"^(?:{_re})$"), list(_first))
_Loader.add_constructor("tag:yaml.org,2002:float",
                        lambda loader, node: _num(yaml.SafeLoader.construct_yaml_float(loader, node)))


def _untagged(loader, suffix, node):
    """A local tag (!foo) is ignored: the node reads as if it had none."""
    node.tag = loader.resolve(type(node), node.value, (getattr(node, "style", None) is None, False))
    return loader.yaml_constructors[node.tag](loader, node)


_Loader.add_multi_constructor("!", _untagged)


def load_all(text):
    """Every non-empty document of a YAML stream, as Python values."""
    try:
        return [d for d in yaml.load_all(text, Loader=_Loader) if d is not None]
    except yaml.MarkedYAMLError as e:
        mark = e.problem_mark or e.context_mark
        msg = e.problem or e.context or "bad YAML"
        if e.context and e.problem and e.context_mark:
            msg += f" ({e.context} at line {e.context_mark.line + 1})"
        raise YAMLError(mark.line + 1 if mark else None, msg) from None
    except yaml.YAMLError as e:  # the reader's: bad bytes, no line
        raise YAMLError(None, str(e)) from None


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
            print(f"{name}:{e.line}: {e.msg}" if e.line else f"{name}: {e.msg}", file=sys.stderr)
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
