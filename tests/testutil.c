/*
 * testutil — see testutil.h.
 */
#include "testutil.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/xalloc.h"

static char tmpdir[256];

static int rm_entry(const char *path, const struct stat *sb, int flag,
		    struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static void rm_tmpdir(void)
{
	if (tmpdir[0] && !getenv("RELEVE_TEST_KEEP")) {
		nftw(tmpdir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	}
}

const char *test_tmpdir(void)
{
	if (!tmpdir[0]) {
		snprintf(tmpdir, sizeof(tmpdir), "/tmp/releve-test.XXXXXX");
		if (!mkdtemp(tmpdir)) {
			perror("mkdtemp");
			abort();
		}
		atexit(rm_tmpdir);
	}
	return tmpdir;
}

char *test_write_file(const char *name, const char *content)
{
	static char path[512];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", test_tmpdir(), name);
	f = fopen(path, "w");
	if (!f) {
		perror(path);
		abort();
	}
	fputs(content, f);
	fclose(f);
	return path;
}

char *test_read_file(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *buf = NULL;
	size_t len = 0, cap = 0, n;

	if (!f) {
		return NULL;
	}
	do {
		if (cap - len < 4096) {
			cap = cap ? 2 * cap : 8192;
			buf = xreallocarray(buf, cap, 1);
		}
		n = fread(buf + len, 1, cap - len - 1, f);
		len += n;
	} while (n > 0);
	fclose(f);
	buf[len] = '\0';
	return buf;
}

int test_runv(const char *stdin_text, char **out, char **err,
	      const char *const *args)
{
	const char *bin = getenv("RELEVE_BIN");
	char opath[512], epath[512], ipath[512];
	size_t n = 0;
	pid_t pid;
	int st;

	if (!bin) {
		bin = "./releve";
	}
	snprintf(opath, sizeof(opath), "%s/run.out", test_tmpdir());
	snprintf(epath, sizeof(epath), "%s/run.err", test_tmpdir());
	snprintf(ipath, sizeof(ipath), "%s/run.in", test_tmpdir());
	if (stdin_text) {
		FILE *f = fopen(ipath, "w");

		assert_non_null(f);
		fputs(stdin_text, f);
		fclose(f);
	}
	while (args[n]) {
		n++;
	}
	const char **argv = xcalloc(n + 2, sizeof(*argv));

	argv[0] = bin;
	for (size_t i = 0; i < n; i++) {
		argv[i + 1] = args[i];
	}
	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int in = open(stdin_text ? ipath : "/dev/null", O_RDONLY);
		int o = open(opath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
		int e = open(epath, O_WRONLY | O_CREAT | O_TRUNC, 0600);

		if (in < 0 || o < 0 || e < 0) {
			_exit(126);
		}
		dup2(in, 0);
		dup2(o, 1);
		dup2(e, 2);
		execv(bin, (char *const *)argv);
		_exit(127);
	}
	free(argv);
	while (waitpid(pid, &st, 0) < 0) {
		assert_int_equal(errno, EINTR);
	}
	if (out) {
		*out = test_read_file(opath);
	}
	if (err) {
		*err = test_read_file(epath);
	}
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

int test_run(const char *stdin_text, char **out, char **err, ...)
{
	const char *args[64];
	size_t n = 0;
	va_list ap;

	va_start(ap, err);
	while (n < 63 && (args[n] = va_arg(ap, const char *)) != NULL) {
		n++;
	}
	va_end(ap);
	args[n] = NULL;
	return test_runv(stdin_text, out, err, args);
}

char *test_run_expect(int expect, ...)
{
	const char *args[64];
	size_t n = 0;
	char *out, *err;
	va_list ap;
	int rc;

	va_start(ap, expect);
	while (n < 63 && (args[n] = va_arg(ap, const char *)) != NULL) {
		n++;
	}
	va_end(ap);
	args[n] = NULL;
	rc = test_runv(NULL, &out, &err, args);
	if (rc != expect) {
		fprintf(stderr, "exit %d\nstdout: %s\nstderr: %s\n", rc, out,
			err);
	}
	assert_int_equal(rc, expect);
	free(err);
	return out;
}

char *test_sh(const char *cmd, int *status)
{
	FILE *f = popen(cmd, "r");
	char *out = NULL;
	size_t len = 0, n;
	char buf[4096];
	FILE *m = open_memstream(&out, &len);

	assert_non_null(f);
	assert_non_null(m);
	while ((n = fread(buf, 1, sizeof(buf), f)) > 0) {
		fwrite(buf, 1, n, m);
	}
	fclose(m);
	*status = pclose(f);
	return out;
}

static PGconn *open_db(const char *name, int empty)
{
	const char *tmpl = getenv("RELEVE_TEST_TEMPLATE");
	const char *suffix = getenv("RELEVE_TEST_SUFFIX");
	char db[128], sql[512];
	PGconn *admin, *c;
	PGresult *r;

	if (!tmpl) {
		fprintf(stderr, "DB tests run through `make check` "
				"(RELEVE_TEST_TEMPLATE is not set)\n");
		exit(1);
	}
	snprintf(db, sizeof(db), "t_%s_%s", name, suffix ? suffix : "x");
	for (char *p = db; *p; p++) {
		if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9'))) {
			*p = '_';
		}
	}
	admin = PQconnectdb("dbname=postgres");
	if (PQstatus(admin) != CONNECTION_OK) {
		fprintf(stderr, "testdb: %s", PQerrorMessage(admin));
		exit(1);
	}
	PQclear(PQexec(admin, "SET client_min_messages = warning"));
	/* Identifiers cannot be parameters; db is [a-z0-9_] by now. */
	snprintf(sql, sizeof(sql), "DROP DATABASE IF EXISTS %s WITH (FORCE)", db);
	PQclear(PQexec(admin, sql));
	snprintf(sql, sizeof(sql), "CREATE DATABASE %s TEMPLATE %s", db,
		 empty ? "template0" : tmpl);
	r = PQexec(admin, sql);
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		fprintf(stderr, "testdb: %s", PQerrorMessage(admin));
		exit(1);
	}
	PQclear(r);
	PQfinish(admin);
	setenv("PGDATABASE", db, 1);
	c = PQconnectdb("");
	if (PQstatus(c) != CONNECTION_OK) {
		fprintf(stderr, "testdb: %s", PQerrorMessage(c));
		exit(1);
	}
	PQclear(PQexec(c, "SET client_min_messages = warning"));
	return c;
}

PGconn *testdb_open(const char *name)
{
	return open_db(name, 0);
}

PGconn *testdb_open_empty(const char *name)
{
	return open_db(name, 1);
}

char *testdb_value(PGconn *c, const char *sql)
{
	return testdb_value_p(c, sql, 0, NULL);
}

void testdb_exec(PGconn *c, const char *sql)
{
	testdb_exec_p(c, sql, 0, NULL);
}

char *testdb_value_p(PGconn *c, const char *sql, int n,
		     const char *const *params)
{
	PGresult *r = n ? PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0)
			: PQexec(c, sql);
	char *v = NULL;

	if (PQresultStatus(r) != PGRES_TUPLES_OK) {
		fprintf(stderr, "testdb: %s: %s", sql, PQerrorMessage(c));
		PQclear(r);
		fail();
		return NULL;
	}
	if (PQntuples(r) > 0 && !PQgetisnull(r, 0, 0)) {
		v = xstrdup(PQgetvalue(r, 0, 0));
	}
	PQclear(r);
	return v;
}

void testdb_exec_p(PGconn *c, const char *sql, int n,
		   const char *const *params)
{
	PGresult *r = n ? PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0)
			: PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	if (st != PGRES_COMMAND_OK && st != PGRES_TUPLES_OK) {
		fprintf(stderr, "testdb: %s: %s", sql, PQerrorMessage(c));
		PQclear(r);
		fail();
		return;
	}
	PQclear(r);
}

void testdb_load_examples(int with_seller)
{
	static const char *const what[][3] = {
		{"seller", "set", "examples/seller.json"},
		{"tariff", "load", "examples/tariff.json"},
		{"registry", "import", "examples/registry.json"},
	};

	for (size_t i = with_seller ? 0 : 1; i < 3; i++) {
		char *err = NULL;
		int rc = test_run(NULL, NULL, &err, what[i][0], what[i][1],
				  what[i][2], NULL);

		if (rc != 0) {
			fprintf(stderr, "releve %s %s %s: exit %d\n%s",
				what[i][0], what[i][1], what[i][2], rc,
				err ? err : "");
		}
		free(err);
		assert_int_equal(rc, 0);
	}
}

void testdb_example_october(PGconn *c)
{
	/* C-1001 (FR business, plan M all October): 60 GiB every day, and
	 * 520 recipients of which 40 local on 5 days (480 billable: under
	 * the quota of 500). */
	testdb_exec(c,
		"INSERT INTO storage_customer_daily (customer_id, day,"
		" storage_bytes, mailboxes, sampled, carried, gaps, carry_days)"
		" SELECT 'C-1001', d, 60 * 1073741824::bigint, 4, 4, 0, 0, 7"
		" FROM generate_series('2026-10-01'::date, '2026-10-31', '1 day') d;"
		"INSERT INTO usage_daily (customer_id, mailbox, day, out_messages,"
		" out_recipients, out_recipients_local)"
		" SELECT 'C-1001', 'contact@menuiserie-lambert.fr', d, 100, 520, 40"
		" FROM generate_series('2026-10-01'::date, '2026-10-05', '1 day') d;"
	/* C-1002 (FR association, plan S): 5 days over the quota of 100:
	 * 150, 120, 300, 101, 1100 remote recipients on the 1st..5th.  The
	 * first 3 over-quota days are tolerated; the 4th and 5th are billed:
	 * excess 1 + 1000 = 1001 recipients x 0.50 / 1000 = 0.5005 -> 0.50. */
		"INSERT INTO usage_daily (customer_id, mailbox, day, out_messages,"
		" out_recipients, out_recipients_local) VALUES"
		" ('C-1002', 'bureau@jardins-faubourg.org', '2026-10-01', 10, 150, 0),"
		" ('C-1002', 'bureau@jardins-faubourg.org', '2026-10-02', 10, 120, 0),"
		" ('C-1002', 'bureau@jardins-faubourg.org', '2026-10-03', 10, 300, 0),"
		" ('C-1002', 'bureau@jardins-faubourg.org', '2026-10-04', 10, 101, 0),"
		" ('C-1002', 'bureau@jardins-faubourg.org', '2026-10-05', 10, 1100, 0)");
}
