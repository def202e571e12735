DROP TABLE listings;
DROP TABLE custody_events;
DROP TABLE passports;
ALTER TABLE organisations DROP COLUMN district_id;
DROP TABLE districts;
DROP EXTENSION IF EXISTS cube;
