/*
 * quota — the soft-quota state of one customer's billing day, and the
 * notice mailed at warn and over.  Pure: no I/O (billing/cmd_quota.c reads
 * the counts, sends the mail and writes the blocks).
 *
 * A day's count is in the tariff's unit (recipients or messages, local
 * recipients only when the tariff counts them), judged against the quota
 * (outbound_per_day) of the plan active that day, with the tariff's ratios
 * in micro-units (800000 = 0.8).  Exact integer arithmetic, 128-bit.
 */
#ifndef RELEVE_QUOTA_H
#define RELEVE_QUOTA_H

#include <stdint.h>

#include "common/diag.h"
#include "tariff.h"

enum quota_state {
	QUOTA_OK,      /* under the warn ratio */
	QUOTA_WARN,    /* count >= warn_ratio x quota */
	QUOTA_OVER,    /* count > quota */
	QUOTA_BLOCKED, /* count > block_ratio x quota */
};

/*
 * The state of a day: the highest that holds of blocked, over, warn.  A
 * count of 0 is always ok (even with a quota of 0).  0 and *st, or -1 and
 * a message in d when an input is negative (*st = QUOTA_OK).
 */
int quota_state_of(int64_t count, int64_t quota, int64_t warn_ratio,
		   int64_t block_ratio, enum quota_state *st, struct diag *d);
/* "ok", "warn", "over", "blocked". */
const char *quota_state_name(enum quota_state st);

/*
 * The plan to advise for a day's count: the plan with the smallest quota
 * that is above the current quota and covers count (ties: the cheaper,
 * then the first in the grid); the plan with the largest quota when none
 * covers it.  NULL when the grid has no plan above current_quota.
 */
const struct tariff_plan *quota_advice(const struct tariff *t,
				       int64_t current_quota, int64_t count);

/* What a notice says. */
struct quota_notice {
	const char *lang;	  /* "fr" or "en" (anything else: en) */
	const char *from;	  /* From: address, NULL: none (sendmail's) */
	const char *to;		  /* the customer's billing e-mail */
	const char *customer_id;
	const char *customer_name;
	const char *day;	  /* YYYY-MM-DD */
	enum quota_state level;	  /* QUOTA_WARN or QUOTA_OVER */
	int64_t count;
	int64_t quota;
	const char *plan_code;	  /* the plan active that day */
	const char *plan_name;
	enum tariff_unit unit;
	int64_t warn_ratio;	  /* micro-units */
	int64_t block_ratio;
	int tolerated_days;
	const struct tariff_plan *advice; /* may be NULL */
};

/*
 * The whole message for `sendmail -t` (headers with To:, a MIME UTF-8
 * text body, CRLF-free LF lines), newly allocated (caller frees).  The
 * subject is RFC 2047-encoded.
 */
char *quota_notice_format(const struct quota_notice *n);

#endif
