//! Every notice goes out in its own words: a kind the catalogue lists has its own mail, and a
//! stored kind it does not list fails at once instead of going out as a generic mail.

use crate::support::*;
use kringloop::app::engine::mail as delivery;
use serde_json::json;

#[actix_web::test]
async fn a_suspended_organisation_is_told_so_in_its_own_mail() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(sink.settings()).await;
    let market = Market::open(&app).await;
    let suspended = app
        .post(
            &format!("/api/v1/admin/organisations/{}/suspend", market.donor.org),
            Some(&market.broker),
            &json!({}),
        )
        .await;
    assert_eq!(suspended.status, 200, "{}", suspended.body);
    let round = delivery::deliver_due(&app.ctx).await.unwrap();
    assert_eq!(round.failed + round.retrying, 0, "{round:?}");
    let subjects = sink.subjects_to(Market::DONOR);
    assert!(
        subjects.contains(&"Your organisation is suspended".to_owned()),
        "{subjects:?}"
    );
}

#[actix_web::test]
async fn mail_of_a_kind_no_longer_known_fails_at_once_and_is_not_sent() {
    let sink = SmtpSink::start().await;
    let app = TestApp::spawn_with(sink.settings()).await;
    let broker = app.broker().await;
    let owner = unverified(&app, "org@stad.test", "initiative").await;
    verify(&app, &broker, &owner.org).await;
    drop_confirmation_mail(&app).await;
    let renamed = app
        .sql_ids(
            "UPDATE outbox SET event = 'retired_kind' \
             WHERE channel = 'email' AND status = 'pending' RETURNING id",
        )
        .await;
    assert_eq!(renamed.len(), 1);

    let round = delivery::deliver_due(&app.ctx).await.unwrap();
    assert_eq!(
        (round.sent, round.failed, round.retrying),
        (0, 1, 0),
        "{round:?}"
    );
    assert!(sink.subjects_to("org@stad.test").is_empty());
    let failed = app.get("/api/v1/admin/outbox", Some(&broker)).await;
    let entry = &failed.items()[0];
    assert_eq!(entry["id"], renamed[0].as_str());
    assert_eq!(entry["attempts"], 1);
    assert!(
        entry["last_error"]
            .as_str()
            .unwrap()
            .contains("unknown notification kind"),
        "{entry}"
    );
}
