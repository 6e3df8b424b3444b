/*
 * test_dovequota — the storage snapshot parser (metering/dovequota) on
 * golden inputs of every format (tests/data/dovecot/), sample by sample,
 * every refused input (tests/data/dovecot/bad/), and the dry-run command.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "common/xalloc.h"
#include "metering/dovequota.h"
#include "tests/testutil.h"

struct exp {
	const char *mailbox;
	int64_t bytes, messages, limit;
	int error;
};

#define KIB 1024LL

/* The doveadm golden files all hold the same snapshot: alice has two
 * quota roots (User quota first), bob is unlimited, a name with a space,
 * one with accents and a 4-byte character, carol's STORAGE is `error`,
 * dave's MESSAGE is `error`. */
static const struct exp doveadm_first[] = {
	{"alice@example.fr", 1024 * KIB, 12, 10240 * KIB, 0},
	{"bob@example.fr", 0, 0, -1, 0},
	{"jean dupont@exemple.fr", 2048 * KIB, 100, 1048576 * KIB, 0},
	{"\xc3\xa9lo\xc3\xafse.\xf0\x9d\x84\x9e@exemple.fr", 1 * KIB, 1, -1, 0},
	{"carol@example.fr", 0, -1, -1, 1},
	{"dave@example.fr", 4096 * KIB, -1, 8192 * KIB, 0},
};

/* --quota-root "Archive quota": only alice has it. */
static const struct exp doveadm_archive[] = {
	{"alice@example.fr", 50000 * KIB, 3, -1, 0},
	{"bob@example.fr", 0, -1, -1, 1},
	{"jean dupont@exemple.fr", 0, -1, -1, 1},
	{"\xc3\xa9lo\xc3\xafse.\xf0\x9d\x84\x9e@exemple.fr", 0, -1, -1, 1},
	{"carol@example.fr", 0, -1, -1, 1},
	{"dave@example.fr", 0, -1, -1, 1},
};

static const struct exp mailcow_quota2[] = {
	{"alice@example.fr", 1048576, 12, -1, 0},
	{"jean dupont@exemple.fr", 2097152, 100, -1, 0},
	{"\xc3\xa9lo\xc3\xafse.\xf0\x9d\x84\x9e@exemple.fr", 1024, 1, -1, 0},
	{"bob@example.fr", 0, 0, -1, 0},
};

static const struct exp mailcow_api[] = {
	{"alice@example.fr", 1048576, 12, 10485760, 0},
	{"jean dupont@exemple.fr", 2097152, 100, 1073741824, 0},
	{"\xc3\xa9lo\xc3\xafse.\xf0\x9d\x84\x9e@exemple.fr", 1024, 1, -1, 0},
	{"bob@example.fr", 0, -1, -1, 0},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct golden {
	const char *file;
	enum dq_format format;
	const char *root;
	const struct exp *e;
	size_t n;
};

static const struct golden goldens[] = {
	{"tab.txt", DQ_TAB, NULL, doveadm_first, N(doveadm_first)},
	{"tab-crlf.txt", DQ_TAB, NULL, doveadm_first, N(doveadm_first)},
	{"flow.txt", DQ_FLOW, NULL, doveadm_first, N(doveadm_first)},
	{"flow-titled.txt", DQ_FLOW, NULL, doveadm_first, N(doveadm_first)},
	{"pager.txt", DQ_PAGER, NULL, doveadm_first, N(doveadm_first)},
	{"table.txt", DQ_TABLE, NULL, doveadm_first, N(doveadm_first)},
	{"table-overflow.txt", DQ_TABLE, NULL, doveadm_first,
	 N(doveadm_first)},
	{"json.json", DQ_JSON, NULL, doveadm_first, N(doveadm_first)},
	{"http.json", DQ_HTTP, NULL, doveadm_first, N(doveadm_first)},
	{"tab.txt", DQ_TAB, "Archive quota", doveadm_archive,
	 N(doveadm_archive)},
	{"flow.txt", DQ_FLOW, "Archive quota", doveadm_archive,
	 N(doveadm_archive)},
	{"pager.txt", DQ_PAGER, "Archive quota", doveadm_archive,
	 N(doveadm_archive)},
	{"table.txt", DQ_TABLE, "Archive quota", doveadm_archive,
	 N(doveadm_archive)},
	{"table-overflow.txt", DQ_TABLE, "Archive quota", doveadm_archive,
	 N(doveadm_archive)},
	{"json.json", DQ_JSON, "Archive quota", doveadm_archive,
	 N(doveadm_archive)},
	{"http.json", DQ_HTTP, "Archive quota", doveadm_archive,
	 N(doveadm_archive)},
	{"mailcow.csv", DQ_MAILCOW_CSV, NULL, mailcow_quota2,
	 N(mailcow_quota2)},
	{"mailcow.tsv", DQ_MAILCOW_TSV, NULL, mailcow_quota2,
	 N(mailcow_quota2)},
	{"mailcow-api.json", DQ_MAILCOW_API, NULL, mailcow_api,
	 N(mailcow_api)},
	{"mailcow-api-empty.json", DQ_MAILCOW_API, NULL, NULL, 0},
	{"json-empty.json", DQ_JSON, NULL, NULL, 0},
};

static char *data_path(const char *rel)
{
	const char *top = getenv("RELEVE_TOP");

	return xasprintf("%s/tests/data/dovecot/%s", top ? top : ".", rel);
}

static char *load(const char *rel, size_t *len)
{
	char *path = data_path(rel);
	char *buf = test_read_file(path);

	if (!buf) {
		fail_msg("cannot read %s", path);
	}
	free(path);
	*len = strlen(buf);
	return buf;
}

static void check_samples(const char *what, const struct dq_snapshot *s,
			  const struct exp *e, size_t n)
{
	size_t nerr = 0;

	if (s->n != n) {
		fail_msg("%s: %zu samples, expected %zu", what, s->n, n);
	}
	for (size_t i = 0; i < n; i++) {
		const struct dq_sample *g = &s->s[i];

		if (strcmp(g->mailbox, e[i].mailbox) != 0 ||
		    g->bytes != e[i].bytes || g->messages != e[i].messages ||
		    g->limit_bytes != e[i].limit ||
		    g->error != e[i].error) {
			fail_msg("%s: sample %zu: got {%s, %lld, %lld, %lld, "
				 "%d}, expected {%s, %lld, %lld, %lld, %d}",
				 what, i, g->mailbox, (long long)g->bytes,
				 (long long)g->messages,
				 (long long)g->limit_bytes, g->error,
				 e[i].mailbox, (long long)e[i].bytes,
				 (long long)e[i].messages,
				 (long long)e[i].limit, e[i].error);
		}
		assert_true(g->error ? g->reason != NULL : g->reason == NULL);
		assert_true(g->line > 0);
		nerr += e[i].error;
	}
	assert_int_equal(s->nerrors, nerr);
}

static void test_golden(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(goldens); i++) {
		const struct golden *g = &goldens[i];
		size_t len;
		char *buf = load(g->file, &len);

		/* detected, then forced: the same samples */
		for (int forced = 0; forced < 2; forced++) {
			struct dq_options o = {forced ? g->format : DQ_AUTO,
					       g->root};
			struct dq_snapshot s;
			struct diag d = DIAG_INIT;
			char what[128];

			snprintf(what, sizeof(what), "%s%s%s%s", g->file,
				 forced ? " (forced)" : "",
				 g->root ? " root " : "", g->root ? g->root : "");
			if (dq_parse(g->file, buf, len, &o, &s, &d) != 0) {
				diag_print(&d, stderr, what);
				fail_msg("%s: refused", what);
			}
			assert_int_equal(d.n, 0);
			if (s.format != g->format) {
				fail_msg("%s: format %s, expected %s", what,
					 dq_format_name(s.format),
					 dq_format_name(g->format));
			}
			check_samples(what, &s, g->e, g->n);
			dq_snapshot_free(&s);
			assert_null(s.s);
			assert_int_equal(s.n, 0);
		}
		free(buf);
	}
}

/* Each refused input: -1, no sample, and an error naming where. */
struct bad {
	const char *file;
	enum dq_format format;
	const char *msg;
};

static const struct bad bads[] = {
	{"bad/empty.txt", DQ_AUTO, "empty.txt: empty input"},
	{"bad/tab-truncated.txt", DQ_AUTO,
	 "tab-truncated.txt:4: no end of line: the output is truncated"},
	{"bad/tab-french.txt", DQ_AUTO,
	 "tab-french.txt:1: unknown header or format \"Utilisateur\\t"},
	{"bad/tab-french.txt", DQ_TAB, "tab-french.txt:1: unknown header"},
	{"bad/tab-order.txt", DQ_AUTO,
	 "tab-order.txt:1: unknown header or format \"Quota name\\tUsername"},
	{"bad/tab-negative.txt", DQ_AUTO,
	 "tab-negative.txt:2: value \"-5\" is negative"},
	{"bad/tab-absurd.txt", DQ_AUTO,
	 "tab-absurd.txt:2: value 2048000000000000 bytes is absurd"},
	{"bad/tab-2p63.txt", DQ_AUTO,
	 "tab-2p63.txt:2: value \"9223372036854775808\" is above 2^63-1"},
	{"bad/tab-kib-overflow.txt", DQ_AUTO,
	 "tab-kib-overflow.txt:2: limit 9007199254740992 KiB is above 2^63-1 "
	 "bytes"},
	{"bad/tab-fields.txt", DQ_AUTO,
	 "tab-fields.txt:2: expected 6 tab-separated fields, found 5"},
	{"bad/tab-type.txt", DQ_AUTO,
	 "tab-type.txt:2: type \"BYTES\" is not STORAGE or MESSAGE"},
	{"bad/tab-notnum.txt", DQ_AUTO,
	 "tab-notnum.txt:2: value \"12k\" is not a whole number"},
	{"bad/tab-utf8.txt", DQ_AUTO,
	 "tab-utf8.txt:2: user name \"al\\xe9ce@example.fr\" is not valid "
	 "UTF-8"},
	{"bad/tab-dup.txt", DQ_AUTO,
	 "tab-dup.txt:3: second STORAGE row for user \"alice@example.fr\""},
	{"bad/tab-stderr.txt", DQ_AUTO,
	 "tab-stderr.txt:3: expected 6 tab-separated fields, found 1"},
	{"bad/pager-truncated.txt", DQ_AUTO,
	 "pager-truncated.txt:10: the record of user \"alice@example.fr\" "
	 "from line 8 stops short"},
	{"bad/flow-cut.txt", DQ_AUTO, "flow-cut.txt:2: expected \"USER Quota"},
	{"bad/table-garbage.txt", DQ_AUTO,
	 "table-garbage.txt:3: type \"is\" is not STORAGE"},
	{"bad/json-truncated.json", DQ_AUTO,
	 "json-truncated.json:1:127: bad JSON: premature end of input"},
	{"bad/json-missing.json", DQ_AUTO,
	 "json-missing.json: [0].value: missing"},
	{"bad/json-bigint.json", DQ_AUTO, "bad JSON: too big integer"},
	{"bad/http-error.json", DQ_AUTO,
	 "http-error.json: [0]: doveadm answered an error: "
	 "{\"type\":\"exitCode\",\"exitCode\":75}"},
	{"bad/mailcow-negative.csv", DQ_AUTO,
	 "mailcow-negative.csv:2: bytes \"-1048576\" is negative"},
	{"bad/mailcow-2p63.tsv", DQ_AUTO,
	 "mailcow-2p63.tsv:2: bytes \"99999999999999999999\" is above "
	 "2^63-1"},
	{"bad/mailcow-dup.csv", DQ_AUTO,
	 "mailcow-dup.csv:3: username \"alice@example.fr\" appears twice "
	 "(first at line 2)"},
	{"bad/mailcow-header.csv", DQ_AUTO,
	 "mailcow-header.csv:1: unknown header or format"},
	{"bad/mailcow-header.csv", DQ_MAILCOW_CSV,
	 "mailcow-header.csv:1: unknown header \"user,kbytes,messages\""},
	{"bad/mailcow-api-bad.json", DQ_AUTO,
	 "mailcow-api-bad.json: [0]: quota_used \"lots\" is not a whole "
	 "number"},
	{"bad/mailcow-api-object.json", DQ_AUTO,
	 "mailcow-api-object.json: expected an array"},
	/* a format forced on another format's content */
	{"flow.txt", DQ_TAB, "flow.txt:1: unknown header"},
	{"tab.txt", DQ_MAILCOW_TSV, "tab.txt:1: unknown header"},
	{"mailcow-api.json", DQ_JSON,
	 "mailcow-api.json: this JSON is mailcow-api, not json"},
	{"mailcow-api-empty.json", DQ_JSON, "this JSON is mailcow-api"},
	{"tab.txt", DQ_JSON, "tab.txt:1:8: bad JSON"},
};

static int diag_has(const struct diag *d, const char *msg)
{
	for (size_t i = 0; i < d->n; i++) {
		if (strstr(d->msg[i], msg)) {
			return 1;
		}
	}
	return 0;
}

static void expect_refused(const char *what, const char *buf, size_t len,
			   const struct dq_options *o, const char *msg)
{
	struct dq_snapshot s;
	struct diag d = DIAG_INIT;

	if (dq_parse(what, buf, len, o, &s, &d) == 0) {
		fail_msg("%s: accepted, expected \"%s\"", what, msg);
	}
	assert_int_equal(s.n, 0);
	assert_null(s.s);
	if (!diag_has(&d, msg)) {
		diag_print(&d, stderr, what);
		fail_msg("%s: no error containing \"%s\"", what, msg);
	}
	diag_free(&d);
}

static void test_bad_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(bads); i++) {
		struct dq_options o = {bads[i].format, NULL};
		const char *base = strrchr(bads[i].file, '/');
		size_t len;
		char *buf = load(bads[i].file, &len);

		expect_refused(base ? base + 1 : bads[i].file, buf, len, &o,
			       bads[i].msg);
		free(buf);
	}
}

/* Inline cases: each a snapshot and its samples or its error. */
struct inl {
	const char *name;
	const char *in;
	size_t len; /* 0: strlen */
	enum dq_format format;
	const char *root;
	const char *msg; /* refused with this error, or NULL */
	struct exp e[3];
	size_t n;
};

#define TABH "Username\tQuota name\tType\tValue\tLimit\t%\n"

static const struct inl inls[] = {
	{.name = "bom and CRLF",
	 .in = "\xef\xbb\xbfusername,bytes,messages\r\na@b.fr,5,1\r\n",
	 .e = {{"a@b.fr", 5, 1, -1, 0}}, .n = 1},
	{.name = "csv quoted comma and quote",
	 .in = "\"username\",\"bytes\",\"messages\"\n"
	       "\"x,\"\"y\"\"@b.fr\",\"7\",\"2\"\n",
	 .e = {{"x,\"y\"@b.fr", 7, 2, -1, 0}}, .n = 1},
	{.name = "csv bad quote", .in = "username,bytes,messages\n\"a@b,1,1\n",
	 .msg = ":2: bad CSV quoting"},
	{.name = "tsv mysql escapes",
	 .in = "username\tbytes\tmessages\nback\\\\slash@b.fr\t1\t0\n",
	 .e = {{"back\\slash@b.fr", 1, 0, -1, 0}}, .n = 1},
	{.name = "tsv escaped tab is a control character",
	 .in = "username\tbytes\tmessages\nt\\tb@b.fr\t1\t0\n",
	 .msg = ":2: username \"t\\tb@b.fr\" holds a control character"},
	{.name = "MESSAGE error leaves bytes",
	 .in = TABH "u@b.fr\tq\tMESSAGE\terror\terror\terror\n"
		    "u@b.fr\tq\tSTORAGE\t3\t-\t0\n",
	 .e = {{"u@b.fr", 3 * KIB, -1, -1, 0}}, .n = 1},
	{.name = "error must be in all three",
	 .in = TABH "u@b.fr\tq\tSTORAGE\terror\t-\t0\n",
	 .msg = ":2: value is error but limit is \"-\""},
	{.name = "first root is per user, in order of appearance",
	 .in = TABH "u@b.fr\tB\tSTORAGE\t1\t-\t0\n"
		    "u@b.fr\tA\tSTORAGE\t2\t-\t0\n"
		    "v@b.fr\tA\tSTORAGE\t3\t-\t0\n"
		    "v@b.fr\tB\tSTORAGE\t4\t-\t0\n",
	 .e = {{"u@b.fr", 1 * KIB, -1, -1, 0}, {"v@b.fr", 3 * KIB, -1, -1, 0}},
	 .n = 2},
	{.name = "named root nobody has",
	 .in = TABH "u@b.fr\tUser quota\tSTORAGE\t1\t-\t0\n",
	 .root = "Nope", .msg = "no user has quota root \"Nope\" (seen: "
				"\"User quota\")"},
	{.name = "only MESSAGE in the root",
	 .in = TABH "u@b.fr\tq\tMESSAGE\t1\t-\t0\n",
	 .e = {{"u@b.fr", 0, -1, -1, 1}}, .n = 1},
	{.name = "header only: no user", .in = TABH, .n = 0},
	{.name = "percent above 100 is fine (over quota)",
	 .in = TABH "u@b.fr\tq\tSTORAGE\t300\t100\t300\n",
	 .e = {{"u@b.fr", 300 * KIB, -1, 100 * KIB, 0}}, .n = 1},
	{.name = "leading plus", .in = TABH "u@b.fr\tq\tSTORAGE\t+3\t-\t0\n",
	 .msg = ":2: value \"+3\" is not a whole number"},
	{.name = "empty user", .in = TABH "\tq\tSTORAGE\t3\t-\t0\n",
	 .msg = ":2: user name is empty"},
	{.name = "NUL byte", .in = TABH "u@b.fr\tq\tSTORAGE\t3\0\t-\t0\n",
	 .len = sizeof(TABH "u@b.fr\tq\tSTORAGE\t3\0\t-\t0\n") - 1,
	 .msg = ":2: NUL byte"},
	{.name = "overlong UTF-8",
	 .in = TABH "\xc0\xaf@b.fr\tq\tSTORAGE\t3\t-\t0\n",
	 .msg = "is not valid UTF-8"},
	{.name = "surrogate",
	 .in = TABH "\xed\xa0\x80@b.fr\tq\tSTORAGE\t3\t-\t0\n",
	 .msg = "is not valid UTF-8"},
	{.name = "messages absurd",
	 .in = TABH "u@b.fr\tq\tMESSAGE\t1000000000001\t-\t0\n",
	 .msg = "messages is absurd"},
	{.name = "mailcow api quota 0 is no limit, strings, active ignored",
	 .in = "[{\"username\":\"u@b.fr\",\"active\":\"0\",\"quota\":\"0\","
	       "\"quota_used\":\"42\",\"messages\":\"3\"}]",
	 .e = {{"u@b.fr", 42, 3, -1, 0}}, .n = 1},
	{.name = "mailcow api negative",
	 .in = "[{\"username\":\"u@b.fr\",\"quota_used\":-1}]",
	 .msg = "[0].quota_used: -1 is negative"},
	{.name = "mailcow api no quota_used",
	 .in = "[{\"username\":\"u@b.fr\",\"messages\":1}]",
	 .msg = "[0].quota_used: missing"},
	{.name = "json duplicate key",
	 .in = "[{\"username\":\"a\",\"username\":\"b\"}]",
	 .msg = "bad JSON: duplicate object key"},
	{.name = "json without username (no -A)",
	 .in = "[{\"root\":\"q\",\"type\":\"STORAGE\",\"value\":\"1\","
	       "\"limit\":\"-\",\"percent\":\"0\"}]",
	 .msg = "[0]: no username (run doveadm quota get -A)"},
	{.name = "json numbers",
	 .in = "[{\"username\":\"u@b.fr\",\"root\":\"q\",\"type\":\"STORAGE\","
	       "\"value\":5,\"limit\":10,\"percent\":50}]",
	 .e = {{"u@b.fr", 5 * KIB, -1, 10 * KIB, 0}}, .n = 1},
	{.name = "http two responses",
	 .in = "[[\"doveadmResponse\",[{\"username\":\"u@b.fr\",\"root\":\"q\","
	       "\"type\":\"STORAGE\",\"value\":\"1\",\"limit\":\"-\","
	       "\"percent\":\"0\"}],\"t1\"],[\"doveadmResponse\",[{"
	       "\"username\":\"v@b.fr\",\"root\":\"q\",\"type\":\"STORAGE\","
	       "\"value\":\"2\",\"limit\":\"-\",\"percent\":\"0\"}],\"t2\"]]",
	 .e = {{"u@b.fr", 1 * KIB, -1, -1, 0}, {"v@b.fr", 2 * KIB, -1, -1, 0}},
	 .n = 2},
	{.name = "http bad shape", .in = "[[\"doveadmResponse\",{}]]",
	 .msg = "[0]: expected [\"doveadmResponse\""},
	{.name = "pager with Username title and blank separators",
	 .in = "Username: u v@b.fr\nQuota name: q\nType: STORAGE\nValue: 2\n"
	       "Limit: -\n%: 0\n\n\f\n\nUsername: w@b.fr\nQuota name: q\n"
	       "Type: STORAGE\nValue: 3\nLimit: 4\n%: 75\n",
	 .e = {{"u v@b.fr", 2 * KIB, -1, -1, 0},
	       {"w@b.fr", 3 * KIB, -1, 4 * KIB, 0}},
	 .n = 2},
	{.name = "pager field out of order",
	 .in = "u@b.fr\nType: STORAGE\nQuota name: q\nValue: 2\nLimit: -\n"
	       "%: 0\n",
	 .format = DQ_PAGER, .msg = ":2: expected \"Quota name: ...\""},
	{.name = "flow quota name with spaces and an = sign",
	 .in = "u@b.fr Quota name=My = quota Type=STORAGE Value=1 Limit=- "
	       "%=0\n",
	 .e = {{"u@b.fr", 1 * KIB, -1, -1, 0}}, .n = 1},
	{.name = "table in another language",
	 .in = "Utilisateur Nom du quota Type Valeur Limite %\n",
	 .msg = ":1: unknown header or format"},
	{.name = "garbage", .in = "hello world\n",
	 .msg = ":1: unknown header or format \"hello world\""},
	{.name = "whitespace only", .in = " \r\n\n",
	 .msg = "empty input"},
};

static void test_inline(void **state)
{
	(void)state;
	for (size_t i = 0; i < N(inls); i++) {
		const struct inl *t = &inls[i];
		struct dq_options o = {t->format, t->root};
		size_t len = t->len ? t->len : strlen(t->in);
		struct dq_snapshot s;
		struct diag d = DIAG_INIT;

		if (t->msg) {
			expect_refused(t->name, t->in, len, &o, t->msg);
			continue;
		}
		if (dq_parse(t->name, t->in, len, &o, &s, &d) != 0) {
			diag_print(&d, stderr, t->name);
			fail_msg("%s: refused", t->name);
		}
		check_samples(t->name, &s, t->e, t->n);
		dq_snapshot_free(&s);
	}
}

/* A table past doveadm's 100 buffered rows: a longer name overflows its
 * column, and many users exercise the name index. */
static void test_table_overflow_and_many(void **state)
{
	size_t cap = 1 << 20, o = 0, nusers = 5000;
	char *buf = xmalloc(cap);
	struct dq_snapshot s;
	struct diag d = DIAG_INIT;

	(void)state;
	o += (size_t)snprintf(buf + o, cap - o,
			      "Username    Quota name Type    Value Limit %%\n");
	for (size_t i = 0; i < nusers; i++) {
		if (i == 150) {
			o += (size_t)snprintf(buf + o, cap - o,
					      "a much longer name@b.fr User quota "
					      "STORAGE 77 - 0\n");
		}
		o += (size_t)snprintf(buf + o, cap - o,
				      "u%05zu@b.fr User quota STORAGE %5zu     - 0\n"
				      "u%05zu@b.fr User quota MESSAGE %5zu     - 0\n",
				      i, i, i, i % 7);
	}
	if (dq_parse("big", buf, o, NULL, &s, &d) != 0) {
		diag_print(&d, stderr, "big");
		fail();
	}
	assert_int_equal(s.format, DQ_TABLE);
	assert_int_equal(s.n, nusers + 1);
	assert_string_equal(s.s[150].mailbox, "a much longer name@b.fr");
	assert_int_equal(s.s[150].bytes, 77 * KIB);
	for (size_t i = 0; i < nusers; i++) {
		size_t k = i < 150 ? i : i + 1;
		char name[32];

		snprintf(name, sizeof(name), "u%05zu@b.fr", i);
		assert_string_equal(s.s[k].mailbox, name);
		assert_int_equal(s.s[k].bytes, (int64_t)i * KIB);
		assert_int_equal(s.s[k].messages, (int64_t)(i % 7));
	}
	dq_snapshot_free(&s);
	free(buf);
}

static void test_error_cap(void **state)
{
	size_t cap = 1 << 16, o = 0;
	char *buf = xmalloc(cap);
	struct dq_snapshot s;
	struct diag d = DIAG_INIT;

	(void)state;
	o += (size_t)snprintf(buf + o, cap - o, "%s", TABH);
	for (int i = 0; i < 100; i++) {
		o += (size_t)snprintf(buf + o, cap - o,
				      "u%d\tq\tSTORAGE\t-1\t-\t0\n", i);
	}
	assert_int_equal(dq_parse("many", buf, o, NULL, &s, &d), -1);
	assert_true(d.n > 10 && d.n < 40);
	assert_true(diag_has(&d, "many:2: value \"-1\" is negative"));
	assert_true(diag_has(&d, "... and 70 more errors"));
	diag_free(&d);
	free(buf);
}

static void test_format_names(void **state)
{
	enum dq_format f;

	(void)state;
	for (int i = DQ_AUTO; i <= DQ_MAILCOW_API; i++) {
		assert_int_equal(dq_format_parse(dq_format_name(i), &f), 0);
		assert_int_equal(f, i);
	}
	assert_int_equal(dq_format_parse("xml", &f), -1);
	dq_snapshot_free(NULL);
}

/* ---- the command ------------------------------------------------------ */

static void test_cli_dry_run(void **state)
{
	char *out, *err, *path = data_path("tab.txt");
	int rc;

	(void)state;
	rc = test_run(NULL, &out, &err, "collect", "dovecot", "--dry-run",
		      "--json-lines", "--stats", path, NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(
		out,
		"{\"mailbox\":\"alice@example.fr\",\"bytes\":1048576,"
		"\"messages\":12,\"limit_bytes\":10485760}\n"
		"{\"mailbox\":\"bob@example.fr\",\"bytes\":0,\"messages\":0,"
		"\"limit_bytes\":null}\n"
		"{\"mailbox\":\"jean dupont@exemple.fr\",\"bytes\":2097152,"
		"\"messages\":100,\"limit_bytes\":1073741824}\n"
		"{\"mailbox\":\"\xc3\xa9lo\xc3\xafse.\xf0\x9d\x84\x9e"
		"@exemple.fr\",\"bytes\":1024,\"messages\":1,"
		"\"limit_bytes\":null}\n"
		"{\"mailbox\":\"dave@example.fr\",\"bytes\":4194304,"
		"\"messages\":null,\"limit_bytes\":8388608}\n");
	assert_non_null(strstr(err, "tab.txt:12: carol@example.fr: no sample "
				    "this time"));
	assert_non_null(strstr(err, "format: tab\n"));
	assert_non_null(strstr(err, "samples: 5 (2 without limit)\n"));
	assert_non_null(strstr(err, "errors: 1\n  carol@example.fr: "));
	free(out);
	free(err);

	/* --quota-root, --format */
	rc = test_run(NULL, &out, &err, "collect", "dovecot", "-n", "-j",
		      "--format", "tab", "--quota-root", "Archive quota", path,
		      NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "{\"mailbox\":\"alice@example.fr\","
				 "\"bytes\":51200000,\"messages\":3,"
				 "\"limit_bytes\":null}\n");
	free(out);
	free(err);

	/* stdin, mailcow API piped from curl */
	rc = test_run("[{\"username\":\"q\\\"uote@b.fr\",\"quota_used\":\"9\","
		      "\"quota\":\"100\",\"messages\":1}]",
		      &out, &err, "collect", "dovecot", "--dry-run",
		      "--json-lines", "-", NULL);
	assert_int_equal(rc, 0);
	assert_string_equal(out, "{\"mailbox\":\"q\\\"uote@b.fr\",\"bytes\":9,"
				 "\"messages\":1,\"limit_bytes\":100}\n");
	free(out);
	free(err);

	/* a refused snapshot prints nothing on stdout */
	free(path);
	path = data_path("bad/tab-truncated.txt");
	rc = test_run(NULL, &out, &err, "collect", "dovecot", "--dry-run",
		      "--json-lines", path, NULL);
	assert_int_equal(rc, 1);
	assert_string_equal(out, "");
	assert_non_null(strstr(err, "tab-truncated.txt:4: no end of line"));
	assert_non_null(strstr(err, "snapshot refused"));
	free(out);
	free(err);

	/* without --dry-run a refused snapshot stores nothing either */
	rc = test_run(NULL, &out, &err, "collect", "dovecot", path, NULL);
	assert_int_equal(rc, 1);
	assert_non_null(strstr(err, "snapshot refused"));
	free(out);
	free(err);

	rc = test_run(NULL, &out, &err, "collect", "dovecot", "--format",
		      "xml", "-n", path, NULL);
	assert_int_equal(rc, 2);
	free(out);
	free(err);

	rc = test_run(NULL, &out, &err, "collect", "dovecot", "--help", NULL);
	assert_int_equal(rc, 0);
	assert_non_null(strstr(out, "--dry-run"));
	free(out);
	free(err);
	free(path);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_golden),
		cmocka_unit_test(test_bad_files),
		cmocka_unit_test(test_inline),
		cmocka_unit_test(test_table_overflow_and_many),
		cmocka_unit_test(test_error_cap),
		cmocka_unit_test(test_format_names),
		cmocka_unit_test(test_cli_dry_run),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
