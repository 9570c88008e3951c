/*
 * test/resolve.c - port/posix.c's resolver as a command, for
 * test/e2e_resolver.sh:
 *
 *   resolve HOSTS RESOLV_CONF NAME...   px_resolve with these files
 *   resolve - - NAME...                 port_resolve (/etc/hosts,
 *                                       /etc/resolv.conf, ING_RESOLVE_MAX)
 *
 * prints a line per name: "NAME: ADDR ADDR... [MS ms]" or
 * "NAME: error: WHY [MS ms]".
 */
#include "../port/posix.c"

#include <stdio.h>

int
main(int argc, char **argv)
{
	if (argc < 4) {
		fprintf(stderr, "usage: resolve HOSTS|- RESOLV_CONF|- NAME...\n");
		return 2;
	}
	for (int i = 3; i < argc; i++) {
		struct ing_addr a[2 * PX_ADDRS];
		char why[160], text[INET6_ADDRSTRLEN];
		uint64_t t0 = port_now_ms();
		int n = strcmp(argv[1], "-") == 0 ? port_resolve(argv[i], a, ING_RESOLVE_MAX, why, sizeof why)
		                                  : px_resolve(argv[i], argv[1], argv[2], a, why, sizeof why);
		printf("%s:", argv[i]);
		if (n < 0)
			printf(" error: %s", why);
		for (int k = 0; k < n; k++) {
			if (a[k].port != 0 || (a[k].family != 4 && a[k].family != 6))
				printf(" BAD");
			inet_ntop(a[k].family == 4 ? AF_INET : AF_INET6, a[k].ip, text, sizeof text);
			printf(" %s", text);
		}
		printf(" [%llu ms]\n", (unsigned long long)(port_now_ms() - t0));
	}
	return 0;
}
