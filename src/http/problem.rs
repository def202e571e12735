//! RFC 9457 problem details: the single mapping from every error, ours and actix's, to
//! `application/problem+json` with a stable `type` per kind.

use crate::app::error::AppError;
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

/// A problem details body (RFC 9457).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Problem {
    /// Stable URI of the kind of problem, `urn:kringloop:problem:<kind>`.
    #[serde(rename = "type")]
    #[schema(example = "urn:kringloop:problem:validation")]
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
    pub fn new(status: StatusCode, kind: &str, title: &str, detail: Option<String>) -> Self {
        HttpProblem {
            status,
            body: Problem {
                type_uri: format!("{TYPE_PREFIX}{kind}"),
                title: title.to_owned(),
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
        let (kind, title) = match status {
            StatusCode::BAD_REQUEST => ("bad-request", "Bad request"),
            StatusCode::UNAUTHORIZED => ("unauthenticated", "Authentication required"),
            StatusCode::FORBIDDEN => ("forbidden", "Forbidden"),
            StatusCode::NOT_FOUND => ("not-found", "Not found"),
            StatusCode::METHOD_NOT_ALLOWED => ("method-not-allowed", "Method not allowed"),
            StatusCode::PAYLOAD_TOO_LARGE => ("payload-too-large", "Request body too large"),
            StatusCode::UNSUPPORTED_MEDIA_TYPE => {
                ("unsupported-media-type", "Unsupported media type")
            }
            StatusCode::TOO_MANY_REQUESTS => ("rate-limited", "Too many requests"),
            StatusCode::SERVICE_UNAVAILABLE => ("unavailable", "Service unavailable"),
            status if status.is_server_error() => ("internal", "Internal error"),
            _ => ("http-error", status.canonical_reason().unwrap_or("Error")),
        };
        HttpProblem::new(status, kind, title, None)
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
        match error {
            AppError::Validation(errors) => HttpProblem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "validation",
                "Invalid fields",
                detail,
            )
            .with_errors(
                errors
                    .clone()
                    .into_vec()
                    .into_iter()
                    .map(Into::into)
                    .collect(),
            ),
            AppError::BadRequest(_) => HttpProblem::new(
                StatusCode::BAD_REQUEST,
                "bad-request",
                "Bad request",
                detail,
            ),
            AppError::Unauthenticated(_) => HttpProblem::new(
                StatusCode::UNAUTHORIZED,
                "unauthenticated",
                "Authentication required",
                detail,
            ),
            AppError::InvalidCredentials => HttpProblem::new(
                StatusCode::UNAUTHORIZED,
                "invalid-credentials",
                "Invalid credentials",
                detail,
            ),
            AppError::Forbidden(_) => {
                HttpProblem::new(StatusCode::FORBIDDEN, "forbidden", "Forbidden", detail)
            }
            AppError::NotVerified => HttpProblem::new(
                StatusCode::FORBIDDEN,
                "not-verified",
                "Organisation not verified",
                detail,
            ),
            AppError::NotFound(_) => {
                HttpProblem::new(StatusCode::NOT_FOUND, "not-found", "Not found", detail)
            }
            AppError::Conflict { code, .. } => {
                HttpProblem::new(StatusCode::CONFLICT, code, "Conflict", detail)
            }
            AppError::PreconditionRequired => HttpProblem::new(
                StatusCode::PRECONDITION_REQUIRED,
                "precondition-required",
                "Precondition required",
                detail,
            ),
            AppError::PreconditionFailed => HttpProblem::new(
                StatusCode::PRECONDITION_FAILED,
                "precondition-failed",
                "Precondition failed",
                detail,
            ),
            AppError::IdempotencyKeyMissing => HttpProblem::new(
                StatusCode::BAD_REQUEST,
                "idempotency-key-missing",
                "Idempotency-Key required",
                detail,
            ),
            AppError::IdempotencyKeyInvalid => HttpProblem::new(
                StatusCode::BAD_REQUEST,
                "idempotency-key-invalid",
                "Invalid Idempotency-Key",
                detail,
            ),
            AppError::IdempotencyKeyReused => HttpProblem::new(
                StatusCode::UNPROCESSABLE_ENTITY,
                "idempotency-key-reused",
                "Idempotency-Key reused",
                detail,
            ),
            AppError::RateLimited { retry_after_secs } => HttpProblem {
                retry_after: Some(*retry_after_secs),
                ..HttpProblem::new(
                    StatusCode::TOO_MANY_REQUESTS,
                    "rate-limited",
                    "Too many requests",
                    detail,
                )
            },
            AppError::Unavailable => HttpProblem {
                retry_after: Some(1),
                ..HttpProblem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                    detail,
                )
            },
            AppError::Busy { retry_after_secs } => HttpProblem {
                retry_after: Some(*retry_after_secs),
                ..HttpProblem::new(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "unavailable",
                    "Service unavailable",
                    detail,
                )
            },
            AppError::Internal(source) => {
                // The cause goes to the log, never to the client.
                tracing::error!(error = ?source, "internal error");
                HttpProblem::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    "Internal error",
                    None,
                )
            }
        }
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
        "invalid-query",
        "Invalid query parameters",
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
        "not-found",
        "Not found",
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
    let is_json = res
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v == PROBLEM_JSON || v == "application/json");
    if is_json {
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
