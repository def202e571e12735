//! The links mailed to an address, read from the outbox where the mail waits to be sent, and
//! the step every new owner takes before a broker can verify their organisation: following the
//! verification link.

use super::harness::TestApp;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use serde_json::json;

#[derive(diesel::QueryableByName)]
struct Text {
    #[diesel(sql_type = diesel::sql_types::Text)]
    text: String,
}

async fn texts(app: &TestApp, query: &str) -> Vec<String> {
    let mut conn = AsyncPgConnection::establish(&app.db_url).await.unwrap();
    let rows: Vec<Text> = diesel::sql_query(query).load(&mut conn).await.unwrap();
    rows.into_iter().map(|row| row.text).collect()
}

/// The tokens of the `event` links (`email_verification`, `invitation`, `password_reset`)
/// mailed to `email`, oldest first.
pub async fn mailed_tokens(app: &TestApp, event: &str, email: &str) -> Vec<String> {
    texts(
        app,
        &format!(
            "SELECT o.payload->>'token' AS text FROM outbox o JOIN users u \
             ON u.id = o.recipient_user_id WHERE o.event = '{event}' AND o.channel = 'email' \
             AND lower(coalesce(o.recipient_email, u.email)) = lower('{email}') \
             ORDER BY o.created_at, o.id"
        ),
    )
    .await
}

/// The newest `event` link's token mailed to `email`.
pub async fn last_token(app: &TestApp, event: &str, email: &str) -> String {
    mailed_tokens(app, event, email)
        .await
        .pop()
        .unwrap_or_else(|| panic!("no {event} mail to {email}"))
}

/// Confirms `email` by the newest verification link mailed to it.
pub async fn confirm_email(app: &TestApp, email: &str) {
    let token = last_token(app, "email_verification", email).await;
    let confirmed = app
        .post(
            "/api/v1/auth/email/verify",
            None,
            &json!({ "token": token }),
        )
        .await;
    assert_eq!(confirmed.status, 204, "{}", confirmed.body);
}

/// Confirms the address of every owner of `org` who has not yet.
pub async fn confirm_owners(app: &TestApp, org: &str) {
    let owners = texts(
        app,
        &format!(
            "SELECT email AS text FROM users WHERE organisation_id = '{org}' \
             AND org_role = 'owner' AND email_verified_at IS NULL AND removed_at IS NULL"
        ),
    )
    .await;
    for owner in owners {
        confirm_email(app, &owner).await;
    }
}

/// Drops the address-confirmation mails still waiting to be sent, for a test that counts
/// other mail.
pub async fn drop_confirmation_mail(app: &TestApp) {
    app.sql("DELETE FROM outbox WHERE event = 'email_verification'")
        .await
        .unwrap();
}
