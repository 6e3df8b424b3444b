/*
 * rater — one customer's month of usage into invoice lines, VAT and
 * totals, exactly.  Pure: structs in, structs out; no I/O, no database,
 * no globals; integers only.
 *
 * The caller (the command layer) chooses the tariff version (the one in
 * effect on the month's first day), the VAT rate(s) (the regime in force
 * on the month's last day: billing/vat.h), reads the customer's
 * subscriptions and daily usage, and hands them over here.
 *
 * Days are numbered inside the rated month: day 1 is the 1st, day D the
 * last (D = 28..31, whatever the clocks do: the October DST month has 31
 * billing days like any other).  A subscription is active on the days
 * start <= day < end; start may be <= 1 (began before the month) and end
 * may be > D or RATE_OPEN (runs past the month).  rate_day_of_month()
 * turns a "YYYY-MM-DD" date into that numbering.
 *
 * Money is int64 micro-units for prices and rates (billing/money.h) and
 * int64 cents for amounts.  Each line is computed exactly and rounded once
 * (money_mul_div_round_cents, half away from zero); VAT is rounded once
 * per rate on the sum of the line nets at that rate.  Any overflow is an
 * error, never a wrap.
 *
 * Ownership: rate_month() never keeps or frees what it is given.  The
 * result it fills owns its arrays (free with rate_result_free) but
 * BORROWS pointers into the tariff (struct rate_line.plan, advice) and
 * into the input (VAT labels): keep the tariff and the input's strings
 * alive as long as the result.
 */
#ifndef RELEVE_RATER_H
#define RELEVE_RATER_H

#include <limits.h>
#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"
#include "tariff.h"

#define RATE_OPEN INT_MAX /* end of an open subscription */
#define RATE_MAX_DAYS 31

enum rate_kind {
	RATE_FEE,      /* the plan's monthly fee, prorated */
	RATE_STORAGE,  /* storage add-on blocks, prorated */
	RATE_OUTBOUND, /* outbound over quota, beyond the tolerance */
};
#define RATE_NKINDS 3

/* What a line's quantity counts (a key the caller translates). */
enum rate_unit {
	RATE_UNIT_MONTH,	/* fee: months (A/D) */
	RATE_UNIT_BLOCK_MONTH,	/* storage: blocks x months (blocks x A/D) */
	RATE_UNIT_1000_RCPT,	/* outbound: thousands of recipients */
	RATE_UNIT_1000_MESSAGE, /* outbound: thousands of messages */
};

struct rate_sub {
	const char *plan; /* plan code in the tariff (borrowed) */
	int start;	  /* first active day (<= 1: began before) */
	int end;	  /* first inactive day, exclusive; RATE_OPEN */
};

struct rate_day {
	/* The day's count in the tariff's unit (recipients or messages,
	 * local ones only when the tariff counts them): the caller applies
	 * the tariff's unit and count_local, the rater only compares. */
	int64_t outbound;
	/* The customer's storage that day, in bytes.  For a day without
	 * data the caller passes what the rollup decided (the carried
	 * last value, or 0 for a gap) and sets storage_missing: the rater
	 * uses the value as given and only counts such days. */
	int64_t storage_bytes;
	int storage_missing;
};

struct rate_vat {
	/* VAT rate in micro-units of a PERCENT: 20000000 = 20 %, 5500000 =
	 * 5.5 %, 0 = reverse charge or out of scope.  0..100 %. */
	int64_t rate;
	/* The regime as data ("FR", "reverse-charge", "oss-DE", ...):
	 * borrowed, copied into the result by pointer, may be NULL. */
	const char *label;
};

struct rate_input {
	const struct tariff *tariff; /* the version rating the month */
	int year, month;	     /* the period */
	const struct rate_sub *subs; /* any order; must not overlap */
	size_t nsubs;
	/* days[0] is day 1; ndays must equal the month's day count. */
	const struct rate_day *days;
	int ndays;
	/* The VAT applied to each kind of line (vat[RATE_FEE], ...); a
	 * customer normally has one rate for all: rate_input_set_vat(). */
	struct rate_vat vat[RATE_NKINDS];
};

struct rate_line {
	enum rate_kind kind;
	/* fee, storage: the subscription's plan (borrowed from the tariff)
	 * and its active days; outbound: NULL and 1..D. */
	const struct tariff_plan *plan;
	size_t sub;		 /* index in input.subs (fee, storage) */
	int first_day, last_day; /* inclusive */
	int active_days;	 /* A */
	int days_in_month;	 /* D */
	int64_t blocks;		 /* storage: add-on blocks charged */
	int64_t excess;		 /* outbound: units billed */
	/* Exact quantity qty_num / qty_den (reduced) of unit, and the same
	 * as a decimal in micro-units (rounded half-up to 6 places when not
	 * exact: 14/30 -> 0.466667, qty_exact = 0). */
	int64_t qty_num, qty_den;
	int64_t quantity;
	int qty_exact;
	enum rate_unit unit;
	int64_t unit_price; /* micro-units per unit (exact) */
	int64_t net;	    /* cents */
	struct rate_vat vat;
};

struct rate_vat_total {
	struct rate_vat vat; /* rate and label (borrowed) */
	int64_t base;	     /* cents: sum of the line nets at this rate */
	int64_t amount;	     /* cents: half-up(base x rate) */
};

struct rate_usage {
	int days_in_month;
	int covered_days; /* days with an active subscription */
	/* The month's average storage over the covered days: exactly
	 * storage_sum / covered_days bytes (byte-days, overflow-checked);
	 * storage_avg is that rounded down, for display. */
	int64_t storage_sum;
	int64_t storage_avg;
	int storage_missing_days;
	int64_t outbound_total;	  /* all days, covered or not */
	int over_quota_days;	  /* covered days over their plan's quota */
	int tolerated_days;	  /* the tariff's tolerance */
	int tolerated_used;	  /* over-quota days made free */
	int billed_days;	  /* over-quota days charged */
	int64_t billed_excess;	  /* units over quota on the charged days */
	int64_t tolerated_excess; /* units over quota on the free days */
	int unsubscribed_days;	  /* days with traffic and no subscription */
	int64_t unsubscribed_outbound; /* their traffic (not billed) */
};

struct rate_advice {
	const struct tariff_plan *plan; /* never NULL on success */
	int covers; /* 1: the plan covers the month; 0: none does, the
		       largest (highest fee) is named */
};

struct rate_result {
	int year, month;
	struct rate_line *lines; /* fee and storage lines by subscription
				    (by start day), then outbound */
	size_t nlines;
	struct rate_vat_total *vat; /* one per distinct rate, first seen */
	size_t nvat;
	int64_t net, vat_total, total; /* cents; total = net + vat_total */
	struct rate_usage usage;
	struct rate_advice advice;
};

/* Set the same VAT rate and label for every kind of line. */
void rate_input_set_vat(struct rate_input *in, int64_t rate, const char *label);

/*
 * Rate one customer's month.  Returns 0 with *out filled, or -1 with *out
 * empty and every problem found added to d: a plan not in the tariff, a
 * subscription with end <= start, overlapping subscriptions, no
 * subscription active in the month, a negative count, a VAT rate outside
 * 0..100 %, ndays not the month's length, an amount that does not fit.
 */
int rate_month(const struct rate_input *in, struct rate_result *out,
	       struct diag *d);
/* Free what r owns and zero it; accepts NULL. */
void rate_result_free(struct rate_result *r);

/*
 * date ("YYYY-MM-DD") as a day number of the month year-month: 1 for the
 * 1st, 0 for the day before, D + 1 for the next month's 1st.  0 and *day
 * set, or -1 when date is not a valid date.
 */
int rate_day_of_month(int year, int month, const char *date, int *day);

const char *rate_kind_name(enum rate_kind k); /* "fee" ... */
const char *rate_unit_name(enum rate_unit u); /* "month", "block-month",
						 "1000-recipients", ... */
/*
 * A human description of line l for an invoice, in "fr" or "en" (anything
 * else is English), e.g. "Forfait S (Essentiel), du 17/09/2026 au
 * 30/09/2026 (14/30 jours)".  Needs the tariff for the block size.
 * Returns buf (truncated to len).
 */
char *rate_line_describe(char *buf, size_t len, const struct rate_result *r,
			 const struct rate_line *l, const struct tariff *t,
			 const char *lang);

#endif
