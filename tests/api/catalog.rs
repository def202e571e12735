//! The taxonomy and the districts, kept by the broker.

use crate::stock::{create_listing, create_passport, doors_passport, offer};
use crate::support::TestApp;
use reqwest::Method;
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

#[actix_web::test]
async fn brokers_add_rename_move_and_delete_categories() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    let (member, _) = app
        .verified_member("sanne@sloop.test", "contractor", &broker)
        .await;
    let categories = app.get("/api/v1/categories", None).await.body;
    let doors = find(&categories, "doors")["id"].clone();
    let wood = find(&categories, "wood")["id"].clone();
    let new = json!({"code": "doors-sliding", "parent_id": doors, "name_nl": "Schuifdeuren", "name_en": "Sliding doors",
                     "eural_codes": ["17 02 01"]});

    app.post("/api/v1/admin/categories", Some(&member), &new)
        .await
        .assert_problem(403, "forbidden");
    app.post("/api/v1/admin/categories", None, &new)
        .await
        .assert_problem(401, "unauthenticated");
    let created = app
        .post("/api/v1/admin/categories", Some(&broker), &new)
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let id = created.body["id"].as_str().unwrap().to_owned();
    app.post("/api/v1/admin/categories", Some(&broker), &new)
        .await
        .assert_problem(409, "code-taken");
    let bad =
        json!({"code": "Bad Code", "name_nl": "", "name_en": "x", "eural_codes": ["99 99 99"]});
    let refused = app
        .post("/api/v1/admin/categories", Some(&broker), &bad)
        .await;
    refused.assert_problem(422, "validation");
    assert_eq!(refused.body["errors"].as_array().unwrap().len(), 3);

    let path = format!("/api/v1/admin/categories/{id}");
    let patch = async |body: serde_json::Value| {
        app.send(Method::PATCH, &path, Some(&broker), Some(&body), &[])
            .await
    };
    let renamed = patch(json!({"name_en": "Sliding and pocket doors"})).await;
    assert_eq!(renamed.body["name_en"], "Sliding and pocket doors");
    assert_eq!(renamed.body["parent_id"], doors);
    let moved = patch(json!({"parent_id": wood})).await;
    assert_eq!(moved.body["parent_id"], wood);
    let rooted = patch(json!({"parent_id": null})).await;
    assert!(rooted.body["parent_id"].is_null());
    // A category cannot move below itself.
    let doors_path = format!("/api/v1/admin/categories/{}", doors.as_str().unwrap());
    let interior = find(&categories, "doors-interior")["id"].clone();
    app.send(
        Method::PATCH,
        &doors_path,
        Some(&broker),
        Some(&json!({"parent_id": interior})),
        &[],
    )
    .await
    .assert_problem(422, "validation");
    app.send(
        Method::PATCH,
        &doors_path,
        Some(&member),
        Some(&json!({"name_en": "x"})),
        &[],
    )
    .await
    .assert_problem(403, "forbidden");

    // In use: a passport of the category blocks deletion; unused: deleted.
    let mut passport = doors_passport();
    passport["category"] = json!("doors-sliding");
    let passport = create_passport(&app, &member, &passport).await;
    let listing = create_listing(&app, &member, &offer(&passport["id"], 2, 0)).await;
    // Searches see the tree as it is: wood's subtree, looked up (and kept) before the move,
    // holds the category moved below it at once.
    let in_wood = async || -> bool {
        let found = app
            .get("/api/v1/listings?category=wood&limit=100", None)
            .await;
        assert_eq!(found.status, 200, "{}", found.body);
        found.body["items"]
            .as_array()
            .unwrap()
            .iter()
            .any(|item| item["id"] == listing["id"])
    };
    assert!(!in_wood().await);
    let moved = patch(json!({"parent_id": wood})).await;
    assert_eq!(moved.status, 200, "{}", moved.body);
    assert!(in_wood().await);
    app.send(Method::DELETE, &path, Some(&broker), None, &[])
        .await
        .assert_problem(409, "category-in-use");
    app.send(Method::DELETE, &doors_path, Some(&broker), None, &[])
        .await
        .assert_problem(409, "category-in-use");
    let spare = app
        .post(
            "/api/v1/admin/categories",
            Some(&broker),
            &json!({"code": "spare", "name_nl": "Reserve", "name_en": "Spare"}),
        )
        .await;
    let spare_path = format!(
        "/api/v1/admin/categories/{}",
        spare.body["id"].as_str().unwrap()
    );
    app.send(Method::DELETE, &spare_path, Some(&member), None, &[])
        .await
        .assert_problem(403, "forbidden");
    assert_eq!(
        app.send(Method::DELETE, &spare_path, Some(&broker), None, &[])
            .await
            .status,
        204
    );
    app.send(Method::DELETE, &spare_path, Some(&broker), None, &[])
        .await
        .assert_problem(404, "not-found");
}

#[actix_web::test]
async fn districts_are_uploaded_and_points_assigned() {
    let app = TestApp::spawn().await;
    let broker = app.broker().await;
    // Registered before the districts exist: assigned when they arrive.
    let (member, org) = app.member("mo@maakplaats.test", "makerspace").await;
    let geojson = std::fs::read_to_string(
        std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/districts-den-haag.geojson"),
    )
    .unwrap();
    let geojson: Value = serde_json::from_str(&geojson).unwrap();
    app.send(
        Method::PUT,
        "/api/v1/admin/districts",
        Some(&member),
        Some(&geojson),
        &[],
    )
    .await
    .assert_problem(403, "forbidden");
    let districts = app.upload_districts(&broker).await;
    assert_eq!(districts.as_array().unwrap().len(), 44);
    let listed = app.get("/api/v1/districts", None).await;
    assert_eq!(listed.body.as_array().unwrap().len(), 44);
    let schilderswijk = listed
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == "Wijk 29 Schildersbuurt")
        .unwrap();
    let me = app
        .get(&format!("/api/v1/organisations/{org}"), Some(&member))
        .await;
    assert_eq!(me.body["district_id"], schilderswijk["id"]);

    // Uploading again keeps the ids of districts that stay.
    let again = app.upload_districts(&broker).await;
    assert_eq!(
        again
            .as_array()
            .unwrap()
            .iter()
            .find(|d| d["name"] == "Wijk 29 Schildersbuurt")
            .unwrap()["id"],
        schilderswijk["id"]
    );

    // Bad uploads are refused whole, naming the feature, and change nothing.
    let bowtie = json!({"type": "FeatureCollection", "features": [
        {"type": "Feature", "properties": {"name": "Strik"},
         "geometry": {"type": "Polygon", "coordinates": [[[4.0, 52.0], [4.1, 52.1], [4.1, 52.0], [4.0, 52.1], [4.0, 52.0]]]}}]});
    let refused = app
        .send(
            Method::PUT,
            "/api/v1/admin/districts",
            Some(&broker),
            Some(&bowtie),
            &[],
        )
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
        app.send(
            Method::PUT,
            "/api/v1/admin/districts",
            Some(&broker),
            Some(&bad),
            &[],
        )
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
    crate::support::Response::from(malformed)
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
    assert_eq!(accounts.len(), 8);
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
    let stock = app.get("/api/v1/listings?limit=100", None).await;
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
        .get(
            "/api/v1/listings?near=52.0705,4.3007&radius_km=3&limit=5",
            None,
        )
        .await;
    assert_eq!(
        near.body["items"].as_array().unwrap().len(),
        5,
        "{}",
        near.body
    );
}
