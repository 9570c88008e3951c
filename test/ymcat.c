/* test/ymcat.c - the YAML subset reader (ym_load) as a filter for
 * test/yaml_diff.py: each NUL-separated document on stdin becomes one
 * line on stdout, its JSON or "ERR <why>". */
#define ING_NO_MAIN
#include "../ingressd.c"

int
main(void)
{
	static char in[1 << 22], json[1 << 16];
	static jsmntok_t tok[4096];
	size_t n = fread(in, 1, sizeof in - 1, stdin);
	in[n] = '\0';
	g.log_fd = -1;
	for (size_t at = 0; at < n; at += strlen(in + at) + 1) {
		struct js j;
		char err[160];
		if (ym_load(&j, in + at, json, sizeof json, tok, 4096, err, sizeof err) == 0)
			printf("%s\n", json);
		else
			printf("ERR %s\n", err);
	}
	return 0;
}
