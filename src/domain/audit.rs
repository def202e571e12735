//! The broker's audit log: every action a broker takes on the market, the kind of object each
//! acts on, and the reason a broker gives.

use super::validation::{bounded_text, Invalid};
use serde::{Deserialize, Serialize};

/// Everything a broker does that changes the market; each is written to the audit log in the
/// transaction that does it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditAction {
    /// Verified an organisation (or reinstated a suspended one).
    VerifyOrganisation,
    /// Set an organisation back to unverified.
    UnverifyOrganisation,
    SuspendOrganisation,
    CreateCategory,
    UpdateCategory,
    DeleteCategory,
    /// Uploaded a new set of districts.
    ReplaceDistricts,
    ConfigureCurrency,
    /// Issued local money to an organisation.
    IssueMoney,
    ReverseTransfer,
    SetCreditLimit,
    /// Set or lifted an organisation's monthly cap on issuance by the policy.
    SetIssuanceCap,
    /// Paid a hand-over's issuance that was held for review.
    ApproveIssuance,
    /// Refused a hand-over's issuance that was held for review.
    RejectIssuance,
    /// Sent a failed notification again.
    RetryOutbox,
    HideListing,
    RestoreListing,
    HideWish,
    RestoreWish,
}

text_enum!(AuditAction {
    VerifyOrganisation => "verify_organisation",
    UnverifyOrganisation => "unverify_organisation",
    SuspendOrganisation => "suspend_organisation",
    CreateCategory => "create_category",
    UpdateCategory => "update_category",
    DeleteCategory => "delete_category",
    ReplaceDistricts => "replace_districts",
    ConfigureCurrency => "configure_currency",
    IssueMoney => "issue_money",
    ReverseTransfer => "reverse_transfer",
    SetCreditLimit => "set_credit_limit",
    SetIssuanceCap => "set_issuance_cap",
    ApproveIssuance => "approve_issuance",
    RejectIssuance => "reject_issuance",
    RetryOutbox => "retry_outbox",
    HideListing => "hide_listing",
    RestoreListing => "restore_listing",
    HideWish => "hide_wish",
    RestoreWish => "restore_wish",
});

/// What an audited action acts on; the entry's `object_id` is its id (none for the districts
/// and the currency, of which there is one set).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum AuditObject {
    Organisation,
    Category,
    Districts,
    Currency,
    /// An organisation's account in the local currency, by the organisation's id.
    Account,
    Transfer,
    /// A queued notification.
    Outbox,
    Listing,
    Wish,
    /// A hand-over's claim to issuance.
    IssuanceClaim,
}

text_enum!(AuditObject {
    Organisation => "organisation",
    Category => "category",
    Districts => "districts",
    Currency => "currency",
    Account => "account",
    Transfer => "transfer",
    Outbox => "outbox",
    Listing => "listing",
    Wish => "wish",
    IssuanceClaim => "issuance_claim",
});

impl AuditAction {
    /// The kind of object the action acts on.
    pub fn object(self) -> AuditObject {
        use AuditAction as A;
        match self {
            A::VerifyOrganisation | A::UnverifyOrganisation | A::SuspendOrganisation => {
                AuditObject::Organisation
            }
            A::CreateCategory | A::UpdateCategory | A::DeleteCategory => AuditObject::Category,
            A::ReplaceDistricts => AuditObject::Districts,
            A::ConfigureCurrency => AuditObject::Currency,
            A::IssueMoney | A::SetCreditLimit | A::SetIssuanceCap => AuditObject::Account,
            A::ApproveIssuance | A::RejectIssuance => AuditObject::IssuanceClaim,
            A::ReverseTransfer => AuditObject::Transfer,
            A::RetryOutbox => AuditObject::Outbox,
            A::HideListing | A::RestoreListing => AuditObject::Listing,
            A::HideWish | A::RestoreWish => AuditObject::Wish,
        }
    }
}

/// Why a broker did something, as the audit log keeps it and the one concerned is told:
/// 1 to 500 characters, trimmed, without control characters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(transparent)]
pub struct Reason(String);

impl Reason {
    pub const MAX_CHARS: usize = 500;

    pub fn parse(raw: &str) -> Result<Reason, Invalid> {
        bounded_text(raw, 1, Self::MAX_CHARS).map(Reason)
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn into_string(self) -> String {
        self.0
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_action_has_its_own_name_and_an_object() {
        let names: HashSet<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
        assert_eq!(names.len(), AuditAction::ALL.len());
        for action in AuditAction::ALL {
            assert_eq!(action.as_str().parse::<AuditAction>().unwrap(), *action);
            let json = serde_json::to_value(action).unwrap();
            assert_eq!(json, action.as_str(), "serde and the stored text agree");
            assert!(AuditObject::ALL.contains(&action.object()));
        }
    }

    #[test]
    fn a_reason_is_trimmed_and_bounded() {
        assert_eq!(Reason::parse("  spam ").unwrap().as_str(), "spam");
        assert!(Reason::parse("   ").is_err());
        assert!(Reason::parse(&"x".repeat(500)).is_ok());
        assert!(Reason::parse(&"x".repeat(501)).is_err());
        assert!(Reason::parse("a\u{7}b").is_err());
    }
}
