/*
 * cmd_export — `releve export journal|lines|vat|plans|fec (--period
 * YYYY-MM | --year YYYY) [-o FILE|DIR] [--db CONNINFO]`: the finance
 * exports of the issued documents of a month or a year (reports/export.c
 * does the work).  Without -o the export goes to stdout; with -o it is
 * built in memory and written atomically (common/atomicfile.h), so a
 * failed export never leaves a partial file behind; -o naming an existing
 * folder writes the default file name inside it (the FEC's legal name
 * <SIREN>FEC<AAAAMMJJ>.txt).  Exit 1 for a failure (database, an entry
 * that does not balance, no seller for the FEC), 2 for a wrong command
 * line (naming the bad option or period).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/atomicfile.h"
#include "common/cli.h"
#include "common/commands.h"
#include "common/db.h"
#include "common/session.h"
#include "common/xalloc.h"
#include "billing/seller.h"
#include "export.h"

#define WHO "releve export"

static const char help[] =
    "Usage: releve export KIND (--period YYYY-MM | --year YYYY)\n"
    "                     [-o FILE|DIR] [--db CONNINFO]\n"
    "\n"
    "Export the issued invoices and credit notes whose issue date is in\n"
    "the month or the year:\n"
    "  journal  one CSV row per document\n"
    "  lines    one CSV row per invoice line\n"
    "  vat      base and VAT by customer country, VAT regime and rate\n"
    "  plans    revenue by plan and line kind\n"
    "  fec      the Fichier des Écritures Comptables (tab-separated)\n"
    "\n"
    "Run `releve export KIND --help` for the options.\n";

static const char kind_help[] =
    "Usage: releve export %s (--period MONTH | --year YEAR)\n"
    "                     [-o FILE|DIR] [--db CONNINFO]\n"
    "\n"
    "%s\n"
    "\n"
    "Options:\n"
    "  -p, --period MONTH documents issued in MONTH (YYYY-MM)\n"
    "  -y, --year YEAR    documents issued in YEAR (YYYY)\n"
    "  -o, --output PATH  write PATH atomically (\"-\": stdout); an\n"
    "                     existing folder receives %s\n" SESSION_HELP
    "  -h, --help         this help\n"
    "\n"
    "Without --output the export is written on stdout.  A period without\n"
    "documents gives the header row alone (exit 0, a note on stderr).\n";

static const char *const kind_text[] = {
	[EXPORT_JOURNAL] =
	    "One row per invoice and credit note (CSV): number, kind,\n"
	    "issue_date, customer_id, customer_name, customer_country,\n"
	    "vat_regime, net, vat, total, due_date, currency,\n"
	    "credited_number.  Credit notes have negative amounts.",
	[EXPORT_LINES] =
	    "One row per document line (CSV): number, issue_date,\n"
	    "customer_id, line_no, kind, plan, description, quantity, unit,\n"
	    "unit_price, vat_rate, net.",
	[EXPORT_VAT] =
	    "Base and VAT by customer country, VAT regime and rate (CSV),\n"
	    "for the VAT (CA3) and OSS returns: country, regime, rate,\n"
	    "base, vat, documents.",
	[EXPORT_PLANS] =
	    "Revenue by plan and line kind (CSV): plan, kind, net, lines.",
	[EXPORT_FEC] =
	    "The Fichier des Écritures Comptables (article A47 A-1 du LPF):\n"
	    "one balanced entry per document in the seller's sales journal\n"
	    "and accounts (`releve seller set`, \"accounting\").",
};

static const char *const kind_default_name[] = {
	[EXPORT_JOURNAL] = "journal-PERIOD.csv",
	[EXPORT_LINES] = "lines-PERIOD.csv",
	[EXPORT_VAT] = "vat-PERIOD.csv",
	[EXPORT_PLANS] = "plans-PERIOD.csv",
	[EXPORT_FEC] = "<SIREN>FEC<AAAAMMJJ>.txt",
};

static int is_dir(const char *path)
{
	struct stat st;

	return stat(path, &st) == 0 && S_ISDIR(st.st_mode);
}

/* The mode a plain fopen() would give: 0666 less the umask. */
static mode_t file_mode(void)
{
	mode_t m = umask(022);

	umask(m);
	return 0666 & ~m;
}

static int run(enum export_kind kind, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "period", required_argument, NULL, 'p' },
		{ "year", required_argument, NULL, 'y' },
		{ "output", required_argument, NULL, 'o' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *period = NULL, *year = NULL, *output = NULL, *db = NULL;
	const char *name = export_kind_name(kind);
	struct export_period p;
	struct export_stats st = { 0, 0 };
	struct diag d = DIAG_INIT;
	struct seller s;
	int c, have_seller = 0, rc = EXIT_FAIL;
	char fname[EXPORT_NAME_MAX], *path = NULL, *buf = NULL;
	size_t len = 0;
	FILE *out = stdout;
	PGconn *conn;

	while ((c = getopt_long(argc, argv, "p:y:o:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'p':
			period = optarg;
			break;
		case 'y':
			year = optarg;
			break;
		case 'o':
			output = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			printf(kind_help, name, kind_text[kind],
			       kind_default_name[kind]);
			return EXIT_OK;
		default:
			return cli_usage("export", "%s: bad option", name);
		}
	}
	if (optind < argc) {
		return cli_usage("export", "%s: unexpected argument '%s'", name,
				 argv[optind]);
	}
	if (period && year) {
		return cli_usage("export",
				 "%s: --period and --year exclude "
				 "each other",
				 name);
	}
	if (!period && !year) {
		return cli_usage("export",
				 "%s: --period YYYY-MM or --year "
				 "YYYY is required",
				 name);
	}
	if (period && export_period_month(period, &p) != 0) {
		return cli_usage("export",
				 "--period: '%s' is not a month "
				 "(YYYY-MM, month 01 to 12)",
				 period);
	}
	if (year && export_period_year(year, &p) != 0) {
		return cli_usage("export",
				 "--year: '%s' is not a year (YYYY, "
				 "1900 to 9999)",
				 year);
	}
	if (output && !strcmp(output, "-")) {
		output = NULL;
	}

	conn = session_open(WHO, db);
	if (!conn) {
		return EXIT_FAIL;
	}
	if (kind == EXPORT_FEC) {
		int got = seller_db_load(conn, &s, &d);

		if (got != 0) {
			if (got > 0) {
				diag_add(&d, "fec: no seller is set: the FEC "
					     "needs its SIREN and accounts "
					     "(releve seller set FILE)");
			}
			goto out;
		}
		have_seller = 1;
	}
	if (output) {
		path = is_dir(output)
			   ? xasprintf(
				 "%s/%s", output,
				 export_file_name(fname, kind, &p,
						  have_seller ? s.siren : NULL))
			   : xstrdup(output);
		out = open_memstream(&buf, &len);
		if (!out) {
			abort(); /* out of memory */
		}
	}
	if (export_run(kind, conn, &p, have_seller ? &s : NULL, out, &st, &d) !=
	    0) {
		goto out;
	}
	if (output) {
		if (fclose(out) != 0) {
			out = NULL;
			diag_add(&d, "%s: cannot build the output", path);
			goto out;
		}
		out = NULL;
		if (atomicfile_write(path, buf, len, file_mode(), &d) != 0) {
			goto out;
		}
		printf("%s\n", path);
	}
	if (st.documents == 0) {
		fprintf(stderr,
			"%s: %s: no issued document in %s (header "
			"only)\n",
			WHO, name, p.label);
	}
	rc = EXIT_OK;
out:
	if (output && out) {
		fclose(out);
	}
	if (rc != EXIT_OK) {
		diag_print(&d, stderr, WHO);
	}
	diag_free(&d);
	free(buf);
	free(path);
	if (have_seller) {
		seller_free(&s);
	}
	db_close(conn);
	return rc;
}

static int run_journal(int argc, char **argv)
{
	return run(EXPORT_JOURNAL, argc, argv);
}

static int run_lines(int argc, char **argv)
{
	return run(EXPORT_LINES, argc, argv);
}

static int run_vat(int argc, char **argv)
{
	return run(EXPORT_VAT, argc, argv);
}

static int run_plans(int argc, char **argv)
{
	return run(EXPORT_PLANS, argc, argv);
}

static int run_fec(int argc, char **argv)
{
	return run(EXPORT_FEC, argc, argv);
}

int cmd_export(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "journal", run_journal, "one row per document" },
		{ "lines", run_lines, "one row per invoice line" },
		{ "vat", run_vat, "base and VAT by country, regime, rate" },
		{ "plans", run_plans, "revenue by plan and line kind" },
		{ "fec", run_fec, "Fichier des Écritures Comptables" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch("export", help, subs, argc, argv);
}
