//! HTTP: routes, extractors, request and response types, and the mapping of errors to
//! problem+json. Handlers extract, call one use case, and answer.

pub mod accounts;
pub mod audit;
pub mod catalog;
pub mod cors;
pub mod extract;
pub mod flows;
pub mod guard;
pub mod idempotency;
pub mod inventory;
pub mod json;
pub mod ledger;
pub mod listings;
pub mod moderation;
pub mod notifications;
pub mod open_data;
pub mod ops;
pub mod passports;
pub mod privacy;
pub mod problem;
pub mod reservations;
pub mod responses;
pub mod wishes;

use crate::app::Ctx;
use crate::config::Settings;
use crate::telemetry;
use actix_web::dev::Server;
use actix_web::middleware::{Condition, ErrorHandlers};
use actix_web::{web, App, HttpResponse, HttpServer};
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
/// `cors_origins`: the web origins whose pages may call the API (see [`cors`]).
fn configure(cfg: &mut ServiceConfig, cors_origins: &[String]) {
    ops::routes(cfg);
    // Open data first: its scope takes `/api/v1/open/…` before the API's does.
    cfg.service(
        scope::scope("/api/v1/open")
            .wrap(cors::open_data())
            .configure(open_data::routes),
    );
    cfg.service(
        scope::scope("/api/v1")
            .wrap(Condition::new(
                !cors_origins.is_empty(),
                cors::api(cors_origins),
            ))
            .configure(accounts::routes)
            .configure(catalog::routes)
            .configure(inventory::routes)
            .configure(passports::routes)
            .configure(listings::routes)
            .configure(wishes::routes)
            .configure(reservations::routes)
            .configure(flows::routes)
            .configure(notifications::routes)
            .configure(ledger::routes)
            .configure(audit::routes)
            .configure(moderation::routes)
            .configure(privacy::routes),
    );
}

/// The OpenAPI document, derived from the handlers.
pub fn openapi() -> utoipa::openapi::OpenApi {
    let (_, doc) = App::new()
        .into_utoipa_app()
        .openapi(ApiDoc::openapi())
        .configure(|cfg| configure(cfg, &[]))
        .split_for_parts();
    let mut doc = doc;
    responses::complete(&mut doc);
    doc
}

/// The document as committed in `openapi/kringloop.json`.
pub fn openapi_json() -> String {
    let mut json = openapi().to_pretty_json().unwrap_or_default();
    json.push('\n');
    json
}

/// How the HTTP server is set up, beside its context and listener.
#[derive(Debug)]
pub struct ServerOptions {
    pub workers: usize,
    pub max_body_bytes: usize,
    /// Web origins whose pages may call the API, as [`cors::origins`] checked them.
    pub cors_origins: Vec<String>,
    /// Whose forwarded headers tell the client's address (`KRINGLOOP_TRUSTED_PROXIES`).
    pub trusted_proxies: extract::TrustedProxies,
    /// Where `/metrics` is served instead of on the main listener (`KRINGLOOP_METRICS_BIND`).
    pub metrics: Option<TcpListener>,
}

impl ServerOptions {
    /// The options `settings` ask for, with `workers` HTTP workers; binds the metrics address.
    pub fn from_settings(settings: &Settings, workers: usize) -> anyhow::Result<Self> {
        let metrics = match &settings.metrics_bind {
            Some(address) => Some(
                TcpListener::bind(address)
                    .map_err(|error| anyhow::anyhow!("binding {address} for metrics: {error}"))?,
            ),
            None => None,
        };
        Ok(ServerOptions {
            workers,
            max_body_bytes: settings.max_body_bytes,
            cors_origins: cors::origins(&settings.cors_origins)?,
            trusted_proxies: extract::TrustedProxies::parse(&settings.trusted_proxies)?,
            metrics,
        })
    }
}

/// Where the request metrics are read.
const METRICS_PATH: &str = "/metrics";

/// Builds the HTTP server on `listener`; it stops gracefully on SIGINT and SIGTERM. With a
/// metrics listener, a second small server answers `/metrics` there (and the main one does
/// not).
pub fn server(
    ctx: web::Data<Ctx>,
    listener: TcpListener,
    options: ServerOptions,
) -> anyhow::Result<Server> {
    let ServerOptions {
        workers,
        max_body_bytes,
        cors_origins,
        trusted_proxies,
        metrics: metrics_listener,
    } = options;
    let trusted_proxies = web::Data::new(trusted_proxies);
    let mut metrics = PrometheusMetricsBuilder::new("kringloop")
        // Paths no route knows share one label; made-up methods share one (guard::known_method).
        .mask_unmatched_patterns("UNMATCHED");
    if metrics_listener.is_none() {
        metrics = metrics.endpoint(METRICS_PATH);
    }
    let metrics: PrometheusMetrics = metrics
        .build()
        .map_err(|error| anyhow::anyhow!("metrics: {error}"))?;
    if let Some(listener) = metrics_listener {
        actix_web::rt::spawn(metrics_server(metrics.registry.clone(), listener)?);
    }
    let doc = openapi();
    let known = web::Data::new(ops::KnownRoutes::from_openapi(&doc));
    let server = HttpServer::new(move || {
        let (app, _) = App::new()
            .into_utoipa_app()
            .app_data(ctx.clone())
            .app_data(known.clone())
            .app_data(trusted_proxies.clone())
            .app_data(web::PayloadConfig::new(max_body_bytes))
            .app_data(web::QueryConfig::default().error_handler(problem::query_error))
            .app_data(web::PathConfig::default().error_handler(problem::path_error))
            .configure(|cfg| configure(cfg, &cors_origins))
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
            .wrap(actix_web::middleware::from_fn(guard::known_method))
    })
    .workers(workers)
    .shutdown_timeout(10)
    .client_request_timeout(Duration::from_secs(30))
    .listen(listener)?
    .run();
    Ok(server)
}

/// The server of the metrics address: `GET /metrics` and nothing else.
fn metrics_server(registry: prometheus::Registry, listener: TcpListener) -> anyhow::Result<Server> {
    let registry = web::Data::new(registry);
    let server = HttpServer::new(move || {
        App::new()
            .app_data(registry.clone())
            .route(METRICS_PATH, web::get().to(metrics_text))
            .default_service(web::to(|| async {
                problem::HttpProblem::for_status(actix_web::http::StatusCode::NOT_FOUND).response()
            }))
    })
    .workers(1)
    .shutdown_timeout(5)
    .listen(listener)?
    .run();
    Ok(server)
}

/// The metrics in Prometheus's text format.
async fn metrics_text(registry: web::Data<prometheus::Registry>) -> HttpResponse {
    use prometheus::Encoder;
    let mut buffer = Vec::new();
    match prometheus::TextEncoder::new().encode(&registry.gather(), &mut buffer) {
        Ok(()) => HttpResponse::Ok()
            .content_type("text/plain; version=0.0.4; charset=utf-8")
            .body(buffer),
        Err(error) => {
            tracing::error!(%error, "the metrics do not encode");
            problem::HttpProblem::for_status(actix_web::http::StatusCode::INTERNAL_SERVER_ERROR)
                .response()
        }
    }
}
