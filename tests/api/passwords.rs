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

async fn login_from(app: &TestApp, from: &[(&str, &str)], email: &str, password: &str) -> Response {
    app.send(
        reqwest::Method::POST,
        "/api/v1/auth/token",
        None,
        Some(&json!({"email": email, "password": password})),
        from,
    )
    .await
}

#[actix_web::test]
async fn forwarded_addresses_are_believed_only_from_trusted_proxies() {
    // Not trusted: every spoofed X-Forwarded-For is still the one peer address.
    let mut settings = test_settings();
    settings.login_max_failures_per_address = 3;
    let app = TestApp::spawn_with(settings.clone()).await;
    for i in 0..3 {
        let from = format!("203.0.113.{i}");
        login_from(
            &app,
            &[("x-forwarded-for", &from)],
            &format!("guess{i}@sloop.test"),
            "guess guess guess",
        )
        .await
        .assert_problem(401, "invalid-credentials");
    }
    login_from(
        &app,
        &[("x-forwarded-for", "203.0.113.99")],
        "guess9@sloop.test",
        "guess guess guess",
    )
    .await
    .assert_problem(429, "rate-limited");

    // Trusted (the test client connects from the loopback address): each forwarded client
    // has a budget of its own, and a client cannot pick its address by writing one to the
    // left of what the proxy appended.
    settings.trusted_proxies = vec!["127.0.0.0/8".into(), "::1".into()];
    let app = TestApp::spawn_with(settings).await;
    for i in 0..3 {
        let chain = format!("198.51.100.{i}, 203.0.113.7");
        login_from(
            &app,
            &[("x-forwarded-for", &chain)],
            &format!("guess{i}@sloop.test"),
            "guess guess guess",
        )
        .await
        .assert_problem(401, "invalid-credentials");
    }
    login_from(
        &app,
        &[("x-forwarded-for", "203.0.113.7")],
        "guess9@sloop.test",
        "guess guess guess",
    )
    .await
    .assert_problem(429, "rate-limited");
    for from in [
        &[("x-forwarded-for", "203.0.113.8")][..],
        &[("forwarded", "for=\"[2001:db8::7]:4711\";proto=https")][..],
        &[("forwarded", "for=192.0.2.60;proto=http, for=127.0.0.1")][..],
    ] {
        login_from(&app, from, "guess9@sloop.test", "guess guess guess")
            .await
            .assert_problem(401, "invalid-credentials");
    }
}

#[actix_web::test]
async fn an_attacker_at_one_address_does_not_lock_the_owner_out_at_another() {
    let mut settings = test_settings();
    settings.trusted_proxies = vec!["127.0.0.1".into(), "::1".into()];
    settings.login_slowdown_ms = 150;
    let app = TestApp::spawn_with(settings).await;
    app.register("sanne@sloop.test", "contractor").await;
    let attacker = [("x-forwarded-for", "203.0.113.66")];
    let owner = [("x-forwarded-for", "198.51.100.7")];
    let started = std::time::Instant::now();
    for _ in 0..5 {
        login_from(&app, &attacker, "sanne@sloop.test", "guess guess guess")
            .await
            .assert_problem(401, "invalid-credentials");
    }
    // Each failure answered later than the one before: 0 + 150 + 300 + 450 + 600 ms.
    assert!(
        started.elapsed() >= std::time::Duration::from_millis(1500),
        "{:?}",
        started.elapsed()
    );
    login_from(&app, &attacker, "sanne@sloop.test", "correct horse battery")
        .await
        .assert_problem(429, "rate-limited");
    // The owner, elsewhere, is let in at once (a right password is not slowed down).
    let started = std::time::Instant::now();
    let owner_in = login_from(&app, &owner, "sanne@sloop.test", "correct horse battery").await;
    assert_eq!(owner_in.status, 200, "{}", owner_in.body);
    assert!(started.elapsed() < std::time::Duration::from_millis(1500));
}

#[actix_web::test]
async fn the_reset_page_sets_a_new_password_once_and_ends_browser_sessions() {
    let app = TestApp::spawn().await;
    app.register("sanne@sloop.test", "contractor").await;
    let mut signed_in = PageClient::new(&app.base);
    signed_in
        .sign_in("sanne@sloop.test", "correct horse battery")
        .await;
    assert_eq!(signed_in.get("/workspace").await.status, 200);

    app.post(
        "/api/v1/auth/password-reset",
        None,
        &json!({"email": "sanne@sloop.test"}),
    )
    .await;
    let token = reset_tokens(&app, "sanne@sloop.test").await.remove(0);
    let mut page = PageClient::new(&app.base);
    let form = page.get(&format!("/reset?token={token}")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    assert!(form.body.contains("name=\"password\""), "{}", form.body);

    let weak = page
        .post("/reset", &[("token", &token), ("password", "qwerty123456")])
        .await;
    assert_eq!(weak.status, 422, "{}", weak.body);
    assert!(weak.body.contains("id=\"reset-error\""));
    let done = page
        .post(
            "/reset",
            &[
                ("token", &token),
                ("password", "kraanvogel op de slooplocatie"),
            ],
        )
        .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(done.body.contains("id=\"reset-done\""), "{}", done.body);

    // The browser that was signed in is signed out; the link no longer works.
    let after = signed_in.get("/workspace").await;
    assert_eq!(after.status, 303, "{}", after.body);
    let used = page.get(&format!("/reset?token={token}")).await;
    assert_eq!(used.status, 404);
    assert!(used.body.contains("id=\"reset-invalid\""));
    page.sign_in("sanne@sloop.test", "kraanvogel op de slooplocatie")
        .await;
}
