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

use crate::app::error::AppResult;
use crate::db::listings::{self as q, ListingRow, SearchHit, SearchQuery, StockRow};
use crate::db::matches::snapshot_xmin;
use crate::db::Pool;
use crate::domain::listing::ListingStatus;
use crate::domain::quantity::Unit;
use crate::domain::stock::{answers, Found, Lot, Stock};
use chrono::{DateTime, Utc};
use std::sync::{PoisonError, RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::{Duration, Instant};
use uuid::Uuid;

/// What a result shows of a lot beyond what the stock keeps to search by, compactly: there
/// may be a million of them.
#[derive(Debug)]
struct Shown {
    passport_id: Uuid,
    organisation_id: Uuid,
    title: Box<str>,
    unit: Unit,
    quantity: i64,
    mass_g_per_unit: Option<i64>,
    available_until: Option<DateTime<Utc>>,
    pickup_lat: f64,
    pickup_lon: f64,
    pickup_address: Option<Box<str>>,
    district_id: Option<Uuid>,
    note: Option<Box<str>>,
    version: i32,
    created_at: DateTime<Utc>,
    updated_at: DateTime<Utc>,
}

/// The stored row of a lot the stock found.
fn row_of(found: Found<'_, Shown>) -> ListingRow {
    let shown = found.payload;
    ListingRow {
        id: found.id,
        passport_id: shown.passport_id,
        organisation_id: shown.organisation_id,
        category_id: found.category_id,
        title: shown.title.to_string(),
        status: found.status.as_str().to_owned(),
        unit: shown.unit.as_str().to_owned(),
        quantity: shown.quantity,
        quantity_available: found.quantity_available,
        mass_g_per_unit: shown.mass_g_per_unit,
        available_from: found.available_from,
        available_until: shown.available_until,
        pickup_lat: shown.pickup_lat,
        pickup_lon: shown.pickup_lon,
        pickup_address: shown.pickup_address.as_deref().map(str::to_owned),
        district_id: shown.district_id,
        price_amount: found.price.map(|(amount, _)| amount),
        price_currency: found.price.map(|(_, code)| code.to_owned()),
        condition_rank: found.condition_rank,
        note: shown.note.as_deref().map(str::to_owned),
        version: shown.version,
        created_at: shown.created_at,
        updated_at: shown.updated_at,
        // The stock keeps no hidden lot.
        hidden_at: None,
        hidden_reason: None,
    }
}

/// The copy, once loaded.
struct Loaded {
    stock: Stock<Shown>,
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
        if !self.enabled || !answers(query) {
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
        Ok(loaded.stock.search(query).map(|found| {
            found
                .into_iter()
                .map(|found| SearchHit {
                    chord: found.chord,
                    listing: row_of(found),
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
                q::each_open_lot(&mut conn, |row| apply(&mut stock, change_of(row))).await?;
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
                let read = at.elapsed();
                let changed = rows.len();
                // Made ready before the lock, which searches wait for.
                let changes: Vec<Change> = rows.into_iter().map(change_of).collect();
                let mut loaded = self.write();
                if let Some(loaded) = loaded.as_mut() {
                    for change in changes {
                        apply(&mut loaded.stock, change);
                    }
                    loaded.watermark = xmin;
                    loaded.at = at;
                }
                drop(loaded);
                tracing::debug!(
                    changed,
                    read_ms = read.as_secs_f64() * 1e3,
                    applied_ms = (at.elapsed() - read).as_secs_f64() * 1e3,
                    "the stock copy caught up"
                );
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

/// A changed listing, ready to be kept (the stock keeps only open lots, and forgets others).
/// A change lives only from its row to the stock, so its size does not matter.
#[allow(clippy::large_enum_variant)]
enum Change {
    Keep(Lot, Shown),
    Forget(Uuid),
}

fn apply(stock: &mut Stock<Shown>, change: Change) {
    match change {
        Change::Keep(lot, shown) => stock.insert(lot, shown),
        Change::Forget(id) => {
            stock.remove(id);
        }
    }
}

fn change_of((row, x, y, z, off_market): StockRow) -> Change {
    let (Ok(status), Ok(unit), false) = (
        row.status.parse::<ListingStatus>(),
        row.unit.parse::<Unit>(),
        off_market,
    ) else {
        // The table's checks allow no other statuses or units; lots off the market (a
        // suspended organisation's, or hidden by the broker) are out of the stock until
        // reinstated or restored.
        return Change::Forget(row.id);
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
        price: row.price_amount.zip(row.price_currency),
        condition_rank: row.condition_rank,
    };
    let shown = Shown {
        passport_id: row.passport_id,
        organisation_id: row.organisation_id,
        title: row.title.into(),
        unit,
        quantity: row.quantity,
        mass_g_per_unit: row.mass_g_per_unit,
        available_until: row.available_until,
        pickup_lat: row.pickup_lat,
        pickup_lon: row.pickup_lon,
        pickup_address: row.pickup_address.map(Into::into),
        district_id: row.district_id,
        note: row.note.map(Into::into),
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    };
    Change::Keep(lot, shown)
}
