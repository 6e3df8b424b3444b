/*
 * pftrack — the Postfix queue-id tracker (see pftrack.h for the rules).
 *
 * Messages live in a slab of records (indices, so that the slab can grow)
 * chained in a hash table keyed by (host, queue id).  A second hop of a
 * content filter points at its root message by index and sits in its
 * root's hop list (sorted by index); the root counts its unfinished hops
 * and is emitted when it and all its hops are removed, and its hops are
 * freed with it.
 *
 * Only records that may still get lines under their queue id are in the
 * key index ("keyed"): once removed, a root that waits for its hops and a
 * hop already linked to its root leave it, so that Postfix may reuse the
 * id at once (it does: a pickup can take the id of a message that waits
 * for its filter's verdict) without ending them.  keyed() is the rule.
 * Recipients are kept per root as (hash of the to/orig_to pair, status,
 * transport, domain): never the addresses themselves.
 */
#include "pftrack.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "common/xalloc.h"

#define NONE UINT32_MAX

enum { ST_DEFERRED = 1, ST_SENT, ST_BOUNCED, ST_EXPIRED, ST_FILTERED };

struct rcpt {
	uint64_t id;
	uint8_t status;
	uint8_t via;
	uint8_t from_hop; /* reported by a second hop */
	uint16_t dlen;
	uint32_t doff; /* domain in rec.dom */
};

struct rec {
	uint32_t next; /* hash chain, or free list */
	uint32_t host;
	uint32_t root; /* NONE, or the root of this second hop */
	uint32_t hops; /* a root's second hops, by index (hop_next) */
	uint32_t hop_next;
	int used;
	int in_index; /* in the key index (see keyed()) */
	char qid[PFLOG_QID_MAX + 1];
	uint8_t qlen; /* strlen(qid) */
	int origin; /* 0 anonymous smtpd, PFTRACK_SASL, PFTRACK_PICKUP */
	int loopback, has_qmgr, removed, placeholder, has_lines;
	unsigned pending; /* unfinished second hops (roots) */
	int64_t last_seen, accepted_at, removed_at;
	char *sasl, *sender;
	long long size, uid;
	long nrcpt;
	struct rcpt *r;
	size_t nr, rcap;
	char *dom;
	size_t domn, domcap;
};

struct strset {
	char **v;
	size_t *len; /* strlen(v[i]) */
	size_t n, cap; /* cap: power of two */
};

struct pftrack {
	struct pftrack_config cfg;
	char **filters;
	struct rec *recs;
	size_t nrecs, caprecs, live;
	uint32_t free_head;
	uint32_t *buckets;
	size_t nbuckets;
	char **hosts;
	size_t nhosts;
	/* The host of the previous lookup (lines come from one host, or a
	 * few): hosts[hc] is exactly hc_n bytes, the first entry equal to
	 * them.  hc_ok is 0 until a lookup sets it. */
	uint32_t hc;
	size_t hc_n;
	int hc_ok;
	struct strset local_domains;
	int64_t last_sweep;
};

static uint64_t fnv(uint64_t h, const void *p, size_t n)
{
	const unsigned char *s = p;

	for (size_t i = 0; i < n; i++) {
		h ^= s[i];
		h *= UINT64_C(1099511628211);
	}
	return h;
}

#define FNV0 UINT64_C(14695981039346656037)

/* ---- a set of lower-cased domains (the dry-run default) ---- */

static int set_has(const struct strset *s, const char *p, size_t n,
		   uint64_t h)
{
	if (!s->cap)
		return 0;
	for (size_t i = h & (s->cap - 1);; i = (i + 1) & (s->cap - 1)) {
		if (!s->v[i])
			return 0;
		if (s->len[i] == n && memcmp(s->v[i], p, n) == 0)
			return 1;
	}
}

static void set_add(struct strset *s, const char *p, size_t n)
{
	uint64_t h = fnv(FNV0, p, n);

	if (set_has(s, p, n, h))
		return;
	if ((s->n + 1) * 2 > s->cap) {
		struct strset g = {NULL, NULL, 0, s->cap ? s->cap * 2 : 64};

		g.v = xcalloc(g.cap, sizeof(char *));
		g.len = xcalloc(g.cap, sizeof(size_t));
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->v[i])
				continue;
			size_t k = fnv(FNV0, s->v[i], s->len[i]) & (g.cap - 1);
			while (g.v[k])
				k = (k + 1) & (g.cap - 1);
			g.v[k] = s->v[i];
			g.len[k] = s->len[i];
		}
		g.n = s->n;
		free(s->v);
		free(s->len);
		*s = g;
	}
	size_t k = h & (s->cap - 1);

	while (s->v[k])
		k = (k + 1) & (s->cap - 1);
	s->v[k] = xstrndup(p, n);
	s->len[k] = strlen(s->v[k]);
	s->n++;
}

/* Domains compare case-insensitively: lower-case into buf. */
static size_t lower(char *buf, size_t cap, struct pflog_str d)
{
	size_t n = d.n < cap ? d.n : cap;

	for (size_t i = 0; i < n; i++) {
		char c = d.p[i];

		buf[i] = (c >= 'A' && c <= 'Z') ? (char)(c - 'A' + 'a') : c;
	}
	return n;
}

/* ---- records ---- */

struct pftrack *pftrack_new(const struct pftrack_config *cfg)
{
	struct pftrack *t = xcalloc(1, sizeof(*t));

	t->cfg = *cfg;
	if (t->cfg.link_window_us <= 0)
		t->cfg.link_window_us = INT64_C(600) * 1000000;
	if (cfg->n_filter_relays) {
		t->filters = xcalloc(cfg->n_filter_relays, sizeof(char *));
		for (size_t i = 0; i < cfg->n_filter_relays; i++)
			t->filters[i] = xstrdup(cfg->filter_relays[i]);
	}
	t->cfg.filter_relays = NULL;
	t->free_head = NONE;
	t->nbuckets = 1024;
	t->buckets = xmalloc(t->nbuckets * sizeof(uint32_t));
	memset(t->buckets, 0xff, t->nbuckets * sizeof(uint32_t));
	t->last_sweep = INT64_MIN;
	return t;
}

static void rec_clear(struct rec *r)
{
	free(r->sasl);
	free(r->sender);
	free(r->r);
	free(r->dom);
	memset(r, 0, sizeof(*r));
	r->root = NONE;
	r->hops = NONE;
	r->hop_next = NONE;
	r->uid = -1;
	r->size = -1;
	r->nrcpt = -1;
}

/* Free what the log put in t (not its config): t is then as new. */
static void drop_state(struct pftrack *t)
{
	for (size_t i = 0; i < t->nrecs; i++)
		rec_clear(&t->recs[i]);
	free(t->recs);
	t->recs = NULL;
	t->nrecs = t->caprecs = t->live = 0;
	t->free_head = NONE;
	for (size_t i = 0; i < t->nhosts; i++)
		free(t->hosts[i]);
	free(t->hosts);
	t->hosts = NULL;
	t->nhosts = 0;
	t->hc_ok = 0;
	for (size_t i = 0; i < t->local_domains.cap; i++)
		free(t->local_domains.v[i]);
	free(t->local_domains.v);
	free(t->local_domains.len);
	memset(&t->local_domains, 0, sizeof(t->local_domains));
	t->last_sweep = INT64_MIN;
	if (t->nbuckets != 1024) {
		free(t->buckets);
		t->nbuckets = 1024;
		t->buckets = xmalloc(t->nbuckets * sizeof(uint32_t));
	}
	memset(t->buckets, 0xff, t->nbuckets * sizeof(uint32_t));
}

void pftrack_free(struct pftrack *t)
{
	if (!t)
		return;
	drop_state(t);
	free(t->buckets);
	for (size_t i = 0; i < t->cfg.n_filter_relays; i++)
		free(t->filters[i]);
	free(t->filters);
	free(t);
}

size_t pftrack_size(const struct pftrack *t)
{
	return t->live;
}

static uint32_t host_index(struct pftrack *t, struct pflog_str h)
{
	uint32_t i;

	if (t->hc_ok && t->hc_n == h.n &&
	    (h.n == 0 || memcmp(t->hosts[t->hc], h.p, h.n) == 0))
		return t->hc;
	for (i = 0; i < t->nhosts; i++)
		if (strlen(t->hosts[i]) == h.n &&
		    (h.n == 0 || memcmp(t->hosts[i], h.p, h.n) == 0))
			break;
	if (i == t->nhosts) {
		t->hosts = xreallocarray(t->hosts, t->nhosts + 1,
					 sizeof(char *));
		t->hosts[t->nhosts++] = xstrndup(h.p ? h.p : "", h.n);
	}
	/* A name cut short by a NUL byte is stored shorter than h: such a
	 * lookup is not cached (the scan decides, as it always did). */
	if (strlen(t->hosts[i]) == h.n) {
		t->hc = i;
		t->hc_n = h.n;
		t->hc_ok = 1;
	}
	return i;
}

/* Bytes of a record's qid: the id, then zeros (rec_clear() zeroes a
 * record and ids hold no NUL), so that a key compares and hashes as four
 * fixed words. */
#define QKEY (PFLOG_QID_MAX + 1)
_Static_assert(QKEY == 32, "bucket_of() and key_eq() read four words");

/* The key index's hash, over the zero-padded key: four independent
 * multiplies (FNV's one multiply per byte, in a chain, was a tenth of the
 * run).  Only the choice of bucket depends on it: nothing saved or
 * emitted does. */
static size_t bucket_of(const struct pftrack *t, uint32_t host,
			const char key[QKEY])
{
	uint64_t w[QKEY / 8], h;

	memcpy(w, key, sizeof(w));
	h = ((uint64_t)host + 1) * UINT64_C(0x9E3779B97F4A7C15) ^
	    w[0] * UINT64_C(0xC2B2AE3D27D4EB4F) ^
	    w[1] * UINT64_C(0x165667B19E3779F9) ^
	    w[2] * UINT64_C(0xD6E8FEB86659FD93) ^
	    w[3] * UINT64_C(0xFF51AFD7ED558CCD);
	h ^= h >> 32;
	h *= UINT64_C(0x9E3779B97F4A7C15);
	h ^= h >> 29;
	return (size_t)h & (t->nbuckets - 1);
}

static int key_eq(const char a[QKEY], const char b[QKEY])
{
	uint64_t x[QKEY / 8], y[QKEY / 8];

	memcpy(x, a, sizeof(x));
	memcpy(y, b, sizeof(y));
	return ((x[0] ^ y[0]) | (x[1] ^ y[1]) | (x[2] ^ y[2]) |
		(x[3] ^ y[3])) == 0;
}

static uint32_t find(struct pftrack *t, uint32_t host, struct pflog_str q)
{
	char key[QKEY] = {0};
	uint32_t i;

	if (q.n > PFLOG_QID_MAX)
		return NONE; /* no record holds an id that long */
	if (q.n) /* an empty id may come as a NULL pointer */
		memcpy(key, q.p, q.n);
	for (i = t->buckets[bucket_of(t, host, key)]; i != NONE;
	     i = t->recs[i].next)
		if (t->recs[i].host == host && t->recs[i].qlen == q.n &&
		    key_eq(t->recs[i].qid, key))
			return i;
	return NONE;
}

static void rehash(struct pftrack *t)
{
	free(t->buckets);
	t->nbuckets *= 2;
	t->buckets = xmalloc(t->nbuckets * sizeof(uint32_t));
	memset(t->buckets, 0xff, t->nbuckets * sizeof(uint32_t));
	for (size_t i = 0; i < t->nrecs; i++) {
		struct rec *r = &t->recs[i];

		if (!r->used || !r->in_index)
			continue;
		size_t b = bucket_of(t, r->host, r->qid);
		r->next = t->buckets[b];
		t->buckets[b] = (uint32_t)i;
	}
}

static uint32_t create(struct pftrack *t, uint32_t host, struct pflog_str q)
{
	uint32_t i;
	struct rec *r;
	size_t b;

	if (t->live + 1 > t->nbuckets)
		rehash(t);
	if (t->free_head != NONE) {
		i = t->free_head;
		t->free_head = t->recs[i].next;
	} else {
		if (t->nrecs == t->caprecs) {
			t->caprecs = t->caprecs ? t->caprecs * 2 : 256;
			t->recs = xreallocarray(t->recs, t->caprecs,
						sizeof(struct rec));
		}
		i = (uint32_t)t->nrecs++;
		memset(&t->recs[i], 0, sizeof(struct rec));
	}
	r = &t->recs[i];
	rec_clear(r);
	r->used = 1;
	r->in_index = 1;
	r->host = host;
	memcpy(r->qid, q.p, q.n);
	r->qid[q.n] = 0;
	r->qlen = (uint8_t)strlen(r->qid);
	b = bucket_of(t, host, r->qid);
	r->next = t->buckets[b];
	t->buckets[b] = i;
	t->live++;
	return i;
}

/* Whether a record belongs in the key index: it does until it is removed,
 * and after that only while it may still become a second hop (a finished
 * message in its link window).  A removed root waiting for its hops and a
 * removed hop are reached through the hop links only. */
static int keyed(const struct rec *r)
{
	return !(r->removed && (r->root != NONE || r->pending));
}

static void unindex(struct pftrack *t, uint32_t i)
{
	struct rec *r = &t->recs[i];
	uint32_t *pp;

	if (!r->in_index)
		return;
	pp = &t->buckets[bucket_of(t, r->host, r->qid)];
	while (*pp != i)
		pp = &t->recs[*pp].next;
	*pp = r->next;
	r->next = NONE;
	r->in_index = 0;
}

/* Put hop h in the hop list of root ro, kept sorted by index so that the
 * list is a function of the records (save/load rebuild it). */
static void hop_add(struct pftrack *t, uint32_t ro, uint32_t h)
{
	uint32_t *pp = &t->recs[ro].hops;

	while (*pp != NONE && *pp < h)
		pp = &t->recs[*pp].hop_next;
	t->recs[h].hop_next = *pp;
	*pp = h;
	t->recs[h].root = ro;
}

static void hop_del(struct pftrack *t, uint32_t ro, uint32_t h)
{
	uint32_t *pp = &t->recs[ro].hops;

	while (*pp != NONE && *pp != h)
		pp = &t->recs[*pp].hop_next;
	if (*pp == NONE)
		abort(); /* a hop missing from its root's list: a bug */
	*pp = t->recs[h].hop_next;
	t->recs[h].hop_next = NONE;
	t->recs[h].root = NONE;
}

static void emit(struct pftrack *t, uint32_t i, int closed);

/*
 * Release record i.  A root takes its finished hops with it; its hops
 * still in the queue forget it (id reuse, expiry: they are never counted
 * again).  A hop that goes away unfinished (expiry) no longer holds its
 * root back: a removed root whose last hop it was is emitted and freed.
 */
static void destroy(struct pftrack *t, uint32_t i)
{
	struct rec *r = &t->recs[i];
	uint32_t ro = r->root, k;

	unindex(t, i);
	if (ro != NONE) {
		hop_del(t, ro, i);
		if (!r->removed && t->recs[ro].pending)
			t->recs[ro].pending--;
	}
	while ((k = r->hops) != NONE) {
		struct rec *h = &t->recs[k];

		hop_del(t, i, k);
		if (h->removed)
			destroy(t, k);
	}
	r->pending = 0;
	rec_clear(r);
	r->next = t->free_head;
	t->free_head = i;
	t->live--;
	if (ro != NONE && t->recs[ro].removed && !t->recs[ro].pending) {
		emit(t, ro, 0);
		destroy(t, ro);
	}
}

/* ---- recipients ---- */

static struct rcpt *rcpt_find(struct rec *r, uint64_t id)
{
	for (size_t i = 0; i < r->nr; i++)
		if (r->r[i].id == id)
			return &r->r[i];
	return NULL;
}

static struct rcpt *rcpt_add(struct rec *r, uint64_t id, const char *dom,
			     size_t dn)
{
	struct rcpt *x;

	if (dn > 255)
		dn = 255;
	if (r->nr == r->rcap) {
		r->rcap = r->rcap ? r->rcap * 2 : 4;
		r->r = xreallocarray(r->r, r->rcap, sizeof(struct rcpt));
	}
	if (r->domn + dn > r->domcap) {
		r->domcap = (r->domn + dn) * 2 + 32;
		r->dom = xreallocarray(r->dom, r->domcap, 1);
	}
	if (dn) /* an empty domain may come as a NULL pointer */
		memcpy(r->dom + r->domn, dom, dn);
	x = &r->r[r->nr++];
	memset(x, 0, sizeof(*x));
	x->id = id;
	x->doff = (uint32_t)r->domn;
	x->dlen = (uint16_t)dn;
	r->domn += dn;
	return x;
}

/* A recipient's domain (the buffer is NULL while all domains are empty). */
static const char *dom_at(const struct rec *r, uint32_t off)
{
	return r->dom ? r->dom + off : "";
}

/* Move a second hop's recipients into its root. */
static void merge(struct rec *root, struct rec *hop)
{
	for (size_t i = 0; i < hop->nr; i++) {
		struct rcpt *h = &hop->r[i];
		struct rcpt *x = rcpt_find(root, h->id);

		if (!x)
			x = rcpt_add(root, h->id, dom_at(hop, h->doff), h->dlen);
		x->status = h->status;
		x->via = h->via;
		x->from_hop = 1;
	}
	hop->nr = 0;
	hop->domn = 0;
}

static int is_filter(struct pftrack *t, const struct pflog_line *l)
{
	struct pflog_str name, addr, port;

	if (l->queued_as.n == 0 ||
	    !pflog_qid_valid(l->queued_as.p, l->queued_as.n, NULL))
		return 0;
	pflog_relay_split(l->relay, &name, &addr, &port);
	if (!t->cfg.n_filter_relays)
		return pflog_addr_is_loopback(addr) ||
		       pflog_addr_is_loopback(name);
	for (size_t i = 0; i < t->cfg.n_filter_relays; i++) {
		const char *f = t->filters[i], *c = strrchr(f, ':');
		size_t hn = c ? (size_t)(c - f) : strlen(f);
		struct pflog_str h = {f, hn};

		if (c && (port.n != strlen(c + 1) ||
			  memcmp(port.p, c + 1, port.n) != 0))
			continue;
		if ((h.n == addr.n && memcmp(h.p, addr.p, h.n) == 0) ||
		    (h.n == name.n && memcmp(h.p, name.p, h.n) == 0))
			return 1;
	}
	return 0;
}

/* ---- emission ---- */

static int rcpt_local(struct pftrack *t, struct rec *r, struct rcpt *x)
{
	char buf[256];
	size_t n;
	struct pflog_str d = {dom_at(r, x->doff), x->dlen};

	if (x->via == PFLOG_VIA_LOCAL)
		return 1;
	if (x->via == PFLOG_VIA_REMOTE && x->status == ST_SENT)
		return 0;
	n = lower(buf, sizeof(buf), d);
	if (t->cfg.is_local_domain)
		return t->cfg.is_local_domain(t->cfg.local_arg, buf, n) != 0;
	return set_has(&t->local_domains, buf, n, fnv(FNV0, buf, n));
}

static void fill(struct pftrack *t, struct rec *r, struct pftrack_msg *m)
{
	int hop_rcpts = 0;

	memset(m, 0, sizeof(*m));
	m->host = t->hosts[r->host];
	m->queue_id = r->qid;
	m->accepted_at_us = r->accepted_at;
	m->origin = (enum pftrack_origin)r->origin;
	m->sasl_username = r->origin == PFTRACK_SASL ? r->sasl : NULL;
	m->uid = r->uid;
	m->sender = r->sender ? r->sender : "";
	m->size = r->size;
	m->nrcpt = r->nrcpt;
	for (size_t i = 0; i < r->nr; i++)
		hop_rcpts |= r->r[i].from_hop;
	for (size_t i = 0; i < r->nr; i++) {
		struct rcpt *x = &r->r[i];

		/* a recipient handed to a filter is judged by what the second
		 * hop did with it; if the hop reported nothing, the filter
		 * took it */
		if (x->status == ST_FILTERED && hop_rcpts)
			continue;
		switch (x->status) {
		case ST_SENT: case ST_FILTERED: m->rcpt.sent++; break;
		case ST_BOUNCED: m->rcpt.bounced++; break;
		case ST_EXPIRED: m->rcpt.expired++; break;
		default: m->rcpt.deferred++; break;
		}
		if (x->status == ST_FILTERED)
			x->via = PFLOG_VIA_NONE;
		if (rcpt_local(t, r, x))
			m->rcpt.local++;
		else
			m->rcpt.remote++;
	}
}

static void emit(struct pftrack *t, uint32_t i, int closed)
{
	struct rec *r = &t->recs[i];
	struct pftrack_msg m;

	if (r->origin && r->has_qmgr && r->root == NONE) {
		fill(t, r, &m);
		m.closed = closed;
		t->cfg.emit(t->cfg.emit_arg, &m);
	}
}

/* A record is done (removed): emit it when it is a finished root, release
 * it.  A second hop stays (out of the key index) until its root goes, so
 * that a later line of the root naming it again finds it already linked;
 * a root that waits for its hops leaves the key index too. */
static void finish(struct pftrack *t, uint32_t i, int64_t when)
{
	struct rec *r = &t->recs[i];

	r->removed_at = when;
	if (r->root != NONE) {
		uint32_t ro = r->root;
		struct rec *root = &t->recs[ro];

		unindex(t, i);
		merge(root, r);
		if (root->pending && --root->pending == 0 && root->removed) {
			emit(t, ro, 0);
			destroy(t, ro); /* frees this hop too */
		}
		return;
	}
	if (r->pending) { /* waiting for second hops */
		unindex(t, i);
		return;
	}
	if (!r->origin && r->loopback && r->has_qmgr && r->hops == NONE)
		return; /* maybe a second hop whose "queued as" is to come */
	emit(t, i, 0);
	destroy(t, i);
}

/* Drop held loopback messages whose link window has passed. */
static void sweep(struct pftrack *t, int64_t now)
{
	if (t->last_sweep != INT64_MIN &&
	    now - t->last_sweep < t->cfg.link_window_us / 2)
		return;
	t->last_sweep = now;
	for (size_t i = 0; i < t->nrecs; i++) {
		struct rec *r = &t->recs[i];

		if (r->used && r->removed && !r->origin && r->root == NONE &&
		    r->removed_at + t->cfg.link_window_us < now)
			destroy(t, (uint32_t)i);
	}
}

/* ---- feeding ---- */

static char *dup_str(struct pflog_str s)
{
	return xstrndup(s.p ? s.p : "", s.n);
}

static void link_hop(struct pftrack *t, uint32_t from, uint32_t host,
		     struct pflog_str newid, int64_t when)
{
	uint32_t root = t->recs[from].root != NONE ? t->recs[from].root : from;
	uint32_t h = find(t, host, newid);
	struct rec *hr;

	if (h == root || (h != NONE && t->recs[h].root != NONE))
		return; /* already linked (one line per recipient) */
	/* a finished hop is out of the key index: look in the root's list */
	for (uint32_t k = t->recs[root].hops; h == NONE && k != NONE;
	     k = t->recs[k].hop_next)
		if (t->recs[k].host == host &&
		    t->recs[k].qlen == newid.n &&
		    memcmp(t->recs[k].qid, newid.p, newid.n) == 0)
			return;
	if (h == NONE) {
		h = create(t, host, newid);
		t->recs[h].placeholder = 1;
		t->recs[h].last_seen = when; /* for expiry, if it never shows */
	}
	hr = &t->recs[h];
	if (hr->pending || hr->hops != NONE) /* a root of its own */
		return;
	hop_add(t, root, h);
	merge(&t->recs[root], hr);
	if (hr->removed)
		unindex(t, h);
	else
		t->recs[root].pending++;
}

void pftrack_feed(struct pftrack *t, const struct pflog_line *l,
		  struct pflog_str host, int64_t when)
{
	uint32_t hi, i;
	struct rec *r;

	if (l->kind < PFLOG_CLIENT || l->qid.n == 0)
		return;
	if (host.n == 0)
		host = l->host;
	hi = host_index(t, host);
	sweep(t, when);
	i = find(t, hi, l->qid);

	if (l->kind == PFLOG_CLIENT || l->kind == PFLOG_PICKUP) {
		if (i != NONE && !(t->recs[i].placeholder &&
				   !t->recs[i].has_lines)) {
			/* id reuse: the old message ends here */
			if (t->recs[i].has_qmgr && !t->recs[i].removed)
				emit(t, i, 1);
			destroy(t, i);
			i = NONE;
		}
		if (i == NONE)
			i = create(t, hi, l->qid);
		r = &t->recs[i];
		r->has_lines = 1;
		r->last_seen = when;
		if (l->kind == PFLOG_PICKUP) {
			r->origin = PFTRACK_PICKUP;
			r->uid = l->uid;
		} else if (l->sasl_username.n) {
			r->origin = PFTRACK_SASL;
			r->sasl = dup_str(l->sasl_username);
		} else {
			r->loopback = pflog_addr_is_loopback(l->client_addr);
		}
		if (r->root != NONE) /* a second hop is never its own message */
			r->origin = 0;
		return;
	}
	if (i == NONE)
		return; /* no origin line: accepted before the log started */
	r = &t->recs[i];
	r->has_lines = 1;
	r->last_seen = when;

	switch (l->kind) {
	case PFLOG_QUEUED:
		/* qmgr logs this again on every retry: the first counts */
		if (!r->has_qmgr) {
			r->has_qmgr = 1;
			r->accepted_at = when;
			r->sender = dup_str(l->from);
			r->size = l->size;
			r->nrcpt = l->nrcpt;
		}
		break;
	case PFLOG_DELIVERY: {
		struct rec *tgt = r->root != NONE ? &t->recs[r->root] : r;
		uint64_t id = fnv(fnv(FNV0, l->to.p, l->to.n), "\0", 1);
		struct pflog_str d = pflog_addr_domain(l->to);
		struct rcpt *x;
		int filt = is_filter(t, l);
		char buf[256];
		size_t dn;

		id = fnv(id, l->orig_to.p, l->orig_to.n);
		dn = lower(buf, sizeof(buf), d);
		if (!(x = rcpt_find(tgt, id)))
			x = rcpt_add(tgt, id, buf, dn);
		if (r->root != NONE) {
			x->from_hop = 1;
		} else if (x->from_hop) {
			/* the second hop already said what became of it */
			if (filt)
				link_hop(t, i, hi, l->queued_as, when);
			break;
		}
		x->via = (uint8_t)l->via;
		switch (l->status) {
		case PFLOG_ST_SENT:
			x->status = filt ? ST_FILTERED : ST_SENT;
			break;
		case PFLOG_ST_BOUNCED: x->status = ST_BOUNCED; break;
		case PFLOG_ST_EXPIRED: x->status = ST_EXPIRED; break;
		default: x->status = ST_DEFERRED; break;
		}
		if (l->via == PFLOG_VIA_LOCAL && l->status == PFLOG_ST_SENT &&
		    dn)
			set_add(&t->local_domains, buf, dn);
		if (filt)
			link_hop(t, i, hi, l->queued_as, when);
		break;
	}
	case PFLOG_EXPIRED: {
		struct rec *tgt = r->root != NONE ? &t->recs[r->root] : r;

		for (size_t k = 0; k < tgt->nr; k++)
			if (tgt->r[k].status == ST_DEFERRED)
				tgt->r[k].status = ST_EXPIRED;
		break;
	}
	case PFLOG_REMOVED:
		if (r->removed)
			break;
		r->removed = 1;
		finish(t, i, when);
		break;
	default:
		break;
	}
}

void pftrack_in_flight(struct pftrack *t, pftrack_emit_fn fn, void *arg)
{
	for (size_t i = 0; i < t->nrecs; i++) {
		struct rec *r = &t->recs[i];
		struct pftrack_msg m;

		if (!r->used || !r->origin || !r->has_qmgr || r->root != NONE)
			continue;
		fill(t, r, &m);
		m.in_flight = 1;
		fn(arg, &m);
	}
}

void pftrack_expire(struct pftrack *t, int64_t now, int64_t max_age)
{
	for (size_t i = 0; i < t->nrecs; i++) {
		struct rec *r = &t->recs[i];

		if (!r->used || r->last_seen >= now - max_age)
			continue;
		if (r->root != NONE) {
			merge(&t->recs[r->root], r); /* destroy() unlinks */
		} else {
			emit(t, (uint32_t)i, 1);
		}
		destroy(t, (uint32_t)i);
	}
	for (size_t i = 0; i < t->nrecs; i++) {
		struct rec *r = &t->recs[i];

		if (r->used && r->removed && !r->pending && r->root == NONE &&
		    r->origin) {
			emit(t, (uint32_t)i, 0);
			destroy(t, (uint32_t)i);
		}
	}
}

/* ---- state: save and load (see pftrack.h for the format) ----
 *
 * Everything that can change future output is saved, including the slab
 * layout: pftrack_in_flight() and pftrack_expire() walk the slab in index
 * order and new records take free slots last-freed first, so the indices
 * of the records held and the free list order are part of the state.  The
 * hash table, capacities and the domain buffers' slack are not (they are
 * rebuilt).  Neither are the hop lists nor which records are in the key
 * index: both follow from the records (hop lists are sorted by index; see
 * keyed()), and load checks what the tracker relies on: a hop's root is a
 * root held, a root's pending count is its number of unremoved hops, the
 * keyed records have distinct keys.  Version 1 let a removed hop outlive
 * its root; it is refused.
 */

#define ST_MAGIC "RPFT"
#define ST_VERSION 2
#define ST_TIME_MAX (INT64_C(1) << 62)
#define ST_STR_MAX (UINT32_C(16) << 20)
/* smallest encodings, to bound counts by the bytes left */
#define ST_REC_MIN (4 + 4 + 4 + 4 + 1 + 6 * 8 + 1 + 4 + 4 + 4)
#define ST_RCPT_MIN (8 + 1 + 1)

struct wbuf {
	char *p;
	size_t n, cap;
};

static void w_bytes(struct wbuf *w, const void *p, size_t n)
{
	if (w->cap - w->n < n) {
		while (w->cap - w->n < n)
			w->cap = w->cap ? w->cap * 2 : 4096;
		w->p = xreallocarray(w->p, w->cap, 1);
	}
	if (n)
		memcpy(w->p + w->n, p, n);
	w->n += n;
}

static void w_uint(struct wbuf *w, uint64_t v, int bytes)
{
	unsigned char b[8];

	for (int i = 0; i < bytes; i++)
		b[i] = (unsigned char)(v >> (8 * i));
	w_bytes(w, b, (size_t)bytes);
}

static void w_i64(struct wbuf *w, int64_t v)
{
	w_uint(w, (uint64_t)v, 8);
}

/* An optional string: u32 0 for NULL, else length + 1, then the bytes. */
static void w_optstr(struct wbuf *w, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	w_uint(w, s ? (uint64_t)n + 1 : 0, 4);
	w_bytes(w, s, n);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

void pftrack_save(const struct pftrack *t, char **buf, size_t *len)
{
	struct wbuf w = {NULL, 0, 0};
	char **dom = NULL;
	size_t nd = 0;

	w_bytes(&w, ST_MAGIC, 4);
	w_uint(&w, ST_VERSION, 4);
	w_i64(&w, t->last_sweep);
	w_uint(&w, t->nhosts, 4);
	for (size_t i = 0; i < t->nhosts; i++) {
		w_uint(&w, strlen(t->hosts[i]), 4);
		w_bytes(&w, t->hosts[i], strlen(t->hosts[i]));
	}
	/* the set's slot order depends on its history: save it sorted */
	if (t->local_domains.cap)
		dom = xcalloc(t->local_domains.cap, sizeof(char *));
	for (size_t i = 0; i < t->local_domains.cap; i++)
		if (t->local_domains.v[i])
			dom[nd++] = t->local_domains.v[i];
	if (nd)
		qsort(dom, nd, sizeof(char *), cmp_str);
	w_uint(&w, nd, 4);
	for (size_t i = 0; i < nd; i++) {
		w_uint(&w, strlen(dom[i]), 2);
		w_bytes(&w, dom[i], strlen(dom[i]));
	}
	free(dom);

	w_uint(&w, t->nrecs, 4);
	w_uint(&w, t->live, 4);
	for (size_t i = 0; i < t->nrecs; i++) {
		const struct rec *r = &t->recs[i];
		size_t ql = strlen(r->qid);

		if (!r->used)
			continue;
		if (r->in_index != keyed(r))
			abort(); /* load could not rebuild the index: a bug */
		w_uint(&w, i, 4);
		w_uint(&w, r->host, 4);
		w_uint(&w, r->root, 4);
		w_uint(&w, r->pending, 4);
		w_uint(&w, (uint64_t)r->origin | (uint64_t)!!r->loopback << 2 |
				   (uint64_t)!!r->has_qmgr << 3 |
				   (uint64_t)!!r->removed << 4 |
				   (uint64_t)!!r->placeholder << 5 |
				   (uint64_t)!!r->has_lines << 6,
		       1);
		w_i64(&w, r->last_seen);
		w_i64(&w, r->accepted_at);
		w_i64(&w, r->removed_at);
		w_i64(&w, r->size);
		w_i64(&w, r->uid);
		w_i64(&w, r->nrcpt);
		w_uint(&w, ql, 1);
		w_bytes(&w, r->qid, ql);
		w_optstr(&w, r->sasl);
		w_optstr(&w, r->sender);
		w_uint(&w, r->nr, 4);
		for (size_t k = 0; k < r->nr; k++) {
			const struct rcpt *x = &r->r[k];

			w_uint(&w, x->id, 8);
			w_uint(&w, (uint64_t)x->status | (uint64_t)!!x->from_hop << 3 |
					   (uint64_t)x->via << 4,
			       1);
			w_uint(&w, x->dlen, 1);
			w_bytes(&w, dom_at(r, x->doff), x->dlen);
		}
	}
	for (uint32_t i = t->free_head; i != NONE; i = t->recs[i].next)
		w_uint(&w, i, 4);
	w_uint(&w, fnv(FNV0, w.p, w.n), 8);
	*buf = w.p;
	*len = w.n;
}

struct rbuf {
	const unsigned char *p;
	size_t n, off;
	struct diag *d;
	int bad;
};

static int r_fail(struct rbuf *r, const char *what)
{
	if (!r->bad)
		diag_add(r->d, "tracker state: byte %zu: %s", r->off, what);
	r->bad = 1;
	return -1;
}

static size_t r_left(const struct rbuf *r)
{
	return r->bad ? 0 : r->n - r->off;
}

static uint64_t r_uint(struct rbuf *r, int bytes)
{
	uint64_t v = 0;

	if (r_left(r) < (size_t)bytes) {
		r_fail(r, "truncated");
		return 0;
	}
	for (int i = 0; i < bytes; i++)
		v |= (uint64_t)r->p[r->off + (size_t)i] << (8 * i);
	r->off += (size_t)bytes;
	return v;
}

static int64_t r_time(struct rbuf *r, int may_be_min)
{
	int64_t v = (int64_t)r_uint(r, 8);

	if (may_be_min && v == INT64_MIN)
		return v;
	if (v < -ST_TIME_MAX || v > ST_TIME_MAX)
		r_fail(r, "time out of range");
	return v;
}

/* n bytes of text without NULs; NULL when short or bad. */
static const char *r_text(struct rbuf *r, uint64_t n, uint64_t max)
{
	const char *s;

	if (n > max || n > r_left(r)) {
		r_fail(r, n > max ? "string too long" : "truncated string");
		return NULL;
	}
	s = (const char *)r->p + r->off;
	if (memchr(s, 0, (size_t)n)) {
		r_fail(r, "NUL in a string");
		return NULL;
	}
	r->off += (size_t)n;
	return s;
}

static char *r_optstr(struct rbuf *r)
{
	uint64_t n = r_uint(r, 4);
	const char *s;

	if (n == 0)
		return NULL;
	if (!(s = r_text(r, n - 1, ST_STR_MAX)))
		return NULL;
	return xstrndup(s, (size_t)(n - 1));
}

static void load_rec(struct pftrack *t, struct rbuf *b, uint32_t i)
{
	struct rec *r = &t->recs[i];
	uint64_t v, n;
	const char *s;

	rec_clear(r);
	r->used = 1;
	if ((v = r_uint(b, 4)) >= t->nhosts)
		r_fail(b, "host index out of range");
	r->host = (uint32_t)v;
	v = r_uint(b, 4);
	if (v != NONE && (v >= t->nrecs || v == i))
		r_fail(b, "root index out of range");
	r->root = (uint32_t)v;
	if ((v = r_uint(b, 4)) > t->nrecs)
		r_fail(b, "pending count out of range");
	r->pending = (unsigned)v;
	v = r_uint(b, 1);
	if ((v & 3) == 3 || v >> 7)
		r_fail(b, "bad flags");
	r->origin = (int)(v & 3);
	r->loopback = (int)(v >> 2 & 1);
	r->has_qmgr = (int)(v >> 3 & 1);
	r->removed = (int)(v >> 4 & 1);
	r->placeholder = (int)(v >> 5 & 1);
	r->has_lines = (int)(v >> 6 & 1);
	r->last_seen = r_time(b, 0);
	r->accepted_at = r_time(b, 0);
	r->removed_at = r_time(b, 0);
	r->size = (long long)r_uint(b, 8);
	r->uid = (long long)r_uint(b, 8);
	v = r_uint(b, 8);
	if ((int64_t)v < LONG_MIN || (int64_t)v > LONG_MAX)
		r_fail(b, "nrcpt out of range");
	r->nrcpt = (long)(int64_t)v;
	n = r_uint(b, 1);
	if (n == 0)
		r_fail(b, "empty queue id");
	if ((s = r_text(b, n, PFLOG_QID_MAX)) != NULL)
		memcpy(r->qid, s, (size_t)n);
	r->qlen = (uint8_t)strlen(r->qid);
	r->sasl = r_optstr(b);
	r->sender = r_optstr(b);
	n = r_uint(b, 4);
	if (n > r_left(b) / ST_RCPT_MIN) {
		r_fail(b, "recipient count beyond the data");
		return;
	}
	if (n) {
		r->rcap = (size_t)n;
		r->r = xcalloc(r->rcap, sizeof(struct rcpt));
	}
	for (size_t k = 0; k < n && !b->bad; k++) {
		uint64_t id = r_uint(b, 8);
		uint64_t sv = r_uint(b, 1);
		uint64_t dl = r_uint(b, 1);
		struct rcpt *x;

		if ((sv & 7) > ST_FILTERED || (sv >> 4) > PFLOG_VIA_REMOTE)
			r_fail(b, "bad recipient status");
		if (dl > r_left(b)) {
			r_fail(b, "truncated domain");
			break;
		}
		x = rcpt_add(r, id, (const char *)b->p + b->off, (size_t)dl);
		b->off += (size_t)dl;
		x->status = (uint8_t)(sv & 7);
		x->from_hop = (uint8_t)(sv >> 3 & 1);
		x->via = (uint8_t)(sv >> 4);
	}
}

/* Rebuild the hop lists from the roots saved in the records (in index
 * order, as hop_add keeps them) and check the links. */
static void link_loaded(struct pftrack *t, struct rbuf *b)
{
	for (size_t i = t->nrecs; i-- > 0;) {
		struct rec *r = &t->recs[i];
		struct rec *ro;

		if (!r->used || r->root == NONE)
			continue;
		ro = &t->recs[r->root];
		if (!ro->used || ro->root != NONE || r->pending) {
			r_fail(b, "second hop of no root held");
			return;
		}
		r->hop_next = ro->hops;
		ro->hops = (uint32_t)i;
	}
	for (size_t i = 0; i < t->nrecs; i++) {
		struct rec *r = &t->recs[i];
		unsigned open = 0;

		if (!r->used)
			continue;
		for (uint32_t k = r->hops; k != NONE; k = t->recs[k].hop_next)
			open += !t->recs[k].removed;
		if (open != r->pending) {
			r_fail(b, "pending count does not match the hops");
			return;
		}
	}
}

static void load_body(struct pftrack *t, struct rbuf *b)
{
	uint64_t n, nused;
	const char *s;
	unsigned char *seen;
	uint32_t *tail;

	t->last_sweep = r_time(b, 1);
	n = r_uint(b, 4);
	if (n > r_left(b) / 4)
		r_fail(b, "host count beyond the data");
	if (!b->bad && n)
		t->hosts = xcalloc((size_t)n, sizeof(char *));
	for (size_t i = 0; i < n && !b->bad; i++) {
		uint64_t l = r_uint(b, 4);

		if ((s = r_text(b, l, ST_STR_MAX)) != NULL)
			t->hosts[t->nhosts++] = xstrndup(s, (size_t)l);
	}
	n = r_uint(b, 4);
	if (n > r_left(b) / 2)
		r_fail(b, "domain count beyond the data");
	for (size_t i = 0, prev = 0, prevn = 0; i < n && !b->bad; i++) {
		uint64_t l = r_uint(b, 2);
		int c;

		if (l == 0 && !b->bad)
			r_fail(b, "empty domain");
		if (!(s = r_text(b, l, 256)))
			break;
		/* strictly increasing, as strcmp() sorts: no duplicates */
		if (i > 0) {
			const char *p = (const char *)b->p + prev;

			c = memcmp(p, s, prevn < l ? prevn : (size_t)l);
			if (c > 0 || (c == 0 && prevn >= l)) {
				r_fail(b, "domains not in order");
				break;
			}
		}
		prev = (size_t)(s - (const char *)b->p);
		prevn = (size_t)l;
		set_add(&t->local_domains, s, (size_t)l);
	}

	n = r_uint(b, 4);
	nused = r_uint(b, 4);
	if (b->bad)
		return;
	if (n >= NONE || nused > n || nused > r_left(b) / ST_REC_MIN ||
	    n - nused > r_left(b) / 4) {
		r_fail(b, "record count beyond the data");
		return;
	}
	if (n) {
		t->recs = xcalloc((size_t)n, sizeof(struct rec));
		t->nrecs = t->caprecs = (size_t)n;
		for (size_t i = 0; i < n; i++)
			rec_clear(&t->recs[i]);
	}
	while (t->nbuckets < nused)
		t->nbuckets *= 2;
	free(t->buckets);
	t->buckets = xmalloc(t->nbuckets * sizeof(uint32_t));
	memset(t->buckets, 0xff, t->nbuckets * sizeof(uint32_t));
	for (uint64_t k = 0, last = 0; k < nused && !b->bad; k++) {
		uint64_t i = r_uint(b, 4);
		struct rec *r;
		size_t q;

		if (!b->bad && (i >= n || (k > 0 && i <= last))) {
			r_fail(b, "record index out of order");
			break;
		}
		last = i;
		load_rec(t, b, (uint32_t)i);
		if (b->bad)
			break;
		r = &t->recs[i];
		t->live++;
		if (!keyed(r))
			continue; /* reached through the hop links only */
		q = strlen(r->qid);
		if (find(t, r->host, (struct pflog_str){r->qid, q}) != NONE) {
			r_fail(b, "queue id held twice");
			break;
		}
		q = bucket_of(t, r->host, r->qid);
		r->next = t->buckets[q];
		t->buckets[q] = (uint32_t)i;
		r->in_index = 1;
	}
	if (b->bad)
		return;
	link_loaded(t, b);
	if (b->bad)
		return;
	/* the free list: every other slot once, in order */
	seen = xcalloc(n ? (size_t)n : 1, 1);
	tail = &t->free_head;
	for (uint64_t k = 0; k < n - nused; k++) {
		uint64_t i = r_uint(b, 4);

		if (b->bad)
			break;
		if (i >= n || t->recs[i].used || seen[i]) {
			r_fail(b, "bad free list");
			break;
		}
		seen[i] = 1;
		*tail = (uint32_t)i;
		tail = &t->recs[i].next;
	}
	*tail = NONE;
	free(seen);
}

int pftrack_load(struct pftrack *t, const char *buf, size_t len,
		 struct diag *d)
{
	struct rbuf b = {(const unsigned char *)buf, len, 0, d, 0};
	uint64_t v;

	drop_state(t);
	if (len < 16 || memcmp(buf, ST_MAGIC, 4) != 0) {
		diag_add(d, "tracker state: not a saved state (bad magic)");
		return -1;
	}
	b.off = 4;
	if ((v = r_uint(&b, 4)) != ST_VERSION) {
		diag_add(d, "tracker state: version %llu, want %d",
			 (unsigned long long)v, ST_VERSION);
		return -1;
	}
	b.off = len - 8;
	if (r_uint(&b, 8) != fnv(FNV0, buf, len - 8)) {
		diag_add(d, "tracker state: checksum mismatch (damaged)");
		return -1;
	}
	/* parse the body alone: the checksum is not part of it */
	b.n = len - 8;
	b.off = 8;
	load_body(t, &b);
	if (!b.bad && b.off != b.n)
		r_fail(&b, "trailing bytes");
	if (b.bad) {
		drop_state(t);
		return -1;
	}
	return 0;
}
