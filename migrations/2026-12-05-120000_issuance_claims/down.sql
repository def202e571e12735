DROP TABLE issuance_claims;
ALTER TABLE ledger_accounts DROP COLUMN issuance_cap_per_month;
DROP TABLE category_mass_rules;
DROP TABLE material_densities;
