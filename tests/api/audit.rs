//! The broker's audit log: every broker action writes its entry in the transaction that does
//! it (so a refused or failed action leaves none, and an entry that cannot be written undoes the
//! action), only brokers read it, filtered and paged, and nobody rewrites it.

use crate::support::*;
use chrono::{Duration, SecondsFormat};
use kringloop::domain::audit::AuditAction;
use serde_json::{json, Value};
use std::collections::BTreeSet;

/// Every entry the log holds now, newest first, read a page of `limit` at a time.
async fn whole_log(app: &TestApp, broker: &str, query: &str, limit: u32) -> Vec<Value> {
    let mut entries = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let mut path = format!("/api/v1/admin/audit?limit={limit}{query}");
        if let Some(cursor) = &cursor {
            path.push_str(&format!("&cursor={cursor}"));
        }
        let page = app.get(&path, Some(broker)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        entries.extend(page.items().iter().cloned());
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => return entries,
        }
    }
}

fn of<'a>(entries: &'a [Value], action: &str) -> Vec<&'a Value> {
    entries.iter().filter(|e| e["action"] == action).collect()
}

fn id(value: &Value) -> &str {
    value["id"].as_str().unwrap()
}

#[actix_web::test]
async fn every_broker_action_writes_its_entry() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let broker = market.broker.as_str();
    let (donor, maker) = (&market.donor, &market.maker);

    // Organisations: verified (by Market::open), suspended with a reason, and set back to
    // unverified and verified again through the console.
    let suspended = app
        .post(
            &format!("/api/v1/admin/organisations/{}/suspend", maker.org),
            Some(broker),
            &json!({"reason": "stock never collected"}),
        )
        .await;
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    let mut console = PageClient::new(&app.base);
    console
        .sign_in("broker@gemeente.test", "correct horse battery")
        .await;
    console.get("/console").await;
    let unverified = console
        .post(
            &format!("/console/organisations/{}/status", maker.org),
            &[("status", "unverified"), ("reason", "")],
        )
        .await;
    assert_eq!(unverified.status, 303, "{}", unverified.body);
    verify(&app, broker, &maker.org).await;

    // The taxonomy.
    let categories = app.get("/api/v1/categories", None).await.body;
    let doors = categories
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "doors")
        .unwrap()["id"]
        .clone();
    let created = app
        .post(
            "/api/v1/admin/categories",
            Some(broker),
            &json!({"code": "doors-revolving", "parent_id": doors, "name_nl": "Draaideuren",
                    "name_en": "Revolving doors", "eural_codes": []}),
        )
        .await;
    assert_eq!(created.status, 201, "{}", created.body);
    let category = id(&created.body).to_owned();
    let renamed = app
        .patch(
            &format!("/api/v1/admin/categories/{category}"),
            Some(broker),
            &json!({"name_en": "Carousel doors"}),
        )
        .await;
    assert_eq!(renamed.status, 200, "{}", renamed.body);
    let deleted = app
        .delete(
            &format!("/api/v1/admin/categories/{category}"),
            Some(broker),
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);

    // Districts and the currency.
    app.upload_districts(broker).await;
    set_currency(
        &app,
        broker,
        &json!({"code": "KRL", "name": "Kringloop", "decimals": 2,
                "issuance_policy": {"default_per_kg": 5, "per_category": {}}}),
    )
    .await;

    // Money: issued, paid on, the payment reversed, a credit limit.
    let issued = market.fund(&app, maker, 1_000).await;
    let paid = app
        .post_keyed(
            "/api/v1/transfers",
            Some(&maker.token),
            &json!({"to_organisation_id": donor.org, "amount": 400}),
        )
        .await;
    assert_eq!(paid.status, 201, "{}", paid.body);
    let reversed = app
        .post(
            &format!("/api/v1/admin/transfers/{}/reverse", id(&paid.body)),
            Some(broker),
            &json!({"reason": "paid the wrong organisation"}),
        )
        .await;
    assert_eq!(reversed.status, 201, "{}", reversed.body);
    let limit = app
        .put(
            &format!("/api/v1/admin/accounts/{}/credit-limit", donor.org),
            Some(broker),
            &json!({"credit_limit": 2_500}),
        )
        .await;
    assert_eq!(limit.status, 200, "{}", limit.body);

    // A failed mail sent again.
    let failed = app
        .sql_ids(
            "UPDATE outbox SET status = 'failed', attempts = 5, last_error = 'mailbox full' \
             WHERE id = (SELECT id FROM outbox WHERE channel = 'email' ORDER BY id LIMIT 1) \
             RETURNING id",
        )
        .await;
    let retried = app
        .post(
            &format!("/api/v1/admin/outbox/{}/retry", failed[0]),
            Some(broker),
            &json!({}),
        )
        .await;
    assert_eq!(retried.status, 200, "{}", retried.body);

    // Moderation.
    let listing = ListingBuilder::doors().create(&app, donor).await;
    let wish = WishBuilder::doors().create(&app, maker).await;
    for (kind, object) in [("listings", &listing), ("wishes", &wish)] {
        let path = format!("/api/v1/admin/{kind}/{}", id(object));
        let hidden = app
            .post(
                &format!("{path}/hide"),
                Some(broker),
                &json!({"reason": "offensive words"}),
            )
            .await;
        assert_eq!(hidden.status, 200, "{}", hidden.body);
        let restored = app
            .post(&format!("{path}/restore"), Some(broker), &json!({}))
            .await;
        assert_eq!(restored.status, 200, "{}", restored.body);
    }

    // Issuance: a monthly cap, and the issuance of two hand-overs of implausibly heavy doors
    // held for review, one approved and one rejected.
    let cap = app
        .put(
            &format!("/api/v1/admin/accounts/{}/issuance-cap", donor.org),
            Some(broker),
            &json!({"issuance_cap_per_month": 100_000}),
        )
        .await;
    assert_eq!(cap.status, 200, "{}", cap.body);
    for (decision, body) in [
        ("approve", json!({"note": "weighed"})),
        ("reject", json!({"reason": "a door does not weigh 1 000 t"})),
    ] {
        let passport = PassportBuilder::doors()
            .set("unit_mass", json!({"grams": 1_000_000_000, "per": "piece"}))
            .create(&app, donor)
            .await;
        let lot = ListingBuilder::of(&passport)
            .quantity(1)
            .create(&app, donor)
            .await;
        let reserved = reserve(&app, maker, &lot, 1).await;
        assert_eq!(reserved.status, 201, "{}", reserved.body);
        let path = format!("/api/v1/reservations/{}", id(&reserved.body));
        let handed = app
            .post_keyed(&format!("{path}/handover"), Some(&donor.token), &json!({}))
            .await;
        assert_eq!(handed.status, 200, "{}", handed.body);
        let confirmed = app
            .post(&format!("{path}/confirm"), Some(&maker.token), &json!({}))
            .await;
        assert_eq!(confirmed.status, 200, "{}", confirmed.body);
        let held = app.get("/api/v1/admin/issuance/held", Some(broker)).await;
        let claim = id(&held.items()[0]).to_owned();
        let decided = app
            .post(
                &format!("/api/v1/admin/issuance/held/{claim}/{decision}"),
                Some(broker),
                &body,
            )
            .await;
        assert_eq!(decided.status, 200, "{}", decided.body);
    }

    let log = whole_log(&app, broker, "", 100).await;
    let written: BTreeSet<&str> = log.iter().map(|e| e["action"].as_str().unwrap()).collect();
    let every: BTreeSet<&str> = AuditAction::ALL.iter().map(|a| a.as_str()).collect();
    assert_eq!(written, every);
    let broker_id = app.login("broker@gemeente.test").await;
    let me = app
        .get(
            "/api/v1/me",
            Some(broker_id["access_token"].as_str().unwrap()),
        )
        .await;
    for entry in &log {
        assert_eq!(entry["broker_id"], me.body["user"]["id"], "{entry}");
        assert_eq!(entry["broker_name"], "Makelaar");
    }

    // Who, what, the object, before and after, the reason.
    let suspension = of(&log, "suspend_organisation");
    assert_eq!(suspension.len(), 1);
    let suspension = suspension[0];
    assert_eq!(suspension["object_kind"], "organisation");
    assert_eq!(suspension["object_id"], maker.org.as_str());
    assert_eq!(suspension["before"]["status"], "verified");
    assert_eq!(suspension["after"]["status"], "suspended");
    assert_eq!(suspension["reason"], "stock never collected");
    let unverify = of(&log, "unverify_organisation")[0];
    assert!(unverify["reason"].is_null(), "{unverify}");
    // Two organisations verified by the market, the maker again after the console.
    assert_eq!(of(&log, "verify_organisation").len(), 3);

    let update = of(&log, "update_category")[0];
    assert_eq!(update["object_id"], category.as_str());
    assert_eq!(update["before"]["name_en"], "Revolving doors");
    assert_eq!(update["after"]["name_en"], "Carousel doors");
    let create = of(&log, "create_category")[0];
    assert!(create["before"].is_null() && create["after"]["code"] == "doors-revolving");
    let delete = of(&log, "delete_category")[0];
    assert!(delete["after"].is_null() && delete["before"]["code"] == "doors-revolving");

    let districts = of(&log, "replace_districts")[0];
    assert!(districts["object_id"].is_null());
    assert_eq!(districts["before"], json!([]));
    assert!(
        districts["after"].as_array().unwrap().len() > 10,
        "{districts}"
    );
    let currency = of(&log, "configure_currency")[0];
    assert_eq!(currency["after"]["name"], "Kringloop");
    assert_eq!(
        currency["after"]["version"],
        currency["before"]["version"].as_i64().unwrap() + 1
    );

    let issue = of(&log, "issue_money")[0];
    assert_eq!(issue["object_kind"], "account");
    assert_eq!(issue["object_id"], maker.org.as_str());
    assert_eq!(issue["after"]["id"], issued["id"]);
    assert_eq!(issue["reason"], "start-up credit");
    let reversal = of(&log, "reverse_transfer")[0];
    assert_eq!(reversal["object_id"], paid.body["id"]);
    assert_eq!(reversal["after"]["id"], reversed.body["id"]);
    assert_eq!(reversal["reason"], "paid the wrong organisation");
    let credit = of(&log, "set_credit_limit")[0];
    assert_eq!(credit["before"], json!({"credit_limit": 0}));
    assert_eq!(credit["after"], json!({"credit_limit": 2_500}));
    let retry = of(&log, "retry_outbox")[0];
    assert_eq!(retry["object_id"], failed[0].as_str());
    assert_eq!(retry["before"]["status"], "failed");
    assert_eq!(retry["after"]["status"], "pending");

    let hide = of(&log, "hide_listing")[0];
    assert_eq!(hide["object_id"], listing["id"]);
    assert!(hide["before"]["hidden"].is_null());
    assert_eq!(hide["after"]["hidden"]["reason"], "offensive words");
    assert_eq!(hide["reason"], "offensive words");
    let restore = of(&log, "restore_wish")[0];
    assert_eq!(restore["object_kind"], "wish");
    assert!(restore["after"]["hidden"].is_null() && restore["before"]["hidden"].is_object());
}

#[actix_web::test]
async fn a_refused_action_leaves_no_entry_and_an_entry_that_cannot_be_written_undoes_its_action() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let broker = market.broker.as_str();
    let count = |action: &'static str| {
        let app = &app;
        async move {
            app.sql_count(&format!(
                "SELECT count(*) AS count FROM audit_log WHERE action = '{action}'"
            ))
            .await
        }
    };

    // Refused: a category in use, a stale currency version, a transfer that is no payment.
    let categories = app.get("/api/v1/categories", None).await.body;
    let doors = categories
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["code"] == "doors")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    app.delete(&format!("/api/v1/admin/categories/{doors}"), Some(broker))
        .await
        .assert_problem(409, "category-in-use");
    let stale = app
        .send(
            reqwest::Method::PUT,
            "/api/v1/admin/currency",
            Some(broker),
            Some(&json!({"code": "KRL", "name": "Kringloop", "decimals": 2,
                         "issuance_policy": {"default_per_kg": 5, "per_category": {}}})),
            &[("If-Match", "\"999\"")],
        )
        .await;
    assert_eq!(stale.status, 412, "{}", stale.body);
    let listing = ListingBuilder::doors().create(&app, &market.donor).await;
    app.post(
        &format!("/api/v1/admin/listings/{}/restore", id(&listing)),
        Some(broker),
        &json!({}),
    )
    .await
    .assert_problem(409, "not-hidden");
    assert_eq!(count("delete_category").await, 0);
    assert_eq!(count("configure_currency").await, 0);
    assert_eq!(count("restore_listing").await, 0);

    // The log refuses the suspension's entry: the suspension does not happen either, and
    // nobody is told of it.
    app.sql(
        "ALTER TABLE audit_log ADD CONSTRAINT no_suspensions \
         CHECK (action <> 'suspend_organisation')",
    )
    .await
    .unwrap();
    let refused = app
        .post(
            &format!("/api/v1/admin/organisations/{}/suspend", market.donor.org),
            Some(broker),
            &json!({"reason": "testing the log"}),
        )
        .await;
    assert_eq!(refused.status, 500, "{}", refused.body);
    let donor = app
        .get(
            &format!("/api/v1/organisations/{}", market.donor.org),
            Some(broker),
        )
        .await;
    assert_eq!(donor.body["status"], "verified");
    assert_eq!(
        app.sql_count(
            "SELECT count(*) AS count FROM outbox WHERE event = 'organisation_suspended'"
        )
        .await,
        0
    );
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM listings WHERE suspended")
            .await,
        0
    );
    assert_eq!(count("suspend_organisation").await, 0);
    // The same holds for hiding.
    app.sql("ALTER TABLE audit_log ADD CONSTRAINT no_hiding CHECK (action <> 'hide_listing')")
        .await
        .unwrap();
    let hidden = app
        .post(
            &format!("/api/v1/admin/listings/{}/hide", id(&listing)),
            Some(broker),
            &json!({"reason": "testing the log"}),
        )
        .await;
    assert_eq!(hidden.status, 500, "{}", hidden.body);
    assert!(listing_now(&app, &listing).await["hidden"].is_null());
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM outbox WHERE event = 'listing_hidden'")
            .await,
        0
    );
}

#[actix_web::test]
async fn only_brokers_read_the_log_and_nobody_rewrites_it() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    app.get("/api/v1/admin/audit", Some(&market.donor.token))
        .await
        .assert_problem(403, "forbidden");
    app.get("/api/v1/admin/audit", None)
        .await
        .assert_problem(401, "unauthenticated");
    let mut member = PageClient::new(&app.base);
    member
        .sign_in(&market.donor.email, "correct horse battery")
        .await;
    assert_eq!(member.get("/console").await.status, 403);

    assert!(app
        .sql("UPDATE audit_log SET reason = 'rewritten'")
        .await
        .is_err());
    assert!(app.sql("DELETE FROM audit_log").await.is_err());
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM audit_log WHERE reason = 'rewritten'")
            .await,
        0
    );
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM audit_log")
            .await,
        2
    );
}

#[actix_web::test]
async fn the_log_is_filtered_by_action_object_and_time_and_paged_without_gaps() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let broker = market.broker.as_str();
    let donor = &market.donor;
    let start = app.ctx.now();
    let mut listings = Vec::new();
    // A hiding every two minutes (the tokens live fifteen).
    for step in 0..5 {
        let listing = ListingBuilder::doors().create(&app, donor).await;
        let hidden = app
            .post(
                &format!("/api/v1/admin/listings/{}/hide", id(&listing)),
                Some(broker),
                &json!({"reason": format!("hiding {step}")}),
            )
            .await;
        assert_eq!(hidden.status, 200, "{}", hidden.body);
        listings.push(listing);
        app.clock.advance(Duration::minutes(2));
    }
    market.fund(&app, donor, 500).await;

    // Paged two at a time, the log is the whole log, newest first, each entry once.
    let whole = whole_log(&app, broker, "", 100).await;
    assert_eq!(whole.len(), 2 + 5 + 1);
    let paged = whole_log(&app, broker, "", 2).await;
    assert_eq!(paged, whole);
    assert_eq!(whole[0]["action"], "issue_money");
    assert_eq!(whole[7]["action"], "verify_organisation");

    // By action, and by object: an organisation's id finds its account's entries too.
    let hides = whole_log(&app, broker, "&action=hide_listing", 2).await;
    let hidden_ids: Vec<&Value> = hides.iter().map(|e| &e["object_id"]).collect();
    let expected: Vec<&Value> = listings.iter().rev().map(|l| &l["id"]).collect();
    assert_eq!(hidden_ids, expected);
    let about_donor = whole_log(&app, broker, &format!("&object_id={}", donor.org), 100).await;
    let actions: Vec<&str> = about_donor
        .iter()
        .map(|e| e["action"].as_str().unwrap())
        .collect();
    assert_eq!(actions, ["issue_money", "verify_organisation"]);
    let one = whole_log(
        &app,
        broker,
        &format!("&object_id={}&action=hide_listing", id(&listings[2])),
        100,
    )
    .await;
    assert_eq!(one.len(), 1);
    assert_eq!(one[0]["reason"], "hiding 2");

    // By time: from is inclusive, to exclusive.
    let moment = |step: i64| {
        (start + Duration::minutes(2 * step + 1)).to_rfc3339_opts(SecondsFormat::Secs, true)
    };
    let middle = whole_log(
        &app,
        broker,
        &format!("&action=hide_listing&from={}&to={}", moment(0), moment(2)),
        100,
    )
    .await;
    let reasons: Vec<&str> = middle
        .iter()
        .map(|e| e["reason"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["hiding 2", "hiding 1"]);
    let late = whole_log(&app, broker, &format!("&from={}", moment(3)), 100).await;
    assert_eq!(late.len(), 2, "the last hiding and the issuance");

    // What is not a filter is refused.
    let path = |query: &str| format!("/api/v1/admin/audit?{query}");
    app.get(&path("action=delete_everything"), Some(broker))
        .await
        .assert_problem(400, "invalid-query");
    app.get(&path("from=yesterday"), Some(broker))
        .await
        .assert_problem(400, "invalid-query");
    app.get(&path("cursor=nope"), Some(broker))
        .await
        .assert_problem(400, "bad-request");
    app.get(
        &path(&format!("from={}&to={}", moment(2), moment(1))),
        Some(broker),
    )
    .await
    .assert_problem(422, "validation");
    app.get(&path("limit=101"), Some(broker))
        .await
        .assert_problem(422, "validation");
}
