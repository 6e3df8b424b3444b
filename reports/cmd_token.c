/*
 * cmd_token — `releve token create|list|revoke`: the bearer tokens of the
 * HTTP API (reports/token.h).  `create` prints the new token once, alone
 * on the last line of its output; nothing can show it again.  `list`
 * never shows tokens, only what they are for.
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
#include "token.h"
#include "usage.h"

static const char help[] =
	"Usage: releve token create --customer ID [--name LABEL] [--expires DATE]\n"
	"       releve token create --admin [--name LABEL] [--expires DATE]\n"
	"       releve token list [--json]\n"
	"       releve token revoke ID\n"
	"\n"
	"Bearer tokens of the HTTP API (releve serve).\n"
	"\n"
	"  create    make a token and print it once (last line of the output)\n"
	"  list      list tokens (never the tokens themselves)\n"
	"  revoke    revoke a token at once\n"
	"\n"
	"Run 'releve token SUBCOMMAND --help' for the options.\n";

static const char create_help[] =
	"Usage: releve token create (--customer ID | --admin) [--name LABEL]\n"
	"                           [--expires YYYY-MM-DD] [--db CONNINFO]\n"
	"\n"
	"Make a token and print it, alone on the last line of the output.  It\n"
	"is shown only this once: the database keeps only its SHA-256.\n"
	"\n"
	"Options:\n"
	"  -c, --customer ID     the customer whose data the token reads\n"
	"  -a, --admin           an admin token: every customer (?customer=ID)\n"
	"                        and /metrics\n"
	"  -n, --name LABEL      what the token is for (shown by list)\n"
	"  -e, --expires DATE    last day of validity (included), in the\n"
	"                        billing time zone; default: never\n" SESSION_HELP
	"  -h, --help            this help\n";

static const char list_help[] =
	"Usage: releve token list [--json] [--db CONNINFO]\n"
	"\n"
	"List the tokens: id, customer, name, admin, created, expires, revoked,\n"
	"last used (to the minute).  Never the tokens themselves.\n"
	"\n"
	"Options:\n"
	"  -j, --json         a JSON array\n" SESSION_HELP
	"  -h, --help         this help\n";

static const char revoke_help[] =
	"Usage: releve token revoke ID [--db CONNINFO]\n"
	"\n"
	"Revoke token ID (see releve token list): requests with it are refused\n"
	"(401) from now on.\n"
	"\n"
	"Options:\n" SESSION_HELP
	"  -h, --help         this help\n";

static int token_create_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "customer", required_argument, NULL, 'c' },
		{ "admin", no_argument, NULL, 'a' },
		{ "name", required_argument, NULL, 'n' },
		{ "expires", required_argument, NULL, 'e' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *customer = NULL, *name = NULL, *expires = NULL, *db = NULL;
	struct diag d = DIAG_INIT;
	char tok[TOKEN_LEN + 1];
	int64_t id = 0;
	int c, admin = 0, rc;
	PGconn *conn;

	while ((c = getopt_long(argc, argv, "c:an:e:d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'c':
			customer = optarg;
			break;
		case 'a':
			admin = 1;
			break;
		case 'n':
			name = optarg;
			break;
		case 'e':
			expires = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			fputs(create_help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("token", "bad option");
		}
	}
	if (optind != argc) {
		return cli_usage("token", "unexpected argument '%s'",
				 argv[optind]);
	}
	if (!customer == !admin) {
		return cli_usage("token",
				 "create: give either --customer ID or --admin");
	}
	if (expires && usage_parse_date(expires) != 0) {
		return cli_usage("token",
				 "--expires: '%s' is not a date (YYYY-MM-DD)",
				 expires);
	}
	if (name && (!*name || strlen(name) > 200)) {
		return cli_usage("token",
				 "--name: 1 to 200 characters expected");
	}
	conn = session_open("releve token create", db);
	if (!conn) {
		return EXIT_FAIL;
	}
	rc = token_create(conn, customer, name, admin, expires, tok, &id, &d);
	db_close(conn);
	if (rc != 0) {
		diag_print(&d, stderr, "releve token create");
		diag_free(&d);
		return EXIT_FAIL;
	}
	if (admin) {
		printf("admin token %lld", (long long)id);
	} else {
		printf("token %lld for customer %s", (long long)id, customer);
	}
	if (name) {
		printf(" (%s)", name);
	}
	printf(", %s%s; shown only now:\n", expires ? "valid through " : "",
	       expires ? expires : "no expiry");
	printf("%s\n", tok);
	memset(tok, 0, sizeof(tok));
	return EXIT_OK;
}

static json_t *str_or_null(const char *s)
{
	return s ? json_string(s) : json_null();
}

static int token_list_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "json", no_argument, NULL, 'j' },
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL;
	struct diag d = DIAG_INIT;
	struct token_info *t;
	size_t n;
	int c, json = 0;
	PGconn *conn;

	while ((c = getopt_long(argc, argv, "jd:h", opts, NULL)) != -1) {
		switch (c) {
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
			return cli_usage("token", "bad option");
		}
	}
	if (optind != argc) {
		return cli_usage("token", "unexpected argument '%s'",
				 argv[optind]);
	}
	conn = session_open("releve token list", db);
	if (!conn) {
		return EXIT_FAIL;
	}
	if (token_list(conn, &t, &n, &d) != 0) {
		db_close(conn);
		diag_print(&d, stderr, "releve token list");
		diag_free(&d);
		return EXIT_FAIL;
	}
	db_close(conn);
	if (json) {
		json_t *a = json_array();

		for (size_t i = 0; i < n; i++) {
			json_t *o = json_object();

			json_object_set_new(o, "id", json_integer(t[i].id));
			json_object_set_new(o, "customer",
					    str_or_null(t[i].customer));
			json_object_set_new(o, "name", str_or_null(t[i].name));
			json_object_set_new(o, "admin",
					    json_boolean(t[i].admin));
			json_object_set_new(o, "created",
					    str_or_null(t[i].created));
			json_object_set_new(o, "expires",
					    str_or_null(t[i].expires));
			json_object_set_new(o, "revoked",
					    str_or_null(t[i].revoked));
			json_object_set_new(o, "last_used",
					    str_or_null(t[i].last_used));
			json_array_append_new(a, o);
		}
		json_dumpf(a, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(a);
	} else {
		printf("%-5s %-14s %-5s %-20s %-10s %-20s %-20s %s\n", "ID",
		       "CUSTOMER", "ADMIN", "CREATED", "EXPIRES", "REVOKED",
		       "LAST USED", "NAME");
		for (size_t i = 0; i < n; i++) {
			printf("%-5lld %-14s %-5s %-20s %-10s %-20s %-20s %s\n",
			       (long long)t[i].id,
			       t[i].customer ? t[i].customer : "-",
			       t[i].admin ? "yes" : "no", t[i].created,
			       t[i].expires ? t[i].expires : "-",
			       t[i].revoked ? t[i].revoked : "-",
			       t[i].last_used ? t[i].last_used : "-",
			       t[i].name ? t[i].name : "");
		}
	}
	token_info_free(t, n);
	return EXIT_OK;
}

static int token_revoke_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "db", required_argument, NULL, 'd' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *db = NULL;
	struct diag d = DIAG_INIT;
	char *end;
	long long id;
	int c, rc;
	PGconn *conn;

	while ((c = getopt_long(argc, argv, "d:h", opts, NULL)) != -1) {
		switch (c) {
		case 'd':
			db = optarg;
			break;
		case 'h':
			fputs(revoke_help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("token", "bad option");
		}
	}
	if (optind != argc - 1) {
		return cli_usage("token", "revoke: one token ID expected");
	}
	id = strtoll(argv[optind], &end, 10);
	if (*end || end == argv[optind] || id <= 0) {
		return cli_usage("token", "revoke: '%s' is not a token id",
				 argv[optind]);
	}
	conn = session_open("releve token revoke", db);
	if (!conn) {
		return EXIT_FAIL;
	}
	rc = token_revoke(conn, id, &d);
	db_close(conn);
	switch (rc) {
	case 0:
		printf("token %lld revoked\n", id);
		return EXIT_OK;
	case 1:
		return cli_fail("token revoke: no token %lld", id);
	case 2:
		printf("token %lld was already revoked\n", id);
		return EXIT_OK;
	default:
		diag_print(&d, stderr, "releve token revoke");
		diag_free(&d);
		return EXIT_FAIL;
	}
}

int cmd_token(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{ "create", token_create_cmd, "make a token (shown once)" },
		{ "list", token_list_cmd, "list tokens" },
		{ "revoke", token_revoke_cmd, "revoke a token" },
		{ NULL, NULL, NULL },
	};

	return cli_dispatch("token", help, subs, argc, argv);
}
