/*
 * cmd_tariff — `releve tariff load|show`: validate and store a tariff
 * version, print the stored versions.  Thin: billing/tariff.c validates,
 * billing/tariff_db.c stores.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/commands.h"
#include "common/db.h"
#include "common/jsonv.h"
#include "common/session.h"
#include "common/size.h"
#include "money.h"
#include "tariff.h"
#include "tariff_db.h"

static const char help[] =
	"Usage: releve tariff load FILE.json [--check] [--db CONNINFO]\n"
	"       releve tariff show [--version V] [--json] [--db CONNINFO]\n"
	"\n"
	"  load  validate a tariff grid and store it as a version (a new\n"
	"        version is added; the same version with the same content\n"
	"        is left alone; with a new content it is replaced, unless an\n"
	"        invoice uses it: then it is refused, load a new version)\n"
	"  show  print every version with its plans, or one version as the\n"
	"        JSON document that `tariff load` reads\n"
	"\n"
	"Run `releve tariff SUBCOMMAND --help` for the options.\n";

static const char load_help[] =
	"Usage: releve tariff load FILE.json [--check] [--db CONNINFO]\n"
	"\n"
	"Validate FILE.json (\"-\" for stdin) and store it in one transaction.\n"
	"Every error is reported with the file and JSON path; on any error\n"
	"nothing is stored and the exit status is 1.\n"
	"\n"
	"Options:\n" SESSION_HELP
	"  -n, --check        validate only, do not connect to the database\n"
	"  -h, --help         this help\n";

static const char show_help[] =
	"Usage: releve tariff show [--version V] [--json] [--db CONNINFO]\n"
	"\n"
	"Without --json, print every stored version (oldest first) as a\n"
	"table, or only version V.  With --json, print one version (V, else\n"
	"the latest by effective date) as the document `tariff load` reads.\n"
	"\n"
	"Options:\n" SESSION_HELP
	"  -V, --version V    this version only\n"
	"  -j, --json         JSON document on stdout\n"
	"  -h, --help         this help\n";

static int tariff_load(int argc, char **argv)
{
	const char *db = NULL, *path, *name;
	struct diag d = DIAG_INIT;
	struct tariff t;
	enum tariff_store how;
	int check, rc;
	json_t *doc;
	PGconn *conn;

	rc = cli_file_command(argc, argv, "tariff", "load", load_help, &db,
			      &check, &path);
	if (rc >= 0) {
		return rc;
	}
	name = strcmp(path, "-") ? path : "<stdin>";
	doc = jsonv_load_file(path, &d);
	if (!doc || tariff_from_json(&t, name, doc, &d) != 0) {
		json_decref(doc);
		diag_print(&d, stderr, "releve tariff");
		diag_free(&d);
		return EXIT_FAIL;
	}
	json_decref(doc);
	if (check) {
		printf("%s: tariff version %s is valid (%zu plans)\n", name,
		       t.version, t.nplans);
		tariff_free(&t);
		return EXIT_OK;
	}
	conn = session_open("releve tariff", db);
	if (!conn) {
		tariff_free(&t);
		return EXIT_FAIL;
	}
	rc = tariff_db_store(conn, &t, name, &how, &d);
	if (rc != 0) {
		diag_print(&d, stderr, "releve tariff");
	} else {
		printf("tariff version %s (effective %s, %zu plans): %s\n",
		       t.version, t.effective_from, t.nplans,
		       how == TARIFF_INSERTED	? "loaded"
		       : how == TARIFF_REPLACED ? "replaced"
						: "unchanged");
	}
	diag_free(&d);
	tariff_free(&t);
	db_close(conn);
	return rc == 0 ? EXIT_OK : EXIT_FAIL;
}

static void print_table(const struct tariff *t, int locked)
{
	char a[MONEY_FMT_MAX], b[MONEY_FMT_MAX], o[MONEY_FMT_MAX],
		s[SIZE_FMT_MAX];

	printf("Tariff %s: effective %s, %s, time zone %s%s\n", t->version,
	       t->effective_from, t->currency, t->timezone,
	       locked ? " (locked: used by an invoice)" : "");
	printf("  %-8s %-20s %14s %14s %14s\n", "code", "name", "monthly fee",
	       "outbound/day", "storage");
	for (size_t i = 0; i < t->nplans; i++) {
		const struct tariff_plan *p = &t->plans[i];

		printf("  %-8s %-20s %14s %14lld %14s\n", p->code, p->name,
		       money_format(a, p->monthly_fee, 2),
		       (long long)p->outbound_per_day,
		       size_format(s, p->storage_included));
	}
	if (t->has_addon) {
		printf("  storage add-on: %s %s per block of %s per month\n",
		       money_format(a, t->addon_monthly_fee, 2), t->currency,
		       size_format(s, t->addon_block));
	} else {
		printf("  storage add-on: none\n");
	}
	printf("  outbound: counted per %s, local recipients %s; warning at "
	       "%s x quota, block at %s x quota; %d tolerated over-quota "
	       "day%s per month, then %s %s per 1000\n",
	       tariff_unit_name(t->unit),
	       t->count_local ? "counted" : "not counted",
	       money_format(a, t->warn_ratio, 1),
	       money_format(b, t->block_ratio, 1), t->tolerated_days,
	       t->tolerated_days == 1 ? "" : "s",
	       money_format(o, t->overage_per_1000, 2), t->currency);
	printf("  VAT: %s\n", t->vat_oss ? "OSS (EU consumers at their "
					   "country's rate)"
					 : "no OSS (French VAT for EU consumers)");
}

static int tariff_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"version", required_argument, NULL, 'V'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *version = NULL;
	struct diag d = DIAG_INIT;
	int c, json = 0, rc = EXIT_FAIL, locked = 0;
	PGconn *conn;

	while ((c = getopt_long(argc, argv, "d:V:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'V':
			version = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(show_help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("tariff", "bad option");
		}
	}
	if (optind != argc) {
		return cli_usage("tariff", "unexpected argument '%s'",
				 argv[optind]);
	}
	conn = session_open("releve tariff", db);
	if (!conn) {
		return EXIT_FAIL;
	}
	if (json || version) {
		struct tariff t;
		int got = tariff_db_load(conn, version, &t, &locked, &d);

		if (got == 1) {
			if (version) {
				diag_add(&d, "no tariff version %s", version);
			} else {
				diag_add(&d, "no tariff loaded (releve tariff "
					 "load FILE.json)");
			}
		} else if (got == 0 && json) {
			json_t *j = tariff_to_json(&t);

			json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
			putchar('\n');
			json_decref(j);
			rc = EXIT_OK;
		} else if (got == 0) {
			print_table(&t, locked);
			rc = EXIT_OK;
		}
		tariff_free(&t);
	} else {
		struct tariff *ts;
		int *lk;
		size_t n;

		if (tariff_db_load_all(conn, &ts, &lk, &n, &d) == 0) {
			if (n == 0) {
				printf("no tariff loaded\n");
			}
			for (size_t i = 0; i < n; i++) {
				if (i) {
					putchar('\n');
				}
				print_table(&ts[i], lk[i]);
			}
			rc = EXIT_OK;
		}
		for (size_t i = 0; i < n; i++) {
			tariff_free(&ts[i]);
		}
		free(ts);
		free(lk);
	}
	diag_print(&d, stderr, "releve tariff");
	diag_free(&d);
	db_close(conn);
	return rc;
}

int cmd_tariff(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"load", tariff_load, "validate and store a tariff version"},
		{"show", tariff_show, "print the stored tariff versions"},
		{NULL, NULL, NULL},
	};

	return cli_dispatch("tariff", help, subs, argc, argv);
}
