-- Photos and documents uploaded to a passport. The bytes live in the file store under
-- `passports/<passport_id>/<id>` (and `<id>.thumb.jpg`); the SHA-256 is also the hash of the
-- passport's document for the file, fixed in its custody chain.
CREATE TABLE passport_files (
    id uuid PRIMARY KEY,
    passport_id uuid NOT NULL REFERENCES passports (id),
    sha256 text NOT NULL,
    media_type text NOT NULL,
    size bigint NOT NULL,
    has_thumbnail boolean NOT NULL,
    title text,
    created_at timestamptz NOT NULL
);
CREATE INDEX passport_files_passport_idx ON passport_files (passport_id, id);
