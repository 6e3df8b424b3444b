/*
 * fuzz_registry — libFuzzer target over the registry readers: the input
 * as a JSON document, as CSV, as mailcow answers and domain map, and as
 * identifiers for legalid.  Invariants: a parse that fails reports at
 * least one error; an accepted and valid JSON registry prints a document
 * that reads back, valid, to the same document.
 */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "billing/legalid.h"
#include "billing/mailcow.h"
#include "billing/registry.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void round_trip(const struct registry *r)
{
	json_t *j = registry_to_json(r);
	char *a = json_dumps(j, JSON_PRESERVE_ORDER), *b;
	struct registry r2;
	struct diag d = DIAG_INIT;

	json_decref(j);
	registry_init(&r2, "again");
	if (registry_parse_json_buffer(&r2, a, strlen(a), &d) != 0 ||
	    registry_validate(&r2, &d) != 0) {
		abort();
	}
	j = registry_to_json(&r2);
	b = json_dumps(j, JSON_PRESERVE_ORDER);
	if (strcmp(a, b) != 0) {
		abort();
	}
	json_decref(j);
	free(a);
	free(b);
	registry_free(&r2);
	diag_free(&d);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	const char *buf = (const char *)data;
	struct diag d = DIAG_INIT;
	struct registry r;
	struct mailcow m;
	char s[64], why[256];
	size_t n = size < sizeof(s) - 1 ? size : sizeof(s) - 1;
	int rc;

	registry_init(&r, "f.json");
	rc = registry_parse_json_buffer(&r, buf, size, &d);
	if ((rc != 0) != (d.n != 0)) {
		abort();
	}
	if (rc == 0 && registry_validate(&r, &d) == 0) {
		round_trip(&r);
	}
	registry_free(&r);
	diag_free(&d);

	registry_init(&r, "f.csv");
	rc = registry_parse_csv(&r, buf, size, &d);
	if ((rc != 0) != (d.n != 0)) {
		abort();
	}
	(void)registry_validate(&r, &d);
	registry_free(&r);
	diag_free(&d);

	mailcow_init(&m);
	(void)mailcow_parse_domains(&m, "d", buf, size, &d);
	(void)mailcow_parse_mailboxes(&m, "m", buf, size, &d);
	(void)mailcow_parse_map(&m, "map", buf, size, &d);
	(void)mailcow_resolve(&m, &d);
	mailcow_free(&m);
	diag_free(&d);

	memcpy(s, data, n);
	s[n] = '\0';
	(void)country_is_iso3166(s);
	(void)siren_is_valid(s);
	(void)iban_is_valid(s);
	(void)bic_is_valid(s);
	if (n > 2) {
		char cc[3] = {s[0], s[1], '\0'};

		(void)vat_number_check(cc, s + 2, NULL, why, sizeof(why));
	}
	return 0;
}
