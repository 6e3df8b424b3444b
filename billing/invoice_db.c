/*
 * invoice_db — invoices in the database; see invoice_db.h and
 * sql/007_invoice.sql.
 *
 * Concurrency: the batch writes a chunk of drafts per transaction under
 * an advisory lock of the period, after locking the rows it replaces; the
 * issuer locks its series counter row first, then the drafts it numbers,
 * so that two issuers queue and numbers never skip or repeat; a rolled
 * back issue gives its numbers back with the counter.
 */
#include "invoice_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/copy.h"
#include "common/date.h"
#include "common/db.h"
#include "common/jsonv.h"
#include "common/xalloc.h"
#include "money.h"

#define ISSUE_CHUNK 1000
#define RUN_LOCK_CLASS 0x72656c76 /* advisory lock: ("relv", period) */

/* ---------------------------------------------------------------- */
/* Small helpers */

static char *dupnull(const char *s)
{
	return s ? xstrdup(s) : NULL;
}

static int64_t to_i64(const char *s)
{
	return s ? strtoll(s, NULL, 10) : 0;
}

static void copy_date(char dst[11], const char *src)
{
	snprintf(dst, 11, "%s", src ? src : "");
}

/* A PostgreSQL array literal of ids (bigint). */
static char *id_array(const int64_t *ids, size_t n)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	fputc('{', f);
	for (size_t i = 0; i < n; i++) {
		fprintf(f, "%s%lld", i ? "," : "", (long long)ids[i]);
	}
	fputc('}', f);
	fclose(f);
	return out;
}

/* A PostgreSQL array literal of text values, each quoted. */
static char *text_array(const char *const *v, size_t n)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);

	fputc('{', f);
	for (size_t i = 0; i < n; i++) {
		fputs(i ? ",\"" : "\"", f);
		for (const char *p = v[i]; *p; p++) {
			if (*p == '"' || *p == '\\') {
				fputc('\\', f);
			}
			fputc(*p, f);
		}
		fputc('"', f);
	}
	fputc('}', f);
	fclose(f);
	return out;
}

static const char *jget(json_t *o, const char *key)
{
	return json_string_value(json_object_get(o, key));
}

/* ---------------------------------------------------------------- */
/* The batch's environment */

int invoice_env_load(PGconn *c, const struct tariff *t, const char *customer,
		     int y, int m, const char *mention_day,
		     struct invoice_env *env, struct diag *d)
{
	char first[32], next[32];
	const char *p[3];
	int rc;

	memset(env, 0, sizeof(*env));
	env->t = t;
	rc = seller_db_load(c, &env->seller, d);
	if (rc != 0) {
		if (rc == 1) {
			diag_add(d, "no seller is set: run `releve seller set "
				    "FILE` first (invoices print its identity)");
		}
		return -1;
	}
	p[0] = mention_day;
	env->mentions = db_exec(
		c, d,
		"SELECT k.key, legal_mention_on(k.key, 'fr', $1::date) AS fr,"
		" legal_mention_on(k.key, 'en', $1::date) AS en"
		" FROM (SELECT DISTINCT key FROM legal_mentions) k"
		" ORDER BY k.key COLLATE \"C\"",
		1, p);
	if (!env->mentions) {
		invoice_env_free(env);
		return -1;
	}
	snprintf(first, sizeof(first), "%04d-%02d-01", y, m);
	snprintf(next, sizeof(next), "%04d-%02d-01", m == 12 ? y + 1 : y,
		 m == 12 ? 1 : m + 1);
	p[0] = customer;
	p[1] = first;
	p[2] = next;
	env->customers = db_exec(
		c, d,
		"SELECT c.id, c.name, c.kind, c.address_line1,"
		" c.address_line2, c.postal_code, c.city, c.country,"
		" c.vat_number, c.siren, c.billing_email, c.language"
		" FROM customers c"
		" WHERE ($1::text IS NULL OR c.id = $1)"
		"   AND EXISTS (SELECT 1 FROM subscriptions s"
		"               WHERE s.customer_id = c.id"
		"                 AND s.start_date < $3::date"
		"                 AND (s.end_date IS NULL"
		"                      OR s.end_date > $2::date))"
		" ORDER BY c.id COLLATE \"C\"",
		3, p);
	if (!env->customers) {
		invoice_env_free(env);
		return -1;
	}
	return 0;
}

void invoice_env_free(struct invoice_env *env)
{
	if (!env) {
		return;
	}
	seller_free(&env->seller);
	PQclear(env->mentions);
	PQclear(env->customers);
	memset(env, 0, sizeof(*env));
}

/* The row of customer id in env->customers (byte order), or -1. */
static int env_customer(const struct invoice_env *env, const char *id)
{
	int lo = 0, hi = PQntuples(env->customers) - 1;

	while (lo <= hi) {
		int mid = lo + (hi - lo) / 2;
		int cmp = strcmp(PQgetvalue(env->customers, mid, 0), id);

		if (cmp == 0) {
			return mid;
		}
		if (cmp < 0) {
			lo = mid + 1;
		} else {
			hi = mid - 1;
		}
	}
	return -1;
}

static int env_mention(const struct invoice_env *env, const char *key)
{
	for (int i = 0; i < PQntuples(env->mentions); i++) {
		if (!strcmp(PQgetvalue(env->mentions, i, 0), key)) {
			return i;
		}
	}
	return -1;
}

/* ---------------------------------------------------------------- */
/* Building a draft */

static void customer_from_row(struct invoice_customer *cu, const PGresult *r,
			      int row)
{
	cu->id = dupnull(db_get(r, row, "id"));
	cu->name = dupnull(db_get(r, row, "name"));
	cu->kind = dupnull(db_get(r, row, "kind"));
	cu->line1 = dupnull(db_get(r, row, "address_line1"));
	cu->line2 = dupnull(db_get(r, row, "address_line2"));
	cu->postal_code = dupnull(db_get(r, row, "postal_code"));
	cu->city = dupnull(db_get(r, row, "city"));
	cu->country = dupnull(db_get(r, row, "country"));
	cu->vat_number = dupnull(db_get(r, row, "vat_number"));
	cu->siren = dupnull(db_get(r, row, "siren"));
	cu->email = dupnull(db_get(r, row, "billing_email"));
	cu->language = dupnull(db_get(r, row, "language"));
}

static int cmp_vat(const void *a, const void *b)
{
	const struct invoice_vat *x = a, *y = b;

	return (x->rate > y->rate) - (x->rate < y->rate);
}

/* The subscription active on day (1..D), or NULL. */
static const struct rate_sub *sub_on(const struct rate_db_month *mo, int day)
{
	for (size_t i = 0; i < mo->nsubs; i++) {
		if (mo->subs[i].start <= day && day < mo->subs[i].end) {
			return &mo->subs[i];
		}
	}
	return NULL;
}

static void build_usage(const struct invoice_env *env,
			const struct rate_db_month *mo,
			const struct rate_result *r, struct invoice_usage *u)
{
	const struct tariff *t = env->t;
	const struct tariff_plan *last = NULL;

	u->ndays = mo->ndays;
	u->unit = xstrdup(t->unit == TARIFF_UNIT_MESSAGE ? "messages"
							 : "recipients");
	for (int i = 0; i < mo->ndays; i++) {
		const struct rate_sub *s = sub_on(mo, i + 1);
		const struct tariff_plan *p =
			s ? tariff_plan_find(t, s->plan) : NULL;

		u->outbound[i] = mo->days[i].outbound;
		u->quota[i] = p ? p->outbound_per_day : -1;
		if (p) {
			last = p;
		}
	}
	u->storage_avg = r->usage.storage_avg;
	u->storage_included = last ? last->storage_included : 0;
	u->over_quota_days = r->usage.over_quota_days;
	u->tolerated_days = r->usage.tolerated_days;
	u->billed_days = r->usage.billed_days;
	u->plan = dupnull(last ? last->code : NULL);
	u->plan_name = dupnull(last ? last->name : NULL);
	if (r->advice.plan) {
		u->advice = xstrdup(r->advice.plan->code);
		u->advice_name = xstrdup(r->advice.plan->name);
		u->advice_covers = r->advice.covers;
	}
}

int invoice_build(const struct invoice_env *env,
		  const struct rate_db_month *mo, const struct rate_result *r,
		  struct invoice *inv, struct diag *d)
{
	const struct tariff *t = env->t;
	int row = env_customer(env, mo->customer);
	char desc[512];

	memset(inv, 0, sizeof(*inv));
	if (row < 0) {
		diag_add(d, "customer %s: not found among the customers to "
			    "invoice", mo->customer);
		return -1;
	}
	customer_from_row(&inv->customer, env->customers, row);
	snprintf(inv->period_start, sizeof(inv->period_start),
		 "%04d-%02d-01", mo->year, mo->month);
	snprintf(inv->period_end, sizeof(inv->period_end), "%04d-%02d-%02d",
		 mo->year, mo->month, mo->ndays);
	inv->currency = xstrdup(t->currency);
	inv->tariff_version = xstrdup(t->version);
	inv->vat_regime = xstrdup(mo->vat.code);
	inv->net = r->net;
	inv->vat_total = r->vat_total;
	inv->total = r->total;
	inv->lines = xcalloc(r->nlines ? r->nlines : 1, sizeof(*inv->lines));
	inv->nlines = r->nlines;
	for (size_t i = 0; i < r->nlines; i++) {
		const struct rate_line *l = &r->lines[i];
		struct invoice_line *o = &inv->lines[i];

		o->no = (int)i + 1;
		o->kind = xstrdup(rate_kind_name(l->kind));
		o->plan = dupnull(l->plan ? l->plan->code : NULL);
		o->description = xstrdup(
			rate_line_describe(desc, sizeof(desc), r, l, t, "fr"));
		if (inv->customer.language &&
		    !strcmp(inv->customer.language, "en")) {
			o->description_en = xstrdup(rate_line_describe(
				desc, sizeof(desc), r, l, t, "en"));
		}
		o->quantity = l->quantity;
		o->unit = xstrdup(rate_unit_name(l->unit));
		o->unit_price = l->unit_price;
		o->vat_rate = l->vat.rate;
		o->net = l->net;
	}
	inv->vat = xcalloc(r->nvat ? r->nvat : 1, sizeof(*inv->vat));
	inv->nvat = r->nvat;
	for (size_t i = 0; i < r->nvat; i++) {
		inv->vat[i].rate = r->vat[i].vat.rate;
		inv->vat[i].base = r->vat[i].base;
		inv->vat[i].amount = r->vat[i].amount;
	}
	qsort(inv->vat, inv->nvat, sizeof(*inv->vat), cmp_vat);
	inv->mentions = xcalloc(VAT_MENTIONS_MAX + 1, sizeof(*inv->mentions));
	for (size_t i = 0; i < mo->vat.nmentions && mo->vat.mentions[i]; i++) {
		const char *key = mo->vat.mentions[i];
		int k = env_mention(env, key);
		struct invoice_mention *me = &inv->mentions[inv->nmentions];
		const char *fr, *en;

		if (k < 0 || !(fr = db_get(env->mentions, k, "fr"))) {
			diag_add(d, "customer %s: legal mention '%s' has no "
				    "French text in force", mo->customer, key);
			invoice_free(inv);
			return -1;
		}
		en = db_get(env->mentions, k, "en");
		me->key = xstrdup(key);
		me->fr = invoice_mention_expand(fr, &env->seller,
						mo->vat.rate_country,
						mo->vat.rate, 1);
		me->en = en ? invoice_mention_expand(en, &env->seller,
						     mo->vat.rate_country,
						     mo->vat.rate, 0)
			    : NULL;
		inv->nmentions++;
	}
	build_usage(env, mo, r, &inv->usage);
	return 0;
}

/* ---------------------------------------------------------------- */
/* Snapshots as JSON */

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *customer_json(const struct invoice_customer *cu)
{
	json_t *o = json_object();

	json_object_set_new(o, "id", jstr(cu->id));
	json_object_set_new(o, "name", jstr(cu->name));
	json_object_set_new(o, "kind", jstr(cu->kind));
	json_object_set_new(o, "address_line1", jstr(cu->line1));
	json_object_set_new(o, "address_line2", jstr(cu->line2));
	json_object_set_new(o, "postal_code", jstr(cu->postal_code));
	json_object_set_new(o, "city", jstr(cu->city));
	json_object_set_new(o, "country", jstr(cu->country));
	json_object_set_new(o, "siren", jstr(cu->siren));
	json_object_set_new(o, "vat_number", jstr(cu->vat_number));
	json_object_set_new(o, "email", jstr(cu->email));
	json_object_set_new(o, "language", jstr(cu->language));
	return o;
}

static void customer_from_json(struct invoice_customer *cu, json_t *o)
{
	cu->id = dupnull(jget(o, "id"));
	cu->name = dupnull(jget(o, "name"));
	cu->kind = dupnull(jget(o, "kind"));
	cu->line1 = dupnull(jget(o, "address_line1"));
	cu->line2 = dupnull(jget(o, "address_line2"));
	cu->postal_code = dupnull(jget(o, "postal_code"));
	cu->city = dupnull(jget(o, "city"));
	cu->country = dupnull(jget(o, "country"));
	cu->siren = dupnull(jget(o, "siren"));
	cu->vat_number = dupnull(jget(o, "vat_number"));
	cu->email = dupnull(jget(o, "email"));
	cu->language = dupnull(jget(o, "language"));
}

static json_t *mentions_json(const struct invoice *inv)
{
	json_t *a = json_array();

	for (size_t i = 0; i < inv->nmentions; i++) {
		json_array_append_new(
			a, json_pack("{s:s, s:s, s:o}", "key",
				     inv->mentions[i].key, "fr",
				     inv->mentions[i].fr, "en",
				     jstr(inv->mentions[i].en)));
	}
	return a;
}

static void mentions_from_json(struct invoice *inv, json_t *a)
{
	size_t n = json_array_size(a);

	inv->mentions = xcalloc(n ? n : 1, sizeof(*inv->mentions));
	for (size_t i = 0; i < n; i++) {
		json_t *m = json_array_get(a, i);
		struct invoice_mention *me = &inv->mentions[inv->nmentions];

		if (!jget(m, "key") || !jget(m, "fr")) {
			continue;
		}
		me->key = xstrdup(jget(m, "key"));
		me->fr = xstrdup(jget(m, "fr"));
		me->en = dupnull(jget(m, "en"));
		inv->nmentions++;
	}
}

static json_t *usage_json(const struct invoice_usage *u)
{
	json_t *o = json_object(), *out = json_array(), *q = json_array();

	if (u->ndays == 0) {
		json_decref(out);
		json_decref(q);
		return o;
	}
	for (int i = 0; i < u->ndays; i++) {
		json_array_append_new(out, json_integer(u->outbound[i]));
		json_array_append_new(q, json_integer(u->quota[i]));
	}
	json_object_set_new(o, "unit", jstr(u->unit));
	json_object_set_new(o, "outbound", out);
	json_object_set_new(o, "quota", q);
	json_object_set_new(o, "storage_avg", json_integer(u->storage_avg));
	json_object_set_new(o, "storage_included",
			    json_integer(u->storage_included));
	json_object_set_new(o, "over_quota_days",
			    json_integer(u->over_quota_days));
	json_object_set_new(o, "tolerated_days",
			    json_integer(u->tolerated_days));
	json_object_set_new(o, "billed_days", json_integer(u->billed_days));
	json_object_set_new(o, "plan", jstr(u->plan));
	json_object_set_new(o, "plan_name", jstr(u->plan_name));
	json_object_set_new(o, "advice", jstr(u->advice));
	json_object_set_new(o, "advice_name", jstr(u->advice_name));
	json_object_set_new(o, "advice_covers",
			    json_boolean(u->advice_covers));
	return o;
}

static void usage_from_json(struct invoice_usage *u, json_t *o)
{
	json_t *out = json_object_get(o, "outbound");
	json_t *q = json_object_get(o, "quota");
	size_t n = json_array_size(out);

	if (n == 0 || n > RATE_MAX_DAYS || json_array_size(q) != n) {
		return;
	}
	u->ndays = (int)n;
	for (size_t i = 0; i < n; i++) {
		u->outbound[i] = json_integer_value(json_array_get(out, i));
		u->quota[i] = json_integer_value(json_array_get(q, i));
	}
	u->unit = dupnull(jget(o, "unit"));
	u->storage_avg = json_integer_value(json_object_get(o, "storage_avg"));
	u->storage_included =
		json_integer_value(json_object_get(o, "storage_included"));
	u->over_quota_days =
		(int)json_integer_value(json_object_get(o, "over_quota_days"));
	u->tolerated_days =
		(int)json_integer_value(json_object_get(o, "tolerated_days"));
	u->billed_days =
		(int)json_integer_value(json_object_get(o, "billed_days"));
	u->plan = dupnull(jget(o, "plan"));
	u->plan_name = dupnull(jget(o, "plan_name"));
	u->advice = dupnull(jget(o, "advice"));
	u->advice_name = dupnull(jget(o, "advice_name"));
	u->advice_covers = json_is_true(json_object_get(o, "advice_covers"));
}

static void copy_json(struct copy *cp, json_t *j)
{
	char *s = json_dumps(j, JSON_COMPACT | JSON_PRESERVE_ORDER);

	copy_text(cp, s);
	free(s);
	json_decref(j);
}

/* ---------------------------------------------------------------- */
/* Storing drafts */

static int lock_period(PGconn *c, const char *period_start, struct diag *d)
{
	char cls[16];
	const char *p[2] = {cls, period_start};

	snprintf(cls, sizeof(cls), "%d", RUN_LOCK_CLASS);
	return db_cmd(c, d,
		      "SELECT pg_advisory_xact_lock($1::int,"
		      " (extract(year FROM $2::date) * 100"
		      "  + extract(month FROM $2::date))::int)",
		      2, p);
}

int invoice_db_store_drafts(PGconn *c, const struct invoice_env *env,
			    const struct invoice *invs, size_t n,
			    long *kept_issued, struct invoice_kept *kept,
			    struct diag *d)
{
	const char **cust;
	char *arr = NULL, *seller_text = NULL, count[24];
	const char *p[2];
	PGresult *r = NULL, *ids = NULL;
	unsigned char *skip;
	struct copy cp;
	int failed = 0;

	if (n == 0) {
		return 0;
	}
	cust = xcalloc(n, sizeof(*cust));
	skip = xcalloc(n, 1);
	for (size_t i = 0; i < n; i++) {
		cust[i] = invs[i].customer.id;
	}
	arr = text_array(cust, n);
	if (db_begin(c, d) != 0) {
		goto fail;
	}
	if (lock_period(c, invs[0].period_start, d) != 0) {
		goto fail;
	}
	p[0] = invs[0].period_start;
	p[1] = arr;
	r = db_exec(c, d,
		    "SELECT customer_id, status, vat_regime, net_cents,"
		    " vat_cents, total_cents FROM invoices"
		    " WHERE kind = 'invoice' AND period_start = $1::date"
		    "   AND customer_id = ANY($2::text[]) FOR UPDATE",
		    2, p);
	if (!r) {
		goto fail;
	}
	if (kept) {
		memset(kept, 0, n * sizeof(*kept));
	}
	for (int k = 0; k < PQntuples(r); k++) {
		if (strcmp(PQgetvalue(r, k, 1), "issued")) {
			continue;
		}
		for (size_t i = 0; i < n; i++) {
			if (!strcmp(cust[i], PQgetvalue(r, k, 0))) {
				skip[i] = 1;
				++*kept_issued;
				if (kept) {
					struct invoice_kept *v = &kept[i];

					v->kept = 1;
					snprintf(v->vat_regime,
						 sizeof(v->vat_regime), "%s",
						 PQgetvalue(r, k, 2));
					v->net = strtoll(PQgetvalue(r, k, 3),
							 NULL, 10);
					v->vat_total = strtoll(
						PQgetvalue(r, k, 4), NULL, 10);
					v->total = strtoll(PQgetvalue(r, k, 5),
							   NULL, 10);
				}
			}
		}
	}
	PQclear(r);
	r = NULL;
	if (db_cmd(c, d,
		   "DELETE FROM invoices WHERE kind = 'invoice'"
		   " AND status = 'draft' AND period_start = $1::date"
		   " AND customer_id = ANY($2::text[])",
		   2, p) != 0) {
		goto fail;
	}
	snprintf(count, sizeof(count), "%zu", n);
	p[0] = count;
	ids = db_exec(c, d,
		      "SELECT nextval('invoices_id_seq') FROM"
		      " generate_series(1, $1::int)",
		      1, p);
	if (!ids) {
		goto fail;
	}
	{
		json_t *sj = seller_to_json(&env->seller);

		seller_text = json_dumps(sj, JSON_COMPACT |
						     JSON_PRESERVE_ORDER);
		json_decref(sj);
	}
	if (copy_begin(&cp, c,
		       "COPY invoices (id, kind, status, customer_id,"
		       " customer_name, customer_country, language,"
		       " period_start, period_end, currency, tariff_version,"
		       " vat_regime, net_cents, vat_cents, total_cents, seller,"
		       " customer, mentions, usage) FROM STDIN",
		       d) != 0) {
		goto fail;
	}
	for (size_t i = 0; i < n && !failed; i++) {
		const struct invoice *v = &invs[i];

		if (skip[i]) {
			continue;
		}
		copy_text(&cp, PQgetvalue(ids, (int)i, 0));
		copy_text(&cp, "invoice");
		copy_text(&cp, "draft");
		copy_text(&cp, v->customer.id);
		copy_text(&cp, v->customer.name);
		copy_text(&cp, v->customer.country);
		copy_text(&cp, v->customer.language);
		copy_text(&cp, v->period_start);
		copy_text(&cp, v->period_end);
		copy_text(&cp, v->currency);
		copy_text(&cp, v->tariff_version);
		copy_text(&cp, v->vat_regime);
		copy_int(&cp, v->net);
		copy_int(&cp, v->vat_total);
		copy_int(&cp, v->total);
		copy_text(&cp, seller_text);
		copy_json(&cp, customer_json(&v->customer));
		copy_json(&cp, mentions_json(v));
		copy_json(&cp, usage_json(&v->usage));
		failed = copy_row(&cp) != 0;
	}
	if (copy_end(&cp, failed) != 0 || failed) {
		goto fail;
	}
	if (copy_begin(&cp, c,
		       "COPY invoice_lines (invoice_id, line_no, kind, plan,"
		       " description, description_en, quantity_micro, unit,"
		       " unit_price_micro, vat_rate_micro, net_cents)"
		       " FROM STDIN",
		       d) != 0) {
		goto fail;
	}
	for (size_t i = 0; i < n && !failed; i++) {
		for (size_t k = 0; k < invs[i].nlines && !skip[i] && !failed;
		     k++) {
			const struct invoice_line *l = &invs[i].lines[k];

			copy_text(&cp, PQgetvalue(ids, (int)i, 0));
			copy_int(&cp, l->no);
			copy_text(&cp, l->kind);
			if (l->plan) {
				copy_text(&cp, l->plan);
			} else {
				copy_null(&cp);
			}
			copy_text(&cp, l->description);
			if (l->description_en) {
				copy_text(&cp, l->description_en);
			} else {
				copy_null(&cp);
			}
			copy_int(&cp, l->quantity);
			copy_text(&cp, l->unit);
			copy_int(&cp, l->unit_price);
			copy_int(&cp, l->vat_rate);
			copy_int(&cp, l->net);
			failed = copy_row(&cp) != 0;
		}
	}
	if (copy_end(&cp, failed) != 0 || failed) {
		goto fail;
	}
	if (copy_begin(&cp, c,
		       "COPY invoice_vat (invoice_id, vat_rate_micro,"
		       " base_cents, vat_cents) FROM STDIN",
		       d) != 0) {
		goto fail;
	}
	for (size_t i = 0; i < n && !failed; i++) {
		for (size_t k = 0; k < invs[i].nvat && !skip[i] && !failed;
		     k++) {
			copy_text(&cp, PQgetvalue(ids, (int)i, 0));
			copy_int(&cp, invs[i].vat[k].rate);
			copy_int(&cp, invs[i].vat[k].base);
			copy_int(&cp, invs[i].vat[k].amount);
			failed = copy_row(&cp) != 0;
		}
	}
	if (copy_end(&cp, failed) != 0 || failed) {
		goto fail;
	}
	if (db_commit(c, d) != 0) {
		goto fail;
	}
	PQclear(ids);
	free(seller_text);
	free(arr);
	free(cust);
	free(skip);
	return 0;
fail:
	db_rollback(c);
	PQclear(r);
	PQclear(ids);
	free(seller_text);
	free(arr);
	free(cust);
	free(skip);
	return -1;
}

int invoice_db_remove_stale(PGconn *c, int y, int m, const char *customer,
			    long *removed, struct diag *d)
{
	char first[32], last[32];
	const char *p[3] = {first, last, customer};
	PGresult *r;

	snprintf(first, sizeof(first), "%04d-%02d-01", y, m);
	snprintf(last, sizeof(last), "%04d-%02d-%02d", y, m,
		 date_days_in_month(y, m));
	r = db_exec(c, d,
		    "DELETE FROM invoices i WHERE i.kind = 'invoice'"
		    " AND i.status = 'draft' AND i.period_start = $1::date"
		    " AND ($3::text IS NULL OR i.customer_id = $3)"
		    " AND NOT EXISTS (SELECT 1 FROM subscriptions s"
		    "   WHERE s.customer_id = i.customer_id"
		    "     AND s.start_date <= $2::date"
		    "     AND (s.end_date IS NULL OR s.end_date > $1::date))",
		    3, p);
	if (!r) {
		return -1;
	}
	*removed = atol(PQcmdTuples(r));
	PQclear(r);
	return 0;
}

/* ---------------------------------------------------------------- */
/* Numbers */

/*
 * Lock the counter of series-year and check that day may follow its last
 * date; *last is the last number given.  Inside a transaction.
 */
static int counter_lock(PGconn *c, const char *series, const char *day,
			int64_t *last, struct diag *d)
{
	char year[16];
	const char *p[3] = {series, year, day};
	PGresult *r;
	const char *ld;

	snprintf(year, sizeof(year), "%.4s", day);
	if (db_cmd(c, d,
		   "INSERT INTO invoice_counters (series, year)"
		   " VALUES ($1, $2::int) ON CONFLICT DO NOTHING",
		   2, p) != 0) {
		return -1;
	}
	r = db_exec(c, d,
		    "SELECT last_number, last_date::text AS last_date,"
		    " last_date > $3::date AS later FROM invoice_counters"
		    " WHERE series = $1 AND year = $2::int FOR UPDATE",
		    3, p);
	if (!r) {
		return -1;
	}
	*last = to_i64(db_get(r, 0, "last_number"));
	ld = db_get(r, 0, "later");
	if (ld && !strcmp(ld, "t")) {
		diag_add(d, "series %s%s already has a document dated %s, "
			    "after %s: numbers must follow dates (issue with "
			    "--date %s or later)",
			 series, year, db_get(r, 0, "last_date"), day,
			 db_get(r, 0, "last_date"));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	return 0;
}

static int counter_set(PGconn *c, const char *series, const char *day,
		       int64_t last, struct diag *d)
{
	char year[16], n[24];
	const char *p[4] = {series, year, n, day};

	snprintf(year, sizeof(year), "%.4s", day);
	snprintf(n, sizeof(n), "%lld", (long long)last);
	return db_cmd(c, d,
		      "UPDATE invoice_counters SET last_number = $3::bigint,"
		      " last_date = $4::date"
		      " WHERE series = $1 AND year = $2::int",
		      4, p);
}

int invoice_db_issue(PGconn *c, const struct seller *s, int y, int m,
		     const char *customer, const char *issue_day,
		     long *issued, int64_t **ids, size_t *nids,
		     struct diag *d)
{
	char first[32], year[16];
	const char *p[4];
	PGresult *r;
	int iy, im, id;

	if (date_parse(issue_day, &iy, &im, &id) != 0) {
		diag_add(d, "issue date '%s' is not a date (YYYY-MM-DD)",
			 issue_day);
		return -1;
	}
	snprintf(year, sizeof(year), "%04d", iy);
	if (y) {
		snprintf(first, sizeof(first), "%04d-%02d-01", y, m);
	}
	p[0] = y ? first : NULL;
	p[1] = customer;
	p[2] = issue_day;
	r = db_exec(c, d,
		    "SELECT to_char(min(period_start), 'YYYY-MM') AS p,"
		    " count(*) AS n FROM invoices"
		    " WHERE kind = 'invoice' AND status = 'draft'"
		    "   AND ($1::date IS NULL OR period_start = $1::date)"
		    "   AND ($2::text IS NULL OR customer_id = $2)"
		    "   AND period_end >= $3::date",
		    3, p);
	if (!r) {
		return -1;
	}
	if (db_get(r, 0, "p")) {
		diag_add(d, "the period %s has not ended on %s: its %s "
			    "draft(s) cannot be issued yet",
			 db_get(r, 0, "p"), issue_day, db_get(r, 0, "n"));
		PQclear(r);
		return -1;
	}
	PQclear(r);
	for (;;) {
		int64_t last, *chunk;
		char **numbers, *id_arr, *num_arr, *seq_arr;
		int64_t *seqs;
		int n;

		if (db_begin(c, d) != 0) {
			return -1;
		}
		if (counter_lock(c, s->invoice_series, issue_day, &last, d)) {
			db_rollback(c);
			return -1;
		}
		r = db_exec(c, d,
			    "SELECT id FROM invoices"
			    " WHERE kind = 'invoice' AND status = 'draft'"
			    "   AND ($1::date IS NULL OR period_start = $1::date)"
			    "   AND ($2::text IS NULL OR customer_id = $2)"
			    " ORDER BY period_start, customer_id COLLATE \"C\""
			    " LIMIT " "1000" " FOR UPDATE",
			    2, p);
		if (!r) {
			db_rollback(c);
			return -1;
		}
		n = PQntuples(r);
		if (n == 0) {
			PQclear(r);
			db_rollback(c);
			return 0;
		}
		chunk = xcalloc((size_t)n, sizeof(*chunk));
		seqs = xcalloc((size_t)n, sizeof(*seqs));
		numbers = xcalloc((size_t)n, sizeof(*numbers));
		for (int i = 0; i < n; i++) {
			char num[64];

			chunk[i] = to_i64(PQgetvalue(r, i, 0));
			seqs[i] = last + 1 + i;
			if (invoice_number_format(num, sizeof(num),
						  s->invoice_series, iy,
						  s->number_digits, seqs[i])) {
				diag_add(d, "invoice number %lld of series %s "
					    "does not fit in 35 characters",
					 (long long)seqs[i], s->invoice_series);
				num[0] = '\0';
			}
			numbers[i] = xstrdup(num);
		}
		PQclear(r);
		if (numbers[n - 1][0] == '\0') {
			n = -n; /* an error: free below */
		}
		if (n > 0) {
			const char *q[6];

			id_arr = id_array(chunk, (size_t)n);
			seq_arr = id_array(seqs, (size_t)n);
			num_arr = text_array((const char *const *)numbers,
					     (size_t)n);
			q[0] = id_arr;
			q[1] = num_arr;
			q[2] = seq_arr;
			q[3] = s->invoice_series;
			q[4] = year;
			q[5] = issue_day;
			if (db_cmd(c, d,
				   "UPDATE invoices i SET status = 'issued',"
				   " number = v.number, series = $4,"
				   " series_year = $5::int,"
				   " series_number = v.seq,"
				   " issue_date = $6::date,"
				   " due_date = $6::date + coalesce(("
				   "   i.seller->>'payment_terms_days')::int, 0),"
				   " issued_at = now()"
				   " FROM unnest($1::bigint[], $2::text[],"
				   "             $3::bigint[]) AS v(id, number, seq)"
				   " WHERE i.id = v.id",
				   6, q) != 0 ||
			    db_cmd(c, d,
				   "UPDATE tariff_versions SET locked = true"
				   " WHERE NOT locked AND version IN ("
				   "  SELECT DISTINCT tariff_version"
				   "  FROM invoices WHERE id = ANY($1::bigint[]))",
				   1, q) != 0 ||
			    counter_set(c, s->invoice_series, issue_day,
					last + n, d) != 0 ||
			    db_commit(c, d) != 0) {
				n = -n;
			}
			free(id_arr);
			free(seq_arr);
			free(num_arr);
		}
		for (int i = 0; i < (n < 0 ? -n : n); i++) {
			free(numbers[i]);
		}
		free(numbers);
		free(seqs);
		if (n < 0) {
			db_rollback(c);
			free(chunk);
			return -1;
		}
		*issued += n;
		if (ids) {
			*ids = xreallocarray(*ids, *nids + (size_t)n,
					     sizeof(**ids));
			memcpy(*ids + *nids, chunk, (size_t)n * sizeof(*chunk));
			*nids += (size_t)n;
		}
		free(chunk);
	}
}

/* ---------------------------------------------------------------- */
/* Loading */

struct byid {
	int64_t id;
	size_t i;
};

static int cmp_byid(const void *a, const void *b)
{
	const struct byid *x = a, *y = b;

	return (x->id > y->id) - (x->id < y->id);
}

static struct invoice *find(struct byid *ix, size_t n, struct invoice *out,
			    int64_t id)
{
	struct byid key = {id, 0}, *f;

	f = bsearch(&key, ix, n, sizeof(*ix), cmp_byid);
	return f ? &out[f->i] : NULL;
}

static int load_head(struct invoice *inv, const PGresult *r, int row,
		     struct diag *d)
{
	json_t *j;
	const char *s;
	int rc = 0;

	inv->id = to_i64(db_get(r, row, "id"));
	inv->credit = !strcmp(db_get(r, row, "kind"), "credit");
	inv->issued = !strcmp(db_get(r, row, "status"), "issued");
	inv->number = dupnull(db_get(r, row, "number"));
	copy_date(inv->issue_date, db_get(r, row, "issue_date"));
	copy_date(inv->due_date, db_get(r, row, "due_date"));
	copy_date(inv->period_start, db_get(r, row, "period_start"));
	copy_date(inv->period_end, db_get(r, row, "period_end"));
	inv->currency = dupnull(db_get(r, row, "currency"));
	inv->tariff_version = dupnull(db_get(r, row, "tariff_version"));
	inv->vat_regime = dupnull(db_get(r, row, "vat_regime"));
	inv->net = to_i64(db_get(r, row, "net_cents"));
	inv->vat_total = to_i64(db_get(r, row, "vat_cents"));
	inv->total = to_i64(db_get(r, row, "total_cents"));
	inv->credit_reason = dupnull(db_get(r, row, "credit_reason"));
	inv->credited_number = dupnull(db_get(r, row, "credited_number"));
	copy_date(inv->credited_date, db_get(r, row, "credited_date"));
	s = db_get(r, row, "seller");
	j = jsonv_load_buffer("invoice seller (database)", s, strlen(s), d);
	if (!j || seller_from_json(&inv->seller, "invoice seller (database)",
				   j, d) != 0) {
		rc = -1;
	}
	json_decref(j);
	s = db_get(r, row, "customer");
	j = json_loads(s, 0, NULL);
	customer_from_json(&inv->customer, j);
	json_decref(j);
	s = db_get(r, row, "mentions");
	j = json_loads(s, 0, NULL);
	mentions_from_json(inv, j);
	json_decref(j);
	s = db_get(r, row, "usage");
	j = json_loads(s, 0, NULL);
	usage_from_json(&inv->usage, j);
	json_decref(j);
	return rc;
}

int invoice_db_load_ids(PGconn *c, const int64_t *ids, size_t n,
			struct invoice *out, struct diag *d)
{
	char *arr = id_array(ids, n);
	const char *p[1] = {arr};
	PGresult *h = NULL, *l = NULL, *v = NULL;
	struct byid *ix = xcalloc(n ? n : 1, sizeof(*ix));
	size_t found = 0;
	int rc = -1;

	memset(out, 0, n * sizeof(*out));
	for (size_t i = 0; i < n; i++) {
		ix[i].id = ids[i];
		ix[i].i = i;
	}
	qsort(ix, n, sizeof(*ix), cmp_byid);
	h = db_exec(c, d,
		    "SELECT i.id, i.kind, i.status, i.number,"
		    " i.issue_date::text AS issue_date,"
		    " i.due_date::text AS due_date,"
		    " i.period_start::text AS period_start,"
		    " i.period_end::text AS period_end, i.currency,"
		    " i.tariff_version, i.vat_regime, i.net_cents,"
		    " i.vat_cents, i.total_cents, i.seller::text AS seller,"
		    " i.customer::text AS customer,"
		    " i.mentions::text AS mentions, i.usage::text AS usage,"
		    " i.credit_reason, o.number AS credited_number,"
		    " o.issue_date::text AS credited_date"
		    " FROM invoices i LEFT JOIN invoices o"
		    "   ON o.id = i.credited_id"
		    " WHERE i.id = ANY($1::bigint[])",
		    1, p);
	if (!h) {
		goto out;
	}
	for (int k = 0; k < PQntuples(h); k++) {
		struct invoice *inv =
			find(ix, n, out, to_i64(db_get(h, k, "id")));

		if (inv && !inv->id) {
			found++;
			if (load_head(inv, h, k, d) != 0) {
				goto out;
			}
		}
	}
	if (found != n) {
		diag_add(d, "%zu of %zu invoices not found", n - found, n);
		goto out;
	}
	l = db_exec(c, d,
		    "SELECT invoice_id, line_no, kind, plan, description,"
		    " description_en, quantity_micro, unit, unit_price_micro,"
		    " vat_rate_micro, net_cents, credited_line"
		    " FROM invoice_lines WHERE invoice_id = ANY($1::bigint[])"
		    " ORDER BY invoice_id, line_no",
		    1, p);
	v = db_exec(c, d,
		    "SELECT invoice_id, vat_rate_micro, base_cents, vat_cents"
		    " FROM invoice_vat WHERE invoice_id = ANY($1::bigint[])"
		    " ORDER BY invoice_id, vat_rate_micro",
		    1, p);
	if (!l || !v) {
		goto out;
	}
	for (int pass = 0; pass < 2; pass++) {
		for (int k = 0; k < PQntuples(l); k++) {
			struct invoice *inv = find(
				ix, n, out, to_i64(PQgetvalue(l, k, 0)));
			struct invoice_line *x;

			if (pass == 0) {
				inv->nlines++;
				continue;
			}
			if (!inv->lines) {
				inv->lines = xcalloc(inv->nlines,
						     sizeof(*inv->lines));
				inv->nlines = 0;
			}
			x = &inv->lines[inv->nlines++];
			x->no = (int)to_i64(db_get(l, k, "line_no"));
			x->kind = dupnull(db_get(l, k, "kind"));
			x->plan = dupnull(db_get(l, k, "plan"));
			x->description = dupnull(db_get(l, k, "description"));
			x->description_en =
				dupnull(db_get(l, k, "description_en"));
			x->quantity = to_i64(db_get(l, k, "quantity_micro"));
			x->unit = dupnull(db_get(l, k, "unit"));
			x->unit_price =
				to_i64(db_get(l, k, "unit_price_micro"));
			x->vat_rate = to_i64(db_get(l, k, "vat_rate_micro"));
			x->net = to_i64(db_get(l, k, "net_cents"));
			x->credited_line =
				(int)to_i64(db_get(l, k, "credited_line"));
		}
		for (int k = 0; k < PQntuples(v); k++) {
			struct invoice *inv = find(
				ix, n, out, to_i64(PQgetvalue(v, k, 0)));
			struct invoice_vat *x;

			if (pass == 0) {
				inv->nvat++;
				continue;
			}
			if (!inv->vat) {
				inv->vat = xcalloc(inv->nvat, sizeof(*inv->vat));
				inv->nvat = 0;
			}
			x = &inv->vat[inv->nvat++];
			x->rate = to_i64(db_get(v, k, "vat_rate_micro"));
			x->base = to_i64(db_get(v, k, "base_cents"));
			x->amount = to_i64(db_get(v, k, "vat_cents"));
		}
	}
	rc = 0;
out:
	if (rc != 0) {
		for (size_t i = 0; i < n; i++) {
			invoice_free(&out[i]);
		}
	}
	PQclear(h);
	PQclear(l);
	PQclear(v);
	free(ix);
	free(arr);
	return rc;
}

int invoice_db_load_id(PGconn *c, int64_t id, struct invoice *inv,
		       struct diag *d)
{
	return invoice_db_load_ids(c, &id, 1, inv, d);
}

int invoice_db_load(PGconn *c, const char *number, struct invoice *inv,
		    struct diag *d)
{
	const char *p[1] = {number};
	PGresult *r;
	int64_t id;

	memset(inv, 0, sizeof(*inv));
	r = db_exec(c, d, "SELECT id FROM invoices WHERE number = $1", 1, p);
	if (!r) {
		return -1;
	}
	if (PQntuples(r) == 0) {
		PQclear(r);
		return 1;
	}
	id = to_i64(PQgetvalue(r, 0, 0));
	PQclear(r);
	return invoice_db_load_id(c, id, inv, d);
}

json_t *invoice_db_list(PGconn *c, const char *customer, const char *period,
			int issued_only, struct diag *d)
{
	char first[32];
	const char *p[3] = {customer, NULL, issued_only ? "t" : "f"};
	PGresult *r;
	json_t *a;
	int y, m;

	if (period) {
		if (period_parse(period, &y, &m) != 0) {
			diag_add(d, "period '%s' is not YYYY-MM", period);
			return NULL;
		}
		snprintf(first, sizeof(first), "%04d-%02d-01", y, m);
		p[1] = first;
	}
	r = db_exec(c, d,
		    "SELECT i.number, i.kind, i.status, i.customer_id,"
		    " i.customer_name, to_char(i.period_start, 'YYYY-MM') AS"
		    " period, i.issue_date::text AS issue_date,"
		    " i.due_date::text AS due_date, i.net_cents, i.vat_cents,"
		    " i.total_cents, i.currency, o.number AS credited"
		    " FROM invoices i LEFT JOIN invoices o"
		    "   ON o.id = i.credited_id"
		    " WHERE ($1::text IS NULL OR i.customer_id = $1)"
		    "   AND ($2::date IS NULL OR i.period_start = $2::date)"
		    "   AND (NOT $3::bool OR i.status = 'issued')"
		    " ORDER BY i.period_start DESC, i.series NULLS LAST,"
		    "   i.series_year, i.series_number,"
		    "   i.customer_id COLLATE \"C\"",
		    3, p);
	if (!r) {
		return NULL;
	}
	a = json_array();
	for (int k = 0; k < PQntuples(r); k++) {
		char b1[MONEY_FMT_MAX], b2[MONEY_FMT_MAX], b3[MONEY_FMT_MAX];
		json_t *o = json_object();

		json_object_set_new(o, "number", jstr(db_get(r, k, "number")));
		json_object_set_new(o, "kind", jstr(db_get(r, k, "kind")));
		json_object_set_new(o, "status", jstr(db_get(r, k, "status")));
		json_object_set_new(o, "customer",
				    jstr(db_get(r, k, "customer_id")));
		json_object_set_new(o, "customer_name",
				    jstr(db_get(r, k, "customer_name")));
		json_object_set_new(o, "period", jstr(db_get(r, k, "period")));
		json_object_set_new(o, "issue_date",
				    jstr(db_get(r, k, "issue_date")));
		json_object_set_new(o, "due_date",
				    jstr(db_get(r, k, "due_date")));
		json_object_set_new(o, "net", json_string(money_format_cents(
				    b1, to_i64(db_get(r, k, "net_cents")))));
		json_object_set_new(o, "vat", json_string(money_format_cents(
				    b2, to_i64(db_get(r, k, "vat_cents")))));
		json_object_set_new(o, "total", json_string(money_format_cents(
				    b3, to_i64(db_get(r, k, "total_cents")))));
		json_object_set_new(o, "currency",
				    jstr(db_get(r, k, "currency")));
		json_object_set_new(o, "credited",
				    jstr(db_get(r, k, "credited")));
		json_array_append_new(a, o);
	}
	PQclear(r);
	return a;
}

/* ---------------------------------------------------------------- */
/* Credit notes */

struct cline {
	int credited;
	int64_t qty, price, rate, net;
	const char *kind, *plan, *unit;
	char *desc, *desc_en;
};

int invoice_db_credit(PGconn *c, const struct seller *s, const char *number,
		      const struct invoice_credit_part *parts, size_t nparts,
		      const char *reason, const char *issue_day, int64_t *id,
		      struct diag *d)
{
	const char *p[8];
	PGresult *h = NULL, *l = NULL, *done = NULL, *nid = NULL;
	struct cline *cl = NULL;
	size_t ncl = 0;
	int64_t *remaining = NULL, net = 0, vat = 0, last;
	int64_t rates[16], bases[16], amounts[16];
	size_t nrates = 0;
	int nl, rc = -1, iy, im, iday;
	char orig[24], num[64], year[16], sq[24];
	json_t *sj;
	char *seller_text = NULL;

	*id = 0;
	if (date_parse(issue_day, &iy, &im, &iday) != 0) {
		diag_add(d, "issue date '%s' is not a date", issue_day);
		return -1;
	}
	if (db_begin(c, d) != 0) {
		return -1;
	}
	p[0] = number;
	h = db_exec(c, d,
		    "SELECT id, kind, status, issue_date::text AS issue_date"
		    " FROM invoices WHERE number = $1 FOR UPDATE",
		    1, p);
	if (!h) {
		goto out;
	}
	if (PQntuples(h) == 0) {
		diag_add(d, "no issued invoice is numbered '%s'", number);
		goto out;
	}
	if (strcmp(db_get(h, 0, "kind"), "invoice")) {
		diag_add(d, "%s is a credit note: credit the invoice itself",
			 number);
		goto out;
	}
	if (strcmp(db_get(h, 0, "issue_date"), issue_day) > 0) {
		diag_add(d, "%s is dated %s, after %s", number,
			 db_get(h, 0, "issue_date"), issue_day);
		goto out;
	}
	snprintf(orig, sizeof(orig), "%s", db_get(h, 0, "id"));
	p[0] = orig;
	l = db_exec(c, d,
		    "SELECT line_no, kind, plan, description, description_en,"
		    " quantity_micro, unit, unit_price_micro, vat_rate_micro,"
		    " net_cents FROM invoice_lines WHERE invoice_id = $1"
		    " ORDER BY line_no",
		    1, p);
	done = db_exec(c, d,
		       "SELECT l.credited_line, sum(l.net_cents) AS net"
		       " FROM invoice_lines l JOIN invoices i"
		       "   ON i.id = l.invoice_id"
		       " WHERE i.credited_id = $1 GROUP BY l.credited_line",
		       1, p);
	if (!l || !done) {
		goto out;
	}
	nl = PQntuples(l);
	remaining = xcalloc((size_t)nl + 1, sizeof(*remaining));
	for (int k = 0; k < nl; k++) {
		remaining[k] = to_i64(db_get(l, k, "net_cents"));
		for (int j = 0; j < PQntuples(done); j++) {
			if (to_i64(PQgetvalue(done, j, 0)) ==
			    to_i64(db_get(l, k, "line_no"))) {
				remaining[k] += to_i64(PQgetvalue(done, j, 1));
			}
		}
	}
	cl = xcalloc((nparts ? nparts : (size_t)nl) + 1, sizeof(*cl));
	if (nparts == 0) {
		for (int k = 0; k < nl; k++) {
			struct cline *x;
			int64_t full = to_i64(db_get(l, k, "net_cents"));

			if (remaining[k] <= 0) {
				continue;
			}
			x = &cl[ncl++];
			x->credited = (int)to_i64(db_get(l, k, "line_no"));
			x->kind = db_get(l, k, "kind");
			x->plan = db_get(l, k, "plan");
			x->rate = to_i64(db_get(l, k, "vat_rate_micro"));
			x->net = -remaining[k];
			if (remaining[k] == full) {
				x->qty = -to_i64(db_get(l, k, "quantity_micro"));
				x->price = to_i64(db_get(l, k,
							 "unit_price_micro"));
				x->unit = db_get(l, k, "unit");
			} else {
				x->qty = -MONEY_SCALE;
				x->price = remaining[k] * 10000;
				x->unit = "lump-sum";
			}
			x->desc = xasprintf("Avoir : %s",
					    db_get(l, k, "description"));
			if (db_get(l, k, "description_en")) {
				x->desc_en = xasprintf(
					"Credit: %s",
					db_get(l, k, "description_en"));
			}
		}
		if (ncl == 0) {
			diag_add(d, "%s is already credited in full", number);
			goto out;
		}
	} else {
		for (size_t i = 0; i < nparts; i++) {
			struct cline *x;
			int k = -1;
			int64_t cents;

			for (int j = 0; j < nl; j++) {
				if (to_i64(db_get(l, j, "line_no")) ==
				    parts[i].line) {
					k = j;
				}
			}
			if (k < 0) {
				diag_add(d, "%s has no line %d (it has %d)",
					 number, parts[i].line, nl);
				goto out;
			}
			if (parts[i].amount <= 0 ||
			    parts[i].amount % 10000 != 0) {
				diag_add(d, "--amount for line %d must be more "
					    "than 0 with at most 2 decimals",
					 parts[i].line);
				goto out;
			}
			cents = parts[i].amount / 10000;
			if (cents > remaining[k]) {
				char b1[MONEY_FMT_MAX], b2[MONEY_FMT_MAX];

				diag_add(d, "line %d of %s has %s left to "
					    "credit, not %s",
					 parts[i].line, number,
					 money_format_cents(b1, remaining[k]),
					 money_format_cents(b2, cents));
				goto out;
			}
			remaining[k] -= cents;
			x = &cl[ncl++];
			x->credited = parts[i].line;
			x->kind = db_get(l, k, "kind");
			x->plan = db_get(l, k, "plan");
			x->rate = to_i64(db_get(l, k, "vat_rate_micro"));
			x->net = -cents;
			x->qty = -MONEY_SCALE;
			x->price = parts[i].amount;
			x->unit = "lump-sum";
			x->desc = xasprintf("Avoir partiel : %s",
					    db_get(l, k, "description"));
			if (db_get(l, k, "description_en")) {
				x->desc_en = xasprintf(
					"Partial credit: %s",
					db_get(l, k, "description_en"));
			}
		}
	}
	/* VAT per rate on the sum of the nets at that rate, rounded once. */
	for (size_t i = 0; i < ncl; i++) {
		size_t k;

		for (k = 0; k < nrates && rates[k] != cl[i].rate; k++) {
		}
		if (k == nrates) {
			if (nrates == sizeof(rates) / sizeof(rates[0])) {
				diag_add(d, "too many VAT rates");
				goto out;
			}
			rates[nrates] = cl[i].rate;
			bases[nrates++] = 0;
		}
		bases[k] += cl[i].net;
		net += cl[i].net;
	}
	for (size_t k = 0; k < nrates; k++) {
		if (money_mul_div_round_cents(rates[k], bases[k], 10000,
					      &amounts[k]) != 0) {
			diag_add(d, "VAT amount does not fit");
			goto out;
		}
		vat += amounts[k];
	}
	nid = db_exec(c, d, "SELECT nextval('invoices_id_seq')", 0, NULL);
	if (!nid) {
		goto out;
	}
	*id = to_i64(PQgetvalue(nid, 0, 0));
	sj = seller_to_json(s);
	seller_text = json_dumps(sj, JSON_COMPACT | JSON_PRESERVE_ORDER);
	json_decref(sj);
	{
		char nb[24], vb[24], tb[24];
		int64_t total = net + vat;

		snprintf(nb, sizeof(nb), "%lld", (long long)net);
		snprintf(vb, sizeof(vb), "%lld", (long long)vat);
		snprintf(tb, sizeof(tb), "%lld", (long long)total);
		p[0] = PQgetvalue(nid, 0, 0);
		p[1] = orig;
		p[2] = nb;
		p[3] = vb;
		p[4] = tb;
		p[5] = seller_text;
		p[6] = reason;
		if (db_cmd(c, d,
			   "INSERT INTO invoices (id, kind, status,"
			   " customer_id, customer_name, customer_country,"
			   " language, period_start, period_end, currency,"
			   " tariff_version, vat_regime, net_cents, vat_cents,"
			   " total_cents, seller, customer, mentions, usage,"
			   " credited_id, credit_reason)"
			   " SELECT $1::bigint, 'credit', 'draft', customer_id,"
			   " customer_name, customer_country, language,"
			   " period_start, period_end, currency,"
			   " tariff_version, vat_regime, $3::bigint,"
			   " $4::bigint, $5::bigint, $6::jsonb, customer,"
			   " mentions, '{}'::jsonb, id, $7"
			   " FROM invoices WHERE id = $2::bigint",
			   7, p) != 0) {
			goto out;
		}
	}
	for (size_t i = 0; i < ncl; i++) {
		char no[24], cr[24], q[24], pr[24], rt[24], nt[24];
		const char *lp[12] = {PQgetvalue(nid, 0, 0), no, cl[i].kind,
				      cl[i].plan, cl[i].desc, cl[i].desc_en,
				      q, cl[i].unit, pr, rt, nt, cr};

		snprintf(no, sizeof(no), "%zu", i + 1);
		snprintf(cr, sizeof(cr), "%d", cl[i].credited);
		snprintf(q, sizeof(q), "%lld", (long long)cl[i].qty);
		snprintf(pr, sizeof(pr), "%lld", (long long)cl[i].price);
		snprintf(rt, sizeof(rt), "%lld", (long long)cl[i].rate);
		snprintf(nt, sizeof(nt), "%lld", (long long)cl[i].net);
		if (db_cmd(c, d,
			   "INSERT INTO invoice_lines (invoice_id, line_no,"
			   " kind, plan, description, description_en,"
			   " quantity_micro, unit, unit_price_micro,"
			   " vat_rate_micro, net_cents, credited_line)"
			   " VALUES ($1::bigint, $2::int, $3, $4, $5, $6,"
			   " $7::bigint, $8, $9::bigint, $10::bigint,"
			   " $11::bigint, $12::int)",
			   12, lp) != 0) {
			goto out;
		}
	}
	for (size_t k = 0; k < nrates; k++) {
		char rt[24], bs[24], am[24];
		const char *vp[4] = {PQgetvalue(nid, 0, 0), rt, bs, am};

		snprintf(rt, sizeof(rt), "%lld", (long long)rates[k]);
		snprintf(bs, sizeof(bs), "%lld", (long long)bases[k]);
		snprintf(am, sizeof(am), "%lld", (long long)amounts[k]);
		if (db_cmd(c, d,
			   "INSERT INTO invoice_vat (invoice_id,"
			   " vat_rate_micro, base_cents, vat_cents)"
			   " VALUES ($1::bigint, $2::bigint, $3::bigint,"
			   " $4::bigint)",
			   4, vp) != 0) {
			goto out;
		}
	}
	if (counter_lock(c, s->credit_series, issue_day, &last, d) != 0) {
		goto out;
	}
	if (invoice_number_format(num, sizeof(num), s->credit_series, iy,
				  s->number_digits, last + 1) != 0) {
		diag_add(d, "credit note number does not fit in 35 characters");
		goto out;
	}
	snprintf(year, sizeof(year), "%04d", iy);
	last++;
	snprintf(sq, sizeof(sq), "%lld", (long long)last);
	p[0] = PQgetvalue(nid, 0, 0);
	p[1] = num;
	p[2] = s->credit_series;
	p[3] = year;
	p[4] = sq;
	p[5] = issue_day;
	if (db_cmd(c, d,
		   "UPDATE invoices SET status = 'issued', number = $2,"
		   " series = $3, series_year = $4::int,"
		   " series_number = $5::bigint, issue_date = $6::date,"
		   " due_date = $6::date + coalesce(("
		   "   seller->>'payment_terms_days')::int, 0),"
		   " issued_at = now() WHERE id = $1::bigint",
		   6, p) != 0 ||
	    counter_set(c, s->credit_series, issue_day, last, d) != 0 ||
	    db_commit(c, d) != 0) {
		goto out;
	}
	rc = 0;
out:
	if (rc != 0) {
		db_rollback(c);
		*id = 0;
	}
	for (size_t i = 0; i < ncl; i++) {
		free(cl[i].desc);
		free(cl[i].desc_en);
	}
	free(cl);
	free(remaining);
	free(seller_text);
	PQclear(h);
	PQclear(l);
	PQclear(done);
	PQclear(nid);
	return rc;
}
