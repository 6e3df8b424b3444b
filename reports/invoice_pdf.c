/*
 * invoice_pdf — lay out and draw an invoice; see invoice_pdf.h.
 *
 * The layout runs twice over the same code: a dry pass (pdf.h) that only
 * counts pages, so that the real pass can print "page n/N".  Blocks are
 * functions (ctx, y, draw) returning their height: with draw 0 they only
 * measure, which is how the tail (totals, payment, mentions, chart) is
 * kept together on the last page.
 *
 * Figures are formatted the French way (1 234,56 €, 20 %, 31/10/2026)
 * from the struct's integers; no arithmetic on money happens here except
 * the chart's geometry, which is drawing, not billing.
 */
#include "invoice_pdf.h"

#include <stdarg.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"
#include "pdf.h"

#define M 42.0f			  /* left and right margins */
#define CW (PDF_A4_W - 2 * M)	  /* content width */
#define TOP (PDF_A4_H - 40.0f)	  /* first baseline */
#define BOTTOM 62.0f		  /* content stops above the footer */
#define GAP 11.0f

/* Columns of the lines table: left edge of the description and of the
 * unit, right edges of the figures. */
#define DESC_W 205.0f
#define QTY_R (M + 262.0f)
#define UNIT_X (M + 270.0f)
#define UNIT_W 82.0f
#define PU_R (M + 405.0f)
#define VAT_R (M + 445.0f)
#define NET_R (M + CW)

#define CHART_H 188.0f

struct ctx {
	struct pdf *p;
	const struct invoice *inv;
	int en;	    /* English labels beside the French ones */
	int npages; /* known on the real pass */
	char **pool; /* strings made while laying out, freed at the end */
	size_t npool, cappool;
};

static const char *keep(struct ctx *c, char *s)
{
	if (c->npool == c->cappool) {
		c->cappool = c->cappool ? 2 * c->cappool : 64;
		c->pool = xreallocarray(c->pool, c->cappool, sizeof(char *));
	}
	c->pool[c->npool++] = s;
	return s;
}

static const char *fmt(struct ctx *c, const char *f, ...)
	__attribute__((format(printf, 2, 3)));
static const char *fmt(struct ctx *c, const char *f, ...)
{
	va_list ap;
	char *s;

	va_start(ap, f);
	s = xvasprintf(f, ap);
	va_end(ap);
	return keep(c, s);
}

/* "Facture" or, for an English-speaking customer, "Facture / Invoice". */
static const char *lab(struct ctx *c, const char *fr, const char *en)
{
	return c->en && en ? fmt(c, "%s / %s", fr, en) : fr;
}

static const char *euros(struct ctx *c, int64_t cents)
{
	char b[PDF_NUM_MAX];

	return fmt(c, "%s €", pdf_fr_cents(b, cents));
}

static const char *rate(struct ctx *c, int64_t micro_pct)
{
	char b[PDF_NUM_MAX];

	return fmt(c, "%s %%", pdf_fr_micro(b, micro_pct, 0));
}

static const char *date(struct ctx *c, const char *iso)
{
	char b[PDF_NUM_MAX];

	return fmt(c, "%s", pdf_fr_date(b, iso));
}

static const char *s_or(const char *s)
{
	return s ? s : "";
}

static const struct {
	const char *code, *fr;
} countries[] = {
	{"AT", "Autriche"},	{"BE", "Belgique"},	 {"BG", "Bulgarie"},
	{"CH", "Suisse"},	{"CY", "Chypre"},	 {"CZ", "Tchéquie"},
	{"DE", "Allemagne"},	{"DK", "Danemark"},	 {"EE", "Estonie"},
	{"ES", "Espagne"},	{"FI", "Finlande"},	 {"FR", "France"},
	{"GB", "Royaume-Uni"},	{"GR", "Grèce"},	 {"HR", "Croatie"},
	{"HU", "Hongrie"},	{"IE", "Irlande"},	 {"IT", "Italie"},
	{"LT", "Lituanie"},	{"LU", "Luxembourg"},	 {"LV", "Lettonie"},
	{"MC", "Monaco"},	{"MT", "Malte"},	 {"NL", "Pays-Bas"},
	{"NO", "Norvège"},	{"PL", "Pologne"},	 {"PT", "Portugal"},
	{"RO", "Roumanie"},	{"SE", "Suède"},	 {"SI", "Slovénie"},
	{"SK", "Slovaquie"},	{"US", "États-Unis"},	 {"CA", "Canada"},
};

static const char *country_name(const char *code)
{
	for (size_t i = 0; i < sizeof(countries) / sizeof(countries[0]); i++) {
		if (code && !strcmp(code, countries[i].code)) {
			return countries[i].fr;
		}
	}
	return code;
}

static const char *unit_label(struct ctx *c, const char *unit)
{
	static const struct {
		const char *code, *fr;
	} units[] = {
		{"month", "mois"},
		{"block-month", "bloc-mois"},
		{"1000-recipients", "1000 destinataires"},
		{"1000-messages", "1000 messages"},
		{"day", "jour"},
		{"recipient", "destinataire"},
		{"message", "message"},
	};

	for (size_t i = 0; i < sizeof(units) / sizeof(units[0]); i++) {
		if (unit && !strcmp(unit, units[i].code)) {
			return c->en && strcmp(units[i].fr, unit)
				       ? fmt(c, "%s / %s", units[i].fr, unit)
				       : units[i].fr;
		}
	}
	return s_or(unit);
}

static void gray(struct ctx *c, float g)
{
	pdf_fill_rgb(c->p, g, g, g);
}

/* ------------------------------------------------------------ header */

static float seller_block(struct ctx *c, float y)
{
	const struct seller *s = &c->inv->seller;
	struct pdf *p = c->p;
	float x = M, w = 255, l = 10.5f;
	char b[PDF_NUM_MAX];

	pdf_font(p, PDF_BOLD, 13);
	y -= (float)pdf_wrap(p, x, y, w, 15, s->name) * 15 - 15;
	y -= 14;
	pdf_font(p, PDF_REGULAR, 8.5f);
	if (s->has_capital) {
		y -= (float)pdf_wrap(p, x, y, w, l,
				     fmt(c, "%s au capital de %s €",
					 s_or(s->legal_form),
					 pdf_fr_micro(b, s->capital, 2))) *
		     l;
	} else {
		y -= (float)pdf_wrap(p, x, y, w, l, s_or(s->legal_form)) * l;
	}
	pdf_text(p, x, y, s_or(s->line1));
	y -= l;
	if (s->line2) {
		pdf_text(p, x, y, s->line2);
		y -= l;
	}
	pdf_text(p, x, y,
		 fmt(c, "%s %s%s%s", s_or(s->postal_code), s_or(s->city),
		     s->country && strcmp(s->country, "FR") ? ", " : "",
		     s->country && strcmp(s->country, "FR")
			     ? country_name(s->country)
			     : ""));
	y -= l;
	pdf_text(p, x, y,
		 fmt(c, "SIREN %s%s%s", s_or(s->siren), s->rcs ? " – " : "",
		     s->rcs ? s->rcs : ""));
	y -= l;
	pdf_text(p, x, y,
		 fmt(c, "%s : %s", lab(c, "N° TVA", "VAT no."),
		     s_or(s->vat_number)));
	y -= l;
	y -= (float)pdf_wrap(p, x, y, w, l,
			     fmt(c, "%s%s%s%s%s", s_or(s->email),
				 s->phone ? " – " : "", s_or(s->phone),
				 s->website ? " – " : "", s_or(s->website))) *
	     l;
	return y;
}

static float title_block(struct ctx *c, float y)
{
	const struct invoice *inv = c->inv;
	struct pdf *p = c->p;
	float r = M + CW, l = 11.5f;

	pdf_font(p, PDF_BOLD, 18);
	pdf_text_right(p, r, y,
		       inv->credit ? lab(c, "Avoir", "Credit note")
				   : lab(c, "Facture", "Invoice"));
	y -= 20;
	pdf_font(p, PDF_BOLD, 11);
	if (inv->issued && inv->number) {
		pdf_text_right(p, r, y, fmt(c, "N° %s", inv->number));
	} else {
		pdf_fill_rgb(p, 0.75f, 0.1f, 0.1f);
		pdf_text_right(p, r, y, "BROUILLON");
		gray(c, 0);
	}
	y -= 15;
	pdf_font(p, PDF_REGULAR, 8.5f);
	if (inv->issue_date[0]) {
		pdf_text_right(p, r, y,
			       fmt(c, "%s : %s",
				   lab(c, "Date d'émission", "Issue date"),
				   date(c, inv->issue_date)));
		y -= l;
	}
	if (inv->due_date[0]) {
		pdf_text_right(p, r, y,
			       fmt(c, "%s : %s",
				   lab(c, "Date d'échéance", "Due date"),
				   date(c, inv->due_date)));
		y -= l;
	}
	if (inv->period_start[0]) {
		pdf_text_right(p, r, y,
			       fmt(c, "%s : du %s au %s",
				   lab(c, "Période", "Period"),
				   date(c, inv->period_start),
				   date(c, inv->period_end)));
		y -= l;
	}
	if (inv->credit && inv->credited_number) {
		pdf_font(p, PDF_BOLD, 8.5f);
		pdf_text_right(p, r, y,
			       fmt(c, "Avoir sur facture %s du %s",
				   inv->credited_number,
				   date(c, inv->credited_date)));
		y -= l;
		if (c->en) {
			pdf_font(p, PDF_REGULAR, 8);
			pdf_text_right(p, r, y,
				       fmt(c, "Credit note for invoice %s of %s",
					   inv->credited_number,
					   date(c, inv->credited_date)));
			y -= l;
		}
	}
	return y;
}

static float customer_block(struct ctx *c, float y)
{
	const struct invoice_customer *cu = &c->inv->customer;
	struct pdf *p = c->p;
	float x = M + 300, w = CW - 300, l = 10.5f;

	gray(c, 0.4f);
	pdf_font(p, PDF_REGULAR, 7.5f);
	pdf_text(p, x, y, lab(c, "Client", "Customer"));
	gray(c, 0);
	y -= 12;
	pdf_font(p, PDF_BOLD, 10);
	y -= (float)pdf_wrap(p, x, y, w, 12, s_or(cu->name)) * 12;
	pdf_font(p, PDF_REGULAR, 8.5f);
	y -= (float)pdf_wrap(p, x, y, w, l, s_or(cu->line1)) * l;
	if (cu->line2) {
		y -= (float)pdf_wrap(p, x, y, w, l, cu->line2) * l;
	}
	pdf_text(p, x, y,
		 fmt(c, "%s%s%s", s_or(cu->postal_code),
		     cu->postal_code ? " " : "", s_or(cu->city)));
	y -= l;
	if (cu->country && strcmp(cu->country, "FR")) {
		pdf_text(p, x, y, country_name(cu->country));
		y -= l;
	}
	if (cu->siren) {
		pdf_text(p, x, y, fmt(c, "SIREN %s", cu->siren));
		y -= l;
	}
	if (cu->vat_number) {
		pdf_text(p, x, y,
			 fmt(c, "%s : %s", lab(c, "N° TVA", "VAT no."),
			     cu->vat_number));
		y -= l;
	}
	return y;
}

static int reverse_charge(const struct invoice *inv)
{
	return inv->vat_regime && !strcmp(inv->vat_regime, "REVERSE_CHARGE");
}

/* The first page's header; returns the y below it. */
static float first_header(struct ctx *c)
{
	const struct invoice *inv = c->inv;
	struct pdf *p = c->p;
	float y1 = seller_block(c, TOP), y2 = title_block(c, TOP), y;

	y2 = customer_block(c, y2 - 10);
	y = (y1 < y2 ? y1 : y2) - 8;
	if (reverse_charge(inv)) {
		/* Article 242 nonies A of the CGI: both numbers, plainly. */
		pdf_font(p, PDF_BOLD, 8.5f);
		y -= (float)pdf_wrap(
			     p, M, y, CW, 11,
			     fmt(c, "Autoliquidation – %s : %s – %s : %s",
				 lab(c, "N° TVA du vendeur", "seller's VAT no."),
				 s_or(inv->seller.vat_number),
				 lab(c, "N° TVA du client",
				     "customer's VAT no."),
				 s_or(inv->customer.vat_number))) *
		     11;
	}
	if (inv->credit && inv->credit_reason) {
		pdf_font(p, PDF_REGULAR, 8.5f);
		y -= (float)pdf_wrap(p, M, y, CW, 11,
				     fmt(c, "%s : %s",
					 lab(c, "Motif", "Reason"),
					 inv->credit_reason)) *
		     11;
	}
	return y - 6;
}

/* The header of the following pages. */
static float next_header(struct ctx *c)
{
	const struct invoice *inv = c->inv;
	struct pdf *p = c->p;
	float y = TOP;

	pdf_font(p, PDF_BOLD, 10);
	pdf_text(p, M, y, s_or(inv->seller.name));
	pdf_font(p, PDF_REGULAR, 9);
	pdf_text_right(p, M + CW, y,
		       fmt(c, "%s %s%s%s",
			   inv->credit ? "Avoir" : "Facture",
			   inv->issued && inv->number ? inv->number
						      : "BROUILLON",
			   inv->issue_date[0] ? " du " : "",
			   inv->issue_date[0] ? date(c, inv->issue_date) : ""));
	pdf_line(p, M, y - 6, M + CW, y - 6, 0.5f);
	return y - 22;
}

static void footer(struct ctx *c)
{
	const struct seller *s = &c->inv->seller;
	struct pdf *p = c->p;

	pdf_line(p, M, 42, M + CW, 42, 0.3f);
	gray(c, 0.35f);
	pdf_font(p, PDF_REGULAR, 6.5f);
	pdf_text(p, M, 32,
		 fmt(c, "%s, %s – SIREN %s – N° TVA %s", s_or(s->name),
		     s_or(s->legal_form), s_or(s->siren),
		     s_or(s->vat_number)));
	gray(c, 0);
	pdf_font(p, PDF_REGULAR, 8);
	pdf_text_right(p, M + CW, 32,
		       fmt(c, "page %d/%d", pdf_pages(p), c->npages));
}

static float new_page(struct ctx *c, int first)
{
	pdf_page_new(c->p);
	footer(c);
	return first ? first_header(c) : next_header(c);
}

/* ------------------------------------------------------------- lines */

static float table_header(struct ctx *c, float y, int draw)
{
	struct pdf *p = c->p;
	float h = c->en ? 22 : 14;

	if (!draw) {
		return h;
	}
	pdf_fill_rgb(p, 0.90f, 0.92f, 0.95f);
	pdf_rect(p, M, y - h + 3, CW, h);
	gray(c, 0);
	pdf_font(p, PDF_BOLD, 8);
	y -= 7;
	pdf_text(p, M + 3, y, "Description");
	pdf_text_right(p, QTY_R, y, "Qté");
	pdf_text(p, UNIT_X, y, "Unité");
	pdf_text_right(p, PU_R, y, "PU HT");
	pdf_text_right(p, VAT_R, y, "TVA");
	pdf_text_right(p, NET_R - 3, y, "Montant HT");
	if (c->en) {
		y -= 9;
		gray(c, 0.4f);
		pdf_font(p, PDF_REGULAR, 7);
		pdf_text(p, M + 3, y, "Description");
		pdf_text_right(p, QTY_R, y, "Qty");
		pdf_text(p, UNIT_X, y, "Unit");
		pdf_text_right(p, PU_R, y, "Unit price excl. VAT");
		pdf_text_right(p, VAT_R, y, "VAT");
		pdf_text_right(p, NET_R - 3, y, "Net");
		gray(c, 0);
	}
	return h;
}

static float line_row(struct ctx *c, const struct invoice_line *l, float y,
		      int draw)
{
	struct pdf *p = c->p;
	char b[PDF_NUM_MAX];
	float h = 4, base = y - 11;
	int n, nu;

	pdf_font(p, PDF_REGULAR, 8.5f);
	n = draw ? pdf_wrap(p, M + 3, base, DESC_W, 10.5f,
			    s_or(l->description))
		 : pdf_wrap_count(p, DESC_W, s_or(l->description));
	/* the unit may take two lines too ("1000 destinataires /
	 * 1000-recipients") */
	nu = draw ? pdf_wrap(p, UNIT_X, base, UNIT_W, 10.5f,
			     unit_label(c, l->unit))
		  : pdf_wrap_count(p, UNIT_W, unit_label(c, l->unit));
	h += (float)(n > nu ? n : nu) * 10.5f;
	if (draw) {
		pdf_text_right(p, QTY_R, base,
			       fmt(c, "%s", pdf_fr_micro(b, l->quantity, 0)));
		pdf_text_right(p, PU_R, base,
			       fmt(c, "%s €",
				   pdf_fr_micro(b, l->unit_price, 2)));
		pdf_text_right(p, VAT_R, base, rate(c, l->vat_rate));
		pdf_text_right(p, NET_R - 3, base, euros(c, l->net));
	}
	if (c->en && l->description_en) {
		gray(c, 0.4f);
		pdf_font(p, PDF_REGULAR, 7.5f);
		n = draw ? pdf_wrap(p, M + 3, y - h - 7.5f, DESC_W, 9,
				    l->description_en)
			 : pdf_wrap_count(p, DESC_W, l->description_en);
		h += (float)n * 9;
		gray(c, 0);
	}
	h += 3;
	if (draw) {
		pdf_stroke_rgb(p, 0.8f, 0.8f, 0.8f);
		pdf_line(p, M, y - h, M + CW, y - h, 0.4f);
		pdf_stroke_rgb(p, 0, 0, 0);
	}
	return h;
}

/* -------------------------------------------------------------- tail */

static float totals_block(struct ctx *c, float y, int draw)
{
	const struct invoice *inv = c->inv;
	struct pdf *p = c->p;
	float x = M + 250, r = NET_R - 3, l = 13, h = 0;

	if (draw) {
		pdf_font(p, PDF_REGULAR, 9);
		pdf_text(p, x, y - l, lab(c, "Total HT", "Total excl. VAT"));
		pdf_text_right(p, r, y - l, euros(c, inv->net));
	}
	h += l;
	for (size_t i = 0; i < inv->nvat; i++) {
		h += l;
		if (draw) {
			pdf_text(p, x, y - h,
				 fmt(c, "%s %s %s %s",
				     lab(c, "TVA", "VAT"),
				     rate(c, inv->vat[i].rate),
				     c->en ? "sur / on" : "sur",
				     euros(c, inv->vat[i].base)));
			pdf_text_right(p, r, y - h,
				       euros(c, inv->vat[i].amount));
		}
	}
	h += l;
	if (draw) {
		pdf_text(p, x, y - h, lab(c, "Total TVA", "Total VAT"));
		pdf_text_right(p, r, y - h, euros(c, inv->vat_total));
		pdf_line(p, x, y - h - 5, NET_R, y - h - 5, 0.6f);
	}
	h += l + 4;
	if (draw) {
		pdf_font(p, PDF_BOLD, 10.5f);
		pdf_text(p, x, y - h,
			 lab(c, "Total TTC", "Total incl. VAT"));
		pdf_text_right(p, r, y - h, euros(c, inv->total));
	}
	return h + 6;
}

/* Due date, terms, bank details, then every legal mention. */
static float payment_block(struct ctx *c, float y, int draw)
{
	const struct invoice *inv = c->inv;
	const struct seller *s = &inv->seller;
	struct pdf *p = c->p;
	float h = 0, l = 10.5f;
	int n;

#define WRAP(text, leading)                                                  \
	do {                                                                 \
		const char *t_ = (text);                                     \
		n = draw ? pdf_wrap(p, M, y - h - (leading), CW, (leading), t_) \
			 : pdf_wrap_count(p, CW, t_);                        \
		h += (float)n * (leading);                                   \
	} while (0)

	pdf_font(p, PDF_BOLD, 9);
	WRAP(fmt(c, "%s : %s", lab(c, "Date d'échéance", "Due date"),
		 inv->due_date[0] ? date(c, inv->due_date)
				  : lab(c, "à l'émission", "on issue")),
	     12);
	pdf_font(p, PDF_REGULAR, 8.5f);
	if (s->payment_terms) {
		WRAP(fmt(c, "%s : %s",
			 lab(c, "Conditions de paiement", "Payment terms"),
			 s->payment_terms),
		     l);
	}
	WRAP(fmt(c, "%s : IBAN %s – BIC %s",
		 lab(c, "Règlement par virement", "Bank transfer"),
		 s_or(s->iban), s_or(s->bic)),
	     l);
	if (inv->issued && inv->number) {
		WRAP(fmt(c, "%s : %s",
			 lab(c, "Référence à rappeler", "Payment reference"),
			 inv->number),
		     l);
	}
	h += 6;
	for (size_t i = 0; i < inv->nmentions; i++) {
		const struct invoice_mention *mn = &inv->mentions[i];

		pdf_font(p, PDF_REGULAR, 7.5f);
		WRAP(s_or(mn->fr), 9.5f);
		if (c->en && mn->en) {
			gray(c, 0.4f);
			WRAP(mn->en, 9.5f);
			gray(c, 0);
		}
		h += 3;
	}
#undef WRAP
	return h;
}

/* Bytes as "12,3 Gio" (binary units, one decimal). */
static const char *size_fr(struct ctx *c, int64_t bytes)
{
	static const char *const units[] = {"o", "Kio", "Mio", "Gio", "Tio"};
	int64_t scale = 1;
	int u = 0;
	char b[PDF_NUM_MAX];

	while (u < 4 && bytes / scale >= 1024) {
		scale *= 1024;
		u++;
	}
	if (u == 0) {
		return fmt(c, "%lld o", (long long)bytes);
	}
	/* tenths, rounded half up; bytes < 2^63 / 10 for any real volume */
	int64_t tenths = bytes > INT64_MAX / 10
				 ? bytes / scale * 10
				 : (bytes * 10 + scale / 2) / scale;

	return fmt(c, "%s %s", pdf_fr_micro(b, tenths * 100000, 0), units[u]);
}

/* The smallest 1, 2, 5 x 10^k >= v (v >= 1). */
static int64_t nice_ceiling(int64_t v)
{
	int64_t m = 1;

	for (;;) {
		if (m >= v) {
			return m;
		}
		if (2 * m >= v) {
			return 2 * m;
		}
		if (5 * m >= v) {
			return 5 * m;
		}
		if (m > INT64_MAX / 20) {
			return v;
		}
		m *= 10;
	}
}

static float chart_block(struct ctx *c, float y, int draw)
{
	const struct invoice_usage *u = &c->inv->usage;
	struct pdf *p = c->p;
	int n = u->ndays, day0 = 1, lines;
	float x0 = M + 40, x1 = M + CW, py0, ph = 66, slot, h;
	int64_t top = 1;
	char b[PDF_NUM_MAX];
	const char *advice = NULL, *advice_en = NULL;

	if (u->advice && !u->advice_covers) {
		advice = fmt(c,
			     "Aucun forfait ne couvre votre usage ; le plus "
			     "grand est %s (%s).",
			     u->advice, s_or(u->advice_name));
		advice_en = fmt(c,
				"No plan covers your usage; the largest is "
				"%s (%s).",
				u->advice, s_or(u->advice_name));
	} else if (u->advice && (!u->plan || strcmp(u->advice, u->plan))) {
		advice = fmt(c,
			     "Le forfait %s (%s) conviendrait mieux à votre "
			     "usage.",
			     u->advice, s_or(u->advice_name));
		advice_en = fmt(c, "Plan %s (%s) would suit your usage better.",
				u->advice, s_or(u->advice_name));
	}
	lines = advice ? (c->en ? 2 : 1) : 0;
	h = CHART_H + (float)lines * 11;
	if (!draw || n <= 0) {
		return n > 0 ? h : 0;
	}
	if (n > RATE_MAX_DAYS) {
		n = RATE_MAX_DAYS;
	}
	if (strlen(c->inv->period_start) == 10) {
		day0 = atoi(c->inv->period_start + 8);
	}
	for (int i = 0; i < n; i++) {
		if (u->outbound[i] > top) {
			top = u->outbound[i];
		}
		if (u->quota[i] > top) {
			top = u->quota[i];
		}
	}
	top = nice_ceiling(top);

	pdf_line(p, M, y - 2, M + CW, y - 2, 0.3f);
	pdf_font(p, PDF_BOLD, 9);
	pdf_text(p, M, y - 14,
		 fmt(c, "%s (%s)",
		     lab(c, "Envois quotidiens et quota du forfait",
			 "Daily outbound and plan quota"),
		     u->unit && !strcmp(u->unit, "messages")
			     ? "messages"
			     : lab(c, "destinataires", "recipients")));
	py0 = y - 30 - ph;
	slot = (x1 - x0) / (float)n;

	/* grid and y labels: 0, top/2, top */
	pdf_font(p, PDF_REGULAR, 7);
	for (int k = 0; k <= 2; k++) {
		float gy = py0 + ph * (float)k / 2;

		pdf_stroke_rgb(p, 0.85f, 0.85f, 0.85f);
		pdf_line(p, x0, gy, x1, gy, 0.4f);
		pdf_text_right(p, x0 - 4, gy - 2.5f,
			       fmt(c, "%s",
				   pdf_fr_micro(b, top * k / 2 * 1000000, 0)));
	}
	pdf_stroke_rgb(p, 0, 0, 0);
	/* bars: over the quota in orange */
	for (int i = 0; i < n; i++) {
		float bh = ph * (float)u->outbound[i] / (float)top;
		int over = u->quota[i] >= 0 && u->outbound[i] > u->quota[i];

		if (over) {
			pdf_fill_rgb(p, 0.93f, 0.55f, 0.15f);
		} else {
			pdf_fill_rgb(p, 0.30f, 0.50f, 0.78f);
		}
		if (bh > 0) {
			pdf_rect(p, x0 + slot * (float)i + slot * 0.15f, py0,
				 slot * 0.7f, bh);
		}
	}
	gray(c, 0);
	/* the quota as a step line, broken on days without a plan */
	pdf_stroke_rgb(p, 0.8f, 0.1f, 0.1f);
	for (int i = 0; i < n;) {
		float xs[2 * RATE_MAX_DAYS], ys[2 * RATE_MAX_DAYS];
		size_t k = 0;

		while (i < n && u->quota[i] < 0) {
			i++;
		}
		while (i < n && u->quota[i] >= 0) {
			float qy = py0 + ph * (float)u->quota[i] / (float)top;

			xs[k] = x0 + slot * (float)i;
			ys[k++] = qy;
			xs[k] = x0 + slot * (float)(i + 1);
			ys[k++] = qy;
			i++;
		}
		pdf_polyline(p, xs, ys, k, 1.3f);
	}
	pdf_stroke_rgb(p, 0, 0, 0);
	pdf_line(p, x0, py0, x1, py0, 0.6f);
	/* x labels: 1, 5, 10, ... */
	for (int i = 0; i < n; i++) {
		int dn = day0 + i;

		if (dn == 1 || dn % 5 == 0) {
			pdf_text_center(p, x0 + slot * ((float)i + 0.5f),
					py0 - 9, fmt(c, "%d", dn));
		}
	}
	/* legend, then the month's over-quota days */
	y = py0 - 22;
	{
		const char *l1 = lab(c, "Envois", "Sent");
		const char *l2 = lab(c, "Au-delà du quota", "Over quota");
		const char *l3 = lab(c, "Quota du jour", "Daily quota");
		float lx = x0;

		pdf_fill_rgb(p, 0.30f, 0.50f, 0.78f);
		pdf_rect(p, lx, y, 8, 6);
		gray(c, 0);
		pdf_text(p, lx + 11, y, l1);
		lx += 11 + pdf_width(p, l1) + 16;
		pdf_fill_rgb(p, 0.93f, 0.55f, 0.15f);
		pdf_rect(p, lx, y, 8, 6);
		gray(c, 0);
		pdf_text(p, lx + 11, y, l2);
		lx += 11 + pdf_width(p, l2) + 16;
		pdf_stroke_rgb(p, 0.8f, 0.1f, 0.1f);
		pdf_line(p, lx, y + 3, lx + 12, y + 3, 1.3f);
		pdf_stroke_rgb(p, 0, 0, 0);
		pdf_text(p, lx + 15, y, l3);
	}
	y -= 13;
	pdf_text(p, x0, y,
		 fmt(c, "%s : %d (%d %s, %d %s)",
		     lab(c, "Jours au-delà du quota", "Days over quota"),
		     u->over_quota_days, u->tolerated_days,
		     c->en ? "tolérés / tolerated" : "tolérés",
		     u->billed_days, c->en ? "facturés / billed" : "facturés"));

	/* storage: the month's average against the included volume */
	{
		int64_t a = u->storage_avg, inc = u->storage_included;
		int64_t mx = a > inc ? a : inc;
		float bx = M + 150, bw = CW - 150 - 70;
		float wa = mx > 0 ? bw * (float)a / (float)mx : 0;
		float wi = mx > 0 ? bw * (float)inc / (float)mx : 0;

		y -= 20;
		pdf_font(p, PDF_REGULAR, 8);
		pdf_text(p, M, y, lab(c, "Stockage moyen", "Average storage"));
		pdf_fill_rgb(p, a > inc ? 0.93f : 0.30f,
			     a > inc ? 0.55f : 0.50f,
			     a > inc ? 0.15f : 0.78f);
		pdf_rect(p, bx, y - 1, wa > 0.5f ? wa : 0.5f, 8);
		gray(c, 0);
		pdf_text(p, bx + wa + 4, y, size_fr(c, a));
		y -= 14;
		pdf_text(p, M, y, lab(c, "Stockage inclus", "Included storage"));
		gray(c, 0.65f);
		pdf_rect(p, bx, y - 1, wi > 0.5f ? wi : 0.5f, 8);
		gray(c, 0);
		pdf_text(p, bx + wi + 4, y, size_fr(c, inc));
	}
	if (advice) {
		y -= 16;
		pdf_font(p, PDF_BOLD, 8.5f);
		pdf_text(p, M, y, advice);
		if (c->en) {
			y -= 11;
			pdf_font(p, PDF_REGULAR, 8);
			pdf_text(p, M, y, advice_en);
		}
	}
	return h;
}

/* ------------------------------------------------------------ layout */

static void layout(struct ctx *c)
{
	const struct invoice *inv = c->inv;
	float y = new_page(c, 1), th, tail;

	y -= table_header(c, y, 1);
	for (size_t i = 0; i < inv->nlines; i++) {
		float h = line_row(c, &inv->lines[i], y, 0);

		if (y - h < BOTTOM) {
			y = new_page(c, 0);
			y -= table_header(c, y, 1);
		}
		y -= line_row(c, &inv->lines[i], y, 1);
	}
	/* The tail stays together on the last page when it can. */
	th = totals_block(c, 0, 0);
	tail = th + GAP + payment_block(c, 0, 0) + GAP +
	       (inv->usage.ndays > 0 ? chart_block(c, 0, 0) + GAP : 0);
	if (y - GAP - tail < BOTTOM) {
		y = new_page(c, 0);
	}
	y -= 6;
	y -= totals_block(c, y, 1) + GAP;
	if (y - payment_block(c, y, 0) < BOTTOM) {
		y = new_page(c, 0);
	}
	y -= payment_block(c, y, 1) + GAP;
	if (inv->usage.ndays > 0) {
		if (y - chart_block(c, y, 0) < BOTTOM) {
			y = new_page(c, 0);
		}
		chart_block(c, y, 1);
	}
}

static void ctx_free(struct ctx *c)
{
	for (size_t i = 0; i < c->npool; i++) {
		free(c->pool[i]);
	}
	free(c->pool);
	c->pool = NULL;
	c->npool = c->cappool = 0;
}

static struct pdf *render(const struct invoice *inv, struct diag *d)
{
	struct ctx c;
	char *title;
	struct pdf *p;

	memset(&c, 0, sizeof(c));
	title = xasprintf("%s %s", inv->credit ? "Avoir" : "Facture",
			  inv->issued && inv->number ? inv->number
						     : "BROUILLON");
	p = pdf_new(title, inv->issue_date[0] ? inv->issue_date
					       : inv->period_end,
		    d);
	free(title);
	if (!p) {
		return NULL;
	}
	c.p = p;
	c.inv = inv;
	c.en = inv->customer.language && !strcmp(inv->customer.language, "en");
	pdf_set_dry(p, 1);
	layout(&c);
	ctx_free(&c);
	c.npages = pdf_pages(p);
	pdf_set_dry(p, 0);
	layout(&c);
	ctx_free(&c);
	return p;
}

int invoice_pdf_buffer(const struct invoice *inv, unsigned char **buf,
		       size_t *len, struct diag *d)
{
	struct pdf *p = render(inv, d);
	int rc;

	*buf = NULL;
	*len = 0;
	if (!p) {
		return -1;
	}
	rc = pdf_buffer(p, buf, len, d);
	pdf_free(p);
	return rc;
}

int invoice_pdf_write(const struct invoice *inv, const char *path,
		      struct diag *d)
{
	struct pdf *p = render(inv, d);
	int rc;

	if (!p) {
		return -1;
	}
	rc = pdf_save(p, path, d);
	pdf_free(p);
	return rc;
}
