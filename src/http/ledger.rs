//! The local currency: its configuration, an organisation's account and entries, payments,
//! and the broker's issuance (by hand, and the review of hand-overs' issuance held back),
//! corrections, credit limits and issuance caps.

use super::extract::{etag, Authenticated, IfMatch};
use super::idempotency::{respond, IdempotencyHeader};
use super::json::Json;
use super::problem::Problem;
use crate::app::error::AppError;
use crate::app::ledger::issuance::{self, ClaimApproval, ClaimRejection, IssuanceClaim};
use crate::app::ledger::{
    self, Account, CreditLimit, Currency, CurrencySettings, Entry, IssuanceCap, NewIssuance,
    NewReversal, NewTransfer, Transfer,
};
use crate::app::paging::{Page, PageQuery};
use crate::app::Ctx;
use actix_web::http::header::ETag;
use actix_web::{get, post, put, web, HttpResponse};
use uuid::Uuid;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(get_currency)
        .service(put_currency)
        .service(my_account)
        .service(my_entries)
        .service(create_transfer)
        .service(create_issuance)
        .service(reverse_transfer)
        .service(put_credit_limit)
        .service(put_issuance_cap)
        .service(held_issuance)
        .service(approve_issuance)
        .service(reject_issuance);
}

/// The local currency: code, decimals, euro rate, demurrage and the issuance policy.
#[utoipa::path(
    tag = "ledger",
    responses(
        (status = 200, body = Currency, headers(("ETag" = String, description = "The configuration's version"))),
    )
)]
#[get("/currency")]
async fn get_currency(ctx: web::Data<Ctx>) -> Result<HttpResponse, AppError> {
    let currency = ledger::currency::current(&ctx).await?;
    Ok(HttpResponse::Ok()
        .insert_header(ETag(etag(currency.version)))
        .json(currency))
}

/// Configure the currency (broker). The whole configuration is replaced; send `If-Match`
/// with the ETag you read. Code and decimals cannot change once money has moved (409).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("If-Match" = String, Header, description = "The ETag of the version you changed")),
    request_body = CurrencySettings,
    responses(
        (status = 200, body = Currency),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code or decimals changed after money moved", body = Problem, content_type = "application/problem+json"),
        (status = 412, description = "Changed since you read it", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
        (status = 428, description = "If-Match missing", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/admin/currency")]
async fn put_currency(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    if_match: IfMatch,
    body: Json<CurrencySettings>,
) -> Result<HttpResponse, AppError> {
    let currency = ledger::currency::configure(&ctx, &auth.0, if_match.0, body.0).await?;
    Ok(HttpResponse::Ok()
        .insert_header(ETag(etag(currency.version)))
        .json(currency))
}

/// Your organisation's account: balance, held funds, credit limit.
#[utoipa::path(
    tag = "ledger",
    security(("bearer" = [])),
    responses(
        (status = 200, body = Account),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/accounts/me")]
async fn my_account(ctx: web::Data<Ctx>, auth: Authenticated) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(ledger::my_account(&ctx, &auth.0).await?))
}

/// Your organisation's entries, newest first; pass `next_cursor` as `cursor` for more.
#[utoipa::path(
    tag = "ledger",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<Entry>),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` outside 1 to 100", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/accounts/me/entries")]
async fn my_entries(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let page = ledger::my_entries(&ctx, &auth.0, query.cursor.as_deref(), query.limit()?).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Pay another organisation (verified organisations). `Idempotency-Key` is required: a retry
/// with the same key and body gets the first answer again (with `Idempotency-Replayed: true`)
/// and moves no more money; the same key with another body is a 422.
#[utoipa::path(
    tag = "ledger",
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1 to 255 visible ASCII characters, unique per payment; kept 24 hours")),
    request_body = NewTransfer,
    responses(
        (status = 201, body = Transfer, headers(("Idempotency-Replayed" = String, description = "`true` on a replayed answer"))),
        (status = 400, description = "Idempotency-Key missing or malformed", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Organisation not verified, or the organisation is suspended, or not an owner of the organisation (only owners pay from its account)", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Insufficient funds", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or the key was used for another request", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/transfers")]
async fn create_transfer(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    key: IdempotencyHeader,
    body: Json<NewTransfer>,
) -> Result<HttpResponse, AppError> {
    let keyed = key.required(auth.0.organisation_id, &body.0)?;
    Ok(respond(
        ledger::pay(&ctx, &auth.0, Some(&keyed), body.0).await?,
    ))
}

/// Issue money to an organisation, with a reason (broker). `Idempotency-Key` is required.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("Idempotency-Key" = String, Header, description = "1 to 255 visible ASCII characters; kept 24 hours")),
    request_body = NewIssuance,
    responses(
        (status = 201, body = Transfer, headers(("Idempotency-Replayed" = String, description = "`true` on a replayed answer"))),
        (status = 400, description = "Idempotency-Key missing or malformed", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or the key was used for another request", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/issuance")]
async fn create_issuance(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    key: IdempotencyHeader,
    body: Json<NewIssuance>,
) -> Result<HttpResponse, AppError> {
    let keyed = key.required(auth.0.organisation_id, &body.0)?;
    Ok(respond(
        ledger::mint(&ctx, &auth.0, Some(&keyed), body.0).await?,
    ))
}

/// Correct a posted transfer by reversing it (broker): a new transfer moves the amount back.
/// A transfer is reversed at most once (409). `Idempotency-Key` is optional.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The transfer to reverse"),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters"),
    ),
    request_body = NewReversal,
    responses(
        (status = 201, body = Transfer),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such transfer", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not posted, a reversal itself, already reversed, or the payee's funds no longer cover it", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/transfers/{id}/reverse")]
async fn reverse_transfer(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
    key: IdempotencyHeader,
    body: Json<NewReversal>,
) -> Result<HttpResponse, AppError> {
    let keyed = key.optional(auth.0.organisation_id, &body.0)?;
    Ok(respond(
        ledger::reverse_transfer(&ctx, &auth.0, keyed.as_ref(), id.into_inner(), body.0).await?,
    ))
}

/// Set how far an organisation's account may go below zero (broker).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("organisation_id" = Uuid, Path, description = "The organisation")),
    request_body = CreditLimit,
    responses(
        (status = 200, body = Account),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The account already uses more credit", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/admin/accounts/{organisation_id}/credit-limit")]
async fn put_credit_limit(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    organisation_id: web::Path<Uuid>,
    body: Json<CreditLimit>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(ledger::set_credit_limit(&ctx, &auth.0, organisation_id.into_inner(), body.0).await?))
}

/// Set or lift an organisation's monthly cap on issuance for hand-overs (broker): beyond it in
/// a calendar month (UTC), what fits is paid and the rest of a hand-over's issuance is held for
/// review. No cap by default.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("organisation_id" = Uuid, Path, description = "The organisation")),
    request_body = IssuanceCap,
    responses(
        (status = 200, body = Account),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such organisation", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/admin/accounts/{organisation_id}/issuance-cap")]
async fn put_issuance_cap(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    organisation_id: web::Path<Uuid>,
    body: Json<IssuanceCap>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok()
        .json(ledger::set_issuance_cap(&ctx, &auth.0, organisation_id.into_inner(), body.0).await?))
}

/// Hand-overs' issuance held for review (broker), newest first: a mass per unit above what
/// the category plausibly weighs, over the organisation's monthly cap, or disputed.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<IssuanceClaim>),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` outside 1 to 100", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/issuance/held")]
async fn held_issuance(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    query: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let query = query.into_inner();
    let page = issuance::held(&ctx, &auth.0, query.cursor.as_deref(), query.limit()?).await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Pay a held issuance in full (broker), with an optional note for the audit log; what was
/// paid within the cap is not paid again. `Idempotency-Key` is optional; without one a second
/// approval is a 409.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(
        ("id" = Uuid, Path, description = "The held claim"),
        ("Idempotency-Key" = Option<String>, Header, description = "1 to 255 visible ASCII characters"),
    ),
    request_body = ClaimApproval,
    responses(
        (status = 200, body = IssuanceClaim),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such claim", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The claim is not held for review", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields, or the key was used for another request", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/issuance/held/{id}/approve")]
async fn approve_issuance(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
    key: IdempotencyHeader,
    body: Json<ClaimApproval>,
) -> Result<HttpResponse, AppError> {
    let keyed = key.optional(auth.0.organisation_id, &body.0)?;
    Ok(respond(
        issuance::approve(&ctx, &auth.0, keyed.as_ref(), id.into_inner(), body.0).await?,
    ))
}

/// Refuse a held issuance (broker), with a reason the donor is told.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "The held claim")),
    request_body = ClaimRejection,
    responses(
        (status = 200, body = IssuanceClaim),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such claim", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "The claim is not held for review", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/issuance/held/{id}/reject")]
async fn reject_issuance(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
    body: Json<ClaimRejection>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(issuance::reject(&ctx, &auth.0, id.into_inner(), body.0).await?))
}
