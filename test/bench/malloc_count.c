/*
 * test/bench/malloc_count.c - counts heap calls of a process (issue 4 goal:
 * no heap allocation per request in steady state).
 *
 *   cc -O2 -shared -fPIC -o build/bench/malloc_count.so test/bench/malloc_count.c
 *   MALLOC_COUNT_FILE=/tmp/x LD_PRELOAD=build/bench/malloc_count.so ./ingressd ...
 *
 * The counters live in a shared mapping of MALLOC_COUNT_FILE, so the bench
 * reads them at any moment without signalling the process: five native
 * uint64 values, malloc, calloc, realloc, free (of non-NULL pointers) and
 * aligned allocations (posix_memalign, aligned_alloc, memalign). The real
 * work is done by glibc's exported __libc_* functions, so no dlsym
 * bootstrapping is needed. glibc only.
 */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <unistd.h>

extern void *__libc_malloc(size_t);
extern void *__libc_calloc(size_t, size_t);
extern void *__libc_realloc(void *, size_t);
extern void __libc_free(void *);
extern void *__libc_memalign(size_t, size_t);

enum { MC_MALLOC, MC_CALLOC, MC_REALLOC, MC_FREE, MC_ALIGNED, MC__COUNT };
static uint64_t mc_early[MC__COUNT];
static uint64_t *mc = mc_early;

#define COUNT(i) __atomic_fetch_add(&mc[i], 1, __ATOMIC_RELAXED)

__attribute__((constructor)) static void
mc_init(void)
{
	const char *path = getenv("MALLOC_COUNT_FILE");
	if (path == NULL || *path == '\0')
		return;
	int fd = open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return;
	if (ftruncate(fd, 4096) == 0) {
		void *m = mmap(NULL, 4096, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
		if (m != MAP_FAILED) {
			uint64_t *p = m;
			for (int i = 0; i < MC__COUNT; i++)
				p[i] = mc_early[i];
			mc = p;
		}
	}
	close(fd);
}

void *
malloc(size_t n)
{
	COUNT(MC_MALLOC);
	return __libc_malloc(n);
}

void *
calloc(size_t a, size_t b)
{
	COUNT(MC_CALLOC);
	return __libc_calloc(a, b);
}

void *
realloc(void *p, size_t n)
{
	COUNT(MC_REALLOC);
	return __libc_realloc(p, n);
}

void
free(void *p)
{
	if (p != NULL)
		COUNT(MC_FREE);
	__libc_free(p);
}

int
posix_memalign(void **out, size_t al, size_t n)
{
	COUNT(MC_ALIGNED);
	void *p = __libc_memalign(al, n);
	if (p == NULL)
		return 12; /* ENOMEM */
	*out = p;
	return 0;
}

void *
aligned_alloc(size_t al, size_t n)
{
	COUNT(MC_ALIGNED);
	return __libc_memalign(al, n);
}

void *
memalign(size_t al, size_t n)
{
	COUNT(MC_ALIGNED);
	return __libc_memalign(al, n);
}
