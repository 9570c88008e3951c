#!/usr/bin/env python3
"""test/yaml_diff.py - the YAML subset reader (ym_, via build/test/ymcat)
against PyYAML on generated documents.

1. Random mappings dumped by PyYAML (block, flow and mixed styles) must read
   back as the same tree.
2. Mutations of those (a byte deleted, or one of  :-#"'[]{},  put in): when
   ymcat accepts one, PyYAML's BaseLoader (every scalar a string) must read
   the same tree from it; ymcat never reads a meaning YAML does not give.
Prints "yaml_diff: N passed, 0 failed" like the other suites."""
import json, os, random, subprocess, sys

try:
    import yaml
except ImportError:  # Debian's python3-yaml (make deps), when another python3 is first on PATH
    if sys.executable != "/usr/bin/python3":
        os.execv("/usr/bin/python3", ["/usr/bin/python3"] + sys.argv)
    raise

rnd = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 7)
ALPH = "abcxyz019 -_./:#'\"%@&*!|>?,[]{}\\é"


def word(key):
    n = rnd.randint(1, 8)
    s = "".join(rnd.choice(ALPH if rnd.random() < 0.3 else "abcdefgh012") for _ in range(n))
    return s.strip() or "k" if key else s


def tree(depth):
    if depth >= 3 or rnd.random() < 0.3:
        return word(False)
    if rnd.random() < 0.6:
        return {word(True): tree(depth + 1) for _ in range(rnd.randint(0, 4))}
    return [tree(depth + 1) for _ in range(rnd.randint(0, 4))]


def norm(x):
    if isinstance(x, dict):
        return {str(k): norm(v) for k, v in x.items()}
    if isinstance(x, list):
        return [norm(v) for v in x]
    return "" if x is None else str(x)


def run(docs):
    data = "\0".join(docs).encode()
    out = subprocess.run([sys.argv[1]], input=data, stdout=subprocess.PIPE, check=True).stdout.decode()
    return out.split("\n")[: len(docs)]


passed = failed = 0


def check(ok, what):
    global passed, failed
    if ok:
        passed += 1
    else:
        failed += 1
        if failed <= 20:
            print("FAIL", what)


docs, want = [], []
for i in range(600):
    t = {word(True): tree(1) for _ in range(rnd.randint(1, 5))}
    style = [False, True, None][i % 3]
    docs.append(yaml.safe_dump(t, default_flow_style=style, width=10**9, allow_unicode=True))
    want.append(norm(t))
for doc, w, got in zip(docs, want, run(docs)):
    check(not got.startswith("ERR") and norm(json.loads(got)) == w, "round trip %r -> %s" % (doc, got))

muts = []
for doc in docs:
    for _ in range(4):
        p = rnd.randrange(len(doc))
        if rnd.random() < 0.5:
            muts.append(doc[:p] + doc[p + 1:])
        else:
            muts.append(doc[:p] + rnd.choice(":-#\"'[]{}, \n") + doc[p:])
accepted = 0
for doc, got in zip(muts, run(muts)):
    if got.startswith("ERR"):
        continue
    accepted += 1
    try:
        ref = yaml.load(doc, Loader=yaml.BaseLoader)
    except yaml.YAMLError as e:
        check(False, "ymcat read what YAML refuses: %r -> %s (%s)" % (doc, got, str(e).splitlines()[0]))
        continue
    check(norm(json.loads(got)) == norm(ref), "mutant %r: ymcat %s, PyYAML %r" % (doc, got, ref))
check(accepted > 500, "enough mutants read (%d)" % accepted)
print("yaml_diff: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
