//! Every kind of bad input answers 4xx problem+json, never a 5xx and never HTML or plain text.

use crate::support::{Response, TestApp};
use serde_json::json;

async fn raw(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    content_type: Option<&str>,
    body: Vec<u8>,
) -> Response {
    let mut request = app.client.request(method, app.url(path)).body(body);
    if let Some(content_type) = content_type {
        request = request.header("content-type", content_type);
    }
    Response::from(request.send().await.unwrap()).await
}

#[actix_web::test]
async fn malformed_json_is_a_400() {
    let app = TestApp::spawn().await;
    for body in [
        &b"{\"email\": "[..],
        b"{not json}",
        b"",
        b"{\"email\" \"a@b.nl\"}",
        b"{\"email\":\"a@b.nl\",\"password\":\"correct horse battery\"} {}",
    ] {
        let response = raw(
            &app,
            reqwest::Method::POST,
            "/api/v1/auth/token",
            Some("application/json"),
            body.to_vec(),
        )
        .await;
        response.assert_problem(400, "malformed-body");
    }
}

#[actix_web::test]
async fn wrong_content_type_is_a_415() {
    let app = TestApp::spawn().await;
    let body = br#"{"email":"a@b.nl","password":"correct horse battery"}"#.to_vec();
    for content_type in [
        Some("text/plain"),
        Some("application/x-www-form-urlencoded"),
        None,
    ] {
        let response = raw(
            &app,
            reqwest::Method::POST,
            "/api/v1/auth/token",
            content_type,
            body.clone(),
        )
        .await;
        response.assert_problem(415, "unsupported-media-type");
    }
    // A JSON media type with parameters is fine.
    let response = raw(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/token",
        Some("application/json; charset=utf-8"),
        body,
    )
    .await;
    response.assert_problem(401, "invalid-credentials");
}

#[actix_web::test]
async fn oversized_bodies_are_a_413() {
    let app = TestApp::spawn().await;
    let big = format!(
        r#"{{"email":"a@b.nl","password":"{}"}}"#,
        "x".repeat(200 * 1024)
    );
    let response = raw(
        &app,
        reqwest::Method::POST,
        "/api/v1/auth/token",
        Some("application/json"),
        big.into_bytes(),
    )
    .await;
    response.assert_problem(413, "payload-too-large");
}

#[actix_web::test]
async fn unknown_fields_and_wrong_types_are_a_422_with_a_pointer() {
    let app = TestApp::spawn().await;
    let unknown = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"email": "a@b.nl", "password": "correct horse battery", "admin": true}),
        )
        .await;
    unknown.assert_problem(422, "validation");
    assert!(unknown.body["detail"]
        .as_str()
        .unwrap()
        .contains("unknown field `admin`"));

    let nested = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": "a@b.nl", "password": "correct horse battery", "display_name": "A",
                    "organisation": {"name": "X", "kind": "makerspace", "location": {"lat": "north", "lon": 4.3}}}),
        )
        .await;
    nested.assert_problem(422, "validation");
    assert_eq!(
        nested.body["errors"][0]["pointer"],
        "/organisation/location/lat"
    );

    let missing = app
        .post("/api/v1/auth/token", None, &json!({"email": "a@b.nl"}))
        .await;
    missing.assert_problem(422, "validation");
    assert!(missing.body["detail"]
        .as_str()
        .unwrap()
        .contains("missing field `password`"));

    let wrong_kind = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": "a@b.nl", "password": "correct horse battery", "display_name": "A",
                    "organisation": {"name": "X", "kind": "bank"}}),
        )
        .await;
    wrong_kind.assert_problem(422, "validation");
    assert_eq!(
        wrong_kind.body["errors"][0]["pointer"],
        "/organisation/kind"
    );
}

#[actix_web::test]
async fn unknown_routes_are_a_404_and_wrong_methods_a_405() {
    let app = TestApp::spawn().await;
    for path in [
        "/nothing-here",
        "/api/v1/nothing-here",
        "/api/v2/me",
        "/api/v1/organisations/1/unknown",
    ] {
        raw(&app, reqwest::Method::GET, path, None, vec![])
            .await
            .assert_problem(404, "not-found");
    }
    let response = raw(&app, reqwest::Method::PUT, "/api/v1/me", None, vec![]).await;
    response.assert_problem(405, "method-not-allowed");
    assert_eq!(response.headers["allow"], "GET, DELETE, PATCH");
    let response = raw(
        &app,
        reqwest::Method::GET,
        "/api/v1/auth/token",
        None,
        vec![],
    )
    .await;
    response.assert_problem(405, "method-not-allowed");
    assert_eq!(response.headers["allow"], "POST");
    let response = raw(
        &app,
        reqwest::Method::PUT,
        "/api/v1/organisations/01a22385-1fdd-7714-a7d3-904521947761",
        None,
        vec![],
    )
    .await;
    response.assert_problem(405, "method-not-allowed");
}

#[actix_web::test]
async fn bad_query_strings_are_a_400() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    for query in ["status=dormant", "limit=many", "limit=-1", "surprise=1"] {
        let response = app
            .get(
                &format!("/api/v1/admin/organisations?{query}"),
                Some(&broker),
            )
            .await;
        response.assert_problem(400, "invalid-query");
    }
    app.get("/api/v1/admin/organisations?cursor=garbage", Some(&broker))
        .await
        .assert_problem(400, "bad-request");
}
