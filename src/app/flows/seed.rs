//! Synthetic flows in bulk, for the P4 benchmark and the demo city: generated in the database
//! in batches, each batch added to the rollups in the same statement.

use super::super::error::{AppError, AppResult};
use super::super::Ctx;
use crate::db::flows as q;

/// Flows per statement: large enough that the round trips do not count, small enough that
/// one statement's memory stays modest.
const BATCH: i64 = 250_000;

/// Generates `count` synthetic flows over the `years` before now; `progress` hears how many
/// are done after each batch.
pub async fn synthetic_flows(
    ctx: &Ctx,
    count: i64,
    years: i32,
    mut progress: impl FnMut(i64, i64),
) -> AppResult<i64> {
    let mut conn = ctx.conn().await?;
    let pool = q::synthetic_pool(&mut conn, ctx.now(), years * 365).await?;
    if pool.districts.is_empty() || pool.categories.is_empty() {
        return Err(AppError::BadRequest(
            "synthetic flows need districts and categories: load districts first".into(),
        ));
    }
    let mut done = 0;
    while done < count {
        let batch = BATCH.min(count - done);
        q::insert_synthetic(&mut conn, &pool, batch).await?;
        done += batch;
        progress(done, count);
    }
    Ok(done)
}

/// Whether any flow was recorded, real or synthetic: the demo city adds its flows only once.
pub async fn any_flows(ctx: &Ctx) -> AppResult<bool> {
    Ok(q::any(&mut *ctx.conn().await?).await?)
}
