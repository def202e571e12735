//! Open data endpoints: anyone may read them.

use super::problem::Problem;
use crate::app::error::AppError;
use crate::app::{open_data, Ctx};
use actix_web::http::header;
use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::IntoParams;
use uuid::Uuid;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(listings_geojson);
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct OpenPage {
    /// The `after` of the `next` link.
    after: Option<Uuid>,
    /// 1 to 10000 (default 5000).
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
    )
)]
#[get("/open/listings.geojson")]
async fn listings_geojson(
    ctx: web::Data<Ctx>,
    page: web::Query<OpenPage>,
) -> Result<HttpResponse, AppError> {
    let limit = page.limit.unwrap_or(5000).clamp(1, 10_000);
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
