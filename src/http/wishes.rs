//! Wishes, their matches and bundle proposals.

use super::extract::{etag, Authenticated, IfMatch};
use super::json::Json;
use super::problem::Problem;
use crate::app::error::AppError;
use crate::app::paging::{Page, PageQuery};
use crate::app::wishes::{self, Bundle, Match, NewWish, Wish, WishMatches, WishPatch};
use crate::app::Ctx;
use actix_web::http::header::ETag;
use actix_web::http::StatusCode;
use actix_web::{delete, get, patch, post, web, HttpResponse};
use uuid::Uuid;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(get_wish)
        .service(update)
        .service(remove)
        .service(wish_matches)
        .service(organisation_matches)
        .service(accept)
        .service(decline)
        .service(accept_bundle);
}

fn answer(status: StatusCode, wish: Wish) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(ETag(etag(wish.version)))
        .json(wish)
}

/// Keep a standing wish. It is matched against current and announced stock at once, and
/// against every listing published or changed later.
#[utoipa::path(
    tag = "wishes",
    security(("bearer" = [])),
    request_body = NewWish,
    responses(
        (status = 201, body = Wish, headers(("ETag" = String, description = "The wish's version"))),
        (status = 403, description = "Not verified, or the organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/wishes")]
async fn create(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    body: Json<NewWish>,
) -> Result<HttpResponse, AppError> {
    Ok(answer(
        StatusCode::CREATED,
        wishes::create(&ctx, &auth.0, body.0).await?,
    ))
}

/// The organisation's active wishes, newest first.
#[utoipa::path(
    tag = "wishes",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<Wish>),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` outside 1 to 100", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/wishes")]
async fn list(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let page = wishes::list(&ctx, &auth.0, query.cursor.as_deref(), query.limit()?).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// One of the organisation's wishes; other organisations' wishes are not found (404).
#[utoipa::path(
    tag = "wishes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Wish id")),
    responses(
        (status = 200, body = Wish, headers(("ETag" = String, description = "The wish's version"))),
        (status = 404, description = "No such wish of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/wishes/{id}")]
async fn get_wish(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    Ok(answer(
        StatusCode::OK,
        wishes::get(&ctx, &auth.0, id.into_inner()).await?,
    ))
}

/// Change a wish (send `If-Match` with its ETag); it is matched again at once.
#[utoipa::path(
    tag = "wishes",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Wish id"),
        ("If-Match" = String, Header, description = "The ETag you read"),
    ),
    request_body = WishPatch,
    responses(
        (status = 200, body = Wish),
        (status = 403, description = "The organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such wish of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Hidden by the broker", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/wishes/{id}")]
async fn update(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<WishPatch>,
) -> Result<HttpResponse, AppError> {
    Ok(answer(
        StatusCode::OK,
        wishes::update(&ctx, &auth.0, id.into_inner(), if_match.0, body.0).await?,
    ))
}

/// Delete a wish; its open matches are retracted.
#[utoipa::path(
    tag = "wishes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Wish id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "The organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such wish of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Hidden by the broker", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/wishes/{id}")]
async fn remove(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    wishes::delete(&ctx, &auth.0, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

/// A wish's matches, best first, with a bundle proposal when several listings together cover
/// what no single one does.
#[utoipa::path(
    tag = "wishes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Wish id")),
    responses(
        (status = 200, body = WishMatches),
        (status = 404, description = "No such wish of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/wishes/{id}/matches")]
async fn wish_matches(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(wishes::matches_of(&ctx, &auth.0, id.into_inner()).await?))
}

/// The organisation's matches on both sides (as demander and as donor), newest first.
#[utoipa::path(
    tag = "wishes",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<Match>),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` outside 1 to 100", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/matches")]
async fn organisation_matches(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let page =
        wishes::matches_of_organisation(&ctx, &auth.0, query.cursor.as_deref(), query.limit()?)
            .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Accept an open match (the wishing organisation only); the donor is told.
#[utoipa::path(
    tag = "wishes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Match id")),
    responses(
        (status = 200, body = Match),
        (status = 403, description = "The donor cannot answer, or the organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such match of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not open", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/matches/{id}/accept")]
async fn accept(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(wishes::answer(&ctx, &auth.0, id.into_inner(), true).await?))
}

/// Decline an open match (the wishing organisation only).
#[utoipa::path(
    tag = "wishes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Match id")),
    responses(
        (status = 200, body = Match),
        (status = 403, description = "The donor cannot answer, or the organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such match of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not open", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/matches/{id}/decline")]
async fn decline(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(wishes::answer(&ctx, &auth.0, id.into_inner(), false).await?))
}

/// Accept a bundle as a whole: every part's match is accepted and each donor told.
#[utoipa::path(
    tag = "wishes",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Bundle id")),
    responses(
        (status = 200, body = Bundle),
        (status = 403, description = "The organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such bundle of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No longer proposed, or a part is no longer open", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/bundles/{id}/accept")]
async fn accept_bundle(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(wishes::accept_bundle(&ctx, &auth.0, id.into_inner()).await?))
}
