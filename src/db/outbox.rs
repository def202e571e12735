//! The transactional outbox: notifications written in the same transaction as their cause.

use super::prepared::{Bind, Prepared};
use super::schema::{outbox, users};
use crate::domain::outbox::OutboxStatus;
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
    pub status: &'a str,
    pub next_attempt_at: DateTime<Utc>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
    /// What it is about for its recipient, when instant mail about it is capped.
    pub thread: Option<&'a str>,
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

/// As [`enqueue`], for mail sent to `address` instead of the recipient user's own address (an
/// invitation to someone without an account; the recipient user is who caused it).
pub async fn enqueue_to_address(
    conn: &mut AsyncPgConnection,
    row: &NewOutboxRow<'_>,
    address: &str,
) -> QueryResult<bool> {
    let inserted = diesel::insert_into(outbox::table)
        .values((row, outbox::recipient_email.eq(address)))
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

/// A mail due for delivery, with what its recipient wants.
#[derive(Debug, Clone, Queryable)]
pub struct MailRow {
    pub id: Uuid,
    pub event: String,
    pub payload: serde_json::Value,
    pub attempts: i32,
    pub created_at: DateTime<Utc>,
    pub user_id: Uuid,
    pub email: String,
    pub display_name: String,
    pub locale: String,
    pub email_notifications: bool,
    pub digest: String,
    pub quiet_start_hour: Option<i16>,
    pub quiet_end_hour: Option<i16>,
    pub thread: Option<String>,
}

/// Claims mail that is due, oldest first, skipping rows another worker holds; the rows stay
/// locked until the caller's transaction ends.
pub async fn claim_due_mail(
    conn: &mut AsyncPgConnection,
    now: DateTime<Utc>,
    limit: i64,
) -> QueryResult<Vec<MailRow>> {
    let ids: Vec<Uuid> = outbox::table
        .filter(outbox::channel.eq("email"))
        .filter(outbox::status.eq(OutboxStatus::Pending.as_str()))
        .filter(outbox::next_attempt_at.le(now))
        .select(outbox::id)
        .order((outbox::next_attempt_at, outbox::id))
        .limit(limit)
        .for_update()
        .skip_locked()
        .load(conn)
        .await?;
    if ids.is_empty() {
        return Ok(Vec::new());
    }
    outbox::table
        .inner_join(users::table)
        .filter(outbox::id.eq_any(&ids))
        .select((
            outbox::id,
            outbox::event,
            outbox::payload,
            outbox::attempts,
            outbox::created_at,
            users::id,
            diesel::dsl::sql::<diesel::sql_types::Text>(
                "coalesce(outbox.recipient_email, users.email)",
            ),
            users::display_name,
            users::locale,
            users::email_notifications,
            users::digest,
            users::quiet_start_hour,
            users::quiet_end_hour,
            outbox::thread,
        ))
        .order((outbox::next_attempt_at, outbox::id))
        .load(conn)
        .await
}

pub async fn set_delivered(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq(OutboxStatus::Delivered.as_str()),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::delivered_at.eq(now),
            outbox::last_error.eq(None::<String>),
        ))
        .execute(conn)
        .await
}

/// How many mails of `thread` went to the user one by one since `since`.
pub async fn instant_mails_since(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    thread: &str,
    since: DateTime<Utc>,
) -> QueryResult<i64> {
    outbox::table
        .filter(outbox::recipient_user_id.eq(user_id))
        .filter(outbox::thread.eq(thread))
        .filter(outbox::channel.eq("email"))
        .filter(outbox::status.eq(OutboxStatus::Delivered.as_str()))
        .filter(outbox::delivered_at.gt(since))
        .count()
        .get_result(conn)
        .await
}

/// Takes a lock until the transaction ends, for counting and sending a recipient's mail of
/// one thread; `key` stands for the pair.
pub async fn lock_thread(conn: &mut AsyncPgConnection, key: i64) -> QueryResult<()> {
    diesel::sql_query("SELECT pg_advisory_xact_lock($1)")
        .bind::<diesel::sql_types::BigInt, _>(key)
        .execute(conn)
        .await
        .map(drop)
}

/// Sets a row's state without an attempt: skipped, held for a digest, or put off.
pub async fn set_state(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: OutboxStatus,
    next_attempt_at: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq(status.as_str()),
            outbox::next_attempt_at.eq(next_attempt_at),
        ))
        .execute(conn)
        .await
}

/// Records a failed attempt: `status` is `pending` with the next try's time, or `failed`.
pub async fn set_attempt_failed(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    status: OutboxStatus,
    next_attempt_at: DateTime<Utc>,
    error: &str,
) -> QueryResult<usize> {
    diesel::update(outbox::table.find(id))
        .set((
            outbox::status.eq(status.as_str()),
            outbox::attempts.eq(outbox::attempts + 1),
            outbox::next_attempt_at.eq(next_attempt_at),
            outbox::last_error.eq(error),
        ))
        .execute(conn)
        .await
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = outbox, check_for_backend(diesel::pg::Pg))]
pub struct OutboxRow {
    pub id: Uuid,
    pub event: String,
    pub recipient_user_id: Uuid,
    pub channel: String,
    pub status: String,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

/// One outbox row, locked until the transaction ends.
pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<OutboxRow>> {
    outbox::table
        .find(id)
        .select(OutboxRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// Outbox rows of a status, newest first, before `before`.
pub async fn with_status(
    conn: &mut AsyncPgConnection,
    status: OutboxStatus,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<OutboxRow>> {
    let mut query = outbox::table
        .filter(outbox::status.eq(status.as_str()))
        .select(OutboxRow::as_select())
        .order(outbox::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(before) = before {
        query = query.filter(outbox::id.lt(before));
    }
    query.load(conn).await
}

/// Puts a failed row back in the queue with fresh attempts; `None` unless it had failed.
pub async fn retry_failed(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<Option<OutboxRow>> {
    diesel::update(
        outbox::table
            .find(id)
            .filter(outbox::status.eq(OutboxStatus::Failed.as_str())),
    )
    .set((
        outbox::status.eq(OutboxStatus::Pending.as_str()),
        outbox::attempts.eq(0),
        outbox::next_attempt_at.eq(now),
    ))
    .returning(OutboxRow::as_returning())
    .get_result(conn)
    .await
    .optional()
}

/// Users with mail held for a digest who have not had one on `today`.
pub async fn digest_recipients(
    conn: &mut AsyncPgConnection,
    today: chrono::NaiveDate,
) -> QueryResult<Vec<Uuid>> {
    users::table
        .filter(
            users::last_digest_on
                .is_null()
                .or(users::last_digest_on.lt(today)),
        )
        .filter(diesel::dsl::exists(
            outbox::table
                .filter(outbox::recipient_user_id.eq(users::id))
                .filter(outbox::status.eq(OutboxStatus::Digest.as_str())),
        ))
        .select(users::id)
        .load(conn)
        .await
}

/// Locks the user for composing their digest, unless another worker does it or it was
/// composed on `today` already.
pub async fn lock_for_digest(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    today: chrono::NaiveDate,
) -> QueryResult<bool> {
    let found: Option<Uuid> = users::table
        .find(user_id)
        .filter(
            users::last_digest_on
                .is_null()
                .or(users::last_digest_on.lt(today)),
        )
        .select(users::id)
        .for_update()
        .skip_locked()
        .first(conn)
        .await
        .optional()?;
    Ok(found.is_some())
}

/// The user's held mail, oldest first, to go into one digest.
pub async fn held_for_digest(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
) -> QueryResult<Vec<FeedRow>> {
    outbox::table
        .filter(outbox::recipient_user_id.eq(user_id))
        .filter(outbox::status.eq(OutboxStatus::Digest.as_str()))
        .select(FeedRow::as_select())
        .order(outbox::id)
        .load(conn)
        .await
}

pub async fn mark_digested(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(outbox::table.filter(outbox::id.eq_any(ids)))
        .set((
            outbox::status.eq(OutboxStatus::Digested.as_str()),
            outbox::delivered_at.eq(now),
        ))
        .execute(conn)
        .await
}

pub async fn set_last_digest(
    conn: &mut AsyncPgConnection,
    user_id: Uuid,
    today: chrono::NaiveDate,
) -> QueryResult<usize> {
    diesel::update(users::table.find(user_id))
        .set(users::last_digest_on.eq(today))
        .execute(conn)
        .await
}

/// A notification for every member of some organisations, on every channel, written by one
/// statement (alone, or as part of a larger one) instead of a look-up and a row at a time.
#[derive(Debug, Clone)]
pub struct MembersNotice<'a> {
    pub event: &'a str,
    /// Tells one happening of the event from another, as in the dedupe key.
    pub occurrence: String,
    pub organisations: Vec<Uuid>,
    pub payload: serde_json::Value,
}

/// Writes the INSERT of `notice` into `s`, at `now` (its own binds, so that it can stand alone
/// or inside a larger statement). The rows are those `app::notifications::notify` writes:
/// in-app delivered at once, e-mail pending, one per (event, occurrence, recipient, channel),
/// with UUID v7 ids.
pub fn members_insert(s: &mut Prepared, notice: &MembersNotice<'_>, now: DateTime<Utc>) {
    s.template(
        "INSERT INTO outbox (id, dedupe_key, event, recipient_user_id, channel, payload, status, \
                             next_attempt_at, created_at, delivered_at) \
         SELECT uuid_v7(), :event || ':' || :occurrence || ':' || u.id || ':' || ch.channel, \
                :event, u.id, ch.channel, :payload, \
                CASE WHEN ch.channel = 'in_app' THEN 'delivered' ELSE 'pending' END, :now, :now, \
                CASE WHEN ch.channel = 'in_app' THEN :now END \
         FROM users u CROSS JOIN (VALUES ('email'), ('in_app')) AS ch(channel) \
         WHERE u.erased_at IS NULL AND u.removed_at IS NULL AND u.organisation_id IN (",
        &[
            ("event", Bind::Text(notice.event.to_owned())),
            ("occurrence", Bind::Text(notice.occurrence.clone())),
            ("payload", Bind::Json(notice.payload.clone())),
            ("now", Bind::Timestamptz(now)),
        ],
    );
    // One placeholder per organisation (there are one or two): with `= ANY($n)` a generic
    // plan cannot tell how many there are and reads the whole users table.
    for (n, organisation) in notice.organisations.iter().enumerate() {
        if n > 0 {
            s.sql(", ");
        }
        s.bind(Bind::Uuid(*organisation));
    }
    if notice.organisations.is_empty() {
        s.sql("NULL");
    }
    s.sql(") ON CONFLICT (dedupe_key) DO NOTHING");
}

/// Queues `notice` for the members of its organisations, at `now`.
pub async fn notify_members(
    conn: &mut AsyncPgConnection,
    notice: &MembersNotice<'_>,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    if notice.organisations.is_empty() {
        return Ok(());
    }
    let mut s = Prepared::default();
    members_insert(&mut s, notice, now);
    s.execute(conn).await.map(drop)
}
