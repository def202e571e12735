DROP TRIGGER organisations_open_account ON organisations;
DROP FUNCTION open_organisation_account();
