/*
 * port/tls_mbedtls.c - the TLS port on mbed TLS 2.28 (`make TLS=mbedtls`).
 *
 * Same behaviour as port/tls_bearssl.c (see there and ingressd.h): TLS 1.2
 * only (mbed TLS 2.28 has no TLS 1.3), ECDHE_ECDSA/ECDHE_RSA with
 * AES-128/256-GCM or ChaCha20-Poly1305, X25519/P-256/P-384, SHA-256/384
 * signatures, no renegotiation; the same certificate rules and the same
 * error texts where the libraries allow.
 *
 * Where mbed TLS differs, and what this file does about it:
 *  - Validity is checked against the system clock. The verify callback
 *    replaces those flags with a check against port_wall_s() (or the build
 *    date), and skips the trust anchors' own dates, as BearSSL does.
 *  - Names are DNS only: for an IP literal no hostname is set (so no SNI
 *    either) and the callback looks for the address among the iPAddress
 *    SANs of the end-entity certificate.
 *  - The SNI callback runs only when the client sends the extension. To
 *    call pick(NULL) for the others, mt_recv keeps a copy of the first
 *    record (the ClientHello, never fragmented for mbed TLS 2.28) and looks
 *    for the extension before mbed TLS parses the hello.
 *  - I/O buffers are the library's (malloc, ~33 KB a session); the session
 *    count is bounded by ING_TLS_SESSIONS all the same. Contexts and
 *    sessions come from malloc too (this build is dynamic, with glibc's);
 *    only decoded PEM (tls_common.c) is on ingressd's heap.
 *  - The server resumes with session tickets (keys from a CTR-DRBG seeded
 *    by port_random); BearSSL uses a session-ID cache instead.
 *  - The client remembers sessions with mbedtls_ssl_get_session (a copy
 *    with the server's certificate) and sends tickets as well as session
 *    IDs: Go servers, the usual pods, resume only by ticket. mbed TLS keeps
 *    no "resumed" flag after the handshake, so mt_steps runs its loop one
 *    step at a time and looks at the state after the ServerHello.
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <mbedtls/aesni.h>
#include <mbedtls/ctr_drbg.h>
#include <mbedtls/error.h>
#include <mbedtls/md5.h>
#include <mbedtls/net_sockets.h>
#include <mbedtls/oid.h>
#include <mbedtls/pk.h>
#include <mbedtls/platform.h>
#include <mbedtls/platform_util.h>
#include <mbedtls/sha1.h>
#include <mbedtls/sha256.h>
#include <mbedtls/ssl.h>
#include <mbedtls/ssl_ticket.h>
#include <mbedtls/version.h>
#include <mbedtls/x509_crt.h>

#include "../ingressd.h"

#define MT_MAX_CHAIN 10         /* certificates in a served chain */
#define MT_MAX_PEM (256 * 1024) /* certificate chain + key, PEM bytes */
#define MT_MAX_HELLO 16384      /* largest ClientHello record body */
#define MT_ERRLEN 192
#define MT_RESUMES (ING_MAX_TLS_RESUME > 0 ? ING_MAX_TLS_RESUME : 1) /* slots (0: resumption off) */

struct tls_ctx {
	int refs;
	int server;
	uint64_t serial; /* never reused: keys remembered sessions (no ABA) */
	mbedtls_ssl_config conf;
	mbedtls_x509_crt ca; /* client: CA bundle; server: client CAs */
	tls_pick_fn pick;    /* server */
	void *arg;
	int client_auth; /* server: 0 none, 1 optional, 2 required */
};

struct tls_cert {
	int refs;
	int type; /* 'R' or 'E' */
	mbedtls_x509_crt crt;
	mbedtls_pk_context pk;
};

struct tls {
	mbedtls_ssl_context ssl; /* first: the SNI callback gets only this */
	struct tls_ctx *ctx;
	struct tls_cert *cert;
	int fd, server;
	int hs;           /* handshake done */
	int closed;       /* peer sent close_notify: no more reads or writes */
	int eof;          /* bare EOF after the handshake: reads end, writes may go on */
	int rwant, wwant; /* what the last read/write waited for */
	int first;        /* first byte from the peer, 0 before it */
	/* client */
	unsigned char ip[16];
	size_t iplen;
	int64_t now;
	char host[ING_NAME_LEN];
	uint64_t resume;  /* tls_client's key, 0 none */
	int offered;      /* a remembered session went into the ClientHello */
	int resumed;      /* ... and the server took it */
	int ticketed;     /* the server sent a NewSessionTicket */
	int certfail;     /* the handshake failed on the peer's certificate */
	/* server: copy of the ClientHello record, until it is complete */
	unsigned char hhdr[5];
	size_t hlen;
	unsigned char *hello;
	int hello_done;
	char err[MT_ERRLEN];
};

static mbedtls_ctr_drbg_context mt_drbg;
static mbedtls_ssl_ticket_context mt_ticket;
static int mt_ready, mt_ticket_ready;
static int mt_live;
static uint64_t mt_serials;

/* Client sessions remembered for resumption, by (context serial, key);
 * serial 0 is a free slot, the smallest `used` the least recently used. */
struct mt_resume {
	uint64_t serial, key, used;
	mbedtls_ssl_session s;
};
static struct mt_resume mt_resumes[MT_RESUMES];
static uint64_t mt_clock;

#include "tls_common.c"

/* ------------------------------------------------------------------------
 * Helpers: library errors, time, entropy.
 * ------------------------------------------------------------------------ */
static const char *
mt_strerror(int r, char *buf, size_t cap)
{
	mbedtls_strerror(r, buf, cap);
	return buf;
}

static int64_t
mt_time(const mbedtls_x509_time *x)
{
	if (x->mon < 1 || x->mon > 12 || x->day < 1 || x->day > 31)
		return 0;
	return ing_days(x->year, (unsigned)x->mon, (unsigned)x->day) * 86400 + x->hour * 3600 + x->min * 60 + x->sec;
}

static int
mt_entropy(void *p, unsigned char *out, size_t n)
{
	(void)p;
	return port_random(out, n) == 0 ? 0 : MBEDTLS_ERR_CTR_DRBG_ENTROPY_SOURCE_FAILED;
}

static int
mt_init(char *err, size_t errlen)
{
	static const char pers[] = "ingressd";

	if (mt_ready)
		return 0;
	mbedtls_ctr_drbg_init(&mt_drbg);
	if (mbedtls_ctr_drbg_seed(&mt_drbg, mt_entropy, NULL, (const unsigned char *)pers, sizeof pers - 1) != 0) {
		mbedtls_ctr_drbg_free(&mt_drbg);
		seterr(err, errlen, "no entropy (port_random failed)");
		return -1;
	}
	mt_ready = 1;
	return 0;
}

/* ------------------------------------------------------------------------
 * Profile.
 * ------------------------------------------------------------------------ */
/* Without AES-NI (every ARM board: mbed TLS 2.28 has no ARMv8 AES code)
 * its table AES is slower than ChaCha20 and not constant-time. */
static const int mt_suites_chacha[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	0,
};
#if defined(MBEDTLS_AESNI_C) && defined(MBEDTLS_HAVE_X86_64)
static const int mt_suites_aes[] = {
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	MBEDTLS_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	MBEDTLS_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	0,
};
#endif
static const mbedtls_ecp_group_id mt_curves[] = {
	MBEDTLS_ECP_DP_CURVE25519, MBEDTLS_ECP_DP_SECP256R1, MBEDTLS_ECP_DP_SECP384R1, MBEDTLS_ECP_DP_NONE,
};
static const int mt_hashes[] = {MBEDTLS_MD_SHA256, MBEDTLS_MD_SHA384, MBEDTLS_MD_NONE};

static int
mt_conf(mbedtls_ssl_config *conf, int endpoint)
{
	const int *suites = mt_suites_chacha;

	if (mbedtls_ssl_config_defaults(conf, endpoint, MBEDTLS_SSL_TRANSPORT_STREAM, MBEDTLS_SSL_PRESET_DEFAULT) != 0)
		return -1;
#if defined(MBEDTLS_AESNI_C) && defined(MBEDTLS_HAVE_X86_64)
	if (mbedtls_aesni_has_support(MBEDTLS_AESNI_AES))
		suites = mt_suites_aes;
#endif
	mbedtls_ssl_conf_min_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_max_version(conf, MBEDTLS_SSL_MAJOR_VERSION_3, MBEDTLS_SSL_MINOR_VERSION_3);
	mbedtls_ssl_conf_ciphersuites(conf, suites);
	mbedtls_ssl_conf_curves(conf, mt_curves);
	mbedtls_ssl_conf_sig_hashes(conf, mt_hashes);
	mbedtls_ssl_conf_renegotiation(conf, MBEDTLS_SSL_RENEGOTIATION_DISABLED);
	mbedtls_ssl_conf_rng(conf, mbedtls_ctr_drbg_random, &mt_drbg);
	return 0;
}

/* ------------------------------------------------------------------------
 * Error texts.
 * ------------------------------------------------------------------------ */
static void
mt_verify_error(struct tls *t)
{
	uint32_t f = mbedtls_ssl_get_verify_result(&t->ssl);

	if (f & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		tc_fail(t, "unknown CA: the certificate chain does not lead to a trusted CA");
	else if (f & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE))
		tc_fail(t, "certificate expired or not yet valid");
	else if (f & MBEDTLS_X509_BADCERT_CN_MISMATCH)
		tc_fail(t, "server name mismatch: cert has no DNS SAN (or CN) matching %s", t->host);
	else if (f & (MBEDTLS_X509_BADCERT_KEY_USAGE | MBEDTLS_X509_BADCERT_EXT_KEY_USAGE |
	              MBEDTLS_X509_BADCERT_NS_CERT_TYPE))
		tc_fail(t, "certificate key usage forbids this use (TLS server or client)");
	else if (f & (MBEDTLS_X509_BADCERT_BAD_MD | MBEDTLS_X509_BADCERT_BAD_PK | MBEDTLS_X509_BADCERT_BAD_KEY))
		tc_fail(t, "certificate uses a weak or unsupported algorithm");
	else
		tc_fail(t, "certificate verification failed (mbed TLS flags 0x%x)", (unsigned)f);
}

/* Puts an mbed TLS error code into t->err, in words where it matters. */
static void
mt_note(struct tls *t, int r)
{
	char buf[128];

	if (!t->hs && t->first >= 'A' && t->first <= 'Z') {
		tc_fail(t, "peer speaks plain text, not TLS (HTTP to an HTTPS port?)");
		return;
	}
	switch (r) {
	case MBEDTLS_ERR_X509_CERT_VERIFY_FAILED:
	case MBEDTLS_ERR_SSL_BAD_HS_CERTIFICATE:
		/* BAD_HS_CERTIFICATE with no flags: a malformed message, not a
		 * certificate that failed the checks. */
		if (!t->hs && (r == MBEDTLS_ERR_X509_CERT_VERIFY_FAILED || mbedtls_ssl_get_verify_result(&t->ssl) != 0))
			t->certfail = 1;
		mt_verify_error(t);
		break;
	case MBEDTLS_ERR_SSL_NO_CLIENT_CERTIFICATE:
		tc_fail(t, "client sent no certificate (the entry point requires one: tls.ClientCA)");
		break;
	case MBEDTLS_ERR_SSL_BAD_HS_PROTOCOL_VERSION:
		tc_fail(t, "peer does not speak TLS 1.2 (older versions are refused)");
		break;
	case MBEDTLS_ERR_SSL_NO_CIPHER_CHOSEN:
	case MBEDTLS_ERR_SSL_NO_USABLE_CIPHERSUITE:
		tc_fail(t, "no cipher suite, curve or signature hash in common (TLS 1.2 ECDHE with AES-GCM or "
		           "ChaCha20-Poly1305, X25519/P-256/P-384, SHA-256/384 required)");
		break;
	case MBEDTLS_ERR_SSL_FATAL_ALERT_MESSAGE:
		tc_fail(t, "peer sent fatal alert %d (%s)", t->ssl.in_msg[1], tc_alert(t->ssl.in_msg[1]));
		break;
	case MBEDTLS_ERR_SSL_CONN_EOF:
		tc_fail(t, "connection closed by peer during the TLS handshake");
		break;
	case MBEDTLS_ERR_SSL_BAD_HS_CLIENT_HELLO:
		tc_fail(t, "malformed ClientHello");
		break;
	case MBEDTLS_ERR_SSL_INVALID_MAC:
		tc_fail(t, "bad record MAC (data corrupted or tampered with)");
		break;
	case MBEDTLS_ERR_SSL_NO_RNG:
		tc_fail(t, "no entropy for the random generator");
		break;
	default:
		tc_fail(t, "TLS error: %s", mt_strerror(r, buf, sizeof buf));
	}
}

static int
cert_names(const mbedtls_x509_crt *crt, struct tls_cert_info *info, char *err, size_t errlen)
{
	const mbedtls_x509_sequence *s;
	const mbedtls_x509_name *nm, *cn = NULL;

	for (s = &crt->subject_alt_names; s != NULL && s->buf.p != NULL; s = s->next)
		if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 2) && name_add(info, s->buf.p, s->buf.len, err, errlen))
			return -1;
	if (info->n_names > 0)
		return 0;
	for (nm = &crt->subject; nm != NULL; nm = nm->next)
		if (nm->oid.p != NULL && MBEDTLS_OID_CMP(MBEDTLS_OID_AT_CN, &nm->oid) == 0 &&
		    (nm->val.tag == MBEDTLS_ASN1_UTF8_STRING || nm->val.tag == MBEDTLS_ASN1_PRINTABLE_STRING ||
		     nm->val.tag == MBEDTLS_ASN1_IA5_STRING))
			cn = nm;
	return cn != NULL ? name_add(info, cn->val.p, cn->val.len, err, errlen) : 0;
}

/* ------------------------------------------------------------------------
 * Certificates (server).
 * ------------------------------------------------------------------------ */
static void
mt_cert_put(struct tls_cert *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	mbedtls_x509_crt_free(&c->crt);
	mbedtls_pk_free(&c->pk);
	free(c);
}

static int
mt_key_load(struct tls_cert *c, const char *pem, size_t len, char *err, size_t errlen)
{
	char klabel[64], e[128];
	unsigned char *der = NULL;
	size_t dlen = 0;
	int r, ok = -1;

	if (pem_key(pem, len, &der, &dlen, klabel, sizeof klabel, err, errlen) != 0)
		goto out;
	if ((r = mbedtls_pk_parse_key(&c->pk, der, dlen, NULL, 0)) != 0) {
		seterr(err, errlen, "private key: cannot decode (%s)", mt_strerror(r, e, sizeof e));
		goto out;
	}
	if (mbedtls_pk_get_type(&c->pk) == MBEDTLS_PK_RSA) {
		size_t bits = mbedtls_pk_get_bitlen(&c->pk);
		c->type = 'R';
		if (strcmp(klabel, "EC PRIVATE KEY") == 0) {
			seterr(err, errlen, "private key: PEM says %s but holds another key type", klabel);
			goto out;
		}
		if (bits < 2048 || bits > 4096) {
			seterr(err, errlen, "RSA key of %zu bits not supported (2048 to 4096)", bits);
			goto out;
		}
	} else if (mbedtls_pk_get_type(&c->pk) == MBEDTLS_PK_ECKEY) {
		mbedtls_ecp_group_id g = mbedtls_pk_ec(c->pk)->grp.id;
		c->type = 'E';
		if (strcmp(klabel, "RSA PRIVATE KEY") == 0) {
			seterr(err, errlen, "private key: PEM says %s but holds another key type", klabel);
			goto out;
		}
		if (g != MBEDTLS_ECP_DP_SECP256R1 && g != MBEDTLS_ECP_DP_SECP384R1) {
			seterr(err, errlen, "unsupported EC curve (P-256 and P-384 only)");
			goto out;
		}
	} else {
		seterr(err, errlen, "unsupported private key type");
		goto out;
	}
	ok = 0;
out:
	if (der != NULL) {
		tc_wipe(der, dlen);
		ing_free(der);
	}
	return ok;
}

struct tls_cert *
tls_cert_load(const char *chain_pem, size_t clen, const char *key_pem, size_t klen, struct tls_cert_info *info,
              char *err, size_t errlen)
{
	struct tls_cert *c;
	struct tls_cert_info tmp;
	struct pem s = {chain_pem, chain_pem + clen};
	char label[64], e[128];
	unsigned char *d;
	size_t dlen, n = 0;
	int r;

	if (info == NULL)
		info = &tmp;
	memset(info, 0, sizeof *info);
	if (chain_pem == NULL || key_pem == NULL || clen > MT_MAX_PEM || klen > MT_MAX_PEM - clen) {
		seterr(err, errlen, "certificate and key PEM over %d KB", MT_MAX_PEM / 1024);
		return NULL;
	}
	if ((c = calloc(1, sizeof *c)) == NULL) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	c->refs = 1;
	mbedtls_x509_crt_init(&c->crt);
	mbedtls_pk_init(&c->pk);
	while ((r = pem_next(&s, label, sizeof label, &d, &dlen, e, sizeof e)) > 0) {
		if (strcmp(label, "CERTIFICATE") != 0 || n == MT_MAX_CHAIN) {
			ing_free(d);
			if (n == MT_MAX_CHAIN)
				seterr(err, errlen, "certificate chain: more than %d certificates", MT_MAX_CHAIN);
			else
				seterr(err, errlen, "certificate chain: unexpected PEM block %s", label);
			goto bad;
		}
		r = mbedtls_x509_crt_parse_der(&c->crt, d, dlen);
		ing_free(d);
		n++;
		if (r != 0) {
			seterr(err, errlen, "certificate %zu of the chain: cannot decode (%s)", n, mt_strerror(r, e, sizeof e));
			goto bad;
		}
	}
	if (r < 0) {
		seterr(err, errlen, "certificate chain: %s", e);
		goto bad;
	}
	if (n == 0) {
		seterr(err, errlen, "certificate chain: no PEM CERTIFICATE found");
		goto bad;
	}
	info->not_before = mt_time(&c->crt.valid_from);
	info->not_after = mt_time(&c->crt.valid_to);
	if (cert_names(&c->crt, info, err, errlen) != 0)
		goto bad;
	if (mt_key_load(c, key_pem, klen, err, errlen) != 0)
		goto bad;
	if (mbedtls_pk_check_pair(&c->crt.pk, &c->pk) != 0) {
		seterr(err, errlen, "private key does not match the certificate");
		goto bad;
	}
	info->key_type = c->type;
	return c;
bad:
	mt_cert_put(c);
	memset(info, 0, sizeof *info);
	return NULL;
}

void
tls_cert_free(struct tls_cert *c)
{
	mt_cert_put(c);
}

/* ------------------------------------------------------------------------
 * Contexts.
 * ------------------------------------------------------------------------ */
const char *
tls_port_name(void)
{
	return "mbed TLS " MBEDTLS_VERSION_STRING;
}

static void mt_forget(uint64_t serial, uint64_t key);

static void
mt_ctx_put(struct tls_ctx *c)
{
	if (c == NULL || --c->refs > 0)
		return;
	if (!c->server)
		mt_forget(c->serial, 0); /* no later context can use them */
	mbedtls_ssl_config_free(&c->conf);
	mbedtls_x509_crt_free(&c->ca);
	free(c);
}

static int mt_verify(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags);
static int mt_sni(void *p, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len);

static struct tls_ctx *
mt_ctx_new(int server, char *err, size_t errlen)
{
	struct tls_ctx *c;

	if (mt_init(err, errlen) != 0)
		return NULL;
	if ((c = calloc(1, sizeof *c)) == NULL) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	c->refs = 1;
	c->server = server;
	c->serial = ++mt_serials;
	mbedtls_ssl_config_init(&c->conf);
	mbedtls_x509_crt_init(&c->ca);
	if (mt_conf(&c->conf, server ? MBEDTLS_SSL_IS_SERVER : MBEDTLS_SSL_IS_CLIENT) != 0) {
		seterr(err, errlen, "mbed TLS configuration failed");
		mt_ctx_put(c);
		return NULL;
	}
	return c;
}

/* The CAs of a PEM bundle into c->ca, the context's chain. 0, or -1. */
static int
mt_ca_load(struct tls_ctx *c, const char *ca_pem, size_t len, char *err, size_t errlen)
{
	struct pem s = {ca_pem, ca_pem + len};
	char label[64], e[128];
	unsigned char *d;
	size_t dlen, n = 0;
	int r;

	if (ca_pem == NULL || len > ING_MAX_CA_BYTES) {
		seterr(err, errlen, "CA bundle over %d bytes (ING_MAX_CA_BYTES)", ING_MAX_CA_BYTES);
		return -1;
	}
	while ((r = pem_next(&s, label, sizeof label, &d, &dlen, e, sizeof e)) > 0) {
		if (strcmp(label, "CERTIFICATE") != 0) {
			seterr(err, errlen, "CA bundle: unexpected PEM block %s", label);
			ing_free(d);
			return -1;
		}
		r = mbedtls_x509_crt_parse_der(&c->ca, d, dlen);
		ing_free(d);
		n++;
		if (r != 0) {
			seterr(err, errlen, "CA bundle: certificate %zu: cannot decode (%s)", n, mt_strerror(r, e, sizeof e));
			return -1;
		}
	}
	if (r < 0) {
		seterr(err, errlen, "CA bundle: %s", e);
		return -1;
	}
	if (n == 0) {
		seterr(err, errlen, "CA bundle: no PEM CERTIFICATE found");
		return -1;
	}
	mbedtls_ssl_conf_ca_chain(&c->conf, &c->ca, NULL);
	return 0;
}

struct tls_ctx *
tls_client_ctx(const char *ca_pem, size_t len, char *err, size_t errlen)
{
	struct tls_ctx *c;

	if ((c = mt_ctx_new(0, err, errlen)) == NULL)
		return NULL;
	if (ca_pem == NULL) {
		/* insecureSkipVerify: mbed TLS parses the chain and calls no
		 * verification at all (not even mt_verify). */
		mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_NONE);
	} else if (mt_ca_load(c, ca_pem, len, err, errlen) != 0) {
		mt_ctx_put(c);
		return NULL;
	} else {
		mbedtls_ssl_conf_authmode(&c->conf, MBEDTLS_SSL_VERIFY_REQUIRED);
	}
	mbedtls_ssl_conf_session_tickets(&c->conf, MBEDTLS_SSL_SESSION_TICKETS_ENABLED);
	return c;
}

struct tls_ctx *
tls_server_ctx(tls_pick_fn pick, void *arg, char *err, size_t errlen)
{
	struct tls_ctx *c;
	int r;

	if (pick == NULL) {
		seterr(err, errlen, "no certificate pick function");
		return NULL;
	}
	if ((c = mt_ctx_new(1, err, errlen)) == NULL)
		return NULL;
	c->pick = pick;
	c->arg = arg;
	if (!mt_ticket_ready) {
		/* One ticket key for every server context; it rotates daily. */
		mbedtls_ssl_ticket_init(&mt_ticket);
		if ((r = mbedtls_ssl_ticket_setup(&mt_ticket, mbedtls_ctr_drbg_random, &mt_drbg, MBEDTLS_CIPHER_AES_256_GCM,
		                                  86400)) != 0) {
			char e[128];
			seterr(err, errlen, "session tickets: %s", mt_strerror(r, e, sizeof e));
			mbedtls_ssl_ticket_free(&mt_ticket);
			mt_ctx_put(c);
			return NULL;
		}
		mt_ticket_ready = 1;
	}
	mbedtls_ssl_conf_session_tickets_cb(&c->conf, mbedtls_ssl_ticket_write, mbedtls_ssl_ticket_parse, &mt_ticket);
	mbedtls_ssl_conf_sni(&c->conf, mt_sni, c);
	return c;
}

int
tls_server_client_ca(struct tls_ctx *ctx, const char *ca_pem, size_t len, int required, char *err, size_t errlen)
{
	if (ctx == NULL || !ctx->server || ctx->ca.raw.p != NULL) {
		seterr(err, errlen, "not a fresh TLS server context");
		return ING_ERR;
	}
	if (mt_ca_load(ctx, ca_pem, len, err, errlen) != 0)
		return ING_ERR;
	/* OPTIONAL lets a bad certificate through too: mt_handshake refuses it. */
	mbedtls_ssl_conf_authmode(&ctx->conf, required ? MBEDTLS_SSL_VERIFY_REQUIRED : MBEDTLS_SSL_VERIFY_OPTIONAL);
	/* One ticket key serves every context: no resumption here. */
	mbedtls_ssl_conf_session_tickets_cb(&ctx->conf, NULL, NULL, NULL);
	ctx->client_auth = required ? 2 : 1;
	return 0;
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
	mt_ctx_put(ctx);
}

/* ------------------------------------------------------------------------
 * Client verification: our clock, and IP SANs.
 * ------------------------------------------------------------------------ */
static int
mt_is_anchor(const struct tls_ctx *c, const mbedtls_x509_crt *crt)
{
	const mbedtls_x509_crt *a;

	for (a = &c->ca; a != NULL && a->raw.p != NULL; a = a->next)
		if (a->raw.len == crt->raw.len && memcmp(a->raw.p, crt->raw.p, a->raw.len) == 0)
			return 1;
	return 0;
}

static int
mt_verify(void *p, mbedtls_x509_crt *crt, int depth, uint32_t *flags)
{
	struct tls *t = p;
	const mbedtls_x509_sequence *s;
	int64_t nb = mt_time(&crt->valid_from), na = mt_time(&crt->valid_to);
	char b1[40], b2[40];

	/* Trust anchors carry no dates for BearSSL; none here either. */
	*flags &= ~(uint32_t)(MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE);
	if (!mt_is_anchor(t->ctx, crt)) {
		if (t->now > na)
			*flags |= MBEDTLS_X509_BADCERT_EXPIRED;
		if (t->now < nb)
			*flags |= MBEDTLS_X509_BADCERT_FUTURE;
	}
	if (depth == 0 && t->iplen > 0) {
		for (s = &crt->subject_alt_names; s != NULL && s->buf.p != NULL; s = s->next)
			if (s->buf.tag == (MBEDTLS_ASN1_CONTEXT_SPECIFIC | 7) && s->buf.len == t->iplen &&
			    memcmp(s->buf.p, t->ip, t->iplen) == 0)
				break;
		if (s == NULL || s->buf.p == NULL)
			*flags |= MBEDTLS_X509_BADCERT_CN_MISMATCH;
	}
	/* The first reason wins, in BearSSL's order: trust, dates, name. */
	if (*flags & MBEDTLS_X509_BADCERT_NOT_TRUSTED)
		tc_fail(t, "unknown CA: the certificate chain does not lead to a trusted CA");
	if (depth == 0 && t->now > na)
		tc_fail(t, "certificate expired (notAfter %s, now %s)", tm_fmt(na, b1, sizeof b1), tm_fmt(t->now, b2, sizeof b2));
	else if (depth == 0 && t->now < nb)
		tc_fail(t, "certificate not yet valid (notBefore %s, now %s)", tm_fmt(nb, b1, sizeof b1),
		        tm_fmt(t->now, b2, sizeof b2));
	else if (*flags & (MBEDTLS_X509_BADCERT_EXPIRED | MBEDTLS_X509_BADCERT_FUTURE))
		tc_fail(t, "a CA certificate of the chain expired or is not yet valid");
	if (depth == 0 && (*flags & MBEDTLS_X509_BADCERT_CN_MISMATCH)) {
		if (t->iplen > 0)
			tc_fail(t, "server name mismatch: cert has no IP SAN %s", t->host);
		else
			tc_fail(t, "server name mismatch: cert has no DNS SAN (or CN) matching %s", t->host);
	}
	return 0;
}

/* ------------------------------------------------------------------------
 * Server certificate choice.
 * ------------------------------------------------------------------------ */
static int
mt_use(struct tls *t, const char *sni)
{
	struct tls_cert *c = t->ctx->pick(sni, t->ctx->arg);

	if (c == NULL) {
		tc_fail(t, "no certificate for %s%s", sni != NULL ? "SNI name " : "clients without SNI",
		        sni != NULL ? sni : "");
		return -1;
	}
	c->refs++;
	mt_cert_put(t->cert);
	t->cert = c;
	return mbedtls_ssl_set_hs_own_cert(&t->ssl, &c->crt, &c->pk);
}

static int
mt_sni(void *p, mbedtls_ssl_context *ssl, const unsigned char *name, size_t len)
{
	struct tls *t = (struct tls *)(void *)ssl;
	char sni[256];

	(void)p;
	if (len == 0 || len >= sizeof sni || memchr(name, '\0', len) != NULL) {
		tc_fail(t, "malformed server name (SNI)");
		return -1;
	}
	memcpy(sni, name, len);
	sni[len] = '\0';
	return mt_use(t, sni);
}

/* 1 when a ClientHello (handshake message in rec) has a server_name
 * extension, 0 when not or when it cannot be read (mbed TLS rejects those). */
static int
mt_hello_has_sni(const unsigned char *p, size_t n)
{
	size_t k, end;

	if (n < 4 || p[0] != 1)
		return 0;
	end = 4 + ((size_t)p[1] << 16 | (size_t)p[2] << 8 | p[3]);
	if (end > n)
		return 0;
	k = 4 + 2 + 32; /* version, random */
	if (k + 1 > end || (k += 1 + p[k]) + 2 > end)                    /* session id */
		return 0;
	if ((k += 2 + ((size_t)p[k] << 8 | p[k + 1])) + 1 > end)        /* cipher suites */
		return 0;
	if ((k += 1 + p[k]) + 2 > end)                                   /* compression */
		return 0;
	k += 2; /* extensions length: walk them to the end of the message */
	while (k + 4 <= end) {
		if (p[k] == 0 && p[k + 1] == 0)
			return 1;
		k += 4 + ((size_t)p[k + 2] << 8 | p[k + 3]);
	}
	return 0;
}

/* Copies the first record as mbed TLS reads it; once complete, and before
 * mbed TLS parses it, a hello without SNI gets pick(NULL). */
static void
mt_tee(struct tls *t, const unsigned char *p, size_t n)
{
	size_t k, need;

	while (n > 0 && !t->hello_done) {
		if (t->hlen < 5) {
			k = 5 - t->hlen < n ? 5 - t->hlen : n;
			memcpy(t->hhdr + t->hlen, p, k);
			t->hlen += k;
			p += k;
			n -= k;
			if (t->hlen < 5)
				return;
			need = (size_t)t->hhdr[3] << 8 | t->hhdr[4];
			if (t->hhdr[0] != 22 || need == 0 || need > MT_MAX_HELLO || (t->hello = malloc(need)) == NULL) {
				t->hello_done = 1; /* not a handshake record: mbed TLS refuses it */
				return;
			}
			continue;
		}
		need = ((size_t)t->hhdr[3] << 8 | t->hhdr[4]) + 5;
		k = need - t->hlen < n ? need - t->hlen : n;
		memcpy(t->hello + (t->hlen - 5), p, k);
		t->hlen += k;
		p += k;
		n -= k;
		if (t->hlen == need) {
			if (!mt_hello_has_sni(t->hello, need - 5))
				mt_use(t, NULL);
			t->hello_done = 1;
			free(t->hello);
			t->hello = NULL;
		}
	}
}

/* ------------------------------------------------------------------------
 * Sessions.
 * ------------------------------------------------------------------------ */
static int
mt_send(void *ctx, const unsigned char *buf, size_t len)
{
	struct tls *t = ctx;
	ssize_t n = send(t->fd, buf, len, MSG_NOSIGNAL);

	if (n >= 0)
		return (int)n;
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_WRITE;
	tc_fail(t, "send: %s", ing_strerror(errno));
	return MBEDTLS_ERR_NET_SEND_FAILED;
}

static int
mt_recv(void *ctx, unsigned char *buf, size_t len)
{
	struct tls *t = ctx;
	ssize_t n = read(t->fd, buf, len);

	if (n > 0) {
		if (t->first == 0)
			t->first = buf[0];
		if (t->server && !t->hello_done)
			mt_tee(t, buf, (size_t)n);
		return (int)n;
	}
	if (n == 0)
		return 0; /* mbed TLS: MBEDTLS_ERR_SSL_CONN_EOF */
	if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
		return MBEDTLS_ERR_SSL_WANT_READ;
	tc_fail(t, "recv: %s", ing_strerror(errno));
	return MBEDTLS_ERR_NET_RECV_FAILED;
}

static struct tls *
mt_new(struct tls_ctx *ctx, int server, int fd, char *err, size_t errlen)
{
	struct tls *t;
	int r;

	if (ctx == NULL || ctx->server != server) {
		seterr(err, errlen, "not a TLS %s context", server ? "server" : "client");
		return NULL;
	}
	if (mt_live >= ING_TLS_SESSIONS) {
		seterr(err, errlen, "too many TLS sessions (limit is %d, ING_TLS_SESSIONS)", ING_TLS_SESSIONS);
		return NULL;
	}
	if ((t = calloc(1, sizeof *t)) == NULL) {
		seterr(err, errlen, "out of memory");
		return NULL;
	}
	mbedtls_ssl_init(&t->ssl);
	if ((r = mbedtls_ssl_setup(&t->ssl, &ctx->conf)) != 0) {
		char e[128];
		seterr(err, errlen, "TLS session setup: %s", mt_strerror(r, e, sizeof e));
		mbedtls_ssl_free(&t->ssl);
		free(t);
		return NULL;
	}
	t->ctx = ctx;
	ctx->refs++;
	t->fd = fd;
	t->server = server;
	t->rwant = t->wwant = server ? POLLIN : POLLOUT; /* who speaks first */
	mbedtls_ssl_set_bio(&t->ssl, t, mt_send, mt_recv, NULL);
	mt_live++;
	return t;
}

/* ------------------------------------------------------------------------
 * Remembered client sessions: a fixed table, least recently used replaced.
 * ------------------------------------------------------------------------ */
static struct mt_resume *
mt_find(uint64_t serial, uint64_t key)
{
	for (size_t i = 0; i < MT_RESUMES; i++)
		if (mt_resumes[i].serial == serial && mt_resumes[i].key == key && serial != 0)
			return &mt_resumes[i];
	return NULL;
}

/* Frees a context's session for key, or all of them (key 0). */
static void
mt_forget(uint64_t serial, uint64_t key)
{
	for (size_t i = 0; i < MT_RESUMES; i++) {
		struct mt_resume *e = &mt_resumes[i];
		if (e->serial != 0 && e->serial == serial && (key == 0 || e->key == key)) {
			mbedtls_ssl_session_free(&e->s); /* also wipes the master secret */
			e->serial = e->key = e->used = 0;
		}
	}
}

/* After a client's handshake under a key: keep (or refresh) its session. */
static void
mt_remember(struct tls *t)
{
	const mbedtls_ssl_session *s = mbedtls_ssl_get_session_pointer(&t->ssl);
	struct mt_resume *e = mt_find(t->ctx->serial, t->resume), *lru = NULL;
	/* After a full handshake without a new ticket, mbed TLS still holds the
	 * ticket it offered: a dead one, which would hide the session ID. */
	int stale = s != NULL && s->ticket != NULL && !t->resumed && !t->ticketed;

	if (ING_MAX_TLS_RESUME <= 0) /* resumption configured away */
		return;
	/* A server that gave neither an ID nor a ticket cannot resume it. */
	if (s == NULL || (s->id_len < 16 && (s->ticket == NULL || s->ticket_len == 0 || stale))) {
		mt_forget(t->ctx->serial, t->resume);
		return;
	}
	for (size_t i = 0; e == NULL && i < MT_RESUMES; i++) {
		if (mt_resumes[i].serial == 0)
			e = &mt_resumes[i];
		else if (lru == NULL || mt_resumes[i].used < lru->used)
			lru = &mt_resumes[i];
	}
	if (e == NULL) {
		e = lru;
		mt_forget(e->serial, e->key);
	}
	/* The copy frees what the slot held first. */
	if (mbedtls_ssl_get_session(&t->ssl, &e->s) != 0) {
		mbedtls_ssl_session_free(&e->s);
		e->serial = e->key = e->used = 0;
		return;
	}
	if (stale) {
		mbedtls_platform_zeroize(e->s.ticket, e->s.ticket_len);
		mbedtls_free(e->s.ticket);
		e->s.ticket = NULL;
		e->s.ticket_len = 0;
	}
	e->serial = t->ctx->serial;
	e->key = t->resume;
	e->used = ++mt_clock;
}

struct tls *
tls_client(struct tls_ctx *ctx, int fd, const char *host, uint64_t resume, char *err, size_t errlen)
{
	struct tls *t;
	struct mt_resume *m;
	unsigned char ip[16];
	size_t iplen = 0;
	int r;

	if (tc_host(host, ip, &iplen, err, errlen) != 0)
		return NULL;
	if ((t = mt_new(ctx, 0, fd, err, errlen)) == NULL)
		return NULL;
	memcpy(t->ip, ip, iplen);
	t->iplen = iplen;
	ing_snprintf(t->host, sizeof t->host, "%s", host);
	t->now = tc_now();
	mbedtls_ssl_set_verify(&t->ssl, mt_verify, t);
	/* A hostname means SNI and a DNS name check: never for IP literals. */
	if (iplen == 0 && (r = mbedtls_ssl_set_hostname(&t->ssl, host)) != 0) {
		char e[128];
		seterr(err, errlen, "TLS client start: %s", mt_strerror(r, e, sizeof e));
		tls_free(t);
		return NULL;
	}
	t->resume = resume;
	if (resume != 0 && (m = mt_find(ctx->serial, resume)) != NULL) {
		m->used = ++mt_clock;
		/* A copy that fails just means a full handshake. */
		t->offered = mbedtls_ssl_set_session(&t->ssl, &m->s) == 0;
	}
	return t;
}

struct tls *
tls_server(struct tls_ctx *ctx, int fd, char *err, size_t errlen)
{
	struct tls *t = mt_new(ctx, 1, fd, err, errlen);

	if (t != NULL && ctx->client_auth) {
		t->now = tc_now();
		mbedtls_ssl_set_verify(&t->ssl, mt_verify, t);
	}
	return t;
}

const unsigned char *
tls_peer_cert(struct tls *t, size_t *len)
{
	const mbedtls_x509_crt *crt;

	*len = 0;
	if (t == NULL || !t->server || !t->hs || !t->ctx->client_auth ||
	    (crt = mbedtls_ssl_get_peer_cert(&t->ssl)) == NULL || mbedtls_ssl_get_verify_result(&t->ssl) != 0)
		return NULL;
	*len = crt->raw.len;
	return crt->raw.p;
}

int
tls_sessions(void)
{
	return mt_live;
}

/* mbedtls_ssl_handshake, one step at a time: the step that reads the
 * ServerHello goes to the server's Certificate, or straight to its
 * ChangeCipherSpec when the server took the offered session; a step that
 * ends at ChangeCipherSpec from there (or from NewSessionTicket, where it
 * waited for the message) read a NewSessionTicket. */
static int
mt_steps(struct tls *t)
{
	int r = 0, st;

	while (t->ssl.state != MBEDTLS_SSL_HANDSHAKE_OVER) {
		st = t->ssl.state;
		if ((r = mbedtls_ssl_handshake_step(&t->ssl)) != 0)
			break;
		if (t->server)
			continue;
		if (st == MBEDTLS_SSL_SERVER_HELLO)
			t->resumed = t->offered && t->ssl.state == MBEDTLS_SSL_SERVER_CHANGE_CIPHER_SPEC;
		else if ((st == MBEDTLS_SSL_SERVER_CHANGE_CIPHER_SPEC || st == MBEDTLS_SSL_SERVER_NEW_SESSION_TICKET) &&
		         t->ssl.state == MBEDTLS_SSL_SERVER_CHANGE_CIPHER_SPEC)
			t->ticketed = 1;
	}
	return r;
}

/* 0 once the handshake is done, ING_WAIT, or ING_ERR. */
static int
mt_handshake(struct tls *t)
{
	int r;

	if (t->hs)
		return 0;
	r = mt_steps(t);
	if (r == 0 && t->server && t->ctx->client_auth && mbedtls_ssl_get_peer_cert(&t->ssl) != NULL &&
	    mbedtls_ssl_get_verify_result(&t->ssl) != 0) {
		/* ClientCA optional: no certificate is fine, a bad one is not. */
		t->certfail = 1;
		mt_verify_error(t);
		(void)mbedtls_ssl_send_alert_message(&t->ssl, MBEDTLS_SSL_ALERT_LEVEL_FATAL,
		                                     MBEDTLS_SSL_ALERT_MSG_BAD_CERT);
		errno = EPROTO;
		return ING_ERR;
	}
	if (r == 0) {
		t->hs = 1;
		t->rwant = t->wwant = 0;
		if (!t->server && t->resume != 0)
			mt_remember(t);
		return 0;
	}
	if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
		t->rwant = t->wwant = r == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT;
		errno = EAGAIN;
		return ING_WAIT;
	}
	/* A session that led here is not offered again (a server that takes
	 * it and then fails would fail every connection). */
	if (t->offered)
		mt_forget(t->ctx->serial, t->resume);
	mt_note(t, r);
	errno = EPROTO;
	return ING_ERR;
}

int
tls_handshake(struct tls *t)
{
	int r;

	if (t->hs)
		return 1;
	if (t->err[0] != '\0') {
		errno = EPROTO;
		return ING_ERR;
	}
	r = mt_handshake(t);
	return r == 0 ? 1 : r;
}

int
tls_info(struct tls *t)
{
	int i = 0;

	if (t == NULL)
		return 0;
	if (t->hs)
		i |= ING_TLS_DONE | (t->resumed ? ING_TLS_RESUMED : 0);
	if (t->certfail)
		i |= ING_TLS_CERT;
	return i;
}

int
tls_want(struct tls *t, int app)
{
	int ev = 0;

	if (t->err[0] != '\0' || t->closed)
		return app != 0 ? POLLIN | POLLOUT : 0;
	if (t->ssl.out_left > 0)
		ev |= POLLOUT;
	if (!t->hs)
		return ev | t->rwant;
	if (app & POLLIN) /* at EOF poll returns at once and the read says 0 */
		ev |= t->rwant != 0 && !t->eof ? t->rwant : POLLIN;
	if (app & POLLOUT)
		ev |= t->wwant != 0 ? t->wwant : POLLOUT;
	return ev;
}

ssize_t
tls_read(struct tls *t, void *buf, size_t n)
{
	int r;

	if (t->err[0] != '\0') {
		errno = EPROTO;
		return ING_ERR;
	}
	if (t->closed || t->eof || n == 0)
		return 0;
	if ((r = mt_handshake(t)) != 0)
		return r;
	r = mbedtls_ssl_read(&t->ssl, buf, n > INT_MAX ? INT_MAX : n);
	t->rwant = 0;
	if (r > 0)
		return r;
	if (r == MBEDTLS_ERR_SSL_PEER_CLOSE_NOTIFY) {
		t->closed = 1;
		return 0;
	}
	if (r == 0 || r == MBEDTLS_ERR_SSL_CONN_EOF) {
		/* A bare EOF after the handshake reads as a close: HTTP framing,
		 * not close_notify, protects against truncation. */
		t->eof = 1;
		return 0;
	}
	if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
		t->rwant = r == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT;
		errno = EAGAIN;
		return ING_WAIT;
	}
	mt_note(t, r);
	errno = EPROTO;
	return ING_ERR;
}

ssize_t
tls_write(struct tls *t, const void *buf, size_t n)
{
	int r, max;

	if (t->err[0] != '\0') {
		errno = EPROTO;
		return ING_ERR;
	}
	if (t->closed) {
		tc_fail(t, "write after the peer closed the connection");
		errno = EPIPE;
		return ING_ERR;
	}
	if ((r = mt_handshake(t)) != 0)
		return r;
	t->wwant = 0;
	/* Queued records go out first: with out_left set, mbedtls_ssl_write()
	 * only flushes and reports the new data as written. A write of nothing
	 * is the public way to flush (mbedtls_ssl_flush_output is internal). */
	if (t->ssl.out_left > 0 && (r = mbedtls_ssl_write(&t->ssl, NULL, 0)) != 0) {
		if (r == MBEDTLS_ERR_SSL_WANT_WRITE) {
			t->wwant = POLLOUT;
			errno = EAGAIN;
			return ING_WAIT;
		}
		mt_note(t, r);
		return ING_ERR;
	}
	if (n == 0) /* a flush only: mbedtls_ssl_write would send an empty record */
		return 0;
	if ((max = mbedtls_ssl_get_max_out_record_payload(&t->ssl)) > 0 && n > (size_t)max)
		n = (size_t)max;
	r = mbedtls_ssl_write(&t->ssl, buf, n);
	if (r > 0)
		return r;
	/* The record holding buf is built and queued; tls_busy() says so. */
	if (r == MBEDTLS_ERR_SSL_WANT_WRITE && t->ssl.out_left > 0)
		return (ssize_t)n;
	if (r == MBEDTLS_ERR_SSL_WANT_READ || r == MBEDTLS_ERR_SSL_WANT_WRITE) {
		t->wwant = r == MBEDTLS_ERR_SSL_WANT_READ ? POLLIN : POLLOUT;
		errno = EAGAIN;
		return ING_WAIT;
	}
	mt_note(t, r);
	errno = EPROTO;
	return ING_ERR;
}

size_t
tls_pending(struct tls *t)
{
	return mbedtls_ssl_get_bytes_avail(&t->ssl);
}

int
tls_busy(struct tls *t)
{
	return t->ssl.out_left > 0;
}

const char *
tls_error(struct tls *t)
{
	if (t == NULL)
		return "no TLS session";
	return t->err[0] != '\0' ? t->err : "no error";
}

void
tls_free(struct tls *t)
{
	if (t == NULL)
		return;
	/* Best effort close_notify, one non-blocking try (fd is closed after). */
	if (t->hs && t->err[0] == '\0' && !t->closed)
		(void)mbedtls_ssl_close_notify(&t->ssl);
	free(t->hello);
	mbedtls_ssl_free(&t->ssl);
	mt_cert_put(t->cert);
	mt_ctx_put(t->ctx);
	free(t);
	mt_live--;
}

/* ------------------------------------------------------------------------
 * Hashes for basic auth and sticky cookies; the context lives in
 * ing_hash.st.
 * ------------------------------------------------------------------------ */
_Static_assert(sizeof(mbedtls_md5_context) <= sizeof(((struct ing_hash *)0)->st) &&
                   sizeof(mbedtls_sha1_context) <= sizeof(((struct ing_hash *)0)->st) &&
                   sizeof(mbedtls_sha256_context) <= sizeof(((struct ing_hash *)0)->st),
               "ing_hash.st too small for an mbed TLS hash context");

int
tls_hash_init(struct ing_hash *h, int alg)
{
	void *c = h->st;
	int r;

	h->alg = 0;
	switch (alg) {
	case ING_HASH_MD5:
		mbedtls_md5_init(c);
		r = mbedtls_md5_starts_ret(c);
		break;
	case ING_HASH_SHA1:
		mbedtls_sha1_init(c);
		r = mbedtls_sha1_starts_ret(c);
		break;
	case ING_HASH_SHA256:
		mbedtls_sha256_init(c);
		r = mbedtls_sha256_starts_ret(c, 0);
		break;
	default:
		return ING_ERR;
	}
	if (r != 0)
		return ING_ERR;
	h->alg = alg;
	return 0;
}

void
tls_hash_update(struct ing_hash *h, const void *p, size_t n)
{
	void *c = h->st;

	switch (h->alg) {
	case ING_HASH_MD5:
		(void)mbedtls_md5_update_ret(c, p, n);
		break;
	case ING_HASH_SHA1:
		(void)mbedtls_sha1_update_ret(c, p, n);
		break;
	case ING_HASH_SHA256:
		(void)mbedtls_sha256_update_ret(c, p, n);
		break;
	}
}

void
tls_hash_out(struct ing_hash *h, unsigned char *out)
{
	void *c = h->st;

	switch (h->alg) {
	case ING_HASH_MD5:
		(void)mbedtls_md5_finish_ret(c, out);
		mbedtls_md5_free(c);
		break;
	case ING_HASH_SHA1:
		(void)mbedtls_sha1_finish_ret(c, out);
		mbedtls_sha1_free(c);
		break;
	case ING_HASH_SHA256:
		(void)mbedtls_sha256_finish_ret(c, out);
		mbedtls_sha256_free(c);
		break;
	}
	h->alg = 0;
}
