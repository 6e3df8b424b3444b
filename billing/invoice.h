/*
 * invoice — an invoice or credit note as a document: everything its PDF,
 * its JSON and the exports print, in memory.  Built from a rating
 * (invoice_build, pure) or loaded from the database (invoice_db.h); the
 * PDF renderer (reports/invoice_pdf.h) takes it as it is.
 *
 * Amounts are int64 cents, quantities, unit prices and VAT rates int64
 * micro-units (money.h; a rate of 20 % is 20000000).  A credit note has
 * negative quantities, nets, VAT and totals.  Every string is owned by the
 * struct (free with invoice_free).
 */
#ifndef RELEVE_INVOICE_H
#define RELEVE_INVOICE_H

#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"
#include "rater.h"
#include "seller.h"
#include "tariff.h"

#define INVOICE_NUMBER_MAX 35

struct invoice_line {
	int no;		  /* 1.. */
	char *kind;	  /* "fee" | "storage" | "outbound" */
	char *plan;	  /* plan code, or NULL */
	char *description;    /* French */
	char *description_en; /* English, or NULL */
	int64_t quantity;     /* micro-units of unit */
	char *unit;	  /* "month", "block-month", "1000-recipients", ... */
	int64_t unit_price;   /* micro-units of the currency */
	int64_t vat_rate;     /* micro-units of a percent */
	int64_t net;	      /* cents */
	int credited_line;    /* credit note: the original's line, else 0 */
};

struct invoice_vat {
	int64_t rate; /* micro-units of a percent */
	int64_t base; /* cents */
	int64_t amount;
};

/* The customer as it was when the document was made. */
struct invoice_customer {
	char *id, *name, *kind; /* kind: business | association | individual */
	char *line1, *line2;	/* line2 may be NULL */
	char *postal_code;	/* may be NULL */
	char *city, *country;	/* country: ISO 3166-1 alpha-2 */
	char *siren, *vat_number; /* may be NULL */
	char *email;
	char *language; /* "fr" | "en" */
};

/* A legal mention in force on the issue date, placeholders expanded. */
struct invoice_mention {
	char *key;    /* "reverse_charge", "late_penalties", ... */
	char *fr, *en; /* en may be NULL */
};

/* The month behind the chart (invoices; empty for credit notes). */
struct invoice_usage {
	int ndays;			/* 0 when there is no chart */
	char *unit;			/* "recipients" | "messages" */
	int64_t outbound[RATE_MAX_DAYS]; /* the day's count */
	int64_t quota[RATE_MAX_DAYS];	/* the plan's quota that day, or -1:
					   no subscription */
	int64_t storage_avg;	  /* bytes, average over covered days */
	int64_t storage_included; /* bytes, plan of the last covered day */
	int over_quota_days, tolerated_days, billed_days;
	char *plan;	    /* plan of the last covered day */
	char *plan_name;
	char *advice;	    /* cheapest plan covering the month */
	char *advice_name;
	int advice_covers;  /* 0: no plan covers, the largest is named */
};

struct invoice {
	int64_t id;	 /* database id, 0 when not stored */
	int credit;	 /* 1: a credit note (Avoir) */
	int issued;	 /* 0: a draft (no number yet) */
	char *number;	 /* NULL for a draft */
	char issue_date[11], due_date[11]; /* YYYY-MM-DD, "" for a draft */
	char period_start[11], period_end[11]; /* inclusive */
	char *currency;	      /* "EUR" */
	char *tariff_version;
	char *vat_regime;     /* vat_decision.code: "FR", "REVERSE_CHARGE" */
	int64_t net, vat_total, total; /* cents */
	struct invoice_line *lines;
	size_t nlines;
	struct invoice_vat *vat; /* by rate, ascending */
	size_t nvat;
	struct seller seller;		  /* owned */
	struct invoice_customer customer; /* owned */
	struct invoice_mention *mentions;
	size_t nmentions;
	struct invoice_usage usage;
	/* Credit notes: the invoice corrected and why. */
	char *credited_number;
	char credited_date[11];
	char *credit_reason;
};

void invoice_free(struct invoice *inv);

/* The business-to-business mentions apply (late penalties, the 40 EUR
 * indemnity): the customer is a business or an association. */
int invoice_is_b2b(const struct invoice *inv);

/*
 * The number of sequence n of series in year with digits digits:
 * "F2026-000123".  More digits when n needs them.  0, or -1 when it would
 * be longer than INVOICE_NUMBER_MAX or series is not 1..8 letters.
 */
int invoice_number_format(char *buf, size_t len, const char *series,
			  int year, int digits, int64_t n);

/*
 * Expand the placeholders of a legal mention text: {late_penalty_rate},
 * {recovery_indemnity} (from the seller), {country}, {rate} (the VAT
 * decision's country and rate), with a decimal comma when comma (the
 * French texts: "12,15 %", "40,00 €").  Returns a new string.
 */
char *invoice_mention_expand(const char *text, const struct seller *s,
			     const char *country, int64_t rate, int comma);

#endif
