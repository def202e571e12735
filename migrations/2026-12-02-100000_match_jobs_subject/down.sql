DROP INDEX match_jobs_subject_idx;
