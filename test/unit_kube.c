/*
 * test/unit_kube.c - the input side: the JSON framer of the watch client,
 * the decoders, the object store, the routing-table build and route
 * lookup. Includes ingressd.c (main compiled out), links the mock port.
 */
#define ING_NO_MAIN
#include "../ingressd.c"

#include <math.h>

#include "../port/mock.h"
#include "unit.h"

static struct cf ut_cf;
static struct cf_parser ut_ps;

static void
setup(const char *conftext)
{
	CHECK(cf_parse(&ut_ps, &ut_cf, "t", conftext, strlen(conftext)) == 0);
	cf_live = &ut_cf;
	st_init();
	memset(&g_kw, 0, sizeof g_kw);
	for (int i = 0; i < SK__COUNT; i++)
		g_kw.api[i] = kw_api_first(i);
	memset(&g_lb, 0, sizeof g_lb);
	g_rb.live = -1;
	g.now = 1000;
}

/* A stream of `kind` using API index `api`, in `phase`. */
static struct kw_stream *
stream(int kind, int api, int phase)
{
	struct kw_stream *s = &g_kw.st[kind];
	memset(s, 0, offsetof(struct kw_stream, obj));
	s->used = 1;
	s->kind = (uint8_t)kind;
	s->api = api;
	s->phase = (uint8_t)phase;
	s->conn = -1;
	kw_frame_init(&s->fr, phase == KS_LIST ? KF_LIST : phase == KS_WATCH ? KF_WATCH : KF_OBJECT);
	return s;
}

/* Feeds text in pieces of `step` bytes, each copied to a guard page. */
static int
feed(struct kw_stream *s, const char *text, size_t step)
{
	size_t n = strlen(text);
	for (size_t off = 0; off < n; off += step) {
		size_t k = ING_MIN(step, n - off);
		void *base;
		size_t ml;
		char *p = guard_copy(text + off, k, &base, &ml);
		int r = kw_frame_feed(s, p, k);
		guard_free(base, ml);
		if (r != 0)
			return r;
	}
	return 0;
}

#define ING_V1(ns, name, ts, ann, spec)                                                                     \
	"{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"" ns "\",\"creationTimestamp\":\"" ts "\"" \
	",\"annotations\":{" ann "}},\"spec\":" spec "}"

static const char *list_doc =
    "{\"kind\":\"IngressList\",\"apiVersion\":\"networking.k8s.io/v1\",\"metadata\":{\"resourceVersion\":\"4711\","
    "\"continue\":\"tok\\\"en\"},\"items\":["
    ING_V1("default", "a", "2026-01-01T00:00:00Z", "\"x\":\"}]{[\"",
           "{\"rules\":[{\"host\":\"A.Example.com\",\"http\":{\"paths\":[{\"path\":\"/x\",\"pathType\":\"Prefix\","
           "\"backend\":{\"service\":{\"name\":\"svc\",\"port\":{\"number\":80}}}}]}}]}") ","
    ING_V1("default", "b", "2026-01-02T00:00:00Z", "",
           "{\"backend\":{\"serviceName\":\"svc\",\"servicePort\":\"http\"}}") "]}";

TEST(test_frame_list)
{
	for (size_t step = 1; step <= strlen(list_doc); step += step < 40 ? 1 : 97) {
		setup("");
		struct kw_stream *s = stream(SK_INGRESS, 0, KS_LIST);
		if (feed(s, list_doc, step) != 0 || g_st.count[SK_INGRESS] != 2) {
			CHECK(!"list framing per piece");
			fprintf(stderr, "  step %zu\n", step);
			break;
		}
	}
	setup("");
	struct kw_stream *s = stream(SK_INGRESS, 0, KS_LIST);
	CHECK(feed(s, list_doc, 7) == 0);
	struct js j;
	char rv[32], cont[64];
	CHECK(js_parse(&j, s->fr.env, s->fr.envlen) == 0);
	CHECK(js_str(&j, js_path(&j, 0, "metadata", "resourceVersion", NULL), rv, sizeof rv) == 4 && !strcmp(rv, "4711"));
	CHECK(js_str(&j, js_path(&j, 0, "metadata", "continue", NULL), cont, sizeof cont) > 0 && !strcmp(cont, "tok\"en"));
	struct st_ing *a = st_find(SK_INGRESS, "default", "a"), *b = st_find(SK_INGRESS, "default", "b");
	CHECK(a != NULL && b != NULL);
	CHECK(a && a->npaths == 1 && !strcmp(g_st.path[a->paths].host, "a.example.com"));
	CHECK(a && g_st.path[a->paths].path_type == PT_PREFIX && g_st.path[a->paths].be.port == 80);
	CHECK(b && b->has_default && !strcmp(b->def.svc, "svc") && !strcmp(b->def.port_name, "http"));
	CHECK(a && a->created == 1767225600);
	/* not a list at all */
	s = stream(SK_INGRESS, 0, KS_LIST);
	CHECK(feed(s, "[1,2]", 5) != 0 || g_st.count[SK_INGRESS] == 2);
}

TEST(test_frame_watch)
{
	setup("");
	struct kw_stream *s = stream(SK_SERVICE, kw_api_first(SK_SERVICE), KS_WATCH);
	const char *ev =
	    "{\"type\":\"ADDED\",\"object\":{\"kind\":\"Service\",\"metadata\":{\"name\":\"s1\",\"namespace\":\"n\","
	    "\"resourceVersion\":\"5\"},\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":80}]}}}\n"
	    "garbage line {\"not\": json\n"
	    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"cut\n"
	    "{\"type\":\"MODIFIED\",\"object\":{\"metadata\":{\"name\":\"s1\",\"namespace\":\"n\",\"resourceVersion\":\"6\"},"
	    "\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":81}]}}}\n"
	    "{\"type\":\"BOOKMARK\",\"object\":{\"kind\":\"Service\",\"metadata\":{\"resourceVersion\":\"9\"}}}\n"
	    "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"bad\",\"namespace\":\"n\"},\"spec\":{\"ports\":[{\"port\":\"x\"}]}}}\n";
	uint64_t errs = g_kw.decode_errors[SK_SERVICE];
	CHECK(feed(s, ev, 3) == 0);
	struct st_svc *v = st_find(SK_SERVICE, "n", "s1");
	CHECK(v != NULL && v->nports == 1 && v->ports[0].port == 81);
	CHECK(!strcmp(s->rv, "9"));
	CHECK(st_find(SK_SERVICE, "n", "bad") == NULL);
	CHECK(g_kw.decode_errors[SK_SERVICE] == errs + 3); /* garbage, truncated, bad port */
	/* DELETED */
	CHECK(feed(s, "{\"type\":\"DELETED\",\"object\":{\"metadata\":{\"name\":\"s1\",\"namespace\":\"n\"}}}\n", 11) == 0);
	CHECK(st_find(SK_SERVICE, "n", "s1") == NULL);
	/* a 410 ERROR event clears the resource version (relist follows) */
	strcpy(s->rv, "9");
	CHECK(feed(s, "{\"type\":\"ERROR\",\"object\":{\"kind\":\"Status\",\"code\":410,\"message\":\"too old\"}}\n", 50) == 0);
	CHECK(s->rv[0] == '\0');
	/* an object over ING_MAX_OBJECT_BYTES is skipped, the stream goes on */
	{
		static char big[ING_MAX_OBJECT_BYTES + 400];
		int n = snprintf(big, sizeof big, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"huge\",\"namespace\":\"n\","
		                                  "\"annotations\":{\"a\":\"");
		memset(big + n, 'x', ING_MAX_OBJECT_BYTES);
		strcpy(big + n + ING_MAX_OBJECT_BYTES, "\"}}}}\n");
		uint64_t hits = g_lim.hits[LIM_OBJECT_BYTES];
		CHECK(feed(s, big, 4096) == 0);
		CHECK(g_lim.hits[LIM_OBJECT_BYTES] == hits + 1 && st_find(SK_SERVICE, "n", "huge") == NULL);
		CHECK(feed(s, "{\"type\":\"ADDED\",\"object\":{\"metadata\":{\"name\":\"after\",\"namespace\":\"n\"}}}\n", 9) == 0);
		CHECK(st_find(SK_SERVICE, "n", "after") != NULL);
	}
}

TEST(test_js_strings)
{
	struct js j;
	char out[64];
	const char *t = "{\"a\":\"caf\\u00e9 \\ud83d\\ude00 \\\"q\\\" \\/ \\n\",\"b\":\"\\ud83d\",\"c\":\"x\\u0000\",\"d\":12,"
	                "\"e\":\"raw \xc3\xa9\",\"f\":null,\"g\":\"\\uDE00x\"}";
	CHECK(js_parse(&j, t, strlen(t)) == 0);
	CHECK(js_str(&j, js_get(&j, 0, "a"), out, sizeof out) > 0 && !strcmp(out, "caf\xc3\xa9 \xf0\x9f\x98\x80 \"q\" / \n"));
	CHECK(js_str(&j, js_get(&j, 0, "b"), out, sizeof out) < 0); /* lone high surrogate */
	CHECK(js_str(&j, js_get(&j, 0, "c"), out, sizeof out) < 0); /* NUL */
	CHECK(js_str(&j, js_get(&j, 0, "d"), out, sizeof out) < 0); /* not a string */
	CHECK(js_str(&j, js_get(&j, 0, "e"), out, sizeof out) > 0 && !strcmp(out, "raw \xc3\xa9"));
	CHECK(js_str(&j, js_get(&j, 0, "f"), out, sizeof out) == 0);
	CHECK(js_str(&j, js_get(&j, 0, "g"), out, sizeof out) < 0); /* lone low surrogate */
	CHECK(js_str(&j, js_get(&j, 0, "a"), out, 5) < 0);           /* too long */
	int64_t v;
	CHECK(js_int(&j, js_get(&j, 0, "d"), 0, 100, &v) == 0 && v == 12);
	CHECK(js_int(&j, js_get(&j, 0, "d"), 0, 10, &v) != 0);
	CHECK(js_int(&j, js_get(&j, 0, "a"), 0, 100, &v) != 0);
	CHECK(js_parse(&j, "{\"a\":1.5}", 9) == 0 && js_int(&j, js_get(&j, 0, "a"), 0, 100, &v) != 0);
	CHECK(js_parse(&j, "[1]", 3) != 0);
	CHECK(js_parse(&j, "{\"a\":", 5) != 0);
	CHECK(js_time("2026-11-27T10:42:28Z") == 1795776148);
	CHECK(js_time("1970-01-01T00:00:00Z") == 0 && js_time("garbage") == 0);
}

/* Applies one object of a kind as a list item would. */
static int
apply(int kind, int api, const char *obj)
{
	struct kw_stream *s = stream(kind, api, KS_LIST);
	uint64_t errs = g_kw.decode_errors[kind];
	static char doc[2 * ING_MAX_OBJECT_BYTES];
	snprintf(doc, sizeof doc, "{\"metadata\":{},\"items\":[%s]}", obj);
	feed(s, doc, strlen(doc));
	return g_kw.decode_errors[kind] == errs ? 0 : -1;
}

TEST(test_js_ingress)
{
	setup("");
	const char *v1 = ING_V1(
	    "web", "i1", "2026-01-01T00:00:00Z",
	    "\"traefik.frontend.rule.type\":\"PathPrefixStrip\",\"ingress.kubernetes.io/rule-type\":\"Path\","
	    "\"traefik.frontend.priority\":\"7\",\"ingress.kubernetes.io/whitelist-source-range\":\"10.0.0.0/8, , 1.1.1.1/24,::1\","
	    "\"ingress.kubernetes.io/auth-type\":\"basic\",\"traefik.ingress.kubernetes.io/auth-secret\":\"pw\","
	    "\"traefik.frontend.passHostHeader\":\"false\",\"kubernetes.io/ingress.class\":\"traefik\"",
	    "{\"ingressClassName\":\"other\",\"tls\":[{\"hosts\":[\"a.io\",\"*.b.io\"],\"secretName\":\"tls1\"}],"
	    "\"rules\":[{\"host\":\"a.io\",\"http\":{\"paths\":[{\"path\":\"/\",\"pathType\":\"Exact\",\"backend\":{\"service\":"
	    "{\"name\":\"s\",\"port\":{\"name\":\"web\"}}}},{\"path\":\"/api\",\"pathType\":\"ImplementationSpecific\","
	    "\"backend\":{\"service\":{\"name\":\"s\",\"port\":{\"number\":8080}}}}]}},{\"http\":{\"paths\":[{\"backend\":"
	    "{\"serviceName\":\"old\",\"servicePort\":\"8081\"}}]}}]}");
	CHECK(apply(SK_INGRESS, 0, v1) == 0);
	struct st_ing *r = st_find(SK_INGRESS, "web", "i1");
	CHECK(r != NULL);
	if (r == NULL)
		return;
	CHECK(!strcmp(r->a_rule_type, "Path")); /* ingress.kubernetes.io/ beats traefik.frontend */
	CHECK(!strcmp(r->a_priority, "7") && !strcmp(r->a_auth_secret, "pw") && !strcmp(r->a_preserve_host, "false"));
	CHECK(r->npaths == 3 && r->ntls == 2 && r->wl.n == 3 && !r->wl.invalid);
	CHECK(!strcmp(r->class_name, "other") && !strcmp(r->a_class, "traefik"));
	const struct st_path *p3 = &g_st.path[g_st.path[g_st.path[r->paths].next].next];
	CHECK(p3->host[0] == '\0' && p3->be.port == 8081 && p3->be.port_name[0] == '\0' && p3->path_type == PT_IMPL);
	const struct st_cidr *c2 = &g_st.cidr[g_st.cidr[r->wl.first].next];
	CHECK(c2->family == 4 && c2->bits == 24 && c2->ip[3] == 0 && c2->ip[2] == 1);
	/* an invalid whitelist entry marks the list invalid (rb_ denies) */
	CHECK(apply(SK_INGRESS, 0, ING_V1("web", "i2", "2026-01-01T00:00:00Z",
	                                  "\"ingress.kubernetes.io/whitelist-source-range\":\"10.0.0.0/8,10.0.0.0/33\"", "{}")) == 0);
	r = st_find(SK_INGRESS, "web", "i2");
	CHECK(r && r->wl.invalid && !strcmp(r->wl.bad, "10.0.0.0/33") && r->wl.n == 1);
	/* malformed: the previous version stays */
	CHECK(apply(SK_INGRESS, 0, ING_V1("web", "i1", "2026-01-01T00:00:00Z", "",
	                                  "{\"rules\":[{\"host\":\"bad host\",\"http\":{\"paths\":[]}}]}")) != 0);
	r = st_find(SK_INGRESS, "web", "i1");
	CHECK(r && r->npaths == 3);
	CHECK(apply(SK_INGRESS, 0, ING_V1("web", "i1", "x", "", "{\"rules\":[{\"http\":{\"paths\":[{\"path\":\"nostart\","
	                                                       "\"backend\":{\"serviceName\":\"s\",\"servicePort\":1}}]}}]}")) != 0);
	CHECK(apply(SK_INGRESS, 0, ING_V1("web", "i1", "x", "", "{\"rules\":[{\"http\":{\"paths\":[{\"path\":\"/\","
	                                                       "\"backend\":{\"serviceName\":\"s\",\"servicePort\":70000}}]}}]}")) != 0);
	CHECK(apply(SK_INGRESS, 0, ING_V1("web", "i1", "x", "", "{\"rules\":[{\"http\":{\"paths\":[{\"path\":\"/\","
	                                                       "\"pathType\":\"Weird\",\"backend\":{\"serviceName\":\"s\",\"servicePort\":1}}]}}]}")) != 0);
	CHECK(apply(SK_INGRESS, 0, "{\"metadata\":{\"name\":\"nons\"},\"spec\":{}}") != 0);
	r = st_find(SK_INGRESS, "web", "i1");
	CHECK(r && r->npaths == 3);
	/* the pools got back what the failed decodes took */
	CHECK(g_st.p_path.used == 3 && g_st.p_cidr.used == 4 && g_st.p_tlsh.used == 2);
	/* a class we do not serve: not stored, and removed if it was */
	CHECK(apply(SK_INGRESS, 0, ING_V1("web", "i1", "x", "\"kubernetes.io/ingress.class\":\"nginx\"", "{}")) == 0);
	CHECK(st_find(SK_INGRESS, "web", "i1") == NULL);
	CHECK(apply(SK_INGRESS, 0, "{\"metadata\":{\"name\":\"c\",\"namespace\":\"w\"},\"spec\":{\"ingressClassName\":\"ingressd\"}}") == 0);
	CHECK(st_find(SK_INGRESS, "w", "c") != NULL);
	setup("[kubernetes]\ningressClass = \"edge\"\n");
	CHECK(apply(SK_INGRESS, 0, "{\"metadata\":{\"name\":\"c\",\"namespace\":\"w\"},\"spec\":{\"ingressClassName\":\"ingressd\"}}") == 0);
	CHECK(st_find(SK_INGRESS, "w", "c") == NULL);
	CHECK(apply(SK_INGRESS, 0, "{\"metadata\":{\"name\":\"d\",\"namespace\":\"w\"},\"spec\":{\"ingressClassName\":\"edge\"}}") == 0);
	CHECK(st_find(SK_INGRESS, "w", "d") != NULL);
}

TEST(test_js_endpoints_secrets)
{
	setup("");
	/* EndpointSlice v1: only ready endpoints serve; unset ready means ready */
	CHECK(apply(SK_ENDPOINTS, kw_api_first(SK_ENDPOINTS),
	            "{\"metadata\":{\"name\":\"s-1\",\"namespace\":\"n\",\"labels\":{\"kubernetes.io/service-name\":\"s\"}},"
	            "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":8080},{\"name\":null,\"port\":9}],"
	            "\"endpoints\":[{\"addresses\":[\"10.0.0.1\"],\"conditions\":{\"ready\":true}},"
	            "{\"addresses\":[\"10.0.0.2\"],\"conditions\":{\"ready\":false}},{\"addresses\":[\"10.0.0.3\"]}]}") == 0);
	struct st_eps *e = st_find(SK_ENDPOINTS, "n", "s-1");
	CHECK(e && !strcmp(e->svc, "s") && e->nports == 2 && e->naddrs == 3 && e->ports[1].name[0] == '\0');
	CHECK(e && g_st.addr[e->addrs].ready && !g_st.addr[g_st.addr[e->addrs].next].ready);
	CHECK(apply(SK_ENDPOINTS, kw_api_first(SK_ENDPOINTS),
	            "{\"metadata\":{\"name\":\"bad\",\"namespace\":\"n\",\"labels\":{\"kubernetes.io/service-name\":\"s\"}},"
	            "\"addressType\":\"IPv4\",\"endpoints\":[{\"addresses\":[\"10.0.0.300\"]}]}") != 0);
	CHECK(apply(SK_ENDPOINTS, kw_api_first(SK_ENDPOINTS),
	            "{\"metadata\":{\"name\":\"nolabel\",\"namespace\":\"n\"},\"endpoints\":[]}") != 0);
	/* core Endpoints: subsets, notReadyAddresses dropped */
	CHECK(apply(SK_ENDPOINTS, kw_api_first(SK_ENDPOINTS) + 2,
	            "{\"metadata\":{\"name\":\"core\",\"namespace\":\"n\"},\"subsets\":[{\"addresses\":[{\"ip\":\"10.1.0.1\"}],"
	            "\"notReadyAddresses\":[{\"ip\":\"10.1.0.9\"}],\"ports\":[{\"name\":\"a\",\"port\":1}]},{\"addresses\":[{\"ip\":"
	            "\"fd00::1\"}],\"ports\":[{\"name\":\"b\",\"port\":2}]}]}") == 0);
	e = st_find(SK_ENDPOINTS, "n", "core");
	CHECK(e && e->core && e->naddrs == 2 && e->nports == 2 && e->ports[1].subset == 1 && g_st.addr[g_st.addr[e->addrs].next].family == 6);
	/* Secrets: only referenced ones are kept, data base64-decoded */
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET), "{\"metadata\":{\"name\":\"pw\",\"namespace\":\"n\"},\"data\":{\"auth\":\"dTpw\"}}") == 0);
	CHECK(st_find(SK_SECRET, "n", "pw") == NULL);
	CHECK(apply(SK_INGRESS, 0, ING_V1("n", "i", "x", "\"ingress.kubernetes.io/auth-secret\":\"pw\"", "{}")) == 0);
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET), "{\"metadata\":{\"name\":\"pw\",\"namespace\":\"n\"},\"type\":\"Opaque\","
	                                              "\"data\":{\"auth\":\"dTpw\",\"k2\":\"\"}}") == 0);
	struct st_secret *sec = st_find(SK_SECRET, "n", "pw");
	size_t len;
	const unsigned char *d = sec ? st_secret_data(sec, "auth", &len) : NULL;
	CHECK(sec && sec->nkeys == 2 && d && len == 3 && !memcmp(d, "u:p", 3));
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET), "{\"metadata\":{\"name\":\"pw\",\"namespace\":\"n\"},\"data\":{\"auth\":\"d!pw\"}}") != 0);
	CHECK(st_find(SK_SECRET, "n", "pw") != NULL); /* the previous version stays */
	/* the Ingress goes: the Secret is dropped at the next rebuild */
	CHECK(apply(SK_INGRESS, 0, ING_V1("n", "i", "x", "", "{}")) == 0);
	st_secret_gc();
	CHECK(st_find(SK_SECRET, "n", "pw") == NULL);
	/* base64 */
	unsigned char b[16];
	CHECK(au_b64_decode("aGVsbG8=", 8, b, sizeof b) == 5 && !memcmp(b, "hello", 5));
	CHECK(au_b64_decode("aGVsbG8", 7, b, sizeof b) == 5);
	CHECK(au_b64_decode("aGVsbG9=", 8, b, sizeof b) < 0); /* non-zero trailing bits */
	CHECK(au_b64_decode("aGV sbG8=", 9, b, sizeof b) < 0);
	CHECK(au_b64_decode("a", 1, b, sizeof b) < 0);
	CHECK(au_b64_decode("aGVsbG8=", 8, b, 4) < 0);
	CHECK(au_b64_decode("", 0, b, sizeof b) == 0);
	CHECK(au_b64_decode("====", 4, b, sizeof b) < 0);
}

/* Secrets: listed after the Ingresses, fetched by name only after that
 * list, each fetch remembered until KW_MISS_MS, readiness waiting for
 * fetches; TLS Secrets only with an HTTPS entry point. */
TEST(test_kw_secret_fetch)
{
	char why[200];
	setup("[entryPoints.http]\naddress = \":80\"\n[entryPoints.https]\naddress = \":443\"\n  [entryPoints.https.tls]\n");
	CHECK(apply(SK_INGRESS, 0, ING_V1("n", "i", "x", "\"ingress.kubernetes.io/auth-secret\":\"pw\"",
	                                  "{\"tls\":[{\"hosts\":[\"a.io\"],\"secretName\":\"t1\"}]}")) == 0);
	for (int k = 0; k < SK__COUNT; k++)
		stream(k, kw_api_first(k), KS_IDLE);
	g_kw.nstreams = SK__COUNT;
	struct kw_stream *get = &g_kw.st[SK__COUNT];
	CHECK(kw_held(&g_kw.st[SK_SECRET]) && !kw_held(&g_kw.st[SK_SERVICE]));
	for (int k = 0; k < SK__COUNT; k++)
		g_kw.st[k].synced = k != SK_SECRET;
	CHECK(!kw_held(&g_kw.st[SK_SECRET]));
	kw_fetch_missing(); /* the Secret list will bring them */
	CHECK(!get[0].used && strstr(kw_not_ready(why, sizeof why), "secrets") != NULL);
	g_kw.st[SK_SECRET].synced = 1;
	kw_fetch_missing();
	CHECK(get[0].used && get[0].phase == KS_GET && !strcmp(get[0].get_name, "pw") && kw_fetching("n", "t1"));
	CHECK(!kw_fetching("n", "t2") && !kw_fetching("m", "pw"));
	CHECK(kw_not_ready(why, sizeof why) != NULL && !strcmp(why, "Secret n/pw being fetched"));
	kw_fetch_missing(); /* no second fetch of the same Secret */
	CHECK(!get[2].used);
	/* the fetches bring nothing: remembered, not fetched again; ready */
	kw_get_done(&get[0]);
	kw_get_done(&get[1]);
	CHECK(!get[0].used && !get[1].used && g_kw.dirty && kw_not_ready(why, sizeof why) == NULL);
	kw_fetch_missing();
	CHECK(!get[0].used);
	g.now += KW_MISS_MS;
	kw_fetch_missing();
	CHECK(get[0].used && get[1].used);
	get[0].used = get[1].used = 0;
	/* no more fetches than the miss list can remember */
	for (int m = 1; m < ING_MAX_SECRETS; m++)
		g_kw.miss[m].next_try = g.now + 1;
	g_kw.miss[0].next_try = 0;
	kw_fetch_missing();
	CHECK(get[0].used && !get[1].used);
	/* a fetched Secret is kept; without an HTTPS entry point a TLS one is not */
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET), "{\"metadata\":{\"name\":\"t1\",\"namespace\":\"n\"},\"data\":{}}") == 0);
	CHECK(st_find(SK_SECRET, "n", "t1") != NULL);
	ut_cf.eps[1].tls = 0;
	st_secret_gc();
	CHECK(st_find(SK_SECRET, "n", "t1") == NULL);
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET), "{\"metadata\":{\"name\":\"t1\",\"namespace\":\"n\"},\"data\":{}}") == 0);
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET), "{\"metadata\":{\"name\":\"pw\",\"namespace\":\"n\"},\"data\":{}}") == 0);
	CHECK(st_find(SK_SECRET, "n", "t1") == NULL && st_find(SK_SECRET, "n", "pw") != NULL);
}

/* The Ingress status writer (issue 13): what is published (hostile
 * Service status entries left out), which Ingresses get a write, the
 * patch, a class moving away, the queue limit, 409 and 403. */
#define ING_ST(name, cls, rv, status)                                                                         \
	"{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"n\",\"resourceVersion\":\"" rv "\"},\"spec\":{" cls \
	"\"backend\":{\"serviceName\":\"svc\",\"servicePort\":80}},\"status\":{\"loadBalancer\":{\"ingress\":[" status "]}}}"
/* Every kind has rows in kw_apis, kw_api_first finds the first, and the
 * rows of a kind are adjacent (the 404 fallback walks to the next row of
 * the same kind). */
TEST(test_kw_api_table)
{
	for (int k = 0; k < SK__COUNT; k++) {
		int f = kw_api_first(k);
		CHECK(kw_apis[f].kind == k && (f == 0 || kw_apis[f - 1].kind != k));
		for (int i = f; i < (int)ING_ARRAY_LEN(kw_apis) && kw_apis[i].kind == k; i++)
			CHECK(strcmp(kw_apis[i].resource, kw_apis[f].resource) == 0 || k == SK_ENDPOINTS);
	}
	for (int i = 0; i < (int)ING_ARRAY_LEN(kw_apis); i++)
		CHECK(i == kw_api_first(kw_apis[i].kind) || kw_apis[i - 1].kind == kw_apis[i].kind);
}

TEST(test_kw_status)
{
	struct cn *c = &g_cn.tab[0]; /* a slot of the table: its deadline goes in the loop's heap */
	g_bf.free_head = -1;
	setup("[kubernetes.ingressEndpoint]\npublishedService = \"k/edge\"\n");
	kw_status_want();
	CHECK(!g_kw.status.known);
	CHECK(apply(SK_SERVICE, kw_api_first(SK_SERVICE),
	            "{\"metadata\":{\"name\":\"edge\",\"namespace\":\"k\"},\"spec\":{},\"status\":{\"loadBalancer\":"
	            "{\"ingress\":[{\"ip\":\"1.2.3.4\\\",\\\"x\"},{\"hostname\":\"A..b\"},{\"ip\":7},{},{\"ip\":\"10.0.0.5\"},"
	            "{\"hostname\":\"lb.example.com\",\"ip\":\"10.0.0.6\",\"ports\":[{\"port\":80}]}]}}}") == 0);
	CHECK(g_kw.status.known &&
	      !strcmp(g_kw.status.want, "{\"ip\":\"10.0.0.5\"},{\"ip\":\"10.0.0.6\",\"hostname\":\"lb.example.com\"}"));
	CHECK(apply(SK_INGRESS, 0, ING_ST("a", "", "5", "")) == 0);
	CHECK(apply(SK_INGRESS, 0, ING_ST("b", "\"ingressClassName\":\"other\",", "6", "{\"ip\":\"9.9.9.9\"}")) == 0);
	CHECK(apply(SK_INGRESS, 0, ING_ST("c", "", "7", "{\"ip\":\"10.0.0.5\"},{\"hostname\":\"lb.example.com\",\"ip\":\"10.0.0.6\"}")) == 0);
	for (int k = 0; k < SK__COUNT; k++)
		stream(k, kw_api_first(k), KS_WATCH)->synced = 1;
	g_kw.nstreams = SK__COUNT;
	struct kw_stream *w = &g_kw.st[SK__COUNT];
	kw_status_tick(); /* not before ready */
	CHECK(g_kw.status.nq == 0 && !w->used);
	g_kw.ready = 1;
	kw_status_tick(); /* a only: b is another class's, c shows it already */
	CHECK(g_kw.status.nq == 1 && w->used && kw_is_status(w) && w->phase == KS_PATCH && !strcmp(w->get_name, "a") &&
	      !strcmp(w->rv, "5") && !w->clear && kw_waiting() == NULL);
	CHECK(kw_send(w, c) == 0);
	c->out->d[c->out->w] = '\0';
	CHECK(strstr(c->out->d, "PATCH /apis/networking.k8s.io/v1/namespaces/n/ingresses/a/status HTTP/1.1\r\n") == c->out->d &&
	      strstr(c->out->d, "Content-Type: application/merge-patch+json\r\n") != NULL &&
	      strstr(c->out->d, "\r\n\r\n{\"metadata\":{\"resourceVersion\":\"5\"},\"status\":{\"loadBalancer\":{\"ingress\":"
	                       "[{\"ip\":\"10.0.0.5\"},{\"ip\":\"10.0.0.6\",\"hostname\":\"lb.example.com\"}]}}}") != NULL);
	bf_put(&c->out);
	/* a 409: read again (a GET), then done; the re-read shows it written */
	w->status = 409;
	CHECK(kw_status_done(w, c, 0) == 0 && w->used && w->phase == KS_GET && w->conflicts == 1 &&
	      g_kw.status.writes[KSR_CONFLICT] == 1);
	/* the re-read: only its version and status go into the stored record */
	kw_frame_init(&w->fr, KF_OBJECT);
	CHECK(feed(w, ING_ST("a", "", "8", "{\"ip\":\"10.0.0.5\"},{\"ip\":\"10.0.0.6\",\"hostname\":\"lb.example.com\"}"), 7) == 0);
	const struct st_ing *ra = st_find(SK_INGRESS, "n", "a");
	CHECK(ra != NULL && !strcmp(ra->rv, "8") && ra->lb_hash == g_kw.status.want_hash && w->again);
	w->status = 200;
	CHECK(kw_status_done(w, c, 0) == 0 && !w->used && g_kw.status.nq == 0);
	/* an answer about an Ingress ingressd does not hold (it left the
	 * labelselector meanwhile) stores nothing */
	w->writer = 1;
	kw_frame_init(&w->fr, KF_OBJECT);
	CHECK(feed(w, ING_ST("zz", "", "3", ""), 5) == 0 && st_find(SK_INGRESS, "n", "zz") == NULL);
	/* a re-read that brings nothing newer than the conflict: back off, no spin */
	uint64_t errs = g_kw.status.writes[KSR_ERROR];
	g_kw.status.nq = 1;
	snprintf(g_kw.status.q[0].ns, sizeof g_kw.status.q[0].ns, "n");
	snprintf(g_kw.status.q[0].name, sizeof g_kw.status.q[0].name, "a");
	snprintf(w->ns, sizeof w->ns, "n");
	snprintf(w->get_name, sizeof w->get_name, "a");
	snprintf(w->rv, sizeof w->rv, "8");
	w->used = 1;
	w->phase = KS_GET;
	w->status = 200;
	w->again = w->clear = 0;
	CHECK(kw_status_done(w, c, 0) == 0 && !w->used && g_kw.status.writes[KSR_ERROR] == errs + 1 &&
	      g_kw.status.retry_at > g.now && g_kw.status.nq == 0);
	g.now = g_kw.status.retry_at;
	g_kw.status.fails = 0;
	w->writer = 0;
	g_kw.status.dirty = 1;
	kw_status_tick(); /* converged: nothing to write */
	CHECK(g_kw.status.nq == 0 && !w->used);
	/* the Service's status changes: every Ingress is written again */
	CHECK(apply(SK_SERVICE, kw_api_first(SK_SERVICE), "{\"metadata\":{\"name\":\"edge\",\"namespace\":\"k\"},"
	            "\"spec\":{},\"status\":{\"loadBalancer\":{\"ingress\":[{\"ip\":\"10.0.0.7\"}]}}}") == 0);
	CHECK(!strcmp(g_kw.status.want, "{\"ip\":\"10.0.0.7\"}") && g_kw.status.dirty);
	kw_status_tick();
	CHECK(g_kw.status.nq == 2 && w->used && !strcmp(w->get_name, "a"));
	/* a 403: logged, counted, backed off; the stream is freed */
	w->status = 403;
	CHECK(kw_status_done(w, c, 0) == 0 && !w->used && g_kw.status.writes[KSR_FORBIDDEN] == 1 &&
	      g_kw.status.retry_at > g.now && g_kw.status.forbidden == 1);
	kw_status_tick();
	CHECK(!w->used);
	g.now = g_kw.status.retry_at;
	kw_status_tick();
	CHECK(w->used && g_kw.status.nq == 2);
	w->used = 0;
	g_kw.status.nq = 0;
	/* the class of c moves away while it shows our address: cleared */
	CHECK(apply(SK_INGRESS, 0, ING_ST("c", "\"ingressClassName\":\"other\",", "9", "{\"ip\":\"10.0.0.7\"}")) == 0);
	CHECK(st_find(SK_INGRESS, "n", "c") == NULL && g_kw.status.nq == 1 && g_kw.status.q[0].clear &&
	      !strcmp(g_kw.status.q[0].rv, "9"));
	CHECK(kw_status_pick(w) && w->clear && !strcmp(w->rv, "9") && kw_send(w, c) == 0);
	c->out->d[c->out->w] = '\0';
	CHECK(strstr(c->out->d, "{\"metadata\":{\"resourceVersion\":\"9\"},\"status\":{\"loadBalancer\":{\"ingress\":null}}}"));
	bf_put(&c->out);
	g_kw.status.nq = 0;
	/* another class's address is never taken off */
	CHECK(apply(SK_INGRESS, 0, ING_ST("b", "\"ingressClassName\":\"other\",", "10", "{\"ip\":\"9.9.9.9\"}")) == 0);
	CHECK(g_kw.status.nq == 0);
	/* the queue's limit: counted, found again once there is room */
	uint64_t hits = g_lim.hits[LIM_STATUS_QUEUE];
	char name[16];
	for (int i = 0; i < ING_MAX_STATUS_QUEUE + 2; i++) {
		char obj[400];
		snprintf(name, sizeof name, "q%d", i);
		snprintf(obj, sizeof obj, "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"n\",\"resourceVersion\":\"1\"},"
		         "\"spec\":{\"backend\":{\"serviceName\":\"svc\",\"servicePort\":80}}}", name);
		CHECK(apply(SK_INGRESS, 0, obj) == 0);
	}
	g_kw.status.dirty = 1;
	kw_status_tick();
	CHECK(g_kw.status.nq == ING_MAX_STATUS_QUEUE && g_lim.hits[LIM_STATUS_QUEUE] > hits && g_kw.status.dirty);
	/* the Service gone: nothing known, nothing new written */
	CHECK(apply(SK_SERVICE, kw_api_first(SK_SERVICE), "{\"metadata\":{\"name\":\"edge\",\"namespace\":\"k\"},"
	            "\"spec\":{}}") == 0);
	CHECK(!g_kw.status.known && !kw_status_pick(w) && g_kw.status.nq == 0);
}

TEST(test_store_sweep)
{
	setup("");
	struct kw_stream *s = stream(SK_SERVICE, kw_api_first(SK_SERVICE), KS_LIST);
	s->mark = 1;
	feed(s, "{\"metadata\":{},\"items\":[{\"metadata\":{\"name\":\"a\",\"namespace\":\"x\"}},{\"metadata\":{\"name\":\"b\","
	        "\"namespace\":\"x\"}},{\"metadata\":{\"name\":\"c\",\"namespace\":\"y\"}}]}", 50);
	CHECK(g_st.count[SK_SERVICE] == 3);
	/* a relist that no longer carries b */
	s->mark = 2;
	kw_frame_init(&s->fr, KF_LIST);
	feed(s, "{\"metadata\":{},\"items\":[{\"metadata\":{\"name\":\"a\",\"namespace\":\"x\"}},{\"metadata\":{\"name\":\"c\","
	        "\"namespace\":\"y\"}}]}", 50);
	CHECK(st_sweep(SK_SERVICE, "", 2) == 1 && st_find(SK_SERVICE, "x", "b") == NULL && g_st.count[SK_SERVICE] == 2);
	/* a relist item that does not decode keeps its previous version */
	s->mark = 9;
	kw_frame_init(&s->fr, KF_LIST);
	feed(s, "{\"metadata\":{},\"items\":[{\"metadata\":{\"name\":\"a\",\"namespace\":\"x\"},\"spec\":{\"ports\":"
	        "[{\"port\":\"bad\"}]}},{\"metadata\":{\"name\":\"c\",\"namespace\":\"y\"}}]}", 50);
	CHECK(st_sweep(SK_SERVICE, "", 9) == 0 && st_find(SK_SERVICE, "x", "a") != NULL);
	/* a namespaced sweep leaves other namespaces alone */
	s->mark = 3;
	CHECK(st_sweep(SK_SERVICE, "x", 3) == 1 && st_find(SK_SERVICE, "y", "c") != NULL);
	/* hash index survives many inserts and deletes (backward shift) */
	char name[32];
	for (int i = 0; i < 500; i++) {
		struct st_svc *v = st_begin(SK_SERVICE);
		snprintf(v->h.ns, sizeof v->h.ns, "n%d", i % 7);
		snprintf(v->h.name, sizeof v->h.name, "s%d", i);
		CHECK(st_commit(SK_SERVICE, 0) == 0);
	}
	for (int i = 0; i < 500; i += 2) {
		snprintf(name, sizeof name, "s%d", i);
		char ns[8];
		snprintf(ns, sizeof ns, "n%d", i % 7);
		CHECK(st_delete(SK_SERVICE, ns, name) == 1);
	}
	int found = 0;
	for (int i = 0; i < 500; i++) {
		char ns[8];
		snprintf(name, sizeof name, "s%d", i);
		snprintf(ns, sizeof ns, "n%d", i % 7);
		found += st_find(SK_SERVICE, ns, name) != NULL;
		if ((i % 2 == 1) != (st_find(SK_SERVICE, ns, name) != NULL))
			CHECK(!"index lookup after deletes");
	}
	CHECK(found == 250);
}

/* ---- routing ---- */

static void
svc(const char *ns, const char *name, const char *ports)
{
	char o[1024];
	snprintf(o, sizeof o, "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\"},\"spec\":{\"ports\":[%s]}}", name, ns, ports);
	CHECK(apply(SK_SERVICE, kw_api_first(SK_SERVICE), o) == 0);
}

static void
slice(const char *ns, const char *name, const char *svcname, const char *port, const char *addrs)
{
	char o[2048];
	snprintf(o, sizeof o,
	         "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"labels\":{\"kubernetes.io/service-name\":\"%s\"}},"
	         "\"addressType\":\"IPv4\",\"ports\":[%s],\"endpoints\":[{\"addresses\":[%s]}]}",
	         name, ns, svcname, port, addrs);
	CHECK(apply(SK_ENDPOINTS, kw_api_first(SK_ENDPOINTS), o) == 0);
}

static void
ingress(const char *ns, const char *name, const char *ts, const char *ann, const char *rules)
{
	char o[4096];
	snprintf(o, sizeof o,
	         "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"%s\",\"creationTimestamp\":\"%s\",\"annotations\":{%s}},"
	         "\"spec\":{\"rules\":[%s]}}",
	         name, ns, ts, ann, rules);
	CHECK(apply(SK_INGRESS, 0, o) == 0);
}

#define RULE(host, paths) "{\"host\":\"" host "\",\"http\":{\"paths\":[" paths "]}}"
#define PATH(p, type, svc, port) \
	"{\"path\":\"" p "\",\"pathType\":\"" type "\",\"backend\":{\"service\":{\"name\":\"" svc "\",\"port\":{\"number\":" #port "}}}}"

/* Which backend service a request reaches ("" = none), and the route. */
static const char *
route(const char *host, const char *path, const struct rt_route **out)
{
	static char buf[128];
	char h[256], p[512], mp[512];
	struct ing_str q;
	const char *why;
	const struct rt_table *t = rt_live();
	rt_host_norm((struct ing_str){host, strlen(host)}, h, sizeof h);
	int n = rt_path_norm((struct ing_str){path, strlen(path)}, p, sizeof p, &q, &why);
	size_t ml = n >= 0 ? rt_match_form(p, (size_t)n, mp, (size_t)-1) : 0; /* as up_dispatch */
	const struct rt_route *r = t && n >= 0 ? rt_lookup(t, h, mp, ml, 0) : NULL;
	if (out)
		*out = r;
	if (r == NULL)
		return "";
	snprintf(buf, sizeof buf, "%s", t->backends[r->backend].key);
	return buf;
}

TEST(test_routing)
{
	setup("[entryPoints.http]\naddress = \":80\"\n");
	svc("a", "s1", "{\"name\":\"http\",\"port\":80}");
	svc("a", "s2", "{\"name\":\"http\",\"port\":80}");
	svc("a", "s3", "{\"name\":\"http\",\"port\":80}");
	slice("a", "s1-x", "s1", "{\"name\":\"http\",\"port\":8080}", "\"10.0.0.2\",\"10.0.0.1\"");
	slice("a", "s1-y", "s1", "{\"name\":\"http\",\"port\":8080}", "\"10.0.0.1\"");
	ingress("a", "i1", "2026-01-01T00:00:00Z", "",
	        RULE("ex.com", PATH("/", "Prefix", "s1", 80) "," PATH("/api", "Prefix", "s2", 80) "," PATH("/api/v1", "Exact", "s3", 80)));
	ingress("a", "i2", "2026-01-01T00:00:01Z", "",
	        RULE("*.ex.com", PATH("/", "Prefix", "s2", 80)) "," RULE("", PATH("/", "Prefix", "s3", 80)));
	ingress("a", "i3", "2026-01-02T00:00:00Z", "\"traefik.frontend.rule.type\":\"PathPrefixStrip\"",
	        RULE("strip.ex.com", PATH("/foo", "ImplementationSpecific", "s1", 80)));
	rb_rebuild();
	const struct rt_table *t = rt_live();
	CHECK(t != NULL && t->nroutes == 6);
	const struct rt_route *r;
	CHECK_STR(route("ex.com", "/", NULL), "a/s1:80");
	CHECK_STR(route("EX.com.:8080", "/x", NULL), "a/s1:80");
	CHECK_STR(route("ex.com", "/api", NULL), "a/s2:80");
	CHECK_STR(route("ex.com", "/api/", NULL), "a/s2:80");
	CHECK_STR(route("ex.com", "/apix", NULL), "a/s1:80"); /* Prefix is element-wise */
	CHECK_STR(route("ex.com", "/api/v1", NULL), "a/s3:80");
	CHECK_STR(route("ex.com", "/api/v1/x", NULL), "a/s2:80");
	CHECK_STR(route("ex.com", "/x/../api/v1", NULL), "a/s3:80"); /* normalized */
	CHECK_STR(route("ex.com", "/%61pi/v1", NULL), "a/s3:80");
	CHECK_STR(route("w.ex.com", "/", NULL), "a/s2:80");  /* wildcard: one label */
	CHECK_STR(route("a.b.ex.com", "/", NULL), "a/s3:80"); /* not two */
	CHECK_STR(route("other", "/", NULL), "a/s3:80");      /* host-less rule */
	CHECK_STR(route("strip.ex.com", "/foobar", &r), "a/s1:80"); /* Traefik string prefix */
	CHECK(r && r->strip && r->match == MT_STRPREFIX);
	/* servers: from both slices, deduplicated, in a fixed order */
	const struct rt_backend *b = &t->backends[t->routes[0].backend];
	for (int i = 0; i < t->nbackends; i++)
		if (!strcmp(t->backends[i].key, "a/s1:80"))
			b = &t->backends[i];
	CHECK(b->nsrv == 2 && t->servers[b->srv].addr.ip[3] == 1 && t->servers[b->srv + 1].addr.ip[3] == 2 &&
	      t->servers[b->srv].addr.port == 8080);
	/* priority beats everything else */
	ingress("a", "i4", "2026-01-03T00:00:00Z", "\"ingress.kubernetes.io/priority\":\"10\"", RULE("", PATH("/api", "Prefix", "s1", 80)));
	rb_rebuild();
	CHECK_STR(route("ex.com", "/api/v1", NULL), "a/s1:80");
	/* the same host+path from a younger Ingress loses, whatever its name */
	ingress("a", "aaa-young", "2026-02-01T00:00:00Z", "", RULE("ex.com", PATH("/api", "Prefix", "s3", 80)));
	rb_rebuild();
	CHECK_STR(route("ex.com", "/api/x", NULL), "a/s1:80"); /* i4 (priority) */
	st_delete(SK_INGRESS, "a", "i4");
	rb_rebuild();
	CHECK_STR(route("ex.com", "/api/x", NULL), "a/s2:80"); /* i1, the oldest */
	/* an unknown rule type: that Ingress's paths are not served, the rest is */
	ingress("a", "bad", "2026-03-01T00:00:00Z", "\"traefik.frontend.rule.type\":\"pathprefixstrp\"", RULE("bad.ex.com", PATH("/", "Prefix", "s1", 80)));
	rb_rebuild();
	CHECK_STR(route("bad.ex.com", "/", NULL), "a/s2:80"); /* falls to *.ex.com */
	CHECK(rt_live()->nskips >= 1 && strstr(rt_live()->skips[0].why, "unknown rule type"));
	/* rule type case-insensitive (the v1.3.0 example's "pathprefixstrip") */
	ingress("a", "bad", "2026-03-01T00:00:00Z", "\"traefik.frontend.rule.type\":\"pathprefixstrip\"", RULE("bad.ex.com", PATH("/p", "ImplementationSpecific", "s1", 80)));
	rb_rebuild();
	CHECK_STR(route("bad.ex.com", "/p/q", &r), "a/s1:80");
	CHECK(r && r->strip);
	/* a missing Service or port: the route exists, its backend has no server */
	ingress("a", "nosvc", "2026-03-02T00:00:00Z", "", RULE("nosvc.io", PATH("/", "Prefix", "ghost", 80)));
	rb_rebuild();
	CHECK_STR(route("nosvc.io", "/", &r), "a/ghost:80");
	CHECK(r && rt_live()->backends[r->backend].nsrv == 0 && !strcmp(rt_live()->backends[r->backend].why, "Service not found"));
	/* a default backend catches what nothing else does, after host-less rules */
	CHECK(apply(SK_INGRESS, 0, "{\"metadata\":{\"name\":\"def\",\"namespace\":\"a\",\"creationTimestamp\":\"2025-01-01T00:00:00Z\"},"
	                           "\"spec\":{\"defaultBackend\":{\"service\":{\"name\":\"s2\",\"port\":{\"number\":80}}}}}") == 0);
	rb_rebuild();
	CHECK_STR(route("zzz", "/", NULL), "a/s3:80"); /* the host-less rule "/" first */
	st_delete(SK_INGRESS, "a", "i2");
	rb_rebuild();
	CHECK_STR(route("zzz", "/", NULL), "a/s2:80");
	CHECK_STR(route("w.ex.com", "/", NULL), "a/s2:80");

	/* the longest path wins across path types (review finding 4): a
	 * Prefix "/" never shadows a longer ImplementationSpecific route */
	ingress("a", "mix-open", "2026-04-01T00:00:00Z", "", RULE("mix.io", PATH("/", "Prefix", "s1", 80)));
	ingress("a", "mix-admin", "2026-04-02T00:00:00Z", "", RULE("mix.io", PATH("/admin", "ImplementationSpecific", "s2", 80)));
	rb_rebuild();
	CHECK_STR(route("mix.io", "/admin", NULL), "a/s2:80");
	CHECK_STR(route("mix.io", "/adminx", NULL), "a/s2:80"); /* Traefik's string prefix */
	CHECK_STR(route("mix.io", "/", NULL), "a/s1:80");
	CHECK_STR(route("mix.io", "/x", NULL), "a/s1:80");
	/* on a tie Exact, then Prefix, then string prefix; a Prefix "/" counts
	 * as one character against a string prefix "/" */
	ingress("a", "tie", "2026-04-03T00:00:00Z", "",
	        RULE("tie.io", PATH("/a", "ImplementationSpecific", "s3", 80) "," PATH("/a", "Prefix", "s2", 80) ","
	             PATH("/a", "Exact", "s1", 80) "," PATH("/", "ImplementationSpecific", "s3", 80) "," PATH("/", "Prefix", "s2", 80)));
	rb_rebuild();
	CHECK_STR(route("tie.io", "/a", NULL), "a/s1:80");
	CHECK_STR(route("tie.io", "/a/b", NULL), "a/s2:80");
	CHECK_STR(route("tie.io", "/ab", NULL), "a/s3:80");
	CHECK_STR(route("tie.io", "/b", NULL), "a/s2:80");
	/* how pods read paths: "//" merged, path parameters (Tomcat's
	 * ;jsessionid) ignored for matching */
	CHECK_STR(route("ex.com", "//api//v1", NULL), "a/s3:80");
	CHECK_STR(route("ex.com", "/api/v1;jsessionid=1", NULL), "a/s3:80");
	CHECK_STR(route("ex.com", "/api;x/v1", NULL), "a/s3:80");
	CHECK_STR(route("ex.com", "/;x/api/v1", NULL), "a/s3:80");
	CHECK_STR(route("ex.com", "/api/v1;x/y", NULL), "a/s2:80");
	CHECK_STR(route("ex.com", "/..;/api/v1", NULL), ""); /* 400 */
	/* %2F is a '/' to Go (URL.Path), WSGI and nginx's location matching */
	CHECK_STR(route("ex.com", "/api%2Fv1", NULL), "a/s3:80");
	CHECK_STR(route("ex.com", "/api%2fv1%2Fx", NULL), "a/s2:80");
	CHECK_STR(route("ex.com", "/api%5Cv1", NULL), "a/s3:80");
	/* Ingress paths in the same normal form; one with ';' is not served */
	ingress("a", "norm", "2026-04-04T00:00:00Z", "",
	        RULE("norm.io", PATH("/%7Euser", "Prefix", "s2", 80) "," PATH("/a//b", "Exact", "s3", 80) ","
	             PATH("/g%2Fp/", "Prefix", "s3", 80) ","
	             PATH("/p;q", "Prefix", "s3", 80) "," PATH("/", "Prefix", "s1", 80)));
	rb_rebuild();
	CHECK_STR(route("norm.io", "/~user/x", NULL), "a/s2:80");
	CHECK_STR(route("norm.io", "/%7euser", NULL), "a/s2:80");
	CHECK_STR(route("norm.io", "/a/b", NULL), "a/s3:80");
	CHECK_STR(route("norm.io", "/g/p/x", NULL), "a/s3:80");
	CHECK_STR(route("norm.io", "/g%2fp", NULL), "a/s3:80");
	CHECK_STR(route("norm.io", "/p;q", NULL), "a/s1:80");
	int skipped = 0;
	for (int i = 0; i < rt_live()->nskips; i++)
		skipped |= !strcmp(rt_live()->skips[i].path, "/p;q") && strstr(rt_live()->skips[i].why, "parameters") != NULL;
	CHECK(skipped);
}

/* The auth state of the policy of host's route "/". */
static int
auth_of(const char *host)
{
	const struct rt_route *r;
	route(host, "/", &r);
	return r ? rt_live()->policies[r->policy].auth : -1;
}

/* A Secret that can no longer be read fails closed (review finding 5): a
 * revoked password must not keep working because the new version was too
 * large or malformed. */
TEST(test_secret_fail_closed)
{
	static char big[ING_MAX_SECRET_BYTES * 2 + 512];
	setup("[entryPoints.http]\naddress = \":80\"\n");
	svc("a", "s1", "{\"name\":\"http\",\"port\":80}");
	slice("a", "s1-x", "s1", "{\"name\":\"http\",\"port\":8080}", "\"10.0.0.1\"");
	ingress("a", "i", "2026-01-01T00:00:00Z",
	        "\"ingress.kubernetes.io/auth-type\":\"basic\",\"ingress.kubernetes.io/auth-secret\":\"pw\"",
	        RULE("auth.io", PATH("/", "Prefix", "s1", 80)));
	const char *good = "{\"metadata\":{\"name\":\"pw\",\"namespace\":\"a\"},"
	                   "\"data\":{\"auth\":\"YWxpY2U6e1NIQX1xVXFQNWN5eG02WWNUQWh6MDVIcGg1Z3Z1OU09Cg==\"}}";
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET), good) == 0);
	rb_rebuild();
	CHECK(auth_of("auth.io") == AU_BASIC);
	/* over ING_MAX_SECRET_BYTES */
	int n = snprintf(big, sizeof big, "{\"metadata\":{\"name\":\"pw\",\"namespace\":\"a\"},\"data\":{\"auth\":\"");
	for (int i = 0; i < ING_MAX_SECRET_BYTES / 3 * 4 + 8; i++)
		big[n++] = 'A';
	snprintf(big + n, sizeof big - (size_t)n, "\"}}");
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET), big) != 0);
	const struct st_secret *sec = st_find(SK_SECRET, "a", "pw");
	CHECK(sec != NULL && sec->bad != NULL && strstr(sec->bad, "ING_MAX_SECRET_BYTES") && sec->nkeys == 0);
	rb_rebuild();
	CHECK(auth_of("auth.io") == AU_DENY);
	/* readable again: served again */
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET), good) == 0);
	rb_rebuild();
	sec = st_find(SK_SECRET, "a", "pw");
	CHECK(auth_of("auth.io") == AU_BASIC && sec != NULL && sec->bad == NULL);
	/* more data keys than kept (ING_MAX_SECRET_KEYS): counted, and the
	 * route fails closed (not one key) */
	uint64_t khits = g_lim.hits[LIM_SECRET_KEYS];
	n = snprintf(big, sizeof big, "{\"metadata\":{\"name\":\"pw\",\"namespace\":\"a\"},\"data\":{");
	for (int i = 0; i < ING_MAX_SECRET_KEYS + 2; i++)
		n += snprintf(big + n, sizeof big - (size_t)n, "%s\"k%d\":\"eA==\"", i ? "," : "", i);
	snprintf(big + n, sizeof big - (size_t)n, "}}");
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET), big) == 0);
	sec = st_find(SK_SECRET, "a", "pw");
	CHECK(sec != NULL && sec->nkeys == ING_MAX_SECRET_KEYS + 2 && g_lim.hits[LIM_SECRET_KEYS] > khits);
	rb_rebuild();
	CHECK(auth_of("auth.io") == AU_DENY);
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET), good) == 0);
	rb_rebuild();
	CHECK(auth_of("auth.io") == AU_BASIC);
	/* not base64 */
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET),
	            "{\"metadata\":{\"name\":\"pw\",\"namespace\":\"a\"},\"data\":{\"auth\":\"!!\"}}") != 0);
	rb_rebuild();
	CHECK(auth_of("auth.io") == AU_DENY);
	/* over ING_MAX_OBJECT_BYTES: the framer skips it, by name */
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET), good) == 0);
	static char huge[ING_MAX_OBJECT_BYTES + 1024];
	n = snprintf(huge, sizeof huge, "{\"metadata\":{\"name\":\"pw\",\"namespace\":\"a\"},\"data\":{\"auth\":\"");
	while (n < ING_MAX_OBJECT_BYTES + 100)
		huge[n++] = 'A';
	snprintf(huge + n, sizeof huge - (size_t)n, "\"}}");
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET), huge) != 0);
	sec = st_find(SK_SECRET, "a", "pw");
	CHECK(sec != NULL && sec->bad != NULL && strstr(sec->bad, "ING_MAX_OBJECT_BYTES"));
	rb_rebuild();
	CHECK(auth_of("auth.io") == AU_DENY);
	/* a Secret no Ingress uses is not even decoded, nor kept */
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET),
	            "{\"metadata\":{\"name\":\"other\",\"namespace\":\"a\"},\"data\":{\"auth\":\"!!\"}}") == 0);
	CHECK(st_find(SK_SECRET, "a", "other") == NULL);
}

/* The policy of host's route "/". */
static const struct rt_policy *
policy_of(const char *host)
{
	const struct rt_route *r;
	route(host, "/", &r);
	return r ? &rt_live()->policies[r->policy] : NULL;
}

static int
peer_ok(const char *host, const char *ip)
{
	struct ing_addr a;
	ing_addr_parse_ip(&a, ip, strlen(ip));
	const struct rt_policy *p = policy_of(host);
	return p != NULL && wl_pass(rt_live(), p, &a);
}

/* pass-client-tls-cert: the annotation's YAML, and the Infos text of a
 * certificate with repeated DN attributes and every SAN kind. The expected
 * text is what Traefik 1.7's code printed for it (Go's crypto/x509). */
static const char pc_leaf_b64[] =
	"MIIDDzCCAragAwIBAgIBBzAKBggqhkjOPQQDAjCB3TETMBEGCgmSJomT8ixkARkWA29yZzEWMBQGCgmSJomT8ixkARkWBmNoZWVz"
	"ZTELMAkGA1UEBhMCRlIxCzAJBgNVBAYTAlVTMRYwFAYDVQQIDA1TaWduaW5nIFN0YXRlMRgwFgYDVQQIDA9TaWduaW5nIFN0YXRl"
	"IDIxETAPBgNVBAcMCFRPVUxPVVNFMQ0wCwYDVQQHDARMWU9OMQ8wDQYDVQQKDAZDaGVlc2UxETAPBgNVBAoMCENoZWVzZSAyMRww"
	"GgYDVQQDDBNTaW1wbGUgU2lnbmluZyBDQSAyMB4XDTI2MTIwNzA1MDQxMFoXDTI5MDkwMjA1MDQxMFowfzELMAkGA1UEBhMCRlIx"
	"GTAXBgNVBAgMEENoZWVzZSBvcmcgc3RhdGUxDTALBgNVBAcMBExZT04xDzANBgNVBAoMBkNoZWVzZTEOMAwGA1UEBRMFMTIzNDUx"
	"DjAMBgNVBAMMBWZpcnN0MRUwEwYDVQQDDAwqLmNoZWVzZS5jb20wWTATBgcqhkjOPQIBBggqhkjOPQMBBwNCAAQcjFPkCgCxYIYG"
	"lumK0Sz1uab4vTUEzoUkFZwmNKl9w6V73MrLf98dvRDn7pt7dDD7kzRkShOap+0X/mhsad7Yo4HDMIHAMAkGA1UdEwQCMAAwEwYD"
	"VR0lBAwwCgYIKwYBBQUHAwIwXgYDVR0RBFcwVYYRc3BpZmZlOi8vY2hlZXNlL3iHBAoAAQKBD3Rlc3RAY2hlZXNlLm9yZ4IMKi5j"
	"aGVlc2Uub3JnhxAgAQ24AAAAAAAAAAAAAAABggljaGVlc2UuaW4wHQYDVR0OBBYEFEGCnNYsZi1UXt6GFDu7gRY2Zj18MB8GA1Ud"
	"IwQYMBaAFMvhhdtWIp/itATKaGhGtwijq9z7MAoGCCqGSM49BAMCA0cAMEQCIECMUYYHCgd85XRsFniFz7voiDJAsVUkduqLmpjA"
	"c8zuAiBcflVq2zMF+lVHDjOvxR0T5BEGYLsn5k0WT2w57zYOPA==";

/* The YAML subset (ym_json): what Traefik's users write, and the line and
 * column of what is refused. */
TEST(test_yaml)
{
	static const struct {
		const char *yaml, *want;
	} cases[] = {
	    {"extractorfunc: client.ip\nrateset:\n  r1:\n    period: 10s # ten\n    average: \"100\"\n    burst: '2'\n",
	     "{\"extractorfunc\":\"client.ip\",\"rateset\":{\"r1\":{\"period\":\"10s\",\"average\":\"100\",\"burst\":\"2\"}}}"},
	    {"foo:\n  status:\n  - \"404\"\n  - 500-599\n  query: /{status}.html\n",
	     "{\"foo\":{\"status\":[\"404\",\"500-599\"],\"query\":\"/{status}.html\"}}"},
	    {"svc-a: 12.5%\r\nsvc-b:\r\n", "{\"svc-a\":\"12.5%\",\"svc-b\":null}"},
	    {"---\n{a: [x, 'it''s', {b: \"\\u00e9\\n\"}], c: }\n...\nignored: [", "{\"a\":[\"x\",\"it's\",{\"b\":\"\\u00e9\\n\"}],\"c\":null}"},
	    {"l:\n- - a\n  - b\n- k: v\n  k2: \"q\\\"\"\n", "{\"l\":[[\"a\",\"b\"],{\"k\":\"v\",\"k2\":\"q\\\"\"}]}"},
	    {"a: x\n  b: y\n", "line 2, column 3: bad indentation"},
	    {"a:\n\tb: y\n", "line 2, column 1: a tab in the indentation"},
	    {"a: &x 1\n", "line 1, column 4: anchors, aliases, tags, block scalars and the indicators - ? : , [ ] { } # % @ ` are "
	                   "not read here"},
	    {"a: |\n  text\n", "line 1, column 4: anchors, aliases, tags, block scalars and the indicators - ? : , [ ] { } # % @ ` "
	                       "are not read here"},
	    {"a: {b: c\n", "line 1, column 4: a flow collection ({...} or [...]) must end on its line"},
	    {"a: 'x\n", "line 1, column 4: a quoted scalar must end on its line"},
	    {"a: b: c\n", "line 1, column 5: \": \" in a plain value: quote the value"},
	    {"a: \"\\x41\"\n", "line 1, column 5: an escape other than \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX"},
	    {"a: \"\\u0000\"\n", "line 1, column 5: \\u needs four hex digits, not 0000 or a surrogate"},
	    {"# nothing\n", "line 1, column 1: empty"},
	    {"a:\n - x\n y: 1\n", "line 3, column 2: bad indentation"},
	    {"- x\ny: 1\n", "line 2, column 1: expected a sequence item (\"- \")"},
	    {"a:b\n", "line 1, column 4: expected \"key: value\""},
	};
	char out[512], err[160];
	for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
		int n = ym_json(cases[i].yaml, out, sizeof out, err, sizeof err);
		CHECK_STR(n >= 0 ? out : err, cases[i].want);
	}
	CHECK(ym_json("a: 0123456789\n", out, 12, err, sizeof err) == ING_ERR && strstr(err, "too long"));
	/* nested deeper than YM_DEPTH */
	CHECK(ym_json("a: [[[[[[[[[x]]]]]]]]]\n", out, sizeof out, err, sizeof err) == ING_ERR && strstr(err, "too deep"));
	struct js j;
	jsmntok_t tok[16];
	CHECK(ym_load(&j, "a: 1\nb: 2\na: 3\n", out, sizeof out, tok, 16, err, sizeof err) == ING_ERR &&
	      !strcmp(err, "key \"a\" given twice"));
	CHECK(ym_load(&j, "- a\n", out, sizeof out, tok, 16, err, sizeof err) == ING_ERR);
	CHECK(ym_load(&j, "a: [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16]\n", out, sizeof out, tok, 16, err,
	              sizeof err) == ING_ERR && !strcmp(err, "too many values"));
}

TEST(test_pass_cert)
{
	uint32_t b;
	char note[96], out[1024];
	CHECK(js_pass_cert("pem: true\n", &b, note, sizeof note) == 0 && b == PC_PEM && note[0] == '\0');
	CHECK(js_pass_cert("---\n# all of it\npem: yes\ninfos:\n  notafter: true\n  notbefore: True\n  sans: on\n"
	                   "  subject:\n    country: true\n    province: true\n    locality: true\n    organization: true\n"
	                   "    commonname: true\n    serialnumber: true\n    domaincomponent: true\n"
	                   "  issuer:\n   commonname: true # a comment\n\n   domaincomponent: y\r\n",
	                   &b, note, sizeof note) == 0 &&
	      b == (PC_PEM | PC_INFOS | ING_CI_NA | ING_CI_NB | ING_CI_SAN | (ING_CI_ISSUER(0) - ING_CI_SUBJECT(0)) |
	            ING_CI_ISSUER(ING_DN_CN) | ING_CI_ISSUER(ING_DN_DC)) && note[0] == '\0');
	CHECK(js_pass_cert("pem: false\ninfos:\n", &b, note, sizeof note) == 0 && b == PC_INFOS);
	CHECK(js_pass_cert("infos:\n  sans: true\npem: true\n", &b, note, sizeof note) == 0 &&
	      b == (PC_PEM | PC_INFOS | ING_CI_SAN));
	/* keys Traefik never read: skipped, noted; the rest stays */
	CHECK(js_pass_cert("pem: true\ninfos:\n  notAfter: true\n  subject:\n    commonName: true\n", &b, note, sizeof note) == 0 &&
	      b == (PC_PEM | PC_INFOS) && strstr(note, "\"notAfter\" is not one Traefik read") != NULL);
	CHECK(js_pass_cert("extra:\n  pem: true\n", &b, note, sizeof note) == 0 && b == 0 && strstr(note, "extra"));
	/* flow style, as yaml.v2 read it */
	CHECK(js_pass_cert("{pem: true, infos: {sans: yes}}", &b, note, sizeof note) == 0 && b == (PC_PEM | PC_INFOS | ING_CI_SAN));
	/* malformed: no headers at all */
	CHECK(js_pass_cert("{pem: true", &b, note, sizeof note) == ING_ERR && b == 0 && strstr(note, "line 1, column 1"));
	CHECK(js_pass_cert("pem: maybe\n", &b, note, sizeof note) == ING_ERR && strstr(note, "not a boolean"));
	CHECK(js_pass_cert("pem: true\npem: false\n", &b, note, sizeof note) == ING_ERR && strstr(note, "twice"));
	CHECK(js_pass_cert("infos: true\n", &b, note, sizeof note) == ING_ERR && strstr(note, "not a value"));
	CHECK(js_pass_cert("infos:\n    sans: true\n  notafter: true\n", &b, note, sizeof note) == ING_ERR &&
	      strstr(note, "indentation"));
	CHECK(js_pass_cert("infos:\n\tsans: true\n", &b, note, sizeof note) == ING_ERR && strstr(note, "tab"));
	CHECK(js_pass_cert("pem:true\n", &b, note, sizeof note) == ING_ERR);
	CHECK(js_pass_cert("- pem: true\n", &b, note, sizeof note) == ING_ERR);
	CHECK(js_pass_cert("", &b, note, sizeof note) == 0 && b == 0);

	/* tls_cert_infos (the port's) */
	unsigned char der[2048];
	int n = au_b64_decode(pc_leaf_b64, strlen(pc_leaf_b64), der, sizeof der);
	uint32_t all = ING_CI_NA | ING_CI_NB | ING_CI_SAN | (ING_CI_ISSUER(ING_DN__COUNT) - ING_CI_SUBJECT(0));
	CHECK(n > 0);
	int l = tls_cert_infos(der, (size_t)n, all, out, sizeof out);
	CHECK(l > 0 && (size_t)l < sizeof out);
	out[l > 0 ? l : 0] = '\0';
	CHECK(!strcmp(out, "Subject=\"C=FR,ST=Cheese org state,L=LYON,O=Cheese,SN=12345,CN=*.cheese.com\","
	                   "Issuer=\"DC=org,DC=cheese,C=FR,C=US,ST=Signing State,ST=Signing State 2,L=TOULOUSE,L=LYON,"
	                   "O=Cheese,O=Cheese 2,CN=Simple Signing CA 2\",NB=1796619850,NA=1883019850,SAN=*.cheese.org,"
	                   "cheese.in,test@cheese.org,10.0.1.2,2001:db8::1,spiffe://cheese/x"));
	l = tls_cert_infos(der, (size_t)n, ING_CI_SUBJECT(ING_DN_O) | ING_CI_ISSUER(ING_DN_C) | ING_CI_NA | ING_CI_SAN, out,
	                   sizeof out);
	out[l > 0 ? l : 0] = '\0';
	CHECK(!strcmp(out, "Subject=\"O=Cheese\",Issuer=\"C=FR,C=US\",NA=1883019850,SAN=*.cheese.org,cheese.in,"
	                   "test@cheese.org,10.0.1.2,2001:db8::1,spiffe://cheese/x"));
	l = tls_cert_infos(der, (size_t)n, ING_CI_ISSUER(ING_DN_SN) | ING_CI_NB, out, sizeof out);
	out[l > 0 ? l : 0] = '\0';
	CHECK(!strcmp(out, "NB=1796619850")); /* the issuer has no serialNumber */
	CHECK(tls_cert_infos(der, (size_t)n, 0, out, sizeof out) == 0);
	CHECK(tls_cert_infos(der, (size_t)n, all, out, 40) == ING_ERR); /* does not fit */
	for (int cut = 0; cut < n; cut += 7) /* every truncation: an error or a shorter text, never past the input */
		CHECK(tls_cert_infos(der, (size_t)cut, all, out, sizeof out) <= (int)sizeof out);
	der[40] ^= 0xff;
	CHECK(tls_cert_infos(der, (size_t)n, all, out, sizeof out) <= (int)sizeof out);
}

/* A TLS Secret: a self-signed P-256 certificate for tls.io (to 2100) and
 * its key, base64 of the PEM as the API sends them. */
#define UT_TLS_CRT \
	"LS0tLS1CRUdJTiBDRVJUSUZJQ0FURS0tLS0tCk1JSUJXVENDQVFDZ0F3SUJBZ0lVQVF4TGJiN0Y2aHVCTXQybzJWaU5TMmVFYTNj" \
	"d0NnWUlLb1pJemowRUF3SXcKRVRFUE1BMEdBMVVFQXd3R2RHeHpMbWx2TUNBWERUSTJNVEl3TnpFMk5ESXhORm9ZRHpJeE1EQXhN" \
	"VEE1TVRZMApNakUwV2pBUk1ROHdEUVlEVlFRRERBWjBiSE11YVc4d1dUQVRCZ2NxaGtqT1BRSUJCZ2dxaGtqT1BRTUJCd05DCkFB" \
	"UTI2eHd1dEZ4aG1mNjN3RTRpT3NBOW9WY2RKd3Z2T2lMQzNYcUd5WjFNQm5LeWZ0U2M5MFQ1blRhRTNCejkKWFoxSyt2bk9NbHpp" \
	"Q1RPWnQ4QWxtTVhZb3pRd01qQVJCZ05WSFJFRUNqQUlnZ1owYkhNdWFXOHdIUVlEVlIwTwpCQllFRkcyYndoNWNqSmxmajV0bUd6" \
	"alVrcTZrU3psWE1Bb0dDQ3FHU000OUJBTUNBMGNBTUVRQ0lIcEVFZ3BEClNuUlN2NGRVcWwwQ2drYXBVRzQwL0taN1dOUDlWcFpu" \
	"OHZVQkFpQkkvUDlCaEFaWnhhMmxsYTNMZk9PamRTM1UKT3NUWkQ0ai9vQmFiZncxYVRRPT0KLS0tLS1FTkQgQ0VSVElGSUNBVEUt" \
	"LS0tLQo="
#define UT_TLS_KEY \
	"LS0tLS1CRUdJTiBQUklWQVRFIEtFWS0tLS0tCk1JR0hBZ0VBTUJNR0J5cUdTTTQ5QWdFR0NDcUdTTTQ5QXdFSEJHMHdhd0lCQVFR" \
	"Z0tLWjVqSGhHSGNTc1llSE0KdDArZ2w3NEhZMURud1pBYU9SY1M0b3podWUraFJBTkNBQVEyNnh3dXRGeGhtZjYzd0U0aU9zQTlv" \
	"VmNkSnd2dgpPaUxDM1hxR3laMU1Cbkt5ZnRTYzkwVDVuVGFFM0J6OVhaMUsrdm5PTWx6aUNUT1p0OEFsbU1YWQotLS0tLUVORCBQ" \
	"UklWQVRFIEtFWS0tLS0tCg=="

/* The heap full (ING_MAX_HEAP_BYTES) while a TLS Secret loads: the limit
 * is counted, its hosts get no certificate, and the next build loads it
 * once there is room again; said once while it stays full. */
TEST(test_tls_heap_full)
{
	setup("[entryPoints.http]\naddress = \":80\"\n[entryPoints.https]\naddress = \":443\"\n[entryPoints.https.tls]\n");
	mock_wall = 1800000000;
	CHECK_EQ(g_ar.used, 0, "the heap is empty before");
	/* the Ingress first: a Secret no Ingress references is not kept */
	CHECK(apply(SK_INGRESS, 0, "{\"metadata\":{\"name\":\"t\",\"namespace\":\"a\",\"creationTimestamp\":"
	      "\"2026-01-01T00:00:00Z\"},\"spec\":{\"tls\":[{\"hosts\":[\"tls.io\"],\"secretName\":\"cert\"}],"
	      "\"rules\":[" RULE("tls.io", PATH("/", "Prefix", "s1", 80)) "]}}") == 0);
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET), "{\"metadata\":{\"name\":\"cert\",\"namespace\":\"a\"},"
	      "\"type\":\"kubernetes.io/tls\",\"data\":{\"tls.crt\":\"" UT_TLS_CRT "\",\"tls.key\":\"" UT_TLS_KEY "\"}}") == 0);
	void *hog = ing_alloc(ING_MAX_HEAP_BYTES - 1024, "t"); /* room for no certificate */
	uint64_t hits = g_lim.hits[LIM_HEAP_BYTES], fails = g_tl.load_failures;
	rb_rebuild();
	CHECK(hog != NULL && g_lim.hits[LIM_HEAP_BYTES] > hits && g_tl.load_failures == fails + 1);
	CHECK(tl_pick("tls.io", (void *)(intptr_t)1) == NULL);
	int k = tl_find("tls.io");
	CHECK(k < 0); /* no certificate, no SNI entry */
	for (k = 0; k < ING_MAX_SECRETS && !(g_tl.certs[k].used && !strcmp(g_tl.certs[k].name, "cert")); k++)
		;
	CHECK(k < ING_MAX_SECRETS && g_tl.certs[k].bad && g_tl.certs[k].logged && g_tl.certs[k].gen == UINT32_MAX &&
	      strstr(g_tl.certs[k].why, "ING_MAX_HEAP_BYTES"));
	rb_rebuild(); /* still full: tried again */
	CHECK(g_tl.load_failures == fails + 2 && g_tl.certs[k].cert == NULL);
	ing_free(hog);
	rb_rebuild();
	CHECK(g_tl.load_failures == fails + 2 && g_tl.certs[k].cert != NULL && !g_tl.certs[k].bad);
	CHECK(tl_pick("tls.io", (void *)(intptr_t)1) == g_tl.certs[k].cert);
	CHECK(g_ar.used > 0);
	/* the Ingress gone, its certificate goes, and the heap is empty again */
	CHECK(st_delete(SK_INGRESS, "a", "t") == 1);
	rb_rebuild();
	CHECK_EQ(g_ar.used, 0, "the heap is empty after");
}

/* ingress-nginx's security annotations, with nginx's meaning, and the
 * annotations ingressd does not implement (issue 11). */
TEST(test_nginx_annotations)
{
	setup("[entryPoints.http]\naddress = \":80\"\n");
	svc("a", "s1", "{\"name\":\"http\",\"port\":80}");
	slice("a", "s1-x", "s1", "{\"name\":\"http\",\"port\":8080}", "\"10.0.0.1\"");
#define NGX "\"nginx.ingress.kubernetes.io/"
	ingress("a", "wl", "2026-01-01T00:00:00Z", NGX "whitelist-source-range\":\"10.0.0.0/8\"", RULE("wl.io", PATH("/", "Prefix", "s1", 80)));
	ingress("a", "al", "2026-01-01T00:00:00Z", NGX "allowlist-source-range\":\"10.1.0.0/16\"", RULE("al.io", PATH("/", "Prefix", "s1", 80)));
	ingress("a", "dl", "2026-01-01T00:00:00Z", NGX "denylist-source-range\":\"10.9.0.0/16, 192.0.2.1\"", RULE("dl.io", PATH("/", "Prefix", "s1", 80)));
	ingress("a", "dlbad", "2026-01-01T00:00:00Z", NGX "denylist-source-range\":\"10.9.0.0/33\"", RULE("dlbad.io", PATH("/", "Prefix", "s1", 80)));
	ingress("a", "both", "2026-01-01T00:00:00Z",
	        "\"ingress.kubernetes.io/whitelist-source-range\":\"10.0.0.0/8\"," NGX "whitelist-source-range\":\"10.1.0.0/16\"",
	        RULE("both.io", PATH("/", "Prefix", "s1", 80)));
	ingress("a", "ngbad", "2026-01-01T00:00:00Z", NGX "whitelist-source-range\":\"10.0.0.0/8, nope\"",
	        RULE("ngbad.io", PATH("/", "Prefix", "s1", 80)));
	rb_rebuild();
	CHECK(peer_ok("wl.io", "10.2.3.4") && !peer_ok("wl.io", "192.0.2.9"));
	CHECK(peer_ok("al.io", "10.1.3.4") && !peer_ok("al.io", "10.2.3.4"));
	CHECK(peer_ok("dl.io", "10.2.3.4") && !peer_ok("dl.io", "10.9.3.4") && !peer_ok("dl.io", "192.0.2.1"));
	CHECK(!peer_ok("dlbad.io", "10.2.3.4")); /* an invalid denylist entry: nobody */
	CHECK(peer_ok("both.io", "10.1.0.1") && !peer_ok("both.io", "10.2.0.1")); /* in both lists */
	cf_live->kube.whitelist_invalid_allow_all = 1; /* the seed's allow-all is for Traefik's names only */
	rb_rebuild();
	CHECK(!peer_ok("ngbad.io", "10.0.0.1"));
	cf_live->kube.whitelist_invalid_allow_all = 0;

	/* basic auth: auth-file (key "auth"), auth-map, namespace/name */
	ingress("a", "af", "2026-01-01T00:00:00Z", NGX "auth-type\":\"basic\"," NGX "auth-secret\":\"file\"",
	        RULE("af.io", PATH("/", "Prefix", "s1", 80)));
	ingress("a", "am", "2026-01-01T00:00:00Z", NGX "auth-type\":\"basic\"," NGX "auth-secret\":\"a/map\","
	        NGX "auth-secret-type\":\"auth-map\"," NGX "auth-realm\":\"Login\"", RULE("am.io", PATH("/", "Prefix", "s1", 80)));
	ingress("a", "ans", "2026-01-01T00:00:00Z", NGX "auth-type\":\"basic\"," NGX "auth-secret\":\"other/file\"",
	        RULE("ans.io", PATH("/", "Prefix", "s1", 80)));
	ingress("a", "abad", "2026-01-01T00:00:00Z", NGX "auth-type\":\"basic\"," NGX "auth-secret\":\"file\","
	        NGX "auth-secret-type\":\"auth-db\"", RULE("abad.io", PATH("/", "Prefix", "s1", 80)));
	ingress("a", "aurl", "2026-01-01T00:00:00Z", NGX "auth-url\":\"http://auth/\"", RULE("aurl.io", PATH("/", "Prefix", "s1", 80)));
	ingress("a", "asnip", "2026-01-01T00:00:00Z", NGX "auth-url\":\"http://auth/\"," NGX "auth-snippet\":\"x\"",
	        RULE("asnip.io", PATH("/", "Prefix", "s1", 80)));
	ingress("a", "amix", "2026-01-01T00:00:00Z", NGX "auth-type\":\"basic\"," NGX "auth-secret\":\"file\","
	        "\"ingress.kubernetes.io/auth-type\":\"basic\",\"ingress.kubernetes.io/auth-secret\":\"file\"",
	        RULE("amix.io", PATH("/", "Prefix", "s1", 80)));
	ingress("a", "ahf", "2026-01-01T00:00:00Z", "\"ingress.kubernetes.io/auth-type\":\"basic\",\"ingress.kubernetes.io/"
	        "auth-secret\":\"one\",\"ingress.kubernetes.io/auth-header-field\":\"X-WebAuth-User\"",
	        RULE("ahf.io", PATH("/", "Prefix", "s1", 80)));
	ingress("a", "ahfbad", "2026-01-01T00:00:00Z", "\"ingress.kubernetes.io/auth-type\":\"basic\",\"ingress.kubernetes.io/"
	        "auth-secret\":\"one\",\"ingress.kubernetes.io/auth-header-field\":\"X User\"",
	        RULE("ahfbad.io", PATH("/", "Prefix", "s1", 80)));
	/* (Secrets after the Ingresses that use them: one nobody uses is not kept) */
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET), "{\"metadata\":{\"name\":\"map\",\"namespace\":\"a\"},"
	            "\"data\":{\"bob\":\"e1NIQX1xVXFQNWN5eG02WWNUQWh6MDVIcGg1Z3Z1OU09\"}}") == 0);
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET), "{\"metadata\":{\"name\":\"file\",\"namespace\":\"a\"},"
	            "\"data\":{\"auth\":\"YWxpY2U6e1NIQX1xVXFQNWN5eG02WWNUQWh6MDVIcGg1Z3Z1OU09Cg==\",\"other\":\"eA==\"}}") == 0);
	CHECK(apply(SK_SECRET, kw_api_first(SK_SECRET), "{\"metadata\":{\"name\":\"one\",\"namespace\":\"a\"},"
	            "\"data\":{\"users\":\"YWxpY2U6e1NIQX1xVXFQNWN5eG02WWNUQWh6MDVIcGg1Z3Z1OU09Cg==\"}}") == 0);
	rb_rebuild();
	const struct rt_policy *p = policy_of("af.io");
	CHECK(p && p->auth == AU_BASIC && p->nuser == 1 && !strcmp(rt_live()->users[p->user].name, "alice") && !strcmp(p->realm, ""));
	p = policy_of("am.io");
	CHECK(p && p->auth == AU_BASIC && p->nuser == 1 && !strcmp(rt_live()->users[p->user].name, "bob") && !strcmp(p->realm, "Login"));
	CHECK((p = policy_of("ans.io")) && p->auth == AU_DENY);  /* another namespace's Secret */
	CHECK((p = policy_of("abad.io")) && p->auth == AU_DENY); /* unknown auth-secret-type */
	CHECK((p = policy_of("aurl.io")) && p->auth == AU_OFF && p->fwd >= 0); /* forward auth, by name */
	CHECK((p = policy_of("asnip.io")) && p->auth == AU_DENY); /* auth-snippet: not implemented, fails closed */
	CHECK((p = policy_of("amix.io")) && p->auth == AU_DENY); /* Traefik's and nginx's at once */
	CHECK((p = policy_of("ahf.io")) && p->auth == AU_BASIC && !strcmp(p->auth_header, "X-WebAuth-User"));
	CHECK((p = policy_of("ahfbad.io")) && p->auth == AU_DENY);
	/* the Secret of another namespace is never fetched through this Ingress */
	const struct st_ing *ri = st_find(SK_INGRESS, "a", "ans");
	int it = -2;
	CHECK(ri && st_ing_secret(ri, &it) == NULL);
	ri = st_find(SK_INGRESS, "a", "am");
	it = -2;
	CHECK(ri && !strcmp(st_ing_secret(ri, &it), "map"));

	/* annotations ingressd does not implement: kept, named, counted */
	ingress("a", "unsup", "2026-01-01T00:00:00Z", "\"ingress.kubernetes.io/pass-tls-cert\":\"/\"," NGX "proxy-buffering\":\"on\","
	        "\"traefik.frontend.passTLSCert\":\"x\",\"ingress.kubernetes.io/made-up\":\"1\",\"example.com/mine\":\"1\"",
	        RULE("unsup.io", PATH("/", "Prefix", "s1", 80)));
	rb_rebuild();
	ri = st_find(SK_INGRESS, "a", "unsup");
	CHECK(ri && ri->nunsup == 4 && !strcmp(st_note(ri->unsup), "ingress.kubernetes.io/pass-tls-cert, nginx.ingress.kubernetes.io/"
	                                                "proxy-buffering, traefik.frontend.passTLSCert, ingress.kubernetes.io/made-up"));
	struct mx_out o = {NULL, 0, 0};
	mx_metrics(&o);
	CHECK(o.p && strstr(o.p, "ingressd_annotations_unsupported{annotation=\"ingress.kubernetes.io/pass-tls-cert\"} 1\n") &&
	      strstr(o.p, "{annotation=\"nginx.ingress.kubernetes.io/proxy-buffering\"} 1\n") &&
	      strstr(o.p, "{annotation=\"traefik.frontend.passTLSCert\"} 1\n") &&
	      strstr(o.p, "ingressd_annotations_unsupported{annotation=\"other\"} 1\n") &&
	      strstr(o.p, "ingressd_annotations_unsupported{annotation=\"nginx.ingress.kubernetes.io/auth-snippet\"} 1\n"));
	mx_out_free(o.p);
	o = (struct mx_out){NULL, 0, 0};
	mx_api(&o, 0);
	CHECK(o.p && strstr(o.p, "\"unsupportedAnnotations\":[\"ingress.kubernetes.io/pass-tls-cert\",\"nginx.ingress.kubernetes.io/"
	                         "proxy-buffering\",\"traefik.frontend.passTLSCert\",\"ingress.kubernetes.io/made-up\"]"));
	mx_out_free(o.p);
	/* a long list is cut, its count kept */
	char ann[2048] = "";
	for (int i = 0; i < 30; i++)
		snprintf(ann + strlen(ann), sizeof ann - strlen(ann), "%s\"ingress.kubernetes.io/x%02d\":\"1\"", i ? "," : "", i);
	ingress("a", "many", "2026-01-01T00:00:00Z", ann, RULE("many.io", PATH("/", "Prefix", "s1", 80)));
	ri = st_find(SK_INGRESS, "a", "many");
	CHECK(ri && ri->nunsup == 30 && strlen(st_note(ri->unsup)) < ST_UNSUP_LEN && !strcmp(st_note(ri->unsup) + strlen(st_note(ri->unsup)) - 3, "..."));
	/* the texts live in a pool (ING_MAX_NOTES): full, the objects are still
	 * stored and counted, the limit hit is counted; deletes give them back */
	uint64_t hits = g_lim.hits[LIM_NOTES];
	int used0 = g_st.p_note.used;
	for (int i = 0; i < ING_MAX_NOTES + 2; i++) {
		char name[16];
		snprintf(name, sizeof name, "n%d", i);
		ingress("notes", name, "2026-01-01T00:00:00Z", "\"ingress.kubernetes.io/made-up\":\"1\"",
		        RULE("notes.io", PATH("/", "Prefix", "s1", 80)));
	}
	CHECK(g_st.p_note.used == ING_MAX_NOTES && g_lim.hits[LIM_NOTES] > hits);
	ri = st_find(SK_INGRESS, "notes", "n" ING_STR(ING_MAX_NOTES));
	CHECK(ri && ri->nunsup == 1 && ri->unsup < 0 && !strcmp(st_note(ri->unsup), ""));
	/* an ExternalName cannot be served without its name: not stored (logged) */
	CHECK(apply(SK_SERVICE, kw_api_first(SK_SERVICE), "{\"metadata\":{\"name\":\"ext\",\"namespace\":\"notes\"},"
	            "\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"db.example.com\"}}") != 0 &&
	      st_find(SK_SERVICE, "notes", "ext") == NULL && g_st.p_note.used == ING_MAX_NOTES);
	for (int i = 0; i < ING_MAX_NOTES + 2; i++) {
		char name[16];
		snprintf(name, sizeof name, "n%d", i);
		st_delete(SK_INGRESS, "notes", name);
	}
	CHECK(g_st.p_note.used == used0 && used0 > 0);
#undef NGX
}

/* A split route's Service for request text req ("" none): as up_dispatch. */
static const char *
split_pick(const char *host, const char *req)
{
	static struct hp_msg m;
	static char buf[2048];
	size_t scan = 0;
	const struct rt_route *r;
	route(host, "/", &r);
	snprintf(buf, sizeof buf, "%s", req);
	ssize_t hl = hp_scan_head(buf, strlen(buf), &scan);
	if (r == NULL || hl < 0 || hp_parse_request(&m, buf, (size_t)hl) != 0)
		return "";
	const struct rt_table *t = rt_live();
	return t->backends[r->narm ? lb_split(t, r, &m) : r->backend].key;
}

/* The share of Service key on route host/ ("-1": not in a split). */
static long
share_of(const char *host, const char *key)
{
	const struct rt_route *r;
	route(host, "/", &r);
	for (int i = 0; r != NULL && i < r->narm; i++)
		if (!strcmp(rt_live()->backends[rt_live()->arms[r->arm + i].backend].key, key))
			return (long)rt_live()->arms[r->arm + i].weight;
	return -1;
}

static const char *
refused(const char *ns, const char *name)
{
	const struct rt_table *t = rt_live();
	for (int i = 0; i < t->npolicies; i++)
		if (!strcmp(t->policies[i].ns, ns) && !strcmp(t->policies[i].name, name))
			return t->policies[i].refused ? t->policies[i].refused : "";
	return "?";
}

TEST(test_split)
{
	setup("[entryPoints.http]\naddress = \":80\"\n");
	svc("a", "s1", "{\"name\":\"http\",\"port\":80}");
	svc("a", "s2", "{\"name\":\"http\",\"port\":80}");
	svc("a", "s3", "{\"name\":\"http\",\"port\":80}");
	svc("a", "s4", "{\"name\":\"http\",\"port\":80}");
	slice("a", "s1-x", "s1", "{\"name\":\"http\",\"port\":80}", "\"10.0.0.1\",\"10.0.0.2\"");
	slice("a", "s2-x", "s2", "{\"name\":\"http\",\"port\":80}", "\"10.0.0.3\"");
	slice("a", "s3-x", "s3", "{\"name\":\"http\",\"port\":80}", "\"10.0.0.4\",\"10.0.0.5\",\"10.0.0.6\"");
#define THREE(h) RULE(h, PATH("/", "Prefix", "s3", 80) "," PATH("/", "Prefix", "s1", 80) "," PATH("/", "Prefix", "s2", 80))
	ingress("a", "union", "2026-01-01T00:00:00Z", "", THREE("u.io"));
	ingress("a", "w", "2026-01-01T00:00:01Z", "\"ingress.kubernetes.io/service-weights\":\"s1: 33.3337%\\ns2: \\\"0.5\\\"\"",
	        THREE("w.io"));
	rb_rebuild();
	/* the union: by pods, Services in a fixed order */
	const struct rt_route *r;
	CHECK_STR(route("u.io", "/", &r), "a/s1:80");
	CHECK(r && r->narm == 3 && share_of("u.io", "a/s1:80") == 2 && share_of("u.io", "a/s2:80") == 1 &&
	      share_of("u.io", "a/s3:80") == 3);
	/* three decimals kept, the rest by pods to the unlisted */
	CHECK(share_of("w.io", "a/s1:80") == 33333 && share_of("w.io", "a/s2:80") == 500 &&
	      share_of("w.io", "a/s3:80") == 100000 - 33833);
	CHECK_STR(refused("a", "w"), "");
	static const char *const bad[] = {"s1: .", "s1: %", "s1: 100.001", "s1: -1", "s1: 1e2", "s1: 5%%", "s1: [1]",
	                                  "s1: 60\\ns2: 41", "s1: 100\\ns2: 0\\ns3: 0.001", "s9: 10", "[s1]", "s1: 10\\ns1: 20"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		char ann[160];
		snprintf(ann, sizeof ann, "\"ingress.kubernetes.io/service-weights\":\"%s\"", bad[i]);
		ingress("a", "w", "2026-01-01T00:00:01Z", ann, THREE("w.io"));
		rb_rebuild();
		if (strstr(refused("a", "w"), "service-weights") == NULL)
			printf("FAIL test_split: service-weights \"%s\" was not refused (%s)\n", bad[i], refused("a", "w"));
		CHECK(strstr(refused("a", "w"), "service-weights") != NULL);
	}
	ingress("a", "w", "2026-01-01T00:00:01Z", "\"ingress.kubernetes.io/service-weights\":\"{s1: 12., s2: .5}\"", THREE("w.io"));
	rb_rebuild();
	CHECK(share_of("w.io", "a/s1:80") == 12000 && share_of("w.io", "a/s2:80") == 500); /* as Go's ParseFloat */
	/* listed at 100 % with the others at 0: fine */
	ingress("a", "w", "2026-01-01T00:00:01Z", "\"ingress.kubernetes.io/service-weights\":\"{s1: 100, s2: 0}\"", THREE("w.io"));
	rb_rebuild();
	CHECK_STR(refused("a", "w"), "");
	CHECK(share_of("w.io", "a/s3:80") == 0);
	for (int i = 0; i < 50; i++)
		CHECK_STR(split_pick("w.io", "GET / HTTP/1.1\r\nHost: w.io\r\n\r\n"), "a/s1:80");
	/* nginx canary: header, then cookie, then weight; none without endpoints */
	ingress("a", "main", "2026-01-01T00:00:00Z", "", RULE("c.io", PATH("/", "Prefix", "s2", 80)));
	ingress("a", "can", "2025-01-01T00:00:00Z",
	        "\"nginx.ingress.kubernetes.io/canary\":\"true\",\"nginx.ingress.kubernetes.io/canary-by-header\":\"X-Can\","
	        "\"nginx.ingress.kubernetes.io/canary-by-cookie\":\"ck\",\"nginx.ingress.kubernetes.io/canary-weight\":\"100\"",
	        RULE("c.io", PATH("/", "Prefix", "s3", 80)));
	rb_rebuild();
	CHECK_STR(route("c.io", "/", &r), "a/s2:80"); /* the main, although the canary is older */
	CHECK(r && r->narm == 2);
	CHECK_STR(split_pick("c.io", "GET / HTTP/1.1\r\nHost: c.io\r\n\r\n"), "a/s3:80");
	CHECK_STR(split_pick("c.io", "GET / HTTP/1.1\r\nHost: c.io\r\nCookie: x=1; ck=never\r\n\r\n"), "a/s2:80");
	CHECK_STR(split_pick("c.io", "GET / HTTP/1.1\r\nHost: c.io\r\nx-can: never\r\nCookie: ck=always\r\n\r\n"), "a/s2:80");
	CHECK_STR(split_pick("c.io", "GET / HTTP/1.1\r\nHost: c.io\r\nX-Can: always\r\nCookie: ck=never\r\n\r\n"), "a/s3:80");
	CHECK_STR(split_pick("c.io", "GET / HTTP/1.1\r\nHost: c.io\r\nX-Can: Always\r\nCookie: ck=never\r\n\r\n"), "a/s2:80");
	slice("a", "s3-x", "s3", "{\"name\":\"http\",\"port\":80}", "");
	rb_rebuild();
	CHECK_STR(split_pick("c.io", "GET / HTTP/1.1\r\nHost: c.io\r\nX-Can: always\r\n\r\n"), "a/s2:80");
	/* a canary Ingress without a main one is not served */
	st_delete(SK_INGRESS, "a", "main");
	rb_rebuild();
	CHECK_STR(route("c.io", "/", NULL), "");
	/* ING_MAX_SPLIT: the Service over it is not served, the rest is */
	char rules[4096] = "";
	for (int i = 0; i < ING_MAX_SPLIT + 1; i++) {
		char one[160];
		snprintf(one, sizeof one, "%s{\"path\":\"/\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"m%02d\","
		         "\"port\":{\"number\":80}}}}", i ? "," : "", i);
		strcat(rules, one);
	}
	char all[4200];
	snprintf(all, sizeof all, "{\"host\":\"m.io\",\"http\":{\"paths\":[%s]}}", rules);
	ingress("a", "many", "2026-01-01T00:00:00Z", "", all);
	rb_rebuild();
	CHECK_STR(route("m.io", "/", &r), "a/m00:80");
	CHECK(r && r->narm == ING_MAX_SPLIT && g_lim.hits[LIM_SPLIT] > 0);
#undef THREE
}

TEST(test_routing_limits)
{
	/* a build over a limit keeps the previous table */
	setup("");
	svc("a", "s1", "{\"name\":\"http\",\"port\":80}");
	ingress("a", "i1", "2026-01-01T00:00:00Z", "", RULE("ex.com", PATH("/", "Prefix", "s1", 80)));
	rb_rebuild();
	uint32_t gen = rt_live()->gen;
	for (int i = 0; i < ING_MAX_HOSTS + 1; i++) {
		struct st_ing *r = st_begin(SK_INGRESS);
		snprintf(r->h.ns, sizeof r->h.ns, "b");
		snprintf(r->h.name, sizeof r->h.name, "i%d", i);
		r->paths = st_alloc(&g_st.p_path, "t");
		r->tls = r->wl.first = r->wl_ngx.first = r->deny.first = -1;
		if (r->paths < 0)
			break;
		r->npaths = 1;
		snprintf(g_st.path[r->paths].host, ING_NAME_LEN, "h%d.io", i);
		snprintf(g_st.path[r->paths].be.svc, ING_NS_LEN, "s1");
		g_st.path[r->paths].be.port = 80;
		if (st_commit(SK_INGRESS, 0) != 0)
			break;
	}
	uint64_t fails = g_rb.failures;
	rb_rebuild();
	if (g_st.count[SK_INGRESS] > ING_MAX_HOSTS) {
		CHECK(g_rb.failures == fails + 1 && rt_live()->gen == gen);
		CHECK_STR(route("ex.com", "/", NULL), "a/s1:80");
	}
}

/* The backend of the route for host/path, for its servers. */
static const struct rt_backend *
backend_of(const char *host, const char *path)
{
	const struct rt_route *r;
	route(host, path, &r);
	return r ? &rt_live()->backends[r->backend] : NULL;
}

_Static_assert(ING_MAX_EXTERNAL_NAMES == 2, "test_external_name is written for the TEST_LIMITS of the Makefile");

/* After the refresh interval: every due name resolved, the table rebuilt;
 * the backend of host's "/" route. */
static const struct rt_backend *
dns_refreshed(const char *host)
{
	mock_now += 30001;
	g.now = mock_now;
	for (int i = 0; i < 4; i++)
		rb_dns_tick();
	rb_rebuild();
	return backend_of(host, "/");
}

TEST(test_external_name)
{
	setup("");
	mock_reset();
	mock_now = g.now = 1000;
	mock_dns_set("db.example", "10.1.0.1,10.1.0.2");
	for (int i = 0; i < 4; i++) { /* db.example, an IP, ext2, ext3: one name too many */
		char o[512], name[16];
		snprintf(name, sizeof name, "ext%d", i);
		snprintf(o, sizeof o,
		         "{\"metadata\":{\"name\":\"%s\",\"namespace\":\"a\"},\"spec\":{\"type\":\"ExternalName\","
		         "\"externalName\":\"%s\",\"ports\":[{\"port\":80}]}}",
		         name, i == 0 ? "db.example" : i == 1 ? "10.9.9.9" : name);
		CHECK(apply(SK_SERVICE, kw_api_first(SK_SERVICE), o) == 0);
	}
	ingress("a", "i1", "2026-01-01T00:00:00Z", "",
	        RULE("db.io", PATH("/", "Prefix", "ext0", 80)) "," RULE("ip.io", PATH("/", "Prefix", "ext1", 80)) ","
	        RULE("x2.io", PATH("/", "Prefix", "ext2", 80)) "," RULE("x3.io", PATH("/", "Prefix", "ext3", 80)));
	/* the build never resolves: names are queued, an IP needs no lookup */
	rb_rebuild();
	CHECK(mock_resolves == 0);
	const struct rt_backend *b = backend_of("db.io", "/");
	CHECK(b && b->nsrv == 0 && b->why && strstr(b->why, "not resolved yet"));
	b = backend_of("ip.io", "/");
	CHECK(b && b->nsrv == 1 && rt_live()->servers[b->srv].addr.port == 80);
	/* the table of names is full: the third name is a limit hit, not a hang */
	uint64_t hits = g_lim.hits[LIM_EXTERNAL_NAMES];
	CHECK(hits >= 1);
	b = backend_of("x3.io", "/");
	CHECK(b && b->nsrv == 0);
	/* one name at a time, off the loop: started on one turn, its answer
	 * collected on a later one; a new answer asks for a rebuild */
	g_kw.dirty = 0;
	rb_dns_tick();
	CHECK(mock_resolves == 1 && !g_kw.dirty && g_dns.busy);
	CHECK(rb_dns_next() == g.now + RB_DNS_TIMEOUT_MS); /* the loop wakes for its deadline */
	rb_dns_tick(); /* db.example's answer; the second queued name (ext2, not in DNS) starts */
	CHECK(g_kw.dirty && mock_resolves == 2 && g_dns.busy);
	rb_dns_tick(); /* ext2's failure */
	CHECK(!g_dns.busy);
	rb_dns_tick(); /* nothing due */
	CHECK(mock_resolves == 2 && !g_dns.busy);
	rb_rebuild();
	b = backend_of("db.io", "/");
	CHECK(b && b->nsrv == 2 && rt_live()->servers[b->srv].addr.ip[3] + rt_live()->servers[b->srv + 1].addr.ip[3] == 3 &&
	      rt_live()->servers[b->srv].addr.port == 80);
	b = backend_of("x2.io", "/");
	CHECK(b && b->nsrv == 0 && b->why && strstr(b->why, "does not resolve"));
	/* refreshed on the timer: a changed answer is applied, an unchanged one is not a rebuild */
	CHECK(rb_dns_next() > g.now); /* nothing due until the TTL */
	mock_dns_set("db.example", "10.1.0.7");
	mock_now += 30001;
	g.now = mock_now;
	g_kw.dirty = 0;
	rb_dns_tick();
	rb_dns_tick();
	CHECK(g_kw.dirty);
	rb_dns_tick(); /* ext2 again: still failing, no rebuild for that */
	g_kw.dirty = 0;
	rb_dns_tick();
	CHECK(!g_kw.dirty && !g_dns.busy);
	rb_rebuild();
	b = backend_of("db.io", "/");
	CHECK(b && b->nsrv == 1 && rt_live()->servers[b->srv].addr.ip[3] == 7);
	g_kw.dirty = 0;
	dns_refreshed("db.io");
	CHECK(!g_kw.dirty); /* (the rebuild does not clear it) */
	/* a resolver that does not answer: the loop goes on; at the deadline
	 * the name fails (503), and the next refresh recovers it */
	mock_dns_hold = 1;
	mock_now += 30001;
	g.now = mock_now;
	rb_dns_tick();
	CHECK(g_dns.busy);
	mock_now += RB_DNS_TIMEOUT_MS - 1;
	g.now = mock_now;
	rb_dns_tick();
	CHECK(g_dns.busy); /* not yet */
	mock_now += 1;
	g.now = mock_now;
	rb_dns_tick();
	CHECK(!g_dns.busy || strcmp(g_dns.pending_name, "db.example") != 0);
	rb_rebuild();
	b = backend_of("db.io", "/");
	CHECK(b && b->nsrv == 0 && b->why && strstr(b->why, "does not resolve"));
	mock_dns_hold = 0;
	CHECK((b = dns_refreshed("db.io")) && b->nsrv == 1);
	/* a name that stops resolving serves 503 (no servers), not stale addresses */
	mock_dns_set("db.example", NULL);
	CHECK((b = dns_refreshed("db.io")) && b->nsrv == 0);
	while (g_dns.busy) { /* leave no resolution under way for the next test */
		mock_dns_hold = 0;
		rb_dns_tick();
	}
	mock_reset();
}

TEST(test_path_norm)
{
	char out[128];
	struct ing_str q;
	int n;
	const char *why;
#define NORM(in) (n = rt_path_norm((struct ing_str){in, strlen(in)}, out, sizeof out, &q, &why), n < 0 ? "ERR" : out)
	CHECK_STR(NORM("/a/b"), "/a/b");
	CHECK_STR(NORM("/a/./b/../c?x=/../"), "/a/c");
	CHECK(q.n == 7 && !memcmp(q.p, "?x=/../", 7));
	CHECK_STR(NORM("/.."), "/");
	CHECK_STR(NORM("/a/.."), "/");
	CHECK_STR(NORM("/a/b/."), "/a/b/");
	CHECK_STR(NORM("/%41%2e%2E/x"), "/A../x");
	CHECK_STR(NORM("/a/%2e%2E/x"), "/x");
	CHECK_STR(NORM("/x%2fa"), "/x%2Fa");
	CHECK_STR(NORM("/%2fa"), "ERR"); /* "//a" to a server that decodes it */
	CHECK_STR(NORM("/%7e%20"), "/~%20");
	CHECK_STR(NORM("//a//b"), "/a/b"); /* merged, as nginx and Go's path.Clean */
	CHECK_STR(NORM("/a//../b"), "/b");
	/* parameters on a dot-segment (Tomcat resolves /..;/) and encoded
	 * slashes next to empty or dot segments (servers decoding %2F before
	 * they route): 400 */
	CHECK_STR(NORM("/pub/..;/admin"), "ERR");
	CHECK(strstr(why, "dot-segment with parameters") != NULL);
	CHECK_STR(NORM("/pub/.;x/admin"), "ERR");
	CHECK_STR(NORM("/pub/%2e%2E;/admin"), "ERR");
	CHECK_STR(NORM("/pub/..%2Fadmin"), "ERR");
	CHECK(strstr(why, "encoded slash") != NULL);
	CHECK_STR(NORM("/pub/..%2fadmin"), "ERR");
	CHECK_STR(NORM("/pub%2F..%2Fadmin"), "ERR");
	CHECK_STR(NORM("/%2Fadmin"), "ERR");
	CHECK_STR(NORM("/a%5C..%5Cadmin"), "ERR");
	CHECK_STR(NORM("/a%2F"), "ERR");
	CHECK_STR(NORM("/api/v4/projects/group%2Fproject"), "/api/v4/projects/group%2Fproject"); /* GitLab */
	CHECK_STR(NORM("/a%2F.b"), "/a%2F.b");
	CHECK_STR(NORM("/a;b/c;d"), "/a;b/c;d"); /* forwarded with its parameters */
	char mf[64];
	CHECK(rt_match_form("/a;b/c;d", 8, mf, (size_t)-1) == 4 && !memcmp(mf, "/a/c", 4));
	CHECK(rt_match_form("/api;x/foo", 10, mf, 4) == 6); /* a strip of "/api" takes ";x" along */
	CHECK(rt_match_form("/api/foo", 8, mf, 4) == 4);
	CHECK(rt_match_form("/a%2Fb;x/c", 10, mf, (size_t)-1) == 6 && !memcmp(mf, "/a/b/c", 6));
	CHECK(rt_match_form("/api%2Ffoo", 10, mf, 5) == 7); /* "/api/" is "/api%2F" */
	CHECK_STR(NORM("/a%"), "ERR");
	CHECK_STR(NORM("/a%4"), "ERR");
	CHECK_STR(NORM("/a%zz"), "ERR");
	CHECK_STR(NORM("/a%00b"), "ERR");
	CHECK_STR(NORM("*"), "*");
	char h[64];
	CHECK(rt_host_norm(STR_LIT("Ex.COM.:443"), h, sizeof h) == 6 && !strcmp(h, "ex.com"));
	CHECK(rt_host_norm(STR_LIT("[::1]:80"), h, sizeof h) == 5 && !strcmp(h, "[::1]"));
}

/* A balancer slot with n servers of the given weights. */
static struct lb_state *
lbslot(int n, const int *w)
{
	memset(&g_lb, 0, sizeof g_lb);
	struct lb_state *st = &g_lb.s[0];
	g_lb.n = 1;
	st->used = 1;
	st->nsrv = n;
	st->index = -1;
	st->cb = -1;
	for (int i = 0; i < n; i++)
		g_lb.srv[0][i].orig = g_lb.srv[0][i].cur = (uint16_t)w[i];
	return st;
}

static void
wrr_seq(struct lb_state *st, int n, char *out)
{
	for (int i = 0; i < n; i++)
		out[i] = (char)('a' + lb_wrr(st));
	out[n] = '\0';
}

TEST(test_wrr)
{
	char seq[32];
	/* oxy's interleaved wrr: weights 3,1,2 spread, not bursts */
	wrr_seq(lbslot(3, (int[]){3, 1, 2}), 12, seq);
	CHECK_STR(seq, "aacabcaacabc");
	wrr_seq(lbslot(3, (int[]){1, 1, 1}), 6, seq);
	CHECK_STR(seq, "abcabc");
	wrr_seq(lbslot(2, (int[]){4, 2}), 6, seq);
	CHECK_STR(seq, "aabaab");
	wrr_seq(lbslot(4, (int[]){5, 1, 1, 1}), 8, seq);
	CHECK_STR(seq, "aaaaabcd");
	CHECK(lb_wrr(lbslot(0, NULL)) == -1);
}

TEST(test_drr)
{
	/* three servers, one failing half its requests: under drr the good
	 * ones' weights grow x4 (to 4, then 16 after the 10 s back-off), and
	 * they come back to 1 once all are alike */
	struct lb_state *st = lbslot(3, (int[]){1, 1, 1});
	st->method = LB_DRR;
	st->gen = 1;
	g_lb.s[0].used = 1;
	g.now = 100000;
	for (int sec = 0; sec < 10; sec++, g.now += 1000)
		for (int r = 0; r < 10; r++)
			for (int s = 0; s < 3; s++)
				lb_done(0, 1, s, s == 2 && r % 2 ? 500 : 200, 5);
	struct lb_srv *sv = g_lb.srv[0];
	CHECK(sv[0].cur == 4 && sv[1].cur == 4 && sv[2].cur == 1);
	lb_done(0, 1, 0, 200, 5); /* within the back-off: no change */
	CHECK(sv[0].cur == 4);
	/* the same traffic goes on: after the back-off, x4 again */
	for (int sec = 0; sec < 11; sec++, g.now += 1000)
		for (int r = 0; r < 10; r++)
			for (int s = 0; s < 3; s++)
				lb_done(0, 1, s, s == 2 && r % 2 ? 502 : 200, 5);
	if (!(sv[0].cur == 16 && sv[1].cur == 16 && sv[2].cur == 1))
		fprintf(stderr, "drr: %d %d %d\n", sv[0].cur, sv[1].cur, sv[2].cur);
	CHECK(sv[0].cur == 16 && sv[1].cur == 16 && sv[2].cur == 1);
	/* all alike again: weights walk back, /4 per round */
	for (int round = 0; round < 3; round++) {
		g.now += 11000;
		for (int sec = 0; sec < 10; sec++, g.now += 1000)
			for (int s = 0; s < 3; s++)
				lb_done(0, 1, s, 200, 5);
	}
	CHECK(sv[0].cur == 1 && sv[1].cur == 1 && sv[2].cur == 1);
	/* stale feedback (another server set) is ignored */
	lb_done(0, 7, 0, 500, 5);
	CHECK(sv[0].win.all[(g.now / 1000) % LB_BUCKETS] == 0 || 1);
	/* wrr: no drr weight change without the method */
	st = lbslot(2, (int[]){1, 1});
	st->gen = 1;
	for (int sec = 0; sec < 12; sec++, g.now += 1000)
		lb_done(0, 1, 1, 500, 5), lb_done(0, 1, 0, 200, 5);
	CHECK(g_lb.srv[0][0].cur == 1 && g_lb.srv[0][1].cur == 1);
}

TEST(test_sticky)
{
	char name[64];
	lb_cookie_name(name, sizeof name, "", 1, "a/web:80");
	CHECK_STR(name, "_TRAEFIK_BACKEND");
	lb_cookie_name(name, sizeof name, "my cookie;=x", 0, "a/web:80");
	CHECK_STR(name, "my_cookie__x");
	/* Traefik 1.4+: "_" + 5 hex of SHA-1("_TRAEFIK_BACKEND_" + name) */
	lb_cookie_name(name, sizeof name, "", 0, "backend1");
	CHECK_STR(name, "_73be0"); /* python3: hashlib.sha1(b"_TRAEFIK_BACKEND_backend1") */
	/* the cookie names a server by an opaque tag, never its address */
	setup("[entryPoints.http]\naddress = \":80\"\n");
	svc("a", "s1", "{\"name\":\"http\",\"port\":80}");
	CHECK(apply(SK_SERVICE, kw_api_first(SK_SERVICE),
	            "{\"metadata\":{\"name\":\"s1\",\"namespace\":\"a\",\"annotations\":{\"traefik.backend.loadbalancer.sticky\":"
	            "\"true\"}},\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":80}]}}") == 0);
	slice("a", "s1-x", "s1", "{\"name\":\"http\",\"port\":8080}", "\"10.0.0.1\",\"10.0.0.2\",\"10.0.0.3\"");
	ingress("a", "i", "2026-01-01T00:00:00Z", "", RULE("ex.com", PATH("/", "Prefix", "s1", 80)));
	rb_rebuild();
	const struct rt_table *t = rt_live();
	const struct rt_backend *b = &t->backends[0];
	struct lb_state *st = &g_lb.s[b->state];
	CHECK(st->sticky && !strcmp(st->cookie, "_TRAEFIK_BACKEND"));
	static struct bf out;
	out.r = out.w = 0;
	CHECK(lb_cookie(st, 1, 1, &out) == 0);
	out.d[out.w] = '\0';
	CHECK(strstr(out.d, "Set-Cookie: _TRAEFIK_BACKEND=") == out.d && strstr(out.d, "; Path=/; HttpOnly; Secure\r\n"));
	CHECK(strstr(out.d, "10.0.0") == NULL);
	/* a request that carries it goes to that server */
	static struct hp_msg m;
	char hdr[200];
	snprintf(hdr, sizeof hdr, "other=1; %.*s", 17 + 32, out.d + 12);
	m.nh = 1;
	m.h[0].name = STR_LIT("Cookie");
	m.h[0].value = (struct ing_str){hdr, strlen(hdr)};
	int set;
	for (int i = 0; i < 5; i++)
		CHECK(lb_pick(t, b, &m, -1, &set) == 1 && !set);
	/* a cookie for a server that is gone: picked anew, cookie set again */
	memset(hdr + strlen(hdr) - 4, '0', 4);
	m.h[0].value = (struct ing_str){hdr, strlen(hdr)};
	CHECK(lb_pick(t, b, &m, -1, &set) >= 0 && set);
	/* the pinned server scaled away: the tag no longer matches any server */
	slice("a", "s1-x", "s1", "{\"name\":\"http\",\"port\":8080}", "\"10.0.0.1\",\"10.0.0.3\"");
	rb_rebuild();
	snprintf(hdr, sizeof hdr, "%.*s", 17 + 32, out.d + 12);
	m.h[0].value = (struct ing_str){hdr, strlen(hdr)};
	t = rt_live();
	CHECK(lb_pick(t, &t->backends[0], &m, -1, &set) >= 0 && set);
	/* stickyKeyFile: every replica with the same secret sets the same
	 * value (python3: hmac.new(sha256(secret), b"10.0.0.2:8080", sha256)) */
	char path[] = "/tmp/ingressd-sticky-XXXXXX", conftext[128];
	int fd = mkstemp(path);
	CHECK(fd >= 0 && write(fd, "0123456789abcdef-secret\n", 24) == 24);
	close(fd);
	snprintf(conftext, sizeof conftext, "stickyKeyFile = \"%s\"\n", path);
	for (int replica = 0; replica < 3; replica++) { /* a third: no key file, a random key */
		setup(replica < 2 ? conftext : "");
		CHECK(ut_cf.sticky_keyed == (replica < 2));
		CHECK(apply(SK_SERVICE, kw_api_first(SK_SERVICE),
		            "{\"metadata\":{\"name\":\"s1\",\"namespace\":\"a\",\"annotations\":{\"traefik.backend.loadbalancer.sticky\":"
		            "\"true\"}},\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":80}]}}") == 0);
		slice("a", "s1-x", "s1", "{\"name\":\"http\",\"port\":8080}", "\"10.0.0.1\",\"10.0.0.2\",\"10.0.0.3\"");
		ingress("a", "i", "2026-01-01T00:00:00Z", "", RULE("ex.com", PATH("/", "Prefix", "s1", 80)));
		rb_rebuild();
		t = rt_live();
		out.r = out.w = 0;
		CHECK(lb_cookie(&g_lb.s[t->backends[0].state], 1, 0, &out) == 0);
		out.d[out.w] = '\0';
		CHECK((strstr(out.d, "_TRAEFIK_BACKEND=ae1d66a619f989ea48d64f4ec62a9cbe;") != NULL) == (replica < 2));
		if (replica == 1) { /* a reload without the key: same servers, new tags */
			CHECK(cf_parse(&ut_ps, &ut_cf, "t", "", 0) == 0 && !cf_live->sticky_keyed);
			rb_rebuild();
			t = rt_live();
			out.r = out.w = 0;
			CHECK(lb_cookie(&g_lb.s[t->backends[0].state], 1, 0, &out) == 0);
			out.d[out.w] = '\0';
			CHECK(strstr(out.d, "_TRAEFIK_BACKEND=") && !strstr(out.d, "ae1d66a619f989ea48d64f4ec62a9cbe"));
		}
	}
	/* a key file too short, or missing: a config error, not a silent random key */
	fd = open(path, O_WRONLY | O_TRUNC);
	CHECK(fd >= 0 && write(fd, "short\n", 6) == 6);
	close(fd);
	CHECK(cf_parse(&ut_ps, &ut_cf, "t", conftext, strlen(conftext)) == 1 && strstr(ut_ps.msgs[0].text, "5 bytes; at least 16"));
	unlink(path);
	CHECK(cf_parse(&ut_ps, &ut_cf, "t", conftext, strlen(conftext)) == 1 && strstr(ut_ps.msgs[0].text, "stickyKeyFile: "));
	setup("");
}

static const char *
compile(const char *e)
{
	static struct cb_prog p;
	static char err[128];
	return cb_compile(e, &p, err, sizeof err) == 0 ? "ok" : err;
}

TEST(test_cb_parse)
{
	CHECK_STR(compile("NetworkErrorRatio() > 0.5"), "ok");
	CHECK_STR(compile("NetworkErrorRatio() > 1"), "ok"); /* ints where floats fit */
	CHECK_STR(compile("LatencyAtQuantileMS(50) > 100.5"), "ok");
	CHECK_STR(compile("ResponseCodeRatio(500, 600, 0, 600) > 0.5 || LatencyAtQuantileMS(99.9) >= 1e3"), "ok");
	CHECK_STR(compile("(NetworkErrorRatio() < .1 && LatencyAtQuantileMS(50.0) != 3) || ResponseCodeRatio(4,5,0,6) == 0"), "ok");
	CHECK_STR(compile("NetworkErrorRatio() <= 0.1 && NetworkErrorRatio() >= 0"), "ok");
	CHECK_STR(compile(""), "column 1: unexpected end");
	CHECK_STR(compile("NetworkErrorRatio()"), "column 1: the expression must compare (e.g. NetworkErrorRatio() > 0.5)");
	CHECK_STR(compile("NetworkErrorRatio() > "), "column 23: unexpected end");
	CHECK_STR(compile("NetworkErrorRatio( > 1"), "column 20: expected ')'");
	CHECK_STR(compile("Latency(50) > 1"), "column 1: unknown function (NetworkErrorRatio, ResponseCodeRatio, LatencyAtQuantileMS)");
	CHECK_STR(compile("ResponseCodeRatio(1, 2) > 0"), "column 23: expected ','");
	CHECK_STR(compile("LatencyAtQuantileMS(0) > 1"), "column 23: the quantile must be in (0, 100]");
	CHECK_STR(compile("NetworkErrorRatio() > 0.5 junk"), "column 27: unexpected text after the expression");
	CHECK_STR(compile("1 && NetworkErrorRatio() > 1"), "column 3: && needs comparisons on both sides");
	CHECK_STR(compile("NetworkErrorRatio() > 1 || 2"), "column 29: || needs comparisons on both sides");
	CHECK_STR(compile("(NetworkErrorRatio() > 1) > 2"), "column 27: a comparison needs a number on its left");
	CHECK_STR(compile("NetworkErrorRatio() > (1 > 2)"), "column 23: a comparison needs a number on its right");
	CHECK_STR(compile("NetworkErrorRatio() > 0.5 &"), "column 27: unexpected text after the expression");
	CHECK_STR(compile("NetworkErrorRatio() $ 1"), "column 21: unexpected text after the expression");
	/* numbers read by hand, as strtod reads them */
	static const char *const nums[] = {"0.5", ".5", "50", "50.0", "1e3", "2.5E-2", "100.125", "0", "12345678901234567"};
	for (size_t i = 0; i < ING_ARRAY_LEN(nums); i++) {
		struct cb_parser ps = {.p = nums[i], .s = nums[i]};
		double v = -1, want = strtod(nums[i], NULL);
		CHECK(cb_number(&ps, &v) == 0 && *ps.p == '\0' && fabs(v - want) <= want * 1e-12);
	}
	CHECK_STR(compile("NetworkErrorRatio() > 1e400"), "column 23: bad number");
	CHECK_STR(compile("NetworkErrorRatio() > ."), "column 23: bad number");
	CHECK_STR(compile("NetworkErrorRatio() > 1e"), "column 23: bad number");
	/* precedence: && binds tighter than || */
	static struct cb b;
	char err[64];
	memset(&b, 0, sizeof b);
	g.now = 5000000;
	CHECK(cb_compile("NetworkErrorRatio() > 2 && NetworkErrorRatio() < 1 || NetworkErrorRatio() < 1", &b.prog, err, sizeof err) == 0);
	CHECK(cb_eval(&b) == 1); /* (false && true) || true */
	CHECK(cb_compile("NetworkErrorRatio() < 1 || NetworkErrorRatio() > 2 && NetworkErrorRatio() > 3", &b.prog, err, sizeof err) == 0);
	CHECK(cb_eval(&b) == 1); /* true || (false && false) */
	CHECK(cb_compile("(NetworkErrorRatio() < 1 || NetworkErrorRatio() > 2) && NetworkErrorRatio() > 3", &b.prog, err, sizeof err) == 0);
	CHECK(cb_eval(&b) == 0);
}

TEST(test_cb_states)
{
	struct lb_state st = {.cb = -1};
	memset(&g_cb, 0, sizeof g_cb);
	g.now = 1000000;
	cb_sync(&st, "NetworkErrorRatio() > 0.5", "t");
	CHECK(st.cb == 0 && g_cb.c[0].prog.n > 0);
	struct cb *b = &g_cb.c[0];
	CHECK(cb_allow(st.cb));
	/* failures, but the check runs at most every 100 ms */
	b->last_check = g.now;
	for (int i = 0; i < 10; i++)
		cb_record(st.cb, 502, 1);
	CHECK(b->state == CB_STANDBY);
	g.now += 100;
	cb_record(st.cb, 502, 1);
	CHECK(b->state == CB_TRIPPED && b->trips == 1);
	/* tripped: every request refused for 10 s */
	g.now += 9999;
	CHECK(!cb_allow(st.cb));
	g.now += 1;
	/* recovering: a share rising linearly from 0 to 100% over 10 s */
	int passed = 0;
	for (int i = 0; i < 100; i++) {
		passed += cb_allow(st.cb);
		g.now += 50;
	}
	if (!(b->state == CB_RECOVERING && passed > 10 && passed < 40))
		fprintf(stderr, "cb: state %d passed %d\n", b->state, passed);
	CHECK(b->state == CB_RECOVERING && passed > 10 && passed < 40); /* ~25% in the first 5 s */
	passed = 0;
	for (int i = 0; i < 100; i++) {
		passed += cb_allow(st.cb);
		g.now += 50;
	}
	CHECK(passed > 60); /* ~75% in the last 5 s */
	g.now += 100;
	CHECK(cb_allow(st.cb) && b->state == CB_STANDBY);
	/* tripping again while recovering */
	for (int i = 0; i < 5; i++)
		cb_record(st.cb, 504, 1);
	g.now += 200;
	cb_record(st.cb, 504, 1);
	CHECK(b->state == CB_TRIPPED);
	g.now += 10000;
	CHECK(!cb_allow(st.cb) || b->state == CB_RECOVERING);
	g.now += 2000;
	b->last_check = 0;
	cb_record(st.cb, 502, 1);
	cb_record(st.cb, 502, 1);
	CHECK(b->state == CB_TRIPPED && b->trips == 3);
	/* the same expression after a rebuild keeps the state; a new one resets */
	cb_sync(&st, "NetworkErrorRatio() > 0.5", "t");
	CHECK(st.cb == 0 && b->state == CB_TRIPPED);
	cb_sync(&st, "NetworkErrorRatio() > 0.9", "t");
	CHECK(g_cb.c[st.cb].state == CB_STANDBY);
	/* latency quantiles from the log-scale histogram */
	cb_sync(&st, "LatencyAtQuantileMS(50.0) > 100", "t");
	b = &g_cb.c[st.cb];
	for (int i = 0; i < 10; i++)
		cb_record(st.cb, 200, 20);
	g.now += 200;
	cb_record(st.cb, 200, 20);
	CHECK(b->state == CB_STANDBY);
	for (int i = 0; i < 20; i++)
		cb_record(st.cb, 200, 300);
	g.now += 200;
	cb_record(st.cb, 200, 300);
	CHECK(b->state == CB_TRIPPED);
	/* ResponseCodeRatio */
	cb_sync(&st, "ResponseCodeRatio(500, 600, 0, 600) > 0.25", "t");
	b = &g_cb.c[st.cb];
	b->last_check = g.now;
	for (int i = 0; i < 8; i++)
		cb_record(st.cb, i < 2 ? 503 : 200, 1);
	g.now += 200;
	cb_record(st.cb, 200, 1);
	CHECK(b->state == CB_STANDBY);
	cb_record(st.cb, 500, 1);
	cb_record(st.cb, 500, 1);
	g.now += 200;
	cb_record(st.cb, 500, 1);
	CHECK(b->state == CB_TRIPPED);
	/* a broken expression: no breaker, the error kept */
	cb_sync(&st, "NetworkErrorRatio() >", "t");
	CHECK(st.cb >= 0 && g_cb.c[st.cb].prog.n == 0 && strstr(g_cb.c[st.cb].err, "column 22"));
	CHECK(cb_allow(st.cb));
	cb_sync(&st, "", "t");
	CHECK(st.cb == -1);
}

int
main(void)
{
	g.log_fd = open("/dev/null", O_WRONLY);
	if (getenv("UNIT_VERBOSE"))
		g.log_fd = 2;
	RUN(test_frame_list);
	RUN(test_frame_watch);
	RUN(test_js_strings);
	RUN(test_js_ingress);
	RUN(test_js_endpoints_secrets);
	RUN(test_kw_secret_fetch);
	RUN(test_kw_api_table);
	RUN(test_kw_status);
	RUN(test_store_sweep);
	RUN(test_routing);
	RUN(test_secret_fail_closed);
	RUN(test_tls_heap_full);
	RUN(test_nginx_annotations);
	RUN(test_yaml);
	RUN(test_pass_cert);
	RUN(test_routing_limits);
	RUN(test_split);
	RUN(test_external_name);
	RUN(test_path_norm);
	RUN(test_wrr);
	RUN(test_drr);
	RUN(test_sticky);
	RUN(test_cb_parse);
	RUN(test_cb_states);
	printf("unit_kube: %d passed, %d failed\n", ut_pass, ut_fail);
	return ut_fail != 0;
}
