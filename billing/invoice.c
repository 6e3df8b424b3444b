/*
 * invoice — the document in memory; see invoice.h.
 */
#include "invoice.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "invoice_db.h"
#include "money.h"

static void customer_free(struct invoice_customer *c)
{
	char **f[] = {
		&c->id, &c->name, &c->kind, &c->line1, &c->line2,
		&c->postal_code, &c->city, &c->country, &c->siren,
		&c->vat_number, &c->email, &c->language,
	};

	for (size_t i = 0; i < sizeof(f) / sizeof(f[0]); i++) {
		free(*f[i]);
	}
}

void invoice_free(struct invoice *inv)
{
	if (!inv) {
		return;
	}
	for (size_t i = 0; i < inv->nlines; i++) {
		struct invoice_line *l = &inv->lines[i];

		free(l->kind);
		free(l->plan);
		free(l->description);
		free(l->description_en);
		free(l->unit);
	}
	free(inv->lines);
	free(inv->vat);
	for (size_t i = 0; i < inv->nmentions; i++) {
		free(inv->mentions[i].key);
		free(inv->mentions[i].fr);
		free(inv->mentions[i].en);
	}
	free(inv->mentions);
	seller_free(&inv->seller);
	customer_free(&inv->customer);
	free(inv->usage.unit);
	free(inv->usage.plan);
	free(inv->usage.plan_name);
	free(inv->usage.advice);
	free(inv->usage.advice_name);
	free(inv->number);
	free(inv->currency);
	free(inv->tariff_version);
	free(inv->vat_regime);
	free(inv->credited_number);
	free(inv->credit_reason);
	memset(inv, 0, sizeof(*inv));
}

int invoice_is_b2b(const struct invoice *inv)
{
	return inv->customer.kind && strcmp(inv->customer.kind, "individual");
}

int invoice_number_format(char *buf, size_t len, const char *series,
			  int year, int digits, int64_t n)
{
	size_t sl = strlen(series);
	int w;

	if (sl < 1 || sl > 8 || strspn(series, "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
				       "abcdefghijklmnopqrstuvwxyz") != sl ||
	    year < 0 || year > 9999 || n < 1 || digits < 1 || digits > 20) {
		return -1;
	}
	w = snprintf(buf, len, "%s%04d-%0*lld", series, year, digits,
		     (long long)n);
	if (w < 0 || (size_t)w >= len || w > INVOICE_NUMBER_MAX) {
		return -1;
	}
	return 0;
}

/* v with a decimal comma (French) when comma. */
static const char *decimal(char *v, int comma)
{
	char *dot = comma ? strchr(v, '.') : NULL;

	if (dot) {
		*dot = ',';
	}
	return v;
}

char *invoice_mention_expand(const char *text, const struct seller *s,
			     const char *country, int64_t rate, int comma)
{
	char *out = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&out, &len);
	char buf[MONEY_FMT_MAX];

	if (!f) {
		return xstrdup(text);
	}
	for (const char *p = text; *p;) {
		const char *val = NULL;
		size_t skip = 0;

		if (*p == '{') {
			static const char *const keys[] = {
				"{late_penalty_rate}", "{recovery_indemnity}",
				"{country}", "{rate}",
			};

			for (size_t k = 0; k < 4 && !val; k++) {
				size_t kl = strlen(keys[k]);

				if (strncmp(p, keys[k], kl)) {
					continue;
				}
				skip = kl;
				switch (k) {
				case 0:
					val = decimal(money_format(
						buf, s->late_penalty_rate, 2),
						comma);
					break;
				case 1:
					val = decimal(money_format(
						buf, s->recovery_indemnity, 2),
						comma);
					break;
				case 2:
					val = country ? country : "";
					break;
				default:
					val = decimal(
						money_format(buf, rate, 0),
						comma);
					break;
				}
			}
		}
		if (val) {
			fputs(val, f);
			p += skip;
		} else {
			fputc(*p++, f);
		}
	}
	fclose(f);
	return out;
}

static json_t *jstr(const char *s)
{
	return s ? json_string(s) : json_null();
}

static json_t *jcents(int64_t cents)
{
	char buf[MONEY_FMT_MAX];

	return json_string(money_format_cents(buf, cents));
}

static json_t *jmicro(int64_t micro, int places)
{
	char buf[MONEY_FMT_MAX];

	return json_string(money_format(buf, micro, places));
}

json_t *invoice_to_json(const struct invoice *inv)
{
	json_t *o = json_object(), *lines = json_array(), *vat = json_array();
	json_t *ment = json_array(), *c, *u;
	char period[8];

	memcpy(period, inv->period_start, 7);
	period[7] = '\0';
	json_object_set_new(o, "number", jstr(inv->number));
	json_object_set_new(o, "kind",
			    json_string(inv->credit ? "credit" : "invoice"));
	json_object_set_new(o, "status",
			    json_string(inv->issued ? "issued" : "draft"));
	json_object_set_new(o, "issue_date",
			    inv->issue_date[0] ? json_string(inv->issue_date)
					       : json_null());
	json_object_set_new(o, "due_date",
			    inv->due_date[0] ? json_string(inv->due_date)
					     : json_null());
	json_object_set_new(o, "period", json_string(period));
	json_object_set_new(o, "period_start", json_string(inv->period_start));
	json_object_set_new(o, "period_end", json_string(inv->period_end));
	json_object_set_new(o, "currency", jstr(inv->currency));
	json_object_set_new(o, "tariff_version", jstr(inv->tariff_version));
	json_object_set_new(o, "vat_regime", jstr(inv->vat_regime));
	c = inv->customer.id ? json_pack("{s:s}", "id", inv->customer.id)
			     : json_object();
	json_object_set_new(c, "name", jstr(inv->customer.name));
	json_object_set_new(c, "kind", jstr(inv->customer.kind));
	json_object_set_new(c, "address_line1", jstr(inv->customer.line1));
	json_object_set_new(c, "address_line2", jstr(inv->customer.line2));
	json_object_set_new(c, "postal_code", jstr(inv->customer.postal_code));
	json_object_set_new(c, "city", jstr(inv->customer.city));
	json_object_set_new(c, "country", jstr(inv->customer.country));
	json_object_set_new(c, "siren", jstr(inv->customer.siren));
	json_object_set_new(c, "vat_number", jstr(inv->customer.vat_number));
	json_object_set_new(c, "language", jstr(inv->customer.language));
	json_object_set_new(o, "customer", c);
	for (size_t i = 0; i < inv->nlines; i++) {
		const struct invoice_line *l = &inv->lines[i];
		json_t *jl = json_object();

		json_object_set_new(jl, "line", json_integer(l->no));
		json_object_set_new(jl, "kind", jstr(l->kind));
		json_object_set_new(jl, "plan", jstr(l->plan));
		json_object_set_new(jl, "description", jstr(l->description));
		if (l->description_en) {
			json_object_set_new(jl, "description_en",
					    json_string(l->description_en));
		}
		json_object_set_new(jl, "quantity", jmicro(l->quantity, 0));
		json_object_set_new(jl, "unit", jstr(l->unit));
		json_object_set_new(jl, "unit_price", jmicro(l->unit_price, 2));
		json_object_set_new(jl, "vat_rate", jmicro(l->vat_rate, 0));
		json_object_set_new(jl, "net", jcents(l->net));
		if (l->credited_line) {
			json_object_set_new(jl, "credited_line",
					    json_integer(l->credited_line));
		}
		json_array_append_new(lines, jl);
	}
	json_object_set_new(o, "lines", lines);
	for (size_t i = 0; i < inv->nvat; i++) {
		json_array_append_new(
			vat, json_pack("{s:o, s:o, s:o}", "rate",
				       jmicro(inv->vat[i].rate, 0), "base",
				       jcents(inv->vat[i].base), "amount",
				       jcents(inv->vat[i].amount)));
	}
	json_object_set_new(o, "vat", vat);
	json_object_set_new(o, "net", jcents(inv->net));
	json_object_set_new(o, "vat_total", jcents(inv->vat_total));
	json_object_set_new(o, "total", jcents(inv->total));
	for (size_t i = 0; i < inv->nmentions; i++) {
		json_t *m = json_pack("{s:s, s:s}", "key",
				      inv->mentions[i].key, "fr",
				      inv->mentions[i].fr);

		if (inv->mentions[i].en) {
			json_object_set_new(m, "en",
					    json_string(inv->mentions[i].en));
		}
		json_array_append_new(ment, m);
	}
	json_object_set_new(o, "mentions", ment);
	if (inv->credit) {
		json_object_set_new(o, "credited_number",
				    jstr(inv->credited_number));
		json_object_set_new(o, "credited_date",
				    json_string(inv->credited_date));
		json_object_set_new(o, "credit_reason",
				    jstr(inv->credit_reason));
	}
	if (inv->usage.ndays > 0) {
		json_t *days = json_array();

		for (int i = 0; i < inv->usage.ndays; i++) {
			json_array_append_new(
				days,
				json_pack("{s:I, s:o}", "outbound",
					  (json_int_t)inv->usage.outbound[i],
					  "quota",
					  inv->usage.quota[i] < 0
						  ? json_null()
						  : json_integer(
							    inv->usage.quota[i])));
		}
		u = json_object();
		json_object_set_new(u, "unit", jstr(inv->usage.unit));
		json_object_set_new(u, "days", days);
		json_object_set_new(u, "storage_average_bytes",
				    json_integer(inv->usage.storage_avg));
		json_object_set_new(u, "storage_included_bytes",
				    json_integer(inv->usage.storage_included));
		json_object_set_new(u, "over_quota_days",
				    json_integer(inv->usage.over_quota_days));
		json_object_set_new(u, "tolerated_days",
				    json_integer(inv->usage.tolerated_days));
		json_object_set_new(u, "billed_days",
				    json_integer(inv->usage.billed_days));
		json_object_set_new(u, "plan", jstr(inv->usage.plan));
		json_object_set_new(u, "plan_name", jstr(inv->usage.plan_name));
		json_object_set_new(u, "advice", jstr(inv->usage.advice));
		json_object_set_new(u, "advice_name",
				    jstr(inv->usage.advice_name));
		json_object_set_new(u, "advice_covers",
				    json_boolean(inv->usage.advice_covers));
		json_object_set_new(o, "usage", u);
	}
	return o;
}
