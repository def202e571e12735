//! The outbox as the broker sees it: mail that could not be delivered, and retrying it.

use super::actor::Actor;
use super::audit::Audit;
use super::error::{stored, AppError, AppResult, Conflict};
use super::paging::{id_cursor, page_size, split, Page};
use super::Ctx;
use crate::db::outbox::{self as q, OutboxRow};
use crate::db::Atomic;
use crate::domain::audit::AuditAction;
use crate::domain::outbox::OutboxStatus;
use crate::domain::validation::Invalid;
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// An outbox row as a broker sees it.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct OutboxEntry {
    pub id: Uuid,
    pub event: String,
    pub recipient_user_id: Uuid,
    pub channel: String,
    pub status: OutboxStatus,
    pub attempts: i32,
    pub next_attempt_at: DateTime<Utc>,
    pub last_error: Option<String>,
    pub created_at: DateTime<Utc>,
    pub delivered_at: Option<DateTime<Utc>>,
}

impl OutboxEntry {
    fn from_row(row: OutboxRow) -> AppResult<OutboxEntry> {
        Ok(OutboxEntry {
            id: row.id,
            event: row.event,
            recipient_user_id: row.recipient_user_id,
            channel: row.channel,
            status: stored(&row.status)?,
            attempts: row.attempts,
            next_attempt_at: row.next_attempt_at,
            last_error: row.last_error,
            created_at: row.created_at,
            delivered_at: row.delivered_at,
        })
    }
}

/// Outbox rows of one status (failed mail unless asked otherwise), for the broker.
pub async fn outbox(
    ctx: &Ctx,
    actor: &Actor,
    status: Option<&str>,
    cursor: Option<&str>,
    limit: u32,
) -> AppResult<Page<OutboxEntry>> {
    actor.require_broker()?;
    let status = match status {
        None => OutboxStatus::Failed,
        Some(text) => text.parse().map_err(|invalid: Invalid| {
            AppError::BadRequest(format!("status {}", invalid.detail))
        })?,
    };
    let before = id_cursor(cursor)?;
    let limit = page_size(limit);
    let mut conn = ctx.conn().await?;
    let rows = q::with_status(&mut conn, status, before, limit + 1).await?;
    let (rows, more) = split(rows, limit);
    let items = rows
        .into_iter()
        .map(OutboxEntry::from_row)
        .collect::<AppResult<_>>()?;
    Ok(Page::new(items, more, |e: &OutboxEntry| e.id.to_string()))
}

/// A broker sends a failed mail again, with fresh attempts.
pub async fn retry(ctx: &Ctx, actor: &Actor, id: Uuid) -> AppResult<OutboxEntry> {
    actor.require_broker()?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let not_failed = || AppError::Conflict {
            kind: Conflict::NotFailed,
            detail: "only a failed notification can be retried".into(),
        };
        let before = q::lock(conn, id).await?.ok_or_else(not_failed)?;
        let after = q::retry_failed(conn, id, now)
            .await?
            .ok_or_else(not_failed)?;
        let (before, after) = (
            OutboxEntry::from_row(before)?,
            OutboxEntry::from_row(after)?,
        );
        Audit::new(AuditAction::RetryOutbox, Some(id))
            .before(&before)
            .after(&after)
            .record(conn, actor, now)
            .await?;
        Ok(after)
    })
    .await
}
