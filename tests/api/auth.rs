//! Tokens: access JWTs, refresh rotation with reuse detection, logout and login throttling.

use crate::support::{test_settings, Response, TestApp, JWT_SECRET};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{Duration, Utc};
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{json, Value};

async fn refresh(app: &TestApp, token: &Value) -> Response {
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": token}),
    )
    .await
}

#[actix_web::test]
async fn refresh_rotates_and_a_reused_token_ends_the_session() {
    let app = TestApp::spawn().await;
    app.register("sanne@sloop.test", "contractor").await;
    let first = app.login("sanne@sloop.test").await;

    let second = refresh(&app, &first["refresh_token"]).await;
    assert_eq!(second.status, 200, "{}", second.body);
    assert_eq!(second.headers["cache-control"], "no-store");
    assert_ne!(second.body["refresh_token"], first["refresh_token"]);
    let me = app
        .get("/api/v1/me", second.body["access_token"].as_str())
        .await;
    assert_eq!(me.status, 200);

    // The first token was rotated: presenting it again is theft or a bug; the family dies.
    refresh(&app, &first["refresh_token"])
        .await
        .assert_problem(401, "unauthenticated");
    refresh(&app, &second.body["refresh_token"])
        .await
        .assert_problem(401, "unauthenticated");

    // Another session of the same user is untouched.
    let other = app.login("sanne@sloop.test").await;
    assert_eq!(refresh(&app, &other["refresh_token"]).await.status, 200);

    refresh(&app, &json!("made-up-token"))
        .await
        .assert_problem(401, "unauthenticated");
}

#[actix_web::test]
async fn refresh_tokens_expire() {
    let app = TestApp::spawn().await;
    app.register("sanne@sloop.test", "contractor").await;
    let tokens = app.login("sanne@sloop.test").await;
    app.clock.advance(Duration::days(31));
    refresh(&app, &tokens["refresh_token"])
        .await
        .assert_problem(401, "unauthenticated");
    // And so do access tokens, by the service's clock.
    app.get("/api/v1/me", tokens["access_token"].as_str())
        .await
        .assert_problem(401, "unauthenticated");
}

#[actix_web::test]
async fn logout_revokes_the_session() {
    let app = TestApp::spawn().await;
    app.register("sanne@sloop.test", "contractor").await;
    let tokens = app.login("sanne@sloop.test").await;
    let access = tokens["access_token"].as_str().unwrap();
    app.post(
        "/api/v1/auth/logout",
        None,
        &json!({"refresh_token": tokens["refresh_token"]}),
    )
    .await
    .assert_problem(401, "unauthenticated");
    let out = app
        .post(
            "/api/v1/auth/logout",
            Some(access),
            &json!({"refresh_token": tokens["refresh_token"]}),
        )
        .await;
    assert_eq!(out.status, 204);
    refresh(&app, &tokens["refresh_token"])
        .await
        .assert_problem(401, "unauthenticated");
}

#[actix_web::test]
async fn logout_cannot_end_someone_elses_session() {
    let app = TestApp::spawn().await;
    app.register("sanne@sloop.test", "contractor").await;
    app.register("mo@maakplaats.test", "makerspace").await;
    let sanne = app.login("sanne@sloop.test").await;
    let mo = app.login("mo@maakplaats.test").await;
    let out = app
        .post(
            "/api/v1/auth/logout",
            mo["access_token"].as_str(),
            &json!({"refresh_token": sanne["refresh_token"]}),
        )
        .await;
    assert_eq!(out.status, 204);
    assert_eq!(refresh(&app, &sanne["refresh_token"]).await.status, 200);
}

fn sign(claims: &Value, secret: &str, algorithm: Algorithm) -> String {
    jsonwebtoken::encode(
        &Header::new(algorithm),
        claims,
        &EncodingKey::from_secret(secret.as_bytes()).unwrap(),
    )
    .unwrap()
}

#[actix_web::test]
async fn bad_access_tokens_are_refused() {
    let app = TestApp::spawn().await;
    let registered = app.register("sanne@sloop.test", "contractor").await;
    let user = registered["user"]["id"].as_str().unwrap();
    let now = Utc::now().timestamp();
    let good = json!({"iss": "https://kringloop.test", "aud": "kringloop-api", "sub": user, "iat": now, "exp": now + 600});
    // The control: a token made like this is accepted, so each refusal below is for its one flaw.
    let accepted = app
        .get(
            "/api/v1/me",
            Some(&sign(&good, JWT_SECRET, Algorithm::HS256)),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);

    let mut cases: Vec<(&str, String)> = Vec::new();
    let mut expired = good.clone();
    expired["exp"] = json!(now - 120);
    cases.push(("expired", sign(&expired, JWT_SECRET, Algorithm::HS256)));
    cases.push((
        "badly signed",
        sign(
            &good,
            "another-secret-that-is-long-enough-012345",
            Algorithm::HS256,
        ),
    ));
    cases.push(("HS512", sign(&good, JWT_SECRET, Algorithm::HS512)));
    let mut wrong_iss = good.clone();
    wrong_iss["iss"] = json!("https://evil.test");
    cases.push(("wrong iss", sign(&wrong_iss, JWT_SECRET, Algorithm::HS256)));
    let mut wrong_aud = good.clone();
    wrong_aud["aud"] = json!("another-api");
    cases.push(("wrong aud", sign(&wrong_aud, JWT_SECRET, Algorithm::HS256)));
    let mut no_exp = good.clone();
    no_exp.as_object_mut().unwrap().remove("exp");
    cases.push(("no exp", sign(&no_exp, JWT_SECRET, Algorithm::HS256)));
    let mut unknown_user = good.clone();
    unknown_user["sub"] = json!("01a22385-1fdd-7714-a7d3-904521947761");
    cases.push((
        "unknown user",
        sign(&unknown_user, JWT_SECRET, Algorithm::HS256),
    ));
    let header = URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#);
    let payload = URL_SAFE_NO_PAD.encode(good.to_string());
    cases.push(("alg none", format!("{header}.{payload}.")));
    cases.push(("garbage", "not.a.jwt".into()));
    cases.push(("empty", "".into()));

    for (name, token) in cases {
        let response = app
            .client
            .get(app.url("/api/v1/me"))
            .header("authorization", format!("Bearer {token}"))
            .send()
            .await
            .unwrap();
        let response = Response::from(response).await;
        assert_eq!(response.status, 401, "{name}: {}", response.body);
        response.assert_problem(401, "unauthenticated");
        assert_eq!(response.headers["www-authenticate"], "Bearer", "{name}");
    }
    let basic = app
        .client
        .get(app.url("/api/v1/me"))
        .header("authorization", "Basic c2FubmU6cHc=")
        .send()
        .await
        .unwrap();
    Response::from(basic)
        .await
        .assert_problem(401, "unauthenticated");
}

#[actix_web::test]
async fn wrong_passwords_and_unknown_accounts_look_alike() {
    let app = TestApp::spawn().await;
    app.register("sanne@sloop.test", "contractor").await;
    let wrong = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"email": "sanne@sloop.test", "password": "wrong password!"}),
        )
        .await;
    wrong.assert_problem(401, "invalid-credentials");
    let unknown = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"email": "nobody@sloop.test", "password": "wrong password!"}),
        )
        .await;
    unknown.assert_problem(401, "invalid-credentials");
    assert_eq!(wrong.body, unknown.body);
}

#[actix_web::test]
async fn login_is_throttled_per_account() {
    let app = TestApp::spawn().await;
    app.register("sanne@sloop.test", "contractor").await;
    for _ in 0..5 {
        let response = app
            .post(
                "/api/v1/auth/token",
                None,
                &json!({"email": "sanne@sloop.test", "password": "guess guess guess"}),
            )
            .await;
        response.assert_problem(401, "invalid-credentials");
    }
    // Even the right password waits now.
    let limited = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"email": "sanne@sloop.test", "password": "correct horse battery"}),
        )
        .await;
    limited.assert_problem(429, "rate-limited");
    let retry_after: i64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=900).contains(&retry_after), "{retry_after}");
    // Other accounts are not locked out by it.
    app.register("mo@maakplaats.test", "makerspace").await;
    app.login("mo@maakplaats.test").await;
    // When the window has passed, the right password works again.
    app.clock.advance(Duration::seconds(retry_after));
    app.login("sanne@sloop.test").await;
}

#[actix_web::test]
async fn login_is_throttled_per_client_address() {
    let mut settings = test_settings();
    settings.login_max_failures_per_address = 8;
    let app = TestApp::spawn_with(settings).await;
    app.register("sanne@sloop.test", "contractor").await;
    for i in 0..8 {
        let response = app
            .post(
                "/api/v1/auth/token",
                None,
                &json!({"email": format!("guess{i}@sloop.test"), "password": "guess guess guess"}),
            )
            .await;
        response.assert_problem(401, "invalid-credentials");
    }
    let limited = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"email": "sanne@sloop.test", "password": "correct horse battery"}),
        )
        .await;
    limited.assert_problem(429, "rate-limited");
    assert!(limited.headers.contains_key("retry-after"));
}
