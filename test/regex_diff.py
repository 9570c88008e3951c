#!/usr/bin/env python3
"""test/regex_diff.py - the regex engine (rx_, via build/test/rxcat) against
Python's re on generated patterns of the subset both read alike: literals,
., classes, \\d \\w \\s, ^ $, groups, (?:), (?i:), alternation, * + ? {n,m}
and their lazy forms. For each pattern and input the leftmost-first match
and every group's span must agree. Quantified groups are kept non-nullable
(Python and RE2 differ on empty iterations of a loop). Then a pathological
pattern on a long input must answer quickly (linear time).
Prints "regex_diff: N passed, 0 failed"."""
import random, re, subprocess, sys, time

rnd = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 11)
ALPH = "ab/-.x1"


def atom(d, need):
    r = rnd.random()
    if d < 3 and r < 0.25:
        inner = alt(d + 1, True)
        kind = rnd.choice(["(%s)", "(?:%s)", "(%s)", "(?i:%s)"])
        return kind % inner
    if r < 0.35:
        return "."
    if r < 0.5:
        return rnd.choice(["[ab]", "[^/]", "[a-c1]", "[^a-b]", "\\d", "\\w", "\\s", "[.-]", "\\.", "\\/", "[A-B]"])
    return rnd.choice("ab/-x1A")


def piece(d, need):
    a = atom(d, need)
    q = rnd.random()
    if q < 0.55:
        return a
    qs = rnd.choice(["*", "+", "?", "{2}", "{1,3}", "{0,2}", "{2,}"])
    if rnd.random() < 0.3:
        qs += "?"
    return a + qs


def concat(d, need):
    parts = [piece(d, need) for _ in range(rnd.randint(1, 4))]
    if need:  # a mandatory atom, so a quantified group never matches empty
        parts.insert(rnd.randrange(len(parts) + 1), atom(3, False))
    return "".join(parts)


def alt(d, need):
    return "|".join(concat(d, need) for _ in range(rnd.randint(1, 3 if d < 2 else 2)))


def pattern():
    p = alt(0, False)
    if rnd.random() < 0.2:
        p = "^" + p
    if rnd.random() < 0.2:
        p = p + "$"
    return p


cases = []
for _ in range(3000):
    p = pattern()
    try:
        cre = re.compile(p)
    except re.error:
        continue
    if cre.groups > 9:
        continue
    for _ in range(4):
        s = "".join(rnd.choice(ALPH + "AB") for _ in range(rnd.randint(0, 14)))
        cases.append((p, s, cre))

inp = "".join("%s\t%s\n" % (p, s) for p, s, _ in cases).encode()
out = subprocess.run([sys.argv[1]], input=inp, stdout=subprocess.PIPE, check=True).stdout.decode().split("\n")
passed = failed = long = 0
for (p, s, cre), got in zip(cases, out):
    if got.startswith("ERR") and "too long" in got and len(p) > 60:
        long += 1  # over RX_PROG: refused, as it should be
        continue
    m = cre.search(s)
    if m is None:
        want = "-"
    else:
        spans = [m.span(i) if m.span(i) != (-1, -1) else (-1, -1) for i in range(cre.groups + 1)]
        spans += [(-1, -1)] * (10 - len(spans))
        want = " ".join("%d,%d" % sp for sp in spans)
    if got == want:
        passed += 1
    else:
        failed += 1
        if failed <= 15:
            print("FAIL %r on %r: rx %s, python %s" % (p, s, got, want))

# what RE2 does not read is refused, never guessed
for p in ["(a)\\1", "(?=a)", "(?!a)", "(?<=a)b", "a\\b", "\\pL", "[[:alpha:]]", "a**", "*a", "(?s).", "(a", "a)", "[a", "x{2,1}", "x{1001}", "[é]"]:
    got = subprocess.run([sys.argv[1]], input=(p + "\tx\n").encode(), stdout=subprocess.PIPE).stdout.decode()
    if got.startswith("ERR column "):
        passed += 1
    else:
        failed += 1
        print("FAIL %r was not refused: %s" % (p, got.strip()))

# linear time: (a*)*b and (a|aa)*c on 8 KB of a's
t0 = time.time()
got = subprocess.run([sys.argv[1]], input=("(a*)*b\t%s\n(a|aa)*c\t%s\n(x+x+)+y\t%s\n" % ("a" * 8000, "a" * 8000, "x" * 8000)).encode(),
                     stdout=subprocess.PIPE).stdout.decode().split("\n")
dt = time.time() - t0
if got[:3] == ["-", "-", "-"] and dt < 5:
    passed += 1
else:
    failed += 1
    print("FAIL pathological patterns: %r in %.1f s" % (got[:3], dt))
if long > len(cases) // 4:
    failed += 1
    print("FAIL %d of %d cases over RX_PROG: the generator needs smaller patterns" % (long, len(cases)))
print("regex_diff: %d passed, %d failed" % (passed, failed))
sys.exit(1 if failed else 0)
