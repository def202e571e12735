//! The contract is complete: every operation lists the answers its shape can give, each error
//! answer is problem+json, and what the fuzzer (`.ci/schemathesis`) found stays fixed.

use crate::support::{Market, PassportBuilder, TestApp};
use serde_json::{json, Value};

fn operations(doc: &Value) -> Vec<(String, String, &Value)> {
    let mut operations = Vec::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for (method, operation) in item.as_object().unwrap() {
            operations.push((method.to_uppercase(), path.clone(), operation));
        }
    }
    operations
}

/// A response as the document has it, its reference to `components.responses` followed.
fn response<'a>(doc: &'a Value, response: &'a Value) -> &'a Value {
    match response["$ref"].as_str() {
        Some(reference) => {
            let name = reference.trim_start_matches("#/components/responses/");
            &doc["components"]["responses"][name]
        }
        None => response,
    }
}

#[test]
fn every_operation_lists_the_answers_its_shape_can_give() {
    let doc: Value = serde_json::from_str(&kringloop::http::openapi_json()).unwrap();
    let mut missing = Vec::new();
    for (method, path, operation) in operations(&doc) {
        let listed = |status: &str| operation["responses"].get(status).is_some();
        let parameters = operation["parameters"]
            .as_array()
            .cloned()
            .unwrap_or_default();
        let has = |place: &str, name: Option<&str>| {
            parameters.iter().any(|parameter| {
                parameter["in"] == place
                    && name.is_none_or(|name| {
                        parameter["name"]
                            .as_str()
                            .is_some_and(|n| n.eq_ignore_ascii_case(name))
                    })
            })
        };
        let secured = operation["security"]
            .as_array()
            .is_some_and(|requirements| requirements.iter().any(|r| r.get("bearer").is_some()));
        let mut expected = Vec::new();
        if secured {
            expected.push("401");
        }
        if has("path", None) {
            expected.push("404");
        }
        if has("query", None) {
            expected.push("400");
        }
        if operation.get("requestBody").is_some() {
            expected.extend(["413", "415", "422"]);
        }
        if has("header", Some("If-Match")) {
            expected.extend(["412", "428"]);
        }
        if path.starts_with("/api/") {
            expected.push("503");
        }
        for status in expected {
            if !listed(status) {
                missing.push(format!("{method} {path}: {status}"));
            }
        }
    }
    assert!(missing.is_empty(), "not listed:\n{}", missing.join("\n"));
}

#[test]
fn every_error_answer_is_a_problem() {
    let doc: Value = serde_json::from_str(&kringloop::http::openapi_json()).unwrap();
    let mut wrong = Vec::new();
    for (method, path, operation) in operations(&doc) {
        for (status, listed) in operation["responses"].as_object().unwrap() {
            let error = status.starts_with('4') || status.starts_with('5');
            // Readiness answers its own report, also when it is not ready.
            if !error || path == "/readyz" {
                continue;
            }
            let content = &response(&doc, listed)["content"];
            let problem = &content["application/problem+json"]["schema"]["$ref"];
            if content.as_object().map(|c| c.len()) != Some(1)
                || problem != "#/components/schemas/Problem"
            {
                wrong.push(format!("{method} {path}: {status}"));
            }
        }
    }
    assert!(wrong.is_empty(), "not problem+json:\n{}", wrong.join("\n"));
}

#[test]
fn a_shared_answer_names_its_problem_types() {
    let doc: Value = serde_json::from_str(&kringloop::http::openapi_json()).unwrap();
    let unauthenticated = &doc["components"]["responses"]["Unauthenticated"]["description"];
    assert!(
        unauthenticated
            .as_str()
            .unwrap()
            .contains("urn:kringloop:problem:unauthenticated"),
        "{unauthenticated}"
    );
    let me = &doc["paths"]["/api/v1/me"]["get"]["responses"];
    assert!(me.get("401").is_some() && me.get("503").is_some(), "{me}");
}

/// An optional token that is there but not valid is refused, so those operations say so.
#[actix_web::test]
async fn an_invalid_token_on_a_public_read_is_a_documented_401() {
    let app = TestApp::spawn().await;
    let doc: Value = serde_json::from_str(&kringloop::http::openapi_json()).unwrap();
    assert!(doc["paths"]["/api/v1/listings"]["get"]["responses"]
        .get("401")
        .is_some());
    app.get("/api/v1/listings", Some("not-a-token"))
        .await
        .assert_problem(401, "unauthenticated");
}

#[actix_web::test]
async fn verify_takes_only_what_an_export_is() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let passport = PassportBuilder::doors().create(&app, &market.donor).await;
    let id = passport["id"].as_str().unwrap();
    let export = app
        .get(
            &format!("/api/v1/passports/{id}/export"),
            Some(&market.donor.token),
        )
        .await;
    assert_eq!(export.status, 200, "{}", export.body);
    let verdict = app
        .post("/api/v1/passports/verify", None, &export.body)
        .await;
    assert_eq!(verdict.status, 200, "{}", verdict.body);
    assert_eq!(verdict.body["valid"], true, "{}", verdict.body);

    // A member an export does not have was vouched for unread (200, valid).
    let mut extended = export.body.clone();
    extended["signed_by"] = json!("the mayor");
    let refused = app.post("/api/v1/passports/verify", None, &extended).await;
    refused.assert_problem(422, "validation");
    assert_eq!(
        refused.body["errors"][0]["pointer"], "/signed_by",
        "{}",
        refused.body
    );

    // An event's payload is an object, as the document says.
    let mut odd = export.body.clone();
    odd["custody"][0]["payload"] = json!([null, null]);
    let refused = app.post("/api/v1/passports/verify", None, &odd).await;
    refused.assert_problem(422, "validation");
    assert_eq!(
        refused.body["errors"][0]["pointer"], "/custody/0/payload",
        "{}",
        refused.body
    );
}

#[actix_web::test]
async fn the_export_refuses_a_files_mode_it_does_not_know_as_a_bad_query() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let passport = PassportBuilder::doors().create(&app, &market.donor).await;
    let id = passport["id"].as_str().unwrap();
    let token = Some(market.donor.token.as_str());
    for (files, status) in [("list", 200), ("embed", 200)] {
        let answer = app
            .get(
                &format!("/api/v1/passports/{id}/export?files={files}"),
                token,
            )
            .await;
        assert_eq!(answer.status, status, "{files}: {}", answer.body);
    }
    app.get(&format!("/api/v1/passports/{id}/export?files=all"), token)
        .await
        .assert_problem(400, "invalid-query");
}

/// The fuzzer, as the broker, suspended the broker's own organisation: after that no broker
/// could change anything.
#[actix_web::test]
async fn the_platforms_own_organisation_cannot_be_suspended() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let me = app.get("/api/v1/me", Some(&market.broker)).await;
    let platform = me.body["organisation"]["id"].as_str().unwrap().to_owned();
    app.post(
        &format!("/api/v1/admin/organisations/{platform}/suspend"),
        Some(&market.broker),
        &json!({"reason": "by mistake"}),
    )
    .await
    .assert_problem(409, "platform-organisation");
    let me = app.get("/api/v1/me", Some(&market.broker)).await;
    assert_eq!(me.body["organisation"]["status"], "verified", "{}", me.body);

    // Any other organisation still can be.
    let suspended = app
        .post(
            &format!("/api/v1/admin/organisations/{}/suspend", market.donor.org),
            Some(&market.broker),
            &json!({"reason": "fraud"}),
        )
        .await;
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    assert_eq!(suspended.body["status"], "suspended");
}

/// A bound the document states is one the server keeps: outside it, 422 naming the parameter.
#[actix_web::test]
async fn documented_bounds_are_enforced() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let doc: Value = serde_json::from_str(&kringloop::http::openapi_json()).unwrap();
    let limit = doc["paths"]["/api/v1/open/listings.geojson"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|parameter| parameter["name"] == "limit")
        .unwrap()
        .clone();
    assert_eq!(limit["schema"]["maximum"], 10000, "{limit}");
    // The open listings' page was cut down to 10000 (and up to 1) instead of refused.
    for limit in ["0", "10001", "-5"] {
        let answer = app
            .get(
                &format!("/api/v1/open/listings.geojson?limit={limit}"),
                None,
            )
            .await;
        answer.assert_problem(422, "validation");
        assert_eq!(
            answer.body["errors"][0]["pointer"], "/limit",
            "{}",
            answer.body
        );
    }
    let page = app
        .get("/api/v1/open/listings.geojson?limit=10000", None)
        .await;
    assert_eq!(page.status, 200, "{}", page.body);

    for (path, parameter) in [
        ("/api/v1/pipeline?months=37", "/months"),
        ("/api/v1/pipeline?months=0", "/months"),
        ("/api/v1/forecast?months=13", "/months"),
        (
            "/api/v1/listings?near=52.07,4.30&radius_km=501",
            "/radius_km",
        ),
        ("/api/v1/listings?near=52.07,4.30&radius_km=0", "/radius_km"),
        ("/api/v1/listings?limit=101", "/limit"),
        // A month is four digits, a hyphen and two: a sign was taken too.
        ("/api/v1/flows?from=%2B123-%2B1", "/from"),
    ] {
        let answer = app.get(path, Some(&market.broker)).await;
        answer.assert_problem(422, "validation");
        assert_eq!(
            answer.body["errors"][0]["pointer"], parameter,
            "{path}: {}",
            answer.body
        );
    }
}

#[actix_web::test]
async fn an_enumerated_parameter_refuses_other_values() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let doc: Value = serde_json::from_str(&kringloop::http::openapi_json()).unwrap();
    let by = doc["paths"]["/api/v1/flows/sankey"]["get"]["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .find(|parameter| parameter["name"] == "by")
        .unwrap()
        .clone();
    assert_eq!(
        by["schema"]["enum"],
        json!(["district", "category"]),
        "{by}"
    );
    app.get("/api/v1/flows/sankey?by=diagonal", Some(&market.broker))
        .await
        .assert_problem(400, "invalid-query");
    let diagram = app
        .get("/api/v1/flows/sankey?by=category", Some(&market.broker))
        .await;
    assert_eq!(diagram.status, 200, "{}", diagram.body);
    app.get("/api/v1/listings?sort=price", None)
        .await
        .assert_problem(422, "validation");
}
