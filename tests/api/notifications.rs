//! The in-app feed fills from the outbox; each user reads and changes only their own.

use crate::support::*;
use serde_json::{json, Value};

/// An owner whose organisation was verified, and the one notification that told it so.
async fn told_of_verification(app: &TestApp) -> (Member, String) {
    let broker = app.broker().await;
    let owner = unverified(app, "sanne@sloop.test", "contractor").await;
    verify(app, &broker, &owner.org).await;
    let feed = app.get("/api/v1/notifications", Some(&owner.token)).await;
    let id = feed.items()[0]["id"].as_str().unwrap().to_owned();
    (owner, id)
}

#[actix_web::test]
async fn verification_reaches_the_owners_feed() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    let owner = unverified(&app, "sanne@sloop.test", "contractor").await;
    let feed = app.get("/api/v1/notifications", Some(&owner.token)).await;
    assert!(feed.items().is_empty());
    verify(&app, &broker, &owner.org).await;

    let feed = app.get("/api/v1/notifications", Some(&owner.token)).await;
    let items = feed.items();
    assert_eq!(
        items.len(),
        1,
        "one in-app notification, the e-mail row is not in the feed"
    );
    assert_eq!(items[0]["event"], "organisation_verified");
    assert_eq!(items[0]["payload"]["organisation_id"], owner.org.as_str());
}

#[actix_web::test]
async fn others_neither_see_nor_mark_a_notification() {
    let app = TestApp::spawn().await;
    let (_, id) = told_of_verification(&app).await;
    let other = unverified(&app, "mo@maakplaats.test", "makerspace").await;
    let feed = app.get("/api/v1/notifications", Some(&other.token)).await;
    assert!(feed.items().is_empty());
    app.post(
        &format!("/api/v1/notifications/{id}/read"),
        Some(&other.token),
        &json!({}),
    )
    .await
    .assert_problem(404, "not-found");
    app.get("/api/v1/notifications", None)
        .await
        .assert_problem(401, "unauthenticated");
}

#[actix_web::test]
async fn a_notification_is_read_once() {
    let app = TestApp::spawn().await;
    let (owner, id) = told_of_verification(&app).await;
    let path = format!("/api/v1/notifications/{id}/read");
    let read = app.post(&path, Some(&owner.token), &json!({})).await;
    assert_eq!(read.status, 200, "{}", read.body);
    let first_read = read.body["read_at"].clone();
    assert!(first_read.is_string());
    let again = app.post(&path, Some(&owner.token), &json!({})).await;
    assert_eq!(
        again.body["read_at"], first_read,
        "the first reading counts"
    );
    let unread = app
        .get("/api/v1/notifications?unread=true", Some(&owner.token))
        .await;
    assert!(unread.items().is_empty());
}

const SETTINGS: &str = "/api/v1/me/notification-settings";

/// A daily digest, and nothing between nine at night and seven in the morning.
fn wanted() -> Value {
    json!({"email": true, "digest": "daily", "quiet_hours": {"start_hour": 21, "end_hour": 7}})
}

/// The settings as answered: what was set, and the cap on instant mail the service keeps.
fn answered(mut settings: Value) -> Value {
    settings["instant_mail_cap"] = json!({"mails": 5, "hours": 24});
    settings
}

/// An owner who has set the wanted settings.
async fn settled(app: &TestApp) -> Member {
    let owner = unverified(app, "sanne@sloop.test", "contractor").await;
    let set = app.put(SETTINGS, Some(&owner.token), &wanted()).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body, answered(wanted()));
    owner
}

#[actix_web::test]
async fn notification_settings_start_from_defaults_and_are_each_users_own() {
    let app = TestApp::spawn().await;
    let other = unverified(&app, "mo@maakplaats.test", "makerspace").await;
    let defaults = app.get(SETTINGS, Some(&other.token)).await;
    assert_eq!(
        defaults.body,
        answered(json!({"email": true, "digest": "instant", "quiet_hours": null}))
    );
    let owner = settled(&app).await;
    let read = app.get(SETTINGS, Some(&owner.token)).await.body;
    assert_eq!(read, answered(wanted()));
    // What was read can be sent back as it is: the cap is the service's and is not changed.
    let mut sent_back = read.clone();
    sent_back["instant_mail_cap"] = json!({"mails": 500, "hours": 1});
    let again = app.put(SETTINGS, Some(&owner.token), &sent_back).await;
    assert_eq!((again.status, &again.body), (200, &read));
    assert_eq!(
        app.get(SETTINGS, Some(&other.token)).await.body["digest"],
        "instant"
    );
}

#[actix_web::test]
async fn bad_notification_settings_are_a_422_and_change_nothing() {
    let app = TestApp::spawn().await;
    let owner = settled(&app).await;
    for bad in [
        json!({"email": true, "digest": "weekly", "quiet_hours": null}),
        json!({"email": true, "digest": "daily", "quiet_hours": {"start_hour": 25, "end_hour": 7}}),
        json!({"email": true, "digest": "daily", "quiet_hours": {"start_hour": 7, "end_hour": 7}}),
        json!({"email": "yes", "digest": "daily", "quiet_hours": null}),
    ] {
        app.put(SETTINGS, Some(&owner.token), &bad)
            .await
            .assert_problem(422, "validation");
    }
    assert_eq!(
        app.get(SETTINGS, Some(&owner.token)).await.body,
        answered(wanted())
    );
}

#[actix_web::test]
async fn anonymous_clients_change_no_notification_settings() {
    let app = TestApp::spawn().await;
    let owner = settled(&app).await;
    let other = json!({"email": false, "digest": "instant", "quiet_hours": null});
    app.put(SETTINGS, None, &other)
        .await
        .assert_problem(401, "unauthenticated");
    assert_eq!(
        app.get(SETTINGS, Some(&owner.token)).await.body,
        answered(wanted())
    );
}
