//! Moderation: the broker hides a listing or a wish with a reason. A hidden listing leaves
//! search, matching and open data (its matches retracted, cause `hidden`), its owner is told,
//! still reads it and cannot change it; restoring brings it all back. Suspension and hiding do
//! not undo each other. Through the console as through the API, and audited.

use crate::support::*;
use reqwest::Method;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";
const NEAR: &str = "near=52.0705,4.3007&radius_km=50";

fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

fn ids(page: &Response) -> Vec<String> {
    page.items()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

async fn open_data_ids(app: &TestApp) -> Vec<String> {
    let open = app.get("/api/v1/open/listings.geojson", None).await;
    assert_eq!(open.status, 200, "{}", open.body);
    open.body["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|feature| feature["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The listings a wish is matched with now.
async fn matched_lots(app: &TestApp, owner: &Member, wish: &Value) -> Vec<Value> {
    matches_of(app, owner, wish).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["listing_id"].clone())
        .collect()
}

async fn moderate(app: &TestApp, broker: &str, path: &str, body: &Value) -> Value {
    let answer = app.post(path, Some(broker), body).await;
    assert_eq!(answer.status, 200, "{path}: {}", answer.body);
    answer.body
}

/// The payload of the member's newest notification of `event`.
async fn told(app: &TestApp, member: &Member, event: &str) -> Value {
    let feed = app
        .get("/api/v1/notifications?limit=100", Some(&member.token))
        .await;
    feed.items()
        .iter()
        .find(|n| n["event"] == event)
        .unwrap_or_else(|| panic!("no {event}: {}", feed.body))["payload"]
        .clone()
}

#[actix_web::test]
async fn a_hidden_listing_leaves_search_matching_and_open_data_until_restored() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let (donor, maker) = (&market.donor, &market.maker);
    let passport = PassportBuilder::doors().create(&app, donor).await;
    let listing = ListingBuilder::of(&passport).create(&app, donor).await;
    let wish = WishBuilder::doors().create(&app, maker).await;
    let lot = id(&listing).to_owned();
    let listing_path = format!("/api/v1/listings/{lot}");
    assert!(ids(&app.search(NEAR, None).await).contains(&lot));
    assert!(open_data_ids(&app).await.contains(&lot));
    assert_eq!(
        matched_lots(&app, maker, &wish).await,
        [listing["id"].clone()]
    );

    let hidden = moderate(
        &app,
        &market.broker,
        &format!("/api/v1/admin/listings/{lot}/hide"),
        &json!({"reason": "  looks like stolen goods  "}),
    )
    .await;
    assert_eq!(hidden["hidden"]["reason"], "looks like stolen goods");
    assert!(hidden["version"].as_i64() > listing["version"].as_i64());

    // Gone from search (on this instance and on one that loaded before), open data and
    // matching; the demander hears why.
    let beside = app.spawn_beside(test_settings()).await;
    for instance in [&app, &beside] {
        assert!(!ids(&instance.search(NEAR, None).await).contains(&lot));
        let signed_in = instance.search(NEAR, Some(&donor.token)).await;
        assert!(!ids(&signed_in).contains(&lot));
        assert!(!ids(&instance.search("q=eiken", None).await).contains(&lot));
    }
    assert!(!open_data_ids(&app).await.contains(&lot));
    assert_eq!(matched_lots(&app, maker, &wish).await, Vec::<Value>::new());
    assert_eq!(
        told(&app, maker, "match_retracted").await["because"],
        "hidden"
    );
    // A wish made now does not find it either.
    let other = market.verified(&app, "hub@materialen.test", "hub").await;
    let late_wish = WishBuilder::doors().create(&app, &other).await;
    assert_eq!(
        matched_lots(&app, &other, &late_wish).await,
        Vec::<Value>::new()
    );

    // The owner is told, by mail as in the feed, with the reason and a link to its page.
    let news = told(&app, donor, "listing_hidden").await;
    assert_eq!(news["listing_id"], lot.as_str());
    assert_eq!(news["reason"], "looks like stolen goods");
    assert_eq!(
        app.sql_count(
            "SELECT count(*) AS count FROM outbox WHERE event = 'listing_hidden' \
             AND channel = 'email'"
        )
        .await,
        1
    );

    // The owner still reads it, with the reason; others do not find it at all.
    let own = app.get(&listing_path, Some(&donor.token)).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.body["hidden"]["reason"], "looks like stolen goods");
    app.get(&listing_path, None)
        .await
        .assert_problem(404, "not-found");
    app.get(&listing_path, Some(&maker.token))
        .await
        .assert_problem(404, "not-found");
    assert_eq!(
        app.get(&listing_path, Some(&market.broker)).await.status,
        200
    );

    // The owner cannot change it, withdraw it, or offer the passport again; nobody reserves it.
    let etag = own.headers["etag"].to_str().unwrap().to_owned();
    let refused = [
        (
            Method::PATCH,
            listing_path.clone(),
            Some(json!({"note": "Nog steeds te koop"})),
        ),
        (Method::POST, format!("{listing_path}/withdraw"), None),
        (
            Method::POST,
            "/api/v1/listings".to_owned(),
            Some(ListingBuilder::of(&passport).json()),
        ),
    ];
    for (method, path, body) in refused {
        let answer = app
            .send(
                method.clone(),
                &path,
                Some(&donor.token),
                body.as_ref(),
                &[("If-Match", etag.as_str())],
            )
            .await;
        answer.assert_problem(409, "hidden-by-broker");
    }
    reserve(&app, maker, &listing, 1)
        .await
        .assert_problem(404, "not-found");
    app.post(
        &format!("/api/v1/admin/listings/{lot}/hide"),
        Some(&market.broker),
        &json!({"reason": "twice"}),
    )
    .await
    .assert_problem(409, "hidden-by-broker");

    // Restored: everything comes back, and the owner may change it again.
    let restored = moderate(
        &app,
        &market.broker,
        &format!("/api/v1/admin/listings/{lot}/restore"),
        &json!({"reason": "the police found nothing"}),
    )
    .await;
    assert!(restored["hidden"].is_null(), "{restored}");
    for instance in [&app, &beside] {
        assert!(ids(&instance.search(NEAR, None).await).contains(&lot));
    }
    assert!(open_data_ids(&app).await.contains(&lot));
    assert_eq!(
        matched_lots(&app, maker, &wish).await,
        [listing["id"].clone()]
    );
    assert_eq!(
        matched_lots(&app, &other, &late_wish).await,
        [listing["id"].clone()]
    );
    assert_eq!(
        told(&app, donor, "listing_restored").await["reason"],
        "the police found nothing"
    );
    let changed = app
        .send(
            Method::PATCH,
            &listing_path,
            Some(&donor.token),
            Some(&json!({"note": "Nog steeds te koop"})),
            &[("If-Match", &format!("\"{}\"", restored["version"]))],
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    let reserved = reserve(&app, maker, &listing, 1).await;
    assert_eq!(reserved.status, 201, "{}", reserved.body);
}

#[actix_web::test]
async fn a_hidden_wish_leaves_matching_and_its_owner_cannot_change_it() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let (donor, maker) = (&market.donor, &market.maker);
    let listing = ListingBuilder::doors().create(&app, donor).await;
    let wish = WishBuilder::doors().create(&app, maker).await;
    let wish_path = format!("/api/v1/wishes/{}", id(&wish));
    assert_eq!(
        matched_lots(&app, maker, &wish).await,
        [listing["id"].clone()]
    );

    let hidden = moderate(
        &app,
        &market.broker,
        &format!("/api/v1/admin/wishes/{}/hide", id(&wish)),
        &json!({"reason": "advertising, not a wish"}),
    )
    .await;
    assert_eq!(hidden["hidden"]["reason"], "advertising, not a wish");
    assert_eq!(matched_lots(&app, maker, &wish).await, Vec::<Value>::new());
    assert_eq!(
        app.sql_count(&format!(
            "SELECT count(*) AS count FROM matches WHERE wish_id = '{}' \
             AND status = 'retracted' AND retracted_because = 'hidden'",
            id(&wish)
        ))
        .await,
        1
    );
    // A lot offered now is not matched with it.
    let later = ListingBuilder::doors().create(&app, donor).await;
    assert_eq!(matched_lots(&app, maker, &wish).await, Vec::<Value>::new());
    let news = told(&app, maker, "wish_hidden").await;
    assert_eq!(news["wish_id"], wish["id"]);
    assert_eq!(news["reason"], "advertising, not a wish");

    // Its owner reads it, with the reason, among its wishes, and cannot change or delete it.
    let own = app.get(&wish_path, Some(&maker.token)).await;
    assert_eq!(own.body["hidden"]["reason"], "advertising, not a wish");
    let listed = app.get("/api/v1/wishes", Some(&maker.token)).await;
    assert_eq!(
        listed.items()[0]["hidden"]["reason"],
        "advertising, not a wish"
    );
    let etag = own.headers["etag"].to_str().unwrap().to_owned();
    app.send(
        Method::PATCH,
        &wish_path,
        Some(&maker.token),
        Some(&json!({"radius_km": 20})),
        &[("If-Match", etag.as_str())],
    )
    .await
    .assert_problem(409, "hidden-by-broker");
    app.delete(&wish_path, Some(&maker.token))
        .await
        .assert_problem(409, "hidden-by-broker");

    let restored = moderate(
        &app,
        &market.broker,
        &format!("/api/v1/admin/wishes/{}/restore", id(&wish)),
        &json!({}),
    )
    .await;
    assert!(restored["hidden"].is_null());
    let mut found = matched_lots(&app, maker, &wish).await;
    found.sort_by_key(|v| v.to_string());
    let mut expected = vec![listing["id"].clone(), later["id"].clone()];
    expected.sort_by_key(|v| v.to_string());
    assert_eq!(found, expected);
    assert!(told(&app, maker, "wish_restored").await["reason"].is_null());
    let deleted = app.delete(&wish_path, Some(&maker.token)).await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    // A deleted wish is no longer the broker's to hide.
    app.post(
        &format!("/api/v1/admin/wishes/{}/hide", id(&wish)),
        Some(&market.broker),
        &json!({"reason": "too late"}),
    )
    .await
    .assert_problem(404, "not-found");
}

#[actix_web::test]
async fn only_brokers_moderate_and_a_hiding_needs_a_reason() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let listing = ListingBuilder::doors().create(&app, &market.donor).await;
    let wish = WishBuilder::doors().create(&app, &market.maker).await;
    let reason = json!({"reason": "spam"});
    for (kind, object) in [("listings", &listing), ("wishes", &wish)] {
        for action in ["hide", "restore"] {
            let path = format!("/api/v1/admin/{kind}/{}/{action}", id(object));
            app.post(&path, Some(&market.maker.token), &reason)
                .await
                .assert_problem(403, "forbidden");
            app.post(&path, Some(&market.donor.token), &reason)
                .await
                .assert_problem(403, "forbidden");
            app.post(&path, None, &reason)
                .await
                .assert_problem(401, "unauthenticated");
        }
        let hide = format!("/api/v1/admin/{kind}/{}/hide", id(object));
        for bad in [
            json!({}),
            json!({"reason": ""}),
            json!({"reason": "   "}),
            json!({"reason": "x".repeat(501)}),
            json!({"reason": "spam", "extra": 1}),
        ] {
            app.post(&hide, Some(&market.broker), &bad)
                .await
                .assert_problem(422, "validation");
        }
        app.send(Method::POST, &hide, Some(&market.broker), None, &[])
            .await
            .assert_problem(415, "unsupported-media-type");
        app.post(
            &format!("/api/v1/admin/{kind}/{}/restore", id(object)),
            Some(&market.broker),
            &json!({}),
        )
        .await
        .assert_problem(409, "not-hidden");
        app.post(
            &format!("/api/v1/admin/{kind}/{}/hide", uuid::Uuid::now_v7()),
            Some(&market.broker),
            &reason,
        )
        .await
        .assert_problem(404, "not-found");
    }
    assert!(listing_now(&app, &listing).await["hidden"].is_null());
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM audit_log WHERE action LIKE 'hide_%'")
            .await,
        0
    );
    // A restore's body may be left out.
    moderate(
        &app,
        &market.broker,
        &format!("/api/v1/admin/listings/{}/hide", id(&listing)),
        &reason,
    )
    .await;
    let restored = app
        .send(
            Method::POST,
            &format!("/api/v1/admin/listings/{}/restore", id(&listing)),
            Some(&market.broker),
            None,
            &[],
        )
        .await;
    assert_eq!(restored.status, 200, "{}", restored.body);
}

#[actix_web::test]
async fn suspension_and_hiding_do_not_undo_each_other() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let donor = &market.donor;
    let listing = ListingBuilder::doors().create(&app, donor).await;
    let lot = id(&listing).to_owned();
    let on_offer = async |app: &TestApp| ids(&app.search(NEAR, None).await).contains(&lot);
    let hide = format!("/api/v1/admin/listings/{lot}/hide");
    let restore = format!("/api/v1/admin/listings/{lot}/restore");
    let suspend = format!("/api/v1/admin/organisations/{}/suspend", donor.org);
    let reason = json!({"reason": "under review"});

    // Hidden, then suspended and reinstated: still hidden until restored.
    moderate(&app, &market.broker, &hide, &reason).await;
    moderate(&app, &market.broker, &suspend, &json!({})).await;
    verify(&app, &market.broker, &donor.org).await;
    assert!(!on_offer(&app).await);
    assert!(!open_data_ids(&app).await.contains(&lot));
    moderate(&app, &market.broker, &restore, &json!({})).await;
    assert!(on_offer(&app).await);

    // Suspended, then hidden and restored: still off the market until reinstated.
    moderate(&app, &market.broker, &suspend, &json!({})).await;
    moderate(&app, &market.broker, &hide, &reason).await;
    moderate(&app, &market.broker, &restore, &json!({})).await;
    assert!(!on_offer(&app).await);
    assert!(!open_data_ids(&app).await.contains(&lot));
    verify(&app, &market.broker, &donor.org).await;
    assert!(on_offer(&app).await);
    assert!(open_data_ids(&app).await.contains(&lot));
}

#[actix_web::test]
async fn a_suspension_takes_a_reason_into_the_audit_log_and_the_mail_and_needs_no_body() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(sink.settings()).await;
    let market = Market::open(&app).await;
    let path = format!("/api/v1/admin/organisations/{}/suspend", market.donor.org);
    app.post(&path, Some(&market.broker), &json!({"reason": ""}))
        .await
        .assert_problem(422, "validation");
    app.post(
        &path,
        Some(&market.broker),
        &json!({"reason": "x".repeat(501)}),
    )
    .await
    .assert_problem(422, "validation");
    moderate(
        &app,
        &market.broker,
        &path,
        &json!({"reason": "unpaid fees since March"}),
    )
    .await;
    let round = kringloop::app::engine::mail::deliver_due(&app.ctx)
        .await
        .unwrap();
    assert_eq!(round.failed + round.retrying, 0, "{round:?}");
    let mail = sink
        .mails()
        .into_iter()
        .find(|m| m.to.iter().any(|to| to == Market::DONOR) && m.text().contains("suspended"))
        .expect("the suspension mail");
    assert!(
        mail.text()
            .contains("The broker's reason: unpaid fees since March"),
        "{}",
        mail.text()
    );
    let log = app
        .get(
            "/api/v1/admin/audit?action=suspend_organisation",
            Some(&market.broker),
        )
        .await;
    assert_eq!(log.items()[0]["reason"], "unpaid fees since March");

    // Without a body, as before: no reason.
    verify(&app, &market.broker, &market.maker.org).await;
    let other = format!("/api/v1/admin/organisations/{}/suspend", market.maker.org);
    let bare = app
        .send(Method::POST, &other, Some(&market.broker), None, &[])
        .await;
    assert_eq!(bare.status, 200, "{}", bare.body);
    let log = app
        .get(
            "/api/v1/admin/audit?action=suspend_organisation",
            Some(&market.broker),
        )
        .await;
    assert_eq!(log.items().len(), 2);
    assert!(log.items()[0]["reason"].is_null());
}

#[actix_web::test]
async fn the_broker_hides_a_listing_in_the_console_and_sees_it_in_the_audit_log() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let listing = ListingBuilder::doors().create(&app, &market.donor).await;
    let wish = WishBuilder::doors().create(&app, &market.maker).await;
    let lot = id(&listing).to_owned();
    let mut console = PageClient::new(&app.base);
    console.sign_in("broker@gemeente.test", PASSWORD).await;
    let page = console.get("/console").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("id=\"moderation\""));
    assert!(page.body.contains("id=\"audit-log\""));

    // A bad id or a missing reason is refused as a page, and nothing is hidden.
    for fields in [
        [("kind", "listing"), ("id", "not-an-id"), ("reason", "spam")],
        [("kind", "listing"), ("id", lot.as_str()), ("reason", " ")],
        [
            ("kind", "passport"),
            ("id", lot.as_str()),
            ("reason", "spam"),
        ],
    ] {
        let refused = console.post("/console/moderation/hide", &fields).await;
        assert_eq!(refused.status, 422, "{fields:?}");
    }
    assert!(listing_now(&app, &listing).await["hidden"].is_null());

    let hidden = console
        .post(
            "/console/moderation/hide",
            &[
                ("kind", "listing"),
                ("id", &lot),
                ("reason", "offensive photo"),
            ],
        )
        .await;
    assert_eq!(hidden.status, 303, "{}", hidden.body);
    assert_eq!(hidden.location(), "/console?notice=hidden#moderation");
    let wish_hidden = console
        .post(
            "/console/moderation/hide",
            &[
                ("kind", "wish"),
                ("id", id(&wish)),
                ("reason", "a job advert"),
            ],
        )
        .await;
    assert_eq!(wish_hidden.status, 303, "{}", wish_hidden.body);
    assert!(!ids(&app.search(NEAR, None).await).contains(&lot));
    assert_eq!(
        told(&app, &market.donor, "listing_hidden").await["reason"],
        "offensive photo"
    );

    let page = console.get("/console?notice=hidden").await;
    let moderation = &page.body[page.body.find("id=\"moderation\"").unwrap()..];
    let moderation = &moderation[..moderation.find("</section>").unwrap()];
    assert!(moderation.contains(&format!("data-hidden=\"{lot}\"")));
    assert!(moderation.contains(&format!("data-hidden=\"{}\"", id(&wish))));
    assert!(moderation.contains("offensive photo"));
    let audit = &page.body[page.body.find("id=\"audit-log\"").unwrap()..];
    let audit = &audit[..audit.find("</table>").unwrap()];
    let newest = &audit[audit.find("data-audit=").unwrap()..];
    let newest = &newest[..newest.find("</tr>").unwrap()];
    assert!(newest.contains("data-action=\"hide_wish\""), "{newest}");
    assert!(newest.contains("a job advert") && newest.contains("Makelaar"));
    assert!(audit.contains("data-action=\"hide_listing\""));
    assert!(audit.contains(&lot) && audit.contains("offensive photo"));

    // Restored from its row.
    let restored = console
        .post(&format!("/console/moderation/listing/{lot}/restore"), &[])
        .await;
    assert_eq!(restored.status, 303, "{}", restored.body);
    assert!(ids(&app.search(NEAR, None).await).contains(&lot));
    let page = console.get("/console").await;
    assert!(!page.body.contains(&format!("data-hidden=\"{lot}\"")));
    assert!(page.body.contains("data-action=\"restore_listing\""));

    // The suspend form's reason reaches the audit log.
    let suspended = console
        .post(
            &format!("/console/organisations/{}/status", market.maker.org),
            &[
                ("status", "suspended"),
                ("reason", "no-show at three pickups"),
            ],
        )
        .await;
    assert_eq!(suspended.status, 303, "{}", suspended.body);
    let log = app
        .get(
            "/api/v1/admin/audit?action=suspend_organisation",
            Some(&market.broker),
        )
        .await;
    assert_eq!(log.items()[0]["reason"], "no-show at three pickups");
    assert_eq!(
        told(&app, &market.maker, "organisation_suspended").await["reason"],
        "no-show at three pickups"
    );
}

#[actix_web::test]
async fn the_console_pages_the_audit_log_fifty_at_a_time() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let listing = ListingBuilder::doors().create(&app, &market.donor).await;
    let path = |action: &str| format!("/api/v1/admin/listings/{}/{action}", id(&listing));
    for round in 0..25 {
        moderate(
            &app,
            &market.broker,
            &path("hide"),
            &json!({"reason": format!("round {round}")}),
        )
        .await;
        moderate(&app, &market.broker, &path("restore"), &json!({})).await;
    }
    let mut console = PageClient::new(&app.base);
    console.sign_in("broker@gemeente.test", PASSWORD).await;
    let first = console.get("/console").await;
    assert_eq!(first.body.matches("data-audit=").count(), 50);
    assert!(first.body.contains("round 24") && first.body.contains("round 0<"));
    let start = first.body.find("/console?audit_cursor=").unwrap();
    let link = &first.body[start..];
    let link = link[..link.find('"').unwrap()].replace("&amp;", "&");
    let second = console.get(&link).await;
    assert_eq!(second.status, 200);
    // The two organisations' verifications.
    assert_eq!(second.body.matches("data-audit=").count(), 2);
    assert!(second.body.contains("data-action=\"verify_organisation\""));
    assert!(!second.body.contains("audit_cursor="));
    let bad = console.get("/console?audit_cursor=nope").await;
    assert_eq!(bad.status, 422);
}
