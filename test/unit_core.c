/*
 * test/unit.c - unit tests. Includes ingressd.c with main compiled out so
 * the static functions are reachable, and links the mock port
 * (port/mock.c). The Makefile builds it with ASan+UBSan and tiny limits.
 */
#define ING_NO_MAIN
#include "../ingressd.c"

#include "../port/mock.h"
#include "unit.h"

/* ---------------------------------------------------------------- helpers */

static struct cf_parser ut_ps;
static struct cf ut_cf;

static int
conf(const char *text)
{
	return cf_parse(&ut_ps, &ut_cf, "t.conf", text, strlen(text));
}

/* An error (or warning) at line containing text. */
static int
conf_has(int line, int warning, const char *text)
{
	for (int i = 0; i < ut_ps.nmsg; i++)
		if (ut_ps.msgs[i].line == line && ut_ps.msgs[i].warning == warning && strstr(ut_ps.msgs[i].text, text))
			return 1;
	fprintf(stderr, "  messages were:\n");
	for (int i = 0; i < ut_ps.nmsg; i++)
		fprintf(stderr, "    %d:%s %s\n", ut_ps.msgs[i].line, ut_ps.msgs[i].warning ? " warning:" : "",
		        ut_ps.msgs[i].text);
	return 0;
}

/* ---------------------------------------------------------------- addresses */

TEST(test_addr)
{
	struct ing_addr a;
	char buf[64];
	CHECK(ing_addr_parse_ip(&a, "10.42.0.7", 9) == 0 && a.family == 4 && a.ip[3] == 7);
	CHECK(ing_addr_parse_ip(&a, "255.255.255.255", 15) == 0);
	CHECK(ing_addr_parse_ip(&a, "256.1.1.1", 9) != 0);
	CHECK(ing_addr_parse_ip(&a, "1.2.3", 5) != 0);
	CHECK(ing_addr_parse_ip(&a, "01.2.3.4", 8) != 0);
	CHECK(ing_addr_parse_ip(&a, "1.2.3.4.", 8) != 0);
	CHECK(ing_addr_parse_ip(&a, "", 0) != 0);
	CHECK(ing_addr_parse_ip(&a, "::1", 3) == 0 && a.family == 6 && a.ip[15] == 1);
	CHECK(ing_addr_parse_ip(&a, "[fe80::1]", 9) == 0 && a.ip[0] == 0xfe && a.ip[1] == 0x80);
	CHECK(ing_addr_parse_ip(&a, "::ffff:1.2.3.4", 14) == 0 && a.ip[10] == 0xff && a.ip[12] == 1);
	CHECK(ing_addr_parse_ip(&a, "1:2:3:4:5:6:7:8", 15) == 0 && a.ip[15] == 8);
	CHECK(ing_addr_parse_ip(&a, "1:2:3:4:5:6:7:8:9", 17) != 0);
	CHECK(ing_addr_parse_ip(&a, "1::2::3", 7) != 0);
	CHECK(ing_addr_parse_ip(&a, ":::", 3) != 0);
	CHECK(ing_addr_parse_ip(&a, "12345::", 7) != 0);
	CHECK(ing_addr_parse_ip(&a, "1:2:3:4:5:6:7:", 14) != 0);
	CHECK(ing_addr_parse(&a, ":80", 3) == 0 && a.family == 0 && a.port == 80);
	CHECK(ing_addr_parse(&a, "127.0.0.1:8080", 14) == 0 && a.family == 4 && a.port == 8080);
	CHECK(ing_addr_parse(&a, "[::1]:443", 9) == 0 && a.family == 6 && a.port == 443);
	CHECK(ing_addr_parse(&a, "::1:443", 7) != 0);
	CHECK(ing_addr_parse(&a, "1.2.3.4:65536", 13) != 0);
	CHECK(ing_addr_parse(&a, "1.2.3.4", 7) != 0);
	CHECK(ing_addr_parse(&a, "host:80", 7) != 0);
	ing_addr_parse(&a, "[2001:db8::1]:80", 16);
	ing_addr_fmt(&a, buf, sizeof buf, 1);
	CHECK_STR(buf, "[2001:db8::1]:80");
	ing_addr_parse_ip(&a, "::", 2);
	ing_addr_fmt(&a, buf, sizeof buf, 0);
	CHECK_STR(buf, "::");
	ing_addr_parse_ip(&a, "1:0:0:2:0:0:0:3", 15);
	ing_addr_fmt(&a, buf, sizeof buf, 0);
	CHECK_STR(buf, "1:0:0:2::3");
	ing_addr_parse_ip(&a, "10.0.0.1", 8);
	a.port = 9;
	ing_addr_fmt(&a, buf, sizeof buf, 1);
	CHECK_STR(buf, "10.0.0.1:9");
	ing_addr_parse(&a, "255.255.255.255:65535", 21);
	CHECK(ing_addr_fmt(&a, buf, sizeof buf, 1) == 21);
	CHECK_STR(buf, "255.255.255.255:65535");
	ing_addr_parse_ip(&a, "0.10.100.9", 10);
	CHECK(ing_addr_fmt(&a, buf, sizeof buf, 0) == 10);
	CHECK_STR(buf, "0.10.100.9");
	CHECK(ing_addr_fmt(&a, buf, 5, 0) == 4); /* truncated like snprintf, NUL kept */
	CHECK_STR(buf, "0.10");
}

/* ---------------------------------------------------------------- fmt */

/* ing_snprintf (port/fmt.c) against the C library's, conversion by
 * conversion, whole and cut short at every length. */
#define FMT_SAME(...)                                                                                           \
	do {                                                                                                    \
		char a_[96], b_[96];                                                                            \
		int ra_ = ing_snprintf(a_, sizeof a_, __VA_ARGS__), rb_ = snprintf(b_, sizeof b_, __VA_ARGS__); \
		CHECK(ra_ == rb_ && strcmp(a_, b_) == 0);                                                       \
		for (size_t cap_ = 0; cap_ < 24; cap_++) {                                                      \
			memset(a_, 'x', sizeof a_);                                                             \
			memset(b_, 'x', sizeof b_);                                                             \
			ra_ = ing_snprintf(a_, cap_, __VA_ARGS__);                                              \
			rb_ = snprintf(b_, cap_, __VA_ARGS__);                                                  \
			if (ra_ != rb_ || memcmp(a_, b_, sizeof a_) != 0) {                                     \
				CHECK(!"cut short differently");                                                \
				break;                                                                          \
			}                                                                                       \
		}                                                                                               \
	} while (0)

#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wformat-truncation" /* cut short on purpose */
#pragma GCC diagnostic ignored "-Wformat-security"   /* formats it must leave alone */
#pragma GCC diagnostic ignored "-Wformat-overflow"
TEST(test_fmt)
{
	FMT_SAME("plain text, no conversion");
	FMT_SAME("%s|%s|%.3s|%.*s|%-6s|%6s|%.0s", "abc", "", "abcdef", 2, "xyz", "ab", "ab", "gone");
	FMT_SAME("%d %d %d %i %5d %-5d| %05d %05d", 0, -1, INT_MIN, INT_MAX, 42, 42, 42, -42);
	FMT_SAME("%u %u %x %X %02x %04x %08X", 0u, UINT_MAX, 255u, 0xbeefu, 7u, 0xau, 0xdeadbeefu);
	FMT_SAME("%ld %lu %lld %llu %03ld", LONG_MIN, ULONG_MAX, LLONG_MIN, ULLONG_MAX, 7L);
	FMT_SAME("%zu %zd %zu", (size_t)0, (ssize_t)-5, SIZE_MAX);
	FMT_SAME("%" PRIu64 " %" PRId64 " %" PRIu64, UINT64_MAX, INT64_MIN, (uint64_t)1 << 40);
	FMT_SAME("%c%c%c %% %%%s", 'a', 0x7f, ' ', "x");
	FMT_SAME("%*d|%-*d|%*s", 6, -12, 4, 3, -5, "ab");
	FMT_SAME("%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ", 2026, 12, 7, 3, 4, 5, 6L, "INFO");
	/* what it leaves alone, it leaves as it stands */
	char b[32];
	const char *odd1 = "a%qb", *odd2 = "end%"; /* not literals: the compiler would refuse them */
	CHECK(ing_snprintf(b, sizeof b, odd1) == 4 && !strcmp(b, "a%qb"));
	CHECK(ing_snprintf(b, sizeof b, odd2) == 4 && !strcmp(b, "end%"));
	const char *none = NULL;
	CHECK(ing_snprintf(b, sizeof b, "%s", none) == 6 && !strcmp(b, "(null)"));
	CHECK(ing_snprintf(NULL, 0, "%d", 12345) == 5);
}
#pragma GCC diagnostic pop

static int
cmp_int_pair(const void *a, const void *b)
{
	const int *x = a, *y = b;
	return x[0] != y[0] ? (x[0] < y[0] ? -1 : 1) : (x[1] > y[1]) - (x[1] < y[1]);
}

/* What stands in for the C library's strerror, strstr and qsort. */
TEST(test_libc_own)
{
	CHECK(!strcmp(ing_strerror(ENOENT), "No such file or directory"));
	CHECK(!strcmp(ing_strerror(ECONNREFUSED), "Connection refused"));
	CHECK(!strcmp(ing_strerror(EINPROGRESS), "Operation in progress")); /* the last one */
	CHECK(!strcmp(ing_strerror(0), "error 0") && !strcmp(ing_strerror(-3), "error -3"));
	CHECK(!strcmp(ing_strerror(EDOM), "error 33"));
	const char *h = "a, b, c";
	CHECK(str_str(h, ", ") == h + 1 && str_str(h, "c") == h + 6);
	CHECK(str_str(h, "c, ") == NULL && str_str("", "x") == NULL);
	/* every length to 40 of random pairs (many ties on the first), and 1000 */
	static int v[1000][2];
	unsigned r = 12345;
	for (size_t n = 0; n <= 1000; n = n < 40 ? n + 1 : 1000) {
		long sum = 0, sum2 = 0;
		for (size_t i = 0; i < n; i++) {
			r = r * 1103515245 + 12345;
			v[i][0] = (int)(r >> 16) % 7;
			v[i][1] = (int)i;
			sum += v[i][0] * 1000 + (long)i;
		}
		str_sort(v, n, sizeof v[0], cmp_int_pair);
		int sorted = 1;
		for (size_t i = 0; i < n; i++) {
			sum2 += v[i][0] * 1000 + v[i][1];
			if (i > 0 && cmp_int_pair(v[i - 1], v[i]) >= 0)
				sorted = 0;
		}
		CHECK(sorted && sum == sum2);
		if (n == 1000)
			break;
	}
}

/* ---------------------------------------------------------------- the heap */

static int
heap_zero(const unsigned char *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return 0;
	return 1;
}

TEST(test_heap)
{
	CHECK_EQ(g_ar.used, 0, "nothing allocated before");
	CHECK_EQ(g_ar.top, 0, "nothing carved before");
	ing_free(NULL);
	/* three blocks: zeroed, 8-aligned, apart, counted */
	unsigned char *a = ing_alloc(100, "t"), *b = ing_alloc(200, "t"), *c = ing_alloc(1, "t");
	CHECK(a && b && c && b > a + 100 && c > b + 200);
	CHECK(((uintptr_t)a | (uintptr_t)b | (uintptr_t)c) % 8 == 0);
	CHECK(heap_zero(a, 100) && heap_zero(b, 200) && heap_zero(c, 1));
	CHECK(g_ar.used >= 301 + 3 * AR_HDR);
#ifdef AR_ASAN
	CHECK(__asan_address_is_poisoned(a + 100) && __asan_address_is_poisoned(b + 200) && !__asan_address_is_poisoned(c));
#endif
	memset(a, 0xaa, 100);
	memset(b, 0xbb, 200);
	/* a hole is reused first fit, split, and the rest stays free */
	ing_free(b);
#ifdef AR_ASAN
	CHECK(__asan_address_is_poisoned(b) && __asan_address_is_poisoned(b + 199));
#endif
	unsigned char *b1 = ing_alloc(40, "t"), *b2 = ing_alloc(40, "t");
	CHECK(b1 == b && b2 > b1 && b2 < c && heap_zero(b1, 40) && heap_zero(b2, 40));
	unsigned char *big = ing_alloc(300, "t"); /* fits no hole: after c */
	CHECK(big > c);
	/* frees merge with both neighbours: b1 + b2 + the rest of the hole */
	ing_free(b1);
	ing_free(b2);
	unsigned char *b3 = ing_alloc(200, "t");
	CHECK(b3 == b);
	ing_free(b3);
	/* the last block goes back to the untouched end, with the free one before it */
	uint32_t top = g_ar.top;
	ing_free(big);
	CHECK(g_ar.top < top);
	ing_free(c);
	CHECK(g_ar.top == (uint32_t)(b - g_ar.a) - AR_HDR);
	ing_free(a);
	CHECK_EQ(g_ar.used, 0, "all freed");
	CHECK_EQ(g_ar.top, 0, "all given back");
	CHECK_EQ(g_ar.low, 0, "the first free block");
	/* exhaustion: logged and counted, and the heap still works */
	uint64_t hits = g_lim.hits[LIM_HEAP_BYTES];
	CHECK(ing_alloc(ING_MAX_HEAP_BYTES, "t") == NULL && ing_alloc((size_t)-1, "t") == NULL);
	CHECK(g_lim.hits[LIM_HEAP_BYTES] == hits + 2);
	enum { K = 64 * 1024, NB = ING_MAX_HEAP_BYTES / K + 1 };
	static unsigned char *blk[NB];
	int n = 0;
	while (n < NB && (blk[n] = ing_alloc(K - AR_HDR - AR_RED, "t")) != NULL)
		n++;
	CHECK_EQ(n, ING_MAX_HEAP_BYTES / K, "64 KB blocks fill the heap exactly");
	CHECK(g_lim.hits[LIM_HEAP_BYTES] == hits + 3 && g_ar.used == ING_MAX_HEAP_BYTES);
	CHECK(ing_alloc(0, "t") == NULL);
	/* fragmentation: every other block freed leaves holes of 64 KB, and
	 * no room for 128 KB until two neighbours are free */
	for (int i = 0; i < n; i += 2)
		ing_free(blk[i]);
	CHECK(ing_alloc(2 * K - AR_HDR - AR_RED, "t") == NULL);
	unsigned char *h = ing_alloc(K / 2, "t"); /* the first hole, split */
	CHECK(h == blk[0]);
	ing_free(h);
	ing_free(blk[1]);
	unsigned char *h2 = ing_alloc(3 * K - AR_HDR - AR_RED, "t"); /* blocks 0, 1 and 2 as one */
	CHECK(h2 == blk[0]);
	ing_free(h2);
	for (int i = 3; i < n; i += 2)
		ing_free(blk[i]);
	CHECK_EQ(g_ar.used, 0, "all freed again");
	CHECK_EQ(g_ar.top, 0, "all given back again");
	/* the whole heap in one block, then small ones again */
	unsigned char *all = ing_alloc(ING_MAX_HEAP_BYTES - AR_HDR - AR_RED - 8, "t");
	CHECK(all == g_ar.a + AR_HDR);
	ing_free(all);
	a = ing_alloc(10, "t");
	CHECK(a == g_ar.a + AR_HDR);
	ing_free(a);
	CHECK(g_ar.used == 0 && g_ar.top == 0);
	/* a random mix against a model: contents kept, all merged at the end */
	static struct { unsigned char *p; size_t n; unsigned char v; } m[64];
	uint32_t x = 12345;
	for (int step = 0; step < 20000; step++) {
		x = x * 1103515245u + 12345u;
		int i = (int)(x >> 16) % 64;
		if (m[i].p != NULL) {
			int ok = 1;
			for (size_t k = 0; k < m[i].n; k++)
				ok &= m[i].p[k] == m[i].v;
			if (!ok)
				CHECK(ok);
			ing_free(m[i].p);
			m[i].p = NULL;
		} else {
			m[i].n = (x >> 4) % 3000 + (i % 7 == 0 ? 40000 : 0);
			if ((m[i].p = ing_alloc(m[i].n, "t")) != NULL && heap_zero(m[i].p, m[i].n)) {
				m[i].v = (unsigned char)(x | 1);
				memset(m[i].p, m[i].v, m[i].n);
			} else {
				CHECK(m[i].p != NULL);
			}
		}
	}
	for (int i = 0; i < 64; i++)
		ing_free(m[i].p);
	CHECK(g_ar.used == 0 && g_ar.top == 0 && g_ar.low == 0);
}

/* ---------------------------------------------------------------- config */

TEST(test_conf_every_key)
{
	const char *text = "# every key\n"
	                   "logLevel = \"warn\"\n"
	                   "defaultEntryPoints = [\"http\", \"https\"]\n"
	                   "user = \"nobody\"\n"
	                   "graceTimeOut = \"5s\"\n"
	                   "maxIdleConnsPerHost = 32\n"
	                   "[entryPoints]\n"
	                   "  [entryPoints.http]\n"
	                   "  address = \":8000\"\n"
	                   "    [entryPoints.http.redirect]\n"
	                   "    entryPoint = \"https\"\n"
	                   "  [entryPoints.https]\n"
	                   "  address = \"[::1]:8443\"\n"
	                   "    [entryPoints.https.tls]\n"
	                   "    certFile = \"/etc/c.pem\"\n"
	                   "    keyFile = '/etc/k.pem'\n"
	                   "[web]\n"
	                   "address = \"127.0.0.1:9090\"\n"
	                   "[accessLog]\n"
	                   "filePath = \"/var/log/a.log\"\n"
	                   "format = \"json\"\n"
	                   "[respondingTimeouts]\n"
	                   "readTimeout = \"1m30s\"\n"
	                   "writeTimeout = 7\n"
	                   "idleTimeout = \"500ms\"\n"
	                   "[forwardingTimeouts]\n"
	                   "dialTimeout = \"2s\"\n"
	                   "responseHeaderTimeout = \"1.5s\"\n"
	                   "[lifeCycle]\n"
	                   "graceTimeOut = \"3s\"\n"
	                   "[kubernetes]\n"
	                   "endpoint = \"https://10.43.0.1:443\"\n"
	                   "token = \"abc\\u00e9\"\n"
	                   "certAuthFilePath = \"/ca.crt\"\n"
	                   "namespaces = [\n  \"default\", # comment\n  \"prod-1\",\n]\n"
	                   "labelselector = \"app in (a, b),tier!=db,!canary\"\n"
	                   "disablePassHostHeaders = true\n"
	                   "ingressClass = \"edge\"\n"
	                   "whitelistInvalidAllowAll = true\n"
	                   "throttleDuration = \"200ms\"\n";
	CHECK(conf(text) == 0);
	CHECK(ut_cf.loglevel == ING_LOG_WARN);
	CHECK(ut_cf.n_default_eps == 2 && !strcmp(ut_cf.default_eps[1], "https"));
	CHECK_STR(ut_cf.user, "nobody");
	CHECK(ut_cf.grace_timeout == 3000);
	CHECK(ut_cf.max_idle_per_host == 32);
	CHECK(ut_cf.n_eps == 2);
	CHECK_STR(ut_cf.eps[0].name, "http");
	CHECK(ut_cf.eps[0].addr.port == 8000 && ut_cf.eps[0].addr.family == 0);
	CHECK_STR(ut_cf.eps[0].redirect_ep, "https");
	CHECK(ut_cf.eps[1].tls == 1 && ut_cf.eps[1].addr.family == 6);
	CHECK_STR(ut_cf.eps[1].cert_file, "/etc/c.pem");
	CHECK_STR(ut_cf.eps[1].key_file, "/etc/k.pem");
	CHECK(ut_cf.web.port == 9090 && ut_cf.web.family == 4);
	CHECK_STR(ut_cf.accesslog_path, "/var/log/a.log");
	CHECK(ut_cf.accesslog_format == CF_LOG_JSON);
	CHECK(ut_cf.read_timeout == 90000);
	CHECK(ut_cf.write_timeout == 7000);
	CHECK(ut_cf.idle_timeout == 500);
	CHECK(ut_cf.dial_timeout == 2000);
	CHECK(ut_cf.response_header_timeout == 1500);
	CHECK_STR(ut_cf.kube.endpoint, "https://10.43.0.1:443");
	CHECK_STR(ut_cf.kube.token, "abc\xc3\xa9");
	CHECK_STR(ut_cf.kube.ca_file, "/ca.crt");
	CHECK(ut_cf.kube.n_namespaces == 2 && !strcmp(ut_cf.kube.namespaces[1], "prod-1"));
	CHECK_STR(ut_cf.kube.labelselector, "app in (a, b),tier!=db,!canary");
	CHECK(ut_cf.kube.disable_pass_host == 1);
	CHECK_STR(ut_cf.kube.ingress_class, "edge");
	CHECK(ut_cf.kube.whitelist_invalid_allow_all == 1);
	CHECK(ut_cf.kube.throttle == 200);

	/* defaults */
	CHECK(conf("") == 0);
	CHECK(ut_cf.n_eps == 1 && ut_cf.eps[0].addr.port == 80);
	CHECK(ut_cf.web.port == 8080 && ut_cf.idle_timeout == 180000);
	CHECK(ut_cf.n_default_eps == 1);
	CHECK(conf("debug = true\n") == 0 && ut_cf.loglevel == ING_LOG_DEBUG);
}

TEST(test_conf_errors)
{
	/* every error kind, with its line */
	CHECK(conf("logLevel = \"INFO\"\nlistne = 1\n") == 1 && conf_has(2, 0, "unknown key \"listne\""));
	CHECK(conf("[kubernetes]\nendpont = \"x\"\n") == 1 && conf_has(2, 0, "unknown key \"endpont\" in [kubernetes]"));
	CHECK(conf("[web]\naddress = 8080\n") == 1 && conf_has(2, 0, "address: expected string, got integer"));
	CHECK(conf("[kubernetes]\nnamespaces = \"default\"\n") == 1 && conf_has(2, 0, "expected array"));
	CHECK(conf("[kubernetes]\ndisablePassHostHeaders = \"yes\"\n") == 1 && conf_has(2, 0, "expected boolean"));
	CHECK(conf("[web]\naddress = \":1\"\naddress = \":2\"\n") == 1 && conf_has(3, 0, "duplicate key"));
	CHECK(conf("[web]\n[web]\n") == 1 && conf_has(2, 0, "duplicate table [web]"));
	CHECK(conf("[entryPoints.http]\naddress = \"1.2.3:80\"\n") >= 1 && conf_has(2, 0, "bad address"));
	CHECK(conf("[entryPoints.http]\naddress = \"[::1]\"\n") >= 1 && conf_has(2, 0, "bad address"));
	CHECK(conf("[respondingTimeouts]\nreadTimeout = \"30 s\"\n") == 1 && conf_has(2, 0, "invalid duration"));
	CHECK(conf("[respondingTimeouts]\nreadTimeout = \"30x\"\n") == 1 && conf_has(2, 0, "invalid duration"));
	CHECK(conf("[respondingTimeouts]\nreadTimeout = \"s\"\n") == 1);
	CHECK(conf("[respondingTimeouts]\nreadTimeout = -5\n") == 1 && conf_has(2, 0, "out of range"));
	CHECK(conf("logLevel = \"loud\"\n") == 1 && conf_has(1, 0, "unknown level"));
	CHECK(conf("[accessLog]\nformat = \"xml\"\n") == 1 && conf_has(2, 0, "\"common\" or \"json\""));
	CHECK(conf("[kubernetes]\nlabelselector = \"A and not B\"\n") == 1 && conf_has(2, 0, "labelselector"));
	CHECK(conf("[kubernetes]\nlabelselector = \"a in b\"\n") == 1);
	CHECK(conf("[kubernetes]\nlabelselector = \"a=b,,c\"\n") == 1 && conf_has(2, 0, "empty requirement"));
	CHECK(conf("[kubernetes]\nlabelselector = \"-a=b\"\n") == 1);
	CHECK(conf("[kubernetes]\nlabelselector = \"x/y=z,example.com/k notin (v1,v2),k==v\"\n") == 0);
	CHECK(conf("[kubernetes]\nlabelselector = \"k in (v1, ,v2)\"\n") == 1 && conf_has(2, 0, "invalid value in set"));
	CHECK(conf("[kubernetes]\nlabelselector = \"k in (v1, )\"\n") == 0);
	CHECK(conf("[kubernetes]\nlabelselector = \"k notin (v1,-v2)\"\n") == 1 && conf_has(2, 0, "invalid value in set"));
	CHECK(conf("[kubernetes]\nnamespaces = [\"Default\"]\n") == 1 && conf_has(2, 0, "not a valid namespace"));
	CHECK(conf("[kubernetes]\nnamespaces = [\"a\", \"b\", \"c\"]\n") == 1 && conf_has(2, 0, "ING_MAX_NAMESPACES"));
	CHECK(conf("[kubernetes]\nendpoint = \"10.0.0.1:6443\"\n") == 1 && conf_has(0, 0, "http:// or https://"));
	CHECK(conf("name = value\n") == 1 && conf_has(1, 0, "strings need quotes"));
	CHECK(conf("maxIdleConnsPerHost = 1.5\n") == 1 && conf_has(1, 0, "floats are not supported"));
	CHECK(conf("x.y = 1\n") == 1 && conf_has(1, 0, "dotted keys"));
	CHECK(conf("[web]\naddress = {a = 1}\n") == 1 && conf_has(2, 0, "inline tables"));
	CHECK(conf("[web]\naddress\n") == 1 && conf_has(2, 0, "expected '='"));
	CHECK(conf("[web]\naddress =\n") == 1 && conf_has(2, 0, "missing value"));
	CHECK(conf("[web]\naddress = \":1\" junk\n") == 1 && conf_has(2, 0, "unexpected text"));
	CHECK(conf("user = \"a\\qb\"\n") == 1 && conf_has(1, 0, "invalid escape"));
	CHECK(conf("user = \"\\ud800\"\n") == 1 && conf_has(1, 0, "invalid code point"));
	CHECK(conf("user = \"\\u0000\"\n") == 1);
	CHECK(conf("user = \"\"\"a\"\"\"\n") == 1 && conf_has(1, 0, "multi-line strings"));
	CHECK(conf("defaultEntryPoints = [\"http\", 1]\n") == 1 && conf_has(1, 0, "not both"));
	CHECK(conf("defaultEntryPoints = [\"nope\"]\n") == 1 && conf_has(0, 0, "unknown entry point \"nope\""));
	CHECK(conf("[unknowntable]\n") == 1 && conf_has(1, 0, "unknown table [unknowntable]"));
	CHECK(conf("[web.nothing]\n") == 1 && conf_has(1, 0, "unknown table"));
	CHECK(conf("[entryPoints.a.b]\n") >= 1 && conf_has(1, 0, "before [entryPoints.a]"));
	CHECK(conf("[entryPoints.a]\naddress = \":81\"\n[entryPoints.a.wat]\n") == 1 && conf_has(3, 0, "unknown table"));
	CHECK(conf("[entryPoints.a]\n[entryPoints.b]\naddress=\":1\"\n") == 1 && conf_has(1, 0, "missing address"));
	CHECK(conf("[entryPoints.a]\naddress=\":1\"\n[entryPoints.b]\naddress=\":1\"\n") == 1 &&
	      conf_has(3, 0, "already used"));
	CHECK(conf("[entryPoints.a]\naddress=\":8080\"\n") == 1 && conf_has(1, 0, "clashes with [web]"));
	CHECK(conf("[entryPoints.a]\naddress=\":1\"\n[entryPoints.a.redirect]\nentryPoint=\"zz\"\n") == 1 &&
	      conf_has(1, 0, "unknown entry point \"zz\""));
	CHECK(conf("[entryPoints.a]\naddress=\":1\"\n[entryPoints.a.tls]\ncertFile=\"x\"\n") == 1 &&
	      conf_has(1, 0, "go together"));
	CHECK(conf("[entryPoints.a]\naddress=\":1\"\n[entryPoints.b]\naddress=\":2\"\n[entryPoints.c]\naddress=\":3\"\n"
	           "[entryPoints.d]\naddress=\":4\"\n") == 1 &&
	      conf_has(7, 0, "ING_MAX_ENTRYPOINTS"));
	CHECK(conf("user = \"" "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa" "\"\n") == 1 && conf_has(1, 0, "too long"));
	CHECK(conf("maxIdleConnsPerHost = 99999999999999999999999\n") == 1 && conf_has(1, 0, "out of range"));
	CHECK(conf("maxIdleConnsPerHost = 9223372036854775807\n") == 1 && conf_has(1, 0, "out of range (0..1000000)"));
	CHECK(conf("[entryPoints.h]\naddress = \":80\"\n[entryPoints.h.redirect]\nregex = \"^(a\"\nreplacement = \"x\"\n") == 1 &&
	      conf_has(1, 0, "[entryPoints.h.redirect] regex: column 2: missing )"));
	CHECK(conf("[entryPoints.h]\naddress = \":80\"\n[entryPoints.h.redirect]\nregex = \"^a\"\n") == 1 &&
	      conf_has(1, 0, "regex and replacement go together"));
	CHECK(conf("[entryPoints.h]\naddress = \":80\"\n[entryPoints.h.redirect]\nregex = \"^a\"\nreplacement = \"{{.X}}\"\n") == 1 &&
	      conf_has(1, 0, "Go templates"));
	CHECK(conf("rateLimitIPv6Prefix = 0\n") == 1 && conf_has(0, 0, "rateLimitIPv6Prefix: 0: 1 to 128 bits"));
	CHECK(conf("rateLimitIPv6Prefix = 129\n") == 1);
	CHECK(conf("rateLimitIPv6Prefix = 56\n") == 0 && ut_cf.rl_v6_prefix == 56);
	{ /* the limits' key of a client: its IPv6 prefix, an IPv4 address whole */
		struct ing_addr a6, a6b, a4;
		uint8_t k1[17], k2[17];
		struct cf *saved = cf_live;
		cf_live = &ut_cf;
		ing_addr_parse_ip(&a6, "2001:db8:1:2a00::1", 18);
		ing_addr_parse_ip(&a6b, "2001:db8:1:2aff:ffff::9", 23);
		ing_addr_parse_ip(&a4, "10.1.2.3", 8);
		rl_key(NULL, &a6, RK_CLIENT, NULL, k1);
		rl_key(NULL, &a6b, RK_CLIENT, NULL, k2);
		CHECK(memcmp(k1, k2, 17) == 0); /* the same /56 */
		ut_cf.rl_v6_prefix = 64;
		rl_key(NULL, &a6b, RK_CLIENT, NULL, k2);
		CHECK(memcmp(k1, k2, 17) != 0);
		rl_key(NULL, &a4, RK_CLIENT, NULL, k2);
		CHECK(k2[0] == 4 && k2[1] == 10 && k2[4] == 3 && k2[5] == 0);
		cf_live = saved;
	}
	/* several errors: all reported, in order */
	CHECK(conf("a = 1\n[web]\nb = 2\n[kubernetes]\nc = 3\n") == 3 && conf_has(1, 0, "\"a\"") && conf_has(3, 0, "\"b\"") &&
	      conf_has(5, 0, "\"c\""));
	/* more errors than ING_MAX_CONF_ERRORS: counted, not lost */
	{
		char big[4096] = "";
		for (int i = 0; i < 40; i++)
			strcat(big, "zz = 1\n");
		CHECK(conf(big) == 40 && ut_ps.nmsg == ING_MAX_CONF_ERRORS);
	}
}

TEST(test_conf_traefik_toml)
{
	/* a Traefik 1.x traefik.toml loads, with one warning per foreign table */
	const char *text = "debug = false\n"
	                   "checkNewVersion = true\n"
	                   "logLevel = \"ERROR\"\n"
	                   "defaultEntryPoints = [\"https\",\"http\"]\n"
	                   "[entryPoints]\n"
	                   "  [entryPoints.http]\n"
	                   "  address = \":80\"\n"
	                   "    [entryPoints.http.redirect]\n"
	                   "    entryPoint = \"https\"\n"
	                   "  [entryPoints.https]\n"
	                   "  address = \":443\"\n"
	                   "  [entryPoints.https.tls]\n"
	                   "    [[entryPoints.https.tls.certificates]]\n"
	                   "    certFile = \"/ssl/tls.crt\"\n"
	                   "    keyFile = \"/ssl/tls.key\"\n"
	                   "[web]\n"
	                   "address = \":8080\"\n"
	                   "readOnly = true\n"
	                   "[kubernetes]\n"
	                   "endpoint = \"http://127.0.0.1:8001\"\n"
	                   "namespaces = [\"default\"]\n"
	                   "[docker]\n"
	                   "endpoint = \"unix:///var/run/docker.sock\"\n"
	                   "domain = \"docker.localhost\"\n"
	                   "watch = true\n"
	                   "[acme]\n"
	                   "email = \"test@traefik.io\"\n"
	                   "storage = \"acme.json\"\n"
	                   "entryPoint = \"https\"\n"
	                   "[[acme.domains]]\n"
	                   "  main = \"local1.com\"\n"
	                   "  sans = [\"test1.local1.com\", \"test2.local1.com\"]\n"
	                   "[acme.httpChallenge]\n"
	                   "  entryPoint = \"http\"\n"
	                   "[file]\n"
	                   "[entryPoints.http.whiteList]\n"
	                   "sourceRange = [\"10.0.0.0/8\"]\n";
	CHECK(conf(text) == 0);
	CHECK(ut_ps.nwarn == 5 || conf_has(-1, 1, "(all)"));
	CHECK(conf_has(2, 1, "checkNewVersion"));
	CHECK(conf_has(18, 1, "readOnly"));
	CHECK(conf_has(22, 1, "[docker]"));
	CHECK(conf_has(26, 1, "[acme]"));
	CHECK(conf_has(35, 1, "[file]"));
	CHECK(ut_cf.eps[0].wl_set && ut_cf.eps[0].wl_n == 1); /* enforced now, not a warning (issue 11) */
	CHECK(ut_cf.n_eps == 2 && ut_cf.eps[1].tls && !strcmp(ut_cf.eps[1].cert_file, "/ssl/tls.crt"));
	CHECK(ut_cf.loglevel == ING_LOG_ERROR);
}

/* The traefik.toml k3s's Traefik 1.x chart wrote: loads, naming what
 * ingressd does instead (issue 11). Traefik matched names in any case and
 * read arrays of numbers. */
TEST(test_conf_k3s_toml)
{
	const char *text = "logLevel = \"info\"\ndefaultEntryPoints = [\"http\",\"https\"]\n[entryPoints]\n"
	                   "  [entryPoints.http]\n  address = \":80\"\n  compress = true\n"
	                   "  [entryPoints.https]\n  address = \":443\"\n  compress = true\n    [entryPoints.https.tls]\n"
	                   "      [[entryPoints.https.tls.certificates]]\n      CertFile = \"/ssl/tls.crt\"\n      KeyFile = \"/ssl/tls.key\"\n"
	                   "  [entryPoints.prometheus]\n  address = \":9100\"\n[ping]\nentryPoint = \"http\"\n[kubernetes]\n"
	                   "  [kubernetes.ingressEndpoint]\n  publishedService = \"kube-system/traefik\"\n[traefikLog]\n  format = \"json\"\n"
	                   "[api]\n  dashboard = true\n[metrics]\n  [metrics.prometheus]\n    entryPoint = \"prometheus\"\n"
	                   "    buckets = [0.1,0.3,1.2,5.0]\n";
	CHECK(conf(text) == 0);
	CHECK(!strcmp(ut_cf.eps[1].cert_file, "/ssl/tls.crt") && !strcmp(ut_cf.eps[1].key_file, "/ssl/tls.key"));
	CHECK(conf_has(6, 1, "responses are not compressed"));
	CHECK(conf_has(16, 1, "/ping is served on the admin listener"));
	CHECK(!strcmp(ut_cf.kube.status_service, "kube-system/traefik") && ut_cf.kube.status_set); /* issue 13 */
	CHECK(conf_has(25, 1, "/metrics (ingressd_* names, fixed buckets)"));
	/* any case; a duplicate in another case is still a duplicate */
	CHECK(conf("LOGLEVEL = \"debug\"\n[Web]\nAddress = \":9\"\n") == 0 && ut_cf.loglevel == ING_LOG_DEBUG &&
	      ut_cf.web.port == 9);
	CHECK(conf("logLevel = \"debug\"\nloglevel = \"info\"\n") == 1 && conf_has(2, 0, "duplicate key"));
	/* numbers in arrays only where ingressd skips them; never mixed */
	CHECK(conf("defaultEntryPoints = [1, 2]\n") == 1 && conf_has(1, 0, "expected an array of strings, got numbers"));
	CHECK(conf("[metrics]\nbuckets = [0.1, \"x\"]\n") == 1 && conf_has(2, 0, "not both"));
	/* proxyProtocol and forwardedHeaders: trustedIPs (the whitelist's
	 * syntax, kept apart from it) or insecure; neither is an error */
	CHECK(conf("[entryPoints.http]\naddress = \":80\"\n[entryPoints.http.proxyProtocol]\ntrustedIPs = [\"10.0.0.1\", "
	           "\"fd00::/8\"]\n[entryPoints.http.forwardedHeaders]\ninsecure = true\n[entryPoints.http.whiteList]\n"
	           "sourceRange = [\"10.9.0.0/16\"]\n") == 0 &&
	      ut_cf.eps[0].pp.on && ut_cf.eps[0].pp.n == 2 && ut_cf.eps[0].fh.insecure && ut_cf.eps[0].wl_n == 1 &&
	      ut_cf.eps[0].wl_first == 2);
	CHECK(conf("[entryPoints.http]\naddress = \":80\"\n[entryPoints.http.proxyProtocol]\n") == 1 &&
	      conf_has(1, 0, "trustedIPs or insecure = true"));
	CHECK(conf("[entryPoints.http]\naddress = \":80\"\n[entryPoints.http.forwardedHeaders]\ntrustedIPs = [\"10.0.0.300\"]\n") >= 1 &&
	      conf_has(4, 0, "is not an IP address or CIDR"));
	CHECK(conf("[entryPoints.http]\naddress = \":80\"\n[entryPoints.http.proxyProtocol]\ntrustedIPs = [\"10.0.0.1\"]\n"
	           "trustedIPs = [\"10.0.0.2\"]\n") >= 1 && conf_has(5, 0, "duplicate key"));
}

/* [kubernetes.ingressEndpoint] (issue 13): Traefik 1.7's keys, checked as
 * the API server would check the status they become. */
TEST(test_conf_ingress_endpoint)
{
	const char *h = "[kubernetes]\n[kubernetes.ingressEndpoint]\n";
	char t[512];
	CHECK(conf("[kubernetes]\n") == 0 && !ut_cf.kube.status_set);
	ing_snprintf(t, sizeof t, "%sip = \"192.0.2.1\"\nhostname = \"lb.example.com\"\n", h);
	CHECK(conf(t) == 0 && ut_cf.kube.status_set && !strcmp(ut_cf.kube.status_ip, "192.0.2.1") &&
	      !strcmp(ut_cf.kube.status_hostname, "lb.example.com"));
	ing_snprintf(t, sizeof t, "%sIP = \"2001:db8::1\"\n", h);
	CHECK(conf(t) == 0 && !strcmp(ut_cf.kube.status_ip, "2001:db8::1"));
	ing_snprintf(t, sizeof t, "%spublishedService = \"ingressd-system/ingressd\"\n", h);
	CHECK(conf(t) == 0 && !strcmp(ut_cf.kube.status_service, "ingressd-system/ingressd"));
	CHECK(conf(h) == 1 && conf_has(0, 0, "publishedService, ip or hostname must be set"));
	ing_snprintf(t, sizeof t, "%sip = \"10.0.0.300\"\n", h);
	CHECK(conf(t) == 1 && conf_has(0, 0, "is not an IPv4 or IPv6 address"));
	ing_snprintf(t, sizeof t, "%ship = \"lb.example.com\\\",\\\"x\"\n", h); /* JSON in it: refused */
	CHECK(conf(t) == 1 && conf_has(0, 0, "not an IPv4"));
	static const char *const bad_names[] = {"LB.example.com", "-a.example", "a..b", "a.", "10.0.0.1", "*.example.com",
	                                        "a_b.example", "a\\\"b"};
	for (size_t i = 0; i < ING_ARRAY_LEN(bad_names); i++) {
		ing_snprintf(t, sizeof t, "%shostname = \"%s\"\n", h, bad_names[i]);
		CHECK(conf(t) == 1 && conf_has(0, 0, "is not a DNS name"));
	}
	static const char *const bad_svcs[] = {"traefik", "/traefik", "kube-system/", "a/b/c", "Kube-System/x", "ns/a.b"};
	for (size_t i = 0; i < ING_ARRAY_LEN(bad_svcs); i++) {
		ing_snprintf(t, sizeof t, "%spublishedService = \"%s\"\n", h, bad_svcs[i]);
		CHECK(conf(t) == 1 && conf_has(0, 0, "expected \"namespace/name\" of a Service"));
	}
	ing_snprintf(t, sizeof t, "%spublishedService = \"a/b\"\nip = \"192.0.2.1\"\n", h);
	CHECK(conf(t) == 0 && conf_has(0, 1, "ip and hostname are not used"));
	CHECK(conf("[kubernetes.ingressEndpoint]\nport = 80\n") == 1 && conf_has(2, 0, "unknown key"));
}

/* The entry points' security in traefik.toml (issue 11): enforced, or
 * refused with its line; never accepted and dropped. */
TEST(test_conf_ep_security)
{
	char path[] = "/tmp/ingressd-users-XXXXXX";
	int fd = mkstemp(path);
	const char *file = "bob:{SHA}X9zPCbMFzMPlYX7+7QubnxKI7iM=\nalice:{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=\n";
	CHECK(fd >= 0 && write(fd, file, strlen(file)) == (ssize_t)strlen(file));
	close(fd);
	char text[1024];
	snprintf(text, sizeof text,
	         "[entryPoints.http]\naddress = \":80\"\nwhitelistSourceRange = [\"10.0.0.0/8\", \"192.0.2.1\"]\n"
	         "[entryPoints.https]\naddress = \":443\"\n"
	         "[entryPoints.https.tls]\nminVersion = \"VersionTLS12\"\nsniStrict = true\n"
	         "cipherSuites = [\"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256\", \"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256\","
	         " \"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384\", \"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384\","
	         " \"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305\", \"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256\","
	         " \"TLS_RSA_WITH_AES_128_CBC_SHA\"]\n"
	         "[entryPoints.https.tls.defaultCertificate]\ncertFile = \"/c.pem\"\nkeyFile = \"/k.pem\"\n"
	         "[entryPoints.https.auth]\nheaderField = \"X-WebAuth-User\"\n"
	         "[entryPoints.https.auth.basic]\nremoveHeader = true\n"
	         "users = [\"alice:{SHA}X9zPCbMFzMPlYX7+7QubnxKI7iM=\", \"carol:$apr1$GpYtQx2E$Jzd7Ym6wSmKYzNiJfQ8p6/\"]\n"
	         "usersFile = \"%s\"\n[web]\naddress = \":8081\"\n", /* another table last: usersFile is read at the end */
	         path);
	CHECK(conf(text) == 0);
	struct cf_ep *h = &ut_cf.eps[0], *s = &ut_cf.eps[1];
	CHECK(h->wl_set && h->wl_n == 2 && !s->wl_set);
	CHECK(s->sni_strict && !strcmp(s->cert_file, "/c.pem") && s->tls);
	CHECK(s->auth_basic && s->auth_remove && !strcmp(s->auth_header, "X-WebAuth-User"));
	/* inline users, then the file's (which wins for alice): one run */
	CHECK(s->user_n == 3 && !strcmp(ut_cf.ep_users[s->user_first].name, "alice") &&
	      !strcmp(ut_cf.ep_users[s->user_first].hash, "{SHA}qUqP5cyxm6YcTAhz05Hph5gvu9M=") &&
	      !strcmp(ut_cf.ep_users[s->user_first + 1].name, "carol") &&
	      !strcmp(ut_cf.ep_users[s->user_first + 2].name, "bob"));
	unlink(path);
	/* refused, each with its line */
	CHECK(conf("[entryPoints.http]\naddress = \":80\"\n[entryPoints.http.whiteList]\nsourceRange = [\"10.0.0.0/8\", \"10.0.0.0/33\"]\n") == 1 &&
	      conf_has(4, 0, "\"10.0.0.0/33\" is not an IP address or CIDR"));
	CHECK(conf("[entryPoints.http]\naddress = \":80\"\nwhitelistSourceRange = [\"10.0.0.1\"]\n[entryPoints.http.whiteList]\n"
	           "sourceRange = [\"10.0.0.2\"]\n") == 1 && conf_has(5, 0, "given twice"));
	CHECK(conf("[entryPoints.http]\naddress = \":80\"\n[entryPoints.http.whiteList]\nsourceRange = [\"10.0.0.0/8\"]\n"
	           "useXForwardedFor = true\n") == 0 && conf_has(1, 1, "X-Forwarded-For is believed only from"));
	CHECK(conf("[entryPoints.http]\naddress = \":80\"\n[entryPoints.http.auth.basic]\nusers = [\"nocolon\"]\n") >= 1 &&
	      conf_has(4, 0, "not user:hash"));
	CHECK(conf("[entryPoints.http]\naddress = \":80\"\n[entryPoints.http.auth.basic]\nremoveHeader = true\n") == 1 &&
	      conf_has(1, 0, "no users"));
	CHECK(conf("[entryPoints.http]\naddress = \":80\"\n[entryPoints.http.auth]\nheaderField = \"X User\"\n") >= 1 &&
	      conf_has(4, 0, "is not a header name"));
	CHECK(conf("[entryPoints.http]\naddress = \":80\"\n[entryPoints.http.auth.basic]\nusers = [\"a:{SHA}x\"]\n"
	           "usersFile = \"/nonexistent/users\"\n") == 1 && conf_has(1, 0, "usersFile"));
	CHECK(conf("[entryPoints.http]\naddress = \":80\"\n[entryPoints.http.auth.digest]\nusers = [\"a:b:c\"]\n") == 1 &&
	      conf_has(3, 0, "digest auth is not supported"));
	CHECK(conf("[entryPoints.http]\naddress = \":80\"\n[entryPoints.http.auth.forward]\naddress = \"http://a\"\n") == 1 &&
	      conf_has(3, 0, "forward auth is not supported yet"));
	/* HTTPS pods: rootCAs (paths, as ClientCA's) and insecureSkipVerify */
	CHECK(conf("rootCAs = [\"/a.pem\", \"/b.pem\"]\ninsecureSkipVerify = true\n") == 0 && ut_cf.n_root_cas == 2 &&
	      !strcmp(ut_cf.root_cas[1], "/b.pem") && ut_cf.insecure_skip_verify);
	CHECK(conf("rootCAs = [\"-----BEGIN CERTIFICATE-----\"]\n") >= 1 && conf_has(1, 0, "give the path of a file"));
	CHECK(conf("rootCAs = [\"/1\", \"/2\", \"/3\", \"/4\", \"/5\"]\n") >= 1 && conf_has(1, 0, "ING_MAX_CA_FILES"));
	CHECK(conf("insecureSkipVerify = \"yes\"\n") == 1);
	/* tls.ClientCA: files and optional; the older clientCAFiles (required) */
	CHECK(conf("[entryPoints.https]\naddress = \":443\"\n[entryPoints.https.ClientCA]\n") == 1 &&
	      conf_has(3, 0, "unknown table"));
	CHECK(conf("[entryPoints.https]\naddress = \":443\"\n[entryPoints.https.tls.clientca]\n"
	           "files = [\"/a.pem\", \"/b.pem\"]\noptional = true\n") == 0 &&
	      ut_cf.eps[0].tls && ut_cf.eps[0].n_ca_files == 2 && ut_cf.eps[0].ca_optional &&
	      !strcmp(ut_cf.eps[0].ca_files[1], "/b.pem"));
	CHECK(conf("[entryPoints.https]\naddress = \":443\"\n[entryPoints.https.tls]\nclientCAFiles = [\"/a.pem\"]\n") == 0 &&
	      ut_cf.eps[0].n_ca_files == 1 && !ut_cf.eps[0].ca_optional);
	CHECK(conf("[entryPoints.https]\naddress = \":443\"\n[entryPoints.https.tls]\nclientCAFiles = [\"/a.pem\"]\n"
	           "[entryPoints.https.tls.ClientCA]\nfiles = [\"/b.pem\"]\n") == 1 && conf_has(6, 0, "given twice"));
	CHECK(conf("[entryPoints.https]\naddress = \":443\"\n[entryPoints.https.tls.ClientCA]\noptional = false\n") == 1 &&
	      conf_has(1, 0, "no files: refused rather than served without client certificates"));
	CHECK(conf("[entryPoints.https]\naddress = \":443\"\n[entryPoints.https.tls.ClientCA]\nfiles = []\n") == 1 &&
	      conf_has(1, 0, "no files"));
	CHECK(conf("[entryPoints.https]\naddress = \":443\"\n[entryPoints.https.tls.ClientCA]\n"
	           "files = [\"/1\", \"/2\", \"/3\", \"/4\", \"/5\"]\n") >= 1 && conf_has(4, 0, "ING_MAX_CA_FILES"));
	CHECK(conf("[entryPoints.https]\naddress = \":443\"\n[entryPoints.https.tls.ClientCA]\n"
	           "files = [\"-----BEGIN CERTIFICATE-----\"]\n") >= 1 && conf_has(4, 0, "give the path of a file"));
	CHECK(conf("[entryPoints.https]\naddress = \":443\"\n[entryPoints.https.tls.ClientCA]\nfiles = [\"\"]\n") >= 1 &&
	      conf_has(4, 0, "file name empty"));
	CHECK(conf("[entryPoints.https]\naddress = \":443\"\n[entryPoints.https.tls.ClientCA]\nfiles = \"/a.pem\"\n") >= 1 &&
	      conf_has(4, 0, "expected array"));
	CHECK(conf("[entryPoints.https]\naddress = \":443\"\n[entryPoints.https.tls]\nminVersion = \"VersionTLS13\"\n") == 1 &&
	      conf_has(1, 0, "offers TLS 1.2 only"));
	CHECK(conf("[entryPoints.https]\naddress = \":443\"\n[entryPoints.https.tls]\n"
	           "cipherSuites = [\"TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA\"]\n") == 1 && conf_has(4, 0, "cannot leave out"));
}

TEST(test_conf_hostile)
{
	char *big;
	/* more table headers than duplicate detection keeps: an error, named */
	big = malloc(64 * (ING_MAX_CONF_TABLES + 2));
	big[0] = '\0';
	for (int i = 0; i < ING_MAX_CONF_TABLES + 2; i++)
		snprintf(big + strlen(big), 64, "[docker.t%d]\n", i);
	CHECK(conf(big) >= 1 && conf_has(ING_MAX_CONF_TABLES + 1, 0, "too many tables (limit is " ING_STR(ING_MAX_CONF_TABLES)));
	free(big);
	/* NUL bytes */
	CHECK(cf_parse(&ut_ps, &ut_cf, "t", "a = 1\nb\0 = 2\n", 12) == 1 && conf_has(2, 0, "NUL byte"));
	/* invalid UTF-8: bare continuation, overlong, surrogate, truncated */
	CHECK(conf("# ok\nuser = \"\x80\"\n") == 1 && conf_has(2, 0, "invalid UTF-8"));
	CHECK(conf("user = \"\xc0\xaf\"\n") == 1 && conf_has(1, 0, "invalid UTF-8"));
	CHECK(conf("user = \"\xed\xa0\x80\"\n") == 1);
	CHECK(conf("user = \"\xe2\x82\"\n") == 1);
	CHECK(conf("user = \"\xf4\x90\x80\x80\"\n") == 1);
	CHECK(conf("user = \"\xc3\xa9\"\n") == 0); /* valid two-byte */
	/* a line over ING_MAX_CONF_LINE, and a 1 MB line (over the file limit too) */
	big = malloc(2 * 1024 * 1024);
	memset(big, 'a', ING_MAX_CONF_LINE + 10);
	memcpy(big, "# ", 2);
	big[ING_MAX_CONF_LINE + 10] = '\0';
	CHECK(conf(big) == 1 && conf_has(1, 0, "ING_MAX_CONF_LINE"));
	memset(big, 'a', 1024 * 1024);
	big[1024 * 1024] = '\0';
	CHECK(conf(big) == 1 && conf_has(0, 0, "ING_MAX_CONF_BYTES"));
	free(big);
	/* deep, unterminated and malformed tables */
	CHECK(conf("[a.b.c.d.e.f.g.h.i.j.k]\n") == 1 && conf_has(1, 0, "too deep"));
	CHECK(conf("[kubernetes\nendpoint = \"x\"\n") >= 1 && conf_has(1, 0, "unterminated table"));
	CHECK(conf("[[entryPoints.x]\n") >= 1 && conf_has(1, 0, "unterminated"));
	CHECK(conf("[]\n") == 1 && conf_has(1, 0, "invalid table header"));
	CHECK(conf("[a..b]\n") == 1);
	CHECK(conf("[\"web\"]\naddress = \":9\"\n") == 0 && ut_cf.web.port == 9);
	CHECK(conf("[web]\naddress = \"unterminated\n") == 1 && conf_has(2, 0, "unterminated string"));
	CHECK(conf("defaultEntryPoints = [\"http\"\n") == 1 && conf_has(2, 0, "unterminated array"));
	CHECK(conf("user = \"a\tb\x01\"\n") == 1 && conf_has(1, 0, "control character"));
	/* CRLF line endings are fine */
	CHECK(conf("[web]\r\naddress = \":7\"\r\n") == 0 && ut_cf.web.port == 7);
	/* a file that does not end in a newline */
	CHECK(conf("[web]\naddress = \":6\"") == 0 && ut_cf.web.port == 6);
}

TEST(test_conf_duration)
{
	uint64_t ms;
	CHECK(cf_duration(STR_LIT("30s"), &ms) == 0 && ms == 30000);
	CHECK(cf_duration(STR_LIT("1m30s"), &ms) == 0 && ms == 90000);
	CHECK(cf_duration(STR_LIT("1h"), &ms) == 0 && ms == 3600000);
	CHECK(cf_duration(STR_LIT("250ms"), &ms) == 0 && ms == 250);
	CHECK(cf_duration(STR_LIT("1.5s"), &ms) == 0 && ms == 1500);
	CHECK(cf_duration(STR_LIT("1us"), &ms) == 0 && ms == 1);
	CHECK(cf_duration(STR_LIT("0"), &ms) == 0 && ms == 0);
	CHECK(cf_duration(STR_LIT("0s"), &ms) == 0 && ms == 0);
	CHECK(cf_duration(STR_LIT("45"), &ms) == 0 && ms == 45000);
	CHECK(cf_duration(STR_LIT(""), &ms) != 0);
	CHECK(cf_duration(STR_LIT("s"), &ms) != 0);
	CHECK(cf_duration(STR_LIT("1.s"), &ms) == 0);
	CHECK(cf_duration(STR_LIT("1d"), &ms) != 0);
	CHECK(cf_duration(STR_LIT("-1s"), &ms) != 0);
	CHECK(cf_duration(STR_LIT("99999999h"), &ms) != 0);
	CHECK(cf_duration(STR_LIT("1..5s"), &ms) != 0);
}

TEST(test_conf_file)
{
	char path[] = "/tmp/ingressd-unit-XXXXXX";
	int fd = mkstemp(path);
	const char *text = "[kubernetes]\ntoken = \"secret\"\n";
	CHECK(fd >= 0 && write(fd, text, strlen(text)) == (ssize_t)strlen(text));
	close(fd);
	chmod(path, 0644);
	CHECK(cf_load(&ut_ps, &ut_cf, path) == 0 && conf_has(0, 1, "readable by others"));
	chmod(path, 0600);
	CHECK(cf_load(&ut_ps, &ut_cf, path) == 0 && ut_ps.nwarn == 0);
	unlink(path);
	CHECK(cf_load(&ut_ps, &ut_cf, path) == 1 && conf_has(0, 0, "No such file"));
	CHECK(cf_load(&ut_ps, &ut_cf, NULL) == 0 && ut_cf.eps[0].addr.port == 80);
}

/* ---------------------------------------------------------------- HTTP parsing */

/* Parses s from a guard-page copy, kept until the next call (the slices
 * in m point into it). */
static int
parse_req(const char *s, struct hp_msg *m)
{
	static void *base;
	static size_t ml;
	size_t scan = 0;
	size_t n = strlen(s);
	if (base != NULL)
		guard_free(base, ml);
	char *p = guard_copy(s, n, &base, &ml);
	ssize_t hl = hp_scan_head(p, n, &scan);
	if (hl < 0)
		return -100;
	return hp_parse_request(m, p, (size_t)hl) == 0 ? 0 : m->err_status;
}

TEST(test_hp_request)
{
	static struct hp_msg m;
	CHECK(parse_req("GET /a?b=c HTTP/1.1\r\nHost: ex.com\r\nX: y \r\n\r\n", &m) == 0);
	CHECK(m.meth == HM_GET && m.minor == 1 && str_eq(m.path, "/a?b=c") && str_eq(m.host, "ex.com"));
	CHECK(m.nh == 2 && str_eq(m.h[1].value, "y"));
	CHECK(parse_req("\r\nGET / HTTP/1.0\n\n", &m) == 0 && m.minor == 0);
	CHECK(parse_req("GET http://h.io:8/x HTTP/1.1\r\nHost: other\r\n\r\n", &m) == 0 && str_eq(m.host, "h.io:8") &&
	      str_eq(m.path, "/x"));
	CHECK(parse_req("GET http://h.io HTTP/1.1\r\nHost: h.io\r\n\r\n", &m) == 0 && str_eq(m.path, "/"));
	CHECK(parse_req("OPTIONS * HTTP/1.1\r\nHost: a\r\n\r\n", &m) == 0);
	CHECK(parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 5\r\n\r\n", &m) == 0 && m.clen == 5);
	CHECK(parse_req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: Chunked\r\n\r\n", &m) == 0 && m.chunked);
	CHECK(parse_req("GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade, keep-alive\r\nUpgrade: websocket\r\n\r\n", &m) == 0 &&
	      m.conn_upgrade && m.conn_keepalive && str_eq(m.upgrade, "websocket"));
	CHECK(parse_req("PUT / HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\n\r\n", &m) == 0 && m.expect_continue);
	/* smuggling and malformed input: 400 */
	CHECK(parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n", &m) == 400);
	CHECK(parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n", &m) == 400);
	CHECK(parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 5, 5\r\n\r\n", &m) == 400);
	CHECK(parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: -1\r\n\r\n", &m) == 400);
	CHECK(parse_req("POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 99999999999999999999\r\n\r\n", &m) == 400);
	CHECK(parse_req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n", &m) == 400);
	CHECK(parse_req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n", &m) == 400);
	CHECK(parse_req("POST / HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: xchunked\r\n\r\n", &m) == 400);
	CHECK(parse_req("POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX: a\r\n b\r\n\r\n", &m) == 400); /* obs-fold */
	CHECK(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX: a\rb\r\n\r\n", &m) == 400);     /* bare CR */
	CHECK(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX: a\x01\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET /\x01 HTTP/1.1\r\nHost: a\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET / HTTP/1.1\rHost: a\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET / HTTP/1.1\r\nHost : a\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET / HTTP/1.1\r\n: a\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET / HTTP/1.1\r\n\r\n", &m) == 400); /* no Host */
	CHECK(parse_req("GET / HTTP/1.1\r\nHost: a b\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET / HTTP/1.1\r\nHost: a:8x\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET  / HTTP/1.1\r\nHost: a\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET / HTTP/1.1 \r\nHost: a\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET x HTTP/1.1\r\nHost: a\r\n\r\n", &m) == 400);
	CHECK(parse_req("G(T / HTTP/1.1\r\nHost: a\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET /\xc3\xa9 HTTP/1.1\r\nHost: a\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET / HTTP/2.0\r\nHost: a\r\n\r\n", &m) == 505);
	CHECK(parse_req("GET / HTTP/1.2\r\nHost: a\r\n\r\n", &m) == 505);
	CHECK(parse_req("GET / FTP/1.1\r\nHost: a\r\n\r\n", &m) == 400);
	CHECK(parse_req("CONNECT a:443 HTTP/1.1\r\nHost: a\r\n\r\n", &m) == 405);
	{ /* more header lines than ING_MAX_HEADERS: 431 */
		char b[2048] = "GET / HTTP/1.1\r\nHost: a\r\n";
		for (int i = 0; i < ING_MAX_HEADERS + 1; i++)
			strcat(b, "X-A: b\r\n");
		strcat(b, "\r\n");
		CHECK(parse_req(b, &m) == 431);
	}
	/* framing headers as connection options (review finding 1): a hop that
	 * honours the option drops the framing, one that does not keeps it */
	CHECK(parse_req("POST / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Content-Length\r\nContent-Length: 3\r\n\r\n", &m) == 400);
	CHECK(parse_req("POST / HTTP/1.1\r\nHost: a\r\nConnection: transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET / HTTP/1.1\r\nHost: a\r\nConnection: content-length\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET / HTTP/1.1\r\nHost: a\r\nConnection: x-content-length, close\r\n\r\n", &m) == 0);
	/* a fragment or a backslash in the target (finding 3, finding 9) */
	CHECK(parse_req("GET /admin# HTTP/1.1\r\nHost: a\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET /a?x#y HTTP/1.1\r\nHost: a\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET http://a/admin#x HTTP/1.1\r\nHost: a\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET /pub\\..\\admin HTTP/1.1\r\nHost: a\r\n\r\n", &m) == 400);
	CHECK(parse_req("GET /a?x=\\ HTTP/1.1\r\nHost: a\r\n\r\n", &m) == 0); /* in the query: data */
	/* '_' twins of the headers the proxy acts on are told apart */
	CHECK(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX_Real_IP: 1\r\nX-Real_Ip: 2\r\nX_Other: 3\r\nX-Real-Ip: 4\r\n\r\n", &m) == 0);
	CHECK(m.h[1].id == HH_TWIN && m.h[2].id == HH_TWIN && m.h[3].id == HH_OTHER && m.h[4].id == HH_X_REAL_IP);
	/* obs-text in values is allowed (RFC 9110 5.5) */
	CHECK(parse_req("GET / HTTP/1.1\r\nHost: a\r\nX: caf\xc3\xa9\r\n\r\n", &m) == 0);
}

TEST(test_hp_scan_incremental)
{
	const char *req = "GET / HTTP/1.1\r\nHost: a\r\n\r\nrest";
	size_t n = strlen(req), scan = 0;
	ssize_t r = ING_WAIT;
	size_t i;
	/* one byte at a time: found exactly when the empty line completes */
	for (i = 1; i <= n && r == ING_WAIT; i++)
		r = hp_scan_head(req, i, &scan);
	CHECK(r == (ssize_t)(n - 4) && i - 1 == n - 4);
	scan = 0;
	CHECK(hp_scan_head("\r\n\r\n", 4, &scan) == ING_WAIT); /* leading empty lines only */
	scan = 0;
	CHECK(hp_scan_head("GET / HTTP/1.0\n\n", 16, &scan) == 16);
	scan = 0;
	CHECK(hp_scan_head("GET / HTTP/1.0\r\n\n", 17, &scan) == 17);
}

TEST(test_hp_response)
{
	static struct hp_msg m;
	const char *r1 = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n";
	CHECK(hp_parse_response(&m, r1, strlen(r1)) == 0 && m.status == 200 && m.clen == 3);
	const char *r2 = "HTTP/1.1 204\r\n\r\n";
	CHECK(hp_parse_response(&m, r2, strlen(r2)) == 0 && m.status == 204);
	const char *r3 = "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 4\r\n\r\n";
	CHECK(hp_parse_response(&m, r3, strlen(r3)) == 0 && m.chunked && m.clen == -1);
	/* the proxy re-frames chunked bodies itself: no other coding, and no
	 * framing header named as a connection option (a hop that drops it
	 * reads another body) */
	const char *bad[] = {"HTTP/1.1 20 OK\r\n\r\n", "HTTP/1.1 200OK\r\n\r\n", "HTTP/3 200 OK\r\n\r\n",
	                     "HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n",
	                     "HTTP/1.1 200 OK\r\nX: \x7f\r\n\r\n", "HTTP/1.1 099 x\r\n\r\n",
	                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip, chunked\r\n\r\n",
	                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\n\r\n",
	                     "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
	                     "HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: 5\r\n\r\n",
	                     "HTTP/1.1 200 OK\r\nConnection: keep-alive, transfer-encoding\r\nTransfer-Encoding: chunked\r\n\r\n"};
	for (size_t i = 0; i < ING_ARRAY_LEN(bad); i++)
		CHECK(hp_parse_response(&m, bad[i], strlen(bad[i])) != 0);
}

/* Decode a chunked body fed in pieces of `step` bytes; returns the payload
 * or NULL on error; *rest = bytes after the body. */
static int
chunked(const char *in, size_t n, size_t step, char *out, size_t *outlen, size_t *consumed)
{
	struct hp_body b;
	size_t off = 0, o = 0;
	hp_body_init(&b, HB_CHUNKED, 0);
	while (off < n && !b.done) {
		size_t avail = ING_MIN(step, n - off);
		void *base;
		size_t ml;
		char *p = guard_copy(in + off, avail, &base, &ml);
		size_t doff, dlen;
		ssize_t r = hp_body_step(&b, p, avail, &doff, &dlen);
		if (r < 0) {
			guard_free(base, ml);
			return -1;
		}
		memcpy(out + o, p + doff, dlen);
		o += dlen;
		off += (size_t)r;
		guard_free(base, ml);
		if (r == 0 && !b.done)
			return -2; /* no progress */
	}
	*outlen = o;
	*consumed = off;
	return b.done ? 0 : 1;
}

TEST(test_hp_chunked)
{
	const char *ok = "4\r\nWiki\r\n5;ext=1\r\npedia\r\nE\r\n in\r\n\r\nchunks.\r\n0\r\nTrailer: x\r\n\r\nNEXT";
	char out[256];
	size_t ol, used;
	for (size_t step = 1; step <= strlen(ok); step++) {
		int r = chunked(ok, strlen(ok), step, out, &ol, &used);
		if (r != 0 || ol != 23 || memcmp(out, "Wikipedia in\r\n\r\nchunks.", 23) != 0 || used != strlen(ok) - 4) {
			CHECK(!"chunked per-byte");
			break;
		}
	}
	CHECK(chunked("0\r\n\r\n", 5, 5, out, &ol, &used) == 0 && ol == 0 && used == 5);
	CHECK(chunked("3\r\nabc", 6, 6, out, &ol, &used) == 1); /* incomplete */
	const char *bad[] = {"x\r\n", "3\nabc\r\n", "3\r\nabcX\r\n", "3\r\nabc\r0\r\n\r\n", "-1\r\n",
	                     "1111111111111111111\r\n", "3 x\x01\r\n", "0\r\nT: \x01\r\n\r\n", "0\r\n\r\r",
	                     " 3\r\n", "\r\n"};
	for (size_t i = 0; i < ING_ARRAY_LEN(bad); i++)
		CHECK(chunked(bad[i], strlen(bad[i]), strlen(bad[i]), out, &ol, &used) == -1);
	/* an endless chunk-size line is refused */
	{
		static char longext[HP_MAX_CHUNK_LINE + 16];
		memset(longext, 'a', sizeof longext);
		memcpy(longext, "1;", 2);
		CHECK(chunked(longext, sizeof longext, sizeof longext, out, &ol, &used) == -1);
	}
	/* length and close framing */
	struct hp_body b;
	size_t doff, dlen;
	hp_body_init(&b, HB_LENGTH, 5);
	CHECK(hp_body_step(&b, "abcdefg", 7, &doff, &dlen) == 5 && dlen == 5 && b.done);
	hp_body_init(&b, HB_LENGTH, 0);
	CHECK(b.done);
	hp_body_init(&b, HB_CLOSE, 0);
	CHECK(hp_body_step(&b, "abc", 3, &doff, &dlen) == 3 && dlen == 3 && !b.done);
}

/* ---------------------------------------------------------------- the loop */

static int ut_lis_fd;

/* Start a loop with one entry point and the admin listener on mocks. */
static void
loop_setup(const char *conftext)
{
	mock_reset();
	memset(&g_cn, 0, sizeof g_cn);
	memset(&g_bf, 0, sizeof g_bf);
	g_bf.free_head = -1;
	cn_init();
	st_init();
	rb_init();
	up_init();
	CHECK(cf_parse(&ut_ps, &g_ev.cfs[0], "t", conftext, strlen(conftext)) == 0);
	g_ev.live = 0;
	cf_live = &g_ev.cfs[g_ev.live];
	g_ev.stopping = 0;
	char err[64];
	if (g_ev.sigfd <= 0)
		g_ev.sigfd = port_signals(err, sizeof err);
	CHECK(ev_listen_all(cf_live) == 0);
	ut_lis_fd = g_cn.lis[0].fd;
}

static int
loop_client(const char *bytes)
{
	struct ing_addr peer;
	ing_addr_parse(&peer, "10.1.2.3:5555", 13);
	int fd = mock_queue_accept(ut_lis_fd, &peer);
	if (bytes != NULL)
		mock_feed(fd, bytes, strlen(bytes));
	return fd;
}

static void
turns(int n)
{
	for (int i = 0; i < n; i++)
		ev_turn(0);
}

/* The loop's deadline heap against a plain array, under the tiny limits
 * (every slot in use at once): many equal deadlines, the far end of the
 * clock, removal of the nearest, changes both ways. */
TEST(test_tk_heap)
{
	static uint64_t ref[ING_EV_TAGS];
	static const uint64_t near_end = UINT64_MAX - 3;
	uint32_t x = 2463534242u;
	uint64_t now0 = g.now;
	tk_reset();
	memset(ref, 0, sizeof ref);
	for (int op = 0; op < 200000; op++) {
		x ^= x << 13, x ^= x >> 17, x ^= x << 5;
		int slot = (int)(x % ING_EV_TAGS), kind = (int)(x >> 8) % 8;
		uint64_t at = kind == 0 ? 0 : kind == 1 ? near_end + (x >> 20) % 3 : kind < 5 ? 1000 : 1 + (x >> 12) % 50;
		if (kind == 7) { /* the nearest goes */
			for (int i = 0; i < ING_EV_TAGS; i++)
				if (ref[i] && (!ref[slot] || ref[i] < ref[slot]))
					slot = i;
			at = 0;
		}
		tk_set(slot, at);
		ref[slot] = at;
		uint64_t m = 0;
		int n = 0;
		for (int i = 0; i < ING_EV_TAGS; i++)
			if (ref[i]) {
				n++;
				m = !m || ref[i] < m ? ref[i] : m;
			}
		if (g_tk.n != n || tk_next() != m) {
			CHECK_EQ(g_tk.n, n, "entries");
			CHECK(tk_next() == m);
			break;
		}
		if (op % 97 == 0) { /* expire up to some time: in order, each due one once */
			g.now = op % 3 == 0 ? UINT64_MAX : (x >> 4) % 60;
			uint64_t last = 0;
			int popped;
			while ((popped = tk_pop()) >= 0) {
				CHECK(ref[popped] != 0 && ref[popped] <= g.now && ref[popped] >= last);
				last = ref[popped];
				ref[popped] = 0;
			}
			for (int i = 0; i < ING_EV_TAGS; i++)
				CHECK(ref[i] == 0 || ref[i] > g.now);
		}
	}
	for (int i = 0; i < ING_EV_TAGS; i++) /* full */
		tk_set(i, 7);
	CHECK(g_tk.n == ING_EV_TAGS && tk_next() == 7);
	tk_reset();
	CHECK(g_tk.n == 0 && tk_next() == 0);
	for (int i = 0; i < ING_EV_TAGS; i++)
		CHECK(g_tk.pos[i] == 0);
	g.now = now0;
}

TEST(test_loop_basic)
{
	static char out[65536];
	loop_setup("[entryPoints.http]\naddress = \":80\"\n");
	int fd = loop_client("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /b HTTP/1.1\r\nHost: a\r\n\r\n");
	turns(3);
	mock_output(fd, out, sizeof out, 1);
	/* pipelined: two answers, in order, connection kept */
	CHECK(strstr(out, "HTTP/1.1 404") == out);
	CHECK(strstr(out + 10, "HTTP/1.1 404") != NULL);
	CHECK(strstr(out, "404 page not found") != NULL);
	CHECK(!mock_is_closed(fd));
	CHECK(g_cn.used[CN_CLIENT] == 1 && g_bf.used == 0); /* idle: no buffers held */
	/* idle timeout closes it */
	mock_now += 180001;
	turns(1);
	CHECK(mock_is_closed(fd) && g_cn.used[CN_CLIENT] == 0);

	/* a slow client: 408 after readTimeout */
	fd = loop_client("GET / HTTP/1.1\r\nHo");
	turns(2);
	mock_now += 60001;
	turns(2);
	mock_output(fd, out, sizeof out, 1);
	CHECK(strstr(out, "HTTP/1.1 408") == out && strstr(out, "Connection: close"));
	/* a malformed request: 400 and the connection closes (after lingering) */
	fd = loop_client("GET / HTTP/1.1\r\nHost: a\r\nContent-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n");
	turns(2);
	mock_output(fd, out, sizeof out, 1);
	CHECK(strstr(out, "HTTP/1.1 400") == out);
	mock_eof(fd);
	turns(2);
	CHECK(mock_is_closed(fd));
	/* an over-long head: 431 */
	{
		static char big[ING_MAX_HEADER_BYTES + 100];
		memset(big, 'a', sizeof big - 1);
		memcpy(big, "GET / HTTP/1.1\r\nX: ", 19);
		fd = loop_client(big);
		turns(3);
		mock_output(fd, out, sizeof out, 1);
		CHECK(strstr(out, "HTTP/1.1 431") == out);
	}
	/* HEAD gets no body */
	fd = loop_client("HEAD /x HTTP/1.1\r\nHost: a\r\n\r\n");
	turns(2);
	mock_output(fd, out, sizeof out, 1);
	CHECK(strstr(out, "Content-Length: 19\r\n\r\n") && !strstr(out, "page not found"));
	/* HTTP/1.0 without keep-alive closes */
	fd = loop_client("GET / HTTP/1.0\r\n\r\n");
	turns(2);
	mock_output(fd, out, sizeof out, 1);
	CHECK(strstr(out, "Connection: close"));
}

TEST(test_loop_spare)
{
	static char out[4096];
	loop_setup("[entryPoints.http]\naddress = \":80\"\n");
	/* an idle keep-alive client's EOF is read into the spare: no pool buffer */
	int fd = loop_client(NULL);
	turns(1);
	mock_eof(fd);
	turns(2);
	CHECK(mock_is_closed(fd) && g_bf.hwm == 0 && g_bf.used == 0);
	/* a request answered at once: only the answer takes one */
	fd = loop_client("GET / HTTP/1.1\r\nHost: a\r\n\r\n");
	turns(2);
	mock_output(fd, out, sizeof out, 1);
	CHECK(strstr(out, "HTTP/1.1 404") == out && g_bf.hwm == 1 && g_bf.used == 0);
	/* a partial head moves to a pool buffer; the rest is appended there */
	mock_feed(fd, "GET /x HTTP/1.1\r\nHo", 19);
	turns(1);
	CHECK(g_bf.used == 1);
	mock_feed(fd, "st: a\r\n\r\n", 9);
	turns(2);
	mock_output(fd, out, sizeof out, 1);
	CHECK(strstr(out, "HTTP/1.1 404") == out && g_bf.used == 0 && !g_bf.spare_lent);
}

TEST(test_loop_admin)
{
	static char out[4096];
	loop_setup("[entryPoints.http]\naddress = \":80\"\n");
	struct ing_addr peer;
	ing_addr_parse(&peer, "10.1.2.3:5555", 13);
	int fd = mock_queue_accept(g_cn.lis[1].fd, &peer);
	const char *two = "GET /ping HTTP/1.1\r\nHost: a\r\n\r\nPOST /ping HTTP/1.1\r\nHost: a\r\nContent-Length: 0\r\n\r\n";
	mock_feed(fd, two, strlen(two));
	turns(3);
	mock_output(fd, out, sizeof out, 1);
	CHECK(strstr(out, "HTTP/1.1 200 OK") == out && strstr(out, "\r\n\r\nOK"));
	CHECK(strstr(out, "HTTP/1.1 405") != NULL);
	/* a GET with a body: 400 and closed, the body never read as a request
	 * (review info 13) */
	fd = mock_queue_accept(g_cn.lis[1].fd, &peer);
	const char *body = "GET /ping HTTP/1.1\r\nHost: a\r\nContent-Length: 38\r\n\r\nGET /metrics HTTP/1.1\r\nHost: a\r\n\r\n";
	mock_feed(fd, body, strlen(body));
	turns(3);
	mock_output(fd, out, sizeof out, 1);
	CHECK(strstr(out, "HTTP/1.1 400") == out && strstr(out, "Connection: close") && !strstr(out, "HTTP/1.1 200"));
}

/* The dashboard: gzip'd as built, or 406; / redirects to it (issue 23). */
TEST(test_loop_dashboard)
{
	static char out[ING_BUF_SIZE];
	static const struct {
		const char *ae;
		int code;
	} cases[] = {{"gzip, deflate, br, zstd", 200}, {"deflate, GZIP;q=0.5", 200}, {"gzip;q=0.001", 200}, {NULL, 406},
	             {"identity", 406}, {"gzip;q=0", 406}, {"gzip ;q=0.00", 406}, {"gzipped", 406}, {"x, gzip;q=", 200},
	             {"", 406}, {",,;q=0,gzip;q", 200}};
	loop_setup("[entryPoints.http]\naddress = \":80\"\n");
	struct ing_addr peer;
	ing_addr_parse(&peer, "10.1.2.3:5555", 13);
	for (size_t i = 0; i < ING_ARRAY_LEN(cases); i++) {
		char req[128], want[16];
		int n = ing_snprintf(req, sizeof req, "GET /dashboard/ HTTP/1.1\r\nHost: a\r\nConnection: close\r\n%s%s%s\r\n",
		                     cases[i].ae ? "Accept-Encoding: " : "", cases[i].ae ? cases[i].ae : "", cases[i].ae ? "\r\n" : "");
		int fd = mock_queue_accept(g_cn.lis[1].fd, &peer);
		mock_feed(fd, req, (size_t)n);
		turns(3);
		size_t got = mock_output(fd, out, sizeof out, 1);
		ing_snprintf(want, sizeof want, "HTTP/1.1 %d", cases[i].code);
		const char *body = strstr(out, "\r\n\r\n");
		CHECK(strstr(out, want) == out);
		if (cases[i].code == 200)
			CHECK(strstr(out, "Content-Encoding: gzip\r\n") && strstr(out, "Content-Security-Policy: default-src 'none'") &&
			      body && (size_t)(out + got - (body + 4)) == sizeof mx_dash_gz && !memcmp(body + 4, mx_dash_gz, sizeof mx_dash_gz));
		else
			CHECK(body && strstr(body, "gzip-compressed only") && !strstr(out, "Content-Encoding"));
		mock_eof(fd); /* the slot back (ING_MAX_CONNS is 4 here) */
		turns(2);
	}
	int fd = mock_queue_accept(g_cn.lis[1].fd, &peer);
	/* pipelined: the redirect, the page after it, a HEAD (no body) */
	const char *root = "GET / HTTP/1.1\r\nHost: a\r\n\r\nGET /dashboard/ HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n"
	                   "HEAD /dashboard/ HTTP/1.1\r\nHost: a\r\nAccept-Encoding: gzip\r\n\r\n";
	mock_feed(fd, root, strlen(root));
	turns(6);
	size_t got = mock_output(fd, out, sizeof out, 1);
	CHECK(strstr(out, "HTTP/1.1 302") == out && strstr(out, "Location: /dashboard/\r\n"));
	const char *page = str_find(out + 1, got - 1, "HTTP/1.1 200", 12); /* the page has NULs: no strstr */
	const char *head = page ? str_find(page + 1, (size_t)(out + got - page - 1), "HTTP/1.1 200", 12) : NULL;
	CHECK(page && head && !memcmp(strstr(page, "\r\n\r\n") + 4, mx_dash_gz, sizeof mx_dash_gz) &&
	      strstr(page, "\r\n\r\n") + 4 + sizeof mx_dash_gz == head);
	CHECK(head && strstr(head, "Content-Length: ") && strstr(head, "\r\n\r\n") + 4 == out + got);
}

TEST(test_loop_limits)
{
	static char out[4096];
	int fds[ING_MAX_CONNS + 1];
	loop_setup("[entryPoints.http]\naddress = \":80\"\n");
	uint64_t hits = g_lim.hits[LIM_CONNS];
	for (int i = 0; i <= ING_MAX_CONNS; i++)
		fds[i] = loop_client(NULL);
	turns(2);
	/* the table is full: the last one waits in the backlog, listeners paused */
	CHECK(g_cn.used[CN_CLIENT] == ING_MAX_CONNS && g_cn.lis_paused);
	CHECK(g_lim.hits[LIM_CONNS] > hits);
	mock_feed(fds[0], "GET / HTTP/1.0\r\n\r\n", 18);
	mock_eof(fds[0]);
	turns(3);
	/* a slot freed: accepting resumes and the waiting one is taken */
	CHECK(mock_is_closed(fds[0]));
	turns(2);
	CHECK(g_cn.used[CN_CLIENT] == ING_MAX_CONNS); /* full again: paused again */
	mock_feed(fds[ING_MAX_CONNS], "GET / HTTP/1.1\r\nHost: x\r\n\r\n", 27);
	turns(2);
	mock_output(fds[ING_MAX_CONNS], out, sizeof out, 1);
	CHECK(strstr(out, "HTTP/1.1 404") == out);
}

TEST(test_loop_drain)
{
	static char out[4096];
	loop_setup("[entryPoints.http]\naddress = \":80\"\n");
	int idle = loop_client(NULL);
	int busy = loop_client("GET / HTTP/1.1\r\nHost: a\r\n");
	turns(2);
	unsigned char sig = SIGTERM;
	CHECK(write(mock_sigpipe_w, &sig, 1) == 1);
	turns(2);
	CHECK(g_ev.stopping && mock_is_closed(idle) && mock_is_closed(ut_lis_fd));
	CHECK(!mock_is_closed(busy));
	mock_feed(busy, "\r\n", 2);
	turns(2);
	mock_output(busy, out, sizeof out, 1);
	/* the request in flight is answered, with Connection: close */
	CHECK(strstr(out, "HTTP/1.1 404") == out && strstr(out, "Connection: close"));
	g_ev.stopping = 0;
}

TEST(test_loop_reload)
{
	char path[] = "/tmp/ingressd-unit-XXXXXX";
	int fd = mkstemp(path);
	const char *c1 = "logLevel = \"ERROR\"\n[entryPoints.http]\naddress = \":80\"\n";
	CHECK(write(fd, c1, strlen(c1)) > 0);
	close(fd);
	loop_setup("[entryPoints.http]\naddress = \":80\"\n");
	g_ev.conf_path = path;
	unsigned char sig = SIGHUP;
	CHECK(write(mock_sigpipe_w, &sig, 1) == 1);
	turns(1);
	CHECK(cf_live->loglevel == ING_LOG_ERROR && g.loglevel == ING_LOG_ERROR);
	/* a broken file keeps the running config */
	FILE *f = fopen(path, "w");
	fputs("logLevel = \"DEBUG\"\nbogus = 1\n", f);
	fclose(f);
	uint64_t fails = g.reload_failures;
	CHECK(write(mock_sigpipe_w, &sig, 1) == 1);
	turns(1);
	CHECK(cf_live->loglevel == ING_LOG_ERROR && g.reload_failures == fails + 1);
	unlink(path);
	g_ev.conf_path = NULL;
	g.loglevel = ING_LOG_INFO;
}

TEST(test_loop_faults)
{
	/* walk one injected port fault through every call of a short session:
	 * whatever fails, nothing crashes and every slot is returned */
	static char out[4096];
	for (long n = 0; n < 40; n++) {
		loop_setup("[entryPoints.http]\naddress = \":80\"\n");
		int fd = loop_client("GET / HTTP/1.1\r\nHost: a\r\n\r\nGET / HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n");
		mock_fail_after = n;
		turns(6);
		mock_fail_after = -1;
		mock_eof(fd);
		turns(4);
		mock_output(fd, out, sizeof out, 1);
		CHECK(g_cn.used[CN_CLIENT] == 0 || !mock_is_closed(fd));
		CHECK(g_bf.used == 0 || g_cn.used[CN_CLIENT] > 0);
	}
}

/* ---------------------------------------------------------------- regexes */

/* rx_template and rx_replace_all: Go's ReplaceAllString and Expand, and
 * nginx's $1..$9 (the matching itself: test/regex_diff.py against Python). */
TEST(test_regex_replace)
{
	static struct rx_insn prog[RX_PROG];
	char names[RX_GROUPS][24], tp[256], out[256], err[160];
	static const struct {
		const char *re, *repl, *in, *want;
	} go[] = {
	    {"^http://www\\.(.*)", "http://$1", "http://www.a.b/x", "http://a.b/x"},
	    {"a(x*)b", "${1}W", "-ab-axxb-", "-W-xxW-"},
	    {"a(x*)b", "$1W", "-ab-axxb-", "---"}, /* $1W is the group named 1W: none */
	    {"a(x*)b", "$$1", "-axb-", "-$1-"},
	    {"x*", "-", "abc", "-a-b-c-"}, /* empty matches, not right after a match */
	    {"a|b", "[$0]", "cab", "c[a][b]"},
	    {"(?P<ver>v\\d+)/(.*)", "${2}@$ver", "/v2/items", "/items@v2"},
	    {"^/old/(.*)", "/new/$1$", "/old/x", "/new/x$"}, /* a $ without a name stays */
	};
	for (size_t i = 0; i < sizeof go / sizeof go[0]; i++) {
		CHECK(rx_compile(go[i].re, 0, prog, RX_PROG, names, err, sizeof err) > 0);
		CHECK(rx_template(go[i].repl, 1, names, tp, sizeof tp, err, sizeof err) >= 0);
		int n = rx_replace_all(prog, tp, go[i].in, (int)strlen(go[i].in), out, sizeof out);
		CHECK_STR(n >= 0 ? out : "(no match)", go[i].want);
	}
	CHECK(rx_replace_all(prog, tp, "nothing", 7, out, sizeof out) == -2);
	CHECK(rx_compile("(a)", 0, prog, RX_PROG, names, err, sizeof err) > 0);
	CHECK(rx_replace_all(prog, "\x01\x01\x01\x01\x01\x01", "aaaaaaaaaa", 10, out, 8) == ING_ERR); /* never past out */
	/* nginx's: $1..$9 a digit each; another $variable refused */
	CHECK(rx_template("/$2x$10", 0, NULL, tp, sizeof tp, err, sizeof err) == 7 && !memcmp(tp, "/\x01\x02x\x01\x01" "0", 7));
	CHECK(rx_template("https://$host/$1", 0, NULL, tp, sizeof tp, err, sizeof err) == ING_ERR &&
	      strstr(err, "nginx variables"));
	CHECK(rx_template("/a\nb", 1, NULL, tp, sizeof tp, err, sizeof err) == ING_ERR && strstr(err, "control"));
	/* the limits: RX_PROG a pattern, {n,m} up to 1000, nine groups */
	CHECK(rx_compile("(a{1000}){2}", 0, prog, RX_PROG, NULL, err, sizeof err) == ING_ERR && strstr(err, "too long"));
	CHECK(rx_compile("x{1001}", 0, prog, RX_PROG, NULL, err, sizeof err) == ING_ERR && !strcmp(err, "column 2: a bad {n,m} (n <= m <= 1000)"));
	CHECK(rx_compile("(1)(2)(3)(4)(5)(6)(7)(8)(9)", 0, prog, RX_PROG, NULL, err, sizeof err) > 0);
	CHECK(rx_compile("(1)(2)(3)(4)(5)(6)(7)(8)(9)(10)", 0, prog, RX_PROG, NULL, err, sizeof err) == ING_ERR &&
	      strstr(err, "column 28: more than 9 groups"));
	CHECK(rx_compile("a{,2}", 0, prog, RX_PROG, NULL, err, sizeof err) > 0); /* RE2: a literal { */
	int cap[2 * RX_GROUPS];
	CHECK(rx_exec(prog, "xa{,2}", 6, 0, cap) && cap[0] == 1 && cap[1] == 6);
	CHECK(rx_compile("(?i)ab[c-e]", 0, prog, RX_PROG, NULL, err, sizeof err) > 0 && rx_exec(prog, "xABD", 4, 0, cap) &&
	      cap[0] == 1);
	CHECK(rx_compile("^b", 0, prog, RX_PROG, NULL, err, sizeof err) > 0 && !rx_exec(prog, "ab", 2, 1, cap)); /* ^ is the text's start */
}

int
main(void)
{
	g.log_fd = open("/dev/null", O_WRONLY);
	if (getenv("UNIT_VERBOSE"))
		g.log_fd = 2;
	RUN(test_addr);
	RUN(test_fmt);
	RUN(test_libc_own);
	RUN(test_heap);
	RUN(test_conf_every_key);
	RUN(test_conf_errors);
	RUN(test_conf_traefik_toml);
	RUN(test_conf_ep_security);
	RUN(test_conf_k3s_toml);
	RUN(test_conf_hostile);
	RUN(test_conf_duration);
	RUN(test_conf_file);
	RUN(test_hp_request);
	RUN(test_hp_scan_incremental);
	RUN(test_hp_response);
	RUN(test_hp_chunked);
	RUN(test_tk_heap);
	RUN(test_loop_basic);
	RUN(test_loop_spare);
	RUN(test_loop_admin);
	RUN(test_loop_dashboard);
	RUN(test_loop_limits);
	RUN(test_loop_drain);
	RUN(test_loop_reload);
	RUN(test_loop_faults);
	RUN(test_regex_replace);
	printf("unit_core: %d passed, %d failed\n", ut_pass, ut_fail);
	return ut_fail != 0;
}
