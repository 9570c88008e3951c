/*
 * port/tls_none.c - a TLS port without TLS (`make TLS=none`): plain-HTTP
 * API endpoints (kubectl proxy) only. Every TLS session is refused with a
 * clear error; nothing ever runs unencrypted in its place.
 */
#include <errno.h>
#include <stdio.h>

#include "../ingressd.h"

static int
tn_refuse(char *err, size_t errlen)
{
	ing_snprintf(err, errlen, "built without TLS (make TLS=none)");
	return 0;
}

const char *
tls_port_name(void)
{
	return "none";
}

struct tls_ctx *
tls_client_ctx(const char *ca_pem, size_t len, char *err, size_t errlen)
{
	(void)ca_pem;
	(void)len;
	tn_refuse(err, errlen);
	return NULL;
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
	(void)ctx;
}

struct tls *
tls_client(struct tls_ctx *ctx, int fd, const char *host, uint64_t resume, char *err, size_t errlen)
{
	(void)ctx;
	(void)fd;
	(void)host;
	(void)resume;
	tn_refuse(err, errlen);
	return NULL;
}

int
tls_handshake(struct tls *t)
{
	(void)t;
	errno = ENOTSUP;
	return ING_ERR;
}

int
tls_info(struct tls *t)
{
	(void)t;
	return 0;
}

struct tls_cert *
tls_cert_load(const char *chain_pem, size_t clen, const char *key_pem, size_t klen, struct tls_cert_info *info,
              char *err, size_t errlen)
{
	(void)chain_pem;
	(void)clen;
	(void)key_pem;
	(void)klen;
	(void)info;
	tn_refuse(err, errlen);
	return NULL;
}

void
tls_cert_free(struct tls_cert *c)
{
	(void)c;
}

struct tls_ctx *
tls_server_ctx(tls_pick_fn pick, void *arg, char *err, size_t errlen)
{
	(void)pick;
	(void)arg;
	tn_refuse(err, errlen);
	return NULL;
}

int
tls_server_client_ca(struct tls_ctx *ctx, const char *ca_pem, size_t len, int required, char *err, size_t errlen)
{
	(void)ctx;
	(void)ca_pem;
	(void)len;
	(void)required;
	tn_refuse(err, errlen);
	return ING_ERR;
}

const unsigned char *
tls_peer_cert(struct tls *t, size_t *len)
{
	(void)t;
	*len = 0;
	return NULL;
}

int
tls_cert_infos(const unsigned char *der, size_t n, uint32_t what, char *out, size_t cap)
{
	(void)der;
	(void)n;
	(void)what;
	(void)out;
	(void)cap;
	return ING_ERR;
}

struct tls *
tls_server(struct tls_ctx *ctx, int fd, char *err, size_t errlen)
{
	(void)ctx;
	(void)fd;
	tn_refuse(err, errlen);
	return NULL;
}

int
tls_sessions(void)
{
	return 0;
}

/* No session ever exists, so these are never reached with one. */
int
tls_want(struct tls *t, int app)
{
	(void)t;
	return app;
}

ssize_t
tls_read(struct tls *t, void *buf, size_t n)
{
	(void)t;
	(void)buf;
	(void)n;
	errno = ENOTSUP;
	return ING_ERR;
}

ssize_t
tls_write(struct tls *t, const void *buf, size_t n)
{
	(void)t;
	(void)buf;
	(void)n;
	errno = ENOTSUP;
	return ING_ERR;
}

size_t
tls_pending(struct tls *t)
{
	(void)t;
	return 0;
}

int
tls_busy(struct tls *t)
{
	(void)t;
	return 0;
}

const char *
tls_error(struct tls *t)
{
	(void)t;
	return "built without TLS";
}

void
tls_free(struct tls *t)
{
	(void)t;
}

int
tls_hash_init(struct ing_hash *h, int alg)
{
	(void)h;
	(void)alg;
	return ING_ERR; /* no hashes: basic auth and sticky cookies fail closed */
}

void
tls_hash_update(struct ing_hash *h, const void *p, size_t n)
{
	(void)h;
	(void)p;
	(void)n;
}

void
tls_hash_out(struct ing_hash *h, unsigned char *out)
{
	(void)h;
	(void)out;
}
