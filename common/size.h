/*
 * size — byte sizes written for humans: a JSON integer of bytes, or a
 * string "10 GiB", "512 MiB", "1.5 GiB" whose units are powers of 1024
 * (B, KiB, MiB, GiB, TiB), with at most one space before the unit.  The
 * value must be a whole number of bytes.  Decimal units ("10 GB") are
 * refused with a hint rather than guessed: 10 GB and 10 GiB differ by 7 %.
 */
#ifndef RELEVE_SIZE_H
#define RELEVE_SIZE_H

#include <stddef.h>
#include <stdint.h>

#include "jsonv.h"

/* Room for "9223372036854775807 B". */
#define SIZE_FMT_MAX 32

/*
 * Parse a size string.  0 and *bytes set, or -1, *bytes = 0 and a message
 * naming the input in why (`"10 GB" uses a decimal unit (use GiB: sizes
 * are powers of 1024)`).
 */
int size_parse(const char *s, int64_t *bytes, char *why, size_t whylen);
/* The largest unit that divides bytes exactly: "10 GiB", "1536 MiB",
 * "1000 B", "0 B".  size_parse() reads it back to the same value. */
char *size_format(char *buf, int64_t bytes);
/*
 * JSON glue: obj.key as an integer of bytes (>= 0) or a size string.
 * Returns 0 and sets *bytes, 1 when absent and not required, -1 on error
 * (added with file and JSON path).
 */
int size_jsonv(struct jsonv *v, json_t *obj, const char *key, int required,
	       int64_t *bytes);

#endif
