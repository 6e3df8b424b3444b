/*
 * pflog — Postfix log line parser (see pflog.h for formats and ownership).
 *
 * The plain syslog and RFC 3339 paths are the hot ones (millions of lines
 * per second): no regex, no allocation, memchr/memcmp scanning, every
 * pointer checked against the end of the line before it is read.  The JSON
 * formats go through a small tolerant extractor that decodes only the
 * members it needs into the line struct's fixed buffers.
 *
 * Message formats follow Postfix's sources: smtpd.c (client=, reject
 * whatsup), smtpd_check.c log_whatsup(), smtpd_sasl_glue.c (SASL failed),
 * pickup.c, qmgr_active.c (expired), log_adhoc.c (to=, orig_to=, relay=,
 * conn_use=, delay=, delays=, dsn=, status=), bounce_notify_*.c, and
 * global/mail_queue.h for queue ids (MQID_LG_*: the last 'z' at index 10 or
 * more separates a long id's time part from its inode part).
 */
#include "pflog.h"

#include <string.h>

#define S(lit) (lit), (sizeof(lit) - 1)

static int has_prefix(const char *p, const char *e, const char *lit,
		      size_t n)
{
	return (size_t)(e - p) >= n && memcmp(p, lit, n) == 0;
}

static int str_eq(struct pflog_str s, const char *lit, size_t n)
{
	return s.n == n && memcmp(s.p, lit, n) == 0;
}

static int is_digit(int c)
{
	return c >= '0' && c <= '9';
}

/* Character classes of queue ids, by table: the scans of ids run on
 * nearly every line. */
enum { CC_ALNUM = 1, CC_HEX = 2, CC_VOWEL = 4, CC_Z = 8, CC_TAGEND = 16 };
#define CC_(c)                                                              \
	((((c) >= '0' && (c) <= '9') ? CC_ALNUM | CC_HEX : 0) |            \
	 (((c) >= 'A' && (c) <= 'F') ? CC_HEX : 0) |                       \
	 ((((c) >= 'A' && (c) <= 'Z') || ((c) >= 'a' && (c) <= 'z')) ?      \
		  CC_ALNUM : 0) |                                           \
	 (((c) == 'A' || (c) == 'E' || (c) == 'I' || (c) == 'O' ||          \
	   (c) == 'U' || (c) == 'a' || (c) == 'e' || (c) == 'i' ||          \
	   (c) == 'o' || (c) == 'u') ? CC_VOWEL : 0) |                      \
	 ((c) == 'z' ? CC_Z : 0) |                                          \
	 (((c) == '[' || (c) == ':' || (c) == ' ') ? CC_TAGEND : 0))
#define CC4_(c) CC_(c), CC_((c) + 1), CC_((c) + 2), CC_((c) + 3)
#define CC16_(c) CC4_(c), CC4_((c) + 4), CC4_((c) + 8), CC4_((c) + 12)
#define CC64_(c) CC16_(c), CC16_((c) + 16), CC16_((c) + 32), CC16_((c) + 48)
static const unsigned char cclass[256] = {CC64_(0), CC64_(64), CC64_(128),
					  CC64_(192)};

static int is_alnum(int c)
{
	return cclass[(unsigned char)c] & CC_ALNUM;
}

static struct pflog_str mkstr(const char *p, const char *e)
{
	struct pflog_str s = {p, (size_t)(e - p)};
	return s;
}

/* Read 1..maxd decimal digits; returns the end or NULL. */
static const char *num(const char *p, const char *e, int maxd, long long *v)
{
	long long x = 0;
	int d = 0;

	while (p < e && is_digit(*p) && d < maxd) {
		x = x * 10 + (*p++ - '0');
		d++;
	}
	if (d == 0 || (p < e && is_digit(*p)))
		return NULL;
	*v = x;
	return p;
}

/* Exactly n digits. */
static const char *fixed(const char *p, const char *e, int n, int *v)
{
	int x = 0;

	if (e - p < n)
		return NULL;
	for (int i = 0; i < n; i++) {
		if (!is_digit(p[i]))
			return NULL;
		x = x * 10 + (p[i] - '0');
	}
	*v = x;
	return p + n;
}

/* ---- time ---------------------------------------------------------- */

int64_t pflog_civil_to_epoch(int year, int mon, int mday, int hour, int min,
			     int sec)
{
	/* Howard Hinnant's days_from_civil. */
	int64_t y = (int64_t)year - (mon <= 2);
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	int64_t yoe = y - era * 400;
	int64_t mp = (mon + 9) % 12;
	int64_t doy = (153 * mp + 2) / 5 + mday - 1;
	int64_t doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	int64_t days = era * 146097 + doe - 719468;

	return days * 86400 + hour * 3600 + min * 60 + sec;
}

void pflog_epoch_to_civil(int64_t secs, struct pflog_time *t)
{
	int64_t days = secs >= 0 ? secs / 86400 : (secs - 86399) / 86400;
	int64_t rem = secs - days * 86400;
	int64_t z = days + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t d = doy - (153 * mp + 2) / 5 + 1;
	int64_t m = mp < 10 ? mp + 3 : mp - 9;

	t->year = (int)(yoe + era * 400 + (m <= 2));
	t->mon = (int)m;
	t->mday = (int)d;
	t->hour = (int)(rem / 3600);
	t->min = (int)(rem / 60 % 60);
	t->sec = (int)(rem % 60);
}

static int days_in_month(int y, int m)
{
	static const int dm[12] = {31, 28, 31, 30, 31, 30,
				   31, 31, 30, 31, 30, 31};
	if (m == 2 && ((y % 4 == 0 && y % 100 != 0) || y % 400 == 0))
		return 29;
	return dm[m - 1];
}

static int clock_ok(const struct pflog_time *t)
{
	return t->hour <= 23 && t->min <= 59 && t->sec <= 60;
}

/* Two digits at p (the caller checked there are two bytes), or -1. */
static int dig2(const char *p)
{
	unsigned a = (unsigned)(unsigned char)p[0] - '0';
	unsigned b = (unsigned)(unsigned char)p[1] - '0';

	return a > 9 || b > 9 ? -1 : (int)(a * 10 + b);
}

/* "hh:mm:ss[.frac]" */
static const char *parse_clock(const char *p, const char *e,
			       struct pflog_time *t)
{
	int h, m, sec;

	/* The usual shape at once; anything else the careful way (which
	 * leaves the same fields set on failure as it always did). */
	if (e - p >= 8 && p[2] == ':' && p[5] == ':' && (h = dig2(p)) >= 0 &&
	    (m = dig2(p + 3)) >= 0 && (sec = dig2(p + 6)) >= 0) {
		t->hour = h;
		t->min = m;
		t->sec = sec;
		p += 8;
	} else if (!(p = fixed(p, e, 2, &t->hour)) || p >= e || *p++ != ':' ||
		   !(p = fixed(p, e, 2, &t->min)) || p >= e || *p++ != ':' ||
		   !(p = fixed(p, e, 2, &t->sec))) {
		return NULL;
	}
	if (!clock_ok(t))
		return NULL;
	if (p < e && (*p == '.' || *p == ',')) {
		int d = 0, us = 0, a, b, c;

		p++;
		/* microseconds, the usual precision: at once */
		if (e - p >= 6 && (a = dig2(p)) >= 0 && (b = dig2(p + 2)) >= 0 &&
		    (c = dig2(p + 4)) >= 0 && (p + 6 == e || !is_digit(p[6]))) {
			t->usec = a * 10000 + b * 100 + c;
			return p + 6;
		}
		while (p < e && is_digit(*p)) {
			if (d < 6) {
				us = us * 10 + (*p - '0');
				d++;
			}
			p++;
		}
		if (d == 0)
			return NULL;
		while (d++ < 6)
			us *= 10;
		t->usec = us;
	}
	return p;
}

/* RFC 3339: "YYYY-MM-DDThh:mm:ss[.frac](Z|+hh:mm|-hh:mm)". */
static const char *parse_rfc3339(const char *p, const char *e,
				 struct pflog_time *t)
{
	int off = 0, oh, om, y1, y2, mo, d;

	if (e - p >= 11 && p[4] == '-' && p[7] == '-' &&
	    (p[10] == 'T' || p[10] == 't') && (y1 = dig2(p)) >= 0 &&
	    (y2 = dig2(p + 2)) >= 0 && (mo = dig2(p + 5)) >= 0 &&
	    (d = dig2(p + 8)) >= 0) {
		/* the usual shape at once (same fields as below) */
		t->year = y1 * 100 + y2;
		t->mon = mo;
		t->mday = d;
		p += 10;
	} else if (!(p = fixed(p, e, 4, &t->year)) || p >= e || *p++ != '-' ||
	    !(p = fixed(p, e, 2, &t->mon)) || p >= e || *p++ != '-' ||
	    !(p = fixed(p, e, 2, &t->mday)) || p >= e ||
	    (*p != 'T' && *p != 't'))
		return NULL;
	if (t->year < 1970 || t->mon < 1 || t->mon > 12 || t->mday < 1 ||
	    t->mday > days_in_month(t->year, t->mon))
		return NULL;
	if (!(p = parse_clock(p + 1, e, t)) || p >= e)
		return NULL;
	if (*p == 'Z' || *p == 'z') {
		p++;
	} else if (*p == '+' || *p == '-') {
		int sign = *p == '-' ? -1 : 1;

		if (!(p = fixed(p + 1, e, 2, &oh)) || p >= e || *p++ != ':' ||
		    !(p = fixed(p, e, 2, &om)) || oh > 23 || om > 59)
			return NULL;
		off = sign * (oh * 3600 + om * 60);
	} else {
		return NULL;
	}
	t->has_zone = 1;
	t->utc_off = off;
	t->epoch_us = (pflog_civil_to_epoch(t->year, t->mon, t->mday, t->hour,
					    t->min, t->sec) -
		       off) * 1000000 + t->usec;
	return p;
}

static int month_of(const char *p)
{
	/* Three letters as one number: one compare per month, no calls. */
	static const uint32_t names[12] = {
		'J' | 'a' << 8 | 'n' << 16, 'F' | 'e' << 8 | 'b' << 16,
		'M' | 'a' << 8 | 'r' << 16, 'A' | 'p' << 8 | 'r' << 16,
		'M' | 'a' << 8 | 'y' << 16, 'J' | 'u' << 8 | 'n' << 16,
		'J' | 'u' << 8 | 'l' << 16, 'A' | 'u' << 8 | 'g' << 16,
		'S' | 'e' << 8 | 'p' << 16, 'O' | 'c' << 8 | 't' << 16,
		'N' | 'o' << 8 | 'v' << 16, 'D' | 'e' << 8 | 'c' << 16};
	uint32_t k = (uint32_t)(unsigned char)p[0] |
		     (uint32_t)(unsigned char)p[1] << 8 |
		     (uint32_t)(unsigned char)p[2] << 16;

	for (int i = 0; i < 12; i++)
		if (names[i] == k)
			return i + 1;
	return 0;
}

/* "Nov 23 07:12:01" / "Nov  3 07:12:01" / "Nov 03 07:12:01" */
static const char *parse_bsd_time(const char *p, const char *e,
				  struct pflog_time *t)
{
	long long d;

	if (e - p < 15 || !(t->mon = month_of(p)) || p[3] != ' ')
		return NULL;
	p += 4;
	if (*p == ' ')
		p++;
	if (!(p = num(p, e, 2, &d)) || d < 1 || d > 31 || p >= e ||
	    *p++ != ' ')
		return NULL;
	t->mday = (int)d;
	return parse_clock(p, e, t);
}

/* ---- tag and daemon ------------------------------------------------- */

static enum pflog_daemon daemon_of(struct pflog_str d)
{
	static const struct {
		const char *name;
		size_t n;
		enum pflog_daemon d;
	} tab[] = {
		{S("smtpd"), PFLOG_D_SMTPD},	{S("smtp"), PFLOG_D_SMTP},
		{S("lmtp"), PFLOG_D_LMTP},		{S("qmgr"), PFLOG_D_QMGR},
		{S("oqmgr"), PFLOG_D_QMGR},	{S("pickup"), PFLOG_D_PICKUP},
		{S("cleanup"), PFLOG_D_CLEANUP},	{S("bounce"), PFLOG_D_BOUNCE},
		{S("local"), PFLOG_D_LOCAL},	{S("virtual"), PFLOG_D_VIRTUAL},
		{S("pipe"), PFLOG_D_PIPE},		{S("error"), PFLOG_D_ERROR},
		{S("retry"), PFLOG_D_ERROR},	{S("discard"), PFLOG_D_DISCARD},
		{S("postsuper"), PFLOG_D_POSTSUPER},
		{S("postscreen"), PFLOG_D_POSTSCREEN},
		{S("anvil"), PFLOG_D_OTHER},	{S("master"), PFLOG_D_OTHER},
		{S("scache"), PFLOG_D_OTHER},	{S("tlsmgr"), PFLOG_D_OTHER},
		{S("postdrop"), PFLOG_D_OTHER},	{S("sendmail"), PFLOG_D_OTHER},
		{S("showq"), PFLOG_D_OTHER},	{S("trivial-rewrite"), PFLOG_D_OTHER},
		{S("verify"), PFLOG_D_OTHER},	{S("proxymap"), PFLOG_D_OTHER},
		{S("dnsblog"), PFLOG_D_OTHER},	{S("tlsproxy"), PFLOG_D_OTHER},
		{S("postqueue"), PFLOG_D_OTHER},	{S("postlogd"), PFLOG_D_OTHER},
		{S("flush"), PFLOG_D_OTHER},	{S("spawn"), PFLOG_D_OTHER},
		{S("postfix-script"), PFLOG_D_OTHER},
		{S("postmap"), PFLOG_D_OTHER},	{S("postalias"), PFLOG_D_OTHER},
		{S("postlog"), PFLOG_D_OTHER},	{S("postmulti"), PFLOG_D_OTHER},
		{S("postconf"), PFLOG_D_OTHER},	{S("postkick"), PFLOG_D_OTHER},
	};

	if (d.n == 0)
		return PFLOG_D_COUNT;
	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (d.n == tab[i].n && d.p[0] == tab[i].name[0] &&
		    memcmp(d.p + 1, tab[i].name + 1, d.n - 1) == 0)
			return tab[i].d;
	return PFLOG_D_COUNT; /* not a Postfix program name */
}

/*
 * Decide from the tag whether this is Postfix, and split it.  Postfix's tag
 * is "$syslog_name/$process": "postfix/smtpd", "postfix/submission/smtpd",
 * or any custom syslog_name ("mx-out/smtp").  A tag counts as Postfix when
 * it is "postfix" alone (RFC 5424 cut), or has a '/' and either starts with
 * "postfix" or ends in a Postfix program name.
 */
static int split_tag(struct pflog_line *l)
{
	const char *p = l->tag.p, *e = p + l->tag.n;
	const char *first = memchr(p, '/', l->tag.n);
	const char *last;
	enum pflog_daemon d;

	if (!first) {
		if (str_eq(l->tag, S("postfix"))) {
			l->daemon = PFLOG_D_UNKNOWN;
			return 1;
		}
		return 0;
	}
	last = e;
	while (last > p && last[-1] != '/')
		last--;
	l->daemon_name = mkstr(last, e);
	d = daemon_of(l->daemon_name);
	if (d == PFLOG_D_COUNT) {
		if (!has_prefix(p, e, S("postfix")))
			return 0;
		d = PFLOG_D_OTHER;
	}
	l->daemon = d;
	if (last - 1 > first)
		l->service = mkstr(first + 1, last - 1);
	return 1;
}

/* After the host: "tag[pid]: text" or "tag: text". */
static int parse_tag_msg(struct pflog_line *l, const char *p, const char *e)
{
	const char *t = p;
	long long pid;

	while (p < e && !(cclass[(unsigned char)*p] & CC_TAGEND))
		p++;
	if (p == t || p >= e)
		return 0;
	l->tag = mkstr(t, p);
	if (*p == '[') {
		const char *q = num(p + 1, e, 10, &pid);

		if (!q || q >= e || *q != ']')
			return 0;
		l->pid = (long)pid;
		p = q + 1;
	}
	if (p >= e || *p != ':')
		return 0;
	p++;
	if (p < e && *p == ' ')
		p++;
	l->text = mkstr(p, e);
	return 1;
}

static const char *word(const char *p, const char *e, struct pflog_str *w)
{
	const char *s = p;
	const char *sp = memchr(p, ' ', (size_t)(e - p));

	p = sp ? sp : e;
	*w = mkstr(s, p);
	return p;
}

/* syslog / rfc3339 / postlogd: TIME SP HOST SP TAG[PID]: TEXT */
static int parse_plain(struct pflog_line *l, const char *p, const char *e,
		       enum pflog_format fmt, int defer)
{
	const char *q;

	if (fmt == PFLOG_FMT_RFC3339 ||
	    (fmt == PFLOG_FMT_AUTO && p < e && is_digit(*p))) {
		l->format = PFLOG_FMT_RFC3339;
		/* deferred: the timestamp is the word before the first
		 * space (it has none), read by pflog_finish_time */
		if (defer && (q = memchr(p, ' ', (size_t)(e - p)))) {
			l->time_deferred = 1;
			l->time_text = mkstr(p, q);
		} else {
			q = parse_rfc3339(p, e, &l->time);
		}
	} else {
		l->format = PFLOG_FMT_SYSLOG;
		q = parse_bsd_time(p, e, &l->time);
	}
	if (!q || q >= e || *q != ' ') {
		l->bad = PFLOG_BAD_TIME;
		return 0;
	}
	p = q + 1;
	while (p < e && *p == ' ')
		p++;
	p = word(p, e, &l->host);
	if (l->host.n == 0 || p >= e || !parse_tag_msg(l, p + 1, e)) {
		l->bad = PFLOG_BAD_HEADER;
		return 0;
	}
	return 1;
}

/* <PRI>1 TIMESTAMP HOST APP PROCID MSGID SD [MSG] */
static int parse_5424(struct pflog_line *l, const char *p, const char *e)
{
	struct pflog_str w;
	long long v;

	l->format = PFLOG_FMT_RFC5424;
	if (p >= e || *p != '<' || !(p = num(p + 1, e, 3, &v)) ||
	    !has_prefix(p, e, S(">1 "))) {
		l->bad = PFLOG_BAD_HEADER;
		return 0;
	}
	p += 3;
	if (has_prefix(p, e, S("- "))) {
		l->bad = PFLOG_BAD_TIME; /* NILVALUE: no usable time */
		return 0;
	}
	if (!(p = parse_rfc3339(p, e, &l->time)) || p >= e || *p != ' ') {
		l->bad = PFLOG_BAD_TIME;
		return 0;
	}
	p = word(p + 1, e, &l->host);
	if (p >= e)
		goto bad;
	p = word(p + 1, e, &l->tag);
	if (p >= e)
		goto bad;
	p = word(p + 1, e, &w); /* PROCID */
	if (num(w.p, w.p + w.n, 10, &v) == w.p + w.n && w.n)
		l->pid = (long)v;
	if (p >= e)
		goto bad;
	p = word(p + 1, e, &w); /* MSGID */
	if (p >= e)
		goto bad;
	p++;
	/* STRUCTURED-DATA: "-" or one or more [id param="v\]"...] */
	if (p < e && *p == '-') {
		p++;
	} else {
		while (p < e && *p == '[') {
			int inq = 0;

			for (p++; p < e; p++) {
				if (inq && *p == '\\' && p + 1 < e)
					p++;
				else if (*p == '"')
					inq = !inq;
				else if (!inq && *p == ']')
					break;
			}
			if (p >= e)
				goto bad;
			p++;
		}
	}
	if (p < e && *p == ' ')
		p++;
	if (has_prefix(p, e, S("\xEF\xBB\xBF"))) /* BOM */
		p += 3;
	if (l->host.n == 0 || l->tag.n == 0 || str_eq(l->host, S("-")))
		goto bad;
	l->text = mkstr(p, e);
	return 1;
bad:
	l->bad = PFLOG_BAD_HEADER;
	return 0;
}

/* ---- JSON ------------------------------------------------------------ */

static const char *json_ws(const char *p, const char *e)
{
	while (p < e && (*p == ' ' || *p == '\t' || *p == '\r' || *p == '\n'))
		p++;
	return p;
}

static int hexval(int c)
{
	if (is_digit(c))
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static const char *hex4(const char *p, const char *e, unsigned *v)
{
	unsigned x = 0;

	if (e - p < 4)
		return NULL;
	for (int i = 0; i < 4; i++) {
		int h = hexval(p[i]);

		if (h < 0)
			return NULL;
		x = x << 4 | (unsigned)h;
	}
	*v = x;
	return p + 4;
}

static void put(char *out, size_t cap, size_t *n, int *trunc, int c)
{
	if (*n < cap)
		out[(*n)++] = (char)c;
	else
		*trunc = 1;
}

/* Decode the JSON string at p (at its '"') into out[0..cap); returns the
 * position after the closing quote, or NULL.  Invalid UTF-8 is copied as
 * is; bytes past cap are dropped and *trunc set. */
static const char *json_string(const char *p, const char *e, char *out,
			       size_t cap, size_t *outn, int *trunc)
{
	size_t n = 0;

	if (p >= e || *p != '"')
		return NULL;
	for (p++; p < e; p++) {
		unsigned c = (unsigned char)*p, u, u2;

		if (c == '"') {
			*outn = n;
			return p + 1;
		}
		if (c != '\\') {
			if (out) {
				/* a run of plain bytes at once */
				const char *s = p;

				while (p + 1 < e && p[1] != '"' && p[1] != '\\')
					p++;
				size_t run = (size_t)(p - s + 1);
				size_t room = cap - n;

				if (run > room) {
					*trunc = 1;
					run = room;
				}
				memcpy(out + n, s, run);
				n += run;
			} else {
				const char *q = p + 1;
				while (q < e && *q != '"' && *q != '\\')
					q++;
				p = q - 1;
			}
			continue;
		}
		if (++p >= e)
			return NULL;
		switch (*p) {
		case '"': case '\\': case '/':
			c = (unsigned char)*p; break;
		case 'b': c = '\b'; break;
		case 'f': c = '\f'; break;
		case 'n': c = '\n'; break;
		case 'r': c = '\r'; break;
		case 't': c = '\t'; break;
		case 'u':
			if (!(p = hex4(p + 1, e, &u)))
				return NULL;
			p--;
			if (u >= 0xD800 && u <= 0xDBFF &&
			    has_prefix(p + 1, e, S("\\u")) &&
			    hex4(p + 3, e, &u2) && u2 >= 0xDC00 &&
			    u2 <= 0xDFFF) {
				u = 0x10000 + ((u - 0xD800) << 10) +
				    (u2 - 0xDC00);
				p += 6;
			}
			if (!out)
				continue;
			if (u < 0x80) {
				put(out, cap, &n, trunc, (int)u);
			} else if (u < 0x800) {
				put(out, cap, &n, trunc, 0xC0 | (u >> 6));
				put(out, cap, &n, trunc, 0x80 | (u & 0x3F));
			} else if (u < 0x10000) {
				put(out, cap, &n, trunc, 0xE0 | (u >> 12));
				put(out, cap, &n, trunc,
				    0x80 | ((u >> 6) & 0x3F));
				put(out, cap, &n, trunc, 0x80 | (u & 0x3F));
			} else {
				put(out, cap, &n, trunc, 0xF0 | (u >> 18));
				put(out, cap, &n, trunc,
				    0x80 | ((u >> 12) & 0x3F));
				put(out, cap, &n, trunc,
				    0x80 | ((u >> 6) & 0x3F));
				put(out, cap, &n, trunc, 0x80 | (u & 0x3F));
			}
			continue;
		default:
			return NULL;
		}
		if (out)
			put(out, cap, &n, trunc, (int)c);
	}
	return NULL;
}

/* Skip any JSON value; depth-limited so hostile nesting cannot recurse. */
static const char *json_skip(const char *p, const char *e)
{
	size_t n;
	int t, depth = 0;

	do {
		p = json_ws(p, e);
		if (p >= e)
			return NULL;
		if (*p == '"') {
			if (!(p = json_string(p, e, NULL, 0, &n, &t)))
				return NULL;
		} else if (*p == '{' || *p == '[') {
			if (++depth > 64)
				return NULL;
			p++;
			continue;
		} else if (*p == '}' || *p == ']') {
			if (depth == 0)
				return NULL;
			depth--;
			p++;
		} else if (*p == ',' || *p == ':') {
			if (depth == 0)
				return NULL;
			p++;
			continue;
		} else {
			const char *s = p;

			while (p < e && (is_alnum(*p) || *p == '-' ||
					 *p == '+' || *p == '.'))
				p++;
			if (p == s)
				return NULL;
		}
	} while (depth > 0);
	return p;
}

/* A journald MESSAGE that was not valid UTF-8: [104,101,...]. */
static const char *json_bytes(const char *p, const char *e, char *out,
			      size_t cap, size_t *outn, int *trunc)
{
	size_t n = 0;
	long long v;

	p = json_ws(p + 1, e);
	if (p < e && *p == ']') {
		*outn = 0;
		return p + 1;
	}
	for (;;) {
		p = json_ws(p, e);
		if (!(p = num(p, e, 3, &v)) || v > 255)
			return NULL;
		put(out, cap, &n, trunc, (int)v);
		p = json_ws(p, e);
		if (p >= e)
			return NULL;
		if (*p == ']')
			break;
		if (*p++ != ',')
			return NULL;
	}
	*outn = n;
	return p + 1;
}

enum { J_MESSAGE, J_TS, J_HOST, J_IDENT, J_SPID, J_PID, J_LOG, J_TIME, J_N };

struct jfield {
	const char *key;
	size_t keyn;
};

static const struct jfield jkeys[J_N] = {
	[J_MESSAGE] = {S("MESSAGE")},
	[J_TS] = {S("__REALTIME_TIMESTAMP")},
	[J_HOST] = {S("_HOSTNAME")},
	[J_IDENT] = {S("SYSLOG_IDENTIFIER")},
	[J_SPID] = {S("SYSLOG_PID")},
	[J_PID] = {S("_PID")},
	[J_LOG] = {S("log")},
	[J_TIME] = {S("time")},
};

static int parse_json(struct pflog_line *l, const char *p, const char *e,
		      enum pflog_format fmt)
{
	struct pflog_str val[J_N] = {{NULL, 0}};
	int seen[J_N] = {0};
	char small[4][40]; /* TS, SPID, PID, TIME */
	int trunc = 0;

	p = json_ws(p, e);
	if (p >= e || *p != '{')
		goto bad;
	p = json_ws(p + 1, e);
	if (p < e && *p == '}')
		goto bad;
	for (;;) {
		const char *k, *ke;
		size_t n = 0;
		int f = -1;

		p = json_ws(p, e);
		if (p >= e || *p != '"')
			goto bad;
		k = p + 1;
		ke = memchr(k, '"', (size_t)(e - k));
		if (!ke)
			goto bad;
		for (int i = 0; i < J_N; i++)
			if ((size_t)(ke - k) == jkeys[i].keyn &&
			    memcmp(k, jkeys[i].key, jkeys[i].keyn) == 0)
				f = i;
		if (memchr(k, '\\', (size_t)(ke - k))) {
			/* an escaped key is none of ours; skip it */
			size_t kn;
			int kt;

			f = -1;
			if (!(ke = json_string(p, e, NULL, 0, &kn, &kt)))
				goto bad;
			ke--;
		}
		p = json_ws(ke + 1, e);
		if (p >= e || *p != ':')
			goto bad;
		p = json_ws(p + 1, e);
		if (f >= 0 && !seen[f] && p < e && (*p == '"' || *p == '[')) {
			char *out;
			size_t cap;
			int *tr = &trunc, dummy = 0;

			switch (f) {
			case J_MESSAGE: case J_LOG:
				out = l->buf.msg; cap = sizeof(l->buf.msg);
				break;
			case J_HOST:
				out = l->buf.host; cap = sizeof(l->buf.host);
				tr = &dummy;
				break;
			case J_IDENT:
				out = l->buf.ident;
				cap = sizeof(l->buf.ident);
				tr = &dummy;
				break;
			case J_TS: out = small[0]; cap = 40; tr = &dummy; break;
			case J_SPID: out = small[1]; cap = 40; tr = &dummy; break;
			case J_PID: out = small[2]; cap = 40; tr = &dummy; break;
			default: out = small[3]; cap = 40; tr = &dummy; break;
			}
			if (*p == '"')
				p = json_string(p, e, out, cap, &n, tr);
			else if (f == J_MESSAGE || f == J_LOG)
				p = json_bytes(p, e, out, cap, &n, tr);
			else
				p = json_skip(p, e), out = NULL;
			if (!p)
				goto bad;
			if (out) {
				val[f].p = out;
				val[f].n = n;
				seen[f] = 1;
			}
		} else {
			if (!(p = json_skip(p, e)))
				goto bad;
		}
		p = json_ws(p, e);
		if (p >= e)
			goto bad;
		if (*p == '}')
			break;
		if (*p++ != ',')
			goto bad;
	}
	l->truncated = trunc;

	if (fmt == PFLOG_FMT_DOCKER ||
	    (fmt == PFLOG_FMT_AUTO && seen[J_LOG] && !seen[J_MESSAGE])) {
		struct pflog_time dt = {0};
		const char *ie;

		l->format = PFLOG_FMT_DOCKER;
		if (!seen[J_LOG])
			goto bad;
		ie = val[J_LOG].p + val[J_LOG].n;
		while (ie > val[J_LOG].p && (ie[-1] == '\n' || ie[-1] == '\r'))
			ie--;
		if (!parse_plain(l, val[J_LOG].p, ie, PFLOG_FMT_AUTO, 0)) {
			/* the container's other output (supervisord, ...) */
			l->format = PFLOG_FMT_DOCKER;
			l->bad = PFLOG_BAD_NONE;
			return -1;
		}
		l->format = PFLOG_FMT_DOCKER;
		if (!l->time.has_zone && seen[J_TIME]) {
			const char *te = val[J_TIME].p + val[J_TIME].n;

			if (parse_rfc3339(val[J_TIME].p, te, &dt) != te) {
				l->bad = PFLOG_BAD_TIME;
				return 0;
			}
			l->time = dt;
		}
		return 1;
	}

	l->format = PFLOG_FMT_JOURNAL;
	if (!seen[J_MESSAGE] || !seen[J_TS])
		goto bad;
	{
		const char *te = val[J_TS].p + val[J_TS].n;
		long long us = 0;
		struct pflog_time jt = {0};
		struct pflog_str m = val[J_MESSAGE];

		if (num(val[J_TS].p, te, 18, &us) != te) {
			l->bad = PFLOG_BAD_TIME;
			return 0;
		}
		pflog_epoch_to_civil(us / 1000000, &jt);
		jt.usec = (int)(us % 1000000);
		jt.has_zone = 1;
		jt.epoch_us = us;
		if (seen[J_IDENT]) {
			l->tag = val[J_IDENT];
			l->host = val[J_HOST];
			l->text = m;
			struct pflog_str pid = seen[J_SPID] ? val[J_SPID] :
					       val[J_PID];
			long long v;

			if (pid.n &&
			    num(pid.p, pid.p + pid.n, 10, &v) == pid.p + pid.n)
				l->pid = (long)v;
		}
		/* Postfix logging to stdout under systemd: MESSAGE is a whole
		 * syslog line and the identifier is the unit's program. */
		if (!seen[J_IDENT] || !split_tag(l)) {
			struct pflog_line save; /* header fields only */
			int ok;

			memcpy(&save, l, offsetof(struct pflog_line, buf));

			memset(l, 0, offsetof(struct pflog_line, buf));
			l->pid = -1;
			ok = parse_plain(l, m.p, m.p + m.n, PFLOG_FMT_AUTO, 0);
			if (!ok || !split_tag(l)) {
				memcpy(l, &save,
				       offsetof(struct pflog_line, buf));
				l->daemon = PFLOG_D_UNKNOWN;
				l->daemon_name.n = 0;
				l->service.n = 0;
				l->format = PFLOG_FMT_JOURNAL;
				if (!seen[J_IDENT]) {
					l->bad = PFLOG_BAD_JSON;
					return 0;
				}
				l->time = jt;
				return -1; /* not postfix */
			}
			l->format = PFLOG_FMT_JOURNAL;
			if (!l->time.has_zone)
				l->time = jt;
			if (l->host.n == 0)
				l->host = val[J_HOST];
			return 2; /* tag already split */
		}
		l->time = jt;
		return 2;
	}
bad:
	l->format = fmt == PFLOG_FMT_DOCKER ? PFLOG_FMT_DOCKER :
					      PFLOG_FMT_JOURNAL;
	l->bad = PFLOG_BAD_JSON;
	return 0;
}

/* ---- message text ------------------------------------------------------ */

/* The queue-id decision from a scan of n bytes: the AND and the OR of
 * their classes and the position of the last 'z'. */
static int qid_judge(size_t n, unsigned all, unsigned any, size_t z,
		     int *is_long)
{
	if (n < 6 || n > PFLOG_QID_MAX || !(all & CC_ALNUM))
		return 0;
	if (all & CC_HEX) {
		if (is_long)
			*is_long = 0;
		return 1;
	}
	/* Long form: base-52 "safe" alphabet (digits and consonants). */
	if (z < 10 || z + 1 >= n || (any & CC_VOWEL))
		return 0;
	if (is_long)
		*is_long = 1;
	return 1;
}

int pflog_qid_valid(const char *p, size_t n, int *is_long)
{
	unsigned all = 0xff, any = 0;
	size_t z = 0;

	if (n < 6 || n > PFLOG_QID_MAX)
		return 0;
	for (size_t i = 0; i < n; i++) {
		unsigned k = cclass[(unsigned char)p[i]];

		all &= k;
		any |= k;
		if (k & CC_Z)
			z = i;
	}
	return qid_judge(n, all, any, z, is_long);
}

struct pflog_str pflog_addr_domain(struct pflog_str a)
{
	struct pflog_str d = {a.p, 0};

	for (size_t i = a.n; i > 0; i--)
		if (a.p[i - 1] == '@') {
			d.p = a.p + i;
			d.n = a.n - i;
			break;
		}
	return d;
}

int pflog_addr_is_loopback(struct pflog_str a)
{
	const char *p = a.p, *e = a.p + a.n;

	if (str_eq(a, S("::1")) || str_eq(a, S("localhost")) ||
	    str_eq(a, S("0:0:0:0:0:0:0:1")))
		return 1;
	if (has_prefix(p, e, S("::ffff:")))
		p += 7;
	else if (has_prefix(p, e, S("ipv6:::1")))
		return 1;
	return has_prefix(p, e, S("127."));
}

void pflog_relay_split(struct pflog_str r, struct pflog_str *name,
		       struct pflog_str *addr, struct pflog_str *port)
{
	const char *p = r.p, *e = r.p + r.n;
	const char *lb = memchr(p, '[', r.n);
	const char *rb = NULL;

	name->p = addr->p = port->p = p;
	name->n = addr->n = port->n = 0;
	if (!lb) {
		*name = r;
		return;
	}
	*name = mkstr(p, lb);
	for (const char *q = e; q > lb; q--)
		if (q[-1] == ']') {
			rb = q - 1;
			break;
		}
	if (!rb) {
		*addr = mkstr(lb + 1, e);
		return;
	}
	*addr = mkstr(lb + 1, rb);
	if (rb + 1 < e && rb[1] == ':')
		*port = mkstr(rb + 2, e);
}

/* "<addr>" at p: the address ends at a '>' followed by ',', ' ', ';' or
 * the end (a quoted local part may itself hold '>'). */
static const char *angle_addr(const char *p, const char *e,
			      struct pflog_str *a)
{
	const char *q = p;

	if (p >= e || *p != '<')
		return NULL;
	for (;;) {
		q = memchr(q + 1, '>', (size_t)(e - q - 1));
		if (!q)
			return NULL;
		if (q + 1 == e || q[1] == ',' || q[1] == ' ' || q[1] == ';')
			break;
	}
	*a = mkstr(p + 1, q);
	return q + 1;
}

/* A value up to ", " or the end. */
static const char *comma_value(const char *p, const char *e,
			       struct pflog_str *v)
{
	const char *s = p;

	for (;;) {
		const char *c = memchr(p, ',', (size_t)(e - p));

		if (!c) {
			*v = mkstr(s, e);
			return e;
		}
		if (c + 1 < e && c[1] == ' ') {
			*v = mkstr(s, c);
			return c;
		}
		p = c + 1;
	}
}

/* "name[addr]" -> name, addr (the brackets of an IPv6 address hold no
 * '[').  Returns the end of the namaddr, or NULL. */
static const char *namaddr(const char *p, const char *e,
			   struct pflog_str *name, struct pflog_str *addr)
{
	const char *lb = p, *rb;

	while (lb < e && *lb != '[' && *lb != ' ' && *lb != ',')
		lb++;
	if (lb >= e || *lb != '[')
		return NULL;
	rb = memchr(lb, ']', (size_t)(e - lb));
	if (!rb)
		return NULL;
	*name = mkstr(p, lb);
	*addr = mkstr(lb + 1, rb);
	rb++;
	if (rb < e && *rb == ':') { /* smtpd_client_port_logging */
		rb++;
		while (rb < e && is_digit(*rb))
			rb++;
	}
	return rb;
}

static int parse_client(struct pflog_line *l, const char *p, const char *e)
{
	struct pflog_str v;

	if (!(p = namaddr(p, e, &l->client_name, &l->client_addr)))
		return 0;
	while (p < e) {
		const char *k = memchr(p, ',', (size_t)(e - p));

		if (!k || k + 1 >= e || k[1] != ' ')
			break;
		p = k + 2;
		if (has_prefix(p, e, S("sasl_method="))) {
			p = comma_value(p + 12, e, &v);
			l->sasl_method = v;
		} else if (has_prefix(p, e, S("sasl_username="))) {
			p = comma_value(p + 14, e, &v);
			l->sasl_username = v;
		}
	}
	return 1;
}

static int parse_pickup(struct pflog_line *l, const char *p, const char *e)
{
	if (!(p = num(p, e, 10, &l->uid)) || !has_prefix(p, e, S(" from=")))
		return 0;
	return angle_addr(p + 6, e, &l->from) != NULL;
}

/* from=<S>, size=N, nrcpt=N (queue active) | from=<S>, status=expired, */
static int parse_qmgr_from(struct pflog_line *l, const char *p, const char *e)
{
	long long v;

	if (!(p = angle_addr(p, e, &l->from)))
		return 0;
	if (has_prefix(p, e, S(", size="))) {
		if (!(p = num(p + 7, e, 18, &l->size)) ||
		    !has_prefix(p, e, S(", nrcpt=")) ||
		    !num(p + 8, e, 9, &v))
			return 0;
		l->nrcpt = (long)v;
		l->kind = PFLOG_QUEUED;
		return 1;
	}
	if (has_prefix(p, e, S(", status=expired"))) {
		l->status = PFLOG_ST_EXPIRED;
		l->kind = PFLOG_EXPIRED;
		return 1;
	}
	l->kind = PFLOG_OTHER;
	return 1;
}

static enum pflog_status status_of(struct pflog_str w)
{
	if (str_eq(w, S("sent")))
		return PFLOG_ST_SENT;
	if (str_eq(w, S("deferred")))
		return PFLOG_ST_DEFERRED;
	if (str_eq(w, S("bounced")))
		return PFLOG_ST_BOUNCED;
	if (str_eq(w, S("expired")))
		return PFLOG_ST_EXPIRED;
	return PFLOG_ST_OTHER;
}

/* Where the relay says a delivery went, for the daemon that logged it. */
static enum pflog_via via_of(struct pflog_line *l)
{
	struct pflog_str name, addr, port;

	if (l->relay.n == 0 || str_eq(l->relay, S("none")))
		return PFLOG_VIA_NONE;
	switch (l->daemon) {
	case PFLOG_D_LMTP: case PFLOG_D_LOCAL: case PFLOG_D_VIRTUAL:
	case PFLOG_D_PIPE:
		return PFLOG_VIA_LOCAL;
	case PFLOG_D_SMTP:
		return PFLOG_VIA_REMOTE;
	case PFLOG_D_ERROR: case PFLOG_D_DISCARD:
		return PFLOG_VIA_NONE;
	default:
		break;
	}
	/* The tag did not say (RFC 5424 cut, custom names): judge the relay.
	 * local(8) and virtual(8) log their own names; LMTP goes to a UNIX
	 * socket ("host[private/dovecot-lmtp]") or port 24; a bare name is a
	 * pipe(8) transport. */
	pflog_relay_split(l->relay, &name, &addr, &port);
	if (addr.n == 0)
		return PFLOG_VIA_LOCAL;
	if (memchr(addr.p, '/', addr.n) || str_eq(port, S("24")))
		return PFLOG_VIA_LOCAL;
	return PFLOG_VIA_REMOTE;
}

static void find_queued_as(struct pflog_line *l)
{
	const char *p = l->status_text.p, *e, *q;

	if (l->status_text.n == 0 || !p)
		return;
	e = p + l->status_text.n;
	/* memchr for the 'q', then compare: glibc's memmem sets up a
	 * two-way search on every call, dearer for these short texts. */
	for (q = p; (q = memchr(q, 'q', (size_t)(e - q))) != NULL; q++)
		if (e - q >= 10 && memcmp(q, "queued as ", 10) == 0)
			break;
	if (!q)
		return;
	p = q + 10;
	q = p;
	while (q < e && is_alnum(*q))
		q++;
	if (q > p && (size_t)(q - p) <= PFLOG_QID_MAX)
		l->queued_as = mkstr(p, q);
}

static int parse_delivery(struct pflog_line *l, const char *p, const char *e)
{
	struct pflog_str v;

	if (!(p = angle_addr(p, e, &l->to)))
		return 0;
	while (has_prefix(p, e, S(", "))) {
		p += 2;
		if (has_prefix(p, e, S("orig_to="))) {
			if (!(p = angle_addr(p + 8, e, &l->orig_to)))
				return 0;
		} else if (has_prefix(p, e, S("relay="))) {
			p = comma_value(p + 6, e, &l->relay);
		} else if (has_prefix(p, e, S("dsn="))) {
			p = comma_value(p + 4, e, &l->dsn);
		} else if (has_prefix(p, e, S("status="))) {
			const char *s = p + 7;

			p = s;
			while (p < e && *p != ' ' && *p != ',')
				p++;
			l->status = status_of(mkstr(s, p));
			if (p == s)
				return 0;
			if (has_prefix(p, e, S(" ("))) {
				const char *t = p + 2, *te = e;

				if (te > t && te[-1] == ')')
					te--;
				l->status_text = mkstr(t, te);
			}
			break;
		} else {
			p = comma_value(p, e, &v);
		}
	}
	if (l->status == PFLOG_ST_NONE || l->relay.n == 0)
		return 0;
	find_queued_as(l);
	l->via = via_of(l);
	return 1;
}

static int parse_notify(struct pflog_line *l, const char *p, const char *e)
{
	static const struct {
		const char *s;
		size_t n;
		enum pflog_notify k;
	} tab[] = {
		{S("sender non-delivery notification: "), PFLOG_NT_NON_DELIVERY},
		{S("sender delay notification: "), PFLOG_NT_DELAY},
		{S("sender delivery status notification: "), PFLOG_NT_SUCCESS},
		{S("postmaster non-delivery notification: "),
		 PFLOG_NT_POSTMASTER},
		{S("postmaster delay notification: "), PFLOG_NT_POSTMASTER},
		{S("postmaster delivery status notification: "),
		 PFLOG_NT_POSTMASTER},
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++) {
		if (has_prefix(p, e, tab[i].s, tab[i].n)) {
			const char *s = p + tab[i].n, *q = s;

			while (q < e && is_alnum(*q))
				q++;
			l->notify = tab[i].k;
			l->new_id = mkstr(s, q);
			return 1;
		}
	}
	return -1;
}

static enum pflog_stage stage_of(struct pflog_str w)
{
	if (str_eq(w, S("RCPT")))
		return PFLOG_SG_RCPT;
	if (str_eq(w, S("MAIL")))
		return PFLOG_SG_MAIL;
	if (str_eq(w, S("DATA")) || str_eq(w, S("BDAT")))
		return PFLOG_SG_DATA;
	if (str_eq(w, S("END-OF-MESSAGE")))
		return PFLOG_SG_EOM;
	if (str_eq(w, S("CONNECT")))
		return PFLOG_SG_CONNECT;
	if (str_eq(w, S("EHLO")) || str_eq(w, S("HELO")))
		return PFLOG_SG_HELO;
	if (str_eq(w, S("header")) || str_eq(w, S("body")))
		return PFLOG_SG_CONTENT;
	return PFLOG_SG_OTHER;
}

/* "STAGE from NAME[ADDR]: reply; from=<S> to=<R> proto=P helo=<H>
 * [sasl_method=M sasl_username=U]" (smtpd, space separated) or with ", "
 * separators (postscreen); cleanup: "header X from NAME[ADDR]; from=..." */
static void parse_reject(struct pflog_line *l, const char *p, const char *e)
{
	struct pflog_str w;
	const char *f;

	p = word(p, e, &w);
	l->stage = stage_of(w);
	/* the whatsup part starts at the first "; from=<" or "; to=<" */
	f = memmem(p, (size_t)(e - p), "; from=<", 8);
	if (!f)
		f = memmem(p, (size_t)(e - p), "; to=<", 6);
	if (has_prefix(p, e, S(" from "))) {
		/* smtpd: "RCPT from NAME[ADDR]: reply" */
		namaddr(p + 6, e, &l->client_name, &l->client_addr);
	} else if (f) {
		/* cleanup: "header Subject: text from NAME[ADDR]; from=" */
		const char *last = NULL;

		for (const char *q = p;
		     (q = memmem(q, (size_t)(f - q), " from ", 6)); q += 6)
			last = q;
		if (last)
			namaddr(last + 6, f, &l->client_name, &l->client_addr);
	}
	if (!f)
		return;
	p = f + 2;
	while (p < e) {
		const char *k = p, *eq;
		struct pflog_str v;

		while (p < e && *p != '=' && *p != ' ')
			p++;
		if (p >= e || *p != '=')
			break;
		eq = p++;
		if (p < e && *p == '<') {
			const char *q = angle_addr(p, e, &v);

			if (!q)
				break;
			p = q;
		} else {
			const char *s = p;

			while (p < e && *p != ' ' && *p != ',')
				p++;
			if (p < e && *p == ',' && !(p + 1 < e && p[1] == ' '))
				while (p < e && *p != ' ')
					p++;
			v = mkstr(s, p);
		}
		struct pflog_str key = mkstr(k, eq);

		if (str_eq(key, S("from")))
			l->from = v;
		else if (str_eq(key, S("to")))
			l->to = v;
		else if (str_eq(key, S("sasl_method")))
			l->sasl_method = v;
		else if (str_eq(key, S("sasl_username")))
			l->sasl_username = v;
		while (p < e && (*p == ' ' || *p == ','))
			p++;
	}
}

/* "warning: NAME[ADDR]: SASL LOGIN authentication failed: REASON[,
 * sasl_username=U]" */
static int parse_sasl_failed(struct pflog_line *l, const char *p,
			     const char *e)
{
	const char *s = memmem(p, (size_t)(e - p), ": SASL ", 7);
	const char *f, *u;

	if (!s)
		return 0;
	f = memmem(s, (size_t)(e - s), " authentication failed", 22);
	if (!f)
		return 0;
	namaddr(p, s, &l->client_name, &l->client_addr);
	/* ": SASL authentication failed" names no method: f is s + 6 */
	l->sasl_method = mkstr(s + 7, f > s + 7 ? f : s + 7);
	/* the last "sasl_username=": the reason text comes before it */
	u = NULL;
	for (const char *q = f; (q = memmem(q, (size_t)(e - q),
					    "sasl_username=", 14));
	     q += 14)
		u = q + 14;
	if (u)
		l->sasl_username = mkstr(u, e);
	return 1;
}

static void classify(struct pflog_line *l)
{
	const char *p = l->text.p, *e = p + l->text.n, *c = p;
	int noqueue = 0, r;
	unsigned all = 0xff, any = 0, k;
	size_t z = 0;

	l->kind = PFLOG_OTHER;
	/* The leading word, judged as a queue id on the way (one pass). */
	while (c < e && ((k = cclass[(unsigned char)*c]) & CC_ALNUM)) {
		all &= k;
		any |= k;
		if (k & CC_Z)
			z = (size_t)(c - p);
		c++;
	}
	if (c > p && c + 1 < e && c[0] == ':' && c[1] == ' ') {
		if ((size_t)(c - p) == 7 && memcmp(p, "NOQUEUE", 7) == 0) {
			noqueue = 1;
			p = c + 2;
		} else if (qid_judge((size_t)(c - p), all, any, z,
				     &l->qid_long)) {
			l->qid = mkstr(p, c);
			p = c + 2;
		}
	}
	if (l->qid.n == 0 && !noqueue) {
		if (has_prefix(p, e, S("warning: ")) &&
		    memmem(p, (size_t)(e - p), "authentication failed", 21) &&
		    parse_sasl_failed(l, p + 9, e))
			l->kind = PFLOG_SASL_FAILED;
		return;
	}
	if (has_prefix(p, e, S("reject: "))) {
		l->kind = PFLOG_REJECT;
		parse_reject(l, p + 8, e);
		return;
	}
	if (has_prefix(p, e, S("milter-reject: "))) {
		l->kind = PFLOG_REJECT;
		l->milter = 1;
		parse_reject(l, p + 15, e);
		return;
	}
	if (noqueue || p >= e)
		return;
	switch (*p) {
	case 'c':
		if (has_prefix(p, e, S("client="))) {
			l->kind = parse_client(l, p + 7, e) ? PFLOG_CLIENT :
							       PFLOG_MALFORMED;
			return;
		}
		break;
	case 'u':
		if (has_prefix(p, e, S("uid="))) {
			l->kind = parse_pickup(l, p + 4, e) ? PFLOG_PICKUP :
							       PFLOG_MALFORMED;
			return;
		}
		break;
	case 'm':
		if (has_prefix(p, e, S("message-id="))) {
			l->kind = PFLOG_MESSAGE_ID;
			l->message_id = mkstr(p + 11, e);
			return;
		}
		break;
	case 'f':
		if (has_prefix(p, e, S("from=<"))) {
			if (!parse_qmgr_from(l, p + 5, e))
				l->kind = PFLOG_MALFORMED;
			return;
		}
		break;
	case 't':
		if (has_prefix(p, e, S("to=<"))) {
			l->kind = parse_delivery(l, p + 3, e) ? PFLOG_DELIVERY :
								 PFLOG_MALFORMED;
			return;
		}
		break;
	case 'r':
		if (e - p == 7 && memcmp(p, "removed", 7) == 0) {
			l->kind = PFLOG_REMOVED;
			return;
		}
		break;
	case 's': case 'p':
		r = parse_notify(l, p, e);
		if (r > 0)
			l->kind = PFLOG_NOTIFY;
		return;
	default:
		break;
	}
}

/* With the tag cut to "postfix", name the daemon from the event. */
static void infer_daemon(struct pflog_line *l)
{
	enum pflog_daemon d = PFLOG_D_UNKNOWN;

	switch (l->kind) {
	case PFLOG_CLIENT: case PFLOG_SASL_FAILED:
		d = PFLOG_D_SMTPD;
		break;
	case PFLOG_PICKUP:
		d = PFLOG_D_PICKUP;
		break;
	case PFLOG_MESSAGE_ID:
		d = PFLOG_D_CLEANUP;
		break;
	case PFLOG_QUEUED: case PFLOG_EXPIRED: case PFLOG_REMOVED:
		d = PFLOG_D_QMGR;
		break;
	case PFLOG_NOTIFY:
		d = PFLOG_D_BOUNCE;
		break;
	case PFLOG_REJECT:
		d = l->stage == PFLOG_SG_CONTENT ||
				    (l->milter && l->stage == PFLOG_SG_EOM) ?
			    PFLOG_D_CLEANUP :
			    PFLOG_D_SMTPD;
		break;
	default:
		return;
	}
	l->daemon = d;
	l->daemon_inferred = 1;
}

/* Zero the fields before buf.  One memset of that size becomes a "rep
 * stos" whose start-up costs more than the stores themselves, once per
 * line; fixed 32-byte pieces compile to plain vector stores. */
static void zero_head(struct pflog_line *l)
{
	unsigned char *p = (unsigned char *)l;
	size_t n = offsetof(struct pflog_line, buf), i;

	for (i = 0; i + 32 <= n; i += 32)
		memset(p + i, 0, 32);
	memset(p + i, 0, n - i);
}

/* The string fields, in the order of the PFLOG_KEEP_* bits. */
static const size_t str_field[] = {
	offsetof(struct pflog_line, host),
	offsetof(struct pflog_line, tag),
	offsetof(struct pflog_line, daemon_name),
	offsetof(struct pflog_line, service),
	offsetof(struct pflog_line, text),
	offsetof(struct pflog_line, qid),
	offsetof(struct pflog_line, client_name),
	offsetof(struct pflog_line, client_addr),
	offsetof(struct pflog_line, sasl_method),
	offsetof(struct pflog_line, sasl_username),
	offsetof(struct pflog_line, from),
	offsetof(struct pflog_line, to),
	offsetof(struct pflog_line, orig_to),
	offsetof(struct pflog_line, relay),
	offsetof(struct pflog_line, dsn),
	offsetof(struct pflog_line, status_text),
	offsetof(struct pflog_line, queued_as),
	offsetof(struct pflog_line, new_id),
	offsetof(struct pflog_line, message_id),
	offsetof(struct pflog_line, time_text),
};
_Static_assert(sizeof(str_field) / sizeof(str_field[0]) == 20,
	       "one PFLOG_KEEP_* bit per string field");

/*
 * The bytes: the string bits (4), which numbers follow (1), the small
 * fields (a byte each), the numbers that are there, then each string's
 * length (one byte below 255, else 255 and 4 bytes) and bytes.  Kept
 * short: the bytes cross from one core to the other, and that costs by
 * the cache line.  Written and read with memcpy: no alignment needed.
 */
/* The small fields (enums and flags), a byte each: one list for
 * pflog_pack and pflog_unpack. */
#define PACKED_SMALL                                                        \
	X(format) X(kind) X(bad) X(truncated) X(daemon) X(daemon_inferred)  \
	X(qid_long) X(status) X(via) X(notify) X(stage) X(milter)           \
	X(time_deferred)
/* "+1" per field, summed: no parentheses can go around it */
#define X(f) +1 /* NOLINT(bugprone-macro-parentheses) */
enum { N_SMALL = 0 PACKED_SMALL };
#undef X

/* The numbers, each written only when it is not "absent": the time
 * when it was read (not deferred), the others when not -1. */
enum { NUM_TIME = 1, NUM_UID = 2, NUM_SIZE = 4, NUM_PID = 8, NUM_NRCPT = 16 };

static unsigned char *put_num(unsigned char *o, int64_t v)
{
	memcpy(o, &v, 8);
	return o + 8;
}

size_t pflog_pack(const struct pflog_line *l, uint32_t keep,
		  unsigned char *out, size_t cap)
{
	/* the head at most: strs, nums, small fields, time, four numbers */
	unsigned char head[4 + 1 + N_SMALL + sizeof(struct pflog_time) + 32];
	unsigned char *h = head + 5, nums = 0;
	uint32_t strs = 0;
	size_t o;

#define X(f) *h++ = (unsigned char)l->f;
	PACKED_SMALL
#undef X
	if (!l->time_deferred) {
		nums |= NUM_TIME;
		memcpy(h, &l->time, sizeof(l->time));
		h += sizeof(l->time);
	}
	if (l->uid != -1) {
		nums |= NUM_UID;
		h = put_num(h, l->uid);
	}
	if (l->size != -1) {
		nums |= NUM_SIZE;
		h = put_num(h, l->size);
	}
	if (l->pid != -1) {
		nums |= NUM_PID;
		h = put_num(h, l->pid);
	}
	if (l->nrcpt != -1) {
		nums |= NUM_NRCPT;
		h = put_num(h, l->nrcpt);
	}
	o = (size_t)(h - head);
	if (cap < o)
		return 0;
	if (l->time_deferred)
		keep |= PFLOG_KEEP_TIME_TEXT;
	for (uint32_t m = keep & PFLOG_KEEP_ALL; m; m &= m - 1) {
		unsigned f = (unsigned)__builtin_ctz(m);
		const struct pflog_str *s =
			(const struct pflog_str *)((const char *)l +
						   str_field[f]);
		size_t ln = s->n < 255 ? 1 : 5;

		if (s->n == 0)
			continue;
		if (s->n > UINT32_MAX || cap - o < ln || cap - o - ln < s->n)
			return 0;
		strs |= 1u << f;
		if (ln == 1) {
			out[o] = (unsigned char)s->n;
		} else {
			uint32_t n = (uint32_t)s->n;

			out[o] = 255;
			memcpy(out + o + 1, &n, 4);
		}
		memcpy(out + o + ln, s->p, s->n);
		o += ln + s->n;
	}
	memcpy(head, &strs, 4);
	head[4] = nums;
	memcpy(out, head, (size_t)(h - head));
	return o;
}

static const unsigned char *get_num(const unsigned char *p, int64_t *v)
{
	memcpy(v, p, 8);
	return p + 8;
}

size_t pflog_unpack(struct pflog_line *l, const unsigned char *in)
{
	const unsigned char *p = in + 5;
	unsigned char nums = in[4];
	uint32_t strs;
	int64_t v;

	memcpy(&strs, in, 4);
	zero_head(l);
#define X(f) l->f = *p++;
	PACKED_SMALL
#undef X
	if (nums & NUM_TIME) {
		memcpy(&l->time, p, sizeof(l->time));
		p += sizeof(l->time);
	}
	l->uid = l->size = -1;
	l->pid = l->nrcpt = -1;
	if (nums & NUM_UID) {
		p = get_num(p, &v);
		l->uid = v;
	}
	if (nums & NUM_SIZE) {
		p = get_num(p, &v);
		l->size = v;
	}
	if (nums & NUM_PID) {
		p = get_num(p, &v);
		l->pid = (long)v;
	}
	if (nums & NUM_NRCPT) {
		p = get_num(p, &v);
		l->nrcpt = (long)v;
	}
	for (uint32_t m = strs; m; m &= m - 1) {
		unsigned f = (unsigned)__builtin_ctz(m);
		struct pflog_str *s =
			(struct pflog_str *)((char *)l + str_field[f]);
		uint32_t n = *p++;

		if (n == 255) {
			memcpy(&n, p, 4);
			p += 4;
		}
		s->p = (const char *)p;
		s->n = n;
		p += n;
	}
	return (size_t)(p - in);
}

static enum pflog_kind parse(struct pflog_line *l, const char *line,
			     size_t len, enum pflog_format fmt, int defer);

enum pflog_kind pflog_parse(struct pflog_line *l, const char *line, size_t len,
			    enum pflog_format fmt)
{
	return parse(l, line, len, fmt, 0);
}

enum pflog_kind pflog_parse_deferred(struct pflog_line *l, const char *line,
				     size_t len, enum pflog_format fmt)
{
	parse(l, line, len, fmt, 1);
	/* A malformed line's reason: a bad timestamp comes first, as in
	 * pflog_parse (rare: read it now). */
	if (l->kind == PFLOG_MALFORMED)
		pflog_finish_time(l);
	return l->kind;
}

enum pflog_kind pflog_finish_time(struct pflog_line *l)
{
	const char *p = l->time_text.p, *e = p + l->time_text.n;

	if (!l->time_deferred)
		return l->kind;
	l->time_deferred = 0;
	if (parse_rfc3339(p, e, &l->time) != e) {
		l->kind = PFLOG_MALFORMED;
		l->bad = PFLOG_BAD_TIME;
	}
	return l->kind;
}

static enum pflog_kind parse(struct pflog_line *l, const char *line,
			     size_t len, enum pflog_format fmt, int defer)
{
	const char *p = line ? line : "", *e = p + (line ? len : 0);
	int r;

	zero_head(l);
	l->pid = -1;
	l->uid = -1;
	l->size = -1;
	l->nrcpt = -1;
	l->kind = PFLOG_MALFORMED;
	while (e > p && (e[-1] == '\n' || e[-1] == '\r'))
		e--;
	if (fmt == PFLOG_FMT_AUTO || fmt >= PFLOG_FMT_COUNT) {
		const char *q = p;

		while (q < e && (*q == ' ' || *q == '\t'))
			q++;
		if (q == e) {
			l->bad = PFLOG_BAD_EMPTY;
			return l->kind;
		}
		if (*q == '{') {
			/* journald or docker: parse_json decides. */
			p = q;
			r = parse_json(l, p, e, PFLOG_FMT_AUTO);
			goto parsed;
		}
		if (*q == '<') {
			const char *g = memchr(q, '>', (size_t)(e - q) < 6 ?
						       (size_t)(e - q) : 6);

			if (g && has_prefix(g, e, S(">1 "))) {
				r = parse_5424(l, q, e);
				goto parsed;
			}
			if (g)
				p = g + 1; /* syslog with a PRI: skip it */
		}
		fmt = PFLOG_FMT_AUTO;
	}
	switch (fmt) {
	case PFLOG_FMT_RFC5424:
		r = parse_5424(l, p, e);
		break;
	case PFLOG_FMT_JOURNAL:
	case PFLOG_FMT_DOCKER:
		r = parse_json(l, p, e, fmt);
		break;
	default:
		if (fmt == PFLOG_FMT_SYSLOG && p < e && *p == '<') {
			const char *g = memchr(p, '>', (size_t)(e - p));
			if (g)
				p = g + 1;
		}
		r = parse_plain(l, p, e, fmt, defer);
		break;
	}
parsed:
	if (r == 0) {
		l->kind = PFLOG_MALFORMED;
		if (l->bad == PFLOG_BAD_NONE)
			l->bad = PFLOG_BAD_HEADER;
		return l->kind;
	}
	if (r < 0 || (r == 1 && !split_tag(l))) {
		l->kind = PFLOG_NOT_POSTFIX;
		return l->kind;
	}
	classify(l);
	if (l->kind == PFLOG_MALFORMED)
		l->bad = PFLOG_BAD_EVENT;
	if (l->daemon == PFLOG_D_UNKNOWN)
		infer_daemon(l);
	return l->kind;
}

/* ---- names --------------------------------------------------------------- */

const char *pflog_format_name(enum pflog_format f)
{
	static const char *const n[PFLOG_FMT_COUNT] = {
		"auto", "syslog", "rfc3339", "rfc5424", "journal", "docker"};
	return (unsigned)f < PFLOG_FMT_COUNT ? n[f] : "?";
}

int pflog_format_parse(const char *name, enum pflog_format *out)
{
	static const struct {
		const char *s;
		enum pflog_format f;
	} tab[] = {
		{"auto", PFLOG_FMT_AUTO},	  {"syslog", PFLOG_FMT_SYSLOG},
		{"maillog", PFLOG_FMT_SYSLOG},	  {"postlogd", PFLOG_FMT_SYSLOG},
		{"rfc3339", PFLOG_FMT_RFC3339},	  {"rfc5424", PFLOG_FMT_RFC5424},
		{"journal", PFLOG_FMT_JOURNAL},	  {"journald", PFLOG_FMT_JOURNAL},
		{"json", PFLOG_FMT_JOURNAL},	  {"docker", PFLOG_FMT_DOCKER},
	};

	for (size_t i = 0; i < sizeof(tab) / sizeof(tab[0]); i++)
		if (strcmp(name, tab[i].s) == 0) {
			*out = tab[i].f;
			return 0;
		}
	return -1;
}

const char *pflog_kind_name(enum pflog_kind k)
{
	static const char *const n[PFLOG_KIND_COUNT] = {
		"malformed", "not_postfix", "other",   "client",
		"pickup",    "message_id",  "queued",  "expired",
		"removed",   "delivery",    "notify",  "reject",
		"sasl_failed"};
	return (unsigned)k < PFLOG_KIND_COUNT ? n[k] : "?";
}

const char *pflog_bad_name(enum pflog_bad b)
{
	static const char *const n[PFLOG_BAD_COUNT] = {
		"none", "empty", "time", "header", "json", "event"};
	return (unsigned)b < PFLOG_BAD_COUNT ? n[b] : "?";
}

const char *pflog_status_name(enum pflog_status s)
{
	static const char *const n[] = {"none",	    "sent",    "deferred",
					"bounced",  "expired", "other"};
	return (unsigned)s <= PFLOG_ST_OTHER ? n[s] : "?";
}

const char *pflog_daemon_str(enum pflog_daemon d)
{
	static const char *const n[PFLOG_D_COUNT] = {
		"unknown", "smtpd",   "smtp",	"lmtp",	     "qmgr",
		"pickup",  "cleanup", "bounce", "local",     "virtual",
		"pipe",	   "error",   "discard", "postsuper", "postscreen",
		"other"};
	return (unsigned)d < PFLOG_D_COUNT ? n[d] : "?";
}
