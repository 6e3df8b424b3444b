/*
 * size — parse and format byte sizes with binary units; see size.h.
 *
 * "1.5 GiB" is exact (1610612736 bytes); "1.1 KiB" is not a whole number
 * of bytes and is refused rather than rounded, so the value an operator
 * reads in a tariff is the value the rater uses.
 */
#include "size.h"

#include <stdio.h>
#include <string.h>
#include <strings.h>

__extension__ typedef unsigned __int128 u128;

static const struct {
	const char *name;
	int shift;
} units[] = {
	{"B", 0}, {"KiB", 10}, {"MiB", 20}, {"GiB", 30}, {"TiB", 40},
};

static int is_digit(char c)
{
	return c >= '0' && c <= '9';
}

static int fail(int64_t *bytes, char *why, size_t whylen, const char *s,
		const char *what)
{
	*bytes = 0;
	snprintf(why, whylen, "\"%.40s%s\" %s", s, strlen(s) > 40 ? "..." : "",
		 what);
	return -1;
}

/* Hint for a unit that is not ours: "GB", "G", "gib", "Go" -> "GiB". */
static const char *unit_hint(const char *u)
{
	static const char *const bin[] = {"KiB", "MiB", "GiB", "TiB"};
	size_t n = strlen(u);

	if (n == 0) {
		return NULL;
	}
	for (size_t i = 0; i < 4; i++) {
		if (!strcasecmp(u, bin[i])) {
			return bin[i];
		}
	}
	if (!strcasecmp(u, "b") || !strcasecmp(u, "byte") ||
	    !strcasecmp(u, "bytes") || !strcasecmp(u, "o")) {
		return "B";
	}
	/* K, KB, Kb, Ko (French octets), k... */
	if (n <= 2 && (n == 1 || strchr("bBoO", u[1]))) {
		switch (u[0]) {
		case 'k': case 'K': return "KiB";
		case 'm': case 'M': return "MiB";
		case 'g': case 'G': return "GiB";
		case 't': case 'T': return "TiB";
		}
	}
	return NULL;
}

int size_parse(const char *s, int64_t *bytes, char *why, size_t whylen)
{
	const char *p = s, *u;
	uint64_t ip = 0, frac = 0, pow10 = 1;
	int fdigits = 0, shift = -1;
	char hint[128];
	u128 v;

	*bytes = 0;
	if (*s == '\0') {
		return fail(bytes, why, whylen, s,
			    "is empty (expected a size such as \"10 GiB\")");
	}
	if (*p == '-') {
		return fail(bytes, why, whylen, s, "is negative");
	}
	if (!is_digit(*p)) {
		return fail(bytes, why, whylen, s,
			    "is not a size (expected a number and a unit, "
			    "such as \"10 GiB\")");
	}
	for (; is_digit(*p); p++) {
		if (ip > (UINT64_MAX - 9) / 10) {
			return fail(bytes, why, whylen, s, "is too large");
		}
		ip = ip * 10 + (uint64_t)(*p - '0');
	}
	if (*p == '.' || *p == ',') {
		if (*p == ',') {
			return fail(bytes, why, whylen, s,
				    "is not a size (use a point: \"1.5 GiB\")");
		}
		p++;
		if (!is_digit(*p)) {
			return fail(bytes, why, whylen, s,
				    "is not a size (digits expected after the "
				    "point)");
		}
		for (; is_digit(*p); p++) {
			if (++fdigits > 18) {
				return fail(bytes, why, whylen, s,
					    "has too many decimals");
			}
			frac = frac * 10 + (uint64_t)(*p - '0');
			pow10 *= 10;
		}
	}
	u = *p == ' ' ? p + 1 : p;
	if (*u == '\0') {
		return fail(bytes, why, whylen, s,
			    "has no unit (write \"1024 B\", \"10 GiB\", or a "
			    "JSON integer of bytes)");
	}
	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (!strcmp(u, units[i].name)) {
			shift = units[i].shift;
		}
	}
	if (shift < 0) {
		const char *h = unit_hint(u);

		if (*u == ' ' || (h && !strcmp(h, u))) {
			return fail(bytes, why, whylen, s,
				    "is not a size (one space at most before "
				    "the unit)");
		}
		if (h) {
			snprintf(hint, sizeof(hint),
				 "uses an unknown unit \"%.20s\" (use %s: "
				 "sizes are powers of 1024)", u, h);
		} else {
			snprintf(hint, sizeof(hint),
				 "uses an unknown unit \"%.20s\" (expected B, "
				 "KiB, MiB, GiB or TiB)", u);
		}
		return fail(bytes, why, whylen, s, hint);
	}
	/* ip < 2^64, shift <= 40: fits in 128 bits. */
	v = (u128)ip << shift;
	if (fdigits) {
		u128 f = (u128)frac << shift;

		if (f % pow10) {
			return fail(bytes, why, whylen, s,
				    "is not a whole number of bytes");
		}
		v += f / pow10;
	}
	if (v > (u128)INT64_MAX) {
		return fail(bytes, why, whylen, s, "is too large");
	}
	*bytes = (int64_t)v;
	return 0;
}

char *size_format(char *buf, int64_t bytes)
{
	size_t i = sizeof(units) / sizeof(units[0]);

	if (bytes > 0) {
		while (--i > 0) {
			int64_t m = (int64_t)1 << units[i].shift;

			if (bytes % m == 0) {
				break;
			}
		}
	} else {
		i = 0;
	}
	snprintf(buf, SIZE_FMT_MAX, "%lld %s",
		 (long long)(bytes >> units[i].shift), units[i].name);
	return buf;
}

int size_jsonv(struct jsonv *v, json_t *obj, const char *key, int required,
	       int64_t *bytes)
{
	json_t *j = json_is_object(obj) ? json_object_get(obj, key) : NULL;
	char why[192];

	*bytes = 0;
	if (!j || json_is_null(j)) {
		if (required) {
			jsonv_field_error(v, key, "missing (required)");
			return -1;
		}
		return 1;
	}
	if (json_is_integer(j)) {
		if (json_integer_value(j) < 0) {
			jsonv_field_error(v, key, "%lld is negative",
					  (long long)json_integer_value(j));
			return -1;
		}
		*bytes = (int64_t)json_integer_value(j);
		return 0;
	}
	if (!json_is_string(j) ||
	    strlen(json_string_value(j)) != json_string_length(j)) {
		jsonv_field_error(v, key,
				  "expected a size such as \"10 GiB\" or an "
				  "integer of bytes");
		return -1;
	}
	if (size_parse(json_string_value(j), bytes, why, sizeof(why)) != 0) {
		jsonv_field_error(v, key, "%s", why);
		return -1;
	}
	return 0;
}
