ALTER TABLE outbox DROP COLUMN recipient_email;
DROP TABLE invitations;
DROP TABLE email_verifications;
ALTER TABLE users DROP COLUMN removed_at;
ALTER TABLE users DROP COLUMN email_verified_at;
