/*
 * cmd_seller — `releve seller set|show`: the seller's legal identity
 * printed on invoices.  Thin: billing/seller.c validates and stores.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "common/cli.h"
#include "common/commands.h"
#include "common/db.h"
#include "common/jsonv.h"
#include "common/session.h"
#include "money.h"
#include "seller.h"

static const char help[] =
	"Usage: releve seller set FILE.json [--check] [--db CONNINFO]\n"
	"       releve seller show [--json] [--db CONNINFO]\n"
	"\n"
	"  set   validate the seller's identity and store it (it replaces the\n"
	"        previous one; issued invoices keep their own copy)\n"
	"  show  print it, or with --json the document `seller set` reads\n"
	"\n"
	"Run `releve seller SUBCOMMAND --help` for the options.\n";

static const char set_help[] =
	"Usage: releve seller set FILE.json [--check] [--db CONNINFO]\n"
	"\n"
	"Validate FILE.json (\"-\" for stdin) and store it.  Every error is\n"
	"reported with the file and JSON path; on any error nothing is\n"
	"stored and the exit status is 1.\n"
	"\n"
	"Options:\n" SESSION_HELP
	"  -n, --check        validate only, do not connect to the database\n"
	"  -h, --help         this help\n";

static const char show_help[] =
	"Usage: releve seller show [--json] [--db CONNINFO]\n"
	"\n"
	"Options:\n" SESSION_HELP
	"  -j, --json         the JSON document `seller set` reads\n"
	"  -h, --help         this help\n";

static int seller_set(int argc, char **argv)
{
	const char *db = NULL, *path, *name;
	struct diag d = DIAG_INIT;
	struct seller s;
	int check, changed = 0, rc;
	json_t *doc;
	PGconn *conn;

	rc = cli_file_command(argc, argv, "seller", "set", set_help, &db,
			      &check, &path);
	if (rc >= 0) {
		return rc;
	}
	name = strcmp(path, "-") ? path : "<stdin>";
	doc = jsonv_load_file(path, &d);
	if (!doc || seller_from_json(&s, name, doc, &d) != 0) {
		json_decref(doc);
		diag_print(&d, stderr, "releve seller");
		diag_free(&d);
		return EXIT_FAIL;
	}
	json_decref(doc);
	if (check) {
		printf("%s: seller %s is valid\n", name, s.name);
		seller_free(&s);
		return EXIT_OK;
	}
	conn = session_open("releve seller", db);
	if (!conn) {
		seller_free(&s);
		return EXIT_FAIL;
	}
	rc = seller_db_store(conn, &s, &changed, &d);
	if (rc != 0) {
		diag_print(&d, stderr, "releve seller");
	} else {
		printf("seller %s (SIREN %s): %s\n", s.name, s.siren,
		       changed ? "stored" : "unchanged");
	}
	diag_free(&d);
	seller_free(&s);
	db_close(conn);
	return rc == 0 ? EXIT_OK : EXIT_FAIL;
}

static void print_seller(const struct seller *s)
{
	char buf[MONEY_FMT_MAX], buf2[MONEY_FMT_MAX];

	printf("%s, %s", s->name, s->legal_form);
	if (s->has_capital) {
		printf(" au capital de %s EUR", money_format(buf, s->capital, 2));
	}
	printf("\n%s\n", s->line1);
	if (s->line2) {
		printf("%s\n", s->line2);
	}
	printf("%s %s, %s\n", s->postal_code, s->city, s->country);
	printf("SIREN %s%s%s, TVA %s\n", s->siren, s->rcs ? ", " : "",
	       s->rcs ? s->rcs : "", s->vat_number);
	printf("IBAN %s, BIC %s\n", s->iban, s->bic);
	printf("%s%s%s%s%s\n", s->email, s->phone ? ", " : "",
	       s->phone ? s->phone : "", s->website ? ", " : "",
	       s->website ? s->website : "");
	printf("Payment: %d days; %s\n", s->payment_terms_days,
	       s->payment_terms);
	printf("Late penalties: %s %% a year; recovery indemnity %s EUR\n",
	       money_format(buf, s->late_penalty_rate, 2),
	       money_format(buf2, s->recovery_indemnity, 2));
}

static int seller_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"json", no_argument, NULL, 'j'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL;
	struct diag d = DIAG_INIT;
	struct seller s;
	int c, json = 0, got, rc = EXIT_FAIL;
	PGconn *conn;

	while ((c = getopt_long(argc, argv, "d:jh", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'j':
			json = 1;
			break;
		case 'h':
			fputs(show_help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("seller", "bad option");
		}
	}
	if (optind != argc) {
		return cli_usage("seller", "unexpected argument '%s'",
				 argv[optind]);
	}
	conn = session_open("releve seller", db);
	if (!conn) {
		return EXIT_FAIL;
	}
	got = seller_db_load(conn, &s, &d);
	if (got == 1) {
		diag_add(&d, "no seller set (releve seller set FILE.json)");
	} else if (got == 0 && json) {
		json_t *j = seller_to_json(&s);

		json_dumpf(j, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		putchar('\n');
		json_decref(j);
		rc = EXIT_OK;
	} else if (got == 0) {
		print_seller(&s);
		rc = EXIT_OK;
	}
	seller_free(&s);
	diag_print(&d, stderr, "releve seller");
	diag_free(&d);
	db_close(conn);
	return rc;
}

int cmd_seller(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"set", seller_set, "validate and store the seller's identity"},
		{"show", seller_show, "print the seller's identity"},
		{NULL, NULL, NULL},
	};

	return cli_dispatch("seller", help, subs, argc, argv);
}
