/*
 * test/unit_snap.c - the store's snapshot (issue 21): a round trip keeps
 * every route and its policy (basic auth, whitelist, TLS Secret, header
 * annotations, an ExternalName); the loader refuses every truncation and
 * every bit flip of a real snapshot, another build's or another
 * selection's, a too old one, and leaves the store empty then; a snapshot
 * over its limit is not written; a full disk at any step of the write
 * leaves the previous file whole; after a load the first relist replaces
 * the snapshot's objects completely. Includes ingressd.c (main compiled
 * out), links the mock port.
 */
#define ING_NO_MAIN
#include "../ingressd.c"

#include "../port/mock.h"
#include "unit.h"

static struct cf ut_cf;
static struct cf_parser ut_ps;
static _Alignas(8) unsigned char snap[256 * 1024], copy[256 * 1024];
#define WALL 1800000000

static void
setup(const char *conftext)
{
	CHECK(cf_parse(&ut_ps, &ut_cf, "t", conftext, strlen(conftext)) == 0);
	cf_live = &ut_cf;
	st_wipe();
	memset(&g_kw, 0, sizeof g_kw);
	for (int i = 0; i < SK__COUNT; i++)
		g_kw.api[i] = kw_api_first(i);
	g_rb.live = -1;
	g.now = 1000;
}

static struct kw_stream *
stream(int kind, int phase)
{
	struct kw_stream *s = &g_kw.st[kind];
	memset(s, 0, offsetof(struct kw_stream, obj));
	s->used = 1;
	s->kind = (uint8_t)kind;
	s->api = kw_api_first(kind);
	s->phase = (uint8_t)phase;
	s->conn = -1;
	kw_frame_init(&s->fr, phase == KS_LIST ? KF_LIST : KF_WATCH);
	return s;
}

/* Objects as one list page of their kind (mark 1). */
static void
list(int kind, const char *items)
{
	static char doc[64 * 1024];
	struct kw_stream *s = stream(kind, KS_LIST);
	s->mark = 1;
	snprintf(doc, sizeof doc, "{\"metadata\":{},\"items\":[%s]}", items);
	CHECK(kw_frame_feed(s, doc, strlen(doc)) == 0);
}

#define ING(name, ann, host, tls)                                                                                   \
	"{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"a\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"," \
	"\"annotations\":{" ann "}},\"spec\":{" tls "\"rules\":[{\"host\":\"" host "\",\"http\":{\"paths\":["     \
	"{\"path\":\"/\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":\"s1\",\"port\":{\"number\":80}}}}]}}]}}"
/* alice:{SHA} of "s3cret" (htpasswd -nbs) */
#define HTPASSWD "YWxpY2U6e1NIQX1xVXFQNWN5eG02WWNUQWh6MDVIcGg1Z3Z1OU09Cg=="

static const char *conf = "[entryPoints.http]\naddress = \":80\"\n[entryPoints.https]\naddress = \":443\"\n"
                          "[entryPoints.https.tls]\n";

/* The store a snapshot is made of: every kind, every sub-record pool. */
static void
fill(void)
{
	setup(conf);
	list(SK_INGRESS, ING("auth", "\"ingress.kubernetes.io/auth-type\":\"basic\",\"ingress.kubernetes.io/auth-secret\":\"pw\"",
	                     "auth.io", "") ","
	                 ING("wl", "\"ingress.kubernetes.io/whitelist-source-range\":\"10.0.0.0/8, ::1\","
	                           "\"ingress.kubernetes.io/custom-response-headers\":\"X-A: b\",\"nginx.ingress.kubernetes.io/canary\":\"x\"",
	                     "wl.io", "") ","
	                 ING("tls", "", "tls.io", "\"tls\":[{\"hosts\":[\"tls.io\"],\"secretName\":\"cert\"}],") ","
	                 ING("ext", "", "ext.io", ""));
	list(SK_SERVICE, "{\"metadata\":{\"name\":\"s1\",\"namespace\":\"a\"},\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":80}]}},"
	                 "{\"metadata\":{\"name\":\"x\",\"namespace\":\"a\",\"annotations\":{\"traefik.ingress.kubernetes.io/"
	                 "buffering\":\"maxRequestBodyBytes: 10\"}},\"spec\":{\"type\":\"ExternalName\",\"externalName\":\"x.example\"}}");
	list(SK_ENDPOINTS, "{\"metadata\":{\"name\":\"s1-a\",\"namespace\":\"a\",\"labels\":{\"kubernetes.io/service-name\":\"s1\"}},"
	                   "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":8080}],\"endpoints\":[{\"addresses\":"
	                   "[\"10.0.0.1\",\"10.0.0.2\"]}]}");
	list(SK_SECRET, "{\"metadata\":{\"name\":\"pw\",\"namespace\":\"a\"},\"data\":{\"auth\":\"" HTPASSWD "\"}},"
	                "{\"metadata\":{\"name\":\"cert\",\"namespace\":\"a\"},\"type\":\"kubernetes.io/tls\",\"data\":"
	                "{\"tls.crt\":\"Y2VydA==\",\"tls.key\":\"a2V5\"}}");
	CHECK(g_st.count[SK_INGRESS] == 4 && g_st.count[SK_SERVICE] == 2 && g_st.count[SK_ENDPOINTS] == 1 &&
	      g_st.count[SK_SECRET] == 2);
}

static const struct rt_route *
route(const char *host)
{
	char h[256];
	rt_host_norm((struct ing_str){host, strlen(host)}, h, sizeof h);
	return rt_live() ? rt_lookup(rt_live(), h, "/", 1, 0) : NULL;
}

/* What the live table does with the filled store, as text. */
static void
table(char *out, size_t cap)
{
	const struct rt_table *t = rt_live();
	size_t n = 0;
	const char *hosts[] = {"auth.io", "wl.io", "tls.io", "ext.io", "gone.io"};
	struct ing_addr in, out8;
	ing_addr_parse_ip(&in, "10.1.2.3", 8);
	ing_addr_parse_ip(&out8, "192.0.2.1", 9);
	out[0] = '\0';
	for (size_t i = 0; t != NULL && i < ING_ARRAY_LEN(hosts); i++) {
		const struct rt_route *r = route(hosts[i]);
		if (r == NULL) {
			n += (size_t)snprintf(out + n, cap - n, "%s:none ", hosts[i]);
			continue;
		}
		const struct rt_policy *p = &t->policies[r->policy];
		const struct rt_backend *b = &t->backends[r->backend];
		n += (size_t)snprintf(out + n, cap - n, "%s:%s srv=%d auth=%d users=%d wl=%d/%d edits=%d ", hosts[i], b->key,
		                      b->nsrv, p->auth, p->nuser, wl_pass(t, p, &in), wl_pass(t, p, &out8), p->ed_n);
	}
	const struct st_secret *c = st_find(SK_SECRET, "a", "cert");
	size_t kl = 0;
	const unsigned char *k = c ? st_secret_data(c, "tls.key", &kl) : NULL;
	snprintf(out + n, cap - n, "key=%.*s", (int)kl, k ? (const char *)k : "");
}

static int
empty(void)
{
	int e = 1;
	for (size_t i = 0; i < ING_ARRAY_LEN(st_pools); i++)
		e &= st_pools[i]->hwm == 0 && st_pools[i]->used == 0;
	for (int k = 0; k < SK__COUNT; k++)
		e &= g_st.count[k] == 0;
	return e;
}

static int
load(const unsigned char *p, size_t n, const char **why)
{
	int64_t wall;
	memcpy(copy, p, n);
	return st_snap_load(copy, n, 7, WALL - 3600, WALL + 60, &wall, why);
}

TEST(test_round_trip)
{
	char before[2048], after[2048];
	const char *why = NULL;
	fill();
	CHECK(rb_rebuild() == 0);
	table(before, sizeof before);
	CHECK(strstr(before, "auth.io:a/s1:80 srv=2 auth=1 users=1") != NULL);
	CHECK(strstr(before, "wl.io:a/s1:80 srv=2 auth=0 users=0 wl=1/0 edits=1") != NULL);
	CHECK(strstr(before, "key=key") != NULL);
	size_t n = st_snap(snap, sizeof snap, 7, WALL);
	CHECK(n > sizeof(struct st_snap_head) && n < 16 * 1024);
	st_wipe();
	g_rb.live = -1;
	CHECK(empty());
	CHECK(load(snap, n, &why) == 0);
	CHECK(g_st.count[SK_INGRESS] == 4 && g_st.count[SK_SERVICE] == 2 && g_st.count[SK_ENDPOINTS] == 1 &&
	      g_st.count[SK_SECRET] == 2);
	/* loaded objects belong to no list yet; a snapshot of the loaded store
	 * loads to the same bytes */
	CHECK(((struct st_hdr *)st_find(SK_INGRESS, "a", "auth"))->mark == 0);
	size_t n2 = st_snap(snap, sizeof snap, 7, WALL);
	static _Alignas(8) unsigned char snap2[sizeof snap];
	memcpy(snap2, snap, n2);
	st_wipe();
	CHECK(load(snap2, n2, &why) == 0);
	CHECK(st_snap(snap, sizeof snap, 7, WALL) == n2 && memcmp(snap, snap2, n2) == 0);
	/* and the same table */
	CHECK(rb_rebuild() == 0);
	table(after, sizeof after);
	CHECK_STR(after, before);
	/* the store works on: a change, a delete, an insert */
	list(SK_INGRESS, ING("new", "", "new.io", ""));
	CHECK(st_find(SK_INGRESS, "a", "new") != NULL && st_delete(SK_INGRESS, "a", "ext") == 1 && g_st.count[SK_INGRESS] == 4);
}

/* After a load, the first list of each kind replaces the snapshot's
 * objects: those the API server no longer has go (st_sweep). */
TEST(test_relist_replaces)
{
	char t[2048];
	const char *why;
	fill();
	size_t n = st_snap(snap, sizeof snap, 7, WALL);
	st_wipe();
	CHECK(load(snap, n, &why) == 0);
	list(SK_INGRESS, ING("wl", "", "wl.io", "") "," ING("added", "", "added.io", ""));
	CHECK(st_sweep(SK_INGRESS, "", 1) == 3);
	CHECK(st_find(SK_INGRESS, "a", "auth") == NULL && st_find(SK_INGRESS, "a", "added") != NULL &&
	      g_st.count[SK_INGRESS] == 2);
	list(SK_SECRET, "");
	CHECK(st_sweep(SK_SECRET, "", 1) == 2 && g_st.count[SK_SECRET] == 0);
	CHECK(rb_rebuild() == 0);
	table(t, sizeof t);
	CHECK(strstr(t, "auth.io:none") != NULL && strstr(t, "wl.io:a/s1:80 srv=2 auth=0 users=0 wl=1/1") != NULL);
	CHECK(route("added.io") != NULL);
}

TEST(test_refused)
{
	const char *why = NULL;
	fill();
	size_t n = st_snap(snap, sizeof snap, 7, WALL);
	st_wipe();
	int bad = 0;
	/* every truncation, and the snapshot with a byte more */
	for (size_t k = 0; k < n; k++)
		bad += load(snap, k, &why) == 0 || !empty();
	CHECK(bad == 0);
	snap[n] = 0;
	CHECK(load(snap, n + 1, &why) != 0 && empty());
	/* every bit flip */
	bad = 0;
	for (size_t k = 0; k < n; k++)
		for (int b = 0; b < 8; b++) {
			snap[k] ^= (unsigned char)(1 << b);
			bad += load(snap, n, &why) == 0 || !empty();
			snap[k] ^= (unsigned char)(1 << b);
		}
	CHECK(bad == 0);
	CHECK(load(snap, n, &why) == 0);
	st_wipe();
	/* another selection (namespaces, labelselector, ingressClass) or build */
	int64_t wall;
	memcpy(copy, snap, n);
	CHECK(st_snap_load(copy, n, 8, 0, INT64_MAX, &wall, &why) != 0 && strstr(why, "another build") && empty());
	/* too old, or from after the clock's now */
	memcpy(copy, snap, n);
	CHECK(st_snap_load(copy, n, 7, WALL + 1, INT64_MAX, &wall, &why) != 0 && strstr(why, "snapshotMaxAge") && empty());
	memcpy(copy, snap, n);
	CHECK(st_snap_load(copy, n, 7, 0, WALL - 1, &wall, &why) != 0 && empty());
	/* a body that does not decode, under a good checksum (a byte more):
	 * refused, nothing kept */
	struct st_snap_head *h = (struct st_snap_head *)copy;
	memcpy(copy, snap, n - ST_SNAP_SUM);
	copy[n - ST_SNAP_SUM] = 1;
	h->len = n + 1;
	st_snap_sum(copy, n + 1 - ST_SNAP_SUM, copy + n + 1 - ST_SNAP_SUM);
	CHECK(st_snap_load(copy, n + 1, 7, 0, INT64_MAX, &wall, &why) != 0 && strcmp(why, "malformed") == 0 && empty());
	memcpy(copy, snap, n);
	h->len = n + 1;
	CHECK(st_snap_load(copy, n, 7, 0, INT64_MAX, &wall, &why) != 0 && empty());
	/* over the buffer: not written */
	fill();
	CHECK(st_snap(snap, n - 1, 7, WALL) == 0 && st_snap(snap, 40, 7, WALL) == 0 && st_snap(snap, n, 7, WALL) == n);
}

static int
same_file(const char *path, const unsigned char *p, size_t n)
{
	static char buf[sizeof snap + 1];
	char err[160];
	ssize_t r = port_read_file(path, buf, sizeof buf, err, sizeof err);
	return r == (ssize_t)n && memcmp(buf, p, n) == 0;
}

/* The file through the port (kw_snap_write, kw_snap_load), and a full disk
 * at each step of the write: the previous snapshot stays whole and loads. */
TEST(test_file)
{
	char dir[] = "/tmp/unit_snap.XXXXXX", conf2[512], path[300], tmp[310];
	CHECK(mkdtemp(dir) != NULL);
	snprintf(path, sizeof path, "%s/snap", dir);
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	snprintf(conf2, sizeof conf2, "%s[kubernetes]\nsnapshotFile = \"%s\"\nsnapshotMaxAge = \"1h\"\nsnapshotDeadline = \"250ms\"\n",
	         conf, path);
	fill();
	setup(conf2);
	CHECK(ut_cf.kube.snap_wait == 250 && ut_cf.kube.snap_age == 3600000 && !strcmp(ut_cf.kube.snapshot, path));
	fill(); /* again, under conf2 */
	setup(conf2);
	list(SK_INGRESS, ING("auth", "\"ingress.kubernetes.io/auth-type\":\"basic\",\"ingress.kubernetes.io/auth-secret\":\"pw\"",
	                     "auth.io", ""));
	list(SK_SECRET, "{\"metadata\":{\"name\":\"pw\",\"namespace\":\"a\"},\"data\":{\"auth\":\"" HTPASSWD "\"}}");
	mock_wall = WALL;
	g_kw.ready = 1;
	g_kw.snap_due = 1;
	CHECK(kw_snap_want());
	kw_snap_write();
	CHECK(!g_kw.snap_due && g_kw.snap_ok == g.now && g_kw.snap_next == g.now + KW_SNAP_MIN_MS && !kw_snap_want());
	struct stat sb;
	CHECK(stat(path, &sb) == 0 && (sb.st_mode & 0777) == 0600 && access(tmp, F_OK) != 0);
	size_t n1 = st_snap(snap, sizeof snap, kw_select(), WALL);
	CHECK(same_file(path, snap, n1));
	/* a bigger store; the disk fills at each step in turn */
	list(SK_INGRESS, ING("more", "", "more.io", "") "," ING("auth", "", "auth.io", ""));
	static _Alignas(8) unsigned char first[sizeof snap];
	memcpy(first, snap, n1);
	int faults = 0;
	for (long k = 0; k < 8; k++) {
		g.now += KW_SNAP_RETRY_MS;
		g_kw.snap_due = 1;
		mock_fail_after = k;
		long before = mock_faults;
		kw_snap_write();
		if (mock_faults == before)
			break; /* no step left to fail: written */
		faults++;
		CHECK(!g_kw.snap_due && g_kw.snap_next == g.now + KW_SNAP_RETRY_MS && !kw_snap_want());
		CHECK(same_file(path, first, n1) && access(tmp, F_OK) != 0);
	}
	mock_fail_after = -1;
	CHECK(faults == 5); /* open, the two halves, fsync, rename */
	size_t n2 = st_snap(snap, sizeof snap, kw_select(), WALL);
	CHECK(n2 != n1 && same_file(path, snap, n2));
	/* the stored one loads (the API server unreachable: a stream failing) */
	st_wipe();
	g_kw.ready = 0;
	g_kw.nstreams = 1;
	g_kw.st[0].fails = 1;
	g_kw.snap_load = g.now + 5000;
	g_kw.enabled = 1;
	kw_tick();
	CHECK(g_kw.snap_load == 0 && g_kw.snap_stale && g_st.count[SK_INGRESS] == 2 && rt_live() != NULL);
	CHECK_STR(kw_stale(), "2027-01-15T08:00:00Z");
	CHECK(route("more.io") != NULL && rt_live()->policies[route("auth.io")->policy].auth == AU_OFF);
	CHECK(!kw_snap_want()); /* stale: never written back */
	/* not loaded when something was listed already, or too old */
	st_wipe();
	list(SK_SERVICE, "{\"metadata\":{\"name\":\"s1\",\"namespace\":\"a\"}}");
	kw_snap_load();
	CHECK(g_st.count[SK_INGRESS] == 0);
	st_wipe();
	mock_wall = WALL + 3601;
	kw_snap_load();
	CHECK(empty());
	/* a missing file: nothing */
	unlink(path);
	mock_wall = WALL;
	kw_snap_load();
	CHECK(empty());
	rmdir(dir);
}

int
main(void)
{
	g.log_fd = open("/dev/null", O_WRONLY);
	if (getenv("UNIT_VERBOSE"))
		g.log_fd = 2;
	st_init();
	RUN(test_round_trip);
	RUN(test_relist_replaces);
	RUN(test_refused);
	RUN(test_file);
	printf("unit_snap: %d passed, %d failed\n", ut_pass, ut_fail);
	return ut_fail != 0;
}
