//! Who is at the browser: the session cookie, the language, and the CSRF token every form
//! carries.
//!
//! A signed-in browser holds the secret of its session in an HttpOnly cookie (SameSite=Lax, so
//! that the link in a mail opens the page signed in; Secure when served over TLS). Every form
//! carries a token an attacker's page cannot know: derived from the session's secret when
//! signed in, else equal to a random cookie of its own (double submit). A POST whose token
//! does not match, or that another site sent (`Origin`, `Sec-Fetch-Site`), is refused before
//! its handler runs.

use super::error::PageError;
use super::i18n::Lang;
use crate::app::accounts::sessions;
use crate::app::actor::Actor;
use crate::app::Ctx;
use actix_web::cookie::{time::Duration as CookieAge, Cookie, SameSite};
use actix_web::dev::Payload;
use actix_web::http::header;
use actix_web::{web, FromRequest, HttpRequest};
use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use futures_util::future::LocalBoxFuture;
use serde::de::DeserializeOwned;
use sha2::{Digest, Sha256};

pub const SESSION_COOKIE: &str = "kringloop_session";
pub const CSRF_COOKIE: &str = "kringloop_csrf";
pub const LANG_COOKIE: &str = "kringloop_lang";

/// The visitor of a page: signed in or not, their language and their form token.
#[derive(Debug, Clone)]
pub struct Visitor {
    pub actor: Option<Actor>,
    pub lang: Lang,
    /// The token this visitor's forms carry.
    pub csrf: String,
    /// A form token made for this visitor just now, to be set as a cookie with the page.
    pub new_csrf_cookie: Option<String>,
    /// The path and query asked for, to come back to after signing in.
    pub here: String,
    pub secure: bool,
}

impl Visitor {
    /// The signed-in actor, or the answer that sends the browser to the sign-in page.
    pub fn signed_in(&self) -> Result<&Actor, PageError> {
        self.actor.as_ref().ok_or_else(|| PageError::SignIn {
            next: self.here.clone(),
        })
    }

    pub fn cookie<'c>(
        &self,
        name: &'c str,
        value: String,
        max_age: Option<CookieAge>,
    ) -> Cookie<'c> {
        let mut cookie = Cookie::build(name, value)
            .path("/")
            .http_only(true)
            .secure(self.secure)
            .same_site(if name == SESSION_COOKIE {
                SameSite::Lax
            } else {
                SameSite::Strict
            })
            .finish();
        if let Some(age) = max_age {
            cookie.set_max_age(age);
        }
        cookie
    }
}

/// Whether the browser reached us over TLS (directly, or through a proxy that says so).
fn is_secure(req: &HttpRequest) -> bool {
    req.connection_info().scheme() == "https"
}

/// The form token of a signed-in browser: a hash of its session's secret.
pub fn session_csrf(secret: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"kringloop-csrf:")
        .chain_update(secret.as_bytes())
        .finalize();
    URL_SAFE_NO_PAD.encode(digest)
}

pub fn random_token() -> String {
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    URL_SAFE_NO_PAD.encode(bytes)
}

impl FromRequest for Visitor {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let req = req.clone();
        Box::pin(async move {
            let ctx = req
                .app_data::<web::Data<Ctx>>()
                .cloned()
                .ok_or_else(|| PageError::internal("no application context"))?;
            let secret = req.cookie(SESSION_COOKIE).map(|c| c.value().to_owned());
            let actor = match &secret {
                Some(secret) if !secret.is_empty() && secret.len() <= 128 => {
                    sessions::browser_actor(&ctx, secret).await?
                }
                _ => None,
            };
            let (csrf, new_csrf_cookie) = match (&actor, &secret) {
                (Some(_), Some(secret)) => (session_csrf(secret), None),
                _ => match req.cookie(CSRF_COOKIE) {
                    Some(cookie) if cookie.value().len() >= 32 => (cookie.value().to_owned(), None),
                    _ => {
                        let token = random_token();
                        (token.clone(), Some(token))
                    }
                },
            };
            let lang = req
                .cookie(LANG_COOKIE)
                .and_then(|c| Lang::parse(c.value()))
                .or_else(|| actor.as_ref().map(|a| Lang::of(a.locale)))
                .or_else(|| {
                    req.headers()
                        .get(header::ACCEPT_LANGUAGE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(Lang::from_accept_language)
                })
                .unwrap_or_default();
            let here = req
                .uri()
                .path_and_query()
                .map(|pq| pq.as_str().to_owned())
                .unwrap_or_else(|| "/".into());
            Ok(Visitor {
                actor,
                lang,
                csrf,
                new_csrf_cookie,
                here,
                secure: is_secure(&req),
            })
        })
    }
}

/// A form posted from one of our own pages: its CSRF token checked, then read into `T`.
#[derive(Debug)]
pub struct Submitted<T>(pub T);

impl<T: DeserializeOwned + 'static> FromRequest for Submitted<T> {
    type Error = PageError;
    type Future = LocalBoxFuture<'static, Result<Self, PageError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        let req = req.clone();
        let body = web::Bytes::from_request(&req, payload);
        Box::pin(async move {
            refuse_cross_site(&req)?;
            let body = body.await.map_err(|_| PageError::BadForm)?;
            let fields: Vec<(String, String)> =
                serde_urlencoded::from_bytes(&body).map_err(|_| PageError::BadForm)?;
            let sent = fields
                .iter()
                .find(|(name, _)| name == "csrf")
                .map(|(_, value)| value.as_str())
                .unwrap_or_default();
            check_form_token(&req, sent)?;
            serde_urlencoded::from_bytes(&body)
                .map(Submitted)
                .map_err(|_| PageError::BadForm)
        })
    }
}

/// Checks the CSRF token a form sent (for forms not read by [`Submitted`], such as file
/// uploads): it must come from our own site and carry this browser's token.
pub fn check_form_token(req: &HttpRequest, sent: &str) -> Result<(), PageError> {
    refuse_cross_site(req)?;
    if sent.is_empty() || !expected_tokens(req).iter().any(|t| same(t, sent)) {
        return Err(PageError::Csrf);
    }
    Ok(())
}

/// The tokens a form of this browser may carry.
fn expected_tokens(req: &HttpRequest) -> Vec<String> {
    let mut tokens = Vec::with_capacity(2);
    if let Some(cookie) = req.cookie(SESSION_COOKIE) {
        if !cookie.value().is_empty() {
            tokens.push(session_csrf(cookie.value()));
        }
    }
    if let Some(cookie) = req.cookie(CSRF_COOKIE) {
        if cookie.value().len() >= 32 {
            tokens.push(cookie.value().to_owned());
        }
    }
    tokens
}

/// Constant-time comparison of two tokens.
fn same(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// A browser tells where a request comes from; one from another site is refused.
fn refuse_cross_site(req: &HttpRequest) -> Result<(), PageError> {
    if let Some(site) = req
        .headers()
        .get("sec-fetch-site")
        .and_then(|v| v.to_str().ok())
    {
        if site == "cross-site" || site == "same-site" {
            return Err(PageError::Csrf);
        }
    }
    if let Some(origin) = req
        .headers()
        .get(header::ORIGIN)
        .and_then(|v| v.to_str().ok())
    {
        let host = req.connection_info().host().to_owned();
        let origin_host = origin
            .split_once("://")
            .map(|(_, rest)| rest)
            .unwrap_or(origin);
        if origin == "null" || origin_host != host {
            return Err(PageError::Csrf);
        }
    }
    Ok(())
}

/// A local path to go back to: anything else (another site, `//host`) becomes `/`.
pub fn local_path(next: Option<&str>) -> String {
    match next {
        Some(path)
            if path.starts_with('/')
                && !path.starts_with("//")
                && !path.contains('\\')
                && !path.chars().any(char::is_control) =>
        {
            path.to_owned()
        }
        _ => "/".into(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_local_paths_are_followed() {
        assert_eq!(local_path(Some("/workspace?x=1")), "/workspace?x=1");
        assert_eq!(local_path(Some("//evil.example/")), "/");
        assert_eq!(local_path(Some("https://evil.example/")), "/");
        assert_eq!(local_path(Some("/\\evil.example")), "/");
        assert_eq!(local_path(None), "/");
    }

    #[test]
    fn tokens_compare_whole() {
        assert!(same("abc", "abc"));
        assert!(!same("abc", "abd"));
        assert!(!same("abc", "abcd"));
        assert_ne!(session_csrf("one"), session_csrf("two"));
    }
}
