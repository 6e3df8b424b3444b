/*
 * testutil — helpers shared by the cmocka tests: temporary files, running
 * the releve binary under test, and a fresh database per test file.
 *
 * DB tests run only through `make check` (tests/run.sh), which starts a
 * throwaway PostgreSQL cluster and exports RELEVE_TEST_TEMPLATE (a migrated
 * database) and RELEVE_BIN (the binary of the build under test).
 */
#ifndef RELEVE_TESTUTIL_H
#define RELEVE_TESTUTIL_H

#include <libpq-fe.h>
#include <stddef.h>

/* A new folder for this test program's files (removed at exit). */
const char *test_tmpdir(void);
/* Write content to tmpdir/name; returns the path (static storage, valid
 * until the next call with the same name is fine: caller copies if needed). */
char *test_write_file(const char *name, const char *content);
/* Read a whole file into a NUL-terminated buffer (caller frees). */
char *test_read_file(const char *path);

/*
 * Run `releve ARGS...` (NULL-terminated) with stdin from stdin_text (NULL:
 * /dev/null).  *out and *err receive what it printed (caller frees; may
 * pass NULL).  Returns its exit status, or -1 when it died of a signal.
 */
int test_run(const char *stdin_text, char **out, char **err, ...);
int test_runv(const char *stdin_text, char **out, char **err,
	      const char *const *args);
/*
 * Run `releve ARGS...` (NULL-terminated): its exit status must be expect,
 * else what it printed goes to stderr and the test fails.  Returns its
 * stdout (caller frees).
 */
char *test_run_expect(int expect, ...);
/* A shell command's stdout (caller frees); *status its wait status. */
char *test_sh(const char *cmd, int *status);

/*
 * A fresh database cloned from the migrated template, named after name
 * and the build; PGDATABASE is set to it so that test_run() commands use
 * it.  Aborts the test program when the harness is not there.
 */
PGconn *testdb_open(const char *name);
/* Same, but an empty database (no schema), for migration tests. */
PGconn *testdb_open_empty(const char *name);
/* Run SQL and return the first column of the first row (caller frees),
 * or NULL for no row / NULL; fails the test on an SQL error. */
char *testdb_value(PGconn *c, const char *sql);
/* Run SQL; fails the test on error. */
void testdb_exec(PGconn *c, const char *sql);
/* The same with $1..$n text parameters (never SQL built from values). */
char *testdb_value_p(PGconn *c, const char *sql, int n,
		     const char *const *params);
void testdb_exec_p(PGconn *c, const char *sql, int n,
		   const char *const *params);

/*
 * Load the examples through the binary under test: the seller
 * (examples/seller.json, when with_seller), the tariff grid and the
 * registry.  Fails the test when one is refused.
 */
void testdb_load_examples(int with_seller);
/*
 * October 2026 usage of two example customers, worked out by hand in
 * tests/test_rate_db.c: C-1001 (plan M) 60 GiB every day and 5 days of
 * 480 billable recipients; C-1002 (plan S) 5 days over its quota, 2 of
 * them billed (0.50).
 */
void testdb_example_october(PGconn *c);

#endif
