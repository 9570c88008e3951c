/*
 * port/mock.c - the test port: scripted sockets, a fake clock, seeded
 * random, and a fault countdown (SQLite's faultsim): after mock_fail_after
 * successful port calls, the next one fails, so tests can walk a fault
 * through every call site. Files are real (tests use temporary files).
 * Mock descriptors start at MOCK_FD0 and never reach the kernel.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../ingressd.h"
#include "mock.h"

struct mock_sock {
	int used;
	int listening;
	int accept_q[8]; /* fds waiting to be accepted */
	int naccept;
	struct ing_addr addr; /* listen address / connect target / peer */
	size_t in_len, in_off;
	int in_eof, in_err;
	size_t out_len;
	size_t out_cap; /* writes beyond this return ING_WAIT (0 = MOCK_BUF) */
	int connect_err; /* errno for port_connect_done */
	int closed;
	int shut_wr;
	/* the buffers last: a new socket clears only what is above */
	char in[MOCK_BUF];  /* bytes the program will read */
	char out[MOCK_BUF]; /* bytes the program wrote */
};

static struct mock_sock mk_socks[MOCK_SOCKS];
uint64_t mock_now = 1000000;
int64_t mock_wall = 1800000000;
long mock_fail_after = -1; /* -1: never */
long mock_faults;
int mock_listen_fail;
int mock_connect_fail;
int mock_keep_closed;
static uint32_t mk_rand = 12345;

static int
mk_fault(void)
{
	if (mock_fail_after < 0)
		return 0;
	if (mock_fail_after == 0) {
		mock_fail_after = -1;
		mock_faults++;
		errno = EIO;
		return 1;
	}
	mock_fail_after--;
	return 0;
}

struct mock_sock *
mock_sock(int fd)
{
	if (fd < MOCK_FD0 || fd >= MOCK_FD0 + MOCK_SOCKS || !mk_socks[fd - MOCK_FD0].used)
		return NULL;
	return &mk_socks[fd - MOCK_FD0];
}

int
mock_sock_new(void)
{
	for (int i = 0; i < MOCK_SOCKS; i++)
		if (!mk_socks[i].used) {
			memset(&mk_socks[i], 0, offsetof(struct mock_sock, in));
			mk_socks[i].used = 1;
			return MOCK_FD0 + i;
		}
	return -1;
}

static struct {
	char name[128], ips[256];
} mock_dns[8];
long mock_resolves;
/* Resolutions started (port_resolve_start), by descriptor MOCK_DNS_FD0 + i. */
#define MOCK_DNS_FD0 (MOCK_FD0 + MOCK_SOCKS)
static struct {
	int used, n;
	struct ing_addr a[ING_RESOLVE_MAX];
	char err[160];
} mk_res[4];
int mock_dns_hold;

void
mock_reset(void)
{
	for (int i = 0; i < MOCK_SOCKS; i++)
		memset(&mk_socks[i], 0, offsetof(struct mock_sock, in));
	mock_fail_after = -1;
	mock_faults = 0;
	mock_listen_fail = mock_connect_fail = mock_keep_closed = 0;
	mk_rand = 12345;
	memset(mock_dns, 0, sizeof mock_dns);
	mock_resolves = 0;
	memset(mk_res, 0, sizeof mk_res);
	mock_dns_hold = 0;
}

void
mock_feed(int fd, const void *p, size_t n)
{
	struct mock_sock *s = mock_sock(fd);
	if (s == NULL || s->in_len + n > sizeof s->in)
		abort();
	memcpy(s->in + s->in_len, p, n);
	s->in_len += n;
}

void
mock_eof(int fd)
{
	struct mock_sock *s = mock_sock(fd);
	if (s != NULL)
		s->in_eof = 1;
}

size_t
mock_output(int fd, char *buf, size_t cap, int consume)
{
	struct mock_sock *s = mock_sock(fd);
	size_t n;
	if (s == NULL || cap == 0)
		return 0;
	n = s->out_len < cap - 1 ? s->out_len : cap - 1;
	memcpy(buf, s->out, n);
	buf[n] = '\0';
	if (consume) {
		memmove(s->out, s->out + n, s->out_len - n);
		s->out_len -= n;
	}
	return n;
}

void
mock_set_err(int fd)
{
	struct mock_sock *s = mock_sock(fd);
	if (s != NULL)
		s->in_err = 1;
}

void
mock_release(int fd)
{
	struct mock_sock *s = mock_sock(fd);
	if (s != NULL && s->closed)
		s->used = 0;
}

int
mock_is_closed(int fd)
{
	struct mock_sock *s = &mk_socks[fd - MOCK_FD0];
	return fd >= MOCK_FD0 && fd < MOCK_FD0 + MOCK_SOCKS && s->closed;
}

int
mock_queue_accept(int lfd, const struct ing_addr *peer)
{
	struct mock_sock *l = mock_sock(lfd);
	int fd;
	if (l == NULL || l->naccept >= 8 || (fd = mock_sock_new()) < 0)
		return -1;
	mock_sock(fd)->addr = *peer;
	l->accept_q[l->naccept++] = fd;
	return fd;
}

void
mock_set_out_cap(int fd, size_t cap)
{
	struct mock_sock *s = mock_sock(fd);
	if (s != NULL)
		s->out_cap = cap;
}

void
mock_set_connect_err(int fd, int e)
{
	struct mock_sock *s = mock_sock(fd);
	if (s != NULL)
		s->connect_err = e;
}

int
mock_find_connect(const struct ing_addr *a, int nth)
{
	for (int i = 0; i < MOCK_SOCKS; i++) {
		struct mock_sock *s = &mk_socks[i];
		if (s->used && !s->listening && s->addr.port == a->port && memcmp(s->addr.ip, a->ip, 16) == 0 &&
		    nth-- == 0)
			return MOCK_FD0 + i;
	}
	return -1;
}

/* ---- the port ---- */

int
port_listen(const struct ing_addr *a, int backlog, char *err, size_t errlen)
{
	int fd;
	(void)backlog;
	if (mock_listen_fail || mk_fault() || (fd = mock_sock_new()) < 0) {
		snprintf(err, errlen, "bind: Address already in use");
		return ING_ERR;
	}
	mock_sock(fd)->listening = 1;
	mock_sock(fd)->addr = *a;
	return fd;
}

int
port_accept(int lfd, struct ing_addr *peer)
{
	struct mock_sock *l = mock_sock(lfd);
	int fd;
	if (l == NULL || l->naccept == 0)
		return ING_WAIT;
	if (mk_fault())
		return ING_ERR;
	fd = l->accept_q[0];
	memmove(l->accept_q, l->accept_q + 1, (size_t)(--l->naccept) * sizeof(int));
	*peer = mock_sock(fd)->addr;
	return fd;
}

int
port_connect(const struct ing_addr *a, char *err, size_t errlen)
{
	int fd;
	if (mock_connect_fail || mk_fault() || (fd = mock_sock_new()) < 0) {
		snprintf(err, errlen, "connect: Connection refused");
		errno = ECONNREFUSED;
		return ING_ERR;
	}
	mock_sock(fd)->addr = *a;
	return fd;
}

int
port_connect_done(int fd)
{
	struct mock_sock *s = mock_sock(fd);
	if (s == NULL)
		return ING_ERR;
	if (s->connect_err) {
		errno = s->connect_err;
		return ING_ERR;
	}
	return 0;
}

ssize_t
port_read(int fd, void *buf, size_t n)
{
	struct mock_sock *s = mock_sock(fd);
	size_t k;
	if (s == NULL) { /* a real fd (signal pipe in tests) */
		ssize_t r = read(fd, buf, n);
		return r < 0 ? (errno == EAGAIN ? ING_WAIT : ING_ERR) : r;
	}
	if (mk_fault())
		return ING_ERR;
	if (s->in_err) {
		errno = ECONNRESET;
		return ING_ERR;
	}
	if (s->in_off == s->in_len)
		return s->in_eof ? 0 : ING_WAIT;
	k = s->in_len - s->in_off < n ? s->in_len - s->in_off : n;
	memcpy(buf, s->in + s->in_off, k);
	s->in_off += k;
	return (ssize_t)k;
}

ssize_t
port_peek(int fd, void *buf, size_t n)
{
	struct mock_sock *s = mock_sock(fd);
	if (s == NULL || s->in_err)
		return ING_ERR;
	if (s->in_off == s->in_len)
		return s->in_eof ? 0 : ING_WAIT;
	size_t k = s->in_len - s->in_off < n ? s->in_len - s->in_off : n;
	memcpy(buf, s->in + s->in_off, k);
	return (ssize_t)k;
}

ssize_t
port_write(int fd, const void *buf, size_t n)
{
	struct mock_sock *s = mock_sock(fd);
	size_t cap, k;
	if (s == NULL) {
		ssize_t r = write(fd, buf, n);
		return r < 0 ? ING_ERR : r;
	}
	if (mk_fault())
		return ING_ERR;
	if (s->in_err || s->shut_wr) {
		errno = EPIPE;
		return ING_ERR;
	}
	cap = s->out_cap ? s->out_cap : sizeof s->out;
	if (s->out_len >= cap)
		return ING_WAIT;
	k = cap - s->out_len < n ? cap - s->out_len : n;
	memcpy(s->out + s->out_len, buf, k);
	s->out_len += k;
	return (ssize_t)k;
}

void
port_shutdown_write(int fd)
{
	struct mock_sock *s = mock_sock(fd);
	if (s != NULL)
		s->shut_wr = 1;
}

void
port_close(int fd)
{
	struct mock_sock *s = mock_sock(fd);
	if (s != NULL) {
		s->closed = 1;
		s->used = mock_keep_closed; /* kept: its output stays readable until mock_release */
	} else if (fd >= 0 && fd < MOCK_FD0) {
		close(fd);
	}
}

int
port_poll(struct pollfd *fds, size_t n, int timeout_ms)
{
	int ready = 0;
	for (size_t i = 0; i < n; i++) {
		struct mock_sock *s = mock_sock(fds[i].fd);
		fds[i].revents = 0;
		if (s == NULL) {
			struct pollfd one = fds[i];
			if (fds[i].fd >= 0 && fds[i].fd < MOCK_FD0 && poll(&one, 1, 0) > 0)
				fds[i].revents = one.revents;
		} else {
			size_t cap = s->out_cap ? s->out_cap : sizeof s->out;
			if ((fds[i].events & POLLIN) && (s->in_off < s->in_len || s->in_eof || s->in_err || s->naccept > 0))
				fds[i].revents |= POLLIN;
			if ((fds[i].events & POLLOUT) && s->out_len < cap)
				fds[i].revents |= POLLOUT;
		}
		if (fds[i].revents)
			ready++;
	}
	/* nothing ready: time passes as the caller asked (the fake clock) */
	if (ready == 0 && timeout_ms > 0)
		mock_now += (uint64_t)timeout_ms;
	return ready;
}

uint64_t
port_now_ms(void)
{
	return mock_now;
}

int64_t
port_wall_s(void)
{
	return mock_wall;
}

int
port_random(void *buf, size_t n)
{
	unsigned char *p = buf;
	if (mk_fault())
		return ING_ERR;
	for (size_t i = 0; i < n; i++) {
		mk_rand = mk_rand * 1103515245u + 12345u;
		p[i] = (unsigned char)(mk_rand >> 16);
	}
	return 0;
}

int
port_signals(char *err, size_t errlen)
{
	int p[2];
	if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0) {
		snprintf(err, errlen, "pipe: %s", strerror(errno));
		return ING_ERR;
	}
	mock_sigpipe_w = p[1];
	return p[0];
}
int mock_sigpipe_w = -1;

ssize_t
port_read_file(const char *path, char *buf, size_t cap, char *err, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	size_t n;
	if (f == NULL) {
		snprintf(err, errlen, "%s: %s", path, strerror(errno));
		return ING_ERR;
	}
	n = fread(buf, 1, cap - 1, f);
	if (n == cap - 1 && fgetc(f) != EOF) {
		fclose(f);
		snprintf(err, errlen, "%s: file too large (limit is %zu bytes)", path, cap - 1);
		return ING_ERR;
	}
	fclose(f);
	buf[n] = '\0';
	return (ssize_t)n;
}

/* As port/posix.c's, with a fault point before each step (the tests walk a
 * "disk full" through them): open, each half of the data, fsync, rename. */
int
port_write_file(const char *path, const void *buf, size_t n, char *err, size_t errlen)
{
	char tmp[4096];
	size_t half = n / 2;
	snprintf(tmp, sizeof tmp, "%s.tmp", path);
	unlink(tmp);
	int fd = mk_fault() ? -1 : open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	int bad = fd < 0 || mk_fault() || write(fd, buf, half) != (ssize_t)half || mk_fault() ||
	          write(fd, (const char *)buf + half, n - half) != (ssize_t)(n - half) || mk_fault() || fsync(fd) != 0;
	if (fd >= 0 && close(fd) != 0)
		bad = 1;
	if (bad || mk_fault() || rename(tmp, path) != 0) {
		snprintf(err, errlen, "%s: %s", tmp, errno == EIO ? "No space left on device (mock)" : strerror(errno));
		unlink(tmp);
		return ING_ERR;
	}
	return 0;
}

void
mock_dns_set(const char *name, const char *ips)
{
	int k = -1;
	for (int i = 0; i < 8 && k < 0; i++)
		if (strcmp(mock_dns[i].name, name) == 0)
			k = i;
	for (int i = 0; i < 8 && k < 0; i++)
		if (mock_dns[i].name[0] == '\0')
			k = i;
	if (k < 0)
		abort();
	snprintf(mock_dns[k].name, sizeof mock_dns[k].name, "%s", ips ? name : "");
	snprintf(mock_dns[k].ips, sizeof mock_dns[k].ips, "%s", ips ? ips : "");
}

int
port_resolve(const char *host, struct ing_addr *out, int max, char *err, size_t errlen)
{
	mock_resolves++;
	if (max > 0 && ing_addr_parse_ip(out, host, strlen(host)) == 0)
		return 1;
	for (int i = 0; i < 8; i++) {
		if (strcmp(mock_dns[i].name, host) != 0 || host[0] == '\0')
			continue;
		int n = 0;
		for (const char *p = mock_dns[i].ips; *p && n < max;) {
			const char *e = strchr(p, ',');
			size_t len = e ? (size_t)(e - p) : strlen(p);
			if (ing_addr_parse_ip(&out[n], p, len) == 0)
				n++;
			p += len + (e != NULL);
		}
		return n;
	}
	snprintf(err, errlen, "resolve %s: not in the mock", host);
	return ING_ERR;
}

/* Resolution off the loop: answered at start (counted in mock_resolves)
 * but held back while mock_dns_hold is set; descriptors MOCK_DNS_FD0 + i
 * never reach the kernel. */

int
port_resolve_start(const char *host, char *err, size_t errlen)
{
	for (int i = 0; i < (int)(sizeof mk_res / sizeof mk_res[0]); i++)
		if (!mk_res[i].used) {
			mk_res[i].used = 1;
			mk_res[i].n = port_resolve(host, mk_res[i].a, ING_RESOLVE_MAX, mk_res[i].err, sizeof mk_res[i].err);
			return MOCK_DNS_FD0 + i;
		}
	snprintf(err, errlen, "resolve %s: mock table full", host);
	return ING_ERR;
}

int
port_resolve_read(int fd, struct ing_addr *out, int max, char *err, size_t errlen)
{
	int i = fd - MOCK_DNS_FD0;
	if (i < 0 || i >= (int)(sizeof mk_res / sizeof mk_res[0]) || !mk_res[i].used)
		abort();
	if (mock_dns_hold)
		return ING_WAIT;
	mk_res[i].used = 0;
	if (mk_res[i].n < 0) {
		snprintf(err, errlen, "%s", mk_res[i].err);
		return ING_ERR;
	}
	int n = mk_res[i].n < max ? mk_res[i].n : max;
	memcpy(out, mk_res[i].a, (size_t)n * sizeof *out);
	return n;
}

void
port_resolve_cancel(int fd)
{
	mk_res[fd - MOCK_DNS_FD0].used = 0;
}

int
port_drop_privileges(const char *user, char *err, size_t errlen)
{
	(void)user;
	(void)err;
	(void)errlen;
	return 0;
}

/* From the C library's heap, so ASan sees past the end and leaks. */
void *
port_map(size_t n)
{
	return calloc(1, n);
}

void
port_unmap(void *p, size_t n)
{
	(void)n;
	free(p);
}

long
port_rss_bytes(void)
{
	return 4096 * 100;
}

int
port_open_fds(void)
{
	return 7;
}

/* snprintf without the C library's printf (see the file) */
#include "fmt.c"
