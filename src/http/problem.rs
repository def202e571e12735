//! RFC 9457 problem details: the single mapping from every error, ours and actix's, to
//! `application/problem+json` with a stable `type` per kind.

use crate::app::error::{AppError, Conflict};
use crate::domain::validation::FieldError;
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::ServiceResponse;
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::ErrorHandlerResponse;
use actix_web::{HttpResponse, ResponseError};
use serde::Serialize;
use std::fmt;
use utoipa::ToSchema;

pub const PROBLEM_JSON: &str = "application/problem+json";
const TYPE_PREFIX: &str = "urn:kringloop:problem:";

/// Every kind of problem a client can receive: its `type` is `urn:kringloop:problem:<code>`.
/// This is the one list; the OpenAPI document's `ProblemType` schema is made from it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ProblemType {
    Validation,
    BadRequest,
    MalformedBody,
    InvalidQuery,
    Unauthenticated,
    InvalidCredentials,
    Forbidden,
    NotVerified,
    Suspended,
    NotFound,
    MethodNotAllowed,
    PayloadTooLarge,
    UnsupportedMediaType,
    PreconditionRequired,
    PreconditionFailed,
    IdempotencyKeyMissing,
    IdempotencyKeyInvalid,
    IdempotencyKeyReused,
    RateLimited,
    Unavailable,
    Internal,
    /// Any other status actix answers with; its title is the status's reason phrase.
    HttpError,
    Conflict(Conflict),
}

impl ProblemType {
    /// Every kind but the conflicts, which [`Conflict::ALL`] lists.
    const PLAIN: [ProblemType; 22] = [
        ProblemType::Validation,
        ProblemType::BadRequest,
        ProblemType::MalformedBody,
        ProblemType::InvalidQuery,
        ProblemType::Unauthenticated,
        ProblemType::InvalidCredentials,
        ProblemType::Forbidden,
        ProblemType::NotVerified,
        ProblemType::Suspended,
        ProblemType::NotFound,
        ProblemType::MethodNotAllowed,
        ProblemType::PayloadTooLarge,
        ProblemType::UnsupportedMediaType,
        ProblemType::PreconditionRequired,
        ProblemType::PreconditionFailed,
        ProblemType::IdempotencyKeyMissing,
        ProblemType::IdempotencyKeyInvalid,
        ProblemType::IdempotencyKeyReused,
        ProblemType::RateLimited,
        ProblemType::Unavailable,
        ProblemType::Internal,
        ProblemType::HttpError,
    ];

    pub fn all() -> impl Iterator<Item = ProblemType> {
        Self::PLAIN
            .into_iter()
            .chain(Conflict::ALL.iter().copied().map(ProblemType::Conflict))
    }

    /// The stable, machine-readable code.
    pub fn code(self) -> &'static str {
        match self {
            ProblemType::Validation => "validation",
            ProblemType::BadRequest => "bad-request",
            ProblemType::MalformedBody => "malformed-body",
            ProblemType::InvalidQuery => "invalid-query",
            ProblemType::Unauthenticated => "unauthenticated",
            ProblemType::InvalidCredentials => "invalid-credentials",
            ProblemType::Forbidden => "forbidden",
            ProblemType::NotVerified => "not-verified",
            ProblemType::Suspended => "organisation-suspended",
            ProblemType::NotFound => "not-found",
            ProblemType::MethodNotAllowed => "method-not-allowed",
            ProblemType::PayloadTooLarge => "payload-too-large",
            ProblemType::UnsupportedMediaType => "unsupported-media-type",
            ProblemType::PreconditionRequired => "precondition-required",
            ProblemType::PreconditionFailed => "precondition-failed",
            ProblemType::IdempotencyKeyMissing => "idempotency-key-missing",
            ProblemType::IdempotencyKeyInvalid => "idempotency-key-invalid",
            ProblemType::IdempotencyKeyReused => "idempotency-key-reused",
            ProblemType::RateLimited => "rate-limited",
            ProblemType::Unavailable => "unavailable",
            ProblemType::Internal => "internal",
            ProblemType::HttpError => "http-error",
            ProblemType::Conflict(conflict) => conflict.code(),
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            ProblemType::Validation => "Invalid fields",
            ProblemType::BadRequest => "Bad request",
            ProblemType::MalformedBody => "Malformed JSON body",
            ProblemType::InvalidQuery => "Invalid query parameters",
            ProblemType::Unauthenticated => "Authentication required",
            ProblemType::InvalidCredentials => "Invalid credentials",
            ProblemType::Forbidden => "Forbidden",
            ProblemType::NotVerified => "Organisation not verified",
            ProblemType::Suspended => "Organisation suspended",
            ProblemType::NotFound => "Not found",
            ProblemType::MethodNotAllowed => "Method not allowed",
            ProblemType::PayloadTooLarge => "Request body too large",
            ProblemType::UnsupportedMediaType => "Unsupported media type",
            ProblemType::PreconditionRequired => "Precondition required",
            ProblemType::PreconditionFailed => "Precondition failed",
            ProblemType::IdempotencyKeyMissing => "Idempotency-Key required",
            ProblemType::IdempotencyKeyInvalid => "Invalid Idempotency-Key",
            ProblemType::IdempotencyKeyReused => "Idempotency-Key reused",
            ProblemType::RateLimited => "Too many requests",
            ProblemType::Unavailable => "Service unavailable",
            ProblemType::Internal => "Internal error",
            ProblemType::HttpError => "Error",
            ProblemType::Conflict(conflict) => conflict.title(),
        }
    }

    /// The `type` member of the problem body.
    pub fn uri(self) -> String {
        format!("{TYPE_PREFIX}{}", self.code())
    }
}

impl utoipa::PartialSchema for ProblemType {
    fn schema() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
        use utoipa::openapi::schema::{ObjectBuilder, Type};
        ObjectBuilder::new()
            .schema_type(Type::String)
            .description(Some(
                "Every problem `type` a client can receive, `urn:kringloop:problem:<code>`.",
            ))
            .enum_values(Some(ProblemType::all().map(ProblemType::uri)))
            .into()
    }
}

impl ToSchema for ProblemType {}

/// A problem details body (RFC 9457).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable URI of the kind of problem, `urn:kringloop:problem:<kind>`.
    #[serde(rename = "type")]
    #[schema(value_type = ProblemType, example = "urn:kringloop:problem:validation")]
    pub type_uri: String,
    pub title: String,
    pub status: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub detail: Option<String>,
    /// One entry per invalid field, with a JSON pointer into the request.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub errors: Vec<ProblemField>,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ProblemField {
    /// JSON pointer (RFC 6901) to the field in the request body or query.
    pub pointer: String,
    /// Machine-readable reason, such as `required`, `too_long` or `out_of_range`.
    pub code: String,
    pub detail: String,
}

impl From<FieldError> for ProblemField {
    fn from(error: FieldError) -> Self {
        ProblemField {
            pointer: error.pointer,
            code: error.code.to_owned(),
            detail: error.detail,
        }
    }
}

/// An HTTP-level failure ready to be answered.
#[derive(Debug, Clone)]
pub struct HttpProblem {
    pub status: StatusCode,
    pub body: Problem,
    pub retry_after: Option<u64>,
}

impl HttpProblem {
    pub fn new(status: StatusCode, kind: ProblemType, detail: Option<String>) -> Self {
        HttpProblem {
            status,
            body: Problem {
                type_uri: kind.uri(),
                title: kind.title().to_owned(),
                status: status.as_u16(),
                detail,
                errors: Vec::new(),
            },
            retry_after: None,
        }
    }

    pub fn with_errors(mut self, errors: Vec<ProblemField>) -> Self {
        self.body.errors = errors;
        self
    }

    /// The generic problem for a bare status code, for failures that carry nothing more.
    pub fn for_status(status: StatusCode) -> Self {
        let kind = match status {
            StatusCode::BAD_REQUEST => ProblemType::BadRequest,
            StatusCode::UNAUTHORIZED => ProblemType::Unauthenticated,
            StatusCode::FORBIDDEN => ProblemType::Forbidden,
            StatusCode::NOT_FOUND => ProblemType::NotFound,
            StatusCode::METHOD_NOT_ALLOWED => ProblemType::MethodNotAllowed,
            StatusCode::PAYLOAD_TOO_LARGE => ProblemType::PayloadTooLarge,
            StatusCode::UNSUPPORTED_MEDIA_TYPE => ProblemType::UnsupportedMediaType,
            StatusCode::TOO_MANY_REQUESTS => ProblemType::RateLimited,
            StatusCode::SERVICE_UNAVAILABLE => ProblemType::Unavailable,
            status if status.is_server_error() => ProblemType::Internal,
            status => {
                let mut problem = HttpProblem::new(status, ProblemType::HttpError, None);
                if let Some(reason) = status.canonical_reason() {
                    problem.body.title = reason.to_owned();
                }
                return problem;
            }
        };
        HttpProblem::new(status, kind, None)
    }

    pub fn response(&self) -> HttpResponse {
        let mut response = HttpResponse::build(self.status);
        response.content_type(PROBLEM_JSON);
        if let Some(seconds) = self.retry_after {
            response.insert_header((header::RETRY_AFTER, seconds.to_string()));
        }
        if self.status == StatusCode::UNAUTHORIZED {
            response.insert_header((header::WWW_AUTHENTICATE, "Bearer"));
        }
        response.json(&self.body)
    }
}

impl fmt::Display for HttpProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{} {}", self.status, self.body.title)
    }
}

impl ResponseError for HttpProblem {
    fn status_code(&self) -> StatusCode {
        self.status
    }

    fn error_response(&self) -> HttpResponse {
        self.response()
    }
}

impl From<&AppError> for HttpProblem {
    fn from(error: &AppError) -> Self {
        let detail = Some(error.to_string());
        let (status, kind) = match error {
            AppError::Validation(errors) => {
                return HttpProblem::new(
                    StatusCode::UNPROCESSABLE_ENTITY,
                    ProblemType::Validation,
                    detail,
                )
                .with_errors(
                    errors
                        .clone()
                        .into_vec()
                        .into_iter()
                        .map(Into::into)
                        .collect(),
                )
            }
            AppError::BadRequest(_) => (StatusCode::BAD_REQUEST, ProblemType::BadRequest),
            AppError::UnsupportedMediaType(_) => (
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                ProblemType::UnsupportedMediaType,
            ),
            AppError::Unauthenticated(_) => {
                (StatusCode::UNAUTHORIZED, ProblemType::Unauthenticated)
            }
            AppError::InvalidCredentials => {
                (StatusCode::UNAUTHORIZED, ProblemType::InvalidCredentials)
            }
            AppError::Forbidden(_) => (StatusCode::FORBIDDEN, ProblemType::Forbidden),
            AppError::NotVerified => (StatusCode::FORBIDDEN, ProblemType::NotVerified),
            AppError::Suspended(_) => (StatusCode::FORBIDDEN, ProblemType::Suspended),
            AppError::NotFound(_) => (StatusCode::NOT_FOUND, ProblemType::NotFound),
            AppError::Conflict { kind, .. } => (StatusCode::CONFLICT, ProblemType::Conflict(*kind)),
            AppError::PreconditionRequired => (
                StatusCode::PRECONDITION_REQUIRED,
                ProblemType::PreconditionRequired,
            ),
            AppError::PreconditionFailed => (
                StatusCode::PRECONDITION_FAILED,
                ProblemType::PreconditionFailed,
            ),
            AppError::IdempotencyKeyMissing => {
                (StatusCode::BAD_REQUEST, ProblemType::IdempotencyKeyMissing)
            }
            AppError::IdempotencyKeyInvalid => {
                (StatusCode::BAD_REQUEST, ProblemType::IdempotencyKeyInvalid)
            }
            AppError::IdempotencyKeyReused => (
                StatusCode::UNPROCESSABLE_ENTITY,
                ProblemType::IdempotencyKeyReused,
            ),
            AppError::RateLimited { retry_after_secs } => {
                return HttpProblem {
                    retry_after: Some(*retry_after_secs),
                    ..HttpProblem::new(
                        StatusCode::TOO_MANY_REQUESTS,
                        ProblemType::RateLimited,
                        detail,
                    )
                }
            }
            // Both are passing states: the client may try again in a moment.
            AppError::Unavailable => {
                return HttpProblem {
                    retry_after: Some(1),
                    ..HttpProblem::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        ProblemType::Unavailable,
                        detail,
                    )
                }
            }
            AppError::Busy { retry_after_secs } => {
                return HttpProblem {
                    retry_after: Some(*retry_after_secs),
                    ..HttpProblem::new(
                        StatusCode::SERVICE_UNAVAILABLE,
                        ProblemType::Unavailable,
                        detail,
                    )
                }
            }
            AppError::Internal(source) => {
                // The cause goes to the log, never to the client.
                tracing::error!(error = ?source, "internal error");
                return HttpProblem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    ProblemType::Internal,
                    None,
                );
            }
        };
        HttpProblem::new(status, kind, detail)
    }
}

impl ResponseError for AppError {
    fn status_code(&self) -> StatusCode {
        HttpProblem::from(self).status
    }

    fn error_response(&self) -> HttpResponse {
        HttpProblem::from(self).response()
    }
}

/// Query strings that do not parse are a 400 naming what is wrong.
pub fn query_error(
    error: actix_web::error::QueryPayloadError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    HttpProblem::new(
        StatusCode::BAD_REQUEST,
        ProblemType::InvalidQuery,
        Some(error.to_string()),
    )
    .into()
}

/// A path segment that does not parse (a malformed id) names nothing that exists.
pub fn path_error(
    error: actix_web::error::PathError,
    _: &actix_web::HttpRequest,
) -> actix_web::Error {
    HttpProblem::new(
        StatusCode::NOT_FOUND,
        ProblemType::NotFound,
        Some(error.to_string()),
    )
    .into()
}

/// Last line of defence, as middleware: any error answer that is not JSON (actix's own 404,
/// 413, a panic's 500 …) is replaced by the problem for its status, keeping `Allow`. JSON
/// answers are the handlers' own: problems, or a health report.
pub fn ensure_problem<B: MessageBody>(
    res: ServiceResponse<B>,
) -> actix_web::Result<ErrorHandlerResponse<B>> {
    // Problems are already problem+json; the pages answer their errors as pages.
    let is_answered = res.headers().get(header::CONTENT_TYPE).is_some_and(|v| {
        v == PROBLEM_JSON || v == "application/json" || v.as_bytes().starts_with(b"text/html")
    });
    if is_answered {
        return Ok(ErrorHandlerResponse::Response(res.map_into_left_body()));
    }
    let status = res.status();
    let allow = res.headers().get(header::ALLOW).cloned();
    if status.is_server_error() {
        if let Some(error) = res.response().error() {
            tracing::error!(%error, "unhandled server error");
        }
    }
    let (request, _) = res.into_parts();
    let mut response = HttpProblem::for_status(status).response();
    if let Some(allow) = allow {
        response.headers_mut().insert(header::ALLOW, allow);
    }
    let response: HttpResponse<EitherBody<B>> = response.map_into_right_body();
    Ok(ErrorHandlerResponse::Response(ServiceResponse::new(
        request, response,
    )))
}

pub fn allow_header(methods: &[String]) -> HeaderValue {
    HeaderValue::from_str(&methods.join(", ")).unwrap_or_else(|_| HeaderValue::from_static("GET"))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_problem_type_is_listed_once() {
        let codes: Vec<&str> = ProblemType::all().map(ProblemType::code).collect();
        let unique: HashSet<&str> = codes.iter().copied().collect();
        assert_eq!(unique.len(), codes.len(), "{codes:?}");
        assert_eq!(codes.len(), ProblemType::PLAIN.len() + Conflict::ALL.len());
    }

    #[test]
    fn a_conflict_keeps_its_code_as_its_type() {
        let error = AppError::conflict(Conflict::OwnListing, "yours");
        let problem = HttpProblem::from(&error);
        assert_eq!(problem.status, StatusCode::CONFLICT);
        assert_eq!(problem.body.type_uri, "urn:kringloop:problem:own-listing");
        assert_eq!(problem.body.detail.as_deref(), Some("yours"));
    }

    #[test]
    fn an_unnamed_status_keeps_its_reason_as_title() {
        let problem = HttpProblem::for_status(StatusCode::IM_A_TEAPOT);
        assert_eq!(problem.body.type_uri, "urn:kringloop:problem:http-error");
        assert_eq!(problem.body.title, "I'm a teapot");
    }
}
