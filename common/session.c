/*
 * session — connect and check the schema; see session.h.
 */
#include "session.h"

#include <stdio.h>

#include "db.h"
#include "migrate.h"

PGconn *session_open_raw(const char *who, const char *conninfo)
{
	struct diag d = DIAG_INIT;
	PGconn *c = db_connect(conninfo, &d);

	if (!c) {
		diag_print(&d, stderr, who);
		if (!conninfo) {
			fprintf(stderr, "%s: hint: set PGHOST/PGDATABASE, pass "
					"--db, or for the embedded cluster: eval "
					"\"$(releve local env)\"\n", who);
		}
	}
	diag_free(&d);
	return c;
}

PGconn *session_open(const char *who, const char *conninfo)
{
	struct diag d = DIAG_INIT;
	PGconn *c = session_open_raw(who, conninfo);

	if (c && migrate_check(c, &d) != 0) {
		diag_print(&d, stderr, who);
		db_close(c);
		c = NULL;
	}
	diag_free(&d);
	return c;
}
