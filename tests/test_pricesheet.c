/*
 * test_pricesheet — `releve pricesheet` against a real database: the
 * example tariff and seller loaded with `releve tariff load` / `releve
 * seller set`, the sheet written in French and English, read back with
 * pdftotext, every plan's HT and TTC prices (recomputed here at the
 * French rate of the vat_rates table), the quotas, the soft-quota policy
 * in words, the effective date and the seller's identity looked for;
 * fonts embedded, qpdf --check; a version without overage price; the
 * usage errors.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "billing/tariff.h"
#include "common/file.h"
#include "common/xalloc.h"
#include "testutil.h"

static PGconn *db;
static int64_t vat_pct; /* France's rate, whole percent (20) */


/* pdftotext -layout with whitespace runs collapsed to one space. */
static char *text_of(const char *path)
{
	char *cmd = xasprintf("pdftotext -q -layout '%s' -", path), *raw, *o;
	int st;
	size_t j = 0;

	raw = test_sh(cmd, &st);
	free(cmd);
	assert_int_equal(st, 0);
	o = xmalloc(strlen(raw) + 1);
	for (const char *p = raw; *p; p++) {
		if (*p == ' ' || *p == '\n' || *p == '\f') {
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

static void check_pdf(const char *path)
{
	char *cmd, *out;
	int st;

	/* every font line of pdffonts has "yes" in its emb column */
	cmd = xasprintf("pdffonts '%s' 2>/dev/null | awk 'NR > 2 && "
			"$(NF-4) != \"yes\" { bad = 1 } NR > 2 { n++ } "
			"END { exit bad || n == 0 }'",
			path);
	out = test_sh(cmd, &st);
	free(cmd);
	free(out);
	assert_int_equal(st, 0);
	cmd = xasprintf("qpdf --check '%s' >/dev/null 2>&1", path);
	out = test_sh(cmd, &st);
	free(cmd);
	free(out);
	assert_int_equal(st, 0);
}

/* Written here, independently of the renderer: "1 234,56 €" (fr) or
 * "1234.56 €" (en). */
static char *eur(int64_t cents, int en)
{
	char digits[32], g[48];
	size_t n, j = 0;

	snprintf(digits, sizeof(digits), "%lld", (long long)(cents / 100));
	n = strlen(digits);
	for (size_t i = 0; i < n; i++) {
		if (!en && i && (n - i) % 3 == 0) {
			g[j++] = ' ';
		}
		g[j++] = digits[i];
	}
	g[j] = '\0';
	return xasprintf("%s%c%02lld €", g, en ? '.' : ',',
			 (long long)(cents % 100));
}

/* HT micro-units -> TTC cents, half up (prices are positive). */
static int64_t ttc(int64_t micro)
{
	return (micro * (100 + vat_pct) + 500000) / 1000000;
}

static char *grouped(int64_t n, int en)
{
	char digits[32], g[48];
	size_t len, j = 0;

	snprintf(digits, sizeof(digits), "%lld", (long long)n);
	len = strlen(digits);
	for (size_t i = 0; i < len; i++) {
		if (!en && i && (len - i) % 3 == 0) {
			g[j++] = ' ';
		}
		g[j++] = digits[i];
	}
	g[j] = '\0';
	return xstrdup(g);
}

static void has_free(const char *text, char *needle)
{
	has(text, needle);
	free(needle);
}

static const char *storage(int64_t bytes, int en)
{
	static char buf[32];
	static const char *const fr[] = {"o", "Kio", "Mio", "Gio", "Tio"};
	static const char *const eng[] = {"B", "KiB", "MiB", "GiB", "TiB"};
	int u = 0;

	while (u < 4 && bytes >= 1024 && bytes % 1024 == 0) {
		bytes /= 1024;
		u++;
	}
	snprintf(buf, sizeof(buf), "%lld %s", (long long)bytes,
		 en ? eng[u] : fr[u]);
	return buf;
}

static void check_sheet(const char *path, const struct tariff *t, int en)
{
	char *txt;

	check_pdf(path);
	txt = text_of(path);
	has(txt, en ? "Price list" : "Grille tarifaire");
	has_free(txt, xasprintf("Version %s", t->version));
	has(txt, en ? "Effective from 2026-09-01"
		    : "En vigueur à partir du 01/09/2026");
	has(txt, "Courriel Coopératif");
	has(txt, "SCOP SAS à capital variable");
	has(txt, "12 rue de la Charité");
	has(txt, "69002 Lyon");
	has(txt, "SIREN 912345675");
	has(txt, en ? "VAT no. FR65912345675" : "N° TVA FR65912345675");
	has_free(txt, xasprintf(en ? "at %lld %%." : "de %lld %%.",
				(long long)vat_pct));
	for (size_t i = 0; i < t->nplans; i++) {
		const struct tariff_plan *p = &t->plans[i];
		char *ht = eur(p->monthly_fee / 10000, en);
		char *tc = eur(ttc(p->monthly_fee), en);
		char *out = grouped(p->outbound_per_day, en);

		/* one row: plan, HT, TTC, outbound, storage */
		has_free(txt, xasprintf("%s – %s %s %s %s %s", p->code,
					p->name, ht, tc, out,
					storage(p->storage_included, en)));
		free(ht);
		free(tc);
		free(out);
	}
	char *aht = eur(t->addon_monthly_fee / 10000, en);
	char *attc = eur(ttc(t->addon_monthly_fee), en);

	if (en) {
		has_free(txt,
			 xasprintf("each additional block of %s costs %s excl. "
				   "VAT (%s incl. VAT) per month",
				   storage(t->addon_block, 1), aht, attc));
		has(txt, "warning by e-mail at 80 % of the daily quota");
		has(txt, "3 days over quota tolerated per month");
		has(txt, "sending blocked above 200 % of the daily quota, for "
			 "the rest of the day");
	} else {
		has_free(txt,
			 xasprintf("chaque bloc supplémentaire de %s coûte %s "
				   "HT (%s TTC) par mois",
				   storage(t->addon_block, 0), aht, attc));
		has(txt, "avertissement par e-mail à 80 % du quota quotidien");
		has(txt, "3 jours de dépassement tolérés par mois");
		has(txt, "envoi bloqué au-delà de 200 % du quota quotidien, "
			 "pour le reste de la journée");
		has(txt, "comptés par destinataire");
	}
	if (t->overage_per_1000 > 0) {
		char *ht = eur(t->overage_per_1000 / 10000, en);
		char *tc = eur(ttc(t->overage_per_1000), en);

		has_free(txt, en ? xasprintf("overage billed at %s excl. VAT "
					     "(%s incl. VAT) per 1000 "
					     "recipients",
					     ht, tc)
				 : xasprintf("dépassement facturé %s HT (%s "
					     "TTC) par 1000 destinataires",
					     ht, tc));
		free(ht);
		free(tc);
	} else {
		has(txt, en ? "no overage billing"
			    : "pas de facturation du dépassement");
	}
	free(aht);
	free(attc);
	free(txt);
}

static void load_tariff(struct tariff *t, const char *path)
{
	struct diag d = DIAG_INIT;
	size_t len;
	char *buf = file_read_all(path, &len, &d);

	assert_non_null(buf);
	assert_int_equal(tariff_parse(t, path, buf, len, &d), 0);
	free(buf);
}

static int setup(void **state)
{
	char *out = NULL, *err = NULL, *v;

	(void)state;
	db = testdb_open("pricesheet");
	assert_int_equal(test_run(NULL, &out, &err, "tariff", "load",
				  "examples/tariff.json", NULL),
			 0);
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "seller", "set",
				  "examples/seller.json", NULL),
			 0);
	free(out);
	free(err);
	v = testdb_value(db, "SELECT rate::bigint::text FROM vat_rates "
			     "WHERE country = 'FR' AND kind = 'standard' AND "
			     "valid_from <= '2026-09-01' AND (valid_to IS NULL "
			     "OR valid_to > '2026-09-01')");
	assert_non_null(v);
	vat_pct = atoll(v);
	assert_int_equal(vat_pct, 20);
	free(v);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	PQfinish(db);
	return 0;
}

static void test_french_and_english(void **state)
{
	struct tariff t;
	char *fr = xstrdup(test_write_file("sheet-fr.pdf", ""));
	char *en = xstrdup(test_write_file("sheet-en.pdf", ""));
	char *out = NULL, *err = NULL;

	(void)state;
	load_tariff(&t, "examples/tariff.json");
	assert_int_equal(test_run(NULL, &out, &err, "pricesheet", "--tariff",
				  "2026-09", "-o", fr, NULL),
			 0);
	free(out);
	free(err);
	check_sheet(fr, &t, 0);
	assert_int_equal(test_run(NULL, &out, &err, "pricesheet", "-t",
				  "2026-09", "--lang", "en", "-o", en, NULL),
			 0);
	free(out);
	free(err);
	check_sheet(en, &t, 1);
	tariff_free(&t);
	free(fr);
	free(en);
}

/* A version with a zero overage price says so in words; without
 * --tariff the version in effect (or the latest) is taken; stdout works
 * when it is not a terminal. */
static void test_no_overage_default_stdout(void **state)
{
	struct tariff t;
	char *doc, *path, *json, *out = NULL, *err = NULL, *pdf;

	(void)state;
	json = test_read_file("examples/tariff.json");
	doc = json;
	/* the same grid as version 2026-10 without overage price */
	{
		char *a = strstr(doc, "\"2026-09\""), *b;

		assert_non_null(a);
		memcpy(a, "\"2026-10\"", 9);
		b = strstr(doc, "\"2026-09-01\"");
		assert_non_null(b);
		memcpy(b, "\"2026-10-01\"", 12);
		b = strstr(doc, "\"0.50\"");
		assert_non_null(b);
		memcpy(b, "\"0.00\"", 6);
	}
	path = xstrdup(test_write_file("t10.json", doc));
	free(json);
	assert_int_equal(test_run(NULL, &out, &err, "tariff", "load", path,
				  NULL),
			 0);
	free(out);
	free(err);
	load_tariff(&t, path);
	pdf = xstrdup(test_write_file("sheet-10.pdf", ""));
	assert_int_equal(test_run(NULL, &out, &err, "pricesheet", "--tariff",
				  "2026-10", "-o", pdf, NULL),
			 0);
	free(out);
	free(err);
	{
		char *txt = text_of(pdf);

		has(txt, "pas de facturation du dépassement");
		has(txt, "En vigueur à partir du 01/10/2026");
		free(txt);
	}
	/* default version, to stdout (a pipe here) */
	assert_int_equal(test_run(NULL, &out, &err, "pricesheet", NULL), 0);
	assert_memory_equal(out, "%PDF-", 5);
	free(out);
	free(err);
	tariff_free(&t);
	free(path);
	free(pdf);
}

static void test_errors(void **state)
{
	char *out = NULL, *err = NULL;

	(void)state;
	assert_int_equal(test_run(NULL, &out, &err, "pricesheet", "--help",
				  NULL),
			 0);
	assert_non_null(strstr(out, "Usage: releve pricesheet"));
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "pricesheet", "--lang",
				  "de", "-o", "/dev/null", NULL),
			 2);
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "pricesheet", "extra",
				  NULL),
			 2);
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, &err, "pricesheet", "--tariff",
				  "1999-01", "-o",
				  test_write_file("none.pdf", ""), NULL),
			 1);
	assert_non_null(strstr(err, "1999-01"));
	free(out);
	free(err);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_french_and_english),
		cmocka_unit_test(test_no_overage_default_stdout),
		cmocka_unit_test(test_errors),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
