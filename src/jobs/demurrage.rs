//! The demurrage job: when the currency has a demurrage rate, idle balances are charged once
//! a month into the demurrage account.

use crate::app::{ledger, Ctx};
use std::sync::Arc;

/// Runs the charge every `every` until the process ends; each account is charged once per
/// month however often this runs and however many instances run it.
pub async fn run_forever(ctx: Arc<Ctx>, every: std::time::Duration) {
    let mut interval = tokio::time::interval(every);
    loop {
        interval.tick().await;
        match ledger::demurrage::charge_demurrage(&ctx).await {
            Ok(0) => {}
            Ok(charged) => tracing::info!(charged, "demurrage charged"),
            Err(error) => tracing::warn!(%error, "the demurrage job failed"),
        }
    }
}
