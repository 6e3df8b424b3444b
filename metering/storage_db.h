/*
 * storage_db — store Dovecot storage snapshots and derive the daily
 * storage of each mailbox and customer.
 *
 * A snapshot is stored in one transaction, all or nothing, identified by
 * (source, taken_at): storing the same one again changes nothing.  The
 * same transaction keeps storage_daily (the largest sample of each
 * mailbox and billing day) up to date and rolls up the snapshot's day.
 *
 * The rollup (storage_rollup) writes storage_customer_daily for every day
 * of [from, to): per customer, the sum over the mailboxes of the registry
 * existing that day of the day's largest sample ("sampled"), else the last
 * earlier sample if at most carry_days old ("carried"), else zero (a
 * "gap", counted).
 */
#ifndef RELEVE_STORAGE_DB_H
#define RELEVE_STORAGE_DB_H

#include <libpq-fe.h>
#include <stdint.h>

#include "common/diag.h"
#include "dovequota.h"

#define STORAGE_CARRY_DAYS 7

/* Mailboxes per row of the samples and of the daily maxima (sql/013:
 * block n holds the mailbox numbers [1024 n, 1024 n + 1024)). */
#define STORAGE_BLOCK 1024
/* Customers per row of the customers' days (sql/016: block n holds the
 * customer numbers [64 n, 64 n + 64)). */
#define STORAGE_CUSTOMER_BLOCK 64

struct storage_result {
	int already;		  /* this (source, time) was stored before */
	long long samples;	  /* samples stored */
	long long errors;	  /* mailboxes whose value was `error` */
	long long unattributed;	  /* samples of mailboxes unknown to the registry */
	char day[11];		  /* billing day of the snapshot, YYYY-MM-DD */
};

/*
 * A store in two steps, so that the first can run while the snapshot is
 * still being read: storage_begin opens the transaction and loads the
 * registry; storage_store_tx stores snap, taken at taken_at (RFC 3339 /
 * PostgreSQL timestamptz text) from source, and commits, or rolls
 * back (0, or -1 with nothing stored; either way tx is finished).
 * storage_abandon rolls a begun store back (c NULL: only frees).
 */
struct storage_tx {
	int open;
	char day[11], next[16]; /* the billing day and the next, YYYY-MM-DD */
	int32_t day_no;		/* the day, in days since 2000-01-01 */
	int64_t at_us;		/* the time, in microseconds since 2000 UTC */
	struct registry *reg;	/* private */
};

int storage_begin(PGconn *c, const char *taken_at, struct storage_tx *tx,
		  struct diag *d);
int storage_store_tx(PGconn *c, struct storage_tx *tx, const char *source,
		     const char *taken_at, const struct dq_snapshot *snap,
		     int carry_days, struct storage_result *res,
		     struct diag *d);
void storage_abandon(PGconn *c, struct storage_tx *tx);

struct rollup_result {
	long long rows;	   /* mailbox-days counted */
	long long gaps;	   /* of which gaps (no sample within carry_days) */
	long long carried; /* of which carried forward */
};

/* Roll up the days from <= day < to (YYYY-MM-DD); runs in the caller's
 * transaction if one is open, else in its own.  0 or -1. */
int storage_rollup(PGconn *c, const char *from, const char *to,
		   int carry_days, struct rollup_result *res, struct diag *d);

#endif
