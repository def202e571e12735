//! Keeps this instance's copy of the open stock in step with the database.

use crate::app::Ctx;
use std::sync::Arc;
use std::time::Duration;

/// Loads the copy, then catches up every lag until the process ends; nothing to do when the
/// copy is off or catches up before every search.
pub async fn run_forever(ctx: Arc<Ctx>) {
    let stock = &ctx.stock;
    if !stock.enabled() || stock.lag().is_zero() {
        return;
    }
    loop {
        let pause = match stock.catch_up(&ctx.pool).await {
            Ok(()) => stock.lag(),
            Err(error) => {
                tracing::warn!(%error, "the stock copy could not catch up; searches ask the database");
                Duration::from_secs(1).max(stock.lag())
            }
        };
        tokio::time::sleep(pause).await;
    }
}
