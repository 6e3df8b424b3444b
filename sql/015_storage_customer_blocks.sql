-- 015_storage_customer_blocks: the customers' days as arrays, a row per
-- day and block of 1,024 numbered customers, as the mailboxes' (013).
--
-- Every snapshot writes its day for every customer: 200,000 rows for
-- 200,000 customers, with their index entries.  A later snapshot of the
-- same day replaces them, and the COPY among the deleted rows' entries
-- took 0.7-1.0 s, a third of the snapshot.  Each customer now gets a
-- number once (storage_customer_numbers), and a block b of numbers
-- [1024 b, 1024 b + 1024) is one row of arrays whose subscripts are the
-- customer numbers: a day is about 200 rows.  NULL in mailboxes[n]: no
-- row for customer n that day (no mailbox existing that day).
--
-- The rows of before are a view of the same name and columns
-- (storage_customer_daily), which takes INSERTs (tests, imports); one
-- customer's days are read by subscript (storage_customer_days).

-- Every customer the storage rollup has met, numbered from 0 in the
-- order first met; a customer keeps its number.
CREATE TABLE storage_customer_numbers (
    id          integer PRIMARY KEY CHECK (id >= 0),
    customer_id text NOT NULL UNIQUE
);

-- A customer's storage per billing day (the rules of 003), for the
-- customers of block `block`: storage_bytes[n], mailboxes[n], sampled[n],
-- carried[n] for customer number n (gaps = mailboxes - sampled -
-- carried).  carry_days: the window used, the same for the whole day.
CREATE TABLE storage_customer_blocks (
    day           date NOT NULL,
    block         integer NOT NULL CHECK (block >= 0),
    carry_days    integer NOT NULL,
    storage_bytes bigint[] NOT NULL,
    mailboxes     bigint[] NOT NULL,
    sampled       bigint[] NOT NULL,
    carried       bigint[] NOT NULL,
    PRIMARY KEY (day, block)
);

-- Number the customers not numbered yet (in the order given), under the
-- lock the collector and the rollup take for the same (max + 1).
CREATE FUNCTION releve_storage_customer_number(p_ids text[]) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM pg_advisory_xact_lock(hashtext('releve storage_customer_numbers'));
    INSERT INTO storage_customer_numbers (id, customer_id)
    SELECT (SELECT coalesce(max(id), -1) FROM storage_customer_numbers)
           + row_number() OVER (ORDER BY min(u.o)), u.customer_id
      FROM unnest(p_ids) WITH ORDINALITY u(customer_id, o)
     WHERE u.customer_id IS NOT NULL
       AND NOT EXISTS (SELECT 1 FROM storage_customer_numbers n
                        WHERE n.customer_id = u.customer_id)
     GROUP BY u.customer_id;
END $$;

-- Customers' days put in as rows (the view's INSERT, the migration, the
-- benchmark's data): each (customer, day) replaces that customer's
-- values of that day; the day's carry_days becomes p_carry.  The
-- collector and the rollup write whole blocks, in C.
CREATE FUNCTION releve_storage_customer_put(p_ids text[], p_days date[],
                                            p_bytes bigint[], p_mailboxes bigint[],
                                            p_sampled bigint[], p_carried bigint[],
                                            p_carry integer) RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    PERFORM releve_storage_customer_number(p_ids);
    WITH v AS (
        SELECT DISTINCT ON (n.id, u.day) n.id, u.day, u.bytes, u.mailboxes,
               u.sampled, u.carried
          FROM unnest(p_ids, p_days, p_bytes, p_mailboxes, p_sampled, p_carried)
               WITH ORDINALITY u(customer_id, day, bytes, mailboxes, sampled, carried, o)
          JOIN storage_customer_numbers n ON n.customer_id = u.customer_id
         WHERE u.day IS NOT NULL AND u.mailboxes IS NOT NULL
         ORDER BY n.id, u.day, u.o DESC),
    old AS (
        SELECT s.id, x.day, x.storage_bytes[s.id] AS bytes,
               x.mailboxes[s.id] AS mailboxes, x.sampled[s.id] AS sampled,
               x.carried[s.id] AS carried
          FROM storage_customer_blocks x
         CROSS JOIN LATERAL generate_subscripts(x.mailboxes, 1) s(id)
         WHERE (x.day, x.block) IN (SELECT DISTINCT day, id >> 10 FROM v)
           AND x.mailboxes[s.id] IS NOT NULL
           AND NOT EXISTS (SELECT 1 FROM v WHERE v.id = s.id AND v.day = x.day)),
    merged AS (
        SELECT * FROM v UNION ALL SELECT * FROM old)
    INSERT INTO storage_customer_blocks AS b (day, block, carry_days, storage_bytes,
                                              mailboxes, sampled, carried)
    SELECT day, id >> 10, p_carry,
           releve_storage_block(array_agg(id ORDER BY id), array_agg(bytes ORDER BY id)),
           releve_storage_block(array_agg(id ORDER BY id), array_agg(mailboxes ORDER BY id)),
           releve_storage_block(array_agg(id ORDER BY id), array_agg(sampled ORDER BY id)),
           releve_storage_block(array_agg(id ORDER BY id), array_agg(carried ORDER BY id))
      FROM merged GROUP BY day, id >> 10
    ON CONFLICT (day, block) DO UPDATE SET
        carry_days = EXCLUDED.carry_days, storage_bytes = EXCLUDED.storage_bytes,
        mailboxes = EXCLUDED.mailboxes, sampled = EXCLUDED.sampled,
        carried = EXCLUDED.carried;
END $$;

-- What was stored before, moved over, customers numbered in id order.
SELECT releve_storage_customer_number(array_agg(DISTINCT customer_id ORDER BY customer_id))
  FROM storage_customer_daily;
INSERT INTO storage_customer_blocks (day, block, carry_days, storage_bytes,
                                     mailboxes, sampled, carried)
SELECT w.day, n.id >> 10, max(w.carry_days),
       releve_storage_block(array_agg(n.id ORDER BY n.id), array_agg(w.storage_bytes ORDER BY n.id)),
       releve_storage_block(array_agg(n.id ORDER BY n.id), array_agg(w.mailboxes::bigint ORDER BY n.id)),
       releve_storage_block(array_agg(n.id ORDER BY n.id), array_agg(w.sampled::bigint ORDER BY n.id)),
       releve_storage_block(array_agg(n.id ORDER BY n.id), array_agg(w.carried::bigint ORDER BY n.id))
  FROM storage_customer_daily w
  JOIN storage_customer_numbers n ON n.customer_id = w.customer_id
 GROUP BY w.day, n.id >> 10;
DROP TABLE storage_customer_daily;

-- The customers' days as rows, as before.  The block's first subscript
-- is taken once per block row (OFFSET 0 keeps it there): in the join
-- condition it would unpack the array again for every customer.
CREATE VIEW storage_customer_daily AS
SELECT n.customer_id, b.day, u.storage_bytes,
       u.mailboxes::integer AS mailboxes, u.sampled::integer AS sampled,
       u.carried::integer AS carried,
       (u.mailboxes - u.sampled - u.carried)::integer AS gaps, b.carry_days
  FROM storage_customer_blocks b
 CROSS JOIN LATERAL (SELECT array_lower(b.mailboxes, 1) AS lo OFFSET 0) l
 CROSS JOIN LATERAL unnest(b.storage_bytes, b.mailboxes, b.sampled, b.carried)
       WITH ORDINALITY u(storage_bytes, mailboxes, sampled, carried, k)
  JOIN storage_customer_numbers n ON n.id = l.lo + u.k::integer - 1
 WHERE u.mailboxes IS NOT NULL;

CREATE FUNCTION releve_storage_customer_daily_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.gaps IS DISTINCT FROM NEW.mailboxes - NEW.sampled - NEW.carried THEN
        RAISE EXCEPTION 'storage_customer_daily: customer %, %: gaps must be mailboxes - sampled - carried',
            NEW.customer_id, NEW.day;
    END IF;
    PERFORM releve_storage_customer_put(ARRAY[NEW.customer_id], ARRAY[NEW.day],
                                        ARRAY[NEW.storage_bytes], ARRAY[NEW.mailboxes::bigint],
                                        ARRAY[NEW.sampled::bigint], ARRAY[NEW.carried::bigint],
                                        NEW.carry_days);
    RETURN NEW;
END $$;
CREATE TRIGGER storage_customer_daily_insert INSTEAD OF INSERT ON storage_customer_daily
    FOR EACH ROW EXECUTE FUNCTION releve_storage_customer_daily_insert();

-- One customer's days in [p_from, p_to), by subscript: one look-up per
-- day of its block (the view would unpack every block of the period).
CREATE FUNCTION storage_customer_days(p_customer text, p_from date, p_to date)
RETURNS TABLE (day date, storage_bytes bigint, mailboxes integer, sampled integer,
               carried integer, gaps integer, carry_days integer)
LANGUAGE sql STABLE AS $$
    SELECT b.day, b.storage_bytes[n.id], b.mailboxes[n.id]::integer,
           b.sampled[n.id]::integer, b.carried[n.id]::integer,
           (b.mailboxes[n.id] - b.sampled[n.id] - b.carried[n.id])::integer,
           b.carry_days
      FROM storage_customer_numbers n
      JOIN storage_customer_blocks b ON b.block = n.id >> 10
       AND b.day = ANY (ARRAY(SELECT generate_series(p_from, p_to - 1,
                                                     interval '1 day')::date))
     WHERE n.customer_id = p_customer AND b.mailboxes[n.id] IS NOT NULL
$$;
