//! The browser pages, served by the service itself: the city's stock map (`/`), a lot's page,
//! the broker's console (`/console`) and each organisation's workspace (`/workspace`).
//!
//! Pages are rendered on the server (minijinja, templates in `templates/pages/`) from the same
//! use cases the API calls, so the same rules and object-level checks hold; the API stays the
//! contract. Scripts are small and only draw (the map with the vendored Leaflet, the charts
//! with the vendored ECharts); every asset is embedded ([`assets`]) and no page loads anything
//! from another origin (the Content-Security-Policy says so to the browser). Sign-in is a
//! session cookie and every form carries a CSRF token ([`session`]). Dutch and English
//! ([`i18n`]).

pub mod assets;
pub mod console;
pub mod error;
pub mod i18n;
pub mod members;
pub mod page;
pub mod passports;
pub mod password;
pub mod privacy;
pub mod session;
pub mod stock;
pub mod views;
pub mod workspace;

use crate::app::Ctx;
use actix_web::body::MessageBody;
use actix_web::dev::{ServiceRequest, ServiceResponse};
use actix_web::http::header::{HeaderName, HeaderValue};
use actix_web::middleware::Next;
use actix_web::web;

/// Every page's route.
pub fn routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/", web::get().to(stock::map))
        .route("/lots/{id}", web::get().to(stock::lot))
        .route("/passports/{id}", web::get().to(passports::public))
        .route(
            "/passports/{id}/files/{file_id}",
            web::get().to(passports::file),
        )
        .route(
            "/passports/{id}/files/{file_id}/thumbnail",
            web::get().to(passports::thumbnail),
        )
        .route(
            "/workspace/passports/{id}/files",
            web::post().to(passports::upload),
        )
        .route("/lots/{id}/reserve", web::post().to(stock::reserve))
        .route("/login", web::get().to(stock::login_form))
        .route("/login", web::post().to(stock::login))
        .route("/logout", web::post().to(stock::logout))
        .route("/reset", web::get().to(password::reset_form))
        .route("/reset", web::post().to(password::reset))
        .route("/invitation", web::get().to(members::invitation_form))
        .route("/invitation", web::post().to(members::accept_invitation))
        .route("/verify-email", web::get().to(members::verify_email_form))
        .route("/verify-email", web::post().to(members::verify_email))
        .route("/lang/{code}", web::get().to(stock::language))
        .route("/assets/{name}", web::get().to(assets::serve))
        .route("/assets/vendor/{name}", web::get().to(assets::vendored))
        .route("/console", web::get().to(console::console))
        .route(
            "/console/organisations/{id}/status",
            web::post().to(console::set_status),
        )
        .route(
            "/console/outbox/{id}/retry",
            web::post().to(console::retry_mail),
        )
        .route("/console/moderation/hide", web::post().to(console::hide))
        .route(
            "/console/moderation/{kind}/{id}/restore",
            web::post().to(console::restore),
        )
        .route(
            "/console/accounts/{id}/credit-limit",
            web::post().to(console::set_credit_limit),
        )
        .route(
            "/console/accounts/{id}/issuance-cap",
            web::post().to(console::set_issuance_cap),
        )
        .route(
            "/console/issuance/{id}/approve",
            web::post().to(console::approve_issuance),
        )
        .route(
            "/console/issuance/{id}/reject",
            web::post().to(console::reject_issuance),
        )
        .route(
            "/console/categories",
            web::post().to(console::create_category),
        )
        .route(
            "/console/districts",
            web::post().to(console::replace_districts),
        )
        .route("/console/flows", web::get().to(console::flows_page))
        .route("/console/flows.csv", web::get().to(console::flows_csv))
        .route("/workspace", web::get().to(workspace::overview))
        .route(
            "/workspace/passports/new",
            web::get().to(workspace::new_passport),
        )
        .route(
            "/workspace/passports",
            web::post().to(workspace::create_passport),
        )
        .route(
            "/workspace/passports/{id}",
            web::get().to(workspace::passport),
        )
        .route(
            "/workspace/passports/{id}/clearance",
            web::post().to(workspace::clear_hazard),
        )
        .route(
            "/workspace/passports/{id}/listings",
            web::post().to(workspace::announce),
        )
        .route(
            "/workspace/listings/{id}/withdraw",
            web::post().to(workspace::withdraw),
        )
        .route("/workspace/wishes", web::post().to(workspace::create_wish))
        .route("/workspace/wishes/{id}", web::get().to(workspace::wish))
        .route(
            "/workspace/wishes/{id}/delete",
            web::post().to(workspace::delete_wish),
        )
        .route(
            "/workspace/bundles/{id}/accept",
            web::post().to(workspace::accept_bundle),
        )
        .route(
            "/workspace/matches/{id}/{answer}",
            web::post().to(workspace::answer_match),
        )
        .route(
            "/workspace/listings/{id}",
            web::get().to(workspace::listing),
        )
        .route(
            "/workspace/listings/{id}",
            web::post().to(workspace::update_listing),
        )
        .route(
            "/workspace/reservations/{id}",
            web::get().to(workspace::reservation),
        )
        .route(
            "/workspace/reservations/{id}/{action}",
            web::post().to(workspace::reservation_action),
        )
        .route("/workspace/account", web::get().to(workspace::account))
        .route("/workspace/account/export", web::get().to(privacy::export))
        .route(
            "/workspace/account/delete",
            web::post().to(privacy::delete_account),
        )
        .route(
            "/workspace/settings",
            web::post().to(workspace::save_settings),
        )
        .route("/workspace/invitations", web::post().to(members::invite))
        .route(
            "/workspace/invitations/{id}/revoke",
            web::post().to(members::revoke_invitation),
        )
        .route(
            "/workspace/members/{id}/remove",
            web::post().to(members::remove),
        )
        .route("/workspace/owner", web::post().to(members::pass_ownership))
        .route("/workspace/profile", web::post().to(members::save_profile))
        .route(
            "/workspace/organisation",
            web::post().to(members::save_organisation),
        )
        .route(
            "/workspace/verification",
            web::post().to(members::resend_verification),
        );
}

/// The pages' security headers: a Content-Security-Policy that allows only this origin (and
/// the configured map tiles), no framing, and no referrer to other sites.
pub async fn page_headers(
    req: ServiceRequest,
    next: Next<impl MessageBody>,
) -> Result<ServiceResponse<impl MessageBody>, actix_web::Error> {
    let tiles = req
        .app_data::<web::Data<Ctx>>()
        .and_then(|ctx| ctx.map_tiles.as_deref().and_then(tile_origin));
    let mut response = next.call(req).await?;
    let is_html = response
        .headers()
        .get(actix_web::http::header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("text/html"));
    if is_html && !response.request().path().starts_with("/docs") {
        let img = match tiles {
            Some(origin) => format!("'self' data: {origin}"),
            None => "'self' data:".into(),
        };
        let policy = format!(
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src {img}; \
             connect-src 'self'; object-src 'none'; base-uri 'none'; form-action 'self'; \
             frame-ancestors 'none'"
        );
        let headers = response.headers_mut();
        if let Ok(value) = HeaderValue::from_str(&policy) {
            headers.insert(HeaderName::from_static("content-security-policy"), value);
        }
        headers.insert(
            HeaderName::from_static("x-frame-options"),
            HeaderValue::from_static("DENY"),
        );
        headers.insert(
            HeaderName::from_static("referrer-policy"),
            HeaderValue::from_static("same-origin"),
        );
    }
    Ok(response)
}

/// The origin of a tile URL template such as `https://tile.example.org/{z}/{x}/{y}.png`.
fn tile_origin(template: &str) -> Option<String> {
    let (scheme, rest) = template.split_once("://")?;
    let host = rest.split('/').next()?;
    if !(scheme == "https" || scheme == "http") || host.is_empty() {
        return None;
    }
    Some(format!("{scheme}://{}", host.replace("{s}", "*")))
}

#[cfg(test)]
mod tests {
    #[test]
    fn tile_origins_are_read_from_templates() {
        assert_eq!(
            super::tile_origin("https://{s}.tile.example.org/{z}/{x}/{y}.png").as_deref(),
            Some("https://*.tile.example.org")
        );
        assert_eq!(super::tile_origin("javascript:alert(1)"), None);
    }
}
