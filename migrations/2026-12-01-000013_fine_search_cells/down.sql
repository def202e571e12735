DROP INDEX listings_open_cell_idx;
CREATE INDEX listings_open_cell_idx ON listings
    ((floor((pickup_lat + 90) / 0.004)::bigint * 100000 + floor((pickup_lon + 180) / 0.0065)::bigint))
    INCLUDE (id, pickup_lat, pickup_lon, pickup_earth, category_id, status, available_from,
             quantity_available, price_amount, price_currency, condition_rank)
    WHERE status IN ('announced', 'available');
