/*
 * test_export — `releve export journal|lines|vat|plans|fec` on a real
 * PostgreSQL.  The fixtures below are inserted as drafts with their lines
 * and VAT rows, then issued by an UPDATE (the triggers forbid touching
 * the lines of an issued document).  Each export is run with -o, read
 * back (CSV through libcsv's parser, the FEC split on tabs) and checked
 * against sums queried from the database.
 *
 * October 2026 holds four issued documents: an FR invoice at 20 % with
 * fee, storage and outbound lines, a reverse-charge BE invoice at 0 %, an
 * OSS DE invoice at 19 %, and a credit note of the first one's fee.  A
 * draft of October and an invoice issued in November must not appear in
 * the month.  December gets, in the last test, an invoice whose VAT rows
 * do not add up (the FEC must refuse it).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <csv.h>

#include "billing/money.h"
#include "common/xalloc.h"
#include "testutil.h"

#define SIREN "912345675"
#define MONTH_WHERE                                                            \
	" status = 'issued' AND issue_date BETWEEN '2026-10-01' AND "          \
	"'2026-10-31'"

static PGconn *db;

/* ------------------------------------------------------------------ */
/* Fixtures */

struct fx_line {
	const char *kind, *plan, *desc, *qty, *unit, *price, *rate, *net;
};
struct fx_vat {
	const char *rate, *base, *vat;
};
struct fx_doc {
	const char *kind, *cust, *name, *country, *regime, *pstart, *pend;
	const char *net, *vat, *total;
	int credits; /* index of the credited document, or -1 */
	const char *number, *series, *series_no, *issue, *due; /* NULL: draft */
	struct fx_line lines[4];
	struct fx_vat vats[3];
};

static const struct fx_doc docs[] = {
	{ .kind = "invoice",
	  .cust = "C-1001",
	  .name = "Atelier Dupont, \"SARL\"",
	  .country = "FR",
	  .regime = "FR",
	  .pstart = "2026-09-01",
	  .pend = "2026-09-30",
	  .net = "1085",
	  .vat = "217",
	  .total = "1302",
	  .credits = -1,
	  .number = "F2026-000001",
	  .series = "F",
	  .series_no = "1",
	  .issue = "2026-10-01",
	  .due = "2026-10-31",
	  .lines = { { "fee", "M", "Abonnement Standard", "1000000", "mois",
		       "9000000", "20000000", "900" },
		     { "storage", "M", "Stockage supplémentaire\n10 Gio",
		       "1000000", "bloc", "1500000", "20000000", "150" },
		     { "outbound", "M", "Envois hors forfait", "700000000",
		       "destinataire", "500", "20000000", "35" } },
	  .vats = { { "20000000", "1085", "217" } } },
	{ .kind = "invoice",
	  .cust = "C-1004",
	  .name = "De Kroon\tBVBA",
	  .country = "BE",
	  .regime = "REVERSE_CHARGE",
	  .pstart = "2026-09-01",
	  .pend = "2026-09-30",
	  .net = "1990",
	  .vat = "0",
	  .total = "1990",
	  .credits = -1,
	  .number = "F2026-000002",
	  .series = "F",
	  .series_no = "2",
	  .issue = "2026-10-01",
	  .due = "2026-10-31",
	  .lines = { { "fee", "L", "Abonnement Pro", "1000000", "mois",
		       "19900000", "0", "1990" } },
	  .vats = { { "0", "1990", "0" } } },
	{ .kind = "invoice",
	  .cust = "C-1005",
	  .name = "Müller GmbH",
	  .country = "DE",
	  .regime = "OSS",
	  .pstart = "2026-09-01",
	  .pend = "2026-09-30",
	  .net = "700",
	  .vat = "133",
	  .total = "833",
	  .credits = -1,
	  .number = "F2026-000003",
	  .series = "F",
	  .series_no = "3",
	  .issue = "2026-10-02",
	  .due = "2026-11-01",
	  .lines = { { "fee", "S", "Abonnement Essentiel", "1000000", "mois",
		       "4000000", "19000000", "400" },
		     { "storage", "S", "Stockage supplémentaire", "2000000",
		       "bloc", "1500000", "19000000", "300" } },
	  .vats = { { "19000000", "700", "133" } } },
	/* A draft of October: never exported. */
	{ .kind = "invoice",
	  .cust = "C-1003",
	  .name = "Brouillon SAS",
	  .country = "FR",
	  .regime = "FR",
	  .pstart = "2026-10-01",
	  .pend = "2026-10-31",
	  .net = "400",
	  .vat = "80",
	  .total = "480",
	  .credits = -1,
	  .lines = { { "fee", "S", "Abonnement Essentiel", "1000000", "mois",
		       "4000000", "20000000", "400" } },
	  .vats = { { "20000000", "400", "80" } } },
	/* The credit note of F2026-000001's fee. */
	{ .kind = "credit",
	  .cust = "C-1001",
	  .name = "Atelier Dupont, \"SARL\"",
	  .country = "FR",
	  .regime = "FR",
	  .pstart = "2026-09-01",
	  .pend = "2026-09-30",
	  .net = "-900",
	  .vat = "-180",
	  .total = "-1080",
	  .credits = 0,
	  .number = "A2026-000001",
	  .series = "A",
	  .series_no = "1",
	  .issue = "2026-10-20",
	  .due = "2026-10-20",
	  .lines = { { "fee", "M", "Avoir : abonnement Standard", "-1000000",
		       "mois", "9000000", "20000000", "-900" } },
	  .vats = { { "20000000", "-900", "-180" } } },
	/* Issued in November: out of the October period. */
	{ .kind = "invoice",
	  .cust = "C-1001",
	  .name = "Atelier Dupont, \"SARL\"",
	  .country = "FR",
	  .regime = "FR",
	  .pstart = "2026-10-01",
	  .pend = "2026-10-31",
	  .net = "900",
	  .vat = "180",
	  .total = "1080",
	  .credits = -1,
	  .number = "F2026-000004",
	  .series = "F",
	  .series_no = "4",
	  .issue = "2026-11-02",
	  .due = "2026-12-02",
	  .lines = { { "fee", "M", "Abonnement Standard", "1000000", "mois",
		       "9000000", "20000000", "900" } },
	  .vats = { { "20000000", "900", "180" } } },
};
#define NDOCS (sizeof(docs) / sizeof(docs[0]))

static char *doc_ids[NDOCS];

static char *insert_doc(const struct fx_doc *f, const char *credited)
{
	const char *p[12] = {
		f->kind,    f->cust,   f->name,
		f->country, f->pstart, f->pend,
		f->regime,  f->net,    f->vat,
		f->total,   credited,  credited ? "erreur de facturation" : NULL
	};
	char *id = testdb_value_p(
	    db,
	    "INSERT INTO invoices (kind, status, customer_id, customer_name,"
	    " customer_country, language, period_start, period_end,"
	    " currency, tariff_version, vat_regime, net_cents, vat_cents,"
	    " total_cents, seller, customer, mentions, usage, credited_id,"
	    " credit_reason) VALUES ($1, 'draft', $2, $3, $4, 'fr', $5, $6,"
	    " 'EUR', '2026-09', $7, $8, $9, $10, '{}', '{}', '[]', '{}',"
	    " $11, $12) RETURNING id",
	    12, p);

	assert_non_null(id);
	for (int i = 0; i < 4 && f->lines[i].kind; i++) {
		const struct fx_line *l = &f->lines[i];
		char no[16];
		const char *q[10];

		snprintf(no, sizeof(no), "%d", i + 1);
		q[0] = id;
		q[1] = no;
		q[2] = l->kind;
		q[3] = l->plan;
		q[4] = l->desc;
		q[5] = l->qty;
		q[6] = l->unit;
		q[7] = l->price;
		q[8] = l->rate;
		q[9] = l->net;
		testdb_exec_p(db,
			      "INSERT INTO invoice_lines (invoice_id, line_no,"
			      " kind, plan, description, quantity_micro, unit,"
			      " unit_price_micro, vat_rate_micro, net_cents)"
			      " VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9,"
			      " $10)",
			      10, q);
	}
	for (int i = 0; i < 3 && f->vats[i].rate; i++) {
		const char *q[4] = { id, f->vats[i].rate, f->vats[i].base,
				     f->vats[i].vat };

		testdb_exec_p(db,
			      "INSERT INTO invoice_vat (invoice_id,"
			      " vat_rate_micro, base_cents, vat_cents)"
			      " VALUES ($1, $2, $3, $4)",
			      4, q);
	}
	if (!f->number) {
		/* A draft may carry a date (the lead's batch sets none, but
		 * nothing forbids it): the status alone keeps it out. */
		const char *q[2] = { id, "2026-10-15" };

		testdb_exec_p(db,
			      "UPDATE invoices SET issue_date = $2"
			      " WHERE id = $1",
			      2, q);
	} else {
		const char *q[6] = { id,	   f->number, f->series,
				     f->series_no, f->issue,  f->due };

		testdb_exec_p(db,
			      "UPDATE invoices SET status = 'issued',"
			      " number = $2, series = $3, series_year ="
			      " extract(year FROM $5::date),"
			      " series_number = $4, issue_date = $5,"
			      " due_date = $6, issued_at = now()"
			      " WHERE id = $1",
			      6, q);
	}
	return id;
}

static int setup(void **state)
{
	(void)state;
	db = testdb_open("export");
	assert_int_equal(test_run(NULL, NULL, NULL, "seller", "set",
				  "examples/seller.json", NULL),
			 0);
	for (size_t i = 0; i < NDOCS; i++) {
		doc_ids[i] = insert_doc(&docs[i], docs[i].credits >= 0
						      ? doc_ids[docs[i].credits]
						      : NULL);
	}
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	for (size_t i = 0; i < NDOCS; i++) {
		free(doc_ids[i]);
	}
	PQfinish(db);
	return 0;
}

/* ------------------------------------------------------------------ */
/* Reading the outputs back */

#define MAXCOLS 24

struct table {
	char *(*rows)[MAXCOLS];
	size_t *ncols;
	size_t n, cap;
	char *cur[MAXCOLS];
	size_t ncur;
	int overflow;
};

static void tbl_field(void *s, size_t len, void *data)
{
	struct table *t = data;

	if (t->ncur >= MAXCOLS) {
		t->overflow = 1;
		return;
	}
	t->cur[t->ncur++] = xstrndup(s ? s : "", s ? len : 0);
}

static void tbl_row(int c, void *data)
{
	struct table *t = data;

	(void)c;
	if (t->n == t->cap) {
		t->cap = t->cap ? 2 * t->cap : 16;
		t->rows = xreallocarray(t->rows, t->cap, sizeof(*t->rows));
		t->ncols = xreallocarray(t->ncols, t->cap, sizeof(*t->ncols));
	}
	memcpy(t->rows[t->n], t->cur, sizeof(t->cur));
	t->ncols[t->n] = t->ncur;
	t->n++;
	memset(t->cur, 0, sizeof(t->cur));
	t->ncur = 0;
}

static void tbl_free(struct table *t)
{
	for (size_t r = 0; r < t->n; r++) {
		for (size_t c = 0; c < t->ncols[r]; c++) {
			free(t->rows[r][c]);
		}
	}
	free(t->rows);
	free(t->ncols);
	memset(t, 0, sizeof(*t));
}

static void csv_read(const char *text, struct table *t)
{
	struct csv_parser p;
	size_t len = strlen(text);

	memset(t, 0, sizeof(*t));
	assert_int_equal(
	    csv_init(&p, CSV_STRICT | CSV_STRICT_FINI | CSV_APPEND_NULL), 0);
	assert_int_equal(csv_parse(&p, text, len, tbl_field, tbl_row, t), len);
	assert_int_equal(csv_fini(&p, tbl_field, tbl_row, t), 0);
	csv_free(&p);
	assert_false(t->overflow);
}

/* FEC: LF-ended lines split on tabs, no quoting. */
static void fec_read(const char *text, struct table *t)
{
	const char *s = text;

	memset(t, 0, sizeof(*t));
	while (*s) {
		const char *eol = strchr(s, '\n');

		assert_non_null(eol); /* every line ends with LF */
		for (const char *f = s;;) {
			const char *tab = memchr(f, '\t', (size_t)(eol - f));
			const char *end = tab ? tab : eol;

			tbl_field((void *)(uintptr_t)f, (size_t)(end - f), t);
			if (!tab) {
				break;
			}
			f = tab + 1;
		}
		tbl_row(0, t);
		s = eol + 1;
	}
}

static int col_of(const struct table *t, const char *name)
{
	for (size_t c = 0; c < t->ncols[0]; c++) {
		if (!strcmp(t->rows[0][c], name)) {
			return (int)c;
		}
	}
	fail_msg("no column %s", name);
	return -1;
}

/* "-12.30" -> -1230 (2 decimals exactly). */
static int64_t cents_of(const char *s)
{
	int64_t micro;
	char why[128];
	const char *dot = strchr(s, '.');

	assert_non_null(dot);
	assert_int_equal(strlen(dot + 1), 2);
	assert_int_equal(
	    money_parse(s, MONEY_NEGATIVE_OK, 2, &micro, why, sizeof(why)), 0);
	return micro / 10000;
}

/* FEC amount "120,00" -> 12000 (never negative, comma, 2 decimals). */
static int64_t fec_cents(const char *s)
{
	char buf[32], *comma;
	int64_t micro;
	char why[128];

	assert_true(strlen(s) < sizeof(buf));
	assert_null(strchr(s, '.'));
	assert_null(strchr(s, '-'));
	strcpy(buf, s);
	comma = strchr(buf, ',');
	assert_non_null(comma);
	assert_int_equal(strlen(comma + 1), 2);
	*comma = '.';
	assert_int_equal(money_parse(buf, 0, 2, &micro, why, sizeof(why)), 0);
	return micro / 10000;
}

static int64_t db_i64(const char *sql)
{
	char *v = testdb_value(db, sql);
	int64_t n;

	assert_non_null(v);
	n = strtoll(v, NULL, 10);
	free(v);
	return n;
}

/* Run an export of October into a file and read it back. */
static char *run_export(const char *kind, const char *flag, const char *period,
			const char *name)
{
	char *path = xasprintf("%s/%s", test_tmpdir(), name), *out = NULL,
	     *err = NULL, *text;
	int rc = test_run(NULL, &out, &err, "export", kind, flag, period, "-o",
			  path, NULL);

	if (rc != 0) {
		fail_msg("export %s: exit %d: %s", kind, rc, err);
	}
	/* The path written, on stdout. */
	assert_int_equal(strlen(out), strlen(path) + 1);
	assert_memory_equal(out, path, strlen(path));
	text = test_read_file(path);
	assert_non_null(text);
	free(path);
	free(out);
	free(err);
	return text;
}

static void check_header(const struct table *t, const char *const *h, size_t n)
{
	assert_true(t->n >= 1);
	assert_int_equal(t->ncols[0], n);
	for (size_t c = 0; c < n; c++) {
		assert_string_equal(t->rows[0][c], h[c]);
	}
	for (size_t r = 1; r < t->n; r++) {
		assert_int_equal(t->ncols[r], n);
	}
}

/* ------------------------------------------------------------------ */
/* CSV exports */

static void test_journal(void **state)
{
	static const char *const h[] = {
		"number",	   "kind",	    "issue_date",
		"customer_id",	   "customer_name", "customer_country",
		"vat_regime",	   "net",	    "vat",
		"total",	   "due_date",	    "currency",
		"credited_number",
	};
	static const char *const order[] = { "F2026-000001", "F2026-000002",
					     "F2026-000003", "A2026-000001" };
	char *text = run_export("journal", "--period", "2026-10", "j.csv");
	struct table t;
	int64_t net = 0, vat = 0, total = 0;
	int cnum, cnet, cvat, ctot, ccred, cname, cdate;

	(void)state;
	csv_read(text, &t);
	check_header(&t, h, sizeof(h) / sizeof(h[0]));
	assert_int_equal(t.n - 1, 4);
	assert_int_equal(t.n - 1, db_i64("SELECT count(*) FROM invoices "
					 "WHERE" MONTH_WHERE));
	cnum = col_of(&t, "number");
	cnet = col_of(&t, "net");
	cvat = col_of(&t, "vat");
	ctot = col_of(&t, "total");
	ccred = col_of(&t, "credited_number");
	cname = col_of(&t, "customer_name");
	cdate = col_of(&t, "issue_date");
	for (size_t r = 1; r < t.n; r++) {
		char **row = t.rows[r];

		assert_string_equal(row[cnum], order[r - 1]);
		net += cents_of(row[cnet]);
		vat += cents_of(row[cvat]);
		total += cents_of(row[ctot]);
		assert_int_equal(strlen(row[cdate]), 10);
		assert_int_equal(row[cdate][4], '-');
		if (row[cnum][0] == 'A') {
			assert_string_equal(row[col_of(&t, "kind")], "credit");
			assert_string_equal(row[ccred], "F2026-000001");
			assert_string_equal(row[ctot], "-10.80");
		} else {
			assert_string_equal(row[ccred], "");
		}
	}
	/* Quoting round trip: a comma and quotes, a tab. */
	assert_string_equal(t.rows[1][cname], "Atelier Dupont, \"SARL\"");
	assert_string_equal(t.rows[2][cname], "De Kroon\tBVBA");
	assert_string_equal(t.rows[3][cname], "Müller GmbH");
	assert_int_equal(net, db_i64("SELECT sum(net_cents) FROM invoices "
				     "WHERE" MONTH_WHERE));
	assert_int_equal(vat, db_i64("SELECT sum(vat_cents) FROM invoices "
				     "WHERE" MONTH_WHERE));
	assert_int_equal(total, db_i64("SELECT sum(total_cents) FROM "
				       "invoices WHERE" MONTH_WHERE));
	assert_int_equal(total, 1302 + 1990 + 833 - 1080);
	tbl_free(&t);
	free(text);
}

static void test_lines(void **state)
{
	static const char *const h[] = {
		"number", "issue_date", "customer_id", "line_no",
		"kind",	  "plan",	"description", "quantity",
		"unit",	  "unit_price", "vat_rate",    "net",
	};
	char *text = run_export("lines", "--period", "2026-10", "l.csv");
	struct table t;
	int64_t net = 0;
	int found = 0;

	(void)state;
	csv_read(text, &t);
	check_header(&t, h, sizeof(h) / sizeof(h[0]));
	assert_int_equal(t.n - 1, 7);
	assert_int_equal(t.n - 1,
			 db_i64("SELECT count(*) FROM invoices i JOIN "
				"invoice_lines l ON l.invoice_id = i.id WHERE"
				" i.status = 'issued' AND i.issue_date BETWEEN "
				"'2026-10-01' AND '2026-10-31'"));
	for (size_t r = 1; r < t.n; r++) {
		char **row = t.rows[r];

		net += cents_of(row[col_of(&t, "net")]);
		if (!strcmp(row[col_of(&t, "kind")], "outbound")) {
			found++;
			assert_string_equal(row[col_of(&t, "quantity")], "700");
			assert_string_equal(row[col_of(&t, "unit_price")],
					    "0.0005");
			assert_string_equal(row[col_of(&t, "vat_rate")],
					    "20.00");
			assert_string_equal(row[col_of(&t, "line_no")], "3");
		}
		if (!strcmp(row[col_of(&t, "kind")], "storage") &&
		    !strcmp(row[col_of(&t, "customer_id")], "C-1001")) {
			/* A line break inside a quoted field. */
			assert_string_equal(row[col_of(&t, "description")],
					    "Stockage supplémentaire\n10 Gio");
		}
	}
	assert_int_equal(found, 1);
	/* The credit note's line, last, negative. */
	assert_string_equal(t.rows[t.n - 1][0], "A2026-000001");
	assert_string_equal(t.rows[t.n - 1][col_of(&t, "quantity")], "-1");
	assert_string_equal(t.rows[t.n - 1][col_of(&t, "net")], "-9.00");
	assert_int_equal(net, db_i64("SELECT sum(net_cents) FROM invoices "
				     "WHERE" MONTH_WHERE));
	tbl_free(&t);
	free(text);
}

static void test_vat(void **state)
{
	static const char *const h[] = { "country", "regime", "rate",
					 "base",    "vat",    "documents" };
	static const char *const want[][6] = {
		{ "BE", "REVERSE_CHARGE", "0.00", "19.90", "0.00", "1" },
		{ "DE", "OSS", "19.00", "7.00", "1.33", "1" },
		{ "FR", "FR", "20.00", "1.85", "0.37", "2" },
	};
	char *text = run_export("vat", "--period", "2026-10", "v.csv");
	struct table t;
	int64_t base = 0, vat = 0;

	(void)state;
	csv_read(text, &t);
	check_header(&t, h, sizeof(h) / sizeof(h[0]));
	assert_int_equal(t.n - 1, 3);
	for (size_t r = 1; r < t.n; r++) {
		for (size_t c = 0; c < 6; c++) {
			assert_string_equal(t.rows[r][c], want[r - 1][c]);
		}
		base += cents_of(t.rows[r][3]);
		vat += cents_of(t.rows[r][4]);
	}
	assert_int_equal(base, db_i64("SELECT sum(net_cents) FROM invoices "
				      "WHERE" MONTH_WHERE));
	assert_int_equal(vat, db_i64("SELECT sum(vat_cents) FROM invoices "
				     "WHERE" MONTH_WHERE));
	tbl_free(&t);
	free(text);
}

static void test_plans(void **state)
{
	static const char *const h[] = { "plan", "kind", "net", "lines" };
	static const char *const want[][4] = {
		{ "L", "fee", "19.90", "1" },
		{ "M", "fee", "0.00", "2" },
		{ "M", "storage", "1.50", "1" },
		{ "M", "outbound", "0.35", "1" },
		{ "S", "fee", "4.00", "1" },
		{ "S", "storage", "3.00", "1" },
	};
	char *text = run_export("plans", "--period", "2026-10", "p.csv");
	struct table t;
	int64_t net = 0, lines = 0;

	(void)state;
	csv_read(text, &t);
	check_header(&t, h, sizeof(h) / sizeof(h[0]));
	assert_int_equal(t.n - 1, 6);
	for (size_t r = 1; r < t.n; r++) {
		for (size_t c = 0; c < 4; c++) {
			assert_string_equal(t.rows[r][c], want[r - 1][c]);
		}
		net += cents_of(t.rows[r][2]);
		lines += strtoll(t.rows[r][3], NULL, 10);
	}
	assert_int_equal(net, db_i64("SELECT sum(net_cents) FROM invoices "
				     "WHERE" MONTH_WHERE));
	assert_int_equal(lines, 7);
	tbl_free(&t);
	free(text);
}

/* ------------------------------------------------------------------ */
/* FEC */

static const char *const fec_h[] = {
	"JournalCode",	 "JournalLib",	"EcritureNum", "EcritureDate",
	"CompteNum",	 "CompteLib",	"CompAuxNum",  "CompAuxLib",
	"PieceRef",	 "PieceDate",	"EcritureLib", "Debit",
	"Credit",	 "EcritureLet", "DateLet",     "ValidDate",
	"Montantdevise", "Idevise",
};

struct fec_totals {
	size_t entries;
	int64_t debit, credit;
};

/* The invariants of any FEC text; returns its table (caller frees). */
static void fec_check(const char *text, struct table *t, struct fec_totals *tot)
{
	size_t prev_num = 0;
	int64_t d = 0, c = 0;

	/* UTF-8 without BOM: the header starts the file. */
	assert_memory_equal(text, "JournalCode\t", 12);
	assert_null(strchr(text, '\r'));
	fec_read(text, t);
	check_header(t, fec_h, 18);
	memset(tot, 0, sizeof(*tot));
	for (size_t r = 1; r <= t->n; r++) {
		char **row = r < t->n ? t->rows[r] : NULL;
		size_t num = row ? strtoul(row[2], NULL, 10) : 0;

		/* An entry ends: it balances. */
		if (prev_num && num != prev_num) {
			assert_int_equal(d, c);
			d = c = 0;
		}
		if (!row) {
			break;
		}
		/* Continuous numbering from 1. */
		assert_true(num == prev_num || num == prev_num + 1);
		if (num != prev_num) {
			tot->entries++;
		}
		prev_num = num;
		assert_int_equal(num, tot->entries);
		for (int k = 3; k <= 15; k += 6) { /* dates 3, 9, 15 */
			assert_int_equal(strlen(row[k]), 8);
			assert_int_equal(strspn(row[k], "0123456789"), 8);
		}
		assert_string_equal(row[3], row[9]);
		assert_string_equal(row[3], row[15]);
		d += fec_cents(row[11]);
		c += fec_cents(row[12]);
		tot->debit += fec_cents(row[11]);
		tot->credit += fec_cents(row[12]);
		/* One side only. */
		assert_true(!strcmp(row[11], "0,00") ||
			    !strcmp(row[12], "0,00"));
		assert_string_equal(row[16], "");
		assert_string_equal(row[17], "");
	}
	assert_int_equal(tot->debit, tot->credit);
}

/* Find the row of entry num on account acct. */
static char **fec_find(const struct table *t, const char *num, const char *acct)
{
	for (size_t r = 1; r < t->n; r++) {
		if (!strcmp(t->rows[r][2], num) &&
		    !strcmp(t->rows[r][4], acct)) {
			return t->rows[r];
		}
	}
	return NULL;
}

static void test_fec_month_dir(void **state)
{
	char *dir = xasprintf("%s/fecdir", test_tmpdir()), *out = NULL,
	     *err = NULL, *path, *text;
	struct table t;
	struct fec_totals tot;
	char **row;

	(void)state;
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(test_run(NULL, &out, &err, "export", "fec", "--period",
				  "2026-10", "-o", dir, NULL),
			 0);
	path = xasprintf("%s/" SIREN "FEC20261031.txt\n", dir);
	assert_string_equal(out, path);
	path[strlen(path) - 1] = '\0';
	text = test_read_file(path);
	assert_non_null(text);
	fec_check(text, &t, &tot);
	assert_int_equal(tot.entries, 4);
	/* 5 + 2 (the 0 % VAT line left out) + 4 + 3 lines. */
	assert_int_equal(t.n - 1, 14);
	/* Customer debits: the invoices' totals; credits: the credit note. */
	assert_int_equal(tot.debit, 1302 + 1990 + 833 + 900 + 180);

	/* Entry 1: F2026-000001, FR 20 %. */
	row = fec_find(&t, "1", "411000");
	assert_non_null(row);
	assert_string_equal(row[0], "VE");
	assert_string_equal(row[1], "Ventes");
	assert_string_equal(row[3], "20261001");
	assert_string_equal(row[6], "C-1001");
	assert_string_equal(row[7], "Atelier Dupont, \"SARL\"");
	assert_string_equal(row[8], "F2026-000001");
	assert_string_equal(row[10], "Facture F2026-000001 C-1001");
	assert_string_equal(row[11], "13,02");
	assert_string_equal(row[12], "0,00");
	assert_string_equal(fec_find(&t, "1", "706100")[12], "9,00");
	assert_string_equal(fec_find(&t, "1", "706200")[12], "1,50");
	assert_string_equal(fec_find(&t, "1", "706300")[12], "0,35");
	assert_string_equal(fec_find(&t, "1", "445710")[12], "2,17");
	assert_string_equal(fec_find(&t, "1", "706100")[6], "");

	/* Entry 2: reverse charge, the tab in the name became a space. */
	row = fec_find(&t, "2", "411000");
	assert_string_equal(row[7], "De Kroon BVBA");
	assert_null(fec_find(&t, "2", "445710"));
	assert_string_equal(fec_find(&t, "2", "706100")[12], "19,90");

	/* Entry 3: OSS 19 %. */
	assert_string_equal(fec_find(&t, "3", "445710")[12], "1,33");
	assert_string_equal(fec_find(&t, "3", "706200")[12], "3,00");

	/* Entry 4: the credit note, reversed with positive amounts. */
	row = fec_find(&t, "4", "411000");
	assert_string_equal(row[10], "Avoir A2026-000001 C-1001");
	assert_string_equal(row[3], "20261020");
	assert_string_equal(row[11], "0,00");
	assert_string_equal(row[12], "10,80");
	assert_string_equal(fec_find(&t, "4", "706100")[11], "9,00");
	assert_string_equal(fec_find(&t, "4", "445710")[11], "1,80");

	tbl_free(&t);
	free(text);
	free(path);
	free(dir);
	free(out);
	free(err);
}

static void test_fec_year_file(void **state)
{
	char *text = run_export("fec", "--year", "2026", "year.txt");
	char *dir = xasprintf("%s/fecyear", test_tmpdir()), *out = NULL, *want;
	struct table t;
	struct fec_totals tot;

	(void)state;
	fec_check(text, &t, &tot);
	assert_int_equal(tot.entries, 5); /* + F2026-000004 in November */
	assert_string_equal(t.rows[t.n - 1][8], "F2026-000004");
	tbl_free(&t);
	free(text);

	/* The year's file name ends on 31 December. */
	assert_int_equal(mkdir(dir, 0755), 0);
	assert_int_equal(test_run(NULL, &out, NULL, "export", "fec", "--year",
				  "2026", "--output", dir, NULL),
			 0);
	want = xasprintf("%s/" SIREN "FEC20261231.txt\n", dir);
	assert_string_equal(out, want);
	free(want);
	free(out);
	free(dir);
}

/* stdout without -o, and a period without documents. */
static void test_empty_period(void **state)
{
	char *out = NULL, *err = NULL, *want;

	(void)state;
	assert_int_equal(test_run(NULL, &out, &err, "export", "journal",
				  "--period", "2025-01", NULL),
			 0);
	assert_string_equal(out, "number,kind,issue_date,customer_id,"
				 "customer_name,customer_country,vat_regime,"
				 "net,vat,total,due_date,currency,"
				 "credited_number\n");
	assert_non_null(strstr(err, "no issued document in 2025-01"));
	free(out);
	free(err);
	/* -o DIR: the CSV's default name. */
	assert_int_equal(test_run(NULL, &out, NULL, "export", "plans", "--year",
				  "2025", "-o", test_tmpdir(), NULL),
			 0);
	want = xasprintf("%s/plans-2025.csv\n", test_tmpdir());
	assert_string_equal(out, want);
	free(want);
	free(out);
	assert_int_equal(test_run(NULL, &out, &err, "export", "fec", "--period",
				  "2025-01", NULL),
			 0);
	assert_int_equal(strchr(out, '\n') - out + 1, (long)strlen(out));
	assert_memory_equal(out, "JournalCode\tJournalLib\tEcritureNum\t", 35);
	free(out);
	free(err);
}

static void test_usage_errors(void **state)
{
	static const struct {
		const char *args[8];
		const char *msg;
	} cases[] = {
		{ { "export", "journal", "--period", "2026-13" }, "2026-13" },
		{ { "export", "fec", "--period", "2026-1" }, "2026-1" },
		{ { "export", "vat", "--period", "2026-10-01" }, "2026-10-01" },
		{ { "export", "lines", "--year", "26" }, "'26'" },
		{ { "export", "plans", "--period", "2026-10", "--year",
		    "2026" },
		  "--period and --year" },
		{ { "export", "journal" }, "--period YYYY-MM or --year" },
		{ { "export", "journal", "--period", "2026-10", "extra" },
		  "extra" },
		{ { "export", "ledger", "--period", "2026-10" }, "ledger" },
		{ { "export", "journal", "--bogus" }, "bad option" },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *err = NULL;
		int rc = test_runv(NULL, NULL, &err, cases[i].args);

		if (rc != 2 || !strstr(err, cases[i].msg)) {
			fail_msg("case %zu: exit %d, stderr: %s", i, rc, err);
		}
		free(err);
	}
	{
		char *out = NULL;

		assert_int_equal(
		    test_run(NULL, &out, NULL, "export", "fec", "--help", NULL),
		    0);
		assert_non_null(strstr(out, "--period"));
		free(out);
		assert_int_equal(
		    test_run(NULL, &out, NULL, "export", "--help", NULL), 0);
		assert_non_null(strstr(out, "journal"));
		free(out);
	}
}

/* The "accounting" settings of the seller document drive the FEC. */
static void test_fec_accounts(void **state)
{
	char *seller = test_read_file("examples/seller.json"), *doc, *last,
	     *path, *text;
	struct table t;
	struct fec_totals tot;

	(void)state;
	assert_non_null(seller);
	last = strrchr(seller, '}');
	assert_non_null(last);
	*last = '\0';
	doc = xasprintf("%s, \"accounting\": {\"journal_code\": \"VT\","
			" \"journal_label\": \"Journal des ventes\","
			" \"customer_account\": \"4110CLI\","
			" \"revenue_accounts\": {\"fee\": \"706000\","
			" \"storage\": \"706010\", \"outbound\": \"706020\"},"
			" \"vat_account\": \"44571200\"}}\n",
			seller);
	path = test_write_file("seller-acc.json", doc);
	assert_int_equal(
	    test_run(NULL, NULL, NULL, "seller", "set", path, NULL), 0);
	text = run_export("fec", "--period", "2026-10", "acc.txt");
	fec_check(text, &t, &tot);
	assert_string_equal(t.rows[1][0], "VT");
	assert_string_equal(t.rows[1][1], "Journal des ventes");
	assert_non_null(fec_find(&t, "1", "4110CLI"));
	assert_string_equal(fec_find(&t, "1", "706000")[12], "9,00");
	assert_string_equal(fec_find(&t, "1", "706010")[12], "1,50");
	assert_string_equal(fec_find(&t, "1", "706020")[12], "0,35");
	assert_string_equal(fec_find(&t, "1", "44571200")[12], "2,17");
	assert_null(fec_find(&t, "1", "411000"));
	tbl_free(&t);
	free(text);
	free(doc);
	free(seller);
	assert_int_equal(test_run(NULL, NULL, NULL, "seller", "set",
				  "examples/seller.json", NULL),
			 0);
}

/* An entry that cannot balance: exit 1 naming the document, and no file
 * (nor a temporary one) is left behind. */
static void test_fec_unbalanced(void **state)
{
	static const struct fx_doc bad = {
		.kind = "invoice",
		.cust = "C-1002",
		.name = "Jardins",
		.country = "FR",
		.regime = "FR",
		.pstart = "2026-11-01",
		.pend = "2026-11-30",
		.net = "400",
		.vat = "80",
		.total = "480",
		.credits = -1,
		.number = "F2026-000005",
		.series = "F",
		.series_no = "5",
		.issue = "2026-12-01",
		.due = "2026-12-31",
		.lines = { { "fee", "S", "Abonnement", "1000000", "mois",
			     "4000000", "20000000", "400" } },
		.vats = { { "20000000", "400", "79" } }, /* not 80 */
	};
	char *id = insert_doc(&bad, NULL), *err = NULL, *out = NULL;
	char *dir = xasprintf("%s/badfec", test_tmpdir()), *path;
	struct stat st;

	(void)state;
	assert_int_equal(mkdir(dir, 0755), 0);
	path = xasprintf("%s/" SIREN "FEC20261231.txt", dir);
	assert_int_equal(test_run(NULL, &out, &err, "export", "fec", "--period",
				  "2026-12", "-o", dir, NULL),
			 1);
	assert_non_null(strstr(err, "F2026-000005"));
	assert_non_null(strstr(err, "does not balance"));
	assert_int_not_equal(stat(path, &st), 0);
	/* The folder is empty: no temporary file either. */
	assert_int_equal(rmdir(dir), 0);
	/* The CSV journal still exports it, as recorded. */
	free(out);
	free(err);
	assert_int_equal(test_run(NULL, &out, NULL, "export", "journal",
				  "--period", "2026-12", NULL),
			 0);
	assert_non_null(strstr(out, "F2026-000005"));
	free(out);
	free(path);
	free(dir);
	free(id);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_journal),
		cmocka_unit_test(test_lines),
		cmocka_unit_test(test_vat),
		cmocka_unit_test(test_plans),
		cmocka_unit_test(test_fec_month_dir),
		cmocka_unit_test(test_fec_year_file),
		cmocka_unit_test(test_empty_period),
		cmocka_unit_test(test_usage_errors),
		cmocka_unit_test(test_fec_accounts),
		cmocka_unit_test(test_fec_unbalanced),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
