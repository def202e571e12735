//! The pages' static files, embedded in the binary: our stylesheet and scripts, and the
//! vendored Leaflet (the stock map) and ECharts (the console's charts). Nothing is loaded from
//! another origin.

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use sha2::{Digest, Sha256};
use std::collections::HashMap;
use std::sync::OnceLock;

struct Asset {
    content_type: &'static str,
    body: &'static [u8],
}

const ASSETS: &[(&str, &str, &[u8])] = &[
    (
        "favicon.svg",
        "image/svg+xml",
        include_bytes!("../../assets/favicon.svg"),
    ),
    (
        "site.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/site.css"),
    ),
    (
        "map.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/map.js"),
    ),
    (
        "console.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/console.js"),
    ),
    (
        "vendor/leaflet-1.9.4.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/vendor/leaflet-1.9.4.js"),
    ),
    (
        "vendor/leaflet-1.9.4.css",
        "text/css; charset=utf-8",
        include_bytes!("../../assets/vendor/leaflet-1.9.4.css"),
    ),
    (
        "vendor/echarts-5.6.0.min.js",
        "text/javascript; charset=utf-8",
        include_bytes!("../../assets/vendor/echarts-5.6.0.min.js"),
    ),
];

/// Each asset with its ETag (a hash of its bytes).
fn assets() -> &'static HashMap<&'static str, (Asset, String)> {
    static MAP: OnceLock<HashMap<&'static str, (Asset, String)>> = OnceLock::new();
    MAP.get_or_init(|| {
        ASSETS
            .iter()
            .map(|(name, content_type, body)| {
                let digest = Sha256::digest(body);
                let etag = format!("\"{}\"", hex(&digest[..12]));
                (*name, (Asset { content_type, body }, etag))
            })
            .collect()
    })
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// `GET /assets/vendor/{name}`: a vendored library.
pub async fn vendored(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    answer(&req, &format!("vendor/{name}"))
}

/// `GET /assets/{name}`: cached for a day, revalidated by ETag.
pub async fn serve(req: HttpRequest, name: web::Path<String>) -> HttpResponse {
    answer(&req, &name)
}

fn answer(req: &HttpRequest, name: &str) -> HttpResponse {
    let Some((asset, etag)) = assets().get(name) else {
        return HttpResponse::NotFound()
            .content_type("text/plain; charset=utf-8")
            .body("no such asset");
    };
    let fresh = req
        .headers()
        .get(header::IF_NONE_MATCH)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.split(',').any(|tag| tag.trim() == etag));
    let mut response = if fresh {
        HttpResponse::NotModified()
    } else {
        HttpResponse::Ok()
    };
    response
        .insert_header((header::CACHE_CONTROL, "public, max-age=86400"))
        .insert_header((header::ETAG, etag.clone()));
    if fresh {
        response.finish()
    } else {
        response.content_type(asset.content_type).body(asset.body)
    }
}
