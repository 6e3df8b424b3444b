-- 006_quota: soft quotas, live.  `releve quota check` records every notice
-- it sends (at most one per customer, billing day and level: the UNIQUE
-- constraint decides, inside the sending transaction) and blocks the SASL
-- logins of a customer far over its quota until the end of its billing
-- day.  Postfix reads the view quota_blocked_logins (check_sasl_access
-- pgsql:, see contrib/postfix/) or a texthash: file written from it.

-- "Now" for the quota tables: the session setting releve.now when set (the
-- tests, `releve quota blockmap --at`), else the transaction's now().
-- Postfix never sets it, so for Postfix this is now().
CREATE FUNCTION releve_now() RETURNS timestamptz
    LANGUAGE sql STABLE
    AS $$ SELECT COALESCE(NULLIF(current_setting('releve.now', true), '')::timestamptz,
                          now()) $$;

CREATE TABLE quota_notices (
    id          bigserial PRIMARY KEY,
    customer_id text NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    day         date NOT NULL,          -- billing day (tariff's time zone)
    level       text NOT NULL CHECK (level IN ('warn', 'over')),
    count       bigint NOT NULL CHECK (count >= 0),  -- the day's count then
    quota       bigint NOT NULL CHECK (quota >= 0),  -- the plan's quota
    sent_at     timestamptz NOT NULL DEFAULT now(),
    to_address  text NOT NULL,
    status      text NOT NULL CHECK (status IN ('sent')),
    UNIQUE (customer_id, day, level)
);

-- A login is blocked while releve_now() < until and lifted_at IS NULL.
-- One row per customer, login and day: a block lifted by an operator is
-- not put back by later checks of the same day.
CREATE TABLE quota_blocks (
    id          bigserial PRIMARY KEY,
    customer_id text NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    login       text NOT NULL CHECK (login = lower(login) AND btrim(login) <> ''),
    day         date NOT NULL,
    blocked_at  timestamptz NOT NULL DEFAULT now(),
    until       timestamptz NOT NULL,   -- the next local midnight
    lifted_at   timestamptz,
    lifted_by   text,
    CHECK (until > blocked_at),
    CHECK ((lifted_at IS NULL) = (lifted_by IS NULL)),
    UNIQUE (customer_id, login, day)
);
-- Postfix looks a login up on every SASL-authenticated MAIL FROM / RCPT TO.
CREATE INDEX quota_blocks_active ON quota_blocks (login, until)
    WHERE lifted_at IS NULL;

CREATE VIEW quota_blocked_logins AS
    SELECT DISTINCT login
    FROM quota_blocks
    WHERE lifted_at IS NULL AND releve_now() < until;
