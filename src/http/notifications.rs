//! The in-app feed and notification settings.

use super::extract::{Authenticated, Paged};
use super::json::Json;
use super::problem::Problem;
use crate::app::error::AppError;
use crate::app::feed::{self, Notification, NotificationSettings};
use crate::app::outbox::{self as outbox_uses, OutboxEntry};
use crate::app::paging::{Page, PageQuery};
use crate::app::Ctx;
use crate::domain::outbox::OutboxStatus;
use actix_web::{get, post, put, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list)
        .service(mark_read)
        .service(get_settings)
        .service(put_settings)
        .service(outbox)
        .service(retry);
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OutboxQuery {
    /// Which rows to list; failed by default.
    #[param(value_type = Option<OutboxStatus>)]
    status: Option<String>,
}

/// Notifications by delivery status, newest first; failed mail waits here for a broker.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(OutboxQuery, PageQuery),
    responses(
        (status = 200, body = Page<OutboxEntry>),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` outside 1 to 100", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/outbox")]
async fn outbox(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    query: Paged<OutboxQuery>,
) -> Result<HttpResponse, AppError> {
    let page = outbox_uses::outbox(
        &ctx,
        &auth.0,
        query.filter.status.as_deref(),
        query.page.cursor.as_deref(),
        query.page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Send a failed mail again, with fresh attempts.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Outbox entry id")),
    responses(
        (status = 200, body = OutboxEntry),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Not failed", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/outbox/{id}/retry")]
async fn retry(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(outbox_uses::retry(&ctx, &auth.0, id.into_inner()).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FeedQuery {
    /// Only notifications not yet read.
    #[serde(default)]
    unread: bool,
}

/// The user's in-app notifications, newest first.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(FeedQuery, PageQuery),
    responses(
        (status = 200, body = Page<Notification>),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` outside 1 to 100", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/notifications")]
async fn list(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    query: Paged<FeedQuery>,
) -> Result<HttpResponse, AppError> {
    let page = feed::feed(
        &ctx,
        &auth.0,
        query.filter.unread,
        query.page.cursor.as_deref(),
        query.page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}

/// Mark one of the user's notifications read.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Notification id")),
    responses(
        (status = 200, body = Notification),
        (status = 404, description = "Not one of yours", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/notifications/{id}/read")]
async fn mark_read(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(feed::mark_read(&ctx, &auth.0, id.into_inner()).await?))
}

/// How the user wants to be told.
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    responses((status = 200, body = NotificationSettings))
)]
#[get("/me/notification-settings")]
async fn get_settings(ctx: web::Data<Ctx>, auth: Authenticated) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(feed::settings(&ctx, &auth.0).await?))
}

/// Set e-mail on or off, instant or daily digest, and quiet hours (UTC).
#[utoipa::path(
    tag = "notifications",
    security(("bearer" = [])),
    request_body = NotificationSettings,
    responses(
        (status = 200, body = NotificationSettings),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/me/notification-settings")]
async fn put_settings(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    body: Json<NotificationSettings>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(feed::set_settings(&ctx, &auth.0, body.0).await?))
}
