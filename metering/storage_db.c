/*
 * storage_db — Dovecot snapshots into PostgreSQL; see storage_db.h.
 *
 * The work is done here, in memory, rather than in SQL over temporary
 * tables.  The registry comes out in one binary COPY (in a thread, while
 * the snapshot is parsed), with each mailbox's number (sql/013), and
 * attributes each sample: by address, else by SASL login; the registry's
 * address becomes the mailbox name.  Meanwhile a thread reads the day's
 * maxima (a row of arrays per block of 1,024 numbers), deletes the
 * customers' blocks of the day and reads the customers' numbers
 * (store_prepare).  Names seen for the first
 * time are numbered (name_new).  The samples then go to the server as
 * arrays, a row per block, in one COPY sent by a thread of its own,
 * while this thread folds them into the day's maxima and sums the
 * customers' day; the blocks of maxima that change go back (for a day's
 * first snapshot the server copies its sample blocks), and the
 * customers' day is copied in as blocks of customer numbers (sql/015,
 * 016).  All of it in one transaction, with the snapshot row whose
 * UNIQUE (source, taken_at) makes a second ingestion a no-op: a
 * concurrent duplicate fails on the constraint and rolls back whole.
 * Writers of one billing day's maxima take a lock of that day, so that
 * what one reads is still true when it writes; writers of new numbers
 * take the names' lock (mailboxes) or the customer numbers' lock.
 */
#include "storage_db.h"

#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/copy.h"
#include "common/copyout.h"
#include "common/db.h"
#include "common/strhash.h"
#include "common/xalloc.h"

/*
 * Strings that live as long as the store: carved from blocks of 4 MiB
 * (a million names are a million small strings, freed at once; blocks
 * that large get huge pages, xalloc.h).
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
		size_t sz = n + 1 > (4u << 20) ? n + 1 : (4u << 20);

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
static void strindex_put_h(struct strindex *x, uint64_t h, uint32_t v)
{
	size_t i = h & x->mask;

	while (x->slot[i]) {
		i = (i + 1) & x->mask;
	}
	x->slot[i] = SLOT_TAG(h) << 32 | ((uint64_t)v + 1);
}

static void strindex_put(struct strindex *x, const char *s, size_t n,
			 uint32_t v)
{
	strindex_put_h(x, strhash(s, n), v);
}

/*
 * The entry whose key (key(ctx, e)) is s, or -1; with free_slot, the
 * slot where s would go when it is missing (for strindex_set).
 */
static long strindex_find_h(const struct strindex *x, uint64_t h,
			    const char *s, size_t n, strindex_key key,
			    const void *ctx, size_t *free_slot)
{
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

static long strindex_find(const struct strindex *x, const char *s,
			  size_t n, strindex_key key, const void *ctx,
			  size_t *free_slot)
{
	return strindex_find_h(x, strhash(s, n), s, n, key, ctx, free_slot);
}

/* Ask for the slot of hash h to be in the cache (a batch of look-ups
 * then waits for memory once, not once each). */
static void strindex_prefetch(const struct strindex *x, uint64_t h)
{
	__builtin_prefetch(&x->slot[h & x->mask]);
}

/* Entry v under s in the slot strindex_find gave for it. */
static void strindex_set(struct strindex *x, size_t slot, const char *s,
			 size_t n, uint32_t v)
{
	x->slot[slot] = SLOT_TAG(strhash(s, n)) << 32 | ((uint64_t)v + 1);
}

/* The registry's mailboxes. */
struct reg_mb {
	const char *address, *login, *customer;
	uint32_t alen, llen, clen;
	int exists; /* on the snapshot's billing day */
};

struct registry {
	struct reg_mb *mb;
	size_t n, cap;
	struct strindex by_addr, by_login; /* by_login: built when first
					    * needed (most names are addresses) */
	struct arena strings;
	int32_t *sid;		/* sid[i]: mailbox i's number (its storage_id,
				 * sql/013), -1: none yet */
	uint64_t pend_h[16];	/* by_addr entries still to put (reg_row) */
	uint32_t npend;
};

/* The entries reg_row left to put: their slots were asked for as their
 * rows came, so that these writes find them in the cache. */
static void reg_put_pending(struct registry *r)
{
	for (uint32_t k = 0; k < r->npend; k++) {
		strindex_put_h(&r->by_addr, r->pend_h[k],
			       (uint32_t)(r->n - r->npend + k));
	}
	r->npend = 0;
}

static int reg_row(void *ctx, int n, const char *const *f, const int *len,
		   struct diag *d)
{
	struct registry *r = ctx;
	struct reg_mb *m;
	int64_t sid = -1;

	if (n != 5 || len[0] < 0 || len[2] < 0 || len[3] != 1 ||
	    (len[4] >= 0 && (!copyout_int(f[4], len[4], &sid) || sid < 0))) {
		diag_add(d, "database: the registry: unexpected COPY row");
		return -1;
	}
	if (r->n == r->cap) {
		r->cap = r->cap ? 2 * r->cap : 4096;
		r->mb = xreallocarray(r->mb, r->cap, sizeof(*r->mb));
		r->sid = xreallocarray(r->sid, r->cap, sizeof(*r->sid));
	}
	r->sid[r->n] = (int32_t)sid;
	m = &r->mb[r->n];
	m->address = arena_dup(&r->strings, f[0], (size_t)len[0]);
	m->alen = (uint32_t)len[0];
	/* Most logins are the address (sent as NULL then), and a
	 * customer's mailboxes come together: one copy each, shared. */
	m->login = len[1] < 0 ? m->address
			      : arena_dup(&r->strings, f[1], (size_t)len[1]);
	m->llen = len[1] < 0 ? m->alen : (uint32_t)len[1];
	if (r->n > 0 && m[-1].clen == (uint32_t)len[2] &&
	    memcmp(m[-1].customer, f[2], (size_t)len[2]) == 0) {
		m->customer = m[-1].customer;
	} else {
		m->customer = arena_dup(&r->strings, f[2], (size_t)len[2]);
	}
	m->clen = (uint32_t)len[2];
	m->exists = f[3][0] != 0;
	/* Indexed as it arrives, while the server sends the next rows,
	 * sixteen at a time. */
	if (2 * (r->n + 1) > r->by_addr.mask + 1) {
		reg_put_pending(r);
		free(r->by_addr.slot);
		strindex_init(&r->by_addr, 2 * (r->n + 1));
		for (size_t i = 0; i < r->n; i++) {
			strindex_put(&r->by_addr, r->mb[i].address,
				     r->mb[i].alen, (uint32_t)i);
		}
	}
	r->pend_h[r->npend] = strhash(m->address, m->alen);
	strindex_prefetch(&r->by_addr, r->pend_h[r->npend]);
	r->npend++;
	r->n++;
	if (r->npend == 16) {
		reg_put_pending(r);
	}
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
	/* The index sized from the planner's count of the mailboxes (grown
	 * if the count was low). */
	PGresult *est = db_exec(c, d, "SELECT greatest(reltuples, 0)::bigint"
				      " FROM pg_class WHERE oid ="
				      " 'mailboxes'::regclass", 0, NULL);

	if (!est) {
		return -1;
	}
	strindex_init(&r->by_addr, (size_t)atoll(PQgetvalue(est, 0, 0)) + 1024);
	PQclear(est);
	if (copyout_run(c, "COPY (SELECT address, nullif(login, address), customer_id,"
			   " (start_date IS NULL OR start_date <= d.day)"
			   " AND (end_date IS NULL OR end_date > d.day),"
			   " storage_id FROM mailboxes, (SELECT current_setting("
			   "'releve.store_day')::date AS day) d)"
			   " TO STDOUT (FORMAT binary)",
			reg_row, r, d)) {
		return -1;
	}
	reg_put_pending(r);
	return 0;
}

static void reg_free(struct registry *r)
{
	free(r->sid);
	free(r->mb);
	free(r->by_addr.slot);
	free(r->by_login.slot);
	arena_free(&r->strings);
	memset(r, 0, sizeof(*r));
}

/* A sample to store: its name (the registry's address when attributed),
 * its number (storage_names, -1: not numbered yet). */
struct srow {
	const char *mbx;
	uint32_t len;
	uint32_t sample; /* index in the snapshot */
	int32_t reg;	 /* the registry's mailbox, -1: unattributed */
	int32_t id;
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
 * database's locale has it), in one query for all of them; the ASCII
 * ones, nearly all, are looked up in memory (resolve).
 */
#define MATCH_LATER (-2) /* an ASCII name, looked up by resolve */

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
 * The samples resolved: for each sample not in error, its name (the
 * registry's address when attributed), its registry mailbox and its
 * number.  rows[0..*n) get them, *unattributed the samples of names the
 * registry does not know.  The address look-ups, one cache miss or three
 * each in a registry of a million, are shared by two threads (the
 * server waits meanwhile, so the second core is free); the names that
 * are no address are looked up as logins afterwards, in turn, since the
 * logins' index is built on first use.
 */
#define MATCH_LOGIN (-3) /* not an address: look it up as a login */

struct resolve_part {
	struct registry *r;
	const struct dq_snapshot *snap;
	long *match;
	size_t from, to;
};

#define RESOLVE_BATCH 16

static void *resolve_part(void *arg)
{
	const struct resolve_part *p = arg;
	const struct strindex *x = &p->r->by_addr;
	size_t cap = 4096;
	char *low = xmalloc(cap);

	for (size_t i = p->from; i < p->to;) {
		size_t at[RESOLVE_BATCH], len[RESOLVE_BATCH], off = 0;
		size_t which[RESOLVE_BATCH];
		uint64_t h[RESOLVE_BATCH];
		int nb = 0;

		/* a batch: lowered names, their hashes, their slots asked
		 * for; then the look-ups */
		for (; i < p->to && nb < RESOLVE_BATCH; i++) {
			const char *name = p->snap->s[i].mailbox;
			size_t n;

			if (p->match[i] != MATCH_LATER) {
				continue;
			}
			n = strlen(name);
			while (off + n > cap) {
				cap *= 2;
				low = xreallocarray(low, cap, 1);
			}
			for (size_t k = 0; k < n; k++) {
				unsigned char ch = (unsigned char)name[k];

				low[off + k] =
					(char)(ch >= 'A' && ch <= 'Z' ? ch + 32 : ch);
			}
			which[nb] = i;
			at[nb] = off;
			len[nb] = n;
			h[nb] = strhash(low + off, n);
			if (p->r->n) {
				strindex_prefetch(x, h[nb]);
			}
			off += n;
			nb++;
		}
		for (int k = 0; k < nb; k++) {
			long m = p->r->n ? strindex_find_h(x, h[k], low + at[k],
							   len[k], mb_address,
							   p->r, NULL)
					 : -1;

			p->match[which[k]] = m >= 0 ? m : MATCH_LOGIN;
		}
	}
	free(low);
	return NULL;
}

static void resolve(struct registry *r, const struct dq_snapshot *snap,
		    long *match, struct srow *rows, size_t *n,
		    long long *unattributed)
{
	struct resolve_part part[2] = {{r, snap, match, 0, snap->n / 2},
				       {r, snap, match, snap->n / 2, snap->n}};
	pthread_t t;
	int threaded = snap->n >= 65536 &&
		       pthread_create(&t, NULL, resolve_part, &part[1]) == 0;

	if (!threaded) {
		part[0].to = snap->n;
	}
	resolve_part(&part[0]);
	if (threaded) {
		pthread_join(t, NULL);
	}
	*n = 0;
	*unattributed = 0;
	for (size_t i = 0; i < snap->n; i++) {
		const struct dq_sample *s = &snap->s[i];
		struct srow *w;

		if (s->error) {
			continue;
		}
		w = &rows[(*n)++];
		w->sample = (uint32_t)i;
		w->len = (uint32_t)strlen(s->mailbox);
		if (match[i] == MATCH_LOGIN) {
			match[i] = reg_find(r, 0, s->mailbox, w->len);
		}
		w->reg = (int32_t)match[i];
		if (match[i] >= 0) {
			w->mbx = r->mb[match[i]].address;
			w->len = r->mb[match[i]].alen;
			w->id = r->sid[match[i]];
		} else {
			w->mbx = s->mailbox;
			w->id = -1; /* name_new finds or gives it */
			(*unattributed)++;
		}
	}
}

/* A list of numbers as an int[] literal ("{1,2,3}"). */
static char *int_array(const int32_t *v, size_t n)
{
	char *out = xmalloc(12 * n + 3);
	size_t len = 0;

	out[len++] = '{';
	for (size_t i = 0; i < n; i++) {
		len += (size_t)sprintf(out + len, i ? ",%d" : "%d", (int)v[i]);
	}
	out[len++] = '}';
	out[len] = '\0';
	return out;
}

struct pending {
	const char **name; /* each new name once */
	uint32_t *len;
	int32_t *id;	   /* its number, once read back */
	size_t n;
	struct strindex x;
};

static const char *pend_key(const void *ctx, uint32_t e, size_t *len)
{
	const struct pending *pd = ctx;

	*len = pd->len[e];
	return pd->name[e];
}

static void pend_add(struct pending *pd, const char *s, uint32_t len)
{
	size_t slot;

	if (strindex_find(&pd->x, s, len, pend_key, pd, &slot) >= 0) {
		return;
	}
	pd->name[pd->n] = s;
	pd->len[pd->n] = len;
	strindex_set(&pd->x, slot, s, len, (uint32_t)pd->n);
	pd->n++;
}

static int32_t pend_id(const struct pending *pd, const char *s, uint32_t len)
{
	long k = strindex_find(&pd->x, s, len, pend_key, pd, NULL);

	return k >= 0 ? pd->id[k] : -1;
}

static int pend_row(void *ctx, int n, const char *const *f, const int *len,
		    struct diag *d)
{
	struct pending *pd = ctx;
	int64_t ord, id;

	if (n != 2 || !copyout_int(f[0], len[0], &ord) ||
	    !copyout_int(f[1], len[1], &id) || ord < 1 ||
	    (uint64_t)ord > pd->n || id < 0 || id > INT32_MAX) {
		diag_add(d, "database: numbering the names: unexpected row");
		return -1;
	}
	pd->id[ord - 1] = (int32_t)id;
	return 0;
}

/*
 * The numbers of the rows without one (id -1: names the registry does
 * not know, registry mailboxes sampled for the first time) and of the
 * registry's mailboxes without one.  Under the lock of
 * releve_storage_name (sql/013), the names storage_names still lacks are
 * numbered after its largest number, the registry's mailboxes among them
 * get theirs (mailboxes.storage_id: a re-created mailbox gets its name's
 * number back), and every name's number is read back.  Nearly always a
 * handful; a million on a registry's first snapshot.
 */
static size_t names_missing(const struct registry *reg,
			    const struct srow *rows, size_t n)
{
	size_t most = 0;

	for (size_t i = 0; i < n; i++) {
		most += rows[i].id < 0;
	}
	for (size_t i = 0; i < reg->n; i++) {
		most += reg->sid[i] < 0;
	}
	return most;
}

static int name_new(PGconn *c, struct registry *reg, struct srow *rows,
		    size_t n, struct diag *d)
{
	struct pending pd;
	struct copy cp;
	size_t most = names_missing(reg, rows, n);
	int rc = -1;

	memset(&pd, 0, sizeof(pd));
	if (most == 0) {
		return 0;
	}
	pd.name = xreallocarray(NULL, most, sizeof(*pd.name));
	pd.len = xreallocarray(NULL, most, sizeof(*pd.len));
	strindex_init(&pd.x, most);
	for (size_t i = 0; i < n; i++) {
		if (rows[i].id < 0) {
			pend_add(&pd, rows[i].mbx, rows[i].len);
		}
	}
	for (size_t i = 0; i < reg->n; i++) {
		if (reg->sid[i] < 0) {
			pend_add(&pd, reg->mb[i].address, reg->mb[i].alen);
		}
	}
	pd.id = xreallocarray(NULL, pd.n, sizeof(*pd.id));
	for (size_t k = 0; k < pd.n; k++) {
		pd.id[k] = -1;
	}
	if (db_cmd(c, d, "SELECT pg_advisory_xact_lock("
			 "hashtext('releve storage_names'))", 0, NULL) ||
	    db_cmd(c, d, "CREATE TEMP TABLE tmp_storage_names (ord integer,"
			 " name text) ON COMMIT DROP", 0, NULL) ||
	    copy_begin_binary(&cp, c, "COPY tmp_storage_names FROM STDIN"
				      " (FORMAT binary)", d)) {
		goto out;
	}
	for (size_t k = 0; k < pd.n; k++) {
		copy_int4(&cp, (int32_t)k + 1);
		copy_text(&cp, pd.name[k]);
		if (copy_row(&cp)) {
			break;
		}
	}
	if (copy_end(&cp, 0) ||
	    db_cmd(c, d, "INSERT INTO storage_names (id, name)"
			 " SELECT (SELECT coalesce(max(id), -1)"
			 " FROM storage_names) + row_number() OVER"
			 " (ORDER BY t.ord), t.name FROM tmp_storage_names t"
			 " WHERE NOT EXISTS (SELECT 1 FROM storage_names n"
			 " WHERE n.name = t.name)", 0, NULL) ||
	    db_cmd(c, d, "UPDATE mailboxes m SET storage_id = n.id"
			 " FROM tmp_storage_names t JOIN storage_names n"
			 " ON n.name = t.name WHERE m.address = t.name"
			 " AND m.storage_id IS NULL", 0, NULL) ||
	    copyout_run(c, "COPY (SELECT t.ord, n.id FROM tmp_storage_names t"
			   " JOIN storage_names n ON n.name = t.name)"
			   " TO STDOUT (FORMAT binary)", pend_row, &pd, d)) {
		goto out;
	}
	for (size_t i = 0; i < n; i++) {
		if (rows[i].id < 0) {
			rows[i].id = pend_id(&pd, rows[i].mbx, rows[i].len);
		}
		if (rows[i].id < 0) {
			diag_add(d, "database: mailbox %s: no number",
				 rows[i].mbx);
			goto out;
		}
	}
	for (size_t i = 0; i < reg->n; i++) {
		if (reg->sid[i] < 0) {
			reg->sid[i] = pend_id(&pd, reg->mb[i].address,
					      reg->mb[i].alen);
		}
	}
	rc = 0;
out:
	free(pd.name);
	free(pd.len);
	free(pd.id);
	free(pd.x.slot);
	return rc;
}

/*
 * Values by mailbox number, -1 for none: v[0..n), grown on demand (the
 * numbers of a store are dense, from 0), by doubling: a day's blocks
 * read in order grow it a value at a time.
 */
struct byid {
	int64_t *v;
	size_t n, cap;
};

static void byid_grow(struct byid *b, size_t n)
{
	if (n <= b->n) {
		return;
	}
	if (n > b->cap) {
		b->cap = n > 2 * b->cap ? n : 2 * b->cap;
		b->v = xreallocarray(b->v, b->cap, sizeof(*b->v));
	}
	for (size_t i = b->n; i < n; i++) {
		b->v[i] = -1;
	}
	b->n = n;
}

/* COPY the blocks of *b listed in which[0..nb) (ascending; NULL: every
 * block with a value), each row: the prefix fields, then the arrays of
 * b[0..narr) over the block's span from its first value to its last. */
static int copy_blocks(struct copy *cp, const struct byid *b, size_t narr,
		       size_t bsize, const int32_t *which, size_t nb,
		       void (*prefix)(struct copy *, int32_t, const void *),
		       const void *ctx)
{
	size_t nblocks = (b[0].n + bsize - 1) / bsize;

	for (size_t k = 0; k < (which ? nb : nblocks); k++) {
		size_t blk = which ? (size_t)which[k] : k;
		size_t lo = blk * bsize, hi = lo + bsize;

		if (hi > b[0].n) {
			hi = b[0].n;
		}
		while (lo < hi && b[0].v[lo] < 0) {
			lo++;
		}
		while (hi > lo && b[0].v[hi - 1] < 0) {
			hi--;
		}
		if (lo == hi) {
			continue;
		}
		prefix(cp, (int32_t)blk, ctx);
		for (size_t a = 0; a < narr; a++) {
			copy_int8_array(cp, (int32_t)lo, b[a].v + lo, hi - lo);
		}
		if (copy_row(cp)) {
			return -1;
		}
	}
	return 0;
}

struct sample_prefix {
	int64_t snapid, at_us;
};

static void sample_prefix(struct copy *cp, int32_t blk, const void *ctx)
{
	const struct sample_prefix *sp = ctx;

	copy_int(cp, sp->snapid);
	copy_int(cp, sp->at_us); /* timestamptz */
	copy_int4(cp, blk);
}

/*
 * The samples by number (a name sampled twice, as its login and as its
 * address: the larger sample) into smp[0..3) (bytes, messages, limit).
 */
static void samples_by_id(const struct dq_snapshot *snap,
			  const struct srow *rows, size_t n, struct byid *smp)
{
	size_t top = 0;

	for (size_t i = 0; i < n; i++) {
		if ((size_t)rows[i].id + 1 > top) {
			top = (size_t)rows[i].id + 1;
		}
	}
	for (int a = 0; a < 3; a++) {
		byid_grow(&smp[a], top);
	}
	for (size_t i = 0; i < n; i++) {
		const struct dq_sample *s = &snap->s[rows[i].sample];
		size_t id = (size_t)rows[i].id;

		if (s->bytes > smp[0].v[id]) {
			smp[0].v[id] = s->bytes;
			smp[1].v[id] = s->messages;
			smp[2].v[id] = s->limit_bytes;
		}
	}
}

/* The samples stored as blocks, and the mailboxes in error. */
static int samples_send(PGconn *c, int64_t snapid, int64_t at_us,
			const struct dq_snapshot *snap,
			const struct byid *smp, struct diag *d)
{
	struct sample_prefix sp = {snapid, at_us};
	struct copy cp;
	size_t top = smp[0].n;

	if (top > 0) {
		if (copy_begin_binary(&cp, c, "COPY storage_sample_blocks"
					      " (snapshot_id, sampled_at, block,"
					      " bytes, messages, limit_bytes)"
					      " FROM STDIN (FORMAT binary)", d)) {
			return -1;
		}
		if (copy_end(&cp, copy_blocks(&cp, smp, 3, STORAGE_BLOCK, NULL,
					      0,
					      sample_prefix, &sp))) {
			return -1;
		}
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

/* A day's blocks as read: values by number, the blocks seen. */
struct day_read {
	struct byid *v;
	unsigned char *had; /* had[b]: block b has a row */
	size_t nhad;
	int32_t day;	    /* wanted, for rows with a day field */
	struct byid *when;  /* with a day field: the day of v's value */
};

static void day_elem(void *ctx, int64_t sub, int64_t v)
{
	struct day_read *dr = ctx;

	if (sub < 0 || sub > INT32_MAX || v < 0) {
		return; /* checked by the caller: not a mailbox number */
	}
	byid_grow(dr->v, (size_t)sub + 1);
	if (!dr->when) {
		dr->v->v[sub] = v;
		return;
	}
	/* the latest day wins */
	byid_grow(dr->when, (size_t)sub + 1);
	if (dr->when->v[sub] < dr->day) {
		dr->when->v[sub] = dr->day;
		dr->v->v[sub] = v;
	}
}

/* A row (block int4, max_bytes int8[]), or with when set (day int4,
 * block int4, max_bytes int8[]). */
static int day_row(void *ctx, int n, const char *const *f, const int *len,
		   struct diag *d)
{
	struct day_read *dr = ctx;
	int64_t blk, day = 0;
	int32_t lb;
	size_t cnt;
	int k = dr->when ? 1 : 0;

	if (n != 2 + k || (k && !copyout_int(f[0], len[0], &day)) ||
	    !copyout_int(f[k], len[k], &blk) || blk < 0 ||
	    blk > INT32_MAX / STORAGE_BLOCK) {
		diag_add(d, "database: the daily maxima: unexpected COPY row");
		return -1;
	}
	dr->day = (int32_t)day;
	if (!copyout_int8_array(f[k + 1], len[k + 1], &lb, &cnt, day_elem,
				dr) ||
	    (cnt && (lb < blk * STORAGE_BLOCK ||
		     (int64_t)lb + (int64_t)cnt > (blk + 1) * STORAGE_BLOCK))) {
		diag_add(d, "database: the daily maxima of block %lld: not an"
			    " array of that block", (long long)blk);
		return -1;
	}
	if ((size_t)blk >= dr->nhad) {
		size_t m = 2 * (size_t)blk + 16;

		dr->had = xreallocarray(dr->had, m, 1);
		memset(dr->had + dr->nhad, 0, m - dr->nhad);
		dr->nhad = m;
	}
	dr->had[blk] = 1;
	return 0;
}

static void day_prefix(struct copy *cp, int32_t blk, const void *ctx)
{
	copy_int4(cp, *(const int32_t *)ctx); /* date */
	copy_int4(cp, blk);
}

/*
 * Fold the samples (smp: bytes by number) into the day's maxima: the
 * day's blocks are read into cur (fold_read, under the day's lock),
 * raised where a sample is larger (fold_merge, in memory: today[i] gets
 * the day's largest value of the registry's mailbox i, -1: none), and
 * only the blocks that changed are written back, deleted and copied
 * again (fold_write).
 */
struct fold {
	struct byid cur;
	struct day_read dr;
	int32_t *chg;	/* the blocks changed */
	size_t nchg, ndel;
};

static int fold_read(PGconn *c, const char *day, struct fold *f,
		     struct diag *d)
{
	const char *p[1] = {day};

	memset(f, 0, sizeof(*f));
	f->dr.v = &f->cur;
	if (db_cmd(c, d, "SELECT pg_advisory_xact_lock("
			 "hashtext('releve storage_daily'),"
			 " $1::date - date '2000-01-01')", 1, p)) {
		return -1;
	}
	return copyout_query(c, "SELECT block, max_bytes FROM storage_daily"
				" WHERE day = $1::date", 1, p, day_row, &f->dr,
			     d);
}

static void fold_merge(struct fold *f, const struct byid *smp,
		       const struct registry *reg, int64_t *today)
{
	struct byid *cur = &f->cur;

	byid_grow(cur, smp->n);
	f->chg = xreallocarray(NULL, smp->n / STORAGE_BLOCK + 1,
			       sizeof(*f->chg));
	for (size_t b = 0; b * STORAGE_BLOCK < smp->n; b++) {
		size_t hi = (b + 1) * STORAGE_BLOCK;
		int changed = 0;

		if (hi > smp->n) {
			hi = smp->n;
		}
		for (size_t i = b * STORAGE_BLOCK; i < hi; i++) {
			if (smp->v[i] > cur->v[i]) {
				cur->v[i] = smp->v[i];
				changed = 1;
			}
		}
		if (changed) {
			f->chg[f->nchg++] = (int32_t)b;
			f->ndel += b < f->dr.nhad && f->dr.had[b];
		}
	}
	for (size_t i = 0; i < reg->n; i++) {
		int32_t s = reg->sid[i];

		today[i] = s >= 0 && (size_t)s < cur->n ? cur->v[s] : -1;
	}
}

static int fold_write(PGconn *c, const char *day, int32_t day_no,
		      const char *snapid, const char *taken_at,
		      struct fold *f, struct diag *d)
{
	struct copy cp;

	if (f->nchg == 0) {
		return 0;
	}
	if (f->dr.nhad == 0) {
		/* The day's first snapshot: its maxima are its samples, block
		 * for block (the same arrays over the same spans), copied by
		 * the server rather than sent and parsed again. */
		const char *p[3] = {day, snapid, taken_at};

		return db_cmd(c, d, "INSERT INTO storage_daily (day, block,"
				    " max_bytes) SELECT $1::date, block, bytes"
				    " FROM storage_sample_blocks"
				    " WHERE snapshot_id = $2"
				    " AND sampled_at = $3::timestamptz", 3, p);
	}
	if (f->ndel) {
		int32_t *del = xreallocarray(NULL, f->ndel, sizeof(*del));
		size_t k = 0;
		char *arr;
		int rc;

		for (size_t j = 0; j < f->nchg; j++) {
			size_t b = (size_t)f->chg[j];

			if (b < f->dr.nhad && f->dr.had[b]) {
				del[k++] = f->chg[j];
			}
		}
		arr = int_array(del, k);
		free(del);
		const char *p[2] = {day, arr};

		rc = db_cmd(c, d, "DELETE FROM storage_daily WHERE day ="
				  " $1::date AND block = ANY($2::int[])", 2, p);
		free(arr);
		if (rc) {
			return -1;
		}
	}
	if (copy_begin_binary(&cp, c, "COPY storage_daily (day, block,"
				      " max_bytes) FROM STDIN (FORMAT binary)",
			      d)) {
		return -1;
	}
	return copy_end(&cp, copy_blocks(&cp, &f->cur, 1, STORAGE_BLOCK,
					 f->chg, f->nchg,
					 day_prefix, &day_no));
}

static void fold_free(struct fold *f)
{
	free(f->chg);
	free(f->cur.v);
	free(f->dr.had);
	memset(f, 0, sizeof(*f));
}

/*
 * The rollup of the snapshot's day (storage_rollup's rules, for one day)
 * from what the store holds in memory: the registry, and each mailbox's
 * largest value of the day (today, -1: none).  A mailbox existing that
 * day without a value is looked up in the carry_days days before: the
 * blocks that hold such mailboxes, read in one COPY.
 */

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

struct rday {
	unsigned char *state; /* per registry mailbox: 1 sampled, 2 carried */
	size_t *miss, nmiss;  /* existing, numbered, no value today */
	struct cust_day *cd;  /* the customers' days, by customer */
	size_t ncd;
};

/* Which mailboxes existing that day have a value (in memory). */
static void rday_state(const struct registry *reg, const int64_t *today,
		       struct rday *q)
{
	memset(q, 0, sizeof(*q));
	q->state = xcalloc(reg->n ? reg->n : 1, 1);
	q->miss = xreallocarray(NULL, reg->n ? reg->n : 1, sizeof(*q->miss));
	for (size_t i = 0; i < reg->n; i++) {
		if (!reg->mb[i].exists) {
			continue;
		}
		if (today[i] >= 0) {
			q->state[i] = 1;
		} else if (reg->sid[i] >= 0) {
			/* a number: it was stored before, maybe carried */
			q->miss[q->nmiss++] = i;
		}
	}
}

/* The values of the missing ones carried from the days before. */
static int rday_carry(PGconn *c, const struct registry *reg, int64_t *today,
		      struct rday *q, const char *day, int carry,
		      struct diag *d)
{
	unsigned char *state = q->state;
	size_t *miss = q->miss, nmiss = q->nmiss;
	int rc = 0;

	if (nmiss && carry > 0) {
		/* The blocks holding them, over the carry_days days before,
		 * in one query. */
		unsigned char *want = NULL;
		int32_t *blocks;
		size_t nwant = 0, nb = 0;
		struct byid val = {NULL, 0, 0}, when = {NULL, 0, 0};
		struct day_read dr;
		char carrys[16], *arr;

		for (size_t k = 0; k < nmiss; k++) {
			size_t b = (size_t)reg->sid[miss[k]] / STORAGE_BLOCK;

			if (b >= nwant) {
				size_t m = 2 * b + 16;

				want = xreallocarray(want, m, 1);
				memset(want + nwant, 0, m - nwant);
				nwant = m;
			}
			nb += !want[b];
			want[b] = 1;
		}
		blocks = xreallocarray(NULL, nb, sizeof(*blocks));
		for (size_t b = 0, k = 0; b < nwant; b++) {
			if (want[b]) {
				blocks[k++] = (int32_t)b;
			}
		}
		arr = int_array(blocks, nb);
		free(blocks);
		free(want);
		snprintf(carrys, sizeof(carrys), "%d", carry);
		const char *p[3] = {day, carrys, arr};

		memset(&dr, 0, sizeof(dr));
		dr.v = &val;
		dr.when = &when;
		rc = copyout_query(c, "SELECT day - date '2000-01-01', block,"
				      " max_bytes FROM storage_daily"
				      " WHERE day >= $1::date - $2::int"
				      " AND day < $1::date"
				      " AND block = ANY($3::int[])",
				   3, p, day_row, &dr, d);
		free(arr);
		free(dr.had);
		if (rc == 0) {
			for (size_t k = 0; k < nmiss; k++) {
				size_t s = (size_t)reg->sid[miss[k]];

				if (s < val.n && val.v[s] >= 0) {
					today[miss[k]] = val.v[s];
					state[miss[k]] = 2;
				}
			}
		}
		free(val.v);
		free(when.v);
	}
	return rc ? -1 : 0;
}

/* Each customer's day (in memory); -1 beyond 2^63-1 bytes. */
static int rday_sums(const struct registry *reg, const int64_t *today,
		     struct rday *q, const char *day, struct diag *d)
{
	const unsigned char *state = q->state;
	struct strindex cx = {NULL, 0};
	struct cust_day *cd;
	size_t ncd = 0;
	int rc = -1;

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
		if (last != SIZE_MAX && (cd[last].id == m->customer || strcmp(cd[last].id, m->customer) == 0)) {
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
	rc = 0;
out:
	q->cd = cd;
	q->ncd = ncd;
	free(cx.slot);
	return rc;
}

/*
 * The customers' numbers (storage_customer_numbers, sql/015), read whole
 * on the preparation thread (200,000 rows: 0.05 s); customers met for the
 * first time are numbered by the server (custnum_get).
 */
struct custnum {
	struct arena ids;
	const char **id; /* id[k] has the number no[k] */
	int32_t *no;
	size_t n, cap;
	struct strindex x;
};

static void custnum_add(struct custnum *cn, const char *id, size_t len,
			int32_t no)
{
	if (cn->n == cn->cap) {
		cn->cap = cn->cap ? 2 * cn->cap : 1024;
		cn->id = xreallocarray(cn->id, cn->cap, sizeof(*cn->id));
		cn->no = xreallocarray(cn->no, cn->cap, sizeof(*cn->no));
	}
	cn->id[cn->n] = arena_dup(&cn->ids, id, len);
	cn->no[cn->n] = no;
	if (cn->x.slot) {
		strindex_put(&cn->x, cn->id[cn->n], len, (uint32_t)cn->n);
	}
	cn->n++;
}

/* A row (id int4, customer_id text). */
static int custnum_row(void *ctx, int n, const char *const *f, const int *len,
		       struct diag *d)
{
	int64_t no;

	if (n != 2 || !copyout_int(f[0], len[0], &no) || no < 0 ||
	    no > INT32_MAX - 1 || len[1] < 0) {
		diag_add(d, "database: the customers' numbers: unexpected row");
		return -1;
	}
	custnum_add(ctx, f[1], (size_t)len[1], (int32_t)no);
	return 0;
}

static int custnum_load(PGconn *c, struct custnum *cn, struct diag *d)
{
	return copyout_run(c, "COPY (SELECT id, customer_id"
			      " FROM storage_customer_numbers)"
			      " TO STDOUT (FORMAT binary)", custnum_row, cn, d);
}

static const char *custnum_key(const void *ctx, uint32_t e, size_t *len)
{
	const char *id = ((const struct custnum *)ctx)->id[e];

	*len = strlen(id);
	return id;
}

static int32_t custnum_find(const struct custnum *cn, const char *id)
{
	long k = strindex_find(&cn->x, id, strlen(id), custnum_key, cn, NULL);

	return k >= 0 ? cn->no[k] : -1;
}

/* The numbers of ids[0..n) into no[0..n), numbering the new ones: 0 or
 * -1. */
static int custnum_get(PGconn *c, struct custnum *cn, const char *const *ids,
		       size_t n, int32_t *no, struct diag *d)
{
	const char **miss = NULL;
	size_t nmiss = 0;
	char *arr;
	int rc;

	strindex_init(&cn->x, cn->n + n);
	for (size_t k = 0; k < cn->n; k++) {
		strindex_put(&cn->x, cn->id[k], strlen(cn->id[k]), (uint32_t)k);
	}
	for (size_t i = 0; i < n; i++) {
		if ((no[i] = custnum_find(cn, ids[i])) < 0) {
			if (!miss) {
				miss = xreallocarray(NULL, n, sizeof(*miss));
			}
			miss[nmiss++] = ids[i];
		}
	}
	if (nmiss == 0) {
		return 0;
	}
	arr = text_array(miss, nmiss);
	free(miss);
	{
		const char *p[1] = {arr};

		rc = db_cmd(c, d, "SELECT releve_storage_customer_number("
				  "$1::text[])", 1, p) ||
		     copyout_query(c, "SELECT id, customer_id"
				      " FROM storage_customer_numbers"
				      " WHERE customer_id = ANY($1::text[])",
				   1, p, custnum_row, cn, d);
	}
	free(arr);
	for (size_t i = 0; i < n && rc == 0; i++) {
		if (no[i] < 0 && (no[i] = custnum_find(cn, ids[i])) < 0) {
			diag_add(d, "database: customer %s: no number", ids[i]);
			rc = -1;
		}
	}
	return rc ? -1 : 0;
}

static void custnum_free(struct custnum *cn)
{
	arena_free(&cn->ids);
	free(cn->id);
	free(cn->no);
	free(cn->x.slot);
	memset(cn, 0, sizeof(*cn));
}

struct cust_prefix {
	int32_t day_no, carry;
};

static void cust_prefix(struct copy *cp, int32_t blk, const void *ctx)
{
	const struct cust_prefix *cx = ctx;

	copy_int4(cp, cx->day_no); /* date */
	copy_int4(cp, blk);
	copy_int4(cp, cx->carry);
}

/* The customers' days as blocks by customer number; they replace the
 * day's blocks (deleted by store_prepare). */
static int rday_write(PGconn *c, const struct rday *q, struct custnum *cn,
		      int32_t day_no, int carry, struct diag *d)
{
	const struct cust_day *cd = q->cd;
	size_t ncd = q->ncd, top = 0;
	struct byid v[4] = {{NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0},
			    {NULL, 0, 0}};
	struct cust_prefix pfx = {day_no, carry};
	const char **ids = xreallocarray(NULL, ncd ? ncd : 1, sizeof(*ids));
	int32_t *no = xreallocarray(NULL, ncd ? ncd : 1, sizeof(*no));
	struct copy cp;
	int rc = -1;

	for (size_t i = 0; i < ncd; i++) {
		ids[i] = cd[i].id;
	}
	if (custnum_get(c, cn, ids, ncd, no, d)) {
		goto out;
	}
	for (size_t i = 0; i < ncd; i++) {
		if ((size_t)no[i] >= top) {
			top = (size_t)no[i] + 1;
		}
	}
	for (int a = 0; a < 4; a++) {
		byid_grow(&v[a], top);
	}
	/* mailboxes first: copy_blocks spans each block by its first
	 * array, and a customer-day has at least one mailbox */
	for (size_t i = 0; i < ncd; i++) {
		v[0].v[no[i]] = cd[i].mailboxes;
		v[1].v[no[i]] = cd[i].bytes;
		v[2].v[no[i]] = cd[i].sampled;
		v[3].v[no[i]] = cd[i].carried;
	}
	if (copy_begin_binary(&cp, c, "COPY storage_customer_blocks (day, block,"
				      " carry_days, mailboxes, storage_bytes,"
				      " sampled, carried) FROM STDIN"
				      " (FORMAT binary)", d)) {
		goto out;
	}
	rc = copy_end(&cp, copy_blocks(&cp, v, 4, STORAGE_CUSTOMER_BLOCK,
				       NULL, 0, cust_prefix, &pfx));
out:
	for (int a = 0; a < 4; a++) {
		free(v[a].v);
	}
	free(ids);
	free(no);
	return rc;
}

static void rday_free(struct rday *q)
{
	free(q->state);
	free(q->miss);
	free(q->cd);
	memset(q, 0, sizeof(*q));
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
	r = db_exec(c, d, "SELECT max(day) + 1 FROM storage_customer_blocks"
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
	    db_cmd(c, d, "SET LOCAL jit = off", 0, NULL) ||
	    db_cmd(c, d, "SET LOCAL default_toast_compression = lz4", 0,
		   NULL)) {
		db_rollback(c);
		return -1;
	}
	r = db_exec(c, d, "SELECT releve_billing_day($1::timestamptz),"
			  " releve_billing_day($1::timestamptz) + 1,"
			  " releve_ensure_month_partition("
			  "'storage_sample_blocks', $1::timestamptz),"
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

/* fn(arg) on a thread of its own beside this one (1), or here and now
 * when no thread can be made (0); beside_end waits for it. */
static int beside_start(pthread_t *t, void *(*fn)(void *), void *arg)
{
	if (pthread_create(t, NULL, fn, arg) == 0) {
		return 1;
	}
	fn(arg);
	return 0;
}

static void beside_end(int threaded, pthread_t t)
{
	if (threaded) {
		pthread_join(t, NULL);
	}
}

/*
 * What the server can do before the samples are attributed, in a thread
 * of its own while they are (storage_store_tx: the connection is its
 * alone meanwhile): read the day's blocks of maxima, under the day's
 * lock, delete the customers' blocks of the day, which this snapshot
 * replaces, and read the customers' numbers.  For a snapshot later in
 * the day the first takes 0.1 s for a million mailboxes.
 */
struct prepare {
	PGconn *c;
	const char *day;
	struct fold *fold;
	struct custnum *cn;
	struct diag d;
	int rc;
};

static void *store_prepare(void *arg)
{
	struct prepare *pr = arg;
	const char *p[1] = {pr->day};

	pr->rc = fold_read(pr->c, pr->day, pr->fold, &pr->d) ||
			 db_cmd(pr->c, &pr->d, "DELETE FROM"
					       " storage_customer_blocks"
					       " WHERE day = $1::date", 1, p) ||
			 custnum_load(pr->c, pr->cn, &pr->d)
		 ? -1
		 : 0;
	return NULL;
}

/* The samples' COPY, in a thread of its own (storage_store_tx). */
struct sender {
	PGconn *c;
	int64_t snapid, at_us;
	const struct dq_snapshot *snap;
	const struct byid *smp;
	struct diag d;
	int rc;
};

static void *sender_run(void *arg)
{
	struct sender *sd = arg;

	sd->rc = samples_send(sd->c, sd->snapid, sd->at_us, sd->snap,
			      sd->smp, &sd->d);
	return NULL;
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
	struct byid smp[3] = {{NULL, 0, 0}, {NULL, 0, 0}, {NULL, 0, 0}};
	struct fold fold;
	struct custnum cn;
	struct rday rd;
	size_t n;
	int named;

	memset(res, 0, sizeof(*res));
	memset(&fold, 0, sizeof(fold));
	memset(&cn, 0, sizeof(cn));
	memset(&rd, 0, sizeof(rd));
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
	if (attribute_wide(c, reg, snap, match, d)) {
		goto fail;
	}
	{
		struct prepare pr = {c, tx->day, &fold, &cn, DIAG_INIT, 0};
		pthread_t t;
		int threaded = beside_start(&t, store_prepare, &pr);

		resolve(reg, snap, match, rows, &n, &res->unattributed);
		/* Nearly always every name has its number: the arrays by
		 * number are built meanwhile too. */
		named = names_missing(reg, rows, n) == 0;
		if (named) {
			samples_by_id(snap, rows, n, smp);
		}
		beside_end(threaded, t);
		diag_move(d, &pr.d);
		if (pr.rc) {
			goto fail;
		}
	}
	if (!named) {
		if (name_new(c, reg, rows, n, d)) {
			goto fail;
		}
		samples_by_id(snap, rows, n, smp);
	}
	today = xreallocarray(NULL, reg->n ? reg->n : 1, sizeof(*today));
	/* The samples go to the server in a thread of their own (the
	 * connection is its alone meanwhile) while this one folds them into
	 * the day's maxima and sums the customers' day, in memory: the
	 * server's COPY and this work overlap. */
	{
		struct sender sd = {c, atoll(snapid), tx->at_us, snap, smp,
				    DIAG_INIT, 0};
		pthread_t t;
		int threaded = beside_start(&t, sender_run, &sd);
		int sums = 0;

		fold_merge(&fold, &smp[0], reg, today);
		rday_state(reg, today, &rd);
		if (rd.nmiss == 0 || carry_days <= 0) {
			sums = rday_sums(reg, today, &rd, tx->day, d) ? -1 : 1;
		}
		beside_end(threaded, t);
		diag_move(d, &sd.d);
		if (sd.rc || sums < 0 ||
		    (sums == 0 &&
		     (rday_carry(c, reg, today, &rd, tx->day, carry_days,
				 d) ||
		      rday_sums(reg, today, &rd, tx->day, d)))) {
			goto fail;
		}
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
	/* The snapshot's day, rolled up at once, and the later days
	 * already rolled up that it may carry into (rollup_after). */
	if (fold_write(c, tx->day, tx->day_no, snapid, taken_at, &fold, d) ||
	    rday_write(c, &rd, &cn, tx->day_no, carry_days, d) ||
	    rollup_after(c, tx->day, tx->next, carry_days, d) ||
	    db_commit(c, d)) {
		goto fail;
	}
	fold_free(&fold);
	custnum_free(&cn);
	rday_free(&rd);
	free(rows);
	free(match);
	free(today);
	for (int a = 0; a < 3; a++) {
		free(smp[a].v);
	}
	tx->open = 0;
	storage_abandon(NULL, tx);
	res->errors = (long long)snap->nerrors;
	return 0;
fail:
	fold_free(&fold);
	custnum_free(&cn);
	rday_free(&rd);
	free(rows);
	free(match);
	free(today);
	for (int a = 0; a < 3; a++) {
		free(smp[a].v);
	}
	storage_abandon(c, tx);
	memset(res, 0, sizeof(*res));
	return -1;
}

/*
 * The rollup, computed here rather than in SQL: the daily maxima of the
 * window [from - carry_days, to) come out in one binary COPY, the
 * registry's mailboxes (ordered by customer number, the customers
 * numbered first) in one query, and the customers' days go back in one
 * COPY, a row per day and block of customer numbers, each block sent
 * once its last customer is summed.
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
	int cust;	     /* its customer's number (sql/015) */
	int lo, hi;	     /* existing days [lo, hi), 0 <= lo < hi <= ndays */
	uint32_t first;	     /* its samples: perm[first .. first + n) */
	uint32_t n;
};

struct rl_sample {
	uint32_t mbx;
	int32_t day;
	int64_t bytes;
};


struct rl_state {
	struct rl_mailbox *mb;
	size_t nmb;
	int32_t *of_id;	/* of_id[n]: the mailbox numbered n, -1: none */
	size_t nid;
	struct rl_sample *s;
	size_t ns, cap;
	int32_t day0;	/* PostgreSQL day number of from */
	int32_t day;	/* of the row being read */
};

static void rl_elem(void *ctx, int64_t sub, int64_t v)
{
	struct rl_state *st = ctx;

	if (sub < 0 || (uint64_t)sub >= st->nid || st->of_id[sub] < 0 ||
	    v < 0) {
		return; /* not a mailbox of the period */
	}
	if (st->ns == st->cap) {
		st->cap = st->cap ? 2 * st->cap : 1 << 16;
		st->s = xreallocarray(st->s, st->cap, sizeof(*st->s));
	}
	st->s[st->ns].mbx = (uint32_t)st->of_id[sub];
	st->s[st->ns].day = st->day - st->day0;
	st->s[st->ns].bytes = v;
	st->ns++;
}

/* A row of the window's blocks: day int4 (days since 2000), block int4,
 * max_bytes int8[]. */
static int rl_row(void *ctx, int n, const char *const *f, const int *len,
		  struct diag *d)
{
	struct rl_state *st = ctx;
	int64_t day, blk;
	int32_t lb;
	size_t cnt;

	if (n != 3 || !copyout_int(f[0], len[0], &day) ||
	    !copyout_int(f[1], len[1], &blk)) {
		diag_add(d, "database: the daily maxima: unexpected COPY row");
		return -1;
	}
	st->day = (int32_t)day;
	if (!copyout_int8_array(f[2], len[2], &lb, &cnt, rl_elem, st)) {
		diag_add(d, "database: the daily maxima of block %lld: not an"
			    " array", (long long)blk);
		return -1;
	}
	return 0;
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

/* The block blk of customers filled in buf (storage_rollup), a row per
 * day with a customer; buf is left empty (-1).  0 or -1. */
static int rl_flush(struct copy *cp, int64_t *buf, int ndays, int blk,
		    int32_t day0, int carry_days)
{
	const size_t cb = STORAGE_CUSTOMER_BLOCK;

	for (int dd = 0; dd < ndays; dd++) {
		int64_t *v = buf + (size_t)dd * 4 * cb;
		size_t lo = 0, hi = cb;

		while (lo < hi && v[lo] < 0) {
			lo++;
		}
		while (hi > lo && v[hi - 1] < 0) {
			hi--;
		}
		if (lo == hi) {
			continue;
		}
		copy_int4(cp, day0 + dd); /* date */
		copy_int4(cp, blk);
		copy_int4(cp, carry_days);
		for (int a = 0; a < 4; a++) {
			copy_int8_array(cp, blk * (int32_t)cb + (int32_t)lo,
					v + (size_t)a * cb + lo, hi - lo);
		}
		memset(v, 0xff, 4 * cb * sizeof(*v));
		if (copy_row(cp)) {
			return -1;
		}
	}
	return 0;
}

int storage_rollup(PGconn *c, const char *from, const char *to,
		   int carry_days, struct rollup_result *res, struct diag *d)
{
	char carry[16];
	const char *p[3] = {from, to, carry};
	PGresult *rm = NULL, *rd = NULL;
	struct rl_state st;
	struct rl_sample *sorted = NULL;
	struct rl_day *days = NULL;
	int64_t *buf = NULL;
	const int cb = STORAGE_CUSTOMER_BLOCK;
	struct copy cp;
	int ndays, own = 0, rc = -1;

	memset(res, 0, sizeof(*res));
	memset(&st, 0, sizeof(st));
	snprintf(carry, sizeof(carry), "%d", carry_days);
	if (PQtransactionStatus(c) == PQTRANS_IDLE) {
		if (db_begin(c, d)) {
			return -1;
		}
		own = 1;
	}
	/* Replaced whole: customers or mailboxes gone from the registry
	 * leave no stale day behind. */
	if (db_cmd(c, d, "DELETE FROM storage_customer_blocks"
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
	/* The registry's mailboxes existing in the period, by customer
	 * number (their customers numbered first): the customers' days go
	 * back a block of numbers at a time. */
	if (db_cmd(c, d, "SELECT releve_storage_customer_number(array_agg("
			 " DISTINCT customer_id ORDER BY customer_id))"
			 " FROM mailboxes WHERE greatest(coalesce(start_date,"
			 " $1::date), $1::date) < least(coalesce(end_date,"
			 " $2::date), $2::date)", 2, p)) {
		goto out;
	}
	rm = db_exec(c, d, "SELECT m.address, m.customer_id, lo - $1::date,"
			   " hi - $1::date, n.id, k.id FROM ("
			   " SELECT address, customer_id,"
			   "  greatest(coalesce(start_date, $1::date), $1::date) lo,"
			   "  least(coalesce(end_date, $2::date), $2::date) hi"
			   " FROM mailboxes) m"
			   " JOIN storage_customer_numbers k"
			   "  ON k.customer_id = m.customer_id"
			   " LEFT JOIN storage_names n ON n.name = m.address"
			   " WHERE lo < hi ORDER BY k.id", 2, p);
	if (!rm) {
		goto out;
	}
	st.nmb = (size_t)PQntuples(rm);
	if (st.nmb == 0) {
		rc = 0;
		goto out;
	}
	st.mb = xcalloc(st.nmb, sizeof(*st.mb));
	for (size_t i = 0; i < st.nmb; i++) {
		struct rl_mailbox *m = &st.mb[i];

		m->cust = atoi(PQgetvalue(rm, (int)i, 5));
		m->lo = atoi(PQgetvalue(rm, (int)i, 2));
		m->hi = atoi(PQgetvalue(rm, (int)i, 3));
		if (m->lo < 0 || m->hi > ndays || m->lo >= m->hi) {
			abort(); /* the query clips them to the period */
		}
		if (!PQgetisnull(rm, (int)i, 4)) {
			long id = atol(PQgetvalue(rm, (int)i, 4));

			if (id < 0 || id > INT32_MAX - 1) {
				abort(); /* storage_names: CHECK (id >= 0) */
			}
			if ((size_t)id >= st.nid) {
				size_t nn = 2 * (size_t)id + 1024;

				st.of_id = xreallocarray(st.of_id, nn,
							 sizeof(*st.of_id));
				for (size_t k = st.nid; k < nn; k++) {
					st.of_id[k] = -1;
				}
				st.nid = nn;
			}
			st.of_id[id] = (int32_t)i;
		}
	}
	if (st.nid &&
	    copyout_query(c, "SELECT day - date '2000-01-01', block, max_bytes"
			     " FROM storage_daily WHERE day >= $1::date - $3::int"
			     " AND day < $2::date", 3, p, rl_row, &st, d)) {
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
	/* The block of customers being filled: 4 arrays (mailboxes, bytes,
	 * sampled, carried) of cb values per day, -1: none. */
	buf = xreallocarray(NULL, (size_t)ndays * 4 * cb, sizeof(*buf));
	memset(buf, 0xff, (size_t)ndays * 4 * cb * sizeof(*buf));
	if (copy_begin_binary(&cp, c, "COPY storage_customer_blocks (day, block,"
				      " carry_days, mailboxes, storage_bytes,"
				      " sampled, carried) FROM STDIN"
				      " (FORMAT binary)", d)) {
		goto out;
	}
	for (size_t i = 0, j; i <= st.nmb; i = j) {
		int failed = 0, blk = i < st.nmb ? st.mb[i].cust / cb : -1;
		int prev = i > 0 ? st.mb[i - 1].cust / cb : -1;

		if (prev >= 0 && prev != blk &&
		    rl_flush(&cp, buf, ndays, prev, st.day0, carry_days)) {
			copy_end(&cp, 1);
			goto out;
		}
		if (i == st.nmb) {
			break;
		}

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
			int64_t *at = buf + (size_t)dd * 4 * cb +
				      st.mb[i].cust % cb;

			if (y->mailboxes == 0) {
				continue;
			}
			at[0] = y->mailboxes;
			at[cb] = y->bytes;
			at[2 * cb] = y->sampled;
			at[3 * cb] = y->carried;
			res->rows += y->mailboxes;
			res->carried += y->carried;
			res->gaps += y->mailboxes - y->sampled - y->carried;
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
	free(buf);
	free(sorted);
	free(st.s);
	free(st.of_id);
	free(st.mb);
	PQclear(rm);
	PQclear(rd);
	return rc;
}
