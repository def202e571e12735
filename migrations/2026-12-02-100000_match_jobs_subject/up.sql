-- A matcher job takes the other queued jobs of its subject with it (one working covers every
-- change committed before it); this finds them without reading the whole queue.
CREATE INDEX match_jobs_subject_idx ON match_jobs (subject_id);
