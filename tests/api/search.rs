//! Stock search: every filter, the sort orders, keyset pages, open data and bad input.

use crate::support::*;
use chrono::{DateTime, Duration, FixedOffset, Utc};
use kringloop::config::Settings;
use reqwest::Method;
use serde_json::{json, Value};
use std::collections::HashSet;

fn titles(body: &Value) -> Vec<String> {
    field_of_items(body, "title")
}

fn ids(body: &Value) -> Vec<String> {
    field_of_items(body, "id")
}

fn field_of_items(body: &Value, field: &str) -> Vec<String> {
    body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i[field].as_str().unwrap().to_owned())
        .collect()
}

/// The instance's copy of the stock and the database must answer every search alike: the
/// tests of what searches find run with the copy, and again with the database alone.
fn both_ways() -> [Settings; 2] {
    let mut database = test_settings();
    database.search_memory = false;
    [test_settings(), database]
}

async fn search(app: &TestApp, query: &str) -> Vec<String> {
    let response = app.search(query, None).await;
    assert_eq!(response.status, 200, "{query}: {}", response.body);
    let mut found = titles(&response.body);
    found.sort();
    found
}

/// A small stock: four lots of different kinds, places, prices, conditions and dates.
async fn stock(app: &TestApp) -> String {
    let broker = app.broker().await;
    let owner = verified(app, &broker, Market::DONOR, "contractor").await;
    let lots = [
        // (category, name, condition, lat, lon, amount, price, days until available)
        (
            "doors-interior",
            "Eiken deuren",
            "good",
            52.068,
            4.345,
            8,
            Some((2500, "EUR")),
            0,
        ),
        (
            "doors",
            "Stalen branddeuren",
            "fair",
            52.080,
            4.310,
            3,
            Some((900, "KRL")),
            0,
        ),
        (
            "wood-beams",
            "Grenen balken",
            "as_new",
            52.010,
            4.360,
            40,
            None,
            0,
        ),
        (
            "radiators",
            "Gietijzeren radiatoren",
            "poor",
            52.070,
            4.300,
            12,
            Some((5000, "EUR")),
            20,
        ),
    ];
    for (category, name, condition, lat, lon, amount, price, days) in lots {
        let passport = PassportBuilder::doors()
            .category(category)
            .name(name)
            .condition(condition)
            .set("description", Value::Null)
            .set("eural_code", Value::Null)
            .create(app, &owner)
            .await;
        let lot = ListingBuilder::of(&passport)
            .quantity(amount)
            .available_in_days(days)
            .pickup(lat, lon);
        let lot = match price {
            Some((amount, currency)) => lot.price(amount, currency),
            None => lot.free(),
        };
        lot.create(app, &owner).await;
    }
    owner.token
}

#[actix_web::test]
async fn every_filter_narrows_the_stock() {
    for settings in both_ways() {
        every_filter_narrows_the_stock_in(TestApp::spawn_with(settings).await).await;
    }
}

async fn every_filter_narrows_the_stock_in(app: TestApp) {
    stock(&app).await;
    let all = [
        "Eiken deuren",
        "Gietijzeren radiatoren",
        "Grenen balken",
        "Stalen branddeuren",
    ];
    assert_eq!(search(&app, "").await, all);
    // The category includes its subcategories.
    assert_eq!(
        search(&app, "category=doors").await,
        ["Eiken deuren", "Stalen branddeuren"]
    );
    assert_eq!(
        search(&app, "category=doors-interior").await,
        ["Eiken deuren"]
    );
    // Dutch words find Dutch names by their stem.
    assert_eq!(
        search(&app, "q=deur").await,
        ["Eiken deuren", "Stalen branddeuren"]
    );
    assert_eq!(search(&app, "q=radiator").await, ["Gietijzeren radiatoren"]);
    assert_eq!(search(&app, "q=balk").await, ["Grenen balken"]);
    // Radius around the city centre.
    assert_eq!(
        search(&app, "near=52.0705,4.3007&radius_km=2").await,
        ["Gietijzeren radiatoren", "Stalen branddeuren"]
    );
    assert_eq!(
        search(&app, "near=52.0705,4.3007&radius_km=4").await,
        [
            "Eiken deuren",
            "Gietijzeren radiatoren",
            "Stalen branddeuren"
        ]
    );
    assert_eq!(
        search(&app, "status=announced").await,
        ["Gietijzeren radiatoren"]
    );
    let by = (Utc::now() + Duration::days(5))
        .format("%Y-%m-%dT%H:%M:%SZ")
        .to_string();
    assert_eq!(
        search(&app, &format!("available_by={by}")).await,
        ["Eiken deuren", "Grenen balken", "Stalen branddeuren"]
    );
    assert_eq!(
        search(&app, "min_quantity=10").await,
        ["Gietijzeren radiatoren", "Grenen balken"]
    );
    // Free lots always fit a budget; priced ones only in their currency.
    assert_eq!(
        search(&app, "max_price=3000&currency=EUR").await,
        ["Eiken deuren", "Grenen balken"]
    );
    assert_eq!(
        search(&app, "max_price=1000&currency=KRL").await,
        ["Grenen balken", "Stalen branddeuren"]
    );
    assert_eq!(
        search(&app, "condition_min=good").await,
        ["Eiken deuren", "Grenen balken"]
    );
    assert_eq!(
        search(
            &app,
            "category=doors&condition_min=good&near=52.0705,4.3007&radius_km=10"
        )
        .await,
        ["Eiken deuren"]
    );
}

#[actix_web::test]
async fn results_sort_and_page_without_gaps_or_repeats() {
    for settings in both_ways() {
        results_sort_and_page_without_gaps_or_repeats_in(TestApp::spawn_with(settings).await).await;
    }
}

async fn results_sort_and_page_without_gaps_or_repeats_in(app: TestApp) {
    stock(&app).await;
    let nearest = app.search("near=52.0705,4.3007&radius_km=50", None).await;
    let distances: Vec<f64> = nearest.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| i["distance_km"].as_f64().unwrap())
        .collect();
    assert_eq!(distances.len(), 4);
    assert!(distances.windows(2).all(|w| w[0] <= w[1]), "{distances:?}");
    assert_eq!(titles(&nearest.body)[0], "Gietijzeren radiatoren");

    for query in [
        "sort=date",
        "near=52.0705,4.3007&radius_km=50",
        "q=deuren%20OR%20balken%20OR%20radiatoren",
    ] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        for _ in 0..10 {
            let path = match &cursor {
                Some(cursor) => format!("{query}&limit=1&cursor={cursor}"),
                None => format!("{query}&limit=1"),
            };
            let page = app.search(&path, None).await;
            assert_eq!(page.status, 200, "{query}: {}", page.body);
            seen.extend(titles(&page.body));
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        let unique: HashSet<_> = seen.iter().collect();
        assert_eq!(unique.len(), seen.len(), "{query}: no repeats in {seen:?}");
        assert_eq!(seen.len(), 4, "{query}: {seen:?}");
    }
    // A cursor of one order is refused by another.
    let first = app.search("sort=date&limit=1", None).await;
    let cursor = first.body["next_cursor"].as_str().unwrap();
    app.search(&format!("near=52.07,4.30&limit=1&cursor={cursor}"), None)
        .await
        .assert_problem(422, "validation");
}

#[actix_web::test]
async fn bad_search_input_is_a_4xx() {
    let app = TestApp::spawn().await;
    for (query, status, kind) in [
        ("limit=1000", 422, "validation"),
        ("limit=0", 422, "validation"),
        ("limit=-1", 400, "invalid-query"),
        ("near=91,4.3", 422, "validation"),
        ("near=52.07", 422, "validation"),
        ("near=abc,def", 422, "validation"),
        ("near=52.07,4.30&radius_km=-3", 422, "validation"),
        ("near=52.07,4.30&radius_km=100000", 422, "validation"),
        ("radius_km=3", 422, "validation"),
        ("category=no-such-category", 422, "validation"),
        ("status=sold", 422, "validation"),
        ("sort=price", 422, "validation"),
        ("sort=distance", 422, "validation"),
        ("max_price=100", 422, "validation"),
        ("max_price=-1&currency=EUR", 422, "validation"),
        ("min_quantity=-5", 422, "validation"),
        ("condition_min=mint", 400, "invalid-query"),
        ("available_by=tomorrow", 400, "invalid-query"),
        ("cursor=not-a-cursor", 422, "validation"),
        ("unknown=1", 400, "invalid-query"),
    ] {
        let response = app.search(query, None).await;
        assert_eq!(response.status, status, "{query}: {}", response.body);
        response.assert_problem(status, kind);
    }
}

#[actix_web::test]
async fn bad_passport_input_is_a_422_with_pointers() {
    let app = TestApp::spawn().await;
    let owner = Market::open(&app).await.donor.token;
    let cases: Vec<(Value, &str)> = vec![
        (
            json!({"composition": [{"material": "oak", "fraction_ppm": 700000}, {"material": "steel", "fraction_ppm": 400000}]}),
            "/composition",
        ),
        (json!({"category": "spaceships"}), "/category"),
        (json!({"eural_code": "99 99 99"}), "/eural_code"),
        (json!({"eural_code": "17 06 05"}), "/hazards"),
        (
            json!({"origin": {"location": {"lat": 52.0, "lon": 200.0}}}),
            "/origin/location/lon",
        ),
        (
            json!({"unit_mass": {"grams": -5, "per": "piece"}}),
            "/unit_mass/grams",
        ),
        (
            json!({"unit_mass": {"grams": 5, "per": "litre"}}),
            "/unit_mass/per",
        ),
        (json!({"condition": "broken"}), "/condition"),
        (
            json!({"dimensions": {"length_mm": 0}}),
            "/dimensions/length_mm",
        ),
        (
            json!({"documents": [{"url": "javascript:alert(1)", "sha256": "x", "kind": "photo"}]}),
            "/documents/0/url",
        ),
        (json!({"spaceship": true}), "/spaceship"),
    ];
    for (change, pointer) in cases {
        let body = PassportBuilder::doors().with(&change).json();
        let response = app.post("/api/v1/passports", Some(&owner), &body).await;
        response.assert_problem(422, "validation");
        let pointers: Vec<&str> = response.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pointer"].as_str().unwrap())
            .collect();
        assert!(pointers.contains(&pointer), "{change}: {pointers:?}");
    }
    let import = app
        .post(
            "/api/v1/passports/import",
            Some(&owner),
            &json!({"format": "other/9", "passport": PassportBuilder::doors().json()}),
        )
        .await;
    import.assert_problem(422, "validation");
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM passports")
            .await,
        0
    );
}

#[actix_web::test]
async fn bad_listing_input_is_a_422_with_pointers() {
    let app = TestApp::spawn().await;
    let owner = Market::open(&app).await.donor;
    let passport = PassportBuilder::doors().create(&app, &owner).await;
    let owner = owner.token;
    let listing_cases: Vec<(Value, &str)> = vec![
        (
            json!({"quantity": {"amount": -8, "unit": "piece"}}),
            "/quantity/amount",
        ),
        (
            json!({"quantity": {"amount": 0, "unit": "piece"}}),
            "/quantity/amount",
        ),
        (
            json!({"quantity": {"amount": 8, "unit": "barrels"}}),
            "/quantity/unit",
        ),
        (
            json!({"quantity": {"amount": 8.5, "unit": "piece"}}),
            "/quantity/amount",
        ),
        (json!({"pickup": {"lat": -95.0, "lon": 4.3}}), "/pickup/lat"),
        (
            json!({"price": {"amount": -1, "currency": "EUR"}}),
            "/price/amount",
        ),
        (
            json!({"price": {"amount": 100, "currency": "USD"}}),
            "/price/currency",
        ),
        (
            json!({"available_until": (Utc::now() - Duration::days(400)).to_rfc3339()}),
            "/available_until",
        ),
        (json!({"available_from": "next week"}), "/available_from"),
    ];
    for (change, pointer) in listing_cases {
        let body = ListingBuilder::of(&passport).with(&change).json();
        let response = app.post("/api/v1/listings", Some(&owner), &body).await;
        response.assert_problem(422, "validation");
        let pointers: Vec<&str> = response.body["errors"]
            .as_array()
            .unwrap()
            .iter()
            .map(|e| e["pointer"].as_str().unwrap())
            .collect();
        assert!(pointers.contains(&pointer), "{change}: {pointers:?}");
    }
    let unknown = app
        .post(
            "/api/v1/listings",
            Some(&owner),
            &ListingBuilder::of(&json!({"id": "01a22385-1fdd-7714-a7d3-904521947761"})).json(),
        )
        .await;
    unknown.assert_problem(404, "not-found");
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM listings")
            .await,
        0
    );
}

#[actix_web::test]
async fn open_data_shows_no_one() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    app.upload_districts(&broker).await;
    let owner = stock(&app).await;
    // One more lot, withdrawn: it must not be published.
    let gone = ListingBuilder::doors()
        .quantity(2)
        .create(&app, &owner)
        .await;
    app.withdraw(gone["id"].as_str().unwrap(), Some(&owner))
        .await;

    let response = app
        .client
        .get(app.url("/api/v1/open/listings.geojson"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    assert_eq!(response.headers()["content-type"], "application/geo+json");
    let text = response.text().await.unwrap();
    for secret in [
        "sanne",
        "sloop.test",
        "@",
        "Binckhorstlaan",
        "Org of",
        "Owner",
        "organisation",
    ] {
        assert!(!text.contains(secret), "open data leaks {secret:?}: {text}");
    }
    let collection: Value = serde_json::from_str(&text).unwrap();
    let features = collection["features"].as_array().unwrap();
    assert_eq!(features.len(), 4);
    assert!(features.iter().all(|f| f["id"] != gone["id"]));
    for feature in features {
        for coordinate in feature["geometry"]["coordinates"].as_array().unwrap() {
            let value = coordinate.as_f64().unwrap();
            assert!(
                ((value * 1000.0).round() / 1000.0 - value).abs() < 1e-9,
                "{value} is not rounded"
            );
        }
        let properties = feature["properties"].as_object().unwrap();
        let keys: HashSet<&str> = properties.keys().map(String::as_str).collect();
        let allowed: HashSet<&str> = [
            "category",
            "category_nl",
            "category_en",
            "status",
            "quantity",
            "unit",
            "mass_kg",
            "district",
            "available_from",
            "available_until",
        ]
        .into_iter()
        .collect();
        assert!(keys.is_subset(&allowed), "{keys:?}");
    }
    let eiken = features
        .iter()
        .find(|f| f["properties"]["category"] == "doors-interior")
        .unwrap();
    assert_eq!(eiken["properties"]["district"], "Wijk 39 Binckhorst");
    assert_eq!(eiken["properties"]["mass_kg"], 256);

    let paged = app
        .client
        .get(app.url("/api/v1/open/listings.geojson?limit=3"))
        .send()
        .await
        .unwrap();
    let link = paged.headers()["link"].to_str().unwrap().to_owned();
    assert!(link.contains("rel=\"next\""), "{link}");
    let bad = app
        .send(
            Method::GET,
            "/api/v1/open/listings.geojson?after=nope",
            None,
            None,
            &[],
        )
        .await;
    bad.assert_problem(400, "invalid-query");
}

/// Lots at one site lie at exactly the same distance: pages of nearest-first search still
/// hold them in id order, without gaps or repeats, whatever the page size (the scan behind a
/// page takes one lot more than the page and is repeated wider when that one ties). Pages by
/// date within a category tree (one index scan per category, merged) keep date and id order.
#[actix_web::test]
async fn lots_at_the_same_place_page_by_id() {
    for settings in both_ways() {
        lots_at_the_same_place_page_by_id_in(TestApp::spawn_with(settings).await).await;
    }
}

async fn lots_at_the_same_place_page_by_id_in(app: TestApp) {
    let owner = stock(&app).await;
    let passport = PassportBuilder::doors().create(&app, &owner).await;
    let mut same_place = Vec::new();
    for amount in 1..=7 {
        let created = ListingBuilder::of(&passport)
            .quantity(amount)
            .create(&app, &owner)
            .await;
        same_place.push(created["id"].as_str().unwrap().to_owned());
    }
    same_place.sort();
    // "Eiken deuren" lies at the site too; everything else is farther away.
    let near = "near=52.068,4.345&radius_km=20";
    let all = app.search(near, None).await;
    let everything = ids(&all.body);
    assert_eq!(everything.len(), 11, "{}", all.body);
    let at_site = &everything[..8];
    let mut expected = at_site.to_vec();
    expected.sort();
    assert_eq!(at_site, expected, "ties come in id order");
    assert!(same_place.iter().all(|id| at_site.contains(id)));
    for limit in [1, 2, 3, 5] {
        let mut seen = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let path = match &cursor {
                Some(cursor) => format!("{near}&limit={limit}&cursor={cursor}"),
                None => format!("{near}&limit={limit}"),
            };
            let page = app.search(&path, None).await;
            assert_eq!(page.status, 200, "{}", page.body);
            seen.extend(
                page.body["items"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .map(|i| i["id"].as_str().unwrap().to_owned()),
            );
            match page.body["next_cursor"].as_str() {
                Some(next) => cursor = Some(next.to_owned()),
                None => break,
            }
        }
        assert_eq!(seen, everything, "pages of {limit}");
    }
    // By date within a category and its subcategories, the lots of each category merged.
    let doors = app.search("category=doors&limit=100", None).await;
    let dated: Vec<(DateTime<FixedOffset>, String)> = doors.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|i| {
            let from = DateTime::parse_from_rfc3339(i["available_from"].as_str().unwrap());
            (from.unwrap(), i["id"].as_str().unwrap().to_owned())
        })
        .collect();
    assert_eq!(dated.len(), 9, "{}", doors.body);
    let mut sorted = dated.clone();
    sorted.sort();
    assert_eq!(dated, sorted, "date, then id");
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("category=doors&limit=2&cursor={cursor}"),
            None => "category=doors&limit=2".to_owned(),
        };
        let page = app.search(&path, None).await;
        seen.extend(
            page.body["items"]
                .as_array()
                .unwrap()
                .iter()
                .map(|i| i["id"].as_str().unwrap().to_owned()),
        );
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    let ids: Vec<String> = dated.into_iter().map(|(_, id)| id).collect();
    assert_eq!(seen, ids);
}

/// Nearest-first pages, whether the grid of cells or the GiST index answers them (the grid's
/// probe radius is learnt from earlier searches, so a run goes through both), equal what a
/// plain query says: every open lot that passes the filters within the radius, by (exact
/// distance, id).
#[actix_web::test]
async fn nearest_first_pages_equal_a_plain_query() {
    for settings in both_ways() {
        nearest_first_pages_equal_a_plain_query_in(TestApp::spawn_with(settings).await).await;
    }
}

async fn nearest_first_pages_equal_a_plain_query_in(app: TestApp) {
    kringloop::app::seed::synthetic(&app.ctx, 3_000)
        .await
        .unwrap();
    let mut seed = 0x2545_f491_4f6c_dd1du64;
    let mut next = move |below: u64| {
        seed ^= seed << 13;
        seed ^= seed >> 7;
        seed ^= seed << 17;
        seed % below
    };
    let categories = ["doors", "wood", "metals", "bricks-masonry"];
    for round in 0..60 {
        let lat = 52.0705 + (next(2000) as f64 - 1000.0) / 10_000.0;
        let lon = 4.3007 + (next(2000) as f64 - 1000.0) / 10_000.0;
        let radius = [0.3, 1.0, 2.5, 6.0, 20.0][next(5) as usize];
        let limit = [1, 5, 20, 50][next(4) as usize];
        let category = (round % 3 != 0).then(|| categories[next(4) as usize]);
        let condition = (round % 4 == 1).then_some(("good", 3));
        let mut path = format!("near={lat:.4},{lon:.4}&radius_km={radius}&limit={limit}");
        let (x, y, z) = {
            let (la, lo) = ((lat * 1e4).round() / 1e4, (lon * 1e4).round() / 1e4);
            let (la, lo) = (la.to_radians(), lo.to_radians());
            (la.cos() * lo.cos(), la.cos() * lo.sin(), la.sin())
        };
        let chord = 2.0 * (radius / (2.0 * 6371.0088f64)).sin();
        let mut filter = String::new();
        if let Some(code) = category {
            path.push_str(&format!("&category={code}"));
            filter.push_str(&format!(
                " AND category_id IN (WITH RECURSIVE s(id) AS (SELECT id FROM categories \
                 WHERE code = '{code}' UNION ALL SELECT c.id FROM categories c JOIN s \
                 ON c.parent_id = s.id) SELECT id FROM s)"
            ));
        }
        if let Some((name, rank)) = condition {
            path.push_str(&format!("&condition_min={name}"));
            filter.push_str(&format!(" AND condition_rank >= {rank}"));
        }
        let expected = app
            .sql_ids(&format!(
                "SELECT id FROM (SELECT id, pickup_earth <-> cube(ARRAY[{x}, {y}, {z}]) AS chord \
                 FROM listings WHERE status IN ('announced', 'available'){filter}) near \
                 WHERE chord <= {chord} ORDER BY chord, id LIMIT {limit}"
            ))
            .await;
        let page = app.search(&path, None).await;
        assert_eq!(page.status, 200, "{path}: {}", page.body);
        assert_eq!(ids(&page.body), expected, "round {round}: {path}");
    }
    // With the copy on, these pages came from it: it was loaded, with every open lot.
    let open = app
        .sql_ids("SELECT id FROM listings WHERE status IN ('announced', 'available')")
        .await;
    let kept = app.ctx.stock.enabled().then_some(open.len());
    assert_eq!(app.ctx.stock.lots(), kept);
}

/// The copy answers with the very same pages as the database, field for field: for the
/// public and for a signed-in member (who sees pickup addresses), first pages and next ones.
#[actix_web::test]
async fn the_copy_and_the_database_answer_alike() {
    let app = TestApp::spawn().await;
    let owner = stock(&app).await;
    ListingBuilder::doors()
        .quantity(3)
        .available_in_days(2)
        .note("Ophalen na 16:00")
        .available_until_in_days(40)
        .create(&app, &owner)
        .await;
    let [_, database] = both_ways();
    let plain = app.spawn_beside(database).await;
    for query in [
        "near=52.0705,4.3007&radius_km=50",
        "near=52.0705,4.3007&radius_km=50&limit=2",
        "near=52.07,4.35&radius_km=3&category=doors",
        "category=doors&sort=date",
        "category=doors&status=available&max_price=5000&currency=EUR&limit=1",
        "near=52.0705,4.3007&radius_km=10&min_quantity=5&condition_min=fair",
    ] {
        for token in [None, Some(owner.as_str())] {
            let mut path = query.to_owned();
            loop {
                let kept = app.search(&path, token).await;
                let asked = plain.search(&path, token).await;
                assert_eq!(kept.status, 200, "{path}: {}", kept.body);
                assert_eq!(kept.body, asked.body, "{path}");
                match kept.body["next_cursor"].as_str() {
                    Some(next) => path = format!("{query}&cursor={next}"),
                    None => break,
                }
            }
        }
    }
    assert_eq!(app.ctx.stock.lots(), Some(5));
    assert_eq!(plain.ctx.stock.lots(), None);
}

/// Another instance's copy follows the first one's changes when it catches up (its job does
/// that every lag; here the test does): new lots come in and withdrawn ones go. Before it has
/// loaded, the database answers.
#[actix_web::test]
async fn a_copy_follows_changes_when_it_catches_up() {
    let app = TestApp::spawn().await;
    let owner = stock(&app).await;
    let mut lagging = test_settings();
    lagging.search_lag_ms = 60_000;
    let other = app.spawn_beside(lagging).await;
    let near = "near=52.0705,4.3007&radius_km=50";
    let first = ids(&app.search(near, None).await.body);
    assert_eq!(first.len(), 4);
    assert_eq!(ids(&other.search(near, None).await.body), first);
    assert_eq!(other.ctx.stock.lots(), None);
    other.ctx.stock.catch_up(&other.ctx.pool).await.unwrap();
    assert_eq!(other.ctx.stock.lots(), Some(4));

    let new = ListingBuilder::doors()
        .quantity(5)
        .create(&app, &owner)
        .await;
    let new = new["id"].as_str().unwrap().to_owned();
    let gone = &first[0];
    let withdrawn = app.withdraw(gone, Some(&owner)).await;
    assert_eq!(withdrawn.status, 200, "{}", withdrawn.body);
    let now = ids(&app.search(near, None).await.body);
    assert!(now.contains(&new) && !now.contains(gone), "{now:?}");
    // The other instance answers from what it had until it catches up.
    assert_eq!(ids(&other.search(near, None).await.body), first);
    other.ctx.stock.catch_up(&other.ctx.pool).await.unwrap();
    assert_eq!(ids(&other.search(near, None).await.body), now);
    assert_eq!(other.ctx.stock.lots(), Some(4));
}
