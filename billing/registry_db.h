/*
 * registry_db — the customer registry in PostgreSQL: store an import
 * (all or nothing), read it back for `registry show`, and sync domains and
 * mailboxes from mailcow.
 *
 * Import semantics: customers not in the file are untouched; a customer in
 * the file gets the file's fields, and its domains, mailboxes and
 * subscriptions become exactly those listed (rows not listed are deleted,
 * identical rows are left alone, so a re-import of the same file writes
 * nothing and updated_at does not move).  Before writing, the database
 * checks are made and reported like validation errors, naming the place
 * in the file: a plan code that no loaded tariff knows, a domain, mailbox
 * address or login that belongs to a customer not in the file.  Any error:
 * the transaction is rolled back, nothing is stored, -1.
 *
 * The caller validates the registry first (registry_validate): the store
 * relies on its guarantees (no duplicates, no overlaps, mailboxes on the
 * customer's own domains).
 */
#ifndef RELEVE_REGISTRY_DB_H
#define RELEVE_REGISTRY_DB_H

#include <libpq-fe.h>

#include "common/diag.h"
#include "mailcow.h"
#include "registry.h"

struct registry_stats {
	long customers_new, customers_changed;
	long domains_written, domains_deleted;
	long mailboxes_written, mailboxes_deleted;
	long subs_written, subs_deleted;
};

/* Store r in one transaction; dry_run checks everything, then rolls back. */
int registry_db_store(PGconn *c, const struct registry *r, int dry_run,
		      struct registry_stats *st, struct diag *d);
/*
 * Read the registry (one customer when customer is not NULL) into r,
 * customers ordered by id, their lists ordered by name / start.
 */
int registry_db_load(PGconn *c, const char *customer, struct registry *r,
		     struct diag *d);

struct mailcow_stats {
	long domains_written, mailboxes_written;
};

/* Add or update the mapped domains and mailboxes of m (after
 * mailcow_resolve); never touches subscriptions or other customers. */
int mailcow_db_store(PGconn *c, const struct mailcow *m, int dry_run,
		     struct mailcow_stats *st, struct diag *d);

#endif
