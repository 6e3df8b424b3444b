/*
 * cmd_rollup — `releve rollup storage`: recompute the daily storage of
 * every mailbox and customer over a period (the collector already does it
 * for the days each snapshot touches; this is for a whole month before
 * rating, or after registry changes).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/commands.h"
#include "common/date.h"
#include "common/db.h"
#include "common/session.h"
#include "storage_db.h"

static const char help[] =
	"Usage: releve rollup storage (--period YYYY-MM | --from DATE --to DATE)\n"
	"                             [--carry-days N] [--db CONNINFO]\n"
	"\n"
	"Recompute the daily storage of every registered mailbox on every day\n"
	"it exists: the day's largest sample, else the last sample of the N\n"
	"days before (carried forward, default 7), else a gap counted as zero.\n"
	"Dates are billing days (the tariff's time zone); --to is inclusive.\n"
	"\n"
	"Options:\n" SESSION_HELP
	"  -p, --period YYYY-MM   a calendar month\n"
	"  -f, --from DATE        first day (YYYY-MM-DD)\n"
	"  -t, --to DATE          last day, inclusive\n"
	"  -c, --carry-days N     carry-forward limit in days (default 7)\n"
	"  -h, --help             this help\n";

static int rollup_storage(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"period", required_argument, NULL, 'p'},
		{"from", required_argument, NULL, 'f'},
		{"to", required_argument, NULL, 't'},
		{"carry-days", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *period = NULL, *from = NULL, *to = NULL;
	long carry = STORAGE_CARRY_DAYS;
	struct diag d = DIAG_INIT;
	struct rollup_result rr;
	PGconn *c;
	PGresult *r;
	char lo[16], hi[16];
	int opt;

	while ((opt = getopt_long(argc, argv, "d:p:f:t:c:h", opts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			db = optarg;
			break;
		case 'p':
			period = optarg;
			break;
		case 'f':
			from = optarg;
			break;
		case 't':
			to = optarg;
			break;
		case 'c': {
			char *end;

			carry = strtol(optarg, &end, 10);
			if (*end || end == optarg || carry < 0 || carry > 366) {
				return cli_usage("rollup", "--carry-days: '%s' "
						 "is not 0..366", optarg);
			}
			break;
		}
		case 'h':
			fputs(help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("rollup", "bad option");
		}
	}
	if (optind != argc) {
		return cli_usage("rollup", "unexpected argument '%s'",
				 argv[optind]);
	}
	if (!period == !(from && to) || (!period && (!from || !to))) {
		return cli_usage("rollup", "give --period, or --from and --to");
	}
	{
		int y, m, dd;

		if (period && period_parse(period, &y, &m)) {
			return cli_usage("rollup", "--period '%s': expected "
					 "YYYY-MM, such as 2026-10", period);
		}
		if (from && date_parse(from, &y, &m, &dd)) {
			return cli_usage("rollup", "--from '%s': expected a "
					 "date YYYY-MM-DD", from);
		}
		if (to && date_parse(to, &y, &m, &dd)) {
			return cli_usage("rollup", "--to '%s': expected a "
					 "date YYYY-MM-DD", to);
		}
	}
	c = session_open("releve rollup", db);
	if (!c) {
		return EXIT_FAIL;
	}
	{
		char month[16];
		const char *p[2];

		if (period) {
			snprintf(month, sizeof(month), "%.7s-01", period);
			p[0] = month;
			p[1] = NULL;
			r = db_exec(c, &d, "SELECT $1::date,"
				    " ($1::date + interval '1 month')::date",
				    1, p);
		} else {
			p[0] = from;
			p[1] = to;
			r = db_exec(c, &d, "SELECT $1::date, $2::date + 1"
					   " WHERE $1::date <= $2::date", 2, p);
			if (r && PQntuples(r) == 0) {
				PQclear(r);
				r = NULL;
				diag_add(&d, "--from %s is after --to %s", from, to);
			}
		}
		if (!r) {
			diag_print(&d, stderr, "releve rollup");
			diag_free(&d);
			db_close(c);
			return EXIT_FAIL;
		}
		snprintf(lo, sizeof(lo), "%s", PQgetvalue(r, 0, 0));
		snprintf(hi, sizeof(hi), "%s", PQgetvalue(r, 0, 1));
		PQclear(r);
	}
	if (db_begin(c, &d) || storage_rollup(c, lo, hi, (int)carry, &rr, &d) ||
	    db_commit(c, &d)) {
		db_rollback(c);
		diag_print(&d, stderr, "releve rollup");
		diag_free(&d);
		db_close(c);
		return EXIT_FAIL;
	}
	printf("storage rolled up from %s to %s (exclusive): %lld mailbox-days,"
	       " %lld carried forward, %lld gaps\n", lo, hi, rr.rows,
	       rr.carried, rr.gaps);
	db_close(c);
	return EXIT_OK;
}

int cmd_rollup(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"storage", rollup_storage, "daily storage"},
		{NULL, NULL, NULL},
	};

	return cli_dispatch("rollup", help, subs, argc, argv);
}
