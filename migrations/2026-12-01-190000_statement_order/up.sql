-- A statement lists an account's entries in the order they changed its balance. Entry ids are
-- made before the account's row is locked, so under concurrent payments they need not follow
-- that order; a number per account, taken in the same UPDATE that changes the balance (under
-- its row lock), does.
ALTER TABLE ledger_accounts ADD COLUMN entries bigint NOT NULL DEFAULT 0;
ALTER TABLE ledger_entries ADD COLUMN seq bigint;

-- Entries written before this migration: the order of their balances, as best it can be told.
UPDATE ledger_entries e SET seq = n.seq
FROM (SELECT id, row_number() OVER (PARTITION BY account_id ORDER BY created_at, id) AS seq
      FROM ledger_entries) n
WHERE e.id = n.id;
UPDATE ledger_accounts a SET entries = coalesce(
    (SELECT max(seq) FROM ledger_entries e WHERE e.account_id = a.id), 0);

ALTER TABLE ledger_entries ALTER COLUMN seq SET NOT NULL;
CREATE UNIQUE INDEX ledger_entries_account_seq_idx ON ledger_entries (account_id, seq);
DROP INDEX ledger_entries_account_idx;
