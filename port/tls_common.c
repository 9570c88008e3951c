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

static const char *
tm_fmt(int64_t s, char *buf, size_t cap)
{
	struct ing_tm tm;

	ing_civil(s, &tm);
	ing_snprintf(buf, cap, "%04d-%02d-%02d %02d:%02d:%02d UTC", tm.year, tm.mon, tm.mday, tm.hour, tm.min, tm.sec);
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
	struct ing_addr a;
	size_t n;

	*iplen = 0;
	if (host == NULL || host[0] == '\0' || (n = strlen(host)) >= ING_NAME_LEN) {
		seterr(err, errlen, "bad TLS server name");
		return -1;
	}
	if (ing_addr_parse_ip(&a, host, n) == 0) { /* IPv6 with or without [] */
		*iplen = a.family == 4 ? 4 : 16;
		memcpy(ip, a.ip, *iplen);
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

/* Next object: 1 with *out (DER from ing_alloc) and label, 0 when no BEGIN line
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
	if ((d = ing_alloc((size_t)(e - body) / 4 * 3 + 3, "tls: decoded PEM")) == NULL) {
		seterr(err, errlen, "out of memory (ING_MAX_HEAP_BYTES)");
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
		ing_free(d);
		seterr(err, errlen, "empty PEM %s", label);
		return -1;
	}
	*out = d;
	*outlen = n;
	return 1;
bad:
	ing_free(d);
	seterr(err, errlen, "bad base64 in PEM %s", label);
	return -1;
}

/* The one private key of a PEM (EC PARAMETERS blocks aside): 0 with *der
 * (from ing_alloc; the caller wipes and frees it) and its label, or -1 with err. */
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
			ing_free(d);
			continue;
		}
		if (*der != NULL) {
			tc_wipe(d, dl);
			ing_free(d);
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
		ing_free(*der);
		*der = NULL;
	}
	return -1;
}

/* ------------------------------------------------------------------------
 * DER: just enough to read validity, names and SANs of a certificate
 * (BearSSL's checks, and tls_cert_infos for both ports).
 * Every length is checked against what is left; nothing is trusted.
 * ------------------------------------------------------------------------ */
struct der {
	const unsigned char *p;
	size_t n;
};

static int
der_next(struct der *d, unsigned *tag, struct der *v)
{
	size_t len, hl = 2, k, i;

	if (d->n < 2 || (d->p[0] & 0x1f) == 0x1f)
		return -1;
	*tag = d->p[0];
	len = d->p[1];
	if (len & 0x80) {
		k = len & 0x7f;
		if (k == 0 || k > 3 || d->n < 2 + k) /* indefinite, or > 16 MB */
			return -1;
		for (len = 0, i = 0; i < k; i++)
			len = len << 8 | d->p[2 + i];
		hl += k;
	}
	if (len > d->n - hl)
		return -1;
	v->p = d->p + hl;
	v->n = len;
	d->p += hl + len;
	d->n -= hl + len;
	return 0;
}

static int
der_take(struct der *d, unsigned tag, struct der *v)
{
	unsigned t;

	return der_next(d, &t, v) == 0 && t == tag ? 0 : -1;
}

/* UTCTime or GeneralizedTime, "Z" form (RFC 5280), to unix seconds. */
static int
der_time(struct der *d, int64_t *out)
{
	struct der v;
	unsigned tag, f[5];
	size_t i, yl;
	int64_t y = 0;

	if (der_next(d, &tag, &v) != 0)
		return -1;
	if (tag == 0x17 && v.n == 13)
		yl = 2;
	else if (tag == 0x18 && v.n == 15)
		yl = 4;
	else
		return -1;
	if (v.p[v.n - 1] != 'Z')
		return -1;
	for (i = 0; i < v.n - 1; i++)
		if (v.p[i] < '0' || v.p[i] > '9')
			return -1;
	for (i = 0; i < yl; i++)
		y = y * 10 + (v.p[i] - '0');
	if (yl == 2)
		y += y < 50 ? 2000 : 1900;
	for (i = 0; i < 5; i++)
		f[i] = (unsigned)(v.p[yl + 2 * i] - '0') * 10 + (unsigned)(v.p[yl + 2 * i + 1] - '0');
	if (f[0] < 1 || f[0] > 12 || f[1] < 1 || f[1] > 31 || f[2] > 23 || f[3] > 59 || f[4] > 60)
		return -1;
	*out = ing_days(y, f[0], f[1]) * 86400 + f[2] * 3600 + f[3] * 60 + f[4];
	return 0;
}

struct certf {
	struct der issuer, validity, subject, exts;
};

static int
cert_fields(const unsigned char *p, size_t n, struct certf *f)
{
	struct der d = {p, n}, c, tbs, x;
	unsigned tag;

	if (der_take(&d, 0x30, &c) != 0 || der_take(&c, 0x30, &tbs) != 0)
		return -1;
	if (tbs.n > 0 && tbs.p[0] == 0xa0 && der_next(&tbs, &tag, &x) != 0)
		return -1;
	if (der_take(&tbs, 0x02, &x) != 0 || der_take(&tbs, 0x30, &x) != 0 || der_take(&tbs, 0x30, &f->issuer) != 0 ||
	    der_take(&tbs, 0x30, &f->validity) != 0 || der_take(&tbs, 0x30, &f->subject) != 0 ||
	    der_take(&tbs, 0x30, &x) != 0)
		return -1;
	f->exts.p = NULL;
	f->exts.n = 0;
	while (tbs.n > 0) {
		if (der_next(&tbs, &tag, &x) != 0)
			return -1;
		if (tag == 0xa3 && der_take(&x, 0x30, &f->exts) != 0)
			return -1;
	}
	return 0;
}

static int
cert_validity(const struct certf *f, int64_t *nb, int64_t *na)
{
	struct der v = f->validity;

	return der_time(&v, nb) == 0 && der_time(&v, na) == 0 ? 0 : -1;
}

/* The SEQUENCE inside extension oid (2.5.29.x, x = last): 1 found, 0
 * none, -1 malformed. */
static int
cert_ext(const struct certf *f, unsigned char last, struct der *seq)
{
	const unsigned char oid[] = {0x55, 0x1d, last};
	struct der exts = f->exts, e, id, v;
	unsigned tag;

	while (exts.n > 0) {
		if (der_take(&exts, 0x30, &e) != 0 || der_take(&e, 0x06, &id) != 0)
			return -1;
		if (e.n > 0 && e.p[0] == 0x01 && der_next(&e, &tag, &v) != 0)
			return -1;
		if (der_take(&e, 0x04, &v) != 0)
			return -1;
		if (id.n == sizeof oid && memcmp(id.p, oid, sizeof oid) == 0)
			return der_take(&v, 0x30, seq) == 0 && v.n == 0 ? 1 : -1;
	}
	return 0;
}

/* The GeneralNames of the subjectAltName: 1 found, 0 none, -1 malformed. */
static int
cert_san(const struct certf *f, struct der *names)
{
	return cert_ext(f, 0x11, names);
}

/* ------------------------------------------------------------------------
 * tls_cert_infos: Traefik 1.7's X-Forwarded-Tls-Client-Cert-Infos text
 * (before URL escaping), as Go's crypto/x509 reads the fields.
 * ------------------------------------------------------------------------ */
struct ci_out {
	char *p;
	size_t cap, n;
	int bad;
};

static void
ci_put(struct ci_out *o, const void *s, size_t n)
{
	if (n > o->cap - o->n) {
		o->bad = 1;
		return;
	}
	memcpy(o->p + o->n, s, n);
	o->n += n;
}

static void
ci_str(struct ci_out *o, const char *s)
{
	ci_put(o, s, strlen(s));
}

/* The attribute types of ING_DN_*, in their order in the text. */
static const struct {
	const char *name;
	unsigned char oid[10];
	size_t len;
} ci_attrs[ING_DN__COUNT] = {
    [ING_DN_DC] = {"DC", {0x09, 0x92, 0x26, 0x89, 0x93, 0xf2, 0x2c, 0x64, 0x01, 0x19}, 10},
    [ING_DN_C] = {"C", {0x55, 0x04, 0x06}, 3},  [ING_DN_ST] = {"ST", {0x55, 0x04, 0x08}, 3},
    [ING_DN_L] = {"L", {0x55, 0x04, 0x07}, 3},  [ING_DN_O] = {"O", {0x55, 0x04, 0x0a}, 3},
    [ING_DN_SN] = {"SN", {0x55, 0x04, 0x05}, 3}, [ING_DN_CN] = {"CN", {0x55, 0x04, 0x03}, 3},
};

/* PREFIX="DC=..,C=..,ST=..,L=..,O=..,SN=..,CN=.." with the asked-for
 * attributes of a Name: every value of DC, C, ST, L and O in order, the
 * last SN and CN (Go's pkix.Name keeps one); string values only. */
static void
ci_dn(struct ci_out *o, const char *prefix, const struct der *name, unsigned want)
{
	int any = 0;

	for (int a = 0; a < ING_DN__COUNT; a++) {
		struct der rdns = *name, set, atv, oid, v, last = {NULL, 0};
		unsigned tag;
		if (!(want >> a & 1))
			continue;
		while (rdns.n > 0) {
			if (der_take(&rdns, 0x31, &set) != 0) {
				o->bad = 1;
				return;
			}
			while (set.n > 0) {
				if (der_take(&set, 0x30, &atv) != 0 || der_take(&atv, 0x06, &oid) != 0 ||
				    der_next(&atv, &tag, &v) != 0) {
					o->bad = 1;
					return;
				}
				/* UTF8, Numeric, Printable, T61, IA5 String */
				if (oid.n != ci_attrs[a].len || memcmp(oid.p, ci_attrs[a].oid, oid.n) != 0 ||
				    (tag != 0x0c && tag != 0x12 && tag != 0x13 && tag != 0x14 && tag != 0x16) || v.n == 0)
					continue;
				last = v;
				if (a == ING_DN_SN || a == ING_DN_CN)
					continue;
				ci_str(o, any++ ? "," : prefix);
				ci_str(o, ci_attrs[a].name);
				ci_put(o, "=", 1);
				ci_put(o, v.p, v.n);
			}
		}
		if ((a == ING_DN_SN || a == ING_DN_CN) && last.p != NULL) {
			ci_str(o, any++ ? "," : prefix);
			ci_str(o, ci_attrs[a].name);
			ci_put(o, "=", 1);
			ci_put(o, last.p, last.n);
		}
	}
	if (any)
		ci_put(o, "\"", 1);
}

/* An iPAddress SAN as Go's net.IP prints it: dotted IPv4 (an IPv4-mapped
 * IPv6 address too), else RFC 5952 (the longest run of two or more zero
 * groups as ::). Not inet_ntop: musl's pulls in the printf family. */
static void
ci_ip(struct ci_out *o, const unsigned char *a, size_t n)
{
	static const unsigned char mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	char b[48];
	size_t w = 0;
	int best = -1, blen = 1, run = 0;

	if (n == 16 && memcmp(a, mapped, 12) == 0)
		a += 12, n = 4;
	if (n == 4) {
		ci_put(o, b, (size_t)ing_snprintf(b, sizeof b, "%u.%u.%u.%u", a[0], a[1], a[2], a[3]));
		return;
	}
	for (int g = 0; g < 8; g++) { /* the first longest zero run */
		run = a[2 * g] | a[2 * g + 1] ? 0 : run + 1;
		if (run > blen)
			blen = run, best = g - run + 1;
	}
	for (int g = 0; g < 8; g++) {
		if (g == best) {
			w += (size_t)ing_snprintf(b + w, sizeof b - w, "::");
			g += blen - 1;
			continue;
		}
		w += (size_t)ing_snprintf(b + w, sizeof b - w, "%s%x", w > 0 && b[w - 1] != ':' ? ":" : "",
		                          (unsigned)(a[2 * g] << 8 | a[2 * g + 1]));
	}
	ci_put(o, b, w);
}

static void
ci_num(struct ci_out *o, const char *name, int64_t v)
{
	char b[32];

	ci_put(o, b, (size_t)ing_snprintf(b, sizeof b, "%s%s=%lld", o->n ? "," : "", name, (long long)v));
}

int
tls_cert_infos(const unsigned char *der, size_t n, uint32_t what, char *out, size_t cap)
{
	struct ci_out o = {out, cap, 0, 0};
	struct certf f;
	struct der names, v;
	int64_t nb, na;
	unsigned tag;
	int r;

	if (cert_fields(der, n, &f) != 0 || cert_validity(&f, &nb, &na) != 0 || (r = cert_san(&f, &names)) < 0)
		return ING_ERR;
	ci_dn(&o, "Subject=\"", &f.subject, what / ING_CI_SUBJECT(0) & 0x7f);
	if (o.n > 0 && (what / ING_CI_ISSUER(0) & 0x7f))
		ci_put(&o, ",", 1);
	ci_dn(&o, "Issuer=\"", &f.issuer, what / ING_CI_ISSUER(0) & 0x7f);
	if (o.n > 0 && o.p[o.n - 1] == ',')
		o.n--; /* an issuer with none of the asked-for fields */
	if (what & ING_CI_NB)
		ci_num(&o, "NB", nb);
	if (what & ING_CI_NA)
		ci_num(&o, "NA", na);
	if (what & ING_CI_SAN) {
		static const unsigned char kinds[] = {0x82, 0x81, 0x87, 0x86}; /* Go's order: DNS, email, IP, URI */
		int first = 1;
		ci_str(&o, o.n ? ",SAN=" : "SAN=");
		for (size_t k = 0; k < sizeof kinds && r == 1; k++) {
			struct der all = names;
			while (all.n > 0) {
				if (der_next(&all, &tag, &v) != 0)
					return ING_ERR;
				if (tag != kinds[k])
					continue;
				if (!first)
					ci_put(&o, ",", 1);
				first = 0;
				if (tag == 0x87 && (v.n == 4 || v.n == 16))
					ci_ip(&o, v.p, v.n);
				else
					ci_put(&o, v.p, v.n);
			}
		}
	}
	return o.bad ? ING_ERR : (int)o.n;
}
