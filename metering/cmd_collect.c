/*
 * cmd_collect — `releve collect postfix|dovecot`: dispatch only.
 */
#include "collect.h"
#include "common/cli.h"
#include "common/commands.h"

static const char help[] =
	"Usage: releve collect postfix|dovecot [OPTIONS] FILE...|-\n"
	"\n"
	"  postfix  ingest Postfix logs: outbound messages per mailbox and day\n"
	"  dovecot  ingest Dovecot quota snapshots: storage per mailbox\n"
	"\n"
	"Run 'releve collect postfix --help' for the options of each.\n";

int cmd_collect(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"postfix", cmd_collect_postfix, "Postfix logs"},
		{"dovecot", cmd_collect_dovecot, "Dovecot storage"},
		{NULL, NULL, NULL},
	};

	return cli_dispatch("collect", help, subs, argc, argv);
}
