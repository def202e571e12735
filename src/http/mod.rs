//! HTTP: routes, extractors, request and response types, and the mapping of errors to
//! problem+json. Handlers extract, call one use case, and answer.

pub mod accounts;
pub mod catalog;
pub mod extract;
pub mod flows;
pub mod guard;
pub mod idempotency;
pub mod json;
pub mod ledger;
pub mod listings;
pub mod notifications;
pub mod open_data;
pub mod ops;
pub mod passports;
pub mod problem;
pub mod reservations;
pub mod wishes;

use crate::app::Ctx;
use crate::telemetry;
use actix_web::dev::Server;
use actix_web::middleware::ErrorHandlers;
use actix_web::{web, App, HttpServer};
use actix_web_prom::{PrometheusMetrics, PrometheusMetricsBuilder};
use std::net::TcpListener;
use std::time::Duration;
use tracing_actix_web::TracingLogger;
use utoipa::openapi::security::{HttpAuthScheme, HttpBuilder, SecurityScheme};
use utoipa::{Modify, OpenApi};
use utoipa_actix_web::service_config::ServiceConfig;
use utoipa_actix_web::{scope, AppExt};
use utoipa_swagger_ui::SwaggerUi;

#[derive(OpenApi)]
#[openapi(
    info(
        title = "kringloop",
        description = "The open service a city runs to keep building materials in its own loop. \
                       Errors are RFC 9457 problem+json with a stable `type` per kind.",
        license(name = "EUPL-1.2")
    ),
    components(schemas(problem::Problem, problem::ProblemField, problem::ProblemType)),
    modifiers(&BearerAuth),
    tags(
        (name = "accounts", description = "Registration, tokens and organisations"),
        (name = "admin", description = "The city's materials broker"),
        (name = "catalog", description = "Categories and districts"),
        (name = "passports", description = "Material passports and their custody chain"),
        (name = "listings", description = "Offers of material and stock search"),
        (name = "wishes", description = "Standing demand, its matches and bundles"),
        (name = "reservations", description = "Holding material, hand-over and flows"),
        (name = "flows", description = "Stream analysis: flows, balances, pipeline and forecasts"),
        (name = "open data", description = "Published for anyone, without personal data"),
        (name = "notifications", description = "The in-app feed and how to be told"),
        (name = "ledger", description = "The city's local currency: accounts, entries and payments"),
        (name = "operations", description = "Health and readiness"),
    )
)]
struct ApiDoc;

struct BearerAuth;

impl Modify for BearerAuth {
    fn modify(&self, openapi: &mut utoipa::openapi::OpenApi) {
        let components = openapi.components.get_or_insert_with(Default::default);
        components.add_security_scheme(
            "bearer",
            SecurityScheme::Http(
                HttpBuilder::new()
                    .scheme(HttpAuthScheme::Bearer)
                    .bearer_format("JWT")
                    .build(),
            ),
        );
    }
}

/// Every route of the contract; the same list feeds the server and the OpenAPI document.
fn configure(cfg: &mut ServiceConfig) {
    ops::routes(cfg);
    cfg.service(
        scope::scope("/api/v1")
            .configure(accounts::routes)
            .configure(catalog::routes)
            .configure(passports::routes)
            .configure(listings::routes)
            .configure(open_data::routes)
            .configure(wishes::routes)
            .configure(reservations::routes)
            .configure(flows::routes)
            .configure(notifications::routes)
            .configure(ledger::routes),
    );
}

/// The OpenAPI document, derived from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(configure)
        .split_for_parts();
    doc
}

/// The document as committed in `openapi/kringloop.json`.
pub fn openapi_json() -> String {
    let mut json = openapi().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

/// Builds the HTTP server on `listener`; it stops gracefully on SIGINT and SIGTERM.
pub fn server(
    ctx: web::Data<Ctx>,
    listener: TcpListener,
    workers: usize,
    max_body_bytes: usize,
) -> anyhow::Result<Server> {
    let metrics: PrometheusMetrics = PrometheusMetricsBuilder::new("kringloop")
        .endpoint("/metrics")
        .mask_unmatched_patterns("UNMATCHED")
        .build()
        .map_err(|error| anyhow::anyhow!("metrics: {error}"))?;
    let doc = openapi();
    let known = web::Data::new(ops::KnownRoutes::from_openapi(&doc));
    let server = HttpServer::new(move || {
        let (app, _) = App::new()
            .into_utoipa_app()
            .app_data(ctx.clone())
            .app_data(known.clone())
            .app_data(web::PayloadConfig::new(max_body_bytes))
            .app_data(web::QueryConfig::default().error_handler(problem::query_error))
            .app_data(web::PathConfig::default().error_handler(problem::path_error))
            .configure(configure)
            .split_for_parts();
        app.configure(crate::web::routes)
            .route("/docs", web::get().to(ops::docs_redirect))
            .service(SwaggerUi::new("/docs/{_:.*}").url("/openapi.json", doc.clone()))
            .default_service(web::to(ops::fallback))
            .wrap(actix_web::middleware::from_fn(crate::web::page_headers))
            .wrap(actix_web::middleware::from_fn(guard::refuse_nul))
            .wrap(actix_web::middleware::from_fn(guard::safe_headers))
            .wrap(ErrorHandlers::new().default_handler(problem::ensure_problem))
            .wrap(metrics.clone())
            .wrap(actix_web::middleware::from_fn(telemetry::log_request))
            .wrap(TracingLogger::<telemetry::RequestSpan>::new())
    })
    .workers(workers)
    .shutdown_timeout(10)
    .client_request_timeout(Duration::from_secs(30))
    .listen(listener)?
    .run();
    Ok(server)
}
