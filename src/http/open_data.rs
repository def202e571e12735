//! Open data endpoints (`/api/v1/open/…`): anyone may read them, from any web origin.

use super::problem::Problem;
use crate::app::error::AppError;
use crate::app::{open_data, Ctx};
use crate::domain::validation::{FieldErrors, Invalid};
use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(listings_geojson)
        .service(flows_csv)
        .service(flows_json);
}

/// The largest page of the open listings.
const MAX_OPEN_PAGE: i64 = 10_000;

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OpenPage {
    /// The `after` of the `next` link.
    after: Option<Uuid>,
    /// 1 to 10000 (default 5000). Outside that: 422.
    #[param(minimum = 1, maximum = 10000)]
    limit: Option<i64>,
}

/// Current and announced listings as GeoJSON: category, quantity, mass, district, a location
/// rounded to about 100 m, and dates. No person, contact or exact address. Further pages are
/// linked with `Link: <…>; rel="next"`.
#[utoipa::path(
    tag = "open data",
    params(OpenPage),
    responses(
        (status = 200, description = "GeoJSON FeatureCollection", content_type = "application/geo+json", body = Object),
        (status = 400, description = "Malformed query", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` outside 1 to 10000", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/listings.geojson")]
async fn listings_geojson(
    ctx: web::Data<Ctx>,
    page: web::Query<OpenPage>,
) -> Result<HttpResponse, AppError> {
    // A larger page is refused, not cut down, as every list's is.
    let limit = page.limit.unwrap_or(5000);
    if !(1..=MAX_OPEN_PAGE).contains(&limit) {
        return Err(FieldErrors::single(
            "/limit",
            Invalid::new(
                "out_of_range",
                format!("must lie between 1 and {MAX_OPEN_PAGE}"),
            ),
        )
        .into());
    }
    let (collection, next) = open_data::listings_geojson(&ctx, page.after, limit).await?;
    let mut response = HttpResponse::Ok();
    response.content_type("application/geo+json");
    if let Some(next) = next {
        let link = format!(
            "<{}/api/v1/open/listings.geojson?after={next}&limit={limit}>; rel=\"next\"",
            ctx.public_url
        );
        response.insert_header((header::LINK, link));
    }
    Ok(response.json(collection))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OpenPeriod {
    /// First month, `YYYY-MM` (default: eleven months before `to`).
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    from: Option<String>,
    /// Last month, `YYYY-MM` (default: last month).
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    to: Option<String>,
}

fn licence_link() -> (header::HeaderName, String) {
    (
        header::LINK,
        format!("<{}>; rel=\"license\"", open_data::FLOWS_LICENCE_URL),
    )
}

/// Flows per month, district pair and root category, as CSV under CC BY 4.0 (see the `Link`
/// header). Figures behind fewer than three organisations on either side are suppressed, with
/// secondary suppression so that none can be worked out from the totals.
#[utoipa::path(
    tag = "open data",
    params(OpenPeriod),
    responses(
        (status = 200, description = "One line per cell, then per total (`*` where summed over)", content_type = "text/csv", body = String),
        (status = 422, description = "Invalid period", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/flows.csv")]
async fn flows_csv(
    ctx: web::Data<Ctx>,
    period: web::Query<OpenPeriod>,
) -> Result<HttpResponse, AppError> {
    let period = period.into_inner();
    let flows = open_data::flows(&ctx, period.from, period.to).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .insert_header(licence_link())
        .body(open_data::flows_csv(&flows)))
}

/// The same flows as JSON, with the licence in the document.
#[utoipa::path(
    tag = "open data",
    params(OpenPeriod),
    responses(
        (status = 200, body = open_data::OpenFlows),
        (status = 422, description = "Invalid period", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/flows.json")]
async fn flows_json(
    ctx: web::Data<Ctx>,
    period: web::Query<OpenPeriod>,
) -> Result<HttpResponse, AppError> {
    let period = period.into_inner();
    let flows = open_data::flows(&ctx, period.from, period.to).await?;
    Ok(HttpResponse::Ok().insert_header(licence_link()).json(flows))
}
