/*
 * rate_db — one customer's month read from the database as the rater's
 * input: subscriptions, daily outbound in the tariff's unit, daily storage
 * from the rollup, and the VAT regime.  Shared by `releve rate` and the
 * usage estimate, so that both rate a month the same way.
 */
#ifndef RELEVE_RATE_DB_H
#define RELEVE_RATE_DB_H

#include <libpq-fe.h>

#include "common/diag.h"
#include "rater.h"
#include "tariff.h"
#include "vat.h"

struct rate_db_batch; /* below */

struct rate_db_month {
	const char *customer; /* the id (batch: valid while the batch is) */
	int year, month, ndays;
	char *name;	/* the customer's name */
	char *language; /* "fr" | "en" */
	struct rate_sub *subs; /* .plan borrowed from the batch */
	size_t nsubs;
	struct rate_day days[RATE_MAX_DAYS];
	struct vat_decision vat;
	struct rate_db_batch *batch; /* owned by rate_db_month_load's result */
};

/*
 * A month read for many customers at once, handed out one customer at a
 * time in id order.  Open, then next until it returns 1, freeing each
 * month with rate_db_month_free; close at the end.  The months borrow
 * strings from the batch.  Open reads everything: the customers and
 * their subscriptions (ordered by id), then the usage and storage rows
 * in whatever order the server finds cheapest, summed into one array of
 * days per customer (about 17 bytes a customer-day: 53 MB for 100,000
 * customers' month).  A connection not in a transaction is left out of
 * one; one in a transaction stays in it.
 */
struct rate_db_batch {
	int y, m, ndays, upto;
	char first[32], last[32], next[32];
	char seller[3];
	const struct tariff *t;
	const struct vat_rates *rates;
	PGresult *cust, *subs;
	int ci, si; /* cursors */
	/* Day k (0-based) of customer row i of cust at [k * rows + i]
	 * (day-major, as the rows come): outbound in the tariff's unit,
	 * storage bytes, 1 when the storage is missing (no rollup row, or
	 * a gap). */
	int64_t *out, *sto;
	unsigned char *missing;
};

/* customer NULL: every customer with a subscription in the month. */
int rate_db_batch_open(PGconn *c, const char *customer, int y, int m,
		       int upto, const struct tariff *t,
		       const struct vat_rates *rates, const char *seller_cc,
		       struct rate_db_batch *b, struct diag *d);
/* 0 and *mo; 1 when there is no customer left; -1 with a message (the
 * customer is skipped: calling next again goes on with the others). */
int rate_db_batch_next(struct rate_db_batch *b, struct rate_db_month *mo,
		       struct diag *d);
void rate_db_batch_close(struct rate_db_batch *b);

/* The day's count in the tariff's unit: recipients (without the local
 * ones unless the tariff counts them) or messages. */
int64_t rate_db_billable(const struct tariff *t, int64_t messages,
			 int64_t recipients, int64_t local);

/* The seller's country ("FR" when no seller is set) into cc[3]. */
int rate_db_seller_country(PGconn *c, char cc[3], struct diag *d);

/*
 * Load customer's month y-m, usage of the days 1..upto (upto <= 0: the
 * whole month); the other days have no outbound and storage missing at
 * zero.  t is the version rating the month, rates the VAT rates in force
 * on its last day.  Returns 0, 1 when the customer has no subscription in
 * the month (mo left empty), -1 with a message in d (also for an unknown
 * customer).  Free with rate_db_month_free.  One query (the batch's rules
 * for one customer): it is on the path of every GET /v1/usage.
 */
int rate_db_month_load(PGconn *c, const char *customer, int y, int m,
		       int upto, const struct tariff *t,
		       const struct vat_rates *rates, const char *seller_cc,
		       struct rate_db_month *mo, struct diag *d);
void rate_db_month_free(struct rate_db_month *mo);
/* The rater's input for mo (borrows mo and t). */
void rate_db_month_input(const struct rate_db_month *mo,
			 const struct tariff *t, struct rate_input *in);

#endif
