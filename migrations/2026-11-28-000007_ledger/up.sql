-- The city's local currency: its one configuration row, accounts per organisation and two
-- system accounts, immutable double-entry transfers (two-phase when pending), the entries
-- that make every balance traceable, and idempotency keys for requests that move money.

-- One row: the currency as the broker configured it. Amounts everywhere are integer minor
-- units (10^-decimals of a unit).
CREATE TABLE currency (
    id                      smallint PRIMARY KEY DEFAULT 1 CHECK (id = 1),
    code                    text NOT NULL CHECK (code ~ '^[A-Z]{3,10}$'),
    name                    text NOT NULL CHECK (length(name) BETWEEN 1 AND 100),
    decimals                smallint NOT NULL CHECK (decimals BETWEEN 0 AND 6),
    -- Euros per whole unit, in micro-euros, for display only.
    eur_rate_micros         bigint CHECK (eur_rate_micros > 0),
    -- Share of idle balances charged each month, in basis points.
    demurrage_bp_per_month  integer CHECK (demurrage_bp_per_month BETWEEN 1 AND 10000),
    -- Minor units credited per kg diverted when no category rate applies.
    issuance_default_per_kg bigint NOT NULL DEFAULT 0 CHECK (issuance_default_per_kg >= 0),
    version                 integer NOT NULL DEFAULT 1 CHECK (version >= 1),
    updated_at              timestamptz NOT NULL DEFAULT now()
);
INSERT INTO currency (id, code, name, decimals) VALUES (1, 'KRL', 'Kringloop', 2);

-- Issuance per kg diverted for a category and its subcategories (the nearest rate wins).
CREATE TABLE issuance_rates (
    category_id  uuid PRIMARY KEY REFERENCES categories (id) ON DELETE CASCADE,
    per_kg       bigint NOT NULL CHECK (per_kg >= 0)
);

-- An organisation's account has the organisation's id, so that accounts can be locked in id
-- order without looking them up first. The system account `issuance` is the source of all
-- money (its balance is minus what circulates) and has no bound; `demurrage` is the sink.
CREATE TABLE ledger_accounts (
    id               uuid PRIMARY KEY,
    organisation_id  uuid UNIQUE REFERENCES organisations (id),
    system_name      text UNIQUE CHECK (system_name IN ('issuance', 'demurrage')),
    balance          bigint NOT NULL DEFAULT 0,
    -- Sum of the pending transfers debiting this account.
    held             bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
    credit_limit     bigint NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),
    created_at       timestamptz NOT NULL,
    updated_at       timestamptz NOT NULL,
    CHECK ((organisation_id IS NULL) <> (system_name IS NULL)),
    CHECK (organisation_id IS NULL OR organisation_id = id),
    CONSTRAINT ledger_accounts_within_limit
        CHECK (system_name IS NOT DISTINCT FROM 'issuance' OR balance - held >= -credit_limit)
);
INSERT INTO ledger_accounts (id, system_name, created_at, updated_at) VALUES
    (md5('kringloop-ledger:issuance')::uuid, 'issuance', now(), now()),
    (md5('kringloop-ledger:demurrage')::uuid, 'demurrage', now(), now());

CREATE TABLE transfers (
    id                 uuid PRIMARY KEY,
    debit_account_id   uuid NOT NULL REFERENCES ledger_accounts (id),
    credit_account_id  uuid NOT NULL REFERENCES ledger_accounts (id),
    amount             bigint NOT NULL CHECK (amount > 0),
    kind               text NOT NULL
                       CHECK (kind IN ('payment', 'issuance', 'demurrage', 'reversal', 'settlement')),
    status             text NOT NULL CHECK (status IN ('pending', 'posted', 'voided')),
    reverses_id        uuid UNIQUE REFERENCES transfers (id),
    memo               text CHECK (length(memo) <= 500),
    -- What the transfer belongs to, such as a reservation.
    reference          text CHECK (length(reference) BETWEEN 1 AND 200),
    -- The month a demurrage charge is for, 'YYYY-MM'.
    period             text CHECK (period ~ '^[0-9]{4}-[0-9]{2}$'),
    created_at         timestamptz NOT NULL,
    posted_at          timestamptz,
    voided_at          timestamptz,
    CHECK (debit_account_id <> credit_account_id),
    CHECK ((kind = 'reversal') = (reverses_id IS NOT NULL)),
    CHECK ((kind = 'demurrage') = (period IS NOT NULL)),
    CHECK ((status = 'posted') = (posted_at IS NOT NULL)),
    CHECK ((status = 'voided') = (voided_at IS NOT NULL))
);
-- Demurrage is charged once per account and month, however many instances run the job.
CREATE UNIQUE INDEX transfers_demurrage_once ON transfers (debit_account_id, period)
    WHERE kind = 'demurrage';
CREATE INDEX transfers_reference_idx ON transfers (reference) WHERE reference IS NOT NULL;
CREATE INDEX transfers_pending_idx ON transfers (debit_account_id) WHERE status = 'pending';

-- Transfers are immutable: the only change is a pending transfer becoming posted or voided,
-- once. Corrections are new reversing transfers.
CREATE FUNCTION transfers_immutable() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'DELETE' THEN
        RAISE EXCEPTION 'transfers are immutable' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    IF OLD.status <> 'pending' OR NEW.status = 'pending'
       OR (NEW.id, NEW.debit_account_id, NEW.credit_account_id, NEW.amount, NEW.kind,
           NEW.reverses_id, NEW.memo, NEW.reference, NEW.period, NEW.created_at)
          IS DISTINCT FROM
          (OLD.id, OLD.debit_account_id, OLD.credit_account_id, OLD.amount, OLD.kind,
           OLD.reverses_id, OLD.memo, OLD.reference, OLD.period, OLD.created_at) THEN
        RAISE EXCEPTION 'transfers are immutable' USING ERRCODE = 'integrity_constraint_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER transfers_immutable BEFORE UPDATE OR DELETE ON transfers
    FOR EACH ROW EXECUTE FUNCTION transfers_immutable();

-- One row per account per posted movement; an account's balance is the sum of its entries.
CREATE TABLE ledger_entries (
    id             uuid PRIMARY KEY,
    account_id     uuid NOT NULL REFERENCES ledger_accounts (id),
    -- Checked at commit, so that a transfer and its entries can be sent together in any order.
    transfer_id    uuid NOT NULL REFERENCES transfers (id) DEFERRABLE INITIALLY DEFERRED,
    amount         bigint NOT NULL CHECK (amount <> 0),
    balance_after  bigint NOT NULL,
    created_at     timestamptz NOT NULL,
    UNIQUE (transfer_id, account_id)
);
CREATE INDEX ledger_entries_account_idx ON ledger_entries (account_id, id);

-- The first answer to a request that carried an Idempotency-Key, written in the same
-- transaction as the request's effect.
CREATE TABLE idempotency_keys (
    scope          uuid NOT NULL,
    method         text NOT NULL,
    path           text NOT NULL,
    key            text NOT NULL CHECK (length(key) BETWEEN 1 AND 255),
    request_hash   bytea NOT NULL,
    status         smallint,
    response_body  bytea,
    created_at     timestamptz NOT NULL,
    PRIMARY KEY (scope, method, path, key)
);
CREATE INDEX idempotency_keys_created_idx ON idempotency_keys (created_at);
