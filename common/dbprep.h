/*
 * dbprep — named prepared statements, prepared on a connection the first
 * time they are run on it (PQprepare, then PQexecPrepared every time):
 * the server parses and plans a hot statement once per connection, not
 * on every call.  The statements a connection has are remembered with
 * it (libpq instance data) and forgotten when it is reset or closed.
 *
 * A connection must be used by one thread at a time (as libpq requires
 * anyway).  Errors are reported as db_exec reports them.
 */
#ifndef RELEVE_DBPREP_H
#define RELEVE_DBPREP_H

#include <libpq-fe.h>

#include "diag.h"

/*
 * Run sql as the prepared statement name (a string that lives as long as
 * the program: a literal) with n text parameters.  The same name must
 * always come with the same sql.  Returns the result when its status is
 * TUPLES_OK or COMMAND_OK (caller PQclear()s it), else NULL with a
 * message in d.
 */
PGresult *db_prepared(PGconn *c, struct diag *d, const char *name,
		      const char *sql, int n, const char *const *params);

#endif
