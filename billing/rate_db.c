/*
 * rate_db — read a customer's month for the rater; see rate_db.h.
 */
#include "rate_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/db.h"
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

void rate_db_month_free(struct rate_db_month *mo)
{
	if (!mo) {
		return;
	}
	free(mo->name);
	free(mo->language);
	free(mo->subs);
	PQclear(mo->keep);
	memset(mo, 0, sizeof(*mo));
}

int rate_db_month_load(PGconn *c, const char *customer, int y, int m,
		       int upto, const struct tariff *t,
		       const struct vat_rates *rates, const char *seller_cc,
		       struct rate_db_month *mo, struct diag *d)
{
	char first[32], next[32], last[32];
	const char *p[3] = {customer, first, next};
	const char *q[3] = {customer, first, last};
	PGresult *cu = NULL, *out = NULL, *sto = NULL;
	struct vat_customer vc;
	int n, rc = -1;

	memset(mo, 0, sizeof(*mo));
	mo->year = y;
	mo->month = m;
	mo->ndays = date_days_in_month(y, m);
	if (upto <= 0 || upto > mo->ndays) {
		upto = mo->ndays;
	}
	snprintf(first, sizeof(first), "%04d-%02d-01", y, m);
	snprintf(last, sizeof(last), "%04d-%02d-%02d", y, m, upto);
	snprintf(next, sizeof(next), "%04d-%02d-01", m == 12 ? y + 1 : y,
		 m == 12 ? 1 : m + 1);
	cu = db_exec(c, d, "SELECT name, kind, country, postal_code,"
			   " vat_number, language FROM customers WHERE id = $1",
		     1, p);
	if (!cu) {
		goto out;
	}
	if (PQntuples(cu) == 0) {
		diag_add(d, "no customer '%s'", customer);
		goto out;
	}
	mo->keep = db_exec(c, d, "SELECT plan_code, start_date::text AS s,"
				 " end_date::text AS e FROM subscriptions"
				 " WHERE customer_id = $1"
				 " AND start_date < $3::date"
				 " AND (end_date IS NULL OR end_date > $2::date)"
				 " ORDER BY start_date", 3, p);
	if (!mo->keep) {
		goto out;
	}
	n = PQntuples(mo->keep);
	if (n == 0) {
		rc = 1;
		goto out;
	}
	mo->subs = xcalloc((size_t)n, sizeof(*mo->subs));
	mo->nsubs = (size_t)n;
	for (int i = 0; i < n; i++) {
		const char *end = db_get(mo->keep, i, "e");

		mo->subs[i].plan = db_get(mo->keep, i, "plan_code");
		rate_day_of_month(y, m, db_get(mo->keep, i, "s"),
				  &mo->subs[i].start);
		mo->subs[i].end = RATE_OPEN;
		if (end) {
			rate_day_of_month(y, m, end, &mo->subs[i].end);
		}
	}
	out = db_exec(c, d, "SELECT extract(day FROM day)::int AS d,"
			    " sum(out_messages) AS msgs,"
			    " sum(out_recipients) AS rcpt,"
			    " sum(out_recipients_local) AS loc"
			    " FROM usage_daily WHERE customer_id = $1"
			    " AND day >= $2::date AND day <= $3::date"
			    " GROUP BY day", 3, q);
	sto = out ? db_exec(c, d, "SELECT extract(day FROM day)::int AS d,"
				  " storage_bytes, gaps"
				  " FROM storage_customer_daily"
				  " WHERE customer_id = $1"
				  " AND day >= $2::date AND day <= $3::date",
			    3, q)
		  : NULL;
	if (!sto) {
		goto out;
	}
	for (int i = 0; i < mo->ndays; i++) {
		mo->days[i].storage_missing = 1;
	}
	for (int i = 0; i < PQntuples(out); i++) {
		int dd = atoi(db_get(out, i, "d"));

		if (dd >= 1 && dd <= upto) {
			mo->days[dd - 1].outbound = rate_db_billable(
				t, atoll(db_get(out, i, "msgs")),
				atoll(db_get(out, i, "rcpt")),
				atoll(db_get(out, i, "loc")));
		}
	}
	for (int i = 0; i < PQntuples(sto); i++) {
		int dd = atoi(db_get(sto, i, "d"));

		if (dd >= 1 && dd <= upto) {
			mo->days[dd - 1].storage_bytes =
				atoll(db_get(sto, i, "storage_bytes"));
			mo->days[dd - 1].storage_missing =
				atoi(db_get(sto, i, "gaps")) > 0;
		}
	}
	vc.kind = db_get(cu, 0, "kind");
	vc.country = db_get(cu, 0, "country");
	vc.postal_code = db_get(cu, 0, "postal_code");
	vc.vat_number = db_get(cu, 0, "vat_number");
	if (vat_decide(seller_cc, &vc, t->vat_oss, vat_rates_lookup,
		       (void *)rates, &mo->vat, d) != 0) {
		goto out;
	}
	mo->name = xstrdup(db_get(cu, 0, "name"));
	mo->language = xstrdup(db_get(cu, 0, "language"));
	rc = 0;
out:
	PQclear(cu);
	PQclear(out);
	PQclear(sto);
	if (rc != 0) {
		rate_db_month_free(mo);
	}
	return rc;
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
