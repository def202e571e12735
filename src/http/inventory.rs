//! Pre-demolition inventories: importing a sheet, its template and columns, and a site's
//! passports as a sheet.

use super::extract::Authenticated;
use super::problem::{HttpProblem, Problem, ProblemType};
use crate::app::error::AppError;
use crate::app::inventory::{self, ImportOptions, ImportReport};
use crate::app::Ctx;
use crate::domain::geo::Location;
use crate::domain::inventory::{Column, COLUMNS};
use crate::domain::validation::FieldErrors;
use actix_web::http::StatusCode;
use actix_web::web::{self, Bytes, BytesMut};
use actix_web::{get, post, HttpResponse};
use futures_util::StreamExt as _;
use serde::Deserialize;
use utoipa::IntoParams;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(import)
        .service(template)
        .service(columns)
        .service(sheet);
}

/// Reads an upload's body up to `limit` bytes; past it, 413.
pub async fn read_upload(mut payload: web::Payload, limit: usize) -> actix_web::Result<Bytes> {
    let mut body = BytesMut::new();
    while let Some(chunk) = payload.next().await {
        let chunk = chunk?;
        if body.len() + chunk.len() > limit {
            return Err(HttpProblem::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                ProblemType::PayloadTooLarge,
                Some(format!("an upload may be at most {limit} bytes")),
            )
            .into());
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body.freeze())
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct ImportQuery {
    /// Import the valid rows and list the others as skipped (otherwise one bad row stops
    /// the whole sheet).
    #[serde(default)]
    pub valid_rows_only: bool,
    /// Where the lots are collected (with `lon`); the organisation's own place when absent.
    pub lat: Option<f64>,
    pub lon: Option<f64>,
    /// The pickup address, shown to the parties of a reservation only.
    pub address: Option<String>,
}

impl ImportQuery {
    fn options(self) -> Result<ImportOptions, AppError> {
        let pickup = match (self.lat, self.lon) {
            (Some(lat), Some(lon)) => {
                let mut errors = FieldErrors::new();
                Location::parse(lat, lon, "/pickup", &mut errors);
                errors.finish()?;
                Some((Location { lat, lon }, self.address))
            }
            (None, None) => None,
            _ => return Err(AppError::BadRequest("give lat and lon together".into())),
        };
        Ok(ImportOptions {
            pickup,
            valid_rows_only: self.valid_rows_only,
        })
    }
}

/// Import a pre-demolition inventory: the body is the sheet, CSV (UTF-8; comma, semicolon
/// or tab) or XLSX (its first sheet), one row per element in the columns of
/// `GET /passports/inventory/columns`. Every row is checked with the passport rules; unless
/// `valid_rows_only`, one bad cell means nothing is created and the 422 lists every bad cell
/// as `/rows/{row}/{column}`. Valid rows become passports and listings (announced until their
/// `available_from`) in one transaction; a row with an uncleared hazard gets its passport but
/// no listing.
#[utoipa::path(
    tag = "passports",
    security(("bearer" = [])),
    params(ImportQuery),
    request_body(content = String, content_type = "text/csv", description = "The sheet (or XLSX)"),
    responses(
        (status = 201, body = ImportReport),
        (status = 403, description = "Organisation not verified, or suspended", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the upload limit", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Bad cells (each listed), or not a sheet", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/passports/inventory")]
async fn import(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    query: web::Query<ImportQuery>,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let options = query.into_inner().options()?;
    let bytes = read_upload(payload, ctx.max_upload_bytes).await?;
    let report = inventory::import(&ctx, &auth.0, &bytes, options, |_, _| ()).await?;
    Ok(HttpResponse::Created().json(report))
}

/// The template sheet: the header and one example row (CSV).
#[utoipa::path(
    tag = "passports",
    responses((status = 200, body = String, content_type = "text/csv"))
)]
#[get("/passports/inventory/template.csv")]
async fn template() -> HttpResponse {
    HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header((
            "Content-Disposition",
            "attachment; filename=\"kringloop-inventory.csv\"",
        ))
        .body(inventory::template_csv())
}

/// The sheet's columns: name, whether required, an example and what it means.
#[utoipa::path(
    tag = "passports",
    responses((status = 200, body = Vec<Column>))
)]
#[get("/passports/inventory/columns")]
async fn columns() -> HttpResponse {
    HttpResponse::Ok().json(COLUMNS)
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct SheetQuery {
    /// Only the passports whose material comes from this site or building (`origin.site`).
    pub site: Option<String>,
}

/// The organisation's passports (of one site) as an inventory sheet in the import's columns
/// (CSV): what it exports imports again.
#[utoipa::path(
    tag = "passports",
    security(("bearer" = [])),
    params(SheetQuery),
    responses((status = 200, body = String, content_type = "text/csv"))
)]
#[get("/passports/inventory/sheet.csv")]
async fn sheet(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    query: web::Query<SheetQuery>,
) -> Result<HttpResponse, AppError> {
    let sheet = inventory::export_sheet(&ctx, &auth.0, query.site.as_deref()).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .body(sheet))
}
