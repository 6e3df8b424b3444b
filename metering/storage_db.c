/*
 * storage_db — Dovecot snapshots into PostgreSQL; see storage_db.h.
 *
 * The work is done here, in memory, rather than in SQL over temporary
 * tables: the registry comes out in one binary COPY and attributes each
 * sample (by address, else by SASL login; the registry's address becomes
 * the mailbox name); the samples go straight into storage_samples in one
 * COPY; the day's daily maxima come out in another, are merged with the
 * snapshot, and only the rows that change go back: new mailbox-days in
 * one COPY sorted by the table's key (a B-tree fed in order fills its
 * pages one after the other), grown ones through an UPDATE.  Then the
 * snapshot's day is rolled up.  All of it in one transaction, with the
 * snapshot row whose UNIQUE (source, taken_at) makes a second ingestion a
 * no-op: a concurrent duplicate fails on the constraint and rolls back
 * whole.  Writers of one billing day's maxima take a lock of that day, so
 * that what one reads is still true when it writes.
 */
#include "storage_db.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/copy.h"
#include "common/copyout.h"
#include "common/db.h"
#include "common/xalloc.h"

static uint64_t name_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

/*
 * Strings that live as long as the store: carved from blocks of 1 MiB
 * (a million names are a million small strings, freed at once).
 */
struct arena {
	char **block;
	size_t nblock;
	char *cur;
	size_t left;
};

static const char *arena_dup(struct arena *a, const char *s, size_t n)
{
	char *p;

	if (a->left < n + 1) {
		size_t sz = n + 1 > (1u << 20) ? n + 1 : (1u << 20);

		a->block = xreallocarray(a->block, a->nblock + 1,
					 sizeof(*a->block));
		a->block[a->nblock++] = a->cur = xmalloc(sz);
		a->left = sz;
	}
	p = a->cur;
	memcpy(p, s, n);
	p[n] = '\0';
	a->cur += n + 1;
	a->left -= n + 1;
	return p;
}

static void arena_free(struct arena *a)
{
	for (size_t i = 0; i < a->nblock; i++) {
		free(a->block[i]);
	}
	free(a->block);
	memset(a, 0, sizeof(*a));
}

/*
 * An open-addressing index of strings: a slot holds an entry's number + 1
 * (0: empty) in its low half and the high half of the key's hash in its
 * high half, so that a probe reads the entry only when the hashes agree
 * (a million entries do not stay in the cache).  The caller keeps the
 * entries.  Sized once, at least twice the entries.
 */
struct strindex {
	uint64_t *slot;
	size_t mask;
};

#define SLOT_TAG(h) ((h) >> 32)
#define SLOT_ENTRY(v) ((uint32_t)(v) - 1)

static void strindex_init(struct strindex *x, size_t n)
{
	size_t sz = 16;

	while (sz < 2 * n) {
		sz <<= 1;
	}
	x->slot = xcalloc(sz, sizeof(*x->slot));
	x->mask = sz - 1;
}

/* An entry's key, for strindex_find: entry e's string and its length. */
typedef const char *(*strindex_key)(const void *ctx, uint32_t e,
				    size_t *len);

/* Entry v under the key s (n bytes). */
static void strindex_put(struct strindex *x, const char *s, size_t n,
			 uint32_t v)
{
	uint64_t h = name_hash(s, n);
	size_t i = h & x->mask;

	while (x->slot[i]) {
		i = (i + 1) & x->mask;
	}
	x->slot[i] = SLOT_TAG(h) << 32 | ((uint64_t)v + 1);
}

/*
 * The entry whose key (key(ctx, e)) is s, or -1; with free_slot, the
 * slot where s would go when it is missing (for strindex_set).
 */
static long strindex_find(const struct strindex *x, const char *s,
			  size_t n, strindex_key key, const void *ctx,
			  size_t *free_slot)
{
	uint64_t h = name_hash(s, n);
	size_t i;

	for (i = h & x->mask; x->slot[i]; i = (i + 1) & x->mask) {
		uint32_t e = SLOT_ENTRY(x->slot[i]);
		size_t len;
		const char *k;

		if (SLOT_TAG(x->slot[i]) != SLOT_TAG(h)) {
			continue;
		}
		k = key(ctx, e, &len);
		if (len == n && memcmp(k, s, n) == 0) {
			return (long)e;
		}
	}
	if (free_slot) {
		*free_slot = i;
	}
	return -1;
}

/* Entry v under s in the slot strindex_find gave for it. */
static void strindex_set(struct strindex *x, size_t slot, const char *s,
			 size_t n, uint32_t v)
{
	x->slot[slot] = SLOT_TAG(name_hash(s, n)) << 32 | ((uint64_t)v + 1);
}

/* The registry's mailboxes. */
struct reg_mb {
	const char *address, *login, *customer;
	uint32_t alen, llen;
	int exists; /* on the snapshot's billing day */
};

struct registry {
	struct reg_mb *mb;
	size_t n, cap;
	struct strindex by_addr, by_login; /* by_login: built when first
					    * needed (most names are addresses) */
	struct arena strings;
};

static int reg_row(void *ctx, int n, const char *const *f, const int *len,
		   struct diag *d)
{
	struct registry *r = ctx;
	struct reg_mb *m;

	if (n != 4 || len[0] < 0 || len[1] < 0 || len[2] < 0 || len[3] != 1) {
		diag_add(d, "database: the registry: unexpected COPY row");
		return -1;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 4096;
		r->mb = xreallocarray(r->mb, r->cap, sizeof(*r->mb));
	}
	m = &r->mb[r->n++];
	m->address = arena_dup(&r->strings, f[0], (size_t)len[0]);
	m->alen = (uint32_t)len[0];
	m->login = arena_dup(&r->strings, f[1], (size_t)len[1]);
	m->llen = (uint32_t)len[1];
	m->customer = arena_dup(&r->strings, f[2], (size_t)len[2]);
	m->exists = f[3][0] != 0;
	return 0;
}

static const char *mb_address(const void *ctx, uint32_t e, size_t *len)
{
	const struct reg_mb *m = &((const struct registry *)ctx)->mb[e];

	*len = m->alen;
	return m->address;
}

static const char *mb_login(const void *ctx, uint32_t e, size_t *len)
{
	const struct reg_mb *m = &((const struct registry *)ctx)->mb[e];

	*len = m->llen;
	return m->login;
}

/* The registry mailbox whose address (by 1) or login (by 0) is s, or -1. */
static long reg_find(struct registry *r, int by_addr, const char *s,
		     size_t n)
{
	if (r->n == 0) {
		return -1;
	}
	if (!by_addr && !r->by_login.slot) {
		strindex_init(&r->by_login, r->n);
		for (size_t i = 0; i < r->n; i++) {
			strindex_put(&r->by_login, r->mb[i].login,
				     r->mb[i].llen, (uint32_t)i);
		}
	}
	return by_addr ? strindex_find(&r->by_addr, s, n, mb_address, r, NULL)
		       : strindex_find(&r->by_login, s, n, mb_login, r, NULL);
}

static int reg_load(PGconn *c, struct registry *r, struct diag *d)
{
	if (copyout_run(c, "COPY (SELECT address, login, customer_id,"
			   " (start_date IS NULL OR start_date <= d.day)"
			   " AND (end_date IS NULL OR end_date > d.day)"
			   " FROM mailboxes, (SELECT current_setting("
			   "'releve.store_day')::date AS day) d)"
			   " TO STDOUT (FORMAT binary)",
			reg_row, r, d)) {
		return -1;
	}
	strindex_init(&r->by_addr, r->n);
	for (size_t i = 0; i < r->n; i++) {
		strindex_put(&r->by_addr, r->mb[i].address, r->mb[i].alen,
			     (uint32_t)i);
	}
	return 0;
}

static void reg_free(struct registry *r)
{
	free(r->mb);
	free(r->by_addr.slot);
	free(r->by_login.slot);
	arena_free(&r->strings);
	memset(r, 0, sizeof(*r));
}

/* A sample to store: the mailbox's name (the registry's address when
 * attributed), its customer (NULL: unattributed). */
struct srow {
	const char *mbx;
	const char *cust;
	int64_t bytes;
	uint32_t len;
	uint32_t sample; /* index in the snapshot */
	int32_t reg;	 /* the registry's mailbox, -1: unattributed */
};

/* "{"a","b\"c"}": names as a text[] literal, passed as a parameter. */
static char *text_array(const char *const *names, size_t n)
{
	size_t cap = 3, len = 0;
	char *out;

	for (size_t i = 0; i < n; i++) {
		cap += 2 * strlen(names[i]) + 3;
	}
	out = xmalloc(cap);
	out[len++] = '{';
	for (size_t i = 0; i < n; i++) {
		const char *s = names[i];

		if (i) {
			out[len++] = ',';
		}
		out[len++] = '"';
		for (; *s; s++) {
			if (*s == '"' || *s == '\\') {
				out[len++] = '\\';
			}
			out[len++] = *s;
		}
		out[len++] = '"';
	}
	out[len++] = '}';
	out[len] = '\0';
	return out;
}

/*
 * Attribution: a sample's name is looked up as an address (in lower
 * case), else as a login (as it is).  ASCII names are lowered here; a
 * name with other bytes is lowered by the database (lower() as the
 * database's locale has it), in one query for all of them, before the
 * samples are sent.  The ASCII ones, nearly all, are looked up while the
 * samples are sent, so that the lookups overlap the server's work.
 */
#define MATCH_LATER (-2) /* an ASCII name, looked up when sent */

/* An ASCII name's registry mailbox, or -1. */
static long match_ascii(struct registry *r, const char *s, size_t len,
			char *low)
{
	long m;

	for (size_t k = 0; k < len; k++) {
		unsigned char ch = (unsigned char)s[k];

		low[k] = (char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
	}
	m = reg_find(r, 1, low, len);
	return m >= 0 ? m : reg_find(r, 0, s, len);
}

/* match[i] for every sample: the other names resolved, the ASCII ones
 * MATCH_LATER (errors: -1).  0 or -1. */
static int attribute_wide(PGconn *c, struct registry *r,
			  const struct dq_snapshot *snap, long *match,
			  struct diag *d)
{
	size_t nwide = 0;
	size_t *wide = NULL;
	int rc = -1;

	for (size_t i = 0; i < snap->n; i++) {
		const unsigned char *s =
			(const unsigned char *)snap->s[i].mailbox;

		match[i] = snap->s[i].error ? -1 : MATCH_LATER;
		if (snap->s[i].error) {
			continue;
		}
		while (*s && *s < 0x80) {
			s++;
		}
		if (*s) {
			wide = xreallocarray(wide, nwide + 1, sizeof(*wide));
			wide[nwide++] = i;
			match[i] = -1;
		}
	}
	if (nwide) {
		const char **names = xreallocarray(NULL, nwide, sizeof(*names));
		char *arr;

		for (size_t k = 0; k < nwide; k++) {
			names[k] = snap->s[wide[k]].mailbox;
		}
		arr = text_array(names, nwide);
		free(names);
		const char *p[1] = {arr};
		PGresult *res = db_exec(c, d,
			"SELECT u.ord, m.address FROM unnest($1::text[])"
			" WITH ORDINALITY AS u(name, ord)"
			" JOIN mailboxes m ON m.address = lower(u.name)", 1, p);

		free(arr);
		if (!res) {
			goto out;
		}
		for (int t = 0; t < PQntuples(res); t++) {
			long ord = atol(PQgetvalue(res, t, 0));

			if (ord >= 1 && (size_t)ord <= nwide) {
				match[wide[ord - 1]] = reg_find(
					r, 1, PQgetvalue(res, t, 1),
					(size_t)PQgetlength(res, t, 1));
			}
		}
		PQclear(res);
		for (size_t k = 0; k < nwide; k++) {
			const char *s = snap->s[wide[k]].mailbox;

			if (match[wide[k]] < 0) {
				match[wide[k]] = reg_find(r, 0, s, strlen(s));
			}
		}
	}
	rc = 0;
out:
	free(wide);
	return rc;
}

/*
 * The samples and the mailboxes in error, stored; rows gets the samples
 * stored (attributed), *n their number.
 */
static int store_samples(PGconn *c, struct registry *r, int64_t snapid,
			 int64_t at_us, const struct dq_snapshot *snap,
			 long *match, struct srow *rows, size_t *n,
			 long long *unattributed, struct diag *d)
{
	struct copy cp;
	size_t cap = 256;
	char *low = xmalloc(cap);

	*n = 0;
	*unattributed = 0;

	if (copy_begin_binary(&cp, c, "COPY storage_samples (snapshot_id,"
				      " sampled_at, mailbox, customer_id,"
				      " bytes, messages, limit_bytes)"
				      " FROM STDIN (FORMAT binary)", d)) {
		free(low);
		return -1;
	}
	for (size_t i = 0; i < snap->n; i++) {
		const struct dq_sample *s = &snap->s[i];
		struct srow *w;

		if (s->error) {
			continue;
		}
		w = &rows[(*n)++];
		w->sample = (uint32_t)i;
		w->bytes = s->bytes;
		w->len = (uint32_t)strlen(s->mailbox);
		if (match[i] == MATCH_LATER) {
			if (w->len + 1 > cap) {
				cap = 2 * ((size_t)w->len + 1);
				low = xreallocarray(low, cap, 1);
			}
			match[i] = match_ascii(r, s->mailbox, w->len, low);
		}
		w->reg = (int32_t)match[i];
		if (match[i] >= 0) {
			w->mbx = r->mb[match[i]].address;
			w->len = r->mb[match[i]].alen;
			w->cust = r->mb[match[i]].customer;
		} else {
			w->mbx = s->mailbox;
			w->cust = NULL;
			(*unattributed)++;
		}
		copy_int(&cp, snapid);
		copy_int(&cp, at_us); /* timestamptz */
		copy_text(&cp, w->mbx);
		if (w->cust) {
			copy_text(&cp, w->cust);
		} else {
			copy_null(&cp);
		}
		copy_int(&cp, s->bytes);
		if (s->messages < 0) {
			copy_null(&cp);
		} else {
			copy_int(&cp, s->messages);
		}
		if (s->limit_bytes < 0) {
			copy_null(&cp);
		} else {
			copy_int(&cp, s->limit_bytes);
		}
		if (copy_row(&cp)) {
			break;
		}
	}
	free(low);
	if (copy_end(&cp, 0)) {
		return -1;
	}
	if (snap->nerrors == 0) {
		return 0;
	}
	/* A handful usually: through a temporary table, so that a name
	 * listed twice is stored once. */
	if (db_cmd(c, d, "CREATE TEMP TABLE tmp_storage_errors (mailbox text,"
			 " reason text) ON COMMIT DROP", 0, NULL) ||
	    copy_begin(&cp, c, "COPY tmp_storage_errors FROM STDIN", d)) {
		return -1;
	}
	for (size_t i = 0; i < snap->n; i++) {
		const struct dq_sample *s = &snap->s[i];

		if (!s->error) {
			continue;
		}
		copy_text(&cp, s->mailbox);
		copy_text(&cp, s->reason ? s->reason : "error");
		if (copy_row(&cp)) {
			break;
		}
	}
	if (copy_end(&cp, 0)) {
		return -1;
	}
	char id[32];
	const char *p[1] = {id};

	snprintf(id, sizeof(id), "%lld", (long long)snapid);
	return db_cmd(c, d, "INSERT INTO storage_sample_errors (snapshot_id,"
			    " mailbox, reason) SELECT $1, mailbox, reason"
			    " FROM tmp_storage_errors ON CONFLICT DO NOTHING",
		      1, p);
}

/* The day's maxima already stored, by mailbox. */
struct day_row {
	const char *mbx, *cust; /* cust NULL: unattributed */
	int64_t max_bytes;
	uint32_t len;
};

struct day_rows {
	struct day_row *r;
	size_t n, cap;
	struct strindex x;
	struct arena strings;
};

static int day_row_in(void *ctx, int n, const char *const *f, const int *len,
		      struct diag *d)
{
	struct day_rows *dr = ctx;
	struct day_row *w;
	int64_t v;

	if (n != 3 || len[0] < 0 || !copyout_int(f[2], len[2], &v)) {
		diag_add(d, "database: the daily maxima: unexpected COPY row");
		return -1;
	}
	if (dr->n == dr->cap) {
		dr->cap = dr->cap ? 2 * dr->cap : 4096;
		dr->r = xreallocarray(dr->r, dr->cap, sizeof(*dr->r));
	}
	w = &dr->r[dr->n++];
	w->mbx = arena_dup(&dr->strings, f[0], (size_t)len[0]);
	w->len = (uint32_t)len[0];
	w->cust = len[1] < 0 ? NULL
			     : arena_dup(&dr->strings, f[1], (size_t)len[1]);
	w->max_bytes = v;
	return 0;
}

static const char *day_key(const void *ctx, uint32_t e, size_t *len)
{
	const struct day_row *w = &((const struct day_rows *)ctx)->r[e];

	*len = w->len;
	return w->mbx;
}

static const struct day_row *day_find(const struct day_rows *dr,
				      const char *s, size_t n)
{
	long e = dr->n ? strindex_find(&dr->x, s, n, day_key, dr, NULL) : -1;

	return e >= 0 ? &dr->r[e] : NULL;
}

/* The order of the key of storage_mailbox_daily under the C collation
 * (bytes, then length), the order a B-tree is cheapest to fill in. */
static int srow_cmp(const void *a, const void *b)
{
	const struct srow *x = a, *y = b;
	size_t n = x->len < y->len ? x->len : y->len;
	int c = memcmp(x->mbx, y->mbx, n);

	if (c) {
		return c;
	}
	return (x->len > y->len) - (x->len < y->len);
}

static int same_cust(const char *a, const char *b)
{
	return a == b || (a && b && strcmp(a, b) == 0);
}

/* COPY rows[0..n) into storage_mailbox_daily for day day_no. */
static int copy_daily(PGconn *c, int32_t day_no, const struct srow *rows,
		      size_t n, struct diag *d)
{
	struct copy ins;

	if (copy_begin_binary(&ins, c, "COPY storage_mailbox_daily (mailbox,"
				       " day, customer_id, max_bytes)"
				       " FROM STDIN (FORMAT binary)", d)) {
		return -1;
	}
	for (size_t i = 0; i < n; i++) {
		copy_text(&ins, rows[i].mbx);
		copy_int4(&ins, day_no); /* date */
		if (rows[i].cust) {
			copy_text(&ins, rows[i].cust);
		} else {
			copy_null(&ins);
		}
		copy_int(&ins, rows[i].bytes);
		if (copy_row(&ins)) {
			break;
		}
	}
	return copy_end(&ins, 0);
}

/* What a snapshot's row does to the day's row (srow.sample, reused once
 * the samples are stored). */
enum { FOLD_NEW, FOLD_GROWN, FOLD_SAME };

/*
 * Fold the samples into the day's maxima: a mailbox without a row for
 * the day gets one, a row grows when a sample is larger (or follows the
 * mailbox to another customer); the rest is left as it is.  A later
 * snapshot of a day grows most rows (mail arrives all day): the table's
 * fillfactor (sql/010) leaves room in each page for the new versions, so
 * that the UPDATE is a HOT one, with no index entry to write (1M rows:
 * 2.7 s, against 7.9 s in full pages; deleting the day and copying it
 * back whole took 7 s).  rows is sorted and rewritten here.  today[i]
 * gets the day's largest value of the registry's mailbox i (left alone
 * when it has none).
 */
static int fold_daily(PGconn *c, const char *day, int32_t day_no,
		      struct srow *rows, size_t n,
		      struct registry *reg, int64_t *today,
		      struct diag *d)
{
	const char *p[1] = {day};
	struct day_rows dr;
	struct copy upd;
	size_t m = 0, nnew = 0, nupd = 0;
	struct srow *all = NULL;
	int rc = -1;
	PGresult *r;

	memset(&dr, 0, sizeof(dr));
	char sql[256];

	r = db_exec(c, d, "SELECT pg_advisory_xact_lock("
			  "hashtext('releve storage_mailbox_daily'),"
			  " $1::date - date '2000-01-01')",
		    1, p);
	if (!r) {
		return -1;
	}
	PQclear(r);
	/* COPY takes no parameters.  The day goes in as the number it is
	 * (an integer: nothing to quote), a constant the planner sees: a
	 * sub-select of a setting, as before, is a value it does not know,
	 * and with a few days of history it chose to read the whole table
	 * (0.3-0.5 s for 4 M rows) rather than the day's part of the key. */
	snprintf(sql, sizeof(sql),
		 "COPY (SELECT mailbox, customer_id, max_bytes"
		 " FROM storage_mailbox_daily WHERE day ="
		 " date '2000-01-01' + %d) TO STDOUT (FORMAT binary)",
		 (int)day_no);
	if (copyout_run(c, sql, day_row_in, &dr, d)) {
		goto out;
	}
	strindex_init(&dr.x, dr.n);
	for (size_t i = 0; i < dr.n; i++) {
		long k = reg_find(reg, 1, dr.r[i].mbx, dr.r[i].len);

		strindex_put(&dr.x, dr.r[i].mbx, dr.r[i].len, (uint32_t)i);
		if (k >= 0 && today[k] < dr.r[i].max_bytes) {
			today[k] = dr.r[i].max_bytes;
		}
	}
	qsort(rows, n, sizeof(*rows), srow_cmp);

	/* One row per mailbox (a login and an address naming one mailbox
	 * are one row), its fate against the day's row, in rows[0..m). */
	for (size_t i = 0, j; i < n; i = j) {
		struct srow w = rows[i];
		const struct day_row *old;

		for (j = i + 1; j < n && srow_cmp(&rows[j], &w) == 0; j++) {
			if (rows[j].bytes > w.bytes) {
				w.bytes = rows[j].bytes;
			}
		}
		if (w.reg >= 0 && today[w.reg] < w.bytes) {
			today[w.reg] = w.bytes;
		}
		old = day_find(&dr, w.mbx, w.len);
		if (!old) {
			w.sample = FOLD_NEW;
			nnew++;
		} else {
			if (old->max_bytes >= w.bytes &&
			    same_cust(old->cust, w.cust)) {
				w.sample = FOLD_SAME;
				w.bytes = old->max_bytes;
			} else {
				w.sample = FOLD_GROWN;
				if (w.bytes < old->max_bytes) {
					w.bytes = old->max_bytes;
				}
				nupd++;
			}
		}
		rows[m++] = w;
	}

	/* New rows copied (in order), grown ones updated. */
	if (nnew) {
		size_t k = 0;

		all = xreallocarray(NULL, nnew, sizeof(*all));
		for (size_t i = 0; i < m; i++) {
			if (rows[i].sample == FOLD_NEW) {
				all[k++] = rows[i];
			}
		}
		if (copy_daily(c, day_no, all, nnew, d)) {
			goto out;
		}
	}
	if (nupd) {
		if (db_cmd(c, d, "CREATE TEMP TABLE tmp_daily_grown"
				 " (mailbox text, customer_id text,"
				 " max_bytes bigint) ON COMMIT DROP", 0, NULL) ||
		    copy_begin(&upd, c, "COPY tmp_daily_grown FROM STDIN", d)) {
			goto out;
		}
		for (size_t i = 0; i < m; i++) {
			if (rows[i].sample != FOLD_GROWN) {
				continue;
			}
			copy_text(&upd, rows[i].mbx);
			if (rows[i].cust) {
				copy_text(&upd, rows[i].cust);
			} else {
				copy_null(&upd);
			}
			copy_int(&upd, rows[i].bytes);
			if (copy_row(&upd)) {
				break;
			}
		}
		if (copy_end(&upd, 0) ||
		    db_cmd(c, d, "UPDATE storage_mailbox_daily x"
				 " SET customer_id = g.customer_id,"
				 " max_bytes = g.max_bytes"
				 " FROM tmp_daily_grown g"
				 " WHERE x.mailbox = g.mailbox"
				 " AND x.day = $1::date", 1, p)) {
			goto out;
		}
	}
	rc = 0;
out:
	free(all);
	free(dr.r);
	free(dr.x.slot);
	arena_free(&dr.strings);
	return rc;
}

/*
 * The rollup of the snapshot's day (storage_rollup's rules, for one day)
 * from what the store holds in memory: the registry, and each mailbox's
 * largest value of the day (today, -1: none).  A mailbox existing that
 * day without a value is looked up in the carry_days days before, by
 * exact keys, when such mailboxes are few; when they are many (a source
 * that sees part of the mailboxes only), storage_rollup does the day from
 * the table instead.
 */
#define ROLLUP_DAY_LOOKUPS 20000

struct cust_day {
	const char *id;
	int64_t bytes;
	int32_t mailboxes, sampled, carried;
};

static const char *cust_key(const void *ctx, uint32_t e, size_t *len)
{
	const char *id = ((const struct cust_day *)ctx)[e].id;

	*len = strlen(id);
	return id;
}

static int cust_day_cmp(const void *a, const void *b)
{
	return strcmp(((const struct cust_day *)a)->id,
		      ((const struct cust_day *)b)->id);
}

static int rollup_day(PGconn *c, const struct registry *reg, int64_t *today,
		      const char *day, int32_t day_no, const char *next,
		      int carry, struct diag *d)
{
	unsigned char *state = xcalloc(reg->n ? reg->n : 1, 1); /* 1 sampled, 2 carried */
	size_t *miss = NULL, nmiss = 0, ncd = 0;
	struct cust_day *cd = NULL;
	struct strindex cx = {NULL, 0};
	char carrys[16];
	struct copy cp;
	int rc = -1;

	snprintf(carrys, sizeof(carrys), "%d", carry);
	for (size_t i = 0; i < reg->n; i++) {
		if (!reg->mb[i].exists) {
			continue;
		}
		if (today[i] >= 0) {
			state[i] = 1;
		} else {
			miss = xreallocarray(miss, nmiss + 1, sizeof(*miss));
			miss[nmiss++] = i;
		}
	}
	if (nmiss > ROLLUP_DAY_LOOKUPS) {
		struct rollup_result rr;

		rc = storage_rollup(c, day, next, carry, &rr, d);
		goto out;
	}
	if (nmiss && carry > 0) {
		const char **names = xreallocarray(NULL, nmiss, sizeof(*names));
		char *arr;
		PGresult *r;

		for (size_t k = 0; k < nmiss; k++) {
			names[k] = reg->mb[miss[k]].address;
		}
		arr = text_array(names, nmiss);
		free(names);
		const char *p[3] = {arr, day, carrys};

		r = db_exec(c, d, "SELECT u.ord, s.max_bytes"
				  " FROM unnest($1::text[]) WITH ORDINALITY"
				  " AS u(name, ord) CROSS JOIN LATERAL ("
				  " SELECT x.max_bytes"
				  " FROM generate_series(1, $3::int) k(back)"
				  " JOIN storage_mailbox_daily x"
				  " ON x.day = $2::date - k.back"
				  " AND x.mailbox = u.name"
				  " ORDER BY k.back LIMIT 1) s", 3, p);
		free(arr);
		if (!r) {
			goto out;
		}
		for (int t = 0; t < PQntuples(r); t++) {
			long ord = atol(PQgetvalue(r, t, 0));

			if (ord >= 1 && (size_t)ord <= nmiss) {
				today[miss[ord - 1]] =
					atoll(PQgetvalue(r, t, 1));
				state[miss[ord - 1]] = 2;
			}
		}
		PQclear(r);
	}
	/* each customer's day, by customer (cd never NULL: one slot to
	 * begin with) */
	cd = xreallocarray(NULL, 1, sizeof(*cd));
	strindex_init(&cx, reg->n / 2 + 1);
	for (size_t i = 0, last = SIZE_MAX; i < reg->n; i++) {
		const struct reg_mb *m = &reg->mb[i];
		size_t slot, clen;
		long k;
		struct cust_day *y;

		if (!m->exists) {
			continue;
		}
		/* the registry's rows come mostly customer by customer */
		if (last != SIZE_MAX && strcmp(cd[last].id, m->customer) == 0) {
			y = &cd[last];
			goto found;
		}
		clen = strlen(m->customer);
		k = strindex_find(&cx, m->customer, clen, cust_key, cd, &slot);
		if (k < 0) {
			if ((ncd & (ncd - 1)) == 0) {
				cd = xreallocarray(cd, ncd ? 2 * ncd : 1,
						   sizeof(*cd));
			}
			memset(&cd[ncd], 0, sizeof(*cd));
			cd[ncd].id = m->customer;
			strindex_set(&cx, slot, m->customer, clen,
				     (uint32_t)ncd);
			k = (long)ncd++;
		}
		last = (size_t)k;
		y = &cd[last];
	found:
		y->mailboxes++;
		if (!state[i]) {
			continue; /* a gap */
		}
		if (state[i] == 1) {
			y->sampled++;
		} else {
			y->carried++;
		}
		if (y->bytes > INT64_MAX - today[i]) {
			diag_add(d, "customer %s, %s: storage beyond 2^63-1"
				    " bytes", m->customer, day);
			goto out;
		}
		y->bytes += today[i];
	}
	qsort(cd, ncd, sizeof(*cd), cust_day_cmp);
	{
		const char *p[1] = {day};

		if (db_cmd(c, d, "DELETE FROM storage_customer_daily"
				 " WHERE day = $1::date", 1, p)) {
			goto out;
		}
	}
	if (copy_begin_binary(&cp, c, "COPY storage_customer_daily (customer_id,"
				      " day, storage_bytes, mailboxes, sampled,"
				      " carried, gaps, carry_days)"
				      " FROM STDIN (FORMAT binary)", d)) {
		goto out;
	}
	for (size_t i = 0; i < ncd; i++) {
		copy_text(&cp, cd[i].id);
		copy_int4(&cp, day_no); /* date */
		copy_int(&cp, cd[i].bytes);
		copy_int4(&cp, cd[i].mailboxes);
		copy_int4(&cp, cd[i].sampled);
		copy_int4(&cp, cd[i].carried);
		copy_int4(&cp, cd[i].mailboxes - cd[i].sampled - cd[i].carried);
		copy_int4(&cp, carry);
		if (copy_row(&cp)) {
			break;
		}
	}
	rc = copy_end(&cp, 0);
out:
	free(state);
	free(miss);
	free(cd);
	free(cx.slot);
	return rc;
}

/*
 * A back-dated snapshot (a late one from another source, an import of
 * old snapshots): the days after it that are rolled up already may carry
 * from it, up to carry_days.  Those days are rolled up again from the
 * table, in the same transaction; days not rolled up yet are left to
 * their own snapshots.  Nothing to do for the latest day (the usual case:
 * one indexed look-up).
 */
static int rollup_after(PGconn *c, const char *day, const char *next,
			int carry_days, struct diag *d)
{
	char carrys[16], last[16];
	const char *p[2] = {day, carrys};
	struct rollup_result rr;
	PGresult *r;

	if (carry_days <= 0) {
		return 0;
	}
	snprintf(carrys, sizeof(carrys), "%d", carry_days);
	r = db_exec(c, d, "SELECT max(day) + 1 FROM storage_customer_daily"
			  " WHERE day > $1::date AND day <= $1::date + $2::int",
		    2, p);
	if (!r) {
		return -1;
	}
	if (PQgetisnull(r, 0, 0)) {
		PQclear(r);
		return 0;
	}
	snprintf(last, sizeof(last), "%s", PQgetvalue(r, 0, 0));
	PQclear(r);
	return storage_rollup(c, next, last, carry_days, &rr, d);
}

int storage_begin(PGconn *c, const char *taken_at, struct storage_tx *tx,
		  struct diag *d)
{
	PGresult *r;
	const char *p[1] = {taken_at};

	memset(tx, 0, sizeof(*tx));
	/*
	 * synchronous_commit off: a snapshot's commit need not wait for its
	 * WAL to reach the disk.  A crash just after may lose the snapshot
	 * (never half of it: the transaction is atomic), and it is re-taken
	 * at the next run (hourly); this commit is all this transaction
	 * changes.  jit: compiling costs more than it saves here.
	 */
	if (db_begin(c, d) ||
	    db_cmd(c, d, "SET LOCAL synchronous_commit = off", 0, NULL) ||
	    db_cmd(c, d, "SET LOCAL jit = off", 0, NULL)) {
		db_rollback(c);
		return -1;
	}
	r = db_exec(c, d, "SELECT releve_billing_day($1::timestamptz),"
			  " releve_billing_day($1::timestamptz) + 1,"
			  " releve_ensure_month_partition("
			  "'storage_samples', $1::timestamptz),"
			  " set_config('releve.store_day',"
			  " releve_billing_day($1::timestamptz)::text, true),"
			  " (extract(epoch FROM $1::timestamptz"
			  "  - timestamptz '2000-01-01 00:00:00+00')"
			  "  * 1000000)::bigint,"
			  " releve_billing_day($1::timestamptz)"
			  "  - date '2000-01-01'",
		    1, p);
	if (!r) {
		db_rollback(c);
		return -1;
	}
	snprintf(tx->day, sizeof(tx->day), "%s", PQgetvalue(r, 0, 0));
	snprintf(tx->next, sizeof(tx->next), "%s", PQgetvalue(r, 0, 1));
	tx->at_us = atoll(PQgetvalue(r, 0, 4));
	tx->day_no = atoi(PQgetvalue(r, 0, 5));
	PQclear(r);
	tx->reg = xcalloc(1, sizeof(struct registry));
	if (reg_load(c, tx->reg, d)) {
		storage_abandon(c, tx);
		return -1;
	}
	tx->open = 1;
	return 0;
}

void storage_abandon(PGconn *c, struct storage_tx *tx)
{
	if (tx->reg) {
		reg_free(tx->reg);
		free(tx->reg);
	}
	if (c) {
		db_rollback(c);
	}
	memset(tx, 0, sizeof(*tx));
}

int storage_store_tx(PGconn *c, struct storage_tx *tx, const char *source,
		     const char *taken_at, const struct dq_snapshot *snap,
		     int carry_days, struct storage_result *res,
		     struct diag *d)
{
	struct registry *reg = tx->reg;
	struct srow *rows = NULL;
	int64_t *today = NULL;
	PGresult *r;
	char snapid[32], nsamples[32], nerrors[32], unatt[32];
	long *match = NULL;
	size_t n;

	memset(res, 0, sizeof(*res));
	if (!tx->open) {
		diag_add(d, "storage: no transaction begun");
		return -1;
	}
	snprintf(res->day, sizeof(res->day), "%s", tx->day);
	rows = xreallocarray(NULL, snap->n ? snap->n : 1, sizeof(*rows));
	match = xreallocarray(NULL, snap->n ? snap->n : 1, sizeof(*match));
	snprintf(nsamples, sizeof(nsamples), "%zu", snap->n - snap->nerrors);
	snprintf(nerrors, sizeof(nerrors), "%zu", snap->nerrors);
	{
		const char *p[5] = {source, taken_at,
				    dq_format_name(snap->format), nsamples,
				    nerrors};

		r = db_exec(c, d,
			    "INSERT INTO storage_snapshots (source, taken_at,"
			    " format, samples, errors, unattributed)"
			    " VALUES ($1, $2, $3, $4, $5, 0)"
			    " ON CONFLICT (source, taken_at) DO NOTHING"
			    " RETURNING id", 5, p);
		if (!r) {
			goto fail;
		}
		if (PQntuples(r) == 0) {
			PQclear(r);
			free(rows);
			free(match);
			storage_abandon(c, tx);
			memset(res, 0, sizeof(*res));
			res->already = 1;
			return 0;
		}
		snprintf(snapid, sizeof(snapid), "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	if (attribute_wide(c, reg, snap, match, d) ||
	    store_samples(c, reg, atoll(snapid), tx->at_us, snap, match, rows,
			  &n, &res->unattributed, d)) {
		goto fail;
	}
	res->samples = (long long)n;
	snprintf(unatt, sizeof(unatt), "%lld", res->unattributed);
	{
		const char *q[2] = {snapid, unatt};

		if (db_cmd(c, d, "UPDATE storage_snapshots SET unattributed = $2"
				 " WHERE id = $1", 2, q)) {
			goto fail;
		}
	}
	today = xreallocarray(NULL, reg->n ? reg->n : 1, sizeof(*today));
	for (size_t i = 0; i < reg->n; i++) {
		today[i] = -1;
	}
	/* The snapshot's day, rolled up at once, and the later days
	 * already rolled up that it may carry into (rollup_after). */
	if (fold_daily(c, tx->day, tx->day_no, rows, n, reg, today,
		       d) ||
	    rollup_day(c, reg, today, tx->day, tx->day_no, tx->next,
		       carry_days, d) ||
	    rollup_after(c, tx->day, tx->next, carry_days, d) ||
	    db_commit(c, d)) {
		goto fail;
	}
	free(rows);
	free(match);
	free(today);
	tx->open = 0;
	storage_abandon(NULL, tx);
	res->errors = (long long)snap->nerrors;
	return 0;
fail:
	free(rows);
	free(match);
	free(today);
	storage_abandon(c, tx);
	memset(res, 0, sizeof(*res));
	return -1;
}

/*
 * The rollup, computed here rather than in SQL: the daily maxima of the
 * window [from - carry_days, to) come out in one binary COPY, the
 * registry's mailboxes (ordered by customer) in one query, and the
 * customers' days go back in one COPY, in the order of the table's key.
 * In SQL the same rules cost a date series per sample and two
 * aggregations per customer and day, three to four times as long for a
 * month of 100,000 customers.  The rules, per mailbox existing on day d
 * (lo <= d < hi, its registry dates clipped to the period): the sample of
 * day d ("sampled"), else the latest sample of the carry_days days before
 * ("carried"), else nothing: a gap counting zero.  A customer's day is the
 * sum over its mailboxes existing that day; a customer-day without any
 * existing mailbox has no row.  storage_mailbox_days() states the same
 * rules in SQL; the tests hold the two together.
 *
 * Days are numbers here: PostgreSQL's (days since 2000-01-01, the binary
 * COPY form of a date) minus the first day's, so from is day 0.
 */

struct rl_mailbox {
	const char *address; /* in the registry's PGresult */
	int len;
	int cust;	     /* index in the customers' order */
	int lo, hi;	     /* existing days [lo, hi), 0 <= lo < hi <= ndays */
	uint32_t first;	     /* its samples: perm[first .. first + n) */
	uint32_t n;
};

struct rl_sample {
	uint32_t mbx;
	int32_t day;
	int64_t bytes;
};


static uint32_t rd32(const unsigned char *p)
{
	return (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 |
	       (uint32_t)p[2] << 8 | p[3];
}

static uint64_t rd64(const unsigned char *p)
{
	return (uint64_t)rd32(p) << 32 | rd32(p + 4);
}

struct rl_state {
	struct rl_mailbox *mb;
	size_t nmb;
	uint32_t *slot; /* open addressing: mailbox index + 1, 0 empty */
	size_t mask;
	struct rl_sample *s;
	size_t ns, cap;
	int32_t day0;	/* PostgreSQL day number of from */
	int carry;
};

static long rl_find(const struct rl_state *st, const char *a, size_t n)
{
	for (size_t i = name_hash(a, n) & st->mask; st->slot[i];
	     i = (i + 1) & st->mask) {
		const struct rl_mailbox *m = &st->mb[st->slot[i] - 1];

		if ((size_t)m->len == n && memcmp(m->address, a, n) == 0) {
			return (long)(st->slot[i] - 1);
		}
	}
	return -1;
}

/*
 * Parse the tuples of a binary COPY stream in buf[0..len); returns the
 * bytes consumed (complete tuples only), or -1 on a malformed stream.
 * *header: the 19-byte header is still to be skipped.  *done: the
 * trailer was seen.
 */
static long rl_tuples(struct rl_state *st, const unsigned char *buf,
		      size_t len, int *header, int *done)
{
	static const unsigned char sig[11] = "PGCOPY\n\377\r\n";
	size_t off = 0;

	if (*header) {
		uint32_t ext;

		if (len < 19) {
			return 0;
		}
		if (memcmp(buf, sig, 11) != 0) {
			return -1;
		}
		ext = rd32(buf + 15);
		if (len < 19 + (size_t)ext) {
			return 0;
		}
		off = 19 + ext;
		*header = 0;
	}
	while (off + 2 <= len) {
		const unsigned char *p = buf + off;
		int16_t nf = (int16_t)((p[0] << 8) | p[1]);
		size_t need;
		uint32_t alen;
		long m;

		if (nf == -1) {
			*done = 1;
			return (long)(off + 2);
		}
		if (nf != 3) {
			return -1;
		}
		/* mailbox text, day date (4), max_bytes int8 (8) */
		if (off + 6 > len) {
			break;
		}
		alen = rd32(p + 2);
		if (alen > (1u << 30)) {
			return -1; /* also a NULL (-1): not in this column */
		}
		need = 2 + 4 + (size_t)alen + 4 + 4 + 4 + 8;
		if (off + need > len) {
			break;
		}
		if (rd32(p + 6 + alen) != 4 || rd32(p + 14 + alen) != 8) {
			return -1;
		}
		m = rl_find(st, (const char *)p + 6, alen);
		if (m >= 0) {
			if (st->ns == st->cap) {
				st->cap = st->cap ? 2 * st->cap : 1 << 16;
				st->s = xreallocarray(st->s, st->cap,
						      sizeof(*st->s));
			}
			st->s[st->ns].mbx = (uint32_t)m;
			st->s[st->ns].day =
				(int32_t)rd32(p + 10 + alen) - st->day0;
			st->s[st->ns].bytes = (int64_t)rd64(p + 18 + alen);
			st->ns++;
		}
		off += need;
	}
	return (long)off;
}

/* Read the COPY TO STDOUT already started on c into st->s. */
static int rl_read_samples(PGconn *c, struct rl_state *st, struct diag *d)
{
	unsigned char *pend = NULL;
	size_t plen = 0, pcap = 0;
	int header = 1, done = 0, bad = 0;
	PGresult *r;

	for (;;) {
		char *row;
		int n = PQgetCopyData(c, &row, 0);
		long used;

		if (n == -1) {
			break;
		}
		if (n < 0) {
			diag_add(d, "database: reading the daily maxima: %s",
				 PQerrorMessage(c));
			bad = 1;
			break;
		}
		if (bad || done) {
			PQfreemem(row);
			continue;
		}
		if (plen == 0) {
			/* the usual case: whole tuples in each message */
			used = rl_tuples(st, (unsigned char *)row, (size_t)n,
					 &header, &done);
			if (used >= 0 && (size_t)used < (size_t)n) {
				if (pcap < (size_t)n) {
					pcap = (size_t)n;
					pend = xreallocarray(pend, pcap, 1);
				}
				memcpy(pend, row + used, (size_t)n - (size_t)used);
				plen = (size_t)n - (size_t)used;
			}
		} else {
			if (pcap - plen < (size_t)n) {
				pcap = plen + (size_t)n;
				pend = xreallocarray(pend, pcap, 1);
			}
			memcpy(pend + plen, row, (size_t)n);
			plen += (size_t)n;
			used = rl_tuples(st, pend, plen, &header, &done);
			if (used > 0) {
				memmove(pend, pend + used, plen - (size_t)used);
				plen -= (size_t)used;
			}
		}
		PQfreemem(row);
		if (used < 0) {
			diag_add(d, "database: the daily maxima: unexpected "
				    "binary COPY data");
			bad = 1;
		}
	}
	free(pend);
	while ((r = PQgetResult(c)) != NULL) {
		if (PQresultStatus(r) != PGRES_COMMAND_OK && !bad) {
			diag_add(d, "database: reading the daily maxima: %s",
				 PQerrorMessage(c));
			bad = 1;
		}
		PQclear(r);
	}
	if (!bad && (!done || plen)) {
		diag_add(d, "database: the daily maxima: truncated COPY data");
		bad = 1;
	}
	return bad ? -1 : 0;
}

static int rl_by_day(const void *a, const void *b)
{
	const struct rl_sample *x = a, *y = b;

	return (x->day > y->day) - (x->day < y->day);
}

struct rl_day {
	int64_t bytes;
	int32_t mailboxes, sampled, carried;
};

int storage_rollup(PGconn *c, const char *from, const char *to,
		   int carry_days, struct rollup_result *res, struct diag *d)
{
	char carry[16];
	const char *p[3] = {from, to, carry};
	PGresult *rm = NULL, *rd = NULL, *r;
	struct rl_state st;
	struct rl_sample *sorted = NULL;
	struct rl_day *days = NULL;
	struct copy cp;
	int ndays, own = 0, rc = -1;

	memset(res, 0, sizeof(*res));
	memset(&st, 0, sizeof(st));
	st.carry = carry_days;
	snprintf(carry, sizeof(carry), "%d", carry_days);
	if (PQtransactionStatus(c) == PQTRANS_IDLE) {
		if (db_begin(c, d)) {
			return -1;
		}
		own = 1;
	}
	/* Replaced whole: customers or mailboxes gone from the registry
	 * leave no stale day behind. */
	if (db_cmd(c, d, "DELETE FROM storage_customer_daily"
			 " WHERE day >= $1::date AND day < $2::date", 2, p)) {
		goto out;
	}
	/* The period's days as text for the COPY back, and the number of
	 * the first (the binary form of a date). */
	rd = db_exec(c, d, "SELECT to_char(g, 'YYYY-MM-DD'),"
			   " $1::date - date '2000-01-01'"
			   " FROM generate_series($1::date, $2::date - 1,"
			   " interval '1 day') g ORDER BY g", 2, p);
	if (!rd) {
		goto out;
	}
	ndays = PQntuples(rd);
	if (ndays == 0) {
		rc = 0;
		goto out;
	}
	st.day0 = (int32_t)atol(PQgetvalue(rd, 0, 1));
	/* The registry's mailboxes existing in the period, by customer in
	 * the database's order: the rows go back in the key's order. */
	rm = db_exec(c, d, "SELECT address, customer_id, lo - $1::date,"
			   " hi - $1::date FROM ("
			   " SELECT address, customer_id,"
			   "  greatest(coalesce(start_date, $1::date), $1::date) lo,"
			   "  least(coalesce(end_date, $2::date), $2::date) hi"
			   " FROM mailboxes) m WHERE lo < hi"
			   " ORDER BY customer_id", 2, p);
	if (!rm) {
		goto out;
	}
	st.nmb = (size_t)PQntuples(rm);
	if (st.nmb == 0) {
		rc = 0;
		goto out;
	}
	st.mb = xcalloc(st.nmb, sizeof(*st.mb));
	for (st.mask = 1; st.mask < 2 * st.nmb; st.mask <<= 1) {
	}
	st.slot = xcalloc(st.mask, sizeof(*st.slot));
	st.mask--;
	for (size_t i = 0; i < st.nmb; i++) {
		struct rl_mailbox *m = &st.mb[i];
		size_t h;

		m->address = PQgetvalue(rm, (int)i, 0);
		m->len = PQgetlength(rm, (int)i, 0);
		m->cust = i > 0 && strcmp(PQgetvalue(rm, (int)i, 1),
					  PQgetvalue(rm, (int)i - 1, 1)) == 0
				  ? st.mb[i - 1].cust
				  : (i > 0 ? st.mb[i - 1].cust + 1 : 0);
		m->lo = atoi(PQgetvalue(rm, (int)i, 2));
		m->hi = atoi(PQgetvalue(rm, (int)i, 3));
		if (m->lo < 0 || m->hi > ndays || m->lo >= m->hi) {
			abort(); /* the query clips them to the period */
		}
		for (h = name_hash(m->address, (size_t)m->len) & st.mask;
		     st.slot[h]; h = (h + 1) & st.mask) {
		}
		st.slot[h] = (uint32_t)i + 1;
	}
	/* COPY takes no parameters: the window travels in settings local
	 * to the transaction, read once each (uncorrelated sub-selects are
	 * evaluated once, not per row). */
	r = db_exec(c, d, "SELECT set_config('releve.rollup_lo',"
			  " ($1::date - $3::int)::text, true),"
			  " set_config('releve.rollup_hi', $2::date::text, true)",
		    3, p);
	if (!r) {
		goto out;
	}
	PQclear(r);
	r = PQexec(c, "COPY (SELECT mailbox, day, max_bytes"
		      " FROM storage_mailbox_daily"
		      " WHERE day >= (SELECT current_setting('releve.rollup_lo')::date)"
		      " AND day < (SELECT current_setting('releve.rollup_hi')::date))"
		      " TO STDOUT (FORMAT binary)");
	if (PQresultStatus(r) != PGRES_COPY_OUT) {
		diag_add(d, "database: reading the daily maxima: %s",
			 PQerrorMessage(c));
		PQclear(r);
		goto out;
	}
	PQclear(r);
	if (rl_read_samples(c, &st, d)) {
		goto out;
	}
	/* Group the samples by mailbox (counting sort), then by day. */
	for (size_t i = 0; i < st.ns; i++) {
		st.mb[st.s[i].mbx].n++;
	}
	{
		uint32_t at = 0;

		for (size_t i = 0; i < st.nmb; i++) {
			st.mb[i].first = at;
			at += st.mb[i].n;
			st.mb[i].n = 0;
		}
	}
	sorted = xreallocarray(NULL, st.ns ? st.ns : 1, sizeof(*sorted));
	for (size_t i = 0; i < st.ns; i++) {
		struct rl_mailbox *m = &st.mb[st.s[i].mbx];

		sorted[m->first + m->n++] = st.s[i];
	}
	free(st.s);
	st.s = NULL;
	days = xcalloc((size_t)ndays, sizeof(*days));
	if (copy_begin(&cp, c, "COPY storage_customer_daily (customer_id, day,"
			       " storage_bytes, mailboxes, sampled, carried,"
			       " gaps, carry_days) FROM STDIN", d)) {
		goto out;
	}
	for (size_t i = 0, j; i < st.nmb; i = j) {
		int failed = 0;

		/* mailboxes i .. j-1 are one customer's */
		for (j = i; j < st.nmb && st.mb[j].cust == st.mb[i].cust; j++) {
			struct rl_mailbox *m = &st.mb[j];
			struct rl_sample *s = sorted + m->first;
			uint32_t k = 0;

			qsort(s, m->n, sizeof(*s), rl_by_day);
			for (int dd = m->lo; dd < m->hi; dd++) {
				struct rl_day *y = &days[dd];

				y->mailboxes++;
				while (k + 1 < m->n && s[k + 1].day <= dd) {
					k++;
				}
				if (k >= m->n || s[k].day > dd ||
				    dd - s[k].day > carry_days) {
					continue; /* a gap */
				}
				if (s[k].day == dd) {
					y->sampled++;
				} else {
					y->carried++;
				}
				if (s[k].bytes > 0
					    ? y->bytes > INT64_MAX - s[k].bytes
					    : y->bytes < INT64_MIN - s[k].bytes) {
					diag_add(d, "customer %s, %s: storage "
						    "beyond 2^63-1 bytes",
						 PQgetvalue(rm, (int)i, 1),
						 PQgetvalue(rd, dd, 0));
					failed = 1;
					break;
				}
				y->bytes += s[k].bytes;
			}
		}
		for (int dd = 0; dd < ndays && !failed; dd++) {
			struct rl_day *y = &days[dd];

			if (y->mailboxes == 0) {
				continue;
			}
			copy_text(&cp, PQgetvalue(rm, (int)i, 1));
			copy_text(&cp, PQgetvalue(rd, dd, 0));
			copy_int(&cp, y->bytes);
			copy_int(&cp, y->mailboxes);
			copy_int(&cp, y->sampled);
			copy_int(&cp, y->carried);
			copy_int(&cp, y->mailboxes - y->sampled - y->carried);
			copy_int(&cp, carry_days);
			res->rows += y->mailboxes;
			res->carried += y->carried;
			res->gaps += y->mailboxes - y->sampled - y->carried;
			if (copy_row(&cp)) {
				failed = 1;
			}
		}
		memset(days, 0, (size_t)ndays * sizeof(*days));
		if (failed) {
			copy_end(&cp, 1);
			goto out;
		}
	}
	if (copy_end(&cp, 0)) {
		goto out;
	}
	rc = 0;
out:
	if (rc) {
		memset(res, 0, sizeof(*res));
	}
	if (own) {
		if (rc == 0 && db_commit(c, d)) {
			rc = -1;
		}
		if (rc) {
			db_rollback(c);
		}
	}
	free(days);
	free(sorted);
	free(st.s);
	free(st.slot);
	free(st.mb);
	PQclear(rm);
	PQclear(rd);
	return rc;
}
