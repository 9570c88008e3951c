/* test/fuzz/fuzz_regex.c - libFuzzer target for the regex engine: the
 * input is a pattern, a NUL, and a text. Whatever the pattern, compiling
 * it ends with a program or an error with a column inside it; a match
 * gives spans inside the text, the whole match around every group's. */
#define ING_NO_MAIN
#include "../../ingressd.c"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static char buf[4096];
	static struct rx_insn prog[RX_PROG];
	char err[160];
	int cap[2 * RX_GROUPS];
	g.log_fd = -1;
	if (size >= sizeof buf)
		return 0;
	memcpy(buf, data, size);
	buf[size] = '\0';
	size_t pl = strlen(buf);
	const char *text = pl < size ? buf + pl + 1 : "";
	int tl = pl < size ? (int)(size - pl - 1) : 0;
	int n = rx_compile(buf, data[0] & 1, prog, RX_PROG, NULL, err, sizeof err);
	if (n < 0) {
		int col = atoi(err + 7);
		if (strncmp(err, "column ", 7) != 0 || col < 1 || (size_t)col > pl + 1)
			__builtin_trap(); /* an error says where, inside the pattern */
		return 0;
	}
	if (n > RX_PROG || prog[n - 1].op != RX_MATCH)
		__builtin_trap();
	if (rx_exec(prog, text, tl, 0, cap)) {
		if (cap[0] < 0 || cap[0] > cap[1] || cap[1] > tl)
			__builtin_trap();
		for (int i = 1; i < RX_GROUPS; i++)
			if (cap[2 * i] != -1 && (cap[2 * i] > cap[2 * i + 1] || cap[2 * i] < 0 || cap[2 * i + 1] > tl))
				__builtin_trap(); /* a group inside the text */
	}
	return 0;
}
