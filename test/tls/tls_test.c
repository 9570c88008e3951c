/*
 * test/tls/tls_test.c - drives one TLS port (port/tls_*.c + port/posix.c)
 * against real peers for test/tls/run.sh. One check per invocation:
 *
 *   tls_test freeport 4|6                 print a free loopback port
 *   tls_test waitport ADDR PORT           wait until something listens
 *   tls_test client CA HOST ADDR PORT EXPECT [hs]
 *                                         CA "-": insecureSkipVerify (no CA);
 *                                         hs: tls_handshake first, polled
 *                                         on tls_want(t, 0)
 *   tls_test resume CA HOST ADDR PORT [PORT2]
 *                                         session resumption by key: the
 *                                         same context and key resume, any
 *                                         other context or key does not,
 *                                         least recently used dropped;
 *                                         PORT2, another server with the
 *                                         same name: a session it does not
 *                                         know falls back to a full one
 *   tls_test server PORT CRT KEY [CRT KEY]...   serve until SIGTERM; with
 *                                         CLIENT_CA=FILE in the environment
 *                                         it asks for client certificates
 *                                         (CLIENT_REQUIRED=0: optional)
 *   tls_test clientca CA EXPECT           tls_server_client_ca on a file
 *   tls_test nomem CHAIN KEY CA           every heap allocation of loading
 *                                         them failing in turn (ING_MAX_HEAP_BYTES)
 *   tls_test load CHAIN KEY EXPECT
 *   tls_test loop CA CRT KEY HOST EXPECT  client and server in-process
 *   tls_test pool CRT KEY                 the ING_TLS_SESSIONS limit
 *   tls_test hash                         tls_hash_* known answers
 *
 * EXPECT is "ok", "fail:TEXT" (TEXT must appear in the error) or
 * "cert:TEXT" (the same, and tls_info says ING_TLS_CERT; after "fail:" a
 * session must not say it); for load, "ok:R:name,name" checks the key type
 * and names. Prints one line, "ok ..." or "FAIL ...", and exits 0 or 1.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include "../../ingressd.h"

#define MAXCERTS 4
#define MAXCONNS 16

static int nwarn;

void
ing_log(int level, const char *fmt, ...)
{
	va_list ap;

	if (level >= ING_LOG_WARN)
		nwarn++;
	fprintf(stderr, "log %d: ", level);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* ingressd.c's heap, here from the C library: ASan sees each block. For
 * `nomem`, call number heap_fail_at fails; with NOMEM_WHAT=TEXT in the
 * environment, every request whose `what` is TEXT does. */
static long heap_calls, heap_fail_at = -1, heap_live;

void *
ing_alloc(size_t n, const char *what)
{
	const char *w = getenv("NOMEM_WHAT");
	void *p;

	if (heap_calls++ == heap_fail_at || (w != NULL && strcmp(w, what) == 0) || n > ING_MAX_HEAP_BYTES)
		return NULL;
	if ((p = calloc(1, n ? n : 1)) != NULL)
		heap_live++;
	return p;
}

void
ing_free(void *p)
{
	heap_live -= p != NULL;
	free(p);
}

static int
fail(const char *fmt, ...)
{
	va_list ap;

	printf("FAIL ");
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	return 1;
}

static uint64_t
now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

static char *
slurp(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *p;
	long n;

	if (f == NULL || fseek(f, 0, SEEK_END) != 0 || (n = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	if ((p = malloc((size_t)n + 1)) == NULL || fread(p, 1, (size_t)n, f) != (size_t)n) {
		fprintf(stderr, "cannot read %s\n", path);
		exit(2);
	}
	p[n] = '\0';
	*len = (size_t)n;
	fclose(f);
	return p;
}

/* An error against EXPECT; info is tls_info of the failed session, or -1
 * when none was made (then "cert:" cannot be met). */
static int
expect_fail(const char *expect, const char *what, const char *err, int info)
{
	int cert = strncmp(expect, "cert:", 5) == 0;

	if (strncmp(expect, "fail:", 5) != 0 && !cert)
		return fail("%s: unexpected error: %s", what, err);
	if (strstr(err, expect + 5) == NULL)
		return fail("%s: error \"%s\" lacks \"%s\"", what, err, expect + 5);
	if (cert && (info < 0 || !(info & ING_TLS_CERT)))
		return fail("%s: \"%s\" without ING_TLS_CERT (tls_info %d)", what, err, info);
	if (!cert && info >= 0 && (info & ING_TLS_CERT))
		return fail("%s: \"%s\" has ING_TLS_CERT (tls_info %d)", what, err, info);
	printf("ok %s: refused%s: %s\n", what, info < 0 ? "" : cert ? " (ING_TLS_CERT)" : " (not ING_TLS_CERT)", err);
	return 0;
}

static int
expect_err(const char *expect, const char *what, const char *err)
{
	return expect_fail(expect, what, err, -1);
}

static int
nonblock(int fd)
{
	return fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
}

static int
tcp_connect(const char *addr, int port)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	uint64_t until = now_ms() + 5000;
	int fd;

	memset(&ss, 0, sizeof ss);
	if (strchr(addr, ':') != NULL) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons((uint16_t)port);
		inet_pton(AF_INET6, addr, &s6->sin6_addr);
		sl = sizeof *s6;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons((uint16_t)port);
		inet_pton(AF_INET, addr, &s4->sin_addr);
		sl = sizeof *s4;
	}
	for (;;) {
		fd = socket(ss.ss_family, SOCK_STREAM, 0);
		if (fd >= 0 && connect(fd, (struct sockaddr *)&ss, sl) == 0)
			break;
		if (fd >= 0)
			close(fd);
		if (now_ms() > until)
			return -1;
		nanosleep(&(struct timespec){.tv_nsec = 50000000}, NULL);
	}
	nonblock(fd);
	return fd;
}

/* Waits for the events the session wants; the app interest as given. */
static int
wait_tls(struct tls *t, int fd, int app, uint64_t until)
{
	struct pollfd p = {.fd = fd};
	uint64_t now = now_ms();

	if (now >= until)
		return -1;
	if (app == POLLIN && tls_pending(t) > 0)
		return 0;
	p.events = (short)tls_want(t, app);
	if (p.events == 0)
		p.events = POLLIN; /* nothing wanted: sleep until the peer moves */
	poll(&p, 1, (int)(until - now));
	return 0;
}

/* tls_handshake until done, polling on tls_want(t, 0) alone: 1, ING_ERR,
 * or ING_WAIT on timeout; -5 when it waits for nothing (a caller would
 * poll forever). *waits counts the ING_WAITs. */
static int
handshake(struct tls *t, int fd, uint64_t until, int *waits)
{
	int r;

	while ((r = tls_handshake(t)) == ING_WAIT) {
		struct pollfd p = {.fd = fd, .events = (short)tls_want(t, 0)};
		uint64_t now = now_ms();
		if (p.events == 0)
			return -5;
		if (now >= until)
			return ING_WAIT;
		(*waits)++;
		poll(&p, 1, (int)(until - now));
	}
	return r;
}

/* Sends a GET and reads the answer to the end into buf (NUL-terminated):
 * the last tls_read/tls_write result (0 at a clean end). */
static ssize_t
exchange(struct tls *t, int fd, uint64_t until, char *buf, size_t cap, size_t *got)
{
	static const char req[] = "GET / HTTP/1.0\r\n\r\n";
	size_t off = 0;
	ssize_t r = 0;

	*got = 0;
	while (off < sizeof req - 1) {
		r = tls_write(t, req + off, sizeof req - 1 - off);
		if (r > 0)
			off += (size_t)r;
		else if (r == ING_WAIT && wait_tls(t, fd, POLLOUT, until) == 0)
			continue;
		else
			goto done;
	}
	for (;;) {
		r = tls_read(t, buf + *got, cap - 1 - *got);
		if (r > 0) {
			*got += (size_t)r;
			if (*got == cap - 1)
				break;
		} else if (r == ING_WAIT && wait_tls(t, fd, POLLIN, until) == 0) {
			continue;
		} else {
			break;
		}
	}
done:
	buf[*got] = '\0';
	return r;
}

/* ------------------------------------------------------------------------ */
static int
cmd_freeport(int fam)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd;

	memset(&ss, 0, sizeof ss);
	if (fam == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)&ss;
		s6->sin6_family = AF_INET6;
		s6->sin6_addr = in6addr_loopback;
	} else {
		struct sockaddr_in *s4 = (struct sockaddr_in *)&ss;
		s4->sin_family = AF_INET;
		s4->sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	}
	/* Try 20000 + random first (the range run.sh documents), else any. */
	srand((unsigned)(getpid() ^ now_ms()));
	for (int i = 0; i < 50; i++) {
		uint16_t port = (uint16_t)(20000 + rand() % 30000);
		fd = socket(ss.ss_family, SOCK_STREAM, 0);
		if (fam == 6)
			((struct sockaddr_in6 *)&ss)->sin6_port = htons(port);
		else
			((struct sockaddr_in *)&ss)->sin_port = htons(port);
		if (bind(fd, (struct sockaddr *)&ss, fam == 6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) ==
		    0) {
			close(fd);
			printf("%u\n", port);
			return 0;
		}
		close(fd);
	}
	fd = socket(ss.ss_family, SOCK_STREAM, 0);
	if (fam == 6)
		((struct sockaddr_in6 *)&ss)->sin6_port = 0;
	else
		((struct sockaddr_in *)&ss)->sin_port = 0;
	if (fd < 0 ||
	    bind(fd, (struct sockaddr *)&ss, fam == 6 ? sizeof(struct sockaddr_in6) : sizeof(struct sockaddr_in)) != 0 ||
	    getsockname(fd, (struct sockaddr *)&ss, &sl) != 0) {
		fprintf(stderr, "no free port on the IPv%d loopback\n", fam);
		return 1;
	}
	printf("%u\n", fam == 6 ? ntohs(((struct sockaddr_in6 *)&ss)->sin6_port)
	                        : ntohs(((struct sockaddr_in *)&ss)->sin_port));
	close(fd);
	return 0;
}

static int
cmd_waitport(const char *addr, int port)
{
	int fd = tcp_connect(addr, port);

	if (fd < 0)
		return fail("nothing listens on %s port %d", addr, port);
	close(fd);
	return 0;
}

/* ------------------------------------------------------------------------ */
static int
cmd_client(const char *cafile, const char *host, const char *addr, int port, const char *expect, int hs)
{
	char err[256], what[300], buf[65536], how[64] = "";
	size_t calen = 0, got = 0;
	char *ca = strcmp(cafile, "-") == 0 ? NULL : slurp(cafile, &calen);
	struct tls_ctx *ctx;
	struct tls *t;
	uint64_t until = now_ms() + 10000;
	ssize_t r;
	int fd, info, waits = 0;

	snprintf(what, sizeof what, "client %s%s -> %s:%d", ca == NULL ? "(insecure) " : "", host, addr, port);
	ctx = tls_client_ctx(ca, calen, err, sizeof err);
	free(ca);
	if (ctx == NULL)
		return expect_err(expect, what, err);
	if ((fd = tcp_connect(addr, port)) < 0)
		return fail("%s: connect failed", what);
	if ((t = tls_client(ctx, fd, host, 0, err, sizeof err)) == NULL)
		return fail("%s: tls_client: %s", what, err);
	tls_ctx_free(ctx); /* the session keeps its own reference */
	if (tls_info(t) != 0)
		return fail("%s: tls_info %d before the handshake", what, tls_info(t));
	if (hs) {
		r = handshake(t, fd, until, &waits);
		if (r == -5)
			return fail("%s: tls_handshake waits but tls_want(t, 0) is 0", what);
		if (r == 1 && (tls_handshake(t) != 1 || !(tls_info(t) & ING_TLS_DONE)))
			return fail("%s: after the handshake: tls_handshake %d, tls_info %d", what, tls_handshake(t),
			            tls_info(t));
		snprintf(how, sizeof how, ", tls_handshake after %d waits", waits);
		if (r != 1)
			goto done;
	}
	r = exchange(t, fd, until, buf, sizeof buf, &got);
done:
	info = tls_info(t);
	if (r == ING_ERR || (r == ING_WAIT && got == 0)) {
		int rc = expect_fail(expect, what, r == ING_WAIT ? "timeout" : tls_error(t), info);
		tls_free(t);
		close(fd);
		return rc;
	}
	tls_free(t);
	close(fd);
	if (strcmp(expect, "ok") != 0)
		return fail("%s: connected, expected %s", what, expect);
	if (info != ING_TLS_DONE)
		return fail("%s: tls_info %d, expected ING_TLS_DONE alone", what, info);
	if (strstr(buf, "HTTP/1.0 200") == NULL && strstr(buf, "HTTP/1.1 200") == NULL)
		return fail("%s: no HTTP 200 in %zu bytes of response", what, got);
	if (tls_sessions() != 0)
		return fail("%s: %d sessions left after tls_free", what, tls_sessions());
	printf("ok %s: %zu bytes%s\n", what, got, how);
	return 0;
}

/* ------------------------------------------------------------------------
 * Resumption: sequential connections under (context, key), each driven by
 * tls_handshake, then a request; tls_info says whether it resumed.
 * ------------------------------------------------------------------------ */
struct rconn {
	const char *host, *addr;
	int port;
	char err[300];
};

/* One connection: its tls_info, or -1 with rc->err. */
static int
rconn(struct rconn *rc, struct tls_ctx *ctx, uint64_t key)
{
	static char buf[65536]; /* s_server -www: ~4 KB, more with a long chain */
	char err[256];
	uint64_t until = now_ms() + 10000;
	struct tls *t;
	size_t got = 0;
	ssize_t r;
	int fd, info, ok = 0, waits = 0;

	if ((fd = tcp_connect(rc->addr, rc->port)) < 0) {
		snprintf(rc->err, sizeof rc->err, "connect failed");
		return -1;
	}
	if ((t = tls_client(ctx, fd, rc->host, key, err, sizeof err)) == NULL) {
		snprintf(rc->err, sizeof rc->err, "tls_client: %s", err);
		close(fd);
		return -1;
	}
	r = handshake(t, fd, until, &waits);
	info = tls_info(t);
	if (r == -5)
		snprintf(rc->err, sizeof rc->err, "tls_handshake waits but tls_want(t, 0) is 0");
	else if (r != 1 || !(info & ING_TLS_DONE))
		snprintf(rc->err, sizeof rc->err, "handshake: %s (tls_info %d)", r == ING_WAIT ? "timeout" : tls_error(t),
		         info);
	else if ((r = exchange(t, fd, until, buf, sizeof buf, &got)) != 0)
		snprintf(rc->err, sizeof rc->err, "request: %s", r == ING_WAIT ? "timeout" : tls_error(t));
	else if (strstr(buf, " 200 ") == NULL)
		snprintf(rc->err, sizeof rc->err, "no HTTP 200 in %zu bytes", got);
	else if (tls_info(t) != info)
		snprintf(rc->err, sizeof rc->err, "tls_info changed from %d to %d", info, tls_info(t));
	else
		ok = 1;
	tls_free(t);
	close(fd);
	return ok ? info : -1;
}

static int
cmd_resume(const char *cafile, const char *host, const char *addr, int port, int port2)
{
	struct rconn rc = {host, addr, port, ""};
	char err[256], what[300], lru[80] = "LRU not checked (ING_MAX_TLS_RESUME > 16)";
	size_t calen = 0;
	char *ca = strcmp(cafile, "-") == 0 ? NULL : slurp(cafile, &calen);
	struct tls_ctx *a, *b, *c;
	uintptr_t a_addr;
	int n = 0, same;
	static const struct {
		char ctx;          /* a, b, c (c: made after a is freed) */
		uint64_t key;      /* 0: nothing remembered */
		int resumed;
		const char *why;
	} steps[] = {
		{'a', 0x1111, 0, "first connection under a key"},
		{'a', 0x1111, 1, "same context and key"},
		{'a', 0x1111, 1, "again (the refreshed session)"},
		{'a', 0x2222, 0, "another key"},
		{'b', 0x1111, 0, "another context, same key"},
		{'b', 0x1111, 1, "... which then has its own"},
		{'a', 0x2222, 1, "the other key's own session"},
		{'a', 0, 0, "key 0"},
		{'a', 0, 0, "key 0 again (nothing remembered)"},
		{'a', 0x1111, 1, "the first key still"},
		/* port2 (when given): the same key, another server */
		{'A', 0x1111, 0, "another server: a full handshake"},
		{'A', 0x1111, 1, "... whose session is then the key's"},
		{'a', 0x1111, 0, "back to the first server: a full handshake"},
		{'a', 0x1111, 1, "... and its session again"},
	};

	snprintf(what, sizeof what, "resume %s%s -> %s:%d", ca == NULL ? "(insecure) " : "", host, addr, port);
	if ((a = tls_client_ctx(ca, calen, err, sizeof err)) == NULL ||
	    (b = tls_client_ctx(ca, calen, err, sizeof err)) == NULL)
		return fail("%s: context: %s", what, err);
	for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++) {
		int info;
		if (steps[i].ctx == 'A' && port2 == 0)
			break;
		rc.port = steps[i].ctx == 'A' ? port2 : port;
		info = rconn(&rc, steps[i].ctx == 'b' ? b : a, steps[i].key);
		if (info < 0)
			return fail("%s: step %zu (%s): %s", what, i + 1, steps[i].why, rc.err);
		if (!!(info & ING_TLS_RESUMED) != steps[i].resumed)
			return fail("%s: step %zu (%s): %s, expected %s (tls_info %d)", what, i + 1, steps[i].why,
			            info & ING_TLS_RESUMED ? "resumed" : "full handshake",
			            steps[i].resumed ? "resumed" : "full handshake", info);
		n++;
	}
	/* A context freed and one made after it (maybe at the same address)
	 * must not see the old one's sessions. */
	a_addr = (uintptr_t)a;
	tls_ctx_free(a);
	if ((c = tls_client_ctx(ca, calen, err, sizeof err)) == NULL)
		return fail("%s: context: %s", what, err);
	same = (uintptr_t)c == a_addr;
	for (uint64_t key = 0x1111; key <= 0x2222; key += 0x1111) {
		int info = rconn(&rc, c, key);
		n++;
		if (info < 0)
			return fail("%s: new context, key %llx: %s", what, (unsigned long long)key, rc.err);
		if (info & ING_TLS_RESUMED)
			return fail("%s: a new context%s resumed the freed one's key %llx", what,
			            same ? " at the same address" : "", (unsigned long long)key);
	}
	/* LRU: fill the table from c, touch the first, add one more: the
	 * second is dropped, the first stays. */
	if (ING_MAX_TLS_RESUME <= 16) {
		int info[4];
		for (uint64_t k = 0; k < ING_MAX_TLS_RESUME; k++, n++)
			if (rconn(&rc, c, 100 + k) < 0)
				return fail("%s: LRU fill %llu: %s", what, (unsigned long long)k, rc.err);
		info[0] = rconn(&rc, c, 100);                      /* touch */
		info[1] = rconn(&rc, c, 100 + ING_MAX_TLS_RESUME); /* evicts 101 */
		info[2] = rconn(&rc, c, 100);
		info[3] = rconn(&rc, c, 101);
		n += 4;
		for (int i = 0; i < 4; i++)
			if (info[i] < 0)
				return fail("%s: LRU step %d: %s", what, i + 1, rc.err);
		if (!(info[0] & ING_TLS_RESUMED) || (info[1] & ING_TLS_RESUMED) || !(info[2] & ING_TLS_RESUMED) ||
		    (info[3] & ING_TLS_RESUMED))
			return fail("%s: LRU of %d: resumed %d %d %d %d, expected 1 0 1 0", what, ING_MAX_TLS_RESUME,
			            !!(info[0] & ING_TLS_RESUMED), !!(info[1] & ING_TLS_RESUMED),
			            !!(info[2] & ING_TLS_RESUMED), !!(info[3] & ING_TLS_RESUMED));
		/* b's sessions were the least recently used of all */
		if ((info[0] = rconn(&rc, b, 0x1111)) < 0 || (info[0] & ING_TLS_RESUMED))
			return fail("%s: a session dropped from the full table resumed (%s)", what, rc.err);
		n++;
		snprintf(lru, sizeof lru, "LRU of %d ok", ING_MAX_TLS_RESUME);
	}
	tls_ctx_free(b);
	tls_ctx_free(c);
	free(ca);
	if (tls_sessions() != 0)
		return fail("%s: %d sessions left", what, tls_sessions());
	printf("ok %s: %d connections, resumed exactly where expected; new context %s; %s\n", what, n,
	       same ? "at the freed one's address" : "elsewhere", lru);
	return 0;
}

/* ------------------------------------------------------------------------ */
struct srvcert {
	struct tls_cert *c;
	struct tls_cert_info info;
	char label[64];
};
static struct srvcert certs[MAXCERTS];
static int ncerts;
static volatile sig_atomic_t stop;

static struct tls_cert *
pick(const char *sni, void *arg)
{
	(void)arg;
	if (sni == NULL)
		return certs[0].c;
	if (strcmp(sni, "refuse.test") == 0)
		return NULL;
	for (int i = 0; i < ncerts; i++)
		for (int k = 0; k < certs[i].info.n_names; k++)
			if (strcasecmp(sni, certs[i].info.names[k]) == 0)
				return certs[i].c;
	return certs[0].c;
}

static const char *
label_of(struct tls_cert *c)
{
	for (int i = 0; i < ncerts; i++)
		if (certs[i].c == c)
			return certs[i].label;
	return "?";
}

static int
load_cert(const char *crt, const char *key, struct srvcert *sc)
{
	char err[256];
	size_t cl, kl;
	char *cp = slurp(crt, &cl), *kp = slurp(key, &kl);
	const char *b = strrchr(crt, '/');

	sc->c = tls_cert_load(cp, cl, kp, kl, &sc->info, err, sizeof err);
	free(cp);
	free(kp);
	if (sc->c == NULL)
		return fail("load %s: %s", crt, err);
	snprintf(sc->label, sizeof sc->label, "%s", b != NULL ? b + 1 : crt);
	return 0;
}

struct sconn {
	int fd;
	struct tls *t;
	char in[4096];
	size_t inlen;
	char out[256];
	size_t outlen, sent;
	int writing;
	struct tls_cert *picked;
};

static void
on_term(int sig)
{
	(void)sig;
	stop = 1;
}

static void
sconn_close(struct sconn *c, const char *why)
{
	if (why != NULL)
		fprintf(stderr, "server: conn closed: %s\n", why);
	tls_free(c->t);
	close(c->fd);
	c->fd = -1;
	c->t = NULL;
}

/* Reads a request head, answers with the label of the certificate the
 * handshake picked, then closes. */
static void
sconn_step(struct sconn *c)
{
	ssize_t r;

	while (!c->writing) {
		r = tls_read(c->t, c->in + c->inlen, sizeof c->in - 1 - c->inlen);
		if (r == ING_WAIT)
			return;
		if (r <= 0) {
			sconn_close(c, r == 0 ? "peer closed before a request" : tls_error(c->t));
			return;
		}
		c->inlen += (size_t)r;
		c->in[c->inlen] = '\0';
		if (strstr(c->in, "\r\n\r\n") != NULL || strstr(c->in, "\n\n") != NULL ||
		    c->inlen == sizeof c->in - 1) {
			const char *lab = c->picked != NULL ? label_of(c->picked) : "resumed";
			char body[128], peer[32] = "";
			size_t pl;
			if (getenv("CLIENT_CA") != NULL) { /* the client's certificate, as the port kept it */
				const unsigned char *pc = tls_peer_cert(c->t, &pl);
				snprintf(peer, sizeof peer, " peer=%zu%s", pl, pc != NULL && pc[0] == 0x30 ? "" : "?");
			}
			int bl = snprintf(body, sizeof body, "cert=%s%s\n", lab, peer);
			c->outlen = (size_t)snprintf(c->out, sizeof c->out,
			                             "HTTP/1.0 200 OK\r\nContent-Length: %d\r\nConnection: close\r\n\r\n%s",
			                             bl, body);
			c->writing = 1;
		}
	}
	while (c->sent < c->outlen) {
		r = tls_write(c->t, c->out + c->sent, c->outlen - c->sent);
		if (r == ING_WAIT)
			return;
		if (r < 0) {
			sconn_close(c, tls_error(c->t));
			return;
		}
		c->sent += (size_t)r;
	}
	if (!tls_busy(c->t))
		sconn_close(c, NULL);
}

static struct sconn *cur_conn;

static struct tls_cert *
pick_srv(const char *sni, void *arg)
{
	struct tls_cert *c = pick(sni, arg);

	fprintf(stderr, "server: pick(%s) -> %s\n", sni != NULL ? sni : "NULL", label_of(c));
	if (cur_conn != NULL)
		cur_conn->picked = c;
	return c;
}

static int
cmd_server(int port, int argc, char **argv)
{
	struct sconn conns[MAXCONNS];
	struct pollfd pf[MAXCONNS + 1];
	struct sockaddr_in sa;
	struct tls_ctx *ctx;
	char err[256];
	int lfd, one = 1;

	for (int i = 0; i + 1 < argc && ncerts < MAXCERTS; i += 2)
		if (load_cert(argv[i], argv[i + 1], &certs[ncerts++]) != 0)
			return 1;
	if ((ctx = tls_server_ctx(pick_srv, NULL, err, sizeof err)) == NULL)
		return fail("server ctx: %s", err);
	if (getenv("CLIENT_CA") != NULL) {
		size_t n;
		char *ca = slurp(getenv("CLIENT_CA"), &n);
		const char *req = getenv("CLIENT_REQUIRED");
		int r = tls_server_client_ca(ctx, ca, n, req == NULL || strcmp(req, "0") != 0, err, sizeof err);
		free(ca);
		if (r != 0)
			return fail("server client CA: %s", err);
	}
	signal(SIGTERM, on_term);
	signal(SIGINT, on_term);
	memset(&sa, 0, sizeof sa);
	sa.sin_family = AF_INET;
	sa.sin_port = htons((uint16_t)port);
	sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	lfd = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(lfd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof sa) != 0 || listen(lfd, 16) != 0)
		return fail("server: bind port %d: %s", port, strerror(errno));
	nonblock(lfd);
	for (int i = 0; i < MAXCONNS; i++)
		conns[i].fd = -1;
	while (!stop) {
		int n = 0, zero = 0, map[MAXCONNS];
		pf[n].fd = lfd;
		pf[n++].events = POLLIN;
		for (int i = 0; i < MAXCONNS; i++) {
			struct sconn *c = &conns[i];
			if (c->fd < 0)
				continue;
			int app = c->writing ? POLLOUT : POLLIN;
			if (!c->writing && tls_pending(c->t) > 0)
				zero = 1;
			pf[n].fd = c->fd;
			pf[n].events = (short)tls_want(c->t, app);
			map[n - 1] = i;
			n++;
		}
		if (poll(pf, (nfds_t)n, zero ? 0 : 200) < 0 && errno != EINTR)
			break;
		if (pf[0].revents & POLLIN) {
			int fd = accept(lfd, NULL, NULL);
			if (fd >= 0) {
				int i;
				for (i = 0; i < MAXCONNS && conns[i].fd >= 0; i++)
					;
				nonblock(fd);
				if (i == MAXCONNS) {
					close(fd);
				} else {
					struct sconn *c = &conns[i];
					memset(c, 0, sizeof *c);
					c->fd = fd;
					if ((c->t = tls_server(ctx, fd, err, sizeof err)) == NULL) {
						fprintf(stderr, "server: tls_server: %s\n", err);
						close(fd);
						c->fd = -1;
					}
				}
			}
		}
		for (int k = 1; k < n; k++) {
			struct sconn *c = &conns[map[k - 1]];
			if (c->fd < 0 || (pf[k].revents == 0 && !(zero && tls_pending(c->t) > 0)))
				continue;
			cur_conn = c;
			sconn_step(c);
			cur_conn = NULL;
		}
	}
	for (int i = 0; i < MAXCONNS; i++)
		if (conns[i].fd >= 0)
			sconn_close(&conns[i], NULL);
	tls_ctx_free(ctx);
	for (int i = 0; i < ncerts; i++)
		tls_cert_free(certs[i].c);
	close(lfd);
	return 0;
}

/* ------------------------------------------------------------------------ */
static int
cmd_load(const char *chain, const char *key, const char *expect)
{
	struct tls_cert_info info;
	char err[256], what[512], names[2048] = "";
	size_t cl, kl, w = 0;
	char *cp = slurp(chain, &cl), *kp = slurp(key, &kl);
	struct tls_cert *c;

	snprintf(what, sizeof what, "load %s + %s", strrchr(chain, '/') ? strrchr(chain, '/') + 1 : chain,
	         strrchr(key, '/') ? strrchr(key, '/') + 1 : key);
	c = tls_cert_load(cp, cl, kp, kl, &info, err, sizeof err);
	free(cp);
	free(kp);
	if (c == NULL)
		return expect_err(expect, what, err);
	for (int i = 0; i < info.n_names; i++)
		w += (size_t)snprintf(names + w, sizeof names - w, "%s%s", i ? "," : "", info.names[i]);
	tls_cert_free(c);
	if (strncmp(expect, "ok:", 3) != 0)
		return fail("%s: loaded (%c %s), expected %s", what, info.key_type, names, expect);
	if (expect[3] != info.key_type || strcmp(expect + 5, names) != 0)
		return fail("%s: got %c:%s, expected %s", what, info.key_type, names, expect + 3);
	if (info.not_after <= info.not_before || info.not_before < 1600000000)
		return fail("%s: odd validity %lld..%lld", what, (long long)info.not_before, (long long)info.not_after);
	printf("ok %s: %c %s\n", what, info.key_type, names);
	return 0;
}

/* Each ing_alloc of tls_cert_load, tls_client_ctx and tls_server_client_ca
 * failing in turn: every one fails cleanly, saying ING_MAX_HEAP_BYTES, and
 * leaves nothing allocated (LSan looks at the rest). */
static int
cmd_nomem(const char *chain, const char *key, const char *cafile)
{
	static const char *const name[3] = {"tls_cert_load", "tls_client_ctx", "tls_server_client_ca"};
	size_t cl, kl, al;
	char *cp = slurp(chain, &cl), *kp = slurp(key, &kl), *ca = slurp(cafile, &al), err[256];
	int steps = 0;

	for (int k = 0; k < 3; k++) {
		for (long n = 0;; n++) {
			struct tls_cert *c = NULL;
			struct tls_ctx *x = NULL;
			int ok;
			heap_calls = 0;
			heap_fail_at = n;
			err[0] = '\0';
			if (k == 0)
				ok = (c = tls_cert_load(cp, cl, kp, kl, NULL, err, sizeof err)) != NULL;
			else if (k == 1)
				ok = (x = tls_client_ctx(ca, al, err, sizeof err)) != NULL;
			else
				ok = (x = tls_server_ctx(pick, NULL, err, sizeof err)) != NULL &&
				     tls_server_client_ca(x, ca, al, 1, err, sizeof err) == 0;
			tls_cert_free(c);
			tls_ctx_free(x);
			heap_fail_at = -1;
			if (heap_live != 0)
				return fail("%s: %ld blocks left after allocation %ld failed", name[k], heap_live, n);
			if (heap_calls <= n) { /* no call failed: done */
				if (!ok)
					return fail("%s: failed with every allocation given: %s", name[k], err);
				break;
			}
			if (ok)
				return fail("%s: succeeded without allocation %ld", name[k], n);
			if (strstr(err, "ING_MAX_HEAP_BYTES") == NULL)
				return fail("%s: allocation %ld failed, and the error does not say the limit: %s", name[k], n, err);
			steps++;
		}
	}
	free(cp);
	free(kp);
	free(ca);
	printf("ok nomem: %d allocations failed in turn, each cleanly\n", steps);
	return 0;
}

static int
cmd_clientca(const char *file, const char *expect)
{
	char err[256], what[300];
	size_t n;
	char *ca = slurp(file, &n);
	struct tls_ctx *ctx = tls_server_ctx(pick, NULL, err, sizeof err);
	int r;

	if (ctx == NULL)
		return fail("server ctx: %s", err);
	snprintf(what, sizeof what, "client CA %s", strrchr(file, '/') ? strrchr(file, '/') + 1 : file);
	r = tls_server_client_ca(ctx, ca, n, 1, err, sizeof err);
	free(ca);
	if (r == 0 && tls_server_client_ca(ctx, "x", 1, 1, err, sizeof err) != ING_ERR)
		return fail("%s: a second call was accepted", what);
	tls_ctx_free(ctx);
	if (r != 0)
		return expect_err(expect, what, err);
	if (strcmp(expect, "ok") != 0)
		return fail("%s: loaded, expected %s", what, expect);
	printf("ok %s: loaded\n", what);
	return 0;
}

/* ------------------------------------------------------------------------
 * In-process: a client and a server session over a socketpair. Moves
 * 300 KB each way, checks pending plaintext, busy, and a clean close.
 * ------------------------------------------------------------------------ */
#define BIG (300 * 1024)

static unsigned char
pat(size_t i, unsigned k)
{
	return (unsigned char)((i * 131 + k) >> 3);
}

struct side {
	struct tls *t;
	int fd;
	size_t sent, rcvd, want;
	unsigned k;
	int eof;
};

static char side_err[512];

/* One step of a side: send what is left, read what comes; 0, or 1 on error
 * (side_err says which). */
static int
side_step(struct side *s, const char *who)
{
	unsigned char buf[7000];
	ssize_t r;

	while (s->sent < BIG) {
		size_t n = BIG - s->sent < sizeof buf ? BIG - s->sent : sizeof buf;
		for (size_t i = 0; i < n; i++)
			buf[i] = pat(s->sent + i, s->k);
		r = tls_write(s->t, buf, n);
		if (r == ING_WAIT)
			break;
		if (r <= 0) {
			snprintf(side_err, sizeof side_err, "%s: write: %s", who, tls_error(s->t));
			return 1;
		}
		s->sent += (size_t)r;
	}
	while (!s->eof) {
		r = tls_read(s->t, buf, 1000); /* small: leaves plaintext pending */
		if (r == ING_WAIT)
			break;
		if (r == 0) {
			s->eof = 1;
			break;
		}
		if (r < 0) {
			snprintf(side_err, sizeof side_err, "%s: read: %s", who, tls_error(s->t));
			return 1;
		}
		for (ssize_t i = 0; i < r; i++) {
			if (buf[i] != pat(s->rcvd + (size_t)i, s->k ^ 1)) {
				snprintf(side_err, sizeof side_err, "%s: byte %zu corrupt", who, s->rcvd + (size_t)i);
				return 1;
			}
		}
		s->rcvd += (size_t)r;
	}
	return 0;
}

static struct tls_cert *loop_cert;
static char loop_sni[300];
static int loop_picks;

static struct tls_cert *
pick_one(const char *sni, void *arg)
{
	(void)arg;
	snprintf(loop_sni, sizeof loop_sni, "%s", sni != NULL ? sni : "(none)");
	loop_picks++;
	return loop_cert;
}

static int
cmd_loop(const char *cafile, const char *crt, const char *key, const char *host, const char *expect)
{
	struct srvcert sc;
	struct tls_ctx *cctx, *sctx;
	struct side cl = {0}, sv = {0};
	char err[256], what[300];
	size_t calen;
	char *ca = slurp(cafile, &calen);
	uint64_t until = now_ms() + 20000;
	int sp[2];

	snprintf(what, sizeof what, "loop %s as %s", strrchr(crt, '/') ? strrchr(crt, '/') + 1 : crt, host);
	if (load_cert(crt, key, &sc) != 0)
		return 1;
	loop_cert = sc.c;
	if ((cctx = tls_client_ctx(ca, calen, err, sizeof err)) == NULL)
		return fail("%s: CA: %s", what, err);
	free(ca);
	if ((sctx = tls_server_ctx(pick_one, NULL, err, sizeof err)) == NULL)
		return fail("%s: server ctx: %s", what, err);
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp) != 0)
		return fail("socketpair");
	nonblock(sp[0]);
	nonblock(sp[1]);
	cl.fd = sp[0];
	sv.fd = sp[1];
	cl.k = 0;
	sv.k = 1;
	if ((cl.t = tls_client(cctx, cl.fd, host, 0, err, sizeof err)) == NULL)
		return fail("%s: tls_client: %s", what, err);
	if ((sv.t = tls_server(sctx, sv.fd, err, sizeof err)) == NULL)
		return fail("%s: tls_server: %s", what, err);
	tls_ctx_free(cctx);
	tls_ctx_free(sctx);
	if (tls_sessions() != 2)
		return fail("%s: tls_sessions() = %d, expected 2", what, tls_sessions());
	while (cl.rcvd < BIG || sv.rcvd < BIG) {
		struct pollfd pf[2];
		if (side_step(&cl, "client") || side_step(&sv, "server")) {
			if (strncmp(expect, "fail:", 5) == 0 || strncmp(expect, "cert:", 5) == 0) {
				/* a failing handshake: the client error is the one to check */
				const char *e = tls_error(cl.t);
				int rc = expect_fail(expect, what, e, tls_info(cl.t));
				tls_free(cl.t);
				tls_free(sv.t);
				return rc;
			}
			return fail("%s: %s", what, side_err);
		}
		if (cl.eof || sv.eof)
			return fail("%s: early EOF", what);
		if (now_ms() > until)
			return fail("%s: timeout (client %zu/%zu, server %zu/%zu)", what, cl.rcvd, cl.sent, sv.rcvd,
			            sv.sent);
		pf[0].fd = cl.fd;
		pf[0].events = (short)tls_want(cl.t, POLLIN | (cl.sent < BIG ? POLLOUT : 0));
		pf[1].fd = sv.fd;
		pf[1].events = (short)tls_want(sv.t, POLLIN | (sv.sent < BIG ? POLLOUT : 0));
		if (tls_pending(cl.t) == 0 && tls_pending(sv.t) == 0)
			poll(pf, 2, 1000);
	}
	if (strcmp(expect, "ok") != 0)
		return fail("%s: connected, expected %s", what, expect);
	if (tls_info(cl.t) != ING_TLS_DONE)
		return fail("%s: client tls_info %d, expected ING_TLS_DONE alone", what, tls_info(cl.t));
	/* SNI for DNS names only, never for IP literals; one pick. */
	{
		unsigned char ip[16];
		char h[64];
		size_t hl = strlen(host);
		int is_ip = inet_pton(AF_INET, host, ip) == 1 || inet_pton(AF_INET6, host, ip) == 1;
		if (hl > 2 && hl < sizeof h && host[0] == '[') {
			memcpy(h, host + 1, hl - 2);
			h[hl - 2] = '\0';
			is_ip |= inet_pton(AF_INET6, h, ip) == 1;
		}
		if (loop_picks != 1 || strcmp(loop_sni, is_ip ? "(none)" : host) != 0)
			return fail("%s: the server saw SNI %s (%d picks)", what, loop_sni, loop_picks);
	}
	tls_cert_free(sc.c); /* rotation: the server session keeps the one it picked */
	loop_cert = NULL;
	/* Nothing left queued; a small write goes out at once (eager flush). */
	if (tls_busy(cl.t) || tls_busy(sv.t))
		return fail("%s: busy after all data was read", what);
	if (tls_write(sv.t, "xy", 2) != 2 || tls_busy(sv.t))
		return fail("%s: a 2-byte write was not flushed at once", what);
	for (int i = 0;; i++) {
		unsigned char b;
		ssize_t r = tls_read(cl.t, &b, 1);
		if (r == 1 && b == 'x')
			break;
		if (r != ING_WAIT || i == 50)
			return fail("%s: read of a 2-byte record: %zd %s", what, r, tls_error(cl.t));
		struct pollfd p = {.fd = cl.fd, .events = (short)tls_want(cl.t, POLLIN)};
		poll(&p, 1, 100);
	}
	if (tls_pending(cl.t) != 1)
		return fail("%s: tls_pending() = %zu with 1 byte left in the record", what, tls_pending(cl.t));
	/* Half-close: a bare EOF (no close_notify) after the handshake reads
	 * as 0, and the other direction still works. */
	shutdown(sv.fd, SHUT_WR);
	{
		char b[16];
		size_t got = 0;
		ssize_t r = 0;
		for (int i = 0; i < 50; i++) {
			r = tls_read(cl.t, b + got, sizeof b - got);
			if (r == 0)
				break;
			if (r > 0) {
				got += (size_t)r;
				continue;
			}
			if (r != ING_WAIT)
				return fail("%s: read before EOF: %s", what, tls_error(cl.t));
			struct pollfd p = {.fd = cl.fd, .events = (short)tls_want(cl.t, POLLIN)};
			poll(&p, 1, 100);
		}
		if (r != 0 || got != 1 || b[0] != 'y')
			return fail("%s: after a bare EOF: read %zd, %zu bytes", what, r, got);
		if (tls_read(cl.t, b, sizeof b) != 0)
			return fail("%s: a second read after EOF is not 0", what);
		if (tls_write(cl.t, "bye", 3) != 3)
			return fail("%s: write after the peer's EOF: %s", what, tls_error(cl.t));
		for (int i = 0; (r = tls_read(sv.t, b, sizeof b)) == ING_WAIT && i < 50; i++) {
			struct pollfd p = {.fd = sv.fd, .events = (short)tls_want(sv.t, POLLIN)};
			poll(&p, 1, 100);
		}
		if (r != 3 || memcmp(b, "bye", 3) != 0)
			return fail("%s: the half-closed side did not get data: %zd %s", what, r, tls_error(sv.t));
	}
	/* Close: the client's close_notify (sent by tls_free) reads as 0. */
	tls_free(cl.t);
	for (int i = 0; i < 50; i++) {
		unsigned char b[16];
		ssize_t r = tls_read(sv.t, b, sizeof b);
		if (r == 0)
			break;
		if (r != ING_WAIT)
			return fail("%s: server read after client close: %zd %s", what, r, tls_error(sv.t));
		struct pollfd p = {.fd = sv.fd, .events = (short)tls_want(sv.t, POLLIN)};
		poll(&p, 1, 100);
		if (i == 49)
			return fail("%s: no close seen by the server", what);
	}
	tls_free(sv.t);
	close(sp[0]);
	close(sp[1]);
	if (tls_sessions() != 0)
		return fail("%s: %d sessions left", what, tls_sessions());
	printf("ok %s: SNI %s, %d KB each way, pending/busy/half-close/close ok\n", what, loop_sni, BIG / 1024);
	return 0;
}

/* ------------------------------------------------------------------------ */
static int
cmd_pool(const char *crt, const char *key)
{
	struct tls_ctx *ctx;
	struct tls *t[ING_TLS_SESSIONS + 1];
	char err[256];
	int sp[ING_TLS_SESSIONS + 1][2];

	if (load_cert(crt, key, &certs[0]) != 0)
		return 1;
	ncerts = 1;
	if ((ctx = tls_server_ctx(pick, NULL, err, sizeof err)) == NULL)
		return fail("pool: server ctx: %s", err);
	for (int i = 0; i <= ING_TLS_SESSIONS; i++) {
		if (socketpair(AF_UNIX, SOCK_STREAM, 0, sp[i]) != 0)
			return fail("socketpair");
		t[i] = tls_server(ctx, sp[i][0], err, sizeof err);
		if (i < ING_TLS_SESSIONS && t[i] == NULL)
			return fail("pool: session %d refused: %s", i + 1, err);
	}
	if (t[ING_TLS_SESSIONS] != NULL)
		return fail("pool: session %d accepted past the limit", ING_TLS_SESSIONS + 1);
	if (strstr(err, "ING_TLS_SESSIONS") == NULL || strstr(err, "too many TLS sessions") == NULL)
		return fail("pool: error does not name the limit: %s", err);
	if (tls_sessions() != ING_TLS_SESSIONS)
		return fail("pool: tls_sessions() = %d", tls_sessions());
	tls_free(t[0]);
	if ((t[0] = tls_server(ctx, sp[0][0], err, sizeof err)) == NULL)
		return fail("pool: a freed slot is not reused: %s", err);
	for (int i = 0; i < ING_TLS_SESSIONS; i++)
		tls_free(t[i]);
	tls_ctx_free(ctx);
	tls_cert_free(certs[0].c);
	if (tls_sessions() != 0)
		return fail("pool: %d sessions left", tls_sessions());
	printf("ok pool: session %d refused: %s\n", ING_TLS_SESSIONS + 1, err);
	return 0;
}

/* ------------------------------------------------------------------------
 * tls_hash_*: known answers, one-shot and byte by byte.
 * ------------------------------------------------------------------------ */
static int
cmd_hash(void)
{
	static const struct {
		int alg;
		size_t len;
		const char *in, *hex;
	} kat[] = {
		{ING_HASH_MD5, 16, "", "d41d8cd98f00b204e9800998ecf8427e"},
		{ING_HASH_MD5, 16, "abc", "900150983cd24fb0d6963f7d28e17f72"},
		{ING_HASH_SHA1, 20, "abc", "a9993e364706816aba3e25717850c26c9cd0d89d"},
		{ING_HASH_SHA1, 20, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "84983e441c3bd26ebaae4aa1f95129e5e54670f1"},
		{ING_HASH_SHA256, 32, "abc", "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"},
		{ING_HASH_SHA256, 32, "abcdbcdecdefdefgefghfghighijhijkijkljklmklmnlmnomnopnopq",
		 "248d6a61d20638b8e5c026930c3e6039a33ce45964ff2167f6ecedd419db06c1"},
	};
	struct ing_hash h;
	unsigned char out[32];
	char hex[65];

	for (size_t i = 0; i < sizeof kat / sizeof kat[0]; i++) {
		for (int bytewise = 0; bytewise < 2; bytewise++) {
			if (tls_hash_init(&h, kat[i].alg) != 0)
				return fail("hash: init %d refused", kat[i].alg);
			if (bytewise)
				for (size_t k = 0; kat[i].in[k] != '\0'; k++)
					tls_hash_update(&h, kat[i].in + k, 1);
			else
				tls_hash_update(&h, kat[i].in, strlen(kat[i].in));
			tls_hash_out(&h, out);
			for (size_t k = 0; k < kat[i].len; k++)
				snprintf(hex + 2 * k, 3, "%02x", out[k]);
			if (strcmp(hex, kat[i].hex) != 0)
				return fail("hash %d(\"%s\") = %s, expected %s", kat[i].alg, kat[i].in, hex, kat[i].hex);
		}
	}
	if (tls_hash_init(&h, 99) != ING_ERR)
		return fail("hash: unknown algorithm accepted");
	printf("ok hash: MD5, SHA-1, SHA-256 known answers\n");
	return 0;
}

int
main(int argc, char **argv)
{
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc == 3 && strcmp(argv[1], "freeport") == 0)
		return cmd_freeport(atoi(argv[2]));
	if (argc == 4 && strcmp(argv[1], "waitport") == 0)
		return cmd_waitport(argv[2], atoi(argv[3]));
	if ((argc == 7 || (argc == 8 && strcmp(argv[7], "hs") == 0)) && strcmp(argv[1], "client") == 0)
		return cmd_client(argv[2], argv[3], argv[4], atoi(argv[5]), argv[6], argc == 8);
	if ((argc == 6 || argc == 7) && strcmp(argv[1], "resume") == 0)
		return cmd_resume(argv[2], argv[3], argv[4], atoi(argv[5]), argc == 7 ? atoi(argv[6]) : 0);
	if (argc >= 5 && argc % 2 == 1 && strcmp(argv[1], "server") == 0)
		return cmd_server(atoi(argv[2]), argc - 3, argv + 3);
	if (argc == 5 && strcmp(argv[1], "load") == 0)
		return cmd_load(argv[2], argv[3], argv[4]);
	if (argc == 7 && strcmp(argv[1], "loop") == 0)
		return cmd_loop(argv[2], argv[3], argv[4], argv[5], argv[6]);
	if (argc == 5 && strcmp(argv[1], "nomem") == 0)
		return cmd_nomem(argv[2], argv[3], argv[4]);
	if (argc == 4 && strcmp(argv[1], "clientca") == 0)
		return cmd_clientca(argv[2], argv[3]);
	if (argc == 4 && strcmp(argv[1], "pool") == 0)
		return cmd_pool(argv[2], argv[3]);
	if (argc == 2 && strcmp(argv[1], "hash") == 0)
		return cmd_hash();
	if (argc == 2 && strcmp(argv[1], "name") == 0) {
		printf("%s\n", tls_port_name());
		return 0;
	}
	fprintf(stderr, "usage: see the top of test/tls/tls_test.c\n");
	return 2;
}
