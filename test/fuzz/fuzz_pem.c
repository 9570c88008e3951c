/*
 * test/fuzz/fuzz_pem.c - libFuzzer target for tls_cert_load (PEM chain +
 * private key parsing, key match, names) of a TLS port, and for
 * tls_cert_infos (pass-client-tls-cert) on the raw DER form's certificate.
 *
 * Two input forms. PEM text: split at the first 0xff byte (never in PEM)
 * into the chain and the key, or into halves without one. Raw DER, when the
 * first byte is 0x00: a 2-byte big-endian certificate length, the
 * certificate, then the key; the harness wraps both in PEM, so mutations
 * reach the DER parsers instead of breaking the base64. Each part is copied
 * to a buffer of its exact size so ASan sees any over-read.
 *
 *   clang -fsanitize=fuzzer,address,undefined -I/usr/include/bearssl \
 *       test/fuzz/fuzz_pem.c port/tls_bearssl.c port/posix.c -l:libbearssl.a
 *
 * test/fuzz/replay.c gives it a main() that replays a corpus, for `make test`.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "../../ingressd.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

void
ing_log(int level, const char *fmt, ...)
{
	(void)level;
	(void)fmt;
}

/* ingressd.c's heap, here from the C library: ASan sees each block. */
void *
ing_alloc(size_t n, const char *what)
{
	(void)what;
	return n > ING_MAX_HEAP_BYTES ? NULL : calloc(1, n ? n : 1);
}

void
ing_free(void *p)
{
	free(p);
}

/* DER to PEM; returns a malloc'd buffer of exactly *outlen bytes. */
static char *
pem_wrap(const char *label, const uint8_t *p, size_t n, size_t *outlen)
{
	static const char b64[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	size_t cap = 64 + 2 * strlen(label) + (n + 2) / 3 * 4 + n / 48 + 2, w, i;
	char *o = malloc(cap);

	if (o == NULL)
		abort();
	w = (size_t)snprintf(o, cap, "-----BEGIN %s-----\n", label);
	for (i = 0; i < n; i += 3) {
		uint32_t v = (uint32_t)p[i] << 16 | (i + 1 < n ? (uint32_t)p[i + 1] << 8 : 0) | (i + 2 < n ? p[i + 2] : 0);
		o[w++] = b64[v >> 18 & 63];
		o[w++] = b64[v >> 12 & 63];
		o[w++] = i + 1 < n ? b64[v >> 6 & 63] : '=';
		o[w++] = i + 2 < n ? b64[v & 63] : '=';
		if (i % 48 == 45)
			o[w++] = '\n';
	}
	w += (size_t)snprintf(o + w, cap - w, "\n-----END %s-----\n", label);
	*outlen = w;
	return o;
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tls_cert_info info;
	struct tls_cert *c;
	const uint8_t *sep = memchr(data, 0xff, size);
	size_t clen = sep != NULL ? (size_t)(sep - data) : size / 2;
	size_t klen = sep != NULL ? size - clen - 1 : size - clen;
	char *chain, *key;
	char err[256] = "";

	if (size >= 3 && data[0] == 0) {
		size_t n = (size_t)data[1] << 8 | data[2];
		if (n > size - 3)
			n = size - 3;
		/* tls_cert_infos reads the DER in place: an exact-size copy */
		uint8_t *der = malloc(n ? n : 1);
		char text[512];
		if (der == NULL)
			abort();
		memcpy(der, data + 3, n);
		int l = tls_cert_infos(der, n, 0x1ffff, text, sizeof text);
		if (l > (int)sizeof text || (l < 0 && l != ING_ERR))
			abort();
		free(der);
		chain = pem_wrap("CERTIFICATE", data + 3, n, &clen);
		key = pem_wrap("PRIVATE KEY", data + 3 + n, size - 3 - n, &klen);
	} else {
		chain = malloc(clen ? clen : 1);
		key = malloc(klen ? klen : 1);
		if (chain == NULL || key == NULL)
			abort();
		memcpy(chain, data, clen);
		memcpy(key, data + size - klen, klen);
	}
	c = tls_cert_load(chain, clen, key, klen, &info, err, sizeof err);
	if (c != NULL) {
		if (info.n_names < 0 || info.n_names > ING_MAX_CERT_NAMES || (info.key_type != 'R' && info.key_type != 'E'))
			abort();
		for (int i = 0; i < info.n_names; i++)
			if (memchr(info.names[i], '\0', ING_NAME_LEN) == NULL)
				abort();
		tls_cert_free(c);
	} else if (memchr(err, '\0', sizeof err) == NULL || err[0] == '\0') {
		abort(); /* every refusal says why */
	}
	free(chain);
	free(key);
	return 0;
}
