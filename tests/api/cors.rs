//! Cross-origin access: pages of the configured origins may call the API, others may not, and
//! open data may be read from any page.

use crate::support::{test_settings, TestApp};
use reqwest::header::HeaderMap;
use reqwest::Method;

const CONSOLE: &str = "https://console.example.nl";
const STRANGER: &str = "https://elders.example.com";

async fn with_console() -> TestApp {
    let mut settings = test_settings();
    settings.cors_origins = vec![format!("{CONSOLE}/")];
    TestApp::spawn_with(settings).await
}

/// A browser's preflight for `method` on `path` from `origin`: (status, headers).
async fn preflight(app: &TestApp, path: &str, origin: &str, method: &str) -> (u16, HeaderMap) {
    let response = app
        .client
        .request(Method::OPTIONS, app.url(path))
        .header("origin", origin)
        .header("access-control-request-method", method)
        .header(
            "access-control-request-headers",
            "authorization, content-type",
        )
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.headers().clone())
}

async fn get_from(app: &TestApp, path: &str, origin: &str) -> (u16, HeaderMap) {
    let response = app
        .client
        .get(app.url(path))
        .header("origin", origin)
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.headers().clone())
}

fn header<'h>(headers: &'h HeaderMap, name: &str) -> &'h str {
    headers
        .get(name)
        .map(|v| v.to_str().unwrap())
        .unwrap_or_else(|| panic!("no {name} in {headers:?}"))
}

/// No page of another origin may read the answer: it does not name one (what else it says,
/// such as which headers would be exposed, a browser ignores then).
fn no_cors(headers: &HeaderMap) -> bool {
    headers.get("access-control-allow-origin").is_none()
        && headers.get("access-control-allow-credentials").is_none()
}

#[actix_web::test]
async fn a_configured_origin_is_answered_and_another_is_not() {
    let app = with_console().await;
    let (status, headers) = preflight(&app, "/api/v1/listings", CONSOLE, "POST").await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), CONSOLE);
    assert!(header(&headers, "access-control-allow-methods").contains("POST"));
    let allowed = header(&headers, "access-control-allow-headers").to_lowercase();
    assert!(allowed.contains("authorization") && allowed.contains("content-type"));
    assert!(
        header(&headers, "access-control-max-age")
            .parse::<u64>()
            .unwrap()
            > 0
    );
    assert!(header(&headers, "vary").to_lowercase().contains("origin"));
    assert!(headers.get("access-control-allow-credentials").is_none());
    // Preflights reach any path of the API, ids and all.
    let (status, headers) = preflight(
        &app,
        "/api/v1/wishes/01a22385-1fdd-7714-a7d3-904521947761",
        CONSOLE,
        "PATCH",
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), CONSOLE);

    let (status, headers) = get_from(&app, "/api/v1/categories", CONSOLE).await;
    assert_eq!(status, 200);
    assert_eq!(header(&headers, "access-control-allow-origin"), CONSOLE);
    assert!(header(&headers, "access-control-expose-headers")
        .to_lowercase()
        .contains("etag"));

    let (status, headers) = preflight(&app, "/api/v1/listings", STRANGER, "POST").await;
    assert!((400..500).contains(&status), "{status}");
    assert!(no_cors(&headers), "{headers:?}");
    // A request from elsewhere is answered (a browser keeps the answer from the page).
    let (status, headers) = get_from(&app, "/api/v1/categories", STRANGER).await;
    assert_eq!(status, 200);
    assert!(no_cors(&headers), "{headers:?}");
}

#[actix_web::test]
async fn without_configured_origins_no_page_elsewhere_may_call_the_api() {
    let app = TestApp::spawn().await;
    for origin in [CONSOLE, STRANGER] {
        let (status, headers) = preflight(&app, "/api/v1/listings", origin, "POST").await;
        assert!((400..500).contains(&status), "{status}");
        assert!(no_cors(&headers), "{headers:?}");
        let (_, headers) = get_from(&app, "/api/v1/categories", origin).await;
        assert!(no_cors(&headers), "{headers:?}");
    }
}

#[actix_web::test]
async fn open_data_may_be_read_from_any_page_without_credentials() {
    for app in [TestApp::spawn().await, with_console().await] {
        for path in [
            "/api/v1/open/listings.geojson",
            "/api/v1/open/flows.json",
            "/api/v1/open/flows.csv",
        ] {
            let (status, headers) = get_from(&app, path, STRANGER).await;
            assert_eq!(status, 200, "{path}");
            assert_eq!(header(&headers, "access-control-allow-origin"), "*");
            assert!(headers.get("access-control-allow-credentials").is_none());
        }
        let (status, headers) =
            preflight(&app, "/api/v1/open/listings.geojson", STRANGER, "GET").await;
        assert_eq!(status, 200);
        assert_eq!(header(&headers, "access-control-allow-origin"), "*");
        assert_eq!(header(&headers, "access-control-allow-methods"), "GET");
        assert!(headers.get("access-control-allow-credentials").is_none());
        // GET only.
        let (status, headers) =
            preflight(&app, "/api/v1/open/listings.geojson", STRANGER, "DELETE").await;
        assert!((400..500).contains(&status), "{status}");
        assert!(headers.get("access-control-allow-origin").is_none());
    }
}
