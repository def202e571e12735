//! The three users in a real headless Chromium: the broker verifies an organisation and reads
//! the flows; a makerspace searches the map, saves a wish, follows its match mail and
//! reserves; a contractor makes a passport with a hazard, clears it, adds a photo and offers
//! the lot. Every page is checked for console errors, requests to other origins and
//! accessibility, and photographed under `target/screenshots/`.

use crate::support::*;
use kringloop::app::engine::mail as delivery;
use serde_json::Value;

const PASSWORD: &str = "correct horse battery";

/// Digits of a number as the pages print it (thin spaces between thousands).
fn digits(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_ascii_digit() || *c == '-')
        .collect()
}

#[actix_web::test]
async fn the_broker_verifies_an_organisation_and_reads_the_flows() {
    let app = TestApp::spawn().await;
    let market = Market::in_districts(&app).await;
    kringloop::app::flows::seed::synthetic_flows(&app.ctx, 3_000, 2, |_, _| {})
        .await
        .unwrap();
    let newcomer = app.register("info@nieuwe-makers.test", "makerspace").await;
    confirm_email(&app, "info@nieuwe-makers.test").await;
    let newcomer_org = newcomer["organisation"]["id"].as_str().unwrap().to_owned();
    // Something hidden, so that the moderation list is on the page that is checked.
    let hidden = ListingBuilder::doors().create(&app, &market.donor).await;
    let hide = app
        .post(
            &format!(
                "/api/v1/admin/listings/{}/hide",
                hidden["id"].as_str().unwrap()
            ),
            Some(&market.broker),
            &serde_json::json!({"reason": "duplicate of another lot"}),
        )
        .await;
    assert_eq!(hide.status, 200, "{}", hide.body);

    let browser = Browser::open(&app.base).await;
    browser.goto("/login").await;
    browser.check_page("login").await;
    browser.sign_in("broker@gemeente.test", PASSWORD).await;
    browser.goto("/console").await;
    assert_eq!(browser.count("#hidden-list tr[data-hidden]").await, 1);
    let row = format!("#verify-queue tr[data-organisation='{newcomer_org}']");
    assert!(browser
        .text(&row)
        .await
        .contains("Org of info@nieuwe-makers.test"));
    browser.check_page("console").await;
    browser
        .click_to(&format!("{row} button[type=submit]"), "notice=verified")
        .await;
    assert!(!browser.text("#flash").await.is_empty());
    assert_eq!(
        browser.count(&row).await,
        0,
        "still waiting after verifying"
    );
    assert_eq!(
        browser
            .count("#audit-log tr[data-action='verify_organisation']")
            .await,
        3,
        "the market's two verifications and this one"
    );
    let organisation = app
        .get(
            &format!("/api/v1/organisations/{newcomer_org}"),
            Some(&market.broker),
        )
        .await;
    assert_eq!(organisation.body["status"], "verified");

    browser.goto("/console/flows").await;
    browser
        .wait_for("#sankey[data-ready='true'] svg path")
        .await;
    browser
        .wait_for("#choropleth[data-ready='true'] svg path")
        .await;
    browser
        .wait_for("#forecast[data-ready='true'] svg path")
        .await;
    browser.wait_for("#pipeline[data-ready='true'] svg").await;
    // The numbers beside the Sankey are the API's.
    let sankey = app.get("/api/v1/flows/sankey", Some(&market.broker)).await;
    assert_eq!(sankey.status, 200, "{}", sankey.body);
    let api_total: f64 = sankey.body["links"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["mass_kg"].as_f64().unwrap())
        .sum();
    assert!(api_total > 0.0);
    assert_eq!(
        digits(&browser.text("#total-kg").await),
        format!("{}", api_total.round() as i64)
    );
    let links = sankey.body["links"].as_array().unwrap().len();
    assert_eq!(browser.count("#sankey-table tbody tr").await, links);
    assert!(browser.count("#districts-table tbody tr").await > 1);
    assert!(!browser.text(".forecast-table .mase").await.is_empty());
    browser.check_page("flows").await;
    browser.close().await;
}

#[actix_web::test]
async fn a_makerspace_searches_the_map_saves_a_wish_follows_its_match_mail_and_reserves() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(sink.settings()).await;
    let market = Market::in_districts(&app).await;
    ListingBuilder::doors().create(&app, &market.donor).await;
    // The site of the contractor lies in a district; the makerspace looks around there.
    let district = district_at(&app, SITE).await;

    let browser = Browser::open(&app.base).await;
    browser.sign_in(&market.maker.email, PASSWORD).await;
    browser.goto("/").await;
    browser.fill("#q", "eiken").await;
    browser.select("#district", &district).await;
    browser
        .click_to("form[role=search] button[type=submit]", "q=eiken")
        .await;
    browser.wait_for("#map[data-ready='true'] path").await;
    assert_eq!(browser.text("#result-count").await, "1");
    assert!(browser.text("li.lot").await.contains("Eiken binnendeuren"));
    browser.check_page("map").await;

    // Save the search as a wish.
    browser.click("details.wish-form summary").await;
    browser.select("#wish-category", "doors-interior").await;
    browser.fill("#wish-amount", "3").await;
    browser.select("#wish-notify", "instant").await;
    browser
        .click_to("details.wish-form button[type=submit]", "notice=wish_saved")
        .await;
    assert!(browser.path().await.starts_with("/workspace/wishes/"));
    assert!(!browser.text("#flash").await.is_empty());
    browser.check_page("wish").await;

    // A new lot comes; the match mail's link opens its page.
    let lot = ListingBuilder::doors()
        .quantity(5)
        .pickup(SITE.0 + 0.002, SITE.1)
        .create(&app, &market.donor)
        .await;
    delivery::deliver_due(&app.ctx).await.unwrap();
    let matches = app
        .get("/api/v1/matches", Some(&market.maker.token))
        .await
        .body;
    let wishes = app
        .get("/api/v1/wishes", Some(&market.maker.token))
        .await
        .body;
    let mail = sink
        .mails()
        .into_iter()
        .filter(|m| m.to.iter().any(|to| to == Market::MAKER))
        .map(|m| m.text())
        .find(|text| text.contains(lot["id"].as_str().unwrap()))
        .unwrap_or_else(|| {
            panic!(
                "no match mail: {:?}\nmatches {matches}\nwishes {wishes}\nlot {lot}",
                sink.subjects_to(Market::MAKER)
            )
        });
    let link = mail
        .split_whitespace()
        .find(|word| word.contains("/lots/") && word.contains(lot["id"].as_str().unwrap()))
        .unwrap()
        .trim_start_matches("https://kringloop.test")
        .to_owned();
    assert!(link.contains("?match="), "{link}");
    browser.goto(&link).await;
    assert!(browser.text("h1").await.contains("Eiken binnendeuren"));
    browser.check_page("lot").await;
    browser.fill("#reserve-quantity", "3").await;
    browser
        .click_to(
            "form[action$='/reserve'] button[type=submit]",
            "notice=reserved",
        )
        .await;
    assert!(browser.path().await.starts_with("/workspace/reservations/"));
    assert!(!browser.text("#reservation-status").await.is_empty());
    browser.check_page("reservation").await;
    let now = listing_now(&app, &lot).await;
    assert_eq!(now["quantity_available"], 2, "{now}");
    // On a phone: the map and the lot's page fit the screen (no sideways scrolling).
    browser.client.set_window_size(390, 844).await.unwrap();
    for (path, name) in [("/?q=eiken", "map-phone"), (link.as_str(), "lot-phone")] {
        browser.goto(path).await;
        let overflow = browser
            .client
            .execute(
                "const w = window.innerWidth;
                 const wide = [...document.querySelectorAll('body *')]
                   .filter(e => e.getBoundingClientRect().right > w + 1)
                   .slice(0, 5)
                   .map(e => e.tagName + '.' + e.className + '#' + e.id + ' ' + Math.round(e.getBoundingClientRect().right));
                 const over = document.documentElement.scrollWidth - w;
                 return over > 0 ? over + ' ' + wide.join(', ') : 0;",
                vec![],
            )
            .await
            .unwrap();
        assert_eq!(overflow, 0, "{name} scrolls sideways: {overflow}");
        browser.check_page(name).await;
    }
    let reservations = app
        .get("/api/v1/reservations", Some(&market.maker.token))
        .await;
    assert!(
        reservations.body["items"][0]["match_id"].is_string(),
        "the reservation answers the match: {}",
        reservations.body
    );
    browser.close().await;
}

/// The code of the district that holds `point`.
async fn district_at(app: &TestApp, point: (f64, f64)) -> String {
    let districts: Value = app.get("/api/v1/districts", None).await.body;
    let id = app
        .search(&format!("near={},{}&radius_km=1", point.0, point.1), None)
        .await
        .body["items"][0]["district_id"]
        .as_str()
        .unwrap()
        .to_owned();
    districts
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"].as_str() == Some(&id))
        .and_then(|d| d["code"].as_str())
        .unwrap_or_else(|| panic!("no district {id}"))
        .to_owned()
}

#[actix_web::test]
async fn a_contractor_makes_a_passport_with_a_hazard_clears_it_adds_a_photo_and_offers_the_lot() {
    let app = TestApp::spawn().await;
    let market = Market::in_districts(&app).await;
    let browser = Browser::open(&app.base).await;
    browser.sign_in(&market.donor.email, PASSWORD).await;
    browser.goto("/workspace").await;
    browser.check_page("workspace").await;
    browser
        .click_to("a[href='/workspace/passports/new']", "/passports/new")
        .await;
    // A mistake first: the API's validation message comes back beside the form.
    browser.fill("#name", "Plafondplaten met asbest").await;
    browser.select("#category", "doors-interior").await;
    browser.fill("#eural_code", "99 99 99").await;
    browser.fill("#mass_grams", "9000").await;
    browser.fill("#lat", "52.0679").await;
    browser.fill("#lon", "4.3451").await;
    browser.fill("#hazard", "asbest").await;
    browser
        .click("form[action='/workspace/passports'] button[type=submit]")
        .await;
    browser.wait_for("#form-errors").await;
    assert!(browser.text("#form-errors").await.contains("eural_code"));
    browser.check_page("passport-errors").await;
    browser.fill("#eural_code", "17 06 05").await;
    browser
        .click_to(
            "form[action='/workspace/passports'] button[type=submit]",
            "notice=passport_created",
        )
        .await;
    assert_eq!(browser.text("#uncleared").await, "asbest");
    assert_eq!(
        browser.count("form[action$='/listings']").await,
        0,
        "offered before clearance"
    );
    browser.check_page("passport-hazard").await;

    browser
        .fill("#doc-title", "Asbestinventarisatie type A")
        .await;
    browser
        .fill("#doc-url", "https://docs.sloop.test/asbest.pdf")
        .await;
    browser.fill("#doc-sha", &"ab".repeat(32)).await;
    browser
        .click_to(
            "form[action$='/clearance'] button[type=submit]",
            "notice=hazard_cleared",
        )
        .await;
    assert!(!browser.text("#flash").await.is_empty());
    assert_eq!(browser.count("#uncleared").await, 0);

    // A photo from the phone: uploaded, its thumbnail shown on the passport's page.
    let photo = tempfile::Builder::new().suffix(".png").tempfile().unwrap();
    image::DynamicImage::ImageRgb8(image::RgbImage::from_fn(640, 480, |x, y| {
        image::Rgb([(x % 200) as u8, (y % 200) as u8, 120])
    }))
    .save_with_format(photo.path(), image::ImageFormat::Png)
    .unwrap();
    browser.attach("#upload-file", photo.path()).await;
    browser.fill("#upload-title", "Plafond, zuidzijde").await;
    browser
        .click_to("#upload-form button[type=submit]", "notice=file_uploaded")
        .await;
    browser.wait_for("#passport-files img").await;
    let mut shown = false;
    for _ in 0..50 {
        shown = browser
            .client
            .execute(
                "const img = document.querySelector('#passport-files img'); \
                 img.scrollIntoView(); return img.complete && img.naturalWidth > 0;",
                vec![],
            )
            .await
            .unwrap()
            .as_bool()
            .unwrap_or(false);
        if shown {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
    assert!(shown, "the thumbnail did not load");
    browser.check_page("passport-photo").await;

    browser.fill("#amount", "40").await;
    browser.select("#unit", "piece").await;
    browser.set_value("#available_from", "2027-01-15").await;
    browser.fill("#address", "Binckhorstlaan 36").await;
    browser
        .click_to("form[action$='/listings'] button[type=submit]", "/lots/")
        .await;
    assert!(browser.path().await.starts_with("/lots/"));
    assert!(browser.text("h1").await.contains("Plafondplaten"));
    assert!(browser.text(".status").await.len() > 1);
    browser.check_page("announced-lot").await;
    let passports = app
        .get("/api/v1/passports", Some(&market.donor.token))
        .await;
    let passport = &passports.body["items"][0];
    assert_eq!(passport["listable"], true, "{passport}");
    assert_eq!(passport["documents"][0]["clears"][0], "asbest");
    // The passport's public page, where its label's QR code leads; and the account.
    let id = passport["id"].as_str().unwrap();
    browser.goto(&format!("/passports/{id}")).await;
    assert!(browser.text("h1").await.contains("Plafondplaten"));
    browser.check_page("passport-public").await;
    browser.goto("/workspace/account").await;
    browser.wait_for("#balance").await;
    browser.check_page("account").await;
    browser.close().await;
}
