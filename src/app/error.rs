//! The one enum of things that can go wrong in a use case; `http::problem` maps it to HTTP.

use crate::domain::validation::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the request has invalid fields")]
    Validation(FieldErrors),
    #[error("{0}")]
    BadRequest(String),
    /// An upload whose bytes are not of a type taken here, or not of the type it says.
    #[error("{0}")]
    UnsupportedMediaType(String),
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("e-mail address or password is wrong")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the organisation must be verified by the city's materials broker first")]
    NotVerified,
    /// The actor's organisation, or the one whose listing it reaches for, is suspended.
    #[error("{0}")]
    Suspended(&'static str),
    #[error("no {0} with that id")]
    NotFound(&'static str),
    #[error("{detail}")]
    Conflict { kind: Conflict, detail: String },
    #[error("send If-Match with the version (ETag) you read")]
    PreconditionRequired,
    #[error("the resource has changed since you read it; read it again")]
    PreconditionFailed,
    #[error(
        "send an Idempotency-Key header (1 to 255 visible ASCII characters) with this request"
    )]
    IdempotencyKeyMissing,
    #[error("the Idempotency-Key header must be 1 to 255 visible ASCII characters")]
    IdempotencyKeyInvalid,
    #[error("this Idempotency-Key was already used for a different request")]
    IdempotencyKeyReused,
    #[error("too many attempts; try again in {retry_after_secs} seconds")]
    RateLimited { retry_after_secs: u64 },
    #[error("the database is not reachable right now")]
    Unavailable,
    #[error("the service is busy; try again in {retry_after_secs} seconds")]
    Busy { retry_after_secs: u64 },
    #[error("internal error")]
    Internal(#[source] anyhow::Error),
}

pub type AppResult<T> = Result<T, AppError>;

/// Declares [`Conflict`] with, per kind, its stable code and its title, and `ALL`.
macro_rules! conflicts {
    ($($(#[doc = $doc:literal])* $variant:ident => $code:literal, $title:literal;)+) => {
        /// Every way a request can conflict with the state it meets (409). The code is part of
        /// the problem `type` a client receives (`urn:kringloop:problem:<code>`), so it never
        /// changes; `http::problem` maps them all in one place.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Conflict {
            $($(#[doc = $doc])* $variant,)+
        }

        impl Conflict {
            pub const ALL: &'static [Conflict] = &[$(Conflict::$variant),+];

            /// The stable, machine-readable code.
            pub fn code(self) -> &'static str {
                match self { $(Conflict::$variant => $code),+ }
            }

            /// A short human-readable summary, the same for every occurrence.
            pub fn title(self) -> &'static str {
                match self { $(Conflict::$variant => $title),+ }
            }
        }
    };
}

conflicts! {
    /// An organisation tried to reserve its own listing.
    OwnListing => "own-listing", "Own listing";
    /// Less is left of the listing than was asked for, or it is no longer on offer.
    NotEnoughLeft => "not-enough-left", "Not enough left";
    ReservationNotHeld => "reservation-not-held", "Reservation not held";
    /// The hand-over was already confirmed or disputed, or its window has passed.
    NotAwaitingConfirmation => "not-awaiting-confirmation", "Not awaiting confirmation";
    /// A passport with hazardous substances needs a clearance before it is listed publicly.
    HazardNotCleared => "hazard-not-cleared", "Hazard not cleared";
    ListingNotEditable => "listing-not-editable", "Listing not editable";
    /// The listing's lifecycle does not allow this change from its status.
    IllegalTransition => "illegal-transition", "Illegal transition";
    MatchNotOpen => "match-not-open", "Match not open";
    BundleNotProposed => "bundle-not-proposed", "Bundle not proposed";
    /// Only a failed notification can be retried.
    NotFailed => "not-failed", "Notification not failed";
    CodeTaken => "code-taken", "Code taken";
    CategoryInUse => "category-in-use", "Category in use";
    CurrencyInUse => "currency-in-use", "Currency in use";
    InsufficientFunds => "insufficient-funds", "Insufficient funds";
    /// The pending transfer was already posted or voided.
    TransferSettled => "transfer-settled", "Transfer already settled";
    NotReversible => "not-reversible", "Transfer not reversible";
    AlreadyReversed => "already-reversed", "Transfer already reversed";
    EmailTaken => "email-taken", "E-mail address taken";
    /// The broker hid the listing or wish: its owner cannot change it until it is restored,
    /// and it cannot be hidden twice.
    Hidden => "hidden-by-broker", "Hidden by the broker";
    /// Only a hidden listing or wish can be restored.
    NotHidden => "not-hidden", "Not hidden";
    /// The city's last broker cannot delete their account: make another broker first.
    LastBroker => "last-broker", "Last broker";
    /// Only an issuance claim held for review can be approved or rejected.
    IssuanceNotHeld => "issuance-not-held", "Issuance not held";
    /// The organisation's owner has not confirmed their e-mail address yet, so the broker
    /// cannot verify it.
    EmailNotVerified => "email-not-verified", "E-mail address not verified";
    /// The address is confirmed already; no new link is sent.
    EmailAlreadyVerified => "email-already-verified", "E-mail address already verified";
    /// The organisation would be left without an owner: pass ownership on first.
    LastOwner => "last-owner", "Last owner";
    /// The address already belongs to a member of this organisation.
    AlreadyMember => "already-member", "Already a member";
    /// The address has an account in another organisation; a person belongs to one.
    MemberElsewhere => "member-of-another-organisation", "Member of another organisation";
    /// The platform's own organisation (the brokers') cannot be unverified or suspended.
    PlatformOrganisation => "platform-organisation", "The platform's own organisation";
}

impl AppError {
    pub fn conflict(kind: Conflict, detail: impl Into<String>) -> AppError {
        AppError::Conflict {
            kind,
            detail: detail.into(),
        }
    }
}

impl From<FieldErrors> for AppError {
    fn from(errors: FieldErrors) -> Self {
        AppError::Validation(errors)
    }
}

impl From<diesel::result::Error> for AppError {
    fn from(error: diesel::result::Error) -> Self {
        use diesel::result::{DatabaseErrorKind, Error};
        match error {
            Error::NotFound => AppError::NotFound("resource"),
            // Two transactions that locked rows in opposite orders: PostgreSQL rolled one back
            // whole, so nothing happened and the client may retry (with its Idempotency-Key).
            Error::DatabaseError(DatabaseErrorKind::SerializationFailure, _) => {
                AppError::Unavailable
            }
            Error::DatabaseError(DatabaseErrorKind::Unknown, info)
                if info.message().starts_with("deadlock detected") =>
            {
                tracing::warn!(message = info.message(), "a transaction lost a deadlock");
                AppError::Unavailable
            }
            other => AppError::Internal(other.into()),
        }
    }
}

impl From<diesel_async::pooled_connection::deadpool::PoolError> for AppError {
    fn from(error: diesel_async::pooled_connection::deadpool::PoolError) -> Self {
        tracing::warn!(%error, "no database connection");
        AppError::Unavailable
    }
}

impl From<tokio::task::JoinError> for AppError {
    fn from(error: tokio::task::JoinError) -> Self {
        AppError::Internal(error.into())
    }
}

/// A value read back from the database in its text form; one that does not parse means the
/// database holds what this build does not know.
pub fn stored<T: std::str::FromStr>(text: &str) -> AppResult<T> {
    text.parse()
        .map_err(|_| AppError::Internal(anyhow::anyhow!("unexpected stored value {text:?}")))
}

/// True when `error` is a unique violation of the named constraint or index.
pub fn is_unique_violation(error: &crate::db::Error, constraint: &str) -> bool {
    crate::db::broke(error, crate::db::Rule::Unique, constraint)
}

#[cfg(test)]
mod tests {
    use super::Conflict;
    use std::collections::HashSet;

    #[test]
    fn every_conflict_has_its_own_code() {
        let codes: HashSet<&str> = Conflict::ALL.iter().map(|c| c.code()).collect();
        assert_eq!(codes.len(), Conflict::ALL.len());
        for conflict in Conflict::ALL {
            let code = conflict.code();
            assert!(
                code.bytes().all(|b| b.is_ascii_lowercase() || b == b'-'),
                "{code} is not kebab-case"
            );
        }
    }
}
