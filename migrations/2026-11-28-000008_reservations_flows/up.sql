-- Reservations (holds on a listing's quantity), hand-over, and the flows of material it
-- records, with monthly rollups kept in step.

CREATE TABLE reservations (
    id                 uuid PRIMARY KEY,
    listing_id         uuid NOT NULL REFERENCES listings (id),
    match_id           uuid REFERENCES matches (id),
    demander_id        uuid NOT NULL REFERENCES organisations (id),
    donor_id           uuid NOT NULL REFERENCES organisations (id),
    reserved_by        uuid NOT NULL REFERENCES users (id),
    quantity           bigint NOT NULL CHECK (quantity > 0),
    unit               text NOT NULL,
    -- The price per unit and the total as agreed when reserving; absent for a free lot.
    price_amount       bigint CHECK (price_amount >= 0),
    price_currency     text,
    total_amount       bigint CHECK (total_amount >= 0),
    -- The pending ledger transfer holding the demander's local currency.
    hold_transfer_id   uuid REFERENCES transfers (id),
    status             text NOT NULL
                       CHECK (status IN ('held', 'handed_over', 'cancelled', 'expired')),
    expires_at         timestamptz NOT NULL,
    handed_over_at     timestamptz,
    -- The passport that went to the demander: the listing's own, or one split off it.
    received_passport_id uuid REFERENCES passports (id),
    confirm_by         timestamptz,
    confirmation       text CHECK (confirmation IN ('confirmed', 'disputed')),
    confirmation_note  text CHECK (length(confirmation_note) <= 2000),
    ended_at           timestamptz,
    ended_by           uuid REFERENCES organisations (id),
    created_at         timestamptz NOT NULL,
    updated_at         timestamptz NOT NULL,
    CHECK ((price_amount IS NULL) = (price_currency IS NULL))
);
CREATE INDEX reservations_listing_idx ON reservations (listing_id) WHERE status = 'held';
CREATE INDEX reservations_expiry_idx ON reservations (expires_at) WHERE status = 'held';
CREATE INDEX reservations_demander_idx ON reservations (demander_id, id DESC);
CREATE INDEX reservations_donor_idx ON reservations (donor_id, id DESC);

-- Material that moved, written once at hand-over and never changed.
CREATE TABLE flows (
    id                       uuid PRIMARY KEY,
    reservation_id           uuid NOT NULL UNIQUE REFERENCES reservations (id),
    passport_id              uuid NOT NULL REFERENCES passports (id),
    category_id              uuid NOT NULL REFERENCES categories (id),
    quantity                 bigint NOT NULL CHECK (quantity > 0),
    unit                     text NOT NULL,
    mass_g                   bigint NOT NULL CHECK (mass_g >= 0),
    co2e_avoided_g           bigint NOT NULL CHECK (co2e_avoided_g >= 0),
    origin_district_id       uuid REFERENCES districts (id),
    destination_district_id  uuid REFERENCES districts (id),
    occurred_at              timestamptz NOT NULL
);
CREATE INDEX flows_occurred_idx ON flows (occurred_at);

-- Per month and (origin, destination, category); an unknown district is the nil uuid so that
-- the key stays a primary key.
CREATE TABLE flow_rollups (
    month                    date NOT NULL,
    origin_district_id       uuid NOT NULL,
    destination_district_id  uuid NOT NULL,
    category_id              uuid NOT NULL REFERENCES categories (id),
    mass_g                   bigint NOT NULL,
    co2e_avoided_g           bigint NOT NULL,
    flows                    integer NOT NULL,
    PRIMARY KEY (month, origin_district_id, destination_district_id, category_id)
);
