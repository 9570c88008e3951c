/*
 * port/ev_epoll.c - readiness by registration on Linux's epoll (level
 * triggered, as poll: a descriptor stays ready until it is served). The
 * set holds what the caller declared and nothing of its own: the caller
 * passes the old interest, so no table is kept here. See ingressd.h.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <poll.h>
#include <sys/epoll.h>
#include <unistd.h>

#include "../ingressd.h"

_Static_assert(EPOLLIN == POLLIN && EPOLLOUT == POLLOUT && EPOLLERR == POLLERR && EPOLLHUP == POLLHUP,
               "epoll and poll share their event bits");

static int ep_fd = -1;

int
port_ev_init(void)
{
	if (ep_fd >= 0)
		close(ep_fd);
	ep_fd = epoll_create1(EPOLL_CLOEXEC);
	return ep_fd < 0 ? ING_ERR : 0;
}

int
port_ev_set(int fd, int tag, int old, int now)
{
	struct epoll_event e = {.events = (uint32_t)now, .data.u64 = (uint64_t)(unsigned)tag};
	int op = old == 0 ? EPOLL_CTL_ADD : now == 0 ? EPOLL_CTL_DEL : EPOLL_CTL_MOD;
	if (old == now)
		return 0;
	return epoll_ctl(ep_fd, op, fd, &e) < 0 ? ING_ERR : 0;
}

int
port_ev_wait(struct port_ev *ev, int n, int timeout_ms)
{
	struct epoll_event e[64];
	int r = epoll_wait(ep_fd, e, n < 64 ? n : 64, timeout_ms);
	for (int i = 0; i < r; i++) {
		ev[i].tag = (int)e[i].data.u64;
		ev[i].events = (int)e[i].events;
	}
	return r < 0 ? ING_ERR : r;
}

const char *
port_ev_name(void)
{
	return "epoll";
}
