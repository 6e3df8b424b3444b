/*
 * cmd_usage — `releve usage --customer ID [--from DATE --to DATE]
 * [--by day|domain|mailbox] [--json|--csv]`: one customer's usage over a
 * period of billing days (reports/usage.h does the work), printed as an
 * aligned table, CSV (a header row, RFC 4180 quoting as libcsv reads it)
 * or JSON.  Exit 1 for an unknown customer or a failure, 2 for a wrong
 * command line (bad date, --from after --to).
 */
#include <getopt.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/commands.h"
#include "common/db.h"
#include "common/session.h"
#include "billing/money.h"
#include "usage.h"

#define WHO "releve usage"

static const char help[] =
    "Usage: releve usage --customer ID [--from DATE] [--to DATE]\n"
    "                    [--by day|domain|mailbox] [--json|--csv]\n"
    "                    [--db CONNINFO]\n"
    "\n"
    "Print one customer's outbound mail and storage per billing day (the\n"
    "tariff's time zone), each day's quota state against the plan active\n"
    "that day, or the outbound and average storage per mailbox or domain.\n"
    "For a period ending in the current month, the charges as if the\n"
    "month ended today and projected to its end.\n"
    "\n"
    "Options:\n"
    "  -c, --customer ID      the customer (required)\n"
    "  -f, --from DATE        first day, YYYY-MM-DD (default: the first\n"
    "                         of the month of --to)\n"
    "  -t, --to DATE          last day, included (default: today)\n"
    "  -b, --by KEY           day (default), domain or mailbox\n"
    "  -j, --json             JSON document\n"
    "  -C, --csv              CSV with a header row\n" SESSION_HELP
    "  -h, --help             this help\n"
    "\n"
    "Today is the billing day of now; RELEVE_TODAY=YYYY-MM-DD (or the\n"
    "option --today) sets it, for tests and for replaying a past day.\n";

/* A CSV field, quoted only when it must be (as libcsv reads it back). */
static void csv_field(FILE *f, const char *s)
{
	size_t n = strlen(s);

	if (strpbrk(s, ",\"\r\n") == NULL &&
	    (n == 0 || (s[0] != ' ' && s[n - 1] != ' '))) {
		fputs(s, f);
		return;
	}
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"') {
			fputc('"', f);
		}
		fputc(*s, f);
	}
	fputc('"', f);
}

static void print_csv(char **cells, size_t nrows, size_t ncols)
{
	for (size_t r = 0; r < nrows; r++) {
		for (size_t c = 0; c < ncols; c++) {
			if (c) {
				fputc(',', stdout);
			}
			csv_field(stdout, cells[r * ncols + c]);
		}
		fputc('\n', stdout);
	}
}

/* Short headers for the table, in the order of usage_cells(). */
static const char *short_header(const char *h)
{
	static const char *const map[][2] = {
		{ "outbound_messages", "messages" },
		{ "outbound_recipients", "recipients" },
		{ "outbound_recipients_local", "local" },
		{ "storage_bytes", "storage" },
		{ "storage_bytes_avg", "storage avg" },
		{ "quota_per_day", "quota" },
		{ "quota_state", "state" },
	};

	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (!strcmp(h, map[i][0])) {
			return map[i][1];
		}
	}
	return h;
}

static void print_table(const struct usage_report *r, char **cells,
			size_t nrows, size_t ncols)
{
	size_t w[16] = { 0 };
	char tot[7][24];
	const int64_t t[7] = { r->totals.messages, r->totals.recipients,
			       r->totals.local,	   r->totals.sent,
			       r->totals.bounced,  r->totals.deferred,
			       r->totals.expired };

	for (size_t i = 0; i < 7; i++) {
		snprintf(tot[i], sizeof(tot[i]), "%lld", (long long)t[i]);
	}
	for (size_t c = 0; c < ncols && c < 16; c++) {
		w[c] = strlen(short_header(cells[c]));
		for (size_t row = 1; row < nrows; row++) {
			size_t n = strlen(cells[row * ncols + c]);

			w[c] = n > w[c] ? n : w[c];
		}
		if (c >= 1 && c <= 7 && strlen(tot[c - 1]) > w[c]) {
			w[c] = strlen(tot[c - 1]);
		}
	}
	if (w[0] < 5) {
		w[0] = 5;
	}
	printf("%s  %s  %s .. %s  (%s, unit: %s)\n", r->customer, r->name,
	       r->from, r->to, r->timezone, r->unit);
	for (size_t row = 0; row < nrows; row++) {
		for (size_t c = 0; c < ncols; c++) {
			const char *s = cells[row * ncols + c];

			if (row == 0) {
				s = short_header(s);
			}
			/* Names and states to the left, numbers right. */
			if (c == ncols - 1 && r->by == USAGE_BY_DAY) {
				printf("  %s", s); /* last: no padding */
			} else if (c == 0) {
				printf("%-*s", (int)w[c], s);
			} else {
				printf("  %*s", (int)w[c], s);
			}
		}
		fputc('\n', stdout);
	}
	printf("%-*s", (int)w[0], "total");
	for (size_t c = 1; c <= 7; c++) {
		printf("  %*s", (int)w[c], tot[c - 1]);
	}
	fputc('\n', stdout);
	if (r->by == USAGE_BY_DAY) {
		printf("quota days: ok %d, warn %d, over %d, blocked %d, "
		       "no subscription %d; average storage %lld bytes "
		       "over %d days\n",
		       r->state_days[USAGE_QUOTA_OK],
		       r->state_days[USAGE_QUOTA_WARN],
		       r->state_days[USAGE_QUOTA_OVER],
		       r->state_days[USAGE_QUOTA_BLOCKED],
		       r->state_days[USAGE_QUOTA_NONE],
		       (long long)r->storage_avg, r->storage_days);
	}
	if (r->est.present) {
		const struct usage_estimate *e = &r->est;
		char a[MONEY_FMT_MAX], b[MONEY_FMT_MAX], c[MONEY_FMT_MAX];

		printf(
		    "estimate %s as of %s (%d/%d days, tariff %s, VAT %s):\n",
		    e->period, e->as_of, e->days_elapsed, e->days_in_month,
		    e->tariff_version, e->vat_regime);
		printf("  so far     net %s  VAT %s  total %s %s\n",
		       money_format_cents(a, e->so_far.net),
		       money_format_cents(b, e->so_far.vat_total),
		       money_format_cents(c, e->so_far.total), e->currency);
		printf("  projected  net %s  VAT %s  total %s %s\n",
		       money_format_cents(a, e->projected.net),
		       money_format_cents(b, e->projected.vat_total),
		       money_format_cents(c, e->projected.total), e->currency);
	} else if (r->est.why_absent) {
		printf("no estimate: %s\n", r->est.why_absent);
	}
}

static int check_date(const char *what, const char *s)
{
	if (s && usage_parse_date(s) != 0) {
		cli_usage("usage", "%s: '%s' is not a date (YYYY-MM-DD)", what,
			  s);
		return -1;
	}
	return 0;
}

int cmd_usage(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "customer", required_argument, NULL, 'c' },
		{ "from", required_argument, NULL, 'f' },
		{ "to", required_argument, NULL, 't' },
		{ "by", required_argument, NULL, 'b' },
		{ "json", no_argument, NULL, 'j' },
		{ "csv", no_argument, NULL, 'C' },
		{ "today", required_argument, NULL, 'T' }, /* hidden: tests */
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	struct usage_request rq = { NULL, NULL, NULL, NULL, USAGE_BY_DAY };
	struct usage_report rep;
	struct diag d = DIAG_INIT;
	const char *db = NULL, *today_what = "RELEVE_TODAY";
	int c, json = 0, csv = 0, rc;
	PGconn *conn;

	rq.today = getenv("RELEVE_TODAY");
	if (rq.today && !*rq.today) {
		rq.today = NULL;
	}
	while ((c = getopt_long(argc, argv, "c:f:t:b:jCd:h", opts, NULL)) !=
	       -1) {
		switch (c) {
		case 'c':
			rq.customer = optarg;
			break;
		case 'f':
			rq.from = optarg;
			break;
		case 't':
			rq.to = optarg;
			break;
		case 'T':
			rq.today = optarg;
			today_what = "--today";
			break;
		case 'b':
			if (!strcmp(optarg, "day")) {
				rq.by = USAGE_BY_DAY;
			} else if (!strcmp(optarg, "domain")) {
				rq.by = USAGE_BY_DOMAIN;
			} else if (!strcmp(optarg, "mailbox")) {
				rq.by = USAGE_BY_MAILBOX;
			} else {
				return cli_usage("usage",
						 "--by: '%s' is not "
						 "day, domain or mailbox",
						 optarg);
			}
			break;
		case 'j':
			json = 1;
			break;
		case 'C':
			csv = 1;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			fputs(help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("usage", "bad option");
		}
	}
	if (optind != argc) {
		return cli_usage("usage", "unexpected argument '%s'",
				 argv[optind]);
	}
	if (!rq.customer) {
		return cli_usage("usage", "--customer ID is required");
	}
	if (json && csv) {
		return cli_usage("usage",
				 "--json and --csv exclude each other");
	}
	if (check_date("--from", rq.from) || check_date("--to", rq.to) ||
	    check_date(today_what, rq.today)) {
		return EXIT_USAGE;
	}
	if (rq.from && rq.to && strcmp(rq.from, rq.to) > 0) {
		return cli_usage("usage", "--from: %s is after --to %s",
				 rq.from, rq.to);
	}
	conn = session_open(WHO, db);
	if (!conn) {
		return EXIT_FAIL;
	}
	rc = usage_query(conn, &rq, &rep, &d);
	db_close(conn);
	if (rc == 2) {
		/* A period wrong only once the defaults are known. */
		for (size_t i = 0; i < d.n; i++) {
			cli_usage("usage", "%s", d.msg[i]);
		}
		diag_free(&d);
		return EXIT_USAGE;
	}
	if (rc != 0) {
		diag_print(&d, stderr, WHO);
		diag_free(&d);
		return EXIT_FAIL;
	}
	if (json) {
		json_t *j = usage_to_json(&rep);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(j);
	} else {
		size_t nrows, ncols;
		char **cells = usage_cells(&rep, &nrows, &ncols);

		if (csv) {
			print_csv(cells, nrows, ncols);
		} else {
			print_table(&rep, cells, nrows, ncols);
		}
		usage_cells_free(cells, nrows * ncols);
	}
	diag_free(&d);
	usage_report_free(&rep);
	return EXIT_OK;
}
