-- Every organisation has its ledger account from the moment it exists, so that moving money
-- never has to open one first: the accounts of organisations registered before, then a
-- trigger for every new one, whichever code path inserts it.
INSERT INTO ledger_accounts (id, organisation_id, created_at, updated_at)
SELECT id, id, created_at, created_at FROM organisations
ON CONFLICT DO NOTHING;

CREATE FUNCTION open_organisation_account() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO ledger_accounts (id, organisation_id, created_at, updated_at)
    VALUES (NEW.id, NEW.id, NEW.created_at, NEW.created_at)
    ON CONFLICT DO NOTHING;
    RETURN NULL;
END;
$$;
CREATE TRIGGER organisations_open_account AFTER INSERT ON organisations
    FOR EACH ROW EXECUTE FUNCTION open_organisation_account();
