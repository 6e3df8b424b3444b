-- 013_storage_blocks: the samples and the daily maxima as arrays, a row
-- per block of 1,024 numbered mailboxes.
--
-- A snapshot of a million mailboxes wrote a million sample rows and, on
-- a day's first snapshot, a million rows of daily maxima, each with its
-- name and its index entries: about 2 µs a row, 4 of the 6 seconds of a
-- snapshot.  Each name seen now gets a number once (storage_names), and
-- a block b of numbers [1024 b, 1024 b + 1024) is one row of arrays
-- whose subscripts are the mailbox numbers: the bytes of mailbox n in
-- block row x are x.bytes[n] (NULL: no value for that mailbox).  A
-- million samples are then 1,000 rows of arrays: 0.3 s to store.
--
-- The rows of before are still there to read as views of the same names
-- (storage_samples, storage_mailbox_daily), and storage_mailbox_days()
-- keeps its rules.

-- Every mailbox name the storage collector has met: the registry's
-- addresses, and the names of samples the registry does not know, as
-- given; numbered from 0 in the order first met.  A name keeps its
-- number: a mailbox registered after its first samples, or deleted from
-- the registry and created again, finds its days again, as the rows
-- under its name did before.
CREATE TABLE storage_names (
    id   integer PRIMARY KEY CHECK (id >= 0),
    name text NOT NULL UNIQUE
);

-- The registry's mailboxes carry the number of their address, a copy
-- the collector keeps (storage_names stays the reference): it comes out
-- with the registry, which the collector reads anyway, where reading the
-- million names as well cost 0.6 s a snapshot.  A mailbox not numbered
-- yet (new, re-created, renamed) has NULL, and the collector fills it in.
ALTER TABLE mailboxes ADD COLUMN storage_id integer;
CREATE INDEX mailboxes_storage_unset ON mailboxes (address)
    WHERE storage_id IS NULL;
CREATE FUNCTION releve_mailbox_renamed() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    NEW.storage_id := NULL;
    RETURN NEW;
END $$;
CREATE TRIGGER mailboxes_renamed BEFORE UPDATE OF address ON mailboxes
    FOR EACH ROW WHEN (NEW.address IS DISTINCT FROM OLD.address)
    EXECUTE FUNCTION releve_mailbox_renamed();

-- A snapshot's samples, one row per block of mailbox numbers, all three
-- arrays with the same subscripts; a mailbox has a sample when bytes[n]
-- is not NULL (messages[n] NULL: unknown; limit_bytes[n] NULL:
-- unlimited).  Partitioned by month like the rows of before.
CREATE TABLE storage_sample_blocks (
    snapshot_id bigint NOT NULL REFERENCES storage_snapshots (id) ON DELETE CASCADE,
    sampled_at  timestamptz NOT NULL,
    block       integer NOT NULL CHECK (block >= 0),
    bytes       bigint[] NOT NULL,
    messages    bigint[] NOT NULL,
    limit_bytes bigint[] NOT NULL
) PARTITION BY RANGE (sampled_at);

-- The largest sample of each mailbox and billing day, a row per day and
-- block; read by day (the collector, the rollup) and by block (one
-- mailbox's days: storage_mailbox_days, registry show --unattributed).
CREATE TABLE storage_daily (
    day       date NOT NULL,
    block     integer NOT NULL CHECK (block >= 0),
    max_bytes bigint[] NOT NULL,
    PRIMARY KEY (day, block)
);
CREATE INDEX storage_daily_block ON storage_daily (block, day);

-- The array of a block from (number, value) pairs sorted by number, all
-- in one block: subscripts from the first number to the last, NULL
-- where no number was given.
CREATE FUNCTION releve_storage_block(p_ids integer[], p_vals bigint[])
RETURNS bigint[] LANGUAGE plpgsql IMMUTABLE AS $$
DECLARE
    a bigint[];
    n integer := cardinality(p_ids);
BEGIN
    IF n IS NULL OR n = 0 THEN
        RETURN '{}';
    END IF;
    a := array_fill(NULL::bigint, ARRAY[p_ids[n] - p_ids[1] + 1], ARRAY[p_ids[1]]);
    FOR i IN 1 .. n LOOP
        a[p_ids[i]] := p_vals[i];
    END LOOP;
    RETURN a;
END $$;

-- Number the names not numbered yet (in the order given), under the
-- lock the collector takes for the same (numbers are max + 1).
CREATE FUNCTION releve_storage_name(p_names text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('releve storage_names'));
    INSERT INTO storage_names (id, name)
    SELECT (SELECT coalesce(max(id), -1) FROM storage_names)
           + row_number() OVER (ORDER BY min(u.o)), u.name
      FROM unnest(p_names) WITH ORDINALITY u(name, o)
     WHERE u.name IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM storage_names n WHERE n.name = u.name)
     GROUP BY u.name;
    UPDATE mailboxes m SET storage_id = n.id FROM storage_names n
     WHERE m.storage_id IS NULL AND n.name = m.address;
END $$;

-- Daily maxima put in by name (imports, tests, the benchmark's data):
-- each (name, day, bytes) raises that day's value of the mailbox to
-- bytes if larger.  The collector does the same in bulk, in C.
CREATE FUNCTION releve_storage_daily_put(p_names text[], p_days date[],
                                         p_bytes bigint[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM releve_storage_name(p_names);
    WITH v AS (
        SELECT n.id, u.day, max(u.bytes) AS bytes
          FROM unnest(p_names, p_days, p_bytes) u(name, day, bytes)
          JOIN storage_names n ON n.name = u.name
         WHERE u.bytes IS NOT NULL AND u.day IS NOT NULL
         GROUP BY 1, 2),
    old AS (
        SELECT x.day, s.id, x.max_bytes[s.id] AS bytes
          FROM storage_daily x
         CROSS JOIN LATERAL generate_subscripts(x.max_bytes, 1) s(id)
         WHERE (x.day, x.block) IN (SELECT DISTINCT day, id >> 10 FROM v)
           AND x.max_bytes[s.id] IS NOT NULL),
    merged AS (
        SELECT day, id, max(bytes) AS bytes
          FROM (SELECT day, id, bytes FROM v
                UNION ALL SELECT day, id, bytes FROM old) a
         GROUP BY 1, 2)
    INSERT INTO storage_daily (day, block, max_bytes)
    SELECT day, id >> 10,
           releve_storage_block(array_agg(id ORDER BY id), array_agg(bytes ORDER BY id))
      FROM merged GROUP BY day, id >> 10
    ON CONFLICT (day, block) DO UPDATE SET max_bytes = EXCLUDED.max_bytes;
END $$;

-- What was stored before, moved over: names first (daily maxima, then
-- samples, each in name order), then the maxima, then the samples.
SELECT releve_storage_name(array_agg(name ORDER BY k, name))
  FROM (SELECT mailbox AS name, min(k) AS k
          FROM (SELECT mailbox, 0 AS k FROM storage_mailbox_daily
                UNION ALL SELECT mailbox, 1 FROM storage_samples) a
         GROUP BY mailbox) n;
SELECT releve_storage_daily_put(array_agg(mailbox), array_agg(day), array_agg(max_bytes))
  FROM storage_mailbox_daily;
UPDATE mailboxes m SET storage_id = n.id FROM storage_names n
 WHERE n.name = m.address;

DO $$
DECLARE
    t timestamptz;
BEGIN
    FOR t IN SELECT DISTINCT date_trunc('month', sampled_at AT TIME ZONE 'UTC') AT TIME ZONE 'UTC'
               FROM storage_samples LOOP
        PERFORM releve_ensure_month_partition('storage_sample_blocks', t);
    END LOOP;
END $$;

-- A name sampled twice in one snapshot (its login and its address): the
-- larger sample, as the daily maxima did.
INSERT INTO storage_sample_blocks (snapshot_id, sampled_at, block, bytes, messages, limit_bytes)
SELECT snapshot_id, sampled_at, id >> 10,
       releve_storage_block(array_agg(id ORDER BY id), array_agg(bytes ORDER BY id)),
       releve_storage_block(array_agg(id ORDER BY id), array_agg(messages ORDER BY id)),
       releve_storage_block(array_agg(id ORDER BY id), array_agg(limit_bytes ORDER BY id))
  FROM (SELECT DISTINCT ON (s.snapshot_id, n.id) s.snapshot_id, s.sampled_at, n.id,
               s.bytes, s.messages, s.limit_bytes
          FROM storage_samples s JOIN storage_names n ON n.name = s.mailbox
         ORDER BY s.snapshot_id, n.id, s.bytes DESC) x
 GROUP BY snapshot_id, sampled_at, id >> 10;

DROP TABLE storage_samples;
DROP TABLE storage_mailbox_daily;

-- The samples as rows, for audit and ad-hoc queries.  customer_id is the
-- registry's customer of the name now (NULL: unknown to the registry).
CREATE VIEW storage_samples AS
SELECT b.snapshot_id, b.sampled_at, n.name AS mailbox, m.customer_id,
       b.bytes[i.id] AS bytes, b.messages[i.id] AS messages,
       b.limit_bytes[i.id] AS limit_bytes
  FROM storage_sample_blocks b
 CROSS JOIN LATERAL generate_subscripts(b.bytes, 1) i(id)
  JOIN storage_names n ON n.id = i.id
  LEFT JOIN mailboxes m ON m.address = n.name
 WHERE b.bytes[i.id] IS NOT NULL;

-- The daily maxima as rows (mailbox, day, max_bytes).
CREATE VIEW storage_mailbox_daily AS
SELECT n.name AS mailbox, x.day, x.max_bytes[i.id] AS max_bytes
  FROM storage_daily x
 CROSS JOIN LATERAL generate_subscripts(x.max_bytes, 1) i(id)
  JOIN storage_names n ON n.id = i.id
 WHERE x.max_bytes[i.id] IS NOT NULL;

-- The per-mailbox rules (003, 010), on the blocks: a mailbox's latest
-- day by exact keys (day g, g - 1, ... g - p_carry; its block).
CREATE OR REPLACE FUNCTION storage_mailbox_days(p_from date, p_to date, p_carry integer,
                                                p_customer text DEFAULT NULL)
RETURNS TABLE (customer_id text, mailbox text, day date, bytes bigint, state text)
LANGUAGE sql STABLE AS $$
    SELECT m.customer_id, m.address, g.day::date,
           coalesce(s.v, 0),
           CASE WHEN s.day IS NULL THEN 'gap'
                WHEN s.day = g.day::date THEN 'sampled' ELSE 'carried' END
      FROM mailboxes m
      LEFT JOIN storage_names n ON n.name = m.address
     CROSS JOIN generate_series(p_from, p_to - 1, interval '1 day') g(day)
      LEFT JOIN LATERAL (
           SELECT x.day, x.max_bytes[n.id] AS v
             FROM generate_series(0, p_carry) k(back)
             JOIN storage_daily x
               ON x.day = g.day::date - k.back AND x.block = n.id >> 10
            WHERE x.max_bytes[n.id] IS NOT NULL
            ORDER BY k.back LIMIT 1) s ON true
     WHERE (p_customer IS NULL OR m.customer_id = p_customer)
       AND (m.start_date IS NULL OR g.day >= m.start_date)
       AND (m.end_date IS NULL OR g.day < m.end_date)
$$;
