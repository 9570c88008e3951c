/*
 * test/bench/decode_bench.c - watch-event decode throughput (issue 3).
 *
 * Includes ingressd.c with main compiled out (as test/unit_kube.c does),
 * links the mock port, and pushes watch events through the real path:
 * kw_frame_feed (framing) -> kw_value (jsmn parse, type/object) ->
 * kw_apply (js_ingress/js_service/js_slice/js_secret decode) -> the store.
 * The bytes are fed in 16 KB pieces, as socket reads would hand them over.
 *
 *   decode_bench [-n N] KIND=FILE[@N] ...
 *     KIND: ingress, service, endpointslice, endpoints or secret
 *     N:    events to decode for that kind (default: -n, else 100000)
 *     FILE: watch events, one JSON event per line ({"type":"ADDED",
 *           "object":{...}}), e.g. made from a list of the stand-in API
 *           server (test/bench/run.sh does that from fakeapi --generate).
 *
 * For each kind, in the order given: the file once as ADDED (the store
 * fills), then its events as MODIFIED again and again until N events were
 * decoded in all. Prints one line per kind:
 *   decode KIND events=N seconds=S events_per_s=R mb_per_s=M stored=K errors=E
 * and, when the store holds Ingresses, the time of one routing-table
 * rebuild from the whole store, and of the store's snapshot (issue 21):
 * its size and the time to encode and write it, then the start from it
 * (read, check, load, build), also in CPU time:
 *   rebuild routes=R seconds=S
 *   snapshot ingresses=N secrets=K bytes=B encode_seconds=S write_seconds=S
 *   snapshot_load ingresses=N routes=R seconds=S cpu_seconds=C
 * Exit status 1 when an event was not decoded (decode errors).
 *
 * Build (test/bench/run.sh does it):
 *   cc -std=c11 -O2 -DING_NO_MAIN -o build/bench/decode_bench test/bench/decode_bench.c \
 *      port/mock.c port/tls_bearssl.c -l:libbearssl.a
 */
#define ING_NO_MAIN
#include "../../ingressd.c"

#include <time.h>

static struct cf db_cf;
static struct cf_parser db_ps;

static double
db_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The whole file; exits on error. */
static char *
db_slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	if (f == NULL) {
		fprintf(stderr, "decode_bench: %s: %s\n", path, strerror(errno));
		exit(2);
	}
	size_t cap = 1 << 20, n = 0;
	char *b = malloc(cap);
	for (;;) {
		if (b == NULL) {
			fprintf(stderr, "decode_bench: out of memory\n");
			exit(2);
		}
		n += fread(b + n, 1, cap - n, f);
		if (n < cap)
			break;
		cap *= 2;
		b = realloc(b, cap);
	}
	fclose(f);
	*len = n;
	return b;
}

/* The same events with "type":"ADDED" turned into "type":"MODIFIED"
 * (only the first occurrence on each line: the event's own type). */
static char *
db_modified(const char *in, size_t len, size_t *outlen)
{
	char *out = malloc(len + len / 8 + 64), *o = out;
	const char *p = in, *end = in + len;
	if (out == NULL)
		exit(2);
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t ll = nl ? (size_t)(nl - p) + 1 : (size_t)(end - p);
		const char *t = memmem(p, ll, "\"type\":\"ADDED\"", 14);
		if (t != NULL) {
			memcpy(o, p, (size_t)(t - p));
			o += t - p;
			memcpy(o, "\"type\":\"MODIFIED\"", 17);
			o += 17;
			memcpy(o, t + 14, ll - (size_t)(t + 14 - p));
			o += ll - (size_t)(t + 14 - p);
		} else {
			memcpy(o, p, ll);
			o += ll;
		}
		p += ll;
	}
	*outlen = (size_t)(o - out);
	return out;
}

static size_t
db_lines(const char *p, size_t n)
{
	size_t k = 0;
	for (size_t i = 0; i < n; i++)
		k += p[i] == '\n';
	return k;
}

/* A watch stream of `kind` over API index `api` (unit_kube.c's stream()). */
static struct kw_stream *
db_stream(int kind, int api)
{
	struct kw_stream *s = &g_kw.st[kind];
	memset(s, 0, offsetof(struct kw_stream, obj));
	s->used = 1;
	s->kind = (uint8_t)kind;
	s->api = api;
	s->phase = KS_WATCH;
	s->conn = -1;
	kw_frame_init(&s->fr, KF_WATCH);
	return s;
}

/* Feeds buf in 16 KB pieces. */
static void
db_feed(struct kw_stream *s, const char *buf, size_t n)
{
	for (size_t off = 0; off < n; off += 16384) {
		size_t k = ING_MIN((size_t)16384, n - off);
		if (kw_frame_feed(s, buf + off, k) != 0) {
			fprintf(stderr, "decode_bench: the framer refused the stream\n");
			exit(1);
		}
	}
}

int
main(int argc, char **argv)
{
	long want = 100000;
	int ai = 1, bad = 0;
	if (argc > 2 && strcmp(argv[1], "-n") == 0) {
		want = atol(argv[2]);
		ai = 3;
	}
	if (ai >= argc || want <= 0) {
		fprintf(stderr, "usage: decode_bench [-n N] KIND=FILE[@N] ...  (KIND: ingress service endpointslice endpoints secret)\n");
		return 2;
	}
	/* an HTTPS entry point: TLS Secrets are kept and the rebuild loads them */
	static const char conf[] = "[entryPoints.http]\naddress = \":80\"\n[entryPoints.https]\naddress = \":443\"\n"
	                           "  [entryPoints.https.tls]\n";
	if (cf_parse(&db_ps, &db_cf, "bench", conf, sizeof conf - 1) != 0) {
		fprintf(stderr, "decode_bench: the config does not parse\n");
		return 2;
	}
	cf_live = &db_cf;
	g.loglevel = ING_LOG_ERROR; /* per-object warnings would time the log, not the decoder */
	g.now = 1000;
	st_init();
	memset(&g_kw, 0, sizeof g_kw);
	for (int i = 0; i < SK__COUNT; i++)
		g_kw.api[i] = kw_api_first(i);
	g_rb.live = -1;

	for (; ai < argc; ai++) {
		char *eq = strchr(argv[ai], '=');
		if (eq == NULL) {
			fprintf(stderr, "decode_bench: %s: want KIND=FILE\n", argv[ai]);
			return 2;
		}
		*eq = '\0';
		const char *kname = argv[ai], *file = eq + 1;
		long kwant = want;
		char *at = strrchr(file, '@');
		if (at != NULL) {
			*at = '\0';
			kwant = atol(at + 1);
		}
		static const struct {
			const char *name, *resource;
			int kind, api_offset; /* from kw_api_first(kind) */
		} kinds[] = {
		    {"ingress", "ingresses", SK_INGRESS, 0},       {"service", "services", SK_SERVICE, 0},
		    {"endpointslice", "endpointslices", SK_ENDPOINTS, 0}, {"endpoints", "endpoints", SK_ENDPOINTS, 2},
		    {"secret", "secrets", SK_SECRET, 0},
		};
		int kind = -1, api = -1;
		for (size_t k = 0; k < ING_ARRAY_LEN(kinds); k++)
			if (strcmp(kname, kinds[k].name) == 0) {
				kind = kinds[k].kind;
				api = kw_api_first(kind) + kinds[k].api_offset;
				if (strcmp(kw_apis[api].resource, kinds[k].resource) != 0) {
					fprintf(stderr, "decode_bench: kw_apis changed; update decode_bench.c\n");
					return 2;
				}
			}
		if (kind < 0) {
			fprintf(stderr, "decode_bench: unknown kind %s\n", kname);
			return 2;
		}
		size_t alen, mlen;
		char *added = db_slurp(file, &alen);
		char *mod = db_modified(added, alen, &mlen);
		size_t per = db_lines(added, alen);
		if (per == 0) {
			fprintf(stderr, "decode_bench: %s: no events\n", file);
			return 2;
		}
		struct kw_stream *s = db_stream(kind, api);
		uint64_t err0 = g_kw.decode_errors[kind], ev0 = g_kw.events[kind];
		size_t bytes = 0;
		long done = 0;
		double t0 = db_now();
		db_feed(s, added, alen);
		bytes += alen;
		done += (long)per;
		while (done < kwant) {
			db_feed(s, mod, mlen);
			bytes += mlen;
			done += (long)per;
		}
		double dt = db_now() - t0;
		uint64_t errs = g_kw.decode_errors[kind] - err0, evs = g_kw.events[kind] - ev0;
		printf("decode %s events=%llu seconds=%.4f events_per_s=%.0f mb_per_s=%.1f avg_bytes=%zu stored=%d errors=%llu\n",
		       kname, (unsigned long long)evs, dt, (double)evs / dt, (double)bytes / dt / 1e6, alen / per,
		       g_st.count[kind], (unsigned long long)errs);
		if (errs != 0 || evs != (uint64_t)done)
			bad = 1;
		free(added);
		free(mod);
	}
	if (g_st.count[SK_INGRESS] > 0) {
		double t0 = db_now();
		rb_rebuild();
		double dt = db_now() - t0;
		int live = g_rb.live;
		printf("rebuild ingresses=%d routes=%d seconds=%.4f%s\n", g_st.count[SK_INGRESS],
		       live >= 0 ? g_rb.t[live].nroutes : -1, dt, live >= 0 ? "" : " failed");
		/* the snapshot of that store (issue 21): written (encode, then the
		 * file through the port, on /dev/shm when there is one: tmpfs, as
		 * deploy/k8s has it), and a start from it: read, checked, loaded,
		 * and the table built, in CPU time */
		char path[256], err[ING_ERR_LEN];
		const char *why = "";
		int64_t wall;
		snprintf(path, sizeof path, "%s/decode_bench.snap.%d", access("/dev/shm", W_OK) == 0 ? "/dev/shm" : "/tmp",
		         (int)getpid());
		double t1 = db_now();
		size_t n = st_snap(kw_snap_buf, ING_MAX_SNAPSHOT_BYTES, 0, 1800000000);
		double t2 = db_now();
		int wr = n > 0 ? port_write_file(path, kw_snap_buf, n, err, sizeof err) : ING_ERR;
		double t3 = db_now();
		int ing = g_st.count[SK_INGRESS], sec = g_st.count[SK_SECRET];
		st_wipe();
		g_rb.live = -1;
		for (int i = 0; i < ING_MAX_SECRETS; i++)
			g_tl.certs[i].gen = 0; /* a new process has no certificate parsed yet */
		struct timespec c0, c1;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c0);
		t0 = db_now();
		ssize_t r = port_read_file(path, (char *)kw_snap_buf, sizeof kw_snap_buf, err, sizeof err);
		int ok = r > 0 && st_snap_load(kw_snap_buf, (size_t)r, 0, 0, INT64_MAX, &wall, &why) == 0 && rb_rebuild() == 0;
		dt = db_now() - t0;
		clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &c1);
		unlink(path);
		printf("snapshot ingresses=%d secrets=%d bytes=%zu encode_seconds=%.4f write_seconds=%.4f%s\n", ing, sec, n,
		       t2 - t1, t3 - t2, wr == 0 ? "" : " failed");
		printf("snapshot_load ingresses=%d routes=%d seconds=%.4f cpu_seconds=%.4f%s\n", g_st.count[SK_INGRESS],
		       g_rb.live >= 0 ? g_rb.t[g_rb.live].nroutes : -1, dt,
		       (double)(c1.tv_sec - c0.tv_sec) + (double)(c1.tv_nsec - c0.tv_nsec) / 1e9, ok ? "" : " failed");
		if (!ok || wr != 0)
			bad = 1;
	}
	return bad;
}
