/*
 * session — what every database command does first: connect with libpq's
 * settings (--db CONNINFO, else PG* variables and service files) and make
 * sure the schema is the one this binary was built with.  Errors are
 * printed on stderr prefixed with `who`; NULL means exit 1.
 */
#ifndef RELEVE_SESSION_H
#define RELEVE_SESSION_H

#include <libpq-fe.h>

PGconn *session_open(const char *who, const char *conninfo);
/* Same, without the schema check (db migrate, db status). */
PGconn *session_open_raw(const char *who, const char *conninfo);

/* The --db option text shared by every help message. */
#define SESSION_HELP \
	"  -d, --db CONNINFO  libpq connection string or URI (default: the\n" \
	"                     PG* variables; passwords from ~/.pgpass)\n"

#endif
