//! Material passports and their custody chain.

use super::extract::{etag, Authenticated, MaybeAuthenticated};
use super::inventory::read_upload;
use super::json::Json;
use super::problem::Problem;
use crate::app::error::AppError;
use crate::app::paging::{Page, PageQuery};
use crate::app::passport_files::{self, FileBytes, FileKind, PassportFile};
use crate::app::passports::{self, Custody, Passport, PassportExport};
use crate::app::Ctx;
use crate::domain::custody::CustodyKind;
use crate::domain::passport::{Document, PassportContent};
use crate::domain::passport_export::Verdict;
use actix_web::http::header::{
    ETag, CACHE_CONTROL, CONTENT_DISPOSITION, CONTENT_TYPE, ETAG, IF_NONE_MATCH,
    X_CONTENT_TYPE_OPTIONS,
};
use actix_web::{get, post, web, HttpRequest, HttpResponse};
use serde::Deserialize;
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

pub fn routes(cfg: &mut utoipa_actix_web::service_config::ServiceConfig) {
    cfg.service(create)
        .service(list_own)
        .service(import)
        .service(verify)
        .service(import_labels)
        .service(get_passport)
        .service(custody)
        .service(label)
        .service(export)
        .service(attach_document)
        .service(upload_file)
        .service(list_files)
        .service(get_file)
        .service(get_thumbnail);
}

fn answer(status: actix_web::http::StatusCode, passport: Passport) -> HttpResponse {
    HttpResponse::build(status)
        .insert_header(ETag(etag(passport.version)))
        .json(passport)
}

/// Create a passport (verified organisations). Hazardous substances may be named; such a
/// lot cannot be listed until a clearance document names them.
#[utoipa::path(
    tag = "passports",
    security(("bearer" = [])),
    request_body = PassportContent,
    responses(
        (status = 201, body = Passport),
        (status = 403, description = "Organisation not verified, or the organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/passports")]
async fn create(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    body: Json<PassportContent>,
) -> Result<HttpResponse, AppError> {
    let passport = passports::create(&ctx, &auth.0, body.0, CustodyKind::Created).await?;
    Ok(answer(actix_web::http::StatusCode::CREATED, passport))
}

/// The organisation's own passports, oldest first.
#[utoipa::path(
    tag = "passports",
    security(("bearer" = [])),
    params(PageQuery),
    responses(
        (status = 200, body = Page<Passport>),
        (status = 400, description = "Bad cursor", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "`limit` outside 1 to 100", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/passports")]
async fn list_own(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    page: web::Query<PageQuery>,
) -> Result<HttpResponse, AppError> {
    let page = page.into_inner();
    Ok(HttpResponse::Ok()
        .json(passports::list_own(&ctx, &auth.0, page.cursor.as_deref(), page.limit()?).await?))
}

/// Import a passport from its export form as a new passport of the organisation; its chain
/// starts with an `imported` event. A `kringloop-passport/2` export must verify (422
/// `chain_broken` otherwise) and its code and chain head go into that event;
/// `kringloop-passport/1` (content alone) is still read.
#[utoipa::path(
    tag = "passports",
    security(("bearer" = [])),
    request_body = PassportExport,
    responses(
        (status = 201, body = Passport),
        (status = 403, description = "The organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields or unknown format", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/passports/import")]
async fn import(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    body: Json<PassportExport>,
) -> Result<HttpResponse, AppError> {
    let passport = passports::import(&ctx, &auth.0, body.0).await?;
    Ok(answer(actix_web::http::StatusCode::CREATED, passport))
}

/// Check an exported passport (`kringloop-passport/2`) offline: the chain's links, the
/// content and documents each event fixed, and the bytes of embedded files. Needs no account
/// and reads nothing stored; the answer names the first event that does not hold.
#[utoipa::path(
    tag = "passports",
    request_body = PassportExport,
    responses(
        (status = 200, description = "The verdict, valid or not", body = Verdict),
        (status = 422, description = "Not a format-2 export: another format, or members it does not have or of other types", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/passports/verify")]
async fn verify(body: Json<serde_json::Value>) -> Result<HttpResponse, actix_web::Error> {
    // The chain is checked on the JSON as it came (hashes are of its values), but only a body
    // that is an export at all: a member an export does not have would be vouched for unread.
    super::json::shaped_as::<PassportExport>(&body.0)?;
    Ok(HttpResponse::Ok().json(passports::verify(&body.0)?))
}

/// A passport with its custody events: public once listed, always for its holder.
#[utoipa::path(
    tag = "passports",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "Passport id")),
    responses(
        (status = 200, body = Passport),
        (status = 404, description = "No such passport, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/passports/{id}")]
async fn get_passport(
    ctx: web::Data<Ctx>,
    auth: MaybeAuthenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let passport = passports::get(&ctx, auth.0.as_ref(), id.into_inner()).await?;
    Ok(answer(actix_web::http::StatusCode::OK, passport))
}

/// A printable label (SVG, 70 × 37 mm, for A4 sheets of 3 × 8): a QR code leading to the
/// passport, its code and name. Same read rights as the passport.
#[utoipa::path(
    tag = "passports",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "Passport id")),
    responses(
        (status = 200, body = String, content_type = "image/svg+xml"),
        (status = 404, description = "No such passport, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/passports/{id}/label.svg")]
async fn label(
    ctx: web::Data<Ctx>,
    auth: MaybeAuthenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let label = passports::label(&ctx, auth.0.as_ref(), id.into_inner()).await?;
    Ok(HttpResponse::Ok()
        .content_type("image/svg+xml")
        .body(crate::domain::label::label_svg(&label)))
}

/// The labels of a whole inventory import (the `import_id` of its report) as A4 sheets of
/// 3 × 8, one HTML page that prints a sheet per page. The importing organisation's only.
#[utoipa::path(
    tag = "passports",
    security(("bearer" = [])),
    params(("import_id" = Uuid, Path, description = "The import's id")),
    responses(
        (status = 200, body = String, content_type = "text/html"),
        (status = 404, description = "No such import of your organisation", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/passports/imports/{import_id}/labels")]
async fn import_labels(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    import_id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    let import_id = import_id.into_inner();
    let labels = passports::import_labels(&ctx, &auth.0, import_id).await?;
    Ok(HttpResponse::Ok()
        .content_type("text/html; charset=utf-8")
        .body(crate::domain::label::sheets_html(
            &format!("Labels {import_id}"),
            &labels,
        )))
}

/// The hash-chained custody events and whether the chain verifies.
#[utoipa::path(
    tag = "passports",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "Passport id")),
    responses(
        (status = 200, body = Custody),
        (status = 404, description = "No such passport, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/passports/{id}/custody")]
async fn custody(
    ctx: web::Data<Ctx>,
    auth: MaybeAuthenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    Ok(HttpResponse::Ok().json(passports::custody(&ctx, auth.0.as_ref(), id.into_inner()).await?))
}

/// The passport in its portable export form; importing it gives the same content.
#[utoipa::path(
    tag = "passports",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "Passport id"), ExportQuery),
    responses(
        (status = 200, body = PassportExport),
        (status = 404, description = "No such passport, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/passports/{id}/export")]
async fn export(
    ctx: web::Data<Ctx>,
    auth: MaybeAuthenticated,
    id: web::Path<Uuid>,
    query: web::Query<ExportQuery>,
) -> Result<HttpResponse, AppError> {
    let embed = query.files == Some(FilesInExport::Embed);
    Ok(HttpResponse::Ok()
        .json(passports::export(&ctx, auth.0.as_ref(), id.into_inner(), embed).await?))
}

#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct ExportQuery {
    /// `embed` puts each file's bytes (base64) in the export; `list` (the default) only their
    /// hashes.
    #[param(inline)]
    pub files: Option<FilesInExport>,
}

/// How an export carries the passport's files.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum FilesInExport {
    List,
    Embed,
}

#[derive(Debug, Deserialize, IntoParams)]
#[serde(deny_unknown_fields)]
pub struct UploadQuery {
    /// `photo` (the default; an image) or `document` (a PDF or an image).
    #[param(inline)]
    #[serde(default)]
    pub kind: FileKind,
    /// A title for the document, at most 200 characters.
    pub title: Option<String>,
}

/// Upload a photo (JPEG, PNG, WebP) or a document (PDF) to the holder's passport: the raw
/// bytes as the body. The type is read from the bytes (a Content-Type that disagrees is 415);
/// images are decoded and encoded again, which strips their metadata (EXIF with its GPS
/// position), and get a thumbnail. The stored file's SHA-256 becomes a document of the passport
/// and so an event of its custody chain.
#[utoipa::path(
    tag = "passports",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Passport id"), UploadQuery),
    request_body(content = Vec<u8>, content_type = "application/octet-stream", description = "The file's bytes (image/jpeg, image/png, image/webp or application/pdf)"),
    responses(
        (status = 201, body = PassportFile),
        (status = 403, description = "Not the holder, or the organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
        (status = 413, description = "Larger than the upload limit", body = Problem, content_type = "application/problem+json"),
        (status = 415, description = "Not a JPEG, PNG, WebP or PDF, or not the type the request says", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "A photo that is not an image or does not decode, or too many documents", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/passports/{id}/files")]
async fn upload_file(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
    query: web::Query<UploadQuery>,
    request: HttpRequest,
    payload: web::Payload,
) -> actix_web::Result<HttpResponse> {
    let bytes = read_upload(payload, ctx.max_upload_bytes).await?;
    let declared = request
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok());
    let query = query.into_inner();
    let file = passport_files::upload(
        &ctx,
        &auth.0,
        id.into_inner(),
        bytes.to_vec(),
        declared,
        query.kind,
        query.title,
    )
    .await?;
    Ok(HttpResponse::Created().json(file))
}

/// A passport's files, oldest first. Same read rights as the passport.
#[utoipa::path(
    tag = "passports",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "Passport id")),
    responses(
        (status = 200, body = Vec<PassportFile>),
        (status = 404, description = "No such passport, or not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/passports/{id}/files")]
async fn list_files(
    ctx: web::Data<Ctx>,
    auth: MaybeAuthenticated,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, AppError> {
    Ok(
        HttpResponse::Ok()
            .json(passport_files::list(&ctx, auth.0.as_ref(), id.into_inner()).await?),
    )
}

/// A stored file as an answer: its SHA-256 as `ETag` (304 when the client has it), private
/// caching for a day, PDFs as attachments when `download`. The pages serve files this way too.
pub(crate) fn serve(request: &HttpRequest, file: FileBytes, download: bool) -> HttpResponse {
    let tag = format!("\"{}\"", file.sha256);
    let unchanged = request
        .headers()
        .get(IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|t| t.trim() == tag || t.trim() == "*"));
    let mut response = if unchanged {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((CACHE_CONTROL, "private, max-age=86400"))
        .insert_header((ETAG, tag))
        .insert_header((X_CONTENT_TYPE_OPTIONS, "nosniff"));
    if download {
        let name: String = file
            .title
            .as_deref()
            .unwrap_or("document")
            .chars()
            .filter(|c| c.is_ascii_alphanumeric() || " ._-".contains(*c))
            .collect();
        response.insert_header((
            CONTENT_DISPOSITION,
            format!("attachment; filename=\"{}.pdf\"", name.trim()),
        ));
    }
    if unchanged {
        return response.finish();
    }
    response.content_type(file.media_type).body(file.bytes)
}

/// A file's bytes, with the passport's read rights. `ETag` is its SHA-256, `Cache-Control:
/// private`; PDFs come as attachments.
#[utoipa::path(
    tag = "passports",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "Passport id"), ("file_id" = Uuid, Path, description = "File id")),
    responses(
        (status = 200, description = "The bytes", body = Vec<u8>, content_type = "application/octet-stream"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 404, description = "No such file, or its passport not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/passports/{id}/files/{file_id}")]
async fn get_file(
    ctx: web::Data<Ctx>,
    auth: MaybeAuthenticated,
    path: web::Path<(Uuid, Uuid)>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (id, file_id) = path.into_inner();
    let file = passport_files::read(&ctx, auth.0.as_ref(), id, file_id, false).await?;
    let pdf = file.media_type == "application/pdf";
    Ok(serve(&request, file, pdf))
}

/// An image's thumbnail (JPEG, at most 320 px a side), with the passport's read rights.
#[utoipa::path(
    tag = "passports",
    security((), ("bearer" = [])),
    params(("id" = Uuid, Path, description = "Passport id"), ("file_id" = Uuid, Path, description = "File id")),
    responses(
        (status = 200, description = "The thumbnail", body = Vec<u8>, content_type = "image/jpeg"),
        (status = 304, description = "Not modified (If-None-Match)"),
        (status = 404, description = "No such file or no thumbnail (a PDF), or its passport not visible to you", body = Problem, content_type = "application/problem+json"),
    )
)]
#[get("/passports/{id}/files/{file_id}/thumbnail")]
async fn get_thumbnail(
    ctx: web::Data<Ctx>,
    auth: MaybeAuthenticated,
    path: web::Path<(Uuid, Uuid)>,
    request: HttpRequest,
) -> Result<HttpResponse, AppError> {
    let (id, file_id) = path.into_inner();
    let file = passport_files::read(&ctx, auth.0.as_ref(), id, file_id, true).await?;
    Ok(serve(&request, file, false))
}

/// Attach a document to the holder's passport; a `clearance` naming a hazard clears it.
#[utoipa::path(
    tag = "passports",
    security(("bearer" = [])),
    params(("id" = Uuid, Path, description = "Passport id")),
    request_body = Document,
    responses(
        (status = 200, body = Passport),
        (status = 403, description = "Not the holder, or the organisation is suspended", body = Problem, content_type = "application/problem+json"),
        (status = 404, description = "No such passport", body = Problem, content_type = "application/problem+json"),
        (status = 422, description = "Invalid fields", body = Problem, content_type = "application/problem+json"),
    )
)]
#[post("/passports/{id}/documents")]
async fn attach_document(
    ctx: web::Data<Ctx>,
    auth: Authenticated,
    id: web::Path<Uuid>,
    body: Json<Document>,
) -> Result<HttpResponse, AppError> {
    let passport = passports::attach_document(&ctx, &auth.0, id.into_inner(), body.0).await?;
    Ok(answer(actix_web::http::StatusCode::OK, passport))
}
