//! A passport's public page (`/passports/{id}`), where its label's QR code leads: name, code,
//! composition, hazards and their clearances, photos and the custody chain, with the same
//! visibility as the API's (its holder and brokers always, anyone once it has been listed).

use super::page::{render, PageError};
use super::session::Visitor;
use super::views;
use crate::app::{passport_files, passports, Ctx};
use actix_web::{web, HttpResponse};
use minijinja::context;
use serde::Serialize;
use uuid::Uuid;

/// A photo as the page shows it: its thumbnail, linking to the whole file.
#[derive(Debug, Serialize)]
struct PhotoView {
    url: String,
    thumbnail: String,
    title: Option<String>,
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
    let photos: Vec<PhotoView> = passport_files::list(&ctx, actor, id)
        .await?
        .into_iter()
        .filter(|f| f.thumbnail_url.is_some())
        .map(|f| {
            let url = format!("/api/v1/passports/{id}/files/{}", f.id);
            PhotoView {
                thumbnail: format!("{url}/thumbnail"),
                url,
                title: f.title,
            }
        })
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
