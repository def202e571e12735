DROP TABLE eural_codes;
