-- How each user wants to be told: e-mail on or off, instantly or in a daily digest, and quiet
-- hours (UTC) in which no mail is sent.
ALTER TABLE users
    ADD COLUMN email_notifications boolean NOT NULL DEFAULT true,
    ADD COLUMN digest text NOT NULL DEFAULT 'instant' CHECK (digest IN ('instant', 'daily')),
    ADD COLUMN quiet_start_hour smallint CHECK (quiet_start_hour BETWEEN 0 AND 23),
    ADD COLUMN quiet_end_hour smallint CHECK (quiet_end_hour BETWEEN 0 AND 23),
    ADD CONSTRAINT users_quiet_hours_check CHECK ((quiet_start_hour IS NULL) = (quiet_end_hour IS NULL));

CREATE INDEX outbox_feed_idx ON outbox (recipient_user_id, id DESC) WHERE channel = 'in_app';
