-- Districts, material passports with their custody chain, and listings.

-- Points on the unit sphere as 3-D cubes: GiST orders them by chord length, which orders them
-- exactly as the great-circle distance does (the cube extension is trusted since PostgreSQL 13).
CREATE EXTENSION IF NOT EXISTS cube;

CREATE TABLE districts (
    id          uuid PRIMARY KEY,
    code        text NOT NULL UNIQUE CHECK (length(code) BETWEEN 1 AND 64),
    name        text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    -- The GeoJSON geometry (Polygon or MultiPolygon, WGS84) as uploaded.
    geometry    jsonb NOT NULL,
    min_lat     double precision NOT NULL,
    min_lon     double precision NOT NULL,
    max_lat     double precision NOT NULL,
    max_lon     double precision NOT NULL,
    created_at  timestamptz NOT NULL,
    updated_at  timestamptz NOT NULL
);

ALTER TABLE organisations ADD COLUMN district_id uuid REFERENCES districts (id) ON DELETE SET NULL;

CREATE TABLE passports (
    id                        uuid PRIMARY KEY,
    -- A short human code, printed on labels: KL-XXXX-XXXX.
    code                      text NOT NULL UNIQUE,
    organisation_id           uuid NOT NULL REFERENCES organisations (id),
    category_id               uuid NOT NULL REFERENCES categories (id),
    -- The passport this one was split from, when a lot was partly taken.
    parent_id                 uuid REFERENCES passports (id),
    -- Everything the passport says, in its documented export form (kringloop-passport/1),
    -- validated by the domain core before it is stored.
    content                   jsonb NOT NULL,
    -- Copied out of the content for searching, weighing and analysis.
    name                      text NOT NULL CHECK (length(name) BETWEEN 1 AND 200),
    eural_code                text REFERENCES eural_codes (code),
    condition_rank            smallint NOT NULL CHECK (condition_rank BETWEEN 1 AND 5),
    -- Mass in grams of one unit of `mass_unit` (a piece, a metre, m2 or m3).
    unit_mass_g               bigint CHECK (unit_mass_g > 0),
    mass_unit                 text CHECK (mass_unit IN ('piece', 'm', 'm2', 'm3')),
    -- Cradle-to-gate embodied carbon in grams CO2e per kg of material.
    embodied_co2e_g_per_kg    integer CHECK (embodied_co2e_g_per_kg >= 0),
    -- False while a hazardous substance has no clearance document.
    listable                  boolean NOT NULL,
    origin_lat                double precision CHECK (origin_lat BETWEEN -90 AND 90),
    origin_lon                double precision CHECK (origin_lon BETWEEN -180 AND 180),
    origin_district_id        uuid REFERENCES districts (id) ON DELETE SET NULL,
    custody_head              text NOT NULL,
    custody_seq               integer NOT NULL,
    version                   integer NOT NULL DEFAULT 1,
    created_at                timestamptz NOT NULL,
    updated_at                timestamptz NOT NULL,
    CHECK ((origin_lat IS NULL) = (origin_lon IS NULL)),
    CHECK ((unit_mass_g IS NULL) = (mass_unit IS NULL))
);
CREATE INDEX passports_organisation_idx ON passports (organisation_id, id);
CREATE INDEX passports_category_idx ON passports (category_id);

-- The append-only custody chain: each event hashes its canonical content with the previous
-- event's hash.
CREATE TABLE custody_events (
    id                uuid PRIMARY KEY,
    passport_id       uuid NOT NULL REFERENCES passports (id),
    seq               integer NOT NULL CHECK (seq >= 1),
    kind              text NOT NULL,
    organisation_id   uuid REFERENCES organisations (id),
    payload           jsonb NOT NULL,
    at                timestamptz NOT NULL,
    prev_hash         text NOT NULL,
    hash              text NOT NULL,
    UNIQUE (passport_id, seq)
);

CREATE TABLE listings (
    id                    uuid PRIMARY KEY,
    passport_id           uuid NOT NULL REFERENCES passports (id),
    organisation_id       uuid NOT NULL REFERENCES organisations (id),
    category_id           uuid NOT NULL REFERENCES categories (id),
    -- The passport's name, as shown in results.
    title                 text NOT NULL CHECK (length(title) BETWEEN 1 AND 200),
    status                text NOT NULL CHECK (status IN ('announced', 'available', 'reserved', 'closed',
                                                          'withdrawn', 'expired')),
    unit                  text NOT NULL CHECK (unit IN ('piece', 'kg', 't', 'm', 'm2', 'm3')),
    quantity              bigint NOT NULL CHECK (quantity > 0),
    -- What is not held by reservations; never below zero, never above the quantity.
    quantity_available    bigint NOT NULL CHECK (quantity_available BETWEEN 0 AND quantity),
    -- Grams per unit of `unit`, when the passport lets the unit be weighed.
    mass_g_per_unit       bigint CHECK (mass_g_per_unit > 0),
    available_from        timestamptz NOT NULL,
    available_until       timestamptz,
    pickup_lat            double precision NOT NULL CHECK (pickup_lat BETWEEN -90 AND 90),
    pickup_lon            double precision NOT NULL CHECK (pickup_lon BETWEEN -180 AND 180),
    pickup_address        text CHECK (length(pickup_address) <= 500),
    district_id           uuid REFERENCES districts (id) ON DELETE SET NULL,
    -- Price per unit in minor units (cents); absent for free lots.
    price_amount          bigint CHECK (price_amount >= 0),
    price_currency        text CHECK (price_currency ~ '^[A-Z]{3}$'),
    condition_rank        smallint NOT NULL CHECK (condition_rank BETWEEN 1 AND 5),
    note                  text CHECK (length(note) <= 2000),
    -- The words people search by: the passport's name, description, product and maker,
    -- the category's names and the listing's note. Indexed in Dutch and in English.
    search_text           text NOT NULL,
    -- The pickup point on the unit sphere, for nearest-first search.
    pickup_earth          cube GENERATED ALWAYS AS (cube(ARRAY[
                              cos(radians(pickup_lat)) * cos(radians(pickup_lon)),
                              cos(radians(pickup_lat)) * sin(radians(pickup_lon)),
                              sin(radians(pickup_lat))])) STORED,
    search                tsvector GENERATED ALWAYS AS
                          (to_tsvector('dutch', search_text) || to_tsvector('english', search_text)) STORED,
    version               integer NOT NULL DEFAULT 1,
    created_at            timestamptz NOT NULL,
    updated_at            timestamptz NOT NULL,
    CHECK (available_until IS NULL OR available_until > available_from),
    CHECK ((price_amount IS NULL) = (price_currency IS NULL))
);
-- Stock search. The two search indexes carry every column a filter reads, so that a page of
-- ids comes from an index-only scan and only the page's rows are read from the table:
-- nearest first within a radius (GiST on the point on the sphere) …
CREATE INDEX listings_earth_idx ON listings USING gist (pickup_earth)
    INCLUDE (id, category_id, status, available_from, quantity_available, price_amount, price_currency,
             condition_rank);
-- … by date, then id (keyset pages), for open lots …
CREATE INDEX listings_open_from_idx ON listings (available_from, id)
    INCLUDE (category_id, status, quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available');
-- … by words …
CREATE INDEX listings_search_idx ON listings USING gin (search);
-- … and the other statuses through (status, date, id).
CREATE INDEX listings_status_from_idx ON listings (status, available_from, id);
-- … and for the job that opens announced lots and expires old ones.
CREATE INDEX listings_from_idx ON listings (available_from) WHERE status = 'announced';
CREATE INDEX listings_until_idx ON listings (available_until) WHERE status IN ('announced', 'available');
CREATE INDEX listings_organisation_idx ON listings (organisation_id, id);
CREATE INDEX listings_passport_idx ON listings (passport_id);
-- Index-only scans need a fresh visibility map: vacuum listings early.
ALTER TABLE listings SET (autovacuum_vacuum_scale_factor = 0.02, autovacuum_vacuum_insert_scale_factor = 0.02);
