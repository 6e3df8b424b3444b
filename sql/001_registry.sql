-- 001_registry: customers, their domains, mailboxes and subscriptions.
--
-- customers.id is the operator's own reference (a string such as C-1001):
-- every --customer option takes it.  Large tables of later migrations carry
-- customer_id so that the schema can be distributed by customer (Citus).

CREATE EXTENSION IF NOT EXISTS btree_gist;

CREATE TABLE customers (
    id            text PRIMARY KEY
                  CHECK (id ~ '^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$'),
    name          text NOT NULL CHECK (btrim(name) <> ''),
    kind          text NOT NULL
                  CHECK (kind IN ('business', 'association', 'individual')),
    address_line1 text NOT NULL CHECK (btrim(address_line1) <> ''),
    address_line2 text,
    postal_code   text,
    city          text NOT NULL CHECK (btrim(city) <> ''),
    country       text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    vat_number    text CHECK (vat_number ~ '^[A-Z]{2}[0-9A-Z+*]{2,13}$'),
    siren         text CHECK (siren ~ '^[0-9]{9}$'),
    billing_email text NOT NULL CHECK (billing_email ~ '^[^@\s]+@[^@\s]+$'),
    language      text NOT NULL DEFAULT 'fr' CHECK (language IN ('fr', 'en')),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- A domain belongs to one customer.
CREATE TABLE domains (
    name        text PRIMARY KEY CHECK (name = lower(name) AND name ~ '^[a-z0-9.-]+$'),
    customer_id text NOT NULL REFERENCES customers (id) ON DELETE CASCADE
);
CREATE INDEX domains_customer ON domains (customer_id);

-- A mailbox, the SASL login it authenticates with, and the days it exists
-- (start <= day < end, open bounds when NULL): storage counts on those days.
CREATE TABLE mailboxes (
    address     text PRIMARY KEY CHECK (address = lower(address) AND address ~ '^[^@\s]+@[a-z0-9.-]+$'),
    login       text NOT NULL UNIQUE CHECK (btrim(login) <> ''),
    domain      text NOT NULL REFERENCES domains (name) ON DELETE CASCADE,
    customer_id text NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    start_date  date,
    end_date    date,
    CHECK (end_date IS NULL OR start_date IS NULL OR end_date > start_date)
);
CREATE INDEX mailboxes_customer ON mailboxes (customer_id);
CREATE INDEX mailboxes_domain ON mailboxes (domain);

-- A subscription is active on start_date <= day < end_date (open when
-- end_date is NULL); a plan change is one ending the day the next starts.
-- The database refuses overlapping subscriptions of one customer.
CREATE TABLE subscriptions (
    id          bigserial PRIMARY KEY,
    customer_id text NOT NULL REFERENCES customers (id) ON DELETE CASCADE,
    plan_code   text NOT NULL CHECK (plan_code ~ '^[A-Za-z0-9_-]{1,32}$'),
    start_date  date NOT NULL,
    end_date    date CHECK (end_date IS NULL OR end_date > start_date),
    EXCLUDE USING gist (customer_id WITH =,
                        daterange(start_date, end_date, '[)') WITH &&)
);
CREATE INDEX subscriptions_customer ON subscriptions (customer_id, start_date);
