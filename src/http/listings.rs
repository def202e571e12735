//! Listings and stock search.

use super::extract::{etag, Authenticated, IfMatch, MaybeAuthenticated, Paged};
use super::json::Json;
use super::problem::Problem;
use crate::app::error::AppError;
use crate::app::listings::{self, Listing, ListingPatch, NewListing, Search};
use crate::app::paging::{Page, PageQuery};
use crate::app::Ctx;
use crate::db::listings::SearchOrder;
use crate::domain::listing::ListingStatus;
use crate::domain::passport::Condition;
use crate::domain::validation::FieldErrors;
use actix_web::http::header::ETag;
use actix_web::http::StatusCode;
use actix_web::{get, patch, post, web, HttpResponse};
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create)
        .service(search)
        .service(get_listing)
        .service(update)
        .service(withdraw);
}

fn answer(status: StatusCode, listing: Listing) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(ETag(etag(listing.version)))
        .json(listing)
}

/// Offer a passport's material. `status` is `announced` while `available_from` is in the
/// future. A passport with an uncleared hazard is refused (409).
#[utoipa::path(
    tag = "listings",
    security(("bearer" = [])),
    request_body = NewListing,
    responses(
        (status = 201, body = Listing, headers(("ETag" = String, description = "The listing's version"))),
        (status = 403, description = "Not verified, or not the passport's holder, or the organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "A hazard is not cleared, or the broker has hidden a listing of the passport", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/listings")]
async fn create(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    body: Json<NewListing>,
) -> Result<HttpResponse, AppError> {
    Ok(answer(
        StatusCode::CREATED,
        listings::create(&ctx, &auth.0, body.0).await?,
    ))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SearchParams {
    /// Category id or code; its subcategories are included.
    category: Option<String>,
    /// Words to find in names and descriptions (Dutch and English).
    q: Option<String>,
    /// `lat,lon` to measure distance from.
    near: Option<String>,
    /// Radius around `near` in km (default 10, at most 500).
    #[param(exclusive_minimum = 0, maximum = 500)]
    radius_km: Option<f64>,
    /// Comma-separated statuses (default `announced,available`).
    status: Option<String>,
    /// Only lots available on or before this moment.
    available_by: Option<DateTime<Utc>>,
    /// Only lots with at least this much left.
    min_quantity: Option<i64>,
    /// Highest price per unit in minor units of `currency`; free lots always qualify.
    max_price: Option<i64>,
    currency: Option<String>,
    condition_min: Option<Condition>,
    /// `relevance` (needs q), `distance` (needs near) or `date`.
    #[param(pattern = "^(relevance|distance|date)$")]
    sort: Option<String>,
}

fn parse_search(params: SearchParams, page: PageQuery) -> Result<Search, AppError> {
    let mut errors = FieldErrors::new();
    let near = params.near.as_deref().and_then(|raw| {
        let parsed = raw.split_once(',').and_then(|(lat, lon)| {
            Some((
                lat.trim().parse::<f64>().ok()?,
                lon.trim().parse::<f64>().ok()?,
            ))
        });
        if parsed.is_none() {
            errors.push("/near", "invalid_point", "must be lat,lon in degrees");
        }
        parsed
    });
    let status = match params.status.as_deref() {
        None => Vec::new(),
        Some(raw) => raw
            .split(',')
            .filter_map(|part| errors.take("/status", part.trim().parse::<ListingStatus>()))
            .collect(),
    };
    let sort = params.sort.as_deref().and_then(|raw| match raw {
        "relevance" => Some(SearchOrder::Relevance),
        "distance" => Some(SearchOrder::Distance),
        "date" => Some(SearchOrder::Date),
        _ => {
            errors.push(
                "/sort",
                "unknown_value",
                "must be one of: relevance, distance, date",
            );
            None
        }
    });
    errors.finish()?;
    Ok(Search {
        category: params.category,
        q: params.q,
        near,
        radius_km: params.radius_km,
        status,
        available_by: params.available_by,
        min_quantity: params.min_quantity,
        max_price: params.max_price,
        currency: params.currency,
        condition_min: params.condition_min,
        sort,
        page,
    })
}

/// Search the stock. Pages are keyset-paginated: pass `next_cursor` as `cursor`.
#[utoipa::path(
    tag = "listings",
    security((), ("bearer" = [])),
    params(SearchParams, PageQuery),
    responses(
        (status = 200, body = Page<Listing>),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid filters, a cursor this search did not give, or `limit` outside 1 to 100", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/listings")]
async fn search(
    ctx: web::Data<Ctx>,
    auth: MaybeAuthenticated,
    query: Paged<SearchParams>,
) -> Result<HttpResponse, AppError> {
    let search = parse_search(query.filter, query.page)?;
    Ok(HttpResponse::Ok().json(listings::search(&ctx, auth.0.as_ref(), search).await?))
}

/// A listing; the pickup address is shown to signed-in users only.
#[utoipa::path(
    tag = "listings",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "Listing id")),
    responses(
        (status = 200, body = Listing, headers(("ETag" = String, description = "The listing's version"))),
        (status = 404, description = "No such listing, or it is hidden by the broker and you are neither its owner, a party to a reservation of it nor a broker", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/listings/{id}")]
async fn get_listing(
    ctx: web::Data<Ctx>,
    auth: MaybeAuthenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    Ok(answer(
        StatusCode::OK,
        listings::get(&ctx, auth.0.as_ref(), id.into_inner()).await?,
    ))
}

/// Change an open offer (owner only). Send `If-Match` with the ETag you read.
#[utoipa::path(
    tag = "listings",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Listing id"),
        ("If-Match" = String, Header, description = "The ETag of the version you changed"),
    ),
    request_body = ListingPatch,
    responses(
        (status = 200, body = Listing),
        (status = 403, description = "Not the owner, or the organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "No longer open, or hidden by the broker", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/listings/{id}")]
async fn update(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
    if_match: IfMatch,
    body: Json<ListingPatch>,
) -> Result<HttpResponse, AppError> {
    Ok(answer(
        StatusCode::OK,
        listings::update(&ctx, &auth.0, id.into_inner(), if_match.0, body.0).await?,
    ))
}

/// Withdraw an open offer (owner only).
#[utoipa::path(
    tag = "listings",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Listing id")),
    responses(
        (status = 200, body = Listing),
        (status = 403, description = "Not the owner, or the organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not open, or hidden by the broker", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/listings/{id}/withdraw")]
async fn withdraw(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    Ok(answer(
        StatusCode::OK,
        listings::withdraw(&ctx, &auth.0, id.into_inner()).await?,
    ))
}
