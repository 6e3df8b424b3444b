/*
 * test_local — `releve local start|stop|status|env|destroy` on a project
 * folder of its own: created on demand, reused when running, stopped
 * cleanly, started again, and reachable through the exported variables.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/xalloc.h"
#include "testutil.h"

static char *dir;

static int setup(void **state)
{
	(void)state;
	dir = xasprintf("%s/project", test_tmpdir());
	mkdir(dir, 0755);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	test_run(NULL, NULL, NULL, "local", "destroy", "--dir", dir, NULL);
	free(dir);
	return 0;
}

static int run(const char *sub, char **out, char **err)
{
	return test_run(NULL, out, err, "local", sub, "--dir", dir, NULL);
}

/* The value of VAR in `export VAR=value` lines (quotes removed). */
static char *env_value(const char *env, const char *var)
{
	char *key = xasprintf("export %s=", var);
	const char *p = strstr(env, key);
	char *v;
	size_t n;

	assert_non_null(p);
	p += strlen(key);
	free(key);
	if (*p == '\'') {
		p++;
	}
	n = strcspn(p, "'\n");
	v = xstrndup(p, n);
	return v;
}

static void test_lifecycle(void **state)
{
	(void)state;
	char *out, *err, *host, *link;
	struct stat sb;

	/* Not created yet: stopped. */
	assert_int_equal(run("status", &out, &err), 1);
	assert_non_null(strstr(out, "stopped"));
	free(out);
	free(err);

	assert_int_equal(run("start", &out, &err), 0);
	assert_non_null(strstr(err, "started"));
	free(out);
	free(err);
	assert_int_equal(run("status", &out, &err), 0);
	assert_non_null(strstr(out, "running"));
	free(out);
	free(err);

	/* Started again: reused. */
	assert_int_equal(run("start", &out, &err), 0);
	assert_non_null(strstr(err, "already running"));
	free(out);
	free(err);

	/* var/pg is a link to the state folder holding the socket. */
	link = xasprintf("%s/var/pg", dir);
	assert_int_equal(lstat(link, &sb), 0);
	assert_true(S_ISLNK(sb.st_mode));

	/* The exported variables reach the database. */
	assert_int_equal(run("env", &out, &err), 0);
	host = env_value(out, "PGHOST");
	assert_non_null(strstr(out, "export PGDATABASE=releve"));
	assert_non_null(strstr(out, "export PGUSER=releve"));
	char *ci = xasprintf("host=%s port=5432 user=releve dbname=releve", host);
	PGconn *c = PQconnectdb(ci);
	assert_int_equal(PQstatus(c), CONNECTION_OK);
	PQfinish(c);
	free(ci);
	free(out);
	free(err);

	/* No TCP listener: the server was told listen_addresses = ''. */
	char *conf = xasprintf("%s/data/postgresql.conf", link);
	char *text = test_read_file(conf);
	assert_non_null(text);
	assert_non_null(strstr(text, "listen_addresses = ''"));
	free(text);
	free(conf);

	assert_int_equal(run("stop", &out, &err), 0);
	assert_non_null(strstr(err, "stopped"));
	free(out);
	free(err);
	assert_int_equal(run("status", &out, &err), 1);
	free(out);
	free(err);
	assert_int_equal(run("stop", &out, &err), 0);
	assert_non_null(strstr(err, "was not running"));
	free(out);
	free(err);

	/* Started again after a stop, data kept. */
	assert_int_equal(run("start", &out, &err), 0);
	assert_non_null(strstr(err, "started"));
	free(out);
	free(err);

	assert_int_equal(run("destroy", &out, &err), 0);
	free(out);
	free(err);
	assert_int_equal(lstat(link, &sb), -1);
	assert_int_equal(run("status", &out, &err), 1);
	free(out);
	free(err);
	free(link);
	free(host);
}

static void test_usage(void **state)
{
	(void)state;
	char *out, *err;

	assert_int_equal(test_run(NULL, &out, &err, "local", NULL), 2);
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "local", "start", "extra",
				  NULL), 2);
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "local", "env", "--help",
				  NULL), 0);
	assert_non_null(strstr(out, "PGHOST"));
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_lifecycle),
		cmocka_unit_test(test_usage),
	};

	return cmocka_run_group_tests_name("local", tests, setup, teardown);
}
