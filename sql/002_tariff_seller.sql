-- 002_tariff_seller: versioned tariff grids and the seller's identity.
--
-- A tariff version is stored whole (document, as loaded) and its plans in
-- a table for queries.  Once an invoice uses a version, `locked` is set and
-- the version can never change again, only be superseded by a new one.
-- Money is numeric with 6 decimals at most; sizes are bytes.

CREATE TABLE tariff_versions (
    version          text PRIMARY KEY CHECK (version ~ '^[A-Za-z0-9._-]{1,32}$'),
    effective_from   date NOT NULL UNIQUE,
    currency         text NOT NULL CHECK (currency ~ '^[A-Z]{3}$'),
    timezone         text NOT NULL,
    addon_block_bytes bigint CHECK (addon_block_bytes > 0),
    addon_monthly_fee numeric(20, 6) CHECK (addon_monthly_fee >= 0),
    outbound_unit    text NOT NULL CHECK (outbound_unit IN ('recipient', 'message')),
    count_local      boolean NOT NULL,
    warn_ratio       numeric(12, 6) NOT NULL CHECK (warn_ratio > 0),
    tolerated_days   integer NOT NULL CHECK (tolerated_days BETWEEN 0 AND 31),
    block_ratio      numeric(12, 6) NOT NULL CHECK (block_ratio > 0),
    overage_per_1000 numeric(20, 6) NOT NULL CHECK (overage_per_1000 >= 0),
    vat_oss          boolean NOT NULL,
    document         jsonb NOT NULL,
    locked           boolean NOT NULL DEFAULT false,
    loaded_at        timestamptz NOT NULL DEFAULT now(),
    CHECK (block_ratio >= warn_ratio)
);

CREATE TABLE tariff_plans (
    version          text NOT NULL REFERENCES tariff_versions (version) ON DELETE CASCADE,
    code             text NOT NULL CHECK (code ~ '^[A-Za-z0-9_-]{1,32}$'),
    name             text NOT NULL,
    position         integer NOT NULL,
    monthly_fee      numeric(20, 6) NOT NULL CHECK (monthly_fee >= 0),
    outbound_per_day bigint NOT NULL CHECK (outbound_per_day >= 0),
    storage_included bigint NOT NULL CHECK (storage_included >= 0),
    PRIMARY KEY (version, code)
);

-- A locked version (used by an invoice) and its plans never change.
CREATE FUNCTION tariff_refuse_locked() RETURNS trigger
LANGUAGE plpgsql AS $$
DECLARE
    v text;
BEGIN
    IF TG_TABLE_NAME = 'tariff_versions' THEN
        IF OLD.locked AND NOT (TG_OP = 'UPDATE' AND NEW IS NOT DISTINCT FROM OLD) THEN
            RAISE EXCEPTION 'tariff version % is used by an invoice and cannot change; load a new version instead', OLD.version
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    ELSE
        v := OLD.version;
        IF EXISTS (SELECT 1 FROM tariff_versions WHERE version = v AND locked) THEN
            RAISE EXCEPTION 'tariff version % is used by an invoice and cannot change; load a new version instead', v
                USING ERRCODE = 'integrity_constraint_violation';
        END IF;
    END IF;
    IF TG_OP = 'DELETE' THEN
        RETURN OLD;
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER tariff_versions_locked BEFORE UPDATE OR DELETE ON tariff_versions
    FOR EACH ROW EXECUTE FUNCTION tariff_refuse_locked();
CREATE TRIGGER tariff_plans_locked BEFORE UPDATE OR DELETE ON tariff_plans
    FOR EACH ROW EXECUTE FUNCTION tariff_refuse_locked();

-- Adding a plan to a locked version is a change too.
CREATE FUNCTION tariff_plans_refuse_insert() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF EXISTS (SELECT 1 FROM tariff_versions WHERE version = NEW.version AND locked) THEN
        RAISE EXCEPTION 'tariff version % is used by an invoice and cannot change; load a new version instead', NEW.version
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;
CREATE TRIGGER tariff_plans_locked_insert BEFORE INSERT ON tariff_plans
    FOR EACH ROW EXECUTE FUNCTION tariff_plans_refuse_insert();

-- The seller: one row, the legal identity printed on every invoice.
-- Invoices copy it when they are issued, so a later change (a move, a new
-- capital) never alters an issued invoice.
CREATE TABLE seller (
    id                 integer PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    name               text NOT NULL,
    legal_form         text NOT NULL,
    capital            numeric(20, 2) CHECK (capital >= 0),
    address_line1      text NOT NULL,
    address_line2      text,
    postal_code        text NOT NULL,
    city               text NOT NULL,
    country            text NOT NULL CHECK (country ~ '^[A-Z]{2}$'),
    siren              text NOT NULL CHECK (siren ~ '^[0-9]{9}$'),
    rcs                text,               -- NULL: association or EI not in the RCS
    vat_number         text NOT NULL,
    iban               text NOT NULL,
    bic                text NOT NULL,
    email              text NOT NULL,
    phone              text,
    website            text,
    payment_terms_days integer NOT NULL CHECK (payment_terms_days BETWEEN 0 AND 60),
    payment_terms      text NOT NULL,
    late_penalty_rate  numeric(8, 4) NOT NULL CHECK (late_penalty_rate >= 0),
    recovery_indemnity numeric(10, 2) NOT NULL DEFAULT 40.00,
    document           jsonb NOT NULL,
    updated_at         timestamptz NOT NULL DEFAULT now()
);
