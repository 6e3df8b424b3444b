/*
 * vat — which VAT regime and rate an invoice of a French seller of e-mail
 * hosting (an electronically supplied service) applies to a customer, and
 * which legal mentions it must carry.  Pure: no I/O, no floating point, no
 * allocation (but vat_mention_expand's result).
 *
 * Rates are exact decimals in micro-units of a percent, like every rate in
 * money.h: 20 % = 20000000, 25.5 % = 25500000.  They come from the
 * vat_rates table (sql/005_vat.sql) through a lookup the caller passes in
 * (vat_db.h loads them); mentions are keys into the legal_mentions table,
 * whose texts are data, never C literals.
 *
 * The rules, in the order they are tried (customer territory first, see
 * vat_territory()):
 *
 *   FR             customer in France or Monaco (article 7 of Directive
 *                  2006/112/EC: Monaco is French VAT territory), whatever
 *                  its kind: France's rate.
 *   DOM            Guadeloupe, Martinique, La Réunion (country GP/MQ/RE, or
 *                  FR with postal code 971/972/974): for services these are
 *                  not third territories; the place is the customer's
 *                  (article 259-1° du CGI for businesses, 259 D for
 *                  electronic services to consumers) and the seller charges
 *                  the DOM rate (article 296 du CGI: 8.5 %).
 *   OUT_OF_SCOPE   0 %: French Guiana and Mayotte (GF/YT, FR 973/976:
 *                  article 294-1 du CGI, mention not_applicable_dom);
 *                  territories of a member state outside the EU VAT area
 *                  (article 6 of the directive: Canary Islands, Ceuta,
 *                  Melilla, Mount Athos, Heligoland, Büsingen, Livigno,
 *                  Campione d'Italia, told by postal code; Åland has its own
 *                  code AX), mention out_of_vat_area; every other country
 *                  outside the EU, including the French collectivities
 *                  (PM, BL, MF, WF, PF, NC, TF), mention out_of_scope for a
 *                  business or association, out_of_scope_consumer for an
 *                  individual.
 *   REVERSE_CHARGE another member state, business or association with a
 *                  VAT number of that state: 0 %, mention reverse_charge
 *                  ("Autoliquidation"), both VAT numbers printed.
 *   OSS            another member state, individual (or business /
 *                  association without a VAT number), tariff with OSS on:
 *                  that state's standard rate, mention oss.
 *   FR_NO_OSS      the same with OSS off (the seller stays under the
 *                  10 000 € EU-wide threshold of article 59c of the
 *                  directive): France's rate.
 *
 * Businesses and associations also get late_penalties and
 * recovery_indemnity (articles L441-9, L441-10, D441-5 du Code de
 * commerce); individuals do not.
 *
 * What this module cannot know: whether a VAT number is live in VIES (the
 * operator checks it; the format is checked here), and whether an
 * "individual" acts for a business (record such a customer as a business).
 */
#ifndef RELEVE_VAT_H
#define RELEVE_VAT_H

#include <stddef.h>
#include <stdint.h>

#include "common/diag.h"

enum vat_regime {
	VAT_REGIME_FR,
	VAT_REGIME_REVERSE_CHARGE,
	VAT_REGIME_OSS,
	VAT_REGIME_FR_NO_OSS,
	VAT_REGIME_DOM,
	VAT_REGIME_OUT_OF_SCOPE,
};

/* The customer as the registry holds it (borrowed strings). */
struct vat_customer {
	const char *kind;	 /* "business" | "association" | "individual" */
	const char *country;	 /* ISO 3166-1 alpha-2 ("GR" for Greece) */
	const char *postal_code; /* may be NULL; spaces are ignored */
	const char *vat_number;	 /* compact ("BE0123456789"), NULL or "" */
};

/*
 * The rate lookup: the standard rate in force in territory (an ISO code:
 * "FR", "DE", "GR", "GP") as micro-units of a percent.  Returns 0, or -1
 * when the territory has no rate (vat_decide then reports an error).
 */
typedef int vat_rate_fn(void *ctx, const char *territory, int64_t *rate);

/* A small rate table usable as the lookup: pass vat_rates_lookup and a
 * struct vat_rates * as ctx. */
struct vat_rate {
	const char *territory;
	int64_t rate;
};
struct vat_rates {
	const struct vat_rate *r;
	size_t n;
};
int vat_rates_lookup(void *rates, const char *territory, int64_t *rate);

#define VAT_MENTIONS_MAX 4

struct vat_decision {
	enum vat_regime regime;
	const char *code;      /* "FR", "REVERSE_CHARGE", ... (static) */
	char territory[3];     /* the customer's VAT territory: "FR" for
				* Monaco, "GP" for FR 97110, else country */
	char rate_country[3];  /* whose rate applies: "FR", "DE", "GP";
				* "" when the regime is 0 % by nature */
	int64_t rate;	       /* micro-units of a percent */
	int customer_vat_required; /* both VAT numbers must be printed */
	size_t nmentions;
	const char *mentions[VAT_MENTIONS_MAX + 1]; /* keys, NULL-ended */
	const char *reason;    /* why, in English, for logs (static) */
};

/*
 * Decide the regime of an invoice from a seller in seller_country (only
 * "FR" is supported) to customer c, with the tariff's OSS flag.  Checks
 * the kind, the country (ISO 3166-1), the VAT number's form and that it
 * belongs to the customer's country (EL for GR, FR for MC).  Returns 0
 * with *out filled, or -1 with every problem added to d and *out zeroed.
 */
int vat_decide(const char *seller_country, const struct vat_customer *c,
	       int oss, vat_rate_fn *rate_fn, void *ctx,
	       struct vat_decision *out, struct diag *d);

/*
 * The VAT territory of a customer address: country, except Monaco -> FR,
 * FR with a 97x/98x overseas postal code -> that territory (97110 -> GP,
 * 97133 -> BL, 97150 -> MF, 98000 -> FR for Monaco).  *excluded_area (may
 * be NULL) is set to the name of an area of a member state outside the EU
 * VAT area ("Canary Islands" for ES 35xxx/38xxx), else NULL.  out holds
 * 3 bytes.  Returns out.
 */
const char *vat_territory(const char *country, const char *postal_code,
			  char out[3], const char **excluded_area);

const char *vat_regime_code(enum vat_regime r);
/* 0 and *r set, or -1 for an unknown code. */
int vat_regime_parse(const char *code, enum vat_regime *r);

/*
 * VAT on a base: half-away-from-zero(base_cents x rate / 100), exact (the
 * one rounding rule of money.h).  0, or -1 with *vat_cents = 0 when it
 * does not fit.
 */
int vat_amount_cents(int64_t base_cents, int64_t rate, int64_t *vat_cents);
/* "20.00", "25.50", "0.00", "8.50": the rate as invoices print it.  buf
 * holds MONEY_FMT_MAX bytes. */
char *vat_rate_format(char *buf, int64_t rate);

/*
 * Fill the {name} placeholders of a mention text (see sql/005_vat.sql)
 * from n pairs vars[2i] = name, vars[2i+1] = value.  Returns a new string
 * (caller frees), or NULL with an error in d for each unknown
 * placeholder.  A '{' not followed by a lower-case name and '}' is kept.
 */
char *vat_mention_expand(const char *text, const char *const *vars, size_t n,
			 struct diag *d);

#endif
