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
/* NUL-terminated s, or null when s is NULL. */
void jsonout_cstr(FILE *f, const char *s);

#endif
