/*
 * pfstore — Postfix rows and cursor in one transaction; see pfstore.h.
 *
 * Messages go through COPY into a temporary table, then one INSERT ...
 * ON CONFLICT writes outbound_messages: the key (host, queue_id,
 * accepted_at) makes every write a replacement, never an addition, so a
 * message written in flight and again when finished counts once.  The
 * usage_daily rows of the (customer, mailbox, day) keys touched are then
 * recomputed from outbound_messages, not incremented, for the same reason.
 * Rejects are additive; they are protected by the cursor, which moves in
 * the same transaction.
 */
#include "pfstore.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/copy.h"
#include "common/db.h"
#include "common/strset.h"
#include "common/xalloc.h"

struct fileent {
	uint64_t fp;
	size_t fp_len;
	uint64_t offset;
};

struct msgcopy {
	char *host, *queue_id, *sasl, *sender;
	int64_t accepted_us;
	int origin;
	long long size;
	long nrcpt;
	int in_flight, closed;
	struct pftrack_counts rcpt;
};

struct rejcopy {
	char *host, *who;
	int64_t when_us;
	const char *kind;
};

struct pfstore {
	PGconn *c;
	char *id; /* postfix_sources.id */
	char *tz; /* billing time zone */
	/* The cursor as of the last commit. */
	uint64_t cur_fp;
	size_t cur_fp_len;
	int has_cur;
	char *state;
	size_t state_len;
	struct fileent *files;
	size_t nfiles;
	struct strset domains; /* hosted domains, for local/remote */
	/* The batch. */
	struct msgcopy *msgs;
	size_t nmsgs, capmsgs;
	struct rejcopy *rejs;
	size_t nrejs, caprejs;
	struct pfstore_totals totals;
};

static int parse_hex(const char *s, uint64_t *out)
{
	char *end;

	*out = strtoull(s, &end, 16);
	return *end ? -1 : 0;
}

/* PostgreSQL's text form of a bytea (\x...) into bytes. */
static char *unhex_bytea(const char *s, size_t *len)
{
	size_t n;
	char *out;

	if (strncmp(s, "\\x", 2) != 0) {
		return NULL;
	}
	s += 2;
	n = strlen(s) / 2;
	out = xmalloc(n ? n : 1);
	for (size_t i = 0; i < n; i++) {
		unsigned v;

		if (sscanf(s + 2 * i, "%2x", &v) != 1) {
			free(out);
			return NULL;
		}
		out[i] = (char)v;
	}
	*len = n;
	return out;
}

static char *hex_bytea(const char *p, size_t n)
{
	static const char digits[] = "0123456789abcdef";
	char *out = xmalloc(2 * n + 3);

	out[0] = '\\';
	out[1] = 'x';
	for (size_t i = 0; i < n; i++) {
		out[2 + 2 * i] = digits[(unsigned char)p[i] >> 4];
		out[3 + 2 * i] = digits[(unsigned char)p[i] & 15];
	}
	out[2 * n + 2] = '\0';
	return out;
}


struct pfstore *pfstore_open(PGconn *c, const char *host, const char *name,
			     struct diag *d)
{
	struct pfstore *s = xcalloc(1, sizeof(*s));
	const char *p[2] = {host, name};
	PGresult *r;

	s->c = c;
	r = db_exec(c, d,
		    "INSERT INTO postfix_sources (host, name) VALUES ($1, $2)"
		    " ON CONFLICT (host, name) DO UPDATE SET host = EXCLUDED.host"
		    " RETURNING id, fingerprint, fp_len, tracker_state,"
		    " releve_billing_tz(current_date) AS tz", 2, p);
	if (!r) {
		goto fail;
	}
	s->id = xstrdup(db_get(r, 0, "id"));
	s->tz = xstrdup(db_get(r, 0, "tz"));
	if (db_get(r, 0, "fingerprint")) {
		s->has_cur = parse_hex(db_get(r, 0, "fingerprint"), &s->cur_fp) == 0;
		s->cur_fp_len = (size_t)atol(db_get(r, 0, "fp_len"));
	}
	if (db_get(r, 0, "tracker_state")) {
		s->state = unhex_bytea(db_get(r, 0, "tracker_state"),
				       &s->state_len);
		if (!s->state) {
			diag_add(d, "stream %s %s: unreadable tracker state",
				 host, name);
			PQclear(r);
			goto fail;
		}
	}
	PQclear(r);

	const char *q[1] = {s->id};
	r = db_exec(c, d, "SELECT fingerprint, fp_len, offset_bytes"
			  " FROM postfix_files WHERE source_id = $1", 1, q);
	if (!r) {
		goto fail;
	}
	s->nfiles = (size_t)PQntuples(r);
	s->files = xcalloc(s->nfiles ? s->nfiles : 1, sizeof(*s->files));
	for (size_t i = 0; i < s->nfiles; i++) {
		parse_hex(PQgetvalue(r, (int)i, 0), &s->files[i].fp);
		s->files[i].fp_len = (size_t)atol(PQgetvalue(r, (int)i, 1));
		s->files[i].offset = strtoull(PQgetvalue(r, (int)i, 2), NULL, 10);
	}
	PQclear(r);

	r = db_exec(c, d, "SELECT name FROM domains ORDER BY name COLLATE \"C\"",
		    0, NULL);
	if (!r) {
		goto fail;
	}
	for (int i = 0; i < PQntuples(r); i++) {
		strset_add(&s->domains, PQgetvalue(r, i, 0));
	}
	PQclear(r);
	strset_freeze(&s->domains);
	return s;
fail:
	pfstore_free(s);
	return NULL;
}

static void clear_batch(struct pfstore *s)
{
	for (size_t i = 0; i < s->nmsgs; i++) {
		free(s->msgs[i].host);
		free(s->msgs[i].queue_id);
		free(s->msgs[i].sasl);
		free(s->msgs[i].sender);
	}
	s->nmsgs = 0;
	for (size_t i = 0; i < s->nrejs; i++) {
		free(s->rejs[i].host);
		free(s->rejs[i].who);
	}
	s->nrejs = 0;
}

void pfstore_free(struct pfstore *s)
{
	if (!s) {
		return;
	}
	clear_batch(s);
	free(s->msgs);
	free(s->rejs);
	strset_free(&s->domains);
	free(s->files);
	free(s->state);
	free(s->id);
	free(s->tz);
	free(s);
}

const char *pfstore_state(const struct pfstore *s, size_t *len)
{
	*len = s->state_len;
	return s->state;
}

int pfstore_is_hosted(void *arg, const char *domain, size_t n)
{
	return strset_has(&((struct pfstore *)arg)->domains, domain, n);
}

uint64_t pfstore_file_offset(struct pfstore *s, pfstore_hash_fn fn, void *arg,
			     int *known, int *current)
{
	uint64_t h;

	*known = *current = 0;
	for (size_t i = 0; i < s->nfiles; i++) {
		if (fn(arg, s->files[i].fp_len, &h) == 0 &&
		    h == s->files[i].fp) {
			*known = 1;
			*current = s->has_cur && s->cur_fp == s->files[i].fp &&
				   s->cur_fp_len == s->files[i].fp_len;
			return s->files[i].offset;
		}
	}
	return 0;
}

static void copy_msg(struct msgcopy *d, const struct pftrack_msg *m)
{
	d->host = xstrdup(m->host);
	d->queue_id = xstrdup(m->queue_id);
	d->sasl = m->sasl_username ? xstrdup(m->sasl_username) : NULL;
	d->sender = xstrdup(m->sender ? m->sender : "");
	d->accepted_us = m->accepted_at_us;
	d->origin = m->origin;
	d->size = m->size;
	d->nrcpt = m->nrcpt;
	d->in_flight = m->in_flight;
	d->closed = m->closed;
	d->rcpt = m->rcpt;
}

void pfstore_add_message(struct pfstore *s, const struct pftrack_msg *m)
{
	if (s->nmsgs == s->capmsgs) {
		s->capmsgs = s->capmsgs ? 2 * s->capmsgs : 1024;
		s->msgs = xreallocarray(s->msgs, s->capmsgs, sizeof(*s->msgs));
	}
	copy_msg(&s->msgs[s->nmsgs++], m);
}

void pfstore_add_reject(struct pfstore *s, const char *host, int64_t when_us,
			const char *kind, const char *who, size_t who_len)
{
	if (s->nrejs == s->caprejs) {
		s->caprejs = s->caprejs ? 2 * s->caprejs : 256;
		s->rejs = xreallocarray(s->rejs, s->caprejs, sizeof(*s->rejs));
	}
	struct rejcopy *r = &s->rejs[s->nrejs++];

	r->host = xstrdup(host);
	r->who = xstrndup(who, who_len);
	r->when_us = when_us;
	r->kind = kind;
}

static void copy_row_msg(struct copy *cp, const struct msgcopy *m)
{
	const char *at = strrchr(m->sender, '@');

	copy_text(cp, m->host);
	copy_text(cp, m->queue_id);
	copy_int(cp, m->accepted_us); /* to_timestamp() in SQL */
	copy_text(cp, m->origin == PFTRACK_SASL ? "sasl" : "pickup");
	if (m->sasl) {
		copy_text(cp, m->sasl);
	} else {
		copy_null(cp);
	}
	copy_text(cp, m->sender);
	if (at && at[1]) {
		copy_text(cp, at + 1);
	} else {
		copy_null(cp);
	}
	copy_int(cp, m->size);
	copy_int(cp, m->nrcpt);
	copy_int(cp, m->rcpt.sent);
	copy_int(cp, m->rcpt.bounced);
	copy_int(cp, m->rcpt.deferred);
	copy_int(cp, m->rcpt.expired);
	copy_int(cp, m->rcpt.local);
	copy_int(cp, m->rcpt.remote);
	copy_text(cp, m->in_flight ? "t" : "f");
	copy_text(cp, m->closed ? "t" : "f");
	copy_row(cp);
}

struct inflight_ctx {
	struct copy *cp;
	long long n;
};

static void copy_inflight(void *arg, const struct pftrack_msg *m)
{
	struct inflight_ctx *x = arg;
	struct msgcopy tmp;

	copy_msg(&tmp, m);
	tmp.in_flight = 1;
	copy_row_msg(x->cp, &tmp);
	free(tmp.host);
	free(tmp.queue_id);
	free(tmp.sasl);
	free(tmp.sender);
	x->n++;
}

/*
 * Partitions for every month the batch touches, then the upsert.  The
 * mailbox is found by SASL login (sasl) or envelope sender (pickup); a
 * pickup by an unregistered sender (root, www-data) is a system message
 * and is not stored.  The day is the billing day in the tariff's zone.
 */
static const char upsert_sql[] =
	"WITH src AS ("
	" SELECT t.*, to_timestamp(t.accepted_us / 1e6) AS accepted_at,"
	"  coalesce(ms.address, mp.address) AS mailbox,"
	"  coalesce(ms.customer_id, mp.customer_id) AS customer_id"
	" FROM tmp_pf t"
	" LEFT JOIN mailboxes ms ON t.origin = 'sasl' AND ms.login = lower(t.sasl_username)"
	" LEFT JOIN mailboxes mp ON t.origin = 'pickup' AND mp.address = lower(t.sender)"
	" WHERE t.origin = 'sasl' OR mp.address IS NOT NULL),"
	" up AS ("
	" INSERT INTO outbound_messages AS o (host, queue_id, accepted_at, day,"
	"  origin, sasl_username, sender_domain, mailbox, customer_id, size,"
	"  nrcpt, rcpt_sent, rcpt_bounced, rcpt_deferred, rcpt_expired,"
	"  rcpt_local, rcpt_remote, in_flight, closed)"
	" SELECT host, queue_id, accepted_at, (accepted_at AT TIME ZONE $1)::date,"
	"  origin, sasl_username, lower(sender_domain), mailbox, customer_id, size,"
	"  nrcpt, sent, bounced, deferred, expired, local, remote, in_flight,"
	"  closed FROM src"
	" ON CONFLICT (host, queue_id, accepted_at) DO UPDATE SET"
	"  size = EXCLUDED.size, nrcpt = EXCLUDED.nrcpt,"
	"  rcpt_sent = EXCLUDED.rcpt_sent, rcpt_bounced = EXCLUDED.rcpt_bounced,"
	"  rcpt_deferred = EXCLUDED.rcpt_deferred,"
	"  rcpt_expired = EXCLUDED.rcpt_expired,"
	"  rcpt_local = EXCLUDED.rcpt_local, rcpt_remote = EXCLUDED.rcpt_remote,"
	"  in_flight = EXCLUDED.in_flight, closed = EXCLUDED.closed,"
	"  updated_at = now()"
	" WHERE (o.size, o.nrcpt, o.rcpt_sent, o.rcpt_bounced, o.rcpt_deferred,"
	"  o.rcpt_expired, o.rcpt_local, o.rcpt_remote, o.in_flight, o.closed)"
	"  IS DISTINCT FROM (EXCLUDED.size, EXCLUDED.nrcpt, EXCLUDED.rcpt_sent,"
	"  EXCLUDED.rcpt_bounced, EXCLUDED.rcpt_deferred, EXCLUDED.rcpt_expired,"
	"  EXCLUDED.rcpt_local, EXCLUDED.rcpt_remote, EXCLUDED.in_flight,"
	"  EXCLUDED.closed)"
	" RETURNING customer_id, mailbox, day, in_flight),"
	" keys AS ("
	" INSERT INTO tmp_pf_keys SELECT DISTINCT customer_id, mailbox, day"
	" FROM up WHERE customer_id IS NOT NULL RETURNING 1)"
	/* Statistics of the messages finished in this batch. */
	" SELECT (SELECT count(*) FROM keys) AS keys,"
	"  (SELECT count(*) FROM up WHERE NOT in_flight AND customer_id IS NULL)"
	"   AS unattributed,"
	"  (SELECT count(*) FROM tmp_pf WHERE origin = 'pickup' AND NOT in_flight)"
	"  - (SELECT count(*) FROM src WHERE origin = 'pickup' AND NOT in_flight)"
	"   AS system";

/* The touched keys' outbound columns, recomputed from the messages. */
static const char rollup_sql[] =
	"INSERT INTO usage_daily AS u (customer_id, mailbox, day, out_messages,"
	" out_recipients, out_recipients_local, out_sent, out_bounced,"
	" out_deferred, out_expired)"
	" SELECT o.customer_id, o.mailbox, o.day, count(*), sum(o.nrcpt),"
	"  sum(o.rcpt_local), sum(o.rcpt_sent), sum(o.rcpt_bounced),"
	"  sum(o.rcpt_deferred), sum(o.rcpt_expired)"
	" FROM outbound_messages o JOIN tmp_pf_keys k"
	"  ON o.customer_id = k.customer_id AND o.mailbox = k.mailbox"
	"  AND o.day = k.day"
	" GROUP BY o.customer_id, o.mailbox, o.day"
	" ON CONFLICT (customer_id, day, mailbox) DO UPDATE SET"
	"  out_messages = EXCLUDED.out_messages,"
	"  out_recipients = EXCLUDED.out_recipients,"
	"  out_recipients_local = EXCLUDED.out_recipients_local,"
	"  out_sent = EXCLUDED.out_sent, out_bounced = EXCLUDED.out_bounced,"
	"  out_deferred = EXCLUDED.out_deferred, out_expired = EXCLUDED.out_expired";

int pfstore_commit(struct pfstore *s, struct pftrack *t, uint64_t fp,
		   size_t fp_len, const char *path, uint64_t offset,
		   int finished, long long lines, struct diag *d)
{
	struct copy cp;
	struct inflight_ctx x = {&cp, 0};
	char *state = NULL, *state_hex = NULL;
	size_t state_len = 0;
	long long unatt = 0, sys = 0;
	char fphex[32], fplen[16], off[32], nlines[32], nmsg[32];
	PGresult *r;

	if (db_begin(s->c, d) ||
	    db_cmd(s->c, d,
		   "CREATE TEMP TABLE IF NOT EXISTS tmp_pf (host text,"
		   " queue_id text, accepted_us bigint, origin text,"
		   " sasl_username text, sender text, sender_domain text,"
		   " size bigint, nrcpt integer, sent integer, bounced integer,"
		   " deferred integer, expired integer, local integer,"
		   " remote integer, in_flight boolean, closed boolean)"
		   " ON COMMIT DELETE ROWS", 0, NULL) ||
	    db_cmd(s->c, d,
		   "CREATE TEMP TABLE IF NOT EXISTS tmp_pf_keys (customer_id text,"
		   " mailbox text, day date) ON COMMIT DELETE ROWS", 0, NULL) ||
	    db_cmd(s->c, d,
		   "CREATE TEMP TABLE IF NOT EXISTS tmp_pf_rej (host text,"
		   " at_us bigint, kind text, who text) ON COMMIT DELETE ROWS",
		   0, NULL)) {
		goto fail;
	}
	if (copy_begin(&cp, s->c, "COPY tmp_pf FROM STDIN", d)) {
		goto fail;
	}
	for (size_t i = 0; i < s->nmsgs; i++) {
		copy_row_msg(&cp, &s->msgs[i]);
	}
	pftrack_in_flight(t, copy_inflight, &x);
	if (copy_end(&cp, 0)) {
		goto fail;
	}
	/* Monthly partitions for the months of the batch. */
	if (db_cmd(s->c, d,
		   "SELECT releve_ensure_month_partition('outbound_messages', m)"
		   " FROM (SELECT DISTINCT date_trunc('month',"
		   "  to_timestamp(accepted_us / 1e6) AT TIME ZONE 'UTC')"
		   "  AT TIME ZONE 'UTC' AS m FROM tmp_pf) x", 0, NULL)) {
		goto fail;
	}
	{
		const char *p[1] = {s->tz};

		r = db_exec(s->c, d, upsert_sql, 1, p);
		if (!r) {
			goto fail;
		}
		unatt = atoll(db_get(r, 0, "unattributed"));
		sys = atoll(db_get(r, 0, "system"));
		PQclear(r);
	}
	if (db_cmd(s->c, d, rollup_sql, 0, NULL)) {
		goto fail;
	}
	if (s->nrejs) {
		if (copy_begin(&cp, s->c, "COPY tmp_pf_rej FROM STDIN", d)) {
			goto fail;
		}
		for (size_t i = 0; i < s->nrejs; i++) {
			copy_text(&cp, s->rejs[i].host);
			copy_int(&cp, s->rejs[i].when_us);
			copy_text(&cp, s->rejs[i].kind);
			copy_text(&cp, s->rejs[i].who);
			copy_row(&cp);
		}
		if (copy_end(&cp, 0)) {
			goto fail;
		}
		const char *p[1] = {s->tz};

		if (db_cmd(s->c, d,
			   "INSERT INTO postfix_rejects AS x (host, day, kind, who,"
			   " count)"
			   " SELECT host, (to_timestamp(at_us / 1e6) AT TIME ZONE $1)::date,"
			   "  kind, who, count(*) FROM tmp_pf_rej GROUP BY 1, 2, 3, 4"
			   " ON CONFLICT (host, day, kind, who) DO UPDATE SET"
			   "  count = x.count + EXCLUDED.count", 1, p)) {
			goto fail;
		}
	}
	pftrack_save(t, &state, &state_len);
	state_hex = hex_bytea(state, state_len);
	snprintf(fphex, sizeof(fphex), "%016" PRIx64, fp);
	snprintf(fplen, sizeof(fplen), "%zu", fp_len);
	snprintf(off, sizeof(off), "%" PRIu64, offset);
	snprintf(nlines, sizeof(nlines), "%lld", lines);
	snprintf(nmsg, sizeof(nmsg), "%zu", s->nmsgs);
	{
		const char *p[7] = {s->id,	fphex, fplen, off,
				    state_hex, nlines, nmsg};
		const char *pf[6] = {s->id, fphex, fplen, off, path,
				     finished ? "t" : "f"};

		if (db_cmd(s->c, d,
			   "UPDATE postfix_sources SET fingerprint = $2,"
			   " fp_len = $3, offset_bytes = $4, tracker_state = $5,"
			   " lines = lines + $6, messages = messages + $7,"
			   " updated_at = now() WHERE id = $1", 7, p) ||
		    (fp_len > 0 && db_cmd(s->c, d,
			   "INSERT INTO postfix_files AS f (source_id, fingerprint,"
			   " fp_len, offset_bytes, first_path, finished)"
			   " VALUES ($1, $2, $3, $4, $5, $6)"
			   " ON CONFLICT (source_id, fingerprint, fp_len) DO UPDATE"
			   " SET offset_bytes = greatest(f.offset_bytes,"
			   "  EXCLUDED.offset_bytes),"
			   "  finished = f.finished OR EXCLUDED.finished,"
			   "  updated_at = now()", 6, pf))) {
			goto fail;
		}
	}
	if (db_commit(s->c, d)) {
		goto fail;
	}
	/* The cursor moved: remember it for files read later in this run. */
	int found = 0;

	for (size_t i = 0; i < s->nfiles; i++) {
		if (s->files[i].fp == fp && s->files[i].fp_len == fp_len) {
			if (offset > s->files[i].offset) {
				s->files[i].offset = offset;
			}
			found = 1;
		}
	}
	if (!found) {
		s->files = xreallocarray(s->files, s->nfiles + 1,
					 sizeof(*s->files));
		s->files[s->nfiles].fp = fp;
		s->files[s->nfiles].fp_len = fp_len;
		s->files[s->nfiles].offset = offset;
		s->nfiles++;
	}
	s->has_cur = 1;
	s->cur_fp = fp;
	s->cur_fp_len = fp_len;
	s->totals.messages += (long long)s->nmsgs + x.n;
	s->totals.rejects += (long long)s->nrejs;
	s->totals.unattributed += unatt;
	s->totals.system += sys;
	s->totals.commits++;
	clear_batch(s);
	free(state);
	free(state_hex);
	return 0;
fail:
	db_rollback(s->c);
	free(state);
	free(state_hex);
	return -1;
}

const struct pfstore_totals *pfstore_totals(const struct pfstore *s)
{
	return &s->totals;
}
