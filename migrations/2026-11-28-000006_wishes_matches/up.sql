-- Standing demand (wishes), the matches the matcher keeps for (listing, wish) pairs, bundle
-- proposals, the matcher's queue of changed subjects, and what outbox delivery needs.

-- Every change to a wish or a listing stamps the id of its transaction, so that each service
-- instance can follow changes into its in-memory index: rows stamped at or above the oldest
-- transaction still running at the last catch-up are read again (see app::matcher).
CREATE FUNCTION stamp_change_txid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    NEW.change_txid := pg_current_xact_id()::text::bigint;
    RETURN NEW;
END;
$$;

CREATE TABLE wishes (
    id                 uuid PRIMARY KEY,
    organisation_id    uuid NOT NULL REFERENCES organisations (id),
    created_by         uuid NOT NULL REFERENCES users (id),
    category_id        uuid NOT NULL REFERENCES categories (id),
    keywords           text[] NOT NULL DEFAULT '{}',
    length_min_mm      integer,
    length_max_mm      integer,
    width_min_mm       integer,
    width_max_mm       integer,
    height_min_mm      integer,
    height_max_mm      integer,
    condition_min      smallint CHECK (condition_min BETWEEN 1 AND 5),
    quantity           bigint NOT NULL CHECK (quantity > 0),
    unit               text NOT NULL CHECK (unit IN ('piece', 'kg', 't', 'm', 'm2', 'm3')),
    near_lat           double precision NOT NULL CHECK (near_lat BETWEEN -90 AND 90),
    near_lon           double precision NOT NULL CHECK (near_lon BETWEEN -180 AND 180),
    radius_km          double precision NOT NULL CHECK (radius_km > 0 AND radius_km <= 100),
    needed_by          timestamptz,
    -- [{"currency": "EUR", "amount": 1500}, …]: the most paid per unit, per currency.
    max_price          jsonb NOT NULL DEFAULT '[]',
    include_announced  boolean NOT NULL,
    notify             text NOT NULL CHECK (notify IN ('instant', 'daily')),
    status             text NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'deleted')),
    version            integer NOT NULL DEFAULT 1,
    change_txid        bigint NOT NULL DEFAULT 0,
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL
);
CREATE INDEX wishes_organisation_idx ON wishes (organisation_id, id) WHERE status = 'active';
CREATE INDEX wishes_change_idx ON wishes (change_txid);
CREATE TRIGGER wishes_stamp BEFORE INSERT OR UPDATE ON wishes
    FOR EACH ROW EXECUTE FUNCTION stamp_change_txid();

ALTER TABLE listings ADD COLUMN change_txid bigint NOT NULL DEFAULT 0;
CREATE INDEX listings_change_idx ON listings (change_txid);
CREATE TRIGGER listings_stamp BEFORE INSERT OR UPDATE ON listings
    FOR EACH ROW EXECUTE FUNCTION stamp_change_txid();

-- One row per (listing, wish) pair the matcher ever found; kept, never deleted, so that a
-- match that returns is the same match and nobody is told twice.
CREATE TABLE matches (
    id            uuid PRIMARY KEY,
    listing_id    uuid NOT NULL REFERENCES listings (id),
    wish_id       uuid NOT NULL REFERENCES wishes (id),
    demander_id   uuid NOT NULL REFERENCES organisations (id),
    donor_id      uuid NOT NULL REFERENCES organisations (id),
    score         integer NOT NULL CHECK (score BETWEEN 0 AND 1000),
    -- The reasons in both languages: [{"code", "nl", "en"}, …].
    reasons       jsonb NOT NULL,
    predicted     boolean NOT NULL,
    expected_on   timestamptz,
    status        text NOT NULL CHECK (status IN ('open', 'accepted', 'declined', 'retracted')),
    retracted_because text,
    -- Counts the times the match (re)appeared; a notification names the round it tells of.
    round         integer NOT NULL DEFAULT 1,
    created_at    timestamptz NOT NULL,
    updated_at    timestamptz NOT NULL,
    UNIQUE (listing_id, wish_id)
);
CREATE INDEX matches_wish_idx ON matches (wish_id, score DESC, id);
CREATE INDEX matches_demander_idx ON matches (demander_id, id DESC);
CREATE INDEX matches_donor_idx ON matches (donor_id, id DESC);

-- A proposal of several listings that together cover one wish; at most one is current.
CREATE TABLE bundles (
    id               uuid PRIMARY KEY,
    wish_id          uuid NOT NULL REFERENCES wishes (id),
    -- The sorted listing ids, joined: the same set is the same bundle.
    listing_set      text NOT NULL,
    -- [{"listing_id", "match_id", "organisation_id", "take": {amount, unit}, "distance_km"}]
    parts            jsonb NOT NULL,
    covered          bigint NOT NULL,
    pickups          integer NOT NULL,
    donors           integer NOT NULL,
    total_distance_km double precision NOT NULL,
    status           text NOT NULL CHECK (status IN ('proposed', 'accepted', 'superseded')),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    UNIQUE (wish_id, listing_set)
);
CREATE UNIQUE INDEX bundles_current_idx ON bundles (wish_id) WHERE status = 'proposed';

-- Subjects whose matches must be worked out again, written with the change; claimed with
-- FOR UPDATE SKIP LOCKED. Duplicates are allowed: working a subject twice changes nothing.
CREATE TABLE match_jobs (
    id          bigserial PRIMARY KEY,
    subject     text NOT NULL CHECK (subject IN ('listing', 'wish')),
    subject_id  uuid NOT NULL,
    created_at  timestamptz NOT NULL
);

-- Delivery: mail held for a daily digest, mail not sent because the user turned it off, and
-- when each user last got a digest.
ALTER TABLE outbox DROP CONSTRAINT outbox_status_check;
ALTER TABLE outbox ADD CONSTRAINT outbox_status_check
    CHECK (status IN ('pending', 'delivered', 'failed', 'skipped', 'digest', 'digested'));
CREATE INDEX outbox_digest_idx ON outbox (recipient_user_id, id) WHERE status = 'digest';
ALTER TABLE users ADD COLUMN last_digest_on date;
