//! The committed OpenAPI document is the one the code generates.

#[test]
fn committed_document_matches_the_code() {
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("openapi/kringloop.json");
    let generated = kringloop::http::openapi_json();
    if std::env::var_os("UPDATE_OPENAPI").is_some() {
        std::fs::write(&path, &generated).unwrap();
    }
    let committed = std::fs::read_to_string(&path).unwrap_or_default();
    assert!(
        committed == generated,
        "openapi/kringloop.json differs from the code. Regenerate it with\n    \
         UPDATE_OPENAPI=1 cargo test openapi\nor  cargo run -- openapi > openapi/kringloop.json\nand commit it."
    );
}

#[test]
fn every_path_is_documented_with_problem_answers() {
    let doc: serde_json::Value = serde_json::from_str(&kringloop::http::openapi_json()).unwrap();
    let paths = doc["paths"].as_object().unwrap();
    for expected in [
        "/api/v1/auth/register",
        "/api/v1/auth/token",
        "/api/v1/auth/refresh",
        "/api/v1/auth/logout",
        "/api/v1/me",
        "/api/v1/organisations/{id}",
        "/api/v1/admin/organisations/{id}/verify",
        "/healthz",
        "/readyz",
    ] {
        assert!(paths.contains_key(expected), "{expected} is missing");
    }
    assert!(doc["components"]["schemas"]["Problem"].is_object());
    assert!(doc["components"]["securitySchemes"]["bearer"].is_object());
}
