//! Issuance for hand-overs cannot mint money: it is paid after the demander's word (or the
//! window without one), once per material however often it changes hands, for a plausible
//! mass per unit (outliers wait for the broker), and within an optional monthly cap.

use crate::support::*;
use chrono::Duration;
use kringloop::app::ledger::issuance::settle_lapsed;
use reqwest::Method;
use serde_json::{json, Value};

const PASSWORD: &str = "correct horse battery";
/// 5 per kg for doors: a door of 32 kg earns 160 minor units.
const DOOR: i64 = 160;

/// A market whose currency pays 5 minor units per kg of doors.
async fn market(app: &TestApp) -> Market {
    let market = Market::open(app).await;
    set_currency(
        app,
        &market.broker,
        &json!({"code": "KRL", "name": "Kringloop", "decimals": 2,
                "issuance_policy": {"default_per_kg": 0, "per_category": {"doors": 5}}}),
    )
    .await;
    market
}

/// `who` reserves `quantity` of the listing and its owner hands it over; the reservation's id.
async fn handed_over(
    app: &TestApp,
    owner: &Member,
    who: &Member,
    listing: &Value,
    quantity: i64,
) -> String {
    let reserved = reserve(app, who, listing, quantity).await;
    assert_eq!(reserved.status, 201, "{}", reserved.body);
    let id = reserved.body["id"].as_str().unwrap().to_owned();
    let handed = app
        .send(
            Method::POST,
            &format!("/api/v1/reservations/{id}/handover"),
            Some(&owner.token),
            None,
            &[("Idempotency-Key", &format!("handover-{id}"))],
        )
        .await;
    assert_eq!(handed.status, 200, "{}", handed.body);
    id
}

async fn confirm(app: &TestApp, who: &Member, id: &str) -> Response {
    app.post(
        &format!("/api/v1/reservations/{id}/confirm"),
        Some(&who.token),
        &json!({}),
    )
    .await
}

/// How many issuance transfers were made for hand-overs.
async fn handover_issuances(app: &TestApp) -> i64 {
    app.sql_count(
        "SELECT count(*) FROM transfers WHERE kind = 'issuance' AND reference LIKE 'handover:%'",
    )
    .await
}

async fn held(app: &TestApp, who: &str) -> Response {
    app.get("/api/v1/admin/issuance/held", Some(who)).await
}

/// A lot of one door declared at 1 000 t: far beyond what a door weighs.
async fn implausible_lot(app: &TestApp, donor: &Member) -> Value {
    let passport = PassportBuilder::doors()
        .set("unit_mass", json!({"grams": 1_000_000_000, "per": "piece"}))
        .create(app, donor)
        .await;
    ListingBuilder::of(&passport)
        .quantity(1)
        .create(app, donor)
        .await
}

#[actix_web::test]
async fn issuance_waits_for_the_demanders_confirmation() {
    let app = TestApp::spawn().await;
    let market = market(&app).await;
    let (donor, maker) = (&market.donor, &market.maker);
    let listing = ListingBuilder::doors().create(&app, donor).await;
    let id = handed_over(&app, donor, maker, &listing, 5).await;
    assert_eq!(balance(&app, donor).await, (0, 0), "nothing at hand-over");
    assert_eq!(
        app.sql_count("SELECT count(*) FROM issuance_claims WHERE status = 'awaiting'")
            .await,
        1
    );

    assert_eq!(confirm(&app, maker, &id).await.status, 200);
    assert_eq!(balance(&app, donor).await, (5 * DOOR, 0));
    assert_eq!(confirm(&app, maker, &id).await.status, 409);
    let entries = app
        .get("/api/v1/accounts/me/entries", Some(&donor.token))
        .await;
    assert_eq!(entries.items()[0]["kind"], "issuance");
    assert_eq!(entries.items()[0]["reference"], format!("handover:{id}"));
    // The window job finds nothing left to pay.
    app.clock.advance(Duration::days(8));
    assert_eq!(settle_lapsed(&app.ctx).await.unwrap(), 0);
    assert_eq!(handover_issuances(&app).await, 1);
}

#[actix_web::test]
async fn a_window_that_passes_without_a_word_pays_once_whoever_runs_the_job() {
    let app = TestApp::spawn().await;
    let market = market(&app).await;
    let (donor, maker) = (&market.donor, &market.maker);
    let listing = ListingBuilder::doors().create(&app, donor).await;
    let id = handed_over(&app, donor, maker, &listing, 5).await;
    assert_eq!(
        settle_lapsed(&app.ctx).await.unwrap(),
        0,
        "the window is open"
    );

    app.clock.advance(Duration::days(7) + Duration::minutes(1));
    // Two instances, each running the job twice at once.
    let other = app.spawn_beside(test_settings()).await;
    let runs = futures_util::future::join_all([
        settle_lapsed(&app.ctx),
        settle_lapsed(&app.ctx),
        settle_lapsed(&other.ctx),
        settle_lapsed(&other.ctx),
    ])
    .await;
    let settled: usize = runs.into_iter().map(Result::unwrap).sum();
    assert_eq!(settled, 1);
    assert_eq!(handover_issuances(&app).await, 1);
    let mut donor = donor.clone();
    donor.login(&app).await;
    assert_eq!(balance(&app, &donor).await, (5 * DOOR, 0));
    // Too late for a word now.
    let mut maker = maker.clone();
    maker.login(&app).await;
    let late = app
        .post(
            &format!("/api/v1/reservations/{id}/dispute"),
            Some(&maker.token),
            &json!({"note": "too late"}),
        )
        .await;
    late.assert_problem(409, "not-awaiting-confirmation");
}

#[actix_web::test]
async fn a_dispute_pays_nothing_and_waits_for_the_broker() {
    let app = TestApp::spawn().await;
    let market = market(&app).await;
    let (donor, maker) = (&market.donor, &market.maker);
    let listing = ListingBuilder::doors().create(&app, donor).await;
    let id = handed_over(&app, donor, maker, &listing, 5).await;
    let disputed = app
        .post(
            &format!("/api/v1/reservations/{id}/dispute"),
            Some(&maker.token),
            &json!({"note": "three were broken"}),
        )
        .await;
    assert_eq!(disputed.status, 200, "{}", disputed.body);
    assert_eq!(balance(&app, donor).await, (0, 0));
    app.clock.advance(Duration::days(8));
    assert_eq!(settle_lapsed(&app.ctx).await.unwrap(), 0);
    assert_eq!(handover_issuances(&app).await, 0);

    let broker = app.broker().await;
    let waiting = held(&app, &broker).await;
    assert_eq!(waiting.items().len(), 1);
    let claim = &waiting.items()[0];
    assert_eq!(claim["held_because"], "disputed");
    assert_eq!(claim["reservation_id"], id.as_str());
    assert_eq!(claim["amount"], 5 * DOOR);
    assert_eq!(claim["paid"], 0);
    let mut donor = donor.clone();
    donor.login(&app).await;
    assert!(feed_events(&app, &donor)
        .await
        .contains(&"issuance_held".to_owned()));
}

/// Two organisations hand the same material back and forth, whole and in parts: only the
/// first hand-over out of its origin earns.
#[actix_web::test]
async fn handing_the_same_material_back_and_forth_earns_once() {
    let app = TestApp::spawn().await;
    let market = market(&app).await;
    let (donor, maker) = (&market.donor, &market.maker);
    let first = ListingBuilder::doors()
        .quantity(2)
        .create(&app, donor)
        .await;
    let passport = json!({"id": first["passport_id"]});

    // The donor gives both doors; the maker confirms.
    let id = handed_over(&app, donor, maker, &first, 2).await;
    assert_eq!(confirm(&app, maker, &id).await.status, 200);
    assert_eq!(balance(&app, donor).await.0, 2 * DOOR);

    // The maker hands the same doors back; the donor confirms.
    let back = ListingBuilder::of(&passport)
        .quantity(2)
        .create(&app, maker)
        .await;
    let id = handed_over(&app, maker, donor, &back, 2).await;
    assert_eq!(confirm(&app, donor, &id).await.status, 200);
    assert_eq!(balance(&app, maker).await.0, 0, "handed back: nothing");

    // And again, once whole and once a part split off.
    let again = ListingBuilder::of(&passport)
        .quantity(2)
        .create(&app, donor)
        .await;
    let id = handed_over(&app, donor, maker, &again, 1).await;
    assert_eq!(confirm(&app, maker, &id).await.status, 200);
    let id = handed_over(&app, donor, maker, &again, 1).await;
    assert_eq!(confirm(&app, maker, &id).await.status, 200);
    app.clock.advance(Duration::days(8));
    assert_eq!(settle_lapsed(&app.ctx).await.unwrap(), 0);

    assert_eq!(handover_issuances(&app).await, 1);
    assert_eq!(
        app.sql_count("SELECT count(*) FROM issuance_claims").await,
        1
    );
    let mut donor = donor.clone();
    donor.login(&app).await;
    assert_eq!(balance(&app, &donor).await.0, 2 * DOOR);
    // New material of the donor's still earns.
    let fresh = ListingBuilder::doors()
        .quantity(1)
        .create(&app, &donor)
        .await;
    let mut maker = maker.clone();
    maker.login(&app).await;
    let id = handed_over(&app, &donor, &maker, &fresh, 1).await;
    assert_eq!(confirm(&app, &maker, &id).await.status, 200);
    assert_eq!(balance(&app, &donor).await.0, 3 * DOOR);
}

#[actix_web::test]
async fn an_implausible_mass_waits_for_the_broker_who_approves_or_rejects() {
    let app = TestApp::spawn().await;
    let market = market(&app).await;
    let (donor, maker, broker) = (&market.donor, &market.maker, &market.broker);
    let mut ids = Vec::new();
    for _ in 0..2 {
        let lot = implausible_lot(&app, donor).await;
        let id = handed_over(&app, donor, maker, &lot, 1).await;
        assert_eq!(confirm(&app, maker, &id).await.status, 200);
        ids.push(id);
    }
    assert_eq!(
        balance(&app, donor).await,
        (0, 0),
        "nothing paid for 1 000 t doors"
    );
    assert!(feed_events(&app, donor)
        .await
        .contains(&"issuance_held".to_owned()));

    assert_eq!(held(&app, &maker.token).await.status, 403);
    assert_eq!(held(&app, &donor.token).await.status, 403);
    let waiting = held(&app, broker).await;
    let claims = waiting.items().clone();
    assert_eq!(claims.len(), 2);
    for claim in &claims {
        assert_eq!(claim["held_because"], "implausible_mass");
        assert_eq!(claim["grams_per_unit"], 1_000_000_000);
        assert_eq!(
            claim["plausible_g_per_unit"], 300_000,
            "a door: 300 kg at most"
        );
        assert_eq!(claim["category_code"], "doors-interior");
        assert_eq!(claim["donor_id"], donor.org.as_str());
        // 1 000 000 kg at 5 per kg.
        assert_eq!(claim["amount"], 5_000_000);
    }
    let approve = |id: &str| format!("/api/v1/admin/issuance/held/{id}/approve");
    let reject = |id: &str| format!("/api/v1/admin/issuance/held/{id}/reject");
    let (first, second) = (
        claims[0]["id"].as_str().unwrap(),
        claims[1]["id"].as_str().unwrap(),
    );

    // Only the broker decides.
    assert_eq!(
        app.post(&approve(first), Some(&donor.token), &json!({}))
            .await
            .status,
        403
    );
    let unknown = uuid::Uuid::now_v7().to_string();
    app.post(&approve(&unknown), Some(broker), &json!({}))
        .await
        .assert_problem(404, "not-found");

    let approved = app
        .post(
            &approve(first),
            Some(broker),
            &json!({"note": "weighed on the site's scale"}),
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(approved.body["status"], "paid");
    assert_eq!(approved.body["paid"], 5_000_000);
    assert_eq!(balance(&app, donor).await.0, 5_000_000);
    app.post(&approve(first), Some(broker), &json!({}))
        .await
        .assert_problem(409, "issuance-not-held");
    app.post(&reject(first), Some(broker), &json!({"reason": "late"}))
        .await
        .assert_problem(409, "issuance-not-held");

    app.post(&reject(second), Some(broker), &json!({"reason": "  "}))
        .await
        .assert_problem(422, "validation");
    let rejected = app
        .post(
            &reject(second),
            Some(broker),
            &json!({"reason": "a door does not weigh 1 000 t"}),
        )
        .await;
    assert_eq!(rejected.status, 200, "{}", rejected.body);
    assert_eq!(rejected.body["status"], "rejected");
    assert_eq!(balance(&app, donor).await.0, 5_000_000);
    assert!(held(&app, broker).await.items().is_empty());
    assert!(feed_events(&app, donor)
        .await
        .contains(&"issuance_rejected".to_owned()));

    // Both decisions are in the audit log, with their reasons.
    for (action, object, reason) in [
        ("approve_issuance", first, "weighed on the site's scale"),
        ("reject_issuance", second, "a door does not weigh 1 000 t"),
    ] {
        let log = app
            .get(
                &format!("/api/v1/admin/audit?action={action}"),
                Some(broker),
            )
            .await;
        let entries = log.items();
        assert_eq!(entries.len(), 1, "{action}");
        assert_eq!(entries[0]["object_kind"], "issuance_claim");
        assert_eq!(entries[0]["object_id"], object);
        assert_eq!(entries[0]["reason"], reason);
        assert_eq!(entries[0]["before"]["status"], "held");
    }
}

#[actix_web::test]
async fn the_monthly_cap_pays_what_fits_and_holds_the_rest_under_concurrency() {
    let app = TestApp::spawn().await;
    let market = market(&app).await;
    let (donor, maker, broker) = (&market.donor, &market.maker, &market.broker);
    let cap = format!("/api/v1/admin/accounts/{}/issuance-cap", donor.org);
    assert_eq!(
        app.put(
            &cap,
            Some(&donor.token),
            &json!({"issuance_cap_per_month": 10_000_000})
        )
        .await
        .status,
        403
    );
    app.put(&cap, Some(broker), &json!({"issuance_cap_per_month": -1}))
        .await
        .assert_problem(422, "validation");
    let set = app
        .put(
            &cap,
            Some(broker),
            &json!({"issuance_cap_per_month": 1_000}),
        )
        .await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["issuance_cap_per_month"], 1_000);
    assert_eq!(account(&app, donor).await["issuance_cap_per_month"], 1_000);

    // Three hand-overs of 5 doors (800 each) confirmed at once: 1 000 is paid in all.
    let listing = ListingBuilder::doors()
        .quantity(15)
        .create(&app, donor)
        .await;
    let mut ids = Vec::new();
    for _ in 0..3 {
        ids.push(handed_over(&app, donor, maker, &listing, 5).await);
    }
    let answers =
        futures_util::future::join_all(ids.iter().map(|id| confirm(&app, maker, id))).await;
    assert!(answers.iter().all(|answer| answer.status == 200));
    assert_eq!(balance(&app, donor).await.0, 1_000);
    let waiting = held(&app, broker).await;
    let claims = waiting.items();
    assert_eq!(claims.len(), 2);
    assert!(claims.iter().all(|c| c["held_because"] == "over_cap"));
    let paid: i64 = claims.iter().map(|c| c["paid"].as_i64().unwrap()).sum();
    assert_eq!(
        paid,
        1_000 - 800,
        "one paid in full, one in part, one not at all"
    );

    // The broker approves one over the cap: the rest of it is paid.
    let partial = claims.iter().find(|c| c["paid"] == 200).unwrap();
    let approved = app
        .post(
            &format!(
                "/api/v1/admin/issuance/held/{}/approve",
                partial["id"].as_str().unwrap()
            ),
            Some(broker),
            &json!({}),
        )
        .await;
    assert_eq!(approved.status, 200, "{}", approved.body);
    assert_eq!(balance(&app, donor).await.0, 1_000 + 600);

    // Lifting the cap is audited too.
    let lifted = app
        .put(&cap, Some(broker), &json!({"issuance_cap_per_month": null}))
        .await;
    assert_eq!(lifted.status, 200, "{}", lifted.body);
    assert!(lifted.body["issuance_cap_per_month"].is_null());
    let log = app
        .get("/api/v1/admin/audit?action=set_issuance_cap", Some(broker))
        .await;
    assert_eq!(log.items().len(), 2);
    assert_eq!(
        log.items()[0]["after"]["issuance_cap_per_month"],
        Value::Null
    );
}

/// Demanders confirm while the window closes under them and instances run the window job:
/// every hand-over is paid exactly once.
#[actix_web::test]
async fn confirming_and_the_window_job_racing_pay_each_hand_over_once() {
    let app = TestApp::spawn().await;
    let market = market(&app).await;
    let (donor, maker) = (&market.donor, &market.maker);
    let listing = ListingBuilder::doors()
        .quantity(12)
        .create(&app, donor)
        .await;
    let mut ids = Vec::new();
    for _ in 0..6 {
        ids.push(handed_over(&app, donor, maker, &listing, 2).await);
    }
    let other = app.spawn_beside(test_settings()).await;
    let clock = app.clock.clone();
    let confirms = futures_util::future::join_all(ids.iter().map(|id| confirm(&app, maker, id)));
    let jobs = futures_util::future::join_all((0..6).map(|n| {
        let ctx = if n % 2 == 0 { &app.ctx } else { &other.ctx };
        let clock = clock.clone();
        async move {
            if n == 2 {
                // The window closes while the others run.
                clock.advance(Duration::days(7) + Duration::seconds(1));
            }
            settle_lapsed(ctx).await.unwrap()
        }
    }));
    let (confirmed, settled) = futures_util::future::join(confirms, jobs).await;
    for answer in &confirmed {
        assert!(
            [200, 401, 409].contains(&answer.status),
            "{} {}",
            answer.status,
            answer.body
        );
    }
    // Whatever is left is the job's.
    settle_lapsed(&app.ctx).await.unwrap();
    let by_confirmation = confirmed.iter().filter(|a| a.status == 200).count();
    let by_job: usize = settled.iter().sum();
    assert!(by_confirmation + by_job <= 6);
    assert_eq!(
        app.sql_count("SELECT count(*) FROM issuance_claims WHERE status = 'paid'")
            .await,
        6
    );
    for id in &ids {
        assert_eq!(
            app.sql_count(&format!(
                "SELECT count(*) FROM transfers WHERE kind = 'issuance' \
                 AND reference = 'handover:{id}'"
            ))
            .await,
            1,
            "{id}"
        );
    }
    let mut donor = donor.clone();
    donor.login(&app).await;
    assert_eq!(balance(&app, &donor).await.0, 6 * 2 * DOOR);
}

#[actix_web::test]
async fn the_broker_approves_held_issuance_and_sets_a_cap_in_the_console() {
    let app = TestApp::spawn().await;
    let market = market(&app).await;
    let (donor, maker) = (&market.donor, &market.maker);
    let lot = implausible_lot(&app, donor).await;
    let id = handed_over(&app, donor, maker, &lot, 1).await;
    assert_eq!(confirm(&app, maker, &id).await.status, 200);
    let claim = held(&app, &market.broker).await.items()[0].clone();
    let claim_id = claim["id"].as_str().unwrap();

    let mut broker = PageClient::new(&app.base);
    broker.sign_in("broker@gemeente.test", PASSWORD).await;
    let console = broker.get("/console").await;
    assert_eq!(console.status, 200, "{}", console.body);
    assert!(console.body.contains("id=\"held-issuance\""));
    assert!(console.body.contains(&format!("data-claim=\"{claim_id}\"")));
    assert!(console
        .body
        .contains(&format!("/console/issuance/{claim_id}/approve")));

    // Not for anyone else.
    let mut someone = PageClient::new(&app.base);
    someone.sign_in(&maker.email, PASSWORD).await;
    someone.get("/workspace").await;
    let refused = someone
        .post(
            &format!("/console/issuance/{claim_id}/approve"),
            &[("note", "")],
        )
        .await;
    assert_eq!(refused.status, 403);
    assert_eq!(balance(&app, donor).await.0, 0);

    let approved = broker
        .post(
            &format!("/console/issuance/{claim_id}/approve"),
            &[("note", "checked the delivery note")],
        )
        .await;
    assert_eq!(approved.status, 303, "{}", approved.body);
    assert_eq!(balance(&app, donor).await.0, 5_000_000);
    assert!(held(&app, &market.broker).await.items().is_empty());
    let again = broker
        .post(
            &format!("/console/issuance/{claim_id}/approve"),
            &[("note", "")],
        )
        .await;
    assert_eq!(again.status, 409);

    let cap = broker
        .post(
            &format!("/console/accounts/{}/issuance-cap", donor.org),
            &[("issuance_cap", "25")],
        )
        .await;
    assert_eq!(cap.status, 303, "{}", cap.body);
    assert_eq!(account(&app, donor).await["issuance_cap_per_month"], 2_500);
    let console = broker.get("/console").await;
    assert!(console.body.contains("id=\"cap-"));
    assert!(console.body.contains("25.00"));
    let none = broker
        .post(
            &format!("/console/accounts/{}/issuance-cap", donor.org),
            &[("issuance_cap", "")],
        )
        .await;
    assert_eq!(none.status, 303, "{}", none.body);
    assert!(account(&app, donor).await["issuance_cap_per_month"].is_null());
}
