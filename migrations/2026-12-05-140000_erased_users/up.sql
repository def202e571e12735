-- A person who deleted their account: the row stays (the ledger, reservations and wishes
-- refer to it), without anything that names them, and no longer signs in.
ALTER TABLE users ADD COLUMN erased_at timestamptz;
