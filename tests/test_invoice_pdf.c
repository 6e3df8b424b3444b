/*
 * test_invoice_pdf — the invoice PDF (reports/invoice_pdf.h) from
 * invoices built in memory: an invoice, a draft, a credit note, an
 * English-speaking customer, a reverse-charge customer (with a Polish
 * name, outside Windows-1252), an out-of-scope one, and an 80-line
 * invoice over several pages.  Each PDF goes through pdftotext -layout,
 * and every mention and figure is looked for, formatted here from the
 * struct (independently of the renderer's own formatting); pdffonts must
 * show every font embedded and qpdf --check must pass.  No database.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "billing/invoice.h"
#include "common/xalloc.h"
#include "reports/invoice_pdf.h"
#include "testutil.h"

/* ---------------------------------------------------------- helpers */


/* pdftotext -layout of pages first..last (0: all), whitespace runs
 * collapsed to one space so that columns and wrapped lines read as
 * text. */
static char *text_of(const char *path, int first, int last)
{
	char *cmd, *raw, *o;
	int st;
	size_t j = 0;

	if (first) {
		cmd = xasprintf("pdftotext -q -layout -f %d -l %d '%s' -", first,
				last, path);
	} else {
		cmd = xasprintf("pdftotext -q -layout '%s' -", path);
	}
	raw = test_sh(cmd, &st);
	free(cmd);
	assert_int_equal(st, 0);
	o = xmalloc(strlen(raw) + 1);
	for (const char *p = raw; *p; p++) {
		int sp = *p == ' ' || *p == '\n' || *p == '\t' || *p == '\f';

		if (sp) {
			if (j > 0 && o[j - 1] != ' ') {
				o[j++] = ' ';
			}
		} else {
			o[j++] = *p;
		}
	}
	o[j] = '\0';
	free(raw);
	return o;
}

static void has(const char *text, const char *needle)
{
	if (!strstr(text, needle)) {
		print_error("missing in the PDF text: \"%s\"\n", needle);
		fail();
	}
}

static void hasnt(const char *text, const char *needle)
{
	if (strstr(text, needle)) {
		print_error("unexpected in the PDF text: \"%s\"\n", needle);
		fail();
	}
}

static int count_of(const char *text, const char *needle)
{
	int n = 0;

	for (const char *p = strstr(text, needle); p;
	     p = strstr(p + 1, needle)) {
		n++;
	}
	return n;
}

/* Every font embedded, and qpdf happy. */
static void check_pdf(const char *path)
{
	char *cmd = xasprintf("pdffonts '%s' 2>/dev/null", path), *out, *line;
	int st, fonts = 0;

	out = test_sh(cmd, &st);
	free(cmd);
	assert_int_equal(st, 0);
	/* name type encoding emb sub uni id gen: emb is 4th from the end */
	line = strtok(out, "\n");
	while (line) {
		if (strncmp(line, "name", 4) && strncmp(line, "----", 4)) {
			char *f[16], *save = NULL;
			int n = 0;

			for (char *t = strtok_r(line, " ", &save); t && n < 16;
			     t = strtok_r(NULL, " ", &save)) {
				f[n++] = t;
			}
			assert_true(n >= 7);
			if (strcmp(f[n - 5], "yes")) {
				print_error("font %s not embedded\n", f[0]);
				fail();
			}
			fonts++;
		}
		line = strtok(NULL, "\n");
	}
	free(out);
	assert_true(fonts >= 1);
	cmd = xasprintf("qpdf --check '%s' >/dev/null 2>&1", path);
	out = test_sh(cmd, &st);
	free(cmd);
	free(out);
	assert_int_equal(st, 0);
}

static int pages_of(const char *path)
{
	char *cmd = xasprintf("pdfinfo '%s' | sed -n 's/^Pages: *//p'", path);
	int st, n;
	char *out = test_sh(cmd, &st);

	n = atoi(out);
	free(cmd);
	free(out);
	return n;
}

/* French formats, written independently of reports/pdf.c. */
static const char *eur(char *buf, int64_t cents)
{
	char digits[32], grouped[48];
	uint64_t a = cents < 0 ? (uint64_t)-cents : (uint64_t)cents;
	size_t n, j = 0;

	snprintf(digits, sizeof(digits), "%llu", (unsigned long long)(a / 100));
	n = strlen(digits);
	for (size_t i = 0; i < n; i++) {
		if (i && (n - i) % 3 == 0) {
			grouped[j++] = ' ';
		}
		grouped[j++] = digits[i];
	}
	grouped[j] = '\0';
	sprintf(buf, "%s%s,%02u €", cents < 0 ? "-" : "", grouped,
		(unsigned)(a % 100));
	return buf;
}

static const char *frdate(char *buf, const char *iso)
{
	sprintf(buf, "%.2s/%.2s/%.4s", iso + 8, iso + 5, iso);
	return buf;
}

/* ------------------------------------------------------- invoices */

enum kind { INVOICE, DRAFT, CREDIT, ENGLISH, REVERSE, OUT_OF_SCOPE, LONG };

static void add_line(struct invoice *inv, const char *desc,
		     const char *desc_en, int64_t qty, const char *unit,
		     int64_t price, int64_t rate, int64_t net)
{
	struct invoice_line *l;

	inv->lines = xreallocarray(inv->lines, inv->nlines + 1,
				   sizeof(*inv->lines));
	l = &inv->lines[inv->nlines];
	memset(l, 0, sizeof(*l));
	l->no = (int)++inv->nlines;
	l->kind = xstrdup("fee");
	l->description = xstrdup(desc);
	l->description_en = desc_en ? xstrdup(desc_en) : NULL;
	l->quantity = qty;
	l->unit = xstrdup(unit);
	l->unit_price = price;
	l->vat_rate = rate;
	l->net = net;
}

static void add_mention(struct invoice *inv, const char *key, const char *fr,
			const char *en)
{
	struct invoice_mention *m;

	inv->mentions = xreallocarray(inv->mentions, inv->nmentions + 1,
				      sizeof(*inv->mentions));
	m = &inv->mentions[inv->nmentions++];
	m->key = xstrdup(key);
	m->fr = xstrdup(fr);
	m->en = en ? xstrdup(en) : NULL;
}

static void make(struct invoice *inv, enum kind k)
{
	struct diag d = DIAG_INIT;
	json_error_t je;
	json_t *doc = json_load_file("examples/seller.json", 0, &je);
	int64_t rate = (k == REVERSE || k == OUT_OF_SCOPE) ? 0 : 20000000;
	int64_t net = 0, sign = k == CREDIT ? -1 : 1;
	struct invoice_customer *c = &inv->customer;

	memset(inv, 0, sizeof(*inv));
	assert_non_null(doc);
	assert_int_equal(seller_from_json(&inv->seller, "seller.json", doc, &d),
			 0);
	json_decref(doc);
	inv->credit = k == CREDIT;
	inv->issued = k != DRAFT;
	if (k != DRAFT) {
		inv->number = xstrdup(k == CREDIT ? "A2026-000007"
						  : "F2026-000123");
		strcpy(inv->issue_date, "2026-11-02");
		strcpy(inv->due_date, "2026-12-02");
	}
	strcpy(inv->period_start, "2026-10-01");
	strcpy(inv->period_end, "2026-10-31");
	inv->currency = xstrdup("EUR");
	inv->tariff_version = xstrdup("2026-09");
	inv->vat_regime = xstrdup(k == REVERSE	       ? "REVERSE_CHARGE"
				  : k == OUT_OF_SCOPE ? "OUT_OF_SCOPE"
						      : "FR");
	if (k == LONG) {
		for (int i = 1; i <= 80; i++) {
			char *desc = xasprintf("Ligne %d : forfait du domaine "
					       "exemple-%d.fr",
					       i, i);

			add_line(inv, desc, NULL, 1000000, "month",
				 (int64_t)i * 1000000, rate, i * 100);
			net += i * 100;
			free(desc);
		}
	} else {
		add_line(inv, "Forfait M (Standard), octobre 2026",
			 "Plan M (Standard), October 2026", sign * 1000000,
			 "month", 9000000, rate, sign * 900);
		add_line(inv, "Stockage supplémentaire : 2 blocs de 10 Gio",
			 "Additional storage: 2 blocks of 10 GiB",
			 sign * 2000000, "block-month", 1500000, rate,
			 sign * 300);
		add_line(inv, "Envois au-delà du quota (1 jour facturé)",
			 "Outbound over quota (1 day billed)", sign * 1234000,
			 "1000-recipients", 500000, rate, sign * 62);
		net = sign * 1262;
	}
	inv->net = net;
	inv->vat = xcalloc(1, sizeof(*inv->vat));
	inv->nvat = 1;
	inv->vat[0].rate = rate;
	inv->vat[0].base = net;
	inv->vat[0].amount = rate ? net / 5 : 0; /* 12.62 -> 2.52 */
	inv->vat_total = inv->vat[0].amount;
	inv->total = net + inv->vat_total;

	c->id = xstrdup("C042");
	c->kind = xstrdup("business");
	c->email = xstrdup("compta@example.org");
	c->language = xstrdup(k == ENGLISH ? "en" : "fr");
	if (k == REVERSE) {
		c->name = xstrdup("Wydawnictwo Łódź Sp. z o.o.");
		c->line1 = xstrdup("ul. Piotrkowska 12");
		c->postal_code = xstrdup("90-001");
		c->city = xstrdup("Łódź");
		c->country = xstrdup("PL");
		c->vat_number = xstrdup("PL5260250274");
		add_mention(inv, "reverse_charge",
			    "Autoliquidation – article 196 de la directive "
			    "2006/112/CE.",
			    "Reverse charge – article 196 of Directive "
			    "2006/112/EC.");
	} else if (k == OUT_OF_SCOPE) {
		c->name = xstrdup("Maple Leaf Mail Inc.");
		c->line1 = xstrdup("100 King Street West");
		c->city = xstrdup("Toronto");
		c->country = xstrdup("CA");
		add_mention(inv, "out_of_scope",
			    "TVA non applicable, article 259-1° du CGI.",
			    "VAT not applicable, article 259-1° of the CGI.");
	} else {
		c->name = xstrdup("Atelier Lumière & Cœur SARL");
		c->line1 = xstrdup("3 place de l’Église");
		c->line2 = xstrdup("Cour intérieure");
		c->postal_code = xstrdup("38000");
		c->city = xstrdup("Grenoble");
		c->country = xstrdup("FR");
		c->siren = xstrdup("552100554");
		c->vat_number = xstrdup("FR40552100554");
	}
	add_mention(inv, "late_penalties",
		    "En cas de retard de paiement, des pénalités au taux "
		    "annuel de 12.15 % sont exigibles le jour suivant la date "
		    "d’échéance.",
		    "Late payment penalties at an annual rate of 12.15 % are "
		    "due from the day after the due date.");
	add_mention(inv, "recovery_indemnity",
		    "Indemnité forfaitaire pour frais de recouvrement : 40.00 "
		    "€ (article D441-5 du Code de commerce).",
		    "Fixed indemnity for recovery costs: 40.00 €.");
	if (k == CREDIT) {
		inv->credited_number = xstrdup("F2026-000123");
		strcpy(inv->credited_date, "2026-11-02");
		inv->credit_reason = xstrdup("Erreur de forfait : le client "
					     "était en forfait S.");
		return; /* no chart on credit notes */
	}
	inv->usage.ndays = 31;
	inv->usage.unit = xstrdup("recipients");
	for (int i = 0; i < 31; i++) {
		inv->usage.outbound[i] = 100 + i * 13;
		inv->usage.quota[i] = i < 3 ? -1 : 500;
	}
	inv->usage.storage_avg = 57LL << 30;
	inv->usage.storage_included = 50LL << 30;
	inv->usage.over_quota_days = 1;
	inv->usage.tolerated_days = 1;
	inv->usage.plan = xstrdup("M");
	inv->usage.plan_name = xstrdup("Standard");
	inv->usage.advice = xstrdup(k == ENGLISH ? "L" : k == OUT_OF_SCOPE
								 ? "XL"
								 : "M");
	inv->usage.advice_name = xstrdup(k == ENGLISH ? "Pro" : k == OUT_OF_SCOPE
								    ? "Entreprise"
								    : "Standard");
	inv->usage.advice_covers = k != OUT_OF_SCOPE;
}

/* Render inv to a file; returns its path (static per name). */
static const char *render(const struct invoice *inv, const char *name)
{
	struct diag d = DIAG_INIT;
	char *path = test_write_file(name, "");

	if (invoice_pdf_write(inv, path, &d) != 0) {
		diag_print(&d, stderr, name);
		fail();
	}
	diag_free(&d);
	check_pdf(path);
	return path;
}

/* What every document shows: the seller, the customer, the lines, the
 * totals, the payment terms and the mentions. */
static void common_checks(const struct invoice *inv, const char *t)
{
	const struct seller *s = &inv->seller;
	const struct invoice_customer *c = &inv->customer;
	char b[64], b2[96];
	int en = !strcmp(c->language, "en");

	has(t, s->name);
	has(t, s->legal_form);
	has(t, "au capital de 15 000,00 €");
	has(t, s->line1);
	has(t, s->line2);
	has(t, "69002 Lyon");
	has(t, "SIREN 912345675");
	has(t, "RCS Lyon 912 345 675");
	has(t, "N° TVA");
	has(t, s->vat_number);
	has(t, s->iban);
	has(t, s->bic);
	has(t, s->payment_terms);
	has(t, c->name);
	has(t, c->line1);
	if (c->siren) {
		has(t, c->siren);
	}
	if (c->vat_number) {
		has(t, c->vat_number);
	}
	has(t, "TVA");
	has(t, "Total");
	has(t, "€");
	has(t, "du 01/10/2026 au 31/10/2026");
	if (inv->issued) {
		has(t, "Date d'échéance");
		has(t, frdate(b, inv->due_date));
		has(t, frdate(b, inv->issue_date));
	}
	for (size_t i = 0; i < inv->nlines; i++) {
		const struct invoice_line *l = &inv->lines[i];

		has(t, l->description);
		has(t, eur(b, l->net));
		has(t, eur(b, l->unit_price / 10000));
	}
	if (inv->nlines == 3) {
		has(t, inv->credit ? "-1 mois" : "1 mois");
		has(t, inv->credit ? "-2 bloc-mois" : "2 bloc-mois");
		has(t, inv->credit ? "-1,234 1000 destinataires"
				   : "1,234 1000 destinataires");
	}
	sprintf(b2, "Total HT%s %s", en ? " / Total excl. VAT" : "",
		eur(b, inv->net));
	has(t, b2);
	sprintf(b2, "%s %s %% %s %s", en ? "TVA / VAT" : "TVA",
		inv->vat[0].rate ? "20" : "0", en ? "sur / on" : "sur",
		eur(b, inv->vat[0].base));
	has(t, b2);
	has(t, eur(b, inv->vat[0].amount));
	sprintf(b2, "Total TVA%s %s", en ? " / Total VAT" : "",
		eur(b, inv->vat_total));
	has(t, b2);
	sprintf(b2, "Total TTC%s %s", en ? " / Total incl. VAT" : "",
		eur(b, inv->total));
	has(t, b2);
	for (size_t i = 0; i < inv->nmentions; i++) {
		has(t, inv->mentions[i].fr);
	}
}

static void test_invoice(void **state)
{
	struct invoice inv;
	const char *path;
	char *t;
	unsigned char *buf;
	size_t len;
	struct diag d = DIAG_INIT;

	(void)state;
	make(&inv, INVOICE);
	path = render(&inv, "invoice.pdf");
	t = text_of(path, 0, 0);
	common_checks(&inv, t);
	has(t, "Facture");
	has(t, "N° F2026-000123");
	has(t, "20 %");
	has(t, "page 1/1");
	has(t, "Envois quotidiens");
	has(t, "57 Gio");
	has(t, "50 Gio");
	hasnt(t, "BROUILLON");
	hasnt(t, "conviendrait mieux"); /* advice = the plan */
	hasnt(t, "Invoice");		/* a French customer */
	free(t);

	/* the same bytes in memory as in the file: reproducible output */
	assert_int_equal(invoice_pdf_buffer(&inv, &buf, &len, &d), 0);
	{
		char *file = test_read_file(path);

		assert_memory_equal(buf, file, len);
		free(file);
	}
	free(buf);
	invoice_free(&inv);
}

static void test_draft(void **state)
{
	struct invoice inv;
	char *t;

	(void)state;
	make(&inv, DRAFT);
	t = text_of(render(&inv, "draft.pdf"), 0, 0);
	common_checks(&inv, t);
	has(t, "BROUILLON");
	hasnt(t, "F2026-");
	free(t);
	invoice_free(&inv);
}

static void test_credit_note(void **state)
{
	struct invoice inv;
	char *t;

	(void)state;
	make(&inv, CREDIT);
	t = text_of(render(&inv, "credit.pdf"), 0, 0);
	common_checks(&inv, t);
	has(t, "Avoir");
	has(t, "N° A2026-000007");
	has(t, "Avoir sur facture F2026-000123 du 02/11/2026");
	has(t, inv.credit_reason);
	has(t, "-15,14 €");
	hasnt(t, "Envois quotidiens"); /* no chart */
	free(t);
	invoice_free(&inv);
}

static void test_english(void **state)
{
	struct invoice inv;
	char *t;

	(void)state;
	make(&inv, ENGLISH);
	t = text_of(render(&inv, "english.pdf"), 0, 0);
	common_checks(&inv, t);
	has(t, "Facture / Invoice");
	has(t, "Total TTC / Total incl. VAT");
	has(t, "Date d'échéance / Due date");
	for (size_t i = 0; i < inv.nmentions; i++) {
		has(t, inv.mentions[i].en);
	}
	for (size_t i = 0; i < inv.nlines; i++) {
		has(t, inv.lines[i].description_en);
	}
	has(t, "Le forfait L (Pro) conviendrait mieux à votre usage.");
	has(t, "Plan L (Pro) would suit your usage better.");
	free(t);
	invoice_free(&inv);
}

static void test_reverse_charge(void **state)
{
	struct invoice inv;
	char *t;

	(void)state;
	make(&inv, REVERSE);
	t = text_of(render(&inv, "reverse.pdf"), 0, 0);
	common_checks(&inv, t);
	has(t, "Autoliquidation – N° TVA du vendeur : FR65912345675 – N° "
	       "TVA du client : PL5260250274");
	has(t, "0 %");
	has(t, "Pologne");
	has(t, "90-001 Łódź"); /* outside Windows-1252: the UTF-8 font */
	free(t);
	invoice_free(&inv);
}

static void test_out_of_scope(void **state)
{
	struct invoice inv;
	char *t;

	(void)state;
	make(&inv, OUT_OF_SCOPE);
	t = text_of(render(&inv, "oos.pdf"), 0, 0);
	common_checks(&inv, t);
	has(t, "Canada");
	has(t, "Aucun forfait ne couvre votre usage ; le plus grand est XL "
	       "(Entreprise).");
	hasnt(t, "Autoliquidation");
	free(t);
	invoice_free(&inv);
}

static void test_long(void **state)
{
	struct invoice inv;
	const char *path;
	char *t, want[64];
	int n;

	(void)state;
	make(&inv, LONG);
	path = render(&inv, "long.pdf");
	t = text_of(path, 0, 0);
	common_checks(&inv, t);
	free(t);
	n = pages_of(path);
	assert_true(n >= 3);
	for (int i = 1; i <= n; i++) {
		t = text_of(path, i, i);
		sprintf(want, "page %d/%d", i, n);
		has(t, want);
		assert_int_equal(count_of(t, "page "), 1);
		/* the table header on every page with lines */
		if (i < n) {
			has(t, "Montant HT");
			hasnt(t, "Total TTC");
			hasnt(t, "Total HT");
		} else {
			has(t, "Total TTC");
			has(t, "Envois quotidiens");
		}
		free(t);
	}
	invoice_free(&inv);
}

/* The font folder can be moved; a missing one is an error, not a crash. */
static void test_font_dir(void **state)
{
	struct invoice inv;
	struct diag d = DIAG_INIT;
	unsigned char *buf = NULL;
	size_t len;

	(void)state;
	make(&inv, INVOICE);
	setenv("RELEVE_FONT_DIR", "/nonexistent", 1);
	assert_int_equal(invoice_pdf_buffer(&inv, &buf, &len, &d), -1);
	assert_null(buf);
	assert_true(d.n >= 1);
	assert_non_null(strstr(d.msg[0], "/nonexistent/DejaVuSans.ttf"));
	diag_free(&d);
	setenv("RELEVE_FONT_DIR", "/usr/share/fonts/truetype/dejavu", 1);
	assert_int_equal(invoice_pdf_buffer(&inv, &buf, &len, &d), 0);
	assert_true(len > 1000);
	assert_memory_equal(buf, "%PDF-", 5);
	free(buf);
	unsetenv("RELEVE_FONT_DIR");
	invoice_free(&inv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_invoice),
		cmocka_unit_test(test_draft),
		cmocka_unit_test(test_credit_note),
		cmocka_unit_test(test_english),
		cmocka_unit_test(test_reverse_charge),
		cmocka_unit_test(test_out_of_scope),
		cmocka_unit_test(test_long),
		cmocka_unit_test(test_font_dir),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
