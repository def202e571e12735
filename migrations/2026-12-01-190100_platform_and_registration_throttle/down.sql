DROP TABLE registration_attempts;
DROP INDEX organisations_one_platform_idx;
ALTER TABLE organisations DROP COLUMN is_platform;
