-- The platform's own organisation (the city's, which brokers belong to) is marked, so that it
-- is found by this mark and never by a name someone else could register first.
ALTER TABLE organisations ADD COLUMN is_platform boolean NOT NULL DEFAULT false;
CREATE UNIQUE INDEX organisations_one_platform_idx ON organisations (is_platform) WHERE is_platform;
-- An existing installation's platform organisation: that of its first broker.
UPDATE organisations SET is_platform = true
WHERE id = (SELECT organisation_id FROM users WHERE is_broker ORDER BY created_at, id LIMIT 1);

-- Registrations per client address, to throttle mass sign-ups (each costs a password hash).
CREATE TABLE registration_attempts (
    id            uuid PRIMARY KEY,
    client_addr   text NOT NULL,
    attempted_at  timestamptz NOT NULL
);
CREATE INDEX registration_attempts_addr_idx ON registration_attempts (client_addr, attempted_at);
