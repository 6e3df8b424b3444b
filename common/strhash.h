/*
 * strhash — a 64-bit hash of a short string, for the in-memory indexes of
 * names (a snapshot's users, the registry's addresses).  It reads a word
 * at a time: FNV-1a's one multiply per byte, in a chain, cost a tenth of
 * a million-name look-up.  Not a fingerprint: never stored or compared
 * across processes.
 */
#ifndef RELEVE_STRHASH_H
#define RELEVE_STRHASH_H

#include <stdint.h>
#include <string.h>

static inline uint64_t strhash(const char *p, size_t n)
{
	uint64_t h = 0x9e3779b97f4a7c15ULL ^ n, w;

	for (; n >= 8; p += 8, n -= 8) {
		memcpy(&w, p, 8);
		h = (h ^ w) * 0xbf58476d1ce4e5b9ULL;
		h ^= h >> 31;
	}
	w = 0;
	memcpy(&w, p, n);
	h = (h ^ w) * 0x94d049bb133111ebULL;
	return h ^ (h >> 29);
}

#endif
