DROP INDEX outbox_thread_idx;
ALTER TABLE outbox DROP COLUMN thread;
