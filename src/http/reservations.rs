//! Reservations and hand-over.

use super::extract::Authenticated;
use super::idempotency::{respond, IdempotencyHeader};
use super::json::Json;
use super::problem::Problem;
use crate::app::error::AppError;
use crate::app::paging::{Page, PageQuery};
use crate::app::reservations::{self, NewReservation, Receipt, Reservation};
use crate::app::Ctx;
use actix_web::{get, post, web, HttpResponse};
use uuid::Uuid;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create)
        .service(list)
        .service(get_reservation)
        .service(handover)
        .service(cancel)
        .service(confirm)
        .service(dispute);
}

/// Hold part of an announced or available listing (verified organisations). Never more is
/// held than offered: when less is left the answer is 409. A price in the local currency
/// holds the demander's funds until hand-over. `Idempotency-Key` is required.
#[utoipa::path(
    tag = "reservations",
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1 to 255 visible ASCII characters; kept 24 hours")),
    request_body = NewReservation,
    responses(
        (status = 201, body = Reservation, headers(("Idempotency-Replayed" = String, description = "`true` on a replayed answer"))),
        (status = 403, description = "Not verified, or the organisation (or the listing's) is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such listing or match, or the listing is hidden by the broker", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not enough left, not open, own listing, or funds do not suffice", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or the key reused with another request", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reservations")]
async fn create(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    key: IdempotencyHeader,
    body: Json<NewReservation>,
) -> Result<HttpResponse, AppError> {
    let keyed = key.required(auth.0.organisation_id, &body.0)?;
    Ok(respond(
        reservations::reserve(&ctx, &auth.0, Some(&keyed), body.0).await?,
    ))
}

/// The organisation's reservations on both sides, newest first.
#[utoipa::path(
    tag = "reservations",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<Reservation>),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` outside 1 to 100", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reservations")]
async fn list(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let page = reservations::list(&ctx, &auth.0, query.cursor.as_deref(), query.limit()?).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// A reservation, for its two parties only.
#[utoipa::path(
    tag = "reservations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Reservation id")),
    responses(
        (status = 200, body = Reservation),
        (status = 404, description = "No such reservation of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/reservations/{id}")]
async fn get_reservation(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(reservations::get(&ctx, &auth.0, id.into_inner()).await?))
}

/// The donor hands the material over: held funds are paid, the donor is credited by the
/// issuance policy, custody moves (a split passport for part of a lot) and a flow is
/// recorded. `Idempotency-Key` is optional.
#[utoipa::path(
    tag = "reservations",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "Reservation id"),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters"),
    ),
    responses(
        (status = 200, body = Reservation),
        (status = 403, description = "Not the donor, or the organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such reservation of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not held", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reservations/{id}/handover")]
async fn handover(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
    key: IdempotencyHeader,
) -> Result<HttpResponse, AppError> {
    let id = id.into_inner();
    let keyed = key.optional(auth.0.organisation_id, &id)?;
    Ok(respond(
        reservations::hand_over(&ctx, &auth.0, keyed.as_ref(), id).await?,
    ))
}

/// Either side cancels before hand-over: the quantity and any held funds return.
#[utoipa::path(
    tag = "reservations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Reservation id")),
    responses(
        (status = 200, body = Reservation),
        (status = 403, description = "The organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such reservation of yours", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not held", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reservations/{id}/cancel")]
async fn cancel(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(reservations::cancel(&ctx, &auth.0, id.into_inner()).await?))
}

/// The demander confirms receipt within the confirmation window.
#[utoipa::path(
    tag = "reservations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Reservation id")),
    request_body = Receipt,
    responses(
        (status = 200, body = Reservation),
        (status = 403, description = "Not the demander, or the organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not awaiting confirmation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reservations/{id}/confirm")]
async fn confirm(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
    body: Json<Receipt>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(reservations::acknowledge(&ctx, &auth.0, id.into_inner(), false, body.0).await?))
}

/// The demander disputes the hand-over within the confirmation window; the donor is told.
#[utoipa::path(
    tag = "reservations",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Reservation id")),
    request_body = Receipt,
    responses(
        (status = 200, body = Reservation),
        (status = 403, description = "Not the demander, or the organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not awaiting confirmation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/reservations/{id}/dispute")]
async fn dispute(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
    body: Json<Receipt>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(reservations::acknowledge(&ctx, &auth.0, id.into_inner(), true, body.0).await?))
}
