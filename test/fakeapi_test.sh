#!/bin/sh
# test/fakeapi_test.sh - self-test of test/fakeapi.py and test/yaml2json.py.
# Starts fakeapi over TLS (a CA and server cert made here with openssl) and
# checks it with curl: auth bodies, create/list/paginate, selectors, version
# conversion, chunked watch framing, 410s, version presets, every fault kind,
# the control API, plain-HTTP mode and a clean SIGTERM exit.
# Last line: "fakeapi: N passed, M failed"; exit status 0 only when all pass.
# VERBOSE=1 prints every passing check too.
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
suite fakeapi
T=$T_TMP
FAKE=test/fakeapi.py
SAMPLE=${KUBE_SAMPLE:-test/kube-apiserver/sample-objects.yaml}
EXAMPLES=${TRAEFIK_EXAMPLES:-test/traefik-examples}  # Traefik 1.x example manifests, as its repository had them
# the interpreter itself: a pyenv shim costs ~0.1 s per call
PY=$(python3 -c 'import sys; print(sys.executable)')

# ---------------------------------------------------------------- helper (python)
cat >"$T/h.py" <<'PYEOF'
import json, sys, time
import urllib.request

def parse_http(raw):
    head, _, body = raw.partition(b"\r\n\r\n")
    lines = head.decode("latin-1").split("\r\n")
    status = int(lines[0].split()[1]) if lines and len(lines[0].split()) > 1 else 0
    hdrs = {}
    for l in lines[1:]:
        k, _, v = l.partition(":")
        hdrs[k.strip().lower()] = v.strip()
    return status, hdrs, body

def chunks(path):
    """Summary of a raw (curl --raw -i) chunked HTTP response."""
    raw = open(path, "rb").read()
    status, hdrs, body = parse_http(raw)
    pos, sizes, datas = 0, [], []
    complete = truncated = bad_size = False
    while pos < len(body):
        nl = body.find(b"\r\n", pos)
        if nl < 0:
            truncated = True
            break
        line = body[pos:nl].split(b";")[0].strip()
        try:
            size = int(line, 16)
        except ValueError:
            bad_size = True
            break
        pos = nl + 2
        if size == 0:
            complete = body[pos:pos + 2] == b"\r\n"
            pos += 2
            break
        data = body[pos:pos + size]
        if len(data) < size or body[pos + size:pos + size + 2] != b"\r\n":
            truncated = True
            datas.append(data)
            sizes.append(size)
            break
        sizes.append(size)
        datas.append(data)
        pos += size + 2
    events, garbage = [], []
    for line in b"".join(datas).split(b"\n"):
        if not line:
            continue
        try:
            events.append(json.loads(line))
        except ValueError:
            garbage.append(line[:60].decode("latin-1"))
    return {"status": status, "headers": hdrs, "sizes": sizes, "complete": complete,
            "truncated": truncated, "bad_size": bad_size, "trailing": len(body) - pos,
            "one_event_per_chunk": all(d.endswith(b"\n") and d.count(b"\n") == 1 for d in datas),
            "types": [e.get("type") for e in events], "events": events, "garbage": garbage}

def main():
    cmd = sys.argv[1]
    if cmd == "get":            # get FILE EXPR: print EXPR over d (JSON) / raw (bytes)
        raw = open(sys.argv[2], "rb").read()
        try:
            d = json.loads(raw)
        except ValueError:
            d = None
        print(eval(sys.argv[3], {"d": d, "raw": raw, "json": json}))
    elif cmd == "chunks":       # chunks FILE EXPR: EXPR over s (the summary)
        print(eval(sys.argv[3], {"s": chunks(sys.argv[2])}))
    elif cmd == "resp":         # resp FILE EXPR: status, h (headers), body, d (JSON body)
        status, h, body = parse_http(open(sys.argv[2], "rb").read())
        try:
            d = json.loads(body)
        except ValueError:
            d = None
        print(eval(sys.argv[3], {"status": status, "h": h, "body": body, "d": d}))
    elif cmd == "waitwatch":    # waitwatch CTLPORT N: until N watches are open (5 s)
        url, n = f"http://127.0.0.1:{sys.argv[2]}/stats", int(sys.argv[3])
        for _ in range(100):
            st = json.load(urllib.request.urlopen(url))
            if st["open_watches"] == n:
                return 0
            time.sleep(0.05)
        print(f"open_watches stayed {st['open_watches']}, wanted {n}")
        return 1
    elif cmd == "waitevent":    # waitevent FILE: until the raw watch output holds an event (5 s)
        for _ in range(100):
            s = chunks(sys.argv[2])
            if s["events"]:
                return 0
            time.sleep(0.05)
        return 1
    elif cmd == "keepalive":    # keepalive PORT CA TOKEN CTLPORT: 3 lists on one connection
        import http.client, ssl
        port, ca, tok, cport = sys.argv[2], sys.argv[3], sys.argv[4], sys.argv[5]
        before = json.load(urllib.request.urlopen(f"http://127.0.0.1:{cport}/stats"))["connections"]
        ctx = ssl.create_default_context(cafile=ca)
        c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ctx)
        names = []
        cont = ""
        for _ in range(3):
            c.request("GET", f"/apis/networking.k8s.io/v1/namespaces/t/ingresses?limit=2{cont}",
                      headers={"Authorization": "Bearer " + tok, "User-Agent": "keepalive-test"})
            r = c.getresponse()
            d = json.loads(r.read())
            names += [i["metadata"]["name"] for i in d["items"]]
            cont = "&continue=" + d["metadata"].get("continue", "")
        after = json.load(urllib.request.urlopen(f"http://127.0.0.1:{cport}/stats"))["connections"]
        print(after - before, ",".join(names))
    elif cmd == "drain":        # drain PORT CA TOKEN: a refused POST, then a GET, one connection
        import http.client, ssl
        port, ca, tok = sys.argv[2], sys.argv[3], sys.argv[4]
        c = http.client.HTTPSConnection("127.0.0.1", int(port), context=ssl.create_default_context(cafile=ca))
        body = json.dumps({"metadata": {"name": "x"}, "pad": "GET / HTTP/1.1\r\n" * 50})
        c.request("POST", "/apis/networking.k8s.io/v1/namespaces/t/ingresses", body=body,
                  headers={"Authorization": "Bearer wrong", "Content-Type": "application/json"})
        r1 = c.getresponse()
        r1.read()
        c.request("GET", "/api/v1/namespaces/t", headers={"Authorization": "Bearer " + tok})
        r2 = c.getresponse()
        print(r1.status, r2.status, json.loads(r2.read())["metadata"]["name"])
    elif cmd == "yaml":         # yaml SAMPLE EXAMPLES_DIR: PASS/FAIL lines
        sys.path.insert(0, "test")
        import yaml2json as Y, glob
        def t(desc, cond):
            print(("PASS " if cond else "FAIL ") + desc)
        docs = Y.load_all(open(sys.argv[2]).read())
        t("sample: 8 documents", len(docs) == 8)
        t("sample: Service targetPort is an int", docs[1]["spec"]["ports"][0]["targetPort"] == 8080)
        t("sample: flow map metadata", docs[0]["metadata"] == {"name": "demo"})
        t("sample: v1 port name", docs[4]["spec"]["rules"][0]["http"]["paths"][1]["backend"]["service"]["port"]
          == {"name": "http"})
        t("sample: flow list of hosts", docs[4]["spec"]["tls"][0]["hosts"] == ["foo.example.com"])
        t("sample: servicePort string", docs[6]["spec"]["rules"][0]["http"]["paths"][0]["backend"]["servicePort"]
          == "http")
        t("sample: slice ready is a bool", docs[7]["endpoints"][0]["conditions"]["ready"] is True)
        files = sorted(glob.glob(sys.argv[3] + "/*/*.yaml"))
        t(f"traefik examples found ({len(files)})", len(files) >= 10)
        ok = True
        for f in files:
            try:
                Y.load_all(open(f).read())
            except Y.YAMLError as e:
                ok = False
                print(f"  {f}: {e}")
        t("every traefik example converts", ok)
        d = {f.split("/")[-2] + "/" + f.split("/")[-1]: Y.load_all(open(f).read()) for f in files}
        t("rbac: apiGroups [\"\"]", d["v1.3.0/traefik-rbac.yaml"][0]["rules"][0]["apiGroups"] == [""])
        t("rbac: subjects at the key's indent",
          d["v1.7.34/traefik-rbac.yaml"][1]["subjects"][0]["namespace"] == "kube-system")
        t("default backend servicePort 80", d["v1.7.34/cheese-default-ingress.yaml"][0]["spec"]["backend"]
          == {"serviceName": "stilton", "servicePort": 80})
        t("ds: args list", d["v1.7.34/traefik-ds.yaml"][1]["spec"]["template"]["spec"]["containers"][0]["args"]
          == ["--api", "--kubernetes", "--logLevel=INFO"])
        t("ds: capabilities", d["v1.7.34/traefik-ds.yaml"][1]["spec"]["template"]["spec"]["containers"][0]
          ["securityContext"]["capabilities"] == {"drop": ["ALL"], "add": ["NET_BIND_SERVICE"]})
        t("deployments: 3 documents after a leading ---", len(d["v1.7.34/cheese-deployments.yaml"]) == 3)
        t("annotation key with dots", d["v1.7.34/cheeses-ingress.yaml"][0]["metadata"]["annotations"]
          == {"traefik.frontend.rule.type": "PathPrefixStrip"})
        s = Y.load('a: |\n  x\n   y\nb: >-\n  p\n  q\nc: "true"\nd: true\ne: \'80\'\nf: ~\n'
                   'g: {h: [1, "2"], i: j}\nk: "\\u00e9\\n" # c\nl: 1.5\n')
        t("literal block", s["a"] == "x\n y\n")
        t("folded strip block", s["b"] == "p q")
        t("quoted true stays a string", s["c"] == "true" and s["d"] is True)
        t("quoted 80 stays a string, ~ is null", s["e"] == "80" and s["f"] is None)
        t("flow map with flow list", s["g"] == {"h": [1, "2"], "i": "j"})
        t("double-quoted escapes and comment", s["k"] == "\u00e9\n" and s["l"] == 1.5)
        g = Y.load("on: y\nt: 12:30\nc: 2020-01-01T00:00:00Z\nn: 1e3\no: 017\nb: &b {x: 1}\nm: {<<: *b, y: 2}\n")
        t("go-yaml v2 typing: keys as written, y a bool, no sexagesimal, no timestamps",
          g == {"on": True, "t": "12:30", "c": "2020-01-01T00:00:00Z", "n": 1000, "o": 15, "b": {"x": 1},
                "m": {"x": 1, "y": 2}})
        try:
            Y.load("a: 1\n  b: 2\n")
            t("bad indentation is an error", False)
        except Y.YAMLError as e:
            t("bad indentation is an error with a line", e.line == 2)
    return 0

sys.exit(main() or 0)
PYEOF
H() { "$PY" -S -B "$T/h.py" "$@"; }
# pyresults: feed "PASS x" / "FAIL x" lines into ok/fail
pyresults() {
	while IFS= read -r line; do
		case $line in
		"PASS "*) ok "${line#PASS }" ;;
		"FAIL "*) fail "${line#FAIL }" ;;
		*) echo "$line" ;;
		esac
	done
}
# expect DESC GOT WANT
expect() {
	if [ "$2" = "$3" ]; then ok "$1"; else fail "$1: got [$2], want [$3]"; fi
}

# ---------------------------------------------------------------- yaml2json
# yaml2json is PyYAML underneath (python3-yaml, make deps): without -S, so
# Debian's dist-packages is on the path
if "$PY" -c 'import yaml' 2>/dev/null; then
	ok "PyYAML importable by $PY"
else
	fail "PyYAML missing in $PY: install Debian's python3-yaml (make deps)"
fi
"$PY" -B "$T/h.py" yaml "$SAMPLE" "$EXAMPLES" >"$T/yaml.out" 2>&1
pyresults <"$T/yaml.out"
grep -q '^PASS ' "$T/yaml.out" || fail "yaml2json module checks did not run: $(tail -1 "$T/yaml.out")"
out=$(printf 'a: 1\n---\nb: [x]\n' | "$PY" test/yaml2json.py)
expect "yaml2json CLI: stdin to a JSON list" "$out" '[{"a": 1}, {"b": ["x"]}]'
printf 'a: [1\n' | "$PY" test/yaml2json.py >/dev/null 2>"$T/yerr"
expect "yaml2json CLI: error names the line" "$(cat "$T/yerr")" \
	"<stdin>:2: expected ',' or ']', but got '<stream end>' (while parsing a flow sequence at line 1)"
printf 'a: 1\nb: 2\na: 3\n' | "$PY" test/yaml2json.py >/dev/null 2>"$T/yerr"
expect "yaml2json CLI: a key twice is an error (as kubectl's)" "$(cat "$T/yerr")" "<stdin>:3: mapping key 'a' already defined"

# ---------------------------------------------------------------- PKI, tokens, start
openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -days 2 -keyout "$T/ca.key" -out "$T/ca.crt" -subj "/CN=fakeapi-test-ca" \
	-addext "basicConstraints=critical,CA:TRUE" -addext "keyUsage=critical,keyCertSign,cRLSign" >/dev/null 2>&1
openssl req -newkey rsa:2048 -nodes -keyout "$T/srv.key" -out "$T/srv.csr" -subj "/CN=fakeapi" >/dev/null 2>&1
printf 'basicConstraints=CA:FALSE\nkeyUsage=critical,digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\nsubjectAltName=IP:127.0.0.1,DNS:localhost\n' >"$T/srv.ext"
openssl x509 -req -in "$T/srv.csr" -CA "$T/ca.crt" -CAkey "$T/ca.key" -CAcreateserial -days 2 \
	-extfile "$T/srv.ext" -out "$T/srv.crt" >/dev/null 2>&1
check "openssl made a CA and a server certificate" test -s "$T/srv.crt"
TOK1=tok1-$(openssl rand -hex 8)
TOK2=tok2-$(openssl rand -hex 8)
VTOK=view-$(openssl rand -hex 8)
printf '%s\n%s\n' "$TOK1" "$TOK2" >"$T/token"
printf '%s\n' "$VTOK" >"$T/token.viewer"

P=$(free_port)
C=$(free_port)
"$PY" "$FAKE" --listen "127.0.0.1:$P" --tls-cert "$T/srv.crt" --tls-key "$T/srv.key" --token-file "$T/token" \
	--viewer-token-file "$T/token.viewer" --control "127.0.0.1:$C" --load "$SAMPLE" >"$T/out" 2>"$T/err" &
PID=$!
at_exit "kill $PID"
i=0
while [ $i -lt 100 ] && ! grep -q "listening" "$T/out" 2>/dev/null; do sleep 0.05; i=$((i + 1)); done
expect "ready line" "$(cat "$T/out")" "fakeapi: listening on https://127.0.0.1:$P"
U=https://127.0.0.1:$P
CA=$T/ca.crt
# api [curl args...]: as the admin (TOK2), compact output (not a curl User-Agent)
api() { curl -sS --cacert "$CA" -A fakeapi-test/1.0 -H "Authorization: Bearer $TOK2" "$@"; }
code() { curl -sS -o "$T/body" -w '%{http_code}' --cacert "$CA" -A fakeapi-test/1.0 "$@"; }
ctl() { curl -sS -X POST -H 'Content-Type: application/json' -d "$2" "http://127.0.0.1:$C$1"; }
J() { H get "$T/body" "$1"; }

# ---------------------------------------------------------------- auth
expect "bad token: 401" "$(code -H 'Authorization: Bearer nope' "$U/api/v1/services")" 401
expect "bad token: Status body" "$(J 'd')" "{'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure', 'message': 'Unauthorized', 'reason': 'Unauthorized', 'code': 401}"
expect "no token: 403 as system:anonymous" "$(code "$U/api/v1/services")" 403
expect "no token: message" "$(J 'd["message"]')" 'services is forbidden: User "system:anonymous" cannot list resource "services" in API group "" at the cluster scope'
expect "viewer: 403" "$(code -H "Authorization: Bearer $VTOK" "$U/apis/networking.k8s.io/v1/ingresses")" 403
expect "viewer: Status as the real server" "$(J 'd')" "{'kind': 'Status', 'apiVersion': 'v1', 'metadata': {}, 'status': 'Failure', 'message': 'ingresses.networking.k8s.io is forbidden: User \"viewer\" cannot list resource \"ingresses\" in API group \"networking.k8s.io\" at the cluster scope', 'reason': 'Forbidden', 'details': {'group': 'networking.k8s.io', 'kind': 'ingresses'}, 'code': 403}"
expect "viewer: compact body for a non-curl client" "$(J 'raw.count(b"\n")')" 1
curl -sS --cacert "$CA" -H "Authorization: Bearer $VTOK" "$U/apis/networking.k8s.io/v1/namespaces/demo/ingresses" >"$T/body"
expect "viewer via curl: pretty multi-line body" "$(J 'raw.startswith(b"{\n  \"kind\": \"Status\",") and raw.count(b"\n") > 8')" True
expect "viewer: namespaced message" "$(J 'd["message"]')" 'ingresses.networking.k8s.io is forbidden: User "viewer" cannot list resource "ingresses" in API group "networking.k8s.io" in the namespace "demo"'
ctl /settings "{\"deny\":{\"$VTOK\":[\"secrets\"]}}" >/dev/null
expect "deny list: viewer may list ingresses" "$(code -H "Authorization: Bearer $VTOK" "$U/apis/networking.k8s.io/v1/ingresses")" 200
expect "deny list: but not secrets" "$(code -H "Authorization: Bearer $VTOK" "$U/api/v1/namespaces/demo/secrets")" 403
ctl /settings '{"deny":{}}' >/dev/null
expect "first token of the file works" "$(code -H "Authorization: Bearer $TOK1" "$U/api/v1/services")" 200
TOK3=tok3-$(openssl rand -hex 8)
printf '%s\n%s\n' "$TOK3" "$TOK2" >"$T/token"
expect "rotated token file: old token 401" "$(code -H "Authorization: Bearer $TOK1" "$U/api/v1/services")" 401
expect "rotated token file: new token 200" "$(code -H "Authorization: Bearer $TOK3" "$U/api/v1/services")" 200

# ---------------------------------------------------------------- create, list, paginate
expect "create namespace t" "$(code -H "Authorization: Bearer $TOK2" -H 'Content-Type: application/json' \
	-d '{"apiVersion":"v1","kind":"Namespace","metadata":{"name":"t"}}' "$U/api/v1/namespaces")" 201
ing() { # ing NAME APP TIER: a v1 Ingress as JSON
	printf '{"apiVersion":"networking.k8s.io/v1","kind":"Ingress","metadata":{"name":"%s","labels":{"app":"%s","tier":"%s"},"annotations":{"note":"a<b&c>"}},"spec":{"rules":[{"host":"%s.example.com","http":{"paths":[{"path":"/","pathType":"Prefix","backend":{"service":{"name":"web","port":{"number":80}}}}]}}]}}' "$1" "$2" "$3" "$1"
}
n=0
for x in i1:a:front i3:b:back i4:a:back i5:b:front; do
	name=${x%%:*} r=${x#*:}
	c=$(code -H "Authorization: Bearer $TOK2" -H 'Content-Type: application/json' -d "$(ing "$name" "${r%%:*}" "${r#*:}")" \
		"$U/apis/networking.k8s.io/v1/namespaces/t/ingresses")
	[ "$c" = 201 ] && n=$((n + 1))
done
expect "create 4 ingresses (JSON)" $n 4
cat >"$T/i2.yaml" <<'EOF'
apiVersion: networking.k8s.io/v1beta1
kind: Ingress
metadata:
  name: i2
  labels: {app: c}
spec:
  backend: {serviceName: web, servicePort: http}
  rules:
  - host: i2.example.com
    http:
      paths:
      - path: /
        backend:
          serviceName: web
          servicePort: 80
EOF
expect "create from a YAML body (v1beta1)" "$(code -H "Authorization: Bearer $TOK2" -H 'Content-Type: application/yaml' \
	--data-binary @"$T/i2.yaml" "$U/apis/networking.k8s.io/v1beta1/namespaces/t/ingresses")" 201
expect "create: uid, RFC 3339 time, RV string, pathType default" "$(J 'bool(d["metadata"]["uid"]) and d["metadata"]["creationTimestamp"].endswith("Z") and isinstance(d["metadata"]["resourceVersion"], str) and d["spec"]["rules"][0]["http"]["paths"][0]["pathType"]')" ImplementationSpecific
expect "create again: 409" "$(code -H "Authorization: Bearer $TOK2" -H 'Content-Type: application/json' \
	-d "$(ing i1 a front)" "$U/apis/networking.k8s.io/v1/namespaces/t/ingresses")" 409
expect "409 reason AlreadyExists" "$(J 'd["reason"], d["message"]')" "('AlreadyExists', 'ingresses.networking.k8s.io \"i1\" already exists')"
expect "create in a missing namespace: 404" "$(code -H "Authorization: Bearer $TOK2" -H 'Content-Type: application/json' \
	-d "$(ing z a b)" "$U/apis/networking.k8s.io/v1/namespaces/nosuch/ingresses")" 404
expect "v1 without pathType: 422" "$(code -H "Authorization: Bearer $TOK2" -H 'Content-Type: application/json' \
	-d '{"metadata":{"name":"np"},"spec":{"rules":[{"http":{"paths":[{"path":"/","backend":{"service":{"name":"w","port":{"number":1}}}}]}}]}}' \
	"$U/apis/networking.k8s.io/v1/namespaces/t/ingresses")" 422
L="$U/apis/networking.k8s.io/v1/namespaces/t/ingresses"
api "$L?limit=2" >"$T/body"
expect "page 1: 2 items, continue, remainingItemCount" "$(J '[i["metadata"]["name"] for i in d["items"]], bool(d["metadata"].get("continue")), d["metadata"].get("remainingItemCount")')" "(['i1', 'i2'], True, 3)"
expect "list: metadata before items, no per-item kind/apiVersion" "$(J 'raw.index(b"\"metadata\"") < raw.index(b"\"items\"") and all("kind" not in i and "apiVersion" not in i for i in d["items"]) and d["kind"] == "IngressList"')" True
expect "list: Go-style escaping of <, &, >" "$(J 'b"a\\u003cb\\u0026c\\u003e" in raw')" True
CONT1=$(J 'd["metadata"]["continue"]')
api "$L?limit=2&continue=$CONT1" >"$T/body"
expect "page 2" "$(J '[i["metadata"]["name"] for i in d["items"]]')" "['i3', 'i4']"
api "$L?limit=2&continue=$(J 'd["metadata"]["continue"]')" >"$T/body"
expect "page 3: last, no continue" "$(J '[i["metadata"]["name"] for i in d["items"]], "continue" in d["metadata"]')" "(['i5'], False)"
expect "continue with resourceVersion: 400" "$(code -H "Authorization: Bearer $TOK2" "$L?limit=2&continue=$CONT1&resourceVersion=5")" 400
api "$L?limit=2&resourceVersion=0" >"$T/body"
expect "resourceVersion=0 ignores limit (watch cache)" "$(J 'len(d["items"]), "continue" in d["metadata"]')" "(5, False)"
expect "keep-alive: an unread request body is skipped, not parsed" "$(H drain "$P" "$CA" "$TOK2")" "401 200 t"
expect "keep-alive: 3 list pages on one connection" "$(H keepalive "$P" "$CA" "$TOK2" "$C")" "1 i1,i2,i3,i4,i5"
sel() { api -G "$L" --data-urlencode "labelSelector=$1" | H get /dev/stdin '",".join(i["metadata"]["name"] for i in d["items"])'; }
expect "labelSelector app=a" "$(sel 'app=a')" "i1,i4"
expect "labelSelector app==b" "$(sel 'app==b')" "i3,i5"
expect "labelSelector in + !=" "$(sel 'app in (a,b),tier!=front')" "i3,i4"
expect "labelSelector notin" "$(sel 'app notin (a,b)')" "i2"
expect "labelSelector exists / !key" "$(sel 'tier'),$(sel '!tier')" "i1,i3,i4,i5,i2"
expect "labelSelector bad syntax: 400" "$(code -H "Authorization: Bearer $TOK2" -G "$L" --data-urlencode 'labelSelector=app in a')" 400
expect "fieldSelector metadata.name" "$(api "$L?fieldSelector=metadata.name%3Di4" | H get /dev/stdin '[i["metadata"]["name"] for i in d["items"]]')" "['i4']"
expect "fieldSelector on an unknown field: 400" "$(code -H "Authorization: Bearer $TOK2" "$L?fieldSelector=spec.x%3D1")" 400
ctl /objects '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s1","namespace":"t"},"type":"kubernetes.io/tls","data":{}}' >/dev/null
ctl /objects '{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s2","namespace":"t"},"stringData":{"k":"v"}}' >/dev/null
expect "fieldSelector type!= on secrets" "$(api "$U/api/v1/namespaces/t/secrets?fieldSelector=type%21%3DOpaque" | H get /dev/stdin '[i["metadata"]["name"] for i in d["items"]]')" "['s1']"
expect "Secret stringData becomes data" "$(api "$U/api/v1/namespaces/t/secrets/s2" | H get /dev/stdin 'd["data"], d["type"], "stringData" in d')" "({'k': 'dg=='}, 'Opaque', False)"
curl -sS -D "$T/hdr" -o /dev/null --cacert "$CA" -A x -H "Authorization: Bearer $TOK2" "$U/apis/networking.k8s.io/v1/ingresses"
expect "big list: Transfer-Encoding chunked" "$(grep -ci '^transfer-encoding: chunked' "$T/hdr")" 1
curl -sS -D "$T/hdr" -o /dev/null --cacert "$CA" -A x -H "Authorization: Bearer $TOK2" "$L?fieldSelector=metadata.name%3Dnone"
expect "small list: Content-Length" "$(grep -ci '^content-length:' "$T/hdr")" 1
ctl /settings '{"chunk_threshold":1000000}' >/dev/null
curl -sS -D "$T/hdr" -o /dev/null --cacert "$CA" -A x -H "Authorization: Bearer $TOK2" "$U/apis/networking.k8s.io/v1/ingresses"
expect "chunk_threshold setting: same list with Content-Length" "$(grep -ci '^content-length:' "$T/hdr")" 1
ctl /settings '{"chunk_threshold":2048}' >/dev/null

# ---------------------------------------------------------------- version conversion
api "$U/apis/extensions/v1beta1/namespaces/demo/ingresses/web-v1" >"$T/body"
expect "v1 Ingress read as extensions/v1beta1" "$(J 'd["apiVersion"], d["spec"]["backend"], d["spec"]["rules"][0]["http"]["paths"][1]["backend"]')" "('extensions/v1beta1', {'serviceName': 'web', 'servicePort': 80}, {'serviceName': 'web', 'servicePort': 'http'})"
api "$U/apis/networking.k8s.io/v1/namespaces/t/ingresses/i2" >"$T/body"
expect "v1beta1 Ingress read as v1" "$(J 'd["spec"]["defaultBackend"], d["spec"]["rules"][0]["http"]["paths"][0]["backend"]')" "({'service': {'name': 'web', 'port': {'name': 'http'}}}, {'service': {'name': 'web', 'port': {'number': 80}}})"
code -H "Authorization: Bearer $TOK2" -H 'Content-Type: application/json' -d '{"apiVersion":"discovery.k8s.io/v1beta1","kind":"EndpointSlice","metadata":{"name":"es1","labels":{"kubernetes.io/service-name":"web"}},"addressType":"IPv4","endpoints":[{"addresses":["127.0.0.1"],"conditions":{"ready":true},"topology":{"kubernetes.io/hostname":"n1","topology.kubernetes.io/zone":"z1","rack":"r1"}}],"ports":[{"port":8080}]}' "$U/apis/discovery.k8s.io/v1beta1/namespaces/t/endpointslices" >/dev/null
api "$U/apis/discovery.k8s.io/v1/namespaces/t/endpointslices/es1" >"$T/body"
expect "EndpointSlice v1beta1 -> v1: nodeName, zone, deprecatedTopology" "$(J '(lambda e: (e["nodeName"], e["zone"], e["deprecatedTopology"], e["conditions"], d["ports"][0]["protocol"]))(d["endpoints"][0])')" "('n1', 'z1', {'rack': 'r1'}, {'ready': True}, 'TCP')"
api "$U/apis/discovery.k8s.io/v1beta1/namespaces/t/endpointslices/es1" >"$T/body"
expect "EndpointSlice back as v1beta1: topology" "$(J 'd["endpoints"][0]["topology"]')" "{'kubernetes.io/hostname': 'n1', 'rack': 'r1', 'topology.kubernetes.io/zone': 'z1'}"
expect "Endpoints with a loopback address: 422 as the real server" "$(code -H "Authorization: Bearer $TOK2" -H 'Content-Type: application/json' \
	-d '{"apiVersion":"v1","kind":"Endpoints","metadata":{"name":"lo"},"subsets":[{"addresses":[{"ip":"127.0.0.1"}]}]}' "$U/api/v1/namespaces/t/endpoints")" 422

# ---------------------------------------------------------------- watch
# Three groups at once, kept apart by namespace and selector: (1) namespace t
# from the current RV, (2) namespace t from RV 0 with a selector that leaves
# out group 1's object, (3) namespace demo with bookmarks and a selector.
RV=$(api "$L" | H get /dev/stdin 'd["metadata"]["resourceVersion"]')
D=$U/apis/networking.k8s.io/v1/namespaces/demo/ingresses
ctl /settings '{"bookmark_interval":1}' >/dev/null
curl -sS -N --raw -i --cacert "$CA" -H "Authorization: Bearer $TOK2" "$L?watch=1&resourceVersion=$RV&timeoutSeconds=6" >"$T/w1" &
W1=$!
curl -sS -N --raw -i --cacert "$CA" -H "Authorization: Bearer $TOK2" "$L?watch=true&timeoutSeconds=3&labelSelector=app%21%3Da" >"$T/w2" &
W2=$!
curl -sS -N --raw -i --cacert "$CA" -H "Authorization: Bearer $TOK2" "$D?watch=1&allowWatchBookmarks=true&timeoutSeconds=7&labelSelector=app%3Dsel" >"$T/w3" &
W3=$!
curl -sS -N --raw -i --cacert "$CA" -H "Authorization: Bearer $TOK2" "$D?watch=1&timeoutSeconds=7" >"$T/w4" &
W4=$!
H waitwatch "$C" 4
api -H 'Content-Type: application/json' -d "$(ing w1 a front)" "$L" >/dev/null
api -H 'Content-Type: application/json' -d "$(ing w2 other front)" "$D" >/dev/null
api "$L/w1" | sed 's/"front"/"back"/' >"$T/w1.json"
api -X PUT -H 'Content-Type: application/json' --data-binary @"$T/w1.json" "$L/w1" >/dev/null
api -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"labels":{"app":"sel"}}}' "$D/w2" >/dev/null
api -X DELETE "$L/w1" >/dev/null
api -X PATCH -H 'Content-Type: application/merge-patch+json' -d '{"metadata":{"labels":{"app":"gone"}}}' "$D/w2" >/dev/null
wait $W1 $W2 $W3 $W4
expect "watch: 200, chunked, no Content-Length" "$(H chunks "$T/w1" 's["status"], s["headers"].get("transfer-encoding"), "content-length" in s["headers"]')" "(200, 'chunked', False)"
expect "watch: ADDED, MODIFIED, DELETED" "$(H chunks "$T/w1" 's["types"]')" "['ADDED', 'MODIFIED', 'DELETED']"
expect "watch: each chunk one JSON line, zero chunk at the end" "$(H chunks "$T/w1" 's["one_event_per_chunk"], s["complete"], s["truncated"], s["garbage"]')" "(True, True, False, [])"
expect "watch: objects carry kind and apiVersion, RVs increase" "$(H chunks "$T/w1" '[(e["object"]["kind"], e["object"]["apiVersion"]) for e in s["events"]][0], [int(e["object"]["metadata"]["resourceVersion"]) for e in s["events"]] == sorted(int(e["object"]["metadata"]["resourceVersion"]) for e in s["events"])')" "(('Ingress', 'networking.k8s.io/v1'), True)"
expect "watch from RV 0: ADDED for every (selected) object first" "$(H chunks "$T/w2" '[(t, e["object"]["metadata"]["name"]) for t, e in zip(s["types"], s["events"])], s["complete"]')" "([('ADDED', 'i2'), ('ADDED', 'i3'), ('ADDED', 'i5')], True)"
expect "selector watch: leaving and entering the selection" "$(H chunks "$T/w3" '[t for t in s["types"] if t != "BOOKMARK"]')" "['ADDED', 'DELETED']"
expect "bookmarks with allowWatchBookmarks" "$(H chunks "$T/w3" '"BOOKMARK" in s["types"] and all(list(e["object"]["metadata"]) == ["resourceVersion", "creationTimestamp"] for e in s["events"] if e["type"] == "BOOKMARK")')" True
expect "no bookmarks without it" "$(H chunks "$T/w4" '"BOOKMARK" in s["types"], s["types"]')" "(False, ['ADDED', 'ADDED', 'ADDED', 'ADDED', 'MODIFIED', 'MODIFIED'])"
ctl /settings '{"bookmark_interval":60}' >/dev/null

# ---------------------------------------------------------------- 410 Gone
OLD=$RV
api "$L?limit=2" >"$T/body"
CONT=$(J 'd["metadata"]["continue"]')
curl -sS -N --raw -i --cacert "$CA" -H "Authorization: Bearer $TOK2" "$L?watch=1&resourceVersion=$OLD&timeoutSeconds=10" >"$T/w5" &
W5=$!
H waitwatch "$C" 1
ctl /fault '{"kind":"compact"}' >/dev/null
wait $W5
expect "compact: open watch gets ERROR 410 and ends" "$(H chunks "$T/w5" 's["events"][-1]["type"], s["events"][-1]["object"]["code"], s["events"][-1]["object"]["reason"], s["complete"]')" "('ERROR', 410, 'Expired', True)"
curl -sS -N --raw -i --cacert "$CA" -H "Authorization: Bearer $TOK2" "$L?watch=1&resourceVersion=$OLD&timeoutSeconds=10" >"$T/w6"
expect "watch from a compacted RV: HTTP 200 + one ERROR event" "$(H chunks "$T/w6" 's["status"], s["types"], s["complete"]')" "(200, ['ERROR'], True)"
expect "too old message" "$(H chunks "$T/w6" 's["events"][0]["object"]["message"].startswith("too old resource version: %s (" % '"$OLD"')')" True
expect "stale continue: HTTP 410" "$(code -H "Authorization: Bearer $TOK2" "$L?limit=2&continue=$CONT")" 410
expect "stale continue: Expired with the real message" "$(J 'd["reason"], d["message"].startswith("The provided continue parameter is too old to display a consistent list result. You can start a new list without the continue parameter")')" "('Expired', True)"
expect "stale continue: the inconsistent-continue token works" "$(code -H "Authorization: Bearer $TOK2" "$L?limit=2&continue=$(J 'd["metadata"]["continue"]')")" 200

# ---------------------------------------------------------------- versions
ctl /versions '{"preset":"1.25"}' >/dev/null
expect "1.25: networking v1 served" "$(code -H "Authorization: Bearer $TOK2" "$U/apis/networking.k8s.io/v1/ingresses")" 200
expect "1.25: networking v1beta1 gone: 404 page not found" "$(code -H "Authorization: Bearer $TOK2" "$U/apis/networking.k8s.io/v1beta1/ingresses"):$(cat "$T/body")" "404:404 page not found"
expect "1.25: extensions gone" "$(code -H "Authorization: Bearer $TOK2" "$U/apis/extensions/v1beta1/ingresses")" 404
expect "1.25: EndpointSlice v1beta1 gone, v1 served" "$(code -H "Authorization: Bearer $TOK2" "$U/apis/discovery.k8s.io/v1beta1/endpointslices"),$(code -H "Authorization: Bearer $TOK2" "$U/apis/discovery.k8s.io/v1/endpointslices")" "404,200"
expect "1.25: discovery lists no extensions group" "$(api "$U/apis" | H get /dev/stdin '[g["name"] for g in d["groups"]]')" "['networking.k8s.io', 'discovery.k8s.io']"
ctl /versions '{"preset":"1.20"}' >/dev/null
expect "1.20: all three Ingress versions" "$(code -H "Authorization: Bearer $TOK2" "$U/apis/extensions/v1beta1/ingresses"),$(code -H "Authorization: Bearer $TOK2" "$U/apis/networking.k8s.io/v1beta1/ingresses")" "200,200"
expect "1.20: EndpointSlice v1beta1 only" "$(code -H "Authorization: Bearer $TOK2" "$U/apis/discovery.k8s.io/v1/endpointslices"),$(code -H "Authorization: Bearer $TOK2" "$U/apis/discovery.k8s.io/v1beta1/endpointslices")" "404,200"
ctl /versions '{"preset":"old"}' >/dev/null
expect "old: no EndpointSlices, networking gone, extensions served" "$(code -H "Authorization: Bearer $TOK2" "$U/apis/discovery.k8s.io/v1beta1/endpointslices"),$(code -H "Authorization: Bearer $TOK2" "$U/apis/networking.k8s.io/v1/ingresses"),$(code -H "Authorization: Bearer $TOK2" "$U/apis/extensions/v1beta1/ingresses"),$(code -H "Authorization: Bearer $TOK2" "$U/api/v1/endpoints")" "404,404,200,200"
ctl /versions '{"ingress":["networking.k8s.io/v1"],"endpointslice":["discovery.k8s.io/v1"],"ingressclass":[]}' >/dev/null
expect "explicit version lists" "$(code -H "Authorization: Bearer $TOK2" "$U/apis/networking.k8s.io/v1/ingresses"),$(code -H "Authorization: Bearer $TOK2" "$U/apis/discovery.k8s.io/v1/endpointslices")" "200,200"
expect "unknown resource in a served group-version: 404 Status" "$(code -H "Authorization: Bearer $TOK2" "$U/apis/networking.k8s.io/v1/foos"):$(J 'd["reason"]')" "404:NotFound"
ctl /versions '{"preset":"1.21"}' >/dev/null

# ---------------------------------------------------------------- faults
ctl /fault '{"kind":"status","code":500,"count":2,"resource":"services"}' >/dev/null
c1=$(code -H "Authorization: Bearer $TOK2" "$U/api/v1/services")
r1=$(J 'd["reason"]')
c2=$(code -H "Authorization: Bearer $TOK2" "$U/apis/networking.k8s.io/v1/ingresses")
c3=$(code -H "Authorization: Bearer $TOK2" "$U/api/v1/services")
c4=$(code -H "Authorization: Bearer $TOK2" "$U/api/v1/services")
expect "status fault: 2 x 500 on services only, then 200" "$c1 $r1 $c2 $c3 $c4" "500 InternalError 200 500 200"
ctl /fault '{"kind":"status","code":429}' >/dev/null
curl -sS -i --cacert "$CA" -H "Authorization: Bearer $TOK2" "$U/api/v1/services" >"$T/r429"
expect "status fault 429: Retry-After and plain text" "$(H resp "$T/r429" 'status, h.get("retry-after"), body')" "(429, '1', b'Too many requests, please try again later.\\n')"

watch_bg() { # watch_bg FILE [curl args]: a watch on namespace t from now
	f=$1
	shift
	curl -sS -N --raw -i --cacert "$CA" -H "Authorization: Bearer $TOK2" "$@" "$L?watch=1&resourceVersion=$(api "$L" | H get /dev/stdin 'd["metadata"]["resourceVersion"]')&timeoutSeconds=${TMO:-5}" >"$T/$f" 2>"$T/$f.err" &
	WP=$!
	H waitwatch "$C" 1
}
endw() { # wait until the background watch got its event, then end it
	H waitevent "$T/$f"
	ctl /fault '{"kind":"close_all_watches"}' >/dev/null
	wait $WP
}
n=0
mk() { n=$((n + 1)); api -H 'Content-Type: application/json' -d "$(ing "f$n" a front)" "$L" >/dev/null; }
watch_bg drop
ctl /fault '{"kind":"drop_mid_line","resource":"ingresses"}' >/dev/null
mk
wait $WP
expect "drop_mid_line: chunk cut halfway, no zero chunk" "$(H chunks "$T/drop" 's["truncated"], s["complete"], s["types"]')" "(True, False, [])"
watch_bg garbage
ctl /fault '{"kind":"garbage_line"}' >/dev/null
mk
endw
expect "garbage_line: a non-JSON chunk, then the event" "$(H chunks "$T/garbage" 'len(s["garbage"]), s["types"], s["complete"]')" "(1, ['ADDED'], True)"
watch_bg bad
ctl /fault '{"kind":"bad_chunk"}' >/dev/null
mk
wait $WP
expect "bad_chunk: invalid chunk-size line" "$(H chunks "$T/bad" 's["bad_size"], s["complete"]')" "(True, False)"
watch_bg big
ctl /fault '{"kind":"oversized_object","bytes":300000,"resource":"ingresses","namespace":"t","name":"i1"}' >/dev/null
endw
expect "oversized_object: a MODIFIED event over 300000 bytes" "$(H chunks "$T/big" 's["types"], max(s["sizes"]) > 300000, len(s["events"][0]["object"]["metadata"]["annotations"]["fakeapi.test/padding"])')" "(['MODIFIED'], True, 300000)"
TMO=1 watch_bg stall --max-time 1.8
ctl /fault '{"kind":"stall","resource":"ingresses"}' >/dev/null
mk
wait $WP
expect "stall: no event, no end past timeoutSeconds (curl timed out)" "$(H chunks "$T/stall" 's["types"], s["complete"]'):$(grep -c 'timed out' "$T/stall.err")" "([], False):1"
H waitwatch "$C" 0
expect "stall: server notices the client left" $? 0
ctl /fault '{"kind":"drip","bytes_per_sec":1000,"resource":"ingresses","verb":"list"}' >/dev/null
t0=$(date +%s%N)
api "$L?fieldSelector=metadata.name%3Di3" >"$T/body"
t1=$(date +%s%N)
api "$L?fieldSelector=metadata.name%3Di3" >/dev/null
t2=$(date +%s%N)
expect "drip: slow but complete list, once" "$(J 'd["items"][0]["metadata"]["name"]')/$(( (t1 - t0) / 1000000 > 600 ))/$(( (t2 - t1) / 1000000 < 300 ))" "i3/1/1"
curl -sS -N --raw -i --cacert "$CA" -H "Authorization: Bearer $TOK2" "$L?watch=1&timeoutSeconds=20" >"$T/closeall" &
WP=$!
H waitwatch "$C" 1
ctl /fault '{"kind":"close_all_watches"}' >/dev/null
t0=$(date +%s)
wait $WP
expect "close_all_watches: stream ends with the zero chunk" "$(H chunks "$T/closeall" 's["complete"]')/$(($(date +%s) - t0 < 3))" "True/1"
ctl /fault '{"kind":"status","code":503,"count":5}' >/dev/null
ctl /fault '{"kind":"reset"}' >/dev/null
expect "reset clears pending faults" "$(code -H "Authorization: Bearer $TOK2" "$U/api/v1/services")" 200

# ---------------------------------------------------------------- robustness, stats
curl -sS -N --cacert "$CA" -H "Authorization: Bearer $TOK2" "$L?watch=1" >/dev/null 2>&1 &
WP=$!
H waitwatch "$C" 1
kill $WP
wait $WP 2>/dev/null
H waitwatch "$C" 0
expect "a client leaving a watch: server counts it closed" $? 0
expect "server still answers after client disconnects" "$(code -H "Authorization: Bearer $TOK2" "$U/version"):$(J 'd["gitVersion"]')" "200:v1.21.14"
api -G "$L" --data-urlencode 'labelSelector=app in (a,b)' >/dev/null
curl -sS "http://127.0.0.1:$C/stats" >"$T/stats"
expect "stats: list and watch counted per resource" "$(H get "$T/stats" 'd["requests"]["list:ingresses"] > 5 and d["requests"]["watch:ingresses"] > 5')" True
expect "stats: last query as sent (URL-encoded)" "$(H get "$T/stats" '(lambda q: (q, __import__("urllib.parse").parse.unquote_plus(q)))(d["last"]["list:ingresses"]["query"].replace("%2c", "%2C"))')" "('labelSelector=app+in+%28a%2Cb%29', 'labelSelector=app in (a,b)')"
expect "stats: token shown as a prefix only" "$(H get "$T/stats" 'd["last"]["list:ingresses"]["headers"]["Authorization"].startswith("Bearer tok2... sha256:")')" True
check "stats: no full token anywhere" sh -c "! grep -q '$TOK2' '$T/stats' && ! grep -q '$VTOK' '$T/stats'"
expect "control: DELETE /objects removes for good" "$(curl -sS -X DELETE "http://127.0.0.1:$C/objects/ingresses/t/i5"):$(code -H "Authorization: Bearer $TOK2" "$L/i5")" '{
  "removed": 1
}:404'

# ---------------------------------------------------------------- plain HTTP, SIGTERM
P2=$(free_port)
"$PY" "$FAKE" --listen "127.0.0.1:$P2" --no-builtins >"$T/out2" 2>"$T/err2" &
PID2=$!
at_exit "kill $PID2"
wait_port "$P2"
expect "plain HTTP without tokens (kubectl proxy case)" "$(head -n 1 "$T/out2"):$(curl -sS -o /dev/null -w '%{http_code}' "http://127.0.0.1:$P2/api/v1/namespaces")" "fakeapi: listening on http://127.0.0.1:$P2:200"
kill -TERM $PID2
i=0
while kill -0 $PID2 2>/dev/null && [ $i -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
wait $PID2
expect "SIGTERM: exits 0 promptly" "$?:$((i < 60))" "0:1"
curl -sS -N --cacert "$CA" -H "Authorization: Bearer $TOK2" "$L?watch=1" >/dev/null 2>&1 &
WP=$!
H waitwatch "$C" 1
kill -TERM $PID
i=0
while kill -0 $PID 2>/dev/null && [ $i -lt 60 ]; do sleep 0.05; i=$((i + 1)); done
wait $PID
expect "SIGTERM with an open watch: exits 0 promptly" "$?:$((i < 60))" "0:1"
wait $WP 2>/dev/null
if grep -q 'Traceback\|internal error' "$T/err" "$T/err2"; then
	fail "server logged an internal error:"
	cat "$T/err" "$T/err2"
else
	ok "no internal errors logged"
fi
finish
