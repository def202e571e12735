//! The page a password-reset mail links to: `/reset?token=…` asks for the new password and
//! sets it (once per link; every session of the account ends).

use super::page::{field_errors, render, render_with, PageError};
use super::session::{Submitted, Visitor};
use super::views;
use crate::app::accounts::credentials;
use crate::app::error::AppError;
use crate::app::Ctx;
use actix_web::http::StatusCode;
use actix_web::{web, HttpResponse};
use minijinja::context;
use serde::Deserialize;

#[derive(Debug, Deserialize)]
pub struct ResetQuery {
    token: Option<String>,
}

/// `GET /reset?token=…`.
pub async fn reset_form(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    query: web::Query<ResetQuery>,
) -> Result<HttpResponse, PageError> {
    let token = query.into_inner().token.unwrap_or_default();
    let usable = !token.is_empty() && credentials::reset_usable(&ctx, &token).await?;
    let status = if usable {
        StatusCode::OK
    } else {
        StatusCode::NOT_FOUND
    };
    render_with(
        &visitor,
        None,
        "reset.html",
        views::t(&visitor, "reset_title"),
        context! { token => token, usable => usable, done => false, error => None::<String> },
        status,
    )
}

#[derive(Debug, Deserialize)]
pub struct ResetForm {
    token: String,
    password: String,
}

/// `POST /reset`.
pub async fn reset(
    ctx: web::Data<Ctx>,
    visitor: Visitor,
    form: Submitted<ResetForm>,
) -> Result<HttpResponse, PageError> {
    let form = form.0;
    match credentials::reset_password(&ctx, &form.token, &form.password).await {
        Ok(()) => render(
            &visitor,
            None,
            "reset.html",
            views::t(&visitor, "reset_title"),
            context! { token => "", usable => false, done => true, error => None::<String> },
        ),
        Err(AppError::Validation(errors)) => {
            let by_field = field_errors(&errors);
            let usable = !by_field.contains_key("token");
            let error = by_field.into_values().collect::<Vec<_>>().join("; ");
            render_with(
                &visitor,
                None,
                "reset.html",
                views::t(&visitor, "reset_title"),
                context! { token => form.token, usable => usable, done => false, error => error },
                StatusCode::UNPROCESSABLE_ENTITY,
            )
        }
        Err(other) => Err(other.into()),
    }
}
