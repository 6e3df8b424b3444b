-- 003_storage: Dovecot storage samples and the daily usage rollup.
--
-- A snapshot (one run of doveadm quota get -A, or one mailcow answer) is
-- stored whole or not at all; (source, taken_at) identifies it, so the
-- same snapshot ingested twice is stored once.  Samples are partitioned by
-- month (created on demand by releve_ensure_month_partition).  The billing
-- day of a sample is its date in the billing time zone (the tariff's).

-- The billing time zone in force on a date: the tariff version effective
-- then, else the earliest one, else Europe/Paris.
CREATE FUNCTION releve_billing_tz(d date) RETURNS text
LANGUAGE sql STABLE AS $$
    SELECT coalesce(
        (SELECT timezone FROM tariff_versions WHERE effective_from <= d
          ORDER BY effective_from DESC LIMIT 1),
        (SELECT timezone FROM tariff_versions ORDER BY effective_from LIMIT 1),
        'Europe/Paris')
$$;

-- The billing day of an instant.
CREATE FUNCTION releve_billing_day(t timestamptz) RETURNS date
LANGUAGE sql STABLE AS $$
    SELECT (t AT TIME ZONE releve_billing_tz((t AT TIME ZONE 'UTC')::date))::date
$$;

-- Create the monthly partition of parent that holds instant t, if missing.
-- Partitions are named parent_YYYYMM and cover [month start, next month)
-- in UTC.  Identifiers are quoted with format(%I): no data reaches SQL text.
CREATE FUNCTION releve_ensure_month_partition(parent text, t timestamptz)
RETURNS void LANGUAGE plpgsql AS $$
DECLARE
    lo timestamptz := date_trunc('month', t AT TIME ZONE 'UTC') AT TIME ZONE 'UTC';
    hi timestamptz := (date_trunc('month', t AT TIME ZONE 'UTC') + interval '1 month') AT TIME ZONE 'UTC';
    part text := parent || '_' || to_char(t AT TIME ZONE 'UTC', 'YYYYMM');
BEGIN
    IF to_regclass(part) IS NULL THEN
        -- Serialise concurrent creators of the same partition.
        PERFORM pg_advisory_xact_lock(hashtext(part));
        IF to_regclass(part) IS NULL THEN
            EXECUTE format('CREATE TABLE %I PARTITION OF %I FOR VALUES FROM (%L) TO (%L)',
                           part, parent, lo, hi);
        END IF;
    END IF;
END $$;

CREATE TABLE storage_snapshots (
    id        bigserial PRIMARY KEY,
    source    text NOT NULL CHECK (btrim(source) <> ''),
    taken_at  timestamptz NOT NULL,
    format    text NOT NULL,
    samples   integer NOT NULL,
    errors    integer NOT NULL,
    unattributed integer NOT NULL,
    stored_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, taken_at)
);

-- One row per mailbox and snapshot.  customer_id is NULL for a mailbox the
-- registry does not know (unattributed, reported).  No index: the raw
-- samples are kept for audit and purged by month; what is read is
-- storage_mailbox_daily.  A mailbox appears once per snapshot (the parser
-- refuses duplicates) and a snapshot once (storage_snapshots).
CREATE TABLE storage_samples (
    snapshot_id bigint NOT NULL,
    sampled_at  timestamptz NOT NULL,
    mailbox     text NOT NULL,
    customer_id text,
    bytes       bigint NOT NULL CHECK (bytes >= 0),
    messages    bigint CHECK (messages >= 0),
    limit_bytes bigint CHECK (limit_bytes >= 0)
) PARTITION BY RANGE (sampled_at);

-- Mailboxes whose value was `error` in a snapshot: no sample, reported.
CREATE TABLE storage_sample_errors (
    snapshot_id bigint NOT NULL REFERENCES storage_snapshots (id) ON DELETE CASCADE,
    mailbox     text NOT NULL,
    reason      text NOT NULL,
    PRIMARY KEY (snapshot_id, mailbox)
);

-- The largest sample of each mailbox and billing day: kept up to date in
-- the transaction that stores a snapshot, and what the rollup reads.
CREATE TABLE storage_mailbox_daily (
    mailbox     text NOT NULL,
    day         date NOT NULL,
    customer_id text,
    max_bytes   bigint NOT NULL,
    PRIMARY KEY (mailbox, day)
);

-- The daily usage rollup: outbound counts per customer, mailbox and
-- billing day (filled by the Postfix collector, see 004_outbound).
CREATE TABLE usage_daily (
    customer_id   text NOT NULL,
    mailbox       text NOT NULL,
    day           date NOT NULL,
    PRIMARY KEY (customer_id, day, mailbox)
);
CREATE INDEX usage_daily_day ON usage_daily (day);

-- A customer's storage per billing day: the sum over the mailboxes it has
-- that day (the registry's start/end dates) of each mailbox's storage: the
-- day's largest sample, else its last sample of the carry-forward window
-- before (carried), else zero (a gap, counted and reported).  Written by
-- the rollup (releve rollup storage, and the collector for the day of each
-- snapshot).
CREATE TABLE storage_customer_daily (
    customer_id   text NOT NULL,
    day           date NOT NULL,
    storage_bytes bigint NOT NULL,
    mailboxes     integer NOT NULL,  -- mailboxes existing that day
    sampled       integer NOT NULL,  -- of which sampled that day
    carried       integer NOT NULL,  -- carried forward
    gaps          integer NOT NULL,  -- without a sample in the window: 0
    carry_days    integer NOT NULL,  -- the window used
    PRIMARY KEY (customer_id, day)
);

-- The same rules per mailbox, computed on demand (one customer's detail,
-- usage by mailbox, tests); the rollup above must agree with it.
CREATE FUNCTION storage_mailbox_days(p_from date, p_to date, p_carry integer,
                                     p_customer text DEFAULT NULL)
RETURNS TABLE (customer_id text, mailbox text, day date, bytes bigint, state text)
LANGUAGE sql STABLE AS $$
    SELECT m.customer_id, m.address, g.day::date,
           coalesce(s.max_bytes, 0),
           CASE WHEN s.day IS NULL THEN 'gap'
                WHEN s.day = g.day::date THEN 'sampled' ELSE 'carried' END
      FROM mailboxes m
     CROSS JOIN generate_series(p_from, p_to - 1, interval '1 day') g(day)
      LEFT JOIN LATERAL (
           SELECT x.day, x.max_bytes FROM storage_mailbox_daily x
            WHERE x.mailbox = m.address AND x.day <= g.day::date
              AND x.day >= g.day::date - p_carry
            ORDER BY x.day DESC LIMIT 1) s ON true
     WHERE (p_customer IS NULL OR m.customer_id = p_customer)
       AND (m.start_date IS NULL OR g.day >= m.start_date)
       AND (m.end_date IS NULL OR g.day < m.end_date)
$$;
