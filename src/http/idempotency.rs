//! The `Idempotency-Key` header as an extractor, and answering with a stored or fresh answer.

use crate::app::error::{AppError, AppResult};
use crate::app::idempotency::{Answer, IdempotencyKey, KeyedRequest};
use actix_web::dev::Payload;
use actix_web::http::header::{HeaderName, HeaderValue, CONTENT_TYPE};
use actix_web::http::StatusCode;
use actix_web::{FromRequest, HttpRequest, HttpResponse};
use futures_util::future::{ready, Ready};
use serde::Serialize;
use uuid::Uuid;

pub const IDEMPOTENCY_KEY: &str = "idempotency-key";
pub const REPLAYED: &str = "idempotency-replayed";

/// The request's `Idempotency-Key`, with the method and path it is scoped to. A header that
/// is present but malformed is refused (400).
#[derive(Debug, Clone)]
pub struct IdempotencyHeader {
    key: Option<IdempotencyKey>,
    method: String,
    path: String,
}

impl FromRequest for IdempotencyHeader {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let key = req
            .headers()
            .get(IDEMPOTENCY_KEY)
            .map(|value| {
                value
                    .to_str()
                    .map_err(|_| AppError::IdempotencyKeyInvalid)
                    .and_then(IdempotencyKey::parse)
            })
            .transpose();
        ready(key.map(|key| IdempotencyHeader {
            key,
            method: req.method().to_string(),
            path: req.path().to_owned(),
        }))
    }
}

impl IdempotencyHeader {
    /// The keyed request for `scope` (whose keys these are); a missing key is refused.
    pub fn required(&self, scope: Uuid, request: &impl Serialize) -> AppResult<KeyedRequest> {
        self.optional(scope, request)?
            .ok_or(AppError::IdempotencyKeyMissing)
    }

    /// The keyed request for `scope`, when the client sent a key.
    pub fn optional(
        &self,
        scope: Uuid,
        request: &impl Serialize,
    ) -> AppResult<Option<KeyedRequest>> {
        self.key
            .clone()
            .map(|key| KeyedRequest::new(scope, &self.method, &self.path, key, request))
            .transpose()
    }
}

/// The answer as HTTP: the same status and body bytes, first time or replayed, and
/// `Idempotency-Replayed: true` when replayed.
pub fn respond(answer: Answer) -> HttpResponse {
    let status = StatusCode::from_u16(answer.status).unwrap_or(StatusCode::OK);
    let mut response = HttpResponse::build(status);
    response.insert_header((CONTENT_TYPE, HeaderValue::from_static("application/json")));
    if answer.replayed {
        response.insert_header((
            HeaderName::from_static(REPLAYED),
            HeaderValue::from_static("true"),
        ));
    }
    response.body(answer.body)
}
