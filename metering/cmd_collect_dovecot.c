/*
 * cmd_collect_dovecot — `releve collect dovecot`: read one storage
 * snapshot (doveadm quota get -A in any formatter, the doveadm HTTP API,
 * mailcow's quota2 dump or API answer), parse it with dovequota, and
 * store it (storage_db) or, with --dry-run, print the samples.
 */
#include <errno.h>
#include <pthread.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "collect.h"
#include "dovequota.h"
#include "common/cli.h"
#include "common/diag.h"
#include "common/db.h"
#include "common/jsonout.h"
#include "common/session.h"
#include "common/xalloc.h"
#include "storage_db.h"

#define DEFAULT_DOVEADM "doveadm -f tab quota get -A"

static const char help[] =
	"Usage: releve collect dovecot [OPTIONS] FILE|-\n"
	"       releve collect dovecot [OPTIONS] --exec[=COMMAND]\n"
	"\n"
	"Read one storage snapshot and derive one sample per mailbox: bytes,\n"
	"messages and quota limit.  FILE is the output of\n"
	"  doveadm quota get -A            (default table formatter)\n"
	"  doveadm -f tab|flow|pager|json quota get -A\n"
	"or the doveadm HTTP API answer to quotaGet, or mailcow's quota2\n"
	"table as CSV/TSV (username,bytes,messages), or mailcow's answer to\n"
	"GET /api/v1/get/mailbox/all; '-' reads stdin.  The format is\n"
	"detected from the content.  A snapshot is all or nothing: any bad\n"
	"line fails it.  A mailbox whose value is 'error' has no sample this\n"
	"time (reported on stderr, never counted as zero).\n"
	"\n"
	"The samples are stored with the snapshot's time (--at; default: the\n"
	"file's modification time, or now for stdin and --exec) and source\n"
	"(--source; default: this host's name).  The same (source, time) is\n"
	"stored once: ingesting it again changes nothing.  Mailboxes unknown\n"
	"to the registry are stored unattributed and counted in --stats.  The\n"
	"daily storage of the days the snapshot touches is rolled up at once.\n"
	"\n"
	"Options:\n"
	"  -d, --db CONNINFO      libpq connection string or URI (default: the\n"
	"                         PG* variables; passwords from ~/.pgpass)\n"
	"  -a, --at TIMESTAMP     the snapshot's time, e.g. 2026-11-23T06:00:00Z\n"
	"  -S, --source NAME      the snapshot's source (default: host name)\n"
	"  -x, --exec[=COMMAND]   run COMMAND (default: $RELEVE_DOVEADM, else\n"
	"                         '" DEFAULT_DOVEADM "') and read its output\n"
	"  -c, --carry-days N     carry a mailbox's last sample forward over at\n"
	"                         most N days without samples (default 7)\n"
	"  -n, --dry-run          parse only, store nothing\n"
	"  -j, --json-lines       print one JSON object per sample on stdout:\n"
	"                         {\"mailbox\",\"bytes\",\"messages\","
	"\"limit_bytes\"}\n"
	"  -f, --format F         auto (default), tab, flow, pager, table, "
	"json,\n"
	"                         http, mailcow-csv, mailcow-tsv, "
	"mailcow-api\n"
	"  -r, --quota-root NAME  bill this quota root (default: each user's\n"
	"                         first root)\n"
	"  -s, --stats            a summary on stderr\n"
	"  -h, --help             this help\n"
	"\n"
	"Exit status: 0 when the snapshot was read and stored (even with\n"
	"'error' mailboxes, or when it was stored before), 1 when it was\n"
	"refused or the database failed (nothing stored), 2 on a usage error.\n";

/*
 * The whole input in memory: a snapshot is parsed all at once.  A regular
 * file is mapped (*mapped set: munmap it), not read: reading a snapshot
 * of a million mailboxes (120 MiB) into memory of our own cost a third of
 * the parse, most of it the kernel zeroing the pages that read() then
 * overwrote.
 */
static char *read_all(const char *path, size_t *len, int *mapped)
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "rb");
	char *buf = NULL;
	size_t n = 0, cap = 0, got;
	struct stat sb;
	int sized = 0;

	*mapped = 0;
	if (!f) {
		return NULL;
	}
	if (f != stdin && fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) &&
	    sb.st_size > 0 && (uintmax_t)sb.st_size < SIZE_MAX / 2) {
		void *m = mmap(NULL, (size_t)sb.st_size, PROT_READ, MAP_PRIVATE,
			       fileno(f), 0);

		if (m != MAP_FAILED) {
			(void)madvise(m, (size_t)sb.st_size, MADV_SEQUENTIAL);
			fclose(f);
			*mapped = 1;
			*len = (size_t)sb.st_size;
			return m;
		}
	}
	/* A regular file is read in one block of its size (+1 to see the
	 * end at once): no copy on growth, a fraction of the parse time
	 * for a snapshot of a million mailboxes. */
	if (fstat(fileno(f), &sb) == 0 && S_ISREG(sb.st_mode) &&
	    sb.st_size > 0 && (uintmax_t)sb.st_size < SIZE_MAX / 2) {
		cap = (size_t)sb.st_size + 1;
		buf = xmalloc(cap);
		sized = 1;
#ifdef MADV_HUGEPAGE
		/* fewer page faults while read() fills it (see dovequota.c) */
		if (cap >= (size_t)4 << 20) {
			uintptr_t a = ((uintptr_t)buf + 4095) & ~(uintptr_t)4095;
			uintptr_t e = ((uintptr_t)buf + cap) & ~(uintptr_t)4095;

			(void)madvise((void *)a, e - a, MADV_HUGEPAGE);
		}
#endif
	}
	do {
		if (n == cap || (!sized && cap - n < 65536)) {
			cap = cap ? 2 * cap : 1 << 20;
			buf = xreallocarray(buf, cap, 1);
		}
		got = fread(buf + n, 1, cap - n, f);
		n += got;
	} while (got > 0);
	if (ferror(f)) {
		int e = errno;

		free(buf);
		if (f != stdin) {
			fclose(f);
		}
		errno = e ? e : EIO;
		return NULL;
	}
	if (f != stdin) {
		fclose(f);
	}
	*len = n;
	return buf ? buf : xstrdup("");
}

/* Run command through /bin/sh and read its whole output; NULL (errno or
 * a message in d) when it cannot run or exits non-zero. */
static char *read_exec(const char *command, size_t *len, struct diag *d)
{
	int fds[2];
	pid_t pid;
	char *buf = NULL;
	size_t n = 0, cap = 0;
	ssize_t got;
	int st;

	if (pipe(fds) != 0) {
		diag_add(d, "pipe: %s", strerror(errno));
		return NULL;
	}
	pid = fork();
	if (pid < 0) {
		diag_add(d, "fork: %s", strerror(errno));
		close(fds[0]);
		close(fds[1]);
		return NULL;
	}
	if (pid == 0) {
		close(fds[0]);
		dup2(fds[1], STDOUT_FILENO);
		close(fds[1]);
		execl("/bin/sh", "sh", "-c", command, (char *)NULL);
		_exit(127);
	}
	close(fds[1]);
	for (;;) {
		if (cap - n < 65536) {
			cap = cap ? 2 * cap : 1 << 20;
			buf = xreallocarray(buf, cap, 1);
		}
		got = read(fds[0], buf + n, cap - n);
		if (got < 0 && errno == EINTR) {
			continue;
		}
		if (got <= 0) {
			break;
		}
		n += (size_t)got;
	}
	close(fds[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR) {
	}
	if (!WIFEXITED(st) || WEXITSTATUS(st) != 0) {
		diag_add(d, "'%s' failed (exit status %d): nothing stored",
			 command, WIFEXITED(st) ? WEXITSTATUS(st) : -1);
		free(buf);
		return NULL;
	}
	*len = n;
	return buf;
}

static void print_sample(FILE *out, const struct dq_sample *s)
{
	fputs("{\"mailbox\":", out);
	jsonout_cstr(out, s->mailbox);
	fprintf(out, ",\"bytes\":%" PRId64 ",\"messages\":", s->bytes);
	if (s->messages < 0) {
		fputs("null", out);
	} else {
		fprintf(out, "%" PRId64, s->messages);
	}
	fputs(",\"limit_bytes\":", out);
	if (s->limit_bytes < 0) {
		fputs("null", out);
	} else {
		fprintf(out, "%" PRId64, s->limit_bytes);
	}
	fputs("}\n", out);
}

static void print_stats(const struct dq_snapshot *snap)
{
	size_t unlimited = 0;
	int64_t total = 0;
	int overflow = 0;

	for (size_t i = 0; i < snap->n; i++) {
		const struct dq_sample *s = &snap->s[i];

		if (s->error) {
			continue;
		}
		unlimited += s->limit_bytes < 0;
		if (total > INT64_MAX - s->bytes) {
			overflow = 1;
		} else {
			total += s->bytes;
		}
	}
	fprintf(stderr, "format: %s\n", dq_format_name(snap->format));
	fprintf(stderr, "samples: %zu (%zu without limit)\n",
		snap->n - snap->nerrors, unlimited);
	if (overflow) {
		fprintf(stderr, "bytes: more than 2^63-1\n");
	} else {
		fprintf(stderr, "bytes: %" PRId64 "\n", total);
	}
	fprintf(stderr, "errors: %zu\n", snap->nerrors);
	for (size_t i = 0; i < snap->n; i++) {
		if (snap->s[i].error) {
			fprintf(stderr, "  %s: %s\n", snap->s[i].mailbox,
				snap->s[i].reason);
		}
	}
}

/*
 * The database side's first step (connect, begin, load the registry)
 * runs in a thread of its own while the snapshot is read and parsed.
 */
struct opener {
	const char *db, *at;
	PGconn *c;
	struct storage_tx tx;
	struct diag d;
	int rc;
	pthread_t thread;
};

static void *open_store(void *arg)
{
	struct opener *o = arg;

	o->c = session_open("releve collect dovecot", o->db);
	if (!o->c) {
		o->rc = -1;
		return NULL;
	}
	o->rc = storage_begin(o->c, o->at, &o->tx, &o->d);
	return NULL;
}

static void opener_start(struct opener *o, const char *db, const char *at)
{
	memset(o, 0, sizeof(*o));
	o->db = db;
	o->at = at;
	o->d = (struct diag)DIAG_INIT;
	if (pthread_create(&o->thread, NULL, open_store, o) != 0) {
		open_store(o); /* no thread: in turn, then */
		o->thread = pthread_self();
	}
}

/* Wait for it; 0 when the store is ready to go on. */
static int opener_join(struct opener *o)
{
	if (!pthread_equal(o->thread, pthread_self())) {
		pthread_join(o->thread, NULL);
	}
	return o->rc;
}

/* Give up a store that was begun (the snapshot was refused). */
static void opener_drop(struct opener *o)
{
	opener_join(o);
	if (o->c && o->rc == 0) {
		storage_abandon(o->c, &o->tx);
	}
	db_close(o->c);
	diag_free(&o->d);
}

static int store(struct opener *o, const char *source, const char *at,
		 const struct dq_snapshot *snap, int carry, int stats)
{
	struct diag d = DIAG_INIT;
	struct storage_result res;
	int rc;

	if (opener_join(o)) {
		if (o->c) {
			diag_print(&o->d, stderr, "releve collect dovecot");
			fprintf(stderr, "releve collect dovecot: nothing "
					"stored\n");
		}
		opener_drop(o);
		return EXIT_FAIL;
	}
	rc = storage_store_tx(o->c, &o->tx, source, at, snap, carry, &res, &d);
	db_close(o->c);
	diag_free(&o->d);
	if (rc) {
		diag_print(&d, stderr, "releve collect dovecot");
		fprintf(stderr, "releve collect dovecot: nothing stored\n");
		diag_free(&d);
		return EXIT_FAIL;
	}
	if (res.already) {
		fprintf(stderr, "releve collect dovecot: snapshot %s at %s was "
				"stored before: nothing changed\n", source, at);
	} else if (stats) {
		fprintf(stderr, "stored: %lld samples (day %s), %lld "
				"unattributed, %lld in error\n",
			res.samples, res.day, res.unattributed, res.errors);
	}
	return EXIT_OK;
}

int cmd_collect_dovecot(int argc, char **argv)
{
	static const struct option opts[] = {
		{"dry-run", no_argument, NULL, 'n'},
		{"json-lines", no_argument, NULL, 'j'},
		{"format", required_argument, NULL, 'f'},
		{"quota-root", required_argument, NULL, 'r'},
		{"stats", no_argument, NULL, 's'},
		{"db", required_argument, NULL, 'd'},
		{"at", required_argument, NULL, 'a'},
		{"source", required_argument, NULL, 'S'},
		{"exec", optional_argument, NULL, 'x'},
		{"carry-days", required_argument, NULL, 'c'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	struct dq_options o = {DQ_AUTO, NULL};
	struct dq_snapshot snap;
	struct opener op;
	struct diag d = DIAG_INIT;
	int c, dry = 0, lines = 0, stats = 0, rc, mapped = 0;
	const char *path, *db = NULL, *at = NULL, *source = NULL;
	const char *exec = NULL;
	char *buf, atbuf[64], host[256];
	size_t len = 0;
	long carry = STORAGE_CARRY_DAYS;

	cli_reset();
	while ((c = getopt_long(argc, argv, "njf:r:sd:a:S:x::c:h", opts, NULL)) != -1) {
		switch (c) {
		case 'n':
			dry = 1;
			break;
		case 'j':
			lines = 1;
			break;
		case 'f':
			if (dq_format_parse(optarg, &o.format)) {
				return cli_usage("collect dovecot",
						 "unknown format '%s'", optarg);
			}
			break;
		case 'r':
			o.quota_root = optarg;
			break;
		case 's':
			stats = 1;
			break;
		case 'd':
			db = optarg;
			break;
		case 'a':
			at = optarg;
			break;
		case 'S':
			source = optarg;
			break;
		case 'x':
			exec = optarg ? optarg : getenv("RELEVE_DOVEADM");
			if (!exec || !*exec) {
				exec = DEFAULT_DOVEADM;
			}
			break;
		case 'c': {
			char *end = NULL;

			/* getopt guarantees optarg for a required argument;
			 * the analyser cannot see it. */
			carry = optarg ? strtol(optarg, &end, 10) : -1;
			if (!end || *end || end == optarg || carry < 0 ||
			    carry > 366) {
				return cli_usage("collect dovecot",
						 "--carry-days: '%s' is not a "
						 "number of days (0..366)",
						 optarg);
			}
			break;
		}
		case 'h':
			fputs(help, stdout);
			return EXIT_OK;
		default:
			return cli_usage("collect dovecot", "bad option");
		}
	}
	if (exec ? optind != argc : optind + 1 != argc) {
		return cli_usage("collect dovecot",
				 exec ? "--exec reads no FILE"
				 : optind == argc ? "give one FILE (or -)"
						  : "give only one FILE");
	}
	path = exec ? "doveadm" : argv[optind];
	if (!at) {
		/* A file's snapshot time is when it was written, so that
		 * reading the same file again is recognised. */
		struct stat sb;
		time_t t = time(NULL);
		struct tm tm;

		if (!exec && strcmp(path, "-") != 0 && stat(path, &sb) == 0) {
			t = sb.st_mtime;
		}
		gmtime_r(&t, &tm);
		strftime(atbuf, sizeof(atbuf), "%Y-%m-%dT%H:%M:%SZ", &tm);
		at = atbuf;
	}
	if (!source) {
		if (gethostname(host, sizeof(host)) != 0) {
			snprintf(host, sizeof(host), "localhost");
		}
		host[sizeof(host) - 1] = '\0';
		source = host;
	}
	if (!dry) {
		opener_start(&op, db, at);
	}
	if (exec) {
		buf = read_exec(exec, &len, &d);
		if (!buf) {
			if (!dry) {
				opener_drop(&op);
			}
			diag_print(&d, stderr, "releve collect dovecot");
			diag_free(&d);
			return EXIT_FAIL;
		}
	} else {
		buf = read_all(path, &len, &mapped);
		if (!buf) {
			if (!dry) {
				opener_drop(&op);
			}
			return cli_fail("collect dovecot: %s: %s", path,
					strerror(errno));
		}
	}
	rc = dq_parse(strcmp(path, "-") == 0 ? "stdin" : path, buf, len, &o,
		      &snap, &d);
	if (mapped) {
		munmap(buf, len);
	} else {
		free(buf);
	}
	if (rc) {
		diag_print(&d, stderr, "releve collect dovecot");
		fprintf(stderr, "releve collect dovecot: snapshot refused, "
				"nothing taken from it\n");
		if (!dry) {
			opener_drop(&op);
		}
		diag_free(&d);
		return EXIT_FAIL;
	}
	for (size_t i = 0; i < snap.n; i++) {
		const struct dq_sample *s = &snap.s[i];

		if (s->error) {
			fprintf(stderr, "releve collect dovecot: %s:%zu: %s: "
					"no sample this time: %s\n",
				path, s->line, s->mailbox, s->reason);
		} else if (lines) {
			print_sample(stdout, s);
		}
	}
	if (stats) {
		print_stats(&snap);
	}
	if (!dry) {
		rc = store(&op, source, at, &snap, (int)carry, stats);
		dq_snapshot_free(&snap);
		return rc;
	}
	dq_snapshot_free(&snap);
	if (fflush(stdout) != 0) {
		return cli_fail("collect dovecot: writing the output: %s",
				strerror(errno));
	}
	return EXIT_OK;
}
