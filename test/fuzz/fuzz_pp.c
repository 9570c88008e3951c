/* test/fuzz/fuzz_pp.c - libFuzzer target for the PROXY protocol header
 * parser (pp_parse), framed as pp_read frames it: a v1 line up to its CRLF
 * within 107 bytes, a v2 header of 16 bytes plus its length (at most
 * PP_MAX). A parsed source is an IPv4 or IPv6 address or none. */
#define ING_NO_MAIN
#include "../../ingressd.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *b = (const char *)data;
	struct ing_addr src;
	size_t need = 0;
	g.log_fd = -1;
	if (size >= 16 && memcmp(b, pp_v2sig, sizeof pp_v2sig) == 0)
		need = 16 + ((size_t)data[14] << 8 | data[15]);
	else if (size >= 8 && memcmp(b, "PROXY ", 6) == 0 && memmem(b, ING_MIN(size, PP_V1_MAX), "\r\n", 2) != NULL)
		need = (size_t)((const char *)memmem(b, ING_MIN(size, PP_V1_MAX), "\r\n", 2) - b) + 2;
	if (need == 0 || need > size || need > PP_MAX)
		return 0;
	char *copy = malloc(need); /* exactly the header: ASan sees any read past it */
	memcpy(copy, b, need);
	if (pp_parse(copy, need, &src) == 0 && src.family != 0 && src.family != 4 && src.family != 6)
		__builtin_trap();
	free(copy);
	return 0;
}
