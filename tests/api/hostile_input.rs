//! Input PostgreSQL cannot take as text, or that blows up its full-text parser, is a 4xx
//! problem, never a 500.

use crate::support::*;
use serde_json::json;

#[actix_web::test]
async fn nul_characters_in_addresses_are_a_400() {
    let app = TestApp::spawn().await;
    for path in [
        "/api/v1/listings?q=deur%00",
        "/api/v1/listings?category=doors%00",
        "/api/v1/listings?max_price=10&currency=EU%00R",
        "/api/v1/open/listings.geojson?after=%00",
    ] {
        let answer = app.get(path, None).await;
        answer.assert_problem(400, "bad-request");
    }
}

#[actix_web::test]
async fn nul_characters_in_json_are_a_422() {
    let app = TestApp::spawn().await;
    let login = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"email": "sanne\u{0}@sloop.test", "password": "correct horse battery"}),
        )
        .await;
    login.assert_problem(422, "validation");
    let market = Market::open(&app).await;
    let passport = PassportBuilder::doors()
        .with(&json!({"name": "Deur\u{0}"}))
        .json();
    let made = app
        .post("/api/v1/passports", Some(&market.donor.token), &passport)
        .await;
    made.assert_problem(422, "validation");
}

#[actix_web::test]
async fn searches_of_operators_alone_answer() {
    let app = TestApp::spawn().await;
    for q in [
        "-".repeat(40),
        "- ".repeat(40),
        "\"\"\"".into(),
        "deur ---------glas".into(),
    ] {
        let answer = app
            .get(&format!("/api/v1/listings?q={}", urlencode(&q)), None)
            .await;
        assert_eq!(answer.status, 200, "q={q:?}: {}", answer.body);
    }
}

fn urlencode(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            b'a'..=b'z' | b'A'..=b'Z' | b'0'..=b'9' | b'-' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[actix_web::test]
async fn answers_are_not_sniffed_and_personal_ones_not_kept() {
    let app = TestApp::spawn().await;
    let public = app.get("/api/v1/categories", None).await;
    assert_eq!(public.headers["x-content-type-options"], "nosniff");
    let missing = app.get("/api/v1/nothing-here", None).await;
    assert_eq!(missing.headers["x-content-type-options"], "nosniff");
    let market = Market::open(&app).await;
    let me = app.get("/api/v1/me", Some(&market.maker.token)).await;
    assert_eq!(me.status, 200);
    assert_eq!(me.headers["x-content-type-options"], "nosniff");
    assert_eq!(me.headers["cache-control"], "no-store");
}
