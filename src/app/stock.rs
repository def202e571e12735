//! This instance's copy of the open stock, so that searches by place, and by date within
//! categories, answer from memory instead of the database.
//!
//! The copy is loaded once and kept in step with the database by the transaction id that
//! every change stamps on a listing (as the matcher's indexes are): a catch-up reads the rows
//! stamped at or above the oldest transaction still running at the previous catch-up, so no
//! committed change is missed whatever order transactions commit in. A background job
//! catches up every `lag`; a copy that has not caught up for much longer than that (the
//! database is away) is not used, and the database answers. With a lag of zero every search
//! catches up first, so that a search sees every change committed before it (the tests run
//! that way).

use super::error::AppResult;
use crate::db::listings::{self as q, ListingRow, SearchHit, SearchQuery, StockRow};
use crate::db::matches::snapshot_xmin;
use crate::db::Pool;
use crate::domain::listing::ListingStatus;
use crate::domain::stock::{Lot, Stock};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};

/// The copy, once loaded.
struct Loaded {
    stock: Stock<ListingRow>,
    /// Rows stamped at or above this transaction id are read again at the next catch-up.
    watermark: i64,
    /// When the snapshot of the latest catch-up was taken.
    at: Instant,
}

pub struct StockCopy {
    enabled: bool,
    lag: Duration,
    loaded: RwLock<Option<Loaded>>,
    /// One catch-up at a time.
    catching_up: tokio::sync::Mutex<()>,
}

impl std::fmt::Debug for StockCopy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StockCopy")
            .field("enabled", &self.enabled)
            .field("lag", &self.lag)
            .finish_non_exhaustive()
    }
}

impl StockCopy {
    /// `enabled`: off, every search asks the database. `lag`: how often the background job
    /// catches up; zero, every search catches up first.
    pub fn new(enabled: bool, lag: Duration) -> Self {
        StockCopy {
            enabled,
            lag,
            loaded: RwLock::new(None),
            catching_up: tokio::sync::Mutex::new(()),
        }
    }

    pub fn enabled(&self) -> bool {
        self.enabled
    }

    pub fn lag(&self) -> Duration {
        self.lag
    }

    /// How many open lots the copy holds; `None` until it is loaded.
    pub fn lots(&self) -> Option<usize> {
        self.read().as_ref().map(|loaded| loaded.stock.len())
    }

    /// A copy older than this is not searched: its catch-ups are failing.
    fn stale_after(&self) -> Duration {
        self.lag * 8 + Duration::from_secs(2)
    }

    /// The page from memory, or `None` when the database must answer: the copy is off, not
    /// loaded yet or behind, or it does not keep this shape of search (words, closed lots).
    pub async fn search(
        &self,
        pool: &Pool,
        query: &SearchQuery,
    ) -> AppResult<Option<Vec<SearchHit>>> {
        if !self.enabled || !Stock::<ListingRow>::answers(query) {
            return Ok(None);
        }
        if self.lag.is_zero() {
            self.catch_up(pool).await?;
        }
        let loaded = self.read();
        let Some(loaded) = loaded
            .as_ref()
            .filter(|loaded| loaded.at.elapsed() <= self.stale_after())
        else {
            return Ok(None);
        };
        Ok(loaded.stock.search(query).map(|hits| {
            hits.into_iter()
                .map(|(row, chord)| SearchHit {
                    listing: row.clone(),
                    chord,
                    rank: 0.0,
                })
                .collect()
        }))
    }

    /// Loads the copy the first time, and afterwards reads what changed since the previous
    /// catch-up.
    pub async fn catch_up(&self, pool: &Pool) -> AppResult<()> {
        if !self.enabled {
            return Ok(());
        }
        let _one = self.catching_up.lock().await;
        let mut conn = pool.get().await?;
        let at = Instant::now();
        let xmin = snapshot_xmin(&mut conn).await?;
        let since = self.read().as_ref().map(|loaded| loaded.watermark);
        match since {
            None => {
                let mut stock = Stock::new();
                q::each_open_lot(&mut conn, |row| keep(&mut stock, row)).await?;
                tracing::info!(
                    lots = stock.len(),
                    seconds = at.elapsed().as_secs_f64(),
                    "the stock copy is loaded"
                );
                *self.write() = Some(Loaded {
                    stock,
                    watermark: xmin,
                    at,
                });
            }
            Some(since) => {
                let rows = q::stock_changed_since(&mut conn, since).await?;
                let mut loaded = self.write();
                if let Some(loaded) = loaded.as_mut() {
                    for row in rows {
                        keep(&mut loaded.stock, row);
                    }
                    loaded.watermark = xmin;
                    loaded.at = at;
                }
            }
        }
        Ok(())
    }

    fn read(&self) -> RwLockReadGuard<'_, Option<Loaded>> {
        self.loaded.read().unwrap_or_else(PoisonError::into_inner)
    }

    fn write(&self) -> RwLockWriteGuard<'_, Option<Loaded>> {
        self.loaded.write().unwrap_or_else(PoisonError::into_inner)
    }
}

/// Keeps a changed listing while it is open, and forgets it otherwise.
fn keep(stock: &mut Stock<ListingRow>, (row, x, y, z): StockRow) {
    let Ok(status) = row.status.parse::<ListingStatus>() else {
        stock.remove(row.id);
        return;
    };
    let lot = Lot {
        id: row.id,
        category_id: row.category_id,
        status,
        lat: row.pickup_lat,
        lon: row.pickup_lon,
        earth: [x, y, z],
        available_from: row.available_from,
        quantity_available: row.quantity_available,
        price: row.price_amount.zip(row.price_currency.clone()),
        condition_rank: row.condition_rank,
    };
    stock.insert(lot, row);
}
