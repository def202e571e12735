//! The local currency: configuration, accounts, payments, issuance, reversals, holds,
//! idempotency keys, demurrage, and the ledger's invariants under concurrent load.

use crate::support::*;
use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection};
use kringloop::app::error::{AppError, Conflict};
use kringloop::app::ledger;
use kringloop::domain::ledger::{Amount, Month};
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use uuid::Uuid;

const TRANSFERS: &str = "/api/v1/transfers";
const ISSUANCE: &str = "/api/v1/admin/issuance";

/// A response with its exact body bytes, for comparing replays byte for byte.
struct Raw {
    status: u16,
    replayed: bool,
    bytes: Vec<u8>,
}

impl Raw {
    fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes).unwrap_or(Value::Null)
    }
}

/// A POST under the given idempotency key (or none), its answer kept byte for byte.
async fn post_raw(app: &TestApp, path: &str, token: &str, key: Option<&str>, body: &Value) -> Raw {
    let mut request = app.client.post(app.url(path)).bearer_auth(token).json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let replayed = response
        .headers()
        .get("idempotency-replayed")
        .is_some_and(|v| v == "true");
    let bytes = response.bytes().await.unwrap().to_vec();
    Raw {
        status,
        replayed,
        bytes,
    }
}

async fn pay(app: &TestApp, token: &str, to: &str, amount: i64) -> Raw {
    post_raw(
        app,
        TRANSFERS,
        token,
        Some(&Uuid::now_v7().to_string()),
        &json!({"to_organisation_id": to, "amount": amount}),
    )
    .await
}

/// A transfer under a key of the test's choosing, answered as JSON.
async fn transfer(app: &TestApp, token: Option<&str>, key: &str, body: &Value) -> Response {
    app.send(
        Method::POST,
        TRANSFERS,
        token,
        Some(body),
        &[("Idempotency-Key", key)],
    )
    .await
}

async fn audit(app: &TestApp) -> BTreeMap<&'static str, i64> {
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    kringloop::db::ledger::audit(&mut conn).await.unwrap()
}

fn assert_sound(audit: &BTreeMap<&'static str, i64>) {
    assert!(
        audit.values().all(|v| *v == 0),
        "ledger invariants broken: {audit:?}"
    );
}

async fn put_currency(
    app: &TestApp,
    token: Option<&str>,
    if_match: Option<&str>,
    body: Value,
) -> Response {
    let headers: Vec<(&str, &str)> = if_match.map(|v| ("If-Match", v)).into_iter().collect();
    app.send(
        Method::PUT,
        "/api/v1/admin/currency",
        token,
        Some(&body),
        &headers,
    )
    .await
}

fn uuid(value: &Value) -> Uuid {
    value.as_str().unwrap().parse().unwrap()
}

/// The Hague's pen: other settings than the seeded currency's.
fn haagse_pen() -> Value {
    json!({
        "code": "HGP", "name": "Haagse Pen", "decimals": 2, "eur_rate_micros": 1_000_000,
        "demurrage_bp_per_month": 50,
        "issuance_policy": {"default_per_kg": 10, "per_category": {"wood": 40, "doors": 200}}
    })
}

#[actix_web::test]
async fn the_currency_is_public() {
    let app = TestApp::spawn().await;
    let currency = app.get("/api/v1/currency", None).await;
    assert_eq!(currency.status, 200, "{}", currency.body);
    assert_eq!(currency.body["code"], "KRL");
    assert_eq!(currency.body["decimals"], 2);
    assert_eq!(currency.headers["etag"], "\"1\"");
}

#[actix_web::test]
async fn only_brokers_configure_the_currency_and_only_its_current_version() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let (broker, member) = (market.broker.as_str(), market.maker.token.as_str());
    put_currency(&app, None, Some("\"1\""), haagse_pen())
        .await
        .assert_problem(401, "unauthenticated");
    put_currency(&app, Some(member), Some("\"1\""), haagse_pen())
        .await
        .assert_problem(403, "forbidden");
    put_currency(&app, Some(broker), None, haagse_pen())
        .await
        .assert_problem(428, "precondition-required");
    put_currency(&app, Some(broker), Some("\"7\""), haagse_pen())
        .await
        .assert_problem(412, "precondition-failed");
}

#[actix_web::test]
async fn bad_currency_settings_are_a_422_for_each_field() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    let bad = put_currency(
        &app,
        Some(&broker),
        Some("\"1\""),
        json!({"code": "h", "name": "", "decimals": 9, "demurrage_bp_per_month": 0,
               "issuance_policy": {"default_per_kg": -1, "per_category": {"no-such-thing": 5}}}),
    )
    .await;
    bad.assert_problem(422, "validation");
    assert_eq!(
        bad.body["errors"].as_array().unwrap().len(),
        5,
        "{}",
        bad.body
    );
    let unknown = put_currency(
        &app,
        Some(&broker),
        Some("\"1\""),
        json!({"code": "HGP", "name": "Haagse Pen", "decimals": 2,
               "issuance_policy": {"default_per_kg": 0, "per_category": {"no-such-thing": 5}}}),
    )
    .await;
    unknown.assert_problem(422, "validation");
    assert_eq!(unknown.body["errors"][0]["code"], "unknown_category");
}

#[actix_web::test]
async fn brokers_change_the_currency() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    let changed = put_currency(&app, Some(&broker), Some("\"1\""), haagse_pen()).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["code"], "HGP");
    assert_eq!(changed.body["version"], 2);
    assert_eq!(
        changed.body["issuance_policy"]["per_category"]["doors"],
        200
    );
    let read = app.get("/api/v1/currency", None).await;
    assert_eq!(read.body, changed.body);
}

#[actix_web::test]
async fn once_money_has_moved_code_and_decimals_are_fixed() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let broker = Some(market.broker.as_str());
    let changed = put_currency(&app, broker, Some("\"1\""), haagse_pen()).await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    market.fund(&app, &market.donor, 100).await;
    let mut other_decimals = haagse_pen();
    other_decimals["decimals"] = json!(3);
    put_currency(&app, broker, Some("\"2\""), other_decimals)
        .await
        .assert_problem(409, "currency-in-use");
    // The rest may change.
    let mut renamed = haagse_pen();
    renamed["name"] = json!("De Haagse Pen");
    renamed["issuance_policy"] = json!({"default_per_kg": 0});
    let renamed = put_currency(&app, broker, Some("\"2\""), renamed).await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    assert_eq!(renamed.body["issuance_policy"]["per_category"], json!({}));
}

/// A market whose makerspace was given 100.00 and paid the contractor 25.00 of it.
async fn paid(app: &TestApp) -> Market {
    let market = Market::open(app).await;
    market.fund(app, &market.maker, 10_000).await;
    let paid = pay(app, &market.maker.token, &market.donor.org, 2_500).await;
    assert_eq!(paid.status, 201, "{}", paid.json());
    market
}

#[actix_web::test]
async fn payments_move_money_between_verified_organisations() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let (maker, donor) = (&market.maker, &market.donor);

    assert_eq!(balance(&app, maker).await, (0, 0));
    market.fund(&app, maker, 10_000).await;
    assert_eq!(balance(&app, maker).await, (10_000, 0));

    let paid = pay(&app, &maker.token, &donor.org, 2_500).await;
    assert_eq!(paid.status, 201, "{}", paid.json());
    let transfer = paid.json();
    assert_eq!(transfer["kind"], "payment");
    assert_eq!(transfer["status"], "posted");
    assert_eq!(transfer["amount"], 2_500);
    assert_eq!(transfer["currency"], "KRL");
    assert_eq!(transfer["from"]["organisation_id"], maker.org.as_str());
    assert_eq!(transfer["to"]["organisation_id"], donor.org.as_str());
    assert_eq!(balance(&app, maker).await, (7_500, 0));
    assert_eq!(balance(&app, donor).await, (2_500, 0));

    // The payee is told.
    let feed = app.get("/api/v1/notifications", Some(&donor.token)).await;
    assert_eq!(
        feed.body["items"][0]["event"], "ledger_payment_received",
        "{}",
        feed.body
    );
    assert_eq!(feed.body["items"][0]["payload"]["amount"], 2_500);
    assert_sound(&audit(&app).await);
}

#[actix_web::test]
async fn payments_that_cannot_be_made_are_refused_and_move_nothing() {
    let app = TestApp::spawn().await;
    let market = paid(&app).await;
    let unverified = unverified(&app, "new@builder.test", "builder").await;
    let (maker, donor_org) = (Some(market.maker.token.as_str()), &market.donor.org);

    pay(&app, &market.maker.token, donor_org, 7_501).await;
    transfer(
        &app,
        maker,
        "over-1",
        &json!({"to_organisation_id": donor_org, "amount": 7_501}),
    )
    .await
    .assert_problem(409, "insufficient-funds");
    let to_self = transfer(
        &app,
        maker,
        "self-1",
        &json!({"to_organisation_id": market.maker.org, "amount": 0}),
    )
    .await;
    to_self.assert_problem(422, "validation");
    assert_eq!(to_self.body["errors"].as_array().unwrap().len(), 2);
    transfer(
        &app,
        maker,
        "nobody-1",
        &json!({"to_organisation_id": Uuid::now_v7(), "amount": 5}),
    )
    .await
    .assert_problem(404, "not-found");
    transfer(
        &app,
        Some(&unverified.token),
        "unverified-1",
        &json!({"to_organisation_id": donor_org, "amount": 5}),
    )
    .await
    .assert_problem(403, "not-verified");
    transfer(
        &app,
        None,
        "anonymous-1",
        &json!({"to_organisation_id": donor_org, "amount": 5}),
    )
    .await
    .assert_problem(401, "unauthenticated");
    transfer(
        &app,
        maker,
        "memo-1",
        &json!({"to_organisation_id": donor_org, "amount": 5, "memo": "x".repeat(501)}),
    )
    .await
    .assert_problem(422, "validation");
    transfer(
        &app,
        maker,
        "type-1",
        &json!({"to_organisation_id": donor_org, "amount": "5"}),
    )
    .await
    .assert_problem(422, "validation");
    assert_eq!(balance(&app, &market.maker).await, (7_500, 0));
    assert_sound(&audit(&app).await);
}

#[actix_web::test]
async fn entries_come_newest_first_in_pages_naming_the_counterparty() {
    let app = TestApp::spawn().await;
    let market = paid(&app).await;
    let maker = Some(market.maker.token.as_str());
    let first = app.get("/api/v1/accounts/me/entries?limit=1", maker).await;
    assert_eq!(first.status, 200, "{}", first.body);
    assert_eq!(first.body["items"][0]["amount"], -2_500);
    assert_eq!(first.body["items"][0]["balance_after"], 7_500);
    assert_eq!(
        first.body["items"][0]["counterparty"]["organisation_id"],
        market.donor.org.as_str()
    );
    let cursor = first.body["next_cursor"].as_str().unwrap();
    let second = app
        .get(
            &format!("/api/v1/accounts/me/entries?limit=1&cursor={cursor}"),
            maker,
        )
        .await;
    assert_eq!(second.body["items"][0]["amount"], 10_000);
    assert_eq!(second.body["items"][0]["kind"], "issuance");
    assert_eq!(
        second.body["items"][0]["counterparty"]["system"],
        "issuance"
    );
    assert!(second.body["next_cursor"].is_null());
    // Nobody else's.
    let theirs = app
        .get("/api/v1/accounts/me/entries", Some(&market.donor.token))
        .await;
    assert_eq!(theirs.items().len(), 1);
    assert_eq!(theirs.body["items"][0]["amount"], 2_500);
    app.get("/api/v1/accounts/me/entries?cursor=nope", maker)
        .await
        .assert_problem(400, "bad-request");
    app.get("/api/v1/accounts/me/entries", None)
        .await
        .assert_problem(401, "unauthenticated");
    app.get("/api/v1/accounts/me", None)
        .await
        .assert_problem(401, "unauthenticated");
}

/// Payments that arrive together are made together (`app::payments`): one refused among them
/// must refuse only itself, and every one made must show in the payee's entries in turn.
#[actix_web::test]
async fn payments_made_together_refuse_only_the_unfunded() {
    let app = Arc::new(TestApp::spawn().await);
    let broker = app.broker().await;
    let payee = verified(&app, &broker, "shop@city.test", "makerspace").await;
    let payee_org = payee.org.clone();
    let mut payers = Vec::new();
    for i in 0..18 {
        let payer = verified(&app, &broker, &format!("payer{i}@together.test"), "builder").await;
        // Two of every three can pay.
        if i % 3 != 2 {
            issue(&app, &broker, &payer.org, 1_000).await;
        }
        payers.push(payer.token);
    }
    let answers = futures_util::future::join_all(payers.iter().map(|token| {
        let (app, payee_org) = (app.clone(), payee_org.clone());
        async move { pay(&app, token, &payee_org, 100).await }
    }))
    .await;
    for (i, answer) in answers.iter().enumerate() {
        if i % 3 != 2 {
            assert_eq!(answer.status, 201, "payer {i}: {}", answer.json());
        } else {
            assert_eq!(answer.status, 409, "payer {i}: {}", answer.json());
            assert_eq!(
                answer.json()["type"],
                "urn:kringloop:problem:insufficient-funds"
            );
        }
    }
    assert_eq!(balance(&app, &payee).await, (1_200, 0));
    // Now every one of them can pay.
    let funded: Vec<&String> = payers
        .iter()
        .step_by(3)
        .chain(payers.iter().skip(1).step_by(3))
        .collect();
    let answers = futures_util::future::join_all(funded.iter().map(|token| {
        let (app, payee_org) = (app.clone(), payee_org.clone());
        async move { pay(&app, token, &payee_org, 100).await }
    }))
    .await;
    for answer in &answers {
        assert_eq!(answer.status, 201, "{}", answer.json());
    }
    assert_eq!(balance(&app, &payee).await, (2_400, 0));
    let entries = app
        .get("/api/v1/accounts/me/entries?limit=100", Some(&payee.token))
        .await;
    assert_eq!(entries.status, 200, "{}", entries.body);
    let mut after: Vec<i64> = entries.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|entry| entry["balance_after"].as_i64().unwrap())
        .collect();
    after.sort_unstable();
    assert_eq!(after, (1..=24).map(|n| n * 100).collect::<Vec<_>>());
    assert_sound(&audit(&app).await);
}

/// A market whose makerspace has 10.00, and a payment of 1.00 to the contractor.
async fn about_to_pay(app: &TestApp) -> (Market, Value) {
    let market = Market::open(app).await;
    market.fund(app, &market.maker, 1_000).await;
    let body = json!({"to_organisation_id": market.donor.org, "amount": 100, "memo": "doors"});
    (market, body)
}

#[actix_web::test]
async fn missing_and_malformed_idempotency_keys_are_a_400() {
    let app = TestApp::spawn().await;
    let (market, body) = about_to_pay(&app).await;
    let maker = Some(market.maker.token.as_str());
    app.send(Method::POST, TRANSFERS, maker, Some(&body), &[])
        .await
        .assert_problem(400, "idempotency-key-missing");
    for bad in ["", "with space", &"k".repeat(256)] {
        transfer(&app, maker, bad, &body)
            .await
            .assert_problem(400, "idempotency-key-invalid");
    }
}

#[actix_web::test]
async fn a_replay_answers_byte_for_byte_as_the_first_and_moves_money_once() {
    let app = TestApp::spawn().await;
    let (market, body) = about_to_pay(&app).await;
    let maker = &market.maker.token;
    let first = post_raw(&app, TRANSFERS, maker, Some("pay-doors-1"), &body).await;
    assert_eq!(first.status, 201, "{}", first.json());
    assert!(!first.replayed);
    // The same request again, with its keys in another order: the first answer, once more.
    let reordered = json!({"memo": "doors", "amount": 100, "to_organisation_id": market.donor.org});
    let again = post_raw(&app, TRANSFERS, maker, Some("pay-doors-1"), &reordered).await;
    assert_eq!(again.status, 201);
    assert!(again.replayed);
    assert_eq!(again.bytes, first.bytes, "a replay is byte-identical");
    assert_eq!(balance(&app, maker).await, (900, 0), "money moved once");
    assert_sound(&audit(&app).await);
}

#[actix_web::test]
async fn a_key_reused_for_another_request_is_a_422() {
    let app = TestApp::spawn().await;
    let (market, body) = about_to_pay(&app).await;
    let maker = Some(market.maker.token.as_str());
    assert_eq!(
        transfer(&app, maker, "pay-doors-1", &body).await.status,
        201
    );
    transfer(
        &app,
        maker,
        "pay-doors-1",
        &json!({"to_organisation_id": market.donor.org, "amount": 101}),
    )
    .await
    .assert_problem(422, "idempotency-key-reused");
}

#[actix_web::test]
async fn a_refused_request_keeps_nothing_under_its_key() {
    let app = TestApp::spawn().await;
    let (market, _) = about_to_pay(&app).await;
    let maker = &market.maker.token;
    // Its key can be used again once the request can succeed.
    let too_much = json!({"to_organisation_id": market.donor.org, "amount": 5_000});
    let refused = post_raw(&app, TRANSFERS, maker, Some("big-1"), &too_much).await;
    assert_eq!(refused.status, 409);
    market.fund(&app, &market.maker, 5_000).await;
    let accepted = post_raw(&app, TRANSFERS, maker, Some("big-1"), &too_much).await;
    assert_eq!(accepted.status, 201, "{}", accepted.json());
    assert_sound(&audit(&app).await);
}

#[actix_web::test]
async fn idempotency_keys_are_the_organisations_own() {
    let app = TestApp::spawn().await;
    let (market, body) = about_to_pay(&app).await;
    let first = post_raw(
        &app,
        TRANSFERS,
        &market.maker.token,
        Some("pay-doors-1"),
        &body,
    )
    .await;
    assert_eq!(first.status, 201, "{}", first.json());
    // The donor's "pay-doors-1" is its own.
    let theirs = post_raw(
        &app,
        TRANSFERS,
        &market.donor.token,
        Some("pay-doors-1"),
        &json!({"to_organisation_id": market.maker.org, "amount": 1}),
    )
    .await;
    assert_eq!(theirs.status, 201, "{}", theirs.json());
    assert!(!theirs.replayed);
}

#[actix_web::test]
async fn concurrent_duplicates_have_one_effect_and_one_answer() {
    let app = TestApp::spawn().await;
    let (market, _) = about_to_pay(&app).await;
    let body = json!({"to_organisation_id": market.donor.org, "amount": 7});
    let attempts = futures_util::future::join_all((0..6).map(|_| {
        post_raw(
            &app,
            TRANSFERS,
            &market.maker.token,
            Some("same-time"),
            &body,
        )
    }))
    .await;
    assert!(attempts
        .iter()
        .all(|raw| raw.status == 201 && raw.bytes == attempts[0].bytes));
    assert_eq!(attempts.iter().filter(|raw| !raw.replayed).count(), 1);
    assert_eq!(
        app.sql_count("SELECT count(*) FROM transfers WHERE amount = 7")
            .await,
        1
    );
    assert_sound(&audit(&app).await);
}

#[actix_web::test]
async fn issuance_replays_too_and_needs_a_key() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let broker = &market.broker;
    let mint = json!({"organisation_id": market.maker.org, "amount": 3, "reason": "tally"});
    let once = post_raw(&app, ISSUANCE, broker, Some("mint-1"), &mint).await;
    let twice = post_raw(&app, ISSUANCE, broker, Some("mint-1"), &mint).await;
    assert_eq!((once.status, twice.status), (201, 201));
    assert_eq!(once.bytes, twice.bytes);
    assert!(twice.replayed);
    app.send(Method::POST, ISSUANCE, Some(broker), Some(&mint), &[])
        .await
        .assert_problem(400, "idempotency-key-missing");
    assert_eq!(balance(&app, &market.maker).await, (3, 0));
}

#[actix_web::test]
async fn idempotency_keys_are_kept_24_hours_and_then_forgotten() {
    let app = TestApp::spawn().await;
    let (market, body) = about_to_pay(&app).await;
    for key in ["pay-1", "pay-2", "pay-3", "pay-4"] {
        let paid = transfer(&app, Some(&market.maker.token), key, &body).await;
        assert_eq!(paid.status, 201, "{}", paid.body);
    }
    let keys = app.sql_count("SELECT count(*) FROM idempotency_keys").await;
    assert!(keys >= 5);
    app.clock.advance(Duration::hours(23));
    let (_, _, purged) = kringloop::jobs::housekeeping::run_once(&app.ctx)
        .await
        .unwrap();
    assert_eq!(purged, 0);
    app.clock.advance(Duration::hours(2));
    let (_, _, purged) = kringloop::jobs::housekeeping::run_once(&app.ctx)
        .await
        .unwrap();
    assert_eq!(purged as i64, keys);
}

#[actix_web::test]
async fn only_brokers_issue_and_only_for_a_reason() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let mint =
        |reason: &str| json!({"organisation_id": market.maker.org, "amount": 5, "reason": reason});
    for token in [&market.maker.token, &market.donor.token] {
        app.send(
            Method::POST,
            ISSUANCE,
            Some(token),
            Some(&mint("myself")),
            &[("Idempotency-Key", "self-mint")],
        )
        .await
        .assert_problem(403, "forbidden");
    }
    app.send(
        Method::POST,
        ISSUANCE,
        Some(&market.broker),
        Some(&mint(" ")),
        &[("Idempotency-Key", "no-reason")],
    )
    .await
    .assert_problem(422, "validation");
    assert_eq!(balance(&app, &market.maker).await, (0, 0));
}

/// A market whose makerspace was given 10.00 and paid 4.00 of it to the contractor; returns
/// the payment.
async fn paid_four(app: &TestApp) -> (Market, Value) {
    let market = Market::open(app).await;
    market.fund(app, &market.maker, 1_000).await;
    let paid = pay(app, &market.maker.token, &market.donor.org, 400).await;
    assert_eq!(paid.status, 201, "{}", paid.json());
    (market, paid.json())
}

fn reversal_of(transfer: &Value) -> String {
    format!(
        "/api/v1/admin/transfers/{}/reverse",
        transfer["id"].as_str().unwrap()
    )
}

#[actix_web::test]
async fn brokers_correct_a_transfer_by_reversing_it_once() {
    let app = TestApp::spawn().await;
    let (market, paid) = paid_four(&app).await;
    let path = reversal_of(&paid);
    let reason = json!({"reason": "paid the wrong organisation"});
    let broker = Some(market.broker.as_str());

    app.post(&path, Some(&market.maker.token), &reason)
        .await
        .assert_problem(403, "forbidden");
    app.post(&path, None, &reason)
        .await
        .assert_problem(401, "unauthenticated");
    app.post(
        &format!("/api/v1/admin/transfers/{}/reverse", Uuid::now_v7()),
        broker,
        &reason,
    )
    .await
    .assert_problem(404, "not-found");

    let reversed = app.post(&path, broker, &reason).await;
    assert_eq!(reversed.status, 201, "{}", reversed.body);
    assert_eq!(reversed.body["kind"], "reversal");
    assert_eq!(reversed.body["reverses_id"], paid["id"]);
    assert_eq!(
        reversed.body["from"]["organisation_id"],
        market.donor.org.as_str()
    );
    assert_eq!(balance(&app, &market.maker).await, (1_000, 0));
    assert_eq!(balance(&app, &market.donor).await, (0, 0));
    app.post(&path, broker, &reason)
        .await
        .assert_problem(409, "already-reversed");
    app.post(&reversal_of(&reversed.body), broker, &reason)
        .await
        .assert_problem(409, "not-reversible");
    assert_sound(&audit(&app).await);
}

#[actix_web::test]
async fn a_reversal_needs_the_payees_funds() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    market.fund(&app, &market.maker, 1_000).await;
    // Spent money is not taken back into overdraft.
    let paid = pay(&app, &market.maker.token, &market.donor.org, 300)
        .await
        .json();
    pay(&app, &market.donor.token, &market.maker.org, 200).await;
    app.post(
        &reversal_of(&paid),
        Some(&market.broker),
        &json!({"reason": "paid the wrong organisation"}),
    )
    .await
    .assert_problem(409, "insufficient-funds");
    assert_sound(&audit(&app).await);
}

#[actix_web::test]
async fn transfers_are_immutable_whatever_sql_tries() {
    let app = TestApp::spawn().await;
    let (_, paid) = paid_four(&app).await;
    let id = paid["id"].as_str().unwrap();
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    for statement in [
        format!("UPDATE transfers SET amount = 1 WHERE id = '{id}'"),
        format!("UPDATE transfers SET status = 'voided', voided_at = now(), posted_at = NULL WHERE id = '{id}'"),
        format!("DELETE FROM transfers WHERE id = '{id}'"),
    ] {
        let result = diesel_async::RunQueryDsl::execute(diesel::sql_query(&statement), &mut conn).await;
        assert!(result.is_err(), "{statement} was allowed");
    }
    assert_sound(&audit(&app).await);
}

/// Sets an organisation's credit limit; the answer is the test's to judge.
async fn credit_limit(app: &TestApp, token: &str, org: &str, limit: i64) -> Response {
    app.put(
        &format!("/api/v1/admin/accounts/{org}/credit-limit"),
        Some(token),
        &json!({"credit_limit": limit}),
    )
    .await
}

#[actix_web::test]
async fn only_brokers_set_credit_limits_and_only_valid_ones() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let (broker, maker) = (&market.broker, &market.maker);
    credit_limit(&app, &maker.token, &maker.org, 500)
        .await
        .assert_problem(403, "forbidden");
    credit_limit(&app, broker, &maker.org, -1)
        .await
        .assert_problem(422, "validation");
    credit_limit(&app, broker, &Uuid::now_v7().to_string(), 5)
        .await
        .assert_problem(404, "not-found");
}

#[actix_web::test]
async fn credit_limits_are_kept_by_the_database() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let (broker, maker, donor_org) = (&market.broker, &market.maker, &market.donor.org);
    let set = credit_limit(&app, broker, &maker.org, 500).await;
    assert_eq!(set.status, 200, "{}", set.body);
    assert_eq!(set.body["spendable"], 500);

    assert_eq!(pay(&app, &maker.token, donor_org, 500).await.status, 201);
    let account = account(&app, maker).await;
    assert_eq!(
        (account["balance"].as_i64(), account["spendable"].as_i64()),
        (Some(-500), Some(0))
    );
    assert_eq!(pay(&app, &maker.token, donor_org, 1).await.status, 409);
    // A limit below what is already used is refused.
    credit_limit(&app, broker, &maker.org, 100)
        .await
        .assert_problem(409, "insufficient-funds");
    assert_sound(&audit(&app).await);
}

#[actix_web::test]
async fn holds_are_posted_or_voided_exactly_once() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    market.fund(&app, &market.maker, 1_000).await;
    let (from, to) = (market.maker.org_uuid(), market.donor.org_uuid());
    let (maker, donor, donor_org) = (market.maker.token, market.donor.token, market.donor.org);
    let now = app.ctx.now();

    let hold = async |amount: i64| {
        let mut conn = app.ctx.conn().await.unwrap();
        conn.transaction::<_, AppError, _>(async move |conn| {
            ledger::money::hold(
                conn,
                from,
                to,
                Amount::parse(amount).unwrap(),
                "reservation-1",
                now,
            )
            .await
        })
        .await
    };
    let settle = async |id: Uuid, posted: bool| {
        let mut conn = app.ctx.conn().await.unwrap();
        conn.transaction::<_, AppError, _>(async move |conn| {
            if posted {
                ledger::money::post(conn, id, now).await
            } else {
                ledger::money::void(conn, id, now).await
            }
        })
        .await
    };

    let first = hold(600).await.unwrap();
    assert_eq!(balance(&app, &maker).await, (1_000, 600));
    let refused = hold(401).await.unwrap_err();
    assert!(
        matches!(
            refused,
            AppError::Conflict {
                kind: Conflict::InsufficientFunds,
                ..
            }
        ),
        "{refused:?}"
    );
    // The payer cannot spend what is held.
    assert_eq!(pay(&app, &maker, &donor_org, 401).await.status, 409);

    let posted = settle(first, true).await.unwrap();
    assert_eq!(posted.status, "posted");
    assert_eq!(balance(&app, &maker).await, (400, 0));
    assert_eq!(balance(&app, &donor).await, (600, 0));
    for posted in [true, false] {
        let again = settle(first, posted).await.unwrap_err();
        assert!(
            matches!(
                again,
                AppError::Conflict {
                    kind: Conflict::TransferSettled,
                    ..
                }
            ),
            "{again:?}"
        );
    }

    let second = hold(400).await.unwrap();
    assert_eq!(balance(&app, &maker).await, (400, 400));
    settle(second, false).await.unwrap();
    assert_eq!(balance(&app, &maker).await, (400, 0));
    assert!(settle(second, true).await.is_err());
    assert!(matches!(
        settle(Uuid::now_v7(), true).await,
        Err(AppError::NotFound(_))
    ));

    // Both sides heard of it.
    let maker_events = feed_events(&app, &maker).await;
    for event in [
        "ledger_hold_placed",
        "ledger_hold_posted",
        "ledger_hold_voided",
    ] {
        assert!(
            maker_events.iter().any(|e| e == event),
            "{event} in {maker_events:?}"
        );
    }
    assert!(feed_events(&app, &donor)
        .await
        .iter()
        .any(|e| e == "ledger_hold_posted"));
    assert_sound(&audit(&app).await);
}

#[actix_web::test]
async fn the_policy_pays_per_kg_by_the_nearest_category_rate() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    set_currency(
        &app,
        &market.broker,
        &json!({"code": "KRL", "name": "Kringloop", "decimals": 2,
                "issuance_policy": {"default_per_kg": 5,
                                    "per_category": {"wood": 40, "wood-beams": 120}}}),
    )
    .await;
    let cases = [
        ("wood-beams", 2_500, 300), // own rate: 120 × 2.5 kg
        ("wood-planks", 1_999, 79), // the parent's rate: 40 × 1.999 kg = 79.96, rounded down
        ("glass", 10_000, 50),      // the default
        ("glass", 150, 0),          // 0.75 rounds down to nothing
    ];
    for (code, grams, expected) in cases {
        let id = category_id(&app, code).await;
        let mut conn = app.ctx.conn().await.unwrap();
        let amount = conn
            .transaction::<_, AppError, _>(async move |conn| {
                ledger::issuance::policy_amount(conn, id, grams).await
            })
            .await
            .unwrap();
        assert_eq!(amount, expected, "{code} {grams} g");
    }
    assert_sound(&audit(&app).await);
}

#[actix_web::test]
async fn demurrage_charges_idle_balances_once_a_month() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    // Money arrives in one month; in the next the donor spends half, so only the 5 000 that
    // stayed all that month is idle; the maker held 10 000 all month (what it received came
    // on top).
    // Months in the past, whatever today's date: the tokens made now must not have expired
    // by the clock's first step.
    let month = Month::of(Utc::now() - Duration::days(70));
    app.clock.set(month.start() + Duration::days(9));
    market.fund(&app, &market.maker, 10_000).await;
    market.fund(&app, &market.donor, 10_000).await;
    app.clock.set(month.next().start() + Duration::days(4));
    let donor = app.token(Market::DONOR).await;
    pay(&app, &donor, &market.maker.org, 5_000).await;

    // Without a rate, nothing happens.
    app.clock
        .set(month.next().next().start() + Duration::hours(1));
    assert_eq!(
        ledger::demurrage::charge_demurrage(&app.ctx).await.unwrap(),
        0
    );
    let broker = app.broker().await;
    let (maker, donor) = (
        app.token(Market::MAKER).await,
        app.token(Market::DONOR).await,
    );
    let put = app
        .send(
            Method::PUT,
            "/api/v1/admin/currency",
            Some(&broker),
            Some(&json!({"code": "KRL", "name": "Kringloop", "decimals": 2,
                         "demurrage_bp_per_month": 100,
                         "issuance_policy": {"default_per_kg": 0}})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(put.status, 200, "{}", put.body);

    // Two instances at once, and again later: each account is charged once for the month.
    let (a, b) = futures_util::future::join(
        ledger::demurrage::charge_demurrage(&app.ctx),
        ledger::demurrage::charge_demurrage(&app.ctx),
    )
    .await;
    assert_eq!(a.unwrap() + b.unwrap(), 2);
    assert_eq!(balance(&app, &maker).await, (15_000 - 100, 0));
    assert_eq!(balance(&app, &donor).await, (5_000 - 50, 0));
    let entries = app
        .get("/api/v1/accounts/me/entries", Some(&maker))
        .await
        .body;
    assert_eq!(entries["items"][0]["kind"], "demurrage");
    assert_eq!(entries["items"][0]["counterparty"]["system"], "demurrage");
    app.clock.advance(Duration::days(3));
    assert_eq!(
        ledger::demurrage::charge_demurrage(&app.ctx).await.unwrap(),
        0
    );
    assert_eq!(
        app.sql_count("SELECT count(*) FROM transfers WHERE kind = 'demurrage'")
            .await,
        2
    );
    assert_sound(&audit(&app).await);
}

/// A small deterministic generator, so that a failing run can be repeated from its seed.
struct XorShift(u64);

impl XorShift {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }
}

#[derive(Default)]
struct Shared {
    pending: Vec<Uuid>,
    posted: Vec<Uuid>,
    statuses: BTreeMap<u16, usize>,
    replays: usize,
}

/// Many clients at once: payments, issuance and reversals over HTTP (some sent twice with
/// the same Idempotency-Key, some twice at the same moment), holds posted and voided through
/// the ledger functions. Afterwards every invariant of the ledger holds.
#[actix_web::test]
async fn the_ledger_balances_under_concurrent_load() {
    let seed: u64 = std::env::var("LEDGER_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(0x5eed_1ed9);
    let app = Arc::new(TestApp::spawn().await);
    let broker = app.broker().await;
    let mut orgs = Vec::new();
    for i in 0..5 {
        let member = verified(&app, &broker, &format!("org{i}@ledger.test"), "builder").await;
        issue(&app, &broker, &member.org, 5_000).await;
        orgs.push((member.token, member.org));
    }
    // Two may go into overdraft.
    for (_, org) in &orgs[..2] {
        let set = credit_limit(&app, &broker, org, 2_000).await;
        assert_eq!(set.status, 200);
    }
    let orgs = Arc::new(orgs);
    let shared = Arc::new(Mutex::new(Shared::default()));
    let tasks = 12;
    let steps = 30;
    let mut handles = Vec::new();
    for task in 0..tasks {
        let app = app.clone();
        let orgs = orgs.clone();
        let shared = shared.clone();
        let broker = broker.clone();
        handles.push(actix_web::rt::spawn(async move {
            let mut rng = XorShift(seed ^ (task as u64 + 1).wrapping_mul(0x9e37_79b9_7f4a_7c15));
            for step in 0..steps {
                let from = rng.below(orgs.len() as u64) as usize;
                let to = (from + 1 + rng.below(orgs.len() as u64 - 1) as usize) % orgs.len();
                let amount = 1 + rng.below(1_500) as i64;
                let key = format!("t{task}-s{step}");
                let record = |status: u16| {
                    assert!(status < 500, "a 5xx answer");
                    *shared.lock().unwrap().statuses.entry(status).or_default() += 1;
                };
                match rng.below(10) {
                    0..=3 => {
                        let body = json!({"to_organisation_id": orgs[to].1, "amount": amount});
                        let token = &orgs[from].0;
                        let first = if rng.below(4) == 0 {
                            // The same request twice at the same moment.
                            let (a, b) = futures_util::future::join(
                                post_raw(&app, TRANSFERS, token, Some(&key), &body),
                                post_raw(&app, TRANSFERS, token, Some(&key), &body),
                            )
                            .await;
                            // A refused request stores nothing, so its twin may then go
                            // through; two successes are one effect with one answer.
                            if a.status == 201 && b.status == 201 {
                                assert_eq!(a.bytes, b.bytes, "concurrent duplicates differ");
                                assert!(a.replayed != b.replayed, "exactly one is the first");
                            }
                            record(b.status);
                            if b.status == 201 {
                                b
                            } else {
                                a
                            }
                        } else {
                            post_raw(&app, TRANSFERS, token, Some(&key), &body).await
                        };
                        record(first.status);
                        if first.status == 201 {
                            assert_eq!(first.json()["amount"], amount);
                            shared
                                .lock()
                                .unwrap()
                                .posted
                                .push(uuid(&first.json()["id"]));
                            if rng.below(3) == 0 {
                                let again =
                                    post_raw(&app, TRANSFERS, token, Some(&key), &body).await;
                                assert_eq!(again.status, 201);
                                assert!(again.replayed);
                                assert_eq!(again.bytes, first.bytes, "a replay differs");
                                shared.lock().unwrap().replays += 1;
                            }
                        } else {
                            assert_eq!(first.status, 409, "{}", first.json());
                            assert_eq!(
                                first.json()["type"],
                                "urn:kringloop:problem:insufficient-funds"
                            );
                        }
                    }
                    4 => {
                        let body = json!({"organisation_id": orgs[to].1, "amount": amount,
                                          "reason": "diverted"});
                        let first = post_raw(&app, ISSUANCE, &broker, Some(&key), &body).await;
                        record(first.status);
                        assert_eq!(first.status, 201);
                        let again = post_raw(&app, ISSUANCE, &broker, Some(&key), &body).await;
                        assert_eq!(again.bytes, first.bytes);
                        shared.lock().unwrap().replays += 1;
                    }
                    5 | 6 => {
                        let (payer, payee) = (uuid(&json!(orgs[from].1)), uuid(&json!(orgs[to].1)));
                        let now = app.ctx.now();
                        let mut conn = app.ctx.conn().await.unwrap();
                        let held = conn
                            .transaction::<_, AppError, _>(async move |conn| {
                                ledger::money::hold(
                                    conn,
                                    payer,
                                    payee,
                                    Amount::parse(amount).unwrap(),
                                    "r",
                                    now,
                                )
                                .await
                            })
                            .await;
                        match held {
                            Ok(id) => shared.lock().unwrap().pending.push(id),
                            Err(AppError::Conflict {
                                kind: Conflict::InsufficientFunds,
                                ..
                            }) => {}
                            Err(other) => panic!("hold: {other:?}"),
                        }
                    }
                    7 | 8 => {
                        let picked = {
                            let shared = shared.lock().unwrap();
                            let n = shared.pending.len() as u64;
                            (n > 0).then(|| shared.pending[rng.below(n) as usize])
                        };
                        if let Some(id) = picked {
                            let posted = rng.below(2) == 0;
                            let now = app.ctx.now();
                            let mut conn = app.ctx.conn().await.unwrap();
                            let settled = conn
                                .transaction::<_, AppError, _>(async move |conn| {
                                    if posted {
                                        ledger::money::post(conn, id, now).await
                                    } else {
                                        ledger::money::void(conn, id, now).await
                                    }
                                })
                                .await;
                            match settled {
                                Ok(row) if row.status == "posted" => {
                                    shared.lock().unwrap().posted.push(id)
                                }
                                Ok(_) => {}
                                Err(AppError::Conflict {
                                    kind: Conflict::TransferSettled,
                                    ..
                                }) => {}
                                Err(other) => panic!("settle: {other:?}"),
                            }
                        }
                    }
                    _ => {
                        let picked = {
                            let shared = shared.lock().unwrap();
                            let n = shared.posted.len() as u64;
                            (n > 0).then(|| shared.posted[rng.below(n) as usize])
                        };
                        if let Some(id) = picked {
                            let answer = app
                                .post(
                                    &format!("/api/v1/admin/transfers/{id}/reverse"),
                                    Some(&broker),
                                    &json!({"reason": "correction"}),
                                )
                                .await;
                            record(answer.status);
                            assert!(
                                answer.status == 201 || answer.status == 409,
                                "{}",
                                answer.body
                            );
                        }
                    }
                }
            }
        }));
    }
    for handle in handles {
        handle.await.unwrap();
    }
    let (replays, statuses) = {
        let shared = shared.lock().unwrap();
        (shared.replays, shared.statuses.clone())
    };
    assert!(replays > 0);
    assert!(
        statuses.get(&201).copied().unwrap_or(0) > 50,
        "{statuses:?}"
    );
    let report = audit(&app).await;
    assert_sound(&report);
    // Every posted money movement has exactly its two entries.
    assert_eq!(
        app.sql_count(
            "SELECT count(*) FROM transfers t WHERE t.status = 'posted' AND \
             (SELECT count(*) FROM ledger_entries e WHERE e.transfer_id = t.id) <> 2"
        )
        .await,
        0
    );
    assert_eq!(
        app.sql_count(
            "SELECT count(*) FROM ledger_entries e JOIN transfers t ON t.id = e.transfer_id \
             WHERE t.status <> 'posted'"
        )
        .await,
        0
    );
}

/// A statement reconciles line by line under concurrent payments in and out: newest first,
/// each entry's `balance_after` minus its amount is the next older entry's `balance_after`,
/// and the newest one is the account's balance.
#[actix_web::test]
async fn a_statement_reconciles_line_by_line_under_concurrent_payments() {
    let app = Arc::new(TestApp::spawn().await);
    let market = Market::open(&app).await;
    let shop = market.maker.clone();
    market.fund(&app, &shop, 5_000).await;
    let mut payers = Vec::new();
    for i in 0..12 {
        let payer = market
            .verified(&app, &format!("payer{i}@statement.test"), "builder")
            .await;
        market.fund(&app, &payer, 1_000).await;
        payers.push(payer);
    }
    for round in 0..3 {
        let ins = payers.iter().map(|payer| {
            let (app, shop) = (app.clone(), shop.org.clone());
            async move { pay(&app, &payer.token, &shop, 10 + round).await }
        });
        let outs = payers.iter().map(|payer| {
            let (app, token) = (app.clone(), shop.token.clone());
            async move { pay(&app, &token, &payer.org, 7).await }
        });
        let (ins, outs) = futures_util::future::join(
            futures_util::future::join_all(ins),
            futures_util::future::join_all(outs),
        )
        .await;
        for answer in ins.iter().chain(&outs) {
            assert_eq!(answer.status, 201, "{}", answer.json());
        }
    }
    let mut lines = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/accounts/me/entries?limit=20&cursor={cursor}"),
            None => "/api/v1/accounts/me/entries?limit=20".to_owned(),
        };
        let page = app.get(&path, Some(&shop.token)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        lines.extend(page.body["items"].as_array().unwrap().iter().map(|entry| {
            (
                entry["amount"].as_i64().unwrap(),
                entry["balance_after"].as_i64().unwrap(),
            )
        }));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    // The issuance, then 3 rounds of 12 payments in and 12 out.
    assert_eq!(lines.len(), 1 + 3 * 24);
    let (balance_now, _) = balance(&app, &shop).await;
    assert_eq!(lines[0].1, balance_now, "the newest line is the balance");
    for pair in lines.windows(2) {
        let ((amount, after), (_, older_after)) = (pair[0], pair[1]);
        assert_eq!(after - amount, older_after, "statement lines: {lines:?}");
    }
    let (oldest_amount, oldest_after) = lines[lines.len() - 1];
    assert_eq!(oldest_after - oldest_amount, 0);
    assert_sound(&audit(&app).await);
}
