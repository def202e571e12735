//! Operations: liveness, readiness, the front page, and the fallback for unknown routes.

use super::guard::NamedMethod;
use super::problem::{allow_header, HttpProblem, ProblemType};
use crate::app::Ctx;
use crate::db::migrate;
use actix_router::ResourceDef;
use actix_web::http::{header, StatusCode};
use actix_web::{get, web, HttpMessage, HttpRequest, HttpResponse};
use serde::Serialize;
use utoipa::ToSchema;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(healthz).service(readyz);
}

#[derive(Serialize, ToSchema)]
pub struct Health {
    /// `ok`, or what is wrong.
    status: &'static str,
}

/// The process is alive.
#[utoipa::path(tag = "operations", responses((status = 200, body = Health)))]
#[get("/healthz")]
async fn healthz() -> HttpResponse {
    HttpResponse::Ok().json(Health { status: "ok" })
}

/// The database is reachable and every migration this build embeds has been applied.
#[utoipa::path(
    tag = "operations",
    responses(
        (status = 200, body = Health),
        (status = 503, description = "Database unreachable or not migrated", body = Health),
    )
)]
#[get("/readyz")]
async fn readyz(ctx: web::Data<Ctx>) -> HttpResponse {
    let status = match ctx.pool.get().await {
        Err(_) => "database unreachable",
        Ok(mut conn) => match migrate::is_current(&mut conn, &ctx.latest_migration).await {
            Ok(true) => "ok",
            Ok(false) => "migrations pending",
            Err(_) => "database not migrated",
        },
    };
    let code = if status == "ok" {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    HttpResponse::build(code).json(Health { status })
}

/// `/docs` without the slash: the interactive documentation lives under `/docs/`.
pub async fn docs_redirect() -> HttpResponse {
    HttpResponse::PermanentRedirect()
        .insert_header((header::LOCATION, "/docs/"))
        .finish()
}

/// The routes of the contract with their methods, to tell a wrong method (405) from an
/// unknown path (404).
#[derive(Debug, Default)]
pub struct KnownRoutes(Vec<(ResourceDef, Vec<String>)>);

impl KnownRoutes {
    pub fn from_openapi(doc: &utoipa::openapi::OpenApi) -> Self {
        let routes = doc
            .paths
            .paths
            .iter()
            .map(|(path, item)| {
                let methods = [
                    ("GET", item.get.is_some()),
                    ("PUT", item.put.is_some()),
                    ("POST", item.post.is_some()),
                    ("DELETE", item.delete.is_some()),
                    ("PATCH", item.patch.is_some()),
                ]
                .into_iter()
                .filter(|(_, present)| *present)
                .map(|(method, _)| method.to_owned())
                .collect();
                (ResourceDef::new(path.as_str()), methods)
            })
            .collect();
        KnownRoutes(routes)
    }

    fn allowed(&self, path: &str) -> Option<&[String]> {
        self.0
            .iter()
            .find(|(def, _)| def.is_match(path))
            .map(|(_, methods)| methods.as_slice())
    }
}

/// Answers every request no route took: 405 with `Allow` for a known path, else 404.
pub async fn fallback(req: HttpRequest, known: web::Data<KnownRoutes>) -> HttpResponse {
    match known.allowed(req.path()) {
        Some(methods) => {
            let named = req.extensions().get::<NamedMethod>().map(|m| m.0.clone());
            let detail = format!(
                "{} is not allowed here; use {}",
                named.unwrap_or_else(|| req.method().to_string()),
                methods.join(" or ")
            );
            let mut response = HttpProblem::new(
                StatusCode::METHOD_NOT_ALLOWED,
                ProblemType::MethodNotAllowed,
                Some(detail),
            )
            .response();
            response
                .headers_mut()
                .insert(header::ALLOW, allow_header(methods));
            response
        }
        None => HttpProblem::new(
            StatusCode::NOT_FOUND,
            ProblemType::NotFound,
            Some(format!("there is nothing at {}", req.path())),
        )
        .response(),
    }
}
