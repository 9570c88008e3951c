#!/bin/sh
# test/e2e_rewrite.sh - path rewrites and redirects end to end, with real
# curl and a real backend (which answers "b1 PATH" for most paths and echoes
# the request under /echo): Traefik's rewrite-target (prefix swap, path "/",
# with PathPrefixStrip), request-modifier (AddPrefix, ReplacePath,
# ReplacePathRegex), rule-type ReplacePath, app-root, redirect-entry-point,
# redirect-regex/-replacement and redirect-permanent (codes by method), an
# entry point's [redirect] regex; ingress-nginx's rewrite-target with
# capture groups on regex paths, use-regex (any case), app-root,
# permanent-/temporal-redirect with codes, x-forwarded-prefix,
# from-to-www-redirect, server-alias; and what must
# not happen: a rewrite bringing back "..", an encoded slash decoded, a bad
# or lone annotation served unrewritten (500 instead), a hostile regex slow.
cd "$(dirname "$0")/.." || exit 1
. test/lib.sh
B=${1:-./ingressd}
suite e2e_rewrite
EVENTUALLY_WAIT=60
[ -x "$B" ] || abort "no binary $B"

API=$(free_port)
CTL=$(free_port)
HTTP=$(free_port)
HTTP2=$(free_port)
HTTP3=$(free_port)
WEB=$(free_port)
P1=$(free_port)
start_api
backend 127.0.0.1:$P1 b1
wait_port $API && wait_port $CTL && wait_port $P1 || abort "helpers did not start"
conf_std "$T_TMP/i.conf" $HTTP $WEB "" "[entryPoints.other]
address = \"127.0.0.1:$HTTP2\"
[entryPoints.moved]
address = \"127.0.0.1:$HTTP3\"
[entryPoints.moved.redirect]
regex = '^http://([^/:]+)(:[0-9]+)?/old/(.*)\$'
replacement = 'http://\${1}.example/new/\$3'"
start_ingressd
namespace t
service_s1
T=ingress.kubernetes.io
N=nginx.ingress.kubernetes.io
echo "$T/rewrite-target: /" | ingress_with rw1 rw1.test /api
echo "$T/rewrite-target: /demo" | ingress_with rw2 rw2.test /testing
echo "$T/rewrite-target: /app/" | ingress_with rw3 rw3.test / ImplementationSpecific
printf '%s\n' "$T/rewrite-target: /v1" "$T/rule-type: PathPrefixStrip" | ingress_with rw4 rw4.test /api ImplementationSpecific
echo "$T/request-modifier: 'AddPrefix: /pre'" | ingress_with rm1 rm1.test /
echo "$T/request-modifier: 'ReplacePath: /echo/fixed'" | ingress_with rm2 rm2.test /
echo "$T/request-modifier: 'ReplacePathRegex: ^/old/(.*) /echo/new/\$1'" | ingress_with rm3 rm3.test /
echo "$T/rule-type: ReplacePath" | ingress_with rp rp.test /echo/replaced ImplementationSpecific
echo "$T/app-root: /app" | ingress_with ar ar.test /
printf '%s\n' "$T/app-root: /app" "$T/redirect-permanent: 'true'" | ingress_with arp arp.test /
echo "$T/redirect-entry-point: other" | ingress_with rep rep.test /
printf '%s\n' "traefik.$T/redirect-regex: '^http://www\\.([^/:]+)(.*)'" "traefik.$T/redirect-replacement: 'http://\$1\$2'" |
	ingress_with rx www.rx.test /
echo "$T/redirect-regex: '^http://www\\.(.*)'" | ingress_with lone lone.test /
printf '%s\n' "$T/redirect-regex: '^(a'" "$T/redirect-replacement: /x" | ingress_with badrx badrx.test /
printf '%s\n' "$T/redirect-regex: '^http://(.*)'" "$T/redirect-replacement: 'http://{{.Request.Host}}'" | ingress_with tmpl tmpl.test /
printf '%s\n' "$T/redirect-regex: '^$(head -c 1100 /dev/zero | tr '\0' x)'" "$T/redirect-replacement: /x" | ingress_with longrx longrx.test /
echo "$N/rewrite-target: /\$2" | ingress_with nr nr.test '/something(/|$)(.*)' ImplementationSpecific
echo "$N/use-regex: 'true'" | ingress_with nu nu.test '/[a-z]+/v[0-9]+' ImplementationSpecific
echo "$N/rewrite-target: https://elsewhere.example/\$1" | ingress_with nabs nabs.test '/go/(.*)' ImplementationSpecific
echo "$N/app-root: /ui" | ingress_with na na.test /
printf '%s\n' "$N/permanent-redirect: https://www.example.com/moved" "$N/permanent-redirect-code: '308'" | ingress_with np np.test /
echo "$N/temporal-redirect: https://maint.example/" | ingress_with nt nt.test /
printf '%s\n' "$N/x-forwarded-prefix: /shop" | ingress_with nx nx.test /
echo "$N/rewrite-target: /\$1" | ingress_with nbad nbad.test '/x(' ImplementationSpecific
echo "$N/use-regex: 'true'" | ingress_with hostile hostile.test '/(a*)*b' ImplementationSpecific
echo "$N/from-to-www-redirect: 'true'" | ingress_with www1 www.shop.test /
echo "$N/from-to-www-redirect: 'true'" | ingress_with www2 apex.test /
echo "$N/from-to-www-redirect: 'true'" | ingress_with www3 taken.test /
echo "{}" | ingress_with www3own www.taken.test /own
echo "$N/server-alias: 'alias1.test, ALIAS2.test, rw1.test, *.wild.test'" | ingress_with al main.test /
ready
eventually "routes built" sh -c "curl -s http://127.0.0.1:$WEB/api/providers | grep -q hostile.test"
get() { # HOST PATH [curl args]: "CODE BODY" (the body's first line)
	h=$1 p=$2
	shift 2
	curl -s -o "$T_TMP/body" -D "$T_TMP/head" -w '%{http_code} ' -H "Host: $h" "$@" "http://127.0.0.1:$HTTP$p"
	head -1 "$T_TMP/body"
}
loc() { sed -n 's/^Location: //Ip' "$T_TMP/head" | tr -d '\r'; }

# ---- Traefik's rewrite-target: the Ingress path swapped for the target
is "$(get rw1.test /api/x)" "200 b1 /x" && is "$(get rw1.test /api)" "200 b1 /" &&
	is "$(get rw1.test '/api/a/b?q=1')" "200 b1 /a/b?q=1" && ok "rewrite-target /: /api/x -> /x, /api -> /, query kept" ||
	fail "rewrite-target /: $(get rw1.test /api/x)"
is "$(get rw1.test /apix)" "404 404 page not found" && ok "... pathType Prefix is by segment: /apix is not /api (Traefik's regex took it)" ||
	fail "/apix: $(get rw1.test /apix)"
is "$(get rw2.test /testing/bacon)" "200 b1 /demo/bacon" && ok "rewrite-target /demo: /testing/bacon -> /demo/bacon" ||
	fail "rw2: $(get rw2.test /testing/bacon)"
is "$(get rw3.test /foo)" "200 b1 /app/foo" && ok "path /, rewrite-target /app/: /foo -> /app/foo" || fail "rw3: $(get rw3.test /foo)"
is "$(get rw4.test /api/x)" "200 b1 /v1/x" && ok "rewrite-target with PathPrefixStrip: /api/x -> /v1/x (Traefik did nothing)" ||
	fail "rw4: $(get rw4.test /api/x)"
get rw1.test /api/echo >/dev/null
grep -q '^X-Replaced-Path: /api/echo' "$T_TMP/body" && ok "X-Replaced-Path: the path before" || fail "X-Replaced-Path: $(cat "$T_TMP/body")"
is "$(get rw1.test '/api/a%2Fb')" "200 b1 /a%2Fb" && ok "an encoded slash stays encoded through the rewrite" ||
	fail "%2F: $(get rw1.test '/api/a%2Fb')"
is "$(get rw1.test '/api/x/../y')" "200 b1 /y" && is "$(get rw1.test '/api/../etc')" "404 404 page not found" &&
	ok "dot-segments resolved before the route: /api/../etc is /etc, not this route" || fail "dots: $(get rw1.test '/api/x/../y')"

# ---- request-modifier and rule-type ReplacePath
is "$(get rm1.test /foo)" "200 b1 /pre/foo" && ok "request-modifier AddPrefix" || fail "AddPrefix: $(get rm1.test /foo)"
get rm2.test /anything >/dev/null
grep -q '^path=/echo/fixed' "$T_TMP/body" && grep -q '^X-Replaced-Path: /anything' "$T_TMP/body" &&
	ok "request-modifier ReplacePath, X-Replaced-Path" || fail "ReplacePath: $(cat "$T_TMP/body")"
get rm3.test /old/a/b >/dev/null
grep -q '^path=/echo/new/a/b' "$T_TMP/body" && ok "request-modifier ReplacePathRegex with \$1" || fail "ReplacePathRegex: $(cat "$T_TMP/body")"
is "$(get rm3.test /other)" "200 b1 /other" && ok "... no match: the path as it is" || fail "no match"
get rp.test /whatever >/dev/null
grep -q '^path=/echo/replaced' "$T_TMP/body" && ok "rule-type ReplacePath: any path of the host becomes the Ingress path" ||
	fail "rule-type ReplacePath: $(cat "$T_TMP/body")"

# ---- redirects
is "$(get ar.test /)" "302 Found" && is "$(loc)" "http://ar.test/app" && ok "app-root: / -> 302 http://ar.test/app" ||
	fail "app-root: $(get ar.test /) $(loc)"
is "$(curl -s -o /dev/null -D "$T_TMP/head" -w '%{http_code}' -H 'Host: ar.test:8080' "http://127.0.0.1:$HTTP/?x=1")" 302 &&
	is "$(loc)" "http://ar.test:8080/app" &&
	ok "app-root with a query and a port in Host (Traefik 1.7 did not redirect)" || fail "app-root query: $(loc)"
is "$(get ar.test /other)" "200 b1 /other" && ok "app-root: only /" || fail "app-root other"
is "$(get arp.test /)" "301 Moved Permanently" && is "$(get arp.test / -X POST)" "308 Permanent Redirect" &&
	is "$(get ar.test / -X POST)" "307 Temporary Redirect" && ok "codes: 302/307, 301/308 with redirect-permanent, by method" ||
	fail "codes: $(get arp.test / -X POST)"
is "$(get rep.test '/a?b=1')" "302 Found" && is "$(loc)" "http://rep.test:$HTTP2/a?b=1" &&
	ok "redirect-entry-point other: to its port, the target kept" || fail "redirect-entry-point: $(loc)"
is "$(curl -s -o /dev/null -w '%{http_code}' -H 'Host: rep.test' http://127.0.0.1:$HTTP2/a)" 200 &&
	ok "... and never on that entry point itself (no loop)" || fail "redirect loop"
is "$(get www.rx.test /p/q)" "302 Found" && is "$(loc)" "http://rx.test/p/q" &&
	ok "redirect-regex + redirect-replacement (legacy prefix too): www. dropped" || fail "redirect-regex: $(loc)"
printf '%s\n' "$T/redirect-regex: '^http://www\\.([^/]+)/keep(.*)'" "$T/redirect-replacement: 'http://www.\$1/keep\$2'" |
	ingress_with same same.test /
eventually "same.test built" sh -c "curl -s http://127.0.0.1:$WEB/api/providers | grep -q same.test"
is "$(get same.test /keep/a -H 'Host: www.same.test')" "404 404 page not found" || true
is "$(curl -s -H 'Host: same.test' http://127.0.0.1:$HTTP/keep/a)" "b1 /keep/a" &&
	ok "... no match, or the same URL: on to the pod, as in Traefik" || fail "redirect-regex no match"
for h in lone badrx tmpl longrx; do
	is "$(get $h.test /)" "500 Internal Server Error" || fail "$h: $(get $h.test /)"
done
grep -q 'ingress t/lone: redirect-regex and redirect-replacement go together' "$T_TMP/ingressd.log" &&
	grep -q "ingress t/badrx: redirect-regex: column 2: missing )" "$T_TMP/ingressd.log" &&
	grep -q 'ingress t/tmpl: redirect-replacement: Go templates' "$T_TMP/ingressd.log" &&
	ok "a lone redirect-regex, a bad regex (with its column), a Go template: 500, logged" || fail "bad redirects not logged"
is "$(curl -s -o /dev/null -D "$T_TMP/head" -w '%{http_code}' -H 'Host: any.test' "http://127.0.0.1:$HTTP3/old/x?y=1")" 302 &&
	is "$(loc)" "http://any.test.example/new/x?y=1" && ok "[entryPoints.moved.redirect] regex and replacement" ||
	fail "entry point regex redirect: $(loc)"

# ---- ingress-nginx
is "$(get nr.test /something/new)" "200 b1 /new" && is "$(get nr.test /something)" "200 b1 /" &&
	is "$(get nr.test '/SOMETHING/a?z=1')" "200 b1 /a?z=1" && ok "nginx rewrite-target /\$2 on /something(/|\$)(.*), any case" ||
	fail "nginx rewrite: $(get nr.test /something/new)"
is "$(get nu.test /shop/v2/items)" "200 b1 /shop/v2/items" && is "$(get nu.test /SHOP/V3)" "200 b1 /SHOP/V3" &&
	is "$(get nu.test /9/v2)" "404 404 page not found" && ok "use-regex: a ~* location (anchored at the start, any case)" ||
	fail "use-regex: $(get nu.test /shop/v2/items)"
is "$(get nabs.test /go/x)" "302 Found" && is "$(loc)" "https://elsewhere.example/x" &&
	ok "an absolute rewrite-target redirects, as nginx does" || fail "absolute target: $(loc)"
is "$(get na.test /)" "302 Found" && is "$(loc)" "http://na.test/ui" && ok "nginx app-root" || fail "nginx app-root"
is "$(get np.test /any)" "308 Permanent Redirect" && is "$(loc)" "https://www.example.com/moved" &&
	ok "permanent-redirect with permanent-redirect-code 308" || fail "permanent-redirect: $(loc)"
is "$(get nt.test /x)" "302 Found" && is "$(loc)" "https://maint.example/" && ok "temporal-redirect" || fail "temporal"
curl -s -H 'Host: nx.test' http://127.0.0.1:$HTTP/echo | grep -q '^X-Forwarded-Prefix: /shop' && ok "x-forwarded-prefix" ||
	fail "x-forwarded-prefix"
is "$(get nbad.test '/x(')" "500 Internal Server Error" && grep -q 'ingress t/nbad: path /x( as a regex: column' "$T_TMP/ingressd.log" &&
	ok "a path that is not a regex: 500, logged with its column" || fail "bad nginx regex"
is "$(get shop.test '/x?y=1')" "308 Permanent Redirect" && is "$(loc)" "http://www.shop.test/x?y=1" &&
	is "$(get www.apex.test /z)" "308 Permanent Redirect" && is "$(loc)" "http://apex.test/z" &&
	ok "from-to-www-redirect: the other name 308 to the rule's host, both ways" || fail "from-to-www: $(loc)"
is "$(get www.taken.test /own)" "200 b1 /own" && is "$(get www.taken.test /x)" "404 404 page not found" &&
	ok "... not over a name another Ingress routes" || fail "from-to-www over a routed name"
is "$(get alias1.test /q)" "200 b1 /q" && is "$(get alias2.test /q)" "200 b1 /q" && is "$(get rw1.test /q)" "404 404 page not found" &&
	grep -q 'ingress t/al: server-alias "\*.wild.test": not an exact host name; left out' "$T_TMP/ingressd.log" &&
	ok "server-alias: the aliases served as the host (not a name another Ingress routes, not a wildcard: said)" ||
	fail "server-alias"
long=$(head -c 6000 /dev/zero | tr '\0' a)
s=$(date +%s%N)
is "$(get hostile.test "/$long")" "404 404 page not found" && e=$(( ($(date +%s%N) - s) / 1000000 )) && [ "$e" -lt 1000 ] &&
	ok "a hostile regex (/(a*)*b) on 6000 a's: answered in ${e} ms (linear time)" || fail "hostile regex: ${e} ms"
eventually "redirects counted" sh -c "curl -s http://127.0.0.1:$WEB/metrics | grep -q 'ingressd_own_answers_total{code=\"302\",reason=\"redirect\"} [1-9]'"
finish
