/*
 * tariff — parse, validate and write back the tariff grid; see tariff.h.
 *
 * Input is hostile until checked: validation goes on after an error so
 * that the operator sees every problem of the file at once, each named by
 * file and JSON path (`tariff.json: plans[2].monthly_fee: "9,00" is not a
 * decimal (use 9.00)`).  A tariff is returned only when it has no error
 * at all; a half-valid grid is never handed to the rater.
 */
#include "tariff.h"

#include <stdlib.h>
#include <string.h>

#include "common/date.h"
#include "common/jsonv.h"
#include "common/size.h"
#include "common/xalloc.h"
#include "money.h"

/* Decimals allowed: prices and ratios up to 6 (DESIGN: unit prices are
 * exact decimals up to 6 places). */
#define PRICE_PLACES 6
#define RATIO_PLACES 6
/* Upper bounds that catch typos without limiting real tariffs. */
#define MAX_PLANS 1000
#define MAX_NAME 200

static int match_charset(const char *s, const char *set, size_t maxlen)
{
	size_t n = strlen(s);

	return n >= 1 && n <= maxlen && strspn(s, set) == n;
}

#define ALNUM "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789"

int tariff_date_is_valid(const char *s)
{
	int y, m, d;

	return date_parse(s, &y, &m, &d) == 0;
}

/*
 * A time zone name as the tz database writes them: "Europe/Paris",
 * "America/Argentina/Buenos_Aires", "UTC", "Etc/GMT-1".  Whether the zone
 * exists is the database's business (pg_timezone_names) at store time.
 */
static int timezone_form_ok(const char *s)
{
	if (!match_charset(s, ALNUM "/_+-", 64) || s[0] == '/' ||
	    s[strlen(s) - 1] == '/' || strstr(s, "//") ||
	    !((s[0] >= 'A' && s[0] <= 'Z') || (s[0] >= 'a' && s[0] <= 'z'))) {
		return 0;
	}
	return 1;
}

const char *tariff_unit_name(enum tariff_unit u)
{
	return u == TARIFF_UNIT_MESSAGE ? "message" : "recipient";
}

static const char *const top_keys[] = {
	"version", "effective_from", "currency", "timezone", "plans",
	"storage_addon", "outbound", "vat", NULL,
};
static const char *const plan_keys[] = {
	"code", "name", "monthly_fee", "outbound_per_day", "storage_included",
	NULL,
};
static const char *const addon_keys[] = {"block", "monthly_fee", NULL};
static const char *const outbound_keys[] = {
	"unit", "count_local", "warn_ratio", "tolerated_days", "block_ratio",
	"overage_per_1000", NULL,
};
static const char *const vat_keys[] = {"oss", NULL};

static void parse_plan(struct jsonv *v, json_t *jp, struct tariff_plan *p)
{
	const char *s;
	long long n;

	if (!json_is_object(jp)) {
		jsonv_error(v, "expected an object {\"code\": ..., \"name\": "
			       "..., ...}");
		return;
	}
	jsonv_known_keys(v, jp, plan_keys);
	s = jsonv_string(v, jp, "code", 1);
	if (s && !match_charset(s, ALNUM "_-", 32)) {
		jsonv_field_error(v, "code",
				  "\"%.40s\" is not a plan code (1 to 32 "
				  "letters, digits, '_' or '-')", s);
	} else if (s) {
		p->code = xstrdup(s);
	}
	s = jsonv_string(v, jp, "name", 1);
	if (s && strlen(s) > MAX_NAME) {
		jsonv_field_error(v, "name", "is longer than %d bytes",
				  MAX_NAME);
	} else if (s) {
		p->name = xstrdup(s);
	}
	money_jsonv(v, jp, "monthly_fee", 1, 0, PRICE_PLACES, &p->monthly_fee);
	if (jsonv_int(v, jp, "outbound_per_day", 1, 0, &n) == 0) {
		if (n < 0) {
			jsonv_field_error(v, "outbound_per_day",
					  "%lld is negative", n);
		} else {
			p->outbound_per_day = n;
		}
	}
	size_jsonv(v, jp, "storage_included", 1, &p->storage_included);
}

static void parse_plans(struct jsonv *v, json_t *doc, struct tariff *t)
{
	json_t *arr = jsonv_array(v, doc, "plans", 1);
	size_t mark, n;

	if (!arr) {
		return;
	}
	mark = jsonv_key(v, "plans");
	n = json_array_size(arr);
	if (n == 0) {
		jsonv_error(v, "no plans (a tariff needs at least one)");
	} else if (n > MAX_PLANS) {
		jsonv_error(v, "more than %d plans", MAX_PLANS);
		n = 0;
	}
	t->plans = xcalloc(n ? n : 1, sizeof(*t->plans));
	t->nplans = n;
	for (size_t i = 0; i < n; i++) {
		size_t m = jsonv_index(v, i);

		parse_plan(v, json_array_get(arr, i), &t->plans[i]);
		for (size_t k = 0; k < i && t->plans[i].code; k++) {
			if (t->plans[k].code &&
			    !strcmp(t->plans[k].code, t->plans[i].code)) {
				jsonv_field_error(v, "code",
						  "duplicate plan code \"%s\" "
						  "(also plans[%zu])",
						  t->plans[i].code, k);
				break;
			}
		}
		jsonv_pop(v, m);
	}
	jsonv_pop(v, mark);
}

static void parse_addon(struct jsonv *v, json_t *doc, struct tariff *t)
{
	json_t *o = jsonv_object(v, doc, "storage_addon", 0);
	size_t mark;

	if (!o) {
		return;
	}
	t->has_addon = 1;
	mark = jsonv_key(v, "storage_addon");
	jsonv_known_keys(v, o, addon_keys);
	if (size_jsonv(v, o, "block", 1, &t->addon_block) == 0 &&
	    t->addon_block == 0) {
		jsonv_field_error(v, "block", "must be more than 0 bytes");
	}
	money_jsonv(v, o, "monthly_fee", 1, 0, PRICE_PLACES,
		    &t->addon_monthly_fee);
	jsonv_pop(v, mark);
}

static int ratio(struct jsonv *v, json_t *o, const char *key, int64_t *out)
{
	char buf[MONEY_FMT_MAX];

	if (money_jsonv(v, o, key, 1, MONEY_NEGATIVE_OK, RATIO_PLACES, out)) {
		return -1;
	}
	if (*out <= 0) {
		jsonv_field_error(v, key, "%s must be more than 0",
				  money_format(buf, *out, 1));
		return -1;
	}
	return 0;
}

static void parse_outbound(struct jsonv *v, json_t *doc, struct tariff *t)
{
	json_t *o = jsonv_object(v, doc, "outbound", 1);
	const char *s;
	long long n;
	int ok_warn, ok_block;
	size_t mark;

	if (!o) {
		return;
	}
	mark = jsonv_key(v, "outbound");
	jsonv_known_keys(v, o, outbound_keys);
	s = jsonv_string(v, o, "unit", 1);
	if (s && !strcmp(s, "recipient")) {
		t->unit = TARIFF_UNIT_RECIPIENT;
	} else if (s && !strcmp(s, "message")) {
		t->unit = TARIFF_UNIT_MESSAGE;
	} else if (s) {
		jsonv_field_error(v, "unit", "\"%.40s\" is not a unit (expected "
				  "\"recipient\" or \"message\")", s);
	}
	jsonv_bool(v, o, "count_local", 1, &t->count_local);
	ok_warn = ratio(v, o, "warn_ratio", &t->warn_ratio) == 0;
	ok_block = ratio(v, o, "block_ratio", &t->block_ratio) == 0;
	if (ok_warn && ok_block && t->warn_ratio > t->block_ratio) {
		char w[MONEY_FMT_MAX], b[MONEY_FMT_MAX];

		jsonv_field_error(v, "warn_ratio",
				  "%s is above block_ratio %s (the warning "
				  "must come before the block)",
				  money_format(w, t->warn_ratio, 1),
				  money_format(b, t->block_ratio, 1));
	}
	if (jsonv_int(v, o, "tolerated_days", 1, 0, &n) == 0) {
		if (n < 0 || n > 31) {
			jsonv_field_error(v, "tolerated_days",
					  "%lld is out of range (0 to 31 days "
					  "per month)", n);
		} else {
			t->tolerated_days = (int)n;
		}
	}
	money_jsonv(v, o, "overage_per_1000", 1, 0, PRICE_PLACES,
		    &t->overage_per_1000);
	jsonv_pop(v, mark);
}

static void parse_vat(struct jsonv *v, json_t *doc, struct tariff *t)
{
	json_t *o = jsonv_object(v, doc, "vat", 1);
	size_t mark;

	if (!o) {
		return;
	}
	mark = jsonv_key(v, "vat");
	jsonv_known_keys(v, o, vat_keys);
	jsonv_bool(v, o, "oss", 1, &t->vat_oss);
	jsonv_pop(v, mark);
}

int tariff_from_json(struct tariff *t, const char *name, json_t *doc,
		     struct diag *d)
{
	struct jsonv v;
	size_t before = d->n;
	const char *s;

	memset(t, 0, sizeof(*t));
	jsonv_init(&v, name, d);
	if (!json_is_object(doc)) {
		jsonv_error(&v, "expected a JSON object (a tariff grid)");
		return -1;
	}
	jsonv_known_keys(&v, doc, top_keys);
	s = jsonv_string(&v, doc, "version", 1);
	if (s && !match_charset(s, ALNUM "._-", 32)) {
		jsonv_field_error(&v, "version",
				  "\"%.40s\" is not a version name (1 to 32 "
				  "letters, digits, '.', '_' or '-', such as "
				  "\"2026-09\")", s);
	} else if (s) {
		t->version = xstrdup(s);
	}
	s = jsonv_string(&v, doc, "effective_from", 1);
	if (s && !tariff_date_is_valid(s)) {
		jsonv_field_error(&v, "effective_from",
				  "\"%.40s\" is not a date (expected "
				  "YYYY-MM-DD, such as \"2026-09-01\")", s);
	} else if (s) {
		t->effective_from = xstrdup(s);
	}
	s = jsonv_string(&v, doc, "currency", 1);
	if (s && !(strlen(s) == 3 &&
		   strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") == 3)) {
		jsonv_field_error(&v, "currency",
				  "\"%.40s\" is not a currency code (3 "
				  "capital letters, such as \"EUR\")", s);
	} else if (s && strcmp(s, "EUR")) {
		/* Invoices, VAT returns and the FEC are kept in euros. */
		jsonv_field_error(&v, "currency",
				  "\"%s\" is not supported (releve bills in "
				  "EUR)", s);
	} else if (s) {
		t->currency = xstrdup(s);
	}
	s = jsonv_string(&v, doc, "timezone", 1);
	if (s && !timezone_form_ok(s)) {
		jsonv_field_error(&v, "timezone",
				  "\"%.40s\" is not a time zone name (such as "
				  "\"Europe/Paris\")", s);
	} else if (s) {
		t->timezone = xstrdup(s);
	}
	parse_plans(&v, doc, t);
	parse_addon(&v, doc, t);
	parse_outbound(&v, doc, t);
	parse_vat(&v, doc, t);
	if (d->n != before) {
		tariff_free(t);
		return -1;
	}
	return 0;
}

int tariff_parse(struct tariff *t, const char *name, const char *buf,
		 size_t len, struct diag *d)
{
	json_t *doc = jsonv_load_buffer(name, buf, len, d);
	int rc;

	if (!doc) {
		memset(t, 0, sizeof(*t));
		return -1;
	}
	rc = tariff_from_json(t, name, doc, d);
	json_decref(doc);
	return rc;
}

static json_t *money_json(int64_t micro, int min_places)
{
	char buf[MONEY_FMT_MAX];

	return json_string(money_format(buf, micro, min_places));
}

static json_t *size_json(int64_t bytes)
{
	char buf[SIZE_FMT_MAX];

	return json_string(size_format(buf, bytes));
}

json_t *tariff_to_json(const struct tariff *t)
{
	json_t *doc = json_object(), *plans = json_array(), *o;

	json_object_set_new(doc, "version", json_string(t->version));
	json_object_set_new(doc, "effective_from",
			    json_string(t->effective_from));
	json_object_set_new(doc, "currency", json_string(t->currency));
	json_object_set_new(doc, "timezone", json_string(t->timezone));
	for (size_t i = 0; i < t->nplans; i++) {
		const struct tariff_plan *p = &t->plans[i];

		o = json_object();
		json_object_set_new(o, "code", json_string(p->code));
		json_object_set_new(o, "name", json_string(p->name));
		json_object_set_new(o, "monthly_fee",
				    money_json(p->monthly_fee, 2));
		json_object_set_new(o, "outbound_per_day",
				    json_integer(p->outbound_per_day));
		json_object_set_new(o, "storage_included",
				    size_json(p->storage_included));
		json_array_append_new(plans, o);
	}
	json_object_set_new(doc, "plans", plans);
	if (t->has_addon) {
		o = json_object();
		json_object_set_new(o, "block", size_json(t->addon_block));
		json_object_set_new(o, "monthly_fee",
				    money_json(t->addon_monthly_fee, 2));
		json_object_set_new(doc, "storage_addon", o);
	}
	o = json_object();
	json_object_set_new(o, "unit", json_string(tariff_unit_name(t->unit)));
	json_object_set_new(o, "count_local", json_boolean(t->count_local));
	json_object_set_new(o, "warn_ratio", money_json(t->warn_ratio, 1));
	json_object_set_new(o, "tolerated_days",
			    json_integer(t->tolerated_days));
	json_object_set_new(o, "block_ratio", money_json(t->block_ratio, 1));
	json_object_set_new(o, "overage_per_1000",
			    money_json(t->overage_per_1000, 2));
	json_object_set_new(doc, "outbound", o);
	o = json_object();
	json_object_set_new(o, "oss", json_boolean(t->vat_oss));
	json_object_set_new(doc, "vat", o);
	return doc;
}

const struct tariff_plan *tariff_plan_find(const struct tariff *t,
					   const char *code)
{
	for (size_t i = 0; i < t->nplans; i++) {
		if (t->plans[i].code && !strcmp(t->plans[i].code, code)) {
			return &t->plans[i];
		}
	}
	return NULL;
}

void tariff_free(struct tariff *t)
{
	if (!t) {
		return;
	}
	for (size_t i = 0; i < t->nplans; i++) {
		free(t->plans[i].code);
		free(t->plans[i].name);
	}
	free(t->plans);
	free(t->version);
	free(t->effective_from);
	free(t->currency);
	free(t->timezone);
	memset(t, 0, sizeof(*t));
}
