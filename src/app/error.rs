//! The one enum of things that can go wrong in a use case; `http::problem` maps it to HTTP.

use crate::domain::validation::FieldErrors;

#[derive(Debug, thiserror::Error)]
pub enum AppError {
    #[error("the request has invalid fields")]
    Validation(FieldErrors),
    #[error("{0}")]
    BadRequest(String),
    #[error("{0}")]
    Unauthenticated(&'static str),
    #[error("e-mail address or password is wrong")]
    InvalidCredentials,
    #[error("{0}")]
    Forbidden(&'static str),
    #[error("the organisation must be verified by the city's materials broker first")]
    NotVerified,
    #[error("no {0} with that id")]
    NotFound(&'static str),
    #[error("{detail}")]
    Conflict { code: &'static str, detail: String },
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
