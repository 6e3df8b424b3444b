/*
 * rate_db — read customers' months for the rater; see rate_db.h.
 *
 * A batch reads a whole month for every customer (or one) in four
 * queries, each holding only the customers with a subscription in the
 * month and ordered by customer id the same way (the database's order,
 * which its indexes give for free), and hands the customers out one by
 * one, walking the four results side by side: rating 100,000 customers
 * costs four round trips, not 400,000.
 */
#include "rate_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/db.h"
#include "common/dbprep.h"
#include "common/xalloc.h"

int64_t rate_db_billable(const struct tariff *t, int64_t messages,
			 int64_t recipients, int64_t local)
{
	if (t->unit == TARIFF_UNIT_MESSAGE) {
		return messages;
	}
	return t->count_local ? recipients : recipients - local;
}

int rate_db_seller_country(PGconn *c, char cc[3], struct diag *d)
{
	PGresult *r = db_exec(c, d, "SELECT country FROM seller", 0, NULL);

	if (!r) {
		return -1;
	}
	snprintf(cc, 3, "%s", PQntuples(r) ? PQgetvalue(r, 0, 0) : "FR");
	PQclear(r);
	return 0;
}

void rate_db_batch_close(struct rate_db_batch *b)
{
	if (!b) {
		return;
	}
	PQclear(b->cust);
	PQclear(b->subs);
	PQclear(b->out);
	PQclear(b->sto);
	memset(b, 0, sizeof(*b));
}

void rate_db_month_free(struct rate_db_month *mo)
{
	if (!mo) {
		return;
	}
	free(mo->name);
	free(mo->language);
	free(mo->subs);
	if (mo->batch) {
		rate_db_batch_close(mo->batch);
		free(mo->batch);
	}
	memset(mo, 0, sizeof(*mo));
}

int rate_db_batch_open(PGconn *c, const char *customer, int y, int m,
		       int upto, const struct tariff *t,
		       const struct vat_rates *rates, const char *seller_cc,
		       struct rate_db_batch *b, struct diag *d)
{
	const char *p[4];

	memset(b, 0, sizeof(*b));
	b->y = y;
	b->m = m;
	b->ndays = date_days_in_month(y, m);
	b->upto = upto <= 0 || upto > b->ndays ? b->ndays : upto;
	b->t = t;
	b->rates = rates;
	snprintf(b->seller, sizeof(b->seller), "%s", seller_cc);
	snprintf(b->first, sizeof(b->first), "%04d-%02d-01", y, m);
	snprintf(b->last, sizeof(b->last), "%04d-%02d-%02d", y, m, b->upto);
	snprintf(b->next, sizeof(b->next), "%04d-%02d-01", m == 12 ? y + 1 : y,
		 m == 12 ? 1 : m + 1);
	p[0] = b->first;
	p[1] = b->next;
	p[2] = customer;
	p[3] = b->last;
	/* The customers with a subscription in the month, and theirs. */
	b->subs = db_exec(c, d,
		"SELECT customer_id, plan_code, start_date::text AS s,"
		" end_date::text AS e FROM subscriptions"
		" WHERE start_date < $2::date"
		" AND (end_date IS NULL OR end_date > $1::date)"
		" AND ($3::text IS NULL OR customer_id = $3)"
		" ORDER BY customer_id, start_date", 3, p);
	b->cust = b->subs ? db_exec(c, d,
		"SELECT id, name, kind, country, postal_code, vat_number,"
		" language FROM customers c WHERE EXISTS (SELECT 1 FROM"
		" subscriptions s WHERE s.customer_id = c.id"
		" AND s.start_date < $2::date"
		" AND (s.end_date IS NULL OR s.end_date > $1::date))"
		" AND ($3::text IS NULL OR id = $3)"
		" ORDER BY id", 3, p) : NULL;
	{
		const char *q[4] = {b->first, b->last, customer, b->next};

		/* One row per customer, its days as one text "day msgs
		 * rcpt local day msgs ...": a hundred thousand rows to
		 * receive rather than three million. */
		b->out = b->cust ? db_exec(c, d,
			"SELECT customer_id, string_agg(concat_ws(' ', d, msgs,"
			" rcpt, loc), ' ') AS days FROM ("
			" SELECT customer_id, extract(day FROM day)::int AS d,"
			" sum(out_messages) AS msgs, sum(out_recipients) AS rcpt,"
			" sum(out_recipients_local) AS loc FROM usage_daily u"
			" WHERE day >= $1::date AND day <= $2::date"
			" AND ($3::text IS NULL OR customer_id = $3)"
			" AND EXISTS (SELECT 1 FROM subscriptions s"
			"  WHERE s.customer_id = u.customer_id"
			"  AND s.start_date < $4::date"
			"  AND (s.end_date IS NULL OR s.end_date > $1::date))"
			" GROUP BY customer_id, day) g"
			" GROUP BY customer_id ORDER BY customer_id", 4, q)
			: NULL;
		b->sto = b->out ? db_exec(c, d,
			"SELECT customer_id, string_agg(concat_ws(' ',"
			" extract(day FROM day)::int, storage_bytes, gaps), ' ')"
			" AS days FROM storage_customer_daily x"
			" WHERE day >= $1::date AND day <= $2::date"
			" AND ($3::text IS NULL OR customer_id = $3)"
			" AND EXISTS (SELECT 1 FROM subscriptions s"
			"  WHERE s.customer_id = x.customer_id"
			"  AND s.start_date < $4::date"
			"  AND (s.end_date IS NULL OR s.end_date > $1::date))"
			" GROUP BY customer_id ORDER BY customer_id", 4, q)
			: NULL;
	}
	if (!b->sto) {
		rate_db_batch_close(b);
		return -1;
	}
	return 0;
}

/* Read n space-separated integers at *p (the database's own output);
 * 1 when all n were there. */
static int numbers(const char **p, int64_t *v, int n)
{
	for (int i = 0; i < n; i++) {
		char *end;

		while (**p == ' ') {
			(*p)++;
		}
		if (!**p) {
			return 0;
		}
		v[i] = strtoll(*p, &end, 10);
		if (end == *p) {
			return 0;
		}
		*p = end;
	}
	return 1;
}

/* 1 while row of r (column 0: customer id) is id's.  Every result holds
 * the same customers in the same order, so rows never need skipping. */
static int at(const PGresult *r, const int *row, const char *id)
{
	return *row < PQntuples(r) && strcmp(PQgetvalue(r, *row, 0), id) == 0;
}

/* Days 1..upto of mo from the out column "day msgs rcpt local ...". */
static void fill_out(struct rate_db_month *mo, const struct tariff *t,
		     int upto, const char *p)
{
	int64_t v[4];

	while (p && numbers(&p, v, 4)) {
		if (v[0] >= 1 && v[0] <= upto) {
			mo->days[v[0] - 1].outbound =
				rate_db_billable(t, v[1], v[2], v[3]);
		}
	}
}

/* Days 1..upto of mo from the sto column "day bytes gaps ...". */
static void fill_sto(struct rate_db_month *mo, int upto, const char *p)
{
	int64_t v[3];

	while (p && numbers(&p, v, 3)) {
		if (v[0] >= 1 && v[0] <= upto) {
			mo->days[v[0] - 1].storage_bytes = v[1];
			mo->days[v[0] - 1].storage_missing = v[2] > 0;
		}
	}
}

/* Subscription i of mo from its plan, start and end (NULL: open). */
static void fill_sub(struct rate_db_month *mo, size_t i, const char *plan,
		     const char *start, const char *end)
{
	mo->subs[i].plan = plan;
	rate_day_of_month(mo->year, mo->month, start, &mo->subs[i].start);
	mo->subs[i].end = RATE_OPEN;
	if (end) {
		rate_day_of_month(mo->year, mo->month, end, &mo->subs[i].end);
	}
}

/* Name, language and VAT regime of mo from row i of r (customers). */
static int fill_customer(struct rate_db_month *mo, const PGresult *r, int i,
			 const char *seller, const struct tariff *t,
			 const struct vat_rates *rates, struct diag *d)
{
	struct vat_customer vc;

	vc.kind = db_get(r, i, "kind");
	vc.country = db_get(r, i, "country");
	vc.postal_code = db_get(r, i, "postal_code");
	vc.vat_number = db_get(r, i, "vat_number");
	mo->name = xstrdup(db_get(r, i, "name"));
	mo->language = xstrdup(db_get(r, i, "language"));
	return vat_decide(seller, &vc, t->vat_oss, vat_rates_lookup,
			  (void *)rates, &mo->vat, d);
}

static void month_start(struct rate_db_month *mo, const char *id, int y,
			int m, int ndays)
{
	mo->customer = id;
	mo->year = y;
	mo->month = m;
	mo->ndays = ndays;
	for (int i = 0; i < mo->ndays; i++) {
		mo->days[i].storage_missing = 1;
	}
}

int rate_db_batch_next(struct rate_db_batch *b, struct rate_db_month *mo,
		       struct diag *d)
{
	const char *id;
	int first, n, ci;

	memset(mo, 0, sizeof(*mo));
	if (b->ci >= PQntuples(b->cust)) {
		return 1;
	}
	id = PQgetvalue(b->cust, b->ci, 0);
	month_start(mo, id, b->y, b->m, b->ndays);
	if (!at(b->subs, &b->si, id)) {
		/* Impossible: the customers were chosen by subscription. */
		diag_add(d, "%s: subscriptions changed while reading", id);
		b->ci++;
		return -1;
	}
	for (first = b->si; at(b->subs, &b->si, id); b->si++) {
	}
	n = b->si - first;
	mo->subs = xcalloc((size_t)n, sizeof(*mo->subs));
	mo->nsubs = (size_t)n;
	for (int i = 0; i < n; i++) {
		fill_sub(mo, (size_t)i, db_get(b->subs, first + i, "plan_code"),
			 db_get(b->subs, first + i, "s"),
			 db_get(b->subs, first + i, "e"));
	}
	if (at(b->out, &b->oi, id)) {
		fill_out(mo, b->t, b->upto, PQgetvalue(b->out, b->oi++, 1));
	}
	if (at(b->sto, &b->ti, id)) {
		fill_sto(mo, b->upto, PQgetvalue(b->sto, b->ti++, 1));
	}
	ci = b->ci++;
	return fill_customer(mo, b->cust, ci, b->seller, b->t, b->rates, d);
}

/*
 * One customer's month in one query (the server answers this for every
 * GET /v1/usage): the customer row, repeated once per subscription in
 * the month (one row with a NULL plan when there is none), with its
 * outbound and storage days as the batch's texts.  The same tables,
 * bounds and rules as rate_db_batch_open's four queries.
 */
int rate_db_month_load(PGconn *c, const char *customer, int y, int m,
		       int upto, const struct tariff *t,
		       const struct vat_rates *rates, const char *seller_cc,
		       struct rate_db_month *mo, struct diag *d)
{
	char first[32], last[32], next[32];
	const char *p[4] = { first, next, last, customer };
	int ndays = date_days_in_month(y, m), n;
	PGresult *r;

	memset(mo, 0, sizeof(*mo));
	if (upto <= 0 || upto > ndays) {
		upto = ndays;
	}
	snprintf(first, sizeof(first), "%04d-%02d-01", y, m);
	snprintf(last, sizeof(last), "%04d-%02d-%02d", y, m, upto);
	snprintf(next, sizeof(next), "%04d-%02d-01", m == 12 ? y + 1 : y,
		 m == 12 ? 1 : m + 1);
	r = db_prepared(c, d, "rate_db_month",
		"SELECT c.id, c.name, c.kind, c.country, c.postal_code,"
		" c.vat_number, c.language, s.plan_code,"
		" s.start_date::text AS s, s.end_date::text AS e,"
		" o.days AS out, x.days AS sto"
		" FROM customers c"
		" LEFT JOIN LATERAL (SELECT string_agg(concat_ws(' ', d, msgs,"
		"  rcpt, loc), ' ') AS days FROM ("
		"  SELECT extract(day FROM day)::int AS d,"
		"  sum(out_messages) AS msgs, sum(out_recipients) AS rcpt,"
		"  sum(out_recipients_local) AS loc FROM usage_daily u"
		"  WHERE u.customer_id = c.id"
		"  AND day >= $1::date AND day <= $3::date GROUP BY day) g) o"
		"  ON true"
		" LEFT JOIN LATERAL (SELECT string_agg(concat_ws(' ',"
		"  extract(day FROM day)::int, storage_bytes, gaps), ' ')"
		"  AS days FROM storage_customer_daily w"
		"  WHERE w.customer_id = c.id"
		"  AND day >= $1::date AND day <= $3::date) x ON true"
		" LEFT JOIN subscriptions s ON s.customer_id = c.id"
		"  AND s.start_date < $2::date"
		"  AND (s.end_date IS NULL OR s.end_date > $1::date)"
		" WHERE c.id = $4 ORDER BY s.start_date", 4, p);
	if (!r) {
		return -1;
	}
	n = PQntuples(r);
	if (n == 0) {
		PQclear(r);
		diag_add(d, "no customer '%s'", customer);
		return -1;
	}
	if (!db_get(r, 0, "plan_code")) {
		PQclear(r);
		return 1;
	}
	/* The strings of mo point into r: a batch holding only r keeps
	 * it until rate_db_month_free. */
	mo->batch = xcalloc(1, sizeof(*mo->batch));
	mo->batch->cust = r;
	month_start(mo, PQgetvalue(r, 0, 0), y, m, ndays);
	mo->subs = xcalloc((size_t)n, sizeof(*mo->subs));
	mo->nsubs = (size_t)n;
	for (int i = 0; i < n; i++) {
		fill_sub(mo, (size_t)i, db_get(r, i, "plan_code"),
			 db_get(r, i, "s"), db_get(r, i, "e"));
	}
	fill_out(mo, t, upto, db_get(r, 0, "out"));
	fill_sto(mo, upto, db_get(r, 0, "sto"));
	if (fill_customer(mo, r, 0, seller_cc, t, rates, d) != 0) {
		rate_db_month_free(mo);
		return -1;
	}
	return 0;
}

void rate_db_month_input(const struct rate_db_month *mo,
			 const struct tariff *t, struct rate_input *in)
{
	memset(in, 0, sizeof(*in));
	in->tariff = t;
	in->year = mo->year;
	in->month = mo->month;
	in->subs = mo->subs;
	in->nsubs = mo->nsubs;
	in->days = mo->days;
	in->ndays = mo->ndays;
	rate_input_set_vat(in, mo->vat.rate, mo->vat.code);
}
