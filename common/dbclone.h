/*
 * dbclone — a second connection to the server and database of an open
 * one, with the same settings, for work that runs beside it (two scans
 * of a batch read at once, one per server process).  The caller owns the
 * result (db_close).
 */
#ifndef RELEVE_DBCLONE_H
#define RELEVE_DBCLONE_H

#include <libpq-fe.h>

#include "diag.h"

/* A new connection like c (host, port, database, user, password and the
 * other options c was opened with), set up as db_connect sets one up;
 * NULL with a message in d. */
PGconn *db_connect_like(PGconn *c, struct diag *d);

#endif
