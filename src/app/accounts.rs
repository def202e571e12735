//! Accounts: registering, logging in, sessions, profiles and the broker's verification.

use super::error::{is_unique_violation, stored, AppError, AppResult};
use super::notifications::notify;
use super::paging::{id_cursor, page_size, split};
use super::tokens::{hash_refresh_token, new_refresh_token};
use super::Ctx;
use crate::db::accounts::{
    self as q, NewOrganisationRow, NewRefreshTokenRow, NewUserRow, OrganisationRow, UserRow,
};
use crate::domain::account::{
    Email, Locale, OrgRole, OrganisationKind, OrganisationStatus, Password, Registration,
};
use crate::domain::geo::Location;
use crate::domain::validation::bounded_text;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use chrono::{DateTime, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use serde::Serialize;
use std::sync::OnceLock;
use utoipa::ToSchema;
use uuid::Uuid;

/// Who is asking: the authenticated user and the standing of their organisation.
#[derive(Debug, Clone)]
pub struct Actor {
    pub user_id: Uuid,
    pub organisation_id: Uuid,
    pub organisation_status: OrganisationStatus,
    pub org_role: OrgRole,
    pub is_broker: bool,
    pub locale: Locale,
}

impl Actor {
    /// Listing, wishing and reserving need an organisation the broker has verified.
    pub fn require_verified(&self) -> AppResult<()> {
        match self.organisation_status {
            OrganisationStatus::Verified => Ok(()),
            _ => Err(AppError::NotVerified),
        }
    }

    pub fn require_broker(&self) -> AppResult<()> {
        if self.is_broker {
            Ok(())
        } else {
            Err(AppError::Forbidden(
                "only the city's materials broker may do this",
            ))
        }
    }
}

/// A user as they see themselves.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct User {
    pub id: Uuid,
    pub email: String,
    pub display_name: String,
    pub locale: Locale,
    pub role: OrgRole,
    /// True for the city's materials broker (a platform role).
    pub is_broker: bool,
    pub created_at: DateTime<Utc>,
}

/// An organisation's public profile.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Organisation {
    pub id: Uuid,
    pub name: String,
    pub kind: OrganisationKind,
    pub status: OrganisationStatus,
    pub kvk_number: Option<String>,
    pub address: Option<String>,
    pub location: Option<Location>,
    pub verified_at: Option<DateTime<Utc>>,
    /// The district of the organisation's location.
    pub district_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
}

/// A member as others see them; the e-mail address only for their own organisation and brokers.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Member {
    pub id: Uuid,
    pub display_name: String,
    pub role: OrgRole,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub email: Option<String>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OrganisationProfile {
    #[serde(flatten)]
    pub organisation: Organisation,
    pub members: Vec<Member>,
}

/// The signed-in user and their organisation.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Me {
    pub user: User,
    pub organisation: Organisation,
}

/// A new session's tokens.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct TokenPair {
    pub access_token: String,
    /// Always `Bearer`.
    pub token_type: &'static str,
    /// Seconds until the access token expires.
    pub expires_in: i64,
    /// Single use: each refresh returns a new one and retires this.
    pub refresh_token: String,
    /// Seconds until the refresh token expires.
    pub refresh_expires_in: i64,
}

pub use super::paging::Page;

impl TryFrom<OrganisationRow> for Organisation {
    type Error = AppError;

    fn try_from(row: OrganisationRow) -> AppResult<Self> {
        Ok(Organisation {
            id: row.id,
            kind: stored(&row.kind)?,
            status: stored(&row.status)?,
            name: row.name,
            kvk_number: row.kvk_number,
            address: row.address,
            location: row.lat.zip(row.lon).map(|(lat, lon)| Location { lat, lon }),
            verified_at: row.verified_at,
            district_id: row.district_id,
            created_at: row.created_at,
        })
    }
}

impl TryFrom<UserRow> for User {
    type Error = AppError;

    fn try_from(row: UserRow) -> AppResult<Self> {
        Ok(User {
            id: row.id,
            locale: stored(&row.locale)?,
            role: stored(&row.org_role)?,
            email: row.email,
            display_name: row.display_name,
            is_broker: row.is_broker,
            created_at: row.created_at,
        })
    }
}

async fn hash_password(password: Password) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| AppError::Internal(anyhow::anyhow!("hashing failed: {error}")))
    })
    .await?
}

/// Checks `password` against `stored`, or against a decoy hash when there is no such user, so
/// that an unknown address takes as long to refuse as a wrong password.
async fn verify_password(stored: Option<String>, password: String) -> AppResult<bool> {
    static DECOY: OnceLock<String> = OnceLock::new();
    tokio::task::spawn_blocking(move || {
        let decoy = DECOY.get_or_init(|| {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(b"kringloop decoy password", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        });
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| decoy.clone());
        let matches = PasswordHash::new(&phc)
            .map(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false);
        known && matches
    })
    .await
    .map_err(Into::into)
}

/// Signs up a person and founds their (unverified) organisation.
pub async fn register(ctx: &Ctx, registration: Registration) -> AppResult<Me> {
    let password_hash = hash_password(registration.password.clone()).await?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let district_id = match registration.organisation.location {
        Some(location) => super::districts::index(&mut conn)
            .await?
            .locate(location.lat, location.lon),
        None => None,
    };
    let result = conn
        .transaction::<_, diesel::result::Error, _>(async move |conn| {
            let org = &registration.organisation;
            let organisation = q::insert_organisation(
                conn,
                &NewOrganisationRow {
                    id: Uuid::now_v7(),
                    name: &org.name,
                    kind: org.kind.as_str(),
                    status: OrganisationStatus::Unverified.as_str(),
                    kvk_number: org.kvk_number.as_ref().map(|k| k.as_str()),
                    address: org.address.as_deref(),
                    lat: org.location.map(|l| l.lat),
                    lon: org.location.map(|l| l.lon),
                    verified_at: None,
                    district_id,
                    created_at: now,
                    updated_at: now,
                },
            )
            .await?;
            let user = q::insert_user(
                conn,
                &NewUserRow {
                    id: Uuid::now_v7(),
                    organisation_id: organisation.id,
                    email: registration.email.as_str(),
                    password_hash: &password_hash,
                    display_name: &registration.display_name,
                    locale: registration.locale.as_str(),
                    org_role: OrgRole::Owner.as_str(),
                    is_broker: false,
                    created_at: now,
                    updated_at: now,
                },
            )
            .await?;
            Ok((user, organisation))
        })
        .await;
    match result {
        Ok((user, organisation)) => Ok(Me {
            user: user.try_into()?,
            organisation: organisation.try_into()?,
        }),
        Err(error) if is_unique_violation(&error, "users_email_key") => Err(AppError::Conflict {
            code: "email-taken",
            detail: "an account with this e-mail address already exists".into(),
        }),
        Err(error) => Err(error.into()),
    }
}

/// Exchanges e-mail address and password for a new session, throttling guessing.
pub async fn login(
    ctx: &Ctx,
    email: &str,
    password: String,
    client_addr: &str,
) -> AppResult<TokenPair> {
    let now = ctx.now();
    let policy = &ctx.policy;
    let mut conn = ctx.conn().await?;
    let (by_account, by_address) = q::recent_login_failures(
        &mut conn,
        email,
        client_addr,
        now - policy.login_window,
        policy.login_max_failures_per_account,
        policy.login_max_failures_per_address,
    )
    .await?;
    // The limit lifts when the oldest of the newest `max` failures leaves the window.
    let blocked_until = [
        (by_account, policy.login_max_failures_per_account),
        (by_address, policy.login_max_failures_per_address),
    ]
    .into_iter()
    .filter(|(failures, max)| failures.len() as i64 >= *max)
    .filter_map(|(failures, _)| failures.last().map(|oldest| *oldest + policy.login_window))
    .max();
    if let Some(until) = blocked_until {
        let retry_after_secs = (until - now).num_seconds().max(1) as u64;
        return Err(AppError::RateLimited { retry_after_secs });
    }

    let user = q::find_user_by_email(&mut conn, email).await?;
    let verified =
        verify_password(user.as_ref().map(|u| u.password_hash.clone()), password).await?;
    match user {
        Some(user) if verified => start_session(ctx, &mut conn, user.id, now).await,
        _ => {
            q::record_login_failure(&mut conn, email, client_addr, now).await?;
            Err(AppError::InvalidCredentials)
        }
    }
}

async fn start_session(
    ctx: &Ctx,
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<TokenPair> {
    issue_tokens(ctx, conn, user_id, Uuid::now_v7(), now).await
}

async fn issue_tokens(
    ctx: &Ctx,
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    family_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<TokenPair> {
    let (refresh_token, hash) = new_refresh_token();
    let ttl = ctx.policy.refresh_token_ttl;
    q::insert_refresh_token(
        conn,
        &NewRefreshTokenRow {
            id: Uuid::now_v7(),
            family_id,
            user_id,
            token_hash: &hash,
            issued_at: now,
            expires_at: now + ttl,
        },
    )
    .await?;
    Ok(TokenPair {
        access_token: ctx.tokens.issue(user_id, now)?,
        token_type: "Bearer",
        expires_in: ctx.tokens.ttl.num_seconds(),
        refresh_token,
        refresh_expires_in: ttl.num_seconds(),
    })
}

enum Rotation {
    Rotated(TokenPair),
    Refused(&'static str),
}

/// Rotates a refresh token. A token that was already rotated revokes its whole session:
/// someone holds a copy that should not exist.
pub async fn refresh(ctx: &Ctx, refresh_token: &str) -> AppResult<TokenPair> {
    let now = ctx.now();
    let hash = hash_refresh_token(refresh_token);
    let mut conn = ctx.conn().await?;
    let outcome = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let Some(token) = q::lock_refresh_token(conn, &hash).await? else {
                return Ok(Rotation::Refused("the refresh token is not valid"));
            };
            if token.revoked_at.is_some() {
                return Ok(Rotation::Refused("the session has ended"));
            }
            if token.rotated_at.is_some() {
                q::revoke_family(conn, token.family_id, now).await?;
                tracing::warn!(user_id = %token.user_id, "refresh token reused; session revoked");
                return Ok(Rotation::Refused(
                    "the refresh token was already used; the session has been ended",
                ));
            }
            if token.expires_at <= now {
                return Ok(Rotation::Refused("the refresh token has expired"));
            }
            q::mark_rotated(conn, token.id, now).await?;
            let pair = issue_tokens(ctx, conn, token.user_id, token.family_id, now).await?;
            Ok(Rotation::Rotated(pair))
        })
        .await?;
    match outcome {
        Rotation::Rotated(pair) => Ok(pair),
        Rotation::Refused(why) => Err(AppError::Unauthenticated(why)),
    }
}

/// Ends the session that `refresh_token` belongs to, when it is the actor's.
pub async fn logout(ctx: &Ctx, actor: &Actor, refresh_token: &str) -> AppResult<()> {
    let mut conn = ctx.conn().await?;
    if let Some(token) =
        q::find_refresh_token(&mut conn, &hash_refresh_token(refresh_token)).await?
    {
        if token.user_id == actor.user_id {
            q::revoke_family(&mut conn, token.family_id, ctx.now()).await?;
        }
    }
    Ok(())
}

/// The actor behind a verified access token; `None` when the user no longer exists.
pub async fn actor(ctx: &Ctx, user_id: Uuid) -> AppResult<Option<Actor>> {
    let mut conn = ctx.conn().await?;
    let Some((user, organisation)) = q::find_user_with_organisation(&mut conn, user_id).await?
    else {
        return Ok(None);
    };
    Ok(Some(Actor {
        user_id: user.id,
        organisation_id: organisation.id,
        organisation_status: stored(&organisation.status)?,
        org_role: stored(&user.org_role)?,
        is_broker: user.is_broker,
        locale: stored(&user.locale)?,
    }))
}

pub async fn me(ctx: &Ctx, actor: &Actor) -> AppResult<Me> {
    let mut conn = ctx.conn().await?;
    let (user, organisation) = q::find_user_with_organisation(&mut conn, actor.user_id)
        .await?
        .ok_or(AppError::NotFound("user"))?;
    Ok(Me {
        user: user.try_into()?,
        organisation: organisation.try_into()?,
    })
}

/// An organisation's public profile; members' e-mail addresses only for its own members and
/// for brokers.
pub async fn organisation_profile(
    ctx: &Ctx,
    actor: &Actor,
    id: Uuid,
) -> AppResult<OrganisationProfile> {
    let mut conn = ctx.conn().await?;
    let organisation = q::find_organisation(&mut conn, id)
        .await?
        .ok_or(AppError::NotFound("organisation"))?;
    let show_email = actor.organisation_id == id || actor.is_broker;
    let members = q::members(&mut conn, id)
        .await?
        .into_iter()
        .map(|user| {
            Ok(Member {
                id: user.id,
                role: stored(&user.org_role)?,
                display_name: user.display_name,
                email: show_email.then_some(user.email),
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(OrganisationProfile {
        organisation: organisation.try_into()?,
        members,
    })
}

/// Organisations for the broker's review, oldest first.
pub async fn list_organisations(
    ctx: &Ctx,
    actor: &Actor,
    status: Option<OrganisationStatus>,
    cursor: Option<&str>,
    limit: u32,
) -> AppResult<Page<Organisation>> {
    actor.require_broker()?;
    let after = id_cursor(cursor)?;
    let limit = page_size(limit);
    let mut conn = ctx.conn().await?;
    let rows = q::list_organisations(
        &mut conn,
        status.map(OrganisationStatus::as_str),
        after,
        limit + 1,
    )
    .await?;
    let (rows, more) = split(rows, limit);
    let items = rows
        .into_iter()
        .map(Organisation::try_from)
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Page::new(items, more, |o| o.id.to_string()))
}

/// The broker verifies or suspends an organisation; its owners are told.
pub async fn set_organisation_status(
    ctx: &Ctx,
    actor: &Actor,
    id: Uuid,
    status: OrganisationStatus,
) -> AppResult<Organisation> {
    actor.require_broker()?;
    let now = ctx.now();
    let broker = actor.user_id;
    let mut conn = ctx.conn().await?;
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
                let current = q::lock_organisation(conn, id).await?.ok_or(AppError::NotFound("organisation"))?;
                if current.status == status.as_str() {
                    return Ok(current);
                }
                let verified = match status {
                    OrganisationStatus::Verified => Some((now, broker)),
                    _ => None,
                };
                let updated = q::set_organisation_status(conn, id, status.as_str(), verified, now).await?;
                let owners: Vec<Uuid> = q::members(conn, id)
                    .await?
                    .into_iter()
                    .filter(|user| user.org_role == OrgRole::Owner.as_str())
                    .map(|user| user.id)
                    .collect();
                let event = format!("organisation_{}", status.as_str());
                let payload = serde_json::json!({ "organisation_id": id, "name": updated.name, "status": status });
                notify(conn, &event, &now.timestamp_micros().to_string(), &owners, &payload, now).await?;
                Ok(updated)
        })
        .await?;
    row.try_into()
}

/// Makes a broker account (from the command line), in a verified municipality organisation
/// of the given name, created when missing.
pub async fn create_broker(
    ctx: &Ctx,
    email: &str,
    password: &str,
    display_name: &str,
    organisation_name: &str,
) -> AppResult<User> {
    let mut errors = crate::domain::validation::FieldErrors::new();
    let email = errors.take("/email", Email::parse(email));
    let password = errors.take("/password", Password::parse(password));
    let display_name = errors.take("/display_name", bounded_text(display_name, 1, 100));
    let organisation_name = errors.take("/organisation", bounded_text(organisation_name, 1, 200));
    let (Some(email), Some(password), Some(display_name), Some(organisation_name)) =
        (email, password, display_name, organisation_name)
    else {
        return Err(AppError::Validation(errors));
    };
    let password_hash = hash_password(password).await?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let result = conn
        .transaction::<_, diesel::result::Error, _>(async move |conn| {
            let organisation = match q::find_municipality_by_name(conn, &organisation_name).await? {
                Some(existing) => existing,
                None => {
                    q::insert_organisation(
                        conn,
                        &NewOrganisationRow {
                            id: Uuid::now_v7(),
                            name: &organisation_name,
                            kind: OrganisationKind::Municipality.as_str(),
                            status: OrganisationStatus::Verified.as_str(),
                            kvk_number: None,
                            address: None,
                            lat: None,
                            lon: None,
                            verified_at: Some(now),
                            district_id: None,
                            created_at: now,
                            updated_at: now,
                        },
                    )
                    .await?
                }
            };
            q::insert_user(
                conn,
                &NewUserRow {
                    id: Uuid::now_v7(),
                    organisation_id: organisation.id,
                    email: email.as_str(),
                    password_hash: &password_hash,
                    display_name: &display_name,
                    locale: Locale::Nl.as_str(),
                    org_role: OrgRole::Owner.as_str(),
                    is_broker: true,
                    created_at: now,
                    updated_at: now,
                },
            )
            .await
        })
        .await;
    match result {
        Ok(user) => user.try_into(),
        Err(error) if is_unique_violation(&error, "users_email_key") => Err(AppError::Conflict {
            code: "email-taken",
            detail: "an account with this e-mail address already exists".into(),
        }),
        Err(error) => Err(error.into()),
    }
}
