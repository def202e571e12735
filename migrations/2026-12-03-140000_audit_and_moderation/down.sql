-- Dropping off_market drops the indexes that read it; they are made again on `suspended`.
ALTER TABLE listings DROP COLUMN off_market;
ALTER TABLE wishes DROP COLUMN off_market;
DROP INDEX wishes_hidden_idx;
DROP INDEX listings_hidden_idx;
ALTER TABLE wishes DROP CONSTRAINT wishes_hidden_with_reason;
ALTER TABLE wishes DROP COLUMN hidden_reason;
ALTER TABLE wishes DROP COLUMN hidden_at;
ALTER TABLE listings DROP CONSTRAINT listings_hidden_with_reason;
ALTER TABLE listings DROP COLUMN hidden_reason;
ALTER TABLE listings DROP COLUMN hidden_at;
CREATE INDEX listings_earth_idx ON listings USING gist (pickup_earth)
    INCLUDE (id, category_id, status, available_from, quantity_available, price_amount, price_currency,
             condition_rank, suspended);
CREATE INDEX listings_open_from_idx ON listings (available_from, id)
    INCLUDE (category_id, status, quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available') AND NOT suspended;
CREATE INDEX listings_open_category_from_idx ON listings (category_id, available_from, id)
    INCLUDE (status, quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available') AND NOT suspended;
CREATE INDEX listings_open_cell_idx ON listings
    ((floor((pickup_lat + 90) / 0.001)::bigint * 1000000 + floor((pickup_lon + 180) / 0.0016)::bigint))
    INCLUDE (id, pickup_lat, pickup_lon, pickup_earth, category_id, status, available_from,
             quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available') AND NOT suspended;
CREATE INDEX listings_open_category_cell_idx ON listings
    (category_id, (floor((pickup_lat + 90) / 0.004)::bigint * 100000 + floor((pickup_lon + 180) / 0.0065)::bigint))
    INCLUDE (id, pickup_lat, pickup_lon, pickup_earth, status, available_from,
             quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available') AND NOT suspended;

DROP TRIGGER audit_log_append_only ON audit_log;
DROP FUNCTION audit_log_append_only();
DROP TABLE audit_log;
