//! Accounts: people, their organisations and what each may see of them.
//!
//! Signing up, the broker's verification and the platform's own organisation are in
//! [`organisations`]; logging in, refreshing and logging out in [`sessions`]; confirming an
//! e-mail address in [`verification`]; invitations, removing members and passing ownership on
//! in [`members`]; editing one's profile and the organisation's in [`profile`]; what the
//! service holds about a person, and deleting it, in [`privacy`].

pub mod credentials;
pub mod members;
pub mod organisations;
pub mod passwords;
pub mod privacy;
pub mod profile;
pub mod sessions;
pub mod verification;

use super::actor::Actor;
use super::error::{stored, AppError, AppResult};
use super::Ctx;
use crate::db::accounts::{self as q, OrganisationRow, UserRow};
use crate::domain::account::{Locale, OrgRole, OrganisationKind, OrganisationStatus};
use crate::domain::geo::Location;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

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
    /// Whether the address is confirmed (by the link mailed at registration); a broker verifies
    /// an organisation only once an owner's is.
    pub email_verified: bool,
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
            email_verified: row.email_verified_at.is_some(),
            created_at: row.created_at,
        })
    }
}
/// The actor behind a verified access token; `None` when the user no longer exists or was
/// removed from their organisation. Read on every request, so a removal or a change of role
/// holds from the next request on, whatever access tokens are still about.
pub async fn actor(ctx: &Ctx, user_id: Uuid) -> AppResult<Option<Actor>> {
    let mut conn = ctx.conn().await?;
    let Some((user, organisation)) = q::find_user_with_organisation(&mut conn, user_id).await?
    else {
        return Ok(None);
    };
    if user.removed_at.is_some() {
        return Ok(None);
    }
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
