//! Rows and queries for organisations, users, refresh tokens and login failures.

use super::schema::{
    email_verifications, invitations, login_failures, organisations, password_resets,
    refresh_tokens, registration_attempts, users,
};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::Text;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

diesel::define_sql_function!(fn lower(x: Text) -> Text);

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = organisations, check_for_backend(diesel::pg::Pg))]
pub struct OrganisationRow {
    pub id: Uuid,
    pub name: String,
    pub kind: String,
    pub status: String,
    pub kvk_number: Option<String>,
    pub address: Option<String>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub verified_at: Option<DateTime<Utc>>,
    pub verified_by: Option<Uuid>,
    pub district_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = organisations)]
pub struct NewOrganisationRow<'a> {
    pub id: Uuid,
    pub name: &'a str,
    pub kind: &'a str,
    pub status: &'a str,
    pub kvk_number: Option<&'a str>,
    pub address: Option<&'a str>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub verified_at: Option<DateTime<Utc>>,
    pub district_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg))]
pub struct UserRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub email: String,
    pub password_hash: String,
    pub display_name: String,
    pub locale: String,
    pub org_role: String,
    pub is_broker: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub email_verified_at: Option<DateTime<Utc>>,
    pub removed_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = users)]
pub struct NewUserRow<'a> {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub email: &'a str,
    pub password_hash: &'a str,
    pub display_name: &'a str,
    pub locale: &'a str,
    pub org_role: &'a str,
    pub is_broker: bool,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub email_verified_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = refresh_tokens, check_for_backend(diesel::pg::Pg))]
pub struct RefreshTokenRow {
    pub id: Uuid,
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub expires_at: DateTime<Utc>,
    pub rotated_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = refresh_tokens)]
pub struct NewRefreshTokenRow<'a> {
    pub id: Uuid,
    pub family_id: Uuid,
    pub user_id: Uuid,
    pub token_hash: &'a [u8],
    pub issued_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_organisation(
    conn: &mut AsyncPgConnection,
    row: &NewOrganisationRow<'_>,
) -> QueryResult<OrganisationRow> {
    diesel::insert_into(organisations::table)
        .values(row)
        .returning(OrganisationRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn insert_user(
    conn: &mut AsyncPgConnection,
    row: &NewUserRow<'_>,
) -> QueryResult<UserRow> {
    diesel::insert_into(users::table)
        .values(row)
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn find_user_by_email(
    conn: &mut AsyncPgConnection,
    email: &str,
) -> QueryResult<Option<UserRow>> {
    users::table
        .filter(lower(users::email).eq(email.trim().to_lowercase()))
        .select(UserRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn find_user_with_organisation(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Option<(UserRow, OrganisationRow)>> {
    users::table
        .inner_join(organisations::table)
        .filter(users::id.eq(user_id))
        .filter(users::erased_at.is_null())
        .select((UserRow::as_select(), OrganisationRow::as_select()))
        .first(conn)
        .await
        .optional()
}

pub async fn find_organisation(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<OrganisationRow>> {
    organisations::table
        .find(id)
        .select(OrganisationRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// An organisation by its exact name (the first made, should two share it).
pub async fn find_organisation_by_name(
    conn: &mut AsyncPgConnection,
    name: &str,
) -> QueryResult<Option<OrganisationRow>> {
    organisations::table
        .filter(organisations::name.eq(name))
        .select(OrganisationRow::as_select())
        .order(organisations::created_at)
        .first(conn)
        .await
        .optional()
}

pub async fn lock_organisation(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<OrganisationRow>> {
    organisations::table
        .find(id)
        .select(OrganisationRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// An organisation's status, its row held `FOR SHARE` until the caller's transaction ends: a
/// change of status waits for the caller, and the caller for a change under way.
pub async fn share_organisation_status(
    conn: &mut AsyncPgConnection,
    id: Uuid,
) -> QueryResult<Option<String>> {
    organisations::table
        .find(id)
        .select(organisations::status)
        .for_share()
        .first(conn)
        .await
        .optional()
}

/// The platform's own organisation (the city's, brokers belong to it), locked for the
/// caller's transaction; `None` before the first broker is made.
pub async fn find_platform_organisation(
    conn: &mut AsyncPgConnection,
) -> QueryResult<Option<OrganisationRow>> {
    organisations::table
        .filter(organisations::is_platform)
        .select(OrganisationRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Marks an organisation as the platform's own (there is at most one, by a unique index).
pub async fn mark_platform(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::update(organisations::table.find(id))
        .set(organisations::is_platform.eq(true))
        .execute(conn)
        .await
        .map(drop)
}

/// Organisations in id (creation) order after `after`, optionally of one status.
pub async fn list_organisations(
    conn: &mut AsyncPgConnection,
    status: Option<&str>,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<OrganisationRow>> {
    let mut query = organisations::table
        .select(OrganisationRow::as_select())
        .order(organisations::id)
        .limit(limit)
        .into_boxed();
    if let Some(status) = status {
        query = query.filter(organisations::status.eq(status.to_owned()));
    }
    if let Some(after) = after {
        query = query.filter(organisations::id.gt(after));
    }
    query.load(conn).await
}

pub async fn set_organisation_status(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: &str,
    verified: Option<(DateTime<Utc>, Uuid)>,
    now: DateTime<Utc>,
) -> QueryResult<OrganisationRow> {
    diesel::update(organisations::table.find(id))
        .set((
            organisations::status.eq(status),
            organisations::verified_at.eq(verified.map(|(at, _)| at)),
            organisations::verified_by.eq(verified.map(|(_, by)| by)),
            organisations::updated_at.eq(now),
        ))
        .returning(OrganisationRow::as_returning())
        .get_result(conn)
        .await
}

/// The organisation's users, oldest first; not those an owner removed.
pub async fn members(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
) -> QueryResult<Vec<UserRow>> {
    users::table
        .filter(users::organisation_id.eq(organisation_id))
        .filter(users::erased_at.is_null())
        .filter(users::removed_at.is_null())
        .select(UserRow::as_select())
        .order(users::id)
        .load(conn)
        .await
}

pub async fn insert_refresh_token(
    conn: &mut AsyncPgConnection,
    row: &NewRefreshTokenRow<'_>,
) -> QueryResult<()> {
    diesel::insert_into(refresh_tokens::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// The token with this hash, locked until the transaction ends.
pub async fn lock_refresh_token(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
) -> QueryResult<Option<RefreshTokenRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshTokenRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn find_refresh_token(
    conn: &mut AsyncPgConnection,
    hash: &[u8],
) -> QueryResult<Option<RefreshTokenRow>> {
    refresh_tokens::table
        .filter(refresh_tokens::token_hash.eq(hash))
        .select(RefreshTokenRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn mark_rotated(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(refresh_tokens::table.find(id))
        .set(refresh_tokens::rotated_at.eq(now))
        .execute(conn)
        .await
        .map(drop)
}

/// Revokes every live token of a login session.
pub async fn revoke_family(
    conn: &mut AsyncPgConnection,
    family_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::family_id.eq(family_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
    .await
}

/// Revokes every live refresh token of a user: every session, API and browser alike, ends.
pub async fn revoke_user_tokens(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        refresh_tokens::table
            .filter(refresh_tokens::user_id.eq(user_id))
            .filter(refresh_tokens::revoked_at.is_null()),
    )
    .set(refresh_tokens::revoked_at.eq(now))
    .execute(conn)
    .await
}

pub async fn set_password_hash(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    password_hash: &str,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((
            users::password_hash.eq(password_hash),
            users::updated_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Forgets the failed logins into an account (its owner proved it by a reset link).
pub async fn clear_login_failures(conn: &mut AsyncPgConnection, email: &str) -> QueryResult<()> {
    let email = email.trim().to_lowercase();
    diesel::delete(login_failures::table.filter(lower(login_failures::email).eq(&email)))
        .execute(conn)
        .await
        .map(drop)
}

/// How many resets were asked for the user since `since`.
pub async fn count_password_resets(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    since: DateTime<Utc>,
) -> QueryResult<i64> {
    password_resets::table
        .filter(password_resets::user_id.eq(user_id))
        .filter(password_resets::created_at.gt(since))
        .count()
        .get_result(conn)
        .await
}

/// A table of single-use links (password resets, e-mail confirmations: `id`, `user_id`,
/// `token_hash`, `created_at`, `expires_at`, `used_at`): `$insert` stores a link's hash;
/// `$use_once` uses up the link with this hash, once, before it expires, and gives the user it
/// is for; of two claims at once only one gets it.
macro_rules! single_use_links {
    ($table:ident, $insert:ident, $use_once:ident) => {
        pub async fn $insert(
            conn: &mut AsyncPgConnection,
            id: Uuid,
            user_id: Uuid,
            token_hash: &[u8],
            now: DateTime<Utc>,
            expires_at: DateTime<Utc>,
        ) -> QueryResult<()> {
            diesel::insert_into($table::table)
                .values((
                    $table::id.eq(id),
                    $table::user_id.eq(user_id),
                    $table::token_hash.eq(token_hash),
                    $table::created_at.eq(now),
                    $table::expires_at.eq(expires_at),
                ))
                .execute(conn)
                .await
                .map(drop)
        }

        pub async fn $use_once(
            conn: &mut AsyncPgConnection,
            token_hash: &[u8],
            now: DateTime<Utc>,
        ) -> QueryResult<Option<Uuid>> {
            diesel::update(
                $table::table
                    .filter($table::token_hash.eq(token_hash))
                    .filter($table::used_at.is_null())
                    .filter($table::expires_at.gt(now)),
            )
            .set($table::used_at.eq(now))
            .returning($table::user_id)
            .get_result(conn)
            .await
            .optional()
        }
    };
}

single_use_links!(password_resets, insert_password_reset, use_password_reset);

/// The user a reset with this token hash is for, while it can still be used.
pub async fn password_reset_user(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<Uuid>> {
    password_resets::table
        .filter(password_resets::token_hash.eq(token_hash))
        .filter(password_resets::used_at.is_null())
        .filter(password_resets::expires_at.gt(now))
        .select(password_resets::user_id)
        .first(conn)
        .await
        .optional()
}

/// Locks the user's row until the transaction ends.
pub async fn lock_user(conn: &mut AsyncPgConnection, user_id: Uuid) -> QueryResult<()> {
    users::table
        .find(user_id)
        .select(users::id)
        .for_update()
        .first::<Uuid>(conn)
        .await
        .map(drop)
}

/// Takes an advisory lock on `key` until the caller's transaction ends: throttles that count
/// and then record are decided one at a time per key.
async fn lock_key(conn: &mut AsyncPgConnection, key: &str) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock(hashtextextended($1, 0))")
        .bind::<Text, _>(key)
        .execute(conn)
        .await
        .map(drop)
}

/// The times of the newest failures that block a login (newest first), per account and per
/// client address, when either has reached its limit.
#[derive(Debug)]
pub struct LoginBlocked {
    pub by_account: Vec<DateTime<Utc>>,
    pub by_address: Vec<DateTime<Utc>>,
}

/// A claimed login attempt: its failure row, and how many failures into the account (from any
/// address) came before it within the window.
#[derive(Debug, Clone, Copy)]
pub struct LoginAttempt {
    pub id: Uuid,
    pub account_failures: i64,
}

/// Claims a login attempt, atomically: under a lock per (account, client address) and then one
/// per client address (always in that order, so two claims never wait for each other
/// crosswise), counts the failures since `since` into this account from this address, and from
/// this address into any account, and, when both are below their limits, records this attempt
/// as a failure, which [`withdraw_login_failure`] takes back when the password turns out
/// right. So however many attempts arrive at once, no more than the limit are ever checked;
/// and someone guessing from one address does not lock the owner out at another.
#[allow(clippy::too_many_arguments)]
pub async fn claim_login_attempt(
    conn: &mut AsyncPgConnection,
    email: &str,
    client_addr: &str,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
    account_limit: i64,
    address_limit: i64,
) -> QueryResult<Result<LoginAttempt, LoginBlocked>> {
    let email = email.trim().to_lowercase();
    conn.transaction(async |conn| {
        lock_key(conn, &format!("login-account:{email}:{client_addr}")).await?;
        lock_key(conn, &format!("login-address:{client_addr}")).await?;
        let by_account: Vec<DateTime<Utc>> = login_failures::table
            .filter(lower(login_failures::email).eq(&email))
            .filter(login_failures::client_addr.eq(client_addr))
            .filter(login_failures::failed_at.gt(since))
            .order(login_failures::failed_at.desc())
            .limit(account_limit)
            .select(login_failures::failed_at)
            .load(conn)
            .await?;
        let by_address: Vec<DateTime<Utc>> = login_failures::table
            .filter(login_failures::client_addr.eq(client_addr))
            .filter(login_failures::failed_at.gt(since))
            .order(login_failures::failed_at.desc())
            .limit(address_limit)
            .select(login_failures::failed_at)
            .load(conn)
            .await?;
        if by_account.len() as i64 >= account_limit || by_address.len() as i64 >= address_limit {
            return Ok(Err(LoginBlocked {
                by_account,
                by_address,
            }));
        }
        let account_failures: i64 = login_failures::table
            .filter(lower(login_failures::email).eq(&email))
            .filter(login_failures::failed_at.gt(since))
            .count()
            .get_result(conn)
            .await?;
        let id = Uuid::now_v7();
        diesel::insert_into(login_failures::table)
            .values((
                login_failures::id.eq(id),
                login_failures::email.eq(&email),
                login_failures::client_addr.eq(client_addr),
                login_failures::failed_at.eq(now),
            ))
            .execute(conn)
            .await?;
        Ok(Ok(LoginAttempt {
            id,
            account_failures,
        }))
    })
    .await
}

/// Takes back an attempt [`claim_login_attempt`] recorded, once its password was right.
pub async fn withdraw_login_failure(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<()> {
    diesel::delete(login_failures::table.find(id))
        .execute(conn)
        .await
        .map(drop)
}

/// Claims a registration from a client address, atomically (as [`claim_login_attempt`]):
/// recorded when fewer than `limit` were made from it since `since`; otherwise the time the
/// oldest of those counted leaves the window's start.
pub async fn claim_registration(
    conn: &mut AsyncPgConnection,
    client_addr: &str,
    now: DateTime<Utc>,
    since: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Result<(), DateTime<Utc>>> {
    conn.transaction(async |conn| {
        lock_key(conn, &format!("register-address:{client_addr}")).await?;
        let recent: Vec<DateTime<Utc>> = registration_attempts::table
            .filter(registration_attempts::client_addr.eq(client_addr))
            .filter(registration_attempts::attempted_at.gt(since))
            .order(registration_attempts::attempted_at.desc())
            .limit(limit)
            .select(registration_attempts::attempted_at)
            .load(conn)
            .await?;
        if recent.len() as i64 >= limit {
            if let Some(oldest) = recent.last() {
                return Ok(Err(*oldest));
            }
        }
        diesel::insert_into(registration_attempts::table)
            .values((
                registration_attempts::id.eq(Uuid::now_v7()),
                registration_attempts::client_addr.eq(client_addr),
                registration_attempts::attempted_at.eq(now),
            ))
            .execute(conn)
            .await?;
        Ok(Ok(()))
    })
    .await
}

/// Deletes what no longer counts: refresh tokens expired before `token_cutoff`, and login
/// failures and registration attempts older than `failure_cutoff` (a day past any window).
pub async fn purge_expired(
    conn: &mut AsyncPgConnection,
    token_cutoff: DateTime<Utc>,
    failure_cutoff: DateTime<Utc>,
) -> QueryResult<(usize, usize)> {
    let tokens =
        diesel::delete(refresh_tokens::table.filter(refresh_tokens::expires_at.lt(token_cutoff)))
            .execute(conn)
            .await?;
    let failures =
        diesel::delete(login_failures::table.filter(login_failures::failed_at.lt(failure_cutoff)))
            .execute(conn)
            .await?;
    let registrations = diesel::delete(
        registration_attempts::table.filter(registration_attempts::attempted_at.lt(failure_cutoff)),
    )
    .execute(conn)
    .await?;
    Ok((tokens, failures + registrations))
}

#[derive(Debug, Clone, Queryable, Selectable, AsChangeset)]
#[diesel(table_name = users, check_for_backend(diesel::pg::Pg), treat_none_as_null = true)]
pub struct NotificationSettingsRow {
    pub email_notifications: bool,
    pub digest: String,
    pub quiet_start_hour: Option<i16>,
    pub quiet_end_hour: Option<i16>,
}

pub async fn notification_settings(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<NotificationSettingsRow> {
    users::table
        .find(user_id)
        .select(NotificationSettingsRow::as_select())
        .first(conn)
        .await
}

pub async fn set_notification_settings(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    settings: &NotificationSettingsRow,
    now: DateTime<Utc>,
) -> QueryResult<NotificationSettingsRow> {
    diesel::update(users::table.find(user_id))
        .set((settings, users::updated_at.eq(now)))
        .returning(NotificationSettingsRow::as_returning())
        .get_result(conn)
        .await
}

/// Sets a user's display name and language.
pub async fn set_profile(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    display_name: &str,
    locale: &str,
    now: DateTime<Utc>,
) -> QueryResult<UserRow> {
    diesel::update(users::table.find(user_id))
        .set((
            users::display_name.eq(display_name),
            users::locale.eq(locale),
            users::updated_at.eq(now),
        ))
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
}

/// An organisation's editable profile, as it is to be stored.
#[derive(Debug, Clone, AsChangeset)]
#[diesel(table_name = organisations, treat_none_as_null = true)]
pub struct OrganisationProfileChange<'a> {
    pub name: &'a str,
    pub address: Option<&'a str>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    pub district_id: Option<Uuid>,
    pub updated_at: DateTime<Utc>,
}

pub async fn set_organisation_profile(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    change: &OrganisationProfileChange<'_>,
) -> QueryResult<OrganisationRow> {
    diesel::update(organisations::table.find(id))
        .set(change)
        .returning(OrganisationRow::as_returning())
        .get_result(conn)
        .await
}

/// The user's row, locked until the transaction ends.
pub async fn lock_user_row(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Option<UserRow>> {
    users::table
        .find(user_id)
        .select(UserRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

pub async fn set_role(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    role: &str,
    now: DateTime<Utc>,
) -> QueryResult<UserRow> {
    diesel::update(users::table.find(user_id))
        .set((users::org_role.eq(role), users::updated_at.eq(now)))
        .returning(UserRow::as_returning())
        .get_result(conn)
        .await
}

/// Marks a user removed from their organisation.
pub async fn mark_removed(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(users::table.find(user_id))
        .set((users::removed_at.eq(now), users::updated_at.eq(now)))
        .execute(conn)
        .await
        .map(drop)
}

/// The account of a removed user, admitted again: into `organisation_id` with `role`, with a new
/// name, language and password, its address verified (the invitation reached it).
#[allow(clippy::too_many_arguments)]
pub async fn readmit_user(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    organisation_id: Uuid,
    role: &str,
    password_hash: &str,
    display_name: &str,
    locale: &str,
    now: DateTime<Utc>,
) -> QueryResult<UserRow> {
    diesel::update(
        users::table
            .find(user_id)
            .filter(users::removed_at.is_not_null()),
    )
    .set((
        users::organisation_id.eq(organisation_id),
        users::org_role.eq(role),
        users::password_hash.eq(password_hash),
        users::display_name.eq(display_name),
        users::locale.eq(locale),
        users::removed_at.eq(None::<DateTime<Utc>>),
        users::email_verified_at.eq(Some(now)),
        users::updated_at.eq(now),
    ))
    .returning(UserRow::as_returning())
    .get_result(conn)
    .await
}

/// Whether a live owner of the organisation has a verified e-mail address.
pub async fn has_verified_owner(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        users::table
            .filter(users::organisation_id.eq(organisation_id))
            .filter(users::org_role.eq("owner"))
            .filter(users::removed_at.is_null())
            .filter(users::email_verified_at.is_not_null()),
    ))
    .get_result(conn)
    .await
}

pub async fn set_email_verified(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(
        users::table
            .find(user_id)
            .filter(users::email_verified_at.is_null()),
    )
    .set(users::email_verified_at.eq(now))
    .execute(conn)
    .await
    .map(drop)
}

/// How many verification links the user was sent since `since`.
pub async fn count_email_verifications(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    since: DateTime<Utc>,
) -> QueryResult<Vec<DateTime<Utc>>> {
    email_verifications::table
        .filter(email_verifications::user_id.eq(user_id))
        .filter(email_verifications::created_at.gt(since))
        .order(email_verifications::created_at)
        .select(email_verifications::created_at)
        .load(conn)
        .await
}

single_use_links!(
    email_verifications,
    insert_email_verification,
    use_email_verification
);

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = invitations, check_for_backend(diesel::pg::Pg))]
pub struct InvitationRow {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub email: String,
    pub role: String,
    pub invited_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
    pub accepted_at: Option<DateTime<Utc>>,
    pub revoked_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = invitations)]
pub struct NewInvitationRow<'a> {
    pub id: Uuid,
    pub organisation_id: Uuid,
    pub email: &'a str,
    pub role: &'a str,
    pub token_hash: &'a [u8],
    pub invited_by: Uuid,
    pub created_at: DateTime<Utc>,
    pub expires_at: DateTime<Utc>,
}

pub async fn insert_invitation(
    conn: &mut AsyncPgConnection,
    row: &NewInvitationRow<'_>,
) -> QueryResult<InvitationRow> {
    diesel::insert_into(invitations::table)
        .values(row)
        .returning(InvitationRow::as_returning())
        .get_result(conn)
        .await
}

/// Revokes the organisation's open invitations to `email` (a newer one replaces them).
pub async fn revoke_invitations_to(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    email: &str,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        invitations::table
            .filter(invitations::organisation_id.eq(organisation_id))
            .filter(lower(invitations::email).eq(email.trim().to_lowercase()))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null()),
    )
    .set(invitations::revoked_at.eq(now))
    .execute(conn)
    .await
}

/// Revokes one of the organisation's open invitations; false when there is no such open one.
pub async fn revoke_invitation(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::update(
        invitations::table
            .find(id)
            .filter(invitations::organisation_id.eq(organisation_id))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null()),
    )
    .set(invitations::revoked_at.eq(now))
    .execute(conn)
    .await
    .map(|n| n == 1)
}

/// The organisation's invitations that can still be accepted, newest first.
pub async fn open_invitations(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Vec<InvitationRow>> {
    invitations::table
        .filter(invitations::organisation_id.eq(organisation_id))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
        .filter(invitations::expires_at.gt(now))
        .order(invitations::created_at.desc())
        .select(InvitationRow::as_select())
        .load(conn)
        .await
}

/// The invitation with this token hash while it can still be accepted.
pub async fn usable_invitation(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<InvitationRow>> {
    invitations::table
        .filter(invitations::token_hash.eq(token_hash))
        .filter(invitations::accepted_at.is_null())
        .filter(invitations::revoked_at.is_null())
        .filter(invitations::expires_at.gt(now))
        .select(InvitationRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Uses up the invitation with this token hash, once, while it can still be accepted; of two
/// claims at once only one gets it.
pub async fn accept_invitation(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<Option<InvitationRow>> {
    diesel::update(
        invitations::table
            .filter(invitations::token_hash.eq(token_hash))
            .filter(invitations::accepted_at.is_null())
            .filter(invitations::revoked_at.is_null())
            .filter(invitations::expires_at.gt(now)),
    )
    .set(invitations::accepted_at.eq(now))
    .returning(InvitationRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Records who accepted an invitation.
pub async fn set_invitation_accepted_by(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    user_id: Uuid,
) -> QueryResult<()> {
    diesel::update(invitations::table.find(id))
        .set(invitations::accepted_by.eq(user_id))
        .execute(conn)
        .await
        .map(drop)
}

/// Whether a verification link with this token hash can still be used.
pub async fn email_verification_usable(
    conn: &mut AsyncPgConnection,
    token_hash: &[u8],
    now: DateTime<Utc>,
) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        email_verifications::table
            .filter(email_verifications::token_hash.eq(token_hash))
            .filter(email_verifications::used_at.is_null())
            .filter(email_verifications::expires_at.gt(now)),
    ))
    .get_result(conn)
    .await
}
