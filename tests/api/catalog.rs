//! The taxonomy and the districts, kept by the broker.

use crate::support::*;
use serde_json::{json, Value};

fn find<'a>(categories: &'a Value, code: &str) -> &'a Value {
    categories
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == code)
        .unwrap_or_else(|| panic!("{code}"))
}

#[actix_web::test]
async fn the_seeded_tree_is_served() {
    let app = TestApp::spawn().await;
    let categories = app.get("/api/v1/categories", None).await;
    assert_eq!(categories.status, 200);
    let all = categories.body.as_array().unwrap();
    assert!(all.len() >= 80, "{}", all.len());
    let doors = find(&categories.body, "doors");
    assert!(doors["parent_id"].is_null());
    assert_eq!(
        find(&categories.body, "doors-interior")["parent_id"],
        doors["id"]
    );
    assert_eq!(
        find(&categories.body, "concrete")["eural_codes"],
        json!(["17 01 01"])
    );
    for category in all {
        assert!(
            category["name_nl"].as_str().unwrap().len() > 1
                && category["name_en"].as_str().unwrap().len() > 1
        );
    }
}

/// The broker adds "doors-sliding" below doors; returns its id.
async fn sliding_doors(app: &TestApp, broker: &str) -> String {
    let categories = app.get("/api/v1/categories", None).await.body;
    let created = app
        .post(
            "/api/v1/admin/categories",
            Some(broker),
            &sliding_doors_below(&find(&categories, "doors")["id"]),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    created.body["id"].as_str().unwrap().to_owned()
}

fn sliding_doors_below(parent: &Value) -> Value {
    json!({"code": "doors-sliding", "parent_id": parent, "name_nl": "Schuifdeuren",
           "name_en": "Sliding doors", "eural_codes": ["17 02 01"]})
}

#[actix_web::test]
async fn only_brokers_add_categories_with_unique_valid_codes() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let (broker, member) = (&market.broker, &market.donor.token);
    let categories = app.get("/api/v1/categories", None).await.body;
    let new = sliding_doors_below(&find(&categories, "doors")["id"]);

    app.post("/api/v1/admin/categories", Some(member), &new)
        .await
        .assert_problem(403, "forbidden");
    app.post("/api/v1/admin/categories", None, &new)
        .await
        .assert_problem(401, "unauthenticated");
    let created = app
        .post("/api/v1/admin/categories", Some(broker), &new)
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    app.post("/api/v1/admin/categories", Some(broker), &new)
        .await
        .assert_problem(409, "code-taken");
    let bad =
        json!({"code": "Bad Code", "name_nl": "", "name_en": "x", "eural_codes": ["99 99 99"]});
    let refused = app
        .post("/api/v1/admin/categories", Some(broker), &bad)
        .await;
    refused.assert_problem(422, "validation");
    assert_eq!(refused.body["errors"].as_array().unwrap().len(), 3);
}

#[actix_web::test]
async fn brokers_rename_and_move_categories_but_never_below_themselves() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let (broker, member) = (&market.broker, &market.donor.token);
    let categories = app.get("/api/v1/categories", None).await.body;
    let doors = find(&categories, "doors")["id"].clone();
    let wood = find(&categories, "wood")["id"].clone();
    let id = sliding_doors(&app, broker).await;
    let path = format!("/api/v1/admin/categories/{id}");

    let renamed = app
        .patch(
            &path,
            Some(broker),
            &json!({"name_en": "Sliding and pocket doors"}),
        )
        .await;
    assert_eq!(renamed.body["name_en"], "Sliding and pocket doors");
    assert_eq!(renamed.body["parent_id"], doors);
    let moved = app
        .patch(&path, Some(broker), &json!({"parent_id": wood}))
        .await;
    assert_eq!(moved.body["parent_id"], wood);
    let rooted = app
        .patch(&path, Some(broker), &json!({"parent_id": null}))
        .await;
    assert!(rooted.body["parent_id"].is_null());
    // A category cannot move below itself.
    let doors_path = format!("/api/v1/admin/categories/{}", doors.as_str().unwrap());
    let interior = find(&categories, "doors-interior")["id"].clone();
    app.patch(&doors_path, Some(broker), &json!({"parent_id": interior}))
        .await
        .assert_problem(422, "validation");
    app.patch(&doors_path, Some(member), &json!({"name_en": "x"}))
        .await
        .assert_problem(403, "forbidden");
}

#[actix_web::test]
async fn searches_see_a_moved_category_at_once() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let categories = app.get("/api/v1/categories", None).await.body;
    let wood = find(&categories, "wood")["id"].clone();
    let id = sliding_doors(&app, &market.broker).await;
    let passport = PassportBuilder::doors()
        .category("doors-sliding")
        .create(&app, &market.donor)
        .await;
    let listing = ListingBuilder::of(&passport)
        .quantity(2)
        .create(&app, &market.donor)
        .await;
    // Searches see the tree as it is: wood's subtree, looked up (and kept) before the move,
    // holds the category moved below it at once.
    let in_wood = async || -> bool {
        let found = app.search("category=wood&limit=100", None).await;
        found.items().iter().any(|item| item["id"] == listing["id"])
    };
    assert!(!in_wood().await);
    let moved = app
        .patch(
            &format!("/api/v1/admin/categories/{id}"),
            Some(&market.broker),
            &json!({"parent_id": wood}),
        )
        .await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert!(in_wood().await);
}

#[actix_web::test]
async fn categories_in_use_stay_and_unused_ones_are_deleted() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let (broker, member) = (
        Some(market.broker.as_str()),
        Some(market.donor.token.as_str()),
    );
    let categories = app.get("/api/v1/categories", None).await.body;
    let doors_path = format!(
        "/api/v1/admin/categories/{}",
        find(&categories, "doors")["id"].as_str().unwrap()
    );
    let path = format!(
        "/api/v1/admin/categories/{}",
        sliding_doors(&app, &market.broker).await
    );
    // In use: a passport of the category blocks deletion, of it and of its parent.
    PassportBuilder::doors()
        .category("doors-sliding")
        .create(&app, &market.donor)
        .await;
    app.delete(&path, broker)
        .await
        .assert_problem(409, "category-in-use");
    app.delete(&doors_path, broker)
        .await
        .assert_problem(409, "category-in-use");

    // Unused: deleted, by the broker only.
    let spare = app
        .post(
            "/api/v1/admin/categories",
            broker,
            &json!({"code": "spare", "name_nl": "Reserve", "name_en": "Spare"}),
        )
        .await;
    let spare_path = format!(
        "/api/v1/admin/categories/{}",
        spare.body["id"].as_str().unwrap()
    );
    app.delete(&spare_path, member)
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(app.delete(&spare_path, broker).await.status, 204);
    app.delete(&spare_path, broker)
        .await
        .assert_problem(404, "not-found");
}

fn districts_geojson() -> Value {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/districts-den-haag.geojson");
    serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap()
}

fn schilderswijk(districts: &Value) -> Value {
    districts
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "Wijk 29 Schildersbuurt")
        .unwrap()
        .clone()
}

#[actix_web::test]
async fn districts_are_uploaded_by_brokers_and_points_assigned() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    // Registered before the districts exist: assigned when they arrive.
    let member = unverified(&app, "mo@maakplaats.test", "makerspace").await;
    app.put(
        "/api/v1/admin/districts",
        Some(&member.token),
        &districts_geojson(),
    )
    .await
    .assert_problem(403, "forbidden");
    let districts = app.upload_districts(&broker).await;
    assert_eq!(districts.as_array().unwrap().len(), 44);
    let listed = app.get("/api/v1/districts", None).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 44);
    let me = app
        .get(
            &format!("/api/v1/organisations/{}", member.org),
            Some(&member.token),
        )
        .await;
    assert_eq!(me.body["district_id"], schilderswijk(&listed.body)["id"]);
}

#[actix_web::test]
async fn uploading_districts_again_keeps_the_ids_of_those_that_stay() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    let first = app.upload_districts(&broker).await;
    let again = app.upload_districts(&broker).await;
    assert_eq!(schilderswijk(&again)["id"], schilderswijk(&first)["id"]);
}

#[actix_web::test]
async fn bad_district_uploads_are_refused_whole_and_change_nothing() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    app.upload_districts(&broker).await;
    // Refused naming the feature.
    let bowtie = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Strik"},
         "geometry": {"type": "Polygon", "coordinates": [[[4.0, 52.0], [4.1, 52.1], [4.1, 52.0], [4.0, 52.1], [4.0, 52.0]]]}}]});
    let refused = app
        .put("/api/v1/admin/districts", Some(&broker), &bowtie)
        .await;
    refused.assert_problem(422, "validation");
    assert!(
        refused.body["errors"][0]["detail"]
            .as_str()
            .unwrap()
            .contains("Strik"),
        "{}",
        refused.body
    );
    for bad in [
        json!({"type": "FeatureCollection"}),
        json!([1, 2]),
        json!({"type": "Feature", "geometry": null, "properties": {}}),
    ] {
        app.put("/api/v1/admin/districts", Some(&broker), &bad)
            .await
            .assert_problem(422, "validation");
    }
    let malformed = app
        .client
        .put(app.url("/api/v1/admin/districts"))
        .bearer_auth(&broker)
        .header("content-type", "application/geo+json")
        .body("{\"type\": \"FeatureCollection\", ")
        .send()
        .await
        .unwrap();
    Response::from(malformed)
        .await
        .assert_problem(400, "malformed-body");
    assert_eq!(
        app.get("/api/v1/districts", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        44
    );
}

#[actix_web::test]
async fn the_demo_city_and_synthetic_stock_load() {
    let app = TestApp::spawn().await;
    let accounts = kringloop::app::seed::demo(&app.ctx).await.unwrap().accounts;
    assert_eq!(accounts.len(), 7);
    // Every demo account can log in with the demo password and is verified.
    for email in &accounts {
        let tokens = app
            .post(
                "/api/v1/auth/token",
                None,
                &json!({"email": email, "password": kringloop::app::seed::DEMO_PASSWORD}),
            )
            .await;
        assert_eq!(tokens.status, 200, "{email}");
        let me = app
            .get("/api/v1/me", tokens.body["access_token"].as_str())
            .await;
        assert_eq!(me.body["organisation"]["status"], "verified", "{email}");
    }
    let kinds = app
        .sql_count("SELECT count(DISTINCT kind) AS count FROM organisations")
        .await;
    assert_eq!(kinds, 7);
    assert_eq!(
        app.get("/api/v1/districts", None)
            .await
            .body
            .as_array()
            .unwrap()
            .len(),
        4
    );
    let stock = app.search("limit=100", None).await;
    let statuses: Vec<&str> = stock.body["items"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["status"].as_str().unwrap())
        .collect();
    assert_eq!(statuses.len(), 8);
    assert!(
        statuses.contains(&"announced") && statuses.contains(&"available"),
        "{statuses:?}"
    );
    let custody = app
        .sql_count("SELECT count(*) AS count FROM custody_events")
        .await;
    assert_eq!(custody, 16, "created and listed for each of the 8 lots");

    assert_eq!(
        kringloop::app::seed::synthetic(&app.ctx, 1234)
            .await
            .unwrap(),
        1234
    );
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM listings")
            .await,
        8 + 1234
    );
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM passports")
            .await,
        8 + 1234
    );
    let near = app
        .search("near=52.0705,4.3007&radius_km=3&limit=5", None)
        .await;
    assert_eq!(
        near.body["items"].as_array().unwrap().len(),
        5,
        "{}",
        near.body
    );
}
