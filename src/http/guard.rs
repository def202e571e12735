//! What holds for every request whatever its handler: a NUL character anywhere in the path or
//! the query string (`%00`), which PostgreSQL cannot store or compare as text, is refused
//! before any handler sees it; and every answer says `X-Content-Type-Options: nosniff`, and
//! `Cache-Control: no-store` when it answered a signed-in request (it may be personal).

use super::problem::{HttpProblem, ProblemType};
use actix_web::body::{EitherBody, MessageBody};
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{self, HeaderValue};
use actix_web::http::StatusCode;
use actix_web::middleware::Next;
use actix_web::Error;

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
    if signed_in {
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
