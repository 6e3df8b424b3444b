-- The unattributed mailboxes' days (`releve registry show
-- --unattributed`): a handful of rows among millions, which the report
-- found by reading the whole table.  A partial index holds those rows
-- only; the collectors' writes of attributed rows do not touch it.
CREATE INDEX storage_mailbox_daily_unattributed
    ON storage_mailbox_daily (mailbox) WHERE customer_id IS NULL;
