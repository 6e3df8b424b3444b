-- 008_tokens: bearer tokens of the HTTP API (`releve token`, `releve
-- serve`).  Only the SHA-256 of a token is stored (hex): a stolen copy of
-- the table does not let anyone in.  A customer token sees its customer
-- only; an admin token (no customer) sees every customer and /metrics.
CREATE TABLE api_tokens (
    id           bigserial PRIMARY KEY,
    customer_id  text REFERENCES customers (id) ON DELETE CASCADE,
    name         text CHECK (name IS NULL OR (btrim(name) <> '' AND length(name) <= 200)),
    admin        boolean NOT NULL DEFAULT false,
    hash         text NOT NULL UNIQUE CHECK (hash ~ '^[0-9a-f]{64}$'),
    created_at   timestamptz NOT NULL DEFAULT now(),
    expires_on   date,          -- last day of validity (included), NULL: never
    revoked_at   timestamptz,
    last_used_at timestamptz,   -- updated at most once a minute per server
    CHECK (admin = (customer_id IS NULL))
);
CREATE INDEX api_tokens_customer ON api_tokens (customer_id);
