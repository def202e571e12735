//! Sessions: logging in with throttling, refresh-token rotation and logging out.

use super::TokenPair;
use crate::app::actor::Actor;
use crate::app::engine::tokens::{hash_refresh_token, new_refresh_token};
use crate::app::error::{AppError, AppResult};
use crate::app::Ctx;
use crate::db::accounts::{self as q, NewRefreshTokenRow};
use crate::db::{Atomic, Conn};
use chrono::{DateTime, Utc};
use uuid::Uuid;

/// Exchanges e-mail address and password for a new session, throttling guessing.
pub async fn login(
    ctx: &Ctx,
    email: &str,
    password: String,
    client_addr: &str,
) -> AppResult<TokenPair> {
    let user_id = authenticate(ctx, email, password, client_addr).await?;
    start_session(ctx, &mut *ctx.conn().await?, user_id, ctx.now()).await
}

/// A signed-in browser: the secret of its session (kept in an HttpOnly cookie) and when the
/// session ends.
#[derive(Debug, Clone)]
pub struct BrowserSession {
    pub secret: String,
    pub expires_at: DateTime<Utc>,
}

/// Signs a browser in, with the same throttling as [`login`]. The session is a refresh-token
/// family of its own that never rotates, so that logging out, or anything that ends every
/// session of the user, ends it too.
pub async fn sign_in(
    ctx: &Ctx,
    email: &str,
    password: String,
    client_addr: &str,
) -> AppResult<BrowserSession> {
    let user_id = authenticate(ctx, email, password, client_addr).await?;
    let now = ctx.now();
    let (secret, hash) = new_refresh_token();
    let expires_at = now + ctx.policy.refresh_token_ttl;
    q::insert_refresh_token(
        &mut *ctx.conn().await?,
        &NewRefreshTokenRow {
            id: Uuid::now_v7(),
            family_id: Uuid::now_v7(),
            user_id,
            token_hash: &hash,
            issued_at: now,
            expires_at,
        },
    )
    .await?;
    Ok(BrowserSession { secret, expires_at })
}

/// The actor behind a browser session's secret, while the session lasts.
pub async fn browser_actor(ctx: &Ctx, secret: &str) -> AppResult<Option<Actor>> {
    let mut conn = ctx.conn().await?;
    let Some(token) = q::find_refresh_token(&mut conn, &hash_refresh_token(secret)).await? else {
        return Ok(None);
    };
    drop(conn);
    let live =
        token.revoked_at.is_none() && token.rotated_at.is_none() && token.expires_at > ctx.now();
    if !live {
        return Ok(None);
    }
    super::actor(ctx, token.user_id).await
}

/// Ends a browser session.
pub async fn sign_out(ctx: &Ctx, secret: &str) -> AppResult<()> {
    let mut conn = ctx.conn().await?;
    if let Some(token) = q::find_refresh_token(&mut conn, &hash_refresh_token(secret)).await? {
        q::revoke_family(&mut conn, token.family_id, ctx.now()).await?;
    }
    Ok(())
}

/// Checks e-mail address and password, throttling guessing per (account, address) and per
/// address, and slowing down failures into an account that is being guessed at.
async fn authenticate(
    ctx: &Ctx,
    email: &str,
    password: String,
    client_addr: &str,
) -> AppResult<Uuid> {
    let now = ctx.now();
    let policy = &ctx.policy;
    let mut conn = ctx.conn().await?;
    let claim = q::claim_login_attempt(
        &mut conn,
        email,
        client_addr,
        now,
        now - policy.login_window,
        policy.login_max_failures_per_account,
        policy.login_max_failures_per_address,
    )
    .await?;
    let attempt = match claim {
        Ok(attempt) => attempt,
        Err(blocked) => {
            // The limit lifts when the oldest of the newest `max` failures leaves the window.
            let until = [
                (blocked.by_account, policy.login_max_failures_per_account),
                (blocked.by_address, policy.login_max_failures_per_address),
            ]
            .into_iter()
            .filter(|(failures, max)| failures.len() as i64 >= *max)
            .filter_map(|(failures, _)| failures.last().map(|oldest| *oldest + policy.login_window))
            .max()
            .unwrap_or(now + policy.login_window);
            let retry_after_secs = (until - now).num_seconds().max(1) as u64;
            return Err(AppError::RateLimited { retry_after_secs });
        }
    };

    let user = q::find_user_by_email(&mut conn, email).await?;
    // No connection is held while the password is checked (see `register`).
    drop(conn);
    let verified = match ctx
        .passwords
        .verify(user.as_ref().map(|u| u.password_hash.clone()), password)
        .await
    {
        Ok(verified) => verified,
        Err(error) => {
            // Not checked at all (the service is busy): the attempt does not count.
            q::withdraw_login_failure(&mut *ctx.conn().await?, attempt.id).await?;
            return Err(error);
        }
    };
    match user {
        Some(user) if verified => {
            q::withdraw_login_failure(&mut *ctx.conn().await?, attempt.id).await?;
            if user.removed_at.is_some() {
                return Err(AppError::Unauthenticated(
                    "this account was removed from its organisation; an owner of an \
                     organisation can invite its address again",
                ));
            }
            Ok(user.id)
        }
        // The attempt stays recorded as a failure, and is answered the later the more
        // failures into the account came before it (no connection held meanwhile).
        _ => {
            let steps = attempt.account_failures.clamp(0, 10) as u32;
            tokio::time::sleep(policy.login_slowdown * steps).await;
            Err(AppError::InvalidCredentials)
        }
    }
}

pub(super) async fn start_session(
    ctx: &Ctx,
    conn: &mut Conn,
    user_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<TokenPair> {
    issue_tokens(ctx, conn, user_id, Uuid::now_v7(), now).await
}

async fn issue_tokens(
    ctx: &Ctx,
    conn: &mut Conn,
    user_id: Uuid,
    family_id: Uuid,
    now: DateTime<Utc>,
) -> AppResult<TokenPair> {
    let (refresh_token, hash) = new_refresh_token();
    let ttl = ctx.policy.refresh_token_ttl;
    q::insert_refresh_token(
        conn,
        &NewRefreshTokenRow {
            id: Uuid::now_v7(),
            family_id,
            user_id,
            token_hash: &hash,
            issued_at: now,
            expires_at: now + ttl,
        },
    )
    .await?;
    Ok(TokenPair {
        access_token: ctx.tokens.issue(user_id, now)?,
        token_type: "Bearer",
        expires_in: ctx.tokens.ttl.num_seconds(),
        refresh_token,
        refresh_expires_in: ttl.num_seconds(),
    })
}

enum Rotation {
    Rotated(TokenPair),
    Refused(&'static str),
}

/// Rotates a refresh token. A token that was already rotated revokes its whole session:
/// someone holds a copy that should not exist.
pub async fn refresh(ctx: &Ctx, refresh_token: &str) -> AppResult<TokenPair> {
    let now = ctx.now();
    let hash = hash_refresh_token(refresh_token);
    let mut conn = ctx.conn().await?;
    let outcome = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let Some(token) = q::lock_refresh_token(conn, &hash).await? else {
                return Ok(Rotation::Refused("the refresh token is not valid"));
            };
            if token.revoked_at.is_some() {
                return Ok(Rotation::Refused("the session has ended"));
            }
            if token.rotated_at.is_some() {
                q::revoke_family(conn, token.family_id, now).await?;
                tracing::warn!(user_id = %token.user_id, "refresh token reused; session revoked");
                return Ok(Rotation::Refused(
                    "the refresh token was already used; the session has been ended",
                ));
            }
            if token.expires_at <= now {
                return Ok(Rotation::Refused("the refresh token has expired"));
            }
            q::mark_rotated(conn, token.id, now).await?;
            let pair = issue_tokens(ctx, conn, token.user_id, token.family_id, now).await?;
            Ok(Rotation::Rotated(pair))
        })
        .await?;
    match outcome {
        Rotation::Rotated(pair) => Ok(pair),
        Rotation::Refused(why) => Err(AppError::Unauthenticated(why)),
    }
}

/// Ends the session that `refresh_token` belongs to, when it is the actor's.
pub async fn logout(ctx: &Ctx, actor: &Actor, refresh_token: &str) -> AppResult<()> {
    let mut conn = ctx.conn().await?;
    if let Some(token) =
        q::find_refresh_token(&mut conn, &hash_refresh_token(refresh_token)).await?
    {
        if token.user_id == actor.user_id {
            q::revoke_family(&mut conn, token.family_id, ctx.now()).await?;
        }
    }
    Ok(())
}
