//! Stream analysis endpoints: flows, the Sankey diagram, district balances, the pipeline,
//! forecasts and the EURAL report.

use super::extract::Authenticated;
use super::problem::Problem;
use crate::app::error::AppError;
use crate::app::flows::{
    self, DistrictBalance, FlowQuery, FlowReport, Pipeline, Sankey, SupplyForecast,
};
use crate::app::Ctx;
use actix_web::{get, web, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(report)
        .service(sankey)
        .service(eural_csv)
        .service(balance)
        .service(pipeline)
        .service(forecast);
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct FlowsParams {
    /// First month, `YYYY-MM` (default: eleven months before `to`).
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    from: Option<String>,
    /// Last month, `YYYY-MM` (default: this month).
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    to: Option<String>,
    origin_district: Option<Uuid>,
    destination_district: Option<Uuid>,
    /// A category and everything below it: its code (as in `GET /categories`) or its id.
    category: Option<String>,
    /// EURAL code as written, e.g. `17 02 01`.
    eural_code: Option<String>,
    /// Comma-separated: origin_district, destination_district, category, eural_code, month.
    group_by: Option<String>,
    /// Group categories under their ancestor at this depth (0 = roots); default the category
    /// itself.
    category_level: Option<u8>,
    /// Count distinct organisations on each side (reads the flows, not the rollups).
    #[serde(default)]
    parties: bool,
}

/// Flows: mass, CO2e avoided (net of transport), hand-overs and, with `parties=true`, distinct
/// organisations, grouped and filtered as asked. The broker sees all flows; an organisation
/// only those it gave or received.
#[utoipa::path(
    tag = "flows",
    security(("bearer" = [])),
    params(FlowsParams),
    responses(
        (status = 200, body = FlowReport),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid period or grouping", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/flows")]
async fn report(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    params: web::Query<FlowsParams>,
) -> Result<HttpResponse, AppError> {
    let p = params.into_inner();
    let query = FlowQuery {
        from: p.from,
        to: p.to,
        origin_district: p.origin_district,
        destination_district: p.destination_district,
        category: p.category,
        eural_code: p.eural_code,
        group_by: p.group_by,
        category_level: p.category_level,
        parties: p.parties,
    };
    Ok(HttpResponse::Ok().json(flows::report(&ctx, &auth.0, query).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct SankeyParams {
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    from: Option<String>,
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    to: Option<String>,
    /// `district` (origin → destination, the default) or `category` (origin → category).
    #[param(inline)]
    by: Option<SankeyBy>,
    /// With `by=category`: the depth of the tree to show (default 0, the roots).
    category_level: Option<u8>,
}

/// What a Sankey diagram's links lead to from the origin districts.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum SankeyBy {
    District,
    Category,
}

/// Flows as nodes and links for a Sankey diagram (brokers).
#[utoipa::path(
    tag = "flows",
    security(("bearer" = [])),
    params(SankeyParams),
    responses(
        (status = 200, body = Sankey),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid period", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/flows/sankey")]
async fn sankey(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    params: web::Query<SankeyParams>,
) -> Result<HttpResponse, AppError> {
    let p = params.into_inner();
    let by_category = p.by == Some(SankeyBy::Category);
    let diagram = flows::sankey(&ctx, &auth.0, p.from, p.to, by_category, p.category_level).await?;
    Ok(HttpResponse::Ok().json(diagram))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PeriodParams {
    /// First month, `YYYY-MM`.
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    from: Option<String>,
    /// Last month, `YYYY-MM`.
    #[param(pattern = r"^[0-9]{4}-(0[1-9]|1[0-2])$")]
    to: Option<String>,
}

/// Monthly mass kept out of the waste stream per EURAL code, as CSV (brokers).
#[utoipa::path(
    tag = "flows",
    security(("bearer" = [])),
    params(PeriodParams),
    responses(
        (status = 200, description = "month,eural_code,mass_kg,hand_overs", content_type = "text/csv", body = String),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid period", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/flows/eural.csv")]
async fn eural_csv(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    params: web::Query<PeriodParams>,
) -> Result<HttpResponse, AppError> {
    let p = params.into_inner();
    let csv = flows::eural_csv(&ctx, &auth.0, p.from, p.to).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/csv; charset=utf-8")
        .body(csv))
}

/// A district's balance: in, out and kept material; stock at the start and end; listed,
/// handed over, withdrawn or expired; announced ahead (brokers).
#[utoipa::path(
    tag = "flows",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "District id (current or retired)"), PeriodParams),
    responses(
        (status = 200, body = DistrictBalance),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such district", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid period", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/districts/{id}/balance")]
async fn balance(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
    params: web::Query<PeriodParams>,
) -> Result<HttpResponse, AppError> {
    let p = params.into_inner();
    let answer = flows::balance(&ctx, &auth.0, id.into_inner(), p.from, p.to).await?;
    Ok(HttpResponse::Ok().json(answer))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PipelineParams {
    /// Months ahead, 1 to 36 (default 12).
    #[param(minimum = 1, maximum = 36)]
    months: Option<u8>,
    /// Depth of the category tree to compare at (default 0, the roots).
    category_level: Option<u8>,
}

/// Announced supply against open wish demand per category and district, month by month, with
/// the gap and what a storage hub would hold (brokers).
#[utoipa::path(
    tag = "flows",
    security(("bearer" = [])),
    params(PipelineParams),
    responses(
        (status = 200, body = Pipeline),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid horizon", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/pipeline")]
async fn pipeline(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    params: web::Query<PipelineParams>,
) -> Result<HttpResponse, AppError> {
    let p = params.into_inner();
    Ok(HttpResponse::Ok().json(flows::pipeline(&ctx, &auth.0, p.months, p.category_level).await?))
}

#[derive(Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ForecastParams {
    /// A category and its subtree, by code or id (default: each root category).
    category: Option<String>,
    /// A district (the city when it has too little history).
    district: Option<Uuid>,
    /// Months ahead, 1 to 12 (default 6).
    #[param(minimum = 1, maximum = 12)]
    months: Option<u8>,
}

/// Monthly supply forecasts with 80 % and 95 % intervals and the back-test's MASE beside the
/// seasonal naive's (brokers).
#[utoipa::path(
    tag = "flows",
    security(("bearer" = [])),
    params(ForecastParams),
    responses(
        (status = 200, body = SupplyForecast),
        (status = 401, description = "Not signed in", body = Problem, content_type = "application/problem+json"),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such category or district", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid horizon", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/forecast")]
async fn forecast(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    params: web::Query<ForecastParams>,
) -> Result<HttpResponse, AppError> {
    let p = params.into_inner();
    let answer =
        flows::forecast(&ctx, &auth.0, p.category.as_deref(), p.district, p.months).await?;
    Ok(HttpResponse::Ok().json(answer))
}
