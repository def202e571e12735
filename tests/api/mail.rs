//! Mail that always arrives: predicted matches and bundles told in the recipient's language
//! through a real SMTP conversation, retries through an outage, and no duplicates when two
//! instances share the database.

use crate::support::*;
use chrono::Duration;
use kringloop::app::engine::mail as delivery;
use secrecy::SecretString;
use serde_json::{json, Value};
use std::collections::HashSet;

/// A makerspace that reads Dutch wishes for 20 doors; three contractors announce lots of 8, 7
/// and 6 for 30, 40 and 45 days from now, and the mail due is sent.
struct Announced {
    sink: SmtpSink,
    app: TestApp,
    maker: Member,
    wish: Value,
    lots: Vec<Value>,
}

async fn three_announced_lots() -> Announced {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(sink.settings()).await;
    let broker = app.broker().await;
    let maker = verified_dutch(&app, &broker, Market::MAKER, "makerspace").await;
    let wish = WishBuilder::doors().quantity(20).create(&app, &maker).await;
    let mut lots = Vec::new();
    for (i, (amount, days)) in [(8, 30), (7, 40), (6, 45)].into_iter().enumerate() {
        let donor = verified(&app, &broker, &format!("sloop{i}@sloop.test"), "contractor").await;
        let lot = ListingBuilder::doors()
            .quantity(amount)
            .available_in_days(days)
            .pickup(SITE.0 + 0.005 * i as f64, SITE.1)
            .create(&app, &donor)
            .await;
        lots.push(lot);
    }
    let sent = delivery::deliver_due(&app.ctx).await.unwrap();
    assert_eq!(sent.failed + sent.retrying, 0, "{sent:?}");
    Announced {
        sink,
        app,
        maker,
        wish,
        lots,
    }
}

#[actix_web::test]
async fn predicted_matches_and_a_bundle_are_told_in_dutch_by_mail() {
    let Announced { sink, lots, .. } = three_announced_lots().await;
    let to_maker = sink.subjects_to(Market::MAKER);
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
}

#[actix_web::test]
async fn the_links_in_a_mail_lead_to_the_wishs_matches_and_settings() {
    let Announced {
        sink,
        app,
        maker,
        wish,
        ..
    } = three_announced_lots().await;
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
    let link = format!(
        "https://kringloop.test/workspace/wishes/{}",
        wish["id"].as_str().unwrap()
    );
    assert!(text.contains(&link), "{text}");
    assert!(
        text.contains("https://kringloop.test/workspace/account#settings"),
        "{text}"
    );
    // The links open pages, for the signed-in makerspace.
    let mut page = PageClient::new(&app.base);
    page.sign_in(&maker.email, "correct horse battery").await;
    let followed = page
        .get(link.strip_prefix("https://kringloop.test").unwrap())
        .await;
    assert_eq!(followed.status, 200, "{}", followed.body);
    assert_eq!(
        followed.body.matches("?match=").count(),
        3,
        "{}",
        followed.body
    );
    assert!(
        followed.body.contains("/workspace/bundles/"),
        "{}",
        followed.body
    );
    let settings = page.get("/workspace/account").await;
    assert_eq!(settings.status, 200);
    assert!(settings.body.contains("id=\"settings\""));
}

#[actix_web::test]
async fn each_contractor_hears_in_english_that_its_lot_is_wished_for() {
    let Announced { sink, .. } = three_announced_lots().await;
    for i in 0..3 {
        let to_donor = sink.subjects_to(&format!("sloop{i}@sloop.test"));
        assert!(
            to_donor
                .iter()
                .any(|s| s.starts_with("Someone wishes for your lot")),
            "{to_donor:?}"
        );
    }
}

#[actix_web::test]
async fn a_lot_that_becomes_available_is_told_once_more_and_no_mail_twice() {
    let Announced {
        sink,
        app,
        mut maker,
        wish,
        lots,
    } = three_announced_lots().await;
    // The first lot's date comes: the makerspace is told again, once.
    app.clock.advance(Duration::days(31));
    assert_eq!(
        kringloop::app::listings::advance_lifecycle(&app.ctx)
            .await
            .unwrap(),
        1
    );
    delivery::deliver_due(&app.ctx).await.unwrap();
    let available: Vec<String> = sink
        .subjects_to(Market::MAKER)
        .into_iter()
        .filter(|s| s.starts_with("Nu beschikbaar: "))
        .collect();
    assert_eq!(available.len(), 1, "{available:?}");
    maker.login(&app).await;
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
    let mut settings = sink.settings();
    settings.mail_max_attempts = 3;
    let (port, store) = sink.stop().await;
    let app = TestApp::spawn_with(settings).await;
    let broker = app.broker().await;
    for i in 0..4 {
        verified(&app, &broker, &format!("org{i}@stad.test"), "initiative").await;
    }
    drop_confirmation_mail(&app).await;
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
    let items = pending.items();
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
    let failed = failed.items().clone();
    assert_eq!(failed.len(), 4);

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
async fn only_brokers_see_the_outbox_and_retry_mail() {
    let sink = SmtpSink::start().await;
    let mut settings = sink.settings();
    settings.mail_max_attempts = 1;
    sink.stop().await;
    let app = TestApp::spawn_with(settings).await;
    let broker = app.broker().await;
    verified(&app, &broker, "org@stad.test", "initiative").await;
    drop_confirmation_mail(&app).await;
    assert_eq!(delivery::deliver_due(&app.ctx).await.unwrap().failed, 1);
    let failed = app.get("/api/v1/admin/outbox", Some(&broker)).await;
    let failed = failed.items().clone();
    assert_eq!(failed.len(), 1);

    let member = unverified(&app, "nosy@stad.test", "initiative").await;
    let denied = app.get("/api/v1/admin/outbox", Some(&member.token)).await;
    assert_eq!(denied.status, 403);
    let denied = app
        .post(
            &format!(
                "/api/v1/admin/outbox/{}/retry",
                failed[0]["id"].as_str().unwrap()
            ),
            Some(&member.token),
            &json!({}),
        )
        .await;
    assert_eq!(denied.status, 403);
}

#[actix_web::test]
async fn a_daily_digest_gathers_the_days_matches_into_one_mail() {
    let sink = SmtpSink::start().await;
    let mut settings = sink.settings();
    settings.digest_hour = 0;
    let app = TestApp::spawn_with(settings).await;
    let market = Market::open(&app).await;
    drop_confirmation_mail(&app).await;
    WishBuilder::doors()
        .notify("daily")
        .create(&app, &market.maker)
        .await;
    for _ in 0..3 {
        ListingBuilder::doors()
            .quantity(4)
            .create(&app, &market.donor)
            .await;
    }
    let round = delivery::deliver_due(&app.ctx).await.unwrap();
    assert_eq!(round.held_for_digest, 3, "{round:?}");
    assert!(sink
        .subjects_to(Market::MAKER)
        .iter()
        .all(|s| !s.contains("match")));
    assert_eq!(delivery::compose_digests(&app.ctx).await.unwrap(), 1);
    assert_eq!(
        delivery::compose_digests(&app.ctx).await.unwrap(),
        0,
        "once a day"
    );
    delivery::deliver_due(&app.ctx).await.unwrap();
    let digests: Vec<String> = sink
        .subjects_to(Market::MAKER)
        .into_iter()
        .filter(|s| s != "Your organisation is verified")
        .collect();
    assert_eq!(digests, ["Your kringloop digest: 3 notifications"]);
}

#[actix_web::test]
async fn two_instances_make_every_match_once_and_send_every_mail_once() {
    let sink = SmtpSink::start().await;
    let one = TestApp::spawn_with(sink.settings()).await;
    let two = one.spawn_beside(sink.settings()).await;
    let broker = one.broker().await;
    let mut makers = Vec::new();
    let mut donors = Vec::new();
    for i in 0..3 {
        makers.push(verified(&one, &broker, &format!("maker{i}@ms.test"), "makerspace").await);
        donors.push(verified(&two, &broker, &format!("donor{i}@sloop.test"), "contractor").await);
    }
    let mut passports = Vec::new();
    for (i, donor) in donors.iter().enumerate() {
        for _ in 0..2 {
            let app = if i % 2 == 0 { &one } else { &two };
            passports.push((i, PassportBuilder::doors().create(app, donor).await));
        }
    }
    let wish = WishBuilder::doors().json(&one).await;
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
        let body = wish.clone();
        async move { app.post("/api/v1/wishes", Some(&maker.token), &body).await }
    });
    let listings = passports.iter().map(|(i, passport)| {
        let app = if i % 2 == 0 { &two } else { &one };
        let body = ListingBuilder::of(passport).quantity(4).json();
        let donor = &donors[*i];
        async move {
            app.post("/api/v1/listings", Some(&donor.token), &body)
                .await
        }
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
        .sql_count(
            "SELECT count(*) AS count FROM outbox WHERE channel = 'email' AND status = 'delivered'",
        )
        .await;
    let mails = sink.mails();
    assert_eq!(mails.len() as i64, emails);
    // Six lots match each wish: five are mailed at once, whichever instance sends them, and the
    // sixth goes into the digest (composed at once: the digest hour has passed).
    for maker in &makers {
        let told = sink
            .subjects_to(&maker.email)
            .into_iter()
            .filter(|s| s.starts_with("A match for your wish"))
            .count();
        assert_eq!(told, 5, "{}", maker.email);
    }
    assert_eq!(
        one.sql_count(
            "SELECT count(*) AS count FROM outbox \
             WHERE event = 'match_new' AND channel = 'email' AND status IN ('digest', 'digested')"
        )
        .await,
        3
    );
    let ids: HashSet<String> = mails
        .iter()
        .filter_map(|m| m.header("Message-ID"))
        .collect();
    assert_eq!(ids.len(), mails.len(), "a mail was sent twice");
}

#[actix_web::test]
async fn a_broad_wish_mails_its_first_matches_at_once_and_the_rest_in_one_digest() {
    let sink = SmtpSink::start().await;
    let mut settings = sink.settings();
    settings.digest_hour = 0;
    settings.mail_instant_per_wish = 5;
    let app = TestApp::spawn_with(settings).await;
    let market = Market::open(&app).await;
    let wish = WishBuilder::doors().create(&app, &market.maker).await;
    for _ in 0..30 {
        ListingBuilder::doors().create(&app, &market.donor).await;
    }
    let round = delivery::deliver_due(&app.ctx).await.unwrap();
    assert_eq!((round.capped, round.failed), (25, 0), "{round:?}");

    // Five mails about the wish at once; the fifth says that the rest comes in the digest.
    let about_matches: Vec<Mail> = sink
        .mails()
        .into_iter()
        .filter(|m| m.to.iter().any(|to| to == Market::MAKER))
        .filter(|m| {
            m.header("Subject")
                .is_some_and(|s| s.starts_with("A match for your wish"))
        })
        .collect();
    assert_eq!(about_matches.len(), 5);
    let capped: Vec<bool> = about_matches
        .iter()
        .map(|m| m.text().contains("5 mails about this wish within 24 hours"))
        .collect();
    assert_eq!(capped, [false, false, false, false, true]);
    // The donor's thirty lots are thirty threads: each is told once.
    let to_donor = sink.subjects_to(Market::DONOR);
    let wished = to_donor
        .iter()
        .filter(|s| s.starts_with("Someone wishes for your lot"))
        .count();
    assert_eq!(wished, 30, "{to_donor:?}");

    // The other 25 come together in one digest; nothing is lost.
    assert_eq!(delivery::compose_digests(&app.ctx).await.unwrap(), 1);
    delivery::deliver_due(&app.ctx).await.unwrap();
    let digests: Vec<String> = sink
        .subjects_to(Market::MAKER)
        .into_iter()
        .filter(|s| s.starts_with("Your kringloop digest"))
        .collect();
    assert_eq!(digests, ["Your kringloop digest: 25 notifications"]);
    let by_status = |status: &'static str| {
        let query = format!(
            "SELECT count(*) AS count FROM outbox WHERE event = 'match_new' \
             AND channel = 'email' AND status = '{status}'"
        );
        let app = &app;
        async move { app.sql_count(&query).await }
    };
    assert_eq!(
        (by_status("delivered").await, by_status("digested").await),
        (5, 25)
    );
    let feed = feed_events(&app, &market.maker).await;
    assert_eq!(feed.iter().filter(|e| *e == "match_new").count(), 30);

    // Another wish is another thread: its first five matches are mailed at once, and each lot
    // tells its donor of the second wish too.
    let other = WishBuilder::doors()
        .with(&json!({"keywords": ["eiken"]}))
        .create(&app, &market.maker)
        .await;
    assert_ne!(other["id"], wish["id"]);
    let round = delivery::deliver_due(&app.ctx).await.unwrap();
    assert_eq!((round.sent, round.capped), (5 + 30, 25), "{round:?}");
    let settings = app
        .get(
            "/api/v1/me/notification-settings",
            Some(&market.maker.token),
        )
        .await;
    assert_eq!(
        settings.body["instant_mail_cap"],
        json!({"mails": 5, "hours": 24})
    );
}
