CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id, id);
DROP INDEX ledger_entries_account_seq_idx;
ALTER TABLE ledger_entries DROP COLUMN seq;
ALTER TABLE ledger_accounts DROP COLUMN entries;
