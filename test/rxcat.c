/* test/rxcat.c - the regex engine (rx_compile, rx_exec) as a filter for
 * test/regex_diff.py: each line "PATTERN<TAB>TEXT" on stdin gives one line,
 * "ERR <why>", "-" (no match), or the group spans "s,e s,e ..." of the
 * leftmost-first match (-1,-1 for a group that did not take part). */
#define ING_NO_MAIN
#include "../ingressd.c"

int
main(void)
{
	static char line[1 << 16];
	static struct rx_insn prog[RX_PROG];
	g.log_fd = -1;
	while (fgets(line, sizeof line, stdin) != NULL) {
		char *tab = strchr(line, '\t'), err[160], *nl = strchr(line, '\n');
		int cap[2 * RX_GROUPS];
		if (nl != NULL)
			*nl = '\0';
		if (tab == NULL)
			continue;
		*tab = '\0';
		if (rx_compile(line, 0, prog, RX_PROG, NULL, err, sizeof err) < 0) {
			printf("ERR %s\n", err);
			continue;
		}
		if (!rx_exec(prog, tab + 1, (int)strlen(tab + 1), 0, cap)) {
			printf("-\n");
			continue;
		}
		for (int i = 0; i < RX_GROUPS; i++)
			printf("%s%d,%d", i ? " " : "", cap[2 * i], cap[2 * i + 1]);
		printf("\n");
	}
	return 0;
}
