//! Stream analysis: who may read flows, reports that add up to the raw flows, the district
//! balance's identity, broker-only analysis, forecasts, the EURAL report, open flow data whose
//! suppressed cells cannot be worked out, and districts retired rather than deleted.

use crate::support::*;
use chrono::{Datelike, Duration, Utc};
use diesel::sql_types::{BigInt, Text};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use reqwest::Method;
use serde_json::Value;
use std::collections::HashMap;

/// A lot of doors listed free by the donor, held whole by the maker and handed over.
async fn hand_over_doors(app: &TestApp, market: &Market, quantity: i64) -> Value {
    let listing = ListingBuilder::doors()
        .free()
        .quantity(quantity)
        .create(app, &market.donor)
        .await;
    let reserved = reserve(app, &market.maker, &listing, quantity).await;
    assert_eq!(reserved.status, 201, "{}", reserved.body);
    let id = reserved.body["id"].as_str().unwrap();
    let handed = app
        .send(
            Method::POST,
            &format!("/api/v1/reservations/{id}/handover"),
            Some(&market.donor.token),
            None,
            &[("Idempotency-Key", &format!("handover-{id}"))],
        )
        .await;
    assert_eq!(handed.status, 200, "{}", handed.body);
    listing
}

/// `n` synthetic flows over the last two years, written by the generator the bench uses.
async fn synthetic(app: &TestApp, n: i64) {
    kringloop::app::flows::seed::synthetic_flows(&app.ctx, n, 2, |_, _| {})
        .await
        .unwrap();
}

#[derive(diesel::QueryableByName, Debug)]
struct Sum {
    #[diesel(sql_type = Text)]
    key: String,
    #[diesel(sql_type = BigInt)]
    grams: i64,
    #[diesel(sql_type = BigInt)]
    n: i64,
}

/// (key → (grams, rows)) from a query with columns key, grams, n.
async fn sums(app: &TestApp, sql: &str) -> HashMap<String, (i64, i64)> {
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let rows: Vec<Sum> = diesel::sql_query(sql).load(&mut conn).await.unwrap();
    rows.into_iter().map(|r| (r.key, (r.grams, r.n))).collect()
}

/// A CSV answer: status, content type, `Link` header and text.
async fn get_text(app: &TestApp, path: &str, token: Option<&str>) -> (u16, String, String, String) {
    let mut request = app.client.get(app.url(path));
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let header = |name: &str| {
        response
            .headers()
            .get(name)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned()
    };
    let (kind, link) = (header("content-type"), header("link"));
    (
        response.status().as_u16(),
        kind,
        link,
        response.text().await.unwrap(),
    )
}

async fn kilos(app: &TestApp, sql: &str) -> f64 {
    app.sql_count(sql).await as f64 / 1000.0
}

fn month_of(months_back: i64) -> String {
    let at = Utc::now() - Duration::days(months_back * 31);
    format!("{:04}-{:02}", at.year(), at.month())
}

#[actix_web::test]
async fn anonymous_callers_get_401_and_an_organisation_sees_only_its_own_flows() {
    let app = TestApp::spawn().await;
    let market = Market::in_districts(&app).await;
    hand_over_doors(&app, &market, 4).await;
    let stranger = market.verified(&app, "jo@bouwer.test", "builder").await;
    app.get("/api/v1/flows", None)
        .await
        .assert_problem(401, "unauthenticated");
    let count = |body: &Value| {
        body["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| g["count"].as_i64().unwrap())
            .sum::<i64>()
    };
    let broker = app.get("/api/v1/flows", Some(&market.broker)).await;
    assert_eq!(broker.status, 200, "{}", broker.body);
    assert_eq!(count(&broker.body), 1);
    assert_eq!(broker.body["from_rollups"], true);
    let maker = app.get("/api/v1/flows", Some(&market.maker.token)).await;
    assert_eq!(count(&maker.body), 1, "{}", maker.body);
    assert_eq!(maker.body["from_rollups"], false);
    let other = app.get("/api/v1/flows", Some(&stranger.token)).await;
    assert_eq!(other.status, 200);
    assert_eq!(count(&other.body), 0, "{}", other.body);
}

#[actix_web::test]
async fn analysis_other_than_own_flows_is_for_the_broker_only() {
    let app = TestApp::spawn().await;
    let market = Market::in_districts(&app).await;
    let district = app.sql_ids("SELECT id FROM districts LIMIT 1").await[0].clone();
    for path in [
        "/api/v1/flows/sankey".to_owned(),
        "/api/v1/flows/eural.csv".to_owned(),
        format!("/api/v1/districts/{district}/balance"),
        "/api/v1/pipeline".to_owned(),
        "/api/v1/forecast".to_owned(),
    ] {
        app.get(&path, None)
            .await
            .assert_problem(401, "unauthenticated");
        app.get(&path, Some(&market.maker.token))
            .await
            .assert_problem(403, "forbidden");
        let ok = app.get(&path, Some(&market.broker)).await;
        assert_eq!(ok.status, 200, "{path}: {}", ok.body);
    }
}

#[actix_web::test]
async fn bad_periods_and_groupings_are_422() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    for query in [
        "from=2026-13",
        "to=26-01",
        "from=2026-05&to=2026-01",
        "group_by=colour",
    ] {
        app.get(&format!("/api/v1/flows?{query}"), Some(&market.broker))
            .await
            .assert_problem(422, "validation");
    }
    app.get("/api/v1/forecast?months=13", Some(&market.broker))
        .await
        .assert_problem(422, "validation");
}

#[actix_web::test]
async fn reports_add_up_to_the_raw_flows() {
    let app = TestApp::spawn().await;
    let market = Market::in_districts(&app).await;
    hand_over_doors(&app, &market, 3).await;
    synthetic(&app, 5000).await;
    let (from, to) = (month_of(30), month_of(0));
    let expected = sums(
        &app,
        "SELECT to_char(occurred_at AT TIME ZONE 'UTC', 'YYYY-MM') || '/' || \
                coalesce(d.code, 'unknown') AS key, sum(mass_g)::bigint AS grams, count(*) AS n \
         FROM flows f LEFT JOIN districts d ON d.id = f.origin_district_id GROUP BY 1",
    )
    .await;
    for parties in [false, true] {
        let report = app
            .get(
                &format!(
                    "/api/v1/flows?from={from}&to={to}&group_by=month,origin_district&parties={parties}"
                ),
                Some(&market.broker),
            )
            .await;
        assert_eq!(report.status, 200, "{}", report.body);
        assert_eq!(report.body["from_rollups"], !parties);
        let got: HashMap<String, (i64, i64)> = report.body["groups"]
            .as_array()
            .unwrap()
            .iter()
            .map(|g| {
                let key = format!(
                    "{}/{}",
                    g["month"].as_str().unwrap(),
                    g["origin_district"]["code"].as_str().unwrap_or("unknown")
                );
                let grams = (g["mass_kg"].as_f64().unwrap() * 1000.0).round() as i64;
                (key, (grams, g["count"].as_i64().unwrap()))
            })
            .collect();
        assert_eq!(got, expected, "parties={parties}");
    }
    // Grouped by root category, the total is the same.
    let by_root = app
        .get(
            &format!("/api/v1/flows?from={from}&to={to}&group_by=category&category_level=0"),
            Some(&market.broker),
        )
        .await;
    let total: f64 = by_root.body["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["mass_kg"].as_f64().unwrap())
        .sum();
    let grams: i64 = expected.values().map(|v| v.0).sum();
    assert!(
        (total * 1000.0 - grams as f64).abs() < 1.0,
        "{total} vs {grams}"
    );
    // The EURAL report says the same per code.
    let (status, kind, _, eural) = get_text(
        &app,
        &format!("/api/v1/flows/eural.csv?from={from}&to={to}"),
        Some(&market.broker),
    )
    .await;
    assert_eq!(status, 200);
    assert!(kind.starts_with("text/csv"), "{kind}");
    let by_code = sums(
        &app,
        "SELECT coalesce(eural_code, '') AS key, sum(mass_g)::bigint AS grams, count(*) AS n \
         FROM flows GROUP BY 1",
    )
    .await;
    let mut csv: HashMap<String, (i64, i64)> = HashMap::new();
    for line in eural.lines().skip(1) {
        let f: Vec<&str> = line.split(',').collect();
        let e = csv.entry(f[1].to_owned()).or_default();
        e.0 += (f[2].parse::<f64>().unwrap() * 1000.0).round() as i64;
        e.1 += f[3].parse::<i64>().unwrap();
    }
    assert_eq!(csv, by_code);
}

#[actix_web::test]
async fn the_sankey_links_carry_every_flow() {
    let app = TestApp::spawn().await;
    let market = Market::in_districts(&app).await;
    synthetic(&app, 2000).await;
    let (from, to) = (month_of(30), month_of(0));
    let total = app
        .sql_count("SELECT sum(mass_g)::bigint AS count FROM flows")
        .await;
    for by in ["district", "category"] {
        let sankey = app
            .get(
                &format!("/api/v1/flows/sankey?from={from}&to={to}&by={by}"),
                Some(&market.broker),
            )
            .await;
        assert_eq!(sankey.status, 200, "{}", sankey.body);
        let nodes = sankey.body["nodes"].as_array().unwrap().len();
        let links = sankey.body["links"].as_array().unwrap();
        let mass: f64 = links.iter().map(|l| l["mass_kg"].as_f64().unwrap()).sum();
        assert!((mass * 1000.0 - total as f64).abs() < 1.0, "{by}");
        assert!(links.iter().all(|l| {
            l["source"].as_u64().unwrap() < nodes as u64
                && l["target"].as_u64().unwrap() < nodes as u64
        }));
    }
}

#[actix_web::test]
async fn a_districts_balance_holds_and_matches_its_hand_overs() {
    let app = TestApp::spawn().await;
    let market = Market::in_districts(&app).await;
    let listing = hand_over_doors(&app, &market, 3).await;
    // A second lot, half handed over, then withdrawn.
    let other = ListingBuilder::doors()
        .free()
        .quantity(4)
        .create(&app, &market.donor)
        .await;
    let reserved = reserve(&app, &market.maker, &other, 2).await;
    let id = reserved.body["id"].as_str().unwrap();
    let handed = app
        .send(
            Method::POST,
            &format!("/api/v1/reservations/{id}/handover"),
            Some(&market.donor.token),
            None,
            &[("Idempotency-Key", "second")],
        )
        .await;
    assert_eq!(handed.status, 200, "{}", handed.body);
    let withdrawn = app
        .withdraw(other["id"].as_str().unwrap(), Some(&market.donor.token))
        .await;
    assert!(withdrawn.status < 300, "{}", withdrawn.body);
    let district = listing["district_id"].as_str().unwrap();
    let balance = app
        .get(
            &format!(
                "/api/v1/districts/{district}/balance?from={}&to={}",
                month_of(1),
                month_of(-2)
            ),
            Some(&market.broker),
        )
        .await;
    assert_eq!(balance.status, 200, "{}", balance.body);
    let b = &balance.body;
    let f = |k: &str| b[k].as_f64().unwrap();
    assert_eq!(b["balanced"], true);
    assert!(
        (f("stock_end_kg")
            - (f("stock_start_kg") + f("listed_kg")
                - f("handed_over_kg")
                - f("withdrawn_or_expired_kg")))
        .abs()
            < 1e-6,
        "{b}"
    );
    let handed_g = kilos(&app, &format!(
        "SELECT coalesce(sum(mass_g), 0)::bigint AS count FROM flows WHERE origin_district_id = '{district}'"
    ))
    .await;
    assert!((f("handed_over_kg") - handed_g).abs() < 1e-6, "{b}");
    assert!((f("out_kg") + f("kept_kg") - handed_g).abs() < 1e-6, "{b}");
    let listed_g = kilos(&app, &format!(
        "SELECT sum(quantity * mass_g_per_unit)::bigint AS count FROM listings WHERE district_id = '{district}'"
    ))
    .await;
    assert!(
        (f("listed_kg") + f("stock_start_kg") - listed_g).abs() < 1e-6,
        "{b}"
    );
    // Two of the four doors of the withdrawn lot were never handed over.
    assert!(f("withdrawn_or_expired_kg") > 0.0, "{b}");
    assert!(f("stock_end_kg").abs() < 1e-6, "{b}");
}

#[actix_web::test]
async fn the_pipeline_sets_announced_supply_against_wishes() {
    let app = TestApp::spawn().await;
    let market = Market::in_districts(&app).await;
    ListingBuilder::doors()
        .free()
        .quantity(10)
        .available_in_days(35)
        .create(&app, &market.donor)
        .await;
    WishBuilder::doors()
        .quantity(2)
        .create(&app, &market.maker)
        .await;
    let pipeline = app
        .get("/api/v1/pipeline?months=6", Some(&market.broker))
        .await;
    assert_eq!(pipeline.status, 200, "{}", pipeline.body);
    let lines = pipeline.body["lines"].as_array().unwrap();
    let supply: f64 = lines
        .iter()
        .flat_map(|l| l["months"].as_array().unwrap())
        .map(|m| m["supply_kg"].as_f64().unwrap())
        .sum();
    let announced = app
        .sql_count(
            "SELECT sum(quantity * mass_g_per_unit)::bigint AS count FROM listings WHERE status = 'announced'",
        )
        .await;
    assert!(
        (supply * 1000.0 - announced as f64).abs() < 1.0,
        "{}",
        pipeline.body
    );
    for line in lines {
        for m in line["months"].as_array().unwrap() {
            let gap = m["supply_kg"].as_f64().unwrap() - m["demand_kg"].as_f64().unwrap();
            assert!((m["gap_kg"].as_f64().unwrap() - gap).abs() < 1e-9);
        }
    }
}

#[actix_web::test]
async fn forecasts_carry_intervals_and_their_back_test() {
    let app = TestApp::spawn().await;
    let market = Market::in_districts(&app).await;
    synthetic(&app, 4000).await;
    let forecast = app
        .get("/api/v1/forecast?months=3", Some(&market.broker))
        .await;
    assert_eq!(forecast.status, 200, "{}", forecast.body);
    let series = forecast.body["series"].as_array().unwrap();
    assert!(!series.is_empty());
    let with_history: Vec<&Value> = series
        .iter()
        .filter(|s| s["history_months"].as_u64().unwrap() >= 12)
        .collect();
    assert!(!with_history.is_empty(), "{}", forecast.body);
    for s in with_history {
        let bt = &s["back_test"];
        assert!(bt["mase"].as_f64().unwrap() >= 0.0, "{s}");
        assert!(bt["naive_mase"].as_f64().unwrap() >= 0.0, "{s}");
        assert!(bt["coverage_95"].as_f64().unwrap() >= bt["coverage_80"].as_f64().unwrap());
        let months = s["months"].as_array().unwrap();
        assert_eq!(months.len(), 3);
        for m in months {
            let v = |k: &str| m[k].as_f64().unwrap();
            assert!(v("lo95_kg") <= v("lo80_kg") && v("lo80_kg") <= v("mean_kg"));
            assert!(v("mean_kg") <= v("hi80_kg") && v("hi80_kg") <= v("hi95_kg"));
        }
    }
}

#[actix_web::test]
async fn reports_and_forecasts_name_a_category_by_code_as_everything_else_does() {
    let app = TestApp::spawn().await;
    let market = Market::in_districts(&app).await;
    hand_over_doors(&app, &market, 3).await;
    let doors = category_id(&app, "doors").await;
    let report = |category: String| {
        let app = &app;
        let broker = &market.broker;
        async move {
            app.get(
                &format!("/api/v1/flows?group_by=category&category={category}"),
                Some(broker),
            )
            .await
        }
    };
    let by_code = report("doors".into()).await;
    assert_eq!(by_code.status, 200, "{}", by_code.body);
    assert_eq!(
        by_code.body["groups"].as_array().unwrap().len(),
        1,
        "{}",
        by_code.body
    );
    let by_id = report(doors.to_string()).await;
    assert_eq!(by_id.body, by_code.body);
    let elsewhere = report("wood".into()).await;
    assert!(
        elsewhere.body["groups"].as_array().unwrap().is_empty(),
        "{}",
        elsewhere.body
    );
    report("no-such-category".into())
        .await
        .assert_problem(422, "validation");

    let forecast = app
        .get(
            "/api/v1/forecast?category=doors&months=2",
            Some(&market.broker),
        )
        .await;
    assert_eq!(forecast.status, 200, "{}", forecast.body);
    assert_eq!(forecast.body["series"][0]["category"]["code"], "doors");
    let unknown = app
        .get(
            "/api/v1/forecast?category=no-such-category",
            Some(&market.broker),
        )
        .await;
    assert_eq!(unknown.status, 404, "{}", unknown.body);
}

/// The rank of a matrix, by elimination.
fn rank(mut rows: Vec<Vec<f64>>) -> usize {
    let width = if rows.is_empty() { 0 } else { rows[0].len() };
    let mut rank = 0;
    for c in 0..width {
        let Some(p) = (rank..rows.len()).find(|&r| rows[r][c].abs() > 1e-9) else {
            continue;
        };
        rows.swap(rank, p);
        for r in 0..rows.len() {
            if r != rank && rows[r][c].abs() > 1e-9 {
                let k = rows[r][c] / rows[rank][c];
                let pivot = rows[rank].clone();
                for (x, y) in rows[r].iter_mut().zip(pivot) {
                    *x -= k * y;
                }
            }
        }
        rank += 1;
    }
    rank
}

#[actix_web::test]
async fn open_flows_suppress_small_cells_so_that_none_can_be_worked_out() {
    let app = TestApp::spawn().await;
    let market = Market::in_districts(&app).await;
    for i in 0..4 {
        market
            .verified(&app, &format!("org{i}@bouw.test"), "builder")
            .await;
        market
            .verified(&app, &format!("sloop{i}@sloop.test"), "contractor")
            .await;
    }
    // Three districts, so that cells are full enough for some to be published.
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/districts-den-haag.geojson");
    let mut geojson: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    geojson["features"].as_array_mut().unwrap().truncate(3);
    let upload = app
        .send(
            Method::PUT,
            "/api/v1/admin/districts",
            Some(&market.broker),
            Some(&geojson),
            &[],
        )
        .await;
    assert_eq!(upload.status, 200, "{}", upload.body);
    synthetic(&app, 20_000).await;
    let (from, to) = (month_of(7), month_of(1));
    let json = app
        .get(
            &format!("/api/v1/open/flows.json?from={from}&to={to}"),
            None,
        )
        .await;
    assert_eq!(json.status, 200, "{}", json.body);
    assert_eq!(
        json.headers.get("link").unwrap().to_str().unwrap(),
        "<https://creativecommons.org/licenses/by/4.0/>; rel=\"license\""
    );
    assert_eq!(json.body["licence"], "CC-BY-4.0");
    let cells = json.body["cells"].as_array().unwrap();
    let totals = json.body["totals"].as_array().unwrap();
    let hidden_count = cells.iter().filter(|c| c["suppressed"] == true).count();
    assert!(
        hidden_count > 0 && hidden_count < cells.len(),
        "{hidden_count} of {}",
        cells.len()
    );
    // Every suppressed cell: is its unit vector in the span of the published totals' rows
    // (over the suppressed cells of its month)? Then it could be worked out.
    let key = |v: &Value, k: &str| v[k].as_str().map(str::to_owned);
    let mut months: Vec<String> = cells.iter().map(|c| key(c, "month").unwrap()).collect();
    months.sort();
    months.dedup();
    for month in months {
        let hidden: Vec<&Value> = cells
            .iter()
            .filter(|c| c["month"] == month.as_str() && c["suppressed"] == true)
            .collect();
        if hidden.is_empty() {
            continue;
        }
        let rows: Vec<Vec<f64>> = totals
            .iter()
            .filter(|t| t["month"] == month.as_str())
            .map(|t| {
                hidden
                    .iter()
                    .map(|c| {
                        let within = ["origin_district", "destination_district", "category"]
                            .iter()
                            .all(|k| key(t, k).is_none() || key(t, k) == key(c, k));
                        if within {
                            1.0
                        } else {
                            0.0
                        }
                    })
                    .collect()
            })
            .collect();
        let base = rank(rows.clone());
        for j in 0..hidden.len() {
            let mut with = rows.clone();
            with.push((0..hidden.len()).map(|i| f64::from(i == j)).collect());
            assert!(
                rank(with) > base,
                "{month}: the suppressed cell {} can be worked out from the totals",
                hidden[j]
            );
        }
    }
    // The CSV says the same.
    let (status, _, link, csv) = get_text(
        &app,
        &format!("/api/v1/open/flows.csv?from={from}&to={to}"),
        None,
    )
    .await;
    assert_eq!(status, 200);
    assert!(link.contains("rel=\"license\""), "{link}");
    assert_eq!(csv.lines().count(), 1 + cells.len() + totals.len());
    // No organisation or person appears in open data.
    let body = json.body.to_string();
    assert!(!body.contains(&market.donor.org) && !body.contains(&market.maker.org));
}

#[actix_web::test]
async fn an_upload_that_leaves_out_a_district_with_flows_retires_it() {
    let app = TestApp::spawn().await;
    let market = Market::in_districts(&app).await;
    hand_over_doors(&app, &market, 2).await;
    let origin = app
        .sql_ids("SELECT origin_district_id AS id FROM flows")
        .await[0]
        .clone();
    let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../shared/data/districts-den-haag.geojson");
    let mut geojson: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
    let districts = app.get("/api/v1/districts", None).await;
    let code = districts
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == origin.as_str())
        .unwrap()["code"]
        .clone();
    geojson["features"]
        .as_array_mut()
        .unwrap()
        .retain(|f| f["properties"]["code"] != code);
    let upload = app
        .send(
            Method::PUT,
            "/api/v1/admin/districts",
            Some(&market.broker),
            Some(&geojson),
            &[],
        )
        .await;
    assert_eq!(upload.status, 200, "{}", upload.body);
    let current = app.get("/api/v1/districts", None).await;
    assert!(current
        .body
        .as_array()
        .unwrap()
        .iter()
        .all(|d| d["id"] != origin.as_str()));
    let all = app.get("/api/v1/districts?retired=true", None).await;
    let retired = all
        .body
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["id"] == origin.as_str())
        .unwrap();
    assert!(retired["retired_at"].is_string(), "{retired}");
    // The flow still names its district, and uploading the whole set again brings it back.
    let flows = app
        .get(
            "/api/v1/flows?group_by=origin_district",
            Some(&market.broker),
        )
        .await;
    assert_eq!(
        flows.body["groups"][0]["origin_district"]["id"],
        origin.as_str()
    );
    app.upload_districts(&market.broker).await;
    let current = app.get("/api/v1/districts", None).await;
    assert!(current
        .body
        .as_array()
        .unwrap()
        .iter()
        .any(|d| d["id"] == origin.as_str()));
}
