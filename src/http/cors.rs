//! Cross-origin access (CORS): which web pages of other origins may call the API from a
//! browser. The API answers only the origins configured (`KRINGLOOP_CORS_ORIGINS`; none by
//! default); open data may be read by any page, with GET and without credentials. Requests
//! from other origins are still served (a browser keeps their answers from the page); their
//! preflights get no CORS headers.

use actix_cors::Cors;
use actix_web::http::header::{self, HeaderName};
use actix_web::http::Method;

/// How long a browser may keep a preflight's answer.
const PREFLIGHT_MAX_AGE_SECS: usize = 3600;

/// The request headers a page may send to the API beside the CORS-safe ones.
const API_REQUEST_HEADERS: [HeaderName; 5] = [
    header::AUTHORIZATION,
    header::CONTENT_TYPE,
    header::IF_MATCH,
    HeaderName::from_static("idempotency-key"),
    HeaderName::from_static("x-request-id"),
];

/// The answer headers a page may read beside the CORS-safe ones.
const EXPOSED_HEADERS: [HeaderName; 5] = [
    header::ETAG,
    header::LOCATION,
    header::LINK,
    header::RETRY_AFTER,
    HeaderName::from_static("x-request-id"),
];

/// Checks and normalises the configured origins: each `scheme://host[:port]` with http or
/// https, nothing after it (a trailing `/` is dropped), in lower case as browsers send it.
pub fn origins(configured: &[String]) -> anyhow::Result<Vec<String>> {
    configured
        .iter()
        .map(|raw| raw.trim())
        .filter(|raw| !raw.is_empty())
        .map(|raw| {
            let origin = raw.trim_end_matches('/').to_ascii_lowercase();
            let host = origin
                .strip_prefix("https://")
                .or_else(|| origin.strip_prefix("http://"));
            let fine = host.is_some_and(|host| {
                !host.is_empty()
                    && host
                        .bytes()
                        .all(|b| b.is_ascii_alphanumeric() || b"-.:[]".contains(&b))
            });
            if fine && origin.parse::<actix_web::http::Uri>().is_ok() {
                Ok(origin)
            } else {
                Err(anyhow::anyhow!(
                    "KRINGLOOP_CORS_ORIGINS: {raw:?} is not an origin like \
                     https://console.example.nl (scheme, host and port only)"
                ))
            }
        })
        .collect()
}

/// The API's policy: the configured origins, every method the API has, bearer tokens in the
/// `Authorization` header (no cookies, so no credentials mode).
pub fn api(origins: &[String]) -> Cors {
    origins
        .iter()
        .fold(Cors::default(), |cors, origin| cors.allowed_origin(origin))
        .allowed_methods([
            Method::GET,
            Method::POST,
            Method::PUT,
            Method::PATCH,
            Method::DELETE,
        ])
        .allowed_headers(API_REQUEST_HEADERS)
        .expose_headers(EXPOSED_HEADERS)
        .max_age(PREFLIGHT_MAX_AGE_SECS)
}

/// Open data's policy: any origin, GET only, any request header, `Access-Control-Allow-Origin:
/// *` (which browsers never combine with credentials).
pub fn open_data() -> Cors {
    Cors::default()
        .allow_any_origin()
        .send_wildcard()
        .allowed_methods([Method::GET])
        .allow_any_header()
        .expose_headers([header::LINK])
        .max_age(PREFLIGHT_MAX_AGE_SECS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn origins_are_normalised_and_checked() {
        let given = [
            " https://Console.Example.nl/ ".to_owned(),
            String::new(),
            "http://localhost:5173".to_owned(),
        ];
        assert_eq!(
            origins(&given).unwrap(),
            ["https://console.example.nl", "http://localhost:5173"]
        );
        for bad in [
            "*",
            "console.example.nl",
            "https://x.nl/app",
            "ftp://x.nl",
            "https://",
        ] {
            assert!(origins(&[bad.to_owned()]).is_err(), "{bad}");
        }
    }
}
