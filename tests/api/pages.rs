//! The pages' rules, over HTTP as a browser speaks it: sessions, CSRF, where sign-in leads,
//! that another organisation's objects are out of reach through pages as through the API, and
//! that the pages answer as the API does.

use crate::support::*;
use serde_json::Value;
use uuid::Uuid;

const PASSWORD: &str = "correct horse battery";

async fn wish_count(app: &TestApp, member: &Member) -> usize {
    let wishes = app.get("/api/v1/wishes", Some(&member.token)).await;
    wishes.body["items"].as_array().unwrap().len()
}

#[actix_web::test]
async fn a_form_without_its_token_or_from_another_site_is_refused() {
    let app = TestApp::spawn().await;
    let market = Market::in_districts(&app).await;
    let mut maker = PageClient::new(&app.base);
    maker.sign_in(&market.maker.email, PASSWORD).await;
    maker.get("/").await;
    let district = app.get("/api/v1/districts", None).await.body[0]["code"]
        .as_str()
        .unwrap()
        .to_owned();
    let wish = [
        ("category", "doors-interior"),
        ("keywords", "eiken"),
        ("district", district.as_str()),
        ("radius_km", "10"),
        ("amount", "4"),
        ("unit", "piece"),
        ("notify", "daily"),
    ];
    let body = |csrf: &str| {
        let mut fields = vec![("csrf", csrf)];
        fields.extend_from_slice(&wish);
        serde_urlencoded::to_string(&fields).unwrap()
    };
    // No token, a wrong token, the right token from another site.
    let refused = [
        (body(""), vec![]),
        (body("not-the-token-of-this-session-at-all-no"), vec![]),
        (
            body(&maker.csrf.clone()),
            vec![("origin", "https://evil.example")],
        ),
        (
            body(&maker.csrf.clone()),
            vec![("sec-fetch-site", "cross-site")],
        ),
    ];
    for (body, headers) in refused {
        let answer = maker.post_raw("/workspace/wishes", body, &headers).await;
        assert_eq!(answer.status, 403, "{headers:?}: {}", answer.body);
        assert!(answer.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/html"));
    }
    assert_eq!(wish_count(&app, &market.maker).await, 0);
    let made = maker.post("/workspace/wishes", &wish).await;
    assert_eq!(made.status, 303, "{}", made.body);
    assert!(made.location().starts_with("/workspace/wishes/"));
    assert_eq!(wish_count(&app, &market.maker).await, 1);
}

#[actix_web::test]
async fn the_session_cookie_is_http_only_and_logging_out_ends_the_session() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let mut page = PageClient::new(&app.base);
    page.get("/login").await;
    let answer = page
        .post(
            "/login",
            &[
                ("email", &market.donor.email),
                ("password", PASSWORD),
                ("next", "/workspace"),
            ],
        )
        .await;
    assert_eq!(answer.status, 303);
    assert_eq!(answer.location(), "/workspace");
    let cookie = answer
        .set_cookies()
        .into_iter()
        .find(|c| c.starts_with("kringloop_session="))
        .unwrap();
    for attribute in ["HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(cookie.contains(attribute), "{cookie}");
    }
    // Served over plain HTTP here; behind TLS the cookie is Secure (see below).
    assert!(!cookie.contains("Secure"), "{cookie}");
    let stolen = page.cookies["kringloop_session"].clone();
    assert_eq!(page.get("/workspace").await.status, 200);
    page.get("/workspace").await;
    assert_eq!(page.post("/logout", &[]).await.status, 303);
    assert!(!page.cookies.contains_key("kringloop_session"));
    // The old cookie no longer opens anything.
    page.cookies.insert("kringloop_session".into(), stolen);
    let after = page.get("/workspace").await;
    assert_eq!(after.status, 303);
    assert!(after.location().starts_with("/login?next="));

    // A proxy that terminates TLS says so; the cookie is then Secure.
    let mut tls = PageClient::new(&app.base);
    tls.get("/login").await;
    let body = serde_urlencoded::to_string([
        ("csrf", tls.csrf.as_str()),
        ("email", market.donor.email.as_str()),
        ("password", PASSWORD),
    ])
    .unwrap();
    let answer = tls
        .post_raw("/login", body, &[("x-forwarded-proto", "https")])
        .await;
    assert_eq!(answer.status, 303, "{}", answer.body);
    assert!(answer
        .set_cookies()
        .iter()
        .any(|c| c.starts_with("kringloop_session=") && c.contains("Secure")));
}

#[actix_web::test]
async fn sign_in_leads_back_to_local_pages_only_and_wrong_passwords_are_throttled() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let mut page = PageClient::new(&app.base);
    let away = page.get("/workspace/account").await;
    assert_eq!(away.status, 303);
    assert_eq!(away.location(), "/login?next=%2Fworkspace%2Faccount");
    page.get("/login").await;
    let answer = page
        .post(
            "/login",
            &[
                ("email", &market.maker.email),
                ("password", PASSWORD),
                ("next", "https://evil.example/"),
            ],
        )
        .await;
    assert_eq!(answer.location(), "/");

    let mut guesser = PageClient::new(&app.base);
    guesser.get("/login").await;
    let limit = app.ctx.policy.login_max_failures_per_account;
    for _ in 0..limit {
        let wrong = guesser
            .post(
                "/login",
                &[("email", &market.donor.email), ("password", "wrong guess!")],
            )
            .await;
        assert_eq!(wrong.status, 401, "{}", wrong.body);
        assert!(wrong.body.contains("id=\"login-error\""));
    }
    let blocked = guesser
        .post(
            "/login",
            &[("email", &market.donor.email), ("password", PASSWORD)],
        )
        .await;
    assert_eq!(blocked.status, 429);
    assert!(blocked.headers.contains_key("retry-after"));
    // The API counts the same failures.
    let api = app
        .post(
            "/api/v1/auth/token",
            None,
            &serde_json::json!({"email": market.donor.email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(api.status, 429);
}

#[actix_web::test]
async fn another_organisations_objects_are_out_of_reach_through_pages() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let hidden = PassportBuilder::asbestos_doors()
        .create(&app, &market.donor)
        .await;
    let hidden_id = hidden["id"].as_str().unwrap();
    let listed = ListingBuilder::doors().create(&app, &market.donor).await;
    let listing_id = listed["id"].as_str().unwrap();
    let passport_id = listed["passport_id"].as_str().unwrap();
    let wish = WishBuilder::doors().create(&app, &market.donor).await;
    let wish_id = wish["id"].as_str().unwrap();
    let donor_org = market.donor.org.clone();

    let mut maker = PageClient::new(&app.base);
    maker.sign_in(&market.maker.email, PASSWORD).await;
    maker.get("/workspace").await;
    for path in [
        format!("/workspace/passports/{hidden_id}"),
        format!("/workspace/passports/{passport_id}"),
        format!("/workspace/wishes/{wish_id}"),
        format!("/workspace/reservations/{}", Uuid::new_v4()),
    ] {
        let answer = maker.get(&path).await;
        assert_eq!(answer.status, 404, "{path}");
        assert!(!answer.body.contains("Oak doors with asbestos"), "{path}");
    }
    maker.get("/workspace").await;
    let sha = "a".repeat(64);
    let writes: [(String, Vec<(&str, &str)>); 4] = [
        (
            format!("/workspace/passports/{hidden_id}/clearance"),
            vec![
                ("clears", "asbestos"),
                ("title", "fake"),
                ("url", "https://x.example/a.pdf"),
                ("sha256", &sha),
            ],
        ),
        (
            format!("/workspace/passports/{passport_id}/listings"),
            vec![
                ("amount", "1"),
                ("unit", "piece"),
                ("available_from", "2026-12-01"),
                ("lat", "52.07"),
                ("lon", "4.3"),
            ],
        ),
        (format!("/workspace/listings/{listing_id}/withdraw"), vec![]),
        (format!("/workspace/wishes/{wish_id}/delete"), vec![]),
    ];
    for (path, fields) in writes {
        let answer = maker.post(&path, &fields).await;
        assert!(
            answer.status == 403 || answer.status == 404,
            "{path}: {} {}",
            answer.status,
            answer.body
        );
    }
    // Nothing changed.
    let still = app
        .get(
            &format!("/api/v1/passports/{hidden_id}"),
            Some(&market.donor.token),
        )
        .await;
    assert_eq!(still.body["uncleared_hazards"][0], "asbestos");
    assert_eq!(listing_now(&app, &listed).await["status"], "available");
    assert_eq!(wish_count(&app, &market.donor).await, 1);

    // The console is the broker's.
    assert_eq!(maker.get("/console").await.status, 403);
    assert_eq!(maker.get("/console/flows").await.status, 403);
    assert_eq!(
        maker.get("/console/flows.csv?chart=sankey").await.status,
        403
    );
    maker.get("/workspace").await;
    let suspend = maker
        .post(
            &format!("/console/organisations/{donor_org}/status"),
            &[("status", "suspended")],
        )
        .await;
    assert_eq!(suspend.status, 403);
    let donor = app
        .get(
            &format!("/api/v1/organisations/{donor_org}"),
            Some(&market.broker),
        )
        .await;
    assert_eq!(donor.body["status"], "verified", "{}", donor.body);
}

#[actix_web::test]
async fn the_map_answers_as_the_api_search_and_page_errors_are_pages() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let lot = ListingBuilder::doors()
        .pickup(52.068_123, 4.345_678)
        .create(&app, &market.donor)
        .await;
    let mut visitor = PageClient::new(&app.base);
    let map = visitor.get("/?q=eiken").await;
    assert_eq!(map.status, 200);
    let api: Value = app.search("q=eiken", None).await.body;
    for item in api["items"].as_array().unwrap() {
        assert!(map.body.contains(item["id"].as_str().unwrap()));
    }
    assert!(map.body.contains(lot["id"].as_str().unwrap()));
    // The exact pickup point is not on the public map: three decimals at most.
    assert!(!map.body.contains("52.068123"), "exact point on the map");
    assert!(map.body.contains("52.068"));
    let policy = map.headers["content-security-policy"].to_str().unwrap();
    assert!(policy.contains("default-src 'self'") && policy.contains("frame-ancestors 'none'"));
    assert_eq!(map.headers["cache-control"], "no-store");

    let missing = visitor.get(&format!("/lots/{}", Uuid::new_v4())).await;
    assert_eq!(missing.status, 404);
    assert!(missing.headers["content-type"]
        .to_str()
        .unwrap()
        .starts_with("text/html"));
    let api_missing = app
        .get(&format!("/api/v1/listings/{}", Uuid::new_v4()), None)
        .await;
    assert_eq!(api_missing.status, 404);
    let bad = visitor.get("/?radius_km=far&district=nowhere").await;
    assert_eq!(bad.status, 422);
    assert!(bad.body.contains("role=\"alert\""));

    // Both languages, switched by the visitor.
    let english = visitor.get("/lang/en?next=/").await;
    assert_eq!(english.status, 303);
    assert!(visitor.get("/").await.body.contains("<html lang=\"en\">"));
    let dutch = visitor.get("/lang/nl?next=//evil.example").await;
    assert_eq!(dutch.location(), "/");
    assert!(visitor.get("/").await.body.contains("<html lang=\"nl\">"));
}

#[actix_web::test]
async fn the_owner_changes_a_lot_and_answers_matches_through_pages() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let lot = ListingBuilder::doors().create(&app, &market.donor).await;
    let id = lot["id"].as_str().unwrap();
    let version = lot["version"].as_i64().unwrap().to_string();
    let mut donor = PageClient::new(&app.base);
    donor.sign_in(&market.donor.email, PASSWORD).await;
    let form = donor.get(&format!("/workspace/listings/{id}")).await;
    assert_eq!(form.status, 200, "{}", form.body);
    let today = app.ctx.now().date_naive().to_string();
    let fields = |amount: &'static str, version: String| {
        vec![
            ("version", version),
            ("amount", amount.to_owned()),
            ("available_from", today.clone()),
            ("address", "Binckhorstlaan 40".to_owned()),
        ]
    };
    let owned = |f: &Vec<(&'static str, String)>| {
        f.iter().map(|(k, v)| (*k, v.clone())).collect::<Vec<_>>()
    };
    let first = owned(&fields("6", version.clone()));
    let refs: Vec<(&str, &str)> = first.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let changed = donor
        .post(&format!("/workspace/listings/{id}"), &refs)
        .await;
    assert_eq!(changed.status, 303, "{}", changed.body);
    let now = app
        .get(&format!("/api/v1/listings/{id}"), Some(&market.donor.token))
        .await
        .body;
    assert_eq!(now["quantity"]["amount"], 6);
    assert_eq!(now["pickup"]["address"], "Binckhorstlaan 40");
    // The same form again: the lot changed since it was read.
    donor.get(&format!("/workspace/listings/{id}")).await;
    let stale = donor
        .post(&format!("/workspace/listings/{id}"), &refs)
        .await;
    assert_eq!(stale.status, 422, "{}", stale.body);
    assert!(stale.body.contains("id=\"form-errors\""));

    // Not the owner: not found, and nothing changes.
    let mut maker = PageClient::new(&app.base);
    maker.sign_in(&market.maker.email, PASSWORD).await;
    assert_eq!(
        maker.get(&format!("/workspace/listings/{id}")).await.status,
        404
    );
    maker.get("/workspace").await;
    let version = listing_now(&app, &lot).await["version"]
        .as_i64()
        .unwrap()
        .to_string();
    let theirs = owned(&fields("1", version));
    let refs: Vec<(&str, &str)> = theirs.iter().map(|(k, v)| (*k, v.as_str())).collect();
    let refused = maker
        .post(&format!("/workspace/listings/{id}"), &refs)
        .await;
    assert_eq!(refused.status, 404, "{}", refused.body);
    assert_eq!(listing_now(&app, &lot).await["quantity"]["amount"], 6);

    // The makerspace's wish matches; it accepts through the page, not the donor.
    let wish = WishBuilder::doors().create(&app, &market.maker).await;
    let found = matches_of(&app, &market.maker, &wish).await;
    let match_id = found["items"][0]["id"].as_str().unwrap().to_owned();
    donor.get("/workspace").await;
    let not_theirs = donor
        .post(&format!("/workspace/matches/{match_id}/accept"), &[])
        .await;
    assert!(
        matches!(not_theirs.status, 403 | 404),
        "{}",
        not_theirs.status
    );
    maker.get("/workspace").await;
    let accepted = maker
        .post(&format!("/workspace/matches/{match_id}/accept"), &[])
        .await;
    assert_eq!(accepted.status, 303, "{}", accepted.body);
    let found = matches_of(&app, &market.maker, &wish).await;
    assert_eq!(found["items"][0]["status"], "accepted");
    let workspace = maker.get("/workspace").await;
    assert!(workspace.body.contains("id=\"members\""));
    assert!(workspace.body.contains(Market::MAKER));
}

#[actix_web::test]
async fn the_broker_reads_the_currency_and_sets_a_credit_limit_in_the_console() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    issue(&app, &market.broker, &market.maker.org, 12_500).await;
    let mut broker = PageClient::new(&app.base);
    broker.sign_in("broker@gemeente.test", PASSWORD).await;
    let console = broker.get("/console").await;
    assert_eq!(console.status, 200, "{}", console.body);
    assert!(
        console.body.contains("id=\"sum-of-balances\" class=\"ok\""),
        "the ledger balances"
    );
    assert!(console.body.contains("125.00"), "the issued money is shown");
    let maker_org = market.maker.org.clone();
    let set = broker
        .post(
            &format!("/console/accounts/{maker_org}/credit-limit"),
            &[("credit_limit", "40")],
        )
        .await;
    assert_eq!(set.status, 303, "{}", set.body);
    let account = app
        .get("/api/v1/accounts/me", Some(&market.maker.token))
        .await;
    assert_eq!(account.body["credit_limit"], 4_000, "{}", account.body);

    // Not for anyone else.
    let mut maker = PageClient::new(&app.base);
    maker.sign_in(&market.maker.email, PASSWORD).await;
    maker.get("/workspace").await;
    let refused = maker
        .post(
            &format!("/console/accounts/{maker_org}/credit-limit"),
            &[("credit_limit", "100000")],
        )
        .await;
    assert_eq!(refused.status, 403);
    let account = app
        .get("/api/v1/accounts/me", Some(&market.maker.token))
        .await;
    assert_eq!(account.body["credit_limit"], 4_000);
}

#[actix_web::test]
async fn the_broker_keeps_the_taxonomy_and_the_districts_in_the_console() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let mut broker = PageClient::new(&app.base);
    broker.sign_in("broker@gemeente.test", PASSWORD).await;
    broker.get("/console").await;
    let made = broker
        .post(
            "/console/categories",
            &[
                ("code", "doors-sliding"),
                ("parent", "doors-interior"),
                ("name_nl", "Schuifdeuren"),
                ("name_en", "Sliding doors"),
                ("eural_codes", "17 02 01"),
            ],
        )
        .await;
    assert_eq!(made.status, 303, "{}", made.body);
    let categories = app.get("/api/v1/categories", None).await.body;
    assert!(categories
        .as_array()
        .unwrap()
        .iter()
        .any(|c| c["code"] == "doors-sliding" && c["name_en"] == "Sliding doors"));

    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/districts-den-haag.geojson");
    let geojson = std::fs::read_to_string(path).unwrap();
    broker.get("/console").await;
    let replaced = broker
        .post("/console/districts", &[("geojson", &geojson)])
        .await;
    assert_eq!(replaced.status, 303, "{}", replaced.body);
    let districts = app.get("/api/v1/districts", None).await.body;
    assert!(districts.as_array().unwrap().len() > 10);
    // Nonsense is a page saying so, not a 500.
    broker.get("/console").await;
    let nonsense = broker
        .post("/console/districts", &[("geojson", "{not json")])
        .await;
    assert_eq!(nonsense.status, 422);

    let mut maker = PageClient::new(&app.base);
    maker.sign_in(&market.maker.email, PASSWORD).await;
    maker.get("/workspace").await;
    let refused = maker
        .post(
            "/console/categories",
            &[("code", "x-y"), ("name_nl", "X"), ("name_en", "X")],
        )
        .await;
    assert_eq!(refused.status, 403);
}
