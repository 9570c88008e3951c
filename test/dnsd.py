#!/usr/bin/env python3
"""test/dnsd.py - a small authoritative DNS server over UDP for the resolver
tests (test/e2e_resolver.sh), its answers built by hand (no dnslib).

  dnsd.py --listen ADDR[@PORT] [--listen ...] --zone FILE --log FILE
  dnsd.py --seeds DIR     writes answers as fuzz seeds (test/fuzz/corpus/dns)

The zone file has one record or behaviour a line ('#' starts a comment):

  NAME A 1.2.3.4 | NAME AAAA ::1 | NAME CNAME OTHER | NAME TXT text
  NAME BEHAVIOUR

A CNAME is followed inside the zone, as a recursive server would, and the
chain and the final records go in the answer. A name with no record of the
asked type answers NOERROR with no data; a name not in the zone NXDOMAIN.
Behaviours: servfail, refused, silent (never answers), tc (TC set, all
records), tccut (TC set, the last record cut short), decoy (first a reply
from another port, one with another ID and one for another question, each
naming 10.66.66.66, then the real answer 50 ms later), upper (the question
echoed in upper case), badlen (an A record of 5 bytes), slow (the answer
after 300 ms), v4only (a server on an IPv6 address never answers). Each
query is logged as "NAME TYPE" (upper-case type) to the log file, in order.
"""
import argparse
import os
import socket
import struct
import sys
import threading
import time

TYPES = {"A": 1, "CNAME": 5, "TXT": 16, "AAAA": 28}
NAMES = {v: k for k, v in TYPES.items()}
BEHAVIOURS = {"servfail", "refused", "silent", "tc", "tccut", "decoy", "upper", "badlen", "slow", "v4only"}


def wire_name(name):
    out = b""
    for label in name.rstrip(".").split("."):
        if label:
            out += bytes([len(label)]) + label.encode()
    return out + b"\0"


def rdata(rtype, value):
    if rtype == "A":
        return socket.inet_pton(socket.AF_INET, value)
    if rtype == "AAAA":
        return socket.inet_pton(socket.AF_INET6, value)
    if rtype == "CNAME":
        return wire_name(value)
    if rtype == "TXT":
        v = value.encode()[:255]
        return bytes([len(v)]) + v
    raise ValueError(rtype)


class Zone:
    def __init__(self, path=None):
        self.records = {}  # name -> [(type, value)]
        self.behaviour = {}  # name -> set
        if path:
            for line in open(path):
                f = line.split("#", 1)[0].split()
                if not f:
                    continue
                name = f[0].lower().rstrip(".")
                if len(f) == 2 and f[1] in BEHAVIOURS:
                    self.behaviour.setdefault(name, set()).add(f[1])
                    self.records.setdefault(name, [])
                elif len(f) >= 3 and f[1] in TYPES:
                    self.records.setdefault(name, []).append((f[1], " ".join(f[2:])))
                else:
                    sys.exit("dnsd: bad zone line: " + line.rstrip())

    def answer(self, qname, qtype):
        """(rcode, [(owner, type, rdata)]) for a question."""
        name = qname.lower().rstrip(".")
        if name not in self.records:
            return 3, []
        out = []
        for _ in range(8):  # a CNAME chain, as a recursive server gives it
            recs = self.records.get(name, [])
            cname = [v for t, v in recs if t == "CNAME"]
            if cname and qtype != TYPES["CNAME"]:
                out.append((name, "CNAME", cname[0]))
                name = cname[0].lower().rstrip(".")
                continue
            out += [(name, t, v) for t, v in recs if TYPES[t] == qtype]
            break
        return 0, out


def parse_query(data):
    """(id, flags, qname, qtype, question bytes) or None."""
    if len(data) < 12:
        return None
    qid, flags, qd = struct.unpack("!HHH", data[:6])
    if qd != 1 or flags & 0x8000:
        return None
    off, labels = 12, []
    while off < len(data) and data[off] != 0:
        n = data[off]
        labels.append(data[off + 1:off + 1 + n].decode("latin-1"))
        off += 1 + n
    off += 1
    if off + 4 > len(data):
        return None
    qtype = struct.unpack("!H", data[off:off + 2])[0]
    return qid, flags, ".".join(labels), qtype, data[12:off + 4]


def build(qid, question, rcode, records, qname, tc=False, rd=True, cut=False, badlen=False):
    """A response: the question as given, then the records; the first
    owner name that is the question's is a compression pointer to it."""
    flags = 0x8000 | 0x0400 | (0x0100 if rd else 0) | 0x0080 | rcode
    if tc:
        flags |= 0x0200
    body = b""
    for owner, rtype, value in records:
        if owner == qname.lower().rstrip("."):
            owner_w = b"\xc0\x0c"
        else:
            owner_w = wire_name(owner)
        rd_ = rdata(rtype, value)
        if badlen and rtype == "A":
            rd_ += b"\0"
        body += owner_w + struct.pack("!HHIH", TYPES[rtype], 1, 30, len(rd_)) + rd_
    if cut and body:
        body = body[:-3]
    return struct.pack("!HHHHHH", qid, flags, 1, len(records), 0, 0) + question + body


def serve(sock, zone, log, lock, decoy_sock):
    while True:
        data, peer = sock.recvfrom(4096)
        q = parse_query(data)
        if q is None:
            continue
        qid, flags, qname, qtype, question = q
        with lock:
            with open(log, "a") as f:
                f.write("%s %s\n" % (qname, NAMES.get(qtype, str(qtype))))
        b = zone.behaviour.get(qname.lower().rstrip("."), set())
        if "silent" in b or ("v4only" in b and sock.family == socket.AF_INET6):
            continue
        if "servfail" in b or "refused" in b:
            sock.sendto(build(qid, question, 2 if "servfail" in b else 5, [], qname), peer)
            continue
        rcode, recs = zone.answer(qname, qtype)
        if "decoy" in b:
            fake = [(qname.lower(), "A", "10.66.66.66")] if qtype == 1 else [(qname.lower(), "AAAA", "fd66::66")]
            decoy_sock.sendto(build(qid, question, 0, fake, qname), peer)  # another source port
            sock.sendto(build(qid ^ 0x5a5a, question, 0, fake, qname), peer)  # another ID
            other = question.replace(qname.split(".")[0].encode(), b"x" * len(qname.split(".")[0]), 1)
            sock.sendto(build(qid, other, 0, fake, qname), peer)  # another question
            time.sleep(0.05)
        if "slow" in b:
            time.sleep(0.3)
        if "upper" in b:
            question = question[:-4].upper() + question[-4:]
        sock.sendto(build(qid, question, rcode, recs, qname, tc="tc" in b or "tccut" in b, cut="tccut" in b,
                          badlen="badlen" in b), peer)


def seeds(outdir):
    """Answers for the fuzz corpus: the harness (test/fuzz/fuzz_dns.c) asks
    for db.other.svc.cluster.local with ID 0x1234, A or AAAA by the
    second byte of its input."""
    os.makedirs(outdir, exist_ok=True)
    z = Zone()
    qn = "db.other.svc.cluster.local"
    z.records = {
        qn: [("CNAME", "real.example.org")],
        "real.example.org": [("A", "192.0.2.1"), ("A", "192.0.2.2"), ("AAAA", "2001:db8::1")],
    }

    def q(qtype):
        return wire_name(qn) + struct.pack("!HH", qtype, 1)

    cases = {
        "a_cname": (1, build(0x1234, q(1), *z.answer(qn, 1), qn)),
        "aaaa_cname": (28, build(0x1234, q(28), *z.answer(qn, 28), qn)),
        "a_direct": (1, build(0x1234, q(1), 0, [(qn, "A", "10.0.0.1"), (qn, "A", "10.0.0.2")], qn)),
        "nxdomain": (1, build(0x1234, q(1), 3, [], qn)),
        "nodata": (28, build(0x1234, q(28), 0, [], qn)),
        "servfail": (1, build(0x1234, q(1), 2, [], qn)),
        "tc_cut": (1, build(0x1234, q(1), *z.answer(qn, 1), qn, tc=True, cut=True)),
        "badlen": (1, build(0x1234, q(1), 0, [(qn, "A", "10.0.0.1")], qn, badlen=True)),
        "upper": (1, build(0x1234, q(1)[:-4].upper() + q(1)[-4:], 0, [(qn, "A", "10.0.0.3")], qn)),
        "txt_mixed": (1, build(0x1234, q(1), 0, [(qn, "TXT", "hello"), (qn, "A", "10.0.0.4"),
                                                  (qn, "AAAA", "::1")], qn)),
    }
    for name, (qtype, pkt) in cases.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(b"\0" + (b"\0" if qtype == 1 else b"\1") + pkt)
    conf = {
        "conf_k8s": b"nameserver 10.96.0.10\nsearch ns1.svc.cluster.local svc.cluster.local cluster.local\n"
                    b"options ndots:5 timeout:2 attempts:3\n",
        "conf_mixed": b"# c\n;c\ndomain example.com\nnameserver ::1\nnameserver 127.0.0.53\nnameserver 1.1.1.1\n"
                      b"nameserver 8.8.8.8\noptions ndots:99 timeout:0 attempts:0 rotate\nsearch a. b..c . d\n",
    }
    for name, text in conf.items():
        with open(os.path.join(outdir, name), "wb") as f:
            f.write(b"\1" + text)
    hosts = b"127.0.0.1 localhost\n::1 localhost ip6-localhost\n# x\n10.1.1.1 Db.Other.SVC.cluster.local. db # c\n"
    with open(os.path.join(outdir, "hosts"), "wb") as f:
        f.write(b"\2" + hosts)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--listen", action="append", default=[])
    ap.add_argument("--zone")
    ap.add_argument("--log", default=os.devnull)
    ap.add_argument("--seeds")
    a = ap.parse_args()
    if a.seeds:
        seeds(a.seeds)
        return
    zone = Zone(a.zone)
    lock = threading.Lock()
    threads = []
    for spec in a.listen:
        host, _, port = spec.partition("@")
        fam = socket.AF_INET6 if ":" in host else socket.AF_INET
        s = socket.socket(fam, socket.SOCK_DGRAM)
        s.bind((host, int(port or 53)))
        d = socket.socket(fam, socket.SOCK_DGRAM)
        d.bind((host, 0))
        t = threading.Thread(target=serve, args=(s, zone, a.log, lock, d), daemon=True)
        t.start()
        threads.append(t)
    print("dnsd: serving", flush=True)
    for t in threads:
        t.join()


if __name__ == "__main__":
    main()
