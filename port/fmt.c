/*
 * port/fmt.c - snprintf and vsnprintf for the conversions ingressd and its
 * ports use, so a static build links no printf family from the C library:
 * musl's vfprintf, with the long-double arithmetic libgcc emulates for it
 * on aarch64, costs some 30 KB of the 400 KB budget.
 *
 * Conversions: %d %i %u %x %X %c %s %%; lengths l, ll, z, j; flags '-'
 * and '0'; a width and a precision (digits or '*'; a precision bounds %s).
 * Anything else is written as it stands. The contract is C's: at most cap
 * bytes including the NUL, and the length the whole text would have.
 *
 * #included by both OS ports (posix.c, mock.c), as tls_common.c is by the
 * TLS ports: every program links exactly one of them.
 *
 * ing_strerror and ing_addr_parse_ip are here too, for the same reason
 * and for every program alike: musl's strerror table (2.2 KB) names some
 * 130 errors, most of which no system call ingressd makes can return, and
 * its inet_pton would be a second IP address reader.
 */
#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdint.h>
#include <string.h>

#include "../ingressd.h"

static size_t
fmt_num(char *t, unsigned long long v, unsigned base, int upper)
{
	const char *digits = upper ? "0123456789ABCDEF" : "0123456789abcdef";
	size_t n = 0;
	do
		t[n++] = digits[v % base];
	while ((v /= base) != 0);
	return n; /* reversed */
}

int
ing_vsnprintf(char *buf, size_t cap, const char *fmt, va_list ap)
{
	size_t n = 0;
#define FMT_PUT(ch)                  \
	do {                         \
		if (n + 1 < cap)     \
			buf[n] = (ch); \
		n++;                 \
	} while (0)
	for (const char *f = fmt; *f != '\0'; f++) {
		if (*f != '%') {
			FMT_PUT(*f);
			continue;
		}
		int left = 0, zero = 0, width = 0, prec = -1, len = 0, neg = 0;
		for (f++; *f == '-' || *f == '0'; f++)
			*f == '-' ? (left = 1) : (zero = 1);
		if (*f == '*') {
			width = va_arg(ap, int);
			left |= width < 0;
			width = width < 0 ? -width : width;
			f++;
		}
		for (; *f >= '0' && *f <= '9'; f++)
			width = width * 10 + (*f - '0');
		if (*f == '.') {
			prec = 0;
			if (*++f == '*') {
				prec = va_arg(ap, int);
				f++;
			}
			for (; *f >= '0' && *f <= '9'; f++)
				prec = prec * 10 + (*f - '0');
		}
		for (; *f == 'l' || *f == 'z' || *f == 'j'; f++)
			len = *f == 'l' ? len + 1 : *f == 'z' ? 3 : 4;
		char t[24];
		const char *s = t;
		size_t sl = 0;
		unsigned long long u = 0;
		switch (*f) {
		case 's':
			s = va_arg(ap, const char *);
			if (s == NULL)
				s = "(null)";
			sl = prec >= 0 ? strnlen(s, (size_t)prec) : strlen(s);
			break;
		case 'c':
			t[0] = (char)va_arg(ap, int);
			sl = 1;
			break;
		case 'd':
		case 'i': {
			long long v = len == 0 ? va_arg(ap, int) : len == 1 ? va_arg(ap, long) : len == 2 ? va_arg(ap, long long)
			              : len == 3 ? (long long)va_arg(ap, ssize_t) : (long long)va_arg(ap, intmax_t);
			neg = v < 0;
			u = neg ? 0ULL - (unsigned long long)v : (unsigned long long)v;
			sl = fmt_num(t, u, 10, 0);
			break;
		}
		case 'u':
		case 'x':
		case 'X':
			u = len == 0 ? va_arg(ap, unsigned) : len == 1 ? va_arg(ap, unsigned long) : len == 2
			    ? va_arg(ap, unsigned long long) : len == 3 ? va_arg(ap, size_t) : (unsigned long long)va_arg(ap, uintmax_t);
			sl = fmt_num(t, u, *f == 'u' ? 10 : 16, *f == 'X');
			break;
		case '%':
			t[0] = '%';
			sl = 1;
			break;
		default: /* not ours: the text as it stands */
			FMT_PUT('%');
			if (*f == '\0')
				f--;
			else
				FMT_PUT(*f);
			continue;
		}
		int numeric = *f != 's' && *f != 'c' && *f != '%';
		size_t body = sl + (size_t)neg;
		size_t pad = (size_t)width > body ? (size_t)width - body : 0;
		if (!left && !(zero && numeric))
			for (; pad > 0; pad--)
				FMT_PUT(' ');
		if (neg)
			FMT_PUT('-');
		for (; !left && pad > 0; pad--)
			FMT_PUT('0');
		for (size_t i = 0; i < sl; i++)
			FMT_PUT(numeric ? s[sl - 1 - i] : s[i]);
		for (; pad > 0; pad--)
			FMT_PUT(' ');
	}
	if (cap > 0)
		buf[n < cap ? n : cap - 1] = '\0';
#undef FMT_PUT
	return n > INT_MAX ? INT_MAX : (int)n;
}

int
ing_snprintf(char *buf, size_t cap, const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	int n = ing_vsnprintf(buf, cap, fmt, ap);
	va_end(ap);
	return n;
}

/* The errors the system calls ingressd makes can report (files, sockets,
 * fork, setuid), in the C library's words; any other is "error N". */
#define FMT_ERRORS(X) \
	X(EPERM, "Operation not permitted") \
	X(ENOENT, "No such file or directory") \
	X(EINTR, "Interrupted system call") \
	X(EIO, "I/O error") \
	X(EBADF, "Bad file descriptor") \
	X(EAGAIN, "Resource temporarily unavailable") \
	X(ENOMEM, "Out of memory") \
	X(EACCES, "Permission denied") \
	X(EFAULT, "Bad address") \
	X(EEXIST, "File exists") \
	X(ENOTDIR, "Not a directory") \
	X(EISDIR, "Is a directory") \
	X(EINVAL, "Invalid argument") \
	X(ENFILE, "Too many open files in system") \
	X(EMFILE, "No file descriptors available") \
	X(ENOSPC, "No space left on device") \
	X(EPIPE, "Broken pipe") \
	X(ENAMETOOLONG, "Filename too long") \
	X(ENOSYS, "Function not implemented") \
	X(ELOOP, "Symbolic link loop") \
	X(ENOTSOCK, "Not a socket") \
	X(EMSGSIZE, "Message too large") \
	X(EPROTONOSUPPORT, "Protocol not supported") \
	X(EOPNOTSUPP, "Not supported") \
	X(EAFNOSUPPORT, "Address family not supported by protocol") \
	X(EADDRINUSE, "Address in use") \
	X(EADDRNOTAVAIL, "Address not available") \
	X(ENETDOWN, "Network is down") \
	X(ENETUNREACH, "Network unreachable") \
	X(ECONNABORTED, "Connection aborted") \
	X(ECONNRESET, "Connection reset by peer") \
	X(ENOBUFS, "No buffer space available") \
	X(EISCONN, "Socket is connected") \
	X(ENOTCONN, "Socket not connected") \
	X(ETIMEDOUT, "Operation timed out") \
	X(ECONNREFUSED, "Connection refused") \
	X(EHOSTDOWN, "Host is down") \
	X(EHOSTUNREACH, "Host is unreachable") \
	X(EALREADY, "Operation already in progress") \
	X(EINPROGRESS, "Operation in progress")
#define FMT_ERRNO(e, s) e,
#define FMT_ERRSTR(e, s) s "\0"
static const unsigned char fmt_errno[] = {FMT_ERRORS(FMT_ERRNO)};
static const char fmt_errstr[] = FMT_ERRORS(FMT_ERRSTR);

const char *
ing_strerror(int e)
{
	static char other[24];
	const char *s = fmt_errstr;
	for (size_t i = 0; i < sizeof fmt_errno; i++, s += strlen(s) + 1)
		if (fmt_errno[i] == e)
			return s;
	ing_snprintf(other, sizeof other, "error %d", e);
	return other;
}

/* Numeric addresses (ingressd.h), for ingressd.c and for the resolver and
 * the TLS server names of the ports. */

/* Strict dotted quad, NUL-terminated: no leading zeros, no short forms
 * ("1.2.3", "01.2.3.4" are refused everywhere alike). */
static int
addr_parse_v4(const char *p, uint8_t out[4])
{
	for (int i = 0; i < 4; i++) {
		unsigned v = 0, digits = 0;
		while (*p >= '0' && *p <= '9') {
			if (digits > 0 && v == 0)
				return ING_ERR;
			v = v * 10 + (unsigned)(*p++ - '0');
			if (++digits > 3 || v > 255)
				return ING_ERR;
		}
		if (digits == 0 || (i < 3 && *p++ != '.'))
			return ING_ERR;
		out[i] = (uint8_t)v;
	}
	return *p == '\0' ? 0 : ING_ERR;
}

int
ing_addr_parse_ip(struct ing_addr *a, const char *s, size_t n)
{
	char tmp[64];
	memset(a, 0, sizeof *a);
	if (n >= 2 && s[0] == '[' && s[n - 1] == ']') {
		s++;
		n -= 2;
	}
	if (n == 0 || n >= sizeof tmp || memchr(s, '\0', n) != NULL)
		return ING_ERR;
	memcpy(tmp, s, n);
	tmp[n] = '\0';
	if (memchr(tmp, ':', n) == NULL) {
		if (addr_parse_v4(tmp, a->ip) != 0)
			return ING_ERR;
		a->family = 4;
		return 0;
	}
	/* IPv6: groups of up to 4 hex digits, one "::", optional dotted tail. */
	{
		uint16_t w[8];
		int nw = 0, gap = -1;
		const char *p = tmp;
		char *pct = strchr(tmp, '%');
		if (pct != NULL)
			return ING_ERR; /* zones are not used for endpoints */
		if (p[0] == ':' && p[1] == ':') {
			gap = 0;
			p += 2;
		} else if (p[0] == ':')
			return ING_ERR;
		while (*p != '\0') {
			unsigned v = 0, digits = 0;
			const char *start = p;
			if (nw >= 8)
				return ING_ERR;
			while (isxdigit((unsigned char)*p)) {
				v = v * 16 + (unsigned)(isdigit((unsigned char)*p) ? *p - '0' : (tolower((unsigned char)*p) - 'a' + 10));
				if (++digits > 4)
					return ING_ERR;
				p++;
			}
			if (*p == '.') { /* embedded IPv4 */
				uint8_t v4[4];
				if (nw > 6 || addr_parse_v4(start, v4) != 0)
					return ING_ERR;
				w[nw++] = (uint16_t)(v4[0] << 8 | v4[1]);
				w[nw++] = (uint16_t)(v4[2] << 8 | v4[3]);
				p = start + strlen(start);
				break;
			}
			if (digits == 0)
				return ING_ERR;
			w[nw++] = (uint16_t)v;
			if (*p == '\0')
				break;
			if (*p != ':')
				return ING_ERR;
			p++;
			if (*p == ':') {
				if (gap >= 0)
					return ING_ERR;
				gap = nw;
				p++;
			} else if (*p == '\0')
				return ING_ERR;
		}
		if (gap < 0 && nw != 8)
			return ING_ERR;
		if (gap >= 0 && nw > 7)
			return ING_ERR;
		a->family = 6;
		int tail = gap < 0 ? 0 : nw - gap, head = gap < 0 ? nw : gap;
		for (int i = 0; i < head; i++) {
			a->ip[2 * i] = (uint8_t)(w[i] >> 8);
			a->ip[2 * i + 1] = (uint8_t)w[i];
		}
		for (int i = 0; i < tail; i++) {
			int k = 8 - tail + i;
			a->ip[2 * k] = (uint8_t)(w[gap + i] >> 8);
			a->ip[2 * k + 1] = (uint8_t)w[gap + i];
		}
		return 0;
	}
}

/* Days from 1970-01-01 to a proleptic Gregorian date (ingressd.h). */
int64_t
ing_days(int64_t y, unsigned m, unsigned d)
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

/* days_from_civil's inverse (H. Hinnant's civil_from_days) plus the time of day. */
void
ing_civil(int64_t secs, struct ing_tm *tm)
{
	int64_t z = (secs >= 0 ? secs : secs - 86399) / 86400, era;
	int64_t sod = secs - z * 86400;
	unsigned doe, yoe, doy, mp;

	z += 719468;
	era = (z >= 0 ? z : z - 146096) / 146097;
	doe = (unsigned)(z - era * 146097);
	yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	mp = (5 * doy + 2) / 153;
	tm->mday = (int)(doy - (153 * mp + 2) / 5 + 1);
	tm->mon = (int)(mp < 10 ? mp + 3 : mp - 9);
	tm->year = (int)((int64_t)yoe + era * 400 + (tm->mon <= 2));
	tm->hour = (int)(sod / 3600);
	tm->min = (int)(sod / 60 % 60);
	tm->sec = (int)(sod % 60);
}
