ALTER TABLE users DROP COLUMN last_digest_on;
DROP INDEX outbox_digest_idx;
UPDATE outbox SET status = 'delivered' WHERE status IN ('skipped', 'digested');
UPDATE outbox SET status = 'pending' WHERE status = 'digest';
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('pending', 'delivered', 'failed'));
DROP TABLE match_jobs;
DROP TABLE bundles;
DROP TABLE matches;
DROP TRIGGER listings_stamp ON listings;
DROP INDEX listings_change_idx;
ALTER TABLE listings DROP COLUMN change_txid;
DROP TRIGGER wishes_stamp ON wishes;
DROP TABLE wishes;
DROP FUNCTION stamp_change_txid();
