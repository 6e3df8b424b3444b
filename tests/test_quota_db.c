/*
 * test_quota_db — `releve quota` on a real PostgreSQL: notices once per
 * customer, day and level through a fake sendmail (a shell script that
 * appends what it reads to a file), blocks until the next local midnight
 * (a DST day included), unblock, and the two Postfix tables answered by
 * the real `postmap -q`: the texthash: file from `quota blockmap` and the
 * pgsql: table of contrib/postfix against the test database.
 *
 * Tariff (examples/tariff.json): Europe/Paris, recipients, local ones not
 * counted, warn 0.8, block 2.0; S 100/day, M 500/day.  Customers
 * (examples/registry.json): C-1001 M fr (4 mailboxes, one with login
 * compta.lambert), C-1002 S fr, C-1005 S en.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "testutil.h"

#define ACTION "REJECT 5.7.1 Sending quota exceeded, try again tomorrow"

static PGconn *db;
static char *maillog, *sendmail;

static int setup(void **state)
{
	char *script;

	(void)state;
	db = testdb_open("quota");
	testdb_load_examples(0);
	maillog = strdup(test_write_file("mail.log", ""));
	script = test_write_file("fake-sendmail",
		"#!/bin/sh\n"
		"# Record the arguments and the message, like sendmail -t.\n"
		"{ echo \"ARGS: $*\"; cat; echo '--END--'; } >> \"$MAILLOG\"\n");
	if (asprintf(&sendmail, "/bin/sh %s -t -oi", script) < 0) {
		abort();
	}
	setenv("MAILLOG", maillog, 1);
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	PQfinish(db);
	free(maillog);
	free(sendmail);
	return 0;
}

/* How many messages the fake sendmail got so far. */
static int mails(void)
{
	char *s = test_read_file(maillog);
	int n = 0;

	for (const char *p = s; (p = strstr(p, "--END--")); p++) {
		n++;
	}
	free(s);
	return n;
}

/* The last message the fake sendmail got (caller frees). */
static char *last_mail(void)
{
	char *s = test_read_file(maillog), *last = s, *p, *r;

	for (p = s; (p = strstr(p, "ARGS: ")); p++) {
		last = p;
	}
	r = strdup(last);
	free(s);
	return r;
}

static int check_at(const char *at)
{
	char *out = NULL, *err = NULL;
	int rc = test_run(NULL, &out, &err, "quota", "check", "--at", at,
			  "--sendmail", sendmail, NULL);

	if (rc != 0) {
		fprintf(stderr, "quota check: %s%s", out, err);
	}
	free(out);
	free(err);
	return rc;
}

static long count(const char *sql)
{
	char *v = testdb_value(db, sql);
	long n = v ? atol(v) : -1;

	free(v);
	return n;
}

static void usage(const char *customer, const char *mailbox, const char *day,
		  int rcpt, int local)
{
	char r[16], l[16];
	const char *p[5] = {customer, mailbox, day, r, l};

	snprintf(r, sizeof(r), "%d", rcpt);
	snprintf(l, sizeof(l), "%d", local);
	testdb_exec_p(db,
		      "INSERT INTO usage_daily (customer_id, mailbox, day,"
		      " out_messages, out_recipients, out_recipients_local)"
		      " VALUES ($1, $2, $3, 1, $4, $5)"
		      " ON CONFLICT (customer_id, day, mailbox) DO UPDATE SET"
		      " out_recipients = EXCLUDED.out_recipients,"
		      " out_recipients_local = EXCLUDED.out_recipients_local",
		      5, p);
}

/* Logins in the view as seen at a moment (releve.now). */
static long blocked_at(const char *at)
{
	const char *p[1] = {at};

	free(testdb_value_p(db, "SELECT set_config('releve.now', $1, false)",
			    1, p));
	return count("SELECT count(*) FROM quota_blocked_logins");
}

static void test_notices_once_per_level(void **state)
{
	char *m;

	(void)state;
	/* C-1002, S (100/day): 85 remote + 30 local = 85 counted: warn. */
	usage("C-1002", "bureau@jardins-faubourg.org", "2026-10-05", 115, 30);
	assert_int_equal(check_at("2026-10-05 10:00+02"), 0);
	assert_int_equal(mails(), 1);
	m = last_mail();
	assert_non_null(strstr(m, "ARGS: -t -oi\n"));
	assert_non_null(strstr(m, "\nTo: tresorerie@jardins-faubourg.org\n"));
	assert_non_null(strstr(m, "Bonjour,"));
	assert_non_null(strstr(m, "a envoyé 85 destinataires pour un quota"
				  " journalier de 100"));
	assert_non_null(strstr(m, "X-Releve-Quota: C-1002 2026-10-05 warn"));
	free(m);
	/* Again: nothing more. */
	assert_int_equal(check_at("2026-10-05 11:00+02"), 0);
	assert_int_equal(mails(), 1);
	/* 150 later that day: over, a second notice, then nothing more. */
	usage("C-1002", "bureau@jardins-faubourg.org", "2026-10-05", 150, 0);
	assert_int_equal(check_at("2026-10-05 15:00+02"), 0);
	assert_int_equal(mails(), 2);
	m = last_mail();
	assert_non_null(strstr(m, "X-Releve-Quota: C-1002 2026-10-05 over"));
	assert_non_null(strstr(m, "la formule M « Standard »"));
	free(m);
	assert_int_equal(check_at("2026-10-05 23:59:59+02"), 0);
	assert_int_equal(mails(), 2);
	assert_int_equal(count("SELECT count(*) FROM quota_notices WHERE"
			       " customer_id = 'C-1002' AND day = '2026-10-05'"
			       " AND to_address = 'tresorerie@jardins-faubourg.org'"
			       " AND status = 'sent'"), 2);
	/* Over is not blocked (150 <= 2.0 x 100). */
	assert_int_equal(count("SELECT count(*) FROM quota_blocks"), 0);
	/* 23:30 UTC is the 6th in Paris: a new day without traffic. */
	assert_int_equal(check_at("2026-10-05 22:30Z"), 0);
	assert_int_equal(mails(), 2);
}

static void test_english_and_failed_sendmail(void **state)
{
	char *out = NULL, *err = NULL, *m;

	(void)state;
	usage("C-1005", "jonas@becker-post.de", "2026-10-07", 90, 0);
	/* A sendmail that fails: exit 1, nothing recorded. */
	assert_int_equal(test_run(NULL, &out, &err, "quota", "check", "--at",
				  "2026-10-07 09:00+02", "--sendmail",
				  "cat >/dev/null; exit 75", NULL), 1);
	assert_non_null(strstr(err, "exit status 75"));
	free(out);
	free(err);
	assert_int_equal(count("SELECT count(*) FROM quota_notices WHERE"
			       " customer_id = 'C-1005'"), 0);
	/* Dry run: says so, sends and records nothing. */
	assert_int_equal(test_run(NULL, &out, NULL, "quota", "check", "--at",
				  "2026-10-07 09:00+02", "--dry-run",
				  "--sendmail", sendmail, NULL), 0);
	assert_non_null(strstr(out, "C-1005 2026-10-07 warn 90/100 would send"
				    " warn notice to jonas@becker-post.de"));
	free(out);
	assert_int_equal(mails(), 2);
	/* The command from RELEVE_SENDMAIL: the English notice goes out. */
	setenv("RELEVE_SENDMAIL", sendmail, 1);
	assert_int_equal(test_run(NULL, NULL, NULL, "quota", "check", "--at",
				  "2026-10-07 09:00+02", NULL), 0);
	unsetenv("RELEVE_SENDMAIL");
	assert_int_equal(mails(), 3);
	m = last_mail();
	assert_non_null(strstr(m, "\nTo: jonas@becker-post.de\n"));
	assert_non_null(strstr(m, "Hello,"));
	assert_non_null(strstr(m, "sent 90 recipients against a daily quota"
				  " of 100"));
	free(m);
}

static void test_block_until_midnight(void **state)
{
	char *m;

	(void)state;
	/* C-1001, M (500/day): 1001 > 2.0 x 500: blocked, and over mailed. */
	usage("C-1001", "contact@menuiserie-lambert.fr", "2026-10-08", 1001, 0);
	assert_int_equal(check_at("2026-10-08 12:00+02"), 0);
	m = last_mail();
	assert_non_null(strstr(m, "\nTo: compta@menuiserie-lambert.fr\n"));
	assert_non_null(strstr(m, "X-Releve-Quota: C-1001 2026-10-08 over"));
	free(m);
	assert_int_equal(count("SELECT count(*) FROM quota_blocks WHERE"
			       " customer_id = 'C-1001' AND day = '2026-10-08'"
			       " AND until = '2026-10-09 00:00+02'"), 4);
	assert_int_equal(count("SELECT count(*) FROM quota_blocks WHERE"
			       " login = 'compta.lambert'"), 1);
	/* Blocked through the day, not at local midnight. */
	assert_int_equal(blocked_at("2026-10-08 12:00+02"), 4);
	assert_int_equal(blocked_at("2026-10-08 23:59:59+02"), 4);
	assert_int_equal(blocked_at("2026-10-09 00:00+02"), 0);
	/* A check the next day (no traffic): no new block. */
	assert_int_equal(check_at("2026-10-09 00:30+02"), 0);
	assert_int_equal(blocked_at("2026-10-09 00:30+02"), 0);
	/* Re-running the same day adds nothing. */
	assert_int_equal(check_at("2026-10-08 18:00+02"), 0);
	assert_int_equal(count("SELECT count(*) FROM quota_blocks"), 4);

	/* 25 October 2026: Paris leaves summer time at 03:00, the day lasts
	 * 25 hours and ends at 2026-10-26 00:00+01 = 23:00 UTC.  The
	 * billing day of 22:30 UTC on the 24th is already the 25th. */
	usage("C-1002", "bureau@jardins-faubourg.org", "2026-10-25", 201, 0);
	assert_int_equal(check_at("2026-10-24 22:30Z"), 0);
	assert_int_equal(count("SELECT count(*) FROM quota_blocks WHERE"
			       " customer_id = 'C-1002' AND day = '2026-10-25'"
			       " AND until = '2026-10-25 23:00Z'"), 3);
	assert_int_equal(blocked_at("2026-10-25 22:59:59Z"), 3);
	assert_int_equal(blocked_at("2026-10-25 23:00Z"), 0);
	free(testdb_value(db, "SELECT set_config('releve.now', '', false)"));
}

/* Run postmap -q KEY MAP; returns its exit status, *out what it printed. */
static int postmap(const char *key, const char *map, char **out)
{
	char cmd[1024], buf[512];
	FILE *p;
	size_t n;
	int st;

	/* A configuration folder of the test's own: a freshly installed
	 * Postfix has no /etc/postfix/main.cf, without which postmap stops;
	 * an empty one means Postfix's defaults. */
	char cfdir[256], cf[300];

	snprintf(cfdir, sizeof(cfdir), "%s/postfix-conf", test_tmpdir());
	mkdir(cfdir, 0755);
	snprintf(cf, sizeof(cf), "%s/main.cf", cfdir);
	FILE *f = fopen(cf, "a");

	if (f) {
		fclose(f);
	}
	snprintf(cmd, sizeof(cmd), "postmap -c '%s' -q '%s' '%s' 2>&1", cfdir,
		 key, map);
	p = popen(cmd, "r");
	assert_non_null(p);
	n = fread(buf, 1, sizeof(buf) - 1, p);
	buf[n] = '\0';
	st = pclose(p);
	*out = strdup(buf);
	return WIFEXITED(st) ? WEXITSTATUS(st) : -1;
}

static void require_postmap(void)
{
	if (system("command -v postmap >/dev/null 2>&1") != 0) {
		fail_msg("postmap not found: install postfix and postfix-pgsql"
			 " (scripts/install-deps)");
	}
}

static void test_blockmap_unblock_and_postfix(void **state)
{
	char *out = NULL, *err = NULL, *map, *cf, *src, *today;
	char *text, *dir, *pg;
	int rc;

	(void)state;
	require_postmap();
	/* A block in force now (the real clock: Postfix knows no --at). */
	today = testdb_value(db, "SELECT (now() AT TIME ZONE 'Europe/Paris')"
				 "::date::text");
	usage("C-1005", "jonas@becker-post.de", today, 1000, 0);
	assert_int_equal(test_run(NULL, &out, &err, "quota", "check",
				  "--sendmail", sendmail, NULL), 0);
	assert_non_null(strstr(out, "blocked 1 login until"));
	free(out);
	free(err);
	{
		const char *p[1] = {today};
		char *v = testdb_value_p(db, "SELECT count(*) FROM quota_blocks"
					 " WHERE day = $1::date AND until ="
					 " ((day + 1)::timestamp AT TIME ZONE"
					 " 'Europe/Paris')", 1, p);

		assert_string_equal(v, "1");
		free(v);
	}
	assert_int_equal(count("SELECT count(*) FROM quota_blocked_logins"), 1);

	/* status --json shows it. */
	assert_int_equal(test_run(NULL, &out, NULL, "quota", "status", "--json",
				  NULL), 0);
	assert_non_null(strstr(out, "\"state\": \"blocked\""));
	assert_non_null(strstr(out, "\"jonas@becker-post.de\""));
	free(out);

	/* texthash: the blocked login gets the action, others nothing. */
	map = strdup(test_write_file("blocked.texthash", "stale\n"));
	assert_int_equal(test_run(NULL, NULL, NULL, "quota", "blockmap", "-o",
				  map, NULL), 0);
	text = test_read_file(map);
	assert_non_null(strstr(text, "\njonas@becker-post.de " ACTION "\n"));
	assert_null(strstr(text, "stale"));
	free(text);
	if (asprintf(&src, "texthash:%s", map) < 0) {
		abort();
	}
	assert_int_equal(postmap("jonas@becker-post.de", src, &out), 0);
	assert_string_equal(out, ACTION "\n");
	free(out);
	assert_int_equal(postmap("JONAS@becker-post.de", src, &out), 0);
	free(out);
	assert_int_equal(postmap("compta.lambert", src, &out), 1);
	assert_string_equal(out, "");
	free(out);
	/* --action: a temporary refusal instead. */
	assert_int_equal(test_run(NULL, NULL, NULL, "quota", "blockmap", "-o",
				  map, "--action", "DEFER 4.7.1 Slow down",
				  NULL), 0);
	assert_int_equal(postmap("jonas@becker-post.de", src, &out), 0);
	assert_string_equal(out, "DEFER 4.7.1 Slow down\n");
	free(out);
	/* No temporary file left beside it. */
	dir = strdup(map);
	*strrchr(dir, '/') = '\0';
	{
		char cmd[512];

		snprintf(cmd, sizeof(cmd), "ls '%s' | grep -q tmp", dir);
		assert_int_not_equal(system(cmd), 0);
	}
	free(dir);

	/* pgsql: the shipped table, pointed at the test database. */
	cf = test_read_file("contrib/postfix/releve-blocked.pgsql.cf");
	{
		const char *host = getenv("PGHOST"), *port = getenv("PGPORT"),
			   *user = getenv("PGUSER"),
			   *dbn = getenv("PGDATABASE");
		char *conf = NULL;
		size_t len = 0;
		FILE *f = open_memstream(&conf, &len);

		assert_non_null(host);
		assert_non_null(dbn);
		for (char *line = strtok(cf, "\n"); line;
		     line = strtok(NULL, "\n")) {
			if (!strncmp(line, "hosts =", 7)) {
				fprintf(f, "hosts = postgresql:///%s?host=%s%s%s\n",
					dbn, host, port ? "&port=" : "",
					port ? port : "");
			} else if (!strncmp(line, "dbname =", 8)) {
				fprintf(f, "dbname = %s\n", dbn);
			} else if (!strncmp(line, "user =", 6)) {
				fprintf(f, "user = %s\n", user ? user : "postgres");
			} else {
				fprintf(f, "%s\n", line);
			}
		}
		fclose(f);
		pg = strdup(test_write_file("blocked.pgsql.cf", conf));
		free(conf);
	}
	free(cf);
	free(src);
	if (asprintf(&src, "pgsql:%s", pg) < 0) {
		abort();
	}
	rc = postmap("jonas@becker-post.de", src, &out);
	if (rc != 0) {
		fprintf(stderr, "postmap pgsql: %s", out);
	}
	assert_int_equal(rc, 0);
	assert_string_equal(out, ACTION "\n");
	free(out);
	assert_int_equal(postmap("Jonas@Becker-Post.de", src, &out), 0);
	free(out);
	assert_int_equal(postmap("compta.lambert", src, &out), 1);
	assert_string_equal(out, "");
	free(out);
	/* Quotes in the login are escaped by Postfix: no injection. */
	assert_int_equal(postmap("x' OR 'a'='a", src, &out), 1);
	free(out);
	/* The action is the query's string: an operator who wants clients
	 * to retry edits it to DEFER. */
	{
		char *conf = test_read_file(pg), *at, *edited, *dsrc;
		const char *from = "REJECT 5.7.1 Sending quota exceeded, try"
				   " again tomorrow";
		const char *to = "DEFER 4.7.1 Sending quota exceeded, try again"
				 " later";

		assert_non_null(conf);
		at = strstr(conf, from);
		assert_non_null(at);
		if (asprintf(&edited, "%.*s%s%s", (int)(at - conf), conf, to,
			     at + strlen(from)) < 0) {
			abort();
		}
		if (asprintf(&dsrc, "pgsql:%s",
			     test_write_file("defer.pgsql.cf", edited)) < 0) {
			abort();
		}
		assert_int_equal(postmap("jonas@becker-post.de", dsrc, &out), 0);
		assert_string_equal(out, "DEFER 4.7.1 Sending quota exceeded,"
					 " try again later\n");
		free(out);
		free(dsrc);
		free(edited);
		free(conf);
	}

	/* unblock lifts it, for both tables; later checks leave it lifted. */
	assert_int_equal(test_run(NULL, &out, NULL, "quota", "unblock",
				  "C-1005", "--by", "tester", NULL), 0);
	assert_string_equal(out, "C-1005: 1 login unblocked\n");
	free(out);
	assert_int_equal(count("SELECT count(*) FROM quota_blocks WHERE"
			       " customer_id = 'C-1005' AND lifted_by = 'tester'"
			       " AND lifted_at IS NOT NULL"), 1);
	assert_int_equal(count("SELECT count(*) FROM quota_blocked_logins"), 0);
	assert_int_equal(postmap("jonas@becker-post.de", src, &out), 1);
	free(out);
	assert_int_equal(test_run(NULL, NULL, NULL, "quota", "check",
				  "--sendmail", sendmail, NULL), 0);
	assert_int_equal(count("SELECT count(*) FROM quota_blocked_logins"), 0);
	assert_int_equal(test_run(NULL, NULL, NULL, "quota", "blockmap", "-o",
				  map, NULL), 0);
	if (asprintf(&text, "texthash:%s", map) < 0) {
		abort();
	}
	assert_int_equal(postmap("jonas@becker-post.de", text, &out), 1);
	free(out);
	free(text);
	/* Unknown customer: exit 1. */
	assert_int_equal(test_run(NULL, NULL, &err, "quota", "unblock",
				  "C-9999", NULL), 1);
	assert_non_null(strstr(err, "no customer 'C-9999'"));
	free(err);
	free(src);
	free(pg);
	free(map);
	free(today);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_notices_once_per_level),
		cmocka_unit_test(test_english_and_failed_sendmail),
		cmocka_unit_test(test_block_until_midnight),
		cmocka_unit_test(test_blockmap_unblock_and_postfix),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
