/*
 * test/fuzz/fuzz_proxy.c - libFuzzer target for the whole proxy exchange on
 * the mock port: client bytes in, upstream bytes out, pod bytes back,
 * client bytes out, through the real loop (ev_turn), routing table,
 * whitelist, basic auth, upstream pool and framing.
 *
 * The input is a script of steps (fz_step): clients connect and send bytes
 * (raw, or one of the hostile requests of the December review), close;
 * the pod answers the oldest request on an upstream connection in one of
 * several ways (length, chunked with trailers, close-delimited, 100
 * Continue, 101, 204, early - before the request body ended - or raw
 * bytes), closes or resets; time passes. After every turn the harness
 * checks what a pod would see (fz_check):
 *   - every byte sent upstream parses, strictly, as requests (canonical
 *     framing: ingressd writes the framing itself), and never more
 *     requests than ingressd sent (a smuggled one would be extra);
 *   - each carries exactly one Host and one X-Real-Ip, that of a client;
 *     none of the headers a pod may trust for the client or the URL;
 *   - read the way Go, Tomcat, WHATWG (Node) and a plain server read
 *     paths, a request for /admin comes from a whitelisted client, one for
 *     /secret has the right credentials;
 *   - an upstream connection in the pool is between messages: the pod has
 *     whole requests, all answered, every answer byte consumed;
 *   - no request is written upstream before the previous one's answer;
 *   - a client gets only answers tagged with its own address.
 * At the end every client closes and time passes: every slot and buffer
 * comes back.
 */
#define ING_MAX_CONNS 8
#define ING_MAX_UPSTREAMS 8
#define ING_MAX_BUFS 48
#define ING_MAX_INGRESSES 16
#define ING_MAX_INGRESS_PATHS 32
#define ING_MAX_SERVICES 8
#define ING_MAX_ENDPOINTS 8
#define ING_MAX_ENDPOINT_ADDRS 32
#define ING_MAX_SECRETS 8
#define ING_MAX_STORE_CIDRS 32
#define ING_MAX_ROUTES 32
#define ING_MAX_HOSTS 16
#define ING_MAX_BACKENDS 8
#define ING_MAX_SERVERS 32
#define ING_MAX_USERS 16
#define ING_MAX_TLS_HOSTS 8
#define ING_MAX_METRIC_SERIES 64
#define ING_MAX_BREAKERS 4
#define ING_MAX_AUTH_CHECKS 4
#define ING_NO_MAIN
#include "../../ingressd.c"

#include "../../port/mock.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FZ_CLIENTS 4
#define FZ_UPS 48                 /* upstream sockets tracked per run */
#define FZ_CAP (64 * 1024)        /* bytes kept per side of a socket */
#define FZ_REQS 32                /* requests tracked per upstream */
#define FZ_TAG "tag:"             /* answers name their client: tag:IP; */

#define FZ_FAIL(...) (fprintf(stderr, "fuzz_proxy: " __VA_ARGS__), fputc('\n', stderr), __builtin_trap())

static const char *const fz_conf =
    "[entryPoints.http]\naddress = \":80\"\n"
    "[respondingTimeouts]\nreadTimeout = \"5s\"\nwriteTimeout = \"5s\"\nidleTimeout = \"9s\"\n"
    "[forwardingTimeouts]\ndialTimeout = \"2s\"\nresponseHeaderTimeout = \"3s\"\n";

#define FZ_ING(name, ann, rules)                                                                            \
	"{\"metadata\":{\"name\":\"" name "\",\"namespace\":\"t\",\"creationTimestamp\":\"2026-01-01T00:00:00Z\"," \
	"\"annotations\":{" ann "}},\"spec\":{\"rules\":[" rules "]}}"
#define FZ_RULE(host, path, type) \
	"{\"host\":\"" host "\",\"http\":{\"paths\":[{\"path\":\"" path "\",\"pathType\":\"" type "\","           \
	"\"backend\":{\"service\":{\"name\":\"s\",\"port\":{\"number\":80}}}}]}}"
#define FZ_WL "\"ingress.kubernetes.io/whitelist-source-range\":\"10.1.0.0/16\""
#define FZ_AUTH "\"ingress.kubernetes.io/auth-type\":\"basic\",\"ingress.kubernetes.io/auth-secret\":\"pw\""

/* host a: "/" open, "/admin" whitelisted, "/secret" basic auth (u:p);
 * host m: "/" open and "/admin" ImplementationSpecific whitelisted
 * (review finding 4); host s: PathPrefixStrip /api. */
static const char *const fz_objects[][2] = {
    {"service", "{\"metadata\":{\"name\":\"s\",\"namespace\":\"t\"},\"spec\":{\"ports\":[{\"name\":\"http\",\"port\":80}]}}"},
    {"slice", "{\"metadata\":{\"name\":\"s-1\",\"namespace\":\"t\",\"labels\":{\"kubernetes.io/service-name\":\"s\"}},"
              "\"addressType\":\"IPv4\",\"ports\":[{\"name\":\"http\",\"port\":8080}],"
              "\"endpoints\":[{\"addresses\":[\"10.9.0.1\",\"10.9.0.2\"]}]}"},
    {"ingress", FZ_ING("open", "", FZ_RULE("a", "/", "Prefix") "," FZ_RULE("m", "/", "Prefix"))},
    {"ingress", FZ_ING("admin", FZ_WL, FZ_RULE("a", "/admin", "Prefix"))},
    {"ingress", FZ_ING("secret", FZ_AUTH, FZ_RULE("a", "/secret", "Exact"))},
    {"ingress", FZ_ING("mix", FZ_WL, FZ_RULE("m", "/admin", "ImplementationSpecific"))},
    {"ingress", FZ_ING("strip", "\"traefik.frontend.rule.type\":\"PathPrefixStrip\"", FZ_RULE("s", "/api", "ImplementationSpecific"))},
    {"secret", "{\"metadata\":{\"name\":\"pw\",\"namespace\":\"t\"},"
               "\"data\":{\"auth\":\"dTp7U0hBfVVXdVhnL3lsRis3TDBkQmsyaTBXVXhDeGwxaz0K\"}}"},
};

/* The hostile requests of the review (and their neighbours): a step can
 * send one whole, so the fuzzer starts from deep states. */
static const char *const fz_reqs[] = {
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /admin HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /secret HTTP/1.1\r\nHost: a\r\nAuthorization: Basic dTpw\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nConnection: keep-alive, Content-Length\r\nContent-Length: 60\r\n\r\n"
    "GET /admin/smuggled HTTP/1.1\r\nHost: a\r\nX-Real-Ip: 10.1.9.9\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nConnection: Transfer-Encoding\r\nTransfer-Encoding: chunked\r\n\r\n"
    "27\r\nGET /admin HTTP/1.1\r\nHost: a\r\nX: y\r\n\r\n\r\n0\r\n\r\n",
    "GET /public HTTP/1.1\r\nHost: a\r\nContent-Length: 80\r\n\r\n",
    "POST /public HTTP/1.1\r\nHost: a\r\nContent-Length: 39\r\n\r\nGET /admin HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /admin# HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /admin HTTP/1.1\r\nHost: m\r\n\r\n",
    "GET /pub/..;/admin HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /admin;x HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /admin%2Fx HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /pub%2F..%2Fadmin HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET //admin HTTP/1.1\r\nHost: a\r\n\r\n",
    "GET /pub\\..\\admin HTTP/1.1\r\nHost: a\r\n\r\n",
    "POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n0\r\nX-Real-Ip: 10.1.0.1\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nX_Real_Ip: 10.1.0.1\r\nForwarded: for=10.1.0.1\r\nX-Original-URL: /admin\r\n\r\n",
    "GET / HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: h2c\r\nHTTP2-Settings: AAMAAABkAAQCAAAAAAIAAAAA\r\n\r\n",
    "GET /ws HTTP/1.1\r\nHost: a\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n",
    "PUT /x HTTP/1.1\r\nHost: a\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\nhello",
    "GET /api/x HTTP/1.1\r\nHost: s\r\n\r\n",
    "GET /api;x/y HTTP/1.1\r\nHost: s\r\n\r\n",
    "GET / HTTP/1.0\r\nHost: a\r\n\r\n",
    "HEAD / HTTP/1.1\r\nHost: a\r\n\r\n",
    "POST / HTTP/1.1\r\nHost: a\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n",
    "GET /secret;x HTTP/1.1\r\nHost: a\r\n\r\n",
};

/* ---- a pod's reading of what it was sent */

struct fz_req {
	uint8_t done;      /* the whole request arrived */
	uint8_t head_only; /* HEAD: answered without a body */
	int8_t client;     /* whose X-Real-Ip it carries */
};

struct fz_up {
	int fd;
	int client;    /* whose X-Real-Ip its last request carried, -1 */
	char in[FZ_CAP]; /* what ingressd wrote to it */
	size_t n, pos;   /* bytes kept; parsed up to pos */
	int state;       /* 0 head, 1 body by length, 2 chunk size, 3 chunk data, 4 chunk CRLF, 5 trailer end, 6 tunnel */
	uint64_t left;
	struct fz_req req[FZ_REQS];
	int nreq, nans;  /* requests with a head; answered (in full) */
	size_t fed;      /* bytes the pod sent */
	uint8_t eof;     /* the pod closed or reset it */
	uint8_t early;   /* answered before the request ended: never reusable */
	uint8_t raw;     /* the pod sent bytes of the input: its messages unknown here */
};

struct fz_client {
	int fd;
	struct ing_addr peer;
	char ip[32];
	char out[FZ_CAP];
	size_t n;
	size_t fed;
	uint8_t eof;
};

static struct {
	struct fz_client c[FZ_CLIENTS];
	struct fz_up u[FZ_UPS];
	int nup;
	uint64_t parsed; /* request heads the pods saw */
	const uint8_t *p;
	size_t left;
} fz;

static struct cf_parser fz_ps;

static unsigned
fz_byte(void)
{
	if (fz.left == 0)
		return 0;
	fz.left--;
	return *fz.p++;
}

static int
fz_tchar(int c)
{
	return c > 0 && c < 128 && hp_tchar[c];
}

/* A path as one kind of pod reads it. */
enum { FZ_RAW, FZ_GO, FZ_TOMCAT, FZ_WHATWG, FZ__READERS };

static size_t
fz_pod_path(const char *t, size_t n, int how, char *out, size_t cap)
{
	char tmp[2048];
	size_t k = 0;
	for (size_t i = 0; i < n && t[i] != '?' && t[i] != '#' && k + 1 < sizeof tmp; i++) {
		char ch = t[i];
		if (how == FZ_TOMCAT && ch == ';') { /* parameters to the next '/' */
			while (i + 1 < n && t[i + 1] != '/' && t[i + 1] != '?')
				i++;
			continue;
		}
		if (ch == '%' && i + 2 < n && isxdigit((unsigned char)t[i + 1]) && isxdigit((unsigned char)t[i + 2])) {
			int v = rt_hexval((unsigned char)t[i + 1]) << 4 | rt_hexval((unsigned char)t[i + 2]);
			if (how == FZ_GO || how == FZ_TOMCAT || (how == FZ_WHATWG && (v == '.'))) {
				tmp[k++] = v ? (char)v : '_';
				i += 2;
				continue;
			}
		}
		if (how == FZ_WHATWG && ch == '\\')
			ch = '/';
		tmp[k++] = ch;
	}
	if (how == FZ_RAW) {
		memcpy(out, tmp, ING_MIN(k, cap - 1));
		out[ING_MIN(k, cap - 1)] = '\0';
		return ING_MIN(k, cap - 1);
	}
	/* segments: empty and "." dropped, ".." climbs (Go's path.Clean;
	 * Tomcat and WHATWG keep empty ones, which only matters for //) */
	size_t w = 0;
	for (size_t i = 0; i < k;) {
		while (i < k && tmp[i] == '/')
			i++;
		size_t j = i;
		while (j < k && tmp[j] != '/')
			j++;
		if (j == i)
			break;
		if (j - i == 1 && tmp[i] == '.') {
		} else if (j - i == 2 && tmp[i] == '.' && tmp[i + 1] == '.') {
			while (w > 0 && out[w - 1] != '/')
				w--;
			if (w > 0)
				w--;
		} else if (w + (j - i) + 2 < cap) {
			out[w++] = '/';
			memcpy(out + w, tmp + i, j - i);
			w += j - i;
		}
		i = j;
	}
	if (k > 0 && tmp[k - 1] == '/' && w + 1 < cap)
		out[w++] = '/'; /* "/secret/" is not "/secret" (Exact) */
	if (w == 0)
		out[w++] = '/';
	out[w] = '\0';
	return w;
}

static int
fz_under(const char *p, const char *root)
{
	size_t n = strlen(root);
	return strncmp(p, root, n) == 0 && (p[n] == '\0' || p[n] == '/');
}

/* One request head a pod parsed: the checks on what it says. */
static void
fz_head(struct fz_up *u, const char *h, size_t n)
{
	const char *eol = memchr(h, '\r', n), *sp1, *sp2;
	char host[64] = "", xri[64] = "", auth[64] = "";
	int nhost = 0, nxri = 0, nauth = 0, te = 0, cl = 0;
	uint64_t clen = 0;
	if (eol == NULL || eol[1] != '\n')
		FZ_FAIL("request line without CRLF");
	sp1 = memchr(h, ' ', (size_t)(eol - h));
	sp2 = sp1 ? memchr(sp1 + 1, ' ', (size_t)(eol - sp1 - 1)) : NULL;
	if (sp1 == NULL || sp2 == NULL || sp1 == h || eol - sp2 != 9 || memcmp(sp2, " HTTP/1.1", 9) != 0)
		FZ_FAIL("bad request line: %.*s", (int)(eol - h), h);
	for (const char *q = h; q < sp1; q++)
		if (!fz_tchar((unsigned char)*q))
			FZ_FAIL("bad method");
	const char *t = sp1 + 1;
	size_t tn = (size_t)(sp2 - t);
	if (tn == 0 || (t[0] != '/' && !(tn == 1 && t[0] == '*')))
		FZ_FAIL("target not in origin form: %.*s", (int)tn, t);
	for (size_t i = 0; i < tn; i++)
		if (t[i] == '#' || (unsigned char)t[i] <= 0x20 || (unsigned char)t[i] >= 0x7f)
			FZ_FAIL("fragment or control byte in the target: %.*s", (int)tn, t);
	const char *q = memchr(t, '?', tn);
	size_t pn = q ? (size_t)(q - t) : tn;
	if (memchr(t, '\\', pn) != NULL || memmem(t, pn, "//", 2) != NULL)
		FZ_FAIL("path not normalized: %.*s", (int)tn, t);
	/* headers */
	for (const char *l = eol + 2; l < h + n;) {
		const char *e = memchr(l, '\r', (size_t)(h + n - l));
		if (e == NULL || e + 1 >= h + n || e[1] != '\n')
			FZ_FAIL("header line without CRLF");
		if (e == l)
			break;
		const char *c = l;
		while (c < e && fz_tchar((unsigned char)*c))
			c++;
		if (c == l || c >= e || *c != ':')
			FZ_FAIL("bad header name: %.*s", (int)(e - l), l);
		size_t nl = (size_t)(c - l);
		const char *v = c + 1;
		while (v < e && (*v == ' ' || *v == '\t'))
			v++;
		size_t vn = (size_t)(e - v);
		for (const char *x = v; x < e; x++)
			if (((unsigned char)*x < 0x20 && *x != '\t') || *x == 0x7f)
				FZ_FAIL("control byte in a header value");
#define FZ_IS(name) (nl == sizeof(name) - 1 && strncasecmp(l, name, nl) == 0)
		if (FZ_IS("host"))
			nhost++, snprintf(host, sizeof host, "%.*s", (int)vn, v);
		else if (FZ_IS("x-real-ip"))
			nxri++, snprintf(xri, sizeof xri, "%.*s", (int)vn, v);
		else if (FZ_IS("authorization"))
			nauth++, snprintf(auth, sizeof auth, "%.*s", (int)vn, v);
		else if (FZ_IS("transfer-encoding")) {
			te++;
			if (vn != 7 || strncmp(v, "chunked", 7) != 0)
				FZ_FAIL("Transfer-Encoding other than chunked sent upstream");
		} else if (FZ_IS("content-length")) {
			cl++;
			clen = 0;
			for (size_t i = 0; i < vn; i++)
				clen = clen * 10 + (uint64_t)(v[i] - '0');
		} else if (FZ_IS("connection")) {
			if (memmem(v, vn, "ontent-", 7) || memmem(v, vn, "ransfer-", 8))
				FZ_FAIL("Connection names a framing header upstream");
		} else if (FZ_IS("forwarded") || FZ_IS("x-original-url") || FZ_IS("x-rewrite-url") || FZ_IS("http2-settings")) {
			FZ_FAIL("a header the pod may trust passed: %.*s", (int)nl, l);
		} else if (memchr(l, '_', nl) != NULL) {
			char twin[64];
			snprintf(twin, sizeof twin, "%.*s", (int)ING_MIN(nl, 63), l);
			for (char *x = twin; *x; x++)
				*x = *x == '_' ? '-' : (char)tolower((unsigned char)*x);
			if (!strcmp(twin, "x-real-ip") || !strncmp(twin, "x-forwarded-", 12) || !strcmp(twin, "host"))
				FZ_FAIL("an '_' twin of a header ingressd sets passed: %s", twin);
		}
		l = e + 2;
	}
	if (nhost != 1 || nxri != 1 || te + cl > 1)
		FZ_FAIL("Host %d, X-Real-Ip %d, framing headers %d", nhost, nxri, te + cl);
	u->client = -1;
	for (int i = 0; i < FZ_CLIENTS; i++)
		if (fz.c[i].fd >= 0 && !strcmp(fz.c[i].ip, xri))
			u->client = i;
	if (u->client < 0)
		FZ_FAIL("X-Real-Ip %s is no client's", xri);
	/* the policy, read as pods read paths */
	for (int how = 0; how < FZ__READERS; how++) {
		char p[2048];
		fz_pod_path(t, tn, how, p, sizeof p);
		int protected_host = !strcmp(host, "a") || !strcmp(host, "m");
		if (protected_host && fz_under(p, "/admin") && strncmp(xri, "10.1.", 5) != 0)
			FZ_FAIL("%s reached /admin from %s (reader %d: %s)", host, xri, how, p);
		if (!strcmp(host, "a") && !strcmp(p, "/secret") && (nauth != 1 || strcmp(auth, "Basic dTpw") != 0))
			FZ_FAIL("/secret reached without credentials (reader %d)", how);
	}
	if (u->nreq < FZ_REQS) {
		u->req[u->nreq].head_only = sp1 - h == 4 && memcmp(h, "HEAD", 4) == 0;
		u->req[u->nreq].done = te == 0 && clen == 0;
		u->req[u->nreq].client = (int8_t)u->client;
	}
	u->nreq++;
	fz.parsed++;
	u->state = te ? 2 : clen > 0 ? 1 : 0;
	u->left = clen;
}

/* Parses what was written to u since the last call. */
static void
fz_parse_up(struct fz_up *u)
{
	while (u->pos < u->n && u->state != 6) {
		const char *b = u->in + u->pos;
		size_t avail = u->n - u->pos;
		if (u->state == 0) {
			if (u->nreq > u->nans && !u->raw)
				FZ_FAIL("a request written upstream before the previous one's answer");
			const char *e = memmem(b, avail, "\r\n\r\n", 4);
			if (e == NULL)
				return;
			fz_head(u, b, (size_t)(e - b) + 4);
			u->pos += (size_t)(e - b) + 4;
		} else if (u->state == 1) {
			size_t k = (size_t)ING_MIN((uint64_t)avail, u->left);
			u->pos += k;
			if ((u->left -= k) == 0) {
				u->state = 0;
				if (u->nreq - 1 < FZ_REQS)
					u->req[u->nreq - 1].done = 1;
			}
		} else if (u->state == 2) { /* canonical chunk-size line: lower-case hex, no extensions */
			const char *e = memmem(b, avail, "\r\n", 2);
			if (e == NULL)
				return;
			uint64_t v = 0;
			if (e == b || (b[0] == '0' && e - b > 1))
				FZ_FAIL("chunk size not canonical");
			for (const char *x = b; x < e; x++) {
				if (!isxdigit((unsigned char)*x) || isupper((unsigned char)*x))
					FZ_FAIL("chunk size line not canonical: %.*s", (int)(e - b), b);
				v = v * 16 + (uint64_t)rt_hexval((unsigned char)*x);
			}
			u->pos += (size_t)(e - b) + 2;
			u->left = v;
			u->state = v ? 3 : 5;
		} else if (u->state == 3) {
			size_t k = (size_t)ING_MIN((uint64_t)avail, u->left);
			u->pos += k;
			if ((u->left -= k) == 0)
				u->state = 4;
		} else if (u->state == 4 || u->state == 5) {
			if (avail < 2)
				return;
			if (b[0] != '\r' || b[1] != '\n')
				FZ_FAIL("chunk not followed by CRLF%s", u->state == 5 ? " (a trailer was forwarded)" : "");
			u->pos += 2;
			if (u->state == 5) {
				u->state = 0;
				if (u->nreq - 1 < FZ_REQS)
					u->req[u->nreq - 1].done = 1;
			} else {
				u->state = 2;
			}
		}
	}
}

static struct fz_up *
fz_up_of(int fd)
{
	for (int i = 0; i < fz.nup; i++)
		if (fz.u[i].fd == fd)
			return &fz.u[i];
	return NULL;
}

/* Collects what every socket got this turn; new upstream sockets are
 * tracked from their first byte. */
static void
fz_collect(void)
{
	static char buf[MOCK_BUF];
	for (int i = 0; i < FZ_CLIENTS; i++) {
		struct fz_client *c = &fz.c[i];
		if (c->fd < 0)
			continue;
		size_t k = mock_output(c->fd, buf, sizeof buf, 1);
		for (size_t j = 0; j < k && c->n < FZ_CAP; j++)
			c->out[c->n++] = buf[j];
	}
	for (int fd = MOCK_FD0; fd < MOCK_FD0 + MOCK_SOCKS; fd++) {
		struct fz_up *u = fz_up_of(fd);
		int client = 0;
		for (int i = 0; i < FZ_CLIENTS; i++)
			client |= fz.c[i].fd == fd;
		if (client || mock_sock(fd) == NULL || fd == g_cn.lis[0].fd)
			continue;
		if (u == NULL && fz.nup == FZ_UPS) { /* untracked */
			mock_output(fd, buf, sizeof buf, 1);
			if (mock_is_closed(fd))
				mock_release(fd);
			continue;
		}
		if (u == NULL) {
			u = &fz.u[fz.nup++];
			memset(u, 0, offsetof(struct fz_up, in));
			u->fd = fd;
			u->client = -1;
			memset(u->req, 0, sizeof u->req);
			u->n = u->pos = 0;
			u->nreq = u->nans = 0;
			u->fed = 0;
			u->eof = u->early = u->raw = 0;
			u->state = 0;
		}
		size_t k = mock_output(fd, buf, sizeof buf, 1);
		for (size_t j = 0; j < k && u->n < FZ_CAP; j++)
			u->in[u->n++] = buf[j];
		fz_parse_up(u);
		if (mock_is_closed(fd)) {
			mock_release(fd);
			u->fd = -1 - fd; /* retired: the slot may be a new socket */
		}
	}
}

/* The checks that hold after every turn. */
static void
fz_check(void)
{
	fz_collect();
	if (fz.parsed > g_up.heads + g_up.retries)
		FZ_FAIL("pods saw %llu requests, ingressd sent %llu (+%llu resent): one was smuggled",
		        (unsigned long long)fz.parsed, (unsigned long long)g_up.heads, (unsigned long long)g_up.retries);
	for (int k = 0; k < g_cn.nactive; k++) {
		struct cn *x = &g_cn.tab[g_cn.active[k]];
		if (x->kind != CN_UPSTREAM || x->state != US_POOL || x->closing)
			continue;
		struct fz_up *u = fz_up_of(x->fd);
		if (u == NULL)
			continue;
		if (u->raw)
			continue;
		/* (the pod may have closed it meanwhile: ingressd learns that
		 * when it reads, as from a real socket; and an answer before the
		 * body ended is fine once the whole body went after it: the pod
		 * reads and drops it, as Node and Go do) */
		if (u->state != 0 || u->pos != u->n || u->nans < u->nreq)
			FZ_FAIL("%.*s\n"
			        "an upstream connection pooled mid-message (state %d, %zu of %zu parsed, %d of %d answered%s)",
			        (int)u->n, u->in,
			        u->state, u->pos, u->n, u->nans, u->nreq, u->early ? ", answered early" : "");
	}
	for (int i = 0; i < FZ_CLIENTS; i++) {
		struct fz_client *c = &fz.c[i];
		const char *p = c->out;
		while ((p = memmem(p, (size_t)(c->out + c->n - p), FZ_TAG, 4)) != NULL) {
			const char *e = memchr(p, ';', (size_t)(c->out + c->n - p));
			if (e == NULL)
				break;
			if ((size_t)(e - p - 4) != strlen(c->ip) || memcmp(p + 4, c->ip, strlen(c->ip)) != 0)
				FZ_FAIL("client %s got an answer meant for %.*s", c->ip, (int)(e - p - 4), p + 4);
			p = e;
		}
	}
}

static void
fz_turns(int n)
{
	for (int i = 0; i < n; i++) {
		ev_turn(0);
		fz_check();
	}
}

static void
fz_feed_up(struct fz_up *u, const char *p, size_t n)
{
	if (u->fd < 0 || u->eof || u->fed + n > MOCK_BUF - 1024)
		return;
	mock_feed(u->fd, p, n);
	u->fed += n;
}

/* The pod answers the oldest request on u, in way `how`. */
static void
fz_answer(struct fz_up *u, unsigned how)
{
	char body[96], resp[512];
	int i = u->nans;
	if (u->fd < 0 || u->eof || i >= u->nreq || i >= FZ_REQS || u->state == 6)
		return;
	const char *ip = u->req[i].client >= 0 ? fz.c[u->req[i].client].ip : "?";
	int bl = snprintf(body, sizeof body, FZ_TAG "%s;", ip);
	int whole = u->req[i].done;
	if (u->req[i].head_only)
		bl = 0, body[0] = '\0';
	int n = 0, final = 1;
	switch (how % 9) {
	case 0:
		n = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nContent-Length: %d\r\n\r\n%s", bl, body);
		break;
	case 1: /* chunked, with an extension and a trailer */
		n = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n%x;e=1\r\n%s\r\n0\r\nX-T: 1\r\n\r\n", bl, body);
		break;
	case 2: /* close-delimited */
		n = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\n\r\n%s", body);
		fz_feed_up(u, resp, (size_t)n);
		mock_eof(u->fd);
		u->eof = 1;
		u->nans++;
		return;
	case 3:
		n = snprintf(resp, sizeof resp, "HTTP/1.1 100 Continue\r\n\r\n");
		final = 0;
		break;
	case 4:
		n = snprintf(resp, sizeof resp, "HTTP/1.1 204 No Content\r\n\r\n");
		break;
	case 5: /* its own framing named in Connection (finding 8): must not reach a client intact */
		n = snprintf(resp, sizeof resp, "HTTP/1.1 200 OK\r\nConnection: Content-Length\r\nContent-Length: %d\r\n\r\n%s", bl, body);
		break;
	case 6: /* 101: a tunnel from now on (by design: not parsed further) */
		n = snprintf(resp, sizeof resp, "HTTP/1.1 101 Switching Protocols\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n");
		u->state = 6;
		break;
	case 7: { /* raw bytes from the input, never a tag */
		unsigned k = fz_byte();
		for (unsigned j = 0; j < k && fz.left > 0 && n < (int)sizeof resp; j++) {
			char ch = (char)fz_byte();
			resp[n++] = ch == 't' ? 'x' : ch;
		}
		fz_feed_up(u, resp, (size_t)n);
		u->raw = 1;
		return;
	}
	default: /* a 404 with a body, keep-alive */
		n = snprintf(resp, sizeof resp, "HTTP/1.1 404 Not Found\r\nContent-Length: %d\r\n\r\n%s", bl, body);
		break;
	}
	fz_feed_up(u, resp, (size_t)n);
	if (final) {
		if (!whole)
			u->early = 1; /* Node answers before the body: the rest is discarded */
		u->nans++;
	}
}

static void
fz_setup(void)
{
	char err[64];
	mock_reset();
	mock_keep_closed = 1;
	memset(&g_cn, 0, sizeof g_cn);
	memset(&g_bf, 0, sizeof g_bf);
	g_bf.free_head = -1;
	cn_init();
	memset(&g_up, 0, sizeof g_up);
	up_init();
	memset(&g_au, 0, sizeof g_au);
	if (cf_parse(&fz_ps, &g_ev.cfs[0], "fuzz", fz_conf, strlen(fz_conf)) != 0)
		FZ_FAIL("config");
	g_ev.live = 0;
	cf_live = &g_ev.cfs[g_ev.live];
	g_ev.stopping = 0;
	if (g_ev.sigfd <= 0)
		g_ev.sigfd = port_signals(err, sizeof err);
	if (ev_listen_all(cf_live) != 0)
		FZ_FAIL("listen");
	static int stored;
	if (!stored) { /* once: the store is input only */
		st_init();
		for (int i = 0; i < SK__COUNT; i++)
			g_kw.api[i] = kw_api_first(i);
	}
	for (size_t i = 0; i < ING_ARRAY_LEN(fz_objects) && !stored; i++) {
		static char doc[4096];
		int kind = !strcmp(fz_objects[i][0], "service") ? SK_SERVICE : !strcmp(fz_objects[i][0], "slice") ? SK_ENDPOINTS
		           : !strcmp(fz_objects[i][0], "secret") ? SK_SECRET : SK_INGRESS;
		struct kw_stream *s = &g_kw.st[kind];
		memset(s, 0, offsetof(struct kw_stream, obj));
		s->used = 1;
		s->kind = (uint8_t)kind;
		s->api = kw_api_first(kind);
		s->phase = KS_LIST;
		s->conn = -1;
		kw_frame_init(&s->fr, KF_LIST);
		snprintf(doc, sizeof doc, "{\"metadata\":{},\"items\":[%s]}", fz_objects[i][1]);
		kw_frame_feed(s, doc, strlen(doc));
	}
	stored = 1;
	memset(&g_lb, 0, sizeof g_lb); /* balancer and breaker state from scratch each run */
	rb_init();
	rb_rebuild();
	if (rt_live() == NULL || rt_live()->nroutes != 6 || rt_live()->nusers != 1)
		FZ_FAIL("routing table: %d routes, %d users", rt_live() ? rt_live()->nroutes : -1, rt_live() ? rt_live()->nusers : -1);
	memset(&fz, 0, offsetof(__typeof__(fz), p));
	for (int i = 0; i < FZ_CLIENTS; i++) {
		struct fz_client *c = &fz.c[i];
		c->fd = -1;
		c->n = c->fed = 0;
		c->eof = 0;
		/* two whitelisted (10.1.x), two not */
		snprintf(c->ip, sizeof c->ip, i < 2 ? "10.1.0.%d" : "192.0.2.%d", i + 1);
		ing_addr_parse_ip(&c->peer, c->ip, strlen(c->ip));
		c->peer.port = (uint16_t)(40000 + i);
	}
	fz.nup = 0;
}

static struct fz_client *
fz_client(unsigned k)
{
	struct fz_client *c = &fz.c[k % FZ_CLIENTS];
	if (c->fd < 0 && (c->fd = mock_queue_accept(g_cn.lis[0].fd, &c->peer)) < 0)
		return NULL;
	return c;
}

static void
fz_send(struct fz_client *c, const void *p, size_t n)
{
	if (c == NULL || c->eof || c->fed + n > MOCK_BUF - 1024 || mock_is_closed(c->fd))
		return;
	mock_feed(c->fd, p, n);
	c->fed += n;
}

/* One step of the script. */
static void
fz_step(void)
{
	unsigned op = fz_byte(), a = fz_byte();
	struct fz_client *c;
	struct fz_up *u = fz.nup ? &fz.u[a % (unsigned)fz.nup] : NULL;
	switch (op % 10) {
	case 0: { /* raw client bytes */
		unsigned n = fz_byte();
		c = fz_client(a);
		char buf[256];
		size_t k = 0;
		while (k < n && fz.left > 0)
			buf[k++] = (char)fz_byte();
		fz_send(c, buf, k);
		break;
	}
	case 1:
	case 2: { /* one of the review's requests */
		const char *r = fz_reqs[fz_byte() % ING_ARRAY_LEN(fz_reqs)];
		c = fz_client(a);
		fz_send(c, r, strlen(r));
		break;
	}
	case 3: /* the client is done */
		c = fz_client(a);
		if (c != NULL && !c->eof && !mock_is_closed(c->fd)) {
			mock_eof(c->fd);
			c->eof = 1;
		}
		break;
	case 4:
	case 5: /* the pod answers */
		if (u != NULL)
			fz_answer(u, fz_byte());
		break;
	case 6: /* the pod closes, or resets */
		if (u != NULL && u->fd >= 0 && !u->eof) {
			if (a & 1)
				mock_eof(u->fd);
			else
				mock_set_err(u->fd);
			u->eof = 1;
		}
		break;
	case 7: /* time passes */
		mock_now += (uint64_t)fz_byte() * 50;
		break;
	case 8: /* a client reads slowly, or again */
		c = fz_client(a);
		if (c != NULL)
			mock_set_out_cap(c->fd, (a & 0x80) ? 0 : 64 + (a & 0x7f) * 16);
		break;
	default:
		break;
	}
	fz_turns(1 + (int)(fz_byte() % 3));
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	g.log_fd = getenv("FUZZ_PROXY_LOG") ? 2 : -1;
	if (getenv("FUZZ_PROXY_LOG"))
		g.loglevel = ING_LOG_DEBUG;
	fz_setup();
	fz.p = data;
	fz.left = size;
	for (int steps = 0; fz.left > 0 && steps < 200; steps++)
		fz_step();
	/* the end: every client done, the pods answer what is open, time
	 * passes: every slot and buffer comes back */
	for (int i = 0; i < FZ_CLIENTS; i++)
		if (fz.c[i].fd >= 0 && !fz.c[i].eof) {
			mock_set_out_cap(fz.c[i].fd, 0);
			mock_eof(fz.c[i].fd);
			fz.c[i].eof = 1;
		}
	for (int round = 0; round < 400 && g_cn.used[CN_CLIENT] > 0; round++) { /* pipelined requests take a round each */
		for (int i = 0; i < fz.nup; i++)
			fz_answer(&fz.u[i], 0);
		fz_turns(2);
		mock_now += 4000;
		fz_turns(2);
	}
	for (int i = 0; i < g_cn.nactive; i++) {
		struct cn *c = &g_cn.tab[g_cn.active[i]], *u = cn_peer(c);
		if (c->kind == CN_CLIENT)
			FZ_FAIL("a client connection outlived its client (state %s, flags %x, xflags %x, deadline %lld, fwd %u, "
			        "rx %d/%d/%d; upstream %s, flags %x, xflags %x, deadline %lld, fwd %u, rx %d/%d/%d, out %zu, in %zu)",
			        cn_state_names[c->state], c->flags, c->xflags, c->deadline ? (long long)(c->deadline - g.now) : 0, c->fwd,
			        c->rx.mode, c->rx.cs, c->rx.done, u ? cn_state_names[u->state] : "-", u ? u->flags : 0,
			        u ? u->xflags : 0, u && u->deadline ? (long long)(u->deadline - g.now) : 0, u ? u->fwd : 0,
			        u ? u->rx.mode : 0, u ? u->rx.cs : 0, u ? u->rx.done : 0, u ? bf_len(u->out) : 0, u ? bf_len(u->in) : 0);
	}
	mock_now += UP_IDLE_MS + 1000;
	fz_turns(2);
	if (g_cn.used[CN_UPSTREAM] != 0 || g_bf.used != 0 || g_au.njobs != 0)
		FZ_FAIL("left behind: %d upstreams, %d buffers, %d auth checks", g_cn.used[CN_UPSTREAM], g_bf.used, g_au.njobs);
	return 0;
}
