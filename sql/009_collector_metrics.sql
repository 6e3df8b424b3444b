-- Malformed lines per Postfix source: the collector counts them (lines
-- that name Postfix but that no parser rule understands) and adds them at
-- each commit, like lines and messages, for `releve serve`'s /metrics.
ALTER TABLE postfix_sources ADD COLUMN malformed bigint NOT NULL DEFAULT 0;
