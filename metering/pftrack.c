/*
 * pftrack — the Postfix queue-id tracker (see pftrack.h for the rules).
 *
 * Messages live in a slab of records (indices, so that the slab can grow)
 * chained in a hash table keyed by (host, queue id).  A second hop of a
 * content filter points at its root message by index; the root counts its
 * unfinished hops and is emitted when it and all its hops are removed.
 * Recipients are kept per root as (hash of the to/orig_to pair, status,
 * transport, domain): never the addresses themselves.
 */
#include "pftrack.h"

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
	int used;
	char qid[PFLOG_QID_MAX + 1];
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
		if (strlen(s->v[i]) == n && memcmp(s->v[i], p, n) == 0)
			return 1;
	}
}

static void set_add(struct strset *s, const char *p, size_t n)
{
	uint64_t h = fnv(FNV0, p, n);

	if (set_has(s, p, n, h))
		return;
	if ((s->n + 1) * 2 > s->cap) {
		struct strset g = {NULL, 0, s->cap ? s->cap * 2 : 64};

		g.v = xcalloc(g.cap, sizeof(char *));
		for (size_t i = 0; i < s->cap; i++) {
			if (!s->v[i])
				continue;
			size_t k = fnv(FNV0, s->v[i], strlen(s->v[i])) &
				   (g.cap - 1);
			while (g.v[k])
				k = (k + 1) & (g.cap - 1);
			g.v[k] = s->v[i];
		}
		g.n = s->n;
		free(s->v);
		*s = g;
	}
	size_t k = h & (s->cap - 1);

	while (s->v[k])
		k = (k + 1) & (s->cap - 1);
	s->v[k] = xstrndup(p, n);
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
	r->uid = -1;
	r->size = -1;
	r->nrcpt = -1;
}

void pftrack_free(struct pftrack *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nrecs; i++)
		rec_clear(&t->recs[i]);
	free(t->recs);
	free(t->buckets);
	for (size_t i = 0; i < t->nhosts; i++)
		free(t->hosts[i]);
	free(t->hosts);
	for (size_t i = 0; i < t->cfg.n_filter_relays; i++)
		free(t->filters[i]);
	free(t->filters);
	for (size_t i = 0; i < t->local_domains.cap; i++)
		free(t->local_domains.v[i]);
	free(t->local_domains.v);
	free(t);
}

size_t pftrack_size(const struct pftrack *t)
{
	return t->live;
}

static uint32_t host_index(struct pftrack *t, struct pflog_str h)
{
	for (size_t i = 0; i < t->nhosts; i++)
		if (strlen(t->hosts[i]) == h.n &&
		    memcmp(t->hosts[i], h.p, h.n) == 0)
			return (uint32_t)i;
	t->hosts = xreallocarray(t->hosts, t->nhosts + 1, sizeof(char *));
	t->hosts[t->nhosts] = xstrndup(h.p, h.n);
	return (uint32_t)t->nhosts++;
}

static size_t bucket_of(const struct pftrack *t, uint32_t host,
			const char *qid, size_t n)
{
	return fnv(fnv(FNV0, &host, sizeof(host)), qid, n) & (t->nbuckets - 1);
}

static uint32_t find(struct pftrack *t, uint32_t host, struct pflog_str q)
{
	uint32_t i = t->buckets[bucket_of(t, host, q.p, q.n)];

	for (; i != NONE; i = t->recs[i].next)
		if (t->recs[i].host == host && strlen(t->recs[i].qid) == q.n &&
		    memcmp(t->recs[i].qid, q.p, q.n) == 0)
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

		if (!r->used)
			continue;
		size_t b = bucket_of(t, r->host, r->qid, strlen(r->qid));
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
	r->host = host;
	memcpy(r->qid, q.p, q.n);
	r->qid[q.n] = 0;
	b = bucket_of(t, host, q.p, q.n);
	r->next = t->buckets[b];
	t->buckets[b] = i;
	t->live++;
	return i;
}

static void destroy(struct pftrack *t, uint32_t i)
{
	struct rec *r = &t->recs[i];
	uint32_t *pp = &t->buckets[bucket_of(t, r->host, r->qid,
					     strlen(r->qid))];

	while (*pp != i)
		pp = &t->recs[*pp].next;
	*pp = r->next;
	if (r->root != NONE && !r->removed && t->recs[r->root].pending)
		t->recs[r->root].pending--;
	/* hops of a root that goes away early (id reuse, expiry) forget it */
	if (r->pending)
		for (size_t k = 0; k < t->nrecs; k++)
			if (t->recs[k].used && t->recs[k].root == i)
				t->recs[k].root = NONE;
	rec_clear(r);
	r->next = t->free_head;
	t->free_head = i;
	t->live--;
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
	memcpy(r->dom + r->domn, dom, dn);
	x = &r->r[r->nr++];
	memset(x, 0, sizeof(*x));
	x->id = id;
	x->doff = (uint32_t)r->domn;
	x->dlen = (uint16_t)dn;
	r->domn += dn;
	return x;
}

/* Move a second hop's recipients into its root. */
static void merge(struct rec *root, struct rec *hop)
{
	for (size_t i = 0; i < hop->nr; i++) {
		struct rcpt *h = &hop->r[i];
		struct rcpt *x = rcpt_find(root, h->id);

		if (!x)
			x = rcpt_add(root, h->id, hop->dom + h->doff, h->dlen);
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
	struct pflog_str d = {r->dom + x->doff, x->dlen};

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

/* A record is done: emit it when it is a finished root, release it.  A
 * second hop stays (removed) until its root goes, so that a later line
 * naming it again finds it already linked. */
static void finish(struct pftrack *t, uint32_t i, int64_t when)
{
	struct rec *r = &t->recs[i];

	r->removed_at = when;
	if (r->root != NONE) {
		uint32_t ro = r->root;
		struct rec *root = &t->recs[ro];

		merge(root, r);
		if (root->pending && --root->pending == 0 && root->removed) {
			emit(t, ro, 0);
			destroy(t, ro);
		}
		return;
	}
	if (r->pending) /* waiting for second hops */
		return;
	if (!r->origin && r->loopback && r->has_qmgr)
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
		     struct pflog_str newid)
{
	uint32_t root = t->recs[from].root != NONE ? t->recs[from].root : from;
	uint32_t h = find(t, host, newid);
	struct rec *hr;

	if (h == root || (h != NONE && t->recs[h].root != NONE))
		return; /* already linked (one line per recipient) */
	if (h == NONE) {
		h = create(t, host, newid);
		t->recs[h].placeholder = 1;
	}
	hr = &t->recs[h];
	if (hr->pending) /* a root of its own: not a second hop */
		return;
	hr->root = root;
	merge(&t->recs[root], hr);
	if (!hr->removed)
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
				link_hop(t, i, hi, l->queued_as);
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
			link_hop(t, i, hi, l->queued_as);
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
