//! Reservations and hand-over: never more held than offered under concurrency, a priced deal
//! in the local currency from hold to flow, and cancellations that return everything.

use crate::support::*;
use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};

#[actix_web::test]
async fn sixty_four_clients_never_hold_more_than_is_offered() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let listing = ListingBuilder::doors()
        .quantity(10)
        .free()
        .create(&app, &market.donor)
        .await;
    let mut tokens = Vec::new();
    for i in 0..8 {
        let maker = market
            .verified(&app, &format!("maker{i}@ms.test"), "makerspace")
            .await;
        tokens.push(maker.token);
    }
    let clients = (0..64u64).map(|client| {
        let app = &app;
        let token = tokens[client as usize % tokens.len()].clone();
        let listing = listing.clone();
        async move {
            let mut seed = client.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
            let mut next = move || {
                seed ^= seed << 13;
                seed ^= seed >> 7;
                seed ^= seed << 17;
                seed
            };
            let (mut won, mut refused) = (0, 0);
            for _ in 0..32 {
                let amount = (next() % 4 + 1) as i64;
                let response = reserve(app, &token, &listing, amount).await;
                match response.status {
                    201 => {
                        won += 1;
                        // Most holds are let go again, so that there is something left to win.
                        if next() % 8 != 0 {
                            let id = response.body["id"].as_str().unwrap();
                            let cancelled = app
                                .post(
                                    &format!("/api/v1/reservations/{id}/cancel"),
                                    Some(&token),
                                    &json!({}),
                                )
                                .await;
                            assert_eq!(cancelled.status, 200, "{}", cancelled.body);
                        }
                    }
                    409 => {
                        assert_eq!(response.content_type(), "application/problem+json");
                        assert_eq!(
                            response.body["type"], "urn:kringloop:problem:not-enough-left",
                            "{}",
                            response.body
                        );
                        refused += 1;
                    }
                    other => panic!("{other}: {}", response.body),
                }
            }
            (won, refused)
        }
    });
    let results = futures_util::future::join_all(clients).await;
    let won: i64 = results.iter().map(|r| r.0).sum();
    let refused: i64 = results.iter().map(|r| r.1).sum();
    assert_eq!(won + refused, 64 * 32);
    assert!(won >= 5, "only {won} reservations succeeded");
    let held = app
        .sql_count(
            "SELECT COALESCE(sum(quantity), 0)::bigint AS count FROM reservations WHERE status = 'held'",
        )
        .await;
    let left = app
        .sql_count("SELECT quantity_available AS count FROM listings")
        .await;
    assert!(held <= 10, "{held} held of 10");
    assert_eq!(left, 10 - held);
    let status = listing_now(&app, &listing).await["status"].clone();
    assert_eq!(status, if left == 0 { "reserved" } else { "available" });
}

/// A deal in the local currency: the broker credits 5 minor units per kg of doors diverted,
/// the makerspace has 1 000.00 KRL, and holds 5 of 8 doors at 15.00 KRL each.
struct Deal {
    market: Market,
    listing: Value,
    reserved: Response,
}

impl Deal {
    fn id(&self) -> &str {
        self.reserved.body["id"].as_str().unwrap()
    }

    fn path(&self, action: &str) -> String {
        format!("/api/v1/reservations/{}/{action}", self.id())
    }

    /// The donor hands the lot over, under the idempotency key `handover-1`.
    async fn hand_over(&self, app: &TestApp) -> Response {
        app.send(
            Method::POST,
            &self.path("handover"),
            Some(&self.market.donor.token),
            None,
            &[("Idempotency-Key", "handover-1")],
        )
        .await
    }
}

async fn priced_deal(app: &TestApp) -> Deal {
    let market = Market::in_districts(app).await;
    set_currency(
        app,
        &market.broker,
        &json!({"code": "KRL", "name": "Kringloop", "decimals": 2,
                "issuance_policy": {"default_per_kg": 0, "per_category": {"doors": 5}}}),
    )
    .await;
    market.fund(app, &market.maker, 100_000).await;
    let listing = ListingBuilder::doors()
        .price(1500, "KRL")
        .create(app, &market.donor)
        .await;
    let reserved = reserve(app, &market.maker, &listing, 5).await;
    assert_eq!(reserved.status, 201, "{}", reserved.body);
    Deal {
        market,
        listing,
        reserved,
    }
}

/// A priced deal handed over; returns the hand-over's answer too.
async fn handed_over(app: &TestApp) -> (Deal, Response) {
    let deal = priced_deal(app).await;
    let handed = deal.hand_over(app).await;
    assert_eq!(handed.status, 200, "{}", handed.body);
    (deal, handed)
}

#[actix_web::test]
async fn a_reservation_in_local_currency_holds_its_price_on_the_demanders_funds() {
    let app = TestApp::spawn().await;
    let deal = priced_deal(&app).await;
    assert!(deal.listing["district_id"].is_string(), "{}", deal.listing);
    // 5 × 15.00 KRL.
    assert_eq!(deal.reserved.body["total_amount"], 7500);
    assert!(deal.reserved.body["hold_transfer_id"].is_string());
    assert_eq!(balance(&app, &deal.market.maker).await, (100_000, 7500));
}

#[actix_web::test]
async fn only_the_donor_hands_over() {
    let app = TestApp::spawn().await;
    let deal = priced_deal(&app).await;
    let stranger = deal
        .market
        .verified(&app, "jo@bouwer.test", "builder")
        .await;
    let path = deal.path("handover");
    // The demander cannot hand over; others do not see the reservation at all.
    assert_eq!(
        app.post(&path, Some(&deal.market.maker.token), &json!({}))
            .await
            .status,
        403
    );
    assert_eq!(
        app.post(&path, Some(&stranger.token), &json!({}))
            .await
            .status,
        404
    );
    assert_eq!(
        app.get(
            &format!("/api/v1/reservations/{}", deal.id()),
            Some(&stranger.token)
        )
        .await
        .status,
        404
    );
}

#[actix_web::test]
async fn a_replayed_hand_over_answers_as_the_first() {
    let app = TestApp::spawn().await;
    let (deal, handed) = handed_over(&app).await;
    assert_eq!(handed.body["status"], "handed_over");
    let replay = deal.hand_over(&app).await;
    assert_eq!(replay.status, 200);
    assert_eq!(
        replay.body, handed.body,
        "a replayed hand-over answers as the first"
    );
}

#[actix_web::test]
async fn a_hand_over_pays_the_donor_and_credits_it_by_the_policy_once_confirmed() {
    let app = TestApp::spawn().await;
    let (deal, _) = handed_over(&app).await;
    assert_eq!(balance(&app, &deal.market.maker).await, (92_500, 0));
    // Paid 75.00 at hand-over; the issuance waits for the demander's word.
    assert_eq!(balance(&app, &deal.market.donor).await.0, 7500);
    let confirmed = app
        .post(
            &deal.path("confirm"),
            Some(&deal.market.maker.token),
            &json!({}),
        )
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    // Credited 5 per kg for 5 × 32 kg = 160 kg.
    assert_eq!(balance(&app, &deal.market.donor).await.0, 7500 + 800);
}

#[actix_web::test]
async fn a_hand_over_splits_the_passport_to_the_demander() {
    let app = TestApp::spawn().await;
    let (deal, handed) = handed_over(&app).await;
    let (maker, donor) = (&deal.market.maker, &deal.market.donor);
    let passport_id = deal.listing["passport_id"].as_str().unwrap();

    // The makerspace holds a new passport whose chain verifies.
    let received = handed.body["received_passport_id"].as_str().unwrap();
    assert_ne!(received, passport_id);
    let part = app
        .get(&format!("/api/v1/passports/{received}"), Some(&maker.token))
        .await;
    assert_eq!(part.status, 200, "{}", part.body);
    assert_eq!(
        part.body["organisation_id"].as_str(),
        Some(maker.org.as_str())
    );
    let chain = app
        .get(
            &format!("/api/v1/passports/{received}/custody"),
            Some(&maker.token),
        )
        .await;
    assert_eq!(chain.body["verified"], true, "{}", chain.body);
    // Its export verifies offline: the split event fixed the content it took along.
    let export = app
        .get(
            &format!("/api/v1/passports/{received}/export"),
            Some(&maker.token),
        )
        .await;
    let verdict = app
        .post("/api/v1/passports/verify", None, &export.body)
        .await;
    assert_eq!(verdict.body["valid"], true, "{}", verdict.body);
    assert_eq!(verdict.body["content_bound"], true, "{}", verdict.body);
    let original = app
        .get(
            &format!("/api/v1/passports/{passport_id}/custody"),
            Some(&donor.token),
        )
        .await;
    assert_eq!(original.body["verified"], true);
    let kinds: Vec<&str> = original.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(kinds.ends_with(&["reserved", "split"]), "{kinds:?}");
}

#[actix_web::test]
async fn a_hand_over_records_one_flow_between_the_districts() {
    let app = TestApp::spawn().await;
    let (deal, _) = handed_over(&app).await;
    // 160 kg, 460 g CO2e per kg.
    let me = app.get("/api/v1/me", Some(&deal.market.maker.token)).await;
    let destination = me.body["organisation"]["district_id"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM flows").await,
        1
    );
    assert_eq!(
        app.sql_count("SELECT mass_g AS count FROM flows").await,
        160_000
    );
    assert_eq!(
        app.sql_count("SELECT co2e_avoided_g AS count FROM flows")
            .await,
        73_600
    );
    assert_eq!(
        app.sql_count(&format!(
            "SELECT count(*) AS count FROM flows WHERE origin_district_id = '{}' \
             AND destination_district_id = '{destination}'",
            deal.listing["district_id"].as_str().unwrap()
        ))
        .await,
        1
    );
    assert_eq!(
        app.sql_count("SELECT sum(mass_g)::bigint AS count FROM flow_rollups")
            .await,
        160_000
    );
}

#[actix_web::test]
async fn a_cancelled_reservation_returns_every_unit_and_every_cent() {
    let app = TestApp::spawn().await;
    let (deal, _) = handed_over(&app).await;
    let (maker, donor) = (&deal.market.maker, &deal.market.donor);
    let stranger = deal
        .market
        .verified(&app, "jo@bouwer.test", "builder")
        .await;

    // The rest (3) reserved: the lot is fully reserved, and nobody gets more.
    let rest = reserve(&app, maker, &deal.listing, 3).await;
    assert_eq!(rest.status, 201, "{}", rest.body);
    assert_eq!(listing_now(&app, &deal.listing).await["status"], "reserved");
    assert_eq!(balance(&app, maker).await.1, 4500);
    let too_much = reserve(&app, &stranger, &deal.listing, 1).await;
    assert_eq!(too_much.status, 409);

    let cancelled = app
        .post(
            &format!(
                "/api/v1/reservations/{}/cancel",
                rest.body["id"].as_str().unwrap()
            ),
            Some(&donor.token),
            &json!({}),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    let reopened = listing_now(&app, &deal.listing).await;
    assert_eq!(reopened["status"], "available");
    assert_eq!(reopened["quantity_available"], 3);
    assert_eq!(balance(&app, maker).await, (92_500, 0));
}

#[actix_web::test]
async fn the_demander_confirms_receipt_once() {
    let app = TestApp::spawn().await;
    let (deal, _) = handed_over(&app).await;
    let confirm = deal.path("confirm");
    assert_eq!(
        app.post(&confirm, Some(&deal.market.donor.token), &json!({}))
            .await
            .status,
        403
    );
    let maker = Some(deal.market.maker.token.as_str());
    let confirmed = app
        .post(&confirm, maker, &json!({"note": "all five fine"}))
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert_eq!(confirmed.body["confirmation"], "confirmed");
    assert_eq!(app.post(&confirm, maker, &json!({})).await.status, 409);
}

/// A market with a lot of 4 doors at 25 euros each.
async fn euro_lot(app: &TestApp) -> (Market, Value) {
    let market = Market::open(app).await;
    let listing = ListingBuilder::doors()
        .quantity(4)
        .create(app, &market.donor)
        .await;
    (market, listing)
}

#[actix_web::test]
async fn a_euro_deal_records_its_price_and_holds_no_funds() {
    let app = TestApp::spawn().await;
    let (market, listing) = euro_lot(&app).await;
    let held = reserve(&app, &market.maker, &listing, 4).await;
    assert_eq!(held.status, 201, "{}", held.body);
    assert_eq!(
        held.body["total_amount"], 10_000,
        "euro prices are recorded on the deal"
    );
    assert!(
        held.body["hold_transfer_id"].is_null(),
        "euros are settled outside the service"
    );
    assert_eq!(listing_now(&app, &listing).await["status"], "reserved");
}

#[actix_web::test]
async fn held_reservations_expire_and_release_their_quantity() {
    let app = TestApp::spawn().await;
    let (market, listing) = euro_lot(&app).await;
    let held = reserve(&app, &market.maker, &listing, 4).await;
    assert_eq!(held.status, 201, "{}", held.body);

    app.clock.advance(Duration::hours(73));
    assert_eq!(
        kringloop::app::reservations::expire_due(&app.ctx)
            .await
            .unwrap(),
        1
    );
    assert_eq!(
        kringloop::app::reservations::expire_due(&app.ctx)
            .await
            .unwrap(),
        0
    );
    let listing = listing_now(&app, &listing).await;
    assert_eq!(listing["status"], "available");
    assert_eq!(listing["quantity_available"], 4);
}

#[actix_web::test]
async fn a_reservation_of_nothing_is_a_422() {
    let app = TestApp::spawn().await;
    let (market, listing) = euro_lot(&app).await;
    let bad = reserve(&app, &market.maker, &listing, 0).await;
    assert_eq!(bad.status, 422, "{}", bad.body);
}

#[actix_web::test]
async fn a_reservation_needs_an_idempotency_key() {
    let app = TestApp::spawn().await;
    let (market, listing) = euro_lot(&app).await;
    let unkeyed = app
        .post(
            "/api/v1/reservations",
            Some(&market.maker.token),
            &json!({"listing_id": listing["id"], "quantity": 1}),
        )
        .await;
    assert_eq!(unkeyed.status / 100, 4, "{}", unkeyed.body);
}

#[actix_web::test]
async fn a_donor_cannot_reserve_its_own_lot() {
    let app = TestApp::spawn().await;
    let (market, listing) = euro_lot(&app).await;
    let own_listing = reserve(&app, &market.donor, &listing, 1).await;
    assert_eq!(own_listing.status, 409);
}
