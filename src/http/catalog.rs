//! The taxonomy and the districts.

use super::extract::Authenticated;
use super::json::Json;
use super::problem::Problem;
use crate::app::categories::{self, Category, CategoryPatch, NewCategory};
use crate::app::districts::{self, District};
use crate::app::error::AppError;
use crate::app::Ctx;
use actix_web::{delete, get, patch, post, put, web, HttpResponse};
use serde::Deserialize;
use utoipa::ToSchema;
use uuid::Uuid;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(list_categories)
        .service(create_category)
        .service(update_category)
        .service(delete_category)
        .service(list_districts)
        .service(replace_districts);
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewCategoryRequest {
    #[schema(example = "doors-sliding")]
    code: String,
    parent_id: Option<Uuid>,
    name_nl: String,
    name_en: String,
    #[serde(default)]
    eural_codes: Vec<String>,
}

#[derive(Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CategoryPatchRequest {
    /// Moves the category; `null` makes it a root.
    #[serde(default, deserialize_with = "present")]
    #[schema(value_type = Option<Uuid>)]
    parent_id: Option<Option<Uuid>>,
    name_nl: Option<String>,
    name_en: Option<String>,
    eural_codes: Option<Vec<String>>,
}

fn present<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Option<Option<Uuid>>, D::Error> {
    Option::<Uuid>::deserialize(deserializer).map(Some)
}

/// The category tree as a flat list (each with its parent).
#[utoipa::path(tag = "catalog", responses((status = 200, body = Vec<Category>)))]
#[get("/categories")]
async fn list_categories(ctx: web::Data<Ctx>) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(categories::list(&ctx).await?))
}

/// Add a category (brokers only).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    request_body = NewCategoryRequest,
    responses(
        (status = 201, body = Category),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "Code taken", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/admin/categories")]
async fn create_category(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    body: Json<NewCategoryRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.0;
    let input = NewCategory {
        code: body.code,
        parent_id: body.parent_id,
        name_nl: body.name_nl,
        name_en: body.name_en,
        eural_codes: body.eural_codes,
    };
    Ok(HttpResponse::Created().json(categories::create(&ctx, &auth.0, input).await?))
}

/// Rename, move or re-code a category (brokers only). A move below itself is refused.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Category id")),
    request_body = CategoryPatchRequest,
    responses(
        (status = 200, body = Category),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such category", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or a cycle", body = Problem, content_type = "application/problem+json"),
    )
)]
#[patch("/admin/categories/{id}")]
async fn update_category(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
    body: Json<CategoryPatchRequest>,
) -> Result<HttpResponse, AppError> {
    let body = body.0;
    let patch = CategoryPatch {
        parent_id: body.parent_id,
        name_nl: body.name_nl,
        name_en: body.name_en,
        eural_codes: body.eural_codes,
    };
    Ok(HttpResponse::Ok().json(categories::update(&ctx, &auth.0, id.into_inner(), patch).await?))
}

/// Delete an unused category (brokers only); one in use is a 409.
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Category id")),
    responses(
        (status = 204, description = "Deleted"),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 409, description = "In use", body = Problem, content_type = "application/problem+json"),
    )
)]
#[delete("/admin/categories/{id}")]
async fn delete_category(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    categories::delete(&ctx, &auth.0, id.into_inner()).await?;
    Ok(HttpResponse::NoContent().finish())
}

#[derive(Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct DistrictsQuery {
    /// Also the districts an upload retired (after the current ones), as flows name them.
    #[serde(default)]
    retired: bool,
}

/// The current districts, with their polygons (and the retired ones with `retired=true`).
#[utoipa::path(tag = "catalog", params(DistrictsQuery), responses((status = 200, body = Vec<District>)))]
#[get("/districts")]
async fn list_districts(
    ctx: web::Data<Ctx>,
    query: web::Query<DistrictsQuery>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(districts::list(&ctx, query.retired).await?))
}

/// Replace the districts with a GeoJSON FeatureCollection of named Polygons or MultiPolygons
/// (properties `name`, optional `code`); every stored point is assigned anew (brokers only).
#[utoipa::path(
    tag = "admin",
    security(("bearer" = [])),
    request_body(content = Object, description = "GeoJSON FeatureCollection", content_type = "application/geo+json"),
    responses(
        (status = 200, body = Vec<District>),
        (status = 403, description = "Not a broker", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid GeoJSON; each error names its feature", body = Problem, content_type = "application/problem+json"),
    )
)]
#[put("/admin/districts")]
async fn replace_districts(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    body: Json<serde_json::Value>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(districts::replace(&ctx, &auth.0, body.0).await?))
}
