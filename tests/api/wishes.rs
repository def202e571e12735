//! Wishes and the matcher over HTTP: standing demand, stored matches that follow both sides,
//! predicted matches, bundles, and who may see and change what.

use crate::stock::{create_listing, create_passport, doors_passport, offer, SITE};
use crate::support::TestApp;
use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

pub async fn category_id(app: &TestApp, code: &str) -> String {
    let response = app.get("/api/v1/categories", None).await;
    response.body["items"]
        .as_array()
        .or_else(|| response.body.as_array())
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned()
}

pub fn doors_wish(category: &str, amount: i64) -> Value {
    json!({
        "category_id": category,
        "keywords": ["deur"],
        "attributes": {"length_mm": {"min": 2000}},
        "condition_min": "fair",
        "quantity": {"amount": amount, "unit": "piece"},
        "near": {"lat": 52.0705, "lon": 4.3007},
        "radius_km": 10,
        "needed_by": (Utc::now() + Duration::days(90)).to_rfc3339(),
        "max_price": [{"currency": "EUR", "amount": 5000}],
        "include_announced": true,
        "notify": "instant"
    })
}

pub async fn create_wish(app: &TestApp, token: &str, body: &Value) -> Value {
    let response = app.post("/api/v1/wishes", Some(token), body).await;
    assert_eq!(response.status, 201, "{}", response.body);
    response.body
}

pub async fn matches_of(app: &TestApp, token: &str, wish: &Value) -> Value {
    let response = app
        .get(
            &format!("/api/v1/wishes/{}/matches", wish["id"].as_str().unwrap()),
            Some(token),
        )
        .await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.body
}

#[actix_web::test]
async fn a_wish_finds_current_stock_at_once_and_later_listings_as_they_come() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    let (contractor, _) = app
        .verified_member("sanne@sloop.test", "contractor", &broker)
        .await;
    let (maker, _) = app
        .verified_member("kim@makerspace.test", "makerspace", &broker)
        .await;
    let doors = category_id(&app, "doors").await;
    let passport = create_passport(&app, &contractor, &doors_passport()).await;
    let available = create_listing(&app, &contractor, &offer(&passport["id"], 4, 0)).await;

    let wish = create_wish(&app, &maker, &doors_wish(&doors, 4)).await;
    let found = matches_of(&app, &maker, &wish).await;
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

    // A listing announced for next month is a predicted match, told to both sides.
    let passport2 = create_passport(&app, &contractor, &doors_passport()).await;
    let announced = create_listing(&app, &contractor, &offer(&passport2["id"], 6, 30)).await;
    let found = matches_of(&app, &maker, &wish).await;
    let predicted: Vec<&Value> = found["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|m| m["listing_id"] == announced["id"])
        .collect();
    assert_eq!(predicted.len(), 1, "{found}");
    assert_eq!(predicted[0]["predicted"], true);
    assert!(predicted[0]["expected_on"].is_string());
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

    // The donor sees the match on its side, and cannot answer it.
    let donor_side = app.get("/api/v1/matches", Some(&contractor)).await;
    assert_eq!(donor_side.body["items"].as_array().unwrap().len(), 2);
    let match_id = predicted[0]["id"].as_str().unwrap();
    let refused = app
        .post(
            &format!("/api/v1/matches/{match_id}/accept"),
            Some(&contractor),
            &json!({}),
        )
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);

    // Withdrawing the announcement retracts the match and tells the demander why.
    let withdrawn = app
        .post(
            &format!(
                "/api/v1/listings/{}/withdraw",
                announced["id"].as_str().unwrap()
            ),
            Some(&contractor),
            &json!({}),
        )
        .await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.body);
    let found = matches_of(&app, &maker, &wish).await;
    assert_eq!(found["items"].as_array().unwrap().len(), 1, "{found}");
    let told = app.get("/api/v1/notifications", Some(&maker)).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|n| n["event"] == "match_retracted")
        .cloned()
        .unwrap();
    assert_eq!(told["payload"]["because"], "withdrawn");

    // Accepting the remaining match tells the donor; answering twice is a conflict.
    let id = found["items"][0]["id"].as_str().unwrap().to_owned();
    let accepted = app
        .post(
            &format!("/api/v1/matches/{id}/accept"),
            Some(&maker),
            &json!({}),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(accepted.body["status"], "accepted");
    let again = app
        .post(
            &format!("/api/v1/matches/{id}/decline"),
            Some(&maker),
            &json!({}),
        )
        .await;
    assert_eq!(again.status, 409, "{}", again.body);
}

#[actix_web::test]
async fn editing_either_side_updates_or_retracts_the_match() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    let (contractor, _) = app
        .verified_member("sanne@sloop.test", "contractor", &broker)
        .await;
    let (maker, _) = app
        .verified_member("kim@makerspace.test", "makerspace", &broker)
        .await;
    let doors = category_id(&app, "doors").await;
    let wish = create_wish(&app, &maker, &doors_wish(&doors, 4)).await;
    let passport = create_passport(&app, &contractor, &doors_passport()).await;
    let listing = create_listing(&app, &contractor, &offer(&passport["id"], 4, 20)).await;
    let listing_id = listing["id"].as_str().unwrap();
    assert_eq!(
        matches_of(&app, &maker, &wish).await["items"]
            .as_array()
            .unwrap()
            .len(),
        1
    );

    // The date slips past the need: the match goes, and the demander hears why.
    let slipped = app
        .send(
            Method::PATCH,
            &format!("/api/v1/listings/{listing_id}"),
            Some(&contractor),
            Some(&json!({"available_from": (Utc::now() + Duration::days(120)).to_rfc3339()})),
            &[("If-Match", "\"1\"")],
        )
        .await;
    assert_eq!(slipped.status, 200, "{}", slipped.body);
    assert!(matches_of(&app, &maker, &wish).await["items"]
        .as_array()
        .unwrap()
        .is_empty());
    let retracted: Vec<Value> = app.get("/api/v1/notifications", Some(&maker)).await.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["event"] == "match_retracted")
        .cloned()
        .collect();
    assert_eq!(retracted.len(), 1);
    assert_eq!(retracted[0]["payload"]["because"], "date_changed");

    // The demander widens the need: the same match comes back (same id, told again).
    let etag = app
        .get(
            &format!("/api/v1/wishes/{}", wish["id"].as_str().unwrap()),
            Some(&maker),
        )
        .await
        .headers["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let widened = app
        .send(
            Method::PATCH,
            &format!("/api/v1/wishes/{}", wish["id"].as_str().unwrap()),
            Some(&maker),
            Some(&json!({"needed_by": (Utc::now() + Duration::days(200)).to_rfc3339()})),
            &[("If-Match", &etag)],
        )
        .await;
    assert_eq!(widened.status, 200, "{}", widened.body);
    let back = matches_of(&app, &maker, &wish).await;
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

    // Deleting the wish retracts silently.
    let deleted = app
        .send(
            Method::DELETE,
            &format!("/api/v1/wishes/{}", wish["id"].as_str().unwrap()),
            Some(&maker),
            None,
            &[],
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
async fn only_the_wishing_organisation_sees_and_changes_its_wishes() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    let (maker, _) = app
        .verified_member("kim@makerspace.test", "makerspace", &broker)
        .await;
    let (other, _) = app
        .verified_member("jo@bouwer.test", "builder", &broker)
        .await;
    let (unverified, _) = app.member("new@initiatief.test", "initiative").await;
    let doors = category_id(&app, "doors").await;
    let wish = create_wish(&app, &maker, &doors_wish(&doors, 4)).await;
    let id = wish["id"].as_str().unwrap();
    let path = format!("/api/v1/wishes/{id}");

    let refused = app
        .post("/api/v1/wishes", Some(&unverified), &doors_wish(&doors, 1))
        .await;
    assert_eq!(refused.status, 403, "{}", refused.body);
    let anonymous = app
        .post("/api/v1/wishes", None, &doors_wish(&doors, 1))
        .await;
    assert_eq!(anonymous.status, 401);

    for token in [Some(other.as_str()), None] {
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
    let listed = app.get("/api/v1/wishes", Some(&other)).await;
    assert!(listed.body["items"].as_array().unwrap().is_empty());
    let own = app.get("/api/v1/wishes", Some(&maker)).await;
    assert_eq!(own.body["items"].as_array().unwrap().len(), 1);

    let missing_match = app
        .post(
            &format!("/api/v1/matches/{}/accept", uuid::Uuid::now_v7()),
            Some(&maker),
            &json!({}),
        )
        .await;
    assert_eq!(missing_match.status, 404);
    let missing_bundle = app
        .post(
            &format!("/api/v1/bundles/{}/accept", uuid::Uuid::now_v7()),
            Some(&maker),
            &json!({}),
        )
        .await;
    assert_eq!(missing_bundle.status, 404);
}

#[actix_web::test]
async fn bad_wishes_are_a_4xx_with_pointers() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    let (maker, _) = app
        .verified_member("kim@makerspace.test", "makerspace", &broker)
        .await;
    let doors = category_id(&app, "doors").await;
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
        let mut body = doors_wish(&doors, 4);
        for (key, value) in change.as_object().unwrap() {
            body[key] = value.clone();
        }
        let response = app.post("/api/v1/wishes", Some(&maker), &body).await;
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
    let broker = app.broker().await;
    let (maker, _) = app
        .verified_member("kim@makerspace.test", "makerspace", &broker)
        .await;
    let doors = category_id(&app, "doors").await;
    let wish = create_wish(&app, &maker, &doors_wish(&doors, 20)).await;
    let mut listings = Vec::new();
    for (i, amount) in [8, 7, 6].into_iter().enumerate() {
        let (donor, _) = app
            .verified_member(&format!("sloop{i}@sloop.test"), "contractor", &broker)
            .await;
        let passport = create_passport(&app, &donor, &doors_passport()).await;
        let mut body = offer(&passport["id"], amount, 10 + i as i64);
        body["pickup"] = json!({"lat": SITE.0 + 0.01 * i as f64, "lon": SITE.1});
        listings.push(create_listing(&app, &donor, &body).await);
        let found = matches_of(&app, &maker, &wish).await;
        assert_eq!(found["items"].as_array().unwrap().len(), i + 1);
        // 8 + 7 do not cover 20; the third lot makes a bundle possible.
        assert_eq!(
            found["bundles"].as_array().unwrap().len(),
            usize::from(i == 2),
            "{found}"
        );
    }
    let found = matches_of(&app, &maker, &wish).await;
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
    let accepted = app
        .post(
            &format!("/api/v1/bundles/{}/accept", bundle["id"].as_str().unwrap()),
            Some(&maker),
            &json!({}),
        )
        .await;
    assert_eq!(accepted.status, 200, "{}", accepted.body);
    assert_eq!(accepted.body["status"], "accepted");
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM matches WHERE status = 'accepted'")
            .await,
        3
    );
    let again = app
        .post(
            &format!("/api/v1/bundles/{}/accept", bundle["id"].as_str().unwrap()),
            Some(&maker),
            &json!({}),
        )
        .await;
    assert_eq!(again.status, 409);
}
