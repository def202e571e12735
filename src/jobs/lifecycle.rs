//! The listing lifecycle job: announced lots open on their date, old lots expire, held
//! reservations run out, and hand-overs whose confirmation window passed without a word have
//! their issuance settled.

use crate::app::{ledger, listings, reservations, Ctx};
use std::sync::Arc;

/// Runs the transitions every `every` until the process ends.
pub async fn run_forever(ctx: Arc<Ctx>, every: std::time::Duration) {
    let mut interval = tokio::time::interval(every);
    loop {
        interval.tick().await;
        match listings::advance_lifecycle(&ctx).await {
            Ok(0) => {}
            Ok(changed) => tracing::info!(changed, "listings moved on in their lifecycle"),
            Err(error) => tracing::warn!(%error, "the listing lifecycle job failed"),
        }
        match reservations::expire_due(&ctx).await {
            Ok(0) => {}
            Ok(expired) => tracing::info!(expired, "held reservations expired"),
            Err(error) => tracing::warn!(%error, "the reservation expiry job failed"),
        }
        match ledger::issuance::settle_lapsed(&ctx).await {
            Ok(0) => {}
            Ok(settled) => {
                tracing::info!(settled, "issuance settled after the confirmation window")
            }
            Err(error) => tracing::warn!(%error, "settling issuance after the window failed"),
        }
    }
}
