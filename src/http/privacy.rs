//! Personal data (AVG/GDPR): a person downloads what kringloop holds about them and deletes
//! their account.

use super::extract::Authenticated;
use super::json::Json;
use super::problem::Problem;
use crate::app::accounts::privacy::{self, PersonalData};
use crate::app::error::AppError;
use crate::app::Ctx;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{delete, get, web, HttpResponse};
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;
use utoipa::ToSchema;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(export).service(delete_account);
}

/// Everything kringloop holds about the signed-in person, as one JSON document (a download):
/// their account and settings, their organisation, sessions, reset links, failed sign-ins on
/// record, every notification with its content, the wishes and reservations they made, and
/// their actions as broker.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    responses(
        (status = 200, body = PersonalData),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/me/export")]
async fn export(ctx: web::Data<Ctx>, auth: Authenticated) -> Result<HttpResponse, AppError> {
    let data = privacy::export(&ctx, &auth.0).await?;
    Ok(HttpResponse::Ok()
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(
                "kringloop-personal-data.json".into(),
            )],
        })
        .json(data))
}

/// The password, to delete an account.
#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DeleteAccountRequest {
    #[schema(value_type = String, format = Password)]
    password: SecretString,
}

/// Deletes the signed-in person's account, given their password. Their address, name,
/// password, settings, sessions, reset links, failed sign-ins and notifications are gone at
/// once and every token they hold stops working; what the ledger and the flows keep (amounts,
/// kilograms, districts) stays, without the person. The organisation's only owner passes
/// ownership on first while other members remain (409 `last-owner`); the city's last broker
/// cannot leave (409 `last-broker`). When nobody is left in the organisation it is closed: its
/// name, address and registration number are taken off, it is suspended and the other side of
/// each open reservation is told.
#[utoipa::path(
    tag = "accounts",
    security(("bearer" = [])),
    request_body = DeleteAccountRequest,
    responses(
        (status = 204, description = "Deleted"),
        (status = 400, description = "Unreadable body", body = Problem, content_type = "application/problem+json"),
        (status = 401, description = "Not authenticated", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "`last-owner` or `last-broker`", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not JSON", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Wrong password", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/me")]
async fn delete_account(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    body: Json<DeleteAccountRequest>,
) -> Result<HttpResponse, AppError> {
    let password = body.0.password.expose_secret().to_owned();
    privacy::delete_account(&ctx, &auth.0, password).await?;
    Ok(HttpResponse::NoContent().finish())
}
