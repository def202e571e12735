DROP INDEX outbox_feed_idx;
ALTER TABLE users
    DROP CONSTRAINT users_quiet_hours_check,
    DROP COLUMN quiet_end_hour,
    DROP COLUMN quiet_start_hour,
    DROP COLUMN digest,
    DROP COLUMN email_notifications;
