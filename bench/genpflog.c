/*
 * genpflog — write a realistic Postfix log (mailcow-like) to stdout.
 *
 * SYNOPSIS
 *	genpflog --registry R.json --tariff T.json --from DAY --to DAY [opts]
 *	genpflog --messages N [opts]
 *
 * DESCRIPTION
 *	A test-data generator, not part of releve.  Messages are built one at
 *	a time in acceptance order; each message schedules all its lines
 *	(smtpd, cleanup, qmgr, deliveries, retries, notifications) at once
 *	into a heap ordered by time, and the heap is drained up to the next
 *	acceptance time, so lines of different messages interleave as in a
 *	real log.  Line texts live in fixed-size slots recycled through a
 *	free list: no allocation per line.  Output goes through one large
 *	buffer written with fwrite.
 *
 *	Everything random comes from one splitmix64 stream seeded by --seed:
 *	the same arguments give the same bytes.
 *
 *	--summary FILE writes what the collector must count (see
 *	bench/README.md for the exact rules).
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

#define US 1000000LL
#define MAXR 128	/* recipients per message */
#define SLOT 512	/* bytes per pending line (longest line is ~350) */
#define SLOTS_PER_CHUNK 4096

/* ---------------------------------------------------------------- PRNG */

static uint64_t rng_state;
static uint64_t seed_g; /* --seed, for choices that must not depend on order */

static uint64_t rnd(void)
{
	uint64_t z = (rng_state += 0x9E3779B97F4A7C15ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

/* A hash of a few values, independent of the stream position. */
static uint64_t mix(uint64_t a, uint64_t b, uint64_t c)
{
	uint64_t z = a * 0x9E3779B97F4A7C15ULL ^ (b + 0x632BE59BD9B4E019ULL) ^
		     (c * 0xD6E8FEB86659FD93ULL);
	z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
	z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
	return z ^ (z >> 31);
}

static uint32_t below(uint32_t n)
{
	return n ? (uint32_t)((rnd() >> 32) * n >> 32) : 0;
}

static double unit(void)
{
	return (double)(rnd() >> 11) / 9007199254740992.0;
}

static int chance(double p)
{
	return unit() < p;
}

static int64_t range_us(double lo, double hi)
{
	return (int64_t)((lo + (hi - lo) * unit()) * US);
}

static double gauss(void)
{
	double u = unit(), v = unit();
	if (u < 1e-12)
		u = 1e-12;
	return sqrt(-2.0 * log(u)) * cos(6.283185307179586 * v);
}

/* ------------------------------------------------------------- output */

static char obuf[1 << 22];
static size_t olen;

static void oflush(void)
{
	if (olen && fwrite(obuf, 1, olen, stdout) != olen) {
		perror("genpflog: stdout");
		exit(1);
	}
	olen = 0;
}

static void oput(const char *s, size_t n)
{
	if (olen + n > sizeof obuf)
		oflush();
	if (n > sizeof obuf) {
		fwrite(s, 1, n, stdout);
		return;
	}
	memcpy(obuf + olen, s, n);
	olen += n;
}

static void oputs(const char *s)
{
	oput(s, strlen(s));
}

/* JSON string body (no quotes). */
static void oput_json(const char *s, size_t n)
{
	static const char hex[] = "0123456789abcdef";
	size_t i, start = 0;
	for (i = 0; i < n; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '"' || c == '\\' || c < 0x20) {
			char e[6] = {'\\', 'u', '0', '0', hex[c >> 4],
				     hex[c & 15]};
			oput(s + start, i - start);
			if (c == '"' || c == '\\') {
				e[1] = (char)c;
				oput(e, 2);
			} else {
				oput(e, 6);
			}
			start = i + 1;
		}
	}
	oput(s + start, n - start);
}

/* --------------------------------------------------------- time stamps */

enum fmt { F_SYSLOG, F_RFC3339, F_JOURNALD, F_DOCKER };
static enum fmt ofmt = F_SYSLOG;
static const char *hostname = "mail.example.net";

static const char *const mon[] = {"Jan", "Feb", "Mar", "Apr", "May", "Jun",
				  "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"};

static int64_t cache_sec = INT64_MIN;
static char c_sys[80];	 /* "Nov 23 07:12:01" (log time zone) */
static char c_3339[80];	 /* "2026-11-23T07:12:01" */
static char c_off[40];	 /* "+01:00" */
static char c_utc[80];	 /* "2026-11-23T06:12:01" */

static void stamp(int64_t sec)
{
	struct tm lt, ut;
	time_t t = (time_t)sec;
	long off;
	if (sec == cache_sec)
		return;
	cache_sec = sec;
	localtime_r(&t, &lt);
	gmtime_r(&t, &ut);
	snprintf(c_sys, sizeof c_sys, "%s %2d %02d:%02d:%02d", mon[lt.tm_mon],
		 lt.tm_mday, lt.tm_hour, lt.tm_min, lt.tm_sec);
	snprintf(c_3339, sizeof c_3339, "%04d-%02d-%02dT%02d:%02d:%02d",
		 lt.tm_year + 1900, lt.tm_mon + 1, lt.tm_mday, lt.tm_hour,
		 lt.tm_min, lt.tm_sec);
	off = lt.tm_gmtoff;
	snprintf(c_off, sizeof c_off, "%c%02ld:%02ld", off < 0 ? '-' : '+',
		 labs(off) / 3600, labs(off) % 3600 / 60);
	snprintf(c_utc, sizeof c_utc, "%04d-%02d-%02dT%02d:%02d:%02d",
		 ut.tm_year + 1900, ut.tm_mon + 1, ut.tm_mday, ut.tm_hour,
		 ut.tm_min, ut.tm_sec);
}

static uint64_t jseq;
static char boot_id[33];

/* Write one line; body is "ident[pid]: message" or "ident: message". */
static void write_line(int64_t t, const char *body, size_t blen)
{
	char tmp[512];
	int n;
	int64_t sec = t / US, usec = t % US;
	stamp(sec);
	switch (ofmt) {
	case F_SYSLOG:
		n = snprintf(tmp, sizeof tmp, "%s %s ", c_sys, hostname);
		oput(tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
		oput(body, blen);
		oput("\n", 1);
		break;
	case F_RFC3339:
		n = snprintf(tmp, sizeof tmp, "%s.%06lld%s %s ", c_3339,
			     (long long)usec, c_off, hostname);
		oput(tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
		oput(body, blen);
		oput("\n", 1);
		break;
	case F_DOCKER: {
		/* Docker's time is RFC3339Nano: UTC, trailing zeros cut. */
		char frac[16];
		long ns = (long)usec * 1000 + (long)(mix(jseq, (uint64_t)t, 7) % 1000);
		int k;
		jseq++;
		snprintf(frac, sizeof frac, ".%09ld", ns);
		for (k = 9; k > 0 && frac[k] == '0'; k--)
			frac[k] = 0;
		if (k == 0)
			frac[0] = 0;
		n = snprintf(tmp, sizeof tmp, "{\"log\":\"%s %s ", c_sys, hostname);
		oput(tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
		oput_json(body, blen);
		n = snprintf(tmp, sizeof tmp,
			     "\\n\",\"stream\":\"stdout\",\"time\":\"%s%sZ\"}\n",
			     c_utc, frac);
		oput(tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
		break;
	}
	case F_JOURNALD: {
		/* journalctl -o json: ident, pid and message split apart. */
		const char *lb = memchr(body, '[', blen);
		const char *colon = memchr(body, ':', blen);
		const char *msg, *comm;
		size_t ilen, plen = 0;
		const char *pid = NULL;
		int prio = 6;
		if (lb && colon && lb < colon) {
			ilen = (size_t)(lb - body);
			pid = lb + 1;
			plen = (size_t)(strchr(pid, ']') - pid);
			msg = pid + plen + 3;
		} else {
			ilen = colon ? (size_t)(colon - body) : 0;
			msg = colon ? colon + 2 : body;
		}
		if (!strncmp(msg, "warning:", 8))
			prio = 4;
		comm = body + ilen;
		while (comm > body && comm[-1] != '/')
			comm--;
		jseq++;
		n = snprintf(tmp, sizeof tmp,
			     "{\"__CURSOR\":\"s=%s;i=%llx;b=%s;m=%llx;t=%llx;x=%llx\","
			     "\"__REALTIME_TIMESTAMP\":\"%lld\",",
			     boot_id, (unsigned long long)jseq, boot_id,
			     (unsigned long long)(t % (86400 * US * 40)),
			     (unsigned long long)t,
			     (unsigned long long)mix(jseq, 1, 2),
			     (long long)t);
		oput(tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
		n = snprintf(tmp, sizeof tmp,
			     "\"__MONOTONIC_TIMESTAMP\":\"%lld\",\"_BOOT_ID\":\"%s\","
			     "\"PRIORITY\":\"%d\",\"SYSLOG_FACILITY\":\"2\",",
			     (long long)(t % (86400 * US * 40)), boot_id, prio);
		oput(tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
		oputs("\"_TRANSPORT\":\"syslog\",\"_HOSTNAME\":\"");
		oputs(hostname);
		oputs("\",\"SYSLOG_IDENTIFIER\":\"");
		oput_json(body, ilen);
		oputs("\",\"_COMM\":\"");
		oput_json(comm, ilen - (size_t)(comm - body));
		if (pid) {
			oputs("\",\"SYSLOG_PID\":\"");
			oput(pid, plen);
			oputs("\",\"_PID\":\"");
			oput(pid, plen);
		}
		n = snprintf(tmp, sizeof tmp, "\",\"SYSLOG_TIMESTAMP\":\"%s \","
			     "\"MESSAGE\":\"", c_sys);
		oput(tmp, (size_t)n < sizeof tmp ? (size_t)n : sizeof tmp - 1);
		oput_json(msg, blen - (size_t)(msg - body));
		oputs("\"}\n");
		break;
	}
	}
}

/* --------------------------------------------------- pending line heap */

struct ev {
	int64_t t;
	uint64_t seq;
	uint32_t slot;
	uint16_t len;
	int32_t inode; /* freed when this line is written (-1: none) */
};

static struct ev *heap;
static size_t hn, hcap;
static uint64_t evseq;
static char **chunks;
static size_t nchunks;
static uint32_t *freeslots;
static size_t nfree, freecap;

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fputs("genpflog: out of memory\n", stderr);
		abort();
	}
	return p;
}

static uint32_t slot_get(void)
{
	if (!nfree) {
		size_t i;
		chunks = xrealloc(chunks, (nchunks + 1) * sizeof *chunks);
		chunks[nchunks] = xrealloc(NULL, (size_t)SLOT * SLOTS_PER_CHUNK);
		if (freecap < nfree + SLOTS_PER_CHUNK) {
			freecap = nfree + SLOTS_PER_CHUNK;
			freeslots = xrealloc(freeslots, freecap * sizeof *freeslots);
		}
		for (i = SLOTS_PER_CHUNK; i-- > 0;)
			freeslots[nfree++] = (uint32_t)(nchunks * SLOTS_PER_CHUNK + i);
		nchunks++;
	}
	return freeslots[--nfree];
}

static char *slot_ptr(uint32_t s)
{
	return chunks[s / SLOTS_PER_CHUNK] + (size_t)(s % SLOTS_PER_CHUNK) * SLOT;
}

static int ev_less(const struct ev *a, const struct ev *b)
{
	return a->t < b->t || (a->t == b->t && a->seq < b->seq);
}

static void inode_free(int inode);

__attribute__((format(printf, 3, 4))) static void
emit(int64_t t, int free_inode, const char *fmt, ...)
{
	va_list ap;
	struct ev e;
	size_t i;
	int n;
	e.slot = slot_get();
	va_start(ap, fmt);
	n = vsnprintf(slot_ptr(e.slot), SLOT, fmt, ap);
	va_end(ap);
	if (n < 0)
		n = 0;
	if (n >= SLOT)
		n = SLOT - 1;
	e.len = (uint16_t)n;
	e.t = t;
	e.seq = evseq++;
	e.inode = free_inode;
	if (hn == hcap) {
		hcap = hcap ? hcap * 2 : 4096;
		heap = xrealloc(heap, hcap * sizeof *heap);
	}
	i = hn++;
	while (i > 0 && ev_less(&e, &heap[(i - 1) / 2])) {
		heap[i] = heap[(i - 1) / 2];
		i = (i - 1) / 2;
	}
	heap[i] = e;
}

static void pop_one(void)
{
	struct ev top = heap[0], last = heap[--hn];
	size_t i = 0;
	for (;;) {
		size_t c = 2 * i + 1;
		if (c >= hn)
			break;
		if (c + 1 < hn && ev_less(&heap[c + 1], &heap[c]))
			c++;
		if (!ev_less(&heap[c], &last))
			break;
		heap[i] = heap[c];
		i = c;
	}
	if (hn)
		heap[i] = last;
	write_line(top.t, slot_ptr(top.slot), top.len);
	freeslots[nfree++] = top.slot;
	if (top.inode >= 0)
		inode_free(top.inode);
}

/* Write every pending line up to time t (inclusive). */
static void drain(int64_t t)
{
	while (hn && heap[0].t <= t)
		pop_one();
}

/* ------------------------------------------------------------ queue IDs */

static int long_ids;
struct ino {
	int32_t ino;
	int32_t usec; /* of its last queue id, -1 if none */
};
static struct ino *ifree;
static size_t nifree, ifcap;
static int32_t ino_lo, ino_hi; /* next fresh inodes, 5 and 6 hex digits */

static int32_t *ino_last(int inode)
{
	/* a small open table keyed by inode */
	static int32_t keys[1 << 20], vals[1 << 20];
	uint32_t h = (uint32_t)inode * 2654435761u >> 12, n = 0;
	while (keys[h] && keys[h] != inode && n++ < (1u << 20))
		h = (h + 1) & ((1u << 20) - 1);
	if (!keys[h]) {
		keys[h] = inode;
		vals[h] = -1;
	}
	return &vals[h];
}

static void inode_free(int inode)
{
	if (nifree == ifcap) {
		ifcap = ifcap ? ifcap * 2 : 1024;
		ifree = xrealloc(ifree, ifcap * sizeof *ifree);
	}
	ifree[nifree].ino = inode;
	ifree[nifree].usec = *ino_last(inode);
	nifree++;
}

static const char safe_chars[] =
	"0123456789BCDFGHJKLMNPQRSTVWXYZbcdfghjklmnpqrstvwxyz";

static char *safe_enc(char *p, unsigned long v, unsigned base, int pad)
{
	char tmp[24];
	int n = 0;
	do {
		tmp[n++] = safe_chars[v % base];
		v /= base;
	} while (v);
	while (n < pad)
		tmp[n++] = '0';
	while (n)
		*p++ = tmp[--n];
	return p;
}

/*
 * A new queue file at time t: an inode that no message in flight has
 * (freed inodes are reused first, like a file system), and its queue id.
 * Short ids are %05X microseconds + %lX inode; now and then a freed
 * inode is reused with its old microseconds, so that a short id repeats
 * after its message was removed, as it does on busy servers.
 */
static int new_qid(int64_t t, char *qid)
{
	int inode;
	int usec = (int)(t % US);
	if (nifree > 64) {
		struct ino f = ifree[--nifree];
		inode = f.ino;
		if (!long_ids && f.usec >= 0 && chance(0.002))
			usec = f.usec;
	} else if (chance(0.6)) {
		inode = ino_lo++;
	} else {
		inode = ino_hi++;
	}
	*ino_last(inode) = usec;
	if (long_ids) {
		char *p = qid;
		p = safe_enc(p, (unsigned long)(t / US), 52, 6);
		p = safe_enc(p, (unsigned long)usec, 52, 4);
		*p++ = 'z';
		p = safe_enc(p, (unsigned long)inode, 51, 0);
		*p = 0;
	} else {
		sprintf(qid, "%05X%X", usec, (unsigned)inode);
	}
	return inode;
}

/* ------------------------------------------------------------------ pids */

static int pid_next = 1200;

static int new_pid(void)
{
	pid_next += 1 + (int)below(60);
	if (pid_next > 4194000)
		pid_next = 300 + (int)below(100);
	return pid_next;
}

struct svc {
	const char *name;
	int np;
	int pid[6];
	int left[6];
};

enum {
	S_SUBM, S_SMTPS, S_SMTPD, S_CLEANUP, S_QMGR, S_PICKUP, S_SMTP, S_LMTP,
	S_BOUNCE, S_OPENDKIM, S_REINJ, S_ANVIL, NSVC
};
static struct svc svcs[NSVC] = {
	{"postfix/submission/smtpd", 4, {0}, {0}},
	{"postfix/smtps/smtpd", 3, {0}, {0}},
	{"postfix/smtpd", 6, {0}, {0}},
	{"postfix/cleanup", 4, {0}, {0}},
	{"postfix/qmgr", 1, {0}, {0}},
	{"postfix/pickup", 1, {0}, {0}},
	{"postfix/smtp", 6, {0}, {0}},
	{"postfix/lmtp", 3, {0}, {0}},
	{"postfix/bounce", 1, {0}, {0}},
	{"opendkim", 1, {0}, {0}},
	{"postfix/smtpd", 2, {0}, {0}},
	{"postfix/anvil", 1, {0}, {0}},
};

static int pid_of(int s)
{
	struct svc *v = &svcs[s];
	int k = (int)below((uint32_t)v->np);
	if (v->left[k] <= 0) {
		v->pid[k] = new_pid();
		/* qmgr, pickup and opendkim live long; others ~max_use 100 */
		v->left[k] = v->np == 1 ? 200000 + (int)below(200000)
					: 50 + (int)below(100);
	}
	v->left[k]--;
	return v->pid[k];
}

#define SV(s) svcs[s].name, pid_of(s)

/*
 * smtpd processes serve one session at a time: a session takes an idle
 * process of its service (or a new one: max_idle 100 s, max_use 100) and
 * gives it back at its disconnect time.
 */
#define NPROC 256
struct proc {
	int pid, uses;
	int64_t busy_until;
};
static struct proc procs[NSVC][NPROC];

static int session_pid(int s, int64_t t, int *slot)
{
	struct proc *p = procs[s];
	int i, fresh = -1;
	for (i = 0; i < NPROC; i++) {
		if (p[i].pid && p[i].busy_until <= t &&
		    (t - p[i].busy_until > 100 * US || p[i].uses >= 100))
			p[i].pid = 0; /* it exited meanwhile */
		if (p[i].pid && p[i].busy_until <= t)
			break;
		if (!p[i].pid && fresh < 0)
			fresh = i;
	}
	if (i == NPROC) {
		i = fresh >= 0 ? fresh : (int)below(NPROC);
		p[i].pid = new_pid();
		p[i].uses = 0;
	}
	p[i].uses++;
	p[i].busy_until = INT64_MAX;
	*slot = i;
	return p[i].pid;
}

static void session_done(int s, int slot, int64_t t)
{
	procs[s][slot].busy_until = t;
}

/* ---------------------------------------------------------- the world */

struct mbox {
	char *address, *login, *domain;
	int cust;
	char start[11], end[11]; /* "" when open */
	double weight;
};

enum role { R_NORMAL, R_WARN, R_OVER, R_RUNAWAY };
static const char *const role_name[] = {"normal", "warn", "over", "runaway"};

struct sub {
	char plan[32];
	char start[11], end[11];
	long quota;
};

struct cust {
	char *id;
	char **domains;
	int ndomains;
	int *mb;
	int nmb;
	struct sub *subs;
	int nsubs;
	enum role role;
	double rkey;
	long q0; /* quota on its first active day in the range, -1: none */
};

static struct mbox *mbs;
static int nmbs;
static struct cust *custs;
static int ncusts;
static int synthetic;	/* --messages mode */
static int syn_nmb = 10000, syn_per_dom = 5;
static int use_filter;
static int count_local;	/* tariff: local recipients count */
static int unit_message; /* tariff: unit is the message */

static int hosted(const char *dom)
{
	int i, j;
	if (synthetic)
		return !strncmp(dom, "domain", 6) && strstr(dom, ".example");
	for (i = 0; i < ncusts; i++)
		for (j = 0; j < custs[i].ndomains; j++)
			if (!strcmp(custs[i].domains[j], dom))
				return 1;
	return 0;
}

/* Synthetic mailboxes are computed, never stored. */
static char syn_addr[2][64];
static const char *mb_addr(int m)
{
	if (synthetic) {
		static int k;
		k ^= 1;
		snprintf(syn_addr[k], sizeof syn_addr[k], "user%d@domain%d.example",
			 m, m / syn_per_dom);
		return syn_addr[k];
	}
	return mbs[m].address;
}

static const char *mb_login(int m)
{
	return synthetic ? mb_addr(m) : mbs[m].login;
}

static int mb_cust(int m)
{
	return synthetic ? m / syn_per_dom / 2 : mbs[m].cust;
}

/* --------------------------------------------------------------- summary */

struct cnt {
	uint32_t subm, pick, rcpt, local, remote, sent, bounced, expired,
		deferred, billable;
};

static int64_t *day_start; /* billing-zone midnights, nday + 1 of them */
static char (*day_name)[40];
static int nday;
static struct cnt *sumtab; /* [mailbox][day] */
static int nsummb;
struct totals {
	uint64_t messages, recipients, inbound, sys_pickups, notices, reinjected,
		lost, noqueue, saslfail, expired_msgs, lines_hint;
};
static struct totals tot;

static int day_of(int64_t t)
{
	int lo = 0, hi = nday; /* day_start[lo] <= t < day_start[hi] */
	if (t < day_start[0] || t >= day_start[nday])
		return -1;
	while (hi - lo > 1) {
		int mid = (lo + hi) / 2;
		if (day_start[mid] <= t)
			lo = mid;
		else
			hi = mid;
	}
	return lo;
}

/* ------------------------------------------------------------- content */

struct remote {
	const char *dom, *mx, *ip;
	int style; /* how its 250 reply looks: see ok_reply() */
};
static const struct remote remotes[] = {
	{"gmail.com", "gmail-smtp-in.l.google.com", "142.250.102.27", 0},
	{"gmail.com", "alt1.gmail-smtp-in.l.google.com", "142.250.153.26", 0},
	{"orange.fr", "smtp-in.orange.fr", "193.252.22.84", 1},
	{"wanadoo.fr", "smtp-in.orange.fr", "80.12.242.82", 1},
	{"free.fr", "mx1.free.fr", "212.27.48.6", 2},
	{"laposte.net", "smtp-in.laposte.net", "160.92.124.66", 2},
	{"hotmail.fr", "hotmail-com.olc.protection.outlook.com", "52.101.68.20", 3},
	{"outlook.fr", "outlook-com.olc.protection.outlook.com", "52.101.73.2", 3},
	{"yahoo.fr", "mta7.am0.yahoodns.net", "67.195.204.72", 4},
	{"gmx.de", "mx00.emig.gmx.net", "212.227.15.9", 5},
	{"web.de", "mx-ha03.web.de", "212.227.17.8", 5},
	{"proton.me", "mail.protonmail.ch", "185.70.42.128", 6},
	{"icloud.com", "mx01.mail.icloud.com", "17.57.152.5", 2},
	{"skynet.be", "mx.skynet.be", "195.238.20.130", 2},
	{"bluewin.ch", "mxbw.bluewin.ch", "195.186.227.50", 7},
	{"ville-lyon.fr", "mx1.ville-lyon.fr", "194.2.136.11", 2},
	{"cabinet-expertise.fr", "mail.cabinet-expertise.fr", "51.91.11.200", 2},
	{"fournisseur-bois.com", "mx.ovh.net", "188.165.36.237", 2},
};
#define NREMOTE (sizeof remotes / sizeof remotes[0])

static void ok_reply(char *b, size_t n, int style, unsigned t, const char *id)
{
	switch (style) {
	case 0:
		snprintf(b, n, "250 2.0.0 OK  %u %s - gsmtp", t, id);
		break;
	case 1:
		snprintf(b, n, "250 2.0.0 %u%s mail accepted for delivery", t, id);
		break;
	case 2:
		snprintf(b, n, "250 2.0.0 Ok: queued as %u%s", t, id);
		break;
	case 3:
		snprintf(b, n, "250 2.6.0 <%u%s@mail.example.net> [InternalId=%u] Queued mail for delivery", t, id, t % 100000);
		break;
	case 4:
		snprintf(b, n, "250 ok dirdel %u%s", t, id);
		break;
	case 5:
		snprintf(b, n, "250 Requested mail action okay, completed: id=%u%s", t, id);
		break;
	case 6:
		snprintf(b, n, "250 2.0.0 Ok: %u bytes queued as %s", t, id);
		break;
	case 7:
		snprintf(b, n, "250 2.0.0 %u%s Message accepted for delivery", t, id);
		break;
	default:
		snprintf(b, n, "250 2.0.0 Ok: queued as %s", id);
	}
}

static const char *const first[] = {
	"jean", "marie", "pierre", "sophie", "luc", "claire", "nicolas",
	"julie", "thomas", "camille", "antoine", "lea", "hugo", "chloe",
	"lucas", "emma", "karim", "sarah", "yann", "ines", "jonas", "anna",
	"pieter", "lotte", "marco", "giulia"};
static const char *const last[] = {
	"martin", "bernard", "dubois", "thomas", "robert", "richard", "petit",
	"durand", "leroy", "moreau", "simon", "laurent", "lefebvre", "michel",
	"garcia", "david", "bertrand", "roux", "vincent", "fournier", "peeters",
	"janssens", "muller", "schmid", "rossi", "benali"};
static const char *const roles[] = {
	"contact", "info", "commandes", "compta", "support", "factures",
	"accueil", "rh", "devis", "noreply", "newsletter", "ventes"};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void remote_local_part(char *buf, size_t n)
{
	switch (below(4)) {
	case 0:
		snprintf(buf, n, "%s", roles[below(N(roles))]);
		break;
	case 1:
		snprintf(buf, n, "%s.%s%u", first[below(N(first))],
			 last[below(N(last))], below(100));
		break;
	default:
		snprintf(buf, n, "%s.%s", first[below(N(first))],
			 last[below(N(last))]);
	}
}

struct inpeer {
	const char *host, *ip, *dom;
};
static const struct inpeer inpeers[] = {
	{"mail-wr1-f54.google.com", "209.85.221.54", "gmail.com"},
	{"mail-ej1-f43.google.com", "209.85.218.43", "gmail.com"},
	{"mail-eopbgr80072.outbound.protection.outlook.com", "40.107.8.72",
	 "hotmail.fr"},
	{"EUR05-AM6-obe.outbound.protection.outlook.com", "40.107.22.57",
	 "entreprise-partenaire.fr"},
	{"smtp-out.orange.fr", "193.252.22.12", "orange.fr"},
	{"smtp1-g21.free.fr", "212.27.42.1", "free.fr"},
	{"mout.gmx.net", "212.227.17.20", "gmx.de"},
	{"mail-40131.protonmail.ch", "185.70.40.131", "proton.me"},
	{"o1.ptr1234.newsletter.example.com", "198.51.100.21",
	 "newsletter.example.com"},
	{"mta-out.banque-exemple.fr", "203.0.113.45", "banque-exemple.fr"},
	{"mail.fournisseur-bois.com", "188.165.36.240", "fournisseur-bois.com"},
	{"smtp.impots.gouv.fr", "145.242.11.40", "dgfip.finances.gouv.fr"},
};

static void client_name(char *buf, size_t n)
{
	unsigned a = below(223) + 1, b = below(256), c = below(256),
		 d = below(254) + 1;
	switch (below(5)) {
	case 0:
	case 1:
		snprintf(buf, n, "unknown[%u.%u.%u.%u]", a, b, c, d);
		break;
	case 2:
		snprintf(buf, n, "lfbn-lyo-1-%u-%u.w90-%u.abo.wanadoo.fr[90.%u.%u.%u]",
			 a, b, c, c, b, d);
		break;
	case 3:
		snprintf(buf, n, "%u-%u-%u-%u.subs.proxad.net[82.%u.%u.%u]", a, b,
			 c, d, b, c, d);
		break;
	default:
		snprintf(buf, n, "%u.%u-%u-%u.dsl.telenet.be[81.%u.%u.%u]", d, c,
			 b, a, b, c, d);
	}
}

static void rand_token(char *buf, int n, int upper)
{
	static const char b64[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	int i;
	for (i = 0; i < n; i++)
		buf[i] = upper ? "0123456789ABCDEF"[below(16)] : b64[below(62)];
	buf[n] = 0;
}

/* Message-ids from the usual clients. */
static void make_msgid(char *buf, size_t n, int64_t t, const char *dom,
		       int kind)
{
	char a[40], b[40];
	switch (kind) {
	case 0: /* Thunderbird */
		rand_token(a, 8, 1);
		rand_token(b, 12, 1);
		snprintf(buf, n, "%.8s-%.4s-%.4s-%.4s-%.12s@%s", a, b, b + 4,
			 b + 8, a, dom);
		for (char *p = buf; *p && *p != '@'; p++)
			if (*p >= 'A' && *p <= 'F')
				*p = (char)(*p + 32);
		break;
	case 1: /* Outlook */
		rand_token(a, 16, 1);
		snprintf(buf, n, "PR3P193MB0%03u%s@PR3P193MB0%03u.EURP193.PROD.OUTLOOK.COM",
			 below(1000), a, below(1000));
		break;
	case 2: /* SOGo */
		snprintf(buf, n, "%x-%llx-%x-%x@%u", below(0xfff),
			 (unsigned long long)(t / US), below(0xff),
			 (unsigned)rnd(), below(100000000));
		break;
	case 3: /* Gmail */
		rand_token(a, 36, 0);
		snprintf(buf, n, "CA%s@mail.gmail.com", a);
		break;
	default: { /* Postfix / scripts */
		struct tm tm;
		time_t s = (time_t)(t / US);
		gmtime_r(&s, &tm);
		rand_token(a, 10, 1);
		snprintf(buf, n, "%04d%02d%02d%02d%02d%02d.%s@%s",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec, a, dom);
	}
	}
}

/* The Message-ID cleanup adds when there is none: time and queue id. */
static void pf_msgid(char *buf, size_t n, int64_t t, const char *qid)
{
	struct tm tm;
	time_t s = (time_t)(t / US);
	localtime_r(&s, &tm);
	snprintf(buf, n, "%04d%02d%02d%02d%02d%02d.%s@%s", tm.tm_year + 1900,
		 tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec, qid,
		 hostname);
}

static long msg_size(void)
{
	double s = exp(log(18000.0) + 1.25 * gauss());
	if (s < 2000)
		s = 2000 + 500 * unit();
	if (s > 5000000)
		s = 5000000 - 100000 * unit();
	return (long)s;
}

/* Postfix's delay format: two significant digits, 10 ms resolution. */
static char *fdelay(char *b, int64_t us)
{
	if (us < 0)
		us = 0;
	if (us >= 10 * US) {
		sprintf(b, "%lld", (long long)(us / US));
	} else if (us >= US) {
		long d = (long)(us / 100000);
		if (d % 10)
			sprintf(b, "%ld.%ld", d / 10, d % 10);
		else
			sprintf(b, "%ld", d / 10);
	} else {
		long h = (long)(us / 10000);
		if (!h)
			strcpy(b, "0");
		else if (h % 10)
			sprintf(b, "0.%02ld", h);
		else
			sprintf(b, "0.%ld", h / 10);
	}
	return b;
}

/* ------------------------------------------------------------- messages */

enum outc { O_SENT, O_DEFER_SENT, O_BOUNCE, O_DEFER_BOUNCE, O_EXPIRE };
enum mkind { M_SUBMIT, M_WEBMAIL, M_SMTPD_AUTH, M_SMTPS, M_PICKUP_USER,
	     M_PICKUP_SYS, M_INBOUND, M_NOTICE };

struct rcpt {
	char to[128], orig[128];
	int local;	/* hosted domain: delivered by lmtp */
	int remote_ix;	/* remotes[] for remote ones, -1 for unknown domains */
	enum outc out;
	int defers;	/* deferrals before the final status */
	int done;
};

struct msg {
	enum mkind kind;
	int64_t t0;	/* queue file created */
	char sender[128];
	long size;
	char msgid[160];
	int n;
	struct rcpt r[MAXR];
	int filter_reject;
	int lmtp_style;
};

static int64_t expire_limit; /* expiries only for messages accepted before */
static int64_t max_queue_time = 5 * 86400 * US;

static const char *lmtp_relay(const struct msg *m)
{
	return m->lmtp_style ? "mail.example.net[private/dovecot-lmtp]"
			     : "dovecot[172.22.1.250]:24";
}

static void notify(const struct msg *m, const char *qid, int64_t t,
		   int delay_notice);

/* One delivery attempt line for recipient r of message m. */
static int64_t attempt(struct msg *m, const char *qid, struct rcpt *r,
		       int64_t tq, int64_t t, int final_pass, int *bounced)
{
	char d0[16], d1[16], d2[16], d3[16], d4[16], tok[24];
	int64_t a = tq - m->t0, b = range_us(0.0, 0.05), c, x, td;
	int defer = !final_pass && r->out != O_SENT && r->out != O_BOUNCE;
	if (r->out == O_EXPIRE)
		defer = 1;
	if (a < 0)
		a = 0;
	if (r->local) {
		c = range_us(0.0, 0.02);
		x = range_us(0.02, 0.4);
		td = t + b + c + x;
		rand_token(tok, 22, 0);
		if (defer) {
			emit(td, -1, "%s[%d]: %s: to=<%s>, %s%s%srelay=%s, delay=%s, "
			     "delays=%s/%s/%s/%s, dsn=4.3.0, status=deferred "
			     "(host %s said: 451 4.3.0 <%s> Temporary internal error "
			     "(in reply to end of DATA command))",
			     SV(S_LMTP), qid, r->to, *r->orig ? "orig_to=<" : "",
			     r->orig, *r->orig ? ">, " : "", lmtp_relay(m),
			     fdelay(d0, td - m->t0), fdelay(d1, a), fdelay(d2, b),
			     fdelay(d3, c), fdelay(d4, x),
			     m->lmtp_style ? "mail.example.net[private/dovecot-lmtp]"
					   : "dovecot[172.22.1.250]",
			     r->to);
		} else if (r->out == O_BOUNCE || r->out == O_DEFER_BOUNCE) {
			emit(td, -1, "%s[%d]: %s: to=<%s>, %s%s%srelay=%s, delay=%s, "
			     "delays=%s/%s/%s/%s, dsn=5.2.2, status=bounced "
			     "(host %s said: 552 5.2.2 <%s> Quota exceeded (mailbox "
			     "for user is full) (in reply to end of DATA command))",
			     SV(S_LMTP), qid, r->to, *r->orig ? "orig_to=<" : "",
			     r->orig, *r->orig ? ">, " : "", lmtp_relay(m),
			     fdelay(d0, td - m->t0), fdelay(d1, a), fdelay(d2, b),
			     fdelay(d3, c), fdelay(d4, x),
			     m->lmtp_style ? "mail.example.net[private/dovecot-lmtp]"
					   : "dovecot[172.22.1.250]",
			     r->to);
			*bounced = 1;
			r->done = 1;
		} else {
			emit(td - 3000, -1,
			     "dovecot: lmtp(%s)<%d><%s>: sieve: msgid=<%s>: stored "
			     "mail into mailbox 'INBOX'",
			     r->to, new_pid(), tok, m->msgid);
			emit(td, -1, "%s[%d]: %s: to=<%s>, %s%s%srelay=%s, delay=%s, "
			     "delays=%s/%s/%s/%s, dsn=2.0.0, status=sent (250 2.0.0 "
			     "<%s> %s Saved)",
			     SV(S_LMTP), qid, r->to, *r->orig ? "orig_to=<" : "",
			     r->orig, *r->orig ? ">, " : "", lmtp_relay(m),
			     fdelay(d0, td - m->t0), fdelay(d1, a), fdelay(d2, b),
			     fdelay(d3, c), fdelay(d4, x), r->to, tok);
			r->done = 1;
		}
		return td;
	}
	c = range_us(0.05, 0.9);
	x = range_us(0.1, 2.5) + m->size * 2; /* ~0.5 MB/s */
	if (r->remote_ix < 0) {
		/* a dead domain: no MX answers until the message expires */
		const char *dom = strchr(r->to, '@') + 1;
		td = t + b + range_us(20, 30);
		emit(td, -1, "%s[%d]: %s: to=<%s>, relay=none, delay=%s, "
		     "delays=%s/%s/%s/0, dsn=4.4.1, status=deferred (connect to "
		     "mx.%s[203.0.113.%u]:25: Connection timed out)",
		     SV(S_SMTP), qid, r->to, fdelay(d0, td - m->t0),
		     fdelay(d1, a), fdelay(d2, b), fdelay(d3, td - t - b), dom,
		     below(250) + 1);
		return td;
	}
	{
		const struct remote *R = &remotes[r->remote_ix];
		char reply[512];
		td = t + b + c + x;
		if (defer) {
			int dsn = chance(0.5);
			if (dsn)
				snprintf(reply, sizeof reply,
					 "host %s[%s] said: 450 4.7.1 <%s>: Recipient "
					 "address rejected: Greylisted, see "
					 "http://postgrey.schweikert.ch/help/%s.html "
					 "(in reply to RCPT TO command)",
					 R->mx, R->ip, r->to, R->dom);
			else
				snprintf(reply, sizeof reply,
					 "host %s[%s] said: 421 4.7.0 Too many "
					 "connections, slow down (in reply to end of "
					 "DATA command)", R->mx, R->ip);
			emit(td, -1, "%s[%d]: %s: to=<%s>, relay=%s[%s]:25, delay=%s, "
			     "delays=%s/%s/%s/%s, dsn=4.7.%d, status=deferred (%s)",
			     SV(S_SMTP), qid, r->to, R->mx, R->ip,
			     fdelay(d0, td - m->t0), fdelay(d1, a), fdelay(d2, b),
			     fdelay(d3, c), fdelay(d4, x), dsn, reply);
		} else if (r->out == O_BOUNCE || r->out == O_DEFER_BOUNCE) {
			emit(td, -1, "%s[%d]: %s: to=<%s>, relay=%s[%s]:25, delay=%s, "
			     "delays=%s/%s/%s/%s, dsn=5.1.1, status=bounced (host "
			     "%s[%s] said: 550 5.1.1 <%s>: Recipient address "
			     "rejected: User unknown (in reply to RCPT TO command))",
			     SV(S_SMTP), qid, r->to, R->mx, R->ip,
			     fdelay(d0, td - m->t0), fdelay(d1, a), fdelay(d2, b),
			     fdelay(d3, c), fdelay(d4, x), R->mx, R->ip, r->to);
			*bounced = 1;
			r->done = 1;
		} else {
			char id[16];
			rand_token(id, 10, 1);
			ok_reply(reply, sizeof reply, R->style, (unsigned)(td / US), id);
			emit(td, -1, "%s[%d]: %s: to=<%s>, relay=%s[%s]:25, delay=%s, "
			     "delays=%s/%s/%s/%s, dsn=2.0.0, status=sent (%s)",
			     SV(S_SMTP), qid, r->to, R->mx, R->ip,
			     fdelay(d0, td - m->t0), fdelay(d1, a), fdelay(d2, b),
			     fdelay(d3, c), fdelay(d4, x), reply);
			r->done = 1;
		}
	}
	return td;
}

static void qmgr_line(const struct msg *m, const char *qid, int64_t t)
{
	emit(t, -1, "%s[%d]: %s: from=<%s>, size=%ld, nrcpt=%d (queue active)",
	     SV(S_QMGR), qid, m->sender, m->size, m->n);
}

/*
 * The queue life of a message from its first qmgr line at tq: delivery
 * passes, retries with backoff (qmgr repeats from=/size=/nrcpt= on each),
 * notifications, expiry, removed.  Returns the time of `removed`.
 */
static int64_t run_queue(struct msg *m, const char *qid, int inode, int64_t tq)
{
	int64_t t = tq, tend = tq, backoff = range_us(300, 400);
	int pass, i, pending, warned = 0, will_expire = 0;
	for (i = 0; i < m->n; i++)
		will_expire |= m->r[i].out == O_EXPIRE;
	qmgr_line(m, qid, tq);
	for (pass = 0;; pass++) {
		int bounced = 0, expired = 0;
		int64_t tp = t;
		if (pass > 0) {
			t += backoff;
			backoff = backoff * 2 > 4000 * US ? range_us(3600, 4000)
							   : backoff * 2;
			qmgr_line(m, qid, t);
			tp = t;
		}
		pending = 0;
		for (i = 0; i < m->n; i++) {
			struct rcpt *r = &m->r[i];
			int64_t td;
			if (r->done)
				continue;
			td = attempt(m, qid, r, t, tp, r->defers <= pass, &bounced);
			tp += range_us(0.001, 0.05);
			if (td > tend)
				tend = td;
			if (!r->done)
				pending++;
		}
		if (pending && t + backoff - m->t0 >= max_queue_time) {
			/* the next scan finds it too old */
			expired = 1;
		}
		if (bounced)
			notify(m, qid, tend + range_us(0.01, 0.1), 0);
		if (pending && !warned && m->kind != M_NOTICE && !expired &&
		    t - m->t0 >= 4 * 3600 * US && will_expire) {
			notify(m, qid, tend + range_us(0.01, 0.1), 1);
			warned = 1;
		}
		if (expired) {
			tend += range_us(0.01, 0.1);
			emit(tend, -1, "%s[%d]: %s: from=<%s>, status=expired, "
			     "returned to sender", SV(S_QMGR), qid, m->sender);
			if (*m->sender)
				notify(m, qid, tend + range_us(0.01, 0.1), 0);
			tot.expired_msgs++;
			pending = 0;
		}
		if (!pending)
			break;
		t = tend;
	}
	tend += range_us(0.001, 0.05);
	emit(tend, inode, "%s[%d]: %s: removed", SV(S_QMGR), qid);
	return tend;
}

/* A bounce or delay notification: from=<>, never billed. */
static void notify(const struct msg *orig, const char *qid, int64_t t,
		   int delay_notice)
{
	static struct msg nm; /* not reentrant: notices never bounce here */
	char nqid[32];
	int inode;
	const char *at;
	if (!*orig->sender || orig->kind == M_NOTICE)
		return; /* Postfix never bounces a bounce */
	inode = new_qid(t, nqid);
	memset(&nm, 0, sizeof nm);
	nm.kind = M_NOTICE;
	nm.t0 = t;
	nm.size = 3000 + (orig->size > 10000 ? 10000 : orig->size) +
		  (long)below(1500);
	nm.n = 1;
	nm.lmtp_style = orig->lmtp_style;
	pf_msgid(nm.msgid, sizeof nm.msgid, t, nqid);
	snprintf(nm.r[0].to, sizeof nm.r[0].to, "%s", orig->sender);
	at = strchr(orig->sender, '@');
	nm.r[0].local = at && (hosted(at + 1) || !strcmp(at + 1, hostname));
	nm.r[0].remote_ix = (int)below(NREMOTE);
	nm.r[0].out = O_SENT;
	emit(t, -1, "%s[%d]: %s: message-id=<%s>", SV(S_CLEANUP), nqid,
	     nm.msgid);
	emit(t + 1000, -1, "%s[%d]: %s: sender %s notification: %s",
	     SV(S_BOUNCE), qid, delay_notice ? "delay" : "non-delivery", nqid);
	tot.notices++;
	run_queue(&nm, nqid, inode, t + range_us(0.002, 0.02));
}

/* ------------------------------------------------------------- sessions */

#define TLS_LINE \
	"%s[%d]: Anonymous TLS connection established from %s: TLSv1.3 with " \
	"cipher TLS_AES_256_GCM_SHA384 (256/256 bits) key-exchange X25519 " \
	"server-signature RSA-PSS (2048 bits) server-digest SHA256"

static void pick_remote(struct rcpt *r)
{
	char lp[48];
	r->remote_ix = (int)below(NREMOTE);
	r->local = 0;
	remote_local_part(lp, sizeof lp);
	snprintf(r->to, sizeof r->to, "%s@%s", lp, remotes[r->remote_ix].dom);
}

/* The mailbox list of the customer of m, for same-customer choices. */
static int other_mailbox(int m)
{
	if (synthetic) {
		int base = m / syn_per_dom * syn_per_dom;
		return base + (int)below((uint32_t)syn_per_dom);
	}
	{
		const struct cust *c = &custs[mbs[m].cust];
		return c->mb[below((uint32_t)c->nmb)];
	}
}

static int any_mailbox(void)
{
	return synthetic ? (int)below((uint32_t)syn_nmb) : (int)below((uint32_t)nmbs);
}

static const char *mb_domain(int m)
{
	return strchr(mb_addr(m), '@') + 1;
}

/* Is (to, orig_to) of r already among the first n recipients of m? */
static int dup_rcpt(const struct msg *m, int n, const struct rcpt *r)
{
	int i;
	for (i = 0; i < n; i++)
		if (!strcmp(m->r[i].to, r->to) && !strcmp(m->r[i].orig, r->orig))
			return 1;
	return 0;
}

/*
 * Pick the recipients of an outbound message: nremote remote ones, nlocal
 * hosted ones (some through an alias: to= the mailbox, orig_to= the
 * alias; nrcpt counts after the expansion).
 */
static void outbound_rcpts(struct msg *m, int mb, int nremote, int nlocal,
			   int bulk, int64_t t)
{
	int i;
	m->n = 0;
	for (i = 0; i < nremote && m->n < MAXR; i++) {
		struct rcpt *r = &m->r[m->n++];
		memset(r, 0, sizeof *r);
		pick_remote(r);
		if (bulk && i > 0) /* a mailing: distinct addresses */
			snprintf(r->to, sizeof r->to, "%s.%s%d@%s",
				 first[below(N(first))], last[below(N(last))], i,
				 remotes[r->remote_ix].dom);
		if (chance(bulk ? 0.05 : 0.02)) {
			r->out = O_BOUNCE;
		} else if (chance(0.03)) {
			r->out = O_DEFER_SENT;
			r->defers = 1 + (int)below(3);
		} else if (chance(0.003)) {
			r->out = O_DEFER_BOUNCE;
			r->defers = 1 + (int)below(2);
		} else if (t < expire_limit && chance(0.0008)) {
			r->out = O_EXPIRE;
			r->defers = 1 << 30;
			r->remote_ix = -1;
			snprintf(r->to, sizeof r->to, "%s@ancienne-societe%u.fr",
				 roles[below(N(roles))], below(50));
		}
		if (dup_rcpt(m, m->n - 1, r)) {
			/* cleanup drops duplicate recipients: make it another
			 * person of the same domain */
			char *at = strchr(r->to, '@'), tail[128];
			snprintf(tail, sizeof tail, "%s", at);
			snprintf(at, sizeof r->to - (size_t)(at - r->to), ".%d%s", i,
				 tail);
		}
	}
	for (i = 0; i < nlocal && m->n < MAXR; i++) {
		struct rcpt *r = &m->r[m->n++];
		int o = chance(0.5) ? other_mailbox(mb) : any_mailbox();
		memset(r, 0, sizeof *r);
		r->local = 1;
		snprintf(r->to, sizeof r->to, "%s", mb_addr(o));
		if (chance(0.01)) {
			r->out = O_DEFER_SENT;
			r->defers = 1;
		}
		if (dup_rcpt(m, m->n - 1, r)) {
			m->n--; /* the same colleague twice: one recipient */
			continue;
		}
		if (i + 1 < nlocal && chance(0.15) && m->n < MAXR) {
			/* an alias expanding to two mailboxes */
			struct rcpt *r2 = &m->r[m->n++];
			*r2 = *r;
			snprintf(r->orig, sizeof r->orig, "contact@%s", mb_domain(o));
			snprintf(r2->orig, sizeof r2->orig, "contact@%s", mb_domain(o));
			snprintf(r2->to, sizeof r2->to, "%s",
				 mb_addr(other_mailbox(o)));
			if (!strcmp(r2->to, r->to) || dup_rcpt(m, m->n - 2, r) ||
			    dup_rcpt(m, m->n - 1, r2)) {
				m->n--;
				r->orig[0] = 0;
			} else {
				i++;
			}
		}
	}
}

static void account(int mb, int64_t tq, const struct msg *m, int pickup)
{
	int d = day_of(tq), i;
	struct cnt *c;
	uint32_t billable = 0;
	if (d < 0 || mb < 0 || mb >= nsummb) {
		fprintf(stderr, "genpflog: internal: message out of range\n");
		abort();
	}
	c = &sumtab[(size_t)mb * (size_t)nday + (size_t)d];
	if (pickup)
		c->pick++;
	else
		c->subm++;
	for (i = 0; i < m->n; i++) {
		const struct rcpt *r = &m->r[i];
		c->rcpt++;
		if (r->local)
			c->local++;
		else
			c->remote++;
		if (m->filter_reject || r->out == O_BOUNCE ||
		    r->out == O_DEFER_BOUNCE)
			c->bounced++;
		else if (r->out == O_EXPIRE)
			c->expired++;
		else
			c->sent++;
		if (!r->local || count_local)
			billable += !unit_message;
	}
	if (unit_message) {
		int any = count_local ? 1 : 0;
		for (i = 0; i < m->n && !any; i++)
			any = !m->r[i].local;
		billable = (uint32_t)any;
	}
	c->billable += billable;
	tot.messages++;
	tot.recipients += (uint64_t)m->n;
}

/*
 * Content filter: the first hop goes to 127.0.0.1:10024, which re-injects
 * through 127.0.0.1:10025 (a second smtpd, no SASL) and answers `queued
 * as NEWID`; the re-injected message's lines come before that answer.
 */
static void filtered(struct msg *m, const char *qid, int inode, int64_t tq)
{
	char d0[16], d1[16], d2[16], nqid[32];
	int64_t tf = tq + range_us(0.3, 2.5), t;
	int i, ninode, p, ps, rejected = m->filter_reject;
	qmgr_line(m, qid, tq);
	if (rejected) {
		for (i = 0; i < m->n; i++)
			emit(tf + i * 1000, -1,
			     "%s[%d]: %s: to=<%s>, relay=127.0.0.1[127.0.0.1]:10024, "
			     "delay=%s, delays=%s/0/0/%s, dsn=5.7.0, status=bounced "
			     "(host 127.0.0.1[127.0.0.1] said: 554 5.7.0 Reject, "
			     "id=%d-%02d - spam (in reply to end of DATA command))",
			     SV(S_SMTP), qid, m->r[i].to, fdelay(d0, tf - m->t0),
			     fdelay(d1, tq - m->t0), fdelay(d2, tf - tq),
			     new_pid(), (int)below(20) + 1);
		notify(m, qid, tf + m->n * 1000 + 20000, 0);
		emit(tf + m->n * 1000 + 40000, inode, "%s[%d]: %s: removed",
		     SV(S_QMGR), qid);
		return;
	}
	ninode = new_qid(tf, nqid);
	p = session_pid(S_REINJ, tf - 20000, &ps);
	emit(tf - 20000, -1, "%s[%d]: connect from localhost[127.0.0.1]",
	     svcs[S_REINJ].name, p);
	emit(tf, -1, "%s[%d]: %s: client=localhost[127.0.0.1]",
	     svcs[S_REINJ].name, p, nqid);
	emit(tf + 3000, -1, "%s[%d]: %s: message-id=<%s>", SV(S_CLEANUP), nqid,
	     m->msgid);
	t = tf + range_us(0.005, 0.03);
	{
		long osize = m->size;
		int64_t ot0 = m->t0;
		m->size += 600 + (long)below(900); /* the filter's headers */
		m->t0 = tf;
		run_queue(m, nqid, ninode, t);
		m->size = osize;
		m->t0 = ot0;
	}
	emit(t + 2000, -1, "%s[%d]: disconnect from localhost[127.0.0.1] ehlo=1 "
	     "mail=1 rcpt=%d data=1 quit=1 commands=%d",
	     svcs[S_REINJ].name, p, m->n, m->n + 4);
	session_done(S_REINJ, ps, t + 2000);
	t += range_us(0.005, 0.02);
	for (i = 0; i < m->n; i++)
		emit(t, -1, "%s[%d]: %s: to=<%s>, %s%s%srelay=127.0.0.1[127.0.0.1]:10024, "
		     "delay=%s, delays=%s/0/0/%s, dsn=2.0.0, status=sent (250 2.0.0 "
		     "from MTA(smtp:[127.0.0.1]:10025): 250 2.0.0 Ok: queued as %s)",
		     SV(S_SMTP), qid, m->r[i].to, *m->r[i].orig ? "orig_to=<" : "",
		     m->r[i].orig, *m->r[i].orig ? ">, " : "",
		     fdelay(d0, t - m->t0), fdelay(d1, tq - m->t0),
		     fdelay(d2, t - tq), nqid);
	emit(t + 1000, inode, "%s[%d]: %s: removed", SV(S_QMGR), qid);
	tot.reinjected++;
}

static void queue(struct msg *m, const char *qid, int inode, int64_t tq)
{
	if (use_filter && m->kind != M_NOTICE)
		filtered(m, qid, inode, tq);
	else
		run_queue(m, qid, inode, tq);
}

static struct msg M; /* the message being built (big: keep it off stack) */

/* An authenticated submission by mailbox mb. */
static void gen_submission(int64_t t, int mb, int nremote, int nlocal,
			   int bulk, int pickup)
{
	char cl[96], qid[32], mdom[96], login[128];
	int inode, svc, p = 0, ps = 0, sender_mb = mb;
	int64_t tq;
	double k = unit();
	snprintf(login, sizeof login, "%s", mb_login(mb));
	memset(&M, 0, sizeof M);
	M.kind = pickup ? M_PICKUP_USER
			: k < 0.68 ? M_SUBMIT
			: k < 0.83 ? M_SMTPS
			: k < 0.95 ? M_WEBMAIL : M_SMTPD_AUTH;
	M.size = msg_size();
	M.lmtp_style = chance(0.3);
	outbound_rcpts(&M, mb, nremote, nlocal, bulk, t);
	if (bulk)
		M.size = 8000 + (long)below(40000);
	snprintf(mdom, sizeof mdom, "%s", mb_domain(mb));
	if (!pickup && chance(0.08)) {
		/* envelope sender is not the login: a colleague or an alias */
		if (chance(0.6)) {
			sender_mb = other_mailbox(mb);
			snprintf(M.sender, sizeof M.sender, "%s", mb_addr(sender_mb));
		} else {
			snprintf(M.sender, sizeof M.sender, "%s@%s",
				 roles[below(N(roles))], mdom);
		}
	} else {
		snprintf(M.sender, sizeof M.sender, "%s", mb_addr(mb));
	}
	M.filter_reject = use_filter && chance(0.003);
	make_msgid(M.msgid, sizeof M.msgid, t, mdom,
		   M.kind == M_WEBMAIL ? 2 : pickup ? 4 : (int)below(4) % 2);
	if (pickup) {
		inode = new_qid(t, qid);
		emit(t, -1, "%s[%d]: %s: uid=%d from=<%s>", SV(S_PICKUP), qid,
		     1000 + (int)below(20), M.sender);
		emit(t + range_us(0.001, 0.01), -1, "%s[%d]: %s: message-id=<%s>",
		     SV(S_CLEANUP), qid, M.msgid);
		tq = t + range_us(0.01, 0.05);
		M.t0 = t;
		account(mb, tq, &M, 1);
		queue(&M, qid, inode, tq);
		return;
	}
	svc = M.kind == M_SMTPS ? S_SMTPS : M.kind == M_SMTPD_AUTH ? S_SMTPD
								: S_SUBM;
	p = session_pid(svc, t, &ps);
	if (M.kind == M_WEBMAIL)
		strcpy(cl, "localhost[127.0.0.1]");
	else
		client_name(cl, sizeof cl);
	emit(t, -1, "%s[%d]: connect from %s", svcs[svc].name, p, cl);
	if (M.kind != M_WEBMAIL)
		emit(t + range_us(0.02, 0.1), -1, TLS_LINE, svcs[svc].name, p, cl);
	t += range_us(0.15, 0.6);
	inode = new_qid(t, qid);
	M.t0 = t;
	emit(t, -1, "%s[%d]: %s: client=%s, sasl_method=%s, sasl_username=%s",
	     svcs[svc].name, p, qid, cl,
	     M.kind == M_WEBMAIL || chance(0.3) ? "LOGIN" : "PLAIN", login);
	t += range_us(0.05, 0.4) + M.size / 4; /* upload at ~4 MB/s */
	emit(t, -1, "%s[%d]: %s: message-id=<%s>", SV(S_CLEANUP), qid, M.msgid);
	if (chance(0.7))
		emit(t + range_us(0.001, 0.02), -1,
		     "%s[%d]: %s: DKIM-Signature field added (s=dkim, d=%s)",
		     SV(S_OPENDKIM), qid, mdom);
	tq = t + range_us(0.02, 0.1);
	account(mb, tq, &M, 0);
	t = tq + range_us(0.01, 0.05);
	session_done(svc, ps, t);
	emit(t, -1,
	     "%s[%d]: disconnect from %s ehlo=%d%s auth=1 mail=1 rcpt=%d data=1 "
	     "quit=1 commands=%d",
	     svcs[svc].name, p, cl, M.kind == M_WEBMAIL || svc == S_SMTPS ? 1 : 2,
	     M.kind == M_WEBMAIL || svc == S_SMTPS ? "" : " starttls=1",
	     M.n, M.n + (M.kind == M_WEBMAIL || svc == S_SMTPS ? 5 : 7));
	queue(&M, qid, inode, tq);
}

static void gen_inbound(int64_t t, int mb)
{
	char qid[32], lp[48], cl[160];
	const struct inpeer *pe = &inpeers[below(N(inpeers))];
	int i, inode, ps, p = session_pid(S_SMTPD, t, &ps),
		n = 1 + (chance(0.2) ? (int)below(3) : 0);
	int64_t tq;
	memset(&M, 0, sizeof M);
	M.kind = M_INBOUND;
	M.size = msg_size();
	M.lmtp_style = chance(0.3);
	remote_local_part(lp, sizeof lp);
	if (chance(0.02))
		M.sender[0] = 0; /* a remote bounce */
	else
		snprintf(M.sender, sizeof M.sender, "%s@%s", lp, pe->dom);
	snprintf(cl, sizeof cl, "%s[%s]", pe->host, pe->ip);
	for (i = 0; i < n; i++) {
		struct rcpt *r = &M.r[M.n++];
		int o = i ? other_mailbox(mb) : mb;
		r->local = 1;
		snprintf(r->to, sizeof r->to, "%s", mb_addr(o));
		if (chance(0.01)) {
			r->out = O_DEFER_SENT;
			r->defers = 1;
		} else if (chance(0.004)) {
			r->out = O_BOUNCE;
		}
		if (i && dup_rcpt(&M, M.n - 1, r))
			M.n--;
	}
	make_msgid(M.msgid, sizeof M.msgid, t, pe->dom, 3);
	emit(t, -1, "%s[%d]: connect from %s", svcs[S_SMTPD].name, p, cl);
	emit(t + range_us(0.05, 0.2), -1, TLS_LINE, svcs[S_SMTPD].name, p, cl);
	t += range_us(0.3, 1.5);
	inode = new_qid(t, qid);
	M.t0 = t;
	emit(t, -1, "%s[%d]: %s: client=%s", svcs[S_SMTPD].name, p, qid, cl);
	t += range_us(0.05, 0.5) + M.size / 8;
	emit(t, -1, "%s[%d]: %s: message-id=<%s>", SV(S_CLEANUP), qid, M.msgid);
	if (chance(0.6))
		emit(t + 2000, -1, "%s[%d]: %s: s=%s d=%s SSL", SV(S_OPENDKIM),
		     qid, "20230601", pe->dom);
	tq = t + range_us(0.02, 0.1);
	t = tq + range_us(0.01, 0.05);
	session_done(S_SMTPD, ps, t);
	emit(t, -1,
	     "%s[%d]: disconnect from %s ehlo=2 starttls=1 mail=1 rcpt=%d data=1 "
	     "quit=1 commands=%d",
	     svcs[S_SMTPD].name, p, cl, M.n, M.n + 6);
	tot.inbound++;
	queue(&M, qid, inode, tq);
}

static void gen_sys_pickup(int64_t t)
{
	char qid[32];
	int inode, root = chance(0.3);
	int64_t tq;
	memset(&M, 0, sizeof M);
	M.kind = M_PICKUP_SYS;
	M.size = 800 + (long)below(6000);
	snprintf(M.sender, sizeof M.sender, "%s@%s", root ? "root" : "www-data",
		 hostname);
	M.n = 1;
	if (root) {
		pick_remote(&M.r[0]);
		snprintf(M.r[0].to, sizeof M.r[0].to, "ops@%s",
			 remotes[M.r[0].remote_ix].dom);
		snprintf(M.r[0].orig, sizeof M.r[0].orig, "root@%s", hostname);
	} else if (chance(0.5)) {
		pick_remote(&M.r[0]);
	} else {
		M.r[0].local = 1;
		snprintf(M.r[0].to, sizeof M.r[0].to, "%s", mb_addr(any_mailbox()));
	}
	inode = new_qid(t, qid);
	pf_msgid(M.msgid, sizeof M.msgid, t, qid);
	M.t0 = t;
	emit(t, -1, "%s[%d]: %s: uid=%d from=<%s>", SV(S_PICKUP), qid,
	     root ? 0 : 33, root ? "root" : "www-data");
	emit(t + range_us(0.001, 0.01), -1, "%s[%d]: %s: message-id=<%s>",
	     SV(S_CLEANUP), qid, M.msgid);
	tq = t + range_us(0.01, 0.05);
	tot.sys_pickups++;
	queue(&M, qid, inode, tq);
}

/* A submission that never reaches qmgr: lost connection after DATA. */
static void gen_lost(int64_t t, int mb)
{
	char cl[96], qid[32], msgid[160];
	int ps, p = session_pid(S_SUBM, t, &ps), inode;
	client_name(cl, sizeof cl);
	emit(t, -1, "%s[%d]: connect from %s", svcs[S_SUBM].name, p, cl);
	emit(t + 50000, -1, TLS_LINE, svcs[S_SUBM].name, p, cl);
	t += range_us(0.2, 0.6);
	inode = new_qid(t, qid);
	emit(t, -1, "%s[%d]: %s: client=%s, sasl_method=PLAIN, sasl_username=%s",
	     svcs[S_SUBM].name, p, qid, cl, mb_login(mb));
	t += range_us(0.5, 30);
	if (chance(0.5)) {
		make_msgid(msgid, sizeof msgid, t, mb_domain(mb), 0);
		emit(t, -1, "%s[%d]: %s: message-id=<%s>", SV(S_CLEANUP), qid,
		     msgid);
	}
	t += range_us(1, 60);
	emit(t, inode, "%s[%d]: %s: lost connection after DATA (%u bytes) from %s",
	     svcs[S_SUBM].name, p, qid, 1000 + below(400000), cl);
	emit(t + 1000, -1, "%s[%d]: disconnect from %s ehlo=2 starttls=1 auth=1 "
	     "mail=1 rcpt=1 data=0/1 commands=6/7", svcs[S_SUBM].name, p, cl);
	session_done(S_SUBM, ps, t + 1000);
	tot.lost++;
}

static void gen_reject(int64_t t)
{
	char cl[96], lp[48], lp2[48];
	int p, ps;
	client_name(cl, sizeof cl);
	remote_local_part(lp, sizeof lp);
	remote_local_part(lp2, sizeof lp2);
	if (chance(0.2) && (synthetic || nmbs)) {
		/* submission: the sender does not belong to the login */
		int mb = any_mailbox();
		p = session_pid(S_SUBM, t, &ps);
		session_done(S_SUBM, ps, t + 2 * US);
		emit(t, -1, "%s[%d]: connect from %s", svcs[S_SUBM].name, p, cl);
		emit(t + range_us(0.3, 1), -1,
		     "%s[%d]: NOQUEUE: reject: RCPT from %s: 553 5.7.1 <%s@gmail.com>: "
		     "Sender address rejected: not owned by user %s; "
		     "from=<%s@gmail.com> to=<%s@%s> proto=ESMTP helo=<[192.168.1.%u]>",
		     svcs[S_SUBM].name, p, cl, lp, mb_login(mb), lp, lp2,
		     remotes[below(NREMOTE)].dom, below(250) + 2);
		emit(t + range_us(1, 1.5), -1,
		     "%s[%d]: disconnect from %s ehlo=2 starttls=1 auth=1 mail=1 "
		     "rcpt=0/1 quit=1 commands=6/7", svcs[S_SUBM].name, p, cl);
	} else {
		const char *to = mb_addr(any_mailbox());
		int rbl = chance(0.4);
		p = session_pid(S_SMTPD, t, &ps);
		session_done(S_SMTPD, ps, t + 2 * US);
		emit(t, -1, "%s[%d]: connect from %s", svcs[S_SMTPD].name, p, cl);
		if (rbl) {
			const char *ip = strrchr(cl, '[') + 1;
			emit(t + range_us(0.3, 1), -1,
			     "%s[%d]: NOQUEUE: reject: RCPT from %s: 554 5.7.1 Service "
			     "unavailable; Client host [%.*s] blocked using "
			     "zen.spamhaus.org; from=<%s@%s> to=<%s> proto=ESMTP "
			     "helo=<%s>",
			     svcs[S_SMTPD].name, p, cl, (int)(strlen(ip) - 1), ip, lp,
			     "promo-deals.example", to, "localhost");
		} else {
			emit(t + range_us(0.3, 1), -1,
			     "%s[%d]: NOQUEUE: reject: RCPT from %s: 550 5.1.1 <%s@%s>: "
			     "Recipient address rejected: User unknown in virtual "
			     "mailbox table; from=<%s@%s> to=<%s@%s> proto=ESMTP "
			     "helo=<%s>",
			     svcs[S_SMTPD].name, p, cl, lp2, mb_domain(any_mailbox()),
			     lp, remotes[below(NREMOTE)].dom, lp2,
			     mb_domain(any_mailbox()), "mail.example.com");
		}
		emit(t + range_us(1, 1.5), -1,
		     "%s[%d]: disconnect from %s ehlo=1 mail=1 rcpt=0/1 quit=1 "
		     "commands=3/4", svcs[S_SMTPD].name, p, cl);
	}
	tot.noqueue++;
}

static void gen_saslfail(int64_t t)
{
	char cl[96], user[96];
	int ps, svc = chance(0.7) ? S_SUBM : S_SMTPS, p = session_pid(svc, t, &ps);
	client_name(cl, sizeof cl);
	if (chance(0.5))
		snprintf(user, sizeof user, "%s", mb_login(any_mailbox()));
	else
		snprintf(user, sizeof user, "%s@%s", roles[below(N(roles))],
			 mb_domain(any_mailbox()));
	emit(t, -1, "%s[%d]: connect from %s", svcs[svc].name, p, cl);
	emit(t + range_us(0.5, 3), -1,
	     "%s[%d]: warning: %s: SASL LOGIN authentication failed: "
	     "UGFzc3dvcmQ6, sasl_username=%s", svcs[svc].name, p, cl, user);
	emit(t + range_us(3, 4), -1,
	     "%s[%d]: disconnect from %s ehlo=1 auth=0/1 rset=1 quit=1 commands=3/4",
	     svcs[svc].name, p, cl);
	session_done(svc, ps, t + 4 * US);
	tot.saslfail++;
}

/* -------------------------------------------------------------- the day */

enum jkind { J_SUBMIT, J_PICKUP_USER, J_INBOUND, J_PICKUP_SYS, J_LOST,
	     J_REJECT, J_SASLFAIL };

struct job {
	int64_t t;
	uint64_t seq;
	int kind, mb, nremote, nlocal, bulk;
};

static void run_job(const struct job *j)
{
	drain(j->t);
	switch (j->kind) {
	case J_SUBMIT:
		gen_submission(j->t, j->mb, j->nremote, j->nlocal, j->bulk, 0);
		break;
	case J_PICKUP_USER:
		gen_submission(j->t, j->mb, j->nremote, j->nlocal, 0, 1);
		break;
	case J_INBOUND:
		gen_inbound(j->t, j->mb);
		break;
	case J_PICKUP_SYS:
		gen_sys_pickup(j->t);
		break;
	case J_LOST:
		gen_lost(j->t, j->mb);
		break;
	case J_REJECT:
		gen_reject(j->t);
		break;
	case J_SASLFAIL:
		gen_saslfail(j->t);
		break;
	}
}

static int job_cmp(const void *a, const void *b)
{
	const struct job *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static struct job *jobs;
static size_t njobs, jcap;
static uint64_t jobseq;

static struct job *job_add(int64_t t, int kind)
{
	struct job *j;
	if (njobs == jcap) {
		jcap = jcap ? jcap * 2 : 4096;
		jobs = xrealloc(jobs, jcap * sizeof *jobs);
	}
	j = &jobs[njobs++];
	memset(j, 0, sizeof *j);
	j->t = t;
	j->kind = kind;
	j->seq = jobseq++;
	return j;
}

/* A time in day d: office hours mostly, some evenings and nights. */
static int64_t day_time(int d, int burst_hour)
{
	double h;
	int64_t t, len = day_start[d + 1] - day_start[d];
	if (burst_hour >= 0)
		h = burst_hour + 1.5 * unit();
	else if (chance(0.15))
		h = 24 * unit();
	else
		h = chance(0.5) ? 10.2 + 1.4 * gauss() : 15.0 + 1.6 * gauss();
	if (h < 0)
		h = 0;
	if (h > 23.9)
		h = 23.9;
	t = day_start[d] + (int64_t)(h / 24.0 * (double)len);
	if (t > day_start[d + 1] - 120 * US)
		t = day_start[d + 1] - 120 * US;
	return t;
}

static int active_on(const char *day, const char *start, const char *end)
{
	return (!*start || strcmp(start, day) <= 0) && (!*end || strcmp(day, end) < 0);
}

static int weekday(const char *day)
{
	/* Sakamoto: 0 = Sunday */
	static const int tt[] = {0, 3, 2, 5, 0, 3, 5, 1, 4, 6, 2, 4};
	int y = atoi(day), m = atoi(day + 5), dd = atoi(day + 8);
	if (m < 3)
		y--;
	return (y + y / 4 - y / 100 + y / 400 + tt[m - 1] + dd) % 7;
}

static long quota_on(const struct cust *c, const char *day)
{
	int i;
	for (i = 0; i < c->nsubs; i++)
		if (active_on(day, c->subs[i].start, c->subs[i].end))
			return c->subs[i].quota;
	return -1;
}

/*
 * Is day d among the first k of a shuffle (seeded by h) of the customer's
 * active weekdays of that month in the range?  Special days are drawn
 * from the days it can really send, so a customer starting mid-month
 * still gets them.
 */
static int special(int ci, int d, uint64_t h, int k)
{
	int list[40], n = 0, i;
	for (i = 0; i < nday - 1 && n < 40; i++) {
		int wd = weekday(day_name[i]);
		if (strncmp(day_name[i], day_name[d], 7) || wd == 0 || wd == 6 ||
		    quota_on(&custs[ci], day_name[i]) < 0)
			continue;
		list[n++] = i;
	}
	for (i = 0; i < n && i < k; i++) {
		int j = i + (int)(mix(h, (uint64_t)i, 11) % (uint64_t)(n - i)), tmp;
		tmp = list[i], list[i] = list[j], list[j] = tmp;
		if (list[i] == d)
			return 1;
	}
	return 0;
}

/* The share of its quota a customer uses on day d (see README). */
static double day_ratio(int ci, int d, int *burst)
{
	const struct cust *c = &custs[ci];
	const char *day = day_name[d];
	int wd = weekday(day), weekend = wd == 0 || wd == 6;
	int ym = atoi(day) * 12 + atoi(day + 5);
	uint64_t h = mix(seed_g ^ 0x5eed, (uint64_t)ci, (uint64_t)ym);
	double r = 0.2 + 0.4 * unit();
	*burst = -1;
	if (weekend)
		r *= 0.3;
	switch (c->role) {
	case R_NORMAL:
		break;
	case R_WARN:
		if (!weekend)
			r = chance(0.7) ? 0.8 + 0.19 * unit() : 0.55 + 0.25 * unit();
		break;
	case R_OVER: {
		/* 4 over days in the first month of the range (above the
		 * usual tolerance of 3), 0 to 5 in later months */
		int first_month = !strncmp(day, day_name[0], 7);
		if (!weekend)
			r = 0.45 + 0.3 * unit();
		if (special(ci, d, h, first_month ? 4 : (int)(h % 6)))
			r = 1.1 + 0.4 * unit();
		break;
	}
	case R_RUNAWAY:
		if (special(ci, d, h, 1)) {
			r = 2.2 + 0.8 * unit();
			*burst = 9 + (int)((h >> 32) % 9);
		}
		break;
	}
	return r;
}

static int nrcpt_draw(int bulk)
{
	double u = unit();
	if (bulk)
		return 20 + (int)below(80);
	if (u < 0.62)
		return 1;
	if (u < 0.85)
		return 2 + (int)below(2);
	if (u < 0.97)
		return 4 + (int)below(7);
	return 11 + (int)below(40);
}

static int pick_weighted_mb(const struct cust *c, const char *day)
{
	double tw = 0, x;
	int i, act = 0;
	for (i = 0; i < c->nmb; i++)
		if (active_on(day, mbs[c->mb[i]].start, mbs[c->mb[i]].end))
			tw += mbs[c->mb[i]].weight, act++;
	if (!act)
		return -1;
	x = unit() * tw;
	for (i = 0; i < c->nmb; i++) {
		const struct mbox *m = &mbs[c->mb[i]];
		if (!active_on(day, m->start, m->end))
			continue;
		if (x < m->weight)
			return c->mb[i];
		x -= m->weight;
	}
	for (i = c->nmb; i-- > 0;)
		if (active_on(day, mbs[c->mb[i]].start, mbs[c->mb[i]].end))
			return c->mb[i];
	return -1;
}

static void plan_day(int d)
{
	const char *day = day_name[d];
	int ci, i;
	njobs = 0;
	for (ci = 0; ci < ncusts; ci++) {
		struct cust *c = &custs[ci];
		long q = quota_on(c, day), target, got = 0;
		int burst;
		double r;
		if (q < 0)
			continue;
		r = day_ratio(ci, d, &burst);
		target = (long)(q * r + 0.5);
		while (got < target) {
			int mb = pick_weighted_mb(c, day), n, nl, nr, bulk;
			long bill;
			struct job *j;
			if (mb < 0)
				break;
			/* runaway scripts, and mailings of the larger plans
			 * (a 10000/day customer sends lists, not letters) */
			bulk = (burst >= 0 && chance(0.8)) ||
			       chance(q >= 10000 ? 0.3 : q >= 2000 ? 0.12
				      : q >= 500 ? 0.03 : 0.0);
			n = nrcpt_draw(bulk);
			nl = 0;
			for (i = 0; i < n && !bulk; i++)
				nl += chance(0.12);
			bill = unit_message ? ((count_local || n - nl > 0) ? 1 : 0)
					    : n - (count_local ? 0 : nl);
			nr = n - nl;
			if (!unit_message && got + bill > target) {
				/* the last message lands exactly on target:
				 * drop billable recipients, local ones first */
				long over = got + bill - target;
				if (count_local) {
					long k = over < nl ? over : nl;
					nl -= (int)k;
					over -= k;
				}
				nr -= (int)over;
			}
			if (nr < 0)
				nr = 0;
			if (nr + nl <= 0)
				break;
			j = job_add(day_time(d, burst >= 0 && bulk ? burst : -1),
				    chance(0.03) ? J_PICKUP_USER : J_SUBMIT);
			j->mb = mb;
			j->nremote = nr;
			j->nlocal = nl;
			j->bulk = bulk;
			bill = unit_message ? ((count_local || j->nremote) ? 1 : 0)
					    : j->nremote + (count_local ? nl : 0);
			got += bill;
		}
		/* submissions that never reached qmgr */
		if (chance(0.15)) {
			int mb = pick_weighted_mb(c, day);
			if (mb >= 0)
				job_add(day_time(d, -1), J_LOST)->mb = mb;
		}
	}
	for (i = 0; i < nmbs; i++) {
		int k, n;
		if (!active_on(day, mbs[i].start, mbs[i].end) ||
		    quota_on(&custs[mbs[i].cust], day) < 0)
			continue;
		n = 5 + (int)below(30);
		for (k = 0; k < n; k++)
			job_add(day_time(d, -1), J_INBOUND)->mb = i;
	}
	for (i = 0, ci = 8 + (int)below(10); i < ci; i++)
		job_add(day_time(d, -1), J_PICKUP_SYS);
	for (i = 0, ci = 20 + (int)below(60); i < ci; i++)
		job_add(day_start[d] + (int64_t)(unit() * (double)(day_start[d + 1] -
				day_start[d] - 60 * US)), J_REJECT);
	for (i = 0, ci = 5 + (int)below(30); i < ci; i++)
		job_add(day_start[d] + (int64_t)(unit() * (double)(day_start[d + 1] -
				day_start[d] - 60 * US)), J_SASLFAIL);
	qsort(jobs, njobs, sizeof *jobs, job_cmp);
	for (size_t k = 0; k < njobs; k++)
		run_job(&jobs[k]);
}

/* --------------------------------------------------------------- inputs */

static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("genpflog: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

static char *xstrdup(const char *s)
{
	char *p = strdup(s ? s : "");
	if (!p)
		abort();
	return p;
}

static const char *jstr(json_t *o, const char *k)
{
	json_t *v = json_object_get(o, k);
	return json_is_string(v) ? json_string_value(v) : NULL;
}

static void lower(char *s)
{
	for (; *s; s++)
		if (*s >= 'A' && *s <= 'Z')
			*s = (char)(*s + 32);
}

struct plan {
	char code[32];
	long quota;
};
static struct plan *plans;
static int nplans;
static char tariff_tz[64] = "Europe/Paris";

static void load_tariff(const char *file)
{
	json_error_t e;
	json_t *doc = json_load_file(file, 0, &e), *a, *p, *o;
	size_t i;
	if (!doc)
		die("%s: line %d: %s", file, e.line, e.text);
	a = json_object_get(doc, "plans");
	if (!json_is_array(a))
		die("%s: plans: expected an array", file);
	plans = xrealloc(NULL, (json_array_size(a) + 1) * sizeof *plans);
	json_array_foreach(a, i, p) {
		const char *code = jstr(p, "code");
		json_t *q = json_object_get(p, "outbound_per_day");
		if (!code || !json_is_integer(q))
			die("%s: plans[%zu]: code and outbound_per_day required",
			    file, i);
		snprintf(plans[nplans].code, sizeof plans[nplans].code, "%s", code);
		plans[nplans++].quota = (long)json_integer_value(q);
	}
	if (jstr(doc, "timezone"))
		snprintf(tariff_tz, sizeof tariff_tz, "%s", jstr(doc, "timezone"));
	o = json_object_get(doc, "outbound");
	if (o) {
		const char *u = jstr(o, "unit");
		unit_message = u && !strcmp(u, "message");
		count_local = json_is_true(json_object_get(o, "count_local"));
	}
	json_decref(doc);
}

static void copy_day(char *dst, const char *s, const char *what)
{
	if (!s || !*s) {
		*dst = 0;
		return;
	}
	if (strlen(s) != 10 || s[4] != '-' || s[7] != '-')
		die("%s: \"%s\" is not a date (YYYY-MM-DD)", what, s);
	memcpy(dst, s, 11);
}

static void load_registry(const char *file)
{
	json_error_t e;
	json_t *doc = json_load_file(file, 0, &e), *a, *c;
	size_t i, j;
	if (!doc)
		die("%s: line %d: %s", file, e.line, e.text);
	a = json_object_get(doc, "customers");
	if (!json_is_array(a))
		die("%s: customers: expected an array", file);
	custs = xrealloc(NULL, (json_array_size(a) + 1) * sizeof *custs);
	json_array_foreach(a, i, c) {
		struct cust *cu = &custs[ncusts];
		json_t *ds = json_object_get(c, "domains"),
		       *ms = json_object_get(c, "mailboxes"),
		       *ss = json_object_get(c, "subscriptions"), *x;
		memset(cu, 0, sizeof *cu);
		cu->id = xstrdup(jstr(c, "id"));
		cu->domains = xrealloc(NULL, (json_array_size(ds) + 1) * sizeof(char *));
		json_array_foreach(ds, j, x) {
			if (json_is_string(x)) {
				cu->domains[cu->ndomains] = xstrdup(json_string_value(x));
				lower(cu->domains[cu->ndomains++]);
			}
		}
		cu->mb = xrealloc(NULL, (json_array_size(ms) + 1) * sizeof(int));
		json_array_foreach(ms, j, x) {
			struct mbox *m;
			const char *addr = jstr(x, "address"), *at;
			char where[96];
			if (!addr || !(at = strchr(addr, '@')))
				die("%s: customers[%zu].mailboxes[%zu].address missing",
				    file, i, j);
			mbs = xrealloc(mbs, (size_t)(nmbs + 1) * sizeof *mbs);
			m = &mbs[nmbs];
			m->address = xstrdup(addr);
			lower(m->address);
			m->domain = strchr(m->address, '@') + 1;
			m->login = xstrdup(jstr(x, "login") ? jstr(x, "login") : addr);
			lower(m->login);
			m->cust = ncusts;
			snprintf(where, sizeof where, "customers[%zu].mailboxes[%zu]", i, j);
			copy_day(m->start, jstr(x, "start"), where);
			copy_day(m->end, jstr(x, "end"), where);
			/* a few mailboxes send most of the mail */
			m->weight = 1.0 / (1.0 + (double)cu->nmb) + 0.1 * unit();
			cu->mb[cu->nmb++] = nmbs++;
		}
		cu->subs = xrealloc(NULL, (json_array_size(ss) + 1) * sizeof *cu->subs);
		json_array_foreach(ss, j, x) {
			struct sub *s = &cu->subs[cu->nsubs];
			const char *plan = jstr(x, "plan");
			char where[96];
			int k;
			snprintf(where, sizeof where, "customers[%zu].subscriptions[%zu]", i, j);
			snprintf(s->plan, sizeof s->plan, "%s", plan ? plan : "");
			copy_day(s->start, jstr(x, "start"), where);
			copy_day(s->end, jstr(x, "end"), where);
			s->quota = -1;
			for (k = 0; k < nplans; k++)
				if (!strcmp(plans[k].code, s->plan))
					s->quota = plans[k].quota;
			if (s->quota < 0)
				die("%s: %s.plan: \"%s\" is not in the tariff", file,
				    where, s->plan);
			cu->nsubs++;
		}
		ncusts++;
	}
	json_decref(doc);
}

/* ------------------------------------------------------------- summary */

static void jstr_out(FILE *f, const char *s)
{
	fputc('"', f);
	for (; *s; s++) {
		if (*s == '"' || *s == '\\')
			fprintf(f, "\\%c", *s);
		else if ((unsigned char)*s < 0x20)
			fprintf(f, "\\u%04x", *s);
		else
			fputc(*s, f);
	}
	fputc('"', f);
}

static void write_summary(const char *file, const char *from, const char *to,
			  unsigned long long seed, const char *btz)
{
	FILE *f = fopen(file, "w");
	int m, d, first = 1;
	struct cnt all;
	if (!f)
		die("%s: %s", file, strerror(errno));
	memset(&all, 0, sizeof all);
	fprintf(f, "{\n  \"generator\": \"genpflog\",\n  \"seed\": %llu,\n", seed);
	fprintf(f, "  \"from\": \"%s\",\n  \"to\": \"%s\",\n", from, to);
	fprintf(f, "  \"billing_timezone\": ");
	jstr_out(f, btz);
	fprintf(f, ",\n  \"unit\": \"%s\",\n  \"count_local\": %s,\n",
		unit_message ? "message" : "recipient",
		count_local ? "true" : "false");
	fprintf(f, "  \"by_login_day\": [");
	for (m = 0; m < nsummb; m++)
		for (d = 0; d < nday; d++) {
			const struct cnt *c = &sumtab[(size_t)m * (size_t)nday + (size_t)d];
			if (!c->subm && !c->pick)
				continue;
			fprintf(f, "%s\n    {\"day\": \"%s\", \"login\": ",
				first ? "" : ",", day_name[d]);
			jstr_out(f, mb_login(m));
			fprintf(f, ", \"mailbox\": ");
			jstr_out(f, mb_addr(m));
			if (!synthetic) {
				fprintf(f, ", \"customer\": ");
				jstr_out(f, custs[mbs[m].cust].id);
			} else {
				fprintf(f, ", \"customer\": \"C%d\"", mb_cust(m));
			}
			fprintf(f, ", \"messages\": %u, \"submissions\": %u, "
				"\"pickups\": %u, \"recipients\": %u, \"local\": %u, "
				"\"remote\": %u, \"sent\": %u, \"bounced\": %u, "
				"\"expired\": %u, \"deferred\": %u, \"billable\": %u}",
				c->subm + c->pick, c->subm, c->pick, c->rcpt, c->local,
				c->remote, c->sent, c->bounced, c->expired,
				c->deferred, c->billable);
			first = 0;
			all.subm += c->subm;
			all.pick += c->pick;
			all.rcpt += c->rcpt;
			all.local += c->local;
			all.remote += c->remote;
			all.sent += c->sent;
			all.bounced += c->bounced;
			all.expired += c->expired;
			all.billable += c->billable;
		}
	fprintf(f, "\n  ],\n");
	if (!synthetic) {
		int ci;
		fprintf(f, "  \"by_customer_day\": [");
		first = 1;
		for (ci = 0; ci < ncusts; ci++)
			for (d = 0; d < nday; d++) {
				struct cnt s;
				long q = quota_on(&custs[ci], day_name[d]);
				memset(&s, 0, sizeof s);
				for (m = 0; m < custs[ci].nmb; m++) {
					const struct cnt *c = &sumtab[(size_t)custs[ci].mb[m] *
						(size_t)nday + (size_t)d];
					s.subm += c->subm + c->pick;
					s.rcpt += c->rcpt;
					s.local += c->local;
					s.remote += c->remote;
					s.billable += c->billable;
				}
				if (!s.subm && (q < 0 || d == nday - 1))
					continue;
				fprintf(f, "%s\n    {\"day\": \"%s\", \"customer\": ",
					first ? "" : ",", day_name[d]);
				jstr_out(f, custs[ci].id);
				fprintf(f, ", \"profile\": \"%s\", \"quota\": %ld, "
					"\"messages\": %u, \"recipients\": %u, \"local\": %u, "
					"\"remote\": %u, \"billable\": %u}",
					role_name[custs[ci].role], q, s.subm, s.rcpt,
					s.local, s.remote, s.billable);
				first = 0;
			}
		fprintf(f, "\n  ],\n");
	}
	fprintf(f, "  \"totals\": {\"messages\": %u, \"submissions\": %u, "
		"\"pickups\": %u, \"recipients\": %u, \"local\": %u, \"remote\": %u, "
		"\"sent\": %u, \"bounced\": %u, \"expired\": %u, \"deferred\": 0, "
		"\"billable\": %u},\n",
		all.subm + all.pick, all.subm, all.pick, all.rcpt, all.local,
		all.remote, all.sent, all.bounced, all.expired, all.billable);
	fprintf(f, "  \"not_counted\": {\"inbound\": %llu, \"system_pickups\": %llu, "
		"\"notifications\": %llu, \"reinjected\": %llu, "
		"\"lost_connections\": %llu, \"noqueue_rejects\": %llu, "
		"\"sasl_failures\": %llu, \"expired_messages\": %llu}\n}\n",
		(unsigned long long)tot.inbound, (unsigned long long)tot.sys_pickups,
		(unsigned long long)tot.notices, (unsigned long long)tot.reinjected,
		(unsigned long long)tot.lost, (unsigned long long)tot.noqueue,
		(unsigned long long)tot.saslfail,
		(unsigned long long)tot.expired_msgs);
	if (fclose(f))
		die("%s: %s", file, strerror(errno));
}

/* ----------------------------------------------------------------- main */

static void usage(FILE *f)
{
	fputs("usage: genpflog --registry FILE.json --tariff FILE.json "
	      "--from YYYY-MM-DD --to YYYY-MM-DD [options]\n"
	      "       genpflog --messages N [--from YYYY-MM-DD] [--rate MSG/S] "
	      "[--mailboxes N] [options]\n"
	      "options:\n"
	      "  --seed N              PRNG seed (default 1)\n"
	      "  --format F            syslog (default), rfc3339, journald, docker\n"
	      "  --timezone TZ         zone of the log's wall clock (default "
	      "Europe/Paris)\n"
	      "  --billing-timezone TZ days of --summary (default: the tariff's, "
	      "else Europe/Paris)\n"
	      "  --hostname NAME       default mail.example.net\n"
	      "  --long-queue-ids      enable_long_queue_ids=yes form\n"
	      "  --filter              content filter on 127.0.0.1:10024/10025\n"
	      "  --profile ID=ROLE     force a customer's profile "
	      "(normal, warn, over, runaway)\n"
	      "  --summary FILE        write the expected counts as JSON\n",
	      f);
}

static int parse_day(const char *s, int *y, int *m, int *d)
{
	char extra;
	return s && sscanf(s, "%4d-%2d-%2d%c", y, m, d, &extra) == 3 &&
	       *m >= 1 && *m <= 12 && *d >= 1 && *d <= 31 && strlen(s) == 10;
}

/* Midnights of nd+1 consecutive days from y-m-d in the current TZ. */
static void make_days(int y, int m, int d, int nd)
{
	int i;
	nday = nd;
	day_start = xrealloc(NULL, (size_t)(nd + 1) * sizeof *day_start);
	day_name = xrealloc(NULL, (size_t)(nd + 1) * sizeof *day_name);
	for (i = 0; i <= nd; i++) {
		struct tm tm;
		memset(&tm, 0, sizeof tm);
		tm.tm_year = y - 1900;
		tm.tm_mon = m - 1;
		tm.tm_mday = d + i;
		tm.tm_isdst = -1;
		day_start[i] = (int64_t)mktime(&tm) * US;
		snprintf(day_name[i], sizeof day_name[i], "%04d-%02d-%02d",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday);
	}
}

static long days_between(int y1, int m1, int d1, int y2, int m2, int d2)
{
	struct tm a, b;
	memset(&a, 0, sizeof a);
	memset(&b, 0, sizeof b);
	a.tm_year = y1 - 1900, a.tm_mon = m1 - 1, a.tm_mday = d1, a.tm_hour = 12;
	b.tm_year = y2 - 1900, b.tm_mon = m2 - 1, b.tm_mday = d2, b.tm_hour = 12;
	return (long)((timegm(&b) - timegm(&a)) / 86400);
}

static int rkey_cmp(const void *a, const void *b)
{
	const struct cust *x = *(struct cust *const *)a, *y = *(struct cust *const *)b;
	long qx = x->q0, qy = y->q0;
	if (qx != qy)
		return qx < qy ? -1 : 1;
	return x->rkey < y->rkey ? -1 : x->rkey > y->rkey;
}

int main(int argc, char **argv)
{
	static const struct option lo[] = {
		{"registry", 1, 0, 'r'}, {"tariff", 1, 0, 'T'},
		{"from", 1, 0, 'f'},	 {"to", 1, 0, 't'},
		{"messages", 1, 0, 'n'}, {"seed", 1, 0, 's'},
		{"format", 1, 0, 'F'},	 {"timezone", 1, 0, 'z'},
		{"billing-timezone", 1, 0, 'B'},
		{"hostname", 1, 0, 'H'}, {"long-queue-ids", 0, 0, 'L'},
		{"filter", 0, 0, 'C'},	 {"summary", 1, 0, 'S'},
		{"rate", 1, 0, 'R'},	 {"mailboxes", 1, 0, 'M'},
		{"profile", 1, 0, 'P'},	 {"help", 0, 0, 'h'},
		{0, 0, 0, 0}};
	const char *registry = NULL, *tariff = NULL, *from = NULL, *to = NULL;
	const char *tz = "Europe/Paris", *btz = NULL, *summary = NULL;
	const char *profiles[64];
	int nprof = 0, c, y, m, d, y2, m2, d2, i;
	long long nmsg = -1;
	unsigned long long seed = 1;
	double rate = 12;
	char *end;

	while ((c = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
		switch (c) {
		case 'r': registry = optarg; break;
		case 'T': tariff = optarg; break;
		case 'f': from = optarg; break;
		case 't': to = optarg; break;
		case 'n':
			nmsg = strtoll(optarg, &end, 10);
			if (*end || nmsg < 0)
				goto bad;
			break;
		case 's':
			seed = strtoull(optarg, &end, 10);
			if (*end)
				goto bad;
			break;
		case 'F':
			if (!strcmp(optarg, "syslog")) ofmt = F_SYSLOG;
			else if (!strcmp(optarg, "rfc3339")) ofmt = F_RFC3339;
			else if (!strcmp(optarg, "journald")) ofmt = F_JOURNALD;
			else if (!strcmp(optarg, "docker")) ofmt = F_DOCKER;
			else goto bad;
			break;
		case 'z': tz = optarg; break;
		case 'B': btz = optarg; break;
		case 'H': hostname = optarg; break;
		case 'L': long_ids = 1; break;
		case 'C': use_filter = 1; break;
		case 'S': summary = optarg; break;
		case 'R':
			rate = strtod(optarg, &end);
			if (*end || !(rate > 0))
				goto bad;
			break;
		case 'M':
			syn_nmb = (int)strtol(optarg, &end, 10);
			if (*end || syn_nmb < 10)
				goto bad;
			break;
		case 'P':
			if (nprof < 64 && strchr(optarg, '='))
				profiles[nprof++] = optarg;
			else
				goto bad;
			break;
		case 'h': usage(stdout); return 0;
		default: goto bad;
		}
	}
	if (optind != argc)
		goto bad;
	synthetic = nmsg >= 0;
	if (synthetic == !!registry || (registry && (!tariff || !from || !to)))
		goto bad;
	if (!from)
		from = "2026-09-01";
	if (!parse_day(from, &y, &m, &d) || (to && !parse_day(to, &y2, &m2, &d2)))
		goto bad;

	seed_g = seed;
	rng_state = seed * 0xA24BAED4963EE407ULL + 0x9FB21C651E98DF25ULL;
	snprintf(boot_id, sizeof boot_id, "%016llx%016llx",
		 (unsigned long long)mix(seed, 1, 1),
		 (unsigned long long)mix(seed, 2, 2));
	ino_lo = 0x10000 + (int32_t)below(0x80000);
	ino_hi = 0x100000 + (int32_t)below(0x400000);

	if (tariff)
		load_tariff(tariff);
	if (!btz)
		btz = tariff_tz;
	/* billing-day midnights first, in the billing zone ... */
	if (setenv("TZ", btz, 1))
		die("setenv: %s", strerror(errno));
	tzset();
	if (synthetic) {
		double span = (double)nmsg / rate;
		make_days(y, m, d, (int)(span / 86400) + 2);
		to = day_name[nday];
		nsummb = syn_nmb;
	} else {
		long nd = days_between(y, m, d, y2, m2, d2);
		if (nd <= 0)
			die("--to must be after --from");
		make_days(y, m, d, (int)nd + 1); /* + 1: late qmgr lines */
		nday = (int)nd + 1;
		load_registry(registry);
		nsummb = nmbs;
		/* expiries only when their 5 days fit in the range */
		expire_limit = day_start[nd] - max_queue_time - 86400 * US;
	}
	sumtab = calloc((size_t)nsummb * (size_t)nday + 1, sizeof *sumtab);
	if (!sumtab)
		die("out of memory");
	/* ... then the log's own zone for every time stamp. */
	if (setenv("TZ", tz, 1))
		die("setenv: %s", strerror(errno));
	tzset();

	if (!synthetic) {
		struct cust **order = xrealloc(NULL, (size_t)(ncusts + 1) * sizeof *order);
		int k = 0;
		for (i = 0; i < ncusts; i++) {
			custs[i].rkey = unit();
			custs[i].role = R_NORMAL;
			custs[i].q0 = -1;
			for (d = 0; d < nday - 1 && custs[i].q0 < 0; d++)
				custs[i].q0 = quota_on(&custs[i], day_name[d]);
			if (custs[i].q0 >= 0)
				order[k++] = &custs[i];
		}
		qsort(order, (size_t)k, sizeof *order, rkey_cmp);
		if (k > 0) order[0]->role = R_WARN;
		if (k > 1) order[1]->role = R_OVER;
		if (k > 2) order[2]->role = R_RUNAWAY;
		free(order);
		for (i = 0; i < nprof; i++) {
			const char *eq = strchr(profiles[i], '=');
			int r, ci, found = 0;
			for (r = 0; r < 4 && strcmp(eq + 1, role_name[r]); r++)
				;
			if (r == 4)
				goto bad;
			for (ci = 0; ci < ncusts; ci++)
				if (!strncmp(custs[ci].id, profiles[i],
					     (size_t)(eq - profiles[i])) &&
				    !custs[ci].id[eq - profiles[i]]) {
					custs[ci].role = (enum role)r;
					found = 1;
				}
			if (!found)
				die("--profile %s: no such customer", profiles[i]);
		}
		for (i = 0; i < ncusts; i++)
			fprintf(stderr, "genpflog: %s: %s\n", custs[i].id,
				role_name[custs[i].role]);
		for (d = 0; d < nday - 1; d++)
			plan_day(d);
	} else {
		int64_t t = day_start[0] + 60 * US;
		long long k;
		for (k = 0; k < nmsg; k++) {
			double u = unit();
			struct job j;
			memset(&j, 0, sizeof j);
			t += (int64_t)(-log(1.0 - unit() * 0.999999) / rate * US) + 1;
			j.t = t;
			j.mb = (int)((double)syn_nmb * unit() * unit());
			if (u < 0.40) {
				int n = nrcpt_draw(0), nl = 0, q;
				for (q = 0; q < n; q++)
					nl += chance(0.12);
				j.kind = chance(0.01) ? J_PICKUP_USER : J_SUBMIT;
				j.nremote = n - nl;
				j.nlocal = nl;
			} else if (u < 0.985) {
				j.kind = J_INBOUND;
				j.mb = (int)below((uint32_t)syn_nmb);
			} else {
				j.kind = J_PICKUP_SYS;
			}
			run_job(&j);
			if (chance(0.03)) {
				j.kind = J_REJECT;
				run_job(&j);
			}
			if (chance(0.01)) {
				j.kind = J_SASLFAIL;
				run_job(&j);
			}
			if (chance(0.002)) {
				j.kind = J_LOST;
				run_job(&j);
			}
		}
	}
	drain(INT64_MAX);
	oflush();
	if (fflush(stdout) || ferror(stdout))
		die("stdout: write error");
	if (summary)
		write_summary(summary, from, to, seed, btz);
	return 0;
bad:
	usage(stderr);
	return 2;
}
