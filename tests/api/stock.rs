//! Passports, listings and stock search: a contractor's day and a makerspace's search.

use crate::support::{Response, TestApp};
use chrono::{Duration, Utc};
use reqwest::Method;
use serde_json::{json, Value};

/// Binckhorst, The Hague: a demolition site.
pub const SITE: (f64, f64) = (52.068, 4.345);

pub fn doors_passport() -> Value {
    json!({
        "category": "doors-interior",
        "eural_code": "17 02 01",
        "name": "Eiken binnendeuren / oak interior doors",
        "description": "Massief eiken deuren met kozijn, uit kantoorpand 1968",
        "composition": [{"material": "oak", "fraction_ppm": 950000}, {"material": "steel", "fraction_ppm": 50000}],
        "dimensions": {"length_mm": 2015, "width_mm": 830, "height_mm": 40},
        "unit_mass": {"grams": 32000, "per": "piece"},
        "condition": "good",
        "origin": {"site": "Kantoor Binckhorstlaan", "building_year": 1968, "location": {"lat": SITE.0, "lon": SITE.1}},
        "circularity": {"r_strategies": ["reuse", "refurbish"], "disassembly": "easy"},
        "embodied_co2e_g_per_kg": 460
    })
}

pub async fn create_passport(app: &TestApp, token: &str, body: &Value) -> Value {
    let response = app.post("/api/v1/passports", Some(token), body).await;
    assert_eq!(response.status, 201, "{}", response.body);
    response.body
}

pub fn offer(passport_id: &Value, amount: i64, from_days: i64) -> Value {
    json!({
        "passport_id": passport_id,
        "quantity": {"amount": amount, "unit": "piece"},
        // An hour early: the test clock stands at the moment the app started.
        "available_from": (Utc::now() + Duration::days(from_days) - Duration::hours(1)).to_rfc3339(),
        "pickup": {"lat": SITE.0, "lon": SITE.1, "address": "Binckhorstlaan 36, Den Haag"},
        "price": {"amount": 2500, "currency": "EUR"}
    })
}

pub async fn create_listing(app: &TestApp, token: &str, body: &Value) -> Value {
    let response = app.post("/api/v1/listings", Some(token), body).await;
    assert_eq!(response.status, 201, "{}", response.body);
    response.body
}

fn ids(response: &Response) -> Vec<String> {
    assert_eq!(response.status, 200, "{}", response.body);
    response.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn a_contractors_day() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    app.upload_districts(&broker).await;

    // Register, and wait for the broker.
    let (contractor, contractor_org) = app.member("sanne@sloop.test", "contractor").await;
    let hazardous = json!({
        "category": "doors-interior", "eural_code": "17 06 05", "name": "Oak doors with asbestos seals",
        "hazards": [{"substance": "asbestos", "note": "in the door seals"}], "condition": "fair",
        "unit_mass": {"grams": 32000, "per": "piece"}
    });
    app.post("/api/v1/passports", Some(&contractor), &hazardous)
        .await
        .assert_problem(403, "not-verified");
    app.post(
        &format!("/api/v1/admin/organisations/{contractor_org}/verify"),
        Some(&broker),
        &json!({}),
    )
    .await;

    // A passport with a hazard cannot be listed until a clearance names the hazard.
    let passport = create_passport(&app, &contractor, &hazardous).await;
    assert_eq!(passport["listable"], false);
    assert_eq!(passport["uncleared_hazards"], json!(["asbestos"]));
    let refused = app
        .post(
            "/api/v1/listings",
            Some(&contractor),
            &offer(&passport["id"], 8, 30),
        )
        .await;
    refused.assert_problem(409, "hazard-not-cleared");
    let photo =
        json!({"url": "https://example.org/seal.jpg", "sha256": "a".repeat(64), "kind": "photo"});
    let with_photo = app
        .post(
            &format!(
                "/api/v1/passports/{}/documents",
                passport["id"].as_str().unwrap()
            ),
            Some(&contractor),
            &photo,
        )
        .await;
    assert_eq!(with_photo.body["listable"], false);
    let clearance = json!({"url": "https://example.org/vrijgave.pdf", "sha256": "b".repeat(64), "kind": "clearance",
                           "title": "Vrijgave asbestsanering", "clears": ["asbestos"]});
    let cleared = app
        .post(
            &format!(
                "/api/v1/passports/{}/documents",
                passport["id"].as_str().unwrap()
            ),
            Some(&contractor),
            &clearance,
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(cleared.body["listable"], true);

    // Announce eight doors for next month.
    let listing = create_listing(&app, &contractor, &offer(&passport["id"], 8, 30)).await;
    assert_eq!(listing["status"], "announced");
    assert_eq!(listing["mass_kg"], 256);
    assert!(
        listing["district_id"].is_string(),
        "Binckhorst lies in a district: {listing}"
    );

    // A makerspace finds it within a radius, announced, with its distance.
    let (maker, _) = app.member("mo@maakplaats.test", "makerspace").await;
    let found = app
        .get(
            "/api/v1/listings?category=doors&near=52.0705,4.3007&radius_km=5",
            Some(&maker),
        )
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let hit = &found.body["items"][0];
    assert_eq!(hit["id"], listing["id"]);
    assert_eq!(hit["status"], "announced");
    let distance = hit["distance_km"].as_f64().unwrap();
    assert!((2.0..4.0).contains(&distance), "{distance}");
    let too_far = app
        .get(
            "/api/v1/listings?category=doors&near=52.0705,4.3007&radius_km=1",
            Some(&maker),
        )
        .await;
    assert!(too_far.body["items"].as_array().unwrap().is_empty());
    let available_only = app
        .get("/api/v1/listings?status=available", Some(&maker))
        .await;
    assert!(available_only.body["items"].as_array().unwrap().is_empty());

    // When its date passes, the lifecycle job makes it available.
    app.clock.advance(Duration::days(31));
    assert_eq!(
        kringloop::app::listings::advance_lifecycle(&app.ctx)
            .await
            .unwrap(),
        1
    );
    // A month later everyone has logged in again.
    let maker = app.login("mo@maakplaats.test").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let contractor = app.login("sanne@sloop.test").await["access_token"]
        .as_str()
        .unwrap()
        .to_owned();
    let now_available = app
        .get("/api/v1/listings?status=available&q=doors", Some(&maker))
        .await;
    assert_eq!(ids(&now_available), [listing["id"].as_str().unwrap()]);

    // The passport is public now, its chain verifies, and it round-trips through export.
    let id = passport["id"].as_str().unwrap();
    let custody = app
        .get(&format!("/api/v1/passports/{id}/custody"), None)
        .await;
    assert_eq!(custody.body["verified"], true);
    let kinds: Vec<&str> = custody.body["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert_eq!(
        kinds,
        [
            "created",
            "document_attached",
            "document_attached",
            "listed"
        ]
    );
    let export = app
        .get(&format!("/api/v1/passports/{id}/export"), None)
        .await;
    assert_eq!(export.body["format"], "kringloop-passport/1");
    let imported = app
        .post("/api/v1/passports/import", Some(&contractor), &export.body)
        .await;
    assert_eq!(imported.status, 201, "{}", imported.body);
    assert_ne!(imported.body["id"], passport["id"]);
    let again = app
        .get(
            &format!(
                "/api/v1/passports/{}/export",
                imported.body["id"].as_str().unwrap()
            ),
            Some(&contractor),
        )
        .await;
    assert_eq!(again.body, export.body, "export → import → export is exact");
    assert_eq!(imported.body["custody"][0]["kind"], "imported");
}

#[actix_web::test]
async fn a_tampered_custody_chain_fails_verification() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    let (contractor, _) = app
        .verified_member("sanne@sloop.test", "contractor", &broker)
        .await;
    let passport = create_passport(&app, &contractor, &doors_passport()).await;
    create_listing(&app, &contractor, &offer(&passport["id"], 8, 0)).await;
    let id = passport["id"].as_str().unwrap();
    let path = format!("/api/v1/passports/{id}/custody");
    assert_eq!(app.get(&path, None).await.body["verified"], true);

    let mut conn =
        <diesel_async::AsyncPgConnection as diesel_async::AsyncConnection>::establish(&app.db_url)
            .await
            .unwrap();
    diesel_async::RunQueryDsl::execute(
        diesel::sql_query("UPDATE custody_events SET payload = jsonb_set(payload, '{quantity,amount}', '80') WHERE kind = 'listed'"),
        &mut conn,
    )
    .await
    .unwrap();
    let tampered = app.get(&path, None).await;
    assert_eq!(tampered.status, 200);
    assert_eq!(tampered.body["verified"], false);
}

#[actix_web::test]
async fn only_the_owner_changes_passports_and_listings() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    let (owner, _) = app
        .verified_member("sanne@sloop.test", "contractor", &broker)
        .await;
    let (other, _) = app
        .verified_member("piet@sloop2.test", "contractor", &broker)
        .await;
    let private = create_passport(&app, &owner, &doors_passport()).await;
    let public = create_passport(&app, &owner, &doors_passport()).await;
    let listing = create_listing(&app, &owner, &offer(&public["id"], 8, 0)).await;
    let private_id = private["id"].as_str().unwrap();
    let public_id = public["id"].as_str().unwrap();
    let listing_id = listing["id"].as_str().unwrap();
    let document =
        json!({"url": "https://example.org/x.pdf", "sha256": "c".repeat(64), "kind": "datasheet"});
    let patch = json!({"note": "mine now"});

    // Unlisted passports do not exist for others; listed ones are read-only for them.
    for token in [Some(other.as_str()), None] {
        app.get(&format!("/api/v1/passports/{private_id}"), token)
            .await
            .assert_problem(404, "not-found");
        app.get(&format!("/api/v1/passports/{private_id}/export"), token)
            .await
            .assert_problem(404, "not-found");
        app.get(&format!("/api/v1/passports/{private_id}/custody"), token)
            .await
            .assert_problem(404, "not-found");
        assert_eq!(
            app.get(&format!("/api/v1/passports/{public_id}"), token)
                .await
                .status,
            200
        );
    }
    app.post(
        &format!("/api/v1/passports/{private_id}/documents"),
        Some(&other),
        &document,
    )
    .await
    .assert_problem(404, "not-found");
    app.post(
        &format!("/api/v1/passports/{public_id}/documents"),
        Some(&other),
        &document,
    )
    .await
    .assert_problem(403, "forbidden");
    app.post(
        "/api/v1/listings",
        Some(&other),
        &offer(&private["id"], 1, 0),
    )
    .await
    .assert_problem(404, "not-found");
    app.post(
        "/api/v1/listings",
        Some(&other),
        &offer(&public["id"], 1, 0),
    )
    .await
    .assert_problem(403, "forbidden");
    let etag = format!("\"{}\"", listing["version"]);
    app.send(
        Method::PATCH,
        &format!("/api/v1/listings/{listing_id}"),
        Some(&other),
        Some(&patch),
        &[("if-match", &etag)],
    )
    .await
    .assert_problem(403, "forbidden");
    app.post(
        &format!("/api/v1/listings/{listing_id}/withdraw"),
        Some(&other),
        &json!({}),
    )
    .await
    .assert_problem(403, "forbidden");

    // Anonymous clients change nothing.
    app.post("/api/v1/passports", None, &doors_passport())
        .await
        .assert_problem(401, "unauthenticated");
    app.post("/api/v1/passports/import", None, &json!({}))
        .await
        .assert_problem(401, "unauthenticated");
    app.post(
        &format!("/api/v1/passports/{public_id}/documents"),
        None,
        &document,
    )
    .await
    .assert_problem(401, "unauthenticated");
    app.post("/api/v1/listings", None, &offer(&public["id"], 1, 0))
        .await
        .assert_problem(401, "unauthenticated");
    app.send(
        Method::PATCH,
        &format!("/api/v1/listings/{listing_id}"),
        None,
        Some(&patch),
        &[("if-match", &etag)],
    )
    .await
    .assert_problem(401, "unauthenticated");
    app.post(
        &format!("/api/v1/listings/{listing_id}/withdraw"),
        None,
        &json!({}),
    )
    .await
    .assert_problem(401, "unauthenticated");

    // Nothing changed.
    let unchanged = app
        .get(&format!("/api/v1/listings/{listing_id}"), Some(&owner))
        .await;
    assert_eq!(unchanged.body["version"], listing["version"]);
    assert!(unchanged.body["note"].is_null());
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM listings")
            .await,
        1
    );
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM passports")
            .await,
        2
    );
    let doc_events = app
        .sql_count("SELECT count(*) AS count FROM custody_events WHERE kind = 'document_attached'")
        .await;
    assert_eq!(doc_events, 0);
}

#[actix_web::test]
async fn listing_changes_need_the_current_etag() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    let (owner, _) = app
        .verified_member("sanne@sloop.test", "contractor", &broker)
        .await;
    let passport = create_passport(&app, &owner, &doors_passport()).await;
    let listing = create_listing(&app, &owner, &offer(&passport["id"], 8, 0)).await;
    let path = format!("/api/v1/listings/{}", listing["id"].as_str().unwrap());
    let read = app.get(&path, None).await;
    let etag = read.headers["etag"].to_str().unwrap().to_owned();
    assert!(
        read.body["pickup"].get("address").is_none(),
        "the address is for signed-in users"
    );
    let patch = json!({"quantity": {"amount": 6, "unit": "piece"}, "available_from": (Utc::now() + Duration::days(10)).to_rfc3339()});

    app.send(Method::PATCH, &path, Some(&owner), Some(&patch), &[])
        .await
        .assert_problem(428, "precondition-required");
    app.send(
        Method::PATCH,
        &path,
        Some(&owner),
        Some(&patch),
        &[("if-match", "\"99\"")],
    )
    .await
    .assert_problem(412, "precondition-failed");
    let changed = app
        .send(
            Method::PATCH,
            &path,
            Some(&owner),
            Some(&patch),
            &[("if-match", &etag)],
        )
        .await;
    assert_eq!(changed.status, 200, "{}", changed.body);
    assert_eq!(changed.body["quantity"]["amount"], 6);
    assert_eq!(
        changed.body["status"], "announced",
        "moving the date into the future announces it again"
    );
    assert_ne!(changed.headers["etag"].to_str().unwrap(), etag);
    // The old ETag is stale now.
    app.send(
        Method::PATCH,
        &path,
        Some(&owner),
        Some(&patch),
        &[("if-match", &etag)],
    )
    .await
    .assert_problem(412, "precondition-failed");
    let unit_change = json!({"quantity": {"amount": 6, "unit": "kg"}});
    let current = changed.headers["etag"].to_str().unwrap().to_owned();
    let refused = app
        .send(
            Method::PATCH,
            &path,
            Some(&owner),
            Some(&unit_change),
            &[("if-match", &current)],
        )
        .await;
    refused.assert_problem(422, "validation");

    // Withdrawn is final: no more changes, no second withdrawal.
    let withdrawn = app
        .post(&format!("{path}/withdraw"), Some(&owner), &json!({}))
        .await;
    assert_eq!(withdrawn.body["status"], "withdrawn");
    app.post(&format!("{path}/withdraw"), Some(&owner), &json!({}))
        .await
        .assert_problem(409, "illegal-transition");
    let latest = withdrawn.headers["etag"].to_str().unwrap().to_owned();
    app.send(
        Method::PATCH,
        &path,
        Some(&owner),
        Some(&json!({"note": "x"})),
        &[("if-match", &latest)],
    )
    .await
    .assert_problem(409, "listing-not-editable");
    let search = app.get("/api/v1/listings", None).await;
    assert_eq!(search.status, 200, "{}", search.body);
    assert!(
        search.body["items"].as_array().unwrap().is_empty(),
        "withdrawn lots leave the stock"
    );
}

#[actix_web::test]
async fn listings_expire_and_their_owners_are_told() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    let (owner, _) = app
        .verified_member("sanne@sloop.test", "contractor", &broker)
        .await;
    let passport = create_passport(&app, &owner, &doors_passport()).await;
    let mut body = offer(&passport["id"], 8, 0);
    body["available_until"] = json!((Utc::now() + Duration::days(14)).to_rfc3339());
    let listing = create_listing(&app, &owner, &body).await;
    assert_eq!(
        kringloop::app::listings::advance_lifecycle(&app.ctx)
            .await
            .unwrap(),
        0
    );
    app.clock.advance(Duration::days(15));
    assert_eq!(
        kringloop::app::listings::advance_lifecycle(&app.ctx)
            .await
            .unwrap(),
        1
    );
    let expired = app
        .get(
            &format!("/api/v1/listings/{}", listing["id"].as_str().unwrap()),
            None,
        )
        .await;
    assert_eq!(expired.body["status"], "expired");
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM outbox WHERE event = 'listing_expired'")
            .await,
        2
    );
}
