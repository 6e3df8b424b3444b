/*
 * sha256 — the SHA-256 hash (FIPS 180-4) of a byte string, for storing
 * secrets (API tokens) as hashes.  Pure, no allocation.
 */
#ifndef RELEVE_SHA256_H
#define RELEVE_SHA256_H

#include <stddef.h>
#include <stdint.h>

#define SHA256_LEN 32

void sha256(const void *data, size_t len, unsigned char out[SHA256_LEN]);
/* The hash as 64 lowercase hex digits and a NUL in out[65]. */
void sha256_hex(const void *data, size_t len, char out[2 * SHA256_LEN + 1]);
/* 1 when a and b (n bytes each) are equal; the time taken does not
 * depend on where they differ. */
int sha256_equal(const void *a, const void *b, size_t n);

#endif
