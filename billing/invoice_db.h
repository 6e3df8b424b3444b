/*
 * invoice_db — invoices in the database (sql/007_invoice.sql): the
 * monthly batch writes drafts, issuing numbers them, credit notes correct
 * issued invoices; loading gives back the document (billing/invoice.h).
 *
 * Drafts are replaced freely (one per customer and month); issued
 * documents are never changed (database triggers refuse it).  Numbers
 * come from invoice_counters, updated in the transaction that issues, so
 * that there is no gap and no duplicate even with two issuers at once.
 */
#ifndef RELEVE_INVOICE_DB_H
#define RELEVE_INVOICE_DB_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stdint.h>

#include "common/diag.h"
#include "invoice.h"
#include "rate_db.h"
#include "rater.h"
#include "seller.h"
#include "tariff.h"

/*
 * Load the document numbered number (issued invoice or credit note).
 * 0 with *inv filled (free with invoice_free), 1 when there is no such
 * number, -1 on error.
 */
int invoice_db_load(PGconn *c, const char *number, struct invoice *inv,
		    struct diag *d);
/* The same by database id (drafts too). */
int invoice_db_load_id(PGconn *c, int64_t id, struct invoice *inv,
		       struct diag *d);

/*
 * Summaries of documents, newest period first then number: a JSON array
 * of {number (null for a draft), kind, status, customer, customer_name,
 * period, issue_date, due_date, net, vat, total, currency, credited}.
 * customer NULL: every customer; period "YYYY-MM" or NULL; issued_only:
 * drafts left out.  NULL on error.
 */
json_t *invoice_db_list(PGconn *c, const char *customer, const char *period,
			int issued_only, struct diag *d);

/* The document as JSON (the shape of `releve invoice show --json`). */
json_t *invoice_to_json(const struct invoice *inv);

/* Load many documents by id in one go (three queries): out[i] for
 * ids[i]; 0, or -1 (every out[i] empty) when one is missing. */
int invoice_db_load_ids(PGconn *c, const int64_t *ids, size_t n,
			struct invoice *out, struct diag *d);

/*
 * What the batch reads once: the seller, the legal mention texts in force
 * on a day, the identity of the customers to invoice.
 */
struct invoice_env {
	const struct tariff *t;
	struct seller seller;
	PGresult *mentions; /* key, fr, en */
	PGresult *customers; /* by id, byte order */
};

/* customer NULL: every customer with a subscription in y-m.  mention_day:
 * the day whose legal texts apply ("YYYY-MM-DD"). */
int invoice_env_load(PGconn *c, const struct tariff *t, const char *customer,
		     int y, int m, const char *mention_day,
		     struct invoice_env *env, struct diag *d);
void invoice_env_free(struct invoice_env *env);

/* The draft of a rated month (mo and r as `releve rate` has them). */
int invoice_build(const struct invoice_env *env,
		  const struct rate_db_month *mo, const struct rate_result *r,
		  struct invoice *inv, struct diag *d);

/* An issued invoice that invoice_db_store_drafts() kept, as stored. */
struct invoice_kept {
	int kept; /* 0: invs[i] was written as a draft */
	char vat_regime[32];
	int64_t net, vat_total, total;
};

/*
 * Store drafts in one transaction, replacing the drafts of the same
 * customers and month; a customer whose invoice of the month is issued
 * keeps it (counted in *kept_issued) and its new draft is dropped.  When
 * kept is not NULL (n entries), kept[i] tells whether invs[i] was dropped
 * so, with the issued invoice's stored regime and totals.
 */
int invoice_db_store_drafts(PGconn *c, const struct invoice_env *env,
			    const struct invoice *invs, size_t n,
			    long *kept_issued, struct invoice_kept *kept,
			    struct diag *d);

/* Remove the drafts of y-m (of customer, or all) whose customer has no
 * subscription in the month any more; *removed counts them. */
int invoice_db_remove_stale(PGconn *c, int y, int m, const char *customer,
			    long *removed, struct diag *d);

/*
 * Issue drafts: of period y-m (y = 0: every period) and customer (NULL:
 * all), dated issue_day ("YYYY-MM-DD"), in chunks of one transaction
 * each, numbered in the invoice series of the seller s.  A period that
 * has not ended on issue_day is refused, and so is a date before the last
 * one of the series (numbers follow dates).  *issued counts them; ids of
 * the issued drafts are appended to *ids / *nids when ids is not NULL
 * (caller frees).
 */
int invoice_db_issue(PGconn *c, const struct seller *s, int y, int m,
		     const char *customer, const char *issue_day,
		     long *issued, int64_t **ids, size_t *nids,
		     struct diag *d);

/* One line of a partial credit note: the original's line and the net
 * amount (positive micro-units, at most 2 decimals) to credit. */
struct invoice_credit_part {
	int line;
	int64_t amount;
};

/*
 * A credit note of the issued invoice number, issued at once on
 * issue_day in the seller's credit series: the whole of what remains
 * creditable (nparts 0), or the given parts.  Returns 0 with its id, or
 * -1 (nothing stored) when the invoice is unknown, is itself a credit
 * note, a line does not exist or is credited beyond its net.
 */
int invoice_db_credit(PGconn *c, const struct seller *s, const char *number,
		      const struct invoice_credit_part *parts, size_t nparts,
		      const char *reason, const char *issue_day, int64_t *id,
		      struct diag *d);

#endif
