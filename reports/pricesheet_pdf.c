/*
 * pricesheet_pdf — the price sheet; see pricesheet_pdf.h.
 *
 * French figures are written 1 234,56 € and 20 %, English ones 1234.56 €
 * and 20 %; sizes in binary units (Gio in French, GiB in English) as
 * common/size.c writes them.  The sheet is one page: a grid has a handful
 * of plans (the text is sized for up to 12).
 */
#include "pricesheet_pdf.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "billing/money.h"
#include "billing/tariff_db.h"
#include "billing/vat_db.h"
#include "common/db.h"
#include "common/size.h"
#include "common/xalloc.h"
#include "pdf.h"

#define M 50.0f
#define CW (PDF_A4_W - 2 * M)

struct sheet {
	struct pdf *p;
	const struct tariff *t;
	const struct seller *s;
	int64_t vat;
	int en;
	char **pool;
	size_t npool;
};

static const char *keep(struct sheet *c, char *s)
{
	c->pool = xreallocarray(c->pool, c->npool + 1, sizeof(char *));
	c->pool[c->npool++] = s;
	return s;
}

static const char *fmt(struct sheet *c, const char *f, ...)
	__attribute__((format(printf, 2, 3)));
static const char *fmt(struct sheet *c, const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	s = xvasprintf(f, ap);
	va_end(ap);
	return keep(c, s);
}

static const char *tr(const struct sheet *c, const char *fr, const char *en)
{
	return c->en ? en : fr;
}

int pricesheet_ttc_cents(int64_t ht_micro, int64_t vat_rate, int64_t *cents)
{
	/* 100 % in micro-units of a percent */
	const int64_t hundred = 100 * (int64_t)MONEY_SCALE;

	if (vat_rate < 0 || vat_rate > INT64_MAX - hundred) {
		*cents = 0;
		return -1;
	}
	return money_mul_div_round_cents(ht_micro, hundred + vat_rate, hundred,
					 cents);
}

/* An exact price in micro-units: "19,90 €" / "19.90 €". */
static const char *price(struct sheet *c, int64_t micro)
{
	char b[PDF_NUM_MAX];

	if (c->en) {
		return fmt(c, "%s €", money_format(b, micro, 2));
	}
	return fmt(c, "%s €", pdf_fr_micro(b, micro, 2));
}

static const char *cents(struct sheet *c, int64_t v)
{
	char b[PDF_NUM_MAX];

	if (c->en) {
		return fmt(c, "%s €", money_format_cents(b, v));
	}
	return fmt(c, "%s €", pdf_fr_cents(b, v));
}

static const char *ttc(struct sheet *c, int64_t micro)
{
	int64_t v;

	if (pricesheet_ttc_cents(micro, c->vat, &v) != 0) {
		return "?";
	}
	return cents(c, v);
}

/* A ratio in micro-units (0.8) as a percentage: "80 %". */
static const char *percent(struct sheet *c, int64_t ratio)
{
	char b[PDF_NUM_MAX];

	if (ratio > INT64_MAX / 100) {
		return "?";
	}
	if (c->en) {
		return fmt(c, "%s %%", money_format(b, ratio * 100, 0));
	}
	return fmt(c, "%s %%", pdf_fr_micro(b, ratio * 100, 0));
}

static const char *count(struct sheet *c, int64_t n)
{
	char b[PDF_NUM_MAX];

	if (c->en) {
		return fmt(c, "%lld", (long long)n);
	}
	return fmt(c, "%s", pdf_fr_int(b, n));
}

/* "10 GiB", in French "10 Gio". */
static const char *size(struct sheet *c, int64_t bytes)
{
	char b[SIZE_FMT_MAX], *s = xstrdup(size_format(b, bytes));
	size_t n = strlen(s);

	if (!c->en && n >= 2 && !strcmp(s + n - 2, "iB")) {
		strcpy(s + n - 2, "io");
	} else if (!c->en && n >= 2 && !strcmp(s + n - 2, " B")) {
		strcpy(s + n - 2, " o");
	}
	return keep(c, s);
}

static const char *unit_words(struct sheet *c)
{
	return c->t->unit == TARIFF_UNIT_MESSAGE
		       ? tr(c, "messages", "messages")
		       : tr(c, "destinataires", "recipients");
}

static float para(struct sheet *c, float y, const char *text, float size,
		  float leading)
{
	pdf_font(c->p, PDF_REGULAR, size);
	return y - (float)pdf_wrap(c->p, M, y, CW, leading, text) * leading;
}

static void draw(struct sheet *c)
{
	const struct tariff *t = c->t;
	const struct seller *s = c->s;
	struct pdf *p = c->p;
	float y = PDF_A4_H - 50, x[5], ys;
	char b[PDF_NUM_MAX];

	pdf_page_new(p);
	/* seller, left; title, right */
	pdf_font(p, PDF_BOLD, 14);
	pdf_text(p, M, y, s->name);
	pdf_font(p, PDF_BOLD, 18);
	pdf_text_right(p, M + CW, y, tr(c, "Grille tarifaire", "Price list"));
	pdf_font(p, PDF_REGULAR, 9);
	pdf_text_right(p, M + CW, y - 18,
		       fmt(c, "%s %s", tr(c, "Version", "Version"),
			   t->version));
	pdf_text_right(p, M + CW, y - 30,
		       fmt(c, "%s %s",
			   tr(c, "En vigueur à partir du",
			      "Effective from"),
			   c->en ? t->effective_from
				 : pdf_fr_date(b, t->effective_from)));
	ys = y - 16;
	pdf_font(p, PDF_REGULAR, 8.5f);
	if (s->has_capital) {
		pdf_text(p, M, ys,
			 fmt(c, "%s %s %s", s->legal_form,
			     tr(c, "au capital de", "with a capital of"),
			     price(c, s->capital)));
	} else {
		pdf_text(p, M, ys, s->legal_form);
	}
	ys -= 11;
	pdf_text(p, M, ys,
		 fmt(c, "%s%s%s, %s %s", s->line1, s->line2 ? ", " : "",
		     s->line2 ? s->line2 : "", s->postal_code, s->city));
	ys -= 11;
	pdf_text(p, M, ys,
		 fmt(c, "SIREN %s%s%s – %s %s", s->siren, s->rcs ? " – " : "",
		     s->rcs ? s->rcs : "", tr(c, "N° TVA", "VAT no."),
		     s->vat_number));
	ys -= 11;
	pdf_text(p, M, ys,
		 fmt(c, "%s%s%s", s->email, s->website ? " – " : "",
		     s->website ? s->website : ""));
	y = ys - 30;

	y = para(c, y,
		 fmt(c, "%s %s.",
		     tr(c, "Abonnements mensuels, partagés entre tous vos "
			   "domaines et boîtes aux lettres. Prix hors taxes "
			   "(HT) et toutes taxes comprises (TTC) au taux de "
			   "TVA français de",
			"Monthly subscriptions, shared across all your "
			"domains and mailboxes. Prices excluding VAT and "
			"including French VAT at"),
		     percent(c, c->vat / 100)),
		 9, 12);
	y -= 10;

	/* the plans */
	x[0] = M + 4;	     /* plan */
	x[1] = M + 200;	     /* HT, right */
	x[2] = M + 285;	     /* TTC, right */
	x[3] = M + 390;	     /* outbound, right */
	x[4] = M + CW - 4;   /* storage, right */
	pdf_fill_rgb(p, 0.90f, 0.92f, 0.95f);
	pdf_rect(p, M, y - 24, CW, 30);
	pdf_fill_rgb(p, 0, 0, 0);
	pdf_font(p, PDF_BOLD, 8.5f);
	pdf_text(p, x[0], y - 6, tr(c, "Forfait", "Plan"));
	pdf_text_right(p, x[1], y - 6, tr(c, "Prix HT", "Price excl. VAT"));
	pdf_text_right(p, x[2], y - 6, tr(c, "Prix TTC", "Price incl. VAT"));
	pdf_text_right(p, x[3], y - 6,
		       tr(c, "Envois inclus", "Included outbound"));
	pdf_text_right(p, x[4], y - 6,
		       tr(c, "Stockage inclus", "Included storage"));
	pdf_font(p, PDF_REGULAR, 7.5f);
	pdf_text_right(p, x[1], y - 17, tr(c, "par mois", "per month"));
	pdf_text_right(p, x[2], y - 17, tr(c, "par mois", "per month"));
	pdf_text_right(p, x[3], y - 17,
		       fmt(c, "%s %s", unit_words(c),
			   tr(c, "par jour", "per day")));
	y -= 42;
	for (size_t i = 0; i < t->nplans && i < 12; i++) {
		const struct tariff_plan *pl = &t->plans[i];

		pdf_font(p, PDF_BOLD, 10);
		pdf_text(p, x[0], y, fmt(c, "%s – %s", pl->code, pl->name));
		pdf_font(p, PDF_REGULAR, 10);
		pdf_text_right(p, x[1], y, price(c, pl->monthly_fee));
		pdf_font(p, PDF_BOLD, 10);
		pdf_text_right(p, x[2], y, ttc(c, pl->monthly_fee));
		pdf_font(p, PDF_REGULAR, 10);
		pdf_text_right(p, x[3], y, count(c, pl->outbound_per_day));
		pdf_text_right(p, x[4], y, size(c, pl->storage_included));
		pdf_stroke_rgb(p, 0.8f, 0.8f, 0.8f);
		pdf_line(p, M, y - 7, M + CW, y - 7, 0.4f);
		pdf_stroke_rgb(p, 0, 0, 0);
		y -= 22;
	}
	y -= 12;

	/* storage add-on */
	pdf_font(p, PDF_BOLD, 11);
	pdf_text(p, M, y,
		 tr(c, "Stockage supplémentaire", "Additional storage"));
	y -= 16;
	if (t->has_addon) {
		y = para(c, y,
			 c->en ? fmt(c,
				     "Above the included storage (average of "
				     "the month), each additional block of "
				     "%s costs %s excl. VAT (%s incl. VAT) "
				     "per month.",
				     size(c, t->addon_block),
				     price(c, t->addon_monthly_fee),
				     ttc(c, t->addon_monthly_fee))
			       : fmt(c,
				     "Au-delà du stockage inclus (moyenne du "
				     "mois), chaque bloc supplémentaire de %s "
				     "coûte %s HT (%s TTC) par mois.",
				     size(c, t->addon_block),
				     price(c, t->addon_monthly_fee),
				     ttc(c, t->addon_monthly_fee)),
			 9.5f, 13);
	} else {
		y = para(c, y,
			 tr(c, "Pas d'option de stockage supplémentaire.",
			    "No additional storage option."),
			 9.5f, 13);
	}
	y -= 14;

	/* the soft-quota policy */
	pdf_font(p, PDF_BOLD, 11);
	pdf_text(p, M, y,
		 tr(c, "Quotas d'envoi souples", "Soft sending quotas"));
	y -= 16;
	y = para(c, y,
		 c->en ? fmt(c,
			     "Outbound mail is counted per %s%s. Going over "
			     "the daily quota does not stop your mail:",
			     t->unit == TARIFF_UNIT_MESSAGE ? "message"
							    : "recipient",
			     t->count_local ? ", local recipients included"
					    : "; mail to recipients hosted "
					      "with us does not count")
		       : fmt(c,
			     "Les envois sont comptés par %s%s. Dépasser le "
			     "quota quotidien n'arrête pas votre courrier :",
			     t->unit == TARIFF_UNIT_MESSAGE ? "message"
							    : "destinataire",
			     t->count_local
				     ? ", destinataires locaux compris"
				     : " ; les envois vers des destinataires "
				       "hébergés chez nous ne comptent pas"),
		 9.5f, 13);
	y -= 4;
	{
		const char *items[4];

		if (c->en) {
			items[0] = fmt(c, "– warning by e-mail at %s of the "
					  "daily quota;",
				       percent(c, t->warn_ratio));
			items[1] = fmt(c, "– %d days over quota tolerated per "
					  "month, free of charge;",
				       t->tolerated_days);
			items[2] = fmt(c, "– sending blocked above %s of the "
					  "daily quota, for the rest of the "
					  "day;",
				       percent(c, t->block_ratio));
			items[3] = t->overage_per_1000 > 0
					   ? fmt(c,
						 "– beyond the tolerated "
						 "days, overage billed at %s "
						 "excl. VAT (%s incl. VAT) "
						 "per 1000 %s.",
						 price(c, t->overage_per_1000),
						 ttc(c, t->overage_per_1000),
						 unit_words(c))
					   : "– no overage billing.";
		} else {
			items[0] = fmt(c, "– avertissement par e-mail à %s du "
					  "quota quotidien ;",
				       percent(c, t->warn_ratio));
			items[1] = fmt(c, "– %d jours de dépassement tolérés "
					  "par mois, sans frais ;",
				       t->tolerated_days);
			items[2] = fmt(c, "– envoi bloqué au-delà de %s du "
					  "quota quotidien, pour le reste de "
					  "la journée ;",
				       percent(c, t->block_ratio));
			items[3] = t->overage_per_1000 > 0
					   ? fmt(c,
						 "– au-delà des jours tolérés, "
						 "dépassement facturé %s HT "
						 "(%s TTC) par 1000 %s.",
						 price(c, t->overage_per_1000),
						 ttc(c, t->overage_per_1000),
						 unit_words(c))
					   : "– pas de facturation du "
					     "dépassement.";
		}
		for (int i = 0; i < 4; i++) {
			pdf_font(p, PDF_REGULAR, 9.5f);
			y -= (float)pdf_wrap(p, M + 10, y, CW - 10, 13,
					     items[i]) *
			     13;
		}
	}
	y -= 14;
	y = para(c, y,
		 tr(c, "Un abonnement commencé ou arrêté en cours de mois est "
		       "facturé au prorata des jours. Les entreprises établies "
		       "dans un autre État membre de l'Union européenne et "
		       "identifiées à la TVA sont facturées hors taxes "
		       "(autoliquidation).",
		    "A subscription started or ended during a month is "
		    "prorated by days. Businesses established in another EU "
		    "member state with a VAT number are invoiced without VAT "
		    "(reverse charge)."),
		 8, 11);
	(void)y;

	/* footer: the seller's identity */
	pdf_line(p, M, 50, M + CW, 50, 0.3f);
	pdf_font(p, PDF_REGULAR, 7);
	pdf_wrap(p, M, 40, CW, 9,
		 fmt(c, "%s, %s – %s%s%s, %s %s – SIREN %s – %s %s", s->name,
		     s->legal_form, s->line1, s->line2 ? ", " : "",
		     s->line2 ? s->line2 : "", s->postal_code, s->city,
		     s->siren, tr(c, "N° TVA", "VAT no."), s->vat_number));
}

int pricesheet_pdf_render(const struct tariff *t, const struct seller *s,
			  int64_t vat_rate, const char *lang,
			  unsigned char **buf, size_t *len, struct diag *d)
{
	struct sheet c;
	char *title;
	int rc;

	*buf = NULL;
	*len = 0;
	if (lang && strcmp(lang, "fr") && strcmp(lang, "en")) {
		diag_add(d, "price sheet: language '%s' (use fr or en)", lang);
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.t = t;
	c.s = s;
	c.vat = vat_rate;
	c.en = lang && !strcmp(lang, "en");
	title = xasprintf("%s %s", c.en ? "Price list" : "Grille tarifaire",
			  t->version);
	c.p = pdf_new(title, t->effective_from, d);
	free(title);
	if (!c.p) {
		return -1;
	}
	draw(&c);
	rc = pdf_buffer(c.p, buf, len, d);
	pdf_free(c.p);
	for (size_t i = 0; i < c.npool; i++) {
		free(c.pool[i]);
	}
	free(c.pool);
	return rc;
}

int pricesheet_pdf_buffer(PGconn *c, const char *version, const char *lang,
			  unsigned char **buf, size_t *len, struct diag *d)
{
	struct tariff t;
	struct seller s;
	struct vat_rates rates;
	PGresult *r;
	char today[11], on[11];
	int64_t vat;
	int rc;

	*buf = NULL;
	*len = 0;
	r = db_exec(c, d,
		    "SELECT (now() AT TIME ZONE 'Europe/Paris')::date::text "
		    "AS today",
		    0, NULL);
	if (!r) {
		return -1;
	}
	snprintf(today, sizeof(today), "%s", db_get(r, 0, "today"));
	PQclear(r);
	if (version) {
		rc = tariff_db_load(c, version, &t, NULL, d);
	} else {
		rc = tariff_db_in_effect(c, today, &t, d);
		if (rc == 1) {
			rc = tariff_db_load(c, NULL, &t, NULL, d);
		}
	}
	if (rc != 0) {
		if (rc == 1) {
			diag_add(d, version ? "tariff version %s: not found"
					    : "no tariff version loaded%s",
				 version ? version : "");
		}
		return -1;
	}
	rc = seller_db_load(c, &s, d);
	if (rc != 0) {
		if (rc == 1) {
			diag_add(d, "no seller (run `releve seller set`)");
		}
		tariff_free(&t);
		return -1;
	}
	snprintf(on, sizeof(on), "%s",
		 strcmp(t.effective_from, today) > 0 ? t.effective_from
						     : today);
	if (vat_db_rates(c, on, &rates, d) != 0) {
		rc = -1;
	} else if (vat_rates_lookup(&rates, "FR", &vat) != 0) {
		diag_add(d, "vat_rates: no French rate in force on %s", on);
		rc = -1;
	} else {
		rc = pricesheet_pdf_render(&t, &s, vat, lang, buf, len, d);
	}
	vat_db_rates_free(&rates);
	seller_free(&s);
	tariff_free(&t);
	return rc;
}
