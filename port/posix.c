/*
 * port/posix.c - the platform port: sockets, poll, clocks, random, signals,
 * files, privileges. Linux (glibc or musl). See ingressd.h for the contract.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/mman.h>
#include <sys/random.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>

#include "../ingressd.h"

static socklen_t
px_sockaddr(const struct ing_addr *a, struct sockaddr_storage *ss, int dual)
{
	memset(ss, 0, sizeof *ss);
	if (a->family == 4) {
		struct sockaddr_in *s4 = (struct sockaddr_in *)ss;
		s4->sin_family = AF_INET;
		s4->sin_port = htons(a->port);
		memcpy(&s4->sin_addr, a->ip, 4);
		return sizeof *s4;
	}
	struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;
	s6->sin6_family = AF_INET6;
	s6->sin6_port = htons(a->port);
	if (a->family == 6) {
		memcpy(&s6->sin6_addr, a->ip, 16);
		s6->sin6_scope_id = a->scope;
	} else if (!dual) {
		/* unset and no IPv6: caller falls back to 0.0.0.0 */
	}
	return sizeof *s6;
}

static void
px_from_sockaddr(struct ing_addr *a, const struct sockaddr_storage *ss)
{
	memset(a, 0, sizeof *a);
	if (ss->ss_family == AF_INET) {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)ss;
		a->family = 4;
		memcpy(a->ip, &s4->sin_addr, 4);
		a->port = ntohs(s4->sin_port);
	} else if (ss->ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)ss;
		a->family = 6;
		memcpy(a->ip, &s6->sin6_addr, 16);
		a->port = ntohs(s6->sin6_port);
		a->scope = s6->sin6_scope_id;
	}
}

static int
px_err(char *err, size_t errlen, const char *what)
{
	ing_snprintf(err, errlen, "%s: %s", what, ing_strerror(errno));
	return ING_ERR;
}

int
port_listen(const struct ing_addr *a, int backlog, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1, zero = 0;
	int fam = a->family == 4 ? AF_INET : AF_INET6;

	fd = socket(fam, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && a->family == 0 && errno == EAFNOSUPPORT) {
		/* no IPv6 in this kernel: "any" means 0.0.0.0 */
		struct ing_addr v4 = *a;
		v4.family = 4;
		return port_listen(&v4, backlog, err, errlen);
	}
	if (fd < 0)
		return px_err(err, errlen, "socket");
	setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
	if (fam == AF_INET6)
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, a->family == 0 ? &zero : &one, sizeof one);
	sl = px_sockaddr(a, &ss, 1);
	if (bind(fd, (struct sockaddr *)&ss, sl) != 0 || listen(fd, backlog) != 0) {
		px_err(err, errlen, "bind");
		close(fd);
		return ING_ERR;
	}
	return fd;
}

int
port_accept(int lfd, struct ing_addr *peer)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof ss;
	int fd, one = 1;
	fd = accept4(lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR || errno == ECONNABORTED) ? ING_WAIT
		                                                                                             : ING_ERR;
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	px_from_sockaddr(peer, &ss);
	return fd;
}

int
port_connect(const struct ing_addr *a, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	socklen_t sl;
	int fd, one = 1;
	if (a->family != 4 && a->family != 6) {
		ing_snprintf(err, errlen, "connect: no address");
		return ING_ERR;
	}
	fd = socket(a->family == 4 ? AF_INET : AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return px_err(err, errlen, "socket");
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	sl = px_sockaddr(a, &ss, 0);
	if (connect(fd, (struct sockaddr *)&ss, sl) != 0 && errno != EINPROGRESS) {
		px_err(err, errlen, "connect");
		close(fd);
		return ING_ERR;
	}
	return fd;
}

int
port_connect_done(int fd)
{
	int e = 0;
	socklen_t l = sizeof e;
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &e, &l) != 0)
		return ING_ERR;
	if (e != 0) {
		errno = e;
		return ING_ERR;
	}
	return 0;
}

ssize_t
port_read(int fd, void *buf, size_t n)
{
	ssize_t r;
	do
		r = read(fd, buf, n);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? ING_WAIT : ING_ERR;
	return r;
}

ssize_t
port_peek(int fd, void *buf, size_t n)
{
	ssize_t r;
	do
		r = recv(fd, buf, n, MSG_PEEK);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return (errno == EAGAIN || errno == EWOULDBLOCK) ? ING_WAIT : ING_ERR;
	return r;
}

ssize_t
port_write(int fd, const void *buf, size_t n)
{
	ssize_t r;
	do
		r = send(fd, buf, n, MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0) {
		if (errno == ENOTSOCK) /* the signal pipe, a log file */
			r = write(fd, buf, n);
		if (r < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK) ? ING_WAIT : ING_ERR;
	}
	return r;
}

void
port_shutdown_write(int fd)
{
	shutdown(fd, SHUT_WR);
}

void
port_close(int fd)
{
	close(fd);
}

int
port_poll(struct pollfd *fds, size_t n, int timeout_ms)
{
	int r = poll(fds, (nfds_t)n, timeout_ms);
	return r < 0 ? ING_ERR : r;
}

uint64_t
port_now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

int64_t
port_wall_s(void)
{
	struct timespec ts;
	if (clock_gettime(CLOCK_REALTIME, &ts) != 0)
		return 0;
	return (int64_t)ts.tv_sec;
}

int
port_random(void *buf, size_t n)
{
	unsigned char *p = buf;
	while (n > 0) {
		ssize_t r = getrandom(p, n, 0);
		if (r < 0) {
			if (errno == EINTR)
				continue;
			return ING_ERR;
		}
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int px_sigpipe[2] = {-1, -1};

static void
px_on_signal(int sig)
{
	int e = errno;
	unsigned char b = (unsigned char)sig;
	if (write(px_sigpipe[1], &b, 1) < 0) {
		/* pipe full: the loop has plenty of signals to read already */
	}
	errno = e;
}

int
port_signals(char *err, size_t errlen)
{
	static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1};
	struct sigaction sa;
	if (pipe2(px_sigpipe, O_NONBLOCK | O_CLOEXEC) != 0)
		return px_err(err, errlen, "pipe");
	memset(&sa, 0, sizeof sa);
	sa.sa_handler = px_on_signal;
	sa.sa_flags = SA_RESTART;
	sigemptyset(&sa.sa_mask);
	for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
		if (sigaction(sigs[i], &sa, NULL) != 0)
			return px_err(err, errlen, "sigaction");
	signal(SIGPIPE, SIG_IGN);
	return px_sigpipe[0];
}

ssize_t
port_read_file(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	size_t n = 0;
	if (fd < 0)
		return px_err(err, errlen, path);
	for (;;) {
		ssize_t r;
		if (n + 1 >= cap) {
			char c;
			r = read(fd, &c, 1);
			if (r == 0)
				break;
			close(fd);
			ing_snprintf(err, errlen, "%s: file too large (limit is %zu bytes)", path, cap - 1);
			return ING_ERR;
		}
		r = read(fd, buf + n, cap - 1 - n);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			px_err(err, errlen, path);
			close(fd);
			return ING_ERR;
		}
		if (r == 0)
			break;
		n += (size_t)r;
	}
	close(fd);
	buf[n] = '\0';
	return (ssize_t)n;
}

int
port_write_file(const char *path, const void *buf, size_t n, char *err, size_t errlen)
{
	char tmp[PATH_MAX];
	int fd;
	ing_snprintf(tmp, sizeof tmp, "%s.tmp", path);
	unlink(tmp); /* a stale one (a crash mid-write) would keep its mode */
	if ((fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0600)) < 0)
		return px_err(err, errlen, tmp);
	/* a regular file takes it all (signals restart), or is full */
	int bad = write(fd, buf, n) != (ssize_t)n || fsync(fd) != 0;
	bad |= close(fd) != 0;
	if (bad || rename(tmp, path) != 0) {
		px_err(err, errlen, tmp);
		unlink(tmp);
		return ING_ERR;
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Names: a DNS stub resolver instead of getaddrinfo, whose musl version
 * brought some 11 KB of stdio, wide-character and service-name code into
 * the static binary. musl 1.2.3's resolver is the model: a numeric
 * address; else the names of /etc/hosts; else A and AAAA queries over
 * UDP, sent together to every nameserver of /etc/resolv.conf, for each
 * name of the search list in turn. No TCP, EDNS or DNSSEC: a truncated
 * answer gives the records it holds (README, Routing).
 * ------------------------------------------------------------------------ */
#define PX_NS_MAX 3       /* nameservers, as MAXNS */
#define PX_SEARCH_MAX 6   /* search domains, as glibc's MAXDNSRCH */
#define PX_SEARCH_LEN 256 /* bytes of them (NULs included), as musl */
#define PX_NAME_MAX 253   /* characters of a name without its final dot */
#define PX_QUERY_MAX (12 + PX_NAME_MAX + 2 + 4) /* header, name, type, class */
#define PX_REPLY_MAX 512  /* UDP without EDNS */
#define PX_LINE_MAX 1024  /* a longer line of resolv.conf or hosts is skipped */
#define PX_ADDRS ING_RESOLVE_MAX /* addresses kept per family */
#define PX_BAD (-1)       /* a datagram that is no answer to the query */

struct px_conf {
	struct ing_addr ns[PX_NS_MAX];
	int nns, ndots, timeout_s, attempts, nsearch;
	char search[PX_SEARCH_LEN]; /* nsearch NUL-terminated domains */
};

/* A text file a line at a time through a bounded buffer (no stdio). */
struct px_lines {
	int fd, skip; /* skip: inside a line too long for buf */
	size_t len, off;
	char buf[PX_LINE_MAX];
};

/* A file that is missing or unreadable to us reads as empty, as in musl;
 * another error (EMFILE, EIO) is one. */
static int
px_lines_open(struct px_lines *f, const char *path)
{
	f->len = f->off = 0;
	f->skip = 0;
	f->fd = open(path, O_RDONLY | O_CLOEXEC);
	return f->fd >= 0 || errno == ENOENT || errno == ENOTDIR || errno == EACCES ? 0 : ING_ERR;
}

/* The next line, NUL-terminated without its newline, or NULL at the end. */
static char *
px_line(struct px_lines *f)
{
	for (;;) {
		char *s = f->buf + f->off, *nl = memchr(s, '\n', f->len - f->off);
		ssize_t r;
		if (nl != NULL) {
			*nl = '\0';
			f->off = (size_t)(nl + 1 - f->buf);
			if (!f->skip)
				return s;
			f->skip = 0;
			continue;
		}
		f->len -= f->off;
		if (f->len == sizeof f->buf - 1) { /* no newline in a full buffer */
			f->len = 0;
			f->skip = 1;
		}
		memmove(f->buf, s, f->len);
		f->off = 0;
		do
			r = f->fd < 0 ? 0 : read(f->fd, f->buf + f->len, sizeof f->buf - 1 - f->len);
		while (r < 0 && errno == EINTR);
		if (r <= 0) { /* the end (or an error): a last line without newline */
			if (f->len == 0 || f->skip)
				return NULL;
			f->buf[f->len] = '\0';
			f->off = f->len;
			return f->buf;
		}
		f->len += (size_t)r;
	}
}

/* The next blank-separated word of *s (NUL-terminated in place), or NULL. */
static char *
px_word(char **s)
{
	char *p = *s, *w;
	while (isspace((unsigned char)*p))
		p++;
	if (*p == '\0')
		return NULL;
	for (w = p; *p != '\0' && !isspace((unsigned char)*p); p++)
		;
	if (*p != '\0')
		*p++ = '\0';
	*s = p;
	return w;
}

/* A numeric IPv4 or IPv6 address (no zone), as inet_pton reads it. */
static int
px_ip(struct ing_addr *a, const char *s)
{
	return ing_addr_parse_ip(a, s, strlen(s));
}

/* The digits of an option's value into *v, clamped to [lo, hi]; no
 * digits leave *v as it was. */
static void
px_opt(int *v, const char *s, int lo, int hi)
{
	int n = 0;
	if (*s < '0' || *s > '9')
		return;
	for (; *s >= '0' && *s <= '9' && n <= hi; s++)
		n = n * 10 + (*s - '0');
	*v = n < lo ? lo : n > hi ? hi : n;
}

/* resolv.conf as musl reads it: up to 3 nameservers, the last search or
 * domain line, options ndots (at most 15), timeout (seconds, 1 to 60) and
 * attempts (1 to 10); without a nameserver, 127.0.0.1. 0, or ING_ERR with
 * errno. */
static int
px_conf_read(struct px_conf *c, const char *path)
{
	struct px_lines f;
	char *l, *w, *v;

	memset(c, 0, sizeof *c);
	c->ndots = 1;
	c->timeout_s = 5;
	c->attempts = 2;
	if (px_lines_open(&f, path) != 0)
		return ING_ERR;
	while ((l = px_line(&f)) != NULL) {
		if ((w = px_word(&l)) == NULL)
			continue;
		if (strcmp(w, "nameserver") == 0) {
			if (c->nns < PX_NS_MAX && (v = px_word(&l)) != NULL && px_ip(&c->ns[c->nns], v) == 0)
				c->nns++;
		} else if (strcmp(w, "options") == 0) {
			while ((v = px_word(&l)) != NULL) {
				if (strncmp(v, "ndots:", 6) == 0)
					px_opt(&c->ndots, v + 6, 0, 15);
				else if (strncmp(v, "timeout:", 8) == 0)
					px_opt(&c->timeout_s, v + 8, 1, 60);
				else if (strncmp(v, "attempts:", 9) == 0)
					px_opt(&c->attempts, v + 9, 1, 10);
			}
		} else if (strcmp(w, "search") == 0 || strcmp(w, "domain") == 0) {
			size_t used = 0, n;
			c->nsearch = 0;
			while (c->nsearch < PX_SEARCH_MAX && (v = px_word(&l)) != NULL &&
			       (n = strlen(v) + 1) <= sizeof c->search - used) {
				memcpy(c->search + used, v, n);
				used += n;
				c->nsearch++;
			}
		}
	}
	if (f.fd >= 0)
		close(f.fd);
	if (c->nns == 0) {
		c->ns[0].family = 4;
		c->ns[0].ip[0] = 127;
		c->ns[0].ip[3] = 1;
		c->nns = 1;
	}
	return 0;
}

/* The i-th name to ask for host (l characters, its final dot removed;
 * abs: it had one), into name: its length, 0 for one too long (skipped),
 * -1 past the last. As musl: an absolute name alone; else the search
 * domains, then the name as it is. As glibc: with ndots dots or more, the
 * name first, then the search domains. */
static int
px_candidate(const struct px_conf *c, const char *host, size_t l, int abs, int i, char name[PX_NAME_MAX + 1])
{
	const char *d = c->search;
	int dots = 0, asis, k;
	size_t dl;

	for (size_t j = 0; j < l; j++)
		dots += host[j] == '.';
	asis = abs || dots >= c->ndots ? 0 : c->nsearch;
	if (i < 0 || i > (abs ? 0 : c->nsearch) || l > PX_NAME_MAX)
		return -1;
	memcpy(name, host, l);
	name[l] = '\0';
	if (i == asis)
		return (int)l;
	for (k = i < asis ? i : i - 1; k > 0; k--)
		d += strlen(d) + 1;
	for (dl = strlen(d); dl > 0 && d[dl - 1] == '.'; dl--)
		;
	if (dl == 0 || l + 1 + dl > PX_NAME_MAX)
		return 0;
	name[l] = '.';
	memcpy(name + l + 1, d, dl);
	name[l + 1 + dl] = '\0';
	return (int)(l + 1 + dl);
}

/* name (no final dot) in DNS form at q: its length, or 0 for no valid
 * name (empty, over 253 characters, an empty label or one over 63, a
 * blank or control character). */
static size_t
px_qname(uint8_t *q, const char *name)
{
	size_t len = strlen(name), lab = 0;
	if (len == 0 || len > PX_NAME_MAX)
		return 0;
	for (size_t i = 0; i <= len; i++) {
		unsigned char ch = (unsigned char)name[i];
		if (ch == '.' || ch == '\0') {
			if (i == lab || i - lab > 63)
				return 0;
			q[lab] = (uint8_t)(i - lab);
			lab = i + 1;
		} else if (ch <= ' ' || ch == 0x7f) {
			return 0;
		} else {
			q[i + 1] = ch;
		}
	}
	q[len + 1] = 0;
	return len + 2;
}

/* A query for name's records of type (RD set, class IN) into q: its
 * length, or 0 for no valid name. */
static size_t
px_query(uint8_t q[PX_QUERY_MAX], const char *name, uint16_t id, uint8_t type)
{
	size_t n = px_qname(q + 12, name);
	if (n == 0)
		return 0;
	memset(q, 0, 12);
	q[0] = (uint8_t)(id >> 8);
	q[1] = (uint8_t)id;
	q[2] = 1; /* RD */
	q[5] = 1; /* one question */
	memcpy(q + 12 + n, (const uint8_t[]){0, type, 0, 1}, 4);
	return 12 + n + 4;
}

/* The offset past the name at off in r, or 0 when it overruns r. A
 * compression pointer ends a name; it is never followed, so none loops. */
static size_t
px_skipname(const uint8_t *r, size_t len, size_t off)
{
	while (off < len) {
		if (r[off] == 0)
			return off + 1;
		if (r[off] >= 0xc0)
			return len - off >= 2 ? off + 2 : 0;
		if (r[off] > 63)
			return 0; /* the reserved label types */
		off += 1u + r[off];
	}
	return 0;
}

/* r (rlen bytes) as the answer to q (qlen bytes, from px_query): its
 * RCODE, with the addresses of q's type (class IN) of the answer section
 * in a[0..*n) (at most max), or PX_BAD when it is not a well-formed answer
 * to q: another ID, not a response, another question (the name compares
 * case-insensitively), a record running past the end. As musl, the
 * records of a CNAME chain are taken without checking the chain; a
 * truncated answer (TC) gives the whole records it holds. */
static int
px_reply(const uint8_t *r, size_t rlen, const uint8_t *q, size_t qlen, struct ing_addr *a, int max, int *n)
{
	size_t off = qlen, rd, alen = q[qlen - 3] == 1 ? 4 : 16;
	int got = 0;

	*n = 0; /* until the whole answer is read: a bad one gives nothing */
	if (rlen < qlen || r[0] != q[0] || r[1] != q[1] || (r[2] & 0xf8) != 0x80 || r[4] != 0 || r[5] != 1)
		return PX_BAD; /* QR set, a QUERY, one question */
	for (size_t i = 12; i < qlen; i++) /* only letters differ in case */
		if (r[i] != q[i] && ((r[i] ^ q[i]) != 0x20 || (q[i] | 0x20) < 'a' || (q[i] | 0x20) > 'z'))
			return PX_BAD;
	if ((r[3] & 15) != 0)
		return r[3] & 15;
	for (int an = r[6] << 8 | r[7]; an > 0; an--) {
		off = px_skipname(r, rlen, off);
		if (off == 0 || rlen - off < 10 || rlen - off - 10 < (rd = (size_t)(r[off + 8] << 8 | r[off + 9]))) {
			if (!(r[2] & 2))
				return PX_BAD;
			break; /* truncated: the records before */
		}
		if (r[off] == 0 && r[off + 1] == q[qlen - 3] && r[off + 2] == 0 && r[off + 3] == 1) {
			if (rd != alen)
				return PX_BAD;
			if (got < max) {
				memset(&a[got], 0, sizeof a[0]);
				a[got].family = alen == 4 ? 4 : 6;
				memcpy(a[got].ip, r + off + 10, alen);
				got++;
			}
		}
		off += 10 + rd;
	}
	*n = got;
	return 0;
}

/* What came back for one query. */
struct px_ans {
	int rcode; /* the last RCODE heard, -1 for none */
	int done;  /* a NOERROR or NXDOMAIN answer is in (musl takes only those) */
	int n;
	struct ing_addr a[PX_ADDRS];
};

static int
px_same(const struct ing_addr *a, const struct ing_addr *b)
{
	return a->family == b->family && a->port == b->port && memcmp(a->ip, b->ip, sizeof a->ip) == 0;
}

static void
px_send(int fd, const uint8_t *q, size_t n, const struct ing_addr *to)
{
	struct sockaddr_storage ss;
	socklen_t sl = px_sockaddr(to, &ss, 0);
	sendto(fd, q, n, MSG_NOSIGNAL, (struct sockaddr *)&ss, sl);
}

/* The queries q[0..1] (ql bytes) to every nameserver at once, sent again
 * each timeout/attempts, until both have an answer or the timeout passed
 * (musl's __res_msend): a reply counts from a server asked, from port 53,
 * and for the query's ID and question; a SERVFAIL asks that server again
 * at once (twice per query and round), other refusals are kept only for
 * the message. 0, or ING_ERR with why filled. */
static int
px_ask(const struct px_conf *c, uint8_t q[2][PX_QUERY_MAX], const size_t ql[2], struct px_ans ans[2], char *why,
       size_t whylen)
{
	struct ing_addr to[PX_NS_MAX], src;
	int fam = 4, nns = 0, fd, zero = 0, servfails = 0;
	uint64_t now = port_now_ms(), resend = now, end = now + (uint64_t)c->timeout_s * 1000;
	uint64_t every = (uint64_t)c->timeout_s * 1000 / (uint64_t)c->attempts;

	for (int j = 0; j < c->nns; j++)
		if (c->ns[j].family == 6)
			fam = 6;
	fd = socket(fam == 6 ? AF_INET6 : AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 && fam == 6 && errno == EAFNOSUPPORT) { /* no IPv6 in this kernel */
		fam = 4;
		fd = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	}
	if (fd < 0)
		return px_err(why, whylen, "socket");
	if (fam == 6) /* one socket for both: IPv4 servers as ::ffff:a.b.c.d */
		setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &zero, sizeof zero);
	for (int j = 0; j < c->nns; j++) {
		struct ing_addr t = c->ns[j];
		if (t.family != fam && fam == 4)
			continue;
		if (t.family != fam) {
			memcpy(t.ip + 12, t.ip, 4);
			memset(t.ip, 0, 10);
			t.ip[10] = t.ip[11] = 0xff;
			t.family = 6;
		}
		t.port = 53;
		to[nns++] = t;
	}
	if (nns == 0) {
		close(fd);
		ing_snprintf(why, whylen, "only IPv6 nameservers, and no IPv6 here");
		return ING_ERR;
	}
	while (now < end && !(ans[0].done && ans[1].done)) {
		struct pollfd p = {.fd = fd, .events = POLLIN};
		if (now >= resend) {
			for (int i = 0; i < 2; i++)
				for (int j = 0; j < nns && !ans[i].done; j++)
					px_send(fd, q[i], ql[i], &to[j]);
			resend = now + every;
			servfails = 4;
		}
		if (poll(&p, 1, (int)((resend < end ? resend : end) - now)) > 0) {
			for (;;) {
				struct sockaddr_storage from;
				socklen_t fl = sizeof from;
				uint8_t r[PX_REPLY_MAX];
				ssize_t rl = recvfrom(fd, r, sizeof r, MSG_TRUNC, (struct sockaddr *)&from, &fl);
				int j = 0;
				if (rl < 0 && errno == EINTR)
					continue;
				if (rl < 0)
					break;
				if ((size_t)rl > sizeof r) { /* cut at 512 bytes: as truncated */
					rl = sizeof r;
					r[2] |= 2;
				}
				px_from_sockaddr(&src, &from);
				while (j < nns && !px_same(&src, &to[j]))
					j++;
				for (int i = 0; i < 2 && j < nns; i++) {
					int rc;
					if (ans[i].done || (rc = px_reply(r, (size_t)rl, q[i], ql[i], ans[i].a, PX_ADDRS,
					                                  &ans[i].n)) == PX_BAD)
						continue;
					ans[i].rcode = rc;
					if (rc == 0 || rc == 3)
						ans[i].done = 1;
					else if (rc == 2 && servfails > 0) {
						servfails--;
						px_send(fd, q[i], ql[i], &to[j]);
					}
				}
			}
		}
		now = port_now_ms();
	}
	close(fd);
	return 0;
}

/* Can this host reach a (a UDP connect finds a route)? */
static int
px_routable(const struct ing_addr *a)
{
	struct sockaddr_storage ss;
	struct ing_addr d = *a;
	int fd = socket(a->family == 4 ? AF_INET : AF_INET6, SOCK_DGRAM | SOCK_CLOEXEC, 0), ok;
	if (fd < 0)
		return 0;
	d.port = 53;
	ok = connect(fd, (struct sockaddr *)&ss, px_sockaddr(&d, &ss, 0)) == 0;
	close(fd);
	return ok;
}

/* Orders a[0..n) when both families are in it: addresses this host has a
 * route to first (RFC 6724's first rule, as musl), then IPv4 before IPv6,
 * else as they came. Returns n. */
static int
px_order(struct ing_addr *a, int n)
{
	int key[2 * PX_ADDRS], v6 = 0;
	for (int i = 0; i < n; i++)
		v6 += a[i].family == 6;
	if (v6 == 0 || v6 == n)
		return n;
	for (int i = 0; i < n; i++)
		key[i] = (a[i].family == 6) + 2 * !px_routable(&a[i]);
	for (int i = 1; i < n; i++) /* insertion sort: stable, n <= 16 */
		for (int j = i; j > 0 && key[j - 1] > key[j]; j--) {
			struct ing_addr t = a[j];
			int k = key[j];
			a[j] = a[j - 1];
			key[j] = key[j - 1];
			a[j - 1] = t;
			key[j - 1] = k;
		}
	return n;
}

/* The addresses of name (l characters) in the hosts file path, from every
 * line naming it, up to max: count, or ING_ERR with errno. Names compare
 * case-insensitively, a final dot ignored. */
static int
px_hosts(const char *path, const char *name, size_t l, struct ing_addr *a, int max)
{
	struct px_lines f;
	char *s, *ip, *w, *hash;
	int n = 0;

	if (px_lines_open(&f, path) != 0)
		return ING_ERR;
	while (n < max && (s = px_line(&f)) != NULL) {
		if ((hash = strchr(s, '#')) != NULL)
			*hash = '\0';
		if ((ip = px_word(&s)) == NULL)
			continue;
		while ((w = px_word(&s)) != NULL) {
			size_t wl = strlen(w);
			wl -= wl > 0 && w[wl - 1] == '.';
			if (wl == l && strncasecmp(w, name, l) == 0)
				break;
		}
		if (w != NULL && px_ip(&a[n], ip) == 0)
			n++;
	}
	if (f.fd >= 0)
		close(f.fd);
	return n;
}

/* host's addresses into a (2 * PX_ADDRS room), ordered (px_order): the
 * count, or ING_ERR with why filled. The files are parameters for the
 * tests (test/resolve.c). */
static int
px_resolve(const char *host, const char *hosts_path, const char *conf_path, struct ing_addr *a, char *why,
           size_t whylen)
{
	struct px_conf c;
	struct px_ans ans[2];
	uint8_t q[2][PX_QUERY_MAX];
	size_t ql[2], l = strnlen(host, PX_NAME_MAX + 2);
	char name[PX_NAME_MAX + 1], cand[PX_NAME_MAX + 1];
	const char *fail = "no such host";
	uint16_t id[2];
	int n, k, abs = l > 0 && host[l - 1] == '.';

	if (px_ip(&a[0], host) == 0)
		return 1;
	l -= (size_t)abs;
	if (l > PX_NAME_MAX || (memcpy(name, host, l), name[l] = '\0', px_qname(q[0], name)) == 0) {
		ing_snprintf(why, whylen, "not a valid host name");
		return ING_ERR;
	}
	if ((n = px_hosts(hosts_path, name, l, a, 2 * PX_ADDRS)) != 0)
		return n > 0 ? px_order(a, n) : px_err(why, whylen, hosts_path);
	if (px_conf_read(&c, conf_path) != 0)
		return px_err(why, whylen, conf_path);
	for (int i = 0; (k = px_candidate(&c, name, l, abs, i, cand)) >= 0; i++) {
		if (k == 0)
			continue;
		if (port_random(id, sizeof id) != 0)
			return px_err(why, whylen, "getrandom");
		id[1] ^= id[0] == id[1]; /* A's and AAAA's answers never mix up */
		if ((ql[0] = px_query(q[0], cand, id[0], 1)) == 0)
			continue; /* a search domain that makes no valid name */
		ql[1] = px_query(q[1], cand, id[1], 28);
		memset(ans, 0, sizeof ans);
		ans[0].rcode = ans[1].rcode = -1;
		if (px_ask(&c, q, ql, ans, why, whylen) != 0)
			return ING_ERR;
		if (ans[0].rcode == 3 || ans[1].rcode == 3)
			continue; /* NXDOMAIN: the next name */
		if ((n = ans[0].n + ans[1].n) > 0) {
			memcpy(a, ans[0].a, (size_t)ans[0].n * sizeof a[0]);
			memcpy(a + ans[0].n, ans[1].a, (size_t)ans[1].n * sizeof a[0]);
			return px_order(a, n);
		}
		if (!ans[0].done || !ans[1].done) { /* a timeout or failure ends the search, as musl */
			int rc = ans[!ans[0].done ? 0 : 1].rcode;
			if (rc < 0)
				ing_snprintf(why, whylen, "DNS server timeout (asking for %s)", cand);
			else if (rc == 2 || rc == 5)
				ing_snprintf(why, whylen, "DNS server failure (%s for %s)", rc == 2 ? "SERVFAIL" : "REFUSED", cand);
			else
				ing_snprintf(why, whylen, "DNS server failure (RCODE %d for %s)", rc, cand);
			return ING_ERR;
		}
		fail = "no address"; /* no data: the next name, as glibc */
	}
	ing_snprintf(why, whylen, "%s", fail);
	return ING_ERR;
}

int
port_resolve(const char *host, struct ing_addr *out, int max, char *err, size_t errlen)
{
	struct ing_addr a[2 * PX_ADDRS];
	char why[160];
	int n = px_resolve(host, "/etc/hosts", "/etc/resolv.conf", a, why, sizeof why);
	if (n < 0) {
		ing_snprintf(err, errlen, "resolve %s: %s", host, why);
		return ING_ERR;
	}
	n = n < max ? n : max;
	memcpy(out, a, (size_t)(n > 0 ? n : 0) * sizeof *out);
	return n;
}

/* The answer a resolver child writes in one write(2): under PIPE_BUF, so
 * the parent reads all of it or nothing. */
struct px_answer {
	int n;
	struct ing_addr a[ING_RESOLVE_MAX];
	char err[160];
};
_Static_assert(sizeof(struct px_answer) <= PIPE_BUF, "one atomic pipe write");

#define PX_RESOLVE_CHILD_S 60 /* a resolver child never outlives this */
#ifdef SYS_close_range
#define PX_SYS_close_range SYS_close_range
#else
#define PX_SYS_close_range 436 /* the same on every architecture; musl's headers may lack it */
#endif

/* Forks a child that resolves host and writes a px_answer to a pipe. The
 * child keeps no other descriptor open: a client connection the loop
 * closes meanwhile must really close. Children are reaped by the kernel
 * (SA_NOCLDWAIT). _Fork, not fork: ingressd has one thread and no atfork
 * handlers, so fork's locking of the C library for other threads has
 * nothing to do (musl's brings its rwlocks and timed waits, 2 KB). */
int
port_resolve_start(const char *host, char *err, size_t errlen)
{
	static int reaping;
	int p[2];
	pid_t pid;

	if (!reaping) {
		struct sigaction sa;
		memset(&sa, 0, sizeof sa);
		sa.sa_handler = SIG_IGN;
		sa.sa_flags = SA_NOCLDWAIT;
		sigaction(SIGCHLD, &sa, NULL);
		reaping = 1;
	}
	if (pipe2(p, O_CLOEXEC | O_NONBLOCK) < 0) {
		ing_snprintf(err, errlen, "resolve %s: pipe: %s", host, ing_strerror(errno));
		return ING_ERR;
	}
	if ((pid = _Fork()) < 0) {
		ing_snprintf(err, errlen, "resolve %s: fork: %s", host, ing_strerror(errno));
		close(p[0]);
		close(p[1]);
		return ING_ERR;
	}
	if (pid == 0) {
		static const int sigs[] = {SIGTERM, SIGINT, SIGHUP, SIGUSR1, SIGPIPE};
		struct px_answer ans;
		int fd = p[1], lim;
		for (size_t i = 0; i < sizeof sigs / sizeof sigs[0]; i++)
			signal(sigs[i], SIG_DFL); /* not the parent's signal pipe */
		alarm(PX_RESOLVE_CHILD_S);
		if (fd != 3 && (fd = dup2(p[1], 3)) < 0)
			_exit(1);
		fcntl(fd, F_SETFL, 0); /* blocking: the parent may be slow to read */
		struct rlimit rl; /* sysconf(_SC_OPEN_MAX) without musl's 1 KB sysconf */
		lim = getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur <= INT_MAX ? (int)rl.rlim_cur : -1;
		if (syscall(PX_SYS_close_range, 4U, ~0U, 0U) == 0)
			lim = 0; /* else a kernel before 5.9: one by one */
		for (int i = 4; i < lim; i++)
			close(i);
		memset(&ans, 0, sizeof ans);
		ans.n = port_resolve(host, ans.a, ING_RESOLVE_MAX, ans.err, sizeof ans.err);
		(void)!write(fd, &ans, sizeof ans);
		_exit(0);
	}
	close(p[1]);
	return p[0];
}

int
port_resolve_read(int fd, struct ing_addr *out, int max, char *err, size_t errlen)
{
	struct px_answer ans;
	ssize_t r;

	do
		r = read(fd, &ans, sizeof ans);
	while (r < 0 && errno == EINTR);
	if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
		return ING_WAIT;
	close(fd);
	if (r != (ssize_t)sizeof ans || ans.n > ING_RESOLVE_MAX) {
		ing_snprintf(err, errlen, "the resolver process ended without an answer");
		return ING_ERR;
	}
	if (ans.n < 0) {
		ans.err[sizeof ans.err - 1] = '\0';
		ing_snprintf(err, errlen, "%s", ans.err);
		return ING_ERR;
	}
	int n = ans.n < max ? ans.n : max;
	memcpy(out, ans.a, (size_t)n * sizeof *out);
	return n;
}

void
port_resolve_cancel(int fd)
{
	close(fd); /* the child's write then fails (EPIPE) and it exits */
}

/* The id calls as system calls: the process has one thread, so the C
 * library's way of changing every thread's ids (musl's __synccall, 4 KB
 * of the static binary) has nothing to do. 32-bit ARM and x86 name the
 * 32-bit-id calls *32 (the plain ones take 16-bit ids). */
#ifdef SYS_setuid32
#define PX_SYS(call) SYS_##call##32
#else
#define PX_SYS(call) SYS_##call
#endif

/* A decimal number of s[0..n), or -1. */
static long
px_num(const char *s, size_t n)
{
	long v = 0;
	if (n == 0 || n > 9)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	return v;
}

/* user's uid and gid from /etc/passwd ("name:pw:uid:gid:..."), read by
 * hand: getpwnam would bring stdio and nscd along. 0, or ING_ERR. */
static int
px_passwd(const char *user, long *uid, long *gid)
{
	static char buf[65536];
	char err[8];
	size_t ul = strlen(user);
	ssize_t n = port_read_file("/etc/passwd", buf, sizeof buf, err, sizeof err);
	for (char *l = buf, *end = buf + (n > 0 ? n : 0); l < end;) {
		char *nl = memchr(l, '\n', (size_t)(end - l)), *f[5];
		char *e = nl ? nl : end;
		int k = 0;
		f[k++] = l;
		for (char *c = l; c < e && k < 5; c++)
			if (*c == ':')
				f[k++] = c + 1;
		if (k == 5 && (size_t)(f[1] - f[0] - 1) == ul && memcmp(f[0], user, ul) == 0) {
			*uid = px_num(f[2], (size_t)(f[3] - f[2] - 1));
			*gid = px_num(f[3], (size_t)(f[4] - f[3] - 1));
			return *uid >= 0 && *gid >= 0 ? 0 : ING_ERR;
		}
		l = e + 1;
	}
	return ING_ERR;
}

int
port_drop_privileges(const char *user, char *err, size_t errlen)
{
	long uid, gid;
	if (geteuid() != 0)
		return 0; /* nothing to drop */
	if (px_passwd(user, &uid, &gid) != 0) {
		/* a busybox image may have no passwd entry: accept a numeric uid */
		uid = gid = px_num(user, strlen(user));
		if (uid <= 0) {
			ing_snprintf(err, errlen, "user \"%s\": no such user", user);
			return ING_ERR;
		}
	}
	if (syscall(PX_SYS(setgroups), 0, NULL) != 0 || syscall(PX_SYS(setgid), gid) != 0 || syscall(PX_SYS(setuid), uid) != 0)
		return px_err(err, errlen, "drop privileges");
	if (syscall(PX_SYS(setuid), 0) == 0) {
		ing_snprintf(err, errlen, "drop privileges: still able to become root");
		return ING_ERR;
	}
	return 0;
}

/* mmap and munmap by the system call itself: musl's wrappers bring their
 * thread lock (0.4 KB) to a program that has no threads. */
void *
port_map(size_t n)
{
#ifdef SYS_mmap2 /* 32-bit: the offset (0) in pages */
	long p = syscall(SYS_mmap2, 0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
#else
	long p = syscall(SYS_mmap, 0, n, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
#endif
	return p == -1 ? NULL : (void *)p;
}

void
port_unmap(void *p, size_t n)
{
	syscall(SYS_munmap, p, n);
}

long
port_rss_bytes(void)
{
	char buf[256];
	long pages = -1, rss = -1;
	int fd = open("/proc/self/statm", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	ssize_t n = read(fd, buf, sizeof buf - 1);
	close(fd);
	if (n <= 0)
		return -1;
	buf[n] = '\0';
	/* "size resident ...", in pages */
	char *sp = memchr(buf, ' ', (size_t)n), *sp2 = sp ? memchr(sp + 1, ' ', (size_t)(buf + n - sp - 1)) : NULL;
	pages = sp ? px_num(buf, (size_t)(sp - buf)) : -1;
	rss = sp2 ? px_num(sp + 1, (size_t)(sp2 - sp - 1)) : -1;
	if (pages < 0 || rss < 0)
		return -1;
	return rss * (long)getauxval(AT_PAGESZ); /* sysconf(_SC_PAGESIZE), without sysconf */
}

/* The entries of /proc/self/fd by getdents64 itself: opendir and readdir
 * would bring musl's DIR (and its calloc) for one count. */
int
port_open_fds(void)
{
	unsigned char buf[4096];
	int fd = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC), n = 0;
	long k;
	if (fd < 0)
		return -1;
	while ((k = syscall(SYS_getdents64, fd, buf, sizeof buf)) > 0)
		for (long off = 0; off + 19 < k;) {
			unsigned short len; /* struct linux_dirent64: d_reclen at 16, d_name at 19 */
			memcpy(&len, buf + off + 16, sizeof len);
			n += buf[off + 19] != '.';
			off += len ? len : k;
		}
	close(fd);
	return k < 0 ? -1 : n - 1; /* the directory's own fd */
}

/* snprintf without the C library's printf (see the file) */
#include "fmt.c"
