DROP TABLE flow_rollups;
DROP TABLE flows;
DROP TABLE reservations;
