//! The matcher job: works queued subjects when woken — by this instance, or by any instance
//! through PostgreSQL's NOTIFY — and at least every `every` as a catch-up.

use crate::app::engine::matcher;
use crate::app::Ctx;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use futures_util::StreamExt;
use secrecy::{ExposeSecret, SecretString};
use std::sync::Arc;
use std::time::Duration;
use tokio::sync::mpsc::Sender;
use tokio::task::JoinSet;

/// The channel a queued job notifies on (see `db::matches::enqueue_job`).
pub const CHANNEL: &str = "kringloop_match_jobs";

/// Runs until dropped. `url` opens the connection that listens.
pub async fn run_forever(ctx: Arc<Ctx>, url: SecretString, every: Duration) {
    let (wake, mut woken) = tokio::sync::mpsc::channel::<()>(1);
    // Dropped with this future, which aborts both helpers.
    let mut helpers = JoinSet::new();
    helpers.spawn(listen(url, wake.clone()));
    {
        let ctx = ctx.clone();
        helpers.spawn(async move {
            loop {
                ctx.matcher.wake.notified().await;
                let _ = wake.try_send(());
            }
        });
    }
    loop {
        match matcher::run_jobs(&ctx, None).await {
            Ok(0) => {}
            Ok(worked) => tracing::debug!(worked, "matcher jobs worked"),
            Err(error) => tracing::warn!(%error, "the matcher job failed"),
        }
        tokio::select! {
            _ = woken.recv() => {}
            _ = tokio::time::sleep(every) => {}
        }
    }
}

/// Forwards every NOTIFY on [`CHANNEL`] as a wake-up; on a broken connection it waits a while
/// and listens again (the periodic catch-up covers the gap).
async fn listen(url: SecretString, wake: Sender<()>) {
    loop {
        match AsyncPgConnection::establish(url.expose_secret()).await {
            Ok(mut conn) => {
                match diesel::sql_query(format!("LISTEN {CHANNEL}"))
                    .execute(&mut conn)
                    .await
                {
                    Ok(_) => {
                        let mut stream = std::pin::pin!(conn.notifications_stream());
                        while let Some(Ok(_)) = stream.next().await {
                            let _ = wake.try_send(());
                        }
                    }
                    Err(error) => tracing::warn!(%error, "LISTEN failed"),
                }
            }
            Err(error) => tracing::warn!(%error, "the matcher cannot listen for changes"),
        }
        tokio::time::sleep(Duration::from_secs(5)).await;
    }
}
