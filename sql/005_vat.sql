-- 005_vat: VAT rates and legal mentions, as data with effective dates.
--
-- vat_rates holds the STANDARD rate of each EU member state (ISO 3166-1
-- code: Greece is GR, although its VAT numbers start with EL) and of the
-- three French overseas departments where French VAT applies at their own
-- rate (Guadeloupe GP, Martinique MQ, La Reunion RE: article 296 du CGI).
-- E-mail hosting is an electronically supplied service taxed at the
-- standard rate everywhere, so reduced rates are not stored.
--
-- A rate is in force on the days valid_from <= d < valid_to (valid_to NULL:
-- open).  The rows below are the standard rates in force in 2026, checked
-- against the European Commission's "VAT rates applied in the member
-- states" table; they must be updated when a state changes its rate.
-- The table vouches for rates from 2021-03-01 on (after the 2020-2021
-- temporary cuts of Germany and Ireland), not from the day each rate was
-- introduced: vat_rate_on() answers NULL before that.  Changes since then:
--   Luxembourg  17 -> 16 % on 2023-01-01, back to 17 % on 2024-01-01
--   Estonia     20 -> 22 % on 2024-01-01, 22 -> 24 % on 2025-07-01
--   Finland     24 -> 25.5 % on 2024-09-01
--   Slovakia    20 -> 23 % on 2025-01-01
--   Romania     19 -> 21 % on 2025-08-01
--
-- To change a rate, write a new migration that calls
--     SELECT vat_rate_change('XX', 22.5, '2027-01-01');
-- which closes the rate in force (valid_to = that day) and inserts the new
-- one, in one statement.  History is never rewritten: a trigger refuses to
-- delete a rate or change anything but closing its valid_to once.

CREATE TABLE vat_rates (
    country    text NOT NULL CHECK (country ~ '^[A-Z]{2}$' AND country <> 'EL'),
    kind       text NOT NULL DEFAULT 'standard' CHECK (kind = 'standard'),
    rate       numeric(7, 4) NOT NULL CHECK (rate >= 0 AND rate < 100),
    valid_from date NOT NULL,
    valid_to   date CHECK (valid_to IS NULL OR valid_to > valid_from),
    PRIMARY KEY (country, kind, valid_from),
    EXCLUDE USING gist (country WITH =, kind WITH =,
                        daterange(valid_from, valid_to, '[)') WITH &&)
);

COMMENT ON TABLE vat_rates IS
    'Standard VAT rates (percent) of the EU member states and of GP/MQ/RE, '
    'valid_from <= day < valid_to; change with vat_rate_change()';

-- A rate may only be closed (valid_to NULL -> a date), never changed or
-- deleted: issued invoices were computed with it.
CREATE FUNCTION vat_rates_guard() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'VAT rate % % from % cannot be deleted; close it and insert the new rate (vat_rate_change)',
            OLD.country, OLD.rate, OLD.valid_from
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF NEW.country IS DISTINCT FROM OLD.country
       OR NEW.kind IS DISTINCT FROM OLD.kind
       OR NEW.rate IS DISTINCT FROM OLD.rate
       OR NEW.valid_from IS DISTINCT FROM OLD.valid_from
       OR (OLD.valid_to IS NOT NULL
           AND NEW.valid_to IS DISTINCT FROM OLD.valid_to) THEN
        RAISE EXCEPTION 'VAT rate % % from % cannot change; only an open rate can be closed (vat_rate_change)',
            OLD.country, OLD.rate, OLD.valid_from
            USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END $$;

CREATE TRIGGER vat_rates_guard BEFORE UPDATE OR DELETE ON vat_rates
    FOR EACH ROW EXECUTE FUNCTION vat_rates_guard();

-- The standard rate in force in country on day d (NULL when none).
CREATE FUNCTION vat_rate_on(country text, d date) RETURNS numeric
LANGUAGE sql STABLE STRICT AS $$
    SELECT r.rate FROM vat_rates r
     WHERE r.country = CASE upper($1) WHEN 'EL' THEN 'GR' ELSE upper($1) END
       AND r.kind = 'standard'
       AND r.valid_from <= $2 AND (r.valid_to IS NULL OR $2 < r.valid_to)
$$;

-- Close the open standard rate of country (valid_to = from) and insert the
-- new rate from that day.  The rate in force before `from` stays as it was.
CREATE FUNCTION vat_rate_change(country text, rate numeric, "from" date)
RETURNS void
LANGUAGE plpgsql AS $$
BEGIN
    UPDATE vat_rates r SET valid_to = $3
     WHERE r.country = $1 AND r.kind = 'standard' AND r.valid_to IS NULL
       AND r.valid_from < $3;
    INSERT INTO vat_rates (country, kind, rate, valid_from)
    VALUES ($1, 'standard', $2, $3);
END $$;

-- Rates in force on 2021-03-01, then their changes in date order.
INSERT INTO vat_rates (country, rate, valid_from) VALUES
    ('AT', 20,   '2021-03-01'),  -- Austria
    ('BE', 21,   '2021-03-01'),  -- Belgium
    ('BG', 20,   '2021-03-01'),  -- Bulgaria
    ('CY', 19,   '2021-03-01'),  -- Cyprus
    ('CZ', 21,   '2021-03-01'),  -- Czechia
    ('DE', 19,   '2021-03-01'),  -- Germany (16 % from 2020-07-01 to 2020-12-31)
    ('DK', 25,   '2021-03-01'),  -- Denmark
    ('EE', 20,   '2021-03-01'),  -- Estonia
    ('ES', 21,   '2021-03-01'),  -- Spain (not the Canary Islands, Ceuta, Melilla)
    ('FI', 24,   '2021-03-01'),  -- Finland
    ('FR', 20,   '2021-03-01'),  -- France (metropolitan, Corsica, Monaco)
    ('GR', 24,   '2021-03-01'),  -- Greece (VAT numbers: EL)
    ('HR', 25,   '2021-03-01'),  -- Croatia
    ('HU', 27,   '2021-03-01'),  -- Hungary
    ('IE', 23,   '2021-03-01'),  -- Ireland (21 % from 2020-09-01 to 2021-02-28)
    ('IT', 22,   '2021-03-01'),  -- Italy
    ('LT', 21,   '2021-03-01'),  -- Lithuania
    ('LU', 17,   '2021-03-01'),  -- Luxembourg
    ('LV', 21,   '2021-03-01'),  -- Latvia
    ('MT', 18,   '2021-03-01'),  -- Malta
    ('NL', 21,   '2021-03-01'),  -- Netherlands
    ('PL', 23,   '2021-03-01'),  -- Poland
    ('PT', 23,   '2021-03-01'),  -- Portugal (mainland; Azores 16 %, Madeira 22 %)
    ('RO', 19,   '2021-03-01'),  -- Romania
    ('SE', 25,   '2021-03-01'),  -- Sweden
    ('SI', 22,   '2021-03-01'),  -- Slovenia
    ('SK', 20,   '2021-03-01'),  -- Slovakia
    -- French overseas departments where VAT applies (article 296 du CGI).
    ('GP', 8.5,  '2021-03-01'),  -- Guadeloupe
    ('MQ', 8.5,  '2021-03-01'),  -- Martinique
    ('RE', 8.5,  '2021-03-01');  -- La Reunion

SELECT vat_rate_change('LU', 16,   '2023-01-01');
SELECT vat_rate_change('LU', 17,   '2024-01-01');
SELECT vat_rate_change('EE', 22,   '2024-01-01');
SELECT vat_rate_change('FI', 25.5, '2024-09-01');
SELECT vat_rate_change('SK', 23,   '2025-01-01');
SELECT vat_rate_change('EE', 24,   '2025-07-01');
SELECT vat_rate_change('RO', 21,   '2025-08-01');

-- Legal mentions printed on invoices, by key and language; the text in
-- force on a day is the one with the latest valid_from <= that day.  A
-- change of wording is a new row with its valid_from (old invoices keep
-- theirs).  Texts may hold placeholders that the invoice fills in:
--   {country}             the customer's country code (OSS)
--   {rate}                the VAT rate applied, "21.00"
--   {late_penalty_rate}   the seller's late-payment penalty rate, "12.15"
--   {recovery_indemnity}  the seller's fixed recovery indemnity, "40.00"
-- Which keys an invoice needs is decided by billing/vat.c (vat_decide).
CREATE TABLE legal_mentions (
    key        text NOT NULL CHECK (key ~ '^[a-z][a-z0-9_]{0,63}$'),
    language   text NOT NULL CHECK (language IN ('fr', 'en')),
    text       text NOT NULL CHECK (btrim(text) <> ''),
    valid_from date NOT NULL,
    PRIMARY KEY (key, language, valid_from)
);

-- The text of key in language in force on day d (NULL when none).
CREATE FUNCTION legal_mention_on(key text, language text, d date)
RETURNS text
LANGUAGE sql STABLE STRICT AS $$
    SELECT m.text FROM legal_mentions m
     WHERE m.key = $1 AND m.language = $2 AND m.valid_from <= $3
     ORDER BY m.valid_from DESC LIMIT 1
$$;

INSERT INTO legal_mentions (key, language, valid_from, text) VALUES
    -- EU business customer with a VAT number: the customer accounts for
    -- the VAT in its own state.  "Autoliquidation" is the wording article
    -- 242 nonies A (I, 13°) of annex II to the CGI requires; the place of
    -- supply is the customer's state (article 259-1° du CGI, article 44 of
    -- the directive), the customer owes the tax under article 196.
    ('reverse_charge', 'fr', '2021-03-01',
     'Autoliquidation — TVA due par le preneur (article 196 de la directive 2006/112/CE ; article 259-1° du CGI)'),
    ('reverse_charge', 'en', '2021-03-01',
     'Reverse charge — VAT to be accounted for by the customer (article 196 of Directive 2006/112/EC)'),
    -- EU consumer (or business without VAT number) taxed at the rate of
    -- its state, declared through the One-Stop Shop.
    ('oss', 'fr', '2021-07-01',
     'TVA de l''État membre du client ({country}, {rate} %) déclarée au guichet unique OSS (article 58 de la directive 2006/112/CE)'),
    ('oss', 'en', '2021-07-01',
     'VAT of the customer''s member state ({country}, {rate} %) declared through the One-Stop Shop (OSS, article 58 of Directive 2006/112/EC)'),
    -- Business customer established outside the EU.
    ('out_of_scope', 'fr', '2021-03-01',
     'TVA non applicable — prestation de services hors UE, article 259-1° du CGI'),
    ('out_of_scope', 'en', '2021-03-01',
     'VAT not applicable — services supplied outside the EU, article 259-1° of the French tax code (CGI)'),
    -- Consumer established outside the EU: electronically supplied
    -- services are taxed where the consumer lives.
    ('out_of_scope_consumer', 'fr', '2021-03-01',
     'TVA non applicable — services fournis par voie électronique à un preneur non assujetti établi hors UE (article 58 de la directive 2006/112/CE)'),
    ('out_of_scope_consumer', 'en', '2021-03-01',
     'VAT not applicable — electronically supplied services to a non-taxable customer established outside the EU (article 58 of Directive 2006/112/EC)'),
    -- Territories of a member state outside the EU VAT area (Canary
    -- Islands, Ceuta, Melilla, Mount Athos, Heligoland, Büsingen, Livigno,
    -- Campione d'Italia).
    ('out_of_vat_area', 'fr', '2021-03-01',
     'TVA non applicable — territoire exclu du champ d''application de la TVA de l''Union (article 6 de la directive 2006/112/CE)'),
    ('out_of_vat_area', 'en', '2021-03-01',
     'VAT not applicable — territory excluded from the EU VAT area (article 6 of Directive 2006/112/EC)'),
    -- French Guiana and Mayotte: French VAT provisionally not applicable.
    ('not_applicable_dom', 'fr', '2021-03-01',
     'TVA non applicable — article 294-1 du CGI (Guyane, Mayotte)'),
    ('not_applicable_dom', 'en', '2021-03-01',
     'VAT not applicable — article 294-1 of the French tax code (French Guiana, Mayotte)'),
    -- Business customers (articles L441-9 and L441-10 du Code de commerce;
    -- the 40 € indemnity is fixed by article D441-5).
    ('late_penalties', 'fr', '2021-03-01',
     'En cas de retard de paiement, pénalités au taux annuel de {late_penalty_rate} %, exigibles de plein droit dès le lendemain de la date d''échéance (article L441-10 du Code de commerce). Pas d''escompte pour paiement anticipé.'),
    ('late_penalties', 'en', '2021-03-01',
     'Late payment: penalties at the annual rate of {late_penalty_rate} %, due without notice from the day after the due date (article L441-10 of the French Commercial Code). No discount for early payment.'),
    ('recovery_indemnity', 'fr', '2021-03-01',
     'Indemnité forfaitaire pour frais de recouvrement due en cas de retard de paiement : {recovery_indemnity} € (articles L441-10 et D441-5 du Code de commerce).'),
    ('recovery_indemnity', 'en', '2021-03-01',
     'Fixed compensation for recovery costs due in case of late payment: {recovery_indemnity} € (articles L441-10 and D441-5 of the French Commercial Code).');
