//! What holds for every request whatever its handler: a method HTTP does not define is known
//! as `OTHER` from the start (so that made-up methods cannot grow the metrics' labels or the
//! logs' values); a NUL character anywhere in the path or the query string (`%00`), which
//! PostgreSQL cannot store or compare as text, is refused before any handler sees it; and
//! every answer says `X-Content-Type-Options: nosniff`, and `Cache-Control: no-store` when it
//! answered a signed-in request (it may be personal) unless the handler said `private`.

use super::problem::{HttpProblem, ProblemType};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::{Method, StatusCode};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};

/// The methods HTTP defines; no route of ours answers any other.
const KNOWN_METHODS: [Method; 9] = [
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::DELETE,
    Method::CONNECT,
    Method::OPTIONS,
    Method::TRACE,
    Method::PATCH,
];

/// The method a request named when it was not one of [`KNOWN_METHODS`], kept for the answer's
/// wording; the request itself goes on as `OTHER`.
#[derive(Debug, Clone)]
pub struct NamedMethod(pub String);

/// The outermost middleware: renames a made-up method `OTHER` (answered like any method a
/// route does not take: 405 on a known path, 404 elsewhere).
pub async fn known_method(
    mut request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    if !KNOWN_METHODS.contains(request.method()) {
        let named = NamedMethod(request.method().as_str().to_owned());
        request.extensions_mut().insert(named);
        request.head_mut().method = other_method();
    }
    next.call(request).await
}

fn other_method() -> Method {
    static OTHER: std::sync::OnceLock<Method> = std::sync::OnceLock::new();
    OTHER
        .get_or_init(|| Method::from_bytes(b"OTHER").unwrap_or(Method::OPTIONS))
        .clone()
}

/// Whether a raw (still percent-encoded) path or query holds a NUL.
pub fn has_nul(raw: &str) -> bool {
    raw.contains('\0')
        || raw
            .as_bytes()
            .windows(3)
            .any(|w| w.eq_ignore_ascii_case(b"%00"))
}

pub async fn refuse_nul(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<EitherBody<impl MessageBody>>, Error> {
    let uri = request.uri();
    if has_nul(uri.path()) || uri.query().is_some_and(has_nul) {
        let problem = HttpProblem::new(
            StatusCode::BAD_REQUEST,
            ProblemType::BadRequest,
            Some("the address may not contain NUL characters (%00)".into()),
        );
        return Ok(request
            .into_response(problem.response())
            .map_into_right_body());
    }
    Ok(next.call(request).await?.map_into_left_body())
}

pub async fn safe_headers(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let signed_in = request.headers().contains_key(header::AUTHORIZATION);
    let mut response = next.call(request).await?;
    let headers = response.headers_mut();
    headers.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    // A handler may let the client alone keep what it answered (`private`, as files do).
    let private = headers
        .get(header::CACHE_CONTROL)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("private"));
    if signed_in && !private {
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    }
    Ok(response)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn nul_is_found_encoded_or_not() {
        assert!(has_nul("q=a%00b"));
        assert!(has_nul("q=%00"));
        assert!(has_nul("/api/v1/x%00"));
        assert!(!has_nul("q=100%25"));
        assert!(!has_nul("q=deur&near=52.0,4.3"));
    }
}
