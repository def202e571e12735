//! Who is asking: the authenticated user, their organisation and its standing.

use super::error::{AppError, AppResult};
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
