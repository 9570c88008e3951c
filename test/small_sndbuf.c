/*
 * test/small_sndbuf.c - LD_PRELOAD shim for test/e2e_tls.sh: every socket
 * ingressd accepts gets a small send buffer (SMALL_SNDBUF bytes, default
 * 4096), as under the kernel's memory pressure. A TLS record then does not
 * fit at once, and the engine keeps what the socket did not take: the
 * fault that real buffers (megabytes, autotuned) hide.
 */
#define _GNU_SOURCE
#include <dlfcn.h>
#include <stdlib.h>
#include <sys/socket.h>

static int
small(int fd)
{
	const char *e = getenv("SMALL_SNDBUF");
	int v = e != NULL ? atoi(e) : 4096;
	if (fd >= 0)
		setsockopt(fd, SOL_SOCKET, SO_SNDBUF, &v, sizeof v);
	return fd;
}

int
accept4(int s, struct sockaddr *a, socklen_t *l, int f)
{
	static int (*real)(int, struct sockaddr *, socklen_t *, int);
	if (real == NULL)
		real = (int (*)(int, struct sockaddr *, socklen_t *, int))dlsym(RTLD_NEXT, "accept4");
	return small(real(s, a, l, f));
}

int
accept(int s, struct sockaddr *a, socklen_t *l)
{
	static int (*real)(int, struct sockaddr *, socklen_t *);
	if (real == NULL)
		real = (int (*)(int, struct sockaddr *, socklen_t *))dlsym(RTLD_NEXT, "accept");
	return small(real(s, a, l));
}
