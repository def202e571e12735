//! The in-app feed fills from the outbox; each user reads and changes only their own.

use crate::support::TestApp;
use reqwest::Method;
use serde_json::json;

#[actix_web::test]
async fn verification_reaches_the_owners_feed() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    let (owner, org) = app.member("sanne@sloop.test", "contractor").await;
    let (other, _) = app.member("mo@maakplaats.test", "makerspace").await;
    assert!(
        app.get("/api/v1/notifications", Some(&owner)).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    app.post(
        &format!("/api/v1/admin/organisations/{org}/verify"),
        Some(&broker),
        &json!({}),
    )
    .await;

    let feed = app.get("/api/v1/notifications", Some(&owner)).await;
    assert_eq!(feed.status, 200, "{}", feed.body);
    let items = feed.body["items"].as_array().unwrap();
    assert_eq!(
        items.len(),
        1,
        "one in-app notification, the e-mail row is not in the feed"
    );
    assert_eq!(items[0]["event"], "organisation_verified");
    assert_eq!(items[0]["payload"]["organisation_id"], org);
    let id = items[0]["id"].as_str().unwrap();

    // Others neither see nor mark it.
    assert!(
        app.get("/api/v1/notifications", Some(&other)).await.body["items"]
            .as_array()
            .unwrap()
            .is_empty()
    );
    app.post(
        &format!("/api/v1/notifications/{id}/read"),
        Some(&other),
        &json!({}),
    )
    .await
    .assert_problem(404, "not-found");
    app.get("/api/v1/notifications", None)
        .await
        .assert_problem(401, "unauthenticated");

    let read = app
        .post(
            &format!("/api/v1/notifications/{id}/read"),
            Some(&owner),
            &json!({}),
        )
        .await;
    assert_eq!(read.status, 200, "{}", read.body);
    let first_read = read.body["read_at"].clone();
    assert!(first_read.is_string());
    let again = app
        .post(
            &format!("/api/v1/notifications/{id}/read"),
            Some(&owner),
            &json!({}),
        )
        .await;
    assert_eq!(
        again.body["read_at"], first_read,
        "the first reading counts"
    );
    assert!(app
        .get("/api/v1/notifications?unread=true", Some(&owner))
        .await
        .body["items"]
        .as_array()
        .unwrap()
        .is_empty());
}

#[actix_web::test]
async fn notification_settings_are_each_users_own() {
    let app = TestApp::spawn().await;
    let (owner, _) = app.member("sanne@sloop.test", "contractor").await;
    let (other, _) = app.member("mo@maakplaats.test", "makerspace").await;
    let defaults = app
        .get("/api/v1/me/notification-settings", Some(&owner))
        .await;
    assert_eq!(
        defaults.body,
        json!({"email": true, "digest": "instant", "quiet_hours": null})
    );

    let wanted =
        json!({"email": true, "digest": "daily", "quiet_hours": {"start_hour": 21, "end_hour": 7}});
    let set = app
        .send(
            Method::PUT,
            "/api/v1/me/notification-settings",
            Some(&owner),
            Some(&wanted),
            &[],
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body, wanted);
    assert_eq!(
        app.get("/api/v1/me/notification-settings", Some(&owner))
            .await
            .body,
        wanted
    );
    assert_eq!(
        app.get("/api/v1/me/notification-settings", Some(&other))
            .await
            .body["digest"],
        "instant"
    );

    for bad in [
        json!({"email": true, "digest": "weekly", "quiet_hours": null}),
        json!({"email": true, "digest": "daily", "quiet_hours": {"start_hour": 25, "end_hour": 7}}),
        json!({"email": true, "digest": "daily", "quiet_hours": {"start_hour": 7, "end_hour": 7}}),
        json!({"email": "yes", "digest": "daily", "quiet_hours": null}),
    ] {
        let refused = app
            .send(
                Method::PUT,
                "/api/v1/me/notification-settings",
                Some(&owner),
                Some(&bad),
                &[],
            )
            .await;
        refused.assert_problem(422, "validation");
    }
    app.send(
        Method::PUT,
        "/api/v1/me/notification-settings",
        None,
        Some(&wanted),
        &[],
    )
    .await
    .assert_problem(401, "unauthenticated");
    assert_eq!(
        app.get("/api/v1/me/notification-settings", Some(&owner))
            .await
            .body,
        wanted
    );
}
