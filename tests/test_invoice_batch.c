/*
 * test_invoice_batch — more of the invoice batch on a real PostgreSQL,
 * on the example registry and its October usage (testutil):
 *
 *   - `invoice run --customer` writes that customer's draft only;
 *   - the end-of-run summary per VAT regime (JSON and text) equals the
 *     month's invoices summed by regime in the database;
 *   - `invoice run --issue --pdf-dir --jobs 2`: one PDF per issued
 *     invoice, named NUMBER.pdf, that qpdf accepts, with every font
 *     embedded and every page A4, the same bytes as `invoice pdf`;
 *   - `invoice list --customer / --period` (JSON and text);
 *   - a draft rated again after its usage changed, an issued invoice
 *     kept as it is (and the summary then counts its stored figures);
 *   - numbering across years: a new year restarts the series at 000001,
 *     also with the issue date taken from "today" (releve.now);
 *   - the legal mentions pdftotext finds in a PDF made from the
 *     database equal the legal_mentions table's text in force.
 *
 * "Today" is fixed for every command through PGOPTIONS (releve.now), so
 * that runs without --date do not depend on the clock.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <dirent.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/xalloc.h"
#include "testutil.h"

static PGconn *db;
static char base_options[512];

/* New wording of the late-payment mention from 2026-10-01, so that the
 * PDFs must carry the table's text in force, not a built-in one. */
#define PENALTIES_2026                                                   \
	"Tout retard de paiement entraîne des pénalités au taux annuel de" \
	" {late_penalty_rate} % à compter du lendemain de l'échéance"      \
	" (article L441-10 du Code de commerce). Aucun escompte pour"      \
	" paiement anticipé."

/* ---------------------------------------------------------- helpers */

/* "Today" for the commands run from now on (releve.now). */
static void set_now(const char *ts)
{
	char opts[768];

	snprintf(opts, sizeof(opts), "%s -c releve.now=%s", base_options, ts);
	setenv("PGOPTIONS", opts, 1);
}

static long count(const char *sql)
{
	char *v = testdb_value(db, sql);
	long n = v ? atol(v) : -1;

	free(v);
	return n;
}

static char *value1(const char *sql, const char *a)
{
	const char *p[1] = {a};

	return testdb_value_p(db, sql, 1, p);
}

/* Its stdout as JSON (see test_run_expect). */
static json_t *json_of(char *out)
{
	json_t *j = json_loads(out, 0, NULL);

	if (!j) {
		fprintf(stderr, "not JSON: %s\n", out);
	}
	assert_non_null(j);
	free(out);
	return j;
}

#define run_json(expect, ...) json_of(test_run_expect(expect, __VA_ARGS__))
#define run_text test_run_expect

static const char *jstr(json_t *o, const char *k)
{
	return json_string_value(json_object_get(o, k));
}

/* Whitespace runs collapsed to one space, none at either end. */
static char *squash(const char *s)
{
	char *o = xmalloc(strlen(s) + 1);
	size_t j = 0;

	for (const char *p = s; *p; p++) {
		if (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\f' ||
		    *p == '\r') {
			if (j > 0 && o[j - 1] != ' ') {
				o[j++] = ' ';
			}
		} else {
			o[j++] = *p;
		}
	}
	if (j > 0 && o[j - 1] == ' ') {
		j--;
	}
	o[j] = '\0';
	return o;
}

/* "-12.34" -> -1234 (amounts as the commands print them). */
static long long cents(const char *s)
{
	int neg = *s == '-';
	long long units = 0, frac = 0;
	const char *p = s + neg;

	assert_non_null(s);
	for (; *p >= '0' && *p <= '9'; p++) {
		units = units * 10 + (*p - '0');
	}
	assert_int_equal(*p, '.');
	assert_true(p[1] >= '0' && p[1] <= '9' && p[2] >= '0' && p[2] <= '9');
	assert_int_equal(p[3], '\0');
	frac = (p[1] - '0') * 10 + (p[2] - '0');
	return neg ? -(units * 100 + frac) : units * 100 + frac;
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* "REGIME:count:net:vat:total,..." in regime order, from the summary's
 * rows (regime, count and the amounts as printed). */
static char *regime_string(char **rows, size_t n)
{
	char *out = NULL;
	size_t len = 0;
	FILE *m = open_memstream(&out, &len);

	qsort(rows, n, sizeof(*rows), cmp_str);
	for (size_t i = 0; i < n; i++) {
		fprintf(m, "%s%s", i ? "," : "", rows[i]);
	}
	fclose(m);
	return out;
}

static char *summary_of_json(json_t *sum, long *docs)
{
	json_t *rg = json_object_get(sum, "by_vat_regime"), *r;
	char *rows[32], *s;
	size_t i, n = 0;

	assert_true(json_is_array(rg));
	assert_true(json_array_size(rg) <= 32);
	*docs = 0;
	json_array_foreach(rg, i, r) {
		long c = (long)json_integer_value(json_object_get(r, "count"));

		rows[n++] = xasprintf("%s:%ld:%lld:%lld:%lld",
				      jstr(r, "vat_regime"), c,
				      cents(jstr(r, "net")),
				      cents(jstr(r, "vat")),
				      cents(jstr(r, "total")));
		*docs += c;
	}
	s = regime_string(rows, n);
	for (i = 0; i < n; i++) {
		free(rows[i]);
	}
	return s;
}

/* The text summary: a first line, a header, then one row per regime. */
static char *summary_of_text(const char *out, long *docs)
{
	char *copy = xstrdup(out), *save = NULL, *rows[32], *s;
	size_t n = 0;
	int header = 0;

	*docs = 0;
	for (char *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		char code[64], net[32], vat[32], total[32];
		long c;

		if (strstr(line, "VAT regime")) {
			header = 1;
			continue;
		}
		if (!header) {
			continue;
		}
		assert_int_equal(sscanf(line, " %63s %ld %31s %31s %31s", code,
					&c, net, vat, total),
				 5);
		assert_true(n < 32);
		rows[n++] = xasprintf("%s:%ld:%lld:%lld:%lld", code, c,
				      cents(net), cents(vat), cents(total));
		*docs += c;
	}
	assert_true(header);
	s = regime_string(rows, n);
	for (size_t i = 0; i < n; i++) {
		free(rows[i]);
	}
	free(copy);
	return s;
}

/* The month's invoices in the database, summed by VAT regime. */
static char *summary_of_db(const char *first, const char *customer)
{
	const char *p[2] = {first, customer};

	return testdb_value_p(
		db,
		"SELECT string_agg(concat_ws(':', vat_regime, n, net, vat,"
		" total), ',' ORDER BY vat_regime COLLATE \"C\") FROM"
		" (SELECT vat_regime, count(*) n, sum(net_cents) net,"
		" sum(vat_cents) vat, sum(total_cents) total FROM invoices"
		" WHERE kind = 'invoice' AND period_start = $1::date"
		" AND ($2::text IS NULL OR customer_id = $2)"
		" GROUP BY vat_regime) s",
		2, p);
}

/* Every figure of the month's invoices (the test_invoice_db one). */
static char *fingerprint(const char *where, const char *a)
{
	char *sql = xasprintf(
		"SELECT md5(string_agg(concat_ws('|', i.id, i.customer_id,"
		" i.status, i.number, i.issue_date, i.due_date, i.net_cents,"
		" i.vat_cents, i.total_cents, i.vat_regime, i.usage::text,"
		" i.mentions::text, i.customer::text, i.seller::text,"
		" (SELECT string_agg(concat_ws(',', l.line_no, l.kind,"
		" l.description, l.quantity_micro, l.unit_price_micro,"
		" l.vat_rate_micro, l.net_cents), ';' ORDER BY l.line_no)"
		" FROM invoice_lines l WHERE l.invoice_id = i.id),"
		" (SELECT string_agg(concat_ws(',', v.vat_rate_micro,"
		" v.base_cents, v.vat_cents), ';' ORDER BY v.vat_rate_micro)"
		" FROM invoice_vat v WHERE v.invoice_id = i.id)), E'\\n'"
		" ORDER BY i.id)) FROM invoices i WHERE %s",
		where);
	char *v = value1(sql, a);

	free(sql);
	assert_non_null(v);
	return v;
}

/* ------------------------------------------------------------ setup */

static int setup(void **state)
{
	const char *o = getenv("PGOPTIONS");

	(void)state;
	snprintf(base_options, sizeof(base_options), "%s", o ? o : "");
	set_now("2026-12-01T12:00:00+01");
	db = testdb_open("invoicebatch");
	testdb_load_examples(1);
	testdb_example_october(db);
	{
		const char *p[1] = {PENALTIES_2026};

		testdb_exec_p(db, "INSERT INTO legal_mentions (key, language,"
				  " valid_from, text) VALUES"
				  " ('late_penalties', 'fr', '2026-10-01', $1)",
			      1, p);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	PQfinish(db);
	return 0;
}

/* ------------------------------------------------------------ tests */

/* --customer: that customer's draft only, the others untouched. */
static void test_run_one_customer(void **state)
{
	json_t *sum;
	char *before, *after, *err;
	long docs;
	char *s, *want;

	(void)state;
	sum = run_json(0, "invoice", "run", "--period", "2026-10",
		       "--customer", "C-1002", "--json", NULL);
	assert_int_equal(json_integer_value(json_object_get(sum,
					    "drafts_written")), 1);
	s = summary_of_json(sum, &docs);
	assert_string_equal(s, "FR:1:450:90:540");
	free(s);
	json_decref(sum);
	assert_int_equal(count("SELECT count(*) FROM invoices"), 1);
	assert_int_equal(count("SELECT count(*) FROM invoices WHERE"
			       " customer_id = 'C-1002' AND status = 'draft'"
			       " AND period_start = '2026-10-01'"),
			 1);
	/* A second customer: the first one's draft is not rewritten. */
	before = fingerprint("customer_id = $1", "C-1002");
	sum = run_json(0, "invoice", "run", "--period", "2026-10",
		       "--customer", "C-1004", "--json", NULL);
	assert_int_equal(json_integer_value(json_object_get(sum,
					    "drafts_written")), 1);
	s = summary_of_json(sum, &docs);
	want = summary_of_db("2026-10-01", "C-1004");
	assert_string_equal(s, want);
	assert_non_null(strstr(s, "REVERSE_CHARGE:1:"));
	free(s);
	free(want);
	json_decref(sum);
	after = fingerprint("customer_id = $1", "C-1002");
	assert_string_equal(before, after);
	free(before);
	free(after);
	assert_int_equal(count("SELECT count(*) FROM invoices"), 2);
	/* The draft equals the rating of that customer alone. */
	{
		json_t *rated = run_json(0, "rate", "--period", "2026-10",
					 "--customer", "C-1004", "--json",
					 NULL);
		char *v = testdb_value(db, "SELECT total_cents FROM invoices"
					   " WHERE customer_id = 'C-1004'");

		assert_int_equal(cents(jstr(rated, "total")), atoll(v));
		free(v);
		json_decref(rated);
	}
	/* Unknown, and no subscription in the month (C-1005 from October):
	 * exit 1, nothing written. */
	assert_int_equal(test_run(NULL, NULL, &err, "invoice", "run",
				  "--period", "2026-10", "--customer",
				  "C-9999", NULL),
			 1);
	assert_non_null(strstr(err, "C-9999"));
	free(err);
	assert_int_equal(test_run(NULL, NULL, &err, "invoice", "run",
				  "--period", "2026-09", "--customer",
				  "C-1005", NULL),
			 1);
	assert_non_null(strstr(err, "no subscription"));
	free(err);
	assert_int_equal(count("SELECT count(*) FROM invoices"), 2);
}

/* The summary per VAT regime equals the drafts summed by regime. */
static void test_summary_by_regime(void **state)
{
	json_t *sum;
	char *s, *want, *out;
	long docs;

	(void)state;
	sum = run_json(0, "invoice", "run", "--period", "2026-10", "--json",
		       NULL);
	assert_int_equal(json_integer_value(json_object_get(sum,
					    "drafts_written")), 8);
	s = summary_of_json(sum, &docs);
	want = summary_of_db("2026-10-01", NULL);
	assert_string_equal(s, want);
	assert_int_equal(docs, 8);
	/* The example covers four regimes. */
	assert_non_null(strstr(s, "FR:5:"));
	assert_non_null(strstr(s, "REVERSE_CHARGE:1:"));
	assert_non_null(strstr(s, "OSS:1:"));
	assert_non_null(strstr(s, "OUT_OF_SCOPE:1:"));
	free(s);
	json_decref(sum);
	/* The text summary has the same figures. */
	out = run_text(0, "invoice", "run", "--period", "2026-10", NULL);
	assert_non_null(strstr(out, "invoices 2026-10: 8 drafts written, 0"
				    " already issued (kept), 0 failed"));
	s = summary_of_text(out, &docs);
	assert_string_equal(s, want);
	assert_int_equal(docs, 8);
	free(s);
	free(out);
	free(want);
	/* September (7 customers: C-1005 starts in October). */
	sum = run_json(0, "invoice", "run", "--period", "2026-09", "--json",
		       NULL);
	s = summary_of_json(sum, &docs);
	want = summary_of_db("2026-09-01", NULL);
	assert_string_equal(s, want);
	assert_int_equal(docs, 7);
	free(s);
	free(want);
	json_decref(sum);
}

/* pdffonts: every font has "yes" in the emb column. */
static void check_fonts(const char *path)
{
	char *cmd = xasprintf("pdffonts '%s'", path), *out, *save = NULL;
	int st, fonts = 0;
	long col = -1;

	out = test_sh(cmd, &st);
	free(cmd);
	assert_int_equal(st, 0);
	for (char *line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		if (col < 0) {
			char *e = strstr(line, " emb ");

			assert_non_null(e);
			col = e + 1 - line;
			continue;
		}
		if (!strncmp(line, "----", 4)) {
			continue;
		}
		assert_true((long)strlen(line) > col + 3);
		if (strncmp(line + col, "yes", 3)) {
			fprintf(stderr, "%s: not embedded: %s\n", path, line);
			fail();
		}
		fonts++;
	}
	free(out);
	assert_true(fonts >= 1);
}

/* pdfinfo: every page 595 x 842 points (A4), rounded. */
static void check_a4(const char *path)
{
	char *cmd = xasprintf("pdfinfo -f 1 -l 999 '%s'", path), *out;
	char *save = NULL;
	int st, pages = -1, sized = 0;

	out = test_sh(cmd, &st);
	free(cmd);
	assert_int_equal(st, 0);
	for (char *line = strtok_r(out, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		double w, h;
		int k;

		if (sscanf(line, "Pages: %d", &pages) == 1) {
			continue;
		}
		if (sscanf(line, "Page %d size: %lf x %lf pts", &k, &w, &h) ==
		    3) {
			if ((long)(w + 0.5) != 595 || (long)(h + 0.5) != 842) {
				fprintf(stderr, "%s: page %d is %g x %g\n",
					path, k, w, h);
				fail();
			}
			sized++;
		}
	}
	free(out);
	assert_true(pages >= 1);
	assert_int_equal(sized, pages);
}

static void check_qpdf(const char *path)
{
	char *cmd = xasprintf("qpdf --check '%s' >/dev/null 2>&1", path);
	int st;
	char *out = test_sh(cmd, &st);

	free(cmd);
	free(out);
	assert_int_equal(st, 0);
}

/* run --issue --pdf-dir --jobs 2: numbered, one valid A4 PDF each. */
static void test_issue_pdf_dir(void **state)
{
	char dir[512], *numbers, *save = NULL, *want;
	json_t *sum;
	DIR *dp;
	struct dirent *e;
	int files = 0, checked = 0;

	(void)state;
	snprintf(dir, sizeof(dir), "%s/pdf-2026-09", test_tmpdir());
	sum = run_json(0, "invoice", "run", "--period", "2026-09", "--issue",
		       "--date", "2026-10-05", "--pdf-dir", dir, "--jobs", "2",
		       "--json", NULL);
	assert_int_equal(json_integer_value(json_object_get(sum, "issued")),
			 7);
	json_decref(sum);
	/* In customer order, gapless from 1, dated and due 30 days later. */
	want = testdb_value(
		db, "SELECT string_agg(number || ':' || customer_id || ':' ||"
		    " issue_date || ':' || due_date, ',' ORDER BY number)"
		    " FROM invoices WHERE status = 'issued'");
	assert_string_equal(want, "F2026-000001:C-1001:2026-10-05:2026-11-04,"
				  "F2026-000002:C-1002:2026-10-05:2026-11-04,"
				  "F2026-000003:C-1003:2026-10-05:2026-11-04,"
				  "F2026-000004:C-1004:2026-10-05:2026-11-04,"
				  "F2026-000005:C-1006:2026-10-05:2026-11-04,"
				  "F2026-000006:C-1007:2026-10-05:2026-11-04,"
				  "F2026-000007:C-1008:2026-10-05:2026-11-04");
	free(want);
	/* The folder holds exactly NUMBER.pdf of each. */
	dp = opendir(dir);
	assert_non_null(dp);
	while ((e = readdir(dp)) != NULL) {
		if (e->d_name[0] != '.') {
			files++;
		}
	}
	closedir(dp);
	assert_int_equal(files, 7);
	numbers = testdb_value(db, "SELECT string_agg(number, ',' ORDER BY"
				   " number) FROM invoices WHERE status ="
				   " 'issued'");
	for (char *n = strtok_r(numbers, ",", &save); n;
	     n = strtok_r(NULL, ",", &save)) {
		char *path = xasprintf("%s/%s.pdf", dir, n);
		char *again = xasprintf("%s/again-%s.pdf", test_tmpdir(), n);
		char *a, *b;
		struct stat sa, sb;

		assert_int_equal(stat(path, &sa), 0);
		check_qpdf(path);
		check_fonts(path);
		check_a4(path);
		/* The same bytes as `invoice pdf NUMBER`. */
		assert_int_equal(test_run(NULL, NULL, NULL, "invoice", "pdf",
					  n, "-o", again, NULL),
				 0);
		assert_int_equal(stat(again, &sb), 0);
		assert_int_equal(sa.st_size, sb.st_size);
		a = test_read_file(path);
		b = test_read_file(again);
		assert_memory_equal(a, b, (size_t)sa.st_size);
		free(a);
		free(b);
		free(path);
		free(again);
		checked++;
	}
	free(numbers);
	assert_int_equal(checked, 7);
}

/* One row of `invoice list`'s text output. */
struct listed {
	char number[40], kind[16], period[16], customer[32], issued[16];
	char net[32], vat[32], total[32], due[16];
};

static size_t parse_list(const char *out, struct listed *rows, size_t max)
{
	char *copy = xstrdup(out), *save = NULL;
	size_t n = 0;
	int first = 1;

	for (char *line = strtok_r(copy, "\n", &save); line;
	     line = strtok_r(NULL, "\n", &save)) {
		struct listed *r = &rows[n];

		if (first) {
			assert_non_null(strstr(line, "number"));
			assert_non_null(strstr(line, "customer"));
			first = 0;
			continue;
		}
		assert_true(n < max);
		assert_int_equal(sscanf(line,
					"%39s %15s %15s %31s %15s %31s %31s"
					" %31s %15s",
					r->number, r->kind, r->period,
					r->customer, r->issued, r->net, r->vat,
					r->total, r->due),
				 9);
		n++;
	}
	free(copy);
	return n;
}

/* `invoice list` with filters: JSON against the database, and the text
 * output against the JSON, row by row (numbers included). */
static void check_list(const char *customer, const char *period,
		       long want)
{
	const char *args[12] = {"invoice", "list"};
	size_t na = 2, i;
	json_t *a, *o;
	char *out, *err;
	struct listed rows[64];
	size_t nr;

	if (customer) {
		args[na++] = "--customer";
		args[na++] = customer;
	}
	if (period) {
		args[na++] = "--period";
		args[na++] = period;
	}
	args[na] = NULL;
	assert_int_equal(test_runv(NULL, &out, &err, args), 0);
	free(err);
	nr = parse_list(out, rows, 64);
	free(out);
	args[na++] = "--json";
	args[na] = NULL;
	assert_int_equal(test_runv(NULL, &out, &err, args), 0);
	free(err);
	a = json_loads(out, 0, NULL);
	free(out);
	assert_true(json_is_array(a));
	assert_int_equal(json_array_size(a), want);
	assert_int_equal(nr, want);
	json_array_foreach(a, i, o) {
		const char *num = jstr(o, "number");
		char first[16];
		char *v;

		if (customer) {
			assert_string_equal(jstr(o, "customer"), customer);
		}
		if (period) {
			assert_string_equal(jstr(o, "period"), period);
		}
		/* The JSON row's figures are the database's. */
		snprintf(first, sizeof(first), "%.7s-01", jstr(o, "period"));
		{
			const char *p[2] = {jstr(o, "customer"), first};

			v = testdb_value_p(
				db, "SELECT concat_ws(':', total_cents,"
				    " coalesce(number, '-'), status) FROM"
				    " invoices WHERE kind = 'invoice' AND"
				    " customer_id = $1 AND period_start ="
				    " $2::date",
				2, p);
		}
		{
			char *w = xasprintf("%lld:%s:%s",
					    cents(jstr(o, "total")),
					    num ? num : "-", jstr(o, "status"));

			assert_string_equal(v, w);
			free(w);
		}
		free(v);
		/* The text row says the same. */
		assert_string_equal(rows[i].number, num ? num : "(draft)");
		assert_string_equal(rows[i].customer, jstr(o, "customer"));
		assert_string_equal(rows[i].period, jstr(o, "period"));
		assert_string_equal(rows[i].net, jstr(o, "net"));
		assert_string_equal(rows[i].vat, jstr(o, "vat"));
		assert_string_equal(rows[i].total, jstr(o, "total"));
		assert_string_equal(rows[i].issued,
				    num ? jstr(o, "issue_date") : "-");
		assert_string_equal(rows[i].due,
				    num ? jstr(o, "due_date") : "-");
	}
	json_decref(a);
}

static void test_list_filters(void **state)
{
	char *out;
	struct listed rows[64];
	size_t n;

	(void)state;
	/* 7 issued in September, 8 drafts in October. */
	check_list(NULL, NULL, 15);
	check_list("C-1002", NULL, 2);
	check_list("C-1005", NULL, 1);
	check_list(NULL, "2026-09", 7);
	check_list(NULL, "2026-10", 8);
	check_list("C-1004", "2026-09", 1);
	check_list("C-1005", "2026-09", 0);
	check_list("C-9999", NULL, 0);
	check_list(NULL, "2026-08", 0);
	/* Newest month first; the issued ones show their numbers. */
	out = run_text(0, "invoice", "list", "--customer", "C-1002", NULL);
	n = parse_list(out, rows, 64);
	free(out);
	assert_int_equal(n, 2);
	assert_string_equal(rows[0].period, "2026-10");
	assert_string_equal(rows[0].number, "(draft)");
	assert_string_equal(rows[1].period, "2026-09");
	assert_string_equal(rows[1].number, "F2026-000002");
	out = run_text(0, "invoice", "list", "--period", "2026-09", NULL);
	n = parse_list(out, rows, 64);
	free(out);
	assert_int_equal(n, 7);
	/* Every September number is listed once. */
	{
		char *all = testdb_value(db, "SELECT string_agg(number, ','"
					     " ORDER BY number) FROM invoices"
					     " WHERE period_start ="
					     " '2026-09-01'");
		char *got = NULL, *sorted[64];
		size_t len = 0;
		FILE *m = open_memstream(&got, &len);

		for (size_t i = 0; i < n; i++) {
			sorted[i] = rows[i].number;
		}
		qsort(sorted, n, sizeof(*sorted), cmp_str);
		for (size_t i = 0; i < n; i++) {
			fprintf(m, "%s%s", i ? "," : "", sorted[i]);
		}
		fclose(m);
		assert_string_equal(got, all);
		free(got);
		free(all);
	}
	/* With --issued: C-1002's September invoice only. */
	{
		json_t *a = run_json(0, "invoice", "list", "--customer",
				     "C-1002", "--issued", "--json", NULL);

		assert_int_equal(json_array_size(a), 1);
		assert_string_equal(jstr(json_array_get(a, 0), "number"),
				    "F2026-000002");
		json_decref(a);
	}
	/* A bad period is a usage error. */
	assert_int_equal(test_run(NULL, NULL, NULL, "invoice", "list",
				  "--period", "2026-13", NULL),
			 2);
}

/* Usage changes: the draft is rated again, the issued invoice kept. */
static void test_recompute(void **state)
{
	char *issued1, *issued2, *sept1, *sept2, *s, *want, *before;
	json_t *sum, *rated, *shown;
	long docs;

	(void)state;
	/* C-1001's October invoice issued, the others stay drafts. */
	assert_int_equal(test_run(NULL, NULL, NULL, "invoice", "issue",
				  "--period", "2026-10", "--customer",
				  "C-1001", "--date", "2026-11-05", NULL),
			 0);
	issued1 = fingerprint("status = 'issued' AND customer_id = $1",
			      "C-1001");
	sept1 = fingerprint("period_start = $1::date", "2026-09-01");
	before = testdb_value(db, "SELECT concat_ws(':', net_cents,"
				  " vat_cents, total_cents) FROM invoices"
				  " WHERE customer_id = 'C-1002' AND"
				  " period_start = '2026-10-01'");
	assert_string_equal(before, "450:90:540");
	/* Late logs: 2100 recipients on the 6th for C-1002 (quota 100, a
	 * 6th day over, billed: 1 + 1000 + 2000 = 3001 over x 0.50 / 1000
	 * = 1.5005 -> 1.50), and C-1001 far over its quota every day. */
	testdb_exec(db,
		"INSERT INTO usage_daily (customer_id, mailbox, day,"
		" out_messages, out_recipients, out_recipients_local) VALUES"
		" ('C-1002', 'bureau@jardins-faubourg.org', '2026-10-06', 10,"
		" 2100, 0);"
		"UPDATE usage_daily SET out_recipients = 9000"
		" WHERE customer_id = 'C-1001'");
	sum = run_json(0, "invoice", "run", "--period", "2026-10", "--json",
		       NULL);
	assert_int_equal(json_integer_value(json_object_get(sum,
					    "drafts_written")), 7);
	assert_int_equal(json_integer_value(json_object_get(sum,
					    "kept_issued")), 1);
	/* 4.00 + 1.50 = 5.50, VAT 20 % 1.10, total 6.60. */
	{
		char *after = testdb_value(
			db, "SELECT concat_ws(':', net_cents, vat_cents,"
			    " total_cents) FROM invoices WHERE customer_id ="
			    " 'C-1002' AND period_start = '2026-10-01'");
		char *ol = testdb_value(
			db, "SELECT l.net_cents FROM invoice_lines l JOIN"
			    " invoices i ON i.id = l.invoice_id WHERE"
			    " i.customer_id = 'C-1002' AND i.period_start ="
			    " '2026-10-01' AND l.kind = 'outbound'");

		assert_string_equal(after, "550:110:660");
		assert_string_equal(ol, "150");
		free(after);
		free(ol);
	}
	rated = run_json(0, "rate", "--period", "2026-10", "--customer",
			 "C-1002", "--json", NULL);
	shown = run_json(0, "invoice", "show", "--customer", "C-1002",
			 "--period", "2026-10", "--json", NULL);
	assert_string_equal(jstr(rated, "total"), jstr(shown, "total"));
	assert_string_equal(jstr(shown, "status"), "draft");
	json_decref(rated);
	json_decref(shown);
	/* The issued invoices did not move (C-1001's rating did). */
	issued2 = fingerprint("status = 'issued' AND customer_id = $1",
			      "C-1001");
	sept2 = fingerprint("period_start = $1::date", "2026-09-01");
	assert_string_equal(issued1, issued2);
	assert_string_equal(sept1, sept2);
	rated = run_json(0, "rate", "--period", "2026-10", "--customer",
			 "C-1001", "--json", NULL);
	shown = run_json(0, "invoice", "show", "--customer", "C-1001",
			 "--period", "2026-10", "--json", NULL);
	assert_string_equal(jstr(shown, "status"), "issued");
	assert_string_not_equal(jstr(rated, "total"), jstr(shown, "total"));
	json_decref(rated);
	json_decref(shown);
	/* The summary counts the kept invoice as stored, not as rated now. */
	s = summary_of_json(sum, &docs);
	want = summary_of_db("2026-10-01", NULL);
	assert_string_equal(s, want);
	assert_int_equal(docs, 8);
	free(s);
	json_decref(sum);
	{
		char *out = run_text(0, "invoice", "run", "--period",
				     "2026-10", NULL);

		assert_non_null(strstr(out, "7 drafts written, 1 already"
					    " issued (kept)"));
		s = summary_of_text(out, &docs);
		assert_string_equal(s, want);
		free(s);
		free(out);
	}
	free(want);
	free(before);
	free(issued1);
	free(issued2);
	free(sept1);
	free(sept2);
}

/* A new year restarts the series at 000001. */
static void test_year_change(void **state)
{
	char *v, *out;
	json_t *sum;

	(void)state;
	/* The rest of October, still in 2026: F2026-000009..15. */
	assert_int_equal(test_run(NULL, NULL, NULL, "invoice", "issue",
				  "--period", "2026-10", "--date",
				  "2026-11-05", NULL),
			 0);
	assert_int_equal(count("SELECT last_number FROM invoice_counters"
			       " WHERE series = 'F' AND year = 2026"),
			 15);
	/* December issued on "today", 4 January 2027 (no --date). */
	set_now("2027-01-04T10:00:00+01");
	sum = run_json(0, "invoice", "run", "--period", "2026-12", "--issue",
		       "--json", NULL);
	assert_int_equal(json_integer_value(json_object_get(sum, "issued")),
			 8);
	json_decref(sum);
	v = testdb_value(db, "SELECT string_agg(number || ':' || customer_id"
			     " || ':' || issue_date || ':' || due_date, ','"
			     " ORDER BY number) FROM invoices WHERE"
			     " period_start = '2026-12-01'");
	assert_string_equal(v, "F2027-000001:C-1001:2027-01-04:2027-02-03,"
			       "F2027-000002:C-1002:2027-01-04:2027-02-03,"
			       "F2027-000003:C-1003:2027-01-04:2027-02-03,"
			       "F2027-000004:C-1004:2027-01-04:2027-02-03,"
			       "F2027-000005:C-1005:2027-01-04:2027-02-03,"
			       "F2027-000006:C-1006:2027-01-04:2027-02-03,"
			       "F2027-000007:C-1007:2027-01-04:2027-02-03,"
			       "F2027-000008:C-1008:2027-01-04:2027-02-03");
	free(v);
	/* November, issued later in January: the 2027 series goes on. */
	assert_int_equal(test_run(NULL, NULL, NULL, "invoice", "run",
				  "--period", "2026-11", "--issue", "--date",
				  "2027-01-06", NULL),
			 0);
	v = testdb_value(db, "SELECT min(number) || '..' || max(number) ||"
			     " ':' || count(*) FROM invoices WHERE"
			     " period_start = '2026-11-01'");
	assert_string_equal(v, "F2027-000009..F2027-000016:8");
	free(v);
	/* Each year's counter; 2026's untouched; numbers match the year of
	 * their issue date. */
	assert_int_equal(count("SELECT last_number FROM invoice_counters"
			       " WHERE series = 'F' AND year = 2026"),
			 15);
	assert_int_equal(count("SELECT last_number FROM invoice_counters"
			       " WHERE series = 'F' AND year = 2027"),
			 16);
	assert_int_equal(count("SELECT count(*) FROM invoices WHERE status ="
			       " 'issued' AND number <> 'F' ||"
			       " extract(year FROM issue_date) || '-' ||"
			       " lpad(series_number::text, 6, '0')"),
			 0);
	/* A credit note of a 2026 invoice, in 2027: A2027-000001. */
	out = run_text(0, "invoice", "credit", "F2026-000001", "--reason",
		       "Erreur de forfait", NULL);
	assert_string_equal(out, "A2027-000001\n");
	free(out);
	v = testdb_value(db, "SELECT issue_date FROM invoices WHERE number ="
			     " 'A2027-000001'");
	assert_string_equal(v, "2027-01-04");
	free(v);
	set_now("2026-12-01T12:00:00+01");
}

/* pdftotext of `invoice pdf NUMBER -o FILE`, whitespace squashed. */
static char *pdf_text(const char *number)
{
	char *path = xasprintf("%s/%s.pdf", test_tmpdir(), number);
	char *cmd = xasprintf("pdftotext -q -layout '%s' -", path);
	char *raw, *t;
	int st;

	assert_int_equal(test_run(NULL, NULL, NULL, "invoice", "pdf", number,
				  "-o", path, NULL),
			 0);
	raw = test_sh(cmd, &st);
	assert_int_equal(st, 0);
	t = squash(raw);
	free(raw);
	free(cmd);
	free(path);
	return t;
}

/* The French text of key in force on the invoice's issue date, with
 * the placeholders filled from the invoice's copy of the seller (with a
 * decimal comma, as French is written). */
static char *mention(const char *key, const char *number)
{
	const char *p[2] = {key, number};
	char *raw = testdb_value_p(
		db,
		"SELECT replace(replace(legal_mention_on($1, 'fr',"
		" i.issue_date), '{late_penalty_rate}',"
		" replace(i.seller->>'late_penalty_rate', '.', ',')),"
		" '{recovery_indemnity}',"
		" replace(i.seller->>'recovery_indemnity', '.', ','))"
		" FROM invoices i"
		" WHERE i.number = $2",
		2, p);
	char *t;

	assert_non_null(raw);
	assert_null(strchr(raw, '{'));
	t = squash(raw);
	free(raw);
	return t;
}

static void has(const char *text, const char *needle, const char *number)
{
	if (!strstr(text, needle)) {
		fprintf(stderr, "%s: not in the PDF text: \"%s\"\n", number,
			needle);
		fail();
	}
}

static void test_pdf_mentions(void **state)
{
	char *n, *text, *m;

	(void)state;
	/* C-1001, a French business: late penalties (the 2026 wording, in
	 * force on 2026-10-05) and the 40 € indemnity.  Its invoice, not
	 * the credit note test_year_change made of it (same customer and
	 * period: without the kind, the row that came first won). */
	n = testdb_value(db, "SELECT number FROM invoices WHERE customer_id"
			     " = 'C-1001' AND period_start = '2026-09-01'"
			     " AND kind = 'invoice'");
	assert_string_equal(n, "F2026-000001");
	text = pdf_text(n);
	m = mention("late_penalties", n);
	assert_non_null(strstr(m, "Tout retard de paiement"));
	assert_non_null(strstr(m, "12,15 %"));
	has(text, m, n);
	free(m);
	m = mention("recovery_indemnity", n);
	assert_non_null(strstr(m, "40,00 €"));
	has(text, m, n);
	free(m);
	/* The wording replaced on 2026-10-01 is not printed. */
	assert_null(strstr(text, "En cas de retard de paiement"));
	free(text);
	free(n);
	/* The table still has the older wording for earlier dates. */
	m = testdb_value(db, "SELECT legal_mention_on('late_penalties', 'fr',"
			     " '2026-09-30')");
	assert_non_null(strstr(m, "En cas de retard de paiement"));
	free(m);
	/* C-1006, a Swiss business: out of scope, and still the penalties
	 * (a business customer). */
	n = testdb_value(db, "SELECT number FROM invoices WHERE customer_id"
			     " = 'C-1006' AND period_start = '2026-09-01'"
			     " AND kind = 'invoice'");
	text = pdf_text(n);
	m = mention("out_of_scope", n);
	assert_non_null(strstr(m, "hors UE"));
	has(text, m, n);
	free(m);
	m = mention("recovery_indemnity", n);
	has(text, m, n);
	free(m);
	free(text);
	free(n);
	/* C-1003, a French consumer: no penalties, no indemnity. */
	n = testdb_value(db, "SELECT number FROM invoices WHERE customer_id"
			     " = 'C-1003' AND period_start = '2026-09-01'"
			     " AND kind = 'invoice'");
	text = pdf_text(n);
	assert_null(strstr(text, "retard de paiement"));
	assert_null(strstr(text, "recouvrement"));
	free(text);
	free(n);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_run_one_customer),
		cmocka_unit_test(test_summary_by_regime),
		cmocka_unit_test(test_issue_pdf_dir),
		cmocka_unit_test(test_list_filters),
		cmocka_unit_test(test_recompute),
		cmocka_unit_test(test_year_change),
		cmocka_unit_test(test_pdf_mentions),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
