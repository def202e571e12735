//! Wishes and the matcher over HTTP: standing demand, stored matches that follow both sides,
//! predicted matches, bundles, and who may see and change what.

use crate::support::*;
use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

/// A wish for 4 doors that finds a lot of 4 in stock when it is made, and later a lot of 6
/// announced for next month.
struct Wished {
    market: Market,
    wish: Value,
    available: Value,
    announced: Value,
}

async fn wished(app: &TestApp) -> Wished {
    let market = Market::open(app).await;
    let available = ListingBuilder::doors()
        .quantity(4)
        .create(app, &market.donor)
        .await;
    let wish = WishBuilder::doors().create(app, &market.maker).await;
    let announced = ListingBuilder::doors()
        .quantity(6)
        .available_in_days(30)
        .create(app, &market.donor)
        .await;
    Wished {
        market,
        wish,
        available,
        announced,
    }
}

/// The wish's match with one listing.
async fn match_with(app: &TestApp, wished: &Wished, listing: &Value) -> Value {
    let found = matches_of(app, &wished.market.maker, &wished.wish).await;
    let mine: Vec<&Value> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["listing_id"] == listing["id"])
        .collect();
    assert_eq!(mine.len(), 1, "{found}");
    mine[0].clone()
}

#[actix_web::test]
async fn a_wish_finds_current_stock_at_once_with_its_reasons() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let available = ListingBuilder::doors()
        .quantity(4)
        .create(&app, &market.donor)
        .await;

    let wish = WishBuilder::doors().create(&app, &market.maker).await;
    let found = matches_of(&app, &market.maker, &wish).await;
    let items = found["items"].as_array().unwrap();
    assert_eq!(items.len(), 1, "{found}");
    assert_eq!(items[0]["listing_id"], available["id"]);
    assert_eq!(items[0]["predicted"], false);
    assert_eq!(items[0]["status"], "open");
    assert!(items[0]["score"].as_i64().unwrap() > 500, "{found}");
    let codes: Vec<&str> = items[0]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(
        codes,
        [
            "category",
            "attributes",
            "quantity",
            "distance",
            "timing",
            "price",
            "condition"
        ]
    );
    assert!(items[0]["reasons"][3]["en"]
        .as_str()
        .unwrap()
        .contains("km"));
}

#[actix_web::test]
async fn a_lot_announced_later_is_a_predicted_match_told_to_both_sides() {
    let app = TestApp::spawn().await;
    let wished = wished(&app).await;
    let predicted = match_with(&app, &wished, &wished.announced).await;
    assert_eq!(predicted["predicted"], true);
    assert!(predicted["expected_on"].is_string());
    assert_eq!(
        app.sql_count(
            "SELECT count(*) AS count FROM outbox WHERE event = 'match_predicted' AND channel = 'in_app'"
        )
        .await,
        1
    );
    assert_eq!(
        app.sql_count(
            "SELECT count(*) AS count FROM outbox WHERE event = 'listing_matched' AND channel = 'in_app'"
        )
        .await,
        2
    );
}

#[actix_web::test]
async fn the_donor_sees_its_matches_and_cannot_answer_them() {
    let app = TestApp::spawn().await;
    let wished = wished(&app).await;
    let donor = &wished.market.donor;
    let donor_side = app.get("/api/v1/matches", Some(&donor.token)).await;
    assert_eq!(donor_side.items().len(), 2);
    let predicted = match_with(&app, &wished, &wished.announced).await;
    let refused = app
        .post(
            &format!(
                "/api/v1/matches/{}/accept",
                predicted["id"].as_str().unwrap()
            ),
            Some(&donor.token),
            &json!({}),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
}

#[actix_web::test]
async fn withdrawing_an_announcement_retracts_its_match_and_says_why() {
    let app = TestApp::spawn().await;
    let wished = wished(&app).await;
    let maker = &wished.market.maker;
    let withdrawn = app
        .withdraw(
            wished.announced["id"].as_str().unwrap(),
            Some(&wished.market.donor.token),
        )
        .await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.body);
    let found = matches_of(&app, maker, &wished.wish).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    let told = app.get("/api/v1/notifications", Some(&maker.token)).await;
    let retracted = told
        .items()
        .iter()
        .find(|n| n["event"] == "match_retracted")
        .unwrap();
    assert_eq!(retracted["payload"]["because"], "withdrawn");
}

#[actix_web::test]
async fn a_match_is_answered_once() {
    let app = TestApp::spawn().await;
    let wished = wished(&app).await;
    let maker = Some(wished.market.maker.token.as_str());
    let id = match_with(&app, &wished, &wished.available).await["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let accepted = app
        .post(&format!("/api/v1/matches/{id}/accept"), maker, &json!({}))
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(accepted.body["status"], "accepted");
    let again = app
        .post(&format!("/api/v1/matches/{id}/decline"), maker, &json!({}))
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
}

/// A wish with its one match, to a lot announced in 20 days.
async fn wish_with_a_match(app: &TestApp) -> (Market, Value, Value) {
    let market = Market::open(app).await;
    let wish = WishBuilder::doors().create(app, &market.maker).await;
    let listing = ListingBuilder::doors()
        .quantity(4)
        .available_in_days(20)
        .create(app, &market.donor)
        .await;
    assert_eq!(
        matches_of(app, &market.maker, &wish).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    (market, wish, listing)
}

#[actix_web::test]
async fn editing_either_side_retracts_the_match_or_brings_it_back() {
    let app = TestApp::spawn().await;
    let (market, wish, listing) = wish_with_a_match(&app).await;
    let maker = &market.maker;
    let listing_id = listing["id"].as_str().unwrap();

    // The date slips past the need: the match goes, and the demander hears why.
    let slipped = app
        .send(
            Method::PATCH,
            &format!("/api/v1/listings/{listing_id}"),
            Some(&market.donor.token),
            Some(&json!({"available_from": (Utc::now() + Duration::days(120)).to_rfc3339()})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(slipped.status, 200, "{}", slipped.body);
    assert!(matches_of(&app, maker, &wish).await["items"]
        .as_array()
        .unwrap()
        .is_empty());
    let feed = app.get("/api/v1/notifications", Some(&maker.token)).await;
    let retracted: Vec<&Value> = feed
        .items()
        .iter()
        .filter(|n| n["event"] == "match_retracted")
        .collect();
    assert_eq!(retracted.len(), 1);
    assert_eq!(retracted[0]["payload"]["because"], "date_changed");

    // The demander widens the need: the same match comes back (same id, told again).
    let path = format!("/api/v1/wishes/{}", wish["id"].as_str().unwrap());
    let etag = app.get(&path, Some(&maker.token)).await.headers["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let widened = app
        .send(
            Method::PATCH,
            &path,
            Some(&maker.token),
            Some(&json!({"needed_by": (Utc::now() + Duration::days(200)).to_rfc3339()})),
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(widened.status, 200, "{}", widened.body);
    let back = matches_of(&app, maker, &wish).await;
    assert_eq!(back["items"].as_array().unwrap().len(), 1, "{back}");
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM matches").await,
        1,
        "a returning match is the same row"
    );
    assert_eq!(
        app.sql_count(
            "SELECT count(*) AS count FROM outbox WHERE event = 'match_predicted' AND channel = 'in_app'"
        )
        .await,
        2
    );
}

#[actix_web::test]
async fn deleting_a_wish_retracts_its_matches_silently() {
    let app = TestApp::spawn().await;
    let (market, wish, _) = wish_with_a_match(&app).await;
    let deleted = app
        .delete(
            &format!("/api/v1/wishes/{}", wish["id"].as_str().unwrap()),
            Some(&market.maker.token),
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM matches WHERE status = 'retracted'")
            .await,
        1
    );
}

#[actix_web::test]
async fn only_verified_members_wish() {
    let app = TestApp::spawn().await;
    let stranger = unverified(&app, "new@initiatief.test", "initiative").await;
    let body = WishBuilder::doors().quantity(1).json(&app).await;
    let refused = app
        .post("/api/v1/wishes", Some(&stranger.token), &body)
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let anonymous = app.post("/api/v1/wishes", None, &body).await;
    assert_eq!(anonymous.status, 401);
}

#[actix_web::test]
async fn only_the_wishing_organisation_sees_and_changes_its_wishes() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let other = market.verified(&app, "jo@bouwer.test", "builder").await;
    let wish = WishBuilder::doors().create(&app, &market.maker).await;
    let path = format!("/api/v1/wishes/{}", wish["id"].as_str().unwrap());

    for token in [Some(other.token.as_str()), None] {
        let expected = if token.is_some() { 404 } else { 401 };
        for (method, target, body) in [
            (Method::GET, path.clone(), None),
            (Method::GET, format!("{path}/matches"), None),
            (Method::PATCH, path.clone(), Some(json!({"radius_km": 5}))),
            (Method::DELETE, path.clone(), None),
        ] {
            let response = app
                .send(
                    method.clone(),
                    &target,
                    token,
                    body.as_ref(),
                    &[("If-Match", "\"1\"")],
                )
                .await;
            assert_eq!(
                response.status, expected,
                "{method} {target}: {}",
                response.body
            );
            assert_eq!(response.content_type(), "application/problem+json");
        }
    }
    let listed = app.get("/api/v1/wishes", Some(&other.token)).await;
    assert!(listed.items().is_empty());
    let own = app.get("/api/v1/wishes", Some(&market.maker.token)).await;
    assert_eq!(own.items().len(), 1);
}

#[actix_web::test]
async fn answering_a_match_or_bundle_that_does_not_exist_is_a_404() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    for kind in ["matches", "bundles"] {
        let missing = app
            .post(
                &format!("/api/v1/{kind}/{}/accept", uuid::Uuid::now_v7()),
                Some(&market.maker.token),
                &json!({}),
            )
            .await;
        assert_eq!(missing.status, 404, "{kind}");
    }
}

#[actix_web::test]
async fn bad_wishes_are_a_4xx_with_pointers() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"quantity": {"amount": -3, "unit": "piece"}}),
            "/quantity/amount",
        ),
        (
            json!({"quantity": {"amount": 3, "unit": "crates"}}),
            "/quantity/unit",
        ),
        (json!({"radius_km": 0}), "/radius_km"),
        (json!({"radius_km": 1000}), "/radius_km"),
        (json!({"near": {"lat": 95.0, "lon": 4.3}}), "/near/lat"),
        (json!({"category_id": uuid::Uuid::now_v7()}), "/category_id"),
        (json!({"category": "no-such-category"}), "/category"),
        (json!({"category": uuid::Uuid::now_v7()}), "/category"),
        (
            json!({"needed_by": (Utc::now() - Duration::days(1)).to_rfc3339()}),
            "/needed_by",
        ),
        (
            json!({"attributes": {"length_mm": {"min": 3000, "max": 2000}}}),
            "/attributes/length_mm",
        ),
        (
            json!({"max_price": [{"currency": "eur", "amount": 5}]}),
            "/max_price/0/currency",
        ),
        (
            json!({"max_price": [{"currency": "EUR", "amount": -5}]}),
            "/max_price/0/amount",
        ),
        (json!({"keywords": [""]}), "/keywords/0"),
        (json!({"notify": "weekly"}), "/notify"),
        (json!({"colour": "red"}), ""),
    ];
    for (change, pointer) in cases {
        let body = WishBuilder::doors().with(&change).json(&app).await;
        let response = app
            .post("/api/v1/wishes", Some(&market.maker.token), &body)
            .await;
        assert!(
            response.status == 422 || response.status == 400,
            "{change}: {} {}",
            response.status,
            response.body
        );
        assert_eq!(response.content_type(), "application/problem+json");
        if !pointer.is_empty() {
            let text = response.body.to_string();
            assert!(text.contains(pointer), "{change}: {text}");
        }
    }
}

#[actix_web::test]
async fn a_bundle_covers_what_no_single_lot_does_and_is_accepted_whole() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let maker = &market.maker;
    let wish = WishBuilder::doors().quantity(20).create(&app, maker).await;
    for (i, amount) in [8, 7, 6].into_iter().enumerate() {
        let donor = market
            .verified(&app, &format!("sloop{i}@sloop.test"), "contractor")
            .await;
        ListingBuilder::doors()
            .quantity(amount)
            .available_in_days(10 + i as i64)
            .pickup(SITE.0 + 0.01 * i as f64, SITE.1)
            .create(&app, &donor)
            .await;
        let found = matches_of(&app, maker, &wish).await;
        assert_eq!(found["items"].as_array().unwrap().len(), i + 1);
        // 8 + 7 do not cover 20; the third lot makes a bundle possible.
        assert_eq!(
            found["bundles"].as_array().unwrap().len(),
            usize::from(i == 2),
            "{found}"
        );
    }
    let found = matches_of(&app, maker, &wish).await;
    let bundle = &found["bundles"][0];
    assert_eq!(bundle["pickups"], 3);
    assert_eq!(bundle["donors"], 3);
    assert!(bundle["covered"].as_i64().unwrap() >= 20);
    let taken: i64 = bundle["parts"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| p["take"]["amount"].as_i64().unwrap())
        .sum();
    assert_eq!(
        taken, 20,
        "the last part takes only what is missing: {bundle}"
    );
    assert_eq!(
        app.sql_count(
            "SELECT count(*) AS count FROM outbox WHERE event = 'bundle_proposed' AND channel = 'in_app'"
        )
        .await,
        1
    );
    let accept = format!("/api/v1/bundles/{}/accept", bundle["id"].as_str().unwrap());
    let accepted = app.post(&accept, Some(&maker.token), &json!({})).await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(accepted.body["status"], "accepted");
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM matches WHERE status = 'accepted'")
            .await,
        3
    );
    let again = app.post(&accept, Some(&maker.token), &json!({})).await;
    assert_eq!(again.status, 409);
}

#[actix_web::test]
async fn a_wish_names_its_category_by_code_as_passports_and_the_search_do() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let lot = ListingBuilder::doors().create(&app, &market.donor).await;
    let doors = category_id(&app, "doors").await;

    // By code, as a passport's `category` and the search's `category=` name it.
    let by_code = WishBuilder::doors()
        .with(&json!({"category": "doors"}))
        .create(&app, &market.maker)
        .await;
    assert_eq!(by_code["category"], "doors");
    assert_eq!(by_code["category_id"], json!(doors));
    let found = matches_of(&app, &market.maker, &by_code).await;
    assert_eq!(found["items"][0]["listing_id"], lot["id"], "{found}");
    // By id, as before, in either field.
    for field in ["category_id", "category"] {
        let by_id = WishBuilder::doors()
            .with(&json!({ field: doors }))
            .create(&app, &market.maker)
            .await;
        assert_eq!(
            (&by_id["category"], &by_id["category_id"]),
            (&json!("doors"), &json!(doors))
        );
    }
    // Not both.
    let both = WishBuilder::doors()
        .with(&json!({"category": "doors", "category_id": doors}))
        .json(&app)
        .await;
    app.post("/api/v1/wishes", Some(&market.maker.token), &both)
        .await
        .assert_problem(422, "validation");

    // A change names it by code too; what it does not name stays.
    let id = by_code["id"].as_str().unwrap();
    let changed = app
        .send(
            Method::PATCH,
            &format!("/api/v1/wishes/{id}"),
            Some(&market.maker.token),
            Some(&json!({"category": "doors-interior"})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["category"], "doors-interior");
    let listed = app.get("/api/v1/wishes", Some(&market.maker.token)).await;
    assert!(listed
        .items()
        .iter()
        .any(|w| w["category"] == "doors-interior"));
    let unknown = app
        .send(
            Method::PATCH,
            &format!("/api/v1/wishes/{id}"),
            Some(&market.maker.token),
            Some(&json!({"category": "no-such-category"})),
            &[("If-Match", "\"2\"")],
        )
        .await;
    unknown.assert_problem(422, "validation");
    assert!(
        unknown.body.to_string().contains("/category"),
        "{}",
        unknown.body
    );
}
