/*
 * dovequota — storage snapshots to samples; see dovequota.h.
 *
 * What doveadm prints (read from Dovecot's doveadm-print-*.c and
 * doveadm-quota.c): `quota get -A` has the columns username (key
 * "username", title "Username", flagged HIDE_TITLE), root ("Quota name"),
 * type ("Type"), value, limit, percent ("Value", "Limit", "%").  Per user
 * and quota root there is one row per resource, STORAGE in KiB (rounded
 * up) and MESSAGE; an unlimited resource prints "-" and "0"; a resource
 * that could not be read prints "error" three times.
 *   tab    a title line joined by tabs, then one line per row.
 *   flow   `TITLE=value` joined by single spaces, no quoting at all (so a
 *          quota name holds spaces); the user name has no title.
 *   pager  `Title: value` lines (the user name bare), records separated
 *          by a form feed line.
 *   table  titles and values padded to widths measured on the first 100
 *          rows and shrunk to 80 columns when stdout is not a terminal;
 *          a value longer than its width is printed whole, so columns are
 *          not reliable: the four last columns (no spaces in them) are
 *          taken from the right, and the user name is split from the
 *          quota name by the header position when the row agrees with it.
 *   json   an array of objects keyed by the header keys; values strings.
 * The parser accepts titles in any letter case and an optional
 * `Username=` / `Username: ` title, and nothing else: a header in another
 * language or order is an error, since guessing would bill wrong numbers.
 *
 * Ownership: the samples and their names belong to the dq_snapshot.
 * Errors go to the diag, each prefixed by "NAME:LINE: " (or "NAME: PATH: "
 * for JSON); any error fails the whole snapshot.
 */
#include "dovequota.h"

#include <jansson.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "common/strhash.h"
#include "common/xalloc.h"

#define MAX_ERRORS 30
#define MAX_KNOWN_ROOTS 16

struct str {
	const char *p;
	size_t n;
};

struct ustate {
	struct str root;	/* the billed root, in the input (valid while
				 * parsing); see has_root */
	size_t ulen;		/* strlen of the mailbox name */
	unsigned has_root : 1;
	unsigned has_storage : 1;
	unsigned has_message : 1;
};

/* A slot of the name table: the name's hash, so that a probe and a
 * growth rarely touch the sample itself, and the sample index + 1. */
struct slot {
	uint64_t h;
	size_t i; /* 0: empty */
};

/* The mailbox names, packed in large blocks owned by the snapshot. */
struct nblock {
	struct nblock *next;
	size_t used, cap;
	char data[];
};

#define NBLOCK_SIZE ((size_t)4 << 20)

struct ctx {
	const char *name;
	const struct dq_options *opt;
	struct diag *d;
	size_t nerr, dropped;
	enum dq_format format;

	struct dq_sample *s;
	struct ustate *u;
	size_t n, cap;

	struct slot *tab; /* open addressing, linear probing */
	size_t tabcap;
	size_t last;		/* the sample of the row before + 1, or 0 */
	struct nblock *names;	/* where sample names live */
	size_t at_line;		/* the line that err(c, NULL, ...) names */
	size_t first_block;	/* size of the first name block */

	char *roots[MAX_KNOWN_ROOTS]; /* quota names seen, for table rows */
	size_t nroots;
	int root_found; /* opt->quota_root seen at least once */
	struct str root_ok; /* a quota name that passed check_name */
};

static int utf8_valid(struct str s);

/* ---- errors ---------------------------------------------------------- */

static void err(struct ctx *c, const char *loc, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void err(struct ctx *c, const char *loc, const char *fmt, ...)
{
	va_list ap;
	char *msg, at[32];

	if (!loc) {
		/* the tab path names its line only when it fails */
		snprintf(at, sizeof(at), ":%zu: ", c->at_line);
		loc = at;
	}
	if (c->nerr >= MAX_ERRORS) {
		c->dropped++;
		return;
	}
	c->nerr++;
	va_start(ap, fmt);
	msg = xvasprintf(fmt, ap);
	va_end(ap);
	diag_add(c->d, "%s%s%s", c->name, loc, msg);
	free(msg);
}

/* ":12: " for a line, ": [3].value: " for a JSON path. */
static void loc_line(char *buf, size_t size, size_t line)
{
	snprintf(buf, size, ":%zu: ", line);
}

/* Show input text in a message: quoted, control bytes escaped, cut. */
static const char *show(char *buf, size_t size, struct str s)
{
	size_t o = 0, i;
	int raw8 = utf8_valid(s); /* else bytes >= 0x80 are escaped too */

	buf[o++] = '"';
	for (i = 0; i < s.n && o + 8 < size; i++) {
		unsigned char ch = (unsigned char)s.p[i];

		if (ch == '\t') {
			buf[o++] = '\\';
			buf[o++] = 't';
		} else if (ch < 0x20 || ch == 0x7f || ch == '"' || ch == '\\' ||
			   (ch >= 0x80 && !raw8)) {
			o += (size_t)snprintf(buf + o, size - o, "\\x%02x", ch);
		} else {
			buf[o++] = (char)ch;
		}
	}
	if (i < s.n) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '"';
	buf[o] = '\0';
	return buf;
}

#define SHOW(s) show((char[96]){0}, 96, (s))

/* ---- small string helpers -------------------------------------------- */

static struct str mkstr(const char *p, size_t n)
{
	struct str s = {p, n};

	return s;
}

static struct str cstr(const char *p)
{
	return mkstr(p, strlen(p));
}

static int eq(struct str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && memcmp(s.p, lit, n) == 0;
}

static int eq_ci(struct str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n == n && strncasecmp(s.p, lit, n) == 0;
}

static int starts_ci(struct str s, const char *lit)
{
	size_t n = strlen(lit);

	return s.n >= n && strncasecmp(s.p, lit, n) == 0;
}

static struct str trim(struct str s)
{
	while (s.n && (s.p[0] == ' ' || s.p[0] == '\t')) {
		s.p++;
		s.n--;
	}
	while (s.n && (s.p[s.n - 1] == ' ' || s.p[s.n - 1] == '\t')) {
		s.n--;
	}
	return s;
}

static struct str rtrim(struct str s)
{
	while (s.n && s.p[s.n - 1] == ' ') {
		s.n--;
	}
	return s;
}

/* First (or last) case-insensitive occurrence of lit in s; -1 if none. */
static long find_ci(struct str s, const char *lit, int last)
{
	size_t n = strlen(lit);
	long found = -1;

	if (n > s.n) {
		return -1;
	}
	for (size_t i = 0; i + n <= s.n; i++) {
		if (strncasecmp(s.p + i, lit, n) == 0) {
			found = (long)i;
			if (!last) {
				break;
			}
		}
	}
	return found;
}

/* Strict UTF-8 (no overlong forms, no surrogates, <= U+10FFFF). */
static int utf8_valid(struct str s)
{
	const unsigned char *p = (const unsigned char *)s.p;
	size_t i = 0, n = s.n;

	while (i < n) {
		unsigned char b = p[i];
		size_t k;
		unsigned long cp;

		if (b < 0x80) {
			i++;
			continue;
		} else if (b >= 0xc2 && b <= 0xdf) {
			k = 1, cp = b & 0x1f;
		} else if (b >= 0xe0 && b <= 0xef) {
			k = 2, cp = b & 0x0f;
		} else if (b >= 0xf0 && b <= 0xf4) {
			k = 3, cp = b & 0x07;
		} else {
			return 0;
		}
		if (n - i <= k) {
			return 0;
		}
		for (size_t j = 1; j <= k; j++) {
			if ((p[i + j] & 0xc0) != 0x80) {
				return 0;
			}
			cp = (cp << 6) | (p[i + j] & 0x3f);
		}
		if ((k == 2 && cp < 0x800) || (k == 3 && cp < 0x10000) ||
		    cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff)) {
			return 0;
		}
		i += k + 1;
	}
	return 1;
}

/* A user or quota name: not empty, UTF-8, no control character. */
static int check_name(struct ctx *c, const char *loc, const char *field,
		      struct str s)
{
	if (s.n == 0) {
		err(c, loc, "%s is empty", field);
		return -1;
	}
	for (size_t i = 0; i < s.n; i++) {
		unsigned char ch = (unsigned char)s.p[i];

		if (ch < 0x20 || ch == 0x7f) {
			err(c, loc, "%s %s holds a control character", field,
			    SHOW(s));
			return -1;
		}
	}
	if (!utf8_valid(s)) {
		err(c, loc, "%s %s is not valid UTF-8", field, SHOW(s));
		return -1;
	}
	return 0;
}

/*
 * A whole number 0..2^63-1 written in decimal digits only (doveadm's
 * dec2str; mailcow's numeric strings).  Adds an error naming the field.
 */
static int num(struct ctx *c, const char *loc, const char *field,
	       struct str s, int64_t *out)
{
	uint64_t v = 0;

	if (s.n == 0) {
		err(c, loc, "%s is empty", field);
		return -1;
	}
	if (s.p[0] == '-' && s.n > 1) {
		err(c, loc, "%s %s is negative", field, SHOW(s));
		return -1;
	}
	for (size_t i = 0; i < s.n; i++) {
		unsigned d = (unsigned char)s.p[i] - '0';

		if (d > 9) {
			err(c, loc, "%s %s is not a whole number", field,
			    SHOW(s));
			return -1;
		}
		if (v > ((uint64_t)INT64_MAX - d) / 10) {
			err(c, loc, "%s %s is above 2^63-1", field, SHOW(s));
			return -1;
		}
		v = v * 10 + d;
	}
	*out = (int64_t)v;
	return 0;
}

/* KiB to bytes, refusing what does not fit. */
static int kib(struct ctx *c, const char *loc, const char *field,
	       int64_t v, int64_t *out)
{
	if (v > INT64_MAX / 1024) {
		err(c, loc, "%s %lld KiB is above 2^63-1 bytes", field,
		    (long long)v);
		return -1;
	}
	*out = v * 1024;
	return 0;
}

/* ---- samples, by user name --------------------------------------------- */

static void tab_grow(struct ctx *c)
{
	size_t cap = c->tabcap ? 2 * c->tabcap : 128;
	struct slot *t = xcalloc(cap, sizeof(*t));


	for (size_t k = 0; k < c->tabcap; k++) {
		size_t h;

		if (!c->tab[k].i) {
			continue;
		}
		for (h = (size_t)c->tab[k].h; t[h & (cap - 1)].i; h++) {
		}
		t[h & (cap - 1)] = c->tab[k];
	}
	free(c->tab);
	c->tab = t;
	c->tabcap = cap;
}

/* A copy of s, NUL-terminated, in the snapshot's name blocks. */
static char *name_dup(struct ctx *c, struct str s)
{
	struct nblock *b = c->names;
	char *p;

	if (!b || b->cap - b->used < s.n + 1) {
		/* the names fit in the input's length (each is followed by
		 * a separator there): a small input gets a small block */
		size_t want = b ? NBLOCK_SIZE : c->first_block;
		size_t cap = s.n + 1 > want ? s.n + 1 : want;

		b = xmalloc(sizeof(*b) + cap);
		b->next = c->names;
		b->used = 0;
		b->cap = cap;
		c->names = b;
	}
	p = b->data + b->used;
	memcpy(p, s.p, s.n);
	p[s.n] = '\0';
	b->used += s.n + 1;
	return p;
}

static void names_free(struct nblock *b)
{
	while (b) {
		struct nblock *next = b->next;

		free(b);
		b = next;
	}
}

/* Is user the name of the sample of the row before? */
static int same_as_last(const struct ctx *c, struct str user)
{
	return c->last && c->u[c->last - 1].ulen == user.n &&
	       memcmp(c->s[c->last - 1].mailbox, user.p, user.n) == 0;
}

/* The sample of user (created when new); *created tells which. */
static size_t sample_of(struct ctx *c, struct str user, size_t line,
			int *created)
{
	uint64_t hv;
	size_t h, i;

	/* doveadm prints the rows of a user together (STORAGE, MESSAGE,
	 * then the next root): most rows are the user of the row before */
	if (same_as_last(c, user)) {
		*created = 0;
		return c->last - 1;
	}
	if (2 * (c->n + 1) > c->tabcap) {
		tab_grow(c);
	}
	hv = strhash(user.p, user.n);
	for (h = (size_t)hv;; h++) {
		const struct slot *sl = &c->tab[h & (c->tabcap - 1)];

		if (!sl->i) {
			break;
		}
		i = sl->i - 1;
		if (sl->h == hv && c->u[i].ulen == user.n &&
		    memcmp(c->s[i].mailbox, user.p, user.n) == 0) {
			*created = 0;
			c->last = i + 1;
			return i;
		}
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? 2 * c->cap : 64;
		c->s = xreallocarray(c->s, c->cap, sizeof(*c->s));
		c->u = xreallocarray(c->u, c->cap, sizeof(*c->u));
	}
	i = c->n++;
	c->tab[h & (c->tabcap - 1)] = (struct slot){hv, i + 1};
	memset(&c->s[i], 0, sizeof(c->s[i]));
	memset(&c->u[i], 0, sizeof(c->u[i]));
	c->s[i].mailbox = name_dup(c, user);
	c->s[i].messages = -1;
	c->s[i].limit_bytes = -1;
	c->s[i].line = line;
	c->u[i].ulen = user.n;
	c->last = i + 1;
	*created = 1;
	return i;
}

static void note_root(struct ctx *c, struct str root)
{
	for (size_t i = 0; i < c->nroots; i++) {
		if (eq(root, c->roots[i])) {
			return;
		}
	}
	if (c->nroots < MAX_KNOWN_ROOTS) {
		c->roots[c->nroots++] = xstrndup(root.p, root.n);
	}
}

/* ---- one doveadm row ------------------------------------------------- */

struct qrow {
	struct str user, root, type, value, limit, pct;
};

static void dove_row(struct ctx *c, const char *loc, size_t line,
		     const struct qrow *r)
{
	int storage, bad = 0, created, is_err;
	int64_t value = 0, limit = -1, pct;
	size_t i;

	/* A user's second row, or a root as the row before: checked
	 * already (the sample exists only once its name passed). */
	if ((!same_as_last(c, r->user) &&
	     check_name(c, loc, "user name", r->user)) ||
	    (!(c->root_ok.p && c->root_ok.n == r->root.n &&
	       memcmp(c->root_ok.p, r->root.p, r->root.n) == 0) &&
	     check_name(c, loc, "quota name", r->root))) {
		return;
	}
	c->root_ok = r->root;
	if (eq(r->type, "STORAGE")) {
		storage = 1;
	} else if (eq(r->type, "MESSAGE")) {
		storage = 0;
	} else {
		err(c, loc, "type %s is not STORAGE or MESSAGE", SHOW(r->type));
		return;
	}
	is_err = eq(r->value, "error");
	if (is_err) {
		if (!eq(r->limit, "error") || !eq(r->pct, "error")) {
			err(c, loc, "value is error but limit is %s and %% %s "
				    "(doveadm prints error in all three)",
			    SHOW(r->limit), SHOW(r->pct));
			return;
		}
	} else {
		bad |= num(c, loc, "value", r->value, &value);
		if (!eq(r->limit, "-")) {
			bad |= num(c, loc, "limit", r->limit, &limit);
		}
		bad |= num(c, loc, "%", r->pct, &pct);
		if (bad) {
			return;
		}
		if (storage) {
			if (kib(c, loc, "value", value, &value) ||
			    (limit >= 0 && kib(c, loc, "limit", limit, &limit))) {
				return;
			}
			if (value > DQ_MAX_BYTES) {
				err(c, loc, "value %lld bytes is absurd for "
					    "one mailbox (more than 1 PiB)",
				    (long long)value);
				return;
			}
		} else if (value > DQ_MAX_MESSAGES) {
			err(c, loc, "value %lld messages is absurd for one "
				    "mailbox", (long long)value);
			return;
		}
	}

	note_root(c, r->root);
	i = sample_of(c, r->user, line, &created);
	if (c->opt->quota_root) {
		if (!eq(r->root, c->opt->quota_root)) {
			return;
		}
		c->root_found = 1;
	} else if (!c->u[i].has_root) {
		c->u[i].root = r->root;
		c->u[i].has_root = 1;
	} else if (c->u[i].root.n != r->root.n ||
		   memcmp(c->u[i].root.p, r->root.p, r->root.n) != 0) {
		return; /* not the first root: not billed */
	}

	if (storage) {
		if (c->u[i].has_storage) {
			err(c, loc, "second STORAGE row for user %s, quota %s "
				    "(first at line %zu)",
			    SHOW(r->user), SHOW(r->root), c->s[i].line);
			return;
		}
		c->u[i].has_storage = 1;
		c->s[i].line = line;
		if (is_err) {
			c->s[i].error = 1;
			c->s[i].reason = "doveadm reported an error for STORAGE";
		} else {
			c->s[i].bytes = value;
			c->s[i].limit_bytes = limit;
		}
	} else {
		if (c->u[i].has_message) {
			err(c, loc, "second MESSAGE row for user %s, quota %s",
			    SHOW(r->user), SHOW(r->root));
			return;
		}
		c->u[i].has_message = 1;
		/* a MESSAGE error leaves the count unknown, the bytes stand */
		c->s[i].messages = is_err ? -1 : value;
	}
}

/* ---- one mailcow row ----------------------------------------------------- */

static void mailcow_row(struct ctx *c, const char *loc, size_t line,
			struct str user, int64_t bytes, int64_t messages,
			int64_t limit)
{
	int created;
	size_t i;

	if (check_name(c, loc, "username", user)) {
		return;
	}
	if (bytes > DQ_MAX_BYTES) {
		err(c, loc, "bytes %lld is absurd for one mailbox (more than "
			    "1 PiB)", (long long)bytes);
		return;
	}
	if (messages > DQ_MAX_MESSAGES) {
		err(c, loc, "messages %lld is absurd for one mailbox",
		    (long long)messages);
		return;
	}
	i = sample_of(c, user, line, &created);
	if (!created) {
		err(c, loc, "username %s appears twice (first at %s %zu)",
		    SHOW(user), c->format == DQ_MAILCOW_API ? "element" : "line",
		    c->s[i].line);
		return;
	}
	c->u[i].has_storage = 1;
	c->s[i].bytes = bytes;
	c->s[i].messages = messages;
	c->s[i].limit_bytes = limit;
}

/* ---- lines ----------------------------------------------------------- */

struct liner {
	const char *buf;
	size_t len, pos, no;
};

/* Next line without its "\n" / "\r\n"; 0 at the end.  A last line with
 * no end of line means the producer was cut off: an error. */
static int next_line(struct ctx *c, struct liner *l, struct str *line)
{
	const char *nl;
	char loc[32];

	if (l->pos >= l->len) {
		return 0;
	}
	l->no++;
	line->p = l->buf + l->pos;
	nl = memchr(line->p, '\n', l->len - l->pos);
	if (!nl) {
		line->n = l->len - l->pos;
		l->pos = l->len;
		loc_line(loc, sizeof(loc), l->no);
		err(c, loc, "no end of line: the output is truncated");
		return 0;
	}
	line->n = (size_t)(nl - line->p);
	l->pos += line->n + 1;
	if (line->n && line->p[line->n - 1] == '\r') {
		line->n--;
	}
	if (memchr(line->p, '\0', line->n)) {
		loc_line(loc, sizeof(loc), l->no);
		err(c, loc, "NUL byte in the line");
		line->n = 0; /* treated as blank after the error */
	}
	return 1;
}

static int blank(struct str s)
{
	return trim(s).n == 0;
}

/* Split s at sep into at most max fields; returns the field count (max+1
 * when there are more). */
static size_t split(struct str s, char sep, struct str *f, size_t max)
{
	size_t n = 0;
	const char *p = s.p, *end = s.p + s.n;

	for (;;) {
		const char *q = memchr(p, sep, (size_t)(end - p));

		if (n == max) {
			return max + 1;
		}
		f[n++] = mkstr(p, q ? (size_t)(q - p) : (size_t)(end - p));
		if (!q) {
			return n;
		}
		p = q + 1;
	}
}

static const char tab_header[] = "Username\tQuota name\tType\tValue\tLimit\t%";

static void parse_tab(struct ctx *c, struct liner *l, struct str hdr)
{
	struct str line, f[6];
	char loc[32];

	if (!eq_ci(hdr, tab_header)) {
		loc_line(loc, sizeof(loc), l->no);
		err(c, loc, "unknown header %s (expected the English titles "
			    "of doveadm quota get -A -f tab: "
			    "Username, Quota name, Type, Value, Limit, %%)",
		    SHOW(hdr));
		return;
	}
	while (next_line(c, l, &line)) {
		struct qrow r;
		size_t nf;

		if (blank(line)) {
			continue;
		}
		c->at_line = l->no; /* err(c, NULL, ...) names it */
		nf = split(line, '\t', f, 6);
		if (nf != 6) {
			err(c, NULL, "expected 6 tab-separated fields, found %s%zu",
			    nf > 6 ? "more than " : "", nf > 6 ? (size_t)6 : nf);
			continue;
		}
		r = (struct qrow){f[0], f[1], f[2], f[3], f[4], f[5]};
		dove_row(c, NULL, l->no, &r);
	}
}

static void parse_flow(struct ctx *c, struct liner *l, struct str first)
{
	static const char *const keys[] = {" %=", " Limit=", " Value=",
					   " Type="};
	struct str line = first;
	char loc[32];

	do {
		struct str rest, v[4];
		struct qrow r;
		long at;
		int ok = 1;

		if (blank(line)) {
			continue;
		}
		loc_line(loc, sizeof(loc), l->no);
		rest = line;
		/* Type, Value, Limit and % never hold spaces: take them from
		 * the right, so that spaces in the names cannot fool us. */
		for (size_t k = 0; k < 4 && ok; k++) {
			at = find_ci(rest, keys[k], 1);
			if (at < 0) {
				ok = 0;
				break;
			}
			size_t kl = strlen(keys[k]);

			v[k] = mkstr(rest.p + at + kl, rest.n - (size_t)at - kl);
			rest.n = (size_t)at;
		}
		if (ok && starts_ci(rest, "Username=")) {
			rest.p += 9;
			rest.n -= 9;
		}
		at = ok ? find_ci(rest, " Quota name=", 0) : -1;
		if (at < 0) {
			err(c, loc, "expected \"USER Quota name=ROOT Type=T "
				    "Value=V Limit=L %%=P\" (doveadm quota get "
				    "-A -f flow), found %s",
			    SHOW(line));
			continue;
		}
		r.user = mkstr(rest.p, (size_t)at);
		r.root = mkstr(rest.p + at + 12, rest.n - (size_t)at - 12);
		r.type = v[3];
		r.value = v[2];
		r.limit = v[1];
		r.pct = v[0];
		dove_row(c, loc, l->no, &r);
	} while (next_line(c, l, &line));
}

static void parse_pager(struct ctx *c, struct liner *l, struct str first)
{
	static const char *const titles[] = {"Quota name: ", "Type: ",
					     "Value: ", "Limit: ", "%: "};
	struct str line = first, f[5];
	struct qrow r;
	size_t field = 0, start = 0; /* field 0 is the user name line */
	char loc[32];
	do {
		if (field == 0) {
			/* records are separated by "\f\n"; blank lines too */
			while (line.n && line.p[0] == '\f') {
				line.p++;
				line.n--;
			}
			if (blank(line)) {
				continue;
			}
			if (starts_ci(line, "Username: ")) {
				line.p += 10;
				line.n -= 10;
			}
			r.user = line;
			start = l->no;
			field = 1;
			continue;
		}
		loc_line(loc, sizeof(loc), l->no);
		if (!starts_ci(line, titles[field - 1])) {
			err(c, loc, "expected \"%s...\" (record of user %s "
				    "from line %zu), found %s",
			    titles[field - 1], SHOW(r.user), start, SHOW(line));
			field = 0;
			continue;
		}
		size_t tl = strlen(titles[field - 1]);

		f[field - 1] = mkstr(line.p + tl, line.n - tl);
		if (++field == 6) {
			r.root = f[0];
			r.type = f[1];
			r.value = f[2];
			r.limit = f[3];
			r.pct = f[4];
			dove_row(c, loc, start, &r);
			field = 0;
		}
	} while (next_line(c, l, &line));
	if (field != 0) {
		loc_line(loc, sizeof(loc), l->no);
		err(c, loc, "the record of user %s from line %zu stops "
			    "short: the output is truncated",
		    SHOW(r.user), start);
	}
}

/* Table header: "Username Quota name Type Value Limit %" padded with
 * spaces; *qpos is the column (in characters) where Quota name starts. */
static int table_header(struct str h, size_t *qpos)
{
	static const char *const words[] = {"Username", "Quota name", "Type",
					    "Value", "Limit", "%"};
	size_t i = 0;

	h = rtrim(h);
	for (size_t w = 0; w < 6; w++) {
		size_t wl = strlen(words[w]), sp = 0;

		while (w > 0 && i < h.n && h.p[i] == ' ') {
			i++, sp++;
		}
		if ((w > 0 && sp == 0) || h.n - i < wl ||
		    strncasecmp(h.p + i, words[w], wl) != 0) {
			return -1;
		}
		if (w == 1) {
			*qpos = i;
		}
		i += wl;
	}
	return i == h.n ? 0 : -1;
}

/* Byte offset of character number cp in s (counting as doveadm pads:
 * UTF-8 continuation bytes take no column); s.n when beyond. */
static size_t char_offset(struct str s, size_t cp)
{
	size_t chars = 0;

	for (size_t i = 0; i < s.n; i++) {
		if (((unsigned char)s.p[i] & 0xc0) == 0x80) {
			continue;
		}
		if (chars++ == cp) {
			return i;
		}
	}
	return s.n;
}

/* Split "USER<spaces>QUOTA NAME" of a table row; 0 or -1. */
static int table_names(struct ctx *c, struct str rest, size_t qpos,
		       struct str *user, struct str *root)
{
	size_t off = char_offset(rest, qpos);

	/* aligned: the header's separator column is a space here */
	if (off < rest.n && off > 0 && rest.p[off - 1] == ' ' &&
	    rest.p[off] != ' ') {
		*user = rtrim(mkstr(rest.p, off));
		*root = mkstr(rest.p + off, rest.n - off);
		if (user->n) {
			return 0;
		}
	}
	/* overflowing (long name past row 100 or shrunk to 80 columns):
	 * a quota name seen before, or the only space run */
	for (size_t i = 0; i < c->nroots; i++) {
		size_t rl = strlen(c->roots[i]);

		if (rest.n > rl + 1 &&
		    memcmp(rest.p + rest.n - rl, c->roots[i], rl) == 0 &&
		    rest.p[rest.n - rl - 1] == ' ') {
			*user = rtrim(mkstr(rest.p, rest.n - rl - 1));
			*root = mkstr(rest.p + rest.n - rl, rl);
			if (user->n) {
				return 0;
			}
		}
	}
	const char *sp = memchr(rest.p, ' ', rest.n);

	if (sp) {
		struct str after = mkstr(sp, rest.n - (size_t)(sp - rest.p));

		after = trim(after);
		if (after.n && !memchr(after.p, ' ', after.n)) {
			*user = mkstr(rest.p, (size_t)(sp - rest.p));
			*root = after;
			return 0;
		}
	}
	return -1;
}

static void parse_table(struct ctx *c, struct liner *l, struct str hdr)
{
	struct str line;
	size_t qpos = 0;
	char loc[32];

	if (table_header(hdr, &qpos)) {
		loc_line(loc, sizeof(loc), l->no);
		err(c, loc, "unknown header %s (expected the English titles "
			    "of doveadm quota get -A: Username, Quota name, "
			    "Type, Value, Limit, %%)",
		    SHOW(hdr));
		return;
	}
	while (next_line(c, l, &line)) {
		struct str rest, tok[4];
		struct qrow r;
		size_t k;

		if (blank(line)) {
			continue;
		}
		loc_line(loc, sizeof(loc), l->no);
		rest = rtrim(line);
		for (k = 0; k < 4; k++) {
			const char *sp = rest.p + rest.n;

			while (sp > rest.p && sp[-1] != ' ') {
				sp--;
			}
			tok[k] = mkstr(sp, (size_t)(rest.p + rest.n - sp));
			if (sp == rest.p || tok[k].n == 0) {
				break;
			}
			rest = rtrim(mkstr(rest.p, (size_t)(sp - rest.p)));
		}
		if (k < 4 || rest.n == 0 ||
		    table_names(c, rest, qpos, &r.user, &r.root)) {
			err(c, loc, "cannot read %s as USER QUOTA-NAME TYPE "
				    "VALUE LIMIT %% (use doveadm -f tab)",
			    SHOW(line));
			continue;
		}
		r.type = tok[3];
		r.value = tok[2];
		r.limit = tok[1];
		r.pct = tok[0];
		dove_row(c, loc, l->no, &r);
	}
}

/* ---- mailcow quota2 CSV / TSV -------------------------------------- */

/* Unquote a CSV field ("" inside quotes is one "); into scratch. */
static int csv_fields(struct str line, struct str *f, size_t max,
		      char *scratch, size_t *nf)
{
	size_t i = 0, n = 0, o = 0;

	for (;;) {
		if (n == max) {
			*nf = max + 1;
			return 0;
		}
		if (i < line.n && line.p[i] == '"') {
			size_t start = o;

			for (i++;; i++) {
				if (i >= line.n) {
					return -1; /* unterminated quote */
				}
				if (line.p[i] == '"') {
					if (i + 1 < line.n && line.p[i + 1] == '"') {
						scratch[o++] = '"';
						i++;
						continue;
					}
					i++;
					break;
				}
				scratch[o++] = line.p[i];
			}
			f[n++] = mkstr(scratch + start, o - start);
			if (i < line.n && line.p[i] != ',') {
				return -1; /* text after the closing quote */
			}
		} else {
			size_t start = i;

			while (i < line.n && line.p[i] != ',') {
				if (line.p[i] == '"') {
					return -1;
				}
				i++;
			}
			f[n++] = mkstr(line.p + start, i - start);
		}
		if (i >= line.n) {
			*nf = n;
			return 0;
		}
		i++; /* the comma */
	}
}

/* mysql -B escapes \\ \t \n \0 in TSV output. */
static int tsv_unescape(struct str in, char *scratch, struct str *out)
{
	size_t o = 0;

	for (size_t i = 0; i < in.n; i++) {
		char ch = in.p[i];

		if (ch == '\\') {
			if (++i >= in.n) {
				return -1;
			}
			switch (in.p[i]) {
			case '\\': ch = '\\'; break;
			case 't': ch = '\t'; break;
			case 'n': ch = '\n'; break;
			case '0': ch = '\0'; break;
			default: return -1;
			}
		}
		scratch[o++] = ch;
	}
	*out = mkstr(scratch, o);
	return 0;
}

static void parse_mailcow_text(struct ctx *c, struct liner *l, struct str hdr)
{
	int csv = c->format == DQ_MAILCOW_CSV;
	char sep = csv ? ',' : '\t';
	struct str line, f[3];
	size_t nf = 0;
	char loc[32];
	char *scratch = xmalloc(l->len + 1);

	if ((csv ? csv_fields(hdr, f, 3, scratch, &nf) : 0) ||
	    (!csv && (nf = split(hdr, sep, f, 3)) == 0) || nf != 3 ||
	    !eq_ci(trim(f[0]), "username") || !eq_ci(trim(f[1]), "bytes") ||
	    !eq_ci(trim(f[2]), "messages")) {
		loc_line(loc, sizeof(loc), l->no);
		err(c, loc, "unknown header %s (expected mailcow's quota2 "
			    "columns: username%cbytes%cmessages)",
		    SHOW(hdr), sep, sep);
		free(scratch);
		return;
	}
	while (next_line(c, l, &line)) {
		int64_t bytes = 0, messages = 0;
		struct str user;
		int bad = 0;

		if (blank(line)) {
			continue;
		}
		loc_line(loc, sizeof(loc), l->no);
		if (csv) {
			if (csv_fields(line, f, 3, scratch, &nf)) {
				err(c, loc, "bad CSV quoting in %s", SHOW(line));
				continue;
			}
		} else {
			nf = split(line, sep, f, 3);
		}
		if (nf != 3) {
			err(c, loc, "expected 3 fields (username, bytes, "
				    "messages), found %s%zu",
			    nf > 3 ? "more than " : "", nf > 3 ? (size_t)3 : nf);
			continue;
		}
		user = f[0];
		if (!csv && tsv_unescape(f[0], scratch, &user)) {
			err(c, loc, "bad backslash escape in username %s",
			    SHOW(f[0]));
			continue;
		}
		bad |= num(c, loc, "bytes", trim(f[1]), &bytes);
		bad |= num(c, loc, "messages", trim(f[2]), &messages);
		if (!bad) {
			mailcow_row(c, loc, l->no, user, bytes, messages, -1);
		}
	}
	free(scratch);
}

/* ---- JSON forms ----------------------------------------------------------- */

/* A JSON string, or a non-negative integer written into buf. */
static int jstr(struct ctx *c, const char *path, json_t *obj,
		const char *key, char *buf, size_t size, struct str *out)
{
	json_t *v = json_object_get(obj, key);
	char loc[96];

	snprintf(loc, sizeof(loc), ": %s.%s: ", path, key);
	if (!v || json_is_null(v)) {
		err(c, loc, "missing");
		return -1;
	}
	if (json_is_string(v)) {
		*out = mkstr(json_string_value(v), json_string_length(v));
		return 0;
	}
	if (json_is_integer(v)) {
		snprintf(buf, size, "%lld", (long long)json_integer_value(v));
		*out = cstr(buf);
		return 0;
	}
	err(c, loc, "expected a string or a whole number");
	return -1;
}

static void json_dove_rows(struct ctx *c, json_t *arr, const char *prefix)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o) {
		char path[64], loc[80];
		char b[4][32];
		struct qrow r;
		int bad = 0;

		snprintf(path, sizeof(path), "%s[%zu]", prefix, i);
		if (!json_is_object(o)) {
			snprintf(loc, sizeof(loc), ": %s: ", path);
			err(c, loc, "expected an object");
			continue;
		}
		if (!json_object_get(o, "username")) {
			snprintf(loc, sizeof(loc), ": %s: ", path);
			err(c, loc, "no username (run doveadm quota get -A)");
			continue;
		}
		bad |= jstr(c, path, o, "username", b[0], 32, &r.user);
		bad |= jstr(c, path, o, "root", b[0], 32, &r.root);
		bad |= jstr(c, path, o, "type", b[0], 32, &r.type);
		bad |= jstr(c, path, o, "value", b[1], 32, &r.value);
		bad |= jstr(c, path, o, "limit", b[2], 32, &r.limit);
		bad |= jstr(c, path, o, "percent", b[3], 32, &r.pct);
		if (bad) {
			continue;
		}
		if (!json_is_string(json_object_get(o, "username")) ||
		    !json_is_string(json_object_get(o, "root")) ||
		    !json_is_string(json_object_get(o, "type"))) {
			snprintf(loc, sizeof(loc), ": %s: ", path);
			err(c, loc, "username, root and type must be strings");
			continue;
		}
		snprintf(loc, sizeof(loc), ": %s: ", path);
		dove_row(c, loc, i + 1, &r);
	}
}

static void json_http(struct ctx *c, json_t *root)
{
	size_t i;
	json_t *e;

	json_array_foreach(root, i, e) {
		char loc[64], prefix[32];
		const char *kind;

		snprintf(loc, sizeof(loc), ": [%zu]: ", i);
		if (!json_is_array(e) || json_array_size(e) != 3 ||
		    !json_is_string(json_array_get(e, 0))) {
			err(c, loc, "expected [\"doveadmResponse\", [...], "
				    "\"TAG\"]");
			continue;
		}
		kind = json_string_value(json_array_get(e, 0));
		if (strcmp(kind, "error") == 0) {
			char *dump = json_dumps(json_array_get(e, 1),
						JSON_COMPACT | JSON_ENCODE_ANY);

			err(c, loc, "doveadm answered an error: %.200s",
			    dump ? dump : "?");
			free(dump);
			continue;
		}
		if (strcmp(kind, "doveadmResponse") != 0 ||
		    !json_is_array(json_array_get(e, 1))) {
			err(c, loc, "expected [\"doveadmResponse\", [...], "
				    "\"TAG\"]");
			continue;
		}
		snprintf(prefix, sizeof(prefix), "[%zu][1]", i);
		json_dove_rows(c, json_array_get(e, 1), prefix);
	}
}

/* mailcow: integer or numeric string; absent/null/"" gives -1. */
static int mc_num(struct ctx *c, const char *path, json_t *o, const char *key,
		  int required, int64_t *out)
{
	json_t *v = json_object_get(o, key);
	char loc[96];

	snprintf(loc, sizeof(loc), ": %s.%s: ", path, key);
	*out = -1;
	if (!v || json_is_null(v) ||
	    (json_is_string(v) && json_string_length(v) == 0)) {
		if (required) {
			err(c, loc, "missing");
			return -1;
		}
		return 0;
	}
	if (json_is_integer(v)) {
		if (json_integer_value(v) < 0) {
			err(c, loc, "%lld is negative",
			    (long long)json_integer_value(v));
			return -1;
		}
		*out = json_integer_value(v);
		return 0;
	}
	if (json_is_string(v)) {
		/* num() names the field itself */
		snprintf(loc, sizeof(loc), ": %s: ", path);
		return num(c, loc, key,
			   mkstr(json_string_value(v), json_string_length(v)),
			   out);
	}
	err(c, loc, "expected a whole number");
	return -1;
}

static void json_mailcow(struct ctx *c, json_t *root)
{
	size_t i;
	json_t *o;

	json_array_foreach(root, i, o) {
		char path[32], loc[48];
		int64_t used, messages, quota;
		json_t *u;
		int bad = 0;

		snprintf(path, sizeof(path), "[%zu]", i);
		snprintf(loc, sizeof(loc), ": %s: ", path);
		if (!json_is_object(o)) {
			err(c, loc, "expected a mailbox object");
			continue;
		}
		u = json_object_get(o, "username");
		if (!json_is_string(u)) {
			err(c, loc, "username: expected a string");
			continue;
		}
		bad |= mc_num(c, path, o, "quota_used", 1, &used);
		bad |= mc_num(c, path, o, "messages", 0, &messages);
		bad |= mc_num(c, path, o, "quota", 0, &quota);
		if (bad) {
			continue;
		}
		snprintf(loc, sizeof(loc), ": %s.username: ", path);
		mailcow_row(c, loc, i + 1,
			    mkstr(json_string_value(u), json_string_length(u)),
			    used, messages, quota > 0 ? quota : -1);
	}
}

static void parse_json(struct ctx *c, const char *buf, size_t len)
{
	json_error_t je;
	json_t *root = json_loadb(buf, len, JSON_REJECT_DUPLICATES, &je);
	enum dq_format want = c->format, got;
	char loc[64];

	if (!root) {
		snprintf(loc, sizeof(loc), ":%d:%d: ", je.line, je.column);
		err(c, loc, "bad JSON: %s", je.text);
		return;
	}
	if (json_is_object(root)) {
		/* mailcow answers {} when there is no mailbox */
		got = DQ_MAILCOW_API;
		if (json_object_size(root) != 0) {
			err(c, ": ", "expected an array (or {} for no "
				     "mailbox)");
		}
	} else if (!json_is_array(root)) {
		got = want ? want : DQ_JSON;
		err(c, ": ", "expected a JSON array");
	} else {
		json_t *e0 = json_array_get(root, 0);

		if (!e0) {
			got = want ? want : DQ_JSON;
		} else if (json_is_array(e0)) {
			got = DQ_HTTP;
		} else if (json_is_object(e0) && !json_object_get(e0, "type") &&
			   (json_object_get(e0, "quota_used") ||
			    json_object_get(e0, "quota") ||
			    json_object_get(e0, "messages"))) {
			got = DQ_MAILCOW_API;
		} else {
			got = DQ_JSON;
		}
	}
	if (want && want != got && !(json_is_array(root) &&
				     json_array_size(root) == 0)) {
		err(c, ": ", "this JSON is %s, not %s", dq_format_name(got),
		    dq_format_name(want));
		json_decref(root);
		return;
	}
	c->format = want ? want : got;
	if (json_is_array(root)) {
		if (c->format == DQ_HTTP) {
			json_http(c, root);
		} else if (c->format == DQ_MAILCOW_API) {
			json_mailcow(c, root);
		} else {
			json_dove_rows(c, root, "");
		}
	}
	json_decref(root);
}

/* ---- detection and driver ------------------------------------------------ */

static enum dq_format detect_text(struct liner *l, struct str first)
{
	size_t qpos;

	if (memchr(first.p, '\t', first.n)) {
		if (eq_ci(first, tab_header)) {
			return DQ_TAB;
		}
		if (starts_ci(first, "username\tbytes")) {
			return DQ_MAILCOW_TSV;
		}
		return DQ_AUTO;
	}
	if (starts_ci(first, "username,") || starts_ci(first, "\"username\",")) {
		return DQ_MAILCOW_CSV;
	}
	if (table_header(first, &qpos) == 0) {
		return DQ_TABLE;
	}
	if (find_ci(first, " Quota name=", 0) >= 0) {
		return DQ_FLOW;
	}
	if (starts_ci(first, "Username: ")) {
		return DQ_PAGER;
	}
	/* pager: a bare user name line then "Quota name: " */
	const char *nl = memchr(l->buf + l->pos, '\n', l->len - l->pos);
	struct str next = mkstr(l->buf + l->pos,
				nl ? (size_t)(nl - l->buf) - l->pos
				   : l->len - l->pos);

	if (starts_ci(next, "Quota name: ")) {
		return DQ_PAGER;
	}
	return DQ_AUTO;
}

static void parse_any(struct ctx *c, const char *buf, size_t len)
{
	struct liner l = {buf, len, 0, 0};
	struct str first = {buf, 0};
	char loc[32];
	size_t i = 0;

	/* a UTF-8 byte order mark, as some editors and exports write */
	if (len >= 3 && memcmp(buf, "\xef\xbb\xbf", 3) == 0) {
		l.pos = i = 3;
	}
	while (i < len && (buf[i] == ' ' || buf[i] == '\t' || buf[i] == '\r' ||
			   buf[i] == '\n')) {
		i++;
	}
	if (i == len) {
		err(c, ": ", "empty input: no snapshot (did the command fail?)");
		return;
	}
	if (c->format == DQ_JSON || c->format == DQ_HTTP ||
	    c->format == DQ_MAILCOW_API ||
	    (c->format == DQ_AUTO && (buf[i] == '[' || buf[i] == '{'))) {
		parse_json(c, buf + l.pos, len - l.pos);
		return;
	}
	/* the first non-blank line is the header (or the first row) */
	while (next_line(c, &l, &first) && blank(first)) {
	}
	if (c->nerr) {
		return;
	}
	if (c->format == DQ_AUTO) {
		c->format = detect_text(&l, first);
		if (c->format == DQ_AUTO) {
			loc_line(loc, sizeof(loc), l.no);
			err(c, loc, "unknown header or format %s (expected "
				    "doveadm quota get -A output, -f tab, "
				    "flow, pager, json or the default table, "
				    "in English; or mailcow's quota2 as CSV "
				    "or TSV, or its API answer)",
			    SHOW(first));
			return;
		}
	}
	switch (c->format) {
	case DQ_TAB:
		parse_tab(c, &l, first);
		break;
	case DQ_FLOW:
		parse_flow(c, &l, first);
		break;
	case DQ_PAGER:
		parse_pager(c, &l, first);
		break;
	case DQ_TABLE:
		parse_table(c, &l, first);
		break;
	case DQ_MAILCOW_CSV:
	case DQ_MAILCOW_TSV:
		parse_mailcow_text(c, &l, first);
		break;
	default:
		abort(); /* JSON forms returned above */
	}
}

/* Users without a billed STORAGE value get an error sample. */
static void finish(struct ctx *c)
{
	if (c->opt->quota_root && !c->root_found && c->n) {
		char roots[256] = "";
		size_t o = 0;

		for (size_t i = 0; i < c->nroots && o < sizeof(roots) - 4; i++) {
			int w = snprintf(roots + o, sizeof(roots) - o, "%s\"%s\"",
					 i ? ", " : "", c->roots[i]);

			o += w > 0 ? (size_t)w : 0;
		}
		err(c, ": ", "no user has quota root \"%s\" (seen: %s)",
		    c->opt->quota_root, roots);
		return;
	}
	for (size_t i = 0; i < c->n; i++) {
		if (c->u[i].has_storage) {
			continue;
		}
		c->s[i].error = 1;
		c->s[i].reason = c->opt->quota_root
					 ? "the user has no such quota root"
					 : "no STORAGE row in its quota root";
	}
	for (size_t i = 0; i < c->n; i++) {
		if (c->s[i].error) {
			c->s[i].bytes = 0;
			c->s[i].messages = -1;
			c->s[i].limit_bytes = -1;
		}
	}
}

static void ctx_free(struct ctx *c, int keep_samples)
{
	if (!keep_samples) {
		names_free(c->names);
		free(c->s);
	}
	for (size_t i = 0; i < c->nroots; i++) {
		free(c->roots[i]);
	}
	free(c->u);
	free(c->tab);
}

int dq_parse(const char *name, const char *buf, size_t len,
	     const struct dq_options *opt, struct dq_snapshot *out,
	     struct diag *d)
{
	static const struct dq_options defaults = {DQ_AUTO, NULL};
	struct ctx c;

	memset(&c, 0, sizeof(c));
	memset(out, 0, sizeof(*out));
	c.name = name ? name : "-";
	c.opt = opt ? opt : &defaults;
	c.d = d;
	c.format = c.opt->format;
	if (c.opt->quota_root && !c.opt->quota_root[0]) {
		c.opt = &defaults; /* "" names no root */
	}
	/* Room for the samples of a doveadm tab snapshot (two rows of 50
	 * to 60 bytes per user) at once: growing by copies costs more than
	 * parsing (the pages reserved and not used are never touched). */
	c.cap = len / 96 > 64 ? len / 96 : 64;
	c.first_block = len + 64 < NBLOCK_SIZE ? len + 64 : NBLOCK_SIZE;
	c.s = xreallocarray(NULL, c.cap, sizeof(*c.s));
	c.u = xreallocarray(NULL, c.cap, sizeof(*c.u));
	while (c.tabcap < 2 * c.cap) {
		c.tabcap = c.tabcap ? 2 * c.tabcap : 128;
	}
	c.tab = xcalloc(c.tabcap, sizeof(*c.tab));
	parse_any(&c, buf, len);
	if (!c.nerr) {
		finish(&c);
	}
	if (c.dropped) {
		diag_add(d, "%s: ... and %zu more errors", c.name, c.dropped);
	}
	if (c.nerr) {
		ctx_free(&c, 0);
		return -1;
	}
	if (c.n == 0) {
		free(c.s); /* no sample: no array, as before the reservation */
		c.s = NULL;
	}
	out->format = c.format;
	out->s = c.s;
	out->n = c.n;
	out->names = c.names;
	for (size_t i = 0; i < c.n; i++) {
		out->nerrors += c.s[i].error != 0;
	}
	ctx_free(&c, 1);
	return 0;
}

void dq_snapshot_free(struct dq_snapshot *snap)
{
	if (!snap) {
		return;
	}
	names_free(snap->names);
	free(snap->s);
	memset(snap, 0, sizeof(*snap));
}

static const char *const format_names[] = {
	[DQ_AUTO] = "auto",
	[DQ_TAB] = "tab",
	[DQ_FLOW] = "flow",
	[DQ_PAGER] = "pager",
	[DQ_TABLE] = "table",
	[DQ_JSON] = "json",
	[DQ_HTTP] = "http",
	[DQ_MAILCOW_CSV] = "mailcow-csv",
	[DQ_MAILCOW_TSV] = "mailcow-tsv",
	[DQ_MAILCOW_API] = "mailcow-api",
};

const char *dq_format_name(enum dq_format f)
{
	if ((size_t)f < sizeof(format_names) / sizeof(format_names[0])) {
		return format_names[f];
	}
	return "?";
}

int dq_format_parse(const char *s, enum dq_format *out)
{
	for (size_t i = 0; i < sizeof(format_names) / sizeof(format_names[0]);
	     i++) {
		if (strcmp(s, format_names[i]) == 0) {
			*out = (enum dq_format)i;
			return 0;
		}
	}
	return -1;
}
