//! Registration, profiles and the broker's verification.

use crate::support::*;
use serde_json::json;

#[actix_web::test]
async fn register_then_token_then_me() {
    let app = TestApp::spawn().await;
    let registered = app.register("sanne@sloop.test", "contractor").await;
    assert_eq!(registered["organisation"]["status"], "unverified");
    assert_eq!(registered["user"]["role"], "owner");
    assert_eq!(registered["user"]["locale"], "en");
    assert!(registered["user"].get("password_hash").is_none());

    let tokens = app.login("sanne@sloop.test").await;
    assert_eq!(tokens["token_type"], "Bearer");
    assert_eq!(tokens["expires_in"], 900);
    let me = app.get("/api/v1/me", tokens["access_token"].as_str()).await;
    assert_eq!(me.status, 200, "{}", me.body);
    assert_eq!(me.body["user"]["email"], "sanne@sloop.test");
    assert_eq!(
        me.body["organisation"]["id"],
        registered["organisation"]["id"]
    );
    assert_eq!(me.body["organisation"]["kind"], "contractor");
}

#[actix_web::test]
async fn email_addresses_are_unique_whatever_their_case() {
    let app = TestApp::spawn().await;
    app.register("Sanne@Sloop.test", "contractor").await;
    let again = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": "sanne@SLOOP.test", "password": "another good password", "display_name": "S",
                    "organisation": {"name": "Other", "kind": "builder"}}),
        )
        .await;
    again.assert_problem(409, "email-taken");
    // Logging in ignores case too.
    app.login("SANNE@sloop.TEST").await;
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM organisations")
            .await,
        1
    );
}

#[actix_web::test]
async fn validation_reports_every_field() {
    let app = TestApp::spawn().await;
    let response = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": "nope", "password": "short", "display_name": "", "locale": "nl",
                    "organisation": {"name": "X", "kind": "makerspace", "kvk_number": "12ab",
                                     "location": {"lat": 95.0, "lon": 4.3}}}),
        )
        .await;
    response.assert_problem(422, "validation");
    let pointers: Vec<&str> = response.body["errors"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["pointer"].as_str().unwrap())
        .collect();
    assert_eq!(
        pointers,
        [
            "/email",
            "/password",
            "/display_name",
            "/organisation/kvk_number",
            "/organisation/location/lat"
        ]
    );
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM users").await,
        0
    );
}

#[actix_web::test]
async fn profiles_show_member_addresses_only_to_their_own_organisation_and_brokers() {
    let app = TestApp::spawn().await;
    let (sloop, sloop_org) = app.member("sanne@sloop.test", "contractor").await;
    let (maker, _) = app.member("mo@maakplaats.test", "makerspace").await;
    let broker = app.broker().await;
    let path = format!("/api/v1/organisations/{sloop_org}");

    let own = app.get(&path, Some(&sloop)).await;
    assert_eq!(own.status, 200);
    assert_eq!(own.body["members"][0]["email"], "sanne@sloop.test");

    let other = app.get(&path, Some(&maker)).await;
    assert_eq!(other.status, 200);
    assert_eq!(other.body["name"], "Org of sanne@sloop.test");
    assert!(
        other.body["members"][0].get("email").is_none(),
        "{}",
        other.body
    );
    assert!(!other.body["members"]
        .to_string()
        .contains("sanne@sloop.test"));

    let as_broker = app.get(&path, Some(&broker)).await;
    assert_eq!(as_broker.body["members"][0]["email"], "sanne@sloop.test");

    app.get(&path, None)
        .await
        .assert_problem(401, "unauthenticated");
    app.get(
        "/api/v1/organisations/01a22385-1fdd-7714-a7d3-904521947761",
        Some(&maker),
    )
    .await
    .assert_problem(404, "not-found");
    app.get("/api/v1/organisations/not-a-uuid", Some(&maker))
        .await
        .assert_problem(404, "not-found");
}

#[actix_web::test]
async fn only_brokers_verify_suspend_and_list_organisations() {
    let app = TestApp::spawn().await;
    let owner = unverified(&app, "sanne@sloop.test", "contractor").await;
    let other = unverified(&app, "mo@maakplaats.test", "makerspace").await;
    let org = &owner.org;
    for token in [&owner.token, &other.token] {
        for action in ["verify", "suspend"] {
            app.post(
                &format!("/api/v1/admin/organisations/{org}/{action}"),
                Some(token),
                &json!({}),
            )
            .await
            .assert_problem(403, "forbidden");
        }
        app.get("/api/v1/admin/organisations", Some(token))
            .await
            .assert_problem(403, "forbidden");
    }
    app.post(
        &format!("/api/v1/admin/organisations/{org}/verify"),
        None,
        &json!({}),
    )
    .await
    .assert_problem(401, "unauthenticated");
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM organisations WHERE status = 'verified'")
            .await,
        0
    );
}

#[actix_web::test]
async fn brokers_list_unverified_organisations_in_pages() {
    let app = TestApp::spawn().await;
    unverified(&app, "sanne@sloop.test", "contractor").await;
    unverified(&app, "mo@maakplaats.test", "makerspace").await;
    let broker = app.broker().await;
    let unverified = app
        .get(
            "/api/v1/admin/organisations?status=unverified&limit=1",
            Some(&broker),
        )
        .await;
    assert_eq!(unverified.status, 200, "{}", unverified.body);
    assert_eq!(unverified.items().len(), 1);
    let cursor = unverified.body["next_cursor"].as_str().unwrap().to_owned();
    let next = app
        .get(
            &format!("/api/v1/admin/organisations?status=unverified&cursor={cursor}"),
            Some(&broker),
        )
        .await;
    assert_eq!(next.items().len(), 1);
    assert!(next.body["next_cursor"].is_null());
    assert_ne!(
        next.body["items"][0]["id"],
        unverified.body["items"][0]["id"]
    );
}

#[actix_web::test]
async fn a_verified_organisation_is_told_once_on_every_channel() {
    let app = TestApp::spawn().await;
    let owner = unverified(&app, "sanne@sloop.test", "contractor").await;
    let broker = app.broker().await;
    let verified = verify(&app, &broker, &owner.org).await;
    assert_eq!(verified["status"], "verified");
    assert!(verified["verified_at"].is_string());
    let me = app.get("/api/v1/me", Some(&owner.token)).await;
    assert_eq!(me.body["organisation"]["status"], "verified");

    // The owner is told, in the same transaction, on every channel; verifying twice tells once.
    verify(&app, &broker, &owner.org).await;
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM outbox WHERE event = 'organisation_verified'")
            .await,
        2
    );
}

#[actix_web::test]
async fn a_suspended_organisation_is_no_longer_verified() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let suspended = app
        .post(
            &format!("/api/v1/admin/organisations/{}/suspend", market.donor.org),
            Some(&market.broker),
            &json!({}),
        )
        .await;
    assert_eq!(suspended.body["status"], "suspended");
    assert!(suspended.body["verified_at"].is_null());
}
