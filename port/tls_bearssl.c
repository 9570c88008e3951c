/*
 * port/tls_bearssl.c - the TLS port on BearSSL 0.6 (the default build).
 *
 * BearSSL leaves memory and I/O to its caller, which is what ingressd's
 * loop wants: a session is an engine context plus its ~33 KB bidirectional
 * buffer in a static slot (~41 KB with the contexts; ING_MAX_TLS_CONNS of
 * them in .bss, touched only when used), and tls_read/tls_write move records
 * between the engine and the non-blocking socket as
 * br_ssl_engine_current_state() asks (tools/sslio.c, without the blocking).
 *
 * Profile, both directions: TLS 1.2 only (BearSSL 0.6 has no TLS 1.3);
 * ECDHE_ECDSA and ECDHE_RSA with AES-128-GCM, AES-256-GCM or
 * ChaCha20-Poly1305; SHA-256/384 signatures; X25519, P-256, P-384. No CBC,
 * no RSA key exchange, no renegotiation. Only the engines of that profile
 * are configured (not br_ssl_*_init_full), so the linker leaves out the
 * rest. Servers resume sessions from a 64 KB LRU session-ID cache.
 *
 * Clients: br_x509_minimal matches DNS names only. For an IP literal it runs
 * without a name and bs_x509 (wrapped around it) keeps the end-entity
 * certificate to find the address among its iPAddress SANs. Without CAs
 * (insecureSkipVerify) bs_x509 ignores minimal's verdict and takes the key
 * from the end-entity certificate itself. Clients resume sessions by ID
 * from bs_res, remembered per (context, peer key).
 *
 * Servers: the certificate is picked per handshake from the SNI name by
 * ingressd (bp_choose); certificates are parsed here from PEM and must
 * survive any input: tls_cert_load is fuzzed (test/fuzz/fuzz_pem.c).
 */
#define _POSIX_C_SOURCE 200809L
#include <arpa/inet.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <bearssl.h>

#include "../ingressd.h"

#define BS_MAX_CHAIN 10            /* certificates in a served chain */
#define BS_MAX_PEM (256 * 1024)    /* certificate chain + key, PEM bytes */
#define BS_MAX_EE (16 * 1024)      /* server certificate kept for IP checks */
#define BS_MAX_DN 4096             /* subject DN of a trust anchor */
#define BS_LRU_BYTES (64 * 1024)   /* server session cache, 100 B a session */
#define BS_RSA_ELT 260             /* RSA private element (4096-bit keys) */
#define BS_ERRLEN 192

/* ------------------------------------------------------------------------
 * Types.
 * ------------------------------------------------------------------------ */
struct tls_ctx {
	int refs;     /* ingressd's reference + one per session */
	int server;
	int insecure;  /* client without CAs: no certificate check */
	uint32_t id;   /* serial: remembered sessions name their context by it */
	br_x509_trust_anchor *tas; /* client: CA bundle; server: client CAs */
	size_t ntas;
	tls_pick_fn pick; /* server */
	void *arg;
	int client_auth; /* server: 0 none, 1 optional, 2 required */
};

struct tls_cert {
	int refs; /* ingressd's reference + one per session that chose it */
	int type; /* BR_KEYTYPE_RSA or BR_KEYTYPE_EC */
	size_t nchain;
	br_x509_certificate chain[BS_MAX_CHAIN];
	union {
		br_rsa_private_key rsa;
		br_ec_private_key ec;
	} sk;
	unsigned char kbuf[5 * BS_RSA_ELT];
};

/* br_x509_minimal plus the end-entity certificate: a client checks IP
 * hosts against it, a server checks its extendedKeyUsage and keeps it. */
struct bs_x509 {
	const br_x509_class *vtable;
	br_x509_minimal_context mini;
	struct tls *t;
	unsigned char ip[16];
	size_t iplen; /* 0: host is a DNS name, matched by mini */
	unsigned char *ee;
	size_t eelen, eecap;
	int ncert;
	int nomem; /* no room for ee; 2: the chain failed for it */
	unsigned bad; /* server: the client's chain failed with this error */
	int64_t now;
	br_x509_decoder_context dec; /* insecure: the end-entity key */
	char host[ING_NAME_LEN];
};

/* Server: the certificate policy, choosing by SNI through ingressd. */
struct bs_policy {
	const br_ssl_server_policy_class *vtable;
	struct tls *t;
};

struct tls {
	union {
		br_ssl_client_context cc;
		br_ssl_server_context sc;
	} u;
	struct bs_x509 x;
	struct bs_policy pol; /* server */
	br_ssl_engine_context *eng;
	struct tls_ctx *ctx;
	struct tls_cert *cert; /* server: the one bp_choose took */
	struct tls *next;      /* free list */
	int fd;
	int live, server;
	int hs;  /* handshake done: application data may flow */
	int eof; /* the socket read returned 0 */
	int wshut; /* send gave EPIPE: our side was shut (lingering close) */
	int first; /* first byte from the peer, 0 before it */
	int info;  /* ING_TLS_* */
	uint64_t resume;       /* client: the peer's key in bs_res, 0 none */
	unsigned char offered[32]; /* client: the session ID offered (resumption) */
	int offered_len;
	char err[BS_ERRLEN];
	/* Last, so pages a short session never reaches stay untouched. */
	unsigned char buf[BR_SSL_BUFSIZE_BIDI];
};

#include "tls_common.c"

/* What lives on the heap (ing_alloc) needs no more than its 8-byte alignment. */
_Static_assert(_Alignof(struct tls_cert) <= 8 && _Alignof(struct tls_ctx) <= 8 && _Alignof(br_x509_trust_anchor) <= 8,
               "heap alignment");

/* 1 when a client may authenticate with the certificate: no
 * extendedKeyUsage, or one listing clientAuth or anyExtendedKeyUsage (as
 * Go's crypto/tls asked); 0 when not, -1 when it cannot be read. */
static int
cert_client_use(const unsigned char *p, size_t n)
{
	static const unsigned char client_auth[] = {0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x02};
	static const unsigned char any[] = {0x55, 0x1d, 0x25, 0x00};
	struct certf f;
	struct der eku, id;
	int r;

	if (cert_fields(p, n, &f) != 0 || (r = cert_ext(&f, 0x25, &eku)) < 0)
		return -1;
	if (r == 0)
		return 1;
	while (eku.n > 0) {
		if (der_take(&eku, 0x06, &id) != 0)
			return -1;
		if ((id.n == sizeof client_auth && memcmp(id.p, client_auth, id.n) == 0) ||
		    (id.n == sizeof any && memcmp(id.p, any, id.n) == 0))
			return 1;
	}
	return 0;
}

/* 1 when ip is one of the certificate's iPAddress SANs ([7], compared
 * byte for byte), 0 when not, -1 when the certificate cannot be read. */
static int
cert_has_ip(const unsigned char *p, size_t n, const unsigned char *ip, size_t iplen)
{
	struct certf f;
	struct der names, v;
	unsigned tag;
	int r;

	if (cert_fields(p, n, &f) != 0 || (r = cert_san(&f, &names)) < 0)
		return -1;
	if (r == 0)
		return 0;
	while (names.n > 0) {
		if (der_next(&names, &tag, &v) != 0)
			return -1;
		if (tag == 0x87 && v.n == iplen && memcmp(v.p, ip, iplen) == 0)
			return 1;
	}
	return 0;
}

/* info->names: the DNS SANs, or the (last) CN when there are none. */
static int
cert_names(const struct certf *f, struct tls_cert_info *info, char *err, size_t errlen)
{
	static const unsigned char oid_cn[] = {0x55, 0x04, 0x03};
	struct der names, v, subj = f->subject, set, atv, oid, cn = {NULL, 0};
	unsigned tag;
	int r;

	if ((r = cert_san(f, &names)) < 0)
		goto bad;
	while (r == 1 && names.n > 0) {
		if (der_next(&names, &tag, &v) != 0)
			goto bad;
		if (tag == 0x82 && name_add(info, v.p, v.n, err, errlen) != 0)
			return -1;
	}
	if (info->n_names > 0)
		return 0;
	while (subj.n > 0) {
		if (der_take(&subj, 0x31, &set) != 0)
			goto bad;
		while (set.n > 0) {
			if (der_take(&set, 0x30, &atv) != 0 || der_take(&atv, 0x06, &oid) != 0 ||
			    der_next(&atv, &tag, &v) != 0)
				goto bad;
			if (oid.n == sizeof oid_cn && memcmp(oid.p, oid_cn, sizeof oid_cn) == 0 &&
			    (tag == 0x0c || tag == 0x13 || tag == 0x16))
				cn = v;
		}
	}
	if (cn.p != NULL)
		return name_add(info, cn.p, cn.n, err, errlen);
	return 0;
bad:
	seterr(err, errlen, "certificate has a malformed name or subjectAltName");
	return -1;
}

/* ------------------------------------------------------------------------
 * Engine configuration shared by clients and servers.
 * ------------------------------------------------------------------------ */

/* Without AES instructions (every ARM board: BearSSL 0.6 has no ARMv8
 * AES code) constant-time AES is several times slower than ChaCha20. */
static const uint16_t bs_suites_chacha[] = {
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
};
#if defined(__x86_64__) || defined(__i386__)
static const uint16_t bs_suites_aes[] = {
	BR_TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_RSA_WITH_AES_128_GCM_SHA256,
	BR_TLS_ECDHE_ECDSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384,
	BR_TLS_ECDHE_ECDSA_WITH_CHACHA20_POLY1305_SHA256,
	BR_TLS_ECDHE_RSA_WITH_CHACHA20_POLY1305_SHA256,
};
#endif

/* br_ec_all without P-521, so both ports offer the same curves. */
static const br_ec_impl *
bs_ec(void)
{
	static br_ec_impl ec;

	if (ec.supported_curves == 0) {
		ec = *br_ec_get_default();
		ec.supported_curves &= (uint32_t)1 << BR_EC_curve25519 | (uint32_t)1 << BR_EC_secp256r1 |
		                       (uint32_t)1 << BR_EC_secp384r1;
	}
	return &ec;
}

static void
bs_profile(br_ssl_engine_context *eng)
{
	const uint16_t *suites = bs_suites_chacha;

#if defined(__x86_64__) || defined(__i386__)
	if (br_aes_x86ni_ctr_get_vtable() != NULL)
		suites = bs_suites_aes;
#endif
	br_ssl_engine_set_versions(eng, BR_TLS12, BR_TLS12);
	br_ssl_engine_set_suites(eng, suites, sizeof bs_suites_chacha / sizeof bs_suites_chacha[0]);
	br_ssl_engine_set_hash(eng, br_sha256_ID, &br_sha256_vtable);
	br_ssl_engine_set_hash(eng, br_sha384_ID, &br_sha384_vtable);
	br_ssl_engine_set_prf_sha256(eng, &br_tls12_sha256_prf);
	br_ssl_engine_set_prf_sha384(eng, &br_tls12_sha384_prf);
	br_ssl_engine_set_default_aes_gcm(eng);
	/* br_ssl_engine_set_default_chapol's choice, made at build time so a
	 * 64-bit build does not carry the 32-bit Poly1305 it never uses
	 * (BearSSL has ctmulq wherever the compiler has 128-bit integers,
	 * which gcc and clang do on every 64-bit target) */
	br_ssl_engine_set_chapol(eng, &br_sslrec_in_chapol_vtable, &br_sslrec_out_chapol_vtable);
#if defined(__x86_64__)
	br_ssl_engine_set_chacha20(eng, br_chacha20_sse2_get() ? br_chacha20_sse2_get() : &br_chacha20_ct_run);
#else
	br_ssl_engine_set_chacha20(eng, &br_chacha20_ct_run);
#endif
#if UINTPTR_MAX > 0xffffffffu
	br_ssl_engine_set_poly1305(eng, br_poly1305_ctmulq_get());
#else
	br_ssl_engine_set_poly1305(eng, &br_poly1305_ctmul_run);
#endif
	br_ssl_engine_set_ec(eng, bs_ec());
	br_ssl_engine_add_flags(eng, BR_OPT_NO_RENEGOTIATION);
}

/* ------------------------------------------------------------------------
 * Error texts. BearSSL keeps the first error; these say it in words.
 * ------------------------------------------------------------------------ */
static const struct {
	int code;
	const char *text;
} bs_errs[] = {
	{BR_ERR_UNSUPPORTED_VERSION, "peer does not speak TLS 1.2 (older versions are refused)"},
	{BR_ERR_BAD_VERSION, "unexpected protocol version"},
	{BR_ERR_BAD_LENGTH, "bad record length (not TLS?)"},
	{BR_ERR_TOO_LARGE, "record too large"},
	{BR_ERR_BAD_MAC, "bad record MAC (data corrupted or tampered with)"},
	{BR_ERR_NO_RANDOM, "no entropy for the random generator"},
	{BR_ERR_UNKNOWN_TYPE, "unknown record type (not TLS?)"},
	{BR_ERR_UNEXPECTED, "unexpected handshake message"},
	{BR_ERR_BAD_HANDSHAKE, "malformed handshake message or no common parameters"},
	{BR_ERR_BAD_CIPHER_SUITE, "no cipher suite, curve or signature hash in common (TLS 1.2 ECDHE with AES-GCM or "
	                          "ChaCha20-Poly1305, X25519/P-256/P-384, SHA-256/384 required)"},
	{BR_ERR_BAD_SNI, "malformed server name (SNI)"},
	{BR_ERR_BAD_FINISHED, "bad Finished message"},
	{BR_ERR_INVALID_ALGORITHM, "peer chose an algorithm that was not offered"},
	{BR_ERR_BAD_SIGNATURE, "bad handshake signature from the peer"},
	{BR_ERR_WRONG_KEY_USAGE, "certificate key does not allow this cipher suite"},
	{BR_ERR_IO, "I/O error"},
	{BR_ERR_X509_EMPTY_CHAIN, "peer sent no certificate"},
	{BR_ERR_NO_CLIENT_AUTH, "client sent no certificate (the entry point requires one: tls.ClientCA)"},
	{BR_ERR_X509_NOT_TRUSTED, "unknown CA: the certificate chain does not lead to a trusted CA"},
	{BR_ERR_X509_EXPIRED, "certificate expired or not yet valid"},
	{BR_ERR_X509_BAD_SERVER_NAME, "server name mismatch"},
	{BR_ERR_X509_BAD_SIGNATURE, "bad certificate signature"},
	{BR_ERR_X509_UNSUPPORTED, "certificate uses an unsupported algorithm"},
	{BR_ERR_X509_WRONG_KEY_TYPE, "certificate key type does not match its signature"},
	{BR_ERR_X509_CRITICAL_EXTENSION, "certificate has an unknown critical extension"},
	{BR_ERR_X509_NOT_CA, "an issuing certificate is not a CA"},
	{BR_ERR_X509_FORBIDDEN_KEY_USAGE, "certificate key usage forbids this use (TLS server or client)"},
	{BR_ERR_X509_WEAK_PUBLIC_KEY, "certificate key too weak"},
	{BR_ERR_X509_LIMIT_EXCEEDED, "certificate chain too long or too large"},
	{BR_ERR_X509_DN_MISMATCH, "certificate chain is out of order"},
	{BR_ERR_X509_TIME_UNKNOWN, "no validation time"},
};

/* Puts error e into t->err unless a better text is there. */
static void
bs_say(struct tls *t, int e)
{
	size_t i;

	if (t->err[0] != '\0' || e == BR_ERR_OK)
		return;
	if (!t->hs && t->first >= 'A' && t->first <= 'Z') {
		tc_fail(t, "peer speaks plain text, not TLS (HTTP to an HTTPS port?)");
		return;
	}
	/* BearSSL reports its own handshake refusals as the alert it sent. */
	if (e == BR_ERR_SEND_FATAL_ALERT + 70)
		e = BR_ERR_UNSUPPORTED_VERSION;
	else if (e == BR_ERR_SEND_FATAL_ALERT + 40)
		e = BR_ERR_BAD_CIPHER_SUITE;
	if (e >= BR_ERR_SEND_FATAL_ALERT) {
		tc_fail(t, "sent fatal alert %d (%s)", e - BR_ERR_SEND_FATAL_ALERT, tc_alert(e - BR_ERR_SEND_FATAL_ALERT));
		return;
	}
	if (e >= BR_ERR_RECV_FATAL_ALERT) {
		tc_fail(t, "peer sent fatal alert %d (%s)", e - BR_ERR_RECV_FATAL_ALERT, tc_alert(e - BR_ERR_RECV_FATAL_ALERT));
		return;
	}
	for (i = 0; i < sizeof bs_errs / sizeof bs_errs[0]; i++) {
		if (bs_errs[i].code == e) {
			tc_fail(t, "%s", bs_errs[i].text);
			return;
		}
	}
	if (e > BR_ERR_X509_OK)
		tc_fail(t, "malformed certificate (BearSSL X.509 error %d)", e);
	else
		tc_fail(t, "TLS protocol error (BearSSL error %d)", e);
}

static void
bs_note(struct tls *t)
{
	bs_say(t, br_ssl_engine_last_error(t->eng));
}

/* ------------------------------------------------------------------------
 * Client: trust anchors and the X.509 wrapper.
 * ------------------------------------------------------------------------ */
struct bs_dn {
	unsigned char *p;
	size_t n, cap;
	int over;
};

static void
bs_dn_append(void *ctx, const void *buf, size_t len)
{
	struct bs_dn *d = ctx;

	if (d->over || len > d->cap - d->n) {
		d->over = 1;
		return;
	}
	memcpy(d->p + d->n, buf, len);
	d->n += len;
}

static int
bs_ta_add(struct tls_ctx *c, const unsigned char *der, size_t len, char *err, size_t errlen)
{
	br_x509_decoder_context dc;
	unsigned char dnbuf[BS_MAX_DN], *m;
	struct bs_dn dn = {dnbuf, 0, sizeof dnbuf, 0};
	const br_x509_pkey *pk;
	br_x509_trust_anchor *ta;
	size_t klen;

	br_x509_decoder_init(&dc, bs_dn_append, &dn);
	br_x509_decoder_push(&dc, der, len);
	if ((pk = br_x509_decoder_get_pkey(&dc)) == NULL) {
		seterr(err, errlen, "cannot decode (BearSSL X.509 error %d)", br_x509_decoder_last_error(&dc));
		return -1;
	}
	if (dn.over) {
		seterr(err, errlen, "subject name longer than %d bytes", BS_MAX_DN);
		return -1;
	}
	if (pk->key_type == BR_KEYTYPE_RSA)
		klen = pk->key.rsa.nlen + pk->key.rsa.elen;
	else if (pk->key_type == BR_KEYTYPE_EC)
		klen = pk->key.ec.qlen;
	else {
		seterr(err, errlen, "unsupported key type");
		return -1;
	}
	if ((m = ing_alloc(dn.n + klen, "tls: trust anchor")) == NULL) {
		seterr(err, errlen, "out of memory (ING_MAX_HEAP_BYTES)");
		return -1;
	}
	ta = &c->tas[c->ntas++]; /* bs_ca_load made room for every BEGIN line */
	memcpy(m, dnbuf, dn.n);
	ta->dn.data = m;
	ta->dn.len = dn.n;
	ta->flags = br_x509_decoder_isCA(&dc) ? BR_X509_TA_CA : 0;
	ta->pkey = *pk;
	m += dn.n;
	if (pk->key_type == BR_KEYTYPE_RSA) {
		memcpy(m, pk->key.rsa.n, pk->key.rsa.nlen);
		ta->pkey.key.rsa.n = m;
		memcpy(m + pk->key.rsa.nlen, pk->key.rsa.e, pk->key.rsa.elen);
		ta->pkey.key.rsa.e = m + pk->key.rsa.nlen;
	} else {
		memcpy(m, pk->key.ec.q, pk->key.ec.qlen);
		ta->pkey.key.ec.q = m;
	}
	return 0;
}

/* Client sessions remembered for resumption, by (context, peer key). */
static struct {
	uint64_t key;  /* 0: free */
	uint32_t ctx;  /* tls_ctx.id */
	uint32_t used; /* LRU clock */
	br_ssl_session_parameters p;
} bs_res[ING_MAX_TLS_RESUME];
static uint32_t bs_res_clock, bs_ctx_ids;

static int
bs_res_find(uint32_t ctx, uint64_t key)
{
	for (int i = 0; i < ING_MAX_TLS_RESUME; i++)
		if (bs_res[i].key == key && bs_res[i].ctx == ctx)
			return i;
	return -1;
}

/* After a client handshake: remember the session for the next one. */
static void
bs_res_save(struct tls *t)
{
	br_ssl_session_parameters p;
	int i = bs_res_find(t->ctx->id, t->resume);

	br_ssl_engine_get_session_parameters(t->eng, &p);
	if (p.session_id_len == 0) {
		tc_wipe(&p, sizeof p);
		return;
	}
	if (t->offered_len > 0 && (size_t)t->offered_len == p.session_id_len &&
	    memcmp(t->offered, p.session_id, p.session_id_len) == 0)
		t->info |= ING_TLS_RESUMED;
	if (i < 0) { /* a free entry, or the least recently used */
		i = 0;
		for (int k = 0; k < ING_MAX_TLS_RESUME && bs_res[i].key != 0; k++)
			if (bs_res[k].key == 0 || bs_res[k].used < bs_res[i].used)
				i = k;
	}
	bs_res[i].key = t->resume;
	bs_res[i].ctx = t->ctx->id;
	bs_res[i].used = ++bs_res_clock;
	bs_res[i].p = p;
	tc_wipe(&p, sizeof p);
}

static void
bs_ctx_put(struct tls_ctx *c)
{
	size_t i;

	if (c == NULL || --c->refs > 0)
		return;
	for (int k = 0; k < ING_MAX_TLS_RESUME; k++)
		if (bs_res[k].key != 0 && bs_res[k].ctx == c->id)
			tc_wipe(&bs_res[k], sizeof bs_res[k]);
	for (i = 0; i < c->ntas; i++)
		ing_free(c->tas[i].dn.data);
	ing_free(c->tas);
	ing_free(c);
}

static struct bs_x509 *
bx_of(const br_x509_class **ctx)
{
	return (struct bs_x509 *)(void *)ctx;
}

/* Peer certificates being checked or kept (mutual TLS) hold at most half
 * of the heap, so handshakes held open cannot starve the certificates and
 * CAs; over it, ing_alloc is asked for what it cannot give, so the hit is
 * logged and counted as ING_MAX_HEAP_BYTES's all the same. */
static size_t bs_ee_bytes;

static void
bx_drop(struct bs_x509 *x)
{
	if (x->ee != NULL)
		bs_ee_bytes -= x->eecap;
	ing_free(x->ee);
	x->ee = NULL;
}

/* Why the end-entity certificate is not there to check. */
static void
bx_no_ee(struct bs_x509 *x, const char *whose)
{
	if (x->nomem) {
		x->nomem = 2; /* not the certificate's fault (ING_TLS_CERT) */
		tc_fail(x->t, "no room for the %s certificate (ING_MAX_HEAP_BYTES)", whose);
	} else
		tc_fail(x->t, "%s certificate over %d bytes", whose, BS_MAX_EE);
}

static void
bx_start_chain(const br_x509_class **ctx, const char *server_name)
{
	struct bs_x509 *x = bx_of(ctx);

	bx_drop(x);
	x->eelen = x->eecap = 0;
	x->ncert = x->nomem = 0;
	x->mini.vtable->start_chain(&x->mini.vtable, server_name);
}

static void
bx_start_cert(const br_x509_class **ctx, uint32_t length)
{
	struct bs_x509 *x = bx_of(ctx);

	/* The end-entity certificate comes first; kept for the IP SAN check
	 * and to tell "expired" from "not yet valid". */
	if (x->ncert++ == 0 && length > 0 && length <= BS_MAX_EE) {
		x->ee = ing_alloc(bs_ee_bytes + length > ING_MAX_HEAP_BYTES / 2 ? SIZE_MAX : length, "tls: peer certificate");
		if (x->ee != NULL) {
			x->eecap = length;
			bs_ee_bytes += length;
		}
		x->nomem = x->ee == NULL;
	}
	x->mini.vtable->start_cert(&x->mini.vtable, length);
}

static void
bx_append(const br_x509_class **ctx, const unsigned char *buf, size_t len)
{
	struct bs_x509 *x = bx_of(ctx);

	if (x->ncert == 1 && x->ee != NULL) {
		if (len <= x->eecap - x->eelen) {
			memcpy(x->ee + x->eelen, buf, len);
			x->eelen += len;
		} else {
			bx_drop(x);
		}
	}
	x->mini.vtable->append(&x->mini.vtable, buf, len);
}

static void
bx_end_cert(const br_x509_class **ctx)
{
	struct bs_x509 *x = bx_of(ctx);

	x->mini.vtable->end_cert(&x->mini.vtable);
}

static void
bx_explain_time(struct bs_x509 *x)
{
	struct certf f;
	int64_t nb, na;
	char b1[40], b2[40];

	if (x->ee == NULL || x->eelen != x->eecap || cert_fields(x->ee, x->eelen, &f) != 0 ||
	    cert_validity(&f, &nb, &na) != 0)
		return;
	if (x->now > na)
		tc_fail(x->t, "certificate expired (notAfter %s, now %s)", tm_fmt(na, b1, sizeof b1),
		        tm_fmt(x->now, b2, sizeof b2));
	else if (x->now < nb)
		tc_fail(x->t, "certificate not yet valid (notBefore %s, now %s)", tm_fmt(nb, b1, sizeof b1),
		        tm_fmt(x->now, b2, sizeof b2));
	else
		tc_fail(x->t, "a CA certificate of the chain expired or is not yet valid");
}

static unsigned
bx_end_chain(const br_x509_class **ctx)
{
	struct bs_x509 *x = bx_of(ctx);
	unsigned r = x->mini.vtable->end_chain(&x->mini.vtable);
	int ok;

	if (!x->t->server && x->t->ctx->insecure) {
		/* insecureSkipVerify: only the key matters, for the handshake */
		r = BR_ERR_X509_LIMIT_EXCEEDED;
		if (x->ee == NULL || x->eelen != x->eecap) {
			bx_no_ee(x, "server");
		} else {
			br_x509_decoder_init(&x->dec, NULL, NULL);
			br_x509_decoder_push(&x->dec, x->ee, x->eelen);
			r = br_x509_decoder_last_error(&x->dec) == 0 && br_x509_decoder_get_pkey(&x->dec) != NULL
			        ? 0 : BR_ERR_X509_INVALID_VALUE;
		}
	} else if (r == 0 && x->t->server) {
		if (x->ee == NULL || x->eelen != x->eecap) {
			bx_no_ee(x, "client");
			r = BR_ERR_X509_LIMIT_EXCEEDED;
		} else if ((ok = cert_client_use(x->ee, x->eelen)) != 1) {
			tc_fail(x->t, ok < 0 ? "client certificate has a malformed extendedKeyUsage"
			                     : "client certificate is not for client authentication (extendedKeyUsage "
			                       "without clientAuth)");
			r = BR_ERR_X509_FORBIDDEN_KEY_USAGE;
		}
	} else if (r == 0 && x->iplen > 0) {
		if (x->ee == NULL || x->eelen != x->eecap) {
			bx_no_ee(x, "server"); /* so its IP SAN cannot be checked */
			r = BR_ERR_X509_LIMIT_EXCEEDED;
		} else if ((ok = cert_has_ip(x->ee, x->eelen, x->ip, x->iplen)) != 1) {
			if (ok < 0)
				tc_fail(x->t, "server certificate has a malformed subjectAltName");
			else
				tc_fail(x->t, "server name mismatch: cert has no IP SAN %s", x->host);
			r = BR_ERR_X509_BAD_SERVER_NAME;
		}
	} else if (r == BR_ERR_X509_EXPIRED) {
		bx_explain_time(x);
	} else if (r == BR_ERR_X509_BAD_SERVER_NAME) {
		tc_fail(x->t, "server name mismatch: cert has no DNS SAN (or CN) matching %s", x->host);
	}
	if (r != 0 && !x->t->server && x->nomem != 2)
		x->t->info |= ING_TLS_CERT;
	if (r == 0 && x->t->server)
		return 0; /* the certificate stays for tls_peer_cert */
	/* BR_OPT_TOLERATE_NO_CLIENT_AUTH (ClientCA optional) would let a bad
	 * certificate in as no certificate: bs_state ends the session. */
	if (r != 0 && x->t->server && x->ncert > 0)
		x->bad = r;
	bx_drop(x);
	return r;
}

static const br_x509_pkey *
bx_get_pkey(const br_x509_class *const *ctx, unsigned *usages)
{
	const struct bs_x509 *x = (const struct bs_x509 *)(const void *)ctx;

	if (!x->t->server && x->t->ctx->insecure) {
		if (usages != NULL)
			*usages = BR_KEYTYPE_KEYX | BR_KEYTYPE_SIGN;
		return br_x509_decoder_get_pkey((br_x509_decoder_context *)&x->dec);
	}
	return x->mini.vtable->get_pkey(&x->mini.vtable, usages);
}

static const br_x509_class bx_vtable = {
	sizeof(struct bs_x509), bx_start_chain, bx_start_cert, bx_append, bx_end_cert, bx_end_chain, bx_get_pkey,
};

/* ------------------------------------------------------------------------
 * Server: certificates and the policy that picks one per handshake.
 * ------------------------------------------------------------------------ */
static void
bs_cert_put(struct tls_cert *c)
{
	size_t i;

	if (c == NULL || --c->refs > 0)
		return;
	for (i = 0; i < c->nchain; i++)
		ing_free(c->chain[i].data);
	tc_wipe(c, sizeof *c);
	ing_free(c);
}

/* Copies one RSA element into the certificate's key buffer. */
static int
bs_rsa_elt(struct tls_cert *c, size_t *off, unsigned char **dst, size_t *dlen, const unsigned char *src, size_t n)
{
	if (n == 0 || n > BS_RSA_ELT)
		return -1;
	memcpy(c->kbuf + *off, src, n);
	*dst = c->kbuf + *off;
	*dlen = n;
	*off += n;
	return 0;
}

/* n = p*q, big-endian in plen + qlen bytes, column by column. The factors
 * are secret: which bytes are multiplied depends on the lengths alone, and
 * nothing branches on a byte. (BearSSL's i15 code for it is 1 KB; its
 * i31 code returns 0 at 4096 bits in 0.6.) A column holds at most 260
 * products of 16 bits and a carry: 32 bits are plenty. */
static void
bs_mul(unsigned char *n, const unsigned char *p, size_t plen, const unsigned char *q, size_t qlen)
{
	uint32_t acc = 0;
	for (size_t k = 0; k < plen + qlen; k++) {
		for (size_t i = 0; i < plen; i++)
			if (k - i < qlen) /* unsigned: i <= k too */
				acc += (uint32_t)p[plen - 1 - i] * q[qlen - 1 - (k - i)];
		n[plen + qlen - 1 - k] = (unsigned char)acc;
		acc >>= 8;
	}
}

/* e*dp = 1 mod p-1, as e, d mod p-1 and p of every RSA key are: the
 * remainder of e*dp - 1 by p - 1, by binary long division in bytes. dp and
 * p are secret: each step subtracts and keeps the difference by a mask,
 * not a branch, and the loops run by the lengths alone. (BearSSL's code
 * for e, rsa_i31_pubexp, brings its modular division: 1.8 KB.) */
static int
bs_exp_ok(const unsigned char *e, size_t elen, const unsigned char *dp, size_t dlen, const unsigned char *p, size_t plen)
{
	unsigned char x[2 * BS_RSA_ELT], m[BS_RSA_ELT + 1], r[BS_RSA_ELT + 1], t[BS_RSA_ELT + 1];
	unsigned b, nz = 0;
	size_t xlen = elen + dlen, i;

	if (elen > BS_RSA_ELT || dlen > BS_RSA_ELT || plen > BS_RSA_ELT)
		return 0;
	bs_mul(x, e, elen, dp, dlen);
	for (b = 1, i = xlen; i-- > 0;) { /* x -= 1 */
		unsigned v = x[i] - b;
		x[i] = (unsigned char)v;
		b = v >> 8 & 1;
	}
	m[0] = 0; /* m = p - 1, a byte longer than p */
	for (b = 1, i = plen; i > 0; i--) {
		unsigned v = p[i - 1] - b;
		m[i] = (unsigned char)v;
		b = v >> 8 & 1;
	}
	/* r starts as x's leading bytes, as many as stay under m without a
	 * reduction (one byte fewer than m has), so that only the last few
	 * bytes of x go through the bit loop (RSA-2048: 4 of 131) */
	size_t sig = plen + 1, k;
	for (i = 0; i <= plen && m[i] == 0; i++)
		sig--; /* m's length is p's, which is public */
	k = sig > 1 ? (xlen < sig - 1 ? xlen : sig - 1) : 0;
	memset(r, 0, plen + 1);
	memcpy(r + plen + 1 - k, x, k);
	for (size_t bit = 8 * k; bit < 8 * xlen; bit++) { /* r = (2r + bit) mod m */
		unsigned in = x[bit >> 3] >> (7 - (bit & 7)) & 1;
		for (i = plen + 1; i-- > 0;) {
			unsigned v = (unsigned)r[i] << 1 | in;
			r[i] = (unsigned char)v;
			in = v >> 8;
		}
		for (b = 0, i = plen + 1; i-- > 0;) {
			unsigned v = (unsigned)r[i] - m[i] - b;
			t[i] = (unsigned char)v;
			b = v >> 8 & 1;
		}
		for (i = 0; i <= plen; i++) /* r >= m (no borrow): r = t */
			r[i] = (unsigned char)(r[i] ^ ((r[i] ^ t[i]) & (b - 1)));
	}
	for (i = 0; i <= plen; i++)
		nz |= r[i];
	tc_wipe(x, sizeof x);
	tc_wipe(r, sizeof r);
	tc_wipe(t, sizeof t);
	tc_wipe(m, sizeof m);
	return nz == 0 && xlen > 0 && plen > 0;
}

/* The key matches the leaf when it holds the leaf's public key: RSA by
 * p*q = n (bs_mul) and by e (bs_exp_ok; every key, where BearSSL could
 * recompute e only for p and q = 3 mod 4), EC by recomputing the public
 * point. Not by a test signature: that cost 6 ms per RSA-2048 key (40 ms
 * at 4096 bits), paid at every start for every TLS Secret. */
static int
bs_key_match(struct tls_cert *c, const br_x509_pkey *pk, char *err, size_t errlen)
{
	unsigned char buf[512 > BR_EC_KBUF_PUB_MAX_SIZE ? 512 : BR_EC_KBUF_PUB_MAX_SIZE];
	size_t nlen;
	const unsigned char *n;

	if (c->type == BR_KEYTYPE_RSA) {
		if (pk->key_type != BR_KEYTYPE_RSA)
			goto mismatch;
		n = pk->key.rsa.n;
		nlen = pk->key.rsa.nlen;
		while (nlen > 0 && *n == 0) {
			n++;
			nlen--;
		}
		unsigned char pq[2 * BS_RSA_ELT];
		const unsigned char *m = pq;
		size_t mlen = c->sk.rsa.plen + c->sk.rsa.qlen;
		bs_mul(pq, c->sk.rsa.p, c->sk.rsa.plen, c->sk.rsa.q, c->sk.rsa.qlen);
		while (mlen > 0 && *m == 0) {
			m++;
			mlen--;
		}
		if (nlen > sizeof buf || (c->sk.rsa.n_bitlen + 7) >> 3 != nlen || mlen != nlen || memcmp(m, n, nlen) != 0)
			goto mismatch;
		if (!bs_exp_ok(pk->key.rsa.e, pk->key.rsa.elen, c->sk.rsa.dp, c->sk.rsa.dplen, c->sk.rsa.p, c->sk.rsa.plen))
			goto mismatch;
		return 0;
	}
	if (pk->key_type != BR_KEYTYPE_EC || pk->key.ec.curve != c->sk.ec.curve)
		goto mismatch;
	nlen = br_ec_compute_pub(br_ec_get_default(), NULL, buf, &c->sk.ec);
	if (nlen == 0 || nlen != pk->key.ec.qlen || memcmp(buf, pk->key.ec.q, nlen) != 0)
		goto mismatch;
	return 0;
mismatch:
	seterr(err, errlen, "private key does not match the certificate");
	return -1;
}

/* Decodes the private key PEM into c (type, key, kbuf). */
static int
bs_key_load(struct tls_cert *c, const char *pem, size_t len, char *err, size_t errlen)
{
	br_skey_decoder_context kd;
	char klabel[64];
	unsigned char *der = NULL;
	size_t dlen = 0, off = 0;
	int r, ok = -1;

	if (pem_key(pem, len, &der, &dlen, klabel, sizeof klabel, err, errlen) != 0)
		goto out;
	br_skey_decoder_init(&kd);
	br_skey_decoder_push(&kd, der, dlen);
	if ((r = br_skey_decoder_last_error(&kd)) != 0) {
		seterr(err, errlen, "private key: cannot decode (BearSSL error %d)", r);
		goto wipe;
	}
	c->type = br_skey_decoder_key_type(&kd);
	if ((c->type == BR_KEYTYPE_RSA && strcmp(klabel, "EC PRIVATE KEY") == 0) ||
	    (c->type == BR_KEYTYPE_EC && strcmp(klabel, "RSA PRIVATE KEY") == 0)) {
		seterr(err, errlen, "private key: PEM says %s but holds another key type", klabel);
		goto wipe;
	}
	if (c->type == BR_KEYTYPE_RSA) {
		const br_rsa_private_key *k = br_skey_decoder_get_rsa(&kd);
		if (k->n_bitlen < 2048 || k->n_bitlen > 4096) {
			seterr(err, errlen, "RSA key of %u bits not supported (2048 to 4096)", (unsigned)k->n_bitlen);
			goto wipe;
		}
		c->sk.rsa.n_bitlen = k->n_bitlen;
		if (bs_rsa_elt(c, &off, &c->sk.rsa.p, &c->sk.rsa.plen, k->p, k->plen) != 0 ||
		    bs_rsa_elt(c, &off, &c->sk.rsa.q, &c->sk.rsa.qlen, k->q, k->qlen) != 0 ||
		    bs_rsa_elt(c, &off, &c->sk.rsa.dp, &c->sk.rsa.dplen, k->dp, k->dplen) != 0 ||
		    bs_rsa_elt(c, &off, &c->sk.rsa.dq, &c->sk.rsa.dqlen, k->dq, k->dqlen) != 0 ||
		    bs_rsa_elt(c, &off, &c->sk.rsa.iq, &c->sk.rsa.iqlen, k->iq, k->iqlen) != 0) {
			seterr(err, errlen, "RSA private key has an unsupported layout");
			goto wipe;
		}
	} else if (c->type == BR_KEYTYPE_EC) {
		const br_ec_private_key *k = br_skey_decoder_get_ec(&kd);
		const unsigned char *x = k->x;
		size_t xlen = k->xlen, max = k->curve == BR_EC_secp256r1 ? 32 : 48;
		if (k->curve != BR_EC_secp256r1 && k->curve != BR_EC_secp384r1) {
			seterr(err, errlen, "unsupported EC curve (P-256 and P-384 only)");
			goto wipe;
		}
		while (xlen > 0 && *x == 0) {
			x++;
			xlen--;
		}
		if (xlen == 0 || xlen > max) {
			seterr(err, errlen, "EC private key out of range");
			goto wipe;
		}
		memcpy(c->kbuf, x, xlen);
		c->sk.ec.curve = k->curve;
		c->sk.ec.x = c->kbuf;
		c->sk.ec.xlen = xlen;
	} else {
		seterr(err, errlen, "unsupported private key type");
		goto wipe;
	}
	ok = 0;
wipe:
	tc_wipe(&kd, sizeof kd);
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
	br_x509_decoder_context dc, leaf;
	struct tls_cert *c;
	struct pem s = {chain_pem, chain_pem + clen};
	struct certf f;
	struct tls_cert_info tmp;
	char label[64], e[128];
	unsigned char *d;
	size_t dlen, i;
	int r;

	if (info == NULL)
		info = &tmp;
	memset(info, 0, sizeof *info);
	if (chain_pem == NULL || key_pem == NULL || clen > BS_MAX_PEM || klen > BS_MAX_PEM - clen) {
		seterr(err, errlen, "certificate and key PEM over %d KB", BS_MAX_PEM / 1024);
		return NULL;
	}
	if ((c = ing_alloc(sizeof *c, "tls: certificate")) == NULL) {
		seterr(err, errlen, "out of memory (ING_MAX_HEAP_BYTES)");
		return NULL;
	}
	c->refs = 1;
	while ((r = pem_next(&s, label, sizeof label, &d, &dlen, e, sizeof e)) > 0) {
		if (strcmp(label, "CERTIFICATE") != 0 || c->nchain == BS_MAX_CHAIN) {
			ing_free(d);
			if (c->nchain == BS_MAX_CHAIN)
				seterr(err, errlen, "certificate chain: more than %d certificates", BS_MAX_CHAIN);
			else
				seterr(err, errlen, "certificate chain: unexpected PEM block %s", label);
			goto bad;
		}
		c->chain[c->nchain].data = d;
		c->chain[c->nchain++].data_len = dlen;
	}
	if (r < 0) {
		seterr(err, errlen, "certificate chain: %s", e);
		goto bad;
	}
	if (c->nchain == 0) {
		seterr(err, errlen, "certificate chain: no PEM CERTIFICATE found");
		goto bad;
	}
	for (i = 0; i < c->nchain; i++) {
		br_x509_decoder_context *x = i == 0 ? &leaf : &dc;
		br_x509_decoder_init(x, 0, NULL);
		br_x509_decoder_push(x, c->chain[i].data, c->chain[i].data_len);
		if (br_x509_decoder_get_pkey(x) == NULL) {
			seterr(err, errlen, "certificate %zu of the chain: cannot decode (BearSSL X.509 error %d)", i + 1,
			       br_x509_decoder_last_error(x));
			goto bad;
		}
	}
	if (cert_fields(c->chain[0].data, c->chain[0].data_len, &f) != 0 ||
	    cert_validity(&f, &info->not_before, &info->not_after) != 0) {
		seterr(err, errlen, "certificate: malformed validity");
		goto bad;
	}
	if (cert_names(&f, info, err, errlen) != 0)
		goto bad;
	if (bs_key_load(c, key_pem, klen, err, errlen) != 0 ||
	    bs_key_match(c, br_x509_decoder_get_pkey(&leaf), err, errlen) != 0)
		goto bad;
	info->key_type = c->type == BR_KEYTYPE_RSA ? 'R' : 'E';
	return c;
bad:
	bs_cert_put(c);
	memset(info, 0, sizeof *info);
	return NULL;
}

void
tls_cert_free(struct tls_cert *c)
{
	bs_cert_put(c);
}

static unsigned
bp_hash(uint32_t mask)
{
	if (mask >> br_sha256_ID & 1)
		return br_sha256_ID;
	if (mask >> br_sha384_ID & 1)
		return br_sha384_ID;
	return 0;
}

static int
bp_choose(const br_ssl_server_policy_class **pctx, const br_ssl_server_context *sc, br_ssl_server_choices *ch)
{
	struct tls *t = ((struct bs_policy *)(void *)pctx)->t;
	const char *sni = br_ssl_engine_get_server_name(&sc->eng);
	const br_suite_translated *st;
	struct tls_cert *c;
	uint32_t hashes = br_ssl_server_get_client_hashes(sc);
	unsigned kx, hash;
	size_t i, n;

	if (sni[0] == '\0')
		sni = NULL;
	if ((c = t->ctx->pick(sni, t->ctx->arg)) == NULL) {
		tc_fail(t, "no certificate for %s%s", sni != NULL ? "SNI name " : "clients without SNI",
		        sni != NULL ? sni : "");
		return 0;
	}
	c->refs++;
	bs_cert_put(t->cert);
	t->cert = c;
	/* Client hashes: bit id for RSA, bit 8 + id for ECDSA signatures. */
	if (c->type == BR_KEYTYPE_RSA) {
		kx = BR_SSLKEYX_ECDHE_RSA;
		hash = bp_hash(hashes & 0xff);
	} else {
		kx = BR_SSLKEYX_ECDHE_ECDSA;
		hash = bp_hash(hashes >> 8 & 0xff);
	}
	if (hash == 0) {
		tc_fail(t, "client accepts no SHA-256/384 %s signature", c->type == BR_KEYTYPE_RSA ? "RSA" : "ECDSA");
		return 0;
	}
	st = br_ssl_server_get_client_suites(sc, &n);
	for (i = 0; i < n; i++) {
		if ((unsigned)(st[i][1] >> 12) == kx) {
			ch->cipher_suite = st[i][0];
			ch->algo_id = 0xff00 + hash;
			ch->chain = c->chain;
			ch->chain_len = c->nchain;
			return 1;
		}
	}
	tc_fail(t, "no cipher suite in common for the %s certificate (ECDHE with AES-GCM or ChaCha20-Poly1305)",
	        c->type == BR_KEYTYPE_RSA ? "RSA" : "ECDSA");
	return 0;
}

static uint32_t
bp_do_keyx(const br_ssl_server_policy_class **pctx, unsigned char *data, size_t *len)
{
	/* Only for RSA and static ECDH key exchange, which are not offered. */
	(void)pctx;
	(void)data;
	(void)len;
	return 0;
}

static size_t
bp_do_sign(const br_ssl_server_policy_class **pctx, unsigned algo_id, unsigned char *data, size_t hv_len,
           size_t len)
{
	struct tls_cert *c = ((struct bs_policy *)(void *)pctx)->t->cert;
	unsigned char hv[64];
	unsigned id = algo_id & 0xff;
	size_t slen;

	if (c == NULL || hv_len > sizeof hv || (id != br_sha256_ID && id != br_sha384_ID))
		return 0;
	memcpy(hv, data, hv_len);
	if (c->type == BR_KEYTYPE_RSA) {
		slen = (c->sk.rsa.n_bitlen + 7) >> 3;
		if (len < slen)
			return 0;
		return br_rsa_pkcs1_sign_get_default()(id == br_sha256_ID ? BR_HASH_OID_SHA256 : BR_HASH_OID_SHA384,
		                                       hv, hv_len, &c->sk.rsa, data)
		           ? slen
		           : 0;
	}
	if (len < 139) /* largest ECDSA signature, asn1 form */
		return 0;
	return br_ecdsa_sign_asn1_get_default()(br_ec_get_default(),
	                                        id == br_sha256_ID ? &br_sha256_vtable : &br_sha384_vtable, hv,
	                                        &c->sk.ec, data);
}

static const br_ssl_server_policy_class bp_vtable = {
	sizeof(struct bs_policy), bp_choose, bp_do_keyx, bp_do_sign,
};

/* ------------------------------------------------------------------------
 * Contexts.
 * ------------------------------------------------------------------------ */
const char *
tls_port_name(void)
{
	return "BearSSL 0.6";
}

/* The CAs of a PEM bundle into c->tas. 0, or -1 + err. */
static int
bs_ca_load(struct tls_ctx *c, const char *ca_pem, size_t len, char *err, size_t errlen)
{
	struct pem s = {ca_pem, ca_pem + len};
	char label[64], e[128];
	const char *q;
	unsigned char *d;
	size_t dlen, n = 0;
	int r;

	if (ca_pem == NULL || len > ING_MAX_CA_BYTES) {
		seterr(err, errlen, "CA bundle over %d bytes (ING_MAX_CA_BYTES)", ING_MAX_CA_BYTES);
		return -1;
	}
	/* the anchors' array at once: as many as there are BEGIN lines */
	for (q = ca_pem; (q = pem_find(q, s.end, "-----BEGIN ")) != NULL; q++)
		n++;
	if (n > 0 && (c->tas = ing_alloc(n * sizeof *c->tas, "tls: trust anchors")) == NULL) {
		seterr(err, errlen, "CA bundle: out of memory (ING_MAX_HEAP_BYTES)");
		return -1;
	}
	while ((r = pem_next(&s, label, sizeof label, &d, &dlen, e, sizeof e)) > 0) {
		if (strcmp(label, "CERTIFICATE") != 0) {
			seterr(err, errlen, "CA bundle: unexpected PEM block %s", label);
			ing_free(d);
			return -1;
		}
		r = bs_ta_add(c, d, dlen, e, sizeof e);
		ing_free(d);
		if (r != 0) {
			seterr(err, errlen, "CA bundle: certificate %zu: %s", c->ntas + 1, e);
			return -1;
		}
	}
	if (r < 0) {
		seterr(err, errlen, "CA bundle: %s", e);
		return -1;
	}
	if (c->ntas == 0) {
		seterr(err, errlen, "CA bundle: no PEM CERTIFICATE found");
		return -1;
	}
	return 0;
}

struct tls_ctx *
tls_client_ctx(const char *ca_pem, size_t len, char *err, size_t errlen)
{
	struct tls_ctx *c;

	if ((c = ing_alloc(sizeof *c, "tls: context")) == NULL) {
		seterr(err, errlen, "out of memory (ING_MAX_HEAP_BYTES)");
		return NULL;
	}
	c->refs = 1;
	c->id = ++bs_ctx_ids;
	c->insecure = ca_pem == NULL;
	if (!c->insecure && bs_ca_load(c, ca_pem, len, err, errlen) != 0) {
		bs_ctx_put(c);
		return NULL;
	}
	return c;
}

struct tls_ctx *
tls_server_ctx(tls_pick_fn pick, void *arg, char *err, size_t errlen)
{
	struct tls_ctx *c;

	if (pick == NULL || (c = ing_alloc(sizeof *c, "tls: context")) == NULL) {
		seterr(err, errlen, pick == NULL ? "no certificate pick function" : "out of memory (ING_MAX_HEAP_BYTES)");
		return NULL;
	}
	c->refs = 1;
	c->server = 1;
	c->pick = pick;
	c->arg = arg;
	return c;
}

int
tls_server_client_ca(struct tls_ctx *ctx, const char *ca_pem, size_t len, int required, char *err, size_t errlen)
{
	if (ctx == NULL || !ctx->server || ctx->ntas > 0) {
		seterr(err, errlen, "not a fresh TLS server context");
		return ING_ERR;
	}
	if (bs_ca_load(ctx, ca_pem, len, err, errlen) != 0)
		return ING_ERR;
	ctx->client_auth = required ? 2 : 1;
	return 0;
}

void
tls_ctx_free(struct tls_ctx *ctx)
{
	bs_ctx_put(ctx);
}

/* ------------------------------------------------------------------------
 * Session slots: static, taken while a session lives. A high-water index
 * and a LIFO free list keep reuse on warm pages; slots never used stay
 * untouched and cost no RAM.
 * ------------------------------------------------------------------------ */
static struct tls bs_slot[ING_TLS_SESSIONS];
static int bs_high;
static int bs_live;
static struct tls *bs_free;

static br_ssl_session_cache_lru bs_lru;
static unsigned char bs_lru_store[BS_LRU_BYTES];
static int bs_lru_ready;

static struct tls *
bs_get(struct tls_ctx *ctx, int server, int fd, char *err, size_t errlen)
{
	struct tls *t;
	unsigned char seed[32];

	if (ctx == NULL || ctx->server != server) {
		seterr(err, errlen, "not a TLS %s context", server ? "server" : "client");
		return NULL;
	}
	if (port_random(seed, sizeof seed) != 0) {
		seterr(err, errlen, "no entropy (port_random failed)");
		return NULL;
	}
	if (bs_free != NULL) {
		t = bs_free;
		bs_free = t->next;
	} else if (bs_high < ING_TLS_SESSIONS) {
		t = &bs_slot[bs_high++];
	} else {
		seterr(err, errlen, "too many TLS sessions (limit is %d, ING_TLS_SESSIONS)", ING_TLS_SESSIONS);
		tc_wipe(seed, sizeof seed);
		return NULL;
	}
	memset(t, 0, offsetof(struct tls, buf));
	t->live = 1;
	t->server = server;
	t->fd = fd;
	t->ctx = ctx;
	ctx->refs++;
	bs_live++;
	if (server) {
		t->eng = &t->u.sc.eng;
		br_ssl_server_zero(&t->u.sc);
	} else {
		t->eng = &t->u.cc.eng;
		br_ssl_client_zero(&t->u.cc);
	}
	bs_profile(t->eng);
	br_ssl_engine_set_buffer(t->eng, t->buf, sizeof t->buf, 1);
	br_ssl_engine_inject_entropy(t->eng, seed, sizeof seed);
	tc_wipe(seed, sizeof seed);
	return t;
}

/* The peer's certificate chain is checked against the context's CAs, at
 * the time of the handshake, by bx_vtable around br_x509_minimal. */
static struct bs_x509 *
bs_x509_init(struct tls *t)
{
	struct bs_x509 *x = &t->x;
	int64_t now = tc_now();

	x->vtable = &bx_vtable;
	x->t = t;
	br_x509_minimal_init(&x->mini, &br_sha256_vtable, t->ctx->tas, t->ctx->ntas);
	br_x509_minimal_set_hash(&x->mini, br_sha256_ID, &br_sha256_vtable);
	br_x509_minimal_set_hash(&x->mini, br_sha384_ID, &br_sha384_vtable);
	br_x509_minimal_set_hash(&x->mini, br_sha512_ID, &br_sha512_vtable);
	br_x509_minimal_set_rsa(&x->mini, br_rsa_pkcs1_vrfy_get_default());
	br_x509_minimal_set_ecdsa(&x->mini, br_ec_get_default(), br_ecdsa_vrfy_asn1_get_default());
	x->now = now;
	br_x509_minimal_set_time(&x->mini, (uint32_t)(now / 86400 + 719528), (uint32_t)(now % 86400));
	br_ssl_engine_set_rsavrfy(t->eng, br_rsa_pkcs1_vrfy_get_default());
	br_ssl_engine_set_ecdsa(t->eng, br_ecdsa_vrfy_asn1_get_default());
	br_ssl_engine_set_x509(t->eng, &x->vtable);
	return x;
}

struct tls *
tls_client(struct tls_ctx *ctx, int fd, const char *host, uint64_t resume, char *err, size_t errlen)
{
	struct tls *t;
	struct bs_x509 *x;
	unsigned char ip[16];
	size_t iplen = 0;
	int res;

	if (tc_host(host, ip, &iplen, err, errlen) != 0)
		return NULL;
	if ((t = bs_get(ctx, 0, fd, err, errlen)) == NULL)
		return NULL;
	x = bs_x509_init(t);
	memcpy(x->ip, ip, iplen);
	x->iplen = iplen;
	ing_snprintf(x->host, sizeof x->host, "%s", host);
	t->resume = resume;
	if (resume != 0 && (res = bs_res_find(ctx->id, resume)) >= 0) {
		bs_res[res].used = ++bs_res_clock;
		br_ssl_engine_set_session_parameters(t->eng, &bs_res[res].p);
		t->offered_len = (int)bs_res[res].p.session_id_len;
		memcpy(t->offered, bs_res[res].p.session_id, bs_res[res].p.session_id_len);
	}
	/* An IP literal is neither sent as SNI nor given to the name check. */
	if (!br_ssl_client_reset(&t->u.cc, iplen > 0 ? NULL : host, t->offered_len > 0)) {
		bs_note(t);
		seterr(err, errlen, "TLS client start: %s", t->err);
		tls_free(t);
		return NULL;
	}
	return t;
}

struct tls *
tls_server(struct tls_ctx *ctx, int fd, char *err, size_t errlen)
{
	struct tls *t;

	if ((t = bs_get(ctx, 1, fd, err, errlen)) == NULL)
		return NULL;
	t->pol.vtable = &bp_vtable;
	t->pol.t = t;
	br_ssl_server_set_policy(&t->u.sc, &t->pol.vtable);
	if (ctx->client_auth) {
		/* The CA names go in the CertificateRequest. No session cache:
		 * the one cache serves every context. */
		bs_x509_init(t);
		br_ssl_server_set_trust_anchor_names_alt(&t->u.sc, ctx->tas, ctx->ntas);
		if (ctx->client_auth == 1)
			br_ssl_engine_add_flags(t->eng, BR_OPT_TOLERATE_NO_CLIENT_AUTH);
	} else {
		if (!bs_lru_ready) {
			br_ssl_session_cache_lru_init(&bs_lru, bs_lru_store, sizeof bs_lru_store);
			bs_lru_ready = 1;
		}
		br_ssl_server_set_cache(&t->u.sc, &bs_lru.vtable);
	}
	br_ssl_engine_add_flags(t->eng, BR_OPT_ENFORCE_SERVER_PREFERENCES);
	if (!br_ssl_server_reset(&t->u.sc)) {
		bs_note(t);
		seterr(err, errlen, "TLS server start: %s", t->err);
		tls_free(t);
		return NULL;
	}
	return t;
}

int
tls_sessions(void)
{
	return bs_live;
}

/* ------------------------------------------------------------------------
 * Session I/O.
 * ------------------------------------------------------------------------ */
static unsigned
bs_state(struct tls *t)
{
	unsigned st = br_ssl_engine_current_state(t->eng);

	if (t->x.bad != 0) { /* never a byte past a bad client certificate */
		bs_say(t, (int)t->x.bad);
		return BR_SSL_CLOSED;
	}
	if ((st & (BR_SSL_SENDAPP | BR_SSL_RECVAPP)) && !t->hs) {
		t->hs = 1;
		t->info |= ING_TLS_DONE;
		if (!t->server && t->resume != 0)
			bs_res_save(t);
	}
	return st;
}

/* One socket operation the engine asks for, queued records first (sslio
 * run_until): 1 when bytes moved, 0 when the socket would block or there is
 * nothing to do, -1 on error (t->err set). */
static int
bs_io(struct tls *t, int send_only)
{
	unsigned st = bs_state(t);
	unsigned char *buf;
	size_t len;
	ssize_t n;

	if (st & BR_SSL_CLOSED)
		return 0;
	if ((st & BR_SSL_SENDREC) && !t->wshut) {
		buf = br_ssl_engine_sendrec_buf(t->eng, &len);
		n = send(t->fd, buf, len, MSG_NOSIGNAL);
		if (n > 0) {
			br_ssl_engine_sendrec_ack(t->eng, (size_t)n);
			return 1;
		}
		if (n < 0 && errno == EINTR)
			return 1;
		if (n < 0 && errno == EPIPE && t->hs) {
			/* After port_shutdown_write the peer's close_notify makes
			 * the engine answer; the answer cannot go, reading can. */
			t->wshut = 1;
		} else if (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK) {
			tc_fail(t, "send: %s", ing_strerror(errno));
			return -1;
		}
	}
	if (send_only || !(st & BR_SSL_RECVREC) || t->eof)
		return 0;
	buf = br_ssl_engine_recvrec_buf(t->eng, &len);
	n = read(t->fd, buf, len);
	if (n > 0) {
		if (t->first == 0)
			t->first = buf[0];
		br_ssl_engine_recvrec_ack(t->eng, (size_t)n);
		return 1;
	}
	if (n == 0) {
		/* After the handshake a bare EOF reads as a close: HTTP framing,
		 * not close_notify, protects against truncation. */
		t->eof = 1;
		if (!t->hs) {
			tc_fail(t, "connection closed by peer during the TLS handshake");
			return -1;
		}
		return 1;
	}
	if (errno == EINTR)
		return 1;
	if (errno != EAGAIN && errno != EWOULDBLOCK) {
		tc_fail(t, "recv: %s", ing_strerror(errno));
		return -1;
	}
	return 0;
}

/* One socket step of a loop that waits on the engine: 1 when bytes moved
 * (go round again), else what the caller returns: ING_ERR, or ING_WAIT. */
static int
bs_wait(struct tls *t)
{
	int r = bs_io(t, 0);
	if (r < 0)
		return ING_ERR;
	if (r == 0) {
		errno = EAGAIN;
		return ING_WAIT;
	}
	return 1;
}

/* ING_ERR for a dead session, 0 after a clean close. */
static ssize_t
bs_end(struct tls *t)
{
	int i;

	/* A failing engine queues a fatal alert: let the peer see why
	 * (best effort, non-blocking). */
	for (i = 0; i < 4 && bs_io(t, 1) > 0; i++)
		;
	bs_note(t);
	if (t->err[0] != '\0') {
		errno = EPROTO;
		return ING_ERR;
	}
	return 0;
}

int
tls_want(struct tls *t, int app)
{
	unsigned st = bs_state(t);
	int ev = 0;

	/* Dead: wake the caller at once so tls_read/tls_write report it. */
	if ((st & BR_SSL_CLOSED) || t->err[0] != '\0')
		return app != 0 ? POLLIN | POLLOUT : 0;
	if ((st & BR_SSL_SENDREC) && !t->wshut)
		ev |= POLLOUT;
	if (t->wshut && (app & POLLIN) && !(st & BR_SSL_RECVREC))
		ev |= POLLIN | POLLOUT; /* tls_read says 0 at once */
	if ((st & BR_SSL_RECVREC) && !t->eof &&
	    (!t->hs || (app & POLLIN) || ((app & POLLOUT) && !(st & BR_SSL_SENDAPP))))
		ev |= POLLIN;
	if ((app & POLLOUT) && (st & BR_SSL_SENDAPP))
		ev |= POLLOUT;
	if (t->eof && (app & POLLIN))
		ev |= POLLIN; /* the socket is at EOF: poll returns at once */
	return ev;
}

ssize_t
tls_read(struct tls *t, void *buf, size_t n)
{
	unsigned char *p;
	size_t len;
	unsigned st;
	int r;

	for (;;) {
		st = bs_state(t);
		if (st & BR_SSL_RECVAPP) {
			p = br_ssl_engine_recvapp_buf(t->eng, &len);
			if (len > n)
				len = n;
			memcpy(buf, p, len);
			br_ssl_engine_recvapp_ack(t->eng, len);
			return (ssize_t)len;
		}
		if ((st & BR_SSL_CLOSED) || t->err[0] != '\0')
			return bs_end(t);
		/* EOF; or the engine waits to send what no longer can go. */
		if (t->eof || (t->wshut && !(st & BR_SSL_RECVREC)))
			return 0;
		if ((r = bs_wait(t)) != 1)
			return r;
	}
}

ssize_t
tls_write(struct tls *t, const void *buf, size_t n)
{
	unsigned char *p;
	size_t len;
	unsigned st;
	int r;

	for (;;) {
		st = bs_state(t);
		if ((st & BR_SSL_CLOSED) || t->err[0] != '\0' || t->wshut) {
			if (bs_end(t) == 0) {
				tc_fail(t, t->wshut ? "write after the connection was shut down"
				                    : "write after the peer closed the connection");
				errno = EPIPE;
			}
			return ING_ERR;
		}
		if (st & BR_SSL_SENDAPP) {
			p = br_ssl_engine_sendapp_buf(t->eng, &len);
			if (len > n)
				len = n;
			memcpy(p, buf, len);
			br_ssl_engine_sendapp_ack(t->eng, len);
			/* Flush now: a small response must not wait for more. */
			br_ssl_engine_flush(t->eng, 0);
			while ((r = bs_io(t, 1)) > 0)
				;
			return r < 0 ? ING_ERR : (ssize_t)len;
		}
		if ((r = bs_wait(t)) != 1)
			return r;
	}
}

int
tls_handshake(struct tls *t)
{
	int r;

	for (;;) {
		unsigned st = bs_state(t);
		if (t->hs)
			return 1;
		if ((st & BR_SSL_CLOSED) || t->err[0] != '\0' || t->eof) {
			if (bs_end(t) == 0)
				tc_fail(t, "connection closed during the TLS handshake");
			return ING_ERR;
		}
		if ((r = bs_wait(t)) != 1)
			return r;
	}
}

int
tls_info(struct tls *t)
{
	bs_state(t);
	return t->info;
}

size_t
tls_pending(struct tls *t)
{
	size_t len = 0;

	if (bs_state(t) & BR_SSL_RECVAPP)
		br_ssl_engine_recvapp_buf(t->eng, &len);
	return len;
}

int
tls_busy(struct tls *t)
{
	return !t->wshut && (bs_state(t) & BR_SSL_SENDREC) != 0;
}

const unsigned char *
tls_peer_cert(struct tls *t, size_t *len)
{
	*len = 0;
	if (t == NULL || !t->server || !t->hs || t->x.ee == NULL || t->x.eelen != t->x.eecap)
		return NULL;
	*len = t->x.eelen;
	return t->x.ee;
}

const char *
tls_error(struct tls *t)
{
	if (t == NULL)
		return "no TLS session";
	bs_note(t);
	return t->err[0] != '\0' ? t->err : "no error";
}

void
tls_free(struct tls *t)
{
	int i;

	if (t == NULL || !t->live)
		return;
	/* Best effort close_notify on a healthy session: one non-blocking try
	 * (the caller closes fd after this). */
	if (t->hs && t->err[0] == '\0' && !t->wshut && !(bs_state(t) & BR_SSL_CLOSED)) {
		br_ssl_engine_close(t->eng);
		for (i = 0; i < 4 && bs_io(t, 1) > 0; i++)
			;
	}
	bx_drop(&t->x);
	bs_cert_put(t->cert);
	bs_ctx_put(t->ctx);
	tc_wipe(&t->u, sizeof t->u); /* session keys */
	t->live = 0;
	t->next = bs_free;
	bs_free = t;
	bs_live--;
}

/* ------------------------------------------------------------------------
 * Hashes for basic auth and sticky cookies: BearSSL's own, through the
 * br_hash_class vtable; the context lives in ing_hash.st.
 * ------------------------------------------------------------------------ */
_Static_assert(sizeof(br_md5_context) <= sizeof(((struct ing_hash *)0)->st) &&
                   sizeof(br_sha1_context) <= sizeof(((struct ing_hash *)0)->st) &&
                   sizeof(br_sha256_context) <= sizeof(((struct ing_hash *)0)->st),
               "ing_hash.st too small for a BearSSL hash context");

static const br_hash_class *
bh_class(int alg)
{
	switch (alg) {
	case ING_HASH_MD5: return &br_md5_vtable;
	case ING_HASH_SHA1: return &br_sha1_vtable;
	case ING_HASH_SHA256: return &br_sha256_vtable;
	default: return NULL;
	}
}

int
tls_hash_init(struct ing_hash *h, int alg)
{
	const br_hash_class *hc = bh_class(alg);

	h->alg = 0;
	if (hc == NULL)
		return ING_ERR;
	hc->init((const br_hash_class **)(void *)h->st);
	h->alg = alg;
	return 0;
}

void
tls_hash_update(struct ing_hash *h, const void *p, size_t n)
{
	const br_hash_class **vt = (const br_hash_class **)(void *)h->st;

	if (h->alg != 0)
		(*vt)->update(vt, p, n);
}

void
tls_hash_out(struct ing_hash *h, unsigned char *out)
{
	const br_hash_class **vt = (const br_hash_class **)(void *)h->st;

	if (h->alg != 0)
		(*vt)->out(vt, out);
	/* Ends the hash as mbed TLS's finish does; the state may hold a key. */
	tc_wipe(h->st, sizeof h->st);
	h->alg = 0;
}
