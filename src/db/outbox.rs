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

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct FeedRow {
    pub id: Uuid,
    pub event: String,
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

/// A user's in-app notifications, newest first, before `before`.
pub async fn feed(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    unread_only: bool,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<FeedRow>> {
    let mut query = outbox::table
        .filter(outbox::recipient_user_id.eq(user_id))
        .filter(outbox::channel.eq("in_app"))
        .select(FeedRow::as_select())
        .order(outbox::id.desc())
        .limit(limit)
        .into_boxed();
    if unread_only {
        query = query.filter(outbox::read_at.is_null());
    }
    if let Some(before) = before {
        query = query.filter(outbox::id.lt(before));
    }
    query.load(conn).await
}

/// Marks one of the user's in-app notifications read (the first reading counts); `None` when
/// it is not theirs.
pub async fn mark_read(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Option<FeedRow>> {
    let theirs = outbox::table
        .filter(outbox::id.eq(id))
        .filter(outbox::recipient_user_id.eq(user_id))
        .filter(outbox::channel.eq("in_app"));
    diesel::update(theirs.filter(outbox::read_at.is_null()))
        .set(outbox::read_at.eq(now))
        .execute(conn)
        .await?;
    theirs
        .select(FeedRow::as_select())
        .first(conn)
        .await
        .optional()
}
