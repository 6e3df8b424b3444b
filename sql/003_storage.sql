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
-- registry does not know (unattributed, reported).
CREATE TABLE storage_samples (
    snapshot_id bigint NOT NULL,
    sampled_at  timestamptz NOT NULL,
    mailbox     text NOT NULL,
    customer_id text,
    bytes       bigint NOT NULL CHECK (bytes >= 0),
    messages    bigint CHECK (messages >= 0),
    limit_bytes bigint CHECK (limit_bytes >= 0),
    PRIMARY KEY (mailbox, sampled_at, snapshot_id)
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
    samples     integer NOT NULL,
    PRIMARY KEY (mailbox, day)
);

-- The daily usage rollup, per customer, mailbox and billing day: storage
-- here (sampled, carried forward from an earlier day, or a gap counted as
-- zero), outbound counts beside it (the Postfix collector).
CREATE TABLE usage_daily (
    customer_id   text NOT NULL,
    mailbox       text NOT NULL,
    day           date NOT NULL,
    storage_bytes bigint NOT NULL DEFAULT 0,
    storage_state text NOT NULL DEFAULT 'none'
                  CHECK (storage_state IN ('sampled', 'carried', 'gap', 'none')),
    PRIMARY KEY (customer_id, day, mailbox)
);
CREATE INDEX usage_daily_day ON usage_daily (day);
