/*
 * cmd_db — `releve db migrate|status`: apply and list schema migrations.
 */
#include <getopt.h>
#include <stdio.h>

#include "cli.h"
#include "commands.h"
#include "db.h"
#include "migrate.h"
#include "session.h"

static const char help[] =
	"Usage: releve db migrate|status [--db CONNINFO] [--sql-dir DIR]\n"
	"\n"
	"  migrate  apply the pending migrations, in order, each in its own\n"
	"           transaction; refuses to run when an applied migration's\n"
	"           text has changed since\n"
	"  status   list every migration: applied (when) or pending\n"
	"\n"
	"Options:\n" SESSION_HELP
	"  --sql-dir DIR      read sql/NNN_name.sql from DIR instead of the\n"
	"                     migrations built into this binary\n"
	"  -h, --help         this help\n";

static int parse(int argc, char **argv, const char **db, const char **dir)
{
	static const struct option opts[] = {
		{"db", required_argument, NULL, 'd'},
		{"sql-dir", required_argument, NULL, 'S'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*db = *dir = NULL;
	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			*db = optarg;
			break;
		case 'S':
			*dir = optarg;
			break;
		case 'h':
			fputs(help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("db", "bad option");
		}
	}
	if (optind != argc) {
		return cli_usage("db", "unexpected argument '%s'", argv[optind]);
	}
	return -1;
}

static int run(int argc, char **argv, int apply)
{
	const char *db, *dir;
	struct diag d = DIAG_INIT;
	struct migration_set set;
	PGconn *c;
	int rc = parse(argc, argv, &db, &dir);

	if (rc >= 0) {
		return rc;
	}
	if (migrate_load(&set, dir, &d) != 0) {
		diag_print(&d, stderr, "releve db");
		diag_free(&d);
		migrate_set_free(&set);
		return EXIT_FAIL;
	}
	c = session_open_raw("releve db", db);
	if (!c) {
		migrate_set_free(&set);
		return EXIT_FAIL;
	}
	if (apply) {
		rc = migrate_apply(c, &set, stdout, &d);
	} else {
		rc = migrate_status(c, &set, stdout, &d);
	}
	diag_print(&d, stderr, "releve db");
	diag_free(&d);
	migrate_set_free(&set);
	db_close(c);
	return rc == 0 ? EXIT_OK : EXIT_FAIL;
}

static int db_migrate(int argc, char **argv)
{
	return run(argc, argv, 1);
}

static int db_status(int argc, char **argv)
{
	return run(argc, argv, 0);
}

int cmd_db(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"migrate", db_migrate, "apply pending migrations"},
		{"status", db_status, "list migrations"},
		{NULL, NULL, NULL},
	};

	return cli_dispatch("db", help, subs, argc, argv);
}
