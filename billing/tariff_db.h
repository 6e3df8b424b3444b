/*
 * tariff_db — tariff versions in PostgreSQL (tables tariff_versions and
 * tariff_plans of sql/002_tariff_seller.sql).
 *
 * A version is stored whole in one transaction: its canonical document
 * (tariff_to_json) and one row per plan.  Storing the same version again
 * with the same content writes nothing; with a different content it
 * replaces the version unless an invoice has locked it, in which case it
 * is refused (and the database's trigger would refuse it too).  Errors go
 * to the caller's diag; nothing is printed.
 */
#ifndef RELEVE_TARIFF_DB_H
#define RELEVE_TARIFF_DB_H

#include <libpq-fe.h>

#include "common/diag.h"
#include "tariff.h"

enum tariff_store {
	TARIFF_INSERTED,  /* a new version */
	TARIFF_REPLACED,  /* an unlocked version with a different content */
	TARIFF_UNCHANGED, /* the same version with the same content */
};

/* Store t; 0 with *how set, or -1 (nothing written) with messages in d,
 * each prefixed with name (the file name). */
int tariff_db_store(PGconn *c, const struct tariff *t, const char *name,
		    enum tariff_store *how, struct diag *d);

/*
 * Load one version into *t (free with tariff_free): version NULL means
 * the latest by effective_from.  *locked (may be NULL) tells whether an
 * invoice uses it.  0, 1 when there is no such version (or none at all),
 * -1 on error.
 */
int tariff_db_load(PGconn *c, const char *version, struct tariff *t,
		   int *locked, struct diag *d);
/* The version in effect on day (YYYY-MM-DD): the latest effective_from
 * <= day.  Same returns as tariff_db_load. */
int tariff_db_in_effect(PGconn *c, const char *day, struct tariff *t,
			struct diag *d);
/* Every version, oldest first (*n of them, free each and the array),
 * with locked[i] for each (the caller frees locked). */
int tariff_db_load_all(PGconn *c, struct tariff **ts, int **locked, size_t *n,
		       struct diag *d);

#endif
