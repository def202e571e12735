//! Abuse: parallel password guessing, mass sign-ups, and capturing the platform's organisation.

use crate::support::*;
use futures_util::future::join_all;
use serde_json::json;
use std::sync::Arc;

/// However many wrong passwords arrive at once, no more than the limit are ever checked: the
/// count and the decision are one step per account.
#[actix_web::test]
async fn parallel_guesses_get_no_more_tries_than_the_limit() {
    let app = Arc::new(TestApp::spawn().await);
    app.register("sanne@sloop.test", "contractor").await;
    let answers = join_all((0..60).map(|i| {
        let app = app.clone();
        async move {
            app.post(
                "/api/v1/auth/token",
                None,
                &json!({"email": "sanne@sloop.test", "password": format!("guess {i} guess")}),
            )
            .await
            .status
        }
    }))
    .await;
    let checked = answers.iter().filter(|&&status| status == 401).count();
    let limited = answers.iter().filter(|&&status| status == 429).count();
    assert_eq!(checked, 5, "answers: {answers:?}");
    assert_eq!(limited, 55, "answers: {answers:?}");
    // The right password waits too, until the window has passed.
    let right = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"email": "sanne@sloop.test", "password": "correct horse battery"}),
        )
        .await;
    right.assert_problem(429, "rate-limited");
}

/// A right password does not count against the limit.
#[actix_web::test]
async fn right_passwords_do_not_use_up_the_limit() {
    let app = TestApp::spawn().await;
    app.register("sanne@sloop.test", "contractor").await;
    for _ in 0..8 {
        app.login("sanne@sloop.test").await;
    }
}

#[actix_web::test]
async fn sign_ups_from_one_address_are_throttled() {
    let mut settings = test_settings();
    settings.registrations_per_address_per_hour = 3;
    let app = TestApp::spawn_with(settings).await;
    for i in 0..3 {
        app.register(&format!("maker{i}@spam.test"), "makerspace")
            .await;
    }
    let body = json!({
        "email": "maker3@spam.test", "password": "correct horse battery",
        "display_name": "Maker", "organisation": {"name": "Spam 3", "kind": "makerspace"}
    });
    let limited = app.post("/api/v1/auth/register", None, &body).await;
    limited.assert_problem(429, "rate-limited");
    let retry_after: i64 = limited.headers["retry-after"]
        .to_str()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..=3600).contains(&retry_after), "{retry_after}");
    app.clock.advance(chrono::Duration::seconds(retry_after));
    assert_eq!(
        app.post("/api/v1/auth/register", None, &body).await.status,
        201
    );
}

/// Password hashes are bounded by a memory budget: past it, a sign-up waits a moment and is
/// then told to come back, instead of taking another 19 MiB.
#[actix_web::test]
async fn hashing_past_its_budget_is_a_503_with_retry_after() {
    let mut settings = test_settings();
    settings.password_hashing_mib = 19;
    let app = Arc::new(TestApp::spawn_with(settings).await);
    // More than one hash at a time can finish within the 2 s a request waits for its turn, on
    // an idle machine as on a busy one.
    const BURST: usize = 600;
    let answers = join_all((0..BURST).map(|i| {
        let app = app.clone();
        async move {
            app.post(
                "/api/v1/auth/register",
                None,
                &json!({
                    "email": format!("maker{i}@burst.test"), "password": "correct horse battery",
                    "display_name": "Maker",
                    "organisation": {"name": format!("Burst {i}"), "kind": "makerspace"}
                }),
            )
            .await
        }
    }))
    .await;
    let made = answers.iter().filter(|a| a.status == 201).count();
    let busy: Vec<_> = answers.iter().filter(|a| a.status == 503).collect();
    assert_eq!(made + busy.len(), BURST);
    // One hash at a time, each some ms: not all of them get a turn within 2 s.
    assert!(
        made >= 1 && !busy.is_empty(),
        "{made} made, {} busy",
        busy.len()
    );
    for answer in busy {
        answer.assert_problem(503, "unavailable");
        assert_eq!(answer.headers["retry-after"], "1");
    }
}

#[actix_web::test]
async fn nobody_signs_up_as_the_municipality() {
    let app = TestApp::spawn().await;
    let answer = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({
                "email": "mallory@evil.test", "password": "correct horse battery",
                "display_name": "Mallory",
                "organisation": {"name": "Gemeente Den Haag", "kind": "municipality"}
            }),
        )
        .await;
    answer.assert_problem(422, "validation");
    assert!(
        answer.body.to_string().contains("/organisation/kind"),
        "{}",
        answer.body
    );
}

/// An organisation named like the city's must not catch the brokers made later: they join the
/// platform's own organisation, found by its mark.
#[actix_web::test]
async fn brokers_join_the_platform_organisation_not_one_named_like_it() {
    let app = TestApp::spawn().await;
    let (mallory, mallory_org) = app.member("mallory@evil.test", "contractor").await;
    let renamed = app
        .sql_count(&format!(
            "WITH r AS (UPDATE organisations SET name = 'Gemeente Den Haag' \
             WHERE id = '{mallory_org}' RETURNING 1) SELECT count(*) FROM r"
        ))
        .await;
    assert_eq!(renamed, 1);
    let broker = app.broker().await;
    let me = app.get("/api/v1/me", Some(&broker)).await;
    let broker_org = me.body["organisation"]["id"].as_str().unwrap().to_owned();
    assert_ne!(broker_org, mallory_org);
    assert_eq!(me.body["organisation"]["status"], "verified");
    assert_eq!(me.body["organisation"]["kind"], "municipality");
    // A second broker joins the same platform organisation.
    kringloop::app::accounts::organisations::create_broker(
        &app.ctx,
        "second@gemeente.test",
        "correct horse battery",
        "Tweede makelaar",
        "Another name",
    )
    .await
    .unwrap();
    let second = app.token("second@gemeente.test").await;
    let me = app.get("/api/v1/me", Some(&second)).await;
    assert_eq!(me.body["organisation"]["id"], broker_org.as_str());
    // Mallory's organisation saw no broker join.
    let members = app
        .get(
            &format!("/api/v1/organisations/{mallory_org}"),
            Some(&mallory),
        )
        .await;
    assert!(
        !members.body.to_string().contains("gemeente.test"),
        "{}",
        members.body
    );
}
