/* test/unit.h - the smallest harness that works (jsmn's test.h): CHECK
 * prints file:line:expression on failure and counts. */
#ifndef UNIT_H
#define UNIT_H
#include <stdio.h>
#include <string.h>


#define CHECK(x)                                                                        \
	do {                                                                                \
		if (x)                                                                          \
			ut_pass++;                                                                  \
		else {                                                                          \
			ut_fail++;                                                                  \
			fprintf(stderr, "FAIL %s:%d: [%s] %s\n", __FILE__, __LINE__, ut_name, #x);  \
		}                                                                               \
	} while (0)
#define CHECK_STR(a, b)                                                                         \
	do {                                                                                        \
		const char *ut_a = (a), *ut_b = (b);                                                    \
		if (ut_a != NULL && ut_b != NULL && strcmp(ut_a, ut_b) == 0)                            \
			ut_pass++;                                                                          \
		else {                                                                                  \
			ut_fail++;                                                                          \
			fprintf(stderr, "FAIL %s:%d: [%s] %s == %s: \"%s\" vs \"%s\"\n", __FILE__, __LINE__, \
			        ut_name, #a, #b, ut_a ? ut_a : "(null)", ut_b ? ut_b : "(null)");           \
		}                                                                                       \
	} while (0)
#define CHECK_EQ(a, b, what)                                                                    \
	do {                                                                                        \
		long ut_x = (long)(a), ut_y = (long)(b);                                                \
		if (ut_x == ut_y)                                                                       \
			ut_pass++;                                                                          \
		else {                                                                                  \
			ut_fail++;                                                                          \
			fprintf(stderr, "FAIL %s:%d: [%s] %s: got %ld, want %ld [%s]\n", __FILE__, __LINE__, \
			        ut_name, #a, ut_x, ut_y, what);                                             \
		}                                                                                       \
	} while (0)
#define TEST(name) static void name(void)
#define RUN(name)                                                                       \
	do {                                                                                \
		ut_name = #name;                                                                \
		name();                                                                         \
	} while (0)

#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

int ut_pass, ut_fail;
const char *ut_name = "";

/* Copy s flush against a PROT_NONE page so any over-read faults
 * (picohttpparser's test). Returns the copy; release with guard_free. */
static char *__attribute__((unused))
guard_copy(const void *s, size_t n, void **base, size_t *maplen)
{
	long pg = sysconf(_SC_PAGESIZE);
	size_t pages = (n + (size_t)pg - 1) / (size_t)pg + 1;
	char *m = mmap(NULL, pages * (size_t)pg, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
	if (m == MAP_FAILED)
		abort();
	mprotect(m + (pages - 1) * (size_t)pg, (size_t)pg, PROT_NONE);
	char *p = m + (pages - 1) * (size_t)pg - n;
	memcpy(p, s, n);
	*base = m;
	*maplen = pages * (size_t)pg;
	return p;
}

static void __attribute__((unused))
guard_free(void *base, size_t maplen)
{
	munmap(base, maplen);
}

#endif
