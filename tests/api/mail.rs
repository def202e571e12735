//! Mail that always arrives: predicted matches and bundles told in the recipient's language
//! through a real SMTP conversation, retries through an outage, and no duplicates when two
//! instances share the database.

use crate::smtp::SmtpSink;
use crate::stock::{create_listing, create_passport, doors_passport, offer, SITE};
use crate::support::{test_settings, TestApp};
use crate::wishes::{category_id, create_wish, doors_wish, matches_of};
use chrono::Duration;
use kringloop::app::engine::mail as delivery;
use secrecy::SecretString;
use serde_json::json;
use std::collections::HashSet;

fn with_smtp(url: &str) -> kringloop::config::Settings {
    let mut settings = test_settings();
    settings.smtp_url = Some(SecretString::from(url.to_owned()));
    settings.mail_backoff_secs = 30;
    settings
}

/// Registers a verified owner who reads Dutch; returns (token, organisation id).
async fn dutch_member(app: &TestApp, email: &str, kind: &str, broker: &str) -> (String, String) {
    let registered = app
        .post(
            "/api/v1/auth/register",
            None,
            &json!({"email": email, "password": "correct horse battery", "display_name": "Kim",
                    "locale": "nl",
                    "organisation": {"name": "Makerspace Binckhorst", "kind": kind,
                                     "location": {"lat": 52.0705, "lon": 4.3007}}}),
        )
        .await;
    assert_eq!(registered.status, 201, "{}", registered.body);
    let org = registered.body["organisation"]["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let verified = app
        .post(
            &format!("/api/v1/admin/organisations/{org}/verify"),
            Some(broker),
            &json!({}),
        )
        .await;
    assert_eq!(verified.status, 200);
    let token = app.login(email).await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    (token, org)
}

fn subjects_to(sink: &SmtpSink, address: &str) -> Vec<String> {
    sink.mails()
        .iter()
        .filter(|m| m.to.iter().any(|t| t == address))
        .map(|m| m.header("Subject").unwrap_or_default())
        .collect()
}

#[actix_web::test]
async fn twenty_doors_from_three_announced_lots_told_in_dutch_by_mail() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(with_smtp(&sink.url())).await;
    let broker = app.broker().await;
    let (maker, _) = dutch_member(&app, "kim@makerspace.test", "makerspace", &broker).await;
    let doors = category_id(&app, "doors").await;
    let wish = create_wish(&app, &maker, &doors_wish(&doors, 20)).await;
    let wish_id = wish["id"].as_str().unwrap();

    let mut lots = Vec::new();
    for (i, (amount, days)) in [(8, 30), (7, 40), (6, 45)].into_iter().enumerate() {
        let (donor, _) = app
            .verified_member(&format!("sloop{i}@sloop.test"), "contractor", &broker)
            .await;
        let passport = create_passport(&app, &donor, &doors_passport()).await;
        let mut body = offer(&passport["id"], amount, days);
        body["pickup"] = json!({"lat": SITE.0 + 0.005 * i as f64, "lon": SITE.1});
        lots.push(create_listing(&app, &donor, &body).await);
    }
    let sent = delivery::deliver_due(&app.ctx).await.unwrap();
    assert_eq!(sent.failed + sent.retrying, 0, "{sent:?}");

    let to_maker = subjects_to(&sink, "kim@makerspace.test");
    let predicted: Vec<&String> = to_maker
        .iter()
        .filter(|s| s.starts_with("Verwacht beschikbaar op "))
        .collect();
    assert_eq!(predicted.len(), 3, "{to_maker:?}");
    for lot in &lots {
        let day = &lot["available_from"].as_str().unwrap()[..10];
        assert!(
            predicted.iter().any(|s| s.contains(day)),
            "no mail names {day}: {predicted:?}"
        );
    }
    let bundles: Vec<&String> = to_maker
        .iter()
        .filter(|s| s.starts_with("Een bundel van 3 partijen"))
        .collect();
    assert_eq!(bundles.len(), 1, "{to_maker:?}");

    // The links in the mail lead back to the wish's matches and the settings, and work.
    let bundle_mail = sink
        .mails()
        .into_iter()
        .find(|m| {
            m.header("Subject")
                .unwrap_or_default()
                .starts_with("Een bundel")
        })
        .unwrap();
    let text = bundle_mail.text();
    let link = format!("https://kringloop.test/api/v1/wishes/{wish_id}/matches");
    assert!(text.contains(&link), "{text}");
    assert!(
        text.contains("https://kringloop.test/api/v1/me/notification-settings"),
        "{text}"
    );
    let followed = app
        .get(
            link.strip_prefix("https://kringloop.test").unwrap(),
            Some(&maker),
        )
        .await;
    assert_eq!(followed.status, 200);
    assert_eq!(followed.body["items"].as_array().unwrap().len(), 3);
    assert!(followed.body["bundles"][0]["covered"].as_i64().unwrap() >= 20);
    let settings = app
        .get("/api/v1/me/notification-settings", Some(&maker))
        .await;
    assert_eq!(settings.status, 200);
    // Each contractor heard that its lot is wished for, in English.
    for i in 0..3 {
        let to_donor = subjects_to(&sink, &format!("sloop{i}@sloop.test"));
        assert!(
            to_donor
                .iter()
                .any(|s| s.starts_with("Someone wishes for your lot")),
            "{to_donor:?}"
        );
    }

    // The first lot's date comes: the makerspace is told again, once.
    app.clock.advance(Duration::days(31));
    assert_eq!(
        kringloop::app::listings::advance_lifecycle(&app.ctx)
            .await
            .unwrap(),
        1
    );
    delivery::deliver_due(&app.ctx).await.unwrap();
    let available: Vec<String> = subjects_to(&sink, "kim@makerspace.test")
        .into_iter()
        .filter(|s| s.starts_with("Nu beschikbaar: "))
        .collect();
    assert_eq!(available.len(), 1, "{available:?}");
    let maker = app.login("kim@makerspace.test").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let now = matches_of(&app, &maker, &wish).await;
    let first = now["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|m| m["listing_id"] == lots[0]["id"])
        .unwrap();
    assert_eq!(first["predicted"], false);

    // Nothing was sent twice.
    let ids: Vec<String> = sink
        .mails()
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    let unique: HashSet<&String> = ids.iter().collect();
    assert_eq!(ids.len(), unique.len());
    assert_eq!(
        ids.len() as i64,
        app.sql_count(
            "SELECT count(*) AS count FROM outbox WHERE channel = 'email' AND status = 'delivered'"
        )
        .await
    );
}

#[actix_web::test]
async fn mail_waits_out_an_outage_and_arrives_once() {
    let sink = SmtpSink::start().await;
    let mut settings = with_smtp(&sink.url());
    settings.mail_max_attempts = 3;
    let (port, store) = sink.stop().await;
    let app = TestApp::spawn_with(settings).await;
    let broker = app.broker().await;
    for i in 0..4 {
        app.verified_member(&format!("org{i}@stad.test"), "initiative", &broker)
            .await;
    }
    let queued = app
        .sql_count("SELECT count(*) AS count FROM outbox WHERE channel = 'email'")
        .await;
    assert_eq!(queued, 4);

    // Down: every mail is tried, fails, and waits with a growing backoff.
    let first = delivery::deliver_due(&app.ctx).await.unwrap();
    assert_eq!(first.retrying, 4, "{first:?}");
    assert_eq!(
        delivery::deliver_due(&app.ctx).await.unwrap().retrying,
        0,
        "not due yet"
    );
    let pending = app
        .get("/api/v1/admin/outbox?status=pending", Some(&broker))
        .await;
    assert_eq!(pending.status, 200, "{}", pending.body);
    let items = pending.body["items"].as_array().unwrap();
    assert_eq!(items.len(), 4);
    assert!(items
        .iter()
        .all(|i| i["attempts"] == 1 && i["last_error"].is_string()));
    app.clock.advance(Duration::seconds(31));
    assert_eq!(delivery::deliver_due(&app.ctx).await.unwrap().retrying, 4);
    app.clock.advance(Duration::seconds(61));
    // The third failure is the last: the mail is left failed for the broker.
    assert_eq!(delivery::deliver_due(&app.ctx).await.unwrap().failed, 4);
    let failed = app.get("/api/v1/admin/outbox", Some(&broker)).await;
    let failed = failed.body["items"].as_array().unwrap().clone();
    assert_eq!(failed.len(), 4);
    let (member, _) = app.member("nosy@stad.test", "initiative").await;
    let denied = app.get("/api/v1/admin/outbox", Some(&member)).await;
    assert_eq!(denied.status, 403);
    let denied = app
        .post(
            &format!(
                "/api/v1/admin/outbox/{}/retry",
                failed[0]["id"].as_str().unwrap()
            ),
            Some(&member),
            &json!({}),
        )
        .await;
    assert_eq!(denied.status, 403);

    // Up again: the broker retries one failed mail, time brings nothing else; all arrive once.
    let sink = SmtpSink::restart(port, store).await;
    for entry in &failed {
        let retried = app
            .post(
                &format!(
                    "/api/v1/admin/outbox/{}/retry",
                    entry["id"].as_str().unwrap()
                ),
                Some(&broker),
                &json!({}),
            )
            .await;
        assert_eq!(retried.status, 200, "{}", retried.body);
    }
    let again = app
        .post(
            &format!(
                "/api/v1/admin/outbox/{}/retry",
                failed[0]["id"].as_str().unwrap()
            ),
            Some(&broker),
            &json!({}),
        )
        .await;
    assert_eq!(again.status, 409, "only failed mail is retried");
    let done = delivery::deliver_due(&app.ctx).await.unwrap();
    assert_eq!(done.sent, 4, "{done:?}");
    app.clock.advance(Duration::hours(2));
    assert_eq!(delivery::deliver_due(&app.ctx).await.unwrap().sent, 0);
    let mails = sink.mails();
    assert_eq!(mails.len(), 4);
    let ids: HashSet<String> = mails
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    assert_eq!(ids.len(), 4);
}

#[actix_web::test]
async fn a_daily_digest_gathers_the_days_matches_into_one_mail() {
    let sink = SmtpSink::start().await;
    let mut settings = with_smtp(&sink.url());
    settings.digest_hour = 0;
    let app = TestApp::spawn_with(settings).await;
    let broker = app.broker().await;
    let (maker, _) = app
        .verified_member("kim@makerspace.test", "makerspace", &broker)
        .await;
    let (donor, _) = app
        .verified_member("sanne@sloop.test", "contractor", &broker)
        .await;
    let doors = category_id(&app, "doors").await;
    let mut body = doors_wish(&doors, 4);
    body["notify"] = json!("daily");
    create_wish(&app, &maker, &body).await;
    for _ in 0..3 {
        let passport = create_passport(&app, &donor, &doors_passport()).await;
        create_listing(&app, &donor, &offer(&passport["id"], 4, 0)).await;
    }
    let round = delivery::deliver_due(&app.ctx).await.unwrap();
    assert_eq!(round.held_for_digest, 3, "{round:?}");
    assert!(subjects_to(&sink, "kim@makerspace.test")
        .iter()
        .all(|s| !s.contains("match")));
    assert_eq!(delivery::compose_digests(&app.ctx).await.unwrap(), 1);
    assert_eq!(
        delivery::compose_digests(&app.ctx).await.unwrap(),
        0,
        "once a day"
    );
    delivery::deliver_due(&app.ctx).await.unwrap();
    let digests: Vec<String> = subjects_to(&sink, "kim@makerspace.test")
        .into_iter()
        .filter(|s| s != "Your organisation is verified")
        .collect();
    assert_eq!(digests, ["Your kringloop digest: 3 notifications"]);
}

#[actix_web::test]
async fn two_instances_make_every_match_once_and_send_every_mail_once() {
    let sink = SmtpSink::start().await;
    let one = TestApp::spawn_with(with_smtp(&sink.url())).await;
    let two = one.spawn_beside(with_smtp(&sink.url())).await;
    let broker = one.broker().await;
    let doors = category_id(&one, "doors").await;
    let mut makers = Vec::new();
    let mut donors = Vec::new();
    for i in 0..3 {
        makers.push(
            one.verified_member(&format!("maker{i}@ms.test"), "makerspace", &broker)
                .await
                .0,
        );
        donors.push(
            two.verified_member(&format!("donor{i}@sloop.test"), "contractor", &broker)
                .await
                .0,
        );
    }
    let mut passports = Vec::new();
    for (i, donor) in donors.iter().enumerate() {
        for _ in 0..2 {
            let app = if i % 2 == 0 { &one } else { &two };
            passports.push((i, create_passport(app, donor, &doors_passport()).await));
        }
    }
    let workers = [&one, &two].map(|app| {
        let ctx = app.ctx.clone();
        let url = SecretString::from(app.db_url.clone());
        (
            tokio::spawn(kringloop::jobs::matcher::run_forever(
                ctx.clone(),
                url,
                std::time::Duration::from_millis(200),
            )),
            tokio::spawn(kringloop::jobs::delivery::run_forever(
                ctx,
                std::time::Duration::from_millis(100),
            )),
        )
    });
    // Wishes through one instance and listings through the other, all at once.
    let wishes = makers.iter().enumerate().map(|(i, maker)| {
        let app = if i % 2 == 0 { &one } else { &two };
        let body = doors_wish(&doors, 4);
        async move { app.post("/api/v1/wishes", Some(maker), &body).await }
    });
    let listings = passports.iter().map(|(i, passport)| {
        let app = if i % 2 == 0 { &two } else { &one };
        let body = offer(&passport["id"], 4, 0);
        let donor = &donors[*i];
        async move { app.post("/api/v1/listings", Some(donor), &body).await }
    });
    let (wishes, listings) = futures_util::future::join(
        futures_util::future::join_all(wishes),
        futures_util::future::join_all(listings),
    )
    .await;
    assert!(wishes.iter().all(|r| r.status == 201));
    assert!(listings.iter().all(|r| r.status == 201));

    // Every wish matches every listing: 3 × 6 pairs, each stored and told once.
    let mut settled = false;
    for _ in 0..100 {
        let jobs = one
            .sql_count("SELECT count(*) AS count FROM match_jobs")
            .await;
        let waiting = one
            .sql_count(
                "SELECT count(*) AS count FROM outbox WHERE channel = 'email' AND status = 'pending'",
            )
            .await;
        if jobs == 0 && waiting == 0 {
            settled = true;
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    for (matcher, delivery) in workers {
        matcher.abort();
        delivery.abort();
    }
    assert!(settled, "the workers did not settle");
    assert_eq!(
        one.sql_count("SELECT count(*) AS count FROM matches").await,
        18
    );
    assert_eq!(
        one.sql_count("SELECT count(*) AS count FROM outbox WHERE event = 'match_new'")
            .await,
        36,
        "18 matches, one demander each, mail and in-app"
    );
    let emails = one
        .sql_count("SELECT count(*) AS count FROM outbox WHERE channel = 'email'")
        .await;
    let mails = sink.mails();
    assert_eq!(mails.len() as i64, emails);
    let ids: HashSet<String> = mails
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    assert_eq!(ids.len(), mails.len(), "a mail was sent twice");
}
