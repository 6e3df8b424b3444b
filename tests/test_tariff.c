/*
 * test_tariff — the tariff grid parser, pure: the example file, the
 * canonical write-back and its round trip, and one case per validation
 * error (a valid document with one field changed must give exactly the
 * one expected message), then a document with many errors at once.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "billing/tariff.h"
#include "testutil.h"

static const char base[] =
	"{\"version\": \"2026-09\", \"effective_from\": \"2026-09-01\","
	" \"currency\": \"EUR\", \"timezone\": \"Europe/Paris\","
	" \"plans\": ["
	"  {\"code\": \"S\", \"name\": \"Essentiel\", \"monthly_fee\": \"4.00\","
	"   \"outbound_per_day\": 100, \"storage_included\": \"10 GiB\"},"
	"  {\"code\": \"M\", \"name\": \"Standard\", \"monthly_fee\": \"9.00\","
	"   \"outbound_per_day\": 500, \"storage_included\": 53687091200}],"
	" \"storage_addon\": {\"block\": \"10 GiB\", \"monthly_fee\": \"1.50\"},"
	" \"outbound\": {\"unit\": \"recipient\", \"count_local\": false,"
	"  \"warn_ratio\": \"0.8\", \"tolerated_days\": 3,"
	"  \"block_ratio\": \"2.0\", \"overage_per_1000\": \"0.0035\"},"
	" \"vat\": {\"oss\": true}}";

/* Set (value JSON text) or delete (value NULL) the member at path
 * ("plans[1].monthly_fee", "outbound.unit", "plans"). */
static void edit(json_t *doc, const char *path, const char *value)
{
	char buf[128], *p, *dot;
	json_t *cur = doc, *val = NULL;

	snprintf(buf, sizeof(buf), "%s", path);
	p = buf;
	for (;;) {
		char *br;
		long idx = -1;

		dot = strchr(p, '.');
		if (dot) {
			*dot = '\0';
		}
		br = strchr(p, '[');
		if (br) {
			*br = '\0';
			idx = strtol(br + 1, NULL, 10);
		}
		if (!dot && idx < 0) {
			break;
		}
		cur = json_object_get(cur, p);
		if (idx >= 0) {
			if (!dot) {
				/* Replace an array element. */
				val = json_loads(value, JSON_DECODE_ANY, NULL);
				assert_non_null(val);
				json_array_set_new(cur, (size_t)idx, val);
				return;
			}
			cur = json_array_get(cur, (size_t)idx);
		}
		assert_non_null(cur);
		p = dot + 1;
	}
	if (!value) {
		assert_int_equal(json_object_del(cur, p), 0);
		return;
	}
	val = json_loads(value, JSON_DECODE_ANY, NULL);
	assert_non_null(val);
	json_object_set_new(cur, p, val);
}

struct bad {
	const char *path, *value; /* value NULL: delete */
	const char *msg;	  /* the one expected message */
};

#define F "t.json: "
static const struct bad bads[] = {
	{"extra", "1", F "extra: unknown field (expected one of: version, "
		  "effective_from, currency, timezone, plans, storage_addon, "
		  "outbound, vat)"},
	{"version", NULL, F "version: missing (required)"},
	{"version", "\"\"", F "version: is empty (required)"},
	{"version", "2026", F "version: expected a string"},
	{"version", "\"2026 09\"", F "version: \"2026 09\" is not a version "
	 "name (1 to 32 letters, digits, '.', '_' or '-', such as "
	 "\"2026-09\")"},
	{"effective_from", "\"2026-02-29\"", F "effective_from: "
	 "\"2026-02-29\" is not a date (expected YYYY-MM-DD, such as "
	 "\"2026-09-01\")"},
	{"effective_from", "\"01/09/2026\"", F "effective_from: "
	 "\"01/09/2026\" is not a date (expected YYYY-MM-DD, such as "
	 "\"2026-09-01\")"},
	{"currency", "\"eur\"", F "currency: \"eur\" is not a currency code "
	 "(3 capital letters, such as \"EUR\")"},
	{"currency", "\"USD\"", F "currency: \"USD\" is not supported "
	 "(releve bills in EUR)"},
	{"timezone", "\"Europe Paris\"", F "timezone: \"Europe Paris\" is "
	 "not a time zone name (such as \"Europe/Paris\")"},
	{"timezone", "\"/etc/passwd\"", F "timezone: \"/etc/passwd\" is "
	 "not a time zone name (such as \"Europe/Paris\")"},
	{"plans", NULL, F "plans: missing (required)"},
	{"plans", "[]", F "plans: no plans (a tariff needs at least one)"},
	{"plans", "{}", F "plans: expected an array"},
	{"plans[1]", "\"M\"", F "plans[1]: expected an object {\"code\": "
	 "..., \"name\": ..., ...}"},
	{"plans[1].code", "\"S\"", F "plans[1].code: duplicate plan code "
	 "\"S\" (also plans[0])"},
	{"plans[1].code", "\"M M\"", F "plans[1].code: \"M M\" is not a "
	 "plan code (1 to 32 letters, digits, '_' or '-')"},
	{"plans[1].code", NULL, F "plans[1].code: missing (required)"},
	{"plans[1].name", "\"\"", F "plans[1].name: is empty (required)"},
	{"plans[1].colour", "\"red\"", F "plans[1].colour: unknown field "
	 "(expected one of: code, name, monthly_fee, outbound_per_day, "
	 "storage_included)"},
	{"plans[1].monthly_fee", "\"9,00\"", F "plans[1].monthly_fee: "
	 "\"9,00\" is not a decimal (use 9.00)"},
	{"plans[1].monthly_fee", "\"-9.00\"", F "plans[1].monthly_fee: "
	 "\"-9.00\" is negative (expected 0 or more)"},
	{"plans[1].monthly_fee", "\"9.0000001\"", F "plans[1].monthly_fee: "
	 "\"9.0000001\" has more than 6 decimals"},
	{"plans[1].monthly_fee", "9.0", F "plans[1].monthly_fee: expected a "
	 "decimal string such as \"9.00\" (quote the number)"},
	{"plans[1].monthly_fee", "\"1e2\"", F "plans[1].monthly_fee: \"1e2\" "
	 "is not a decimal (no exponent: write the digits, such as 1500.00)"},
	{"plans[1].monthly_fee", "\"99999999999999\"", F
	 "plans[1].monthly_fee: \"99999999999999\" is too large"},
	{"plans[1].monthly_fee", NULL, F "plans[1].monthly_fee: missing "
	 "(required)"},
	{"plans[1].outbound_per_day", "-1", F "plans[1].outbound_per_day: -1 "
	 "is negative"},
	{"plans[1].outbound_per_day", "\"500\"", F
	 "plans[1].outbound_per_day: expected an integer"},
	{"plans[1].outbound_per_day", "500.5", F
	 "plans[1].outbound_per_day: expected an integer"},
	{"plans[1].storage_included", "\"50 GB\"", F
	 "plans[1].storage_included: \"50 GB\" uses an unknown unit \"GB\" "
	 "(use GiB: sizes are powers of 1024)"},
	{"plans[1].storage_included", "-1", F "plans[1].storage_included: -1 "
	 "is negative"},
	{"plans[1].storage_included", "\"1.1 KiB\"", F
	 "plans[1].storage_included: \"1.1 KiB\" is not a whole number of "
	 "bytes"},
	{"storage_addon", "[]", F "storage_addon: expected an object"},
	{"storage_addon.block", "\"0 GiB\"", F "storage_addon.block: must be "
	 "more than 0 bytes"},
	{"storage_addon.block", NULL, F "storage_addon.block: missing "
	 "(required)"},
	{"storage_addon.monthly_fee", "\"-1.50\"", F
	 "storage_addon.monthly_fee: \"-1.50\" is negative (expected 0 or "
	 "more)"},
	{"storage_addon.price", "\"1\"", F "storage_addon.price: unknown "
	 "field (expected one of: block, monthly_fee)"},
	{"outbound", NULL, F "outbound: missing (required)"},
	{"outbound.unit", "\"mail\"", F "outbound.unit: \"mail\" is not a "
	 "unit (expected \"recipient\" or \"message\")"},
	{"outbound.count_local", "\"no\"", F "outbound.count_local: expected "
	 "true or false"},
	{"outbound.warn_ratio", "\"0\"", F "outbound.warn_ratio: 0.0 must be "
	 "more than 0"},
	{"outbound.warn_ratio", "\"-0.5\"", F "outbound.warn_ratio: -0.5 must "
	 "be more than 0"},
	{"outbound.warn_ratio", "\"2.5\"", F "outbound.warn_ratio: 2.5 is "
	 "above block_ratio 2.0 (the warning must come before the block)"},
	{"outbound.block_ratio", "\"0\"", F "outbound.block_ratio: 0.0 must "
	 "be more than 0"},
	{"outbound.tolerated_days", "32", F "outbound.tolerated_days: 32 is "
	 "out of range (0 to 31 days per month)"},
	{"outbound.tolerated_days", "-1", F "outbound.tolerated_days: -1 is "
	 "out of range (0 to 31 days per month)"},
	{"outbound.overage_per_1000", "\"0.0000001\"", F
	 "outbound.overage_per_1000: \"0.0000001\" has more than 6 decimals"},
	{"outbound.overage_per_1000", "\"-1\"", F "outbound.overage_per_1000: "
	 "\"-1\" is negative (expected 0 or more)"},
	{"vat", NULL, F "vat: missing (required)"},
	{"vat.oss", NULL, F "vat.oss: missing (required)"},
	{"vat.rate", "\"20\"", F "vat.rate: unknown field (expected one of: "
	 "oss)"},
};

static json_t *base_doc(void)
{
	json_t *doc = json_loads(base, 0, NULL);

	assert_non_null(doc);
	return doc;
}

static void test_valid(void **state)
{
	struct diag d = DIAG_INIT;
	struct tariff t;

	(void)state;
	assert_int_equal(tariff_parse(&t, "t.json", base, strlen(base), &d), 0);
	assert_int_equal(d.n, 0);
	assert_string_equal(t.version, "2026-09");
	assert_int_equal(t.nplans, 2);
	assert_string_equal(t.plans[1].code, "M");
	assert_true(t.plans[0].monthly_fee == 4000000);
	assert_true(t.plans[1].storage_included == (int64_t)50 << 30);
	assert_true(t.has_addon && t.addon_block == (int64_t)10 << 30);
	assert_true(t.addon_monthly_fee == 1500000);
	assert_int_equal(t.unit, TARIFF_UNIT_RECIPIENT);
	assert_int_equal(t.count_local, 0);
	assert_true(t.warn_ratio == 800000 && t.block_ratio == 2000000);
	assert_int_equal(t.tolerated_days, 3);
	assert_true(t.overage_per_1000 == 3500);
	assert_int_equal(t.vat_oss, 1);
	assert_non_null(tariff_plan_find(&t, "S"));
	assert_null(tariff_plan_find(&t, "XL"));
	tariff_free(&t);
	tariff_free(&t); /* idempotent */
	tariff_free(NULL);
}

/* The canonical form parses back to itself; the optional add-on stays
 * absent when absent. */
static void test_canonical(void **state)
{
	struct diag d = DIAG_INIT;
	struct tariff t, t2;
	json_t *j, *j2, *doc = base_doc();

	(void)state;
	edit(doc, "storage_addon", NULL);
	assert_int_equal(tariff_from_json(&t, "t.json", doc, &d), 0);
	j = tariff_to_json(&t);
	assert_null(json_object_get(j, "storage_addon"));
	assert_string_equal(json_string_value(json_object_get(
				    json_array_get(json_object_get(j, "plans"), 1),
				    "storage_included")),
			    "50 GiB");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(j, "outbound"), "warn_ratio")),
			    "0.8");
	assert_string_equal(json_string_value(json_object_get(
				    json_object_get(j, "outbound"),
				    "overage_per_1000")),
			    "0.0035");
	assert_int_equal(tariff_from_json(&t2, "t.json", j, &d), 0);
	j2 = tariff_to_json(&t2);
	assert_true(json_equal(j, j2));
	json_decref(j);
	json_decref(j2);
	json_decref(doc);
	tariff_free(&t);
	tariff_free(&t2);
}

static void test_example_file(void **state)
{
	char *buf = test_read_file("examples/tariff.json");
	struct diag d = DIAG_INIT;
	struct tariff t;

	(void)state;
	assert_non_null(buf);
	assert_int_equal(tariff_parse(&t, "examples/tariff.json", buf,
				      strlen(buf), &d), 0);
	assert_true(t.nplans >= 3 && t.nplans <= 4);
	assert_string_equal(t.effective_from, "2026-09-01");
	assert_string_equal(t.timezone, "Europe/Paris");
	assert_int_equal(t.vat_oss, 1);
	tariff_free(&t);
	free(buf);
}

static void test_each_error(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bads) / sizeof(bads[0]); i++) {
		json_t *doc = base_doc();
		struct diag d = DIAG_INIT;
		struct tariff t;
		int rc;

		edit(doc, bads[i].path, bads[i].value);
		rc = tariff_from_json(&t, "t.json", doc, &d);
		if (rc != -1 || d.n != 1 || strcmp(d.msg[0], bads[i].msg) ||
		    t.plans || t.version) {
			print_error("case %zu (%s): rc %d, %zu messages\n", i,
				    bads[i].path, rc, d.n);
			for (size_t k = 0; k < d.n; k++) {
				print_error("  got      [%s]\n", d.msg[k]);
			}
			print_error("  expected [%s]\n", bads[i].msg);
			fail();
		}
		diag_free(&d);
		json_decref(doc);
	}
}

/* Every error is reported, not just the first. */
static void test_all_errors(void **state)
{
	json_t *doc = base_doc();
	struct diag d = DIAG_INIT;
	struct tariff t;

	(void)state;
	edit(doc, "currency", "\"eur\"");
	edit(doc, "plans[0].monthly_fee", "\"4,00\"");
	edit(doc, "plans[1].monthly_fee", "\"-9\"");
	edit(doc, "plans[1].storage_included", "\"10 GB\"");
	edit(doc, "outbound.tolerated_days", "99");
	assert_int_equal(tariff_from_json(&t, "t.json", doc, &d), -1);
	assert_int_equal(d.n, 5);
	diag_free(&d);
	json_decref(doc);
}

static void test_syntax_error(void **state)
{
	struct diag d = DIAG_INIT;
	struct tariff t;

	(void)state;
	assert_int_equal(tariff_parse(&t, "t.json", "{\"version\": ", 12, &d),
			 -1);
	assert_int_equal(d.n, 1);
	assert_non_null(strstr(d.msg[0], "t.json: line 1"));
	diag_free(&d);
	assert_int_equal(tariff_parse(&t, "t.json", "[1]", 3, &d), -1);
	assert_string_equal(d.msg[0], "t.json: expected a JSON object (a "
				      "tariff grid)");
	diag_free(&d);
}

static void test_dates(void **state)
{
	(void)state;
	assert_true(tariff_date_is_valid("2028-02-29"));
	assert_true(tariff_date_is_valid("2000-02-29"));
	assert_false(tariff_date_is_valid("2100-02-29"));
	assert_false(tariff_date_is_valid("2026-13-01"));
	assert_false(tariff_date_is_valid("2026-04-31"));
	assert_false(tariff_date_is_valid("2026-4-1"));
	assert_false(tariff_date_is_valid("2026-09-01T00"));
	assert_true(tariff_date_is_valid("2026-12-31"));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_valid),
		cmocka_unit_test(test_canonical),
		cmocka_unit_test(test_example_file),
		cmocka_unit_test(test_each_error),
		cmocka_unit_test(test_all_errors),
		cmocka_unit_test(test_syntax_error),
		cmocka_unit_test(test_dates),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
