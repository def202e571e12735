-- Members and roles, and e-mail verification.
--
-- A user's e-mail address is verified by a link mailed at registration; a broker verifies an
-- organisation only once an owner's address is. Accounts made before this migration were
-- admitted under the old rules and count as verified (from when they were made).
ALTER TABLE users ADD COLUMN email_verified_at timestamptz;
UPDATE users SET email_verified_at = created_at;
-- A member an owner removed: kept (what they did stays theirs in the history), but signed out,
-- refused at once and no longer told anything; an invitation can admit the address again.
ALTER TABLE users ADD COLUMN removed_at timestamptz;

-- A link to confirm an address: only the hash of its token is kept; single use and expiring.
CREATE TABLE email_verifications (
    id uuid PRIMARY KEY,
    user_id uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash bytea NOT NULL UNIQUE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    used_at timestamptz
);
CREATE INDEX email_verifications_user_idx ON email_verifications (user_id);

-- An owner's invitation to join the organisation: to an address, with a role; single use,
-- expiring, and revoked by a newer invitation to the same address or by an owner.
CREATE TABLE invitations (
    id uuid PRIMARY KEY,
    organisation_id uuid NOT NULL REFERENCES organisations (id) ON DELETE CASCADE,
    email text NOT NULL CHECK (length(email) BETWEEN 3 AND 254),
    role text NOT NULL CHECK (role IN ('owner', 'member')),
    token_hash bytea NOT NULL UNIQUE,
    invited_by uuid NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    accepted_at timestamptz,
    accepted_by uuid REFERENCES users (id) ON DELETE SET NULL,
    revoked_at timestamptz
);
CREATE INDEX invitations_organisation_idx ON invitations (organisation_id, created_at DESC);
CREATE INDEX invitations_email_idx ON invitations (lower(email));

-- Mail to an address that has no account yet (an invitation): sent there rather than to the
-- recipient user's address (the recipient user is then the one who caused it).
ALTER TABLE outbox ADD COLUMN recipient_email text;
