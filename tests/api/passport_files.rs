//! Photos and documents uploaded to a passport: typed by their bytes, photos without their
//! metadata, each file's hash in the custody chain, served with the passport's read rights.

use crate::support::*;
use image::codecs::jpeg::JpegEncoder;
use image::{DynamicImage, ImageFormat, RgbImage};
use serde_json::Value;
use std::io::Cursor;

const PASSWORD: &str = "correct horse battery";

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
        "/passports/{id}/files/{}/thumbnail",
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
    assert!(lot.body.contains(&escaped(&thumbnail)), "{}", lot.body);
    assert!(lot.body.contains(&format!("href=\"/passports/{id}\"")));
}

#[actix_web::test]
async fn the_holder_uploads_a_photo_from_the_workspace_page_and_only_those_who_may_see_it() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let passport = PassportBuilder::doors().create(&app, &market.donor).await;
    let id = passport["id"].as_str().unwrap();
    let page = format!("/workspace/passports/{id}");

    let mut donor = PageClient::new(&app.base);
    donor.sign_in(&market.donor.email, PASSWORD).await;
    let before = donor.get(&page).await;
    assert_eq!(before.status, 200);
    assert!(before.body.contains("enctype=\"multipart/form-data\""));

    // Without this browser's token the upload is refused, and nothing is stored.
    let token = std::mem::replace(&mut donor.csrf, "forged".into());
    let forged = donor
        .post_multipart(
            &format!("{page}/files"),
            &[("kind", "photo")],
            ("door.jpg", "image/jpeg", &jpeg_with_gps()),
        )
        .await;
    assert_eq!(forged.status, 403);
    donor.csrf = token;

    // Text with a photo's name is refused by its bytes.
    let text = donor
        .post_multipart(
            &format!("{page}/files"),
            &[("kind", "photo")],
            ("door.jpg", "image/jpeg", b"not a photo at all"),
        )
        .await;
    assert_eq!(text.status, 415, "{}", text.body);
    donor.get(&page).await;

    let sent = donor
        .post_multipart(
            &format!("{page}/files"),
            &[("kind", "photo"), ("title", "Voorkant")],
            ("door.jpg", "image/jpeg", &jpeg_with_gps()),
        )
        .await;
    assert_eq!(sent.status, 303, "{}", sent.body);
    assert!(sent.location().contains("notice=file_uploaded"));

    let files = app
        .get(
            &format!("/api/v1/passports/{id}/files"),
            Some(&market.donor.token),
        )
        .await;
    assert_eq!(files.body.as_array().unwrap().len(), 1, "{}", files.body);
    let file_id = files.body[0]["id"].as_str().unwrap();
    let custody = app
        .get(
            &format!("/api/v1/passports/{id}/custody"),
            Some(&market.donor.token),
        )
        .await;
    let last = custody.body["events"].as_array().unwrap().last().unwrap();
    assert_eq!(last["payload"]["sha256"], files.body[0]["sha256"]);

    // The page shows the thumbnail, served to the holder's session (the passport is not
    // listed, so nobody else may see it).
    let after = donor.get(&page).await;
    let thumbnail = format!("/passports/{id}/files/{file_id}/thumbnail");
    // Pages escape "/" in attributes.
    let escaped = thumbnail.replace('/', "&#x2f;");
    assert!(after.body.contains(&escaped), "{}", after.body);
    let (status, content_type, bytes) = donor.get_bytes(&thumbnail).await;
    assert_eq!((status, content_type.as_str()), (200, "image/jpeg"));
    assert!(image::load_from_memory(&bytes).is_ok());
    let (status, _, stored) = donor
        .get_bytes(&format!("/passports/{id}/files/{file_id}"))
        .await;
    assert_eq!(status, 200);
    assert!(!stored.windows(3).any(|w| w == b"GPS"), "GPS survived");

    let mut stranger = PageClient::new(&app.base);
    assert_eq!(stranger.get_bytes(&thumbnail).await.0, 404);
    let mut maker = PageClient::new(&app.base);
    maker.sign_in(&market.maker.email, PASSWORD).await;
    assert_eq!(maker.get_bytes(&thumbnail).await.0, 404);
    // Nor may another organisation upload to it.
    maker.get("/workspace").await;
    let theirs = maker
        .post_multipart(
            &format!("{page}/files"),
            &[("kind", "photo")],
            ("door.jpg", "image/jpeg", &jpeg(50, 50)),
        )
        .await;
    assert!(
        theirs.status == 403 || theirs.status == 404,
        "{}",
        theirs.status
    );

    // Once its lot is listed, anyone sees the photo on the lot's page.
    let listing = ListingBuilder::of(&passport)
        .create(&app, &market.donor)
        .await;
    let lot = stranger
        .get(&format!("/lots/{}", listing["id"].as_str().unwrap()))
        .await;
    assert!(lot.body.contains(&escaped), "{}", lot.body);
    assert_eq!(stranger.get_bytes(&thumbnail).await.0, 200);
}

#[actix_web::test]
async fn files_go_to_an_s3_compatible_store_when_one_is_configured() {
    let s3 = S3Server::start().await;
    let mut settings = test_settings();
    settings.s3_bucket = Some(s3.bucket.clone());
    settings.s3_endpoint = Some(s3.endpoint.clone());
    settings.s3_access_key_id = Some("test".to_owned().into());
    settings.s3_secret_access_key = Some("test".to_owned().into());
    let app = TestApp::spawn_with(settings.clone()).await;
    app.ctx.files.check().await.unwrap();
    let market = Market::open(&app).await;
    let passport = PassportBuilder::doors().create(&app, &market.donor).await;
    let id = passport["id"].as_str().unwrap();

    let (status, _, body) = upload(
        &app,
        &market.donor.token,
        id,
        "kind=photo",
        "image/jpeg",
        jpeg_with_gps(),
    )
    .await;
    assert_eq!(status, 201, "{}", String::from_utf8_lossy(&body));
    let file = json(&body);
    let file_id = file["id"].as_str().unwrap();

    // The file and its thumbnail are in the bucket (and not in the data folder).
    let objects = s3.objects().await;
    let size = file["size"].as_u64().unwrap();
    assert!(
        objects.contains(&(format!("passports/{id}/{file_id}"), size)),
        "{objects:?}"
    );
    assert!(objects
        .iter()
        .any(|(key, _)| key == &format!("passports/{id}/{file_id}.thumb.jpg")));
    assert!(!settings.data_dir.join("files").exists());

    // Served back from the bucket, stripped, with the hash in the chain.
    let (status, headers, served) = download(
        &app,
        Some(&market.donor.token),
        &format!("/api/v1/passports/{id}/files/{file_id}"),
    )
    .await;
    assert_eq!(status, 200);
    assert_eq!(served.len() as u64, size);
    assert!(!served.windows(3).any(|w| w == b"GPS"));
    assert_eq!(
        headers["etag"].to_str().unwrap(),
        format!("\"{}\"", file["sha256"].as_str().unwrap())
    );

    // A bucket that does not exist is found out at start.
    let mut wrong = settings;
    wrong.s3_bucket = Some("no-such-bucket".into());
    let store = kringloop::startup::file_store(&wrong).unwrap();
    assert!(store.check().await.is_err());
}
