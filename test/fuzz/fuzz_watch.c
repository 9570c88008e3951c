/* test/fuzz/fuzz_watch.c - libFuzzer target for the watch client's input:
 * chunked decoding of the API server's body, the JSON framer (list and
 * watch modes) and the object decoders into the store. */
#define ING_NO_MAIN
#include "../../ingressd.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static struct cf fz_cf;

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static int init;
	g.log_fd = -1;
	if (!init) {
		cf_defaults(&fz_cf);
		fz_cf.kube.status_set = 1; /* the published Service's status is decoded too */
		snprintf(fz_cf.kube.status_service, sizeof fz_cf.kube.status_service, "k/edge");
		cf_live = &fz_cf;
		init = 1;
	}
	if (size < 2)
		return 0;
	st_init();
	for (int i = 0; i < SK__COUNT; i++)
		g_kw.api[i] = kw_api_first(i);
	int kind = data[0] % SK__COUNT, phase = (data[0] >> 2) % 3 + KS_LIST;
	int chunked = data[0] & 0x40;
	struct kw_stream *s = &g_kw.st[0];
	memset(s, 0, offsetof(struct kw_stream, obj));
	s->used = 1;
	s->kind = (uint8_t)kind;
	s->api = kw_api_first(kind) + (data[1] % 3 < 2 || kind != SK_ENDPOINTS ? 0 : 2);
	s->phase = (uint8_t)phase;
	kw_frame_init(&s->fr, phase == KS_LIST ? KF_LIST : phase == KS_WATCH ? KF_WATCH : KF_OBJECT);
	const char *p = (const char *)data + 2;
	size_t n = size - 2;
	if (!chunked) {
		kw_frame_feed(s, p, n);
		return 0;
	}
	struct hp_body b;
	hp_body_init(&b, HB_CHUNKED, 0);
	for (size_t off = 0; off < n && !b.done;) {
		size_t doff, dlen;
		ssize_t r = hp_body_step(&b, p + off, n - off, &doff, &dlen);
		if (r <= 0)
			break;
		if (dlen > 0 && kw_frame_feed(s, p + off + doff, dlen) != 0)
			break;
		off += (size_t)r;
	}
	return 0;
}
