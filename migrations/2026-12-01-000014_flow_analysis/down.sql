ALTER TABLE districts DROP COLUMN retired_at;
ALTER TABLE flow_rollups DROP COLUMN transport_co2e_g;
DROP INDEX flows_receiver_idx;
DROP INDEX flows_donor_idx;
DELETE FROM flows WHERE synthetic;
ALTER TABLE flows DROP CONSTRAINT flows_traced_check;
ALTER TABLE flows ALTER COLUMN passport_id SET NOT NULL;
ALTER TABLE flows ALTER COLUMN reservation_id SET NOT NULL;
ALTER TABLE flows
    DROP COLUMN synthetic,
    DROP COLUMN transport_co2e_g,
    DROP COLUMN receiver_id,
    DROP COLUMN donor_id,
    DROP COLUMN eural_code;
