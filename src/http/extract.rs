//! Extractors: the authenticated actor, the client's address, and a list's page and filters.

use super::problem::query_error;
use crate::app::accounts;
use crate::app::actor::Actor;
use crate::app::error::AppError;
use crate::app::paging::PageQuery;
use crate::app::Ctx;
use actix_web::dev::Payload;
use actix_web::http::header::AUTHORIZATION;
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::{ready, LocalBoxFuture, Ready};
use serde::de::DeserializeOwned;

/// The user behind a valid `Authorization: Bearer` access token.
#[derive(Debug, Clone)]
pub struct Authenticated(pub Actor);

impl FromRequest for Authenticated {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let ctx = req.app_data::<web::Data<Ctx>>().cloned();
        let token = bearer_token(req);
        Box::pin(async move {
            let ctx =
                ctx.ok_or_else(|| AppError::Internal(anyhow::anyhow!("no application context")))?;
            let token = token?;
            let user_id = ctx.tokens.verify(&token, ctx.now())?;
            let actor = accounts::actor(&ctx, user_id)
                .await?
                .ok_or(AppError::Unauthenticated("the account no longer exists"))?;
            Ok(Authenticated(actor))
        })
    }
}

fn bearer_token(req: &HttpRequest) -> Result<String, AppError> {
    let header = req
        .headers()
        .get(AUTHORIZATION)
        .ok_or(AppError::Unauthenticated(
            "send an access token as `Authorization: Bearer <token>`",
        ))?;
    let value = header
        .to_str()
        .map_err(|_| AppError::Unauthenticated("the Authorization header is not readable"))?;
    let (scheme, token) = value.split_once(' ').ok_or(AppError::Unauthenticated(
        "the Authorization header must be `Bearer <token>`",
    ))?;
    if !scheme.eq_ignore_ascii_case("bearer") || token.trim().is_empty() {
        return Err(AppError::Unauthenticated(
            "the Authorization header must be `Bearer <token>`",
        ));
    }
    Ok(token.trim().to_owned())
}

/// The peer address of the connection. Forwarded headers are not trusted: any client can
/// write them.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl FromRequest for ClientAddr {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let addr = req
            .peer_addr()
            .map(|addr| addr.ip().to_string())
            .unwrap_or_else(|| "unknown".into());
        ready(Ok(ClientAddr(addr)))
    }
}

/// The actor when the request carries a valid access token, `None` when it carries none. A
/// token that is present but not valid is still refused.
#[derive(Debug, Clone)]
pub struct MaybeAuthenticated(pub Option<Actor>);

impl FromRequest for MaybeAuthenticated {
    type Error = AppError;
    type Future = LocalBoxFuture<'static, Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, payload: &mut Payload) -> Self::Future {
        if req.headers().contains_key(AUTHORIZATION) {
            let authenticated = Authenticated::from_request(req, payload);
            Box::pin(async move { Ok(MaybeAuthenticated(Some(authenticated.await?.0))) })
        } else {
            Box::pin(async { Ok(MaybeAuthenticated(None)) })
        }
    }
}

/// The version named by `If-Match: "<version>"`, when the header is there. A header that
/// names no version of ours can never match.
#[derive(Debug, Clone, Copy)]
pub struct IfMatch(pub Option<i32>);

impl FromRequest for IfMatch {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let header = req.headers().get(actix_web::http::header::IF_MATCH);
        let version = match header.map(|value| {
            value
                .to_str()
                .unwrap_or_default()
                .trim()
                .trim_start_matches("W/")
                .trim_matches('"')
                .parse::<i32>()
        }) {
            None => None,
            Some(Ok(version)) => Some(version),
            Some(Err(_)) => Some(-1),
        };
        ready(Ok(IfMatch(version)))
    }
}

/// The ETag of a versioned resource.
pub fn etag(version: i32) -> actix_web::http::header::EntityTag {
    actix_web::http::header::EntityTag::new_strong(version.to_string())
}

/// A list's query string, split in two: the page ([`PageQuery`]: `cursor`, `limit`) and the
/// list's own filters `F`. Each half refuses the parameters it does not know, as a
/// `web::Query` does, so that every list reads its page the same way.
#[derive(Debug)]
pub struct Paged<F> {
    pub page: PageQuery,
    pub filter: F,
}

impl<F: DeserializeOwned> FromRequest for Paged<F> {
    type Error = actix_web::Error;
    type Future = Ready<Result<Self, actix_web::Error>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let (page, filter): (Vec<&str>, Vec<&str>) = req
            .query_string()
            .split('&')
            .filter(|pair| !pair.is_empty())
            .partition(|pair| {
                let key = pair.split_once('=').map_or(*pair, |(key, _)| key);
                key == "cursor" || key == "limit"
            });
        let parsed = web::Query::<PageQuery>::from_query(&page.join("&")).and_then(|page| {
            web::Query::<F>::from_query(&filter.join("&")).map(|filter| Paged {
                page: page.into_inner(),
                filter: filter.into_inner(),
            })
        });
        ready(parsed.map_err(|error| query_error(error, req)))
    }
}
