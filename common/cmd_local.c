/*
 * cmd_local — `releve local start|stop|status|env|destroy`: the embedded
 * throwaway PostgreSQL of the demo and the tests (see pglocal.h).
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "pglocal.h"

static const char help[] =
	"Usage: releve local start|stop|status|env|destroy [--dir DIR]\n"
	"\n"
	"Manage the project's embedded throwaway PostgreSQL cluster: a socket\n"
	"only server (no TCP) whose data and socket live in\n"
	"/var/tmp/releve-UID-HASH, linked from DIR/var/pg.\n"
	"\n"
	"  start    create the cluster if needed, start it unless running,\n"
	"           create the 'releve' database\n"
	"  stop     stop it (fast shutdown)\n"
	"  status   exit 0 when running, 1 when not\n"
	"  env      print export lines for PGHOST, PGPORT, PGUSER, PGDATABASE:\n"
	"             eval \"$(releve local env)\"\n"
	"  destroy  stop it and delete its data\n"
	"\n"
	"Options:\n"
	"  -C, --dir DIR  the project folder (default: the current folder)\n"
	"  -h, --help     this help\n"
	"\n"
	"As root the server runs as the 'postgres' user (RELEVE_PG_USER), since\n"
	"PostgreSQL refuses to run as root.  RELEVE_PG_BINDIR names the folder\n"
	"of initdb and pg_ctl (default: the newest /usr/lib/postgresql/N/bin).\n";

static int parse(int argc, char **argv, const char **dir)
{
	static const struct option opts[] = {
		{"dir", required_argument, NULL, 'C'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;

	*dir = getenv("RELEVE_LOCAL_DIR");
	while ((c = getopt_long(argc, argv, "C:h", opts, NULL)) != -1) {
		switch (c) {
		case 'C':
			*dir = optarg;
			break;
		case 'h':
			fputs(help, stdout);
			return -1;
		default:
			return cli_usage("local", "bad option"), -2;
		}
	}
	if (optind != argc) {
		return cli_usage("local", "unexpected argument '%s'",
				 argv[optind]), -2;
	}
	return 0;
}

/* Parse options and prepare pl; returns -1 (exit 0), -2 (exit 2), -3
 * (exit 1) or 0. */
static int setup(int argc, char **argv, struct pglocal *pl)
{
	const char *dir;
	struct diag d = DIAG_INIT;
	int rc = parse(argc, argv, &dir);

	if (rc) {
		return rc;
	}
	if (pglocal_init(pl, dir, &d) != 0) {
		diag_print(&d, stderr, "releve local");
		diag_free(&d);
		pglocal_free(pl);
		return -3;
	}
	return 0;
}

static int finish(int rc)
{
	return rc == -1 ? EXIT_OK : rc == -2 ? EXIT_USAGE : EXIT_FAIL;
}

static int local_start(int argc, char **argv)
{
	struct pglocal pl;
	struct diag d = DIAG_INIT;
	int started, rc = setup(argc, argv, &pl);

	if (rc) {
		return finish(rc);
	}
	if (pglocal_start(&pl, &started, &d) != 0) {
		diag_print(&d, stderr, "releve local start");
		rc = EXIT_FAIL;
	} else {
		fprintf(stderr, "releve local: PostgreSQL %s in %s (socket %s)\n",
			started ? "started" : "already running", pl.state,
			pl.sock);
		rc = EXIT_OK;
	}
	diag_free(&d);
	pglocal_free(&pl);
	return rc;
}

static int local_stop(int argc, char **argv)
{
	struct pglocal pl;
	struct diag d = DIAG_INIT;
	int stopped, rc = setup(argc, argv, &pl);

	if (rc) {
		return finish(rc);
	}
	if (pglocal_stop(&pl, &stopped, &d) != 0) {
		diag_print(&d, stderr, "releve local stop");
		rc = EXIT_FAIL;
	} else {
		fprintf(stderr, "releve local: PostgreSQL %s\n",
			stopped ? "stopped" : "was not running");
		rc = EXIT_OK;
	}
	diag_free(&d);
	pglocal_free(&pl);
	return rc;
}

static int local_status(int argc, char **argv)
{
	struct pglocal pl;
	int rc = setup(argc, argv, &pl);

	if (rc) {
		return finish(rc);
	}
	int up = pglocal_running(&pl);

	printf("%s %s\n", up ? "running" : "stopped", pl.state);
	pglocal_free(&pl);
	return up ? EXIT_OK : EXIT_FAIL;
}

static int local_env(int argc, char **argv)
{
	struct pglocal pl;
	int rc = setup(argc, argv, &pl);

	if (rc) {
		return finish(rc);
	}
	pglocal_env(&pl, stdout);
	pglocal_free(&pl);
	return EXIT_OK;
}

static int local_destroy(int argc, char **argv)
{
	struct pglocal pl;
	struct diag d = DIAG_INIT;
	int rc = setup(argc, argv, &pl);

	if (rc) {
		return finish(rc);
	}
	if (pglocal_destroy(&pl, &d) != 0) {
		diag_print(&d, stderr, "releve local destroy");
		rc = EXIT_FAIL;
	} else {
		fprintf(stderr, "releve local: removed %s\n", pl.state);
		rc = EXIT_OK;
	}
	diag_free(&d);
	pglocal_free(&pl);
	return rc;
}

int cmd_local(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"start", local_start, "start the cluster"},
		{"stop", local_stop, "stop the cluster"},
		{"status", local_status, "is it running"},
		{"env", local_env, "export lines for psql and releve"},
		{"destroy", local_destroy, "stop and delete"},
		{NULL, NULL, NULL},
	};

	return cli_dispatch("local", help, subs, argc, argv);
}
