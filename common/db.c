/*
 * db — libpq runner; see db.h.  Statements are short-lived: results are
 * checked and cleared here on every error path.  The first line of the
 * statement is quoted in errors so that a failing query can be found.
 */
#include "db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

PGconn *db_connect(const char *conninfo, struct diag *d)
{
	PGconn *c = PQconnectdb(conninfo ? conninfo : "");

	if (!c) {
		diag_add(d, "cannot allocate a database connection");
		return NULL;
	}
	if (PQstatus(c) != CONNECTION_OK) {
		const char *m = PQerrorMessage(c);
		size_t len = strlen(m);

		while (len > 0 && (m[len - 1] == '\n' || m[len - 1] == ' ')) {
			len--;
		}
		diag_add(d, "cannot connect to the database: %.*s", (int)len,
			 m);
		PQfinish(c);
		return NULL;
	}
	/* Everything releve writes or reads in dates is UTC unless a query
	 * names a zone: keep the session independent of the server's. */
	PGresult *r = PQexec(c, "SET TIME ZONE 'UTC'; SET client_min_messages = warning");
	if (PQresultStatus(r) != PGRES_COMMAND_OK) {
		diag_add(d, "cannot configure the session: %s",
			 PQerrorMessage(c));
		PQclear(r);
		PQfinish(c);
		return NULL;
	}
	PQclear(r);
	return c;
}

void db_close(PGconn *c)
{
	if (c) {
		PQfinish(c);
	}
}

static void report(PGconn *c, struct diag *d, const char *sql,
		   const PGresult *r)
{
	const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
	size_t mlen = strlen(m), slen = strcspn(sql, "\n");

	while (mlen > 0 && (m[mlen - 1] == '\n' || m[mlen - 1] == ' ')) {
		mlen--;
	}
	while (*sql == ' ' || *sql == '\t') {
		sql++;
		slen = strcspn(sql, "\n");
	}
	diag_add(d, "database: %.*s (in: %.*s%s)", (int)mlen, m,
		 slen > 60 ? 60 : (int)slen, sql, slen > 60 ? "…" : "");
}

PGresult *db_exec(PGconn *c, struct diag *d, const char *sql, int n,
		  const char *const *params)
{
	PGresult *r = PQexecParams(c, sql, n, NULL, params, NULL, NULL, 0);
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		return r;
	}
	report(c, d, sql, r);
	PQclear(r);
	return NULL;
}

int db_cmd(PGconn *c, struct diag *d, const char *sql, int n,
	   const char *const *params)
{
	PGresult *r = db_exec(c, d, sql, n, params);

	if (!r) {
		return -1;
	}
	PQclear(r);
	return 0;
}

int db_script(PGconn *c, struct diag *d, const char *label, const char *sql)
{
	PGresult *r = PQexec(c, sql);
	ExecStatusType st = PQresultStatus(r);

	if (st == PGRES_TUPLES_OK || st == PGRES_COMMAND_OK) {
		PQclear(r);
		return 0;
	}
	const char *m = r ? PQresultErrorMessage(r) : PQerrorMessage(c);
	size_t mlen = strlen(m);

	while (mlen > 0 && (m[mlen - 1] == '\n' || m[mlen - 1] == ' ')) {
		mlen--;
	}
	diag_add(d, "%s: %.*s", label, (int)mlen, m);
	PQclear(r);
	return -1;
}

int db_begin(PGconn *c, struct diag *d)
{
	return db_cmd(c, d, "BEGIN", 0, NULL);
}

int db_commit(PGconn *c, struct diag *d)
{
	return db_cmd(c, d, "COMMIT", 0, NULL);
}

void db_rollback(PGconn *c)
{
	if (PQtransactionStatus(c) != PQTRANS_IDLE) {
		PQclear(PQexec(c, "ROLLBACK"));
	}
}

const char *db_get(const PGresult *r, int row, const char *col)
{
	int f = PQfnumber(r, col);

	if (f < 0) {
		fprintf(stderr, "releve: bug: no column %s in result\n", col);
		abort();
	}
	if (PQgetisnull(r, row, f)) {
		return NULL;
	}
	return PQgetvalue(r, row, f);
}
