/* port/mock.h - controls of the test port (port/mock.c). */
#ifndef MOCK_H
#define MOCK_H
#include <stddef.h>
#include <stdint.h>
#include "../ingressd.h"

#define MOCK_FD0 1000
#define MOCK_SOCKS 64
#define MOCK_BUF (256 * 1024)

extern uint64_t mock_now;     /* the fake monotonic clock, ms */
extern int64_t mock_wall;     /* the fake wall clock, s */
extern long mock_fail_after;  /* fail the port call after this many (-1 never) */
extern long mock_faults;      /* faults injected so far */
extern int mock_listen_fail, mock_connect_fail;
extern int mock_keep_closed;  /* closed sockets stay (output readable) until mock_release */
extern int mock_sigpipe_w;    /* write end of the signal pipe */

struct mock_sock;
struct mock_sock *mock_sock(int fd);
int mock_sock_new(void);
void mock_reset(void);
void mock_feed(int fd, const void *p, size_t n);  /* bytes the program will read */
void mock_eof(int fd);
size_t mock_output(int fd, char *buf, size_t cap, int consume); /* bytes it wrote */
int mock_is_closed(int fd);
void mock_release(int fd);
void mock_set_err(int fd); /* reads fail with ECONNRESET, writes with EPIPE */
int mock_queue_accept(int lfd, const struct ing_addr *peer); /* returns the new fd */
void mock_set_out_cap(int fd, size_t cap);
void mock_set_connect_err(int fd, int e);
int mock_find_connect(const struct ing_addr *a, int nth);
/* DNS: name -> "ip,ip,..." (NULL ips: the name no longer resolves) */
void mock_dns_set(const char *name, const char *ips);
extern long mock_resolves; /* port_resolve calls so far */
extern int mock_dns_hold;  /* set: started resolutions do not answer yet */
#endif
