/*
 * test/fuzz/fuzz_dns.c - libFuzzer target for the DNS stub resolver of
 * port/posix.c (#included: its parsers are static), without the network.
 * The first byte picks the part:
 *
 *   0  an answer (the rest after a second byte: bit 0 set = to the AAAA
 *      query, else the A query) to the query for db.other.svc.cluster.local
 *      with ID 0x1234: px_reply, from an exact-size copy (ASan sees any
 *      over-read); the result must be an RCODE or PX_BAD, the addresses
 *      within bounds and of the query's family
 *   1  a resolv.conf (px_conf_read through a memfd), then every search
 *      candidate of a few names and its query (px_candidate, px_query)
 *   2  a hosts file (px_hosts) looked up for a few names
 *   3  a name (px_qname)
 *
 * Seeds: test/dnsd.py --seeds DIR (real answers, built as the test DNS
 * server builds them). test/fuzz/replay.c gives it a main() for `make test`.
 */
#include "../../port/posix.c"

#include <stdio.h>
#include <stdlib.h>
#include <sys/mman.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char fz_name[] = "db.other.svc.cluster.local";

/* The bytes as a file px_lines can open: a memfd, by its /proc path. */
static const char *
fz_file(const uint8_t *p, size_t n)
{
	static int fd = -1;
	static char path[64];
	if (fd < 0) {
		fd = memfd_create("fuzz_dns", MFD_CLOEXEC);
		if (fd < 0)
			abort();
		snprintf(path, sizeof path, "/proc/self/fd/%d", fd);
	}
	if (ftruncate(fd, 0) != 0 || (n > 0 && pwrite(fd, p, n, 0) != (ssize_t)n))
		abort();
	return path;
}

static void
fz_reply(const uint8_t *p, size_t n)
{
	uint8_t q[PX_QUERY_MAX];
	struct ing_addr a[PX_ADDRS];
	int type = n > 0 && (p[0] & 1) ? 28 : 1, got = -1;
	size_t ql = px_query(q, fz_name, 0x1234, (uint8_t)type);
	uint8_t *r;

	if (n > 0) {
		p++;
		n--;
	}
	if (ql == 0 || ql > PX_QUERY_MAX || (r = malloc(n ? n : 1)) == NULL)
		abort();
	memcpy(r, p, n);
	int rc = px_reply(r, n, q, ql, a, PX_ADDRS, &got);
	if (rc != PX_BAD && (rc < 0 || rc > 15))
		abort();
	if (got < 0 || got > PX_ADDRS || (rc != 0 && got != 0))
		abort();
	for (int i = 0; i < got; i++)
		if (a[i].family != (type == 1 ? 4 : 6) || a[i].port != 0)
			abort();
	free(r);
}

static void
fz_conf(const uint8_t *p, size_t n)
{
	static const char *names[] = {"web", "db.other.svc.cluster.local", "a.b.c.d.e.f.g", "x.", "x.y"};
	struct px_conf c;
	char cand[PX_NAME_MAX + 1];
	uint8_t q[PX_QUERY_MAX];

	if (px_conf_read(&c, fz_file(p, n)) != 0)
		abort();
	if (c.nns < 1 || c.nns > PX_NS_MAX || c.ndots < 0 || c.ndots > 15 || c.timeout_s < 1 || c.timeout_s > 60 ||
	    c.attempts < 1 || c.attempts > 10 || c.nsearch < 0 || c.nsearch > PX_SEARCH_MAX)
		abort();
	for (int i = 0; i < c.nns; i++)
		if (c.ns[i].family != 4 && c.ns[i].family != 6)
			abort();
	size_t used = 0;
	for (int i = 0; i < c.nsearch; i++) {
		const char *end = memchr(c.search + used, '\0', sizeof c.search - used);
		if (end == NULL)
			abort();
		used = (size_t)(end - c.search) + 1;
	}
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		size_t l = strlen(names[k]);
		int abs = names[k][l - 1] == '.', r, i;
		for (i = 0; (r = px_candidate(&c, names[k], l - (size_t)abs, abs, i, cand)) >= 0; i++) {
			if (i > PX_SEARCH_MAX || (r > 0 && (size_t)r != strlen(cand)) || r > PX_NAME_MAX)
				abort();
			size_t ql = r > 0 ? px_query(q, cand, 1, 1) : 0;
			if (ql > PX_QUERY_MAX || (ql > 0 && ql != (size_t)r + 18))
				abort();
		}
	}
}

static void
fz_hosts(const uint8_t *p, size_t n)
{
	static const char *names[] = {"localhost", fz_name, "db"};
	struct ing_addr a[2 * PX_ADDRS];
	const char *path = fz_file(p, n);
	for (size_t k = 0; k < sizeof names / sizeof names[0]; k++) {
		int max = k == 2 ? 2 : 2 * PX_ADDRS;
		int got = px_hosts(path, names[k], strlen(names[k]), a, max);
		if (got < 0 || got > max)
			abort();
		for (int i = 0; i < got; i++)
			if ((a[i].family != 4 && a[i].family != 6) || a[i].port != 0)
				abort();
	}
}

static void
fz_qname(const uint8_t *p, size_t n)
{
	char name[300];
	uint8_t q[PX_QUERY_MAX];
	if (n >= sizeof name)
		n = sizeof name - 1;
	memcpy(name, p, n);
	name[n] = '\0';
	size_t l = px_qname(q + 12, name);
	if (l != 0 && (l != strlen(name) + 2 || l > PX_NAME_MAX + 2))
		abort();
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size == 0)
		return 0;
	switch (data[0] & 3) {
	case 0:
		fz_reply(data + 1, size - 1);
		break;
	case 1:
		fz_conf(data + 1, size - 1);
		break;
	case 2:
		fz_hosts(data + 1, size - 1);
		break;
	default:
		fz_qname(data + 1, size - 1);
		break;
	}
	return 0;
}
