-- Finer cells for nearest-first searches without a category: 0.001° of latitude by 0.0016° of
-- longitude (about 110 m square in The Hague) instead of 0.004° by 0.0065°, numbered
-- row * 1000000 + column. In a dense city a page of lots of any kind lies within 100 to 200 m,
-- so the coarse cells read five to ten lots for every one within the probe; the fine ones read
-- about a third as many (docs/benchmarks.md, P2). Searches within categories keep the coarse
-- cells of listings_open_category_cell_idx: there each row of cells costs one index descent per
-- category. The expression must stay the one in src/db/listings.rs (FINE).
DROP INDEX listings_open_cell_idx;
CREATE INDEX listings_open_cell_idx ON listings
    ((floor((pickup_lat + 90) / 0.001)::bigint * 1000000 + floor((pickup_lon + 180) / 0.0016)::bigint))
    INCLUDE (id, pickup_lat, pickup_lon, pickup_earth, category_id, status, available_from,
             quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available');
