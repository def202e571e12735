//! Changing a password, and choosing a new one by a link sent to the account's address.
//!
//! Either way every session of the user ends (every refresh token is revoked, the browser's
//! too). A reset link is single use and expires after [`RESET_TTL_MINUTES`]; asking for one
//! answers the same whether the address has an account or not, and at most
//! [`RESETS_PER_HOUR`] mails a user are sent an hour. A reset also lifts the lock that
//! failed logins put on the account: its owner proved they read its mail.

use super::sessions;
use super::TokenPair;
use crate::app::actor::Actor;
use crate::app::engine::tokens::{hash_refresh_token, new_refresh_token};
use crate::app::error::{AppError, AppResult};
use crate::app::notices::{Notice, PasswordResetNews};
use crate::app::notifications::notify;
use crate::app::Ctx;
use crate::db::accounts as q;
use crate::db::Atomic;
use crate::domain::account::Password;
use crate::domain::validation::{FieldErrors, Invalid};
use chrono::Duration;
use uuid::Uuid;

/// How long a reset link holds.
pub const RESET_TTL_MINUTES: i64 = 60;
/// Reset mails one user is sent at most an hour.
pub const RESETS_PER_HOUR: i64 = 3;

/// Changes the actor's password, given the current one. Ends every session and starts a new
/// one for the caller.
pub async fn change_password(
    ctx: &Ctx,
    actor: &Actor,
    current: String,
    new: &str,
) -> AppResult<TokenPair> {
    let (user, organisation) = {
        let mut conn = ctx.conn().await?;
        q::find_user_with_organisation(&mut conn, actor.user_id)
            .await?
            .ok_or(AppError::NotFound("user"))?
    };
    let password = Password::parse_new(new, &[&user.email, &user.display_name, &organisation.name])
        .map_err(|invalid| FieldErrors::single("/new_password", invalid))?;
    if !ctx
        .passwords
        .verify(Some(user.password_hash.clone()), current)
        .await?
    {
        return Err(FieldErrors::single(
            "/current_password",
            Invalid::new("wrong_password", "is not your current password"),
        )
        .into());
    }
    let hash = ctx.passwords.hash(password).await?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        q::set_password_hash(conn, user.id, &hash, now).await?;
        q::revoke_user_tokens(conn, user.id, now).await?;
        sessions::start_session(ctx, conn, user.id, now).await
    })
    .await
}

/// Sends a reset link to `email` when an account has that address; answers the same when
/// none has.
pub async fn request_reset(ctx: &Ctx, email: &str) -> AppResult<()> {
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let Some(user) = q::find_user_by_email(&mut conn, email)
        .await?
        .filter(|user| user.removed_at.is_none())
    else {
        return Ok(());
    };
    conn.transaction::<_, AppError, _>(async move |conn| {
        // One at a time per user, so that the hourly limit holds under a burst.
        q::lock_user(conn, user.id).await?;
        if q::count_password_resets(conn, user.id, now - Duration::hours(1)).await?
            >= RESETS_PER_HOUR
        {
            return Ok(());
        }
        let (token, hash) = new_refresh_token();
        let id = Uuid::now_v7();
        let expires_at = now + Duration::minutes(RESET_TTL_MINUTES);
        q::insert_password_reset(conn, id, user.id, &hash, now, expires_at).await?;
        let notice = Notice::PasswordReset(PasswordResetNews {
            token,
            valid_minutes: RESET_TTL_MINUTES,
        });
        notify(conn, &notice, &id.to_string(), &[user.id], now).await?;
        Ok(())
    })
    .await
}

/// Whether `token` is a reset link that can still be used.
pub async fn reset_usable(ctx: &Ctx, token: &str) -> AppResult<bool> {
    let mut conn = ctx.conn().await?;
    Ok(
        q::password_reset_user(&mut conn, &hash_refresh_token(token), ctx.now())
            .await?
            .is_some(),
    )
}

/// Sets a new password by a reset link: once per link, before it expires. Ends every session
/// and forgets the failed logins into the account.
pub async fn reset_password(ctx: &Ctx, token: &str, new: &str) -> AppResult<()> {
    // Length first, so that a link is not used up by a password that is refused anyway.
    Password::parse(new).map_err(|invalid| FieldErrors::single("/new_password", invalid))?;
    let hash = hash_refresh_token(token);
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let user_id = q::password_reset_user(&mut conn, &hash, now)
        .await?
        .ok_or_else(invalid_link)?;
    let (user, organisation) = q::find_user_with_organisation(&mut conn, user_id)
        .await?
        .ok_or_else(invalid_link)?;
    drop(conn);
    let password = Password::parse_new(new, &[&user.email, &user.display_name, &organisation.name])
        .map_err(|invalid| FieldErrors::single("/new_password", invalid))?;
    let password_hash = ctx.passwords.hash(password).await?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    conn.transaction::<_, AppError, _>(async move |conn| {
        if q::use_password_reset(conn, &hash, now).await? != Some(user.id) {
            return Err(invalid_link());
        }
        q::set_password_hash(conn, user.id, &password_hash, now).await?;
        q::revoke_user_tokens(conn, user.id, now).await?;
        q::clear_login_failures(conn, &user.email).await?;
        Ok(())
    })
    .await
}

fn invalid_link() -> AppError {
    FieldErrors::single(
        "/token",
        Invalid::new(
            "invalid_reset_link",
            "the link is not valid: it was used already or has expired; ask for a new one",
        ),
    )
    .into()
}
