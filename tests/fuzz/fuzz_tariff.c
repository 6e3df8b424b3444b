/*
 * fuzz_tariff — libFuzzer target over tariff_parse, and over the money
 * and size parsers with the input as a string.  Invariants: a refused
 * document leaves no tariff and at least one error; an accepted one has no
 * error, and its canonical form parses back to the same canonical form.
 * Formatting what the money and size parsers accept gives back the value.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "billing/money.h"
#include "billing/tariff.h"
#include "common/size.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check_scalars(const uint8_t *data, size_t size)
{
	char s[64], buf[MONEY_FMT_MAX], why[256];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	int64_t v, w;

	memcpy(s, data, n);
	s[n] = '\0';
	if (money_parse(s, MONEY_NEGATIVE_OK, 6, &v, why, sizeof(why)) == 0) {
		money_format(buf, v, 2);
		if (money_parse(buf, MONEY_NEGATIVE_OK, 6, &w, why,
				sizeof(why)) != 0 || v != w) {
			abort();
		}
		(void)money_round_cents(v);
	} else if (v != 0) {
		abort();
	}
	if (size_parse(s, &v, why, sizeof(why)) == 0) {
		size_format(buf, v);
		if (size_parse(buf, &w, why, sizeof(why)) != 0 || v != w) {
			abort();
		}
	} else if (v != 0) {
		abort();
	}
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct diag d = DIAG_INIT;
	struct tariff t, t2;

	check_scalars(data, size);
	if (tariff_parse(&t, "fuzz", (const char *)data, size, &d) != 0) {
		if (t.plans || t.version || d.n == 0) {
			abort();
		}
		diag_free(&d);
		return 0;
	}
	if (d.n != 0) {
		abort();
	}
	json_t *j = tariff_to_json(&t);

	if (tariff_from_json(&t2, "fuzz", j, &d) != 0) {
		abort();
	}
	json_t *j2 = tariff_to_json(&t2);

	if (!json_equal(j, j2)) {
		abort();
	}
	json_decref(j);
	json_decref(j2);
	tariff_free(&t);
	tariff_free(&t2);
	return 0;
}
