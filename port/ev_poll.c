/*
 * port/ev_poll.c - readiness by registration over port_poll: the portable
 * backend, and the one the mock port's tests drive. The registered
 * descriptors are kept packed in the array poll(2) takes, each with its
 * tag, so a change is O(1) (a removal moves the last one into its place)
 * and a wait passes only registered descriptors. See ingressd.h.
 */
#include <errno.h>
#include <poll.h>

#include "../ingressd.h"

static struct {
	struct pollfd fds[ING_EV_TAGS];
	int tag[ING_EV_TAGS];  /* tag of fds[i] */
	int slot[ING_EV_TAGS]; /* index + 1 in fds of a tag, 0 = not registered */
	int n;
	int start; /* where the next wait starts reporting: no descriptor starves */
} pv;

int
port_ev_init(void)
{
	for (int i = 0; i < pv.n; i++)
		pv.slot[pv.tag[i]] = 0;
	pv.n = pv.start = 0;
	return 0;
}

int
port_ev_set(int fd, int tag, int old, int now)
{
	int i = pv.slot[tag] - 1;
	(void)old;
	if (now == 0) {
		if (i < 0)
			return 0;
		pv.slot[tag] = 0;
		if (i != --pv.n) {
			pv.fds[i] = pv.fds[pv.n];
			pv.tag[i] = pv.tag[pv.n];
			pv.slot[pv.tag[i]] = i + 1;
		}
		return 0;
	}
	if (i < 0) {
		i = pv.n++;
		pv.tag[i] = tag;
		pv.slot[tag] = i + 1;
	}
	pv.fds[i] = (struct pollfd){.fd = fd, .events = (short)now};
	return 0;
}

int
port_ev_wait(struct port_ev *ev, int n, int timeout_ms)
{
	int r = port_poll(pv.fds, (size_t)pv.n, timeout_ms), got = 0;
	if (r <= 0)
		return r;
	int i = pv.start < pv.n ? pv.start : 0;
	pv.start = 0;
	for (int k = 0; k < pv.n; k++, i = i + 1 < pv.n ? i + 1 : 0) {
		if (pv.fds[i].revents == 0)
			continue;
		if (got == n) { /* more are ready than asked: they come first next time */
			pv.start = i;
			break;
		}
		ev[got].tag = pv.tag[i];
		ev[got++].events = pv.fds[i].revents;
	}
	return got;
}

const char *
port_ev_name(void)
{
	return "poll";
}
