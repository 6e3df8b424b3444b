/*
 * cmd_invoice — `releve invoice run|issue|credit|list|show|pdf`: the
 * monthly batch and the documents it makes.
 *
 * run: the month of every customer with a subscription in it is rated
 * (billing/rate_db.h, the pure rater) and written as a draft, a chunk of
 * customers per transaction (billing/invoice_db.h): a crash loses at most
 * the chunk in progress, and running again replaces every draft, so the
 * result is the same.  Issued invoices are never touched.  --issue then
 * numbers the drafts; --pdf-dir renders the period's documents with
 * several worker processes, each with its own connection.
 */
#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "billing/invoice.h"
#include "billing/invoice_db.h"
#include "billing/money.h"
#include "billing/rate_db.h"
#include "billing/rater.h"
#include "billing/seller.h"
#include "billing/tariff.h"
#include "billing/tariff_db.h"
#include "billing/vat_db.h"
#include "common/atomicfile.h"
#include "common/cli.h"
#include "common/commands.h"
#include "common/date.h"
#include "common/db.h"
#include "common/session.h"
#include "common/xalloc.h"
#include "invoice_pdf.h"

#define RUN_CHUNK 500
#define PDF_CHUNK 200
#define MAX_JOBS 64

static const char help[] =
	"Usage: releve invoice COMMAND [OPTIONS]\n"
	"\n"
	"The monthly invoices: drafts, issuing, credit notes, documents.\n"
	"\n"
	"Commands:\n"
	"  run     rate a month and write (or rewrite) its draft invoices\n"
	"  issue   number and issue drafts (gapless, per series and year)\n"
	"  credit  a credit note correcting an issued invoice\n"
	"  list    invoices and credit notes\n"
	"  show    one document (text or JSON)\n"
	"  pdf     one document as PDF\n"
	"\n"
	"Run `releve invoice COMMAND --help` for each command's options.\n";

static const char run_help[] =
	"Usage: releve invoice run --period YYYY-MM [--customer ID] [--issue]\n"
	"                          [--date YYYY-MM-DD] [--pdf-dir DIR]\n"
	"                          [--jobs N] [--json] [--db CONNINFO]\n"
	"\n"
	"Rate every customer with a subscription in the month and write its\n"
	"draft invoice (lines, VAT per rate, totals, the tariff version, the\n"
	"usage behind the chart), replacing the previous draft.  Issued\n"
	"invoices are kept as they are.  Safe to run again, and after a crash.\n"
	"\n"
	"Options:\n"
	"  -p, --period YYYY-MM   the month (required)\n"
	"  -c, --customer ID      only this customer\n"
	"  -i, --issue            then issue the month's drafts (see issue)\n"
	"      --date YYYY-MM-DD  issue date (default: today in the tariff's\n"
	"                         time zone)\n"
	"  -o, --pdf-dir DIR      write the month's documents as PDF in DIR\n"
	"                         (NUMBER.pdf; drafts as draft-ID-PERIOD.pdf)\n"
	"  -j, --jobs N           PDF worker processes (default: the CPUs)\n"
	"      --json             the summary as JSON on stdout\n" SESSION_HELP
	"  -h, --help             this help\n";

static const char issue_help[] =
	"Usage: releve invoice issue [--period YYYY-MM] [--customer ID]\n"
	"                            [--date YYYY-MM-DD] [--pdf-dir DIR]\n"
	"                            [--jobs N] [--db CONNINFO]\n"
	"\n"
	"Number the drafts (all, or of a month / a customer) in the invoice\n"
	"series of the issue date's year (F2026-000001, ...) and date them:\n"
	"the numbers, dates and due dates are set in the transaction that\n"
	"takes them, so there is no gap even with two issuers at once.  A\n"
	"month that has not ended on the issue date is refused, and so is a\n"
	"date before the series' last one.\n"
	"\n"
	"Options:\n"
	"  -p, --period YYYY-MM   only this month's drafts\n"
	"  -c, --customer ID      only this customer's drafts\n"
	"      --date YYYY-MM-DD  issue date (default: today)\n"
	"  -o, --pdf-dir DIR      write the issued invoices as PDF in DIR\n"
	"  -j, --jobs N           PDF worker processes\n" SESSION_HELP
	"  -h, --help             this help\n";

static const char credit_help[] =
	"Usage: releve invoice credit NUMBER --reason TEXT\n"
	"                             [--line N --amount X]... [--date D]\n"
	"                             [--db CONNINFO]\n"
	"\n"
	"Issue a credit note (its own series: A2026-000001, ...) correcting\n"
	"the issued invoice NUMBER: in full (what is left to credit on every\n"
	"line), or only the given amounts (net, excluding VAT) of the given\n"
	"lines.  Its VAT is computed per rate like an invoice's.  Prints the\n"
	"credit note's number.\n"
	"\n"
	"Options:\n"
	"  -r, --reason TEXT      why (printed on the credit note; required)\n"
	"  -l, --line N           a line of the invoice (with --amount)\n"
	"  -a, --amount X         the net amount to credit on that line\n"
	"      --date YYYY-MM-DD  issue date (default: today)\n" SESSION_HELP
	"  -h, --help             this help\n";

static const char list_help[] =
	"Usage: releve invoice list [--customer ID] [--period YYYY-MM]\n"
	"                           [--issued] [--json] [--db CONNINFO]\n"
	"\n"
	"List invoices and credit notes, newest month first.\n"
	"\n"
	"Options:\n"
	"  -c, --customer ID      only this customer\n"
	"  -p, --period YYYY-MM   only this service month\n"
	"  -i, --issued           leave drafts out\n"
	"  -j, --json             JSON array\n" SESSION_HELP
	"  -h, --help             this help\n";

static const char show_help[] =
	"Usage: releve invoice show NUMBER [--json] [--db CONNINFO]\n"
	"       releve invoice show --customer ID --period YYYY-MM [--json]\n"
	"\n"
	"Print one document: by number, or the invoice (draft or issued) of a\n"
	"customer's month.\n"
	"\n"
	"Options:\n"
	"  -c, --customer ID, -p, --period YYYY-MM   the invoice of that month\n"
	"  -j, --json             JSON (every field, amounts as strings)\n"
	SESSION_HELP
	"  -h, --help             this help\n";

static const char pdf_help[] =
	"Usage: releve invoice pdf NUMBER [-o FILE] [--db CONNINFO]\n"
	"       releve invoice pdf --customer ID --period YYYY-MM [-o FILE]\n"
	"\n"
	"Render one document as PDF, identical each time (the document keeps\n"
	"everything it prints).  Written to FILE, or to stdout when it is not\n"
	"a terminal.\n"
	"\n"
	"Options:\n"
	"  -o, --output FILE      the PDF file\n"
	"  -c, --customer ID, -p, --period YYYY-MM   the invoice of that month\n"
	SESSION_HELP
	"  -h, --help             this help\n";

/* ---------------------------------------------------------------- */

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Today in the billing time zone (releve_now(): tests may set it). */
static int billing_today(PGconn *c, char out[16], struct diag *d)
{
	PGresult *r = db_exec(c, d,
			      "SELECT releve_billing_day(releve_now())::text",
			      0, NULL);

	if (!r) {
		return -1;
	}
	snprintf(out, 16, "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return 0;
}

/* The seller (issuing needs its series and terms) and today: 0, or -1
 * with d (s left empty, safe to free). */
static int seller_and_today(PGconn *c, struct seller *s, char today[16],
			    struct diag *d)
{
	int sr = seller_db_load(c, s, d);

	if (sr == 1) {
		diag_add(d, "no seller is set: run `releve seller set FILE`");
	}
	return sr != 0 || billing_today(c, today, d) != 0 ? -1 : 0;
}

static int check_date(const char *s)
{
	int y, m, d;

	return s && date_parse(s, &y, &m, &d) == 0 && strlen(s) == 10;
}

static int parse_jobs(const char *s, int *jobs)
{
	char *end;
	long n = strtol(s, &end, 10);

	if (*end || n < 1 || n > MAX_JOBS) {
		return -1;
	}
	*jobs = (int)n;
	return 0;
}

static int default_jobs(void)
{
	long n = sysconf(_SC_NPROCESSORS_ONLN);

	return n < 1 ? 1 : n > 8 ? 8 : (int)n;
}

static void progress(const char *what, long done, long total, double t0,
		     int last)
{
	double el = now_s() - t0;

	if (!cli_stderr_tty()) {
		return;
	}
	/* [#########...........]  45 % rated 4500/10000 (1200/s) */
	{
		char bar[24];
		int w = (int)sizeof(bar) - 1;
		int fill = total > 0 ? (int)((double)done / (double)total * w)
				     : w;

		if (fill > w) {
			fill = w;
		}
		memset(bar, '#', (size_t)fill);
		memset(bar + fill, '.', (size_t)(w - fill));
		bar[w] = '\0';
		fprintf(stderr, "\r[%s] %3d %% %s %ld/%ld (%.0f/s)%s", bar,
			total > 0 ? (int)(100.0 * (double)done / (double)total)
				  : 100,
			what, done, total, el > 0 ? (double)done / el : 0.0,
			last ? "\n" : "   ");
	}
}

/* A file name of a document number ('/' is allowed in numbers). */
static char *pdf_path(const char *dir, const struct invoice *inv)
{
	char *p;

	if (inv->number) {
		p = xasprintf("%s/%s.pdf", dir, inv->number);
		for (char *q = p + strlen(dir) + 1; *q; q++) {
			if (*q == '/') {
				*q = '_';
			}
		}
		return p;
	}
	return xasprintf("%s/draft-%s-%.7s.pdf", dir, inv->customer.id,
			 inv->period_start);
}

static mode_t current_umask(void)
{
	mode_t m = umask(022);

	umask(m);
	return m;
}

/* Render ids[k] for k = worker, worker + jobs, ... on its own connection. */
static int render_share(const char *db, const char *dir, const int64_t *ids,
			size_t n, int worker, int jobs, int show)
{
	struct diag d = DIAG_INIT;
	PGconn *c = db_connect(db, &d);
	int64_t *mine = xcalloc(n / (size_t)jobs + 1, sizeof(*mine));
	size_t nm = 0, done = 0;
	double t0 = now_s(), tick = 0;
	int rc = 0;

	for (size_t k = (size_t)worker; k < n; k += (size_t)jobs) {
		mine[nm++] = ids[k];
	}
	for (size_t off = 0; c && off < nm && rc == 0; off += PDF_CHUNK) {
		size_t cnt = nm - off < PDF_CHUNK ? nm - off : PDF_CHUNK;
		struct invoice *invs = xcalloc(cnt, sizeof(*invs));

		if (invoice_db_load_ids(c, mine + off, cnt, invs, &d) != 0) {
			rc = -1;
		}
		for (size_t i = 0; i < cnt && rc == 0; i++) {
			char *path = pdf_path(dir, &invs[i]);

			unsigned char *buf = NULL;
			size_t len = 0;

			/* No fsync per file: the folder is synced once. */
			if (invoice_pdf_buffer(&invs[i], &buf, &len, &d) != 0 ||
			    atomicfile_write_flags(path, (const char *)buf, len,
						   0666 & ~current_umask(),
						   ATOMICFILE_NOSYNC, &d) != 0) {
				rc = -1;
			}
			free(buf);
			free(path);
		}
		for (size_t i = 0; i < cnt; i++) {
			invoice_free(&invs[i]);
		}
		free(invs);
		done += cnt;
		if (show && now_s() - tick > 0.2) {
			tick = now_s();
			progress("PDF", (long)(done * (size_t)jobs), (long)n,
				 t0, 0);
		}
	}
	if (!c) {
		rc = -1;
	}
	if (rc == 0 && atomicfile_sync_dir(dir, &d) != 0) {
		rc = -1;
	}
	diag_print(&d, stderr, "releve invoice (PDF)");
	diag_free(&d);
	db_close(c);
	free(mine);
	return rc;
}

/* Render the documents ids into dir with jobs processes; 0 or -1. */
static int render_pdfs(const char *db, const char *dir, const int64_t *ids,
		       size_t n, int jobs)
{
	pid_t pids[MAX_JOBS];
	int started = 0, failed = 0;
	double t0 = now_s();

	if (mkdir(dir, 0777) != 0 && errno != EEXIST) {
		cli_fail("%s: %s", dir, strerror(errno));
		return -1;
	}
	if (n == 0) {
		return 0;
	}
	if ((size_t)jobs > n) {
		jobs = (int)n;
	}
	fflush(NULL);
	for (int w = 0; w < jobs; w++) {
		pid_t p = fork();

		if (p == 0) {
			_exit(render_share(db, dir, ids, n, w, jobs, w == 0)
				      ? 1
				      : 0);
		}
		if (p < 0) {
			failed = 1;
			break;
		}
		pids[started++] = p;
	}
	for (int w = 0; w < started; w++) {
		int st;

		if (waitpid(pids[w], &st, 0) < 0 || !WIFEXITED(st) ||
		    WEXITSTATUS(st) != 0) {
			failed = 1;
		}
	}
	progress("PDF", (long)n, (long)n, t0, 1);
	return failed ? -1 : 0;
}

/* The ids of a period's documents (issued invoices, or drafts). */
static int period_ids(PGconn *c, const char *first, const char *customer,
		      int64_t **ids, size_t *n, struct diag *d)
{
	const char *p[2] = {first, customer};
	PGresult *r = db_exec(c, d,
			      "SELECT id FROM invoices WHERE kind = 'invoice'"
			      " AND period_start = $1::date"
			      " AND ($2::text IS NULL OR customer_id = $2)"
			      " ORDER BY id",
			      2, p);

	if (!r) {
		return -1;
	}
	*n = (size_t)PQntuples(r);
	*ids = xcalloc(*n + 1, sizeof(**ids));
	for (size_t i = 0; i < *n; i++) {
		(*ids)[i] = strtoll(PQgetvalue(r, (int)i, 0), NULL, 10);
	}
	PQclear(r);
	return 0;
}

/* ---------------------------------------------------------------- */
/* run */

struct regime_total {
	char code[32];
	long count;
	int64_t net, vat, total;
};

struct run {
	PGconn *c;
	struct invoice_env env;
	struct invoice chunk[RUN_CHUNK];
	struct invoice_kept kept_as[RUN_CHUNK];
	size_t n;
	long written, kept, failed;
	struct regime_total reg[16];
	size_t nreg;
};

static void add_regime(struct run *x, const char *regime, int64_t net,
		       int64_t vat, int64_t total)
{
	size_t k;

	for (k = 0; k < x->nreg && strcmp(x->reg[k].code, regime); k++) {
	}
	if (k == x->nreg) {
		if (x->nreg == sizeof(x->reg) / sizeof(x->reg[0])) {
			return;
		}
		snprintf(x->reg[k].code, sizeof(x->reg[k].code), "%s", regime);
		x->nreg++;
	}
	x->reg[k].count++;
	x->reg[k].net += net;
	x->reg[k].vat += vat;
	x->reg[k].total += total;
}

static int flush(struct run *x, struct diag *d)
{
	long kept = 0;
	int rc = invoice_db_store_drafts(x->c, &x->env, x->chunk, x->n, &kept,
					 x->kept_as, d);

	if (rc == 0) {
		x->written += (long)x->n - kept;
		x->kept += kept;
		/* An issued invoice kept counts as stored, not as rated. */
		for (size_t i = 0; i < x->n; i++) {
			const struct invoice *v = &x->chunk[i];
			const struct invoice_kept *k = &x->kept_as[i];

			if (k->kept) {
				add_regime(x, k->vat_regime, k->net,
					   k->vat_total, k->total);
			} else {
				add_regime(x, v->vat_regime, v->net,
					   v->vat_total, v->total);
			}
		}
	}
	for (size_t i = 0; i < x->n; i++) {
		invoice_free(&x->chunk[i]);
	}
	x->n = 0;
	return rc;
}

static void print_summary(const struct run *x, const char *period,
			  long issued, long removed, int json)
{
	char a[MONEY_FMT_MAX], b[MONEY_FMT_MAX], c[MONEY_FMT_MAX];

	if (json) {
		json_t *o = json_object(), *rg = json_array();

		json_object_set_new(o, "period", json_string(period));
		json_object_set_new(o, "drafts_written",
				    json_integer(x->written));
		json_object_set_new(o, "kept_issued", json_integer(x->kept));
		json_object_set_new(o, "failed", json_integer(x->failed));
		json_object_set_new(o, "stale_drafts_removed",
				    json_integer(removed));
		json_object_set_new(o, "issued", json_integer(issued));
		for (size_t k = 0; k < x->nreg; k++) {
			json_array_append_new(
				rg,
				json_pack("{s:s, s:I, s:s, s:s, s:s}",
					  "vat_regime", x->reg[k].code,
					  "count", (json_int_t)x->reg[k].count,
					  "net",
					  money_format_cents(a, x->reg[k].net),
					  "vat",
					  money_format_cents(b, x->reg[k].vat),
					  "total",
					  money_format_cents(
						  c, x->reg[k].total)));
		}
		json_object_set_new(o, "by_vat_regime", rg);
		json_dumpf(o, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(o);
		return;
	}
	printf("invoices %s: %ld drafts written, %ld already issued (kept), "
	       "%ld failed, %ld stale drafts removed, %ld issued\n",
	       period, x->written, x->kept, x->failed, removed, issued);
	printf("  %-16s %8s %14s %14s %14s\n", "VAT regime", "count", "net",
	       "VAT", "total");
	for (size_t k = 0; k < x->nreg; k++) {
		printf("  %-16s %8ld %14s %14s %14s\n", x->reg[k].code,
		       x->reg[k].count, money_format_cents(a, x->reg[k].net),
		       money_format_cents(b, x->reg[k].vat),
		       money_format_cents(c, x->reg[k].total));
	}
}

/* The options of `run` and `issue` (run adds --issue and --json and
 * requires --period). */
struct batch_opts {
	const char *period, *customer, *db, *date, *pdfdir;
	int y, m, jobs, issue, json;
};

/* -1 to go on with *o filled, else the exit code to return. */
static int batch_options(int argc, char **argv, int run,
			 struct batch_opts *o)
{
	static const struct option opts[] = {
		{"period", required_argument, NULL, 'p'},
		{"customer", required_argument, NULL, 'c'},
		{"issue", no_argument, NULL, 'i'},
		{"date", required_argument, NULL, 'D'},
		{"pdf-dir", required_argument, NULL, 'o'},
		{"jobs", required_argument, NULL, 'j'},
		{"json", no_argument, NULL, 'J'},
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *who = run ? "invoice run" : "invoice issue";
	int opt;

	memset(o, 0, sizeof(*o));
	o->jobs = default_jobs();
	while ((opt = getopt_long(argc, argv, "p:c:iD:o:j:Jd:h", opts,
				  NULL)) != -1) {
		switch (opt) {
		case 'p':
			o->period = optarg;
			break;
		case 'c':
			o->customer = optarg;
			break;
		case 'D':
			o->date = optarg;
			break;
		case 'o':
			o->pdfdir = optarg;
			break;
		case 'j':
			if (parse_jobs(optarg, &o->jobs)) {
				return cli_usage(who, "--jobs: '%s' is not "
						 "1..%d", optarg, MAX_JOBS);
			}
			break;
		case 'd':
			o->db = optarg;
			break;
		case 'h':
			fputs(run ? run_help : issue_help, stdout);
			return EXIT_OK;
		case 'i':
		case 'J':
			if (run) {
				*(opt == 'i' ? &o->issue : &o->json) = 1;
				break;
			}
			return cli_usage(who, "bad option");
		default:
			return cli_usage(who, "bad option");
		}
	}
	if (optind != argc) {
		return cli_usage(who, "unexpected argument");
	}
	if (run && !o->period) {
		return cli_usage(who, "--period YYYY-MM is required");
	}
	if (o->period && period_parse(o->period, &o->y, &o->m)) {
		return cli_usage(who, "--period must be YYYY-MM");
	}
	if (o->date && !check_date(o->date)) {
		return cli_usage(who, "--date must be YYYY-MM-DD");
	}
	return -1;
}

static int invoice_run(int argc, char **argv)
{
	struct batch_opts o;
	int y, m, rc = batch_options(argc, argv, 1, &o), tr, opened = 0;
	const char *customer = o.customer, *db = o.db, *date = o.date;
	const char *period = o.period, *pdfdir = o.pdfdir;
	struct diag d = DIAG_INIT;
	struct run *x;
	struct tariff t;
	struct vat_rates rates;
	struct rate_db_batch batch;
	char seller_cc[3], today[16], first[32], last[32];
	long issued = 0, removed = 0, done = 0, total;
	double t0 = now_s(), tick = 0;

	if (rc != -1) {
		return rc;
	}
	rc = EXIT_FAIL;
	y = o.y;
	m = o.m;
	x = xcalloc(1, sizeof(*x));
	memset(&t, 0, sizeof(t));
	memset(&rates, 0, sizeof(rates));
	snprintf(first, sizeof(first), "%04d-%02d-01", y, m);
	snprintf(last, sizeof(last), "%04d-%02d-%02d", y, m,
		 date_days_in_month(y, m));
	x->c = session_open("releve invoice run", db);
	if (!x->c) {
		free(x);
		return EXIT_FAIL;
	}
	if (billing_today(x->c, today, &d) != 0) {
		goto out;
	}
	tr = tariff_db_in_effect(x->c, first, &t, &d);
	if (tr != 0) {
		if (tr == 1) {
			diag_add(&d, "no tariff version is in effect on %s",
				 first);
		}
		goto out;
	}
	if (vat_db_rates(x->c, last, &rates, &d) != 0 ||
	    rate_db_seller_country(x->c, seller_cc, &d) != 0 ||
	    invoice_env_load(x->c, &t, customer, y, m, date ? date : today,
			     &x->env, &d) != 0) {
		goto out;
	}
	total = PQntuples(x->env.customers);
	if (customer && total == 0) {
		diag_add(&d, "customer '%s' has no subscription in %s",
			 customer, period);
		goto out;
	}
	if (rate_db_batch_open(x->c, customer, y, m, 0, &t, &rates, seller_cc,
			       &batch, &d) != 0) {
		goto out;
	}
	opened = 1;
	for (;;) {
		struct diag one = DIAG_INIT;
		struct rate_db_month mo;
		struct rate_input in;
		struct rate_result res;
		int got = rate_db_batch_next(&batch, &mo, &one);

		if (got == 1) {
			diag_free(&one);
			break;
		}
		if (got == 0) {
			rate_db_month_input(&mo, &t, &in);
			if (rate_month(&in, &res, &one) == 0) {
				if (invoice_build(&x->env, &mo, &res,
						  &x->chunk[x->n], &one) == 0) {
					x->n++;
				}
				rate_result_free(&res);
			}
		}
		if (one.n) {
			x->failed++;
			for (size_t k = 0; k < one.n; k++) {
				diag_add(&d, "%s: %s",
					 mo.customer ? mo.customer : "?",
					 one.msg[k]);
			}
		}
		rate_db_month_free(&mo);
		diag_free(&one);
		done++;
		if (x->n == RUN_CHUNK && flush(x, &d) != 0) {
			goto out;
		}
		if (now_s() - tick > 0.2) {
			tick = now_s();
			progress("rated", done, total, t0, 0);
		}
	}
	if (flush(x, &d) != 0) {
		goto out;
	}
	progress("rated", done, total, t0, 1);
	if (invoice_db_remove_stale(x->c, y, m, customer, &removed, &d) != 0) {
		goto out;
	}
	if (o.issue && invoice_db_issue(x->c, &x->env.seller, y, m, customer,
				      date ? date : today, &issued, NULL, NULL,
				      &d) != 0) {
		goto out;
	}
	if (pdfdir) {
		int64_t *ids = NULL;
		size_t n = 0;

		if (period_ids(x->c, first, customer, &ids, &n, &d) != 0) {
			goto out;
		}
		if (render_pdfs(db, pdfdir, ids, n, o.jobs) != 0) {
			diag_add(&d, "some PDFs could not be written in %s",
				 pdfdir);
			free(ids);
			goto out;
		}
		free(ids);
	}
	print_summary(x, period, issued, removed, o.json);
	rc = x->failed ? EXIT_FAIL : EXIT_OK;
out:
	diag_print(&d, stderr, "releve invoice run");
	diag_free(&d);
	for (size_t i = 0; i < x->n; i++) {
		invoice_free(&x->chunk[i]);
	}
	if (opened) {
		rate_db_batch_close(&batch);
	}
	invoice_env_free(&x->env);
	tariff_free(&t);
	vat_db_rates_free(&rates);
	db_close(x->c);
	free(x);
	return rc;
}

/* ---------------------------------------------------------------- */
/* issue */

static int invoice_issue(int argc, char **argv)
{
	struct batch_opts o;
	int rc = batch_options(argc, argv, 0, &o);
	const char *db = o.db, *date = o.date;
	struct diag d = DIAG_INIT;
	struct seller s;
	PGconn *c;
	char today[16];
	long issued = 0;
	int64_t *ids = NULL;
	size_t nids = 0;

	if (rc != -1) {
		return rc;
	}
	rc = EXIT_FAIL;
	c = session_open("releve invoice issue", db);
	if (!c) {
		return EXIT_FAIL;
	}
	if (seller_and_today(c, &s, today, &d) != 0) {
		goto out;
	}
	if (invoice_db_issue(c, &s, o.y, o.m, o.customer,
			     date ? date : today, &issued, &ids, &nids,
			     &d) != 0) {
		if (issued) {
			diag_add(&d, "%ld invoices were issued before the "
				     "error", issued);
		}
		goto out;
	}
	if (o.pdfdir && render_pdfs(db, o.pdfdir, ids, nids, o.jobs) != 0) {
		diag_add(&d, "some PDFs could not be written in %s", o.pdfdir);
		goto out;
	}
	printf("%ld invoices issued on %s\n", issued, date ? date : today);
	rc = EXIT_OK;
out:
	diag_print(&d, stderr, "releve invoice issue");
	diag_free(&d);
	free(ids);
	seller_free(&s);
	db_close(c);
	return rc;
}

/* ---------------------------------------------------------------- */
/* credit */

static int invoice_credit(int argc, char **argv)
{
	static const struct option opts[] = {
		{"reason", required_argument, NULL, 'r'},
		{"line", required_argument, NULL, 'l'},
		{"amount", required_argument, NULL, 'a'},
		{"date", required_argument, NULL, 'D'},
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *reason = NULL, *db = NULL, *date = NULL;
	struct invoice_credit_part parts[64];
	size_t nlines = 0, namounts = 0;
	int opt, rc = EXIT_FAIL;
	struct diag d = DIAG_INIT;
	struct seller s;
	PGconn *c;
	char today[16], why[128];
	int64_t id;
	struct invoice inv;

	while ((opt = getopt_long(argc, argv, "r:l:a:D:d:h", opts, NULL)) !=
	       -1) {
		char *end;
		long n;

		switch (opt) {
		case 'r':
			reason = optarg;
			break;
		case 'l':
			n = strtol(optarg, &end, 10);
			if (*end || n < 1 || n > 100000 || nlines == 64) {
				return cli_usage("invoice credit", "--line: "
						 "'%s' is not a line number",
						 optarg);
			}
			parts[nlines++].line = (int)n;
			break;
		case 'a':
			if (namounts == 64 ||
			    money_parse(optarg, 0, 2, &parts[namounts].amount,
					why, sizeof(why)) != 0) {
				return cli_usage("invoice credit", "--amount: "
						 "'%s' is not an amount "
						 "(such as 12.50)", optarg);
			}
			namounts++;
			break;
		case 'D':
			date = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			fputs(credit_help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("invoice credit", "bad option");
		}
	}
	if (optind + 1 != argc) {
		return cli_usage("invoice credit", "the invoice NUMBER is "
				 "required (one)");
	}
	if (!reason || !*reason) {
		return cli_usage("invoice credit", "--reason TEXT is required");
	}
	if (nlines != namounts) {
		return cli_usage("invoice credit", "each --line needs its "
				 "--amount (got %zu and %zu)", nlines,
				 namounts);
	}
	if (date && !check_date(date)) {
		return cli_usage("invoice credit", "--date must be YYYY-MM-DD");
	}
	c = session_open("releve invoice credit", db);
	if (!c) {
		return EXIT_FAIL;
	}
	if (seller_and_today(c, &s, today, &d) != 0) {
		goto out;
	}
	if (invoice_db_credit(c, &s, argv[optind], parts, nlines, reason,
			      date ? date : today, &id, &d) != 0) {
		goto out;
	}
	if (invoice_db_load_id(c, id, &inv, &d) != 0) {
		goto out;
	}
	{
		char a[MONEY_FMT_MAX];

		fprintf(stderr, "credit note %s for %s: total %s %s\n",
			inv.number, argv[optind],
			money_format_cents(a, inv.total), inv.currency);
	}
	printf("%s\n", inv.number);
	invoice_free(&inv);
	rc = EXIT_OK;
out:
	diag_print(&d, stderr, "releve invoice credit");
	diag_free(&d);
	seller_free(&s);
	db_close(c);
	return rc;
}

/* ---------------------------------------------------------------- */
/* list, show, pdf */

static int invoice_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{"customer", required_argument, NULL, 'c'},
		{"period", required_argument, NULL, 'p'},
		{"issued", no_argument, NULL, 'i'},
		{"json", no_argument, NULL, 'j'},
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *customer = NULL, *period = NULL, *db = NULL;
	int opt, json = 0, issued = 0, y, m;
	struct diag d = DIAG_INIT;
	PGconn *c;
	json_t *a;
	size_t i;
	json_t *o;

	while ((opt = getopt_long(argc, argv, "c:p:ijd:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			customer = optarg;
			break;
		case 'p':
			period = optarg;
			break;
		case 'i':
			issued = 1;
			break;
		case 'j':
			json = 1;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			fputs(list_help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("invoice list", "bad option");
		}
	}
	if (optind != argc || (period && period_parse(period, &y, &m))) {
		return cli_usage("invoice list", "%s",
				 optind != argc ? "unexpected argument"
						: "--period must be YYYY-MM");
	}
	c = session_open("releve invoice list", db);
	if (!c) {
		return EXIT_FAIL;
	}
	a = invoice_db_list(c, customer, period, issued, &d);
	db_close(c);
	if (!a) {
		diag_print(&d, stderr, "releve invoice list");
		diag_free(&d);
		return EXIT_FAIL;
	}
	if (json) {
		json_dumpf(a, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
	} else {
		printf("%-16s %-7s %-7s %-12s %-10s %12s %12s %12s  %s\n",
		       "number", "kind", "period", "customer", "issued", "net",
		       "VAT", "total", "due");
		json_array_foreach(a, i, o) {
			const char *num = json_string_value(
				json_object_get(o, "number"));
			const char *iss = json_string_value(
				json_object_get(o, "issue_date"));
			const char *due = json_string_value(
				json_object_get(o, "due_date"));

			printf("%-16s %-7s %-7s %-12s %-10s %12s %12s %12s  "
			       "%s\n",
			       num ? num : "(draft)",
			       json_string_value(json_object_get(o, "kind")),
			       json_string_value(json_object_get(o, "period")),
			       json_string_value(
				       json_object_get(o, "customer")),
			       iss ? iss : "-",
			       json_string_value(json_object_get(o, "net")),
			       json_string_value(json_object_get(o, "vat")),
			       json_string_value(json_object_get(o, "total")),
			       due ? due : "-");
		}
	}
	json_decref(a);
	diag_free(&d);
	return EXIT_OK;
}

/* The document named by NUMBER, or by --customer and --period: 0, 1 not
 * found (message in d), -1. */
static int find_doc(PGconn *c, const char *number, const char *customer,
		    const char *period, struct invoice *inv, struct diag *d)
{
	int y, m, rc;

	if (number) {
		rc = invoice_db_load(c, number, inv, d);
		if (rc == 1) {
			diag_add(d, "no document is numbered '%s'", number);
		}
		return rc;
	}
	if (period_parse(period, &y, &m) == 0) {
		char first[32];
		const char *p[2] = {customer, first};
		PGresult *r;

		snprintf(first, sizeof(first), "%04d-%02d-01", y, m);
		r = db_exec(c, d,
			    "SELECT id FROM invoices WHERE kind = 'invoice'"
			    " AND customer_id = $1 AND period_start = $2::date",
			    2, p);
		if (!r) {
			return -1;
		}
		if (PQntuples(r) == 0) {
			PQclear(r);
			diag_add(d, "customer '%s' has no invoice for %s",
				 customer, period);
			return 1;
		}
		rc = invoice_db_load_id(
			c, strtoll(PQgetvalue(r, 0, 0), NULL, 10), inv, d);
		PQclear(r);
		return rc;
	}
	return -1;
}

static void print_doc(const struct invoice *inv)
{
	char a[MONEY_FMT_MAX], b[MONEY_FMT_MAX], c[MONEY_FMT_MAX];

	printf("%s %s  %s  %s\n", inv->credit ? "Avoir" : "Facture",
	       inv->number ? inv->number : "(brouillon / draft)",
	       inv->customer.id, inv->customer.name);
	printf("  period %s .. %s  issued %s  due %s  tariff %s  VAT %s\n",
	       inv->period_start, inv->period_end,
	       inv->issue_date[0] ? inv->issue_date : "-",
	       inv->due_date[0] ? inv->due_date : "-", inv->tariff_version,
	       inv->vat_regime);
	if (inv->credit) {
		printf("  credits %s of %s: %s\n", inv->credited_number,
		       inv->credited_date, inv->credit_reason);
	}
	for (size_t i = 0; i < inv->nlines; i++) {
		const struct invoice_line *l = &inv->lines[i];

		printf("  %2d %-60.60s %12s x %10s = %10s  %s%%\n", l->no,
		       l->description, money_format(a, l->quantity, 0),
		       money_format(b, l->unit_price, 2),
		       money_format_cents(c, l->net),
		       money_format(a, l->vat_rate, 0));
	}
	for (size_t i = 0; i < inv->nvat; i++) {
		printf("  VAT %s%% on %s: %s\n",
		       money_format(a, inv->vat[i].rate, 0),
		       money_format_cents(b, inv->vat[i].base),
		       money_format_cents(c, inv->vat[i].amount));
	}
	printf("  net %s  VAT %s  total %s %s\n",
	       money_format_cents(a, inv->net),
	       money_format_cents(b, inv->vat_total),
	       money_format_cents(c, inv->total), inv->currency);
}

static int show_or_pdf(int argc, char **argv, int pdf)
{
	static const struct option opts[] = {
		{"customer", required_argument, NULL, 'c'},
		{"period", required_argument, NULL, 'p'},
		{"json", no_argument, NULL, 'j'},
		{"output", required_argument, NULL, 'o'},
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *customer = NULL, *period = NULL, *db = NULL, *out = NULL;
	const char *who = pdf ? "invoice pdf" : "invoice show";
	int opt, json = 0, rc = EXIT_FAIL, y, m, got;
	struct diag d = DIAG_INIT;
	struct invoice inv;
	PGconn *c;

	while ((opt = getopt_long(argc, argv, pdf ? "c:p:o:d:h" : "c:p:jd:h",
				  opts, NULL)) != -1) {
		switch (opt) {
		case 'c':
			customer = optarg;
			break;
		case 'p':
			period = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'o':
			out = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			fputs(pdf ? pdf_help : show_help, stdout);
			return EXIT_OK;
		default:
			return cli_usage(who, "bad option");
		}
	}
	if (!((optind + 1 == argc && !customer && !period) ||
	      (optind == argc && customer && period))) {
		return cli_usage(who, "give a NUMBER, or --customer and "
				 "--period");
	}
	if (period && period_parse(period, &y, &m)) {
		return cli_usage(who, "--period must be YYYY-MM");
	}
	if (pdf && !out && isatty(STDOUT_FILENO)) {
		return cli_usage(who, "-o FILE is required when stdout is a "
				 "terminal");
	}
	c = session_open(pdf ? "releve invoice pdf" : "releve invoice show",
			 db);
	if (!c) {
		return EXIT_FAIL;
	}
	got = find_doc(c, optind < argc ? argv[optind] : NULL, customer,
		       period, &inv, &d);
	if (got != 0) {
		goto out;
	}
	if (pdf && out) {
		rc = invoice_pdf_write(&inv, out, &d) == 0 ? EXIT_OK
							   : EXIT_FAIL;
	} else if (pdf) {
		unsigned char *buf = NULL;
		size_t len = 0;

		if (invoice_pdf_buffer(&inv, &buf, &len, &d) == 0 &&
		    fwrite(buf, 1, len, stdout) == len && fflush(stdout) == 0) {
			rc = EXIT_OK;
		}
		free(buf);
	} else if (json) {
		json_t *j = invoice_to_json(&inv);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
		rc = EXIT_OK;
	} else {
		print_doc(&inv);
		rc = EXIT_OK;
	}
	invoice_free(&inv);
out:
	diag_print(&d, stderr, pdf ? "releve invoice pdf"
				   : "releve invoice show");
	diag_free(&d);
	db_close(c);
	return rc;
}

static int invoice_show(int argc, char **argv)
{
	return show_or_pdf(argc, argv, 0);
}

static int invoice_pdf(int argc, char **argv)
{
	return show_or_pdf(argc, argv, 1);
}

int cmd_invoice(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"run", invoice_run, "rate a month and write its drafts"},
		{"issue", invoice_issue, "number and issue drafts"},
		{"credit", invoice_credit, "a credit note for an invoice"},
		{"list", invoice_list, "list invoices and credit notes"},
		{"show", invoice_show, "print one document"},
		{"pdf", invoice_pdf, "one document as PDF"},
		{NULL, NULL, NULL},
	};

	return cli_dispatch("invoice", help, subs, argc, argv);
}
