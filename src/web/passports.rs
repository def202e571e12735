//! A passport's public page (`/passports/{id}`), where its label's QR code leads: name, code,
//! composition, hazards and their clearances, photos and the custody chain, with the same
//! visibility as the API's (its holder and brokers always, anyone once it has been listed).
//! Its files are served here with the visitor's session, and its holder uploads photos and
//! PDFs from the workspace with a multipart form.

use super::error::see_other;
use super::page::{render, PageError};
use super::session::{check_form_token, Visitor};
use super::views;
use crate::app::error::AppError;
use crate::app::passport_files::{self, FileKind};
use crate::app::{passports, Ctx};
use actix_multipart::Multipart;
use actix_web::{web, HttpRequest, HttpResponse};
use futures_util::StreamExt;
use minijinja::context;
use serde::Serialize;
use uuid::Uuid;

/// A file of a passport as the pages show it: served by the pages (with the visitor's
/// session), images with their thumbnail.
#[derive(Debug, Serialize)]
pub struct FileView {
    pub url: String,
    pub thumbnail: Option<String>,
    pub title: Option<String>,
}

impl FileView {
    /// The passport's files the actor may see, oldest first.
    pub async fn all(
        ctx: &Ctx,
        actor: Option<&crate::app::actor::Actor>,
        passport_id: Uuid,
    ) -> Result<Vec<FileView>, PageError> {
        Ok(passport_files::list(ctx, actor, passport_id)
            .await?
            .into_iter()
            .map(|f| {
                let url = file_page_url(passport_id, f.id);
                FileView {
                    thumbnail: f
                        .thumbnail_url
                        .is_some()
                        .then(|| format!("{url}/thumbnail")),
                    url,
                    title: f.title,
                }
            })
            .collect())
    }
}

/// `GET /passports/{id}`.
pub async fn public(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let me = views::me(&ctx, &visitor).await?;
    let actor = visitor.actor.as_ref();
    let passport = passports::get(&ctx, actor, id).await?;
    let custody = passports::custody(&ctx, actor, id).await?;
    let photos: Vec<FileView> = FileView::all(&ctx, actor, id)
        .await?
        .into_iter()
        .filter(|f| f.thumbnail.is_some())
        .collect();
    let view = views::PassportView::of(&passport);
    let title = format!("{} · {}", view.name, view.code);
    render(
        &visitor,
        me.as_ref(),
        "passport_public.html",
        &title,
        context! {
            passport => view,
            photos => photos,
            custody => custody.events,
            custody_verified => custody.verified,
        },
    )
}

/// Where the pages serve a passport's file (its thumbnail at `…/thumbnail`).
pub fn file_page_url(passport_id: Uuid, file_id: Uuid) -> String {
    format!("/passports/{passport_id}/files/{file_id}")
}

/// `GET /passports/{id}/files/{file_id}`: the file, with the passport's read rights for the
/// visitor (its holder's members see the photos of a passport not yet listed).
pub async fn file(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    path: web::Path<(Uuid, Uuid)>,
    request: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (id, file_id) = path.into_inner();
    let file = passport_files::read(&ctx, visitor.actor.as_ref(), id, file_id, false).await?;
    let pdf = file.media_type == "application/pdf";
    Ok(crate::http::passports::serve(&request, file, pdf))
}

/// `GET /passports/{id}/files/{file_id}/thumbnail`.
pub async fn thumbnail(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    path: web::Path<(Uuid, Uuid)>,
    request: HttpRequest,
) -> Result<HttpResponse, PageError> {
    let (id, file_id) = path.into_inner();
    let file = passport_files::read(&ctx, visitor.actor.as_ref(), id, file_id, true).await?;
    Ok(crate::http::passports::serve(&request, file, false))
}

/// The upload form's fields, read from its multipart body.
#[derive(Debug, Default)]
struct UploadForm {
    csrf: String,
    kind: FileKind,
    title: Option<String>,
    /// The file's bytes and the type the browser gave it.
    file: Option<(Vec<u8>, Option<String>)>,
}

/// Reads the upload form, refusing a file above `limit` bytes as soon as it passes it.
async fn read_upload_form(mut multipart: Multipart, limit: usize) -> Result<UploadForm, PageError> {
    const TEXT_LIMIT: usize = 4096;
    let mut form = UploadForm::default();
    while let Some(field) = multipart.next().await {
        let mut field = field.map_err(|_| PageError::BadForm)?;
        let name = field.name().unwrap_or_default().to_owned();
        let declared = field.content_type().map(|m| m.essence_str().to_owned());
        let cap = if name == "file" { limit } else { TEXT_LIMIT };
        let mut bytes = Vec::new();
        while let Some(chunk) = field.next().await {
            let chunk = chunk.map_err(|_| PageError::BadForm)?;
            if bytes.len() + chunk.len() > cap {
                return Err(if name == "file" {
                    PageError::TooLarge {
                        limit_mib: limit / (1024 * 1024),
                    }
                } else {
                    PageError::BadForm
                });
            }
            bytes.extend_from_slice(&chunk);
        }
        let text = || String::from_utf8(bytes.clone()).map_err(|_| PageError::BadForm);
        match name.as_str() {
            "csrf" => form.csrf = text()?,
            "title" => form.title = Some(text()?),
            "kind" => {
                form.kind = match text()?.as_str() {
                    "document" => FileKind::Document,
                    _ => FileKind::Photo,
                }
            }
            // A file input left empty still sends its part, without bytes.
            "file" if !bytes.is_empty() => form.file = Some((bytes, declared)),
            _ => {}
        }
    }
    Ok(form)
}

/// `POST /workspace/passports/{id}/files`: a photo or PDF from the holder's phone or computer,
/// checked like the API's upload (type from the bytes, metadata stripped, thumbnail, hash in
/// the custody chain).
pub async fn upload(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    id: web::Path<Uuid>,
    request: HttpRequest,
    multipart: Multipart,
) -> Result<HttpResponse, PageError> {
    let id = id.into_inner();
    let actor = visitor.signed_in()?;
    let form = read_upload_form(multipart, ctx.max_upload_bytes).await?;
    check_form_token(&request, &form.csrf)?;
    let (bytes, declared) = form
        .file
        .ok_or_else(|| PageError::App(AppError::BadRequest("choose a file to upload".into())))?;
    passport_files::upload(
        &ctx,
        actor,
        id,
        bytes,
        declared.as_deref(),
        form.kind,
        form.title,
    )
    .await?;
    Ok(see_other(&format!(
        "/workspace/passports/{id}?notice=file_uploaded#files-heading"
    )))
}
