//! Extractors: the authenticated actor, the client's address, and a list's page and filters.

use super::problem::query_error;
use crate::app::accounts;
use crate::app::actor::Actor;
use crate::app::error::AppError;
use crate::app::paging::PageQuery;
use crate::app::Ctx;
use actix_web::dev::Payload;
use actix_web::http::header::{HeaderMap, AUTHORIZATION};
use actix_web::{web, FromRequest, HttpRequest};
use futures_util::future::{ready, LocalBoxFuture, Ready};
use serde::de::DeserializeOwned;
use std::net::IpAddr;

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
                .ok_or(AppError::Unauthenticated(
                    "the account no longer exists or was removed from its organisation",
                ))?;
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

/// The client's address: the peer address of the connection, unless that is a trusted proxy
/// ([`TrustedProxies`]); then the address it says it forwarded for, from the `Forwarded`
/// header (or, without one, `X-Forwarded-For`), read from the right while the hops are trusted
/// proxies too. Anyone else's forwarded headers are ignored: any client can write them.
#[derive(Debug, Clone)]
pub struct ClientAddr(pub String);

impl FromRequest for ClientAddr {
    type Error = AppError;
    type Future = Ready<Result<Self, AppError>>;

    fn from_request(req: &HttpRequest, _: &mut Payload) -> Self::Future {
        let Some(peer) = req.peer_addr().map(|addr| addr.ip()) else {
            return ready(Ok(ClientAddr("unknown".into())));
        };
        let addr = match req.app_data::<web::Data<TrustedProxies>>() {
            Some(trusted) if trusted.contains(peer) => trusted.client(peer, req.headers()),
            _ => peer,
        };
        ready(Ok(ClientAddr(addr.to_string())))
    }
}

/// The proxies whose forwarded headers are believed (`KRINGLOOP_TRUSTED_PROXIES`): addresses
/// and CIDR ranges.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(Vec<(IpAddr, u8)>);

impl TrustedProxies {
    /// Parses `10.0.0.1`, `10.0.0.0/8`, `::1`, `fd00::/8`; names the first entry that is none.
    pub fn parse(entries: &[String]) -> anyhow::Result<TrustedProxies> {
        entries
            .iter()
            .map(|entry| {
                let (addr, bits) = match entry.split_once('/') {
                    Some((addr, bits)) => (addr, Some(bits)),
                    None => (entry.as_str(), None),
                };
                let addr: IpAddr = addr.trim().parse().map_err(|_| {
                    anyhow::anyhow!("KRINGLOOP_TRUSTED_PROXIES: {entry:?} is not an address")
                })?;
                let max = if addr.is_ipv4() { 32 } else { 128 };
                let bits = match bits {
                    Some(bits) => bits
                        .trim()
                        .parse::<u8>()
                        .ok()
                        .filter(|bits| *bits <= max)
                        .ok_or_else(|| {
                            anyhow::anyhow!(
                                "KRINGLOOP_TRUSTED_PROXIES: {entry:?} has no valid prefix length"
                            )
                        })?,
                    None => max,
                };
                Ok((addr, bits))
            })
            .collect::<anyhow::Result<_>>()
            .map(TrustedProxies)
    }

    pub fn contains(&self, addr: IpAddr) -> bool {
        let addr = canonical(addr);
        self.0
            .iter()
            .any(|(net, bits)| match (canonical(*net), addr) {
                (IpAddr::V4(net), IpAddr::V4(addr)) => {
                    prefix(u32::from(net).into(), 32, *bits)
                        == prefix(u32::from(addr).into(), 32, *bits)
                }
                (IpAddr::V6(net), IpAddr::V6(addr)) => {
                    prefix(net.into(), 128, *bits) == prefix(addr.into(), 128, *bits)
                }
                _ => false,
            })
    }

    /// The client behind `peer` (a trusted proxy): the rightmost forwarded address that is not
    /// a trusted proxy itself; the last readable hop when a hop cannot be read.
    fn client(&self, peer: IpAddr, headers: &HeaderMap) -> IpAddr {
        let hops = forwarded_for(headers);
        let mut client = peer;
        for hop in hops.iter().rev() {
            if !self.contains(client) {
                break;
            }
            match hop {
                Some(addr) => client = *addr,
                None => break,
            }
        }
        client
    }
}

/// An IPv4 address mapped into IPv6 compares as the IPv4 address.
fn canonical(addr: IpAddr) -> IpAddr {
    match addr {
        IpAddr::V6(v6) => v6.to_ipv4_mapped().map_or(addr, IpAddr::V4),
        v4 => v4,
    }
}

fn prefix(value: u128, width: u32, bits: u8) -> u128 {
    let bits = u32::from(bits).min(width);
    if bits == 0 {
        0
    } else {
        value >> (width - bits)
    }
}

/// The `for=` addresses of every `Forwarded` element, in order; without that header the
/// `X-Forwarded-For` list. `None` for a hop that is not an address (`unknown`, an obfuscated
/// name, garbage).
fn forwarded_for(headers: &HeaderMap) -> Vec<Option<IpAddr>> {
    let values = |name: &str| -> Vec<String> {
        headers
            .get_all(name)
            .map(|value| value.to_str().unwrap_or("garbage").to_owned())
            .collect()
    };
    let forwarded = values("forwarded");
    if !forwarded.is_empty() {
        return forwarded
            .iter()
            .flat_map(|value| value.split(','))
            .map(|element| {
                element
                    .split(';')
                    .filter_map(|pair| pair.split_once('='))
                    .find(|(key, _)| key.trim().eq_ignore_ascii_case("for"))
                    .and_then(|(_, value)| node_addr(value.trim().trim_matches('"')))
            })
            .collect();
    }
    values("x-forwarded-for")
        .iter()
        .flat_map(|value| value.split(','))
        .map(|hop| node_addr(hop.trim()))
        .collect()
}

/// `192.0.2.1`, `192.0.2.1:4711`, `[2001:db8::1]`, `[2001:db8::1]:4711` or `2001:db8::1`.
fn node_addr(node: &str) -> Option<IpAddr> {
    if let Some(rest) = node.strip_prefix('[') {
        return rest.split_once(']')?.0.parse().ok();
    }
    node.parse::<IpAddr>()
        .ok()
        .or_else(|| node.parse::<std::net::SocketAddr>().ok().map(|s| s.ip()))
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
