-- Passports made by one inventory sheet share its import id: their labels print as one sheet.
ALTER TABLE passports ADD COLUMN import_id uuid;
CREATE INDEX passports_import_idx ON passports (import_id) WHERE import_id IS NOT NULL;
