#!/usr/bin/env python3
"""events.py - watch-event files for decode_bench, made from what the
stand-in API server (test/fakeapi.py --generate N) serves.

    python3 test/bench/events.py http://127.0.0.1:APIPORT OUTDIR

Lists each kind (paginated, as ingressd does) and writes OUTDIR/KIND.jsonl:
one watch event a line, {"type":"ADDED","object":{...}} with the object's
kind and apiVersion first, compact, as the API server writes watch events.
Prints "KIND COUNT AVG_BYTES" per kind.
"""
import json
import sys
import urllib.parse
import urllib.request

KINDS = [
    # name for decode_bench, list path, kind, apiVersion
    ("ingress", "/apis/networking.k8s.io/v1/ingresses", "Ingress", "networking.k8s.io/v1"),
    ("service", "/api/v1/services", "Service", "v1"),
    ("endpointslice", "/apis/discovery.k8s.io/v1/endpointslices", "EndpointSlice", "discovery.k8s.io/v1"),
    ("secret", "/api/v1/secrets", "Secret", "v1"),
]


def items(base, path):
    cont = ""
    while True:
        q = {"limit": "500"}
        if cont:
            q["continue"] = cont
        # a User-Agent that is not curl: compact JSON, as ingressd sees it
        req = urllib.request.Request(base + path + "?" + urllib.parse.urlencode(q),
                                     headers={"User-Agent": "ingressd-bench"})
        with urllib.request.urlopen(req, timeout=30) as r:
            doc = json.load(r)
        yield from doc.get("items", [])
        cont = (doc.get("metadata") or {}).get("continue") or ""
        if not cont:
            return


def main():
    if len(sys.argv) != 3:
        sys.exit(__doc__)
    base, out = sys.argv[1].rstrip("/"), sys.argv[2]
    for name, path, kind, av in KINDS:
        n = size = 0
        with open(f"{out}/{name}.jsonl", "w") as f:
            for it in items(base, path):
                obj = {"kind": kind, "apiVersion": av}
                obj.update(it)
                line = json.dumps({"type": "ADDED", "object": obj}, separators=(",", ":"))
                f.write(line + "\n")
                n += 1
                size += len(line) + 1
        print(f"{name} {n} {size // max(n, 1)}")


if __name__ == "__main__":
    main()
