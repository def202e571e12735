//! The broker's audit log: an entry written inside the transaction of every broker action
//! (who, what, when, the object, its state before and after, the reason given), and the log as
//! brokers read it, filtered and paged.

use super::actor::Actor;
use super::error::{stored, AppResult};
use super::paging::{id_cursor, page_size, split, Page};
use super::Ctx;
use crate::db::audit::{self as q, AuditFilter, NewAuditRow};
use crate::db::Conn;
use crate::domain::audit::{AuditAction, AuditObject};
use crate::domain::validation::FieldErrors;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// One broker action, about to be written: the object's state before and after as JSON (the
/// view a broker reads of it through the API, or the part of it the action changed).
#[derive(Debug, Clone)]
pub struct Audit<'a> {
    action: AuditAction,
    object_id: Option<Uuid>,
    before: Option<serde_json::Value>,
    after: Option<serde_json::Value>,
    reason: Option<&'a str>,
}

impl<'a> Audit<'a> {
    pub fn new(action: AuditAction, object_id: Option<Uuid>) -> Audit<'a> {
        Audit {
            action,
            object_id,
            before: None,
            after: None,
            reason: None,
        }
    }

    pub fn before(mut self, state: &impl Serialize) -> Self {
        self.before = Some(json(state));
        self
    }

    pub fn after(mut self, state: &impl Serialize) -> Self {
        self.after = Some(json(state));
        self
    }

    pub fn reason(mut self, reason: Option<&'a str>) -> Self {
        self.reason = reason;
        self
    }

    /// Writes the entry in the caller's transaction, as done by `actor` at `at`: the action
    /// and its entry commit together or not at all.
    pub async fn record(
        self,
        conn: &mut Conn,
        actor: &Actor,
        at: DateTime<Utc>,
    ) -> Result<(), crate::db::Error> {
        q::insert(
            conn,
            &NewAuditRow {
                id: Uuid::now_v7(),
                at,
                broker_id: actor.user_id,
                action: self.action.as_str(),
                object_kind: self.action.object().as_str(),
                object_id: self.object_id,
                before: self.before.as_ref(),
                after: self.after.as_ref(),
                reason: self.reason,
            },
        )
        .await
    }
}

/// Our own views and plain maps always serialise.
fn json(state: &impl Serialize) -> serde_json::Value {
    serde_json::to_value(state).unwrap_or_default()
}

/// An entry of the audit log.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct AuditEntry {
    /// Newer entries have greater ids.
    pub id: Uuid,
    pub at: DateTime<Utc>,
    /// The broker's user id.
    pub broker_id: Uuid,
    /// The broker's display name, while the account exists.
    pub broker_name: Option<String>,
    pub action: AuditAction,
    pub object_kind: AuditObject,
    /// Absent for the districts and the currency, of which there is one set.
    pub object_id: Option<Uuid>,
    /// The object as it was (for the districts, the list of them); absent when the action
    /// made it.
    #[schema(value_type = Option<serde_json::Value>)]
    pub before: Option<serde_json::Value>,
    /// The object as the action left it (for the districts, the list of them); absent when
    /// the action deleted it.
    #[schema(value_type = Option<serde_json::Value>)]
    pub after: Option<serde_json::Value>,
    /// What the broker gave as the reason, when the action takes one.
    pub reason: Option<String>,
}

/// Which entries to read; the filters given must all hold.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    /// Only entries of this action.
    pub action: Option<AuditAction>,
    /// Only entries about this object (an organisation, listing, wish, category, transfer or
    /// notification); an organisation's id also finds its account's issuances and credit limits.
    pub object_id: Option<Uuid>,
    /// Only entries at or after this moment (RFC 3339).
    pub from: Option<DateTime<Utc>>,
    /// Only entries before this moment (RFC 3339).
    pub to: Option<DateTime<Utc>>,
}

/// The log, newest first, for brokers.
pub async fn list(
    ctx: &Ctx,
    actor: &Actor,
    query: &AuditQuery,
    cursor: Option<&str>,
    limit: u32,
) -> AppResult<Page<AuditEntry>> {
    actor.require_broker()?;
    if let (Some(from), Some(to)) = (query.from, query.to) {
        if to <= from {
            let mut errors = FieldErrors::new();
            errors.push("/to", "before_start", "must be after from");
            errors.finish()?;
        }
    }
    let before = id_cursor(cursor)?;
    let limit = page_size(limit);
    let filter = AuditFilter {
        action: query.action.map(AuditAction::as_str),
        object_id: query.object_id,
        from: query.from,
        to: query.to,
    };
    let mut conn = ctx.conn().await?;
    let rows = q::list(&mut conn, &filter, before, limit + 1).await?;
    let (rows, more) = split(rows, limit);
    let items = rows
        .into_iter()
        .map(|(row, broker_name)| {
            Ok(AuditEntry {
                id: row.id,
                at: row.at,
                broker_id: row.broker_id,
                broker_name,
                action: stored(&row.action)?,
                object_kind: stored(&row.object_kind)?,
                object_id: row.object_id,
                before: row.before,
                after: row.after,
                reason: row.reason,
            })
        })
        .collect::<AppResult<Vec<_>>>()?;
    Ok(Page::new(items, more, |entry| entry.id))
}
