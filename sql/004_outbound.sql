-- 004_outbound: outbound messages from the Postfix logs, the collector's
-- cursors, rejected attempts, and the outbound columns of usage_daily.
--
-- A message is identified by (host, queue_id, accepted_at): queue ids are
-- reused over time, never at the same instant.  Its row is written as
-- soon as its first qmgr line is read (in_flight), then updated as its
-- recipients' statuses become final.  No recipient address is stored:
-- counts only.

CREATE TABLE outbound_messages (
    host          text NOT NULL,
    queue_id      text NOT NULL,
    accepted_at   timestamptz NOT NULL,
    day           date NOT NULL,          -- billing day of accepted_at
    origin        text NOT NULL CHECK (origin IN ('sasl', 'pickup')),
    sasl_username text,                   -- NULL for pickup
    sender_domain text,
    mailbox       text,                   -- registered mailbox, NULL: unattributed
    customer_id   text,                   -- NULL: unattributed
    size          bigint NOT NULL CHECK (size >= 0),
    nrcpt         integer NOT NULL CHECK (nrcpt >= 0),
    rcpt_sent     integer NOT NULL DEFAULT 0,
    rcpt_bounced  integer NOT NULL DEFAULT 0,
    rcpt_deferred integer NOT NULL DEFAULT 0,
    rcpt_expired  integer NOT NULL DEFAULT 0,
    rcpt_local    integer NOT NULL DEFAULT 0,
    rcpt_remote   integer NOT NULL DEFAULT 0,
    in_flight     boolean NOT NULL,
    closed        boolean NOT NULL DEFAULT false, -- closed unfinished (age)
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (host, queue_id, accepted_at)
) PARTITION BY RANGE (accepted_at);
-- The rollup's index; it also finds the unattributed rows (customer_id
-- IS NULL), so no partial index for those: one index less per insert.
CREATE INDEX outbound_messages_usage ON outbound_messages (customer_id, mailbox, day);

-- One log stream (a host and a log name, e.g. mail.log with its rotated
-- files): the file being read, where, and the tracker's state at that
-- point, all committed with the rows they produced.
CREATE TABLE postfix_sources (
    id            bigserial PRIMARY KEY,
    host          text NOT NULL,
    name          text NOT NULL,
    fingerprint   text,       -- of the current file (see postfix_files)
    fp_len        integer,
    offset_bytes  bigint NOT NULL DEFAULT 0,
    tracker_state bytea,
    lines         bigint NOT NULL DEFAULT 0,
    messages      bigint NOT NULL DEFAULT 0,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (host, name)
);

-- Every file of a stream read so far, by fingerprint (a hash of its first
-- kilobyte of content, so a rotated file compressed later is the same
-- file), and how far.
CREATE TABLE postfix_files (
    source_id    bigint NOT NULL REFERENCES postfix_sources (id) ON DELETE CASCADE,
    fingerprint  text NOT NULL,
    fp_len       integer NOT NULL,
    offset_bytes bigint NOT NULL,
    first_path   text NOT NULL,
    finished     boolean NOT NULL DEFAULT false,
    updated_at   timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (source_id, fingerprint, fp_len)
);

-- Rejected attempts (NOQUEUE: reject, in-session RCPT rejects, SASL
-- failures), per day and SASL user or client: reported, never billed.
CREATE TABLE postfix_rejects (
    host   text NOT NULL,
    day    date NOT NULL,
    kind   text NOT NULL CHECK (kind IN ('reject', 'sasl_failed')),
    who    text NOT NULL,     -- SASL user, else the client address
    count  bigint NOT NULL,
    PRIMARY KEY (host, day, kind, who)
);

ALTER TABLE usage_daily
    ADD COLUMN out_messages         integer NOT NULL DEFAULT 0,
    ADD COLUMN out_recipients       integer NOT NULL DEFAULT 0,
    ADD COLUMN out_recipients_local integer NOT NULL DEFAULT 0,
    ADD COLUMN out_sent             integer NOT NULL DEFAULT 0,
    ADD COLUMN out_bounced          integer NOT NULL DEFAULT 0,
    ADD COLUMN out_deferred         integer NOT NULL DEFAULT 0,
    ADD COLUMN out_expired          integer NOT NULL DEFAULT 0;
