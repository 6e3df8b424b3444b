/*
 * money — exact decimals in int64 micro-units; see money.h.
 *
 * Parsing is strict on purpose: "9,00" (a French decimal comma), "1e3",
 * " 4" and "4.0000001" are refused with a message saying what to write,
 * rather than guessed at.  Overflow is checked before each multiplication
 * (GNU Taler's amount.c does the same), so a hostile tariff file can never
 * wrap a price around.  Rounding happens in exactly one place:
 * round_div(), half away from zero.
 */
#include "money.h"

#include <stdio.h>
#include <string.h>

/* 128-bit intermediates: a*num fits whatever the int64 inputs. */
__extension__ typedef __int128 i128;

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int fail(int64_t *micro, char *why, size_t whylen, const char *s,
		const char *what)
{
	*micro = 0;
	snprintf(why, whylen, "\"%.40s%s\" %s", s, strlen(s) > 40 ? "..." : "",
		 what);
	return -1;
}

/* A comma where the point should be: "9,00", "-1,5". */
static int comma_decimal(const char *s)
{
	const char *p = s;

	if (*p == '-') {
		p++;
	}
	if (!is_digit(*p)) {
		return 0;
	}
	while (is_digit(*p)) {
		p++;
	}
	if (*p++ != ',' || !is_digit(*p)) {
		return 0;
	}
	while (is_digit(*p)) {
		p++;
	}
	return *p == '\0';
}

int money_parse(const char *s, unsigned flags, int max_places, int64_t *micro,
		char *why, size_t whylen)
{
	const char *p = s;
	int neg = 0, places = 0;
	uint64_t v = 0;
	char hint[96];

	if (max_places < 0 || max_places > MONEY_MAX_PLACES) {
		max_places = MONEY_MAX_PLACES;
	}
	if (*s == '\0') {
		return fail(micro, why, whylen, s,
			    "is empty (expected a decimal such as 9.00)");
	}
	if (strpbrk(s, " \t\r\n\v\f\xc2")) {
		/* \xc2 starts a UTF-8 no-break space. */
		return fail(micro, why, whylen, s,
			    "is not a decimal (no spaces allowed; "
			    "write 1234.50)");
	}
	if (comma_decimal(s)) {
		char fixed[64], *comma;

		snprintf(fixed, sizeof(fixed), "%.60s", s);
		/* The comma may lie beyond the 60 bytes shown. */
		comma = strchr(fixed, ',');
		if (comma) {
			*comma = '.';
		}
		snprintf(hint, sizeof(hint), "is not a decimal (use %s)",
			 fixed);
		return fail(micro, why, whylen, s, hint);
	}
	if (strpbrk(s, "eE") && strspn(s, "0123456789.-+eE") == strlen(s)) {
		return fail(micro, why, whylen, s,
			    "is not a decimal (no exponent: write the digits, "
			    "such as 1500.00)");
	}
	if (*p == '-') {
		if (!(flags & MONEY_NEGATIVE_OK)) {
			/* Say "negative" only for a well-formed number. */
			int64_t dummy;
			char w[8];

			if (money_parse(s + 1, 0, MONEY_MAX_PLACES, &dummy, w,
					sizeof(w)) == 0) {
				return fail(micro, why, whylen, s,
					    "is negative (expected 0 or more)");
			}
			return fail(micro, why, whylen, s,
				    "is not a decimal (expected digits such "
				    "as 9.00)");
		}
		neg = 1;
		p++;
	}
	if (*p == '.' && is_digit(p[1])) {
		snprintf(hint, sizeof(hint), "is not a decimal (use %s0%.40s)",
			 neg ? "-" : "", p);
		return fail(micro, why, whylen, s, hint);
	}
	if (!is_digit(*p)) {
		return fail(micro, why, whylen, s,
			    "is not a decimal (expected digits such as 9.00)");
	}
	for (; is_digit(*p); p++) {
		if (v > (UINT64_MAX - 9) / 10) {
			return fail(micro, why, whylen, s, "is too large");
		}
		v = v * 10 + (uint64_t)(*p - '0');
		if (v > (uint64_t)INT64_MAX / MONEY_SCALE) {
			return fail(micro, why, whylen, s, "is too large");
		}
	}
	v *= MONEY_SCALE;
	if (*p == '.') {
		uint64_t frac = 0, scale = MONEY_SCALE;

		p++;
		if (!is_digit(*p)) {
			return fail(micro, why, whylen, s,
				    "is not a decimal (digits expected after "
				    "the point)");
		}
		for (; is_digit(*p); p++) {
			places++;
			if (places > max_places) {
				/* Keep scanning: "1.2x" is not a decimal. */
				continue;
			}
			scale /= 10;
			frac += (uint64_t)(*p - '0') * scale;
		}
		if (*p == '\0' && places > max_places) {
			snprintf(hint, sizeof(hint),
				 "has more than %d decimal%s", max_places,
				 max_places == 1 ? "" : "s");
			return fail(micro, why, whylen, s, hint);
		}
		if (v > (uint64_t)INT64_MAX - frac) {
			return fail(micro, why, whylen, s, "is too large");
		}
		v += frac;
	}
	if (*p != '\0') {
		return fail(micro, why, whylen, s,
			    "is not a decimal (expected digits such as 9.00)");
	}
	*micro = neg ? -(int64_t)v : (int64_t)v;
	return 0;
}

char *money_format(char *buf, int64_t micro, int min_places)
{
	uint64_t mag = micro < 0 ? (uint64_t)0 - (uint64_t)micro
				 : (uint64_t)micro;
	uint64_t ip = mag / MONEY_SCALE, fp = mag % MONEY_SCALE;
	char frac[8];
	int places = MONEY_MAX_PLACES;

	if (min_places < 0) {
		min_places = 0;
	}
	if (min_places > MONEY_MAX_PLACES) {
		min_places = MONEY_MAX_PLACES;
	}
	snprintf(frac, sizeof(frac), "%06llu", (unsigned long long)fp);
	while (places > min_places && frac[places - 1] == '0') {
		places--;
	}
	frac[places] = '\0';
	snprintf(buf, MONEY_FMT_MAX, "%s%llu%s%s", micro < 0 ? "-" : "",
		 (unsigned long long)ip, places ? "." : "", frac);
	return buf;
}

char *money_format_cents(char *buf, int64_t cents)
{
	uint64_t mag = cents < 0 ? (uint64_t)0 - (uint64_t)cents
				 : (uint64_t)cents;

	snprintf(buf, MONEY_FMT_MAX, "%s%llu.%02llu", cents < 0 ? "-" : "",
		 (unsigned long long)(mag / 100),
		 (unsigned long long)(mag % 100));
	return buf;
}

/*
 * n / d rounded half away from zero (d > 0).  The one rounding of the
 * project: C division truncates toward zero, so round the magnitude up
 * when the remainder is at least half the divisor, then put the sign
 * back.
 */
static i128 round_div(i128 n, i128 d)
{
	i128 mag = n < 0 ? -n : n;
	i128 q = mag / d + (2 * (mag % d) >= d ? 1 : 0);

	return n < 0 ? -q : q;
}

int64_t money_round_cents(int64_t micro)
{
	return (int64_t)round_div(micro, MONEY_SCALE / 100);
}

int money_mul_div_round_cents(int64_t a_micro, int64_t num, int64_t den,
			      int64_t *cents_out)
{
	i128 n = (i128)a_micro * num, d = (i128)den * (MONEY_SCALE / 100), q;

	*cents_out = 0;
	if (den == 0) {
		return -1;
	}
	if (d < 0) {
		d = -d;
		n = -n;
	}
	q = round_div(n, d);
	if (q > INT64_MAX || q < INT64_MIN) {
		return -1;
	}
	*cents_out = (int64_t)q;
	return 0;
}

int money_add(int64_t a, int64_t b, int64_t *out)
{
	if (__builtin_add_overflow(a, b, out)) {
		*out = 0;
		return -1;
	}
	return 0;
}

int money_mul(int64_t a, int64_t n, int64_t *out)
{
	if (__builtin_mul_overflow(a, n, out)) {
		*out = 0;
		return -1;
	}
	return 0;
}

int money_jsonv(struct jsonv *v, json_t *obj, const char *key, int required,
		unsigned flags, int max_places, int64_t *micro)
{
	json_t *j = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	char why[160];

	*micro = 0;
	if (!j || json_is_null(j)) {
		if (required) {
			jsonv_field_error(v, key, "missing (required)");
			return -1;
		}
		return 1;
	}
	if (json_is_number(j)) {
		jsonv_field_error(v, key,
				  "expected a decimal string such as \"9.00\" "
				  "(quote the number)");
		return -1;
	}
	if (!json_is_string(j) ||
	    strlen(json_string_value(j)) != json_string_length(j)) {
		jsonv_field_error(v, key,
				  "expected a decimal string such as \"9.00\"");
		return -1;
	}
	if (money_parse(json_string_value(j), flags, max_places, micro, why,
			sizeof(why)) != 0) {
		jsonv_field_error(v, key, "%s", why);
		return -1;
	}
	return 0;
}
