/*
 * storage_db — Dovecot snapshots into PostgreSQL; see storage_db.h.
 *
 * The samples go through COPY into a temporary table, attributed to the
 * registry (by address, else by login) into another, from which
 * storage_samples is filled and storage_mailbox_daily folded (a plain
 * INSERT for the first snapshot of a day, else an upsert), and the
 * snapshot's day is rolled up.  All of it in one transaction, with the snapshot
 * row whose UNIQUE (source, taken_at) makes a second ingestion a no-op:
 * a concurrent duplicate fails on the constraint and rolls back whole.
 */
#include "storage_db.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/copy.h"
#include "common/db.h"
#include "common/xalloc.h"

/*
 * Once the samples are in tmp_storage, src attributes them to the
 * registry (by address, else by SASL login; the registry's address
 * becomes the mailbox name); it is a temporary table, read by the three
 * statements below.
 */
static const char src_sql[] =
	"CREATE TEMP TABLE tmp_src ON COMMIT DROP AS"
	" SELECT coalesce(m1.address, m2.address, t.mailbox) AS mbx,"
	"  coalesce(m1.customer_id, m2.customer_id) AS cust,"
	"  t.bytes, t.messages, t.limit_bytes"
	" FROM tmp_storage t"
	" LEFT JOIN mailboxes m1 ON m1.address = lower(t.mailbox)"
	" LEFT JOIN mailboxes m2 ON m1.address IS NULL AND m2.login = t.mailbox"
	" WHERE t.error IS NULL";

/*
 * The samples and the mailboxes in error are stored.  No RETURNING:
 * every sample of src is stored, and a million returned rows would be
 * kept (and spilled) only to be counted.
 */
static const char store_sql[] =
	"WITH ins AS ("
	" INSERT INTO storage_samples (snapshot_id, sampled_at, mailbox,"
	"  customer_id, bytes, messages, limit_bytes)"
	" SELECT $1, $2::timestamptz, mbx, cust, bytes, messages, limit_bytes"
	" FROM tmp_src),"
	" errs AS ("
	" INSERT INTO storage_sample_errors (snapshot_id, mailbox, reason)"
	" SELECT $1, mailbox, error FROM tmp_storage WHERE error IS NOT NULL"
	" ON CONFLICT DO NOTHING)"
	" SELECT count(*) AS stored, count(*) FILTER (WHERE cust IS NULL)"
	"  AS unattributed FROM tmp_src";

/*
 * The fold into storage_mailbox_daily.  The first snapshot of a billing
 * day finds none of its mailboxes' rows for the day: a plain INSERT does
 * it, three times as fast as the upsert below (whose speculative
 * insertion walks the key's index twice and logs twice).  It is tried
 * under a savepoint; any row already there (a later snapshot of the day,
 * another source, a login and an address naming one mailbox in this
 * snapshot) makes it fail whole, and the upsert does the fold instead:
 * the rows stored are the same either way.
 */
static const char daily_first_sql[] =
	"INSERT INTO storage_mailbox_daily (mailbox, day, customer_id,"
	" max_bytes) SELECT mbx, $1::date, cust, bytes FROM tmp_src";

/*
 * The upsert groups by mailbox first: a login and an address naming the
 * same mailbox in one snapshot must not update one row twice.  A day's
 * row is rewritten only when its value grows (or its customer changes):
 * most hourly snapshots find most rows already at their day's largest.
 */
static const char daily_sql[] =
	"INSERT INTO storage_mailbox_daily AS x (mailbox, day, customer_id,"
	"  max_bytes)"
	" SELECT mbx, $1::date, max(cust), max(bytes) FROM tmp_src"
	" GROUP BY mbx"
	" ON CONFLICT (mailbox, day) DO UPDATE SET"
	"  max_bytes = greatest(x.max_bytes, EXCLUDED.max_bytes),"
	"  customer_id = EXCLUDED.customer_id"
	" WHERE x.max_bytes < EXCLUDED.max_bytes"
	"  OR x.customer_id IS DISTINCT FROM EXCLUDED.customer_id";

/* The daily fold: the fast form, else the upsert.  0 or -1. */
static int fold_daily(PGconn *c, const char *day, struct diag *d)
{
	const char *p[1] = {day};
	struct diag first = DIAG_INIT;
	int rc;

	if (db_cmd(c, d, "SAVEPOINT daily_first", 0, NULL)) {
		return -1;
	}
	rc = db_cmd(c, &first, daily_first_sql, 1, p);
	/* its failure is expected (rows already there): not reported */
	diag_free(&first);
	if (rc == 0) {
		return db_cmd(c, d, "RELEASE SAVEPOINT daily_first", 0, NULL);
	}
	if (db_cmd(c, d, "ROLLBACK TO SAVEPOINT daily_first", 0, NULL)) {
		return -1;
	}
	return db_cmd(c, d, daily_sql, 1, p);
}

int storage_store(PGconn *c, const char *source, const char *taken_at,
		  const struct dq_snapshot *snap, int carry_days,
		  struct storage_result *res, struct diag *d)
{
	struct copy cp;
	PGresult *r;
	char snapid[32], nsamples[32], nerrors[32], next[16];

	memset(res, 0, sizeof(*res));
	snprintf(nsamples, sizeof(nsamples), "%zu", snap->n - snap->nerrors);
	snprintf(nerrors, sizeof(nerrors), "%zu", snap->nerrors);
	/*
	 * synchronous_commit off: a snapshot's commit need not wait for its
	 * WAL to reach the disk.  A crash just after may lose the snapshot
	 * (never half of it: the transaction is atomic), and it is re-taken
	 * at the next run (hourly); this commit is all this transaction
	 * changes.  work_mem: the mailbox grouping of a million samples
	 * stays in memory.  jit: compiling costs more than it saves here.
	 */
	if (db_begin(c, d) ||
	    db_cmd(c, d, "SET LOCAL synchronous_commit = off", 0, NULL) ||
	    db_cmd(c, d, "SET LOCAL work_mem = '256MB'", 0, NULL) ||
	    db_cmd(c, d, "SET LOCAL jit = off", 0, NULL)) {
		db_rollback(c);
		return -1;
	}
	{
		const char *p[1] = {taken_at};

		r = db_exec(c, d, "SELECT releve_billing_day($1::timestamptz),"
				  " releve_billing_day($1::timestamptz) + 1,"
				  " releve_ensure_month_partition("
				  "'storage_samples', $1::timestamptz)", 1, p);
		if (!r) {
			goto fail;
		}
		snprintf(res->day, sizeof(res->day), "%s", PQgetvalue(r, 0, 0));
		snprintf(next, sizeof(next), "%s", PQgetvalue(r, 0, 1));
		PQclear(r);
	}
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
			res->already = 1;
			db_rollback(c);
			return 0;
		}
		snprintf(snapid, sizeof(snapid), "%s", PQgetvalue(r, 0, 0));
		PQclear(r);
	}
	if (db_cmd(c, d,
		   "CREATE TEMP TABLE tmp_storage (mailbox text, bytes bigint,"
		   " messages bigint, limit_bytes bigint, error text)"
		   " ON COMMIT DROP", 0, NULL) ||
	    copy_begin(&cp, c, "COPY tmp_storage FROM STDIN", d)) {
		goto fail;
	}
	for (size_t i = 0; i < snap->n; i++) {
		const struct dq_sample *s = &snap->s[i];

		copy_text(&cp, s->mailbox);
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
		if (s->error) {
			copy_text(&cp, s->reason ? s->reason : "error");
		} else {
			copy_null(&cp);
		}
		if (copy_row(&cp)) {
			break;
		}
	}
	/* No ANALYZE: the planner sizes a never-analysed table from its
	 * pages, which is all the joins below need (a hash of the registry,
	 * probed once per sample). */
	if (copy_end(&cp, 0)) {
		goto fail;
	}
	{
		const char *p[2] = {snapid, taken_at};
		char unatt[32];

		if (db_cmd(c, d, src_sql, 0, NULL)) {
			goto fail;
		}
		r = db_exec(c, d, store_sql, 2, p);
		if (!r) {
			goto fail;
		}
		res->samples = atoll(db_get(r, 0, "stored"));
		res->unattributed = atoll(db_get(r, 0, "unattributed"));
		PQclear(r);
		snprintf(unatt, sizeof(unatt), "%lld", res->unattributed);
		const char *q[2] = {snapid, unatt};

		if (db_cmd(c, d, "UPDATE storage_snapshots SET unattributed = $2"
				 " WHERE id = $1", 2, q) ||
		    fold_daily(c, res->day, d)) {
			goto fail;
		}
	}
	{
		/* The snapshot's day, rolled up at once: the later days it
		 * may carry into are rolled up on their own day, or by
		 * `releve rollup storage` after a back-dated import. */
		struct rollup_result rr;

		if (storage_rollup(c, res->day, next, carry_days, &rr, d)) {
			goto fail;
		}
	}
	if (db_commit(c, d)) {
		goto fail;
	}
	res->errors = (long long)snap->nerrors;
	return 0;
fail:
	db_rollback(c);
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

static uint64_t rl_hash(const char *s, size_t n)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (size_t i = 0; i < n; i++) {
		h ^= (unsigned char)s[i];
		h *= 1099511628211ULL;
	}
	return h ^ (h >> 29);
}

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
	for (size_t i = rl_hash(a, n) & st->mask; st->slot[i];
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
		for (h = rl_hash(m->address, (size_t)m->len) & st.mask;
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
