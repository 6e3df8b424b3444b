/*
 * storage_db — Dovecot snapshots into PostgreSQL; see storage_db.h.
 *
 * The samples go through COPY into a temporary table, then one statement
 * attributes them to the registry (by address, else by login), fills
 * storage_samples and folds them into storage_mailbox_daily.  All of it in one transaction, with the snapshot
 * row whose UNIQUE (source, taken_at) makes a second ingestion a no-op:
 * a concurrent duplicate fails on the constraint and rolls back whole.
 */
#include "storage_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/copy.h"
#include "common/db.h"

/*
 * One statement does the rest once the samples are in tmp_storage: it
 * attributes them to the registry (by address, else by SASL login; the
 * registry's address becomes the mailbox name), stores them, folds them
 * into storage_mailbox_daily and records the mailboxes in error.  The
 * daily fold groups by mailbox first: a login and an address naming the
 * same mailbox in one snapshot must not update one row twice.  A day's
 * row is rewritten only when its value grows (or its customer changes):
 * most hourly snapshots find most rows already at their day's largest.
 * No RETURNING: every sample of src is stored, and a million returned
 * rows would be kept (and spilled) only to be counted.
 */
static const char store_sql[] =
	"WITH src AS MATERIALIZED ("
	" SELECT coalesce(m1.address, m2.address, t.mailbox) AS mbx,"
	"  coalesce(m1.customer_id, m2.customer_id) AS cust,"
	"  t.bytes, t.messages, t.limit_bytes"
	" FROM tmp_storage t"
	" LEFT JOIN mailboxes m1 ON m1.address = lower(t.mailbox)"
	" LEFT JOIN mailboxes m2 ON m1.address IS NULL AND m2.login = t.mailbox"
	" WHERE t.error IS NULL),"
	" ins AS ("
	" INSERT INTO storage_samples (snapshot_id, sampled_at, mailbox,"
	"  customer_id, bytes, messages, limit_bytes)"
	" SELECT $1, $2::timestamptz, mbx, cust, bytes, messages, limit_bytes"
	" FROM src),"
	" daily AS ("
	" INSERT INTO storage_mailbox_daily AS x (mailbox, day, customer_id,"
	"  max_bytes)"
	" SELECT mbx, $3::date, max(cust), max(bytes) FROM src"
	" GROUP BY mbx"
	" ON CONFLICT (mailbox, day) DO UPDATE SET"
	"  max_bytes = greatest(x.max_bytes, EXCLUDED.max_bytes),"
	"  customer_id = EXCLUDED.customer_id"
	" WHERE x.max_bytes < EXCLUDED.max_bytes"
	"  OR x.customer_id IS DISTINCT FROM EXCLUDED.customer_id),"
	" errs AS ("
	" INSERT INTO storage_sample_errors (snapshot_id, mailbox, reason)"
	" SELECT $1, mailbox, error FROM tmp_storage WHERE error IS NOT NULL"
	" ON CONFLICT DO NOTHING)"
	" SELECT count(*) AS stored, count(*) FILTER (WHERE cust IS NULL)"
	"  AS unattributed FROM src";

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
		const char *p[3] = {snapid, taken_at, res->day};
		char unatt[32];

		r = db_exec(c, d, store_sql, 3, p);
		if (!r) {
			goto fail;
		}
		res->samples = atoll(db_get(r, 0, "stored"));
		res->unattributed = atoll(db_get(r, 0, "unattributed"));
		PQclear(r);
		snprintf(unatt, sizeof(unatt), "%lld", res->unattributed);
		const char *q[2] = {snapid, unatt};

		if (db_cmd(c, d, "UPDATE storage_snapshots SET unattributed = $2"
				 " WHERE id = $1", 2, q)) {
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
 * The customers' storage for every day of [from, to), from
 * storage_mailbox_daily.  Rather than building every mailbox-day and
 * looking back for its last sample, each sample covers its own day and
 * the days after it without a sample, up to carry_days (lead() over the
 * mailbox's samples, in index order); those covered days are summed per
 * customer and day, and the days no sample covers are the gaps: the
 * mailboxes existing that day (counted per customer from the registry's
 * date spans, without a row per mailbox-day) minus those covered.  Must
 * agree with storage_mailbox_days() (tested).
 */
static const char rollup_sql[] =
	"WITH mb AS MATERIALIZED ("
	" SELECT address, customer_id,"
	"  greatest(coalesce(start_date, $1::date), $1::date) AS lo,"
	"  least(coalesce(end_date, $2::date), $2::date) AS hi"
	" FROM mailboxes),"
	" s AS ("
	" SELECT x.mailbox, x.day, x.max_bytes,"
	"  lead(x.day) OVER (PARTITION BY x.mailbox ORDER BY x.day) AS next_day"
	" FROM storage_mailbox_daily x"
	" WHERE x.day >= $1::date - $3::int AND x.day < $2::date),"
	" cov AS ("
	" SELECT mb.customer_id, g.d::date AS day, s.max_bytes,"
	"  g.d::date = s.day AS sampled"
	" FROM s JOIN mb ON mb.address = s.mailbox AND mb.lo < mb.hi,"
	" generate_series(greatest(s.day, mb.lo),"
	"  least(coalesce(s.next_day, mb.hi) - 1, s.day + $3::int, mb.hi - 1),"
	"  interval '1 day') g(d)),"
	" agg AS ("
	" SELECT customer_id, day, sum(max_bytes) AS bytes,"
	"  count(*) FILTER (WHERE sampled) AS sampled,"
	"  count(*) FILTER (WHERE NOT sampled) AS carried"
	" FROM cov GROUP BY customer_id, day),"
	" spans AS ("
	" SELECT customer_id, lo, hi, count(*) AS n FROM mb WHERE lo < hi"
	" GROUP BY customer_id, lo, hi),"
	" days AS ("
	" SELECT customer_id, g.d::date AS day, sum(n) AS mailboxes"
	" FROM spans, generate_series(lo, hi - 1, interval '1 day') g(d)"
	" GROUP BY customer_id, g.d),"
	" ins AS ("
	" INSERT INTO storage_customer_daily (customer_id, day, storage_bytes,"
	"  mailboxes, sampled, carried, gaps, carry_days)"
	" SELECT days.customer_id, days.day, coalesce(agg.bytes, 0),"
	"  days.mailboxes, coalesce(agg.sampled, 0), coalesce(agg.carried, 0),"
	"  days.mailboxes - coalesce(agg.sampled, 0) - coalesce(agg.carried, 0),"
	"  $3::int"
	" FROM days LEFT JOIN agg ON agg.customer_id = days.customer_id"
	"  AND agg.day = days.day"
	" RETURNING mailboxes, carried, gaps)"
	" SELECT coalesce(sum(mailboxes), 0), coalesce(sum(gaps), 0),"
	"  coalesce(sum(carried), 0) FROM ins";

int storage_rollup(PGconn *c, const char *from, const char *to,
		   int carry_days, struct rollup_result *res, struct diag *d)
{
	char carry[16];
	const char *p[3] = {from, to, carry};
	PGresult *r;

	memset(res, 0, sizeof(*res));
	snprintf(carry, sizeof(carry), "%d", carry_days);
	/* Replaced whole: customers or mailboxes gone from the registry
	 * leave no stale day behind. */
	if (db_cmd(c, d, "DELETE FROM storage_customer_daily"
			 " WHERE day >= $1::date AND day < $2::date", 2, p) ||
	    db_cmd(c, d, "SET LOCAL work_mem = '256MB'", 0, NULL) ||
	    /* the two aggregates of a month of 100,000 customers hold
	     * about 800 MB: in memory rather than in batches on disk */
	    db_cmd(c, d, "SET LOCAL hash_mem_multiplier = 4", 0, NULL) ||
	    db_cmd(c, d, "SET LOCAL jit = off", 0, NULL)) {
		return -1;
	}
	r = db_exec(c, d, rollup_sql, 3, p);
	if (!r) {
		return -1;
	}
	res->rows = atoll(PQgetvalue(r, 0, 0));
	res->gaps = atoll(PQgetvalue(r, 0, 1));
	res->carried = atoll(PQgetvalue(r, 0, 2));
	PQclear(r);
	return 0;
}
