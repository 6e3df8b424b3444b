/*
 * db — the one place that talks to libpq.
 *
 * Every statement goes through db_exec() with $n parameters: SQL is never
 * built from data.  On failure the runner adds "SQL text: server message"
 * to the caller's diag, clears the result and returns NULL (or -1), so no
 * caller leaks a PGresult on an error path.  Connections take the usual
 * libpq settings: a conninfo string or URI (--db), else PG* variables and
 * service files.  Passwords come from ~/.pgpass or PGPASSFILE, never argv.
 */
#ifndef RELEVE_DB_H
#define RELEVE_DB_H

#include <libpq-fe.h>

#include "diag.h"

/* conninfo NULL or "" means libpq's defaults.  Returns NULL on failure. */
PGconn *db_connect(const char *conninfo, struct diag *d);
void db_close(PGconn *c);

/*
 * Run sql with n text parameters (NULL entries are SQL NULLs).  Returns the
 * result when its status is TUPLES_OK or COMMAND_OK (caller PQclear()s it),
 * else NULL with a message in d.
 */
PGresult *db_exec(PGconn *c, struct diag *d, const char *sql, int n,
		  const char *const *params);
/* Same, discarding the result: 0 on success, -1 on failure. */
int db_cmd(PGconn *c, struct diag *d, const char *sql, int n,
	   const char *const *params);
/* Run a script of several statements with no parameters (migrations). */
int db_script(PGconn *c, struct diag *d, const char *label, const char *sql);

int db_begin(PGconn *c, struct diag *d);
int db_commit(PGconn *c, struct diag *d);
/* Rolls back if a transaction is open; never fails loudly. */
void db_rollback(PGconn *c);

/* Value of row r, column name; NULL when SQL NULL.  Aborts on a bad name. */
const char *db_get(const PGresult *r, int row, const char *col);

#endif
