//! Moderation: the broker hides a listing or a wish, with a reason, and restores it. Hiding
//! takes it off the market: out of search, matching (its matches are retracted, cause
//! `hidden`) and open data; its owner is told, still reads it and cannot change it. Restoring
//! brings it back (its matches are found again). Each is one transaction with its audit entry
//! and its notice; a listing's suspension and its hiding are separate flags, so lifting one
//! leaves the other standing.

use super::actor::Actor;
use super::audit::Audit;
use super::engine::matcher::{self, Subject};
use super::error::{AppError, AppResult, Conflict};
use super::listings::{Listing, PickupView};
use super::notices::{ListingModeration, Notice, WishModeration};
use super::notifications::{members, notify};
use super::wishes::{self, Wish};
use super::Ctx;
use crate::db::categories as categories_q;
use crate::db::listings as listings_q;
use crate::db::wishes::{self as wishes_q, WishRow};
use crate::db::{Atomic, Conn};
use crate::domain::audit::{AuditAction, Reason};
use crate::domain::moderation::Hidden;
use chrono::{DateTime, Utc};
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

/// The broker hides a listing, whatever its status; its owner is told why.
pub async fn hide_listing(
    ctx: &Ctx,
    actor: &Actor,
    id: Uuid,
    reason: Reason,
) -> AppResult<Listing> {
    set_listing(ctx, actor, id, Some(reason), true).await
}

/// The broker puts a hidden listing back; its owner is told (with the broker's note, if any).
pub async fn restore_listing(
    ctx: &Ctx,
    actor: &Actor,
    id: Uuid,
    note: Option<Reason>,
) -> AppResult<Listing> {
    set_listing(ctx, actor, id, note, false).await
}

async fn set_listing(
    ctx: &Ctx,
    actor: &Actor,
    id: Uuid,
    reason: Option<Reason>,
    hide: bool,
) -> AppResult<Listing> {
    actor.require_broker()?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let (row, job) = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let current = listings_q::lock(conn, id)
                .await?
                .ok_or(AppError::NotFound("listing"))?;
            check_move(current.hidden_at, hide, "listing")?;
            let reason = reason.as_ref().map(Reason::as_str);
            let hidden = if hide {
                Some((now, reason.unwrap_or_default()))
            } else {
                None
            };
            let row = listings_q::set_hidden(conn, id, hidden, now).await?;
            let action = if hide {
                AuditAction::HideListing
            } else {
                AuditAction::RestoreListing
            };
            Audit::new(action, Some(id))
                .before(&Listing::from_row(current, None, PickupView::Exact)?)
                .after(&Listing::from_row(row.clone(), None, PickupView::Exact)?)
                .reason(reason)
                .record(conn, actor, now)
                .await?;
            let news = ListingModeration {
                listing_id: id,
                title: row.title.clone(),
                reason: reason.map(str::to_owned),
            };
            let notice = if hide {
                Notice::ListingHidden(news)
            } else {
                Notice::ListingRestored(news)
            };
            tell(conn, &notice, id, row.organisation_id, now).await?;
            let job = matcher::enqueue(conn, Subject::Listing(id), now).await?;
            Ok((row, job))
        })
        .await?;
    drop(conn);
    matcher::work_now(ctx, &[job]).await;
    Listing::from_row(row, None, PickupView::Exact)
}

/// The broker hides an active wish; its owner is told why.
pub async fn hide_wish(ctx: &Ctx, actor: &Actor, id: Uuid, reason: Reason) -> AppResult<Wish> {
    set_wish(ctx, actor, id, Some(reason), true).await
}

/// The broker puts a hidden wish back; its owner is told (with the broker's note, if any).
pub async fn restore_wish(
    ctx: &Ctx,
    actor: &Actor,
    id: Uuid,
    note: Option<Reason>,
) -> AppResult<Wish> {
    set_wish(ctx, actor, id, note, false).await
}

async fn set_wish(
    ctx: &Ctx,
    actor: &Actor,
    id: Uuid,
    reason: Option<Reason>,
    hide: bool,
) -> AppResult<Wish> {
    actor.require_broker()?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let (row, job) = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let current = wishes_q::lock(conn, id)
                .await?
                .ok_or(AppError::NotFound("wish"))?;
            check_move(current.hidden_at, hide, "wish")?;
            let reason = reason.as_ref().map(Reason::as_str);
            let hidden = if hide {
                Some((now, reason.unwrap_or_default()))
            } else {
                None
            };
            let row = wishes_q::set_hidden(conn, id, hidden, now).await?;
            let action = if hide {
                AuditAction::HideWish
            } else {
                AuditAction::RestoreWish
            };
            Audit::new(action, Some(id))
                .before(&wishes::view(conn, &current).await?)
                .after(&wishes::view(conn, &row).await?)
                .reason(reason)
                .record(conn, actor, now)
                .await?;
            let category = categories_q::find(conn, row.category_id).await?;
            let news = WishModeration {
                wish_id: id,
                category_nl: category
                    .as_ref()
                    .map(|c| c.name_nl.clone())
                    .unwrap_or_default(),
                category_en: category.map(|c| c.name_en).unwrap_or_default(),
                quantity: row.quantity,
                unit: row.unit.clone(),
                reason: reason.map(str::to_owned),
            };
            let notice = if hide {
                Notice::WishHidden(news)
            } else {
                Notice::WishRestored(news)
            };
            tell(conn, &notice, id, row.organisation_id, now).await?;
            let job = matcher::enqueue(conn, Subject::Wish(id), now).await?;
            Ok((row, job))
        })
        .await?;
    drop(conn);
    matcher::work_now(ctx, &[job]).await;
    wishes::view(&mut *ctx.conn().await?, &row).await
}

/// Hiding needs a visible object, restoring a hidden one.
fn check_move(hidden_at: Option<DateTime<Utc>>, hide: bool, what: &str) -> AppResult<()> {
    match (hidden_at.is_some(), hide) {
        (true, true) => Err(AppError::conflict(
            Conflict::Hidden,
            format!("the {what} is already hidden"),
        )),
        (false, false) => Err(AppError::conflict(
            Conflict::NotHidden,
            format!("the {what} is not hidden"),
        )),
        _ => Ok(()),
    }
}

/// Tells the members of the owning organisation.
async fn tell(
    conn: &mut Conn,
    notice: &Notice,
    id: Uuid,
    organisation_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<()> {
    let recipients = members(conn, organisation_id).await?;
    let occurrence = format!("{id}:{}", now.timestamp_micros());
    notify(conn, notice, &occurrence, &recipients, now).await?;
    Ok(())
}

/// A hidden listing or wish, as the broker's console lists it.
#[derive(Debug, Clone, Serialize)]
pub struct HiddenItem {
    /// `listing` or `wish`.
    pub kind: &'static str,
    pub id: Uuid,
    pub organisation_id: Uuid,
    /// The listing's title, or what the wish asks for.
    pub title: String,
    pub hidden: Hidden,
}

/// What is hidden now, most recently hidden first (at most `limit` listings and `limit`
/// wishes).
pub async fn hidden(ctx: &Ctx, actor: &Actor, limit: u32) -> AppResult<Vec<HiddenItem>> {
    actor.require_broker()?;
    let limit = i64::from(limit.clamp(1, 500));
    let mut conn = ctx.conn().await?;
    let mut items: Vec<HiddenItem> = listings_q::hidden(&mut conn, limit)
        .await?
        .into_iter()
        .filter_map(|row| {
            Some(HiddenItem {
                kind: "listing",
                id: row.id,
                organisation_id: row.organisation_id,
                hidden: Hidden::of(row.hidden_at, row.hidden_reason)?,
                title: row.title,
            })
        })
        .collect();
    let wishes = wishes_q::hidden(&mut conn, limit).await?;
    if !wishes.is_empty() {
        let names: HashMap<Uuid, String> = categories_q::all(&mut conn)
            .await?
            .into_iter()
            .map(|c| (c.id, c.code))
            .collect();
        items.extend(wishes.into_iter().filter_map(|row: WishRow| {
            let what = names.get(&row.category_id).cloned().unwrap_or_default();
            Some(HiddenItem {
                kind: "wish",
                id: row.id,
                organisation_id: row.organisation_id,
                title: format!("{} {} {what}", row.quantity, row.unit),
                hidden: Hidden::of(row.hidden_at, row.hidden_reason)?,
            })
        }));
    }
    items.sort_by_key(|item| std::cmp::Reverse(item.hidden.at));
    Ok(items)
}
