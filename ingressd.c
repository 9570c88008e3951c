/*
 * ingressd - a Kubernetes Ingress controller and HTTP reverse proxy in one
 * small C binary, for ARM k3s edge boards.
 *
 * One single-threaded poll() loop. The sections below follow the data flow;
 * `grep '^/\* ===' ingressd.c` is the table of contents. Everything is static
 * except the API declared in ingressd.h. Limits are ING_MAX_* (ingressd.h).
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

#include "ingressd.h"

#define ING_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))
#define ING_MIN(a, b) ((a) < (b) ? (a) : (b))
#define ING_MAX(a, b) ((a) > (b) ? (a) : (b))
#define ING_UNUSED __attribute__((unused)) /* used by a later section */

/* SQLite's ALWAYS/NEVER: assert in the test build, keep a graceful path in
 * release. */
#ifdef ING_TEST
#include <assert.h>
#define ING_ALWAYS(x) (assert(x), 1)
#define ING_NEVER(x) (assert(!(x)), 0)
#else
#define ING_ALWAYS(x) (x)
#define ING_NEVER(x) (x)
#endif

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
 * counted (mx_ exports them). */
enum lim_id {
	LIM_CONNS,
	LIM_UPSTREAMS,
	LIM_WATCHES,
	LIM_BUFS,
	LIM_HEADER_BYTES,
	LIM_HEADERS,
	LIM_TLS_CONNS,
	LIM_CONF_ERRORS,
	LIM_ENTRYPOINTS,
	LIM_NAMESPACES,
	LIM_CIDRS,
	LIM__COUNT
};
static const char *const lim_names[LIM__COUNT] = {
    "ING_MAX_CONNS",        "ING_MAX_UPSTREAMS", "ING_MAX_WATCHES",      "ING_MAX_BUFS",
    "ING_MAX_HEADER_BYTES", "ING_MAX_HEADERS",   "ING_MAX_TLS_CONNS",    "ING_MAX_CONF_ERRORS",
    "ING_MAX_ENTRYPOINTS",  "ING_MAX_NAMESPACES", "ING_MAX_CIDRS",
};
static const long lim_values[LIM__COUNT] = {
    ING_MAX_CONNS,        ING_MAX_UPSTREAMS,  ING_MAX_WATCHES,     ING_MAX_BUFS,
    ING_MAX_HEADER_BYTES, ING_MAX_HEADERS,    ING_MAX_TLS_CONNS,   ING_MAX_CONF_ERRORS,
    ING_MAX_ENTRYPOINTS,  ING_MAX_NAMESPACES, ING_MAX_CIDRS,
};

static struct ing {
	int loglevel;
	int log_fd;
	uint64_t now; /* monotonic ms, refreshed once per loop turn */
	uint64_t lim_hits[LIM__COUNT];
	uint64_t lim_logged_at[LIM__COUNT];
	uint64_t lim_suppressed[LIM__COUNT];
	/* The rest is declared with its section, below, as `g_<section>`. */
} g = {.loglevel = ING_LOG_INFO, .log_fd = 2};

static const char *const log_level_names[] = {"DEBUG", "INFO", "WARN", "ERROR"};

static void
log_vwrite(int level, const char *fmt, va_list ap, const char *suffix)
{
	char line[2048];
	size_t n;
	int r;
	struct timespec ts;
	struct tm tm;

	if (level < g.loglevel)
		return;
	clock_gettime(CLOCK_REALTIME, &ts);
	gmtime_r(&ts.tv_sec, &tm);
	n = strftime(line, sizeof line, "%Y-%m-%dT%H:%M:%S", &tm);
	r = snprintf(line + n, sizeof line - n, ".%03ldZ %-5s ", ts.tv_nsec / 1000000,
	             log_level_names[level]);
	n += (size_t)(r > 0 ? r : 0);
	r = vsnprintf(line + n, sizeof line - n, fmt, ap);
	n = r < 0 ? n : ING_MIN(n + (size_t)r, sizeof line - 2);
	if (suffix != NULL) {
		r = snprintf(line + n, sizeof line - n, ": %s", suffix);
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

/* log_warn: like log_warnx with ": strerror(errno)" appended (OpenBSD). */
static void __attribute__((format(printf, 1, 2)))
log_warn(const char *fmt, ...)
{
	int e = errno;
	va_list ap;
	va_start(ap, fmt);
	log_vwrite(ING_LOG_WARN, fmt, ap, strerror(e));
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
	g.lim_hits[id]++;
	if (g.lim_logged_at[id] != 0 && g.now - g.lim_logged_at[id] < ING_LIMIT_LOG_MS) {
		g.lim_suppressed[id]++;
		return;
	}
	log_warnx("limit: %s: too many (limit is %ld, %s)%s", what, lim_values[id], lim_names[id],
	          g.lim_suppressed[id] ? "; earlier hits not logged" : "");
	g.lim_logged_at[id] = g.now ? g.now : 1;
	g.lim_suppressed[id] = 0;
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

/* Addresses (ingressd.h API). */

/* Strict dotted quad, NUL-terminated: no leading zeros, no short forms
 * ("1.2.3", "01.2.3.4" are refused everywhere alike). */
static int
addr_parse_v4(const char *p, uint8_t out[4])
{
	for (int i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;
		while (*p >= '0' && *p <= '9') {
			if (digits > 0 && v == 0)
				return ING_ERR;
			v = v * 10 + (unsigned)(*p++ - '0');
			if (++digits > 3 || v > 255)
				return ING_ERR;
		}
		if (digits == 0 || (i < 3 && *p++ != '.'))
			return ING_ERR;
		out[i] = (uint8_t)v;
	}
	return *p == '\0' ? 0 : ING_ERR;
}

int
ing_addr_parse_ip(struct ing_addr *a, const char *s, size_t n)
{
	char tmp[64];
	memset(a, 0, sizeof *a);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof tmp || memchr(s, '\0', n) != NULL)
		return ING_ERR;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (memchr(tmp, ':', n) == NULL) {
		if (addr_parse_v4(tmp, a->ip) != 0)
			return ING_ERR;
		a->family = 4;
		return 0;
	}
	/* IPv6: groups of up to 4 hex digits, one "::", optional dotted tail. */
	{
		uint16_t w[8];
		int nw = 0, gap = -1;
		const char *p = tmp;
		char *pct = strchr(tmp, '%');
		if (pct != NULL)
			return ING_ERR; /* zones are not used for endpoints */
		if (p[0] == ':' && p[1] == ':') {
			gap = 0;
			p += 2;
		} else if (p[0] == ':')
			return ING_ERR;
		while (*p != '\0') {
			unsigned v = 0, digits = 0;
			const char *start = p;
			if (nw >= 8)
				return ING_ERR;
			while (isxdigit((unsigned char)*p)) {
				v = v * 16 + (unsigned)(isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10));
				if (++digits > 4)
					return ING_ERR;
				p++;
			}
			if (*p == '.') { /* embedded IPv4 */
				uint8_t v4[4];
				if (nw > 6 || addr_parse_v4(start, v4) != 0)
					return ING_ERR;
				w[nw++] = (uint16_t)(v4[0] << 8 | v4[1]);
				w[nw++] = (uint16_t)(v4[2] << 8 | v4[3]);
				p = start + strlen(start);
				break;
			}
			if (digits == 0)
				return ING_ERR;
			w[nw++] = (uint16_t)v;
			if (*p == '\0')
				break;
			if (*p != ':')
				return ING_ERR;
			p++;
			if (*p == ':') {
				if (gap >= 0)
					return ING_ERR;
				gap = nw;
				p++;
			} else if (*p == '\0')
				return ING_ERR;
		}
		if (gap < 0 && nw != 8)
			return ING_ERR;
		if (gap >= 0 && nw > 7)
			return ING_ERR;
		a->family = 6;
		int tail = gap < 0 ? 0 : nw - gap, head = gap < 0 ? nw : gap;
		for (int i = 0; i < head; i++) {
			a->ip[2 * i] = (uint8_t)(w[i] >> 8);
			a->ip[2 * i + 1] = (uint8_t)w[i];
		}
		for (int i = 0; i < tail; i++) {
			int k = 8 - tail + i;
			a->ip[2 * k] = (uint8_t)(w[gap + i] >> 8);
			a->ip[2 * k + 1] = (uint8_t)w[gap + i];
		}
		return 0;
	}
}

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
	if (a->family == 4) {
		n = snprintf(buf, cap, "%u.%u.%u.%u", a->ip[0], a->ip[1], a->ip[2], a->ip[3]);
	} else if (a->family == 6) {
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
			k += (size_t)snprintf(tmp + k, sizeof tmp - k, "%x%s", a->ip[2 * i] << 8 | a->ip[2 * i + 1],
			                      i < 7 ? ":" : "");
		}
		if (with_port)
			tmp[k++] = ']';
		tmp[k] = '\0';
		n = snprintf(buf, cap, "%s", tmp);
	} else {
		n = snprintf(buf, cap, "%s", with_port ? "" : "*");
	}
	if (with_port && n >= 0 && (size_t)n < cap)
		n += snprintf(buf + n, cap - (size_t)n, ":%u", a->port);
	return n < 0 ? 0 : (int)ING_MIN((size_t)n, cap - 1);
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

struct cf_ep {
	char name[32];
	char address[64];
	struct ing_addr addr;
	int tls;              /* has an [entryPoints.NAME.tls] table */
	char cert_file[256];  /* default certificate (tls.certFile) */
	char key_file[256];
	char redirect_ep[32]; /* [entryPoints.NAME.redirect] entryPoint */
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
	} kube;
};

static void
cf_defaults(struct cf *c)
{
	memset(c, 0, sizeof *c);
	c->loglevel = ING_LOG_INFO;
	snprintf(c->web_address, sizeof c->web_address, ":8080");
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
	c->kube.throttle = 100;
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
	char headers[64][128];
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
			g.lim_hits[LIM_CONF_ERRORS]++;
		return;
	}
	m = &ps->msgs[ps->nmsg++];
	m->line = ps->line;
	m->warning = warning;
	va_start(ap, fmt);
	vsnprintf(m->text, sizeof m->text, fmt, ap);
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
	if (cp < 0x80) {
		b[0] = (char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (char)(0xC0 | cp >> 6);
		b[1] = (char)(0x80 | (cp & 0x3F));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (char)(0xE0 | cp >> 12);
		b[1] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[2] = (char)(0x80 | (cp & 0x3F));
		n = 3;
	} else {
		b[0] = (char)(0xF0 | cp >> 18);
		b[1] = (char)(0x80 | ((cp >> 12) & 0x3F));
		b[2] = (char)(0x80 | ((cp >> 6) & 0x3F));
		b[3] = (char)(0x80 | (cp & 0x3F));
		n = 4;
	}
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
		v->n = 0;
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
			if (*ps->p != '"' && *ps->p != '\'') {
				cf_err(ps, "arrays may only hold strings");
				return ING_ERR;
			}
			if (v->n >= CF_MAX_ARR) {
				cf_err(ps, "array too long (limit is %d)", CF_MAX_ARR);
				return ING_ERR;
			}
			if (cf_string(ps, &v->a[v->n]) != 0)
				return ING_ERR;
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
		const char *op = NULL;
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
					op = "in", ol = 2;
				else if (rest.n > 6 && strncmp(rest.p, "notin", 5) == 0 && (rest.p[5] == ' ' || rest.p[5] == '('))
					op = "notin", ol = 5;
				else
					return "unknown operator (use =, ==, !=, in, notin, key or !key)";
				struct ing_str set = str_trim((struct ing_str){rest.p + ol, rest.n - ol});
				if (set.n < 2 || set.p[0] != '(' || set.p[set.n - 1] != ')')
					return "'in' and 'notin' need a (value, ...) list";
				set.p++;
				set.n -= 2;
				size_t a = 0;
				while (a <= set.n) {
					size_t b = a;
					while (b < set.n && set.p[b] != ',')
						b++;
					struct ing_str v = str_trim((struct ing_str){set.p + a, b - a});
					if (cf_label_name(v, 1) != 0 || (v.n == 0 && set.n > 0 && b < set.n))
						return "invalid value in set";
					a = b + 1;
				}
				(void)op;
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
	CFT_WEB,
	CFT_ACCESSLOG,
	CFT_RESPONDING,
	CFT_FORWARDING,
	CFT_KUBERNETES,
	CFT_LIFECYCLE,
	CFT_IGNORED,        /* a Traefik table ingressd does not implement */
};

/* Whole Traefik 1.x tables ingressd does not have: warned once, skipped. */
static const char *const cf_traefik_tables[] = {
    "docker", "acme", "file", "consul", "consulCatalog", "etcd", "zookeeper", "boltdb", "marathon",
    "mesos", "eureka", "ecs", "rancher", "servicefabric", "dynamodb", "rest", "api", "ping",
    "metrics", "tracing", "traefikLog", "retry", "healthcheck", "constraints", "backends",
    "frontends", "tls", "hostResolver", "providers", "global", "log"};
/* Traefik sub-tables of known tables, same treatment. */
static const char *const cf_traefik_subtables[] = {
    "auth", "proxyProtocol", "forwardedHeaders", "whiteList", "tls.ClientCA", "tls.defaultCertificate",
    "ingressEndpoint", "filters", "fields", "statistics", "metrics", "tls.clientCA"};
/* Traefik keys of known tables that ingressd ignores (warning). */
static const char *const cf_traefik_keys[] = {
    "checkNewVersion", "sendAnonymousUsage", "insecureSkipVerify", "InsecureSkipVerify", "pidFile",
    "rootCAs", "RootCAs", "keepTrailingSlash", "AllowMinWeightZero", "allowMinWeightZero",
    "providersThrottleDuration", "idleTimeout", "compress", "whitelistSourceRange",
    "enablePassTLSCert", "filename", "watch", "constraints", "debugLogGeneratedTemplate",
    "readOnly", "statistics", "requestAcceptGraceTimeout", "certFile.data", "minVersion",
    "cipherSuites", "sniStrict", "bufferingSize", "traefikLogsFile", "accessLogsFile", "regex",
    "replacement", "permanent", "path", "templateVersion"};

static int
cf_in_list(const char *const *list, size_t n, struct ing_str s)
{
	for (size_t i = 0; i < n; i++)
		if (str_eq(s, list[i]))
			return 1;
	return 0;
}

static struct cf_ep *
cf_ep_find(struct cf *c, struct ing_str name)
{
	for (int i = 0; i < c->n_eps; i++)
		if (str_eq(name, c->eps[i].name))
			return &c->eps[i];
	return NULL;
}

/* A [header] or [[header]] line. */
static void
cf_table(struct cf_parser *ps, int array)
{
	const char *s = ps->p;
	struct ing_str parts[8] = {{NULL, 0}};
	int np = 0;
	while (ps->p < ps->end && *ps->p != ']' && *ps->p != '\n')
		ps->p++;
	if (ps->p >= ps->end || *ps->p != ']' || (array && (ps->p + 1 >= ps->end || ps->p[1] != ']'))) {
		cf_err(ps, "unterminated table header");
		ps->table = CFT_IGNORED;
		ps->table_name[0] = '\0';
		return;
	}
	struct ing_str h = str_trim((struct ing_str){s, (size_t)(ps->p - s)});
	ps->p += array ? 2 : 1;
	memset(ps->seen, 0, sizeof ps->seen);
	ps->table_line = ps->line;
	/* split on dots; quoted parts allowed */
	size_t i = 0;
	while (i <= h.n) {
		if (np == (int)ING_ARRAY_LEN(parts)) {
			cf_err(ps, "table header nested too deep");
			ps->table = CFT_IGNORED;
			return;
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
			return;
		}
		parts[np++] = part;
		i = j + 1;
	}
	snprintf(ps->table_name, sizeof ps->table_name, "%.*s", (int)h.n, h.p);
	if (!array) {
		for (int k = 0; k < ps->nheaders; k++)
			if (strcmp(ps->headers[k], ps->table_name) == 0) {
				cf_err(ps, "duplicate table [%s]", ps->table_name);
				ps->table = CFT_IGNORED;
				return;
			}
		if (ps->nheaders < (int)ING_ARRAY_LEN(ps->headers))
			snprintf(ps->headers[ps->nheaders++], sizeof ps->headers[0], "%s", ps->table_name);
	}
	ps->ep = NULL;
	struct ing_str t0 = parts[0];
	if (str_eq(t0, "entryPoints")) {
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
				g.lim_hits[LIM_ENTRYPOINTS]++;
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
			ps->c->n_eps++;
		}
		ps->ep = ep;
		if (np == 2 && !array) {
			ps->table = CFT_EP;
		} else if (np == 3 && !array && str_eq(parts[2], "tls")) {
			ep->tls = 1;
			ps->table = CFT_EP_TLS;
		} else if (np == 4 && array && str_eq(parts[2], "tls") && str_eq(parts[3], "certificates")) {
			ep->tls = 1;
			ps->table = CFT_EP_TLS_CERT;
		} else if (np == 3 && !array && str_eq(parts[2], "redirect")) {
			ps->table = CFT_EP_REDIRECT;
		} else if (np == 2) {
			cf_err(ps, "[[%s]] is not an array of tables", ps->table_name);
			ps->table = CFT_IGNORED;
		} else {
			struct ing_str sub = {parts[2].p, (size_t)(h.p + h.n - parts[2].p)};
			if (cf_in_list(cf_traefik_subtables, ING_ARRAY_LEN(cf_traefik_subtables), sub) ||
			    cf_in_list(cf_traefik_subtables, ING_ARRAY_LEN(cf_traefik_subtables), parts[2]))
				cf_warn(ps, "[%s]: not supported by ingressd, ignored", ps->table_name);
			else
				cf_err(ps, "unknown table [%s]", ps->table_name);
			ps->table = CFT_IGNORED;
		}
		return;
	}
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
		if (!str_eq(t0, known[k].name))
			continue;
		if (np == 1 && array) {
			cf_err(ps, "[[%s]] is not an array of tables", known[k].name);
			ps->table = CFT_IGNORED;
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
		if (cf_in_list(cf_traefik_subtables, ING_ARRAY_LEN(cf_traefik_subtables), parts[1]))
			cf_warn(ps, "[%s]: not supported by ingressd, ignored", ps->table_name);
		else
			cf_err(ps, "unknown table [%s]", ps->table_name);
		ps->table = CFT_IGNORED;
		return;
	}
	if (cf_in_list(cf_traefik_tables, ING_ARRAY_LEN(cf_traefik_tables), t0)) {
		/* one warning per Traefik table, not per sub-table */
		int first = 1;
		for (int k = 0; k < ps->nheaders - (array ? 0 : 1); k++)
			if (strncmp(ps->headers[k], t0.p, t0.n) == 0 &&
			    (ps->headers[k][t0.n] == '\0' || ps->headers[k][t0.n] == '.'))
				first = 0;
		if (array && ps->nheaders < (int)ING_ARRAY_LEN(ps->headers) && first)
			snprintf(ps->headers[ps->nheaders++], sizeof ps->headers[0], "%s", ps->table_name);
		if (first)
			cf_warn(ps, "[%.*s]: Traefik table not supported by ingressd, ignored", (int)t0.n, t0.p);
		ps->table = CFT_IGNORED;
		return;
	}
	cf_err(ps, "unknown table [%s]", ps->table_name);
	ps->table = CFT_IGNORED;
}

/* Key handlers. */
enum cf_kt { KT_STR, KT_INT, KT_BOOL, KT_STRS, KT_DUR, KT_ADDR, KT_LEVEL, KT_LOGFMT, KT_NS, KT_SEL };
struct cf_key {
	int table;
	const char *name;
	enum cf_kt type;
	size_t off;  /* in struct cf, or in struct cf_ep for EP tables */
	size_t size; /* for strings */
};
#define CFO(f) offsetof(struct cf, f), sizeof(((struct cf *)0)->f)
#define CFE(f) offsetof(struct cf_ep, f), sizeof(((struct cf_ep *)0)->f)
static const struct cf_key cf_keys[] = {
    {CFT_TOP, "logLevel", KT_LEVEL, CFO(loglevel)},
    {CFT_TOP, "debug", KT_BOOL, CFO(loglevel)},
    {CFT_TOP, "defaultEntryPoints", KT_STRS, CFO(default_eps)},
    {CFT_TOP, "user", KT_STR, CFO(user)},
    {CFT_TOP, "graceTimeOut", KT_DUR, CFO(grace_timeout)},
    {CFT_TOP, "maxIdleConnsPerHost", KT_INT, CFO(max_idle_per_host)},
    {CFT_TOP, "accessLogsFile", KT_STR, CFO(accesslog_path)},
    {CFT_EP, "address", KT_ADDR, CFE(address)},
    {CFT_EP_TLS, "certFile", KT_STR, CFE(cert_file)},
    {CFT_EP_TLS, "keyFile", KT_STR, CFE(key_file)},
    {CFT_EP_TLS_CERT, "certFile", KT_STR, CFE(cert_file)},
    {CFT_EP_TLS_CERT, "keyFile", KT_STR, CFE(key_file)},
    {CFT_EP_REDIRECT, "entryPoint", KT_STR, CFE(redirect_ep)},
    {CFT_WEB, "address", KT_ADDR, CFO(web_address)},
    {CFT_ACCESSLOG, "filePath", KT_STR, CFO(accesslog_path)},
    {CFT_ACCESSLOG, "format", KT_LOGFMT, CFO(accesslog_format)},
    {CFT_RESPONDING, "readTimeout", KT_DUR, CFO(read_timeout)},
    {CFT_RESPONDING, "writeTimeout", KT_DUR, CFO(write_timeout)},
    {CFT_RESPONDING, "idleTimeout", KT_DUR, CFO(idle_timeout)},
    {CFT_FORWARDING, "dialTimeout", KT_DUR, CFO(dial_timeout)},
    {CFT_FORWARDING, "responseHeaderTimeout", KT_DUR, CFO(response_header_timeout)},
    {CFT_LIFECYCLE, "graceTimeOut", KT_DUR, CFO(grace_timeout)},
    {CFT_KUBERNETES, "endpoint", KT_STR, CFO(kube.endpoint)},
    {CFT_KUBERNETES, "token", KT_STR, CFO(kube.token)},
    {CFT_KUBERNETES, "certAuthFilePath", KT_STR, CFO(kube.ca_file)},
    {CFT_KUBERNETES, "namespaces", KT_NS, CFO(kube.namespaces)},
    {CFT_KUBERNETES, "labelselector", KT_SEL, CFO(kube.labelselector)},
    {CFT_KUBERNETES, "disablePassHostHeaders", KT_BOOL, CFO(kube.disable_pass_host)},
    {CFT_KUBERNETES, "ingressClass", KT_STR, CFO(kube.ingress_class)},
    {CFT_KUBERNETES, "whitelistInvalidAllowAll", KT_BOOL, CFO(kube.whitelist_invalid_allow_all)},
    {CFT_KUBERNETES, "throttleDuration", KT_DUR, CFO(kube.throttle)},
};

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
		if (cf_keys[ki].table == ps->table && str_eq(key, cf_keys[ki].name)) {
			k = &cf_keys[ki];
			break;
		}
	if (k == NULL) {
		if (cf_in_list(cf_traefik_keys, ING_ARRAY_LEN(cf_traefik_keys), key))
			cf_warn(ps, "\"%.*s\": not supported by ingressd, ignored", (int)key.n, key.p);
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

	int is_ep = ps->table == CFT_EP || ps->table == CFT_EP_TLS || ps->table == CFT_EP_TLS_CERT ||
	            ps->table == CFT_EP_REDIRECT;
	char *base = is_ep ? (char *)ps->ep : (char *)ps->c;
	void *dst = base + k->off;
	static const int want[] = {[KT_STR] = CFV_STR,  [KT_INT] = CFV_INT,    [KT_BOOL] = CFV_BOOL,
	                           [KT_STRS] = CFV_ARR, [KT_DUR] = CFV_STR,    [KT_ADDR] = CFV_STR,
	                           [KT_LEVEL] = CFV_STR, [KT_LOGFMT] = CFV_STR, [KT_NS] = CFV_ARR,
	                           [KT_SEL] = CFV_STR};
	if (k->type == KT_DUR && v->type == CFV_INT) {
		if (v->i < 0 || v->i > 365 * 86400) {
			cf_err(ps, "%s: duration out of range", k->name);
			return;
		}
		*(uint64_t *)dst = (uint64_t)v->i * 1000;
		return;
	}
	if (v->type != want[k->type]) {
		cf_err(ps, "%s: expected %s, got %s", k->name, cf_type_names[want[k->type]], cf_type_names[v->type]);
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
			cf_err(ps, "%s: value too long (limit is %zu bytes)", k->name, k->size - 1);
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
	case KT_ADDR: {
		struct ing_addr a;
		if (ing_addr_parse(&a, v->s.p, v->s.n) != 0 || a.port == 0) {
			cf_err(ps, "%s: bad address \"%.*s\" (expected \":80\", \"IP:PORT\" or \"[IPv6]:PORT\")", k->name,
			       (int)ING_MIN(v->s.n, 64), v->s.p);
			break;
		}
		if (str_copy(dst, k->size, v->s) != 0) {
			cf_err(ps, "%s: value too long", k->name);
			break;
		}
		if (is_ep)
			ps->ep->addr = a;
		else
			ps->c->web = a;
		break;
	}
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
	case KT_NS: {
		if (v->n > ING_MAX_NAMESPACES) {
			cf_err(ps, "namespaces: too many (limit is %d, ING_MAX_NAMESPACES)", ING_MAX_NAMESPACES);
			g.lim_hits[LIM_NAMESPACES]++;
			break;
		}
		for (int i = 0; i < v->n; i++) {
			struct ing_str ns = v->a[i];
			int ok = ns.n > 0 && ns.n < ING_NS_LEN;
			for (size_t j = 0; ok && j < ns.n; j++)
				ok = islower((unsigned char)ns.p[j]) || isdigit((unsigned char)ns.p[j]) ||
				     (ns.p[j] == '-' && j > 0 && j + 1 < ns.n);
			if (!ok) {
				cf_err(ps, "namespaces: \"%.*s\" is not a valid namespace name", (int)ING_MIN(ns.n, 64), ns.p);
				return;
			}
			str_copy(ps->c->kube.namespaces[i], ING_NS_LEN, ns);
		}
		ps->c->kube.n_namespaces = v->n;
		break;
	}
	case KT_SEL: {
		char tmp[sizeof ps->c->kube.labelselector];
		const char *why;
		if (str_copy(tmp, sizeof tmp, v->s) != 0) {
			cf_err(ps, "labelselector: too long");
			break;
		}
		if ((why = cf_label_selector(tmp)) != NULL) {
			cf_err(ps, "labelselector: %s in \"%s\" (syntax: a=b,c!=d,e in (x,y),f notin (z),g,!h)", why, tmp);
			break;
		}
		memcpy(dst, tmp, sizeof tmp);
		break;
	}
	}
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

/* Whole-config checks after parsing (relayd's load_config). */
static void
cf_finish(struct cf_parser *ps)
{
	struct cf *c = ps->c;
	ps->line = 0;
	if (c->n_eps == 0) { /* Traefik's default: http on :80 */
		snprintf(c->eps[0].name, sizeof c->eps[0].name, "http");
		snprintf(c->eps[0].address, sizeof c->eps[0].address, ":80");
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
		if ((ep->cert_file[0] == '\0') != (ep->key_file[0] == '\0'))
			cf_err(ps, "[entryPoints.%s.tls]: certFile and keyFile go together", ep->name);
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
	if (c->kube.endpoint[0] != '\0' && strncmp(c->kube.endpoint, "http://", 7) != 0 &&
	    strncmp(c->kube.endpoint, "https://", 8) != 0)
		cf_err(ps, "[kubernetes] endpoint: must start with http:// or https://");
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
cf_report(const struct cf_parser *ps, FILE *out)
{
	for (int i = 0; i < ps->nmsg; i++) {
		const struct cf_msg *m = &ps->msgs[i];
		if (m->line > 0)
			fprintf(out, "%s:%d: %s%s\n", ps->file, m->line, m->warning ? "warning: " : "", m->text);
		else
			fprintf(out, "%s: %s%s\n", ps->file, m->warning ? "warning: " : "", m->text);
	}
	if (ps->nerr + ps->nwarn > ps->nmsg)
		fprintf(out, "%s: %d more messages not shown (limit is %d, ING_MAX_CONF_ERRORS)\n", ps->file,
		        ps->nerr + ps->nwarn - ps->nmsg, ING_MAX_CONF_ERRORS);
}

/* Load a config file; path NULL = built-in defaults. 0 or the error count. */
static int
cf_load(struct cf_parser *ps, struct cf *c, const char *path)
{
	static char buf[ING_MAX_CONF_BYTES + 2];
	char err[160];
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

/* ===== 7. connections: buffers, slots, listeners, accept ============= cn_ bf_
 * Fixed slot tables for clients, upstreams and API watches (each its own
 * region, so clients can never take the watch's slots). Buffers come from a
 * LIFO pool and are held only while bytes are in flight. A connection is
 * closed by cn_close(c, reason), which marks it; the loop reaps it at the
 * end of the turn, so no handler ever sees a freed slot.
 * Limits: ING_MAX_CONNS, _UPSTREAMS, _WATCHES, _BUFS.
 */
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
} g_bf = {.free_head = -1};

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
	if (b == NULL)
		return;
	b->next_free = g_bf.free_head;
	g_bf.free_head = (int)(b - g_bf.pool);
	g_bf.used--;
	*bp = NULL;
}

static size_t
bf_len(const struct bf *b)
{
	return b == NULL ? 0 : b->w - b->r;
}

/* Room at the tail, compacting when that makes room. */
static size_t
bf_room(struct bf *b)
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
	size_t room = bf_room(b);
	int n;
	va_start(ap, fmt);
	n = vsnprintf(b->d + b->w, room, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= room)
		return ING_ERR;
	b->w += (uint32_t)n;
	return 0;
}

static int
bf_append(struct bf *b, const void *p, size_t n)
{
	if (bf_room(b) < n)
		return ING_ERR;
	memcpy(b->d + b->w, p, n);
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
    "free",  "idle",    "head", "proxy",   "local",   "linger",   "tunnel",
    "connect", "active", "pool", "kw-connect", "kw-request", "kw-response", "kw-body"};

#define CN_TOTAL (ING_MAX_CONNS + ING_MAX_UPSTREAMS + ING_MAX_WATCHES)

struct cn {
	int fd;
	uint32_t id;      /* unique per connection, for logs and peer checks */
	uint8_t kind;     /* enum cn_kind */
	uint8_t state;    /* enum cn_state */
	uint8_t lis;      /* listener index (clients) */
	uint8_t closing;  /* cn_close() was called; reaped at end of turn */
	uint16_t flags;   /* CF_* */
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
	int ctx;              /* kind-specific index (watch stream, server) */
};

/* flags */
#define CNF_KEEPALIVE 0x0001 /* the current exchange may keep the connection */
#define CNF_WANT_READ 0x0002 /* app wants to read (drives poll) */
#define CNF_WANT_WRITE 0x0004
#define CNF_EOF 0x0008       /* peer closed its write side */
#define CNF_WROTE 0x0010     /* upstream: bytes of this request were sent */
#define CNF_HTTPS 0x0020     /* client came over TLS */
#define CNF_DRAIN 0x0040     /* server is draining: close after this response */

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
	g_cn.base[CN_CLIENT] = 0;
	g_cn.cap[CN_CLIENT] = ING_MAX_CONNS;
	g_cn.base[CN_UPSTREAM] = ING_MAX_CONNS;
	g_cn.cap[CN_UPSTREAM] = ING_MAX_UPSTREAMS;
	g_cn.base[CN_WATCH] = ING_MAX_CONNS + ING_MAX_UPSTREAMS;
	g_cn.cap[CN_WATCH] = ING_MAX_WATCHES;
	for (int k = 0; k < 4; k++)
		g_cn.free_head[k] = -1;
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
	memset(c, 0, sizeof *c);
	c->fd = fd;
	c->kind = (uint8_t)kind;
	c->id = ++g_cn.next_id;
	c->peer = -1;
	c->next = c->prev = -1;
	c->ctx = -1;
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

ING_UNUSED static void
cn_pair(struct cn *a, struct cn *b)
{
	a->peer = cn_index(b);
	a->peer_id = b->id;
	b->peer = cn_index(a);
	b->peer_id = a->id;
}

static void
cn_unpair(struct cn *c)
{
	struct cn *p = cn_peer(c);
	if (p != NULL)
		p->peer = -1;
	c->peer = -1;
}

/* The one teardown path: marks the slot; the loop reaps it (ev_reap). */
static void
cn_close(struct cn *c, const char *why)
{
	if (c->closing)
		return;
	c->closing = 1;
	c->why = why;
	log_debug("cn: conn %u: close: %s", c->id, why);
}

static void cn_release(struct cn *c); /* kind-specific cleanup: section 17 */

static void
cn_free(struct cn *c)
{
	int i = cn_index(c);
	int kind = c->kind;
	cn_release(c);
	if (c->tls != NULL)
		tls_free(c->tls);
	if (c->fd >= 0)
		port_close(c->fd);
	bf_put(&c->in);
	bf_put(&c->out);
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
 * ING_ERR; a missing buffer is taken from the pool first. */
static ssize_t
cn_fill(struct cn *c)
{
	ssize_t r;
	size_t room;
	if (c->in == NULL && (c->in = bf_get()) == NULL)
		return ING_WAIT;
	room = bf_room(c->in);
	if (room == 0)
		return ING_WAIT;
	r = cn_read(c, c->in->d + c->in->w, room);
	if (r > 0)
		c->in->w += (uint32_t)r;
	else if (r == 0)
		c->flags |= CNF_EOF;
	return r;
}

/* Write out as much of c->out as the socket takes; releases the buffer
 * when empty. Returns 1 when all is written, 0 when some remains, ING_ERR. */
static int
cn_flush(struct cn *c)
{
	while (bf_len(c->out) > 0) {
		ssize_t r = cn_write(c, c->out->d + c->out->r, bf_len(c->out));
		if (r == ING_WAIT)
			return 0;
		if (r < 0)
			return ING_ERR;
		c->out->r += (uint32_t)r;
	}
	bf_put(&c->out);
	return 1;
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
	if (c->tls != NULL && c->state != US_CONNECT && c->state != KW_CONNECT)
		return tls_want(c->tls, app);
	return app;
}

/* Listeners. */
static void
cn_listeners_pause(int paused)
{
	if (g_cn.lis_paused == paused)
		return;
	g_cn.lis_paused = paused;
	log_info("cn: %s accepting connections", paused ? "stopped" : "resumed");
}

static void hp_client_start(struct cn *c); /* client protocol: section 8 */

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
				/* relayd: out of fds; stop accepting for a second */
				log_warn("cn: %s: accept", l->name);
				cn_listeners_pause(1);
				g_cn.lis_resume_at = g.now + 1000;
			}
			return;
		}
		c = cn_new(CN_CLIENT, fd);
		if (c == NULL) { /* cannot happen: checked above */
			port_close(fd);
			return;
		}
		g_cn.accepted++;
		c->addr = peer;
		c->lis = (uint8_t)(l - g_cn.lis);
		c->t_start = g.now;
		hp_client_start(c);
	}
}

/* ===== 8. HTTP/1.x parsing and the client side ======================= hp_
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

struct hp_hdr {
	struct ing_str name, value;
};

struct hp_msg {
	struct ing_str method, target; /* request */
	int meth;
	int status; /* response */
	int minor;  /* HTTP/1.minor */
	int nh;
	struct hp_hdr h[ING_MAX_HEADERS];
	size_t head_len;
	/* analysis */
	int64_t clen; /* -1: none */
	int chunked;
	int te;       /* any Transfer-Encoding (response: maybe not chunked) */
	int conn_close, conn_keepalive, conn_upgrade;
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
	size_t i = 0;
	while (i < v.n) {
		size_t j = i;
		while (j < v.n && v.p[j] != ',')
			j++;
		if (str_ieq(str_trim((struct ing_str){v.p + i, j - i}), tok))
			return 1;
		i = j + 1;
	}
	return 0;
}

/* Header semantics shared by requests and responses. */
static int
hp_analyze(struct hp_msg *m, int bad)
{
	int ncl = 0, nte = 0, nhost = 0;
	m->clen = -1;
	m->chunked = m->te = 0;
	m->conn_close = m->conn_keepalive = m->conn_upgrade = 0;
	m->expect_continue = 0;
	m->host = m->upgrade = (struct ing_str){NULL, 0};
	for (int i = 0; i < m->nh; i++) {
		struct hp_hdr *h = &m->h[i];
		switch (h->name.n) {
		case 4:
			if (str_ieq(h->name, "host")) {
				nhost++;
				m->host = h->value;
			}
			break;
		case 6:
			if (str_ieq(h->name, "expect") && str_ieq(h->value, "100-continue"))
				m->expect_continue = 1;
			break;
		case 7:
			if (str_ieq(h->name, "upgrade"))
				m->upgrade = h->value;
			break;
		case 10:
			if (str_ieq(h->name, "connection")) {
				m->conn_close |= hp_has_token(h->value, "close");
				m->conn_keepalive |= hp_has_token(h->value, "keep-alive");
				m->conn_upgrade |= hp_has_token(h->value, "upgrade");
			}
			break;
		case 14:
			if (str_ieq(h->name, "content-length")) {
				uint64_t v;
				if (str_to_u64(h->value, (uint64_t)1 << 62, &v) != 0)
					return hp_fail(m, bad, "bad Content-Length");
				if (ncl++ > 0 && (uint64_t)m->clen != v)
					return hp_fail(m, bad, "differing Content-Length headers");
				m->clen = (int64_t)v;
			}
			break;
		case 17:
			if (str_ieq(h->name, "transfer-encoding")) {
				nte++;
				m->te = 1;
				/* the final coding decides the framing */
				struct ing_str v = h->value;
				size_t k = v.n;
				while (k > 0 && v.p[k - 1] != ',')
					k--;
				m->chunked = str_ieq(str_trim((struct ing_str){v.p + k, v.n - k}), "chunked");
				if (bad == 400 && !str_ieq(v, "chunked"))
					return hp_fail(m, 400, "Transfer-Encoding other than chunked");
			}
			break;
		}
	}
	if (bad == 400) { /* requests */
		if (nte > 1)
			return hp_fail(m, 400, "several Transfer-Encoding headers");
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
ING_UNUSED static int
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
	if (m->status < 100)
		return hp_fail(m, 502, "bad status code");
	if (hp_parse_headers(m, next, end, 502) != 0 || hp_analyze(m, 502) != 0)
		return ING_ERR;
	return 0;
}

ING_UNUSED static struct ing_str
hp_header(const struct hp_msg *m, const char *lname)
{
	for (int i = 0; i < m->nh; i++)
		if (str_ieq(m->h[i].name, lname))
			return m->h[i].value;
	return (struct ing_str){NULL, 0};
}

/* Body framing. */
enum { HB_NONE, HB_LENGTH, HB_CHUNKED, HB_CLOSE };
enum { HC_SIZE0, HC_SIZE, HC_EXT, HC_SIZE_LF, HC_DATA, HC_DATA_CR, HC_DATA_LF, HC_TRAILER, HC_TRAILER_LINE, HC_TRAILER_LF, HC_END_LF };
#define HP_MAX_CHUNK_LINE 4096 /* chunk-size line incl. extensions */

struct hp_body {
	uint8_t mode;  /* HB_* */
	uint8_t cs;    /* HC_* */
	uint8_t done;
	uint8_t last;  /* zero-size chunk seen */
	uint32_t extra; /* bytes of the current size line / of all trailers */
	uint64_t left;  /* LENGTH: body bytes left; CHUNKED: chunk bytes left */
};

ING_UNUSED static void
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
ING_UNUSED static ssize_t
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
			} else {
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

/* The client side of a connection: read a head, parse, dispatch; local
 * answers; keep-alive and pipelining (requests are answered in order, one
 * at a time: the next head is parsed only when the previous exchange is
 * done). */
#define HP_LINGER_MS 2000 /* drain input this long after an error answer */

static struct {
	struct hp_msg msg; /* the head being dispatched (single-threaded) */
	struct cf *cf;     /* live config, set by the loop */
} g_hp;

static void rs_error(struct cn *c, int status, const char *why); /* section 15 */
static void up_dispatch(struct cn *c, struct hp_msg *m);         /* section 14 */
static void up_client_io(struct cn *c);                          /* section 14 */
static void mx_admin(struct cn *c, struct hp_msg *m);            /* section 16 */

static void
hp_client_idle(struct cn *c, int first)
{
	cn_set_state(c, CS_IDLE);
	c->flags = (uint16_t)((c->flags & (CNF_HTTPS | CNF_DRAIN)) | CNF_WANT_READ);
	c->scan = 0;
	if (bf_len(c->in) == 0)
		bf_put(&c->in);
	c->deadline = tk_after(first ? g_hp.cf->read_timeout : g_hp.cf->idle_timeout);
}

static void
hp_client_start(struct cn *c)
{
	hp_client_idle(c, 1);
}

/* Parse the request heads waiting in c->in, one after another while the
 * answers complete at once. */
static void
hp_client_advance(struct cn *c)
{
	while (!c->closing && (c->state == CS_IDLE || c->state == CS_HEAD)) {
		if (bf_len(c->in) == 0) {
			if (c->state == CS_HEAD)
				hp_client_idle(c, 0);
			return;
		}
		if (c->state == CS_IDLE) {
			cn_set_state(c, CS_HEAD);
			c->t_start = g.now;
			c->deadline = tk_after(g_hp.cf->read_timeout);
		}
		ssize_t n = hp_scan_head(c->in->d + c->in->r, bf_len(c->in), &c->scan);
		if (n == ING_WAIT) {
			if (bf_len(c->in) > ING_MAX_HEADER_BYTES) {
				log_limit(LIM_HEADER_BYTES, "hp: request head");
				rs_error(c, 431, "request head too large");
			} else if (c->flags & CNF_EOF) {
				cn_close(c, "client closed mid-request");
			}
			return;
		}
		if (n > ING_MAX_HEADER_BYTES) {
			log_limit(LIM_HEADER_BYTES, "hp: request head");
			rs_error(c, 431, "request head too large");
			return;
		}
		struct hp_msg *m = &g_hp.msg;
		c->scan = 0;
		if (hp_parse_request(m, c->in->d + c->in->r, (size_t)n) != 0) {
			log_debug("hp: conn %u: %d: %s", c->id, m->err_status, m->err);
			rs_error(c, m->err_status, m->err);
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

static void
hp_client_read(struct cn *c)
{
	for (;;) {
		ssize_t r = cn_fill(c);
		if (r == 0 && bf_len(c->in) == 0) {
			cn_close(c, c->state == CS_HEAD ? "client closed mid-request" : "client closed");
			return;
		}
		if (r == ING_ERR) {
			cn_close(c, "client read error");
			return;
		}
		if (r == ING_WAIT && c->in == NULL) {
			cn_close(c, "no I/O buffer (ING_MAX_BUFS)");
			return;
		}
		if (r == ING_WAIT || r == 0 || bf_room(c->in) == 0 || c->tls == NULL)
			break;
	}
	hp_client_advance(c);
}

/* The exchange on c is complete: keep-alive, pipelined next, or close. */
static void
hp_client_done(struct cn *c)
{
	c->flags &= (uint16_t)~CNF_WANT_WRITE;
	if (!(c->flags & CNF_KEEPALIVE) || (c->flags & (CNF_DRAIN | CNF_EOF))) {
		if (bf_len(c->in) == 0 && (c->flags & CNF_EOF)) {
			cn_close(c, "done");
			return;
		}
		/* Lingering close: shut our side, read and drop what the client
		 * still sends, so it sees the answer instead of a reset. */
		port_shutdown_write(c->fd);
		bf_put(&c->in);
		cn_set_state(c, CS_LINGER);
		c->flags |= CNF_WANT_READ;
		c->deadline = tk_after(HP_LINGER_MS);
		return;
	}
	hp_client_idle(c, 0);
}

static void
hp_client_linger(struct cn *c)
{
	char sink[4096];
	for (int i = 0; i < 16; i++) {
		ssize_t r = cn_read(c, sink, sizeof sink);
		if (r == ING_WAIT)
			return;
		if (r <= 0)
			break;
	}
	cn_close(c, "done");
}

static void
hp_client_io(struct cn *c)
{
	switch (c->state) {
	case CS_IDLE:
	case CS_HEAD:
		hp_client_read(c);
		break;
	case CS_LOCAL: {
		int r = cn_flush(c);
		if (r < 0)
			cn_close(c, "client write error");
		else if (r == 1)
			hp_client_done(c);
		else
			c->deadline = tk_after(g_hp.cf->write_timeout);
		if (!c->closing && (c->state == CS_IDLE || c->state == CS_HEAD))
			hp_client_advance(c);
		break;
	}
	case CS_LINGER:
		hp_client_linger(c);
		break;
	case CS_PROXY:
	case CS_TUNNEL:
		up_client_io(c);
		break;
	}
}

static void
hp_client_timeout(struct cn *c)
{
	switch (c->state) {
	case CS_HEAD:
		rs_error(c, 408, "client too slow");
		break;
	case CS_IDLE:
		cn_close(c, "idle timeout");
		break;
	case CS_LOCAL:
		cn_close(c, "write timeout");
		break;
	default:
		cn_close(c, "timeout");
		break;
	}
}

/* ===== 14. upstream connect and pump ================================== up_
 * (The routing table does not exist yet: every request is 404.)
 */
static void
up_dispatch(struct cn *c, struct hp_msg *m)
{
	(void)m;
	rs_error(c, 404, "no route");
}

static void
up_client_io(struct cn *c)
{
	cn_close(c, "no exchange");
}

/* ===== 15. responses of our own ======================================= rs_
 * Each with a short text body. An answer to a request whose body was not
 * read closes the connection afterwards.
 */
static const char *
rs_reason(int status)
{
	switch (status) {
	case 200: return "OK";
	case 301: return "Moved Permanently";
	case 400: return "Bad Request";
	case 401: return "Unauthorized";
	case 403: return "Forbidden";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	case 408: return "Request Timeout";
	case 413: return "Payload Too Large";
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
	if (bf_printf(c->out,
	              "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n%s%s\r\n", status,
	              rs_reason(status), ctype, blen, headers ? headers : "",
	              keep ? "" : "Connection: close\r\n") != 0 ||
	    (!head_only && bf_append(c->out, body, blen) != 0)) {
		cn_close(c, "response too large");
		return;
	}
	if (!keep)
		c->flags &= (uint16_t)~CNF_KEEPALIVE;
	cn_set_state(c, CS_LOCAL);
	c->flags &= (uint16_t)~CNF_WANT_READ;
	c->deadline = tk_after(g_hp.cf->write_timeout);
	int r = cn_flush(c);
	if (r < 0)
		cn_close(c, "client write error");
	else if (r == 1)
		hp_client_done(c);
}

/* An error answer: consumes the head, and closes afterwards when the
 * request was unreadable or had a body we did not read. */
static void
rs_error(struct cn *c, int status, const char *why)
{
	struct hp_msg *m = &g_hp.msg;
	char body[64];
	int n;
	(void)why;
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
		n = snprintf(body, sizeof body, "404 page not found\n"); /* Traefik's text */
	else if (status == 401)
		n = snprintf(body, sizeof body, "401 Unauthorized\n");
	else
		n = snprintf(body, sizeof body, "%s\n", rs_reason(status));
	rs_send(c, status, "text/plain; charset=utf-8", NULL, body, (size_t)n, m->meth == HM_HEAD);
}

/* ===== 16. metrics and admin ========================================== mx_
 * The admin listener ([web] address): read-only; GET/HEAD only.
 */
static void
mx_admin(struct cn *c, struct hp_msg *m)
{
	if (m->meth != HM_GET && m->meth != HM_HEAD) {
		rs_error(c, 405, "admin is read-only");
		return;
	}
	if (str_eq(m->path, "/ping")) {
		c->in->r += (uint32_t)m->head_len;
		rs_send(c, 200, "text/plain; charset=utf-8", NULL, "OK", 2, m->meth == HM_HEAD);
		return;
	}
	rs_error(c, 404, "no such admin path");
}

/* ===== 17. event loop and main ======================================== ev_
 * One poll() per turn: listeners, the signal pipe and every connection
 * that wants something; the timeout is the nearest deadline. Closes are
 * reaped at the end of the turn.
 */
static struct {
	struct cf cfs[2];
	int live; /* index of the live config */
	const char *conf_path;
	int sigfd;
	int stopping;       /* SIGTERM/SIGINT received */
	uint64_t stop_deadline;
	int reload;         /* SIGHUP pending */
	int exit_code;
	struct pollfd pfd[CN_TOTAL + ING_MAX_ENTRYPOINTS + 2];
	int pfd_conn[CN_TOTAL + ING_MAX_ENTRYPOINTS + 2]; /* conn index; -1 signal; -2-i listener i */
	uint64_t reloads, reload_failures;
	int64_t reload_wall;
} g_ev;

static struct cf *
ev_cf(void)
{
	return &g_ev.cfs[g_ev.live];
}

static void
cn_release(struct cn *c)
{
	struct cn *p = cn_peer(c);
	if (p != NULL) {
		cn_unpair(c);
		if (!p->closing)
			cn_close(p, c->kind == CN_CLIENT ? "client gone" : "upstream gone");
	}
}

static int
ev_listen_all(struct cf *cf)
{
	char err[160];
	g_cn.nlis = 0;
	for (int i = 0; i <= cf->n_eps; i++) {
		struct lis *l = &g_cn.lis[g_cn.nlis];
		const struct ing_addr *a;
		if (i == cf->n_eps) {
			if (!cf->web_enabled)
				break;
			a = &cf->web;
			l->ep = -1;
			snprintf(l->name, sizeof l->name, "web");
		} else {
			a = &cf->eps[i].addr;
			l->ep = i;
			snprintf(l->name, sizeof l->name, "%s", cf->eps[i].name);
		}
		l->addr = *a;
		l->fd = port_listen(a, 511, err, sizeof err);
		if (l->fd < 0) {
			log_errx("cn: %s: listen on %s: %s", l->name, i == cf->n_eps ? cf->web_address : cf->eps[i].address, err);
			return ING_ERR;
		}
		log_info("cn: %s: listening on %s", l->name, i == cf->n_eps ? cf->web_address : cf->eps[i].address);
		g_cn.nlis++;
	}
	return 0;
}

static void
ev_close_listeners(void)
{
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
	struct cf *old = ev_cf(), *nc = &g_ev.cfs[spare];
	g_ev.reload = 0;
	if (cf_load(&ps, nc, g_ev.conf_path) != 0) {
		g_ev.reload_failures++;
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
		log_warnx("ev: reload: entry point or [web] addresses changed: they apply at the next restart");
		memcpy(nc->eps, old->eps, sizeof nc->eps);
		nc->n_eps = old->n_eps;
		nc->web = old->web;
		nc->web_enabled = old->web_enabled;
		memcpy(nc->web_address, old->web_address, sizeof nc->web_address);
	}
	g_ev.live = spare;
	g_hp.cf = nc;
	g.loglevel = nc->loglevel;
	g_ev.reloads++;
	g_ev.reload_wall = port_wall_s();
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
				g_ev.stop_deadline = g.now + ev_cf()->grace_timeout;
				log_info("ev: signal %d: draining (up to %" PRIu64 " ms)", sig[i], ev_cf()->grace_timeout);
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
		hp_client_io(c);
		break;
	default:
		break;
	}
}

static void
ev_timeout(struct cn *c)
{
	c->deadline = 0;
	switch (c->kind) {
	case CN_CLIENT:
		hp_client_timeout(c);
		break;
	default:
		cn_close(c, "timeout");
		break;
	}
}

/* One loop turn. */
static void
ev_turn(int max_wait_ms)
{
	size_t n = 0;
	uint64_t next = 0;
	int zero = 0;

	g.now = port_now_ms();
	g_ev.pfd[n] = (struct pollfd){.fd = g_ev.sigfd, .events = POLLIN};
	g_ev.pfd_conn[n++] = -1;
	if (g_cn.lis_paused && g_cn.lis_resume_at && g.now >= g_cn.lis_resume_at) {
		g_cn.lis_resume_at = 0;
		cn_listeners_pause(0);
	}
	if (g_cn.lis_paused && !g_cn.lis_resume_at && g_cn.used[CN_CLIENT] < ING_MAX_CONNS)
		cn_listeners_pause(0);
	for (int i = 0; i < g_cn.nlis && !g_cn.lis_paused; i++) {
		if (g_cn.lis[i].fd < 0)
			continue;
		g_ev.pfd[n] = (struct pollfd){.fd = g_cn.lis[i].fd, .events = POLLIN};
		g_ev.pfd_conn[n++] = -2 - i;
	}
	next = g_cn.lis_resume_at;
	for (int k = 0; k < g_cn.nactive; k++) {
		int idx = g_cn.active[k];
		struct cn *c = &g_cn.tab[idx];
		if (c->closing)
			continue;
		int ev = cn_events(c);
		if (c->tls != NULL && (c->flags & CNF_WANT_READ) && tls_pending(c->tls) > 0)
			zero = 1;
		next = tk_min(next, c->deadline);
		if (ev == 0)
			continue;
		g_ev.pfd[n] = (struct pollfd){.fd = c->fd, .events = (short)ev};
		g_ev.pfd_conn[n++] = idx;
	}
	if (g_ev.stopping)
		next = tk_min(next, g_ev.stop_deadline);
	int timeout = max_wait_ms;
	if (zero)
		timeout = 0;
	else if (next != 0) {
		uint64_t d = next > g.now ? next - g.now : 0;
		if (timeout < 0 || d < (uint64_t)timeout)
			timeout = (int)ING_MIN(d, (uint64_t)INT_MAX);
	}
	int r = port_poll(g_ev.pfd, n, timeout);
	g.now = port_now_ms();
	if (r < 0 && errno != EINTR)
		log_warn("ev: poll");
	for (size_t i = 0; r > 0 && i < n; i++) {
		if (g_ev.pfd[i].revents == 0)
			continue;
		int who = g_ev.pfd_conn[i];
		if (who == -1)
			ev_signals();
		else if (who <= -2) {
			struct lis *l = &g_cn.lis[-2 - who];
			if (l->fd >= 0 && !g_cn.lis_paused)
				cn_accept(l);
		} else {
			struct cn *c = &g_cn.tab[who];
			/* redis ae: an earlier handler may have closed it */
			if (c->kind != CN_NONE && !c->closing)
				ev_io(c);
		}
	}
	/* plaintext buffered inside TLS, and deadlines */
	for (int k = 0; k < g_cn.nactive; k++) {
		struct cn *c = &g_cn.tab[g_cn.active[k]];
		if (c->closing)
			continue;
		if (zero && c->tls != NULL && (c->flags & CNF_WANT_READ) && tls_pending(c->tls) > 0)
			ev_io(c);
		if (!c->closing && tk_expired(c->deadline))
			ev_timeout(c);
	}
	/* reap */
	for (int k = g_cn.nactive - 1; k >= 0; k--) {
		if (k >= g_cn.nactive)
			continue;
		struct cn *c = &g_cn.tab[g_cn.active[k]];
		if (c->closing)
			cn_free(c);
	}
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
			log_info("ev: stopped");
			return g_ev.exit_code;
		}
	}
}

static void
ev_usage(FILE *f)
{
	fprintf(f, "usage: ingressd [-c FILE] [-t] [-l LEVEL] [-V] [-h]\n"
	           "  -c, --config FILE     config file (default /etc/ingressd/ingressd.conf if present)\n"
	           "  -t, --check           check the config and exit (0 ok, 1 with FILE:LINE: errors)\n"
	           "  -l, --log-level LEVEL DEBUG, INFO, WARN or ERROR (overrides logLevel)\n"
	           "  -V, --version         print version, TLS port and compiled limits\n"
	           "  -h, --help            this text\n");
}

static void
ev_version(void)
{
	printf("ingressd %s (TLS: %s)\n", ING_VERSION, tls_port_name());
	printf("limits:");
	for (int i = 0; i < LIM__COUNT; i++)
		printf(" %s=%ld", lim_names[i], lim_values[i]);
	printf(" ING_BUF_SIZE=%d\n", ING_BUF_SIZE);
}

#ifndef ING_NO_MAIN
int
main(int argc, char **argv)
{
	static struct cf_parser ps;
	const char *conf = NULL, *level = NULL;
	int check = 0;
	char err[160];

	for (int i = 1; i < argc; i++) {
		const char *a = argv[i];
		if (!strcmp(a, "-c") || !strcmp(a, "--config") || !strcmp(a, "-l") || !strcmp(a, "--log-level")) {
			if (i + 1 >= argc) {
				fprintf(stderr, "ingressd: %s needs an argument\n", a);
				ev_usage(stderr);
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
			ev_usage(stdout);
			return 0;
		} else {
			fprintf(stderr, "ingressd: unknown argument \"%s\"\n", a);
			ev_usage(stderr);
			return 2;
		}
	}
	if (conf == NULL && access("/etc/ingressd/ingressd.conf", F_OK) == 0)
		conf = "/etc/ingressd/ingressd.conf";
	g_ev.conf_path = conf;
	int nerr = cf_load(&ps, ev_cf(), conf);
	cf_report(&ps, stderr);
	if (check) {
		if (nerr == 0)
			printf("%s: configuration ok\n", conf ? conf : "(defaults)");
		return nerr == 0 ? 0 : 1;
	}
	if (nerr != 0)
		return 1;
	g_hp.cf = ev_cf();
	g.loglevel = ev_cf()->loglevel;
	if (level != NULL) {
		int l = log_level_parse(level);
		if (l < 0) {
			fprintf(stderr, "ingressd: unknown log level \"%s\" (DEBUG, INFO, WARN, ERROR)\n", level);
			return 2;
		}
		g.loglevel = ev_cf()->loglevel = l;
	}
	g.now = port_now_ms();
	cn_init();
	log_info("ev: ingressd %s starting (TLS: %s)", ING_VERSION, tls_port_name());
	if ((g_ev.sigfd = port_signals(err, sizeof err)) < 0)
		fatalx("ev: signals: %s", err);
	if (ev_listen_all(ev_cf()) != 0)
		return 1;
	if (ev_cf()->user[0] != '\0') {
		if (port_drop_privileges(ev_cf()->user, err, sizeof err) != 0)
			fatalx("ev: %s", err);
		log_info("ev: running as user %s after binding", ev_cf()->user);
	}
	return ev_run();
}
#endif
