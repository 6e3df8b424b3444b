/*
 * diag — a list of error messages collected by library code.
 *
 * Library functions never print: they add one message per problem found
 * (an import reports every error, not just the first) and return a status.
 * The cmd_* layer prints the list on stderr and chooses the exit code.
 * A zeroed struct diag is an empty list; diag_free() releases the messages
 * and leaves an empty list behind.
 */
#ifndef RELEVE_DIAG_H
#define RELEVE_DIAG_H

#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>

struct diag {
	char **msg;
	size_t n;
	size_t cap;
};

#define DIAG_INIT {NULL, 0, 0}

/* Append a formatted message; aborts when out of memory. */
void diag_add(struct diag *d, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void diag_vadd(struct diag *d, const char *fmt, va_list ap)
	__attribute__((format(printf, 2, 0)));
/* Move every message of src to the end of dst; src is left empty. */
void diag_move(struct diag *dst, struct diag *src);
/* Print "prefix: message" lines (prefix may be NULL). */
void diag_print(const struct diag *d, FILE *f, const char *prefix);
void diag_free(struct diag *d);

#endif
