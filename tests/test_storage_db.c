/*
 * test_storage_db — Dovecot snapshots into the database and the daily
 * storage rules, on a real PostgreSQL: the largest sample of a day,
 * carry-forward up to a limit then a gap, error values, DST days, month
 * boundaries, a mailbox moving between domains, unattributed mailboxes,
 * idempotent re-ingestion, all-or-nothing snapshots, --exec.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include <cmocka.h>

#include "common/xalloc.h"
#include "testutil.h"

static PGconn *db;

static int setup(void **state)
{
	(void)state;
	db = testdb_open("storage");
	assert_int_equal(test_run(NULL, NULL, NULL, "tariff", "load",
				  "examples/tariff.json", NULL), 0);
	testdb_exec(db,
		"INSERT INTO customers (id, name, kind, address_line1, city,"
		" country, billing_email) VALUES"
		" ('C-1', 'Alpha', 'individual', '1 rue A', 'Paris', 'FR', 'a@alpha.fr'),"
		" ('C-2', 'Beta', 'individual', '2 rue B', 'Lyon', 'FR', 'b@beta.fr');"
		"INSERT INTO domains VALUES ('alpha.fr', 'C-1'), ('alpha.org', 'C-1'),"
		" ('beta.fr', 'C-2');"
		"INSERT INTO mailboxes (address, login, domain, customer_id,"
		" start_date, end_date) VALUES"
		" ('ann@alpha.fr', 'ann@alpha.fr', 'alpha.fr', 'C-1', NULL, NULL),"
		" ('bo@alpha.fr', 'bo', 'alpha.fr', 'C-1', NULL, '2026-10-10'),"
		" ('bo@alpha.org', 'bo@alpha.org', 'alpha.org', 'C-1', '2026-10-10', NULL),"
		" ('cy@beta.fr', 'cy@beta.fr', 'beta.fr', 'C-2', NULL, NULL)");
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	PQfinish(db);
	return 0;
}

/* A doveadm -f tab snapshot: rows "user KiB" (value "error" allowed). */
static char *snapshot(const char *rows)
{
	char *out = xstrdup("Username\tQuota name\tType\tValue\tLimit\t%\n");
	char *copy = xstrdup(rows), *save = NULL;

	for (char *l = strtok_r(copy, "\n", &save); l;
	     l = strtok_r(NULL, "\n", &save)) {
		char user[128], val[32];
		char *next;

		assert_int_equal(sscanf(l, "%127s %31s", user, val), 2);
		/* doveadm prints `error` in value, limit and % alike. */
		int e = strcmp(val, "error") == 0;

		next = xasprintf("%s%s\tUser quota\tSTORAGE\t%s\t%s\t%s\n",
				 out, user, val, e ? "error" : "-",
				 e ? "error" : "0");
		free(out);
		out = next;
	}
	free(copy);
	return out;
}

static int ingest(const char *at, const char *rows, char **err)
{
	char *snap = snapshot(rows);
	char *path = xstrdup(test_write_file("snap.tab", snap));
	int rc = test_run(NULL, NULL, err, "collect", "dovecot", "--stats",
			  "--source", "mx1", "--at", at, path, NULL);

	free(snap);
	free(path);
	return rc;
}

static void ingest_ok(const char *at, const char *rows)
{
	char *err;
	int rc = ingest(at, rows, &err);

	if (rc != 0) {
		fprintf(stderr, "%s", err);
	}
	assert_int_equal(rc, 0);
	free(err);
}

/* A mailbox's storage on day as "bytes/state" (storage_mailbox_days,
 * carry window carry), or "-" when the mailbox does not exist that day. */
static char *day_of_carry(const char *mailbox, const char *day, int carry)
{
	char c[16];
	const char *p[3] = {day, c, mailbox};
	char *v;

	snprintf(c, sizeof(c), "%d", carry);
	v = testdb_value_p(db, "SELECT bytes || '/' || state FROM"
			   " storage_mailbox_days($1::date, $1::date + 1,"
			   " $2::int) WHERE mailbox = $3", 3, p);
	return v ? v : xstrdup("-");
}

static char *day_of(const char *mailbox, const char *day)
{
	return day_of_carry(mailbox, day, 7);
}

static void expect_day(const char *mailbox, const char *day, const char *want)
{
	char *got = day_of(mailbox, day);

	if (strcmp(got, want) != 0) {
		fprintf(stderr, "%s on %s: got %s, want %s\n", mailbox, day,
			got, want);
	}
	assert_string_equal(got, want);
	free(got);
}

/* The rolled-up customer day: "bytes mailboxes/sampled/carried/gaps". */
static void customer_day(const char *cust, const char *day, const char *want)
{
	const char *p[2] = {cust, day};
	char *v = testdb_value_p(db,
		"SELECT storage_bytes || ' ' || mailboxes || '/' || sampled"
		" || '/' || carried || '/' || gaps FROM storage_customer_daily"
		" WHERE customer_id = $1 AND day = $2::date", 2, p);
	assert_non_null(v);
	assert_string_equal(v, want);
	free(v);
}

static void test_largest_of_day_and_carry(void **state)
{
	(void)state;
	/* Two samples on 2026-10-01 (Paris): the largest counts; KiB -> bytes. */
	ingest_ok("2026-10-01T04:00:00Z", "ann@alpha.fr 1000\ncy@beta.fr 10");
	ingest_ok("2026-10-01T16:00:00Z", "ann@alpha.fr 3000\ncy@beta.fr 5");
	ingest_ok("2026-10-01T20:00:00Z", "ann@alpha.fr 2000\ncy@beta.fr 7");
	expect_day("ann@alpha.fr", "2026-10-01", "3072000/sampled");
	expect_day("cy@beta.fr", "2026-10-01", "10240/sampled");

	/* Nothing on the 2nd..8th: carried forward for 7 days, then a gap. */
	char *out, *err;
	assert_int_equal(test_run(NULL, &out, &err, "rollup", "storage",
				  "--period", "2026-10", NULL), 0);
	free(out);
	free(err);
	expect_day("ann@alpha.fr", "2026-10-02", "3072000/carried");
	expect_day("ann@alpha.fr", "2026-10-08", "3072000/carried");
	expect_day("ann@alpha.fr", "2026-10-09", "0/gap");
	expect_day("ann@alpha.fr", "2026-10-31", "0/gap");

	/* The customer's days: C-1 has ann and bo (bo@alpha.fr until the
	 * 10th): on the 2nd ann is carried, bo never sampled: a gap. */
	customer_day("C-1", "2026-10-01", "3072000 2/1/0/1");
	customer_day("C-1", "2026-10-02", "3072000 2/0/1/1");
	customer_day("C-1", "2026-10-09", "0 2/0/0/2");
	customer_day("C-2", "2026-10-01", "10240 1/1/0/0");

	/* A shorter carry limit. */
	assert_int_equal(test_run(NULL, &out, &err, "rollup", "storage",
				  "--from", "2026-10-01", "--to", "2026-10-05",
				  "--carry-days", "2", NULL), 0);
	free(out);
	free(err);
	char *v = day_of_carry("ann@alpha.fr", "2026-10-03", 2);
	assert_string_equal(v, "3072000/carried");
	free(v);
	v = day_of_carry("ann@alpha.fr", "2026-10-04", 2);
	assert_string_equal(v, "0/gap");
	free(v);
	customer_day("C-1", "2026-10-03", "3072000 2/0/1/1");
	customer_day("C-1", "2026-10-04", "0 2/0/0/2");
}

static void test_error_value_carries(void **state)
{
	(void)state;
	char *err;

	ingest_ok("2026-10-20T06:00:00Z", "ann@alpha.fr 500\ncy@beta.fr 100");
	/* ann's value is unreadable on the 21st: no sample, the 20th's
	 * value carries; cy is stored. */
	assert_int_equal(ingest("2026-10-21T06:00:00Z",
				"ann@alpha.fr error\ncy@beta.fr 200", &err), 0);
	assert_non_null(strstr(err, "ann@alpha.fr"));
	free(err);
	expect_day("ann@alpha.fr", "2026-10-21", "512000/carried");
	expect_day("cy@beta.fr", "2026-10-21", "204800/sampled");
	char *v = testdb_value(db, "SELECT count(*) FROM storage_sample_errors"
				   " WHERE mailbox = 'ann@alpha.fr'");
	assert_string_equal(v, "1");
	free(v);
}

static void test_dst_and_month_boundary(void **state)
{
	(void)state;
	/* 2026-10-24T22:30Z is 00:30 on the 25th in Paris (CEST, UTC+2):
	 * the billing day is the 25th, the DST-change day of 25 hours. */
	ingest_ok("2026-10-24T22:30:00Z", "cy@beta.fr 3000");
	expect_day("cy@beta.fr", "2026-10-25", "3072000/sampled");
	/* 2026-10-31T23:30Z is already 2026-11-01 00:30 in Paris (CET). */
	ingest_ok("2026-10-31T23:30:00Z", "cy@beta.fr 4000");
	expect_day("cy@beta.fr", "2026-11-01", "4096000/sampled");
	char *v = testdb_value(db, "SELECT count(*) FROM storage_sample_blocks_202610");
	assert_non_null(v);
	free(v);
	/* The sample of 23:30Z lives in the UTC month's partition. */
	v = testdb_value(db, "SELECT count(*) FROM storage_sample_blocks_202610"
			     " WHERE sampled_at = '2026-10-31T23:30:00Z'");
	assert_string_equal(v, "1");
	free(v);
}

static void test_mailbox_moves_domain(void **state)
{
	(void)state;
	/* bo moved from alpha.fr to alpha.org on 2026-10-10; the samples
	 * use the SASL login "bo" before, the address after. */
	ingest_ok("2026-10-09T06:00:00Z", "bo 100");
	ingest_ok("2026-10-10T06:00:00Z", "bo@alpha.org 100");
	expect_day("bo@alpha.fr", "2026-10-09", "102400/sampled");
	expect_day("bo@alpha.fr", "2026-10-10", "-");
	expect_day("bo@alpha.org", "2026-10-10", "102400/sampled");
	expect_day("bo@alpha.org", "2026-10-09", "-");
	/* The customer's day is the sum over the mailboxes of that day:
	 * on the 10th ann (its sample of the 1st is too old: a gap) and
	 * bo@alpha.org. */
	customer_day("C-1", "2026-10-10", "102400 2/1/0/1");
}

static void test_idempotent_and_unattributed(void **state)
{
	(void)state;
	char *err;
	char *before, *after;

	ingest_ok("2026-11-02T06:00:00Z", "ann@alpha.fr 10\nzed@nowhere.example 99");
	before = testdb_value(db, "SELECT count(*) || '/' || sum(bytes)"
				  " FROM storage_samples");
	assert_int_equal(ingest("2026-11-02T06:00:00Z",
				"ann@alpha.fr 10\nzed@nowhere.example 99", &err), 0);
	assert_non_null(strstr(err, "stored before"));
	free(err);
	after = testdb_value(db, "SELECT count(*) || '/' || sum(bytes)"
				 " FROM storage_samples");
	assert_string_equal(before, after);
	free(before);
	free(after);
	char *v = testdb_value(db, "SELECT unattributed FROM storage_snapshots"
				   " WHERE taken_at = '2026-11-02T06:00:00Z'");
	assert_string_equal(v, "1");
	free(v);
	v = testdb_value(db, "SELECT customer_id IS NULL FROM storage_samples"
			     " WHERE mailbox = 'zed@nowhere.example'");
	assert_string_equal(v, "t");
	free(v);

	/* Reported by registry show --unattributed, with an unknown SASL
	 * login of an outbound message. */
	testdb_exec(db, "SELECT releve_ensure_month_partition('outbound_messages',"
			" '2026-11-02T10:00:00Z');"
			"INSERT INTO outbound_messages (host, queue_id, accepted_at,"
			" day, origin, sasl_username, size, nrcpt, in_flight)"
			" VALUES ('mx1', 'ABC123', '2026-11-02T10:00:00Z',"
			" '2026-11-02', 'sasl', 'ghost@alpha.fr', 100, 1, false)");
	char *out;

	assert_int_equal(test_run(NULL, &out, NULL, "registry", "show",
				  "--unattributed", "--json", NULL), 0);
	assert_non_null(strstr(out, "\"zed@nowhere.example\""));
	assert_non_null(strstr(out, "\"ghost@alpha.fr\""));
	assert_null(strstr(out, "ann@alpha.fr"));
	free(out);
}

static void test_bad_snapshot_stores_nothing(void **state)
{
	(void)state;
	char *err;
	char *before = testdb_value(db, "SELECT count(*) FROM storage_samples");
	const char *bad = "Username\tQuota name\tType\tValue\tLimit\t%\n"
			  "ann@alpha.fr\tUser quota\tSTORAGE\t10\t-\t0\n"
			  "cy@beta.fr\tUser quota\tSTORAGE\t-5\t-\t0\n";
	char *path = xstrdup(test_write_file("bad.tab", bad));

	assert_int_equal(test_run(NULL, NULL, &err, "collect", "dovecot",
				  "--at", "2026-11-05T06:00:00Z", path, NULL), 1);
	assert_non_null(strstr(err, "bad.tab:3"));
	free(err);
	char *after = testdb_value(db, "SELECT count(*) FROM storage_samples");
	assert_string_equal(before, after);
	free(before);
	free(after);
	free(path);
}

static void test_exec(void **state)
{
	(void)state;
	char *err;
	char *snap = snapshot("cy@beta.fr 77");
	char *path = xstrdup(test_write_file("exec.tab", snap));
	char *cmd = xasprintf("--exec=cat '%s'", path);

	assert_int_equal(test_run(NULL, NULL, &err, "collect", "dovecot",
				  "--at", "2026-11-06T06:00:00Z", cmd, NULL), 0);
	free(err);
	expect_day("cy@beta.fr", "2026-11-06", "78848/sampled");
	free(cmd);
	/* A failing command stores nothing. */
	assert_int_equal(test_run(NULL, NULL, &err, "collect", "dovecot",
				  "--at", "2026-11-07T06:00:00Z", "--exec=false",
				  NULL), 1);
	assert_non_null(strstr(err, "nothing stored"));
	free(err);
	free(snap);
	free(path);
}

/*
 * The rollup (one pass over the samples) agrees with the per-mailbox
 * definition (storage_mailbox_days) on every customer and day, whatever
 * the carry window.
 */
static void test_rollup_agrees_with_definition(void **state)
{
	(void)state;
	static const char *const carries[] = {"0", "1", "3", "7", "30"};

	for (size_t i = 0; i < sizeof(carries) / sizeof(carries[0]); i++) {
		const char *p[1] = {carries[i]};
		char *v;

		assert_int_equal(test_run(NULL, NULL, NULL, "rollup", "storage",
					  "--from", "2026-09-25", "--to",
					  "2026-11-10", "--carry-days",
					  carries[i], NULL), 0);
		v = testdb_value_p(db,
			 "SELECT count(*) FROM ("
			 " SELECT customer_id, day, sum(bytes) AS b,"
			 "  count(*) AS n,"
			 "  count(*) FILTER (WHERE state = 'sampled') AS s,"
			 "  count(*) FILTER (WHERE state = 'carried') AS c,"
			 "  count(*) FILTER (WHERE state = 'gap') AS g"
			 " FROM storage_mailbox_days('2026-09-25', '2026-11-11', $1::int)"
			 " GROUP BY 1, 2"
			 " EXCEPT"
			 " SELECT customer_id, day, storage_bytes, mailboxes,"
			 "  sampled, carried, gaps FROM storage_customer_daily"
			 " WHERE day BETWEEN '2026-09-25' AND '2026-11-10') x",
			 1, p);
		assert_string_equal(v, "0");
		free(v);
		v = testdb_value(db, "SELECT count(*) FROM storage_customer_daily"
				     " WHERE day BETWEEN '2026-09-25'"
				     " AND '2026-11-10'");
		assert_string_equal(v, "94"); /* 2 customers x 47 days */
		free(v);
	}
}

/* The snapshot's own day, as the collector rolls it up, against the
 * per-mailbox definition (default carry window, 7 days). */
static void day_agrees(const char *day)
{
	const char *p[1] = {day};
	char *v = testdb_value_p(db,
		"SELECT count(*) FROM (("
		" SELECT customer_id, day, sum(bytes) AS b, count(*) AS n,"
		"  count(*) FILTER (WHERE state = 'sampled') AS s,"
		"  count(*) FILTER (WHERE state = 'carried') AS c,"
		"  count(*) FILTER (WHERE state = 'gap') AS g"
		" FROM storage_mailbox_days($1::date, $1::date + 1, 7)"
		" GROUP BY 1, 2"
		" EXCEPT"
		" SELECT customer_id, day, storage_bytes, mailboxes, sampled,"
		"  carried, gaps FROM storage_customer_daily WHERE day = $1::date)"
		" UNION ALL ("
		" SELECT customer_id, day, storage_bytes, mailboxes, sampled,"
		"  carried, gaps FROM storage_customer_daily WHERE day = $1::date"
		" EXCEPT"
		" SELECT customer_id, day, sum(bytes), count(*),"
		"  count(*) FILTER (WHERE state = 'sampled'),"
		"  count(*) FILTER (WHERE state = 'carried'),"
		"  count(*) FILTER (WHERE state = 'gap')"
		" FROM storage_mailbox_days($1::date, $1::date + 1, 7)"
		" GROUP BY 1, 2)) x", 1, p);

	assert_string_equal(v, "0");
	free(v);
}

/*
 * Every snapshot rolls its own billing day up, with no rollup command:
 * carried values from earlier days, a later snapshot of the same day
 * that grows one mailbox and shrinks another (the largest stays), a
 * name with non-ASCII bytes (its ASCII letters lowered, as the database
 * lowers it) and a SASL login.
 */
static void test_snapshot_rolls_up_its_day(void **state)
{
	(void)state;
	testdb_exec(db, "INSERT INTO mailboxes (address, login, domain,"
			" customer_id, start_date, end_date) VALUES"
			" ('élodie@alpha.fr', 'élodie', 'alpha.fr', 'C-1',"
			" '2026-11-15', NULL)");
	ingest_ok("2026-11-20T06:00:00Z",
		  "ann@alpha.fr 100\ncy@beta.fr 200\nélodie@ALPHA.fr 300");
	expect_day("élodie@alpha.fr", "2026-11-20", "307200/sampled");
	day_agrees("2026-11-20");
	/* C-1 on the 20th: ann, bo@alpha.org (never sampled: a gap), élodie. */
	customer_day("C-1", "2026-11-20", "409600 3/2/0/1");

	/* The 22nd: only cy and élodie (by login); ann is carried. */
	ingest_ok("2026-11-22T06:00:00Z", "cy@beta.fr 250\nélodie 310");
	expect_day("élodie@alpha.fr", "2026-11-22", "317440/sampled");
	expect_day("ann@alpha.fr", "2026-11-22", "102400/carried");
	day_agrees("2026-11-22");
	customer_day("C-1", "2026-11-22", "419840 3/1/1/1");
	customer_day("C-2", "2026-11-22", "256000 1/1/0/0");

	/* Later that day: cy grows, élodie shrinks, ann appears. */
	ingest_ok("2026-11-22T18:00:00Z",
		  "cy@beta.fr 400\nÉlodie 100\nélodie@alpha.fr 5\nANN@alpha.fr 50");
	expect_day("cy@beta.fr", "2026-11-22", "409600/sampled");
	expect_day("élodie@alpha.fr", "2026-11-22", "317440/sampled");
	expect_day("ann@alpha.fr", "2026-11-22", "51200/sampled");
	day_agrees("2026-11-22");
	customer_day("C-1", "2026-11-22", "368640 3/2/0/1");
	customer_day("C-2", "2026-11-22", "409600 1/1/0/0");
	/* "Élodie" is no login and, under the test cluster's C locale, no
	 * address in lower case either: unattributed. */
	char *v = testdb_value(db, "SELECT unattributed FROM storage_snapshots"
				   " WHERE taken_at = '2026-11-22T18:00:00Z'");
	assert_string_equal(v, "1");
	free(v);

	/* Most of the day's rows grow: the day is replaced whole, and the
	 * row this snapshot does not name (ann's) stays. */
	ingest_ok("2026-11-22T20:00:00Z",
		  "cy@beta.fr 500\nélodie 400\nÉlodie 200");
	expect_day("cy@beta.fr", "2026-11-22", "512000/sampled");
	expect_day("élodie@alpha.fr", "2026-11-22", "409600/sampled");
	expect_day("ann@alpha.fr", "2026-11-22", "51200/sampled");
	day_agrees("2026-11-22");
	customer_day("C-1", "2026-11-22", "460800 3/2/0/1");
	v = testdb_value(db, "SELECT count(*) FROM storage_mailbox_daily"
			     " WHERE day = '2026-11-22'");
	assert_string_equal(v, "4"); /* with the unattributed Élodie */
	free(v);
}

/*
 * A back-dated snapshot (a source late by a day, an import of old
 * snapshots) carries into the days after it that are rolled up already:
 * the collector rolls those up again, and the days in between, without
 * a rollup command; days beyond the carry window, or not rolled up yet,
 * are left alone.
 */
static void test_backdated_snapshot(void **state)
{
	(void)state;
	char *v;

	ingest_ok("2026-12-03T06:00:00Z", "cy@beta.fr 100");
	ingest_ok("2026-12-20T06:00:00Z", "cy@beta.fr 100");
	day_agrees("2026-12-03");
	expect_day("ann@alpha.fr", "2026-12-03", "0/gap");
	/* ann's snapshot of the 1st comes late: carried into the 2nd (not
	 * rolled up before) and the 3rd */
	ingest_ok("2026-12-01T06:00:00Z", "ann@alpha.fr 500");
	expect_day("ann@alpha.fr", "2026-12-03", "512000/carried");
	day_agrees("2026-12-01");
	day_agrees("2026-12-02");
	day_agrees("2026-12-03");
	/* the 20th is beyond the 7 days: as it was, and nothing between */
	day_agrees("2026-12-20");
	v = testdb_value(db, "SELECT count(*) FROM storage_customer_daily"
			     " WHERE day > '2026-12-03' AND day < '2026-12-20'");
	assert_string_equal(v, "0");
	free(v);
}

/* The rows "mK@many.example KiB" for K in [0, n) with step, the value
 * of K given by f. */
static char *many_rows(int n, int step, long (*f)(int))
{
	size_t cap = (size_t)n * 48 + 64, len = 0;
	char *out = xmalloc(cap);

	out[0] = '\0';
	for (int k = 0; k < n; k += step) {
		len += (size_t)snprintf(out + len, cap - len,
					"m%d@many.example %ld\n", k, f(k));
	}
	return out;
}

static long many_a(int k) { return 10 + k; }
static long many_b(int k) { return k % 3 == 0 ? 20000 + k : 5; }
static long many_c(int k) { return 7 * k + 1; }

static void ingest_src(const char *source, const char *at, const char *rows)
{
	char *snap = snapshot(rows);
	char *path = xstrdup(test_write_file("snap.tab", snap));
	char *err;
	int rc = test_run(NULL, NULL, &err, "collect", "dovecot", "--source",
			  source, "--at", at, path, NULL);

	if (rc != 0) {
		fprintf(stderr, "%s", err);
	}
	assert_int_equal(rc, 0);
	free(err);
	free(snap);
	free(path);
}

/*
 * Mailboxes over several blocks of numbers (3,000: blocks of 1,024): two
 * sources on one day (the larger value stays, block by block), a day
 * with half of them (the rest carried from the blocks of the day
 * before), a mailbox deleted from the registry and created again (it
 * finds its number, so its days, again) and a name unknown to the
 * registry that is registered later.
 */
static void test_many_blocks(void **state)
{
	(void)state;
	char *rows, *v, *extra;

	testdb_exec(db,
		"INSERT INTO customers (id, name, kind, address_line1, city,"
		" country, billing_email) VALUES ('C-3', 'Many', 'individual',"
		" '3 rue C', 'Nantes', 'FR', 'c@many.example');"
		"INSERT INTO domains VALUES ('many.example', 'C-3');"
		"INSERT INTO mailboxes (address, login, domain, customer_id)"
		" SELECT 'm' || k || '@many.example', 'm' || k || '@many.example',"
		" 'many.example', 'C-3' FROM generate_series(0, 2999) k");
	rows = many_rows(3000, 1, many_a);
	ingest_src("mx1", "2026-12-10T06:00:00Z", rows);
	free(rows);
	v = testdb_value(db, "SELECT count(*) || '/' || sum(bytes)"
			     " FROM storage_samples s JOIN storage_snapshots x"
			     " ON x.id = s.snapshot_id WHERE x.source = 'mx1'"
			     " AND x.taken_at = '2026-12-10T06:00:00Z'");
	/* sum over k of (10 + k) KiB */
	assert_string_equal(v, "3000/4637184000");
	free(v);
	v = testdb_value(db, "SELECT count(*) FROM storage_sample_blocks b"
			     " JOIN storage_snapshots x ON x.id = b.snapshot_id"
			     " WHERE x.source = 'mx1'"
			     " AND x.taken_at = '2026-12-10T06:00:00Z'");
	assert_true(atoi(v) >= 3); /* at least three blocks */
	free(v);
	rows = many_rows(3000, 1, many_b);
	ingest_src("mx2", "2026-12-10T18:00:00Z", rows);
	free(rows);
	expect_day("m3@many.example", "2026-12-10", "20483072/sampled");
	expect_day("m4@many.example", "2026-12-10", "14336/sampled");
	expect_day("m2999@many.example", "2026-12-10", "3081216/sampled");
	day_agrees("2026-12-10");
	/* half of them the next day */
	rows = many_rows(3000, 2, many_c);
	ingest_src("mx1", "2026-12-11T06:00:00Z", rows);
	free(rows);
	expect_day("m2000@many.example", "2026-12-11", "14337024/sampled");
	expect_day("m2001@many.example", "2026-12-11", "22529024/carried");
	day_agrees("2026-12-11");
	/* m7 deleted and created again; an unknown name seen */
	testdb_exec(db, "DELETE FROM mailboxes WHERE address = 'm7@many.example';"
			"INSERT INTO mailboxes (address, login, domain, customer_id)"
			" VALUES ('m7@many.example', 'm7@many.example',"
			" 'many.example', 'C-3')");
	rows = many_rows(3000, 2, many_c);
	extra = xasprintf("%slate@many.example 50\n", rows);
	ingest_src("mx1", "2026-12-12T06:00:00Z", extra);
	free(rows);
	free(extra);
	expect_day("m7@many.example", "2026-12-12", "17408/carried");
	day_agrees("2026-12-12");
	v = testdb_value(db, "SELECT storage_id IS NOT NULL FROM mailboxes"
			     " WHERE address = 'm7@many.example'");
	assert_string_equal(v, "t");
	free(v);
	testdb_exec(db, "INSERT INTO mailboxes (address, login, domain, customer_id)"
			" VALUES ('late@many.example', 'late@many.example',"
			" 'many.example', 'C-3')");
	expect_day("late@many.example", "2026-12-12", "51200/sampled");
	rows = many_rows(3000, 2, many_c);
	ingest_src("mx1", "2026-12-13T06:00:00Z", rows);
	free(rows);
	expect_day("late@many.example", "2026-12-13", "51200/carried");
	day_agrees("2026-12-13");
	v = testdb_value(db, "SELECT mailboxes || '/' || sampled || '/' || carried"
			     " || '/' || gaps FROM storage_customer_daily"
			     " WHERE customer_id = 'C-3' AND day = '2026-12-13'");
	assert_string_equal(v, "3001/1500/1501/0");
	free(v);
}

/*
 * Customers over several blocks of customer numbers (64 a block, sql/015):
 * 150 customers of one mailbox each, every tenth without a sample.  The
 * snapshot's day, a later snapshot replacing it, the rollup of the same
 * day, one customer's days by subscript, and the rater over every
 * customer (the blocks read in C) against the rater of one (by
 * subscript) all agree.
 */
static void test_many_customers(void **state)
{
	(void)state;
	char rows[150 * 48], *v, *before, *all, *one;
	size_t len = 0;
	const char *view_q =
		"SELECT string_agg(concat_ws('/', customer_id, storage_bytes,"
		" mailboxes, sampled, carried, gaps), ' ' ORDER BY customer_id)"
		" FROM storage_customer_daily WHERE day = '2026-12-20'"
		" AND customer_id LIKE 'K-%'";
	const char *k_day_q =
		"SELECT count(*) || '/' || sum(storage_bytes) || '/' || sum(gaps)"
		" FROM storage_customer_daily WHERE day = '2026-12-20'"
		" AND customer_id LIKE 'K-%'";

	testdb_exec(db,
		"INSERT INTO customers (id, name, kind, address_line1, city,"
		" country, billing_email) SELECT 'K-' || lpad(k::text, 3, '0'),"
		" 'K ' || k, 'individual', '1 rue K', 'Paris', 'FR',"
		" 'k' || k || '@k.example' FROM generate_series(0, 149) k;"
		"INSERT INTO domains SELECT 'k' || k || '.example',"
		" 'K-' || lpad(k::text, 3, '0') FROM generate_series(0, 149) k;"
		"INSERT INTO mailboxes (address, login, domain, customer_id)"
		" SELECT 'u@k' || k || '.example', 'u@k' || k || '.example',"
		" 'k' || k || '.example', 'K-' || lpad(k::text, 3, '0')"
		" FROM generate_series(0, 149) k;"
		"INSERT INTO subscriptions (customer_id, plan_code, start_date)"
		" SELECT 'K-' || lpad(k::text, 3, '0'), 'S', '2026-12-01'"
		" FROM generate_series(0, 149) k");
	for (int k = 0; k < 150; k++) {
		if (k % 10 != 3) {
			len += (size_t)snprintf(rows + len, sizeof(rows) - len,
						"u@k%d.example %d\n", k,
						1000 + k);
		}
	}
	ingest_src("mx-k", "2026-12-20T06:00:00Z", rows);
	day_agrees("2026-12-20");
	v = testdb_value(db, k_day_q);
	/* 135 sampled: sum of (1000 + k) KiB over k not 3 mod 10 */
	assert_string_equal(v, "150/148561920/15");
	free(v);
	v = testdb_value(db, "SELECT count(*) >= 3 FROM storage_customer_blocks"
			     " WHERE day = '2026-12-20'");
	assert_string_equal(v, "t");
	free(v);
	v = testdb_value(db, "SELECT concat_ws('/', day, storage_bytes,"
			     " mailboxes, gaps) FROM storage_customer_days("
			     "'K-137', '2026-12-19', '2026-12-22')");
	assert_string_equal(v, "2026-12-20/1164288/1/0"); /* 1137 KiB */
	free(v);
	v = testdb_value(db, "SELECT concat_ws('/', storage_bytes, gaps) FROM"
			     " storage_customer_days('K-143', '2026-12-20',"
			     " '2026-12-21')");
	assert_string_equal(v, "0/1");
	free(v);
	/* later the same day, every mailbox grown: the day replaced */
	len = 0;
	for (int k = 0; k < 150; k++) {
		len += (size_t)snprintf(rows + len, sizeof(rows) - len,
					"u@k%d.example %d\n", k, 2000 + k);
	}
	ingest_src("mx-k", "2026-12-20T18:00:00Z", rows);
	day_agrees("2026-12-20");
	v = testdb_value(db, k_day_q);
	/* sum of (2000 + k) KiB over the 150 */
	assert_string_equal(v, "150/318643200/0");
	free(v);
	/* the rollup of the day writes the same */
	before = testdb_value(db, view_q);
	assert_int_equal(test_run(NULL, NULL, NULL, "rollup", "storage",
				  "--from", "2026-12-20", "--to", "2026-12-20",
				  NULL), 0);
	v = testdb_value(db, view_q);
	assert_string_equal(v, before);
	free(v);
	free(before);
	/* the rater: every customer (blocks read in C) and one (by
	 * subscript) give K-137 the same storage */
	assert_int_equal(test_run(NULL, &all, NULL, "rate", "--period",
				  "2026-12", "--json", NULL), 0);
	assert_int_equal(test_run(NULL, &one, NULL, "rate", "--period",
				  "2026-12", "--customer", "K-137", "--json",
				  NULL), 0);
	{
		json_t *a = json_loads(all, 0, NULL), *o = json_loads(one, 0, NULL);
		json_t *found = NULL;
		size_t k;
		json_t *x;

		assert_non_null(a);
		assert_non_null(o);
		json_array_foreach(a, k, x) {
			const char *id = json_string_value(
				json_object_get(x, "customer"));

			if (id && strcmp(id, "K-137") == 0) {
				found = x;
			}
		}
		assert_non_null(found);
		assert_true(json_equal(found, o));
		x = json_object_get(json_object_get(o, "usage"),
				    "average_storage_bytes");
		/* 2137 KiB on one day of 31 */
		assert_int_equal(json_integer_value(x), 2188288 / 31);
		json_decref(a);
		json_decref(o);
	}
	free(all);
	free(one);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_largest_of_day_and_carry),
		cmocka_unit_test(test_error_value_carries),
		cmocka_unit_test(test_dst_and_month_boundary),
		cmocka_unit_test(test_mailbox_moves_domain),
		cmocka_unit_test(test_idempotent_and_unattributed),
		cmocka_unit_test(test_bad_snapshot_stores_nothing),
		cmocka_unit_test(test_exec),
		cmocka_unit_test(test_rollup_agrees_with_definition),
		cmocka_unit_test(test_snapshot_rolls_up_its_day),
		cmocka_unit_test(test_backdated_snapshot),
		cmocka_unit_test(test_many_blocks),
		cmocka_unit_test(test_many_customers),
	};

	return cmocka_run_group_tests_name("storage_db", tests, setup, teardown);
}
