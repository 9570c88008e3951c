/*
 * port/fortify.c - the three _FORTIFY_SOURCE entry points Debian's
 * libbearssl.a calls, for static musl builds (musl has no fortify runtime).
 * They check what glibc's check: the destination's known size. A failed
 * check traps, as musl's own __stack_chk_fail does (abort would bring
 * musl's raise and its locks, 0.3 KB, to die of a signal all the same).
 */
#include <stddef.h>
#include <string.h>

void *__memcpy_chk(void *dst, const void *src, size_t n, size_t dstlen);
void *__memmove_chk(void *dst, const void *src, size_t n, size_t dstlen);
void *__memset_chk(void *dst, int c, size_t n, size_t dstlen);

void *
__memcpy_chk(void *dst, const void *src, size_t n, size_t dstlen)
{
	if (n > dstlen)
		__builtin_trap();
	return memcpy(dst, src, n);
}

void *
__memmove_chk(void *dst, const void *src, size_t n, size_t dstlen)
{
	if (n > dstlen)
		__builtin_trap();
	return memmove(dst, src, n);
}

void *
__memset_chk(void *dst, int c, size_t n, size_t dstlen)
{
	if (n > dstlen)
		__builtin_trap();
	return memset(dst, c, n);
}
