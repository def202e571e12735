DROP INDEX listings_earth_idx;
DROP INDEX listings_open_from_idx;
DROP INDEX listings_open_category_from_idx;
DROP INDEX listings_open_cell_idx;
DROP INDEX listings_open_category_cell_idx;
ALTER TABLE wishes DROP COLUMN suspended;
ALTER TABLE listings DROP COLUMN suspended;
CREATE INDEX listings_earth_idx ON listings USING gist (pickup_earth)
    INCLUDE (id, category_id, status, available_from, quantity_available, price_amount, price_currency,
             condition_rank);
CREATE INDEX listings_open_from_idx ON listings (available_from, id)
    INCLUDE (category_id, status, quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available');
CREATE INDEX listings_open_category_from_idx ON listings (category_id, available_from, id)
    INCLUDE (status, quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available');
CREATE INDEX listings_open_cell_idx ON listings
    ((floor((pickup_lat + 90) / 0.001)::bigint * 1000000 + floor((pickup_lon + 180) / 0.0016)::bigint))
    INCLUDE (id, pickup_lat, pickup_lon, pickup_earth, category_id, status, available_from,
             quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available');
CREATE INDEX listings_open_category_cell_idx ON listings
    (category_id, (floor((pickup_lat + 90) / 0.004)::bigint * 100000 + floor((pickup_lon + 180) / 0.0065)::bigint))
    INCLUDE (id, pickup_lat, pickup_lon, pickup_earth, status, available_from,
             quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available');
