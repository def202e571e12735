DROP TABLE passport_files;
