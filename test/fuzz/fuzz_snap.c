/* test/fuzz/fuzz_snap.c - libFuzzer target for the snapshot loader (issue
 * 21, st_snap_load). The input is a snapshot file; or, when it starts with
 * 'B', the rest is a body the target seals with a good header and
 * SHA-256, so the fuzzer also reaches what lies behind the checksum. The
 * loader must never touch memory outside the store, and a refused input
 * must leave the store empty (never half-loaded): abort() otherwise.
 *
 * SNAP_GEN=DIR writes corpus files made from a real store (a snapshot,
 * its body sealed, cuts of both) and exits. */
#define ING_NO_MAIN
#include "../../ingressd.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static _Alignas(8) unsigned char fz_buf[ING_MAX_SNAPSHOT_BYTES + 64];
static struct cf fz_cf;

static void
fz_init(void)
{
	static int init;
	if (init)
		return;
	init = 1;
	g.log_fd = -1;
	cf_defaults(&fz_cf);
	cf_live = &fz_cf;
	for (int i = 0; i < SK__COUNT; i++)
		g_kw.api[i] = kw_api_first(i);
	st_init();
}

static int
fz_empty(void)
{
	for (size_t i = 0; i < ING_ARRAY_LEN(st_pools); i++)
		if (st_pools[i]->hwm != 0 || st_pools[i]->used != 0)
			return 0;
	for (int k = 0; k < SK__COUNT; k++)
		if (g_st.count[k] != 0)
			return 0;
	return 1;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct st_snap_head *h = (struct st_snap_head *)fz_buf;
	const char *why;
	int64_t wall;
	size_t n = size;
	fz_init();
	if (size > ING_MAX_SNAPSHOT_BYTES)
		return 0;
	if (size > 0 && data[0] == 'B') { /* a body, sealed here */
		n = sizeof *h + size - 1;
		memcpy(fz_buf + sizeof *h, data + 1, size - 1);
		*h = (struct st_snap_head){ST_SNAP_MAGIC, st_snap_fp(), 0, 0, n + ST_SNAP_SUM};
		st_snap_sum(fz_buf, n, fz_buf + n);
		n += ST_SNAP_SUM;
	} else if (size > 0) {
		memcpy(fz_buf, data, size);
	}
	if (st_snap_load(fz_buf, n, 0, INT64_MIN, INT64_MAX, &wall, &why) != 0 && !fz_empty())
		abort();
	st_wipe();
	return 0;
}

/* ---- SNAP_GEN ---- */

static void
fz_list(int kind, const char *items)
{
	static char doc[16 * 1024];
	struct kw_stream *s = &g_kw.st[0];
	memset(s, 0, offsetof(struct kw_stream, obj));
	s->used = 1;
	s->kind = (uint8_t)kind;
	s->api = kw_api_first(kind);
	s->phase = KS_LIST;
	kw_frame_init(&s->fr, KF_LIST);
	snprintf(doc, sizeof doc, "{\"metadata\":{},\"items\":[%s]}", items);
	kw_frame_feed(s, doc, strlen(doc));
}

static void
fz_write(const char *dir, const char *name, const void *p, size_t n)
{
	char path[4096];
	snprintf(path, sizeof path, "%s/%s", dir, name);
	FILE *f = fopen(path, "wb");
	if (f == NULL || fwrite(p, 1, n, f) != n || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
}

__attribute__((constructor)) static void
fz_gen(void)
{
	const char *dir = getenv("SNAP_GEN");
	static unsigned char b[64 * 1024];
	if (dir == NULL)
		return;
	fz_init();
	fz_cf.n_eps = 1;
	fz_cf.eps[0].tls = 1; /* TLS Secrets are kept */
	fz_list(SK_INGRESS,
	        "{\"metadata\":{\"name\":\"i\",\"namespace\":\"a\",\"annotations\":{\"ingress.kubernetes.io/auth-type\":"
	        "\"basic\",\"ingress.kubernetes.io/auth-secret\":\"pw\",\"ingress.kubernetes.io/whitelist-source-range\":"
	        "\"10.0.0.0/8\",\"ingress.kubernetes.io/custom-response-headers\":\"X-A: b\",\"nginx.ingress.kubernetes.io/"
	        "canary\":\"x\"}},\"spec\":{\"tls\":[{\"hosts\":[\"a.io\"],\"secretName\":\"c\"}],\"rules\":[{\"host\":"
	        "\"a.io\",\"http\":{\"paths\":[{\"path\":\"/\",\"pathType\":\"Prefix\",\"backend\":{\"service\":{\"name\":"
	        "\"s\",\"port\":{\"number\":80}}}}]}}]}}");
	fz_list(SK_SERVICE, "{\"metadata\":{\"name\":\"s\",\"namespace\":\"a\"},\"spec\":{\"ports\":[{\"port\":80}]}},"
	                    "{\"metadata\":{\"name\":\"x\",\"namespace\":\"a\"},\"spec\":{\"type\":\"ExternalName\","
	                    "\"externalName\":\"x.io\"}}");
	fz_list(SK_ENDPOINTS, "{\"metadata\":{\"name\":\"s-1\",\"namespace\":\"a\",\"labels\":{\"kubernetes.io/"
	                      "service-name\":\"s\"}},\"addressType\":\"IPv4\",\"ports\":[{\"port\":8080}],\"endpoints\":"
	                      "[{\"addresses\":[\"10.0.0.1\"]}]}");
	fz_list(SK_SECRET, "{\"metadata\":{\"name\":\"pw\",\"namespace\":\"a\"},\"data\":{\"auth\":\"YTpi\"}},"
	                   "{\"metadata\":{\"name\":\"c\",\"namespace\":\"a\"},\"data\":{\"tls.crt\":\"eA==\",\"tls.key\":\"eQ==\"}}");
	size_t n = st_snap(fz_buf, sizeof fz_buf, 0, 1800000000);
	if (n == 0 || g_st.count[SK_SECRET] != 2) {
		fprintf(stderr, "fuzz_snap: SNAP_GEN: no snapshot\n");
		exit(1);
	}
	size_t body = n - sizeof(struct st_snap_head) - ST_SNAP_SUM;
	fz_write(dir, "real", fz_buf, n);
	fz_write(dir, "real-cut", fz_buf, n / 2);
	b[0] = 'B';
	memcpy(b + 1, fz_buf + sizeof(struct st_snap_head), body);
	fz_write(dir, "body", b, body + 1);
	fz_write(dir, "body-cut", b, body / 2);
	b[1 + body] = 1;
	fz_write(dir, "body-long", b, body + 2);
	exit(0);
}
