/*
 * test_migrate — schema migrations against a real PostgreSQL: a fresh
 * database, a re-run that applies nothing, a tampered file that stops
 * everything, a database ahead of the binary, and the schema check that
 * every other command makes; 013's move of the storage rows.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "common/xalloc.h"
#include "testutil.h"

/* A copy of sql/ in the test folder, to tamper with. */
static char *copy_sql(void)
{
	char *dir = xasprintf("%s/sql", test_tmpdir());
	char *cmd = xasprintf("rm -rf '%s' && cp -r sql '%s'", dir, dir);

	assert_int_equal(system(cmd), 0);
	free(cmd);
	return dir;
}

static int count_applied(PGconn *c)
{
	char *v = testdb_value(c, "SELECT count(*) FROM releve_migrations");
	int n = atoi(v);

	free(v);
	return n;
}

static int count_files(void)
{
	char *v;
	int n;
	FILE *p = popen("ls sql/[0-9][0-9][0-9]_*.sql | wc -l", "r");
	char buf[32] = "";

	assert_non_null(p);
	assert_non_null(fgets(buf, sizeof(buf), p));
	pclose(p);
	v = buf;
	n = atoi(v);
	assert_true(n >= 2);
	return n;
}

static void test_fresh_and_rerun(void **state)
{
	(void)state;
	PGconn *c = testdb_open_empty("migrate_fresh");
	char *out, *err;
	int rc;

	/* Before migrating, commands refuse to run on a database without
	 * the schema. */
	rc = test_run(NULL, &out, &err, "registry", "show", NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "releve db migrate"));
	free(out);
	free(err);

	rc = test_run(NULL, &out, &err, "db", "status", NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "001_registry"));
	assert_non_null(strstr(out, "pending"));
	free(out);
	free(err);

	rc = test_run(NULL, &out, &err, "db", "migrate", NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "applied 001_registry"));
	free(out);
	free(err);
	assert_int_equal(count_applied(c), count_files());

	/* Re-run: nothing applied, nothing changed. */
	rc = test_run(NULL, &out, &err, "db", "migrate", NULL);
	assert_int_equal(rc, 0);
	assert_null(strstr(out, "applied 0"));
	assert_non_null(strstr(out, "up to date"));
	free(out);
	free(err);
	assert_int_equal(count_applied(c), count_files());

	rc = test_run(NULL, &out, &err, "db", "status", NULL);
	assert_int_equal(rc, 0);
	assert_null(strstr(out, "pending"));
	free(out);
	free(err);
	PQfinish(c);
}

static void test_tampered_file(void **state)
{
	(void)state;
	PGconn *c = testdb_open_empty("migrate_tamper");
	char *dir = copy_sql();
	char *path = xasprintf("%s/001_registry.sql", dir);
	char *out, *err;
	FILE *f;
	int rc;

	rc = test_run(NULL, &out, &err, "db", "migrate", "--sql-dir", dir,
		      NULL);
	assert_int_equal(rc, 0);
	free(out);
	free(err);

	/* Change an applied migration: everything stops. */
	f = fopen(path, "a");
	assert_non_null(f);
	fputs("\n-- an edit after the fact\n", f);
	fclose(f);
	rc = test_run(NULL, &out, &err, "db", "migrate", "--sql-dir", dir,
		      NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "001_registry.sql was changed"));
	free(out);
	free(err);
	rc = test_run(NULL, &out, &err, "db", "status", "--sql-dir", dir,
		      NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(out, "CHANGED"));
	free(out);
	free(err);

	/* A new migration beside a changed one is not applied either. */
	test_write_file("sql/099_extra.sql", "CREATE TABLE extra (x int);\n");
	rc = test_run(NULL, &out, &err, "db", "migrate", "--sql-dir", dir,
		      NULL);
	assert_int_equal(rc, 1);
	free(out);
	free(err);
	char *v = testdb_value(c, "SELECT to_regclass('extra') IS NULL");
	assert_string_equal(v, "t");
	free(v);
	free(path);
	free(dir);
	PQfinish(c);
}

static void test_failing_migration_keeps_nothing(void **state)
{
	(void)state;
	PGconn *c = testdb_open_empty("migrate_fail");
	char *dir = copy_sql();
	char *out, *err;
	int before, rc;

	test_write_file("sql/098_broken.sql",
			"CREATE TABLE half (x int);\nSELECT no_such_function();\n");
	rc = test_run(NULL, &out, &err, "db", "migrate", "--sql-dir", dir,
		      NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "098_broken"));
	free(out);
	free(err);
	/* The earlier migrations were applied, the broken one left nothing. */
	before = count_applied(c);
	assert_int_equal(before, count_files());
	char *v = testdb_value(c, "SELECT to_regclass('half') IS NULL");
	assert_string_equal(v, "t");
	free(v);
	free(dir);
	PQfinish(c);
}

static void test_database_ahead(void **state)
{
	(void)state;
	PGconn *c = testdb_open("migrate_ahead");
	char *out, *err;
	int rc;

	testdb_exec(c, "INSERT INTO releve_migrations (version, name, checksum)"
		       " VALUES (999, '999_future', 'x')");
	rc = test_run(NULL, &out, &err, "db", "migrate", NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "999_future"));
	free(out);
	free(err);
	/* Other commands refuse too. */
	rc = test_run(NULL, &out, &err, "registry", "show", NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "999_future"));
	free(out);
	free(err);
	PQfinish(c);
}

static void test_bad_name_in_dir(void **state)
{
	(void)state;
	char *dir = copy_sql();
	char *out, *err;
	int rc;

	test_write_file("sql/7_bad.sql", "SELECT 1;\n");
	rc = test_run(NULL, &out, &err, "db", "status", "--sql-dir", dir,
		      NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "NNN_name.sql"));
	free(out);
	free(err);
	free(dir);
}

static void test_usage(void **state)
{
	(void)state;
	char *out, *err;

	assert_int_equal(test_run(NULL, &out, &err, "db", "--help", NULL), 0);
	assert_non_null(strstr(out, "migrate"));
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "db", "frobnicate", NULL), 2);
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "db", "migrate", "--nope",
				  NULL), 2);
	free(out);
	free(err);
}

/* A database migrated up to version `last` only (from a folder of those
 * files); the caller frees the folder's name. */
static char *migrated_to(int last)
{
	char *dir = xasprintf("%s/sql%03d", test_tmpdir(), last);
	char *cmd = xasprintf("rm -rf '%s' && mkdir '%s' && for f in"
			      " sql/[0-9][0-9][0-9]_*.sql; do b=${f#sql/};"
			      " [ \"${b%%%%_*}\" -gt %d ] || cp \"$f\" '%s';"
			      " done", dir, dir, last, dir);
	char *out, *err;

	assert_int_equal(system(cmd), 0);
	free(cmd);
	assert_int_equal(test_run(NULL, &out, &err, "db", "migrate",
				  "--sql-dir", dir, NULL), 0);
	free(out);
	free(err);
	return dir;
}

/*
 * 013 moves the storage rows of before (samples, daily maxima) into
 * blocks: the same values come out of the views, and the per-mailbox
 * rules give the same days.
 */
static void test_storage_rows_to_blocks(void **state)
{
	(void)state;
	PGconn *c = testdb_open_empty("migrate_blocks");
	char *dir = migrated_to(12);
	char *out, *err, *v;

	testdb_exec(c,
		"INSERT INTO customers (id, name, kind, address_line1, city,"
		" country, billing_email) VALUES ('C-1', 'Alpha', 'individual',"
		" '1 rue A', 'Paris', 'FR', 'a@alpha.fr');"
		"INSERT INTO domains VALUES ('alpha.fr', 'C-1');"
		"INSERT INTO mailboxes (address, login, domain, customer_id)"
		" VALUES ('ann@alpha.fr', 'ann', 'alpha.fr', 'C-1'),"
		" ('bo@alpha.fr', 'bo@alpha.fr', 'alpha.fr', 'C-1');"
		"INSERT INTO storage_snapshots (source, taken_at, format,"
		" samples, errors, unattributed) VALUES"
		" ('mx1', '2026-10-01T06:00:00Z', 'tab', 3, 0, 1),"
		" ('mx1', '2026-10-03T06:00:00Z', 'tab', 1, 0, 0);"
		"SELECT releve_ensure_month_partition('storage_samples',"
		" '2026-10-01T06:00:00Z');"
		"INSERT INTO storage_samples SELECT s.id, s.taken_at, v.m, v.c,"
		" v.b, v.n, v.l FROM storage_snapshots s, (VALUES"
		" ('2026-10-01T06:00:00Z'::timestamptz, 'ann@alpha.fr', 'C-1',"
		"  1000, 10, NULL::bigint),"
		" ('2026-10-01T06:00:00Z', 'bo@alpha.fr', 'C-1', 2000, NULL,"
		"  1048576),"
		" ('2026-10-01T06:00:00Z', 'zed@nowhere.example', NULL, 99, 1,"
		"  NULL),"
		" ('2026-10-03T06:00:00Z', 'bo@alpha.fr', 'C-1', 2500, 3, NULL))"
		" v(t, m, c, b, n, l) WHERE v.t = s.taken_at;"
		"INSERT INTO storage_mailbox_daily (mailbox, day, customer_id,"
		" max_bytes) VALUES ('ann@alpha.fr', '2026-10-01', 'C-1', 1000),"
		" ('bo@alpha.fr', '2026-10-01', 'C-1', 2000),"
		" ('zed@nowhere.example', '2026-10-01', NULL, 99),"
		" ('bo@alpha.fr', '2026-10-03', 'C-1', 2500)");
	const char *samples_q =
		"SELECT string_agg(concat_ws('/', sampled_at, mailbox,"
		" customer_id, bytes, messages, limit_bytes), ' '"
		" ORDER BY sampled_at, mailbox) FROM storage_samples";
	const char *days_q =
		"SELECT string_agg(concat_ws('/', mailbox, day, bytes, state),"
		" ' ' ORDER BY mailbox, day) FROM storage_mailbox_days("
		"'2026-10-01', '2026-10-05', 1)";
	char *samples = testdb_value(c, samples_q);
	char *days = testdb_value(c, days_q);

	assert_int_equal(test_run(NULL, &out, &err, "db", "migrate", NULL), 0);
	assert_non_null(strstr(out, "applied 013_storage_blocks"));
	free(out);
	free(err);
	v = testdb_value(c, samples_q);
	assert_string_equal(v, samples);
	free(v);
	v = testdb_value(c, days_q);
	assert_string_equal(v, days);
	/* ann's day 2 carried, day 3 a gap (window 1), bo sampled on 3 */
	assert_non_null(strstr(v, "ann@alpha.fr/2026-10-02/1000/carried"));
	assert_non_null(strstr(v, "ann@alpha.fr/2026-10-03/0/gap"));
	assert_non_null(strstr(v, "bo@alpha.fr/2026-10-03/2500/sampled"));
	free(v);
	v = testdb_value(c, "SELECT string_agg(mailbox || '=' || max_bytes, ' '"
			    " ORDER BY day, mailbox) FROM storage_mailbox_daily");
	assert_string_equal(v, "ann@alpha.fr=1000 bo@alpha.fr=2000"
			       " zed@nowhere.example=99 bo@alpha.fr=2500");
	free(v);
	v = testdb_value(c, "SELECT count(*) FROM storage_names");
	assert_string_equal(v, "3");
	free(v);
	free(samples);
	free(days);
	free(dir);
	PQfinish(c);
}

/*
 * 015 moves the customers' days into blocks of customer numbers: the view
 * gives the same rows, one customer's days come by subscript, and the
 * view takes INSERTs (replacing a customer's day; gaps checked).
 */
static void test_customer_days_to_blocks(void **state)
{
	(void)state;
	PGconn *c = testdb_open_empty("migrate_cust_blocks");
	char *dir = migrated_to(14);
	char *out, *err, *v, *rows;
	const char *rows_q =
		"SELECT string_agg(concat_ws('/', customer_id, day,"
		" storage_bytes, mailboxes, sampled, carried, gaps,"
		" carry_days), ' ' ORDER BY customer_id, day)"
		" FROM storage_customer_daily";

	testdb_exec(c,
		"INSERT INTO storage_customer_daily (customer_id, day,"
		" storage_bytes, mailboxes, sampled, carried, gaps, carry_days)"
		" VALUES ('C-2', '2026-10-01', 5000, 2, 1, 1, 0, 7),"
		" ('C-1', '2026-10-01', 0, 1, 0, 0, 1, 7),"
		" ('C-1', '2026-10-02', 1000, 1, 1, 0, 0, 7),"
		" ('C-3', '2026-10-02', 3000000000000, 3, 3, 0, 0, 7)");
	rows = testdb_value(c, rows_q);
	assert_string_equal(rows, "C-1/2026-10-01/0/1/0/0/1/7"
				  " C-1/2026-10-02/1000/1/1/0/0/7"
				  " C-2/2026-10-01/5000/2/1/1/0/7"
				  " C-3/2026-10-02/3000000000000/3/3/0/0/7");
	assert_int_equal(test_run(NULL, &out, &err, "db", "migrate", NULL), 0);
	assert_non_null(strstr(out, "applied 015_storage_customer_blocks"));
	free(out);
	free(err);
	v = testdb_value(c, rows_q);
	assert_string_equal(v, rows);
	free(v);
	/* numbered in id order, one block for the three */
	v = testdb_value(c, "SELECT string_agg(customer_id || '=' || id, ' '"
			    " ORDER BY id) FROM storage_customer_numbers");
	assert_string_equal(v, "C-1=0 C-2=1 C-3=2");
	free(v);
	v = testdb_value(c, "SELECT count(*) FROM storage_customer_blocks");
	assert_string_equal(v, "2");
	free(v);
	v = testdb_value(c, "SELECT string_agg(concat_ws('/', day,"
			    " storage_bytes, gaps), ' ' ORDER BY day) FROM"
			    " storage_customer_days('C-1', '2026-09-30',"
			    " '2026-10-02')");
	assert_string_equal(v, "2026-10-01/0/1"); /* [from, to) */
	free(v);
	/* an INSERT replaces that customer's day only; a new customer gets
	 * the next number */
	testdb_exec(c,
		"INSERT INTO storage_customer_daily (customer_id, day,"
		" storage_bytes, mailboxes, sampled, carried, gaps, carry_days)"
		" VALUES ('C-1', '2026-10-01', 700, 1, 1, 0, 0, 7),"
		" ('C-0', '2026-10-02', 1, 1, 1, 0, 0, 7)");
	v = testdb_value(c, rows_q);
	assert_string_equal(v, "C-0/2026-10-02/1/1/1/0/0/7"
			       " C-1/2026-10-01/700/1/1/0/0/7"
			       " C-1/2026-10-02/1000/1/1/0/0/7"
			       " C-2/2026-10-01/5000/2/1/1/0/7"
			       " C-3/2026-10-02/3000000000000/3/3/0/0/7");
	free(v);
	v = testdb_value(c, "SELECT id FROM storage_customer_numbers"
			    " WHERE customer_id = 'C-0'");
	assert_string_equal(v, "3");
	free(v);
	{
		PGresult *r = PQexec(c, "INSERT INTO storage_customer_daily"
					" VALUES ('C-9', '2026-10-01', 1, 2, 1,"
					" 0, 0, 7)");

		assert_int_equal(PQresultStatus(r), PGRES_FATAL_ERROR);
		assert_non_null(strstr(PQresultErrorMessage(r),
				       "gaps must be mailboxes - sampled -"
				       " carried"));
		PQclear(r);
	}
	free(rows);
	free(dir);
	PQfinish(c);
}

/*
 * 016 makes the customers' blocks 64 wide and plain: the same rows
 * through the view and by subscript, three blocks a day for 130
 * customers, the arrays neither compressed nor out of line.
 */
static void test_customer_blocks_to_64(void **state)
{
	(void)state;
	PGconn *c = testdb_open_empty("migrate_cust_64");
	char *dir = migrated_to(15);
	char *out, *err, *v, *rows;
	const char *rows_q =
		"SELECT md5(string_agg(concat_ws('/', customer_id, day,"
		" storage_bytes, mailboxes, sampled, carried, gaps,"
		" carry_days), ' ' ORDER BY customer_id, day))"
		" || ' ' || count(*) FROM storage_customer_daily";

	testdb_exec(c,
		"INSERT INTO storage_customer_daily (customer_id, day,"
		" storage_bytes, mailboxes, sampled, carried, gaps, carry_days)"
		" SELECT 'K-' || lpad(i::text, 3, '0'), d::date, i * 1000 + 7,"
		" 1 + i % 3, 1, i % 3, 0, 7"
		" FROM generate_series(0, 129) i,"
		" generate_series('2026-10-30'::date, '2026-11-01', '1 day') d"
		" WHERE i % 7 <> 5 OR d <> '2026-10-31'");
	v = testdb_value(c, "SELECT count(*) FROM storage_customer_blocks");
	assert_string_equal(v, "3"); /* 1,024 wide: one a day */
	free(v);
	rows = testdb_value(c, rows_q);
	assert_int_equal(test_run(NULL, &out, &err, "db", "migrate", NULL), 0);
	assert_non_null(strstr(out, "applied 016_storage_customer_blocks_64"));
	free(out);
	free(err);
	v = testdb_value(c, rows_q);
	assert_string_equal(v, rows);
	free(v);
	v = testdb_value(c, "SELECT string_agg(day || ':' || block || ':'"
			    " || array_lower(mailboxes, 1) || '-'"
			    " || array_upper(mailboxes, 1), ' '"
			    " ORDER BY day, block) FROM storage_customer_blocks"
			    " WHERE day = '2026-10-31'");
	assert_string_equal(v, "2026-10-31:0:0-63 2026-10-31:1:64-127"
			       " 2026-10-31:2:128-129");
	free(v);
	v = testdb_value(c, "SELECT string_agg(concat_ws('/', day,"
			    " storage_bytes, mailboxes, carried), ' '"
			    " ORDER BY day) FROM storage_customer_days("
			    "'K-124', '2026-10-01', '2026-11-02')");
	assert_string_equal(v, "2026-10-30/124007/2/1 2026-11-01/124007/2/1");
	free(v);
	v = testdb_value(c, "SELECT string_agg(DISTINCT attstorage::text, '')"
			    " FROM pg_attribute WHERE attrelid ="
			    " 'storage_customer_blocks'::regclass"
			    " AND atttypid = 'bigint[]'::regtype");
	assert_string_equal(v, "p");
	free(v);
	v = testdb_value(c, "SELECT count(*) FROM storage_customer_blocks b"
			    " WHERE pg_column_compression(b.storage_bytes)"
			    " IS NOT NULL");
	assert_string_equal(v, "0");
	free(v);
	/* a new customer's day lands in its block of 64 */
	testdb_exec(c,
		"INSERT INTO storage_customer_daily (customer_id, day,"
		" storage_bytes, mailboxes, sampled, carried, gaps, carry_days)"
		" VALUES ('K-999', '2026-10-31', 5, 1, 1, 0, 0, 7)");
	v = testdb_value(c, "SELECT b.block || ':' || b.storage_bytes[n.id]"
			    " FROM storage_customer_numbers n"
			    " JOIN storage_customer_blocks b"
			    " ON b.block = n.id >> 6 AND b.day = '2026-10-31'"
			    " WHERE n.customer_id = 'K-999'");
	assert_string_equal(v, "2:5");
	free(v);
	free(rows);
	free(dir);
	PQfinish(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_and_rerun),
		cmocka_unit_test(test_tampered_file),
		cmocka_unit_test(test_failing_migration_keeps_nothing),
		cmocka_unit_test(test_database_ahead),
		cmocka_unit_test(test_bad_name_in_dir),
		cmocka_unit_test(test_usage),
		cmocka_unit_test(test_storage_rows_to_blocks),
		cmocka_unit_test(test_customer_days_to_blocks),
		cmocka_unit_test(test_customer_blocks_to_64),
	};

	return cmocka_run_group_tests_name("migrate", tests, NULL, NULL);
}
