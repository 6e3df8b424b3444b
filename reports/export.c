/*
 * export — finance exports of the issued documents of a period (see
 * export.h for the contract and the README for the formats).
 *
 * The database gives the rows in the final order; this file only formats
 * them: amounts are bigint cents turned into text by money.h (the same
 * figures as the PDF and JSON), quantities, prices and rates micro-units.
 * Dates come from to_char(), never from date::text, whose form follows
 * the session's DateStyle.
 *
 * The FEC is built one document at a time from a query that yields, per
 * document, its customer line (the total), one revenue line per line kind
 * (the sum of that kind's nets) and one VAT line per rate.  Each amount
 * goes to the side its sign says (customer: debit when positive; revenue
 * and VAT: credit when positive), so a credit note, whose amounts are
 * negative, comes out reversed with positive figures.  A document whose
 * lines and VAT do not add up to its total would make an unbalanced
 * entry: it is reported (every such document) and the export fails, as
 * for a document not in EUR (the FEC's amounts are in euros and no
 * exchange rate is known here).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <csv.h>

#include "common/date.h"
#include "common/db.h"
#include "common/xalloc.h"
#include "billing/money.h"
#include "export.h"

#define FETCH_ROWS "1000"

static const char *const kind_names[] = {
	[EXPORT_JOURNAL] = "journal", [EXPORT_LINES] = "lines",
	[EXPORT_VAT] = "vat",	      [EXPORT_PLANS] = "plans",
	[EXPORT_FEC] = "fec",
};
#define NKINDS (sizeof(kind_names) / sizeof(kind_names[0]))

int export_kind_parse(const char *name, enum export_kind *k)
{
	for (size_t i = 0; name && i < NKINDS; i++) {
		if (!strcmp(name, kind_names[i])) {
			*k = (enum export_kind)i;
			return 0;
		}
	}
	return -1;
}

const char *export_kind_name(enum export_kind k)
{
	return (size_t)k < NKINDS ? kind_names[k] : "?";
}

int export_period_month(const char *s, struct export_period *p)
{
	int y, m;

	memset(p, 0, sizeof(*p));
	if (!s || period_parse(s, &y, &m) != 0) {
		return -1;
	}
	snprintf(p->label, sizeof(p->label), "%04d-%02d", y, m);
	snprintf(p->from, sizeof(p->from), "%04d-%02d-01", y, m);
	snprintf(p->to, sizeof(p->to), "%04d-%02d-%02d", y, m,
		 date_days_in_month(y, m));
	snprintf(p->end, sizeof(p->end), "%04d%02d%02d", y, m,
		 date_days_in_month(y, m));
	return 0;
}

int export_period_year(const char *s, struct export_period *p)
{
	int y;

	memset(p, 0, sizeof(*p));
	if (!s || strlen(s) != 4 || strspn(s, "0123456789") != 4) {
		return -1;
	}
	y = atoi(s);
	if (y < 1900 || y > 9999) {
		return -1;
	}
	snprintf(p->label, sizeof(p->label), "%04d", y);
	snprintf(p->from, sizeof(p->from), "%04d-01-01", y);
	snprintf(p->to, sizeof(p->to), "%04d-12-31", y);
	snprintf(p->end, sizeof(p->end), "%04d1231", y);
	return 0;
}

char *export_file_name(char *buf, enum export_kind k,
		       const struct export_period *p, const char *siren)
{
	if (k == EXPORT_FEC) {
		snprintf(buf, EXPORT_NAME_MAX, "%.9sFEC%s.txt",
			 siren ? siren : "", p->end);
	} else {
		snprintf(buf, EXPORT_NAME_MAX, "%s-%s.csv", export_kind_name(k),
			 p->label);
	}
	return buf;
}

/* ------------------------------------------------------------------ */
/* Streaming the rows of one query through a cursor. */

typedef int row_fn(void *ctx, const PGresult *r, int row, struct diag *d);

/*
 * Run sql ($1 = from, $2 = to) in a read-only snapshot, calling fn on
 * each row; also count the period's documents in the same snapshot.
 * fn returns -1 to stop (a write error); data problems it only reports.
 */
static int stream(PGconn *c, const struct export_period *p, const char *sql,
		  row_fn *fn, void *ctx, struct export_stats *st,
		  struct diag *d)
{
	const char *params[2] = { p->from, p->to };
	char *declare = NULL;
	PGresult *r;
	int rc = -1;

	memset(st, 0, sizeof(*st));
	if (db_cmd(c, d, "BEGIN ISOLATION LEVEL REPEATABLE READ, READ ONLY", 0,
		   NULL) != 0) {
		return -1;
	}
	r = db_exec(c, d,
		    "SELECT count(*) AS n FROM invoices WHERE status = "
		    "'issued' AND issue_date BETWEEN $1::date AND $2::date",
		    2, params);
	if (!r) {
		goto out;
	}
	st->documents = (size_t)strtoull(db_get(r, 0, "n"), NULL, 10);
	PQclear(r);
	declare =
	    xasprintf("DECLARE releve_export NO SCROLL CURSOR FOR %s", sql);
	if (db_cmd(c, d, declare, 2, params) != 0) {
		goto out;
	}
	for (;;) {
		int n;

		r = db_exec(c, d,
			    "FETCH FORWARD " FETCH_ROWS " FROM releve_export",
			    0, NULL);
		if (!r) {
			goto out;
		}
		n = PQntuples(r);
		for (int i = 0; i < n; i++) {
			if (fn(ctx, r, i, d) != 0) {
				PQclear(r);
				goto out;
			}
		}
		PQclear(r);
		if (n == 0) {
			break;
		}
	}
	if (db_cmd(c, d, "CLOSE releve_export", 0, NULL) == 0 &&
	    db_commit(c, d) == 0) {
		rc = 0;
	}
out:
	if (rc != 0) {
		db_rollback(c);
	}
	free(declare);
	return rc;
}

/* A bigint (or numeric sum) column that must fit int64. */
static int get_i64(const PGresult *r, int row, const char *col, int64_t *v,
		   struct diag *d)
{
	const char *s = db_get(r, row, col);
	char *end;

	*v = 0;
	if (!s) {
		diag_add(d, "export: %s is NULL", col);
		return -1;
	}
	errno = 0;
	*v = strtoll(s, &end, 10);
	if (errno || end == s || *end) {
		*v = 0;
		diag_add(d, "export: %s: \"%s\" is not a 64-bit integer", col,
			 s);
		return -1;
	}
	return 0;
}

static int out_ok(FILE *out, struct diag *d)
{
	if (ferror(out)) {
		diag_add(d, "export: write error: %s", strerror(errno));
		return -1;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* CSV */

/* One row; a field is quoted (by libcsv, RFC 4180) only when it holds a
 * comma, a quote, a line break or a tab, or has edge spaces (which
 * readers such as libcsv's trim when unquoted).  NULL is an empty
 * field. */
static int csv_row(FILE *out, const char *const *cells, size_t n,
		   struct diag *d)
{
	for (size_t i = 0; i < n; i++) {
		const char *s = cells[i] ? cells[i] : "";
		size_t len = strlen(s);

		if (i) {
			fputc(',', out);
		}
		if (strpbrk(s, ",\"\r\n\t") ||
		    (len && (s[0] == ' ' || s[len - 1] == ' '))) {
			if (csv_fwrite(out, s, len) != 0) {
				diag_add(d, "export: write error");
				return -1;
			}
		} else {
			fwrite(s, 1, len, out);
		}
	}
	fputc('\n', out);
	return out_ok(out, d);
}

#define NCELLS(a) (sizeof(a) / sizeof((a)[0]))

/* Cents column -> "12.30". */
static int cents_cell(char *buf, const PGresult *r, int row, const char *col,
		      struct diag *d)
{
	int64_t v;

	if (get_i64(r, row, col, &v, d) != 0) {
		return -1;
	}
	money_format_cents(buf, v);
	return 0;
}

/* Micro-units column -> decimal with at least min places. */
static int micro_cell(char *buf, const PGresult *r, int row, const char *col,
		      int min, struct diag *d)
{
	int64_t v;

	if (get_i64(r, row, col, &v, d) != 0) {
		return -1;
	}
	money_format(buf, v, min);
	return 0;
}

struct csv_ctx {
	FILE *out;
	size_t *rows;
};

static const char journal_sql[] =
    "SELECT i.number, i.kind,"
    " to_char(i.issue_date, 'YYYY-MM-DD') AS issue_date,"
    " i.customer_id, i.customer_name, i.customer_country, i.vat_regime,"
    " i.net_cents, i.vat_cents, i.total_cents,"
    " to_char(i.due_date, 'YYYY-MM-DD') AS due_date, i.currency,"
    " o.number AS credited_number"
    " FROM invoices i LEFT JOIN invoices o ON o.id = i.credited_id"
    " WHERE i.status = 'issued'"
    " AND i.issue_date BETWEEN $1::date AND $2::date"
    " ORDER BY i.issue_date, i.series, i.series_number, i.number";

static const char *const journal_header[] = {
	"number",	   "kind",	    "issue_date",
	"customer_id",	   "customer_name", "customer_country",
	"vat_regime",	   "net",	    "vat",
	"total",	   "due_date",	    "currency",
	"credited_number",
};

static int journal_row(void *vctx, const PGresult *r, int i, struct diag *d)
{
	struct csv_ctx *x = vctx;
	char net[MONEY_FMT_MAX], vat[MONEY_FMT_MAX], tot[MONEY_FMT_MAX];
	const char *cells[NCELLS(journal_header)];

	if (cents_cell(net, r, i, "net_cents", d) ||
	    cents_cell(vat, r, i, "vat_cents", d) ||
	    cents_cell(tot, r, i, "total_cents", d)) {
		return -1;
	}
	cells[0] = db_get(r, i, "number");
	cells[1] = db_get(r, i, "kind");
	cells[2] = db_get(r, i, "issue_date");
	cells[3] = db_get(r, i, "customer_id");
	cells[4] = db_get(r, i, "customer_name");
	cells[5] = db_get(r, i, "customer_country");
	cells[6] = db_get(r, i, "vat_regime");
	cells[7] = net;
	cells[8] = vat;
	cells[9] = tot;
	cells[10] = db_get(r, i, "due_date");
	cells[11] = db_get(r, i, "currency");
	cells[12] = db_get(r, i, "credited_number");
	(*x->rows)++;
	return csv_row(x->out, cells, NCELLS(cells), d);
}

static const char lines_sql[] =
    "SELECT i.number, to_char(i.issue_date, 'YYYY-MM-DD') AS issue_date,"
    " i.customer_id, l.line_no, l.kind, l.plan, l.description,"
    " l.quantity_micro, l.unit, l.unit_price_micro, l.vat_rate_micro,"
    " l.net_cents"
    " FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id"
    " WHERE i.status = 'issued'"
    " AND i.issue_date BETWEEN $1::date AND $2::date"
    " ORDER BY i.issue_date, i.series, i.series_number, i.number,"
    " l.line_no";

static const char *const lines_header[] = {
	"number", "issue_date", "customer_id", "line_no",
	"kind",	  "plan",	"description", "quantity",
	"unit",	  "unit_price", "vat_rate",    "net",
};

static int lines_row(void *vctx, const PGresult *r, int i, struct diag *d)
{
	struct csv_ctx *x = vctx;
	char qty[MONEY_FMT_MAX], price[MONEY_FMT_MAX], rate[MONEY_FMT_MAX],
	    net[MONEY_FMT_MAX];
	const char *cells[NCELLS(lines_header)];

	if (micro_cell(qty, r, i, "quantity_micro", 0, d) ||
	    micro_cell(price, r, i, "unit_price_micro", 2, d) ||
	    micro_cell(rate, r, i, "vat_rate_micro", 2, d) ||
	    cents_cell(net, r, i, "net_cents", d)) {
		return -1;
	}
	cells[0] = db_get(r, i, "number");
	cells[1] = db_get(r, i, "issue_date");
	cells[2] = db_get(r, i, "customer_id");
	cells[3] = db_get(r, i, "line_no");
	cells[4] = db_get(r, i, "kind");
	cells[5] = db_get(r, i, "plan");
	cells[6] = db_get(r, i, "description");
	cells[7] = qty;
	cells[8] = db_get(r, i, "unit");
	cells[9] = price;
	cells[10] = rate;
	cells[11] = net;
	(*x->rows)++;
	return csv_row(x->out, cells, NCELLS(cells), d);
}

/* invoice_vat holds the VAT as invoiced (rounded once per rate and
 * document): the return declares those figures, not a recomputation. */
static const char vat_sql[] =
    "SELECT i.customer_country AS country, i.vat_regime AS regime,"
    " v.vat_rate_micro AS rate, sum(v.base_cents) AS base,"
    " sum(v.vat_cents) AS vat, count(DISTINCT i.id) AS documents"
    " FROM invoices i JOIN invoice_vat v ON v.invoice_id = i.id"
    " WHERE i.status = 'issued'"
    " AND i.issue_date BETWEEN $1::date AND $2::date"
    " GROUP BY 1, 2, 3 ORDER BY 1, 2, 3";

static const char *const vat_header[] = {
	"country", "regime", "rate", "base", "vat", "documents",
};

static int vat_row(void *vctx, const PGresult *r, int i, struct diag *d)
{
	struct csv_ctx *x = vctx;
	char rate[MONEY_FMT_MAX], base[MONEY_FMT_MAX], vat[MONEY_FMT_MAX];
	const char *cells[NCELLS(vat_header)];

	if (micro_cell(rate, r, i, "rate", 2, d) ||
	    cents_cell(base, r, i, "base", d) ||
	    cents_cell(vat, r, i, "vat", d)) {
		return -1;
	}
	cells[0] = db_get(r, i, "country");
	cells[1] = db_get(r, i, "regime");
	cells[2] = rate;
	cells[3] = base;
	cells[4] = vat;
	cells[5] = db_get(r, i, "documents");
	(*x->rows)++;
	return csv_row(x->out, cells, NCELLS(cells), d);
}

#define KIND_ORDER(col)                                                        \
	"CASE " col " WHEN 'fee' THEN 0 WHEN 'storage' THEN 1"                 \
	" WHEN 'outbound' THEN 2 ELSE 3 END"

static const char plans_sql[] =
    "SELECT l.plan, l.kind, sum(l.net_cents) AS net, count(*) AS lines"
    " FROM invoices i JOIN invoice_lines l ON l.invoice_id = i.id"
    " WHERE i.status = 'issued'"
    " AND i.issue_date BETWEEN $1::date AND $2::date"
    " GROUP BY l.plan, l.kind"
    " ORDER BY l.plan NULLS LAST, " KIND_ORDER("l.kind");

static const char *const plans_header[] = { "plan", "kind", "net", "lines" };

static int plans_row(void *vctx, const PGresult *r, int i, struct diag *d)
{
	struct csv_ctx *x = vctx;
	char net[MONEY_FMT_MAX];
	const char *cells[NCELLS(plans_header)];

	if (cents_cell(net, r, i, "net", d)) {
		return -1;
	}
	cells[0] = db_get(r, i, "plan");
	cells[1] = db_get(r, i, "kind");
	cells[2] = net;
	cells[3] = db_get(r, i, "lines");
	(*x->rows)++;
	return csv_row(x->out, cells, NCELLS(cells), d);
}

static int csv_export(PGconn *c, const struct export_period *p, FILE *out,
		      const char *const *header, size_t ncols, const char *sql,
		      row_fn *fn, struct export_stats *st, struct diag *d)
{
	struct csv_ctx x = { out, &st->rows };
	size_t before = d->n;

	if (csv_row(out, header, ncols, d) != 0) {
		return -1;
	}
	if (stream(c, p, sql, fn, &x, st, d) != 0) {
		return -1;
	}
	if (fflush(out) != 0 || out_ok(out, d) != 0) {
		return -1;
	}
	return d->n > before ? -1 : 0;
}

int export_journal(PGconn *c, const struct export_period *p, FILE *out,
		   struct export_stats *st, struct diag *d)
{
	return csv_export(c, p, out, journal_header, NCELLS(journal_header),
			  journal_sql, journal_row, st, d);
}

int export_lines(PGconn *c, const struct export_period *p, FILE *out,
		 struct export_stats *st, struct diag *d)
{
	return csv_export(c, p, out, lines_header, NCELLS(lines_header),
			  lines_sql, lines_row, st, d);
}

int export_vat(PGconn *c, const struct export_period *p, FILE *out,
	       struct export_stats *st, struct diag *d)
{
	return csv_export(c, p, out, vat_header, NCELLS(vat_header), vat_sql,
			  vat_row, st, d);
}

int export_plans(PGconn *c, const struct export_period *p, FILE *out,
		 struct export_stats *st, struct diag *d)
{
	return csv_export(c, p, out, plans_header, NCELLS(plans_header),
			  plans_sql, plans_row, st, d);
}

/* ------------------------------------------------------------------ */
/* FEC */

static const char *const fec_header[] = {
	"JournalCode",	 "JournalLib",	"EcritureNum", "EcritureDate",
	"CompteNum",	 "CompteLib",	"CompAuxNum",  "CompAuxLib",
	"PieceRef",	 "PieceDate",	"EcritureLib", "Debit",
	"Credit",	 "EcritureLet", "DateLet",     "ValidDate",
	"Montantdevise", "Idevise",
};
#define FEC_COLS NCELLS(fec_header)

/* Part of an entry line, as the query numbers them. */
enum { PART_CUSTOMER, PART_REVENUE, PART_VAT };

/* Account labels: one per account (a validator expects CompteLib to be
 * the same on every line of a CompteNum), from the French chart. */
#define LIB_CUSTOMER "Clients"
#define LIB_REVENUE "Prestations de services"
#define LIB_VAT "TVA collectée"

static const char fec_sql[] =
    "SELECT i.id, i.kind, i.number,"
    " to_char(i.issue_date, 'YYYYMMDD') AS issue_date,"
    " i.customer_id, i.customer_name, i.currency,"
    " e.part, e.key, e.cents"
    " FROM invoices i CROSS JOIN LATERAL ("
    "  SELECT 0 AS part, 0::bigint AS ord, ''::text AS key,"
    "   i.total_cents AS cents"
    "  UNION ALL"
    "  SELECT 1, " KIND_ORDER(
	"l.kind") ", l.kind, sum(l.net_cents)"
		  "::bigint"
		  "   FROM invoice_lines l WHERE l.invoice_id = i.id GROUP BY "
		  "l.kind"
		  "  UNION ALL"
		  "  SELECT 2, v.vat_rate_micro, v.vat_rate_micro::text, "
		  "v.vat_cents"
		  "   FROM invoice_vat v WHERE v.invoice_id = i.id AND "
		  "v.vat_cents <> 0"
		  " ) e"
		  " WHERE i.status = 'issued'"
		  " AND i.issue_date BETWEEN $1::date AND $2::date"
		  " ORDER BY i.issue_date, i.series, i.series_number, i.number,"
		  " e.part, e.ord";

struct fec_ctx {
	FILE *out;
	const struct seller *s;
	struct export_stats *st;
	char doc_id[24];	/* the document being written */
	char number[40];	/* its number, for messages */
	int skip;		/* it was refused: write nothing more of it */
	int64_t total;		/* its customer amount */
	int64_t parts;		/* sum of its revenue and VAT amounts */
	unsigned long long num; /* EcritureNum */
	int bad;		/* some document was refused */
};

/* A field: tabs and line breaks become spaces (the FEC has no quoting). */
static void fec_field(FILE *out, const char *s)
{
	for (; s && *s; s++) {
		fputc(*s == '\t' || *s == '\r' || *s == '\n' ? ' ' : *s, out);
	}
}

/* |cents| as "120,00". */
static char *fec_amount(char *buf, int64_t cents)
{
	char *dot;

	money_format_cents(buf, cents < 0 ? -cents : cents);
	dot = strchr(buf, '.');
	if (dot) {
		*dot = ',';
	}
	return buf;
}

/* End of the current document: does its entry balance? */
static void fec_close_doc(struct fec_ctx *x, struct diag *d)
{
	char a[MONEY_FMT_MAX], b[MONEY_FMT_MAX];

	if (x->doc_id[0] && !x->skip && x->total != x->parts) {
		diag_add(d,
			 "export fec: %s: the entry does not balance: total "
			 "%s, lines and VAT %s (its lines or VAT rows do "
			 "not add up to its total)",
			 x->number, money_format_cents(a, x->total),
			 money_format_cents(b, x->parts));
		x->bad = 1;
	}
	x->doc_id[0] = '\0';
}

static int fec_row(void *vctx, const PGresult *r, int i, struct diag *d)
{
	struct fec_ctx *x = vctx;
	const struct seller *s = x->s;
	const char *id = db_get(r, i, "id"), *kind = db_get(r, i, "kind");
	const char *date = db_get(r, i, "issue_date");
	const char *key = db_get(r, i, "key");
	const char *f[FEC_COLS];
	char num[24], debit[MONEY_FMT_MAX], credit[MONEY_FMT_MAX], *lib;
	int64_t part, cents;
	int debit_side;

	if (get_i64(r, i, "part", &part, d) ||
	    get_i64(r, i, "cents", &cents, d)) {
		return -1;
	}
	if (cents == INT64_MIN) {
		diag_add(d, "export fec: %s: amount out of range",
			 db_get(r, i, "number"));
		return -1;
	}
	if (strcmp(id, x->doc_id) != 0) {
		fec_close_doc(x, d);
		snprintf(x->doc_id, sizeof(x->doc_id), "%s", id);
		snprintf(x->number, sizeof(x->number), "%s",
			 db_get(r, i, "number"));
		x->total = 0;
		x->parts = 0;
		x->skip = 0;
		if (strcmp(db_get(r, i, "currency"), "EUR") != 0) {
			diag_add(d,
				 "export fec: %s: the document is in %s: "
				 "the FEC needs amounts in EUR",
				 x->number, db_get(r, i, "currency"));
			x->skip = 1;
			x->bad = 1;
		} else {
			x->num++;
		}
	}
	if (x->skip) {
		return 0;
	}
	if (part == PART_CUSTOMER) {
		x->total = cents;
	} else if (money_add(x->parts, cents, &x->parts) != 0) {
		diag_add(d, "export fec: %s: amounts out of range", x->number);
		x->skip = 1;
		x->bad = 1;
		return 0;
	}
	/* Revenue and VAT lines of nothing carry nothing: left out (the
	 * customer line stays, so that every document has its entry). */
	if (part != PART_CUSTOMER && cents == 0) {
		return 0;
	}
	/* Customer: debit when the amount is positive (an invoice); revenue
	 * and VAT: credit.  Negative amounts (credit notes) swap sides. */
	debit_side = part == PART_CUSTOMER ? cents >= 0 : cents < 0;
	fec_amount(debit_side ? debit : credit, cents);
	fec_amount(debit_side ? credit : debit, 0);
	snprintf(num, sizeof(num), "%llu", x->num);
	lib =
	    xasprintf("%s %s %s", strcmp(kind, "credit") ? "Facture" : "Avoir",
		      x->number, db_get(r, i, "customer_id"));
	f[0] = s->journal_code;
	f[1] = s->journal_label;
	f[2] = num;
	f[3] = date;
	switch (part) {
	case PART_CUSTOMER:
		f[4] = s->account_customer;
		f[5] = LIB_CUSTOMER;
		f[6] = db_get(r, i, "customer_id");
		f[7] = db_get(r, i, "customer_name");
		break;
	case PART_REVENUE: {
		int k; /* the index of account_revenue[] */

		if (!strcmp(key, "fee")) {
			k = 0;
		} else if (!strcmp(key, "storage")) {
			k = 1;
		} else if (!strcmp(key, "outbound")) {
			k = 2;
		} else {
			/* The schema's CHECK allows no other kind. */
			abort();
		}
		f[4] = s->account_revenue[k];
		f[5] = LIB_REVENUE;
		f[6] = f[7] = "";
		break;
	}
	case PART_VAT:
		f[4] = s->account_vat;
		f[5] = LIB_VAT;
		f[6] = f[7] = "";
		break;
	default:
		abort();
	}
	f[8] = x->number;
	f[9] = date;
	f[10] = lib;
	f[11] = debit;
	f[12] = credit;
	f[13] = f[14] = "";
	f[15] = date;
	f[16] = f[17] = "";
	for (size_t c = 0; c < FEC_COLS; c++) {
		if (c) {
			fputc('\t', x->out);
		}
		fec_field(x->out, f[c]);
	}
	fputc('\n', x->out);
	free(lib);
	x->st->rows++;
	return out_ok(x->out, d);
}

int export_fec(PGconn *c, const struct export_period *p, const struct seller *s,
	       FILE *out, struct export_stats *st, struct diag *d)
{
	struct fec_ctx x;

	memset(&x, 0, sizeof(x));
	x.out = out;
	x.s = s;
	x.st = st;
	for (size_t i = 0; i < FEC_COLS; i++) {
		fprintf(out, "%s%s", i ? "\t" : "", fec_header[i]);
	}
	fputc('\n', out);
	if (stream(c, p, fec_sql, fec_row, &x, st, d) != 0) {
		return -1;
	}
	fec_close_doc(&x, d);
	if (fflush(out) != 0 || out_ok(out, d) != 0) {
		return -1;
	}
	return x.bad ? -1 : 0;
}

int export_run(enum export_kind k, PGconn *c, const struct export_period *p,
	       const struct seller *s, FILE *out, struct export_stats *st,
	       struct diag *d)
{
	switch (k) {
	case EXPORT_JOURNAL:
		return export_journal(c, p, out, st, d);
	case EXPORT_LINES:
		return export_lines(c, p, out, st, d);
	case EXPORT_VAT:
		return export_vat(c, p, out, st, d);
	case EXPORT_PLANS:
		return export_plans(c, p, out, st, d);
	case EXPORT_FEC:
		if (!s) {
			diag_add(d, "export fec: the seller's accounts are "
				    "needed");
			return -1;
		}
		return export_fec(c, p, s, out, st, d);
	}
	abort();
}
