//! Deletes what no longer counts: expired refresh tokens, old login failures and idempotency
//! keys past their retention.

use crate::app::{idempotency, Ctx};
use crate::db::accounts::purge_expired;
use chrono::Duration;
use std::sync::Arc;

/// One pass; deleting is idempotent, so instances running it together do no harm. Returns
/// how many tokens, login failures and idempotency keys were deleted.
pub async fn run_once(ctx: &Ctx) -> anyhow::Result<(usize, usize, usize)> {
    let now = ctx.now();
    let mut conn = ctx.pool.get().await?;
    // Keep expired tokens a day longer so that a late reuse is still recognised as reuse.
    let (tokens, failures) = purge_expired(
        &mut conn,
        now - Duration::days(1),
        now - ctx.policy.login_window - Duration::days(1),
    )
    .await?;
    let keys = idempotency::purge(&mut conn, now).await?;
    Ok((tokens, failures, keys))
}

/// Runs `run_once` every `every` until the process ends.
pub async fn run_forever(ctx: Arc<Ctx>, every: std::time::Duration) {
    let mut interval = tokio::time::interval(every);
    loop {
        interval.tick().await;
        match run_once(&ctx).await {
            Ok((tokens, failures, keys)) if tokens + failures + keys > 0 => {
                tracing::info!(tokens, failures, keys, "housekeeping removed expired rows");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "housekeeping failed"),
        }
    }
}
