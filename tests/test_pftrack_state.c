/*
 * test_pftrack_state — pftrack_save/pftrack_load (issue 4, "Exactly once").
 *
 * For realistic logs and many split points: run A feeds every line to one
 * tracker; run B feeds the lines up to the split, saves, frees, loads the
 * state into a new tracker and feeds the rest.  The messages emitted (every
 * field, in order), the final in-flight list, what expiry closes and the
 * final state must be identical.  Saved states are canonical (save, load,
 * save gives the same bytes) and damaged states are refused cleanly.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "common/diag.h"
#include "metering/pflog.h"
#include "metering/pftrack.h"

struct out {
	char *p;
	size_t n, cap;
};

static void out_add(struct out *o, const char *s)
{
	size_t n = strlen(s);

	if (o->cap - o->n < n + 1) {
		o->cap = (o->n + n + 1) * 2;
		o->p = realloc(o->p, o->cap);
		assert_non_null(o->p);
	}
	memcpy(o->p + o->n, s, n + 1);
	o->n += n;
}

/* Every field of a message, one line. */
static void record(void *arg, const struct pftrack_msg *m)
{
	char line[2048];

	snprintf(line, sizeof(line),
		 "%s %s %lld o%d %s uid=%lld <%s> %lld %ld f%d c%d "
		 "%u/%u/%u/%u %u/%u\n",
		 m->host, m->queue_id, (long long)m->accepted_at_us,
		 (int)m->origin, m->sasl_username ? m->sasl_username : "(null)",
		 m->uid, m->sender, m->size, m->nrcpt, m->in_flight, m->closed,
		 m->rcpt.sent, m->rcpt.bounced, m->rcpt.deferred,
		 m->rcpt.expired, m->rcpt.local, m->rcpt.remote);
	out_add(arg, line);
}

struct log {
	char *text;
	const char **p;
	size_t *n;
	size_t nlines;
};

static int log_split(struct log *lg, char *text)
{
	size_t cap = 1024;

	if (!text)
		return -1;
	lg->text = text;
	lg->nlines = 0;
	lg->p = malloc(cap * sizeof(*lg->p));
	lg->n = malloc(cap * sizeof(*lg->n));
	for (char *s = text; *s;) {
		char *e = strchr(s, '\n');
		size_t len = e ? (size_t)(e - s) : strlen(s);

		if (lg->nlines == cap) {
			cap *= 2;
			lg->p = realloc(lg->p, cap * sizeof(*lg->p));
			lg->n = realloc(lg->n, cap * sizeof(*lg->n));
		}
		lg->p[lg->nlines] = s;
		lg->n[lg->nlines++] = len;
		s += len + (e != NULL);
	}
	return 0;
}

static char *slurp(FILE *f)
{
	size_t n = 0, cap = 1 << 16, k;
	char *b = malloc(cap);

	while ((k = fread(b + n, 1, cap - n - 1, f)) > 0) {
		n += k;
		if (cap - n - 1 == 0)
			b = realloc(b, cap *= 2);
	}
	b[n] = 0;
	return b;
}

static char *read_path(const char *path)
{
	FILE *f = fopen(path, "rb");
	char *b;

	if (!f)
		return NULL;
	b = slurp(f);
	fclose(f);
	return b;
}

static void log_free(struct log *lg)
{
	free(lg->text);
	free(lg->p);
	free(lg->n);
}

static struct pflog_line *pl;

static void feed_line(struct pftrack *t, const struct log *lg, size_t i)
{
	int64_t us;

	pflog_parse(pl, lg->p[i], lg->n[i], PFLOG_FMT_AUTO);
	if (pl->kind < PFLOG_CLIENT)
		return;
	us = pl->time.has_zone ? pl->time.epoch_us :
	     pflog_civil_to_epoch(2026, pl->time.mon, pl->time.mday,
				  pl->time.hour, pl->time.min,
				  pl->time.sec) * 1000000 + pl->time.usec;
	pftrack_feed(t, pl, (struct pflog_str){NULL, 0}, us);
}

static const char *const filters[] = {"127.0.0.1:10024"};

static struct pftrack *new_tracker(struct out *o, int filt)
{
	struct pftrack_config cfg = {.emit = record, .emit_arg = o};

	if (filt) {
		cfg.filter_relays = filters;
		cfg.n_filter_relays = 1;
	}
	return pftrack_new(&cfg);
}

/* The end of a run: in-flight list, then what expiry closes. */
static void finish_run(struct pftrack *t, struct out *o)
{
	out_add(o, "-- in flight\n");
	pftrack_in_flight(t, record, o);
	out_add(o, "-- expire\n");
	pftrack_expire(t, INT64_C(1) << 61, 0);
}

/* save -> load -> save gives the same bytes. */
static void check_canonical(const char *st, size_t n, int filt)
{
	struct out o = {0};
	struct pftrack *t = new_tracker(&o, filt);
	struct diag d = DIAG_INIT;
	char *again;
	size_t m;

	if (pftrack_load(t, st, n, &d) != 0) {
		diag_print(&d, stderr, "load");
		fail_msg("a saved state does not load");
	}
	pftrack_save(t, &again, &m);
	assert_int_equal(m, n);
	assert_memory_equal(again, st, n);
	free(again);
	pftrack_free(t);
	free(o.p);
	diag_free(&d);
}

static unsigned long long rng = 88172645463325252ULL;

static size_t rnd(size_t n)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (size_t)(rng % n);
}

static int cmp_size(const void *a, const void *b)
{
	size_t x = *(const size_t *)a, y = *(const size_t *)b;

	return x < y ? -1 : x > y;
}

/* Run A and, for each split point, run B; compare. */
static void check_log(const char *name, struct log *lg, size_t nsplit,
		      int filt)
{
	struct out a = {0};
	struct pftrack *t = new_tracker(&a, filt);
	size_t *split, *emitted, ns;
	char **state, *final_a;
	size_t *statelen, final_n, biggest = 0, k = 0;

	if (nsplit == 0 || nsplit > lg->nlines + 1)
		nsplit = lg->nlines + 1;
	split = malloc(nsplit * sizeof(size_t));
	emitted = malloc(nsplit * sizeof(size_t));
	state = malloc(nsplit * sizeof(char *));
	statelen = malloc(nsplit * sizeof(size_t));
	if (nsplit == lg->nlines + 1) {
		for (size_t i = 0; i < nsplit; i++)
			split[i] = i;
	} else {
		for (size_t i = 0; i < nsplit; i++)
			split[i] = rnd(lg->nlines + 1);
		qsort(split, nsplit, sizeof(size_t), cmp_size);
	}
	ns = nsplit;
	/* run A, saving the state at every split point on the way */
	for (size_t i = 0; i <= lg->nlines; i++) {
		while (k < ns && split[k] == i) {
			pftrack_save(t, &state[k], &statelen[k]);
			emitted[k] = a.n;
			if (statelen[k] > biggest)
				biggest = statelen[k];
			k++;
		}
		if (i < lg->nlines)
			feed_line(t, lg, i);
	}
	pftrack_save(t, &final_a, &final_n);
	finish_run(t, &a);
	pftrack_free(t);

	for (k = 0; k < ns; k++) {
		struct out b = {0};
		struct diag d = DIAG_INIT;
		char *final_b;
		size_t fb;

		check_canonical(state[k], statelen[k], filt);
		/* B: what A emitted before the split, then the loaded run */
		out_add(&b, "");
		if (emitted[k]) {
			char *pre = malloc(emitted[k] + 1);

			memcpy(pre, a.p, emitted[k]);
			pre[emitted[k]] = 0;
			out_add(&b, pre);
			free(pre);
		}
		t = new_tracker(&b, filt);
		if (pftrack_load(t, state[k], statelen[k], &d) != 0) {
			diag_print(&d, stderr, name);
			fail_msg("%s: split %zu: state does not load", name,
				 split[k]);
		}
		free(state[k]);
		for (size_t i = split[k]; i < lg->nlines; i++)
			feed_line(t, lg, i);
		pftrack_save(t, &final_b, &fb);
		if (fb != final_n || memcmp(final_b, final_a, fb) != 0)
			fail_msg("%s: split at line %zu: final states differ",
				 name, split[k] + 1);
		free(final_b);
		finish_run(t, &b);
		pftrack_free(t);
		if (b.n != a.n || memcmp(a.p, b.p, a.n) != 0) {
			size_t c = 0;

			while (c < a.n && c < b.n && a.p[c] == b.p[c])
				c++;
			while (c > 0 && a.p[c - 1] != '\n')
				c--;
			fail_msg("%s: split at line %zu: output differs:\n"
				 " one run: %.200s\n split:   %.200s",
				 name, split[k] + 1, a.p + c,
				 c < b.n ? b.p + c : "(end)");
		}
		free(b.p);
	}
	print_message("%s%s: %zu lines, %zu splits, largest state %zu bytes\n",
		      name, filt ? " (named filter)" : "", lg->nlines, ns,
		      biggest);
	free(final_a);
	free(a.p);
	free(split);
	free(emitted);
	free(state);
	free(statelen);
}

static const char *const small_logs[] = {
	"tests/data/postfix/mixed.log",
	"tests/fuzz/corpus/pftrack/mixed.log",
	"tests/fuzz/corpus/pftrack/filter.log",
};

static void test_small_logs(void **st)
{
	(void)st;
	for (size_t i = 0; i < sizeof(small_logs) / sizeof(*small_logs); i++) {
		struct log lg;

		if (log_split(&lg, read_path(small_logs[i])) != 0)
			fail_msg("%s: cannot read", small_logs[i]);
		check_log(small_logs[i], &lg, 0, 0);
		check_log(small_logs[i], &lg, 0, 1);
		log_free(&lg);
	}
}

static char *genpflog(const char *extra)
{
	const char *gen = "build/release/bench/genpflog";
	char cmd[512];
	FILE *f;
	char *text;

	if (access(gen, X_OK) != 0)
		return NULL;
	snprintf(cmd, sizeof(cmd),
		 "%s --registry examples/registry.json --tariff "
		 "examples/tariff.json --from 2026-09-01 --to 2026-09-03 %s "
		 "2>/dev/null",
		 gen, extra);
	if (!(f = popen(cmd, "r")))
		return NULL;
	text = slurp(f);
	if (pclose(f) != 0 || !*text) {
		free(text);
		return NULL;
	}
	return text;
}

/* The generated log (if the generator is built): a few hundred random
 * split points (PFTRACK_STATE_SPLITS to change). */
static void test_generated(void **st)
{
	static const char *const variants[] = {
		"--filter --format rfc3339",
		"--filter --long-queue-ids --seed 7",
	};
	const char *e = getenv("PFTRACK_STATE_SPLITS");
	size_t nsplit = e ? strtoul(e, NULL, 10) : 300;

	(void)st;
	for (size_t v = 0; v < 2; v++) {
		struct log lg;

		if (log_split(&lg, genpflog(variants[v])) != 0) {
			print_message("genpflog not built: skipped\n");
			return;
		}
		check_log(variants[v], &lg, v ? nsplit / 3 : nsplit, 0);
		log_free(&lg);
	}
}

/* A state from the middle of a log, with messages, hops and recipients. */
static char *sample_state(size_t *len, size_t stop)
{
	struct log lg;
	struct out o = {0};
	struct pftrack *t = new_tracker(&o, 0);
	char *st;

	assert_int_equal(log_split(&lg, read_path(small_logs[0])), 0);
	for (size_t i = 0; i < lg.nlines && i < stop; i++)
		feed_line(t, &lg, i);
	pftrack_save(t, &st, len);
	pftrack_free(t);
	log_free(&lg);
	free(o.p);
	return st;
}

static uint64_t fnv64(const void *p, size_t n)
{
	const unsigned char *s = p;
	uint64_t h = UINT64_C(14695981039346656037);

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

/* Give body[0..n) a valid checksum (so that the parser itself is tried). */
static char *reseal(const char *body, size_t n, size_t *len)
{
	char *b = malloc(n + 8);
	uint64_t h = fnv64(body, n);

	memcpy(b, body, n);
	for (int i = 0; i < 8; i++)
		b[n + (size_t)i] = (char)(h >> (8 * i));
	*len = n + 8;
	return b;
}

/* load must refuse buf (with a message) and leave t as new; when sealed
 * may be valid, it must at least round-trip. */
static int try_load(const char *buf, size_t n, int may_pass)
{
	struct out o = {0};
	struct pftrack *t = new_tracker(&o, 0), *fresh = new_tracker(&o, 0);
	struct diag d = DIAG_INIT;
	int rc = pftrack_load(t, buf, n, &d);
	char *s1, *s2;
	size_t n1, n2;

	pftrack_save(t, &s1, &n1);
	if (rc == 0) {
		if (!may_pass)
			fail_msg("a damaged state (%zu bytes) was accepted", n);
		assert_int_equal(n1, n);
		assert_memory_equal(s1, buf, n);
	} else {
		assert_int_equal(rc, -1);
		assert_true(d.n > 0);
		assert_int_equal(pftrack_size(t), 0);
		pftrack_save(fresh, &s2, &n2);
		assert_int_equal(n1, n2);
		assert_memory_equal(s1, s2, n1);
		free(s2);
	}
	free(s1);
	pftrack_free(t);
	pftrack_free(fresh);
	diag_free(&d);
	free(o.p);
	return rc;
}

static void test_corrupt(void **st)
{
	size_t len, n;
	char *s = sample_state(&len, 14), *b;
	unsigned accepted = 0, tried = 0;

	(void)st;
	assert_true(len > 100);
	assert_int_equal(try_load(s, len, 1), 0);
	/* every truncation, as saved and with its checksum made right */
	for (size_t m = 0; m < len; m++) {
		try_load(s, m, 0);
		if (m >= 8) {
			b = reseal(s, m >= len - 8 ? len - 9 : m, &n);
			try_load(b, n, 0);
			free(b);
		}
	}
	/* trailing bytes */
	b = malloc(len + 1);
	memcpy(b, s, len - 8);
	b[len - 8] = 0;
	{
		char *c = reseal(b, len - 7, &n);

		try_load(c, n, 0);
		free(c);
	}
	free(b);
	/* every bit flipped: the checksum refuses it; resealed, the parser
	 * refuses it or it is another valid state that round-trips */
	b = malloc(len);
	for (size_t i = 0; i < len; i++)
		for (int bit = 0; bit < 8; bit++) {
			memcpy(b, s, len);
			b[i] ^= (char)(1 << bit);
			try_load(b, len, 0);
			if (i < len - 8) {
				char *c = reseal(b, len - 8, &n);

				accepted += try_load(c, n, 1) == 0;
				tried++;
				free(c);
			}
		}
	/* an older version (1: hops could outlive their root), wrong magic */
	memcpy(b, s, len);
	b[4] = 1;
	{
		char *c = reseal(b, len - 8, &n);
		struct diag d = DIAG_INIT;
		struct out o = {0};
		struct pftrack *t = new_tracker(&o, 0);

		assert_int_equal(pftrack_load(t, c, n, &d), -1);
		assert_non_null(strstr(d.msg[0], "version"));
		pftrack_free(t);
		diag_free(&d);
		free(c);
	}
	memcpy(b, s, len);
	b[0] = 'X';
	try_load(b, len, 0);
	free(b);
	print_message("bit flips with a good checksum: %u of %u still valid\n",
		      accepted, tried);
	free(s);
}

/* Size of the state for N SASL messages in flight, 2 recipients each. */
static void test_size(void **st)
{
	struct out o = {0};
	struct pftrack *t = new_tracker(&o, 0);
	char line[512], *buf;
	size_t len, base;
	struct pftrack *e = new_tracker(&o, 0);

	(void)st;
	pftrack_save(e, &buf, &base);
	free(buf);
	pftrack_free(e);
	for (int i = 0; i < 5000; i++) {
		static const char *const pre[] = {
			"2026-09-01T10:00:00.000001+02:00 mail.example.net "
			"postfix/submission/smtpd[10]: ",
			"2026-09-01T10:00:01.000001+02:00 mail.example.net "
			"postfix/qmgr[13]: ",
			"2026-09-01T10:00:02.000001+02:00 mail.example.net "
			"postfix/smtp[14]: ",
			"2026-09-01T10:00:02.000001+02:00 mail.example.net "
			"postfix/smtp[14]: ",
		};
		static const char *const post[] = {
			": client=pc[198.51.100.7], sasl_method=PLAIN, "
			"sasl_username=secretariat@roussel-avocats.fr",
			": from=<secretariat@roussel-avocats.fr>, size=48213, "
			"nrcpt=2 (queue active)",
			": to=<jean.dupont@gmail.com>, "
			"relay=g[142.250.1.27]:25, delay=1, delays=0/0/0/1, "
			"dsn=2.0.0, status=sent (250 ok)",
			": to=<compta@client-sa.fr>, "
			"relay=none, delay=1, delays=0/0/0/1, dsn=4.4.1, "
			"status=deferred (timeout)",
		};
		for (int k = 0; k < 4; k++) {
			int n = snprintf(line, sizeof(line), "%s%06X%04X%s",
					 pre[k], 0xA00000 + i, 0xBEEF, post[k]);

			pflog_parse(pl, line, (size_t)n, PFLOG_FMT_AUTO);
			assert_true(pl->kind >= PFLOG_CLIENT);
			pftrack_feed(t, pl, (struct pflog_str){NULL, 0},
				     1000000 * (int64_t)i);
		}
	}
	assert_int_equal(pftrack_size(t), 5000);
	pftrack_save(t, &buf, &len);
	check_canonical(buf, len, 0);
	print_message("5000 messages in flight (2 recipients each): %zu "
		      "bytes, %zu bytes per message\n",
		      len, (len - base) / 5000);
	assert_true(len < 5000 * 200);
	free(buf);
	pftrack_free(t);
	free(o.p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_small_logs),
		cmocka_unit_test(test_corrupt),
		cmocka_unit_test(test_size),
		cmocka_unit_test(test_generated),
	};
	int rc;

	pl = malloc(sizeof(*pl));
	rc = cmocka_run_group_tests(tests, NULL, NULL);
	free(pl);
	return rc;
}
