//! Moderation: the broker hides a listing or a wish, with a reason, and restores it.

use super::extract::{etag, Authenticated};
use super::json::{Json, OptionalJson};
use super::problem::Problem;
use crate::app::error::AppError;
use crate::app::listings::Listing;
use crate::app::moderation;
use crate::app::wishes::Wish;
use crate::app::Ctx;
use crate::domain::audit::Reason;
use crate::domain::validation::FieldErrors;
use actix_web::http::header::ETag;
use actix_web::{post, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(hide_listing)
        .service(restore_listing)
        .service(hide_wish)
        .service(restore_wish);
}

/// Why the broker hides something.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct HideRequest {
    /// 1 to 500 characters; kept in the audit log and told to the owner.
    reason: String,
}

/// A note with a restore.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct RestoreRequest {
    /// 1 to 500 characters; kept in the audit log and told to the owner.
    reason: Option<String>,
}

fn reason(raw: &str) -> Result<Reason, AppError> {
    Reason::parse(raw).map_err(|invalid| FieldErrors::single("/reason", invalid).into())
}

fn note(body: OptionalJson<RestoreRequest>) -> Result<Option<Reason>, AppError> {
    body.0
        .and_then(|body| body.reason)
        .map(|raw| reason(&raw))
        .transpose()
}

/// Hide a listing (brokers only): it leaves search, matching (its matches are retracted) and
/// open data; its owner is told why, still sees it and cannot change it until it is restored.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Listing id")),
    request_body = HideRequest,
    responses(
        (status = 200, body = Listing, headers(("ETag" = String, description = "The listing's version"))),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such listing", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already hidden", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reason` empty or longer than 500 characters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/listings/{id}/hide")]
async fn hide_listing(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
    body: Json<HideRequest>,
) -> Result<HttpResponse, AppError> {
    let reason = reason(&body.0.reason)?;
    let listing = moderation::hide_listing(&ctx, &auth.0, id.into_inner(), reason).await?;
    Ok(listing_answer(listing))
}

/// Put a hidden listing back on the market (brokers only); its owner is told. The body, with
/// an optional note, may be left out.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Listing id")),
    request_body = Option<RestoreRequest>,
    responses(
        (status = 200, body = Listing, headers(("ETag" = String, description = "The listing's version"))),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such listing", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not hidden", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reason` empty or longer than 500 characters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/listings/{id}/restore")]
async fn restore_listing(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
    body: OptionalJson<RestoreRequest>,
) -> Result<HttpResponse, AppError> {
    let note = note(body)?;
    let listing = moderation::restore_listing(&ctx, &auth.0, id.into_inner(), note).await?;
    Ok(listing_answer(listing))
}

/// Hide a standing wish (brokers only): it leaves matching (its matches are retracted); its
/// owner is told why, still sees it and cannot change or delete it until it is restored.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Wish id")),
    request_body = HideRequest,
    responses(
        (status = 200, body = Wish, headers(("ETag" = String, description = "The wish's version"))),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such wish (or it was deleted)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Already hidden", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reason` empty or longer than 500 characters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/wishes/{id}/hide")]
async fn hide_wish(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
    body: Json<HideRequest>,
) -> Result<HttpResponse, AppError> {
    let reason = reason(&body.0.reason)?;
    let wish = moderation::hide_wish(&ctx, &auth.0, id.into_inner(), reason).await?;
    Ok(wish_answer(wish))
}

/// Put a hidden wish back into matching (brokers only); its owner is told. The body, with an
/// optional note, may be left out.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Wish id")),
    request_body = Option<RestoreRequest>,
    responses(
        (status = 200, body = Wish, headers(("ETag" = String, description = "The wish's version"))),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such wish (or it was deleted)", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not hidden", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`reason` empty or longer than 500 characters", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/wishes/{id}/restore")]
async fn restore_wish(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
    body: OptionalJson<RestoreRequest>,
) -> Result<HttpResponse, AppError> {
    let note = note(body)?;
    let wish = moderation::restore_wish(&ctx, &auth.0, id.into_inner(), note).await?;
    Ok(wish_answer(wish))
}

fn listing_answer(listing: Listing) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ETag(etag(listing.version)))
        .json(listing)
}

fn wish_answer(wish: Wish) -> HttpResponse {
    HttpResponse::Ok()
        .insert_header(ETag(etag(wish.version)))
        .json(wish)
}
