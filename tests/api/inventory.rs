//! Pre-demolition inventories: a sheet with errors creates nothing and names every bad cell,
//! a valid one becomes passports and announced listings whose chains verify, XLSX reads as
//! CSV does, uploads are bounded, the export of a site imports back to the same sheet, and
//! the CLI imports 10 000 rows with progress.

use crate::support::*;
use serde_json::{json, Value};
use std::io::Write;
use std::process::Command;

const BINARY: &str = env!("CARGO_BIN_EXE_kringloop");

const HEADER: &str = "name,category,eural_code,quantity,unit,length_mm,width_mm,height_mm,\
materials,mass_per_unit_kg,condition,location_in_building,available_from,hazards,site";

fn future(days: i64) -> String {
    (chrono::Utc::now() + chrono::Duration::days(days))
        .date_naive()
        .to_string()
}

/// Doors announced for next month, and a sink with asbestos (a passport, no listing).
fn good_rows() -> Vec<String> {
    vec![
        format!(
            "Eiken binnendeur,doors-interior,17 02 01,8,piece,2015,830,40,\"oak 95%; steel 5%\",32,good,\"2e verdieping, oost\",{},,Binckhorst 36",
            future(30)
        ),
        "Spoelbak met asbest,doors-interior,17 06 05,2,piece,,,,,\"14,5\",fair,kelder,,asbestos,Binckhorst 36".into(),
    ]
}

fn sheet(rows: &[String]) -> String {
    let mut text = String::from(HEADER);
    for row in rows {
        text.push('\n');
        text.push_str(row);
    }
    text.push('\n');
    text
}

async fn upload(
    app: &TestApp,
    who: &Member,
    query: &str,
    content_type: &str,
    body: Vec<u8>,
) -> Response {
    let request = app
        .client
        .post(app.url(&format!("/api/v1/passports/inventory{query}")))
        .bearer_auth(&who.token)
        .header("content-type", content_type)
        .body(body);
    Response::from(request.send().await.unwrap()).await
}

fn pointers(problem: &Value) -> Vec<String> {
    problem["errors"]
        .as_array()
        .unwrap_or_else(|| panic!("no errors in {problem}"))
        .iter()
        .map(|e| e["pointer"].as_str().unwrap().to_owned())
        .collect()
}

#[actix_web::test]
async fn a_sheet_with_errors_creates_nothing_and_names_every_bad_cell() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let mut rows = good_rows();
    rows.push("Raam,windows-nowhere,17 02 02,3,piece,,,,,,good,,,,".into());
    rows.push(
        "Balk,doors-interior,17-02-01,0,litre,,,,\"oak 80%; pine 30%\",,shiny,,soon,,".into(),
    );
    let text = sheet(&rows);
    let refused = upload(
        &app,
        &market.donor,
        "",
        "text/csv",
        text.clone().into_bytes(),
    )
    .await;
    refused.assert_problem(422, "validation");
    let found = pointers(&refused.body);
    for pointer in [
        "/rows/4/category",
        "/rows/5/unit",
        "/rows/5/condition",
        "/rows/5/available_from",
    ] {
        assert!(found.contains(&pointer.to_owned()), "{pointer}: {found:?}");
    }
    assert!(found
        .iter()
        .all(|p| p.starts_with("/rows/4/") || p.starts_with("/rows/5/")));
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM passports")
            .await,
        0
    );

    // Rows 4 and 5 once fixed still fail on the passport rules, each cell named.
    let mut rules = good_rows();
    rules.push("Balk,doors-interior,17-02-01,3,piece,,,,\"oak 80%; pine 30%\",,good,,,,".into());
    let refused = upload(
        &app,
        &market.donor,
        "",
        "text/csv",
        sheet(&rules).into_bytes(),
    )
    .await;
    assert_eq!(
        pointers(&refused.body),
        ["/rows/4/eural_code", "/rows/4/materials"]
    );

    // Asked for, the valid rows go in and the bad ones are listed as skipped.
    let partial = upload(
        &app,
        &market.donor,
        "?valid_rows_only=true",
        "text/csv",
        text.into_bytes(),
    )
    .await;
    assert_eq!(partial.status, 201, "{}", partial.body);
    assert_eq!(partial.body["created"], 2);
    assert_eq!(partial.body["rows"], 4);
    let skipped: Vec<&str> = partial.body["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| s["pointer"].as_str().unwrap())
        .collect();
    assert!(skipped.contains(&"/rows/4/category"), "{skipped:?}");
}

#[actix_web::test]
async fn a_valid_sheet_becomes_passports_and_announced_listings_whose_chains_verify() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    // Semicolons, as Dutch spreadsheets write CSV.
    let text = sheet(&good_rows());
    let dutch = text
        .lines()
        .map(|line| {
            let mut record = csv_fields(line);
            record.iter_mut().for_each(|f| {
                if f.contains(';') || f.contains(',') {
                    *f = format!("\"{f}\"")
                }
            });
            record.join(";")
        })
        .collect::<Vec<_>>()
        .join("\n");
    let made = upload(
        &app,
        &market.donor,
        &format!("?lat={}&lon={}&address=Binckhorstlaan%2036", SITE.0, SITE.1),
        "text/csv",
        dutch.into_bytes(),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.body["created"], 2);
    assert_eq!(made.body["listed"], 1);
    assert_eq!(made.body["announced"], 1);
    let doors = &made.body["passports"][0];
    assert_eq!(doors["row"], 2);
    let listing = listing_now(&app, &json!({"id": doors["listing_id"]})).await;
    assert_eq!(listing["status"], "announced");
    assert_eq!(listing["quantity"], json!({"amount": 8, "unit": "piece"}));
    assert_eq!(listing["mass_kg"], 256);
    assert!(
        made.body["passports"][1]["listing_id"].is_null(),
        "asbestos waits for a clearance"
    );

    let id = doors["passport_id"].as_str().unwrap();
    let passport = app
        .get(
            &format!("/api/v1/passports/{id}"),
            Some(&market.donor.token),
        )
        .await;
    assert_eq!(
        passport.body["composition"][0],
        json!({"material": "oak", "fraction_ppm": 950000})
    );
    assert_eq!(
        passport.body["origin"]["location_in_building"],
        "2e verdieping, oost"
    );
    let export = app
        .get(&format!("/api/v1/passports/{id}/export"), None)
        .await;
    assert_eq!(export.status, 200, "{}", export.body);
    let verdict = app
        .post("/api/v1/passports/verify", None, &export.body)
        .await;
    assert_eq!(verdict.body["valid"], true, "{}", verdict.body);
    assert_eq!(verdict.body["events"], 2);

    // Labels: one per passport, with the read rights of its passport; a sheet per import.
    let code = doors["code"].as_str().unwrap();
    let svg = app
        .client
        .get(app.url(&format!("/api/v1/passports/{id}/label.svg")))
        .send()
        .await
        .unwrap();
    assert_eq!(svg.status(), 200);
    assert_eq!(svg.headers()["content-type"], "image/svg+xml");
    let svg = svg.text().await.unwrap();
    assert!(
        svg.contains(code) && svg.contains(r#"width="70mm""#),
        "{svg}"
    );
    let sink = made.body["passports"][1]["passport_id"].as_str().unwrap();
    let unlisted = app
        .get(&format!("/api/v1/passports/{sink}/label.svg"), None)
        .await;
    unlisted.assert_problem(404, "not-found");
    let import = made.body["import_id"].as_str().unwrap();
    let sheet = app
        .get_text(
            &format!("/api/v1/passports/imports/{import}/labels"),
            &market.donor.token,
        )
        .await;
    assert!(
        sheet.contains(code) && sheet.contains(made.body["passports"][1]["code"].as_str().unwrap())
    );
    assert!(sheet.contains("size: A4"));
    app.get(
        &format!("/api/v1/passports/imports/{import}/labels"),
        Some(&market.maker.token),
    )
    .await
    .assert_problem(404, "not-found");
}

/// A line of CSV split into its fields (quotes removed).
fn csv_fields(line: &str) -> Vec<String> {
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .from_reader(line.as_bytes());
    reader
        .records()
        .next()
        .unwrap()
        .unwrap()
        .iter()
        .map(str::to_owned)
        .collect()
}

/// A minimal XLSX workbook with one sheet of inline strings.
fn xlsx(rows: &[Vec<String>]) -> Vec<u8> {
    use zip::write::SimpleFileOptions;
    let mut zip = zip::ZipWriter::new(std::io::Cursor::new(Vec::new()));
    let options = SimpleFileOptions::default();
    let files = [
        ("[Content_Types].xml", r#"<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types"><Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/><Default Extension="xml" ContentType="application/xml"/><Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/><Override PartName="/xl/worksheets/sheet1.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/></Types>"#.to_owned()),
        ("_rels/.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/officeDocument" Target="xl/workbook.xml"/></Relationships>"#.to_owned()),
        ("xl/workbook.xml", r#"<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"><sheets><sheet name="Inventaris" sheetId="1" r:id="rId1"/></sheets></workbook>"#.to_owned()),
        ("xl/_rels/workbook.xml.rels", r#"<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships"><Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/worksheet" Target="worksheets/sheet1.xml"/></Relationships>"#.to_owned()),
        ("xl/worksheets/sheet1.xml", {
            let mut xml = String::from(r#"<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main"><sheetData>"#);
            for (r, row) in rows.iter().enumerate() {
                xml.push_str(&format!(r#"<row r="{}">"#, r + 1));
                for (c, value) in row.iter().enumerate() {
                    let column = (b'A' + c as u8) as char;
                    let escaped = value.replace('&', "&amp;").replace('<', "&lt;");
                    if !value.is_empty() && value.parse::<f64>().is_ok() && !value.contains(' ') {
                        xml.push_str(&format!(r#"<c r="{column}{}"><v>{value}</v></c>"#, r + 1));
                    } else {
                        xml.push_str(&format!(r#"<c r="{column}{}" t="inlineStr"><is><t>{escaped}</t></is></c>"#, r + 1));
                    }
                }
                xml.push_str("</row>");
            }
            xml.push_str("</sheetData></worksheet>");
            xml
        }),
    ];
    for (name, text) in files {
        zip.start_file(name, options).unwrap();
        zip.write_all(text.as_bytes()).unwrap();
    }
    zip.finish().unwrap().into_inner()
}

#[actix_web::test]
async fn an_xlsx_sheet_reads_as_its_csv_does_and_a_site_exports_back_to_the_same_sheet() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let rows: Vec<Vec<String>> = sheet(&good_rows()).lines().map(csv_fields).collect();
    let made = upload(
        &app,
        &market.donor,
        "",
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
        xlsx(&rows),
    )
    .await;
    assert_eq!(made.status, 201, "{}", made.body);
    assert_eq!(made.body["created"], 2);

    let exported = app
        .get_text(
            "/api/v1/passports/inventory/sheet.csv?site=Binckhorst%2036",
            &market.donor.token,
        )
        .await;
    let lines: Vec<&str> = exported.lines().collect();
    assert_eq!(lines.len(), 3, "{exported}");
    assert!(lines[1].starts_with("Eiken binnendeur,doors-interior,17 02 01,8,piece,2015,830,40,oak 95%; steel 5%,32,good,"), "{exported}");
    // What is exported imports again, and exports as the same rows once more.
    let again = upload(
        &app,
        &market.donor,
        "",
        "text/csv",
        exported.clone().into_bytes(),
    )
    .await;
    assert_eq!(again.status, 201, "{}", again.body);
    let twice = app
        .get_text(
            "/api/v1/passports/inventory/sheet.csv?site=Binckhorst%2036",
            &market.donor.token,
        )
        .await;
    let expected: Vec<&str> = [&lines[..], &lines[1..]].concat();
    assert_eq!(twice.lines().collect::<Vec<_>>(), expected);
    // The other organisation's sheet is its own: empty.
    let others = app
        .get_text("/api/v1/passports/inventory/sheet.csv", &market.maker.token)
        .await;
    assert_eq!(others.lines().count(), 1);
}

#[actix_web::test]
async fn uploads_are_bounded_and_need_a_sheet_and_an_account() {
    let mut settings = test_settings();
    settings.max_upload_bytes = 2_000;
    let app = TestApp::spawn_with(settings).await;
    let market = Market::open(&app).await;
    let big = sheet(&vec![good_rows()[0].clone(); 40]);
    upload(&app, &market.donor, "", "text/csv", big.into_bytes())
        .await
        .assert_problem(413, "payload-too-large");
    upload(
        &app,
        &market.donor,
        "",
        "text/csv",
        vec![0xff, 0xfe, 0x00, 0x41],
    )
    .await
    .assert_problem(422, "validation");
    upload(
        &app,
        &market.donor,
        "",
        "application/zip",
        b"PK\x03\x04broken".to_vec(),
    )
    .await
    .assert_problem(422, "validation");
    upload(
        &app,
        &market.donor,
        "",
        "text/csv",
        b"name,colour\nx,red\n".to_vec(),
    )
    .await
    .assert_problem(422, "validation");
    let anonymous = app
        .client
        .post(app.url("/api/v1/passports/inventory"))
        .body(sheet(&good_rows()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), 401);
    let template = app
        .client
        .get(app.url("/api/v1/passports/inventory/template.csv"))
        .send()
        .await
        .unwrap();
    assert_eq!(template.status(), 200);
    let template = template.text().await.unwrap();
    assert!(template.starts_with("name,category,eural_code,quantity,unit"));
    let columns = app.get("/api/v1/passports/inventory/columns", None).await;
    assert_eq!(columns.body[0]["name"], "name");
    assert_eq!(columns.body[0]["required"], true);
}

#[actix_web::test]
async fn the_cli_imports_ten_thousand_rows_with_progress() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("inventaris.csv");
    let mut text = String::from(HEADER);
    for i in 0..10_000 {
        text.push_str(&format!(
            "\nDeur {i},doors-interior,17 02 01,{},piece,2015,830,40,\"oak 95%; steel 5%\",32,good,verdieping {},{},,Binckhorst 36",
            1 + i % 9,
            i % 12,
            future(1 + i % 90)
        ));
    }
    std::fs::write(&path, text).unwrap();
    let started = std::time::Instant::now();
    let output = Command::new(BINARY)
        .args([
            "import",
            path.to_str().unwrap(),
            "--organisation",
            &market.donor.org,
        ])
        .env("DATABASE_URL", &app.db_url)
        .env("KRINGLOOP_DATA_DIR", dir.path())
        .env("KRINGLOOP_JWT_SECRET", JWT_SECRET)
        .output()
        .unwrap();
    let seconds = started.elapsed().as_secs_f64();
    let stdout = String::from_utf8_lossy(&output.stdout);
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(output.status.success(), "{stdout}\n{stderr}");
    assert!(
        stdout.starts_with("10000 passports (10000 listed, 10000 of them announced)"),
        "{stdout}"
    );
    assert!(
        stderr.contains("inventory rows: 100 % (10000 of 10000)"),
        "{stderr}"
    );
    eprintln!("imported 10 000 rows through the CLI in {seconds:.1} s: {stdout}");
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM listings WHERE status = 'announced'")
            .await,
        10_000
    );
}
