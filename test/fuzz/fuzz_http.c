/* test/fuzz/fuzz_http.c - libFuzzer target for the HTTP/1.x parsers: the
 * request head (scan + parse), the response head, and chunked framing of
 * what follows, fed whole and in two pieces. */
#define ING_NO_MAIN
#include "../../ingressd.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void
body(const char *p, size_t n, size_t split)
{
	struct hp_body b;
	size_t off = 0, doff, dlen;
	hp_body_init(&b, HB_CHUNKED, 0);
	while (off < n && !b.done) {
		size_t avail = off < split ? split - off : n - off;
		ssize_t r = hp_body_step(&b, p + off, avail, &doff, &dlen);
		if (r <= 0)
			break;
		if (doff + dlen > avail)
			__builtin_trap();
		off += (size_t)r;
	}
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct hp_msg m;
	const char *p = (const char *)data;
	size_t scan = 0;
	g.log_fd = -1;
	if (size == 0)
		return 0;
	/* the first byte picks request or response */
	int response = data[0] & 1;
	p++;
	size--;
	ssize_t hl = ING_WAIT;
	for (size_t i = 1; i <= size && hl == ING_WAIT; i += 1 + i / 4) /* incremental scan */
		hl = hp_scan_head(p, i, &scan);
	if (hl == ING_WAIT) {
		scan = 0;
		hl = hp_scan_head(p, size, &scan);
	}
	if (hl > 0) {
		if (response)
			hp_parse_response(&m, p, (size_t)hl);
		else
			hp_parse_request(&m, p, (size_t)hl);
		body(p + hl, size - (size_t)hl, (size - (size_t)hl) / 2);
	} else {
		body(p, size, size / 3);
	}
	return 0;
}
