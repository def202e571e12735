//! Deletes what no longer counts: expired refresh tokens and old login failures.

use crate::app::Ctx;
use crate::db::accounts::purge_expired;
use chrono::Duration;
use std::sync::Arc;

/// One pass; deleting is idempotent, so instances running it together do no harm.
pub async fn run_once(ctx: &Ctx) -> anyhow::Result<(usize, usize)> {
    let now = ctx.now();
    let mut conn = ctx.pool.get().await?;
    // Keep expired tokens a day longer so that a late reuse is still recognised as reuse.
    Ok(purge_expired(
        &mut conn,
        now - Duration::days(1),
        now - ctx.policy.login_window - Duration::days(1),
    )
    .await?)
}

/// Runs `run_once` every `every` until the process ends.
pub async fn run_forever(ctx: Arc<Ctx>, every: std::time::Duration) {
    let mut interval = tokio::time::interval(every);
    loop {
        interval.tick().await;
        match run_once(&ctx).await {
            Ok((tokens, failures)) if tokens + failures > 0 => {
                tracing::info!(tokens, failures, "housekeeping removed expired rows");
            }
            Ok(_) => {}
            Err(error) => tracing::warn!(%error, "housekeeping failed"),
        }
    }
}
