//! Rows and queries for what kringloop holds about a person: read whole for their export, and
//! wiped when they delete their account (the row of the user stays, nameless, for what refers
//! to it: the ledger, reservations, wishes, the audit log).

use super::schema::{
    audit_log, email_verifications, invitations, login_failures, organisations, outbox,
    password_resets, refresh_tokens, reservations, users, wishes,
};
use chrono::{DateTime, NaiveDate, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

/// Everything the users table holds about a person, but the password's hash.
#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct PersonRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub locale: String,
    pub org_role: String,
    pub is_broker: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub email_notifications: bool,
    pub digest: String,
    pub quiet_start_hour: Option<i16>,
    pub quiet_end_hour: Option<i16>,
    pub last_digest_on: Option<NaiveDate>,
    pub email_verified_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::pg::Pg))]
pub struct SessionRow {
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = password_resets, check_for_backend(diesel::pg::Pg))]
pub struct ResetRow {
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub used_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = login_failures, check_for_backend(diesel::pg::Pg))]
pub struct LoginFailureRow {
    pub failed_at: DateTime<Utc>,
    pub client_addr: String,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct NotificationRow {
    pub id: Uuid,
    pub event: String,
    pub channel: String,
    pub status: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    pub read_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log, check_for_backend(diesel::pg::Pg))]
pub struct ActionRow {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub action: String,
    pub object_kind: String,
    pub object_id: Option<Uuid>,
}

/// The person, locked until the transaction ends; `None` once erased.
pub async fn lock_person(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<PersonRow>> {
    users::table
        .find(id)
        .filter(users::erased_at.is_null())
        .select(PersonRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn person(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<PersonRow>> {
    users::table
        .find(id)
        .filter(users::erased_at.is_null())
        .select(PersonRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn sessions(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<Vec<SessionRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::user_id.eq(user_id))
        .select(SessionRow::as_select())
        .order(refresh_tokens::issued_at)
        .load(conn)
        .await
}

pub async fn password_resets(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Vec<ResetRow>> {
    password_resets::table
        .filter(password_resets::user_id.eq(user_id))
        .select(ResetRow::as_select())
        .order(password_resets::created_at)
        .load(conn)
        .await
}

/// The links sent to confirm the person's address: (sent, expires, used).
pub async fn email_confirmations(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Vec<(DateTime<Utc>, DateTime<Utc>, Option<DateTime<Utc>>)>> {
    email_verifications::table
        .filter(email_verifications::user_id.eq(user_id))
        .select((
            email_verifications::created_at,
            email_verifications::expires_at,
            email_verifications::used_at,
        ))
        .order(email_verifications::created_at)
        .load(conn)
        .await
}

pub async fn login_failures(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> QueryResult<Vec<LoginFailureRow>> {
    login_failures::table
        .filter(login_failures::email.eq(email))
        .select(LoginFailureRow::as_select())
        .order(login_failures::failed_at)
        .load(conn)
        .await
}

pub async fn notifications(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Vec<NotificationRow>> {
    outbox::table
        .filter(outbox::recipient_user_id.eq(user_id))
        .select(NotificationRow::as_select())
        .order(outbox::created_at)
        .load(conn)
        .await
}

/// The wishes the person wrote for their organisation: (id, written at).
pub async fn wishes_written(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Vec<(Uuid, DateTime<Utc>)>> {
    wishes::table
        .filter(wishes::created_by.eq(user_id))
        .select((wishes::id, wishes::created_at))
        .order(wishes::created_at)
        .load(conn)
        .await
}

/// The reservations the person made for their organisation: (id, listing, made at).
pub async fn reservations_made(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Vec<(Uuid, Uuid, DateTime<Utc>)>> {
    reservations::table
        .filter(reservations::reserved_by.eq(user_id))
        .select((
            reservations::id,
            reservations::listing_id,
            reservations::created_at,
        ))
        .order(reservations::created_at)
        .load(conn)
        .await
}

/// What the person did as the city's broker.
pub async fn broker_actions(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Vec<ActionRow>> {
    audit_log::table
        .filter(audit_log::broker_id.eq(user_id))
        .select(ActionRow::as_select())
        .order(audit_log::at)
        .load(conn)
        .await
}

/// Brokers who have not erased their account.
pub async fn brokers(conn: &mut AsyncPgConnection) -> QueryResult<i64> {
    users::table
        .filter(users::is_broker.eq(true))
        .filter(users::erased_at.is_null())
        .count()
        .get_result(conn)
        .await
}

/// Wipes the person: address, name, password and settings gone, every session ended, reset
/// and confirmation links, open invitations to their address, recorded login failures and
/// notifications deleted.
pub async fn erase(
    conn: &mut AsyncPgConnection,
    person: &PersonRow,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    let placeholder = format!("erased-{}@erased.invalid", person.id);
    diesel::update(users::table.find(person.id))
        .set((
            users::email.eq(placeholder),
            users::display_name.eq("Verwijderde gebruiker"),
            users::password_hash.eq("!erased"),
            users::email_notifications.eq(false),
            users::quiet_start_hour.eq(None::<i16>),
            users::quiet_end_hour.eq(None::<i16>),
            users::erased_at.eq(now),
            users::updated_at.eq(now),
        ))
        .execute(conn)
        .await?;
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(person.id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
    .await?;
    diesel::delete(password_resets::table.filter(password_resets::user_id.eq(person.id)))
        .execute(conn)
        .await?;
    diesel::delete(email_verifications::table.filter(email_verifications::user_id.eq(person.id)))
        .execute(conn)
        .await?;
    // Invitations still open to the person's address (accepted ones name the account, which
    // is now nameless).
    diesel::delete(
        invitations::table
            .filter(invitations::email.eq(&person.email))
            .filter(invitations::accepted_at.is_null()),
    )
    .execute(conn)
    .await?;
    diesel::delete(login_failures::table.filter(login_failures::email.eq(&person.email)))
        .execute(conn)
        .await?;
    diesel::delete(outbox::table.filter(outbox::recipient_user_id.eq(person.id)))
        .execute(conn)
        .await?;
    Ok(())
}

/// Takes what may name a person off an organisation that no one is left in (a sole trader's
/// name, address and registration number) and sets its `status`; its district stays for the
/// flows.
pub async fn close_organisation(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    name: &str,
    status: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(organisations::table.find(id))
        .set((
            organisations::name.eq(name),
            organisations::address.eq(None::<String>),
            organisations::lat.eq(None::<f64>),
            organisations::lon.eq(None::<f64>),
            organisations::kvk_number.eq(None::<String>),
            organisations::status.eq(status),
            organisations::updated_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(drop)
}
