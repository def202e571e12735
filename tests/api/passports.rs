//! Passports for real sites: an export anyone can verify offline (the API and the CLI), with
//! each kind of tampering found at the event that fixed what was changed.

use crate::support::*;
use serde_json::{json, Value};
use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_kringloop");

fn photo() -> Value {
    json!({"url": "https://example.org/deur.jpg", "sha256": "a".repeat(64), "kind": "photo"})
}

fn asbestos_clearance() -> Value {
    json!({"url": "https://example.org/vrijgave.pdf", "sha256": "b".repeat(64),
           "kind": "clearance", "title": "Vrijgave asbest", "clears": ["asbestos"]})
}

/// A listed passport of asbestos doors with a photo and a clearance: created,
/// document_attached (2), document_attached (3), listed (4). Returns its export.
async fn exported(app: &TestApp, market: &Market) -> Value {
    let passport = PassportBuilder::asbestos_doors()
        .create(app, &market.donor)
        .await;
    let id = passport["id"].as_str().unwrap();
    for document in [photo(), asbestos_clearance()] {
        let attached = app
            .post(
                &format!("/api/v1/passports/{id}/documents"),
                Some(&market.donor.token),
                &document,
            )
            .await;
        assert_eq!(attached.status, 200, "{}", attached.body);
    }
    ListingBuilder::of(&passport)
        .create(app, &market.donor)
        .await;
    let export = app
        .get(&format!("/api/v1/passports/{id}/export"), None)
        .await;
    assert_eq!(export.status, 200, "{}", export.body);
    export.body
}

async fn verdict(app: &TestApp, export: &Value) -> Value {
    let response = app.post("/api/v1/passports/verify", None, export).await;
    assert_eq!(response.status, 200, "{}", response.body);
    response.body
}

/// (seq, reason) of the first event that does not hold.
async fn broken_at(app: &TestApp, export: &Value) -> (Value, String) {
    let verdict = verdict(app, export).await;
    assert_eq!(verdict["valid"], false, "{verdict}");
    let at = &verdict["broken_at"];
    (at["seq"].clone(), at["reason"].as_str().unwrap().to_owned())
}

#[actix_web::test]
async fn an_export_verifies_offline_and_each_tampering_is_found_at_its_event() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let export = exported(&app, &market).await;
    let verdict = verdict(&app, &export).await;
    assert_eq!(verdict["valid"], true, "{verdict}");
    assert_eq!(verdict["events"], 4);
    assert_eq!(verdict["content_bound"], true);
    assert_eq!(verdict["head"], export["custody"][3]["hash"]);

    let cases: Vec<(&str, Value, i64, &str)> = vec![
        (
            "/passport/name",
            json!("Oak doors, no asbestos"),
            1,
            "content",
        ),
        ("/passport/unit_mass/grams", json!(3200), 1, "content"),
        ("/passport/hazards/0/substance", json!("lead"), 1, "content"),
        ("/code", json!("KL-0000-0000"), 1, "content"),
        (
            "/passport/documents/0/sha256",
            json!("c".repeat(64)),
            2,
            "document",
        ),
        ("/passport/documents/1/clears", json!([]), 3, "content"),
        (
            "/custody/0/organisation_id",
            json!(market.maker.org),
            1,
            "hash",
        ),
        ("/custody/1/payload/kind", json!("datasheet"), 2, "hash"),
        ("/custody/2/at", json!("2020-01-01T00:00:00Z"), 3, "hash"),
        ("/custody/3/kind", json!("withdrawn"), 4, "hash"),
        ("/custody/3/seq", json!(5), 4, "sequence"),
        (
            "/custody/2/prev_hash",
            json!("0".repeat(64)),
            3,
            "prev_hash",
        ),
        ("/custody/1/hash", json!("d".repeat(64)), 2, "hash"),
    ];
    for (pointer, value, seq, reason) in cases {
        let mut tampered = export.clone();
        *tampered.pointer_mut(pointer).unwrap() = value;
        assert_eq!(
            broken_at(&app, &tampered).await,
            (json!(seq), reason.to_owned()),
            "{pointer}"
        );
    }
    let mut dropped = export.clone();
    dropped["custody"].as_array_mut().unwrap().remove(1);
    assert_eq!(
        broken_at(&app, &dropped).await,
        (json!(2), "sequence".to_owned())
    );

    // A tampered export is not imported; an intact one is, and says where it came from.
    let mut tampered = export.clone();
    tampered["passport"]["name"] = json!("Something else");
    app.post(
        "/api/v1/passports/import",
        Some(&market.maker.token),
        &tampered,
    )
    .await
    .assert_problem(422, "validation");
}

#[actix_web::test]
async fn only_the_second_format_can_be_verified() {
    let app = TestApp::spawn().await;
    let first =
        json!({"format": "kringloop-passport/1", "passport": PassportBuilder::doors().json()});
    app.post("/api/v1/passports/verify", None, &first)
        .await
        .assert_problem(422, "validation");
    app.post("/api/v1/passports/verify", None, &json!([1, 2]))
        .await
        .assert_problem(422, "validation");
}

#[actix_web::test]
async fn the_cli_verifies_an_export_file_and_names_the_broken_event() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let export = exported(&app, &market).await;
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("good.json");
    std::fs::write(&good, serde_json::to_vec_pretty(&export).unwrap()).unwrap();
    let mut tampered = export.clone();
    tampered["passport"]["documents"][1]["url"] = json!("https://example.org/other.pdf");
    let bad = dir.path().join("bad.json");
    std::fs::write(&bad, serde_json::to_vec(&tampered).unwrap()).unwrap();

    let ok = Command::new(BINARY)
        .args(["verify", good.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(ok.status.success(), "{ok:?}");
    assert!(String::from_utf8_lossy(&ok.stdout).starts_with("valid: 4 events"));
    let broken = Command::new(BINARY)
        .args(["verify", bad.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(broken.status.code(), Some(1));
    let said = String::from_utf8_lossy(&broken.stderr);
    assert!(
        said.contains("broken at event 3 (document_attached): document"),
        "{said}"
    );
}
