/* test/fuzz/fuzz_cb.c - libFuzzer target for the circuit-breaker
 * expression language: compile, then evaluate against recorded traffic. */
#define ING_NO_MAIN
#include "../../ingressd.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cb b;
	char expr[300], err[128];
	g.log_fd = -1;
	if (size >= sizeof expr)
		return 0;
	memcpy(expr, data, size);
	expr[size] = '\0';
	memset(&b, 0, offsetof(struct cb, codes));
	g.now = 1000000;
	if (cb_compile(expr, &b.prog, err, sizeof err) != 0) {
		if (strncmp(err, "column ", 7) != 0)
			__builtin_trap(); /* every error names its column */
		return 0;
	}
	b.used = 1;
	cb_roll(&b);
	for (int i = 0; i < 20; i++) {
		int k = (int)(b.sec % LB_BUCKETS);
		b.codes[k][(i * 37) % 500]++;
		b.all[k]++;
		b.lat[k][(i * 13) % CB_LAT_BINS]++;
	}
	cb_eval(&b);
	return 0;
}
