-- Invoices and credit notes: drafts recomputed freely, issued documents
-- immutable, gapless numbers per series and year.
--
-- An invoice is one customer's month (kind 'invoice', at most one per
-- customer and period); a credit note (kind 'credit') refers to an issued
-- invoice and carries negative amounts, so that sums over both are the
-- revenue.  Everything a document prints is kept with it (seller,
-- customer, legal mentions, the usage behind the chart), so that its PDF
-- can be rendered again, identical, years later.
--
-- Money: bigint cents for amounts, bigint micro-units for quantities,
-- unit prices and rates (20 % = 20000000), like the C code (money.h).

-- The last number given in each series and year, and its date: numbers
-- are taken by updating this row in the transaction that issues, so that
-- a rolled-back issue gives its numbers back and two issuers queue on the
-- row lock (no gap, no duplicate).
CREATE TABLE invoice_counters (
    series      text NOT NULL CHECK (series ~ '^[A-Za-z]{1,8}$'),
    year        integer NOT NULL CHECK (year BETWEEN 2000 AND 9999),
    last_number bigint NOT NULL DEFAULT 0 CHECK (last_number >= 0),
    last_date   date,
    PRIMARY KEY (series, year)
);

CREATE TABLE invoices (
    id             bigserial PRIMARY KEY,
    kind           text NOT NULL CHECK (kind IN ('invoice', 'credit')),
    status         text NOT NULL CHECK (status IN ('draft', 'issued')),
    customer_id    text NOT NULL,
    customer_name  text NOT NULL,
    customer_country text NOT NULL CHECK (customer_country ~ '^[A-Z]{2}$'),
    language       text NOT NULL CHECK (language IN ('fr', 'en')),
    period_start   date NOT NULL,          -- first day of the service period
    period_end     date NOT NULL,          -- last day (inclusive)
    series         text,
    series_year    integer,
    series_number  bigint,
    number         text UNIQUE CHECK (number ~ '^[A-Za-z0-9+_/-]{1,35}$'),
    issue_date     date,
    due_date       date,
    currency       text NOT NULL,
    tariff_version text NOT NULL,
    vat_regime     text NOT NULL,
    net_cents      bigint NOT NULL,
    vat_cents      bigint NOT NULL,
    total_cents    bigint NOT NULL,
    seller         jsonb NOT NULL,         -- the seller's document then
    customer       jsonb NOT NULL,         -- the customer's identity then
    mentions       jsonb NOT NULL,         -- [{key, fr, en}] expanded
    usage          jsonb NOT NULL,         -- the month behind the chart
    credited_id    bigint REFERENCES invoices (id),
    credit_reason  text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    issued_at      timestamptz,
    CHECK (total_cents = net_cents + vat_cents),
    CHECK ((status = 'issued') = (number IS NOT NULL)),
    CHECK (status = 'draft' OR (issue_date IS NOT NULL AND due_date IS NOT NULL
                                AND series IS NOT NULL
                                AND series_number IS NOT NULL)),
    CHECK ((kind = 'credit') = (credited_id IS NOT NULL)),
    CHECK (kind = 'invoice' OR btrim(credit_reason) <> ''),
    CHECK (period_end >= period_start)
);
-- One invoice per customer and month: the batch replaces drafts, never
-- adds a second one.
CREATE UNIQUE INDEX invoices_customer_period ON invoices (customer_id, period_start)
    WHERE kind = 'invoice';
CREATE UNIQUE INDEX invoices_series_number ON invoices (series, series_year, series_number)
    WHERE series_number IS NOT NULL;
CREATE INDEX invoices_period ON invoices (period_start, customer_id);
CREATE INDEX invoices_issue_date ON invoices (issue_date) WHERE status = 'issued';
CREATE INDEX invoices_credited ON invoices (credited_id) WHERE credited_id IS NOT NULL;

CREATE TABLE invoice_lines (
    invoice_id     bigint NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    line_no        integer NOT NULL CHECK (line_no >= 1),
    kind           text NOT NULL CHECK (kind IN ('fee', 'storage', 'outbound')),
    plan           text,
    description    text NOT NULL,          -- French
    description_en text,                   -- English, for 'en' customers
    quantity_micro bigint NOT NULL,        -- micro-units of unit
    unit           text NOT NULL,
    unit_price_micro bigint NOT NULL,      -- micro-units of currency
    vat_rate_micro bigint NOT NULL CHECK (vat_rate_micro BETWEEN 0 AND 100000000),
    net_cents      bigint NOT NULL,
    credited_line  integer,                -- credit notes: the original's line
    PRIMARY KEY (invoice_id, line_no)
);

CREATE TABLE invoice_vat (
    invoice_id     bigint NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    vat_rate_micro bigint NOT NULL CHECK (vat_rate_micro BETWEEN 0 AND 100000000),
    base_cents     bigint NOT NULL,
    vat_cents      bigint NOT NULL,
    PRIMARY KEY (invoice_id, vat_rate_micro)
);

-- Issued invoices never change: no update (but draft -> issued, once),
-- no delete; their lines and VAT neither.  TRUNCATE is refused once any
-- document is issued.
CREATE FUNCTION releve_invoice_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'issued' THEN
        RAISE EXCEPTION 'invoice % is issued: it cannot be %', OLD.number,
            CASE TG_OP WHEN 'DELETE' THEN 'deleted' ELSE 'changed' END
            USING ERRCODE = 'integrity_constraint_violation',
                  HINT = 'correct an issued invoice with a credit note (releve invoice credit)';
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER invoices_guard BEFORE UPDATE OR DELETE ON invoices
    FOR EACH ROW EXECUTE FUNCTION releve_invoice_guard();

CREATE FUNCTION releve_invoice_part_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    inv bigint;
    num text;
BEGIN
    IF TG_OP = 'INSERT' THEN
        inv := NEW.invoice_id;
    ELSE
        inv := OLD.invoice_id;
    END IF;
    SELECT number INTO num FROM invoices WHERE id = inv AND status = 'issued';
    IF FOUND THEN
        RAISE EXCEPTION 'invoice % is issued: its % cannot be changed', num,
            CASE TG_TABLE_NAME WHEN 'invoice_lines' THEN 'lines' ELSE 'VAT' END
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF TG_OP = 'UPDATE' AND NEW.invoice_id <> OLD.invoice_id THEN
        SELECT number INTO num FROM invoices WHERE id = NEW.invoice_id AND status = 'issued';
        IF FOUND THEN
            RAISE EXCEPTION 'invoice % is issued: its lines cannot be changed', num
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER invoice_lines_guard BEFORE INSERT OR UPDATE OR DELETE ON invoice_lines
    FOR EACH ROW EXECUTE FUNCTION releve_invoice_part_guard();
CREATE TRIGGER invoice_vat_guard BEFORE INSERT OR UPDATE OR DELETE ON invoice_vat
    FOR EACH ROW EXECUTE FUNCTION releve_invoice_part_guard();

CREATE FUNCTION releve_invoice_truncate_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM invoices WHERE status = 'issued') THEN
        RAISE EXCEPTION 'issued invoices cannot be truncated'
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NULL;
END
$$;

CREATE TRIGGER invoices_truncate_guard BEFORE TRUNCATE ON invoices
    FOR EACH STATEMENT EXECUTE FUNCTION releve_invoice_truncate_guard();
CREATE TRIGGER invoice_lines_truncate_guard BEFORE TRUNCATE ON invoice_lines
    FOR EACH STATEMENT EXECUTE FUNCTION releve_invoice_truncate_guard();
CREATE TRIGGER invoice_vat_truncate_guard BEFORE TRUNCATE ON invoice_vat
    FOR EACH STATEMENT EXECUTE FUNCTION releve_invoice_truncate_guard();

-- A counter only goes up, and a used one is never dropped.
CREATE FUNCTION releve_invoice_counter_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        IF OLD.last_number > 0 THEN
            RAISE EXCEPTION 'invoice series %-% has issued numbers: it cannot be deleted',
                OLD.series, OLD.year USING ERRCODE = 'integrity_constraint_violation';
        END IF;
        RETURN OLD;
    END IF;
    IF NEW.series <> OLD.series OR NEW.year <> OLD.year
       OR NEW.last_number < OLD.last_number
       OR NEW.last_date < OLD.last_date THEN
        RAISE EXCEPTION 'invoice series %-% can only move forward', OLD.series, OLD.year
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END
$$;

CREATE TRIGGER invoice_counters_guard BEFORE UPDATE OR DELETE ON invoice_counters
    FOR EACH ROW EXECUTE FUNCTION releve_invoice_counter_guard();
