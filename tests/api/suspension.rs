//! A suspended organisation: every change it asks for is refused, its listings and wishes leave
//! search, matching and open data until it is reinstated, others cannot reserve its lots, and
//! the other side of each of its open reservations is told.

use crate::support::*;
use reqwest::Method;
use serde_json::{json, Value};

async fn suspend(app: &TestApp, market: &Market, who: &Member) {
    let suspended = app
        .post(
            &format!("/api/v1/admin/organisations/{}/suspend", who.org),
            Some(&market.broker),
            &json!({}),
        )
        .await;
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    assert_eq!(suspended.body["status"], "suspended");
}

fn ids(page: &Response) -> Vec<String> {
    page.items()
        .iter()
        .map(|item| item["id"].as_str().unwrap().to_owned())
        .collect()
}

/// The listings a wish is matched with now.
async fn matched_lots(app: &TestApp, owner: &Member, wish: &Value) -> Vec<Value> {
    matches_of(app, owner, wish).await["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| m["listing_id"].clone())
        .collect()
}

fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

/// The open data's listing ids.
async fn open_data_ids(app: &TestApp) -> Vec<String> {
    let open = app.get("/api/v1/open/listings.geojson", None).await;
    assert_eq!(open.status, 200, "{}", open.body);
    open.body["features"]
        .as_array()
        .unwrap()
        .iter()
        .map(|feature| feature["id"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn a_suspended_organisation_changes_nothing_and_its_lots_cannot_be_reserved() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let donor = &market.donor;
    let passport = PassportBuilder::doors().create(&app, donor).await;
    let listing = ListingBuilder::of(&passport).create(&app, donor).await;
    let wish = WishBuilder::doors().create(&app, donor).await;
    let listing_path = format!("/api/v1/listings/{}", id(&listing));
    let wish_path = format!("/api/v1/wishes/{}", id(&wish));
    suspend(&app, &market, donor).await;

    let refused = [
        (
            Method::PATCH,
            listing_path.clone(),
            Some(json!({"note": "Nog steeds te koop"})),
        ),
        (
            Method::PATCH,
            wish_path.clone(),
            Some(json!({"radius_km": 20})),
        ),
        (
            Method::POST,
            "/api/v1/listings".to_owned(),
            Some(ListingBuilder::of(&passport).json()),
        ),
        (
            Method::POST,
            "/api/v1/wishes".to_owned(),
            Some(WishBuilder::doors().json(&app).await),
        ),
        (
            Method::POST,
            "/api/v1/passports".to_owned(),
            Some(PassportBuilder::doors().json()),
        ),
        (Method::POST, format!("{listing_path}/withdraw"), None),
        (Method::DELETE, wish_path.clone(), None),
    ];
    for (method, path, body) in refused {
        let answer = app
            .send(
                method.clone(),
                &path,
                Some(&donor.token),
                body.as_ref(),
                &[("If-Match", "\"1\"")],
            )
            .await;
        answer.assert_problem(403, "organisation-suspended");
        assert!(
            answer.body["detail"]
                .as_str()
                .unwrap()
                .contains("suspended"),
            "{method} {path}: {}",
            answer.body
        );
    }
    // Nothing changed, and reading is still allowed.
    let own = app.get(&listing_path, Some(&donor.token)).await;
    assert_eq!(own.status, 200, "{}", own.body);
    assert_eq!(own.body["version"], listing["version"]);
    assert_eq!(app.get(&wish_path, Some(&donor.token)).await.status, 200);

    // Another organisation cannot reserve its lot.
    let reserved = reserve(&app, &market.maker, &listing, 1).await;
    reserved.assert_problem(403, "organisation-suspended");
    assert_eq!(listing_now(&app, &listing).await["quantity_available"], 8);
}

#[actix_web::test]
async fn a_suspended_organisation_cannot_reserve_pay_or_answer_matches() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let listing = ListingBuilder::doors().create(&app, &market.donor).await;
    let wish = WishBuilder::doors().create(&app, &market.maker).await;
    let found = matches_of(&app, &market.maker, &wish).await;
    let match_id = found["items"][0]["id"].as_str().unwrap().to_owned();
    suspend(&app, &market, &market.maker).await;

    reserve(&app, &market.maker, &listing, 1)
        .await
        .assert_problem(403, "organisation-suspended");
    app.post(
        &format!("/api/v1/matches/{match_id}/accept"),
        Some(&market.maker.token),
        &json!({}),
    )
    .await
    .assert_problem(403, "organisation-suspended");
    app.post_keyed(
        "/api/v1/transfers",
        Some(&market.maker.token),
        &json!({"to_organisation_id": market.donor.org, "amount": 100}),
    )
    .await
    .assert_problem(403, "organisation-suspended");
}

#[actix_web::test]
async fn suspension_takes_lots_and_wishes_out_of_search_matching_and_open_data_until_lifted() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let donor = &market.donor;
    let listing = ListingBuilder::doors()
        .quantity(4)
        .create(&app, donor)
        .await;
    // The maker wishes for the donor's doors; the donor wishes for the maker's.
    let maker_wish = WishBuilder::doors().create(&app, &market.maker).await;
    let donor_wish = WishBuilder::doors().create(&app, donor).await;
    let maker_lot = ListingBuilder::doors()
        .quantity(4)
        .create(&app, &market.maker)
        .await;
    let near = "near=52.0705,4.3007&radius_km=50";
    let words = "q=eiken&status=available,announced";
    let lot = id(&listing).to_owned();
    assert!(ids(&app.search(near, None).await).contains(&lot));
    assert!(ids(&app.search(words, None).await).contains(&lot));
    assert!(open_data_ids(&app).await.contains(&lot));
    assert!(matched_lots(&app, &market.maker, &maker_wish)
        .await
        .contains(&listing["id"]));
    assert!(matched_lots(&app, donor, &donor_wish)
        .await
        .contains(&maker_lot["id"]));

    suspend(&app, &market, donor).await;
    // A second instance, whose copy loaded before, follows when it catches up.
    let beside = app.spawn_beside(test_settings()).await;
    for instance in [&app, &beside] {
        assert!(!ids(&instance.search(near, None).await).contains(&lot));
        let signed_in = instance.search(near, Some(&market.maker.token)).await;
        assert!(!ids(&signed_in).contains(&lot));
        assert!(!ids(&instance.search(words, None).await).contains(&lot));
    }
    assert!(!open_data_ids(&app).await.contains(&lot));
    // Its matches are retracted on both sides, and the maker is told why.
    assert_eq!(
        matched_lots(&app, &market.maker, &maker_wish).await,
        [maker_lot["id"].clone()]
    );
    assert_eq!(
        matched_lots(&app, donor, &donor_wish).await,
        Vec::<Value>::new()
    );
    let told = app
        .get("/api/v1/notifications", Some(&market.maker.token))
        .await;
    let retracted = told
        .items()
        .iter()
        .find(|n| n["event"] == "match_retracted")
        .unwrap_or_else(|| panic!("{}", told.body));
    assert_eq!(retracted["payload"]["because"], "suspended");
    // A wish made now does not find the lot either.
    let other = market.verified(&app, "hub@materialen.test", "hub").await;
    let late_wish = WishBuilder::doors().create(&app, &other).await;
    let late = matches_of(&app, &other, &late_wish).await;
    let late_lots: Vec<&Value> = late["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|m| &m["listing_id"])
        .collect();
    assert_eq!(late_lots, [&maker_lot["id"]], "{late}");

    // Reinstated: everything comes back.
    verify(&app, &market.broker, &donor.org).await;
    for instance in [&app, &beside] {
        assert!(ids(&instance.search(near, None).await).contains(&lot));
        assert!(ids(&instance.search(words, None).await).contains(&lot));
    }
    assert!(open_data_ids(&app).await.contains(&lot));
    assert!(matched_lots(&app, &market.maker, &maker_wish)
        .await
        .contains(&listing["id"]));
    assert!(matched_lots(&app, donor, &donor_wish)
        .await
        .contains(&maker_lot["id"]));
    let late = matches_of(&app, &other, &late_wish).await;
    assert_eq!(late["items"].as_array().unwrap().len(), 2, "{late}");
    let reserved = reserve(&app, &market.maker, &listing, 1).await;
    assert_eq!(reserved.status, 201, "{}", reserved.body);
}

#[actix_web::test]
async fn the_other_side_of_each_open_reservation_is_told_of_a_suspension() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let listing = ListingBuilder::doors().create(&app, &market.donor).await;
    let held = reserve(&app, &market.maker, &listing, 2).await;
    assert_eq!(held.status, 201, "{}", held.body);
    let cancelled = reserve(&app, &market.maker, &listing, 1).await;
    let cancel = app
        .post(
            &format!(
                "/api/v1/reservations/{}/cancel",
                cancelled.body["id"].as_str().unwrap()
            ),
            Some(&market.maker.token),
            &json!({}),
        )
        .await;
    assert_eq!(cancel.status, 200, "{}", cancel.body);

    suspend(&app, &market, &market.donor).await;
    let told = app
        .get("/api/v1/notifications?limit=100", Some(&market.maker.token))
        .await;
    let about: Vec<&Value> = told
        .items()
        .iter()
        .filter(|n| n["event"] == "reservation_party_suspended")
        .collect();
    // Only the open reservation, once.
    assert_eq!(about.len(), 1, "{}", told.body);
    let payload = &about[0]["payload"];
    assert_eq!(payload["reservation_id"], held.body["id"]);
    assert_eq!(payload["organisation_id"], market.donor.org.as_str());
    assert_eq!(payload["side"], "donor");
    assert_eq!(payload["status"], "held");
    // The suspended side hears of its own suspension, not of its reservations.
    let own = feed_events(&app, &market.donor).await;
    assert!(
        own.contains(&"organisation_suspended".to_owned()),
        "{own:?}"
    );
    assert!(!own.contains(&"reservation_party_suspended".to_owned()));
    // It goes out by mail too, in the reader's words.
    assert_eq!(
        app.sql_count(
            "SELECT count(*) AS count FROM outbox \
             WHERE event = 'reservation_party_suspended' AND channel = 'email'"
        )
        .await,
        1
    );
    // The maker may still cancel; the donor may not.
    let id = held.body["id"].as_str().unwrap();
    app.post(
        &format!("/api/v1/reservations/{id}/cancel"),
        Some(&market.donor.token),
        &json!({}),
    )
    .await
    .assert_problem(403, "organisation-suspended");
    let cancel = app
        .post(
            &format!("/api/v1/reservations/{id}/cancel"),
            Some(&market.maker.token),
            &json!({}),
        )
        .await;
    assert_eq!(cancel.status, 200, "{}", cancel.body);
}

/// Listings made while the broker suspends their organisation: each is refused, or made before
/// and then hidden with the rest. None is left on offer.
#[actix_web::test]
async fn listings_made_during_a_suspension_do_not_stay_on_offer() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let donor = &market.donor;
    let mut passports = Vec::new();
    for _ in 0..12 {
        passports.push(PassportBuilder::doors().create(&app, donor).await);
    }
    let bodies: Vec<Value> = passports
        .iter()
        .map(|passport| ListingBuilder::of(passport).json())
        .collect();
    let creates = bodies
        .iter()
        .map(|body| app.post("/api/v1/listings", Some(&donor.token), body));
    let suspend_path = format!("/api/v1/admin/organisations/{}/suspend", donor.org);
    let nothing = json!({});
    let suspension = app.post(&suspend_path, Some(&market.broker), &nothing);
    let (answers, suspended) =
        futures_util::future::join(futures_util::future::join_all(creates), suspension).await;
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    for answer in &answers {
        assert!(
            answer.status == 201 || answer.status == 403,
            "{}: {}",
            answer.status,
            answer.body
        );
    }
    let on_offer = app
        .sql_count(&format!(
            "SELECT count(*) AS count FROM listings \
             WHERE organisation_id = '{}' AND NOT suspended",
            donor.org
        ))
        .await;
    assert_eq!(on_offer, 0);
    let found = app.search("near=52.0705,4.3007&radius_km=50", None).await;
    assert_eq!(ids(&found), Vec::<String>::new());
}
