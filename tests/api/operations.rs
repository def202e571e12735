//! Health, readiness, metrics, request ids and the interactive documentation.

use crate::support::{test_settings, with_database, TestApp};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};

#[actix_web::test]
async fn health_and_readiness() {
    let app = TestApp::spawn().await;
    let health = app.get("/healthz", None).await;
    assert_eq!(
        (health.status, health.body["status"].as_str()),
        (200, Some("ok"))
    );
    let ready = app.get("/readyz", None).await;
    assert_eq!(
        (ready.status, ready.body["status"].as_str()),
        (200, Some("ok"))
    );

    // Take the newest migration away: the service is no longer ready.
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    diesel::sql_query("DELETE FROM __diesel_schema_migrations WHERE version = $1")
        .bind::<diesel::sql_types::Text, _>(&app.ctx.latest_migration)
        .execute(&mut conn)
        .await
        .unwrap();
    let ready = app.get("/readyz", None).await;
    assert_eq!(
        (ready.status, ready.body["status"].as_str()),
        (503, Some("migrations pending")),
        "{} {:?}",
        ready.body,
        ready.headers
    );
}

#[actix_web::test]
async fn readiness_fails_without_a_database() {
    let mut settings = test_settings();
    settings.db_pool_size = 1;
    let app = TestApp::spawn_with(settings).await;
    let name = app.db_url.rsplit(['/', '=']).next().unwrap().to_owned();
    let admin_url = with_database(&app.db_url, "postgres");
    let mut admin = AsyncPgConnection::establish(&admin_url).await.unwrap();
    diesel::sql_query(format!("DROP DATABASE {name} WITH (FORCE)"))
        .execute(&mut admin)
        .await
        .unwrap();
    let ready = app.get("/readyz", None).await;
    assert_eq!(ready.status, 503, "{}", ready.body);
    // Endpoints that need the database answer 503 problem+json, not 500.
    let response = app
        .post(
            "/api/v1/auth/token",
            None,
            &serde_json::json!({"email": "a@b.nl", "password": "correct horse battery"}),
        )
        .await;
    response.assert_problem(503, "unavailable");
}

#[actix_web::test]
async fn metrics_count_requests_per_route() {
    let app = TestApp::spawn().await;
    app.get("/healthz", None).await;
    app.get(
        "/api/v1/organisations/01a22385-1fdd-7714-a7d3-904521947761",
        None,
    )
    .await;
    app.get(
        "/api/v1/organisations/01a22385-1fdd-7714-a7d3-904521947762",
        None,
    )
    .await;
    let text = app
        .client
        .get(app.url("/metrics"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(text.contains("kringloop_http_requests_total"), "{text}");
    assert!(
        text.contains("kringloop_http_requests_duration_seconds_bucket"),
        "{text}"
    );
    // Ids are folded into the route's pattern, so each route has one series.
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("kringloop_http_requests_total")
                && l.contains("endpoint=\"/api/v1/organisations/{id}\"")
        })
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.ends_with(" 2"), "{line}");
}

#[actix_web::test]
async fn every_answer_carries_a_request_id() {
    let app = TestApp::spawn().await;
    let ok = app.get("/healthz", None).await;
    let missing = app.get("/nowhere", None).await;
    let a = ok.headers["x-request-id"].to_str().unwrap().to_owned();
    let b = missing.headers["x-request-id"].to_str().unwrap().to_owned();
    assert_ne!(a, b);
    assert_eq!(a.len(), 36);
}

#[actix_web::test]
async fn docs_are_served_offline() {
    let app = TestApp::spawn().await;
    let page = app.client.get(app.url("/docs/")).send().await.unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("swagger-ui"), "{html}");
    let script = app
        .client
        .get(app.url("/docs/swagger-ui-bundle.js"))
        .send()
        .await
        .unwrap();
    assert_eq!(script.status(), 200);
    assert!(script.text().await.unwrap().len() > 100_000);
    let doc = app.get("/openapi.json", None).await;
    assert_eq!(doc.body["openapi"], "3.1.0");
}

#[actix_web::test]
async fn docs_without_a_slash_redirect_to_the_docs() {
    let app = TestApp::spawn().await;
    let no_redirects = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let response = no_redirects.get(app.url("/docs")).send().await.unwrap();
    assert!(
        matches!(response.status().as_u16(), 301 | 308),
        "{}",
        response.status()
    );
    assert_eq!(response.headers()["location"], "/docs/");
    let followed = app.client.get(app.url("/docs")).send().await.unwrap();
    assert_eq!(followed.status(), 200);
}

#[actix_web::test]
async fn the_front_page_says_what_this_is() {
    let app = TestApp::spawn().await;
    let response = app.client.get(app.url("/")).send().await.unwrap();
    assert_eq!(response.status(), 200);
    assert!(response.headers()["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let html = response.text().await.unwrap();
    assert!(html.contains("<html lang=\"nl\">"), "{html}");
    assert!(html.contains("kringloop</title>"), "{html}");
    for link in [
        "href=\"/docs/\"",
        "href=\"/openapi.json\"",
        "href=\"/api/v1/open/listings.geojson\"",
    ] {
        assert!(html.contains(link), "{link} missing: {html}");
    }
    // Everything it needs comes from this service: nothing loaded from another origin.
    assert!(!html.contains("src=\"http"), "{html}");
    assert!(!html.contains("href=\"http"), "{html}");
    assert!(html.contains("Bouwmaterialen in de stad"), "{html}");
    // In English for a browser that asks for it.
    let english = app
        .client
        .get(app.url("/"))
        .header("accept-language", "en-GB,en;q=0.9")
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        english.contains("Building materials in the city"),
        "{english}"
    );
}

/// The metrics' text, read from `base`.
async fn metrics_text(app: &TestApp, base: &str) -> (u16, String) {
    let response = app
        .client
        .get(format!("{base}/metrics"))
        .send()
        .await
        .unwrap();
    (response.status().as_u16(), response.text().await.unwrap())
}

/// Requests no route takes: made-up paths, and made-up methods on known and made-up paths.
async fn made_up_requests(app: &TestApp, round: usize, count: usize) {
    for i in 0..count {
        let n = round * count + i;
        let id = uuid::Uuid::new_v4();
        let (method, path) = match i % 5 {
            0 => ("GET".to_owned(), format!("/nothing/{id}")),
            1 => ("POST".to_owned(), format!("/api/v1/{id}/x")),
            2 => (format!("FOO{n}"), "/api/v1/me".to_owned()),
            3 => (format!("PURGE{n}"), format!("/api/v1/{id}")),
            _ => ("GET".to_owned(), format!("/api/v1/listings/{id}")),
        };
        let method = reqwest::Method::from_bytes(method.as_bytes()).unwrap();
        let response = app
            .client
            .request(method, app.url(&path))
            .send()
            .await
            .unwrap();
        assert!(
            response.status().is_client_error(),
            "{path}: {}",
            response.status()
        );
    }
}

/// Made-up paths and methods share one label each, so however many of them arrive the
/// metrics keep their size (before, each added a series: 20,000 requests made 35 MB).
#[actix_web::test]
async fn made_up_paths_and_methods_leave_the_metrics_bounded() {
    let app = TestApp::spawn().await;
    app.get("/healthz", None).await;
    made_up_requests(&app, 0, 50).await;
    // The first read of the metrics is counted in the second.
    metrics_text(&app, &app.base).await;
    let (_, before) = metrics_text(&app, &app.base).await;
    made_up_requests(&app, 1, 500).await;
    let (status, after) = metrics_text(&app, &app.base).await;
    assert_eq!(status, 200);
    // The same series, with larger counts: only digits grow.
    assert_eq!(after.lines().count(), before.lines().count(), "{after}");
    assert!(
        after.len() < before.len() + 2048,
        "{} bytes before, {} after",
        before.len(),
        after.len()
    );
    assert!(after.contains("endpoint=\"UNMATCHED\""), "{after}");
    assert!(after.contains("method=\"OTHER\""), "{after}");
    assert!(
        !after.contains("FOO") && !after.contains("PURGE"),
        "{after}"
    );
    // A made-up method on a known path is still a 405 that names it.
    let answer = app
        .client
        .request(
            reqwest::Method::from_bytes(b"BREW").unwrap(),
            app.url("/api/v1/me"),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(answer.status(), 405);
    assert_eq!(answer.headers()["allow"], "GET, DELETE, PATCH");
    let body: serde_json::Value = answer.json().await.unwrap();
    assert!(
        body["detail"].as_str().unwrap().starts_with("BREW "),
        "{body}"
    );
}

/// With KRINGLOOP_METRICS_BIND the metrics are served on that address, and not on the main one.
#[actix_web::test]
async fn metrics_can_have_an_address_of_their_own() {
    let mut settings = test_settings();
    settings.metrics_bind = Some("127.0.0.1:0".into());
    let app = TestApp::spawn_with(settings).await;
    let metrics_base = app.metrics_base.clone().unwrap();
    assert_ne!(metrics_base, app.base);
    app.get("/healthz", None).await;
    let (status, _) = metrics_text(&app, &app.base).await;
    assert_eq!(status, 404);
    let (status, text) = metrics_text(&app, &metrics_base).await;
    assert_eq!(status, 200);
    let line = text
        .lines()
        .find(|l| {
            l.starts_with("kringloop_http_requests_total") && l.contains("endpoint=\"/healthz\"")
        })
        .unwrap_or_else(|| panic!("{text}"));
    assert!(line.ends_with(" 1"), "{line}");
    // Nothing else is there.
    let other = app
        .client
        .get(format!("{metrics_base}/api/v1/me"))
        .send()
        .await
        .unwrap();
    assert_eq!(other.status(), 404);
}
