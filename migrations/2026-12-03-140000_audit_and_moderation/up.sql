-- The broker's audit log: every broker action writes one entry in the transaction that does it
-- (who, what, when, the object, its state before and after, and the reason given). Entries are
-- only ever added.
CREATE TABLE audit_log (
    id          uuid PRIMARY KEY,
    at          timestamptz NOT NULL,
    broker_id   uuid NOT NULL,
    action      text NOT NULL,
    object_kind text NOT NULL,
    object_id   uuid,
    before      jsonb,
    after       jsonb,
    reason      text
);
CREATE INDEX audit_log_action_idx ON audit_log (action, id);
CREATE INDEX audit_log_object_idx ON audit_log (object_id, id) WHERE object_id IS NOT NULL;
CREATE INDEX audit_log_at_idx ON audit_log (at);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the audit log is append-only';
END;
$$;
CREATE TRIGGER audit_log_append_only BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

-- Moderation: the broker hides a listing or a wish, with a reason, and may restore it. A hidden
-- one is kept (its owner still reads it) but leaves search, matching and open data, as a
-- suspended organisation's do. `off_market` is the one flag those read: either cause takes a
-- row off the market, and lifting one cause leaves the other standing.
ALTER TABLE listings ADD COLUMN hidden_at timestamptz;
ALTER TABLE listings ADD COLUMN hidden_reason text;
ALTER TABLE listings ADD CONSTRAINT listings_hidden_with_reason
    CHECK ((hidden_at IS NULL) = (hidden_reason IS NULL));
ALTER TABLE listings ADD COLUMN off_market boolean
    GENERATED ALWAYS AS (suspended OR hidden_at IS NOT NULL) STORED;
ALTER TABLE wishes ADD COLUMN hidden_at timestamptz;
ALTER TABLE wishes ADD COLUMN hidden_reason text;
ALTER TABLE wishes ADD CONSTRAINT wishes_hidden_with_reason
    CHECK ((hidden_at IS NULL) = (hidden_reason IS NULL));
ALTER TABLE wishes ADD COLUMN off_market boolean
    GENERATED ALWAYS AS (suspended OR hidden_at IS NOT NULL) STORED;
CREATE INDEX listings_hidden_idx ON listings (hidden_at) WHERE hidden_at IS NOT NULL;
CREATE INDEX wishes_hidden_idx ON wishes (hidden_at) WHERE hidden_at IS NOT NULL;

-- The stock search reads `NOT off_market` where it read `NOT suspended`.
DROP INDEX listings_earth_idx;
CREATE INDEX listings_earth_idx ON listings USING gist (pickup_earth)
    INCLUDE (id, category_id, status, available_from, quantity_available, price_amount, price_currency,
             condition_rank, off_market);
DROP INDEX listings_open_from_idx;
CREATE INDEX listings_open_from_idx ON listings (available_from, id)
    INCLUDE (category_id, status, quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available') AND NOT off_market;
DROP INDEX listings_open_category_from_idx;
CREATE INDEX listings_open_category_from_idx ON listings (category_id, available_from, id)
    INCLUDE (status, quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available') AND NOT off_market;
DROP INDEX listings_open_cell_idx;
CREATE INDEX listings_open_cell_idx ON listings
    ((floor((pickup_lat + 90) / 0.001)::bigint * 1000000 + floor((pickup_lon + 180) / 0.0016)::bigint))
    INCLUDE (id, pickup_lat, pickup_lon, pickup_earth, category_id, status, available_from,
             quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available') AND NOT off_market;
DROP INDEX listings_open_category_cell_idx;
CREATE INDEX listings_open_category_cell_idx ON listings
    (category_id, (floor((pickup_lat + 90) / 0.004)::bigint * 100000 + floor((pickup_lon + 180) / 0.0065)::bigint))
    INCLUDE (id, pickup_lat, pickup_lon, pickup_earth, status, available_from,
             quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available') AND NOT off_market;
