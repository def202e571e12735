-- A suspended organisation's listings and wishes are kept but leave search, matching and open
-- data until it is reinstated. The flag is set in the transaction that suspends (and cleared
-- in the one that reinstates), which stamps every row, so the in-memory copies follow.
ALTER TABLE listings ADD COLUMN suspended boolean NOT NULL DEFAULT false;
ALTER TABLE wishes ADD COLUMN suspended boolean NOT NULL DEFAULT false;
UPDATE listings SET suspended = true
    WHERE organisation_id IN (SELECT id FROM organisations WHERE status = 'suspended');
UPDATE wishes SET suspended = true
    WHERE organisation_id IN (SELECT id FROM organisations WHERE status = 'suspended');

-- The stock search reads `NOT suspended` beside the status: the partial indexes of open lots
-- leave suspended ones out and the GiST index carries the flag, so that a page of ids still
-- comes from an index-only scan.
DROP INDEX listings_earth_idx;
CREATE INDEX listings_earth_idx ON listings USING gist (pickup_earth)
    INCLUDE (id, category_id, status, available_from, quantity_available, price_amount, price_currency,
             condition_rank, suspended);
DROP INDEX listings_open_from_idx;
CREATE INDEX listings_open_from_idx ON listings (available_from, id)
    INCLUDE (category_id, status, quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available') AND NOT suspended;
DROP INDEX listings_open_category_from_idx;
CREATE INDEX listings_open_category_from_idx ON listings (category_id, available_from, id)
    INCLUDE (status, quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available') AND NOT suspended;
DROP INDEX listings_open_cell_idx;
CREATE INDEX listings_open_cell_idx ON listings
    ((floor((pickup_lat + 90) / 0.001)::bigint * 1000000 + floor((pickup_lon + 180) / 0.0016)::bigint))
    INCLUDE (id, pickup_lat, pickup_lon, pickup_earth, category_id, status, available_from,
             quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available') AND NOT suspended;
DROP INDEX listings_open_category_cell_idx;
CREATE INDEX listings_open_category_cell_idx ON listings
    (category_id, (floor((pickup_lat + 90) / 0.004)::bigint * 100000 + floor((pickup_lon + 180) / 0.0065)::bigint))
    INCLUDE (id, pickup_lat, pickup_lon, pickup_earth, status, available_from,
             quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available') AND NOT suspended;
