/*
 * releve — usage metering and billing for a mail host.  This file only
 * dispatches to the command groups; each lives in its own cmd_*.c.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"

#ifndef RELEVE_VERSION
#define RELEVE_VERSION "0.1"
#endif

static const char help[] =
	"Usage: releve COMMAND [SUBCOMMAND] [OPTIONS]\n"
	"\n"
	"Usage metering and billing for a mail host (Postfix, Dovecot).\n"
	"\n"
	"Commands:\n"
	"  local     start|stop|status|env|destroy the embedded PostgreSQL\n"
	"  db        migrate|status the database schema\n"
	"  registry  import|show customers, domains, mailboxes, subscriptions\n"
	"  tariff    load|show tariff grid versions\n"
	"  seller    set|show the seller's legal identity\n"
	"  collect   postfix|dovecot: ingest logs and quota snapshots\n"
	"  rollup    storage: recompute the daily storage of a period\n"
	"  rate      rate a month (prints, stores nothing)\n"
	"  quota     check|status|unblock|blockmap: soft quotas, live\n"
	"  usage     a customer's usage by day, domain or mailbox\n"
	"  invoice   run|issue|credit|list|show|pdf: the monthly invoices\n"
	"  pricesheet  the tariff grid as a one-page PDF\n"
	"  export    journal|lines|vat|plans|fec: finance exports\n"
	"  serve     the HTTP API for the customer panel\n"
	"  token     create|list|revoke HTTP API tokens\n"
	"  version   print the version\n"
	"\n"
	"Every command takes --help.  Database commands take --db CONNINFO\n"
	"(a libpq connection string or URI) or the PG* environment variables;\n"
	"passwords come from ~/.pgpass, never from the command line.\n"
	"Exit status: 0 done, 1 failure, 2 usage error.\n";

static const struct {
	const char *name;
	int (*run)(int, char **);
} groups[] = {
	{"local", cmd_local},	    {"db", cmd_db},
	{"registry", cmd_registry}, {"tariff", cmd_tariff},
	{"seller", cmd_seller},     {"collect", cmd_collect},
	{"rollup", cmd_rollup},	    {"rate", cmd_rate},
	{"quota", cmd_quota},
	{"usage", cmd_usage},	    {"invoice", cmd_invoice},
	{"pricesheet", cmd_pricesheet}, {"export", cmd_export},
	{"serve", cmd_serve},	    {"token", cmd_token},
};

int main(int argc, char **argv)
{
	if (argc < 2) {
		fputs(help, stderr);
		return EXIT_USAGE;
	}
	if (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h") ||
	    !strcmp(argv[1], "help")) {
		fputs(help, stdout);
		return EXIT_OK;
	}
	if (!strcmp(argv[1], "version") || !strcmp(argv[1], "--version")) {
		printf("releve %s\n", RELEVE_VERSION);
		return EXIT_OK;
	}
	for (size_t i = 0; i < sizeof(groups) / sizeof(groups[0]); i++) {
		if (!strcmp(argv[1], groups[i].name)) {
			cli_reset();
			return groups[i].run(argc - 1, argv + 1);
		}
	}
	fprintf(stderr, "releve: unknown command '%s'\nTry 'releve --help'.\n",
		argv[1]);
	return EXIT_USAGE;
}
