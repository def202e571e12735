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
