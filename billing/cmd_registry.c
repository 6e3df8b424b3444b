/*
 * cmd_registry — `releve registry import|show`: load the customer registry
 * (JSON, CSV, or mailcow's API answers) and print it.  Thin: reading files
 * and options here, parsing and validation in registry.c / mailcow.c,
 * storage in registry_db.c.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/cli.h"
#include "common/commands.h"
#include "common/db.h"
#include "common/file.h"
#include "common/session.h"
#include "common/xalloc.h"
#include "mailcow.h"
#include "registry.h"
#include "registry_db.h"

static const char help[] =
	"Usage: releve registry import [--format json|csv] [--dry-run] [--db CONNINFO] FILE|-\n"
	"       releve registry import --mailcow-domains FILE --mailcow-mailboxes FILE\n"
	"                              [--domain-map FILE] [--dry-run] [--db CONNINFO]\n"
	"       releve registry show [--json] [--customer ID] [--db CONNINFO]\n"
	"\n"
	"  import  validate a registry file and store it, all or nothing: the\n"
	"          customers it lists are created or updated, and their domains,\n"
	"          mailboxes and subscriptions become exactly those listed;\n"
	"          customers not in the file are untouched.  With --mailcow-*,\n"
	"          add or update domains and mailboxes from mailcow's API answers.\n"
	"  show    print the registry (a table, or the import document)\n"
	"\n"
	"Try 'releve registry import --help' or 'releve registry show --help'.\n";

static const char import_help[] =
	"Usage: releve registry import [--format json|csv] [--dry-run] [--db CONNINFO] FILE|-\n"
	"       releve registry import --mailcow-domains FILE --mailcow-mailboxes FILE\n"
	"                              [--domain-map FILE] [--dry-run] [--db CONNINFO]\n"
	"\n"
	"Validate every customer first and report every error (file, place,\n"
	"expected form) on stderr; store nothing unless all is valid.\n"
	"\n"
	"Options:\n"
	"  -f, --format json|csv      input format (default: csv when FILE ends\n"
	"                             in .csv, else json)\n"
	"  -n, --dry-run              check everything, also against the\n"
	"                             database, then store nothing\n"
	"      --mailcow-domains FILE    answer of /api/v1/get/domain/all\n"
	"      --mailcow-mailboxes FILE  answer of /api/v1/get/mailbox/all\n"
	"      --domain-map FILE      lines 'domain customer_id' (or CSV\n"
	"                             domain,customer_id; # comments); else the\n"
	"                             domain tag customer:ID, else the mailbox\n"
	"                             custom attribute customer_id\n" SESSION_HELP
	"  -h, --help                 this help\n";

static const char show_help[] =
	"Usage: releve registry show [--json] [--customer ID] [--db CONNINFO]\n"
	"       releve registry show --unattributed [--json] [--db CONNINFO]\n"
	"\n"
	"Options:\n"
	"  -u, --unattributed the names the collectors saw that the registry\n"
	"                     does not know: SASL logins of outbound messages\n"
	"                     and Dovecot mailboxes, with the days seen\n"
	"  -j, --json         the import document (every field, null when\n"
	"                     absent), customers ordered by id: importing it\n"
	"                     back changes nothing\n"
	"  -c, --customer ID  only this customer\n" SESSION_HELP
	"  -h, --help         this help\n";

static int fail_diag(struct diag *d, const char *what)
{
	diag_print(d, stderr, "releve registry");
	if (what) {
		fprintf(stderr, "releve registry: %zu error%s, %s\n", d->n,
			d->n == 1 ? "" : "s", what);
	}
	diag_free(d);
	return EXIT_FAIL;
}

static int import_mailcow(const char *doms, const char *mbxs,
			  const char *map, const char *db, int dry_run)
{
	struct diag d = DIAG_INIT;
	struct mailcow m;
	struct mailcow_stats st;
	char *buf;
	size_t len = 0, i;
	PGconn *c;
	int rc;

	mailcow_init(&m);
	if ((buf = file_read_all(doms, &len, &d))) {
		mailcow_parse_domains(&m, doms, buf, len, &d);
		free(buf);
	}
	if ((buf = file_read_all(mbxs, &len, &d))) {
		mailcow_parse_mailboxes(&m, mbxs, buf, len, &d);
		free(buf);
	}
	if (map && (buf = file_read_all(map, &len, &d))) {
		mailcow_parse_map(&m, map, buf, len, &d);
		free(buf);
	}
	if (d.n) {
		mailcow_free(&m);
		return fail_diag(&d, "nothing stored");
	}
	mailcow_resolve(&m, &d);
	c = session_open("releve registry", db);
	if (!c) {
		mailcow_free(&m);
		return EXIT_FAIL;
	}
	rc = mailcow_db_store(c, &m, dry_run, &st, &d);
	db_close(c);
	for (i = 0; i < m.nunmapped; i++) {
		fprintf(stderr, "releve registry: domain %s: no customer found "
			"(no --domain-map line, no customer:ID tag, no mailbox "
			"custom attribute customer_id): left out with its mailboxes\n",
			m.unmapped[i]);
	}
	if (rc != 0) {
		mailcow_free(&m);
		return fail_diag(&d, "nothing stored");
	}
	printf("%smailcow sync: %zu domains (%zu unmapped), %ld domains added, "
	       "%ld mailboxes added or updated\n", dry_run ? "dry run: " : "",
	       m.ndom, m.nunmapped, st.domains_written, st.mailboxes_written);
	mailcow_free(&m);
	return EXIT_OK;
}

static int import_file(const char *path, const char *format, const char *db,
		       int dry_run)
{
	struct diag d = DIAG_INIT;
	struct registry r;
	struct registry_stats st;
	size_t len = 0, plen = strlen(path);
	char *buf;
	int csv, rc;
	PGconn *c;

	if (format) {
		csv = !strcmp(format, "csv");
	} else {
		csv = plen > 4 && !strcasecmp(path + plen - 4, ".csv");
	}
	registry_init(&r, strcmp(path, "-") ? path : "<stdin>");
	buf = file_read_all(path, &len, &d);
	if (!buf) {
		registry_free(&r);
		return fail_diag(&d, NULL);
	}
	if (csv) {
		rc = registry_parse_csv(&r, buf, len, &d);
	} else {
		rc = registry_parse_json_buffer(&r, buf, len, &d);
	}
	free(buf);
	/* Validate even after shape errors: the user gets every error. */
	if (registry_validate(&r, &d) != 0 || rc != 0) {
		registry_free(&r);
		return fail_diag(&d, "nothing stored");
	}
	c = session_open("releve registry", db);
	if (!c) {
		registry_free(&r);
		return EXIT_FAIL;
	}
	rc = registry_db_store(c, &r, dry_run, &st, &d);
	db_close(c);
	if (rc != 0) {
		registry_free(&r);
		return fail_diag(&d, "nothing stored");
	}
	printf("%s%s: %zu customers (%ld new, %ld changed); domains %ld written, "
	       "%ld deleted; mailboxes %ld written, %ld deleted; subscriptions "
	       "%ld written, %ld deleted\n", dry_run ? "dry run, nothing stored: " : "",
	       r.file, r.n, st.customers_new, st.customers_changed,
	       st.domains_written, st.domains_deleted, st.mailboxes_written,
	       st.mailboxes_deleted, st.subs_written, st.subs_deleted);
	registry_free(&r);
	return EXIT_OK;
}

static int registry_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{"format", required_argument, NULL, 'f'},
		{"dry-run", no_argument, NULL, 'n'},
		{"db", required_argument, NULL, 'd'},
		{"mailcow-domains", required_argument, NULL, 'D'},
		{"mailcow-mailboxes", required_argument, NULL, 'M'},
		{"domain-map", required_argument, NULL, 'm'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *format = NULL, *db = NULL, *doms = NULL, *mbxs = NULL,
		   *map = NULL;
	int c, dry_run = 0;

	while ((c = getopt_long(argc, argv, "f:nd:h", opts, NULL)) != -1) {
		switch (c) {
		case 'f':
			format = optarg;
			if (strcmp(format, "json") && strcmp(format, "csv")) {
				return cli_usage("registry",
						 "--format is json or csv, not '%s'",
						 format);
			}
			break;
		case 'n':
			dry_run = 1;
			break;
		case 'd':
			db = optarg;
			break;
		case 'D':
			doms = optarg;
			break;
		case 'M':
			mbxs = optarg;
			break;
		case 'm':
			map = optarg;
			break;
		case 'h':
			fputs(import_help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("registry", "bad option");
		}
	}
	if (doms || mbxs || map) {
		if (!doms || !mbxs) {
			return cli_usage("registry", "a mailcow sync needs both "
					 "--mailcow-domains and --mailcow-mailboxes");
		}
		if (optind != argc || format) {
			return cli_usage("registry", "a mailcow sync takes no "
					 "registry FILE and no --format");
		}
		return import_mailcow(doms, mbxs, map, db, dry_run);
	}
	if (optind + 1 != argc) {
		return cli_usage("registry", optind == argc
					 ? "import needs a FILE (or - for stdin)"
					 : "import takes one FILE");
	}
	return import_file(argv[optind], format, db, dry_run);
}

/* s cut or padded to width characters (UTF-8 aware), then a space. */
static void cell(const char *s, size_t width)
{
	size_t n = 0;
	const char *p = s;

	while (*p && n < width) {
		p++;
		while ((*p & 0xc0) == 0x80) {
			p++;
		}
		n++;
	}
	printf("%.*s%*s ", (int)(p - s), s, (int)(width - n), "");
}

static void print_table(const struct registry *r)
{
	size_t i, j;

	printf("%-12s %-32s %-11s %-2s %-16s %7s %9s  %s\n", "ID", "NAME",
	       "KIND", "CC", "VAT NUMBER", "DOMAINS", "MAILBOXES",
	       "SUBSCRIPTIONS");
	for (i = 0; i < r->n; i++) {
		const struct reg_customer *c = &r->v[i];

		cell(c->id, 12);
		cell(c->name, 32);
		printf("%-11s %-2s %-16s %7zu %9zu  ", c->kind, c->country,
		       c->vat_number ? c->vat_number : "-", c->ndomains,
		       c->nmailboxes);
		for (j = 0; j < c->nsubs; j++) {
			printf("%s%s %s..%s", j ? ", " : "", c->subs[j].plan,
			       c->subs[j].start,
			       c->subs[j].end ? c->subs[j].end : "");
		}
		printf("%s\n", c->nsubs ? "" : "-");
	}
	printf("%zu customers\n", r->n);
}

/*
 * Names seen by the collectors and unknown to the registry (now: a name
 * registered since is no longer listed, though its old rows stay
 * unattributed until re-collected).
 */
static const char unattributed_sql[] =
	"SELECT 'sasl' AS kind, o.sasl_username AS name, min(o.day) AS first_day,"
	"  max(o.day) AS last_day, count(*) AS messages, NULL::bigint AS bytes"
	" FROM outbound_messages o"
	" WHERE o.customer_id IS NULL AND o.sasl_username IS NOT NULL"
	"  AND NOT EXISTS (SELECT 1 FROM mailboxes m"
	"   WHERE m.login = lower(o.sasl_username))"
	" GROUP BY o.sasl_username"
	" UNION ALL"
	" SELECT 'mailbox', n.name, min(x.day), max(x.day), NULL,"
	"  (array_agg(x.max_bytes[n.id] ORDER BY x.day DESC))[1]"
	" FROM storage_names n"
	" JOIN storage_daily x ON x.block = n.id >> 10"
	"  AND x.max_bytes[n.id] IS NOT NULL"
	" WHERE NOT EXISTS (SELECT 1 FROM mailboxes m"
	"   WHERE m.address = lower(n.name))"
	"  AND NOT EXISTS (SELECT 1 FROM mailboxes m WHERE m.login = n.name)"
	" GROUP BY n.name"
	" ORDER BY 1, 2";

static int show_unattributed(PGconn *conn, int json)
{
	struct diag d = DIAG_INIT;
	PGresult *r = db_exec(conn, &d, unattributed_sql, 0, NULL);

	if (!r) {
		return fail_diag(&d, NULL);
	}
	if (json) {
		json_t *arr = json_array();

		for (int i = 0; i < PQntuples(r); i++) {
			json_t *o = json_object();
			const char *m = db_get(r, i, "messages");
			const char *b = db_get(r, i, "bytes");

			json_object_set_new(o, "kind", json_string(db_get(r, i, "kind")));
			json_object_set_new(o, "name", json_string(db_get(r, i, "name")));
			json_object_set_new(o, "first_day",
					    json_string(db_get(r, i, "first_day")));
			json_object_set_new(o, "last_day",
					    json_string(db_get(r, i, "last_day")));
			json_object_set_new(o, "messages",
					    m ? json_integer(atoll(m)) : json_null());
			json_object_set_new(o, "last_bytes",
					    b ? json_integer(atoll(b)) : json_null());
			json_array_append_new(arr, o);
		}
		json_t *doc = json_pack("{s:o}", "unattributed", arr);

		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(doc);
	} else {
		printf("%-8s %-40s %-10s %-10s %10s %14s\n", "KIND", "NAME",
		       "FIRST", "LAST", "MESSAGES", "LAST BYTES");
		for (int i = 0; i < PQntuples(r); i++) {
			const char *m = db_get(r, i, "messages");
			const char *b = db_get(r, i, "bytes");

			printf("%-8s %-40s %-10s %-10s %10s %14s\n",
			       db_get(r, i, "kind"), db_get(r, i, "name"),
			       db_get(r, i, "first_day"),
			       db_get(r, i, "last_day"), m ? m : "-",
			       b ? b : "-");
		}
		printf("%d unattributed\n", PQntuples(r));
	}
	PQclear(r);
	return EXIT_OK;
}

static int registry_show(int argc, char **argv)
{
	static const struct option opts[] = {
		{"json", no_argument, NULL, 'j'},
		{"customer", required_argument, NULL, 'c'},
		{"unattributed", no_argument, NULL, 'u'},
		{"db", required_argument, NULL, 'd'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	const char *db = NULL, *customer = NULL;
	struct diag d = DIAG_INIT;
	struct registry r;
	int c, json = 0, unatt = 0, rc;
	PGconn *conn;

	while ((c = getopt_long(argc, argv, "jc:ud:h", opts, NULL)) != -1) {
		switch (c) {
		case 'j':
			json = 1;
			break;
		case 'u':
			unatt = 1;
			break;
		case 'c':
			customer = optarg;
			break;
		case 'd':
			db = optarg;
			break;
		case 'h':
			fputs(show_help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("registry", "bad option");
		}
	}
	if (optind != argc) {
		return cli_usage("registry", "unexpected argument '%s'",
				 argv[optind]);
	}
	if (unatt && customer) {
		return cli_usage("registry", "--unattributed lists names of no "
				 "customer: it does not go with --customer");
	}
	conn = session_open("releve registry", db);
	if (!conn) {
		return EXIT_FAIL;
	}
	if (unatt) {
		rc = show_unattributed(conn, json);
		db_close(conn);
		return rc;
	}
	registry_init(&r, "database");
	rc = registry_db_load(conn, customer, &r, &d);
	db_close(conn);
	if (rc != 0) {
		registry_free(&r);
		return fail_diag(&d, NULL);
	}
	if (customer && r.n == 0) {
		registry_free(&r);
		return cli_fail("registry show: no customer '%s'", customer);
	}
	if (json) {
		json_t *doc = registry_to_json(&r);

		json_dumpf(doc, stdout, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
		fputc('\n', stdout);
		json_decref(doc);
	} else {
		print_table(&r);
	}
	registry_free(&r);
	return EXIT_OK;
}

int cmd_registry(int argc, char **argv)
{
	static const struct cli_sub subs[] = {
		{"import", registry_import, "validate and store a registry file"},
		{"show", registry_show, "print the registry"},
		{NULL, NULL, NULL},
	};

	return cli_dispatch("registry", help, subs, argc, argv);
}
