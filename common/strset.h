/*
 * strset — a set of strings compared without regard to ASCII case (domain
 * names): add them, freeze (sort), then look up byte ranges that need not
 * be NUL-terminated.  The set owns its copies.
 */
#ifndef RELEVE_STRSET_H
#define RELEVE_STRSET_H

#include <stddef.h>

struct strset {
	char **v;
	size_t n, cap;
};

/* Add s (stored lower-cased). */
void strset_add(struct strset *set, const char *s);
/* Sort; call once after the last add, before lookups. */
void strset_freeze(struct strset *set);
/* 1 when s[0..n) is in the set (ASCII case ignored). */
int strset_has(const struct strset *set, const char *s, size_t n);
void strset_free(struct strset *set);

#endif
