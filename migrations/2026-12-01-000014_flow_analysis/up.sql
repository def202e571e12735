-- Stream analysis: what a flow needs beyond its mass (the EURAL code it kept out of the waste
-- stream, the two parties, the transport it cost), synthetic flows for benchmarks and demos,
-- and districts that are retired rather than deleted so that flows keep them.

ALTER TABLE flows
    ADD COLUMN eural_code        text,
    ADD COLUMN donor_id          uuid REFERENCES organisations (id),
    ADD COLUMN receiver_id       uuid REFERENCES organisations (id),
    -- Van transport from the pickup point to the receiver, as the matcher scores it.
    ADD COLUMN transport_co2e_g  bigint NOT NULL DEFAULT 0 CHECK (transport_co2e_g >= 0),
    -- A generated flow (bench, demo) has no reservation or passport; every other one has both.
    ADD COLUMN synthetic         boolean NOT NULL DEFAULT false;
ALTER TABLE flows ALTER COLUMN reservation_id DROP NOT NULL;
ALTER TABLE flows ALTER COLUMN passport_id DROP NOT NULL;
ALTER TABLE flows ADD CONSTRAINT flows_traced_check
    CHECK (synthetic OR (reservation_id IS NOT NULL AND passport_id IS NOT NULL));

UPDATE flows f
SET eural_code = p.eural_code,
    donor_id = r.donor_id,
    receiver_id = r.demander_id,
    transport_co2e_g = CASE
        WHEN o.lat IS NULL OR o.lon IS NULL THEN 0
        ELSE round(f.mass_g / 1e4 * 2 * 6371 * asin(sqrt(
            power(sin(radians(o.lat - l.pickup_lat) / 2), 2)
            + cos(radians(l.pickup_lat)) * cos(radians(o.lat))
              * power(sin(radians(o.lon - l.pickup_lon) / 2), 2))))::bigint
    END
FROM reservations r
JOIN listings l ON l.id = r.listing_id
JOIN passports p ON p.id = l.passport_id
JOIN organisations o ON o.id = r.demander_id
WHERE r.id = f.reservation_id;

CREATE INDEX flows_donor_idx ON flows (donor_id);
CREATE INDEX flows_receiver_idx ON flows (receiver_id);

ALTER TABLE flow_rollups ADD COLUMN transport_co2e_g bigint NOT NULL DEFAULT 0;
UPDATE flow_rollups u
SET transport_co2e_g = s.transport
FROM (SELECT date_trunc('month', occurred_at AT TIME ZONE 'UTC')::date AS month,
             coalesce(origin_district_id, '00000000-0000-0000-0000-000000000000') AS origin,
             coalesce(destination_district_id, '00000000-0000-0000-0000-000000000000') AS destination,
             category_id, sum(transport_co2e_g) AS transport
      FROM flows GROUP BY 1, 2, 3, 4) s
WHERE u.month = s.month AND u.origin_district_id = s.origin
  AND u.destination_district_id = s.destination AND u.category_id = s.category_id;

ALTER TABLE districts ADD COLUMN retired_at timestamptz;
