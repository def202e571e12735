//! Rows and queries for the broker's audit log (append-only: the table refuses updates and
//! deletes).

use super::schema::{audit_log, users};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(Debug, Insertable)]
#[diesel(table_name = audit_log)]
pub struct NewAuditRow<'a> {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub broker_id: Uuid,
    pub action: &'a str,
    pub object_kind: &'a str,
    pub object_id: Option<Uuid>,
    pub before: Option<&'a serde_json::Value>,
    pub after: Option<&'a serde_json::Value>,
    pub reason: Option<&'a str>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = audit_log, check_for_backend(diesel::pg::Pg))]
pub struct AuditRow {
    pub id: Uuid,
    pub at: DateTime<Utc>,
    pub broker_id: Uuid,
    pub action: String,
    pub object_kind: String,
    pub object_id: Option<Uuid>,
    pub before: Option<serde_json::Value>,
    pub after: Option<serde_json::Value>,
    pub reason: Option<String>,
}

pub async fn insert(conn: &mut AsyncPgConnection, row: &NewAuditRow<'_>) -> QueryResult<()> {
    diesel::insert_into(audit_log::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

/// Which entries to read: each filter that is given must hold.
#[derive(Debug, Clone, Default)]
pub struct AuditFilter<'a> {
    pub action: Option<&'a str>,
    pub object_id: Option<Uuid>,
    /// At or after.
    pub from: Option<DateTime<Utc>>,
    /// Before.
    pub to: Option<DateTime<Utc>>,
}

/// Entries newest first, before the entry `before`, each with its broker's display name (when
/// the account still exists).
pub async fn list(
    conn: &mut AsyncPgConnection,
    filter: &AuditFilter<'_>,
    before: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<(AuditRow, Option<String>)>> {
    let mut query = audit_log::table
        .left_join(users::table.on(users::id.eq(audit_log::broker_id)))
        .select((AuditRow::as_select(), users::display_name.nullable()))
        .order(audit_log::id.desc())
        .limit(limit)
        .into_boxed();
    if let Some(action) = filter.action {
        query = query.filter(audit_log::action.eq(action));
    }
    if let Some(object_id) = filter.object_id {
        query = query.filter(audit_log::object_id.eq(object_id));
    }
    if let Some(from) = filter.from {
        query = query.filter(audit_log::at.ge(from));
    }
    if let Some(to) = filter.to {
        query = query.filter(audit_log::at.lt(to));
    }
    if let Some(before) = before {
        query = query.filter(audit_log::id.lt(before));
    }
    query.load(conn).await
}
