DROP TABLE idempotency_keys;
DROP TABLE ledger_entries;
DROP TRIGGER transfers_immutable ON transfers;
DROP FUNCTION transfers_immutable();
DROP TABLE transfers;
DROP TABLE ledger_accounts;
DROP TABLE issuance_rates;
DROP TABLE currency;
