//! Personal data (AVG/GDPR): a person downloads what kringloop holds about them and deletes
//! their account; the ledger and the flows keep what they must, without the person.

use crate::support::*;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;

const PASSWORD: &str = "correct horse battery";

#[actix_web::test]
async fn a_person_downloads_everything_held_about_them_and_only_that() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let refused = app.get("/api/v1/me/export", None).await;
    assert_eq!(refused.status, 401);

    let export = app
        .get("/api/v1/me/export", Some(&market.donor.token))
        .await;
    assert_eq!(export.status, 200, "{}", export.body);
    assert_eq!(export.headers["cache-control"], "no-store");
    assert!(export.headers["content-disposition"]
        .to_str()
        .unwrap()
        .starts_with("attachment"));
    let data = &export.body;
    assert_eq!(data["format"], "kringloop-personal-data/1");
    assert_eq!(data["user"]["email"], market.donor.email.as_str());
    assert_eq!(data["organisation"]["id"], market.donor.org.as_str());
    assert!(!data["sessions"].as_array().unwrap().is_empty());
    assert!(data["notification_settings"]["digest"].is_string());
    // Being verified was told to the donor: it is among their notifications, with its content.
    assert!(
        data["notifications"]
            .as_array()
            .unwrap()
            .iter()
            .any(|n| n["kind"] == "organisation_verified"),
        "{data}"
    );
    // Nothing of anyone else.
    let text = data.to_string();
    assert!(!text.contains(&market.maker.email));
    assert!(!text.contains(&market.maker.org));
    assert!(!text.contains("password_hash") && !text.contains("argon2"));
}

#[actix_web::test]
async fn deleting_an_account_wipes_the_person_and_ends_every_token_at_once() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let maker = &market.maker;
    let login = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"email": maker.email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(login.status, 200, "{}", login.body);
    let refresh = login.body["refresh_token"].as_str().unwrap().to_owned();

    // The password is asked for, and a wrong one deletes nothing.
    let wrong = app
        .send(
            reqwest::Method::DELETE,
            "/api/v1/me",
            Some(&maker.token),
            Some(&json!({"password": "not my password"})),
            &[],
        )
        .await;
    assert_eq!(wrong.status, 422, "{}", wrong.body);
    assert_eq!(app.get("/api/v1/me", Some(&maker.token)).await.status, 200);

    let deleted = app
        .send(
            reqwest::Method::DELETE,
            "/api/v1/me",
            Some(&maker.token),
            Some(&json!({"password": PASSWORD})),
            &[],
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);

    // Every token stops working at once: the access token, the refresh token, the password.
    assert_eq!(app.get("/api/v1/me", Some(&maker.token)).await.status, 401);
    assert_eq!(
        app.get("/api/v1/me/export", Some(&maker.token))
            .await
            .status,
        401
    );
    let renewed = app
        .post(
            "/api/v1/auth/refresh",
            None,
            &json!({"refresh_token": refresh}),
        )
        .await;
    assert_eq!(renewed.status, 401, "{}", renewed.body);
    let again = app
        .post(
            "/api/v1/auth/token",
            None,
            &json!({"email": maker.email, "password": PASSWORD}),
        )
        .await;
    assert_eq!(again.status, 401);

    // Nothing names the person any more; the address may sign up again.
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let (email, name, erased): (String, String, bool) = diesel::sql_query(
        "SELECT email, display_name, erased_at IS NOT NULL AS erased FROM users
          WHERE organisation_id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(maker.org.parse::<uuid::Uuid>().unwrap())
    .get_result::<ErasedUser>(&mut conn)
    .await
    .map(|u| (u.email, u.display_name, u.erased))
    .unwrap();
    assert!(erased);
    assert!(
        !email.contains("makerspace") && email.ends_with("@erased.invalid"),
        "{email}"
    );
    assert_eq!(name, "Verwijderde gebruiker");
    let mail_left = diesel::sql_query(
        "SELECT count(*) AS n FROM outbox o JOIN users u ON u.id = o.recipient_user_id
          WHERE u.organisation_id = $1",
    )
    .bind::<diesel::sql_types::Uuid, _>(maker.org.parse::<uuid::Uuid>().unwrap())
    .get_result::<Count>(&mut conn)
    .await
    .unwrap()
    .n;
    assert_eq!(mail_left, 0);
    app.register(&maker.email, "makerspace").await;
}

#[actix_web::test]
async fn the_last_one_out_closes_the_organisation_and_its_lots_leave_the_market() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let passport = PassportBuilder::doors().create(&app, &market.donor).await;
    let listing = ListingBuilder::of(&passport)
        .quantity(4)
        .create(&app, &market.donor)
        .await;
    let held = reserve(&app, &market.maker, &listing, 1).await;
    assert_eq!(held.status, 201, "{}", held.body);
    let balance_before = app
        .get("/api/v1/accounts/me", Some(&market.donor.token))
        .await
        .body["balance"]
        .clone();

    let deleted = app
        .send(
            reqwest::Method::DELETE,
            "/api/v1/me",
            Some(&market.donor.token),
            Some(&json!({"password": PASSWORD})),
            &[],
        )
        .await;
    assert_eq!(deleted.status, 204, "{}", deleted.body);

    // The organisation no longer names anyone and is off the market.
    let profile = app
        .get(
            &format!("/api/v1/organisations/{}", market.donor.org),
            Some(&market.broker),
        )
        .await;
    assert_eq!(profile.status, 200, "{}", profile.body);
    let organisation = &profile.body;
    assert!(organisation["members"].as_array().unwrap().is_empty());
    assert!(
        organisation["name"]
            .as_str()
            .unwrap()
            .starts_with("Verwijderde organisatie"),
        "{}",
        profile.body
    );
    assert_eq!(organisation["status"], "suspended");
    assert!(organisation["address"].is_null() && organisation["location"].is_null());
    let search = app.get("/api/v1/listings", None).await;
    assert!(
        !search
            .body
            .to_string()
            .contains(listing["id"].as_str().unwrap()),
        "{}",
        search.body
    );
    // The maker, waiting on a reservation, is told.
    let feed = app
        .get("/api/v1/notifications", Some(&market.maker.token))
        .await;
    assert!(
        feed.body
            .to_string()
            .contains("reservation_party_suspended"),
        "{}",
        feed.body
    );
    // The ledger keeps its money: the organisation's account is still there, unchanged.
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let balance =
        diesel::sql_query("SELECT balance AS n FROM ledger_accounts WHERE organisation_id = $1")
            .bind::<diesel::sql_types::Uuid, _>(market.donor.org.parse::<uuid::Uuid>().unwrap())
            .get_result::<Count>(&mut conn)
            .await
            .unwrap()
            .n;
    assert_eq!(Some(balance), balance_before.as_i64());
}

#[actix_web::test]
async fn the_citys_last_broker_cannot_leave() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let refused = app
        .send(
            reqwest::Method::DELETE,
            "/api/v1/me",
            Some(&market.broker),
            Some(&json!({"password": PASSWORD})),
            &[],
        )
        .await;
    assert_eq!(refused.status, 409, "{}", refused.body);
    assert_eq!(refused.body["type"], "urn:kringloop:problem:last-broker");
    assert_eq!(
        app.get("/api/v1/me", Some(&market.broker)).await.status,
        200
    );
}

#[actix_web::test]
async fn the_account_page_downloads_the_data_and_deletes_the_account() {
    let app = TestApp::spawn().await;
    let market = Market::open(&app).await;
    let mut maker = PageClient::new(&app.base);
    maker.sign_in(&market.maker.email, PASSWORD).await;
    let page = maker.get("/workspace/account").await;
    assert!(page.body.contains("id=\"delete-account-form\""));
    let (status, content_type, bytes) = maker.get_bytes("/workspace/account/export").await;
    assert_eq!((status, content_type.as_str()), (200, "application/json"));
    let data: serde_json::Value = serde_json::from_slice(&bytes).unwrap();
    assert_eq!(data["user"]["email"], market.maker.email.as_str());

    let wrong = maker
        .post("/workspace/account/delete", &[("password", "nope")])
        .await;
    assert_eq!(wrong.status, 303);
    assert!(wrong.location().contains("notice=wrong_password"));
    maker.get("/workspace/account").await;
    let gone = maker
        .post("/workspace/account/delete", &[("password", PASSWORD)])
        .await;
    assert_eq!(gone.status, 303, "{}", gone.body);
    assert_eq!(gone.location(), "/");
    assert!(!maker.cookies.contains_key("kringloop_session"));
    assert_eq!(
        app.get("/api/v1/me", Some(&market.maker.token))
            .await
            .status,
        401
    );
}

#[derive(diesel::QueryableByName)]
struct ErasedUser {
    #[diesel(sql_type = diesel::sql_types::Text)]
    email: String,
    #[diesel(sql_type = diesel::sql_types::Text)]
    display_name: String,
    #[diesel(sql_type = diesel::sql_types::Bool)]
    erased: bool,
}

#[derive(diesel::QueryableByName)]
struct Count {
    #[diesel(sql_type = diesel::sql_types::BigInt)]
    n: i64,
}
