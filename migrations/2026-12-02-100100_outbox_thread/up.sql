-- What a notification is about for its recipient when a flood of them is possible (a wish's
-- matches for its demander, a lot's for its donor): instant mail is capped per thread and
-- recipient, and what passes the cap waits for the daily digest.
ALTER TABLE outbox ADD COLUMN thread text;
CREATE INDEX outbox_thread_idx ON outbox (recipient_user_id, thread, delivered_at)
    WHERE channel = 'email' AND status = 'delivered' AND thread IS NOT NULL;
