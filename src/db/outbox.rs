//! The transactional outbox: notifications written in the same transaction as their cause.

use super::schema::outbox;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(Debug, Insertable)]
#[diesel(table_name = outbox)]
pub struct NewOutboxRow<'a> {
    pub id: Uuid,
    pub dedupe_key: &'a str,
    pub event: &'a str,
    pub recipient_user_id: Uuid,
    pub channel: &'a str,
    pub payload: &'a serde_json::Value,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
}

/// Inserts the row unless one with the same dedupe key exists; true when it was new.
pub async fn enqueue(conn: &mut AsyncPgConnection, row: &NewOutboxRow<'_>) -> QueryResult<bool> {
    let inserted = diesel::insert_into(outbox::table)
        .values(row)
        .on_conflict(outbox::dedupe_key)
        .do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}
