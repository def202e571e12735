//! What a page answers when it cannot do what was asked: a page of its own (in Dutch and
//! English, for it may come before we know the visitor's language), or the way to sign in.

use super::i18n::{self, Lang};
use crate::app::error::AppError;
use actix_web::http::{header, StatusCode};
use actix_web::{HttpResponse, ResponseError};
use minijinja::{context, Environment};
use std::sync::OnceLock;

fn error_page() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        if let Err(error) = env.add_template(
            "error.html",
            include_str!("../../templates/pages/error.html"),
        ) {
            tracing::error!(%error, "the error page does not parse");
        }
        env
    })
}

/// The answer to a form that was done: back to a page, with a note of what happened.
pub fn see_other(location: &str) -> HttpResponse {
    HttpResponse::SeeOther()
        .insert_header((header::LOCATION, location.to_owned()))
        .finish()
}

/// What a page answers when it cannot do what was asked.
#[derive(Debug, thiserror::Error)]
pub enum PageError {
    #[error("sign in first")]
    SignIn { next: String },
    #[error("this form has expired or did not come from this site; reload the page and try again")]
    Csrf,
    #[error("the form could not be read")]
    BadForm,
    #[error("the file is larger than {limit_mib} MiB")]
    TooLarge { limit_mib: usize },
    #[error(transparent)]
    App(#[from] AppError),
}

impl PageError {
    pub fn internal(why: &'static str) -> PageError {
        PageError::App(AppError::Internal(anyhow::anyhow!(why)))
    }
}

impl ResponseError for PageError {
    fn status_code(&self) -> StatusCode {
        match self {
            PageError::SignIn { .. } => StatusCode::SEE_OTHER,
            PageError::Csrf => StatusCode::FORBIDDEN,
            PageError::BadForm => StatusCode::BAD_REQUEST,
            PageError::TooLarge { .. } => StatusCode::PAYLOAD_TOO_LARGE,
            PageError::App(error) => match error {
                AppError::Validation(_) | AppError::BadRequest(_) => {
                    StatusCode::UNPROCESSABLE_ENTITY
                }
                AppError::Unauthenticated(_) | AppError::InvalidCredentials => {
                    StatusCode::UNAUTHORIZED
                }
                AppError::Forbidden(_) | AppError::NotVerified | AppError::Suspended(_) => {
                    StatusCode::FORBIDDEN
                }
                AppError::NotFound(_) => StatusCode::NOT_FOUND,
                AppError::UnsupportedMediaType(_) => StatusCode::UNSUPPORTED_MEDIA_TYPE,
                AppError::Conflict { .. } => StatusCode::CONFLICT,
                AppError::PreconditionRequired => StatusCode::PRECONDITION_REQUIRED,
                AppError::PreconditionFailed => StatusCode::PRECONDITION_FAILED,
                AppError::IdempotencyKeyMissing
                | AppError::IdempotencyKeyInvalid
                | AppError::IdempotencyKeyReused => StatusCode::BAD_REQUEST,
                AppError::RateLimited { .. } => StatusCode::TOO_MANY_REQUESTS,
                AppError::Unavailable | AppError::Busy { .. } => StatusCode::SERVICE_UNAVAILABLE,
                AppError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
            },
        }
    }

    fn error_response(&self) -> HttpResponse {
        if let PageError::SignIn { next } = self {
            let target = format!("/login?next={}", urlencode(next));
            return see_other(&target);
        }
        let status = self.status_code();
        if let PageError::App(AppError::Internal(error)) = self {
            tracing::error!(error = format!("{error:#}"), "a page failed");
        }
        let detail = match self {
            PageError::App(AppError::Internal(_)) => "internal error".to_owned(),
            other => other.to_string(),
        };
        let html = error_page()
            .get_template("error.html")
            .and_then(|t| {
                t.render(context! {
                    status => status.as_u16(),
                    nl => i18n::strings(Lang::Nl),
                    en => i18n::strings(Lang::En),
                    detail => detail,
                })
            })
            .unwrap_or_else(|_| format!("{status}"));
        let mut response = HttpResponse::build(status);
        response
            .content_type("text/html; charset=utf-8")
            .insert_header((header::CACHE_CONTROL, "no-store"));
        if let PageError::App(
            AppError::RateLimited { retry_after_secs } | AppError::Busy { retry_after_secs },
        ) = self
        {
            response.insert_header((header::RETRY_AFTER, retry_after_secs.to_string()));
        }
        response.body(html)
    }
}

/// Percent-encodes a query value.
pub fn urlencode(text: &str) -> String {
    serde_urlencoded::to_string([("", text)])
        .map(|pair| pair.trim_start_matches('=').to_owned())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    #[test]
    fn query_values_are_encoded() {
        assert_eq!(super::urlencode("/a b?c=d&e"), "%2Fa+b%3Fc%3Dd%26e");
    }
}
