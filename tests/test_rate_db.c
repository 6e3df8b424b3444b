/*
 * test_rate_db — `releve rate` on a real PostgreSQL: the month's figures
 * from the stored usage, worked out by hand below, for each VAT regime; a
 * customer without subscription; a month without tariff.
 *
 * Tariff (examples/tariff.json): M = 9.00/month, 500 recipients/day,
 * 50 GiB; S = 4.00, 100/day, 10 GiB; add-on 10 GiB at 1.50; warn 0.8,
 * 3 tolerated days, overage 0.50 per 1000 recipients, local ones not
 * counted, OSS on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/xalloc.h"
#include "testutil.h"

static PGconn *db;

static int setup(void **state)
{
	(void)state;
	db = testdb_open("rate");
	testdb_load_examples(1);
	testdb_example_october(db);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	PQfinish(db);
	return 0;
}

static json_t *rate(const char *customer, const char *period)
{
	char *out, *err;
	json_error_t e;
	json_t *j;
	int rc = test_run(NULL, &out, &err, "rate", "--period", period,
			  "--customer", customer, "--json", NULL);

	if (rc != 0) {
		fprintf(stderr, "%s", err);
	}
	assert_int_equal(rc, 0);
	j = json_loads(out, 0, &e);
	assert_non_null(j);
	free(out);
	free(err);
	return j;
}

static const char *str(json_t *o, const char *path)
{
	json_t *j = json_object_get(o, path);

	assert_non_null(j);
	return json_string_value(j);
}

static void test_business_fr(void **state)
{
	(void)state;
	json_t *r = rate("C-1001", "2026-10");
	json_t *lines = json_object_get(r, "lines");

	/* fee 9.00; storage 60 - 50 = 10 GiB: 1 block, 1.50; outbound 480
	 * billable a day, under 500: no outbound line.  Net 10.50, VAT 20 %
	 * 2.10, total 12.60. */
	assert_int_equal(json_array_size(lines), 2);
	assert_string_equal(str(json_array_get(lines, 0), "kind"), "fee");
	assert_string_equal(str(json_array_get(lines, 0), "net"), "9.00");
	assert_string_equal(str(json_array_get(lines, 1), "kind"), "storage");
	assert_string_equal(str(json_array_get(lines, 1), "net"), "1.50");
	assert_string_equal(str(r, "net"), "10.50");
	assert_string_equal(str(r, "vat_total"), "2.10");
	assert_string_equal(str(r, "total"), "12.60");
	assert_string_equal(str(r, "vat_regime"), "FR");
	assert_string_equal(str(json_array_get(json_object_get(r, "vat"), 0),
				"rate"), "20.00");
	assert_string_equal(str(r, "tariff_version"), "2026-09");
	/* Advice: M covers 500/day but not 60 GiB; L (200 GiB) does. */
	assert_string_equal(str(json_object_get(r, "advice"), "plan"), "L");
	json_decref(r);
}

static void test_tolerance_and_overage(void **state)
{
	(void)state;
	json_t *r = rate("C-1002", "2026-10");
	json_t *lines = json_object_get(r, "lines"), *usage;

	/* fee 4.00 + outbound 0.50 (see setup) = 4.50; VAT 0.90; 5.40.
	 * No storage rolled up: 31 days missing, at zero. */
	assert_int_equal(json_array_size(lines), 2);
	assert_string_equal(str(json_array_get(lines, 1), "kind"), "outbound");
	assert_string_equal(str(json_array_get(lines, 1), "quantity"), "1.001");
	assert_string_equal(str(json_array_get(lines, 1), "net"), "0.50");
	assert_string_equal(str(r, "net"), "4.50");
	assert_string_equal(str(r, "vat_total"), "0.90");
	assert_string_equal(str(r, "total"), "5.40");
	usage = json_object_get(r, "usage");
	assert_int_equal(json_integer_value(json_object_get(usage,
				"over_quota_days")), 5);
	assert_int_equal(json_integer_value(json_object_get(usage,
				"tolerated_used")), 3);
	assert_int_equal(json_integer_value(json_object_get(usage,
				"billed_excess")), 1001);
	assert_int_equal(json_integer_value(json_object_get(usage,
				"storage_missing_days")), 31);
	json_decref(r);
}

static void test_vat_regimes(void **state)
{
	(void)state;
	/* C-1004 Belgian business with a VAT number: reverse charge. */
	json_t *r = rate("C-1004", "2026-10");

	assert_string_equal(str(r, "vat_regime"), "REVERSE_CHARGE");
	assert_string_equal(str(r, "vat_total"), "0.00");
	assert_string_equal(str(r, "total"), str(r, "net"));
	json_decref(r);
	/* C-1005 German consumer, OSS on: Germany's 19 %; plan S from
	 * 2026-10-01: 4.00 + 0.76 = 4.76. */
	r = rate("C-1005", "2026-10");
	assert_string_equal(str(r, "vat_regime"), "OSS");
	assert_string_equal(str(json_array_get(json_object_get(r, "vat"), 0),
				"rate"), "19.00");
	assert_string_equal(str(r, "total"), "4.76");
	json_decref(r);
	/* C-1006 Swiss business: out of scope, 0 %. */
	r = rate("C-1006", "2026-10");
	assert_string_equal(str(r, "vat_regime"), "OUT_OF_SCOPE");
	assert_string_equal(str(r, "vat_total"), "0.00");
	json_decref(r);
}

static void test_refusals(void **state)
{
	(void)state;
	char *out, *err;

	/* No subscription in the month: exit 1, nothing on stdout. */
	assert_int_equal(test_run(NULL, &out, &err, "rate", "--period",
				  "2026-09", "--customer", "C-1005", "--json",
				  NULL), 1);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "no subscription"));
	free(out);
	free(err);
	/* No tariff in effect. */
	assert_int_equal(test_run(NULL, &out, &err, "rate", "--period",
				  "2026-08", NULL), 1);
	assert_non_null(strstr(err, "no tariff"));
	free(out);
	free(err);
	/* Usage errors. */
	assert_int_equal(test_run(NULL, &out, &err, "rate", NULL), 2);
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "rate", "--period",
				  "2026-13", NULL), 2);
	free(out);
	free(err);
}

/*
 * The month of every customer at once (the batch reader: COPY of plain
 * rows summed in the client) equals each customer rated alone, with
 * several mailboxes a day, usage of a customer without subscription that
 * day, storage missing on some days, and a plan change.
 */
static void test_batch_equals_single(void **state)
{
	static const char *const periods[] = {"2026-10", "2026-09"};
	static const size_t expect[] = {8, 7}; /* C-1005 starts in October */
	char *out, *err;
	json_t *all, *one;
	size_t i;

	(void)state;
	testdb_exec(db,
		"INSERT INTO usage_daily (customer_id, mailbox, day,"
		" out_messages, out_recipients, out_recipients_local) VALUES"
		" ('C-1001', 'contact@menuiserie-lambert.fr', '2026-10-06', 3, 300, 0),"
		" ('C-1001', 'atelier@menuiserie-lambert.fr', '2026-10-06', 2, 220, 10),"
		" ('C-1001', 'compta@menuiserie-lambert.fr', '2026-10-06', 1, 5, 0),"
		" ('C-1003', 'camille@martin-famille.fr', '2026-10-02', 4, 40, 0),"
		" ('C-1003', 'camille@martin-famille.fr', '2026-09-05', 4, 40, 0),"
		" ('C-1003', 'louis@martin-famille.fr', '2026-09-20', 4, 140, 0),"
		" ('C-1005', 'jonas@becker-post.de', '2026-09-20', 4, 40, 0),"
		" ('C-1007', 'hello@studio-perrin.fr', '2026-10-14', 9, 650, 0),"
		" ('C-1007', 'hello@studio-perrin.fr', '2026-10-15', 9, 650, 0);"
		"INSERT INTO storage_customer_daily (customer_id, day,"
		" storage_bytes, mailboxes, sampled, carried, gaps, carry_days)"
		" SELECT 'C-1007', d, 12 * 1073741824::bigint, 5, 5, 0, 0, 7"
		" FROM generate_series('2026-10-03'::date, '2026-10-20', '1 day') d");
	for (size_t p = 0; p < 2; p++) {
		assert_int_equal(test_run(NULL, &out, &err, "rate", "--period",
					  periods[p], "--json", NULL),
				 0);
		all = json_loads(out, 0, NULL);
		free(out);
		free(err);
		assert_true(json_is_array(all));
		assert_int_equal(json_array_size(all), expect[p]);
		for (i = 0; i < json_array_size(all); i++) {
			json_t *a = json_array_get(all, i);

			one = rate(str(a, "customer"), periods[p]);
			if (!json_equal(a, one)) {
				char *x = json_dumps(a, JSON_SORT_KEYS);
				char *y = json_dumps(one, JSON_SORT_KEYS);

				fprintf(stderr, "batch:  %s\nsingle: %s\n", x,
					y);
				free(x);
				free(y);
			}
			assert_true(json_equal(a, one));
			json_decref(one);
		}
		json_decref(all);
	}
}

/* A version of the example grid: S at fee, from from, counting unit
 * (local ones when local), no tolerated day. */
static void load_version(const char *version, const char *from,
			 const char *fee, const char *unit, int local)
{
	char *json = xasprintf(
		"{\"version\": \"%s\", \"effective_from\": \"%s\","
		" \"currency\": \"EUR\", \"timezone\": \"Europe/Paris\","
		" \"plans\": ["
		"  {\"code\": \"S\", \"name\": \"Essentiel\", \"monthly_fee\": \"%s\","
		"   \"outbound_per_day\": 100, \"storage_included\": \"10 GiB\"},"
		"  {\"code\": \"M\", \"name\": \"Standard\", \"monthly_fee\": \"9.00\","
		"   \"outbound_per_day\": 500, \"storage_included\": \"50 GiB\"},"
		"  {\"code\": \"L\", \"name\": \"Pro\", \"monthly_fee\": \"19.90\","
		"   \"outbound_per_day\": 2000, \"storage_included\": \"200 GiB\"},"
		"  {\"code\": \"XL\", \"name\": \"Entreprise\", \"monthly_fee\": \"49.00\","
		"   \"outbound_per_day\": 10000, \"storage_included\": \"1 TiB\"}],"
		" \"storage_addon\": {\"block\": \"10 GiB\", \"monthly_fee\": \"1.50\"},"
		" \"outbound\": {\"unit\": \"%s\", \"count_local\": %s,"
		"  \"warn_ratio\": \"0.8\", \"tolerated_days\": 0,"
		"  \"block_ratio\": \"2.0\", \"overage_per_1000\": \"0.50\"},"
		" \"vat\": {\"oss\": true}}",
		version, from, fee, unit, local ? "true" : "false");
	char *path = xstrdup(test_write_file("version.json", json));
	char *err;
	int rc = test_run(NULL, NULL, &err, "tariff", "load", path, NULL);

	if (rc != 0) {
		fprintf(stderr, "%s", err);
	}
	assert_int_equal(rc, 0);
	free(err);
	free(path);
	free(json);
}

static const char *outbound_line(json_t *r, const char *field)
{
	json_t *lines = json_object_get(r, "lines");

	for (size_t i = 0; i < json_array_size(lines); i++) {
		json_t *l = json_array_get(lines, i);

		if (!strcmp(str(l, "kind"), "outbound")) {
			return str(l, field);
		}
	}
	return "none";
}

/*
 * The version in effect on the month's first day rates the whole month
 * (one starting mid-month waits for the next month); a version counting
 * messages counts messages, one counting local recipients counts them;
 * VAT is at the rates in force on the month's last day.
 */
static void test_versions_units_and_vat_day(void **state)
{
	json_t *r;

	(void)state;
	/* From 2026-11-15: S at 5.00, counting messages. */
	load_version("2026-11-15", "2026-11-15", "5.00", "message", 0);
	/* From 2027-01-01: S at 6.00, counting recipients, local ones too. */
	load_version("2027-01", "2027-01-01", "6.00", "recipient", 1);
	testdb_exec(db,
		"INSERT INTO usage_daily (customer_id, mailbox, day,"
		" out_messages, out_recipients, out_recipients_local) VALUES"
		/* November: over by recipients, under by messages; under
		 * the November rules (recipients), 300 - 100 billed. */
		" ('C-1002', 'bureau@jardins-faubourg.org', '2026-11-20', 30, 300, 0),"
		/* December: 180 messages to 20 recipients (over by 80
		 * messages), then 50 messages to 5000 (under). */
		" ('C-1002', 'bureau@jardins-faubourg.org', '2026-12-01', 180, 20, 0),"
		" ('C-1002', 'bureau@jardins-faubourg.org', '2026-12-02', 50, 5000, 0),"
		/* January: 90 remote + 30 local = 120: over by 20 only when
		 * local ones count. */
		" ('C-1002', 'bureau@jardins-faubourg.org', '2027-01-04', 10, 120, 30)");

	r = rate("C-1002", "2026-11");
	assert_string_equal(str(r, "tariff_version"), "2026-09");
	assert_string_equal(str(json_array_get(json_object_get(r, "lines"), 0),
				"net"), "4.00");
	/* 2026-09 tolerates 3 days: nothing billed. */
	assert_string_equal(outbound_line(r, "net"), "none");
	json_decref(r);

	r = rate("C-1002", "2026-12");
	assert_string_equal(str(r, "tariff_version"), "2026-11-15");
	assert_string_equal(str(json_array_get(json_object_get(r, "lines"), 0),
				"net"), "5.00");
	assert_string_equal(outbound_line(r, "quantity"), "0.08");
	assert_string_equal(outbound_line(r, "net"), "0.04");
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(r, "usage"), "over_quota_days")), 1);
	assert_int_equal(json_integer_value(json_object_get(
		json_object_get(r, "usage"), "billed_excess")), 80);
	json_decref(r);

	r = rate("C-1002", "2027-01");
	assert_string_equal(str(r, "tariff_version"), "2027-01");
	assert_string_equal(outbound_line(r, "quantity"), "0.02");
	assert_string_equal(outbound_line(r, "net"), "0.01");
	json_decref(r);

	/* Traffic before a subscription starts (C-1003 from 2026-09-17; its
	 * 40 recipients of 2026-09-05, see test_batch_equals_single) is
	 * reported in the table, never billed. */
	{
		char *out, *err;

		assert_int_equal(test_run(NULL, &out, &err, "rate", "--period",
					  "2026-09", "--customer", "C-1003",
					  NULL), 0);
		assert_non_null(strstr(out, "not billed: 40 recipients on 1 day"
					    " without a subscription"));
		free(out);
		free(err);
	}

	/* Germany's rate changes on 2026-12-20: December is rated at the
	 * new rate (its last day's), November at the old one. */
	testdb_exec(db, "SELECT vat_rate_change('DE', 21, '2026-12-20')");
	r = rate("C-1005", "2026-11");
	assert_string_equal(str(json_array_get(json_object_get(r, "vat"), 0),
				"rate"), "19.00");
	json_decref(r);
	r = rate("C-1005", "2026-12");
	assert_string_equal(str(json_array_get(json_object_get(r, "vat"), 0),
				"rate"), "21.00");
	/* S at 5.00 (December's version) + 21 % = 6.05. */
	assert_string_equal(str(r, "total"), "6.05");
	json_decref(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_business_fr),
		cmocka_unit_test(test_tolerance_and_overage),
		cmocka_unit_test(test_vat_regimes),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_batch_equals_single),
		cmocka_unit_test(test_versions_units_and_vat_day),
	};

	return cmocka_run_group_tests_name("rate_db", tests, setup, teardown);
}
