/*
 * test_tariff_db — `releve tariff load|show` against a real database:
 * load, reload unchanged, replace, the locked version refused by the
 * command and by the trigger, bad input stores nothing (exit 1, every
 * message), the show --json round trip.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/xalloc.h"
#include "testutil.h"

static PGconn *db;

static int count(const char *sql)
{
	char *v = testdb_value(db, sql);
	int n = v ? atoi(v) : -1;

	free(v);
	return n;
}

static char *grid(const char *version, const char *from, const char *fee_m)
{
	return xasprintf(
		"{\"version\": \"%s\", \"effective_from\": \"%s\","
		" \"currency\": \"EUR\", \"timezone\": \"Europe/Paris\","
		" \"plans\": ["
		"  {\"code\": \"S\", \"name\": \"Essentiel\","
		"   \"monthly_fee\": \"4.00\", \"outbound_per_day\": 100,"
		"   \"storage_included\": \"10 GiB\"},"
		"  {\"code\": \"M\", \"name\": \"Standard\","
		"   \"monthly_fee\": \"%s\", \"outbound_per_day\": 500,"
		"   \"storage_included\": 53687091200}],"
		" \"outbound\": {\"unit\": \"message\", \"count_local\": true,"
		"  \"warn_ratio\": \"0.80\", \"tolerated_days\": 0,"
		"  \"block_ratio\": \"3\", \"overage_per_1000\": \"0\"},"
		" \"vat\": {\"oss\": false}}",
		version, from, fee_m);
}

static int load(const char *content, char **out, char **err)
{
	char *path = test_write_file("t.json", content);

	return test_run(NULL, out, err, "tariff", "load", path, NULL);
}

static void test_load_unchanged_replace(void **state)
{
	char *doc = grid("2026-09", "2026-09-01", "9.00"), *out, *err, *v;

	(void)state;
	assert_int_equal(load(doc, &out, &err), 0);
	assert_non_null(strstr(out, "tariff version 2026-09 (effective "
				    "2026-09-01, 2 plans): loaded"));
	free(out);
	free(err);
	assert_int_equal(count("SELECT count(*) FROM tariff_plans WHERE "
			       "version = '2026-09'"), 2);
	v = testdb_value(db, "SELECT monthly_fee::text FROM tariff_plans "
			     "WHERE code = 'M'");
	assert_string_equal(v, "9.000000");
	free(v);
	v = testdb_value(db, "SELECT loaded_at::text FROM tariff_versions");

	/* The same content, written differently: unchanged, no write. */
	free(doc);
	doc = grid("2026-09", "2026-09-01", "9.0");
	assert_int_equal(load(doc, &out, &err), 0);
	assert_non_null(strstr(out, ": unchanged"));
	free(out);
	free(err);
	char *v2 = testdb_value(db, "SELECT loaded_at::text FROM "
				    "tariff_versions");
	assert_string_equal(v, v2);
	free(v);
	free(v2);

	/* A new content, not locked: replaced. */
	free(doc);
	doc = grid("2026-09", "2026-09-01", "9.50");
	assert_int_equal(load(doc, &out, &err), 0);
	assert_non_null(strstr(out, ": replaced"));
	free(out);
	free(err);
	v = testdb_value(db, "SELECT monthly_fee::text FROM tariff_plans "
			     "WHERE code = 'M'");
	assert_string_equal(v, "9.500000");
	free(v);
	assert_int_equal(count("SELECT count(*) FROM tariff_plans"), 2);
	free(doc);
}

static void test_locked(void **state)
{
	char *doc = grid("2026-10", "2026-10-01", "9.00"), *out, *err;
	PGresult *r;

	(void)state;
	assert_int_equal(load(doc, &out, &err), 0);
	free(out);
	free(err);
	testdb_exec(db, "UPDATE tariff_versions SET locked = true "
			"WHERE version = '2026-10'");
	/* Same content: fine, nothing to write. */
	assert_int_equal(load(doc, &out, &err), 0);
	assert_non_null(strstr(out, ": unchanged"));
	free(out);
	free(err);
	/* A change: refused by the command... */
	free(doc);
	doc = grid("2026-10", "2026-10-01", "12.00");
	assert_int_equal(load(doc, &out, &err), 1);
	assert_non_null(strstr(err, "version: tariff version 2026-10 is used "
				    "by an invoice and cannot change"));
	assert_string_equal(out, "");
	free(out);
	free(err);
	assert_int_equal(count("SELECT count(*) FROM tariff_plans WHERE "
			       "version = '2026-10' AND monthly_fee = 9"), 1);
	/* ...and by the database, whatever the client does. */
	r = PQexec(db, "UPDATE tariff_plans SET monthly_fee = 1 "
		       "WHERE version = '2026-10'");
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	assert_non_null(strstr(PQerrorMessage(db), "used by an invoice"));
	PQclear(r);
	r = PQexec(db, "DELETE FROM tariff_versions WHERE version = '2026-10'");
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	r = PQexec(db, "INSERT INTO tariff_plans VALUES ('2026-10', 'X', 'X', "
		       "9, 1, 1, 1)");
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	r = PQexec(db, "UPDATE tariff_versions SET locked = false "
		       "WHERE version = '2026-10'");
	assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
	PQclear(r);
	free(doc);
}

static void test_same_date_and_timezone(void **state)
{
	char *doc = grid("2026-09b", "2026-09-01", "9.00"), *out, *err;
	int before = count("SELECT count(*) FROM tariff_versions");

	(void)state;
	assert_int_equal(load(doc, &out, &err), 1);
	assert_non_null(strstr(err, "t.json: effective_from: 2026-09-01 is "
				    "already the effective date of version "
				    "2026-09"));
	free(out);
	free(err);
	free(doc);
	doc = grid("2027-01", "2027-01-01", "9.00");
	char *bad = xstrdup(doc);
	char *tz = strstr(bad, "Europe/Paris");
	memcpy(tz, "Europe/Parix", 12);
	assert_int_equal(load(bad, &out, &err), 1);
	assert_non_null(strstr(err, "t.json: timezone: \"Europe/Parix\" is "
				    "not a time zone known to the database"));
	free(out);
	free(err);
	free(bad);
	free(doc);
	assert_int_equal(count("SELECT count(*) FROM tariff_versions"),
			 before);
}

/* Bad input: exit 1, every error named, nothing stored. */
static void test_bad_input(void **state)
{
	static const char bad[] =
		"{\"version\": \"2027-01\", \"effective_from\": \"2027-01-01\","
		" \"currency\": \"EUR\", \"timezone\": \"Europe/Paris\","
		" \"plans\": ["
		"  {\"code\": \"S\", \"name\": \"A\", \"monthly_fee\": \"-4.00\","
		"   \"outbound_per_day\": 1, \"storage_included\": \"1 GiB\"},"
		"  {\"code\": \"S\", \"name\": \"B\","
		"   \"monthly_fee\": \"4.1234567\","
		"   \"outbound_per_day\": 1, \"storage_included\": \"1 GB\"}],"
		" \"outbound\": {\"unit\": \"recipient\", \"count_local\": true,"
		"  \"warn_ratio\": \"3\", \"tolerated_days\": 0,"
		"  \"block_ratio\": \"2\", \"overage_per_1000\": \"0\"},"
		" \"vat\": {\"oss\": false}}";
	int before = count("SELECT count(*) FROM tariff_versions");
	char *out, *err;

	(void)state;
	assert_int_equal(load(bad, &out, &err), 1);
	assert_non_null(strstr(err, "plans[0].monthly_fee: \"-4.00\" is "
				    "negative"));
	assert_non_null(strstr(err, "plans[1].monthly_fee: \"4.1234567\" has "
				    "more than 6 decimals"));
	assert_non_null(strstr(err, "plans[1].code: duplicate plan code"));
	assert_non_null(strstr(err, "plans[1].storage_included: \"1 GB\""));
	assert_non_null(strstr(err, "outbound.warn_ratio: 3.0 is above "
				    "block_ratio 2.0"));
	assert_string_equal(out, "");
	free(out);
	free(err);
	assert_int_equal(load("{\"version\": ", &out, &err), 1);
	assert_non_null(strstr(err, "t.json: line 1"));
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "tariff", "load",
				  "/nonexistent/t.json", NULL), 1);
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "tariff", "load", NULL),
			 2);
	free(out);
	free(err);
	assert_int_equal(count("SELECT count(*) FROM tariff_versions"),
			 before);
}

/* load(show --json) changes nothing; show lists every version. */
static void test_show_round_trip(void **state)
{
	char *out, *err, *path, *ex;

	(void)state;
	ex = xasprintf("%s/examples/tariff.json",
		       getenv("RELEVE_TOP") ? getenv("RELEVE_TOP") : ".");
	assert_int_equal(test_run(NULL, &out, &err, "tariff", "load", ex,
				  NULL), 0);
	/* The example is version 2026-09 too, unlocked: it replaces it. */
	assert_non_null(strstr(out, "tariff version 2026-09 (effective "
				    "2026-09-01, 4 plans): replaced"));
	free(out);
	free(err);
	free(ex);
	assert_int_equal(test_run(NULL, &out, &err, "tariff", "show", "--json",
				  "--version", "2026-09", NULL), 0);
	path = test_write_file("shown.json", out);
	assert_non_null(strstr(out, "\"monthly_fee\": \"19.90\""));
	assert_non_null(strstr(out, "\"storage_included\": \"1 TiB\""));
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "tariff", "load", path,
				  NULL), 0);
	assert_non_null(strstr(out, ": unchanged"));
	free(out);
	free(err);
	/* Without --version: the latest by effective_from. */
	assert_int_equal(test_run(NULL, &out, &err, "tariff", "show", "--json",
				  NULL), 0);
	assert_non_null(strstr(out, "\"version\": \"2026-10\""));
	path = test_write_file("shown.json", out);
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "tariff", "load", path,
				  NULL), 0);
	assert_non_null(strstr(out, ": unchanged"));
	free(out);
	free(err);
	/* The table lists every version with its plans. */
	assert_int_equal(test_run(NULL, &out, &err, "tariff", "show", NULL), 0);
	assert_non_null(strstr(out, "Tariff 2026-09: effective 2026-09-01"));
	assert_non_null(strstr(out, "Tariff 2026-10: effective 2026-10-01, "
				    "EUR, time zone Europe/Paris (locked"));
	assert_non_null(strstr(out, "Essentiel"));
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "tariff", "show",
				  "--version", "1999", NULL), 1);
	assert_non_null(strstr(err, "no tariff version 1999"));
	free(out);
	free(err);
}

static void test_help(void **state)
{
	char *out, *err;

	(void)state;
	assert_int_equal(test_run(NULL, &out, &err, "tariff", "load", "--help",
				  NULL), 0);
	assert_non_null(strstr(out, "Usage: releve tariff load"));
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "tariff", "show", "-h",
				  NULL), 0);
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "tariff", "show", "--nope",
				  NULL), 2);
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_load_unchanged_replace),
		cmocka_unit_test(test_locked),
		cmocka_unit_test(test_same_date_and_timezone),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_show_round_trip),
		cmocka_unit_test(test_help),
	};
	int rc;

	db = testdb_open("tariff_db");
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	PQfinish(db);
	return rc;
}
