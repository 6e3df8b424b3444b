/*
 * gendoveadm — write one Dovecot quota snapshot, as `doveadm quota get -A`
 * (-f tab or -f json) or mailcow's GET /api/v1/get/mailbox/all prints it.
 *
 * SYNOPSIS
 *	gendoveadm --registry R.json --tariff T.json --at TIME [opts]
 *	gendoveadm --mailboxes N [--at TIME] [opts]
 *
 * DESCRIPTION
 *	A test-data generator, not part of releve.  A mailbox's storage is
 *	a pure function of (--seed, mailbox, time): no state is kept between
 *	runs, so a month of daily snapshots is a month of independent calls
 *	that still look like one mailbox growing (about 0.4 % a day, plus
 *	new mail through the day) and shrinking (a clean-up every 20 to 60
 *	days, at a phase of its own).  Each customer's total is scaled to a
 *	share of its plan's storage_included: most customers use 20-70 %,
 *	about one in three (at least one) sits 10-60 % above, so that the
 *	storage add-on gets billed.
 *
 * DIAGNOSTICS
 *	Usage errors exit 2, input errors (registry, tariff) exit 1.
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE 1
#endif

#include <errno.h>
#include <getopt.h>
#include <jansson.h>
#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define KIB 1024LL
#define GIB (1024LL * 1024 * 1024)

static uint64_t seed_g = 1;

static uint64_t mix(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t z = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL) ^
		     (c * 0xD6E8FEB86659FD93ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* FNV-1a of a string, to key the hash by mailbox name. */
static uint64_t strhash(const char *s)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 0x100000001b3ULL;
	return h;
}

/* A uniform double in [0,1) from a hash. */
static double u01(uint64_t h)
{
	return (double)(h >> 11) / 9007199254740992.0;
}

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("gendoveadm: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* ------------------------------------------------------------ output */

static char obuf[1 << 22];
static size_t olen;

static void oflush(void)
{
	if (olen && fwrite(obuf, 1, olen, stdout) != olen)
		die("stdout: %s", strerror(errno));
	olen = 0;
}

__attribute__((format(printf, 1, 2))) static void out(const char *fmt, ...)
{
	va_list ap;
	int n;
	if (sizeof obuf - olen < 1024)
		oflush();
	va_start(ap, fmt);
	n = vsnprintf(obuf + olen, sizeof obuf - olen, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= sizeof obuf - olen)
		die("internal: line too long");
	olen += (size_t)n;
}

/* JSON string (user names may hold anything). */
static void out_jstr(const char *s)
{
	out("\"");
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			out("\\%c", c);
		else if (c < 0x20)
			out("\\u%04x", c);
		else
			out("%c", c);
	}
	out("\"");
}

/* ------------------------------------------------------------- model */

struct mbox {
	char *address, *start, *end;
	int cust;
};
struct cust {
	char *id;
	int64_t included; /* bytes, of the plan active at --at (0: none) */
	double share;	  /* of included */
	double wsum;	  /* sum of its mailboxes' weights */
};

static struct mbox *mbs;
static int nmbs;
static struct cust *custs;
static int ncusts;

static double weight(const char *addr)
{
	/* a few mailboxes hold most of the storage */
	double u = u01(mix(seed_g, strhash(addr), 1));
	return 0.05 + u * u * u * 4;
}

/*
 * Bytes of a mailbox at time t (seconds), around `base` bytes: a sawtooth
 * (growth, then a clean-up) plus noise by day and mail arriving through
 * the day.
 */
static int64_t storage_at(const char *addr, int64_t base, int64_t t)
{
	uint64_t h = strhash(addr);
	int64_t day = t / 86400;
	int period = 20 + (int)(mix(seed_g, h, 2) % 41);
	int phase = (int)(mix(seed_g, h, 3) % (uint64_t)period);
	int k = (int)((day + phase) % period);
	double f = 0.88 + 0.004 * k +
		   0.01 * (u01(mix(seed_g, h, (uint64_t)day)) - 0.5) +
		   0.002 * (double)(t % 86400) / 86400.0;
	int64_t b = (int64_t)((double)base * f);
	return b < 4096 ? 4096 + (int64_t)(h % 4096) : b;
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		abort();
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p)
		abort();
	return p;
}

/* "10 GiB", "512 MiB", 1073741824 */
static int64_t parse_size(json_t *v, const char *what)
{
	const char *s;
	char *end;
	double n;
	if (json_is_integer(v))
		return (int64_t)json_integer_value(v);
	if (!json_is_string(v))
		die("%s: expected a size", what);
	s = json_string_value(v);
	n = strtod(s, &end);
	while (*end == ' ')
		end++;
	if (!strcmp(end, "B") || !*end)
		return (int64_t)n;
	if (!strcmp(end, "KiB"))
		return (int64_t)(n * 1024);
	if (!strcmp(end, "MiB"))
		return (int64_t)(n * 1024 * 1024);
	if (!strcmp(end, "GiB"))
		return (int64_t)(n * GIB);
	if (!strcmp(end, "TiB"))
		return (int64_t)(n * GIB * 1024);
	die("%s: \"%s\" is not a size (use KiB, MiB, GiB, TiB)", what, s);
	return 0;
}

static void load(const char *registry, const char *tariff, const char *day)
{
	json_error_t e;
	json_t *tdoc = json_load_file(tariff, 0, &e), *rdoc, *plans, *a, *c;
	size_t i, j;
	int over_pick = -1;
	uint64_t best = UINT64_MAX;
	if (!tdoc)
		die("%s: line %d: %s", tariff, e.line, e.text);
	rdoc = json_load_file(registry, 0, &e);
	if (!rdoc)
		die("%s: line %d: %s", registry, e.line, e.text);
	plans = json_object_get(tdoc, "plans");
	a = json_object_get(rdoc, "customers");
	if (!json_is_array(plans) || !json_is_array(a))
		die("%s / %s: plans[] and customers[] expected", tariff, registry);
	custs = xrealloc(NULL, (json_array_size(a) + 1) * sizeof *custs);
	json_array_foreach(a, i, c) {
		struct cust *cu = &custs[ncusts];
		json_t *ms = json_object_get(c, "mailboxes"),
		       *ss = json_object_get(c, "subscriptions"), *x, *p;
		size_t k;
		uint64_t h;
		memset(cu, 0, sizeof *cu);
		cu->id = xstrdup(jstr(c, "id"));
		/* the plan active at --at, else the first one */
		json_array_foreach(ss, j, x) {
			const char *st = jstr(x, "start"), *en = jstr(x, "end");
			int active = (!st || strcmp(st, day) <= 0) &&
				     (!en || strcmp(day, en) < 0);
			if (!active && (j > 0 || cu->included))
				continue;
			json_array_foreach(plans, k, p) {
				const char *code = jstr(p, "code");
				if (code && jstr(x, "plan") && !strcmp(code, jstr(x, "plan"))) {
					char what[96];
					snprintf(what, sizeof what, "%s: plans[%zu].storage_included",
						 tariff, k);
					cu->included = parse_size(json_object_get(p,
						"storage_included"), what);
				}
			}
			if (active)
				break;
		}
		h = mix(seed_g, strhash(cu->id), 4);
		cu->share = 0.2 + 0.5 * u01(h);
		if (h % 3 == 0)
			cu->share = 1.1 + 0.5 * u01(h >> 7);
		if (mix(seed_g, strhash(cu->id), 5) < best && cu->included) {
			best = mix(seed_g, strhash(cu->id), 5);
			over_pick = ncusts;
		}
		json_array_foreach(ms, j, x) {
			const char *addr = jstr(x, "address");
			if (!addr)
				die("%s: customers[%zu].mailboxes[%zu].address missing",
				    registry, i, j);
			mbs = xrealloc(mbs, (size_t)(nmbs + 1) * sizeof *mbs);
			mbs[nmbs].address = xstrdup(addr);
			mbs[nmbs].start = jstr(x, "start") ? xstrdup(jstr(x, "start")) : NULL;
			mbs[nmbs].end = jstr(x, "end") ? xstrdup(jstr(x, "end")) : NULL;
			mbs[nmbs].cust = ncusts;
			cu->wsum += weight(addr);
			nmbs++;
		}
		ncusts++;
	}
	/* at least one customer above its included storage */
	if (over_pick >= 0 && custs[over_pick].share < 1)
		custs[over_pick].share = 1.1 + 0.5 * u01(best);
	json_decref(tdoc);
	json_decref(rdoc);
}

/* ------------------------------------------------------------- rows */

enum fmt { F_TAB, F_JSON, F_MAILCOW };
static enum fmt ofmt = F_TAB;
static int nrows;

static void row(const char *user, int64_t bytes, int64_t limit)
{
	int64_t kib = (bytes + KIB - 1) / KIB;
	int64_t msgs = bytes / (40000 + (int64_t)(strhash(user) % 60000)) + 1;
	int64_t pct = limit > 0 ? bytes * 100 / limit : 0;
	switch (ofmt) {
	case F_TAB:
		if (limit > 0)
			out("%s\tUser quota\tSTORAGE\t%lld\t%lld\t%lld\n", user,
			    (long long)kib, (long long)(limit / KIB), (long long)pct);
		else
			out("%s\tUser quota\tSTORAGE\t%lld\t-\t0\n", user,
			    (long long)kib);
		out("%s\tUser quota\tMESSAGE\t%lld\t-\t0\n", user, (long long)msgs);
		break;
	case F_JSON:
		out("%s{\"username\":", nrows ? "," : "");
		out_jstr(user);
		if (limit > 0)
			out(",\"root\":\"User quota\",\"type\":\"STORAGE\",\"value\":"
			    "\"%lld\",\"limit\":\"%lld\",\"percent\":\"%lld\"},",
			    (long long)kib, (long long)(limit / KIB), (long long)pct);
		else
			out(",\"root\":\"User quota\",\"type\":\"STORAGE\",\"value\":"
			    "\"%lld\",\"limit\":\"-\",\"percent\":\"0\"},",
			    (long long)kib);
		out("{\"username\":");
		out_jstr(user);
		out(",\"root\":\"User quota\",\"type\":\"MESSAGE\",\"value\":\"%lld\","
		    "\"limit\":\"-\",\"percent\":\"0\"}", (long long)msgs);
		break;
	case F_MAILCOW: {
		/* mailcow mixes numbers and numeric strings */
		int str = (int)(strhash(user) % 3 == 0);
		const char *at = strchr(user, '@');
		out("%s\n  {\"username\": ", nrows ? "," : "");
		out_jstr(user);
		out(", \"active\": %s, ", str ? "\"1\"" : "1");
		if (str)
			out("\"quota\": \"%lld\", \"quota_used\": \"%lld\", "
			    "\"messages\": \"%lld\"",
			    (long long)limit, (long long)bytes, (long long)msgs);
		else
			out("\"quota\": %lld, \"quota_used\": %lld, \"messages\": %lld",
			    (long long)limit, (long long)bytes, (long long)msgs);
		out(", \"percent_in_use\": %lld, \"domain\": ", (long long)pct);
		out_jstr(at ? at + 1 : "");
		out("}");
		break;
	}
	}
	nrows++;
}

/* A mailbox's quota limit: none, or a round size comfortably above. */
static int64_t limit_for(const char *user, int64_t bytes)
{
	static const int64_t steps[] = {1, 2, 5, 10, 20, 50, 100, 200, 500};
	uint64_t h = mix(seed_g, strhash(user), 6);
	size_t i;
	if (h % 4 == 0)
		return 0;
	for (i = 0; i < sizeof steps / sizeof steps[0]; i++)
		if (steps[i] * GIB > bytes + bytes / 3)
			return steps[i] * GIB;
	return 0;
}

static int parse_at(const char *s, int64_t *t, char *day)
{
	struct tm tm;
	char *end;
	memset(&tm, 0, sizeof tm);
	end = strptime(s, "%Y-%m-%dT%H:%M:%S", &tm);
	if (!end)
		end = strptime(s, "%Y-%m-%d %H:%M:%S", &tm);
	if (!end) {
		memset(&tm, 0, sizeof tm);
		end = strptime(s, "%Y-%m-%d", &tm);
		if (end)
			tm.tm_hour = 12;
	}
	if (!end || (*end && strcmp(end, "Z")))
		return -1;
	*t = (int64_t)timegm(&tm);
	snprintf(day, 16, "%04d-%02d-%02d", (tm.tm_year + 1900) % 10000,
		 (tm.tm_mon + 1) % 100, (tm.tm_mday + 100) % 100);
	return 0;
}

static void usage(FILE *f)
{
	fputs("usage: gendoveadm --registry FILE.json --tariff FILE.json --at TIME "
	      "[options]\n"
	      "       gendoveadm --mailboxes N [--at TIME] [options]\n"
	      "options:\n"
	      "  --at TIME      YYYY-MM-DD[THH:MM:SS[Z]] (UTC; a bare day is noon)\n"
	      "  --format F     tab (doveadm -f tab, default), json (doveadm -f json),\n"
	      "                 mailcow-json (GET /api/v1/get/mailbox/all)\n"
	      "  --seed N       default 1\n",
	      f);
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"registry", 1, 0, 'r'}, {"tariff", 1, 0, 'T'},
		{"at", 1, 0, 'a'},	 {"mailboxes", 1, 0, 'n'},
		{"format", 1, 0, 'F'},	 {"seed", 1, 0, 's'},
		{"help", 0, 0, 'h'},	 {0, 0, 0, 0}};
	const char *registry = NULL, *tariff = NULL, *at = "2026-09-01";
	long long nmb = -1;
	char day[16], *end;
	int64_t t;
	int c, i;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'r': registry = optarg; break;
		case 'T': tariff = optarg; break;
		case 'a': at = optarg; break;
		case 'n':
			nmb = strtoll(optarg, &end, 10);
			if (*end || nmb < 0)
				goto bad;
			break;
		case 'F':
			if (!strcmp(optarg, "tab")) ofmt = F_TAB;
			else if (!strcmp(optarg, "json")) ofmt = F_JSON;
			else if (!strcmp(optarg, "mailcow-json")) ofmt = F_MAILCOW;
			else goto bad;
			break;
		case 's':
			seed_g = strtoull(optarg, &end, 10);
			if (*end)
				goto bad;
			break;
		case 'h': usage(stdout); return 0;
		default: goto bad;
		}
	}
	if (optind != argc || (nmb >= 0) == !!registry ||
	    (registry && !tariff) || parse_at(at, &t, day))
		goto bad;

	if (ofmt == F_TAB)
		out("Username\tQuota name\tType\tValue\tLimit\t%%\n");
	else
		out("[");
	if (registry) {
		load(registry, tariff, day);
		for (i = 0; i < nmbs; i++) {
			const struct mbox *m = &mbs[i];
			const struct cust *cu = &custs[m->cust];
			int64_t target, b;
			if ((m->start && strcmp(day, m->start) < 0) ||
			    (m->end && strcmp(day, m->end) >= 0))
				continue; /* does not exist that day */
			target = (int64_t)((double)(cu->included ? cu->included : GIB) *
					   cu->share * weight(m->address) / cu->wsum);
			b = storage_at(m->address, target, t);
			row(m->address, b, limit_for(m->address, b));
		}
	} else {
		char user[64];
		long long k;
		for (k = 0; k < nmb; k++) {
			uint64_t h;
			double g;
			int64_t base;
			snprintf(user, sizeof user, "user%lld@domain%lld.example", k,
				 k / 5);
			h = mix(seed_g, (uint64_t)k, 7);
			/* log-normal-ish: median ~300 MB, a long tail */
			g = (u01(h) + u01(h >> 1 ^ h << 7) + u01(mix(h, 1, 1)) - 1.5) * 2;
			base = (int64_t)(300e6 * exp(1.6 * g));
			row(user, storage_at(user, base, t), limit_for(user, base));
		}
	}
	if (ofmt == F_JSON)
		out("]\n");
	else if (ofmt == F_MAILCOW && nrows)
		out("\n]\n");
	else if (ofmt == F_MAILCOW) {
		olen = 0; /* mailcow answers {} when there is no mailbox */
		out("{}\n");
	}
	oflush();
	if (fflush(stdout) || ferror(stdout))
		die("stdout: write error");
	return 0;
bad:
	usage(stderr);
	return 2;
}
