//! Structured logs: text for people, JSON for collectors; filtered by RUST_LOG. One line per
//! HTTP request, carrying the request id that is echoed in `X-Request-Id`.

use crate::config::LogFormat;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::{Error, HttpMessage};
use std::io::IsTerminal;
use std::time::Instant;
use tracing::Span;
use tracing_actix_web::{RequestId, RootSpanBuilder};
use tracing_subscriber::EnvFilter;

pub fn init(format: LogFormat) {
    let filter = EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info"));
    // Colour codes only help a person at a terminal; in files and collectors they are noise.
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(std::io::stderr().is_terminal())
        .with_writer(std::io::stderr);
    let result = match format {
        LogFormat::Json => builder
            .json()
            .flatten_event(true)
            .with_current_span(true)
            .try_init(),
        LogFormat::Text => builder.try_init(),
    };
    // A second init (tests) keeps the first subscriber.
    drop(result);
}

pub const REQUEST_ID_HEADER: HeaderName = HeaderName::from_static("x-request-id");

/// The id of one request: the caller's `X-Request-Id` when it sent a usable one (so that a
/// proxy's or client's id can be followed through our logs), else one generated here.
#[derive(Debug, Clone)]
pub struct RequestTag(pub String);

/// An incoming id is taken when it is short printable ASCII: it goes into logs and headers.
fn usable_request_id(value: &HeaderValue) -> Option<String> {
    let text = value.to_str().ok()?;
    let fine = !text.is_empty() && text.len() <= 128 && text.bytes().all(|b| b.is_ascii_graphic());
    fine.then(|| text.to_owned())
}

/// The root span of every request, carrying its request id, so that whatever a handler logs
/// can be traced to the request.
pub struct RequestSpan;

impl RootSpanBuilder for RequestSpan {
    fn on_request_start(request: &ServiceRequest) -> Span {
        let id = request
            .headers()
            .get(REQUEST_ID_HEADER)
            .and_then(usable_request_id)
            .or_else(|| {
                request
                    .extensions()
                    .get::<RequestId>()
                    .map(ToString::to_string)
            })
            .unwrap_or_else(|| uuid::Uuid::new_v4().to_string());
        let span = tracing::info_span!("request", request_id = %id);
        request.extensions_mut().insert(RequestTag(id));
        span
    }

    fn on_request_end<B: MessageBody>(_: Span, _: &Result<ServiceResponse<B>, Error>) {}
}

/// Middleware (inside the tracing logger): logs one line per request at info, with method,
/// matched route pattern, status, duration and request id, and echoes the id in the answer.
pub async fn log_request(
    request: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, Error> {
    let started = Instant::now();
    let method = request.method().clone();
    // The pattern, not the path: ids in paths would make every line unique and may be personal.
    let route = request
        .match_pattern()
        .unwrap_or_else(|| "unmatched".to_owned());
    let id = request
        .extensions()
        .get::<RequestTag>()
        .map(|tag| tag.0.clone())
        .unwrap_or_default();
    let outcome = next.call(request).await;
    let status = match &outcome {
        Ok(response) => response.status(),
        Err(error) => error.as_response_error().status_code(),
    };
    tracing::info!(
        method = %method,
        route = %route,
        status = status.as_u16(),
        duration_ms = (started.elapsed().as_secs_f64() * 10_000.0).round() / 10.0,
        request_id = %id,
        "request"
    );
    let mut response = outcome?;
    if let Ok(value) = HeaderValue::from_str(&id) {
        response.headers_mut().insert(REQUEST_ID_HEADER, value);
    }
    Ok(response)
}
