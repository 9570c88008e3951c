/* test/fuzz/fuzz_yaml.c - libFuzzer target for the YAML subset reader
 * (ym_load, for the rate-limit and buffering annotations): whatever the
 * input, it ends, and what it accepts is JSON whose every string unescapes
 * (js_str) and whose mappings have distinct keys; what it refuses says
 * why, with a line and column when the YAML itself was wrong. */
#define ING_NO_MAIN
#include "../../ingressd.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char in[8192], json[8192], out[8192];
	static jsmntok_t tok[256];
	struct js j;
	char err[160] = "";
	g.log_fd = -1;
	if (size >= sizeof in)
		return 0;
	memcpy(in, data, size);
	in[size] = '\0';
	if (ym_load(&j, in, json, sizeof json, tok, 256, err, sizeof err) != 0) {
		if (err[0] == '\0')
			__builtin_trap(); /* a refusal always says why */
		return 0;
	}
	if (j.n < 1 || j.t[0].type != JSMN_OBJECT || strlen(json) != (size_t)j.t[0].end)
		__builtin_trap(); /* one mapping, the whole text */
	for (int i = 0; i < j.n; i++)
		if (j.t[i].type == JSMN_STRING && js_str(&j, i, out, sizeof out) < 0)
			__builtin_trap(); /* every string unescapes */
	return 0;
}
