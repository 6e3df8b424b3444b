/*
 * test_migrate — schema migrations against a real PostgreSQL: a fresh
 * database, a re-run that applies nothing, a tampered file that stops
 * everything, a database ahead of the binary, and the schema check that
 * every other command makes.
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

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_fresh_and_rerun),
		cmocka_unit_test(test_tampered_file),
		cmocka_unit_test(test_failing_migration_keeps_nothing),
		cmocka_unit_test(test_database_ahead),
		cmocka_unit_test(test_bad_name_in_dir),
		cmocka_unit_test(test_usage),
	};

	return cmocka_run_group_tests_name("migrate", tests, NULL, NULL);
}
