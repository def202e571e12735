//! What a user is told in the app, and how they want to be told.

use super::actor::Actor;
use super::engine::mail::InstantCap;
use super::error::{AppError, AppResult};
use super::paging::{id_cursor, page_size, split, Page};
use super::Ctx;
use crate::db::accounts::{self as accounts_q, NotificationSettingsRow};
use crate::db::outbox::{self as q, FeedRow};
use crate::domain::validation::{FieldErrors, Invalid};
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Notification {
    pub id: Uuid,
    /// What happened, e.g. `organisation_verified`, `listing_expired`.
    pub event: String,
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub read_at: Option<DateTime<Utc>>,
}

impl From<FeedRow> for Notification {
    fn from(row: FeedRow) -> Self {
        Notification {
            id: row.id,
            event: row.event,
            payload: row.payload,
            created_at: row.created_at,
            read_at: row.read_at,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Digest {
    /// A mail for each notification.
    Instant,
    /// One mail a day with the day's notifications.
    Daily,
}

/// Hours (UTC, 0–23) in which no mail is sent; the window may run past midnight.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct QuietHours {
    pub start_hour: i16,
    pub end_hour: i16,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NotificationSettings {
    /// Send mail at all (the in-app feed always fills).
    pub email: bool,
    pub digest: Digest,
    pub quiet_hours: Option<QuietHours>,
    /// Set by the service, the same for everyone; ignored when sent.
    #[serde(default)]
    #[schema(read_only)]
    pub instant_mail_cap: InstantMailCap,
}

/// The most instant mails a person gets about one wish (as its demander) or one lot (as its
/// donor) within `hours`: what happens to it after that comes in the next daily digest, and
/// the last instant mail says so. The in-app feed has everything at once.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct InstantMailCap {
    #[schema(example = 5)]
    pub mails: i64,
    #[schema(example = 24)]
    pub hours: i64,
}

impl From<InstantCap> for InstantMailCap {
    fn from(cap: InstantCap) -> Self {
        InstantMailCap {
            mails: cap.mails,
            hours: cap.window.num_hours(),
        }
    }
}

impl NotificationSettings {
    fn of(row: NotificationSettingsRow, cap: InstantCap) -> AppResult<Self> {
        let digest = match row.digest.as_str() {
            "instant" => Digest::Instant,
            "daily" => Digest::Daily,
            other => {
                return Err(AppError::Internal(anyhow::anyhow!(
                    "unexpected digest {other:?}"
                )))
            }
        };
        Ok(NotificationSettings {
            email: row.email_notifications,
            digest,
            quiet_hours: row.quiet_start_hour.zip(row.quiet_end_hour).map(
                |(start_hour, end_hour)| QuietHours {
                    start_hour,
                    end_hour,
                },
            ),
            instant_mail_cap: cap.into(),
        })
    }
}

pub async fn feed(
    ctx: &Ctx,
    actor: &Actor,
    unread_only: bool,
    cursor: Option<&str>,
    limit: u32,
) -> AppResult<Page<Notification>> {
    let before = id_cursor(cursor)?;
    let limit = page_size(limit);
    let mut conn = ctx.conn().await?;
    let rows = q::feed(&mut conn, actor.user_id, unread_only, before, limit + 1).await?;
    let (rows, more) = split(rows, limit);
    let items = rows.into_iter().map(Notification::from).collect();
    Ok(Page::new(items, more, |n: &Notification| n.id.to_string()))
}

pub async fn mark_read(ctx: &Ctx, actor: &Actor, id: Uuid) -> AppResult<Notification> {
    let mut conn = ctx.conn().await?;
    let row = q::mark_read(&mut conn, actor.user_id, id, ctx.now())
        .await?
        .ok_or(AppError::NotFound("notification"))?;
    Ok(row.into())
}

pub async fn settings(ctx: &Ctx, actor: &Actor) -> AppResult<NotificationSettings> {
    let mut conn = ctx.conn().await?;
    let row = accounts_q::notification_settings(&mut conn, actor.user_id).await?;
    NotificationSettings::of(row, ctx.delivery.instant_cap)
}

pub async fn set_settings(
    ctx: &Ctx,
    actor: &Actor,
    settings: NotificationSettings,
) -> AppResult<NotificationSettings> {
    let mut errors = FieldErrors::new();
    if let Some(quiet) = settings.quiet_hours {
        for (pointer, hour) in [
            ("/quiet_hours/start_hour", quiet.start_hour),
            ("/quiet_hours/end_hour", quiet.end_hour),
        ] {
            if !(0..=23).contains(&hour) {
                errors.take::<()>(
                    pointer,
                    Err(Invalid::new("out_of_range", "must lie between 0 and 23")),
                );
            }
        }
        if quiet.start_hour == quiet.end_hour {
            errors.push("/quiet_hours", "empty_window", "start and end must differ");
        }
    }
    errors.finish()?;
    let row = NotificationSettingsRow {
        email_notifications: settings.email,
        digest: match settings.digest {
            Digest::Instant => "instant".into(),
            Digest::Daily => "daily".into(),
        },
        quiet_start_hour: settings.quiet_hours.map(|q| q.start_hour),
        quiet_end_hour: settings.quiet_hours.map(|q| q.end_hour),
    };
    let mut conn = ctx.conn().await?;
    let row =
        accounts_q::set_notification_settings(&mut conn, actor.user_id, &row, ctx.now()).await?;
    NotificationSettings::of(row, ctx.delivery.instant_cap)
}
