/*
 * ingressd.h - limits, shared types and the port interface of ingressd.
 *
 * ingressd.c is the whole daemon. It talks to the platform only through the
 * functions declared here, implemented by port/posix.c (sockets, poll, clock,
 * random), one TLS port (port/tls_bearssl.c, port/tls_mbedtls.c) and, in the
 * test build, port/mock.c. The Makefile picks the files at link time.
 *
 * Calling convention everywhere (picohttpparser/anet): a count >= 0 is
 * success, ING_ERR (-1) is a hard error (details in the caller's err buffer or
 * errno), ING_WAIT (-2) means "not now, poll and retry".
 */
#ifndef INGRESSD_H
#define INGRESSD_H

#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ING_VERSION "0.1.0"

/* Certificates are checked against the wall clock; a board without an RTC
 * may boot in 1970. Before this time (the release's own date) the clock is
 * taken as unset and this time is used instead, with a warning. */
#ifndef ING_BUILD_EPOCH
#define ING_BUILD_EPOCH 1790000000 /* 2026-09-21 */
#endif

#define ING_ERR  (-1)
#define ING_WAIT (-2)

/* ------------------------------------------------------------------------
 * Limits. Every capacity of the daemon is one of these; override with
 * make CFLAGS+=-DING_MAX_X=N. Storage is static, so `size ingressd` shows
 * the budget; pages that are never touched cost no RAM. Hitting a limit is
 * logged naming the macro, counted in /metrics, and survived.
 * ------------------------------------------------------------------------ */

/* Client connections held at once (~0.3 KB each, plus buffers while busy). */
#ifndef ING_MAX_CONNS
#define ING_MAX_CONNS 16384
#endif
/* Upstream connections (busy + idle keep-alive), ~0.3 KB each. */
#ifndef ING_MAX_UPSTREAMS
#define ING_MAX_UPSTREAMS 4096
#endif
/* API watch streams: kinds (4) x namespaces; never shared with clients. */
#ifndef ING_MAX_WATCHES
#define ING_MAX_WATCHES 64
#endif
/* I/O buffers of ING_BUF_SIZE bytes, taken only while a connection has
 * bytes in flight and returned when it goes idle. */
#ifndef ING_MAX_BUFS
#define ING_MAX_BUFS 2048
#endif
#ifndef ING_BUF_SIZE
#define ING_BUF_SIZE 16384
#endif
/* Request/response head: bytes (request line + headers) and header count. */
#ifndef ING_MAX_HEADER_BYTES
#define ING_MAX_HEADER_BYTES 12288
#endif
#ifndef ING_MAX_HEADERS
#define ING_MAX_HEADERS 100
#endif
/* Concurrent TLS sessions (~33 KB of engine buffers each while live):
 * clients on HTTPS entry points, and upstream connections to HTTPS pods
 * (busy or idle in the pools), each with its own share. */
#ifndef ING_MAX_TLS_CONNS
#define ING_MAX_TLS_CONNS 1024
#endif
#ifndef ING_MAX_TLS_UPSTREAMS
#define ING_MAX_TLS_UPSTREAMS 256
#endif
/* Pod TLS sessions remembered for resumption (~0.1 KB each; mbedTLS also
 * keeps the pod's certificate with each). */
#ifndef ING_MAX_TLS_RESUME
#define ING_MAX_TLS_RESUME 256
#endif
/* What a TLS port's session pool holds: both shares and the API watches. */
#define ING_TLS_SESSIONS (ING_MAX_TLS_CONNS + ING_MAX_TLS_UPSTREAMS + ING_MAX_WATCHES)

/* Config file. */
#ifndef ING_MAX_CONF_BYTES
#define ING_MAX_CONF_BYTES (256 * 1024)
#endif
#ifndef ING_MAX_CONF_LINE
#define ING_MAX_CONF_LINE 4096
#endif
#ifndef ING_MAX_CONF_ERRORS
#define ING_MAX_CONF_ERRORS 64
#endif
#ifndef ING_MAX_CONF_TABLES
#define ING_MAX_CONF_TABLES 128 /* [table] headers in one config file */
#endif
#ifndef ING_MAX_ENTRYPOINTS
#define ING_MAX_ENTRYPOINTS 8
#endif
#ifndef ING_MAX_NAMESPACES
#define ING_MAX_NAMESPACES 16
#endif
#ifndef ING_MAX_CIDRS
#define ING_MAX_CIDRS 512
#endif
#ifndef ING_MAX_TOKEN_BYTES
#define ING_MAX_TOKEN_BYTES 8192
#endif
#ifndef ING_MAX_CA_BYTES
#define ING_MAX_CA_BYTES (256 * 1024)
#endif
#ifndef ING_MAX_CA_FILES
#define ING_MAX_CA_FILES 4 /* tls.ClientCA files of one entry point */
#endif

/* Object store (fixed arrays; an object over a limit is skipped, logged
 * and counted, and the previous version of it stays). */
#ifndef ING_MAX_INGRESSES
#define ING_MAX_INGRESSES 2048 /* ~1 KB each */
#endif
#ifndef ING_MAX_INGRESS_PATHS
#define ING_MAX_INGRESS_PATHS 8192 /* rule host x path, all Ingresses (~0.6 KB) */
#endif
#ifndef ING_MAX_TLS_HOSTS
#define ING_MAX_TLS_HOSTS 2048 /* spec.tls host entries, all Ingresses */
#endif
#ifndef ING_MAX_SERVICES
#define ING_MAX_SERVICES 2048 /* ~0.8 KB each */
#endif
#ifndef ING_MAX_SVC_PORTS
#define ING_MAX_SVC_PORTS 8 /* ports per Service or EndpointSlice */
#endif
#ifndef ING_MAX_ENDPOINTS
#define ING_MAX_ENDPOINTS 4096 /* EndpointSlices (or Endpoints subsets) */
#endif
#ifndef ING_MAX_ENDPOINT_ADDRS
#define ING_MAX_ENDPOINT_ADDRS 16384 /* pod addresses, all slices (24 B) */
#endif
#ifndef ING_MAX_SECRETS
#define ING_MAX_SECRETS 256 /* only Secrets an Ingress references */
#endif
#ifndef ING_MAX_SECRET_BYTES
#define ING_MAX_SECRET_BYTES 16384 /* decoded data of one Secret */
#endif
#ifndef ING_MAX_SECRET_KEYS
#define ING_MAX_SECRET_KEYS 8 /* data keys kept of one Secret (an auth-map user each) */
#endif
#ifndef ING_MAX_STORE_CIDRS
#define ING_MAX_STORE_CIDRS 8192 /* whitelist entries, all Ingresses */
#endif
/* Routing table (two of them: the live one and the spare being built). */
#ifndef ING_MAX_ROUTES
#define ING_MAX_ROUTES 8192 /* host x path routes (~0.3 KB each, x2) */
#endif
#ifndef ING_MAX_HOSTS
#define ING_MAX_HOSTS 4096 /* distinct hosts in routes (~0.3 KB each, x2) */
#endif
#ifndef ING_MAX_BACKENDS
#define ING_MAX_BACKENDS 2048 /* Service ports in use */
#endif
#ifndef ING_MAX_SERVERS
#define ING_MAX_SERVERS 16384 /* pod ip:port over all backends */
#endif
#ifndef ING_MAX_BACKEND_SERVERS
#define ING_MAX_BACKEND_SERVERS 256 /* servers of one backend */
#endif
#ifndef ING_MAX_SPLIT
#define ING_MAX_SPLIT 16 /* Services sharing one host x path (a union, service-weights, a canary) */
#endif
#ifndef ING_MAX_ARMS
#define ING_MAX_ARMS 1024 /* those Services over all split routes (12 B each, x2) */
#endif
#ifndef ING_MAX_ERROR_PAGES
#define ING_MAX_ERROR_PAGES 16 /* error-page code ranges of one Ingress */
#endif
#ifndef ING_MAX_BREAKERS
#define ING_MAX_BREAKERS 128 /* backends with a circuit breaker (~15 KB each) */
#endif
#ifndef ING_MAX_USERS
#define ING_MAX_USERS 1024 /* htpasswd users over all auth Secrets (~0.2 KB, x2) */
#endif
#ifndef ING_MAX_AUTH_CHECKS
#define ING_MAX_AUTH_CHECKS 16 /* bcrypt checks queued at once (~4.3 KB each) */
#endif
#ifndef ING_MAX_METRIC_SERIES
#define ING_MAX_METRIC_SERIES 4096 /* request counter series (~0.2 KB each) */
#endif
#ifndef ING_MAX_ADMIN_BYTES
#define ING_MAX_ADMIN_BYTES (4 * 1024 * 1024) /* one /metrics or /api answer */
#endif
/* The heap (ing_alloc): TLS certificates with their chains (~1.5 KB and
 * the DER each), trust anchors (a CA's name and key), decoded PEM while it
 * is read, and a peer's certificate while its handshake (or a mutual-TLS
 * session) lives. One static arena, touched only as far as it was used. */
#ifndef ING_MAX_HEAP_BYTES
#define ING_MAX_HEAP_BYTES (8 * 1024 * 1024)
#endif
#ifndef ING_MAX_EXTERNAL_NAMES
#define ING_MAX_EXTERNAL_NAMES 64 /* ExternalName Services' DNS names (~0.4 KB each) */
#endif
#ifndef ING_MAX_SKIPS
#define ING_MAX_SKIPS 256 /* skipped paths remembered for /api/providers */
#endif
#ifndef ING_MAX_NOTES
#define ING_MAX_NOTES 8192 /* rare texts kept with objects: unimplemented annotations, notes, header annotations (~0.26 KB) */
#endif
#ifndef ING_MAX_STATUS_QUEUE
#define ING_MAX_STATUS_QUEUE 64 /* Ingress status writes waiting (~0.4 KB each) */
#endif
#ifndef ING_MAX_STATUS_ADDRS
#define ING_MAX_STATUS_ADDRS 16 /* addresses published in an Ingress status */
#endif
/* Header annotations (custom and secure headers, CORS): their text per
 * Ingress, kept as notes; edits per Ingress; names and values of all of
 * them in a routing table (x2). Over one: that Ingress answers 500. */
#ifndef ING_MAX_HEADER_ANN_BYTES
#define ING_MAX_HEADER_ANN_BYTES 8192
#endif
#ifndef ING_MAX_ROUTE_EDITS
#define ING_MAX_ROUTE_EDITS 48
#endif
#ifndef ING_MAX_EDITS
#define ING_MAX_EDITS 16384 /* 12 B each */
#endif
#ifndef ING_MAX_EDIT_BYTES
#define ING_MAX_EDIT_BYTES (512 * 1024)
#endif
/* Keys with limit state (nginx's limit-rps/-rpm/-connections, Traefik's
 * rate-limit and max-conn), all Ingresses (~88 B each): the least recently
 * used idle one makes room. */
#ifndef ING_MAX_RATE_KEYS
#define ING_MAX_RATE_KEYS 16384
#endif
/* Regex instructions in one routing table (the rewrite and redirect
 * patterns; 6 bytes each, one pattern at most 512). */
#ifndef ING_MAX_REGEX_INSNS
#define ING_MAX_REGEX_INSNS 16384
#endif
/* Rates in one Traefik rate-limit's rateset. */
#ifndef ING_MAX_RATESET
#define ING_MAX_RATESET 4
#endif

/* Watch decoding: one API object or watch event, and its JSON tokens. */
#ifndef ING_MAX_OBJECT_BYTES
#define ING_MAX_OBJECT_BYTES 65536
#endif
#ifndef ING_MAX_JSON_TOKENS
#define ING_MAX_JSON_TOKENS 8192 /* 20 B each */
#endif
/* The store's snapshot file ([kubernetes] snapshotFile): one buffer of this
 * size, touched as far as a snapshot reaches; a bigger one is not written. */
#ifndef ING_MAX_SNAPSHOT_BYTES
#define ING_MAX_SNAPSHOT_BYTES (4 * 1024 * 1024)
#endif

/* Text sizes of names (Kubernetes' own maxima). */
#define ING_NAME_LEN 254 /* DNS subdomain 253 + NUL */
#define ING_NS_LEN 64    /* DNS label 63 + NUL */
#define ING_PATH_LEN 256 /* longest Ingress path kept */
#define ING_PORTNAME_LEN 16 /* IANA service name 15 + NUL */

_Static_assert(ING_MAX_HEADER_BYTES <= ING_BUF_SIZE - 1024,
               "a request head must fit a buffer with room to rewrite it");
_Static_assert(ING_MAX_CONNS >= 2 && ING_MAX_UPSTREAMS >= 1, "limits");

/* ------------------------------------------------------------------------
 * Addresses: numeric IPv4/IPv6 with port. Names are resolved by the caller.
 * ------------------------------------------------------------------------ */
struct ing_addr {
	uint8_t family; /* 4 or 6; 0 = unset */
	uint8_t ip[16]; /* IPv4 in the first 4 bytes */
	uint16_t port;
	uint32_t scope; /* IPv6 scope id */
};

/* "1.2.3.4", "::1", "[::1]" (no port); returns 0 or ING_ERR. */
int ing_addr_parse_ip(struct ing_addr *a, const char *s, size_t n);
/* "1.2.3.4:80", "[::1]:80", ":80" (any, dual stack); returns 0 or ING_ERR. */
int ing_addr_parse(struct ing_addr *a, const char *s, size_t n);
/* "1.2.3.4:80" / "[::1]:80" into buf (>= 48 bytes); returns length. */
int ing_addr_fmt(const struct ing_addr *a, char *buf, size_t cap, int with_port);

/* ------------------------------------------------------------------------
 * Port: sockets, poll, clock, random, process. port/posix.c or port/mock.c.
 * All sockets are non-blocking and close-on-exec.
 * ------------------------------------------------------------------------ */
struct pollfd;

/* Bind and listen; an unset IP (":80") means all addresses, IPv6 dual-stack
 * when the kernel has IPv6. Returns fd or ING_ERR with err filled. */
int port_listen(const struct ing_addr *a, int backlog, char *err, size_t errlen);
/* Returns fd, ING_WAIT (nothing pending) or ING_ERR (errno kept: EMFILE...). */
int port_accept(int lfd, struct ing_addr *peer);
/* Starts a non-blocking connect. Returns fd (connect may be in progress) or
 * ING_ERR with err filled. */
int port_connect(const struct ing_addr *a, char *err, size_t errlen);
/* After POLLOUT on a connecting fd: 0 connected, or ING_ERR with errno set. */
int port_connect_done(int fd);
/* >= 0 bytes (0 = EOF on read), ING_WAIT, ING_ERR (errno set). */
ssize_t port_read(int fd, void *buf, size_t n);
ssize_t port_write(int fd, const void *buf, size_t n);
/* Reads without taking: the bytes stay for the next read (a PROXY header
 * before a TLS handshake). Returns as port_read. */
ssize_t port_peek(int fd, void *buf, size_t n);
/* Half-close the write side (after a response when the peer must see EOF). */
void port_shutdown_write(int fd);
void port_close(int fd);
/* poll(2) itself: port/ev_poll.c's backend (and the mock port's sockets).
 * Returns count, 0 on timeout, ING_ERR. */
int port_poll(struct pollfd *fds, size_t n, int timeout_ms);

/* Readiness by registration, as redis's ae: a descriptor is declared once
 * and again only when what it waits for changes, and a wait returns only
 * the ready ones, so an idle connection costs nothing per turn. Backends,
 * chosen at link time: port/ev_epoll.c (Linux) and port/ev_poll.c (over
 * port_poll, anywhere). A tag is the caller's name for the descriptor,
 * 0 <= tag < ING_EV_TAGS, given back with its events. Events are POLLIN,
 * POLLOUT (asked) and POLLHUP, POLLERR (reported). */
#define ING_EV_TAGS (ING_MAX_CONNS + ING_MAX_UPSTREAMS + ING_MAX_WATCHES + ING_MAX_ENTRYPOINTS + 3)
struct port_ev {
	int tag;
	int events;
};
/* A new, empty set (any earlier one is dropped): 0 or ING_ERR. */
int port_ev_init(void);
/* fd waits for `now` instead of `old` (0: not in the set, so 0 -> x adds
 * and x -> 0 removes, which must come before the descriptor is closed).
 * 0, or ING_ERR with errno. */
int port_ev_set(int fd, int tag, int old, int now);
/* The only sleep of the program: up to n ready descriptors, waiting up to
 * timeout_ms (-1: no limit). Returns count, 0 on timeout, ING_ERR. */
int port_ev_wait(struct port_ev *ev, int n, int timeout_ms);
/* "epoll" or "poll", for -V and the log. */
const char *port_ev_name(void);
/* Monotonic milliseconds; never goes back. */
uint64_t port_now_ms(void);
/* Wall clock, seconds since the epoch (0 when unknown). */
int64_t port_wall_s(void);
/* CSPRNG: 0 or ING_ERR. */
int port_random(void *buf, size_t n);
/* Self-pipe for signals: returns the read fd; the handlers write one byte
 * (the signal number) per signal. */
int port_signals(char *err, size_t errlen);
/* Read a whole file into buf (NUL-terminated); returns length or ING_ERR
 * (err filled), also when the file is larger than cap - 1. */
ssize_t port_read_file(const char *path, char *buf, size_t cap, char *err, size_t errlen);
/* Replace the file at path with n bytes of buf atomically: written to
 * path ".tmp" (created anew, mode 0600), fsync'ed, renamed over path. On
 * any error the previous file stays whole. 0, or ING_ERR (err filled). */
int port_write_file(const char *path, const void *buf, size_t n, char *err, size_t errlen);
/* Resolve a host name (blocking: the API server's name, once). Fills up
 * to max addresses; returns count or ING_ERR. */
int port_resolve(const char *host, struct ing_addr *out, int max, char *err, size_t errlen);
/* The same off the loop (ExternalName): port_resolve_start returns a
 * descriptor that turns readable when the answer is there (POSIX: a child
 * process runs the resolver), or ING_ERR. port_resolve_read returns what
 * port_resolve would, or ING_WAIT while there is no answer yet; any other
 * result has closed fd. port_resolve_cancel(fd) abandons a pending one. */
#define ING_RESOLVE_MAX 8
int port_resolve_start(const char *host, char *err, size_t errlen);
int port_resolve_read(int fd, struct ing_addr *out, int max, char *err, size_t errlen);
void port_resolve_cancel(int fd);
/* Drop root to user (after binding). 0, or ING_ERR with err filled. */
int port_drop_privileges(const char *user, char *err, size_t errlen);
/* n bytes of fresh zeroed memory from the system, for a large answer
 * built and dropped at once (pages cost RAM only once touched, and all
 * go back at port_unmap with the same n). NULL when none is left. */
void *port_map(size_t n);
void port_unmap(void *p, size_t n);
/* Process resident set size in bytes and open fds, for /metrics (-1 unknown). */
long port_rss_bytes(void);
int port_open_fds(void);

/* ------------------------------------------------------------------------
 * TLS port: port/tls_bearssl.c (default) or port/tls_mbedtls.c; the
 * Makefile links one. A session owns its engine buffers for its lifetime
 * (~33 KB), taken from a pool of ING_MAX_TLS_CONNS.
 *
 * The session is driven by the caller (BearSSL style): tls_want() tells
 * which poll events the engine needs next; tls_read/tls_write move
 * plaintext and do socket I/O as needed. Plaintext already decrypted
 * (tls_pending() > 0) must be read before polling again, as poll() cannot
 * see it.
 * ------------------------------------------------------------------------ */
struct tls_ctx; /* trust anchors (client) or certificate store (server) */
struct tls;     /* one session on one socket */

const char *tls_port_name(void); /* "BearSSL 0.6", "mbed TLS 2.28.3" */

/* Client context from a PEM bundle of CA certificates. NULL + err.
 * ca_pem NULL (insecureSkipVerify): the server's certificate is not
 * checked at all - any chain, any name, any dates. */
struct tls_ctx *tls_client_ctx(const char *ca_pem, size_t len, char *err, size_t errlen);
void tls_ctx_free(struct tls_ctx *ctx);
/* Client session on a connected fd. host is a DNS name (sent as SNI) or an
 * IP literal (no SNI): the server certificate must chain to the context's
 * CAs and carry host as a DNS SAN (wildcards per RFC 6125) or as an IP SAN.
 * resume != 0 names the peer (address and name): once a handshake under
 * that key is done, the port remembers the session (ING_MAX_TLS_RESUME per
 * process, least recently used dropped) and offers it on the next
 * tls_client with the same context and key. NULL + err. */
struct tls *tls_client(struct tls_ctx *ctx, int fd, const char *host, uint64_t resume, char *err, size_t errlen);
/* Drives a client's handshake without application data: 1 done, ING_WAIT
 * (poll for tls_want(t, 0)), ING_ERR (tls_error says why). */
int tls_handshake(struct tls *t);
/* What is known about a session: ING_TLS_* bits. */
#define ING_TLS_DONE 1    /* the handshake is complete */
#define ING_TLS_RESUMED 2 /* ... and resumed a remembered session */
#define ING_TLS_CERT 4    /* it failed on the peer's certificate (chain, name, dates) */
int tls_info(struct tls *t);

/* Server side (HTTPS entry points). A certificate is a parsed chain (leaf
 * first) with its private key; the port reference-counts it so a session
 * mid-handshake keeps the one it chose after ingressd drops it (rotation). */
#ifndef ING_MAX_CERT_NAMES
#define ING_MAX_CERT_NAMES 32
#endif
struct tls_cert;
struct tls_cert_info {
	int64_t not_before, not_after; /* seconds since the epoch */
	int key_type;                  /* 'R' RSA, 'E' ECDSA */
	int n_names;                   /* DNS SANs (or the CN when none) */
	char names[ING_MAX_CERT_NAMES][ING_NAME_LEN];
};
/* Parses a PEM chain and a PEM key (PKCS#1 RSA, SEC1 EC P-256/P-384, or
 * PKCS#8 of either) and checks the key matches the leaf. NULL + err. */
struct tls_cert *tls_cert_load(const char *chain_pem, size_t clen, const char *key_pem, size_t klen,
                               struct tls_cert_info *info, char *err, size_t errlen);
void tls_cert_free(struct tls_cert *c); /* drops ingressd's reference */
/* Picks the certificate for a handshake from the client's SNI name (NULL
 * when none was sent); NULL refuses the handshake. */
typedef struct tls_cert *(*tls_pick_fn)(const char *sni, void *arg);
struct tls_ctx *tls_server_ctx(tls_pick_fn pick, void *arg, char *err, size_t errlen);
/* Client certificates (mutual TLS) on every handshake of a server
 * context, before its first session: the client's chain must lead to one of
 * the CAs of ca_pem, be valid now, and its end-entity certificate must allow
 * client authentication (extendedKeyUsage, when present, lists clientAuth).
 * required = 0: a client may send none, a bad one is still refused. Such a
 * context never resumes sessions (a session made elsewhere, or before a CA
 * change, would skip the check). 0, or ING_ERR + err. */
int tls_server_client_ca(struct tls_ctx *ctx, const char *ca_pem, size_t len, int required, char *err,
                         size_t errlen);
/* The client's verified end-entity certificate (DER) once the handshake is
 * done; NULL when it sent none. Valid until tls_free. */
const unsigned char *tls_peer_cert(struct tls *t, size_t *len);
/* pass-client-tls-cert: the X-Forwarded-Tls-Client-Cert-Infos text of a
 * certificate (DER) as Traefik 1.7 wrote it, before URL escaping:
 * Subject="..",Issuer="..",NB=..,NA=..,SAN=.. with the parts of `what`.
 * Its length, or ING_ERR (unreadable, or over cap). */
enum { ING_DN_DC, ING_DN_C, ING_DN_ST, ING_DN_L, ING_DN_O, ING_DN_SN, ING_DN_CN, ING_DN__COUNT };
#define ING_CI_NB 1u
#define ING_CI_NA 2u
#define ING_CI_SAN 4u
#define ING_CI_SUBJECT(dn) (1u << (3 + (dn)))  /* ING_DN_* of the subject */
#define ING_CI_ISSUER(dn) (1u << (10 + (dn)))  /* ... of the issuer */
int tls_cert_infos(const unsigned char *der, size_t n, uint32_t what, char *out, size_t cap);
/* Server session on an accepted fd: TLS 1.2 (1.3 where the library has
 * it), ECDHE with AES-GCM or ChaCha20-Poly1305 only, session resumption. */
struct tls *tls_server(struct tls_ctx *ctx, int fd, char *err, size_t errlen);
/* Sessions alive now (bounded by ING_TLS_SESSIONS). */
int tls_sessions(void);

/* Socket poll events (POLLIN/POLLOUT) the session needs, given what the
 * application wants: app POLLIN = it wants plaintext; app POLLOUT = a
 * tls_write returned ING_WAIT. The handshake's own needs are included. */
int tls_want(struct tls *t, int app);
/* >= 0 plaintext bytes (0 = clean close by the peer), ING_WAIT, ING_ERR. */
ssize_t tls_read(struct tls *t, void *buf, size_t n);
ssize_t tls_write(struct tls *t, const void *buf, size_t n);
/* Plaintext buffered inside the engine, readable without polling. */
size_t tls_pending(struct tls *t);
/* 1 while records are still queued for the socket (flush before closing). */
int tls_busy(struct tls *t);
/* First error of the session as text ("certificate expired", ...). */
const char *tls_error(struct tls *t);
/* Frees the session and its buffers; does not close fd. */
void tls_free(struct tls *t);

/* Hashes from the TLS library (well-kept implementations: BearSSL's
 * br_md5/br_sha1/br_sha256, mbedTLS's md5/sha1/sha256). Used by basic auth
 * (MD5-crypt, {SHA}) and sticky cookies. tls_hash_init returns ING_ERR
 * when the port has none (TLS=none): callers fail closed. */
enum { ING_HASH_MD5 = 1, ING_HASH_SHA1 = 2, ING_HASH_SHA256 = 3 };
struct ing_hash {
	int alg;
	_Alignas(16) unsigned char st[256]; /* the library's context */
};
int tls_hash_init(struct ing_hash *h, int alg);
void tls_hash_update(struct ing_hash *h, const void *p, size_t n);
/* Writes 16 (MD5), 20 (SHA-1) or 32 (SHA-256) bytes. */
void tls_hash_out(struct ing_hash *h, unsigned char *out);

/* ------------------------------------------------------------------------
 * Services ingressd.c gives the ports.
 * ------------------------------------------------------------------------ */
enum { ING_LOG_DEBUG, ING_LOG_INFO, ING_LOG_WARN, ING_LOG_ERROR };
void ing_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* The heap, in place of the C library's malloc (none is linked into the
 * static build): n zeroed bytes aligned to 8, or NULL when
 * ING_MAX_HEAP_BYTES has no room (logged and counted with `what`, "tls:
 * certificate"). ing_free(NULL) does nothing. */
void *ing_alloc(size_t n, const char *what);
void ing_free(void *p);

/* ------------------------------------------------------------------------
 * port/fmt.c, for ingressd.c and the ports alike: snprintf's contract for
 * %d %i %u %x %X %c %s %% (lengths l ll z j, flags - 0, width, precision,
 * '*'), so a static build links no printf family from the C library.
 * ------------------------------------------------------------------------ */
int ing_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));
int ing_snprintf(char *buf, size_t cap, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* strerror for the errors ingressd's system calls report; "error N" for
 * any other (the text of a later call with an unlisted error overwrites it). */
const char *ing_strerror(int e);
/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant's
 * days_from_civil), for the certificate dates and the API's timestamps. */
int64_t ing_days(int64_t y, unsigned m, unsigned d);
/* The inverse, seconds since 1970 to UTC calendar fields: ingressd needs no
 * time zones, and libc's gmtime_r drags in musl's 6 KB zone reader. */
struct ing_tm { int year, mon, mday, hour, min, sec; /* mon 1..12 */ };
void ing_civil(int64_t secs, struct ing_tm *tm);

#endif /* INGRESSD_H */
