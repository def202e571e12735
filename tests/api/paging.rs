//! Every list pages the same way: `cursor` and `limit` (1 to 100), a limit outside the bounds
//! refused with a 422 rather than cut down, and cursors that only the list itself made.

use crate::support::*;

/// Every keyset-paginated list, as the broker (who may read them all) asks for it, with a
/// filter of its own where it has one.
const LISTS: [&str; 9] = [
    "/api/v1/reservations?",
    "/api/v1/wishes?",
    "/api/v1/matches?",
    "/api/v1/passports?",
    "/api/v1/accounts/me/entries?",
    "/api/v1/notifications?unread=true&",
    "/api/v1/admin/organisations?status=verified&",
    "/api/v1/admin/outbox?status=failed&",
    "/api/v1/listings?sort=date&",
];

#[actix_web::test]
async fn every_list_answers_up_to_100_and_refuses_more_with_a_422() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    for list in LISTS {
        let most = app
            .get(&format!("{list}limit=100"), Some(&market.broker))
            .await;
        assert_eq!(most.status, 200, "{list}: {}", most.body);
        for limit in [101, 0] {
            let refused = app
                .get(&format!("{list}limit={limit}"), Some(&market.broker))
                .await;
            refused.assert_problem(422, "validation");
            assert_eq!(
                refused.body["errors"][0]["pointer"], "/limit",
                "{list}limit={limit}: {}",
                refused.body
            );
        }
    }
}

#[actix_web::test]
async fn a_list_with_filters_still_refuses_a_parameter_it_does_not_know() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    for query in [
        "unread=true&limit=5&surprise=1",
        "limit=5&cursors=x",
        "unread=maybe&limit=5",
    ] {
        app.get(
            &format!("/api/v1/notifications?{query}"),
            Some(&market.maker.token),
        )
        .await
        .assert_problem(400, "invalid-query");
    }
}

#[actix_web::test]
async fn an_id_list_pages_with_the_cursor_it_gave_and_not_with_a_bare_id() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    for _ in 0..3 {
        PassportBuilder::doors().create(&app, &market.donor).await;
    }
    let mut seen = Vec::new();
    let mut cursor: Option<String> = None;
    loop {
        let path = match &cursor {
            Some(cursor) => format!("/api/v1/passports?limit=2&cursor={cursor}"),
            None => "/api/v1/passports?limit=2".to_owned(),
        };
        let page = app.get(&path, Some(&market.donor.token)).await;
        assert_eq!(page.status, 200, "{}", page.body);
        seen.extend(page.items().iter().map(|p| p["id"].clone()));
        match page.body["next_cursor"].as_str() {
            Some(next) => cursor = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(seen.len(), 3);
    let bare = seen[0].as_str().unwrap();
    app.get(
        &format!("/api/v1/passports?cursor={bare}"),
        Some(&market.donor.token),
    )
    .await
    .assert_problem(400, "bad-request");
}
