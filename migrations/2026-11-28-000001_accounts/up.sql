-- Organisations, their users, sessions (refresh tokens), login throttling and the outbox.

CREATE TABLE organisations (
    id           uuid PRIMARY KEY,
    name         text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    kind         text NOT NULL CHECK (kind IN ('contractor', 'makerspace', 'builder', 'recycler',
                                               'initiative', 'municipality', 'hub')),
    status       text NOT NULL DEFAULT 'unverified'
                 CHECK (status IN ('unverified', 'verified', 'suspended')),
    kvk_number   text CHECK (kvk_number ~ '^[0-9]{8}$'),
    address      text CHECK (length(address) <= 500),
    lat          double precision CHECK (lat BETWEEN -90 AND 90),
    lon          double precision CHECK (lon BETWEEN -180 AND 180),
    verified_at  timestamptz,
    verified_by  uuid,
    created_at   timestamptz NOT NULL,
    updated_at   timestamptz NOT NULL,
    CHECK ((lat IS NULL) = (lon IS NULL)),
    CHECK ((status = 'verified') = (verified_at IS NOT NULL) OR status = 'suspended')
);

CREATE TABLE users (
    id               uuid PRIMARY KEY,
    organisation_id  uuid NOT NULL REFERENCES organisations (id),
    email            text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    password_hash    text NOT NULL,
    display_name     text NOT NULL CHECK (length(display_name) BETWEEN 1 AND 100),
    locale           text NOT NULL DEFAULT 'nl' CHECK (locale IN ('nl', 'en')),
    org_role         text NOT NULL CHECK (org_role IN ('owner', 'member')),
    is_broker        boolean NOT NULL DEFAULT false,
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL
);
-- E-mail addresses are unique whatever their case.
CREATE UNIQUE INDEX users_email_key ON users (lower(email));
CREATE INDEX users_organisation_idx ON users (organisation_id);

-- Opaque refresh tokens, stored as SHA-256 hashes. A family is one login session; every
-- refresh rotates the token within its family, and a rotated token presented again revokes
-- the whole family.
CREATE TABLE refresh_tokens (
    id           uuid PRIMARY KEY,
    family_id    uuid NOT NULL,
    user_id      uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash   bytea NOT NULL UNIQUE,
    issued_at    timestamptz NOT NULL,
    expires_at   timestamptz NOT NULL,
    rotated_at   timestamptz,
    revoked_at   timestamptz
);
CREATE INDEX refresh_tokens_family_idx ON refresh_tokens (family_id);
CREATE INDEX refresh_tokens_expiry_idx ON refresh_tokens (expires_at);

-- Failed logins, counted per account and per client address to throttle guessing.
CREATE TABLE login_failures (
    id            uuid PRIMARY KEY,
    email         text NOT NULL,
    client_addr   text NOT NULL,
    failed_at     timestamptz NOT NULL
);
CREATE INDEX login_failures_email_idx ON login_failures (lower(email), failed_at);
CREATE INDEX login_failures_addr_idx ON login_failures (client_addr, failed_at);

-- The transactional outbox: a notification is written in the same transaction as the change
-- it tells of. The dedupe key (event, recipient, channel) keeps delivery to once.
CREATE TABLE outbox (
    id                 uuid PRIMARY KEY,
    dedupe_key         text NOT NULL UNIQUE,
    event              text NOT NULL,
    recipient_user_id  uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    channel            text NOT NULL CHECK (channel IN ('email', 'in_app')),
    payload            jsonb NOT NULL,
    status             text NOT NULL DEFAULT 'pending'
                       CHECK (status IN ('pending', 'delivered', 'failed')),
    attempts           integer NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    next_attempt_at    timestamptz NOT NULL,
    last_error         text,
    created_at         timestamptz NOT NULL,
    delivered_at       timestamptz,
    read_at            timestamptz
);
CREATE INDEX outbox_due_idx ON outbox (next_attempt_at) WHERE status = 'pending';
CREATE INDEX outbox_recipient_idx ON outbox (recipient_user_id, created_at DESC);
