/*
 * jsonout — write JSON strings from untrusted bytes: quotes, backslashes
 * and control characters escaped, invalid UTF-8 replaced by U+FFFD, so the
 * output is always valid JSON whatever a log line contained.
 */
#ifndef RELEVE_JSONOUT_H
#define RELEVE_JSONOUT_H

#include <stddef.h>
#include <stdio.h>

void jsonout_string(FILE *f, const char *s, size_t n);

/* The most bytes jsonout_put() writes for n input bytes (every byte may
 * become "\u00XX"; the quotes). */
#define JSONOUT_MAX(n) (6 * (size_t)(n) + 2)
/* Write s[0..n) as a JSON string (quotes included) into out, which has
 * room for JSONOUT_MAX(n) bytes; returns the bytes written.  Same escaping
 * as jsonout_string(), for callers that build a whole line and write it
 * at once. */
size_t jsonout_put(char *out, const char *s, size_t n);
/* NUL-terminated s, or null when s is NULL. */
void jsonout_cstr(FILE *f, const char *s);

#endif
