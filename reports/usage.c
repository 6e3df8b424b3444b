/*
 * usage — one customer's usage over a period, read from the daily
 * rollups, judged against the plans, and estimated with the rater.
 *
 * Sources: usage_daily (the out_* columns, per customer, mailbox and
 * billing day, filled by the Postfix collector), storage_customer_daily
 * (per customer and day, filled by `releve rollup storage`) and
 * storage_mailbox_days() (the same rules per mailbox, on demand).
 *
 * Tariff: each day is judged with the tariff version that rates its month
 * (the one in effect on the month's first day, as the rater does), or the
 * earliest version when none was in effect yet; the plan is the
 * subscription active that day (start <= day < end).
 *
 * The estimate rates the current month with the pure rater
 * (billing/rater.h) exactly as `releve rate` does: the same tariff, VAT
 * and unit rules; only the days after today are filled in (at zero, and
 * at the month-to-date daily average for the projection).
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/db.h"
#include "common/dbprep.h"
#include "common/xalloc.h"
#include "billing/quota.h"
#include "billing/money.h"
#include "billing/rate_db.h"
#include "billing/rater.h"
#include "billing/tariff.h"
#include "billing/tariff_db.h"
#include "billing/vat.h"
#include "billing/vat_db.h"
#include "usage.h"

int usage_parse_date(const char *s)
{
	int y, m, d;

	return s && date_parse(s, &y, &m, &d) == 0 ? 0 : -1;
}

/* Days since 1970-01-01 of a valid date (H. Hinnant's days_from_civil). */
static long day_number(const char *s)
{
	int y, m, d;
	long era, yoe, doy, doe;

	if (date_parse(s, &y, &m, &d) != 0) {
		abort(); /* callers pass validated dates only */
	}
	y -= m <= 2;
	era = (y >= 0 ? y : y - 399) / 400;
	yoe = y - era * 400;
	doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + doe - 719468;
}

const char *usage_quota_name(enum usage_quota q)
{
	switch (q) {
	case USAGE_QUOTA_NONE:
		return "none";
	case USAGE_QUOTA_OK:
		return "ok";
	case USAGE_QUOTA_WARN:
		return "warn";
	case USAGE_QUOTA_OVER:
		return "over";
	case USAGE_QUOTA_BLOCKED:
		return "blocked";
	}
	abort();
}

enum usage_quota usage_quota_state(int64_t count, int64_t quota,
				   int64_t warn_ratio, int64_t block_ratio)
{
	/* One rule for the usage report and the live quota check. */
	static const enum usage_quota map[] = {
		[QUOTA_OK] = USAGE_QUOTA_OK,
		[QUOTA_WARN] = USAGE_QUOTA_WARN,
		[QUOTA_OVER] = USAGE_QUOTA_OVER,
		[QUOTA_BLOCKED] = USAGE_QUOTA_BLOCKED,
	};
	struct diag d = DIAG_INIT;
	enum quota_state st;

	if (quota < 0) {
		return USAGE_QUOTA_NONE;
	}
	if (quota_state_of(count < 0 ? 0 : count, quota, warn_ratio,
			   block_ratio, &st, &d) != 0) {
		diag_free(&d);
		return USAGE_QUOTA_NONE; /* negative ratios: no judgement */
	}
	return map[st];
}

static int64_t get_i64(const PGresult *r, int row, const char *col)
{
	const char *v = db_get(r, row, col);

	return v ? strtoll(v, NULL, 10) : 0;
}

static void counts_add(struct usage_counts *a, const struct usage_counts *b)
{
	a->messages += b->messages;
	a->recipients += b->recipients;
	a->local += b->local;
	a->sent += b->sent;
	a->bounced += b->bounced;
	a->deferred += b->deferred;
	a->expired += b->expired;
}

static void counts_get(const PGresult *r, int row, struct usage_counts *c)
{
	c->messages = get_i64(r, row, "msgs");
	c->recipients = get_i64(r, row, "rcpt");
	c->local = get_i64(r, row, "loc");
	c->sent = get_i64(r, row, "sent");
	c->bounced = get_i64(r, row, "bounced");
	c->deferred = get_i64(r, row, "deferred");
	c->expired = get_i64(r, row, "expired");
}

#define SUMS                                                                   \
	" coalesce(sum(u.out_messages), 0) AS msgs,"                           \
	" coalesce(sum(u.out_recipients), 0) AS rcpt,"                         \
	" coalesce(sum(u.out_recipients_local), 0) AS loc,"                    \
	" coalesce(sum(u.out_sent), 0) AS sent,"                               \
	" coalesce(sum(u.out_bounced), 0) AS bounced,"                         \
	" coalesce(sum(u.out_deferred), 0) AS deferred,"                       \
	" coalesce(sum(u.out_expired), 0) AS expired"

/* The tariff version rating the month of date: in effect on the month's
 * first day, else the earliest (ts sorted by effective_from). */
static const struct tariff *tariff_for(const struct tariff *ts, size_t n,
				       const char *date)
{
	char first[32];
	const struct tariff *t = &ts[0];

	snprintf(first, sizeof(first), "%.8s01", date);
	for (size_t i = 0; i < n; i++) {
		if (strcmp(ts[i].effective_from, first) <= 0) {
			t = &ts[i];
		}
	}
	return t;
}

static const char *plan_intern(struct usage_report *r, const char *code)
{
	for (size_t i = 0; i < r->nplans; i++) {
		if (!strcmp(r->plans[i], code)) {
			return r->plans[i];
		}
	}
	r->plans = xreallocarray(r->plans, r->nplans + 1, sizeof(*r->plans));
	r->plans[r->nplans] = xstrdup(code);
	return r->plans[r->nplans++];
}

static int query_groups(PGconn *c, struct usage_report *r, struct diag *d)
{
	char ndays[16], carry[16];
	const char *p[6] = { r->customer,
			     r->from,
			     r->to,
			     carry,
			     r->by == USAGE_BY_DOMAIN ? "domain" : "mailbox",
			     ndays };
	PGresult *g;

	snprintf(ndays, sizeof(ndays), "%zu", r->ndays);
	snprintf(carry, sizeof(carry), "%d", USAGE_CARRY_DAYS);
	/* The domain of a mailbox is what follows its last '@'. */
	g = db_prepared(
	    c, d, "usage_groups",
	    "WITH o AS (SELECT CASE WHEN $5 = 'domain'"
	    "   THEN lower(substring(u.mailbox from '[^@]*$'))"
	    "   ELSE u.mailbox END AS name," SUMS
	    "   FROM usage_daily u WHERE u.customer_id = $1"
	    "   AND u.day >= $2::date AND u.day <= $3::date GROUP BY 1),"
	    " s AS (SELECT CASE WHEN $5 = 'domain'"
	    "   THEN lower(substring(m.mailbox from '[^@]*$'))"
	    "   ELSE m.mailbox END AS name, sum(m.bytes) AS bytes"
	    "   FROM storage_mailbox_days($2::date, $3::date + 1, $4::int, $1) "
	    "m"
	    "   GROUP BY 1)"
	    " SELECT coalesce(o.name, s.name) AS name,"
	    " coalesce(o.msgs, 0) AS msgs, coalesce(o.rcpt, 0) AS rcpt,"
	    " coalesce(o.loc, 0) AS loc, coalesce(o.sent, 0) AS sent,"
	    " coalesce(o.bounced, 0) AS bounced,"
	    " coalesce(o.deferred, 0) AS deferred,"
	    " coalesce(o.expired, 0) AS expired,"
	    " div(coalesce(s.bytes, 0), $6::int) AS storage"
	    " FROM o FULL JOIN s ON o.name = s.name ORDER BY 1",
	    6, p);
	if (!g) {
		return -1;
	}
	r->ngroups = (size_t)PQntuples(g);
	r->groups = xcalloc(r->ngroups + 1, sizeof(*r->groups));
	for (size_t i = 0; i < r->ngroups; i++) {
		const char *name = db_get(g, (int)i, "name");

		r->groups[i].name = xstrdup(name ? name : "");
		counts_get(g, (int)i, &r->groups[i].c);
		r->groups[i].storage_avg = get_i64(g, (int)i, "storage");
	}
	PQclear(g);
	return 0;
}

/*
 * The current month's estimate: rate days 1..today as stored and the
 * days after today twice, at zero and at the month-to-date average.
 * 0 (present or with why_absent set), -1 on error.
 */
static int estimate(PGconn *c, const struct usage_ref *ref,
		    struct usage_report *r, struct diag *d)
{
	struct usage_estimate *e = &r->est;
	int y, m, today, dim, rc = -1, tr;
	char first[32], last[32], seller[3];
	struct tariff own_t;
	struct vat_rates own_rates;
	const struct tariff *tp = NULL;
	const struct vat_rates *rp = &own_rates;
	struct rate_db_month mo;
	struct rate_input in;
	struct rate_result res;
	int64_t out_sum = 0, sto_sum = 0, sto_days = 0;

	memset(&own_t, 0, sizeof(own_t));
	memset(&own_rates, 0, sizeof(own_rates));
	memset(&mo, 0, sizeof(mo));
	if (date_parse(r->today, &y, &m, &today) != 0) {
		abort();
	}
	dim = date_days_in_month(y, m);
	snprintf(first, sizeof(first), "%04d-%02d-01", y, m);
	snprintf(last, sizeof(last), "%04d-%02d-%02d", y, m, dim);
	snprintf(e->period, sizeof(e->period), "%04d-%02d", y, m);
	snprintf(e->as_of, sizeof(e->as_of), "%s", r->today);
	e->days_elapsed = today;
	e->days_in_month = dim;

	if (ref) {
		/* The last version in effect on the first (sorted). */
		tr = 1;
		for (size_t i = 0; i < ref->nts; i++) {
			if (strcmp(ref->ts[i].effective_from, first) <= 0) {
				tp = &ref->ts[i];
				tr = 0;
			}
		}
	} else {
		tr = tariff_db_in_effect(c, first, &own_t, d);
		tp = &own_t;
	}
	if (tr < 0) {
		goto out;
	}
	if (tr == 1) {
		e->why_absent =
		    xasprintf("no tariff version in effect on %s", first);
		rc = 0;
		goto out;
	}
	if (ref && !strcmp(ref->rates_on, last)) {
		rp = &ref->rates;
	} else if (vat_db_rates(c, last, &own_rates, d) != 0) {
		goto out;
	}
	if (ref) {
		memcpy(seller, ref->seller, sizeof(seller));
	} else if (rate_db_seller_country(c, seller, d) != 0) {
		goto out;
	}
	/* The days 1..today as stored; the days after it have no outbound
	 * and storage missing at zero: as if the month ended today. */
	tr = rate_db_month_load(c, r->customer, y, m, today, tp, rp, seller,
				&mo, d);
	if (tr < 0) {
		goto out;
	}
	if (tr == 1) {
		e->why_absent = xasprintf("no subscription in %s", e->period);
		rc = 0;
		goto out;
	}
	for (int i = 0; i < today; i++) {
		out_sum += mo.days[i].outbound;
		if (!mo.days[i].storage_missing || mo.days[i].storage_bytes) {
			sto_sum += mo.days[i].storage_bytes;
			sto_days++;
		}
	}
	rate_db_month_input(&mo, tp, &in);
	if (rate_month(&in, &res, d) != 0) {
		goto out;
	}
	e->so_far.net = res.net;
	e->so_far.vat_total = res.vat_total;
	e->so_far.total = res.total;
	rate_result_free(&res);
	/* Projected: the remaining days at the month-to-date averages,
	 * outbound over all elapsed days (half up), storage over the days
	 * rolled up (rounded down; none: zero and still missing). */
	e->daily_outbound = (out_sum + today / 2) / today;
	e->daily_storage = sto_days ? sto_sum / sto_days : 0;
	for (int i = today; i < dim; i++) {
		mo.days[i].outbound = e->daily_outbound;
		mo.days[i].storage_bytes = e->daily_storage;
		mo.days[i].storage_missing = sto_days == 0;
	}
	if (rate_month(&in, &res, d) != 0) {
		goto out;
	}
	e->projected.net = res.net;
	e->projected.vat_total = res.vat_total;
	e->projected.total = res.total;
	rate_result_free(&res);
	e->tariff_version = xstrdup(tp->version);
	e->currency = xstrdup(tp->currency);
	e->vat_regime = xstrdup(mo.vat.code);
	e->present = 1;
	rc = 0;
out:
	rate_db_month_free(&mo);
	tariff_free(&own_t);
	vat_db_rates_free(&own_rates);
	return rc;
}

static int query(PGconn *c, const struct usage_ref *ref,
		 const struct usage_request *rq, struct usage_report *r,
		 struct diag *d)
{
	PGresult *cu, *subs = NULL, *dr = NULL;
	struct tariff *ts = NULL; /* own, when no ref */
	const struct tariff *tv = NULL;
	int *locked = NULL, rc = -1, ty, tm, td;
	size_t nts = 0;
	long span;
	const char *p[3];

	p[0] = rq->customer;
	/* Today comes with the customer: one round trip less. */
	cu = rq->today
		 ? db_prepared(c, d, "usage_customer",
			       "SELECT name FROM customers WHERE id = $1", 1, p)
		 : db_prepared(c, d, "usage_customer_today",
			       "SELECT name, releve_billing_day(now())::text"
			       " AS today FROM customers WHERE id = $1",
			       1, p);
	if (!cu) {
		return -1;
	}
	if (PQntuples(cu) == 0) {
		PQclear(cu);
		diag_add(d, "no customer '%s'", rq->customer);
		return 1;
	}
	r->customer = xstrdup(rq->customer);
	r->name = xstrdup(PQgetvalue(cu, 0, 0));
	snprintf(r->today, sizeof(r->today), "%s",
		 rq->today ? rq->today : PQgetvalue(cu, 0, 1));
	PQclear(cu);
	r->by = rq->by;

	if (date_parse(r->today, &ty, &tm, &td) != 0) {
		diag_add(d, "today: '%s' is not a date (YYYY-MM-DD)", r->today);
		return 2;
	}
	/* Defaults: the current month to date; one end given alone: to
	 * today, or from the first of to's month. */
	if (rq->from) {
		snprintf(r->from, sizeof(r->from), "%s", rq->from);
	} else if (rq->to) {
		snprintf(r->from, sizeof(r->from), "%.8s01", rq->to);
	} else {
		snprintf(r->from, sizeof(r->from), "%.8s01", r->today);
	}
	snprintf(r->to, sizeof(r->to), "%s", rq->to ? rq->to : r->today);
	if (usage_parse_date(r->from) || usage_parse_date(r->to)) {
		diag_add(d, "%s: not a date (YYYY-MM-DD)",
			 usage_parse_date(r->from) ? "--from" : "--to");
		return 2;
	}
	span = day_number(r->to) - day_number(r->from) + 1;
	if (span < 1) {
		diag_add(d, "--from: %s is after --to %s", r->from, r->to);
		return 2;
	}
	if (span > USAGE_MAX_DAYS) {
		diag_add(d, "--to: %s is more than %d days after --from %s",
			 r->to, USAGE_MAX_DAYS, r->from);
		return 2;
	}

	if (ref) {
		tv = ref->ts;
		nts = ref->nts;
	} else if (tariff_db_load_all(c, &ts, &locked, &nts, d) != 0) {
		goto out;
	} else {
		tv = ts;
	}
	if (nts == 0) {
		diag_add(d, "no tariff version loaded (releve tariff load)");
		goto out;
	}
	{
		const struct tariff *t0 = tariff_for(tv, nts, r->from);

		r->timezone = xstrdup(t0->timezone);
		r->currency = xstrdup(t0->currency);
		r->unit = xstrdup(tariff_unit_name(t0->unit));
	}
	p[1] = r->from;
	p[2] = r->to;
	subs = db_prepared(c, d, "usage_subs",
		       "SELECT plan_code, start_date::text AS s,"
		       " end_date::text AS e FROM subscriptions"
		       " WHERE customer_id = $1 AND start_date <= $3::date"
		       " AND (end_date IS NULL OR end_date > $2::date)"
		       " ORDER BY start_date",
		       3, p);
	dr = subs ? db_prepared(c, d, "usage_days",
			    "SELECT g.day::date::text AS day," SUMS ","
			    " s.storage_bytes AS storage"
			    " FROM generate_series($2::date, $3::date, "
			    "interval '1 day') g(day)"
			    " LEFT JOIN usage_daily u ON u.customer_id = $1"
			    "  AND u.day = g.day::date"
			    " LEFT JOIN storage_customer_days($1, $2::date,"
			    "  $3::date + 1) s ON s.day = g.day::date"
			    " GROUP BY g.day, s.storage_bytes ORDER BY g.day",
			    3, p)
		  : NULL;
	if (!dr) {
		goto out;
	}
	r->ndays = (size_t)PQntuples(dr);
	r->days = xcalloc(r->ndays + 1, sizeof(*r->days));
	for (size_t i = 0; i < r->ndays; i++) {
		struct usage_day *day = &r->days[i];
		const struct tariff *t;
		const struct tariff_plan *plan = NULL;

		snprintf(day->date, sizeof(day->date), "%s",
			 db_get(dr, (int)i, "day"));
		counts_get(dr, (int)i, &day->c);
		day->has_storage = db_get(dr, (int)i, "storage") != NULL;
		day->storage_bytes = get_i64(dr, (int)i, "storage");
		t = tariff_for(tv, nts, day->date);
		day->billable = rate_db_billable(t, day->c.messages,
						 day->c.recipients, day->c.local);
		for (int k = 0; k < PQntuples(subs); k++) {
			const char *s = db_get(subs, k, "s"),
				   *e = db_get(subs, k, "e");

			if (strcmp(s, day->date) <= 0 &&
			    (!e || strcmp(day->date, e) < 0)) {
				day->plan = plan_intern(
				    r, db_get(subs, k, "plan_code"));
				plan = tariff_plan_find(t, day->plan);
			}
		}
		/* A plan the version does not know has no quota to judge. */
		day->quota = plan ? plan->outbound_per_day : -1;
		day->state = usage_quota_state(day->billable, day->quota,
					       t->warn_ratio, t->block_ratio);
		counts_add(&r->totals, &day->c);
		r->totals_billable += day->billable;
		r->state_days[day->state]++;
		if (day->has_storage) {
			r->storage_days++;
			r->storage_avg += day->storage_bytes;
		}
	}
	if (r->storage_days) {
		r->storage_avg /= r->storage_days;
	}
	if (r->by != USAGE_BY_DAY && query_groups(c, r, d) != 0) {
		goto out;
	}
	/* The estimate concerns the current month: the period must end in
	 * it (whatever its start). */
	if (!strncmp(r->to, r->today, 7) && estimate(c, ref, r, d) != 0) {
		goto out;
	}
	rc = 0;
out:
	PQclear(subs);
	PQclear(dr);
	for (size_t i = 0; ts && i < nts; i++) {
		tariff_free(&ts[i]);
	}
	free(ts);
	free(locked);
	return rc;
}

int usage_query_ref(PGconn *c, const struct usage_ref *ref,
		    const struct usage_request *rq, struct usage_report *out,
		    struct diag *d)
{
	int rc;

	memset(out, 0, sizeof(*out));
	rc = query(c, ref, rq, out, d);
	if (rc != 0) {
		usage_report_free(out);
	}
	return rc;
}

int usage_query(PGconn *c, const struct usage_request *rq,
		struct usage_report *out, struct diag *d)
{
	return usage_query_ref(c, NULL, rq, out, d);
}

int usage_ref_load(PGconn *c, const char *today, struct usage_ref *ref,
		   struct diag *d)
{
	char day[16];
	int y, m, dd;

	memset(ref, 0, sizeof(*ref));
	if (today) {
		snprintf(day, sizeof(day), "%s", today);
	} else {
		PGresult *t = db_exec(c, d,
				      "SELECT releve_billing_day(now())::text",
				      0, NULL);

		if (!t) {
			return -1;
		}
		snprintf(day, sizeof(day), "%s", PQgetvalue(t, 0, 0));
		PQclear(t);
	}
	if (date_parse(day, &y, &m, &dd) != 0) {
		diag_add(d, "today: '%s' is not a date (YYYY-MM-DD)", day);
		return -1;
	}
	snprintf(ref->rates_on, sizeof(ref->rates_on), "%04d-%02d-%02d", y, m,
		 date_days_in_month(y, m));
	if (tariff_db_load_all(c, &ref->ts, &ref->locked, &ref->nts, d) != 0 ||
	    rate_db_seller_country(c, ref->seller, d) != 0 ||
	    vat_db_rates(c, ref->rates_on, &ref->rates, d) != 0) {
		usage_ref_free(ref);
		return -1;
	}
	return 0;
}

void usage_ref_free(struct usage_ref *ref)
{
	if (!ref) {
		return;
	}
	for (size_t i = 0; ref->ts && i < ref->nts; i++) {
		tariff_free(&ref->ts[i]);
	}
	free(ref->ts);
	free(ref->locked);
	vat_db_rates_free(&ref->rates);
	memset(ref, 0, sizeof(*ref));
}

void usage_report_free(struct usage_report *r)
{
	if (!r) {
		return;
	}
	free(r->customer);
	free(r->name);
	free(r->timezone);
	free(r->currency);
	free(r->unit);
	free(r->days);
	for (size_t i = 0; i < r->ngroups; i++) {
		free(r->groups[i].name);
	}
	free(r->groups);
	for (size_t i = 0; i < r->nplans; i++) {
		free(r->plans[i]);
	}
	free(r->plans);
	free(r->est.why_absent);
	free(r->est.tariff_version);
	free(r->est.currency);
	free(r->est.vat_regime);
	memset(r, 0, sizeof(*r));
}

/* ---- shaping ---- */

static void counts_json(json_t *o, const struct usage_counts *c)
{
	json_object_set_new(o, "outbound_messages", json_integer(c->messages));
	json_object_set_new(o, "outbound_recipients",
			    json_integer(c->recipients));
	json_object_set_new(o, "outbound_recipients_local",
			    json_integer(c->local));
	json_object_set_new(o, "sent", json_integer(c->sent));
	json_object_set_new(o, "bounced", json_integer(c->bounced));
	json_object_set_new(o, "deferred", json_integer(c->deferred));
	json_object_set_new(o, "expired", json_integer(c->expired));
}

static json_t *money_json(const struct usage_money *m)
{
	char a[MONEY_FMT_MAX], b[MONEY_FMT_MAX], c[MONEY_FMT_MAX];

	return json_pack("{s:s, s:s, s:s}", "net",
			 money_format_cents(a, m->net), "vat_total",
			 money_format_cents(b, m->vat_total), "total",
			 money_format_cents(c, m->total));
}

static const char *by_name(enum usage_by b)
{
	return b == USAGE_BY_DOMAIN    ? "domain"
	       : b == USAGE_BY_MAILBOX ? "mailbox"
				       : "day";
}

json_t *usage_to_json(const struct usage_report *r)
{
	json_t *o = json_object(), *days = json_array(), *tot = json_object();
	json_t *qd = json_object();

	json_object_set_new(o, "customer", json_string(r->customer));
	json_object_set_new(o, "name", json_string(r->name));
	json_object_set_new(o, "from", json_string(r->from));
	json_object_set_new(o, "to", json_string(r->to));
	json_object_set_new(o, "today", json_string(r->today));
	json_object_set_new(o, "timezone", json_string(r->timezone));
	json_object_set_new(o, "unit", json_string(r->unit));
	json_object_set_new(o, "by", json_string(by_name(r->by)));
	for (size_t i = 0; i < r->ndays; i++) {
		const struct usage_day *day = &r->days[i];
		json_t *j = json_object();

		json_object_set_new(j, "date", json_string(day->date));
		counts_json(j, &day->c);
		json_object_set_new(j, "billable", json_integer(day->billable));
		json_object_set_new(j, "storage_bytes",
				    day->has_storage
					? json_integer(day->storage_bytes)
					: json_null());
		json_object_set_new(j, "plan",
				    day->plan ? json_string(day->plan)
					      : json_null());
		json_object_set_new(j, "quota_per_day",
				    day->quota >= 0 ? json_integer(day->quota)
						    : json_null());
		json_object_set_new(j, "quota_state",
				    json_string(usage_quota_name(day->state)));
		json_array_append_new(days, j);
	}
	json_object_set_new(o, "days", days);
	json_object_set_new(tot, "days", json_integer((json_int_t)r->ndays));
	counts_json(tot, &r->totals);
	json_object_set_new(tot, "billable", json_integer(r->totals_billable));
	json_object_set_new(tot, "storage_days", json_integer(r->storage_days));
	json_object_set_new(tot, "storage_bytes_avg",
			    r->storage_days ? json_integer(r->storage_avg)
					    : json_null());
	for (int q = USAGE_QUOTA_NONE; q <= USAGE_QUOTA_BLOCKED; q++) {
		json_object_set_new(qd, usage_quota_name((enum usage_quota)q),
				    json_integer(r->state_days[q]));
	}
	json_object_set_new(tot, "quota_days", qd);
	json_object_set_new(o, "totals", tot);
	if (r->by != USAGE_BY_DAY) {
		json_t *rows = json_array();

		for (size_t i = 0; i < r->ngroups; i++) {
			json_t *j = json_object();

			json_object_set_new(j, "name",
					    json_string(r->groups[i].name));
			counts_json(j, &r->groups[i].c);
			json_object_set_new(
			    j, "storage_bytes_avg",
			    json_integer(r->groups[i].storage_avg));
			json_array_append_new(rows, j);
		}
		json_object_set_new(o, "rows", rows);
	}
	if (r->est.present) {
		const struct usage_estimate *e = &r->est;
		json_t *j = json_object(), *pj = money_json(&e->projected), *sf;

		json_object_set_new(j, "period", json_string(e->period));
		json_object_set_new(j, "as_of", json_string(e->as_of));
		json_object_set_new(j, "days_elapsed",
				    json_integer(e->days_elapsed));
		json_object_set_new(j, "days_in_month",
				    json_integer(e->days_in_month));
		json_object_set_new(j, "tariff_version",
				    json_string(e->tariff_version));
		json_object_set_new(j, "currency", json_string(e->currency));
		json_object_set_new(j, "vat_regime",
				    json_string(e->vat_regime));
		sf = money_json(&e->so_far);
		json_object_update(j, sf);
		json_decref(sf);
		json_object_set_new(pj, "daily_outbound",
				    json_integer(e->daily_outbound));
		json_object_set_new(pj, "daily_storage_bytes",
				    json_integer(e->daily_storage));
		json_object_set_new(j, "projected", pj);
		json_object_set_new(o, "estimate", j);
	} else if (r->est.why_absent) {
		json_object_set_new(o, "estimate", json_null());
		json_object_set_new(o, "estimate_absent",
				    json_string(r->est.why_absent));
	}
	return o;
}

/* Cells are built into a growing array of strings. */
struct cells {
	char **v;
	size_t n, cap;
};

static void cell(struct cells *c, char *s)
{
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->v = xreallocarray(c->v, c->cap, sizeof(*c->v));
	}
	c->v[c->n++] = s;
}

static void cell_i64(struct cells *c, int64_t v)
{
	cell(c, xasprintf("%lld", (long long)v));
}

static void counts_cells(struct cells *c, const struct usage_counts *u)
{
	cell_i64(c, u->messages);
	cell_i64(c, u->recipients);
	cell_i64(c, u->local);
	cell_i64(c, u->sent);
	cell_i64(c, u->bounced);
	cell_i64(c, u->deferred);
	cell_i64(c, u->expired);
}

static const char *const count_cols[] = {
	"outbound_messages",
	"outbound_recipients",
	"outbound_recipients_local",
	"sent",
	"bounced",
	"deferred",
	"expired",
};

char **usage_cells(const struct usage_report *r, size_t *nrows, size_t *ncols)
{
	struct cells c = { NULL, 0, 0 };

	if (r->by == USAGE_BY_DAY) {
		*ncols = 11;
		cell(&c, xstrdup("date"));
	} else {
		*ncols = 9;
		cell(&c, xstrdup(by_name(r->by)));
	}
	for (size_t i = 0; i < 7; i++) {
		cell(&c, xstrdup(count_cols[i]));
	}
	if (r->by == USAGE_BY_DAY) {
		cell(&c, xstrdup("storage_bytes"));
		cell(&c, xstrdup("quota_per_day"));
		cell(&c, xstrdup("quota_state"));
		for (size_t i = 0; i < r->ndays; i++) {
			const struct usage_day *d = &r->days[i];

			cell(&c, xstrdup(d->date));
			counts_cells(&c, &d->c);
			cell(&c, d->has_storage
				     ? xasprintf("%lld",
						 (long long)d->storage_bytes)
				     : xstrdup(""));
			cell(&c, d->quota >= 0
				     ? xasprintf("%lld", (long long)d->quota)
				     : xstrdup(""));
			cell(&c, xstrdup(usage_quota_name(d->state)));
		}
		*nrows = r->ndays + 1;
	} else {
		cell(&c, xstrdup("storage_bytes_avg"));
		for (size_t i = 0; i < r->ngroups; i++) {
			cell(&c, xstrdup(r->groups[i].name));
			counts_cells(&c, &r->groups[i].c);
			cell_i64(&c, r->groups[i].storage_avg);
		}
		*nrows = r->ngroups + 1;
	}
	return c.v;
}

void usage_cells_free(char **cells, size_t n)
{
	if (!cells) {
		return;
	}
	for (size_t i = 0; i < n; i++) {
		free(cells[i]);
	}
	free(cells);
}
