/*
 * vat — the VAT regime of an invoice; see vat.h for the rules.
 *
 * Input: borrowed strings of a registry customer and a rate lookup.
 * Output: a struct vat_decision of static strings and fixed arrays, so
 * nothing to free.  Errors: every problem found is added to the caller's
 * diag and -1 returned; the decision is then zeroed, never half-filled.
 *
 * Why the territory comes first: the place of supply of a service to a
 * business is where the business is established, and of an electronically
 * supplied service to a consumer where the consumer lives (articles 44 and
 * 58 of Directive 2006/112/EC), so the customer's address decides, and an
 * address is more than its country: French overseas addresses are often
 * recorded as FR with a 97x postal code, and some postal codes of Spain,
 * Germany, Italy and Greece lie outside the EU VAT area (article 6).
 */
#include "vat.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "legalid.h"
#include "money.h"

static const char *const regime_codes[] = {
	[VAT_REGIME_FR] = "FR",
	[VAT_REGIME_REVERSE_CHARGE] = "REVERSE_CHARGE",
	[VAT_REGIME_OSS] = "OSS",
	[VAT_REGIME_FR_NO_OSS] = "FR_NO_OSS",
	[VAT_REGIME_DOM] = "DOM",
	[VAT_REGIME_OUT_OF_SCOPE] = "OUT_OF_SCOPE",
};
#define NREGIMES (sizeof(regime_codes) / sizeof(regime_codes[0]))

const char *vat_regime_code(enum vat_regime r)
{
	if ((size_t)r >= NREGIMES) {
		return "?";
	}
	return regime_codes[r];
}

int vat_regime_parse(const char *code, enum vat_regime *r)
{
	size_t i;

	for (i = 0; code && i < NREGIMES; i++) {
		if (!strcmp(code, regime_codes[i])) {
			*r = (enum vat_regime)i;
			return 0;
		}
	}
	return -1;
}

int vat_rates_lookup(void *rates, const char *territory, int64_t *rate)
{
	const struct vat_rates *t = rates;
	size_t i;

	*rate = 0;
	for (i = 0; t && territory && i < t->n; i++) {
		if (t->r[i].territory && !strcmp(t->r[i].territory, territory)) {
			*rate = t->r[i].rate;
			return 0;
		}
	}
	return -1;
}

/*
 * Postal-code prefixes of territories.  French overseas codes are 5
 * digits starting 97/98; Saint-Barthélemy and Saint-Martin share 971 with
 * Guadeloupe and are told apart by the whole code.  The excluded areas of
 * article 6 of the directive are listed by the codes their post uses.
 */
struct postal_rule {
	const char *country; /* the address's country */
	const char *prefix;  /* of the postal code, digits only */
	const char *territory; /* NULL: an excluded area */
	const char *area;      /* name of an excluded area */
};

static const struct postal_rule postal_rules[] = {
	/* First the exact codes, then the prefixes they would match. */
	{"FR", "97133", "BL", NULL}, /* Saint-Barthélemy */
	{"GP", "97133", "BL", NULL},
	{"FR", "97150", "MF", NULL}, /* Saint-Martin */
	{"GP", "97150", "MF", NULL},
	{"FR", "971", "GP", NULL},
	{"FR", "972", "MQ", NULL},
	{"FR", "973", "GF", NULL},
	{"FR", "974", "RE", NULL},
	{"FR", "975", "PM", NULL},
	{"FR", "976", "YT", NULL},
	{"FR", "980", "FR", NULL}, /* Monaco written as France */
	{"FR", "984", "TF", NULL},
	{"FR", "986", "WF", NULL},
	{"FR", "987", "PF", NULL},
	{"FR", "988", "NC", NULL},
	{"ES", "35", NULL, "Canary Islands"},
	{"ES", "38", NULL, "Canary Islands"},
	{"ES", "51", NULL, "Ceuta"},
	{"ES", "52", NULL, "Melilla"},
	{"GR", "63086", NULL, "Mount Athos"},
	{"DE", "27498", NULL, "Heligoland"},
	{"DE", "78266", NULL, "Büsingen am Hochrhein"},
	{"IT", "23041", NULL, "Livigno"},
	{"IT", "22060", NULL, "Campione d'Italia"},
	{"IT", "22061", NULL, "Campione d'Italia"},
};

/* The digits of a postal code written with spaces or hyphens ("630 86");
 * "" when it holds anything else or is too long. */
static void postal_digits(const char *pc, char out[12])
{
	size_t n = 0;

	out[0] = '\0';
	for (; pc && *pc; pc++) {
		if (*pc == ' ' || *pc == '-') {
			continue;
		}
		if (!isdigit((unsigned char)*pc) || n >= 11) {
			out[0] = '\0';
			return;
		}
		out[n++] = *pc;
		out[n] = '\0';
	}
}

const char *vat_territory(const char *country, const char *postal_code,
			  char out[3], const char **excluded_area)
{
	char pc[12];
	size_t i;

	if (excluded_area) {
		*excluded_area = NULL;
	}
	out[0] = '\0';
	if (!country || strlen(country) != 2) {
		return out;
	}
	memcpy(out, country, 3);
	if (!strcmp(country, "MC")) {
		memcpy(out, "FR", 3);
		return out;
	}
	postal_digits(postal_code, pc);
	if (strlen(pc) != 5) {
		return out;
	}
	for (i = 0; i < sizeof(postal_rules) / sizeof(postal_rules[0]); i++) {
		const struct postal_rule *r = &postal_rules[i];

		if (strcmp(r->country, country) != 0 ||
		    strncmp(pc, r->prefix, strlen(r->prefix)) != 0) {
			continue;
		}
		if (r->territory) {
			memcpy(out, r->territory, 3);
		} else if (excluded_area) {
			*excluded_area = r->area;
		}
		break;
	}
	return out;
}

/* French VAT applies, at France's rate. */
static int is_france(const char *t)
{
	return !strcmp(t, "FR");
}

/* French VAT applies, at the DOM rate (article 296 du CGI). */
static int is_dom_taxed(const char *t)
{
	return !strcmp(t, "GP") || !strcmp(t, "MQ") || !strcmp(t, "RE");
}

/* French departments where VAT is provisionally not applied (294-1). */
static int is_dom_untaxed(const char *t)
{
	return !strcmp(t, "GF") || !strcmp(t, "YT");
}

/* Customers established where VAT numbers are French ones. */
static int uses_french_vat_numbers(const char *t)
{
	return is_france(t) || is_dom_taxed(t) || is_dom_untaxed(t);
}

static void add_mention(struct vat_decision *o, const char *key)
{
	if (o->nmentions >= VAT_MENTIONS_MAX) {
		abort(); /* a bug: the rules never need more */
	}
	o->mentions[o->nmentions++] = key;
	o->mentions[o->nmentions] = NULL;
}

static void set_regime(struct vat_decision *o, enum vat_regime r,
		       const char *reason)
{
	o->regime = r;
	o->code = vat_regime_code(r);
	o->reason = reason;
}

static int take_rate(struct vat_decision *o, const char *territory,
		     vat_rate_fn *rate_fn, void *ctx, struct diag *d)
{
	int64_t rate = 0;

	if (rate_fn(ctx, territory, &rate) != 0) {
		diag_add(d, "no standard VAT rate for %s (see the vat_rates table)",
			 territory);
		return -1;
	}
	if (rate < 0 || rate >= 100 * (int64_t)MONEY_SCALE) {
		diag_add(d, "VAT rate of %s is out of range (0 to 100 %%)",
			 territory);
		return -1;
	}
	memcpy(o->rate_country, territory, 3);
	o->rate = rate;
	return 0;
}

/* Check the customer; 0 when usable, -1 with every problem in d. */
static int check_customer(const struct vat_customer *c, const char *territory,
			  int *professional, struct diag *d)
{
	int ok = 0;
	char why[200];

	if (!c->kind || (strcmp(c->kind, "business") != 0 &&
			 strcmp(c->kind, "association") != 0 &&
			 strcmp(c->kind, "individual") != 0)) {
		diag_add(d, "customer kind '%s' is not business, association or individual",
			 c->kind ? c->kind : "(none)");
		ok = -1;
	}
	*professional = c->kind && strcmp(c->kind, "individual") != 0;
	if (!c->country || !country_is_iso3166(c->country)) {
		diag_add(d, "customer country '%s' is not an ISO 3166-1 code",
			 c->country ? c->country : "(none)");
		return -1;
	}
	if (!c->vat_number || !*c->vat_number) {
		return ok;
	}
	if (c->kind && !strcmp(c->kind, "individual")) {
		diag_add(d, "an individual has no VAT number (%s): record a sole "
			    "trader as a business", c->vat_number);
		return -1;
	}
	if (vat_number_check(uses_french_vat_numbers(territory) ? "FR"
								 : c->country,
			     c->vat_number, NULL, why, sizeof(why)) != 0) {
		diag_add(d, "'%s' is not a VAT number of %s: %s", c->vat_number,
			 c->country, why);
		ok = -1;
	}
	return ok;
}

int vat_decide(const char *seller_country, const struct vat_customer *c,
	       int oss, vat_rate_fn *rate_fn, void *ctx,
	       struct vat_decision *out, struct diag *d)
{
	struct vat_decision o;
	const char *area = NULL;
	char t[3];
	int professional = 0, has_vat, bad = 0;

	memset(&o, 0, sizeof(o));
	memset(out, 0, sizeof(*out));
	if (!seller_country || strcmp(seller_country, "FR") != 0) {
		/* The mentions cite French law; another seller needs its own. */
		diag_add(d, "seller country '%s': only a seller established in "
			    "France (FR) is supported",
			 seller_country ? seller_country : "(none)");
		bad = 1;
	}
	if (!c) {
		diag_add(d, "no customer");
		return -1;
	}
	vat_territory(c->country, c->postal_code, t, &area);
	if (check_customer(c, t, &professional, d) != 0 || bad) {
		return -1;
	}
	memcpy(o.territory, t, 3);
	has_vat = c->vat_number && *c->vat_number;

	if (area) {
		set_regime(&o, VAT_REGIME_OUT_OF_SCOPE,
			   "area of a member state outside the EU VAT area "
			   "(article 6 of Directive 2006/112/EC)");
		add_mention(&o, "out_of_vat_area");
	} else if (is_france(t)) {
		set_regime(&o, VAT_REGIME_FR,
			   "customer in France or Monaco: French VAT");
		if (take_rate(&o, "FR", rate_fn, ctx, d) != 0) {
			return -1;
		}
	} else if (is_dom_taxed(t)) {
		set_regime(&o, VAT_REGIME_DOM,
			   "customer in Guadeloupe, Martinique or La Réunion: "
			   "French VAT at the DOM rate (article 296 du CGI)");
		if (take_rate(&o, t, rate_fn, ctx, d) != 0) {
			return -1;
		}
	} else if (is_dom_untaxed(t)) {
		set_regime(&o, VAT_REGIME_OUT_OF_SCOPE,
			   "customer in French Guiana or Mayotte: VAT not "
			   "applicable (article 294-1 du CGI)");
		add_mention(&o, "not_applicable_dom");
	} else if (!country_is_eu(t)) {
		set_regime(&o, VAT_REGIME_OUT_OF_SCOPE,
			   professional ? "business customer outside the EU: "
					  "place of supply outside France"
					: "consumer outside the EU: place of "
					  "supply where the consumer lives");
		add_mention(&o, professional ? "out_of_scope"
					     : "out_of_scope_consumer");
	} else if (professional && has_vat) {
		set_regime(&o, VAT_REGIME_REVERSE_CHARGE,
			   "business customer in another member state with a "
			   "VAT number: reverse charge");
		o.customer_vat_required = 1;
		add_mention(&o, "reverse_charge");
	} else if (oss) {
		set_regime(&o, VAT_REGIME_OSS,
			   professional ? "customer without a VAT number in "
					  "another member state, OSS: its "
					  "state's rate"
					: "consumer in another member state, "
					  "OSS: its state's rate");
		if (take_rate(&o, t, rate_fn, ctx, d) != 0) {
			return -1;
		}
		add_mention(&o, "oss");
	} else {
		set_regime(&o, VAT_REGIME_FR_NO_OSS,
			   "consumer (or customer without a VAT number) in "
			   "another member state, OSS off (under the 10 000 EUR "
			   "threshold): French VAT");
		if (take_rate(&o, "FR", rate_fn, ctx, d) != 0) {
			return -1;
		}
	}
	if (professional) {
		add_mention(&o, "late_penalties");
		add_mention(&o, "recovery_indemnity");
	}
	*out = o;
	return 0;
}

int vat_amount_cents(int64_t base_cents, int64_t rate, int64_t *vat_cents)
{
	/* base x (rate / 10^6) / 100 = rate_micro x base / 10^4 / 10^4,
	 * which is money_mul_div_round_cents(rate, base, 10^4). */
	return money_mul_div_round_cents(rate, base_cents, 10000, vat_cents);
}

char *vat_rate_format(char *buf, int64_t rate)
{
	return money_format(buf, rate, 2);
}

static const char *find_var(const char *name, size_t len,
			    const char *const *vars, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strlen(vars[2 * i]) == len &&
		    !strncmp(vars[2 * i], name, len)) {
			return vars[2 * i + 1] ? vars[2 * i + 1] : "";
		}
	}
	return NULL;
}

char *vat_mention_expand(const char *text, const char *const *vars, size_t n,
			 struct diag *d)
{
	size_t cap = strlen(text) + 1, len = 0, k;
	char *buf = xmalloc(cap);
	const char *p = text;
	int bad = 0;

	while (*p) {
		const char *val = NULL;
		size_t vlen;

		if (*p == '{') {
			for (k = 1; p[k] == '_' || islower((unsigned char)p[k]);
			     k++) {
			}
			if (k > 1 && p[k] == '}') {
				val = find_var(p + 1, k - 1, vars, n);
				if (!val) {
					diag_add(d, "mention text: unknown placeholder {%.*s}",
						 (int)(k - 1), p + 1);
					bad = 1;
					val = "";
				}
			}
		}
		if (!val) {
			val = p;
			vlen = 1;
			k = 0;
		} else {
			vlen = strlen(val);
		}
		if (len + vlen + 1 > cap) {
			cap = (len + vlen + 1) * 2;
			buf = xreallocarray(buf, cap, 1);
		}
		memcpy(buf + len, val, vlen);
		len += vlen;
		p += k + 1;
	}
	buf[len] = '\0';
	if (bad) {
		free(buf);
		return NULL;
	}
	return buf;
}
