/* test/fuzz/fuzz_conf.c - libFuzzer target for the config parser. */
#define ING_NO_MAIN
#include "../../ingressd.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct cf_parser ps;
	static struct cf c;
	g.log_fd = -1;
	cf_parse(&ps, &c, "fuzz", (const char *)data, size);
	return 0;
}
