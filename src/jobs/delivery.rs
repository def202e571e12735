//! The delivery job: composes due digests and sends due mail, every `every`.

use crate::app::engine::mail as delivery;
use crate::app::Ctx;
use std::sync::Arc;
use std::time::Duration;

/// Runs until dropped.
pub async fn run_forever(ctx: Arc<Ctx>, every: Duration) {
    if ctx.mailer.is_none() {
        tracing::warn!("KRINGLOOP_SMTP_URL is not set: mail waits in the outbox until it is");
    }
    let mut interval = tokio::time::interval(every);
    interval.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        interval.tick().await;
        if let Err(error) = delivery::compose_digests(&ctx).await {
            tracing::warn!(%error, "composing digests failed");
        }
        match delivery::deliver_due(&ctx).await {
            Ok(done) if done == delivery::Delivered::default() => {}
            Ok(done) => tracing::info!(?done, "mail delivered"),
            Err(error) => tracing::warn!(%error, "mail delivery failed"),
        }
    }
}
