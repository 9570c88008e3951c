/*
 * port/tls_common.c - what the two TLS ports share: error and alert
 * texts, wiping, validation time, server and certificate names, and the
 * strict PEM and private-key reader (mbed TLS has one, but not with the
 * same rules and error texts).
 *
 * Not compiled alone: port/tls_bearssl.c and port/tls_mbedtls.c each
 * #include it after defining their struct tls (which has char err[]), so
 * everything here stays static to the port that uses it.
 */

/* ------------------------------------------------------------------------
 * Errors, alerts, wiping, time.
 * ------------------------------------------------------------------------ */
static void seterr(char *err, size_t errlen, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void tc_fail(struct tls *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static void
seterr(char *err, size_t errlen, const char *fmt, ...)
{
	va_list ap;

	if (err == NULL || errlen == 0)
		return;
	va_start(ap, fmt);
	ing_vsnprintf(err, errlen, fmt, ap);
	va_end(ap);
}

/* The first error of a session sticks. */
static void
tc_fail(struct tls *t, const char *fmt, ...)
{
	va_list ap;

	if (t->err[0] != '\0')
		return;
	va_start(ap, fmt);
	ing_vsnprintf(t->err, sizeof t->err, fmt, ap);
	va_end(ap);
}

/* memset through a volatile pointer: key material must not survive. */
static void *(*const volatile tc_memset)(void *, int, size_t) = memset;

static void
tc_wipe(void *p, size_t n)
{
	tc_memset(p, 0, n);
}

/* Days from 1970-01-01 to a proleptic Gregorian date (H. Hinnant). */
static int64_t
tm_days(int64_t y, unsigned m, unsigned d)
{
	int64_t era;
	unsigned yoe, doy, doe;

	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = (unsigned)(y - era * 400);
	doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static const char *
tm_fmt(int64_t s, char *buf, size_t cap)
{
	struct tm tm;
	time_t tt = (time_t)s;

	if (gmtime_r(&tt, &tm) == NULL)
		ing_snprintf(buf, cap, "@%lld", (long long)s);
	else
		ing_snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
		             tm.tm_hour, tm.tm_min, tm.tm_sec);
	return buf;
}

/* Validation time: the wall clock, or the build date when it is unset
 * (boards without an RTC boot in 1970 and would reject every certificate). */
static int64_t
tc_now(void)
{
	static int warned;
	int64_t now = port_wall_s();

	if (now < ING_BUILD_EPOCH) {
		if (!warned)
			ing_log(ING_LOG_WARN, "tls: wall clock unset; certificate validity checked against the build date");
		warned = 1;
		now = ING_BUILD_EPOCH;
	}
	return now;
}

/* TLS alert descriptions (RFC 5246 7.2) for error texts. */
static const char *
tc_alert(int a)
{
	switch (a) {
	case 10: return "unexpected message";
	case 20: return "bad record MAC";
	case 40: return "handshake failure";
	case 42: return "bad certificate";
	case 43: return "unsupported certificate";
	case 44: return "certificate revoked";
	case 45: return "certificate expired";
	case 46: return "certificate unknown";
	case 47: return "illegal parameter";
	case 48: return "unknown CA";
	case 50: return "decode error";
	case 51: return "decrypt error";
	case 70: return "protocol version";
	case 71: return "insufficient security";
	case 80: return "internal error";
	case 112: return "unrecognized name";
	default: return "alert";
	}
}

/* ------------------------------------------------------------------------
 * Names.
 * ------------------------------------------------------------------------ */
/* A client's server name: a DNS name, or an IP literal ("10.43.0.1", "::1",
 * "[::1]") whose bytes go to ip/iplen (iplen 0 for a name). */
static int
tc_host(const char *host, unsigned char ip[16], size_t *iplen, char *err, size_t errlen)
{
	char buf[64];
	const char *a = host;
	size_t n;

	*iplen = 0;
	if (host == NULL || host[0] == '\0' || (n = strlen(host)) >= ING_NAME_LEN) {
		seterr(err, errlen, "bad TLS server name");
		return -1;
	}
	if (inet_pton(AF_INET, a, ip) == 1) {
		*iplen = 4;
		return 0;
	}
	if (n >= 2 && host[0] == '[' && host[n - 1] == ']' && n - 2 < sizeof buf) {
		memcpy(buf, host + 1, n - 2);
		buf[n - 2] = '\0';
		a = buf;
	}
	if (inet_pton(AF_INET6, a, ip) == 1) {
		*iplen = 16;
		return 0;
	}
	if (strchr(host, ':') != NULL) {
		seterr(err, errlen, "%s is neither a DNS name nor an IP address", host);
		return -1;
	}
	return 0;
}

/* A DNS name of a certificate (SAN or CN) into info: printable, bounded. */
/* ------------------------------------------------------------------------
 * Names in certificates.
 * ------------------------------------------------------------------------ */
static int
name_add(struct tls_cert_info *info, const unsigned char *p, size_t n, char *err, size_t errlen)
{
	size_t i;

	if (n == 0 || n >= ING_NAME_LEN) {
		seterr(err, errlen, "certificate name of %zu bytes (1 to %d allowed)", n, ING_NAME_LEN - 1);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (p[i] <= 0x20 || p[i] >= 0x7f) {
			seterr(err, errlen, "certificate has a DNS name with a byte 0x%02x", p[i]);
			return -1;
		}
	}
	if (info->n_names >= ING_MAX_CERT_NAMES) {
		seterr(err, errlen, "too many names in certificate (limit is %d, ING_MAX_CERT_NAMES)",
		       ING_MAX_CERT_NAMES);
		return -1;
	}
	memcpy(info->names[info->n_names], p, n);
	info->names[info->n_names++][n] = '\0';
	return 0;
}


/* ------------------------------------------------------------------------
 * PEM: one object at a time, strict base64, END must match BEGIN.
 * ------------------------------------------------------------------------ */
struct pem {
	const char *p, *end;
};

static const char *
pem_find(const char *p, const char *end, const char *s)
{
	size_t n = strlen(s);
	const char *q;

	while ((size_t)(end - p) >= n) {
		q = memchr(p, s[0], (size_t)(end - p) - n + 1);
		if (q == NULL)
			return NULL;
		if (memcmp(q, s, n) == 0)
			return q;
		p = q + 1;
	}
	return NULL;
}

static int
pem_b64(unsigned c)
{
	if (c >= 'A' && c <= 'Z')
		return (int)(c - 'A');
	if (c >= 'a' && c <= 'z')
		return (int)(c - 'a' + 26);
	if (c >= '0' && c <= '9')
		return (int)(c - '0' + 52);
	if (c == '+')
		return 62;
	if (c == '/')
		return 63;
	return -1;
}

/* Next object: 1 with *out (malloc'd DER) and label, 0 when no BEGIN line
 * is left, -1 with err. Text outside BEGIN/END is ignored, as OpenSSL does. */
static int
pem_next(struct pem *s, char *label, size_t labcap, unsigned char **out, size_t *outlen, char *err, size_t errlen)
{
	const char *b, *l, *q, *body, *e;
	unsigned char *d;
	size_t ll, n = 0;
	uint32_t acc = 0;
	int k = 0, pad = 0, v;

	*out = NULL;
	*outlen = 0;
	if ((b = pem_find(s->p, s->end, "-----BEGIN ")) == NULL) {
		s->p = s->end;
		return 0;
	}
	l = b + 11;
	for (q = l; q < s->end && *q != '-'; q++)
		if (!((*q >= 'A' && *q <= 'Z') || (*q >= '0' && *q <= '9') || *q == ' '))
			break;
	ll = (size_t)(q - l);
	if (ll == 0 || ll >= labcap || s->end - q < 5 || memcmp(q, "-----", 5) != 0) {
		seterr(err, errlen, "malformed PEM BEGIN line");
		return -1;
	}
	memcpy(label, l, ll);
	label[ll] = '\0';
	body = q + 5;
	if ((e = pem_find(body, s->end, "-----END ")) == NULL) {
		seterr(err, errlen, "truncated PEM: no END line for %s", label);
		return -1;
	}
	if ((size_t)(s->end - e) < 9 + ll + 5 || memcmp(e + 9, label, ll) != 0 || memcmp(e + 9 + ll, "-----", 5) != 0) {
		seterr(err, errlen, "PEM END line does not match BEGIN %s", label);
		return -1;
	}
	s->p = e + 9 + ll + 5;
	if (memchr(body, ':', (size_t)(e - body)) != NULL) {
		/* RFC 1421 headers: only encrypted keys carry them. */
		if (pem_find(body, e, "ENCRYPTED") != NULL)
			seterr(err, errlen, "encrypted private keys are not supported (%s has Proc-Type: ENCRYPTED)", label);
		else
			seterr(err, errlen, "PEM headers are not supported (in %s)", label);
		return -1;
	}
	if ((d = malloc((size_t)(e - body) / 4 * 3 + 3)) == NULL) {
		seterr(err, errlen, "out of memory");
		return -1;
	}
	for (q = body; q < e; q++) {
		unsigned c = (unsigned char)*q;
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=' && k >= 2 && pad < 2) {
			pad++;
			continue;
		}
		if ((v = pem_b64(c)) < 0 || pad > 0)
			goto bad;
		acc = acc << 6 | (uint32_t)v;
		if (++k == 4) {
			d[n++] = (unsigned char)(acc >> 16);
			d[n++] = (unsigned char)(acc >> 8);
			d[n++] = (unsigned char)acc;
			acc = 0;
			k = 0;
		}
	}
	if (k == 2 && pad == 2) {
		d[n++] = (unsigned char)(acc >> 4);
	} else if (k == 3 && pad == 1) {
		d[n++] = (unsigned char)(acc >> 10);
		d[n++] = (unsigned char)(acc >> 2);
	} else if (k != 0 || pad != 0) {
		goto bad;
	}
	if (n == 0) {
		free(d);
		seterr(err, errlen, "empty PEM %s", label);
		return -1;
	}
	*out = d;
	*outlen = n;
	return 1;
bad:
	free(d);
	seterr(err, errlen, "bad base64 in PEM %s", label);
	return -1;
}

/* The one private key of a PEM (EC PARAMETERS blocks aside): 0 with *der
 * (malloc'd; the caller wipes and frees it) and its label, or -1 with err. */
static int
pem_key(const char *pem, size_t len, unsigned char **der, size_t *dlen, char *klabel, size_t kcap, char *err,
        size_t errlen)
{
	struct pem s = {pem, pem + len};
	char label[64], e[128];
	unsigned char *d;
	size_t dl;
	int r;

	*der = NULL;
	*dlen = 0;
	klabel[0] = '\0';
	for (;;) {
		if ((r = pem_next(&s, label, sizeof label, &d, &dl, e, sizeof e)) < 0) {
			seterr(err, errlen, "private key: %s", e);
			goto bad;
		}
		if (r == 0)
			break;
		if (strcmp(label, "EC PARAMETERS") == 0) { /* openssl ecparam -genkey */
			free(d);
			continue;
		}
		if (*der != NULL) {
			tc_wipe(d, dl);
			free(d);
			seterr(err, errlen, "private key: more than one key in the PEM");
			goto bad;
		}
		*der = d;
		*dlen = dl;
		if (strcmp(label, "RSA PRIVATE KEY") != 0 && strcmp(label, "EC PRIVATE KEY") != 0 &&
		    strcmp(label, "PRIVATE KEY") != 0) {
			if (strcmp(label, "ENCRYPTED PRIVATE KEY") == 0)
				seterr(err, errlen, "private key: encrypted private keys are not supported (%s)", label);
			else
				seterr(err, errlen, "private key: unexpected PEM block %s", label);
			goto bad;
		}
		ing_snprintf(klabel, kcap, "%s", label);
	}
	if (*der == NULL) {
		seterr(err, errlen, "private key: no PEM private key found");
		goto bad;
	}
	return 0;
bad:
	if (*der != NULL) {
		tc_wipe(*der, *dlen);
		free(*der);
		*der = NULL;
	}
	return -1;
}
