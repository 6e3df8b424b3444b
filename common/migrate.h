/*
 * migrate — schema migrations sql/NNN_name.sql.
 *
 * The migrations are compiled into the binary (scripts/embed-sql), so a
 * collector on a mail host needs nothing beside it; --sql-dir reads them
 * from a folder instead.  Each is applied once, in order, in its own
 * transaction, and recorded in releve_migrations with the SHA-256 of its
 * text.  A migration whose text changed after it was applied stops
 * everything: the database no longer matches the files.
 */
#ifndef RELEVE_MIGRATE_H
#define RELEVE_MIGRATE_H

#include <libpq-fe.h>
#include <stddef.h>
#include <stdio.h>

#include "diag.h"

struct migration {
	int version;
	const char *name; /* "001_schema" */
	const char *sql;
};

/* The migrations built into this binary, in order. */
extern const struct migration releve_migrations[];
extern const size_t releve_nmigrations;

struct migration_set {
	struct migration *m;
	size_t n;
	int owned; /* read from a folder: strings are ours to free */
};

/* The embedded set, or the one in dir when dir is not NULL. */
int migrate_load(struct migration_set *set, const char *dir, struct diag *d);
void migrate_set_free(struct migration_set *set);

/* Apply the pending migrations; one line per migration applied to out
 * (may be NULL).  Fails, applying nothing, when an applied one changed. */
int migrate_apply(PGconn *c, const struct migration_set *set, FILE *out,
		  struct diag *d);

/* Print one line per migration: applied (date) / pending / changed. */
int migrate_status(PGconn *c, const struct migration_set *set, FILE *out,
		   struct diag *d);

/* 0 when the database has exactly the embedded migrations, else -1 and
 * a message telling to run `releve db migrate`. */
int migrate_check(PGconn *c, struct diag *d);

#endif
