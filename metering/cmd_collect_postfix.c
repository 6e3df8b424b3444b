/*
 * cmd_collect_postfix — `releve collect postfix`: read Postfix logs (files
 * in order, rotated .gz files too, stdin, or a followed live log), track
 * queue ids (pftrack) and store outbound messages (pfstore), or print them
 * as JSON lines (--dry-run).
 *
 * The I/O lives here: reading (linereader), time zones (pftime reads TZ),
 * progress on a terminal, signals in follow mode.  Exactly once: every
 * commit stores the rows, the file's fingerprint and offset and the
 * tracker's state together; a restart resumes from the last commit with
 * that state, so a message whose lines straddle it counts once.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "common/cli.h"
#include "common/commands.h"
#include "common/db.h"
#include "common/jsonout.h"
#include "common/linereader.h"
#include "common/session.h"
#include "common/strset.h"
#include "common/xalloc.h"
#include "pflog.h"
#include "pfstore.h"
#include "pftime.h"
#include "pftrack.h"

#define WHO "releve collect postfix"

static const char help[] =
	"Usage: releve collect postfix [OPTIONS] FILE...|-\n"
	"\n"
	"Read Postfix logs and store one row per outbound message (accepted\n"
	"from an authenticated session, or by sendmail from a registered\n"
	"mailbox) with its recipients' counts, and the daily usage per\n"
	"customer and mailbox.  FILEs are read in order (oldest first: give\n"
	"rotated files before the live one; .gz files are read as such); '-'\n"
	"reads stdin (journalctl -f -o json | releve collect postfix -).\n"
	"Each stream (--host and --source) keeps a cursor: a file or a part\n"
	"of a file read before is not read again, and a message spanning two\n"
	"runs or two rotated files counts once.\n"
	"\n"
	"Options:\n"
	"  -d, --db CONNINFO        libpq connection string or URI\n"
	"  -n, --dry-run            no database: print messages (--json-lines)\n"
	"  -j, --json-lines         with --dry-run: one JSON object per message\n"
	"  -s, --stats              a summary on stderr at the end\n"
	"  -f, --format F           auto (default: per line), syslog, rfc3339,\n"
	"                           rfc5424, journal, docker\n"
	"  -H, --host NAME          the mail host when the log does not say\n"
	"  -S, --source NAME        the stream's name (default: the last FILE's\n"
	"                           name without rotation suffixes; 'stdin')\n"
	"  -F, --follow             follow the last FILE like tail -F (rotation,\n"
	"                           truncation), committing every few seconds\n"
	"  -i, --commit-interval S  seconds between commits (default 5)\n"
	"  -z, --log-timezone TZ    zone of logs without one (default: this\n"
	"                           machine's), e.g. Europe/Paris\n"
	"  -y, --year YYYY          year of yearless lines (default: inferred)\n"
	"  -r, --filter-relay H:P   a content filter (repeatable; default: any\n"
	"                           loopback relay answering 'queued as')\n"
	"  -I, --ignore-service S   skip lines of this syslog service\n"
	"                           (repeatable, e.g. watchdog)\n"
	"  -l, --local-domains FILE hosted domains, one per line (dry run; the\n"
	"                           registry's domains otherwise)\n"
	"  -m, --max-age DAYS       close messages not finished after DAYS of\n"
	"                           log time (default 7)\n"
	"  -P, --no-progress        no progress line on a terminal\n"
	"  -Q, --quota-check        after each commit, run `releve quota check`\n"
	"                           for the day of the last line read (notices,\n"
	"                           blocks), at most once per commit interval\n"
	"  -h, --help               this help\n"
	"\n"
	"Exit status: 0 done, 1 failure (nothing of the failed batch stored;\n"
	"the next run resumes from the last commit), 2 usage error.\n";

struct opts {
	const char *db, *host, *source, *local_domains;
	enum pflog_format format;
	int dry, json, stats, follow, year, progress, quota_check;
	double interval;
	int64_t max_age_us;
	const char **filters, **ignores;
	size_t nfilters, nignores;
};

struct stats {
	long long lines, kinds[PFLOG_KIND_COUNT], bad[PFLOG_BAD_COUNT];
	long long ignored, cut, badtime, emitted, bytes;
};

struct run {
	struct opts *o;
	struct stats st;
	struct pftrack *t;
	struct pfstore *store; /* NULL in a dry run */
	PGconn *c;
	struct pftime tm;
	struct pflog_line *line;
	struct strset domains; /* --local-domains */
	int64_t last_us;
	double last_commit, last_progress, started;
	long long lines_at_commit; /* r->st.lines at the last commit */
	long long bad_at_commit;   /* malformed lines at the last commit */
	double last_quota;	   /* when the quota check last ran */
	uint64_t total_bytes, done_bytes;
	struct pflog_str host; /* --host, or empty */
	char *out;	       /* print_msg's line */
	size_t outcap;
};

static volatile sig_atomic_t stop;

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

static double now_s(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Decimal digits of v at o; returns the end. */
static char *put_u64(char *o, unsigned long long v)
{
	char tmp[24];
	size_t n = 0;

	do {
		tmp[n++] = (char)('0' + v % 10);
		v /= 10;
	} while (v);
	while (n) {
		*o++ = tmp[--n];
	}
	return o;
}

static char *put_i64(char *o, long long v)
{
	if (v < 0) {
		*o++ = '-';
		return put_u64(o, 0ULL - (unsigned long long)v);
	}
	return put_u64(o, (unsigned long long)v);
}

static char *put_lit(char *o, const char *lit)
{
	size_t n = strlen(lit);

	memcpy(o, lit, n);
	return o + n;
}

/* JSON string of s (null when NULL) at o. */
static char *put_str(char *o, const char *s)
{
	if (!s) {
		return put_lit(o, "null");
	}
	return o + jsonout_put(o, s, strlen(s));
}

static char *put_2d(char *o, int v)
{
	*o++ = (char)('0' + v / 10 % 10);
	*o++ = (char)('0' + v % 10);
	return o;
}

/*
 * One JSON line per message, built in r->out and written with one fwrite
 * (stdio's per-call locking and printf's format parsing were a tenth of a
 * dry run).  The fields and their formatting are those of the printf
 * version: accepted_at as strftime's "%Y-%m-%dT%H:%M:%S" of gmtime, then
 * the microseconds.
 */
static void print_msg(void *arg, const struct pftrack_msg *m)
{
	struct run *r = arg;
	time_t s = (time_t)(m->accepted_at_us / 1000000);
	const char *sender = m->sender ? m->sender : "";
	struct pflog_time ct;
	size_t need;
	char *o;

	r->st.emitted++;
	if (!r->o->json) {
		return;
	}
	need = 512 + JSONOUT_MAX(strlen(m->host)) +
	       JSONOUT_MAX(strlen(m->queue_id)) + JSONOUT_MAX(strlen(sender)) +
	       (m->sasl_username ? JSONOUT_MAX(strlen(m->sasl_username)) : 0);
	if (need > r->outcap) {
		r->outcap = need * 2;
		free(r->out);
		r->out = xmalloc(r->outcap);
	}
	o = r->out;
	o = put_lit(o, "{\"host\":");
	o = put_str(o, m->host);
	o = put_lit(o, ",\"queue_id\":");
	o = put_str(o, m->queue_id);
	o = put_lit(o, ",\"accepted_at\":\"");
	/* gmtime_r() takes glibc's time zone lock on every call: the civil
	 * date by arithmetic, the same for years 1000 to 9999, gmtime and
	 * strftime's %Y beyond. */
	pflog_epoch_to_civil((int64_t)s, &ct);
	if (ct.year >= 1000 && ct.year <= 9999) {
		o = put_u64(o, (unsigned long long)ct.year);
		*o++ = '-';
		o = put_2d(o, ct.mon);
		*o++ = '-';
		o = put_2d(o, ct.mday);
		*o++ = 'T';
		o = put_2d(o, ct.hour);
		*o++ = ':';
		o = put_2d(o, ct.min);
		*o++ = ':';
		o = put_2d(o, ct.sec);
	} else {
		struct tm tm;

		gmtime_r(&s, &tm);
		o += strftime(o, 64, "%Y-%m-%dT%H:%M:%S", &tm);
	}
	*o++ = '.';
	{
		int us = (int)(m->accepted_at_us % 1000000 +
			       (m->accepted_at_us < 0 ? 1000000 : 0)) %
			 1000000;
		/* always 0..999999: six digits, as "%06d" */
		for (int i = 5; i >= 0; i--, us /= 10) {
			o[i] = (char)('0' + us % 10);
		}
		o += 6;
	}
	o = put_lit(o, "Z\",\"sasl_username\":");
	o = put_str(o, m->sasl_username);
	o = put_lit(o, ",\"sender\":");
	o = put_str(o, sender);
	o = put_lit(o, ",\"size\":");
	o = put_i64(o, m->size);
	o = put_lit(o, ",\"nrcpt\":");
	o = put_i64(o, m->nrcpt);
	o = put_lit(o, m->in_flight ? ",\"in_flight\":true" :
				      ",\"in_flight\":false");
	o = put_lit(o, ",\"recipients\":{\"sent\":");
	o = put_u64(o, m->rcpt.sent);
	o = put_lit(o, ",\"bounced\":");
	o = put_u64(o, m->rcpt.bounced);
	o = put_lit(o, ",\"deferred\":");
	o = put_u64(o, m->rcpt.deferred);
	o = put_lit(o, ",\"expired\":");
	o = put_u64(o, m->rcpt.expired);
	o = put_lit(o, ",\"local\":");
	o = put_u64(o, m->rcpt.local);
	o = put_lit(o, ",\"remote\":");
	o = put_u64(o, m->rcpt.remote);
	o = put_lit(o, "}}\n");
	fwrite(r->out, 1, (size_t)(o - r->out), stdout);
}

static void store_msg(void *arg, const struct pftrack_msg *m)
{
	struct run *r = arg;

	r->st.emitted++;
	pfstore_add_message(r->store, m);
}

static int dry_is_local(void *arg, const char *domain, size_t n)
{
	return strset_has(&((struct run *)arg)->domains, domain, n);
}

static int load_domains(struct run *r, const char *path)
{
	FILE *f = fopen(path, "r");
	char buf[512];

	if (!f) {
		return cli_fail("collect postfix: %s: %s", path,
				strerror(errno));
	}
	while (fgets(buf, sizeof(buf), f)) {
		char *p = buf, *e;

		while (*p == ' ' || *p == '\t') {
			p++;
		}
		e = p + strcspn(p, " \t\r\n#");
		if (e == p) {
			continue;
		}
		*e = '\0';
		strset_add(&r->domains, p);
	}
	fclose(f);
	strset_freeze(&r->domains);
	return 0;
}

static int ignored_service(const struct opts *o, const struct pflog_line *l)
{
	for (size_t i = 0; i < o->nignores; i++) {
		size_t n = strlen(o->ignores[i]);
		const char *tag = l->tag.p;
		size_t first = 0;

		while (first < l->tag.n && tag[first] != '/') {
			first++;
		}
		if ((l->service.n == n && !memcmp(l->service.p, o->ignores[i], n)) ||
		    (first == n && !memcmp(tag, o->ignores[i], n))) {
			return 1;
		}
	}
	return 0;
}

/* done: bytes read of every FILE so far. */
static void progress(struct run *r, uint64_t done, int force)
{
	double t = now_s();

	if (!r->o->progress || (!force && t - r->last_progress < 0.5)) {
		return;
	}
	r->last_progress = t;
	double el = t - r->started;

	fprintf(stderr, "\r%" PRIu64 " MiB", done >> 20);
	if (r->total_bytes) {
		fprintf(stderr, " of %" PRIu64 " MiB (%.0f%%)",
			r->total_bytes >> 20, 100.0 * (double)done /
			(double)r->total_bytes);
	}
	fprintf(stderr, ", %.0f lines/s, %zu in flight   ",
		el > 0 ? (double)r->st.lines / el : 0.0, pftrack_size(r->t));
	if (force) {
		fputc('\n', stderr);
	}
}

/*
 * Feed the tracker a parsed line of n bytes (cut: its end was dropped).
 * What is read of l here and in pftrack_feed is what FED_FIELDS keeps.
 */
#define FED_FIELDS                                                         \
	(PFLOG_KEEP_HOST | PFLOG_KEEP_QID | PFLOG_KEEP_CLIENT_ADDR |       \
	 PFLOG_KEEP_SASL_USERNAME | PFLOG_KEEP_FROM | PFLOG_KEEP_TO |      \
	 PFLOG_KEEP_ORIG_TO | PFLOG_KEEP_RELAY | PFLOG_KEEP_QUEUED_AS)
#define FED_FIELDS_IGNORE (PFLOG_KEEP_TAG | PFLOG_KEEP_SERVICE)

static void feed_parsed(struct run *r, const struct pflog_line *l, size_t n,
			int cut)
{
	enum pflog_kind k = l->kind;
	int64_t us;

	r->st.lines++;
	r->st.bytes += (long long)n + 1;
	if (cut) {
		r->st.cut++;
	}
	r->st.kinds[k]++;
	if (k == PFLOG_MALFORMED) {
		r->st.bad[l->bad]++;
		return;
	}
	if (k == PFLOG_NOT_POSTFIX || k == PFLOG_OTHER) {
		return;
	}
	if (r->o->nignores && ignored_service(r->o, l)) {
		r->st.ignored++;
		return;
	}
	us = pftime_resolve(&r->tm, &l->time);
	if (us == INT64_MIN) {
		r->st.badtime++;
		return;
	}
	r->last_us = us;
	struct pflog_str host = r->host;

	if (r->store && (k == PFLOG_REJECT || k == PFLOG_SASL_FAILED)) {
		struct pflog_str who = l->sasl_username.n ? l->sasl_username
							  : l->client_addr;
		struct pflog_str h = host.n ? host : l->host;
		char hbuf[256];

		if (who.n) {
			snprintf(hbuf, sizeof(hbuf), "%.*s", (int)h.n, h.p);
			pfstore_add_reject(r->store, hbuf, us,
					   k == PFLOG_REJECT ? "reject"
							     : "sasl_failed",
					   who.p, who.n);
		}
	}
	pftrack_feed(r->t, l, host, us);
}

/* Parse one line and feed the tracker. */
static void feed(struct run *r, const char *p, size_t n, int cut)
{
	pflog_parse(r->line, p, n, r->o->format);
	feed_parsed(r, r->line, n, cut);
}

struct hashctx {
	struct linereader *lr;
};

static int lr_hash(void *arg, size_t n, uint64_t *fp)
{
	return lr_prefix_hash(((struct hashctx *)arg)->lr, n, fp);
}

/*
 * Commits also come every BATCH messages, in the background (pfstore):
 * the database stores one batch while the next is parsed, and the rows
 * buffered stay few.
 */
#define BATCH 32768

/*
 * --quota-check: after a commit in the foreground, judge the day of the
 * last line read with `releve quota check --at` (notices, blocks), at
 * most once per commit interval.  The check runs in a child process of
 * this binary (fork, then the quota command's own function): metering/
 * and billing/ stay apart, the child has its own connection, and no
 * connection string ever goes on a command line.  No commit thread runs
 * at that point (a foreground commit waited for it).
 */
static void run_quota_check(struct run *r)
{
	double t = now_s();
	pid_t pid;
	int st;

	if (!r->o->quota_check || !r->last_us ||
	    (r->last_quota > 0 && t - r->last_quota < r->o->interval)) {
		return;
	}
	r->last_quota = t;
	fflush(NULL);
	pid = fork();
	if (pid < 0) {
		fprintf(stderr, WHO ": quota check: fork: %s\n", strerror(errno));
		return;
	}
	if (pid == 0) {
		time_t s = (time_t)(r->last_us / 1000000);
		struct tm tm;
		char at[40];
		char *argv[8];
		int n = 0;

		gmtime_r(&s, &tm);
		strftime(at, sizeof(at), "%Y-%m-%dT%H:%M:%SZ", &tm);
		argv[n++] = (char *)"quota";
		argv[n++] = (char *)"check";
		argv[n++] = (char *)"--at";
		argv[n++] = at;
		if (r->o->db) {
			argv[n++] = (char *)"--db";
			argv[n++] = (char *)r->o->db;
		}
		argv[n] = NULL;
		st = cmd_quota(n, argv);
		fflush(NULL);
		_exit(st);
	}
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		fprintf(stderr, WHO ": quota check failed (the collection goes "
				"on; the next commit tries again)\n");
		r->last_quota = 0;
	}
}

/* Close the messages older than --max-age; at each commit, and at each
 * file's end. */
static void expire_old(struct run *r)
{
	if (r->o->max_age_us && r->last_us) {
		pftrack_expire(r->t, r->last_us, r->o->max_age_us);
	}
	r->last_commit = now_s();
}

/* background: see pfstore_commit(); its failure shows at the next one. */
static int commit(struct run *r, struct linereader *lr, const char *path,
		  int finished, int background)
{
	struct diag d = DIAG_INIT;
	uint64_t fp;
	size_t fplen;

	expire_old(r);
	/* A commit in the foreground waits for one in the background, even
	 * with nothing new: the next file's offset depends on it. */
	if (r->store && !background && pfstore_sync(r->store, &d) != 0) {
		diag_print(&d, stderr, WHO);
		fprintf(stderr, WHO ": nothing of this batch was stored; the "
				"next run resumes from the last commit\n");
		diag_free(&d);
		return -1;
	}
	if (!r->store || r->st.lines == r->lines_at_commit) {
		return 0; /* nothing new: the cursor stays as it is */
	}
	lr_fingerprint(lr, &fp, &fplen);
	if (pfstore_commit(r->store, r->t, fp, fplen, path, lr_offset(lr),
			   finished, r->st.lines - r->lines_at_commit,
			   r->st.kinds[PFLOG_MALFORMED] - r->bad_at_commit,
			   background, &d) != 0) {
		diag_print(&d, stderr, WHO);
		fprintf(stderr, WHO ": nothing of this batch was stored; the "
				"next run resumes from the last commit\n");
		diag_free(&d);
		return -1;
	}
	r->lines_at_commit = r->st.lines;
	r->bad_at_commit = r->st.kinds[PFLOG_MALFORMED];
	if (!background) {
		run_quota_check(r);
	}
	return 0;
}

/* Has path been rotated (another file) or truncated under lr? */
static int rotated(const char *path, struct linereader *lr, int *truncated)
{
	struct stat sb;
	dev_t dev;
	ino_t ino;

	*truncated = 0;
	if (stat(path, &sb) != 0) {
		return 0; /* not there yet: keep reading the old one */
	}
	lr_identity(lr, &dev, &ino);
	if (sb.st_dev != dev || sb.st_ino != ino) {
		return 1;
	}
	if ((uint64_t)sb.st_size < lr_offset(lr)) {
		*truncated = 1;
		return 1;
	}
	return 0;
}

/*
 * Read one file from where the stream left it.  last: the last input
 * (its partial last line waits for the next run or for follow mode).
 */
static int read_file(struct run *r, const char *path, int last)
{
	struct diag d = DIAG_INIT;
	struct linereader *lr = lr_open(path, &d);
	const char *line;
	size_t len;
	int cut, rc = 0;
	int follow = last && r->o->follow && strcmp(path, "-") != 0;

	if (!lr) {
		diag_print(&d, stderr, WHO);
		diag_free(&d);
		return -1;
	}
reopen:
	if (r->store && strcmp(path, "-") != 0) {
		struct hashctx hc = {lr};
		int known, current;
		uint64_t off = pfstore_file_offset(r->store, lr_hash, &hc,
						   &known, &current);

		if (known && off > 0) {
			if (lr_seek(lr, off, &d) != 0) {
				/* Shorter than what was read: truncated and
				 * rewritten with the same beginning. */
				diag_free(&d);
				fprintf(stderr, WHO ": %s: shorter than the %"
					PRIu64 " bytes read before: reading it "
					"from the start\n", path, off);
			} else if (!follow && lr_size(lr) <= off &&
				   !lr_is_gzip(lr)) {
				fprintf(stderr, WHO ": %s: read before, nothing "
						"new\n", path);
			}
		}
	}
	for (;;) {
		enum lr_status s;

		while ((s = lr_next(lr, !last || r->o->dry, &line, &len, &cut,
				    &d)) == LR_LINE) {
			feed(r, line, len, cut);
			if (r->st.lines % 4096 == 0) {
				double t = now_s();

				progress(r, r->done_bytes +
						 lr_bytes_read(lr), 0);
				if ((t - r->last_commit >= r->o->interval ||
				     (r->store &&
				      pfstore_pending(r->store) >= BATCH)) &&
				    commit(r, lr, path, 0, 1)) {
					rc = -1;
					goto out;
				}
				if (stop) {
					goto out;
				}
			}
		}
		if (s == LR_ERROR) {
			diag_print(&d, stderr, WHO);
			rc = -1;
			goto out;
		}
		if (!follow || stop) {
			break;
		}
		/* Follow: commit what we have, wait, watch for rotation. */
		if (now_s() - r->last_commit >= r->o->interval &&
		    commit(r, lr, path, 0, 0)) {
			rc = -1;
			goto out;
		}
		int trunc;

		if (rotated(path, lr, &trunc)) {
			/* Finish the old file (its last line is whole now),
			 * then start on the new one. */
			while (!trunc && lr_next(lr, 1, &line, &len, &cut,
						 &d) == LR_LINE) {
				feed(r, line, len, cut);
			}
			if (commit(r, lr, path, 1, 0)) {
				rc = -1;
				goto out;
			}
			lr_close(lr);
			lr = lr_open(path, &d);
			if (!lr) {
				diag_print(&d, stderr, WHO);
				rc = -1;
				goto out;
			}
			fprintf(stderr, WHO ": %s: %s, reading the new file\n",
				path, trunc ? "truncated" : "rotated");
			goto reopen;
		}
		usleep(200000);
	}
	r->done_bytes += lr_bytes_read(lr);
	progress(r, r->done_bytes + lr_bytes_read(lr), 0);
	if (commit(r, lr, path, !last, 0)) {
		rc = -1;
	}
out:
	diag_free(&d);
	lr_close(lr);
	return rc;
}

/*
 * The dry run of named files on both cores.  A reader thread reads the
 * files in order and parses each line; the main thread takes the parsed
 * lines in order and does the rest (statistics, time, tracking, output)
 * exactly as feed() does.  Reading and parsing are a little over half
 * the work; reading RFC 3339 timestamps is left to the main thread
 * (pflog_parse_deferred) to even the halves out.  What crosses from one
 * core to the other is kept small, since moving memory between cores
 * costs more than parsing it again: each line as pflog_pack() bytes with
 * only the fields the main thread reads (a line that counts nothing: its
 * kind and timestamp only), in batches of PIPE_BYTES handed over under
 * one lock.  PIPE_BATCHES of them bound the memory.
 * Not for stdin (a live pipe would wait for a whole batch) nor for a
 * store run, whose commits need each line's offset in its file.
 */
#define PIPE_BATCHES 4
#define PIPE_BYTES (256 * 1024)

enum batch_what { B_LINES, B_END, B_ERROR };

/* A line's record: its length (bit 31: cut), a flag (1: packed fields
 * follow; 0: a line that counts nothing, its kind, bad, and timestamp
 * follow: a length byte, the bytes). */
struct batch { /* NOLINT(clang-analyzer-optin.performance.Padding) */
	unsigned char *p;
	size_t used, cap;
	uint64_t done; /* bytes read of the files after this batch */
	int file_end;  /* its last line ends a file */
	enum batch_what what;
	/* A batch to a cache line: the reader fills one while the main
	 * thread reads another, and neither should touch the other's. */
	_Alignas(64) char pad;
};

struct pipe { /* NOLINT(clang-analyzer-optin.performance.Padding) */
	pthread_mutex_t mu;
	pthread_cond_t filled, emptied;
	struct batch b[PIPE_BATCHES];
	size_t head, tail; /* batches filled, taken */
	int quit;	   /* the main thread stopped early */
	char **files;
	int nfiles;
	enum pflog_format format;
	uint32_t keep;
};

/* The next empty batch for the reader, NULL when the main thread quit. */
static struct batch *pipe_empty(struct pipe *pp)
{
	struct batch *b;

	pthread_mutex_lock(&pp->mu);
	while (!pp->quit && pp->head - pp->tail == PIPE_BATCHES) {
		pthread_cond_wait(&pp->emptied, &pp->mu);
	}
	b = pp->quit ? NULL : &pp->b[pp->head % PIPE_BATCHES];
	pthread_mutex_unlock(&pp->mu);
	if (b) {
		b->used = 0;
		b->file_end = 0;
		b->what = B_LINES;
	}
	return b;
}

static void pipe_publish(struct pipe *pp)
{
	pthread_mutex_lock(&pp->mu);
	pp->head++;
	pthread_cond_signal(&pp->filled);
	pthread_mutex_unlock(&pp->mu);
}

/* Hand b over with used bytes (done: bytes read of the files so far);
 * the next empty batch, NULL when the main thread quit. */
static struct batch *pipe_hand_over(struct pipe *pp, struct batch *b,
				    size_t used, uint64_t done, int file_end)
{
	b->used = used;
	b->done = done;
	b->file_end = file_end;
	pipe_publish(pp);
	return pipe_empty(pp);
}

/* Append l (a line of len bytes) to b at *used; 0 when it has no room.
 * *used is the reader's own cursor: b->used, which the main thread
 * reads, is written once, at hand-over. */
static int batch_put(const struct batch *b, size_t *used,
		     const struct pflog_line *l, uint32_t keep, size_t len,
		     int cut)
{
	uint32_t lc = (uint32_t)len | (cut ? 1u << 31 : 0);
	unsigned char *o = b->p + *used;
	size_t room = b->cap - *used, k;

	if (room < 8) {
		return 0;
	}
	memcpy(o, &lc, 4);
	if (l->kind < PFLOG_CLIENT &&
	    (!l->time_deferred || l->time_text.n <= 255)) {
		/* kind, bad and, to be read, the timestamp */
		size_t tn = l->time_deferred ? l->time_text.n : 0;

		if (room < 8 + tn) {
			return 0;
		}
		o[4] = 0;
		o[5] = (unsigned char)l->kind;
		o[6] = (unsigned char)l->bad;
		o[7] = (unsigned char)tn;
		if (tn) {
			memcpy(o + 8, l->time_text.p, tn);
		}
		*used += 8 + tn;
		return 1;
	}
	o[4] = 1;
	k = pflog_pack(l, keep, o + 5, room - 5);
	if (k == 0) {
		return 0;
	}
	*used += 5 + k;
	return 1;
}

static void *pipe_reader(void *arg)
{
	struct pipe *pp = arg;
	struct pflog_line *l = xmalloc(sizeof(*l));
	struct batch *b = pipe_empty(pp);
	size_t used = 0;
	uint64_t done = 0;
	struct diag d = DIAG_INIT;
	enum batch_what end = B_END;

	for (int f = 0; b && f < pp->nfiles; f++) {
		struct linereader *lr = lr_open(pp->files[f], &d);
		enum lr_status st = LR_EOF;
		const char *line;
		size_t len;
		int cut;

		if (!lr) {
			end = B_ERROR;
			break;
		}
		while (b && (st = lr_next(lr, 1, &line, &len, &cut, &d)) ==
				    LR_LINE) {
			pflog_parse_deferred(l, line, len, pp->format);
			if (batch_put(b, &used, l, pp->keep, len, cut)) {
				continue;
			}
			b = pipe_hand_over(pp, b, used,
					   done + lr_bytes_read(lr), 0);
			used = 0;
			while (b &&
			       !batch_put(b, &used, l, pp->keep, len, cut)) {
				/* bigger than a batch: a batch of its own */
				b->cap *= 2;
				b->p = xreallocarray(b->p, b->cap, 1);
			}
		}
		if (b) {
			done += lr_bytes_read(lr);
		}
		lr_close(lr);
		if (b && st == LR_ERROR) {
			end = B_ERROR;
			break;
		}
		if (b) {
			/* the main thread expires old messages at each
			 * file's end, as read_file's commit does */
			b = pipe_hand_over(pp, b, used, done, 1);
			used = 0;
		}
	}
	if (end == B_ERROR) {
		diag_print(&d, stderr, WHO);
	}
	diag_free(&d);
	if (b && used) { /* the lines before an error, then the end */
		b = pipe_hand_over(pp, b, used, done, 0);
	}
	if (b) {
		b->what = end;
		b->done = done;
		pipe_publish(pp);
	}
	free(l);
	return NULL;
}

/* Feed the lines of a batch. */
static void batch_feed(struct run *r, const struct batch *b)
{
	struct pflog_line *l = r->line;
	const unsigned char *p = b->p;
	size_t used = b->used;

	for (size_t o = 0; o < used;) {
		uint32_t lc;

		memcpy(&lc, p + o, 4);
		if (p[o + 4] == 0) {
			/* feed_parsed reads nothing else of such a line
			 * (once its timestamp is known to be good) */
			l->kind = (enum pflog_kind)p[o + 5];
			l->bad = (enum pflog_bad)p[o + 6];
			l->format = PFLOG_FMT_RFC3339;
			l->time_deferred = p[o + 7] != 0;
			l->time_text.p = (const char *)p + o + 8;
			l->time_text.n = p[o + 7];
			o += 8 + p[o + 7];
		} else {
			o += 5 + pflog_unpack(l, p + o + 5);
		}
		pflog_finish_time(l);
		feed_parsed(r, l, lc & ~(1u << 31), (lc >> 31) != 0);
	}
}

/* Read the files of a dry run through the reader thread. */
static int read_files_piped(struct run *r, char **files, int nfiles)
{
	struct pipe pp;
	pthread_t th;
	int rc = 0;

	memset(&pp, 0, sizeof(pp));
	pthread_mutex_init(&pp.mu, NULL);
	pthread_cond_init(&pp.filled, NULL);
	pthread_cond_init(&pp.emptied, NULL);
	pp.files = files;
	pp.nfiles = nfiles;
	pp.format = r->o->format;
	pp.keep = FED_FIELDS | (r->o->nignores ? FED_FIELDS_IGNORE : 0);
	for (int i = 0; i < PIPE_BATCHES; i++) {
		pp.b[i].cap = PIPE_BYTES;
		pp.b[i].p = xmalloc(PIPE_BYTES);
	}
	if (pthread_create(&th, NULL, pipe_reader, &pp) != 0) {
		fprintf(stderr, WHO ": cannot start the reader thread\n");
		rc = -1;
		goto out;
	}
	for (;;) {
		struct batch *b;

		pthread_mutex_lock(&pp.mu);
		while (pp.head == pp.tail) {
			pthread_cond_wait(&pp.filled, &pp.mu);
		}
		b = &pp.b[pp.tail % PIPE_BATCHES];
		pthread_mutex_unlock(&pp.mu);
		r->done_bytes = b->done;
		if (b->what != B_LINES) {
			rc = b->what == B_ERROR ? -1 : 0;
			break;
		}
		batch_feed(r, b);
		progress(r, b->done, 0);
		if (b->file_end || now_s() - r->last_commit >= r->o->interval) {
			expire_old(r);
		}
		pthread_mutex_lock(&pp.mu);
		pp.tail++;
		pthread_cond_signal(&pp.emptied);
		pthread_mutex_unlock(&pp.mu);
	}
	pthread_mutex_lock(&pp.mu);
	pp.quit = 1;
	pthread_cond_signal(&pp.emptied);
	pthread_mutex_unlock(&pp.mu);
	pthread_join(th, NULL);
out:
	for (int i = 0; i < PIPE_BATCHES; i++) {
		free(pp.b[i].p);
	}
	pthread_cond_destroy(&pp.filled);
	pthread_cond_destroy(&pp.emptied);
	pthread_mutex_destroy(&pp.mu);
	return rc;
}

static void print_stats(const struct run *r)
{
	fprintf(stderr, "lines read: %lld (%lld bytes)\n", r->st.lines,
		r->st.bytes);
	for (int k = 0; k < PFLOG_KIND_COUNT; k++) {
		if (k != PFLOG_MALFORMED && r->st.kinds[k]) {
			fprintf(stderr, "  %-12s %lld\n",
				pflog_kind_name((enum pflog_kind)k),
				r->st.kinds[k]);
		}
	}
	fprintf(stderr, "lines skipped: %lld (other programs), %lld (ignored "
			"services)\n", r->st.kinds[PFLOG_NOT_POSTFIX],
		r->st.ignored);
	fprintf(stderr, "malformed lines: %lld\n", r->st.kinds[PFLOG_MALFORMED]);
	for (int b = 1; b < PFLOG_BAD_COUNT; b++) {
		if (r->st.bad[b]) {
			fprintf(stderr, "  %-12s %lld\n",
				pflog_bad_name((enum pflog_bad)b), r->st.bad[b]);
		}
	}
	if (r->st.cut) {
		fprintf(stderr, "  %-12s %lld\n", "too-long", r->st.cut);
	}
	if (r->st.badtime) {
		fprintf(stderr, "  %-12s %lld\n", "bad-time", r->st.badtime);
	}
	fprintf(stderr, "messages finished: %lld\n", r->st.emitted);
	fprintf(stderr, "messages in flight: %zu\n", pftrack_size(r->t));
	if (r->store) {
		const struct pfstore_totals *t = pfstore_totals(r->store);

		fprintf(stderr, "unattributed (unknown SASL login): %lld\n",
			t->unattributed);
		fprintf(stderr, "system pickups (not billed): %lld\n",
			t->system);
		fprintf(stderr, "rejected attempts recorded: %lld\n",
			t->rejects);
		fprintf(stderr, "commits: %lld\n", t->commits);
	}
}

/* mail.log.2.gz -> mail.log: the stream a rotated file belongs to. */
static char *stream_name(const char *path)
{
	const char *b = strrchr(path, '/');
	char *s = xstrdup(b ? b + 1 : path);
	size_t n = strlen(s);

	if (n > 3 && !strcmp(s + n - 3, ".gz")) {
		s[n -= 3] = '\0';
	}
	while (n > 0 && s[n - 1] >= '0' && s[n - 1] <= '9') {
		n--;
	}
	if (n > 1 && n < strlen(s) && (s[n - 1] == '.' || s[n - 1] == '-')) {
		s[n - 1] = '\0';
	}
	return s;
}

static int parse_opts(int argc, char **argv, struct opts *o)
{
	static const struct option lo[] = {
		{"db", required_argument, NULL, 'd'},
		{"dry-run", no_argument, NULL, 'n'},
		{"json-lines", no_argument, NULL, 'j'},
		{"stats", no_argument, NULL, 's'},
		{"format", required_argument, NULL, 'f'},
		{"host", required_argument, NULL, 'H'},
		{"source", required_argument, NULL, 'S'},
		{"follow", no_argument, NULL, 'F'},
		{"commit-interval", required_argument, NULL, 'i'},
		{"log-timezone", required_argument, NULL, 'z'},
		{"year", required_argument, NULL, 'y'},
		{"filter-relay", required_argument, NULL, 'r'},
		{"ignore-service", required_argument, NULL, 'I'},
		{"local-domains", required_argument, NULL, 'l'},
		{"max-age", required_argument, NULL, 'm'},
		{"no-progress", no_argument, NULL, 'P'},
		{"quota-check", no_argument, NULL, 'Q'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	int c;
	char *end;

	memset(o, 0, sizeof(*o));
	o->interval = 5;
	o->max_age_us = 7LL * 86400 * 1000000;
	o->progress = cli_stderr_tty();
	while ((c = getopt_long(argc, argv, "d:njsf:H:S:Fi:z:y:r:I:l:m:PQh", lo,
				NULL)) != -1) {
		switch (c) {
		case 'd':
			o->db = optarg;
			break;
		case 'n':
			o->dry = 1;
			break;
		case 'j':
			o->json = 1;
			break;
		case 's':
			o->stats = 1;
			break;
		case 'f':
			if (pflog_format_parse(optarg, &o->format)) {
				return cli_usage("collect postfix", "--format: "
						 "unknown format '%s'", optarg);
			}
			break;
		case 'H':
			o->host = optarg;
			break;
		case 'S':
			o->source = optarg;
			break;
		case 'F':
			o->follow = 1;
			break;
		case 'i':
			o->interval = strtod(optarg, &end);
			if (*end || o->interval <= 0 || o->interval > 3600) {
				return cli_usage("collect postfix",
						 "--commit-interval: '%s' is not "
						 "a number of seconds", optarg);
			}
			break;
		case 'z':
			if (setenv("TZ", optarg, 1) != 0) {
				return cli_fail("collect postfix: TZ: %s",
						strerror(errno));
			}
			break;
		case 'y':
			o->year = (int)strtol(optarg, &end, 10);
			if (*end || o->year < 1970 || o->year > 9999) {
				return cli_usage("collect postfix", "--year: '%s' "
						 "is not a year", optarg);
			}
			break;
		case 'r':
			o->filters = xreallocarray(o->filters, o->nfilters + 1,
						   sizeof(char *));
			o->filters[o->nfilters++] = optarg;
			break;
		case 'I':
			o->ignores = xreallocarray(o->ignores, o->nignores + 1,
						   sizeof(char *));
			o->ignores[o->nignores++] = optarg;
			break;
		case 'l':
			o->local_domains = optarg;
			break;
		case 'm': {
			long days = strtol(optarg, &end, 10);

			if (*end || days < 1 || days > 365) {
				return cli_usage("collect postfix", "--max-age: "
						 "'%s' is not 1..365 days",
						 optarg);
			}
			o->max_age_us = (int64_t)days * 86400 * 1000000;
			break;
		}
		case 'Q':
			o->quota_check = 1;
			break;
		case 'P':
			o->progress = 0;
			break;
		case 'h':
			fputs(help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("collect postfix", "bad option");
		}
	}
	if (optind == argc) {
		return cli_usage("collect postfix", "give FILEs, or - for stdin");
	}
	if (o->json && !o->dry) {
		return cli_usage("collect postfix", "--json-lines goes with "
				 "--dry-run");
	}
	if (o->quota_check && o->dry) {
		return cli_usage("collect postfix", "--quota-check needs the "
				 "database: it does not go with --dry-run");
	}
	if (o->follow && o->dry) {
		return cli_usage("collect postfix", "--follow stores: it does "
				 "not go with --dry-run");
	}
	for (int i = optind; i < argc; i++) {
		if (!strcmp(argv[i], "-") && argc - optind > 1) {
			return cli_usage("collect postfix", "'-' (stdin) is "
					 "read alone");
		}
	}
	if (o->local_domains && !o->dry) {
		return cli_usage("collect postfix", "--local-domains is for "
				 "--dry-run (the registry says otherwise)");
	}
	return -1;
}

int cmd_collect_postfix(int argc, char **argv)
{
	struct opts o;
	struct run r;
	struct pftrack_config cfg;
	int rc = parse_opts(argc, argv, &o);
	char *name = NULL;

	if (rc >= 0) {
		free(o.filters);
		free(o.ignores);
		return rc;
	}
	tzset();
	memset(&r, 0, sizeof(r));
	r.o = &o;
	if (o.host) {
		r.host.p = o.host;
		r.host.n = strlen(o.host);
	}
	if (o.dry && o.json) {
		/* Lines are written whole: a large buffer, few write(2)s. */
		setvbuf(stdout, NULL, _IOFBF, 1 << 20);
	}
	r.line = xmalloc(sizeof(*r.line));
	r.started = r.last_commit = now_s();
	pftime_init(&r.tm, o.year, (int64_t)time(NULL) * 1000000);
	memset(&cfg, 0, sizeof(cfg));
	cfg.emit = o.dry ? print_msg : store_msg;
	cfg.emit_arg = &r;
	cfg.filter_relays = o.filters;
	cfg.n_filter_relays = o.nfilters;
	rc = EXIT_FAIL;
	if (o.dry && o.local_domains) {
		if (load_domains(&r, o.local_domains) != 0) {
			goto out;
		}
		cfg.is_local_domain = dry_is_local;
		cfg.local_arg = &r;
	}
	for (int i = optind; i < argc; i++) {
		struct stat sb;

		if (strcmp(argv[i], "-") != 0 && stat(argv[i], &sb) == 0) {
			r.total_bytes += (uint64_t)sb.st_size;
		}
	}
	if (!o.dry) {
		struct diag d = DIAG_INIT;
		char host[256];

		r.c = session_open(WHO, o.db);
		if (!r.c) {
			goto out;
		}
		if (!o.host && gethostname(host, sizeof(host)) == 0) {
			host[sizeof(host) - 1] = '\0';
		} else {
			snprintf(host, sizeof(host), "%s", o.host ? o.host : "-");
		}
		name = o.source ? xstrdup(o.source)
		       : !strcmp(argv[argc - 1], "-") ? xstrdup("stdin")
						      : stream_name(argv[argc - 1]);
		r.store = pfstore_open(r.c, host, name, &d);
		if (!r.store) {
			diag_print(&d, stderr, WHO);
			diag_free(&d);
			goto out;
		}
		cfg.is_local_domain = pfstore_is_hosted;
		cfg.local_arg = r.store;
	}
	r.t = pftrack_new(&cfg);
	if (r.store) {
		size_t len;
		const char *state = pfstore_state(r.store, &len);
		struct diag d = DIAG_INIT;

		if (state && pftrack_load(r.t, state, len, &d) != 0) {
			diag_print(&d, stderr, WHO);
			fprintf(stderr, WHO ": the stream's saved state is "
					"unreadable; refusing to go on\n");
			diag_free(&d);
			goto out;
		}
	}
	if (o.follow) {
		struct sigaction sa;

		memset(&sa, 0, sizeof(sa));
		sa.sa_handler = on_signal;
		sigaction(SIGTERM, &sa, NULL);
		sigaction(SIGINT, &sa, NULL);
	}
	/* A dry run of named files: on both cores (see read_files_piped). */
	int piped = o.dry && !o.follow && !getenv("RELEVE_ONE_THREAD");

	for (int i = optind; i < argc; i++) {
		piped = piped && strcmp(argv[i], "-") != 0;
	}
	if (piped && read_files_piped(&r, argv + optind, argc - optind) != 0) {
		goto out;
	}
	for (int i = optind; !piped && i < argc && !stop; i++) {
		if (read_file(&r, argv[i], i == argc - 1) != 0) {
			goto out;
		}
	}
	if (r.store) {
		/* A background commit still running (stopped by a signal). */
		struct diag d = DIAG_INIT;

		if (pfstore_sync(r.store, &d) != 0) {
			diag_print(&d, stderr, WHO);
			fprintf(stderr, WHO ": nothing of this batch was "
					"stored; the next run resumes from the "
					"last commit\n");
			diag_free(&d);
			goto out;
		}
	}
	if (o.dry) {
		/* Messages without "removed" yet: printed as in flight. */
		pftrack_in_flight(r.t, print_msg, &r);
	}
	if (o.progress) {
		fputc('\n', stderr);
	}
	if (o.stats) {
		print_stats(&r);
	}
	if (fflush(stdout) != 0) {
		fprintf(stderr, WHO ": writing the output: %s\n",
			strerror(errno));
		goto out;
	}
	rc = EXIT_OK;
out:
	pftrack_free(r.t);
	pfstore_free(r.store);
	db_close(r.c);
	strset_free(&r.domains);
	free(r.line);
	free(r.out);
	free(name);
	free(o.filters);
	free(o.ignores);
	return rc;
}
