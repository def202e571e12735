//! Stock search as a question, and the open stock kept in memory to answer it: the lots that
//! are announced or available, found nearest first around a point or by date within
//! categories without asking the database.
//!
//! The database answers every [`SearchQuery`]; [`Stock`] answers the shapes a makerspace asks
//! most (no words, open statuses only) and says `None` to the others. Both answers must be the
//! same page for every input: the unit tests hold `Stock` against a plain scan, and the
//! integration tests hold the service against plain SQL.

use crate::domain::listing::ListingStatus;
use chrono::{DateTime, Utc};
use std::collections::{BTreeSet, HashMap};
use std::ops::Bound;
use uuid::Uuid;

/// How results are ordered.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SearchOrder {
    Relevance,
    Distance,
    Date,
}

/// Where the previous page ended.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum After {
    /// Relevance descending, then id.
    Rank(f32, Uuid),
    /// Chord length on the unit sphere ascending (the same order as distance), then id.
    Distance(f64, Uuid),
    /// Availability date ascending, then id.
    Date(DateTime<Utc>, Uuid),
}

#[derive(Debug, Clone)]
pub struct SearchQuery {
    /// The category and its descendants.
    pub categories: Option<Vec<Uuid>>,
    pub text: Option<String>,
    /// (lat, lon, radius in km)
    pub near: Option<(f64, f64, f64)>,
    pub statuses: Vec<String>,
    pub available_by: Option<DateTime<Utc>>,
    pub min_quantity: Option<i64>,
    /// (max price per unit, currency); free lots also qualify.
    pub max_price: Option<(i64, String)>,
    pub condition_min: Option<i16>,
    pub order: SearchOrder,
    pub after: Option<After>,
    pub limit: i64,
}

pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// The point on the unit sphere, as stored in `pickup_earth`.
pub fn unit_vector(lat: f64, lon: f64) -> (f64, f64, f64) {
    let (lat, lon) = (lat.to_radians(), lon.to_radians());
    (lat.cos() * lon.cos(), lat.cos() * lon.sin(), lat.sin())
}

/// Chord length on the unit sphere for a great-circle distance in km, and back.
pub fn chord_of_km(km: f64) -> f64 {
    2.0 * (km / (2.0 * EARTH_RADIUS_KM)).sin()
}

pub fn km_of_chord(chord: f64) -> f64 {
    2.0 * EARTH_RADIUS_KM * (chord / 2.0).min(1.0).asin()
}

/// The distance between two points on the unit sphere, computed as PostgreSQL's `cube`
/// computes `<->` (the same operations in the same order), so that both give the same bits.
fn chord(a: &[f64; 3], b: &[f64; 3]) -> f64 {
    let (x, y, z) = (a[0] - b[0], a[1] - b[1], a[2] - b[2]);
    (x * x + y * y + z * z).sqrt()
}

/// Points on the circle of `km` around (lat, lon), every half degree of bearing.
#[cfg(test)]
pub(crate) fn circle(lat: f64, lon: f64, km: f64) -> impl Iterator<Item = (f64, f64)> {
    let angle = km / EARTH_RADIUS_KM;
    let (phi, lambda) = (lat.to_radians(), lon.to_radians());
    (0..720).map(move |step| {
        let bearing = (f64::from(step) / 2.0).to_radians();
        let to = (phi.sin() * angle.cos() + phi.cos() * angle.sin() * bearing.cos()).asin();
        let to_lon = lambda
            + (bearing.sin() * angle.sin() * phi.cos()).atan2(angle.cos() - phi.sin() * to.sin());
        (to.to_degrees(), to_lon.to_degrees())
    })
}

/// What a search filters by, of one open lot.
#[derive(Debug, Clone, PartialEq)]
pub struct Lot {
    pub id: Uuid,
    pub category_id: Uuid,
    pub status: ListingStatus,
    pub lat: f64,
    pub lon: f64,
    /// The pickup point on the unit sphere, exactly as the database stores it.
    pub earth: [f64; 3],
    pub available_from: DateTime<Utc>,
    pub quantity_available: i64,
    pub price: Option<(i64, String)>,
    pub condition_rank: i16,
}

/// A lot a search found: what the stock keeps of it, its payload and its chord to `near`
/// (in searches by distance).
#[derive(Debug, Clone, Copy)]
pub struct Found<'s, T> {
    pub id: Uuid,
    pub category_id: Uuid,
    pub status: ListingStatus,
    pub available_from: DateTime<Utc>,
    pub quantity_available: i64,
    pub price: Option<(i64, &'s str)>,
    pub condition_rank: i16,
    pub chord: Option<f64>,
    pub payload: &'s T,
}

/// A lot as the cells keep it: small and without heap parts, the currency by its number.
#[derive(Debug, Clone, Copy)]
struct Kept {
    id: Uuid,
    category_id: Uuid,
    status: ListingStatus,
    earth: [f64; 3],
    available_from: DateTime<Utc>,
    quantity_available: i64,
    price: Option<(i64, u16)>,
    condition_rank: i16,
}

/// A cell of the grid the lots are kept in: 0.002° of latitude by 0.003° of longitude, about
/// 220 × 205 m in The Hague, so that a page of lots nearest a point in a dense city lies in
/// a handful of cells.
type Cell = (i32, i32);
const CELL_LAT_DEG: f64 = 0.002;
const CELL_LON_DEG: f64 = 0.003;

fn cell_of(lat: f64, lon: f64) -> Cell {
    (
        ((lat + 90.0) / CELL_LAT_DEG).floor() as i32,
        ((lon + 180.0) / CELL_LON_DEG).floor() as i32,
    )
}

/// The cells a circle of `km` around (lat, lon) can touch, as (rows, columns); `None` near
/// the poles and the date line, which the database's search handles instead.
fn cells_around(lat: f64, lon: f64, km: f64) -> Option<(Cell, Cell)> {
    // A hair more, against rounding in the trigonometry (about 0.1 mm).
    const SPARE_DEG: f64 = 1e-9;
    let angle = km / EARTH_RADIUS_KM;
    let reach_lat = angle.to_degrees() + SPARE_DEG;
    let (south, north) = (lat - reach_lat, lat + reach_lat);
    if south <= -85.0 || north >= 85.0 {
        return None;
    }
    // The widest longitude a spherical cap reaches, at any latitude within it.
    let reach_lon = (angle.sin() / lat.to_radians().cos())
        .clamp(-1.0, 1.0)
        .asin()
        .to_degrees()
        + SPARE_DEG;
    let (west, east) = (lon - reach_lon, lon + reach_lon);
    if west <= -180.0 || east >= 180.0 {
        return None;
    }
    Some((cell_of(south, west), cell_of(north, east)))
}

/// The statuses of open lots: the ones the stock keeps, and the database's partial indexes.
pub const OPEN_STATUSES: [&str; 2] = ["announced", "available"];

/// Whether the statuses lie among the open ones.
pub fn opens_only(statuses: &[String]) -> bool {
    statuses
        .iter()
        .all(|status| OPEN_STATUSES.contains(&status.as_str()))
}

/// The words of a search as PostgreSQL's `websearch_to_tsquery` should read them: words,
/// phrases in double quotes, `or`, and one `-` (not) before a word. Runs of operators without
/// words between them, which nest in the query it builds until PostgreSQL refuses ("tsquery stack
/// too small"), are dropped, and so is every other sign; at most 32 words are kept.
pub fn search_words(q: &str) -> String {
    const MAX_WORDS: usize = 32;
    let mut tokens: Vec<String> = Vec::new();
    let mut words = 0;
    let mut negate = false;
    let mut quoted = false;
    let mut chars = q.chars().peekable();
    while let Some(c) = chars.next() {
        if c.is_alphanumeric() {
            if words == MAX_WORDS {
                break;
            }
            let mut word = String::from(if negate && !quoted { "-" } else { "" });
            word.push(c);
            while let Some(next) = chars.next_if(|next| next.is_alphanumeric()) {
                word.push(next);
            }
            tokens.push(word);
            words += 1;
            negate = false;
        } else if c == '"' {
            tokens.push('"'.into());
            quoted = !quoted;
            negate = false;
        } else {
            negate = c == '-';
        }
    }
    if quoted {
        tokens.push('"'.into());
    }
    tokens.join(" ")
}

/// Whether [`Stock::search`] answers this shape of query: no words, open statuses only,
/// and nearest first around a point or by date within categories.
pub fn answers(query: &SearchQuery) -> bool {
    let open = opens_only(&query.statuses);
    let shape = matches!(
        (query.order, query.near, &query.categories, query.after),
        (
            SearchOrder::Distance,
            Some(_),
            _,
            None | Some(After::Distance(..))
        ) | (
            SearchOrder::Date,
            None,
            Some(_),
            None | Some(After::Date(..))
        )
    );
    open && shape && query.text.is_none()
}

/// The first probe reaches this far beyond where the page starts; each next one twice as far.
const FIRST_PROBE_KM: f64 = 0.3;

struct Entry<T> {
    kept: Kept,
    cell: Cell,
    payload: T,
}

/// The open stock in memory, each lot with a payload (what a result shows).
pub struct Stock<T> {
    /// The lots, densely: a map's buckets stand half empty, and a payload is large.
    entries: Vec<Entry<T>>,
    /// Where each lot is in `entries`.
    slots: HashMap<Uuid, usize>,
    cells: HashMap<Cell, Vec<Kept>>,
    /// Per category, its lots by (availability date, id).
    dates: HashMap<Uuid, BTreeSet<(DateTime<Utc>, Uuid)>>,
    currencies: Vec<String>,
}

impl<T> Default for Stock<T> {
    fn default() -> Self {
        Stock {
            entries: Vec::new(),
            slots: HashMap::new(),
            cells: HashMap::new(),
            dates: HashMap::new(),
            currencies: Vec::new(),
        }
    }
}

impl<T> std::fmt::Debug for Stock<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Stock")
            .field("lots", &self.entries.len())
            .finish_non_exhaustive()
    }
}

/// A query's filters, made once for all the lots it reads.
struct Filter {
    categories: Option<Vec<Uuid>>,
    announced: bool,
    available: bool,
    available_by: Option<DateTime<Utc>>,
    min_quantity: Option<i64>,
    /// The highest price and the currency's number; `None` for a currency no lot is priced in.
    max_price: Option<(i64, Option<u16>)>,
    condition_min: Option<i16>,
}

impl Filter {
    fn passes(&self, lot: &Kept) -> bool {
        let status = match lot.status {
            ListingStatus::Announced => self.announced,
            ListingStatus::Available => self.available,
            _ => false,
        };
        status
            && self
                .categories
                .as_ref()
                .is_none_or(|ids| ids.binary_search(&lot.category_id).is_ok())
            && self.available_by.is_none_or(|by| lot.available_from <= by)
            && self
                .min_quantity
                .is_none_or(|min| lot.quantity_available >= min)
            && self
                .max_price
                .is_none_or(|(max, currency)| match lot.price {
                    None => true,
                    Some((amount, code)) => currency == Some(code) && amount <= max,
                })
            && self
                .condition_min
                .is_none_or(|min| lot.condition_rank >= min)
    }
}

impl<T> Stock<T> {
    pub fn new() -> Self {
        Self::default()
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// Keeps `lot` (in place of an earlier version of it); only open lots are kept.
    pub fn insert(&mut self, lot: Lot, payload: T) {
        self.remove(lot.id);
        if !lot.status.is_open() {
            return;
        }
        let price = lot.price.map(|(amount, code)| {
            let number = match self.currencies.iter().position(|known| *known == code) {
                Some(number) => number,
                None => {
                    self.currencies.push(code);
                    self.currencies.len() - 1
                }
            };
            (amount, u16::try_from(number).unwrap_or(u16::MAX))
        });
        let kept = Kept {
            id: lot.id,
            category_id: lot.category_id,
            status: lot.status,
            earth: lot.earth,
            available_from: lot.available_from,
            quantity_available: lot.quantity_available,
            price,
            condition_rank: lot.condition_rank,
        };
        let cell = cell_of(lot.lat, lot.lon);
        self.cells.entry(cell).or_default().push(kept);
        self.dates
            .entry(lot.category_id)
            .or_default()
            .insert((lot.available_from, lot.id));
        self.slots.insert(lot.id, self.entries.len());
        self.entries.push(Entry {
            kept,
            cell,
            payload,
        });
    }

    /// Forgets a lot (withdrawn, reserved in full, closed, expired); whether it was kept.
    pub fn remove(&mut self, id: Uuid) -> bool {
        let Some(slot) = self.slots.remove(&id) else {
            return false;
        };
        let entry = self.entries.swap_remove(slot);
        if let Some(moved) = self.entries.get(slot) {
            self.slots.insert(moved.kept.id, slot);
        }
        if let Some(lots) = self.cells.get_mut(&entry.cell) {
            lots.retain(|lot| lot.id != id);
            if lots.is_empty() {
                self.cells.remove(&entry.cell);
            }
        }
        if let Some(dates) = self.dates.get_mut(&entry.kept.category_id) {
            dates.remove(&(entry.kept.available_from, id));
            if dates.is_empty() {
                self.dates.remove(&entry.kept.category_id);
            }
        }
        true
    }

    pub fn get(&self, id: Uuid) -> Option<Found<'_, T>> {
        let entry = self.entry(id)?;
        let kept = &entry.kept;
        Some(Found {
            id: kept.id,
            category_id: kept.category_id,
            status: kept.status,
            available_from: kept.available_from,
            quantity_available: kept.quantity_available,
            price: kept.price.and_then(|(amount, number)| {
                Some((amount, self.currencies.get(usize::from(number))?.as_str()))
            }),
            condition_rank: kept.condition_rank,
            chord: None,
            payload: &entry.payload,
        })
    }

    fn entry(&self, id: Uuid) -> Option<&Entry<T>> {
        self.entries.get(*self.slots.get(&id)?)
    }

    /// The page `query` asks for, at most `query.limit` lots; `None` when this shape is left
    /// to the database.
    pub fn search(&self, query: &SearchQuery) -> Option<Vec<Found<'_, T>>> {
        if !answers(query) {
            return None;
        }
        let limit = usize::try_from(query.limit).ok()?;
        let filter = self.filter(query);
        let found: Vec<(Uuid, Option<f64>)> = match (query.near, query.after) {
            (Some((lat, lon, radius_km)), after) => {
                let after = match after {
                    Some(After::Distance(chord, id)) => Some((chord, id)),
                    _ => None,
                };
                self.nearest(&filter, (lat, lon, radius_km), after, limit)?
                    .into_iter()
                    .map(|(chord, id)| (id, Some(chord)))
                    .collect()
            }
            (None, after) => {
                let after = match after {
                    Some(After::Date(date, id)) => Some((date, id)),
                    _ => None,
                };
                self.by_date(&filter, after, limit)
                    .into_iter()
                    .map(|(_, id)| (id, None))
                    .collect()
            }
        };
        Some(
            found
                .into_iter()
                .filter_map(|(id, chord)| {
                    Some(Found {
                        chord,
                        ..self.get(id)?
                    })
                })
                .collect(),
        )
    }

    fn filter(&self, query: &SearchQuery) -> Filter {
        let categories = query.categories.clone().map(|mut ids| {
            ids.sort_unstable();
            ids
        });
        Filter {
            categories,
            announced: query.statuses.iter().any(|s| s == "announced"),
            available: query.statuses.iter().any(|s| s == "available"),
            available_by: query.available_by,
            min_quantity: query.min_quantity,
            max_price: query.max_price.as_ref().map(|(max, code)| {
                let number = self.currencies.iter().position(|known| known == code);
                (*max, number.and_then(|n| u16::try_from(n).ok()))
            }),
            condition_min: query.condition_min,
        }
    }

    /// Nearest first within the radius, after the cursor: probes of growing reach, each
    /// reading every lot of the cells it touches. Once a probe holds a page of lots within its
    /// reach (or reaches the radius), no lot beyond it can come before them, so the page is
    /// exact.
    fn nearest(
        &self,
        filter: &Filter,
        (lat, lon, radius_km): (f64, f64, f64),
        after: Option<(f64, Uuid)>,
        limit: usize,
    ) -> Option<Vec<(f64, Uuid)>> {
        cells_around(lat, lon, radius_km)?;
        let (x, y, z) = unit_vector(lat, lon);
        let point = [x, y, z];
        let radius = chord_of_km(radius_km);
        let mut km = FIRST_PROBE_KM + after.map_or(0.0, |(chord, _)| km_of_chord(chord));
        loop {
            let whole = km >= radius_km;
            let (km_now, reach) = if whole {
                (radius_km, radius)
            } else {
                (km, chord_of_km(km))
            };
            let mut found = Vec::new();
            self.visit(cells_around(lat, lon, km_now)?, |lot| {
                let distance = chord(&lot.earth, &point);
                let beyond = after.is_none_or(|(chord, id)| {
                    distance > chord || (distance == chord && lot.id > id)
                });
                if distance <= reach && beyond && filter.passes(lot) {
                    found.push((distance, lot.id));
                }
            });
            if found.len() >= limit || whole {
                found.sort_unstable_by(|a, b| a.0.total_cmp(&b.0).then(a.1.cmp(&b.1)));
                found.truncate(limit);
                return Some(found);
            }
            km *= 2.0;
        }
    }

    /// Every kept lot of the cells from `south_west` to `north_east`.
    fn visit(&self, (south_west, north_east): (Cell, Cell), mut seen: impl FnMut(&Kept)) {
        let rows = south_west.0..=north_east.0;
        let columns = south_west.1..=north_east.1;
        let span = (rows.end() - rows.start() + 1) as usize
            * (columns.end() - columns.start() + 1) as usize;
        if span > self.cells.len() {
            for (cell, lots) in &self.cells {
                if rows.contains(&cell.0) && columns.contains(&cell.1) {
                    lots.iter().for_each(&mut seen);
                }
            }
            return;
        }
        for row in rows {
            for column in columns.clone() {
                if let Some(lots) = self.cells.get(&(row, column)) {
                    lots.iter().for_each(&mut seen);
                }
            }
        }
    }

    /// By (date, id) after the cursor within the filter's categories: the first `limit`
    /// passing lots of each category, merged, which is exact.
    fn by_date(
        &self,
        filter: &Filter,
        after: Option<(DateTime<Utc>, Uuid)>,
        limit: usize,
    ) -> Vec<(DateTime<Utc>, Uuid)> {
        let mut found = Vec::new();
        for category in filter.categories.iter().flatten() {
            let Some(dates) = self.dates.get(category) else {
                continue;
            };
            let from = after.map_or(Bound::Unbounded, Bound::Excluded);
            let mut taken = 0;
            for &(date, id) in dates.range((from, Bound::Unbounded)) {
                if taken == limit || filter.available_by.is_some_and(|by| date > by) {
                    break;
                }
                if self
                    .entry(id)
                    .is_some_and(|entry| filter.passes(&entry.kept))
                {
                    found.push((date, id));
                    taken += 1;
                }
            }
        }
        found.sort_unstable();
        found.truncate(limit);
        found
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn search_words_keep_words_phrases_and_one_not() {
        assert_eq!(search_words("eiken  deur"), "eiken deur");
        assert_eq!(search_words("deur -glas"), "deur -glas");
        assert_eq!(search_words("deur ---------glas"), "deur -glas");
        assert_eq!(search_words(&"-".repeat(40)), "");
        assert_eq!(search_words(&"- ".repeat(40)), "");
        assert_eq!(
            search_words("\"eiken deur\" or balk"),
            "\" eiken deur \" or balk"
        );
        assert_eq!(search_words("\"open"), "\" open \"");
        assert_eq!(search_words("deur\0; DROP"), "deur DROP");
        assert_eq!(search_words(&"a ".repeat(40)).split(' ').count(), 32);
    }
    use chrono::Duration;

    struct Rng(u64);

    impl Rng {
        fn below(&mut self, n: u64) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0 % n
        }

        fn unit(&mut self) -> f64 {
            self.below(1_000_000) as f64 / 1_000_000.0
        }
    }

    fn categories() -> Vec<Uuid> {
        (1..=6).map(Uuid::from_u128).collect()
    }

    fn lot(rng: &mut Rng, n: u128, start: DateTime<Utc>) -> Lot {
        let statuses = [
            ListingStatus::Announced,
            ListingStatus::Available,
            ListingStatus::Available,
            ListingStatus::Withdrawn,
        ];
        // Some lots share a place and a date, so that ties are ordered by id.
        let spot = rng.below(400);
        let (lat, lon) = if spot < 40 {
            (52.07 + spot as f64 * 1e-4, 4.30)
        } else {
            (52.0 + rng.unit() * 0.15, 4.2 + rng.unit() * 0.2)
        };
        let (x, y, z) = unit_vector(lat, lon);
        Lot {
            id: Uuid::from_u128(1_000 + n * 7_919 % 100_003),
            category_id: categories()[rng.below(6) as usize],
            status: statuses[rng.below(4) as usize],
            lat,
            lon,
            earth: [x, y, z],
            available_from: start + Duration::days(rng.below(30) as i64),
            quantity_available: rng.below(30) as i64,
            price: match rng.below(3) {
                0 => None,
                1 => Some((rng.below(10_000) as i64, "EUR".to_owned())),
                _ => Some((rng.below(10_000) as i64, "KRL".to_owned())),
            },
            condition_rank: rng.below(5) as i16,
        }
    }

    /// The oracle: every lot read, the filters as the database's statement writes them.
    fn scan(lots: &[Lot], query: &SearchQuery) -> Vec<(Uuid, Option<f64>)> {
        let point = query.near.map(|(lat, lon, _)| {
            let (x, y, z) = unit_vector(lat, lon);
            [x, y, z]
        });
        let mut found: Vec<(&Lot, Option<f64>)> = lots
            .iter()
            .filter(|lot| query.statuses.iter().any(|s| s == lot.status.as_str()))
            .filter(|lot| {
                query
                    .categories
                    .as_ref()
                    .is_none_or(|ids| ids.contains(&lot.category_id))
            })
            .filter(|lot| query.available_by.is_none_or(|by| lot.available_from <= by))
            .filter(|lot| {
                query
                    .min_quantity
                    .is_none_or(|min| lot.quantity_available >= min)
            })
            .filter(|lot| {
                query
                    .max_price
                    .as_ref()
                    .is_none_or(|(max, code)| match &lot.price {
                        None => true,
                        Some((amount, currency)) => currency == code && amount <= max,
                    })
            })
            .filter(|lot| {
                query
                    .condition_min
                    .is_none_or(|min| lot.condition_rank >= min)
            })
            .map(|lot| (lot, point.map(|p| chord(&lot.earth, &p))))
            .filter(|(_, distance)| match (distance, query.near) {
                (Some(d), Some((_, _, km))) => *d <= chord_of_km(km),
                _ => true,
            })
            .filter(|(lot, distance)| match (query.after, distance) {
                (Some(After::Distance(c, id)), Some(d)) => *d > c || (*d == c && lot.id > id),
                (Some(After::Date(t, id)), _) => (lot.available_from, lot.id) > (t, id),
                _ => true,
            })
            .collect();
        match query.order {
            SearchOrder::Distance => found.sort_by(|a, b| {
                a.1.unwrap()
                    .total_cmp(&b.1.unwrap())
                    .then(a.0.id.cmp(&b.0.id))
            }),
            _ => found.sort_by_key(|(lot, _)| (lot.available_from, lot.id)),
        }
        found
            .into_iter()
            .take(query.limit as usize)
            .map(|(lot, distance)| (lot.id, distance))
            .collect()
    }

    fn query(order: SearchOrder) -> SearchQuery {
        SearchQuery {
            categories: None,
            text: None,
            near: None,
            statuses: vec!["announced".into(), "available".into()],
            available_by: None,
            min_quantity: None,
            max_price: None,
            condition_min: None,
            order,
            after: None,
            limit: 21,
        }
    }

    /// The page's ids and chords, after checking that each lot comes back as it was kept.
    fn answer(stock: &Stock<Uuid>, lots: &[Lot], query: &SearchQuery) -> Vec<(Uuid, Option<f64>)> {
        let found = stock.search(query).expect("the stock answers this shape");
        for found in &found {
            let lot = lots.iter().find(|lot| lot.id == found.id).unwrap();
            assert_eq!(*found.payload, lot.id);
            assert_eq!(
                (found.category_id, found.status, found.available_from),
                (lot.category_id, lot.status, lot.available_from)
            );
            assert_eq!(
                (found.quantity_available, found.condition_rank),
                (lot.quantity_available, lot.condition_rank)
            );
            assert_eq!(
                found.price,
                lot.price
                    .as_ref()
                    .map(|(amount, code)| (*amount, code.as_str()))
            );
        }
        found
            .into_iter()
            .map(|found| (found.id, found.chord))
            .collect()
    }

    /// Random queries of both shapes, three pages deep, against the plain scan; some lots
    /// are changed and removed in between.
    #[test]
    fn pages_equal_a_plain_scan() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let start = DateTime::parse_from_rfc3339("2026-12-01T00:00:00Z")
            .unwrap()
            .with_timezone(&Utc);
        let mut lots: Vec<Lot> = (0..3_000).map(|n| lot(&mut rng, n, start)).collect();
        let mut stock = Stock::new();
        for lot in &lots {
            stock.insert(lot.clone(), lot.id);
        }
        for round in 0..300 {
            if round % 50 == 25 {
                for _ in 0..200 {
                    let at = rng.below(lots.len() as u64) as usize;
                    let id = lots[at].id;
                    lots[at] = Lot {
                        id,
                        ..lot(&mut rng, round, start)
                    };
                    stock.insert(lots[at].clone(), id);
                }
                let gone = lots.remove(rng.below(lots.len() as u64) as usize);
                assert_eq!(stock.remove(gone.id), gone.status.is_open());
            }
            let near = round % 3 != 0;
            let mut q = query(if near {
                SearchOrder::Distance
            } else {
                SearchOrder::Date
            });
            let all = categories();
            if !near || rng.below(2) == 0 {
                let from = rng.below(5) as usize;
                q.categories = Some(all[from..from + 1 + rng.below(2) as usize].to_vec());
            }
            if near {
                q.near = Some((
                    52.0 + rng.unit() * 0.15,
                    4.2 + rng.unit() * 0.2,
                    [0.2, 1.0, 3.0, 30.0][rng.below(4) as usize],
                ));
            }
            match rng.below(6) {
                0 => q.statuses = vec!["announced".into()],
                1 => q.available_by = Some(start + Duration::days(10)),
                2 => q.min_quantity = Some(10),
                3 => q.max_price = Some((5_000, "EUR".into())),
                4 => q.condition_min = Some(3),
                _ => q.max_price = Some((5_000, "XXX".into())),
            }
            q.limit = [2, 5, 21][rng.below(3) as usize];
            for page in 0..3 {
                let expected = scan(&lots, &q);
                assert_eq!(
                    answer(&stock, &lots, &q),
                    expected,
                    "round {round}, page {page}: {q:?}"
                );
                let Some(&(id, chord)) = expected.last() else {
                    break;
                };
                q.after = Some(match chord {
                    Some(chord) => After::Distance(chord, id),
                    None => {
                        After::Date(lots.iter().find(|l| l.id == id).unwrap().available_from, id)
                    }
                });
            }
        }
        assert_eq!(
            stock.len(),
            lots.iter().filter(|lot| lot.status.is_open()).count()
        );
    }

    #[test]
    fn other_shapes_are_left_to_the_database() {
        let stock: Stock<()> = Stock::new();
        let mut words = query(SearchOrder::Relevance);
        words.text = Some("deur".into());
        assert!(stock.search(&words).is_none());
        let mut closed = query(SearchOrder::Date);
        closed.categories = Some(categories());
        closed.statuses = vec!["withdrawn".into()];
        assert!(stock.search(&closed).is_none());
        // By date without categories: the database's (date, id) index answers it.
        assert!(stock.search(&query(SearchOrder::Date)).is_none());
        // Across the date line.
        let mut far = query(SearchOrder::Distance);
        far.near = Some((-17.0, 179.99, 5.0));
        assert!(stock.search(&far).is_none());
        far.near = Some((52.0, 4.3, 5.0));
        assert_eq!(stock.search(&far).map(|hits| hits.len()), Some(0));
    }

    /// Every point within the radius lies in the cells around it, also on cell edges.
    #[test]
    fn cells_around_hold_the_whole_circle() {
        for (lat, lon, km) in [
            (52.07, 4.3, 3.0),
            (52.0, 4.2, 0.2),
            (-33.9, 18.4, 50.0),
            (70.0, -20.0, 10.0),
        ] {
            let ((south, west), (north, east)) = cells_around(lat, lon, km).unwrap();
            for (to_lat, to_lon) in circle(lat, lon, km) {
                let (row, column) = cell_of(to_lat, to_lon);
                assert!((south..=north).contains(&row) && (west..=east).contains(&column));
            }
        }
    }
}
