//! Rows and queries for the local currency: its configuration, accounts, transfers and entries.

use super::outbox::{members_insert, MembersNotice};
use super::prepared::{Bind, Prepared};
use super::schema::{
    categories, currency, issuance_claims, issuance_rates, ledger_accounts, ledger_entries,
    organisations, transfers,
};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{BigInt, Nullable, Text, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::collections::BTreeMap;
use uuid::Uuid;

/// The system account all money is issued from; it alone may go below zero without bound.
/// Its id is the migration's `md5('kringloop-ledger:issuance')::uuid`.
pub const ISSUANCE_ACCOUNT: Uuid = Uuid::from_u128(0xb82383dd_dc8a_4ddb_6f0f_062d185ff04f);
/// The system account demurrage is paid into: `md5('kringloop-ledger:demurrage')::uuid`.
pub const DEMURRAGE_ACCOUNT: Uuid = Uuid::from_u128(0xe32310cf_58cc_0365_f907_76d6c572003d);

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = currency, check_for_backend(diesel::pg::Pg))]
pub struct CurrencyRow {
    pub code: String,
    pub name: String,
    pub decimals: i16,
    pub eur_rate_micros: Option<i64>,
    pub demurrage_bp_per_month: Option<i32>,
    pub issuance_default_per_kg: i64,
    pub version: i32,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = currency, treat_none_as_null = true)]
pub struct CurrencyChanges<'a> {
    pub code: &'a str,
    pub name: &'a str,
    pub decimals: i16,
    pub eur_rate_micros: Option<i64>,
    pub demurrage_bp_per_month: Option<i32>,
    pub issuance_default_per_kg: i64,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = ledger_accounts, check_for_backend(diesel::pg::Pg))]
pub struct AccountRow {
    pub id: Uuid,
    pub organisation_id: Option<Uuid>,
    pub system_name: Option<String>,
    pub balance: i64,
    pub held: i64,
    pub credit_limit: i64,
    pub issuance_cap_per_month: Option<i64>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = transfers, check_for_backend(diesel::pg::Pg))]
pub struct TransferRow {
    pub id: Uuid,
    pub debit_account_id: Uuid,
    pub credit_account_id: Uuid,
    pub amount: i64,
    pub kind: String,
    pub status: String,
    pub reverses_id: Option<Uuid>,
    pub memo: Option<String>,
    pub reference: Option<String>,
    pub period: Option<String>,
    pub created_at: DateTime<Utc>,
    pub posted_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = transfers)]
pub struct NewTransferRow<'a> {
    pub id: Uuid,
    pub debit_account_id: Uuid,
    pub credit_account_id: Uuid,
    pub amount: i64,
    pub kind: &'a str,
    pub status: &'a str,
    pub reverses_id: Option<Uuid>,
    pub memo: Option<&'a str>,
    pub reference: Option<&'a str>,
    pub period: Option<&'a str>,
    pub created_at: DateTime<Utc>,
    pub posted_at: Option<DateTime<Utc>>,
}

/// An entry with what the account holder needs to know of its transfer.
#[derive(Debug, Clone, Queryable)]
pub struct EntryView {
    pub id: Uuid,
    pub transfer_id: Uuid,
    pub amount: i64,
    pub balance_after: i64,
    pub created_at: DateTime<Utc>,
    pub kind: String,
    pub debit_account_id: Uuid,
    pub credit_account_id: Uuid,
    pub memo: Option<String>,
    pub reference: Option<String>,
    pub reverses_id: Option<Uuid>,
}

pub async fn currency(conn: &mut AsyncPgConnection) -> QueryResult<CurrencyRow> {
    currency::table
        .select(CurrencyRow::as_select())
        .first(conn)
        .await
}

/// The currency row, locked for a change.
pub async fn lock_currency(conn: &mut AsyncPgConnection) -> QueryResult<CurrencyRow> {
    currency::table
        .select(CurrencyRow::as_select())
        .for_update()
        .first(conn)
        .await
}

pub async fn update_currency(
    conn: &mut AsyncPgConnection,
    changes: &CurrencyChanges<'_>,
) -> QueryResult<CurrencyRow> {
    diesel::update(currency::table)
        .set((changes, currency::version.eq(currency::version + 1)))
        .returning(CurrencyRow::as_returning())
        .get_result(conn)
        .await
}

/// Category rates as (category code, minor units per kg).
pub async fn issuance_rates(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(String, i64)>> {
    issuance_rates::table
        .inner_join(categories::table)
        .select((categories::code, issuance_rates::per_kg))
        .order(categories::code)
        .load(conn)
        .await
}

/// Replaces every category rate with `rates` (category id, per kg).
pub async fn replace_issuance_rates(
    conn: &mut AsyncPgConnection,
    rates: &[(Uuid, i64)],
) -> QueryResult<()> {
    diesel::delete(issuance_rates::table).execute(conn).await?;
    if rates.is_empty() {
        return Ok(());
    }
    let rows: Vec<_> = rates
        .iter()
        .map(|(id, per_kg)| {
            (
                issuance_rates::category_id.eq(*id),
                issuance_rates::per_kg.eq(*per_kg),
            )
        })
        .collect();
    diesel::insert_into(issuance_rates::table)
        .values(rows)
        .execute(conn)
        .await
        .map(drop)
}

#[derive(QueryableByName)]
struct Code {
    #[diesel(sql_type = Text)]
    code: String,
}

/// A category's code followed by its ancestors' codes, nearest first; empty when unknown.
pub async fn category_lineage(
    conn: &mut AsyncPgConnection,
    category_id: Uuid,
) -> QueryResult<Vec<String>> {
    let rows: Vec<Code> = diesel::sql_query(
        "WITH RECURSIVE up(id, parent_id, code, depth) AS ( \
             SELECT id, parent_id, code, 0 FROM categories WHERE id = $1 \
             UNION ALL \
             SELECT c.id, c.parent_id, c.code, up.depth + 1 \
             FROM categories c JOIN up ON c.id = up.parent_id WHERE up.depth < 32) \
         SELECT code FROM up ORDER BY depth",
    )
    .bind::<SqlUuid, _>(category_id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|row| row.code).collect())
}

/// Whether any money has moved (pending transfers included).
pub async fn any_transfer(conn: &mut AsyncPgConnection) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(transfers::table.select(transfers::id)))
        .get_result(conn)
        .await
}

/// Adds the deltas to an account's balance and held funds, locking its row until the
/// transaction ends; the new balance, or `None` when the account does not exist. The
/// database refuses a result below the credit limit (`ledger_accounts_within_limit`).
pub async fn change_account(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    balance_delta: i64,
    held_delta: i64,
    now: DateTime<Utc>,
) -> QueryResult<Option<i64>> {
    diesel::update(ledger_accounts::table.find(account))
        .set((
            ledger_accounts::balance.eq(ledger_accounts::balance + balance_delta),
            ledger_accounts::held.eq(ledger_accounts::held + held_delta),
            ledger_accounts::updated_at.eq(now),
        ))
        .returning(ledger_accounts::balance)
        .get_result(conn)
        .await
        .optional()
}

/// Locks the accounts' rows until the transaction ends, in the order given (which should be
/// ascending, the order every movement locks in); unknown ids are passed over.
pub async fn lock_accounts(conn: &mut AsyncPgConnection, accounts: &[Uuid]) -> QueryResult<()> {
    ledger_accounts::table
        .filter(ledger_accounts::id.eq_any(accounts))
        .order(ledger_accounts::id)
        .select(ledger_accounts::id)
        .for_no_key_update()
        .load::<Uuid>(conn)
        .await
        .map(drop)
}

/// A posted movement of money between two accounts, written by [`move_money`].
#[derive(Debug)]
pub struct Movement<'a> {
    /// The transfer to write, or `None` when it exists (a pending transfer being posted).
    pub new: Option<&'a NewTransferRow<'a>>,
    pub transfer_id: Uuid,
    pub debit: Uuid,
    pub credit: Uuid,
    pub amount: i64,
    /// Held funds of the debit account released by this movement (a posted hold).
    pub release: i64,
    /// The ids of the debit and credit entries.
    pub entry_ids: [Uuid; 2],
    pub now: DateTime<Utc>,
}

#[derive(QueryableByName)]
struct Moved {
    #[diesel(sql_type = Nullable<BigInt>)]
    debit_after: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    credit_after: Option<i64>,
}

/// Moves money in one statement, one round trip. It writes, in this order: the transfer when
/// it is new, the outbox rows of `notice`, both balances (the lower account id first: each
/// `UPDATE` locks its row, so that two movements between the same accounts never wait for each
/// other crosswise; the database refuses a balance below its credit limit,
/// `ledger_accounts_within_limit`), and both entries with the balances after, numbered per
/// account by the same `UPDATE` that changed the balance (so under its row lock: a statement
/// in that order reconciles line by line, whatever order the movements' ids were made in).
/// Returns the
/// balances after (debit, credit), or `None` when an account does not exist (every
/// organisation has one from its start, migration 000011); the caller's transaction must then
/// roll back, for the other writes were made.
///
/// The accounts are changed last, so that they stay locked for as short a time as the
/// transaction allows: a payment into an account everyone pays waits only for the end of the
/// statements before it and their commits, not for their other writes.
pub async fn move_money(
    conn: &mut AsyncPgConnection,
    movement: &Movement<'_>,
    notice: &MembersNotice<'_>,
) -> QueryResult<Option<(i64, i64)>> {
    // (account, balance delta, held delta) in the order the rows are locked.
    let debit = (movement.debit, -movement.amount, -movement.release);
    let credit = (movement.credit, movement.amount, 0);
    let (low, high) = if movement.debit < movement.credit {
        (debit, credit)
    } else {
        (credit, debit)
    };
    let mut values = vec![
        ("debit", Bind::Uuid(movement.debit)),
        ("credit", Bind::Uuid(movement.credit)),
        ("amount", Bind::BigInt(movement.amount)),
        ("now", Bind::Timestamptz(movement.now)),
        ("low", Bind::Uuid(low.0)),
        ("low_balance", Bind::BigInt(low.1)),
        ("low_held", Bind::BigInt(low.2)),
        ("high", Bind::Uuid(high.0)),
        ("high_balance", Bind::BigInt(high.1)),
        ("high_held", Bind::BigInt(high.2)),
        ("transfer", Bind::Uuid(movement.transfer_id)),
        ("debit_entry", Bind::Uuid(movement.entry_ids[0])),
        ("credit_entry", Bind::Uuid(movement.entry_ids[1])),
    ];
    let mut s = Prepared::default();
    s.sql("WITH ");
    let written = match movement.new {
        Some(new) => {
            values.extend([
                ("kind", Bind::Text(new.kind.to_owned())),
                ("status", Bind::Text(new.status.to_owned())),
                ("reverses", Bind::OptionalUuid(new.reverses_id)),
                ("memo", Bind::OptionalText(new.memo.map(str::to_owned))),
                (
                    "reference",
                    Bind::OptionalText(new.reference.map(str::to_owned)),
                ),
                ("period", Bind::OptionalText(new.period.map(str::to_owned))),
                ("created", Bind::Timestamptz(new.created_at)),
            ]);
            s.template(
                "written AS ( \
                     INSERT INTO transfers (id, debit_account_id, credit_account_id, amount, \
                                            kind, status, reverses_id, memo, reference, period, \
                                            created_at, posted_at) \
                     VALUES (:transfer, :debit, :credit, :amount, :kind, :status, :reverses, \
                             :memo, :reference, :period, :created, :now) \
                     RETURNING id), ",
                &values,
            );
            "(SELECT count(*) FROM written)"
        }
        None => "0",
    };
    s.sql("told AS (");
    members_insert(&mut s, notice, movement.now);
    // The first update's condition reads the inserts above, which makes them run first.
    s.sql(" RETURNING id), ");
    s.template(
        &format!(
            "low AS ( \
                 UPDATE ledger_accounts SET balance = balance + :low_balance, \
                                            held = held + :low_held, entries = entries + 1, \
                                            updated_at = :now \
                 WHERE id = :low AND {written} + (SELECT count(*) FROM told) >= 0 \
                 RETURNING id, balance, entries), \
             high AS ( \
                 UPDATE ledger_accounts SET balance = balance + :high_balance, \
                                            held = held + :high_held, entries = entries + 1, \
                                            updated_at = :now \
                 WHERE id = :high AND (SELECT count(*) FROM low) = 1 \
                 RETURNING id, balance, entries), \
             moved AS (SELECT id, balance, entries FROM low \
                       UNION ALL SELECT id, balance, entries FROM high), \
             entries AS ( \
                 INSERT INTO ledger_entries (id, account_id, transfer_id, amount, balance_after, \
                                             created_at, seq) \
                 SELECT CASE WHEN m.id = :debit THEN :debit_entry ELSE :credit_entry END, m.id, \
                        :transfer, CASE WHEN m.id = :debit THEN -:amount ELSE :amount END, \
                        m.balance, :now, m.entries \
                 FROM moved m) \
             SELECT (SELECT balance FROM moved WHERE id = :debit) AS debit_after, \
                    (SELECT balance FROM moved WHERE id = :credit) AS credit_after"
        ),
        &values,
    );
    let moved: Moved = s.get_result(conn).await?;
    Ok(moved.debit_after.zip(moved.credit_after))
}

pub async fn insert_transfer(
    conn: &mut AsyncPgConnection,
    row: &NewTransferRow<'_>,
) -> QueryResult<()> {
    diesel::insert_into(transfers::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn find_transfer(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<TransferRow>> {
    transfers::table
        .find(id)
        .select(TransferRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The transfer, locked until the transaction ends.
pub async fn lock_transfer(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<TransferRow>> {
    transfers::table
        .find(id)
        .select(TransferRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Settles a pending transfer as posted or voided; `None` unless it was pending. The
/// condition on the status makes the change happen exactly once under any concurrency.
pub async fn settle_transfer(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    posted: bool,
    now: DateTime<Utc>,
) -> QueryResult<Option<TransferRow>> {
    let pending = transfers::table
        .filter(transfers::id.eq(id))
        .filter(transfers::status.eq("pending"));
    let update = diesel::update(pending);
    if posted {
        update
            .set((transfers::status.eq("posted"), transfers::posted_at.eq(now)))
            .returning(TransferRow::as_returning())
            .get_result(conn)
            .await
            .optional()
    } else {
        update
            .set((transfers::status.eq("voided"), transfers::voided_at.eq(now)))
            .returning(TransferRow::as_returning())
            .get_result(conn)
            .await
            .optional()
    }
}

/// The reversal of a transfer, if there is one.
pub async fn reversal_of(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<Uuid>> {
    transfers::table
        .filter(transfers::reverses_id.eq(id))
        .select(transfers::id)
        .first(conn)
        .await
        .optional()
}

pub async fn account(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<AccountRow>> {
    ledger_accounts::table
        .find(id)
        .select(AccountRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn set_credit_limit(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    credit_limit: i64,
    now: DateTime<Utc>,
) -> QueryResult<Option<AccountRow>> {
    diesel::update(ledger_accounts::table.find(id))
        .set((
            ledger_accounts::credit_limit.eq(credit_limit),
            ledger_accounts::updated_at.eq(now),
        ))
        .returning(AccountRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// An account's entries in the order they changed its balance, newest first, before the entry
/// `before`.
pub async fn entries(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<EntryView>> {
    let mut query = ledger_entries::table
        .inner_join(transfers::table)
        .filter(ledger_entries::account_id.eq(account))
        .select((
            ledger_entries::id,
            ledger_entries::transfer_id,
            ledger_entries::amount,
            ledger_entries::balance_after,
            ledger_entries::created_at,
            transfers::kind,
            transfers::debit_account_id,
            transfers::credit_account_id,
            transfers::memo,
            transfers::reference,
            transfers::reverses_id,
        ))
        .order(ledger_entries::seq.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        // The entry a page ended at, read in the same statement: the cursor stays its id.
        let entries = diesel::alias!(ledger_entries as before_entry);
        query = query.filter(
            ledger_entries::seq.lt(entries
                .filter(entries.field(ledger_entries::id).eq(before))
                .filter(entries.field(ledger_entries::account_id).eq(account))
                .select(entries.field(ledger_entries::seq))
                .single_value()
                .assume_not_null()),
        );
    }
    query.load(conn).await
}

#[derive(QueryableByName)]
struct AccountId {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// Organisation accounts with money available and no demurrage charge for `period` yet.
pub async fn demurrage_candidates(
    conn: &mut AsyncPgConnection,
    period: &str,
) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<AccountId> = diesel::sql_query(
        "SELECT a.id FROM ledger_accounts a \
         WHERE a.organisation_id IS NOT NULL AND a.balance - a.held > 0 \
           AND NOT EXISTS (SELECT 1 FROM transfers t WHERE t.kind = 'demurrage' \
                           AND t.debit_account_id = a.id AND t.period = $1) \
         ORDER BY a.id",
    )
    .bind::<Text, _>(period)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// Whether the account was already charged demurrage for `period`.
pub async fn demurrage_charged(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    period: &str,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        transfers::table
            .filter(transfers::kind.eq("demurrage"))
            .filter(transfers::debit_account_id.eq(account))
            .filter(transfers::period.eq(period)),
    ))
    .get_result(conn)
    .await
}

#[derive(QueryableByName)]
struct Balance {
    #[diesel(sql_type = Nullable<BigInt>)]
    balance: Option<i64>,
}

/// The account's balance just before `at`: that after its last earlier entry, else 0.
pub async fn balance_before(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    at: DateTime<Utc>,
) -> QueryResult<i64> {
    let row: Balance = diesel::sql_query(
        "SELECT (SELECT balance_after FROM ledger_entries WHERE account_id = $1 AND created_at < $2 \
                 ORDER BY seq DESC LIMIT 1) AS balance",
    )
    .bind::<SqlUuid, _>(account)
    .bind::<diesel::sql_types::Timestamptz, _>(at)
    .get_result(conn)
    .await?;
    Ok(row.balance.unwrap_or(0))
}

/// The balances the account had after each movement in `[from, until)`.
pub async fn balances_between(
    conn: &mut AsyncPgConnection,
    account: Uuid,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> QueryResult<Vec<i64>> {
    ledger_entries::table
        .filter(ledger_entries::account_id.eq(account))
        .filter(ledger_entries::created_at.ge(from))
        .filter(ledger_entries::created_at.lt(until))
        .select(ledger_entries::balance_after)
        .load(conn)
        .await
}

/// One organisation's account in the overview: (organisation id, name, balance, held, credit
/// limit, monthly issuance cap).
pub type OverviewLine = (Uuid, String, i64, i64, i64, Option<i64>);

/// Every organisation's account, by organisation name; and the issuance account's balance
/// (minus all money issued less reversed).
pub async fn overview(conn: &mut AsyncPgConnection) -> QueryResult<(Vec<OverviewLine>, i64)> {
    let accounts = ledger_accounts::table
        .inner_join(organisations::table)
        .order(organisations::name)
        .select((
            organisations::id,
            organisations::name,
            ledger_accounts::balance,
            ledger_accounts::held,
            ledger_accounts::credit_limit,
            ledger_accounts::issuance_cap_per_month,
        ))
        .load(conn)
        .await?;
    let issuance: Option<i64> = ledger_accounts::table
        .filter(ledger_accounts::system_name.eq("issuance"))
        .select(ledger_accounts::balance)
        .first(conn)
        .await
        .optional()?;
    Ok((accounts, issuance.unwrap_or(0)))
}

/// Every balance of a currency adds up to zero; per account, to the sum of its entries. For
/// tests and the crash check: `(sum of balances, accounts whose balance is not the sum of
/// their entries, accounts below their limit, accounts whose held is not their pending sum)`.
pub async fn audit(conn: &mut AsyncPgConnection) -> QueryResult<BTreeMap<&'static str, i64>> {
    #[derive(diesel::QueryableByName)]
    struct Audit {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        total: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        unbalanced: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        below_limit: i64,
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        held_mismatch: i64,
    }
    let row: Audit = diesel::sql_query(AUDIT_SQL).get_result(conn).await?;
    Ok(BTreeMap::from([
        ("sum_of_balances", row.total),
        ("balance_not_sum_of_entries", row.unbalanced),
        ("below_credit_limit", row.below_limit),
        ("held_not_sum_of_pending", row.held_mismatch),
    ]))
}

/// The invariants as one query; `bench/ledger-crash.sh` reads it from here.
pub const AUDIT_SQL: &str = "\
SELECT \
  (SELECT coalesce(sum(balance), 0)::bigint FROM ledger_accounts) AS total, \
  (SELECT count(*) FROM ledger_accounts a WHERE a.balance <> \
     (SELECT coalesce(sum(e.amount), 0) FROM ledger_entries e WHERE e.account_id = a.id)) AS unbalanced, \
  (SELECT count(*) FROM ledger_accounts a WHERE a.system_name IS DISTINCT FROM 'issuance' \
     AND a.balance - a.held < -a.credit_limit) AS below_limit, \
  (SELECT count(*) FROM ledger_accounts a WHERE a.held <> \
     (SELECT coalesce(sum(t.amount), 0) FROM transfers t \
      WHERE t.debit_account_id = a.id AND t.status = 'pending')) AS held_mismatch";

/// Sets (or, with `None`, lifts) an account's monthly cap on issuance by the policy.
pub async fn set_issuance_cap(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    cap: Option<i64>,
    now: DateTime<Utc>,
) -> QueryResult<Option<AccountRow>> {
    diesel::update(ledger_accounts::table.find(id))
        .set((
            ledger_accounts::issuance_cap_per_month.eq(cap),
            ledger_accounts::updated_at.eq(now),
        ))
        .returning(AccountRow::as_returning())
        .get_result(conn)
        .await
        .optional()
}

/// A hand-over's claim to issuance (migration `issuance_claims`).
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = issuance_claims, check_for_backend(diesel::pg::Pg))]
pub struct ClaimRow {
    pub id: Uuid,
    pub reservation_id: Uuid,
    pub passport_id: Uuid,
    pub root_passport_id: Uuid,
    pub donor_id: Uuid,
    pub category_id: Uuid,
    pub mass_g: i64,
    pub quantity: i64,
    pub unit: String,
    pub grams_per_unit: i64,
    pub plausible_g_per_unit: Option<i64>,
    pub status: String,
    pub held_because: Option<String>,
    pub amount: i64,
    pub paid: i64,
    pub created_at: DateTime<Utc>,
    pub settled_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<Uuid>,
    pub decision_reason: Option<String>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = issuance_claims)]
pub struct NewClaimRow<'a> {
    pub id: Uuid,
    pub reservation_id: Uuid,
    pub passport_id: Uuid,
    pub root_passport_id: Uuid,
    pub donor_id: Uuid,
    pub category_id: Uuid,
    pub mass_g: i64,
    pub quantity: i64,
    pub unit: &'a str,
    pub grams_per_unit: i64,
    pub plausible_g_per_unit: Option<i64>,
    pub status: &'a str,
    pub created_at: DateTime<Utc>,
}

/// The changeable part of a claim: its settlement and the broker's decision.
#[derive(Debug, AsChangeset)]
#[diesel(table_name = issuance_claims)]
pub struct ClaimChanges<'a> {
    pub status: &'a str,
    pub held_because: Option<&'a str>,
    pub amount: i64,
    pub paid: i64,
    pub settled_at: Option<DateTime<Utc>>,
    pub decided_at: Option<DateTime<Utc>>,
    pub decided_by: Option<Uuid>,
    pub decision_reason: Option<&'a str>,
}

#[derive(QueryableByName)]
struct PassportId {
    #[diesel(sql_type = SqlUuid)]
    id: Uuid,
}

/// A passport and the passports it was split from, itself first and its root last.
pub async fn passport_lineage(
    conn: &mut AsyncPgConnection,
    passport_id: Uuid,
) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<PassportId> = diesel::sql_query(
        "WITH RECURSIVE up(id, parent_id, depth) AS ( \
             SELECT id, parent_id, 0 FROM passports WHERE id = $1 \
             UNION ALL \
             SELECT p.id, p.parent_id, up.depth + 1 \
             FROM passports p JOIN up ON p.id = up.parent_id WHERE up.depth < 10000) \
         SELECT id FROM up ORDER BY depth",
    )
    .bind::<SqlUuid, _>(passport_id)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|row| row.id).collect())
}

/// Whether any of `passports` has a claim to issuance already.
pub async fn any_claimed(conn: &mut AsyncPgConnection, passports: &[Uuid]) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        issuance_claims::table
            .filter(issuance_claims::passport_id.eq_any(passports))
            .select(issuance_claims::id),
    ))
    .get_result(conn)
    .await
}

/// Writes a claim unless its passport has one (the unique key decides between concurrent
/// hand-overs); whether it was written.
pub async fn insert_claim(
    conn: &mut AsyncPgConnection,
    row: &NewClaimRow<'_>,
) -> QueryResult<bool> {
    diesel::insert_into(issuance_claims::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(conn)
        .await
        .map(|written| written == 1)
}

/// The claim of a hand-over, locked until the transaction ends.
pub async fn lock_claim_of(
    conn: &mut AsyncPgConnection,
    reservation_id: Uuid,
) -> QueryResult<Option<ClaimRow>> {
    issuance_claims::table
        .filter(issuance_claims::reservation_id.eq(reservation_id))
        .select(ClaimRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// A claim by its id, locked until the transaction ends.
pub async fn lock_claim(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ClaimRow>> {
    issuance_claims::table
        .find(id)
        .select(ClaimRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn update_claim(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &ClaimChanges<'_>,
) -> QueryResult<ClaimRow> {
    diesel::update(issuance_claims::table.find(id))
        .set(changes)
        .returning(ClaimRow::as_returning())
        .get_result(conn)
        .await
}

/// A claim with its donor's name and its category's code, as the broker reads it.
pub type ClaimLine = (ClaimRow, String, String);

/// Claims with `status`, newest first, before `before`.
pub async fn claims_with_status(
    conn: &mut AsyncPgConnection,
    status: &str,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<ClaimLine>> {
    let mut query = issuance_claims::table
        .inner_join(organisations::table)
        .inner_join(categories::table)
        .filter(issuance_claims::status.eq(status))
        .select((ClaimRow::as_select(), organisations::name, categories::code))
        .order(issuance_claims::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(issuance_claims::id.lt(before));
    }
    query.load(conn).await
}

/// One claim with its donor's name and its category's code.
pub async fn claim_line(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<ClaimLine>> {
    issuance_claims::table
        .inner_join(organisations::table)
        .inner_join(categories::table)
        .filter(issuance_claims::id.eq(id))
        .select((ClaimRow::as_select(), organisations::name, categories::code))
        .first(conn)
        .await
        .optional()
}

#[derive(QueryableByName)]
struct ReservationId {
    #[diesel(sql_type = SqlUuid)]
    reservation_id: Uuid,
}

/// Hand-overs whose confirmation window passed before `now` without a word from the demander
/// and whose claim still awaits it: their reservations locked (the order confirming locks in:
/// the reservation, then its claim), skipping those another worker holds.
pub async fn lapsed_claims(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<Uuid>> {
    let rows: Vec<ReservationId> = diesel::sql_query(
        "SELECT r.id AS reservation_id FROM issuance_claims c \
         JOIN reservations r ON r.id = c.reservation_id \
         WHERE c.status = 'awaiting' AND r.confirm_by < $1 AND r.confirmation IS NULL \
         ORDER BY r.confirm_by, r.id LIMIT $2 \
         FOR UPDATE OF r SKIP LOCKED",
    )
    .bind::<diesel::sql_types::Timestamptz, _>(now)
    .bind::<BigInt, _>(limit)
    .load(conn)
    .await?;
    Ok(rows.into_iter().map(|row| row.reservation_id).collect())
}

#[derive(QueryableByName)]
struct Bounds {
    #[diesel(sql_type = Nullable<BigInt>)]
    density: Option<i64>,
    #[diesel(sql_type = Nullable<BigInt>)]
    max_kg: Option<i64>,
    #[diesel(sql_type = BigInt)]
    densest: i64,
}

/// What bounds a category's mass per unit: (the density of the nearest category's material up
/// the tree with a known one, the nearest heaviest plausible piece, the densest material
/// known), from the reference data of migration `issuance_claims`.
pub async fn mass_bounds(
    conn: &mut AsyncPgConnection,
    category_id: Uuid,
) -> QueryResult<(Option<i64>, Option<i64>, i64)> {
    let row: Bounds = diesel::sql_query(
        "WITH RECURSIVE up(id, parent_id, depth) AS ( \
             SELECT id, parent_id, 0 FROM categories WHERE id = $1 \
             UNION ALL \
             SELECT c.id, c.parent_id, up.depth + 1 \
             FROM categories c JOIN up ON c.id = up.parent_id WHERE up.depth < 32) \
         SELECT (SELECT m.density_kg_m3 FROM up \
                 JOIN category_mass_rules r ON r.category_id = up.id \
                 JOIN material_densities m ON m.material = r.material \
                 WHERE m.density_kg_m3 IS NOT NULL ORDER BY up.depth LIMIT 1)::int8 AS density, \
                (SELECT r.max_kg_per_piece FROM up \
                 JOIN category_mass_rules r ON r.category_id = up.id \
                 WHERE r.max_kg_per_piece IS NOT NULL ORDER BY up.depth LIMIT 1)::int8 AS max_kg, \
                (SELECT coalesce(max(density_kg_m3), 8900) FROM material_densities)::int8 AS densest",
    )
    .bind::<SqlUuid, _>(category_id)
    .get_result(conn)
    .await?;
    Ok((row.density, row.max_kg, row.densest))
}

#[derive(QueryableByName)]
struct Sum {
    #[diesel(sql_type = BigInt)]
    total: i64,
}

/// What an organisation was issued for hand-overs (transfers referring to `handover:…`) in
/// `[from, until)`, less nothing: a reversal does not give room under the cap back.
pub async fn issued_for_handovers_between(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    from: DateTime<Utc>,
    until: DateTime<Utc>,
) -> QueryResult<i64> {
    let row: Sum = diesel::sql_query(
        "SELECT coalesce(sum(amount), 0)::int8 AS total FROM transfers \
         WHERE kind = 'issuance' AND credit_account_id = $1 AND reference LIKE 'handover:%' \
           AND created_at >= $2 AND created_at < $3",
    )
    .bind::<SqlUuid, _>(organisation_id)
    .bind::<diesel::sql_types::Timestamptz, _>(from)
    .bind::<diesel::sql_types::Timestamptz, _>(until)
    .get_result(conn)
    .await?;
    Ok(row.total)
}
