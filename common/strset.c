/*
 * strset — sorted case-folded string set; see strset.h.
 */
#include "strset.h"

#include <stdlib.h>
#include <string.h>

#include "xalloc.h"

static char lower(char c)
{
	return (c >= 'A' && c <= 'Z') ? (char)(c + 32) : c;
}

void strset_add(struct strset *set, const char *s)
{
	char *copy = xstrdup(s);

	for (char *p = copy; *p; p++) {
		*p = lower(*p);
	}
	if (set->n == set->cap) {
		set->cap = set->cap ? 2 * set->cap : 64;
		set->v = xreallocarray(set->v, set->cap, sizeof(*set->v));
	}
	set->v[set->n++] = copy;
}

static int cmp(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void strset_freeze(struct strset *set)
{
	if (set->n > 1) {
		qsort(set->v, set->n, sizeof(*set->v), cmp);
	}
}

int strset_has(const struct strset *set, const char *s, size_t n)
{
	size_t lo = 0, hi = set->n;
	char key[256];

	if (n == 0 || n >= sizeof(key)) {
		return 0;
	}
	for (size_t i = 0; i < n; i++) {
		key[i] = lower(s[i]);
	}
	key[n] = '\0';
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		int c = strcmp(key, set->v[mid]);

		if (c == 0) {
			return 1;
		}
		if (c < 0) {
			hi = mid;
		} else {
			lo = mid + 1;
		}
	}
	return 0;
}

void strset_free(struct strset *set)
{
	if (!set) {
		return;
	}
	for (size_t i = 0; i < set->n; i++) {
		free(set->v[i]);
	}
	free(set->v);
	memset(set, 0, sizeof(*set));
}
