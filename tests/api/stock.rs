//! Passports, listings and stock search: a contractor's day and a makerspace's search.

use crate::support::*;
use chrono::{Duration, Utc};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::Method;
use serde_json::{json, Value};

fn ids(response: &Response) -> Vec<String> {
    response
        .items()
        .iter()
        .map(|i| i["id"].as_str().unwrap().to_owned())
        .collect()
}

fn documents_of(passport: &Value) -> String {
    format!(
        "/api/v1/passports/{}/documents",
        passport["id"].as_str().unwrap()
    )
}

fn photo() -> Value {
    json!({"url": "https://example.org/seal.jpg", "sha256": "a".repeat(64), "kind": "photo"})
}

fn asbestos_clearance() -> Value {
    json!({"url": "https://example.org/vrijgave.pdf", "sha256": "b".repeat(64), "kind": "clearance",
           "title": "Vrijgave asbestsanering", "clears": ["asbestos"]})
}

#[actix_web::test]
async fn an_unverified_contractor_cannot_make_passports() {
    let app = TestApp::spawn().await;
    let contractor = unverified(&app, "sanne@sloop.test", "contractor").await;
    app.post(
        "/api/v1/passports",
        Some(&contractor.token),
        &PassportBuilder::asbestos_doors().json(),
    )
    .await
    .assert_problem(403, "not-verified");
}

#[actix_web::test]
async fn a_hazard_blocks_listing_until_a_clearance_names_it() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let contractor = &market.donor;

    let passport = PassportBuilder::asbestos_doors()
        .create(&app, contractor)
        .await;
    assert_eq!(passport["listable"], false);
    assert_eq!(passport["uncleared_hazards"], json!(["asbestos"]));
    app.post(
        "/api/v1/listings",
        Some(&contractor.token),
        &ListingBuilder::of(&passport).available_in_days(30).json(),
    )
    .await
    .assert_problem(409, "hazard-not-cleared");
    let with_photo = app
        .post(&documents_of(&passport), Some(&contractor.token), &photo())
        .await;
    assert_eq!(with_photo.body["listable"], false);
    let cleared = app
        .post(
            &documents_of(&passport),
            Some(&contractor.token),
            &asbestos_clearance(),
        )
        .await;
    assert_eq!(cleared.status, 200, "{}", cleared.body);
    assert_eq!(cleared.body["listable"], true);
    ListingBuilder::of(&passport)
        .available_in_days(30)
        .create(&app, contractor)
        .await;
}

#[actix_web::test]
async fn an_announced_lot_is_found_nearby_and_becomes_available_on_its_date() {
    let app = TestApp::spawn().await;
    let mut market = Market::in_districts(&app).await;

    // Eight doors announced for next month.
    let listing = ListingBuilder::doors()
        .available_in_days(30)
        .create(&app, &market.donor)
        .await;
    assert_eq!(listing["status"], "announced");
    assert_eq!(listing["mass_kg"], 256);
    assert!(
        listing["district_id"].is_string(),
        "Binckhorst lies in a district: {listing}"
    );

    // A makerspace finds it within a radius, announced, with its distance.
    let maker = Some(market.maker.token.as_str());
    let found = app
        .search("category=doors&near=52.0705,4.3007&radius_km=5", maker)
        .await;
    assert_eq!(found.status, 200, "{}", found.body);
    let hit = &found.body["items"][0];
    assert_eq!(hit["id"], listing["id"]);
    assert_eq!(hit["status"], "announced");
    let distance = hit["distance_km"].as_f64().unwrap();
    assert!((2.0..4.0).contains(&distance), "{distance}");
    let too_far = app
        .search("category=doors&near=52.0705,4.3007&radius_km=1", maker)
        .await;
    assert!(too_far.items().is_empty());
    let available_only = app.search("status=available", maker).await;
    assert!(available_only.items().is_empty());

    // When its date passes, the lifecycle job makes it available.
    app.clock.advance(Duration::days(31));
    assert_eq!(
        kringloop::app::listings::advance_lifecycle(&app.ctx)
            .await
            .unwrap(),
        1
    );
    // A month later the makerspace has logged in again.
    market.maker.login(&app).await;
    let now_available = app
        .search("status=available&q=doors", Some(&market.maker.token))
        .await;
    assert_eq!(ids(&now_available), [listing["id"].as_str().unwrap()]);
}

#[actix_web::test]
async fn a_listed_passports_chain_verifies_and_round_trips_through_export() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let contractor = &market.donor;
    let passport = PassportBuilder::asbestos_doors()
        .create(&app, contractor)
        .await;
    for document in [photo(), asbestos_clearance()] {
        let attached = app
            .post(&documents_of(&passport), Some(&contractor.token), &document)
            .await;
        assert_eq!(attached.status, 200, "{}", attached.body);
    }
    ListingBuilder::of(&passport).create(&app, contractor).await;

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
    assert_eq!(export.body["format"], "kringloop-passport/2");
    assert_eq!(export.body["custody"], custody.body["events"]);
    let imported = app
        .post(
            "/api/v1/passports/import",
            Some(&contractor.token),
            &export.body,
        )
        .await;
    assert_eq!(imported.status, 201, "{}", imported.body);
    assert_ne!(imported.body["id"], passport["id"]);
    let again = app
        .get(
            &format!(
                "/api/v1/passports/{}/export",
                imported.body["id"].as_str().unwrap()
            ),
            Some(&contractor.token),
        )
        .await;
    assert_eq!(
        again.body["passport"], export.body["passport"],
        "export → import → export keeps the content exactly"
    );
    assert_eq!(imported.body["custody"][0]["kind"], "imported");
    assert_eq!(
        imported.body["custody"][0]["payload"]["source"],
        json!({"code": passport["code"], "head": custody.body["events"][3]["hash"]})
    );
    // The first format (content alone) is still read.
    let first = json!({"format": "kringloop-passport/1", "passport": export.body["passport"]});
    let imported = app
        .post("/api/v1/passports/import", Some(&contractor.token), &first)
        .await;
    assert_eq!(imported.status, 201, "{}", imported.body);
}

#[actix_web::test]
async fn a_tampered_custody_chain_fails_verification() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let listing = ListingBuilder::doors().create(&app, &market.donor).await;
    let id = listing["passport_id"].as_str().unwrap();
    let path = format!("/api/v1/passports/{id}/custody");
    assert_eq!(app.get(&path, None).await.body["verified"], true);

    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    diesel::sql_query(
        "UPDATE custody_events SET payload = jsonb_set(payload, '{quantity,amount}', '80') \
         WHERE kind = 'listed'",
    )
    .execute(&mut conn)
    .await
    .unwrap();
    let tampered = app.get(&path, None).await;
    assert_eq!(tampered.status, 200);
    assert_eq!(tampered.body["verified"], false);
}

#[actix_web::test]
async fn only_the_owner_changes_passports_and_listings() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let owner = &market.donor;
    let other = market
        .verified(&app, "piet@sloop2.test", "contractor")
        .await
        .token;
    let private = PassportBuilder::doors().create(&app, owner).await;
    let public = PassportBuilder::doors().create(&app, owner).await;
    let listing = ListingBuilder::of(&public).create(&app, owner).await;
    let private_id = private["id"].as_str().unwrap();
    let public_id = public["id"].as_str().unwrap();
    let listing_id = listing["id"].as_str().unwrap();
    let document =
        json!({"url": "https://example.org/x.pdf", "sha256": "c".repeat(64), "kind": "datasheet"});
    let patch = json!({"note": "mine now"});
    let one_of = |passport: &Value| ListingBuilder::of(passport).quantity(1).json();

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
    app.post(&documents_of(&private), Some(&other), &document)
        .await
        .assert_problem(404, "not-found");
    app.post(&documents_of(&public), Some(&other), &document)
        .await
        .assert_problem(403, "forbidden");
    app.post("/api/v1/listings", Some(&other), &one_of(&private))
        .await
        .assert_problem(404, "not-found");
    app.post("/api/v1/listings", Some(&other), &one_of(&public))
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
    app.withdraw(listing_id, Some(&other))
        .await
        .assert_problem(403, "forbidden");

    // Anonymous clients change nothing.
    app.post("/api/v1/passports", None, &PassportBuilder::doors().json())
        .await
        .assert_problem(401, "unauthenticated");
    app.post("/api/v1/passports/import", None, &json!({}))
        .await
        .assert_problem(401, "unauthenticated");
    app.post(&documents_of(&public), None, &document)
        .await
        .assert_problem(401, "unauthenticated");
    app.post("/api/v1/listings", None, &one_of(&public))
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
    app.withdraw(listing_id, None)
        .await
        .assert_problem(401, "unauthenticated");

    // Nothing changed.
    let unchanged = app
        .get(
            &format!("/api/v1/listings/{listing_id}"),
            Some(&owner.token),
        )
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

/// The exact pickup point (and its address) is for the owner, the parties to a reservation of
/// the lot and brokers; anyone else sees the point as open data rounds it, in a listing and in
/// search results alike, and distances to the rounded point (so that they give nothing away).
#[actix_web::test]
async fn the_exact_pickup_is_for_the_owner_and_the_parties_to_a_reservation() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let exact =
        json!({"lat": 52.068_321_7, "lon": 4.345_178_9, "address": "Binckhorstlaan 36, Den Haag"});
    let listing = ListingBuilder::doors()
        .with(&json!({"pickup": exact}))
        .create(&app, &market.donor)
        .await;
    // A lot exactly where the first one is shown to be.
    ListingBuilder::doors()
        .pickup(52.068, 4.345)
        .create(&app, &market.donor)
        .await;
    let rounded = json!({"lat": 52.068, "lon": 4.345});
    let path = format!("/api/v1/listings/{}", listing["id"].as_str().unwrap());
    let stranger = unverified(&app, "nieuw@stad.test", "initiative").await;
    for (who, token) in [
        ("anonymous", None),
        ("unverified", Some(stranger.token.as_str())),
        ("another organisation", Some(market.maker.token.as_str())),
    ] {
        let seen = app.get(&path, token).await;
        assert_eq!(seen.body["pickup"], rounded, "{who}");
        let found = app.search("near=52.0705,4.3007&radius_km=50", token).await;
        let hits = found.items();
        assert_eq!(hits.len(), 2, "{who}");
        for hit in hits {
            assert_eq!(hit["pickup"], rounded, "{who}: {hit}");
        }
        assert_eq!(hits[0]["distance_km"], hits[1]["distance_km"], "{who}");
    }
    // Open data rounds the same way.
    let open = app.get("/api/v1/open/listings.geojson", None).await;
    let feature = open.body["features"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["id"] == listing["id"])
        .unwrap();
    assert_eq!(feature["geometry"]["coordinates"], json!([4.345, 52.068]));

    assert_eq!(
        app.get(&path, Some(&market.donor.token)).await.body["pickup"],
        exact
    );
    assert_eq!(
        app.get(&path, Some(&market.broker)).await.body["pickup"],
        exact
    );
    let reserved = reserve(&app, &market.maker, &listing, 1).await;
    assert_eq!(reserved.status, 201, "{}", reserved.body);
    assert_eq!(
        app.get(&path, Some(&market.maker.token)).await.body["pickup"],
        exact
    );
    let found = app
        .search(
            "near=52.0705,4.3007&radius_km=50",
            Some(&market.maker.token),
        )
        .await;
    let hit = found
        .items()
        .iter()
        .find(|hit| hit["id"] == listing["id"])
        .unwrap();
    assert_eq!(hit["pickup"], exact);
    // Still rounded for everyone else.
    assert_eq!(app.get(&path, None).await.body["pickup"], rounded);
}

#[actix_web::test]
async fn listing_changes_need_the_current_etag() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let owner = Some(market.donor.token.as_str());
    let listing = ListingBuilder::doors().create(&app, &market.donor).await;
    let path = format!("/api/v1/listings/{}", listing["id"].as_str().unwrap());
    let etag = app.get(&path, None).await.headers["etag"]
        .to_str()
        .unwrap()
        .to_owned();
    let patch = json!({"quantity": {"amount": 6, "unit": "piece"}, "available_from": (Utc::now() + Duration::days(10)).to_rfc3339()});

    app.send(Method::PATCH, &path, owner, Some(&patch), &[])
        .await
        .assert_problem(428, "precondition-required");
    app.send(
        Method::PATCH,
        &path,
        owner,
        Some(&patch),
        &[("if-match", "\"99\"")],
    )
    .await
    .assert_problem(412, "precondition-failed");
    let changed = app
        .send(
            Method::PATCH,
            &path,
            owner,
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
        owner,
        Some(&patch),
        &[("if-match", &etag)],
    )
    .await
    .assert_problem(412, "precondition-failed");
}

#[actix_web::test]
async fn a_listings_unit_cannot_change() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let listing = ListingBuilder::doors().create(&app, &market.donor).await;
    let path = format!("/api/v1/listings/{}", listing["id"].as_str().unwrap());
    let etag = format!("\"{}\"", listing["version"]);
    app.send(
        Method::PATCH,
        &path,
        Some(&market.donor.token),
        Some(&json!({"quantity": {"amount": 6, "unit": "kg"}})),
        &[("if-match", &etag)],
    )
    .await
    .assert_problem(422, "validation");
}

#[actix_web::test]
async fn a_withdrawn_listing_is_final_and_leaves_the_stock() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let owner = Some(market.donor.token.as_str());
    let listing = ListingBuilder::doors().create(&app, &market.donor).await;
    let id = listing["id"].as_str().unwrap();
    let path = format!("/api/v1/listings/{id}");

    // Withdrawn is final: no more changes, no second withdrawal.
    let withdrawn = app.withdraw(id, owner).await;
    assert_eq!(withdrawn.body["status"], "withdrawn");
    app.withdraw(id, owner)
        .await
        .assert_problem(409, "illegal-transition");
    let latest = withdrawn.headers["etag"].to_str().unwrap().to_owned();
    app.send(
        Method::PATCH,
        &path,
        owner,
        Some(&json!({"note": "x"})),
        &[("if-match", &latest)],
    )
    .await
    .assert_problem(409, "listing-not-editable");
    let search = app.search("", None).await;
    assert!(search.items().is_empty(), "withdrawn lots leave the stock");
}

#[actix_web::test]
async fn listings_expire_and_their_owners_are_told() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let listing = ListingBuilder::doors()
        .available_until_in_days(14)
        .create(&app, &market.donor)
        .await;
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
    assert_eq!(listing_now(&app, &listing).await["status"], "expired");
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM outbox WHERE event = 'listing_expired'")
            .await,
        2
    );
}
