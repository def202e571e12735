//! Photos and documents uploaded to a passport: typed by their bytes, photos without their
//! metadata, each file's hash in the custody chain, served with the passport's read rights.

use crate::support::*;
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, RgbImage};
use serde_json::Value;
use std::io::Cursor;

fn jpeg(width: u32, height: u32) -> Vec<u8> {
    let image = DynamicImage::ImageRgb8(RgbImage::from_fn(width, height, |x, y| {
        image::Rgb([(x % 256) as u8, (y % 256) as u8, 90])
    }));
    let mut out = Vec::new();
    image
        .write_with_encoder(JpegEncoder::new_with_quality(&mut out, 90))
        .unwrap();
    out
}

/// A JPEG with an APP1 Exif segment carrying a GPS position, as a phone writes it.
fn jpeg_with_gps() -> Vec<u8> {
    let plain = jpeg(400, 300);
    let exif = b"Exif\0\0MM\0*\0\0\0\x08GPSLatitude=52.3731N;GPSLongitude=4.8922E";
    let mut tagged = vec![0xFF, 0xD8, 0xFF, 0xE1];
    tagged.extend_from_slice(&((exif.len() + 2) as u16).to_be_bytes());
    tagged.extend_from_slice(exif);
    tagged.extend_from_slice(&plain[2..]);
    tagged
}

fn png() -> Vec<u8> {
    let mut out = Vec::new();
    DynamicImage::ImageRgb8(RgbImage::new(10, 10))
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

async fn upload(
    app: &TestApp,
    token: &str,
    passport: &str,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let response = app
        .client
        .post(app.url(&format!("/api/v1/passports/{passport}/files?{query}")))
        .bearer_auth(token)
        .header("Content-Type", content_type)
        .body(body)
        .send()
        .await
        .unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

async fn download(
    app: &TestApp,
    token: Option<&str>,
    path: &str,
) -> (u16, reqwest::header::HeaderMap, Vec<u8>) {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status().as_u16();
    let headers = response.headers().clone();
    (status, headers, response.bytes().await.unwrap().to_vec())
}

fn json(bytes: &[u8]) -> Value {
    serde_json::from_slice(bytes).unwrap()
}

#[actix_web::test]
async fn a_photo_loses_its_gps_and_its_hash_is_in_the_chain_and_the_export_verifies() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let passport = PassportBuilder::doors().create(&app, &market.donor).await;
    let id = passport["id"].as_str().unwrap();
    let tagged = jpeg_with_gps();
    assert!(tagged.windows(4).any(|w| w == b"Exif"));

    let (status, _, body) = upload(
        &app,
        &market.donor.token,
        id,
        "kind=photo&title=Front",
        "image/jpeg",
        tagged,
    )
    .await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let file = json(&body);
    let url = file["url"].as_str().unwrap();
    let path = url.strip_prefix("https://kringloop.test").unwrap();

    let (status, headers, stored) = download(&app, Some(&market.donor.token), path).await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/jpeg");
    assert_eq!(headers["x-content-type-options"], "nosniff");
    assert!(headers["cache-control"]
        .to_str()
        .unwrap()
        .starts_with("private, max-age="));
    let sha = file["sha256"].as_str().unwrap();
    assert_eq!(headers["etag"].to_str().unwrap(), format!("\"{sha}\""));
    assert!(stored.starts_with(&[0xFF, 0xD8, 0xFF]));
    assert!(!stored.windows(4).any(|w| w == b"Exif"), "EXIF survived");
    assert!(!stored.windows(3).any(|w| w == b"GPS"), "GPS survived");

    let (status, headers, thumb) = download(
        &app,
        Some(&market.donor.token),
        &format!("{path}/thumbnail"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(headers["content-type"], "image/jpeg");
    let thumb = image::load_from_memory(&thumb).unwrap();
    assert_eq!((thumb.width(), thumb.height()), (320, 240));

    // Not modified when the client has it.
    let response = app
        .client
        .get(app.url(path))
        .bearer_auth(&market.donor.token)
        .header("If-None-Match", format!("\"{sha}\""))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status().as_u16(), 304);

    let custody = app
        .get(
            &format!("/api/v1/passports/{id}/custody"),
            None.or(Some(&market.donor.token)),
        )
        .await;
    let last = custody.body["events"]
        .as_array()
        .unwrap()
        .last()
        .unwrap()
        .clone();
    assert_eq!(last["kind"], "document_attached");
    assert_eq!(last["payload"]["sha256"], sha);
    assert_eq!(custody.body["verified"], true);

    let export = app
        .get(
            &format!("/api/v1/passports/{id}/export?files=embed"),
            Some(&market.donor.token),
        )
        .await;
    assert_eq!(export.status, 200, "{}", export.body);
    assert_eq!(export.body["files"][0]["sha256"], sha);
    assert_eq!(export.body["files"][0]["media_type"], "image/jpeg");
    let verdict = app
        .post("/api/v1/passports/verify", None, &export.body)
        .await;
    assert_eq!(verdict.body["valid"], true, "{}", verdict.body);
    assert_eq!(verdict.body["files_checked"], 1, "{}", verdict.body);
}

#[actix_web::test]
async fn types_are_read_from_the_bytes() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let passport = PassportBuilder::doors().create(&app, &market.donor).await;
    let id = passport["id"].as_str().unwrap();
    let token = &market.donor.token;

    // A PNG sent as a PDF.
    let (status, headers, _) = upload(
        &app,
        token,
        id,
        "kind=document&title=plan.pdf",
        "application/pdf",
        png(),
    )
    .await;
    assert_eq!(status, 415);
    assert_eq!(headers["content-type"], "application/problem+json");
    // Text sent as an image.
    let (status, _, _) = upload(
        &app,
        token,
        id,
        "kind=photo",
        "image/jpeg",
        b"just some text".to_vec(),
    )
    .await;
    assert_eq!(status, 415);
    // A PDF is no photo.
    let pdf = b"%PDF-1.4\n1 0 obj\n<<>>\nendobj\ntrailer\n<<>>\n%%EOF\n".to_vec();
    let (status, _, _) = upload(
        &app,
        token,
        id,
        "kind=photo",
        "application/pdf",
        pdf.clone(),
    )
    .await;
    assert_eq!(status, 422);
    // A magic number in front of garbage does not decode.
    let (status, _, _) = upload(
        &app,
        token,
        id,
        "kind=photo",
        "image/png",
        b"\x89PNG\r\n\x1a\nnope".to_vec(),
    )
    .await;
    assert_eq!(status, 422);
    // A PDF as a document: stored as sent, served as an attachment, no thumbnail.
    let (status, _, body) = upload(
        &app,
        token,
        id,
        "kind=document&title=Plan",
        "application/octet-stream",
        pdf.clone(),
    )
    .await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let file = json(&body);
    assert!(file["thumbnail_url"].is_null());
    let path = format!(
        "/api/v1/passports/{id}/files/{}",
        file["id"].as_str().unwrap()
    );
    let (status, headers, stored) = download(&app, Some(token), &path).await;
    assert_eq!(status, 200);
    assert_eq!(stored, pdf);
    assert_eq!(headers["content-type"], "application/pdf");
    assert!(headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let (status, _, _) = download(&app, Some(token), &format!("{path}/thumbnail")).await;
    assert_eq!(status, 404);
}

#[actix_web::test]
async fn an_upload_past_the_limit_is_413() {
    let mut settings = test_settings();
    settings.max_upload_bytes = 10_000;
    let app = TestApp::spawn_with(settings).await;
    let market = Market::open(&app).await;
    let passport = PassportBuilder::doors().create(&app, &market.donor).await;
    let id = passport["id"].as_str().unwrap();
    let mut big = jpeg(8, 8);
    big.resize(20_000, 0);
    let (status, headers, _) = upload(&app, &market.donor.token, id, "", "image/jpeg", big).await;
    assert_eq!(status, 413);
    assert_eq!(headers["content-type"], "application/problem+json");
}

#[actix_web::test]
async fn files_have_their_passports_read_rights() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let passport = PassportBuilder::doors().create(&app, &market.donor).await;
    let id = passport["id"].as_str().unwrap();
    let (status, _, body) = upload(
        &app,
        &market.donor.token,
        id,
        "",
        "image/jpeg",
        jpeg(64, 48),
    )
    .await;
    assert_eq!(status, 201);
    let file = json(&body);
    let path = format!(
        "/api/v1/passports/{id}/files/{}",
        file["id"].as_str().unwrap()
    );

    // Another organisation may neither read nor add while the passport is unlisted.
    for token in [Some(market.maker.token.as_str()), None] {
        assert_eq!(download(&app, token, &path).await.0, 404);
        assert_eq!(
            download(&app, token, &format!("{path}/thumbnail")).await.0,
            404
        );
    }
    let (status, _, _) = upload(&app, &market.maker.token, id, "", "image/jpeg", jpeg(8, 8)).await;
    assert_eq!(status, 404);
    // Brokers may.
    assert_eq!(download(&app, Some(&market.broker), &path).await.0, 200);

    ListingBuilder::of(&passport)
        .create(&app, &market.donor)
        .await;
    assert_eq!(download(&app, None, &path).await.0, 200);
    assert_eq!(
        download(&app, Some(&market.maker.token), &path).await.0,
        200
    );
    // Still only the holder adds files.
    let (status, _, _) = upload(&app, &market.maker.token, id, "", "image/jpeg", jpeg(8, 8)).await;
    assert_eq!(status, 403);
}

#[actix_web::test]
async fn the_public_passport_page_shows_photos_and_the_chain_once_listed_and_the_label_leads_there()
{
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let passport = PassportBuilder::asbestos_doors()
        .create(&app, &market.donor)
        .await;
    let id = passport["id"].as_str().unwrap();
    let code = passport["code"].as_str().unwrap();
    let (status, _, body) = upload(
        &app,
        &market.donor.token,
        id,
        "kind=photo&title=Voorkant",
        "image/png",
        png(),
    )
    .await;
    assert_eq!(status, 201);
    let file = json(&body);
    let thumbnail = format!(
        "/api/v1/passports/{id}/files/{}/thumbnail",
        file["id"].as_str().unwrap()
    );

    let mut stranger = PageClient::new(&app.base);
    assert_eq!(stranger.get(&format!("/passports/{id}")).await.status, 404);

    // The label's QR code leads to the page (the SVG holds the URL only as a QR code, so the
    // use case's address is checked).
    assert_eq!(
        kringloop::app::passports::public_address(&app.ctx, id.parse().unwrap()),
        format!("https://kringloop.test/passports/{id}")
    );

    let clearance = serde_json::json!({"url": "https://example.org/vrijgave.pdf",
        "sha256": "b".repeat(64), "kind": "clearance", "clears": ["asbestos"]});
    let attached = app
        .post(
            &format!("/api/v1/passports/{id}/documents"),
            Some(&market.donor.token),
            &clearance,
        )
        .await;
    assert_eq!(attached.status, 200, "{}", attached.body);
    let listing = ListingBuilder::of(&passport)
        .create(&app, &market.donor)
        .await;

    let page = stranger.get(&format!("/passports/{id}")).await;
    assert_eq!(page.status, 200, "{}", page.body);
    assert!(page.body.contains(code));
    assert!(page.body.contains("Oak doors with asbestos seals"));
    // Pages escape "/" in attributes.
    let escaped = |path: &str| path.replace('/', "&#x2f;");
    assert!(page.body.contains(&escaped(&thumbnail)), "{}", page.body);
    assert!(page.body.contains("id=\"custody-verified\" class=\"ok\""));
    assert!(page.body.contains("id=\"passport-hazards\""));
    assert!(page.body.contains("asbestos"));

    // The lot page shows the thumbnail and links the passport's page.
    let lot = stranger
        .get(&format!("/lots/{}", listing["id"].as_str().unwrap()))
        .await;
    assert_eq!(lot.status, 200);
    assert!(lot.body.contains("id=\"lot-photos\""), "{}", lot.body);
    assert!(
        lot.body.contains(&format!(
            "{}/thumbnail\"",
            escaped(thumbnail.trim_end_matches("/thumbnail"))
        )),
        "{}",
        lot.body
    );
    assert!(lot.body.contains(&format!("href=\"/passports/{id}\"")));
}
