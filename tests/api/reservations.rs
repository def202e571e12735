//! Reservations and hand-over: never more held than offered under concurrency, a priced deal
//! in the local currency from hold to flow, and cancellations that return everything.

use crate::stock::{create_listing, create_passport, doors_passport, offer};
use crate::support::TestApp;
use chrono::Duration;
use reqwest::Method;
use serde_json::{json, Value};
use uuid::Uuid;

async fn reserve(
    app: &TestApp,
    token: &str,
    listing: &Value,
    quantity: i64,
) -> crate::support::Response {
    let key = Uuid::now_v7().to_string();
    app.send(
        Method::POST,
        "/api/v1/reservations",
        Some(token),
        Some(&json!({"listing_id": listing["id"], "quantity": quantity})),
        &[("Idempotency-Key", key.as_str())],
    )
    .await
}

async fn account(app: &TestApp, token: &str) -> Value {
    let response = app.get("/api/v1/accounts/me", Some(token)).await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.body
}

#[actix_web::test]
async fn sixty_four_clients_never_hold_more_than_is_offered() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    let (donor, _) = app
        .verified_member("sanne@sloop.test", "contractor", &broker)
        .await;
    let passport = create_passport(&app, &donor, &doors_passport()).await;
    let mut body = offer(&passport["id"], 10, 0);
    body["price"] = Value::Null;
    let listing = create_listing(&app, &donor, &body).await;
    let mut tokens = Vec::new();
    for i in 0..8 {
        tokens.push(
            app.verified_member(&format!("maker{i}@ms.test"), "makerspace", &broker)
                .await
                .0,
        );
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
    let status = app
        .get(
            &format!("/api/v1/listings/{}", listing["id"].as_str().unwrap()),
            None,
        )
        .await
        .body["status"]
        .clone();
    assert_eq!(status, if left == 0 { "reserved" } else { "available" });
}

#[actix_web::test]
async fn a_priced_deal_in_local_currency_from_hold_to_flow_and_a_cancellation() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    app.upload_districts(&broker).await;
    let (donor, donor_org) = app
        .verified_member("sanne@sloop.test", "contractor", &broker)
        .await;
    let (maker, maker_org) = app
        .verified_member("kim@makerspace.test", "makerspace", &broker)
        .await;
    // The broker's policy: 5 minor units per kg of doors diverted.
    let currency = app.get("/api/v1/currency", None).await;
    let etag = currency.headers["etag"].to_str().unwrap().to_owned();
    let configured = app
        .send(
            Method::PUT,
            "/api/v1/admin/currency",
            Some(&broker),
            Some(&json!({"code": "KRL", "name": "Kringloop", "decimals": 2,
                         "issuance_policy": {"default_per_kg": 0, "per_category": {"doors": 5}}})),
            &[("If-Match", etag.as_str())],
        )
        .await;
    assert_eq!(configured.status, 200, "{}", configured.body);
    let funded = app
        .send(
            Method::POST,
            "/api/v1/admin/issuance",
            Some(&broker),
            Some(&json!({"organisation_id": maker_org, "amount": 100_000, "reason": "start"})),
            &[("Idempotency-Key", "fund-maker")],
        )
        .await;
    assert_eq!(funded.status, 201, "{}", funded.body);

    let passport = create_passport(&app, &donor, &doors_passport()).await;
    let mut body = offer(&passport["id"], 8, 0);
    body["price"] = json!({"amount": 1500, "currency": "KRL"});
    let listing = create_listing(&app, &donor, &body).await;
    assert!(listing["district_id"].is_string(), "{listing}");

    // Reserve 5 of 8: 75.00 KRL held on the makerspace's funds.
    let reserved = reserve(&app, &maker, &listing, 5).await;
    assert_eq!(reserved.status, 201, "{}", reserved.body);
    assert_eq!(reserved.body["total_amount"], 7500);
    assert!(reserved.body["hold_transfer_id"].is_string());
    let before = account(&app, &maker).await;
    assert_eq!(
        (before["balance"].as_i64(), before["held"].as_i64()),
        (Some(100_000), Some(7500))
    );
    let id = reserved.body["id"].as_str().unwrap().to_owned();

    // Only the donor hands over; the demander cannot, others do not see it.
    let (stranger, _) = app
        .verified_member("jo@bouwer.test", "builder", &broker)
        .await;
    let path = format!("/api/v1/reservations/{id}/handover");
    assert_eq!(app.post(&path, Some(&maker), &json!({})).await.status, 403);
    assert_eq!(
        app.post(&path, Some(&stranger), &json!({})).await.status,
        404
    );
    assert_eq!(
        app.get(&format!("/api/v1/reservations/{id}"), Some(&stranger))
            .await
            .status,
        404
    );
    let handed = app
        .send(
            Method::POST,
            &path,
            Some(&donor),
            None,
            &[("Idempotency-Key", "handover-1")],
        )
        .await;
    assert_eq!(handed.status, 200, "{}", handed.body);
    assert_eq!(handed.body["status"], "handed_over");
    let replay = app
        .send(
            Method::POST,
            &path,
            Some(&donor),
            None,
            &[("Idempotency-Key", "handover-1")],
        )
        .await;
    assert_eq!(replay.status, 200);
    assert_eq!(
        replay.body, handed.body,
        "a replayed hand-over answers as the first"
    );

    // Funds moved; the donor was also credited 5 per kg for 5 × 32 kg = 160 kg.
    let after = account(&app, &maker).await;
    assert_eq!(
        (after["balance"].as_i64(), after["held"].as_i64()),
        (Some(92_500), Some(0))
    );
    let donor_account = account(&app, &donor).await;
    assert_eq!(donor_account["balance"].as_i64(), Some(7500 + 800));

    // Custody split: the makerspace holds a new passport whose chain verifies.
    let received = handed.body["received_passport_id"].as_str().unwrap();
    assert_ne!(received, passport["id"].as_str().unwrap());
    let part = app
        .get(&format!("/api/v1/passports/{received}"), Some(&maker))
        .await;
    assert_eq!(part.status, 200, "{}", part.body);
    assert_eq!(
        part.body["organisation_id"].as_str(),
        Some(maker_org.as_str())
    );
    let chain = app
        .get(
            &format!("/api/v1/passports/{received}/custody"),
            Some(&maker),
        )
        .await;
    assert_eq!(chain.body["verified"], true, "{}", chain.body);
    let original = app
        .get(
            &format!(
                "/api/v1/passports/{}/custody",
                passport["id"].as_str().unwrap()
            ),
            Some(&donor),
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

    // One flow: the right districts, 160 kg, 460 g CO2e per kg.
    let me = app.get("/api/v1/me", Some(&maker)).await;
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
            listing["district_id"].as_str().unwrap()
        ))
        .await,
        1
    );
    assert_eq!(
        app.sql_count("SELECT sum(mass_g)::bigint AS count FROM flow_rollups")
            .await,
        160_000
    );
    let _ = donor_org;

    // The rest (3) reserved and cancelled: every unit and every cent comes back.
    let rest = reserve(&app, &maker, &listing, 3).await;
    assert_eq!(rest.status, 201, "{}", rest.body);
    let full = app
        .get(
            &format!("/api/v1/listings/{}", listing["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(full.body["status"], "reserved");
    assert_eq!(account(&app, &maker).await["held"].as_i64(), Some(4500));
    let too_much = reserve(&app, &stranger, &listing, 1).await;
    assert_eq!(too_much.status, 409);
    let cancelled = app
        .post(
            &format!(
                "/api/v1/reservations/{}/cancel",
                rest.body["id"].as_str().unwrap()
            ),
            Some(&donor),
            &json!({}),
        )
        .await;
    assert_eq!(cancelled.status, 200, "{}", cancelled.body);
    assert_eq!(cancelled.body["status"], "cancelled");
    let reopened = app
        .get(
            &format!("/api/v1/listings/{}", listing["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(reopened.body["status"], "available");
    assert_eq!(reopened.body["quantity_available"], 3);
    let back = account(&app, &maker).await;
    assert_eq!(
        (back["balance"].as_i64(), back["held"].as_i64()),
        (Some(92_500), Some(0))
    );

    // The makerspace confirms receipt once, within the window.
    let confirm = format!("/api/v1/reservations/{id}/confirm");
    let maker = app.login("kim@makerspace.test").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    assert_eq!(
        app.post(&confirm, Some(&donor), &json!({})).await.status,
        403
    );
    let confirmed = app
        .post(&confirm, Some(&maker), &json!({"note": "all five fine"}))
        .await;
    assert_eq!(confirmed.status, 200, "{}", confirmed.body);
    assert_eq!(confirmed.body["confirmation"], "confirmed");
    assert_eq!(
        app.post(&confirm, Some(&maker), &json!({})).await.status,
        409
    );
}

#[actix_web::test]
async fn held_reservations_expire_and_release_their_quantity() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    let (donor, _) = app
        .verified_member("sanne@sloop.test", "contractor", &broker)
        .await;
    let (maker, _) = app
        .verified_member("kim@makerspace.test", "makerspace", &broker)
        .await;
    let passport = create_passport(&app, &donor, &doors_passport()).await;
    let listing = create_listing(&app, &donor, &offer(&passport["id"], 4, 0)).await;
    let held = reserve(&app, &maker, &listing, 4).await;
    assert_eq!(held.status, 201, "{}", held.body);
    assert_eq!(
        held.body["total_amount"], 10_000,
        "euro prices are recorded on the deal"
    );
    assert!(
        held.body["hold_transfer_id"].is_null(),
        "euros are settled outside the service"
    );
    assert_eq!(own(&app, &listing).await["status"], "reserved");
    let bad = app
        .send(
            Method::POST,
            "/api/v1/reservations",
            Some(&maker),
            Some(&json!({"listing_id": listing["id"], "quantity": 0})),
            &[("Idempotency-Key", "zero")],
        )
        .await;
    assert_eq!(bad.status, 422, "{}", bad.body);
    let unkeyed = app
        .post(
            "/api/v1/reservations",
            Some(&maker),
            &json!({"listing_id": listing["id"], "quantity": 1}),
        )
        .await;
    assert_eq!(unkeyed.status / 100, 4, "{}", unkeyed.body);
    let own_listing = reserve(&app, &donor, &listing, 1).await;
    assert_eq!(own_listing.status, 409);

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
    let listing = own(&app, &listing).await;
    assert_eq!(listing["status"], "available");
    assert_eq!(listing["quantity_available"], 4);
}

async fn own(app: &TestApp, listing: &Value) -> Value {
    app.get(
        &format!("/api/v1/listings/{}", listing["id"].as_str().unwrap()),
        None,
    )
    .await
    .body
}
