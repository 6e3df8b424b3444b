/*
 * money — exact decimal amounts as int64 micro-units (10^-6), never
 * floating point.
 *
 * Unit prices, ratios and rates are parsed from decimal strings ("4.00",
 * "0.8", "12") into micro-units; amounts on invoices are cents.  There is
 * ONE rounding rule in the whole project, implemented here and nowhere
 * else:
 *
 *   round half away from zero, to the cent, once per line amount (and
 *   once per VAT rate for the VAT).  12.345 -> 12.35, -12.345 -> -12.35,
 *   12.344999 -> 12.34.
 *
 * The rater computes a line exactly (price x quantity x days / days in
 * month) with money_mul_div_round_cents(), whose 128-bit intermediate
 * cannot overflow, and rounds only the final quotient.  Every operation
 * that could overflow int64 is checked first and returns -1 with the
 * output cleared to 0.
 */
#ifndef RELEVE_MONEY_H
#define RELEVE_MONEY_H

#include <stddef.h>
#include <stdint.h>

#include "common/jsonv.h"

#define MONEY_SCALE 1000000 /* micro-units per unit */
#define MONEY_MAX_PLACES 6
/* Room for any int64 with sign, point and NUL: "-9223372036854.775808". */
#define MONEY_FMT_MAX 32

/* money_parse flags */
#define MONEY_NEGATIVE_OK 1u /* accept a leading '-' */

/*
 * Parse a decimal string: optional '-' (with MONEY_NEGATIVE_OK), digits,
 * optionally '.' and 1..max_places digits (max_places <= 6).  No spaces,
 * no '+', no exponent, no comma.  On success 0 and *micro set; on error
 * -1, *micro = 0 and a message naming the input in why, e.g.
 * `"9,00" is not a decimal (use 9.00)`.
 */
int money_parse(const char *s, unsigned flags, int max_places, int64_t *micro,
		char *why, size_t whylen);

/*
 * Format micro-units with at least min_places decimals (0..6) and more
 * when needed to stay exact: (4000000, 2) -> "4.00", (3500, 2) ->
 * "0.0035", (800000, 1) -> "0.8".  Never rounds.  Returns buf, which must
 * hold MONEY_FMT_MAX bytes.
 */
char *money_format(char *buf, int64_t micro, int min_places);
/* Format cents as "12.34" / "-0.05".  buf holds MONEY_FMT_MAX bytes. */
char *money_format_cents(char *buf, int64_t cents);

/* THE rounding rule: micro-units to cents, half away from zero. */
int64_t money_round_cents(int64_t micro);
/*
 * cents = half-away-from-zero(a_micro * num / den / 10^4), computed
 * exactly in 128 bits and rounded once.  den must not be 0.  Returns 0,
 * or -1 (and *cents_out = 0) when den is 0 or the result does not fit.
 */
int money_mul_div_round_cents(int64_t a_micro, int64_t num, int64_t den,
			      int64_t *cents_out);
/* Checked arithmetic: 0, or -1 with *out = 0 on overflow. */
int money_add(int64_t a, int64_t b, int64_t *out);
int money_mul(int64_t a, int64_t n, int64_t *out);

/*
 * JSON glue: read obj.key as a decimal string (a JSON number is refused:
 * money is written as a string so that no parser turns it into binary floating point).
 * Returns 0 and sets *micro, 1 when absent and not required, -1 on error
 * (error added with the file and JSON path).
 */
int money_jsonv(struct jsonv *v, json_t *obj, const char *key, int required,
		unsigned flags, int max_places, int64_t *micro);

#endif
