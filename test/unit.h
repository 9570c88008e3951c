/* test/unit.h - the smallest harness that works (jsmn's test.h): CHECK
 * prints file:line:expression on failure and counts. */
#ifndef UNIT_H
#define UNIT_H
#include <stdio.h>
#include <string.h>

extern int ut_pass, ut_fail;
extern const char *ut_name;

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
#define TEST(name) static void name(void)
#define RUN(name)                                                                       \
	do {                                                                                \
		ut_name = #name;                                                                \
		name();                                                                         \
	} while (0)
#endif
