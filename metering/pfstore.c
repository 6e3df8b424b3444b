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
#include <pthread.h>
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
	/*
	 * The batch being committed (the "job"), maybe by a thread of its own
	 * while the caller goes on parsing into the batch above: its rows,
	 * copies of the messages in flight, the tracker's state and the
	 * cursor, all taken when pfstore_commit() was called.
	 */
	struct msgcopy *jmsgs, *jinfl;
	size_t jnmsgs, jcapmsgs, jninfl, jcapinfl;
	struct rejcopy *jrejs;
	size_t jnrejs, jcaprejs;
	char *jstate, *jpath;
	size_t jstate_len, jfp_len;
	uint64_t jfp, joffset;
	int jfinished;
	long long jlines, jmalformed;
	pthread_t thread;
	int running, thread_rc;
	struct diag thread_diag;
	/* The latest accepted_us written by this run's commits; has_hwm: set
	 * (a new stream starts with it set to the minimum). */
	int64_t hwm;
	int has_hwm;
	/* Months (UTC, year * 12 + month - 1) of the rows being copied. */
	long *months;
	size_t nmonths, capmonths;
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

	if (!s->has_cur && !s->state && s->nfiles == 0) {
		/* A new stream: its rows are new (see WRITE_SQL). */
		s->has_hwm = 1;
		s->hwm = INT64_MIN;
	}
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

static void free_msgs(struct msgcopy *m, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free(m[i].host);
		free(m[i].queue_id);
		free(m[i].sasl);
		free(m[i].sender);
	}
	*n = 0;
}

static void free_rejs(struct rejcopy *r, size_t *n)
{
	for (size_t i = 0; i < *n; i++) {
		free(r[i].host);
		free(r[i].who);
	}
	*n = 0;
}

static void clear_batch(struct pfstore *s)
{
	free_msgs(s->msgs, &s->nmsgs);
	free_rejs(s->rejs, &s->nrejs);
}

static void clear_job(struct pfstore *s)
{
	free_msgs(s->jmsgs, &s->jnmsgs);
	free_msgs(s->jinfl, &s->jninfl);
	free_rejs(s->jrejs, &s->jnrejs);
	free(s->jstate);
	free(s->jpath);
	s->jstate = s->jpath = NULL;
	s->jstate_len = 0;
}

void pfstore_free(struct pfstore *s)
{
	if (!s) {
		return;
	}
	if (s->running) {
		pthread_join(s->thread, NULL);
		s->running = 0;
	}
	diag_free(&s->thread_diag);
	clear_batch(s);
	clear_job(s);
	free(s->msgs);
	free(s->rejs);
	free(s->jmsgs);
	free(s->jinfl);
	free(s->jrejs);
	strset_free(&s->domains);
	free(s->files);
	free(s->months);
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

/* Note the UTC month of an instant (for its partition). */
static void note_month(struct pfstore *s, int64_t us)
{
	/* Days since 1970-01-01, rounded down, to a civil date (Howard
	 * Hinnant's days_from_civil, inverted). */
	int64_t z = (us >= 0 ? us : us - 86399999999) / 86400000000 + 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	int64_t doe = z - era * 146097;
	int64_t yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	int64_t doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	int64_t mp = (5 * doy + 2) / 153;
	int64_t month = mp < 10 ? mp + 3 : mp - 9;
	int64_t year = yoe + era * 400 + (month <= 2);
	long key = (long)(year * 12 + month - 1);

	for (size_t i = 0; i < s->nmonths; i++) {
		if (s->months[i] == key) {
			return;
		}
	}
	if (s->nmonths == s->capmonths) {
		s->capmonths = s->capmonths ? 2 * s->capmonths : 8;
		s->months = xreallocarray(s->months, s->capmonths,
					  sizeof(*s->months));
	}
	s->months[s->nmonths++] = key;
}

static void copy_row_msg(struct pfstore *s, struct copy *cp,
			 const struct msgcopy *m)
{
	const char *at = strrchr(m->sender, '@');

	note_month(s, m->accepted_us);

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

/* A copy of a message in flight, for the job. */
static void copy_inflight(void *arg, const struct pftrack_msg *m)
{
	struct pfstore *s = arg;

	if (s->jninfl == s->jcapinfl) {
		s->jcapinfl = s->jcapinfl ? 2 * s->jcapinfl : 256;
		s->jinfl = xreallocarray(s->jinfl, s->jcapinfl,
					 sizeof(*s->jinfl));
	}
	copy_msg(&s->jinfl[s->jninfl], m);
	s->jinfl[s->jninfl++].in_flight = 1;
}

/*
 * Partitions for every month the batch touches, then the upsert.  The
 * mailbox is found by SASL login (sasl) or envelope sender (pickup); a
 * pickup by an unregistered sender (root, www-data) is a system message
 * and is not stored.  The day is the billing day in the tariff's zone.
 */
/*
 * Rows accepted after every row written by the earlier commits of this run
 * (the high-water mark, $2) are new: a plain INSERT, cheaper than ON
 * CONFLICT.  Should one exist all the same (a file read again, another
 * stream of the host), the INSERT fails and the whole transaction is
 * done again with ON CONFLICT for every row (run_job()).
 */
#define ON_CONFLICT \
	" ON CONFLICT (host, queue_id, accepted_at) DO UPDATE SET" \
	"  size = EXCLUDED.size, nrcpt = EXCLUDED.nrcpt," \
	"  rcpt_sent = EXCLUDED.rcpt_sent, rcpt_bounced = EXCLUDED.rcpt_bounced," \
	"  rcpt_deferred = EXCLUDED.rcpt_deferred," \
	"  rcpt_expired = EXCLUDED.rcpt_expired," \
	"  rcpt_local = EXCLUDED.rcpt_local, rcpt_remote = EXCLUDED.rcpt_remote," \
	"  in_flight = EXCLUDED.in_flight, closed = EXCLUDED.closed," \
	"  updated_at = now()" \
	" WHERE (o.size, o.nrcpt, o.rcpt_sent, o.rcpt_bounced, o.rcpt_deferred," \
	"  o.rcpt_expired, o.rcpt_local, o.rcpt_remote, o.in_flight, o.closed)" \
	"  IS DISTINCT FROM (EXCLUDED.size, EXCLUDED.nrcpt, EXCLUDED.rcpt_sent," \
	"  EXCLUDED.rcpt_bounced, EXCLUDED.rcpt_deferred, EXCLUDED.rcpt_expired," \
	"  EXCLUDED.rcpt_local, EXCLUDED.rcpt_remote, EXCLUDED.in_flight," \
	"  EXCLUDED.closed)"

#define WRITE_SQL(COND, CONFLICT) \
	"WITH src AS (" \
	" SELECT t.*, to_timestamp(t.accepted_us / 1e6) AS accepted_at," \
	"  coalesce(ms.address, mp.address) AS mailbox," \
	"  coalesce(ms.customer_id, mp.customer_id) AS customer_id" \
	" FROM tmp_pf t" \
	" LEFT JOIN mailboxes ms ON t.origin = 'sasl' AND ms.login = lower(t.sasl_username)" \
	" LEFT JOIN mailboxes mp ON t.origin = 'pickup' AND mp.address = lower(t.sender)" \
	" WHERE (t.origin = 'sasl' OR mp.address IS NOT NULL) AND " COND ")," \
	" up AS (" \
	" INSERT INTO outbound_messages AS o (host, queue_id, accepted_at, day," \
	"  origin, sasl_username, sender_domain, mailbox, customer_id, size," \
	"  nrcpt, rcpt_sent, rcpt_bounced, rcpt_deferred, rcpt_expired," \
	"  rcpt_local, rcpt_remote, in_flight, closed)" \
	" SELECT host, queue_id, accepted_at, (accepted_at AT TIME ZONE $1)::date," \
	"  origin, sasl_username, lower(sender_domain), mailbox, customer_id, size," \
	"  nrcpt, sent, bounced, deferred, expired, local, remote, in_flight," \
	"  closed FROM src" \
	CONFLICT \
	" RETURNING customer_id, mailbox, day, in_flight)," \
	" keys AS (" \
	" INSERT INTO tmp_pf_keys SELECT DISTINCT customer_id, mailbox, day" \
	" FROM up WHERE customer_id IS NOT NULL RETURNING 1)" \
	/* Statistics of the messages finished in this batch.  src is used \
	 * once only, so that it is not materialised. */ \
	" SELECT (SELECT count(*) FROM keys) AS keys," \
	"  (SELECT count(*) FROM up WHERE NOT in_flight AND customer_id IS NULL)" \
	"   AS unattributed"

static const char upsert_sql[] =
	WRITE_SQL("t.accepted_us <= $2", ON_CONFLICT);
static const char insert_sql[] =
	WRITE_SQL("t.accepted_us > $2", "");

/* Finished pickups by unregistered senders (root, www-data): not stored. */
static const char system_sql[] =
	"SELECT count(*) FROM tmp_pf t WHERE t.origin = 'pickup'"
	" AND NOT t.in_flight AND NOT EXISTS (SELECT 1 FROM mailboxes m"
	"  WHERE m.address = lower(t.sender))";

/* The touched keys' outbound columns, recomputed from the messages. */
static const char rollup_sql[] =
	"INSERT INTO usage_daily AS u (customer_id, mailbox, day, out_messages,"
	" out_recipients, out_recipients_local, out_sent, out_bounced,"
	" out_deferred, out_expired)"
	" SELECT o.customer_id, o.mailbox, o.day, count(*), sum(o.nrcpt),"
	"  sum(o.rcpt_local), sum(o.rcpt_sent), sum(o.rcpt_bounced),"
	"  sum(o.rcpt_deferred), sum(o.rcpt_expired)"
	" FROM outbound_messages o"
	" JOIN (SELECT DISTINCT * FROM tmp_pf_keys) k"
	"  ON o.customer_id = k.customer_id AND o.mailbox = k.mailbox"
	"  AND o.day = k.day"
	" GROUP BY o.customer_id, o.mailbox, o.day"
	" ON CONFLICT (customer_id, day, mailbox) DO UPDATE SET"
	"  out_messages = EXCLUDED.out_messages,"
	"  out_recipients = EXCLUDED.out_recipients,"
	"  out_recipients_local = EXCLUDED.out_recipients_local,"
	"  out_sent = EXCLUDED.out_sent, out_bounced = EXCLUDED.out_bounced,"
	"  out_deferred = EXCLUDED.out_deferred, out_expired = EXCLUDED.out_expired";

/*
 * Store the job: one transaction.  fast: rows after the high-water mark
 * by a plain INSERT (see WRITE_SQL).  The job is emptied on success, and
 * on failure unless fast (the caller tries again without).
 */
static int run_job1(struct pfstore *s, int fast, struct diag *d)
{
	struct copy cp;
	uint64_t fp = s->jfp, offset = s->joffset;
	size_t fp_len = s->jfp_len;
	const char *path = s->jpath;
	int finished = s->jfinished;
	int pickups = 0;
	int64_t top = s->hwm;
	char *months = NULL;
	char *state_hex = NULL;
	long long unatt = 0, sys = 0;
	char fphex[32], fplen[16], off[32], nlines[32], nmsg[32], nbad[32];
	PGresult *r;

	/*
	 * synchronous_commit off: the rows and the cursor commit together,
	 * so a commit lost in a crash loses both, and the next run simply
	 * reads that batch again from the previous cursor.
	 */
	if (db_begin(s->c, d) ||
	    db_cmd(s->c, d, "SET LOCAL synchronous_commit = off", 0, NULL) ||
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
	s->nmonths = 0;
	for (size_t i = 0; i < s->jnmsgs; i++) {
		copy_row_msg(s, &cp, &s->jmsgs[i]);
		top = top > s->jmsgs[i].accepted_us ? top
						    : s->jmsgs[i].accepted_us;
		pickups |= s->jmsgs[i].origin == PFTRACK_PICKUP &&
			   !s->jmsgs[i].in_flight;
	}
	for (size_t i = 0; i < s->jninfl; i++) {
		copy_row_msg(s, &cp, &s->jinfl[i]);
		top = top > s->jinfl[i].accepted_us ? top
						    : s->jinfl[i].accepted_us;
	}
	if (copy_end(&cp, 0)) {
		goto fail;
	}
	/* Monthly partitions for the months of the batch, as noted while
	 * copying (cheaper than a pass over tmp_pf). */
	if (s->nmonths) {
		size_t len = 1;

		months = xmalloc(s->nmonths * 64 + 2);
		months[0] = '{';
		for (size_t i = 0; i < s->nmonths; i++) {
			char one[64];
			int n = snprintf(one, sizeof(one),
					 "%s%ld-%02ld-01T00:00:00Z",
					 i ? "," : "", s->months[i] / 12,
					 s->months[i] % 12 + 1);

			memcpy(months + len, one, (size_t)n);
			len += (size_t)n;
		}
		months[len++] = '}';
		months[len] = '\0';

		const char *p[1] = {months};

		if (db_cmd(s->c, d,
			   "SELECT releve_ensure_month_partition("
			   "'outbound_messages', m)"
			   " FROM unnest($1::timestamptz[]) m", 1, p)) {
			goto fail;
		}
	}
	{
		char hwm[32];
		const char *p[2] = {s->tz, hwm};

		snprintf(hwm, sizeof(hwm), "%" PRId64,
			 fast ? s->hwm : INT64_MAX);
		for (int k = 0; k < 1 + fast; k++) {
			r = db_exec(s->c, d, k ? insert_sql : upsert_sql, 2, p);
			if (!r) {
				goto fail;
			}
			unatt += atoll(db_get(r, 0, "unattributed"));
			PQclear(r);
		}
	}
	if (pickups) {
		r = db_exec(s->c, d, system_sql, 0, NULL);
		if (!r) {
			goto fail;
		}
		sys = atoll(PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	if (db_cmd(s->c, d, rollup_sql, 0, NULL)) {
		goto fail;
	}
	if (s->jnrejs) {
		if (copy_begin(&cp, s->c, "COPY tmp_pf_rej FROM STDIN", d)) {
			goto fail;
		}
		for (size_t i = 0; i < s->jnrejs; i++) {
			copy_text(&cp, s->jrejs[i].host);
			copy_int(&cp, s->jrejs[i].when_us);
			copy_text(&cp, s->jrejs[i].kind);
			copy_text(&cp, s->jrejs[i].who);
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
	state_hex = hex_bytea(s->jstate, s->jstate_len);
	snprintf(fphex, sizeof(fphex), "%016" PRIx64, fp);
	snprintf(fplen, sizeof(fplen), "%zu", fp_len);
	snprintf(off, sizeof(off), "%" PRIu64, offset);
	snprintf(nlines, sizeof(nlines), "%lld", s->jlines);
	snprintf(nmsg, sizeof(nmsg), "%zu", s->jnmsgs);
	snprintf(nbad, sizeof(nbad), "%lld", s->jmalformed);
	{
		const char *p[8] = {s->id,	fphex, fplen, off,
				    state_hex, nlines, nmsg, nbad};
		const char *pf[6] = {s->id, fphex, fplen, off, path,
				     finished ? "t" : "f"};

		if (db_cmd(s->c, d,
			   "UPDATE postfix_sources SET fingerprint = $2,"
			   " fp_len = $3, offset_bytes = $4, tracker_state = $5,"
			   " lines = lines + $6, messages = messages + $7,"
			   " malformed = malformed + $8,"
			   " updated_at = now() WHERE id = $1", 8, p) ||
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
	s->totals.messages += (long long)(s->jnmsgs + s->jninfl);
	s->totals.rejects += (long long)s->jnrejs;
	s->totals.unattributed += unatt;
	s->totals.system += sys;
	s->totals.commits++;
	s->hwm = top;
	s->has_hwm = 1;
	clear_job(s);
	free(state_hex);
	free(months);
	return 0;
fail:
	db_rollback(s->c);
	if (!fast) {
		clear_job(s);
	}
	free(state_hex);
	free(months);
	return -1;
}

static int run_job(struct pfstore *s, struct diag *d)
{
	if (s->has_hwm) {
		struct diag fd = DIAG_INIT;
		int rc = run_job1(s, 1, &fd);

		diag_free(&fd);
		if (rc == 0) {
			return 0;
		}
	}
	return run_job1(s, 0, d);
}

static void *job_thread(void *arg)
{
	struct pfstore *s = arg;

	s->thread_rc = run_job(s, &s->thread_diag);
	return NULL;
}

int pfstore_sync(struct pfstore *s, struct diag *d)
{
	if (!s || !s->running) {
		return 0;
	}
	pthread_join(s->thread, NULL);
	s->running = 0;
	diag_move(d, &s->thread_diag);
	return s->thread_rc;
}

int pfstore_commit(struct pfstore *s, struct pftrack *t, uint64_t fp,
		   size_t fp_len, const char *path, uint64_t offset,
		   int finished, long long lines, long long malformed,
		   int background, struct diag *d)
{
	void *tmp;
	size_t n;

	/* One job at a time, and none after a failed one. */
	if (pfstore_sync(s, d) != 0) {
		return -1;
	}
	/* The batch becomes the job; the job's emptied arrays, the batch. */
	tmp = s->jmsgs, s->jmsgs = s->msgs, s->msgs = tmp;
	n = s->jnmsgs, s->jnmsgs = s->nmsgs, s->nmsgs = n;
	n = s->jcapmsgs, s->jcapmsgs = s->capmsgs, s->capmsgs = n;
	tmp = s->jrejs, s->jrejs = s->rejs, s->rejs = tmp;
	n = s->jnrejs, s->jnrejs = s->nrejs, s->nrejs = n;
	n = s->jcaprejs, s->jcaprejs = s->caprejs, s->caprejs = n;
	/* What depends on the tracker is taken now, since it goes on. */
	pftrack_in_flight(t, copy_inflight, s);
	pftrack_save(t, &s->jstate, &s->jstate_len);
	s->jfp = fp;
	s->jfp_len = fp_len;
	s->jpath = xstrdup(path);
	s->joffset = offset;
	s->jfinished = finished;
	s->jlines = lines;
	s->jmalformed = malformed;
	if (background &&
	    pthread_create(&s->thread, NULL, job_thread, s) == 0) {
		s->running = 1;
		return 0;
	}
	return run_job(s, d);
}

size_t pfstore_pending(const struct pfstore *s)
{
	return s->nmsgs;
}

const struct pfstore_totals *pfstore_totals(const struct pfstore *s)
{
	return &s->totals;
}
