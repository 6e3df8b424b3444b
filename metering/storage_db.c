/*
 * storage_db — Dovecot snapshots into PostgreSQL; see storage_db.h.
 *
 * The samples go through COPY into a temporary table, then one INSERT ...
 * SELECT attributes them to the registry (by address, else by login) and
 * fills storage_samples; a second statement folds them into
 * storage_mailbox_daily.  All of it in one transaction, with the snapshot
 * row whose UNIQUE (source, taken_at) makes a second ingestion a no-op:
 * a concurrent duplicate fails on the constraint and rolls back whole.
 */
#include "storage_db.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/copy.h"
#include "common/db.h"

/* Days touched by a snapshot: its own, and the following carry_days whose
 * carried-forward value it may change (up to today). */
static const char rollup_window_sql[] =
	"SELECT $1::date AS lo,"
	" least($1::date + $2::int + 1,"
	"       greatest(releve_billing_day(now()) + 1, $1::date + 1)) AS hi";

int storage_store(PGconn *c, const char *source, const char *taken_at,
		  const struct dq_snapshot *snap, int carry_days,
		  struct storage_result *res, struct diag *d)
{
	struct copy cp;
	PGresult *r;
	char snapid[32], nsamples[32], nerrors[32], carry[16];
	long long stored = 0;

	memset(res, 0, sizeof(*res));
	snprintf(nsamples, sizeof(nsamples), "%zu", snap->n - snap->nerrors);
	snprintf(nerrors, sizeof(nerrors), "%zu", snap->nerrors);
	snprintf(carry, sizeof(carry), "%d", carry_days);
	if (db_begin(c, d)) {
		return -1;
	}
	{
		const char *p[1] = {taken_at};

		r = db_exec(c, d, "SELECT releve_billing_day($1::timestamptz),"
				  " releve_ensure_month_partition("
				  "'storage_samples', $1::timestamptz)", 1, p);
		if (!r) {
			goto fail;
		}
		snprintf(res->day, sizeof(res->day), "%s", PQgetvalue(r, 0, 0));
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
	if (copy_end(&cp, 0)) {
		goto fail;
	}
	{
		const char *p[2] = {snapid, taken_at};

		/* Attribute by address, else by SASL login; keep the
		 * registry's address as the mailbox name when found. */
		r = db_exec(c, d,
			"WITH ins AS ("
			" INSERT INTO storage_samples (snapshot_id, sampled_at,"
			"  mailbox, customer_id, bytes, messages, limit_bytes)"
			" SELECT $1, $2::timestamptz,"
			"  coalesce(m1.address, m2.address, t.mailbox),"
			"  coalesce(m1.customer_id, m2.customer_id),"
			"  t.bytes, t.messages, t.limit_bytes"
			" FROM tmp_storage t"
			" LEFT JOIN mailboxes m1 ON m1.address = lower(t.mailbox)"
			" LEFT JOIN mailboxes m2 ON m1.address IS NULL"
			"  AND m2.login = t.mailbox"
			" WHERE t.error IS NULL"
			" RETURNING customer_id)"
			" SELECT count(*), count(*) FILTER (WHERE customer_id IS NULL)"
			" FROM ins", 2, p);
		if (!r) {
			goto fail;
		}
		stored = atoll(PQgetvalue(r, 0, 0));
		res->unattributed = atoll(PQgetvalue(r, 0, 1));
		PQclear(r);
	}
	{
		const char *p[1] = {snapid};

		if (db_cmd(c, d,
			   "INSERT INTO storage_sample_errors (snapshot_id,"
			   " mailbox, reason)"
			   " SELECT $1, mailbox, error FROM tmp_storage"
			   " WHERE error IS NOT NULL ON CONFLICT DO NOTHING",
			   1, p) ||
		    db_cmd(c, d,
			   "INSERT INTO storage_mailbox_daily AS x (mailbox, day,"
			   " customer_id, max_bytes, samples)"
			   " SELECT mailbox, releve_billing_day(sampled_at),"
			   "  customer_id, bytes, 1"
			   " FROM storage_samples WHERE snapshot_id = $1"
			   " ON CONFLICT (mailbox, day) DO UPDATE SET"
			   "  max_bytes = greatest(x.max_bytes, EXCLUDED.max_bytes),"
			   "  customer_id = EXCLUDED.customer_id,"
			   "  samples = x.samples + 1", 1, p)) {
			goto fail;
		}
	}
	{
		char unatt[32];
		const char *p[2] = {snapid, unatt};

		snprintf(unatt, sizeof(unatt), "%lld", res->unattributed);
		if (db_cmd(c, d, "UPDATE storage_snapshots SET unattributed = $2"
				 " WHERE id = $1", 2, p)) {
			goto fail;
		}
	}
	{
		const char *p[2] = {res->day, carry};
		struct rollup_result rr;

		r = db_exec(c, d, rollup_window_sql, 2, p);
		if (!r) {
			goto fail;
		}
		char lo[16], hi[16];

		snprintf(lo, sizeof(lo), "%s", PQgetvalue(r, 0, 0));
		snprintf(hi, sizeof(hi), "%s", PQgetvalue(r, 0, 1));
		PQclear(r);
		if (storage_rollup(c, lo, hi, carry_days, &rr, d)) {
			goto fail;
		}
	}
	if (db_commit(c, d)) {
		goto fail;
	}
	res->samples = stored;
	res->errors = (long long)snap->nerrors;
	return 0;
fail:
	db_rollback(c);
	return -1;
}

/*
 * For every registered mailbox and day of [from, to) on which it exists:
 * the day's largest sample, else the latest one of the carry_days before,
 * else a gap.  The window function finds, for each day, the latest sampled
 * day at or before it in one pass over the mailbox's days (no per-day
 * lookup), which keeps a month of 100,000 customers a single sort.
 */
static const char rollup_sql[] =
	"WITH grid AS ("
	" SELECT m.customer_id, m.address AS mailbox, g.day::date AS day"
	" FROM mailboxes m"
	" CROSS JOIN generate_series($1::date, $2::date - 1, interval '1 day') g(day)"
	" WHERE (m.start_date IS NULL OR g.day >= m.start_date)"
	"   AND (m.end_date IS NULL OR g.day < m.end_date)),"
	" hist AS ("
	" SELECT x.mailbox, x.day, x.max_bytes FROM storage_mailbox_daily x"
	" WHERE x.day >= $1::date - $3::int AND x.day < $2::date"
	"   AND x.mailbox IN (SELECT address FROM mailboxes)),"
	" merged AS ("
	" SELECT mailbox, day, NULL::text AS customer_id, max_bytes, true AS sampled"
	" FROM hist"
	" UNION ALL"
	" SELECT mailbox, day, customer_id, NULL, false FROM grid),"
	" marked AS ("
	" SELECT mailbox, day, customer_id, sampled,"
	"  max(CASE WHEN sampled THEN day END) OVER w AS sday"
	" FROM merged"
	" WINDOW w AS (PARTITION BY mailbox ORDER BY day, sampled DESC"
	"  ROWS BETWEEN UNBOUNDED PRECEDING AND CURRENT ROW)),"
	" filled AS ("
	" SELECT k.customer_id, k.mailbox, k.day,"
	"  CASE WHEN k.sday = k.day THEN 'sampled'"
	"       WHEN k.sday >= k.day - $3::int THEN 'carried'"
	"       ELSE 'gap' END AS state,"
	"  CASE WHEN k.sday >= k.day - $3::int THEN h.max_bytes ELSE 0 END AS bytes"
	" FROM marked k"
	" LEFT JOIN hist h ON h.mailbox = k.mailbox AND h.day = k.sday"
	" WHERE NOT k.sampled),"
	" cleared AS ("
	" UPDATE usage_daily u SET storage_bytes = 0, storage_state = 'none'"
	" WHERE u.day >= $1::date AND u.day < $2::date"
	"   AND u.storage_state <> 'none'"
	"   AND NOT EXISTS (SELECT 1 FROM filled f WHERE f.customer_id = u.customer_id"
	"    AND f.mailbox = u.mailbox AND f.day = u.day)),"
	" up AS ("
	" INSERT INTO usage_daily AS u (customer_id, mailbox, day, storage_bytes,"
	"  storage_state)"
	" SELECT customer_id, mailbox, day, bytes, state FROM filled"
	" ON CONFLICT (customer_id, day, mailbox) DO UPDATE SET"
	"  storage_bytes = EXCLUDED.storage_bytes,"
	"  storage_state = EXCLUDED.storage_state"
	" RETURNING storage_state)"
	" SELECT count(*), count(*) FILTER (WHERE storage_state = 'gap'),"
	"  count(*) FILTER (WHERE storage_state = 'carried') FROM up";

int storage_rollup(PGconn *c, const char *from, const char *to,
		   int carry_days, struct rollup_result *res, struct diag *d)
{
	char carry[16];
	const char *p[3] = {from, to, carry};
	PGresult *r;

	memset(res, 0, sizeof(*res));
	snprintf(carry, sizeof(carry), "%d", carry_days);
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
