/*
 * usage — one customer's usage over a period of billing days, for
 * `releve usage`: the daily outbound counts (usage_daily), the daily
 * storage (storage_customer_daily), each day's quota state against the
 * plan active that day, the same grouped by mailbox or domain, and for
 * the current month an estimate of the charges (billing/rater.h).
 *
 * usage_query() does the database work and fills a struct usage_report
 * that owns everything it points to (free with usage_report_free).  The
 * shaping (usage_to_json, usage_cells) is pure.  Errors go to the
 * caller's diag; nothing is printed.
 *
 * Dates are "YYYY-MM-DD" billing days in the tariff's time zone, both
 * ends inclusive.  The caller validates them (usage_parse_date).
 */
#ifndef RELEVE_USAGE_H
#define RELEVE_USAGE_H

#include <jansson.h>
#include <libpq-fe.h>
#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"
#include "billing/tariff.h"
#include "billing/vat.h"

/* Longest period one query covers (bounds memory and the output). */
#define USAGE_MAX_DAYS 366
/* Carry-forward window for per-mailbox storage: the rollup's default. */
#define USAGE_CARRY_DAYS 7

enum usage_by {
	USAGE_BY_DAY,
	USAGE_BY_DOMAIN,
	USAGE_BY_MAILBOX,
};

enum usage_quota {
	USAGE_QUOTA_NONE, /* no subscription that day */
	USAGE_QUOTA_OK,
	USAGE_QUOTA_WARN,    /* count >= warn_ratio x quota */
	USAGE_QUOTA_OVER,    /* count > quota */
	USAGE_QUOTA_BLOCKED, /* count > block_ratio x quota */
};

struct usage_counts {
	int64_t messages, recipients, local;
	int64_t sent, bounced, deferred, expired;
};

struct usage_day {
	char date[11];
	struct usage_counts c;
	int64_t billable;      /* the day's count in the tariff's unit */
	int has_storage;       /* a storage_customer_daily row exists */
	int64_t storage_bytes; /* 0 when !has_storage */
	const char *plan;      /* plan code (owned by the report), or NULL */
	int64_t quota;	       /* plan's outbound_per_day, -1 without plan */
	enum usage_quota state;
};

struct usage_group {
	char *name; /* mailbox address or domain */
	struct usage_counts c;
	/* Storage from storage_mailbox_days: sum over the period's days
	 * divided by the period's day count (days a mailbox did not exist
	 * count as zero), rounded down. */
	int64_t storage_avg;
};

struct usage_money {
	int64_t net, vat_total, total; /* cents */
};

struct usage_estimate {
	int present;	  /* the period ends in the current month */
	char *why_absent; /* when !present and it should have been */
	char period[16];  /* YYYY-MM */
	char as_of[11];	  /* today */
	int days_elapsed; /* days 1..today of the month */
	int days_in_month;
	char *tariff_version;
	char *currency;
	char *vat_regime;
	struct usage_money so_far;    /* the days after today at zero */
	struct usage_money projected; /* at the month-to-date average */
	int64_t daily_outbound;	      /* the averages used (tariff unit) */
	int64_t daily_storage;
};

struct usage_request {
	const char *customer;
	const char *from, *to; /* NULL: the current month to date */
	const char *today;     /* NULL: the billing day of now */
	enum usage_by by;
};

struct usage_report {
	char *customer, *name;
	char from[11], to[11], today[11];
	char *timezone, *currency, *unit; /* the tariff's (from's month) */
	enum usage_by by;
	struct usage_day *days;
	size_t ndays;
	struct usage_counts totals;
	int64_t totals_billable;
	int storage_days;	    /* days with a storage row */
	int64_t storage_avg;	    /* over those days, rounded down */
	int state_days[5];	    /* days per enum usage_quota */
	struct usage_group *groups; /* --by domain | mailbox */
	size_t ngroups;
	struct usage_estimate est;
	char **plans; /* the plan codes the days point to */
	size_t nplans;
};

/*
 * The reference data a usage query reads besides the customer's own rows:
 * every tariff version (sorted by effective_from), the seller's country,
 * and the VAT rates in force on one day (rates_on, the last day of the
 * estimated month).  `releve serve` keeps one in memory for a few seconds
 * (reports/api.c) instead of reading it on every request; a query whose
 * month ends on another day than rates_on reads its own rates.
 */
struct usage_ref {
	struct tariff *ts;
	int *locked;
	size_t nts;
	char seller[3];
	char rates_on[11];
	struct vat_rates rates;
};

/*
 * Load *ref, the rates of the month of today (NULL: the billing day of
 * now).  0, or -1 with messages in d and *ref empty.  Free with
 * usage_ref_free (accepts an empty or freed ref).
 */
int usage_ref_load(PGconn *c, const char *today, struct usage_ref *ref,
		   struct diag *d);
void usage_ref_free(struct usage_ref *ref);

/* 0 when s is a valid YYYY-MM-DD date, else -1. */
int usage_parse_date(const char *s);

/*
 * Fill *out for rq.  Returns 0, 1 when the customer does not exist (a
 * message in d), -1 on any other error (messages in d); *out is empty
 * unless 0.  The period must already be valid (from <= to, at most
 * USAGE_MAX_DAYS); a wrong one is reported as an error here too.
 */
int usage_query(PGconn *c, const struct usage_request *rq,
		struct usage_report *out, struct diag *d);
/* The same with the reference data of ref (borrowed; NULL: read it). */
int usage_query_ref(PGconn *c, const struct usage_ref *ref,
		    const struct usage_request *rq, struct usage_report *out,
		    struct diag *d);
void usage_report_free(struct usage_report *r);

const char *usage_quota_name(enum usage_quota q); /* "ok", "none", ... */
/*
 * The quota state of count against quota with the tariff's ratios
 * (micro-units, 800000 = 0.8).  quota < 0: no subscription (NONE).  A
 * zero count is always OK.  Pure, exposed for tests.
 */
enum usage_quota usage_quota_state(int64_t count, int64_t quota,
				   int64_t warn_ratio, int64_t block_ratio);

/* The report as the documented JSON document (new reference). */
json_t *usage_to_json(const struct usage_report *r);

/*
 * The report as rows of text cells, the header first, for the table and
 * CSV outputs: *ncols columns, *nrows rows (header included).  The caller
 * frees with usage_cells_free(cells, nrows * ncols).
 */
char **usage_cells(const struct usage_report *r, size_t *nrows, size_t *ncols);
void usage_cells_free(char **cells, size_t n);

#endif
