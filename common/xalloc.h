/*
 * xalloc — allocation that aborts on failure.  releve is a batch tool: when
 * memory runs out there is nothing sensible to do but stop loudly.
 */
#ifndef RELEVE_XALLOC_H
#define RELEVE_XALLOC_H

#include <stdarg.h>
#include <stddef.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xreallocarray(void *p, size_t n, size_t size);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
char *xvasprintf(const char *fmt, va_list ap)
	__attribute__((format(printf, 1, 0)));
/* Ask for transparent huge pages on p[0..n) when n is 2 MiB or more (a
 * hint; the x* functions above give it to every block that large). */
void huge_hint(void *p, size_t n);

#endif
