//! The broker's audit log.

use super::extract::{Authenticated, Paged};
use super::problem::Problem;
use crate::app::audit::{self, AuditEntry, AuditQuery};
use crate::app::error::AppError;
use crate::app::paging::{Page, PageQuery};
use crate::app::Ctx;
use actix_web::{get, web, HttpResponse};

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(audit_log);
}

/// Every broker action (verifying and suspending organisations, categories, districts, the
/// currency, issuance, reversals, credit limits, outbox retries, moderation), newest first:
/// who, what, when, the object, its state before and after, and the reason (brokers only).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(AuditQuery, PageQuery),
    responses(
        (status = 200, body = Page<AuditEntry>),
        (status = 400, description = "Bad cursor, unknown action or unreadable moment", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` outside 1 to 100, or `to` not after `from`", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/admin/audit")]
async fn audit_log(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    query: Paged<AuditQuery>,
) -> Result<HttpResponse, AppError> {
    let page = audit::list(
        &ctx,
        &auth.0,
        &query.filter,
        query.page.cursor.as_deref(),
        query.page.limit()?,
    )
    .await?;
    Ok(HttpResponse::Ok().json(page))
}
