//! Confirming a user's e-mail address: a link mailed at registration (and again on request),
//! single use, expiring after [`VERIFY_TTL_HOURS`]. A broker verifies an organisation only once
//! one of its owners has confirmed their address (see
//! [`super::organisations::set_organisation_status`]).

use crate::app::actor::Actor;
use crate::app::engine::tokens::{hash_refresh_token, new_refresh_token};
use crate::app::error::{AppError, AppResult, Conflict};
use crate::app::notices::{EmailVerificationNews, Notice};
use crate::app::notifications::notify;
use crate::app::Ctx;
use crate::db::accounts as q;
use crate::db::{Atomic, Conn};
use crate::domain::validation::{FieldErrors, Invalid};
use chrono::{DateTime, Duration, Utc};
use uuid::Uuid;

/// How long a verification link holds.
pub const VERIFY_TTL_HOURS: i64 = 48;
/// Verification mails one user is sent at most an hour.
pub const LINKS_PER_HOUR: usize = 3;

/// Writes a new verification link for `user_id` and its mail, in the caller's transaction.
pub(super) async fn send_link(
    conn: &mut Conn,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> Result<(), crate::db::Error> {
    let (token, hash) = new_refresh_token();
    let id = Uuid::now_v7();
    q::insert_email_verification(
        conn,
        id,
        user_id,
        &hash,
        now,
        now + Duration::hours(VERIFY_TTL_HOURS),
    )
    .await?;
    let notice = Notice::EmailVerification(EmailVerificationNews {
        token,
        valid_hours: VERIFY_TTL_HOURS,
    });
    notify(conn, &notice, &id.to_string(), &[user_id], now).await
}

/// Sends the actor a new verification link: 409 when their address is confirmed already, 429
/// after [`LINKS_PER_HOUR`] links within the hour.
pub async fn resend(ctx: &Ctx, actor: &Actor) -> AppResult<()> {
    let now = ctx.now();
    let user_id = actor.user_id;
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let user = q::lock_user_row(conn, user_id)
            .await?
            .ok_or(AppError::NotFound("user"))?;
        if user.email_verified_at.is_some() {
            return Err(AppError::conflict(
                Conflict::EmailAlreadyVerified,
                "your e-mail address is confirmed already",
            ));
        }
        let sent = q::count_email_verifications(conn, user_id, now - Duration::hours(1)).await?;
        if sent.len() >= LINKS_PER_HOUR {
            let oldest = sent.first().copied().unwrap_or(now);
            let retry_after_secs = (oldest + Duration::hours(1) - now).num_seconds().max(1) as u64;
            return Err(AppError::RateLimited { retry_after_secs });
        }
        send_link(conn, user_id, now).await?;
        Ok(())
    })
    .await
}

/// Confirms the address a verification link was sent to: once per link, before it expires.
pub async fn verify(ctx: &Ctx, token: &str) -> AppResult<()> {
    let hash = hash_refresh_token(token);
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        let user_id = q::use_email_verification(conn, &hash, now)
            .await?
            .ok_or_else(invalid_link)?;
        q::set_email_verified(conn, user_id, now).await?;
        Ok(())
    })
    .await
}

/// Whether `token` is a verification link that can still be used.
pub async fn link_usable(ctx: &Ctx, token: &str) -> AppResult<bool> {
    let mut conn = ctx.conn().await?;
    Ok(q::email_verification_usable(&mut conn, &hash_refresh_token(token), ctx.now()).await?)
}

/// Marks an address confirmed without a link: for accounts the operator makes from the
/// command line (the demo data).
pub async fn confirm_by_operator(ctx: &Ctx, user_id: Uuid) -> AppResult<()> {
    q::set_email_verified(&mut *ctx.conn().await?, user_id, ctx.now()).await?;
    Ok(())
}

fn invalid_link() -> AppError {
    FieldErrors::single(
        "/token",
        Invalid::new(
            "invalid_verification_link",
            "the link is not valid: it was used already or has expired; sign in and ask for a \
             new one",
        ),
    )
    .into()
}
