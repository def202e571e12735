//! Who is asking: the authenticated user, their organisation and its standing.

use super::error::{AppError, AppResult};
use crate::db::accounts as accounts_q;
use crate::db::Conn;
use crate::domain::account::{Locale, OrgRole, OrganisationStatus};
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
    /// Listing, wishing and reserving need an organisation the broker has verified (and has not
    /// suspended).
    pub fn require_verified(&self) -> AppResult<()> {
        standing(self.organisation_status, OrganisationStatus::Verified)
    }

    /// Every change to the market (listings, wishes, passports, reservations, matches,
    /// payments) is refused to a suspended organisation; reading is not.
    pub fn require_active(&self) -> AppResult<()> {
        standing(self.organisation_status, OrganisationStatus::Unverified)
    }

    /// What only an organisation's owners may do: its members, its details and settings, and
    /// paying from its account. `refusal` is what a member is told.
    pub fn require_owner(&self, refusal: &'static str) -> AppResult<()> {
        if self.org_role == OrgRole::Owner {
            Ok(())
        } else {
            Err(AppError::Forbidden(refusal))
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

/// `status` allows what needs at least `needed` (verified, or merely not suspended).
fn standing(status: OrganisationStatus, needed: OrganisationStatus) -> AppResult<()> {
    match (status, needed) {
        (OrganisationStatus::Suspended, _) => Err(AppError::Suspended(
            "your organisation is suspended by the city's materials broker; nothing can be \
             changed until the suspension is lifted",
        )),
        (OrganisationStatus::Unverified, OrganisationStatus::Verified) => {
            Err(AppError::NotVerified)
        }
        _ => Ok(()),
    }
}

/// [`Actor::require_verified`] again inside the caller's transaction, holding the organisation
/// row (`FOR SHARE`) until it ends: a suspension committed after the actor was read cannot slip
/// a new listing, wish or reservation past it, since suspending waits for this lock and then
/// sees what was written under it.
pub async fn still_verified(conn: &mut Conn, actor: &Actor) -> AppResult<()> {
    let status = accounts_q::share_organisation_status(conn, actor.organisation_id)
        .await?
        .ok_or(AppError::Unauthenticated(
            "the organisation no longer exists",
        ))?;
    let status = super::error::stored(&status)?;
    standing(status, OrganisationStatus::Verified)
}
