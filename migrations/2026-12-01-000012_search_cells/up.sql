-- Nearest-first stock search in a dense city, from a grid instead of the GiST index: the
-- pickup point's cell (0.004° of latitude by 0.0065° of longitude, about 450 m square in The
-- Hague) as row * 100000 + column, so that the cells of one row are one range. A search reads
-- the open lots of the cells around its point, row by row (and category by category), keeps
-- those within a probe radius and sorts them; when that radius holds a full page the page is
-- exact. Walking a GiST index nearest first reads hundreds of index tuples for the same page.
-- The expression must stay the one in src/db/listings.rs (CELL). Both carry the columns the
-- filters read, so that a page of ids comes from an index-only scan.
CREATE INDEX listings_open_cell_idx ON listings
    ((floor((pickup_lat + 90) / 0.004)::bigint * 100000 + floor((pickup_lon + 180) / 0.0065)::bigint))
    INCLUDE (id, pickup_lat, pickup_lon, pickup_earth, category_id, status, available_from,
             quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available');
CREATE INDEX listings_open_category_cell_idx ON listings
    (category_id, (floor((pickup_lat + 90) / 0.004)::bigint * 100000 + floor((pickup_lon + 180) / 0.0065)::bigint))
    INCLUDE (id, pickup_lat, pickup_lon, pickup_earth, status, available_from,
             quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available');
