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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_business_fr),
		cmocka_unit_test(test_tolerance_and_overage),
		cmocka_unit_test(test_vat_regimes),
		cmocka_unit_test(test_refusals),
		cmocka_unit_test(test_batch_equals_single),
	};

	return cmocka_run_group_tests_name("rate_db", tests, setup, teardown);
}
