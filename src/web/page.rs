//! Rendering a page: the templates (embedded), the frame every page shares, the headers every
//! page carries, and what a page answers when something goes wrong.

pub use super::error::{see_other, urlencode, PageError};
use super::i18n;
use super::session::{Visitor, CSRF_COOKIE};
use crate::app::accounts::Me;
use crate::domain::validation::FieldErrors;
use actix_web::http::{header, StatusCode};
use actix_web::HttpResponse;
use minijinja::{context, Environment, Value};
use serde::Serialize;
use std::collections::BTreeMap;
use std::sync::OnceLock;

/// Every page template, embedded in the binary.
const TEMPLATES: &[(&str, &str)] = &[
    ("base.html", include_str!("../../templates/pages/base.html")),
    (
        "login.html",
        include_str!("../../templates/pages/login.html"),
    ),
    ("map.html", include_str!("../../templates/pages/map.html")),
    (
        "reset.html",
        include_str!("../../templates/pages/reset.html"),
    ),
    ("lot.html", include_str!("../../templates/pages/lot.html")),
    (
        "console.html",
        include_str!("../../templates/pages/console.html"),
    ),
    (
        "flows.html",
        include_str!("../../templates/pages/flows.html"),
    ),
    (
        "workspace.html",
        include_str!("../../templates/pages/workspace.html"),
    ),
    (
        "passport_new.html",
        include_str!("../../templates/pages/passport_new.html"),
    ),
    (
        "passport.html",
        include_str!("../../templates/pages/passport.html"),
    ),
    ("wish.html", include_str!("../../templates/pages/wish.html")),
    (
        "invitation.html",
        include_str!("../../templates/pages/invitation.html"),
    ),
    (
        "verify_email.html",
        include_str!("../../templates/pages/verify_email.html"),
    ),
    (
        "passport_public.html",
        include_str!("../../templates/pages/passport_public.html"),
    ),
    (
        "listing.html",
        include_str!("../../templates/pages/listing.html"),
    ),
    (
        "reservation.html",
        include_str!("../../templates/pages/reservation.html"),
    ),
    (
        "account.html",
        include_str!("../../templates/pages/account.html"),
    ),
];

fn environment() -> &'static Environment<'static> {
    static ENV: OnceLock<Environment<'static>> = OnceLock::new();
    ENV.get_or_init(|| {
        let mut env = Environment::new();
        env.set_undefined_behavior(minijinja::UndefinedBehavior::SemiStrict);
        for (name, source) in TEMPLATES {
            if let Err(error) = env.add_template(name, source) {
                tracing::error!(%error, template = name, "a page template does not parse");
            }
        }
        env.add_filter("kg", |grams: i64| format_thousands(grams / 1000));
        env.add_filter("thousands", |value: f64| {
            format_thousands(value.round() as i64)
        });
        env.add_filter("money", |minor: i64| {
            format!(
                "{}{}.{:02}",
                if minor < 0 { "-" } else { "" },
                (minor.abs() / 100),
                minor.abs() % 100
            )
        });
        env.add_filter("urlencode", |text: String| urlencode(&text));
        env.add_filter("day", |iso: String| {
            iso.get(..10).unwrap_or(&iso).to_owned()
        });
        env
    })
}

fn format_thousands(value: i64) -> String {
    let digits = value.unsigned_abs().to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i).is_multiple_of(3) {
            out.push('\u{202f}');
        }
        out.push(c);
    }
    if value < 0 {
        format!("-{out}")
    } else {
        out
    }
}

/// What the frame of every page needs to know of the visitor.
#[derive(Serialize)]
struct Frame<'a> {
    lang: &'static str,
    other_lang: &'static str,
    t: &'static BTreeMap<&'static str, &'static str>,
    csrf: &'a str,
    here: &'a str,
    me: Option<FrameMe<'a>>,
    title: &'a str,
}

#[derive(Serialize)]
struct FrameMe<'a> {
    name: &'a str,
    organisation: &'a str,
    is_broker: bool,
    verified: bool,
}

/// A page for `visitor`: `template` with `data` beside the frame's variables.
pub fn render(
    visitor: &Visitor,
    me: Option<&Me>,
    template: &str,
    title: &str,
    data: Value,
) -> Result<HttpResponse, PageError> {
    render_with(visitor, me, template, title, data, StatusCode::OK)
}

pub fn render_with(
    visitor: &Visitor,
    me: Option<&Me>,
    template: &str,
    title: &str,
    data: Value,
    status: StatusCode,
) -> Result<HttpResponse, PageError> {
    let frame = Frame {
        lang: visitor.lang.code(),
        other_lang: visitor.lang.other().code(),
        t: i18n::strings(visitor.lang),
        csrf: &visitor.csrf,
        here: &visitor.here,
        me: me.map(|me| FrameMe {
            name: &me.user.display_name,
            organisation: &me.organisation.name,
            is_broker: visitor.actor.as_ref().is_some_and(|a| a.is_broker),
            verified: visitor
                .actor
                .as_ref()
                .is_some_and(|a| a.require_verified().is_ok()),
        }),
        title,
    };
    let html = environment()
        .get_template(template)
        .and_then(|t| t.render(context! { ..Value::from_serialize(&frame), ..data }))
        .map_err(|error| {
            tracing::error!(
                error = format!("{error:#}"),
                template,
                "a page does not render"
            );
            PageError::internal("a page does not render")
        })?;
    let mut response = HttpResponse::build(status);
    response
        .content_type("text/html; charset=utf-8")
        .insert_header((header::CACHE_CONTROL, "no-store"));
    if let Some(token) = &visitor.new_csrf_cookie {
        response.cookie(visitor.cookie(CSRF_COOKIE, token.clone(), None));
    }
    Ok(response.body(html))
}

/// Field errors by field name (the last part of each pointer), for a form to show beside its
/// fields; an error without a field is under `""`.
pub fn field_errors(errors: &FieldErrors) -> BTreeMap<String, String> {
    let mut by_field = BTreeMap::new();
    for error in errors.as_slice() {
        let field = error.pointer.trim_start_matches('/').replace('/', ".");
        by_field
            .entry(field)
            .and_modify(|text: &mut String| {
                text.push_str("; ");
                text.push_str(&error.detail);
            })
            .or_insert_with(|| error.detail.clone());
    }
    by_field
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_template_parses() {
        let env = environment();
        for (name, _) in TEMPLATES {
            assert!(env.get_template(name).is_ok(), "{name} does not parse");
        }
    }

    #[test]
    fn numbers_read_as_people_write_them() {
        assert_eq!(format_thousands(1_234_567), "1\u{202f}234\u{202f}567");
        assert_eq!(format_thousands(-1_000), "-1\u{202f}000");
        assert_eq!(format_thousands(12), "12");
    }
}
