#!/usr/bin/env python3
"""fakeapi.py - a stand-in Kubernetes API server for ingressd's tests.

It speaks the wire format of the real kube-apiserver 1.20 (see
test/kube-apiserver/README.md) closely enough that ingressd talks
to it exactly as to a real server, and adds scripted faults the real one
cannot produce. Python 3 standard library, and PyYAML through yaml2json.py.

COMMAND LINE
    python3 test/fakeapi.py --listen 127.0.0.1:PORT
        [--tls-cert FILE --tls-key FILE]   HTTPS (else plain HTTP, the
                                           `kubectl proxy` case)
        [--token-file FILE]                valid bearer tokens, one a line
                                           (or kube's token CSV "tok,user,..");
                                           re-read on every request; without
                                           it no auth at all (proxy case)
        [--viewer-token-file FILE]         tokens of a user with no rights (403)
        [--control 127.0.0.1:PORT2]        the control API (loopback only)
        [--load FILE.yaml|FILE.json ...]   manifests loaded at start (repeatable)
        [--generate N]                     N Ingresses, Services, EndpointSlices,
                                           Endpoints and N/10 TLS Secrets in
                                           namespace "bench" (benchmarks)
        [--generate-port P]                backend port of generated objects (8080)
        [--versions PRESET]                served API versions: 1.21 (default:
                                           everything), 1.20, 1.22, 1.25, old
        [--state-file FILE]                load at start if present; saved on
                                           exit and about once a second
        [--chunk-threshold BYTES]          see /settings chunk_threshold
        [--no-builtins]                    without the namespaces default,
                                           kube-system, kube-public,
                                           kube-node-lease and the Service
                                           default/kubernetes a fresh real
                                           apiserver has
        [-v]                               log every request to stderr
    Prints "fakeapi: listening on https://127.0.0.1:PORT" (or http://) on
    stdout once ready (PORT 0 picks a free port; the line shows it), and the
    control address on stderr. SIGTERM/SIGINT: exit 0.

API SERVED (cluster-wide and /namespaces/NS/ forms, GET/POST/PUT/PATCH/DELETE)
    /api/v1/{namespaces,services,endpoints,secrets}
    /apis/networking.k8s.io/{v1,v1beta1}/{ingresses,ingressclasses}
    /apis/extensions/v1beta1/ingresses
    /apis/discovery.k8s.io/{v1,v1beta1}/endpointslices
    .../NAME/status (PUT), discovery (/api, /apis, /apis/G, /apis/G/V),
    /version, /healthz, /readyz, /livez. Objects are stored once per kind and
    converted between versions when read. List: limit/continue,
    labelSelector, fieldSelector, resourceVersion. Watch: watch=1|true,
    resourceVersion, allowWatchBookmarks, timeoutSeconds.

CONTROL API (plain HTTP on --control, JSON bodies, no auth)
    GET  /               this text
    GET  /stats          counters: requests by "VERB:resource" and by path,
                         status codes, open watches, TCP connections, and the
                         last request of each kind (headers, query; tokens
                         shown as first 4 chars + sha256 prefix only)
    POST /stats/reset    zero the counters
    POST /fault          one fault (see FAULTS); {"kind":"reset"} clears all
    POST /versions       {"preset":"1.20"} or {"ingress":["networking.k8s.io/v1",
                         ...], "endpointslice":[...], "ingressclass":[...]}
    POST /settings       any of: bookmark_interval (s, 60), bookmark_idle
                         (false: bookmarks only after an event of that kind
                         newer than the watch's start, as the real server),
                         chunk_threshold (bytes, 2048: bodies larger than this
                         use Transfer-Encoding: chunked, as Go's net/http),
                         watch_coalesce (true: events are written through a
                         2 KB buffer flushed when no event is pending, as Go;
                         false: exactly one chunk per event), anonymous (true:
                         no Authorization = system:anonymous, 403; false: 401),
                         deny {"TOKEN": ["secrets", ...]} (that token gets 403
                         on exactly those resources, "*" = all, a
                         subresource as "ingresses/status", and nothing
                         else - also for a viewer token, which otherwise gets
                         403 on everything),
                         reject_loopback_endpoints (true), history_size (10000)
    GET  /settings, GET /versions
    POST /objects        a JSON or YAML object, list, or {"items":[...]}:
                         created or replaced without auth or validation;
                         missing namespaces are created. Answers what it did.
    DELETE /objects/RESOURCE/NS/NAME   (NS "-" for cluster-scoped) removes it
                         for good (a namespace with all its content).

FAULTS (POST /fault). Optional on each: "resource" (plural, e.g. "ingresses";
absent = any), "verb" (list, watch, get, create, ...), "count" (how many
times it fires, default 1; 0 = until reset).
    {"kind":"status","code":500,"count":3}   next requests get that HTTP status
                         and a Status body (429: plain text + Retry-After: 1,
                         as the real server's max-in-flight filter)
    {"kind":"drop_mid_line"}   next watch event: chunk header, half the event,
                         then the TCP connection is cut (no TLS close_notify)
    {"kind":"garbage_line"}    a chunk of non-JSON text before the next event
    {"kind":"bad_chunk"}       next watch event has an invalid chunk-size line,
                         then the connection is cut
    {"kind":"oversized_object","bytes":N}   now: an object of the resource
                         (default ingresses; or "namespace"/"name") gets an
                         annotation fakeapi.test/padding of N bytes (a real
                         write: MODIFIED event, and lists show it)
    {"kind":"stall"}     open watches of the resource stop sending forever
                         (no events, bookmarks or end); with none open, the
                         next watch opened stalls
    {"kind":"drip","bytes_per_sec":N}   next responses are sent slowly in
                         small pieces
    {"kind":"close_all_watches"}  end every open watch now (zero chunk;
                         "abrupt":true cuts the TCP connection instead)
    {"kind":"compact"}   every resourceVersion before now is too old: open
                         watches get a 410 ERROR event and end, watches from an
                         older RV get one, stale continue tokens get HTTP 410.
                         The RV ticks once (no event), as a live cluster's
                         would, so a fresh list's RV is watchable again
    {"kind":"reset"}     clear pending faults

FIDELITY NOTES (the real 1.20 behaviour this copies; see the README)
  - JSON as Go writes it: struct field order, sorted map keys, <, >, & as
    \\u003c \\u003e \\u0026, compact with a trailing newline; pretty-printed
    (no newline) when the User-Agent starts with curl, Wget or Mozilla/5.0
    or ?pretty=true, like the real server. Watch streams are never pretty.
  - List items carry no kind/apiVersion; metadata comes before items; items
    are in etcd key order ("ns/name"); limit is ignored with
    resourceVersion=0 (served from the watch cache); continue tokens are
    base64 {"v","rv","start"} like the real ones; resourceVersion together
    with continue is a 400.
  - Objects carry uid, creationTimestamp, generation (Ingress, EndpointSlice,
    IngressClass), managedFields and the real defaults (Service clusterIP,
    ports protocol/targetPort, Secret type, Ingress pathType, ...).
  - Watch: 200 + chunked right away; RV too old -> 200 + one ERROR 410 event;
    label-selector transitions give ADDED/DELETED like the watch cache;
    bookmarks only with allowWatchBookmarks, every bookmark_interval and 2 s
    before timeoutSeconds; no timeoutSeconds -> 30-60 min.
  - No Authorization -> system:anonymous -> 403 (bad token -> 401).
  - HTTP/1.1 keep-alive; an unread request body (a refused POST) is skipped
    like Go does, not parsed as the next request. TLS 1.2 (ECDHE GCM and
    ChaCha20 only) and 1.3; ALPN offers only http/1.1 (the real one also
    offers h2).
  - Unserved group-version -> plain "404 page not found"; unknown resource in
    a served group-version -> 404 Status. Creating in a missing namespace ->
    404; DELETE of a namespace leaves it Terminating (no controllers).
    DELETE answers the deleted object for Services (ReturnDeletedObject) and
    a Status "Success" with details for the other kinds.
"""

import argparse
import base64
import email.utils
import hashlib
import json
import os
import queue
import random
import re
import select
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import deque
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qsl, unquote, urlsplit

sys.dont_write_bytecode = True    # no __pycache__ in the source tree
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import yaml2json  # noqa: E402

VERBOSE = False


def log(msg):
    sys.stderr.write(f"fakeapi: {msg}\n")
    sys.stderr.flush()


def vlog(msg):
    if VERBOSE:
        log(msg)


def now_rfc3339():
    return time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())


# ---------------------------------------------------------------- resources
# plural -> (Kind, namespaced). Storage ("internal") form of every object is
# its newest version: Ingress networking.k8s.io/v1, EndpointSlice
# discovery.k8s.io/v1, IngressClass networking.k8s.io/v1, the rest core v1.
KINDS = {
    "namespaces": ("Namespace", False),
    "services": ("Service", True),
    "endpoints": ("Endpoints", True),
    "secrets": ("Secret", True),
    "ingresses": ("Ingress", True),
    "ingressclasses": ("IngressClass", False),
    "endpointslices": ("EndpointSlice", True),
}
KIND_TO_PLURAL = {k: p for p, (k, _) in KINDS.items()}

# group-version -> resources it can serve
GV_RESOURCES = {
    "v1": ["namespaces", "services", "endpoints", "secrets"],
    "networking.k8s.io/v1": ["ingresses", "ingressclasses"],
    "networking.k8s.io/v1beta1": ["ingresses", "ingressclasses"],
    "extensions/v1beta1": ["ingresses"],
    "discovery.k8s.io/v1": ["endpointslices"],
    "discovery.k8s.io/v1beta1": ["endpointslices"],
}
# versions knob name -> plural
VERSION_KNOBS = {"ingress": "ingresses", "endpointslice": "endpointslices", "ingressclass": "ingressclasses"}

PRESETS = {
    # gitVersion, {knob: [group-versions]}
    "old": ("v1.13.12", {"ingress": ["extensions/v1beta1"], "endpointslice": [], "ingressclass": []}),
    "1.20": ("v1.20.2", {
        "ingress": ["networking.k8s.io/v1", "networking.k8s.io/v1beta1", "extensions/v1beta1"],
        "endpointslice": ["discovery.k8s.io/v1beta1"],
        "ingressclass": ["networking.k8s.io/v1", "networking.k8s.io/v1beta1"]}),
    "1.21": ("v1.21.14", {
        "ingress": ["networking.k8s.io/v1", "networking.k8s.io/v1beta1", "extensions/v1beta1"],
        "endpointslice": ["discovery.k8s.io/v1", "discovery.k8s.io/v1beta1"],
        "ingressclass": ["networking.k8s.io/v1", "networking.k8s.io/v1beta1"]}),
    "1.22": ("v1.22.17", {
        "ingress": ["networking.k8s.io/v1"],
        "endpointslice": ["discovery.k8s.io/v1", "discovery.k8s.io/v1beta1"],
        "ingressclass": ["networking.k8s.io/v1"]}),
    "1.25": ("v1.25.16", {
        "ingress": ["networking.k8s.io/v1"],
        "endpointslice": ["discovery.k8s.io/v1"],
        "ingressclass": ["networking.k8s.io/v1"]}),
}
PRESETS["all"] = PRESETS["1.21"]
PRESETS["new"] = PRESETS["1.25"]
PRESETS["1.13"] = PRESETS["old"]


def split_gv(gv):
    return ("", gv) if "/" not in gv else tuple(gv.split("/", 1))


def qualified(plural, group):
    """ingresses.networking.k8s.io, secrets - as in the real error messages."""
    return f"{plural}.{group}" if group else plural


# ---------------------------------------------------------------- JSON as Go writes it
_GO_ESCAPE = re.compile("[<>&\u2028\u2029]")
_PY_BF = re.compile(r"(?<!\\)((?:\\\\)*)\\([bf])")


def go_json(value, pretty=False):
    """Serialize like Go's encoding/json (kube's compact form) or jsoniter's
    MarshalIndent (pretty): HTML characters escaped, \\b \\f as \\u00XX.
    Returns bytes; compact output ends with a newline, pretty does not."""
    if pretty:
        s = json.dumps(value, ensure_ascii=False, indent=2)
    else:
        s = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
    s = _GO_ESCAPE.sub(lambda m: "\\u%04x" % ord(m.group()), s)
    if "\\b" in s or "\\f" in s:
        s = _PY_BF.sub(lambda m: m.group(1) + ("\\u0008" if m.group(2) == "b" else "\\u000c"), s)
    b = s.encode("utf-8", "replace")
    return b if pretty else b + b"\n"


# ---------------------------------------------------------------- Go struct field order
# "field" plain, "field:Type" nested struct, "field:[Type]" list of structs,
# "field:map" a Go map (keys sorted on output). Unknown fields keep their
# place after the known ones.
_ORDER_SRC = {
    "ObjectMeta": "name generateName namespace selfLink uid resourceVersion generation creationTimestamp "
                  "deletionTimestamp deletionGracePeriodSeconds labels:map annotations:map ownerReferences "
                  "finalizers clusterName managedFields:[ManagedFieldsEntry]",
    "ManagedFieldsEntry": "manager operation apiVersion time fieldsType fieldsV1",
    "Ingress": "metadata:ObjectMeta spec:IngressSpec status",
    "IngressSpec": "ingressClassName defaultBackend:IngressBackend backend:IngressBackend tls:[IngressTLS] "
                   "rules:[IngressRule]",
    "IngressBackend": "service:IngressServiceBackend serviceName servicePort resource",
    "IngressServiceBackend": "name port:ServiceBackendPort",
    "ServiceBackendPort": "name number",
    "IngressTLS": "hosts secretName",
    "IngressRule": "host http:HTTPIngressRuleValue",
    "HTTPIngressRuleValue": "paths:[HTTPIngressPath]",
    "HTTPIngressPath": "path pathType backend:IngressBackend",
    "IngressClass": "metadata:ObjectMeta spec",
    "Service": "metadata:ObjectMeta spec:ServiceSpec status",
    "ServiceSpec": "ports:[ServicePort] selector:map clusterIP clusterIPs type externalIPs sessionAffinity "
                   "loadBalancerIP loadBalancerSourceRanges externalName externalTrafficPolicy "
                   "healthCheckNodePort publishNotReadyAddresses sessionAffinityConfig topologyKeys "
                   "ipFamilies ipFamilyPolicy allocateLoadBalancerNodePorts",
    "ServicePort": "name protocol appProtocol port targetPort nodePort",
    "Endpoints": "metadata:ObjectMeta subsets:[EndpointSubset]",
    "EndpointSubset": "addresses:[EndpointAddress] notReadyAddresses:[EndpointAddress] ports:[EndpointsPort]",
    "EndpointAddress": "ip hostname nodeName targetRef",
    "EndpointsPort": "name port protocol appProtocol",
    "EndpointSlice": "metadata:ObjectMeta addressType endpoints:[Endpoint] ports:[SlicePort]",
    "Endpoint": "addresses conditions:EndpointConditions hostname targetRef topology:map "
                "deprecatedTopology:map nodeName zone hints",
    "EndpointConditions": "ready serving terminating",
    "SlicePort": "name protocol port appProtocol",
    "Secret": "metadata:ObjectMeta immutable data:map stringData:map type",
    "Namespace": "metadata:ObjectMeta spec status",
}
ORDER = {}
for _t, _spec in _ORDER_SRC.items():
    ORDER[_t] = [tuple(f.split(":", 1)) if ":" in f else (f, None) for f in _spec.split()]


def reorder(value, typ):
    if typ is None:
        return value
    if typ == "map":
        return dict(sorted(value.items())) if isinstance(value, dict) else value
    if typ.startswith("["):
        return [reorder(v, typ[1:-1]) for v in value] if isinstance(value, list) else value
    if not isinstance(value, dict):
        return value
    out = {}
    for f, t in ORDER[typ]:
        if f in value:
            out[f] = reorder(value[f], t)
    for k, v in value.items():
        if k not in out:
            out[k] = v
    return out


def deep_copy(v):
    """Objects are plain JSON data: the C JSON codec copies them fastest."""
    return json.loads(json.dumps(v))


# ---------------------------------------------------------------- version conversion
def _backend_v1_to_beta(b):
    if not isinstance(b, dict):
        return b
    out = {}
    svc = b.get("service")
    if isinstance(svc, dict):
        out["serviceName"] = svc.get("name", "")
        port = svc.get("port") or {}
        if "number" in port:
            out["servicePort"] = port["number"]
        elif "name" in port:
            out["servicePort"] = port["name"]
        else:
            out["servicePort"] = 0
    if "resource" in b:
        out["resource"] = b["resource"]
    return out


def _backend_beta_to_v1(b):
    if not isinstance(b, dict):
        return b
    out = {}
    if "serviceName" in b or "servicePort" in b:
        sp = b.get("servicePort")
        port = {"number": sp} if isinstance(sp, int) and not isinstance(sp, bool) else {"name": str(sp)} \
            if sp not in (None, "") else {}
        out["service"] = {"name": b.get("serviceName", ""), "port": port}
    if "resource" in b:
        out["resource"] = b["resource"]
    return out


def _map_ingress_backends(spec, fn, src, dst):
    spec = dict(spec)
    if src in spec:
        spec[dst] = fn(spec.pop(src))
    rules = []
    for r in spec.get("rules") or []:
        if isinstance(r, dict) and isinstance(r.get("http"), dict):
            r = dict(r)
            http = dict(r["http"])
            http["paths"] = [dict(p, backend=fn(p["backend"])) if isinstance(p, dict) and "backend" in p else p
                             for p in http.get("paths") or []]
            r["http"] = http
        rules.append(r)
    if "rules" in spec:
        spec["rules"] = rules
    return spec


def _slice_v1_to_beta(obj):
    out = dict(obj)
    eps = []
    for e in obj.get("endpoints") or []:
        e = dict(e)
        topo = dict(e.pop("deprecatedTopology", None) or {})
        if "nodeName" in e:
            topo["kubernetes.io/hostname"] = e.pop("nodeName")
        if "zone" in e:
            topo["topology.kubernetes.io/zone"] = e.pop("zone")
        e.pop("hints", None)
        if topo:
            e["topology"] = topo
        eps.append(e)
    if "endpoints" in obj:
        out["endpoints"] = eps
    return out


def _slice_beta_to_v1(obj):
    out = dict(obj)
    eps = []
    for e in obj.get("endpoints") or []:
        e = dict(e)
        topo = dict(e.pop("topology", None) or {})
        if "kubernetes.io/hostname" in topo:
            e["nodeName"] = topo.pop("kubernetes.io/hostname")
        if "topology.kubernetes.io/zone" in topo:
            e["zone"] = topo.pop("topology.kubernetes.io/zone")
        if topo:
            e["deprecatedTopology"] = topo
        eps.append(e)
    if "endpoints" in obj:
        out["endpoints"] = eps
    return out


def convert_out(plural, gv, obj):
    """Internal (newest-version) object -> the body served at gv, in Go field
    order, without kind/apiVersion."""
    if plural == "ingresses" and gv != "networking.k8s.io/v1" and isinstance(obj.get("spec"), dict):
        obj = dict(obj, spec=_map_ingress_backends(obj["spec"], _backend_v1_to_beta, "defaultBackend", "backend"))
    elif plural == "endpointslices" and gv == "discovery.k8s.io/v1beta1":
        obj = _slice_v1_to_beta(obj)
    return reorder(obj, KINDS[plural][0])


def convert_in(plural, gv, obj):
    """A body in version gv -> internal form (a new dict)."""
    obj = deep_copy(obj)
    obj.pop("kind", None)
    obj.pop("apiVersion", None)
    if plural == "ingresses" and gv != "networking.k8s.io/v1" and isinstance(obj.get("spec"), dict):
        obj["spec"] = _map_ingress_backends(obj["spec"], _backend_beta_to_v1, "backend", "defaultBackend")
    elif plural == "endpointslices" and gv == "discovery.k8s.io/v1beta1":
        obj = _slice_beta_to_v1(obj)
    return obj


# ---------------------------------------------------------------- selectors
class SelectorError(ValueError):
    pass


_LABEL_KEY = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9.]*[A-Za-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?$")
_LABEL_VAL = re.compile(r"^([A-Za-z0-9]([-A-Za-z0-9_.]*[A-Za-z0-9])?)?$")


def _split_top(s):
    """Split on commas outside parentheses."""
    parts, depth, cur = [], 0, ""
    for c in s:
        if c == "(":
            depth += 1
        elif c == ")":
            depth -= 1
        if c == "," and depth == 0:
            parts.append(cur)
            cur = ""
        else:
            cur += c
    parts.append(cur)
    return parts


def parse_label_selector(s):
    """k8s label selector syntax -> list of (key, op, values). Raises
    SelectorError with messages modelled on the real parser's."""
    reqs = []
    if s is None or s.strip() == "":
        return reqs
    for part in _split_top(s):
        p = part.strip()
        if p == "":
            raise SelectorError("found '', expected: !, identifier, or 'end of string'")
        m = re.match(r"^(!?)\s*([^\s!=<>(),]+)\s*(.*)$", p)
        if not m:
            raise SelectorError(f"unable to parse requirement: found '{p}', expected: identifier")
        neg, key, rest = m.group(1), m.group(2), m.group(3).strip()
        if not _LABEL_KEY.match(key) or len(key.split("/")[-1]) > 63:
            raise SelectorError(f"unable to parse requirement: invalid label key \"{key}\": name part must "
                                f"consist of alphanumeric characters, '-', '_' or '.', and must start and end "
                                f"with an alphanumeric character")
        if neg:
            if rest:
                raise SelectorError(f"found '{rest.split()[0]}', expected: ',' or 'end of string'")
            reqs.append((key, "!", None))
            continue
        if rest == "":
            reqs.append((key, "exists", None))
            continue
        m2 = re.match(r"^(==|=|!=|>|<)\s*(.*)$", rest)
        if m2:
            op, val = m2.group(1), m2.group(2).strip()
            if op in ("=", "=="):
                op = "="
            if " " in val or not _LABEL_VAL.match(val) or len(val) > 63:
                if op in (">", "<") and re.match(r"^-?\d+$", val):
                    pass
                else:
                    raise SelectorError(f"unable to parse requirement: invalid label value: \"{val}\": a valid "
                                        f"label must be an empty string or consist of alphanumeric characters, "
                                        f"'-', '_' or '.', and must start and end with an alphanumeric character")
            if op in (">", "<"):
                if not re.match(r"^-?\d+$", val):
                    raise SelectorError(f"unable to parse requirement: for 'Gt', 'Lt' operators, the value "
                                        f"must be an integer")
                reqs.append((key, op, int(val)))
            else:
                reqs.append((key, op, val))
            continue
        m3 = re.match(r"^(in|notin)\s*\((.*)\)$", rest)
        if m3:
            vals = [v.strip() for v in m3.group(2).split(",")]
            if m3.group(1) == "in" and vals == [""]:
                raise SelectorError("for 'in', 'notin' operators, values set can't be empty")
            for v in vals:
                if not _LABEL_VAL.match(v):
                    raise SelectorError(f"unable to parse requirement: invalid label value: \"{v}\"")
            reqs.append((key, m3.group(1), set(vals)))
            continue
        tok = rest.split()[0]
        raise SelectorError(f"unable to parse requirement: found '{tok}', expected: in, notin, =, ==, !=, gt, lt")
    return reqs


def labels_match(reqs, labels):
    labels = labels or {}
    for key, op, val in reqs:
        has = key in labels
        v = labels.get(key)
        if op == "exists" and not has:
            return False
        if op == "!" and has:
            return False
        if op == "=" and (not has or v != val):
            return False
        if op == "!=" and has and v == val:
            return False
        if op == "in" and (not has or v not in val):
            return False
        if op == "notin" and has and v in val:
            return False
        if op in (">", "<"):
            try:
                n = int(v)
            except (TypeError, ValueError):
                return False
            if (op == ">" and not n > val) or (op == "<" and not n < val):
                return False
    return True


FIELD_LABELS = {
    "secrets": {"type": lambda o: o.get("type", "")},
    "namespaces": {"status.phase": lambda o: (o.get("status") or {}).get("phase", "")},
}


def parse_field_selector(s, plural):
    reqs = []
    if s is None or s.strip() == "":
        return reqs
    for part in s.split(","):
        p = part.strip()
        m = re.match(r"^([^=!]+?)\s*(==|=|!=)\s*(.*)$", p)
        if not m:
            raise SelectorError(f"invalid selector: '{s}'; can't understand '{p}'")
        field, op, val = m.group(1).strip(), m.group(2), m.group(3).strip()
        if field not in ("metadata.name", "metadata.namespace") and field not in FIELD_LABELS.get(plural, {}):
            raise SelectorError(f"field label not supported: {field}")
        reqs.append((field, "!=" if op == "!=" else "=", val))
    return reqs


def fields_match(reqs, plural, obj):
    md = obj.get("metadata") or {}
    for field, op, val in reqs:
        if field == "metadata.name":
            v = md.get("name", "")
        elif field == "metadata.namespace":
            v = md.get("namespace", "")
        else:
            v = FIELD_LABELS[plural][field](obj)
        if (op == "=") != (v == val):
            return False
    return True


# ---------------------------------------------------------------- the store
class Event:
    __slots__ = ("rv", "plural", "type", "obj", "prev")

    def __init__(self, rv, plural, etype, obj, prev):
        self.rv, self.plural, self.type, self.obj, self.prev = rv, plural, etype, obj, prev


def obj_key(obj):
    md = obj.get("metadata") or {}
    return (md.get("namespace", ""), md.get("name", ""))


def etcd_key(key):
    """The order etcd lists in: "ns/name" (cluster-scoped: "name")."""
    ns, name = key
    return f"{ns}/{name}" if ns else name


class Store:
    """Every object, the event history and the registered watchers, under one
    lock. Stored objects are never mutated: a write stores a new dict."""

    def __init__(self, history_size=10000):
        self.lock = threading.RLock()
        self.rv = 0
        self.objects = {p: {} for p in KINDS}
        self.history = deque()
        self.history_size = history_size
        self.window_rv = 0          # watches from an RV below this are "too old"
        self.kind_last_rv = {p: 0 for p in KINDS}
        self.watchers = set()
        self.cache = {}             # (plural, gv, key) -> (rv, compact item bytes)
        self.dirty = False
        self.ip_next = 10           # Service cluster IPs from 10.0.0.10

    # -- writes (caller holds no lock; these take it)
    def apply(self, plural, etype, obj, prev=None):
        """Store one change and tell the watchers. obj is the new object (for
        DELETED: the object being deleted); its resourceVersion is assigned
        here. Returns the stored object."""
        with self.lock:
            self.rv += 1
            md = dict(obj.get("metadata") or {})
            md["resourceVersion"] = str(self.rv)
            obj = dict(obj, metadata=reorder(md, "ObjectMeta"))
            key = obj_key(obj)
            table = self.objects[plural]
            if etype == "DELETED":
                table.pop(key, None)
                for gv in GV_RESOURCES:
                    self.cache.pop((plural, gv, key), None)
            else:
                table[key] = obj
            ev = Event(self.rv, plural, etype, obj, prev)
            self.history.append(ev)
            while len(self.history) > self.history_size:
                self.window_rv = max(self.window_rv, self.history.popleft().rv)
            self.kind_last_rv[plural] = self.rv
            self.dirty = True
            for w in list(self.watchers):
                if w.plural == plural:
                    w.push(ev)
            return obj

    def get(self, plural, key):
        with self.lock:
            return self.objects[plural].get(key)

    def state_at(self, plural, rv):
        """The objects of a kind as they were at resourceVersion rv (which must
        be >= window_rv): today's objects with newer events undone."""
        with self.lock:
            cur = dict(self.objects[plural])
            for ev in reversed(self.history):
                if ev.rv <= rv:
                    break
                if ev.plural != plural:
                    continue
                key = obj_key(ev.obj)
                if ev.type == "ADDED":
                    cur.pop(key, None)
                else:
                    cur[key] = ev.prev
            return cur

    def compact(self):
        """Everything before now becomes too old. The RV ticks once (no event;
        a real cluster's RV always moves) so that a fresh list's RV is still
        watchable while the RV a client held a moment ago is not."""
        with self.lock:
            self.rv += 1
            self.window_rv = self.rv
            for w in list(self.watchers):
                w.expire()
            return self.rv

    def alloc_ip(self):
        with self.lock:
            n = self.ip_next
            self.ip_next += 1
        return f"10.0.{(n >> 8) & 255}.{n & 255}"

    # -- state file
    def save(self, path):
        with self.lock:
            data = {"resourceVersion": self.rv, "ip_next": self.ip_next,
                    "objects": [{"resource": p, "object": o} for p in KINDS
                                for _, o in sorted(self.objects[p].items())]}
            self.dirty = False
        tmp = path + ".tmp"
        with open(tmp, "w") as f:
            json.dump(data, f)
        os.replace(tmp, path)

    def load_state(self, path):
        with open(path) as f:
            data = json.load(f)
        with self.lock:
            for item in data.get("objects", []):
                if item.get("resource") in self.objects:
                    o = item["object"]
                    self.objects[item["resource"]][obj_key(o)] = o
            self.rv = int(data.get("resourceVersion", 0))
            self.ip_next = int(data.get("ip_next", 10))
            # like an apiserver restart with a fresh watch cache: older RVs are too old
            self.window_rv = self.rv
            for p in KINDS:
                self.kind_last_rv[p] = 0


class Watcher:
    """One open watch. The store pushes events into its bounded queue; the
    connection's thread drains it."""

    def __init__(self, plural, gv, ns, lsel, fsel, start_rv, bookmarks):
        self.plural, self.gv, self.ns = plural, gv, ns
        self.lsel, self.fsel = lsel, fsel
        self.start_rv = start_rv
        self.bookmarks = bookmarks
        self.queue = queue.Queue(maxsize=100000)
        self.overflow = False
        self.expired = False
        self.closing = None       # None, "graceful" or "abrupt"
        self.stalled = False
        self.wake = threading.Event()

    def push(self, ev):
        try:
            self.queue.put_nowait(ev)
        except queue.Full:
            self.overflow = True   # the real cacher drops slow watchers too
        self.wake.set()

    def expire(self):
        self.expired = True
        self.wake.set()

    def close(self, abrupt=False):
        self.closing = "abrupt" if abrupt else "graceful"
        self.wake.set()

    def matches(self, obj):
        if obj is None:
            return False
        md = obj.get("metadata") or {}
        if self.ns and md.get("namespace") != self.ns:
            return False
        return labels_match(self.lsel, md.get("labels")) and fields_match(self.fsel, self.plural, obj)

    def translate(self, ev):
        """The (type, object) this watcher sees for an event, or None - with
        the watch cache's rules for objects entering and leaving the
        selection."""
        cur = self.matches(ev.obj)
        if ev.type == "ADDED":
            return ("ADDED", ev.obj) if cur else None
        if ev.type == "DELETED":
            return ("DELETED", ev.obj) if self.matches(ev.prev) or cur else None
        old = self.matches(ev.prev)
        if cur and old:
            return ("MODIFIED", ev.obj)
        if cur:
            return ("ADDED", ev.obj)
        if old:
            gone = dict(ev.prev, metadata=dict(ev.prev["metadata"], resourceVersion=str(ev.rv)))
            return ("DELETED", gone)
        return None


# ---------------------------------------------------------------- settings, faults, stats
DEFAULT_SETTINGS = {
    "bookmark_interval": 60.0,
    "bookmark_idle": False,
    "chunk_threshold": 2048,
    "watch_coalesce": True,
    "anonymous": True,
    "deny": {},
    "reject_loopback_endpoints": True,
    "history_size": 10000,
}
FAULT_KINDS = ("status", "drop_mid_line", "garbage_line", "oversized_object", "stall", "drip",
               "close_all_watches", "compact", "bad_chunk", "reset")


class Faults:
    def __init__(self):
        self.lock = threading.Lock()
        self.pending = []
        self.fired = {}

    def add(self, f):
        with self.lock:
            f = dict(f)
            f["count"] = int(f.get("count", 1))
            self.pending.append(f)

    def reset(self):
        with self.lock:
            self.pending = []

    def take(self, kind, resource, verb):
        """The first pending fault of this kind matching resource and verb,
        consumed once; None if there is none."""
        with self.lock:
            for f in self.pending:
                if f["kind"] != kind:
                    continue
                if f.get("resource") not in (None, "", "*", resource):
                    continue
                if f.get("verb") not in (None, "", "*", verb):
                    continue
                if f["count"] > 0:
                    f["count"] -= 1
                    if f["count"] == 0:
                        self.pending.remove(f)
                self.fired[kind] = self.fired.get(kind, 0) + 1
                log(f"fault {kind} fired on {verb} {resource}")
                return f
        return None


def mask_token(tok):
    return f"{tok[:4]}... sha256:{hashlib.sha256(tok.encode()).hexdigest()[:12]}"


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.reset()

    def reset(self):
        with self.lock:
            self.requests = {}
            self.by_path = {}
            self.codes = {}
            self.connections = 0
            self.tls_failures = 0
            self.last = {}

    def conn(self):
        with self.lock:
            self.connections += 1

    def request(self, key, method, path, query, headers, user):
        hdrs = {}
        for k, v in headers.items():
            if k.lower() == "authorization":
                parts = v.split(None, 1)
                v = f"{parts[0]} {mask_token(parts[1].strip())}" if len(parts) == 2 else "(malformed)"
            hdrs[k] = v
        rec = {"method": method, "path": path, "query": query, "query_params": dict(parse_qsl(query,
               keep_blank_values=True)), "headers": hdrs, "user": user, "time": now_rfc3339()}
        with self.lock:
            self.requests[key] = self.requests.get(key, 0) + 1
            pk = f"{method} {path}"
            self.by_path[pk] = self.by_path.get(pk, 0) + 1
            self.last[key] = rec
            self.last["*"] = rec

    def code(self, code):
        with self.lock:
            self.codes[str(code)] = self.codes.get(str(code), 0) + 1


class App:
    """Everything the handlers share."""

    def __init__(self, args):
        self.store = Store()
        self.settings = deep_copy(DEFAULT_SETTINGS)
        self.faults = Faults()
        self.stats = Stats()
        self.token_file = args.token_file
        self.viewer_token_file = args.viewer_token_file
        self.set_versions({"preset": args.versions})
        if args.chunk_threshold is not None:
            self.settings["chunk_threshold"] = args.chunk_threshold
        self.scheme = "https" if args.tls_cert else "http"
        self.listen = None
        self.stopping = threading.Event()
        self.flow_uid = "8c3fbc4d-0c52-4e7a-a7bc-1f34d9f0e3a1"
        self.level_uid = "0b0d1b5c-54b1-4b0f-9c3a-1a7a7f0f2e21"

    # -- versions
    def set_versions(self, body):
        if "preset" in body:
            if body["preset"] not in PRESETS:
                raise ValueError(f"unknown preset {body['preset']!r}; known: {', '.join(sorted(PRESETS))}")
            self.git_version, knobs = PRESETS[body["preset"]]
            knobs = deep_copy(knobs)
        else:
            knobs = deep_copy(self.version_knobs)
        for knob, gvs in body.items():
            if knob == "preset":
                continue
            if knob not in VERSION_KNOBS:
                raise ValueError(f"unknown versions key {knob!r}; known: {', '.join(VERSION_KNOBS)}")
            plural = VERSION_KNOBS[knob]
            for gv in gvs:
                if plural not in GV_RESOURCES.get(gv, []):
                    raise ValueError(f"{gv} does not serve {plural}")
            knobs[knob] = list(gvs)
        self.version_knobs = knobs
        enabled = {("v1", p) for p in GV_RESOURCES["v1"]}
        for knob, gvs in knobs.items():
            for gv in gvs:
                enabled.add((gv, VERSION_KNOBS[knob]))
        self.enabled = enabled
        self.served_gvs = {gv for gv, _ in enabled}

    # -- serialized objects: list items (no kind/apiVersion), cached per version
    def item_bytes(self, plural, gv, obj):
        key = (plural, gv, obj_key(obj))
        rv = obj["metadata"].get("resourceVersion")
        store = self.store
        c = store.cache.get(key)
        if c is not None and c[0] == rv:
            return c[1]
        b = go_json(convert_out(plural, gv, obj))[:-1]
        with store.lock:
            if store.objects[plural].get(obj_key(obj)) is obj:
                store.cache[key] = (rv, b)
        return b

    @staticmethod
    def with_type(plural, gv, item):
        """A list item (serialized without kind/apiVersion) as a full object."""
        head = b'{"kind":"%s","apiVersion":"%s"' % (KINDS[plural][0].encode(), gv.encode())
        return head + (b"," + item[1:] if item != b"{}" else b"}")

    def gv_served(self, gv):
        return gv in self.served_gvs

    def resource_served(self, gv, plural):
        return (gv, plural) in self.enabled

    # -- auth
    @staticmethod
    def read_tokens(path):
        """token -> user name, from a file of tokens or kube's token CSV."""
        out = {}
        if not path:
            return out
        try:
            with open(path) as f:
                for line in f:
                    line = line.strip()
                    if not line or line.startswith("#"):
                        continue
                    if "," in line:
                        fields = [x.strip().strip('"') for x in line.split(",")]
                        out[fields[0]] = fields[1] if len(fields) > 1 and fields[1] else None
                    else:
                        out[line] = None
        except OSError as e:
            log(f"cannot read token file {path}: {e.strerror}")
        return out

    def authenticate(self, header):
        """-> (user, token) ; user None means 401."""
        if self.token_file is None and self.viewer_token_file is None:
            return "admin", None
        if header is None:
            return ("system:anonymous", None) if self.settings["anonymous"] else (None, None)
        parts = header.split(None, 1)
        if len(parts) != 2 or parts[0].lower() != "bearer" or not parts[1].strip():
            return None, None
        tok = parts[1].strip()
        admins = self.read_tokens(self.token_file)
        if tok in admins:
            return admins[tok] or "admin", tok
        viewers = self.read_tokens(self.viewer_token_file)
        if tok in viewers:
            return viewers[tok] or "viewer", tok
        return None, None

    def allowed(self, user, token, plural, sub=""):
        deny = self.settings.get("deny") or {}
        if token is not None and token in deny:
            lst = deny[token] or []
            return not ("*" in lst or plural in lst or (sub and f"{plural}/{sub}" in lst))
        if user == "system:anonymous":
            return False
        if token is not None and token in self.read_tokens(self.viewer_token_file):
            return False
        return True


# ---------------------------------------------------------------- object defaults
def fields_v1(v, top=False):
    """A plausible managedFields fieldsV1 tree for an object (decorative, but
    with the real shape: f:, k:{...} and v: keys)."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if top and k in ("kind", "apiVersion", "status"):
                continue
            if top and k == "metadata":
                md = {}
                for mk in ("labels", "annotations"):
                    if isinstance(x.get(mk), dict) and x[mk]:
                        md["f:" + mk] = dict({".": {}}, **{"f:" + lk: {} for lk in sorted(x[mk])})
                if md:
                    out["f:metadata"] = md
                continue
            out["f:" + k] = fields_v1(x)
        return dict(sorted(out.items()))
    if isinstance(v, list):
        out = {}
        for item in v:
            if isinstance(item, dict):
                keyf = {k: item[k] for k in ("containerPort", "port", "protocol", "name", "ip")
                        if k in item and not isinstance(item[k], (dict, list))}
                if not keyf:
                    return {}
                sub = fields_v1(item)
                sub["."] = {}
                out["k:" + json.dumps(keyf, separators=(",", ":"), sort_keys=True)] = dict(sorted(sub.items()))
            elif not isinstance(item, list):
                out["v:" + json.dumps(item, separators=(",", ":"))] = {}
        return out
    return {}


def managed_fields(body, manager, gv, ts):
    return [{"manager": manager, "operation": "Update", "apiVersion": gv, "time": ts,
             "fieldsType": "FieldsV1", "fieldsV1": fields_v1(body, top=True)}]


def gen_name(prefix):
    alphabet = "bcdfghjklmnpqrstvwxz2456789"
    return prefix + "".join(random.choice(alphabet) for _ in range(5))


def apply_defaults(app, plural, obj):
    """Fill in the defaults the real registry and defaulting functions set.
    Changes obj in place (callers pass a fresh copy) and returns it."""
    if plural == "namespaces":
        obj.setdefault("spec", {}).setdefault("finalizers", ["kubernetes"])
        obj.setdefault("status", {}).setdefault("phase", "Active")
    elif plural == "services":
        spec = obj.setdefault("spec", {})
        spec.setdefault("type", "ClusterIP")
        for p in spec.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
                if "port" in p:
                    p.setdefault("targetPort", p["port"])
        if spec["type"] != "ExternalName":
            if not spec.get("clusterIP"):
                spec["clusterIP"] = app.store.alloc_ip()
            spec.setdefault("clusterIPs", [spec["clusterIP"]])
            if spec["clusterIP"] != "None":
                spec.setdefault("ipFamilies", ["IPv4"])
                spec.setdefault("ipFamilyPolicy", "SingleStack")
        spec.setdefault("sessionAffinity", "None")
        obj.setdefault("status", {"loadBalancer": {}})
    elif plural == "endpoints":
        for s in obj.get("subsets") or []:
            for p in (s or {}).get("ports") or []:
                if isinstance(p, dict):
                    p.setdefault("protocol", "TCP")
    elif plural == "endpointslices":
        for p in obj.get("ports") or []:
            if isinstance(p, dict):
                p.setdefault("protocol", "TCP")
    elif plural == "secrets":
        sd = obj.pop("stringData", None)
        if isinstance(sd, dict):
            data = obj.setdefault("data", {})
            for k, v in sd.items():
                data[k] = base64.b64encode(str(v).encode()).decode()
        obj.setdefault("type", "Opaque")
    elif plural == "ingresses":
        spec = obj.get("spec")
        if isinstance(spec, dict):
            for r in spec.get("rules") or []:
                for p in ((r or {}).get("http") or {}).get("paths") or []:
                    if isinstance(p, dict):
                        p.setdefault("pathType", "ImplementationSpecific")
        obj.setdefault("status", {"loadBalancer": {}})
    return obj


def validate(app, plural, gv, body, name):
    """A few of the real validation rules -> list of (field, reason, detail)."""
    errs = []
    if plural == "ingresses" and gv == "networking.k8s.io/v1":
        spec = body.get("spec") or {}
        for i, r in enumerate(spec.get("rules") or []):
            for j, p in enumerate(((r or {}).get("http") or {}).get("paths") or []):
                f = f"spec.rules[{i}].http.paths[{j}]"
                if not isinstance(p, dict):
                    continue
                if not p.get("pathType"):
                    errs.append((f + ".pathType", "FieldValueRequired", "Required value: pathType must be specified"))
                b = p.get("backend") or {}
                if not b.get("service") and not b.get("resource"):
                    errs.append((f + ".backend", "FieldValueInvalid",
                                 "Invalid value: \"\": one backend (service or resource) must be specified"))
    if plural == "endpoints" and app.settings.get("reject_loopback_endpoints"):
        for i, s in enumerate(body.get("subsets") or []):
            for fld in ("addresses", "notReadyAddresses"):
                for j, a in enumerate((s or {}).get(fld) or []):
                    ip = (a or {}).get("ip", "")
                    if ip.startswith("127."):
                        errs.append((f"subsets[{i}].{fld}[{j}].ip", "FieldValueInvalid",
                                     f"Invalid value: \"{ip}\": may not be in the loopback range (127.0.0.0/8)"))
    return errs


# ---------------------------------------------------------------- status bodies
REASONS = {400: "BadRequest", 401: "Unauthorized", 403: "Forbidden", 404: "NotFound", 405: "MethodNotAllowed",
           409: "Conflict", 410: "Expired", 413: "RequestEntityTooLarge", 415: "UnsupportedMediaType",
           422: "Invalid", 429: "TooManyRequests", 500: "InternalError", 503: "ServiceUnavailable",
           504: "Timeout"}


def status_obj(code, reason, message, details=None, metadata=None):
    st = {"kind": "Status", "apiVersion": "v1", "metadata": metadata or {}, "status": "Failure"}
    if message:
        st["message"] = message
    if reason:
        st["reason"] = reason
    if details is not None:
        st["details"] = details
    st["code"] = code
    return st


def details_for(plural, group, name=None):
    d = {}
    if name:
        d["name"] = name
    if group:
        d["group"] = group
    d["kind"] = plural
    return d


# ---------------------------------------------------------------- HTTP plumbing
class ClientGone(Exception):
    """The peer closed the connection (or a fault cut it)."""


class StreamWriter:
    """Go's net/http response body path for chunked responses: a 2048-byte
    bufio.Writer in front of the chunk writer. A write larger than the free
    buffer space fills and flushes the buffer, a write larger than an empty
    buffer goes out as one chunk of its own; flush() sends what is buffered
    as one chunk. With coalesce=False every write is exactly one chunk."""

    SIZE = 2048

    def __init__(self, send, chunked=True, coalesce=True):
        self.send = send
        self.chunked = chunked
        self.coalesce = coalesce
        self.buf = bytearray()

    def _chunk(self, data):
        if not data:
            return
        if self.chunked:
            self.send(b"%x\r\n" % len(data) + bytes(data) + b"\r\n")
        else:
            self.send(bytes(data))

    def write(self, p):
        if not self.coalesce:
            self._chunk(p)
            return
        while len(p) > self.SIZE - len(self.buf):
            if not self.buf:
                self._chunk(p)
                return
            n = self.SIZE - len(self.buf)
            self.buf += p[:n]
            p = p[n:]
            self.flush()
        self.buf += p

    def flush(self):
        if self.buf:
            self._chunk(self.buf)
            self.buf = bytearray()

    def end(self):
        self.flush()
        if self.chunked:
            self.send(b"0\r\n\r\n")


def is_pretty(query, ua):
    """The real server's rule (negotiation.isPrettyPrint)."""
    if "pretty" in query and query["pretty"] != "":
        return query["pretty"].lower() in ("1", "t", "true")
    ua = ua or ""
    return ua.startswith("curl") or ua.startswith("Wget") or ua.startswith("Mozilla/5.0")


class Route:
    """A parsed API path (k8s RequestInfo)."""

    def __init__(self):
        self.gv = None
        self.group = ""
        self.plural = None
        self.ns = ""
        self.name = ""
        self.sub = ""
        self.discovery = None     # "api", "apis", "group", "gv"
        self.watch_path = False


def parse_path(path):
    """-> Route, or None for paths outside /api and /apis."""
    parts = [unquote(p) for p in path.strip("/").split("/")] if path.strip("/") else []
    r = Route()
    if not parts:
        return None
    if parts[0] == "api":
        if len(parts) == 1:
            r.discovery = "api"
            return r
        r.gv = parts[1]
        rest = parts[2:]
    elif parts[0] == "apis":
        if len(parts) == 1:
            r.discovery = "apis"
            return r
        if len(parts) == 2:
            r.discovery = "group"
            r.group = parts[1]
            return r
        r.group = parts[1]
        r.gv = f"{parts[1]}/{parts[2]}"
        rest = parts[3:]
    else:
        return None
    if not rest:
        r.discovery = "gv"
        return r
    if rest[0] == "watch":
        r.watch_path = True
        rest = rest[1:]
        if not rest:
            r.plural = ""
            return r
    if rest[0] == "namespaces" and len(rest) >= 3 and not (len(rest) == 3 and r.gv == "v1"
                                                           and rest[2] in ("status", "finalize")):
        r.ns = rest[1]
        rest = rest[2:]
    r.plural = rest[0]
    if len(rest) > 1:
        r.name = rest[1]
    if len(rest) > 2:
        r.sub = "/".join(rest[2:])
    return r


def encode_continue(rv, last_key):
    raw = json.dumps({"v": "meta.k8s.io/v1", "rv": rv, "start": etcd_key(last_key) + "\x00"},
                     separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def decode_continue(tok):
    try:
        raw = base64.urlsafe_b64decode(tok + "=" * (-len(tok) % 4))
        data = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as e:
        raise ValueError(f"continue key is not valid: {e}")
    if not isinstance(data, dict) or data.get("v") != "meta.k8s.io/v1":
        raise ValueError("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    rv = data.get("rv")
    if not isinstance(rv, int) or rv == 0 or rv < -1:
        raise ValueError("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
    start = data.get("start")
    if not isinstance(start, str) or not start:
        raise ValueError("continue key is not valid: encoded start key empty")
    return rv, start


CONTINUE_EXPIRED = ("The provided continue parameter is too old to display a consistent list result. "
                    "You can start a new list without the continue parameter, or use the continue token in "
                    "this response to retrieve the remainder of the results. Continuing with the provided "
                    "token results in an inconsistent list - objects that were created, modified, or deleted "
                    "between the time the first chunk was returned and now may show up in the list.")

BOOKMARK_BODIES = {
    "Ingress": {"spec": {}, "status": {"loadBalancer": {}}},
    "Service": {"spec": {}, "status": {"loadBalancer": {}}},
    "Namespace": {"spec": {}, "status": {}},
    "EndpointSlice": {"addressType": "", "endpoints": None, "ports": None},
    "IngressClass": {"spec": {}},
}

GENERATION_KINDS = ("ingresses", "endpointslices", "ingressclasses")
MAX_BODY = 3 * 1024 * 1024
PARSE_BOOL = {"1": True, "t": True, "T": True, "TRUE": True, "true": True, "True": True,
              "0": False, "f": False, "F": False, "FALSE": False, "false": False, "False": False}


class Reply(Exception):
    """Raised by request helpers to answer with a Status (or plain text)."""

    def __init__(self, code, reason=None, message=None, details=None, metadata=None, text=None, headers=()):
        super().__init__(message or text)
        self.code, self.reason, self.message = code, reason, message
        self.details, self.metadata, self.text, self.headers = details, metadata, text, headers


def not_found_text():
    return Reply(404, text="404 page not found\n")


# ---------------------------------------------------------------- object life cycle (shared by API, control, --load)
def finish_object(app, plural, gv, obj, existing, body, manager, keep_status=True):
    """Defaults and server-set metadata for an object about to be stored."""
    if existing is not None and plural == "services":
        spec, old = obj.setdefault("spec", {}), existing.get("spec") or {}
        for k in ("clusterIP", "clusterIPs", "ipFamilies", "ipFamilyPolicy"):
            if k in old and not spec.get(k):
                spec[k] = old[k]
    obj = apply_defaults(app, plural, obj)
    md = dict(obj.get("metadata") or {})
    for k in ("resourceVersion", "selfLink", "managedFields", "uid", "creationTimestamp",
              "deletionTimestamp", "deletionGracePeriodSeconds", "generation"):
        md.pop(k, None)
    ts = now_rfc3339()
    if existing is not None:
        emd = existing["metadata"]
        md["uid"] = emd.get("uid") or str(uuid.uuid4())
        md["creationTimestamp"] = emd.get("creationTimestamp") or ts
        for k in ("deletionTimestamp", "deletionGracePeriodSeconds"):
            if k in emd:
                md[k] = emd[k]
        if keep_status and "status" in existing:
            obj["status"] = existing["status"]
        if plural in GENERATION_KINDS:
            gen = emd.get("generation", 1)
            strip = lambda o: {k: v for k, v in o.items() if k not in ("metadata", "status")}  # noqa: E731
            md["generation"] = gen + 1 if strip(obj) != strip(existing) else gen
    else:
        md["uid"] = str(uuid.uuid4())
        md["creationTimestamp"] = ts
        if plural in GENERATION_KINDS:
            md["generation"] = 1
    md["managedFields"] = managed_fields(body, manager, gv, ts)
    obj["metadata"] = reorder(md, "ObjectMeta")
    return obj


def same_but_managed_fields(a, b):
    def strip(o):
        return dict(o, metadata={k: v for k, v in o["metadata"].items() if k not in ("managedFields",
                                                                                     "resourceVersion")})
    return strip(a) == strip(b)


def upsert(app, plural, gv, body, manager="fakeapi"):
    """Create or replace without auth or validation (control API, --load).
    Missing namespaces are created. Returns (stored object, created?)."""
    obj = convert_in(plural, gv, body)
    md = obj.setdefault("metadata", {})
    if KINDS[plural][1]:
        md["namespace"] = md.get("namespace") or "default"
        ensure_namespace(app, md["namespace"])
    else:
        md.pop("namespace", None)
    if not md.get("name"):
        if md.get("generateName"):
            md["name"] = gen_name(md["generateName"])
        else:
            raise ValueError(f"{KINDS[plural][0]} without metadata.name")
    store = app.store
    with store.lock:
        existing = store.get(plural, obj_key(obj))
        obj = finish_object(app, plural, gv, obj, existing, body, manager, keep_status=False)
        return store.apply(plural, "MODIFIED" if existing else "ADDED", obj, prev=existing), existing is None


def ensure_namespace(app, ns):
    with app.store.lock:
        if app.store.get("namespaces", ("", ns)) is None:
            body = {"metadata": {"name": ns}}
            obj = finish_object(app, "namespaces", "v1", deep_copy(body), None, body, "fakeapi")
            app.store.apply("namespaces", "ADDED", obj)


def remove_for_good(app, plural, ns, name):
    """Delete without the API's rules; a namespace takes its content along."""
    store = app.store
    removed = 0
    with store.lock:
        if plural == "namespaces":
            for p, (_, namespaced) in KINDS.items():
                if namespaced:
                    for key, o in sorted(store.objects[p].items()):
                        if key[0] == name:
                            store.apply(p, "DELETED", o, prev=o)
                            removed += 1
            ns = ""
        o = store.get(plural, (ns, name))
        if o is not None:
            store.apply(plural, "DELETED", o, prev=o)
            removed += 1
    return removed


def body_kind_plural(body):
    """(plural, apiVersion) for a manifest, or (None, reason)."""
    kind, av = body.get("kind"), body.get("apiVersion")
    plural = KIND_TO_PLURAL.get(kind)
    if plural is None:
        return None, f"kind {kind!r} is not served by fakeapi"
    if plural not in GV_RESOURCES.get(av, []):
        return None, f"{kind} is not served in apiVersion {av!r}"
    return plural, av


def expand_docs(docs):
    out = []
    for d in docs:
        if isinstance(d, list):
            out.extend(expand_docs(d))
        elif isinstance(d, dict) and isinstance(d.get("items"), list) and (
                d.get("kind", "List").endswith("List") or "kind" not in d):
            out.extend(expand_docs(d["items"]))
        elif d is not None:
            out.append(d)
    return out


def parse_manifest_text(text, name=""):
    s = text.lstrip()
    if name.endswith(".json") or s.startswith("{") or s.startswith("["):
        try:
            return expand_docs([json.loads(text)])
        except ValueError:
            if name.endswith(".json"):
                raise
    return expand_docs(yaml2json.load_all(text))


# ---------------------------------------------------------------- the API handler
class ApiHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    timeout = 90            # idle keep-alive connections and blocked writes

    def setup(self):
        super().setup()
        self.app = self.server.app
        self.app.stats.conn()
        self.cut = False

    def log_message(self, fmt, *args):
        vlog("%s %s" % (self.client_address[0], fmt % args))

    def handle_one_request(self):
        try:
            super().handle_one_request()
        except (ClientGone, OSError, ssl.SSLError):
            self.close_connection = True

    def do_GET(self):
        self.dispatch("GET")

    def do_HEAD(self):
        self.dispatch("HEAD")

    def do_POST(self):
        self.dispatch("POST")

    def do_PUT(self):
        self.dispatch("PUT")

    def do_PATCH(self):
        self.dispatch("PATCH")

    def do_DELETE(self):
        self.dispatch("DELETE")

    # -- output
    def send_raw(self, data):
        if self.cut:
            raise ClientGone()
        self.sent = True
        try:
            if self.drip:
                piece = max(1, self.drip // 20)
                for i in range(0, len(data), piece):
                    part = data[i:i + piece]
                    self.connection.sendall(part)
                    time.sleep(len(part) / self.drip)
            else:
                self.connection.sendall(data)
        except (OSError, ssl.SSLError) as e:
            raise ClientGone() from e

    def head_block(self, code, headers, length=None, chunked=False):
        try:
            from http import HTTPStatus
            phrase = HTTPStatus(code).phrase
        except ValueError:
            phrase = "Status"
        proto = "HTTP/1.0" if self.request_version == "HTTP/1.0" else "HTTP/1.1"
        lines = [f"{proto} {code} {phrase}"]
        lines += [f"{k}: {v}" for k, v in sorted(headers)]
        lines.append("Date: " + email.utils.formatdate(usegmt=True))
        if length is not None:
            lines.append(f"Content-Length: {length}")
        if self.close_connection:
            lines.append("Connection: close")
        if chunked:
            lines.append("Transfer-Encoding: chunked")
        return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1")

    def base_headers(self, ctype):
        h = [("Cache-Control", "no-cache, private"), ("Content-Type", ctype)]
        if self.apf:
            h += [("X-Kubernetes-Pf-Flowschema-Uid", self.app.flow_uid),
                  ("X-Kubernetes-Pf-Prioritylevel-Uid", self.app.level_uid)]
        return h

    def respond(self, code, body, ctype="application/json", extra=()):
        """One whole response; bodies over chunk_threshold go out chunked (as
        one data chunk, like Go's net/http after a single large Write)."""
        if self.request_version == "HTTP/1.0":
            self.close_connection = True
        headers = self.base_headers(ctype) + list(extra)
        chunked = len(body) > self.app.settings["chunk_threshold"] and self.request_version != "HTTP/1.0"
        if self.command == "HEAD":
            out = self.head_block(code, headers, length=len(body))
        elif chunked:
            out = self.head_block(code, headers, chunked=True) + b"%x\r\n" % len(body) + body + b"\r\n0\r\n\r\n"
        else:
            out = self.head_block(code, headers, length=len(body)) + body
        self.code = code
        self.app.stats.code(code)
        self.send_raw(out)

    def respond_json(self, code, value):
        self.respond(code, go_json(value, self.pretty))

    def respond_reply(self, r):
        if r.text is not None:
            self.respond(r.code, r.text.encode(), "text/plain; charset=utf-8",
                         [("X-Content-Type-Options", "nosniff")] + list(r.headers))
        else:
            self.respond(r.code, go_json(status_obj(r.code, r.reason, r.message, r.details, r.metadata),
                                         self.pretty), extra=r.headers)

    def cut_connection(self):
        """Close TCP at once, without a TLS close_notify (a dying server)."""
        self.cut = True
        self.close_connection = True
        try:
            self.connection.shutdown(socket.SHUT_RDWR)
        except (OSError, ValueError):
            pass

    def peer_closed(self):
        sock = self.connection
        try:
            r, _, _ = select.select([sock], [], [], 0)
        except (OSError, ValueError):
            return True
        if not r:
            return False
        try:
            if isinstance(sock, ssl.SSLSocket):
                sock.settimeout(0.0)
                try:
                    data = sock.recv(1)
                finally:
                    sock.settimeout(self.timeout)
            else:
                data = sock.recv(1, socket.MSG_PEEK)
            return data == b""
        except (ssl.SSLWantReadError, ssl.SSLWantWriteError, BlockingIOError, InterruptedError):
            return False
        except (OSError, ssl.SSLError):
            return True

    # -- input
    def discard_body(self):
        """A body the handler never read must not be taken for the next
        request: like Go, read and drop up to 256 KB, else close."""
        if self.body_read or self.close_connection:
            return
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            self.close_connection = True
            return
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            n = -1
        if n < 0 or n > 256 * 1024:
            self.close_connection = True
        elif n:
            try:
                self.rfile.read(n)
            except (OSError, ssl.SSLError):
                self.close_connection = True

    def read_body(self):
        self.body_read = True
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            data = b""
            while True:
                line = self.rfile.readline(1024)
                try:
                    size = int(line.split(b";")[0].strip(), 16)
                except ValueError:
                    raise Reply(400, "BadRequest", "malformed chunked request body")
                if size == 0:
                    while self.rfile.readline(1024) not in (b"\r\n", b"\n", b""):
                        pass
                    break
                data += self.rfile.read(size)
                self.rfile.readline(8)
                if len(data) > MAX_BODY:
                    self.close_connection = True
                    raise Reply(413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY}")
            return data
        try:
            n = int(self.headers.get("Content-Length") or 0)
        except ValueError:
            raise Reply(400, "BadRequest", "bad Content-Length")
        if n > MAX_BODY:
            self.close_connection = True
            raise Reply(413, "RequestEntityTooLarge", f"Request entity too large: limit is {MAX_BODY}")
        return self.rfile.read(n) if n else b""

    def read_object(self, patch=False):
        raw = self.read_body()
        ctype = self.headers.get("Content-Type", "").split(";")[0].strip().lower()
        try:
            if patch:
                if ctype not in ("application/merge-patch+json", "application/strategic-merge-patch+json"):
                    raise Reply(415, "UnsupportedMediaType",
                                f"the body of the request was in an unknown format - accepted media types include: "
                                f"application/json-patch+json, application/merge-patch+json, "
                                f"application/apply-patch+yaml (fakeapi: only merge patches)")
                value = json.loads(raw or b"null")
            elif ctype in ("", "application/json"):
                value = json.loads(raw or b"null")
            elif ctype in ("application/yaml", "application/x-yaml", "text/yaml"):
                value = yaml2json.load(raw.decode("utf-8"))
            else:
                raise Reply(415, "UnsupportedMediaType",
                            "the body of the request was in an unknown format - accepted media types include: "
                            "application/json, application/yaml, application/vnd.kubernetes.protobuf")
        except (ValueError, UnicodeDecodeError) as e:
            raise Reply(400, "BadRequest", f"couldn't get version/kind; json parse error: {e}")
        if not isinstance(value, dict):
            raise Reply(400, "BadRequest", "couldn't get version/kind; json parse error: not an object")
        return value

    # -- dispatch
    def dispatch(self, method):
        self.apf = False
        self.drip = 0
        self.code = 0
        self.sent = False
        self.body_read = False
        t0 = time.monotonic()
        url = urlsplit(self.path)
        q = {}
        for k, v in parse_qsl(url.query, keep_blank_values=True):
            q.setdefault(k, v)
        self.pretty = is_pretty(q, self.headers.get("User-Agent"))
        try:
            self.route_request(method, url.path, url.query, q)
        except Reply as r:
            if self.sent:
                raise ClientGone()
            self.respond_reply(r)
        except ClientGone:
            self.close_connection = True
        except Exception:   # a bug here: say so, answer 500 if still possible, keep serving
            import traceback
            log(f"internal error on {method} {self.path}:\n{traceback.format_exc()}")
            if self.sent:
                self.cut_connection()
            else:
                self.close_connection = True
                self.respond_reply(Reply(500, "InternalError", "Internal error occurred: fakeapi bug (see its log)"))
        self.discard_body()
        vlog(f"{method} {self.path} -> {self.code} ({(time.monotonic() - t0) * 1000:.0f} ms)")

    def verb_of(self, method, route, q):
        w = q.get("watch")
        if w is not None and w != "" and w not in PARSE_BOOL:
            raise Reply(400, "BadRequest", f'strconv.ParseBool: parsing "{w}": invalid syntax')
        watch = route.watch_path or PARSE_BOOL.get(w, False)
        if method in ("GET", "HEAD"):
            return "watch" if watch else ("get" if route.name else "list")
        return {"POST": "create", "PUT": "update", "PATCH": "patch",
                "DELETE": "delete" if route.name else "deletecollection"}[method]

    def route_request(self, method, path, rawq, q):
        app = self.app
        if path in ("/healthz", "/readyz", "/livez", "/version"):
            app.stats.request("get:" + path, method, path, rawq, self.headers, None)
            self.apf = True
            if path == "/version":
                gv = app.git_version
                major, minor = gv[1:].split(".")[:2]
                self.respond_json(200, {"major": major, "minor": minor, "gitVersion": gv,
                                        "gitCommit": "fakeapi", "gitTreeState": "clean",
                                        "buildDate": "2021-01-13T13:20:00Z", "goVersion": "go1.15.5",
                                        "compiler": "gc", "platform": "linux/amd64"})
            else:
                raise Reply(200, text="ok")
            return
        route = parse_path(path)
        user, token = app.authenticate(self.headers.get("Authorization"))
        if route is None or route.discovery:
            key = "discovery" if route else "get:" + path
            verb = "get"
        else:
            verb = self.verb_of(method, route, q)
            key = f"{verb}:{route.plural}" + (f"/{route.sub}" if route.sub else "")
        app.stats.request(key, method, path, rawq, self.headers, user)
        if user is None:
            raise Reply(401, "Unauthorized", "Unauthorized")
        self.apf = True
        if route is None or route.discovery:
            if user == "system:anonymous":
                raise Reply(403, "Forbidden", f'forbidden: User "system:anonymous" cannot get path "{path}"', {})
            f = app.faults.take("status", None, "get")
            if f:
                raise self.fault_reply(f)
            if route is None:
                raise not_found_text()
            return self.discovery(route)
        group = split_gv(route.gv)[0]
        res = route.plural + (f"/{route.sub}" if route.sub else "")
        if not app.allowed(user, token, route.plural, route.sub):
            subject = qualified(route.plural, group) + (f' "{route.name}"' if route.name else "")
            scope = f'in the namespace "{route.ns}"' if route.ns else "at the cluster scope"
            raise Reply(403, "Forbidden", f'{subject} is forbidden: User "{user}" cannot {verb} resource '
                        f'"{res}" in API group "{group}" {scope}', details_for(route.plural, group, route.name))
        f = app.faults.take("status", route.plural, verb)
        if f:
            raise self.fault_reply(f)
        f = app.faults.take("drip", route.plural, verb)
        if f:
            self.drip = max(1, int(f.get("bytes_per_sec", 100)))
        if not app.gv_served(route.gv):
            raise not_found_text()
        if route.plural not in KINDS or not app.resource_served(route.gv, route.plural) \
                or (route.ns and not KINDS[route.plural][1]) or route.sub not in ("", "status") \
                or (route.name and KINDS[route.plural][1] and not route.ns):
            raise Reply(404, "NotFound", "the server could not find the requested resource", {})
        if method == "POST" and KINDS[route.plural][1] and not route.ns:
            raise Reply(405, "MethodNotAllowed", "the server does not allow this method on the requested resource",
                        {})
        if method in ("GET", "HEAD"):
            if verb == "watch":
                return self.serve_watch(route, q)
            if route.name:
                return self.serve_get(route)
            return self.serve_list(route, q)
        if method == "POST" and not route.name:
            return self.serve_create(route, q)
        if method == "PUT" and route.name:
            return self.serve_update(route, q, self.read_object())
        if method == "PATCH" and route.name:
            return self.serve_patch(route, q)
        if method == "DELETE" and route.name:
            return self.serve_delete(route)
        raise Reply(405, "MethodNotAllowed", "the server does not allow this method on the requested resource", {})

    def fault_reply(self, f):
        code = int(f.get("code", 500))
        msg = f.get("message")
        if code == 429:
            return Reply(429, text="Too many requests, please try again later.\n", headers=[("Retry-After", "1")])
        if code == 500:
            m = msg or "fakeapi: injected fault"
            return Reply(500, "InternalError", f"Internal error occurred: {m}", {"causes": [{"message": m}]})
        if code == 410:
            return Reply(410, "Expired", msg or "The resourceVersion for the provided list is too old.")
        return Reply(code, REASONS.get(code, ""), msg or f"fakeapi: injected {code}", {})

    # -- discovery
    def discovery(self, route):
        app = self.app
        pref = ["v1", "v1beta1"]

        def group_entry(g):
            gvs = sorted((gv for gv in app.served_gvs if split_gv(gv)[0] == g),
                         key=lambda gv: pref.index(split_gv(gv)[1]))
            vers = [{"groupVersion": gv, "version": split_gv(gv)[1]} for gv in gvs]
            return {"name": g, "versions": vers, "preferredVersion": vers[0]} if vers else None

        if route.discovery == "api":
            return self.respond_json(200, {"kind": "APIVersions", "versions": ["v1"], "serverAddressByClientCIDRs": [
                {"clientCIDR": "0.0.0.0/0", "serverAddress": app.listen}]})
        if route.discovery == "apis":
            groups = [g for g in (group_entry(x) for x in ("extensions", "networking.k8s.io", "discovery.k8s.io")) if g]
            return self.respond_json(200, {"kind": "APIGroupList", "apiVersion": "v1", "groups": groups})
        if route.discovery == "group":
            g = group_entry(route.group)
            if not g:
                raise not_found_text()
            return self.respond_json(200, dict({"kind": "APIGroup", "apiVersion": "v1"}, **g))
        if not app.gv_served(route.gv):
            raise not_found_text()
        resources = []
        for plural in sorted(GV_RESOURCES[route.gv]):
            if not app.resource_served(route.gv, plural):
                continue
            kind, namespaced = KINDS[plural]
            verbs = ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
            if plural == "namespaces":
                verbs.remove("deletecollection")
            short = {"ingresses": ["ing"], "services": ["svc"], "endpoints": ["ep"], "namespaces": ["ns"]}
            h = base64.b64encode(hashlib.sha256(f"{route.gv}/{kind}".encode()).digest()[:8]).decode()
            r = {"name": plural, "singularName": "", "namespaced": namespaced, "kind": kind, "verbs": verbs}
            if plural in short:
                r["shortNames"] = short[plural]
            r["storageVersionHash"] = h
            resources.append(r)
            if plural in ("ingresses", "services", "namespaces"):
                resources.append({"name": plural + "/status", "singularName": "", "namespaced": namespaced,
                                  "kind": kind, "verbs": ["get", "patch", "update"]})
        return self.respond_json(200, {"kind": "APIResourceList", "apiVersion": "v1", "groupVersion": route.gv,
                                       "resources": resources})

    # -- reads
    def full_object_bytes(self, plural, gv, obj):
        item = self.app.item_bytes(plural, gv, obj)
        if self.pretty:
            return go_json(json.loads(self.app.with_type(plural, gv, item)), True)
        return self.app.with_type(plural, gv, item) + b"\n"

    def lookup(self, route):
        key = (route.ns if KINDS[route.plural][1] else "", route.name)
        obj = self.app.store.get(route.plural, key)
        if obj is None:
            group = split_gv(route.gv)[0]
            raise Reply(404, "NotFound", f'{qualified(route.plural, group)} "{route.name}" not found',
                        details_for(route.plural, group, route.name))
        return obj

    def serve_get(self, route):
        obj = self.lookup(route)
        self.respond(200, self.full_object_bytes(route.plural, route.gv, obj))

    def selectors(self, route, q):
        try:
            return (parse_label_selector(q.get("labelSelector")),
                    parse_field_selector(q.get("fieldSelector"), route.plural))
        except SelectorError as e:
            raise Reply(400, "BadRequest", str(e))

    def serve_list(self, route, q):
        app, store, plural = self.app, self.app.store, route.plural
        lsel, fsel = self.selectors(route, q)
        try:
            limit = int(q.get("limit") or 0)
        except ValueError:
            raise Reply(400, "BadRequest", f'invalid limit "{q.get("limit")}"')
        cont = q.get("continue") or ""
        rvp = q.get("resourceVersion")
        start = ""
        with store.lock:
            if cont:
                if rvp:
                    raise Reply(400, "BadRequest", "specifying resource version is not allowed when using continue")
                try:
                    tok_rv, start = decode_continue(cont)
                except ValueError as e:
                    raise Reply(400, "BadRequest", str(e))
                if tok_rv == -1:
                    objs, list_rv = dict(store.objects[plural]), store.rv
                elif tok_rv < store.window_rv:
                    newtok = base64.urlsafe_b64encode(json.dumps(
                        {"v": "meta.k8s.io/v1", "rv": -1, "start": start}, separators=(",", ":")).encode()
                    ).decode().rstrip("=")
                    raise Reply(410, "Expired", CONTINUE_EXPIRED, metadata={"continue": newtok})
                else:
                    objs, list_rv = store.state_at(plural, tok_rv), tok_rv
            elif rvp not in (None, "", "0"):
                try:
                    n = int(rvp)
                except ValueError:
                    raise Reply(400, "BadRequest", f'resourceVersion: Invalid value: "{rvp}": must be an integer')
                if limit > 0:       # served from etcd at exactly that revision
                    if n < store.window_rv:
                        raise Reply(410, "Expired", "The resourceVersion for the provided list is too old.")
                    if n > store.rv:
                        raise Reply(504, "Timeout", f"Too large resource version: {n}, current: {store.rv}",
                                    {"causes": [{"reason": "ResourceVersionTooLarge",
                                                 "message": "Too large resource version"}], "retryAfterSeconds": 1})
                    objs, list_rv = store.state_at(plural, n), n
                else:               # watch cache: at least that fresh
                    if n > store.rv:
                        raise Reply(504, "Timeout", f"Too large resource version: {n}, current: {store.rv}",
                                    {"causes": [{"reason": "ResourceVersionTooLarge",
                                                 "message": "Too large resource version"}], "retryAfterSeconds": 1})
                    objs, list_rv = dict(store.objects[plural]), store.rv
            else:
                objs, list_rv = dict(store.objects[plural]), store.rv
                if rvp == "0":
                    limit = 0       # the watch cache ignores limit
        items = []
        for key in sorted(objs, key=etcd_key):
            if start and etcd_key(key) < start:
                continue
            o = objs[key]
            if route.ns and key[0] != route.ns:
                continue
            if labels_match(lsel, o["metadata"].get("labels")) and fields_match(fsel, plural, o):
                items.append(o)
        meta = {"resourceVersion": str(list_rv)}
        if limit > 0 and len(items) > limit:
            rest = len(items) - limit
            items = items[:limit]
            meta["continue"] = encode_continue(list_rv, obj_key(items[-1]))
            if not lsel and not fsel:
                meta["remainingItemCount"] = rest
        kind = KINDS[plural][0] + "List"
        if self.pretty:
            body = {"kind": kind, "apiVersion": route.gv, "metadata": meta,
                    "items": [convert_out(plural, route.gv, o) for o in items]}
            return self.respond(200, go_json(body, True))
        head = b'{"kind":"%s","apiVersion":"%s","metadata":' % (kind.encode(), route.gv.encode())
        parts = [head, go_json(meta)[:-1], b',"items":[',
                 b",".join(app.item_bytes(plural, route.gv, o) for o in items), b"]}\n"]
        self.respond(200, b"".join(parts))

    # -- watch
    def serve_watch(self, route, q):
        app, store, plural, gv = self.app, self.app.store, route.plural, route.gv
        lsel, fsel = self.selectors(route, q)
        if route.name:
            fsel = fsel + [("metadata.name", "=", route.name)]
        try:
            timeout = int(q.get("timeoutSeconds") or 0)
        except ValueError:
            raise Reply(400, "BadRequest", f'invalid timeoutSeconds "{q.get("timeoutSeconds")}"')
        has_timeout = timeout > 0
        if not has_timeout:
            timeout = random.randint(1800, 3600)   # the real server's --min-request-timeout spread
        bookmarks = PARSE_BOOL.get(q.get("allowWatchBookmarks", ""), False)
        rvp = q.get("resourceVersion")
        w = Watcher(plural, gv, route.ns, lsel, fsel, 0, bookmarks)
        too_old = None
        with store.lock:
            if rvp not in (None, "", "0"):
                try:
                    n = int(rvp)
                except ValueError:
                    raise Reply(400, "BadRequest", f'resourceVersion: Invalid value: "{rvp}": must be an integer')
                if n < store.window_rv:
                    too_old = f"too old resource version: {n} ({store.window_rv})"
                else:
                    for ev in store.history:
                        if ev.rv > n and ev.plural == plural:
                            w.push(ev)
                w.start_rv = n
            else:
                for key in sorted(store.objects[plural], key=etcd_key):
                    o = store.objects[plural][key]
                    w.push(Event(int(o["metadata"]["resourceVersion"]), plural, "ADDED", o, None))
                w.start_rv = store.rv
            if too_old is None:
                store.watchers.add(w)
        if too_old is None and app.faults.take("stall", plural, "watch"):
            w.stalled = True
        try:
            self.watch_stream(w, too_old, timeout, has_timeout)
        finally:
            with store.lock:
                store.watchers.discard(w)

    def watch_stream(self, w, too_old, timeout, has_timeout):
        app, store, plural, gv = self.app, self.app.store, w.plural, w.gv
        http10 = self.request_version == "HTTP/1.0"
        if http10:
            self.close_connection = True
        self.code = 200
        app.stats.code(200)
        self.apf = False    # long-running requests skip priority-and-fairness
        self.send_raw(self.head_block(200, self.base_headers("application/json"), chunked=not http10))
        out = StreamWriter(self.send_raw, chunked=not http10, coalesce=app.settings["watch_coalesce"])
        if too_old:
            out.write(go_json({"type": "ERROR", "object": status_obj(410, "Expired", too_old)}))
            out.end()
            return
        t0 = time.monotonic()
        deadline = t0 + timeout

        def next_bookmark(now):
            hb = now + float(app.settings["bookmark_interval"])
            if has_timeout and deadline - 2 < hb:
                hb = deadline - 2
            return hb if hb >= now else None

        next_bm = next_bookmark(t0)
        while True:
            if app.stopping.is_set() or w.closing == "graceful" or w.overflow:
                break
            if w.closing == "abrupt":
                out.flush()
                return self.cut_connection()
            if w.expired:
                out.write(go_json({"type": "ERROR", "object": status_obj(
                    410, "Expired", "The resourceVersion for the provided watch is too old.")}))
                break
            if w.stalled:
                out.flush()
                return self.stall(w)
            now = time.monotonic()
            if now >= deadline:
                break
            if w.bookmarks and next_bm is not None and now >= next_bm:
                with store.lock:
                    ready = w.queue.empty()   # never bookmark past an undelivered event
                    last = store.kind_last_rv[plural]
                if ready:
                    if last > w.start_rv or app.settings["bookmark_idle"]:
                        out.write(self.bookmark_frame(plural, gv, max(last, w.start_rv)))
                        out.flush()
                    next_bm = next_bookmark(now)
            try:
                ev = w.queue.get_nowait()
            except queue.Empty:
                out.flush()
                wait = min(0.25, deadline - now, (next_bm - now) if next_bm is not None else 0.25)
                w.wake.wait(max(0.0, wait))
                w.wake.clear()
                if self.peer_closed():
                    raise ClientGone()
                continue
            t = w.translate(ev)
            if t is None:
                continue
            frame = self.event_frame(t[0], plural, gv, t[1])
            if app.faults.take("drop_mid_line", plural, "watch"):
                out.flush()
                self.send_raw(b"%x\r\n" % len(frame) + frame[:len(frame) // 2])
                return self.cut_connection()
            if app.faults.take("bad_chunk", plural, "watch"):
                out.flush()
                self.send_raw(b"zz-not-hex\r\n" + frame + b"\r\n")
                return self.cut_connection()
            if app.faults.take("garbage_line", plural, "watch"):
                out.flush()
                out.write(b"fakeapi: garbage, not JSON {{{ ]]\n")
                out.flush()
            out.write(frame)
            if w.queue.empty():
                out.flush()
        out.end()

    def stall(self, w):
        """Send nothing, ever; keep the connection until the peer goes."""
        while not self.app.stopping.is_set():
            while True:
                try:
                    w.queue.get_nowait()
                except queue.Empty:
                    break
            if self.peer_closed():
                break
            w.wake.wait(0.5)
            w.wake.clear()
        self.close_connection = True
        self.cut = True

    def event_frame(self, etype, plural, gv, obj):
        item = self.app.item_bytes(plural, gv, obj)
        return b'{"type":"%s","object":' % etype.encode() + self.app.with_type(plural, gv, item) + b"}\n"

    def bookmark_frame(self, plural, gv, rv):
        kind = KINDS[plural][0]
        obj = {"kind": kind, "apiVersion": gv, "metadata": {"resourceVersion": str(rv), "creationTimestamp": None}}
        obj.update(BOOKMARK_BODIES.get(kind, {}))
        return go_json({"type": "BOOKMARK", "object": obj})

    # -- writes
    def check_body(self, route, body):
        group = split_gv(route.gv)[0]
        av = body.get("apiVersion")
        if av is not None and av != route.gv:
            raise Reply(400, "BadRequest", f"the API version in the data ({av}) does not match the expected "
                        f"API version ({route.gv})")
        kind = body.get("kind")
        if kind is not None and kind != KINDS[route.plural][0]:
            raise Reply(400, "BadRequest", f"the kind in the data ({kind}) does not match the expected kind "
                        f"({KINDS[route.plural][0]})")
        md = body.get("metadata")
        if md is None:
            md = body["metadata"] = {}
        if not isinstance(md, dict):
            raise Reply(400, "BadRequest", "metadata must be an object")
        if KINDS[route.plural][1]:
            if md.get("namespace") and md["namespace"] != route.ns:
                raise Reply(400, "BadRequest", "the namespace of the provided object does not match the "
                            "namespace sent on the request")
            md["namespace"] = route.ns
        else:
            md.pop("namespace", None)
        return group

    def manager(self, q):
        if q.get("fieldManager"):
            return q["fieldManager"]
        ua = self.headers.get("User-Agent") or "unknown"
        return ua.split("/")[0] or "unknown"

    def invalid(self, route, name, errs):
        group = split_gv(route.gv)[0]
        kind = KINDS[route.plural][0]
        qual = f"{kind}.{group}" if group else kind
        msg = f'{qual} "{name}" is invalid: ' + ", ".join(f"{f}: {d}" for f, _, d in errs)
        causes = [{"reason": r, "message": d, "field": f} for f, r, d in errs]
        d = details_for(route.plural, group, name)
        d["kind"] = kind
        d["causes"] = causes
        return Reply(422, "Invalid", msg, d)

    def namespace_ok(self, route, name):
        if not KINDS[route.plural][1]:
            return
        group = split_gv(route.gv)[0]
        ns = self.app.store.get("namespaces", ("", route.ns))
        if ns is None:
            raise Reply(404, "NotFound", f'namespaces "{route.ns}" not found', {"name": route.ns, "kind": "namespaces"})
        if (ns.get("status") or {}).get("phase") == "Terminating":
            d = details_for(route.plural, group, name)
            d["causes"] = [{"reason": "NamespaceTerminating", "message": f"namespace {route.ns} is being terminated",
                            "field": "metadata.namespace"}]
            raise Reply(403, "Forbidden", f'{qualified(route.plural, group)} "{name}" is forbidden: unable to create '
                        f'new content in namespace {route.ns} because it is being terminated', d)

    def serve_create(self, route, q):
        app, store = self.app, self.app.store
        body = self.read_object()
        group = self.check_body(route, body)
        md = body["metadata"]
        if not md.get("name"):
            if md.get("generateName"):
                md["name"] = gen_name(md["generateName"])
            else:
                kind = KINDS[route.plural][0]
                qual = f"{kind}.{group}" if group else kind
                raise Reply(422, "Invalid", f'{qual} "" is invalid: metadata.name: Required value: name or '
                            f'generateName is required', {"kind": kind, "group": group, "causes": [
                                {"reason": "FieldValueRequired", "field": "metadata.name",
                                 "message": "Required value: name or generateName is required"}]})
        name = md["name"]
        errs = validate(app, route.plural, route.gv, body, name)
        if errs:
            raise self.invalid(route, name, errs)
        obj = convert_in(route.plural, route.gv, body)
        with store.lock:
            self.namespace_ok(route, name)
            key = obj_key(obj)
            if store.get(route.plural, key) is not None:
                raise Reply(409, "AlreadyExists", f'{qualified(route.plural, group)} "{name}" already exists',
                            details_for(route.plural, group, name))
            obj = finish_object(app, route.plural, route.gv, obj, None, body, self.manager(q))
            obj = store.apply(route.plural, "ADDED", obj)
        self.respond(201, self.full_object_bytes(route.plural, route.gv, obj))

    def serve_update(self, route, q, body):
        app, store = self.app, self.app.store
        group = self.check_body(route, body)
        md = body["metadata"]
        if md.get("name") and md["name"] != route.name:
            raise Reply(400, "BadRequest", f'the name of the object ({md["name"]}) does not match the name on '
                        f'the URL ({route.name})')
        md["name"] = route.name
        if route.sub != "status":
            errs = validate(app, route.plural, route.gv, body, route.name)
            if errs:
                raise self.invalid(route, route.name, errs)
        new = convert_in(route.plural, route.gv, body)
        with store.lock:
            existing = self.lookup(route)
            want = md.get("resourceVersion")
            if want and want != existing["metadata"]["resourceVersion"]:
                raise Reply(409, "Conflict", f'Operation cannot be fulfilled on {qualified(route.plural, group)} '
                            f'"{route.name}": the object has been modified; please apply your changes to the '
                            f'latest version and try again', details_for(route.plural, group, route.name))
            if route.sub == "status":
                obj = dict(existing, status=new.get("status", {}))
                obj["metadata"] = dict(existing["metadata"])
            else:
                obj = finish_object(app, route.plural, route.gv, new, existing, body, self.manager(q))
            if same_but_managed_fields(obj, existing):
                stored = existing     # a no-op update does not bump resourceVersion
            else:
                stored = store.apply(route.plural, "MODIFIED", obj, prev=existing)
        self.respond(200, self.full_object_bytes(route.plural, route.gv, stored))

    def serve_patch(self, route, q):
        patch = self.read_object(patch=True)
        cur = json.loads(self.full_object_bytes(route.plural, route.gv, self.lookup(route)))

        def merge(target, p):
            if not isinstance(p, dict):
                return p
            target = dict(target) if isinstance(target, dict) else {}
            for k, v in p.items():
                if v is None:
                    target.pop(k, None)
                else:
                    target[k] = merge(target.get(k), v)
            return target

        body = merge(cur, patch)
        if "resourceVersion" not in (patch.get("metadata") or {}):
            body.get("metadata", {}).pop("resourceVersion", None)
        self.serve_update(route, q, body)

    def serve_delete(self, route):
        store = self.app.store
        group = split_gv(route.gv)[0]
        with store.lock:
            existing = self.lookup(route)
            if route.plural == "namespaces":
                if (existing.get("status") or {}).get("phase") != "Terminating":
                    md = dict(existing["metadata"], deletionTimestamp=now_rfc3339())
                    existing = store.apply(route.plural, "MODIFIED", dict(existing, metadata=md,
                                                            status={"phase": "Terminating"}), prev=existing)
                return self.respond(200, self.full_object_bytes(route.plural, route.gv, existing))
            gone = store.apply(route.plural, "DELETED", existing, prev=existing)
        if route.plural == "services":
            return self.respond(200, self.full_object_bytes(route.plural, route.gv, gone))
        d = details_for(route.plural, group, route.name)
        d["uid"] = existing["metadata"].get("uid", "")
        st = {"kind": "Status", "apiVersion": "v1", "metadata": {}, "status": "Success", "details": d}
        self.respond_json(200, st)


class ApiServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True
    request_queue_size = 128

    def __init__(self, addr, app, ssl_ctx):
        self.app = app
        self.ssl_ctx = ssl_ctx
        if ":" in addr[0]:
            self.address_family = socket.AF_INET6
        super().__init__(addr, ApiHandler)

    def finish_request(self, request, client_address):
        conn = request
        if self.ssl_ctx is not None:
            request.settimeout(10)
            try:
                conn = self.ssl_ctx.wrap_socket(request, server_side=True)
            except (ssl.SSLError, OSError) as e:
                with self.app.stats.lock:
                    self.app.stats.tls_failures += 1
                vlog(f"TLS handshake with {client_address[0]}:{client_address[1]} failed: {e}")
                return
        try:
            self.RequestHandlerClass(conn, client_address, self)
        finally:
            if conn is not request:
                try:
                    conn.settimeout(0.2)
                    conn.unwrap()       # close_notify, as Go's tls.Conn.Close
                except (ssl.SSLError, OSError, ValueError):
                    pass
                conn.close()

    def handle_error(self, request, client_address):
        exc = sys.exc_info()[1]
        if isinstance(exc, (OSError, ssl.SSLError, ClientGone)):
            vlog(f"connection from {client_address[0]}: {exc!r}")
            return
        import traceback
        log(f"internal error serving {client_address[0]}:\n{traceback.format_exc()}")


# ---------------------------------------------------------------- control API
class ControlHandler(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"

    def log_message(self, fmt, *args):
        vlog("control: " + fmt % args)

    def reply(self, code, value):
        body = (json.dumps(value, indent=2) + "\n").encode() if not isinstance(value, bytes) else value
        ctype = "application/json" if not isinstance(value, bytes) else "text/plain; charset=utf-8"
        self.send_response(code)
        self.send_header("Content-Type", ctype)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def body(self):
        n = int(self.headers.get("Content-Length") or 0)
        raw = self.rfile.read(n) if n else b""
        ctype = self.headers.get("Content-Type", "")
        if "yaml" in ctype:
            return expand_docs(yaml2json.load_all(raw.decode()))
        return json.loads(raw or b"{}")

    def do_GET(self):
        app = self.server.app
        path = urlsplit(self.path).path
        if path == "/":
            doc = __doc__
            return self.reply(200, doc[doc.index("CONTROL API"):doc.index("FIDELITY NOTES")].encode())
        if path == "/stats":
            return self.reply(200, stats_snapshot(app))
        if path == "/settings":
            return self.reply(200, app.settings)
        if path == "/versions":
            return self.reply(200, dict(app.version_knobs, gitVersion=app.git_version))
        self.reply(404, {"error": f"no such control path {path}"})

    def do_POST(self):
        app = self.server.app
        path = urlsplit(self.path).path
        try:
            body = self.body()
            if path == "/fault":
                return self.reply(200, do_fault(app, body))
            if path == "/versions":
                app.set_versions(body)
                return self.reply(200, dict(app.version_knobs, gitVersion=app.git_version))
            if path == "/settings":
                for k, v in body.items():
                    if k not in DEFAULT_SETTINGS:
                        raise ValueError(f"unknown setting {k!r}; known: {', '.join(DEFAULT_SETTINGS)}")
                    app.settings[k] = v
                    if k == "history_size":
                        app.store.history_size = int(v)
                return self.reply(200, app.settings)
            if path == "/stats/reset":
                app.stats.reset()
                return self.reply(200, {"ok": True})
            if path == "/objects":
                done = []
                for doc in expand_docs([body]):
                    plural, av = body_kind_plural(doc)
                    if plural is None:
                        raise ValueError(av)
                    obj, created = upsert(app, plural, av, doc, "fakeapi-control")
                    md = obj["metadata"]
                    done.append({"resource": plural, "namespace": md.get("namespace", ""), "name": md["name"],
                                 "resourceVersion": md["resourceVersion"],
                                 "action": "created" if created else "replaced"})
                return self.reply(200, {"objects": done})
        except (ValueError, KeyError, TypeError, yaml2json.YAMLError) as e:
            return self.reply(400, {"error": str(e)})
        self.reply(404, {"error": f"no such control path {path}"})

    def do_DELETE(self):
        app = self.server.app
        parts = urlsplit(self.path).path.strip("/").split("/")
        if len(parts) == 4 and parts[0] == "objects":
            plural = parts[1].lower()
            plural = KIND_TO_PLURAL.get(parts[1], plural)
            if plural not in KINDS:
                for p, (k, _) in KINDS.items():
                    if k.lower() == plural:
                        plural = p
            if plural not in KINDS:
                return self.reply(400, {"error": f"unknown resource {parts[1]}"})
            ns = "" if parts[2] in ("-", "_") or not KINDS[plural][1] else parts[2]
            n = remove_for_good(app, plural, ns, parts[3])
            return self.reply(200 if n else 404, {"removed": n})
        self.reply(404, {"error": "use DELETE /objects/RESOURCE/NS/NAME"})


def stats_snapshot(app):
    st, store = app.stats, app.store
    with store.lock:
        watchers = list(store.watchers)
        counts = {p: len(t) for p, t in store.objects.items()}
        rv, win = store.rv, store.window_rv
    by_res = {}
    for w in watchers:
        by_res[w.plural] = by_res.get(w.plural, 0) + 1
    with st.lock:
        snap = {"requests": dict(st.requests), "by_path": dict(st.by_path), "codes": dict(st.codes),
                "connections": st.connections, "tls_handshake_failures": st.tls_failures,
                "last": deep_copy(st.last)}
    with app.faults.lock:
        snap["faults_pending"] = deep_copy(app.faults.pending)
        snap["faults_fired"] = dict(app.faults.fired)
    snap.update({"open_watches": len(watchers), "open_watches_by_resource": by_res,
                 "resource_version": rv, "oldest_watchable_resource_version": win, "objects": counts})
    return snap


def do_fault(app, f):
    kind = f.get("kind")
    if kind not in FAULT_KINDS:
        raise ValueError(f"unknown fault kind {kind!r}; known: {', '.join(FAULT_KINDS)}")
    store = app.store
    if kind == "reset":
        app.faults.reset()
        return {"ok": True}
    if kind == "compact":
        return {"ok": True, "compacted_at": store.compact()}
    if kind == "close_all_watches":
        with store.lock:
            ws = [w for w in store.watchers if f.get("resource") in (None, "", "*", w.plural)]
        for w in ws:
            w.close(bool(f.get("abrupt")))
        return {"ok": True, "closed": len(ws)}
    if kind == "stall":
        with store.lock:
            ws = [w for w in store.watchers if f.get("resource") in (None, "", "*", w.plural) and not w.stalled]
        for w in ws:
            w.stalled = True
            w.wake.set()
        if not ws:
            app.faults.add(dict(f, count=1))
        return {"ok": True, "stalled": len(ws), "armed_for_next_watch": not ws}
    if kind == "oversized_object":
        plural = f.get("resource") or "ingresses"
        if plural not in KINDS:
            raise ValueError(f"unknown resource {plural!r}")
        n = int(f.get("bytes", 1 << 20))
        with store.lock:
            if f.get("name"):
                key = (f.get("namespace", "default") if KINDS[plural][1] else "", f["name"])
                cur = store.get(plural, key)
                if cur is None:
                    raise ValueError(f"no {plural} {key}")
            else:
                keys = sorted(store.objects[plural], key=etcd_key)
                if not keys:
                    raise ValueError(f"no {plural} to make oversized")
                cur = store.objects[plural][keys[0]]
            md = dict(cur["metadata"])
            md["annotations"] = dict(md.get("annotations") or {}, **{"fakeapi.test/padding": "x" * n})
            obj = store.apply(plural, "MODIFIED", dict(cur, metadata=md), prev=cur)
        md = obj["metadata"]
        return {"ok": True, "namespace": md.get("namespace", ""), "name": md["name"],
                "resourceVersion": md["resourceVersion"]}
    if kind == "status" and "code" not in f:
        raise ValueError("a status fault needs a code")
    if kind == "drip" and int(f.get("bytes_per_sec", 0)) <= 0:
        raise ValueError("a drip fault needs bytes_per_sec > 0")
    app.faults.add(f)
    return {"ok": True, "pending": len(app.faults.pending)}


class ControlServer(ThreadingHTTPServer):
    daemon_threads = True
    allow_reuse_address = True

    def __init__(self, addr, app):
        self.app = app
        super().__init__(addr, ControlHandler)


# ---------------------------------------------------------------- start-up objects
def builtins(app, port):
    """What a fresh 1.20 apiserver has: four namespaces and default/kubernetes."""
    for ns in ("default", "kube-node-lease", "kube-public", "kube-system"):
        ensure_namespace(app, ns)
    upsert(app, "services", "v1", {
        "apiVersion": "v1", "kind": "Service",
        "metadata": {"name": "kubernetes", "namespace": "default",
                     "labels": {"component": "apiserver", "provider": "kubernetes"}},
        "spec": {"ports": [{"name": "https", "protocol": "TCP", "port": 443, "targetPort": port}],
                 "clusterIP": "10.0.0.1"}}, "kube-apiserver")


def load_file(app, path):
    with open(path, encoding="utf-8") as f:
        docs = parse_manifest_text(f.read(), path)
    n = 0
    for doc in docs:
        if not isinstance(doc, dict):
            log(f"{path}: skipping a document that is not an object")
            continue
        plural, av = body_kind_plural(doc)
        if plural is None:
            name = (doc.get("metadata") or {}).get("name", "?")
            log(f"{path}: ignoring {doc.get('kind')} {name}: {av}")
            continue
        upsert(app, plural, av, doc, "kubectl-create")
        n += 1
    return n


def bench_tls_pair():
    """A real self-signed certificate and key (PEM) for generated Secrets."""
    d = tempfile.mkdtemp(prefix="fakeapi-")
    try:
        subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "3650",
                        "-subj", "/CN=*.bench.example.com", "-addext", "subjectAltName=DNS:*.bench.example.com",
                        "-keyout", f"{d}/k.pem", "-out", f"{d}/c.pem"], check=True, capture_output=True, timeout=60)
        return open(f"{d}/c.pem", "rb").read(), open(f"{d}/k.pem", "rb").read()
    except (OSError, subprocess.SubprocessError):
        log("openssl failed: generated TLS Secrets hold dummy PEM data")
        blob = base64.encodebytes(os.urandom(900))
        return (b"-----BEGIN CERTIFICATE-----\n" + blob + b"-----END CERTIFICATE-----\n",
                b"-----BEGIN PRIVATE KEY-----\n" + blob + b"-----END PRIVATE KEY-----\n")
    finally:
        for f in ("k.pem", "c.pem"):
            try:
                os.unlink(f"{d}/{f}")
            except OSError:
                pass
        os.rmdir(d)


def generate(app, n, port):
    """N apps in namespace bench, shaped like what kubectl apply and the
    controllers leave in a real cluster (last-applied annotations, owner
    references, managedFields)."""
    rnd = random.Random(42)
    ensure_namespace(app, "bench")
    crt, key = bench_tls_pair()
    for j in range((n + 9) // 10):
        upsert(app, "secrets", "v1", {
            "apiVersion": "v1", "kind": "Secret", "type": "kubernetes.io/tls",
            "metadata": {"name": f"tls-{j:05d}", "namespace": "bench", "labels": {"bench": "true"}},
            "data": {"tls.crt": base64.b64encode(crt).decode(), "tls.key": base64.b64encode(key).decode()}},
            "kubectl-create")
    for i in range(n):
        app_name = f"app-{i:05d}"
        labels = {"app": app_name, "tier": ("front", "back", "batch")[i % 3], "bench": "true"}
        ing = {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
               "metadata": {"name": app_name, "namespace": "bench", "labels": labels,
                            "annotations": {"kubernetes.io/ingress.class": "traefik",
                                            "traefik.frontend.rule.type": "PathPrefix"}},
               "spec": {"rules": [{"host": f"{app_name}.bench.example.com", "http": {"paths": [
                   {"path": "/", "pathType": "Prefix",
                    "backend": {"service": {"name": app_name, "port": {"number": 80}}}},
                   {"path": "/api", "pathType": "Prefix",
                    "backend": {"service": {"name": app_name, "port": {"name": "http"}}}}]}}]}}
        if i % 10 == 0:
            ing["spec"]["tls"] = [{"hosts": [f"{app_name}.bench.example.com"], "secretName": f"tls-{i // 10:05d}"}]
        ing["metadata"]["annotations"]["kubectl.kubernetes.io/last-applied-configuration"] = \
            json.dumps(ing, separators=(",", ":"), sort_keys=True) + "\n"
        svc = {"apiVersion": "v1", "kind": "Service",
               "metadata": {"name": app_name, "namespace": "bench", "labels": labels},
               "spec": {"ports": [{"name": "http", "port": 80, "targetPort": port, "protocol": "TCP"}],
                        "selector": {"app": app_name}}}
        svc["metadata"]["annotations"] = {"kubectl.kubernetes.io/last-applied-configuration":
                                          json.dumps(svc, separators=(",", ":"), sort_keys=True) + "\n"}
        stored_svc, _ = upsert(app, "services", "v1", svc, "kubectl-client-side-apply")
        upsert(app, "ingresses", "networking.k8s.io/v1", ing, "kubectl-client-side-apply")
        pods = [(f"{app_name}-{''.join(rnd.choice('bcdfghjklmnpqrstvwxz2456789') for _ in range(10))}-"
                 f"{''.join(rnd.choice('bcdfghjklmnpqrstvwxz2456789') for _ in range(5))}",
                 f"127.0.0.{1 + (3 * i + k) % 254}", str(uuid.UUID(int=rnd.getrandbits(128)))) for k in range(3)]
        owner = {"apiVersion": "v1", "kind": "Service", "name": app_name,
                 "uid": stored_svc["metadata"]["uid"], "controller": True, "blockOwnerDeletion": True}
        upsert(app, "endpointslices", "discovery.k8s.io/v1", {
            "apiVersion": "discovery.k8s.io/v1", "kind": "EndpointSlice",
            "metadata": {"name": f"{app_name}-{''.join(rnd.choice('bcdfghjklmnpqrstvwxz2456789') for _ in range(5))}",
                         "namespace": "bench", "generateName": f"{app_name}-",
                         "labels": {"kubernetes.io/service-name": app_name,
                                    "endpointslice.kubernetes.io/managed-by": "endpointslice-controller.k8s.io"},
                         "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": now_rfc3339()},
                         "ownerReferences": [owner]},
            "addressType": "IPv4",
            "endpoints": [{"addresses": [ip], "conditions": {"ready": True},
                           "targetRef": {"kind": "Pod", "namespace": "bench", "name": pod, "uid": uid,
                                         "resourceVersion": str(1000 + i)},
                           "nodeName": f"node-{k % 3}", "zone": "zone-a"} for k, (pod, ip, uid) in enumerate(pods)],
            "ports": [{"name": "http", "protocol": "TCP", "port": port}]}, "kube-controller-manager")
        upsert(app, "endpoints", "v1", {
            "apiVersion": "v1", "kind": "Endpoints",
            "metadata": {"name": app_name, "namespace": "bench", "labels": labels,
                         "annotations": {"endpoints.kubernetes.io/last-change-trigger-time": now_rfc3339()}},
            "subsets": [{"addresses": [{"ip": ip, "nodeName": f"node-{k % 3}",
                                        "targetRef": {"kind": "Pod", "namespace": "bench", "name": pod, "uid": uid,
                                                      "resourceVersion": str(1000 + i)}}
                                       for k, (pod, ip, uid) in enumerate(pods)],
                         "ports": [{"name": "http", "port": port, "protocol": "TCP"}]}]}, "kube-controller-manager")


# ---------------------------------------------------------------- main
def parse_addr(s, what):
    host, sep, port = s.rpartition(":")
    if not sep or not port.isdigit():
        raise SystemExit(f"fakeapi: {what} must be HOST:PORT, got {s!r}")
    return host.strip("[]") or "127.0.0.1", int(port)


def main(argv=None):
    global VERBOSE
    ap = argparse.ArgumentParser(prog="fakeapi.py", description="A stand-in kube-apiserver for tests "
                                 "(see the top of this file).")
    ap.add_argument("--listen", required=True, help="HOST:PORT of the API (PORT 0: any free port)")
    ap.add_argument("--tls-cert")
    ap.add_argument("--tls-key")
    ap.add_argument("--token-file")
    ap.add_argument("--viewer-token-file")
    ap.add_argument("--state-file")
    ap.add_argument("--load", action="append", default=[], metavar="FILE")
    ap.add_argument("--generate", type=int, default=0, metavar="N")
    ap.add_argument("--generate-port", type=int, default=8080, metavar="PORT")
    ap.add_argument("--control", metavar="127.0.0.1:PORT")
    ap.add_argument("--versions", default="1.21", choices=sorted(PRESETS))
    ap.add_argument("--chunk-threshold", type=int, metavar="BYTES")
    ap.add_argument("--no-builtins", action="store_true", help="no default namespaces or default/kubernetes")
    ap.add_argument("-v", "--verbose", action="store_true")
    args = ap.parse_args(argv)
    VERBOSE = args.verbose
    if bool(args.tls_cert) != bool(args.tls_key):
        ap.error("--tls-cert and --tls-key go together")

    app = App(args)
    ssl_ctx = None
    if args.tls_cert:
        ssl_ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
        ssl_ctx.minimum_version = ssl.TLSVersion.TLSv1_2
        ssl_ctx.set_ciphers("ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:"
                            "ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:"
                            "ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305")
        ssl_ctx.set_alpn_protocols(["http/1.1"])
        try:
            ssl_ctx.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as e:
            raise SystemExit(f"fakeapi: cannot load {args.tls_cert} / {args.tls_key}: {e}")

    api = ApiServer(parse_addr(args.listen, "--listen"), app, ssl_ctx)
    host, port = api.server_address[:2]
    app.listen = f"{host}:{port}"
    ctl = None
    if args.control:
        chost, cport = parse_addr(args.control, "--control")
        if chost not in ("127.0.0.1", "::1", "localhost"):
            raise SystemExit("fakeapi: the control API listens on loopback only")
        ctl = ControlServer((chost, cport), app)

    if args.state_file and os.path.exists(args.state_file):
        app.store.load_state(args.state_file)
    elif not args.no_builtins:
        builtins(app, port)
    for path in args.load:
        try:
            n = load_file(app, path)
            vlog(f"{path}: {n} objects")
        except (OSError, ValueError) as e:
            raise SystemExit(f"fakeapi: --load {path}: {e}")
    if args.generate:
        t0 = time.monotonic()
        generate(app, args.generate, args.generate_port)
        for plural, gv in (("ingresses", "networking.k8s.io/v1"), ("services", "v1"), ("endpoints", "v1"),
                           ("secrets", "v1"), ("endpointslices", "discovery.k8s.io/v1"),
                           ("endpointslices", "discovery.k8s.io/v1beta1")):
            for o in list(app.store.objects[plural].values()):
                app.item_bytes(plural, gv, o)      # warm the serialization cache
        log(f"generated {args.generate} apps in {time.monotonic() - t0:.1f} s")

    def stop(signum, frame):
        app.stopping.set()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threading.Thread(target=api.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
    if ctl:
        threading.Thread(target=ctl.serve_forever, kwargs={"poll_interval": 0.2}, daemon=True).start()
        log(f"control on http://{ctl.server_address[0]}:{ctl.server_address[1]}")
    shown = f"[{host}]" if ":" in host else host
    print(f"fakeapi: listening on {app.scheme}://{shown}:{port}", flush=True)

    last_save = time.monotonic()
    while not app.stopping.wait(0.2):
        if args.state_file and app.store.dirty and time.monotonic() - last_save > 1:
            try:
                app.store.save(args.state_file)
            except OSError as e:
                log(f"cannot save state: {e}")
            last_save = time.monotonic()
    with app.store.lock:
        for w in app.store.watchers:
            w.close()
    if args.state_file:
        try:
            app.store.save(args.state_file)
        except OSError as e:
            log(f"cannot save state: {e}")
    api.shutdown()
    if ctl:
        ctl.shutdown()
    sys.stdout.flush()
    sys.stderr.flush()
    os._exit(0)


if __name__ == "__main__":
    main()
