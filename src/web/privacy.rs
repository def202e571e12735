//! The account page's personal data: the download of everything kringloop holds about the
//! visitor, and deleting their account (the API's use cases; the session ends with it).

use super::error::see_other;
use super::page::PageError;
use super::session::{Submitted, Visitor, SESSION_COOKIE};
use crate::app::accounts::privacy;
use crate::app::error::AppError;
use crate::app::Ctx;
use actix_web::http::header::{ContentDisposition, DispositionParam, DispositionType};
use actix_web::{web, HttpResponse};
use serde::Deserialize;

/// `GET /workspace/account/export`: the JSON document of `GET /api/v1/me/export`, as a file.
pub async fn export(ctx: web::Data<Ctx>, visitor: Visitor) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    let data = privacy::export(&ctx, actor).await?;
    Ok(HttpResponse::Ok()
        .insert_header(ContentDisposition {
            disposition: DispositionType::Attachment,
            parameters: vec![DispositionParam::Filename(
                "kringloop-personal-data.json".into(),
            )],
        })
        .insert_header(("Cache-Control", "no-store"))
        .json(data))
}

#[derive(Debug, Deserialize)]
pub struct DeleteForm {
    password: String,
}

/// `POST /workspace/account/delete`: deletes the account after its password; the session
/// cookie goes with it.
pub async fn delete_account(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    form: Submitted<DeleteForm>,
) -> Result<HttpResponse, PageError> {
    let actor = visitor.signed_in()?;
    match privacy::delete_account(&ctx, actor, form.0.password).await {
        Ok(()) => {}
        Err(AppError::Validation(_)) => {
            return Ok(see_other(
                "/workspace/account?notice=wrong_password#privacy",
            ))
        }
        Err(error) => return Err(error.into()),
    }
    let mut response = see_other("/");
    let mut gone = visitor.cookie(SESSION_COOKIE, String::new(), None);
    gone.make_removal();
    response
        .add_cookie(&gone)
        .map_err(|_| PageError::internal("the session cookie"))?;
    Ok(response)
}
