/*
 * test_collect_postfix — the Postfix collector end to end, on a real
 * PostgreSQL: counts against the generator's own summary (an independent
 * count of the same log), and exactly once: the same file twice, a file
 * read in two halves, SIGKILL at random points, rotation with messages
 * spanning the two files, a rotated file compressed later, truncation,
 * follow mode through a rotation.
 */
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <jansson.h>

#include "common/xalloc.h"
#include "testutil.h"

static PGconn *db;
static char *full;  /* a generated week of log */
static char *sumf;  /* the generator's summary of it */
static char *reference; /* totals of one clean run */

static const char *const collect[] = {
	"collect", "postfix", "--no-progress", "--log-timezone",
	"Europe/Paris", "--year", "2026", "--host", "mx.test",
};

/* releve collect postfix [common options] extra... */
static int run_collect(char **err, ...)
{
	const char *args[64];
	size_t n = 0;
	va_list ap;

	for (size_t i = 0; i < sizeof(collect) / sizeof(collect[0]); i++) {
		args[n++] = collect[i];
	}
	va_start(ap, err);
	while (n < 63 && (args[n] = va_arg(ap, const char *)) != NULL) {
		n++;
	}
	va_end(ap);
	args[n] = NULL;
	return test_runv(NULL, NULL, err, args);
}

static void must_collect(const char *path1, const char *path2)
{
	char *err;
	int rc = path2 ? run_collect(&err, "--source", "mail.log", path1, path2,
				     NULL)
		       : run_collect(&err, "--source", "mail.log", path1, NULL);

	if (rc != 0) {
		fprintf(stderr, "%s", err);
	}
	assert_int_equal(rc, 0);
	free(err);
}

static char *totals(void)
{
	return testdb_value(db,
		"SELECT count(*) || '/' || sum(nrcpt) || '/' || sum(rcpt_sent)"
		" || '/' || sum(rcpt_bounced) || '/' || sum(rcpt_deferred)"
		" || '/' || sum(rcpt_expired) || '/' || sum(rcpt_local)"
		" || '/' || count(*) FILTER (WHERE in_flight)"
		" || ' usage ' || (SELECT coalesce(sum(out_messages), 0) || '/'"
		" || coalesce(sum(out_recipients), 0) || '/'"
		" || coalesce(sum(out_recipients_local), 0) FROM usage_daily)"
		" || ' rejects ' || (SELECT coalesce(sum(count), 0)"
		" FROM postfix_rejects)"
		" FROM outbound_messages");
}

static void reset(void)
{
	testdb_exec(db, "TRUNCATE outbound_messages, usage_daily,"
			" postfix_rejects, postfix_sources CASCADE");
}

static void expect_reference(const char *what)
{
	char *t = totals();

	if (strcmp(t, reference) != 0) {
		fprintf(stderr, "%s: totals %s, one clean run %s\n", what, t,
			reference);
	}
	assert_string_equal(t, reference);
	free(t);
}

/* Copy bytes [from, to) of src to dst (to = -1: the end). */
static void copy_part(const char *src, const char *dst, long from, long to,
		      const char *mode)
{
	FILE *in = fopen(src, "rb"), *out = fopen(dst, mode);
	char buf[65536];
	long pos = from;

	assert_non_null(in);
	assert_non_null(out);
	fseek(in, from, SEEK_SET);
	while (to < 0 || pos < to) {
		size_t want = sizeof(buf);

		if (to >= 0 && (long)want > to - pos) {
			want = (size_t)(to - pos);
		}
		size_t got = fread(buf, 1, want, in);

		if (got == 0) {
			break;
		}
		fwrite(buf, 1, got, out);
		pos += (long)got;
	}
	fclose(in);
	fclose(out);
}

/* The offset of the first line start at or after off. */
static long line_start(const char *path, long off)
{
	FILE *f = fopen(path, "rb");
	int c;

	assert_non_null(f);
	fseek(f, off, SEEK_SET);
	if (off > 0) {
		while ((c = fgetc(f)) != EOF && c != '\n') {
			off++;
		}
		off++;
	}
	fclose(f);
	return off;
}

static long file_size(const char *path)
{
	struct stat sb;

	assert_int_equal(stat(path, &sb), 0);
	return (long)sb.st_size;
}

static int setup(void **state)
{
	(void)state;
	const char *bench = getenv("RELEVE_BENCH");
	char *cmd;

	db = testdb_open("collect_postfix");
	testdb_load_examples(0);
	full = xasprintf("%s/week.log", test_tmpdir());
	sumf = xasprintf("%s/week.json", test_tmpdir());
	/* Messages accepted on 8 days; deliveries, retries and expiries
	 * trail a little; content-filter re-injection on. */
	cmd = xasprintf("'%s/genpflog' --registry examples/registry.json"
			" --tariff examples/tariff.json --from 2026-09-10"
			" --to 2026-09-18 --seed 7 --filter --hostname mx.test"
			" --summary '%s' > '%s' 2>/dev/null",
			bench ? bench : "build/release/bench", sumf, full);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	must_collect(full, NULL);
	reference = totals();
	return 0;
}

static int teardown(void **state)
{
	(void)state;
	PQfinish(db);
	free(full);
	free(sumf);
	free(reference);
	return 0;
}

/* The stored counts per mailbox and day equal the generator's summary. */
static void test_counts_match_generator(void **state)
{
	(void)state;
	json_error_t e;
	json_t *sum = json_load_file(sumf, 0, &e), *rows, *row;
	size_t i, checked = 0;
	PGresult *r;

	assert_non_null(sum);
	rows = json_object_get(sum, "by_login_day");
	assert_true(json_array_size(rows) > 50);
	json_array_foreach(rows, i, row) {
		const char *p[2] = {
			json_string_value(json_object_get(row, "mailbox")),
			json_string_value(json_object_get(row, "day")),
		};
		char want[128], got[128] = "0/0/0/0/0";

		snprintf(want, sizeof(want), "%lld/%lld/%lld/%lld/%lld",
			 json_integer_value(json_object_get(row, "messages")),
			 json_integer_value(json_object_get(row, "recipients")),
			 json_integer_value(json_object_get(row, "local")),
			 json_integer_value(json_object_get(row, "sent")),
			 json_integer_value(json_object_get(row, "bounced")));
		r = PQexecParams(db,
			"SELECT out_messages || '/' || out_recipients || '/' ||"
			" out_recipients_local || '/' || out_sent || '/' ||"
			" out_bounced FROM usage_daily"
			" WHERE mailbox = $1 AND day = $2", 2, NULL, p, NULL,
			NULL, 0);
		assert_int_equal(PQresultStatus(r), PGRES_TUPLES_OK);
		if (PQntuples(r) == 1) {
			snprintf(got, sizeof(got), "%s", PQgetvalue(r, 0, 0));
		}
		PQclear(r);
		if (strcmp(want, got) != 0) {
			fprintf(stderr, "%s %s: summary %s, stored %s\n", p[0],
				p[1], want, got);
		}
		assert_string_equal(want, got);
		checked++;
	}
	json_decref(sum);
	assert_true(checked > 50);
}

static void test_same_file_twice(void **state)
{
	(void)state;
	char *err;

	assert_int_equal(run_collect(&err, "--source", "mail.log", full, NULL),
			 0);
	assert_non_null(strstr(err, "nothing new"));
	free(err);
	expect_reference("same file twice");
	/* Under another stream name the file is read again: the messages'
	 * keys still make it count once (rejects are per stream). */
	assert_int_equal(run_collect(&err, "--source", "other", full, NULL), 0);
	free(err);
	char *t = testdb_value(db, "SELECT count(*) || '/' || sum(nrcpt)"
				   " FROM outbound_messages");
	assert_true(strncmp(reference, t, strlen(t)) == 0);
	free(t);
}

static void test_two_halves(void **state)
{
	(void)state;
	char *live = xasprintf("%s/mail.log", test_tmpdir());
	long size = file_size(full);

	reset();
	/* The first half ends in the middle of a line: the part line waits
	 * for the next run. */
	copy_part(full, live, 0, size / 2 + 17, "wb");
	must_collect(live, NULL);
	copy_part(full, live, size / 2 + 17, -1, "ab");
	must_collect(live, NULL);
	expect_reference("two halves");
	free(live);
}

static void test_sigkill(void **state)
{
	(void)state;
	const char *bin = getenv("RELEVE_BIN");
	unsigned seed = (unsigned)time(NULL);
	int done = 0, kills = 0;

	reset();
	srand(seed);
	for (int attempt = 0; attempt < 200 && !done; attempt++) {
		pid_t pid = fork();
		int st;

		assert_true(pid >= 0);
		if (pid == 0) {
			int fd = open("/dev/null", O_WRONLY);

			dup2(fd, 1);
			dup2(fd, 2);
			execl(bin ? bin : "./releve", "releve", "collect",
			      "postfix", "--no-progress", "--log-timezone",
			      "Europe/Paris", "--year", "2026", "--host",
			      "mx.test", "--source", "mail.log",
			      "--commit-interval", "0.005", full, (char *)NULL);
			_exit(127);
		}
		usleep((useconds_t)(rand() % 60000));
		if (kill(pid, SIGKILL) == 0) {
			kills++;
		}
		waitpid(pid, &st, 0);
		done = WIFEXITED(st) && WEXITSTATUS(st) == 0;
	}
	if (!done) {
		must_collect(full, NULL);
	}
	fprintf(stderr, "sigkill: %d kills (seed %u)\n", kills, seed);
	expect_reference("SIGKILL at random points");
}

static void test_rotation_and_gzip(void **state)
{
	(void)state;
	char *live = xasprintf("%s/mail.log", test_tmpdir());
	char *old = xasprintf("%s/mail.log.1", test_tmpdir());
	char *cmd;
	long size = file_size(full);
	long cut = line_start(full, size * 2 / 5);

	reset();
	/* The live log is read up to the middle of what becomes mail.log.1,
	 * then rotated: messages straddle the two files. */
	copy_part(full, live, 0, cut / 2 + 11, "wb");
	must_collect(live, NULL);
	copy_part(full, live, cut / 2 + 11, cut, "ab");
	assert_int_equal(rename(live, old), 0);
	copy_part(full, live, cut, -1, "wb");
	must_collect(old, live);
	expect_reference("rotation");

	/* mail.log.1 compressed later is the same file: nothing new. */
	cmd = xasprintf("gzip -f '%s'", old);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	char *gz = xasprintf("%s.gz", old);
	must_collect(gz, live);
	expect_reference("rotated file compressed");
	free(gz);
	free(live);
	free(old);
}

static void test_truncation(void **state)
{
	(void)state;
	char *live = xasprintf("%s/mail.log", test_tmpdir());
	long size = file_size(full);
	long cut = line_start(full, size / 3);

	reset();
	/* Read a first part, then the file is truncated and written anew
	 * with the rest (copytruncate): the rest is read from its start. */
	copy_part(full, live, 0, cut, "wb");
	must_collect(live, NULL);
	copy_part(full, live, cut, -1, "wb");
	must_collect(live, NULL);
	expect_reference("truncation");
	free(live);
}

static void test_follow(void **state)
{
	(void)state;
	const char *bin = getenv("RELEVE_BIN");
	char *live = xasprintf("%s/mail.log", test_tmpdir());
	char *old = xasprintf("%s/mail.log.1", test_tmpdir());
	long size = file_size(full);
	long a = line_start(full, size / 4), b = line_start(full, size / 2);
	pid_t pid;
	int st;

	reset();
	unlink(old);
	copy_part(full, live, 0, a, "wb");
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		int fd = open("/dev/null", O_WRONLY);

		dup2(fd, 1);
		dup2(fd, 2);
		execl(bin ? bin : "./releve", "releve", "collect", "postfix",
		      "--no-progress", "--log-timezone", "Europe/Paris",
		      "--year", "2026", "--host", "mx.test", "--source",
		      "mail.log", "--follow", "--commit-interval", "0.2", live,
		      (char *)NULL);
		_exit(127);
	}
	usleep(500000);
	/* Lines arrive, one cut in the middle and finished later. */
	copy_part(full, live, a, b + 40, "ab");
	usleep(500000);
	copy_part(full, live, b + 40, line_start(full, size * 3 / 4), "ab");
	usleep(300000);
	/* Rotation: the old file is finished, the new one read. */
	assert_int_equal(rename(live, old), 0);
	copy_part(full, live, line_start(full, size * 3 / 4), -1, "wb");
	for (int i = 0; i < 50; i++) {
		char *v = testdb_value(db, "SELECT count(*) FROM postfix_files");
		int n = atoi(v);

		free(v);
		if (n >= 2) {
			break;
		}
		usleep(200000);
	}
	usleep(1500000);
	kill(pid, SIGTERM);
	waitpid(pid, &st, 0);
	assert_true(WIFEXITED(st));
	assert_int_equal(WEXITSTATUS(st), 0);
	/* The last line of the live file is whole: a final run reads
	 * nothing more, and the totals are one clean run's. */
	must_collect(live, NULL);
	expect_reference("follow through rotation");
	free(live);
	free(old);
}

static void test_bad_input(void **state)
{
	(void)state;
	char *err;
	char *path;
	/* Garbage, invalid UTF-8, a NUL, an over-long line: counted, never
	 * fatal. */
	FILE *f;

	path = xasprintf("%s/ugly.log", test_tmpdir());
	f = fopen(path, "wb");
	assert_non_null(f);
	fputs("Sep 10 10:00:00 mx.test postfix/qmgr[1]: ABCDEF0123: removed\n", f);
	fputs("\x01\x02garbage \xff\xfe\n", f);
	fputs("Sep 10 10:00:01 mx.test postfix/smtpd[2]: NOQUEUE: reject: \xc3\x28\n", f);
	fwrite("Sep 10 10:00:02 mx.test postfix/qmgr[1]: \0 x\n", 1, 45, f);
	for (int i = 0; i < 2 * 1024 * 1024; i++) {
		fputc('x', f);
	}
	fputs("\n{\"broken json\n", f);
	fclose(f);
	assert_int_equal(run_collect(&err, "--stats", "--source", "ugly", path,
				     NULL), 0);
	assert_non_null(strstr(err, "malformed lines"));
	/* The malformed lines are kept with the source's counts (for the
	 * API's /metrics), as many as --stats said. */
	{
		char *n = testdb_value(db, "SELECT malformed FROM"
					   " postfix_sources WHERE name ="
					   " 'ugly'");
		long said = -1;

		assert_int_equal(sscanf(strstr(err, "malformed lines: "),
					"malformed lines: %ld", &said),
				 1);
		assert_non_null(n);
		assert_true(said > 0);
		assert_int_equal(atol(n), said);
		free(n);
	}
	free(err);
	/* A missing file: exit 1, named. */
	assert_int_equal(run_collect(&err, "/nonexistent/mail.log", NULL), 1);
	assert_non_null(strstr(err, "/nonexistent/mail.log"));
	free(err);
	/* Usage errors. */
	assert_int_equal(run_collect(&err, "--json-lines", path, NULL), 2);
	free(err);
	assert_int_equal(run_collect(&err, "--year", "twenty", path, NULL), 2);
	free(err);
	free(path);
}

static void test_dry_run_json(void **state)
{
	(void)state;
	char *out, *err;
	const char *args[] = {"collect", "postfix", "--dry-run", "--json-lines",
			      "--no-progress", "--log-timezone", "Europe/Paris",
			      "--year", "2026", "--stats", full, NULL};
	long lines = 0, inflight = 0;

	assert_int_equal(test_runv(NULL, &out, &err, args), 0);
	for (char *p = out, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
		json_error_t e;
		json_t *j = json_loadb(p, (size_t)(nl - p), 0, &e);

		assert_non_null(j);
		assert_non_null(json_object_get(j, "accepted_at"));
		assert_true(json_is_object(json_object_get(j, "recipients")));
		inflight += json_is_true(json_object_get(j, "in_flight"));
		lines++;
		json_decref(j);
	}
	assert_non_null(strstr(err, "lines read"));
	/* Every stored message (and the pickups of system users, which are
	 * printed in a dry run) is printed once. */
	char *stored = testdb_value(db, "SELECT count(*) FROM outbound_messages");

	assert_true(lines >= atol(stored));
	free(stored);
	free(out);
	free(err);
}

/*
 * A dry run of named files reads and parses on one thread and tracks on
 * another; RELEVE_ONE_THREAD=1 does it all on one, as for stdin.  Both
 * print the same messages and the same statistics, over a gzip file, a
 * plain one, a journald export and ugly lines (a line of 2 MiB, a NUL,
 * garbage, broken JSON, a delivery line of 600 KiB), and a message whose
 * lines span two files.
 */
static void test_dry_run_two_threads(void **state)
{
	(void)state;
	const char *bench = getenv("RELEVE_BENCH");
	char *a = xasprintf("%s/two.1", test_tmpdir());
	char *agz = xasprintf("%s/two.1.gz", test_tmpdir());
	char *b = xasprintf("%s/two.0", test_tmpdir());
	char *j = xasprintf("%s/two.journal", test_tmpdir());
	char *u = xasprintf("%s/two.ugly", test_tmpdir());
	char *cmd, *out1, *err1, *out2, *err2;
	long size = file_size(full), cut = line_start(full, size * 2 / 5);
	FILE *f;

	copy_part(full, a, 0, cut, "wb");
	copy_part(full, b, cut, -1, "wb");
	cmd = xasprintf("gzip -f '%s' && '%s/genpflog' --messages 3000"
			" --format journald --filter --seed 3 > '%s'"
			" 2>/dev/null", a,
			bench ? bench : "build/release/bench", j);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	f = fopen(u, "wb");
	assert_non_null(f);
	fputs("\x01\x02garbage \xff\xfe\n", f);
	fwrite("Sep 18 10:00:02 mx.test postfix/qmgr[1]: \0 x\n", 1, 45, f);
	for (int i = 0; i < 2 * 1024 * 1024; i++) {
		fputc('x', f);
	}
	fputs("\n{\"broken json\n", f);
	/* a delivery line larger than a batch of the reader thread */
	fputs("Sep 18 10:00:02 mx.test postfix/smtp[3]: ABCDEF0124: to=<", f);
	for (int i = 0; i < 600 * 1024; i++) {
		fputc('a', f);
	}
	fputs("@example.com>, relay=none, delay=1, dsn=5.0.0, status=bounced"
	      " (x)\n", f);
	fputs("Sep 18 10:00:03 mx.test postfix/qmgr[1]: ABCDEF0123: removed",
	      f); /* no newline at the end */
	fclose(f);

	const char *args[] = {"collect", "postfix", "--dry-run", "--json-lines",
			      "--no-progress", "--log-timezone", "Europe/Paris",
			      "--year", "2026", "--stats", agz, b, j, u, NULL};

	assert_int_equal(test_runv(NULL, &out1, &err1, args), 0);
	setenv("RELEVE_ONE_THREAD", "1", 1);
	assert_int_equal(test_runv(NULL, &out2, &err2, args), 0);
	unsetenv("RELEVE_ONE_THREAD");
	assert_true(strlen(out1) > 100000);
	assert_string_equal(out1, out2);
	assert_string_equal(err1, err2);
	/* every line counted: the week, the journal, the six ugly ones */
	{
		char *wc = xasprintf("cat '%s' '%s' | wc -l", full, j);
		int st;
		char *n = test_sh(wc, &st);
		long lines = 0;

		assert_int_equal(st, 0);
		assert_int_equal(sscanf(strstr(err1, "lines read: "),
					"lines read: %ld", &lines), 1);
		assert_int_equal(lines, atol(n) + 6);
		free(wc);
		free(n);
	}
	free(out1);
	free(err1);
	free(out2);
	free(err2);

	/* A missing file after a good one: exit 1, named. */
	const char *bad[] = {"collect", "postfix", "--dry-run", "--json-lines",
			     "--no-progress", b, "/nonexistent/two.log", NULL};

	assert_int_equal(test_runv(NULL, NULL, &err1, bad), 1);
	assert_non_null(strstr(err1, "/nonexistent/two.log"));
	free(err1);
	free(a);
	free(agz);
	free(b);
	free(j);
	free(u);
}

/* Queue ids used by more than one message in log: removed twice or more
 * (a bounce notice, which has no client= line, counts too). */
static json_t *reused_ids(const char *log)
{
	FILE *f = fopen(log, "r");
	char line[8192];
	json_t *count = json_object(), *reused = json_object();
	const char *k;
	json_t *v;

	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		char *p = strstr(line, "]: ");
		char qid[32];

		if (!p || !strstr(p, ": removed")) {
			continue;
		}
		if (sscanf(p + 3, "%31[0-9A-Za-z]", qid) != 1) {
			continue;
		}
		v = json_object_get(count, qid);
		json_object_set_new(count, qid,
				    json_integer(v ? json_integer_value(v) + 1 : 1));
	}
	fclose(f);
	json_object_foreach(count, k, v) {
		if (json_integer_value(v) > 1) {
			json_object_set_new(reused, k, json_true());
		}
	}
	json_decref(count);
	return reused;
}

/*
 * pflogsumm's "Senders by message count" against releve's messages per
 * envelope sender, on a log without a content filter (pflogsumm would
 * count both hops).  They agree for every sender, except that pflogsumm
 * counts a reused queue id once: the difference for a sender is at most
 * the number of its messages whose queue id was reused.
 */
static void test_pflogsumm_crosscheck(void **state)
{
	(void)state;
	const char *bench = getenv("RELEVE_BENCH");
	char *log = xasprintf("%s/nofilter.log", test_tmpdir());
	char *cmd, *out, *err, *pf;
	json_t *ours = json_object(), *reuse, *reused = json_object();
	const char *args[] = {"collect", "postfix", "--dry-run", "--json-lines",
			      "--no-progress", "--log-timezone", "Europe/Paris",
			      "--year", "2026", log, NULL};
	int agree = 0, differ = 0;

	cmd = xasprintf("'%s/genpflog' --registry examples/registry.json"
			" --tariff examples/tariff.json --from 2026-09-01"
			" --to 2026-09-08 --seed 3 > '%s' 2>/dev/null",
			bench ? bench : "build/release/bench", log);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	reuse = reused_ids(log);
	assert_int_equal(test_runv(NULL, &out, &err, args), 0);
	for (char *p = out, *nl; (nl = strchr(p, '\n')); p = nl + 1) {
		json_error_t e;
		json_t *j = json_loadb(p, (size_t)(nl - p), 0, &e);
		const char *snd = json_string_value(json_object_get(j, "sender"));
		const char *q = json_string_value(json_object_get(j, "queue_id"));
		json_t *n = json_object_get(ours, snd);

		json_object_set_new(ours, snd, json_integer(n ? json_integer_value(n) + 1 : 1));
		if (json_object_get(reuse, q)) {
			n = json_object_get(reused, snd);
			json_object_set_new(reused, snd,
					    json_integer(n ? json_integer_value(n) + 1 : 1));
		}
		json_decref(j);
	}
	free(out);
	free(err);
	cmd = xasprintf("pflogsumm '%s' > '%s.pf' 2>/dev/null", log, log);
	assert_int_equal(system(cmd), 0);
	free(cmd);
	cmd = xasprintf("%s.pf", log);
	pf = test_read_file(cmd);
	free(cmd);
	assert_non_null(pf);
	char *sec = strstr(pf, "Senders by message count");

	assert_non_null(sec);
	const char *k;
	json_t *v;

	json_object_foreach(ours, k, v) {
		/* "   481   secretariat@roussel-avocats.fr" */
		char *needle = xasprintf("   %s\n", k);
		char *at = strstr(sec, needle);
		long theirs = 0;

		if (at) {
			char *ls = at;

			while (ls > sec && ls[-1] != '\n') {
				ls--;
			}
			theirs = atol(ls);
		}
		free(needle);
		long mine = (long)json_integer_value(v);
		long slack = (long)json_integer_value(json_object_get(reused, k));

		if (mine == theirs) {
			agree++;
		} else {
			differ++;
			fprintf(stderr, "pflogsumm: %s: releve %ld, pflogsumm %ld"
					" (%ld reused queue ids)\n", k, mine,
				theirs, slack);
			assert_true(theirs < mine && mine - theirs <= slack);
		}
	}
	fprintf(stderr, "pflogsumm cross-check: %d senders agree, %d differ "
			"by reused queue ids\n", agree, differ);
	assert_true(agree > 20);
	free(pf);
	free(log);
	json_decref(ours);
	json_decref(reuse);
	json_decref(reused);
}

/*
 * --quota-check: a commit runs the quota check for the day of the last
 * line.  C-1001 (plan M, 500 recipients a day) sends 600 remote
 * recipients on 2026-10-20: over the quota, under twice it: one "over"
 * notice, through the sendmail command of RELEVE_SENDMAIL.
 */
static void test_quota_check_after_commit(void **state)
{
	(void)state;
	char *log, *mail, *script, *err, *v;

	reset();
	mail = xasprintf("%s/sent-mail", test_tmpdir());
	unlink(mail);
	script = xasprintf("cat >> '%s'", mail);
	log = xstrdup(test_write_file("over.log",
		"2026-10-20T10:00:00+02:00 mx.test postfix/submission/smtpd[1]: "
		"ABC123DEF0: client=x[192.0.2.1], sasl_method=PLAIN, "
		"sasl_username=contact@menuiserie-lambert.fr\n"
		"2026-10-20T10:00:01+02:00 mx.test postfix/qmgr[2]: ABC123DEF0: "
		"from=<contact@menuiserie-lambert.fr>, size=1000, nrcpt=600 "
		"(queue active)\n"));
	setenv("RELEVE_SENDMAIL", script, 1);
	assert_int_equal(run_collect(&err, "--source", "quota", "--quota-check",
				     log, NULL), 0);
	unsetenv("RELEVE_SENDMAIL");
	free(err);
	v = testdb_value(db, "SELECT string_agg(customer_id || ' ' || level"
			     " || ' ' || day, ',') FROM quota_notices");
	assert_non_null(v);
	assert_string_equal(v, "C-1001 over 2026-10-20");
	free(v);
	char *text = test_read_file(mail);

	assert_non_null(text);
	assert_non_null(strstr(text, "compta@menuiserie-lambert.fr"));
	free(text);
	/* With --dry-run it is a usage error. */
	assert_int_equal(run_collect(&err, "--dry-run", "--quota-check", log,
				     NULL), 2);
	free(err);
	testdb_exec(db, "DELETE FROM quota_notices");
	free(log);
	free(mail);
	free(script);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_counts_match_generator),
		cmocka_unit_test(test_dry_run_json),
		cmocka_unit_test(test_dry_run_two_threads),
		cmocka_unit_test(test_same_file_twice),
		cmocka_unit_test(test_two_halves),
		cmocka_unit_test(test_sigkill),
		cmocka_unit_test(test_rotation_and_gzip),
		cmocka_unit_test(test_truncation),
		cmocka_unit_test(test_follow),
		cmocka_unit_test(test_bad_input),
		cmocka_unit_test(test_pflogsumm_crosscheck),
		cmocka_unit_test(test_quota_check_after_commit),
	};

	return cmocka_run_group_tests_name("collect_postfix", tests, setup,
					   teardown);
}
