/*
 * diag — collected error messages; see diag.h.  Out of memory is not an
 * error the callers could handle sensibly, so it aborts (xalloc).
 */
#include "diag.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

void diag_vadd(struct diag *d, const char *fmt, va_list ap)
{
	if (d->n == d->cap) {
		d->cap = d->cap ? 2 * d->cap : 8;
		d->msg = xreallocarray(d->msg, d->cap, sizeof(*d->msg));
	}
	d->msg[d->n++] = xvasprintf(fmt, ap);
}

void diag_add(struct diag *d, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	diag_vadd(d, fmt, ap);
	va_end(ap);
}

void diag_move(struct diag *dst, struct diag *src)
{
	for (size_t i = 0; i < src->n; i++) {
		diag_add(dst, "%s", src->msg[i]);
	}
	diag_free(src);
}

void diag_print(const struct diag *d, FILE *f, const char *prefix)
{
	for (size_t i = 0; i < d->n; i++) {
		if (prefix) {
			fprintf(f, "%s: %s\n", prefix, d->msg[i]);
		} else {
			fprintf(f, "%s\n", d->msg[i]);
		}
	}
}

void diag_free(struct diag *d)
{
	if (!d) {
		return;
	}
	for (size_t i = 0; i < d->n; i++) {
		free(d->msg[i]);
	}
	free(d->msg);
	d->msg = NULL;
	d->n = d->cap = 0;
}
