//! Passwords: common and personal ones refused, change, reset by e-mail, and login throttling
//! per (account, address) behind trusted proxies.

use crate::support::*;
use serde_json::{json, Value};

fn registration(email: &str, password: &str) -> Value {
    json!({"email": email, "password": password, "display_name": "Sanne de Vries",
           "locale": "en",
           "organisation": {"name": "Sloop BV", "kind": "contractor"}})
}

#[actix_web::test]
async fn common_and_personal_passwords_are_refused_at_registration() {
    let app = TestApp::spawn().await;
    let common = app
        .post(
            "/api/v1/auth/register",
            None,
            &registration("sanne@sloop.test", "Password2024!"),
        )
        .await;
    common.assert_problem(422, "validation");
    assert_eq!(common.body["errors"][0]["pointer"], "/password");
    assert_eq!(common.body["errors"][0]["code"], "common_password");
    let detail = common.body["errors"][0]["detail"].as_str().unwrap();
    assert!(detail.contains("most common passwords"), "{detail}");

    let own = app
        .post(
            "/api/v1/auth/register",
            None,
            &registration("sanne.devries@sloop.test", "sanne.devries@sloop.test"),
        )
        .await;
    own.assert_problem(422, "validation");
    assert_eq!(own.body["errors"][0]["code"], "password_is_personal");
    let named = app
        .post(
            "/api/v1/auth/register",
            None,
            &registration("sanne@sloop.test", "Sanne de Vries 1"),
        )
        .await;
    named.assert_problem(422, "validation");
    assert_eq!(named.body["errors"][0]["code"], "password_is_personal");

    let fine = app
        .post(
            "/api/v1/auth/register",
            None,
            &registration("sanne@sloop.test", "kraanvogel op de slooplocatie"),
        )
        .await;
    assert_eq!(fine.status, 201, "{}", fine.body);
}

/// The tokens of the reset links mailed to `email`, oldest first (read from the outbox, where
/// the mail waits to be sent).
async fn reset_tokens(app: &TestApp, email: &str) -> Vec<String> {
    use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
    #[derive(diesel::QueryableByName)]
    struct Token {
        #[diesel(sql_type = diesel::sql_types::Text)]
        token: String,
    }
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let rows: Vec<Token> = diesel::sql_query(format!(
        "SELECT o.payload->>'token' AS token FROM outbox o JOIN users u \
         ON u.id = o.recipient_user_id WHERE o.event = 'password_reset' \
         AND o.channel = 'email' AND u.email = '{email}' ORDER BY o.created_at, o.id"
    ))
    .load(&mut conn)
    .await
    .unwrap();
    rows.into_iter().map(|row| row.token).collect()
}

async fn login_with(app: &TestApp, email: &str, password: &str) -> Response {
    app.post(
        "/api/v1/auth/token",
        None,
        &json!({"email": email, "password": password}),
    )
    .await
}

async fn refresh(app: &TestApp, tokens: &Value) -> Response {
    app.post(
        "/api/v1/auth/refresh",
        None,
        &json!({"refresh_token": tokens["refresh_token"]}),
    )
    .await
}

#[actix_web::test]
async fn changing_the_password_needs_the_old_one_and_ends_other_sessions() {
    let app = TestApp::spawn().await;
    app.register("sanne@sloop.test", "contractor").await;
    let elsewhere = app.login("sanne@sloop.test").await;
    let here = app.login("sanne@sloop.test").await;
    let access = here["access_token"].as_str().unwrap();

    let wrong = app
        .post(
            "/api/v1/auth/password",
            Some(access),
            &json!({"current_password": "not my password", "new_password": "kraanvogel op de slooplocatie"}),
        )
        .await;
    wrong.assert_problem(422, "validation");
    assert_eq!(wrong.body["errors"][0]["pointer"], "/current_password");
    let common = app
        .post(
            "/api/v1/auth/password",
            Some(access),
            &json!({"current_password": "correct horse battery", "new_password": "welkom12345"}),
        )
        .await;
    common.assert_problem(422, "validation");
    assert_eq!(common.body["errors"][0]["code"], "common_password");

    let changed = app
        .post(
            "/api/v1/auth/password",
            Some(access),
            &json!({"current_password": "correct horse battery", "new_password": "kraanvogel op de slooplocatie"}),
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    // Every earlier session has ended; the new one works.
    refresh(&app, &elsewhere)
        .await
        .assert_problem(401, "unauthenticated");
    refresh(&app, &here)
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(refresh(&app, &changed.body).await.status, 200);
    login_with(&app, "sanne@sloop.test", "correct horse battery")
        .await
        .assert_problem(401, "invalid-credentials");
    let fresh = login_with(&app, "sanne@sloop.test", "kraanvogel op de slooplocatie").await;
    assert_eq!(fresh.status, 200, "{}", fresh.body);
}

#[actix_web::test]
async fn a_reset_link_is_single_use_expires_and_ends_every_session() {
    let app = TestApp::spawn().await;
    app.register("sanne@sloop.test", "contractor").await;
    let session = app.login("sanne@sloop.test").await;

    // Known and unknown addresses get the same answer.
    let known = app
        .post(
            "/api/v1/auth/password-reset",
            None,
            &json!({"email": "Sanne@Sloop.test"}),
        )
        .await;
    let unknown = app
        .post(
            "/api/v1/auth/password-reset",
            None,
            &json!({"email": "nobody@sloop.test"}),
        )
        .await;
    assert_eq!(known.status, 202);
    assert_eq!((known.status, &known.body), (unknown.status, &unknown.body));
    assert_eq!(
        app.sql_count("SELECT count(*) FROM outbox WHERE event = 'password_reset'")
            .await,
        1,
        "one mail, and no copy in the in-app feed"
    );
    let token = reset_tokens(&app, "sanne@sloop.test").await.remove(0);

    // A refused password does not use the link up.
    let weak = app
        .post(
            "/api/v1/auth/password-reset/confirm",
            None,
            &json!({"token": token, "new_password": "sanne@sloop.test"}),
        )
        .await;
    weak.assert_problem(422, "validation");
    let reset = app
        .post(
            "/api/v1/auth/password-reset/confirm",
            None,
            &json!({"token": token, "new_password": "kraanvogel op de slooplocatie"}),
        )
        .await;
    assert_eq!(reset.status, 204, "{}", reset.body);
    refresh(&app, &session)
        .await
        .assert_problem(401, "unauthenticated");
    let again = app
        .post(
            "/api/v1/auth/password-reset/confirm",
            None,
            &json!({"token": token, "new_password": "een ander goed wachtwoord"}),
        )
        .await;
    again.assert_problem(422, "validation");
    assert_eq!(again.body["errors"][0]["code"], "invalid_reset_link");
    assert_eq!(
        login_with(&app, "sanne@sloop.test", "kraanvogel op de slooplocatie")
            .await
            .status,
        200
    );

    // A link expires after an hour.
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({"email": "sanne@sloop.test"}),
    )
    .await;
    let late = reset_tokens(&app, "sanne@sloop.test").await.remove(1);
    app.clock.advance(chrono::Duration::minutes(61));
    let expired = app
        .post(
            "/api/v1/auth/password-reset/confirm",
            None,
            &json!({"token": late, "new_password": "een ander goed wachtwoord"}),
        )
        .await;
    assert_eq!(expired.body["errors"][0]["code"], "invalid_reset_link");
}

#[actix_web::test]
async fn a_reset_lets_a_locked_out_owner_in() {
    let app = TestApp::spawn().await;
    app.register("sanne@sloop.test", "contractor").await;
    for _ in 0..5 {
        login_with(&app, "sanne@sloop.test", "guess guess guess").await;
    }
    login_with(&app, "sanne@sloop.test", "correct horse battery")
        .await
        .assert_problem(429, "rate-limited");
    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({"email": "sanne@sloop.test"}),
    )
    .await;
    let token = reset_tokens(&app, "sanne@sloop.test").await.remove(0);
    let reset = app
        .post(
            "/api/v1/auth/password-reset/confirm",
            None,
            &json!({"token": token, "new_password": "kraanvogel op de slooplocatie"}),
        )
        .await;
    assert_eq!(reset.status, 204, "{}", reset.body);
    let back = login_with(&app, "sanne@sloop.test", "kraanvogel op de slooplocatie").await;
    assert_eq!(back.status, 200, "{}", back.body);
}
