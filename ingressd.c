/*
 * ingressd - a Kubernetes Ingress controller and HTTP reverse proxy in one
 * small C binary, for ARM k3s edge boards.
 *
 * One single-threaded poll() loop. The sections below follow the data flow
 * (the input side, 5 to 7, in dependency order: the store, the JSON that
 * fills it, the watch client that feeds the JSON); `grep '^/\* ===' ingressd.c`
 * is the table of contents. Everything is static except the API declared
 * in ingressd.h. Limits are ING_MAX_* (ingressd.h).
 */
/* ===== 0. includes and globals ========================================== g.
 * All mutable state lives in one struct, `g`.
 */
#define _GNU_SOURCE
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define JSMN_STATIC
#define JSMN_STRICT
#define JSMN_PARENT_LINKS
#include <jsmn.h>

#include "ingressd.h"

#define ING_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ING_STR_(x) #x
#define ING_STR(x) ING_STR_(x) /* a macro's value as a string literal */
#define ING_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ING_MAX(a, b) ((a) > (b) ? (a) : (b))

/* SQLite's NEVER: a "cannot happen" asserts in the test build and keeps
 * its graceful path in release. */
#ifdef ING_TEST
#include <assert.h>
#define ING_NEVER(x) (assert(!(x)), 0)
#else
#define ING_NEVER(x) (x)
#endif

/* An error text from a port call or a check ("connect ...: refused"). */
#define ING_ERR_LEN 160

/* Limits that are not capacities of a whole subsystem. */
#define ING_ACCEPT_BURST 64 /* accepts per listener per loop turn */
#define ING_LIMIT_LOG_MS 60000

/* ===== 1. log, slices, ticks ================================== log_ str_ tk_
 * Lines read `LEVEL section: object: message` on stderr. Never log
 * Authorization, tokens, passwords or keys.
 */
struct ing_str {
	const char *p;
	size_t n;
};
#define STR_LIT(s) ((struct ing_str){(s), sizeof(s) - 1})

/* Limit hits, by macro name; logged at most once a minute each, always
 * counted (mx_ exports them). One list, expanded three ways. */
#define LIM_LIST(X)                                                                                      \
	X(CONNS) X(UPSTREAMS) X(WATCHES) X(BUFS) X(HEADER_BYTES) X(HEADERS) X(TLS_CONNS) X(CONF_ERRORS)     \
	X(ENTRYPOINTS) X(NAMESPACES) X(CIDRS) X(INGRESSES) X(INGRESS_PATHS) X(TLS_HOSTS) X(SERVICES)        \
	X(SVC_PORTS) X(ENDPOINTS) X(ENDPOINT_ADDRS) X(SECRETS) X(SECRET_BYTES) X(STORE_CIDRS)               \
	X(OBJECT_BYTES) X(JSON_TOKENS) X(ROUTES) X(HOSTS) X(BACKENDS) X(SERVERS) X(BACKEND_SERVERS) X(BREAKERS) X(USERS) X(AUTH_CHECKS) X(METRIC_SERIES) X(ADMIN_BYTES)      \
	X(EXTERNAL_NAMES) X(SKIPS) X(CA_FILES) X(STATUS_QUEUE) X(STATUS_ADDRS) X(NOTES) X(SECRET_KEYS) X(CONF_TABLES) \
	X(TLS_UPSTREAMS) X(HEADER_ANN_BYTES) X(ROUTE_EDITS) X(EDITS) X(EDIT_BYTES) X(RATE_KEYS) X(REGEX_INSNS) \
	X(SPLIT) X(ARMS) X(ERROR_PAGES) X(SNAPSHOT_BYTES) X(HEAP_BYTES)
enum lim_id {
#define X(n) LIM_##n,
	LIM_LIST(X)
#undef X
	LIM__COUNT
};
static const char *const lim_names[LIM__COUNT] = { /* after "ING_MAX_" */
#define X(n) #n,
    LIM_LIST(X)
#undef X
};
static const uint32_t lim_values[LIM__COUNT] = { /* -Woverflow says if one outgrows it */
#define X(n) ING_MAX_##n,
    LIM_LIST(X)
#undef X
};

static struct ing {
	int loglevel;
	int log_fd;
	uint64_t now; /* monotonic ms, refreshed once per loop turn */
	uint64_t reloads, reload_failures; /* SIGHUP */
	int64_t reload_wall, start_wall;   /* seconds since the epoch */
	/* The rest is declared with its section, below, as `g_<section>`. */
} g = {.loglevel = ING_LOG_INFO, .log_fd = 2};

/* Limit hits (log_limit), apart from g: g's initial values put it in the
 * file's data, and these 1.2 KB of zeros are better in .bss. */
static struct {
	uint64_t hits[LIM__COUNT];
	uint64_t logged_at[LIM__COUNT];
	uint64_t suppressed[LIM__COUNT];
} g_lim;

static const char *const log_level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

static void
log_vwrite(int level, const char *fmt, va_list ap, const char *suffix)
{
	char line[2048];
	size_t n;
	int r;
	struct timespec ts;
	struct ing_tm tm;

	if (level < g.loglevel)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	ing_civil(ts.tv_sec, &tm);
	r = ing_snprintf(line, sizeof line, "%04d-%02d-%02dT%02d:%02d:%02d.%03ldZ %-5s ", tm.year, tm.mon, tm.mday,
	                 tm.hour, tm.min, tm.sec, ts.tv_nsec / 1000000,
	                 log_level_names[level]);
	n = (size_t)(r > 0 ? r : 0);
	r = ing_vsnprintf(line + n, sizeof line - n, fmt, ap);
	n = r < 0 ? n : ING_MIN(n + (size_t)r, sizeof line - 2);
	if (suffix != NULL) {
		r = ing_snprintf(line + n, sizeof line - n, ": %s", suffix);
		n = r < 0 ? n : ING_MIN(n + (size_t)r, sizeof line - 2);
	}
	/* Control bytes from hostile input never reach the terminal raw. */
	for (size_t i = 0; i < n; i++)
		if ((unsigned char)line[i] < 0x20 || line[i] == 0x7f)
			line[i] = '?';
	line[n++] = '\n';
	if (write(g.log_fd, line, n) < 0) {
		/* nowhere left to say it */
	}
}

void
ing_log(int level, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(level, fmt, ap, NULL);
	va_end(ap);
}

#define log_debug(...) ing_log(ING_LOG_DEBUG, __VA_ARGS__)
#define log_info(...) ing_log(ING_LOG_INFO, __VA_ARGS__)
#define log_warnx(...) ing_log(ING_LOG_WARN, __VA_ARGS__)
#define log_errx(...) ing_log(ING_LOG_ERROR, __VA_ARGS__)

/* Formatted text to descriptor fd (the command line's output). */
static void __attribute__((format(printf, 2, 3)))
log_say(int fd, const char *fmt, ...)
{
	char buf[4096];
	va_list ap;
	va_start(ap, fmt);
	int n = ing_vsnprintf(buf, sizeof buf, fmt, ap);
	va_end(ap);
	for (size_t off = 0, len = ING_MIN((size_t)n, sizeof buf - 1); off < len;) {
		ssize_t w = write(fd, buf + off, len - off);
		if (w <= 0)
			break;
		off += (size_t)w;
	}
}

/* log_warn: like log_warnx with ": strerror(errno)" appended (OpenBSD). */
static void __attribute__((format(printf, 1, 2)))
log_warn(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(ING_LOG_WARN, fmt, ap, ing_strerror(e));
	va_end(ap);
}

static void __attribute__((noreturn, format(printf, 1, 2)))
fatalx(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(ING_LOG_ERROR, fmt, ap, NULL);
	va_end(ap);
	exit(1);
}

/* A limit was hit: count it, and log it naming the macro at most once a
 * minute (with how many hits were not logged). */
static void
log_limit(enum lim_id id, const char *what)
{
	g_lim.hits[id]++;
	if (g_lim.logged_at[id] != 0 && g.now - g_lim.logged_at[id] < ING_LIMIT_LOG_MS) {
		g_lim.suppressed[id]++;
		return;
	}
	log_warnx("limit: %s: too many (limit is %u, ING_MAX_%s)%s", what, lim_values[id], lim_names[id],
	          g_lim.suppressed[id] ? "; earlier hits not logged" : "");
	g_lim.logged_at[id] = g.now ? g.now : 1;
	g_lim.suppressed[id] = 0;
}

static int
log_level_parse(const char *s)
{
	static const struct {
		const char *name;
		int level;
	} t[] = {{"debug", ING_LOG_DEBUG}, {"info", ING_LOG_INFO},   {"warn", ING_LOG_WARN},
	         {"warning", ING_LOG_WARN}, {"error", ING_LOG_ERROR}, {"fatal", ING_LOG_ERROR},
	         {"panic", ING_LOG_ERROR}};
	for (size_t i = 0; i < ING_ARRAY_LEN(t); i++)
		if (strcasecmp(s, t[i].name) == 0)
			return t[i].level;
	return -1;
}

static int
str_eq(struct ing_str s, const char *z)
{
	size_t n = strlen(z);
	return s.n == n && memcmp(s.p, z, n) == 0;
}

static int
str_ieq(struct ing_str s, const char *z)
{
	size_t n = strlen(z);
	return s.n == n && strncasecmp(s.p, z, n) == 0;
}

/* Copy a slice into a fixed array; 0, or ING_ERR when it does not fit
 * (never truncate silently). */
static int
str_copy(char *dst, size_t cap, struct ing_str s)
{
	if (s.n >= cap)
		return ING_ERR;
	if (s.n > 0)
		memcpy(dst, s.p, s.n);
	dst[s.n] = '\0';
	return 0;
}

static struct ing_str
str_trim(struct ing_str s)
{
	while (s.n > 0 && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.n--;
	}
	while (s.n > 0 && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t'))
		s.n--;
	return s;
}

/* v in decimal, written backwards to end at end; returns where it starts.
 * For the per-request writers, which use no printf. */
#define STR_DEC_LEN 20 /* digits of UINT64_MAX */
static char *
str_dec(uint64_t v, char *end)
{
	do
		*--end = (char)('0' + v % 10);
	while ((v /= 10) != 0);
	return end;
}

/* The next item of a comma list, trimmed; 0 when the list is used up.
 * "a, b,,c," walks as "a" "b" "" "c" ""; *rest's p is NULL after the last. */
static int
str_item(struct ing_str *rest, struct ing_str *item)
{
	if (rest->p == NULL)
		return 0;
	const char *c = memchr(rest->p, ',', rest->n);
	size_t k = c ? (size_t)(c - rest->p) : rest->n;
	*item = str_trim((struct ing_str){rest->p, k});
	*rest = c ? (struct ing_str){c + 1, rest->n - k - 1} : (struct ing_str){NULL, 0};
	return 1;
}

/* The length of s's first run of bytes in set (in = 1, strspn) or not in
 * it (in = 0, strcspn): one loop instead of musl's strspn, strcspn and
 * strpbrk (0.5 KB). */
static size_t
str_span(const char *s, const char *set, int in)
{
	size_t n = 0;
	while (s[n] != '\0' && (strchr(set, s[n]) != NULL) == in)
		n++;
	return n;
}

/* memmem and strstr for the searches ingressd makes (short needles,
 * short haystacks), where libc's two-way memmem and strstr cost 0.8 and
 * 1.3 KB. */
static const char *
str_find(const char *h, size_t hn, const char *nd, size_t nn)
{
	for (size_t i = 0; nn <= hn && i <= hn - nn; i++)
		if (h[i] == nd[0] && memcmp(h + i, nd, nn) == 0)
			return h + i;
	return NULL;
}

static const char *
str_str(const char *h, const char *nd)
{
	return str_find(h, strlen(h), nd, strlen(nd));
}

/* qsort's contract for ingressd's arrays, as a heapsort (n log n at worst,
 * in place, no recursion): musl's smoothsort costs 2 KB. Not stable, as
 * qsort need not be: every comparator orders fully or its ties are
 * duplicates. */
static void
str_swap(unsigned char *x, unsigned char *y, size_t sz)
{
	unsigned char t[64];
	for (size_t k; sz > 0; sz -= k, x += k, y += k) {
		k = ING_MIN(sz, sizeof t);
		memcpy(t, x, k);
		memcpy(x, y, k);
		memcpy(y, t, k);
	}
}

static void
str_sort(void *base, size_t n, size_t sz, int (*cmp)(const void *, const void *))
{
	unsigned char *a = base;
	if (n < 2)
		return;
	for (size_t i = n / 2, end = n, root;;) {
		if (i > 0) /* first make the heap, then take its top n - 1 times */
			root = --i;
		else if (--end > 0) {
			str_swap(a, a + end * sz, sz);
			root = 0;
		} else
			return;
		for (size_t ch; (ch = 2 * root + 1) < end; root = ch) { /* sift down */
			if (ch + 1 < end && cmp(a + ch * sz, a + (ch + 1) * sz) < 0)
				ch++;
			if (cmp(a + root * sz, a + ch * sz) >= 0)
				break;
			str_swap(a + root * sz, a + ch * sz, sz);
		}
	}
}

/* Unsigned decimal with overflow check: 0 or ING_ERR. */
static int
str_to_u64(struct ing_str s, uint64_t max, uint64_t *out)
{
	uint64_t v = 0;
	if (s.n == 0)
		return ING_ERR;
	for (size_t i = 0; i < s.n; i++) {
		unsigned d = (unsigned char)s.p[i] - '0';
		if (d > 9 || v > (max - d) / 10)
			return ING_ERR;
		v = v * 10 + d;
	}
	*out = v;
	return 0;
}

/* Ticks: monotonic ms, 64-bit so they never wrap; 0 means "never". */
static uint64_t
tk_after(uint64_t ms)
{
	return ms == 0 ? 0 : g.now + ms;
}

static int
tk_expired(uint64_t deadline)
{
	return deadline != 0 && g.now >= deadline;
}

/* Earliest of two deadlines, 0 being "never". */
static uint64_t
tk_min(uint64_t a, uint64_t b)
{
	if (a == 0)
		return b;
	if (b == 0)
		return a;
	return a < b ? a : b;
}

/* The deadlines of the loop's slots (connection indexes) in a binary
 * min-heap: the nearest in O(1), a change or an expiry in O(log n), so
 * a turn costs what is due, never a walk over every connection. Each
 * slot has one deadline at most; pos finds it in the heap. */
static struct {
	struct tk_ent {
		uint64_t at;
		int slot;
	} h[ING_EV_TAGS];
	int pos[ING_EV_TAGS]; /* heap index + 1 of a slot, 0 = none */
	int n;
} g_tk;

static void
tk_put(int i, struct tk_ent e)
{
	g_tk.h[i] = e;
	g_tk.pos[e.slot] = i + 1;
}

/* Moves the entry at i up or down to where the order holds. */
static void
tk_sift(int i)
{
	struct tk_ent e = g_tk.h[i];
	for (; i > 0 && g_tk.h[(i - 1) / 2].at > e.at; i = (i - 1) / 2)
		tk_put(i, g_tk.h[(i - 1) / 2]);
	for (int k; (k = 2 * i + 1) < g_tk.n; i = k) {
		if (k + 1 < g_tk.n && g_tk.h[k + 1].at < g_tk.h[k].at)
			k++;
		if (g_tk.h[k].at >= e.at)
			break;
		tk_put(i, g_tk.h[k]);
	}
	tk_put(i, e);
}

/* slot's deadline becomes at (0: none). */
static void
tk_set(int slot, uint64_t at)
{
	int i = g_tk.pos[slot] - 1;
	if (at == 0) {
		if (i < 0)
			return;
		g_tk.pos[slot] = 0;
		if (i == --g_tk.n)
			return;
		g_tk.h[i] = g_tk.h[g_tk.n]; /* the last fills the hole */
	} else {
		if (i < 0)
			i = g_tk.n++;
		g_tk.h[i] = (struct tk_ent){at, slot};
	}
	tk_sift(i);
}

/* The nearest deadline, 0 when none. */
static uint64_t
tk_next(void)
{
	return g_tk.n > 0 ? g_tk.h[0].at : 0;
}

/* A slot whose deadline has come, taken off the heap; -1 when none. */
static int
tk_pop(void)
{
	if (g_tk.n == 0 || g.now < g_tk.h[0].at)
		return -1;
	int slot = g_tk.h[0].slot;
	tk_set(slot, 0);
	return slot;
}

/* Empty (touching only the entries in use: the arrays are large). */
static void
tk_reset(void)
{
	while (g_tk.n > 0)
		g_tk.pos[g_tk.h[--g_tk.n].slot] = 0;
}

/* Code point cp (below 0x110000) as UTF-8 into b: its length. */
static size_t
str_utf8(uint32_t cp, char b[4])
{
	if (cp < 0x80) {
		b[0] = (char)cp;
		return 1;
	}
	size_t n = cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
	static const unsigned char lead[5] = {0, 0, 0xC0, 0xE0, 0xF0};
	for (size_t i = n - 1; i > 0; i--, cp >>= 6)
		b[i] = (char)(0x80 | (cp & 0x3F));
	b[0] = (char)(lead[n] | cp);
	return n;
}

/* FNV-1a over n bytes, continuing from h (FNV_SEED to start): the one
 * hash of the hash tables, none of them keyed by anything secret. */
#define FNV_SEED 2166136261u
static uint32_t
str_fnv(uint32_t h, const void *p, size_t n)
{
	const unsigned char *b = p;
	for (size_t i = 0; i < n; i++)
		h = (h ^ b[i]) * 16777619u;
	return h;
}

/* The same over a NUL-terminated string, in one pass (the request path's
 * host and series lookups). */
static uint32_t
str_fnv_z(uint32_t h, const char *z)
{
	for (; *z; z++)
		h = (h ^ (unsigned char)*z) * 16777619u;
	return h;
}

/* Addresses (ingressd.h API); ing_addr_parse_ip is in port/fmt.c, as the
 * ports read numeric addresses too. */

int
ing_addr_parse(struct ing_addr *a, const char *s, size_t n)
{
	const char *colon;
	uint64_t port;
	size_t hl;
	if (n > 0 && s[0] == '[') {
		const char *rb = memchr(s, ']', n);
		if (rb == NULL || rb + 1 >= s + n || rb[1] != ':')
			return ING_ERR;
		colon = rb + 1;
	} else {
		colon = NULL;
		for (size_t i = 0; i < n; i++)
			if (s[i] == ':')
				colon = s + i;
		if (colon == NULL || memchr(s, ':', (size_t)(colon - s)) != NULL)
			return ING_ERR;
	}
	if (str_to_u64((struct ing_str){colon + 1, (size_t)(s + n - colon - 1)}, 65535, &port) != 0)
		return ING_ERR;
	hl = (size_t)(colon - s);
	if (hl == 0) {
		memset(a, 0, sizeof *a);
	} else if (ing_addr_parse_ip(a, s, hl) != 0) {
		return ING_ERR;
	}
	a->port = (uint16_t)port;
	return 0;
}

int
ing_addr_fmt(const struct ing_addr *a, char *buf, size_t cap, int with_port)
{
	int n;
	if (cap == 0)
		return 0;
	if (a->family == 4) { /* per request (X-Real-Ip...): no printf */
		char t[24];
		size_t k = 0;
		for (int i = 0; i < 4; i++) {
			unsigned v = a->ip[i];
			if (v >= 100)
				t[k++] = (char)('0' + v / 100);
			if (v >= 10)
				t[k++] = (char)('0' + v / 10 % 10);
			t[k++] = (char)('0' + v % 10);
			if (i < 3)
				t[k++] = '.';
		}
		if (with_port) {
			char p[5];
			size_t j = sizeof p;
			unsigned v = a->port;
			do
				p[--j] = (char)('0' + v % 10);
			while ((v /= 10) != 0);
			t[k++] = ':';
			memcpy(t + k, p + j, sizeof p - j);
			k += sizeof p - j;
		}
		k = ING_MIN(k, cap - 1);
		memcpy(buf, t, k);
		buf[k] = '\0';
		return (int)k;
	}
	if (a->family == 6) {
		/* RFC 5952: the longest run (>= 2) of zero groups becomes "::". */
		int best = -1, bestlen = 0;
		for (int i = 0; i < 8;) {
			int j = i;
			while (j < 8 && a->ip[2 * j] == 0 && a->ip[2 * j + 1] == 0)
				j++;
			if (j - i > bestlen && j - i >= 2) {
				best = i;
				bestlen = j - i;
			}
			i = j > i ? j : i + 1;
		}
		char tmp[48];
		size_t k = 0;
		if (with_port)
			tmp[k++] = '[';
		for (int i = 0; i < 8; i++) {
			if (i == best) {
				tmp[k++] = ':';
				if (i == 0)
					tmp[k++] = ':';
				i += bestlen - 1;
				continue;
			}
			k += (size_t)ing_snprintf(tmp + k, sizeof tmp - k, "%x%s", a->ip[2 * i] << 8 | a->ip[2 * i + 1],
			                      i < 7 ? ":" : "");
		}
		if (with_port)
			tmp[k++] = ']';
		tmp[k] = '\0';
		n = ing_snprintf(buf, cap, "%s", tmp);
	} else {
		n = ing_snprintf(buf, cap, "%s", with_port ? "" : "*");
	}
	if (with_port && n >= 0 && (size_t)n < cap)
		n += ing_snprintf(buf + n, cap - (size_t)n, ":%u", a->port);
	return n < 0 ? 0 : (int)ING_MIN((size_t)n, cap - 1);
}

/* "10.0.0.0/8", "fe80::/16", "1.2.3.4" (exact), "1.1.1.1/24" (host bits
 * cleared: 1.1.1.0/24). 0 or ING_ERR. */
static int
ing_cidr_parse(const char *s, size_t n, uint8_t *family, uint8_t *bits, uint8_t ip[16])
{
	struct ing_addr a;
	const char *slash = memchr(s, '/', n);
	uint64_t b;
	if (ing_addr_parse_ip(&a, s, slash ? (size_t)(slash - s) : n) != 0)
		return ING_ERR;
	int max = a.family == 4 ? 32 : 128;
	if (slash == NULL)
		b = (uint64_t)max;
	else if (str_to_u64((struct ing_str){slash + 1, (size_t)(s + n - slash - 1)}, (uint64_t)max, &b) != 0 ||
	         (slash[1] == '0' && s + n - slash - 1 > 1))
		return ING_ERR;
	*family = a.family;
	*bits = (uint8_t)b;
	memset(ip, 0, 16);
	for (int i = 0; i < max / 8; i++) {
		int keep = (int)b - i * 8;
		uint8_t mask = keep >= 8 ? 0xff : keep <= 0 ? 0 : (uint8_t)(0xff << (8 - keep));
		ip[i] = a.ip[i] & mask;
	}
	return 0;
}

/* ===== 2. config file ============================================== cf_
 * A TOML subset with Traefik 1.x names: comments, [table], [a.b] and
 * [[a.b]] headers, strings (basic with escapes, literal), integers,
 * booleans, arrays of strings (may span lines). Errors are collected as
 * "FILE:LINE: message" and all reported; whole Traefik tables ingressd does
 * not implement are warned about once and skipped.
 * In: file bytes. Out: struct cf. Limits: ING_MAX_CONF_BYTES, _CONF_LINE,
 * _CONF_ERRORS, _ENTRYPOINTS, _NAMESPACES.
 */
enum { CF_LOG_COMMON, CF_LOG_JSON };

/* A regex program (section 8, rx_): an entry point's redirect has one. */
#define RX_PROG 512  /* instructions in one pattern */
#define RX_GROUPS 10 /* $0 (the match) .. $9 */
enum { RX_BYTE, RX_ANY, RX_CLASS, RX_RANGE, RX_SPLIT, RX_JMP, RX_SAVE, RX_BOL, RX_EOL, RX_MATCH };
/* x, y: jumps relative to this instruction (a program copies as bytes);
 * RX_CLASS: a (1: negated) and x ranges (RX_RANGE a..y) after it. */
struct rx_insn {
	uint8_t op, a;
	int16_t x, y;
};

/* A whitelist entry and a basic-auth user: the routing table's (rt_), and
 * the entry points' of the config. */
struct rt_cidr {
	uint8_t family, bits;
	uint8_t ip[16];
};

struct rt_user {
	char name[64];
	char hash[80];
	int line;
	uint8_t usable; /* a hash format ingressd verifies */
};

struct cf_ep {
	char name[32];
	char address[64];
	struct ing_addr addr;
	int tls;              /* has an [entryPoints.NAME.tls] table */
	char cert_file[256];  /* default certificate (tls.certFile) */
	char key_file[256];
	char redirect_ep[32]; /* [entryPoints.NAME.redirect] entryPoint */
	/* ... regex and replacement (compiled by cf_finish), permanent (-1 unset) */
	char redirect_regex[256], redirect_repl[256];
	int redirect_perm;
	struct rx_insn redirect_rx[RX_PROG];
	char redirect_tp[512]; /* the replacement, rx_template's */
	int sni_strict;       /* tls.sniStrict: no certificate for the name, no handshake */
	/* tls.ClientCA (files, optional), or the older tls.clientCAFiles */
	int ca_set, ca_optional, n_ca_files;
	char ca_files[ING_MAX_CA_FILES][256];
	char min_version[16], cipher_suites[16]; /* checked against what ingressd offers (cf_finish) */
	/* [entryPoints.NAME.whiteList] sourceRange, or whitelistSourceRange: in cf->ep_cidrs */
	int wl_set, wl_first, wl_n, wl_line;
	int wl_xff; /* useXForwardedFor: the client address (pp_client) is what it checks anyway */
	/* [entryPoints.NAME.proxyProtocol] and .forwardedHeaders: trustedIPs
	 * in cf->ep_cidrs, or insecure (every peer) */
	struct cf_trust {
		int on, set, first, n, insecure;
	} pp, fh;
	/* [entryPoints.NAME.auth] headerField, .basic users/usersFile/removeHeader: in cf->ep_users */
	int auth_basic, auth_remove, user_first, user_n, users_line;
	char auth_header[64];
	char users_file[256];
	int line;
};

struct cf {
	int loglevel;
	char user[33];
	char default_eps[ING_MAX_ENTRYPOINTS][32];
	int n_default_eps;
	struct cf_ep eps[ING_MAX_ENTRYPOINTS];
	int n_eps;
	char web_address[64];
	struct ing_addr web;
	int web_enabled;
	int accesslog_enabled;
	char accesslog_path[256]; /* "" = stderr */
	int accesslog_format;
	/* timeouts in ms, 0 = none */
	uint64_t read_timeout, write_timeout, idle_timeout;
	uint64_t dial_timeout, response_header_timeout;
	uint64_t grace_timeout;
	int max_idle_per_host;
	int insecure_skip_verify;  /* HTTPS pods: no certificate check */
	int n_root_cas;            /* rootCAs: the CA files pods' certificates chain to */
	char root_cas[ING_MAX_CA_FILES][256];
	char sticky_key_file[256]; /* stickyKeyFile: shared secret for sticky cookies */
	int rl_v6_prefix;          /* rateLimitIPv6Prefix: the bits of an IPv6 client a limit counts by */
	uint8_t sticky_key[32];    /* SHA-256 of its contents, when sticky_keyed */
	int sticky_keyed;
	struct cf_kube {
		char endpoint[256];
		char token[ING_MAX_TOKEN_BYTES];
		char ca_file[256];
		char namespaces[ING_MAX_NAMESPACES][ING_NS_LEN];
		int n_namespaces;
		char labelselector[512];
		int disable_pass_host;
		char ingress_class[64];
		int whitelist_invalid_allow_all;
		uint64_t throttle; /* coalescing window for rebuilds, ms */
		char snapshot[256];  /* snapshotFile: the store's last good state ("" = none) */
		uint64_t snap_wait;  /* snapshotDeadline: the first list's time before it is used, ms */
		uint64_t snap_age;   /* snapshotMaxAge: an older one is not used, ms */
		/* [kubernetes.ingressEndpoint]: what the Ingress status publishes */
		int status_set;
		char status_ip[64];
		char status_hostname[ING_NAME_LEN];
		char status_service[ING_NS_LEN + ING_NAME_LEN]; /* publishedService "namespace/name" */
		char default_backend[ING_NS_LEN + ING_NAME_LEN]; /* defaultBackend "namespace/name": own 404 and 503 */
	} kube;
	/* the entry points' whitelist entries and users, last: a config is
	 * cleared up to here (cf_defaults), these pages only when used */
	int n_ep_cidrs, n_ep_users;
	struct rt_cidr ep_cidrs[ING_MAX_CIDRS];
	struct rt_user ep_users[ING_MAX_USERS];
};

static void
cf_defaults(struct cf *c)
{
	memset(c, 0, offsetof(struct cf, ep_cidrs));
	c->loglevel = ING_LOG_INFO;
	ing_snprintf(c->web_address, sizeof c->web_address, ":8080");
	c->web.port = 8080;
	c->web_enabled = 1;
	c->accesslog_format = CF_LOG_COMMON;
	/* Traefik 1.x has no read/write timeouts by default; a front door must,
	 * or one slow client holds a slot forever. */
	c->read_timeout = 60000;
	c->write_timeout = 60000;
	c->idle_timeout = 180000;
	c->dial_timeout = 30000;
	c->response_header_timeout = 60000;
	c->grace_timeout = 10000;
	c->max_idle_per_host = 200;
	c->rl_v6_prefix = 64;
	c->kube.throttle = 100;
	c->kube.snap_wait = 1000;
	c->kube.snap_age = 7 * 24 * 3600 * 1000ull;
}

/* Parser state. */
struct cf_msg {
	int line;
	int warning;
	char text[160];
};

struct cf_parser {
	const char *file;
	const char *p, *end;
	int line;
	struct cf *c;
	int nerr, nwarn, nmsg;
	struct cf_msg msgs[ING_MAX_CONF_ERRORS];
	/* current table */
	int table;           /* CFT_* */
	int table_line;
	struct cf_ep *ep;    /* for entryPoints.NAME tables */
	char table_name[128];
	uint64_t seen[2];    /* keys set in the current table (duplicates) */
	/* sets seen in the file, to refuse a table header given twice */
	char headers[ING_MAX_CONF_TABLES][128]; /* for duplicate detection */
	int nheaders;
	/* top-level keys that are tables' duplicates */
	int accesslog_seen, web_seen;
	/* scratch for decoded values */
	char sbuf[ING_MAX_CONF_LINE * 4];
	size_t sused;
};

static void __attribute__((format(printf, 3, 4)))
cf_msg(struct cf_parser *ps, int warning, const char *fmt, ...)
{
	va_list ap;
	struct cf_msg *m;
	if (warning)
		ps->nwarn++;
	else
		ps->nerr++;
	if (ps->nmsg >= ING_MAX_CONF_ERRORS) {
		if (!warning)
			g_lim.hits[LIM_CONF_ERRORS]++;
		return;
	}
	m = &ps->msgs[ps->nmsg++];
	m->line = ps->line;
	m->warning = warning;
	va_start(ap, fmt);
	ing_vsnprintf(m->text, sizeof m->text, fmt, ap);
	va_end(ap);
}
#define cf_err(ps, ...) cf_msg(ps, 0, __VA_ARGS__)
#define cf_warn(ps, ...) cf_msg(ps, 1, __VA_ARGS__)

/* Values. */
enum { CFV_STR, CFV_INT, CFV_BOOL, CFV_ARR };
#define CF_MAX_ARR 512
struct cf_val {
	int type;
	struct ing_str s;
	int64_t i;
	int b;
	int n;
	int nums; /* an array of numbers (as written), not of strings */
	struct ing_str a[CF_MAX_ARR];
};

static const char *const cf_type_names[] = {"string", "integer", "boolean", "array"};

static void
cf_skip_ws(struct cf_parser *ps)
{
	while (ps->p < ps->end && (*ps->p == ' ' || *ps->p == '\t'))
		ps->p++;
}

/* Skip whitespace, comments and newlines (inside arrays). */
static void
cf_skip_ws_nl(struct cf_parser *ps)
{
	for (;;) {
		cf_skip_ws(ps);
		if (ps->p < ps->end && *ps->p == '#') {
			while (ps->p < ps->end && *ps->p != '\n')
				ps->p++;
		}
		if (ps->p < ps->end && (*ps->p == '\n' || (*ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n'))) {
			ps->p += *ps->p == '\r' ? 2 : 1;
			ps->line++;
			continue;
		}
		return;
	}
}

static int
cf_bare_char(int c)
{
	return isalnum(c) || c == '_' || c == '-';
}

/* Append one code point as UTF-8 to the scratch; 0 or ING_ERR. */
static int
cf_put_utf8(struct cf_parser *ps, uint32_t cp)
{
	char b[4];
	size_t n;
	if (cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF) || cp == 0)
		return ING_ERR;
	n = str_utf8(cp, b);
	if (ps->sused + n > sizeof ps->sbuf)
		return ING_ERR;
	memcpy(ps->sbuf + ps->sused, b, n);
	ps->sused += n;
	return 0;
}

/* A string at ps->p (basic "..." or literal '...'); decoded into scratch. */
static int
cf_string(struct cf_parser *ps, struct ing_str *out)
{
	char q = *ps->p++;
	size_t start = ps->sused;
	if (ps->p + 1 < ps->end && ps->p[0] == q && ps->p[1] == q) {
		cf_err(ps, "multi-line strings are not supported");
		return ING_ERR;
	}
	for (;;) {
		if (ps->p >= ps->end || *ps->p == '\n' || *ps->p == '\r') {
			cf_err(ps, "unterminated string");
			return ING_ERR;
		}
		unsigned char c = (unsigned char)*ps->p++;
		if (c == (unsigned char)q)
			break;
		if (c < 0x20 && c != '\t') {
			cf_err(ps, "control character in string");
			return ING_ERR;
		}
		if (c == '\\' && q == '"') {
			uint32_t cp = 0;
			int hex = 0;
			char e = ps->p < ps->end ? *ps->p++ : '\0';
			switch (e) {
			case 'b': c = '\b'; break;
			case 't': c = '\t'; break;
			case 'n': c = '\n'; break;
			case 'f': c = '\f'; break;
			case 'r': c = '\r'; break;
			case '"': c = '"'; break;
			case '\\': c = '\\'; break;
			case 'u': hex = 4; break;
			case 'U': hex = 8; break;
			default:
				cf_err(ps, "invalid escape in string");
				return ING_ERR;
			}
			if (hex) {
				for (int i = 0; i < hex; i++) {
					if (ps->p >= ps->end || !isxdigit((unsigned char)*ps->p)) {
						cf_err(ps, "invalid \\u escape in string");
						return ING_ERR;
					}
					int d = *ps->p++;
					cp = cp * 16 + (uint32_t)(isdigit(d) ? d - '0' : tolower(d) - 'a' + 10);
				}
				if (cf_put_utf8(ps, cp) != 0) {
					cf_err(ps, "invalid code point in string");
					return ING_ERR;
				}
				continue;
			}
		}
		if (ps->sused + 1 > sizeof ps->sbuf) {
			cf_err(ps, "value too long");
			return ING_ERR;
		}
		ps->sbuf[ps->sused++] = (char)c;
	}
	out->p = ps->sbuf + start;
	out->n = ps->sused - start;
	return 0;
}

static int
cf_value(struct cf_parser *ps, struct cf_val *v)
{
	cf_skip_ws(ps);
	if (ps->p >= ps->end || *ps->p == '\n' || *ps->p == '\r' || *ps->p == '#') {
		cf_err(ps, "missing value");
		return ING_ERR;
	}
	char c = *ps->p;
	if (c == '"' || c == '\'') {
		v->type = CFV_STR;
		return cf_string(ps, &v->s);
	}
	if (c == '[') {
		ps->p++;
		v->type = CFV_ARR;
		v->n = v->nums = 0;
		for (;;) {
			cf_skip_ws_nl(ps);
			if (ps->p >= ps->end) {
				cf_err(ps, "unterminated array");
				return ING_ERR;
			}
			if (*ps->p == ']') {
				ps->p++;
				return 0;
			}
			int num = *ps->p != '"' && *ps->p != '\'';
			if (num && !isdigit((unsigned char)*ps->p) && *ps->p != '-' && *ps->p != '+' && *ps->p != '.') {
				cf_err(ps, "arrays may hold strings or numbers");
				return ING_ERR;
			}
			if (v->n > 0 && num != v->nums) {
				cf_err(ps, "an array holds strings or numbers, not both");
				return ING_ERR;
			}
			v->nums = num;
			if (v->n >= CF_MAX_ARR) {
				cf_err(ps, "array too long (limit is %d)", CF_MAX_ARR);
				return ING_ERR;
			}
			if (num) { /* as written: only Traefik tables ingressd skips have them (buckets) */
				const char *t = ps->p;
				while (ps->p < ps->end && (isdigit((unsigned char)*ps->p) || strchr("+-._eE", *ps->p)))
					ps->p++;
				v->a[v->n] = (struct ing_str){t, (size_t)(ps->p - t)};
			} else if (cf_string(ps, &v->a[v->n]) != 0) {
				return ING_ERR;
			}
			v->n++;
			cf_skip_ws_nl(ps);
			if (ps->p >= ps->end) {
				cf_err(ps, "unterminated array");
				return ING_ERR;
			}
			if (*ps->p == ',') {
				ps->p++;
				continue;
			}
			if (*ps->p == ']')
				continue;
			cf_err(ps, "expected ',' or ']' in array");
			return ING_ERR;
		}
	}
	if (c == '{') {
		cf_err(ps, "inline tables are not supported");
		return ING_ERR;
	}
	/* bare word: boolean or integer */
	const char *s = ps->p;
	while (ps->p < ps->end && (isalnum((unsigned char)*ps->p) || *ps->p == '+' || *ps->p == '-' ||
	                           *ps->p == '_' || *ps->p == '.' || *ps->p == ':'))
		ps->p++;
	struct ing_str w = {s, (size_t)(ps->p - s)};
	if (str_eq(w, "true") || str_eq(w, "false")) {
		v->type = CFV_BOOL;
		v->b = str_eq(w, "true");
		return 0;
	}
	if (w.n == 0) {
		cf_err(ps, "invalid value");
		return ING_ERR;
	}
	{
		int neg = 0;
		uint64_t u = 0;
		char digits[32];
		size_t nd = 0;
		size_t i = 0;
		if (w.p[0] == '+' || w.p[0] == '-') {
			neg = w.p[0] == '-';
			i = 1;
		}
		for (; i < w.n; i++) {
			if (w.p[i] == '_' && nd > 0 && i + 1 < w.n && isdigit((unsigned char)w.p[i + 1]))
				continue;
			if (!isdigit((unsigned char)w.p[i]) || nd >= sizeof digits) {
				nd = 0;
				break;
			}
			digits[nd++] = w.p[i];
		}
		if (nd == 0 || (nd > 1 && digits[0] == '0')) {
			if ((isdigit((unsigned char)w.p[0]) || w.p[0] == '+' || w.p[0] == '-' || w.p[0] == '.') &&
			    (memchr(w.p, '.', w.n) || memchr(w.p, 'e', w.n) || memchr(w.p, 'E', w.n)))
				cf_err(ps, "floats are not supported");
			else
				cf_err(ps, "invalid value (strings need quotes)");
			return ING_ERR;
		}
		if (str_to_u64((struct ing_str){digits, nd}, (uint64_t)INT64_MAX, &u) != 0) {
			cf_err(ps, "integer out of range");
			return ING_ERR;
		}
		v->type = CFV_INT;
		v->i = neg ? -(int64_t)u : (int64_t)u;
		return 0;
	}
}

/* Durations: Go syntax ("30s", "1m30s", "500ms", "1.5h") or a bare integer
 * of seconds (Traefik accepts both). Out in ms; 0 or ING_ERR. */
static int
cf_duration(struct ing_str s, uint64_t *ms)
{
	static const struct {
		const char *u;
		double ms;
	} units[] = {{"ns", 1e-6}, {"us", 1e-3}, {"\xc2\xb5s", 1e-3}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}};
	double total = 0;
	size_t i = 0;
	uint64_t secs;
	if (str_to_u64(s, 365ull * 86400, &secs) == 0) {
		*ms = secs * 1000;
		return 0;
	}
	if (s.n == 0)
		return ING_ERR;
	if (str_eq(s, "0")) {
		*ms = 0;
		return 0;
	}
	while (i < s.n) {
		double v = 0, scale = 1;
		size_t d0 = i;
		int dot = 0, nd = 0;
		while (i < s.n && (isdigit((unsigned char)s.p[i]) || (s.p[i] == '.' && !dot))) {
			if (s.p[i] == '.')
				dot = 1;
			else {
				nd++;
				if (dot) {
					scale /= 10;
					v += (s.p[i] - '0') * scale;
				} else
					v = v * 10 + (s.p[i] - '0');
			}
			i++;
			if (nd > 15)
				return ING_ERR;
		}
		if (i == d0 || nd == 0)
			return ING_ERR;
		size_t best = 0;
		double mult = 0;
		for (size_t k = 0; k < ING_ARRAY_LEN(units); k++) {
			size_t ul = strlen(units[k].u);
			if (ul > best && i + ul <= s.n && memcmp(s.p + i, units[k].u, ul) == 0 &&
			    (i + ul == s.n || isdigit((unsigned char)s.p[i + ul]) || s.p[i + ul] == '.')) {
				best = ul;
				mult = units[k].ms;
			}
		}
		if (best == 0)
			return ING_ERR;
		i += best;
		total += v * mult;
		if (total > 365.0 * 86400 * 1000)
			return ING_ERR;
	}
	*ms = (uint64_t)(total + 0.999); /* sub-ms rounds up: "1us" is not "none" */
	return 0;
}

/* Kubernetes label selector syntax, checked at config time (the server
 * would refuse it later, with every watch failing). */
static int
cf_label_name(struct ing_str s, int value)
{
	struct ing_str name = s;
	if (!value) {
		const char *slash = memchr(s.p, '/', s.n);
		if (slash != NULL) {
			struct ing_str prefix = {s.p, (size_t)(slash - s.p)};
			name = (struct ing_str){slash + 1, s.n - prefix.n - 1};
			if (prefix.n == 0 || prefix.n > 253)
				return ING_ERR;
			for (size_t i = 0; i < prefix.n; i++) {
				char c = prefix.p[i];
				if (!(islower((unsigned char)c) || isdigit((unsigned char)c) || c == '-' || c == '.'))
					return ING_ERR;
			}
		}
	}
	if (name.n == 0)
		return value ? 0 : ING_ERR;
	if (name.n > 63 || !isalnum((unsigned char)name.p[0]) || !isalnum((unsigned char)name.p[name.n - 1]))
		return ING_ERR;
	for (size_t i = 0; i < name.n; i++) {
		char c = name.p[i];
		if (!(isalnum((unsigned char)c) || c == '-' || c == '_' || c == '.'))
			return ING_ERR;
	}
	return 0;
}

/* Returns NULL when valid, else what is wrong. */
static const char *
cf_label_selector(const char *sel)
{
	struct ing_str s = {sel, strlen(sel)};
	size_t i = 0;
	if (str_trim(s).n == 0)
		return NULL;
	while (i <= s.n) {
		/* one requirement, up to a ',' outside parentheses */
		size_t j = i;
		int depth = 0;
		while (j < s.n && (s.p[j] != ',' || depth > 0)) {
			if (s.p[j] == '(')
				depth++;
			else if (s.p[j] == ')')
				depth--;
			if (depth < 0 || depth > 1)
				return "unbalanced parentheses";
			j++;
		}
		if (depth != 0)
			return "unbalanced parentheses";
		struct ing_str r = str_trim((struct ing_str){s.p + i, j - i});
		if (r.n == 0)
			return "empty requirement";
		size_t k;
		for (k = 0; k < r.n; k++)
			if (r.p[k] == '=' || r.p[k] == '!' || r.p[k] == ' ' || r.p[k] == '(')
				break;
		struct ing_str key = {r.p, k};
		if (key.n == 0 && r.p[0] == '!') {
			if (cf_label_name(str_trim((struct ing_str){r.p + 1, r.n - 1}), 0) != 0)
				return "invalid key after '!'";
		} else if (k == r.n) {
			if (cf_label_name(key, 0) != 0)
				return "invalid key";
		} else {
			struct ing_str rest = str_trim((struct ing_str){r.p + k, r.n - k});
			if (cf_label_name(key, 0) != 0)
				return "invalid key";
			size_t ol = 0;
			if (rest.n >= 2 && (memcmp(rest.p, "==", 2) == 0 || memcmp(rest.p, "!=", 2) == 0))
				ol = 2;
			else if (rest.n >= 1 && rest.p[0] == '=')
				ol = 1;
			if (ol > 0) {
				struct ing_str val = str_trim((struct ing_str){rest.p + ol, rest.n - ol});
				if (cf_label_name(val, 1) != 0)
					return "invalid value";
			} else {
				if (rest.n > 3 && strncmp(rest.p, "in", 2) == 0 && (rest.p[2] == ' ' || rest.p[2] == '('))
					ol = 2;
				else if (rest.n > 6 && strncmp(rest.p, "notin", 5) == 0 && (rest.p[5] == ' ' || rest.p[5] == '('))
					ol = 5;
				else
					return "unknown operator (use =, ==, !=, in, notin, key or !key)";
				struct ing_str set = str_trim((struct ing_str){rest.p + ol, rest.n - ol});
				if (set.n < 2 || set.p[0] != '(' || set.p[set.n - 1] != ')')
					return "'in' and 'notin' need a (value, ...) list";
				set.p++;
				set.n -= 2;
				struct ing_str v, items = set;
				while (str_item(&items, &v)) /* "(a, )" passes, "(a, , b)" does not */
					if (cf_label_name(v, 1) != 0 || (v.n == 0 && set.n > 0 && items.p != NULL))
						return "invalid value in set";
			}
		}
		i = j + 1;
	}
	return NULL;
}

/* Tables. */
enum {
	CFT_TOP,
	CFT_ENTRYPOINTS,    /* [entryPoints] */
	CFT_EP,             /* [entryPoints.NAME] */
	CFT_EP_TLS,         /* [entryPoints.NAME.tls] */
	CFT_EP_TLS_CERT,    /* [[entryPoints.NAME.tls.certificates]] */
	CFT_EP_REDIRECT,    /* [entryPoints.NAME.redirect] */
	CFT_EP_WHITELIST,   /* [entryPoints.NAME.whiteList] */
	CFT_EP_AUTH,        /* [entryPoints.NAME.auth] */
	CFT_EP_AUTH_BASIC,  /* [entryPoints.NAME.auth.basic] */
	CFT_EP_TLS_DEFAULT, /* [entryPoints.NAME.tls.defaultCertificate] */
	CFT_EP_TLS_CA,      /* [entryPoints.NAME.tls.ClientCA] */
	CFT_EP_PROXY,       /* [entryPoints.NAME.proxyProtocol] */
	CFT_EP_FWD,         /* [entryPoints.NAME.forwardedHeaders]; CFT_EP.. are the entry point's */
	CFT_WEB,
	CFT_ACCESSLOG,
	CFT_RESPONDING,
	CFT_FORWARDING,
	CFT_KUBERNETES,
	CFT_KUBE_STATUS,    /* [kubernetes.ingressEndpoint] */
	CFT_LIFECYCLE,
	CFT_IGNORED,        /* a Traefik table ingressd does not implement */
};

/* Traefik 1.x's TOML decoder matched names to fields case-insensitively
 * (k3s's chart writes CertFile): so do table words and keys here. What
 * ingressd does not have is warned with what happens instead, and refused
 * where the difference could open something. */
struct cf_instead {
	const char *name, *instead;
};
/* Whole Traefik 1.x tables: warned once each, skipped. */
static const struct cf_instead cf_traefik_tables[] = {
    {"docker", "another provider: ingressd reads Kubernetes only"}, {"file", "another provider: Kubernetes only"},
    {"consul", "another provider: Kubernetes only"}, {"consulCatalog", "another provider: Kubernetes only"},
    {"etcd", "another provider: Kubernetes only"}, {"zookeeper", "another provider: Kubernetes only"},
    {"boltdb", "another provider: Kubernetes only"}, {"marathon", "another provider: Kubernetes only"},
    {"mesos", "another provider: Kubernetes only"}, {"eureka", "another provider: Kubernetes only"},
    {"ecs", "another provider: Kubernetes only"}, {"rancher", "another provider: Kubernetes only"},
    {"servicefabric", "another provider: Kubernetes only"}, {"dynamodb", "another provider: Kubernetes only"},
    {"rest", "another provider: Kubernetes only"}, {"providers", "another provider: Kubernetes only"},
    {"backends", "file-provider routing: Kubernetes only"}, {"frontends", "file-provider routing: Kubernetes only"},
    {"acme", "no ACME: certificates come from the TLS Secrets of the Ingresses (cert-manager makes them)"},
    {"api", "the dashboard (/dashboard/) and /api/providers are on the admin listener ([web])"},
    {"ping", "/ping is served on the admin listener ([web]), not on an entry point"},
    {"metrics", "/metrics (ingressd_* names, fixed buckets) is served on the admin listener ([web])"},
    {"tracing", "no tracing"}, {"traefikLog", "ingressd logs text lines to standard error"},
    {"log", "ingressd logs text lines to standard error"},
    {"retry", "a failed connect is retried on another server (idempotent requests), no attempts setting"},
    {"healthcheck", "no active health checks: the ready endpoints come from Kubernetes"},
    {"constraints", "no constraints: [kubernetes] labelselector and ingressClass select"},
    {"tls", "certificates come from the Secrets of the Ingresses and the tls tables of the entry points"},
    {"hostResolver", "ExternalName names are resolved with the system resolver"},
    {"global", "no update check or telemetry"}};
/* Sub-tables of known tables: warned, skipped. */
static const struct cf_instead cf_traefik_subtables[] = {
    {"filters", "every request is logged"}, {"fields", "the access log has its fixed fields (no headers)"},
    {"statistics", "no statistics"}, {"metrics", "/metrics is on the admin listener"}};
/* Sub-tables that protect something ingressd does not do yet, or whose
 * absence would change who gets through: refused (a config error). */
static const struct cf_instead cf_refused_subtables[] = {
    {"auth.digest", "digest auth is not supported (basic is)"},
    {"auth.forward", "forward auth is not supported yet (basic is)"},
};
/* Keys of known tables: warned, ignored. */
static const struct cf_instead cf_traefik_keys[] = {
    {"checkNewVersion", "no update check"}, {"sendAnonymousUsage", "no telemetry"},
    {"pidFile", "no pid file"},
    {"keepTrailingSlash", "paths keep their trailing slash"}, {"AllowMinWeightZero", "weights are never 0"},
    {"providersThrottleDuration", "see [kubernetes] throttleDuration"},
    {"idleTimeout", "see [respondingTimeouts] idleTimeout"},
    {"compress", "responses are not compressed (the same content, more bytes)"},
    {"enablePassTLSCert", "client certificates are not passed"}, {"filename", "Kubernetes only"},
    {"watch", "Kubernetes objects are always watched"}, {"constraints", "no constraints"},
    {"debugLogGeneratedTemplate", "no templates"}, {"readOnly", "the admin listener is always read-only"},
    {"statistics", "no statistics"}, {"requestAcceptGraceTimeout", "new connections stop at once on SIGTERM"},
    {"certFile.data", "certificates come from files and Secrets"}, {"bufferingSize", "bodies are streamed"},
    {"traefikLogsFile", "ingressd logs to standard error"}, {"accessLogsFile", "see [accessLog] filePath"},
    {"path", "no path"},
    {"templateVersion", "no templates"}, {"entryPoint", "on the admin listener ([web])"},
    {"buckets", "the histogram has fixed buckets"}, {"dashboard", "no dashboard"}, {"format", "text lines"}};

/* The entry of list for name (any case), or NULL. */
static const struct cf_instead *
cf_in_list(const struct cf_instead *list, size_t n, struct ing_str name)
{
	for (size_t i = 0; i < n; i++)
		if (str_ieq(name, list[i].name))
			return &list[i];
	return NULL;
}

static struct cf_ep *
cf_ep_find(struct cf *c, struct ing_str name)
{
	for (int i = 0; i < c->n_eps; i++)
		if (str_eq(name, c->eps[i].name))
			return &c->eps[i];
	return NULL;
}

/* A [header] or [[header]] line: its dotted parts into parts[0..*np),
 * the whole name into ps->table_name (a plain table seen once). 0, or
 * ING_ERR (reported; the table is ignored). */
static int
cf_table_name(struct cf_parser *ps, int array, struct ing_str parts[8], int *np, struct ing_str *hp)
{
	const char *s = ps->p;
	while (ps->p < ps->end && *ps->p != ']' && *ps->p != '\n')
		ps->p++;
	if (ps->p >= ps->end || *ps->p != ']' || (array && (ps->p + 1 >= ps->end || ps->p[1] != ']'))) {
		cf_err(ps, "unterminated table header");
		ps->table = CFT_IGNORED;
		ps->table_name[0] = '\0';
		return ING_ERR;
	}
	struct ing_str h = str_trim((struct ing_str){s, (size_t)(ps->p - s)});
	ps->p += array ? 2 : 1;
	memset(ps->seen, 0, sizeof ps->seen);
	ps->table_line = ps->line;
	/* split on dots; quoted parts allowed */
	size_t i = 0;
	while (i <= h.n) {
		if (*np == 8) {
			cf_err(ps, "table header nested too deep");
			ps->table = CFT_IGNORED;
			return ING_ERR;
		}
		struct ing_str part;
		size_t j = i;
		if (i < h.n && h.p[i] == '"') {
			j = i + 1;
			while (j < h.n && h.p[j] != '"')
				j++;
			part = (struct ing_str){h.p + i + 1, j - i - 1};
			j++;
		} else {
			while (j < h.n && h.p[j] != '.')
				j++;
			part = str_trim((struct ing_str){h.p + i, j - i});
			for (size_t k = 0; k < part.n; k++)
				if (!cf_bare_char((unsigned char)part.p[k]))
					part.n = 0;
		}
		if (part.n == 0 || (j < h.n && h.p[j] != '.')) {
			cf_err(ps, "invalid table header");
			ps->table = CFT_IGNORED;
			return ING_ERR;
		}
		parts[(*np)++] = part;
		i = j + 1;
	}
	ing_snprintf(ps->table_name, sizeof ps->table_name, "%.*s", (int)h.n, h.p);
	if (!array) {
		for (int k = 0; k < ps->nheaders; k++)
			if (strcmp(ps->headers[k], ps->table_name) == 0) {
				cf_err(ps, "duplicate table [%s]", ps->table_name);
				ps->table = CFT_IGNORED;
				return ING_ERR;
			}
		if (ps->nheaders == ING_MAX_CONF_TABLES) {
			cf_err(ps, "too many tables (limit is %d, ING_MAX_CONF_TABLES)", ING_MAX_CONF_TABLES);
			g_lim.hits[LIM_CONF_TABLES]++;
			ps->table = CFT_IGNORED;
			return ING_ERR;
		}
		ing_snprintf(ps->headers[ps->nheaders++], sizeof ps->headers[0], "%s", ps->table_name);
	}
	*hp = h;
	return 0;
}

/* [entryPoints.NAME...]: the entry point (made on first sight) and which
 * of its tables this is. */
static void
cf_table_ep(struct cf_parser *ps, int array, const struct ing_str parts[8], int np, struct ing_str h)
{
	if (np == 1) {
		ps->table = array ? CFT_IGNORED : CFT_ENTRYPOINTS;
		if (array)
			cf_err(ps, "[[entryPoints]] is not an array of tables");
		return;
	}
	struct cf_ep *ep = cf_ep_find(ps->c, parts[1]);
	if (ep == NULL) {
		if (np > 2) {
			cf_err(ps, "[%s] before [entryPoints.%.*s]", ps->table_name, (int)parts[1].n, parts[1].p);
			ps->table = CFT_IGNORED;
			return;
		}
		if (ps->c->n_eps >= ING_MAX_ENTRYPOINTS) {
			cf_err(ps, "too many entry points (limit is %d, ING_MAX_ENTRYPOINTS)", ING_MAX_ENTRYPOINTS);
			g_lim.hits[LIM_ENTRYPOINTS]++;
			ps->table = CFT_IGNORED;
			return;
		}
		ep = &ps->c->eps[ps->c->n_eps];
		if (str_copy(ep->name, sizeof ep->name, parts[1]) != 0) {
			cf_err(ps, "entry point name too long");
			ps->table = CFT_IGNORED;
			return;
		}
		ep->line = ps->line;
		ep->redirect_perm = -1;
		ps->c->n_eps++;
	}
	ps->ep = ep;
	if (np == 2 && !array) {
		ps->table = CFT_EP;
	} else if (np == 3 && !array && str_ieq(parts[2], "tls")) {
		ep->tls = 1;
		ps->table = CFT_EP_TLS;
	} else if (np == 4 && array && str_ieq(parts[2], "tls") && str_ieq(parts[3], "certificates")) {
		ep->tls = 1;
		ps->table = CFT_EP_TLS_CERT;
	} else if (np == 3 && !array && str_ieq(parts[2], "redirect")) {
		ps->table = CFT_EP_REDIRECT;
	} else if (np == 3 && !array && str_ieq(parts[2], "whiteList")) {
		ps->table = CFT_EP_WHITELIST;
	} else if (np == 3 && !array && str_ieq(parts[2], "auth")) {
		ps->table = CFT_EP_AUTH;
	} else if (np == 4 && !array && str_ieq(parts[2], "auth") && str_ieq(parts[3], "basic")) {
		ep->auth_basic = 1;
		ps->table = CFT_EP_AUTH_BASIC;
	} else if (np == 4 && !array && str_ieq(parts[2], "tls") && str_ieq(parts[3], "defaultCertificate")) {
		ep->tls = 1;
		ps->table = CFT_EP_TLS_DEFAULT;
	} else if (np == 4 && !array && str_ieq(parts[2], "tls") && str_ieq(parts[3], "ClientCA")) {
		ep->tls = ep->ca_set = 1;
		ps->table = CFT_EP_TLS_CA;
	} else if (np == 3 && !array && str_ieq(parts[2], "proxyProtocol")) {
		ep->pp.on = 1;
		ps->table = CFT_EP_PROXY;
	} else if (np == 3 && !array && str_ieq(parts[2], "forwardedHeaders")) {
		ep->fh.on = 1;
		ps->table = CFT_EP_FWD;
	} else if (np == 2) {
		cf_err(ps, "[[%s]] is not an array of tables", ps->table_name);
		ps->table = CFT_IGNORED;
	} else {
		struct ing_str sub = {parts[2].p, (size_t)(h.p + h.n - parts[2].p)};
		const struct cf_instead *ci = cf_in_list(cf_refused_subtables, ING_ARRAY_LEN(cf_refused_subtables), sub);
		if (ci == NULL)
			ci = cf_in_list(cf_refused_subtables, ING_ARRAY_LEN(cf_refused_subtables), parts[2]);
		if (ci != NULL) {
			cf_err(ps, "[%s]: %s: refused rather than served without it", ps->table_name, ci->instead);
			ps->table = CFT_IGNORED;
			return;
		}
		if ((ci = cf_in_list(cf_traefik_subtables, ING_ARRAY_LEN(cf_traefik_subtables), sub)) != NULL ||
		    (ci = cf_in_list(cf_traefik_subtables, ING_ARRAY_LEN(cf_traefik_subtables), parts[2])) != NULL)
			cf_warn(ps, "[%s]: not supported by ingressd, ignored: %s", ps->table_name, ci->instead);
		else
			cf_err(ps, "unknown table [%s]", ps->table_name);
		ps->table = CFT_IGNORED;
	}
}

/* Any other table: [web], [kubernetes] ..., a Traefik table ingressd
 * skips (warned), or an unknown one (an error). */
static void
cf_table_other(struct cf_parser *ps, int array, const struct ing_str parts[8], int np)
{
	struct ing_str t0 = parts[0];
	static const struct {
		const char *name;
		int t;
	} known[] = {{"web", CFT_WEB},
	             {"accessLog", CFT_ACCESSLOG},
	             {"respondingTimeouts", CFT_RESPONDING},
	             {"forwardingTimeouts", CFT_FORWARDING},
	             {"kubernetes", CFT_KUBERNETES},
	             {"lifeCycle", CFT_LIFECYCLE}};
	for (size_t k = 0; k < ING_ARRAY_LEN(known); k++) {
		if (!str_ieq(t0, known[k].name))
			continue;
		if (np == 1 && array) {
			cf_err(ps, "[[%s]] is not an array of tables", known[k].name);
			ps->table = CFT_IGNORED;
			return;
		}
		if (np == 2 && !array && known[k].t == CFT_KUBERNETES && str_ieq(parts[1], "ingressEndpoint")) {
			ps->table = CFT_KUBE_STATUS;
			ps->c->kube.status_set = 1;
			return;
		}
		if (np == 1) {
			ps->table = known[k].t;
			if (known[k].t == CFT_WEB)
				ps->web_seen = 1;
			if (known[k].t == CFT_ACCESSLOG)
				ps->accesslog_seen = 1;
			return;
		}
		const struct cf_instead *ci = cf_in_list(cf_refused_subtables, ING_ARRAY_LEN(cf_refused_subtables), parts[1]);
		if (ci != NULL)
			cf_err(ps, "[%s]: %s: refused rather than served without it", ps->table_name, ci->instead);
		else if ((ci = cf_in_list(cf_traefik_subtables, ING_ARRAY_LEN(cf_traefik_subtables), parts[1])) != NULL)
			cf_warn(ps, "[%s]: not supported by ingressd, ignored: %s", ps->table_name, ci->instead);
		else
			cf_err(ps, "unknown table [%s]", ps->table_name);
		ps->table = CFT_IGNORED;
		return;
	}
	const struct cf_instead *ti = cf_in_list(cf_traefik_tables, ING_ARRAY_LEN(cf_traefik_tables), t0);
	if (ti != NULL) {
		/* one warning per Traefik table, not per sub-table */
		int first = 1;
		for (int k = 0; k < ps->nheaders - (array ? 0 : 1); k++)
			if (strncmp(ps->headers[k], t0.p, t0.n) == 0 &&
			    (ps->headers[k][t0.n] == '\0' || ps->headers[k][t0.n] == '.'))
				first = 0;
		if (array && ps->nheaders < (int)ING_ARRAY_LEN(ps->headers) && first)
			ing_snprintf(ps->headers[ps->nheaders++], sizeof ps->headers[0], "%s", ps->table_name);
		if (first)
			cf_warn(ps, "[%.*s]: Traefik table not supported by ingressd, ignored: %s", (int)t0.n, t0.p, ti->instead);
		ps->table = CFT_IGNORED;
		return;
	}
	cf_err(ps, "unknown table [%s]", ps->table_name);
	ps->table = CFT_IGNORED;
}

/* A [header] or [[header]] line. */
static void
cf_table(struct cf_parser *ps, int array)
{
	struct ing_str parts[8] = {{NULL, 0}}, h;
	int np = 0;
	if (cf_table_name(ps, array, parts, &np, &h) != 0)
		return;
	ps->ep = NULL;
	if (str_ieq(parts[0], "entryPoints"))
		cf_table_ep(ps, array, parts, np, h);
	else
		cf_table_other(ps, array, parts, np);
}

/* Key handlers. */
enum cf_kt { KT_STR, KT_INT, KT_BOOL, KT_STRS, KT_DUR, KT_ADDR, KT_LEVEL, KT_LOGFMT, KT_NS, KT_SEL, KT_CIDRS, KT_HDR,
             KT_USERS, KT_SUITES, KT_FILES };
struct cf_key { /* 16 bytes on LP64 (a narrower type fails the build by -Woverflow) */
	const char *name;
	uint32_t off;  /* in struct cf, or in struct cf_ep for EP tables */
	uint16_t size; /* for strings */
	uint8_t table;
	uint8_t type; /* enum cf_kt */
};
#define CFO(f) offsetof(struct cf, f), sizeof(((struct cf *)0)->f)
#define CFE(f) offsetof(struct cf_ep, f), sizeof(((struct cf_ep *)0)->f)
static const struct cf_key cf_keys[] = {
    {"logLevel", CFO(loglevel), CFT_TOP, KT_LEVEL},
    {"debug", CFO(loglevel), CFT_TOP, KT_BOOL},
    {"defaultEntryPoints", CFO(default_eps), CFT_TOP, KT_STRS},
    {"user", CFO(user), CFT_TOP, KT_STR},
    {"graceTimeOut", CFO(grace_timeout), CFT_TOP, KT_DUR},
    {"maxIdleConnsPerHost", CFO(max_idle_per_host), CFT_TOP, KT_INT},
    {"insecureSkipVerify", CFO(insecure_skip_verify), CFT_TOP, KT_BOOL},
    {"rootCAs", CFO(root_cas), CFT_TOP, KT_FILES},
    {"accessLogsFile", CFO(accesslog_path), CFT_TOP, KT_STR},
    {"stickyKeyFile", CFO(sticky_key_file), CFT_TOP, KT_STR},
    {"rateLimitIPv6Prefix", CFO(rl_v6_prefix), CFT_TOP, KT_INT},
    {"address", CFE(address), CFT_EP, KT_ADDR},
    {"certFile", CFE(cert_file), CFT_EP_TLS, KT_STR},
    {"keyFile", CFE(key_file), CFT_EP_TLS, KT_STR},
    {"certFile", CFE(cert_file), CFT_EP_TLS_CERT, KT_STR},
    {"keyFile", CFE(key_file), CFT_EP_TLS_CERT, KT_STR},
    {"entryPoint", CFE(redirect_ep), CFT_EP_REDIRECT, KT_STR},
    {"regex", CFE(redirect_regex), CFT_EP_REDIRECT, KT_STR},
    {"replacement", CFE(redirect_repl), CFT_EP_REDIRECT, KT_STR},
    {"permanent", CFE(redirect_perm), CFT_EP_REDIRECT, KT_BOOL},
    {"whitelistSourceRange", CFE(wl_set), CFT_EP, KT_CIDRS},
    {"sourceRange", CFE(wl_set), CFT_EP_WHITELIST, KT_CIDRS},
    {"useXForwardedFor", CFE(wl_xff), CFT_EP_WHITELIST, KT_BOOL},
    {"trustedIPs", CFE(pp.set), CFT_EP_PROXY, KT_CIDRS},
    {"insecure", CFE(pp.insecure), CFT_EP_PROXY, KT_BOOL},
    {"trustedIPs", CFE(fh.set), CFT_EP_FWD, KT_CIDRS},
    {"insecure", CFE(fh.insecure), CFT_EP_FWD, KT_BOOL},
    {"headerField", CFE(auth_header), CFT_EP_AUTH, KT_HDR},
    {"users", CFE(user_n), CFT_EP_AUTH_BASIC, KT_USERS},
    {"usersFile", CFE(users_file), CFT_EP_AUTH_BASIC, KT_STR},
    {"removeHeader", CFE(auth_remove), CFT_EP_AUTH_BASIC, KT_BOOL},
    {"minVersion", CFE(min_version), CFT_EP_TLS, KT_STR},
    {"cipherSuites", CFE(cipher_suites), CFT_EP_TLS, KT_SUITES},
    {"sniStrict", CFE(sni_strict), CFT_EP_TLS, KT_BOOL},
    {"certFile", CFE(cert_file), CFT_EP_TLS_DEFAULT, KT_STR},
    {"keyFile", CFE(key_file), CFT_EP_TLS_DEFAULT, KT_STR},
    {"files", CFE(ca_files), CFT_EP_TLS_CA, KT_FILES},
    {"optional", CFE(ca_optional), CFT_EP_TLS_CA, KT_BOOL},
    {"clientCAFiles", CFE(ca_files), CFT_EP_TLS, KT_FILES},
    {"address", CFO(web_address), CFT_WEB, KT_ADDR},
    {"filePath", CFO(accesslog_path), CFT_ACCESSLOG, KT_STR},
    {"format", CFO(accesslog_format), CFT_ACCESSLOG, KT_LOGFMT},
    {"readTimeout", CFO(read_timeout), CFT_RESPONDING, KT_DUR},
    {"writeTimeout", CFO(write_timeout), CFT_RESPONDING, KT_DUR},
    {"idleTimeout", CFO(idle_timeout), CFT_RESPONDING, KT_DUR},
    {"dialTimeout", CFO(dial_timeout), CFT_FORWARDING, KT_DUR},
    {"responseHeaderTimeout", CFO(response_header_timeout), CFT_FORWARDING, KT_DUR},
    {"graceTimeOut", CFO(grace_timeout), CFT_LIFECYCLE, KT_DUR},
    {"endpoint", CFO(kube.endpoint), CFT_KUBERNETES, KT_STR},
    {"token", CFO(kube.token), CFT_KUBERNETES, KT_STR},
    {"certAuthFilePath", CFO(kube.ca_file), CFT_KUBERNETES, KT_STR},
    {"namespaces", CFO(kube.namespaces), CFT_KUBERNETES, KT_NS},
    {"labelselector", CFO(kube.labelselector), CFT_KUBERNETES, KT_SEL},
    {"disablePassHostHeaders", CFO(kube.disable_pass_host), CFT_KUBERNETES, KT_BOOL},
    {"ingressClass", CFO(kube.ingress_class), CFT_KUBERNETES, KT_STR},
    {"whitelistInvalidAllowAll", CFO(kube.whitelist_invalid_allow_all), CFT_KUBERNETES, KT_BOOL},
    {"throttleDuration", CFO(kube.throttle), CFT_KUBERNETES, KT_DUR},
    {"defaultBackend", CFO(kube.default_backend), CFT_KUBERNETES, KT_STR},
    {"snapshotFile", CFO(kube.snapshot), CFT_KUBERNETES, KT_STR},
    {"snapshotDeadline", CFO(kube.snap_wait), CFT_KUBERNETES, KT_DUR},
    {"snapshotMaxAge", CFO(kube.snap_age), CFT_KUBERNETES, KT_DUR},
    {"ip", CFO(kube.status_ip), CFT_KUBE_STATUS, KT_STR},
    {"hostname", CFO(kube.status_hostname), CFT_KUBE_STATUS, KT_STR},
    {"publishedService", CFO(kube.status_service), CFT_KUBE_STATUS, KT_STR},
};

static int wl_cmp(const void *a, const void *b);                        /* source whitelist (wl_) */
static const char *au_user_line(struct ing_str line, struct rt_user *u); /* basic auth (au_) */
static const char *au_user(struct ing_str name, struct ing_str hash, struct rt_user *u);
static const char *au_hash_error(const char *hash, size_t hlen);
static const uint8_t hp_tchar[256]; /* HTTP parsing (hp_) */

/* An entry point's whitelist (whiteList.sourceRange, or the older
 * whitelistSourceRange) into c->ep_cidrs: every entry must parse, as
 * Traefik 1.7 refused to start on a bad one. */
static void
cf_ep_cidrs(struct cf_parser *ps, const char *key, const struct cf_val *v)
{
	struct cf_ep *ep = ps->ep;
	struct cf *c = ps->c;
	struct cf_trust *tr = ps->table == CFT_EP_PROXY ? &ep->pp : ps->table == CFT_EP_FWD ? &ep->fh : NULL;
	int *set = tr ? &tr->set : &ep->wl_set, *first = tr ? &tr->first : &ep->wl_first, *n = tr ? &tr->n : &ep->wl_n;
	if (*set) {
		cf_err(ps, "%s: the entry point's %s is given twice", key, tr ? "trustedIPs" : "whitelist");
		return;
	}
	*set = 1;
	*first = c->n_ep_cidrs;
	if (tr == NULL)
		ep->wl_line = ps->line;
	for (int i = 0; i < v->n; i++) {
		struct ing_str e = str_trim(v->a[i]);
		struct rt_cidr *r = &c->ep_cidrs[c->n_ep_cidrs];
		if (c->n_ep_cidrs >= ING_MAX_CIDRS) {
			cf_err(ps, "%s: too many entries over all entry points (limit is %d, ING_MAX_CIDRS)", key, ING_MAX_CIDRS);
			g_lim.hits[LIM_CIDRS]++;
			return;
		}
		if (ing_cidr_parse(e.p, e.n, &r->family, &r->bits, r->ip) != 0) {
			cf_err(ps, "%s: \"%.*s\" is not an IP address or CIDR", key, (int)ING_MIN(e.n, 64), e.p);
			continue;
		}
		c->n_ep_cidrs++;
		(*n)++;
	}
	str_sort(&c->ep_cidrs[*first], (size_t)*n, sizeof c->ep_cidrs[0], wl_cmp);
}

/* CA files: tls.ClientCA files (or the older tls.clientCAFiles, which
 * Traefik 1.7 read as ClientCA with optional = false), or the top-level
 * rootCAs: paths, read by tl_setup. */
static void
cf_ca_files(struct cf_parser *ps, const char *key, const struct cf_val *v, char (*files)[256], int *nfiles)
{
	if (*nfiles > 0) {
		if (ps->ep != NULL)
			cf_err(ps, "%s: the entry point's client CAs are given twice (tls.ClientCA files and clientCAFiles)", key);
		else
			cf_err(ps, "%s: given twice", key);
		return;
	}
	if (v->n > ING_MAX_CA_FILES) {
		cf_err(ps, "%s: too many files (limit is %d, ING_MAX_CA_FILES); put the CAs in one bundle", key,
		       ING_MAX_CA_FILES);
		g_lim.hits[LIM_CA_FILES]++;
		return;
	}
	for (int i = 0; i < v->n; i++) {
		if (v->a[i].n >= 5 && !memcmp(v->a[i].p, "-----", 5)) {
			cf_err(ps, "%s: PEM text in the config is not supported; give the path of a file", key);
			return;
		}
		if (v->a[i].n == 0 || str_copy(files[i], sizeof files[i], v->a[i]) != 0) {
			cf_err(ps, "%s: file name empty or too long", key);
			return;
		}
	}
	*nfiles = v->n;
	if (ps->ep != NULL)
		ps->ep->ca_set = 1;
}

/* A "user:hash" of an entry point's basic auth into c->ep_users, after
 * the entry point's others (a repeated user: the last wins). 0, or
 * ING_ERR reported. */
static int
cf_ep_user(struct cf_parser *ps, struct ing_str l, int line)
{
	struct cf_ep *ep = ps->ep;
	struct cf *c = ps->c;
	struct rt_user u;
	const char *why = au_user_line(l, &u);
	if (why != NULL) {
		cf_err(ps, "[entryPoints.%s.auth.basic]: %s", ep->name, why);
		return ING_ERR;
	}
	if (ep->user_n == 0)
		ep->user_first = c->n_ep_users;
	int k = ep->user_first;
	while (k < ep->user_first + ep->user_n && strcmp(c->ep_users[k].name, u.name) != 0)
		k++;
	if (k == ep->user_first + ep->user_n) {
		if (c->n_ep_users >= ING_MAX_USERS || k != c->n_ep_users) {
			cf_err(ps, "[entryPoints.%s.auth.basic]: too many users over all entry points (limit is %d, ING_MAX_USERS)",
			       ep->name, ING_MAX_USERS);
			g_lim.hits[LIM_USERS]++;
			return ING_ERR;
		}
		c->n_ep_users++;
		ep->user_n++;
	}
	u.line = line;
	c->ep_users[k] = u;
	if (!u.usable)
		cf_warn(ps, "[entryPoints.%s.auth.basic]: user %s: %s; this user never matches", ep->name, u.name,
		        au_hash_error(u.hash, strlen(u.hash)));
	return 0;
}

/* usersFile: htpasswd lines after the inline users (it wins, as in
 * Traefik). The entry point's users are moved to the end first, so they
 * stay one run. */
static void
cf_ep_users_file(struct cf_parser *ps, struct cf_ep *ep)
{
	static char buf[ING_MAX_SECRET_BYTES * 4];
	char err[ING_ERR_LEN];
	struct cf *c = ps->c;
	ssize_t n = port_read_file(ep->users_file, buf, sizeof buf, err, sizeof err);
	ps->ep = ep; /* cf_ep_user's entry point */
	if (n < 0) {
		cf_err(ps, "[entryPoints.%s.auth.basic] usersFile: %s", ep->name, err);
		return;
	}
	if (ep->user_n > 0 && ep->user_first + ep->user_n != c->n_ep_users) {
		if (c->n_ep_users + ep->user_n > ING_MAX_USERS) {
			cf_err(ps, "[entryPoints.%s.auth.basic]: too many users (limit is %d, ING_MAX_USERS)", ep->name, ING_MAX_USERS);
			return;
		}
		memcpy(&c->ep_users[c->n_ep_users], &c->ep_users[ep->user_first], sizeof c->ep_users[0] * (size_t)ep->user_n);
		ep->user_first = c->n_ep_users;
		c->n_ep_users += ep->user_n;
	}
	int line = 0;
	for (char *p = buf, *end = buf + n; p < end;) {
		char *nl = memchr(p, '\n', (size_t)(end - p));
		struct ing_str l = {p, (size_t)((nl ? nl : end) - p)};
		p = nl ? nl + 1 : end;
		line++;
		if (l.n > 0 && l.p[l.n - 1] == '\r')
			l.n--;
		if (str_trim(l).n > 0 && cf_ep_user(ps, l, line) != 0)
			return;
	}
}

/* cipherSuites, by Go's names: ingressd cannot leave one of its suites
 * out, so each must be in the list (a list of more is fine: the rest are
 * not offered). */
static void
cf_suites(struct cf_parser *ps, const struct cf_val *v)
{
	static const char *const offered[][2] = {
	    {"TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256", NULL},
	    {"TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256", NULL},
	    {"TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384", NULL},
	    {"TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384", NULL},
	    {"TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256"},
	    {"TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305", "TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256"},
	};
	for (size_t o = 0; o < ING_ARRAY_LEN(offered); o++) {
		int in = 0;
		for (int i = 0; i < v->n && !in; i++)
			in = str_eq(str_trim(v->a[i]), offered[o][0]) || (offered[o][1] && str_eq(str_trim(v->a[i]), offered[o][1]));
		if (!in) {
			cf_err(ps, "cipherSuites: ingressd offers exactly the ECDHE suites with AES-GCM and ChaCha20-Poly1305 and "
			       "cannot leave out %s; list it (or drop cipherSuites)", offered[o][0]);
			return;
		}
	}
}

/* A lower-case DNS name (RFC 1123; with dots: a subdomain, else a label):
 * 0 or ING_ERR. */
static int
cf_dns_name(const char *s, size_t n, int dots)
{
	size_t label = 0;
	if (n == 0 || n > (dots ? 253u : 63u))
		return ING_ERR;
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		if (ch == '.' && dots && label > 0 && s[i - 1] != '-') {
			label = 0;
			continue;
		}
		if (!((ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9') || (ch == '-' && label > 0)) || ++label > 63)
			return ING_ERR;
	}
	return s[n - 1] == '-' || s[n - 1] == '.' ? ING_ERR : 0;
}

/* namespaces = [...]: DNS labels, at most ING_MAX_NAMESPACES. */
static void
cf_namespaces(struct cf_parser *ps, const struct cf_val *v)
{
	if (v->n > ING_MAX_NAMESPACES) {
		cf_err(ps, "namespaces: too many (limit is %d, ING_MAX_NAMESPACES)", ING_MAX_NAMESPACES);
		g_lim.hits[LIM_NAMESPACES]++;
		return;
	}
	for (int i = 0; i < v->n; i++) {
		struct ing_str ns = v->a[i];
		if (cf_dns_name(ns.p, ns.n, 0) != 0) {
			cf_err(ps, "namespaces: \"%.*s\" is not a valid namespace name", (int)ING_MIN(ns.n, 64), ns.p);
			return;
		}
		str_copy(ps->c->kube.namespaces[i], ING_NS_LEN, ns);
	}
	ps->c->kube.n_namespaces = v->n;
}

/* labelselector, checked as the API server would. */
static void
cf_selector(struct cf_parser *ps, char *dst, const struct cf_val *v)
{
	char tmp[sizeof ps->c->kube.labelselector];
	const char *why;
	if (str_copy(tmp, sizeof tmp, v->s) != 0)
		cf_err(ps, "labelselector: too long");
	else if ((why = cf_label_selector(tmp)) != NULL)
		cf_err(ps, "labelselector: %s in \"%s\" (syntax: a=b,c!=d,e in (x,y),f notin (z),g,!h)", why, tmp);
	else
		memcpy(dst, tmp, sizeof tmp);
}

/* An address key: the text into dst, the parsed address into *a. */
static void
cf_address(struct cf_parser *ps, const struct cf_key *k, const struct cf_val *v, char *dst, struct ing_addr *a)
{
	struct ing_addr x;
	if (ing_addr_parse(&x, v->s.p, v->s.n) != 0 || x.port == 0)
		cf_err(ps, "%s: bad address \"%.*s\" (expected \":80\", \"IP:PORT\" or \"[IPv6]:PORT\")", k->name,
		       (int)ING_MIN(v->s.n, 64), v->s.p);
	else if (str_copy(dst, k->size, v->s) != 0)
		cf_err(ps, "%s: value too long", k->name);
	else
		*a = x;
}

/* The value of key k into the config (or the entry point being read),
 * checked for its type and range. */
static void
cf_store(struct cf_parser *ps, const struct cf_key *k, const struct cf_val *v)
{
	int is_ep = ps->table >= CFT_EP && ps->table <= CFT_EP_FWD;
	char *base = is_ep ? (char *)ps->ep : (char *)ps->c;
	void *dst = base + k->off;
	static const int want[] = {[KT_STR] = CFV_STR,  [KT_INT] = CFV_INT,    [KT_BOOL] = CFV_BOOL,
	                           [KT_STRS] = CFV_ARR, [KT_DUR] = CFV_STR,    [KT_ADDR] = CFV_STR,
	                           [KT_LEVEL] = CFV_STR, [KT_LOGFMT] = CFV_STR, [KT_NS] = CFV_ARR,
	                           [KT_SEL] = CFV_STR,  [KT_CIDRS] = CFV_ARR,  [KT_HDR] = CFV_STR,
	                           [KT_USERS] = CFV_ARR, [KT_SUITES] = CFV_ARR, [KT_FILES] = CFV_ARR};
	if (k->type == KT_DUR && v->type == CFV_INT) {
		if (v->i < 0 || v->i > 365 * 86400) {
			cf_err(ps, "%s: duration out of range", k->name);
			return;
		}
		*(uint64_t *)dst = (uint64_t)v->i * 1000;
		return;
	}
	if (v->type != want[k->type] || (v->type == CFV_ARR && v->nums)) {
		cf_err(ps, "%s: expected %s, got %s", k->name, v->type == CFV_ARR ? "an array of strings" : cf_type_names[want[k->type]],
		       v->type == CFV_ARR && v->nums ? "numbers" : cf_type_names[v->type]);
		return;
	}
	for (int i = 0; v->type == CFV_STR && i < (int)v->s.n; i++)
		if (v->s.p[i] == '\0') {
			cf_err(ps, "%s: NUL in string", k->name);
			return;
		}
	switch (k->type) {
	case KT_STR:
		if (str_copy(dst, k->size, v->s) != 0)
			cf_err(ps, "%s: value too long (limit is %zu bytes)", k->name, (size_t)k->size - 1);
		break;
	case KT_INT:
		if (v->i < 0 || v->i > 1000000)
			cf_err(ps, "%s: out of range (0..1000000)", k->name);
		else
			*(int *)dst = (int)v->i;
		break;
	case KT_BOOL:
		if (k->off == offsetof(struct cf, loglevel)) { /* debug = true */
			if (v->b)
				ps->c->loglevel = ING_LOG_DEBUG;
		} else
			*(int *)dst = v->b;
		break;
	case KT_DUR:
		if (cf_duration(v->s, dst) != 0)
			cf_err(ps, "%s: invalid duration \"%.*s\" (examples: \"30s\", \"1m30s\", \"500ms\")", k->name,
			       (int)ING_MIN(v->s.n, 32), v->s.p);
		break;
	case KT_LEVEL: {
		char tmp[16];
		int l = str_copy(tmp, sizeof tmp, v->s) == 0 ? log_level_parse(tmp) : -1;
		if (l < 0)
			cf_err(ps, "logLevel: unknown level \"%.*s\" (DEBUG, INFO, WARN, ERROR)", (int)ING_MIN(v->s.n, 16),
			       v->s.p);
		else
			*(int *)dst = l;
		break;
	}
	case KT_LOGFMT:
		if (str_eq(v->s, "common"))
			*(int *)dst = CF_LOG_COMMON;
		else if (str_eq(v->s, "json"))
			*(int *)dst = CF_LOG_JSON;
		else
			cf_err(ps, "format: expected \"common\" or \"json\"");
		break;
	case KT_ADDR:
		cf_address(ps, k, v, dst, is_ep ? &ps->ep->addr : &ps->c->web);
		break;
	case KT_STRS: { /* defaultEntryPoints */
		if (v->n > ING_MAX_ENTRYPOINTS) {
			cf_err(ps, "%s: too many entries (limit is %d, ING_MAX_ENTRYPOINTS)", k->name, ING_MAX_ENTRYPOINTS);
			break;
		}
		for (int i = 0; i < v->n; i++)
			if (str_copy(ps->c->default_eps[i], sizeof ps->c->default_eps[i], v->a[i]) != 0) {
				cf_err(ps, "%s: entry point name too long", k->name);
				return;
			}
		ps->c->n_default_eps = v->n;
		break;
	}
	case KT_NS:
		cf_namespaces(ps, v);
		break;
	case KT_CIDRS: /* an entry point's whitelist */
		cf_ep_cidrs(ps, k->name, v);
		break;
	case KT_HDR:
		for (size_t i = 0; i < v->s.n; i++)
			if (!hp_tchar[(unsigned char)v->s.p[i]]) {
				cf_err(ps, "%s: \"%.*s\" is not a header name", k->name, (int)ING_MIN(v->s.n, 64), v->s.p);
				return;
			}
		if (v->s.n == 0 || str_copy(dst, k->size, v->s) != 0)
			cf_err(ps, "%s: empty or too long", k->name);
		break;
	case KT_USERS: /* users = ["user:hash", ...] */
		ps->ep->users_line = ps->line;
		for (int i = 0; i < v->n; i++)
			if (cf_ep_user(ps, v->a[i], ps->line) != 0)
				return;
		break;
	case KT_SUITES: /* Go's names; what ingressd offers must be among them */
		cf_suites(ps, v);
		break;
	case KT_FILES:
		if (is_ep)
			cf_ca_files(ps, k->name, v, ps->ep->ca_files, &ps->ep->n_ca_files);
		else
			cf_ca_files(ps, k->name, v, ps->c->root_cas, &ps->c->n_root_cas);
		break;
	case KT_SEL:
		cf_selector(ps, dst, v);
		break;
	}
}

/* One key = value line of the current table. */
static void
cf_keyval(struct cf_parser *ps)
{
	struct ing_str key;
	struct cf_val *v;
	static struct cf_val vbuf; /* large (array slices): not on the stack */
	const struct cf_key *k = NULL;
	size_t ki = 0;

	if (*ps->p == '"') {
		if (cf_string(ps, &key) != 0)
			return;
	} else {
		const char *s = ps->p;
		while (ps->p < ps->end && cf_bare_char((unsigned char)*ps->p))
			ps->p++;
		key = (struct ing_str){s, (size_t)(ps->p - s)};
		if (key.n == 0) {
			cf_err(ps, "expected a key, a [table] or a comment");
			return;
		}
		if (ps->p < ps->end && *ps->p == '.') {
			cf_err(ps, "dotted keys are not supported; use a [table]");
			return;
		}
	}
	cf_skip_ws(ps);
	if (ps->p >= ps->end || *ps->p != '=') {
		cf_err(ps, "expected '=' after key \"%.*s\"", (int)ING_MIN(key.n, 64), key.p);
		return;
	}
	ps->p++;
	v = &vbuf;
	if (cf_value(ps, v) != 0)
		return;
	if (ps->table == CFT_IGNORED || ps->table == CFT_ENTRYPOINTS) {
		if (ps->table == CFT_ENTRYPOINTS)
			cf_err(ps, "unknown key \"%.*s\" in [entryPoints]", (int)ING_MIN(key.n, 64), key.p);
		return;
	}
	for (ki = 0; ki < ING_ARRAY_LEN(cf_keys); ki++)
		if (cf_keys[ki].table == ps->table && str_ieq(key, cf_keys[ki].name)) {
			k = &cf_keys[ki];
			break;
		}
	if (k == NULL) {
		const struct cf_instead *ki2 = cf_in_list(cf_traefik_keys, ING_ARRAY_LEN(cf_traefik_keys), key);
		if (ki2 != NULL)
			cf_warn(ps, "\"%.*s\": not supported by ingressd, ignored: %s", (int)key.n, key.p, ki2->instead);
		else if (ps->table == CFT_TOP)
			cf_err(ps, "unknown key \"%.*s\"", (int)ING_MIN(key.n, 64), key.p);
		else
			cf_err(ps, "unknown key \"%.*s\" in [%s]", (int)ING_MIN(key.n, 64), key.p, ps->table_name);
		return;
	}
	if (ps->seen[ki / 64] & (1ull << (ki % 64))) {
		cf_err(ps, "duplicate key \"%s\"", k->name);
		return;
	}
	ps->seen[ki / 64] |= 1ull << (ki % 64);
	cf_store(ps, k, v);
}

/* Checks a whole file is UTF-8 without NUL bytes and with lines within the
 * limit; reports each bad line. Returns the number of errors. */
static int
cf_check_bytes(struct cf_parser *ps, const char *buf, size_t len)
{
	int errs = 0;
	size_t i = 0, line_start = 0;
	int line = 1, bad_line = 0;
	while (i < len) {
		unsigned char c = (unsigned char)buf[i];
		size_t need = 0;
		const char *why = NULL;
		if (c == '\n') {
			if (i - line_start > ING_MAX_CONF_LINE) {
				ps->line = line;
				cf_err(ps, "line too long (limit is %d bytes, ING_MAX_CONF_LINE)", ING_MAX_CONF_LINE);
				errs++;
			}
			line++;
			line_start = ++i;
			continue;
		}
		if (c == 0)
			why = "NUL byte";
		else if (c >= 0x80) {
			uint32_t cp = 0, min = 0;
			if (c >= 0xC2 && c <= 0xDF)
				need = 1, cp = c & 0x1F, min = 0x80;
			else if (c >= 0xE0 && c <= 0xEF)
				need = 2, cp = c & 0x0F, min = 0x800;
			else if (c >= 0xF0 && c <= 0xF4)
				need = 3, cp = c & 0x07, min = 0x10000;
			else
				why = "invalid UTF-8";
			for (size_t k = 1; why == NULL && k <= need; k++) {
				if (i + k >= len || ((unsigned char)buf[i + k] & 0xC0) != 0x80)
					why = "invalid UTF-8";
				else
					cp = cp << 6 | ((unsigned char)buf[i + k] & 0x3F);
			}
			if (why == NULL && (cp < min || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)))
				why = "invalid UTF-8";
		}
		if (why != NULL && bad_line != line) {
			ps->line = line;
			cf_err(ps, "%s", why);
			bad_line = line;
			errs++;
		}
		i += why != NULL ? 1 : need + 1;
	}
	if (len - line_start > ING_MAX_CONF_LINE) {
		ps->line = line;
		cf_err(ps, "line too long (limit is %d bytes, ING_MAX_CONF_LINE)", ING_MAX_CONF_LINE);
		errs++;
	}
	return errs;
}

/* stickyKeyFile: the same secret on every replica gives every replica
 * the same sticky cookie values. Its SHA-256 is the HMAC key; the secret
 * itself is not kept. */
#define CF_STICKY_MIN 16
static void
cf_sticky_key(struct cf_parser *ps, struct cf *c)
{
	char buf[4096], err[160];
	struct ing_hash h;
	ssize_t n = port_read_file(c->sticky_key_file, buf, sizeof buf, err, sizeof err);
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' ' || buf[n - 1] == '\t'))
		n--; /* a trailing newline is not part of the secret */
	if (n < 0)
		cf_err(ps, "stickyKeyFile: %s", err);
	else if (n < CF_STICKY_MIN)
		cf_err(ps, "stickyKeyFile %s: %zd bytes; at least %d (head -c 32 /dev/urandom | base64 makes one)",
		       c->sticky_key_file, n, CF_STICKY_MIN);
	else if (tls_hash_init(&h, ING_HASH_SHA256) == ING_ERR)
		cf_err(ps, "stickyKeyFile: no SHA-256 in this build");
	else {
		tls_hash_update(&h, buf, (size_t)n);
		tls_hash_out(&h, c->sticky_key);
		c->sticky_keyed = 1;
	}
	explicit_bzero(buf, sizeof buf);
}

/* "namespace/name", each a DNS label. */
static int
cf_ns_name(const char *s)
{
	const char *slash = strchr(s, '/');
	return slash != NULL && cf_dns_name(s, (size_t)(slash - s), 0) == 0 && cf_dns_name(slash + 1, strlen(slash + 1), 0) == 0;
}

/* [kubernetes.ingressEndpoint], checked as the API server would check the
 * status it becomes: publishedService wins over ip and hostname, as in
 * Traefik 1.7, which refused a table with none of the three. */
static void
cf_status(struct cf_parser *ps, struct cf_kube *k)
{
	struct ing_addr a;
	const char *svc = k->status_service;
	if (svc[0] == '\0' && k->status_ip[0] == '\0' && k->status_hostname[0] == '\0')
		cf_err(ps, "[kubernetes.ingressEndpoint]: publishedService, ip or hostname must be set");
	if (k->status_ip[0] && ing_addr_parse_ip(&a, k->status_ip, strlen(k->status_ip)) != 0)
		cf_err(ps, "[kubernetes.ingressEndpoint] ip: \"%s\" is not an IPv4 or IPv6 address", k->status_ip);
	if (k->status_hostname[0] && (cf_dns_name(k->status_hostname, strlen(k->status_hostname), 1) != 0 ||
	                              ing_addr_parse_ip(&a, k->status_hostname, strlen(k->status_hostname)) == 0))
		cf_err(ps, "[kubernetes.ingressEndpoint] hostname: \"%s\" is not a DNS name (lower case; an address "
		       "goes in ip)", k->status_hostname);
	if (svc[0] == '\0')
		return;
	if (!cf_ns_name(svc))
		cf_err(ps, "[kubernetes.ingressEndpoint] publishedService: \"%s\": expected \"namespace/name\" of a "
		       "Service", svc);
	else if (k->status_ip[0] || k->status_hostname[0])
		cf_warn(ps, "[kubernetes.ingressEndpoint]: publishedService is set, so ip and hostname are not used "
		        "(as in Traefik 1.7)");
}

/* Whole-config checks after parsing (relayd's load_config). */
static int rx_compile(const char *re, int icase, struct rx_insn *prog, int cap, char names[RX_GROUPS][24], char *err,
                      size_t ecap); /* regular expressions (rx_) */
static int rx_template(const char *r, int go, char names[RX_GROUPS][24], char *out, size_t cap, char *err, size_t ecap);

/* [entryPoints.NAME.redirect] regex and replacement (Traefik 1.7's, as the
 * redirect-regex annotation): both, and not with entryPoint. */
static void
cf_ep_redirect(struct cf_parser *ps, struct cf_ep *ep)
{
	char err[160] = "", names[RX_GROUPS][24];
	if (!ep->redirect_regex[0] || !ep->redirect_repl[0] || ep->redirect_ep[0])
		cf_err(ps, "[entryPoints.%s.redirect]: regex and replacement go together, without entryPoint", ep->name);
	else if (str_str(ep->redirect_repl, "{{") != NULL)
		cf_err(ps, "[entryPoints.%s.redirect] replacement: Go templates ({{...}}) are not read", ep->name);
	else if (rx_compile(ep->redirect_regex, 0, ep->redirect_rx, RX_PROG, names, err, sizeof err) < 0 ||
	         rx_template(ep->redirect_repl, 1, names, ep->redirect_tp, sizeof ep->redirect_tp, err, sizeof err) < 0)
		cf_err(ps, "[entryPoints.%s.redirect] %s: %s", ep->name, err[0] == 'c' ? "regex" : "replacement", err);
}

static void
cf_finish(struct cf_parser *ps)
{
	struct cf *c = ps->c;
	ps->line = 0;
	if (c->kube.default_backend[0] && !cf_ns_name(c->kube.default_backend))
		cf_err(ps, "[kubernetes] defaultBackend: \"%s\": expected \"namespace/name\" of a Service",
		       c->kube.default_backend);
	if (c->n_eps == 0) { /* Traefik's default: http on :80 */
		ing_snprintf(c->eps[0].name, sizeof c->eps[0].name, "http");
		ing_snprintf(c->eps[0].address, sizeof c->eps[0].address, ":80");
		c->eps[0].addr.port = 80;
		c->n_eps = 1;
	}
	for (int i = 0; i < c->n_eps; i++) {
		struct cf_ep *ep = &c->eps[i];
		ps->line = ep->line;
		if (ep->address[0] == '\0')
			cf_err(ps, "[entryPoints.%s]: missing address", ep->name);
		if (ep->redirect_ep[0] != '\0' && cf_ep_find(c, (struct ing_str){ep->redirect_ep, strlen(ep->redirect_ep)}) == NULL)
			cf_err(ps, "[entryPoints.%s.redirect]: unknown entry point \"%s\"", ep->name, ep->redirect_ep);
		if (ep->redirect_regex[0] || ep->redirect_repl[0])
			cf_ep_redirect(ps, ep);
		if ((ep->cert_file[0] == '\0') != (ep->key_file[0] == '\0'))
			cf_err(ps, "[entryPoints.%s.tls]: certFile and keyFile go together", ep->name);
		if (ep->wl_xff && !ep->fh.set && !ep->fh.insecure)
			cf_warn(ps, "[entryPoints.%s.whiteList] useXForwardedFor: X-Forwarded-For is believed only from "
			        "forwardedHeaders.trustedIPs, and there are none: the peer is checked", ep->name);
		if ((ep->pp.on && !ep->pp.set && !ep->pp.insecure) || (ep->fh.on && !ep->fh.set && !ep->fh.insecure))
			cf_err(ps, "[entryPoints.%s.%s]: trustedIPs or insecure = true", ep->name,
			       ep->pp.on && !ep->pp.set && !ep->pp.insecure ? "proxyProtocol" : "forwardedHeaders");
		if (ep->pp.insecure)
			cf_warn(ps, "[entryPoints.%s.proxyProtocol] insecure: every peer's PROXY header is believed", ep->name);
		if (ep->users_file[0])
			cf_ep_users_file(ps, ep);
		if (ep->ca_set && ep->n_ca_files == 0) /* Traefik 1.7 then asked for no certificate at all */
			cf_err(ps, "[entryPoints.%s.tls.ClientCA]: no files: refused rather than served without client "
			       "certificates", ep->name);
		if (ep->auth_basic && ep->user_n == 0)
			cf_err(ps, "[entryPoints.%s.auth.basic]: no users (users or usersFile)", ep->name);
		if (ep->auth_header[0] && !ep->auth_basic)
			cf_err(ps, "[entryPoints.%s.auth] headerField: without [entryPoints.%s.auth.basic]", ep->name, ep->name);
		if (ep->min_version[0] && strcmp(ep->min_version, "VersionTLS10") && strcmp(ep->min_version, "VersionTLS11") &&
		    strcmp(ep->min_version, "VersionTLS12"))
			cf_err(ps, "[entryPoints.%s.tls] minVersion: \"%s\": ingressd offers TLS 1.2 only (VersionTLS10, 11 or 12 "
			       "are met by it)", ep->name, ep->min_version);
		for (int j = 0; j < i; j++)
			if (c->eps[j].address[0] && memcmp(&c->eps[j].addr, &ep->addr, sizeof ep->addr) == 0)
				cf_err(ps, "[entryPoints.%s]: address %s already used by entry point \"%s\"", ep->name,
				       ep->address, c->eps[j].name);
		if (c->web_enabled && c->web.port == ep->addr.port &&
		    (c->web.family == 0 || ep->addr.family == 0 || memcmp(c->web.ip, ep->addr.ip, 16) == 0))
			cf_err(ps, "[entryPoints.%s]: address %s clashes with [web] address %s", ep->name, ep->address,
			       c->web_address);
	}
	ps->line = 0;
	if (c->n_default_eps == 0) {
		/* Unset: Ingress routes are served on every entry point. */
		for (int i = 0; i < c->n_eps; i++)
			memcpy(c->default_eps[c->n_default_eps++], c->eps[i].name, sizeof c->default_eps[0]);
	} else {
		for (int i = 0; i < c->n_default_eps; i++)
			if (cf_ep_find(c, (struct ing_str){c->default_eps[i], strlen(c->default_eps[i])}) == NULL)
				cf_err(ps, "defaultEntryPoints: unknown entry point \"%s\"", c->default_eps[i]);
	}
	if (c->rl_v6_prefix < 1 || c->rl_v6_prefix > 128)
		cf_err(ps, "rateLimitIPv6Prefix: %d: 1 to 128 bits", c->rl_v6_prefix);
	c->accesslog_enabled = ps->accesslog_seen || c->accesslog_path[0] != '\0';
	if (c->sticky_key_file[0] != '\0')
		cf_sticky_key(ps, c);
	if (c->kube.endpoint[0] != '\0' && strncmp(c->kube.endpoint, "http://", 7) != 0 &&
	    strncmp(c->kube.endpoint, "https://", 8) != 0)
		cf_err(ps, "[kubernetes] endpoint: must start with http:// or https://");
	if (c->kube.status_set)
		cf_status(ps, &c->kube);
}

/* Parse a config buffer into *c (defaults first). Returns the number of
 * errors; messages are in ps->msgs. */
static int
cf_parse(struct cf_parser *ps, struct cf *c, const char *file, const char *buf, size_t len)
{
	memset(ps, 0, offsetof(struct cf_parser, sbuf));
	ps->file = file;
	ps->c = c;
	cf_defaults(c);
	if (len > ING_MAX_CONF_BYTES) {
		cf_err(ps, "file too large (limit is %d bytes, ING_MAX_CONF_BYTES)", ING_MAX_CONF_BYTES);
		return ps->nerr;
	}
	if (cf_check_bytes(ps, buf, len) > 0)
		return ps->nerr;
	ps->p = buf;
	ps->end = buf + len;
	ps->line = 1;
	ps->table = CFT_TOP;
	while (ps->p < ps->end) {
		ps->sused = 0;
		cf_skip_ws(ps);
		if (ps->p < ps->end && *ps->p == '[') {
			int arr = ps->p + 1 < ps->end && ps->p[1] == '[';
			ps->p += arr ? 2 : 1;
			cf_table(ps, arr);
		} else if (ps->p < ps->end && *ps->p != '#' && *ps->p != '\n' && *ps->p != '\r') {
			cf_keyval(ps);
		}
		/* rest of the line: only whitespace and a comment */
		cf_skip_ws(ps);
		if (ps->p < ps->end && *ps->p == '#')
			while (ps->p < ps->end && *ps->p != '\n')
				ps->p++;
		if (ps->p < ps->end && *ps->p == '\r' && ps->p + 1 < ps->end && ps->p[1] == '\n')
			ps->p++;
		if (ps->p < ps->end && *ps->p != '\n') {
			if (ps->msgs[ps->nmsg > 0 ? ps->nmsg - 1 : 0].line != ps->line || ps->nerr == 0)
				cf_err(ps, "unexpected text after value");
			while (ps->p < ps->end && *ps->p != '\n')
				ps->p++;
		}
		if (ps->p < ps->end) {
			ps->p++;
			ps->line++;
		}
	}
	cf_finish(ps);
	return ps->nerr;
}

/* Print collected messages as FILE:LINE: message, in order. */
static void
cf_report(const struct cf_parser *ps, int fd)
{
	for (int i = 0; i < ps->nmsg; i++) {
		const struct cf_msg *m = &ps->msgs[i];
		if (m->line > 0)
			log_say(fd, "%s:%d: %s%s\n", ps->file, m->line, m->warning ? "warning: " : "", m->text);
		else
			log_say(fd, "%s: %s%s\n", ps->file, m->warning ? "warning: " : "", m->text);
	}
	if (ps->nerr + ps->nwarn > ps->nmsg)
		log_say(fd, "%s: %d more messages not shown (limit is %d, ING_MAX_CONF_ERRORS)\n", ps->file,
		        ps->nerr + ps->nwarn - ps->nmsg, ING_MAX_CONF_ERRORS);
}

/* The config in force (the loop swaps it on SIGHUP). */
static struct cf *cf_live;

/* Does an entry point serve HTTPS? (Fixed for the process: a reload keeps
 * the entry points.) Without one, TLS Secrets are neither read nor kept. */
static int
cf_tls(const struct cf *c)
{
	for (int i = 0; i < c->n_eps; i++)
		if (c->eps[i].tls)
			return 1;
	return 0;
}

/* Load a config file; path NULL = built-in defaults. 0 or the error count. */
static int
cf_load(struct cf_parser *ps, struct cf *c, const char *path)
{
	static char buf[ING_MAX_CONF_BYTES + 2];
	char err[ING_ERR_LEN];
	ssize_t n;
	if (path == NULL)
		return cf_parse(ps, c, "(defaults)", "", 0);
	n = port_read_file(path, buf, sizeof buf, err, sizeof err);
	if (n < 0) {
		memset(ps, 0, offsetof(struct cf_parser, sbuf));
		ps->file = path;
		cf_defaults(c);
		cf_err(ps, "%s", err);
		return ps->nerr;
	}
	int r = cf_parse(ps, c, path, buf, (size_t)n);
	if (r == 0 && c->kube.token[0] != '\0') {
		struct stat st;
		if (stat(path, &st) == 0 && (st.st_mode & 0044)) {
			ps->line = 0;
			cf_warn(ps, "holds a [kubernetes] token but is readable by others (chmod 600)");
		}
	}
	return r;
}

/* ===== 3. HTTP/1.x parsing ============================================ hp_
 * picohttpparser's conventions: slices into the caller's buffer, ING_WAIT
 * for "incomplete", and an incremental end-of-head scan so a slow client
 * costs O(new bytes). Strict where proxies get smuggled through: both
 * Content-Length and Transfer-Encoding, differing lengths, codings other
 * than a single chunked, obs-fold, bare CR, NUL and control bytes are 400.
 * Bodies are framed by hp_body_step(), which both the proxy (bytes passed
 * through verbatim) and the API client (payload extracted) use.
 * Limits: ING_MAX_HEADER_BYTES, ING_MAX_HEADERS.
 */
enum hp_meth { HM_OTHER, HM_GET, HM_HEAD, HM_POST, HM_PUT, HM_DELETE, HM_OPTIONS, HM_PATCH, HM_CONNECT, HM_TRACE };
static const char *const hp_meth_names[] = {"", "GET", "HEAD", "POST", "PUT", "DELETE", "OPTIONS", "PATCH", "CONNECT", "TRACE"};

/* Header names the daemon acts on: classified once, as the head is parsed
 * (hp_hdr.id), so later passes compare a number, not strings. */
#define HP_HID_LIST(X)                                                                                     \
	X(HOST, "host") X(CONNECTION, "connection") X(KEEP_ALIVE, "keep-alive")                                \
	X(PROXY_CONNECTION, "proxy-connection") X(TE, "te") X(TRAILERS, "trailers") X(UPGRADE, "upgrade")    \
	X(PROXY_AUTHORIZATION, "proxy-authorization") X(PROXY_AUTHENTICATE, "proxy-authenticate")            \
	X(X_FORWARDED_FOR, "x-forwarded-for") X(X_FORWARDED_PROTO, "x-forwarded-proto")                      \
	X(X_FORWARDED_HOST, "x-forwarded-host") X(X_FORWARDED_PORT, "x-forwarded-port")                      \
	X(X_FORWARDED_PREFIX, "x-forwarded-prefix") X(X_REAL_IP, "x-real-ip") X(AUTHORIZATION, "authorization") \
	X(CONTENT_LENGTH, "content-length") X(TRANSFER_ENCODING, "transfer-encoding") X(EXPECT, "expect")         \
	X(FORWARDED, "forwarded") X(X_ORIGINAL_URL, "x-original-url") X(X_REWRITE_URL, "x-rewrite-url")        \
	X(HTTP2_SETTINGS, "http2-settings") X(X_TLS_CLIENT_CERT, "x-forwarded-tls-client-cert")                 \
	X(X_TLS_CLIENT_CERT_INFOS, "x-forwarded-tls-client-cert-infos")
enum hp_hid {
	HH_OTHER,
#define X(id, name) HH_##id,
	HP_HID_LIST(X)
#undef X
	HH_TWIN, /* one of the names above spelled with '_' for '-' (X_Real_Ip) */
	HH__COUNT
};
_Static_assert(HH__COUNT <= 32, "hp_hid ids are used as bits of a uint32_t");
#define HH_BIT(id) (1u << HH_##id)
/* The forwarded headers a trusted peer's copies of are kept (pp_client). */
#define HH_FWD (HH_BIT(X_FORWARDED_PROTO) | HH_BIT(X_FORWARDED_HOST) | HH_BIT(X_FORWARDED_PORT) | HH_BIT(X_REAL_IP))
/* Not copied from one side to the other: hop-by-hop headers (RFC 9110
 * 7.6.1), and the framing, which the proxy writes itself from the one
 * decision it made (hp_body_init), so the head sent can never disagree
 * with the bytes forwarded. */
#define HH_HOP                                                                                         \
	(HH_BIT(CONNECTION) | HH_BIT(KEEP_ALIVE) | HH_BIT(PROXY_CONNECTION) | HH_BIT(TE) | HH_BIT(TRAILERS) | \
	 HH_BIT(UPGRADE) | HH_BIT(PROXY_AUTHORIZATION) | HH_BIT(PROXY_AUTHENTICATE) | HH_BIT(HTTP2_SETTINGS) |  \
	 HH_BIT(CONTENT_LENGTH) | HH_BIT(TRANSFER_ENCODING))
/* Request headers ingressd sets itself, and ones a pod may trust for the
 * client's address, certificate or the URL, which only ingressd may tell
 * it: Forwarded, X-Original-URL and X-Rewrite-URL (IIS rewrite; Symfony and
 * Zend read them), X-Forwarded-Tls-Client-Cert(-Infos) (pass-client-tls-cert,
 * whether the route has it or not), and '_' twins of ours. (X-Forwarded-For
 * is ingressd's too, kept and appended to.) */
#define HH_OURS                                                                                            \
	(HH_BIT(X_FORWARDED_PROTO) | HH_BIT(X_FORWARDED_HOST) | HH_BIT(X_FORWARDED_PORT) | HH_BIT(X_FORWARDED_PREFIX) | \
	 HH_BIT(X_REAL_IP) | HH_BIT(HOST) | HH_BIT(FORWARDED) | HH_BIT(X_ORIGINAL_URL) | HH_BIT(X_REWRITE_URL) |        \
	 HH_BIT(X_TLS_CLIENT_CERT) | HH_BIT(X_TLS_CLIENT_CERT_INFOS) | HH_BIT(TWIN))

static const struct ing_str hp_hid_names[HH_TWIN] = {
    {"", 0},
#define X(id, name) STR_LIT(name),
    HP_HID_LIST(X)
#undef X
};

struct hp_hdr {
	struct ing_str name, value;
	uint8_t id; /* enum hp_hid */
};

struct hp_msg {
	struct ing_str method, target; /* request */
	int meth;
	int status; /* response */
	struct ing_str reason;
	int minor;  /* HTTP/1.minor */
	int nh;
	struct hp_hdr h[ING_MAX_HEADERS];
	size_t head_len;
	/* analysis */
	int64_t clen; /* -1: none */
	int chunked;
	int te;       /* any Transfer-Encoding (response: maybe not chunked) */
	int conn_close, conn_keepalive, conn_upgrade;
	int conn_tokens; /* some Connection header names tokens (hop-by-hop headers) */
	int expect_continue;
	struct ing_str host; /* authority, port included */
	struct ing_str path; /* origin-form target (absolute-form reduced) */
	struct ing_str upgrade;
	int err_status;
	const char *err;
};

/* RFC 9110 tchar */
static const uint8_t hp_tchar[256] = {
    ['!'] = 1, ['#'] = 1, ['$'] = 1, ['%'] = 1, ['&'] = 1, ['\''] = 1, ['*'] = 1, ['+'] = 1, ['-'] = 1,
    ['.'] = 1, ['^'] = 1, ['_'] = 1, ['`'] = 1, ['|'] = 1, ['~'] = 1,
    ['0'] = 1, ['1'] = 1, ['2'] = 1, ['3'] = 1, ['4'] = 1, ['5'] = 1, ['6'] = 1, ['7'] = 1, ['8'] = 1, ['9'] = 1,
    ['A'] = 1, ['B'] = 1, ['C'] = 1, ['D'] = 1, ['E'] = 1, ['F'] = 1, ['G'] = 1, ['H'] = 1, ['I'] = 1,
    ['J'] = 1, ['K'] = 1, ['L'] = 1, ['M'] = 1, ['N'] = 1, ['O'] = 1, ['P'] = 1, ['Q'] = 1, ['R'] = 1,
    ['S'] = 1, ['T'] = 1, ['U'] = 1, ['V'] = 1, ['W'] = 1, ['X'] = 1, ['Y'] = 1, ['Z'] = 1,
    ['a'] = 1, ['b'] = 1, ['c'] = 1, ['d'] = 1, ['e'] = 1, ['f'] = 1, ['g'] = 1, ['h'] = 1, ['i'] = 1,
    ['j'] = 1, ['k'] = 1, ['l'] = 1, ['m'] = 1, ['n'] = 1, ['o'] = 1, ['p'] = 1, ['q'] = 1, ['r'] = 1,
    ['s'] = 1, ['t'] = 1, ['u'] = 1, ['v'] = 1, ['w'] = 1, ['x'] = 1, ['y'] = 1, ['z'] = 1,
};

/* Finds the end of a head in b[0..n), scanning from *scan (bytes already
 * seen). Leading empty lines are skipped (RFC 9112 2.2). Returns the head
 * length, or ING_WAIT with *scan advanced. */
static ssize_t
hp_scan_head(const char *b, size_t n, size_t *scan)
{
	size_t i = *scan > 3 ? *scan - 3 : 0;
	size_t start = 0;
	while (start < n && (b[start] == '\r' || b[start] == '\n'))
		start++;
	if (i < start)
		i = start;
	for (; i < n; i++) {
		if (b[i] != '\n')
			continue;
		size_t j = i + 1;
		if (j < n && b[j] == '\r')
			j++;
		if (j < n && b[j] == '\n')
			return (ssize_t)(j + 1);
	}
	*scan = n;
	return ING_WAIT;
}

static int
hp_fail(struct hp_msg *m, int status, const char *why)
{
	m->err_status = status;
	m->err = why;
	return ING_ERR;
}

/* One line ending at p (CRLF or LF); returns pointer past it or NULL on a
 * bare CR. *eol is the line's content end. */
static const char *
hp_eol(const char *p, const char *end, const char **eol)
{
	const char *nl = memchr(p, '\n', (size_t)(end - p));
	if (nl == NULL)
		return NULL;
	*eol = nl > p && nl[-1] == '\r' ? nl - 1 : nl;
	return nl + 1;
}

/* The id of a header name. A name with '_' where one of ours has '-' is
 * HH_TWIN: CGI-style servers (WSGI, PHP, Rack) read X_Real_Ip as
 * X-Real-Ip, so such a twin must not pass next to the real one. */
static uint8_t
hp_hid(struct ing_str name)
{
	for (int i = 1; i < HH_TWIN; i++)
		if (hp_hid_names[i].n == name.n && strncasecmp(hp_hid_names[i].p, name.p, name.n) == 0)
			return (uint8_t)i;
	if (memchr(name.p, '_', name.n) == NULL)
		return HH_OTHER;
	for (int i = 1; i < HH_TWIN; i++) {
		size_t k = 0;
		while (k < name.n && hp_hid_names[i].n == name.n &&
		       (name.p[k] == '_' ? hp_hid_names[i].p[k] == '-' : tolower((unsigned char)name.p[k]) == hp_hid_names[i].p[k]))
			k++;
		if (k == name.n && hp_hid_names[i].n == name.n)
			return HH_TWIN;
	}
	return HH_OTHER;
}

/* Header lines from p to end (which ends with the empty line). */
static int
hp_parse_headers(struct hp_msg *m, const char *p, const char *end, int bad)
{
	m->nh = 0;
	for (;;) {
		const char *eol, *next = hp_eol(p, end, &eol);
		if (next == NULL)
			return hp_fail(m, bad, "truncated head");
		if (eol == p)
			return 0; /* empty line: end of head */
		if (*p == ' ' || *p == '\t')
			return hp_fail(m, bad, "obsolete line folding");
		const char *c = p;
		while (c < eol && hp_tchar[(unsigned char)*c])
			c++;
		if (c == p || c >= eol || *c != ':')
			return hp_fail(m, bad, c < eol && (*c == ' ' || *c == '\t') ? "space before colon" : "bad header name");
		if (m->nh >= ING_MAX_HEADERS) {
			log_limit(LIM_HEADERS, "hp: header lines");
			return hp_fail(m, bad == 400 ? 431 : bad, "too many headers");
		}
		struct hp_hdr *h = &m->h[m->nh++];
		h->name = (struct ing_str){p, (size_t)(c - p)};
		c++;
		for (const char *v = c; v < eol; v++) {
			unsigned char ch = (unsigned char)*v;
			if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
				return hp_fail(m, bad, ch == '\r' ? "bare CR in header" : "control byte in header");
		}
		h->value = str_trim((struct ing_str){c, (size_t)(eol - c)});
		h->id = hp_hid(h->name);
		p = next;
	}
}

static int
hp_version(struct hp_msg *m, const char *p, size_t n)
{
	if (n != 8 || memcmp(p, "HTTP/1.", 7) != 0 || (p[7] != '0' && p[7] != '1')) {
		if (n >= 5 && memcmp(p, "HTTP/", 5) == 0)
			return hp_fail(m, 505, "unsupported HTTP version");
		return hp_fail(m, 400, "bad HTTP version");
	}
	m->minor = p[7] - '0';
	return 0;
}

/* Comma-separated tokens of a header value, case-insensitive. */
static int
hp_has_token(struct ing_str v, const char *tok)
{
	struct ing_str t;
	while (str_item(&v, &t))
		if (str_ieq(t, tok))
			return 1;
	return 0;
}

/* Header semantics shared by requests and responses. */
static int
hp_analyze(struct hp_msg *m, int bad)
{
	int ncl = 0, nte = 0, nhost = 0;
	m->clen = -1;
	m->chunked = m->te = 0;
	m->conn_close = m->conn_keepalive = m->conn_upgrade = m->conn_tokens = 0;
	m->expect_continue = 0;
	m->host = m->upgrade = (struct ing_str){NULL, 0};
	for (int i = 0; i < m->nh; i++) {
		struct hp_hdr *h = &m->h[i];
		switch (h->id) {
		case HH_HOST:
			nhost++;
			m->host = h->value;
			break;
		case HH_EXPECT:
			if (str_ieq(h->value, "100-continue"))
				m->expect_continue = 1;
			break;
		case HH_UPGRADE:
			m->upgrade = h->value;
			break;
		case HH_CONNECTION:
			m->conn_close |= hp_has_token(h->value, "close");
			m->conn_keepalive |= hp_has_token(h->value, "keep-alive");
			m->conn_upgrade |= hp_has_token(h->value, "upgrade");
			m->conn_tokens |= h->value.n > 0;
			/* RFC 9110 7.6.1: never a connection option; a hop that drops
			 * the named header reads the body differently from one that
			 * does not */
			if (hp_has_token(h->value, "content-length") || hp_has_token(h->value, "transfer-encoding"))
				return hp_fail(m, bad, "Connection names Content-Length or Transfer-Encoding");
			break;
		case HH_CONTENT_LENGTH: {
			uint64_t v;
			if (str_to_u64(h->value, (uint64_t)1 << 62, &v) != 0)
				return hp_fail(m, bad, "bad Content-Length");
			if (ncl++ > 0 && (uint64_t)m->clen != v)
				return hp_fail(m, bad, "differing Content-Length headers");
			m->clen = (int64_t)v;
			break;
		}
		case HH_TRANSFER_ENCODING: {
			nte++;
			m->te = 1;
			/* the final coding decides the framing */
			struct ing_str v = h->value;
			size_t k = v.n;
			while (k > 0 && v.p[k - 1] != ',')
				k--;
			m->chunked = str_ieq(str_trim((struct ing_str){v.p + k, v.n - k}), "chunked");
			/* both ways: the proxy re-frames chunked bodies itself, so
			 * no other coding may hide under (or instead of) it */
			if (!str_ieq(v, "chunked"))
				return hp_fail(m, bad, "Transfer-Encoding other than chunked");
			break;
		}
		}
	}
	if (nte > 1)
		return hp_fail(m, bad, "several Transfer-Encoding headers");
	if (bad == 400) { /* requests */
		if (nte > 0 && ncl > 0)
			return hp_fail(m, 400, "both Content-Length and Transfer-Encoding");
		if (nte > 0 && m->minor == 0)
			return hp_fail(m, 400, "Transfer-Encoding in HTTP/1.0");
		if (nhost > 1)
			return hp_fail(m, 400, "several Host headers");
	} else if (m->te) {
		m->clen = -1; /* RFC 9112 6.3: Transfer-Encoding wins; CL is dropped */
	}
	return 0;
}

/* Host header or authority: reg-name / IPv4 / [IPv6], optional :port. */
static int
hp_host_ok(struct ing_str h)
{
	size_t i = 0;
	if (h.n == 0 || h.n > 255 + 6)
		return 0;
	if (h.p[0] == '[') {
		while (i < h.n && h.p[i] != ']') {
			if (!(isxdigit((unsigned char)h.p[i]) || h.p[i] == ':' || h.p[i] == '.' || h.p[i] == '['))
				return 0;
			i++;
		}
		if (i == h.n)
			return 0;
		i++;
	} else {
		while (i < h.n && h.p[i] != ':') {
			unsigned char c = (unsigned char)h.p[i];
			if (!(isalnum(c) || c == '-' || c == '.' || c == '_' || c == '~' || c == '%' || c == '!' ||
			      c == '$' || c == '&' || c == '\'' || c == '(' || c == ')' || c == '*' || c == '+' ||
			      c == ',' || c == ';' || c == '='))
				return 0;
			i++;
		}
	}
	if (i < h.n) {
		if (h.p[i] != ':')
			return 0;
		for (i++; i < h.n; i++)
			if (!isdigit((unsigned char)h.p[i]))
				return 0;
	}
	return 1;
}

/* A whole request head b[0..n) (n from hp_scan_head). 0 or ING_ERR with
 * m->err_status (400, 405, 431, 505) and m->err. */
static int
hp_parse_request(struct hp_msg *m, const char *b, size_t n)
{
	const char *p = b, *end = b + n, *eol, *next, *sp1, *sp2;
	m->err_status = 0;
	m->err = NULL;
	m->head_len = n;
	m->method = m->target = m->host = m->path = (struct ing_str){NULL, 0};
	m->nh = 0;
	m->minor = 1;
	m->meth = HM_OTHER;
	while (p < end && (*p == '\r' || *p == '\n'))
		p++;
	if ((next = hp_eol(p, end, &eol)) == NULL)
		return hp_fail(m, 400, "truncated request line");
	for (const char *q = p; q < eol; q++) {
		unsigned char ch = (unsigned char)*q;
		if (ch <= 0x20 && ch != ' ')
			return hp_fail(m, 400, ch == '\r' ? "bare CR in request line" : "control byte in request line");
		if (ch >= 0x7f)
			return hp_fail(m, 400, "non-ASCII byte in request line");
	}
	sp1 = memchr(p, ' ', (size_t)(eol - p));
	if (sp1 == NULL)
		return hp_fail(m, 400, "bad request line");
	sp2 = memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1));
	if (sp2 == NULL || sp2 == sp1 + 1 || memchr(sp2 + 1, ' ', (size_t)(eol - sp2 - 1)) != NULL)
		return hp_fail(m, 400, "bad request line");
	m->method = (struct ing_str){p, (size_t)(sp1 - p)};
	m->target = (struct ing_str){sp1 + 1, (size_t)(sp2 - sp1 - 1)};
	/* A fragment never belongs in a request (RFC 9112 3.2): /admin# would
	 * miss /admin here and be /admin to WHATWG and Python URL parsers. A
	 * backslash is no URI character; WHATWG (Node) and Windows servers
	 * read it as '/'. */
	if (memchr(m->target.p, '#', m->target.n) != NULL)
		return hp_fail(m, 400, "fragment in request target");
	const char *qm = memchr(m->target.p, '?', m->target.n);
	if (memchr(m->target.p, '\\', qm ? (size_t)(qm - m->target.p) : m->target.n) != NULL)
		return hp_fail(m, 400, "backslash in request path");
	for (size_t i = 0; i < m->method.n; i++)
		if (!hp_tchar[(unsigned char)m->method.p[i]])
			return hp_fail(m, 400, "bad method");
	if (m->method.n == 0)
		return hp_fail(m, 400, "bad method");
	if (hp_version(m, sp2 + 1, (size_t)(eol - sp2 - 1)) != 0)
		return ING_ERR;
	m->meth = HM_OTHER;
	for (int i = 1; i < (int)ING_ARRAY_LEN(hp_meth_names); i++)
		if (str_eq(m->method, hp_meth_names[i]))
			m->meth = i;
	if (hp_parse_headers(m, next, end, 400) != 0 || hp_analyze(m, 400) != 0)
		return ING_ERR;
	/* target forms (RFC 9112 3.2) */
	struct ing_str t = m->target;
	if (t.p[0] == '/') {
		m->path = t;
	} else if (t.n >= 7 && (strncasecmp(t.p, "http://", 7) == 0 || (t.n >= 8 && strncasecmp(t.p, "https://", 8) == 0))) {
		size_t k = t.p[4] == ':' ? 7 : 8, e = k;
		while (e < t.n && t.p[e] != '/' && t.p[e] != '?')
			e++;
		m->host = (struct ing_str){t.p + k, e - k}; /* overrides Host (RFC 9112 3.2.2) */
		m->path = e < t.n && t.p[e] == '/' ? (struct ing_str){t.p + e, t.n - e} : STR_LIT("/");
		if (e < t.n && t.p[e] == '?')
			return hp_fail(m, 400, "absolute-form target without path");
	} else if (str_eq(t, "*") && m->meth == HM_OPTIONS) {
		m->path = t;
	} else if (m->meth == HM_CONNECT) {
		return hp_fail(m, 405, "CONNECT is not supported");
	} else {
		return hp_fail(m, 400, "bad request target");
	}
	if (m->meth == HM_CONNECT)
		return hp_fail(m, 405, "CONNECT is not supported");
	if (m->host.p == NULL) {
		if (m->minor == 1)
			return hp_fail(m, 400, "missing Host header");
	} else if (!hp_host_ok(m->host)) {
		return hp_fail(m, 400, "bad Host");
	}
	return 0;
}

/* A whole response head. 0 or ING_ERR (m->err; the proxy answers 502). */
static int
hp_parse_response(struct hp_msg *m, const char *b, size_t n)
{
	const char *p = b, *end = b + n, *eol, *next;
	m->err_status = 0;
	m->err = NULL;
	m->head_len = n;
	m->method = m->target = m->path = (struct ing_str){NULL, 0};
	if ((next = hp_eol(p, end, &eol)) == NULL)
		return hp_fail(m, 502, "truncated status line");
	if (eol - p < 12 || hp_version(m, p, 8) != 0 || p[8] != ' ' || !isdigit((unsigned char)p[9]) ||
	    !isdigit((unsigned char)p[10]) || !isdigit((unsigned char)p[11]) || (eol - p > 12 && p[12] != ' '))
		return hp_fail(m, 502, "bad status line");
	for (const char *q = p; q < eol; q++) {
		unsigned char ch = (unsigned char)*q;
		if ((ch < 0x20 && ch != '\t') || ch == 0x7f)
			return hp_fail(m, 502, "control byte in status line");
	}
	m->status = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
	m->reason = eol - p > 13 ? (struct ing_str){p + 13, (size_t)(eol - p - 13)} : (struct ing_str){"", 0};
	if (m->status < 100)
		return hp_fail(m, 502, "bad status code");
	if (hp_parse_headers(m, next, end, 502) != 0 || hp_analyze(m, 502) != 0)
		return ING_ERR;
	return 0;
}

static struct ing_str
hp_header(const struct hp_msg *m, const char *lname)
{
	for (int i = 0; i < m->nh; i++)
		if (str_ieq(m->h[i].name, lname))
			return m->h[i].value;
	return (struct ing_str){NULL, 0};
}

/* The value of the first cookie named `name` in m's Cookie headers. */
static struct ing_str
hp_cookie(const struct hp_msg *m, const char *name)
{
	size_t nl = strlen(name);
	for (int i = 0; i < m->nh; i++) {
		if (!str_ieq(m->h[i].name, "cookie"))
			continue;
		struct ing_str v = m->h[i].value;
		for (size_t a = 0; a < v.n;) {
			size_t b = a;
			while (b < v.n && v.p[b] != ';')
				b++;
			struct ing_str kv = str_trim((struct ing_str){v.p + a, b - a});
			a = b + 1;
			if (kv.n > nl && kv.p[nl] == '=' && memcmp(kv.p, name, nl) == 0)
				return (struct ing_str){kv.p + nl + 1, kv.n - nl - 1};
		}
	}
	return (struct ing_str){NULL, 0};
}

/* Body framing. */
enum { HB_NONE, HB_LENGTH, HB_CHUNKED, HB_CLOSE };
enum {
	HC_SIZE0,        /* the first hex digit of a chunk size */
	HC_SIZE,         /* more hex digits */
	HC_EXT,          /* a chunk extension, up to CR */
	HC_SIZE_LF,      /* the LF after the size line's CR */
	HC_DATA,         /* chunk data */
	HC_DATA_CR,      /* the CR after the data */
	HC_DATA_LF,      /* the LF after it */
	HC_TRAILER,      /* after the last chunk: a trailer line, or the final CRLF */
	HC_TRAILER_LINE, /* inside a trailer line */
	HC_TRAILER_LF,   /* the LF ending a trailer line */
	HC_END_LF,       /* the LF of the final CRLF */
};
#define HP_MAX_CHUNK_LINE 4096 /* chunk-size line incl. extensions */

struct hp_body {
	uint8_t mode;  /* HB_* */
	uint8_t cs;    /* HC_* */
	uint8_t done;
	uint8_t last;  /* zero-size chunk seen */
	uint32_t extra; /* bytes of the current size line / of all trailers */
	uint64_t left;  /* LENGTH: body bytes left; CHUNKED: chunk bytes left */
	uint64_t allow; /* a request's payload bytes still allowed + 1 (proxy-body-size), 0 no limit */
	uint8_t over;   /* ... and a chunk went past it: hp_body_step said ING_ERR */
};

static void
hp_body_init(struct hp_body *b, int mode, uint64_t len)
{
	memset(b, 0, sizeof *b);
	b->mode = (uint8_t)mode;
	b->left = len;
	b->done = mode == HB_NONE || (mode == HB_LENGTH && len == 0);
}

/* Advances framing over p[0..n). Returns the bytes consumed (it stops at
 * the end of the body, and after at most one payload span), or ING_ERR on
 * bad chunked framing. The payload span, if any, is p[*doff .. +*dlen). */
static ssize_t
hp_body_step(struct hp_body *b, const char *p, size_t n, size_t *doff, size_t *dlen)
{
	size_t i = 0;
	*doff = *dlen = 0;
	if (b->done)
		return 0;
	switch (b->mode) {
	case HB_NONE:
		b->done = 1;
		return 0;
	case HB_CLOSE:
		*dlen = n;
		return (ssize_t)n;
	case HB_LENGTH: {
		size_t k = (size_t)ING_MIN((uint64_t)n, b->left);
		*dlen = k;
		b->left -= k;
		b->done = b->left == 0;
		return (ssize_t)k;
	}
	}
	while (i < n) {
		unsigned char c = (unsigned char)p[i];
		switch (b->cs) {
		case HC_SIZE0:
		case HC_SIZE: {
			int d = isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
			if (d >= 0) {
				if (b->left >> 58)
					return ING_ERR; /* chunk size overflow */
				b->left = b->left * 16 + (uint64_t)d;
				b->cs = HC_SIZE;
			} else if (b->cs == HC_SIZE && (c == ';' || c == ' ' || c == '\t')) {
				b->cs = HC_EXT;
			} else if (b->cs == HC_SIZE && c == '\r') {
				b->cs = HC_SIZE_LF;
			} else {
				return ING_ERR; /* invalid chunk size */
			}
			break;
		}
		case HC_EXT:
			if (c == '\r')
				b->cs = HC_SIZE_LF;
			else if ((c < 0x20 && c != '\t') || c == 0x7f)
				return ING_ERR;
			break;
		case HC_SIZE_LF:
			if (c != '\n')
				return ING_ERR;
			if (b->left == 0) {
				b->last = 1;
				b->cs = HC_TRAILER;
				b->extra = 0;
			} else if (b->allow != 0 && b->left >= b->allow) {
				b->over = 1; /* before a byte of the chunk goes on */
				return ING_ERR;
			} else {
				b->allow -= b->allow ? b->left : 0;
				b->cs = HC_DATA;
			}
			if (b->cs == HC_DATA) {
				i++;
				goto data;
			}
			break;
		case HC_DATA:
		data : {
			if (i > 0) /* framing consumed: return, payload starts next call */
				return (ssize_t)i;
			size_t k = (size_t)ING_MIN((uint64_t)(n - i), b->left);
			*doff = i;
			*dlen = k;
			b->left -= k;
			if (b->left == 0)
				b->cs = HC_DATA_CR;
			return (ssize_t)(i + k);
		}
		case HC_DATA_CR:
			if (c != '\r')
				return ING_ERR;
			b->cs = HC_DATA_LF;
			break;
		case HC_DATA_LF:
			if (c != '\n')
				return ING_ERR;
			b->cs = HC_SIZE0;
			b->extra = 0;
			break;
		case HC_TRAILER:
			if (c == '\r') {
				b->cs = HC_END_LF;
				break;
			}
			b->cs = HC_TRAILER_LINE;
			/* fall through */
		case HC_TRAILER_LINE:
			if (c == '\r')
				b->cs = HC_TRAILER_LF;
			else if ((c < 0x20 && c != '\t') || c == 0x7f)
				return ING_ERR;
			break;
		case HC_TRAILER_LF:
			if (c != '\n')
				return ING_ERR;
			b->cs = HC_TRAILER;
			break;
		case HC_END_LF:
			if (c != '\n')
				return ING_ERR;
			b->done = 1;
			return (ssize_t)(i + 1);
		}
		if (b->cs != HC_DATA && ++b->extra > (b->last ? ING_MAX_HEADER_BYTES : HP_MAX_CHUNK_LINE))
			return ING_ERR; /* endless size line or trailers */
		i++;
	}
	return (ssize_t)i;
}

/* ===== 4. the heap, buffers and connection slots ============= ar_ bf_ cn_
 * Fixed slot tables for clients, upstreams and API watches (each its own
 * region, so clients can never take the watch's slots). Buffers come from a
 * LIFO pool and are held only while bytes are in flight. A connection is
 * closed by cn_close(c, reason), which marks it; the loop reaps it at the
 * end of the turn, so no handler ever sees a freed slot.
 * Limits: ING_MAX_HEAP_BYTES, ING_MAX_CONNS, _UPSTREAMS, _WATCHES, _BUFS.
 */

/* ---- the heap: ing_alloc, ing_free ----
 * What only the TLS port sizes at run time (certificates, trust anchors,
 * decoded PEM, a peer's certificate) lives in one static arena, first fit
 * with boundary tags: a block is {size | 1 when used, size of the block
 * before} and its bytes, and a freed block merges with free neighbours at
 * once; a free block that reaches the end of the used part is given back
 * to the never-touched rest. No malloc is linked into the static build
 * (musl's malloc, calloc and realloc were 8.4 KB of the aarch64 link). Test
 * builds keep the free bytes and a red zone after each block poisoned for
 * ASan. */
#define AR_HDR 8u
#if defined(__SANITIZE_ADDRESS__)
#define AR_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define AR_ASAN 1
#endif
#endif
#ifdef AR_ASAN
#include <sanitizer/asan_interface.h>
#define AR_RED 8u
#define AR_POISON(p, n) ASAN_POISON_MEMORY_REGION((p), (n))
#define AR_UNPOISON(p, n) ASAN_UNPOISON_MEMORY_REGION((p), (n))
#else
#define AR_RED 0u
#define AR_POISON(p, n) ((void)(p), (void)(n))
#define AR_UNPOISON(p, n) ((void)(p), (void)(n))
#endif
_Static_assert(ING_MAX_HEAP_BYTES % 8 == 0 && ING_MAX_HEAP_BYTES <= 0x7fffffff, "ING_MAX_HEAP_BYTES");

static struct {
	uint32_t top;  /* blocks tile [0, top), the last one used; the rest is untouched */
	uint32_t low;  /* no free block starts below it */
	uint32_t last; /* size of the block ending at top, 0 for none */
	uint32_t used; /* bytes of used blocks, headers included */
	_Alignas(16) unsigned char a[ING_MAX_HEAP_BYTES];
} g_ar;

static uint32_t *
ar_hdr(uint32_t off)
{
	return (uint32_t *)(void *)(g_ar.a + off);
}

void *
ing_alloc(size_t n, const char *what)
{
	uint32_t need, off, sz = 0, *h;
	if (n > ING_MAX_HEAP_BYTES - AR_HDR - AR_RED - 8)
		goto full;
	need = (uint32_t)(n + AR_HDR + AR_RED + 7) & ~7u;
	for (off = g_ar.low; off < g_ar.top; off += sz) { /* first fit */
		uint32_t hd = ar_hdr(off)[0];
		sz = hd & ~1u;
		if (hd & 1) {
			if (off == g_ar.low)
				g_ar.low = off + sz;
		} else if (sz >= need) {
			break;
		}
	}
	h = ar_hdr(off);
	if (off == g_ar.top) { /* none: a new block at the end */
		if (need > ING_MAX_HEAP_BYTES - off)
			goto full;
		AR_UNPOISON(h, AR_HDR);
		h[1] = g_ar.last;
		g_ar.top += need;
		g_ar.last = sz = need;
	} else if (sz - need >= 2 * AR_HDR) { /* the rest stays free (never the last block) */
		uint32_t *r = ar_hdr(off + need);
		AR_UNPOISON(r, AR_HDR);
		r[0] = sz - need;
		r[1] = need;
		ar_hdr(off + sz)[1] = sz - need;
		sz = need;
	}
	h[0] = sz | 1;
	g_ar.used += sz;
	unsigned char *p = g_ar.a + off + AR_HDR;
	AR_POISON(p, sz - AR_HDR);
	AR_UNPOISON(p, n);
	return memset(p, 0, n);
full:
	log_limit(LIM_HEAP_BYTES, what);
	return NULL;
}

void
ing_free(void *p)
{
	if (p == NULL)
		return;
	uint32_t off = (uint32_t)((unsigned char *)p - g_ar.a) - AR_HDR, *h = ar_hdr(off), sz = h[0] & ~1u;
	if (ING_NEVER(!(h[0] & 1))) /* freed twice */
		return;
	g_ar.used -= sz;
	if (off + sz < g_ar.top && !(ar_hdr(off + sz)[0] & 1)) /* the next one is free */
		sz += ar_hdr(off + sz)[0];
	if (h[1] != 0 && !(ar_hdr(off - h[1])[0] & 1)) { /* so is the one before */
		off -= h[1];
		h = ar_hdr(off);
		sz += h[0];
	}
	h[0] = sz;
	if (off + sz == g_ar.top) { /* the end: back to the untouched rest */
		g_ar.top = off;
		g_ar.last = h[1];
	} else {
		ar_hdr(off + sz)[1] = sz;
	}
	if (off < g_ar.low)
		g_ar.low = off;
	AR_POISON(g_ar.a + off + AR_HDR, sz - AR_HDR);
}

struct bf {
	uint32_t r, w; /* live bytes are d[r..w) */
	int next_free;
	char d[ING_BUF_SIZE];
};

static struct {
	struct bf pool[ING_MAX_BUFS];
	int free_head;
	int hwm; /* never-used buffers start here: untouched pages cost no RAM */
	int used;
	struct bf spare; /* lent for one read and what it triggers (bf_lend) */
	int spare_lent;
} g_bf; /* zero-initialized: its megabytes stay in .bss, untouched */

static struct bf *
bf_get(void)
{
	struct bf *b;
	if (g_bf.free_head >= 0) {
		b = &g_bf.pool[g_bf.free_head];
		g_bf.free_head = b->next_free;
	} else if (g_bf.hwm < ING_MAX_BUFS) {
		b = &g_bf.pool[g_bf.hwm++];
	} else {
		log_limit(LIM_BUFS, "bf: I/O buffers");
		return NULL;
	}
	b->r = b->w = 0;
	g_bf.used++;
	return b;
}

static void
bf_put(struct bf **bp)
{
	struct bf *b = *bp;
	*bp = NULL;
	if (b == NULL || b == &g_bf.spare)
		return;
	b->next_free = g_bf.free_head;
	g_bf.free_head = (int)(b - g_bf.pool);
	g_bf.used--;
}

static size_t
bf_len(const struct bf *b)
{
	return b == NULL ? 0 : b->w - b->r;
}

/* The spare buffer as *bp, when *bp is empty and the spare is free: 1 if
 * lent. Bytes read into it that are consumed before bf_unlend() never
 * take a pool buffer. */
static int
bf_lend(struct bf **bp)
{
	if (*bp != NULL || g_bf.spare_lent)
		return 0;
	g_bf.spare_lent = 1;
	g_bf.spare.r = g_bf.spare.w = 0;
	*bp = &g_bf.spare;
	return 1;
}

/* Takes the spare back from *bp; bytes still in it move to a pool buffer
 * when keep is set. 0, or ING_ERR when no pool buffer is left. */
static int
bf_unlend(struct bf **bp, int keep)
{
	struct bf *s = &g_bf.spare;
	g_bf.spare_lent = 0;
	if (*bp != s) /* released meanwhile */
		return 0;
	*bp = NULL;
	if (!keep || bf_len(s) == 0)
		return 0;
	if ((*bp = bf_get()) == NULL)
		return ING_ERR;
	memcpy((*bp)->d, s->d + s->r, bf_len(s));
	(*bp)->w = (uint32_t)bf_len(s);
	return 0;
}

/* Room at the tail, compacting when that makes room. */
static size_t
bf_make_room(struct bf *b)
{
	if (b->r == b->w)
		b->r = b->w = 0;
	if (b->w == ING_BUF_SIZE && b->r > 0) {
		memmove(b->d, b->d + b->r, b->w - b->r);
		b->w -= b->r;
		b->r = 0;
	}
	return ING_BUF_SIZE - b->w;
}

/* Append formatted text; 0, or ING_ERR when it does not fit. */
static int __attribute__((format(printf, 2, 3)))
bf_printf(struct bf *b, const char *fmt, ...)
{
	va_list ap;
	size_t room = bf_make_room(b);
	int n;
	va_start(ap, fmt);
	n = ing_vsnprintf(b->d + b->w, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return ING_ERR;
	b->w += (uint32_t)n;
	return 0;
}

/* Append bytes; 0, or ING_ERR when they do not fit (nothing appended).
 * Heads are built from these, chained with ||, which stops at the first
 * that does not fit. */
static int
bf_append(struct bf *b, const void *p, size_t n)
{
	if (bf_make_room(b) < n)
		return ING_ERR;
	if (n > 0)
		memcpy(b->d + b->w, p, n);
	b->w += (uint32_t)n;
	return 0;
}
#define bf_lit(b, s) bf_append((b), (s), sizeof(s) - 1)

static int
bf_str(struct bf *b, struct ing_str s)
{
	return bf_append(b, s.p, s.n);
}

static int
bf_uint(struct bf *b, uint64_t v)
{
	char t[STR_DEC_LEN], *d = str_dec(v, t + sizeof t);
	return bf_append(b, d, (size_t)(t + sizeof t - d));
}

/* A header line "name: value\r\n" from parsed (validated) slices. */
static int
bf_hdr(struct bf *b, struct ing_str name, struct ing_str value)
{
	size_t n = name.n + value.n + 4;
	if (bf_make_room(b) < n)
		return ING_ERR;
	char *p = b->d + b->w;
	memcpy(p, name.p, name.n);
	p += name.n;
	*p++ = ':';
	*p++ = ' ';
	if (value.n > 0)
		memcpy(p, value.p, value.n);
	p += value.n;
	*p++ = '\r';
	*p = '\n';
	b->w += (uint32_t)n;
	return 0;
}

/* Connection kinds and states. One enum per machine; transient states are
 * marked. cn_set_state() logs every transition at debug level. */
enum cn_kind { CN_NONE, CN_CLIENT, CN_UPSTREAM, CN_WATCH };
enum cn_state {
	CS_FREE,
	/* client */
	CS_IDLE,   /* keep-alive, waiting for a request; holds no buffer */
	CS_HEAD,   /* reading a request head */
	CS_PROXY,  /* request handed to an upstream; the exchange runs */
	CS_LOCAL,  /* writing a response of our own */
	CS_LINGER, /* response sent, write side shut: drain input, then close */
	CS_TUNNEL, /* upgraded (WebSocket): bytes copied both ways */
	CS_AUTH,   /* waiting for its password check (au_run); the head stays in in */
	CS_PPHDR,  /* reading a PROXY protocol header, before TLS and HTTP (pp_) */
	/* upstream */
	US_CONNECT, /* [transient] non-blocking connect in progress */
	US_ACTIVE,  /* carrying an exchange for a client */
	US_POOL,    /* idle in its server's keep-alive pool */
	/* API watch */
	KW_CONNECT,  /* [transient] connect in progress */
	KW_REQUEST,  /* sending the list or watch request */
	KW_RESPONSE, /* reading the status line and headers */
	KW_BODY,     /* reading a list page or the watch stream */
	CS__COUNT
};
static const char *const cn_state_names[CS__COUNT] = {
    "free",  "idle",    "head", "proxy",   "local",   "linger",   "tunnel", "auth", "pp-header",
    "connect", "active", "pool", "kw-connect", "kw-request", "kw-response", "kw-body"};

#define CN_TOTAL (ING_MAX_CONNS + ING_MAX_UPSTREAMS + ING_MAX_WATCHES)
/* The loop's tags (port_ev_set) besides the connection slots 0..CN_TOTAL-1. */
#define CN_TAG_SIG CN_TOTAL
#define CN_TAG_DNS (CN_TOTAL + 1)
#define CN_TAG_LIS (CN_TOTAL + 2) /* + listener index */
_Static_assert(CN_TAG_LIS + ING_MAX_ENTRYPOINTS + 1 == ING_EV_TAGS, "ING_EV_TAGS counts every tag");
#define CN_BACKLOG 511         /* listen(2) backlog, as nginx's default */
#define CN_FD_PAUSE_MS 1000    /* out of descriptors: listeners rest this long */
static int g_mx_admin_big; /* admin answers in mapped memory (mx_) */
#define MX_MAX_BIG 4       /* ... at once: a fifth waits (503) */

struct cn {
	int fd;
	uint32_t id;      /* unique per connection, for logs and peer checks */
	uint8_t kind;     /* enum cn_kind */
	uint8_t state;    /* enum cn_state */
	uint8_t lis;      /* listener index (clients) */
	uint8_t closing;  /* cn_close() was called; reaped at end of turn */
	uint16_t flags;   /* CF_* */
	uint8_t evm;      /* the events its descriptor is registered for (ev_) */
	uint8_t evq;      /* EVQ_*: on the loop's lists; kept by the slot across occupants */
	int act;          /* index in g_cn.active */
	int next, prev;   /* free list; idle-pool links */
	int peer;         /* paired connection (client <-> upstream), -1 none */
	uint32_t peer_id;
	struct tls *tls;
	struct bf *in, *out;
	uint64_t deadline; /* 0 = none */
	uint64_t t_start;  /* accept / request start */
	struct ing_addr addr; /* client: peer address; upstream: server */
	const char *why;      /* close reason */
	size_t scan;          /* head bytes already scanned (slowloris) */
	int ctx;              /* kind-specific index (watch stream) */
	/* an exchange (upstream connect and pump, up_) */
	struct hp_body rx;    /* framing of the body this side sends us */
	uint32_t fwd;         /* bytes at the head of in, framed, not yet sent on */
	uint16_t xflags;      /* XF_* */
	uint32_t tkey;        /* upstream: pool key of its TLS session (up_tls_key), 0 plain */
	uint8_t meth, minor;  /* client: request method, HTTP/1.minor */
	uint8_t retries;
	uint16_t status;      /* client: response status */
	int be;               /* client: balancer slot of the backend */
	int rl[2];            /* client: its limit entries (nginx's, Traefik's max-conn) while in flight, -1 none */
	int pol;              /* client: the route's policy (XF_EDITS): index in the table of generation tgen, */
	uint32_t tgen, pol_key; /* ... and st_hash of its Ingress, should that table be gone (up_pol) */
	uint32_t be_gen;      /* client: that slot's generation at dispatch */
	int16_t srv;          /* client: server index in the backend, -1 none */
	uint8_t req_open;     /* client: a request not yet counted (mx_done) */
	uint64_t bytes;       /* client: response body bytes sent */
	char *big;            /* client: a large admin answer being written */
	struct bf *aux;       /* client: what forward auth adds to the request, NUL, then to the response */
	uint32_t big_len, big_off;
	uint64_t t_req;       /* client: request start */
};

/* flags */
#define CNF_KEEPALIVE 0x0001 /* the current exchange may keep the connection */
#define CNF_WANT_READ 0x0002 /* app wants to read (drives poll) */
#define CNF_WANT_WRITE 0x0004
#define CNF_EOF 0x0008       /* peer closed its write side */
#define CNF_WROTE 0x0010     /* upstream: bytes of this request were sent */
#define CNF_HTTPS 0x0020     /* client came over TLS */
#define CNF_DRAIN 0x0040     /* server is draining: close after this response */
#define CNF_DRAINED 0x0080   /* plain socket read dry: not read again until poll says so */
#define CNF_AGAIN 0x0100     /* yielded with work left: run again next turn, poll not waited on */
#define CNF_RESUME 0x0200    /* client: its head is dispatched again (after CS_AUTH): same log record */
#define CNF_SHUT_LATER 0x0400 /* client lingering: our side is shut once TLS has sent what it holds */
#define CNF_HANDSHAKE 0x0800  /* upstream: connected, its TLS handshake runs (still US_CONNECT) */
#define CNF_SUB 0x1000       /* client: its exchange is the forward-auth request (up_fwd): the head stays in in */
#define CNF_FWD_OK 0x2000    /* client: its head, dispatched again, passed forward auth (cn.aux: what it adds) */
#define CNF_ERRPAGE 0x4000   /* client: its exchange fetches an error page, answered with cn.status (up_errpage) */
#define CNF_KEEPHEAD 0x8000  /* client: the pod's request head stays in u->out until the answer's head (error pages) */

struct lis {
	int fd;
	int ep;      /* entry point index in g_ev.cf->eps, or -1 = admin [web] */
	int paused;  /* not polled: connection table full or draining */
	struct ing_addr addr;
	char name[32];
};

static struct {
	struct cn tab[CN_TOTAL];
	int free_head[4];   /* per kind */
	int hwm[4];
	int base[4], cap[4];
	int used[4];
	int active[CN_TOTAL];
	int nactive;
	int touched[CN_TOTAL]; /* slots whose wishes may have changed this turn (EVQ_TOUCHED) */
	int ntouched;
	int closed[CN_TOTAL];  /* closing, to be freed at the end of the turn */
	int nclosed;
	uint32_t next_id;
	struct lis lis[ING_MAX_ENTRYPOINTS + 1];
	int nlis;
	int lis_paused;      /* all listeners paused (table full or EMFILE) */
	uint64_t lis_resume_at;
	uint64_t accepted, refused;
} g_cn;

static void
cn_init(void)
{
	g_bf.free_head = -1;
	g_cn.base[CN_CLIENT] = 0;
	g_cn.cap[CN_CLIENT] = ING_MAX_CONNS;
	g_cn.base[CN_UPSTREAM] = ING_MAX_CONNS;
	g_cn.cap[CN_UPSTREAM] = ING_MAX_UPSTREAMS;
	g_cn.base[CN_WATCH] = ING_MAX_CONNS + ING_MAX_UPSTREAMS;
	g_cn.cap[CN_WATCH] = ING_MAX_WATCHES;
	for (int k = 0; k < 4; k++)
		g_cn.free_head[k] = -1;
	g_cn.ntouched = g_cn.nclosed = 0;
	tk_reset();
	if (port_ev_init() != 0)
		fatalx("ev: %s: %s", port_ev_name(), ing_strerror(errno));
}

#define EVQ_TOUCHED 1 /* in g_cn.touched */
#define EVQ_AGAIN 2   /* in g_ev.run: served without waiting */

/* c's wishes may have changed: the loop registers them again before it
 * waits. Called for whatever runs or is paired, woken, made or closed,
 * so the loop never asks every connection what it wants. */
static void
cn_touch(struct cn *c)
{
	if (c->evq & EVQ_TOUCHED)
		return;
	c->evq |= EVQ_TOUCHED;
	g_cn.touched[g_cn.ntouched++] = (int)(c - g_cn.tab);
}

/* c's deadline becomes at (0: none), in the loop's heap too. */
static void
cn_deadline(struct cn *c, uint64_t at)
{
	c->deadline = at;
	tk_set((int)(c - g_cn.tab), at);
}

static void
cn_set_state(struct cn *c, enum cn_state s)
{
	if (c->state != s && g.loglevel <= ING_LOG_DEBUG)
		log_debug("cn: conn %u: %s -> %s", c->id, cn_state_names[c->state], cn_state_names[s]);
	c->state = (uint8_t)s;
}

static struct cn *
cn_new(enum cn_kind kind, int fd)
{
	struct cn *c;
	int i;
	if (g_cn.free_head[kind] >= 0) {
		i = g_cn.free_head[kind];
		g_cn.free_head[kind] = g_cn.tab[i].next;
	} else if (g_cn.hwm[kind] < g_cn.cap[kind]) {
		i = g_cn.base[kind] + g_cn.hwm[kind]++;
	} else {
		return NULL;
	}
	c = &g_cn.tab[i];
	uint8_t q = c->evq;
	memset(c, 0, sizeof *c);
	c->evq = q;
	cn_touch(c);
	c->fd = fd;
	c->kind = (uint8_t)kind;
	c->id = ++g_cn.next_id;
	c->peer = -1;
	c->next = c->prev = -1;
	c->ctx = -1;
	c->be = -1;
	c->srv = -1;
	c->rl[0] = c->rl[1] = -1;
	c->act = g_cn.nactive;
	g_cn.active[g_cn.nactive++] = i;
	g_cn.used[kind]++;
	return c;
}

static int
cn_index(const struct cn *c)
{
	return (int)(c - g_cn.tab);
}

static struct cn *
cn_peer(struct cn *c)
{
	struct cn *p;
	if (c->peer < 0)
		return NULL;
	p = &g_cn.tab[c->peer];
	return p->id == c->peer_id && p->kind != CN_NONE ? p : NULL;
}

static void
cn_pair(struct cn *a, struct cn *b)
{
	a->peer = cn_index(b);
	a->peer_id = b->id;
	b->peer = cn_index(a);
	b->peer_id = a->id;
	cn_touch(a);
	cn_touch(b);
}

static void
cn_unpair(struct cn *c)
{
	struct cn *p = cn_peer(c);
	if (p != NULL) {
		p->peer = -1;
		cn_touch(p);
	}
	c->peer = -1;
	cn_touch(c);
}

/* Why ingressd answered a client itself, or cut a client connection: a
 * fixed list, so /metrics labels stay bounded (rs_note counts, logs and
 * puts it in the access log). Normal ends - a client done, an idle
 * keep-alive timing out - have none. */
#define RSN_LIST(X)                                                                                     \
	X(BAD_REQUEST, "bad_request") X(HEAD_TOO_LARGE, "head_too_large") X(CLIENT_TIMEOUT, "client_timeout") \
	X(CLIENT_CLOSED, "client_closed") X(TLS, "tls") X(NO_ROUTE, "no_route")                              \
	X(EP_WHITELIST, "entrypoint_whitelist") X(WHITELIST, "whitelist") X(AUTH, "auth")                    \
	X(AUTH_BUSY, "auth_busy") X(NO_SERVER, "no_server") X(BREAKER, "breaker_open")                       \
	X(NO_SLOT, "no_slot") X(UPSTREAM_CONNECT, "upstream_connect") X(UPSTREAM_TIMEOUT, "upstream_timeout") \
	X(UPSTREAM_ERROR, "upstream_error") X(UPSTREAM_TLS, "upstream_tls") X(BACKEND_PROTOCOL, "backend_protocol") \
	X(ROUTE_CONFIG, "route_config") X(BAD_HOST, "allowed_hosts") X(BODY_TOO_LARGE, "body_too_large") \
	X(RATE_LIMIT, "rate_limit") X(CONN_LIMIT, "conn_limit") X(CORS, "cors_preflight") X(REDIRECT, "redirect") \
	X(ADMIN, "admin") X(FWD_DENIED, "forward_auth_denied") X(FWD_ERROR, "forward_auth_error")
enum rsn {
	RSN_NONE,
#define X(n, s) RSN_##n,
	RSN_LIST(X)
#undef X
	RSN__COUNT
};
static const char *const rsn_names[RSN__COUNT] = {
    "-",
#define X(n, s) s,
    RSN_LIST(X)
#undef X
};
struct cn;
static void rs_note(struct cn *c, enum rsn r, int status, const char *why); /* responses of our own (rs_) */
static void rs_abort(struct cn *c, enum rsn r, const char *why);
static void rs_answer(struct cn *c, int status, enum rsn r, const char *why, const char *headers, const char *body,
                      size_t blen);
static void rs_answer_as(struct cn *c, int status, enum rsn r, const char *why, const char *ctype, const char *headers,
                         const char *body, size_t blen);
static const char *rs_reason(int status);
static void rs_godur(uint64_t ms, char *b, size_t cap);
static void rs_location(struct cn *c, int code, const char *url, size_t n);

/* The one teardown path: marks the slot; the loop reaps it (ev_reap). */
static void
cn_close(struct cn *c, const char *why)
{
	if (c->closing)
		return;
	c->closing = 1;
	c->why = why;
	g_cn.closed[g_cn.nclosed++] = cn_index(c);
	log_debug("cn: conn %u: close: %s", c->id, why);
}

static void cn_release(struct cn *c); /* kind-specific cleanup, in the event loop section (ev_) */

static void
cn_free(struct cn *c)
{
	int i = cn_index(c);
	int kind = c->kind;
	cn_release(c);
	if (c->tls != NULL)
		tls_free(c->tls);
	tk_set(i, 0);
	if (c->evm != 0 && port_ev_set(c->fd, i, c->evm, 0) != 0)
		log_warn("ev: conn %u: unregister", c->id);
	c->evm = 0;
	if (c->fd >= 0)
		port_close(c->fd);
	bf_put(&c->in);
	bf_put(&c->out);
	bf_put(&c->aux);
	if (c->big != NULL) {
		port_unmap(c->big, ING_MAX_ADMIN_BYTES);
		c->big = NULL;
		g_mx_admin_big--;
	}
	/* swap-remove from the active list */
	int last = g_cn.active[--g_cn.nactive];
	g_cn.active[c->act] = last;
	g_cn.tab[last].act = c->act;
	c->kind = CN_NONE;
	c->state = CS_FREE;
	c->next = g_cn.free_head[kind];
	g_cn.free_head[kind] = i;
	g_cn.used[kind]--;
}

/* Socket I/O through TLS when the connection has it. */
static ssize_t
cn_read(struct cn *c, void *p, size_t n)
{
	return c->tls != NULL ? tls_read(c->tls, p, n) : port_read(c->fd, p, n);
}

static ssize_t
cn_write(struct cn *c, const void *p, size_t n)
{
	return c->tls != NULL ? tls_write(c->tls, p, n) : port_write(c->fd, p, n);
}

/* Read what fits into c->in. Returns bytes (> 0), 0 at EOF, ING_WAIT,
 * ING_ERR; a missing buffer is taken from the pool first. A plain socket
 * (not a watch's) that came up short, EAGAIN or fewer bytes than asked
 * for, is not read again until poll() reports it (CNF_DRAINED): the read
 * would find nothing (nginx's rev->ready). */
static ssize_t
cn_fill(struct cn *c)
{
	ssize_t r;
	size_t room;
	if (c->flags & CNF_DRAINED)
		return ING_WAIT;
	if (c->in == NULL && (c->in = bf_get()) == NULL)
		return ING_WAIT;
	room = bf_make_room(c->in);
	if (room == 0)
		return ING_WAIT;
	r = cn_read(c, c->in->d + c->in->w, room);
	if (r > 0)
		c->in->w += (uint32_t)r;
	else if (r == 0)
		c->flags |= CNF_EOF;
	if ((r == ING_WAIT || (r > 0 && (size_t)r < room)) && c->tls == NULL && c->kind != CN_WATCH)
		c->flags |= CNF_DRAINED;
	return r;
}

/* Write out as much of c->out as the socket takes. Returns 1 when all is
 * written (the buffer stays, emptied), 0 when some remains, ING_ERR. */
static int
cn_write_out(struct cn *c)
{
	while (bf_len(c->out) > 0) {
		ssize_t r = cn_write(c, c->out->d + c->out->r, bf_len(c->out));
		if (r == ING_WAIT)
			return 0;
		if (r < 0)
			return ING_ERR;
		c->out->r += (uint32_t)r;
	}
	return 1;
}

/* cn_write_out, releasing the buffer once it is all written. */
static int
cn_flush(struct cn *c)
{
	int r = cn_write_out(c);
	if (r == 1)
		bf_put(&c->out);
	return r;
}

/* Poll events this connection needs now. */
static int
cn_events(struct cn *c)
{
	int app = 0;
	if (c->flags & CNF_WANT_READ)
		app |= POLLIN;
	if ((c->flags & CNF_WANT_WRITE) || bf_len(c->out) > 0 || c->state == US_CONNECT || c->state == KW_CONNECT)
		app |= POLLOUT;
	if (c->state == US_CONNECT && (c->flags & CNF_HANDSHAKE))
		return tls_want(c->tls, 0);
	if (c->tls != NULL && c->state != US_CONNECT && c->state != KW_CONNECT)
		return tls_want(c->tls, app);
	return app;
}

/* ===== 5. object store ================================================ st_
 * The decoded API objects, in fixed arrays: Ingresses with their paths,
 * TLS hosts and whitelist entries; Services; EndpointSlices (or Endpoints,
 * whose subsets become one record); and only the Secrets an Ingress
 * references. Sub-records come from pools, chained by index. A change is
 * decoded into the spare record first and committed only when whole: an
 * object that is malformed or over a limit leaves its previous version.
 * In: js_ decoders. Out: rb_ (routing build). Limits: ING_MAX_INGRESSES,
 * _INGRESS_PATHS, _TLS_HOSTS, _STORE_CIDRS, _SERVICES, _SVC_PORTS,
 * _ENDPOINTS, _ENDPOINT_ADDRS, _SECRETS, _SECRET_BYTES.
 */
enum st_kind { SK_INGRESS, SK_SERVICE, SK_ENDPOINTS, SK_SECRET, SK__COUNT };
static const char *const st_kind_names[SK__COUNT] = {"ingress", "service", "endpoints", "secret"};

/* Every record starts with this header, so index and pool code is shared. */
struct st_hdr {
	int next;        /* pool free list / sub-record chain */
	uint8_t used;
	uint8_t mark;    /* relist generation */
	uint32_t gen;    /* bumped at every change (rb_ logs once per gen) */
	uint32_t logged, logged_conflict; /* gen whose problems rb_ logged */
	char ns[ING_NS_LEN];
	char name[ING_NAME_LEN];
};

enum { PT_IMPL, PT_EXACT, PT_PREFIX }; /* v1 pathType; v1beta1 = IMPL */

struct st_backend {
	char svc[ING_NS_LEN];             /* Service name (DNS label) */
	char port_name[ING_PORTNAME_LEN]; /* "" when by number */
	uint16_t port;                    /* 0 when by name */
};

struct st_path { /* one Ingress rule host x path */
	int next;
	uint8_t path_type;
	char host[ING_NAME_LEN];
	char path[ING_PATH_LEN];
	struct st_backend be;
};

struct st_tlshost { /* spec.tls[i].hosts[j] with its secretName */
	int next;
	char host[ING_NAME_LEN];
	char secret[ING_NAME_LEN];
};

struct st_cidr {
	int next;
	uint8_t family; /* 4 or 6 */
	uint8_t bits;   /* prefix length; 32/128 for a bare address */
	uint8_t ip[16]; /* host bits cleared */
};

/* Annotation values are kept raw (bounded) and interpreted by rb_, which
 * logs a bad one with the object's name. `rank` remembers which spelling
 * set a value: ingress.kubernetes.io/ beats traefik.ingress.kubernetes.io/
 * beats the legacy traefik.frontend/backend label (Traefik 1.6+ order). */
enum {
	IA_CLASS, IA_RULE_TYPE, IA_PRIORITY, IA_WHITELIST, IA_AUTH_TYPE, IA_AUTH_SECRET, IA_AUTH_REALM,
	IA_AUTH_REMOVE, IA_AUTH_HEADER_FIELD, IA_PRESERVE_HOST, IA_SSL_REDIRECT, IA_ENTRY_POINTS,
	/* ingress-nginx's names, with nginx's meaning (nginx.ingress.kubernetes.io/ only) */
	IA_NGX_WHITELIST, IA_NGX_DENYLIST, IA_NGX_AUTH_TYPE, IA_NGX_AUTH_SECRET, IA_NGX_AUTH_SECRET_TYPE,
	IA_NGX_AUTH_REALM, IA_PASS_CERT, IA_NGX_LIMIT_WL,
	/* the rest, rarely set, kept together in one st_blob (js_blob) so an
	 * Ingress without them carries none of their bytes; read by rb_anns */
	IA_PROTOCOL, IA_NGX_BACKEND_PROTOCOL, IA_NGX_SSL_VERIFY, IA_NGX_SSL_NAME, IA_WL_XFF, IA_NGX_BODY_SIZE,
	IA_NGX_LIMIT_RPS, IA_NGX_LIMIT_RPM, IA_NGX_LIMIT_BURST, IA_NGX_LIMIT_CONNS, IA_RATE_LIMIT,
	IA_REWRITE, IA_REQ_MOD, IA_APP_ROOT, IA_REDIR_EP, IA_REDIR_PERM, IA_REDIR_REGEX, IA_REDIR_REPL,
	IA_NGX_REWRITE, IA_NGX_USE_REGEX, IA_NGX_APP_ROOT, IA_NGX_PERM, IA_NGX_PERM_CODE, IA_NGX_TEMP,
	IA_NGX_TEMP_CODE, IA_NGX_XFP, IA_NGX_WWW, IA_NGX_ALIAS,
	IA_SVC_WEIGHTS, IA_NGX_CANARY, IA_NGX_CANARY_WEIGHT, IA_NGX_CANARY_TOTAL, IA_NGX_CANARY_HDR,
	IA_NGX_CANARY_HDR_VAL, IA_NGX_CANARY_HDR_RX, IA_NGX_CANARY_COOKIE,
	IA_AUTH_URL, IA_AUTH_TRUST, IA_AUTH_RESP_HDRS, IA_AUTH_TLS_SECRET, IA_AUTH_TLS_INSECURE, IA_NGX_AUTH_URL,
	IA_NGX_AUTH_SIGNIN, IA_NGX_AUTH_METHOD, IA_NGX_AUTH_RESP_HDRS, IA_NGX_AUTH_REDIRECT,
	IA_ERROR_PAGES, IA_NGX_CUSTOM_ERRORS, IA_NGX_DEFAULT_BACKEND,
	IA_H_REQ, IA_H_RESP, IA_H_SSL_PROXY, IA_H_HSTS, IA_H_HSTS_SUB, IA_H_HSTS_PRELOAD, IA_H_FORCE_HSTS,
	IA_H_FRAME_DENY, IA_H_FRAME_VALUE, IA_H_NOSNIFF, IA_H_XSS, IA_H_XSS_VALUE, IA_H_CSP, IA_H_REFERRER,
	IA_H_PUBLIC_KEY, IA_H_DEV, IA_H_SSL_TEMP, IA_H_SSL_HOST, IA_H_SSL_FORCE_HOST, IA_H_ALLOWED_HOSTS,
	IA_H_PROXY_HEADERS, IA_H_CORS, IA_H_CORS_ORIGIN, IA_H_CORS_METHODS, IA_H_CORS_HEADERS, IA_H_CORS_EXPOSE,
	IA_H_CORS_CREDS, IA_H_CORS_MAX_AGE,
	IA__COUNT
};
#define IA_B_FIRST IA_PROTOCOL /* the blob's */
#define IA_B_LAST IA_H_CORS_MAX_AGE
/* A source-range annotation: entries in the store's cidr pool. */
struct st_ranges {
	int first, n;     /* chain of st_cidr */
	uint8_t set;      /* the annotation is there */
	uint8_t invalid;  /* an entry did not parse */
	char bad[48];     /* the first bad entry, for the log */
};
/* A rare text kept with an object (the annotations it has that ingressd
 * does not implement, what was wrong in pass-client-tls-cert, an
 * ExternalName): in a pool, so the objects without one do not carry its
 * bytes. */
#define ST_UNSUP_LEN 192
struct st_note {
	int next;
	char text[ING_NAME_LEN];
};
struct st_ing {
	struct st_hdr h;
	int64_t created; /* creationTimestamp, unix seconds */
	char rv[32];     /* resourceVersion: the status writer's precondition */
	uint32_t lb_hash; /* of status.loadBalancer.ingress as js_lb writes it */
	char class_name[ING_NS_LEN];  /* spec.ingressClassName */
	uint8_t class_ann;            /* kubernetes.io/ingress.class is there */
	char a_class[ING_NS_LEN];
	char a_rule_type[24];
	char a_priority[16];
	char a_auth_type[16];
	char a_auth_secret[ING_NS_LEN + ING_NAME_LEN]; /* nginx's may be namespace/name */
	char a_auth_secret_type[16];
	char a_auth_realm[64];
	char a_auth_remove[8];
	char a_auth_header[64];
	uint8_t auth_nginx;    /* the auth annotations are nginx's (2: and Traefik's too: a conflict) */
	char auth_other[64];   /* an nginx auth-* annotation ingressd does not implement */
	int unsup;            /* st_note: "a, b, ..." annotations not implemented (cut: ends "..."), or -1 */
	uint8_t nunsup;
	char a_preserve_host[8];
	char a_ssl_redirect[8];
	char a_entry_points[128];
	uint32_t pass_cert;       /* pass-client-tls-cert: PC_* and ING_CI_* bits */
	int pc_note;              /* st_note: what in its YAML was wrong or skipped, or -1 */
	int hdrs;                 /* st_blob: the annotations IA_B_FIRST..IA_B_LAST, or -1 */
	uint8_t hdrs_over;        /* ... over ING_MAX_HEADER_ANN_BYTES or the note pool: not kept */
	uint8_t has_default;
	struct st_backend def; /* spec.defaultBackend / spec.backend */
	int paths, npaths;     /* chain of st_path */
	int tls, ntls;         /* chain of st_tlshost */
	struct st_ranges wl, wl_ngx, deny; /* whitelist-source-range (Traefik's, nginx's), denylist */
	struct st_ranges lim_wl;           /* nginx's limit-whitelist */
};

enum { SA_LB_METHOD, SA_STICKY, SA_STICKINESS, SA_COOKIE, SA_BREAKER, SA_MAXCONN, SA_MAXCONN_FN, SA_BUFFERING, SA__COUNT };
struct st_svc_port {
	char name[ING_PORTNAME_LEN];
	uint16_t port;
};
struct st_svc {
	struct st_hdr h;
	uint8_t external;                 /* type: ExternalName */
	int external_name;                /* st_note: spec.externalName */
	int nports;
	struct st_svc_port ports[ING_MAX_SVC_PORTS];
	char a_lb_method[16];
	char a_sticky[8];      /* legacy traefik.backend.loadbalancer.sticky */
	char a_stickiness[8];  /* ...stickiness / ingress.kubernetes.io/affinity */
	char a_cookie[64];
	char a_breaker[256];
	int rare;              /* st_blob: SA_MAXCONN..SA_BUFFERING (js_blob), or -1 */
	int unsup; /* as in st_ing */
	uint8_t nunsup;
};

struct st_addr {
	int next;
	uint8_t family, ready, subset;
	uint8_t ip[16];
};
struct st_eps_port {
	char name[ING_PORTNAME_LEN];
	uint16_t port;
	uint8_t subset; /* core Endpoints: which subset; slices: 0 */
};
struct st_eps {
	struct st_hdr h;
	char svc[ING_NS_LEN]; /* kubernetes.io/service-name, or the Endpoints name */
	uint8_t core;         /* from core/v1 Endpoints */
	int nports;
	struct st_eps_port ports[ING_MAX_SVC_PORTS];
	int addrs, naddrs; /* chain of st_addr */
};

struct st_secret {
	struct st_hdr h;
	const char *bad; /* why its latest version could not be read (static text); no data then */
	char type[64];
	int nkeys; /* data keys in the object (may exceed what is kept) */
	struct {
		char name[128];
		uint32_t off, len;
	} key[ING_MAX_SECRET_KEYS];
	uint32_t used_bytes;
	unsigned char data[ING_MAX_SECRET_BYTES];
};

/* Pools and indexes. */
struct st_pool {
	char *base;
	size_t size;
	size_t clear; /* bytes st_alloc zeroes: all, but a Secret's header only */
	int cap;
	int free_head, hwm, used;
	enum lim_id lim;
};

#define ST_HASH_SLOTS(n) (2 * (n))
#define ST_MAX_REFS (ING_MAX_INGRESSES + ING_MAX_TLS_HOSTS) /* Secrets named: auth + TLS */
static struct {
	struct st_ing ing[ING_MAX_INGRESSES + 1]; /* +1: the spare being decoded */
	struct st_svc svc[ING_MAX_SERVICES + 1];
	struct st_eps eps[ING_MAX_ENDPOINTS + 1];
	struct st_secret sec[ING_MAX_SECRETS + 1];
	struct st_path path[ING_MAX_INGRESS_PATHS];
	struct st_tlshost tlsh[ING_MAX_TLS_HOSTS];
	struct st_cidr cidr[ING_MAX_STORE_CIDRS];
	struct st_note note[ING_MAX_NOTES];
	struct st_addr addr[ING_MAX_ENDPOINT_ADDRS];
	int idx_ing[ST_HASH_SLOTS(ING_MAX_INGRESSES)]; /* record index + 1; 0 empty */
	int idx_svc[ST_HASH_SLOTS(ING_MAX_SERVICES)];
	int idx_eps[ST_HASH_SLOTS(ING_MAX_ENDPOINTS)];
	int idx_sec[ST_HASH_SLOTS(ING_MAX_SECRETS)];
	struct st_pool pool[SK__COUNT];   /* records by kind */
	struct st_pool p_path, p_tlsh, p_cidr, p_addr, p_note;
	uint64_t changes;                 /* bumped on every committed change */
	uint64_t ing_changes;             /* the same, Ingresses only */
	struct {
		const char *ns, *name;        /* into the Ingress records: valid until they change */
	} ref[ST_MAX_REFS];               /* the Secrets in use (st_refs) */
	int ridx[ST_HASH_SLOTS(ST_MAX_REFS)]; /* ref index + 1; 0 empty */
	int nref, ref_tls;
	uint64_t ref_at;                  /* ing_changes + 1 when ref was built; 0 never */
	uint64_t rejected[SK__COUNT];     /* malformed or over a limit */
	int count[SK__COUNT];
} g_st;

static void
st_pool_init(struct st_pool *p, void *base, size_t size, int cap, enum lim_id lim)
{
	p->base = base;
	p->size = p->clear = size;
	p->cap = cap;
	p->free_head = -1;
	p->hwm = p->used = 0;
	p->lim = lim;
}

static void *
st_at(const struct st_pool *p, int i)
{
	return p->base + (size_t)i * p->size;
}

/* An entry (zeroed), or -1 when the pool is full (limit logged). */
static int
st_alloc(struct st_pool *p, const char *what)
{
	int i;
	if (p->free_head >= 0) {
		i = p->free_head;
		p->free_head = *(int *)st_at(p, i);
	} else if (p->hwm < p->cap) {
		i = p->hwm++;
	} else {
		log_limit(p->lim, what);
		return -1;
	}
	memset(st_at(p, i), 0, p->clear);
	*(int *)st_at(p, i) = -1;
	p->used++;
	return i;
}

static void
st_free(struct st_pool *p, int i)
{
	*(int *)st_at(p, i) = p->free_head;
	p->free_head = i;
	p->used--;
}

/* Keeps a text in a note: its index, or -1 (empty, or the pool is full:
 * logged and counted, and the text is lost). */
static int
st_note_new(const char *text)
{
	int i = text[0] ? st_alloc(&g_st.p_note, "st: texts kept with objects") : -1;
	if (i >= 0)
		ing_snprintf(g_st.note[i].text, sizeof g_st.note[i].text, "%s", text);
	return i;
}

static const char *
st_note(int i)
{
	return i >= 0 ? g_st.note[i].text : "";
}

/* Frees a chain of sub-records. */
static void
st_free_chain(struct st_pool *p, int head)
{
	while (head >= 0) {
		int next = *(int *)st_at(p, head);
		st_free(p, head);
		head = next;
	}
}

/* Bytes of any length (1 to ING_MAX_HEADER_ANN_BYTES) as a chain of
 * notes, the length in the first two bytes: its head, or -1 with nothing
 * kept when the pool ran out (logged). */
#define ST_BLOB_NODE ((int)sizeof g_st.note[0].text)
static int
st_blob_new(const char *p, size_t n)
{
	int head = -1, *link = &head;
	for (size_t off = 0; off < n + 2;) {
		int i = st_alloc(&g_st.p_note, "st: texts kept with objects");
		if (i < 0) {
			st_free_chain(&g_st.p_note, head);
			return -1;
		}
		*link = i;
		link = &g_st.note[i].next;
		char *d = g_st.note[i].text;
		size_t k = 0;
		if (off == 0) {
			d[0] = (char)(n >> 8);
			d[1] = (char)n;
			k = 2;
		}
		size_t take = ING_MIN(n + 2 - off, (size_t)ST_BLOB_NODE) - k;
		memcpy(d + k, p + (off ? off - 2 : 0), take);
		off += k + take;
	}
	return head;
}

/* A blob's bytes into out (cap >= ING_MAX_HEADER_ANN_BYTES): its length. */
static size_t
st_blob(int head, char *out, size_t cap)
{
	if (head < 0)
		return 0;
	const unsigned char *d = (const unsigned char *)g_st.note[head].text;
	size_t n = ING_MIN((size_t)d[0] << 8 | d[1], cap), o = 0;
	for (int i = head, k = 2; i >= 0 && o < n; i = g_st.note[i].next, k = 0) {
		size_t take = ING_MIN(n - o, (size_t)ST_BLOB_NODE - (size_t)k);
		memcpy(out + o, g_st.note[i].text + k, take);
		o += take;
	}
	return o;
}

static void
st_init(void)
{
	memset(&g_st.pool, 0, sizeof g_st.pool);
	st_pool_init(&g_st.pool[SK_INGRESS], g_st.ing, sizeof g_st.ing[0], ING_MAX_INGRESSES, LIM_INGRESSES);
	st_pool_init(&g_st.pool[SK_SERVICE], g_st.svc, sizeof g_st.svc[0], ING_MAX_SERVICES, LIM_SERVICES);
	st_pool_init(&g_st.pool[SK_ENDPOINTS], g_st.eps, sizeof g_st.eps[0], ING_MAX_ENDPOINTS, LIM_ENDPOINTS);
	st_pool_init(&g_st.pool[SK_SECRET], g_st.sec, sizeof g_st.sec[0], ING_MAX_SECRETS, LIM_SECRETS);
	g_st.pool[SK_SECRET].clear = offsetof(struct st_secret, data); /* zero until used, wiped when freed */
	st_pool_init(&g_st.p_path, g_st.path, sizeof g_st.path[0], ING_MAX_INGRESS_PATHS, LIM_INGRESS_PATHS);
	st_pool_init(&g_st.p_tlsh, g_st.tlsh, sizeof g_st.tlsh[0], ING_MAX_TLS_HOSTS, LIM_TLS_HOSTS);
	st_pool_init(&g_st.p_note, g_st.note, sizeof g_st.note[0], ING_MAX_NOTES, LIM_NOTES);
	st_pool_init(&g_st.p_cidr, g_st.cidr, sizeof g_st.cidr[0], ING_MAX_STORE_CIDRS, LIM_STORE_CIDRS);
	st_pool_init(&g_st.p_addr, g_st.addr, sizeof g_st.addr[0], ING_MAX_ENDPOINT_ADDRS, LIM_ENDPOINT_ADDRS);
	memset(g_st.idx_ing, 0, sizeof g_st.idx_ing);
	memset(g_st.idx_svc, 0, sizeof g_st.idx_svc);
	memset(g_st.idx_eps, 0, sizeof g_st.idx_eps);
	memset(g_st.idx_sec, 0, sizeof g_st.idx_sec);
	memset(g_st.count, 0, sizeof g_st.count);
	g_st.ref_at = 0;
}

/* The spare record of a kind: decoders fill it, st_commit stores it. */
static void *
st_spare(enum st_kind k)
{
	switch (k) {
	case SK_INGRESS: return &g_st.ing[ING_MAX_INGRESSES];
	case SK_SERVICE: return &g_st.svc[ING_MAX_SERVICES];
	case SK_ENDPOINTS: return &g_st.eps[ING_MAX_ENDPOINTS];
	default: return &g_st.sec[ING_MAX_SECRETS];
	}
}

static int *
st_index_of(enum st_kind k, int *nslots)
{
	switch (k) {
	case SK_INGRESS: *nslots = ST_HASH_SLOTS(ING_MAX_INGRESSES); return g_st.idx_ing;
	case SK_SERVICE: *nslots = ST_HASH_SLOTS(ING_MAX_SERVICES); return g_st.idx_svc;
	case SK_ENDPOINTS: *nslots = ST_HASH_SLOTS(ING_MAX_ENDPOINTS); return g_st.idx_eps;
	default: *nslots = ST_HASH_SLOTS(ING_MAX_SECRETS); return g_st.idx_sec;
	}
}

static uint32_t
st_hash(const char *ns, const char *name)
{
	return str_fnv_z(str_fnv(str_fnv_z(FNV_SEED, ns), "/", 1), name);
}

/* Slot of ns/name in the kind's index: its record is idx[slot]-1, or the
 * slot is empty (0) and is where it would go. Linear probing. */
static int
st_slot(enum st_kind k, const char *ns, const char *name)
{
	int n;
	int *idx = st_index_of(k, &n);
	for (int s = (int)(st_hash(ns, name) % (uint32_t)n);; s = (s + 1) % n) {
		if (idx[s] == 0)
			return s;
		struct st_hdr *h = st_at(&g_st.pool[k], idx[s] - 1);
		if (strcmp(h->ns, ns) == 0 && strcmp(h->name, name) == 0)
			return s;
	}
}

static void *
st_find(enum st_kind k, const char *ns, const char *name)
{
	int n;
	int *idx = st_index_of(k, &n);
	int s = st_slot(k, ns, name);
	return idx[s] ? st_at(&g_st.pool[k], idx[s] - 1) : NULL;
}

/* Removes slot s, shifting the probe chain back (no tombstones). */
static void
st_unindex(enum st_kind k, int s)
{
	int n;
	int *idx = st_index_of(k, &n);
	idx[s] = 0;
	for (int j = (s + 1) % n; idx[j] != 0; j = (j + 1) % n) {
		struct st_hdr *h = st_at(&g_st.pool[k], idx[j] - 1);
		int home = (int)(st_hash(h->ns, h->name) % (uint32_t)n);
		/* move j back to s when its home is not in (s, j] cyclically */
		if ((j > s && (home <= s || home > j)) || (j < s && home <= s && home > j)) {
			idx[s] = idx[j];
			idx[j] = 0;
			s = j;
		}
	}
}

/* Bytes of a record that hold anything: a Secret's 16 KB data buffer only
 * up to used_bytes, so a stored Secret costs its size, not the maximum
 * (the rest stays zero: st_begin, st_commit and st_delete wipe what they
 * drop, and a failed au_b64_decode what it wrote). */
static size_t
st_len(enum st_kind k, const void *rec)
{
	if (k == SK_SECRET)
		return offsetof(struct st_secret, data) + ((const struct st_secret *)rec)->used_bytes;
	return g_st.pool[k].size;
}

static void
st_free_subs(enum st_kind k, void *rec)
{
	if (k == SK_INGRESS) {
		struct st_ing *r = rec;
		st_free_chain(&g_st.p_path, r->paths);
		st_free_chain(&g_st.p_tlsh, r->tls);
		st_free_chain(&g_st.p_cidr, r->wl.first);
		st_free_chain(&g_st.p_cidr, r->wl_ngx.first);
		st_free_chain(&g_st.p_cidr, r->deny.first);
		st_free_chain(&g_st.p_cidr, r->lim_wl.first);
		st_free_chain(&g_st.p_note, r->unsup);
		st_free_chain(&g_st.p_note, r->pc_note);
		st_free_chain(&g_st.p_note, r->hdrs);
		r->paths = r->tls = r->wl.first = r->wl_ngx.first = r->deny.first = r->unsup = r->pc_note = r->hdrs =
		    r->lim_wl.first = -1;
	} else if (k == SK_SERVICE) {
		struct st_svc *r = rec;
		st_free_chain(&g_st.p_note, r->unsup);
		st_free_chain(&g_st.p_note, r->external_name);
		st_free_chain(&g_st.p_note, r->rare);
		r->unsup = r->external_name = r->rare = -1;
	} else if (k == SK_ENDPOINTS) {
		struct st_eps *r = rec;
		st_free_chain(&g_st.p_addr, r->addrs);
		r->addrs = -1;
	}
}

/* Resets the spare before a decode. */
static void *
st_begin(enum st_kind k)
{
	void *r = st_spare(k);
	memset(r, 0, st_len(k, r));
	if (k == SK_INGRESS) {
		struct st_ing *i = r;
		i->paths = i->tls = i->wl.first = i->wl_ngx.first = i->deny.first = i->unsup = i->pc_note = i->hdrs =
		    i->lim_wl.first = -1;
	} else if (k == SK_SERVICE) {
		struct st_svc *s = r;
		s->unsup = s->external_name = s->rare = -1;
	} else if (k == SK_ENDPOINTS) {
		((struct st_eps *)r)->addrs = -1;
	}
	return r;
}

/* A decode failed: give back what the spare took. */
static void
st_abort(enum st_kind k)
{
	st_free_subs(k, st_spare(k));
}

/* Stores the spare as ns/name (replacing the previous version). 0, or
 * ING_ERR when the table is full (the spare's sub-records are freed and
 * any previous version stays). */
static int
st_commit(enum st_kind k, uint8_t mark)
{
	struct st_hdr *spare = st_spare(k), *dst;
	int n, *idx = st_index_of(k, &n);
	int s = st_slot(k, spare->ns, spare->name);
	int i;
	if (idx[s] != 0) {
		i = idx[s] - 1;
		dst = st_at(&g_st.pool[k], i);
		st_free_subs(k, dst);
		spare->gen = dst->gen + 1;
		memset(dst, 0, st_len(k, dst));
	} else {
		char what[ING_NS_LEN + ING_NAME_LEN + 32];
		ing_snprintf(what, sizeof what, "st: %s %s/%s", st_kind_names[k], spare->ns, spare->name);
		if ((i = st_alloc(&g_st.pool[k], what)) < 0) {
			st_abort(k);
			g_st.rejected[k]++;
			return ING_ERR;
		}
		idx[s] = i + 1;
		dst = st_at(&g_st.pool[k], i);
		spare->gen = 1;
		g_st.count[k]++;
	}
	memcpy(dst, spare, st_len(k, spare));
	dst->used = 1;
	dst->mark = mark;
	dst->next = -1;
	g_st.changes++;
	g_st.ing_changes += k == SK_INGRESS;
	return 0;
}

/* Deletes ns/name; 1 when it was there. */
static int
st_delete(enum st_kind k, const char *ns, const char *name)
{
	int n, *idx = st_index_of(k, &n);
	int s = st_slot(k, ns, name);
	if (idx[s] == 0)
		return 0;
	int i = idx[s] - 1;
	struct st_hdr *h = st_at(&g_st.pool[k], i);
	st_free_subs(k, h);
	memset(h, 0, st_len(k, h)); /* also wipes a Secret's data */
	st_unindex(k, s);
	st_free(&g_st.pool[k], i);
	g_st.count[k]--;
	g_st.changes++;
	g_st.ing_changes += k == SK_INGRESS;
	return 1;
}

/* After a full relist of kind k in namespace ns ("" = all): objects the
 * list did not carry were deleted while we were not watching. */
static int
st_sweep(enum st_kind k, const char *ns, uint8_t mark)
{
	int removed = 0;
	struct st_pool *p = &g_st.pool[k];
	for (int i = 0; i < p->hwm; i++) {
		struct st_hdr *h = st_at(p, i);
		if (!h->used || h->mark == mark || (ns[0] != '\0' && strcmp(h->ns, ns) != 0))
			continue;
		char hns[ING_NS_LEN], hname[ING_NAME_LEN];
		memcpy(hns, h->ns, sizeof hns);
		memcpy(hname, h->name, sizeof hname);
		log_debug("st: %s %s/%s: gone after relist", st_kind_names[k], hns, hname);
		removed += st_delete(k, hns, hname);
	}
	return removed;
}

/* A relist could not decode ns/name (malformed, oversized): its previous
 * version stays, so the sweep must not take it. */
static void
st_keep(enum st_kind k, const char *ns, const char *name, uint8_t mark)
{
	struct st_hdr *h = ns[0] && name[0] ? st_find(k, ns, name) : NULL;
	if (h != NULL)
		h->mark = mark;
}

/* Iteration: for (i = -1; (r = st_next(k, &i)) != NULL;) */
static void *
st_next(enum st_kind k, int *i)
{
	struct st_pool *p = &g_st.pool[k];
	while (++*i < p->hwm) {
		struct st_hdr *h = st_at(p, *i);
		if (h->used)
			return h;
	}
	return NULL;
}

/* The name of the Secret an Ingress's auth reads, or NULL: nginx's
 * auth-secret may be namespace/name, but only of the Ingress's own
 * namespace (another's is refused: it must not be readable through an
 * Ingress). */
static const char *
st_auth_secret(const struct st_ing *r)
{
	const char *slash = r->auth_nginx ? strchr(r->a_auth_secret, '/') : NULL;
	if (slash == NULL)
		return r->a_auth_secret[0] ? r->a_auth_secret : NULL;
	size_t nl = (size_t)(slash - r->a_auth_secret);
	return nl == strlen(r->h.ns) && memcmp(r->a_auth_secret, r->h.ns, nl) == 0 && slash[1] ? slash + 1 : NULL;
}

/* The Secrets Ingress r uses, in its namespace: its auth Secret, and its
 * TLS Secrets when an entry point serves HTTPS (else nothing reads them).
 *   for (it = -2; (name = st_ing_secret(r, &it)) != NULL;) */
static const char *
st_ing_secret(const struct st_ing *r, int *it)
{
	if (*it == -2) {
		*it = cf_tls(cf_live) ? r->tls : -1;
		if (st_auth_secret(r) != NULL)
			return st_auth_secret(r);
	}
	while (*it >= 0) {
		const struct st_tlshost *t = &g_st.tlsh[*it];
		*it = t->next;
		if (t->secret[0])
			return t->secret;
	}
	return NULL;
}

/* Slot of ns/name in the set of Secrets in use (linear probing, like st_slot). */
static int
st_ref_slot(const char *ns, const char *name)
{
	int n = ST_HASH_SLOTS(ST_MAX_REFS);
	for (int s = (int)(st_hash(ns, name) % (uint32_t)n);; s = (s + 1) % n) {
		int r = g_st.ridx[s] - 1;
		if (r < 0 || (strcmp(g_st.ref[r].name, name) == 0 && strcmp(g_st.ref[r].ns, ns) == 0))
			return s;
	}
}

/* Does an Ingress use Secret ns/name? Only those are kept (they are large
 * and sensitive). The set of those in use is built again only after the
 * Ingresses changed: a list of N Secrets no longer scans every Ingress N
 * times. */
static int
st_secret_wanted(const char *ns, const char *name)
{
	int tls = cf_tls(cf_live);
	if (g_st.ref_at != g_st.ing_changes + 1 || g_st.ref_tls != tls) {
		struct st_ing *r;
		const char *w;
		memset(g_st.ridx, 0, sizeof g_st.ridx);
		g_st.nref = 0;
		for (int i = -1; (r = st_next(SK_INGRESS, &i)) != NULL;)
			for (int it = -2; (w = st_ing_secret(r, &it)) != NULL;) {
				int s = st_ref_slot(r->h.ns, w);
				if (g_st.ridx[s] == 0 && g_st.nref < ST_MAX_REFS) {
					g_st.ref[g_st.nref].ns = r->h.ns;
					g_st.ref[g_st.nref].name = w;
					g_st.ridx[s] = ++g_st.nref;
				}
			}
		g_st.ref_at = g_st.ing_changes + 1;
		g_st.ref_tls = tls;
	}
	return g_st.ridx[st_ref_slot(ns, name)] != 0;
}

/* Drops Secrets no Ingress references any more. */
static void
st_secret_gc(void)
{
	struct st_secret *s;
	for (int i = -1; (s = st_next(SK_SECRET, &i)) != NULL;) {
		if (st_secret_wanted(s->h.ns, s->h.name))
			continue;
		char ns[ING_NS_LEN], name[ING_NAME_LEN];
		memcpy(ns, s->h.ns, sizeof ns);
		memcpy(name, s->h.name, sizeof name);
		st_delete(SK_SECRET, ns, name);
	}
}

/* Secret data by key name; NULL when absent. */
static const unsigned char *
st_secret_data(const struct st_secret *s, const char *key, size_t *len)
{
	for (int i = 0; i < s->nkeys && i < ING_MAX_SECRET_KEYS; i++)
		if (strcmp(s->key[i].name, key) == 0) {
			*len = s->key[i].len;
			return s->data + s->key[i].off;
		}
	return NULL;
}

/* ---- the snapshot (issue 21): the store as a file, to serve from after a
 * restart while the API server is away ----
 * The store's own arrays: each pool's state and records (the sub-record
 * pools too) up to its high-water mark, then the hash indexes. Plain data,
 * chained by index; the one pointer, a Secret's reason for being
 * unreadable, is set again on loading. Runs of zero bytes, most of every
 * record, become a zero and the run's length. A header comes first (magic,
 * a fingerprint, when it was written, the body's length) and a SHA-256 of
 * all the rest last, so a truncated, corrupted or foreign file is refused
 * whole. The fingerprint is of the format version, ING_VERSION and the
 * record sizes (only a build like the one that wrote it reads it), mixed
 * with the caller's of what was watched. The checksum is the trust
 * boundary: loading bounds what it copies, but a body that passes it is
 * ingressd's own. Every object loaded is marked as of no list yet, so the
 * first relist replaces them all (st_sweep). */
#define ST_SNAP_MAGIC "ingsnap\n"
#define ST_SNAP_VERSION 1
#define ST_SNAP_SUM 32 /* the SHA-256 at the end */
struct st_snap_head {
	char magic[8];
	uint32_t fp, pad; /* st_snap_fp() ^ the caller's fingerprint of what it watched */
	int64_t wall;     /* written, seconds since the epoch */
	uint64_t len;     /* of the whole file */
};
_Static_assert(offsetof(struct st_pool, used) == offsetof(struct st_pool, free_head) + 2 * sizeof(int),
               "a snapshot holds free_head, hwm and used as one run");
static struct st_pool *const st_pools[] = {&g_st.pool[SK_INGRESS], &g_st.pool[SK_SERVICE], &g_st.pool[SK_ENDPOINTS],
                                           &g_st.pool[SK_SECRET], &g_st.p_path, &g_st.p_tlsh, &g_st.p_cidr,
                                           &g_st.p_note, &g_st.p_addr};
#define ST_SNAP_IDX_BYTES (sizeof g_st.idx_ing + sizeof g_st.idx_svc + sizeof g_st.idx_eps + sizeof g_st.idx_sec)
#define ST_SNAP_IDX g_st.idx_ing, ST_SNAP_IDX_BYTES /* idx_ing .. idx_sec, one after the other */

#define ST_SNAP_SIZES                                                                                         \
	(uint32_t)(((((((((ST_SNAP_VERSION * 31 + sizeof(struct st_ing)) * 31 + sizeof(struct st_svc)) * 31 +         \
	                  sizeof(struct st_eps)) * 31 + sizeof(struct st_secret)) * 31 + sizeof(struct st_path)) * 31 + \
	               sizeof(struct st_tlshost)) * 31 + sizeof(struct st_cidr)) * 31 + sizeof(struct st_note)) * 31 +  \
	           sizeof(struct st_addr) + ST_SNAP_IDX_BYTES)
#define st_snap_fp() (str_fnv_z(FNV_SEED, ING_VERSION) ^ ST_SNAP_SIZES)

/* SHA-256 of buf[0..n) into out; ING_ERR without one (TLS=none). */
static int
st_snap_sum(const unsigned char *buf, size_t n, unsigned char *out)
{
	struct ing_hash hs;
	if (tls_hash_init(&hs, ING_HASH_SHA256) != 0)
		return ING_ERR;
	tls_hash_update(&hs, buf, n);
	tls_hash_out(&hs, out);
	return 0;
}

/* n bytes at src, zero runs cut, onto buf[*len] (cap); *len past cap when full. */
static void
st_snap_put(unsigned char *buf, size_t *len, size_t cap, const void *src, size_t n)
{
	const unsigned char *s = src;
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i++], z = 0;
		if (*len + 2 > cap) {
			*len = cap + 1;
			return;
		}
		while (c == 0 && z < 255 && i < n && s[i] == 0)
			z++, i++;
		buf[(*len)++] = c;
		if (c == 0)
			buf[(*len)++] = z;
	}
}

/* The inverse: exactly n bytes into dst, or ING_ERR. */
static int
st_snap_get(const unsigned char **pp, const unsigned char *end, void *dst, size_t n)
{
	unsigned char *d = dst;
	const unsigned char *p = *pp;
	for (size_t o = 0; o < n;) {
		if (p >= end)
			return ING_ERR;
		if ((d[o++] = *p++) == 0) {
			if (p >= end || *p > n - o)
				return ING_ERR;
			memset(d + o, 0, *p);
			o += *p++;
		}
	}
	*pp = p;
	return 0;
}

/* The store into buf (8-aligned): the snapshot's length, or 0 when it does
 * not fit cap. */
static size_t
st_snap(unsigned char *buf, size_t cap, uint32_t fp, int64_t wall)
{
	struct st_snap_head *h = (struct st_snap_head *)buf;
	size_t n = sizeof *h;
	for (size_t i = 0; i < ING_ARRAY_LEN(st_pools); i++) {
		const struct st_pool *p = st_pools[i];
		st_snap_put(buf, &n, cap, &p->free_head, 3 * sizeof(int));
		st_snap_put(buf, &n, cap, p->base, (size_t)p->hwm * p->size);
	}
	st_snap_put(buf, &n, cap, ST_SNAP_IDX);
	if (n + ST_SNAP_SUM > cap)
		return 0;
	*h = (struct st_snap_head){ST_SNAP_MAGIC, st_snap_fp() ^ fp, 0, wall, n + ST_SNAP_SUM};
	st_snap_sum(buf, n, buf + n);
	return n + ST_SNAP_SUM;
}

/* Wipes the pools (a Secret's unused data stays zero) and empties the store. */
static void
st_wipe(void)
{
	for (size_t i = 0; i < ING_ARRAY_LEN(st_pools); i++)
		memset(st_pools[i]->base, 0, (size_t)st_pools[i]->hwm * st_pools[i]->size);
	st_init();
}

/* A snapshot into the empty store, unless it was written before oldest or
 * after newest. 0 (*wall: when it was written), or ING_ERR with *why and
 * the store empty: never half-loaded. */
static int
st_snap_load(const unsigned char *buf, size_t n, uint32_t fp, int64_t oldest, int64_t newest, int64_t *wall,
             const char **why)
{
	const struct st_snap_head *h = (const struct st_snap_head *)buf;
	const unsigned char *p = buf + sizeof *h, *end = buf + n - ST_SNAP_SUM;
	unsigned char sum[ST_SNAP_SUM];
	*why = "corrupted, truncated or not a snapshot";
	if (n < sizeof *h + ST_SNAP_SUM || memcmp(h->magic, ST_SNAP_MAGIC, sizeof h->magic) != 0 || h->len != n ||
	    st_snap_sum(buf, n - ST_SNAP_SUM, sum) != 0 || memcmp(sum, end, sizeof sum) != 0)
		return ING_ERR;
	*why = "of another build, or other namespaces/labelselector/ingressClass";
	if (h->fp != (st_snap_fp() ^ fp))
		return ING_ERR;
	*why = "older than snapshotMaxAge (or the clock is behind)";
	if (h->wall < oldest || h->wall > newest)
		return ING_ERR;
	*why = "malformed";
	for (size_t i = 0; i < ING_ARRAY_LEN(st_pools); i++) {
		struct st_pool *sp = st_pools[i];
		int v[3]; /* free_head, hwm, used */
		if (st_snap_get(&p, end, v, sizeof v) != 0 || v[1] < 0 || v[1] > sp->cap)
			goto bad;
		memcpy(&sp->free_head, v, sizeof v); /* first: st_wipe clears up to hwm */
		if (st_snap_get(&p, end, sp->base, (size_t)v[1] * sp->size) != 0)
			goto bad;
	}
	if (st_snap_get(&p, end, ST_SNAP_IDX) != 0 || p != end)
		goto bad;
	for (int k = 0; k < SK__COUNT; k++) {
		struct st_hdr *r;
		g_st.count[k] = g_st.pool[k].used;
		for (int i = -1; (r = st_next((enum st_kind)k, &i)) != NULL;) {
			r->mark = 0; /* no list carried it yet */
			r->logged = r->logged_conflict = 0;
			if (k == SK_SECRET && ((struct st_secret *)r)->bad != NULL)
				((struct st_secret *)r)->bad = "unreadable before the restart";
		}
	}
	g_st.changes++;
	g_st.ing_changes++;
	*wall = h->wall;
	return 0;
bad:
	st_wipe();
	return ING_ERR;
}

/* ===== 6. JSON decoding ========================================== js_ ym_
 * jsmn (static, strict, parent links) over one API object or watch event
 * at a time; values are decoded into the store's spare records and never
 * kept as tokens. Strings are unescaped (\uXXXX, surrogate pairs); numbers
 * and booleans are type-checked. jsmn stops at NUL and does not unescape:
 * keys are compared raw. A malformed or over-limit object is skipped with
 * one log line naming it; the previous version stays.
 * In: kw_ frames. Out: st_ commits. Limits: ING_MAX_JSON_TOKENS.
 * The YAML subset of the Traefik annotations (ym_) is read into JSON too.
 */
struct js {
	const char *s;
	jsmntok_t *t;
	int n;
	const char *err; /* why the object was refused */
};

static jsmntok_t js_tokens[ING_MAX_JSON_TOKENS];

static int au_b64_decode(const char *in, size_t n, unsigned char *out, size_t cap); /* basic auth (au_) */

/* An object into j, with the tokens in t[n]: 0, or ING_ERR and j->err. */
static const char js_nomem[] = "too many JSON tokens";
static int
js_load(struct js *j, const char *s, size_t len, jsmntok_t *t, int n)
{
	jsmn_parser p;
	jsmn_init(&p);
	int r = jsmn_parse(&p, s, len, t, (unsigned)n);
	*j = (struct js){s, t, r > 0 ? r : 0, NULL};
	if (r == JSMN_ERROR_NOMEM)
		j->err = js_nomem;
	else if (r < 1 || t[0].type != JSMN_OBJECT)
		j->err = r == JSMN_ERROR_PART ? "truncated JSON" : "malformed JSON";
	return j->err ? ING_ERR : 0;
}

static int
js_parse(struct js *j, const char *s, size_t len)
{
	if (js_load(j, s, len, js_tokens, ING_MAX_JSON_TOKENS) == 0)
		return 0;
	if (j->err == js_nomem) {
		log_limit(LIM_JSON_TOKENS, "js: JSON tokens in one object");
		j->err = "too many JSON tokens (ING_MAX_JSON_TOKENS)";
	}
	return ING_ERR;
}

/* Index after the value at i (its whole subtree). */
static int
js_skip(const struct js *j, int i)
{
	int end = j->t[i].end;
	for (i++; i < j->n && j->t[i].start < end; i++)
		;
	return i;
}

/* Is the string at i lit, from its byte off on? */
static int
js_is_at(const struct js *j, int i, size_t off, const char *lit)
{
	size_t n = strlen(lit);
	return j->t[i].type == JSMN_STRING && (size_t)(j->t[i].end - j->t[i].start) == off + n &&
	       memcmp(j->s + j->t[i].start + off, lit, n) == 0;
}

static int
js_is(const struct js *j, int i, const char *lit)
{
	return js_is_at(j, i, 0, lit);
}

/* Value of key in the object at i, or -1. */
static int
js_get(const struct js *j, int obj, const char *key)
{
	if (obj < 0 || j->t[obj].type != JSMN_OBJECT)
		return -1;
	int k = obj + 1;
	for (int c = 0; c < j->t[obj].size && k + 1 < j->n; c++) {
		if (js_is(j, k, key))
			return k + 1;
		k = js_skip(j, k + 1);
	}
	return -1;
}

/* Path of keys: js_path(j, 0, "metadata", "name", NULL). */
static int
js_path(const struct js *j, int i, ...)
{
	va_list ap;
	const char *k;
	va_start(ap, i);
	while (i >= 0 && (k = va_arg(ap, const char *)) != NULL)
		i = js_get(j, i, k);
	va_end(ap);
	return i;
}

/* Array element e of the array at i: call as
 * for (e = js_first(j, arr, &c); e >= 0; e = js_next(j, e, &c)). */
static int
js_first(const struct js *j, int arr, int *count)
{
	if (arr < 0 || j->t[arr].type != JSMN_ARRAY || j->t[arr].size == 0)
		return -1;
	*count = j->t[arr].size - 1;
	return arr + 1;
}

static int
js_next(const struct js *j, int e, int *count)
{
	if ((*count)-- <= 0)
		return -1;
	return js_skip(j, e);
}

static int
js_hex4(const char *p, uint32_t *v)
{
	*v = 0;
	for (int i = 0; i < 4; i++) {
		int c = (unsigned char)p[i];
		if (!isxdigit(c))
			return ING_ERR;
		*v = *v * 16 + (uint32_t)(isdigit(c) ? c - '0' : tolower(c) - 'a' + 10);
	}
	return 0;
}

/* Unescapes the string at i into out (NUL-terminated). Returns its length,
 * or ING_ERR: not a string, too long for cap, bad escape, NUL. A JSON null
 * gives "" (Kubernetes sends null for unset optional strings). */
static int
js_str(struct js *j, int i, char *out, size_t cap)
{
	size_t o = 0;
	if (i < 0 || (j->t[i].type == JSMN_PRIMITIVE && j->s[j->t[i].start] == 'n')) {
		out[0] = '\0';
		return 0;
	}
	if (j->t[i].type != JSMN_STRING) {
		j->err = "expected a string";
		return ING_ERR;
	}
	const char *p = j->s + j->t[i].start, *end = j->s + j->t[i].end;
	while (p < end) {
		uint32_t cp = (unsigned char)*p++;
		char b[4];
		size_t n = 1;
		if (cp == '\\') {
			switch (*p++) { /* jsmn checked an escape follows */
			case 'b': cp = '\b'; break;
			case 'f': cp = '\f'; break;
			case 'n': cp = '\n'; break;
			case 'r': cp = '\r'; break;
			case 't': cp = '\t'; break;
			case 'u':
				if (end - p < 4 || js_hex4(p, &cp) != 0)
					goto bad;
				p += 4;
				if (cp >= 0xD800 && cp <= 0xDBFF) { /* a surrogate pair */
					uint32_t lo;
					if (end - p < 6 || p[0] != '\\' || p[1] != 'u' || js_hex4(p + 2, &lo) != 0 ||
					    lo < 0xDC00 || lo > 0xDFFF)
						goto bad;
					cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
					p += 6;
				} else if (cp >= 0xDC00 && cp <= 0xDFFF) {
					goto bad;
				}
				n = cp < 0x80 ? 1 : cp < 0x800 ? 2 : cp < 0x10000 ? 3 : 4;
				break;
			default: cp = (unsigned char)p[-1]; break; /* \" \\ \/ */
			}
		}
		if (cp == 0)
			goto bad;
		if (n == 1)
			b[0] = (char)cp; /* a raw byte of the text, or an ASCII escape */
		else
			str_utf8(cp, b);
		if (o + n >= cap) {
			j->err = "string too long";
			return ING_ERR;
		}
		memcpy(out + o, b, n);
		o += n;
	}
	out[o] = '\0';
	return (int)o;
bad:
	j->err = "bad string escape";
	return ING_ERR;
}

/* An integer number (no fraction or exponent) in [min, max]. */
static int
js_int(struct js *j, int i, int64_t min, int64_t max, int64_t *v)
{
	if (i < 0 || j->t[i].type != JSMN_PRIMITIVE) {
		j->err = "expected a number";
		return ING_ERR;
	}
	const char *p = j->s + j->t[i].start;
	size_t n = (size_t)(j->t[i].end - j->t[i].start);
	int neg = n > 0 && p[0] == '-';
	uint64_t u;
	if (str_to_u64((struct ing_str){p + neg, n - (size_t)neg}, (uint64_t)INT64_MAX, &u) != 0) {
		j->err = "expected an integer";
		return ING_ERR;
	}
	*v = neg ? -(int64_t)u : (int64_t)u;
	if (*v < min || *v > max) {
		j->err = "number out of range";
		return ING_ERR;
	}
	return 0;
}

/* true/false; absent (i < 0) or null gives dflt. */
static int
js_bool(struct js *j, int i, int dflt)
{
	if (i < 0 || j->t[i].type != JSMN_PRIMITIVE)
		return dflt;
	char c = j->s[j->t[i].start];
	return c == 't' ? 1 : c == 'f' ? 0 : dflt;
}

/* ---- a YAML subset, as JSON (ym_) ----
 * The YAML-valued annotations (rate-limit, buffering) are written by hand,
 * in the subset Traefik's users write: block mappings and sequences by
 * indentation, one-line flow collections ({a: b}, [a, b]), plain, single-
 * and double-quoted scalars, comments. ym_json turns that into JSON text
 * for the js_ readers: every scalar a string, an empty value null. Anchors,
 * aliases, tags, block scalars (| >), flow collections or quoted scalars
 * over several lines and tabs in the indentation are refused, with the line
 * and column. Bounded: YM_DEPTH levels, the output buffer's size. */
#define YM_DEPTH 8
struct ym {
	char *o;
	size_t n, cap;
	const char *err, *at, *line; /* why it failed, where, and that line */
	int lno, depth, pending;     /* pending: a "key:" or "-" waits for a value below it */
	int ind[YM_DEPTH], items[YM_DEPTH];
	char kind[YM_DEPTH]; /* '{' or '[' */
};

static void
ym_fail(struct ym *y, const char *at, const char *why)
{
	if (y->err == NULL) {
		y->err = why;
		y->at = at;
	}
}

static void
ym_put(struct ym *y, const char *s, size_t n)
{
	if (y->n + n >= y->cap)
		ym_fail(y, y->line, "too long");
	if (y->err == NULL) {
		memcpy(y->o + y->n, s, n);
		y->n += n;
	}
}

static const char *
ym_sp(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t'))
		p++;
	return p;
}

/* Scalar text as a JSON string; q: the quote it was in (escapes in '"' are
 * JSON's own, '' in '\'' is one quote). */
static void
ym_str(struct ym *y, const char *p, size_t n, char q)
{
	ym_put(y, "\"", 1);
	for (size_t i = 0; i < n; i++) {
		char ch = p[i], u[8];
		if (q == '"' && ch == '\\') {
			if (i + 1 >= n || strchr("\"\\/bfnrtu", p[i + 1]) == NULL) {
				ym_fail(y, p + i, "an escape other than \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX");
				return;
			}
			uint32_t cp = 1;
			if (p[i + 1] == 'u' && (n - i < 6 || js_hex4(p + i + 2, &cp) != 0 || cp == 0 || (cp >> 11) == 0x1b)) {
				ym_fail(y, p + i, "\\u needs four hex digits, not 0000 or a surrogate");
				return;
			}
			ym_put(y, p + i++, 2);
		} else if (q == '\'' && ch == '\'') {
			ym_put(y, p + i++, 1);
		} else if (ch == '"' || ch == '\\' || (unsigned char)ch < 0x20 || ch == 0x7f) {
			ym_put(y, u, (size_t)ing_snprintf(u, sizeof u, "\\u%04x", (unsigned char)ch));
		} else {
			ym_put(y, &ch, 1);
		}
	}
	ym_put(y, "\"", 1);
}

/* The closing quote of the quoted scalar at p, or NULL. */
static const char *
ym_qend(const char *p, const char *e)
{
	char q = *p;
	for (p++; p < e; p++)
		if (*p == q && (q == '"' || p + 1 == e || p[1] != q))
			return p;
		else if ((q == '"' && *p == '\\') || *p == q) /* \x, or '' */
			p++;
	return NULL;
}

/* The scalar at *pp: a key (a plain one ends at ": "), a value, in a flow
 * collection (a plain one also ends at , [ ] { }) or not. */
static void
ym_scalar(struct ym *y, const char **pp, const char *e, int key, int flow)
{
	const char *p = *pp, *s;
	if (*p == '"' || *p == '\'') {
		if ((p = ym_qend(p, e)) == NULL) {
			ym_fail(y, *pp, "a quoted scalar must end on its line");
			return;
		}
		ym_str(y, *pp + 1, (size_t)(p - *pp - 1), **pp);
		*pp = p + 1;
		return;
	}
	if (strchr("#&*!|>%@`,[]{}", *p) != NULL || (flow && strchr("?:", *p) != NULL) ||
	    (strchr("-?:", *p) != NULL && (p + 1 == e || p[1] == ' ' || p[1] == '\t' || (flow && strchr(",[]{}", p[1]))))) {
		ym_fail(y, p, "anchors, aliases, tags, block scalars and the indicators - ? : , [ ] { } # % @ ` "
		        "are not read here");
		return;
	}
	for (s = p; p < e; p++) {
		if ((*p == '#' && p > s && (p[-1] == ' ' || p[-1] == '\t')) || (flow && strchr(",?[]{}", *p) != NULL))
			break;
		if (*p == ':' && (p + 1 == e || p[1] == ' ' || p[1] == '\t' || (flow && strchr(",[]{}", p[1]) != NULL))) {
			if (key)
				break;
			ym_fail(y, p, "\": \" in a plain value: quote the value");
			return;
		}
	}
	const char *t = p;
	while (t > s && (t[-1] == ' ' || t[-1] == '\t'))
		t--;
	if (t == s)
		ym_fail(y, s, "an empty key");
	ym_str(y, s, (size_t)(t - s), 0);
	*pp = p;
}

/* A flow collection at *pp, on one line. */
static void
ym_flow(struct ym *y, const char **pp, const char *e, int depth)
{
	const char *p = *pp;
	char close = *p == '{' ? '}' : ']';
	if (depth >= YM_DEPTH) {
		ym_fail(y, p, "nested too deep");
		return;
	}
	ym_put(y, p++, 1);
	for (int n = 0; y->err == NULL; n++) {
		p = ym_sp(p, e);
		if (p < e && *p == close)
			break;
		if (p >= e) {
			ym_fail(y, *pp, "a flow collection ({...} or [...]) must end on its line");
			return;
		}
		if (n > 0)
			ym_put(y, ",", 1);
		if (close == '}') {
			ym_scalar(y, &p, e, 1, 1);
			p = ym_sp(p, e);
			if (p >= e || *p != ':' || (p + 1 < e && strchr(" \t,]}", p[1]) == NULL)) {
				ym_fail(y, p, "expected \"key: value\" in a flow mapping");
				return;
			}
			ym_put(y, ":", 1);
			p = ym_sp(p + 1, e);
		}
		if (p < e && (*p == '{' || *p == '['))
			ym_flow(y, &p, e, depth + 1);
		else if (p < e && close == '}' && (*p == ',' || *p == close))
			ym_put(y, "null", 4);
		else if (p < e)
			ym_scalar(y, &p, e, 0, 1);
		p = ym_sp(p, e);
		if (p < e && *p == ',')
			p++;
		else if (p >= e)
			ym_fail(y, *pp, "a flow collection ({...} or [...]) must end on its line");
		else if (*p != close)
			ym_fail(y, p, "expected \",\" or the end of the flow collection");
	}
	ym_put(y, &close, 1);
	*pp = p + 1;
}

/* The value after "key:" or "- ": then only a comment may follow. */
static void
ym_value(struct ym *y, const char *p, const char *e)
{
	if (*p == '{' || *p == '[')
		ym_flow(y, &p, e, y->depth);
	else
		ym_scalar(y, &p, e, 0, 0);
	p = ym_sp(p, e);
	if (y->err == NULL && p < e && *p != '#')
		ym_fail(y, p, "text after the value");
}

static void
ym_open(struct ym *y, int col, char kind)
{
	if (y->depth >= YM_DEPTH) {
		ym_fail(y, y->line + col, "nested too deep");
		return;
	}
	y->ind[y->depth] = col;
	y->kind[y->depth] = kind;
	y->items[y->depth++] = 0;
	ym_put(y, &kind, 1);
}

static void
ym_close(struct ym *y)
{
	y->depth--;
	ym_put(y, y->kind[y->depth] == '{' ? "}" : "]", 1);
}

/* Does the text at p start "key:" (a mapping entry)? */
static int
ym_is_key(const char *p, const char *e)
{
	const char *s = p;
	if (*p == '"' || *p == '\'')
		return (p = ym_qend(p, e)) != NULL && (p = ym_sp(p + 1, e)) < e && *p == ':';
	for (p += *p == '{' || *p == '[' ? e - p : 0; p < e; p++) /* a flow collection is a value */
		if (*p == ':' && (p + 1 == e || p[1] == ' ' || p[1] == '\t'))
			return 1;
		else if (*p == '#' && p > s && (p[-1] == ' ' || p[-1] == '\t'))
			return 0;
	return 0;
}

/* One line's text from column col (p) to e. */
static void
ym_line(struct ym *y, const char *p, const char *e, int col)
{
	int dash = *p == '-' && (p + 1 == e || p[1] == ' ' || p[1] == '\t');
	if (y->depth == 0 && (*p == '{' || *p == '[')) { /* a flow collection is the whole document */
		ym_flow(y, &p, e, 0);
		p = ym_sp(p, e);
		y->depth = -1; /* nothing may follow */
		if (p < e && *p != '#')
			ym_fail(y, p, "text after the value");
		return;
	}
	if (y->depth < 0) {
		ym_fail(y, p, "text after the document's flow collection");
		return;
	}
	if (y->pending) { /* a value on the lines below: deeper, or a sequence at the key's own column */
		int top = y->depth - 1;
		y->pending = 0;
		if (col > y->ind[top] || (dash && col == y->ind[top] && y->kind[top] == '{'))
			ym_open(y, col, dash ? '[' : '{');
		else
			ym_put(y, "null", 4);
	}
	if (y->depth == 0)
		ym_open(y, col, dash ? '[' : '{');
	while (y->depth > 1 && (y->ind[y->depth - 1] > col || (y->ind[y->depth - 1] == col && y->kind[y->depth - 1] == '[' &&
	                                                        !dash && y->kind[y->depth - 2] == '{')))
		ym_close(y);
	if (y->err != NULL)
		return;
	if (y->ind[y->depth - 1] != col) {
		ym_fail(y, p, "bad indentation");
		return;
	}
	int top = y->depth - 1;
	if (y->kind[top] == '[') {
		if (!dash) {
			ym_fail(y, p, "expected a sequence item (\"- \")");
			return;
		}
		if (y->items[top]++ > 0)
			ym_put(y, ",", 1);
		const char *v = ym_sp(p + 1, e);
		if (v == e || *v == '#') {
			y->pending = 1;
			return;
		}
		if (*v == '-' && (v + 1 == e || v[1] == ' ' || v[1] == '\t')) { /* "- - x": a sequence in a sequence */
			ym_open(y, col + (int)(v - p), '[');
			if (y->err == NULL)
				ym_line(y, v, e, col + (int)(v - p));
			return;
		}
		if (!ym_is_key(v, e)) {
			ym_value(y, v, e);
			return;
		}
		col += (int)(v - p); /* "- key: value" opens a mapping at the key's column */
		ym_open(y, col, '{');
		p = v;
		top = y->depth - 1;
	} else if (dash) {
		ym_fail(y, p, "a sequence item where a mapping key was expected");
		return;
	}
	if (y->err != NULL)
		return;
	if (y->items[top]++ > 0)
		ym_put(y, ",", 1);
	ym_scalar(y, &p, e, 1, 0);
	p = ym_sp(p, e);
	if (y->err == NULL && (p >= e || *p != ':' || (p + 1 < e && p[1] != ' ' && p[1] != '\t'))) {
		ym_fail(y, p, "expected \"key: value\"");
		return;
	}
	ym_put(y, ":", 1);
	p = ym_sp(p + 1, e);
	if (p == e || *p == '#')
		y->pending = 1;
	else
		ym_value(y, p, e);
}

/* YAML text s into JSON in out[cap]: its length, or ING_ERR with err
 * saying "line L, column C: why". */
static int
ym_json(const char *s, char *out, size_t cap, char *err, size_t ecap)
{
	struct ym y = {.o = out, .cap = cap, .line = s};
	for (const char *l = s; *l != '\0' && y.err == NULL;) {
		const char *e = strchr(l, '\n'), *p = l;
		e = e != NULL ? e : l + strlen(l);
		y.line = l;
		y.lno++;
		l = *e ? e + 1 : e;
		if (e > y.line && e[-1] == '\r')
			e--;
		while (p < e && *p == ' ')
			p++;
		if (p < e && *p == '\t') {
			ym_fail(&y, p, "a tab in the indentation");
			break;
		}
		if (p == e || *p == '#' || (e - p == 3 && !memcmp(p, "---", 3) && y.n == 0))
			continue;
		if (e - p >= 3 && !memcmp(p, "...", 3) && p == y.line)
			break;
		ym_line(&y, p, e, (int)(p - y.line));
	}
	if (y.err == NULL && y.pending)
		ym_put(&y, "null", 4);
	while (y.err == NULL && y.depth > 0)
		ym_close(&y);
	if (y.err == NULL && y.n == 0)
		ym_fail(&y, s, "empty");
	if (y.err != NULL) {
		ing_snprintf(err, ecap, "line %d, column %d: %s", y.lno, (int)(y.at - y.line) + 1, y.err);
		return ING_ERR;
	}
	out[y.n] = '\0';
	return (int)y.n;
}

/* YAML text into j, the JSON in json[cap] and its tokens in t[n], with
 * every mapping's keys distinct (yaml.v2 refuses a key given twice): 0,
 * or ING_ERR and why in err. */
static int
ym_load(struct js *j, const char *yaml, char *json, size_t cap, jsmntok_t *t, int n, char *err, size_t ecap)
{
	int len = ym_json(yaml, json, cap, err, ecap);
	if (len < 0)
		return ING_ERR;
	if (js_load(j, json, (size_t)len, t, n) != 0) {
		ing_snprintf(err, ecap, "%s", j->err == js_nomem ? "too many values" : "a mapping is expected");
		return ING_ERR;
	}
	for (int o = 0; o < j->n; o++) {
		for (int a = o + 1, ca = 0; j->t[o].type == JSMN_OBJECT && ca < j->t[o].size; a = js_skip(j, a + 1), ca++)
			for (int b = js_skip(j, a + 1), cb = ca + 1; cb < j->t[o].size; b = js_skip(j, b + 1), cb++)
				if (j->t[a].end - j->t[a].start == j->t[b].end - j->t[b].start &&
				    !memcmp(json + j->t[a].start, json + j->t[b].start, (size_t)(j->t[a].end - j->t[a].start))) {
					ing_snprintf(err, ecap, "key \"%.*s\" given twice", ING_MIN(j->t[a].end - j->t[a].start, 40),
					             json + j->t[a].start);
					return ING_ERR;
				}
	}
	return 0;
}

/* Up to `max` digits at *p, then the separator sep (0: none); -1 if not. */
static int
js_digits(const char **p, int max, char sep)
{
	int v = 0, k = 0;
	for (; k < max && isdigit((unsigned char)**p); k++, (*p)++)
		v = v * 10 + (**p - '0');
	if (k == 0 || (sep && **p != sep))
		return -1;
	*p += sep != 0;
	return v;
}

/* RFC 3339 "2006-01-02T15:04:05Z" (or with an offset) to unix seconds. */
static int64_t
js_time(const char *s)
{
	int y = js_digits(&s, 4, '-'), mo = js_digits(&s, 2, '-'), d = js_digits(&s, 2, 'T'), h = js_digits(&s, 2, ':'),
	    mi = js_digits(&s, 2, ':'), se = js_digits(&s, 2, 0);
	if (y < 0 || mo < 1 || mo > 12 || d < 1 || d > 31 || h < 0 || h > 23 || mi < 0 || mi > 59 || se < 0 || se > 60)
		return 0;
	return ing_days(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + se;
}

/* metadata: namespace and name into the header (both required). */
static int
js_meta(struct js *j, int obj, struct st_hdr *h, int64_t *created)
{
	int md = js_get(j, obj, "metadata");
	char ts[40];
	if (md < 0) {
		j->err = "no metadata";
		return ING_ERR;
	}
	if (js_str(j, js_get(j, md, "name"), h->name, sizeof h->name) <= 0 ||
	    js_str(j, js_get(j, md, "namespace"), h->ns, sizeof h->ns) <= 0) {
		if (j->err == NULL)
			j->err = "no namespace or name";
		return ING_ERR;
	}
	if (created != NULL) {
		*created = 0;
		if (js_str(j, js_get(j, md, "creationTimestamp"), ts, sizeof ts) > 0)
			*created = js_time(ts);
	}
	return 0;
}

/* Annotation tables: a name, read under the prefixes `where` says (JP_*),
 * and the field it sets. When a field is set twice, the higher rank wins:
 * ingress.kubernetes.io/ (3) beats traefik.ingress.kubernetes.io/ (2)
 * beats the legacy traefik.* label (1, a whole name); nginx's are rank 3. */
enum { JP_ING = 1, JP_TRAEFIK = 2, JP_NGX = 4, JP_NONE = 8 };
struct js_ann {
	const char *name;
	uint8_t field, rank, where;
};
#define JS_T(name, f) {name, f, 0, JP_ING | JP_TRAEFIK},
#define JS_N(name, f) {name, f, 3, JP_NGX},
static const struct js_ann js_ing_ann[] = {
    JS_T("rule-type", IA_RULE_TYPE) JS_T("priority", IA_PRIORITY) JS_T("whitelist-source-range", IA_WHITELIST)
    JS_T("auth-type", IA_AUTH_TYPE) JS_T("auth-secret", IA_AUTH_SECRET) JS_T("auth-realm", IA_AUTH_REALM)
    JS_T("auth-remove-header", IA_AUTH_REMOVE) JS_T("auth-header-field", IA_AUTH_HEADER_FIELD)
    JS_T("preserve-host", IA_PRESERVE_HOST) JS_T("ssl-redirect", IA_SSL_REDIRECT)
    JS_T("frontend-entry-points", IA_ENTRY_POINTS) JS_T("pass-client-tls-cert", IA_PASS_CERT)
    JS_T("protocol", IA_PROTOCOL) {"kubernetes.io/ingress.class", IA_CLASS, 3, JP_NONE},
    {"traefik.frontend.rule.type", IA_RULE_TYPE, 1, JP_NONE},
    {"traefik.frontend.priority", IA_PRIORITY, 1, JP_NONE},
    {"traefik.frontend.passHostHeader", IA_PRESERVE_HOST, 1, JP_NONE},
    {"traefik.frontend.entryPoints", IA_ENTRY_POINTS, 1, JP_NONE}, JS_N("whitelist-source-range", IA_NGX_WHITELIST)
    {"allowlist-source-range", IA_NGX_WHITELIST, 2, JP_NGX}, JS_N("denylist-source-range", IA_NGX_DENYLIST)
    JS_N("auth-type", IA_NGX_AUTH_TYPE) JS_N("auth-secret", IA_NGX_AUTH_SECRET)
    JS_N("auth-secret-type", IA_NGX_AUTH_SECRET_TYPE) JS_N("auth-realm", IA_NGX_AUTH_REALM)
    {"traefik.protocol", IA_PROTOCOL, 1, JP_NONE}, JS_N("backend-protocol", IA_NGX_BACKEND_PROTOCOL)
    JS_N("proxy-ssl-verify", IA_NGX_SSL_VERIFY) JS_N("proxy-ssl-name", IA_NGX_SSL_NAME)
    {"traefik.frontend.redirect.entryPoint", IA_REDIR_EP, 1, JP_NONE},
    {"traefik.frontend.redirect.regex", IA_REDIR_REGEX, 1, JP_NONE},
    {"traefik.frontend.redirect.replacement", IA_REDIR_REPL, 1, JP_NONE}, JS_T("custom-request-headers", IA_H_REQ)
    JS_T("custom-response-headers", IA_H_RESP) JS_T("ssl-proxy-headers", IA_H_SSL_PROXY)
    JS_T("hsts-max-age", IA_H_HSTS) JS_T("hsts-include-subdomains", IA_H_HSTS_SUB)
    JS_T("hsts-preload", IA_H_HSTS_PRELOAD) JS_T("force-hsts", IA_H_FORCE_HSTS) JS_T("frame-deny", IA_H_FRAME_DENY)
    JS_T("custom-frame-options-value", IA_H_FRAME_VALUE) JS_T("content-type-nosniff", IA_H_NOSNIFF)
    JS_T("browser-xss-filter", IA_H_XSS) JS_T("custom-browser-xss-value", IA_H_XSS_VALUE)
    JS_T("content-security-policy", IA_H_CSP) JS_T("referrer-policy", IA_H_REFERRER)
    JS_T("public-key", IA_H_PUBLIC_KEY) JS_T("is-development", IA_H_DEV)
    JS_T("ssl-temporary-redirect", IA_H_SSL_TEMP) JS_T("ssl-host", IA_H_SSL_HOST)
    JS_T("ssl-force-host", IA_H_SSL_FORCE_HOST) JS_T("allowed-hosts", IA_H_ALLOWED_HOSTS)
    JS_T("proxy-headers", IA_H_PROXY_HEADERS) JS_T("whitelist-x-forwarded-for", IA_WL_XFF)
    JS_T("rate-limit", IA_RATE_LIMIT) JS_T("rewrite-target", IA_REWRITE) JS_T("request-modifier", IA_REQ_MOD)
    JS_T("app-root", IA_APP_ROOT) JS_T("redirect-entry-point", IA_REDIR_EP)
    JS_T("redirect-permanent", IA_REDIR_PERM) JS_T("redirect-regex", IA_REDIR_REGEX)
    JS_T("redirect-replacement", IA_REDIR_REPL) JS_N("enable-cors", IA_H_CORS)
    JS_N("cors-allow-origin", IA_H_CORS_ORIGIN) JS_N("cors-allow-methods", IA_H_CORS_METHODS)
    JS_N("cors-allow-headers", IA_H_CORS_HEADERS) JS_N("cors-expose-headers", IA_H_CORS_EXPOSE)
    JS_N("cors-allow-credentials", IA_H_CORS_CREDS) JS_N("cors-max-age", IA_H_CORS_MAX_AGE)
    JS_N("proxy-body-size", IA_NGX_BODY_SIZE) JS_N("limit-rps", IA_NGX_LIMIT_RPS)
    JS_N("limit-rpm", IA_NGX_LIMIT_RPM) JS_N("limit-burst-multiplier", IA_NGX_LIMIT_BURST)
    JS_N("limit-connections", IA_NGX_LIMIT_CONNS) JS_N("limit-whitelist", IA_NGX_LIMIT_WL)
    JS_N("rewrite-target", IA_NGX_REWRITE) JS_N("use-regex", IA_NGX_USE_REGEX) JS_N("app-root", IA_NGX_APP_ROOT)
    JS_N("permanent-redirect", IA_NGX_PERM) JS_N("permanent-redirect-code", IA_NGX_PERM_CODE)
    JS_N("temporal-redirect", IA_NGX_TEMP) JS_N("temporal-redirect-code", IA_NGX_TEMP_CODE)
    JS_N("x-forwarded-prefix", IA_NGX_XFP) JS_N("from-to-www-redirect", IA_NGX_WWW)
    JS_N("server-alias", IA_NGX_ALIAS) JS_T("service-weights", IA_SVC_WEIGHTS) JS_N("canary", IA_NGX_CANARY)
    JS_N("canary-weight", IA_NGX_CANARY_WEIGHT) JS_N("canary-weight-total", IA_NGX_CANARY_TOTAL)
    JS_N("canary-by-header", IA_NGX_CANARY_HDR) JS_N("canary-by-header-value", IA_NGX_CANARY_HDR_VAL)
    JS_N("canary-by-header-pattern", IA_NGX_CANARY_HDR_RX) JS_N("canary-by-cookie", IA_NGX_CANARY_COOKIE)
    JS_T("auth-url", IA_AUTH_URL) JS_T("auth-trust-headers", IA_AUTH_TRUST)
    JS_T("auth-response-headers", IA_AUTH_RESP_HDRS) JS_T("auth-tls-secret", IA_AUTH_TLS_SECRET)
    JS_T("auth-tls-insecure", IA_AUTH_TLS_INSECURE) JS_N("auth-url", IA_NGX_AUTH_URL)
    JS_N("auth-signin", IA_NGX_AUTH_SIGNIN) JS_N("auth-method", IA_NGX_AUTH_METHOD)
    JS_N("auth-response-headers", IA_NGX_AUTH_RESP_HDRS) JS_N("auth-request-redirect", IA_NGX_AUTH_REDIRECT)
    JS_T("error-pages", IA_ERROR_PAGES) JS_N("custom-http-errors", IA_NGX_CUSTOM_ERRORS)
    JS_N("default-backend", IA_NGX_DEFAULT_BACKEND)
};
static const struct js_ann js_svc_ann[] = {
    JS_T("load-balancer-method", SA_LB_METHOD) JS_T("affinity", SA_STICKINESS)
    JS_T("session-cookie-name", SA_COOKIE) JS_T("circuit-breaker-expression", SA_BREAKER)
    JS_T("max-conn-amount", SA_MAXCONN) JS_T("max-conn-extractor-func", SA_MAXCONN_FN)
    JS_T("buffering", SA_BUFFERING) {"traefik.backend.loadbalancer.method", SA_LB_METHOD, 1, JP_NONE},
    {"traefik.backend.loadbalancer.sticky", SA_STICKY, 1, JP_NONE},
    {"traefik.backend.loadbalancer.stickiness", SA_STICKINESS, 1, JP_NONE},
    {"traefik.backend.loadbalancer.stickiness.cookieName", SA_COOKIE, 1, JP_NONE},
    {"traefik.backend.circuitbreaker", SA_BREAKER, 1, JP_NONE},
};
#undef JS_T
#undef JS_N

/* The prefixes whose annotations are Traefik's or ingress-nginx's: one of
 * those ingressd does not implement is reported, never silently dropped. */
static const char *const js_ann_prefixes[] = {"ingress.kubernetes.io/", "traefik.ingress.kubernetes.io/",
                                              "nginx.ingress.kubernetes.io/", "traefik."};
#define JS_NGX_PREFIX "nginx.ingress.kubernetes.io/"

/* Annotations of Traefik 1.7 and ingress-nginx that ingressd does not
 * implement (after the prefix): the label values of
 * ingressd_annotations_unsupported, so the series stay bounded (any other
 * name is "other"). README lists each with what happens instead. */
static const char *const js_ann_unsup[] = {
    /* Traefik 1.7 (ingress.kubernetes.io/, traefik.ingress.kubernetes.io/) and ingress-nginx alike */
    "pass-tls-cert",
    "responseforwarding.flushinterval",
    /* ingress-nginx */
    "ssl-redirect", "force-ssl-redirect",
    "proxy-connect-timeout", "proxy-read-timeout", "proxy-send-timeout", "proxy-buffering",
    "configuration-snippet", "server-snippet", "custom-headers", "auth-snippet",
    "auth-tls-verify-client", "auth-tls-pass-certificate-to-upstream", "ssl-passthrough", "upstream-hash-by", "affinity",
    "session-cookie-name",
    "proxy-ssl-secret", "proxy-ssl-server-name", "load-balance", "upstream-vhost", "preserve-trailing-slash", "satisfy",
    /* the legacy traefik. labels */
    "frontend.passTLSCert", "backend.loadbalancer.stickiness.cookieName",
};

static int
js_has_prefix(const struct js *j, int k, const char *pre)
{
	size_t n = strlen(pre);
	return j->t[k].type == JSMN_STRING && (size_t)(j->t[k].end - j->t[k].start) > n &&
	       memcmp(j->s + j->t[k].start, pre, n) == 0;
}

/* Finds the winning token of each annotation field (highest rank). The
 * names under our prefixes that are not in tab go to unsup ("a, b", cut
 * with "..." when full); an nginx auth-* one also to auth_other (never
 * cut: its route must fail closed). */
static void
js_annotations(struct js *j, int obj, const struct js_ann *tab, size_t ntab, int *tok, uint8_t *rank, char *unsup,
               uint8_t *nunsup, char *auth_other, size_t other_cap)
{
	int ann = js_path(j, obj, "metadata", "annotations", NULL);
	int c, k;
	if (ann < 0 || j->t[ann].type != JSMN_OBJECT)
		return;
	k = ann + 1;
	for (c = 0; c < j->t[ann].size && k + 1 < j->n; c++) {
		int known = 0, ours = 0, where = JP_NONE;
		size_t off = 0;
		for (int p = 0; p < 3 && where == JP_NONE; p++)
			if (js_has_prefix(j, k, js_ann_prefixes[p]))
				where = 1 << p, off = strlen(js_ann_prefixes[p]);
		for (size_t a = 0; a < ntab; a++)
			if ((tab[a].where & where) && js_is_at(j, k, off, tab[a].name)) {
				int r = where == JP_ING ? 3 : where == JP_TRAEFIK ? 2 : tab[a].rank;
				known = 1;
				if (r > rank[tab[a].field]) {
					rank[tab[a].field] = (uint8_t)r;
					tok[tab[a].field] = k + 1;
				}
			}
		for (size_t p = 0; p < ING_ARRAY_LEN(js_ann_prefixes) && !known; p++)
			ours |= js_has_prefix(j, k, js_ann_prefixes[p]);
		if (ours) {
			struct ing_str name = {j->s + j->t[k].start, (size_t)(j->t[k].end - j->t[k].start)};
			size_t used = strlen(unsup);
			if (*nunsup < UINT8_MAX)
				(*nunsup)++;
			if (used + name.n + 6 < ST_UNSUP_LEN)
				ing_snprintf(unsup + used, ST_UNSUP_LEN - used, "%s%.*s", used ? ", " : "", (int)name.n, name.p);
			else if (used + 4 < ST_UNSUP_LEN && (used < 3 || strcmp(unsup + used - 3, "...") != 0))
				ing_snprintf(unsup + used, ST_UNSUP_LEN - used, "...");
			if (auth_other != NULL && !auth_other[0] && js_has_prefix(j, k, JS_NGX_PREFIX "auth-"))
				ing_snprintf(auth_other, other_cap, "%.*s", (int)name.n, name.p);
		}
		k = js_skip(j, k + 1);
	}
}

/* An object's rarely set annotations (tok[first..last]: an Ingress's
 * IA_B_*, values of any length - a CSP can be long -, a Service's max-conn
 * and buffering) into one st_blob of (id, length: 2 bytes, value) records
 * for rb_blob, so objects without them carry none of their bytes. Over
 * ING_MAX_HEADER_ANN_BYTES, or no room in the note pool: *over (an
 * Ingress's routes then fail closed, a Service is not stored). */
static int
js_blob(struct js *j, const int *tok, int first, int last, int *blob, uint8_t *over)
{
	static char hb[ING_MAX_HEADER_ANN_BYTES];
	size_t n = 0;
	for (int a = first; a <= last; a++) {
		if (tok[a] < 0)
			continue;
		int k = n + 4 < sizeof hb ? js_str(j, tok[a], hb + n + 3, sizeof hb - n - 3) : ING_ERR;
		if (k < 0 && j->err != NULL && strcmp(j->err, "string too long") != 0)
			return ING_ERR; /* malformed: the Ingress is not decoded */
		if (k < 0) {
			j->err = NULL;
			log_limit(LIM_HEADER_ANN_BYTES, "js: rarely set annotations of an object");
			*over = 1;
			return 0;
		}
		hb[n] = (char)a;
		hb[n + 1] = (char)(k >> 8);
		hb[n + 2] = (char)k;
		n += 3 + (size_t)k;
	}
	if (n > 0 && (*blob = st_blob_new(hb, n)) < 0)
		*over = 1;
	return 0;
}

/* A backend: v1 {service: {name, port: {number | name}}} or v1beta1
 * {serviceName, servicePort (int or string)}. */
static int
js_backend(struct js *j, int be, struct st_backend *b)
{
	int svc = js_get(j, be, "service"), port;
	int64_t num;
	memset(b, 0, sizeof *b);
	if (svc >= 0) {
		if (js_str(j, js_get(j, svc, "name"), b->svc, sizeof b->svc) <= 0)
			goto bad;
		port = js_get(j, svc, "port");
		int pn = js_get(j, port, "number");
		if (pn >= 0) {
			if (js_int(j, pn, 1, 65535, &num) != 0)
				goto bad;
			b->port = (uint16_t)num;
		} else if (js_str(j, js_get(j, port, "name"), b->port_name, sizeof b->port_name) <= 0) {
			goto bad;
		}
		return 0;
	}
	if (js_get(j, be, "resource") >= 0) {
		j->err = "resource backends are not supported";
		return ING_ERR;
	}
	if (js_str(j, js_get(j, be, "serviceName"), b->svc, sizeof b->svc) <= 0)
		goto bad;
	port = js_get(j, be, "servicePort");
	if (port >= 0 && j->t[port].type == JSMN_PRIMITIVE) {
		if (js_int(j, port, 1, 65535, &num) != 0)
			goto bad;
		b->port = (uint16_t)num;
	} else if (js_str(j, port, b->port_name, sizeof b->port_name) <= 0) {
		goto bad;
	} else {
		/* a numeric string names the port number too (Traefik) */
		uint64_t u;
		if (str_to_u64((struct ing_str){b->port_name, strlen(b->port_name)}, 65535, &u) == 0 && u > 0) {
			b->port = (uint16_t)u;
			b->port_name[0] = '\0';
		}
	}
	return 0;
bad:
	if (j->err == NULL)
		j->err = "bad backend (service name and port)";
	return ING_ERR;
}

/* status.loadBalancer.ingress of an Ingress or a Service, as the text the
 * status writer sends: {"ip":"...","hostname":"..."},... with only those
 * fields, in that order, so what an object has and what ingressd would
 * write compare as text. Entries with a malformed address or name are
 * left out and counted in *bad (the text goes into JSON unescaped, so
 * only checked addresses and names may enter it). Returns the number kept. */
#define ING_STATUS_LEN (ING_MAX_STATUS_ADDRS * (ING_NAME_LEN + 80))
static size_t
js_lb_entry(char *out, size_t cap, const char *ip, const char *host)
{
	return (size_t)ing_snprintf(out, cap, "{%s%s%s%s%s%s%s}", ip[0] ? "\"ip\":\"" : "", ip, ip[0] ? "\"" : "",
	                            ip[0] && host[0] ? "," : "", host[0] ? "\"hostname\":\"" : "", host, host[0] ? "\"" : "");
}

static int
js_lb(struct js *j, int obj, char out[ING_STATUS_LEN], int *bad)
{
	int c, e, n = 0;
	size_t o = 0;
	const char *err = j->err; /* a bad status is never the object's error */
	out[0] = '\0';
	*bad = 0;
	for (e = js_first(j, js_path(j, obj, "status", "loadBalancer", "ingress", NULL), &c); e >= 0; e = js_next(j, e, &c)) {
		char ip[64], host[ING_NAME_LEN];
		struct ing_addr a;
		int il = js_str(j, js_get(j, e, "ip"), ip, sizeof ip);
		int hl = js_str(j, js_get(j, e, "hostname"), host, sizeof host);
		if (il < 0 || hl < 0 || il + hl == 0 || (il > 0 && ing_addr_parse_ip(&a, ip, (size_t)il) != 0) ||
		    (hl > 0 && cf_dns_name(host, (size_t)hl, 1) != 0)) {
			(*bad)++;
			continue;
		}
		if (n == ING_MAX_STATUS_ADDRS) {
			log_limit(LIM_STATUS_ADDRS, "kw: load-balancer addresses of one object");
			break;
		}
		if (n > 0)
			out[o++] = ',';
		o += js_lb_entry(out + o, ING_STATUS_LEN - o, ip, host);
		n++;
	}
	j->err = err;
	return n;
}

/* Lower-cases a host and checks it is a DNS name or a "*." wildcard. */
static int
js_host(char *h)
{
	size_t n = strlen(h);
	for (size_t i = 0; i < n; i++) {
		h[i] = (char)tolower((unsigned char)h[i]);
		if (!(isalnum((unsigned char)h[i]) || h[i] == '-' || h[i] == '.' || (h[i] == '*' && i == 0 && h[1] == '.')))
			return ING_ERR;
	}
	return 0;
}

/* A source-range annotation ("CIDR, CIDR, ...") into rg. An entry that
 * does not parse, or too many, marks the list invalid (its routes then
 * fail closed); ING_ERR only when the store's pool is full. */
/* pass-client-tls-cert's YAML as Traefik 1.7 decoded it (yaml.v2 into
 * untagged structs, so lower-case keys):
 *   pem: true
 *   infos:
 *     notafter, notbefore, sans: true
 *     subject, issuer:
 *       country, province, locality, organization, commonname,
 *       serialnumber, domaincomponent: true
 * into PC_* and ING_CI_* bits. A key Traefik would not have read is
 * skipped, with a note (it ignored those silently); anything malformed
 * sends no header (as in Traefik), with a note: 0 or ING_ERR. */
enum { PC_PEM = 1u << 30, PC_INFOS = 1u << 31 };
static const char *
js_pc_map(struct js *j, int obj, int level, uint32_t *bits, char *note, size_t cap)
{
	static const char *const names[3][ING_DN__COUNT] = {
	    {"pem", "infos"},
	    {"notbefore", "notafter", "sans", "subject", "issuer"},
	    {[ING_DN_DC] = "domaincomponent", [ING_DN_C] = "country", [ING_DN_ST] = "province", [ING_DN_L] = "locality",
	     [ING_DN_O] = "organization", [ING_DN_SN] = "serialnumber", [ING_DN_CN] = "commonname"}};
	static const char *const yes[] = {"y", "Y", "yes", "Yes", "YES", "on", "On", "ON", "true", "True", "TRUE"};
	static const char *const no[] = {"n", "N", "no", "No", "NO", "off", "Off", "OFF", "false", "False", "FALSE", ""};
	if (j->t[obj].type == JSMN_PRIMITIVE) /* "infos:" with nothing below */
		return NULL;
	if (j->t[obj].type != JSMN_OBJECT)
		return "infos, subject and issuer take keys below them, not a value";
	for (int k = obj + 1, m = 0; m < j->t[obj].size; m++, k = js_skip(j, k + 1)) {
		const char *const *nm = names[level < 2 ? level : 2], *why;
		int i = 0, b = -1;
		while (i < ING_DN__COUNT && (nm[i] == NULL || !js_is(j, k, nm[i])))
			i++;
		if (i == ING_DN__COUNT) {
			if (note[0] == '\0')
				ing_snprintf(note, cap, "key \"%.*s\" is not one Traefik read; skipped",
				             ING_MIN(j->t[k].end - j->t[k].start, 24), j->s + j->t[k].start);
			continue;
		}
		if ((level == 0 && i == 1) || (level == 1 && i >= 3)) { /* infos, subject, issuer: a mapping */
			*bits |= level == 0 ? PC_INFOS : 0;
			if ((why = js_pc_map(j, k + 1, level == 0 ? 1 : i - 1, bits, note, cap)) != NULL)
				return why;
			continue;
		}
		char v[8];
		int n = js_str(j, k + 1, v, sizeof v);
		for (size_t y = 0; y < ING_ARRAY_LEN(yes) && n >= 0 && b < 0; y++)
			b = !strcmp(v, yes[y]) ? 1 : b;
		for (size_t y = 0; y < ING_ARRAY_LEN(no) && n >= 0 && b < 0; y++)
			b = !strcmp(v, no[y]) ? 0 : b;
		if (b < 0)
			return "a value that is not a boolean";
		if (b) /* pem; the infos; a name of the subject or the issuer */
			*bits |= level == 0 ? PC_PEM : level == 1 ? 1u << i : level == 2 ? ING_CI_SUBJECT(i) : ING_CI_ISSUER(i);
	}
	return NULL;
}

static int
js_pass_cert(const char *s, uint32_t *out, char *note, size_t cap)
{
	static char json[2048];
	jsmntok_t tok[48];
	struct js j;
	char err[160];
	const char *why = NULL;
	note[0] = '\0';
	*out = 0;
	if (s[str_span(s, " \t\r\n", 1)] == '\0')
		return 0;
	if (ym_load(&j, s, json, sizeof json, tok, ING_ARRAY_LEN(tok), err, sizeof err) != 0)
		why = err;
	else
		why = js_pc_map(&j, 0, 0, out, note, cap);
	if (why != NULL) {
		ing_snprintf(note, cap, "%s: no certificate headers", why);
		*out = 0;
		return ING_ERR;
	}
	return 0;
}

static int
js_ranges(struct js *j, int tok, struct st_ranges *rg)
{
	static char v[ING_MAX_CIDRS * 48];
	int len = js_str(j, tok, v, sizeof v);
	int *link = &rg->first; /* where the next entry is chained */
	rg->set = 1;
	if (len < 0) {
		rg->invalid = 1;
		ing_snprintf(rg->bad, sizeof rg->bad, "(list too long: ING_MAX_CIDRS)");
		log_limit(LIM_CIDRS, "st: source-range entries");
		j->err = NULL;
		return 0;
	}
	struct ing_str e, items = {v, (size_t)len};
	while (str_item(&items, &e)) {
		if (e.n == 0)
			continue;
		if (rg->n >= ING_MAX_CIDRS) {
			log_limit(LIM_CIDRS, "st: source-range entries");
			rg->invalid = 1;
			ing_snprintf(rg->bad, sizeof rg->bad, "(more than ING_MAX_CIDRS entries)");
			break;
		}
		struct st_cidr cidr;
		if (ing_cidr_parse(e.p, e.n, &cidr.family, &cidr.bits, cidr.ip) != 0) {
			if (!rg->invalid)
				ing_snprintf(rg->bad, sizeof rg->bad, "%.*s", (int)ING_MIN(e.n, 40), e.p);
			rg->invalid = 1;
			continue;
		}
		int ci = st_alloc(&g_st.p_cidr, "st: source-range entries");
		if (ci < 0) {
			j->err = "too many source-range entries (ING_MAX_STORE_CIDRS)";
			return ING_ERR;
		}
		cidr.next = -1;
		g_st.cidr[ci] = cidr;
		*link = ci;
		link = &g_st.cidr[ci].next;
		rg->n++;
	}
	return 0;
}

/* An Ingress into the spare record. */
static int
js_ingress(struct js *j, int obj)
{
	struct st_ing *r = st_begin(SK_INGRESS);
	int tok[IA__COUNT], spec, c, e;
	memset(tok, -1, sizeof tok);
	if (js_meta(j, obj, &r->h, &r->created) != 0)
		return ING_ERR;
	spec = js_get(j, obj, "spec");
	if (js_str(j, js_get(j, spec, "ingressClassName"), r->class_name, sizeof r->class_name) < 0 ||
	    js_str(j, js_path(j, obj, "metadata", "resourceVersion", NULL), r->rv, sizeof r->rv) < 0)
		return ING_ERR;
	static char lb[ING_STATUS_LEN];
	int bad;
	js_lb(j, obj, lb, &bad);
	r->lb_hash = st_hash(lb, "");
	static char unsup[ST_UNSUP_LEN];
	unsup[0] = '\0';
	uint8_t rank[IA__COUNT] = {0};
	js_annotations(j, obj, js_ing_ann, ING_ARRAY_LEN(js_ing_ann), tok, rank, unsup, &r->nunsup, r->auth_other,
	               sizeof r->auth_other);
	r->class_ann = rank[IA_CLASS] > 0;
	r->unsup = st_note_new(unsup);
	/* Traefik's and nginx's auth annotations fill the same fields (nginx's
	 * last); both on one Ingress is a conflict rb_auth refuses */
	int tauth = 0, nauth = 0;
	for (int a = IA_AUTH_TYPE; a <= IA_AUTH_HEADER_FIELD; a++)
		tauth |= tok[a] >= 0;
	for (int a = IA_AUTH_URL; a <= IA_AUTH_TLS_INSECURE; a++)
		tauth |= tok[a] >= 0;
	for (int a = IA_NGX_AUTH_TYPE; a <= IA_NGX_AUTH_REALM; a++)
		nauth |= tok[a] >= 0;
	for (int a = IA_NGX_AUTH_URL; a <= IA_NGX_AUTH_REDIRECT; a++)
		nauth |= tok[a] >= 0;
	r->auth_nginx = (uint8_t)(nauth ? 1 + tauth : 0);
	struct {
		char *dst;
		size_t cap;
	} f[IA__COUNT] = {
	    [IA_CLASS] = {r->a_class, sizeof r->a_class},
	    [IA_RULE_TYPE] = {r->a_rule_type, sizeof r->a_rule_type},
	    [IA_PRIORITY] = {r->a_priority, sizeof r->a_priority},
	    [IA_AUTH_TYPE] = {r->a_auth_type, sizeof r->a_auth_type},
	    [IA_AUTH_SECRET] = {r->a_auth_secret, sizeof r->a_auth_secret},
	    [IA_AUTH_REALM] = {r->a_auth_realm, sizeof r->a_auth_realm},
	    [IA_AUTH_REMOVE] = {r->a_auth_remove, sizeof r->a_auth_remove},
	    [IA_AUTH_HEADER_FIELD] = {r->a_auth_header, sizeof r->a_auth_header},
	    [IA_PRESERVE_HOST] = {r->a_preserve_host, sizeof r->a_preserve_host},
	    [IA_SSL_REDIRECT] = {r->a_ssl_redirect, sizeof r->a_ssl_redirect},
	    [IA_ENTRY_POINTS] = {r->a_entry_points, sizeof r->a_entry_points},
	    [IA_NGX_AUTH_TYPE] = {r->a_auth_type, sizeof r->a_auth_type},
	    [IA_NGX_AUTH_SECRET] = {r->a_auth_secret, sizeof r->a_auth_secret},
	    [IA_NGX_AUTH_SECRET_TYPE] = {r->a_auth_secret_type, sizeof r->a_auth_secret_type},
	    [IA_NGX_AUTH_REALM] = {r->a_auth_realm, sizeof r->a_auth_realm},
	};
	for (int a = 0; a < IA__COUNT; a++) {
		if (tok[a] < 0 || f[a].dst == NULL)
			continue;
		if (js_str(j, tok[a], f[a].dst, f[a].cap) < 0) {
			j->err = "annotation value malformed or too long";
			return ING_ERR;
		}
	}
	if (tok[IA_PASS_CERT] >= 0) {
		char y[1024], note[96] = "";
		if (js_str(j, tok[IA_PASS_CERT], y, sizeof y) < 0)
			ing_snprintf(note, sizeof note, "over %zu bytes", sizeof y - 1);
		else
			js_pass_cert(y, &r->pass_cert, note, sizeof note);
		r->pc_note = st_note_new(note);
	}
	if (js_blob(j, tok, IA_B_FIRST, IA_B_LAST, &r->hdrs, &r->hdrs_over) != 0)
		return ING_ERR;
	if ((tok[IA_WHITELIST] >= 0 && js_ranges(j, tok[IA_WHITELIST], &r->wl) != 0) ||
	    (tok[IA_NGX_WHITELIST] >= 0 && js_ranges(j, tok[IA_NGX_WHITELIST], &r->wl_ngx) != 0) ||
	    (tok[IA_NGX_DENYLIST] >= 0 && js_ranges(j, tok[IA_NGX_DENYLIST], &r->deny) != 0) ||
	    (tok[IA_NGX_LIMIT_WL] >= 0 && js_ranges(j, tok[IA_NGX_LIMIT_WL], &r->lim_wl) != 0))
		return ING_ERR;
	/* default backend: spec.defaultBackend (v1) or spec.backend (v1beta1) */
	int def = js_get(j, spec, "defaultBackend");
	if (def < 0)
		def = js_get(j, spec, "backend");
	if (def >= 0) {
		if (js_backend(j, def, &r->def) != 0)
			return ING_ERR;
		r->has_default = 1;
	}
	int *link = &r->paths; /* where the next path is chained */
	for (e = js_first(j, js_get(j, spec, "rules"), &c); e >= 0; e = js_next(j, e, &c)) {
		char host[ING_NAME_LEN];
		int pc, pe;
		if (js_str(j, js_get(j, e, "host"), host, sizeof host) < 0 || js_host(host) != 0) {
			j->err = "bad rule host";
			return ING_ERR;
		}
		for (pe = js_first(j, js_path(j, e, "http", "paths", NULL), &pc); pe >= 0; pe = js_next(j, pe, &pc)) {
			char ptype[32];
			int pi = st_alloc(&g_st.p_path, "st: Ingress paths");
			if (pi < 0) {
				j->err = "too many Ingress paths (ING_MAX_INGRESS_PATHS)";
				return ING_ERR;
			}
			struct st_path *p = &g_st.path[pi];
			*link = pi;
			link = &p->next;
			r->npaths++;
			memcpy(p->host, host, sizeof host);
			if (js_str(j, js_get(j, pe, "path"), p->path, sizeof p->path) < 0 ||
			    (p->path[0] != '\0' && p->path[0] != '/')) {
				j->err = j->err ? j->err : "path must start with /";
				return ING_ERR;
			}
			if (js_str(j, js_get(j, pe, "pathType"), ptype, sizeof ptype) < 0)
				return ING_ERR;
			p->path_type = !strcmp(ptype, "Exact") ? PT_EXACT : !strcmp(ptype, "Prefix") ? PT_PREFIX : PT_IMPL;
			if (ptype[0] != '\0' && p->path_type == PT_IMPL && strcmp(ptype, "ImplementationSpecific") != 0) {
				j->err = "unknown pathType";
				return ING_ERR;
			}
			if (js_backend(j, js_get(j, pe, "backend"), &p->be) != 0)
				return ING_ERR;
		}
	}
	link = &r->tls;
	for (e = js_first(j, js_get(j, spec, "tls"), &c); e >= 0; e = js_next(j, e, &c)) {
		char secret[ING_NAME_LEN];
		int hc, he;
		if (js_str(j, js_get(j, e, "secretName"), secret, sizeof secret) < 0)
			return ING_ERR;
		for (he = js_first(j, js_get(j, e, "hosts"), &hc); he >= 0; he = js_next(j, he, &hc)) {
			int ti = st_alloc(&g_st.p_tlsh, "st: Ingress TLS hosts");
			if (ti < 0) {
				j->err = "too many TLS hosts (ING_MAX_TLS_HOSTS)";
				return ING_ERR;
			}
			struct st_tlshost *t = &g_st.tlsh[ti];
			*link = ti;
			link = &t->next;
			r->ntls++;
			memcpy(t->secret, secret, sizeof secret);
			if (js_str(j, he, t->host, sizeof t->host) < 0 || js_host(t->host) != 0) {
				j->err = "bad TLS host";
				return ING_ERR;
			}
		}
	}
	return 0;
}

/* A Service into the spare record. */
static int
js_service(struct js *j, int obj)
{
	struct st_svc *r = st_begin(SK_SERVICE);
	int tok[SA__COUNT], spec, c, e;
	char type[32];
	memset(tok, -1, sizeof tok);
	if (js_meta(j, obj, &r->h, NULL) != 0)
		return ING_ERR;
	spec = js_get(j, obj, "spec");
	if (js_str(j, js_get(j, spec, "type"), type, sizeof type) < 0)
		return ING_ERR;
	if (strcmp(type, "ExternalName") == 0) {
		char name[ING_NAME_LEN];
		r->external = 1;
		if (js_str(j, js_get(j, spec, "externalName"), name, sizeof name) <= 0) {
			j->err = "ExternalName without externalName";
			return ING_ERR;
		}
		if ((r->external_name = st_note_new(name)) < 0) {
			j->err = "no room for its externalName (ING_MAX_NOTES)";
			return ING_ERR;
		}
	}
	for (e = js_first(j, js_get(j, spec, "ports"), &c); e >= 0; e = js_next(j, e, &c)) {
		int64_t num;
		if (r->nports >= ING_MAX_SVC_PORTS) {
			log_limit(LIM_SVC_PORTS, "st: Service ports");
			j->err = "too many ports (ING_MAX_SVC_PORTS)";
			return ING_ERR;
		}
		struct st_svc_port *p = &r->ports[r->nports++];
		if (js_str(j, js_get(j, e, "name"), p->name, sizeof p->name) < 0 ||
		    js_int(j, js_get(j, e, "port"), 1, 65535, &num) != 0)
			return ING_ERR;
		p->port = (uint16_t)num;
	}
	static char unsup[ST_UNSUP_LEN];
	unsup[0] = '\0';
	uint8_t rank[SA__COUNT] = {0};
	js_annotations(j, obj, js_svc_ann, ING_ARRAY_LEN(js_svc_ann), tok, rank, unsup, &r->nunsup, NULL, 0);
	r->unsup = st_note_new(unsup);
	char *dst[SA_MAXCONN] = {r->a_lb_method, r->a_sticky, r->a_stickiness, r->a_cookie, r->a_breaker};
	size_t cap[SA_MAXCONN] = {sizeof r->a_lb_method, sizeof r->a_sticky, sizeof r->a_stickiness, sizeof r->a_cookie,
	                          sizeof r->a_breaker};
	for (int a = 0; a < SA_MAXCONN; a++)
		if (tok[a] >= 0 && js_str(j, tok[a], dst[a], cap[a]) < 0) {
			j->err = "annotation value malformed or too long";
			return ING_ERR;
		}
	uint8_t over = 0;
	if (js_blob(j, tok, SA_MAXCONN, SA_BUFFERING, &r->rare, &over) != 0 || over) {
		j->err = over ? "max-conn-* and buffering over ING_MAX_HEADER_ANN_BYTES or the note pool" : j->err;
		return ING_ERR;
	}
	return 0;
}

/* Adds one address to an endpoints record. */
static int
js_eps_addr(struct js *j, struct st_eps *r, int tok, int ready, int subset, int *tail)
{
	char ip[64];
	struct ing_addr a;
	if (js_str(j, tok, ip, sizeof ip) <= 0 || ing_addr_parse_ip(&a, ip, strlen(ip)) != 0) {
		j->err = "bad endpoint address";
		return ING_ERR;
	}
	int ai = st_alloc(&g_st.p_addr, "st: endpoint addresses");
	if (ai < 0) {
		j->err = "too many endpoint addresses (ING_MAX_ENDPOINT_ADDRS)";
		return ING_ERR;
	}
	struct st_addr *ad = &g_st.addr[ai];
	ad->family = a.family;
	memcpy(ad->ip, a.ip, 16);
	ad->ready = (uint8_t)ready;
	ad->subset = (uint8_t)subset;
	if (*tail < 0)
		r->addrs = ai;
	else
		g_st.addr[*tail].next = ai;
	*tail = ai;
	r->naddrs++;
	return 0;
}

static int
js_eps_port(struct js *j, struct st_eps *r, int e, int subset)
{
	int64_t num;
	if (r->nports >= ING_MAX_SVC_PORTS) {
		log_limit(LIM_SVC_PORTS, "st: endpoint ports");
		j->err = "too many ports (ING_MAX_SVC_PORTS)";
		return ING_ERR;
	}
	struct st_eps_port *p = &r->ports[r->nports++];
	p->subset = (uint8_t)subset;
	if (js_str(j, js_get(j, e, "name"), p->name, sizeof p->name) < 0 ||
	    js_int(j, js_get(j, e, "port"), 1, 65535, &num) != 0)
		return ING_ERR;
	p->port = (uint16_t)num;
	return 0;
}

/* An EndpointSlice (discovery v1 or v1beta1) into the spare record. */
static int
js_slice(struct js *j, int obj)
{
	struct st_eps *r = st_begin(SK_ENDPOINTS);
	char type[16];
	int c, e, tail = -1;
	if (js_meta(j, obj, &r->h, NULL) != 0)
		return ING_ERR;
	if (js_str(j, js_path(j, obj, "metadata", "labels", "kubernetes.io/service-name", NULL), r->svc, sizeof r->svc) <= 0) {
		j->err = j->err ? j->err : "no kubernetes.io/service-name label";
		return ING_ERR;
	}
	if (js_str(j, js_get(j, obj, "addressType"), type, sizeof type) < 0)
		return ING_ERR;
	if (strcmp(type, "FQDN") == 0)
		return 0; /* not addresses we can dial: an empty slice */
	for (e = js_first(j, js_get(j, obj, "ports"), &c); e >= 0; e = js_next(j, e, &c))
		if (js_eps_port(j, r, e, 0) != 0)
			return ING_ERR;
	for (e = js_first(j, js_get(j, obj, "endpoints"), &c); e >= 0; e = js_next(j, e, &c)) {
		/* conditions.ready: unset means ready (API documentation) */
		int ready = js_bool(j, js_path(j, e, "conditions", "ready", NULL), 1);
		int ac, ae;
		for (ae = js_first(j, js_get(j, e, "addresses"), &ac); ae >= 0; ae = js_next(j, ae, &ac))
			if (js_eps_addr(j, r, ae, ready, 0, &tail) != 0)
				return ING_ERR;
	}
	return 0;
}

/* A core/v1 Endpoints object: its subsets into one record. */
static int
js_endpoints(struct js *j, int obj)
{
	struct st_eps *r = st_begin(SK_ENDPOINTS);
	int c, e, sub = 0, tail = -1;
	if (js_meta(j, obj, &r->h, NULL) != 0)
		return ING_ERR;
	memcpy(r->svc, r->h.name, ING_MIN(sizeof r->svc - 1, strlen(r->h.name)));
	r->core = 1;
	for (e = js_first(j, js_get(j, obj, "subsets"), &c); e >= 0; e = js_next(j, e, &c), sub++) {
		int pc, pe, ac, ae;
		if (sub > 255) {
			j->err = "too many subsets";
			return ING_ERR;
		}
		for (pe = js_first(j, js_get(j, e, "ports"), &pc); pe >= 0; pe = js_next(j, pe, &pc))
			if (js_eps_port(j, r, pe, sub) != 0)
				return ING_ERR;
		/* only ready addresses; notReadyAddresses are not kept */
		for (ae = js_first(j, js_get(j, e, "addresses"), &ac); ae >= 0; ae = js_next(j, ae, &ac))
			if (js_eps_addr(j, r, js_get(j, ae, "ip"), 1, sub, &tail) != 0)
				return ING_ERR;
	}
	return 0;
}

/* A Secret into the spare record, its data base64-decoded. Returns 1 when
 * it is not referenced by any Ingress (then it is not kept). */
static int
js_secret(struct js *j, int obj)
{
	struct st_secret *r = st_begin(SK_SECRET);
	int data, k, c;
	if (js_meta(j, obj, &r->h, NULL) != 0)
		return ING_ERR;
	if (!st_secret_wanted(r->h.ns, r->h.name))
		return 1;
	if (js_str(j, js_get(j, obj, "type"), r->type, sizeof r->type) < 0)
		return ING_ERR;
	data = js_get(j, obj, "data");
	if (data < 0 || j->t[data].type != JSMN_OBJECT)
		return 0; /* no data: an empty Secret (auth then fails closed) */
	k = data + 1;
	for (c = 0; c < j->t[data].size && k + 1 < j->n; c++, k = js_skip(j, k + 1)) {
		int v = k + 1;
		if (r->nkeys++ >= ING_MAX_SECRET_KEYS) { /* counted: "exactly one key" checks need it */
			log_limit(LIM_SECRET_KEYS, "st: data keys of one Secret");
			continue;
		}
		if (js_str(j, k, r->key[c].name, sizeof r->key[c].name) <= 0 || j->t[v].type != JSMN_STRING) {
			j->err = "bad data key";
			return ING_ERR;
		}
		int len = au_b64_decode(j->s + j->t[v].start, (size_t)(j->t[v].end - j->t[v].start), r->data + r->used_bytes,
		                         sizeof r->data - r->used_bytes);
		if (len < 0) {
			if ((size_t)(j->t[v].end - j->t[v].start) / 4 * 3 > sizeof r->data - r->used_bytes) {
				log_limit(LIM_SECRET_BYTES, "st: Secret data");
				j->err = "data too large (ING_MAX_SECRET_BYTES)";
			} else {
				j->err = "data is not base64";
			}
			return ING_ERR;
		}
		r->key[c].off = r->used_bytes;
		r->key[c].len = (uint32_t)len;
		r->used_bytes += (uint32_t)len;
	}
	return 0;
}

/* ===== 7. Kubernetes API watch client ================================= kw_
 * One stream per kind (Ingress, Service, EndpointSlice|Endpoints, Secret)
 * and namespace: a paginated list, then a watch from the list's
 * resourceVersion, over HTTP/1.1 (TLS through the port). Chunked or
 * length-framed bodies go through hp_body_step, the payload through a JSON
 * framer that cuts one list item or one watch event at a time, so memory
 * is bounded by the largest object, not the list. A 404 tries the next API
 * version; a 410 relists; a drop, a 5xx or a silent stream reconnects with
 * capped, jittered back-off, forever. Throughout, the last good store and
 * routing table keep serving. Only Secrets an Ingress uses are kept, so
 * the Secret list waits for the Ingress lists; one an Ingress names later
 * is fetched by name, and /ready waits for such fetches.
 * In: the API server. Out: st_ changes, rebuild requests. Limits:
 * ING_MAX_WATCHES, ING_MAX_OBJECT_BYTES.
 */
#define KW_PAGE 500               /* list page size (items) */
#define KW_SECRET_PAGE 100        /* ... of Secrets, which are large */
#define KW_FRAME_DEPTH 64         /* JSON nesting no API object reaches */
#define KW_ERROR_BODY 4096        /* the start of an error answer, kept for its message */
#define KW_BACKOFF_MIN_MS 500
#define KW_BACKOFF_MAX_MS 30000
#define KW_CONNECT_MS 10000       /* connect + TLS handshake */
#define KW_RESPONSE_MS 30000      /* a list page or a response head */
#define KW_WATCH_S 60             /* timeoutSeconds asked for (jittered +25%) */
#define KW_WATCH_GRACE_MS 30000   /* silence past timeoutSeconds: reconnect */
#define KW_TOKEN_MS 60000         /* re-read a token file at least this often */
#define KW_REBUILD_MAX_MS 1000    /* a continuous stream still rebuilds this often */
#define KW_OUTAGE_MS 5000         /* failing this long: relist rather than re-watch */
#define KW_MISS_MS 60000          /* a Secret a fetch did not bring: not fetched again before */
#define KW_RESOLVE_POLL_MS 50     /* the API server's name being resolved: look again */
#define KW_SNAP_MIN_MS 1000       /* snapshots: at most one a second */
#define KW_SNAP_RETRY_MS 60000    /* ... after a failed one */
#define KW_SNAP_REFRESH_MS 3600000 /* ... and one this often, so a quiet cluster's is never too old */
#define KW_SA_DIR "/var/run/secrets/kubernetes.io/serviceaccount"

enum {
	KS_IDLE,  /* not started: the first request lists */
	KS_LIST,  /* a paginated list (limit/continue) */
	KS_WATCH, /* a watch from the list's resourceVersion */
	KS_GET,   /* one object by name (a Secret fetch; the status writer's re-read) */
	KS_PATCH, /* the status writer's merge patch */
};
static const char *const kw_phase_names[] = {"idle", "list", "watch", "get", "patch"};

struct kw_api {
	uint8_t kind;
	const char *prefix;
	const char *resource;
};
static const struct kw_api kw_apis[] = {
    {SK_INGRESS, "/apis/networking.k8s.io/v1", "ingresses"},
    {SK_INGRESS, "/apis/networking.k8s.io/v1beta1", "ingresses"},
    {SK_INGRESS, "/apis/extensions/v1beta1", "ingresses"},
    {SK_SERVICE, "/api/v1", "services"},
    {SK_ENDPOINTS, "/apis/discovery.k8s.io/v1", "endpointslices"},
    {SK_ENDPOINTS, "/apis/discovery.k8s.io/v1beta1", "endpointslices"},
    {SK_ENDPOINTS, "/api/v1", "endpoints"},
    {SK_SECRET, "/api/v1", "secrets"},
};

/* A kind's first (preferred) row of kw_apis, found rather than kept by
 * hand so a new row cannot shift it. A kind's rows are adjacent: a 404
 * walks on to the next row of the same kind. */
static int
kw_api_first(int kind)
{
	int i = 0;
	while (i + 1 < (int)ING_ARRAY_LEN(kw_apis) && kw_apis[i].kind != kind)
		i++;
	return i;
}

/* The JSON framer: cuts a byte stream into values without parsing them.
 * KF_LIST: the elements of the top-level object's "items" array are the
 * values; the rest (kind, metadata) is kept as the envelope. KF_WATCH: each
 * top-level value is one event; a newline always ends one, so a garbage or
 * truncated line costs that line only. KF_OBJECT: one whole object. */
enum { KF_LIST, KF_WATCH, KF_OBJECT };
enum {
	KFS_NONE, /* the value is being kept */
	KFS_BIG,  /* over ING_MAX_OBJECT_BYTES or nested absurdly: dropped whole, logged */
	KFS_JUNK, /* a watch line that is not JSON: dropped up to its newline */
};
struct kw_frame {
	uint8_t mode;
	uint8_t in_str, esc;
	uint8_t in_items;  /* inside "items": [ ... ] */
	uint8_t skip;      /* KFS_*: why the current value is being dropped */
	uint8_t key_open;  /* a depth-1 string is being read as a key */
	int depth;
	char key[8];
	int keylen;
	size_t len;        /* bytes of the current value */
	size_t envlen;
	char env[2048];
};

struct kw_stream {
	uint8_t used, kind, phase, synced, forbidden;
	uint8_t writer;              /* the Ingress status writer's stream */
	uint8_t clear, conflicts, again; /* its write clears; 409s of this write; see kw_status_seen */
	int api;                     /* index into kw_apis */
	char ns[ING_NS_LEN];         /* "" = all namespaces */
	char get_name[ING_NAME_LEN]; /* KS_GET: the Secret (or, status writer: Ingress) to fetch */
	int conn;
	uint32_t conn_id;
	char rv[32];
	char cont[1024];
	uint8_t mark;
	int fails;
	uint64_t fail_since; /* first failure of the current streak, 0 none */
	uint64_t retry_at;
	uint64_t timeout_ms; /* watch: silence allowed */
	int status;
	struct hp_body body;
	struct kw_frame fr;
	uint64_t events;
	char obj[ING_MAX_OBJECT_BYTES];
};

/* Outcomes of status writes (/metrics). */
enum { KSR_WRITTEN, KSR_CLEARED, KSR_CONFLICT, KSR_GONE, KSR_FORBIDDEN, KSR_ERROR, KSR__COUNT };
static const char *const kw_status_results[KSR__COUNT] = {"written", "cleared", "conflict", "gone", "forbidden", "error"};

/* A Secret a fetch did not bring: not fetched again before next_try. */
struct kw_miss {
	char ns[ING_NS_LEN], name[ING_NAME_LEN];
	uint64_t next_try;
};

static struct {
	int enabled;
	int https;
	char host[ING_NAME_LEN]; /* as in the URL: a name or an IP literal */
	char hosthdr[ING_NAME_LEN + 8];
	uint16_t port;
	char prefix[128];
	struct ing_addr addr;
	int resolved;
	struct tls_ctx *tls;
	uint32_t ca_hash;
	char token_file[512];
	char ca_file[512];
	char token[ING_MAX_TOKEN_BYTES];
	uint64_t token_at;
	struct kw_stream st[ING_MAX_WATCHES];
	int nstreams; /* the list/watch streams come first */
	int api[SK__COUNT];
	int dirty;
	int ready; /* a table from a complete first sync went live */
	uint64_t dirty_since, rebuild_at;
	uint64_t snap_load;         /* the snapshot is loaded then if nothing was listed yet (0: not) */
	uint64_t snap_next, snap_ok; /* the earliest next write; the last good one */
	int snap_due;               /* a table was built since the last good write */
	int snap_stale;             /* the table is from the snapshot: no full list yet */
	int64_t snap_wall;          /* when that snapshot, or the last written, was written */
	char snap_since[24];        /* snap_wall of the one serving, "2006-01-02T15:04:05Z" */
	struct kw_miss miss[ING_MAX_SECRETS];
	uint64_t reconnects[SK__COUNT], relists[SK__COUNT], decode_errors[SK__COUNT], events[SK__COUNT];
	uint64_t event_wall[SK__COUNT]; /* when the last came (seconds since the epoch) */
	struct {                          /* the Ingress status writer */
		int known;                    /* want is what Ingresses should show */
		char want[ING_STATUS_LEN];
		uint32_t want_hash;
		int pub_seen;                 /* the published Service was stored with pub */
		char pub[ING_STATUS_LEN];
		struct kw_sjob {
			char ns[ING_NS_LEN], name[ING_NAME_LEN], rv[32];
			uint8_t clear;            /* a class moved away: take our address off */
		} q[ING_MAX_STATUS_QUEUE];
		int nq;
		int dirty;                    /* compare the store with want again */
		int fails, forbidden;
		uint64_t retry_at;
		uint64_t writes[KSR__COUNT];
	} status;
} g_kw;

static int rb_rebuild(void); /* routing table build (rb_) */
static int rb_dns(const char *name, struct ing_addr *out, int max, uint32_t build);
static uint32_t rb_build_no(void);
struct rt_table;
static struct rt_table *rt_live(void);

static const char *
kw_res(const struct kw_stream *s)
{
	return kw_apis[s->api].resource;
}

static const struct kw_stream *kw_waiting(void);
static void kw_status_want(void);

/* Coalesced rebuild: within throttleDuration of a change, but at least
 * once a second under a continuous stream. Until the first sync is done
 * only that second: a table from part of the lists costs a whole build
 * (and the memory of the second table) just before the complete one. */
static void
kw_changed(void)
{
	if (!g_kw.dirty) {
		g_kw.dirty = 1;
		g_kw.dirty_since = g.now;
	}
	uint64_t at = kw_waiting() != NULL ? UINT64_MAX : g.now + cf_live->kube.throttle;
	g_kw.rebuild_at = ING_MIN(at, g_kw.dirty_since + KW_REBUILD_MAX_MS);
}

/* Reads the token file (projected tokens rotate). Keeps the old token
 * when the file cannot be read. */
static void
kw_token_load(void)
{
	char err[ING_ERR_LEN];
	static char buf[ING_MAX_TOKEN_BYTES];
	g_kw.token_at = g.now;
	if (g_kw.token_file[0] == '\0')
		return;
	ssize_t n = port_read_file(g_kw.token_file, buf, sizeof buf, err, sizeof err);
	if (n < 0) {
		log_warnx("kw: token: %s (keeping the previous token)", err);
		return;
	}
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == '\r' || buf[n - 1] == ' '))
		n--;
	buf[n] = '\0';
	for (ssize_t i = 0; i < n; i++)
		if ((unsigned char)buf[i] <= ' ' || buf[i] == 0x7f) {
			log_warnx("kw: token: %s holds a control character or space (keeping the previous token)",
			          g_kw.token_file);
			return;
		}
	if (strcmp(buf, g_kw.token) != 0) {
		if (g_kw.token[0] != '\0')
			log_info("kw: token: %s changed; using the new token", g_kw.token_file);
		memcpy(g_kw.token, buf, (size_t)n + 1);
	}
	explicit_bzero(buf, sizeof buf);
}

/* (Re)loads the CA bundle when its file changed (a rotated cluster CA):
 * 0, or ING_ERR with err (the old context, if any, stays). The old
 * context is freed only when no watch connection uses it. */
static int
kw_ca_load(char *err, size_t errlen)
{
	static char ca[ING_MAX_CA_BYTES];
	ssize_t n = port_read_file(g_kw.ca_file, ca, sizeof ca, err, errlen);
	if (n < 0)
		return ING_ERR;
	uint32_t h = st_hash(ca, "");
	if (g_kw.tls != NULL && h == g_kw.ca_hash)
		return 0;
	for (int i = 0; g_kw.tls != NULL && i < ING_MAX_WATCHES; i++)
		if (g_kw.st[i].used && g_kw.st[i].conn >= 0)
			return 0; /* in use: swapped at a later connect */
	struct tls_ctx *ctx = tls_client_ctx(ca, (size_t)n, err, errlen);
	if (ctx == NULL)
		return ING_ERR;
	if (g_kw.tls != NULL) {
		tls_ctx_free(g_kw.tls);
		log_info("kw: CA %s changed; using the new one", g_kw.ca_file);
	}
	g_kw.tls = ctx;
	g_kw.ca_hash = h;
	return 0;
}

/* Where the API server is, from the environment and [kubernetes]. NULL, or
 * what is wrong. */
static const char *
kw_setup(const struct cf_kube *k)
{
	static char why[600];
	const char *eh = getenv("KUBERNETES_SERVICE_HOST"), *ep = getenv("KUBERNETES_SERVICE_PORT");
	const char *sa = getenv("INGRESSD_SERVICEACCOUNT_DIR");
	char url[300];
	int incluster = eh != NULL && *eh && ep != NULL && *ep;
	char err[ING_ERR_LEN];

	/* zero all but the streams' object buffers: 4 MB of .bss that a
	 * stream touches only as far as its objects reach */
	char *z = (char *)&g_kw;
	for (int i = 0; i < ING_MAX_WATCHES; i++) {
		memset(z, 0, (size_t)(g_kw.st[i].obj - z));
		z = (char *)(&g_kw.st[i] + 1);
	}
	memset(z, 0, (size_t)((char *)(&g_kw + 1) - z));
	for (int i = 0; i < SK__COUNT; i++)
		g_kw.api[i] = kw_api_first(i);
	if (sa == NULL || *sa == '\0')
		sa = KW_SA_DIR;
	if (k->endpoint[0] != '\0') {
		ing_snprintf(url, sizeof url, "%s", k->endpoint);
	} else if (incluster) {
		ing_snprintf(url, sizeof url, strchr(eh, ':') ? "https://[%s]:%s" : "https://%s:%s", eh, ep);
	} else {
		return "no Kubernetes API server: set [kubernetes] endpoint in the config (for example "
		       "\"http://127.0.0.1:8001\" with kubectl proxy), or run in a pod, where KUBERNETES_SERVICE_HOST "
		       "and KUBERNETES_SERVICE_PORT are set";
	}
	if (k->token[0] != '\0')
		ing_snprintf(g_kw.token, sizeof g_kw.token, "%s", k->token);
	else if (incluster)
		ing_snprintf(g_kw.token_file, sizeof g_kw.token_file, "%s/token", sa);
	if (k->ca_file[0] != '\0')
		ing_snprintf(g_kw.ca_file, sizeof g_kw.ca_file, "%s", k->ca_file);
	else if (incluster)
		ing_snprintf(g_kw.ca_file, sizeof g_kw.ca_file, "%s/ca.crt", sa);

	/* scheme://host[:port][/prefix] */
	const char *p = url;
	if (strncmp(p, "https://", 8) == 0) {
		g_kw.https = 1;
		p += 8;
	} else if (strncmp(p, "http://", 7) == 0) {
		p += 7;
	} else {
		ing_snprintf(why, sizeof why, "[kubernetes] endpoint \"%s\": must start with http:// or https://", url);
		return why;
	}
	const char *hend = *p == '[' ? strchr(p, ']') : p + str_span(p, ":/", 0);
	if (hend == NULL || hend == p) {
		ing_snprintf(why, sizeof why, "[kubernetes] endpoint \"%s\": no host", url);
		return why;
	}
	if (*p == '[')
		hend++;
	ing_snprintf(g_kw.host, sizeof g_kw.host, "%.*s", (int)(hend - p), p);
	p = hend;
	g_kw.port = g_kw.https ? 443 : 80;
	if (*p == ':') {
		uint64_t port;
		size_t pl = str_span(p + 1, "/", 0);
		if (str_to_u64((struct ing_str){p + 1, pl}, 65535, &port) != 0 || port == 0) {
			ing_snprintf(why, sizeof why, "[kubernetes] endpoint \"%s\": bad port", url);
			return why;
		}
		g_kw.port = (uint16_t)port;
		p += 1 + pl;
	}
	ing_snprintf(g_kw.prefix, sizeof g_kw.prefix, "%s", p);
	if (g_kw.prefix[0] != '\0' && g_kw.prefix[strlen(g_kw.prefix) - 1] == '/')
		g_kw.prefix[strlen(g_kw.prefix) - 1] = '\0';
	ing_snprintf(g_kw.hosthdr, sizeof g_kw.hosthdr, "%s:%u", g_kw.host, g_kw.port);
	if (ing_addr_parse_ip(&g_kw.addr, g_kw.host, strlen(g_kw.host)) == 0)
		g_kw.resolved = 1;
	/* the name TLS checks: without brackets */
	if (g_kw.host[0] == '[') {
		memmove(g_kw.host, g_kw.host + 1, strlen(g_kw.host));
		g_kw.host[strlen(g_kw.host) - 1] = '\0';
	}
	if (g_kw.https) {
		if (g_kw.ca_file[0] == '\0')
			ing_snprintf(g_kw.ca_file, sizeof g_kw.ca_file, "/etc/ssl/certs/ca-certificates.crt");
		if (kw_ca_load(err, sizeof err) != 0) {
			ing_snprintf(why, sizeof why, "CA for %s: %s (set [kubernetes] certAuthFilePath)", url, err);
			return why;
		}
	} else if (strcmp(g_kw.host, "127.0.0.1") != 0 && strcmp(g_kw.host, "localhost") != 0 &&
	           strcmp(g_kw.host, "::1") != 0) {
		log_warnx("kw: %s is plain HTTP to a remote host: the token and Secrets cross the network unencrypted", url);
	}
	kw_token_load();
	if (g_kw.token_file[0] != '\0' && g_kw.token[0] == '\0')
		log_warnx("kw: no token yet from %s; requests go without one until it appears", g_kw.token_file);

	/* the streams: every kind in every namespace (or cluster-wide) */
	int nns = k->n_namespaces > 0 ? k->n_namespaces : 1;
	for (int kind = 0; kind < SK__COUNT; kind++)
		for (int n = 0; n < nns; n++) {
			if (g_kw.nstreams >= ING_MAX_WATCHES) {
				ing_snprintf(why, sizeof why, "too many watch streams: %d kinds x %d namespaces (limit is %d, "
				         "ING_MAX_WATCHES)", SK__COUNT, nns, ING_MAX_WATCHES);
				return why;
			}
			struct kw_stream *s = &g_kw.st[g_kw.nstreams++];
			s->used = 1;
			s->kind = (uint8_t)kind;
			s->api = g_kw.api[kind];
			s->conn = -1;
			if (k->n_namespaces > 0)
				ing_snprintf(s->ns, sizeof s->ns, "%s", k->namespaces[n]);
		}
	g_kw.enabled = 1;
	if (k->snapshot[0] != '\0')
		g_kw.snap_load = ING_MAX(g.now + k->snap_wait, 1);
	kw_status_want();
	if (!k->status_set)
		log_info("kw: [kubernetes.ingressEndpoint] not set: the Ingress status is not written (kubectl get ingress "
		         "shows no address)");
	log_info("kw: API server %s://%s%s, %d streams, token %s", g_kw.https ? "https" : "http", g_kw.hosthdr,
	         g_kw.prefix, g_kw.nstreams,
	         g_kw.token_file[0] ? g_kw.token_file : g_kw.token[0] ? "from the config" : "none");
	return NULL;
}

/* ---- the JSON framer ---- */

static void kw_value(struct kw_stream *s, const char *p, size_t n);

static void
kw_frame_init(struct kw_frame *f, int mode)
{
	memset(f, 0, offsetof(struct kw_frame, env));
	f->mode = (uint8_t)mode;
}

/* Logs a value over ING_MAX_OBJECT_BYTES with the name found in its start
 * (the API server writes metadata first). */
/* A "key":"value" string from the start of a too-large object (the API
 * server writes metadata first); "" when not found. */
static void
kw_peek(const struct kw_stream *s, const char *key, char *out, size_t cap)
{
	size_t kl = strlen(key);
	const char *m = str_find(s->obj, ING_MIN(s->fr.len, sizeof s->obj), key, kl);
	out[0] = '\0';
	if (m != NULL) {
		const char *e = memchr(m + kl, '"', (size_t)(s->obj + sizeof s->obj - m - kl));
		if (e != NULL && (size_t)(e - m - kl) < cap)
			ing_snprintf(out, cap, "%.*s", (int)(e - m - kl), m + kl);
	}
}

/* A Secret an Ingress uses whose new version cannot be read: it carries
 * policy (htpasswd users) or identity (a TLS key), so the old version must
 * not stay - a revoked password would keep working. It is stored without
 * data, with the reason: its auth routes answer 401, its TLS hosts get
 * the default certificate. */
static void
kw_secret_unreadable(struct kw_stream *s, const char *ns, const char *name, const char *why)
{
	char n1[ING_NS_LEN], n2[ING_NAME_LEN];
	ing_snprintf(n1, sizeof n1, "%s", ns); /* ns and name may point into the spare */
	ing_snprintf(n2, sizeof n2, "%s", name);
	if (!st_secret_wanted(n1, n2))
		return;
	log_warnx("kw: secret %s/%s: %s: kept without data, so its auth routes answer 401 and its TLS hosts get the default "
	          "certificate", n1, n2, why);
	struct st_secret *r = st_begin(SK_SECRET);
	memcpy(r->h.ns, n1, sizeof r->h.ns);
	memcpy(r->h.name, n2, sizeof r->h.name);
	r->bad = why;
	if (st_commit(SK_SECRET, s->mark) == 0)
		kw_changed();
}

static void
kw_frame_oversize(struct kw_stream *s)
{
	char ns[ING_NS_LEN], name[ING_NAME_LEN];
	kw_peek(s, "\"name\":\"", name, sizeof name);
	kw_peek(s, "\"namespace\":\"", ns, sizeof ns);
	log_limit(LIM_OBJECT_BYTES, "kw: API object size");
	log_warnx("kw: %s: object %s over %d bytes (ING_MAX_OBJECT_BYTES): skipped; its previous version stays",
	          kw_res(s), name[0] ? name : "?", ING_MAX_OBJECT_BYTES);
	g_kw.decode_errors[s->kind]++;
	if (s->kind == SK_SECRET && name[0] && ns[0])
		kw_secret_unreadable(s, ns, name, "object over ING_MAX_OBJECT_BYTES");
	else if (s->phase == KS_LIST)
		st_keep((enum st_kind)s->kind, ns, name, s->mark);
}

static void
kw_frame_end(struct kw_stream *s)
{
	struct kw_frame *f = &s->fr;
	if (f->skip == KFS_BIG)
		kw_frame_oversize(s);
	else if (f->skip == KFS_NONE)
		kw_value(s, s->obj, f->len);
	f->len = 0;
	f->skip = KFS_NONE;
}

/* Bytes before the next quote, backslash or (nl) newline: a run of a JSON
 * string's inside that changes no framer state. Most runs are short (keys,
 * names), where a table beats memchr. */
static size_t
kw_str_run(const char *p, size_t n, int nl)
{
	static const uint8_t stop[256] = {['"'] = 1, ['\\'] = 1, ['\n'] = 2};
	unsigned mask = nl ? 3 : 1;
	size_t k = 0;
	while (k < n && !(stop[(unsigned char)p[k]] & mask))
		k++;
	return k;
}

/* Feeds payload bytes. Returns ING_ERR when the stream is not JSON at all
 * (a list that is not an object). */
static int
kw_frame_feed(struct kw_stream *s, const char *p, size_t n)
{
	struct kw_frame *f = &s->fr;
	for (size_t i = 0; i < n; i++) {
		/* Fast path: inside a string of a value (most of the bytes; not a
		 * list's envelope, not a key being read), a run is copied whole. */
		if (f->in_str && !f->esc && f->skip != KFS_JUNK &&
		    (f->mode == KF_LIST ? f->in_items && f->depth >= 3 : f->depth >= 1)) {
			size_t k = kw_str_run(p + i, n - i, f->mode == KF_WATCH);
			size_t room = f->len < sizeof s->obj ? sizeof s->obj - f->len : 0;
			if (k > room && !f->skip)
				f->skip = KFS_BIG;
			if (room > 0)
				memcpy(s->obj + f->len, p + i, ING_MIN(k, room));
			f->len += k;
			if ((i += k) == n)
				break;
		}
		char c = p[i];
		int in_value = f->mode == KF_LIST ? f->in_items && (f->depth >= 3 || (f->depth == 2 && c == '{'))
		                                  : f->depth >= 1;
		if (f->mode == KF_WATCH && c == '\n') { /* an event never spans lines */
			if (f->depth > 0 || f->skip) {
				if (f->skip != KFS_JUNK && f->depth > 0) {
					log_warnx("kw: %s: truncated watch event (%zu bytes): skipped", kw_res(s), f->len);
					g_kw.decode_errors[s->kind]++;
				}
				f->depth = 0;
				f->in_str = f->esc = 0;
				f->len = 0;
				f->skip = KFS_NONE;
			}
			continue;
		}
		if (f->skip == KFS_JUNK) /* garbage: until the newline */
			continue;
		if (in_value || (f->mode != KF_LIST && c == '{' && f->depth == 0)) {
			if (f->len < sizeof s->obj)
				s->obj[f->len] = c;
			else if (!f->skip)
				f->skip = KFS_BIG;
			f->len++;
		} else if (f->mode == KF_LIST && !(f->in_items && f->depth == 2 && c != ']')) {
			if (f->envlen < sizeof f->env)
				f->env[f->envlen++] = c;
			else
				return ING_ERR; /* an envelope this large is not a list */
		}
		if (f->in_str) {
			if (f->esc)
				f->esc = 0;
			else if (c == '\\')
				f->esc = 1;
			else if (c == '"')
				f->in_str = f->key_open = 0;
			else if (f->key_open && f->keylen < (int)sizeof f->key)
				f->key[f->keylen++] = c;
			continue;
		}
		switch (c) {
		case '"':
			f->in_str = 1;
			f->key_open = f->mode == KF_LIST && f->depth == 1;
			f->keylen = 0;
			break;
		case ':':
			break;
		case '{':
		case '[':
			f->depth++;
			if (f->mode == KF_LIST && f->depth == 2 && c == '[' && f->keylen == 5 && memcmp(f->key, "items", 5) == 0)
				f->in_items = 1;
			if (f->depth > KW_FRAME_DEPTH && !f->skip)
				f->skip = KFS_BIG; /* absurd nesting: not an API object */
			break;
		case '}':
		case ']':
			if (f->depth == 0)
				return ING_ERR;
			f->depth--;
			if (f->mode == KF_LIST) {
				if (f->in_items && f->depth == 2 && c == '}')
					kw_frame_end(s);
				else if (f->in_items && f->depth == 1)
					f->in_items = 0;
			} else if (f->depth == 0) {
				kw_frame_end(s);
			}
			break;
		case ' ':
		case '\t':
		case '\r':
		case '\n':
		case ',':
			break;
		default:
			if (f->depth == 0) {
				if (f->mode != KF_WATCH)
					return ING_ERR;
				log_warnx("kw: %s: a watch line that is not JSON: skipped", kw_res(s));
				g_kw.decode_errors[s->kind]++;
				f->skip = KFS_JUNK;
			}
			break;
		}
	}
	return 0;
}

/* ---- decoded values into the store ---- */

/* Is this Ingress ours? ingressClass empty: no class, "traefik" or
 * "ingressd"; else exactly that class. The annotation wins over
 * spec.ingressClassName, as in ingress-nginx. */
static int
kw_class_ok(const struct st_ing *r)
{
	const char *want = cf_live->kube.ingress_class;
	const char *have = r->class_ann ? r->a_class : r->class_name;
	if (want[0] != '\0')
		return strcmp(have, want) == 0;
	return have[0] == '\0' || strcmp(have, "traefik") == 0 || strcmp(have, "ingressd") == 0;
}

/* ---- what the Ingress status should be ---- */

/* Is s the status writer's stream (an extra slot, like a Secret fetch)? */
static int
kw_is_status(const struct kw_stream *s)
{
	return s->writer;
}

/* The relist generation objects of stream s belong to: a fetch by name
 * stores under its list stream's mark, or the next sweep could take it. */
static uint8_t
kw_mark(const struct kw_stream *s, const char *ns)
{
	if (s - g_kw.st < g_kw.nstreams)
		return s->mark;
	for (int i = 0; i < g_kw.nstreams; i++)
		if (g_kw.st[i].kind == s->kind && (g_kw.st[i].ns[0] == '\0' || strcmp(g_kw.st[i].ns, ns) == 0))
			return g_kw.st[i].mark;
	return s->mark;
}

/* Is the publishedService in the store? */
static int
kw_pub_stored(void)
{
	char ns[ING_NS_LEN];
	const char *p = cf_live->kube.status_service, *slash = strchr(p, '/');
	if (slash == NULL || (size_t)(slash - p) >= sizeof ns)
		return 0;
	memcpy(ns, p, (size_t)(slash - p));
	ns[slash - p] = '\0';
	return st_find(SK_SERVICE, ns, slash + 1) != NULL;
}

/* Is h the publishedService? */
static int
kw_is_pub(const struct st_hdr *h)
{
	const char *p = cf_live->kube.status_service;
	size_t nl = strlen(h->ns);
	return p[0] && strncmp(p, h->ns, nl) == 0 && p[nl] == '/' && strcmp(p + nl + 1, h->name) == 0;
}

/* What every Ingress of ours should show: [kubernetes.ingressEndpoint]'s
 * ip and hostname (one entry, as Traefik 1.7 wrote), or all the addresses
 * of the published Service's own status (Traefik 1.7 took the first only;
 * k3s's service load balancer lists every node). Unknown while that
 * Service is missing or has no address: then nothing is written. */
static void
kw_status_want(void)
{
	const struct cf_kube *k = &cf_live->kube;
	static char w[ING_STATUS_LEN];
	int known = 0;
	w[0] = '\0';
	if (k->status_service[0] != '\0') {
		known = g_kw.status.pub_seen && g_kw.status.pub[0] != '\0';
		if (known)
			memcpy(w, g_kw.status.pub, sizeof w);
	} else if (k->status_set) {
		js_lb_entry(w, sizeof w, k->status_ip, k->status_hostname);
		known = 1;
	}
	if (known == g_kw.status.known && strcmp(w, g_kw.status.want) == 0)
		return;
	if (known)
		log_info("kw: Ingress status: publishing [%s]%s%s", w, k->status_service[0] ? " from Service " : "",
		         k->status_service);
	else if (k->status_set)
		log_info("kw: Ingress status: Service %s %s; Ingress status not written until it has one", k->status_service,
		         g_kw.status.pub_seen ? "has no load-balancer address" : "not found");
	memcpy(g_kw.status.want, w, sizeof w);
	g_kw.status.known = known;
	g_kw.status.want_hash = st_hash(w, "");
	g_kw.status.dirty = 1;
}

/* Queues a status write for Ingress ns/name (clear: take our address off;
 * rv is then the version that moved away). Survives a full queue: the
 * next comparison finds it again. */
static void
kw_status_enqueue(const char *ns, const char *name, const char *rv, int clear)
{
	struct kw_sjob *q = g_kw.status.q;
	int i = 0;
	while (i < g_kw.status.nq && (strcmp(q[i].ns, ns) != 0 || strcmp(q[i].name, name) != 0))
		i++;
	if (i == ING_MAX_STATUS_QUEUE) {
		log_limit(LIM_STATUS_QUEUE, "kw: Ingress status writes waiting");
		g_kw.status.dirty = 1;
		return;
	}
	if (i == g_kw.status.nq) {
		g_kw.status.nq++;
		ing_snprintf(q[i].ns, sizeof q[i].ns, "%s", ns);
		ing_snprintf(q[i].name, sizeof q[i].name, "%s", name);
	}
	q[i].clear = (uint8_t)clear;
	ing_snprintf(q[i].rv, sizeof q[i].rv, "%s", clear ? rv : "");
}

/* Applies one object (ADDED/MODIFIED, or DELETED) of stream s. */
static void
kw_apply(struct kw_stream *s, struct js *j, int obj, int deleted)
{
	enum st_kind k = (enum st_kind)s->kind;
	struct st_hdr *h = st_begin(k);
	int r;
	if (deleted) {
		if (js_meta(j, obj, h, NULL) == 0 && st_delete(k, h->ns, h->name)) {
			log_debug("kw: %s %s/%s: deleted", st_kind_names[k], h->ns, h->name);
			kw_changed();
		}
		if (k == SK_SERVICE && h->name[0] && kw_is_pub(h)) {
			g_kw.status.pub_seen = 0;
			kw_status_want();
		}
		return;
	}
	switch (k) {
	case SK_INGRESS: r = js_ingress(j, obj); break;
	case SK_SERVICE: r = js_service(j, obj); break;
	case SK_ENDPOINTS: r = strcmp(kw_res(s), "endpoints") == 0 ? js_endpoints(j, obj) : js_slice(j, obj); break;
	default: r = js_secret(j, obj); break;
	}
	if (r < 0) {
		st_abort(k);
		g_kw.decode_errors[k]++;
		g_st.rejected[k]++;
		if (k == SK_SECRET && h->name[0]) {
			kw_secret_unreadable(s, h->ns, h->name, j->err ? j->err : "malformed");
			return;
		}
		log_warnx("kw: %s %s/%s: %s: skipped; its previous version stays", st_kind_names[k], h->ns[0] ? h->ns : "?",
		          h->name[0] ? h->name : "?", j->err ? j->err : "malformed");
		if (s->phase == KS_LIST)
			st_keep(k, h->ns, h->name, s->mark);
		return;
	}
	if ((k == SK_INGRESS && !kw_class_ok((struct st_ing *)h)) || (k == SK_SECRET && r == 1)) {
		/* not ours (another ingress class), or a Secret no Ingress uses */
		char ns[ING_NS_LEN], name[ING_NAME_LEN], rv[32];
		memcpy(ns, h->ns, sizeof ns);
		memcpy(name, h->name, sizeof name);
		/* a class moved away: the replica that sees it takes our address
		 * off (only ours: another controller's stays) */
		int ours = k == SK_INGRESS && g_kw.status.known && ((struct st_ing *)h)->lb_hash == g_kw.status.want_hash;
		if (ours)
			memcpy(rv, ((struct st_ing *)h)->rv, sizeof rv);
		st_abort(k);
		if (st_delete(k, ns, name)) {
			log_debug("kw: %s %s/%s: no longer ours", st_kind_names[k], ns, name);
			kw_changed();
			if (ours)
				kw_status_enqueue(ns, name, rv, 1);
		}
		return;
	}
	if (st_commit(k, kw_mark(s, h->ns)) != 0) {
		g_kw.decode_errors[k]++;
		return;
	}
	if (k == SK_SERVICE && kw_is_pub(h)) {
		int bad;
		js_lb(j, obj, g_kw.status.pub, &bad);
		if (bad > 0)
			log_warnx("kw: Service %s/%s: %d load-balancer address(es) malformed: not published", h->ns, h->name, bad);
		g_kw.status.pub_seen = 1;
		kw_status_want();
	}
	log_debug("kw: %s %s/%s: stored", st_kind_names[k], h->ns, h->name);
	kw_changed();
}

static void kw_relist(struct kw_stream *s);

/* The status writer's answer or re-read of an Ingress: only its version
 * and status go into the stored record (and only if ingressd serves it);
 * the watch brings the rest. Storing the whole object from here could
 * route an Ingress that has just left the labelselector. s->again: the
 * object moved on since s->rv, and a clear is still needed (s->rv is then
 * the new version). */
static void
kw_status_seen(struct kw_stream *s, struct js *j)
{
	struct st_ing *n = st_begin(SK_INGRESS), *cur;
	int ok = js_ingress(j, 0) == 0, ours = ok && kw_class_ok(n);
	s->again = ok && strcmp(n->rv, s->rv) != 0;
	if (ok && (cur = st_find(SK_INGRESS, n->h.ns, n->h.name)) != NULL && ours) {
		memcpy(cur->rv, n->rv, sizeof cur->rv);
		cur->lb_hash = n->lb_hash;
	}
	if (s->clear) {
		s->again = s->again && !ours && g_kw.status.known && n->lb_hash == g_kw.status.want_hash;
		if (s->again)
			memcpy(s->rv, n->rv, sizeof s->rv);
	}
	st_abort(SK_INGRESS);
}

/* One framed value: a list item, a watch event or a fetched object. */
static void
kw_value(struct kw_stream *s, const char *p, size_t n)
{
	struct js j;
	char type[16], rv[32];
	int obj = 0;
	if (js_parse(&j, p, n) != 0) {
		g_kw.decode_errors[s->kind]++;
		log_warnx("kw: %s: %s in a %s (%zu bytes): skipped", kw_res(s), j.err, s->phase == KS_WATCH ? "watch event" : "list item", n);
		return;
	}
	g_kw.events[s->kind]++;
	g_kw.event_wall[s->kind] = (uint64_t)port_wall_s();
	s->events++;
	if (s->phase == KS_WATCH) {
		if (js_str(&j, js_get(&j, 0, "type"), type, sizeof type) <= 0 || (obj = js_get(&j, 0, "object")) < 0 ||
		    j.t[obj].type != JSMN_OBJECT) {
			g_kw.decode_errors[s->kind]++;
			log_warnx("kw: %s: a watch event without type or object: skipped", kw_res(s));
			return;
		}
		if (strcmp(type, "ERROR") == 0) {
			int64_t code = 0;
			char msg[200];
			js_int(&j, js_get(&j, obj, "code"), 0, 999, &code);
			if (js_str(&j, js_get(&j, obj, "message"), msg, sizeof msg) < 0)
				msg[0] = '\0';
			if (code == 410) {
				log_info("kw: %s: %s: relisting", kw_res(s), msg[0] ? msg : "resource version expired");
				s->rv[0] = '\0'; /* the watch ends; kw_body_done relists */
			} else {
				log_warnx("kw: %s: watch error %d: %s", kw_res(s), (int)code, msg);
			}
			return;
		}
		if (js_str(&j, js_path(&j, obj, "metadata", "resourceVersion", NULL), rv, sizeof rv) > 0)
			memcpy(s->rv, rv, sizeof rv);
		if (strcmp(type, "BOOKMARK") == 0)
			return;
		if (strcmp(type, "ADDED") != 0 && strcmp(type, "MODIFIED") != 0 && strcmp(type, "DELETED") != 0) {
			log_warnx("kw: %s: unknown watch event type \"%s\": skipped", kw_res(s), type);
			return;
		}
		kw_apply(s, &j, obj, type[0] == 'D');
		return;
	}
	if (kw_is_status(s))
		kw_status_seen(s, &j);
	else
		kw_apply(s, &j, 0, 0);
}

/* ---- requests ---- */

static size_t
kw_urlenc(char *dst, size_t cap, const char *src)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t o = 0;
	for (; *src && o + 4 < cap; src++) {
		unsigned char c = (unsigned char)*src;
		if (isalnum(c) || c == '-' || c == '_' || c == '.' || c == '~') {
			dst[o++] = (char)c;
		} else {
			dst[o++] = '%';
			dst[o++] = hex[c >> 4];
			dst[o++] = hex[c & 15];
		}
	}
	dst[o] = '\0';
	return o;
}

/* Queues the stream's next request on c. */
static int
kw_send(struct kw_stream *s, struct cn *c)
{
	char target[3072], enc[1600];
	const struct kw_api *a = &kw_apis[s->api];
	size_t n;
	if (g.now - g_kw.token_at >= KW_TOKEN_MS || s->phase == KS_LIST)
		kw_token_load();
	n = (size_t)ing_snprintf(target, sizeof target, "%s%s%s%s/%s", g_kw.prefix, a->prefix, s->ns[0] ? "/namespaces/" : "",
	                     s->ns, a->resource);
	if (s->phase == KS_GET || s->phase == KS_PATCH) {
		kw_urlenc(enc, sizeof enc, s->get_name);
		ing_snprintf(target + n, sizeof target - n, "/%s%s", enc, s->phase == KS_PATCH ? "/status" : "");
	} else {
		if (s->phase == KS_LIST) {
			n += (size_t)ing_snprintf(target + n, sizeof target - n, "?limit=%d", s->kind == SK_SECRET ? KW_SECRET_PAGE : KW_PAGE);
			if (s->cont[0]) {
				kw_urlenc(enc, sizeof enc, s->cont);
				n += (size_t)ing_snprintf(target + n, sizeof target - n, "&continue=%s", enc);
			}
		} else {
			unsigned jitter = 0;
			port_random(&jitter, sizeof jitter);
			int t = KW_WATCH_S + (int)(jitter % (KW_WATCH_S / 4 + 1));
			s->timeout_ms = (uint64_t)t * 1000 + KW_WATCH_GRACE_MS;
			n += (size_t)ing_snprintf(target + n, sizeof target - n,
			                      "?watch=1&allowWatchBookmarks=true&timeoutSeconds=%d&resourceVersion=%s", t, s->rv);
		}
		if (s->kind == SK_INGRESS && cf_live->kube.labelselector[0]) {
			kw_urlenc(enc, sizeof enc, cf_live->kube.labelselector);
			n += (size_t)ing_snprintf(target + n, sizeof target - n, "&labelSelector=%s", enc);
		}
		if (s->kind == SK_SECRET) /* not the big ones no Ingress can use */
			ing_snprintf(target + n, sizeof target - n,
			         "&fieldSelector=type%%21%%3Dhelm.sh%%2Frelease.v1%%2Ctype%%21%%3Dkubernetes.io%%2Fservice-account-token");
	}
	/* a status write: a merge patch of status alone, so labels and
	 * annotations stay whatever they are now (a PUT of the status
	 * subresource writes metadata too), under the version it was decided on */
	static char body[ING_STATUS_LEN + 128];
	int blen = 0;
	if (s->phase == KS_PATCH)
		blen = ing_snprintf(body, sizeof body, "{\"metadata\":{\"resourceVersion\":\"%s\"},\"status\":{\"loadBalancer\":"
		                    "{\"ingress\":%s%s%s}}}", s->rv, s->clear ? "null" : "[", s->clear ? "" : g_kw.status.want,
		                    s->clear ? "" : "]");
	if (c->out == NULL && (c->out = bf_get()) == NULL)
		return ING_ERR;
	if (bf_printf(c->out, "%s %s HTTP/1.1\r\nHost: %s\r\nUser-Agent: ingressd/%s\r\nAccept: application/json\r\n",
	              blen ? "PATCH" : "GET", target, g_kw.hosthdr, ING_VERSION) != 0 ||
	    (g_kw.token[0] && bf_printf(c->out, "Authorization: Bearer %s\r\n", g_kw.token) != 0) ||
	    (blen && bf_printf(c->out, "Content-Type: application/merge-patch+json\r\nContent-Length: %d\r\n", blen) != 0) ||
	    bf_append(c->out, "\r\n", 2) != 0 || bf_append(c->out, body, (size_t)blen) != 0)
		return ING_ERR;
	log_debug("kw: %s%s%s: %s %s", kw_res(s), s->ns[0] ? " in " : "", s->ns, kw_phase_names[s->phase],
	          s->phase == KS_WATCH ? s->rv : s->cont[0] ? "(next page)" : "");
	cn_set_state(c, KW_REQUEST);
	c->flags = (uint16_t)(c->flags & ~CNF_WANT_READ) | CNF_WANT_WRITE;
	cn_deadline(c, tk_after(KW_RESPONSE_MS));
	c->scan = 0;
	s->status = 0;
	return 0;
}

/* ---- stream life ---- */

static struct kw_stream *
kw_of(struct cn *c)
{
	struct kw_stream *s = &g_kw.st[c->ctx];
	return c->ctx >= 0 && s->used && s->conn == cn_index(c) && s->conn_id == c->id ? s : NULL;
}

/* The delay after the fails-th failure in a row: doubling from
 * KW_BACKOFF_MIN_MS up to KW_BACKOFF_MAX_MS, jittered to half..full so
 * replicas spread out. */
static uint64_t
kw_backoff_ms(int fails)
{
	uint32_t r = 0;
	uint64_t base = KW_BACKOFF_MAX_MS;
	if (fails < 16 && ((uint64_t)KW_BACKOFF_MIN_MS << fails) < KW_BACKOFF_MAX_MS)
		base = (uint64_t)KW_BACKOFF_MIN_MS << fails;
	port_random(&r, sizeof r);
	return base / 2 + r % (base / 2 + 1);
}

/* The stream goes idle and retries after a capped, jittered back-off. */
static void
kw_backoff(struct kw_stream *s, const char *why)
{
	uint64_t delay = kw_backoff_ms(s->fails);
	s->fails++;
	if (s->fail_since == 0)
		s->fail_since = g.now;
	s->retry_at = g.now + delay;
	g_kw.reconnects[s->kind]++;
	log_warnx("kw: %s%s%s: %s; retrying in %" PRIu64 " ms", kw_res(s), s->ns[0] ? " in " : "", s->ns, why, delay);
}

static void
kw_relist(struct kw_stream *s)
{
	s->phase = KS_LIST;
	s->rv[0] = s->cont[0] = '\0';
	s->mark++;
	g_kw.relists[s->kind]++;
}

static void
kw_start(struct kw_stream *s)
{
	char err[ING_ERR_LEN];
	struct cn *c;
	int fd;
	s->retry_at = 0;
	/* After an outage (likely an API server restart, maybe on other
	 * data), relist: resourceVersions of before may mean nothing now. */
	if (s->phase == KS_IDLE || (s->phase == KS_WATCH && s->fail_since && g.now - s->fail_since > KW_OUTAGE_MS)) {
		if (s->phase == KS_WATCH)
			log_info("kw: %s: after an outage: relisting", kw_res(s));
		kw_relist(s);
		s->fail_since = 0;
	}
	if (!g_kw.resolved) {
		/* a name: resolved off the loop and cached like an ExternalName
		 * (refreshed every RB_DNS_TTL_MS), so a dead DNS server never
		 * stalls the proxy */
		struct ing_addr a;
		int n = rb_dns(g_kw.host, &a, 1, rb_build_no());
		if (n == 0) {
			s->retry_at = g.now + KW_RESOLVE_POLL_MS;
			return;
		}
		if (n < 0) {
			kw_backoff(s, "the API server's name does not resolve");
			return;
		}
		g_kw.addr = a;
	}
	g_kw.addr.port = g_kw.port;
	if (g_kw.https && kw_ca_load(err, sizeof err) != 0)
		log_warnx("kw: CA %s: %s (keeping the previous one)", g_kw.ca_file, err);
	if ((fd = port_connect(&g_kw.addr, err, sizeof err)) < 0) {
		kw_backoff(s, err);
		return;
	}
	if ((c = cn_new(CN_WATCH, fd)) == NULL) {
		port_close(fd);
		log_limit(LIM_WATCHES, "kw: API connections");
		kw_backoff(s, "no connection slot (ING_MAX_WATCHES)");
		return;
	}
	c->addr = g_kw.addr;
	c->ctx = (int)(s - g_kw.st);
	s->conn = cn_index(c);
	s->conn_id = c->id;
	cn_set_state(c, KW_CONNECT);
	cn_deadline(c, tk_after(KW_CONNECT_MS));
}

/* Has stream s listed once? (A Secret stream refused by RBAC counts: auth
 * and TLS then fail closed, but nothing may wait on it.) */
static int
kw_synced(const struct kw_stream *s)
{
	return s->synced || (s->kind == SK_SECRET && s->forbidden);
}

/* Has every stream of a kind listed once? */
static int
kw_listed(int kind)
{
	for (int i = 0; i < g_kw.nstreams; i++)
		if (g_kw.st[i].kind == kind && !kw_synced(&g_kw.st[i]))
			return 0;
	return 1;
}

/* A fetch by name ended, whatever the outcome. A Secret it did not store
 * is not fetched again for KW_MISS_MS; the rebuild tells its users (logged
 * once by au_/tl_) and may complete the first sync. */
static void
kw_get_done(struct kw_stream *s)
{
	if (st_find(SK_SECRET, s->ns, s->get_name) == NULL)
		for (int i = 0; i < ING_MAX_SECRETS; i++)
			if (g_kw.miss[i].next_try <= g.now) {
				memcpy(g_kw.miss[i].ns, s->ns, sizeof s->ns);
				memcpy(g_kw.miss[i].name, s->get_name, sizeof s->get_name);
				g_kw.miss[i].next_try = g.now + KW_MISS_MS;
				break;
			}
	s->used = 0;
	kw_changed();
}

/* The connection of a stream closed: unless the stream planned what comes
 * next, that was a failure. */
static void
kw_conn_gone(struct cn *c)
{
	struct kw_stream *s = kw_of(c);
	if (s == NULL)
		return;
	s->conn = -1;
	if (s->retry_at == 0 && s->used) {
		if (s->phase == KS_GET && s->kind == SK_SECRET) {
			kw_get_done(s);
			return;
		}
		kw_backoff(s, c->why ? c->why : "connection closed");
	}
}

/* Looks up a Status body's message. */
static void
kw_status_msg(struct kw_stream *s, char *msg, size_t cap)
{
	struct js j;
	msg[0] = '\0';
	if (s->fr.len > 0 && s->fr.len < sizeof s->obj && js_parse(&j, s->obj, s->fr.len) == 0 &&
	    js_str(&j, js_get(&j, 0, "message"), msg, cap) >= 0)
		return;
	ing_snprintf(msg, cap, "%.*s", (int)ING_MIN(s->fr.len, 120), s->obj);
}

/* ---- the Ingress status writer ----
 * One stream from the extra slots, while writes wait: a merge patch of
 * status.loadBalancer per Ingress whose status differs from what it
 * should show, under the resourceVersion the difference was seen in. The
 * answer's version and status are stored at once, so nothing is written
 * twice; a 409 re-reads the object (at most 3 times a write) and decides
 * again; any other failure backs off like a watch. A table build never
 * waits for any of it. */

static void
kw_status_pop(void)
{
	if (g_kw.status.nq > 0)
		memmove(&g_kw.status.q[0], &g_kw.status.q[1], sizeof g_kw.status.q[0] * (size_t)--g_kw.status.nq);
}

/* Takes the next write that is still needed into s: 1, or 0 when none. */
static int
kw_status_pick(struct kw_stream *s)
{
	while (g_kw.status.nq > 0) {
		struct kw_sjob *jb = &g_kw.status.q[0];
		const struct st_ing *r = jb->clear ? NULL : st_find(SK_INGRESS, jb->ns, jb->name);
		const char *rv = jb->clear ? jb->rv : r != NULL ? r->rv : "";
		size_t ok = str_span(rv, "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ-_.", 1);
		if ((jb->clear || (r != NULL && g_kw.status.known && r->lb_hash != g_kw.status.want_hash)) && rv[0] &&
		    rv[ok] == '\0') {
			memcpy(s->ns, jb->ns, sizeof s->ns);
			memcpy(s->get_name, jb->name, sizeof s->get_name);
			memcpy(s->rv, rv, sizeof s->rv);
			s->clear = jb->clear;
			s->phase = KS_PATCH;
			s->conflicts = 0;
			return 1;
		}
		kw_status_pop();
	}
	return 0;
}

/* A status write's answer (or its re-read's). */
static int
kw_status_done(struct kw_stream *s, struct cn *c, int keepalive)
{
	char msg[300];
	int res = -1;
	if (s->phase == KS_PATCH && s->status == 409 && s->conflicts < 3) {
		/* written in between: read it again, decide again */
		s->conflicts++;
		g_kw.status.writes[KSR_CONFLICT]++;
		s->phase = KS_GET;
	} else if (s->phase == KS_GET && s->status == 200 && s->clear && s->again) {
		s->phase = KS_PATCH; /* still ours to clear, at the version just read */
	} else {
		const struct st_ing *cur = st_find(SK_INGRESS, s->ns, s->get_name);
		int stale = s->phase == KS_GET && s->status == 200 && !s->again && !s->clear && cur != NULL &&
		            strcmp(cur->rv, s->rv) == 0; /* the re-read brought nothing newer: back off, do not spin */
		if (s->status == 200 && !stale) {
			res = s->phase == KS_GET ? -1 : s->clear ? KSR_CLEARED : KSR_WRITTEN;
			g_kw.status.fails = 0;
			if (g_kw.status.forbidden)
				log_info("kw: Ingress status: writes allowed again");
			g_kw.status.forbidden = 0;
			if (res >= 0)
				log_debug("kw: Ingress %s/%s: status %s", s->ns, s->get_name, s->clear ? "cleared" : "written");
		} else if (s->status == 404) {
			res = KSR_GONE;
		} else {
			if (stale)
				ing_snprintf(msg, sizeof msg, "after a conflict, a re-read brought no newer version");
			else
				kw_status_msg(s, msg, sizeof msg);
			res = s->status == 403 ? KSR_FORBIDDEN : KSR_ERROR;
			if (res == KSR_FORBIDDEN && !g_kw.status.forbidden++)
				log_errx("kw: Ingress status of %s/%s: forbidden (403): %s. RBAC: grant patch on ingresses/status "
				         "(API groups networking.k8s.io and extensions); routing is not affected", s->ns, s->get_name, msg);
			else if (res == KSR_ERROR)
				log_warnx("kw: Ingress status of %s/%s: HTTP %d: %s", s->ns, s->get_name, s->status, msg);
			g_kw.status.retry_at = g.now + kw_backoff_ms(g_kw.status.fails++);
		}
		if (res >= 0)
			g_kw.status.writes[res]++;
		g_kw.status.dirty = 1; /* the store may show something new: compare again */
		kw_status_pop();
		if (g.now < g_kw.status.retry_at || !kw_status_pick(s)) {
			s->used = 0;
			return 0;
		}
	}
	if (!keepalive)
		return 0; /* kw_read plans the restart */
	s->retry_at = 0;
	return kw_send(s, c) == 0;
}

static const struct kw_stream *
kw_status_stream(void)
{
	for (int k = g_kw.nstreams; k < ING_MAX_WATCHES; k++)
		if (g_kw.st[k].used && kw_is_status(&g_kw.st[k]))
			return &g_kw.st[k];
	return NULL;
}

/* Every loop turn, once ready: compare the store with what Ingresses
 * should show, and start the writer when writes wait. */
static void
kw_status_tick(void)
{
	struct st_ing *r;
	if (!g_kw.ready || g.now < g_kw.status.retry_at)
		return;
	if (g_kw.status.dirty && g_kw.status.nq < ING_MAX_STATUS_QUEUE) {
		g_kw.status.dirty = 0;
		if (g_kw.status.pub_seen && !kw_pub_stored()) { /* gone in a relist's sweep */
			g_kw.status.pub_seen = 0;
			kw_status_want();
		}
		for (int i = -1; g_kw.status.known && (r = st_next(SK_INGRESS, &i)) != NULL;)
			if (r->lb_hash != g_kw.status.want_hash)
				kw_status_enqueue(r->h.ns, r->h.name, NULL, 0);
	}
	if (g_kw.status.nq == 0 || kw_status_stream() != NULL)
		return;
	for (int k = g_kw.nstreams; k < ING_MAX_WATCHES; k++) {
		struct kw_stream *s = &g_kw.st[k];
		if (s->used)
			continue;
		memset(s, 0, offsetof(struct kw_stream, obj));
		if (!kw_status_pick(s))
			return;
		s->used = s->writer = 1;
		s->kind = SK_INGRESS;
		s->api = g_kw.api[SK_INGRESS];
		s->conn = -1;
		s->retry_at = g.now;
		return;
	}
	g_kw.status.retry_at = g.now + 100; /* every extra slot fetches a Secret */
}

/* A whole response body arrived. Returns 1 when c carries on with the
 * stream's next request. */
static int
kw_body_done(struct kw_stream *s, struct cn *c, int keepalive)
{
	char msg[300];
	if (kw_is_status(s))
		return kw_status_done(s, c, keepalive);
	if (s->status == 200) {
		if (s->phase == KS_LIST) {
			struct js j;
			char rv[32] = "";
			s->cont[0] = '\0';
			if (s->fr.envlen > 0 && js_parse(&j, s->fr.env, s->fr.envlen) == 0) {
				js_str(&j, js_path(&j, 0, "metadata", "resourceVersion", NULL), rv, sizeof rv);
				if (js_str(&j, js_path(&j, 0, "metadata", "continue", NULL), s->cont, sizeof s->cont) < 0) {
					s->cont[0] = '\0';
					kw_backoff(s, "continue token too long");
					kw_relist(s);
					return 0;
				}
			}
			if (s->cont[0] == '\0') { /* the last page */
				int gone = st_sweep((enum st_kind)s->kind, s->ns, s->mark);
				if (gone > 0)
					kw_changed();
				memcpy(s->rv, rv, sizeof rv);
				if (!s->synced)
					log_info("kw: %s%s%s: synced (%" PRIu64 " objects listed)", kw_res(s), s->ns[0] ? " in " : "",
					         s->ns, s->events);
				s->synced = 1;
				s->forbidden = 0;
				s->fails = 0;
				s->fail_since = 0;
				s->phase = KS_WATCH;
				kw_changed();
			}
		} else if (s->phase == KS_WATCH) {
			s->fails = 0;
			s->fail_since = 0;
			if (s->rv[0] == '\0') /* a 410 event: the watch is too old */
				kw_relist(s);
		} else { /* KS_GET */
			kw_get_done(s);
			return 0;
		}
	} else if (s->status == 404 && s->phase == KS_GET) {
		log_warnx("kw: secret %s/%s: not found", s->ns, s->get_name);
		kw_get_done(s);
		return 0;
	} else if (s->status == 404 && s->api + 1 < (int)ING_ARRAY_LEN(kw_apis) && kw_apis[s->api + 1].kind == s->kind) {
		log_info("kw: %s/%s: not served (404); trying %s/%s", kw_apis[s->api].prefix, kw_res(s), kw_apis[s->api + 1].prefix,
		         kw_apis[s->api + 1].resource);
		s->api++;
		g_kw.api[s->kind] = s->api;
		kw_relist(s);
	} else if (s->status == 410) {
		log_info("kw: %s: list expired (410): relisting", kw_res(s));
		kw_relist(s);
	} else {
		kw_status_msg(s, msg, sizeof msg);
		if (s->status == 404)
			s->api = kw_api_first(s->kind);
		if (s->status == 403) {
			s->forbidden = 1;
			log_errx("kw: %s: forbidden (403): %s. RBAC: grant get, list and watch on %s%s", kw_res(s), msg,
			         kw_res(s), s->kind == SK_SECRET ? " (auth and TLS Secrets fail closed until then)" : "");
		} else if (s->status == 401) {
			log_errx("kw: %s: unauthorized (401): the token is missing, invalid or expired: %s", kw_res(s), msg);
		}
		if (s->phase == KS_GET) {
			kw_get_done(s);
			return 0;
		}
		char why[64];
		ing_snprintf(why, sizeof why, "HTTP %d", s->status);
		kw_backoff(s, why);
		return 0;
	}
	if (!keepalive)
		return 0;
	s->retry_at = 0;
	return kw_send(s, c) == 0;
}

/* Reads and processes what arrived on a watch connection. */
static void
kw_read(struct kw_stream *s, struct cn *c)
{
	for (;;) {
		ssize_t r = cn_fill(c);
		if (r == ING_ERR) {
			cn_close(c, c->tls && tls_error(c->tls) ? tls_error(c->tls) : "read error");
			return;
		}
		if (r == ING_WAIT && c->in == NULL) {
			cn_close(c, "no I/O buffer (ING_MAX_BUFS)");
			return;
		}
		if (r > 0)
			cn_deadline(c, tk_after(c->state == KW_BODY && s->phase == KS_WATCH ? s->timeout_ms : KW_RESPONSE_MS));
		if (c->state == KW_RESPONSE) {
			static struct hp_msg m;
			ssize_t hl = hp_scan_head(c->in->d + c->in->r, bf_len(c->in), &c->scan);
			if (hl == ING_WAIT) {
				if (bf_len(c->in) > ING_MAX_HEADER_BYTES || r == 0)
					cn_close(c, r == 0 ? "closed before a response" : "response head too large");
				if (r <= 0 || c->closing)
					return;
				continue;
			}
			if (hp_parse_response(&m, c->in->d + c->in->r, (size_t)hl) != 0) {
				cn_close(c, m.err);
				return;
			}
			c->in->r += (uint32_t)hl;
			c->scan = 0;
			if (m.status < 200)
				continue; /* 1xx: the real answer follows */
			s->status = m.status;
			hp_body_init(&s->body, m.chunked ? HB_CHUNKED : m.clen >= 0 ? HB_LENGTH : HB_CLOSE,
			             m.clen >= 0 ? (uint64_t)m.clen : 0);
			if (m.minor == 0 || m.conn_close)
				c->flags &= (uint16_t)~CNF_KEEPALIVE;
			else
				c->flags |= CNF_KEEPALIVE;
			kw_frame_init(&s->fr, s->phase == KS_LIST ? KF_LIST : s->phase == KS_WATCH ? KF_WATCH : KF_OBJECT);
			cn_set_state(c, KW_BODY);
			if (s->status == 200 && s->phase == KS_WATCH)
				cn_deadline(c, tk_after(s->timeout_ms));
		}
		/* the body */
		while (bf_len(c->in) > 0 && !s->body.done) {
			size_t doff, dlen;
			ssize_t k = hp_body_step(&s->body, c->in->d + c->in->r, bf_len(c->in), &doff, &dlen);
			if (k < 0) {
				cn_close(c, "bad chunked framing from the API server");
				return;
			}
			if (dlen > 0) {
				const char *pl = c->in->d + c->in->r + doff;
				if (s->status != 200) { /* keep the start of an error body */
					size_t room = s->fr.len < KW_ERROR_BODY ? KW_ERROR_BODY - s->fr.len : 0;
					memcpy(s->obj + s->fr.len, pl, ING_MIN(room, dlen));
					s->fr.len += ING_MIN(room, dlen);
				} else if (kw_frame_feed(s, pl, dlen) != 0) {
					cn_close(c, "the API server sent something that is not a JSON list");
					return;
				}
			}
			c->in->r += (uint32_t)k;
			if (k == 0)
				break;
		}
		if (r == 0 && s->body.mode == HB_CLOSE)
			s->body.done = 1;
		if (s->body.done) {
			int keep = (c->flags & CNF_KEEPALIVE) && r != 0;
			if (!kw_body_done(s, c, keep)) {
				if (s->retry_at == 0 && s->used)
					s->retry_at = g.now; /* planned: start again at once */
				cn_close(c, "stream done");
			}
			return;
		}
		if (r == 0) {
			cn_close(c, "the API server closed the stream");
			return;
		}
		if (r == ING_WAIT)
			return;
	}
}

/* Poll events arrived on a watch connection. */
static void
kw_io(struct cn *c)
{
	struct kw_stream *s = kw_of(c);
	char err[400];
	if (s == NULL) {
		cn_close(c, "stream gone");
		return;
	}
	if (c->state == KW_CONNECT) {
		if (port_connect_done(c->fd) != 0) {
			ing_snprintf(err, sizeof err, "connect %s: %s", g_kw.hosthdr, ing_strerror(errno));
			cn_close(c, "connect failed");
			kw_backoff(s, err);
			return;
		}
		if (g_kw.https && (c->tls = tls_client(g_kw.tls, c->fd, g_kw.host, str_fnv_z(FNV_SEED, g_kw.host) | 1, err, sizeof err)) == NULL) {
			cn_close(c, "TLS");
			kw_backoff(s, err);
			return;
		}
		if (kw_send(s, c) != 0) {
			cn_close(c, "request too large");
			return;
		}
	}
	if (c->state == KW_REQUEST) {
		int r = cn_flush(c);
		if (r < 0) {
			ing_snprintf(err, sizeof err, "%s: %s", c->tls ? "TLS" : "write", c->tls ? tls_error(c->tls) : ing_strerror(errno));
			cn_close(c, "request failed");
			kw_backoff(s, err);
			return;
		}
		if (r == 0)
			return;
		cn_set_state(c, KW_RESPONSE);
		c->flags = (uint16_t)(c->flags & ~CNF_WANT_WRITE) | CNF_WANT_READ;
	}
	kw_read(s, c);
}

static void
kw_timeout(struct cn *c)
{
	struct kw_stream *s = kw_of(c);
	if (s == NULL) {
		cn_close(c, "stream gone");
		return;
	}
	cn_close(c, c->state == KW_CONNECT ? "connect timed out" : s->phase == KS_WATCH && c->state == KW_BODY
	                                                                ? "watch went silent"
	                                                                : "API server too slow");
}

/* Fetches, by name, Secrets an Ingress uses that the store lacks (the
 * watch dropped them while nothing used them). Not before the Secret list
 * is done: it brings them all in one request. At most as many as the miss
 * list has room for, so that every fetch ends stored or remembered and the
 * first sync cannot wait on fetches that keep starting again. */
static void
kw_fetch_missing(void)
{
	struct st_ing *r;
	const char *name;
	int room = 0;
	if (!kw_listed(SK_SECRET))
		return;
	for (int m = 0; m < ING_MAX_SECRETS; m++)
		room += g_kw.miss[m].next_try <= g.now;
	for (int k = g_kw.nstreams; k < ING_MAX_WATCHES; k++)
		room -= g_kw.st[k].used;
	for (int i = -1; room > 0 && (r = st_next(SK_INGRESS, &i)) != NULL;)
		for (int it = -2; room > 0 && (name = st_ing_secret(r, &it)) != NULL;) {
			int busy = 0, slot = -1;
			if (st_find(SK_SECRET, r->h.ns, name) != NULL)
				continue;
			for (int m = 0; m < ING_MAX_SECRETS; m++)
				if (g_kw.miss[m].next_try > g.now && !strcmp(g_kw.miss[m].ns, r->h.ns) && !strcmp(g_kw.miss[m].name, name))
					busy = 1;
			for (int k = g_kw.nstreams; k < ING_MAX_WATCHES && !busy; k++) {
				struct kw_stream *s = &g_kw.st[k];
				if (s->used && s->kind == SK_SECRET && !strcmp(s->ns, r->h.ns) && !strcmp(s->get_name, name))
					busy = 1;
				else if (!s->used && slot < 0)
					slot = k;
			}
			if (busy || slot < 0)
				continue;
			struct kw_stream *s = &g_kw.st[slot];
			memset(s, 0, offsetof(struct kw_stream, obj));
			s->used = 1;
			s->kind = SK_SECRET;
			s->api = kw_api_first(SK_SECRET);
			s->phase = KS_GET;
			s->conn = -1;
			ing_snprintf(s->ns, sizeof s->ns, "%s", r->h.ns);
			ing_snprintf(s->get_name, sizeof s->get_name, "%s", name);
			s->retry_at = g.now;
			room--;
		}
}

/* Is Secret ns/name being fetched by name? */
static int
kw_fetching(const char *ns, const char *name)
{
	for (int k = g_kw.nstreams; k < ING_MAX_WATCHES; k++)
		if (g_kw.st[k].used && g_kw.st[k].kind == SK_SECRET && !strcmp(g_kw.st[k].ns, ns) &&
		    !strcmp(g_kw.st[k].get_name, name))
			return 1;
	return 0;
}

static int
kw_secrets_forbidden(void)
{
	for (int i = 0; i < g_kw.nstreams; i++)
		if (g_kw.st[i].kind == SK_SECRET && g_kw.st[i].forbidden)
			return 1;
	return 0;
}

/* Readiness: every kind listed once, and no Secret an Ingress uses still
 * being fetched. The stream it waits for, or NULL when ready (it stays so). */
static const struct kw_stream *
kw_waiting(void)
{
	if (g_kw.ready)
		return NULL;
	for (int i = 0; i < ING_MAX_WATCHES; i++) {
		const struct kw_stream *s = &g_kw.st[i];
		if (i < g_kw.nstreams ? !kw_synced(s) : s->used && s->kind == SK_SECRET) /* not the status writer */
			return s;
	}
	return NULL;
}

/* Why not ready, or NULL. */
static const char *
kw_not_ready(char *buf, size_t cap)
{
	const struct kw_stream *s = kw_waiting();
	if (s == NULL)
		return NULL;
	if (s->phase == KS_GET)
		ing_snprintf(buf, cap, "Secret %s/%.100s being fetched", s->ns, s->get_name); /* fits /ready's 200 */
	else
		ing_snprintf(buf, cap, "%s%s%s not listed yet", kw_res(s), s->ns[0] ? " in " : "", s->ns);
	return buf;
}

/* A Secret list waits for the Ingress lists: a Secret listed before the
 * Ingress using it would be dropped, then fetched alone. */
static int
kw_held(const struct kw_stream *s)
{
	return s->kind == SK_SECRET && s->phase != KS_GET && !kw_listed(SK_INGRESS);
}

/* ---- the snapshot file ([kubernetes] snapshotFile; st_snap) ---- */
static _Alignas(8) unsigned char kw_snap_buf[ING_MAX_SNAPSHOT_BYTES + 1];

/* What is watched: a snapshot taken under other namespaces, labels or
 * class is not used (a relist would never take its other objects away). */
static uint32_t
kw_select(void)
{
	const struct cf_kube *k = &cf_live->kube;
	/* namespaces .. ingressClass (zero-padded: cf_defaults) */
	return str_fnv(FNV_SEED, k->namespaces, (size_t)(k->ingress_class + sizeof k->ingress_class - k->namespaces[0]));
}

/* Is a list or watch stream failing (a 403 is an answer)? */
static int
kw_failing(void)
{
	for (int i = 0; i < g_kw.nstreams; i++)
		if (g_kw.st[i].fails && !g_kw.st[i].forbidden)
			return 1;
	return 0;
}

/* Is a snapshot to be written (when g_kw.snap_next comes)? After a table
 * was built, and every hour, from a complete store only: synced once, and
 * no stream failing (whose objects may have changed unseen). */
static int
kw_snap_want(void)
{
	return cf_live->kube.snapshot[0] && g_kw.ready && (g_kw.snap_due || g.now - g_kw.snap_ok >= KW_SNAP_REFRESH_MS) &&
	       !kw_failing();
}

/* Bounded and synchronous: a few ms for a thousand Ingresses on tmpfs. */
static void
kw_snap_write(void)
{
	char err[ING_ERR_LEN];
	int64_t wall = port_wall_s();
	size_t n = st_snap(kw_snap_buf, ING_MAX_SNAPSHOT_BYTES, kw_select(), wall);
	g_kw.snap_due = 0; /* failed: again after the next build, or the hour */
	g_kw.snap_next = g.now + KW_SNAP_RETRY_MS;
	if (n == 0) {
		log_limit(LIM_SNAPSHOT_BYTES, "kw: snapshot bytes (not written)");
	} else if (port_write_file(cf_live->kube.snapshot, kw_snap_buf, n, err, sizeof err) != 0) {
		log_warnx("kw: snapshot: %s; the previous one stays", err);
	} else {
		g_kw.snap_next = g.now + KW_SNAP_MIN_MS;
		g_kw.snap_ok = g.now;
		g_kw.snap_wall = wall;
	}
}

/* Nothing listed by the deadline, or the API server fails: the snapshot
 * into the (empty) store, and a table from it at once, marked stale. */
static void
kw_snap_load(void)
{
	char err[ING_ERR_LEN];
	const char *path = cf_live->kube.snapshot, *why = err;
	int64_t now = port_wall_s(), wall = 0;
	struct ing_tm tm;
	g_kw.snap_load = 0;
	for (int k = 0; k < SK__COUNT; k++)
		if (g_st.count[k] != 0)
			return; /* the API server answers: its lists come */
	ssize_t n = port_read_file(path, (char *)kw_snap_buf, sizeof kw_snap_buf, err, sizeof err);
	if (n < 0 || st_snap_load(kw_snap_buf, (size_t)n, kw_select(), now - (int64_t)(cf_live->kube.snap_age / 1000),
	                          now + 60, &wall, &why) != 0) {
		log_warnx("kw: snapshot %s: %s: not used; starting empty", path, why);
		return;
	}
	g_kw.snap_stale = 1;
	g_kw.snap_wall = wall;
	g_kw.dirty = 1;
	g_kw.rebuild_at = g.now;
	ing_civil(wall, &tm);
	ing_snprintf(g_kw.snap_since, sizeof g_kw.snap_since, "%04d-%02d-%02dT%02d:%02d:%02dZ", tm.year, tm.mon, tm.mday,
	             tm.hour, tm.min, tm.sec);
	log_warnx("kw: nothing listed yet: serving the snapshot %s of %s", path, g_kw.snap_since);
}

/* When the snapshot serving was written, or NULL when the table is not
 * from one. */
static const char *
kw_stale(void)
{
	return g_kw.snap_stale && rt_live() != NULL ? g_kw.snap_since : NULL;
}

/* Every loop turn: start streams that are due, rebuild when due. */
static void
kw_tick(void)
{
	if (!g_kw.enabled)
		return;
	for (int i = 0; i < ING_MAX_WATCHES; i++) {
		struct kw_stream *s = &g_kw.st[i];
		if (s->used && s->conn < 0 && s->retry_at <= g.now && !kw_held(s))
			kw_start(s);
	}
	if (g_kw.snap_load && (g.now >= g_kw.snap_load || kw_failing()))
		kw_snap_load();
	if (g_kw.dirty && g.now >= g_kw.rebuild_at) {
		g_kw.dirty = 0;
		st_secret_gc();
		kw_fetch_missing(); /* first: tl_ does not call a Secret being fetched missing */
		/* ready once a table built from a full first sync is live; set
		 * before the build, which then logs what tl_ held back until now
		 * (no second build just for that) */
		int first = !g_kw.ready && kw_waiting() == NULL;
		g_kw.ready = g_kw.ready || first;
		g_kw.snap_due |= rb_rebuild() == 0;
		if (first && (g_kw.ready = rt_live() != NULL)) {
			log_info("kw: ready: first sync done, routing table live");
			g_kw.snap_load = (uint64_t)(g_kw.snap_stale = 0);
		}
		g_kw.status.dirty = 1;
	}
	if (kw_snap_want() && g.now >= g_kw.snap_next)
		kw_snap_write();
	kw_status_tick();
}

/* A reload may change what the status should be. The status of a new
 * publishedService was not kept: the Services are listed again. */
static void
kw_reload(const struct cf_kube *old)
{
	if (!g_kw.enabled)
		return;
	if (strcmp(old->status_service, cf_live->kube.status_service) != 0) {
		g_kw.status.pub_seen = 0;
		for (int i = 0; i < g_kw.nstreams; i++) {
			struct kw_stream *s = &g_kw.st[i];
			if (s->kind != SK_SERVICE)
				continue;
			kw_relist(s);
			s->retry_at = g.now;
			if (s->conn >= 0)
				cn_close(&g_cn.tab[s->conn], "publishedService changed: relisting Services");
		}
	}
	kw_status_want();
}

/* Earliest time kw_tick has work. */
static uint64_t
kw_next_deadline(void)
{
	uint64_t next = tk_min(g_kw.dirty ? g_kw.rebuild_at : 0, g_kw.snap_load);
	if (kw_snap_want())
		next = tk_min(next, ING_MAX(g_kw.snap_next, 1));
	if (g_kw.ready && ((g_kw.status.dirty && g_kw.status.nq < ING_MAX_STATUS_QUEUE) ||
	                   (g_kw.status.nq > 0 && kw_status_stream() == NULL)))
		next = tk_min(next, ING_MAX(g_kw.status.retry_at, g.now));
	for (int i = 0; g_kw.enabled && i < ING_MAX_WATCHES; i++)
		if (g_kw.st[i].used && g_kw.st[i].conn < 0 && !kw_held(&g_kw.st[i]))
			next = tk_min(next, g_kw.st[i].retry_at ? g_kw.st[i].retry_at : g.now);
	return next;
}

/* ===== 8. regular expressions ========================================== rx_
 * The patterns of the rewrite and redirect annotations, in Go's RE2 syntax
 * (the subset Traefik's and ingress-nginx's users write): literals and
 * escapes, . [classes] \d \w \s and their negations, ^ $ \A \z, groups
 * ( ) (?: ) (?P<name> ), alternation, * + ? {n} {n,} {n,m} and their lazy
 * forms, (?i). Compiled at table build into a program for a Pike VM
 * (Thompson's construction with submatches, as RE2 and Russ Cox's re1):
 * a match costs time linear in the input whatever the pattern - no
 * backtracking, so no ReDoS from an Ingress. Bytes, not runes: "." is one
 * byte, and a class takes ASCII only. Refused, with the column:
 * backreferences, lookaround, \b, Unicode classes, other flags.
 * Bounded: RX_PROG instructions a pattern (ING_MAX_REGEX_INSNS a table),
 * RX_GROUPS groups ($0..$9), RX_NEST nested groups.
 */
#define RX_NEST 32
static int rt_hexval(int c); /* route lookup (rt_) */
struct rx_c { /* the compiler */
	struct rx_insn *p;
	int n, cap, ngroups, icase;
	const char *s, *at, *err;
	char names[RX_GROUPS][24]; /* (?P<name>): for ${name} in a replacement */
};

static void
rx_fail(struct rx_c *c, const char *at, const char *why)
{
	if (c->err == NULL) {
		c->err = why;
		c->at = at;
	}
}

/* Room for k instructions at position `at` (the ones from there move up). */
static int
rx_insert(struct rx_c *c, int at, int k)
{
	if (c->n + k > c->cap) {
		rx_fail(c, c->s, "pattern too long (RX_PROG instructions)");
		return ING_ERR;
	}
	memmove(c->p + at + k, c->p + at, (size_t)(c->n - at) * sizeof *c->p);
	memset(c->p + at, 0, (size_t)k * sizeof *c->p);
	c->n += k;
	return 0;
}

static int
rx_emit(struct rx_c *c, int op, int a, int x, int y)
{
	if (rx_insert(c, c->n, 1) != 0)
		return -1;
	c->p[c->n - 1] = (struct rx_insn){(uint8_t)op, (uint8_t)a, (int16_t)x, (int16_t)y};
	return c->n - 1;
}

/* A 256-bit set as a class instruction and its ranges. */
static void
rx_class(struct rx_c *c, const uint8_t set[32], int neg)
{
	int at = rx_emit(c, RX_CLASS, neg, 0, 0);
	for (int b = 0; b < 256 && at >= 0; b++) {
		if (!(set[b >> 3] >> (b & 7) & 1))
			continue;
		int e = b;
		while (e < 255 && (set[(e + 1) >> 3] >> ((e + 1) & 7) & 1))
			e++;
		if (rx_emit(c, RX_RANGE, b, 0, e) < 0)
			return;
		c->p[at].x++;
		b = e;
	}
}

static void
rx_set(uint8_t set[32], int lo, int hi, int icase)
{
	for (int b = lo; b <= hi; b++) {
		set[b >> 3] |= (uint8_t)(1u << (b & 7));
		if (icase && isalpha(b))
			set[(b ^ 32) >> 3] |= (uint8_t)(1u << ((b ^ 32) & 7));
	}
}

/* \d \w \s (and the upper-case negations) into set; 0, or ING_ERR when
 * e is not one of them. */
static int
rx_perl(uint8_t set[32], int e)
{
	uint8_t t[32] = {0};
	int l = tolower(e);
	if (l == 'd')
		rx_set(t, '0', '9', 0);
	else if (l == 'w')
		rx_set(t, '0', '9', 0), rx_set(t, 'A', 'Z', 0), rx_set(t, 'a', 'z', 0), rx_set(t, '_', '_', 0);
	else if (l == 's')
		rx_set(t, '\t', '\n', 0), rx_set(t, '\f', '\r', 0), rx_set(t, ' ', ' ', 0);
	else
		return ING_ERR;
	for (int i = 0; i < 32; i++)
		set[i] |= e == l ? t[i] : (uint8_t)~t[i];
	return 0;
}

/* The byte an escape \e at p stands for (p after the backslash), or -1
 * with the error set; *pp moves past it. */
static int
rx_esc(struct rx_c *c, const char **pp)
{
	const char *p = *pp;
	int e = (unsigned char)*p++, v;
	*pp = p;
	if (e == 0) {
		rx_fail(c, p - 2, "trailing \\");
		return -1;
	}
	if (strchr("ntrfv", e) != NULL && e)
		return "\n\t\r\f\v"[strchr("ntrfv", e) - "ntrfv"];
	if (e == 'x') {
		if ((v = rt_hexval((unsigned char)p[0])) < 0 || rt_hexval((unsigned char)p[1]) < 0) {
			rx_fail(c, p - 2, "\\x takes two hex digits here");
			return -1;
		}
		*pp = p + 2;
		return v << 4 | rt_hexval((unsigned char)p[1]);
	}
	if (ispunct(e))
		return e; /* \. \/ \\ \* ... */
	rx_fail(c, p - 2, isdigit(e) ? "backreferences are not RE2" : "an escape ingressd does not read (\\b, \\p, ...)");
	return -1;
}

static void rx_alt(struct rx_c *c, const char **pp, int depth);

/* [...] at *pp (after the '['). */
static void
rx_bracket(struct rx_c *c, const char **pp)
{
	const char *p = *pp, *open = p - 1;
	uint8_t set[32] = {0};
	int neg = *p == '^';
	p += neg;
	for (int first = 1; c->err == NULL && (*p != ']' || first); first = 0) {
		int lo = (unsigned char)*p, hi;
		if (lo == 0) {
			rx_fail(c, open, "missing ] of a class");
			return;
		}
		if (lo >= 0x80 || (lo == '[' && p[1] == ':')) {
			rx_fail(c, p, lo == '[' ? "[:classes:] are not read" : "non-ASCII in a class is not read");
			return;
		}
		p++;
		if (lo == '\\' && rx_perl(set, (unsigned char)*p) == 0) {
			p++;
			continue;
		}
		if (lo == '\\' && (lo = rx_esc(c, &p)) < 0)
			return;
		hi = lo;
		if (p[0] == '-' && p[1] != ']' && p[1] != '\0') {
			hi = (unsigned char)p[1];
			p += 2;
			if (hi == '\\' && (hi = rx_esc(c, &p)) < 0)
				return;
			if (hi < lo || hi >= 0x80) {
				rx_fail(c, p - 1, "bad class range");
				return;
			}
		}
		rx_set(set, lo, hi, c->icase);
	}
	*pp = p + 1;
	rx_class(c, set, neg);
}

/* One atom at *pp: 0, or 1 when there is none here (| ) or the end). */
static int
rx_atom(struct rx_c *c, const char **pp, int depth)
{
	const char *p = *pp;
	int ch = (unsigned char)*p;
	uint8_t set[32] = {0};
	if (ch == 0 || ch == '|' || ch == ')')
		return 1;
	*pp = ++p;
	switch (ch) {
	case '.':
		rx_emit(c, RX_ANY, 0, 0, 0);
		return 0;
	case '^':
		rx_emit(c, RX_BOL, 0, 0, 0);
		return 0;
	case '$':
		rx_emit(c, RX_EOL, 0, 0, 0);
		return 0;
	case '[':
		rx_bracket(c, pp);
		return 0;
	case '*': case '+': case '?':
		rx_fail(c, p - 1, "a repetition of nothing");
		return 0;
	case '{':
		if (isdigit((unsigned char)*p)) {
			rx_fail(c, p - 1, "a repetition of nothing");
			return 0;
		}
		goto literal;
	case '(':
		goto group;
	case '\\':
		if (*p == 'A' || *p == 'z') {
			rx_emit(c, *p == 'A' ? RX_BOL : RX_EOL, 0, 0, 0);
			*pp = p + 1;
			return 0;
		}
		if (rx_perl(set, (unsigned char)*p) == 0) {
			*pp = p + 1;
			rx_class(c, set, 0);
			return 0;
		}
		if ((ch = rx_esc(c, pp)) < 0)
			return 0;
		/* fall through */
	default:
	literal:
		if (c->icase && isalpha(ch)) {
			rx_set(set, ch, ch, 1);
			rx_class(c, set, 0);
		} else {
			rx_emit(c, RX_BYTE, ch, 0, 0);
		}
		return 0;
	}
group:;
	int save = 0, icase = c->icase;
	if (*p == '?') {
		const char *name = NULL;
		if (p[1] == 'P' || p[1] == '<') { /* (?P<name>...), (?<name>...) */
			name = p + (p[1] == 'P' ? 3 : 2);
			if (p[1] == 'P' && p[2] != '<')
				name = NULL;
		}
		if (name != NULL) {
			const char *e = name;
			while (isalnum((unsigned char)*e) || *e == '_')
				e++;
			if (*e != '>' || e == name || e - name >= (int)sizeof c->names[0]) {
				rx_fail(c, p - 1, "a bad group name");
				return 0;
			}
			if (c->ngroups < RX_GROUPS)
				ing_snprintf(c->names[c->ngroups], sizeof c->names[0], "%.*s", (int)(e - name), name);
			p = e + 1;
			save = 1;
		} else {
			p++;
			while (*p == 'i')
				c->icase = 1, p++;
			if (*p == ')') { /* (?i): to the end of the enclosing group */
				*pp = p + 1;
				return 0;
			}
			if (*p != ':') {
				rx_fail(c, p, *p == '=' || *p == '!' || *p == '<' ? "lookaround is not RE2"
				                                                  : "a flag other than i is not read");
				return 0;
			}
			p++;
		}
	} else {
		save = 1;
	}
	if (depth >= RX_NEST) {
		rx_fail(c, p - 1, "groups nested too deep");
		return 0;
	}
	int grp = c->ngroups;
	if (save && c->ngroups++ >= RX_GROUPS) {
		rx_fail(c, p - 1, "more than 9 groups");
		return 0;
	}
	if (save)
		rx_emit(c, RX_SAVE, 2 * grp, 0, 0);
	rx_alt(c, &p, depth + 1);
	if (*p != ')') {
		rx_fail(c, *pp - 1, "missing )");
		return 0;
	}
	if (save)
		rx_emit(c, RX_SAVE, 2 * grp + 1, 0, 0);
	c->icase = icase;
	*pp = p + 1;
	return 0;
}

/* The decimal number at *e (a repetition count): over 1000 reads 1001. */
static int
rx_count(const char **e)
{
	int v = 0;
	for (; isdigit((unsigned char)**e); (*e)++)
		v = v > 1000 ? 1001 : v * 10 + (**e - '0');
	return v;
}

/* A repetition of the atom at [a, n): *, +, ?, {n,m}, each lazy with '?'. */
static void
rx_repeat(struct rx_c *c, const char **pp, int a)
{
	const char *p = *pp;
	int min, max = -1, len = c->n - a;
	if (*p == '*' || *p == '+' || *p == '?') {
		min = *p == '+';
		max = *p == '?' ? 1 : -1;
		p++;
	} else if (*p == '{' && isdigit((unsigned char)p[1])) {
		const char *e = p + 1;
		min = max = rx_count(&e);
		if (*e == ',')
			max = isdigit((unsigned char)*++e) ? rx_count(&e) : -1;
		if (*e != '}' || min > 1000 || max > 1000 || (max >= 0 && max < min)) {
			rx_fail(c, p, "a bad {n,m} (n <= m <= 1000)");
			return;
		}
		p = e + 1;
	} else {
		return;
	}
	int lazy = *p == '?';
	p += lazy;
	*pp = p;
	if (*p == '*' || *p == '+' || *p == '?' || (*p == '{' && isdigit((unsigned char)p[1]))) {
		rx_fail(c, p, "a repetition of a repetition");
		return;
	}
	/* min copies, then max - min optional ones (or a loop): e{2,4} is
	 * e e (e (e)?)?; every optional copy skips to the common end */
	int k = max < 0 ? (min > 0 ? min : 0) : max;
	if (k == 0 && max == 0) {
		c->n = a; /* e{0} */
		return;
	}
	for (int i = 1; i < ING_MAX(k, 1); i++) {
		if (rx_insert(c, c->n, len) != 0)
			return;
		memcpy(c->p + c->n - len, c->p + a, (size_t)len * sizeof *c->p);
	}
	if (max < 0 && min > 0) { /* e+: the last copy loops back */
		rx_emit(c, RX_SPLIT, 0, lazy ? 1 : -len, lazy ? -len : 1);
		return;
	}
	int first_opt = a + (max < 0 ? 0 : min * len), end;
	if (max < 0) { /* e*: SPLIT; e; JMP back */
		if (rx_insert(c, a, 1) != 0)
			return;
		rx_emit(c, RX_JMP, 0, -(len + 1), 0);
		c->p[a] = (struct rx_insn){RX_SPLIT, 0, (int16_t)(lazy ? len + 2 : 1), (int16_t)(lazy ? 1 : len + 2)};
		return;
	}
	for (int i = 0; i < max - min; i++) /* a SPLIT before each optional copy */
		if (rx_insert(c, first_opt + i * (len + 1), 1) != 0)
			return;
	end = c->n;
	for (int i = 0; i < max - min; i++) {
		int at = first_opt + i * (len + 1);
		c->p[at] = (struct rx_insn){RX_SPLIT, 0, (int16_t)(lazy ? end - at : 1), (int16_t)(lazy ? 1 : end - at)};
	}
}

/* Alternatives at *pp up to ')' or the end: SPLIT L1, L2; L1: a; JMP end;
 * L2: SPLIT ... b ... */
static void
rx_alt(struct rx_c *c, const char **pp, int depth)
{
	int start = c->n, jmps = -1; /* a chain of JMPs to patch, through x */
	for (;;) {
		while (c->err == NULL) {
			int a = c->n;
			if (rx_atom(c, pp, depth) != 0)
				break;
			if (c->n > a)
				rx_repeat(c, pp, a);
			else if (strchr("*+?", **pp) != NULL && **pp)
				rx_fail(c, *pp, "a repetition of nothing");
		}
		if (c->err != NULL || **pp != '|')
			break;
		(*pp)++;
		if (rx_insert(c, start, 1) != 0) /* the SPLIT before this alternative */
			return;
		int jp = rx_emit(c, RX_JMP, 0, jmps < 0 ? 0 : jmps - c->n, 0);
		if (jp < 0)
			return;
		jmps = jp;
		c->p[start] = (struct rx_insn){RX_SPLIT, 0, 1, (int16_t)(c->n - start)};
		start = c->n;
	}
	for (int j = jmps; j >= 0;) { /* every alternative's JMP to here */
		int next = c->p[j].x ? j + c->p[j].x : -1;
		c->p[j].x = (int16_t)(c->n - j);
		j = next;
	}
}

/* A pattern into prog[cap] (SAVE 0, the pattern, SAVE 1, MATCH): its
 * length, or ING_ERR with err saying "column C: why". icase: (?i) for
 * all of it (nginx's ~* locations); names[]: its groups' names. */
static int
rx_compile(const char *re, int icase, struct rx_insn *prog, int cap, char names[RX_GROUPS][24], char *err, size_t ecap)
{
	struct rx_c c = {.p = prog, .cap = ING_MIN(cap, RX_PROG), .ngroups = 1, .icase = icase, .s = re};
	const char *p = re;
	rx_emit(&c, RX_SAVE, 0, 0, 0);
	rx_alt(&c, &p, 0);
	if (c.err == NULL && *p != '\0')
		rx_fail(&c, p, "unmatched )");
	rx_emit(&c, RX_SAVE, 1, 0, 0);
	rx_emit(&c, RX_MATCH, 0, 0, 0);
	if (c.err != NULL) {
		ing_snprintf(err, ecap, "column %d: %s", (int)(c.at - re) + 1, c.err);
		return ING_ERR;
	}
	if (names != NULL)
		memcpy(names, c.names, sizeof c.names);
	return c.n;
}

/* The VM's thread lists and its stack, for any program of RX_PROG. */
struct rx_thread {
	int pc;
	int cap[2 * RX_GROUPS];
};
static struct {
	struct rx_thread l[2][RX_PROG];
	int n[2];
	unsigned mark[RX_PROG], gen;
	struct {
		int pc, slot, old;
	} st[RX_PROG + 1];
} g_rx;

/* Adds the thread at pc, following jumps, splits (in priority order),
 * saves and assertions, to list k at text position pos. */
static void
rx_add(const struct rx_insn *p, int k, int pc, int *cap, int pos, int len)
{
	int sp = 0;
	g_rx.st[sp++].pc = pc, g_rx.st[0].slot = -1;
	while (sp > 0) {
		sp--;
		if (g_rx.st[sp].slot >= 0) { /* a save undone on the way back */
			cap[g_rx.st[sp].slot] = g_rx.st[sp].old;
			continue;
		}
		for (pc = g_rx.st[sp].pc; g_rx.mark[pc] != g_rx.gen;) {
			const struct rx_insn *in = &p[pc];
			g_rx.mark[pc] = g_rx.gen;
			if (in->op == RX_JMP) {
				pc += in->x;
			} else if (in->op == RX_SPLIT) {
				g_rx.st[sp].pc = pc + in->y, g_rx.st[sp++].slot = -1; /* after the preferred branch */
				pc += in->x;
			} else if (in->op == RX_SAVE) {
				g_rx.st[sp].slot = in->a, g_rx.st[sp++].old = cap[in->a];
				cap[in->a] = pos;
				pc++;
			} else if (in->op == RX_BOL || in->op == RX_EOL) {
				if (pos != (in->op == RX_BOL ? 0 : len))
					break;
				pc++;
			} else {
				struct rx_thread *t = &g_rx.l[k][g_rx.n[k]++];
				t->pc = pc;
				memcpy(t->cap, cap, sizeof t->cap);
				break;
			}
		}
	}
}

/* The leftmost-first match of prog in s[0..len) at or after `from`
 * (^ is still position 0): 1 with the group offsets in cap (-1: unset),
 * or 0. */
static int
rx_exec(const struct rx_insn *p, const char *s, int len, int from, int cap[2 * RX_GROUPS])
{
	int tc[2 * RX_GROUPS], k = 0, matched = 0;
	memset(tc, -1, sizeof tc);
	g_rx.n[0] = 0;
	g_rx.gen++;
	rx_add(p, 0, 0, tc, from, len);
	for (int pos = from; g_rx.n[k] > 0; pos++) {
		g_rx.n[!k] = 0;
		g_rx.gen++;
		for (int i = 0; i < g_rx.n[k]; i++) {
			struct rx_thread *t = &g_rx.l[k][i];
			const struct rx_insn *in = &p[t->pc];
			int ch = pos < len ? (unsigned char)s[pos] : -1, ok = 0;
			if (in->op == RX_MATCH) {
				memcpy(cap, t->cap, sizeof t->cap);
				matched = 1;
				break; /* the threads after it have lower priority */
			}
			if (in->op == RX_BYTE)
				ok = ch == in->a;
			else if (in->op == RX_ANY)
				ok = ch >= 0 && ch != '\n';
			else if (in->op == RX_CLASS && ch >= 0) {
				for (int r = 1; r <= in->x && !ok; r++)
					ok = ch >= in[r].a && ch <= in[r].y;
				ok ^= in->a;
			}
			if (ok)
				rx_add(p, !k, t->pc + (in->op == RX_CLASS ? in->x + 1 : 1), t->cap, pos + 1, len);
		}
		if (!matched && pos < len) {
			memset(tc, -1, sizeof tc);
			rx_add(p, !k, 0, tc, pos + 1, len); /* a match starting further on */
		}
		if (pos >= len)
			break;
		k = !k;
	}
	return matched;
}

/* A replacement into its stored form (at table build): group references
 * become \x01 and the group's number. go: Go's Expand, as Traefik's
 * redirect-replacement and ReplacePathRegex read it ($1, ${1}, $name,
 * ${name}, $$; "$1x" is the group named 1x, which is none; a $ without a
 * name stays); else nginx's ($1 to $9, and $$; a $variable is refused).
 * Control bytes are refused. Its length, or ING_ERR and why in err. */
static int
rx_template(const char *r, int go, char names[RX_GROUPS][24], char *out, size_t cap, char *err, size_t ecap)
{
	size_t n = 0;
	for (const char *p = r; *p; p++) {
		int grp = -2; /* -2: a literal byte; -1: a reference to nothing */
		if ((unsigned char)*p < 0x20 || *p == 0x7f) {
			ing_snprintf(err, ecap, "a control byte in the replacement");
			return ING_ERR;
		}
		if (*p == '$' && p[1] == '$') {
			p++;
		} else if (*p == '$' && !go && isdigit((unsigned char)p[1])) {
			grp = *++p - '0';
		} else if (*p == '$' && !go) {
			ing_snprintf(err, ecap, "\"$%.20s\": nginx variables other than $1..$9 are not read", p + 1);
			return ING_ERR;
		} else if (*p == '$') {
			int brace = p[1] == '{';
			const char *s = p + 1 + brace, *e = s;
			while (isalnum((unsigned char)*e) || *e == '_')
				e++;
			if (e > s && (!brace || *e == '}')) {
				char nm[24];
				ing_snprintf(nm, sizeof nm, "%.*s", (int)(e - s), s);
				grp = -1;
				uint64_t u;
				if (str_span(nm, "0123456789", 1) == strlen(nm))
					grp = e - s < 3 && str_to_u64((struct ing_str){nm, strlen(nm)}, 99, &u) == 0 ? (int)u : -1;
				for (int i = 1; i < RX_GROUPS && grp == -1 && names != NULL; i++)
					if (names[i][0] && !strcmp(names[i], nm))
						grp = i;
				p = e - !brace;
			}
		}
		if (n + 2 >= cap) {
			ing_snprintf(err, ecap, "the replacement is too long");
			return ING_ERR;
		}
		if (grp >= 0 && grp < RX_GROUPS)
			out[n++] = '\x01', out[n++] = (char)grp;
		else if (grp == -2)
			out[n++] = *p;
	}
	out[n] = '\0';
	return (int)n;
}

/* Template tp (rx_template's) expanded with the groups cap of s, onto
 * out[*n..cap): 0, or ING_ERR when it does not fit. */
static int
rx_expand(const char *tp, const char *s, const int *cap, char *out, size_t *n, size_t ocap)
{
	for (; *tp; tp++) {
		const char *p = tp;
		size_t k = 1;
		if (*tp == '\x01') {
			int grp = *++tp;
			p = cap[2 * grp] >= 0 ? s + cap[2 * grp] : "";
			k = cap[2 * grp] >= 0 ? (size_t)(cap[2 * grp + 1] - cap[2 * grp]) : 0;
		}
		if (*n + k >= ocap)
			return ING_ERR;
		memcpy(out + *n, p, k);
		*n += k;
	}
	out[*n] = '\0';
	return 0;
}

/* Go's ReplaceAllString of prog in s with template tp into out: its
 * length; -2 when nothing matched; ING_ERR when it does not fit. Empty
 * matches right after a match are not replaced, as in Go. */
static int
rx_replace_all(const struct rx_insn *prog, const char *tp, const char *s, int len, char *out, size_t ocap)
{
	int cap[2 * RX_GROUPS], last = 0, any = 0;
	size_t n = 0;
	for (int pos = 0; pos <= len && rx_exec(prog, s, len, pos, cap);) {
		size_t k = (size_t)(cap[0] - last);
		if (n + k >= ocap)
			return ING_ERR;
		memcpy(out + n, s + last, k);
		n += k;
		if ((cap[1] > last || cap[0] == 0) && rx_expand(tp, s, cap, out, &n, ocap) != 0)
			return ING_ERR;
		any = 1;
		last = cap[1];
		pos = cap[1] > pos ? cap[1] : pos + 1;
	}
	if (!any)
		return -2;
	if (n + (size_t)(len - last) >= ocap)
		return ING_ERR;
	memcpy(out + n, s + last, (size_t)(len - last));
	n += (size_t)(len - last);
	out[n] = '\0';
	return (int)n;
}

/* ===== 9. routing table build ========================================= rb_
 * The store becomes a routing table, built into the spare of two tables and
 * swapped in only when the build succeeded; a failed or over-limit build
 * keeps the old table and says why. Requests copy what they need at
 * dispatch (server address, backend state slot), so a swap never pulls a
 * table from under one. Routes are ordered totally: priority annotation,
 * then exact host before wildcard before none, Exact before Prefix, longer
 * path first, then namespace/name. Two Ingresses claiming the same host and
 * path: the oldest (creationTimestamp, then namespace/name) wins.
 * In: st_. Out: the live table for rt_. Limits: ING_MAX_ROUTES, _HOSTS,
 * _BACKENDS, _SERVERS, _BACKEND_SERVERS, _SKIPS.
 */
enum { HK_EXACT, HK_WILD, HK_ANY };           /* host kinds, best first */
enum { MT_EXACT, MT_PREFIX, MT_STRPREFIX, MT_REGEX }; /* path match, best first */

struct rt_route {
	int32_t prio;
	uint8_t host_kind, match, strip, is_default;
	uint8_t replace;  /* rule-type ReplacePath: any path, sent as this one */
	uint8_t narm;     /* a split: its Services are arms[arm .. arm + narm), 0 none */
	uint16_t path_len;
	int rx;           /* MT_REGEX: its program in the table's pool */
	int canon;        /* from-to-www-redirect: the host it redirects to, + 1; 0 none */
	uint32_t ep_mask; /* entry points served (bit = index in [entryPoints]) */
	int host;         /* index in hosts; -1 for any host */
	int backend;      /* for a split, its first Service's */
	uint32_t weight;  /* the backend's share while several share the route (rb_weights) */
	int arm;
	int policy;
	int next; /* next route of the same host, in order */
	char path[ING_PATH_LEN];
};

struct rt_host {
	char name[ING_NAME_LEN]; /* for a wildcard: the part after "*." */
	uint8_t wild;
	int first;
};

enum { WL_OPEN, WL_LIST, WL_DENY }; /* whitelist states (wl_) */
enum { AU_OFF, AU_BASIC, AU_DENY }; /* auth states (au_) */

struct rt_ranges {
	uint8_t state;   /* WL_* */
	int first, n;    /* in the table's cidrs, sorted by wl_cmp */
};

/* A token bucket: burst requests at once, refilled avg per period_ms. */
struct rl_rate {
	uint32_t avg, period_ms, burst;
};
enum { RK_CLIENT, RK_HOST, RK_HEADER }; /* whose requests Traefik's limits count (its extractorfunc) */
struct rt_policy { /* per Ingress */
	char ns[ING_NS_LEN], name[ING_NAME_LEN];
	uint32_t order; /* position in (creationTimestamp, ns, name) order */
	uint8_t pass_host;
	uint8_t ssl_redirect;
	struct rt_ranges wl[2]; /* whitelists (Traefik's, nginx's): a request must be in each that is set */
	struct rt_ranges deny;  /* nginx's denylist: in it, 403 */
	uint8_t auth;   /* AU_*: basic auth */
	char auth_header[64]; /* auth-header-field: the user, to the pod */
	uint8_t auth_remove;
	char realm[64];
	int user, nuser; /* in the table's users */
	uint32_t pass_cert; /* pass-client-tls-cert: PC_* and ING_CI_* bits */
	uint8_t proto;      /* PR_*: how its pods are spoken to */
	uint8_t pod_ctx;    /* TL_POD_*: HTTPS pods verified or not */
	const char *proto_bad; /* PR_UNSUP: why (a static text) */
	int ssl_name;           /* nginx's proxy-ssl-name (SNI and the name checked) in the table's ebytes, or -1 */
	/* header edits and the secure/CORS options (rb_headers) */
	int ed_first, ed_n;     /* its edits in the table, in EK_* order */
	uint64_t req_lens, resp_lens; /* bit (length & 63) of each name edited: most names are not */
	uint8_t hflags;         /* HF_* */
	int ssl_host;           /* ssl-host, NUL-terminated in the table's ebytes, or -1 */
	const char *refused;    /* refused annotations (headers, limits): its requests get 500, and why */
	uint64_t body_max;      /* nginx's proxy-body-size in bytes, 0 none */
	struct rl_rate ngx[2];  /* nginx's limit-rps and limit-rpm (ngx_n of them) */
	uint8_t ngx_n;
	uint32_t conns;         /* nginx's limit-connections, 0 none */
	uint8_t tr_n, tr_by;    /* Traefik's rate-limit: tr_n rates (at tr in the table's ebytes), per RK_* */
	int tr, tr_hdr;         /* ... RK_HEADER: the header, NUL-terminated in ebytes */
	struct rt_ranges lim_wl; /* nginx's limit-whitelist: not limited */
	/* path rewrites and redirects (rb_rewrite): offsets in ebytes and
	 * programs in the table's pool, -1 none */
	uint8_t rw, rd;              /* RW_*, RD_* */
	uint8_t rd_perm, ngx_regex;  /* redirect-permanent; nginx's paths are regexes */
	uint16_t rd_code;            /* nginx's redirect code */
	int rw_arg, rw_rx, rd_arg, rd_rx;
	int app_root, xfp;           /* app-root's path (app_root_ngx: nginx's); x-forwarded-prefix */
	uint8_t app_root_ngx, www;   /* www: nginx's from-to-www-redirect */
	int aliases;                 /* nginx's server-alias ("a, b"), or -1 */
	int canary;                  /* nginx's canary: its struct rt_canary in ebytes, or -1 */
	int fwd;                     /* forward auth: its struct rt_fwd in ebytes, or -1 */
	int errp;                    /* error pages: nerrp struct rt_errpage in ebytes */
	uint8_t nerrp;
};
/* An error page (rb_errpages, up_errpage): answers with a code in [lo, hi]
 * get their body from another backend, the code kept. */
struct rt_errpage { /* unaligned in ebytes */
	uint16_t lo, hi;
	uint8_t how;      /* EH_* */
	int backend;
	int query;        /* EH_TRAEFIK: the path asked for, "{status}" filled in (ebytes) */
};
enum {
	EH_TRAEFIK, /* error-pages: GET query */
	EH_NGINX,   /* custom-http-errors: GET / with X-Code and the rest of nginx's headers */
	EH_DEFAULT  /* a default backend for ingressd's own 503 (and 404): the request itself, as a GET */
};
/* Forward auth (rb_fwd, up_fwd): Traefik's auth-type forward or nginx's
 * auth-url; strings NUL-terminated in the table's ebytes. */
struct rt_fwd { /* unaligned in ebytes */
	uint8_t ngx;      /* nginx's auth-url (else Traefik's) */
	uint8_t trust;    /* auth-trust-headers: the client's X-Forwarded-* go to the auth service */
	uint8_t https;    /* pod_ctx TL_POD_* + 1 for an https auth-url, 0 http */
	uint8_t own;      /* nginx's auth-url on $host: the request's host, routed here */
	int backend;      /* the auth service's servers (unless own) */
	int host, uri;    /* the URL's authority (Host) and path?query */
	int sni;          /* its host name alone (TLS) */
	int hdrs;         /* auth-response-headers "A,B" (copied to the request), or -1 */
	int method, signin, redirect; /* nginx's auth-method, auth-signin, auth-request-redirect, or -1 */
};
enum { RW_NONE, RW_TARGET, RW_ADDPREFIX, RW_REPLACE, RW_REGEX, RW_NGINX };
enum { RD_NONE, RD_EP, RD_REGEX, RD_URL };
/* A header edit, or an item of a list of the policy (hosts, origins),
 * its name and value in the table's ebytes. */
struct rt_edit {
	uint32_t off;
	uint16_t nlen, vlen;
	uint8_t kind;  /* EK_* */
	uint8_t flags; /* EF_* */
};
enum { EK_REQ, EK_RESP, EK_SSL_PROXY, EK_HOST, EK_PROXY_HDR, EK_ORIGIN };
#define EF_SSL 1  /* response: only on SSL requests (HSTS, Public-Key-Pins) */
#define EF_OWN 2  /* response: on ingressd's own answers too (security and CORS headers) */
#define EF_CORS 4 /* response: only when the request's Origin is allowed */
#define EF_ECHO 8 /* its value is the request's Origin */
#define HF_SSL_TEMP 1  /* ssl-temporary-redirect */
#define HF_SSL_FORCE 2 /* ssl-force-host */
#define HF_DEV 4       /* is-development */
#define HF_HOSTS 8     /* allowed-hosts */
#define HF_CORS 16     /* enable-cors */
#define HF_CORS_ANY 32 /* ... for any origin ("*") */
/* The pods' scheme: by the Service port (443 or a name starting "https":
 * Traefik 1.7's rule), or as the Ingress says; unsupported ones answer 502. */
enum { PR_AUTO, PR_HTTP, PR_HTTPS, PR_UNSUP };
enum { TL_POD_VERIFY, TL_POD_INSECURE }; /* the client contexts for HTTPS pods (tl_) */

struct rt_server {
	struct ing_addr addr;
	uint16_t weight;
};

struct rt_backend {
	char key[ING_NS_LEN + ING_NS_LEN + ING_PORTNAME_LEN + 4]; /* ns/svc:port */
	char ns[ING_NS_LEN], svc[ING_NS_LEN];
	int srv, nsrv;
	const char *why; /* why it has no server */
	int state;       /* persistent balancer slot (lb_) */
	uint8_t external;
	uint8_t auto_https; /* its Service port is 443 or named https... */
	uint8_t mc_by;      /* max-conn-extractor-func: RK_* */
	int mc_hdr;         /* ... RK_HEADER: as tr_hdr */
	uint32_t mc_amount; /* max-conn-amount: requests in flight per key, 0 none */
	uint64_t body_max;  /* buffering's maxrequestbodybytes, 0 none */
	const char *refused; /* its Service's limits could not be read: its requests get 500, and why */
};

/* A Service of a split route: a union's or service-weights' share, or
 * nginx's canary with the rules that choose it (lb_split). */
struct rt_arm {
	int backend;
	uint32_t weight; /* relative; a canary's: canary-weight of its total */
	int canary;      /* its struct rt_canary in ebytes, -1 none */
};
struct rt_canary { /* unaligned in ebytes */
	uint32_t weight, total;
	int hdr, hdr_val, hdr_rx; /* canary-by-header (lower case), -value, -pattern: ebytes, ebytes, program; -1 none */
	int cookie;               /* canary-by-cookie, in ebytes, or -1 */
};

struct rt_skip {
	char ns[ING_NS_LEN], name[ING_NAME_LEN], host[64], path[64];
	char why[160];
};

struct rt_table {
	uint32_t gen;
	int nroutes, nhosts, nbackends, nservers, npolicies, nskips;
	int any_first;
	int hidx[2 * ING_MAX_HOSTS]; /* host index + 1; 0 empty */
	struct rt_route routes[ING_MAX_ROUTES];
	struct rt_host hosts[ING_MAX_HOSTS];
	struct rt_backend backends[ING_MAX_BACKENDS];
	struct rt_server servers[ING_MAX_SERVERS];
	struct rt_policy policies[ING_MAX_INGRESSES];
	struct rt_skip skips[ING_MAX_SKIPS];
	int ncidrs, nusers;
	struct rt_cidr cidrs[ING_MAX_STORE_CIDRS];
	struct rt_user users[ING_MAX_USERS];
	int nedits;
	uint32_t nebytes;
	struct rt_edit edits[ING_MAX_EDITS];
	char ebytes[ING_MAX_EDIT_BYTES];
	int nrx;
	struct rx_insn rx[ING_MAX_REGEX_INSNS]; /* the regexes' programs */
	int narms;
	struct rt_arm arms[ING_MAX_ARMS];
	int defbe; /* [kubernetes] defaultBackend, or -1 */
};

static struct {
	struct rt_table t[2];
	int live;     /* index of the live table, -1 before the first build */
	uint64_t builds, failures;
	uint64_t wl_invalid; /* Ingress whitelists found invalid, over all builds */
	int64_t last_wall;
	const char *last_error;
	int ing_order[ING_MAX_INGRESSES]; /* scratch: store indices, sorted */
	int eps_order[ING_MAX_ENDPOINTS];
	int neps;
	int bidx[2 * ING_MAX_BACKENDS]; /* scratch: backend index + 1 by key; 0 empty */
	const char *fail; /* why the build in progress failed */
} g_rb; /* zero-initialized (.bss); rb_init sets .live */

static void
rb_init(void)
{
	g_rb.live = -1;
}

static void lb_sync(struct rt_table *t); /* balancing (lb_) */
static void tl_build(const int *ing_order, int n); /* TLS termination (tl_) */
static size_t rt_host_norm(struct ing_str h, char *out, size_t cap); /* route lookup (rt_) */
static int rt_path_norm(struct ing_str target, char *out, size_t cap, struct ing_str *query, const char **why);
static size_t rt_match_form(const char *fwd, size_t n, char *out, size_t upto);

static struct rt_table *
rt_live(void)
{
	return g_rb.live < 0 ? NULL : &g_rb.t[g_rb.live];
}

/* Remembers (and logs once per object version) why a path is not served. */
static void
rb_skip(struct rt_table *t, struct st_ing *r, const char *host, const char *path, const char *fmt, ...)
{
	va_list ap;
	char why[160];
	va_start(ap, fmt);
	ing_vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	if (r->h.logged != r->h.gen)
		log_warnx("rb: ingress %s/%s: %s%s: %s", r->h.ns, r->h.name, host, path, why);
	if (t->nskips >= ING_MAX_SKIPS) {
		log_limit(LIM_SKIPS, "rb: skipped paths shown on /api");
		return; /* the log has each; /api shows the first ING_MAX_SKIPS */
	}
	struct rt_skip *s = &t->skips[t->nskips++];
	ing_snprintf(s->ns, sizeof s->ns, "%s", r->h.ns);
	ing_snprintf(s->name, sizeof s->name, "%s", r->h.name);
	ing_snprintf(s->host, sizeof s->host, "%.63s", host);
	ing_snprintf(s->path, sizeof s->path, "%.63s", path);
	memcpy(s->why, why, sizeof why);
}

static int
rb_cmp_ing(const void *a, const void *b)
{
	const struct st_ing *x = &g_st.ing[*(const int *)a], *y = &g_st.ing[*(const int *)b];
	int c;
	if (x->created != y->created)
		return x->created < y->created ? -1 : 1;
	if ((c = strcmp(x->h.ns, y->h.ns)) != 0)
		return c;
	return strcmp(x->h.name, y->h.name);
}

static int
rb_cmp_eps(const void *a, const void *b)
{
	const struct st_eps *x = &g_st.eps[*(const int *)a], *y = &g_st.eps[*(const int *)b];
	int c = strcmp(x->h.ns, y->h.ns);
	return c ? c : strcmp(x->svc, y->svc);
}

/* Host index: exact and wildcard names in one open-addressing table. */
static int
rb_host(struct rt_table *t, const char *name, int wild, int add)
{
	uint32_t h = st_hash(wild ? "*" : "", name);
	int n = 2 * ING_MAX_HOSTS;
	for (int s = (int)(h % (uint32_t)n);; s = (s + 1) % n) {
		if (t->hidx[s] == 0) {
			if (!add)
				return -1;
			if (t->nhosts >= ING_MAX_HOSTS) {
				log_limit(LIM_HOSTS, "rb: route hosts");
				g_rb.fail = "too many hosts (ING_MAX_HOSTS)";
				return -1;
			}
			struct rt_host *ho = &t->hosts[t->nhosts];
			ing_snprintf(ho->name, sizeof ho->name, "%s", name);
			ho->wild = (uint8_t)wild;
			ho->first = -1;
			t->hidx[s] = ++t->nhosts;
			return t->nhosts - 1;
		}
		struct rt_host *ho = &t->hosts[t->hidx[s] - 1];
		if (ho->wild == wild && strcmp(ho->name, name) == 0)
			return t->hidx[s] - 1;
	}
}

/* ExternalName Services' names (and the API server's, when the endpoint
 * names a host) are resolved here, off the request path, and refreshed
 * every RB_DNS_TTL_MS; a change rebuilds the table.
 * One name at a time is resolved, off the loop (port_resolve_start: a
 * child process), so a slow or dead DNS server never stalls the proxy; an
 * answer later than RB_DNS_TIMEOUT_MS is a failure. */
#define RB_DNS_TTL_MS 30000
#define RB_DNS_TIMEOUT_MS 10000
#define RB_DNS_ADDRS ING_RESOLVE_MAX
static struct {
	struct {
		char name[ING_NAME_LEN];
		struct ing_addr a[RB_DNS_ADDRS];
		int n;
		int failed;
		uint64_t due;
		uint32_t used_build;
	} e[ING_MAX_EXTERNAL_NAMES];
	int busy;                 /* a resolution is under way: */
	int fd;                   /* its descriptor, */
	int pending;              /* for e[pending], */
	char pending_name[ING_NAME_LEN]; /* named so (the slot may be reused meanwhile) */
	uint64_t deadline;
} g_dns; /* zero-initialized: .bss */

/* The build number names are kept for (rb_dns evicts names no build
 * asked for in two builds). */
static uint32_t
rb_build_no(void)
{
	return (uint32_t)g_rb.builds + 1;
}

/* The cached addresses of name (0 while unresolved); queues it. */
static int
rb_dns(const char *name, struct ing_addr *out, int max, uint32_t build)
{
	int free_slot = -1;
	for (int i = 0; i < ING_MAX_EXTERNAL_NAMES; i++) {
		if (g_dns.e[i].name[0] == '\0' || g_dns.e[i].used_build + 2 < build) {
			if (free_slot < 0)
				free_slot = i;
			continue;
		}
		if (strcmp(g_dns.e[i].name, name) != 0)
			continue;
		g_dns.e[i].used_build = build;
		int n = ING_MIN(g_dns.e[i].n, max);
		memcpy(out, g_dns.e[i].a, (size_t)n * sizeof *out);
		return g_dns.e[i].failed ? ING_ERR : n;
	}
	if (free_slot >= 0) {
		memset(&g_dns.e[free_slot], 0, sizeof g_dns.e[0]);
		ing_snprintf(g_dns.e[free_slot].name, sizeof g_dns.e[0].name, "%s", name);
		g_dns.e[free_slot].used_build = build;
		g_dns.e[free_slot].due = g.now;
	} else {
		log_limit(LIM_EXTERNAL_NAMES, "rb: externalName names");
		return ING_ERR; /* never resolved: served as a failed name (503) */
	}
	return 0;
}

/* An answer (n addresses, or ING_ERR with err) for e[i]; a change asks for
 * a rebuild. A failed name serves 503 until it resolves again. */
static void
rb_dns_answer(int i, int n, const struct ing_addr *a, const char *err)
{
	if (n < 0) {
		if (!g_dns.e[i].failed)
			log_warnx("rb: resolving %s: %s", g_dns.e[i].name, err);
		if (!g_dns.e[i].failed || g_dns.e[i].n) {
			g_dns.e[i].failed = 1;
			g_dns.e[i].n = 0;
			kw_changed();
		}
		return;
	}
	if (n != g_dns.e[i].n || g_dns.e[i].failed || memcmp(a, g_dns.e[i].a, (size_t)n * sizeof a[0]) != 0) {
		if (g_dns.e[i].failed)
			log_info("rb: %s resolves again", g_dns.e[i].name);
		memcpy(g_dns.e[i].a, a, (size_t)n * sizeof a[0]);
		g_dns.e[i].n = n;
		g_dns.e[i].failed = 0;
		kw_changed();
	}
}

/* Every turn: collect the answer under way (or time it out), else start
 * the next due name. */
static void
rb_dns_tick(void)
{
	struct ing_addr a[RB_DNS_ADDRS];
	char err[200];
	if (g_dns.busy) {
		int n = port_resolve_read(g_dns.fd, a, RB_DNS_ADDRS, err, sizeof err);
		if (n == ING_WAIT) {
			if (g.now < g_dns.deadline)
				return;
			port_resolve_cancel(g_dns.fd);
			ing_snprintf(err, sizeof err, "no answer from the resolver within %d ms", RB_DNS_TIMEOUT_MS);
			n = ING_ERR;
		}
		g_dns.busy = 0;
		if (strcmp(g_dns.e[g_dns.pending].name, g_dns.pending_name) == 0) /* not reused meanwhile */
			rb_dns_answer(g_dns.pending, n, a, err);
	}
	for (int i = 0; i < ING_MAX_EXTERNAL_NAMES; i++) {
		if (g_dns.e[i].name[0] == '\0' || g_dns.e[i].due > g.now)
			continue;
		g_dns.e[i].due = g.now + RB_DNS_TTL_MS;
		int fd = port_resolve_start(g_dns.e[i].name, err, sizeof err);
		if (fd < 0) {
			rb_dns_answer(i, ING_ERR, a, err);
			return;
		}
		g_dns.busy = 1;
		g_dns.fd = fd;
		g_dns.pending = i;
		memcpy(g_dns.pending_name, g_dns.e[i].name, sizeof g_dns.pending_name);
		g_dns.deadline = g.now + RB_DNS_TIMEOUT_MS;
		return;
	}
}

/* When rb_dns_tick has work: the next due name, or the pending deadline. */
static uint64_t
rb_dns_next(void)
{
	uint64_t next = g_dns.busy ? g_dns.deadline : 0;
	for (int i = 0; !g_dns.busy && i < ING_MAX_EXTERNAL_NAMES; i++)
		if (g_dns.e[i].name[0] != '\0')
			next = tk_min(next, g_dns.e[i].due);
	return next;
}

/* Backend b's servers: name (an IP address, or a DNS name resolved off
 * the loop, rb_dns) at port. */
static void
rb_named(struct rt_table *t, struct rt_backend *b, const char *name, uint16_t port)
{
	struct ing_addr a[RB_DNS_ADDRS];
	int n;
	b->external = 1;
	b->srv = t->nservers;
	if (ing_addr_parse_ip(&a[0], name, strlen(name)) == 0)
		n = 1;
	else
		n = rb_dns(name, a, RB_DNS_ADDRS, t->gen);
	if (n <= 0) {
		b->why = n == 0 ? "name not resolved yet" : "name does not resolve";
		return;
	}
	for (int i = 0; i < n; i++) {
		if (t->nservers >= ING_MAX_SERVERS) {
			log_limit(LIM_SERVERS, "rb: servers");
			g_rb.fail = "too many servers (ING_MAX_SERVERS)";
			return;
		}
		struct rt_server *s = &t->servers[t->nservers++];
		memset(s, 0, sizeof *s);
		s->addr = a[i];
		s->addr.port = port;
		s->weight = 1;
		b->nsrv++;
	}
}

static int
rb_cmp_server(const void *a, const void *b)
{
	const struct rt_server *x = a, *y = b;
	int c = memcmp(x->addr.ip, y->addr.ip, 16);
	if (c == 0)
		c = x->addr.family - y->addr.family;
	return c ? c : (int)x->addr.port - (int)y->addr.port;
}

/* Adds the servers of Service port `be` in namespace ns to backend b. */
static void
rb_servers(struct rt_table *t, struct rt_backend *b, const char *ns, const struct st_svc *svc,
           const struct st_svc_port *sp)
{
	/* EndpointSlices of the Service: binary search the sorted index */
	int lo = 0, hi = g_rb.neps;
	while (lo < hi) {
		int mid = (lo + hi) / 2;
		const struct st_eps *e = &g_st.eps[g_rb.eps_order[mid]];
		int c = strcmp(e->h.ns, ns);
		if (c == 0)
			c = strcmp(e->svc, svc->h.name);
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	b->srv = t->nservers;
	for (int k = lo; k < g_rb.neps; k++) {
		const struct st_eps *e = &g_st.eps[g_rb.eps_order[k]];
		if (strcmp(e->h.ns, ns) != 0 || strcmp(e->svc, svc->h.name) != 0)
			break;
		/* the endpoint port named like the Service port ("" matches "") */
		for (int p = 0; p < e->nports; p++) {
			if (strcmp(e->ports[p].name, sp->name) != 0)
				continue;
			for (int ai = e->addrs; ai >= 0; ai = g_st.addr[ai].next) {
				const struct st_addr *ad = &g_st.addr[ai];
				if (!ad->ready || ad->subset != e->ports[p].subset)
					continue;
				if (b->nsrv >= ING_MAX_BACKEND_SERVERS) {
					log_limit(LIM_BACKEND_SERVERS, "rb: servers of one backend");
					break;
				}
				if (t->nservers >= ING_MAX_SERVERS) {
					log_limit(LIM_SERVERS, "rb: servers");
					g_rb.fail = "too many servers (ING_MAX_SERVERS)";
					return;
				}
				struct rt_server *sv = &t->servers[t->nservers];
				memset(sv, 0, sizeof *sv);
				sv->addr.family = ad->family;
				memcpy(sv->addr.ip, ad->ip, 16);
				sv->addr.port = e->ports[p].port;
				sv->weight = 1;
				t->nservers++;
				b->nsrv++;
			}
		}
	}
	/* a deterministic order, so replicas agree; duplicates (an address in
	 * two slices) removed */
	str_sort(&t->servers[b->srv], (size_t)b->nsrv, sizeof t->servers[0], rb_cmp_server);
	int w = 0;
	for (int r = 0; r < b->nsrv; r++)
		if (w == 0 || rb_cmp_server(&t->servers[b->srv + w - 1], &t->servers[b->srv + r]) != 0)
			t->servers[b->srv + w++] = t->servers[b->srv + r];
	t->nservers -= b->nsrv - w;
	b->nsrv = w;
	if (b->nsrv == 0)
		b->why = "no ready endpoints";
}

/* A blob of (id, length, value) records (js_blob) into v[first..last]. */
static void
rb_blob(int head, char *b, size_t cap, struct ing_str *v, int first, int last)
{
	size_t n = st_blob(head, b, cap);
	for (int i = first; i <= last; i++)
		v[i] = (struct ing_str){NULL, 0};
	for (size_t i = 0; i + 3 <= n;) {
		size_t k = (size_t)(unsigned char)b[i + 1] << 8 | (unsigned char)b[i + 2];
		int id = (unsigned char)b[i];
		if (id >= first && id <= last && i + 3 + k <= n)
			v[id] = (struct ing_str){b + i + 3, k};
		i += 3 + k;
	}
}

/* Bytes into the table's ebytes: their offset, or -1 (limit logged). */
static int
rb_ebytes(struct rt_table *t, const char *p, size_t n)
{
	if (n > ING_MAX_EDIT_BYTES - t->nebytes) {
		log_limit(LIM_EDIT_BYTES, "rb: header edit bytes");
		return -1;
	}
	memcpy(t->ebytes + t->nebytes, p, n);
	t->nebytes += (uint32_t)n;
	return (int)(t->nebytes - n);
}

/* Why annotations are refused (their requests get 500), kept in the
 * table's bytes into *slot, unless it has a why already. */
static void __attribute__((format(printf, 3, 4)))
rb_why(struct rt_table *t, const char **slot, const char *fmt, ...)
{
	char why[160];
	va_list ap;
	if (*slot != NULL)
		return;
	va_start(ap, fmt);
	int n = ing_vsnprintf(why, sizeof why, fmt, ap);
	va_end(ap);
	int off = rb_ebytes(t, why, (size_t)ING_MIN(n, (int)sizeof why - 1) + 1);
	*slot = off >= 0 ? t->ebytes + off : "annotations refused, and no room to say why (ING_MAX_EDIT_BYTES)";
}
#define rb_refuse(t, pol, ...) rb_why(t, &(pol)->refused, __VA_ARGS__)

/* Traefik's extractorfunc (client.ip, request.host, request.header.NAME)
 * into by and hdr: 0, or ING_ERR. */
static int
rb_extractor(struct rt_table *t, const char *s, uint8_t *by, int *hdr)
{
	size_t n = strlen(s);
	*hdr = -1;
	*by = !strcmp(s, "client.ip") ? RK_CLIENT : !strcmp(s, "request.host") ? RK_HOST : RK_HEADER;
	if (*by != RK_HEADER)
		return 0;
	if (n <= 15 || strncmp(s, "request.header.", 15) != 0)
		return ING_ERR;
	for (size_t i = 15; i < n; i++)
		if (!hp_tchar[(unsigned char)s[i]])
			return ING_ERR;
	return (*hdr = rb_ebytes(t, s + 15, n - 14)) < 0 ? ING_ERR : 0;
}

/* The members of the YAML mapping at obj (ym_load) whose keys are in
 * names[n] into v[] (their tokens, -1 when absent): 0, or ING_ERR with err
 * naming a key Traefik would not have read (yaml.v2 took lower-case keys
 * and ignored the rest; here a limit in a misspelt key is not dropped). */
static int
rb_ykeys(struct js *j, int obj, const char *const *names, int n, int *v, char *err, size_t cap)
{
	for (int i = 0; i < n; i++)
		v[i] = -1;
	if (obj < 0 || j->t[obj].type != JSMN_OBJECT) {
		ing_snprintf(err, cap, "a mapping (key: value lines) was expected");
		return ING_ERR;
	}
	for (int k = obj + 1, m = 0; m < j->t[obj].size; m++, k = js_skip(j, k + 1)) {
		int i = 0;
		while (i < n && !js_is(j, k, names[i]))
			i++;
		if (i == n) {
			ing_snprintf(err, cap, "key \"%.*s\" is not one Traefik read (%s, ...: lower case)",
			             ING_MIN(j->t[k].end - j->t[k].start, 40), j->s + j->t[k].start, names[0]);
			return ING_ERR;
		}
		v[i] = k + 1;
	}
	return 0;
}

/* A decimal integer in [min, max]: 0, or ING_ERR. */
static int
rb_int(const char *s, int64_t min, int64_t max, int64_t *out)
{
	uint64_t u;
	int neg = s[0] == '-';
	if (str_to_u64((struct ing_str){s + neg, strlen(s + neg)}, (uint64_t)INT64_MAX, &u) != 0)
		return ING_ERR;
	*out = neg ? -(int64_t)u : (int64_t)u;
	return *out < min || *out > max ? ING_ERR : 0;
}

/* A YAML scalar (ym_load: a JSON string) as an integer in [min, max]. */
static int
rb_yint(struct js *j, int tok, int64_t min, int64_t max, int64_t *out)
{
	char s[24];
	return js_str(j, tok, s, sizeof s) <= 0 ? ING_ERR : rb_int(s, min, max, out);
}

/* Traefik's Service limits into b: max-conn-amount with
 * max-conn-extractor-func (both, or neither; Traefik dropped a lone or bad
 * one silently), and buffering's maxrequestbodybytes (a body limit: 413).
 * Bodies are streamed, not buffered: the memory sizes and retryexpression
 * have nothing to apply to, and a response is not cut at
 * maxresponsebodybytes (said once). A bad value: b->refused (500). */
static void
rb_svc_limits(struct rt_table *t, struct rt_backend *b, const struct st_svc *svc)
{
	static const char *const keys[] = {"maxrequestbodybytes", "memrequestbodybytes", "maxresponsebodybytes",
	                                   "memresponsebodybytes", "retryexpression"};
	static char blob[ING_MAX_HEADER_ANN_BYTES], y[ING_MAX_HEADER_ANN_BYTES + 1], json[2 * ING_MAX_HEADER_ANN_BYTES];
	jsmntok_t tok[16];
	char err[160] = "", amount[24], fn[80];
	struct ing_str sv[SA__COUNT];
	int64_t v;
	int quiet = svc->h.logged == svc->h.gen;
	rb_blob(svc->rare, blob, sizeof blob, sv, SA_MAXCONN, SA_BUFFERING);
	if (sv[SA_MAXCONN].n || sv[SA_MAXCONN_FN].n) {
		ing_snprintf(amount, sizeof amount, "%.*s", (int)sv[SA_MAXCONN].n, sv[SA_MAXCONN].p ? sv[SA_MAXCONN].p : "");
		ing_snprintf(fn, sizeof fn, "%.*s", (int)sv[SA_MAXCONN_FN].n, sv[SA_MAXCONN_FN].p ? sv[SA_MAXCONN_FN].p : "");
		if (rb_int(amount, INT64_MIN, UINT32_MAX, &v) != 0)
			rb_why(t, &b->refused, "max-conn-amount \"%s\" is not a number", amount);
		else if (rb_extractor(t, fn, &b->mc_by, &b->mc_hdr) != 0)
			rb_why(t, &b->refused, "max-conn-extractor-func \"%s\": client.ip, request.host or request.header.<name>",
			       fn);
		else
			b->mc_amount = v > 0 ? (uint32_t)v : 0; /* 0 and -1: no limit, as in Traefik */
	}
	size_t n = sv[SA_BUFFERING].n;
	struct js j;
	int f[5];
	if (n > 0) {
		memcpy(y, sv[SA_BUFFERING].p, n);
		y[n] = '\0';
		if (ym_load(&j, y, json, sizeof json, tok, ING_ARRAY_LEN(tok), err, sizeof err) == 0 &&
		    rb_ykeys(&j, 0, keys, 5, f, err, sizeof err) == 0 && f[0] >= 0 &&
		    rb_yint(&j, f[0], INT64_MIN, (int64_t)1 << 50, &v) != 0)
			ing_snprintf(err, sizeof err, "maxrequestbodybytes is not a number");
		if (err[0])
			rb_why(t, &b->refused, "buffering: %s", err);
		else if (f[0] >= 0 && v > 0)
			b->body_max = (uint64_t)v;
		if (!err[0] && !quiet && (f[1] >= 0 || f[2] >= 0 || f[3] >= 0 || f[4] >= 0))
			log_info("rb: service %s/%s: buffering: bodies are streamed, so only maxrequestbodybytes applies",
			         svc->h.ns, svc->h.name);
	}
	if (b->refused != NULL && !quiet)
		log_warnx("rb: service %s/%s: %s: its requests get 500", svc->h.ns, svc->h.name, b->refused);
}

/* The backend named key: found, or made (*made) empty. -1 when the table
 * is full. */
static int
rb_backend_key(struct rt_table *t, const char *key, int *made)
{
	int n = 2 * ING_MAX_BACKENDS, s;
	*made = 0;
	for (s = (int)(st_hash(key, "") % (uint32_t)n); g_rb.bidx[s] != 0; s = (s + 1) % n)
		if (strcmp(t->backends[g_rb.bidx[s] - 1].key, key) == 0)
			return g_rb.bidx[s] - 1;
	if (t->nbackends >= ING_MAX_BACKENDS) {
		log_limit(LIM_BACKENDS, "rb: backends");
		g_rb.fail = "too many backends (ING_MAX_BACKENDS)";
		return -1;
	}
	struct rt_backend *b = &t->backends[t->nbackends];
	memset(b, 0, sizeof *b);
	ing_snprintf(b->key, sizeof b->key, "%s", key);
	b->state = -1;
	g_rb.bidx[s] = t->nbackends + 1;
	*made = 1;
	return t->nbackends++;
}

/* The backend for Service port be of Ingress namespace ns (shared by every
 * route that names it). -1 when the table is full. */
static int
rb_backend(struct rt_table *t, const char *ns, const struct st_backend *be)
{
	char key[sizeof t->backends[0].key];
	int made;
	if (be->port_name[0])
		ing_snprintf(key, sizeof key, "%s/%s:%s", ns, be->svc, be->port_name);
	else
		ing_snprintf(key, sizeof key, "%s/%s:%u", ns, be->svc, be->port);
	int bi = rb_backend_key(t, key, &made);
	if (bi < 0 || !made)
		return bi;
	struct rt_backend *b = &t->backends[bi];
	memcpy(b->ns, ns, ING_MIN(strlen(ns) + 1, sizeof b->ns));
	memcpy(b->svc, be->svc, sizeof b->svc);
	const struct st_svc *svc = st_find(SK_SERVICE, ns, be->svc);
	const struct st_svc_port *sp = NULL;
	if (svc == NULL) {
		b->why = "Service not found";
	} else {
		for (int p = 0; p < svc->nports && sp == NULL; p++)
			if ((be->port && svc->ports[p].port == be->port) ||
			    (be->port_name[0] && strcmp(svc->ports[p].name, be->port_name) == 0))
				sp = &svc->ports[p];
		if (sp != NULL)
			b->auto_https = sp->port == 443 || strncmp(sp->name, "https", 5) == 0;
		if (sp == NULL)
			b->why = "Service has no such port";
		else if (svc->external)
			rb_named(t, b, st_note(svc->external_name), sp->port);
		else
			rb_servers(t, b, ns, svc, sp);
		rb_svc_limits(t, b, svc);
	}
	return bi;
}

/* Annotation values. */
static int
rb_bool(const char *v, int dflt)
{
	if (v[0] == '\0')
		return dflt;
	if (!strcasecmp(v, "true") || !strcmp(v, "1") || !strcasecmp(v, "t"))
		return 1;
	if (!strcasecmp(v, "false") || !strcmp(v, "0") || !strcasecmp(v, "f"))
		return 0;
	return -1;
}

/* Entry points named by a comma list; 0 when one is unknown. */
static uint32_t
rb_ep_mask(const char *list)
{
	uint32_t m = 0;
	struct ing_str e, items = {list, strlen(list)};
	while (str_item(&items, &e)) {
		if (e.n == 0)
			continue;
		int found = 0;
		for (int ep = 0; ep < cf_live->n_eps; ep++)
			if (str_eq(e, cf_live->eps[ep].name)) {
				m |= 1u << ep;
				found = 1;
			}
		if (!found)
			return 0;
	}
	return m;
}

static int rb_cmp_route(const void *a, const void *b); /* below */
static int rb_cmp_conflict(const void *a, const void *b);
static struct rt_table *rb_sorting;
static int wl_cmp(const void *a, const void *b);          /* source whitelist (wl_) */

/* Logs a policy problem of Ingress r once per version of it. */
static void __attribute__((format(printf, 2, 3)))
rb_note(struct st_ing *r, const char *fmt, ...)
{
	va_list ap;
	char msg[300];
	if (r->h.logged == r->h.gen)
		return;
	va_start(ap, fmt);
	ing_vsnprintf(msg, sizeof msg, fmt, ap);
	va_end(ap);
	log_warnx("rb: ingress %s/%s: %s", r->h.ns, r->h.name, msg);
}

/* The whitelist of Ingress r into policy pol. */
/* One source-range annotation into the table: WL_OPEN when unset or empty,
 * WL_LIST, or WL_DENY for an invalid entry (fail closed: no request is in
 * an allow list, every request in a deny list), except that
 * whitelistInvalidAllowAll opens Traefik's allow list as the seed did. */
static void
rb_ranges(struct rt_table *t, struct st_ing *r, const struct st_ranges *rg, struct rt_ranges *out, const char *what,
          int seed_ok)
{
	out->state = WL_OPEN;
	out->first = out->n = 0;
	if (!rg->set)
		return;
	if (rg->invalid) {
		g_rb.wl_invalid++;
		if (seed_ok && cf_live->kube.whitelist_invalid_allow_all) {
			rb_note(r, "%s entry \"%s\" is invalid: everyone allowed (whitelistInvalidAllowAll)", what, rg->bad);
			return;
		}
		rb_note(r, "%s entry \"%s\" is invalid: every request gets 403", what, rg->bad);
		out->state = WL_DENY;
		return;
	}
	if (rg->n == 0)
		return; /* empty: everyone (the seed), or nobody denied */
	if (t->ncidrs + rg->n > ING_MAX_STORE_CIDRS) {
		g_rb.fail = "too many source-range entries (ING_MAX_STORE_CIDRS)";
		return;
	}
	out->first = t->ncidrs;
	for (int k = rg->first; k >= 0; k = g_st.cidr[k].next) {
		struct rt_cidr *c = &t->cidrs[t->ncidrs++];
		c->family = g_st.cidr[k].family;
		c->bits = g_st.cidr[k].bits;
		memcpy(c->ip, g_st.cidr[k].ip, 16);
		out->n++;
	}
	str_sort(&t->cidrs[out->first], (size_t)out->n, sizeof t->cidrs[0], wl_cmp);
	out->state = WL_LIST;
}

static void
rb_whitelist(struct rt_table *t, struct st_ing *r, struct rt_policy *pol)
{
	rb_ranges(t, r, &r->wl, &pol->wl[0], "whitelist-source-range", 1);
	rb_ranges(t, r, &r->wl_ngx, &pol->wl[1], JS_NGX_PREFIX "whitelist-source-range", 0);
	rb_ranges(t, r, &r->deny, &pol->deny, JS_NGX_PREFIX "denylist-source-range", 0);
}

static int kw_secrets_forbidden(void);

/* Basic auth of Ingress r into policy pol: users from its Secret, or
 * AU_DENY (401 to everyone) with the reason logged. */
/* One user (from an htpasswd line or an auth-map key) into t after the
 * policy's first (a repeated name: the last wins). 0, or ING_ERR with the
 * reason noted (the policy then fails closed). */
static int
rb_user(struct rt_table *t, struct st_ing *r, int first, const char *why, const struct rt_user *u, const char *unit,
        int line)
{
	int k;
	if (why != NULL) {
		rb_note(r, "basic auth: Secret %s %s %d: %s: every request gets 401", r->a_auth_secret, unit, line, why);
		return ING_ERR;
	}
	for (k = first; k < t->nusers && strcmp(u->name, t->users[k].name) != 0; k++)
		;
	if (k == t->nusers) {
		if (t->nusers >= ING_MAX_USERS) {
			log_limit(LIM_USERS, "rb: htpasswd users");
			rb_note(r, "basic auth: too many users (ING_MAX_USERS): every request gets 401");
			return ING_ERR;
		}
		t->nusers++;
	}
	t->users[k] = *u;
	t->users[k].line = line;
	if (!u->usable)
		rb_note(r, "basic auth: Secret %s %s %d (user %s): %s; this user never matches", r->a_auth_secret, unit, line,
		        u->name, au_hash_error(u->hash, strlen(u->hash)));
	return 0;
}

/* The users of htpasswd data: user:hash lines, LF or CRLF, blank ones
 * ignored. 0, or ING_ERR noted. */
static int
rb_htpasswd(struct rt_table *t, struct st_ing *r, int first, const char *d, size_t dlen)
{
	int line = 0;
	for (const char *p = d, *end = d + dlen; p < end;) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		struct ing_str l = {p, (size_t)((nl ? nl : end) - p)};
		struct rt_user u;
		p = nl ? nl + 1 : end;
		line++;
		if (l.n > 0 && l.p[l.n - 1] == '\r')
			l.n--;
		if (str_trim(l).n > 0 && rb_user(t, r, first, au_user_line(l, &u), &u, "line", line) != 0)
			return ING_ERR;
	}
	return 0;
}

/* Basic auth of an Ingress: Traefik's names (a Secret with exactly one
 * key of htpasswd lines) or ingress-nginx's (auth-secret-type auth-file:
 * the key "auth"; auth-map: one key per user, the hash its value). Fails
 * closed: AU_DENY (401 to everyone) with the reason logged. */
static int rb_fwd(struct rt_table *t, struct st_ing *r, struct rt_policy *pol, int ngx); /* below */
static struct {
	char blob[ING_MAX_HEADER_ANN_BYTES];
	struct ing_str v[IA__COUNT];
} g_rba; /* the blob annotations of the Ingress being built (js_blob) */

static void
rb_auth(struct rt_table *t, struct st_ing *r, struct rt_policy *pol)
{
	const char *why = NULL, *sname = st_auth_secret(r);
	int ngx = r->auth_nginx != 0;
	pol->auth = AU_OFF;
	pol->auth_header[0] = '\0';
	if (r->auth_other[0] || r->auth_nginx == 2) {
		pol->auth = AU_DENY;
		if (r->auth_other[0])
			rb_note(r, "%s is not supported by ingressd: every request gets 401", r->auth_other);
		else
			rb_note(r, "auth annotations of both Traefik and ingress-nginx: every request gets 401");
		return;
	}
	if (ngx && g_rba.v[IA_NGX_AUTH_URL].n && rb_fwd(t, r, pol, 1) != 0) {
		pol->auth = AU_DENY;
		return;
	}
	if (r->a_auth_type[0] == '\0') {
		if (r->a_auth_secret[0])
			rb_note(r, "auth-secret without auth-type: no authentication");
		return;
	}
	pol->auth = AU_DENY;
	if (!ngx && !strcasecmp(r->a_auth_type, "forward")) {
		if (!g_rba.v[IA_AUTH_URL].n)
			rb_note(r, "auth-type forward without auth-url: every request gets 401");
		else if (rb_fwd(t, r, pol, 0) == 0)
			pol->auth = AU_OFF;
		return;
	}
	ing_snprintf(pol->realm, sizeof pol->realm, "%s", ngx ? "" : "traefik"); /* each one's default */
	if (r->a_auth_realm[0]) {
		int okr = 1;
		for (const char *p = r->a_auth_realm; *p; p++)
			okr &= *p >= 0x20 && *p != '"' && *p != '\\' && *p != 0x7f;
		if (okr)
			ing_snprintf(pol->realm, sizeof pol->realm, "%s", r->a_auth_realm);
		else
			rb_note(r, "auth-realm has a quote or control character; using the default");
	}
	int rm = rb_bool(r->a_auth_remove, 0);
	pol->auth_remove = rm > 0;
	if (r->a_auth_header[0]) { /* the pod trusts it: a name we cannot set means no service */
		int okh = 1;
		for (const char *p = r->a_auth_header; *p; p++)
			okh &= hp_tchar[(unsigned char)*p];
		if (!okh) {
			rb_note(r, "auth-header-field \"%s\" is not a header name: every request gets 401", r->a_auth_header);
			return;
		}
		ing_snprintf(pol->auth_header, sizeof pol->auth_header, "%s", r->a_auth_header);
	}
	if (strcasecmp(r->a_auth_type, "basic") != 0) {
		rb_note(r, "auth-type \"%s\" is not supported (basic or forward): every request gets 401", r->a_auth_type);
		return;
	}
	int map = ngx && !strcmp(r->a_auth_secret_type, "auth-map");
	if (ngx && r->a_auth_secret_type[0] && !map && strcmp(r->a_auth_secret_type, "auth-file") != 0) {
		rb_note(r, "auth-secret-type \"%s\" is not auth-file or auth-map: every request gets 401", r->a_auth_secret_type);
		return;
	}
	const struct st_secret *sec = sname ? st_find(SK_SECRET, r->h.ns, sname) : NULL;
	size_t dlen = 0;
	const char *d = NULL;
	if (r->a_auth_secret[0] == '\0')
		why = "auth-secret is not set";
	else if (sname == NULL)
		why = "is in another namespace: refused";
	else if (sec == NULL)
		why = kw_secrets_forbidden() ? "cannot be read (no RBAC right to read Secrets)" : "is not (yet) there";
	else if (sec->bad != NULL)
		why = sec->bad;
	else if (map && sec->nkeys > ING_MAX_SECRET_KEYS)
		why = "has more users than an auth-map can hold (" ING_STR(ING_MAX_SECRET_KEYS) " keys)";
	else if (ngx && !map && (d = (const char *)st_secret_data(sec, "auth", &dlen)) == NULL)
		why = sec->nkeys > ING_MAX_SECRET_KEYS ? "has more data keys than ingressd keeps (ING_MAX_SECRET_KEYS): "
		                                         "no key \"auth\" among the first " ING_STR(ING_MAX_SECRET_KEYS)
		                                       : "has no key \"auth\"";
	else if (!ngx && sec->nkeys != 1)
		why = "must hold exactly one data key";
	if (why != NULL) {
		if (r->a_auth_secret[0])
			rb_note(r, "basic auth: Secret %s%s%s %s: every request gets 401", strchr(r->a_auth_secret, '/') ? "" : r->h.ns,
			        strchr(r->a_auth_secret, '/') ? "" : "/", r->a_auth_secret, why);
		else
			rb_note(r, "basic auth: %s: every request gets 401", why);
		return;
	}
	int first = t->nusers;
	if (map) {
		for (int i = 0; i < sec->nkeys; i++) {
			size_t hl = 0;
			const char *h = (const char *)st_secret_data(sec, sec->key[i].name, &hl);
			struct rt_user u;
			const char *bad = au_user((struct ing_str){sec->key[i].name, strlen(sec->key[i].name)},
			                          str_trim((struct ing_str){h, hl}), &u);
			if (rb_user(t, r, first, bad, &u, "key", i + 1) != 0) {
				t->nusers = first;
				return;
			}
		}
	} else {
		if (d == NULL)
			d = (const char *)st_secret_data(sec, sec->key[0].name, &dlen);
		if (rb_htpasswd(t, r, first, d, dlen) != 0) {
			t->nusers = first;
			return;
		}
	}
	pol->user = first;
	pol->nuser = t->nusers - first;
	pol->auth = AU_BASIC;
}



static void
rb_anns(const struct st_ing *r)
{
	rb_blob(r->hdrs, g_rba.blob, sizeof g_rba.blob, g_rba.v, IA_B_FIRST, IA_B_LAST);
}

/* A short blob annotation as a C string in buf: "" when unset; a value
 * over cap reads "<too long>", which no reader of these takes. */
static const char *
rb_ann(int id, char *buf, size_t cap)
{
	struct ing_str v = g_rba.v[id];
	ing_snprintf(buf, cap, "%.*s", (int)v.n, v.p ? v.p : "");
	if (v.n >= cap)
		ing_snprintf(buf, cap, "<too long>");
	return buf;
}

/* nginx variables an auth-signin may hold (rs_fwd_expand). */
static const char *const rb_ngx_vars[] = {"$host", "$http_host", "$best_http_host", "$scheme", "$pass_access_scheme",
                                          "$request_uri", "$escaped_request_uri", NULL};

/* Forward auth of Ingress r into pol->fwd: Traefik's auth-type forward
 * (auth-url, auth-trust-headers, auth-response-headers,
 * auth-tls-insecure), or nginx's auth-url (auth-signin, auth-method,
 * auth-response-headers, auth-request-redirect). auth-url names the auth
 * service: http(s)://IP or name[:port]/path?query; a name of a Service
 * (svc.ns.svc.cluster.local, svc.ns.svc, svc.ns, or svc of r's namespace)
 * is its pods, any other is resolved off the loop (rb_dns); nginx's $host
 * is the request's host, routed by ingressd itself. 0, or ING_ERR with
 * why logged (the caller denies every request). */
static int
rb_fwd(struct rt_table *t, struct st_ing *r, struct rt_policy *pol, int ngx)
{
	char u[1024], v[512], name[ING_NAME_LEN], key[sizeof t->backends[0].key];
	struct rt_fwd fa = {(uint8_t)ngx, 0, 0, 0, -1, -1, -1, -1, -1, -1, -1, -1};
	const char *why = NULL, *p, *e;
	rb_ann(ngx ? IA_NGX_AUTH_URL : IA_AUTH_URL, u, sizeof u);
	size_t sl = !strncmp(u, "http://", 7) ? 7 : !strncmp(u, "https://", 8) ? 8 : 0;
	fa.https = sl == 8 ? TL_POD_VERIFY + 1 : 0;
	for (p = u; *p && why == NULL; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '#' || *p == '\\' || *p == '"')
			why = "has a space, '#', '\\', '\"' or a control byte";
	e = sl ? u + sl + str_span(u + sl, "/?", 0) : u;
	if (why == NULL && (sl == 0 || e == u + sl || memchr(u + sl, '@', (size_t)(e - u - sl)) != NULL))
		why = "is not http(s)://host[:port][/path]";
	else if (why == NULL && strchr(e, '$') != NULL)
		why = "has a variable in its path (only the host may be nginx's $host)";
	if (why != NULL) {
		rb_note(r, "auth-url \"%s\" %s: every request gets 401", u, why);
		return ING_ERR;
	}
	/* the authority: [v6], name or IPv4, then :port */
	const char *hb = u + sl, *he = e, *colon = NULL;
	if (*hb == '[') {
		const char *rb = memchr(hb, ']', (size_t)(e - hb));
		colon = rb && rb + 1 < e && rb[1] == ':' ? rb + 1 : NULL;
		he = rb ? rb + 1 : e;
	} else if ((colon = memchr(hb, ':', (size_t)(e - hb))) != NULL) {
		he = colon;
	}
	uint64_t port = fa.https ? 443 : 80;
	if (colon != NULL && (str_to_u64((struct ing_str){colon + 1, (size_t)(e - colon - 1)}, 65535, &port) != 0 || !port))
		why = "has a bad port";
	ing_snprintf(name, sizeof name, "%.*s", (int)(*hb == '[' ? he - hb - 2 : he - hb), hb + (*hb == '['));
	if (why == NULL && name[0] == '$') {
		fa.own = ngx && (!strcmp(name, "$host") || !strcmp(name, "$http_host") || !strcmp(name, "$best_http_host"));
		why = fa.own ? NULL : "names a host by a variable other than $host (nginx's only)";
	}
	ing_snprintf(v, sizeof v, "%.*s", (int)(e - hb), hb);
	fa.host = rb_ebytes(t, v, strlen(v) + 1);
	fa.uri = rb_ebytes(t, *e ? e : "/", *e ? strlen(e) + 1 : 2);
	if (why == NULL && !fa.own) {
		/* a Service: svc.ns.svc.cluster.local, svc.ns.svc, svc.ns, or svc */
		char svc[ING_NS_LEN] = "", ns[ING_NS_LEN] = "";
		const char *d1 = strchr(name, '.'), *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
		if (d1 == NULL)
			ing_snprintf(svc, sizeof svc, "%s", name), ing_snprintf(ns, sizeof ns, "%s", r->h.ns);
		else if (d2 == NULL || !strcmp(d2, ".svc") || !strcmp(d2, ".svc.cluster.local"))
			ing_snprintf(svc, sizeof svc, "%.*s", (int)(d1 - name), name),
			    ing_snprintf(ns, sizeof ns, "%.*s", (int)((d2 ? d2 : d1 + strlen(d1)) - d1 - 1), d1 + 1);
		if (svc[0] && st_find(SK_SERVICE, ns, svc) != NULL) {
			struct st_backend be = {"", "", (uint16_t)port};
			ing_snprintf(be.svc, sizeof be.svc, "%s", svc);
			fa.backend = rb_backend(t, ns, &be);
		} else {
			int made;
			ing_snprintf(key, sizeof key, "%s:%u", name, (unsigned)port);
			if ((fa.backend = rb_backend_key(t, key, &made)) >= 0 && made)
				rb_named(t, &t->backends[fa.backend], name, (uint16_t)port);
		}
		if (fa.backend < 0)
			return ING_ERR; /* the table is full: the build fails */
	}
	int trust = ngx ? 0 : rb_bool(rb_ann(IA_AUTH_TRUST, v, sizeof v), 0);
	int insecure = ngx ? 0 : rb_bool(rb_ann(IA_AUTH_TLS_INSECURE, v, sizeof v), 0);
	if (why == NULL && (trust < 0 || insecure < 0))
		why = trust < 0 ? "auth-trust-headers is not a boolean" : "auth-tls-insecure is not a boolean";
	fa.trust = trust > 0;
	if (fa.https && (insecure > 0 || cf_live->insecure_skip_verify))
		fa.https = TL_POD_INSECURE + 1;
	if (why == NULL && !ngx && g_rba.v[IA_AUTH_TLS_SECRET].n)
		why = "auth-tls-secret (a client certificate for the auth service) is not supported";
	/* the lists and strings, each checked */
	struct ing_str item, rest = {rb_ann(ngx ? IA_NGX_AUTH_RESP_HDRS : IA_AUTH_RESP_HDRS, v, sizeof v), strlen(v)};
	while (why == NULL && v[0] && str_item(&rest, &item)) {
		size_t i = 0;
		while (i < item.n && hp_tchar[(unsigned char)item.p[i]])
			i++;
		if (item.n == 0 || i < item.n)
			why = "auth-response-headers is not a list of header names";
	}
	int full = fa.host < 0 || fa.uri < 0 || (fa.sni = rb_ebytes(t, name, strlen(name) + 1)) < 0;
	if (v[0])
		full |= (fa.hdrs = rb_ebytes(t, v, strlen(v) + 1)) < 0;
	static const int ids[] = {IA_NGX_AUTH_METHOD, IA_NGX_AUTH_SIGNIN, IA_NGX_AUTH_REDIRECT};
	int *at[] = {&fa.method, &fa.signin, &fa.redirect};
	for (int i = 0; ngx && i < 3 && why == NULL; i++) {
		if (!rb_ann(ids[i], v, sizeof v)[0])
			continue;
		for (p = v; *p && why == NULL; p++)
			if (i == 0 ? !hp_tchar[(unsigned char)*p] : (unsigned char)*p < 0x20 || *p == 0x7f)
				why = i == 0 ? "auth-method is not a method" : "auth-signin or auth-request-redirect has a control byte";
		for (p = strchr(v, '$'); i == 1 && p != NULL && why == NULL; p = strchr(p + 1, '$')) {
			int k = 0;
			while (rb_ngx_vars[k] && strncmp(p, rb_ngx_vars[k], strlen(rb_ngx_vars[k])) != 0)
				k++;
			if (rb_ngx_vars[k] == NULL || isalnum((unsigned char)p[strlen(rb_ngx_vars[k])]) ||
			    p[strlen(rb_ngx_vars[k])] == '_')
				why = "auth-signin has a variable ingressd does not know (README: Forward auth)";
		}
		full |= (*at[i] = rb_ebytes(t, v, strlen(v) + 1)) < 0;
	}
	if (why == NULL && (full || (pol->fwd = rb_ebytes(t, (const char *)&fa, sizeof fa)) < 0))
		why = "no room (ING_MAX_EDIT_BYTES)";
	if (why != NULL) {
		pol->fwd = -1;
		rb_note(r, "forward auth: %s: every request gets 401", why);
		return ING_ERR;
	}
	return 0;
}

/* How Ingress r's pods are spoken to: Traefik's protocol (http, https,
 * h2c) or nginx's backend-protocol (HTTP, AUTO_HTTP, HTTPS; the rest are
 * not supported), proxy-ssl-verify and proxy-ssl-name. ING_ERR when a
 * value is unknown (its routes are not served). */
static int
rb_proto(struct rt_table *t, struct st_ing *r, struct rt_policy *pol)
{
	static const struct {
		const char *v;
		uint8_t ngx, proto;
		const char *why;
	} tab[] = {
	    {"http", 0, PR_HTTP, NULL}, {"https", 0, PR_HTTPS, NULL},
	    {"h2c", 0, PR_UNSUP, "protocol h2c: HTTP/2 to pods is not supported"},
	    {"HTTP", 1, PR_HTTP, NULL}, {"AUTO_HTTP", 1, PR_HTTP, NULL}, {"HTTPS", 1, PR_HTTPS, NULL},
	    {"GRPC", 1, PR_UNSUP, "backend-protocol GRPC: gRPC (HTTP/2) to pods is not supported"},
	    {"GRPCS", 1, PR_UNSUP, "backend-protocol GRPCS: gRPC (HTTP/2) to pods is not supported"},
	    {"H2C", 1, PR_UNSUP, "backend-protocol H2C: HTTP/2 to pods is not supported"},
	    {"FCGI", 1, PR_UNSUP, "backend-protocol FCGI: FastCGI is not supported"},
	    {"AJP", 1, PR_UNSUP, "backend-protocol AJP: AJP is not supported"},
	};
	char pb[2][16], verify[8], sn[ING_NAME_LEN];
	const char *given[2] = {rb_ann(IA_PROTOCOL, pb[0], sizeof pb[0]), rb_ann(IA_NGX_BACKEND_PROTOCOL, pb[1], sizeof pb[1])};
	int found[2] = {-1, -1};
	pol->pod_ctx = cf_live->insecure_skip_verify ? TL_POD_INSECURE : TL_POD_VERIFY;
	for (int ngx = 0; ngx < 2; ngx++) {
		struct ing_str v = str_trim((struct ing_str){given[ngx], strlen(given[ngx])});
		if (given[ngx][0] == '\0')
			continue;
		for (int i = 0; i < (int)ING_ARRAY_LEN(tab); i++) /* Traefik's exactly, nginx's in any case */
			if (tab[i].ngx == ngx && (ngx ? str_ieq(v, tab[i].v) : str_eq(v, tab[i].v)))
				found[ngx] = i;
		if (found[ngx] < 0) {
			rb_skip(t, r, "*", "", ngx ? "backend-protocol \"%s\" is not HTTP, HTTPS, AUTO_HTTP, GRPC, GRPCS, H2C or "
			                             "FCGI: not served" : "protocol \"%s\" is not http, https or h2c: not served",
			        given[ngx]);
			return ING_ERR;
		}
	}
	if (found[0] >= 0 && found[1] >= 0 && tab[found[0]].proto != tab[found[1]].proto) {
		rb_skip(t, r, "*", "", "protocol \"%s\" and backend-protocol \"%s\" disagree: not served", given[0],
		        given[1]);
		return ING_ERR;
	}
	int f = found[1] >= 0 ? found[1] : found[0];
	pol->proto = f >= 0 ? tab[f].proto : PR_AUTO;
	pol->proto_bad = f >= 0 ? tab[f].why : NULL;
	if (pol->proto_bad)
		rb_note(r, "%s: its requests get 502", pol->proto_bad);
	rb_ann(IA_NGX_SSL_VERIFY, verify, sizeof verify);
	if (!strcasecmp(verify, "off")) {
		pol->pod_ctx = TL_POD_INSECURE;
	} else if (verify[0]) { /* "on", and fail closed on anything else */
		pol->pod_ctx = TL_POD_VERIFY;
		if (strcasecmp(verify, "on") != 0)
			rb_note(r, "proxy-ssl-verify \"%s\" is not on or off: HTTPS pods are verified", verify);
	}
	pol->ssl_name = -1;
	if (rb_ann(IA_NGX_SSL_NAME, sn, sizeof sn)[0]) {
		struct ing_addr ip;
		char lc[ING_NAME_LEN];
		memcpy(lc, sn, sizeof lc);
		if ((js_host(lc) != 0 || sn[0] == '*') && ing_addr_parse_ip(&ip, sn, strlen(sn)) != 0) {
			rb_skip(t, r, "*", "", "proxy-ssl-name \"%s\" is neither a DNS name nor an IP address: not served", sn);
			return ING_ERR;
		}
		pol->ssl_name = rb_ebytes(t, lc, strlen(lc) + 1);
	}
	return 0;
}

/* ---- header edits (custom headers, secure headers, CORS) ---- */

/* The next piece of a Traefik map "Name:value||Name2:value2" from *pos:
 * 1 with name and value trimmed, 0 at the end, -1 for a piece without a
 * ':' or with an empty name (skipped by the caller, with a note). */
static int
rb_hdr_map(struct ing_str v, size_t *pos, struct ing_str *name, struct ing_str *value)
{
	while (*pos < v.n) {
		size_t a = *pos, b = a;
		while (b < v.n && !(v.p[b] == '|' && b + 1 < v.n && v.p[b + 1] == '|'))
			b++;
		*pos = b < v.n ? b + 2 : v.n;
		struct ing_str piece = str_trim((struct ing_str){v.p + a, b - a});
		if (piece.n == 0)
			continue;
		const char *colon = memchr(piece.p, ':', piece.n);
		if (colon == NULL || colon == piece.p)
			return -1;
		*name = str_trim((struct ing_str){piece.p, (size_t)(colon - piece.p)});
		*value = str_trim((struct ing_str){colon + 1, piece.n - (size_t)(colon - piece.p) - 1});
		return name->n > 0 ? 1 : -1;
	}
	return 0;
}


/* A header field value an annotation gives: no CR, LF, NUL or other
 * control byte but HTAB - never a way to inject a header line. */
static int
rb_hdr_value_ok(struct ing_str v)
{
	for (size_t i = 0; i < v.n; i++)
		if (((unsigned char)v.p[i] < 0x20 && v.p[i] != '\t') || v.p[i] == 0x7f)
			return 0;
	return 1;
}

/* One edit (or list item) of policy pol. A header name is checked and
 * canonicalised (x-foo -> X-Foo, as Traefik did); a later edit of the same
 * name, kind and condition replaces an earlier one. 0, or ING_ERR with
 * pol->refused set. */
static int
rb_edit(struct rt_table *t, struct rt_policy *pol, const char *what, int kind, int flags, struct ing_str name,
        struct ing_str value)
{
	char nb[128];
	if (!rb_hdr_value_ok(value) || !rb_hdr_value_ok(name)) {
		rb_refuse(t, pol, "%s: a value with CR, LF, NUL or another control character", what);
		return ING_ERR;
	}
	if (name.n >= sizeof nb) {
		rb_refuse(t, pol, "%s: header name over %zu bytes", what, sizeof nb - 1);
		return ING_ERR;
	}
	if (kind == EK_REQ || kind == EK_RESP || kind == EK_SSL_PROXY || kind == EK_PROXY_HDR) {
		for (size_t i = 0; i < name.n; i++) {
			if (!hp_tchar[(unsigned char)name.p[i]]) {
				rb_refuse(t, pol, "%s: \"%.*s\" is not a header name", what, (int)ING_MIN(name.n, 40), name.p);
				return ING_ERR;
			}
			nb[i] = (char)(i == 0 || name.p[i - 1] == '-' ? toupper((unsigned char)name.p[i])
			                                                : tolower((unsigned char)name.p[i]));
		}
		uint32_t bit = 1u << hp_hid((struct ing_str){nb, name.n});
		/* the framing and hop-by-hop headers are the proxy's; so, on the
		 * way in, are the ones only ingressd may tell a pod */
		if ((kind == EK_REQ && (bit & (HH_HOP | HH_OURS | HH_BIT(X_FORWARDED_FOR)))) || (kind == EK_RESP && (bit & HH_HOP))) {
			rb_refuse(t, pol, "%s: %.*s is set by ingressd itself", what, (int)name.n, nb);
			return ING_ERR;
		}
		name.p = nb;
	}
	struct rt_edit *e = NULL;
	for (int i = pol->ed_first; i < pol->ed_first + pol->ed_n && kind <= EK_RESP; i++) {
		struct rt_edit *x = &t->edits[i];
		if (x->kind == kind && (x->flags & EF_CORS) == (flags & EF_CORS) && x->nlen == name.n &&
		    strncasecmp(t->ebytes + x->off, name.p, name.n) == 0)
			e = x;
	}
	if (e == NULL && pol->ed_n >= ING_MAX_ROUTE_EDITS) {
		log_limit(LIM_ROUTE_EDITS, "rb: header edits of an Ingress");
		rb_refuse(t, pol, "more header edits, hosts and origins than ING_MAX_ROUTE_EDITS (%d)", ING_MAX_ROUTE_EDITS);
		return ING_ERR;
	}
	if (e == NULL && t->nedits >= ING_MAX_EDITS) {
		log_limit(LIM_EDITS, "rb: header edits");
		rb_refuse(t, pol, "no room for its header edits (ING_MAX_EDITS)");
		return ING_ERR;
	}
	int off = rb_ebytes(t, name.p, name.n);
	if (off < 0 || rb_ebytes(t, value.p, value.n) < 0) {
		rb_refuse(t, pol, "no room for its header edits (ING_MAX_EDIT_BYTES)");
		return ING_ERR;
	}
	if (e == NULL) {
		e = &t->edits[t->nedits++];
		pol->ed_n++;
	}
	*e = (struct rt_edit){(uint32_t)off, (uint16_t)name.n, (uint16_t)value.n, (uint8_t)kind, (uint8_t)flags};
	if (kind == EK_REQ)
		pol->req_lens |= 1ull << (name.n & 63);
	if (kind == EK_RESP)
		pol->resp_lens |= 1ull << (name.n & 63);
	return 0;
}

/* A map annotation into edits of one kind. */
static int
rb_edit_map(struct rt_table *t, struct st_ing *r, struct rt_policy *pol, const char *what, struct ing_str v, int kind)
{
	struct ing_str name, value;
	size_t pos = 0;
	int k;
	while ((k = rb_hdr_map(v, &pos, &name, &value)) != 0) {
		if (k < 0)
			rb_note(r, "%s: a piece without \"Name:\" is skipped", what);
		else if (rb_edit(t, pol, what, kind, 0, name, value) != 0)
			return ING_ERR;
	}
	return 0;
}

/* A comma list annotation into list items of one kind. */
static int
rb_edit_list(struct rt_table *t, struct rt_policy *pol, const char *what, struct ing_str v, int kind)
{
	struct ing_str e;
	while (str_item(&v, &e))
		if (e.n > 0 && rb_edit(t, pol, what, kind, 0, kind == EK_PROXY_HDR ? e : (struct ing_str){"", 0},
		                       kind == EK_PROXY_HDR ? (struct ing_str){"", 0} : e) != 0)
			return ING_ERR;
	return 0;
}

/* A CORS origin as ingress-nginx takes it: scheme://host[:port], the host
 * possibly starting with "*." (one DNS label). */
static int
rb_origin_ok(struct ing_str o)
{
	const char *p = o.p, *end = o.p + o.n;
	const char *s = o.n > 3 ? memchr(o.p, ':', o.n) : NULL;
	if (s == NULL || end - s < 4 || s[1] != '/' || s[2] != '/' || s == o.p)
		return 0;
	for (const char *x = p; x < s; x++)
		if (!isalnum((unsigned char)*x) && *x != '+' && *x != '-' && *x != '.')
			return 0;
	p = s + 3;
	if (end - p > 2 && p[0] == '*' && p[1] == '.')
		p += 2;
	int port = 0;
	for (const char *x = p; x < end; x++) {
		if (*x == ':' && !port && x > p && x + 1 < end)
			port = 1;
		else if (!(port ? isdigit((unsigned char)*x) : isalnum((unsigned char)*x) || *x == '-' || *x == '.'))
			return 0;
	}
	return p < end;
}

/* nginx's CORS: its response headers, and the allowed origins. */
static int
rb_cors(struct rt_table *t, struct st_ing *r, struct rt_policy *pol, const struct ing_str *v)
{
	static const char *const dflt[] = {"GET, PUT, POST, DELETE, PATCH, OPTIONS",
	                                   "DNT,Keep-Alive,User-Agent,X-Requested-With,If-Modified-Since,Cache-Control,"
	                                   "Content-Type,Range,Authorization"};
	struct ing_str origins = v[IA_H_CORS_ORIGIN].n ? v[IA_H_CORS_ORIGIN] : STR_LIT("*");
	pol->hflags |= HF_CORS;
	struct ing_str o;
	while (str_item(&origins, &o)) {
		if (o.n == 1 && o.p[0] == '*')
			pol->hflags |= HF_CORS_ANY;
		else if (o.n > 0 && !rb_origin_ok(o))
			rb_note(r, "cors-allow-origin: \"%.*s\" is not scheme://host[:port]: left out", (int)ING_MIN(o.n, 80), o.p);
		else if (o.n > 0 && rb_edit(t, pol, "cors-allow-origin", EK_ORIGIN, 0, (struct ing_str){"", 0}, o) != 0)
			return ING_ERR;
	}
	/* the lists as nginx validates them; a bad one: nginx's default */
	struct ing_str meth = v[IA_H_CORS_METHODS], hdrs = v[IA_H_CORS_HEADERS], expose = v[IA_H_CORS_EXPOSE];
	for (size_t i = 0; i < meth.n; i++)
		if (!isalpha((unsigned char)meth.p[i]) && meth.p[i] != ',' && meth.p[i] != ' ') {
			rb_note(r, "cors-allow-methods \"%.*s\" is not a list of methods: the default", (int)ING_MIN(meth.n, 80), meth.p);
			meth.n = 0;
		}
	struct ing_str *lists[] = {&hdrs, &expose};
	for (int l = 0; l < 2; l++)
		for (size_t i = 0; i < lists[l]->n; i++)
			if (!isalnum((unsigned char)lists[l]->p[i]) && !strchr("-_, ", lists[l]->p[i])) {
				rb_note(r, "cors-%s-headers is not a list of header names: %s", l ? "expose" : "allow",
				        l ? "none" : "the default");
				lists[l]->n = 0;
				break;
			}
	char cb[8];
	ing_snprintf(cb, sizeof cb, "%.*s", (int)ING_MIN(v[IA_H_CORS_CREDS].n, sizeof cb - 1), v[IA_H_CORS_CREDS].p);
	int creds = v[IA_H_CORS_CREDS].n < sizeof cb ? rb_bool(cb, 1) : -1;
	if (creds < 0)
		rb_note(r, "cors-allow-credentials is not a boolean: true");
	uint64_t age = 1728000;
	if (v[IA_H_CORS_MAX_AGE].n && str_to_u64(v[IA_H_CORS_MAX_AGE], 1u << 30, &age) != 0) {
		rb_note(r, "cors-max-age \"%.*s\" is not a number of seconds: 1728000", (int)ING_MIN(v[IA_H_CORS_MAX_AGE].n, 40),
		        v[IA_H_CORS_MAX_AGE].p);
		age = 1728000;
	}
	char agebuf[24];
	int an = ing_snprintf(agebuf, sizeof agebuf, "%" PRIu64, age);
	const int f = EF_CORS | EF_OWN;
	return rb_edit(t, pol, "CORS", EK_RESP, f | (pol->hflags & HF_CORS_ANY ? 0 : EF_ECHO),
	               STR_LIT("Access-Control-Allow-Origin"), pol->hflags & HF_CORS_ANY ? STR_LIT("*") : STR_LIT("")) ||
	       (creds != 0 && rb_edit(t, pol, "CORS", EK_RESP, f, STR_LIT("Access-Control-Allow-Credentials"), STR_LIT("true"))) ||
	       rb_edit(t, pol, "CORS", EK_RESP, f, STR_LIT("Access-Control-Allow-Methods"),
	               meth.n ? meth : (struct ing_str){dflt[0], strlen(dflt[0])}) ||
	       rb_edit(t, pol, "CORS", EK_RESP, f, STR_LIT("Access-Control-Allow-Headers"),
	               hdrs.n ? hdrs : (struct ing_str){dflt[1], strlen(dflt[1])}) ||
	       (expose.n && rb_edit(t, pol, "CORS", EK_RESP, f, STR_LIT("Access-Control-Expose-Headers"), expose)) ||
	       rb_edit(t, pol, "CORS", EK_RESP, f, STR_LIT("Access-Control-Max-Age"), (struct ing_str){agebuf, (size_t)an})
	           ? ING_ERR : 0;
}

/* The header annotations of Ingress r (Traefik 1.7's headers and secure
 * middlewares, nginx's CORS) into policy pol: edits applied per request in
 * one pass as heads are rebuilt. A refused value (a control character, a
 * name ingressd owns, a malformed number or boolean of a security header,
 * a limit) makes every request of the Ingress answer 500: security headers
 * are never silently left out. */
static void
rb_headers(struct rt_table *t, struct st_ing *r, struct rt_policy *pol)
{
	const struct ing_str *v = g_rba.v;
	pol->ed_first = t->nedits;
	pol->ssl_host = -1;
	if (r->hdrs_over) {
		rb_refuse(t, pol, "annotations over ING_MAX_HEADER_ANN_BYTES (%d) or ING_MAX_NOTES", ING_MAX_HEADER_ANN_BYTES);
		rb_note(r, "%s: its requests get 500", pol->refused);
		return;
	}
	/* the secure options: booleans and a number that do not parse fail closed */
	static const uint8_t bools[] = {IA_H_HSTS_SUB, IA_H_HSTS_PRELOAD, IA_H_FORCE_HSTS, IA_H_FRAME_DENY, IA_H_NOSNIFF,
	                                IA_H_XSS,      IA_H_DEV,          IA_H_SSL_TEMP,   IA_H_SSL_FORCE_HOST, IA_H_CORS};
	static const char *const bool_names[] = {"hsts-include-subdomains", "hsts-preload", "force-hsts", "frame-deny",
	                                         "content-type-nosniff", "browser-xss-filter", "is-development",
	                                         "ssl-temporary-redirect", "ssl-force-host", "enable-cors"};
	int b[IA__COUNT] = {0};
	char tmp[16];
	for (size_t i = 0; i < ING_ARRAY_LEN(bools); i++) {
		struct ing_str x = v[bools[i]];
		ing_snprintf(tmp, sizeof tmp, "%.*s", (int)ING_MIN(x.n, sizeof tmp - 1), x.p);
		if ((b[bools[i]] = x.n < sizeof tmp ? rb_bool(tmp, 0) : -1) < 0)
			rb_refuse(t, pol, "%s \"%.*s\" is not a boolean", bool_names[i], (int)ING_MIN(x.n, 40), x.p);
	}
	uint64_t hsts = 0;
	if (v[IA_H_HSTS].n && str_to_u64(v[IA_H_HSTS], (uint64_t)1 << 40, &hsts) != 0)
		rb_refuse(t, pol, "hsts-max-age \"%.*s\" is not a number of seconds", (int)ING_MIN(v[IA_H_HSTS].n, 40),
		           v[IA_H_HSTS].p);
	if (pol->refused == NULL) {
		int dev = b[IA_H_DEV] == 1;
		char sts[96];
		int sn = ing_snprintf(sts, sizeof sts, "max-age=%" PRIu64 "%s%s", hsts, b[IA_H_HSTS_SUB] == 1 ? "; includeSubDomains" : "",
		                      b[IA_H_HSTS_PRELOAD] == 1 ? "; preload" : "");
		struct ing_str frame = v[IA_H_FRAME_VALUE].n ? v[IA_H_FRAME_VALUE] : b[IA_H_FRAME_DENY] == 1 ? STR_LIT("DENY") : STR_LIT("");
		struct ing_str xss = v[IA_H_XSS_VALUE].n ? v[IA_H_XSS_VALUE] : b[IA_H_XSS] == 1 ? STR_LIT("1; mode=block") : STR_LIT("");
		/* the order Traefik's secure middleware wrote them; custom
		 * response headers come after and win on the same name */
		const struct {
			int on;
			const char *name;
			struct ing_str value;
			int flags;
		} sec[] = {
		    {frame.n > 0, "X-Frame-Options", frame, 0},
		    {b[IA_H_NOSNIFF] == 1, "X-Content-Type-Options", STR_LIT("nosniff"), 0},
		    {xss.n > 0, "X-XSS-Protection", xss, 0},
		    {v[IA_H_CSP].n > 0, "Content-Security-Policy", v[IA_H_CSP], 0},
		    {v[IA_H_REFERRER].n > 0, "Referrer-Policy", v[IA_H_REFERRER], 0},
		    {hsts > 0 && !dev, "Strict-Transport-Security", {sts, (size_t)sn}, b[IA_H_FORCE_HSTS] == 1 ? 0 : EF_SSL},
		    {v[IA_H_PUBLIC_KEY].n && !dev, "Public-Key-Pins", v[IA_H_PUBLIC_KEY], EF_SSL},
		};
		int bad = 0;
		for (size_t i = 0; i < ING_ARRAY_LEN(sec) && !bad; i++)
			bad = sec[i].on && rb_edit(t, pol, sec[i].name, EK_RESP, EF_OWN | sec[i].flags,
			                           (struct ing_str){sec[i].name, strlen(sec[i].name)}, sec[i].value);
		bad = bad || rb_edit_map(t, r, pol, "custom-response-headers", v[IA_H_RESP], EK_RESP) ||
		      rb_edit_map(t, r, pol, "custom-request-headers", v[IA_H_REQ], EK_REQ) ||
		      rb_edit_map(t, r, pol, "ssl-proxy-headers", v[IA_H_SSL_PROXY], EK_SSL_PROXY) ||
		      (!dev && rb_edit_list(t, pol, "allowed-hosts", v[IA_H_ALLOWED_HOSTS], EK_HOST)) ||
		      rb_edit_list(t, pol, "proxy-headers", v[IA_H_PROXY_HEADERS], EK_PROXY_HDR) ||
		      (b[IA_H_CORS] == 1 && rb_cors(t, r, pol, v));
		if (v[IA_H_SSL_HOST].n && pol->refused == NULL) {
			char h[ING_NAME_LEN];
			struct ing_addr ip;
			ing_snprintf(h, sizeof h, "%.*s", (int)ING_MIN(v[IA_H_SSL_HOST].n, sizeof h - 1), v[IA_H_SSL_HOST].p);
			if (v[IA_H_SSL_HOST].n >= sizeof h || (js_host(h) != 0 && ing_addr_parse_ip(&ip, h, strlen(h)) != 0))
				rb_refuse(t, pol, "ssl-host \"%.*s\" is not a host name", (int)ING_MIN(v[IA_H_SSL_HOST].n, 40),
				           v[IA_H_SSL_HOST].p);
			else
				pol->ssl_host = rb_ebytes(t, h, strlen(h) + 1);
		}
		pol->hflags |= (uint8_t)((b[IA_H_SSL_TEMP] == 1 ? HF_SSL_TEMP : 0) | (b[IA_H_SSL_FORCE_HOST] == 1 ? HF_SSL_FORCE : 0) |
		                         (dev ? HF_DEV : 0) | (v[IA_H_ALLOWED_HOSTS].n && !dev ? HF_HOSTS : 0));
	}
	if (pol->refused != NULL) {
		rb_note(r, "%s: its requests get 500", pol->refused);
		t->nedits = pol->ed_first; /* none of its edits apply */
		pol->ed_n = 0;
		pol->req_lens = pol->resp_lens = 0;
	}
}

/* whitelist-x-forwarded-for: the whitelists check the client address
 * (pp_client) either way; said when it cannot be what the user expects. */
static void
rb_wl_xff(struct st_ing *r)
{
	char x[8];
	int on = rb_bool(rb_ann(IA_WL_XFF, x, sizeof x), 0), trusting = 0;
	for (int e = 0; e < cf_live->n_eps; e++)
		trusting |= cf_live->eps[e].fh.set || cf_live->eps[e].fh.insecure;
	if (on < 0 || (on && !trusting))
		rb_note(r, "whitelist-x-forwarded-for \"%s\": %s", x,
		        on < 0 ? "not a boolean (the client address is checked)"
		               : "X-Forwarded-For is believed only from forwardedHeaders.trustedIPs, and no entry point has "
		                 "any: the peer is checked");
}

/* nginx's limit-rps, -rpm, -burst-multiplier (default 5), -connections
 * and -whitelist into pol. A value that is not a number refuses the
 * Ingress (500): a limit is never dropped. */
static void
rb_limits(struct rt_table *t, struct st_ing *r, struct rt_policy *pol)
{
	static const char *const names[] = {"limit-rps", "limit-rpm", "limit-burst-multiplier", "limit-connections"};
	uint64_t v[4] = {0, 0, 5, 0};
	char a[16];
	for (int i = 0; i < 4; i++)
		if (rb_ann(IA_NGX_LIMIT_RPS + i, a, sizeof a)[0] &&
		    (str_to_u64(str_trim((struct ing_str){a, strlen(a)}), 1000000, &v[i]) != 0 || (i == 2 && v[i] == 0))) {
			rb_refuse(t, pol, "%s \"%s\" is not a number", names[i], a);
			rb_note(r, "%s: its requests get 500", pol->refused);
			return;
		}
	for (int i = 0; i < 2; i++) /* nginx lets a burst of rate x multiplier follow a request: a bucket of one more */
		if (v[i] > 0)
			pol->ngx[pol->ngx_n++] = (struct rl_rate){(uint32_t)v[i], i ? 60000u : 1000u, (uint32_t)(v[i] * v[2] + 1)};
	pol->conns = (uint32_t)v[3];
	rb_ranges(t, r, &r->lim_wl, &pol->lim_wl, JS_NGX_PREFIX "limit-whitelist", 0);
}

/* Traefik's rate-limit, YAML:
 *   extractorfunc: client.ip | request.host | request.header.NAME
 *   rateset:
 *     NAME: {period: 10s, average: 100, burst: 200}   (one to ING_MAX_RATESET)
 * into pol->tr (all three of each rate > 0, as Traefik required; two rates
 * of one period both apply). Anything wrong refuses the Ingress (500). */
static void
rb_rate_limit(struct rt_table *t, struct st_ing *r, struct rt_policy *pol)
{
	static const char *const top[] = {"extractorfunc", "rateset"}, *const rk[] = {"period", "average", "burst"};
	static char y[ING_MAX_HEADER_ANN_BYTES + 1], json[2 * ING_MAX_HEADER_ANN_BYTES];
	jsmntok_t tok[8 + 8 * ING_MAX_RATESET];
	struct ing_str a = g_rba.v[IA_RATE_LIMIT];
	char err[160] = "", fn[80];
	struct js j;
	int f[3];
	if (a.n == 0)
		return;
	memcpy(y, a.p, a.n);
	y[a.n] = '\0';
	if (ym_load(&j, y, json, sizeof json, tok, ING_ARRAY_LEN(tok), err, sizeof err) != 0 ||
	    rb_ykeys(&j, 0, top, 2, f, err, sizeof err) != 0)
		goto bad;
	if (js_str(&j, f[0], fn, sizeof fn) < 0)
		fn[0] = '\0';
	if (rb_extractor(t, fn, &pol->tr_by, &pol->tr_hdr) != 0) {
		ing_snprintf(err, sizeof err, "extractorfunc \"%s\": client.ip, request.host or request.header.<name>", fn);
		goto bad;
	}
	int rs = f[1];
	if (rs < 0 || j.t[rs].type != JSMN_OBJECT || j.t[rs].size < 1 || j.t[rs].size > ING_MAX_RATESET) {
		ing_snprintf(err, sizeof err, "rateset: one to %d rates (ING_MAX_RATESET)", ING_MAX_RATESET);
		goto bad;
	}
	struct rl_rate rates[ING_MAX_RATESET];
	for (int k = rs + 1, m = 0; m < j.t[rs].size; m++, k = js_skip(&j, k + 1)) {
		struct rl_rate *x = &rates[pol->tr_n++];
		uint64_t ms;
		int64_t avg, burst;
		char per[32];
		if (rb_ykeys(&j, k + 1, rk, 3, f, err, sizeof err) != 0)
			goto bad;
		if (js_str(&j, f[0], per, sizeof per) <= 0 || cf_duration((struct ing_str){per, strlen(per)}, &ms) != 0 ||
		    ms == 0 || rb_yint(&j, f[1], 1, 1000000, &avg) != 0 || rb_yint(&j, f[2], 1, 1000000, &burst) != 0) {
			ing_snprintf(err, sizeof err, "rate \"%.*s\": period (10s), average and burst (1 to 1000000) are "
			             "needed", ING_MIN(j.t[k].end - j.t[k].start, 40), j.s + j.t[k].start);
			goto bad;
		}
		*x = (struct rl_rate){(uint32_t)avg, (uint32_t)ms, (uint32_t)burst};
	}
	if ((pol->tr = rb_ebytes(t, (const char *)rates, pol->tr_n * sizeof rates[0])) >= 0)
		return;
	ing_snprintf(err, sizeof err, "no room (ING_MAX_EDIT_BYTES)");
bad:
	pol->tr_n = 0;
	rb_refuse(t, pol, "rate-limit: %s", err);
	rb_note(r, "%s: its requests get 500", pol->refused);
}

/* A pattern into the table's program pool: its index, or -1 with why in
 * err (ING_MAX_REGEX_INSNS reached: logged as a limit). */
static int
rb_rx(struct rt_table *t, const char *re, int icase, char names[RX_GROUPS][24], char *err, size_t ecap)
{
	int room = ING_MAX_REGEX_INSNS - t->nrx;
	int n = rx_compile(re, icase, t->rx + t->nrx, room, names, err, ecap);
	if (n < 0 && room < RX_PROG && str_str(err, "too long") != NULL) {
		log_limit(LIM_REGEX_INSNS, "rb: regex instructions");
		ing_snprintf(err, ecap, "no room for its program (ING_MAX_REGEX_INSNS)");
	}
	if (n < 0)
		return -1;
	t->nrx += n;
	return t->nrx - n;
}

/* A path value of the rewrite annotations: absolute, no space, control,
 * '?' or '#' (it goes into the request line as it is). */
static int
rb_path_ok(const char *s)
{
	for (const char *p = s; *p; p++)
		if ((unsigned char)*p <= 0x20 || *p == 0x7f || *p == '?' || *p == '#')
			return 0;
	return s[0] == '/';
}

/* Ingress r's path rewrites and redirects into pol: Traefik's
 * rewrite-target, request-modifier, app-root, redirect-entry-point,
 * redirect-regex and -replacement, redirect-permanent; nginx's
 * rewrite-target and use-regex (its paths become regexes, rb_ingress),
 * app-root, permanent- and temporal-redirect (and their codes),
 * x-forwarded-prefix. A value that cannot be applied refuses the Ingress
 * (500): its requests never reach the pod unrewritten. */
static void
rb_rewrite(struct rt_table *t, struct st_ing *r, struct rt_policy *pol)
{
	char v[1024], re[1024], tp[1024], err[160] = "", names[RX_GROUPS][24];
	const char *why = NULL;
	pol->rw_arg = pol->rw_rx = pol->rd_arg = pol->rd_rx = pol->app_root = pol->xfp = pol->aliases = -1;
	for (int id = IA_REWRITE; id <= IA_NGX_ALIAS; id++) /* rb_ann would read "<too long>" */
		if (g_rba.v[id].n >= sizeof v)
			why = "a rewrite or redirect value over 1023 bytes";
	pol->www = rb_bool(rb_ann(IA_NGX_WWW, v, sizeof v), 0) > 0;
	if (rb_ann(IA_NGX_ALIAS, v, sizeof v)[0]) { /* "a, b": kept as "a,b," normalized, exact names only */
		size_t n = 0;
		for (const char *a = v; *a;) {
			size_t l = str_span(a += str_span(a, ", ", 1), ", ", 0);
			if (l == 0)
				break;
			size_t hl = l < ING_NAME_LEN ? rt_host_norm((struct ing_str){a, l}, re + n, sizeof re - n - 1) : 0;
			if (hl == 0 || re[n] == '*')
				rb_note(r, "server-alias \"%.*s\": not an exact host name; left out", (int)ING_MIN(l, 64), a);
			else
				n += hl, re[n++] = ',';
			a += l;
		}
		if (n > 0)
			pol->aliases = rb_ebytes(t, re, n + 1);
	}
	int perm = rb_bool(rb_ann(IA_REDIR_PERM, v, sizeof v), 0);
	if (perm < 0)
		rb_note(r, "redirect-permanent \"%s\" is not a boolean; 302/307", v);
	pol->rd_perm = perm > 0;
	if (rb_ann(IA_REWRITE, v, sizeof v)[0]) { /* Traefik's: the route's path replaced by it */
		for (size_t n = strlen(v); n > 1 && v[n - 1] == '/'; n--)
			v[n - 1] = '\0';
		if (!rb_path_ok(v))
			why = "rewrite-target: a path (/...) without spaces";
		pol->rw = RW_TARGET;
		pol->rw_arg = rb_ebytes(t, v[1] ? v : "", strlen(v[1] ? v : "") + 1);
	}
	if (why == NULL && rb_ann(IA_REQ_MOD, v, sizeof v)[0]) { /* "Type: value" */
		char *colon = strchr(v, ':'), *val = colon ? colon + 1 : v + strlen(v);
		size_t tl = colon ? (size_t)(colon - v) : 0;
		while (*val == ' ')
			val++;
		for (size_t n = strlen(val); n > 0 && (val[n - 1] == ' ' || val[n - 1] == ':'); n--)
			val[n - 1] = '\0';
		char *sp = strchr(val, ' ');
		if (pol->rw)
			why = "request-modifier with rewrite-target: one of them";
		else if (tl == 9 && !strncasecmp(v, "AddPrefix", 9) && rb_path_ok(val))
			pol->rw = RW_ADDPREFIX;
		else if (tl == 11 && !strncasecmp(v, "ReplacePath", 11) && rb_path_ok(val))
			pol->rw = RW_REPLACE;
		else if (tl == 16 && !strncasecmp(v, "ReplacePathRegex", 16) && sp != NULL && !strchr(sp + 1, ' ')) {
			*sp = '\0';
			pol->rw = RW_REGEX;
			if ((pol->rw_rx = rb_rx(t, val, 0, names, err, sizeof err)) < 0 ||
			    rx_template(sp + 1, 1, names, tp, sizeof tp, err, sizeof err) < 0)
				why = "request-modifier ReplacePathRegex";
			val = tp;
		} else
			why = "request-modifier: AddPrefix: /p, ReplacePath: /p or ReplacePathRegex: <regex> <replacement>";
		pol->rw_arg = rb_ebytes(t, val, strlen(val) + 1);
	}
	if (why == NULL && (rb_ann(IA_APP_ROOT, v, sizeof v)[0] || rb_ann(IA_NGX_APP_ROOT, v, sizeof v)[0])) {
		pol->app_root_ngx = g_rba.v[IA_APP_ROOT].n == 0;
		int n = ing_snprintf(re, sizeof re, "/%s", v + (v[0] == '/')); /* Traefik: with or without its '/' */
		if (!rb_path_ok(re))
			why = "app-root: a path";
		pol->app_root = rb_ebytes(t, re, (size_t)n + 1);
	}
	if (why == NULL && rb_ann(IA_REDIR_EP, v, sizeof v)[0]) {
		pol->rd = RD_EP;
		if (cf_ep_find(cf_live, (struct ing_str){v, strlen(v)}) == NULL)
			why = "redirect-entry-point: no such entry point";
		pol->rd_arg = rb_ebytes(t, v, strlen(v) + 1);
	} else if (why == NULL && (g_rba.v[IA_REDIR_REGEX].n || g_rba.v[IA_REDIR_REPL].n)) {
		pol->rd = RD_REGEX;
		rb_ann(IA_REDIR_REGEX, re, sizeof re);
		if (!re[0] || !rb_ann(IA_REDIR_REPL, v, sizeof v)[0])
			why = "redirect-regex and redirect-replacement go together";
		else if (str_str(v, "{{") != NULL)
			why = "redirect-replacement: Go templates ({{...}}) are not read";
		else if ((pol->rd_rx = rb_rx(t, re, 0, names, err, sizeof err)) < 0 ||
		         rx_template(v, 1, names, tp, sizeof tp, err, sizeof err) < 0)
			why = "redirect-regex";
		else
			pol->rd_arg = rb_ebytes(t, tp, strlen(tp) + 1);
	}
	for (int k = 0; k < 2 && why == NULL; k++) /* nginx's: temporal-redirect wins */
		if (rb_ann(k ? IA_NGX_PERM : IA_NGX_TEMP, v, sizeof v)[0]) {
			int64_t code = k ? 301 : 302;
			rb_ann(k ? IA_NGX_PERM_CODE : IA_NGX_TEMP_CODE, re, sizeof re);
			if (re[0] && (rb_int(re, 300, 308, &code) != 0 || (code > 303 && code < 307)))
				rb_note(r, "%s-redirect-code \"%s\" is not 300 to 303, 307 or 308: %d", k ? "permanent" : "temporal",
				        re, (int)(code = k ? 301 : 302));
			if (pol->rd)
				why = "Traefik's and nginx's redirects on one Ingress";
			else if (v[str_span(v, " \t\r\n", 0)] || (strncmp(v, "http://", 7) && strncmp(v, "https://", 8) && v[0] != '/'))
				why = "permanent-redirect / temporal-redirect: a URL (http://, https://) or a path";
			pol->rd = RD_URL;
			pol->rd_code = (uint16_t)code;
			pol->rd_arg = rb_ebytes(t, v, strlen(v) + 1);
			break;
		}
	pol->ngx_regex = rb_bool(rb_ann(IA_NGX_USE_REGEX, v, sizeof v), 0) > 0;
	if (why == NULL && rb_ann(IA_NGX_REWRITE, v, sizeof v)[0]) {
		pol->ngx_regex = 1; /* as in ingress-nginx: rewrite-target makes the paths regexes */
		if (pol->rw)
			why = "Traefik's and nginx's rewrites on one Ingress";
		else if (rx_template(v, 0, NULL, tp, sizeof tp, err, sizeof err) < 0)
			why = "nginx rewrite-target";
		pol->rw = RW_NGINX;
		pol->rw_arg = rb_ebytes(t, tp, strlen(tp) + 1);
	}
	if (why == NULL && rb_ann(IA_NGX_XFP, v, sizeof v)[0]) {
		if (!rb_hdr_value_ok((struct ing_str){v, strlen(v)}))
			why = "x-forwarded-prefix: a header value";
		pol->xfp = rb_ebytes(t, v, strlen(v) + 1);
	}
	if (why == NULL && ((pol->rw && pol->rw_arg < 0) || (pol->rd && pol->rd_arg < 0) || (pol->xfp < 0 && g_rba.v[IA_NGX_XFP].n) ||
	                    (pol->app_root < 0 && (g_rba.v[IA_APP_ROOT].n || g_rba.v[IA_NGX_APP_ROOT].n)) ||
	                    (pol->aliases < 0 && g_rba.v[IA_NGX_ALIAS].n)))
		why = "no room for its values (ING_MAX_EDIT_BYTES)";
	if (why != NULL) {
		rb_refuse(t, pol, "%s%s%s", why, err[0] ? ": " : "", err);
		rb_note(r, "%s: its requests get 500", pol->refused);
		pol->rw = pol->rd = 0;
		pol->app_root = -1;
	}
}

/* nginx's canary annotations of Ingress r: pol->canary, its rules in
 * ebytes. A bad weight is 0 and a bad total 100 (as nginx, said); a bad
 * pattern matches nothing (nginx's failed match sent the request to the
 * main Service). canary-* without canary "true" is said and ignored. */
static void
rb_canary(struct rt_table *t, struct st_ing *r, struct rt_policy *pol)
{
	static const char *const names[] = {"canary-weight", "canary-weight-total", "canary-by-header",
	                                    "canary-by-header-value", "canary-by-header-pattern", "canary-by-cookie"};
	char v[6][256], err[160], b[8];
	struct rt_canary cy = {0, 100, -1, -1, -1, -1};
	int set = 0, on = rb_bool(rb_ann(IA_NGX_CANARY, b, sizeof b), 0);
	for (int i = 0; i < 6; i++)
		set |= rb_ann(IA_NGX_CANARY_WEIGHT + i, v[i], sizeof v[i])[0] != '\0';
	if (on <= 0) {
		if (on < 0 || set)
			rb_note(r, "canary-* annotations without canary \"true\" (canary \"%s\"): ignored (as nginx)", b);
		return;
	}
	for (int i = 0; i < 2; i++) {
		int64_t n;
		if (v[i][0] && rb_int(v[i], 0, 1000000, &n) != 0)
			rb_note(r, "%s \"%s\" is not a number; using %d (as nginx)", names[i], v[i], i ? 100 : 0);
		else if (v[i][0])
			*(i ? &cy.total : &cy.weight) = (uint32_t)n;
	}
	if (cy.total < 100)
		cy.total = 100; /* nginx took a total under 100 as 100 */
	for (char *p = v[2]; *p; p++)
		*p = (char)tolower((unsigned char)*p);
	int *at[] = {&cy.hdr, &cy.hdr_val, NULL, &cy.cookie};
	for (int i = 2; i < 6; i++)
		if (v[i][0] && at[i - 2] != NULL)
			*at[i - 2] = rb_ebytes(t, v[i], strlen(v[i]) + 1);
	if (v[4][0] && (cy.hdr_rx = rb_rx(t, v[4], 0, NULL, err, sizeof err)) < 0) {
		cy.hdr_rx = -2;
		rb_note(r, "canary-by-header-pattern: %s: the header sends requests to the main Service", err);
	}
	if ((pol->canary = rb_ebytes(t, (const char *)&cy, sizeof cy)) < 0) {
		rb_refuse(t, pol, "canary: no room (ING_MAX_EDIT_BYTES)");
		rb_note(r, "%s: its requests get 500", pol->refused);
	}
}

/* The backend of Service name of namespace ns at its first port (nginx's
 * default-backend, Traefik's error-pages backend). */
static int
rb_svc_first(struct rt_table *t, const char *ns, const char *name)
{
	const struct st_svc *svc = st_find(SK_SERVICE, ns, name);
	struct st_backend be = {"", "", svc != NULL && svc->nports > 0 ? svc->ports[0].port : 0};
	ing_snprintf(be.svc, sizeof be.svc, "%s", name);
	return rb_backend(t, ns, &be);
}

/* Error pages of Ingress r into pol: Traefik's error-pages (YAML, per
 * name: status ["404", "500-599"], backend: a Service of r's namespace at
 * its first port, query "/{status}.html"), nginx's custom-http-errors
 * ("404,503", served by its default-backend, else [kubernetes]
 * defaultBackend) and nginx's default-backend alone (ingressd's own 503
 * when the Service has no ready endpoints). A bad value is logged and
 * that Ingress has no error pages: answers go out as they are. */
static void
rb_errpages(struct rt_table *t, struct st_ing *r, struct rt_policy *pol)
{
	static const char *const keys[] = {"status", "backend", "query"};
	static char y[ING_MAX_HEADER_ANN_BYTES + 1], json[2 * ING_MAX_HEADER_ANN_BYTES];
	jsmntok_t tok[8 + 4 * ING_MAX_ERROR_PAGES];
	struct rt_errpage e[ING_MAX_ERROR_PAGES];
	struct ing_str a = g_rba.v[IA_ERROR_PAGES], item;
	char err[160] = "", v[256], dflt[ING_NS_LEN] = "";
	int n = 0, f[3], def = -1;
	struct js j;
	if (a.n > 0) { /* Traefik's */
		memcpy(y, a.p, a.n);
		y[a.n] = '\0';
		if (ym_load(&j, y, json, sizeof json, tok, ING_ARRAY_LEN(tok), err, sizeof err) != 0)
			goto bad;
		for (int k = 1, m = 0; j.t[0].type == JSMN_OBJECT && m < j.t[0].size; m++, k = js_skip(&j, k + 1)) {
			char svc[ING_NS_LEN], q[200];
			if (rb_ykeys(&j, k + 1, keys, 3, f, err, sizeof err) != 0)
				goto bad;
			if (f[1] < 0 || js_str(&j, f[1], svc, sizeof svc) <= 0 || f[0] < 0 || j.t[f[0]].type != JSMN_ARRAY) {
				ing_snprintf(err, sizeof err, "\"%.*s\": status (a list) and backend (a Service) are needed",
				             ING_MIN(j.t[k].end - j.t[k].start, 40), j.s + j.t[k].start);
				goto bad;
			}
			q[0] = '/';
			if (f[2] < 0 || js_str(&j, f[2], q + 1, sizeof q - 1) < 0)
				q[1] = '\0';
			const char *qs = q + (q[1] == '/'); /* a leading '/' forced, as Traefik */
			int qok = 1;
			for (const char *p = qs; *p; p++)
				qok &= (unsigned char)*p > 0x20 && *p != 0x7f && *p != '#';
			int be = rb_svc_first(t, r->h.ns, svc), qo = qok ? rb_ebytes(t, qs, strlen(qs) + 1) : -1;
			if (be < 0)
				return;
			if (qo < 0) {
				ing_snprintf(err, sizeof err, "query \"%s\": a path without spaces or control bytes", q);
				goto bad;
			}
			for (int s = f[0] + 1, x = 0; x < j.t[f[0]].size; x++, s = js_skip(&j, s)) {
				int64_t lo, hi;
				char *dash;
				if (js_str(&j, s, v, sizeof v) <= 0)
					v[0] = '\0';
				if ((dash = strchr(v, '-')) != NULL)
					*dash = '\0';
				if (rb_int(v, 100, 599, &lo) != 0 || rb_int(dash ? dash + 1 : v, lo, 599, &hi) != 0) {
					ing_snprintf(err, sizeof err, "status: \"%.*s\" is not a code or a range (500-599)",
					             ING_MIN(j.t[s].end - j.t[s].start, 40), j.s + j.t[s].start);
					goto bad;
				}
				if (n == ING_MAX_ERROR_PAGES)
					goto full;
				e[n++] = (struct rt_errpage){(uint16_t)lo, (uint16_t)hi, EH_TRAEFIK, be, qo};
			}
		}
		if (j.t[0].type != JSMN_OBJECT) {
			ing_snprintf(err, sizeof err, "a mapping of names was expected");
			goto bad;
		}
	}
	if (rb_ann(IA_NGX_DEFAULT_BACKEND, dflt, sizeof dflt)[0] && (def = rb_svc_first(t, r->h.ns, dflt)) < 0)
		return;
	if (def < 0)
		def = t->defbe;
	struct ing_str rest = {rb_ann(IA_NGX_CUSTOM_ERRORS, v, sizeof v), strlen(v)};
	while (v[0] && str_item(&rest, &item)) { /* nginx's */
		char code[8];
		int64_t c;
		str_copy(code, sizeof code, item);
		if (rb_int(code, 100, 599, &c) != 0) {
			ing_snprintf(err, sizeof err, "custom-http-errors \"%s\": codes (\"404,503\") were expected", v);
			goto bad;
		}
		if (def < 0) {
			ing_snprintf(err, sizeof err, "custom-http-errors without default-backend or [kubernetes] defaultBackend");
			goto bad;
		}
		if (n == ING_MAX_ERROR_PAGES)
			goto full;
		e[n++] = (struct rt_errpage){(uint16_t)c, (uint16_t)c, EH_NGINX, def, -1};
	}
	if (dflt[0] && n < ING_MAX_ERROR_PAGES) /* its own 503 (no endpoints); after the others, which win */
		e[n++] = (struct rt_errpage){503, 503, EH_DEFAULT, def, -1};
	if (n > 0 && (pol->errp = rb_ebytes(t, (const char *)e, (size_t)n * sizeof e[0])) >= 0)
		pol->nerrp = (uint8_t)n;
	return;
full:
	log_limit(LIM_ERROR_PAGES, "rb: error-page code ranges of an Ingress");
	ing_snprintf(err, sizeof err, "more code ranges than ING_MAX_ERROR_PAGES");
bad:
	rb_note(r, "error pages: %s: none served", err);
}

/* Two routes for the same request: host, path and match. */
static int
rb_same_key(const struct rt_route *x, const struct rt_route *y)
{
	return x->host == y->host && x->is_default == y->is_default && x->match == y->match && !strcmp(x->path, y->path);
}

#define RB_SHARE_ALL 100000 /* service-weights' 100 %, in 0.001 % */

/* A Service's instances for the shares: its servers (ExternalName: 1). */
static uint32_t
rb_instances(const struct rt_backend *b)
{
	return b->external ? 1 : (uint32_t)b->nsrv;
}

/* The index of Service name in the n of service-weights, or n. */
static int
rb_sw_find(char (*svc)[ING_NS_LEN], int n, const char *name)
{
	int s = 0;
	while (s < n && strcmp(svc[s], name) != 0)
		s++;
	return s;
}

/* Several Services on one host and path of Ingress r (its routes from
 * `first`, adjacent after sorting): Traefik 1.x's union, shares by
 * instances, or service-weights (YAML, Service: percentage, up to three
 * decimals; the remainder shared by the Services not listed, by
 * instances). Over 100 %, or under it with no Service unlisted, or a
 * Service no path routes to, is Traefik's error; here its requests get
 * 500, where Traefik skipped the Ingress and let a less specific route
 * of another Ingress answer them without this one's policy. rb_dedupe
 * makes each group one route with a split. */
static void
rb_weights(struct rt_table *t, struct st_ing *r, struct rt_policy *pol, int first)
{
	static char y[ING_MAX_HEADER_ANN_BYTES + 1], json[2 * ING_MAX_HEADER_ANN_BYTES];
	jsmntok_t tok[2 + 2 * ING_MAX_SPLIT];
	struct ing_str a = g_rba.v[IA_SVC_WEIGHTS];
	char err[160] = "", svc[ING_MAX_SPLIT][ING_NS_LEN];
	uint32_t share[ING_MAX_SPLIT];
	int nsw = 0;
	struct js j;
	if (a.n > 0) {
		memcpy(y, a.p, a.n);
		y[a.n] = '\0';
		if (ym_load(&j, y, json, sizeof json, tok, ING_ARRAY_LEN(tok), err, sizeof err) != 0)
			goto bad;
		if (j.t[0].type != JSMN_OBJECT || j.t[0].size > ING_MAX_SPLIT) {
			ing_snprintf(err, sizeof err, "a mapping of up to %d Service: percentage lines (ING_MAX_SPLIT) was "
			             "expected", ING_MAX_SPLIT);
			goto bad;
		}
		for (int k = 1; nsw < j.t[0].size; nsw++, k = js_skip(&j, k + 1)) {
			char p[32];
			uint64_t whole = 0, frac = 0;
			int n = js_str(&j, k + 1, p, sizeof p), d = 0, i = 0;
			if (js_str(&j, k, svc[nsw], sizeof svc[nsw]) <= 0)
				n = -1;
			if (n > 0 && p[n - 1] == '%')
				p[--n] = '\0';
			for (; i < n && isdigit((unsigned char)p[i]) && whole <= 100; i++)
				whole = whole * 10 + (uint64_t)(p[i] - '0');
			int digits = i; /* Go's ParseFloat: "12.", ".5" */
			if (i < n && p[i] == '.')
				for (i++; i < n && isdigit((unsigned char)p[i]); i++, d++)
					frac = d < 3 ? frac * 10 + (uint64_t)(p[i] - '0') : frac; /* Traefik kept three decimals */
			digits += d;
			while (d++ < 3)
				frac *= 10;
			share[nsw] = (uint32_t)(whole * 1000 + frac);
			if (n <= 0 || i != n || digits == 0 || share[nsw] > RB_SHARE_ALL) {
				ing_snprintf(err, sizeof err, "\"%.*s\": a Service and a percentage (0 to 100, \"12.5%%\") were "
				             "expected", ING_MIN(j.t[k].end - j.t[k].start, 40), j.s + j.t[k].start);
				goto bad;
			}
			int found = 0;
			for (int x = first; x < t->nroutes; x++)
				found |= strcmp(t->backends[t->routes[x].backend].svc, svc[nsw]) == 0;
			if (!found) {
				ing_snprintf(err, sizeof err, "Service %s is not a backend of this Ingress", svc[nsw]);
				goto bad;
			}
		}
	}
	rb_sorting = t;
	str_sort(t->routes + first, (size_t)(t->nroutes - first), sizeof t->routes[0], rb_cmp_conflict);
	for (int i = first, e; i < t->nroutes; i = e) {
		uint64_t listed = 0, inst = 0;
		int unlisted = 0, nsvc = 0;
		for (e = i + 1; e < t->nroutes && rb_same_key(&t->routes[i], &t->routes[e]); e++)
			;
		for (int x = i; x < e; x++) { /* the listed, and the instances of the others */
			struct rt_route *rt = &t->routes[x];
			const struct rt_backend *b = &t->backends[rt->backend];
			int s = rb_sw_find(svc, nsw, b->svc);
			rt->weight = 0;
			if (x > i && rt->backend == rt[-1].backend)
				continue; /* listed twice: one Service still (rb_dedupe) */
			nsvc++;
			if (s < nsw)
				listed += (rt->weight = share[s]);
			else
				inst += (rt->weight = rb_instances(b)), unlisted++;
		}
		const struct rt_route *rt = &t->routes[i];
		const char *h = rt->host >= 0 ? t->hosts[rt->host].name : "";
		const char *p = rt->is_default ? "(default backend)" : rt->path_len ? rt->path : "/";
		if (nsw && (listed > RB_SHARE_ALL || (listed < RB_SHARE_ALL && unlisted == 0))) {
			ing_snprintf(err, sizeof err, "the Services of %s%s add up to %u.%03u%%, %s", h, p,
			             (unsigned)(listed / 1000), (unsigned)(listed % 1000),
			             listed > RB_SHARE_ALL ? "over 100%" : "and no other Service shares the rest");
			goto bad;
		}
		for (int x = i; nsw && inst && x < e; x++) /* the rest, shared by instances */
			if (rb_sw_find(svc, nsw, t->backends[t->routes[x].backend].svc) == nsw)
				t->routes[x].weight = (uint32_t)((RB_SHARE_ALL - listed) * t->routes[x].weight / inst);
		if (nsvc > 1 && r->h.logged != r->h.gen)
			log_info("rb: ingress %s/%s: %s%s: %d Services share it (%s)", r->h.ns, r->h.name, h, p, nsvc,
			         nsw ? "service-weights" : "Traefik 1.x's union, by pods");
	}
	return;
bad:
	rb_refuse(t, pol, "service-weights: %s", err);
	rb_note(r, "%s: its requests get 500", pol->refused);
}

/* nginx's server-alias and from-to-www-redirect, once every Ingress has
 * its routes: an alias name gets a copy of the Ingress's routes, the
 * other name of from-to-www-redirect ("www." added or taken off) a route
 * that redirects to the rule's host (308, as nginx) - each unless an
 * Ingress routes that name itself (nginx then kept that server). */
static void
rb_aliases(struct rt_table *t)
{
	int n = t->nroutes, own = t->nhosts; /* hosts from own on are the aliases' */
	for (int i = 0; i < n && g_rb.fail == NULL; i++) {
		const struct rt_policy *pol = &t->policies[t->routes[i].policy];
		if (t->routes[i].host_kind != HK_EXACT || (pol->aliases < 0 && !pol->www))
			continue;
		char name[ING_NAME_LEN];
		const char *h = t->hosts[t->routes[i].host].name, *a = pol->aliases >= 0 ? t->ebytes + pol->aliases : "";
		for (int k = -(int)pol->www; g_rb.fail == NULL;) {
			if (k < 0) { /* the from-to-www name first */
				ing_snprintf(name, sizeof name, strncmp(h, "www.", 4) ? "www.%s" : "%s", h + (strncmp(h, "www.", 4) ? 0 : 4));
			} else {
				size_t l = str_span(a, ",", 0); /* rb_rewrite's "a,b," */
				if (l == 0)
					break;
				ing_snprintf(name, sizeof name, "%.*s", (int)l, a);
				a += l + 1;
			}
			int hi = rb_host(t, name, 0, 0);
			if ((hi < 0 || hi >= own) && t->nroutes >= ING_MAX_ROUTES) {
				log_limit(LIM_ROUTES, "rb: routes");
				g_rb.fail = "too many routes (ING_MAX_ROUTES)";
			} else if ((hi < 0 || hi >= own) && (hi = rb_host(t, name, 0, 1)) >= 0) {
				struct rt_route *rt = &t->routes[t->nroutes++];
				*rt = t->routes[i];
				rt->host = hi;
				rt->canon = k < 0 ? t->routes[i].host + 1 : 0;
			}
			if (k++ < 0 && pol->aliases < 0)
				break;
		}
	}
}

/* Routes of one Ingress. */
static void
rb_ingress(struct rt_table *t, struct st_ing *r, uint32_t order, uint32_t default_eps)
{
	enum { RT_PATHPREFIX, RT_PATHPREFIXSTRIP, RT_PATH, RT_PATHSTRIP, RT_REPLACEPATH };
	static const char *const rule_names[] = {"pathprefix", "pathprefixstrip", "path", "pathstrip", "replacepath"};
	int rule = RT_PATHPREFIX, strip, prio = 0, pi;
	uint32_t ep_mask = default_eps;

	if (ING_NEVER(t->npolicies >= ING_MAX_INGRESSES))
		return; /* one policy per stored Ingress */
	pi = t->npolicies++;
	if (r->nunsup)
		rb_note(r, "annotations ingressd does not implement, ignored: %s", st_note(r->unsup));
	struct rt_policy *pol = &t->policies[pi];
	memset(pol, 0, sizeof *pol);
	memcpy(pol->ns, r->h.ns, sizeof pol->ns);
	memcpy(pol->name, r->h.name, sizeof pol->name);
	pol->order = order;
	pol->canary = pol->fwd = -1;
	int ph = rb_bool(r->a_preserve_host, !cf_live->kube.disable_pass_host);
	if (ph < 0) {
		rb_skip(t, r, "", "", "preserve-host \"%s\" is not a boolean; using the default", r->a_preserve_host);
		ph = !cf_live->kube.disable_pass_host;
	}
	pol->pass_host = (uint8_t)ph;
	int sr = rb_bool(r->a_ssl_redirect, 0);
	pol->ssl_redirect = sr > 0;
	pol->pass_cert = r->pass_cert;
	if (r->pc_note >= 0)
		rb_note(r, "pass-client-tls-cert: %s", st_note(r->pc_note));
	rb_whitelist(t, r, pol);
	rb_anns(r);
	rb_auth(t, r, pol);
	if (rb_proto(t, r, pol) != 0) {
		r->h.logged = r->h.gen;
		return;
	}
	rb_headers(t, r, pol);
	char bs[24];
	if (rb_ann(IA_NGX_BODY_SIZE, bs, sizeof bs)[0] && pol->refused == NULL) { /* nginx's size: bytes, or k, m, g */
		struct ing_str v = str_trim((struct ing_str){bs, strlen(bs)});
		int shift = 0;
		if (v.n > 1 && strchr("kKmMgG", v.p[v.n - 1]) != NULL)
			shift = v.p[--v.n] | 0x20, shift = shift == 'k' ? 10 : shift == 'm' ? 20 : 30;
		if (str_to_u64(v, (uint64_t)1 << 40, &pol->body_max) != 0) {
			rb_refuse(t, pol, "proxy-body-size \"%s\" is not a size (bytes, or with k, m or g)", bs);
			rb_note(r, "%s: its requests get 500", pol->refused);
		}
		pol->body_max <<= shift;
	}
	rb_limits(t, r, pol);
	rb_rate_limit(t, r, pol);
	rb_rewrite(t, r, pol);
	rb_canary(t, r, pol);
	rb_errpages(t, r, pol);
	if (g_rba.v[IA_WL_XFF].n > 0)
		rb_wl_xff(r);
	if (r->a_rule_type[0]) {
		rule = -1;
		for (int i = 0; i < (int)ING_ARRAY_LEN(rule_names); i++)
			if (!strcasecmp(r->a_rule_type, rule_names[i]))
				rule = i;
		if (rule < 0) {
			rb_skip(t, r, "*", "", "unknown rule type \"%s\" (PathPrefix, PathPrefixStrip, Path, PathStrip or ReplacePath): its "
			        "paths are not served", r->a_rule_type);
			r->h.logged = r->h.gen;
			return;
		}
	}
	strip = rule == RT_PATHPREFIXSTRIP || rule == RT_PATHSTRIP;
	if (r->a_priority[0]) {
		uint64_t v;
		const char *p = r->a_priority;
		int neg = *p == '-';
		if (str_to_u64((struct ing_str){p + neg, strlen(p + neg)}, 1000000, &v) != 0)
			rb_skip(t, r, "", "", "priority \"%s\" is not an integer; using 0", r->a_priority);
		else
			prio = neg ? -(int)v : (int)v;
	}
	if (r->a_entry_points[0] && (ep_mask = rb_ep_mask(r->a_entry_points)) == 0) {
		rb_skip(t, r, "*", "", "frontend-entry-points \"%s\" names an unknown entry point: not served",
		        r->a_entry_points);
		r->h.logged = r->h.gen;
		return;
	}
	/* one route per path, plus the default backend */
	int first = t->nroutes;
	for (int k = r->paths, last = 0; !last; k = k >= 0 ? g_st.path[k].next : -1) {
		const struct st_path *p;
		struct st_path def;
		if (k < 0) {
			if (!r->has_default)
				break;
			memset(&def, 0, sizeof def);
			def.be = r->def;
			def.path_type = PT_IMPL;
			p = &def;
			last = 1;
		} else {
			p = &g_st.path[k];
		}
		if (t->nroutes >= ING_MAX_ROUTES) {
			log_limit(LIM_ROUTES, "rb: routes");
			g_rb.fail = "too many routes (ING_MAX_ROUTES)";
			return;
		}
		struct rt_route *rt = &t->routes[t->nroutes];
		memset(rt, 0, offsetof(struct rt_route, path));
		rt->prio = prio;
		rt->policy = pi;
		rt->ep_mask = ep_mask;
		rt->is_default = (uint8_t)last;
		rt->strip = (uint8_t)strip;
		rt->next = -1;
		rt->match = p->path_type == PT_EXACT ? MT_EXACT : p->path_type == PT_PREFIX ? MT_PREFIX
		            : (rule == RT_PATH || rule == RT_PATHSTRIP) ? MT_EXACT : MT_STRPREFIX;
		if (pol->ngx_regex && !last) { /* nginx's ~* location: "^(?:path)", any case */
			char re[ING_PATH_LEN + 8], err[160];
			ing_snprintf(re, sizeof re, "^(?:%s)", p->path);
			ing_snprintf(rt->path, sizeof rt->path, "%s", p->path);
			rt->path_len = (uint16_t)strlen(rt->path);
			rt->match = MT_REGEX;
			if ((rt->rx = rb_rx(t, re, 1, NULL, err, sizeof err)) < 0) {
				rt->match = MT_STRPREFIX; /* its requests get 500 */
				rb_refuse(t, pol, "path %s as a regex: %s", p->path, err);
				rb_note(r, "%s: its requests get 500", pol->refused);
			}
			goto host;
		}
		/* in the form requests are matched in (rt_path_norm, rt_match_form),
		 * so /%7Euser and /a//b meet their requests */
		char fp[ING_PATH_LEN], np[ING_PATH_LEN];
		struct ing_str nq;
		const char *why;
		int nl = rt_path_norm((struct ing_str){p->path, strlen(p->path)}, fp, sizeof fp, &nq, &why);
		if (nl < 0 || nq.n > 0 || memchr(fp, ';', (size_t)nl) != NULL) {
			rb_skip(t, r, p->host, p->path, "path %s: not served", nl < 0 ? why : nq.n > 0 ? "has a query ('?')"
			        : "has parameters (';'), which requests are matched without");
			continue;
		}
		size_t pl = rt_match_form(fp, (size_t)nl, np, (size_t)-1);
		/* Prefix ignores a trailing slash: /foo/ is /foo (k8s) */
		if (rt->match == MT_PREFIX && pl > 1 && np[pl - 1] == '/')
			pl--;
		if (rt->match == MT_PREFIX && pl == 1)
			pl = 0; /* Prefix "/" is everything */
		memcpy(rt->path, np, pl);
		rt->path[pl] = '\0';
		rt->path_len = (uint16_t)pl;
		if (rule == RT_REPLACEPATH) { /* Traefik's: any path of the host, sent as this one */
			if (pol->rw) {
				rb_skip(t, r, p->host, p->path, "rule-type ReplacePath with rewrite-target or request-modifier: "
				        "not served (as in Traefik)");
				continue;
			}
			rt->replace = 1;
			rt->match = MT_STRPREFIX;
			rt->path_len = 0;
		}
	host:
		if (p->host[0] == '\0') {
			rt->host_kind = HK_ANY;
			rt->host = -1;
		} else {
			int wild = p->host[0] == '*';
			rt->host_kind = wild ? HK_WILD : HK_EXACT;
			if ((rt->host = rb_host(t, p->host + (wild ? 2 : 0), wild, 1)) < 0)
				return;
		}
		rt->backend = rb_backend(t, r->h.ns, &p->be);
		if (rt->backend < 0)
			return;
		t->nroutes++;
	}
	rb_weights(t, r, pol, first);
	r->h.logged = r->h.gen;
}

/* The length a route's path counts for in the order: a Prefix "/" is
 * stored empty (it matches everything) but is one character long. */
static int
rb_path_rank(const struct rt_route *r)
{
	return r->path_len + (r->match == MT_PREFIX && r->path_len == 0);
}

/* Route order: the priority annotation, then the host (exact, wildcard,
 * any), then the longest path whatever its type (Kubernetes' rule, and
 * what ingress-nginx and Traefik 1.x do: so a policy on /admin is never
 * shadowed by a shorter / route), Exact before Prefix before string
 * prefix on a tie, then namespace/name. */
static int
rb_cmp_order(const struct rt_table *t, const struct rt_route *x, const struct rt_route *y)
{
	if (x->prio != y->prio)
		return x->prio > y->prio ? -1 : 1;
	if (x->host_kind != y->host_kind)
		return x->host_kind - y->host_kind;
	if (x->is_default != y->is_default)
		return x->is_default - y->is_default;
	if (rb_path_rank(x) != rb_path_rank(y))
		return rb_path_rank(x) > rb_path_rank(y) ? -1 : 1;
	if (x->match != y->match)
		return x->match - y->match;
	int c = strcmp(t->policies[x->policy].ns, t->policies[y->policy].ns);
	if (c == 0)
		c = strcmp(t->policies[x->policy].name, t->policies[y->policy].name);
	return c ? c : strcmp(x->path, y->path);
}

static int
rb_cmp_route(const void *a, const void *b)
{
	const struct rt_route *x = a, *y = b;
	/* group by host, then the conflict key (oldest Ingress first), then order */
	if (x->host != y->host)
		return x->host - y->host;
	return rb_cmp_order(rb_sorting, x, y);
}

/* Same host, path and match: grouped, nginx's canaries after the rest,
 * then oldest Ingress first, then by Service. */
static int
rb_cmp_conflict(const void *a, const void *b)
{
	const struct rt_route *x = a, *y = b;
	const struct rt_policy *xp = &rb_sorting->policies[x->policy], *yp = &rb_sorting->policies[y->policy];
	int c = x->host - y->host;
	if (c == 0)
		c = x->is_default - y->is_default;
	if (c == 0)
		c = x->match - y->match;
	if (c == 0)
		c = strcmp(x->path, y->path);
	if (c == 0)
		c = (xp->canary >= 0) - (yp->canary >= 0);
	if (c == 0)
		c = (int)xp->order - (int)yp->order;
	if (c == 0)
		c = strcmp(rb_sorting->backends[x->backend].key, rb_sorting->backends[y->backend].key);
	return c;
}

/* Route x's Service joins route k's split (canary: x's rules, or -1):
 * NULL, or why x is not served. */
static const char *
rb_arm(struct rt_table *t, struct rt_route *k, const struct rt_route *x, int canary)
{
	const struct rt_arm *last = k->narm ? &t->arms[k->arm + k->narm - 1] : NULL;
	if (canary >= 0 && last != NULL && last->canary >= 0)
		return "is a second canary of the route (nginx takes one): not served";
	if (canary < 0 && (last != NULL ? last->backend : k->backend) == x->backend)
		return NULL; /* one Service listed twice */
	if (k->narm == 0) { /* k's own Service is the first */
		if (t->narms >= ING_MAX_ARMS)
			goto full;
		k->arm = t->narms++;
		t->arms[k->arm] = (struct rt_arm){k->backend, k->weight, -1};
		k->narm = 1;
	}
	if (k->narm >= ING_MAX_SPLIT) {
		log_limit(LIM_SPLIT, "rb: Services of one route");
		return "is one Service more than ING_MAX_SPLIT share: not served";
	}
	if (t->narms >= ING_MAX_ARMS)
		goto full;
	t->arms[t->narms++] = (struct rt_arm){x->backend, x->weight, canary};
	k->narm++;
	return NULL;
full:
	log_limit(LIM_ARMS, "rb: Services of split routes");
	g_rb.fail = "too many Services in split routes (ING_MAX_ARMS)";
	return NULL;
}

/* Routes with the same host, path and match become one: from one
 * Ingress, a split among its Services (rb_weights); an nginx canary joins
 * the oldest other Ingress's route as the last arm of its split (one
 * canary per route; a canary with no such route is not served, as nginx);
 * otherwise the oldest Ingress wins. */
static void
rb_dedupe(struct rt_table *t)
{
	int w = 0;
	rb_sorting = t;
	str_sort(t->routes, (size_t)t->nroutes, sizeof t->routes[0], rb_cmp_conflict);
	for (int r = 0; r < t->nroutes; r++) {
		struct rt_route *x = &t->routes[r], *k = w > 0 ? &t->routes[w - 1] : NULL;
		const struct rt_policy *xp = &t->policies[x->policy];
		const char *why;
		char claim[160];
		if (k != NULL && rb_same_key(k, x)) {
			const struct rt_policy *kp = &t->policies[k->policy];
			if (k->policy == x->policy || (xp->canary >= 0 && kp->canary < 0)) {
				if ((why = rb_arm(t, k, x, xp->canary)) == NULL)
					continue;
			} else {
				ing_snprintf(claim, sizeof claim, "is also claimed by the older ingress %s/%s, which wins", kp->ns,
				             kp->name);
				why = claim;
			}
		} else if (xp->canary >= 0) {
			why = "is a canary, and no other Ingress routes it: not served (as nginx)";
		} else {
			if (w != r)
				t->routes[w] = *x;
			w++;
			continue;
		}
		struct st_ing *ing = st_find(SK_INGRESS, xp->ns, xp->name);
		if (ing != NULL && ing->h.logged_conflict != ing->h.gen) {
			log_warnx("rb: ingress %s/%s: %s%s%s %s", xp->ns, xp->name,
			          x->host >= 0 ? t->hosts[x->host].wild ? "*." : "" : "", x->host >= 0 ? t->hosts[x->host].name : "",
			          x->is_default ? "(default backend)" : x->path_len ? x->path : "/", why);
			ing->h.logged_conflict = ing->h.gen;
		}
	}
	t->nroutes = w;
}

/* Builds the spare table from the store and swaps it in on success. */
static int
rb_rebuild(void)
{
	struct rt_table *t = &g_rb.t[g_rb.live == 0 ? 1 : 0];
	struct st_ing *ing;
	int n = 0;
	uint32_t default_eps = 0;

	g_rb.fail = NULL;
	t->nroutes = t->nhosts = t->nbackends = t->nservers = t->npolicies = t->nskips = 0;
	t->ncidrs = t->nusers = t->nedits = t->nrx = t->narms = 0;
	t->nebytes = 0;
	t->any_first = -1;
	t->defbe = -1;
	memset(t->hidx, 0, sizeof t->hidx);
	memset(g_rb.bidx, 0, sizeof g_rb.bidx);
	t->gen = rb_build_no();
	for (int i = 0; i < cf_live->n_default_eps; i++)
		default_eps |= rb_ep_mask(cf_live->default_eps[i]);

	/* endpoints by (ns, service) for rb_servers */
	g_rb.neps = 0;
	struct st_eps *e;
	for (int i = -1; (e = st_next(SK_ENDPOINTS, &i)) != NULL;)
		g_rb.eps_order[g_rb.neps++] = i;
	str_sort(g_rb.eps_order, (size_t)g_rb.neps, sizeof g_rb.eps_order[0], rb_cmp_eps);

	/* Ingresses oldest first: conflicts resolve in their order */
	for (int i = -1; (ing = st_next(SK_INGRESS, &i)) != NULL;)
		g_rb.ing_order[n++] = i;
	str_sort(g_rb.ing_order, (size_t)n, sizeof g_rb.ing_order[0], rb_cmp_ing);
	const char *dbe = cf_live->kube.default_backend, *slash = strchr(dbe, '/');
	if (slash != NULL) { /* [kubernetes] defaultBackend: "namespace/name" (cf_finish) */
		char ns[ING_NS_LEN];
		ing_snprintf(ns, sizeof ns, "%.*s", (int)(slash - dbe), dbe);
		t->defbe = rb_svc_first(t, ns, slash + 1);
	}
	for (int k = 0; k < n && g_rb.fail == NULL; k++)
		rb_ingress(t, &g_st.ing[g_rb.ing_order[k]], (uint32_t)k, default_eps);

	rb_aliases(t);
	if (g_rb.fail == NULL) {
		rb_dedupe(t);
		rb_sorting = t;
		str_sort(t->routes, (size_t)t->nroutes, sizeof t->routes[0], rb_cmp_route);
		/* chains: each host's routes are contiguous and in order */
		for (int r = t->nroutes - 1; r >= 0; r--) {
			struct rt_route *rt = &t->routes[r];
			if (rt->host < 0) {
				rt->next = t->any_first;
				t->any_first = r;
			} else {
				rt->next = t->hosts[rt->host].first;
				t->hosts[rt->host].first = r;
			}
		}
		lb_sync(t);
		tl_build(g_rb.ing_order, n);
	}
	if (g_rb.fail != NULL) {
		g_rb.failures++;
		g_rb.last_error = g_rb.fail;
		log_errx("rb: routing table not rebuilt: %s; the previous table keeps serving", g_rb.fail);
		return ING_ERR;
	}
	g_rb.live = (int)(t - g_rb.t);
	g_rb.builds++;
	g_rb.last_wall = port_wall_s();
	g_rb.last_error = NULL;
	log_info("rb: routing table %u: %d routes, %d hosts, %d backends, %d servers, %d paths skipped", t->gen,
	         t->nroutes, t->nhosts, t->nbackends, t->nservers, t->nskips);
	return 0;
}

/* ===== 10. TLS termination ============================================= tl_
 * HTTPS entry points (an [entryPoints.NAME.tls] table). Certificates come
 * from the Ingresses' spec.tls Secrets and serve exactly the hosts listed
 * there (Traefik ignored `hosts` and let any namespace's certificate answer
 * for any name); SNI picks the exact name first, then a "*." wildcard;
 * without a match, the entry point's certFile, else the first certificate
 * loaded (counted). A Secret that is missing, malformed, not matching its
 * key or expired loads nothing, is logged once and counted, and its hosts
 * fall back to the default; its Ingress's HTTP routes are not touched.
 * Loaded certificates are cached per Secret version, so a rebuild does not
 * parse them again and a rotated Secret applies at once, without dropping
 * established connections (sessions keep the certificate they chose).
 * The client contexts for HTTPS pods (up_) are made here too: one that
 * verifies (rootCAs, else the system bundle) and one that does not
 * (insecureSkipVerify, nginx's proxy-ssl-verify "off").
 * Limits: ING_MAX_TLS_CONNS, ING_MAX_SECRETS, ING_MAX_TLS_HOSTS.
 */
struct tl_cert { /* a certificate from a Secret */
	uint8_t used, bad, logged;
	char ns[ING_NS_LEN], name[ING_NAME_LEN];
	uint32_t gen;   /* the Secret version it was loaded from */
	uint32_t build; /* the last table that used it */
	struct tls_cert *cert;
	int64_t not_after;
	char why[200]; /* why it did not load */
};

struct tl_entry {
	char host[ING_NAME_LEN]; /* a wildcard keeps its "*." */
	int cert;
};

static struct {
	struct tls_ctx *ctx[ING_MAX_ENTRYPOINTS];
	struct tls_cert *dflt[ING_MAX_ENTRYPOINTS]; /* certFile/keyFile */
	int64_t dflt_na[ING_MAX_ENTRYPOINTS];       /* ... their notAfter (/api) */
	struct tl_cert certs[ING_MAX_SECRETS];
	struct tl_entry map[2][ING_MAX_TLS_HOSTS]; /* SNI name -> cert, sorted */
	int nmap[2], live;
	uint32_t build;
	uint8_t told_no_https;
	uint64_t handshakes, unknown_sni, load_failures, refused;
	struct tls_ctx *pod[2]; /* TL_POD_*: HTTPS pods (up_) */
	char pod_why[160];      /* why pod[TL_POD_VERIFY] is NULL */
	uint32_t pod_gen;       /* bumped when they are made again: pooled sessions are not reused */
	int pod_sessions;       /* upstream TLS sessions alive (ING_MAX_TLS_UPSTREAMS) */
} g_tl;
/* Where Debian, Alpine/busybox and Red Hat keep the system's CA bundle. */
static const char *const tl_ca_bundles[] = {"/etc/ssl/certs/ca-certificates.crt", "/etc/ssl/cert.pem",
                                            "/etc/pki/tls/certs/ca-bundle.crt"};

static int
tl_cmp(const void *a, const void *b)
{
	return strcmp(((const struct tl_entry *)a)->host, ((const struct tl_entry *)b)->host);
}

static int
tl_find(const char *host)
{
	int lo = 0, hi = g_tl.nmap[g_tl.live];
	const struct tl_entry *e = g_tl.map[g_tl.live];
	while (lo < hi) {
		int mid = (lo + hi) / 2, c = strcmp(e[mid].host, host);
		if (c == 0)
			return e[mid].cert;
		if (c < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}

/* The certificate for a handshake on entry point (intptr_t)arg. */
static struct tls_cert *
tl_pick(const char *sni, void *arg)
{
	int ep = (int)(intptr_t)arg, k = -1;
	char host[ING_NAME_LEN + 2];
	g_tl.handshakes++;
	if (sni != NULL && sni[0] != '\0') {
		size_t n = rt_host_norm((struct ing_str){sni, strlen(sni)}, host, sizeof host - 2);
		if (n > 0 && (k = tl_find(host)) < 0) {
			const char *dot = strchr(host, '.');
			if (dot != NULL && dot[1] != '\0') {
				char wild[ING_NAME_LEN + 2];
				ing_snprintf(wild, sizeof wild, "*%s", dot);
				k = tl_find(wild);
			}
		}
		if (k >= 0 && g_tl.certs[k].cert != NULL)
			return g_tl.certs[k].cert;
	}
	if (ep >= 0 && ep < cf_live->n_eps && cf_live->eps[ep].sni_strict) { /* tls.sniStrict */
		g_tl.unknown_sni++;
		return NULL;
	}
	if (ep >= 0 && ep < ING_MAX_ENTRYPOINTS && g_tl.dflt[ep] != NULL)
		return g_tl.dflt[ep];
	/* no default certificate: the first one loaded, and a warning metric */
	g_tl.unknown_sni++;
	for (int i = 0; i < ING_MAX_SECRETS; i++)
		if (g_tl.certs[i].used && g_tl.certs[i].cert != NULL)
			return g_tl.certs[i].cert;
	return NULL; /* nothing to serve: the handshake is refused */
}

/* Loads (or reuses) the certificate of Secret ns/name; its index, or -1. */
static int
tl_cert(struct st_ing *r, const char *name, uint32_t build)
{
	const struct st_secret *s = st_find(SK_SECRET, r->h.ns, name);
	int k, free_slot = -1;
	for (k = 0; k < ING_MAX_SECRETS; k++) {
		if (g_tl.certs[k].used && !strcmp(g_tl.certs[k].ns, r->h.ns) && !strcmp(g_tl.certs[k].name, name))
			break;
		if (!g_tl.certs[k].used && free_slot < 0)
			free_slot = k;
	}
	if (k == ING_MAX_SECRETS) {
		if (free_slot < 0) {
			log_limit(LIM_SECRETS, "tl: TLS certificates");
			return -1;
		}
		k = free_slot;
		memset(&g_tl.certs[k], 0, sizeof g_tl.certs[k]);
		g_tl.certs[k].used = 1;
		ing_snprintf(g_tl.certs[k].ns, sizeof g_tl.certs[k].ns, "%s", r->h.ns);
		ing_snprintf(g_tl.certs[k].name, sizeof g_tl.certs[k].name, "%s", name);
		g_tl.certs[k].gen = UINT32_MAX; /* never loaded */
	}
	struct tl_cert *tc = &g_tl.certs[k];
	tc->build = build;
	uint32_t gen = s ? s->h.gen : 0;
	int fetching = s == NULL && kw_fetching(r->h.ns, name); /* not an error yet */
	if (tc->gen == gen && (tc->cert != NULL || tc->bad)) { /* this version, loaded (or refused) before */
		if (tc->bad && !tc->logged && g_kw.ready && !fetching) {
			tc->logged = 1;
			log_warnx("tl: ingress %s/%s: TLS Secret %s: %s; its hosts get the default certificate", r->h.ns, r->h.name,
			          name, tc->why);
		}
		return tc->cert ? k : -1;
	}
	/* a new version: the old certificate goes (sessions keep their reference) */
	if (tc->cert != NULL)
		tls_cert_free(tc->cert);
	tc->cert = NULL;
	int told = tc->bad && tc->logged && tc->gen == UINT32_MAX; /* the heap was full, and it was said */
	tc->bad = tc->logged = 0;
	tc->gen = gen;
	size_t clen = 0, klen = 0;
	const unsigned char *crt = s ? st_secret_data(s, "tls.crt", &clen) : NULL;
	const unsigned char *key = s ? st_secret_data(s, "tls.key", &klen) : NULL;
	struct tls_cert_info info;
	char err[ING_ERR_LEN];
	uint64_t heap_full = g_lim.hits[LIM_HEAP_BYTES];
	if (s == NULL)
		ing_snprintf(tc->why, sizeof tc->why, "Secret not found%s", kw_secrets_forbidden() ? " (no RBAC right to read Secrets)" : "");
	else if (s->bad != NULL)
		ing_snprintf(tc->why, sizeof tc->why, "Secret unreadable: %s", s->bad);
	else if (crt == NULL || key == NULL)
		ing_snprintf(tc->why, sizeof tc->why, "Secret has no tls.crt and tls.key%s",
		             s->nkeys > ING_MAX_SECRET_KEYS ? " among the first " ING_STR(ING_MAX_SECRET_KEYS)
		                                              " data keys (ING_MAX_SECRET_KEYS)" : "");
	else if ((tc->cert = tls_cert_load((const char *)crt, clen, (const char *)key, klen, &info, err, sizeof err)) == NULL)
		ing_snprintf(tc->why, sizeof tc->why, "%s", err);
	if (tc->cert != NULL) {
		int64_t now = port_wall_s() < ING_BUILD_EPOCH ? ING_BUILD_EPOCH : port_wall_s();
		tc->not_after = info.not_after;
		if (info.not_after < now || info.not_before > now) {
			ing_snprintf(tc->why, sizeof tc->why, "certificate %s", info.not_after < now ? "expired" : "not valid yet");
			tls_cert_free(tc->cert);
			tc->cert = NULL;
		}
	}
	if (tc->cert == NULL) {
		tc->bad = 1;
		int heap = g_lim.hits[LIM_HEAP_BYTES] != heap_full;
		if (heap) /* no room on the heap: not this version's fault, tried again at the next build */
			tc->gen = UINT32_MAX;
		g_tl.load_failures++;
		/* before the first sync: not an error yet; the heap still full: said */
		if ((tc->logged = s != NULL || (g_kw.ready && !fetching)) && !(heap && told))
			log_warnx("tl: ingress %s/%s: TLS Secret %s: %s; its hosts get the default certificate", r->h.ns, r->h.name,
			          name, tc->why);
		return -1;
	}
	log_info("tl: %s/%s: certificate loaded (%d name%s)", r->h.ns, name, info.n_names, info.n_names == 1 ? "" : "s");
	return k;
}

/* The SNI map for a new routing table (oldest Ingress first wins a host). */
static void
tl_build(const int *ing_order, int n)
{
	int spare = 1 - g_tl.live, m = 0;
	struct tl_entry *e = g_tl.map[spare];
	uint32_t build = ++g_tl.build;
	if (!cf_tls(cf_live)) { /* no HTTPS entry point: nothing to load (nor kept: st_ing_secret) */
		for (int i = 0; i < n && !g_tl.told_no_https; i++)
			if (g_st.ing[ing_order[i]].tls >= 0) {
				g_tl.told_no_https = 1;
				log_info("tl: Ingresses list spec.tls, but no entry point has a tls table: their Secrets are not read");
			}
		n = 0;
	}
	for (int i = 0; i < n; i++) {
		struct st_ing *r = &g_st.ing[ing_order[i]];
		for (int t = r->tls; t >= 0; t = g_st.tlsh[t].next) {
			const struct st_tlshost *th = &g_st.tlsh[t];
			if (th->secret[0] == '\0')
				continue;
			int k = tl_cert(r, th->secret, build);
			if (k < 0 || m >= ING_MAX_TLS_HOSTS)
				continue;
			ing_snprintf(e[m].host, sizeof e[m].host, "%s", th->host);
			e[m].cert = k;
			m++;
		}
	}
	/* stable sort, then one entry per host: the first (oldest Ingress) */
	for (int i = 1; i < m; i++) /* insertion sort keeps the order of equals */
		for (int j = i; j > 0 && tl_cmp(&e[j - 1], &e[j]) > 0; j--) {
			struct tl_entry tmp = e[j];
			e[j] = e[j - 1];
			e[j - 1] = tmp;
		}
	int w = 0;
	for (int i = 0; i < m; i++)
		if (w == 0 || strcmp(e[w - 1].host, e[i].host) != 0)
			e[w++] = e[i];
	g_tl.nmap[spare] = w;
	g_tl.live = spare;
	/* certificates no Ingress uses any more */
	for (int k = 0; k < ING_MAX_SECRETS; k++)
		if (g_tl.certs[k].used && g_tl.certs[k].build != build) {
			if (g_tl.certs[k].cert != NULL)
				tls_cert_free(g_tl.certs[k].cert);
			memset(&g_tl.certs[k], 0, sizeof g_tl.certs[k]);
		}
}

/* An entry point's context: its client CAs (tls.ClientCA), read into
 * buf. NULL with the reason logged. */
static struct tls_ctx *
tl_ctx(const struct cf_ep *e, int ep, char *buf, size_t cap)
{
	char err[200];
	size_t n = 0;
	struct tls_ctx *ctx = tls_server_ctx(tl_pick, (void *)(intptr_t)ep, err, sizeof err);
	if (ctx == NULL) {
		log_errx("tl: entry point %s: %s", e->name, err);
		return NULL;
	}
	for (int i = 0; i < e->n_ca_files; i++) {
		ssize_t r = port_read_file(e->ca_files[i], buf + n, cap - n, err, sizeof err);
		if (r < 0) {
			log_errx("tl: entry point %s: tls.ClientCA: %s", e->name, err);
			tls_ctx_free(ctx);
			return NULL;
		}
		n += (size_t)r;
		if (n < cap - 1)
			buf[n++] = '\n';
	}
	if (e->n_ca_files > 0 && tls_server_client_ca(ctx, buf, n, !e->ca_optional, err, sizeof err) != 0) {
		log_errx("tl: entry point %s: tls.ClientCA files %s%s: %s", e->name, e->ca_files[0],
		         e->n_ca_files > 1 ? ",..." : "", err);
		tls_ctx_free(ctx);
		return NULL;
	}
	return ctx;
}

/* The verifying context for HTTPS pods: rootCAs (unreadable or invalid:
 * a config error), else the first system bundle found. Without either,
 * NULL and *why says so: those pods get 502, never an unchecked session.
 * 0, or ING_ERR logged. */
static int
tl_pod_ctx(const struct cf *c, struct tls_ctx **out, char *why, size_t cap, char *buf, size_t bcap)
{
	char err[200];
	size_t n = 0;
	const char *src = NULL;
	*out = NULL;
	for (int i = 0; i < c->n_root_cas; i++) {
		ssize_t r = port_read_file(c->root_cas[i], buf + n, bcap - n, err, sizeof err);
		if (r < 0) {
			log_errx("tl: rootCAs: %s", err);
			return ING_ERR;
		}
		n += (size_t)r;
		if (n < bcap - 1)
			buf[n++] = '\n';
		src = c->root_cas[0];
	}
	for (size_t i = 0; src == NULL && i < ING_ARRAY_LEN(tl_ca_bundles); i++) {
		ssize_t r = port_read_file(tl_ca_bundles[i], buf, bcap, err, sizeof err);
		if (r > 0) {
			n = (size_t)r;
			src = tl_ca_bundles[i];
		}
	}
	if (src == NULL) {
		ing_snprintf(why, cap, "no CA bundle to verify HTTPS pods with (none of %s, ...): set rootCAs or "
		             "insecureSkipVerify", tl_ca_bundles[0]);
		return 0;
	}
	if ((*out = tls_client_ctx(buf, n, err, sizeof err)) == NULL) {
		if (c->n_root_cas > 0) {
			log_errx("tl: rootCAs %s%s: %s", c->root_cas[0], c->n_root_cas > 1 ? ",..." : "", err);
			return ING_ERR;
		}
		ing_snprintf(why, cap, "the system CA bundle %s: %s", src, err);
		return 0;
	}
	log_debug("tl: HTTPS pods are verified against %s", src);
	return 0;
}

/* Contexts and default certificates of the TLS entry points, and the
 * contexts for HTTPS pods, all made afresh (start, SIGHUP, -t): the old
 * ones stay for their sessions and are swapped only when every new one
 * loaded. 0, or ING_ERR logged. */
static int
tl_setup(const struct cf *c)
{
	static char crt[ING_MAX_CA_BYTES], key[ING_MAX_CA_BYTES];
	struct tls_ctx *ctx[ING_MAX_ENTRYPOINTS] = {0};
	struct tls_cert *dflt[ING_MAX_ENTRYPOINTS] = {0};
	int64_t na[ING_MAX_ENTRYPOINTS] = {0};
	struct tls_ctx *pod[2] = {0};
	char err[200], pod_why[sizeof g_tl.pod_why] = "";
	int ep, rc = tl_pod_ctx(c, &pod[TL_POD_VERIFY], pod_why, sizeof pod_why, crt, sizeof crt);
	if (rc == 0 && (pod[TL_POD_INSECURE] = tls_client_ctx(NULL, 0, err, sizeof err)) == NULL) {
		log_errx("tl: HTTPS pods: %s", err);
		rc = ING_ERR;
	}
	for (ep = 0; ep < c->n_eps && rc == 0; ep++) {
		const struct cf_ep *e = &c->eps[ep];
		if (!e->tls)
			continue;
		if ((ctx[ep] = tl_ctx(e, ep, crt, sizeof crt)) == NULL) {
			rc = ING_ERR;
			break;
		}
		if (e->cert_file[0] == '\0')
			continue;
		struct tls_cert_info info;
		ssize_t cl = port_read_file(e->cert_file, crt, sizeof crt, err, sizeof err), kl;
		if (cl >= 0 && (kl = port_read_file(e->key_file, key, sizeof key, err, sizeof err)) >= 0)
			dflt[ep] = tls_cert_load(crt, (size_t)cl, key, (size_t)kl, &info, err, sizeof err);
		explicit_bzero(key, sizeof key);
		if (dflt[ep] == NULL) {
			log_errx("tl: entry point %s: default certificate %s: %s", e->name, e->cert_file, err);
			rc = ING_ERR;
		} else {
			na[ep] = info.not_after;
		}
	}
	for (ep = 0; ep < ING_MAX_ENTRYPOINTS; ep++) {
		struct tls_ctx *oc = rc == 0 ? g_tl.ctx[ep] : ctx[ep];
		struct tls_cert *od = rc == 0 ? g_tl.dflt[ep] : dflt[ep];
		if (oc != NULL)
			tls_ctx_free(oc);
		if (od != NULL)
			tls_cert_free(od);
		if (rc == 0) {
			g_tl.ctx[ep] = ctx[ep];
			g_tl.dflt[ep] = dflt[ep];
			g_tl.dflt_na[ep] = na[ep];
		}
	}
	for (int k = 0; k < 2; k++) {
		struct tls_ctx *oc = rc == 0 ? g_tl.pod[k] : pod[k];
		if (oc != NULL)
			tls_ctx_free(oc);
		if (rc == 0)
			g_tl.pod[k] = pod[k];
	}
	if (rc == 0) {
		g_tl.pod_gen++;
		memcpy(g_tl.pod_why, pod_why, sizeof pod_why);
		if (c->insecure_skip_verify)
			log_warnx("tl: insecureSkipVerify: the certificates of HTTPS pods are not checked");
		else if (pod_why[0])
			log_info("tl: %s", pod_why);
	}
	return rc;
}

/* A new connection on a TLS entry point: its session. 0, or ING_ERR (the
 * connection is closed by the caller). */
static int
tl_accept(struct cn *c, int ep)
{
	char err[ING_ERR_LEN];
	if (tls_sessions() - g_tl.pod_sessions >= ING_MAX_TLS_CONNS) {
		log_limit(LIM_TLS_CONNS, "tl: TLS sessions");
		g_tl.refused++;
		return ING_ERR;
	}
	if ((c->tls = tls_server(g_tl.ctx[ep], c->fd, err, sizeof err)) == NULL) {
		log_debug("tl: conn %u: %s", c->id, err);
		g_tl.refused++;
		return ING_ERR;
	}
	c->flags |= CNF_HTTPS;
	return 0;
}

/* ===== 11. accept, the PROXY protocol, the client address ========= cn_ pp_
 * Listeners for the entry points and the admin [web] address. A full
 * connection table parks them (HAProxy's limit_listener) until a slot frees;
 * EMFILE parks them for a second (relayd's accept_reserve). On an entry
 * point with [proxyProtocol], a connection first gives its PROXY header
 * (v1 text or v2 binary, optional as in Traefik), read with peeks so not
 * a byte past it is taken before TLS; a trusted peer's source address
 * becomes the connection's. The client address of a request then follows
 * forwardedHeaders (pp_client).
 * Limits: ING_MAX_CONNS.
 */
/* Listeners: in the loop's set while accepting (not paused). */
static int
cn_listeners_watch(int now)
{
	int r = 0;
	for (int i = 0; i < g_cn.nlis; i++)
		if (g_cn.lis[i].fd >= 0 && port_ev_set(g_cn.lis[i].fd, CN_TAG_LIS + i, POLLIN ^ now, now) != 0) {
			log_warn("cn: %s: watch", g_cn.lis[i].name);
			r = ING_ERR;
		}
	return r;
}

static void
cn_listeners_pause(int paused)
{
	if (g_cn.lis_paused == paused)
		return;
	g_cn.lis_paused = paused;
	cn_listeners_watch(paused ? 0 : POLLIN);
	log_info("cn: %s accepting connections", paused ? "stopped" : "resumed");
}

static void cl_start(struct cn *c); /* the client side (hp_) */
static void cn_start(struct cn *c);

static void
cn_accept(struct lis *l)
{
	for (int i = 0; i < ING_ACCEPT_BURST; i++) {
		struct ing_addr peer;
		struct cn *c;
		int fd;
		if (g_cn.used[CN_CLIENT] >= ING_MAX_CONNS) {
			log_limit(LIM_CONNS, "cn: client connections");
			cn_listeners_pause(1);
			return;
		}
		fd = port_accept(l->fd, &peer);
		if (fd == ING_WAIT)
			return;
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE) {
				/* relayd: out of fds; stop accepting for a while */
				log_warn("cn: %s: accept", l->name);
				cn_listeners_pause(1);
				g_cn.lis_resume_at = g.now + CN_FD_PAUSE_MS;
			}
			return;
		}
		c = cn_new(CN_CLIENT, fd);
		if (ING_NEVER(c == NULL)) { /* checked above */
			port_close(fd);
			return;
		}
		g_cn.accepted++;
		static const uint8_t v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
		if (peer.family == 6 && memcmp(peer.ip, v4mapped, 12) == 0) { /* ::ffff:a.b.c.d is a.b.c.d */
			memmove(peer.ip, peer.ip + 12, 4);
			memset(peer.ip + 4, 0, 12);
			peer.family = 4;
		}
		c->addr = peer;
		c->lis = (uint8_t)(l - g_cn.lis);
		c->t_start = g.now;
		if (l->ep >= 0 && cf_live->eps[l->ep].pp.on) {
			cn_set_state(c, CS_PPHDR);
			c->flags = CNF_WANT_READ;
			cn_deadline(c, tk_after(cf_live->read_timeout));
			continue;
		}
		cn_start(c);
	}
}

/* The connection's TLS session where its entry point has one, then its
 * first request. */
static void
cn_start(struct cn *c)
{
	int ep = g_cn.lis[c->lis].ep;
	if (ep >= 0 && cf_live->eps[ep].tls && tl_accept(c, ep) != 0) {
		rs_abort(c, RSN_NO_SLOT, "no TLS session (ING_MAX_TLS_CONNS)");
		return;
	}
	cl_start(c);
}

/* ---- the PROXY protocol (haproxy's proxy-protocol.txt, v1 and v2) ---- */
#define PP_V1_MAX 107 /* the longest v1 line */
#define PP_MAX 536    /* a v2 header with its TLVs: longer is refused */
#define PP_WAIT_MS 20 /* a split signature: looked at again this soon */
static const char pp_v2sig[12] = {'\r', '\n', '\r', '\n', 0, '\r', '\n', 'Q', 'U', 'I', 'T', '\n'};
#define PP_LIST(X) X(TRUSTED, "trusted") X(UNTRUSTED, "untrusted") X(NONE, "none") X(MALFORMED, "malformed") \
	X(TIMEOUT, "timeout")
enum {
#define X(n, s) PP_##n,
	PP_LIST(X)
#undef X
	PP__COUNT
};
static const char *const pp_names[PP__COUNT] = {
#define X(n, s) s,
    PP_LIST(X)
#undef X
};
static uint64_t g_pp[PP__COUNT];

static int wl_allow(const struct rt_cidr *cidrs, int n, int state, const struct ing_addr *peer); /* source whitelist (wl_) */

/* 1 when the entry point trusts c's peer by tr (insecure, or trustedIPs). */
static int
pp_trusted(const struct cn *c, const struct cf_trust *tr)
{
	return tr->insecure || (tr->n > 0 && wl_allow(&cf_live->ep_cidrs[tr->first], tr->n, WL_LIST, &c->addr));
}

static void
pp_fail(struct cn *c, int why, const char *text)
{
	g_pp[why]++;
	rs_abort(c, RSN_BAD_REQUEST, text);
}

/* A decimal port, all digits. */
static int
pp_port(struct ing_str s, uint16_t *port)
{
	uint64_t v;
	if (s.n == 0 || s.n > 5 || str_to_u64(s, 65535, &v) != 0)
		return ING_ERR;
	*port = (uint16_t)v;
	return 0;
}

/* A complete header of n bytes: the source it names, when it names one
 * (family 0: LOCAL, UNKNOWN, UNSPEC or a UNIX socket). 0, or ING_ERR when
 * it is malformed. */
static int
pp_parse(const char *b, size_t n, struct ing_addr *src)
{
	memset(src, 0, sizeof *src);
	if (b[0] == 'P') { /* "PROXY TCP4 src dst sport dport\r\n" */
		struct ing_str f[6];
		size_t k = 0, i = 0;
		while (k < 6 && i < n - 2) {
			size_t e = i;
			while (e < n - 2 && b[e] != ' ')
				e++;
			f[k++] = (struct ing_str){b + i, e - i};
			i = e + 1;
		}
		if (k >= 2 && str_eq(f[1], "UNKNOWN"))
			return 0;
		struct ing_addr dst;
		int fam = k == 6 && str_eq(f[1], "TCP4") ? 4 : k == 6 && str_eq(f[1], "TCP6") ? 6 : 0;
		if (fam == 0 || i != n - 1 || ing_addr_parse_ip(src, f[2].p, f[2].n) != 0 ||
		    ing_addr_parse_ip(&dst, f[3].p, f[3].n) != 0 || src->family != fam || dst.family != fam ||
		    f[2].p[0] == '[' || pp_port(f[4], &src->port) != 0 || pp_port(f[5], &dst.port) != 0)
			return ING_ERR;
		return 0;
	}
	/* v2: signature, version/command, family/protocol, length, addresses, TLVs */
	int cmd = (unsigned char)b[12], fam = (unsigned char)b[13] >> 4;
	size_t len = n - 16, alen = fam == 1 ? 12 : fam == 2 ? 36 : fam == 3 ? 216 : 0;
	if ((cmd >> 4) != 2 || (cmd & 15) > 1 || fam > 3 || ((unsigned char)b[13] & 15) > 2 || len < alen)
		return ING_ERR;
	for (size_t t = 16 + alen; t < n;) { /* TLVs: each must fit */
		if (n - t < 3 || n - t - 3 < (size_t)((unsigned char)b[t + 1] << 8 | (unsigned char)b[t + 2]))
			return ING_ERR;
		t += 3 + (size_t)((unsigned char)b[t + 1] << 8 | (unsigned char)b[t + 2]);
	}
	if ((cmd & 15) == 0 || fam == 0 || fam == 3) /* LOCAL (a health check), UNSPEC, UNIX */
		return 0;
	src->family = (uint8_t)(fam == 1 ? 4 : 6);
	memcpy(src->ip, b + 16, fam == 1 ? 4 : 16);
	src->port = (uint16_t)((unsigned char)b[16 + alen - 4] << 8 | (unsigned char)b[16 + alen - 3]);
	return 0;
}

/* Reads c's PROXY header as far as it came. Bytes are taken from the
 * socket only once they are known to be the header's, so what follows
 * (a TLS ClientHello, an HTTP request) stays there. A connection without
 * one goes on as it is; from an untrusted peer the header is taken and
 * not believed (Traefik 1.7); a malformed one closes the connection. */
static void
pp_read(struct cn *c)
{
	char b[PP_MAX];
	size_t have = bf_len(c->in);
	if (have > 0)
		memcpy(b, c->in->d + c->in->r, have);
	ssize_t r = port_peek(c->fd, b + have, sizeof b - have);
	if (r == ING_WAIT)
		return;
	if (r <= 0) {
		pp_fail(c, PP_MALFORMED, "closed in its PROXY header");
		return;
	}
	size_t len = have + (size_t)r, need = 0;
	const char *crlf;
	int v2 = b[0] == '\r';
	size_t sl = v2 ? sizeof pp_v2sig : 6;
	if (memcmp(b, v2 ? pp_v2sig : "PROXY ", ING_MIN(len, sl)) != 0) {
		if (have > 0) {
			pp_fail(c, PP_MALFORMED, "malformed PROXY header");
			return;
		}
		g_pp[PP_NONE]++; /* optional, as in Traefik */
		cn_start(c);
		return;
	}
	if (len < sl) { /* a split signature: not taken, looked at again soon */
		c->flags &= (uint16_t)~CNF_WANT_READ;
		cn_deadline(c, ING_MIN(tk_after(PP_WAIT_MS), c->t_start + cf_live->read_timeout));
		return;
	}
	if (v2 && len >= 16)
		need = 16 + ((size_t)(unsigned char)b[14] << 8 | (unsigned char)b[15]);
	else if (!v2 && (crlf = str_find(b, ING_MIN(len, PP_V1_MAX), "\r\n", 2)) != NULL)
		need = (size_t)(crlf - b) + 2;
	if (need > PP_MAX || (need == 0 && !v2 && len >= PP_V1_MAX)) {
		pp_fail(c, PP_MALFORMED, "PROXY header too long");
		return;
	}
	/* until its end is known, every byte seen is the header's */
	size_t take = ING_MIN(need ? need - have : len - have, (size_t)r);
	if ((c->in == NULL && (c->in = bf_get()) == NULL) || port_read(c->fd, c->in->d + c->in->w, take) != (ssize_t)take) {
		pp_fail(c, PP_MALFORMED, "PROXY header: read failed");
		return;
	}
	c->in->w += (uint32_t)take;
	c->flags |= CNF_WANT_READ;
	if (need == 0 || have + take < need)
		return;
	struct ing_addr src;
	const struct cf_trust *tr = &cf_live->eps[g_cn.lis[c->lis].ep].pp;
	if (pp_parse(b, need, &src) != 0) {
		pp_fail(c, PP_MALFORMED, "malformed PROXY header");
		return;
	}
	bf_put(&c->in);
	if (!pp_trusted(c, tr)) {
		g_pp[PP_UNTRUSTED]++;
		log_debug("pp: conn %u: PROXY header from an untrusted peer: not believed", c->id);
	} else {
		g_pp[PP_TRUSTED]++;
		if (src.family != 0)
			c->addr = src;
	}
	cn_start(c);
}

/* A PROXY header's deadline: a split signature is looked at again; past
 * readTimeout the connection is closed. */
static void
pp_timeout(struct cn *c)
{
	if (g.now >= c->t_start + cf_live->read_timeout) {
		pp_fail(c, PP_TIMEOUT, "PROXY header too slow (readTimeout)");
		return;
	}
	cn_deadline(c, tk_after(PP_WAIT_MS));
	pp_read(c);
}

/* The client address of a request: the peer (the PROXY source, when a
 * trusted balancer gave one), unless forwardedHeaders trusts that peer:
 * then the right-most X-Forwarded-For address it does not trust (the one
 * the first trusted proxy saw), or the left-most when it trusts them all.
 * An entry that is not an address there leaves family 0: no list allows
 * it. Returns 1 when the peer's forwarded headers are believed. */
static int
pp_client(const struct cn *c, const struct hp_msg *m, struct ing_addr *out)
{
	const struct cf_trust *tr = &cf_live->eps[g_cn.lis[c->lis].ep].fh;
	*out = c->addr;
	if (!pp_trusted(c, tr))
		return 0;
	for (int i = m->nh - 1; i >= 0; i--) {
		if (m->h[i].id != HH_X_FORWARDED_FOR)
			continue;
		struct ing_str v = m->h[i].value;
		for (size_t e = v.n; e > 0;) {
			size_t a = e;
			while (a > 0 && v.p[a - 1] != ',')
				a--;
			struct ing_str x = str_trim((struct ing_str){v.p + a, e - a});
			e = a > 0 ? a - 1 : 0;
			if (x.n == 0)
				continue;
			if (ing_addr_parse_ip(out, x.p, x.n) != 0 && ing_addr_parse(out, x.p, x.n) != 0) {
				memset(out, 0, sizeof *out);
				return 1;
			}
			out->port = 0;
			if (tr->insecure || !wl_allow(&cf_live->ep_cidrs[tr->first], tr->n, WL_LIST, out))
				return 1;
		}
	}
	return 1;
}

/* ===== 12. the client side =========================================== cl_
 * Read a request head, parse it, dispatch it; answers of our own;
 * keep-alive and pipelining.
 */
/* The client side of a connection: read a head, parse, dispatch; local
 * answers; keep-alive and pipelining (requests are answered in order, one
 * at a time: the next head is parsed only when the previous exchange is
 * done). */
#define HP_LINGER_MS 2000 /* drain input this long after an error answer */
#define HP_LINGER_READS 16 /* ... at most this many reads a turn */

static struct {
	struct hp_msg msg; /* the head being dispatched (single-threaded) */
} g_hp;

static void rs_error(struct cn *c, int status, enum rsn r, const char *why); /* responses of our own (rs_) */
static void rs_unauthorized(struct cn *c, int status, const char *realm);
static void rs_redirect(struct cn *c, const struct hp_msg *m, const char *ep_name, int code);
static void rs_redirect_to(struct cn *c, const struct hp_msg *m, int https, const char *host, unsigned port, int code);
static void rs_send(struct cn *c, int status, const char *ctype, const char *headers, const char *body, size_t blen,
                    int head_only);
static void up_dispatch(struct cn *c, struct hp_msg *m);         /* upstream connect and pump (up_) */
static void up_client_io(struct cn *c);                          /* upstream connect and pump (up_) */
static void mx_admin(struct cn *c, struct hp_msg *m);            /* admin API (mx_) */
static void al_begin(struct cn *c, const struct hp_msg *m);
static void mx_done(struct cn *c, int status, uint64_t bytes);
struct rt_table;
struct rt_route;
static void al_route(struct cn *c, const struct rt_table *t, const struct rt_route *rt);
static void al_user(struct cn *c, const char *user);
static void al_server(struct cn *c, const struct ing_addr *a);
static void al_reason(struct cn *c, enum rsn r);
static void al_client(struct cn *c, const struct ing_addr *a);

static void
cl_idle(struct cn *c, int first)
{
	cn_set_state(c, CS_IDLE);
	c->flags = (uint16_t)((c->flags & (CNF_HTTPS | CNF_DRAIN)) | CNF_WANT_READ);
	c->scan = 0;
	if (bf_len(c->in) == 0)
		bf_put(&c->in);
	cn_deadline(c, tk_after(first ? cf_live->read_timeout : cf_live->idle_timeout));
}

static void
cl_start(struct cn *c)
{
	cl_idle(c, 1);
}

/* Parse the request heads waiting in c->in, one after another while the
 * answers complete at once. */
static void
cl_advance(struct cn *c)
{
	while (!c->closing && (c->state == CS_IDLE || c->state == CS_HEAD)) {
		if (bf_len(c->in) == 0) {
			if (c->state == CS_HEAD)
				cl_idle(c, 0);
			return;
		}
		if (c->state == CS_IDLE) {
			cn_set_state(c, CS_HEAD);
			c->t_start = g.now;
			cn_deadline(c, tk_after(cf_live->read_timeout));
		}
		ssize_t n = hp_scan_head(c->in->d + c->in->r, bf_len(c->in), &c->scan);
		if (n == ING_WAIT) {
			if (bf_len(c->in) > ING_MAX_HEADER_BYTES) {
				log_limit(LIM_HEADER_BYTES, "hp: request head");
				rs_error(c, 431, RSN_HEAD_TOO_LARGE, "request head too large");
			} else if (c->flags & CNF_EOF) {
				rs_abort(c, RSN_CLIENT_CLOSED, "client closed mid-request");
			}
			return;
		}
		if (n > ING_MAX_HEADER_BYTES) {
			log_limit(LIM_HEADER_BYTES, "hp: request head");
			rs_error(c, 431, RSN_HEAD_TOO_LARGE, "request head too large");
			return;
		}
		struct hp_msg *m = &g_hp.msg;
		c->scan = 0;
		int bad = hp_parse_request(m, c->in->d + c->in->r, (size_t)n);
		c->req_open = 1;
		c->meth = (uint8_t)(bad ? HM_OTHER : m->meth);
		c->be = -1;
		c->xflags = 0; /* an answer before its route has no header edits (up_pol) */
		if (!(c->flags & CNF_RESUME)) { /* a new request: nothing of the last one's forward auth */
			al_begin(c, m);
			bf_put(&c->aux);
			c->flags &= (uint16_t)~CNF_FWD_OK;
		}
		c->flags &= (uint16_t)~(CNF_RESUME | CNF_ERRPAGE | CNF_KEEPHEAD);
		if (bad) {
			log_debug("hp: conn %u: %d: %s", c->id, m->err_status, m->err);
			rs_error(c, m->err_status, m->err_status == 431 ? RSN_HEAD_TOO_LARGE : RSN_BAD_REQUEST, m->err);
			return;
		}
		if ((m->minor == 1 && !m->conn_close) || (m->minor == 0 && m->conn_keepalive))
			c->flags |= CNF_KEEPALIVE;
		else
			c->flags &= (uint16_t)~CNF_KEEPALIVE;
		if (g_cn.lis[c->lis].ep < 0)
			mx_admin(c, m);
		else
			up_dispatch(c, m);
	}
}

/* A client without a buffer (keep-alive, between requests) reads into
 * the spare one: an EOF, or a request answered or passed on at once, then
 * takes no pool buffer. What is left (a partial head, body bytes, a
 * pipelined request) moves to one afterwards. */
static void
cl_read(struct cn *c)
{
	int lent = bf_lend(&c->in);
	for (;;) {
		ssize_t r = cn_fill(c);
		if (r == 0 && bf_len(c->in) == 0) {
			cn_close(c, c->state == CS_HEAD ? "client closed mid-request" : "client closed");
			break;
		}
		if (r == ING_ERR) { /* a TLS session says why (a refused client certificate, ...) */
			rs_abort(c, c->tls != NULL ? RSN_TLS : RSN_CLIENT_CLOSED, c->tls != NULL ? tls_error(c->tls) : "client read error");
			break;
		}
		if (r == ING_WAIT && c->in == NULL && !(c->flags & CNF_DRAINED)) {
			rs_abort(c, RSN_NO_SLOT, "no I/O buffer (ING_MAX_BUFS)");
			break;
		}
		if (r == ING_WAIT || r == 0 || bf_make_room(c->in) == 0 || c->tls == NULL) {
			cl_advance(c);
			break;
		}
	}
	if (lent && bf_unlend(&c->in, !c->closing) != 0)
		rs_abort(c, RSN_NO_SLOT, "no I/O buffer (ING_MAX_BUFS)");
}

/* The exchange on c is complete: keep-alive, pipelined next, or close. */
static void
cl_done(struct cn *c)
{
	c->flags &= (uint16_t)~CNF_WANT_WRITE;
	if (!(c->flags & CNF_KEEPALIVE) || (c->flags & (CNF_DRAIN | CNF_EOF))) {
		/* the TLS engine may hold records the socket did not take yet (a
		 * full send buffer): closing or shutting our side now would cut
		 * the answer's tail, so they go out first */
		int queued = c->tls != NULL && tls_busy(c->tls);
		if (bf_len(c->in) == 0 && (c->flags & CNF_EOF) && !queued) {
			cn_close(c, "done");
			return;
		}
		/* Lingering close: shut our side, read and drop what the client
		 * still sends, so it sees the answer instead of a reset. */
		bf_put(&c->in);
		cn_set_state(c, CS_LINGER);
		if (queued) {
			c->flags |= CNF_SHUT_LATER | CNF_WANT_WRITE;
			c->flags &= (uint16_t)~CNF_WANT_READ;
			cn_deadline(c, tk_after(cf_live->write_timeout ? cf_live->write_timeout : HP_LINGER_MS));
			return;
		}
		port_shutdown_write(c->fd);
		c->flags |= CNF_WANT_READ;
		cn_deadline(c, tk_after(HP_LINGER_MS));
		return;
	}
	cl_idle(c, 0);
}

/* Writes an answer of our own: the head in c->out, then a large body if
 * one is attached; done, the exchange is over. */
static void
cl_write(struct cn *c)
{
	int r = cn_flush(c);
	while (r == 1 && c->big != NULL && c->big_off < c->big_len) {
		ssize_t w = cn_write(c, c->big + c->big_off, c->big_len - c->big_off);
		if (w == ING_WAIT) {
			r = 0;
			break;
		}
		if (w < 0)
			r = ING_ERR;
		else
			c->big_off += (uint32_t)w;
	}
	if (r < 0) {
		rs_abort(c, RSN_CLIENT_CLOSED, "client write error");
		return;
	}
	if (r == 0) {
		c->flags |= CNF_WANT_WRITE;
		cn_deadline(c, tk_after(cf_live->write_timeout));
		return;
	}
	if (c->big != NULL) {
		port_unmap(c->big, ING_MAX_ADMIN_BYTES);
		c->big = NULL;
		g_mx_admin_big--;
	}
	cl_done(c);
}

static void
cl_linger(struct cn *c)
{
	char sink[4096];
	if (c->flags & CNF_SHUT_LATER) { /* writable: push what TLS holds, then shut */
		if (cn_write(c, "", 0) == ING_ERR) {
			rs_abort(c, RSN_CLIENT_CLOSED, "client write error");
			return;
		}
		if (tls_busy(c->tls))
			return;
		c->flags = (uint16_t)((c->flags & ~(CNF_SHUT_LATER | CNF_WANT_WRITE)) | CNF_WANT_READ);
		port_shutdown_write(c->fd);
		cn_deadline(c, tk_after(HP_LINGER_MS));
	}
	for (int i = 0; i < HP_LINGER_READS; i++) {
		ssize_t r = cn_read(c, sink, sizeof sink);
		if (r == ING_WAIT)
			return;
		if (r <= 0)
			break;
	}
	cn_close(c, "done");
}

static void
cl_io(struct cn *c)
{
	switch (c->state) {
	case CS_IDLE:
	case CS_HEAD:
		cl_read(c);
		break;
	case CS_LOCAL:
		cl_write(c);
		if (!c->closing && (c->state == CS_IDLE || c->state == CS_HEAD))
			cl_advance(c);
		break;
	case CS_LINGER:
		cl_linger(c);
		break;
	case CS_AUTH: /* its check answered (au_run): the cache answers now */
		cn_set_state(c, CS_HEAD);
		c->flags |= CNF_RESUME;
		cl_advance(c);
		break;
	case CS_PROXY:
	case CS_TUNNEL:
		up_client_io(c);
		break;
	case CS_PPHDR:
		pp_read(c);
		break;
	}
}

static void
cl_timeout(struct cn *c)
{
	switch (c->state) {
	case CS_HEAD:
		rs_error(c, 408, RSN_CLIENT_TIMEOUT, "client too slow to send its head (readTimeout)");
		break;
	case CS_IDLE:
		cn_close(c, "idle timeout");
		break;
	case CS_LOCAL:
		rs_abort(c, RSN_CLIENT_TIMEOUT, "client too slow to read (writeTimeout)");
		break;
	case CS_PPHDR:
		pp_timeout(c);
		break;
	default:
		cn_close(c, "timeout");
		break;
	}
}

/* ===== 13. route lookup =============================================== rt_
 * Host first (a hash lookup for the exact name and for the wildcard of its
 * parent domain, plus the host-less routes), then the paths of each in
 * order; the best of the three candidates wins. Never a scan of every
 * route. Paths are matched in RFC 3986 normal form: %XX of unreserved
 * characters decoded, dot-segments removed; so /%61dmin and /x/../admin
 * meet the /admin route and its policy, as the pod will understand them.
 */
/* Host header to the routing name: lower case, no port, no trailing dot. */
static size_t
rt_host_norm(struct ing_str h, char *out, size_t cap)
{
	size_t n = h.n;
	if (n > 0 && h.p[0] == '[') { /* [v6]:port */
		const char *rb = memchr(h.p, ']', n);
		n = rb ? (size_t)(rb - h.p + 1) : n;
	} else {
		const char *colon = memchr(h.p, ':', n);
		if (colon != NULL)
			n = (size_t)(colon - h.p);
	}
	if (n > 0 && h.p[n - 1] == '.')
		n--;
	if (n >= cap)
		return 0;
	for (size_t i = 0; i < n; i++)
		out[i] = (char)tolower((unsigned char)h.p[i]);
	out[n] = '\0';
	return n;
}

static int
rt_hexval(int c)
{
	return isdigit(c) ? c - '0' : (c >= 'a' && c <= 'f') ? c - 'a' + 10 : (c >= 'A' && c <= 'F') ? c - 'A' + 10 : -1;
}

/* A path segment that is empty or a dot-segment once its parameters
 * (";...") are dropped: "", ".", "..", "..;x". */
static int
rt_seg_dotty(const char *p, size_t n)
{
	const char *semi = memchr(p, ';', n);
	if (semi != NULL)
		n = (size_t)(semi - p);
	return n == 0 || (n == 1 && p[0] == '.') || (n == 2 && p[0] == '.' && p[1] == '.');
}

/* The length of an encoded separator at p (%2F, or %5C that Windows and
 * Tomcat servers read as '/'), after normalization upper-cased it; or 0. */
static size_t
rt_enc_sep(const char *p, size_t n)
{
	return n >= 3 && p[0] == '%' && ((p[1] == '2' && p[2] == 'F') || (p[1] == '5' && p[2] == 'C')) ? 3 : 0;
}

/* Normalizes the path of target (up to '?') into out: %XX of unreserved
 * characters decoded (others upper-cased), "//" merged (nginx's
 * merge_slashes), dot-segments removed (RFC 3986 5.2.4). This is what the
 * pod is sent, so it reads the path ingressd routed. Refused (ING_ERR,
 * *why): a bad % escape, an encoded NUL, a dot-segment with parameters
 * ("/..;/", which Tomcat resolves), and an encoded slash next to an empty
 * or dot segment ("..%2F", "/%2F"), which servers that decode %2F before
 * routing (Go's Path, WSGI) would resolve. *query points at the '?' part
 * (or is empty). Returns the length. */
static int
rt_path_norm(struct ing_str target, char *out, size_t cap, struct ing_str *query, const char **why)
{
	size_t n = 0, i = 0;
	const char *q = memchr(target.p, '?', target.n);
	size_t plen = q ? (size_t)(q - target.p) : target.n;
	*query = q ? (struct ing_str){q, target.n - plen} : (struct ing_str){"", 0};
	*why = "bad percent-encoding in the path";
	if (plen == 0 || target.p[0] != '/') {
		/* "*" (OPTIONS) */
		if (plen >= cap)
			return ING_ERR;
		memcpy(out, target.p, plen);
		out[plen] = '\0';
		return (int)plen;
	}
	while (i < plen) {
		char c = target.p[i];
		if (c == '%') {
			int hi, lo;
			if (i + 2 >= plen)
				return ING_ERR;
			if ((hi = rt_hexval((unsigned char)target.p[i + 1])) < 0 || (lo = rt_hexval((unsigned char)target.p[i + 2])) < 0)
				return ING_ERR;
			int v = hi << 4 | lo;
			if (v == 0)
				return ING_ERR;
			if (n + 3 >= cap)
				return ING_ERR;
			if (isalnum(v) || v == '-' || v == '.' || v == '_' || v == '~') {
				out[n++] = (char)v; /* unreserved: the same character */
			} else {
				static const char hex[] = "0123456789ABCDEF";
				out[n++] = '%';
				out[n++] = hex[v >> 4];
				out[n++] = hex[v & 15];
			}
			i += 3;
			continue;
		}
		if (n + 1 >= cap)
			return ING_ERR;
		if (c != '/' || n == 0 || out[n - 1] != '/')
			out[n++] = c;
		i++;
	}
	out[n] = '\0';
	/* remove dot-segments (RFC 3986 5.2.4), in place */
	size_t r = 0, w = 0;
	while (r < n) {
		if (out[r] == '/' && r + 1 < n && out[r + 1] == '.') {
			size_t e = r + 1;
			while (e < n && out[e] != '/')
				e++;
			if (rt_seg_dotty(out + r + 1, e - r - 1) && memchr(out + r + 1, ';', e - r - 1) != NULL) {
				*why = "dot-segment with parameters in the path";
				return ING_ERR;
			}
		}
		if (out[r] == '/' && r + 1 < n && out[r + 1] == '.' && (r + 2 == n || out[r + 2] == '/')) {
			r += 2; /* "/." */
			if (r == n)
				out[w++] = '/';
			continue;
		}
		if (out[r] == '/' && r + 2 < n && out[r + 1] == '.' && out[r + 2] == '.' && (r + 3 == n || out[r + 3] == '/')) {
			r += 3; /* "/..": drop the last output segment */
			while (w > 0 && out[w - 1] != '/')
				w--;
			if (w > 0)
				w--;
			if (r == n)
				out[w++] = '/';
			continue;
		}
		do
			out[w++] = out[r++];
		while (r < n && out[r] != '/');
	}
	if (w == 0)
		out[w++] = '/';
	out[w] = '\0';
	/* pieces between separators, literal or encoded: none next to an
	 * encoded one may be empty or a dot-segment */
	int enc_left = 0;
	for (size_t a = 0, k = memchr(out, '%', w) != NULL ? 0 : w + 1; k <= w; k++) {
		size_t es = k < w ? rt_enc_sep(out + k, w - k) : 0;
		if (k < w && out[k] != '/' && es == 0)
			continue;
		if ((enc_left || es > 0) && rt_seg_dotty(out + a, k - a)) {
			*why = "encoded slash next to an empty or dot segment in the path";
			return ING_ERR;
		}
		enc_left = es > 0;
		k += es > 0 ? es - 1 : 0;
		a = k + 1;
	}
	return (int)w;
}

/* The path routes are matched by: the normalized path read the way the
 * strictest pods read it - path parameters (";..." to the next '/')
 * dropped, as Tomcat, Spring and Jetty do before they route, and %2F and
 * %5C taken as '/', as Go (URL.Path), WSGI and nginx's own location
 * matching do - so /admin;jsessionid=1 and /admin%2Fx meet /admin and its
 * policy. (rt_path_norm refused the forms where this could climb out of
 * a segment.) Writes it to out (as long as fwd at most) and returns its
 * length; with upto below that, returns instead the offset in fwd where
 * the first upto bytes of it end, parameters after them included (what a
 * *Strip rule removes). */
static size_t
rt_match_form(const char *fwd, size_t n, char *out, size_t upto)
{
	size_t i = 0, w = 0;
	while (i < n) {
		if (w == upto) {
			while (i < n && fwd[i] == ';')
				while (i < n && fwd[i] != '/')
					i++;
			return i;
		}
		if (fwd[i] == ';') {
			while (i < n && fwd[i] != '/')
				i++;
			continue;
		}
		size_t es = rt_enc_sep(fwd + i, n - i);
		char ch = es > 0 ? '/' : fwd[i];
		if (ch != '/' || w == 0 || out[w - 1] != '/') /* "/;x/" leaves no empty segment */
			out[w++] = ch;
		i += es > 0 ? es : 1;
	}
	return upto == (size_t)-1 ? w : i;
}

static int
rt_path_match(const struct rt_table *t, const struct rt_route *r, const char *p, size_t n)
{
	int cap[2 * RX_GROUPS];
	if (r->match == MT_REGEX)
		return rx_exec(t->rx + r->rx, p, (int)n, 0, cap);
	if (r->path_len == 0)
		return 1;
	if (n < r->path_len || memcmp(p, r->path, r->path_len) != 0)
		return 0;
	switch (r->match) {
	case MT_EXACT: return n == r->path_len;
	case MT_PREFIX: return n == r->path_len || p[r->path_len] == '/';
	default: return 1;
	}
}

static int
rt_walk(const struct rt_table *t, int first, const char *p, size_t n, int ep)
{
	for (int i = first; i >= 0; i = t->routes[i].next)
		if ((t->routes[i].ep_mask >> ep & 1) && rt_path_match(t, &t->routes[i], p, n))
			return i;
	return -1;
}

/* The route for host (normalized) and path on entry point ep, or NULL. */
static const struct rt_route *
rt_lookup(const struct rt_table *t, const char *host, const char *p, size_t n, int ep)
{
	int cand[3], best = -1;
	int h = host[0] ? rb_host((struct rt_table *)t, host, 0, 0) : -1;
	const char *dot = strchr(host, '.');
	int w = dot && dot[1] ? rb_host((struct rt_table *)t, dot + 1, 1, 0) : -1;
	cand[0] = h >= 0 ? rt_walk(t, t->hosts[h].first, p, n, ep) : -1;
	cand[1] = w >= 0 ? rt_walk(t, t->hosts[w].first, p, n, ep) : -1;
	cand[2] = rt_walk(t, t->any_first, p, n, ep);
	for (int i = 0; i < 3; i++)
		if (cand[i] >= 0 && (best < 0 || rb_cmp_order(t, &t->routes[cand[i]], &t->routes[best]) < 0))
			best = cand[i];
	return best >= 0 ? &t->routes[best] : NULL;
}

/* ===== 14. source whitelist and rate limits ========================= wl_ rl_
 * ingress.kubernetes.io/whitelist-source-range, checked against the client
 * address (pp_client: the peer, or what a trusted proxy says), before auth.
 * The rate and connection limits (nginx's and Traefik's) keep their state
 * per key in a fixed table (rl_, below). A list that has an
 * invalid entry denies everyone (Traefik 1.5-1.6 allowed everyone; the
 * seed documents that): 403, logged once, counted;
 * [kubernetes] whitelistInvalidAllowAll = true restores the seed's way.
 * Short lists are scanned; long ones are grouped by prefix length and
 * binary searched (a few probes for hundreds of entries).
 */
#define WL_SCAN_MAX 8

static int
wl_cmp(const void *a, const void *b)
{
	const struct rt_cidr *x = a, *y = b;
	if (x->family != y->family)
		return x->family - y->family;
	if (x->bits != y->bits)
		return y->bits - x->bits; /* longest prefix first */
	return memcmp(x->ip, y->ip, 16);
}

static void
wl_mask(const uint8_t *ip, int bits, uint8_t out[16])
{
	memset(out, 0, 16);
	for (int i = 0; i < 16 && bits > 0; i++, bits -= 8)
		out[i] = ip[i] & (bits >= 8 ? 0xff : (uint8_t)(0xff << (8 - bits)));
}

/* May peer pass policy p's whitelist? */
static int
wl_allow(const struct rt_cidr *cidrs, int n, int state, const struct ing_addr *peer)
{
	uint8_t m[16];
	if (state == WL_OPEN)
		return 1;
	if (state == WL_DENY)
		return 0;
	if (n <= WL_SCAN_MAX) {
		for (int i = 0; i < n; i++) {
			wl_mask(peer->ip, cidrs[i].bits, m);
			if (cidrs[i].family == peer->family && memcmp(m, cidrs[i].ip, 16) == 0)
				return 1;
		}
		return 0;
	}
	for (int g0 = 0; g0 < n;) { /* one group per (family, prefix length) */
		int g1 = g0;
		while (g1 < n && cidrs[g1].family == cidrs[g0].family && cidrs[g1].bits == cidrs[g0].bits)
			g1++;
		if (cidrs[g0].family == peer->family) {
			wl_mask(peer->ip, cidrs[g0].bits, m);
			int lo = g0, hi = g1;
			while (lo < hi) {
				int mid = (lo + hi) / 2, c = memcmp(cidrs[mid].ip, m, 16);
				if (c == 0)
					return 1;
				if (c < 0)
					lo = mid + 1;
				else
					hi = mid;
			}
		}
		g0 = g1;
	}
	return 0;
}

/* A peer against a policy: in every whitelist that is set, in no denylist. */
static int
wl_pass(const struct rt_table *t, const struct rt_policy *p, const struct ing_addr *peer)
{
	for (int i = 0; i < 2; i++)
		if (!wl_allow(&t->cidrs[p->wl[i].first], p->wl[i].n, p->wl[i].state, peer))
			return 0;
	return p->deny.state == WL_OPEN ||
	       (p->deny.state == WL_LIST && !wl_allow(&t->cidrs[p->deny.first], p->deny.n, WL_LIST, peer));
}

/* The limits, per key in one fixed table (ING_MAX_RATE_KEYS; the least
 * recently used idle key makes room, counted): nginx's limit-rps, -rpm and
 * -connections per (Ingress, client address), Traefik's rate-limit and
 * max-conn per (route, what its extractorfunc names). IPv6 clients are
 * keyed by their /64 (rateLimitIPv6Prefix): one host holds a whole /64.
 * Every rate is a token bucket (nginx's leaky bucket with nodelay counts
 * alike): a request takes a token from each, or from none when one is
 * empty. */
struct rl_entry {
	uint32_t hash;  /* of scope and key; 0: free */
	uint32_t scope; /* the Ingress, or the route and the limit */
	uint8_t key[17]; /* address family and prefix, or 'h' and a digest of a Host or header value */
	int next;            /* hash chain */
	int older, newer;    /* LRU list */
	uint32_t conns;      /* requests in flight */
	int64_t used[ING_MAX_RATESET]; /* milli-tokens taken from each bucket and not refilled by `at` */
	uint64_t at;
};
static struct {
	int bucket[ING_MAX_RATE_KEYS];
	struct rl_entry e[ING_MAX_RATE_KEYS];
	int hwm, used, oldest, newest;
	uint64_t evictions;
	int ready;
	uint8_t salt[32]; /* for the digests of Host and header values, random per process */
	int have_salt;
} g_rl;

static void
rl_unlink(int i)
{
	struct rl_entry *x = &g_rl.e[i];
	if (x->older >= 0)
		g_rl.e[x->older].newer = x->newer;
	else
		g_rl.oldest = x->newer;
	if (x->newer >= 0)
		g_rl.e[x->newer].older = x->older;
	else
		g_rl.newest = x->older;
}

static void
rl_touch(int i)
{
	struct rl_entry *x = &g_rl.e[i];
	x->older = g_rl.newest;
	x->newer = -1;
	if (g_rl.newest >= 0)
		g_rl.e[g_rl.newest].newer = i;
	else
		g_rl.oldest = i;
	g_rl.newest = i;
}

/* The entry of (scope, key), made when there is none: -1 when the table
 * is full of keys with requests in flight. */
static int
rl_entry(uint32_t scope, const uint8_t key[17])
{
	uint32_t h = str_fnv(scope, key, 17) | 1;
	int *slot = &g_rl.bucket[h % ING_MAX_RATE_KEYS], i;
	if (!g_rl.ready) {
		for (int k = 0; k < ING_MAX_RATE_KEYS; k++)
			g_rl.bucket[k] = -1;
		g_rl.oldest = g_rl.newest = -1;
		g_rl.ready = 1;
	}
	for (i = *slot; i >= 0; i = g_rl.e[i].next)
		if (g_rl.e[i].hash == h && g_rl.e[i].scope == scope && !memcmp(g_rl.e[i].key, key, 17)) {
			rl_unlink(i);
			rl_touch(i);
			return i;
		}
	if (g_rl.hwm < ING_MAX_RATE_KEYS) {
		i = g_rl.hwm++;
	} else { /* the least recently used idle one, a few looked at */
		i = g_rl.oldest;
		for (int n = 0; i >= 0 && g_rl.e[i].conns > 0 && n < 8; n++)
			i = g_rl.e[i].newer;
		if (i < 0 || g_rl.e[i].conns > 0) {
			log_limit(LIM_RATE_KEYS, "rl: keys with limit state");
			return -1;
		}
		int *p = &g_rl.bucket[g_rl.e[i].hash % ING_MAX_RATE_KEYS];
		while (*p != i)
			p = &g_rl.e[*p].next;
		*p = g_rl.e[i].next;
		rl_unlink(i);
		g_rl.evictions++;
	}
	struct rl_entry *x = &g_rl.e[i];
	memset(x, 0, sizeof *x);
	x->hash = h;
	x->scope = scope;
	memcpy(x->key, key, 17);
	x->next = *slot;
	*slot = i;
	x->at = g.now;
	rl_touch(i);
	return i;
}

/* The key of what extractor `by` names in request m: the client address
 * (IPv6 by its prefix), or a salted digest of the Host or header hdr (the
 * value absent: "", as Traefik). 0, or ING_ERR when no digest can be made. */
static int
rl_key(const struct hp_msg *m, const struct ing_addr *client, int by, const char *hdr, uint8_t key[17])
{
	memset(key, 0, 17);
	if (by == RK_CLIENT) {
		int bits = client->family == 6 ? cf_live->rl_v6_prefix : 32;
		key[0] = client->family;
		for (int i = 0; i < 16 && bits > 0; i++, bits -= 8)
			key[1 + i] = client->ip[i] & (uint8_t)(bits >= 8 ? 0xff : 0xff << (8 - bits));
		return 0;
	}
	struct ing_str v = by == RK_HOST ? m->host : hp_header(m, hdr);
	struct ing_hash h;
	uint8_t d[32];
	if ((!g_rl.have_salt && port_random(g_rl.salt, sizeof g_rl.salt) != 0) || tls_hash_init(&h, ING_HASH_SHA256) != 0)
		return ING_ERR;
	g_rl.have_salt = 1;
	tls_hash_update(&h, g_rl.salt, sizeof g_rl.salt);
	tls_hash_update(&h, (const char[]){(char)by}, 1);
	tls_hash_update(&h, v.p ? v.p : "", v.n);
	tls_hash_out(&h, d);
	key[0] = 'h';
	memcpy(key + 1, d, 16);
	return 0;
}

/* One request against the limits of (scope, key): n rates, and conns (0:
 * none) in flight. RSN_NONE, its request then counted in flight in
 * c->rl[slot] until mx_done; or why not, with *wait_ms until a token. */
static enum rsn
rl_take(struct cn *c, int slot, uint32_t scope, const uint8_t key[17], const struct rl_rate *r, int n, uint32_t conns,
        uint64_t *wait_ms)
{
	int i = rl_entry(scope, key);
	if (i < 0)
		return RSN_NO_SLOT;
	struct rl_entry *x = &g_rl.e[i];
	int64_t used[ING_MAX_RATESET];
	uint64_t dt = ING_MIN(g.now - x->at, (uint64_t)1 << 30);
	*wait_ms = 0;
	for (int k = 0; k < n; k++) { /* refilled since `at`, then one more taken */
		used[k] = ING_MAX(x->used[k] - (int64_t)(dt * r[k].avg * 1000 / r[k].period_ms), (int64_t)0) + 1000;
		int64_t over = used[k] - (int64_t)r[k].burst * 1000;
		if (over > 0)
			*wait_ms = ING_MAX(*wait_ms, ((uint64_t)over * r[k].period_ms + r[k].avg * 1000ull - 1) / (r[k].avg * 1000ull));
	}
	if (*wait_ms > 0)
		return RSN_RATE_LIMIT; /* nothing taken from any bucket */
	if (conns && x->conns >= conns)
		return RSN_CONN_LIMIT;
	memcpy(x->used, used, (size_t)n * sizeof used[0]);
	x->at = g.now;
	if (conns) {
		x->conns++;
		c->rl[slot] = i;
	}
	return RSN_NONE;
}

/* nginx's limits for client c's request: 0 to go on, or why it gets 503. */
static enum rsn
rl_check(struct cn *c, const struct rt_table *t, const struct rt_policy *pol, const struct ing_addr *client)
{
	uint8_t key[17];
	uint64_t wait;
	if ((!pol->ngx_n && !pol->conns) ||
	    (pol->lim_wl.state == WL_LIST && wl_allow(&t->cidrs[pol->lim_wl.first], pol->lim_wl.n, WL_LIST, client)))
		return RSN_NONE;
	rl_key(NULL, client, RK_CLIENT, NULL, key);
	return rl_take(c, 0, st_hash(pol->ns, pol->name), key, pol->ngx, pol->ngx_n, pol->conns, &wait);
}

/* Client c's request is over: it is no longer in flight. */
static void
rl_done(struct cn *c)
{
	for (int s = 0; s < 2; s++) {
		if (c->rl[s] >= 0 && g_rl.e[c->rl[s]].conns > 0)
			g_rl.e[c->rl[s]].conns--;
		c->rl[s] = -1;
	}
}

/* ===== 15. basic auth ================================================= au_
 * ingress.kubernetes.io/auth-type: basic with auth-secret: a Secret of the
 * Ingress's namespace with exactly one data key holding htpasswd lines.
 * bcrypt, MD5-crypt and {SHA}; plain text and DES crypt never match. Fails
 * closed: a missing or malformed Secret, or no right to read Secrets,
 * answers 401 to everyone (Traefik 1.3-1.6 served such routes open).
 * bcrypt at cost 10 costs tens of ms on an ARM board and the loop has one
 * thread, so verifications are cached (keyed by a per-process salt, the
 * hash, the user and the password: no plaintext kept; a changed hash is a
 * new key) and slow checks get a time budget per second, past which the
 * answer is 429 instead of a stalled loop.
 * Limits: ING_MAX_USERS.
 */
#define AU_CACHE_SETS 64
#define AU_CACHE_WAYS 8
#define AU_OK_TTL_MS 600000   /* a verified password is trusted this long */
#define AU_BAD_TTL_MS 10000   /* the same wrong password costs nothing this long */
#define AU_BUDGET_MS 200      /* bcrypt work per second of wall time, at most */
#define AU_SLICE_MS 2         /* bcrypt work per loop turn: the longest stall it causes */
#define AU_SLICE_ROUNDS 8     /* ExpandKey rounds between looks at the clock */
#define AU_SLICE_BATCHES 32   /* and at most this many looks per turn */
#define AU_MAX_AUTH_HEADER 1024
#define AU_USER_KEYS 16       /* users whose salted (hash, name) digest is kept */

#define AU_BF_WORDS (18 + 4 * 256) /* P-array, then the four S-boxes */

struct au_bf {
	uint32_t w[AU_BF_WORDS];
};

struct au_bcrypt { /* a check in progress (au_bcrypt_start, _step) */
	struct au_bf c;
	uint32_t kw[18], sw[18];
	uint32_t left; /* ExpandKey rounds to go */
	unsigned char want[23];
};

/* A slow check waiting for its turn: clients in CS_AUTH name it in cn.ctx
 * and are dispatched again from the cache when it answers. */
struct au_job {
	struct au_bcrypt b;
	uint8_t key[32]; /* its cache key: who else asks the same waits too */
	uint8_t used, dummy; /* dummy: an unknown user's check, never a match */
};

struct au_ukey { /* SHA-256(salt, hash, name) of one user */
	char name[sizeof(((struct rt_user *)0)->name)];
	char hash[sizeof(((struct rt_user *)0)->hash)];
	uint8_t d[32];
};

static struct {
	struct {
		uint8_t key[32];
		uint64_t until;
		uint8_t ok, used;
	} cache[AU_CACHE_SETS][AU_CACHE_WAYS];
	struct au_ukey ukey[AU_USER_KEYS]; /* direct-mapped by name */
	uint8_t salt[32];
	int have_salt;
	struct au_job job[ING_MAX_AUTH_CHECKS];
	int njobs, rr;
	int64_t tokens;     /* budget left, us: AU_BUDGET_MS per second, at most that */
	uint64_t tokens_at; /* when the budget was last refilled, ms */
	uint64_t ok, bad, cached, throttled, hashes;
} g_au;

/*
 * htpasswd hash verification: bcrypt ($2a$ $2b$ $2y$), MD5-crypt ($1$
 * $apr1$) and {SHA}. Everything else (plain text, DES crypt, $2x$, $5$, $6$,
 * argon2) is ING_ERR: the caller logs "unsupported hash format" and the
 * route fails closed. MD5 and SHA-1 come from the TLS port (tls_hash_*);
 * Blowfish is here because no TLS library ships it.
 *
 * Checks return 1 (match), 0 (mismatch) or ING_ERR (malformed or
 * unsupported hash, or no hash in the TLS port). The hash is parsed in full
 * before any work is done and is never read past hlen. The password is
 * bytes (pass, plen); it needs no NUL. Entry points: au_check() per request,
 * au_hash_error() when a Secret is loaded, au_hash_kind() for log lines,
 * au_b64_decode() for Secret data and the Authorization header.
 */

/* bcrypt doubles its work per cost step: cost 12 takes 0.27 s on an x86
 * server core and several times that on an ARM board. Higher costs would
 * stall the single-threaded proxy for seconds per check, so such hashes
 * are refused (ING_ERR) rather than slowly honoured. */
#ifndef AU_MAX_BCRYPT_COST
#define AU_MAX_BCRYPT_COST 12
#endif
_Static_assert(AU_MAX_BCRYPT_COST >= 4 && AU_MAX_BCRYPT_COST <= 31,
    "AU_MAX_BCRYPT_COST must be a bcrypt cost (4..31)");

enum { AU_NONE, AU_BCRYPT, AU_MD5CRYPT, AU_SHA1 };
enum { AU_B64_STD, AU_B64_BCRYPT, AU_B64_CRYPT };

/* Volatile stores are observable behaviour: the compiler must keep them
 * even though the buffer dies right after. */
static void
au_wipe(void *p, size_t n)
{
	volatile unsigned char *v = p;

	while (n-- > 0)
		*v++ = 0;
}

static int
au_ct_eq(const void *a, const void *b, size_t n)
{
	const unsigned char *x = a, *y = b;
	unsigned d = 0;

	for (size_t i = 0; i < n; i++)
		d |= (unsigned)(x[i] ^ y[i]);
	return (int)(((d - 1) >> 8) & 1); /* d == 0 -> 1, 1..255 -> 0 */
}

static int
au_prefix(const char *s, size_t n, const char *pre)
{
	size_t k = strlen(pre);

	return n >= k && memcmp(s, pre, k) == 0;
}

/* The password hashes themselves (base64, Blowfish and bcrypt, MD5-crypt,
 * {SHA}) are in the appendix at the end of the file: the request path
 * reads without them. */
static int au_kind(const char *hash, size_t hlen);
static int au_bcrypt_parse(const char *hash, size_t hlen, unsigned *cost, unsigned char salt[16], unsigned char want[23]);
static int au_bcrypt_start(struct au_bcrypt *b, const char *pass, size_t plen, const char *hash, size_t hlen);
static int au_bcrypt_step(struct au_bcrypt *b, uint32_t rounds);
static int au_bcrypt_check(const char *pass, size_t plen, const char *hash, size_t hlen);
static int au_md5crypt_check(const char *pass, size_t plen, const char *hash, size_t hlen);
static int au_sha_check(const char *pass, size_t plen, const char *hash, size_t hlen);

/* For the Secret loader, which should refuse a user whose hash can never
 * be checked and say why: NULL if the hash is usable in this build, else
 * the reason. Cheap: bcrypt is only parsed; the others run once. */
static const char *
au_hash_error(const char *hash, size_t hlen)
{
	struct ing_hash h;
	unsigned char salt[16], want[23];
	unsigned cost;
	int kind = au_kind(hash, hlen);

	switch (kind) {
	case AU_BCRYPT:
		if (au_bcrypt_parse(hash, hlen, &cost, salt, want) == 0)
			return NULL;
		if (cost > AU_MAX_BCRYPT_COST)
			return "bcrypt cost too high (limit is " ING_STR(AU_MAX_BCRYPT_COST)
			    ", AU_MAX_BCRYPT_COST)";
		return "malformed bcrypt hash";
	case AU_MD5CRYPT:
	case AU_SHA1:
		if (tls_hash_init(&h, kind == AU_SHA1 ? ING_HASH_SHA1 : ING_HASH_MD5) == ING_ERR)
			return "no MD5/SHA-1 in this build (TLS=none)";
		if (kind == AU_SHA1)
			return au_sha_check("", 0, hash, hlen) == ING_ERR ? "malformed {SHA} hash" : NULL;
		return au_md5crypt_check("", 0, hash, hlen) == ING_ERR ? "malformed md5-crypt hash" : NULL;
	}
	return "unsupported hash format (use htpasswd -B, -m or -s)";
}

/* A user of an htpasswd file or an auth map into u: NULL, or why it is
 * refused (its caller fails closed). u->usable: a hash format ingressd
 * verifies. The name may go to a pod in a header: no control bytes. */
static const char *
au_user(struct ing_str name, struct ing_str hash, struct rt_user *u)
{
	memset(u, 0, sizeof *u);
	if (name.n == 0)
		return "empty user name";
	for (size_t i = 0; i < name.n; i++)
		if ((unsigned char)name.p[i] < 0x20 || name.p[i] == 0x7f)
			return "a control byte in the user name";
	if (str_copy(u->name, sizeof u->name, name) != 0 || str_copy(u->hash, sizeof u->hash, hash) != 0)
		return "user or hash too long";
	u->usable = au_hash_error(u->hash, strlen(u->hash)) == NULL;
	return NULL;
}

/* An htpasswd line "user:hash" (exactly one colon), as au_user. */
static const char *
au_user_line(struct ing_str l, struct rt_user *u)
{
	const char *colon = memchr(l.p, ':', l.n);
	memset(u, 0, sizeof *u);
	if (colon == NULL || memchr(colon + 1, ':', (size_t)(l.p + l.n - colon - 1)) != NULL)
		return "not user:hash";
	return au_user((struct ing_str){l.p, (size_t)(colon - l.p)}, (struct ing_str){colon + 1, (size_t)(l.p + l.n - colon - 1)}, u);
}

/* Checks pass against a hash of any supported kind. A password holding a
 * NUL never matches: RFC 7617 forbids control characters, no htpasswd tool
 * can hash one, and C-string verifiers cut it short ("secret\0junk" would
 * pass as "secret"). */
static int
au_check(const char *pass, size_t plen, const char *hash, size_t hlen)
{
	int kind = au_kind(hash, hlen), r;

	switch (kind) {
	case AU_BCRYPT:
		r = au_bcrypt_check(pass, plen, hash, hlen);
		break;
	case AU_MD5CRYPT:
		r = au_md5crypt_check(pass, plen, hash, hlen);
		break;
	case AU_SHA1:
		r = au_sha_check(pass, plen, hash, hlen);
		break;
	default:
		return ING_ERR;
	}
	if (r == 1 && plen > 0 && memchr(pass, '\0', plen) != NULL)
		return 0;
	return r;
}


/* The cache key: a keyed hash of hash, user and password, as
 * SHA-256(SHA-256(salt, hash, name), password). The inner digest is kept
 * per user (checked against the name and hash it was made of), so a
 * request hashes one block for a password of up to 23 bytes, not two; an
 * unknown name's is not kept (remember 0). */
static int
au_cache_key(const char *hash, struct ing_str name, int remember, const char *pass, size_t plen, uint8_t key[32])
{
	struct ing_hash h;
	uint8_t d[32];
	if (!g_au.have_salt) {
		if (port_random(g_au.salt, sizeof g_au.salt) != 0)
			return ING_ERR;
		g_au.have_salt = 1;
	}
	uint32_t x = str_fnv(FNV_SEED, name.p, name.n);
	struct au_ukey *k = &g_au.ukey[x % AU_USER_KEYS];
	remember &= name.n < sizeof k->name;
	if (!remember || !str_eq(name, k->name) || strcmp(k->hash, hash) != 0 || k->name[0] == '\0') {
		if (tls_hash_init(&h, ING_HASH_SHA256) != 0)
			return ING_ERR;
		tls_hash_update(&h, g_au.salt, sizeof g_au.salt);
		tls_hash_update(&h, hash, strlen(hash) + 1);
		tls_hash_update(&h, name.p, name.n);
		tls_hash_update(&h, "", 1);
		tls_hash_out(&h, d);
		if (remember) {
			memcpy(k->d, d, sizeof d);
			memcpy(k->name, name.p, name.n);
			k->name[name.n] = '\0';
			ing_snprintf(k->hash, sizeof k->hash, "%s", hash);
		}
	} else {
		memcpy(d, k->d, sizeof d);
	}
	if (tls_hash_init(&h, ING_HASH_SHA256) != 0)
		return ING_ERR;
	tls_hash_update(&h, d, sizeof d);
	tls_hash_update(&h, pass, plen);
	tls_hash_out(&h, key);
	return 0;
}

/* The cached answer for key (1 right, 0 wrong), or -1. */
static int
au_cache_get(const uint8_t key[32])
{
	int set = key[0] % AU_CACHE_SETS;
	for (int w = 0; w < AU_CACHE_WAYS; w++)
		if (g_au.cache[set][w].used && g_au.cache[set][w].until > g.now && au_ct_eq(g_au.cache[set][w].key, key, 32))
			return g_au.cache[set][w].ok;
	return -1;
}

static void
au_cache_put(const uint8_t key[32], int ok)
{
	int set = key[0] % AU_CACHE_SETS, victim = 0;
	for (int w = 0; w < AU_CACHE_WAYS; w++)
		if (!g_au.cache[set][w].used || g_au.cache[set][w].until < g_au.cache[set][victim].until)
			victim = w;
	memcpy(g_au.cache[set][victim].key, key, 32);
	g_au.cache[set][victim].ok = (uint8_t)ok;
	g_au.cache[set][victim].used = 1;
	g_au.cache[set][victim].until = g.now + (ok ? AU_OK_TTL_MS : AU_BAD_TTL_MS);
}

/* Checks pass for the name presented: u is that user, or for an unknown
 * name a stand-in of the route's (dummy), whose answer is never a match
 * but costs the same, so the time taken does not tell which names exist.
 * 1 right, 0 wrong, 429 no room to queue a check; ING_WAIT: a bcrypt check
 * is queued (au_run) and client c waits for it in CS_AUTH. Without a
 * client (tests) every check runs at once. */
static int
au_verify(struct cn *c, const struct rt_user *u, struct ing_str name, int dummy, const char *pass, size_t plen)
{
	uint8_t key[32];
	int r, j, free_j = -1;
	if (!u->usable || au_cache_key(u->hash, name, !dummy, pass, plen, key) != 0)
		return 0;
	if ((r = au_cache_get(key)) >= 0) {
		g_au.cached++;
		return r;
	}
	if (c == NULL || au_kind(u->hash, strlen(u->hash)) != AU_BCRYPT) { /* MD5-crypt, {SHA}: well under 1 ms */
		r = au_check(pass, plen, u->hash, strlen(u->hash)) == 1 && !dummy;
		g_au.hashes++;
		au_cache_put(key, r);
		au_wipe(key, sizeof key);
		return r;
	}
	/* one check per key: who asks the same while it runs waits for it */
	for (j = 0; j < ING_MAX_AUTH_CHECKS; j++) {
		if (g_au.job[j].used && au_ct_eq(g_au.job[j].key, key, 32))
			break;
		if (!g_au.job[j].used && free_j < 0)
			free_j = j;
	}
	if (j == ING_MAX_AUTH_CHECKS) {
		if ((j = free_j) < 0) {
			log_limit(LIM_AUTH_CHECKS, "au: bcrypt checks queued");
			g_au.throttled++;
			return 429;
		}
		if (ING_NEVER(au_bcrypt_start(&g_au.job[j].b, pass, plen, u->hash, strlen(u->hash)) != 0))
			return 0; /* usable hashes parse */
		memcpy(g_au.job[j].key, key, 32);
		g_au.job[j].used = 1;
		g_au.job[j].dummy = (uint8_t)dummy;
		g_au.njobs++;
	}
	au_wipe(key, sizeof key);
	c->ctx = j;
	return ING_WAIT;
}

/* The request's credentials against users[0..nuser): 0 to pass, ING_WAIT
 * when client c waits for a check (au_verify), else the status to answer
 * (401, 429). *matched: the user named, when known (else left alone). */
static int
au_users(struct cn *c, const struct hp_msg *m, const struct rt_user *users, int nuser, int *matched)
{
	unsigned char cred[AU_MAX_AUTH_HEADER];
	struct ing_str v = {NULL, 0};
	int n = 0;
	for (int i = 0; i < m->nh; i++)
		if (str_ieq(m->h[i].name, "authorization")) {
			v = m->h[i].value;
			n++;
		}
	if (n != 1 || v.n < 7 || strncasecmp(v.p, "basic ", 6) != 0)
		return 401;
	struct ing_str b64 = str_trim((struct ing_str){v.p + 6, v.n - 6});
	int len = au_b64_decode(b64.p, b64.n, cred, sizeof cred);
	const unsigned char *colon = len > 0 ? memchr(cred, ':', (size_t)len) : NULL;
	int r = 401;
	if (colon != NULL) {
		struct ing_str name = {(const char *)cred, (size_t)(colon - cred)};
		const struct rt_user *u = NULL, *standin = NULL;
		for (int i = 0; i < nuser && u == NULL; i++) {
			const struct rt_user *x = &users[i];
			if (standin == NULL && x->usable)
				standin = x;
			if (str_eq(name, x->name)) {
				u = x;
				*matched = i;
			}
		}
		if (u != NULL || standin != NULL) {
			int ok = au_verify(c, u ? u : standin, name, u == NULL, (const char *)colon + 1, (size_t)len - name.n - 1);
			r = ok == 1 ? 0 : ok == 429 || ok == ING_WAIT ? ok : 401;
		}
	}
	if (len > 0)
		au_wipe(cred, (size_t)len);
	if (r == 0)
		g_au.ok++;
	else if (r != ING_WAIT)
		g_au.bad++;
	return r;
}

/* The request's credentials against policy p (users[p->user ..]); as
 * au_users, *matched indexing users. */
static int
au_request(struct cn *c, const struct hp_msg *m, const struct rt_user *users, const struct rt_policy *p, int *matched)
{
	if (p->auth == AU_DENY)
		return 401;
	int k = -1, r = au_users(c, m, users + p->user, p->nuser, &k);
	if (k >= 0)
		*matched = k + p->user;
	return r;
}

/* Runs queued bcrypt checks, a few ExpandKey rounds at a time, for at most
 * AU_SLICE_MS of this turn and within the budget (AU_BUDGET_MS per second),
 * so the loop never stalls longer than a slice however costly a hash.
 * A check that answers is cached; its clients are run again (CNF_AGAIN). */
static void
au_run(void)
{
	uint64_t t0 = port_now_ms(), now = t0;
	if (g_au.njobs == 0) {
		g_au.tokens_at = t0;
		return;
	}
	g_au.tokens = ING_MIN(g_au.tokens + (int64_t)(t0 - g_au.tokens_at) * AU_BUDGET_MS / 1000, AU_BUDGET_MS);
	g_au.tokens_at = t0;
	for (int batch = 0; g_au.tokens > 0 && g_au.njobs > 0 && batch < AU_SLICE_BATCHES; batch++) {
		int j = g_au.rr;
		while (!g_au.job[j].used)
			j = (j + 1) % ING_MAX_AUTH_CHECKS;
		g_au.rr = (j + 1) % ING_MAX_AUTH_CHECKS;
		struct au_job *job = &g_au.job[j];
		int r = au_bcrypt_step(&job->b, AU_SLICE_ROUNDS);
		if (r != ING_WAIT) {
			g.now = port_now_ms();
			au_cache_put(job->key, r == 1 && !job->dummy);
			g_au.hashes++;
			job->used = 0;
			g_au.njobs--;
			for (int k = 0; k < g_cn.nactive; k++) {
				struct cn *c = &g_cn.tab[g_cn.active[k]];
				if (c->kind == CN_CLIENT && c->state == CS_AUTH && c->ctx == j) {
					c->flags |= CNF_AGAIN;
					cn_touch(c);
				}
			}
		}
		now = port_now_ms();
		if (now - t0 >= AU_SLICE_MS)
			break;
	}
	g_au.tokens -= (int64_t)(now - t0);
}

/* When au_run has work next (an absolute time), or 0 for none. */
static uint64_t
au_next(void)
{
	if (g_au.njobs == 0)
		return 0;
	if (g_au.tokens > 0)
		return g.now;
	return g.now + (uint64_t)((-g_au.tokens + 1) * 1000 / AU_BUDGET_MS);
}

/* ===== 16. balancing and sticky sessions ============================== lb_
 * Per backend, a state slot that outlives routing-table rebuilds while the
 * backend's server set is unchanged (Traefik rebuilt every balancer on
 * every change). wrr is oxy's interleaved weighted round robin over servers
 * in a deterministic order, so replicas agree. drr is oxy's rebalancer with
 * Traefik's constants: 10 x 1 s counters of 5xx per server, a server is bad
 * above (median + MAD) x 1.5, good ones x4 up to 4096, a 10 s back-off, and
 * a walk back to the original weights when all are alike. Sticky cookies
 * carry a keyed hash of the server, never its address.
 * Limits: ING_MAX_BACKENDS (slots), ING_MAX_SERVERS (server states).
 */
enum { LB_WRR, LB_DRR };
#define LB_BUCKETS 10       /* rolling window: 10 x 1 s */
#define LB_DRR_FACTOR 4
#define LB_DRR_MAX_WEIGHT 4096
#define LB_DRR_BACKOFF_MS 10000
#define LB_TAG_LEN 16       /* sticky cookie value: 16 bytes of HMAC, in hex */

/* A rolling window of 1 s buckets. */
struct lb_win {
	uint64_t sec;  /* the second of bucket [sec % LB_BUCKETS] */
	uint32_t bad[LB_BUCKETS], all[LB_BUCKETS];
	uint16_t seen; /* distinct seconds with traffic (drr readiness) */
};

struct lb_srv {
	uint16_t orig, cur; /* drr weights */
	struct lb_win win;
	uint8_t tag[LB_TAG_LEN];
};

struct lb_state {
	char key[sizeof(((struct rt_backend *)0)->key)];
	uint32_t srv_hash; /* the server set this state is for */
	uint32_t gen;      /* bumped at every reset: stale feedback is ignored */
	uint32_t build;    /* last table that used it */
	uint8_t used, method, sticky;
	char cookie[64];
	int index, cw;     /* wrr position */
	int srv, nsrv;     /* server states in g_lb.srv[g_lb.cur] */
	uint64_t next_rebalance;
	int cb;            /* circuit breaker slot, -1 none */
	uint64_t requests;
};

static struct {
	struct lb_state s[ING_MAX_BACKENDS];
	int n;
	struct lb_srv srv[2][ING_MAX_SERVERS]; /* double-buffered like the tables */
	int cur, nsrv;
	uint8_t key[32]; /* sticky HMAC key, random per process (no stickyKeyFile) */
	int have_key;
	uint8_t tag_key[32]; /* the key of the tags in srv[] */
	uint32_t key_epoch;  /* bumped when it changes: every tag is made again */
	uint64_t rng;        /* lb_rand's state */
} g_lb;

static void cb_sync(struct lb_state *st, const char *expr, const char *who); /* circuit breaker (cb_) */
static void cb_free(int cb);

static uint32_t
lb_srv_hash(const struct rt_table *t, const struct rt_backend *b)
{
	uint32_t h = FNV_SEED;
	for (int i = 0; i < b->nsrv; i++) {
		const struct rt_server *s = &t->servers[b->srv + i];
		h = str_fnv(h, &s->addr, sizeof s->addr);
		h = str_fnv(h, &s->weight, sizeof s->weight);
	}
	return h;
}

/* HMAC-SHA256 (RFC 2104) over the port's hash; 0 or ING_ERR. */
static int
lb_hmac(const uint8_t *key, size_t klen, const void *msg, size_t n, uint8_t out[32])
{
	struct ing_hash h;
	uint8_t pad[64], inner[32];
	if (klen > 64)
		return ING_ERR;
	for (int pass = 0; pass < 2; pass++) {
		memset(pad, pass ? 0x5c : 0x36, sizeof pad);
		for (size_t i = 0; i < klen; i++)
			pad[i] ^= key[i];
		if (tls_hash_init(&h, ING_HASH_SHA256) != 0)
			return ING_ERR;
		tls_hash_update(&h, pad, sizeof pad);
		if (pass == 0)
			tls_hash_update(&h, msg, n);
		else
			tls_hash_update(&h, inner, sizeof inner);
		tls_hash_out(&h, pass ? out : inner);
	}
	return 0;
}

/* Cookie name: Traefik 1.4+'s derived "_" + 5 hex digits of
 * SHA-1("_TRAEFIK_BACKEND_" + backend), or a given one sanitized to token
 * characters, or _TRAEFIK_BACKEND for the legacy sticky=true. */
static void
lb_cookie_name(char *out, size_t cap, const char *given, int legacy, const char *backend)
{
	static const char hex[] = "0123456789abcdef";
	if (given[0] != '\0') {
		size_t i;
		for (i = 0; given[i] && i + 1 < cap; i++)
			out[i] = hp_tchar[(unsigned char)given[i]] ? given[i] : '_';
		out[i] = '\0';
		return;
	}
	if (legacy) {
		ing_snprintf(out, cap, "_TRAEFIK_BACKEND");
		return;
	}
	struct ing_hash h;
	uint8_t d[20];
	if (cap < 7 || tls_hash_init(&h, ING_HASH_SHA1) != 0) {
		ing_snprintf(out, cap, "_TRAEFIK_BACKEND");
		return;
	}
	tls_hash_update(&h, "_TRAEFIK_BACKEND_", 17);
	tls_hash_update(&h, backend, strlen(backend));
	tls_hash_out(&h, d);
	out[0] = '_';
	for (int i = 0; i < 5; i++)
		out[1 + i] = hex[(d[i / 2] >> (i % 2 ? 0 : 4)) & 15];
	out[6] = '\0';
}

/* Gives every backend of t its state slot (kept when the server set is the
 * same), copies the server states to the other buffer, and frees the slots
 * no backend uses any more. */
static void
lb_sync(struct rt_table *t)
{
	int nxt = 1 - g_lb.cur, nsrv = 0;
	if (!g_lb.have_key && port_random(g_lb.key, sizeof g_lb.key) == 0)
		g_lb.have_key = 1;
	const uint8_t *key = cf_live->sticky_keyed ? cf_live->sticky_key : g_lb.have_key ? g_lb.key : NULL;
	if (key != NULL && memcmp(key, g_lb.tag_key, sizeof g_lb.tag_key) != 0) {
		memcpy(g_lb.tag_key, key, sizeof g_lb.tag_key);
		g_lb.key_epoch++;
	}
	for (int i = 0; i < t->nbackends; i++) {
		struct rt_backend *b = &t->backends[i];
		uint32_t h = lb_srv_hash(t, b) ^ g_lb.key_epoch * 0x9e3779b9u; /* a new key: new tags */
		int free_slot = -1, k;
		for (k = 0; k < g_lb.n; k++) {
			if (g_lb.s[k].used && strcmp(g_lb.s[k].key, b->key) == 0)
				break;
			if (!g_lb.s[k].used && free_slot < 0)
				free_slot = k;
		}
		if (k == g_lb.n) {
			k = free_slot >= 0 ? free_slot : g_lb.n++;
			memset(&g_lb.s[k], 0, sizeof g_lb.s[k]);
			memcpy(g_lb.s[k].key, b->key, sizeof b->key);
			g_lb.s[k].used = 1;
			g_lb.s[k].cb = -1;
			g_lb.s[k].srv_hash = h + 1; /* forces the reset below */
		}
		struct lb_state *st = &g_lb.s[k];
		int keep = st->srv_hash == h && st->nsrv == b->nsrv;
		struct lb_srv *dst = &g_lb.srv[nxt][nsrv];
		if (keep) {
			memcpy(dst, &g_lb.srv[g_lb.cur][st->srv], (size_t)b->nsrv * sizeof *dst);
		} else {
			memset(dst, 0, (size_t)b->nsrv * sizeof *dst);
			for (int s = 0; s < b->nsrv; s++) {
				char a[64];
				uint8_t mac[32];
				int n = ing_addr_fmt(&t->servers[b->srv + s].addr, a, sizeof a, 1);
				dst[s].orig = dst[s].cur = t->servers[b->srv + s].weight;
				if (key != NULL && lb_hmac(key, sizeof g_lb.tag_key, a, (size_t)n, mac) == 0)
					memcpy(dst[s].tag, mac, LB_TAG_LEN);
			}
			st->srv_hash = h;
			st->gen++;
			st->index = -1;
			st->cw = 0;
			st->next_rebalance = 0;
		}
		st->srv = nsrv;
		st->nsrv = b->nsrv;
		nsrv += b->nsrv;
		st->build = t->gen;
		b->state = k;
		/* options from the Service's annotations */
		const struct st_svc *svc = st_find(SK_SERVICE, b->ns, b->svc);
		st->method = LB_WRR;
		st->sticky = 0;
		st->cookie[0] = '\0';
		if (svc != NULL) {
			if (!strcasecmp(svc->a_lb_method, "drr"))
				st->method = LB_DRR;
			else if (svc->a_lb_method[0] && strcasecmp(svc->a_lb_method, "wrr") && svc->h.logged != svc->h.gen)
				log_warnx("lb: service %s/%s: load-balancer method \"%s\" is not wrr or drr; using wrr", svc->h.ns,
				          svc->h.name, svc->a_lb_method);
			if (svc->nunsup && svc->h.logged != svc->h.gen)
				log_warnx("lb: service %s/%s: annotations ingressd does not implement, ignored: %s", svc->h.ns,
				          svc->h.name, st_note(svc->unsup));
			int legacy = rb_bool(svc->a_sticky, 0) > 0;
			int on = legacy || rb_bool(svc->a_stickiness, 0) > 0 || !strcasecmp(svc->a_stickiness, "cookie");
			if (on) {
				st->sticky = 1;
				lb_cookie_name(st->cookie, sizeof st->cookie, svc->a_cookie, legacy && !svc->a_stickiness[0], b->key);
			}
			cb_sync(st, svc->a_breaker, b->key);
			((struct st_svc *)svc)->h.logged = svc->h.gen;
		} else {
			cb_sync(st, "", b->key);
		}
	}
	g_lb.cur = nxt;
	g_lb.nsrv = nsrv;
	for (int k = 0; k < g_lb.n; k++)
		if (g_lb.s[k].used && g_lb.s[k].build != t->gen) {
			g_lb.s[k].used = 0;
			cb_free(g_lb.s[k].cb);
			g_lb.s[k].cb = -1;
		}
}

static int
lb_gcd(int a, int b)
{
	while (b) {
		int r = a % b;
		a = b;
		b = r;
	}
	return a;
}

/* oxy's wrr over the state's current weights: the next server index, or
 * -1 when there is none. */
static int
lb_wrr(struct lb_state *st)
{
	struct lb_srv *sv = &g_lb.srv[g_lb.cur][st->srv];
	int gcd = 0, max = 0;
	for (int i = 0; i < st->nsrv; i++) {
		gcd = lb_gcd(gcd, sv[i].cur);
		max = ING_MAX(max, sv[i].cur);
	}
	if (st->nsrv == 0 || max == 0)
		return -1;
	for (int guard = 0; guard < 2 * st->nsrv * (max / gcd + 1); guard++) {
		st->index = (st->index + 1) % st->nsrv;
		if (st->index == 0) {
			st->cw -= gcd;
			if (st->cw <= 0)
				st->cw = max;
		}
		if (sv[st->index].cur >= st->cw)
			return st->index;
	}
	return 0;
}

/* The server a sticky cookie names, or -1. */
static int
lb_sticky_find(struct lb_state *st, const struct hp_msg *m)
{
	struct ing_str v = hp_cookie(m, st->cookie);
	uint8_t tag[LB_TAG_LEN];
	if (v.n != 2 * LB_TAG_LEN)
		return -1;
	for (int k = 0; k < LB_TAG_LEN; k++) {
		int hi = rt_hexval((unsigned char)v.p[2 * k]), lo = rt_hexval((unsigned char)v.p[2 * k + 1]);
		if (hi < 0 || lo < 0)
			return -1;
		tag[k] = (uint8_t)(hi << 4 | lo);
	}
	for (int s = 0; s < st->nsrv; s++)
		if (memcmp(g_lb.srv[g_lb.cur][st->srv + s].tag, tag, LB_TAG_LEN) == 0)
			return s;
	return -1;
}

/* A draw in [0, n), n > 0 (xorshift64*; splits and canaries only need
 * their proportions, as nginx's math.random gave). */
static uint32_t
lb_rand(uint32_t n)
{
	if (g_lb.rng == 0 && (port_random(&g_lb.rng, sizeof g_lb.rng) != 0 || g_lb.rng == 0))
		g_lb.rng = g.now | 1;
	g_lb.rng ^= g_lb.rng >> 12;
	g_lb.rng ^= g_lb.rng << 25;
	g_lb.rng ^= g_lb.rng >> 27;
	return (uint32_t)((g_lb.rng * 0x2545f4914f6cdd1dull) >> 32) % n;
}

/* nginx's canary rules for request m: 1 to the canary, 0 not. The header
 * first (its value, else its pattern, else "always" or "never"), then the
 * cookie ("always" or "never"), then canary-weight of its total. */
static int
lb_canary(const struct rt_table *t, const struct rt_arm *a, const struct hp_msg *m)
{
	struct rt_canary cy;
	memcpy(&cy, t->ebytes + a->canary, sizeof cy);
	struct ing_str v = cy.hdr >= 0 ? hp_header(m, t->ebytes + cy.hdr) : (struct ing_str){NULL, 0};
	int cap[2 * RX_GROUPS];
	if (v.p != NULL) {
		if (cy.hdr_val >= 0) {
			if (v.n == strlen(t->ebytes + cy.hdr_val) && memcmp(v.p, t->ebytes + cy.hdr_val, v.n) == 0)
				return 1;
		} else if (cy.hdr_rx != -1) {
			if (cy.hdr_rx < 0 || v.n > INT_MAX)
				return 0;
			if (rx_exec(&t->rx[cy.hdr_rx], v.p, (int)v.n, 0, cap))
				return 1;
		} else if (str_eq(v, "always") || str_eq(v, "never")) {
			return v.p[0] == 'a';
		}
	}
	v = cy.cookie >= 0 ? hp_cookie(m, t->ebytes + cy.cookie) : (struct ing_str){NULL, 0};
	if (str_eq(v, "always") || str_eq(v, "never"))
		return v.p[0] == 'a';
	return lb_rand(cy.total) < cy.weight;
}

/* The backend of split route rt for request m. Services without a server
 * are passed over (all without: the first, and its 503). A sticky cookie
 * of one of them keeps the client there (nginx's affinity also comes
 * before its canary rules); then a canary by its rules; then a draw by
 * the others' shares. */
static int
lb_split(const struct rt_table *t, const struct rt_route *rt, const struct hp_msg *m)
{
	const struct rt_arm *a = &t->arms[rt->arm];
	uint32_t sum = 0;
	int live = 0, canary = -1;
	for (int i = 0; i < rt->narm; i++) {
		const struct rt_backend *b = &t->backends[a[i].backend];
		struct lb_state *st = &g_lb.s[b->state];
		if (b->nsrv == 0)
			continue;
		if (st->sticky && lb_sticky_find(st, m) >= 0)
			return a[i].backend;
		if (a[i].canary >= 0)
			canary = i;
		else
			sum += a[i].weight, live++;
	}
	if (canary >= 0 && (live == 0 || lb_canary(t, &a[canary], m)))
		return a[canary].backend;
	if (live == 0)
		return a[0].backend;
	uint32_t d = lb_rand(sum ? sum : (uint32_t)live); /* shares are at most 100000 each */
	int pick = 0;
	for (int i = 0; i < rt->narm; i++) {
		if (t->backends[a[i].backend].nsrv == 0 || a[i].canary >= 0)
			continue;
		uint32_t w = sum ? a[i].weight : 1;
		pick = i;
		if (d < w)
			break;
		d -= w;
	}
	return a[pick].backend;
}

/* Picks a server of b for request m: the sticky one when its cookie names
 * a live server, else by the balancer (skipping `avoid`, a server that just
 * failed, when there is another). *set_cookie is set when the client must
 * be given (again) a cookie. */
static int
lb_pick(const struct rt_table *t, const struct rt_backend *b, const struct hp_msg *m, int avoid, int *set_cookie)
{
	struct lb_state *st = &g_lb.s[b->state];
	int i = -1;
	(void)t;
	*set_cookie = 0;
	if (st->sticky && m != NULL && (i = lb_sticky_find(st, m)) >= 0 && i != avoid)
		return i;
	i = lb_wrr(st);
	if (i >= 0 && i == avoid && st->nsrv > 1)
		i = lb_wrr(st);
	st->requests++;
	*set_cookie = st->sticky && i >= 0;
	return i;
}

/* Set-Cookie for server s of slot st into out. */
static int
lb_cookie(const struct lb_state *st, int s, int https, struct bf *out)
{
	static const char hex[] = "0123456789abcdef";
	const uint8_t *tag = g_lb.srv[g_lb.cur][st->srv + s].tag;
	char v[2 * LB_TAG_LEN];
	for (int k = 0; k < LB_TAG_LEN; k++) {
		v[2 * k] = hex[tag[k] >> 4];
		v[2 * k + 1] = hex[tag[k] & 15];
	}
	int e = bf_lit(out, "Set-Cookie: ") || bf_append(out, st->cookie, strlen(st->cookie)) || bf_lit(out, "=") ||
	        bf_append(out, v, sizeof v) || bf_lit(out, "; Path=/; HttpOnly") || (https && bf_lit(out, "; Secure")) ||
	        bf_lit(out, "\r\n");
	return e ? ING_ERR : 0;
}

/* Rolling window: moves to second `sec`, zeroing the buckets skipped. */
static void
lb_win_roll(struct lb_win *w, uint64_t sec)
{
	if (sec <= w->sec && w->sec != 0)
		return;
	uint64_t gap = w->sec == 0 ? LB_BUCKETS : sec - w->sec;
	for (uint64_t k = 1; k <= ING_MIN(gap, (uint64_t)LB_BUCKETS); k++) {
		int i = (int)((w->sec + k) % LB_BUCKETS);
		w->bad[i] = w->all[i] = 0;
	}
	w->sec = sec;
}

static void
lb_win_add(struct lb_win *w, int bad)
{
	uint64_t sec = g.now / 1000;
	lb_win_roll(w, sec);
	int i = (int)(sec % LB_BUCKETS);
	if (w->all[i] == 0 && w->seen < LB_BUCKETS)
		w->seen++;
	w->all[i]++;
	w->bad[i] += (uint32_t)bad;
}

static double
lb_win_ratio(struct lb_win *w)
{
	uint64_t bad = 0, all = 0;
	lb_win_roll(w, g.now / 1000);
	for (int i = 0; i < LB_BUCKETS; i++) {
		bad += w->bad[i];
		all += w->all[i];
	}
	return all ? (double)bad / (double)all : 0.0;
}

static int
lb_cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

/* Normalizes weights by their GCD. */
static void
lb_normalize(struct lb_srv *sv, int n)
{
	int d = 0;
	for (int i = 0; i < n; i++)
		d = lb_gcd(d, sv[i].cur);
	for (int i = 0; d > 1 && i < n; i++)
		sv[i].cur = (uint16_t)(sv[i].cur / d);
}

/* oxy's rebalancer, run after a proxied request. */
static void
lb_drr(struct lb_state *st)
{
	struct lb_srv *sv = &g_lb.srv[g_lb.cur][st->srv];
	double r[ING_MAX_BACKEND_SERVERS + 1], sorted[ING_MAX_BACKEND_SERVERS + 1], dev[ING_MAX_BACKEND_SERVERS + 1];
	int n = st->nsrv, nbad = 0, changed = 0;
	if (n < 2 || g.now < st->next_rebalance)
		return;
	for (int i = 0; i < n; i++)
		if (sv[i].win.seen < LB_BUCKETS)
			return; /* every meter must be ready */
	for (int i = 0; i < n; i++)
		sorted[i] = r[i] = lb_win_ratio(&sv[i].win);
	int m = n;
	if (m % 2 == 0)
		sorted[m++] = 0; /* oxy's sentinel: an odd count */
	str_sort(sorted, (size_t)m, sizeof sorted[0], lb_cmp_double);
	double med = sorted[m / 2];
	for (int i = 0; i < m; i++)
		dev[i] = sorted[i] > med ? sorted[i] - med : med - sorted[i];
	str_sort(dev, (size_t)m, sizeof dev[0], lb_cmp_double);
	double mad = dev[m / 2], limit = (med + mad) * 1.5;
	for (int i = 0; i < n; i++)
		nbad += r[i] > limit;
	if (nbad > 0 && nbad < n) {
		for (int i = 0; i < n; i++)
			if (r[i] <= limit && sv[i].cur * LB_DRR_FACTOR <= LB_DRR_MAX_WEIGHT) {
				sv[i].cur = (uint16_t)(sv[i].cur * LB_DRR_FACTOR);
				changed = 1;
			}
	} else {
		for (int i = 0; i < n; i++)
			if (sv[i].cur != sv[i].orig) {
				sv[i].cur = (uint16_t)ING_MAX(sv[i].orig, sv[i].cur / LB_DRR_FACTOR);
				changed = 1;
			}
	}
	if (changed) {
		lb_normalize(sv, n);
		st->index = -1;
		st->cw = 0;
		st->next_rebalance = g.now + LB_DRR_BACKOFF_MS;
		log_debug("lb: %s: drr weights rebalanced", st->key);
	}
}

static void cb_record(int cb, int status, uint64_t latency_ms); /* circuit breaker (cb_) */

/* The outcome of a request to server s of slot be (gen as at dispatch):
 * feeds drr and the breaker. Connect failures and resets arrive as 502. */
static void
lb_done(int be, uint32_t gen, int s, int status, uint64_t latency_ms)
{
	if (be < 0 || be >= g_lb.n || !g_lb.s[be].used)
		return;
	struct lb_state *st = &g_lb.s[be];
	if (st->cb >= 0)
		cb_record(st->cb, status, latency_ms);
	if (st->gen != gen || s < 0 || s >= st->nsrv)
		return; /* the server set changed meanwhile */
	lb_win_add(&g_lb.srv[g_lb.cur][st->srv + s].win, status >= 500 && status <= 504);
	if (st->method == LB_DRR)
		lb_drr(st);
}

/* ===== 17. circuit breaker ============================================ cb_
 * oxy's cbreaker with Traefik 1.x's annotation and expression language,
 * minus its traps: integer and float literals are both accepted wherever a
 * number fits, recovery ramps to 100% (not 50%), and state survives a
 * routing-table rebuild. States: standby -> tripped (every request 503 for
 * 10 s) -> recovering (a linearly rising share passes for 10 s) ->
 * standby. The expression is evaluated at most every 100 ms, over 10 x 1 s
 * windows of status codes and a log-scale latency histogram (fixed size,
 * nothing allocated per request). An expression that does not parse leaves
 * the backend without a breaker; the error, with its column, is logged and
 * shown in /metrics and /api.
 * Limits: ING_MAX_BREAKERS.
 */
enum {
	CB_STANDBY,    /* closed: requests flow, the expression is watched */
	CB_TRIPPED,    /* open: 503 until the fallback duration has passed */
	CB_RECOVERING, /* half-open: traffic returns over the recovery duration */
};
static const char *const cb_state_names[] = {"standby", "tripped", "recovering"};
#define CB_CHECK_MS 100
#define CB_FALLBACK_MS 10000
#define CB_RECOVERY_MS 10000
#define CB_MAX_OPS 48
#define CB_LAT_BINS 128 /* 4 per octave of microseconds: 1 us .. ~1.2 h */

enum { OP_NUM, OP_NET, OP_RCR, OP_LAT, OP_LT, OP_LE, OP_GT, OP_GE, OP_EQ, OP_NE, OP_AND, OP_OR };
struct cb_op {
	uint8_t op;
	double v[4];
};
struct cb_prog {
	int n;
	struct cb_op op[CB_MAX_OPS];
};

struct cb {
	uint8_t used, state;
	char expr[256];
	char err[112]; /* why it does not parse ("" when it does) */
	struct cb_prog prog;
	uint64_t until, rec_start, last_check;
	uint64_t allowed, denied, trips;
	uint64_t sec; /* the second of bucket [sec % LB_BUCKETS] */
	uint16_t codes[LB_BUCKETS][500]; /* responses by status, 100..599 */
	uint32_t net[LB_BUCKETS], all[LB_BUCKETS];
	uint32_t lat[LB_BUCKETS][CB_LAT_BINS];
};

static struct {
	struct cb c[ING_MAX_BREAKERS];
	int n;
} g_cb;

/* ---- the expression language ---- */
struct cb_parser {
	const char *s, *p;
	struct cb_prog *prog;
	char *err;
	size_t errlen;
};

static int
cb_fail(struct cb_parser *ps, const char *what)
{
	if (ps->err[0] == '\0')
		ing_snprintf(ps->err, ps->errlen, "column %d: %s", (int)(ps->p - ps->s) + 1, what);
	return ING_ERR;
}

static void
cb_ws(struct cb_parser *ps)
{
	while (*ps->p == ' ' || *ps->p == '\t')
		ps->p++;
}

static int
cb_emit(struct cb_parser *ps, int op, const double *v, int nv)
{
	if (ps->prog->n >= CB_MAX_OPS)
		return cb_fail(ps, "expression too long");
	struct cb_op *o = &ps->prog->op[ps->prog->n++];
	memset(o, 0, sizeof *o);
	o->op = (uint8_t)op;
	for (int i = 0; i < nv; i++)
		o->v[i] = v[i];
	return 0;
}

/* A number literal: integer or float ("50", "50.0", ".5", "1e3"), read
 * by hand (strtod would bring the C library's long-double code). */
static int
cb_number(struct cb_parser *ps, double *v)
{
	const char *p;
	double x = 0, scale = 1;
	int digits = 0, e = 0, eneg = 0;
	cb_ws(ps);
	p = ps->p;
	if (!isdigit((unsigned char)*p) && *p != '.')
		return cb_fail(ps, "expected a number");
	for (; isdigit((unsigned char)*p); p++, digits++)
		x = x * 10 + (*p - '0');
	if (*p == '.')
		for (p++; isdigit((unsigned char)*p); p++, digits++)
			x += (*p - '0') * (scale /= 10);
	if (digits == 0)
		return cb_fail(ps, "bad number");
	if (*p == 'e' || *p == 'E') {
		const char *q = p + 1;
		eneg = *q == '-';
		q += *q == '-' || *q == '+';
		if (!isdigit((unsigned char)*q))
			return cb_fail(ps, "bad number");
		for (; isdigit((unsigned char)*q); q++)
			if ((e = e * 10 + (*q - '0')) > 400)
				return cb_fail(ps, "bad number");
		p = q;
	}
	while (e-- > 0)
		x = eneg ? x / 10 : x * 10;
	if (x > 1e300)
		return cb_fail(ps, "bad number");
	*v = x;
	ps->p = p;
	return 0;
}

static int cb_or(struct cb_parser *ps);

/* Returns the value's type: 'n' number, 'b' boolean; ING_ERR. */
static int
cb_value(struct cb_parser *ps)
{
	static const struct {
		const char *name;
		int op, nargs;
	} fn[] = {{"NetworkErrorRatio", OP_NET, 0}, {"ResponseCodeRatio", OP_RCR, 4}, {"LatencyAtQuantileMS", OP_LAT, 1}};
	double v[4];
	cb_ws(ps);
	if (*ps->p == '(') {
		ps->p++;
		int t = cb_or(ps);
		if (t < 0)
			return ING_ERR;
		cb_ws(ps);
		if (*ps->p != ')')
			return cb_fail(ps, "expected ')'");
		ps->p++;
		return t;
	}
	if (isdigit((unsigned char)*ps->p) || *ps->p == '.') {
		if (cb_number(ps, v) != 0)
			return ING_ERR;
		return cb_emit(ps, OP_NUM, v, 1) == 0 ? 'n' : ING_ERR;
	}
	if (isalpha((unsigned char)*ps->p)) {
		const char *start = ps->p;
		while (isalnum((unsigned char)*ps->p))
			ps->p++;
		size_t n = (size_t)(ps->p - start);
		for (size_t f = 0; f < ING_ARRAY_LEN(fn); f++) {
			if (strlen(fn[f].name) != n || memcmp(start, fn[f].name, n) != 0)
				continue;
			cb_ws(ps);
			if (*ps->p != '(')
				return cb_fail(ps, "expected '(' after the function name");
			ps->p++;
			for (int a = 0; a < fn[f].nargs; a++) {
				if (a > 0) {
					cb_ws(ps);
					if (*ps->p != ',')
						return cb_fail(ps, "expected ','");
					ps->p++;
				}
				if (cb_number(ps, &v[a]) != 0)
					return ING_ERR;
			}
			cb_ws(ps);
			if (*ps->p != ')')
				return cb_fail(ps, fn[f].nargs ? "expected ')' (wrong number of arguments?)" : "expected ')'");
			ps->p++;
			if (fn[f].op == OP_LAT && (v[0] <= 0 || v[0] > 100))
				return cb_fail(ps, "the quantile must be in (0, 100]");
			return cb_emit(ps, fn[f].op, v, fn[f].nargs) == 0 ? 'n' : ING_ERR;
		}
		ps->p = start;
		return cb_fail(ps, "unknown function (NetworkErrorRatio, ResponseCodeRatio, LatencyAtQuantileMS)");
	}
	return cb_fail(ps, *ps->p ? "unexpected character" : "unexpected end");
}

static int
cb_cmp(struct cb_parser *ps)
{
	static const struct {
		const char *s;
		int op;
	} ops[] = {{"<=", OP_LE}, {">=", OP_GE}, {"==", OP_EQ}, {"!=", OP_NE}, {"<", OP_LT}, {">", OP_GT}};
	int t = cb_value(ps);
	if (t < 0)
		return ING_ERR;
	cb_ws(ps);
	for (size_t i = 0; i < ING_ARRAY_LEN(ops); i++) {
		size_t n = strlen(ops[i].s);
		if (strncmp(ps->p, ops[i].s, n) != 0)
			continue;
		if (t != 'n')
			return cb_fail(ps, "a comparison needs a number on its left");
		ps->p += n;
		cb_ws(ps);
		const char *rhs = ps->p;
		int t2 = cb_value(ps);
		if (t2 < 0)
			return ING_ERR;
		if (t2 != 'n') {
			ps->p = rhs;
			return cb_fail(ps, "a comparison needs a number on its right");
		}
		return cb_emit(ps, ops[i].op, NULL, 0) == 0 ? 'b' : ING_ERR;
	}
	return t;
}

/* sub (op sub)*, where op ("&&" or "||") joins comparisons only. */
static int
cb_chain(struct cb_parser *ps, int (*sub)(struct cb_parser *), const char *tok, int op)
{
	int t = sub(ps);
	for (;;) {
		if (t < 0)
			return ING_ERR;
		cb_ws(ps);
		if (strncmp(ps->p, tok, 2) != 0)
			return t;
		if (t != 'b' || (ps->p += 2, (t = sub(ps)) == 'n'))
			return cb_fail(ps, op == OP_AND ? "&& needs comparisons on both sides" : "|| needs comparisons on both sides");
		if (t < 0 || cb_emit(ps, op, NULL, 0) != 0)
			return ING_ERR;
	}
}

static int
cb_and(struct cb_parser *ps)
{
	return cb_chain(ps, cb_cmp, "&&", OP_AND);
}

static int
cb_or(struct cb_parser *ps)
{
	return cb_chain(ps, cb_and, "||", OP_OR);
}

/* Compiles expr; 0, or ING_ERR with err ("column N: ..."). */
static int
cb_compile(const char *expr, struct cb_prog *prog, char *err, size_t errlen)
{
	struct cb_parser ps = {expr, expr, prog, err, errlen};
	prog->n = 0;
	err[0] = '\0';
	int t = cb_or(&ps);
	if (t < 0)
		return ING_ERR;
	cb_ws(&ps);
	if (*ps.p != '\0')
		return cb_fail(&ps, "unexpected text after the expression");
	if (t != 'b') {
		ps.p = expr;
		return cb_fail(&ps, "the expression must compare (e.g. NetworkErrorRatio() > 0.5)");
	}
	return 0;
}

/* ---- metrics over the window ---- */
static void
cb_roll(struct cb *b)
{
	uint64_t sec = g.now / 1000;
	if (sec <= b->sec && b->sec != 0)
		return;
	uint64_t gap = b->sec == 0 ? LB_BUCKETS : sec - b->sec;
	for (uint64_t k = 1; k <= ING_MIN(gap, (uint64_t)LB_BUCKETS); k++) {
		int i = (int)((b->sec + k) % LB_BUCKETS);
		memset(b->codes[i], 0, sizeof b->codes[i]);
		memset(b->lat[i], 0, sizeof b->lat[i]);
		b->net[i] = b->all[i] = 0;
	}
	b->sec = sec;
}

static int
cb_lat_bin(uint64_t us)
{
	if (us < 1)
		return 0;
	int h = 63 - __builtin_clzll(us);
	int bin = 4 * h + (h >= 2 ? (int)((us >> (h - 2)) & 3) : 0);
	return bin < CB_LAT_BINS ? bin : CB_LAT_BINS - 1;
}

/* Upper bound of a latency bin, in ms. */
static double
cb_lat_ms(int bin)
{
	int h = bin / 4, q = bin % 4;
	double us = h >= 2 ? (double)(((uint64_t)(4 + q + 1)) << (h - 2)) : (double)(1u << (h + 1));
	return us / 1000.0;
}

static double
cb_eval_fn(struct cb *b, const struct cb_op *o)
{
	uint64_t num = 0, den = 0;
	if (o->op == OP_NET) {
		for (int i = 0; i < LB_BUCKETS; i++) {
			num += b->net[i];
			den += b->all[i];
		}
		return den ? (double)num / (double)den : 0.0;
	}
	if (o->op == OP_RCR) {
		for (int i = 0; i < LB_BUCKETS; i++)
			for (int c = 0; c < 500; c++) {
				double code = c + 100;
				if (code >= o->v[0] && code < o->v[1])
					num += b->codes[i][c];
				if (code >= o->v[2] && code < o->v[3])
					den += b->codes[i][c];
			}
		return den ? (double)num / (double)den : 0.0;
	}
	/* OP_LAT */
	uint64_t bins[CB_LAT_BINS] = {0}, total = 0, acc = 0;
	for (int i = 0; i < LB_BUCKETS; i++)
		for (int k = 0; k < CB_LAT_BINS; k++) {
			bins[k] += b->lat[i][k];
			total += b->lat[i][k];
		}
	if (total == 0)
		return 0.0;
	double want = o->v[0] / 100.0 * (double)total;
	for (int k = 0; k < CB_LAT_BINS; k++) {
		acc += bins[k];
		if ((double)acc >= want)
			return cb_lat_ms(k);
	}
	return cb_lat_ms(CB_LAT_BINS - 1);
}

static int
cb_eval(struct cb *b)
{
	double st[CB_MAX_OPS];
	int sp = 0;
	cb_roll(b);
	for (int i = 0; i < b->prog.n; i++) {
		const struct cb_op *o = &b->prog.op[i];
		switch (o->op) {
		case OP_NUM: st[sp++] = o->v[0]; break;
		case OP_NET:
		case OP_RCR:
		case OP_LAT: st[sp++] = cb_eval_fn(b, o); break;
		default: {
			double y = st[--sp], x = st[--sp], r = 0;
			switch (o->op) {
			case OP_LT: r = x < y; break;
			case OP_LE: r = x <= y; break;
			case OP_GT: r = x > y; break;
			case OP_GE: r = x >= y; break;
			case OP_EQ: r = x == y; break;
			case OP_NE: r = x != y; break;
			case OP_AND: r = x != 0 && y != 0; break;
			case OP_OR: r = x != 0 || y != 0; break;
			}
			st[sp++] = r;
		}
		}
	}
	return sp == 1 && st[0] != 0;
}

/* ---- slots and the state machine ---- */
static void
cb_free(int cb)
{
	if (cb >= 0 && cb < ING_MAX_BREAKERS)
		g_cb.c[cb].used = 0;
}

/* Keeps, replaces or drops the breaker of slot st for expression expr. */
static void
cb_sync(struct lb_state *st, const char *expr, const char *who)
{
	if (st->cb >= 0 && strcmp(g_cb.c[st->cb].expr, expr) == 0)
		return; /* unchanged: its state goes on */
	cb_free(st->cb);
	st->cb = -1;
	if (expr[0] == '\0')
		return;
	int k;
	for (k = 0; k < g_cb.n && g_cb.c[k].used; k++)
		;
	if (k == g_cb.n) {
		if (g_cb.n >= ING_MAX_BREAKERS) {
			log_limit(LIM_BREAKERS, "cb: circuit breakers");
			return;
		}
		g_cb.n++;
	}
	struct cb *b = &g_cb.c[k];
	memset(b, 0, offsetof(struct cb, codes));
	b->used = 1;
	b->sec = 0;
	ing_snprintf(b->expr, sizeof b->expr, "%s", expr);
	if (cb_compile(expr, &b->prog, b->err, sizeof b->err) != 0) {
		b->prog.n = 0;
		log_errx("cb: backend %s: circuit breaker \"%s\": %s; the backend runs without a breaker", who, expr, b->err);
	}
	st->cb = k;
}

/* May a request pass the breaker? */
/* Moves b along the clock: tripped -> recovering -> standby. */
static void
cb_advance(struct cb *b)
{
	if (b->state == CB_TRIPPED && g.now >= b->until) {
		b->state = CB_RECOVERING;
		b->rec_start = g.now;
		b->until = g.now + CB_RECOVERY_MS;
		b->allowed = b->denied = 0;
		log_info("cb: %s: recovering", b->expr);
	}
	if (b->state == CB_RECOVERING && g.now >= b->until) {
		b->state = CB_STANDBY;
		log_info("cb: %s: standby", b->expr);
	}
}

static int
cb_allow(int cb)
{
	struct cb *b;
	if (cb < 0 || (b = &g_cb.c[cb])->prog.n == 0)
		return 1;
	cb_advance(b);
	if (b->state == CB_TRIPPED)
		return 0;
	if (b->state == CB_RECOVERING) {
		/* the share let through rises linearly, 0 to 100%: so far, on
		 * average, half the current share */
		double share = (double)(g.now - b->rec_start) / CB_RECOVERY_MS / 2;
		if ((double)(b->allowed + 1) / (double)(b->allowed + b->denied + 1) > share) {
			b->denied++;
			return 0;
		}
		b->allowed++;
	}
	return 1;
}

/* A response (or failure) of the backend: recorded, then the expression
 * checked (at most every CB_CHECK_MS). */
static void
cb_record(int cb, int status, uint64_t latency_ms)
{
	struct cb *b = &g_cb.c[cb];
	if (!b->used || b->prog.n == 0 || b->state == CB_TRIPPED)
		return;
	cb_roll(b);
	int i = (int)(b->sec % LB_BUCKETS);
	if (status >= 100 && status < 600 && b->codes[i][status - 100] < UINT16_MAX)
		b->codes[i][status - 100]++;
	b->all[i]++;
	b->net[i] += status == 502 || status == 504;
	b->lat[i][cb_lat_bin(latency_ms * 1000)]++;
	if (g.now - b->last_check < CB_CHECK_MS)
		return;
	b->last_check = g.now;
	if (cb_eval(b)) {
		b->state = CB_TRIPPED;
		b->until = g.now + CB_FALLBACK_MS;
		b->trips++;
		b->sec = 0; /* oxy resets the metrics on a trip */
		cb_roll(b);
		log_warnx("cb: %s: tripped; answering 503 for %d s", b->expr, CB_FALLBACK_MS / 1000);
	}
}

/* ===== 18. upstream connect and pump ================================== up_
 * The exchange: a client connection paired with an upstream connection.
 * Bodies stream both ways through the two connections' own buffers,
 * framed by hp_body_step and passed through verbatim (chunked stays
 * chunked), with backpressure: a side is read only while its buffer has
 * room. Upstream connections are kept alive in per-server pools and
 * reused across clients. A request is retried on another server only when
 * nothing was sent (a failed connect) and only for idempotent methods; a
 * pooled connection the server closed under us is retried once, fresh,
 * for a body-less idempotent request.
 * HTTPS pods: the TLS session is made with the connection and its
 * handshake runs within US_CONNECT, so dialTimeout covers both; pooled
 * TLS connections are kept per (server, name, verification), and their
 * sessions resume on the next connection (up_tls_key).
 * Limits: ING_MAX_UPSTREAMS, maxIdleConnsPerHost, ING_MAX_TLS_UPSTREAMS.
 */
#define UP_IDLE_MS 90000   /* a pooled connection unused this long is closed */
#define UP_MAX_RETRIES 3
#define UP_ROUNDS 64       /* pump rounds per turn before others get theirs */
#define UP_ORIGIN_LEN 256  /* a longer CORS Origin is not allowed */

/* exchange flags (cn.xflags) */
#define XF_REQ_DONE 0x001  /* client: the request body is all forwarded */
#define XF_HEAD_SENT 0x002 /* client: a response head went to the client */
#define XF_DECHUNK 0x004   /* client: HTTP/1.0 client, chunked response: payload only */
#define XF_UPGRADE 0x008   /* client: asked for Upgrade */
#define XF_IDEMP 0x010     /* client: idempotent method: a failed connect may try another server */
#define XF_REPLAY 0x020    /* client: idempotent and body-less: may be sent again */
#define XF_CLOSE 0x040     /* client: close after this response */
#define XF_PASSHOST 0x080  /* client: Host goes through unchanged */
#define XF_REUSED 0x100    /* upstream: came from the pool */
#define XF_GOT 0x200       /* upstream: response bytes arrived */
#define XF_COOKIE 0x400    /* client: give the client a sticky cookie */
#define XF_DROPAUTH 0x800  /* client: Authorization is not forwarded */
#define XF_CRLF 0x1000     /* either: the chunk being forwarded owes its CRLF */
#define XF_SSL 0x2000      /* client: an SSL request (TLS, or ssl-proxy-headers) */
#define XF_CORS 0x4000     /* client: its Origin is allowed (enable-cors) */
#define XF_EDITS 0x8000    /* client: its route's policy edits headers (cn.pol) */

/* How an exchange speaks to its pod: plain HTTP (pod -1), or TLS with
 * the context TL_POD_* and the name sent as SNI and checked. */
struct up_tls {
	int pod;
	const char *name;
};
/* Why a TLS session with a pod was not had: /metrics labels. */
#define UT_LIST(X) X(CERT, "certificate") X(HANDSHAKE, "handshake") X(TIMEOUT, "timeout") X(NO_CA, "no_ca") \
	X(NO_SLOT, "no_slot") X(SETUP, "setup")
enum {
#define X(n, s) UT_##n,
	UT_LIST(X)
#undef X
	UT__COUNT
};
static const char *const ut_names[UT__COUNT] = {
#define X(n, s) s,
    UT_LIST(X)
#undef X
};

static struct {
	int bucket[ING_MAX_UPSTREAMS]; /* idle upstreams by address hash */
	int nbucket[ING_MAX_UPSTREAMS]; /* how many in each: under maxIdleConnsPerHost, no walk to count one address's */
	int idle;
	uint64_t reused, connects, retries, denied, heads;
	uint64_t tls_new, tls_resumed, tls_fail[UT__COUNT];
	char why[ING_ERR_LEN + 64]; /* scratch: a TLS failure's text */
	char sni[ING_NAME_LEN];     /* scratch: a pod's TLS name (up_tls_name) */
	char tname[ING_MAX_UPSTREAMS][ING_NAME_LEN]; /* the TLS name of each upstream slot, for retries */
	char origin[ING_MAX_CONNS][UP_ORIGIN_LEN];   /* an allowed CORS Origin of each client, to echo */
	char target[ING_BUF_SIZE]; /* scratch: the normalized request path (rt_path_norm) */
	char rw[ING_BUF_SIZE], rw2[ING_BUF_SIZE]; /* scratch: a rewritten path, a redirect's URL (up_rewrite) */
	char match[ING_BUF_SIZE];  /* scratch: the path routes match (rt_match_form) */
	char fwd_body[ING_BUF_SIZE]; /* scratch: a forward-auth answer's body (up_fwd_body) */
	uint64_t fwd[3];             /* forward-auth answers: allowed, denied, failed */
} g_up;

static void
up_init(void)
{
	for (int i = 0; i < ING_MAX_UPSTREAMS; i++) {
		g_up.bucket[i] = -1;
		g_up.nbucket[i] = 0;
	}
}

static uint32_t
up_addr_hash(const struct ing_addr *a)
{
	uint32_t h = str_fnv(FNV_SEED, a->ip, sizeof a->ip);
	return str_fnv(h, &a->port, sizeof a->port) % ING_MAX_UPSTREAMS;
}

static int
up_addr_eq(const struct ing_addr *a, const struct ing_addr *b)
{
	return a->family == b->family && a->port == b->port && memcmp(a->ip, b->ip, 16) == 0;
}

static void
up_pool_unlink(struct cn *u)
{
	if (u->state != US_POOL)
		return;
	int h = up_addr_hash(&u->addr);
	if (u->prev >= 0)
		g_cn.tab[u->prev].next = u->next;
	else
		g_up.bucket[h] = u->next;
	if (u->next >= 0)
		g_cn.tab[u->next].prev = u->prev;
	u->next = u->prev = -1;
	g_up.nbucket[h]--;
	g_up.idle--;
}

/* An idle connection to addr with pool key tkey, or NULL. */
static struct cn *
up_pool_take(const struct ing_addr *addr, uint32_t tkey)
{
	for (int i = g_up.bucket[up_addr_hash(addr)]; i >= 0; i = g_cn.tab[i].next) {
		struct cn *u = &g_cn.tab[i];
		if (!u->closing && u->tkey == tkey && up_addr_eq(&u->addr, addr)) {
			up_pool_unlink(u);
			return u;
		}
	}
	return NULL;
}

static void
up_pool_put(struct cn *u)
{
	int n = 0, h = up_addr_hash(&u->addr);
	for (int i = g_up.bucket[h]; i >= 0 && g_up.nbucket[h] >= cf_live->max_idle_per_host; i = g_cn.tab[i].next)
		n += up_addr_eq(&g_cn.tab[i].addr, &u->addr);
	if (n >= cf_live->max_idle_per_host || bf_len(u->in) > 0 || (u->flags & CNF_EOF) ||
	    (u->tls != NULL && (tls_pending(u->tls) > 0 || (u->tkey >> 2 & 0xff) != (g_tl.pod_gen & 0xff)))) {
		cn_close(u, "not kept alive");
		return;
	}
	cn_unpair(u);
	bf_put(&u->in);
	bf_put(&u->out);
	cn_set_state(u, US_POOL);
	u->flags = CNF_WANT_READ; /* a byte or EOF now means the server closed it */
	u->xflags = 0;
	cn_deadline(u, tk_after(UP_IDLE_MS));
	u->prev = -1;
	u->next = g_up.bucket[h];
	if (u->next >= 0)
		g_cn.tab[u->next].prev = cn_index(u);
	g_up.bucket[h] = cn_index(u);
	g_up.nbucket[h]++;
	g_up.idle++;
}

/* Closes the oldest idle upstream (with a TLS session, when tls): 1 when
 * there was one. It is freed now, not at the end of the turn, so its
 * slot can be reused at once. */
static int
up_evict(int tls)
{
	struct cn *oldest = NULL;
	for (int k = 0; k < g_cn.hwm[CN_UPSTREAM]; k++) { /* the upstream slots, not every connection */
		struct cn *x = &g_cn.tab[g_cn.base[CN_UPSTREAM] + k];
		if (x->kind == CN_UPSTREAM && x->state == US_POOL && !x->closing && (!tls || x->tls != NULL) &&
		    (oldest == NULL || x->t_start < oldest->t_start))
			oldest = x;
	}
	if (oldest == NULL)
		return 0;
	up_pool_unlink(oldest);
	cn_free(oldest);
	return 1;
}

/* An upstream slot; when all are taken, the oldest idle one is closed. */
static struct cn *
up_new(int fd)
{
	struct cn *u = cn_new(CN_UPSTREAM, fd);
	if (u == NULL && up_evict(0))
		u = cn_new(CN_UPSTREAM, fd);
	return u;
}

/* The pool key of a TLS connection: the name and the verification
 * (bit 1) exactly as far as a hash tells them apart, and the contexts'
 * generation (bits 2-9: pooled sessions of an older one are not reused);
 * bit 0 marks TLS. A collision only lets two names of one server share a
 * session of the same verification. */
static uint32_t
up_tls_key(const struct up_tls *tl)
{
	uint32_t h = str_fnv_z(FNV_SEED, tl->name);
	return h << 10 | (g_tl.pod_gen & 0xff) << 2 | (tl->pod == TL_POD_INSECURE) << 1 | 1;
}

/* The name for an HTTPS pod's SNI and certificate check: nginx's
 * proxy-ssl-name; an ExternalName's DNS name; the request's host when it
 * is passed on (preserve-host); else the Service's DNS name in the
 * cluster, "svc.namespace.svc". */
static const char *
up_tls_name(const struct rt_table *t, const struct rt_backend *b, const struct rt_policy *pol, const char *host)
{
	if (pol->ssl_name >= 0)
		return t->ebytes + pol->ssl_name;
	if (b->external) {
		const struct st_svc *svc = st_find(SK_SERVICE, b->ns, b->svc);
		if (svc != NULL && svc->external_name >= 0)
			return st_note(svc->external_name);
	}
	if (pol->pass_host && host[0])
		return host;
	ing_snprintf(g_up.sni, sizeof g_up.sni, "%s.%s.svc", b->svc, b->ns);
	return g_up.sni;
}

/* A TLS session for new upstream u. 0, or ING_ERR with *status, *why. */
static int
up_tls_start(struct cn *u, const struct up_tls *tl, uint32_t key, int *status, const char **why)
{
	char err[ING_ERR_LEN];
	uint64_t resume = (uint64_t)key << 32 | str_fnv(str_fnv(FNV_SEED, u->addr.ip, 16), &u->addr.port, 2);
	if ((u->tls = tls_client(g_tl.pod[tl->pod], u->fd, tl->name, resume, err, sizeof err)) == NULL) {
		g_up.tls_fail[UT_SETUP]++;
		ing_snprintf(g_up.why, sizeof g_up.why, "TLS to the pod: %s", err);
		*status = 502;
		*why = g_up.why;
		return ING_ERR;
	}
	g_tl.pod_sessions++;
	u->tkey = key;
	ing_snprintf(g_up.tname[cn_index(u) - g_cn.base[CN_UPSTREAM]], ING_NAME_LEN, "%s", tl->name);
	return 0;
}

/* A connection to addr for client c: pooled or new, plain or TLS. NULL +
 * *status and *why when none can be had. */
static struct cn *
up_get(struct cn *c, const struct ing_addr *addr, const struct up_tls *tl, int *status, const char **why)
{
	char err[ING_ERR_LEN];
	uint32_t key = tl->pod >= 0 ? up_tls_key(tl) : 0;
	struct cn *u = up_pool_take(addr, key);
	*why = "connect failed";
	if (u != NULL) {
		g_up.reused++;
		cn_set_state(u, US_ACTIVE);
		u->xflags = XF_REUSED;
		/* nothing to read before the request is sent: poll() tells when
		 * the answer (or the server's close) is there (TLS: the engine) */
		u->flags = u->tls != NULL ? 0 : CNF_DRAINED;
	} else {
		if (tl->pod >= 0 && g_tl.pod[tl->pod] == NULL) {
			g_up.tls_fail[UT_NO_CA]++;
			*status = 502;
			*why = g_tl.pod_why;
			return NULL;
		}
		if (tl->pod >= 0 && g_tl.pod_sessions >= ING_MAX_TLS_UPSTREAMS && !up_evict(1)) {
			log_limit(LIM_TLS_UPSTREAMS, "up: TLS sessions to pods");
			g_up.tls_fail[UT_NO_SLOT]++;
			*status = 503;
			*why = "no TLS session for the pod (ING_MAX_TLS_UPSTREAMS)";
			return NULL;
		}
		int fd = port_connect(addr, err, sizeof err);
		if (fd < 0) {
			char a[64];
			ing_addr_fmt(addr, a, sizeof a, 1);
			log_debug("up: %s: %s", a, err);
			*status = 502;
			return NULL;
		}
		if ((u = up_new(fd)) == NULL) {
			port_close(fd);
			log_limit(LIM_UPSTREAMS, "up: upstream connections");
			*status = 503;
			*why = "no upstream connection slot";
			return NULL;
		}
		g_up.connects++;
		u->addr = *addr;
		u->flags = CNF_DRAINED;
		cn_set_state(u, US_CONNECT);
		cn_deadline(u, tk_after(cf_live->dial_timeout));
		if (tl->pod >= 0) {
			u->flags = 0;
			if (up_tls_start(u, tl, key, status, why) != 0) {
				cn_close(u, *why);
				return NULL;
			}
		}
	}
	u->t_start = g.now;
	cn_pair(c, u);
	return u;
}

/* ---- header edits (rb_headers), per request ---- */

/* The policy whose edits apply to client c's exchange: in the table it
 * was dispatched from, or, when that table was rebuilt over since, its
 * Ingress's policy now. NULL when none. */
static const struct rt_policy *up_pol_of(const struct cn *c, const struct rt_table **tp);
static const struct rt_policy *
up_pol(const struct cn *c, const struct rt_table **tp)
{
	return c->xflags & XF_EDITS ? up_pol_of(c, tp) : NULL;
}

/* The policy client c's exchange was dispatched under (cn.pol, tgen,
 * pol_key), in either table or found again by its Ingress; NULL when gone. */
static const struct rt_policy *
up_pol_of(const struct cn *c, const struct rt_table **tp)
{
	for (int k = 0; k < 2; k++)
		if (g_rb.t[k].gen == c->tgen && c->pol < g_rb.t[k].npolicies) {
			*tp = &g_rb.t[k];
			return &g_rb.t[k].policies[c->pol];
		}
	const struct rt_table *t = rt_live();
	for (int i = 0; t != NULL && i < t->npolicies; i++)
		if (st_hash(t->policies[i].ns, t->policies[i].name) == c->pol_key) {
			*tp = t;
			return &t->policies[i];
		}
	return NULL;
}

static int
up_edit_applies(const struct cn *c, const struct rt_edit *x)
{
	return (!(x->flags & EF_SSL) || (c->xflags & XF_SSL)) && (!(x->flags & EF_CORS) || (c->xflags & XF_CORS));
}

/* 1 when an edit of kind that applies sets or removes header n. */
static int
up_edited(const struct cn *c, const struct rt_table *t, const struct rt_policy *pol, int kind, struct ing_str n)
{
	if (!((kind == EK_REQ ? pol->req_lens : pol->resp_lens) >> (n.n & 63) & 1))
		return 0;
	for (int i = pol->ed_first; i < pol->ed_first + pol->ed_n; i++) {
		const struct rt_edit *x = &t->edits[i];
		if (x->kind == kind && x->nlen == n.n && up_edit_applies(c, x) && !strncasecmp(t->ebytes + x->off, n.p, n.n))
			return 1;
	}
	return 0;
}

/* The header lines the edits of kind set, into o (own: only the EF_OWN
 * ones, for ingressd's own answers). 0, or ING_ERR when they do not fit. */
static int
up_edits(struct bf *o, const struct cn *c, const struct rt_table *t, const struct rt_policy *pol, int kind, int own)
{
	int e = 0;
	for (int i = pol->ed_first; i < pol->ed_first + pol->ed_n && !e; i++) {
		const struct rt_edit *x = &t->edits[i];
		if (x->kind != kind || !up_edit_applies(c, x) || (own && !(x->flags & EF_OWN)) ||
		    (x->vlen == 0 && !(x->flags & EF_ECHO))) /* an empty value removes, adds nothing */
			continue;
		const char *origin = g_up.origin[cn_index(c)];
		e = bf_hdr(o, (struct ing_str){t->ebytes + x->off, x->nlen},
		           x->flags & EF_ECHO ? (struct ing_str){origin, strlen(origin)}
		                              : (struct ing_str){t->ebytes + x->off + x->nlen, x->vlen});
	}
	return e;
}

/* The value of the request's first header named (n, its length nl), or NULL. */
static const struct ing_str *
up_req_header(const struct hp_msg *m, const char *n, size_t nl)
{
	for (int i = 0; i < m->nh; i++)
		if (m->h[i].name.n == nl && !strncasecmp(m->h[i].name.p, n, nl))
			return &m->h[i].value;
	return NULL;
}

/* Traefik's secure options before anything else of the route: refused
 * header annotations (500), ssl-proxy-headers, allowed-hosts and
 * proxy-headers (500 "Bad Host"), ssl-redirect with ssl-host,
 * ssl-force-host and ssl-temporary-redirect. Marks c for its edits. 0, or
 * ING_ERR when answered. */
static int
up_secure(struct cn *c, const struct hp_msg *m, const struct rt_table *t, int pi, const char *host)
{
	const struct rt_policy *pol = &t->policies[pi];
	int ssl = (c->flags & CNF_HTTPS) != 0;
	if (pol->refused != NULL) {
		rs_error(c, 500, RSN_ROUTE_CONFIG, pol->refused);
		return ING_ERR;
	}
	if (pol->ed_n > 0) {
		c->xflags |= XF_EDITS;
		c->pol = pi;
		c->tgen = t->gen;
		c->pol_key = st_hash(pol->ns, pol->name);
	}
	const char *allowed = NULL; /* the host allowed-hosts checks */
	struct ing_str ah = {host, strlen(host)};
	for (int pass = 0; pass < 2; pass++) /* the headers first, then the hosts */
		for (int i = pol->ed_first; i < pol->ed_first + pol->ed_n; i++) {
			const struct rt_edit *x = &t->edits[i];
			const struct ing_str *v = pass == 0 && (x->kind == EK_SSL_PROXY || x->kind == EK_PROXY_HDR)
			                              ? up_req_header(m, t->ebytes + x->off, x->nlen) : NULL;
			if (x->kind == EK_SSL_PROXY && v && v->n == x->vlen && !memcmp(v->p, t->ebytes + x->off + x->nlen, x->vlen))
				ssl = 1;
			else if (x->kind == EK_PROXY_HDR && v && v->n > 0 && allowed == NULL)
				ah = *v, allowed = "";
			else if (pass == 1 && x->kind == EK_HOST && x->vlen == ah.n && !strncasecmp(t->ebytes + x->off, ah.p, ah.n))
				allowed = host;
		}
	if (ssl)
		c->xflags |= XF_SSL;
	if ((pol->hflags & HF_HOSTS) && (allowed == NULL || allowed[0] == '\0')) {
		rs_error(c, 500, RSN_BAD_HOST, "host not in allowed-hosts");
		return ING_ERR;
	}
	if (!pol->ssl_redirect || (pol->hflags & HF_DEV))
		return 0;
	const char *sh = pol->ssl_host >= 0 ? t->ebytes + pol->ssl_host : NULL;
	int code = pol->hflags & HF_SSL_TEMP ? 307 : 301;
	if (!ssl && sh == NULL) { /* to the first HTTPS entry point */
		for (int e = 0; e < cf_live->n_eps; e++)
			if (cf_live->eps[e].tls) {
				rs_redirect(c, m, cf_live->eps[e].name, code);
				return ING_ERR;
			}
	} else if (sh != NULL && (!ssl || ((pol->hflags & HF_SSL_FORCE) && strcasecmp(host, sh) != 0))) {
		rs_redirect_to(c, m, 1, sh, 443, code);
		return ING_ERR;
	}
	return 0;
}

/* enable-cors: an allowed Origin marks c (its value kept to echo); an
 * OPTIONS request is then answered here (204, the preflight), as nginx
 * did. 1 when answered. */
static int
up_cors(struct cn *c, const struct hp_msg *m, const struct rt_table *t, const struct rt_policy *pol)
{
	const struct ing_str *o = up_req_header(m, "origin", 6);
	int ok = (pol->hflags & HF_CORS_ANY) != 0;
	for (int i = pol->ed_first; i < pol->ed_first + pol->ed_n && !ok && o != NULL && o->n < UP_ORIGIN_LEN; i++) {
		const struct rt_edit *x = &t->edits[i];
		const char *pat = t->ebytes + x->off + x->nlen, *star = x->vlen > 2 ? memchr(pat, '*', x->vlen) : NULL;
		if (x->kind != EK_ORIGIN)
			continue;
		if (star == NULL) {
			ok = x->vlen == o->n && !strncasecmp(pat, o->p, o->n);
			continue;
		}
		/* "scheme://" "*" ".rest": one DNS label where the star is */
		size_t pre = (size_t)(star - pat), post = x->vlen - pre - 1, l = pre;
		if (o->n <= pre + post || strncasecmp(pat, o->p, pre) || strncasecmp(star + 1, o->p + o->n - post, post))
			continue;
		while (l < o->n - post && (isalnum((unsigned char)o->p[l]) || o->p[l] == '-'))
			l++;
		ok = l == o->n - post && l > pre;
	}
	if (!ok)
		return 0;
	c->xflags |= XF_CORS;
	ing_snprintf(g_up.origin[cn_index(c)], UP_ORIGIN_LEN, "%.*s", o ? (int)o->n : 0, o ? o->p : "");
	if (m->meth != HM_OPTIONS)
		return 0;
	c->in->r += (uint32_t)m->head_len;
	if (m->clen > 0 || m->chunked)
		c->flags &= (uint16_t)~CNF_KEEPALIVE;
	rs_note(c, RSN_CORS, 204, "CORS preflight");
	rs_send(c, 204, NULL, NULL, "", 0, 1);
	return 1;
}

static int
up_drop_header(const struct hp_hdr *h, const struct hp_msg *m, int request)
{
	if ((1u << h->id) & (request ? HH_HOP | HH_OURS : HH_HOP))
		return 1;
	if (!m->conn_tokens)
		return 0;
	/* headers named by Connection are hop-by-hop too */
	for (int i = 0; i < m->nh; i++) {
		if (m->h[i].id != HH_CONNECTION)
			continue;
		struct ing_str tok, v = m->h[i].value;
		while (str_item(&v, &tok))
			if (tok.n > 0 && tok.n == h->name.n && strncasecmp(tok.p, h->name.p, h->name.n) == 0)
				return 1;
	}
	return 0;
}

/* A user basic auth passed, and the header that tells the pod (the entry
 * point's headerField, the route's auth-header-field). */
struct up_who {
	const char *hdr, *user;
};
struct up_rw { /* what a rewrite adds to the request head */
	struct ing_str replaced; /* X-Replaced-Path: the path before, or none */
	const char *xfp;         /* nginx's x-forwarded-prefix, or NULL */
};

/* The outcome of a basic-auth check for client c: 0 to go on; else the
 * request is answered (401, 429) or waits for its check (CS_AUTH, the
 * head kept), and the caller stops. */
static int
up_auth(struct cn *c, int st, const char *realm)
{
	if (st == ING_WAIT) {
		cn_set_state(c, CS_AUTH);
		c->flags &= (uint16_t)~(CNF_WANT_READ | CNF_WANT_WRITE);
		cn_deadline(c, tk_after(cf_live->read_timeout));
		return 1;
	}
	if (st != 0) {
		rs_unauthorized(c, st, realm);
		return 1;
	}
	return 0;
}

/* The request head for the upstream, into u->out. */
/* pass-client-tls-cert: bytes escaped as Go's url.QueryEscape does. */
static int
up_query_escape(struct bf *o, const char *s, size_t n)
{
	static const char hex[] = "0123456789ABCDEF";
	for (size_t i = 0; i < n; i++) {
		unsigned char ch = (unsigned char)s[i];
		char e[3] = {'%', hex[ch >> 4], hex[ch & 15]};
		int plain = isalnum(ch) || ch == '-' || ch == '_' || ch == '.' || ch == '~';
		if (plain ? bf_append(o, (const char *)&s[i], 1) : ch == ' ' ? bf_lit(o, "+") : bf_append(o, e, 3))
			return ING_ERR;
	}
	return 0;
}

/* What forward auth adds (cn.aux): part 0 to the request, part 1 (nginx's
 * Set-Cookie) to the response. */
static struct ing_str
up_fwd_part(const struct cn *c, int part)
{
	const char *p = c->aux->d + c->aux->r, *nul = memchr(p, '\0', bf_len(c->aux));
	size_t a = nul ? (size_t)(nul - p) : bf_len(c->aux);
	return part == 0 ? (struct ing_str){p, a} : (struct ing_str){p + a + (nul != NULL), bf_len(c->aux) - a - (nul != NULL)};
}

/* The answers nginx's add_header (without always) puts a header on. */
static int
up_fwd_cookies(int st)
{
	return st == 200 || st == 201 || st == 204 || st == 206 || (st >= 301 && st <= 304) || st == 307 || st == 308;
}

/* Whether a request header is one of policy pol's auth-response-headers:
 * the client's copy never reaches the pod, passed or not (Traefik set it
 * empty, nginx's proxy_set_header replaced it). */
static int
up_fwd_listed(const struct rt_table *t, const struct rt_policy *pol, struct ing_str name)
{
	struct rt_fwd fa;
	struct ing_str item;
	if (pol->fwd < 0)
		return 0;
	memcpy(&fa, t->ebytes + pol->fwd, sizeof fa);
	struct ing_str list = fa.hdrs >= 0 ? (struct ing_str){t->ebytes + fa.hdrs, strlen(t->ebytes + fa.hdrs)}
	                                   : (struct ing_str){NULL, 0};
	while (list.n && str_item(&list, &item))
		if (item.n == name.n && !strncasecmp(item.p, name.p, name.n))
			return 1;
	return 0;
}

/* X-Forwarded-Tls-Client-Cert (the certificate's base64, escaped) and
 * X-Forwarded-Tls-Client-Cert-Infos, as Traefik 1.7 sent them, for the
 * client certificate the handshake verified (the leaf: Traefik also
 * listed the intermediates a client sent). None without one. */
static int
up_pass_cert(struct bf *o, struct tls *tls, uint32_t what)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	static char infos[4096];
	size_t n;
	const unsigned char *d = tls != NULL ? tls_peer_cert(tls, &n) : NULL;
	if (d == NULL)
		return 0;
	if (what & PC_PEM) {
		if (bf_lit(o, "X-Forwarded-Tls-Client-Cert: "))
			return ING_ERR;
		for (size_t i = 0; i < n; i += 3) {
			uint32_t v = (uint32_t)d[i] << 16 | (i + 1 < n ? (uint32_t)d[i + 1] << 8 : 0) | (i + 2 < n ? d[i + 2] : 0);
			char q[4] = {b64[v >> 18], b64[v >> 12 & 63], i + 1 < n ? b64[v >> 6 & 63] : '=', i + 2 < n ? b64[v & 63] : '='};
			if (up_query_escape(o, q, 4))
				return ING_ERR;
		}
		if (bf_lit(o, "\r\n"))
			return ING_ERR;
	}
	if (what & PC_INFOS) {
		int l = tls_cert_infos(d, n, what, infos, sizeof infos);
		if (l < 0 || bf_lit(o, "X-Forwarded-Tls-Client-Cert-Infos: ") || up_query_escape(o, infos, (size_t)l) ||
		    bf_lit(o, "\r\n"))
			return ING_ERR;
	}
	return 0;
}

static int
up_request_head(struct cn *c, struct cn *u, const struct hp_msg *m, const struct rt_route *rt, struct ing_str path,
                struct ing_str query, const struct up_who who[2], const struct up_rw *rw, uint32_t pass_cert)
{
	char peer[64], srv[64];
	int https = (c->flags & CNF_HTTPS) != 0;
	const struct lis *l = &g_cn.lis[c->lis];
	if (u->out == NULL && (u->out = bf_get()) == NULL)
		return 503;
	struct bf *o = u->out;
	o->r = o->w = 0;
	g_up.heads++; /* requests sent upstream (+ g_up.retries: their resends) */
	struct ing_str pa = {peer, (size_t)ing_addr_fmt(&c->addr, peer, sizeof peer, 0)};
	/* forwarded headers: a peer forwardedHeaders trusts keeps its
	 * X-Forwarded-Proto, -Host, -Port, X-Real-Ip and X-Forwarded-For (the
	 * peer appended); anyone else's are replaced */
	char cl[64];
	struct ing_addr client;
	int trusted = pp_client(c, m, &client);
	struct ing_str ca = {cl, (size_t)ing_addr_fmt(client.family ? &client : &c->addr, cl, sizeof cl, 0)};
	uint32_t kept = 0;
	struct ing_str host = m->host.p ? m->host : (struct ing_str){"", 0};
	struct ing_str to = (c->xflags & XF_PASSHOST) ? host : (struct ing_str){srv, (size_t)ing_addr_fmt(&u->addr, srv, sizeof srv, 1)};
	int e = bf_str(o, m->method) || bf_lit(o, " ") || bf_str(o, path) || bf_str(o, query) ||
	        bf_lit(o, " HTTP/1.1\r\nHost: ") || bf_str(o, to) || bf_lit(o, "\r\n");
	const struct rt_table *t = NULL, *ft = rt_live();
	const struct rt_policy *pol = up_pol(c, &t), *fp = &ft->policies[rt->policy];
	int fwd = (c->flags & CNF_FWD_OK) && fp->fwd >= 0;
	for (int i = 0; i < m->nh && !e; i++) {
		const struct hp_hdr *h = &m->h[i];
		if (trusted && (HH_FWD >> h->id & 1) && !(pol != NULL && up_edited(c, t, pol, EK_REQ, h->name))) {
			kept |= 1u << h->id;
			e = bf_hdr(o, h->name, h->value);
			continue;
		}
		if (h->id == HH_X_FORWARDED_FOR || up_drop_header(h, m, 1) ||
		    ((c->xflags & XF_DROPAUTH) && h->id == HH_AUTHORIZATION) || (fwd && up_fwd_listed(ft, fp, h->name)) ||
		    (who[0].hdr && str_ieq(h->name, who[0].hdr)) || (who[1].hdr && str_ieq(h->name, who[1].hdr)) ||
		    (pol != NULL && up_edited(c, t, pol, EK_REQ, h->name)))
			continue;
		e = bf_hdr(o, h->name, h->value);
	}
	if (!e && pol != NULL) /* custom-request-headers */
		e = up_edits(o, c, t, pol, EK_REQ, 0);
	if (!e && fwd && c->aux != NULL) /* what forward auth passed on (auth-response-headers) */
		e = bf_str(o, up_fwd_part(c, 0));
	for (int i = 0; i < 2 && !e; i++) /* headerField, auth-header-field: who, as ingressd checked */
		if (who[i].hdr && who[i].user)
			e = bf_append(o, who[i].hdr, strlen(who[i].hdr)) || bf_lit(o, ": ") ||
			    bf_append(o, who[i].user, strlen(who[i].user)) || bf_lit(o, "\r\n");
	if (!e && pass_cert)
		e = up_pass_cert(o, c->tls, pass_cert);
	if (!e && (c->xflags & XF_UPGRADE))
		e = bf_lit(o, "Connection: Upgrade\r\nUpgrade: ") || bf_str(o, m->upgrade) || bf_lit(o, "\r\n");
	if (!e && c->rx.mode == HB_CHUNKED)
		e = bf_lit(o, "Transfer-Encoding: chunked\r\n");
	else if (!e && c->rx.mode == HB_LENGTH)
		e = bf_lit(o, "Content-Length: ") || bf_uint(o, c->rx.left) || bf_lit(o, "\r\n");
	/* X-Forwarded-For: what a trusted peer sent (every line, in order),
	 * then the peer */
	e = e || bf_lit(o, "X-Forwarded-For: ");
	for (int i = 0; i < m->nh && !e && trusted; i++)
		if (m->h[i].id == HH_X_FORWARDED_FOR && m->h[i].value.n > 0)
			e = bf_str(o, m->h[i].value) || bf_lit(o, ", ");
	const char *proto = (c->xflags & XF_UPGRADE) ? (https ? "wss" : "ws") : (https ? "https" : "http");
	e = e || bf_str(o, pa) || bf_lit(o, "\r\n");
	if (!e && !(kept & HH_BIT(X_FORWARDED_PROTO)))
		e = bf_lit(o, "X-Forwarded-Proto: ") || bf_append(o, proto, strlen(proto)) || bf_lit(o, "\r\n");
	if (!e && !(kept & HH_BIT(X_FORWARDED_HOST)))
		e = bf_lit(o, "X-Forwarded-Host: ") || bf_str(o, host) || bf_lit(o, "\r\n");
	if (!e && !(kept & HH_BIT(X_FORWARDED_PORT)))
		e = bf_lit(o, "X-Forwarded-Port: ") || bf_uint(o, l->addr.port) || bf_lit(o, "\r\n");
	if (!e && !(kept & HH_BIT(X_REAL_IP)))
		e = bf_lit(o, "X-Real-Ip: ") || bf_str(o, ca) || bf_lit(o, "\r\n");
	if (!e && (rw->xfp != NULL || (rt->strip && rt->path_len > 0)))
		e = bf_lit(o, "X-Forwarded-Prefix: ") || bf_append(o, rw->xfp ? rw->xfp : rt->path, strlen(rw->xfp ? rw->xfp : rt->path)) ||
		    bf_lit(o, "\r\n");
	if (!e && rw->replaced.p != NULL)
		e = bf_lit(o, "X-Replaced-Path: ") || bf_str(o, rw->replaced) || bf_lit(o, "\r\n");
	e = e || bf_lit(o, "\r\n");
	return e ? 431 : 0;
}

static void up_pump(struct cn *c);

/* The exchange ends; c goes on with its next request, u to the pool. */
/* The outcome of the exchange goes to the balancer and the breaker. */
static void
up_outcome(struct cn *c, int status)
{
	if (c->be >= 0 && c->srv >= 0)
		lb_done(c->be, c->be_gen, c->srv, status, g.now - c->t_req);
	c->srv = -1; /* fed back once; c->be stays for the metrics */
}

static void
up_finish(struct cn *c, struct cn *u)
{
	up_outcome(c, c->status);
	mx_done(c, c->status, c->bytes);
	/* reused only between messages: the pod has the whole request (or it
	 * would read the next one as this one's body) and we its response */
	int keep_up = u != NULL && !(u->flags & CNF_EOF) && (u->flags & CNF_KEEPALIVE) && u->rx.done && u->fwd == 0 &&
	              (c->xflags & XF_REQ_DONE) && bf_len(u->out) == 0;
	if (u != NULL) {
		cn_unpair(c);
		if (keep_up)
			up_pool_put(u);
		else
			cn_close(u, "exchange done");
	}
	c->fwd = 0;
	if (c->xflags & XF_CLOSE)
		c->flags &= (uint16_t)~CNF_KEEPALIVE;
	c->xflags = 0;
	cl_done(c);
	if (!c->closing && (c->state == CS_IDLE || c->state == CS_HEAD))
		cl_advance(c);
}

static int up_fwd_answer(struct cn *c, struct cn *u, const struct hp_msg *rm, size_t hl); /* forward auth, below */
static int up_errpage_pod(struct cn *c, struct cn *u, int st); /* error pages, below */
static int up_fwd_reparse(struct cn *c);

/* The exchange failed. Before a response head went out the client gets
 * `status`; after, both connections close (the client sees a cut). */
static void
up_fail(struct cn *c, struct cn *u, int status, enum rsn r, const char *why)
{
	if (c->flags & CNF_ERRPAGE) { /* the page failed: ingressd answers the original code */
		c->flags &= (uint16_t)~CNF_ERRPAGE;
		status = c->status;
	}
	/* a cut after the head was sent is a network error too */
	up_outcome(c, (c->xflags & XF_HEAD_SENT) ? 502 : status);
	if (u != NULL) {
		cn_unpair(c);
		cn_close(u, why);
	}
	if (c->flags & CNF_SUB) { /* the auth service failed: never a pass */
		c->flags &= (uint16_t)~CNF_SUB;
		c->xflags &= XF_SSL | XF_CORS | XF_EDITS;
		g_up.fwd[2]++;
		if (up_fwd_reparse(c) != 0)
			cn_close(c, why);
		else
			rs_error(c, 503, RSN_FWD_ERROR, why);
		return;
	}
	if (c->xflags & XF_HEAD_SENT) {
		rs_abort(c, r, why);
		return;
	}
	log_debug("up: conn %u: %d: %s", c->id, status, why);
	if (!(c->xflags & XF_REQ_DONE))
		c->flags &= (uint16_t)~CNF_KEEPALIVE; /* a body is still coming */
	c->xflags &= XF_SSL | XF_CORS | XF_EDITS; /* the answer gets the route's headers */
	c->fwd = 0;
	g_hp.msg.head_len = 0; /* the head is consumed already */
	g_hp.msg.err_status = 0;
	rs_error(c, status, r, why);
}

/* Response head from u, to the client (c->out). 0 when done (or waiting
 * for more bytes), ING_ERR after up_fail. */
static int
up_response_head(struct cn *c, struct cn *u)
{
	static struct hp_msg m;
	for (;;) {
		ssize_t hl = hp_scan_head(u->in->d + u->in->r, bf_len(u->in), &u->scan);
		if (hl == ING_WAIT) {
			if (bf_len(u->in) > ING_MAX_HEADER_BYTES) {
				log_limit(LIM_HEADER_BYTES, "up: response head");
				up_fail(c, u, 502, RSN_UPSTREAM_ERROR, "response head too large");
				return ING_ERR;
			}
			return 0;
		}
		u->scan = 0;
		if (hp_parse_response(&m, u->in->d + u->in->r, (size_t)hl) != 0) {
			up_fail(c, u, 502, RSN_UPSTREAM_ERROR, m.err);
			return ING_ERR;
		}
		if (c->flags & CNF_SUB)
			return up_fwd_answer(c, u, &m, (size_t)hl);
		int st = m.status;
		int head_only = c->meth == HM_HEAD || st == 204 || st == 304 || (st >= 100 && st < 200);
		int upgrade = st == 101 && (c->xflags & XF_UPGRADE);
		if (c->out == NULL && (c->out = bf_get()) == NULL) {
			up_fail(c, u, 503, RSN_NO_SLOT, "no I/O buffer (ING_MAX_BUFS)");
			return ING_ERR;
		}
		if (st >= 100 && st < 200 && !upgrade) {
			/* 100 Continue and friends: to an HTTP/1.1 client only; the
			 * real response follows */
			if (c->minor == 1 && bf_append(c->out, u->in->d + u->in->r, (size_t)hl) != 0) {
				up_fail(c, u, 502, RSN_UPSTREAM_ERROR, "1xx response too large");
				return ING_ERR;
			}
			u->in->r += (uint32_t)hl;
			continue;
		}
		/* framing of the body toward us, and toward the client */
		int mode = head_only ? HB_NONE : m.chunked ? HB_CHUNKED : m.clen >= 0 ? HB_LENGTH : HB_CLOSE;
		hp_body_init(&u->rx, mode, m.clen >= 0 ? (uint64_t)m.clen : 0);
		if (m.minor == 0 ? !m.conn_keepalive : m.conn_close)
			u->flags &= (uint16_t)~CNF_KEEPALIVE;
		else
			u->flags |= CNF_KEEPALIVE;
		if (mode == HB_CLOSE)
			c->xflags |= XF_CLOSE; /* the client learns the end by the close */
		if (mode == HB_CHUNKED && c->minor == 0)
			c->xflags |= XF_DECHUNK | XF_CLOSE;
		if (!(c->flags & CNF_KEEPALIVE) || (c->flags & CNF_DRAIN) || !(c->xflags & XF_REQ_DONE))
			c->xflags |= XF_CLOSE;
		if ((c->flags & CNF_KEEPHEAD) && up_errpage_pod(c, u, st))
			return ING_ERR;
		int page = (c->flags & CNF_ERRPAGE) != 0; /* an error page goes out with the code it replaces */
		if (!page)
			c->status = (uint16_t)st;
		size_t before = bf_len(c->out); /* a 1xx head may be waiting */
		const struct rt_table *t = NULL;
		const struct rt_policy *pol = up_pol(c, &t);
		const char *reason = page ? rs_reason(c->status) : NULL;
		int e = bf_lit(c->out, "HTTP/1.1 ") || bf_uint(c->out, c->status) || bf_lit(c->out, " ") ||
		        (reason ? bf_append(c->out, reason, strlen(reason)) : bf_str(c->out, m.reason)) || bf_lit(c->out, "\r\n");
		for (int i = 0; i < m.nh && !e; i++) {
			const struct hp_hdr *h = &m.h[i];
			if ((up_drop_header(h, &m, 0) && !(upgrade && h->id == HH_UPGRADE)) ||
			    (pol != NULL && up_edited(c, t, pol, EK_RESP, h->name)))
				continue;
			e = bf_hdr(c->out, h->name, h->value);
		}
		if (!e && pol != NULL) /* the secure, CORS and custom response headers */
			e = up_edits(c->out, c, t, pol, EK_RESP, 0);
		/* the framing, ours; a HEAD or 304 answer keeps the length it
		 * announces (RFC 9110 8.6); 1xx and 204 have none */
		if (!e && (mode == HB_LENGTH || (head_only && st >= 200 && st != 204 && m.clen >= 0)))
			e = bf_lit(c->out, "Content-Length: ") || bf_uint(c->out, (uint64_t)m.clen) || bf_lit(c->out, "\r\n");
		else if (!e && mode == HB_CHUNKED && !(c->xflags & XF_DECHUNK))
			e = bf_lit(c->out, "Transfer-Encoding: chunked\r\n");
		if (!e && c->aux != NULL && up_fwd_cookies(st))
			e = bf_str(c->out, up_fwd_part(c, 1)); /* nginx's add_header Set-Cookie of the auth answer */
		if (!e && (c->xflags & XF_COOKIE) && c->be >= 0 && c->srv >= 0 && g_lb.s[c->be].gen == c->be_gen)
			e = lb_cookie(&g_lb.s[c->be], c->srv, (c->flags & CNF_HTTPS) != 0, c->out);
		if (!e && upgrade)
			e = bf_lit(c->out, "Connection: Upgrade\r\n");
		else if (!e && (c->xflags & XF_CLOSE))
			e = bf_lit(c->out, "Connection: close\r\n");
		else if (!e && c->minor == 0)
			e = bf_lit(c->out, "Connection: keep-alive\r\n");
		e = e || bf_lit(c->out, "\r\n");
		if (e) {
			c->out->w = c->out->r + (uint32_t)before; /* no half head before the 502 */
			up_fail(c, u, 502, RSN_UPSTREAM_ERROR, "response head too large to rewrite");
			return ING_ERR;
		}
		u->in->r += (uint32_t)hl;
		c->xflags |= XF_HEAD_SENT;
		if (upgrade) {
			cn_set_state(c, CS_TUNNEL);
			hp_body_init(&u->rx, HB_CLOSE, 0);
			hp_body_init(&c->rx, HB_CLOSE, 0);
			c->fwd = (uint32_t)bf_len(c->in); /* anything the client sent already */
		}
		return 0;
	}
}

/* Framing bytes of ours (chunk-size lines, CRLFs, the last chunk) into
 * dst->out, ahead of the payload that follows them. 0, ING_WAIT when
 * dst->out is full (it drains first), ING_ERR with no buffer left. */
static int
up_frame(struct cn *dst, const char *p, size_t n)
{
	if (dst->out == NULL && (dst->out = bf_get()) == NULL)
		return ING_ERR;
	return bf_append(dst->out, p, n) == 0 ? 0 : ING_WAIT;
}

/* Moves framed bytes from src->in to dst's socket, or behind the head
 * still waiting in dst->out, so that a head and a small body leave in one
 * write. Bodies framed by length or by the close, and tunnels, pass
 * verbatim; a chunked body's payload is passed in chunks of our own (its
 * extensions and trailers stay behind: the pod could read them as
 * headers), or bare to an HTTP/1.0 client (dechunk). Returns 1 on
 * progress, 0 when blocked or idle, ING_ERR on a write error, bad framing
 * or no buffer for the chunk framing. */
static int
up_forward(struct cn *src, struct cn *dst, int dechunk)
{
	int progress = 0, r;
	int chunks = src->rx.mode == HB_CHUNKED && !dechunk;
	char line[24];
	for (;;) {
		if (src->fwd > 0) {
			ssize_t w;
			if (bf_len(dst->out) > 0) {
				w = (ssize_t)ING_MIN((size_t)src->fwd, bf_make_room(dst->out));
				if (w == 0)
					return progress; /* dst->out is flushed first */
				bf_append(dst->out, src->in->d + src->in->r, (size_t)w);
			} else if ((w = cn_write(dst, src->in->d + src->in->r, src->fwd)) == ING_WAIT) {
				dst->flags |= CNF_WANT_WRITE;
				return progress;
			} else if (w < 0) {
				return ING_ERR;
			}
			src->in->r += (uint32_t)w;
			src->fwd -= (uint32_t)w;
			if (dst->kind == CN_CLIENT)
				dst->bytes += (uint64_t)w;
			progress = 1;
			continue;
		}
		if ((src->xflags & XF_CRLF) && (r = up_frame(dst, "\r\n", 2)) != 0)
			return r == ING_WAIT ? progress : ING_ERR;
		src->xflags &= (uint16_t)~XF_CRLF;
		dst->flags &= (uint16_t)~CNF_WANT_WRITE;
		if (src->rx.done || bf_len(src->in) == 0)
			return progress;
		if (chunks && dst->out == NULL && (dst->out = bf_get()) == NULL)
			return ING_ERR;
		if (chunks && bf_make_room(dst->out) < sizeof line)
			return progress; /* dst->out drains first */
		size_t doff, dlen;
		ssize_t k = hp_body_step(&src->rx, src->in->d + src->in->r, bf_len(src->in), &doff, &dlen);
		if (k < 0)
			return ING_ERR;
		if (k == 0)
			return progress;
		if (src->rx.mode != HB_CHUNKED) {
			src->fwd = (uint32_t)k;
			continue;
		}
		/* a chunked step is framing only or payload only (doff 0) */
		if (dlen == 0) {
			src->in->r += (uint32_t)k;
			if (chunks && src->rx.done)
				up_frame(dst, "0\r\n\r\n", 5); /* room checked above */
			continue;
		}
		src->fwd = (uint32_t)dlen;
		if (chunks) {
			size_t n = sizeof line - 2;
			line[n] = '\r';
			line[n + 1] = '\n';
			do
				line[--n] = "0123456789abcdef"[dlen & 15];
			while ((dlen >>= 4) != 0);
			up_frame(dst, line + n, sizeof line - n);
			src->xflags |= XF_CRLF;
		}
	}
}

/* A new connection for client c's request after `failed` (same server for
 * a stale pooled connection, another one for a failed connect). The
 * request head moves over. 0, or ING_ERR (then c has an answer). */
static int
up_retry(struct cn *c, struct cn *failed, int other_server)
{
	struct ing_addr a = failed->addr;
	struct bf *head = failed->out;
	struct rt_table *t = rt_live();
	int st = 502;
	char name[ING_NAME_LEN];
	struct up_tls tl = {-1, name};
	const char *why;
	if (failed->tls != NULL) { /* the same scheme, name and verification */
		tl.pod = failed->tkey & 2 ? TL_POD_INSECURE : TL_POD_VERIFY;
		memcpy(name, g_up.tname[cn_index(failed) - g_cn.base[CN_UPSTREAM]], sizeof name);
	}
	failed->out = NULL;
	cn_unpair(c);
	cn_close(failed, other_server ? "connect failed" : "stale pooled connection");
	c->retries++;
	g_up.retries++;
	if (other_server) {
		const struct rt_backend *b = NULL;
		for (int i = 0; t != NULL && i < t->nbackends; i++)
			if (t->backends[i].state == c->be)
				b = &t->backends[i];
		int avoid = -1;
		for (int i = 0; b != NULL && i < b->nsrv; i++)
			if (up_addr_eq(&t->servers[b->srv + i].addr, &a))
				avoid = i;
		int cookie = 0;
		int k = b != NULL ? lb_pick(t, b, NULL, avoid, &cookie) : -1;
		if (k < 0 || k == avoid) {
			bf_put(&head);
			up_fail(c, NULL, 502, RSN_UPSTREAM_CONNECT, "connect failed and no other server");
			return ING_ERR;
		}
		a = t->servers[b->srv + k].addr;
		c->srv = (int16_t)k;
		al_server(c, &a);
		if (cookie && g_lb.s[c->be].sticky)
			c->xflags |= XF_COOKIE;
	}
	struct cn *u = up_get(c, &a, &tl, &st, &why);
	if (u == NULL) {
		bf_put(&head);
		up_fail(c, NULL, st, st == 503 ? RSN_NO_SLOT : tl.pod >= 0 ? RSN_UPSTREAM_TLS : RSN_UPSTREAM_CONNECT, why);
		return ING_ERR;
	}
	bf_put(&u->out);
	u->out = head;
	head->r = 0;
	if (!(c->xflags & XF_PASSHOST)) { /* Host names the server: the new one */
		char *l1 = memchr(head->d, '\n', head->w), *l2;
		if (l1 != NULL && (l2 = memchr(l1 + 1, '\n', head->w - (size_t)(l1 + 1 - head->d))) != NULL) {
			char rest[ING_BUF_SIZE], srv[64];
			size_t rl = head->w - (size_t)(l2 + 1 - head->d);
			memcpy(rest, l2 + 1, rl);
			ing_addr_fmt(&a, srv, sizeof srv, 1);
			head->w = (uint32_t)(l1 + 1 - head->d);
			if (bf_printf(head, "Host: %s\r\n", srv) != 0 || bf_append(head, rest, rl) != 0) {
				up_fail(c, u, 431, RSN_HEAD_TOO_LARGE, "request head too large");
				return ING_ERR;
			}
		}
	}
	return 0;
}

/* up_reads: the pump carries on, the exchange ended (answered, failed or
 * retried: nothing more to do here), or the upstream failed. */
enum { UP_GO, UP_ENDED, UP_ERROR };

/* Reads of the pump, each side where there is room and a need; a read
 * that made progress sets *progress and that side's flag. */
static int
up_reads(struct cn *c, struct cn *u, int tunnel, int *progress, int *cprog, int *uprog)
{
	int r;
	int want_c = !(c->flags & CNF_EOF) && (tunnel || !(c->xflags & XF_REQ_DONE)) && c->fwd == 0 &&
	             (c->in == NULL || bf_make_room(c->in) > 0);
	int want_u = !(u->flags & CNF_EOF) && (tunnel || !(c->xflags & XF_HEAD_SENT) || !u->rx.done) && u->fwd == 0 &&
	             (u->in == NULL || bf_make_room(u->in) > 0);
	c->flags = (uint16_t)(want_c ? c->flags | CNF_WANT_READ : c->flags & ~CNF_WANT_READ);
	u->flags = (uint16_t)(want_u ? u->flags | CNF_WANT_READ : u->flags & ~CNF_WANT_READ);
	if (want_u) {
		r = (int)cn_fill(u);
		if (r > 0) {
			u->xflags |= XF_GOT;
			if (bf_len(u->out) == 0 && !(c->flags & CNF_KEEPHEAD))
				bf_put(&u->out); /* a head kept for a replay */
			*progress = *uprog = 1;
		} else if (r == 0) {
			if (tunnel) {
				port_shutdown_write(c->fd); /* a half-close crosses over */
				if (c->flags & CNF_EOF) {
					cn_close(c, "tunnel closed");
					return UP_ENDED;
				}
			} else if (u->rx.mode == HB_CLOSE && (c->xflags & XF_HEAD_SENT)) {
				u->rx.done = 1; /* close-delimited: this is its end */
				c->xflags |= XF_CLOSE;
				*progress = 1;
			} else if ((c->flags & CNF_SUB) && (u->xflags & XF_GOT)) {
				*progress = 1; /* an auth answer ended by the close (up_fwd_answer) */
			} else if (!(u->xflags & XF_GOT) && (u->xflags & XF_REUSED) && (c->xflags & XF_REPLAY) &&
			           c->retries < UP_MAX_RETRIES) {
				up_retry(c, u, 0); /* the new connection's connect drives it on */
				return UP_ENDED;
			} else {
				up_fail(c, u, 502, RSN_UPSTREAM_ERROR, "upstream closed before the response ended");
				return UP_ENDED;
			}
		} else if (r == ING_ERR) {
			return UP_ERROR;
		}
	}
	if (want_c) {
		r = (int)cn_fill(c);
		if (r > 0) {
			*progress = *cprog = 1;
		} else if (r == 0) {
			if (!tunnel) {
				up_fail(c, u, 400, RSN_CLIENT_CLOSED, "client closed mid-request");
				return UP_ENDED;
			}
			port_shutdown_write(u->fd);
			if (u->flags & CNF_EOF) {
				cn_close(c, "tunnel closed");
				return UP_ENDED;
			}
		} else if (r == ING_ERR) {
			rs_abort(c, c->tls != NULL ? RSN_TLS : RSN_CLIENT_CLOSED, c->tls != NULL ? tls_error(c->tls) : "client read error");
			return UP_ENDED;
		}
	}
	return UP_GO;
}

/* The pump's deadlines: each side is timed on what it owes. */
static void
up_deadlines(struct cn *c, struct cn *u, int tunnel, int cprog, int uprog)
{
	if (tunnel) {
		if (cprog || uprog || c->deadline == 0)
			cn_deadline(c, tk_after(cf_live->idle_timeout));
		cn_deadline(u, 0);
		return;
	}
	if (c->flags & CNF_WANT_WRITE) /* the client is not reading */
		cn_deadline(c, cprog || c->deadline == 0 ? tk_after(cf_live->write_timeout) : c->deadline);
	else if (!(c->xflags & XF_REQ_DONE) && (c->flags & CNF_WANT_READ)) /* a body is coming */
		cn_deadline(c, cprog || c->deadline == 0 ? tk_after(cf_live->read_timeout) : c->deadline);
	else
		cn_deadline(c, 0);
	if ((u->flags & CNF_WANT_WRITE) || ((c->xflags & XF_REQ_DONE || c->flags & CNF_EOF) && !(c->flags & CNF_WANT_WRITE)))
		cn_deadline(u, uprog || u->deadline == 0 ? tk_after(cf_live->response_header_timeout) : u->deadline);
	else
		cn_deadline(u, 0);
}

/* Runs the exchange of client c as far as it goes without blocking, then
 * sets both deadlines for what each side now waits on. */
static void
up_pump(struct cn *c)
{
	struct cn *u = cn_peer(c);
	int cprog = 0, uprog = 0;
	int tunnel = c->state == CS_TUNNEL, round;
	for (round = 0; round < UP_ROUNDS; round++) {
		int progress = 0, r;
		if (c->closing)
			return;
		if (u == NULL || u->closing) {
			up_fail(c, NULL, 502, RSN_UPSTREAM_ERROR, "upstream gone");
			return;
		}
		if (u->state == US_CONNECT)
			return;
		/* the request body (or tunnel bytes), client -> upstream; joins
		 * the head when it is still waiting */
		if (tunnel || !(c->xflags & XF_REQ_DONE)) {
			if ((r = up_forward(c, u, 0)) < 0) {
				if (!tunnel && c->fwd == 0 && c->rx.over) { /* the pod gets no byte of that chunk */
					up_fail(c, u, 413, RSN_BODY_TOO_LARGE, "request body over proxy-body-size or maxrequestbodybytes");
					return;
				}
				if (!tunnel && c->fwd == 0) {
					up_fail(c, u, 400, RSN_BAD_REQUEST, "bad chunked request body");
					return;
				}
				goto upstream_error;
			}
			if (r > 0)
				progress = uprog = 1, u->flags |= CNF_WROTE;
			if (!tunnel && c->rx.done && c->fwd == 0 && !(c->xflags & XF_CRLF))
				c->xflags |= XF_REQ_DONE;
			/* the client closed before its body ended (its EOF may have
			 * come with the head): no more comes, nothing would time out */
			if (!tunnel && !(c->xflags & XF_REQ_DONE) && (c->flags & CNF_EOF) && c->fwd == 0 && bf_len(c->in) == 0) {
				if (!(c->xflags & XF_HEAD_SENT)) {
					up_fail(c, u, 400, RSN_CLIENT_CLOSED, "client closed mid-request");
					return;
				}
				c->xflags |= XF_CLOSE; /* the answer goes on; the pod is timed on it */
			}
		}
		/* the request head; on a pooled connection, a request that may be
		 * sent again keeps it until the response starts (up_retry) */
		if (bf_len(u->out) > 0) {
			size_t before = bf_len(u->out);
			int replay = ((u->xflags & XF_REUSED) && (c->xflags & XF_REPLAY) && !(u->xflags & XF_GOT)) ||
			             (c->flags & CNF_KEEPHEAD);
			if ((r = replay ? cn_write_out(u) : cn_flush(u)) < 0)
				goto upstream_error;
			if (bf_len(u->out) < before)
				progress = uprog = 1, u->flags |= CNF_WROTE;
			if (r == 0)
				u->flags |= CNF_WANT_WRITE;
			else
				u->flags &= (uint16_t)~CNF_WANT_WRITE;
		}
		/* the response head */
		if (!(c->xflags & XF_HEAD_SENT) && bf_len(u->in) > 0) {
			if (up_response_head(c, u) != 0)
				return;
			if (c->xflags & XF_HEAD_SENT)
				progress = 1;
			tunnel = c->state == CS_TUNNEL;
		}
		/* the response body (or tunnel bytes), upstream -> client; joins
		 * the head when it is still waiting */
		if (c->xflags & XF_HEAD_SENT) {
			if ((r = up_forward(u, c, (c->xflags & XF_DECHUNK) != 0)) < 0) {
				rs_abort(c, c->fwd == 0 && u->fwd == 0 ? RSN_UPSTREAM_ERROR : RSN_CLIENT_CLOSED,
				         c->fwd == 0 && u->fwd == 0 ? "bad response framing" : "client write error");
				return;
			}
			if (r > 0)
				progress = cprog = 1;
		}
		if (bf_len(c->out) > 0) {
			size_t before = bf_len(c->out);
			if ((r = cn_flush(c)) < 0) {
				rs_abort(c, RSN_CLIENT_CLOSED, "client write error");
				return;
			}
			if (bf_len(c->out) < before)
				progress = cprog = 1;
			if (r == 0)
				c->flags |= CNF_WANT_WRITE;
			else
				c->flags &= (uint16_t)~CNF_WANT_WRITE;
		}
		if (!tunnel && (c->xflags & XF_HEAD_SENT) && u->rx.done && u->fwd == 0 && !(u->xflags & XF_CRLF) &&
		    bf_len(c->out) == 0) {
			if (!(c->xflags & XF_REQ_DONE)) /* answered before the body ended */
				c->xflags |= XF_CLOSE;
			up_finish(c, u);
			return;
		}
		/* reads, where there is room and a need */
		if ((r = up_reads(c, u, tunnel, &progress, &cprog, &uprog)) == UP_ERROR)
			goto upstream_error;
		if (r == UP_ENDED)
			return;
		if (!progress)
			break;
	}
	if (round == UP_ROUNDS) /* yielded to the others with work left */
		c->flags |= CNF_AGAIN;
	up_deadlines(c, u, tunnel, cprog, uprog);
	return;
upstream_error:
	if (!(u->xflags & XF_GOT) && (u->xflags & XF_REUSED) && (c->xflags & XF_REPLAY) && c->retries < UP_MAX_RETRIES) {
		up_retry(c, u, 0);
		return;
	}
	up_fail(c, u, 502, RSN_UPSTREAM_ERROR, errno == ECONNRESET ? "upstream reset the connection" : "upstream connection failed");
}

/* Traefik's redirect regex (an entry point's or redirect-regex): prog on
 * scheme://Host and the request target, replaced by template tp; no match,
 * or a result equal to it, goes on to the pod (0). ING_ERR: answered. */
static int
up_regex_redirect(struct cn *c, const struct hp_msg *m, const struct rx_insn *prog, const char *tp, int code)
{
	struct ing_str h = m->host.p ? m->host : (struct ing_str){"", 0};
	int il = ing_snprintf(g_up.rw, sizeof g_up.rw, "%s://%.*s%.*s", (c->flags & CNF_HTTPS) ? "https" : "http",
	                      (int)h.n, h.p, (int)m->target.n, m->target.p);
	int n = il < (int)sizeof g_up.rw - 1 ? rx_replace_all(prog, tp, g_up.rw, il, g_up.rw2, sizeof g_up.rw2) : ING_ERR;
	if (n == -2 || (n == il && !memcmp(g_up.rw2, g_up.rw, (size_t)n)))
		return 0;
	if (n < 0)
		rs_error(c, 414, RSN_BAD_REQUEST, "redirect regex: the URL is too long");
	else
		rs_location(c, code, g_up.rw2, (size_t)n);
	return ING_ERR;
}

/* The entry point's own whitelist, basic auth and redirect, on every
 * request before any route ([entryPoints.X.whiteList], .auth, .redirect).
 * Fills the client address and who[0]. 0 to go on, ING_ERR when answered. */
static int
up_entry(struct cn *c, struct hp_msg *m, int ep, struct ing_addr *client, struct up_who who[2])
{
	const struct cf_ep *cep = &cf_live->eps[ep];
	who[0] = (struct up_who){cep->auth_header[0] ? cep->auth_header : NULL, NULL};
	who[1] = (struct up_who){NULL, NULL};
	if (pp_client(c, m, client))
		al_client(c, client);
	if (cep->wl_n > 0 && !wl_allow(&cf_live->ep_cidrs[cep->wl_first], cep->wl_n, WL_LIST, client)) {
		g_up.denied++;
		rs_error(c, 403, RSN_EP_WHITELIST, "source not in the entry point's whiteList");
		return ING_ERR;
	}
	int ep_user = -1;
	if (cep->auth_basic) {
		if (up_auth(c, au_users(c, m, &cf_live->ep_users[cep->user_first], cep->user_n, &ep_user), "traefik"))
			return ING_ERR;
		who[0].user = cf_live->ep_users[cep->user_first + ep_user].name; /* passed: a user */
		al_user(c, who[0].user);
	}
	/* [entryPoints.X.redirect]: everything moves (entryPoint: 301 unless
	 * permanent is set, as before Traefik 1.7; else 1.7's codes) */
	int get = m->meth == HM_GET, perm = cep->redirect_perm;
	int code = perm > 0 ? (get ? 301 : 308) : perm == 0 || !cep->redirect_ep[0] ? (get ? 302 : 307) : 301;
	if (cep->redirect_ep[0] != '\0') {
		rs_redirect(c, m, cep->redirect_ep, code);
		return ING_ERR;
	}
	if (cep->redirect_regex[0] && up_regex_redirect(c, m, cep->redirect_rx, cep->redirect_tp, code) != 0)
		return ING_ERR;
	return 0;
}

/* Route rt's redirect instead of the pod, after the whitelists and before
 * auth as in Traefik (a redirect is not authenticated): app-root for the
 * path "/" of a route "/", else redirect-entry-point (never on that entry
 * point itself), redirect-regex (on scheme://Host and the request target;
 * a result equal to it goes on to the pod, as in Traefik) or nginx's
 * permanent- and temporal-redirect. Traefik's codes: 302 for GET, else
 * 307; 301 and 308 with redirect-permanent. 0, or ING_ERR when answered. */
static int
up_redirect(struct cn *c, const struct hp_msg *m, const struct rt_table *t, const struct rt_route *rt)
{
	const struct rt_policy *pol = &t->policies[rt->policy];
	int get = m->meth == HM_GET, n;
	int code = pol->rd_perm ? (get ? 301 : 308) : (get ? 302 : 307);
	const char *scheme = (c->flags & CNF_HTTPS) ? "https" : "http";
	struct ing_str h = m->host.p ? m->host : (struct ing_str){"", 0};
	char *url = g_up.rw2;
	if (pol->app_root >= 0 && !strcmp(g_up.target, "/") && (rt->path_len == 0 || !strcmp(rt->path, "/"))) {
		n = ing_snprintf(url, sizeof g_up.rw2, "%s://%.*s%s", scheme, (int)h.n, h.p, t->ebytes + pol->app_root);
		rs_location(c, pol->app_root_ngx ? 302 : code, url, (size_t)n);
		return ING_ERR;
	}
	if (pol->rd == RD_EP) {
		if (!strcmp(cf_live->eps[g_cn.lis[c->lis].ep].name, t->ebytes + pol->rd_arg))
			return 0;
		rs_redirect(c, m, t->ebytes + pol->rd_arg, code);
	} else if (pol->rd == RD_URL) {
		rs_location(c, pol->rd_code, t->ebytes + pol->rd_arg, strlen(t->ebytes + pol->rd_arg));
	} else if (pol->rd == RD_REGEX) {
		return up_regex_redirect(c, m, t->rx + pol->rd_rx, t->ebytes + pol->rd_arg, code);
	}
	return pol->rd ? ING_ERR : 0;
}

/* The path route rt sends its pod when its policy rewrites it, in
 * Traefik's order: rewrite-target (instead of the strip), else after the
 * strip AddPrefix, ReplacePathRegex, ReplacePath (and rule-type
 * ReplacePath); or nginx's rewrite-target with its location's groups (an
 * absolute URL there is a 302, as in nginx; a '?' brings arguments, the
 * request's after them). The result is normalized again, so a rewrite
 * never brings back a dot-segment. *path (and *query) then point into
 * g_up.rw2; rw->replaced at the path before (X-Replaced-Path, not for
 * AddPrefix or nginx). 0 to go on, or ING_ERR when answered. */
static int
up_rewrite(struct cn *c, const struct rt_table *t, const struct rt_route *rt, struct ing_str *path,
           struct ing_str *query, struct up_rw *rw)
{
	const struct rt_policy *pol = &t->policies[rt->policy];
	const char *arg = pol->rw_arg >= 0 ? t->ebytes + pol->rw_arg : "";
	char *out = g_up.rw;
	int n = 0, cap[2 * RX_GROUPS];
	size_t k = 0;
	if (rt->replace)
		n = ing_snprintf(out, sizeof g_up.rw, "%s", rt->path);
	else if (pol->rw == RW_TARGET || pol->rw == RW_ADDPREFIX)
		n = ing_snprintf(out, sizeof g_up.rw, "%s%.*s", arg, (int)path->n, path->p);
	else if (pol->rw == RW_REPLACE)
		n = ing_snprintf(out, sizeof g_up.rw, "%s", arg);
	else if (pol->rw == RW_REGEX)
		n = rx_replace_all(t->rx + pol->rw_rx, arg, path->p, (int)path->n, out, sizeof g_up.rw);
	else if (pol->rw == RW_NGINX)
		n = rt->match != MT_REGEX || !rx_exec(t->rx + rt->rx, path->p, (int)path->n, 0, cap) ? -2
		    : rx_expand(arg, path->p, cap, out, &k, sizeof g_up.rw) != 0 ? ING_ERR : (int)k;
	if (n == -2)
		return 0; /* its regex did not match: the path as it is */
	if (n < 0 || n >= (int)sizeof g_up.rw - 4) {
		rs_error(c, 414, RSN_BAD_REQUEST, "the rewritten path is too long");
		return ING_ERR;
	}
	if (pol->rw == RW_NGINX && (!strncmp(out, "http://", 7) || !strncmp(out, "https://", 8))) {
		rs_location(c, 302, out, (size_t)n);
		return ING_ERR;
	}
	if (pol->rw == RW_TARGET) /* the whole path: the target took the place of the route's */
		rw->replaced = (struct ing_str){g_up.target, (size_t)(path->p - g_up.target) + path->n};
	else if (pol->rw != RW_ADDPREFIX && pol->rw != RW_NGINX)
		rw->replaced = *path;
	/* Traefik's result is a path: its '?' and '#' are characters of it */
	char *q = pol->rw == RW_NGINX ? memchr(out, '?', (size_t)n) : NULL;
	for (int i = 0; pol->rw != RW_NGINX && i < n; i++)
		if ((out[i] == '?' || out[i] == '#') && n + 2 < (int)sizeof g_up.rw - 4) {
			memmove(out + i + 3, out + i + 1, (size_t)(n - i));
			memcpy(out + i, out[i] == '?' ? "%3F" : "%23", 3);
			n += 2;
		}
	if (out[0] != '/') { /* a path is absolute */
		memmove(out + 1, out, (size_t)n + 1);
		out[0] = '/';
		n++;
		q = q ? q + 1 : NULL;
	}
	const char *why;
	struct ing_str nq;
	int pl = rt_path_norm((struct ing_str){out, q ? (size_t)(q - out) : (size_t)n}, g_up.rw2, sizeof g_up.rw2 / 2, &nq,
	                      &why);
	if (pl < 0) {
		rs_error(c, 400, RSN_BAD_REQUEST, why);
		return ING_ERR;
	}
	*path = (struct ing_str){g_up.rw2, (size_t)pl};
	if (q != NULL) { /* nginx: the rewrite's arguments, then the request's */
		char *a = g_up.rw2 + sizeof g_up.rw2 / 2;
		int an = ing_snprintf(a, sizeof g_up.rw2 / 2, "%.*s%s%.*s", (int)(out + n - q), q,
		                      query->n > 1 && out + n - q > 1 ? "&" : "", (int)(query->n ? query->n - 1 : 0),
		                      query->n ? query->p + 1 : "");
		*query = (struct ing_str){a, (size_t)ING_MIN(an, (int)sizeof g_up.rw2 / 2 - 1)};
	}
	return 0;
}

/* Traefik's limits of route rt, where Traefik had them (after auth and
 * the breaker): max-conn (its Service's), then rate-limit (its
 * Ingress's), per route and what their extractorfunc names. 0 to go on,
 * or ING_ERR when answered (429, as Traefik). */
static int
up_limits(struct cn *c, const struct hp_msg *m, const struct rt_table *t, const struct rt_route *rt,
          const struct rt_backend *b, const struct ing_addr *client)
{
	const struct rt_policy *pol = &t->policies[rt->policy];
	uint32_t scope = str_fnv_z(str_fnv_z(st_hash(pol->ns, pol->name), rt->host >= 0 ? t->hosts[rt->host].name : "*"),
	                           rt->path);
	uint8_t key[17];
	uint64_t wait;
	enum rsn r = RSN_NONE;
	if (b->mc_amount) {
		r = rl_key(m, client, b->mc_by, b->mc_by == RK_HEADER ? t->ebytes + b->mc_hdr : NULL, key) != 0 ? RSN_NO_SLOT
		    : rl_take(c, 1, scope ^ 0x6d63u, key, NULL, 0, b->mc_amount, &wait);
		if (r == RSN_CONN_LIMIT) {
			char body[48];
			int n = ing_snprintf(body, sizeof body, "max connections reached: %u", b->mc_amount);
			rs_answer(c, 429, r, "over max-conn-amount", NULL, body, (size_t)n);
			return ING_ERR;
		}
	}
	if (r == RSN_NONE && pol->tr_n) {
		struct rl_rate rates[ING_MAX_RATESET]; /* kept unaligned in ebytes */
		memcpy(rates, t->ebytes + pol->tr, pol->tr_n * sizeof rates[0]);
		r = rl_key(m, client, pol->tr_by, pol->tr_by == RK_HEADER ? t->ebytes + pol->tr_hdr : NULL, key) != 0 ? RSN_NO_SLOT
		    : rl_take(c, 0, scope, key, rates, pol->tr_n, 0, &wait);
		if (r == RSN_RATE_LIMIT) {
			char hdr[96], body[64], d[24];
			rs_godur(wait, d, sizeof d);
			ing_snprintf(hdr, sizeof hdr, "Retry-After: %" PRIu64 "\r\nX-Retry-In: %s\r\n", (wait + 999) / 1000, d);
			int n = ing_snprintf(body, sizeof body, "max rate reached: retry-in %s", d);
			rs_answer(c, 429, r, "over rate-limit", hdr, body, (size_t)n);
			return ING_ERR;
		}
	}
	if (r != RSN_NONE)
		rs_error(c, 503, r, "no room for the limit's key (ING_MAX_RATE_KEYS)");
	return r != RSN_NONE ? ING_ERR : 0;
}

/* ---- forward auth: Traefik's auth-type forward, nginx's auth-url ----
 * The request goes first, without its body, to the auth service, on the
 * loop like any exchange (pooled connections, forwardingTimeouts); its
 * head stays in c->in meanwhile (CNF_SUB). A 2xx answer dispatches that
 * head again (CNF_FWD_OK), with what the answer adds in cn.aux; any other
 * is the client's answer: as the auth service gave it (Traefik), or
 * nginx's 401 (the auth-signin redirect), 403, else 500. An auth service
 * that cannot be asked, or does not answer in time: 503, never a pass. */

/* Headers of the auth request only ingressd writes (a client's copy never
 * goes along): X-Forwarded-* (Traefik's trusting auth keeps the client's
 * first five), then nginx's. */
static const char *const up_fwd_hdrs[] = {"X-Forwarded-Method", "X-Forwarded-Proto", "X-Forwarded-Host",
                                          "X-Forwarded-Uri", "X-Forwarded-Port", "X-Original-Method",
                                          "X-Original-URI", "X-Auth-Request-Redirect", "X-Sent-From", "X-Scheme"};

static int
up_fwd_hdr(struct ing_str n)
{
	for (int i = 0; i < (int)ING_ARRAY_LEN(up_fwd_hdrs); i++)
		if (n.n == strlen(up_fwd_hdrs[i]) && !strncasecmp(n.p, up_fwd_hdrs[i], n.n))
			return i;
	return -1;
}

/* The auth request's head into u->out: the client's headers but the
 * hop-by-hop and forwarded ones, then what the auth service is told. */
static int
up_fwd_head(struct cn *c, struct cn *u, const struct hp_msg *m, const struct rt_table *t, const struct rt_fwd *fa,
            const struct ing_addr *client)
{
	const char *eb = t->ebytes, *scheme = (c->flags & CNF_HTTPS) ? "https" : "http";
	char ca[64];
	struct ing_str host = m->host.p ? m->host : (struct ing_str){"", 0}, cs = {ca, 0};
	cs.n = (size_t)ing_addr_fmt(client->family ? client : &c->addr, ca, sizeof ca, 0);
	if (u->out == NULL && (u->out = bf_get()) == NULL)
		return ING_ERR;
	struct bf *o = u->out;
	o->r = o->w = 0;
	g_up.heads++;
	struct ing_str meth = !fa->ngx ? STR_LIT("GET") : fa->method >= 0
	                      ? (struct ing_str){eb + fa->method, strlen(eb + fa->method)} : m->method;
	int e = bf_str(o, meth) || bf_lit(o, " ") || bf_append(o, eb + fa->uri, strlen(eb + fa->uri)) ||
	        bf_lit(o, " HTTP/1.1\r\nHost: ") ||
	        (fa->own ? bf_str(o, host) : bf_append(o, eb + fa->host, strlen(eb + fa->host))) || bf_lit(o, "\r\n");
	unsigned kept = 0;
	for (int i = 0; i < m->nh && !e; i++) {
		const struct hp_hdr *h = &m->h[i];
		int k = up_fwd_hdr(h->name);
		if (fa->trust && k >= 0 && k < 5) {
			kept |= 1u << k;
			e = bf_hdr(o, h->name, h->value);
		} else if (k < 0 && h->id != HH_X_FORWARDED_FOR && !up_drop_header(h, m, 1)) {
			e = bf_hdr(o, h->name, h->value);
		}
	}
	e = e || bf_lit(o, "X-Forwarded-For: ");
	for (int i = 0; i < m->nh && !e && fa->trust; i++)
		if (m->h[i].id == HH_X_FORWARDED_FOR && m->h[i].value.n > 0)
			e = bf_str(o, m->h[i].value) || bf_lit(o, ", ");
	e = e || bf_str(o, cs) || bf_lit(o, "\r\n");
	/* what the auth service is told: Traefik's X-Forwarded-* (a trusted
	 * client's own kept), then nginx's */
	struct ing_str sch = {scheme, strlen(scheme)}, rr = fa->redirect >= 0
	                     ? (struct ing_str){eb + fa->redirect, strlen(eb + fa->redirect)} : m->target;
	const struct ing_str v[] = {m->method, sch, host, m->target};
	for (int k = 0; k < 4 && !e; k++)
		if (!(kept >> k & 1))
			e = bf_hdr(o, (struct ing_str){up_fwd_hdrs[k], strlen(up_fwd_hdrs[k])}, v[k]);
	if (!e && fa->ngx)
		e = bf_hdr(o, STR_LIT("X-Original-Method"), m->method) || bf_hdr(o, STR_LIT("X-Auth-Request-Redirect"), rr) ||
		    bf_hdr(o, STR_LIT("X-Sent-From"), STR_LIT("nginx-ingress-controller")) ||
		    bf_hdr(o, STR_LIT("X-Real-IP"), cs) || bf_lit(o, "X-Original-URL: ") || bf_str(o, sch) ||
		    bf_lit(o, "://") || bf_str(o, host) || bf_str(o, m->target) || bf_lit(o, "\r\n");
	if (!e && fa->ngx && fa->method >= 0)
		e = bf_hdr(o, STR_LIT("X-Original-URI"), m->target) || bf_hdr(o, STR_LIT("X-Scheme"), sch);
	return e || bf_lit(o, "\r\n") ? ING_ERR : 0;
}

/* Route rt's forward auth for client c's request m: the auth request is
 * on its way (or c answered). */
static void
up_fwd(struct cn *c, const struct hp_msg *m, const struct rt_table *t, const struct rt_route *rt, const char *host,
       const struct ing_addr *client)
{
	const struct rt_policy *pol = &t->policies[rt->policy];
	struct rt_fwd fa;
	memcpy(&fa, t->ebytes + pol->fwd, sizeof fa);
	const struct rt_backend *b = fa.own ? NULL : &t->backends[fa.backend];
	if (fa.own) { /* nginx's $host: the route of this host and the URL's path, itself excluded */
		const char *uri = t->ebytes + fa.uri;
		const struct rt_route *ar = rt_lookup(t, host, uri, str_span(uri, "?", 0), g_cn.lis[c->lis].ep);
		b = ar != NULL && ar != rt ? &t->backends[ar->backend] : NULL;
	}
	struct up_tls tl = {-1, NULL};
	if (fa.https && !fa.own)
		tl = (struct up_tls){fa.https - 1, t->ebytes + fa.sni};
	else if (b != NULL && fa.own && (b->auto_https || pol->proto == PR_HTTPS))
		tl = (struct up_tls){pol->pod_ctx, host};
	int st = 503, cookie;
	const char *why = b == NULL ? "auth-url: no other route serves its $host and path" : b->why ? b->why : "no server";
	struct cn *u = NULL;
	c->pol = rt->policy; /* up_fwd_answer finds the route's forward auth again */
	c->tgen = t->gen;
	c->pol_key = st_hash(pol->ns, pol->name);
	if (b != NULL && b->nsrv > 0)
		u = up_get(c, &t->servers[b->srv + lb_pick(t, b, NULL, -1, &cookie)].addr, &tl, &st, &why);
	if (u != NULL && up_fwd_head(c, u, m, t, &fa, client) != 0) {
		cn_unpair(c);
		cn_close(u, "forward auth request too large");
		u = NULL, why = "request head too large for the auth request";
	}
	if (u == NULL) {
		g_up.fwd[2]++;
		rs_error(c, 503, RSN_FWD_ERROR, why);
		return;
	}
	c->flags |= CNF_SUB;
	c->flags &= (uint16_t)~(CNF_WANT_READ | CNF_WANT_WRITE);
	c->xflags |= XF_REQ_DONE | XF_REPLAY; /* no body goes; a stale pooled connection is retried */
	hp_body_init(&c->rx, HB_NONE, 0);
	c->fwd = 0;
	c->retries = 0;
	c->status = 0;
	c->srv = -1;
	cn_deadline(c, 0);
	c->t_req = g.now;
	cn_set_state(c, CS_PROXY);
	up_pump(c);
}

/* The client's head again into g_hp.msg, for an answer that consumes it
 * (its dispatch parsed it before: the same bytes parse the same). */
static int
up_fwd_reparse(struct cn *c)
{
	size_t scan = 0;
	ssize_t hl = c->in ? hp_scan_head(c->in->d + c->in->r, bf_len(c->in), &scan) : ING_ERR;
	return hl > 0 && hp_parse_request(&g_hp.msg, c->in->d + c->in->r, (size_t)hl) == 0 ? 0 : ING_ERR;
}

/* The auth answer's body (up to a buffer), decoded into g_up.fwd_body,
 * consumed from u->in: 1 when whole, 0 when more is to come, ING_ERR when
 * badly framed or larger than a buffer. */
static int
up_fwd_body(struct cn *u, const struct hp_msg *rm, size_t hl, int none, struct ing_str *body)
{
	struct hp_body b;
	const char *p = u->in->d + u->in->r + hl;
	size_t n = bf_len(u->in) - hl, used = 0, got = 0;
	hp_body_init(&b, none ? HB_NONE : rm->chunked ? HB_CHUNKED : rm->clen >= 0 ? HB_LENGTH : HB_CLOSE,
	             rm->clen >= 0 ? (uint64_t)rm->clen : 0);
	while (!b.done && used < n) {
		size_t doff = 0, dlen = 0;
		ssize_t k = hp_body_step(&b, p + used, n - used, &doff, &dlen);
		if (k < 0)
			return ING_ERR;
		memcpy(g_up.fwd_body + got, p + used + doff, dlen);
		got += dlen;
		used += (size_t)k;
		if (k == 0)
			break;
	}
	if (b.mode == HB_CLOSE)
		b.done = (u->flags & CNF_EOF) != 0;
	if (!b.done)
		return bf_make_room(u->in) == 0 ? ING_ERR : 0;
	*body = (struct ing_str){g_up.fwd_body, got};
	u->in->r += (uint32_t)(hl + used);
	return 1;
}

/* What a 2xx auth answer adds, kept in c->aux: the auth-response-headers
 * it has (for the request), a NUL, then nginx's Set-Cookie (for the
 * response). 0, or ING_ERR with no buffer. */
static int
up_fwd_keep(struct cn *c, const struct rt_table *t, const struct rt_fwd *fa, const struct hp_msg *rm)
{
	if (c->aux == NULL && (c->aux = bf_get()) == NULL)
		return ING_ERR;
	struct bf *o = c->aux;
	int e = 0;
	o->r = o->w = 0;
	for (int pass = 0; pass < 2 && !e; pass++) {
		for (int i = 0; i < rm->nh && !e; i++) {
			struct ing_str item, list = fa->hdrs >= 0 ? (struct ing_str){t->ebytes + fa->hdrs, strlen(t->ebytes + fa->hdrs)}
			                                          : (struct ing_str){NULL, 0};
			int want = pass == 1 ? fa->ngx && str_ieq(rm->h[i].name, "set-cookie") : 0;
			while (pass == 0 && !want && list.n && str_item(&list, &item))
				want = item.n == rm->h[i].name.n && !strncasecmp(item.p, rm->h[i].name.p, item.n);
			if (want)
				e = bf_hdr(o, rm->h[i].name, rm->h[i].value);
		}
		e = e || (pass == 0 && bf_append(o, "", 1));
	}
	return e ? ING_ERR : 0;
}

/* nginx's auth-signin as a Location: its variables replaced, and rd= the
 * request's URL unless it has an rd= of its own (ingress-nginx's rule). */
static int
up_fwd_signin(struct bf *o, const struct cn *c, const struct hp_msg *m, const char *s)
{
	const char *scheme = (c->flags & CNF_HTTPS) ? "https" : "http";
	struct ing_str host = m->host.p ? m->host : (struct ing_str){"", 0}, name = host;
	const char *colon = name.p[0] == '[' ? NULL : memchr(name.p, ':', name.n);
	if (colon != NULL)
		name.n = (size_t)(colon - name.p);
	int e = bf_lit(o, "Location: ");
	for (const char *p = s; *p && !e;) {
		int k = 0;
		while (*p == '$' && rb_ngx_vars[k] && strncmp(p, rb_ngx_vars[k], strlen(rb_ngx_vars[k])) != 0)
			k++;
		if (*p != '$' || rb_ngx_vars[k] == NULL) {
			e = bf_append(o, p++, 1);
			continue;
		}
		p += strlen(rb_ngx_vars[k]); /* $host $http_host $best_http_host $scheme $pass_access_scheme $request_uri $escaped_request_uri */
		e = k == 0 ? bf_str(o, name) : k < 3 ? bf_str(o, host) : k < 5 ? bf_append(o, scheme, strlen(scheme))
		  : k == 5 ? bf_str(o, m->target) : up_query_escape(o, m->target.p, m->target.n);
	}
	const char *q = strchr(s, '?');
	int has_rd = q != NULL && (!strncmp(q + 1, "rd=", 3) || str_str(q, "&rd=") != NULL);
	if (!e && !has_rd)
		e = bf_append(o, q ? "&rd=" : "?rd=", 4) || up_query_escape(o, scheme, strlen(scheme)) ||
		    bf_lit(o, "%3A%2F%2F") || up_query_escape(o, host.p, host.n) ||
		    up_query_escape(o, m->target.p, m->target.n);
	return e || bf_lit(o, "\r\n");
}

/* A denying auth answer to the client: Traefik's as given (its headers
 * but the hop-by-hop and framing ones, and its body); nginx's 401 (with
 * the auth's WWW-Authenticate), or the auth-signin redirect with rd= (and
 * the auth's Set-Cookie), 403, or 500 for anything else. */
static void
up_fwd_deny(struct cn *c, const struct rt_table *t, const struct rt_fwd *fa, const struct hp_msg *rm,
            struct ing_str body)
{
	static struct bf o; /* the headers */
	int st = rm->status, e = 0;
	o.r = o.w = 0;
	const char *signin = fa->signin >= 0 ? t->ebytes + fa->signin : NULL;
	if (fa->ngx)
		st = st == 401 && signin ? 302 : st == 401 || st == 403 ? st : 500;
	for (int i = 0; i < rm->nh && !e; i++) {
		const struct hp_hdr *x = &rm->h[i];
		if (fa->ngx ? (st == 401 && str_ieq(x->name, "www-authenticate")) || (st == 302 && str_ieq(x->name, "set-cookie"))
		            : !up_drop_header(x, rm, 0) && !str_ieq(x->name, "content-type"))
			e = bf_hdr(&o, x->name, x->value);
	}
	if (!e && fa->ngx && st == 302)
		e = up_fwd_signin(&o, c, &g_hp.msg, signin);
	const struct ing_str ct = hp_header(rm, "content-type");
	if (e || bf_append(&o, "", 1) != 0) {
		rs_error(c, 500, RSN_FWD_ERROR, "the auth answer's head is too large");
		return;
	}
	char ctype[128];
	ing_snprintf(ctype, sizeof ctype, "%.*s", (int)ING_MIN(ct.n, 127), ct.p ? ct.p : "");
	if (fa->ngx || !ct.p)
		ing_snprintf(ctype, sizeof ctype, "text/plain; charset=utf-8");
	if (fa->ngx) {
		static char b[64];
		body.n = (size_t)ing_snprintf(b, sizeof b, "%d %s\n", st, rs_reason(st));
		body.p = b;
	}
	rs_answer_as(c, st, st == 500 ? RSN_FWD_ERROR : RSN_FWD_DENIED, "the auth service denied", ctype, o.d, body.p,
	             body.n);
}

/* The auth service answered client c's request (head rm, hl bytes, in
 * u->in): once its body is in, the request goes on or is answered; ING_ERR
 * when c's exchange is over (as up_response_head's callers take it). */
static int
up_fwd_answer(struct cn *c, struct cn *u, const struct hp_msg *rm, size_t hl)
{
	struct ing_str body = {NULL, 0};
	const struct rt_table *t = NULL;
	const struct rt_policy *pol = up_pol_of(c, &t);
	if (pol == NULL || pol->fwd < 0) {
		up_fail(c, u, 503, RSN_FWD_ERROR, "the route changed while its auth request ran");
		return ING_ERR;
	}
	struct rt_fwd fa;
	memcpy(&fa, t->ebytes + pol->fwd, sizeof fa);
	/* the body is read (so the connection can be kept) up to a buffer; it
	 * matters only to Traefik's denial, which passes it on */
	int st = rm->status, want = !fa.ngx && (st < 200 || st > 299);
	int r = up_fwd_body(u, rm, hl, st == 204 || st == 304 || st < 200, &body);
	if (r == 0 && !(u->flags & CNF_EOF))
		return 0;
	if (want && r <= 0) {
		up_fail(c, u, 503, RSN_FWD_ERROR, r ? "the auth answer is too large or badly framed" : "the auth service closed mid-answer");
		return ING_ERR;
	}
	bf_put(&u->out); /* the head kept for a replay */
	cn_unpair(c);
	if (r == 1 && (rm->minor == 0 ? rm->conn_keepalive : !rm->conn_close))
		up_pool_put(u);
	else
		cn_close(u, "forward auth done");
	c->flags &= (uint16_t)~CNF_SUB;
	c->xflags &= XF_SSL | XF_CORS | XF_EDITS;
	if (up_fwd_reparse(c) != 0) {
		cn_close(c, "request head lost");
		return ING_ERR;
	}
	if (st < 200 || st > 299) {
		g_up.fwd[1]++;
		up_fwd_deny(c, t, &fa, rm, body);
		return ING_ERR;
	}
	g_up.fwd[0]++;
	if (up_fwd_keep(c, t, &fa, rm) != 0) {
		rs_error(c, 503, RSN_NO_SLOT, "no I/O buffer (ING_MAX_BUFS)");
		return ING_ERR;
	}
	c->flags |= CNF_FWD_OK | CNF_RESUME;
	cn_set_state(c, CS_HEAD);
	cl_advance(c);
	return ING_ERR;
}

/* ---- error pages: Traefik's error-pages, nginx's custom-http-errors and
 * default backends ----
 * An answer with a matching code - the pod's, before any of it went out,
 * or ingressd's own 503 (no endpoints) and 404 (no route) - is replaced
 * by a GET to the error page's backend, whose answer the client gets
 * with the original code. That exchange is never replaced again; if it
 * fails, ingressd answers the original code itself. */

/* Policy pol's error page for code st (own: ingressd's own answer), or
 * NULL. The first that matches, in the Ingress's order. */
static const struct rt_errpage *
up_errpage_of(const struct rt_table *t, const struct rt_policy *pol, int st, int own, struct rt_errpage *e)
{
	for (int i = 0; pol != NULL && i < pol->nerrp; i++) {
		memcpy(e, t->ebytes + pol->errp + (size_t)i * sizeof *e, sizeof *e);
		if (st >= e->lo && st <= e->hi && (own || e->how != EH_DEFAULT))
			return e;
	}
	return NULL;
}

/* The error page's request, from request head hm: GET the page (Traefik's
 * query, "{status}" filled in; nginx's "/", with X-Code and the rest; a
 * default backend: the request's own target), hm's headers but the
 * hop-by-hop and framing ones. */
static int
up_errpage_head(struct bf *o, const struct hp_msg *hm, const struct rt_table *t, const struct rt_errpage *e, int st,
                const struct rt_policy *pol)
{
	static const char *const ngx[] = {"x-code", "x-format", "x-original-uri", "x-namespace", "x-ingress-name"};
	char code[8];
	struct ing_str cs = {code, (size_t)ing_snprintf(code, sizeof code, "%d", st)};
	int e_ = bf_lit(o, "GET ");
	if (e->how == EH_TRAEFIK)
		for (const char *q = t->ebytes + e->query; *q && !e_; q++)
			e_ = strncmp(q, "{status}", 8) == 0 ? (q += 7, bf_str(o, cs)) : bf_append(o, q, 1);
	else
		e_ = e_ || bf_str(o, e->how == EH_NGINX ? STR_LIT("/") : hm->target);
	e_ = e_ || bf_lit(o, " HTTP/1.1\r\n");
	for (int i = 0; i < hm->nh && !e_; i++) {
		int k = 0;
		while (e->how == EH_NGINX && k < 5 && !str_ieq(hm->h[i].name, ngx[k]))
			k++;
		if (!up_drop_header(&hm->h[i], hm, 0) && (e->how != EH_NGINX || k == 5))
			e_ = bf_hdr(o, hm->h[i].name, hm->h[i].value);
	}
	if (!e_ && e->how == EH_NGINX && pol != NULL)
		e_ = bf_hdr(o, STR_LIT("X-Code"), cs) || bf_hdr(o, STR_LIT("X-Format"), hp_header(hm, "accept")) ||
		     bf_hdr(o, STR_LIT("X-Original-URI"), hm->target) ||
		     bf_hdr(o, STR_LIT("X-Namespace"), (struct ing_str){pol->ns, strlen(pol->ns)}) ||
		     bf_hdr(o, STR_LIT("X-Ingress-Name"), (struct ing_str){pol->name, strlen(pol->name)});
	return e_ || bf_lit(o, "\r\n");
}

/* Client c's answer `st` comes from error page e: its request (from head
 * hm; consume: hm is c's own, still in c->in) goes out. 0, or ING_ERR when
 * the page cannot be asked for (the caller answers st itself). */
static int
up_errpage(struct cn *c, const struct hp_msg *hm, const struct rt_table *t, const struct rt_policy *pol,
           const struct rt_errpage *e, int st, int consume)
{
	const struct rt_backend *b = &t->backends[e->backend];
	struct up_tls tl = {-1, NULL};
	const char *why;
	int s = 503, cookie;
	struct cn *u = b->nsrv > 0 ? up_get(c, &t->servers[b->srv + lb_pick(t, b, NULL, -1, &cookie)].addr, &tl, &s, &why)
	                          : NULL;
	int bad = u != NULL && u->out == NULL && (u->out = bf_get()) == NULL;
	if (u != NULL && !bad) {
		u->out->r = u->out->w = 0;
		bad = up_errpage_head(u->out, hm, t, e, st, pol) != 0;
	}
	if (bad) {
		cn_unpair(c);
		cn_close(u, "error page request too large");
		u = NULL;
	}
	if (u == NULL)
		return ING_ERR;
	if (consume) { /* its body, unread, ends the connection after the page */
		c->in->r += (uint32_t)hm->head_len;
		if (hm->clen > 0 || hm->chunked)
			c->flags &= (uint16_t)~CNF_KEEPALIVE;
	}
	c->flags = (uint16_t)((c->flags | CNF_ERRPAGE) & ~(CNF_KEEPHEAD | CNF_WANT_READ | CNF_WANT_WRITE));
	c->xflags = (uint16_t)((c->xflags & (XF_SSL | XF_CORS | XF_EDITS | XF_CLOSE)) | XF_REQ_DONE | XF_REPLAY);
	c->status = (uint16_t)st;
	c->srv = -1;
	c->fwd = 0;
	c->retries = 0;
	cn_deadline(c, 0);
	hp_body_init(&c->rx, HB_NONE, 0);
	cn_set_state(c, CS_PROXY);
	up_pump(c);
	return 0;
}

/* The pod answered client c's body-less request with code st: its error
 * page instead, when the route has one (the pod's request head, kept in
 * u->out, gives the page's). 1 when the page is on its way. */
static int
up_errpage_pod(struct cn *c, struct cn *u, int st)
{
	static struct hp_msg hm;
	struct rt_errpage e;
	size_t scan = 0;
	const struct rt_table *t = NULL;
	const struct rt_policy *pol = up_pol_of(c, &t);
	c->flags &= (uint16_t)~CNF_KEEPHEAD;
	if (up_errpage_of(t, pol, st, 0, &e) == NULL || u->out == NULL) {
		if (bf_len(u->out) == 0)
			bf_put(&u->out);
		return 0;
	}
	ssize_t hl = hp_scan_head(u->out->d, u->out->w, &scan);
	if (hl <= 0 || hp_parse_request(&hm, u->out->d, (size_t)hl) != 0)
		return 0;
	up_outcome(c, st); /* the pod's answer counts for its balancer and breaker */
	c->xflags &= (uint16_t)~XF_COOKIE;
	cn_unpair(c);
	cn_close(u, "answer replaced by an error page");
	if (up_errpage(c, &hm, t, pol, &e, st, 0) != 0)
		up_fail(c, NULL, st, RSN_UPSTREAM_ERROR, "error page backend unavailable");
	return 1;
}

/* The route's policy, in order: the secure options (up_secure), the
 * whitelists, nginx's limits (503, as nginx), CORS, basic auth (who[1]),
 * an unsupported pod protocol. 0 to go on, ING_ERR when answered. */
static int
up_policy(struct cn *c, struct hp_msg *m, const struct rt_table *t, const struct rt_route *rt, const char *host,
          const struct ing_addr *client, struct up_who who[2])
{
	int pi = rt->policy;
	const struct rt_policy *pol = &t->policies[pi];
	const struct cf_ep *cep = &cf_live->eps[g_cn.lis[c->lis].ep];
	if (up_secure(c, m, t, pi, host) != 0)
		return ING_ERR;
	if (!wl_pass(t, pol, client)) { /* the whitelists first, then auth (the seed's order) */
		g_up.denied++;
		rs_error(c, 403, RSN_WHITELIST, "source not in whitelist-source-range");
		return ING_ERR;
	}
	if ((pol->rd || pol->app_root >= 0) && up_redirect(c, m, t, rt) != 0)
		return ING_ERR;
	enum rsn lim = c->flags & CNF_FWD_OK ? RSN_NONE : rl_check(c, t, pol, client); /* counted on its first pass */
	if (lim != RSN_NONE) {
		rs_error(c, 503, lim, lim == RSN_RATE_LIMIT ? "over limit-rps or limit-rpm" : lim == RSN_CONN_LIMIT
		         ? "over limit-connections" : "no room for the client's limits (ING_MAX_RATE_KEYS)");
		return ING_ERR;
	}
	if ((pol->hflags & HF_CORS) && up_cors(c, m, t, pol))
		return ING_ERR;
	if (cep->auth_basic && cep->auth_remove)
		c->xflags |= XF_DROPAUTH;
	if (pol->auth != AU_OFF) {
		int user = -1, st = au_request(c, m, t->users, pol, &user);
		if (user >= 0)
			al_user(c, t->users[user].name);
		if (up_auth(c, st, pol->realm))
			return ING_ERR;
		who[1] = (struct up_who){pol->auth_header[0] ? pol->auth_header : NULL, t->users[user].name};
		if (pol->auth_remove)
			c->xflags |= XF_DROPAUTH;
	}
	if (pol->fwd >= 0 && !(c->flags & CNF_FWD_OK)) {
		up_fwd(c, m, t, rt, host, client);
		return ING_ERR;
	}
	if (pol->proto == PR_UNSUP) { /* never plain text to a pod that speaks something else */
		rs_error(c, 502, RSN_BACKEND_PROTOCOL, pol->proto_bad);
		return ING_ERR;
	}
	return 0;
}

/* Routes and sends a parsed request (the head is in c->in). */
static void
up_dispatch(struct cn *c, struct hp_msg *m)
{
	struct rt_table *t = rt_live();
	char host[ING_NAME_LEN + 8];
	struct ing_str query;
	int ep = g_cn.lis[c->lis].ep, st = 502;
	const char *why;
	int pl = rt_path_norm(m->path, g_up.target, sizeof g_up.target, &query, &why);
	if (pl < 0) {
		rs_error(c, 400, RSN_BAD_REQUEST, why);
		return;
	}
	const char *mp = g_up.target; /* the path routes match */
	size_t ml = (size_t)pl;
	if (memchr(g_up.target, ';', ml) != NULL || memchr(g_up.target, '%', ml) != NULL) {
		ml = rt_match_form(g_up.target, ml, g_up.match, (size_t)-1);
		mp = g_up.match;
	}
	if (rt_host_norm(m->host.p ? m->host : (struct ing_str){"", 0}, host, sizeof host) == 0)
		host[0] = '\0';
	struct up_who who[2];
	struct ing_addr client; /* whom the whitelists check (pp_client) */
	if (up_entry(c, m, ep, &client, who) != 0)
		return;
	const struct rt_route *rt = t != NULL ? rt_lookup(t, host, mp, ml, ep) : NULL;
	if (rt == NULL) { /* [kubernetes] defaultBackend answers it, else ingressd */
		struct rt_errpage d = {404, 404, EH_DEFAULT, t ? t->defbe : -1, -1};
		if (d.backend < 0 || up_errpage(c, m, t, NULL, &d, 404, 1) != 0)
			rs_error(c, 404, RSN_NO_ROUTE, "no route");
		return;
	}
	if (rt->canon) { /* nginx's from-to-www-redirect: the other name moves to the rule's, port kept */
		int https = (c->flags & CNF_HTTPS) != 0;
		const char *colon = m->host.p ? memchr(m->host.p, ':', m->host.n) : NULL;
		unsigned port = https ? 443 : 80;
		uint64_t u = 0; /* digits only (hp_host_ok); "host:" is port 0 */
		if (colon != NULL) {
			str_to_u64((struct ing_str){colon + 1, (size_t)(m->host.p + m->host.n - colon - 1)}, UINT_MAX, &u);
			port = (unsigned)u;
		}
		rs_redirect_to(c, m, https, t->hosts[rt->canon - 1].name, port, 308);
		return;
	}
	const struct rt_backend *b = &t->backends[rt->narm ? lb_split(t, rt, m) : rt->backend];
	const struct rt_policy *pol = &t->policies[rt->policy];
	c->xflags = 0;
	c->be = b->state;
	c->be_gen = b->state >= 0 ? g_lb.s[b->state].gen : 0;
	c->srv = -1;
	c->bytes = 0;
	al_route(c, t, rt);
	if (up_policy(c, m, t, rt, host, &client, who) != 0)
		return;
	if (b->refused != NULL) {
		rs_error(c, 500, RSN_ROUTE_CONFIG, b->refused);
		return;
	}
	struct up_tls tl = {-1, NULL};
	if (pol->proto == PR_HTTPS || (pol->proto == PR_AUTO && b->auto_https))
		tl = (struct up_tls){pol->pod_ctx, up_tls_name(t, b, pol, host)};
	if (b->nsrv == 0) { /* an error page or a default backend answers it, else ingressd */
		struct rt_errpage d = {503, 503, EH_DEFAULT, t->defbe, -1}, pe;
		const struct rt_errpage *e = up_errpage_of(t, pol, 503, 1, &pe);
		if ((e == NULL && d.backend < 0) || up_errpage(c, m, t, pol, e ? e : &d, 503, 1) != 0)
			rs_error(c, 503, RSN_NO_SERVER, b->why);
		return;
	}
	if (pol->nerrp && m->clen <= 0 && !m->chunked) { /* its pod's answer may be replaced: the head is kept */
		c->flags |= CNF_KEEPHEAD;
		c->pol = rt->policy;
		c->tgen = t->gen;
		c->pol_key = st_hash(pol->ns, pol->name);
	}
	/* the path the pod sees: normalized, the matched prefix stripped, or
	 * rewritten (up_rewrite) */
	struct ing_str path = {g_up.target, (size_t)pl};
	struct up_rw rw = {{NULL, 0}, pol->xfp >= 0 ? t->ebytes + pol->xfp : NULL};
	if ((rt->strip || pol->rw == RW_TARGET) && rt->path_len > 0 && rt->match != MT_REGEX) {
		size_t cut = mp == g_up.target ? rt->path_len : rt_match_form(g_up.target, (size_t)pl, g_up.match, rt->path_len);
		if (pol->rw == RW_TARGET && rt->path_len == 1)
			cut = 0; /* Traefik's path "/": the target goes before the whole path */
		path.p += ING_MIN(cut, path.n);
		path.n -= ING_MIN(cut, path.n);
		if (pol->rw != RW_TARGET && (path.n == 0 || path.p[0] != '/')) { /* keep a leading slash */
			path.p--;
			path.n++;
			g_up.target[path.p - g_up.target] = '/';
		}
	}
	if ((pol->rw || rt->replace) && up_rewrite(c, t, rt, &path, &query, &rw) != 0)
		return;
	c->meth = (uint8_t)m->meth;
	c->minor = (uint8_t)m->minor;
	c->retries = 0;
	c->status = 0;
	c->t_req = g.now;
	if (pol->pass_host)
		c->xflags |= XF_PASSHOST;
	/* h2c is not tunnelled: behind it the pod would take requests that
	 * were never routed (h2c smuggling); the request goes on as HTTP/1.1 */
	if (m->conn_upgrade && m->upgrade.n > 0 && !hp_has_token(m->upgrade, "h2c"))
		c->xflags |= XF_UPGRADE;
	int idemp = m->meth == HM_GET || m->meth == HM_HEAD || m->meth == HM_OPTIONS || m->meth == HM_PUT ||
	            m->meth == HM_DELETE || m->meth == HM_TRACE;
	if (idemp)
		c->xflags |= XF_IDEMP;
	if (idemp && m->clen <= 0 && !m->chunked)
		c->xflags |= XF_REPLAY;
	/* the one framing decision for the request: the head sent upstream
	 * (up_request_head) and the bytes forwarded (up_forward) follow it */
	hp_body_init(&c->rx, m->chunked ? HB_CHUNKED : m->clen >= 0 ? HB_LENGTH : HB_NONE, m->clen > 0 ? (uint64_t)m->clen : 0);
	uint64_t bmax = b->body_max && (!pol->body_max || b->body_max < pol->body_max) ? b->body_max : pol->body_max;
	if (bmax > 0 && m->clen > 0 && (uint64_t)m->clen > bmax) {
		rs_error(c, 413, RSN_BODY_TOO_LARGE, "request body over proxy-body-size or maxrequestbodybytes");
		return;
	}
	c->rx.allow = bmax > 0 ? bmax + 1 : 0; /* a chunked body is cut at it */
	c->fwd = 0;
	struct lb_state *ls = &g_lb.s[b->state];
	if (!cb_allow(ls->cb)) { /* its own answer is not fed back to it (srv -1) */
		rs_error(c, 503, RSN_BREAKER, "circuit breaker open");
		return;
	}
	if ((b->mc_amount || pol->tr_n) && up_limits(c, m, t, rt, b, &client) != 0)
		return;
	int cookie;
	int k = lb_pick(t, b, m, -1, &cookie);
	c->srv = (int16_t)k;
	if (cookie)
		c->xflags |= XF_COOKIE;
	al_server(c, &t->servers[b->srv + k].addr);
	struct cn *u = up_get(c, &t->servers[b->srv + k].addr, &tl, &st, &why);
	if (u == NULL) {
		rs_error(c, st, st == 503 ? RSN_NO_SLOT : tl.pod >= 0 ? RSN_UPSTREAM_TLS : RSN_UPSTREAM_CONNECT, why);
		return;
	}
	if ((st = up_request_head(c, u, m, rt, path, query, who, &rw, t->policies[rt->policy].pass_cert)) != 0) {
		up_fail(c, u, st, RSN_HEAD_TOO_LARGE, "request head too large");
		c->in->r += (uint32_t)m->head_len;
		return;
	}
	c->in->r += (uint32_t)m->head_len;
	cn_set_state(c, CS_PROXY);
	c->flags &= (uint16_t)~(CNF_WANT_READ | CNF_WANT_WRITE);
	cn_deadline(c, 0);
	up_pump(c);
}

/* Events on the client side of an exchange. */
static void
up_client_io(struct cn *c)
{
	up_pump(c);
}

/* The TLS handshake of upstream u ran: on to the exchange, or 502 with
 * the reason (not retried: a certificate or a protocol mismatch would
 * fail the same way again). */
static int
up_handshake(struct cn *c, struct cn *u)
{
	int r = tls_handshake(u->tls);
	if (r == ING_WAIT)
		return ING_WAIT;
	if (r < 0) {
		int cert = (tls_info(u->tls) & ING_TLS_CERT) != 0;
		g_up.tls_fail[cert ? UT_CERT : UT_HANDSHAKE]++;
		ing_snprintf(g_up.why, sizeof g_up.why, "TLS handshake with the pod failed: %s", tls_error(u->tls));
		up_fail(c, u, 502, RSN_UPSTREAM_TLS, g_up.why);
		return ING_ERR;
	}
	if (tls_info(u->tls) & ING_TLS_RESUMED)
		g_up.tls_resumed++;
	else
		g_up.tls_new++;
	u->flags &= (uint16_t)~CNF_HANDSHAKE;
	cn_set_state(u, US_ACTIVE);
	return 0;
}

/* Events on an upstream connection. */
static void
up_io(struct cn *u)
{
	struct cn *c = cn_peer(u);
	if (u->state == US_POOL) {
		cn_close(u, "closed by the server while idle");
		return;
	}
	if (c == NULL) {
		cn_close(u, "client gone");
		return;
	}
	if (u->state == US_CONNECT && !(u->flags & CNF_HANDSHAKE)) {
		if (port_connect_done(u->fd) != 0) {
			int refused = errno == ECONNREFUSED;
			char a[64];
			ing_addr_fmt(&u->addr, a, sizeof a, 1);
			log_debug("up: %s: connect: %s", a, ing_strerror(errno));
			if ((c->xflags & XF_IDEMP) && c->retries < UP_MAX_RETRIES) {
				if (up_retry(c, u, 1) == 0)
					return;
				return;
			}
			up_fail(c, u, 502, RSN_UPSTREAM_CONNECT, refused ? "connection refused" : "connect failed");
			return;
		}
		if (u->tls != NULL)
			u->flags |= CNF_HANDSHAKE;
		else
			cn_set_state(u, US_ACTIVE);
	}
	if (u->state == US_CONNECT && up_handshake(c, u) != 0)
		return;
	up_pump(c);
}

/* A deadline passed on either side of an exchange, or on a pooled one. */
static void
up_timeout(struct cn *x)
{
	struct cn *c = x->kind == CN_CLIENT ? x : cn_peer(x);
	struct cn *u = x->kind == CN_UPSTREAM ? x : c ? cn_peer(c) : NULL;
	if (x->kind == CN_UPSTREAM && x->state == US_POOL) {
		cn_close(x, "idle in the pool");
		return;
	}
	if (c == NULL) {
		cn_close(x, "timeout");
		return;
	}
	if (x == u && u->state == US_CONNECT && !(u->flags & CNF_HANDSHAKE) && (c->xflags & XF_IDEMP) &&
	    c->retries < UP_MAX_RETRIES) {
		if (up_retry(c, u, 1) == 0)
			return;
		return;
	}
	if (c->state == CS_TUNNEL) {
		cn_close(c, "tunnel idle");
		return;
	}
	if (x == c) {
		if (c->flags & CNF_WANT_WRITE)
			rs_abort(c, RSN_CLIENT_TIMEOUT, "client too slow to read (writeTimeout)");
		else
			up_fail(c, u, 408, RSN_CLIENT_TIMEOUT, "client too slow to send the body (readTimeout)");
		return;
	}
	if (u->flags & CNF_HANDSHAKE)
		g_up.tls_fail[UT_TIMEOUT]++;
	up_fail(c, u, 504, RSN_UPSTREAM_TIMEOUT,
	        u->state != US_CONNECT          ? "upstream too slow (responseHeaderTimeout)"
	        : u->flags & CNF_HANDSHAKE ? "TLS handshake with the pod timed out (dialTimeout)"
	                                   : "connect timed out (dialTimeout)");
}

/* ===== 19. responses of our own ======================================= rs_
 * Each with a short text body. An answer to a request whose body was not
 * read closes the connection afterwards.
 */
static const char *
rs_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 204: return "No Content";
	case 300: return "Multiple Choices";
	case 301: return "Moved Permanently";
	case 302: return "Found";
	case 303: return "See Other";
	case 307: return "Temporary Redirect";
	case 308: return "Permanent Redirect";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 406: return "Not Acceptable";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
	case 429: return "Too Many Requests";
	case 431: return "Request Header Fields Too Large";
	case 500: return "Internal Server Error";
	case 502: return "Bad Gateway";
	case 503: return "Service Unavailable";
	case 504: return "Gateway Timeout";
	case 505: return "HTTP Version Not Supported";
	default: return "Unknown";
	}
}

/* Queue a complete response on c and start writing it. The request head
 * (head_len bytes) is consumed from c->in; with a request body pending the
 * connection closes after the answer. */
static void
rs_send(struct cn *c, int status, const char *ctype, const char *headers, const char *body, size_t blen, int head_only)
{
	if (c->out == NULL && (c->out = bf_get()) == NULL) {
		cn_close(c, "no I/O buffer (ING_MAX_BUFS)");
		return;
	}
	int keep = (c->flags & CNF_KEEPALIVE) && !(c->flags & CNF_DRAIN);
	const struct rt_table *t = NULL;
	const struct rt_policy *pol = up_pol(c, &t);
	if (bf_printf(c->out, "HTTP/1.1 %d %s\r\n", status, rs_reason(status)) != 0 ||
	    (status != 204 && bf_printf(c->out, "Content-Type: %s\r\nContent-Length: %zu\r\n", ctype, blen) != 0) ||
	    (pol != NULL && up_edits(c->out, c, t, pol, EK_RESP, 1) != 0) ||
	    bf_printf(c->out, "%s%s\r\n", headers ? headers : "", keep ? "" : "Connection: close\r\n") != 0 ||
	    (!head_only && bf_append(c->out, body, blen) != 0)) {
		cn_close(c, "response too large");
		return;
	}
	if (!keep)
		c->flags &= (uint16_t)~CNF_KEEPALIVE;
	mx_done(c, status, head_only ? 0 : blen);
	cn_set_state(c, CS_LOCAL);
	c->flags &= (uint16_t)~CNF_WANT_READ;
	cn_deadline(c, tk_after(cf_live->write_timeout));
	cl_write(c);
}

/* An error answer: consumes the head, and closes afterwards when the
 * request was unreadable or had a body we did not read. */
/* Own answers and cut client connections, by reason: counted by status
 * (the last column: a cut, no answer), put in the access log, and logged
 * at INFO at most once a second per reason, with how many were not. */
static const int rs_codes[] = {204, 300, 301, 302, 303, 307, 308, 400, 401, 403, 404, 405, 406, 408, 413, 429, 431, 500, 501, 502, 503, 504, 505, 0};
#define RS_NCODES ING_ARRAY_LEN(rs_codes)
static struct {
	uint64_t n[RSN__COUNT][RS_NCODES];
	uint64_t logged_s[RSN__COUNT]; /* second of the last line, + 1 */
	uint64_t quiet[RSN__COUNT];    /* not logged since */
} g_rs;

static void
rs_note(struct cn *c, enum rsn r, int status, const char *why)
{
	size_t k = 0;
	char a[64];
	while (rs_codes[k] != 0 && rs_codes[k] != status)
		k++;
	g_rs.n[r][k]++;
	al_reason(c, r);
	if (r == RSN_REDIRECT || r == RSN_CORS) /* answers as configured: counted, not logged */
		return;
	if (g_rs.logged_s[r] == g.now / 1000 + 1) {
		g_rs.quiet[r]++;
		return;
	}
	char st[8] = "cut", more[64] = "";
	ing_addr_fmt(&c->addr, a, sizeof a, 0);
	if (status != 0)
		ing_snprintf(st, sizeof st, "%d", status);
	if (g_rs.quiet[r])
		ing_snprintf(more, sizeof more, "; %" PRIu64 " more since the last such line", g_rs.quiet[r]);
	log_info("rs: %s %s: %s (client %s)%s", st, rsn_names[r], why, a, more);
	g_rs.logged_s[r] = g.now / 1000 + 1;
	g_rs.quiet[r] = 0;
}

/* A client connection ends abnormally, without an answer (or in the middle
 * of one): counted, logged as rs_note does, closed. */
static void
rs_abort(struct cn *c, enum rsn r, const char *why)
{
	if (!c->closing)
		rs_note(c, r, 0, why);
	cn_close(c, why);
}

static void
rs_error(struct cn *c, int status, enum rsn r, const char *why)
{
	struct hp_msg *m = &g_hp.msg;
	char body[64];
	int n;
	rs_note(c, r, status, why);
	if (status == 400 || status == 408 || status == 431 || status == 505 || m->err_status != 0) {
		c->flags &= (uint16_t)~CNF_KEEPALIVE;
		bf_put(&c->in);
	} else if (c->in != NULL) {
		c->in->r += (uint32_t)m->head_len;
		if (m->clen > 0 || m->chunked)
			c->flags &= (uint16_t)~CNF_KEEPALIVE;
	}
	m->err_status = 0;
	if (status == 404)
		n = ing_snprintf(body, sizeof body, "404 page not found\n"); /* Traefik's text */
	else if (status == 401)
		n = ing_snprintf(body, sizeof body, "401 Unauthorized\n");
	else
		n = ing_snprintf(body, sizeof body, "%s\n", rs_reason(status));
	rs_send(c, status, "text/plain; charset=utf-8", NULL, body, (size_t)n, m->meth == HM_HEAD);
}

/* An answer of ours to a request that was read (its head consumed; with a
 * body that was not, the connection closes after it): counted as reason r. */
static void
rs_answer_as(struct cn *c, int status, enum rsn r, const char *why, const char *ctype, const char *headers,
             const char *body, size_t blen)
{
	struct hp_msg *m = &g_hp.msg;
	c->in->r += (uint32_t)m->head_len;
	if (m->clen > 0 || m->chunked)
		c->flags &= (uint16_t)~CNF_KEEPALIVE;
	rs_note(c, r, status, why);
	rs_send(c, status, ctype, headers, body, blen, m->meth == HM_HEAD);
}

static void
rs_answer(struct cn *c, int status, enum rsn r, const char *why, const char *headers, const char *body, size_t blen)
{
	rs_answer_as(c, status, r, why, "text/plain; charset=utf-8", headers, body, blen);
}

/* 401 with the realm (or 429: slow checks over budget). */
static void
rs_unauthorized(struct cn *c, int status, const char *realm)
{
	char hdr[128];
	const char *body = status == 401 ? "401 Unauthorized\n" : "429 Too Many Requests\n";
	if (status == 401)
		ing_snprintf(hdr, sizeof hdr, "WWW-Authenticate: Basic realm=\"%s\"\r\n", realm);
	else
		ing_snprintf(hdr, sizeof hdr, "Retry-After: 1\r\n");
	rs_answer(c, status, status == 401 ? RSN_AUTH : RSN_AUTH_BUSY,
	          status == 401 ? "no or wrong credentials" : "password checks over their budget", hdr, body, strlen(body));
}

/* A duration as Go prints one (Traefik's X-Retry-In): 250ms, 1.5s, 2m30s. */
static void
rs_godur(uint64_t ms, char *b, size_t cap)
{
	char frac[8] = "";
	if (ms < 1000) {
		ing_snprintf(b, cap, "%" PRIu64 "ms", ms);
		return;
	}
	if (ms % 1000) {
		ing_snprintf(frac, sizeof frac, ".%03u", (unsigned)(ms % 1000));
		for (size_t n = strlen(frac); frac[n - 1] == '0'; n--)
			frac[n - 1] = '\0';
	}
	uint64_t s = ms / 1000;
	if (s >= 3600)
		ing_snprintf(b, cap, "%" PRIu64 "h%um%u%ss", s / 3600, (unsigned)(s / 60 % 60), (unsigned)(s % 60), frac);
	else if (s >= 60)
		ing_snprintf(b, cap, "%um%u%ss", (unsigned)(s / 60), (unsigned)(s % 60), frac);
	else
		ing_snprintf(b, cap, "%u%ss", (unsigned)s, frac);
}

/* A redirect to url[0..n); one that would not fit the answer or holds a
 * control byte (it would split the head) is refused: 400. */
static void
rs_location(struct cn *c, int code, const char *url, size_t n)
{
	char hdr[ING_NAME_LEN + ING_PATH_LEN * 2 + 64], body[32];
	for (size_t i = 0; i < n && n < sizeof hdr - 16; i++)
		if ((unsigned char)url[i] < 0x20 || url[i] == 0x7f)
			n = sizeof hdr;
	if (n >= sizeof hdr - 16) {
		rs_error(c, 400, RSN_BAD_REQUEST, "cannot redirect");
		return;
	}
	ing_snprintf(hdr, sizeof hdr, "Location: %.*s\r\n", (int)n, url);
	int bn = ing_snprintf(body, sizeof body, "%s\n", rs_reason(code));
	rs_answer(c, code, RSN_REDIRECT, "redirect", hdr, body, (size_t)bn);
}

/* 301 to the same host and target on entry point ep_name (its scheme and
 * port; the default port of the scheme is left out). */
/* A redirect (301, 307) to scheme://host[:port] and the request's target;
 * the scheme's default port is left out. */
static void
rs_redirect_to(struct cn *c, const struct hp_msg *m, int https, const char *host, unsigned port, int code)
{
	char url[ING_NAME_LEN + ING_PATH_LEN * 2 + 32], pstr[8] = "";
	if (port != (https ? 443u : 80u))
		ing_snprintf(pstr, sizeof pstr, ":%u", port);
	int n = ing_snprintf(url, sizeof url, "%s://%s%s%.*s", https ? "https" : "http", host, pstr, (int)m->target.n,
	                     m->target.p);
	rs_location(c, code, url, (size_t)n);
}

/* A redirect to entry point ep_name, the request's host kept. */
static void
rs_redirect(struct cn *c, const struct hp_msg *m, const char *ep_name, int code)
{
	char host[ING_NAME_LEN + 8];
	const struct cf_ep *to = cf_ep_find(cf_live, (struct ing_str){ep_name, strlen(ep_name)});
	size_t hn = 0;
	if (to == NULL || m->host.p == NULL) {
		rs_error(c, 400, RSN_BAD_REQUEST, "cannot redirect");
		return;
	}
	/* the Host without its port (validated by the parser) */
	hn = m->host.n;
	if (m->host.p[0] == '[') {
		const char *rb = memchr(m->host.p, ']', hn);
		hn = rb ? (size_t)(rb - m->host.p + 1) : hn;
	} else if (memchr(m->host.p, ':', hn)) {
		hn = (size_t)((const char *)memchr(m->host.p, ':', hn) - m->host.p);
	}
	ing_snprintf(host, sizeof host, "%.*s", (int)ING_MIN(hn, sizeof host - 1), m->host.p);
	rs_redirect_to(c, m, to->tls, host, to->addr.port, code);
}

/* ===== 20. metrics, admin API and access log ========================== mx_ al_
 * The admin listener ([web] address) is read-only: /ping (liveness),
 * /ready (first sync done and a table live), /metrics (Prometheus text
 * 0.0.4), /api/providers[/kubernetes] (the live frontends and backends in
 * Traefik 1.x's shape, never a hash, token or key), /dashboard/ (a page
 * that shows those two, mx_dashboard). Requests are counted
 * per entry point, backend, method and code in a fixed series table; the
 * access log is rendered per request into the connection's record and
 * written through a buffer flushed on a timer, reopened on SIGUSR1.
 * Limits: ING_MAX_METRIC_SERIES, ING_MAX_ADMIN_BYTES.
 */
#define MX_BUCKETS 11
static const uint32_t mx_le_ms[MX_BUCKETS] = {5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000};
static const char *const mx_le[MX_BUCKETS] = {"0.005", "0.01", "0.025", "0.05", "0.1", "0.25", "0.5", "1", "2.5", "5", "10"};
#define AL_FLUSH_MS 1000
#define AL_BUF (64 * 1024)
#define AL_MAX_LINE 1400 /* longer lines are cut (the fields are bounded well below) */

struct mx_series { /* requests by (entry point, backend, method, code) */
	uint8_t used, ep, meth; /* ep: listener index */
	uint16_t code;
	uint32_t hash;
	char backend[sizeof(((struct rt_backend *)0)->key)];
	uint64_t count;
};
struct mx_hist { /* request durations by (entry point, backend) */
	uint8_t used, ep;
	uint32_t hash;
	char backend[sizeof(((struct rt_backend *)0)->key)];
	uint64_t le[MX_BUCKETS], count;
	uint64_t sum_ms;
};

static struct {
	struct mx_series s[ING_MAX_METRIC_SERIES];
	struct mx_hist h[ING_MAX_METRIC_SERIES];
} g_mx;

/* The access log: one record per client slot, rendered as the request
 * is dispatched, finished when it ends. */
struct al_rec {
	int64_t wall_ms;
	uint8_t rsn; /* why ingressd answered itself (rs_note) */
	char method[16], uri[200], proto[10], host[64], referer[96], ua[112], user[48], fe[96], be[72];
	char client[48]; /* the client address forwarded headers gave, "" when the peer is it */
};
static struct {
	int on; /* zero-initialized (.bss): off until al_open */
	int fd;
	char path[256];
	int format;
	char buf[AL_BUF];
	size_t len;
	uint64_t flush_at;
	uint64_t lines, dropped;
	struct al_rec rec[ING_MAX_CONNS];
} g_al;

static uint32_t
mx_hash(const char *s, int a, int b, int c)
{
	return str_fnv_z(FNV_SEED ^ (uint32_t)(a * 131 + b * 7919 + c * 104729), s);
}

/* One finished request. backend "" for ingressd's own answers. */
static void
mx_request(int ep, const char *backend, int meth, int code, uint64_t ms)
{
	uint32_t h = mx_hash(backend, ep, meth, code), hh = mx_hash(backend, ep, 0, 0);
	int n = ING_MAX_METRIC_SERIES;
	if (meth < 0 || meth >= (int)ING_ARRAY_LEN(hp_meth_names))
		meth = HM_OTHER;
	for (int k = 0, s = (int)(h % (uint32_t)n); k < n; k++, s = (s + 1) % n) {
		struct mx_series *x = &g_mx.s[s];
		if (!x->used) {
			x->used = 1;
			x->ep = (uint8_t)ep;
			x->meth = (uint8_t)meth;
			x->code = (uint16_t)code;
			x->hash = h;
			ing_snprintf(x->backend, sizeof x->backend, "%s", backend);
		} else if (x->hash != h || x->ep != ep || x->meth != meth || x->code != code || strcmp(x->backend, backend)) {
			if (k == n - 1)
				log_limit(LIM_METRIC_SERIES, "mx: request series");
			continue;
		}
		x->count++;
		break;
	}
	for (int k = 0, s = (int)(hh % (uint32_t)n); k < n; k++, s = (s + 1) % n) {
		struct mx_hist *x = &g_mx.h[s];
		if (!x->used) {
			x->used = 1;
			x->ep = (uint8_t)ep;
			x->hash = hh;
			ing_snprintf(x->backend, sizeof x->backend, "%s", backend);
		} else if (x->hash != hh || x->ep != ep || strcmp(x->backend, backend)) {
			if (k == n - 1)
				log_limit(LIM_METRIC_SERIES, "mx: duration series");
			continue;
		}
		for (int b = 0; b < MX_BUCKETS; b++)
			x->le[b] += ms <= mx_le_ms[b];
		x->count++;
		x->sum_ms += ms;
		break;
	}
}

/* ---- the text of an admin answer (bounded) ----
 * Written into ING_MAX_ADMIN_BYTES of memory mapped at the first write:
 * only the pages the text reaches cost RAM, and all go back when it has
 * been sent (mx_out_free), so an answer is never copied to grow. */
struct mx_out {
	char *p;
	size_t n;
	int full; /* over ING_MAX_ADMIN_BYTES, or no memory (p NULL) */
};

static void __attribute__((format(printf, 2, 3)))
mx_printf(struct mx_out *o, const char *fmt, ...)
{
	va_list ap;
	if (o->full || (o->p == NULL && (o->p = port_map(ING_MAX_ADMIN_BYTES)) == NULL)) {
		o->full = 1;
		return;
	}
	size_t room = ING_MAX_ADMIN_BYTES - o->n;
	va_start(ap, fmt);
	int k = ing_vsnprintf(o->p + o->n, room, fmt, ap);
	va_end(ap);
	if (k >= 0 && (size_t)k < room)
		o->n += (size_t)k;
	else
		o->full = 1;
}

static void
mx_out_free(char *p)
{
	if (p != NULL)
		port_unmap(p, ING_MAX_ADMIN_BYTES);
}

/* A JSON string (quotes included). */
static void
mx_json_str(struct mx_out *o, const char *s, size_t n)
{
	mx_printf(o, "\"");
	for (size_t i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\')
			mx_printf(o, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			mx_printf(o, "\\u%04x", c);
		else
			mx_printf(o, "%c", c);
	}
	mx_printf(o, "\"");
}

/* before (JSON text: a comma, a key), then s as a JSON string: the one
 * call for the pair every /api field makes. */
static void
mx_json_kv(struct mx_out *o, const char *before, const char *s)
{
	mx_printf(o, "%s", before);
	mx_json_str(o, s, strlen(s));
}

/* A Prometheus label value (RFC: backslash, quote and newline escaped). */
static void
mx_label(struct mx_out *o, const char *s)
{
	for (; *s; s++) {
		if (*s == '\\' || *s == '"')
			mx_printf(o, "\\%c", *s);
		else if (*s == '\n')
			mx_printf(o, "\\n");
		else
			mx_printf(o, "%c", *s);
	}
}

static const char *
mx_ep_name(int lis)
{
	return lis >= 0 && lis < g_cn.nlis ? g_cn.lis[lis].name : "?";
}

/* A metric's two comment lines, "# HELP name help" and "# TYPE name type":
 * the name is written once in the program instead of twice. */
static void
mx_head(struct mx_out *o, const char *name, const char *type, const char *help)
{
	mx_printf(o, "# HELP %s %s\n# TYPE %s %s\n", name, help, name, type);
}

/* A metric of one sample without labels (the gauges are ints, the
 * counters below 2^63). */
static void
mx_one(struct mx_out *o, const char *name, const char *type, const char *help, int64_t v)
{
	mx_head(o, name, type, help);
	mx_printf(o, "%s %" PRId64 "\n", name, v);
}

/* ingressd_annotations_unsupported{annotation}: the stored Ingresses and
 * Services carrying each annotation ingressd does not implement, by name
 * when it is one of js_ann_unsup's, else as "other". */
static void
mx_unsup_metrics(struct mx_out *o)
{
	enum { NP = ING_ARRAY_LEN(js_ann_prefixes), NU = ING_ARRAY_LEN(js_ann_unsup) };
	static uint32_t n[NP * NU + 1];
	memset(n, 0, sizeof n);
	for (int kind = SK_INGRESS; kind <= SK_SERVICE; kind++) {
		const struct st_hdr *h;
		for (int i = -1; (h = st_next((enum st_kind)kind, &i)) != NULL;) {
			const char *list = st_note(kind == SK_INGRESS ? ((const struct st_ing *)h)->unsup : ((const struct st_svc *)h)->unsup);
			for (const char *p = list; *p;) {
				const char *e = str_str(p, ", ");
				size_t len = e ? (size_t)(e - p) : strlen(p);
				int label = NP * NU;
				for (int a = 0; a < NP && label == NP * NU; a++) {
					size_t pl = strlen(js_ann_prefixes[a]);
					for (int b = 0; b < NU && len > pl && !strncmp(p, js_ann_prefixes[a], pl); b++)
						if (strlen(js_ann_unsup[b]) == len - pl && !memcmp(p + pl, js_ann_unsup[b], len - pl))
							label = a * NU + b;
				}
				n[label] += strcmp(p, "...") != 0;
				p = e ? e + 2 : p + len;
			}
		}
	}
	mx_head(o, "ingressd_annotations_unsupported", "gauge",
	        "Stored Ingresses and Services carrying an annotation ingressd does not implement.");
	for (int l = 0; l <= NP * NU; l++)
		if (n[l] != 0) {
			if (l == NP * NU)
				mx_printf(o, "ingressd_annotations_unsupported{annotation=\"other\"} %u\n", n[l]);
			else
				mx_printf(o, "ingressd_annotations_unsupported{annotation=\"%s%s\"} %u\n", js_ann_prefixes[l / NU],
				          js_ann_unsup[l % NU], n[l]);
		}
}

/* /metrics: requests, durations and connections. */
static void
mx_metrics_requests(struct mx_out *o)
{
	mx_head(o, "ingressd_requests_total", "counter",
	        "Requests answered, by entry point, backend, method and code.");
	for (int i = 0; i < ING_MAX_METRIC_SERIES; i++) {
		const struct mx_series *x = &g_mx.s[i];
		if (!x->used)
			continue;
		mx_printf(o, "ingressd_requests_total{entrypoint=\"%s\",backend=\"", mx_ep_name(x->ep));
		mx_label(o, x->backend);
		mx_printf(o, "\",method=\"%s\",code=\"%u\"} %" PRIu64 "\n", x->meth ? hp_meth_names[x->meth] : "OTHER", x->code,
		          x->count);
	}
	mx_head(o, "ingressd_request_duration_seconds", "histogram",
	        "Time from request head to the end of the answer.");
	for (int i = 0; i < ING_MAX_METRIC_SERIES; i++) {
		const struct mx_hist *x = &g_mx.h[i];
		if (!x->used)
			continue;
		for (int b = 0; b <= MX_BUCKETS; b++) {
			mx_printf(o, "ingressd_request_duration_seconds_bucket{entrypoint=\"%s\",backend=\"", mx_ep_name(x->ep));
			mx_label(o, x->backend);
			if (b < MX_BUCKETS)
				mx_printf(o, "\",le=\"%s\"} %" PRIu64 "\n", mx_le[b], x->le[b]);
			else
				mx_printf(o, "\",le=\"+Inf\"} %" PRIu64 "\n", x->count);
		}
		mx_printf(o, "ingressd_request_duration_seconds_sum{entrypoint=\"%s\",backend=\"", mx_ep_name(x->ep));
		mx_label(o, x->backend);
		mx_printf(o, "\"} %" PRIu64 ".%03u\n", x->sum_ms / 1000, (unsigned)(x->sum_ms % 1000));
		mx_printf(o, "ingressd_request_duration_seconds_count{entrypoint=\"%s\",backend=\"", mx_ep_name(x->ep));
		mx_label(o, x->backend);
		mx_printf(o, "\"} %" PRIu64 "\n", x->count);
	}
	mx_head(o, "ingressd_open_connections", "gauge", "Connections open now, by kind.");
	mx_printf(o, "ingressd_open_connections{kind=\"client\"} %d\n"
	             "ingressd_open_connections{kind=\"upstream\"} %d\n"
	             "ingressd_open_connections{kind=\"upstream_idle\"} %d\n"
	             "ingressd_open_connections{kind=\"api\"} %d\n",
	          g_cn.used[CN_CLIENT], g_cn.used[CN_UPSTREAM] - g_up.idle, g_up.idle, g_cn.used[CN_WATCH]);
	mx_one(o, "ingressd_connections_accepted_total", "counter", "Client connections accepted.", g_cn.accepted);
	mx_head(o, "ingressd_upstream_connects_total", "counter",
	        "Upstream connections opened, reused from the pool, and requests retried.");
	mx_printf(o, "ingressd_upstream_connects_total{result=\"new\"} %" PRIu64 "\n"
	             "ingressd_upstream_connects_total{result=\"reused\"} %" PRIu64 "\n"
	             "ingressd_upstream_connects_total{result=\"retried\"} %" PRIu64 "\n",
	          g_up.connects, g_up.reused, g_up.retries);
	mx_head(o, "ingressd_upstream_tls_handshakes_total", "counter",
	        "TLS handshakes with HTTPS pods, by whether a session was resumed.");
	mx_printf(o, "ingressd_upstream_tls_handshakes_total{resumed=\"false\"} %" PRIu64 "\n"
	             "ingressd_upstream_tls_handshakes_total{resumed=\"true\"} %" PRIu64 "\n",
	          g_up.tls_new, g_up.tls_resumed);
	mx_one(o, "ingressd_upstream_tls_sessions", "gauge",
	       "TLS sessions with HTTPS pods alive, busy or pooled (ING_MAX_TLS_UPSTREAMS).", g_tl.pod_sessions);
	mx_head(o, "ingressd_upstream_tls_failures_total", "counter",
	        "TLS sessions with HTTPS pods not had, by reason.");
	for (int i = 0; i < UT__COUNT; i++)
		mx_printf(o, "ingressd_upstream_tls_failures_total{reason=\"%s\"} %" PRIu64 "\n", ut_names[i], g_up.tls_fail[i]);
	mx_head(o, "ingressd_proxy_protocol_headers_total", "counter",
	        "Connections on PROXY protocol entry points, by what their header was.");
	for (int i = 0; i < PP__COUNT; i++)
		mx_printf(o, "ingressd_proxy_protocol_headers_total{result=\"%s\"} %" PRIu64 "\n", pp_names[i], g_pp[i]);
	mx_head(o, "ingressd_forward_auth_total", "counter",
	        "Forward-auth requests, by answer: allowed (2xx), denied (any other), failed (no answer: 503).");
	for (int i = 0; i < 3; i++)
		mx_printf(o, "ingressd_forward_auth_total{result=\"%s\"} %" PRIu64 "\n", (const char *const[]){"allowed", "denied",
		          "failed"}[i], g_up.fwd[i]);
	mx_one(o, "ingressd_rate_limit_clients", "gauge", "Clients with limit state (ING_MAX_RATE_KEYS).", g_rl.hwm);
	mx_one(o, "ingressd_rate_limit_evictions_total", "counter",
	       "Idle client limit states dropped to make room.", g_rl.evictions);
}

/* /metrics: the live backends, their servers and breakers. */
static void
mx_metrics_backends(struct mx_out *o)
{
	const struct rt_table *t = rt_live();
	mx_head(o, "ingressd_backend_server_up", "gauge",
	        "A server of a backend in the live routing table (ready endpoints).");
	for (int i = 0; t != NULL && i < t->nbackends; i++) {
		const struct rt_backend *b = &t->backends[i];
		for (int k = 0; k < b->nsrv; k++) {
			char a[64];
			ing_addr_fmt(&t->servers[b->srv + k].addr, a, sizeof a, 1);
			mx_printf(o, "ingressd_backend_server_up{backend=\"");
			mx_label(o, b->key);
			mx_printf(o, "\",server=\"%s\"} 1\n", a);
		}
	}
	mx_head(o, "ingressd_backend_breaker_state", "gauge",
	        "Circuit breaker state: 0 standby, 1 tripped, 2 recovering.");
	for (int k = 0; k < g_lb.n; k++) {
		const struct lb_state *st = &g_lb.s[k];
		if (!st->used || st->cb < 0 || g_cb.c[st->cb].prog.n == 0)
			continue;
		cb_advance(&g_cb.c[st->cb]); /* the state now, with or without traffic */
		mx_printf(o, "ingressd_backend_breaker_state{backend=\"");
		mx_label(o, st->key);
		mx_printf(o, "\"} %d\n", g_cb.c[st->cb].state);
	}
	mx_head(o, "ingressd_backend_breaker_trips_total", "counter", "Times a circuit breaker tripped.");
	for (int k = 0; k < g_lb.n; k++) {
		const struct lb_state *st = &g_lb.s[k];
		if (!st->used || st->cb < 0 || g_cb.c[st->cb].prog.n == 0)
			continue;
		mx_printf(o, "ingressd_backend_breaker_trips_total{backend=\"");
		mx_label(o, st->key);
		mx_printf(o, "\"} %" PRIu64 "\n", g_cb.c[st->cb].trips);
	}
	mx_head(o, "ingressd_backend_breaker_invalid", "gauge",
	        "A circuit breaker expression that does not parse (1).");
	for (int k = 0; k < g_lb.n; k++) {
		const struct lb_state *st = &g_lb.s[k];
		if (!st->used || st->cb < 0 || g_cb.c[st->cb].prog.n != 0)
			continue;
		mx_printf(o, "ingressd_backend_breaker_invalid{backend=\"");
		mx_label(o, st->key);
		mx_printf(o, "\",error=\"");
		mx_label(o, g_cb.c[st->cb].err);
		mx_printf(o, "\"} 1\n");
	}
}

/* /metrics: config reloads, the routing table, the watch, the store, the Ingress status. */
static void
mx_metrics_state(struct mx_out *o)
{
	const struct rt_table *t = rt_live();
	mx_head(o, "ingressd_config_reloads_total", "counter", "Config reloads (SIGHUP), by result.");
	mx_printf(o, "ingressd_config_reloads_total{result=\"success\"} %" PRIu64 "\n"
	             "ingressd_config_reloads_total{result=\"failure\"} %" PRIu64 "\n", g.reloads, g.reload_failures);
	mx_one(o, "ingressd_config_last_reload_success_timestamp_seconds", "gauge",
	       "When the config was last loaded.", g.reload_wall);
	mx_head(o, "ingressd_routing_table_builds_total", "counter", "Routing-table rebuilds, by result.");
	mx_printf(o, "ingressd_routing_table_builds_total{result=\"success\"} %" PRIu64 "\n"
	             "ingressd_routing_table_builds_total{result=\"failure\"} %" PRIu64 "\n",
	          g_rb.builds, g_rb.failures);
	mx_one(o, "ingressd_routing_table_last_build_timestamp_seconds", "gauge",
	       "When the live table was built.", g_rb.last_wall);
	mx_head(o, "ingressd_routes", "gauge", "Routes, hosts, backends and servers in the live table.");
	mx_printf(o, "ingressd_routes{kind=\"route\"} %d\n"
	             "ingressd_routes{kind=\"host\"} %d\n"
	             "ingressd_routes{kind=\"backend\"} %d\n"
	             "ingressd_routes{kind=\"server\"} %d\n"
	             "ingressd_routes{kind=\"skipped_path\"} %d\n",
	          t ? t->nroutes : 0, t ? t->nhosts : 0, t ? t->nbackends : 0, t ? t->nservers : 0, t ? t->nskips : 0);
	static const char *const kw_metric[][2] = {
	    {"ingressd_watch_reconnects_total", "Watch stream reconnects (back-off), by kind."},
	    {"ingressd_watch_relists_total", "Full relists, by kind."},
	    {"ingressd_watch_decode_errors_total", "Objects or events that could not be decoded, by kind."},
	    {"ingressd_watch_events_total", "Objects and events received, by kind."},
	    {"ingressd_watch_last_event_timestamp_seconds", "When the last came (0: none), by kind."}};
	const uint64_t *kw_val[] = {g_kw.reconnects, g_kw.relists, g_kw.decode_errors, g_kw.events, g_kw.event_wall};
	for (int m = 0; m < 5; m++) {
		mx_head(o, kw_metric[m][0], m < 4 ? "counter" : "gauge", kw_metric[m][1]);
		for (int k = 0; k < SK__COUNT; k++)
			mx_printf(o, "%s{kind=\"%s\"} %" PRIu64 "\n", kw_metric[m][0], st_kind_names[k], kw_val[m][k]);
	}
	mx_head(o, "ingressd_status_writes_total", "counter", "Ingress status writes, by result.");
	for (int r = 0; r < KSR__COUNT; r++)
		mx_printf(o, "ingressd_status_writes_total{result=\"%s\"} %" PRIu64 "\n", kw_status_results[r], g_kw.status.writes[r]);
	mx_one(o, "ingressd_status_writes_pending", "gauge", "Ingress status writes waiting.", g_kw.status.nq);
	mx_head(o, "ingressd_store_objects", "gauge", "Objects in the store, by kind.");
	for (int k = 0; k < SK__COUNT; k++)
		mx_printf(o, "ingressd_store_objects{kind=\"%s\"} %d\n", st_kind_names[k], g_st.count[k]);
	mx_one(o, "ingressd_snapshot_stale", "gauge", "Serving the snapshot (1).", g_kw.snap_stale);
	mx_one(o, "ingressd_snapshot_age_seconds", "gauge", "Of that, or the last written (-1: none).",
	       g_kw.snap_wall ? port_wall_s() - g_kw.snap_wall : -1);
	mx_head(o, "ingressd_watch_synced", "gauge", "Every stream of the kind completed its first list (1).");
	for (int k = 0; k < SK__COUNT; k++) {
		int synced = 1;
		for (int i = 0; i < g_kw.nstreams; i++)
			if (g_kw.st[i].kind == k && !g_kw.st[i].synced)
				synced = 0;
		mx_printf(o, "ingressd_watch_synced{kind=\"%s\"} %d\n", st_kind_names[k], synced);
	}
}

/* /metrics: own answers, limits, access control, buffers, the process. */
static void
mx_metrics_process(struct mx_out *o)
{
	mx_head(o, "ingressd_own_answers_total", "counter", "Answers ingressd gave itself, by status and reason.");
	for (int r = 1; r < RSN__COUNT; r++)
		for (size_t k = 0; k + 1 < RS_NCODES; k++)
			if (g_rs.n[r][k])
				mx_printf(o, "ingressd_own_answers_total{code=\"%d\",reason=\"%s\"} %" PRIu64 "\n", rs_codes[k],
				          rsn_names[r], g_rs.n[r][k]);
	mx_head(o, "ingressd_client_cuts_total", "counter",
	        "Client connections ingressd closed without (the rest of) an answer, by reason.");
	for (int r = 1; r < RSN__COUNT; r++)
		if (g_rs.n[r][RS_NCODES - 1])
			mx_printf(o, "ingressd_client_cuts_total{reason=\"%s\"} %" PRIu64 "\n", rsn_names[r], g_rs.n[r][RS_NCODES - 1]);
	mx_head(o, "ingressd_limit_hits_total", "counter", "Times a compiled limit was hit, by macro.");
	for (int i = 0; i < LIM__COUNT; i++)
		mx_printf(o, "ingressd_limit_hits_total{limit=\"ING_MAX_%s\"} %" PRIu64 "\n", lim_names[i], g_lim.hits[i]);
	mx_unsup_metrics(o);
	mx_one(o, "ingressd_whitelist_invalid_total", "counter",
	       "Ingress whitelists found invalid (answered 403 unless whitelistInvalidAllowAll).", g_rb.wl_invalid);
	mx_one(o, "ingressd_whitelist_denied_total", "counter", "Requests refused by a whitelist.", g_up.denied);
	mx_head(o, "ingressd_auth_total", "counter", "Basic-auth checks, by result.");
	mx_printf(o, "ingressd_auth_total{result=\"ok\"} %" PRIu64 "\n"
	             "ingressd_auth_total{result=\"fail\"} %" PRIu64 "\n"
	             "ingressd_auth_total{result=\"cached\"} %" PRIu64 "\n"
	             "ingressd_auth_total{result=\"throttled\"} %" PRIu64 "\n",
	          g_au.ok, g_au.bad, g_au.cached, g_au.throttled);
	mx_one(o, "ingressd_auth_hashes_total", "counter",
	       "Password hashes computed (an unknown name's stand-in too).", g_au.hashes);
	mx_one(o, "ingressd_auth_checks_queued", "gauge",
	       "bcrypt checks waiting or running (ING_MAX_AUTH_CHECKS).", g_au.njobs);
	mx_head(o, "ingressd_access_log_lines_total", "counter", "Access log lines written and dropped.");
	mx_printf(o, "ingressd_access_log_lines_total{result=\"written\"} %" PRIu64 "\n"
	             "ingressd_access_log_lines_total{result=\"dropped\"} %" PRIu64 "\n", g_al.lines, g_al.dropped);
	mx_one(o, "ingressd_buffers_in_use", "gauge", "I/O buffers taken from the pool (ING_MAX_BUFS).", g_bf.used);
	mx_one(o, "ingressd_heap_bytes", "gauge", "Bytes of the heap in use: certificates, CAs (ING_MAX_HEAP_BYTES).", g_ar.used);
	mx_one(o, "ingressd_tls_sessions", "gauge", "TLS sessions alive (ING_MAX_TLS_CONNS).", tls_sessions());
	mx_head(o, "ingressd_build_info", "gauge", "Version and TLS port.");
	mx_printf(o, "ingressd_build_info{version=\"%s\",tls=\"", ING_VERSION);
	mx_label(o, tls_port_name());
	mx_printf(o, "\"} 1\n");
	long rss = port_rss_bytes();
	int fds = port_open_fds();
	mx_one(o, "process_resident_memory_bytes", "gauge", "Resident memory size in bytes.", rss);
	mx_one(o, "process_open_fds", "gauge", "Number of open file descriptors.", fds);
	mx_one(o, "process_start_time_seconds", "gauge",
	       "Start time of the process since the epoch in seconds.", g.start_wall);
}

/* The Prometheus text (0.0.4) of /metrics. */
static void
mx_metrics(struct mx_out *o)
{
	mx_metrics_requests(o);
	mx_metrics_backends(o);
	mx_metrics_state(o);
	mx_metrics_process(o);
}

/* Traefik 1.x's rule text for a route. */
/* An object's annotations ingressd does not implement (st_ unsup, "a, b")
 * as ,"unsupportedAnnotations":["a","b"]. */
static void
mx_unsup(struct mx_out *o, const char *list)
{
	if (list[0] == '\0')
		return;
	mx_printf(o, ",\"unsupportedAnnotations\":[");
	for (const char *p = list;;) {
		const char *e = str_str(p, ", ");
		size_t n = e ? (size_t)(e - p) : strlen(p);
		mx_printf(o, "%s", p == list ? "" : ",");
		mx_json_str(o, p, n);
		if (e == NULL)
			break;
		p = e + 2;
	}
	mx_printf(o, "]");
}

/* A policy's source-range list as "name":{"sourceRange":[...],"invalid":b}. */
static void
mx_ranges(struct mx_out *o, const struct rt_table *t, const char *name, const struct rt_ranges *rr)
{
	char a[64];
	if (rr->state == WL_OPEN)
		return;
	mx_printf(o, ",\"%s\":{\"sourceRange\":[", name);
	for (int k = 0; k < rr->n; k++) {
		const struct rt_cidr *c = &t->cidrs[rr->first + k];
		struct ing_addr ad = {.family = c->family};
		memcpy(ad.ip, c->ip, 16);
		ing_addr_fmt(&ad, a, sizeof a, 0);
		mx_printf(o, "%s\"%s/%d\"", k ? "," : "", a, c->bits);
	}
	mx_printf(o, "],\"invalid\":%s}", rr->state == WL_DENY ? "true" : "false");
}

/* A split route's Services: share, servers, a canary's rules (names
 * only); one without a server takes no request, and says so. */
static void
mx_split(struct mx_out *o, const struct rt_table *t, const struct rt_route *r)
{
	mx_printf(o, ",\"split\":[");
	for (int i = 0; i < r->narm; i++) {
		const struct rt_arm *a = &t->arms[r->arm + i];
		const struct rt_backend *b = &t->backends[a->backend];
		struct rt_canary cy;
		mx_printf(o, "%s{\"backend\":", i ? "," : "");
		mx_json_str(o, b->key, strlen(b->key));
		mx_printf(o, ",\"weight\":%u,\"servers\":%d%s", a->weight, b->nsrv,
		          b->nsrv ? "" : ",\"note\":\"no ready endpoints: the others take its requests\"");
		if (a->canary >= 0) {
			memcpy(&cy, t->ebytes + a->canary, sizeof cy);
			mx_printf(o, ",\"canary\":{\"weight\":%u,\"weightTotal\":%u", cy.weight, cy.total);
			const char *const key[] = {"header", "headerValue", "cookie"};
			const int at[] = {cy.hdr, cy.hdr_val, cy.cookie};
			for (int k = 0; k < 3; k++)
				if (at[k] >= 0) {
					mx_printf(o, ",\"%s\":", key[k]);
					mx_json_str(o, t->ebytes + at[k], strlen(t->ebytes + at[k]));
				}
			mx_printf(o, "%s}", cy.hdr_rx != -1 ? ",\"headerPattern\":true" : "");
		}
		mx_printf(o, "}");
	}
	mx_printf(o, "]");
}

static void
mx_rule(struct mx_out *o, const struct rt_table *t, const struct rt_route *r)
{
	static const char *const mt[] = {"Path", "Prefix", "PathPrefix"};
	char rule[ING_NAME_LEN + ING_PATH_LEN + 40];
	size_t n = 0;
	if (r->host >= 0)
		n += (size_t)ing_snprintf(rule + n, sizeof rule - n, "Host:%s%s;", t->hosts[r->host].wild ? "*." : "", t->hosts[r->host].name);
	if (r->path_len > 0)
		n += (size_t)ing_snprintf(rule + n, sizeof rule - n, "%s%s:%s;", mt[r->match], r->strip ? "Strip" : "", r->path);
	if (n == 0)
		n = (size_t)ing_snprintf(rule, sizeof rule, "PathPrefix:/;");
	mx_json_str(o, rule, n - 1);
}

static void
mx_api(struct mx_out *o, int wrap)
{
	const struct rt_table *t = rt_live();
	char a[64];
	if (wrap)
		mx_printf(o, "{\"kubernetes\":");
	mx_printf(o, "{\"backends\":{");
	for (int i = 0; t != NULL && i < t->nbackends; i++) {
		const struct rt_backend *b = &t->backends[i];
		const struct lb_state *st = b->state >= 0 ? &g_lb.s[b->state] : NULL;
		mx_json_kv(o, i ? "," : "", b->key);
		mx_printf(o, ":{\"servers\":{");
		for (int k = 0; k < b->nsrv; k++) {
			ing_addr_fmt(&t->servers[b->srv + k].addr, a, sizeof a, 1);
			int w = st && k < st->nsrv ? g_lb.srv[g_lb.cur][st->srv + k].cur : t->servers[b->srv + k].weight;
			mx_printf(o, "%s\"server-%d\":{\"url\":\"%s://%s\",\"weight\":%d}", k ? "," : "", k,
			          b->auto_https ? "https" : "http", a, w);
		}
		mx_printf(o, "},\"loadBalancer\":{\"method\":\"%s\"", st && st->method == LB_DRR ? "drr" : "wrr");
		if (st && st->sticky) {
			mx_json_kv(o, ",\"stickiness\":{\"cookieName\":", st->cookie);
			mx_printf(o, "}");
		}
		mx_printf(o, "}");
		const struct st_svc *ss = st_find(SK_SERVICE, b->ns, b->svc);
		if (ss != NULL)
			mx_unsup(o, st_note(ss->unsup));
		if (st && st->cb >= 0) {
			struct cb *c = &g_cb.c[st->cb];
			cb_advance(c);
			mx_json_kv(o, ",\"circuitBreaker\":{\"expression\":", c->expr);
			if (c->prog.n == 0) {
				mx_json_kv(o, ",\"error\":", c->err);
			} else {
				mx_printf(o, ",\"state\":\"%s\"", cb_state_names[c->state]);
			}
			mx_printf(o, "}");
		}
		if (b->nsrv == 0 && b->why) {
			mx_json_kv(o, ",\"noServerReason\":", b->why);
		}
		if (b->refused != NULL)
			mx_json_kv(o, ",\"refused\":", b->refused);
		mx_printf(o, "}");
	}
	mx_printf(o, "},\"frontends\":{");
	for (int i = 0; t != NULL && i < t->nroutes; i++) {
		const struct rt_route *r = &t->routes[i];
		const struct rt_policy *p = &t->policies[r->policy];
		char name[ING_NAME_LEN + ING_PATH_LEN + 16];
		if (r->is_default)
			ing_snprintf(name, sizeof name, "default-backend-%d", i);
		else
			ing_snprintf(name, sizeof name, "%s%s%s-%d", r->host >= 0 && t->hosts[r->host].wild ? "*." : "",
			         r->host >= 0 ? t->hosts[r->host].name : "", r->path, i);
		mx_json_kv(o, i ? "," : "", name);
		mx_printf(o, ":{\"entryPoints\":[");
		for (int ep = 0, first = 1; ep < cf_live->n_eps; ep++)
			if (r->ep_mask >> ep & 1) {
				mx_printf(o, "%s\"%s\"", first ? "" : ",", cf_live->eps[ep].name);
				first = 0;
			}
		mx_json_kv(o, "],\"backend\":", t->backends[r->backend].key);
		if (r->narm)
			mx_split(o, t, r);
		mx_printf(o, ",\"routes\":{\"route-0\":{\"rule\":");
		mx_rule(o, t, r);
		mx_printf(o, "}},\"passHostHeader\":%s,\"priority\":%d,\"ingress\":\"%s/%s\"", p->pass_host ? "true" : "false",
		          r->prio, p->ns, p->name);
		const struct st_ing *si = st_find(SK_INGRESS, p->ns, p->name);
		if (si != NULL)
			mx_unsup(o, st_note(si->unsup));
		/* how its pods are spoken to (auto: by the Service port) */
		int https = p->proto == PR_HTTPS || (p->proto == PR_AUTO && t->backends[r->backend].auto_https);
		mx_printf(o, ",\"backendScheme\":\"%s\"", p->proto == PR_UNSUP ? "unsupported" : https ? "https" : "http");
		if (p->proto == PR_UNSUP) {
			mx_json_kv(o, ",\"backendSchemeError\":", p->proto_bad);
		} else if (https) {
			mx_printf(o, ",\"backendTlsVerify\":%s", p->pod_ctx == TL_POD_VERIFY ? "true" : "false");
		}
		mx_ranges(o, t, "whiteList", &p->wl[0]);
		mx_ranges(o, t, "nginxWhitelist", &p->wl[1]);
		mx_ranges(o, t, "nginxDenylist", &p->deny);
		if (p->auth == AU_BASIC) {
			mx_json_kv(o, ",\"auth\":{\"basic\":{\"realm\":", p->realm);
			/* how many, not who: names would be half a credential */
			mx_printf(o, ",\"removeHeader\":%s,\"users\":%d}}", p->auth_remove ? "true" : "false", p->nuser);
		} else if (p->auth == AU_DENY) {
			mx_printf(o, ",\"auth\":{\"denyAll\":true}");
		}
		if (p->fwd >= 0) { /* Traefik's auth.forward, with the URL as written */
			struct rt_fwd fa;
			memcpy(&fa, t->ebytes + p->fwd, sizeof fa);
			mx_printf(o, ",\"forwardAuth\":{\"address\":\"http%s://%s%s\",\"nginx\":%s,\"trustForwardHeader\":%s}",
			          fa.https ? "s" : "", t->ebytes + fa.host, t->ebytes + fa.uri, fa.ngx ? "true" : "false",
			          fa.trust ? "true" : "false"); /* rb_fwd let no '"' or '\\' in */
		}
		/* the other policies by name only (the dashboard shows them) */
		static const char *const pn[] = {"sslRedirect", "redirect", "rewrite", "limits", "headers", "errorPages"};
		const int on[] = {p->ssl_redirect, p->rd != RD_NONE || p->www || p->app_root >= 0, p->rw != RW_NONE,
		                  p->ngx_n || p->tr_n || p->conns || p->body_max, p->ed_n || p->hflags, p->nerrp};
		mx_printf(o, ",\"policies\":[");
		for (int k = 0, f = 0; k < (int)ING_ARRAY_LEN(pn); k++)
			if (on[k])
				mx_printf(o, "%s\"%s\"", f++ ? "," : "", pn[k]);
		mx_printf(o, "]");
		if (p->refused != NULL)
			mx_json_kv(o, ",\"refused\":", p->refused);
		mx_printf(o, "}");
	}
	mx_printf(o, "},\"skipped\":[");
	for (int i = 0; t != NULL && i < t->nskips; i++) {
		const struct rt_skip *s = &t->skips[i];
		mx_printf(o, "%s{\"ingress\":\"%s/%s\",\"host\":", i ? "," : "", s->ns, s->name);
		mx_json_str(o, s->host, strlen(s->host));
		mx_json_kv(o, ",\"path\":", s->path);
		mx_json_kv(o, ",\"reason\":", s->why);
		mx_printf(o, "}");
	}
	mx_printf(o, "],\"entryPoints\":{");
	for (int e = 0; e < cf_live->n_eps; e++) {
		const struct cf_ep *ep = &cf_live->eps[e];
		mx_json_kv(o, e ? "," : "", ep->name);
		mx_json_kv(o, ":{\"address\":", ep->address);
		mx_printf(o, ",\"tls\":%s", ep->tls ? "true" : "false");
		if (ep->redirect_ep[0] || ep->redirect_regex[0])
			mx_json_kv(o, ",\"redirect\":", ep->redirect_ep[0] ? ep->redirect_ep : ep->redirect_regex);
		if (g_tl.dflt[e] != NULL) {
			mx_json_kv(o, ",\"defaultCert\":{\"file\":", ep->cert_file);
			mx_printf(o, ",\"notAfter\":%" PRId64 "}", g_tl.dflt_na[e]);
		}
		mx_printf(o, "}");
	}
	/* the certificates of Secrets in use, with the hosts that ask for them */
	mx_printf(o, "},\"certificates\":[");
	for (int c = 0, n = 0; c < ING_MAX_SECRETS; c++) {
		const struct tl_cert *tc = &g_tl.certs[c];
		const struct st_hdr *h;
		if (!tc->used)
			continue;
		mx_printf(o, "%s{\"secret\":\"%s/%s\",\"hosts\":[", n++ ? "," : "", tc->ns, tc->name);
		for (int i = -1, f = 0; (h = st_next(SK_INGRESS, &i)) != NULL;)
			for (int x = ((const struct st_ing *)h)->tls; x >= 0 && !strcmp(h->ns, tc->ns); x = g_st.tlsh[x].next)
				if (!strcmp(g_st.tlsh[x].secret, tc->name))
					mx_json_kv(o, f++ ? "," : "", g_st.tlsh[x].host);
		if (tc->cert != NULL)
			mx_printf(o, "],\"notAfter\":%" PRId64, tc->not_after);
		else
			mx_json_kv(o, "],\"error\":", tc->why);
		mx_printf(o, "}");
	}
	/* the address the Ingress status publishes (null: none known) */
	const struct cf_kube *k = &cf_live->kube;
	const char *st = kw_stale(); /* serving the snapshot: since when */
	mx_printf(o, "],\"now\":%" PRId64 ",\"staleSince\":%s%s%s,\"ingressStatus\":{\"source\":\"%s%s\",\"address\":%s%s%s,\"pendingWrites\":%d}}%s\n",
	          port_wall_s(), st ? "\"" : "null", st ? st : "", st ? "\"" : "",
	          k->status_service[0] ? "publishedService " : k->status_set ? "ip/hostname" : "none", k->status_service,
	          g_kw.status.known ? "[" : "null", g_kw.status.known ? g_kw.status.want : "", g_kw.status.known ? "]" : "",
	          g_kw.status.nq, wrap ? "}" : "");
}

/* ---- the access log ---- */
static void
al_open(const struct cf *c)
{
	int fd = 2;
	if (g_al.on && g_al.fd > 2)
		close(g_al.fd);
	g_al.on = 0;
	g_al.format = c->accesslog_format;
	ing_snprintf(g_al.path, sizeof g_al.path, "%s", c->accesslog_path);
	if (!c->accesslog_enabled)
		return;
	if (c->accesslog_path[0] != '\0' && (fd = open(c->accesslog_path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640)) < 0) {
		log_warn("al: %s: open; access log to standard error", c->accesslog_path);
		fd = 2;
	}
	g_al.fd = fd;
	g_al.on = 1;
}

static void
al_flush(void)
{
	size_t off = 0;
	while (off < g_al.len && g_al.on) {
		ssize_t w = write(g_al.fd, g_al.buf + off, g_al.len - off);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0) {
			g_al.dropped++; /* disk full or gone: the lines are lost, counted */
			break;
		}
		off += (size_t)w;
	}
	g_al.len = 0;
	g_al.flush_at = 0;
}

/* A line or field built piece by piece, as snprintf would: cut at cap - 1,
 * always NUL-terminated. Per request, so no printf. */
struct al_out {
	char *p;
	size_t n, cap;
};

static void
al_put(struct al_out *o, const char *s, size_t n)
{
	size_t k = ING_MIN(n, o->cap - 1 - o->n);
	memcpy(o->p + o->n, s, k);
	o->n += k;
	o->p[o->n] = '\0';
}

#define al_lit(o, s) al_put((o), (s), sizeof(s) - 1)

static void
al_puts(struct al_out *o, const char *z)
{
	al_put(o, z, strlen(z));
}

static void
al_putu(struct al_out *o, uint64_t v)
{
	char t[STR_DEC_LEN], *d = str_dec(v, t + sizeof t);
	al_put(o, d, (size_t)(t + sizeof t - d));
}

/* Copies s into a field, the characters a log line cannot hold replaced. */
static void
al_field(char *dst, size_t cap, struct ing_str s)
{
	size_t i;
	if (s.p == NULL || s.n == 0) {
		memcpy(dst, "-", 2);
		return;
	}
	for (i = 0; i < s.n && i + 1 < cap; i++) {
		unsigned char ch = (unsigned char)s.p[i];
		dst[i] = ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\' ? '?' : (char)ch;
	}
	dst[i] = '\0';
}

static struct al_rec *
al_of(struct cn *c)
{
	return g_al.on && c->kind == CN_CLIENT ? &g_al.rec[cn_index(c)] : NULL;
}

/* A request head arrived (parsed or not): its access-log fields. */
static void
al_begin(struct cn *c, const struct hp_msg *m)
{
	struct al_rec *r = al_of(c);
	struct timespec ts;
	if (r == NULL)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	r->wall_ms = (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
	al_field(r->method, sizeof r->method, m->method);
	al_field(r->uri, sizeof r->uri, m->target);
	memcpy(r->proto, "HTTP/1.", 7);
	r->proto[7] = (char)('0' + m->minor % 10); /* 0 or 1, the parser says */
	r->proto[8] = '\0';
	al_field(r->host, sizeof r->host, m->host);
	al_field(r->referer, sizeof r->referer, m->nh ? hp_header(m, "referer") : (struct ing_str){NULL, 0});
	al_field(r->ua, sizeof r->ua, m->nh ? hp_header(m, "user-agent") : (struct ing_str){NULL, 0});
	memcpy(r->user, "-", 2);
	r->client[0] = '\0';
	memcpy(r->fe, "-", 2);
	memcpy(r->be, "-", 2);
	r->rsn = RSN_NONE;
}

/* The client address, when forwarded headers gave one (pp_client). */
static void
al_client(struct cn *c, const struct ing_addr *a)
{
	struct al_rec *r = al_of(c);
	if (r == NULL)
		return;
	if (a->family == 0)
		memcpy(r->client, "-", 2);
	else
		ing_addr_fmt(a, r->client, sizeof r->client, 0);
}

static void
al_reason(struct cn *c, enum rsn rsn)
{
	struct al_rec *r = al_of(c);
	if (r != NULL)
		r->rsn = (uint8_t)rsn;
}

/* What dispatch learned: the frontend (route), the user, the server. */
static void
al_route(struct cn *c, const struct rt_table *t, const struct rt_route *rt)
{
	struct al_rec *r = al_of(c);
	if (r == NULL)
		return;
	struct al_out o = {r->fe, 0, sizeof r->fe};
	if (rt->host >= 0) {
		if (t->hosts[rt->host].wild)
			al_lit(&o, "*.");
		al_put(&o, t->hosts[rt->host].name, strnlen(t->hosts[rt->host].name, 63));
	}
	al_puts(&o, rt->path_len ? rt->path : "/");
}

static void
al_user(struct cn *c, const char *user)
{
	struct al_rec *r = al_of(c);
	if (r != NULL)
		al_field(r->user, sizeof r->user, (struct ing_str){user, strlen(user)});
}

static void
al_server(struct cn *c, const struct ing_addr *a)
{
	struct al_rec *r = al_of(c);
	char s[64];
	if (r != NULL) {
		struct al_out o = {r->be, 0, sizeof r->be};
		al_lit(&o, "http://");
		al_put(&o, s, (size_t)ing_addr_fmt(a, s, sizeof s, 1));
	}
}

/* The request ended: one line. Its time is formatted once a second. */
static void
al_end(struct cn *c, int status, uint64_t bytes, uint64_t ms)
{
	static uint64_t count;
	static struct {
		time_t sec;
		char clf[32], iso[24];
	} tc = {-1, "", ""};
	struct al_rec *r = al_of(c);
	char cl[64];
	if (r == NULL)
		return;
	/* the line is built in place: room for the longest one first */
	if (sizeof g_al.buf - g_al.len < AL_MAX_LINE)
		al_flush();
	struct al_out o = {g_al.buf + g_al.len, 0, AL_MAX_LINE};
	time_t sec = (time_t)(r->wall_ms / 1000);
	if (sec != tc.sec) {
		struct ing_tm tm;
		static const char mon[12][4] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
		                                "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};
		ing_civil(sec, &tm);
		ing_snprintf(tc.clf, sizeof tc.clf, "%02d/%s/%04d:%02d:%02d:%02d +0000", tm.mday, mon[(tm.mon - 1) % 12],
		             tm.year, tm.hour, tm.min, tm.sec);
		ing_snprintf(tc.iso, sizeof tc.iso, "%04d-%02d-%02dT%02d:%02d:%02d", tm.year, tm.mon, tm.mday, tm.hour,
		             tm.min, tm.sec);
		tc.sec = sec;
	}
	count++;
	size_t cln = r->client[0] ? strlen(r->client) : (size_t)ing_addr_fmt(&c->addr, cl, sizeof cl, 0);
	if (r->client[0])
		memcpy(cl, r->client, cln + 1);
	if (g_al.format == CF_LOG_JSON) {
		unsigned msec = (unsigned)(r->wall_ms % 1000);
		char ms3[3] = {(char)('0' + msec / 100), (char)('0' + msec / 10 % 10), (char)('0' + msec % 10)};
		al_lit(&o, "{\"ClientHost\":\"");
		al_put(&o, cl, cln);
		al_lit(&o, "\",\"ClientUsername\":\"");
		al_puts(&o, r->user);
		al_lit(&o, "\",\"StartUTC\":\"");
		al_puts(&o, tc.iso);
		al_lit(&o, ".");
		al_put(&o, ms3, 3);
		al_lit(&o, "Z\",\"RequestMethod\":\"");
		al_puts(&o, r->method);
		al_lit(&o, "\",\"RequestPath\":\"");
		al_puts(&o, r->uri);
		al_lit(&o, "\",\"RequestProtocol\":\"");
		al_puts(&o, r->proto);
		al_lit(&o, "\",\"RequestHost\":\"");
		al_puts(&o, r->host);
		al_lit(&o, "\",\"DownstreamStatus\":");
		al_putu(&o, (uint64_t)status);
		al_lit(&o, ",\"DownstreamContentSize\":");
		al_putu(&o, bytes);
		al_lit(&o, ",\"FrontendName\":\"");
		al_puts(&o, r->fe);
		al_lit(&o, "\",\"BackendURL\":\"");
		al_puts(&o, r->be);
		al_lit(&o, "\",\"Duration\":");
		al_putu(&o, ms * 1000000);
		al_lit(&o, ",\"RequestCount\":");
		al_putu(&o, count);
		al_lit(&o, ",\"request_Referer\":\"");
		al_puts(&o, r->referer);
		al_lit(&o, "\",\"request_User-Agent\":\"");
		al_puts(&o, r->ua);
		al_lit(&o, "\",\"IngressdReason\":\"");
		al_puts(&o, rsn_names[r->rsn]);
		al_lit(&o, "\"}\n");
	} else {
		/* Traefik 1.x's CLF: ... "referer" "agent" count "frontend" "backend" durationms,
		 * then why ingressd answered itself ("-": the pod answered) */
		al_put(&o, cl, cln);
		al_lit(&o, " - ");
		al_puts(&o, r->user);
		al_lit(&o, " [");
		al_puts(&o, tc.clf);
		al_lit(&o, "] \"");
		al_puts(&o, r->method);
		al_lit(&o, " ");
		al_puts(&o, r->uri);
		al_lit(&o, " ");
		al_puts(&o, r->proto);
		al_lit(&o, "\" ");
		al_putu(&o, (uint64_t)status);
		al_lit(&o, " ");
		al_putu(&o, bytes);
		al_lit(&o, " \"");
		al_puts(&o, r->referer);
		al_lit(&o, "\" \"");
		al_puts(&o, r->ua);
		al_lit(&o, "\" ");
		al_putu(&o, count);
		al_lit(&o, " \"");
		al_puts(&o, r->fe);
		al_lit(&o, "\" \"");
		al_puts(&o, r->be);
		al_lit(&o, "\" ");
		al_putu(&o, ms);
		al_lit(&o, "ms ");
		al_puts(&o, rsn_names[r->rsn]);
		al_lit(&o, "\n");
	}
	g_al.len += o.n;
	g_al.lines++;
	if (g_al.flush_at == 0)
		g_al.flush_at = g.now + AL_FLUSH_MS;
}

/* A request is over (answered, failed or abandoned): counted and logged,
 * once. */
static void
mx_done(struct cn *c, int status, uint64_t bytes)
{
	if (!c->req_open)
		return;
	c->req_open = 0;
	rl_done(c);
	if (g_cn.lis[c->lis].ep < 0)
		return; /* the admin listener's own requests */
	const char *be = "";
	if (c->be >= 0 && c->be < g_lb.n && g_lb.s[c->be].used && g_lb.s[c->be].gen == c->be_gen)
		be = g_lb.s[c->be].key;
	uint64_t ms = g.now - c->t_start;
	mx_request(c->lis, be, c->meth, status, ms);
	al_end(c, status, bytes, ms);
	c->be = -1;
}

/* A large admin answer (/metrics, /api) from its mapped text, which the
 * connection owns until it is written. */
static void
mx_big(struct cn *c, int status, const char *ctype, struct mx_out *o)
{
	struct hp_msg *m = &g_hp.msg;
	if (o->full || g_mx_admin_big >= MX_MAX_BIG) {
		mx_out_free(o->p);
		int over = o->full && o->p != NULL;
		if (over)
			log_limit(LIM_ADMIN_BYTES, "mx: admin answer size");
		rs_error(c, over ? 500 : 503, RSN_ADMIN, over ? "answer over ING_MAX_ADMIN_BYTES" : o->full ? "out of memory" : "too many admin answers at once");
		return;
	}
	c->in->r += (uint32_t)m->head_len;
	if (m->meth == HM_HEAD) {
		rs_send(c, status, ctype, NULL, NULL, o->n, 1);
		mx_out_free(o->p);
		return;
	}
	g_mx_admin_big++;
	c->big = o->p;
	c->big_len = (uint32_t)o->n;
	c->big_off = 0;
	rs_send(c, status, ctype, NULL, NULL, o->n, 1); /* the head; the body follows from c->big */
}

/* The dashboard (dashboard/index.html): one page that reads /api/providers
 * and /metrics, kept gzip'd in the binary (make: dashboard/gen.sh) and sent
 * as it is: a client that takes no gzip gets 406 rather than ingressd a
 * decompressor. Its CSP lets in only the page's own style and script. It
 * is answered from one I/O buffer, as /ping is. */
#include "build/dashboard.h"
_Static_assert(sizeof mx_dash_gz + 1024 <= ING_BUF_SIZE, "the dashboard page and its head fit an I/O buffer");

/* Does the request take gzip: Accept-Encoding (RFC 9110 12.5.3) lists it
 * (any case), and not at q=0? (x-gzip, * and a second Accept-Encoding
 * line are not looked at: browsers and curl --compressed say gzip.) */
static int
mx_gzip_ok(const struct hp_msg *m)
{
	struct ing_str rest = hp_header(m, "accept-encoding"), it;
	while (str_item(&rest, &it)) {
		const char *end = it.p + it.n, *q = str_find(it.p, it.n, "q=0", 3);
		if (it.n < 4 || strncasecmp(it.p, "gzip", 4) || (it.n > 4 && it.p[4] != ';' && it.p[4] != ' '))
			continue;
		if (q == NULL)
			return 1;
		for (q += 3; q < end && (*q == '.' || *q == '0'); q++)
			;
		return q < end && *q >= '1' && *q <= '9';
	}
	return 0;
}

static void
mx_dashboard(struct cn *c, const struct hp_msg *m)
{
	static const char no[] = "406: the dashboard is sent gzip-compressed only (Accept-Encoding: gzip)\n";
	if (!mx_gzip_ok(m)) {
		rs_answer(c, 406, RSN_ADMIN, "dashboard: no Accept-Encoding: gzip", "Vary: Accept-Encoding\r\n", no,
		          sizeof no - 1);
		return;
	}
	c->in->r += (uint32_t)m->head_len;
	rs_send(c, 200, "text/html; charset=utf-8",
	        "Content-Encoding: gzip\r\nVary: Accept-Encoding\r\nX-Content-Type-Options: nosniff\r\n"
	        "Content-Security-Policy: " MX_DASH_CSP "\r\n",
	        (const char *)mx_dash_gz, sizeof mx_dash_gz, m->meth == HM_HEAD);
}

/* Admin requests: read-only, GET and HEAD. */
static void
mx_admin(struct cn *c, struct hp_msg *m)
{
	struct mx_out o = {NULL, 0, 0};
	struct ing_str path = m->path;
	const char *q = memchr(path.p, '?', path.n);
	if (q != NULL)
		path.n = (size_t)(q - path.p);
	if (m->meth != HM_GET && m->meth != HM_HEAD) {
		rs_error(c, 405, RSN_ADMIN, "admin is read-only");
		return;
	}
	if (m->clen > 0 || m->chunked) { /* never read as the next request */
		rs_error(c, 400, RSN_ADMIN, "admin requests take no body");
		return;
	}
	if (str_eq(path, "/ping")) {
		c->in->r += (uint32_t)m->head_len;
		rs_send(c, 200, "text/plain; charset=utf-8", NULL, "OK", 2, m->meth == HM_HEAD);
		return;
	}
	if (str_eq(path, "/ready")) {
		char why[200], body[256];
		const char *nr = kw_not_ready(why, sizeof why), *st = kw_stale();
		if (nr == NULL && !g_kw.ready)
			nr = "first routing table not built yet";
		/* stale (never when ready): 200, so a DaemonSet's node serves its last good routes */
		int n = st ? ing_snprintf(body, sizeof body, "stale since %s: %s\n", st, nr)
		           : ing_snprintf(body, sizeof body, "%s\n", nr ? nr : "OK");
		c->in->r += (uint32_t)m->head_len;
		rs_send(c, nr && !st ? 503 : 200, "text/plain; charset=utf-8", NULL, body, (size_t)n, m->meth == HM_HEAD);
		return;
	}
	if (str_eq(path, "/metrics")) {
		mx_metrics(&o);
		mx_big(c, 200, "text/plain; version=0.0.4; charset=utf-8", &o);
		return;
	}
	if (str_eq(path, "/api/providers") || str_eq(path, "/api/providers/kubernetes")) {
		mx_api(&o, str_eq(path, "/api/providers")); /* wrapped in {"kubernetes": ...} */
		mx_big(c, 200, "application/json", &o);
		return;
	}
	if (str_eq(path, "/dashboard/")) {
		mx_dashboard(c, m);
		return;
	}
	if (str_eq(path, "/") || str_eq(path, "/dashboard")) { /* as Traefik 1.x did */
		rs_location(c, 302, "/dashboard/", 11);
		return;
	}
	rs_error(c, 404, RSN_ADMIN, "no such admin path");
}

/* ===== 21. event loop and main ======================================== ev_
 * One wait per turn (port_ev_wait: epoll, or poll), and a turn costs what
 * happened in it, not the number of connections: a connection's interest
 * is registered again only when it was touched (cn_touch), deadlines sit
 * in a heap (tk_), and closes are reaped from their own list. A turn:
 * collect (register what changed; the timeout is the nearest deadline),
 * wait, dispatch, run again what has work left, expire, reap.
 */
#define EV_BATCH 64 /* ready descriptors served per wait; the rest the next turn */
static struct {
	struct cf cfs[2];
	int live; /* index of the live config */
	const char *conf_path;
	int sigfd;
	int stopping;       /* SIGTERM/SIGINT received */
	uint64_t stop_deadline;
	int reload;         /* SIGHUP pending */
	int exit_code;
	int dns_on;         /* the resolver's descriptor (g_dns.fd) is in the set */
	struct port_ev evs[EV_BATCH];
	int run[CN_TOTAL];  /* slots to serve without waiting, then those expired */
	int nrun;
} g_ev;

static void
cn_release(struct cn *c)
{
	struct cn *p = cn_peer(c);
	if (c->kind == CN_CLIENT && c->req_open) /* abandoned mid-exchange: 499 as nginx */
		mx_done(c, (c->xflags & XF_HEAD_SENT) ? c->status : 499, c->bytes);
	if (c->kind == CN_WATCH)
		kw_conn_gone(c);
	if (c->kind == CN_UPSTREAM) {
		up_pool_unlink(c);
		if (c->tls != NULL)
			g_tl.pod_sessions--;
	}
	if (p != NULL) {
		cn_unpair(c);
		if (p->closing)
			return;
		if (c->kind == CN_CLIENT) /* mid-exchange: the upstream cannot be reused */
			cn_close(p, "client gone");
		else /* the upstream went away under a client */
			up_fail(p, NULL, 502, RSN_UPSTREAM_ERROR, c->why ? c->why : "upstream gone");
	}
}

static int
ev_listen_all(struct cf *cf)
{
	char err[ING_ERR_LEN];
	g_cn.nlis = 0;
	for (int i = 0; i <= cf->n_eps; i++) {
		struct lis *l = &g_cn.lis[g_cn.nlis];
		const struct ing_addr *a;
		if (i == cf->n_eps) {
			if (!cf->web_enabled)
				break;
			a = &cf->web;
			l->ep = -1;
			ing_snprintf(l->name, sizeof l->name, "web");
		} else {
			a = &cf->eps[i].addr;
			l->ep = i;
			ing_snprintf(l->name, sizeof l->name, "%s", cf->eps[i].name);
		}
		l->addr = *a;
		l->fd = port_listen(a, CN_BACKLOG, err, sizeof err);
		if (l->fd < 0) {
			log_errx("cn: %s: listen on %s: %s", l->name, i == cf->n_eps ? cf->web_address : cf->eps[i].address, err);
			return ING_ERR;
		}
		log_info("cn: %s: listening on %s", l->name, i == cf->n_eps ? cf->web_address : cf->eps[i].address);
		g_cn.nlis++;
	}
	/* they and the signal pipe join the loop's set */
	g_cn.lis_paused = 0;
	if (port_ev_set(g_ev.sigfd, CN_TAG_SIG, 0, POLLIN) != 0) {
		log_warn("ev: signal pipe");
		return ING_ERR;
	}
	return cn_listeners_watch(POLLIN);
}

static void
ev_close_listeners(void)
{
	if (!g_cn.lis_paused)
		cn_listeners_watch(0);
	for (int i = 0; i < g_cn.nlis; i++)
		if (g_cn.lis[i].fd >= 0) {
			port_close(g_cn.lis[i].fd);
			g_cn.lis[i].fd = -1;
		}
}

/* SIGHUP: re-read the config; keep the old one on any error. Listener
 * addresses need a restart (as in Traefik 1.x, entry points are static). */
static void
ev_reload(void)
{
	static struct cf_parser ps;
	int spare = 1 - g_ev.live;
	struct cf *old = cf_live, *nc = &g_ev.cfs[spare];
	g_ev.reload = 0;
	if (cf_load(&ps, nc, g_ev.conf_path) != 0) {
		g.reload_failures++;
		log_errx("ev: reload: %s has %d error(s); keeping the running config", g_ev.conf_path ? g_ev.conf_path : "(defaults)", ps.nerr);
		for (int i = 0; i < ps.nmsg; i++)
			log_errx("ev: reload: %s:%d: %s%s", ps.file, ps.msgs[i].line, ps.msgs[i].warning ? "warning: " : "",
			         ps.msgs[i].text);
		return;
	}
	int relisten = nc->n_eps != old->n_eps || nc->web_enabled != old->web_enabled ||
	               memcmp(&nc->web, &old->web, sizeof nc->web) != 0;
	for (int i = 0; !relisten && i < nc->n_eps; i++)
		relisten = strcmp(nc->eps[i].name, old->eps[i].name) != 0 ||
		           memcmp(&nc->eps[i].addr, &old->eps[i].addr, sizeof nc->eps[i].addr) != 0 ||
		           nc->eps[i].tls != old->eps[i].tls;
	if (relisten) {
		/* the entry points stay as they are, with their whitelists and users */
		log_warnx("ev: reload: entry point or [web] addresses changed: they apply at the next restart");
		memcpy(nc->eps, old->eps, sizeof nc->eps);
		nc->n_eps = old->n_eps;
		nc->n_ep_cidrs = old->n_ep_cidrs;
		memcpy(nc->ep_cidrs, old->ep_cidrs, sizeof nc->ep_cidrs[0] * (size_t)old->n_ep_cidrs);
		nc->n_ep_users = old->n_ep_users;
		memcpy(nc->ep_users, old->ep_users, sizeof nc->ep_users[0] * (size_t)old->n_ep_users);
		nc->web = old->web;
		nc->web_enabled = old->web_enabled;
		memcpy(nc->web_address, old->web_address, sizeof nc->web_address);
	}
	if (tl_setup(nc) != 0) {
		g.reload_failures++;
		log_errx("ev: reload: keeping the running config");
		return;
	}
	if (nc->sticky_keyed != old->sticky_keyed || memcmp(nc->sticky_key, old->sticky_key, sizeof nc->sticky_key) != 0 ||
	    nc->insecure_skip_verify != old->insecure_skip_verify)
		kw_changed(); /* lb_sync makes the sticky tags again; rb_proto the pods' verification */
	g_ev.live = spare;
	cf_live = nc;
	kw_reload(&old->kube);
	al_flush();
	al_open(nc);
	g.loglevel = nc->loglevel;
	g.reloads++;
	g.reload_wall = port_wall_s();
	log_info("ev: reload: config %s applied", g_ev.conf_path ? g_ev.conf_path : "(defaults)");
}

static void
ev_signals(void)
{
	unsigned char sig[32];
	ssize_t n = port_read(g_ev.sigfd, sig, sizeof sig);
	for (ssize_t i = 0; i < n; i++) {
		switch (sig[i]) {
		case SIGTERM:
		case SIGINT:
			if (!g_ev.stopping) {
				g_ev.stopping = 1;
				g_ev.stop_deadline = g.now + cf_live->grace_timeout;
				log_info("ev: signal %d: draining (up to %" PRIu64 " ms)", sig[i], cf_live->grace_timeout);
				ev_close_listeners();
				for (int k = 0; k < g_cn.nactive; k++) {
					struct cn *c = &g_cn.tab[g_cn.active[k]];
					if (c->kind != CN_CLIENT)
						continue;
					c->flags |= CNF_DRAIN;
					if (c->state == CS_IDLE)
						cn_close(c, "draining");
				}
			}
			break;
		case SIGHUP:
			g_ev.reload = 1;
			break;
		case SIGUSR1: /* log rotation: write what is buffered, reopen */
			al_flush();
			al_open(cf_live);
			log_info("ev: signal %d: access log reopened", sig[i]);
			break;
		default:
			break;
		}
	}
}

static void
ev_io(struct cn *c)
{
	switch (c->kind) {
	case CN_CLIENT:
		cl_io(c);
		break;
	case CN_WATCH:
		kw_io(c);
		break;
	case CN_UPSTREAM:
		up_io(c);
		break;
	default:
		break;
	}
}

static void
ev_timeout(struct cn *c)
{
	cn_deadline(c, 0);
	switch (c->kind) {
	case CN_CLIENT:
		if (c->state == CS_PROXY || c->state == CS_TUNNEL)
			up_timeout(c);
		else
			cl_timeout(c);
		break;
	case CN_WATCH:
		kw_timeout(c);
		break;
	case CN_UPSTREAM:
		up_timeout(c);
		break;
	default:
		cn_close(c, "timeout");
		break;
	}
}

/* Serves c: its I/O, or its deadline when that expired. What it touches
 * is registered again at the next collect. */
static void
ev_serve(struct cn *c, int expired)
{
	struct cn *p = cn_peer(c);
	if (p != NULL)
		cn_touch(p);
	cn_touch(c);
	if (expired)
		ev_timeout(c);
	else
		ev_io(c);
	if ((p = cn_peer(c)) != NULL)
		cn_touch(p);
}

/* c has work that needs no wait: it yielded with some left (CNF_AGAIN), or
 * TLS holds plaintext it wants to read. */
static int
ev_ready(struct cn *c)
{
	return (c->flags & CNF_AGAIN) || (c->tls != NULL && (c->flags & CNF_WANT_READ) && tls_pending(c->tls) > 0);
}

/* What c's descriptor is registered for: what it wants now, and POLLIN
 * kept when it no longer wants to read (a client waiting for its answer,
 * between two reads of a stream): a readable socket it does not read is
 * rare, and taken out of the set when seen (ev_dispatch), where changing
 * the set each time would cost two system calls per request. */
static int
ev_interest(struct cn *c)
{
	return cn_events(c) | (c->evm & POLLIN);
}

/* Debug builds: every connection's registration, queueing and deadline
 * are what it wants now, i.e. no change escaped cn_touch or cn_deadline.
 * A walk over every connection, so never in a release build. */
static void
ev_check(void)
{
#if defined(ING_TEST) || defined(ING_EV_CHECK)
	for (int k = 0; k < g_cn.nactive; k++) {
		int i = g_cn.active[k];
		struct cn *c = &g_cn.tab[i];
		int pending = ev_ready(c);
		uint64_t at = g_tk.pos[i] ? g_tk.h[g_tk.pos[i] - 1].at : 0;
		if (c->closing)
			continue;
		if (ev_interest(c) != c->evm || (pending && !(c->evq & EVQ_AGAIN)) || at != c->deadline)
			fatalx("ev: conn %u (kind %d, state %s, flags %#x): wants %#x, registered %#x, pending %d, queued %d, "
			       "deadline %" PRIu64 " in the heap %" PRIu64 ": a change without cn_touch or cn_deadline",
			       c->id, c->kind, cn_state_names[c->state], c->flags, cn_events(c), c->evm, pending, c->evq,
			       c->deadline, at);
	}
	for (int j = 1; j < g_tk.n; j++)
		if (g_tk.h[j].at < g_tk.h[(j - 1) / 2].at || g_tk.pos[g_tk.h[j].slot] != j + 1)
			fatalx("ev: deadline heap out of order at %d", j);
#endif
}

/* Listeners back when there is room again. */
static void
ev_listeners(void)
{
	if (g_cn.lis_paused && g_cn.lis_resume_at && g.now >= g_cn.lis_resume_at) {
		g_cn.lis_resume_at = 0;
		cn_listeners_pause(0);
	}
	if (g_cn.lis_paused && !g_cn.lis_resume_at && g_cn.used[CN_CLIENT] < ING_MAX_CONNS)
		cn_listeners_pause(0);
}

/* Brings the set up to date with what the touched connections want now,
 * and queues those with work that needs no wait (CNF_AGAIN, or plaintext
 * buffered inside TLS). Returns the wait: 0 when some are queued, else
 * until the nearest deadline, at most max_wait_ms (-1: no limit). */
static int
ev_collect(int max_wait_ms)
{
	g_ev.nrun = 0;
	for (int k = 0; k < g_cn.ntouched; k++) {
		int i = g_cn.touched[k];
		struct cn *c = &g_cn.tab[i];
		c->evq &= (uint8_t)~EVQ_TOUCHED;
		if (c->kind == CN_NONE || c->closing)
			continue; /* cn_free takes it out of the set */
		int ev = ev_interest(c);
		if (ev != c->evm) {
			if (port_ev_set(c->fd, i, c->evm, ev) != 0) {
				log_warn("ev: conn %u: watch", c->id);
				cn_close(c, "cannot be watched");
				continue;
			}
			c->evm = (uint8_t)ev;
		}
		if (ev_ready(c)) {
			c->evq |= EVQ_AGAIN;
			g_ev.run[g_ev.nrun++] = i;
		}
	}
	g_cn.ntouched = 0;
	if (g_dns.busy && port_ev_set(g_dns.fd, CN_TAG_DNS, 0, POLLIN) == 0) /* its answer: read by rb_dns_tick */
		g_ev.dns_on = 1;
	ev_check();
	if (g_ev.nrun > 0)
		return 0;
	uint64_t next = tk_min(tk_next(), g_cn.lis_resume_at);
	if (g_ev.stopping)
		next = tk_min(next, g_ev.stop_deadline);
	next = tk_min(next, kw_next_deadline());
	next = tk_min(next, g_al.flush_at);
	next = tk_min(next, rb_dns_next());
	next = tk_min(next, au_next());
	if (next != 0) {
		uint64_t d = next > g.now ? next - g.now : 0;
		if (max_wait_ms < 0 || d < (uint64_t)max_wait_ms)
			return (int)ING_MIN(d, (uint64_t)INT_MAX);
	}
	return max_wait_ms;
}

static void
ev_dispatch(int n)
{
	uint32_t born = g_cn.next_id + 1; /* ids from here on were made in this dispatch */
	for (int k = 0; k < n; k++) {
		int tag = g_ev.evs[k].tag;
		if (tag == CN_TAG_SIG) {
			ev_signals();
		} else if (tag >= CN_TAG_LIS) {
			struct lis *l = &g_cn.lis[tag - CN_TAG_LIS];
			if (l->fd >= 0 && !g_cn.lis_paused)
				cn_accept(l);
		} else if (tag < CN_TOTAL) {
			struct cn *c = &g_cn.tab[tag];
			int e = g_ev.evs[k].events, want;
			if (e & (POLLIN | POLLHUP | POLLERR))
				c->flags &= (uint16_t)~CNF_DRAINED;
			/* redis ae: an earlier handler may have closed it, or freed it
			 * (up_evict) for a new connection the event is not about */
			if (c->kind == CN_NONE || c->closing || (int32_t)(c->id - born) >= 0)
				continue;
			want = cn_events(c);
			if (!(e & want) && (want == 0 || !(e & (POLLHUP | POLLERR)))) {
				/* only what it kept in the set but no longer waits for (ev_interest) */
				if (port_ev_set(c->fd, tag, c->evm, want) == 0)
					c->evm = (uint8_t)want;
				continue;
			}
			ev_serve(c, 0);
		} /* CN_TAG_DNS: rb_dns_tick reads it */
	}
}

/* The queued ones: work left (CNF_AGAIN), or plaintext inside TLS. */
static void
ev_again(void)
{
	for (int k = 0; k < g_ev.nrun; k++) {
		struct cn *c = &g_cn.tab[g_ev.run[k]];
		c->evq &= (uint8_t)~EVQ_AGAIN;
		if (c->kind == CN_NONE || c->closing || !ev_ready(c))
			continue;
		c->flags &= (uint16_t)~CNF_AGAIN;
		ev_serve(c, 0);
	}
}

/* Deadlines that came: taken off the heap first, so one that a handler
 * sets again (even to now) waits for the next turn. */
static void
ev_expire(void)
{
	int n = 0, i;
	while ((i = tk_pop()) >= 0)
		g_ev.run[n++] = i;
	for (int k = 0; k < n; k++) {
		struct cn *c = &g_cn.tab[g_ev.run[k]];
		if (c->kind != CN_NONE && !c->closing && tk_expired(c->deadline))
			ev_serve(c, 1);
	}
}

/* Frees what closed this turn; freeing one may close its peer. */
static void
ev_reap(void)
{
	while (g_cn.nclosed > 0) {
		struct cn *c = &g_cn.tab[g_cn.closed[--g_cn.nclosed]];
		if (c->kind != CN_NONE && c->closing)
			cn_free(c);
	}
}

/* One loop turn. */
static void
ev_turn(int max_wait_ms)
{
	g.now = port_now_ms();
	ev_listeners();
	int n = port_ev_wait(g_ev.evs, EV_BATCH, ev_collect(max_wait_ms));
	g.now = port_now_ms();
	if (n < 0 && errno != EINTR)
		log_warn("ev: wait");
	ev_dispatch(n);
	au_run();
	ev_again();
	ev_expire();
	ev_reap();
	kw_tick();
	if (g_ev.dns_on) { /* rb_dns_tick may close it: out of the set first */
		port_ev_set(g_dns.fd, CN_TAG_DNS, POLLIN, 0);
		g_ev.dns_on = 0;
	}
	rb_dns_tick();
	if (g_al.flush_at != 0 && g.now >= g_al.flush_at)
		al_flush();
	if (g_ev.reload)
		ev_reload();
}

/* Runs until stopped and drained. Returns the exit code. */
static int
ev_run(void)
{
	for (;;) {
		ev_turn(-1);
		if (g_ev.stopping && (g_cn.used[CN_CLIENT] == 0 || g.now >= g_ev.stop_deadline)) {
			if (g_cn.used[CN_CLIENT] > 0)
				log_warnx("ev: grace time over: closing %d client connection(s)", g_cn.used[CN_CLIENT]);
			al_flush();
			log_info("ev: stopped");
			return g_ev.exit_code;
		}
	}
}

static void
ev_usage(int fd)
{
	log_say(fd, "usage: ingressd [-c FILE] [-t] [-l LEVEL] [-V] [-h]\n"
	           "  -c, --config FILE     config file (default /etc/ingressd/ingressd.conf if present)\n"
	           "  -t, --check           check the config and exit (0 ok, 1 with FILE:LINE: errors)\n"
	           "  -l, --log-level LEVEL DEBUG, INFO, WARN or ERROR (overrides logLevel)\n"
	           "  -V, --version         print version, TLS port and compiled limits\n"
	           "  -h, --help            this text\n");
}

static void
ev_version(void)
{
	log_say(1, "ingressd %s (TLS: %s, loop: %s)\n", ING_VERSION, tls_port_name(), port_ev_name());
	log_say(1, "limits:");
	for (int i = 0; i < LIM__COUNT; i++)
		log_say(1, " ING_MAX_%s=%u", lim_names[i], lim_values[i]);
	log_say(1, " ING_BUF_SIZE=%d\n", ING_BUF_SIZE);
}

#ifndef ING_NO_MAIN
int
main(int argc, char **argv)
{
	static struct cf_parser ps;
	const char *conf = NULL, *level = NULL;
	int check = 0;
	char err[ING_ERR_LEN];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-c") || !strcmp(a, "--config") || !strcmp(a, "-l") || !strcmp(a, "--log-level")) {
			if (i + 1 >= argc) {
				log_say(2, "ingressd: %s needs an argument\n", a);
				ev_usage(2);
				return 2;
			}
			if (a[1] == 'c' || a[2] == 'c')
				conf = argv[++i];
			else
				level = argv[++i];
		} else if (!strncmp(a, "--config=", 9)) {
			conf = a + 9;
		} else if (!strncmp(a, "--log-level=", 12)) {
			level = a + 12;
		} else if (!strcmp(a, "-t") || !strcmp(a, "--check")) {
			check = 1;
		} else if (!strcmp(a, "-V") || !strcmp(a, "--version")) {
			ev_version();
			return 0;
		} else if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
			ev_usage(1);
			return 0;
		} else {
			log_say(2, "ingressd: unknown argument \"%s\"\n", a);
			ev_usage(2);
			return 2;
		}
	}
	if (conf == NULL && access("/etc/ingressd/ingressd.conf", F_OK) == 0)
		conf = "/etc/ingressd/ingressd.conf";
	g_ev.conf_path = conf;
	cf_live = &g_ev.cfs[g_ev.live]; /* the one handle on the config in force */
	int nerr = cf_load(&ps, cf_live, conf);
	cf_report(&ps, 2);
	if (check && nerr == 0 && tl_setup(cf_live) != 0) /* the certificate and CA files too */
		nerr = 1;
	if (check) {
		if (nerr == 0)
			log_say(1, "%s: configuration ok\n", conf ? conf : "(defaults)");
		return nerr == 0 ? 0 : 1;
	}
	if (nerr != 0)
		return 1;
	g.loglevel = cf_live->loglevel;
	if (level != NULL) {
		int l = log_level_parse(level);
		if (l < 0) {
			log_say(2, "ingressd: unknown log level \"%s\" (DEBUG, INFO, WARN, ERROR)\n", level);
			return 2;
		}
		g.loglevel = cf_live->loglevel = l;
	}
	g.now = port_now_ms();
	cn_init();
	st_init();
	rb_init();
	up_init();
	log_info("ev: ingressd %s starting (TLS: %s, loop: %s)", ING_VERSION, tls_port_name(), port_ev_name());
	const char *why = kw_setup(&cf_live->kube);
	if (why != NULL) {
		log_errx("kw: %s", why);
		return 1;
	}
	if ((g_ev.sigfd = port_signals(err, sizeof err)) < 0)
		fatalx("ev: signals: %s", err);
	if (ev_listen_all(cf_live) != 0)
		return 1;
	al_open(cf_live);
	if (tl_setup(cf_live) != 0)
		return 1;
	g.start_wall = port_wall_s();
	if (cf_live->user[0] != '\0') {
		if (port_drop_privileges(cf_live->user, err, sizeof err) != 0)
			fatalx("ev: %s", err);
		log_info("ev: running as user %s after binding", cf_live->user);
	}
	return ev_run();
}
#endif

/* ===== 22. appendix: password hashes ================================== au_
 * What basic auth (section 15) verifies with: base64 in its three
 * alphabets, Blowfish and bcrypt (in slices, for the loop), MD5-crypt and
 * {SHA}. Constant-time where a secret is compared.
 */
/* 1 + (c - lo + v) if lo <= c <= hi, else 0; no branch, no table. */
static uint32_t
au_b64_rng(uint32_t c, uint32_t lo, uint32_t hi, uint32_t v)
{
	uint32_t in = (((c - lo) | (hi - c)) >> 31) - 1; /* ~0 when in range */

	return in & (c - lo + v + 1);
}

/* 1 + the value of c in the alphabet, 0 if c is not in it. Decoded bytes
 * include passwords (the Authorization header), so they must not index
 * memory: cache timing would leak them. */
static uint32_t
au_b64_val(unsigned char ch, int alpha)
{
	uint32_t c = ch;

	switch (alpha) {
	case AU_B64_STD: /* RFC 4648: A-Z a-z 0-9 + / */
		return au_b64_rng(c, 'A', 'Z', 0) | au_b64_rng(c, 'a', 'z', 26) |
		    au_b64_rng(c, '0', '9', 52) | au_b64_rng(c, '+', '+', 62) |
		    au_b64_rng(c, '/', '/', 63);
	case AU_B64_BCRYPT: /* ./ A-Z a-z 0-9 */
		return au_b64_rng(c, '.', '/', 0) | au_b64_rng(c, 'A', 'Z', 2) |
		    au_b64_rng(c, 'a', 'z', 28) | au_b64_rng(c, '0', '9', 54);
	default: /* crypt(3): ./0-9 A-Z a-z */
		return au_b64_rng(c, '.', '9', 0) | au_b64_rng(c, 'A', 'Z', 12) |
		    au_b64_rng(c, 'a', 'z', 38);
	}
}

/* n characters, 6 bits each, most significant first (RFC 4648 order, which
 * bcrypt shares), into n * 6 / 8 bytes. Returns the value of the unused
 * trailing bits (0 when canonical), or ING_ERR on a foreign character. */
static int
au_b64_bits(const char *in, size_t n, unsigned char *out, int alpha)
{
	uint32_t acc = 0, v;
	unsigned bits = 0;

	for (size_t i = 0; i < n; i++) {
		if ((v = au_b64_val((unsigned char)in[i], alpha)) == 0)
			return ING_ERR;
		acc = (acc << 6 | (v - 1)) & 0xfff;
		if ((bits += 6) >= 8) {
			bits -= 8;
			*out++ = (unsigned char)(acc >> bits);
		}
	}
	return (int)(acc & ((1u << bits) - 1));
}

/* Standard base64, padded or not. Refused: any byte outside the alphabet
 * (whitespace included), '=' anywhere but as the 1-2 final characters of a
 * multiple of 4, a length of 4k+1, non-zero unused bits (each accepted
 * input is the only encoding of its bytes), more than cap bytes. Returns
 * the length; on ING_ERR, out holds nothing. */
static int
au_b64_decode(const char *in, size_t n, unsigned char *out, size_t cap)
{
	size_t len;

	if (n % 4 == 0 && n > 0 && in[n - 1] == '=')
		n -= in[n - 2] == '=' ? 2 : 1;
	if (n % 4 == 1)
		return ING_ERR;
	len = n / 4 * 3 + (n % 4 ? n % 4 - 1 : 0);
	if (len > cap || len > INT_MAX)
		return ING_ERR;
	if (au_b64_bits(in, n, out, AU_B64_STD) != 0) {
		au_wipe(out, len);
		return ING_ERR;
	}
	return (int)len;
}

/* ---- Blowfish and bcrypt (Provos and Mazieres, USENIX 1999; as OpenBSD's
 * bcrypt.c, minor version 2b). struct au_bf and au_bcrypt are declared
 * with g_au, which holds the checks in progress. */

/* The hexadecimal digits of pi after the point, 8 per word. Computed, not
 * transcribed (pi_tables.py: Machin's formula in exact integers, BBP spot
 * checks), and proven by Eric Young's ECB vectors in the test. */
static const uint32_t au_bf_init[AU_BF_WORDS] = {
	/* P-array */
	0x243f6a88, 0x85a308d3, 0x13198a2e, 0x03707344, 0xa4093822, 0x299f31d0,
	0x082efa98, 0xec4e6c89, 0x452821e6, 0x38d01377, 0xbe5466cf, 0x34e90c6c,
	0xc0ac29b7, 0xc97c50dd, 0x3f84d5b5, 0xb5470917, 0x9216d5d9, 0x8979fb1b,
	/* S-box 0 */
	0xd1310ba6, 0x98dfb5ac, 0x2ffd72db, 0xd01adfb7, 0xb8e1afed, 0x6a267e96,
	0xba7c9045, 0xf12c7f99, 0x24a19947, 0xb3916cf7, 0x0801f2e2, 0x858efc16,
	0x636920d8, 0x71574e69, 0xa458fea3, 0xf4933d7e, 0x0d95748f, 0x728eb658,
	0x718bcd58, 0x82154aee, 0x7b54a41d, 0xc25a59b5, 0x9c30d539, 0x2af26013,
	0xc5d1b023, 0x286085f0, 0xca417918, 0xb8db38ef, 0x8e79dcb0, 0x603a180e,
	0x6c9e0e8b, 0xb01e8a3e, 0xd71577c1, 0xbd314b27, 0x78af2fda, 0x55605c60,
	0xe65525f3, 0xaa55ab94, 0x57489862, 0x63e81440, 0x55ca396a, 0x2aab10b6,
	0xb4cc5c34, 0x1141e8ce, 0xa15486af, 0x7c72e993, 0xb3ee1411, 0x636fbc2a,
	0x2ba9c55d, 0x741831f6, 0xce5c3e16, 0x9b87931e, 0xafd6ba33, 0x6c24cf5c,
	0x7a325381, 0x28958677, 0x3b8f4898, 0x6b4bb9af, 0xc4bfe81b, 0x66282193,
	0x61d809cc, 0xfb21a991, 0x487cac60, 0x5dec8032, 0xef845d5d, 0xe98575b1,
	0xdc262302, 0xeb651b88, 0x23893e81, 0xd396acc5, 0x0f6d6ff3, 0x83f44239,
	0x2e0b4482, 0xa4842004, 0x69c8f04a, 0x9e1f9b5e, 0x21c66842, 0xf6e96c9a,
	0x670c9c61, 0xabd388f0, 0x6a51a0d2, 0xd8542f68, 0x960fa728, 0xab5133a3,
	0x6eef0b6c, 0x137a3be4, 0xba3bf050, 0x7efb2a98, 0xa1f1651d, 0x39af0176,
	0x66ca593e, 0x82430e88, 0x8cee8619, 0x456f9fb4, 0x7d84a5c3, 0x3b8b5ebe,
	0xe06f75d8, 0x85c12073, 0x401a449f, 0x56c16aa6, 0x4ed3aa62, 0x363f7706,
	0x1bfedf72, 0x429b023d, 0x37d0d724, 0xd00a1248, 0xdb0fead3, 0x49f1c09b,
	0x075372c9, 0x80991b7b, 0x25d479d8, 0xf6e8def7, 0xe3fe501a, 0xb6794c3b,
	0x976ce0bd, 0x04c006ba, 0xc1a94fb6, 0x409f60c4, 0x5e5c9ec2, 0x196a2463,
	0x68fb6faf, 0x3e6c53b5, 0x1339b2eb, 0x3b52ec6f, 0x6dfc511f, 0x9b30952c,
	0xcc814544, 0xaf5ebd09, 0xbee3d004, 0xde334afd, 0x660f2807, 0x192e4bb3,
	0xc0cba857, 0x45c8740f, 0xd20b5f39, 0xb9d3fbdb, 0x5579c0bd, 0x1a60320a,
	0xd6a100c6, 0x402c7279, 0x679f25fe, 0xfb1fa3cc, 0x8ea5e9f8, 0xdb3222f8,
	0x3c7516df, 0xfd616b15, 0x2f501ec8, 0xad0552ab, 0x323db5fa, 0xfd238760,
	0x53317b48, 0x3e00df82, 0x9e5c57bb, 0xca6f8ca0, 0x1a87562e, 0xdf1769db,
	0xd542a8f6, 0x287effc3, 0xac6732c6, 0x8c4f5573, 0x695b27b0, 0xbbca58c8,
	0xe1ffa35d, 0xb8f011a0, 0x10fa3d98, 0xfd2183b8, 0x4afcb56c, 0x2dd1d35b,
	0x9a53e479, 0xb6f84565, 0xd28e49bc, 0x4bfb9790, 0xe1ddf2da, 0xa4cb7e33,
	0x62fb1341, 0xcee4c6e8, 0xef20cada, 0x36774c01, 0xd07e9efe, 0x2bf11fb4,
	0x95dbda4d, 0xae909198, 0xeaad8e71, 0x6b93d5a0, 0xd08ed1d0, 0xafc725e0,
	0x8e3c5b2f, 0x8e7594b7, 0x8ff6e2fb, 0xf2122b64, 0x8888b812, 0x900df01c,
	0x4fad5ea0, 0x688fc31c, 0xd1cff191, 0xb3a8c1ad, 0x2f2f2218, 0xbe0e1777,
	0xea752dfe, 0x8b021fa1, 0xe5a0cc0f, 0xb56f74e8, 0x18acf3d6, 0xce89e299,
	0xb4a84fe0, 0xfd13e0b7, 0x7cc43b81, 0xd2ada8d9, 0x165fa266, 0x80957705,
	0x93cc7314, 0x211a1477, 0xe6ad2065, 0x77b5fa86, 0xc75442f5, 0xfb9d35cf,
	0xebcdaf0c, 0x7b3e89a0, 0xd6411bd3, 0xae1e7e49, 0x00250e2d, 0x2071b35e,
	0x226800bb, 0x57b8e0af, 0x2464369b, 0xf009b91e, 0x5563911d, 0x59dfa6aa,
	0x78c14389, 0xd95a537f, 0x207d5ba2, 0x02e5b9c5, 0x83260376, 0x6295cfa9,
	0x11c81968, 0x4e734a41, 0xb3472dca, 0x7b14a94a, 0x1b510052, 0x9a532915,
	0xd60f573f, 0xbc9bc6e4, 0x2b60a476, 0x81e67400, 0x08ba6fb5, 0x571be91f,
	0xf296ec6b, 0x2a0dd915, 0xb6636521, 0xe7b9f9b6, 0xff34052e, 0xc5855664,
	0x53b02d5d, 0xa99f8fa1, 0x08ba4799, 0x6e85076a,
	/* S-box 1 */
	0x4b7a70e9, 0xb5b32944, 0xdb75092e, 0xc4192623, 0xad6ea6b0, 0x49a7df7d,
	0x9cee60b8, 0x8fedb266, 0xecaa8c71, 0x699a17ff, 0x5664526c, 0xc2b19ee1,
	0x193602a5, 0x75094c29, 0xa0591340, 0xe4183a3e, 0x3f54989a, 0x5b429d65,
	0x6b8fe4d6, 0x99f73fd6, 0xa1d29c07, 0xefe830f5, 0x4d2d38e6, 0xf0255dc1,
	0x4cdd2086, 0x8470eb26, 0x6382e9c6, 0x021ecc5e, 0x09686b3f, 0x3ebaefc9,
	0x3c971814, 0x6b6a70a1, 0x687f3584, 0x52a0e286, 0xb79c5305, 0xaa500737,
	0x3e07841c, 0x7fdeae5c, 0x8e7d44ec, 0x5716f2b8, 0xb03ada37, 0xf0500c0d,
	0xf01c1f04, 0x0200b3ff, 0xae0cf51a, 0x3cb574b2, 0x25837a58, 0xdc0921bd,
	0xd19113f9, 0x7ca92ff6, 0x94324773, 0x22f54701, 0x3ae5e581, 0x37c2dadc,
	0xc8b57634, 0x9af3dda7, 0xa9446146, 0x0fd0030e, 0xecc8c73e, 0xa4751e41,
	0xe238cd99, 0x3bea0e2f, 0x3280bba1, 0x183eb331, 0x4e548b38, 0x4f6db908,
	0x6f420d03, 0xf60a04bf, 0x2cb81290, 0x24977c79, 0x5679b072, 0xbcaf89af,
	0xde9a771f, 0xd9930810, 0xb38bae12, 0xdccf3f2e, 0x5512721f, 0x2e6b7124,
	0x501adde6, 0x9f84cd87, 0x7a584718, 0x7408da17, 0xbc9f9abc, 0xe94b7d8c,
	0xec7aec3a, 0xdb851dfa, 0x63094366, 0xc464c3d2, 0xef1c1847, 0x3215d908,
	0xdd433b37, 0x24c2ba16, 0x12a14d43, 0x2a65c451, 0x50940002, 0x133ae4dd,
	0x71dff89e, 0x10314e55, 0x81ac77d6, 0x5f11199b, 0x043556f1, 0xd7a3c76b,
	0x3c11183b, 0x5924a509, 0xf28fe6ed, 0x97f1fbfa, 0x9ebabf2c, 0x1e153c6e,
	0x86e34570, 0xeae96fb1, 0x860e5e0a, 0x5a3e2ab3, 0x771fe71c, 0x4e3d06fa,
	0x2965dcb9, 0x99e71d0f, 0x803e89d6, 0x5266c825, 0x2e4cc978, 0x9c10b36a,
	0xc6150eba, 0x94e2ea78, 0xa5fc3c53, 0x1e0a2df4, 0xf2f74ea7, 0x361d2b3d,
	0x1939260f, 0x19c27960, 0x5223a708, 0xf71312b6, 0xebadfe6e, 0xeac31f66,
	0xe3bc4595, 0xa67bc883, 0xb17f37d1, 0x018cff28, 0xc332ddef, 0xbe6c5aa5,
	0x65582185, 0x68ab9802, 0xeecea50f, 0xdb2f953b, 0x2aef7dad, 0x5b6e2f84,
	0x1521b628, 0x29076170, 0xecdd4775, 0x619f1510, 0x13cca830, 0xeb61bd96,
	0x0334fe1e, 0xaa0363cf, 0xb5735c90, 0x4c70a239, 0xd59e9e0b, 0xcbaade14,
	0xeecc86bc, 0x60622ca7, 0x9cab5cab, 0xb2f3846e, 0x648b1eaf, 0x19bdf0ca,
	0xa02369b9, 0x655abb50, 0x40685a32, 0x3c2ab4b3, 0x319ee9d5, 0xc021b8f7,
	0x9b540b19, 0x875fa099, 0x95f7997e, 0x623d7da8, 0xf837889a, 0x97e32d77,
	0x11ed935f, 0x16681281, 0x0e358829, 0xc7e61fd6, 0x96dedfa1, 0x7858ba99,
	0x57f584a5, 0x1b227263, 0x9b83c3ff, 0x1ac24696, 0xcdb30aeb, 0x532e3054,
	0x8fd948e4, 0x6dbc3128, 0x58ebf2ef, 0x34c6ffea, 0xfe28ed61, 0xee7c3c73,
	0x5d4a14d9, 0xe864b7e3, 0x42105d14, 0x203e13e0, 0x45eee2b6, 0xa3aaabea,
	0xdb6c4f15, 0xfacb4fd0, 0xc742f442, 0xef6abbb5, 0x654f3b1d, 0x41cd2105,
	0xd81e799e, 0x86854dc7, 0xe44b476a, 0x3d816250, 0xcf62a1f2, 0x5b8d2646,
	0xfc8883a0, 0xc1c7b6a3, 0x7f1524c3, 0x69cb7492, 0x47848a0b, 0x5692b285,
	0x095bbf00, 0xad19489d, 0x1462b174, 0x23820e00, 0x58428d2a, 0x0c55f5ea,
	0x1dadf43e, 0x233f7061, 0x3372f092, 0x8d937e41, 0xd65fecf1, 0x6c223bdb,
	0x7cde3759, 0xcbee7460, 0x4085f2a7, 0xce77326e, 0xa6078084, 0x19f8509e,
	0xe8efd855, 0x61d99735, 0xa969a7aa, 0xc50c06c2, 0x5a04abfc, 0x800bcadc,
	0x9e447a2e, 0xc3453484, 0xfdd56705, 0x0e1e9ec9, 0xdb73dbd3, 0x105588cd,
	0x675fda79, 0xe3674340, 0xc5c43465, 0x713e38d8, 0x3d28f89e, 0xf16dff20,
	0x153e21e7, 0x8fb03d4a, 0xe6e39f2b, 0xdb83adf7,
	/* S-box 2 */
	0xe93d5a68, 0x948140f7, 0xf64c261c, 0x94692934, 0x411520f7, 0x7602d4f7,
	0xbcf46b2e, 0xd4a20068, 0xd4082471, 0x3320f46a, 0x43b7d4b7, 0x500061af,
	0x1e39f62e, 0x97244546, 0x14214f74, 0xbf8b8840, 0x4d95fc1d, 0x96b591af,
	0x70f4ddd3, 0x66a02f45, 0xbfbc09ec, 0x03bd9785, 0x7fac6dd0, 0x31cb8504,
	0x96eb27b3, 0x55fd3941, 0xda2547e6, 0xabca0a9a, 0x28507825, 0x530429f4,
	0x0a2c86da, 0xe9b66dfb, 0x68dc1462, 0xd7486900, 0x680ec0a4, 0x27a18dee,
	0x4f3ffea2, 0xe887ad8c, 0xb58ce006, 0x7af4d6b6, 0xaace1e7c, 0xd3375fec,
	0xce78a399, 0x406b2a42, 0x20fe9e35, 0xd9f385b9, 0xee39d7ab, 0x3b124e8b,
	0x1dc9faf7, 0x4b6d1856, 0x26a36631, 0xeae397b2, 0x3a6efa74, 0xdd5b4332,
	0x6841e7f7, 0xca7820fb, 0xfb0af54e, 0xd8feb397, 0x454056ac, 0xba489527,
	0x55533a3a, 0x20838d87, 0xfe6ba9b7, 0xd096954b, 0x55a867bc, 0xa1159a58,
	0xcca92963, 0x99e1db33, 0xa62a4a56, 0x3f3125f9, 0x5ef47e1c, 0x9029317c,
	0xfdf8e802, 0x04272f70, 0x80bb155c, 0x05282ce3, 0x95c11548, 0xe4c66d22,
	0x48c1133f, 0xc70f86dc, 0x07f9c9ee, 0x41041f0f, 0x404779a4, 0x5d886e17,
	0x325f51eb, 0xd59bc0d1, 0xf2bcc18f, 0x41113564, 0x257b7834, 0x602a9c60,
	0xdff8e8a3, 0x1f636c1b, 0x0e12b4c2, 0x02e1329e, 0xaf664fd1, 0xcad18115,
	0x6b2395e0, 0x333e92e1, 0x3b240b62, 0xeebeb922, 0x85b2a20e, 0xe6ba0d99,
	0xde720c8c, 0x2da2f728, 0xd0127845, 0x95b794fd, 0x647d0862, 0xe7ccf5f0,
	0x5449a36f, 0x877d48fa, 0xc39dfd27, 0xf33e8d1e, 0x0a476341, 0x992eff74,
	0x3a6f6eab, 0xf4f8fd37, 0xa812dc60, 0xa1ebddf8, 0x991be14c, 0xdb6e6b0d,
	0xc67b5510, 0x6d672c37, 0x2765d43b, 0xdcd0e804, 0xf1290dc7, 0xcc00ffa3,
	0xb5390f92, 0x690fed0b, 0x667b9ffb, 0xcedb7d9c, 0xa091cf0b, 0xd9155ea3,
	0xbb132f88, 0x515bad24, 0x7b9479bf, 0x763bd6eb, 0x37392eb3, 0xcc115979,
	0x8026e297, 0xf42e312d, 0x6842ada7, 0xc66a2b3b, 0x12754ccc, 0x782ef11c,
	0x6a124237, 0xb79251e7, 0x06a1bbe6, 0x4bfb6350, 0x1a6b1018, 0x11caedfa,
	0x3d25bdd8, 0xe2e1c3c9, 0x44421659, 0x0a121386, 0xd90cec6e, 0xd5abea2a,
	0x64af674e, 0xda86a85f, 0xbebfe988, 0x64e4c3fe, 0x9dbc8057, 0xf0f7c086,
	0x60787bf8, 0x6003604d, 0xd1fd8346, 0xf6381fb0, 0x7745ae04, 0xd736fccc,
	0x83426b33, 0xf01eab71, 0xb0804187, 0x3c005e5f, 0x77a057be, 0xbde8ae24,
	0x55464299, 0xbf582e61, 0x4e58f48f, 0xf2ddfda2, 0xf474ef38, 0x8789bdc2,
	0x5366f9c3, 0xc8b38e74, 0xb475f255, 0x46fcd9b9, 0x7aeb2661, 0x8b1ddf84,
	0x846a0e79, 0x915f95e2, 0x466e598e, 0x20b45770, 0x8cd55591, 0xc902de4c,
	0xb90bace1, 0xbb8205d0, 0x11a86248, 0x7574a99e, 0xb77f19b6, 0xe0a9dc09,
	0x662d09a1, 0xc4324633, 0xe85a1f02, 0x09f0be8c, 0x4a99a025, 0x1d6efe10,
	0x1ab93d1d, 0x0ba5a4df, 0xa186f20f, 0x2868f169, 0xdcb7da83, 0x573906fe,
	0xa1e2ce9b, 0x4fcd7f52, 0x50115e01, 0xa70683fa, 0xa002b5c4, 0x0de6d027,
	0x9af88c27, 0x773f8641, 0xc3604c06, 0x61a806b5, 0xf0177a28, 0xc0f586e0,
	0x006058aa, 0x30dc7d62, 0x11e69ed7, 0x2338ea63, 0x53c2dd94, 0xc2c21634,
	0xbbcbee56, 0x90bcb6de, 0xebfc7da1, 0xce591d76, 0x6f05e409, 0x4b7c0188,
	0x39720a3d, 0x7c927c24, 0x86e3725f, 0x724d9db9, 0x1ac15bb4, 0xd39eb8fc,
	0xed545578, 0x08fca5b5, 0xd83d7cd3, 0x4dad0fc4, 0x1e50ef5e, 0xb161e6f8,
	0xa28514d9, 0x6c51133c, 0x6fd5c7e7, 0x56e14ec4, 0x362abfce, 0xddc6c837,
	0xd79a3234, 0x92638212, 0x670efa8e, 0x406000e0,
	/* S-box 3 */
	0x3a39ce37, 0xd3faf5cf, 0xabc27737, 0x5ac52d1b, 0x5cb0679e, 0x4fa33742,
	0xd3822740, 0x99bc9bbe, 0xd5118e9d, 0xbf0f7315, 0xd62d1c7e, 0xc700c47b,
	0xb78c1b6b, 0x21a19045, 0xb26eb1be, 0x6a366eb4, 0x5748ab2f, 0xbc946e79,
	0xc6a376d2, 0x6549c2c8, 0x530ff8ee, 0x468dde7d, 0xd5730a1d, 0x4cd04dc6,
	0x2939bbdb, 0xa9ba4650, 0xac9526e8, 0xbe5ee304, 0xa1fad5f0, 0x6a2d519a,
	0x63ef8ce2, 0x9a86ee22, 0xc089c2b8, 0x43242ef6, 0xa51e03aa, 0x9cf2d0a4,
	0x83c061ba, 0x9be96a4d, 0x8fe51550, 0xba645bd6, 0x2826a2f9, 0xa73a3ae1,
	0x4ba99586, 0xef5562e9, 0xc72fefd3, 0xf752f7da, 0x3f046f69, 0x77fa0a59,
	0x80e4a915, 0x87b08601, 0x9b09e6ad, 0x3b3ee593, 0xe990fd5a, 0x9e34d797,
	0x2cf0b7d9, 0x022b8b51, 0x96d5ac3a, 0x017da67d, 0xd1cf3ed6, 0x7c7d2d28,
	0x1f9f25cf, 0xadf2b89b, 0x5ad6b472, 0x5a88f54c, 0xe029ac71, 0xe019a5e6,
	0x47b0acfd, 0xed93fa9b, 0xe8d3c48d, 0x283b57cc, 0xf8d56629, 0x79132e28,
	0x785f0191, 0xed756055, 0xf7960e44, 0xe3d35e8c, 0x15056dd4, 0x88f46dba,
	0x03a16125, 0x0564f0bd, 0xc3eb9e15, 0x3c9057a2, 0x97271aec, 0xa93a072a,
	0x1b3f6d9b, 0x1e6321f5, 0xf59c66fb, 0x26dcf319, 0x7533d928, 0xb155fdf5,
	0x03563482, 0x8aba3cbb, 0x28517711, 0xc20ad9f8, 0xabcc5167, 0xccad925f,
	0x4de81751, 0x3830dc8e, 0x379d5862, 0x9320f991, 0xea7a90c2, 0xfb3e7bce,
	0x5121ce64, 0x774fbe32, 0xa8b6e37e, 0xc3293d46, 0x48de5369, 0x6413e680,
	0xa2ae0810, 0xdd6db224, 0x69852dfd, 0x09072166, 0xb39a460a, 0x6445c0dd,
	0x586cdecf, 0x1c20c8ae, 0x5bbef7dd, 0x1b588d40, 0xccd2017f, 0x6bb4e3bb,
	0xdda26a7e, 0x3a59ff45, 0x3e350a44, 0xbcb4cdd5, 0x72eacea8, 0xfa6484bb,
	0x8d6612ae, 0xbf3c6f47, 0xd29be463, 0x542f5d9e, 0xaec2771b, 0xf64e6370,
	0x740e0d8d, 0xe75b1357, 0xf8721671, 0xaf537d5d, 0x4040cb08, 0x4eb4e2cc,
	0x34d2466a, 0x0115af84, 0xe1b00428, 0x95983a1d, 0x06b89fb4, 0xce6ea048,
	0x6f3f3b82, 0x3520ab82, 0x011a1d4b, 0x277227f8, 0x611560b1, 0xe7933fdc,
	0xbb3a792b, 0x344525bd, 0xa08839e1, 0x51ce794b, 0x2f32c9b7, 0xa01fbac9,
	0xe01cc87e, 0xbcc7d1f6, 0xcf0111c3, 0xa1e8aac7, 0x1a908749, 0xd44fbd9a,
	0xd0dadecb, 0xd50ada38, 0x0339c32a, 0xc6913667, 0x8df9317c, 0xe0b12b4f,
	0xf79e59b7, 0x43f5bb3a, 0xf2d519ff, 0x27d9459c, 0xbf97222c, 0x15e6fc2a,
	0x0f91fc71, 0x9b941525, 0xfae59361, 0xceb69ceb, 0xc2a86459, 0x12baa8d1,
	0xb6c1075e, 0xe3056a0c, 0x10d25065, 0xcb03a442, 0xe0ec6e0e, 0x1698db3b,
	0x4c98a0be, 0x3278e964, 0x9f1f9532, 0xe0d392df, 0xd3a0342b, 0x8971f21e,
	0x1b0a7441, 0x4ba3348c, 0xc5be7120, 0xc37632d8, 0xdf359f8d, 0x9b992f2e,
	0xe60b6f47, 0x0fe3f11d, 0xe54cda54, 0x1edad891, 0xce6279cf, 0xcd3e7e6f,
	0x1618b166, 0xfd2c1d05, 0x848fd2c5, 0xf6fb2299, 0xf523f357, 0xa6327623,
	0x93a83531, 0x56cccd02, 0xacf08162, 0x5a75ebb5, 0x6e163697, 0x88d273cc,
	0xde966292, 0x81b949d0, 0x4c50901b, 0x71c65614, 0xe6c6c7bd, 0x327a140a,
	0x45e1d006, 0xc3f27b9a, 0xc9aa53fd, 0x62a80f00, 0xbb25bfe2, 0x35bdd2f6,
	0x71126905, 0xb2040222, 0xb6cbcf7c, 0xcd769c2b, 0x53113ec0, 0x1640e3d3,
	0x38abbd60, 0x2547adf0, 0xba38209c, 0xf746ce76, 0x77afa1c5, 0x20756060,
	0x85cbfe4e, 0x8ae88dd8, 0x7aaaf9b0, 0x4cf9aa7e, 0x1948c25c, 0x02fb8a8c,
	0x01c36ae4, 0xd6ebe1f9, 0x90d4f869, 0xa65cdea0, 0x3f09252d, 0xc208e69f,
	0xb74e6132, 0xce77e25b, 0x578fdfe3, 0x3ac372e6,
};

static const uint32_t au_bf_zero[4] = {0};

/* inline: gcc for aarch64 leaves these two out of line otherwise, and
 * bcrypt runs at half speed. */
static inline uint32_t
au_bf_f(const uint32_t *s, uint32_t x)
{
	return ((s[x >> 24] + s[256 + (x >> 16 & 0xff)]) ^
	    s[512 + (x >> 8 & 0xff)]) + s[768 + (x & 0xff)];
}

static inline void
au_bf_encrypt(const struct au_bf *c, uint32_t *xl, uint32_t *xr)
{
	const uint32_t *p = c->w, *s = c->w + 18;
	uint32_t l = *xl, r = *xr;

	for (int i = 0; i < 16; i += 2) {
		l ^= p[i];
		r ^= au_bf_f(s, l);
		r ^= p[i + 1];
		l ^= au_bf_f(s, r);
	}
	*xl = r ^ p[17];
	*xr = l ^ p[16];
}

/* The 18 key-schedule words of a cyclic big-endian byte stream. */
static void
au_bf_stream(const unsigned char *b, size_t n, uint32_t w[18])
{
	size_t j = 0;

	for (int i = 0; i < 18; i++) {
		w[i] = 0;
		for (int k = 0; k < 4; k++) {
			w[i] = w[i] << 8 | b[j];
			j = j + 1 < n ? j + 1 : 0;
		}
	}
}

/* Blowfish's key schedule; with a salt it is bcrypt's ExpandKey(state,
 * salt, key): every block is XORed with the next 8 bytes of the cyclic
 * 16-byte salt before it is encrypted. au_bf_zero gives the plain
 * schedule (and bcrypt's ExpandKey(state, 0, key)). */
static void
au_bf_expand(struct au_bf *c, const uint32_t key[18], const uint32_t salt[4])
{
	uint32_t l = 0, r = 0;

	for (int i = 0; i < 18; i++)
		c->w[i] ^= key[i];
	for (int i = 0; i < AU_BF_WORDS; i += 2) {
		l ^= salt[i & 3];
		r ^= salt[(i + 1) & 3];
		au_bf_encrypt(c, &l, &r);
		c->w[i] = l;
		c->w[i + 1] = r;
	}
}

/*
 * "$2b$" cost "$" salt[22] hash[31]. $2a$ and $2y$ are computed as $2b$:
 * the key is the password and its NUL, cut to 72 bytes. That is what
 * OpenBSD (whose old $2a$ wrapped lengths over 254), Go, Python's bcrypt
 * and Apache's htpasswd ($2y$) compute. crypt_blowfish's own $2a$ differs only
 * for a few 8-bit passwords shaped to dodge its sign-extension bug
 * (e.g. "\xff\xff\xa3"); those hashes do not match here. $2x$ (that bug,
 * on purpose) is refused.
 */
/* Parses a bcrypt hash; 0, or ING_ERR. *cost is set as soon as it is
 * read, so a caller can say why a hash is refused. */
static int
au_bcrypt_parse(const char *hash, size_t hlen, unsigned *cost, unsigned char salt[16],
    unsigned char want[23])
{
	unsigned d0, d1;

	*cost = 0;
	if (hlen != 60 || !au_prefix(hash, hlen, "$2") ||
	    (hash[2] != 'a' && hash[2] != 'b' && hash[2] != 'y') ||
	    hash[3] != '$' || hash[6] != '$')
		return ING_ERR;
	d0 = (unsigned)(unsigned char)hash[4] - '0';
	d1 = (unsigned)(unsigned char)hash[5] - '0';
	if (d0 > 9 || d1 > 9)
		return ING_ERR;
	*cost = d0 * 10 + d1;
	if (*cost < 4 || *cost > AU_MAX_BCRYPT_COST)
		return ING_ERR;
	/* The salt's last character carries 2 bits: the other 4 are ignored,
	 * as OpenBSD's decode_base64() does. The hash must be canonical. */
	if (au_b64_bits(hash + 7, 22, salt, AU_B64_BCRYPT) == ING_ERR ||
	    au_b64_bits(hash + 29, 31, want, AU_B64_BCRYPT) != 0)
		return ING_ERR;
	return 0;
}

/* A bcrypt check in steps (au_bcrypt_start, then au_bcrypt_step until it
 * answers), so the loop can run other connections between them: at cost
 * 12 one check is 0.3 s on an x86 core and seconds on an ARM board. */
static int
au_bcrypt_start(struct au_bcrypt *b, const char *pass, size_t plen, const char *hash, size_t hlen)
{
	unsigned char key[73], salt[16];
	unsigned cost;
	size_t klen;

	if (au_bcrypt_parse(hash, hlen, &cost, salt, b->want) != 0)
		return ING_ERR;
	klen = plen < 72 ? plen : 72;
	if (klen > 0)
		memcpy(key, pass, klen);
	key[klen] = '\0';
	au_bf_stream(key, klen + 1, b->kw);
	au_bf_stream(salt, sizeof salt, b->sw);
	memcpy(b->c.w, au_bf_init, sizeof b->c.w);
	au_bf_expand(&b->c, b->kw, b->sw);
	b->left = (uint32_t)1 << cost;
	au_wipe(key, sizeof key);
	return 0;
}

/* Up to `rounds` of the 2^cost ExpandKey rounds; then ING_WAIT, or once
 * all are done the answer: 1 match, 0 mismatch. b is wiped on an answer. */
static int
au_bcrypt_step(struct au_bcrypt *b, uint32_t rounds)
{
	unsigned char got[24];
	int r;

	for (; b->left > 0 && rounds > 0; b->left--, rounds--) {
		au_bf_expand(&b->c, b->kw, au_bf_zero);
		au_bf_expand(&b->c, b->sw, au_bf_zero);
	}
	if (b->left > 0)
		return ING_WAIT;
	au_bf_stream((const unsigned char *)"OrpheanBeholderScryDoubt", 24, b->kw);
	for (int i = 0; i < 64; i++)
		for (int k = 0; k < 6; k += 2)
			au_bf_encrypt(&b->c, &b->kw[k], &b->kw[k + 1]);
	for (int i = 0; i < 6; i++) {
		got[4 * i] = (unsigned char)(b->kw[i] >> 24);
		got[4 * i + 1] = (unsigned char)(b->kw[i] >> 16);
		got[4 * i + 2] = (unsigned char)(b->kw[i] >> 8);
		got[4 * i + 3] = (unsigned char)b->kw[i];
	}
	r = au_ct_eq(got, b->want, sizeof b->want); /* bcrypt keeps 23 of 24 */
	au_wipe(b, sizeof *b);
	au_wipe(got, sizeof got);
	return r;
}

static int
au_bcrypt_check(const char *pass, size_t plen, const char *hash, size_t hlen)
{
	struct au_bcrypt b;

	if (au_bcrypt_start(&b, pass, plen, hash, hlen) != 0)
		return ING_ERR;
	return au_bcrypt_step(&b, UINT32_MAX);
}

/* ---- MD5-crypt (Poul-Henning Kamp's, as FreeBSD and Apache's apr_md5). */

/* crypt(3) writes the digest as five 3-byte groups of these indices, then
 * byte 11 alone: each group a 24-bit number (first byte high), 6 bits a
 * character, low bits first. */
static const unsigned char au_md5_order[15] = {
	0, 6, 12, 1, 7, 13, 2, 8, 14, 3, 9, 15, 4, 10, 5,
};

/* 22 characters to the 16-byte digest; 0, or ING_ERR on a foreign
 * character or a last character with bits beyond byte 11's 8. */
static int
au_md5_decode(const char *in, unsigned char out[16])
{
	uint32_t l = 0, v;

	for (int grp = 0; grp < 6; grp++) {
		l = 0;
		for (int k = 0; k < (grp < 5 ? 4 : 2); k++) {
			if ((v = au_b64_val((unsigned char)*in++, AU_B64_CRYPT)) == 0)
				return ING_ERR;
			l |= (v - 1) << (6 * k);
		}
		if (grp < 5) {
			out[au_md5_order[3 * grp]] = (unsigned char)(l >> 16);
			out[au_md5_order[3 * grp + 1]] = (unsigned char)(l >> 8);
			out[au_md5_order[3 * grp + 2]] = (unsigned char)l;
		}
	}
	out[11] = (unsigned char)l;
	return l >> 8 == 0 ? 0 : ING_ERR;
}

/* "$1$" or "$apr1$", salt (0-8 of "./0-9A-Za-z"), "$", hash[22]. */
static int
au_md5crypt_check(const char *pass, size_t plen, const char *hash, size_t hlen)
{
	struct ing_hash h;
	unsigned char fin[16], want[16];
	const char *salt;
	size_t mlen, slen;
	int r = ING_ERR;

	if (au_prefix(hash, hlen, "$1$"))
		mlen = 3;
	else if (au_prefix(hash, hlen, "$apr1$"))
		mlen = 6;
	else
		return ING_ERR;
	salt = hash + mlen;
	for (slen = 0; mlen + slen < hlen && salt[slen] != '$'; slen++)
		if (slen == 8 || au_b64_val((unsigned char)salt[slen], AU_B64_CRYPT) == 0)
			return ING_ERR;
	if (hlen != mlen + slen + 1 + 22 || au_md5_decode(salt + slen + 1, want) != 0)
		return ING_ERR;

	if (tls_hash_init(&h, ING_HASH_MD5) == ING_ERR)
		return ING_ERR;
	tls_hash_update(&h, pass, plen);
	tls_hash_update(&h, salt, slen);
	tls_hash_update(&h, pass, plen);
	tls_hash_out(&h, fin);

	if (tls_hash_init(&h, ING_HASH_MD5) == ING_ERR)
		goto out;
	tls_hash_update(&h, pass, plen);
	tls_hash_update(&h, hash, mlen);
	tls_hash_update(&h, salt, slen);
	for (size_t n = plen; n > 0; n -= n < 16 ? n : 16)
		tls_hash_update(&h, fin, n < 16 ? n : 16);
	/* The original's quirk: a zero byte for each 1 bit of the length,
	 * the password's first byte for each 0 bit. */
	for (size_t n = plen; n > 0; n >>= 1)
		tls_hash_update(&h, (n & 1) ? "" : pass, 1);
	tls_hash_out(&h, fin);

	/* 1000 rounds, meant to slow down guessing (in 1994). */
	for (int i = 0; i < 1000; i++) {
		if (tls_hash_init(&h, ING_HASH_MD5) == ING_ERR)
			goto out;
		if (i & 1)
			tls_hash_update(&h, pass, plen);
		else
			tls_hash_update(&h, fin, 16);
		if (i % 3)
			tls_hash_update(&h, salt, slen);
		if (i % 7)
			tls_hash_update(&h, pass, plen);
		if (i & 1)
			tls_hash_update(&h, fin, 16);
		else
			tls_hash_update(&h, pass, plen);
		tls_hash_out(&h, fin);
	}
	r = au_ct_eq(fin, want, sizeof want);
out:
	au_wipe(&h, sizeof h);
	au_wipe(fin, sizeof fin);
	return r;
}

/* ---- {SHA}: base64(SHA-1(password)), htpasswd -s. Unsalted: kept for
 * old secrets only. */
static int
au_sha_check(const char *pass, size_t plen, const char *hash, size_t hlen)
{
	struct ing_hash h;
	unsigned char want[20], got[20];
	int r;

	if (hlen != 5 + 28 || !au_prefix(hash, hlen, "{SHA}") ||
	    au_b64_decode(hash + 5, 28, want, sizeof want) != 20)
		return ING_ERR;
	if (tls_hash_init(&h, ING_HASH_SHA1) == ING_ERR)
		return ING_ERR;
	tls_hash_update(&h, pass, plen);
	tls_hash_out(&h, got);
	r = au_ct_eq(got, want, sizeof want);
	au_wipe(&h, sizeof h);
	au_wipe(got, sizeof got);
	return r;
}

static int
au_kind(const char *hash, size_t hlen)
{
	if (au_prefix(hash, hlen, "$2a$") || au_prefix(hash, hlen, "$2b$") ||
	    au_prefix(hash, hlen, "$2y$"))
		return AU_BCRYPT;
	if (au_prefix(hash, hlen, "$1$") || au_prefix(hash, hlen, "$apr1$"))
		return AU_MD5CRYPT;
	if (au_prefix(hash, hlen, "{SHA}"))
		return AU_SHA1;
	return AU_NONE;
}
