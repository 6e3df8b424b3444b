/*
 * test_usage_db — `releve usage` on a real PostgreSQL: the days and
 * totals equal the fixtures inserted below, quota states at the
 * boundaries, grouping by mailbox and domain, CSV, the current month's
 * estimate (today fixed with --today / RELEVE_TODAY), and the refusals.
 *
 * Tariff (examples/tariff.json): S = 4.00/month, 100 recipients/day,
 * 10 GiB; L = 19.90, 2000/day, 200 GiB; add-on 10 GiB at 1.50; warn 0.8,
 * block 2.0, 3 tolerated days, 0.50 per 1000 over, local recipients not
 * counted.  C-1002 (FR association, S since 2026-09-01), C-1003 (S from
 * 2026-09-17), C-1004 (BE business, L, two domains).
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

#include "reports/usage.h"
#include "testutil.h"

#define GIB 1073741824LL

static PGconn *db;

static int setup(void **state)
{
	(void)state;
	db = testdb_open("usage");
	assert_int_equal(test_run(NULL, NULL, NULL, "seller", "set",
				  "examples/seller.json", NULL),
			 0);
	assert_int_equal(test_run(NULL, NULL, NULL, "tariff", "load",
				  "examples/tariff.json", NULL),
			 0);
	assert_int_equal(test_run(NULL, NULL, NULL, "registry", "import",
				  "examples/registry.json", NULL),
			 0);
	/* C-1002, October 2026, billable = recipients - local against the
	 * quota of 100 (warn at 80, blocked above 200):
	 *   01: 80 (exactly the warn ratio)   warn
	 *   02: 79                            ok
	 *   03: 100 (exactly the quota)       warn
	 *   04: 60 + 41 = 101 (two mailboxes) over
	 *   05: 200 (exactly the block ratio) over
	 *   06: 201                           blocked
	 *   07: 110 of which 20 local = 90    warn
	 * Storage 12 GiB on the 1st..7th, nothing rolled up after. */
	testdb_exec(
	    db, "INSERT INTO usage_daily (customer_id, mailbox, day,"
		" out_messages, out_recipients, out_recipients_local,"
		" out_sent, out_bounced, out_deferred, out_expired) VALUES"
		" ('C-1002', 'bureau@jardins-faubourg.org', '2026-10-01', 8, "
		"80, 0, 78, 1, 1, 0),"
		" ('C-1002', 'bureau@jardins-faubourg.org', '2026-10-02', 7, "
		"79, 0, 79, 0, 0, 0),"
		" ('C-1002', 'bureau@jardins-faubourg.org', '2026-10-03', 10, "
		"100, 0, 97, 2, 0, 1),"
		" ('C-1002', 'bureau@jardins-faubourg.org', '2026-10-04', 6, "
		"60, 0, 60, 0, 0, 0),"
		" ('C-1002', 'tresorerie@jardins-faubourg.org', '2026-10-04', "
		"4, 41, 0, 40, 1, 0, 0),"
		" ('C-1002', 'bureau@jardins-faubourg.org', '2026-10-05', 20, "
		"200, 0, 200, 0, 0, 0),"
		" ('C-1002', 'bureau@jardins-faubourg.org', '2026-10-06', 21, "
		"201, 0, 199, 0, 2, 0),"
		" ('C-1002', 'tresorerie@jardins-faubourg.org', '2026-10-07', "
		"11, 110, 20, 110, 0, 0, 0);"
		"INSERT INTO storage_customer_daily (customer_id, day,"
		" storage_bytes, mailboxes, sampled, carried, gaps, carry_days)"
		" SELECT 'C-1002', d, 12 * 1073741824::bigint, 3, 3, 0, 0, 7"
		" FROM generate_series('2026-10-01'::date, '2026-10-07', '1 "
		"day') d;"
		/* C-1004: outbound on three mailboxes of two domains, and
		 * storage samples per mailbox: info 1000 on the 1st (carried to
		 * the 2nd and 3rd), shop 3000 on the 1st and 2nd and 5000 on
		 * the 3rd, boekhouding none (a gap, zero). */
		"INSERT INTO usage_daily (customer_id, mailbox, day,"
		" out_messages, out_recipients, out_recipients_local,"
		" out_sent, out_bounced, out_deferred, out_expired) VALUES"
		" ('C-1004', 'info@brasserie-vandamme.be', '2026-10-01', 5, "
		"10, 2, 10, 0, 0, 0),"
		" ('C-1004', 'boekhouding@brasserie-vandamme.be', "
		"'2026-10-02', 3, 4, 0, 3, 1, 0, 0),"
		" ('C-1004', 'shop@vandamme-bier.be', '2026-10-03', 7, 20, 1, "
		"18, 0, 1, 1);"
		"SELECT releve_storage_daily_put("
		" ARRAY['info@brasserie-vandamme.be', 'shop@vandamme-bier.be',"
		" 'shop@vandamme-bier.be', 'shop@vandamme-bier.be'],"
		" ARRAY['2026-10-01', '2026-10-01', '2026-10-02',"
		" '2026-10-03']::date[], ARRAY[1000, 3000, 3000, 5000])");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	PQfinish(db);
	return 0;
}

/* `releve usage ARGS... --json`, expected to succeed; the document. */
static json_t *usage_json(const char *const *args)
{
	const char *argv[24];
	char *out, *err;
	json_error_t e;
	json_t *j;
	size_t n = 0;
	int rc;

	argv[n++] = "usage";
	for (; *args; args++) {
		argv[n++] = *args;
	}
	argv[n++] = "--json";
	argv[n] = NULL;
	rc = test_runv(NULL, &out, &err, argv);
	if (rc != 0) {
		fprintf(stderr, "%s", err);
	}
	assert_int_equal(rc, 0);
	j = json_loads(out, 0, &e);
	if (!j) {
		fprintf(stderr, "%s\n%s\n", e.text, out);
	}
	assert_non_null(j);
	free(out);
	free(err);
	return j;
}

static json_int_t num(json_t *o, const char *key)
{
	json_t *j = json_object_get(o, key);

	assert_true(json_is_integer(j));
	return json_integer_value(j);
}

static const char *str(json_t *o, const char *key)
{
	json_t *j = json_object_get(o, key);

	assert_true(json_is_string(j));
	return json_string_value(j);
}

static void test_quota_state_pure(void **state)
{
	static const struct {
		int64_t count, quota;
		enum usage_quota want;
	} t[] = {
		{ .count = 0, .quota = 100, .want = USAGE_QUOTA_OK },
		{ .count = 79, .quota = 100, .want = USAGE_QUOTA_OK },
		{ .count = 80, .quota = 100, .want = USAGE_QUOTA_WARN },
		{ .count = 100, .quota = 100, .want = USAGE_QUOTA_WARN },
		{ .count = 101, .quota = 100, .want = USAGE_QUOTA_OVER },
		{ .count = 200, .quota = 100, .want = USAGE_QUOTA_OVER },
		{ .count = 201, .quota = 100, .want = USAGE_QUOTA_BLOCKED },
		{ .count = 5, .quota = -1, .want = USAGE_QUOTA_NONE },
		{ .count = 0, .quota = 0, .want = USAGE_QUOTA_OK },
		{ .count = 1, .quota = 0, .want = USAGE_QUOTA_BLOCKED },
		{ .count = INT64_MAX,
		  .quota = INT64_MAX,
		  .want = USAGE_QUOTA_WARN },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		assert_string_equal(
		    usage_quota_name(usage_quota_state(t[i].count, t[i].quota,
						       800000, 2000000)),
		    usage_quota_name(t[i].want));
	}
}

static void test_days_and_totals(void **state)
{
	static const struct {
		const char *date;
		json_int_t msgs, rcpt, loc, sent, bounced, deferred, expired;
		json_int_t storage; /* -1: null */
		const char *qstate;
	} want[] = {
		{ "2026-10-01", 8, 80, 0, 78, 1, 1, 0, 12 * GIB, "warn" },
		{ "2026-10-02", 7, 79, 0, 79, 0, 0, 0, 12 * GIB, "ok" },
		{ "2026-10-03", 10, 100, 0, 97, 2, 0, 1, 12 * GIB, "warn" },
		{ "2026-10-04", 10, 101, 0, 100, 1, 0, 0, 12 * GIB, "over" },
		{ "2026-10-05", 20, 200, 0, 200, 0, 0, 0, 12 * GIB, "over" },
		{ "2026-10-06", 21, 201, 0, 199, 0, 2, 0, 12 * GIB, "blocked" },
		{ "2026-10-07", 11, 110, 20, 110, 0, 0, 0, 12 * GIB, "warn" },
		{ "2026-10-08", 0, 0, 0, 0, 0, 0, 0, -1, "ok" },
	};
	static const char *const args[] = {
		"--customer", "C-1002",	 "--from",     "2026-10-01", "--to",
		"2026-10-08", "--today", "2026-11-23", NULL
	};
	json_t *r = usage_json(args), *days, *tot, *qd;
	json_int_t sum[7] = { 0 };

	(void)state;
	assert_string_equal(str(r, "customer"), "C-1002");
	assert_string_equal(str(r, "from"), "2026-10-01");
	assert_string_equal(str(r, "to"), "2026-10-08");
	assert_string_equal(str(r, "timezone"), "Europe/Paris");
	days = json_object_get(r, "days");
	assert_int_equal(json_array_size(days), 8);
	for (size_t i = 0; i < 8; i++) {
		json_t *d = json_array_get(days, i);

		assert_string_equal(str(d, "date"), want[i].date);
		assert_int_equal(num(d, "outbound_messages"), want[i].msgs);
		assert_int_equal(num(d, "outbound_recipients"), want[i].rcpt);
		assert_int_equal(num(d, "outbound_recipients_local"),
				 want[i].loc);
		assert_int_equal(num(d, "sent"), want[i].sent);
		assert_int_equal(num(d, "bounced"), want[i].bounced);
		assert_int_equal(num(d, "deferred"), want[i].deferred);
		assert_int_equal(num(d, "expired"), want[i].expired);
		if (want[i].storage < 0) {
			assert_true(
			    json_is_null(json_object_get(d, "storage_bytes")));
		} else {
			assert_int_equal(num(d, "storage_bytes"),
					 want[i].storage);
		}
		assert_int_equal(num(d, "quota_per_day"), 100);
		assert_string_equal(str(d, "quota_state"), want[i].qstate);
		sum[0] += want[i].msgs;
		sum[1] += want[i].rcpt;
		sum[2] += want[i].loc;
		sum[3] += want[i].sent;
		sum[4] += want[i].bounced;
		sum[5] += want[i].deferred;
		sum[6] += want[i].expired;
	}
	tot = json_object_get(r, "totals");
	assert_int_equal(num(tot, "days"), 8);
	assert_int_equal(num(tot, "outbound_messages"), sum[0]);
	assert_int_equal(num(tot, "outbound_recipients"), sum[1]);
	assert_int_equal(num(tot, "outbound_recipients_local"), sum[2]);
	assert_int_equal(num(tot, "sent"), sum[3]);
	assert_int_equal(num(tot, "bounced"), sum[4]);
	assert_int_equal(num(tot, "deferred"), sum[5]);
	assert_int_equal(num(tot, "expired"), sum[6]);
	assert_int_equal(num(tot, "billable"), sum[1] - sum[2]);
	assert_int_equal(num(tot, "storage_days"), 7);
	assert_int_equal(num(tot, "storage_bytes_avg"), 12 * GIB);
	qd = json_object_get(tot, "quota_days");
	assert_int_equal(num(qd, "ok"), 2);
	assert_int_equal(num(qd, "warn"), 3);
	assert_int_equal(num(qd, "over"), 2);
	assert_int_equal(num(qd, "blocked"), 1);
	assert_int_equal(num(qd, "none"), 0);
	/* A past month: no estimate. */
	assert_null(json_object_get(r, "estimate"));
	json_decref(r);
}

static void test_no_subscription_days(void **state)
{
	/* C-1003's plan S starts on 2026-09-17. */
	static const char *const args[] = {
		"--customer", "C-1003",	 "--from",     "2026-09-15", "--to",
		"2026-09-18", "--today", "2026-11-23", NULL
	};
	static const char *const want[] = { "none", "none", "ok", "ok" };
	json_t *r = usage_json(args), *days = json_object_get(r, "days");

	(void)state;
	assert_int_equal(json_array_size(days), 4);
	for (size_t i = 0; i < 4; i++) {
		json_t *d = json_array_get(days, i);

		assert_string_equal(str(d, "quota_state"), want[i]);
		assert_true(
		    i < 2 ? json_is_null(json_object_get(d, "quota_per_day"))
			  : num(d, "quota_per_day") == 100);
	}
	json_decref(r);
}

static void test_by_mailbox_and_domain(void **state)
{
	static const char *const mb[] = { "--customer", "C-1004",  "--from",
					  "2026-10-01", "--to",	   "2026-10-03",
					  "--by",	"mailbox", "--today",
					  "2026-11-23", NULL };
	static const char *const dom[] = { "--customer", "C-1004", "--from",
					   "2026-10-01", "--to",   "2026-10-03",
					   "--by",	 "domain", "--today",
					   "2026-11-23", NULL };
	/* Sorted by name; storage averaged over the 3 days of the period:
	 * info 3 x 1000 / 3, shop (3000 + 3000 + 5000) / 3 rounded down,
	 * boekhouding a gap every day. */
	static const struct {
		const char *name;
		json_int_t msgs, rcpt, loc, sent, bounced, deferred, expired,
		    storage;
	} wm[] = {
		{"boekhouding@brasserie-vandamme.be", 3, 4, 0, 3, 1, 0, 0, 0},
		{"info@brasserie-vandamme.be", 5, 10, 2, 10, 0, 0, 0, 1000},
		{"shop@vandamme-bier.be", 7, 20, 1, 18, 0, 1, 1, 3666},
	}, wd[] = {
		{"brasserie-vandamme.be", 8, 14, 2, 13, 1, 0, 0, 1000},
		{"vandamme-bier.be", 7, 20, 1, 18, 0, 1, 1, 3666},
	};
	json_t *r = usage_json(mb), *rows = json_object_get(r, "rows");

	(void)state;
	assert_string_equal(str(r, "by"), "mailbox");
	assert_int_equal(json_array_size(rows), 3);
	for (size_t i = 0; i < 3; i++) {
		json_t *o = json_array_get(rows, i);

		assert_string_equal(str(o, "name"), wm[i].name);
		assert_int_equal(num(o, "outbound_messages"), wm[i].msgs);
		assert_int_equal(num(o, "outbound_recipients"), wm[i].rcpt);
		assert_int_equal(num(o, "outbound_recipients_local"),
				 wm[i].loc);
		assert_int_equal(num(o, "sent"), wm[i].sent);
		assert_int_equal(num(o, "bounced"), wm[i].bounced);
		assert_int_equal(num(o, "deferred"), wm[i].deferred);
		assert_int_equal(num(o, "expired"), wm[i].expired);
		assert_int_equal(num(o, "storage_bytes_avg"), wm[i].storage);
	}
	json_decref(r);
	r = usage_json(dom);
	rows = json_object_get(r, "rows");
	assert_string_equal(str(r, "by"), "domain");
	assert_int_equal(json_array_size(rows), 2);
	for (size_t i = 0; i < 2; i++) {
		json_t *o = json_array_get(rows, i);

		assert_string_equal(str(o, "name"), wd[i].name);
		assert_int_equal(num(o, "outbound_messages"), wd[i].msgs);
		assert_int_equal(num(o, "outbound_recipients"), wd[i].rcpt);
		assert_int_equal(num(o, "outbound_recipients_local"),
				 wd[i].loc);
		assert_int_equal(num(o, "sent"), wd[i].sent);
		assert_int_equal(num(o, "bounced"), wd[i].bounced);
		assert_int_equal(num(o, "deferred"), wd[i].deferred);
		assert_int_equal(num(o, "expired"), wd[i].expired);
		assert_int_equal(num(o, "storage_bytes_avg"), wd[i].storage);
	}
	json_decref(r);
}

static void test_csv_and_table(void **state)
{
	char *out, *err;

	(void)state;
	assert_int_equal(test_run(NULL, &out, &err, "usage", "--customer",
				  "C-1002", "--from", "2026-10-05", "--to",
				  "2026-10-06", "--csv", "--today",
				  "2026-11-23", NULL),
			 0);
	assert_string_equal(
	    out, "date,outbound_messages,outbound_recipients,"
		 "outbound_recipients_local,sent,bounced,deferred,expired,"
		 "storage_bytes,quota_per_day,quota_state\n"
		 "2026-10-05,20,200,0,200,0,0,0,12884901888,100,over\n"
		 "2026-10-06,21,201,0,199,0,2,0,12884901888,100,blocked\n");
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "usage", "--customer",
				  "C-1004", "--from", "2026-10-01", "--to",
				  "2026-10-03", "--by", "domain", "--csv",
				  "--today", "2026-11-23", NULL),
			 0);
	assert_non_null(strstr(out, "domain,outbound_messages,"));
	assert_non_null(
	    strstr(out, "\nvandamme-bier.be,7,20,1,18,0,1,1,3666\n"));
	free(out);
	free(err);
	/* The table: a header line, one line per day, a total. */
	assert_int_equal(test_run(NULL, &out, &err, "usage", "--customer",
				  "C-1002", "--from", "2026-10-01", "--to",
				  "2026-10-07", "--today", "2026-11-23", NULL),
			 0);
	assert_non_null(strstr(out, "2026-10-06"));
	assert_non_null(strstr(out, "blocked"));
	assert_non_null(strstr(out, "\ntotal "));
	free(out);
	free(err);
}

/*
 * Today 2026-10-10, the default period (2026-10-01..10).  Billable days
 * 1..7: 80 79 100 101 200 201 90 (sum 851), 8..10: 0.  Over-quota days
 * 4, 5, 6: the 3 tolerated ones, no overage.
 * So far (days 11..31 at zero, storage missing at zero): storage average
 * 7 x 12 GiB / 31 = 2.7 GiB < 10 GiB: fee 4.00 only; VAT 20 %: 0.80;
 * 4.80.
 * Projected: days 11..31 at 851 / 10 = 85 recipients (under the quota)
 * and 12 GiB (the average of the 7 days rolled up): storage average
 * (7 + 21) x 12 / 31 = 10.84 GiB, 1 block of 10 GiB = 1.50; net 5.50,
 * VAT 1.10, total 6.60.
 */
static void test_estimate(void **state)
{
	static const char *const args[] = { "--customer", "C-1002", "--today",
					    "2026-10-10", NULL };
	json_t *r, *e, *p;

	(void)state;
	r = usage_json(args);
	assert_string_equal(str(r, "from"), "2026-10-01");
	assert_string_equal(str(r, "to"), "2026-10-10");
	assert_int_equal(json_array_size(json_object_get(r, "days")), 10);
	e = json_object_get(r, "estimate");
	assert_non_null(e);
	assert_string_equal(str(e, "period"), "2026-10");
	assert_string_equal(str(e, "as_of"), "2026-10-10");
	assert_int_equal(num(e, "days_elapsed"), 10);
	assert_string_equal(str(e, "net"), "4.00");
	assert_string_equal(str(e, "vat_total"), "0.80");
	assert_string_equal(str(e, "total"), "4.80");
	p = json_object_get(e, "projected");
	assert_int_equal(num(p, "daily_outbound"), 85);
	assert_int_equal(num(p, "daily_storage_bytes"), 12 * GIB);
	assert_string_equal(str(p, "net"), "5.50");
	assert_string_equal(str(p, "vat_total"), "1.10");
	assert_string_equal(str(p, "total"), "6.60");
	json_decref(r);
	/* The same through RELEVE_TODAY. */
	setenv("RELEVE_TODAY", "2026-10-10", 1);
	{
		static const char *const a2[] = { "--customer", "C-1002",
						  NULL };

		r = usage_json(a2);
	}
	unsetenv("RELEVE_TODAY");
	assert_string_equal(str(r, "to"), "2026-10-10");
	assert_string_equal(str(json_object_get(r, "estimate"), "total"),
			    "4.80");
	json_decref(r);
	/* Without either: the billing day of now, and its month. */
	{
		static const char *const a3[] = { "--customer", "C-1002",
						  NULL };
		char *today =
		    testdb_value(db, "SELECT releve_billing_day(now())"
				     "::text");

		r = usage_json(a3);
		assert_string_equal(str(r, "today"), today);
		assert_string_equal(str(r, "to"), today);
		assert_memory_equal(str(r, "from"), today, 8);
		assert_string_equal(str(r, "from") + 8, "01");
		free(today);
		json_decref(r);
	}
}

static void test_errors(void **state)
{
	static const struct {
		const char *args[10];
		int rc;
		const char *err;
	} t[] = {
		{ { "--customer", "C-9999", "--today", "2026-10-10" },
		  1,
		  "no customer 'C-9999'" },
		{ { "--customer", "C-1002", "--from", "2026-13-01", "--to",
		    "2026-10-01" },
		  2,
		  "--from: '2026-13-01' is not a date" },
		{ { "--customer", "C-1002", "--from", "2026-10-01", "--to",
		    "2026-02-30" },
		  2,
		  "--to: '2026-02-30' is not a date" },
		{ { "--customer", "C-1002", "--from", "2026-10-05", "--to",
		    "2026-10-01" },
		  2,
		  "--from: 2026-10-05 is after --to" },
		{ { "--customer", "C-1002", "--from", "2026-10-05", "--today",
		    "2026-10-01" },
		  2,
		  "--from: 2026-10-05 is after --to" },
		{ { "--customer", "C-1002", "--from", "2024-01-01", "--to",
		    "2026-10-01" },
		  2,
		  "--to: 2026-10-01 is more than" },
		{ { "--customer", "C-1002", "--today", "yesterday" },
		  2,
		  "--today: 'yesterday' is not a date" },
		{ { "--customer", "C-1002", "--by", "week" }, 2, "--by" },
		{ { "--from", "2026-10-01" }, 2, "--customer" },
		{ { "--customer", "C-1002", "--json", "--csv" }, 2, "exclude" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++) {
		const char *argv[12] = { "usage" };
		char *out, *err;

		for (size_t k = 0; t[i].args[k]; k++) {
			argv[k + 1] = t[i].args[k];
		}
		assert_int_equal(test_runv(NULL, &out, &err, argv), t[i].rc);
		if (!strstr(err, t[i].err)) {
			fprintf(stderr, "case %zu: %s\n", i, err);
		}
		assert_non_null(strstr(err, t[i].err));
		assert_string_equal(out, "");
		free(out);
		free(err);
	}
	setenv("RELEVE_TODAY", "2026-10-32", 1);
	{
		char *out, *err;

		assert_int_equal(test_run(NULL, &out, &err, "usage",
					  "--customer", "C-1002", NULL),
				 2);
		assert_non_null(strstr(err, "RELEVE_TODAY"));
		free(out);
		free(err);
	}
	unsetenv("RELEVE_TODAY");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_quota_state_pure),
		cmocka_unit_test(test_days_and_totals),
		cmocka_unit_test(test_no_subscription_days),
		cmocka_unit_test(test_by_mailbox_and_domain),
		cmocka_unit_test(test_csv_and_table),
		cmocka_unit_test(test_estimate),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests_name("usage_db", tests, setup, teardown);
}
