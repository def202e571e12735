DROP INDEX passports_import_idx;
ALTER TABLE passports DROP COLUMN import_id;
