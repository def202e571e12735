//! Candidate indexes, so that a new offer meets only the wishes that can want it, and a new wish
//! only the offers it can want, instead of all of them.
//!
//! [`MatchIndex`] files each wish under (its category, each grid cell its circle's bounding box
//! touches), with its criteria as plain numbers: its centre as a unit vector with two chord
//! bounds, a 64-bit mask of its keywords' keys, its dates, minimum condition, unit, dimension
//! bounds and highest price limit. An offer looks in its category and each ancestor, in its
//! own cell. A first pass over 24 bytes a wish drops those surely out of reach or needing a
//! keyword key the offer lacks; the numbers then settle the rest: a wish is rejected when a
//! criterion of [`super::matches()`] surely fails, accepted when every one surely holds, and
//! otherwise (keywords, a price limit in a currency, a point within about 64 m of the rim)
//! read and checked with [`super::matches()`] itself.
//!
//! A wish that [`super::matches()`] accepts is always found: its category is the offer's or an
//! ancestor, the offer's point lies within its radius and so in one of its cells, each of its
//! keywords' keys is among the offer's, and the numbers only settle what
//! [`super::matches()`] would. So the index gives exactly the plain scan's matches (a property
//! test checks this on random data, cell edges, circle rims, the date line and the pole
//! included).
//!
//! Costs: filing a wish touches each cell of its bounding box, about (2·radius / 10 km + 1)²
//! (some 11 for radii of 1 to 20 km, under 500 for a valid 100 km radius), 96 bytes each;
//! removing one also scans those cells' lists; a look-up reads a hash bucket per ancestor, then
//! the lists found.
//!
//! [`OfferIndex`] is the same the other way, without the numbers: offers by (category, cell);
//! a wish looks in its category's subtree and the cells its circle reaches.

use super::grid::{cell_of, cover, Cell, Cover, MAX_COVER_CELLS};
use super::keywords::{offer_mask, wish_mask};
use super::{
    matches, matches_prepared, unit_grams, CategoryTree, Offer, PreparedOffer, Wish,
    EARTH_RADIUS_KM,
};
use crate::domain::geo::Location;
use crate::domain::listing::ListingStatus;
use crate::domain::quantity::Unit;
use chrono::{DateTime, Utc};
use std::collections::hash_map::RandomState;
use std::collections::HashMap;
use std::hash::{BuildHasher, Hasher};
use std::mem::size_of;
use uuid::Uuid;

/// Items in numbered slots that buckets refer to, with their ids.
#[derive(Debug)]
struct Slab<T> {
    items: Vec<Option<T>>,
    free: Vec<u32>,
    slot_of: HashMap<Uuid, u32>,
}

impl<T> Default for Slab<T> {
    fn default() -> Self {
        Slab {
            items: Vec::new(),
            free: Vec::new(),
            slot_of: HashMap::new(),
        }
    }
}

impl<T> Slab<T> {
    fn put(&mut self, id: Uuid, item: T) -> u32 {
        let slot = match self.free.pop() {
            Some(slot) => {
                self.items[slot as usize] = Some(item);
                slot
            }
            None => {
                self.items.push(Some(item));
                (self.items.len() - 1) as u32
            }
        };
        self.slot_of.insert(id, slot);
        slot
    }

    fn take(&mut self, id: Uuid) -> Option<(u32, T)> {
        let slot = self.slot_of.remove(&id)?;
        let item = self.items[slot as usize].take()?;
        self.free.push(slot);
        Some((slot, item))
    }

    fn get(&self, slot: u32) -> Option<&T> {
        self.items.get(slot as usize)?.as_ref()
    }

    fn by_id(&self, id: Uuid) -> Option<&T> {
        self.get(*self.slot_of.get(&id)?)
    }

    fn len(&self) -> usize {
        self.slot_of.len()
    }

    fn iter(&self) -> impl Iterator<Item = &T> {
        self.items.iter().flatten()
    }

    fn heap_bytes(&self) -> usize {
        self.items.capacity() * size_of::<Option<T>>()
            + self.free.capacity() * size_of::<u32>()
            + map_bytes(&self.slot_of)
    }
}

/// The table of a `HashMap`: its buckets (about 8/7 of the capacity) and a control byte each.
fn map_bytes<K, V, S>(map: &HashMap<K, V, S>) -> usize {
    map.capacity() * 8 / 7 * (size_of::<(K, V)>() + 1)
}

fn vec_bytes<T>(vec: &Vec<T>) -> usize {
    vec.capacity() * size_of::<T>()
}

fn remove_slot(list: &mut Vec<u32>, slot: u32) {
    if let Some(at) = list.iter().position(|&s| s == slot) {
        list.swap_remove(at);
    }
}

/// A point as a unit vector, for chord distances.
fn unit_vector(location: Location) -> [f32; 3] {
    let (lat, lon) = (location.lat.to_radians(), location.lon.to_radians());
    [
        (lat.cos() * lon.cos()) as f32,
        (lat.cos() * lon.sin()) as f32,
        lat.sin() as f32,
    ]
}

fn chord_sq(a: &[f32; 3], b: &[f32; 3]) -> f32 {
    let [dx, dy, dz] = [a[0] - b[0], a[1] - b[1], a[2] - b[2]];
    dx * dx + dy * dy + dz * dz
}

/// Relative and absolute slack (radians; 1e-5 is about 64 m) between a wish's radius and the
/// chords that decide by themselves: far more than the rounding of the `f32` unit vectors and
/// their differences (below 1e-6), far less than what separates most offers from a rim.
const CHORD_SLACK: f64 = 1e-5;

/// The squared chords on the unit sphere that settle the distance test of a wish with
/// `radius_km` alone: beyond `outer` an offer is surely out of reach, within `inner` surely in
/// reach; between the two the haversine distance decides.
///
/// Outer: the chord between two points is never longer than their arc, so a chord longer than
/// the radius's angle plus slack means an arc, and a haversine distance, beyond the radius.
/// Inner: a chord of 2·sin(θ/2) belongs to an arc of θ; with θ the radius's angle less slack,
/// a shorter chord means an arc, and a haversine distance, surely within the radius. Past an
/// angle of one radian the chord grows too slowly to be trusted and nothing is settled inside.
fn chord_bounds(radius_km: f64) -> (f32, f32) {
    let angle = radius_km / EARTH_RADIUS_KM;
    let outer = angle * (1.0 + CHORD_SLACK) + CHORD_SLACK;
    let inner_angle = angle * (1.0 - CHORD_SLACK) - CHORD_SLACK;
    let inner_sq = if inner_angle > 0.0 && angle <= 1.0 {
        let chord = 2.0 * (inner_angle / 2.0).sin();
        // Rounding to f32 moves it by a relative 6e-8, well inside the slack.
        (chord * chord) as f32
    } else {
        -1.0
    };
    ((outer * outer) as f32, inner_sq)
}

/// What a bucket's first pass reads of each wish: where it reaches and which keyword bits it
/// needs. Kept apart from [`Terms`] so that the pass streams through 24 bytes a wish.
#[derive(Debug, Clone, Copy)]
struct Near {
    centre: [f32; 3],
    outer_sq: f32,
    /// [`wish_mask`] of its keywords.
    keys: u64,
}

const TAKES_ANNOUNCED: u8 = 1;
/// The wish counts by mass (kg, t): the offer must be weighable rather than in the same unit.
const BY_MASS: u8 = 1 << 1;
const HAS_KEYWORDS: u8 = 1 << 2;
const HAS_PRICE_LIMITS: u8 = 1 << 3;
/// Then one bit per bounded dimension: length, width, height.
const BOUNDED: u8 = 1 << 4;

/// The rest of a wish's criteria as plain numbers, read for the wishes the first pass keeps.
/// Everything but its keywords and its price limits in a currency is here exactly, so
/// [`Terms::verdict`] settles most wishes without reading the wish itself.
#[derive(Debug, Clone, Copy)]
struct Terms {
    id: Uuid,
    /// [`DateTime::MAX_UTC`] without a date, which compares as "any time".
    needed_by: DateTime<Utc>,
    /// Min and max per dimension (length, width, height); open sides at `i32::MIN`/`MAX`.
    dims: [i32; 6],
    /// The highest of its price limits: a price in the wish's own unit above it fits none.
    max_limit: i64,
    inner_sq: f32,
    slot: u32,
    /// 0 without a minimum, else the minimum's rank.
    condition_min: u8,
    unit: Unit,
    flags: u8,
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Verdict {
    No,
    Yes,
    /// Keywords, a price limit or a point near the rim: [`super::matches()`] decides.
    Unsure,
}

impl Terms {
    fn new(slot: u32, wish: &Wish) -> Terms {
        let ranges = [
            wish.attributes.length_mm,
            wish.attributes.width_mm,
            wish.attributes.height_mm,
        ];
        let mut dims = [0; 6];
        let mut flags = 0;
        for (i, range) in ranges.iter().enumerate() {
            dims[2 * i] = range.min.unwrap_or(i32::MIN);
            dims[2 * i + 1] = range.max.unwrap_or(i32::MAX);
            if range.is_bounded() {
                flags |= BOUNDED << i;
            }
        }
        for (set, flag) in [
            (wish.include_announced, TAKES_ANNOUNCED),
            (unit_grams(wish.quantity.unit).is_some(), BY_MASS),
            (!wish.keywords.is_empty(), HAS_KEYWORDS),
            (!wish.max_price.is_empty(), HAS_PRICE_LIMITS),
        ] {
            if set {
                flags |= flag;
            }
        }
        Terms {
            id: wish.id,
            needed_by: wish.needed_by.unwrap_or(DateTime::<Utc>::MAX_UTC),
            dims,
            max_limit: wish
                .max_price
                .iter()
                .map(|limit| limit.amount)
                .max()
                .unwrap_or(i64::MAX),
            inner_sq: chord_bounds(wish.radius_km).1,
            slot,
            condition_min: wish.condition_min.map_or(0, |c| c.rank() as u8),
            unit: wish.quantity.unit,
            flags,
        }
    }

    /// What [`super::matches()`] would say, when these numbers suffice; `chord_sq` is the
    /// offer's squared chord to the wish's centre. Each test mirrors one of its criteria.
    fn verdict(&self, probe: &Probe, chord_sq: f32) -> Verdict {
        let flags = self.flags;
        let timing = self.needed_by >= probe.now
            && (!probe.announced
                || (flags & TAKES_ANNOUNCED != 0 && probe.available_from <= self.needed_by));
        let measure = if flags & BY_MASS != 0 {
            probe.weighable
        } else {
            self.unit == probe.unit
        };
        if !(timing && self.condition_min <= probe.condition && measure) {
            return Verdict::No;
        }
        for i in 0..3 {
            if flags & (BOUNDED << i) != 0 {
                let admitted = probe.dims[i]
                    .is_some_and(|v| self.dims[2 * i] <= v && v <= self.dims[2 * i + 1]);
                if !admitted {
                    return Verdict::No;
                }
            }
        }
        let price_settled = match probe.price {
            Some(amount) if flags & HAS_PRICE_LIMITS != 0 => {
                if self.unit == probe.unit && amount > self.max_limit {
                    return Verdict::No;
                }
                false
            }
            _ => true,
        };
        if flags & HAS_KEYWORDS != 0 || !price_settled || chord_sq > self.inner_sq {
            Verdict::Unsure
        } else {
            Verdict::Yes
        }
    }
}

/// What the screen needs of an offer, worked out once per look-up.
struct Probe {
    centre: [f32; 3],
    keys: u64,
    condition: u8,
    announced: bool,
    available_from: DateTime<Utc>,
    /// [`DateTime::MIN_UTC`] for [`MatchIndex::candidates`], which holds at any moment.
    now: DateTime<Utc>,
    unit: Unit,
    weighable: bool,
    dims: [Option<i32>; 3],
    /// The price per unit when above zero; free offers fit any limits.
    price: Option<i64>,
}

impl Probe {
    /// `None` when the offer matches no wish at all: nothing left, or neither available nor
    /// announced.
    fn new(offer: &Offer, now: DateTime<Utc>) -> Option<Probe> {
        let announced = match offer.status {
            ListingStatus::Available => false,
            ListingStatus::Announced => true,
            _ => return None,
        };
        if offer.quantity_available <= 0 {
            return None;
        }
        Some(Probe {
            centre: unit_vector(offer.location),
            keys: offer_mask(&offer.words),
            condition: offer.condition.rank() as u8,
            announced,
            available_from: offer.available_from,
            now,
            unit: offer.unit,
            weighable: offer.unit_grams().is_some(),
            dims: [
                offer.dimensions.length_mm,
                offer.dimensions.width_mm,
                offer.dimensions.height_mm,
            ],
            price: offer
                .price
                .as_ref()
                .map(|price| price.amount)
                .filter(|&amount| amount > 0),
        })
    }
}

/// Hashes index keys with a per-index random seed: cheaper than the default hasher, and a
/// crafted key cannot predict where it lands.
#[derive(Debug, Clone)]
struct SeededKeys(u64);

impl Default for SeededKeys {
    fn default() -> Self {
        SeededKeys(RandomState::new().build_hasher().finish())
    }
}

impl BuildHasher for SeededKeys {
    type Hasher = KeyHasher;

    fn build_hasher(&self) -> KeyHasher {
        KeyHasher(self.0)
    }
}

struct KeyHasher(u64);

impl Hasher for KeyHasher {
    fn write(&mut self, bytes: &[u8]) {
        let mut chunks = bytes.chunks_exact(8);
        for chunk in &mut chunks {
            let mut word = [0; 8];
            word.copy_from_slice(chunk);
            self.write_u64(u64::from_le_bytes(word));
        }
        let rest = chunks.remainder();
        if !rest.is_empty() {
            let mut word = [0; 8];
            word[..rest.len()].copy_from_slice(rest);
            self.write_u64(u64::from_le_bytes(word));
        }
    }

    fn write_u32(&mut self, n: u32) {
        self.write_u64(u64::from(n));
    }

    fn write_usize(&mut self, n: usize) {
        self.write_u64(n as u64);
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = (self.0 ^ n)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .rotate_left(29);
    }

    fn finish(&self) -> u64 {
        let x = self.0;
        (x ^ (x >> 32)).wrapping_mul(0xd6e8_feb8_6659_fd93)
    }
}

/// Where a wish is filed.
enum Placement {
    /// Its centre or radius is not valid: it matches nothing and is filed nowhere.
    Nowhere,
    Cells(Cover),
    /// Its circle reaches more than [`MAX_COVER_CELLS`] cells: filed under one key that every
    /// offer of its subtree looks in.
    Everywhere,
}

fn placement(wish: &Wish) -> Placement {
    match cover(wish.near, wish.radius_km) {
        Cover::Nowhere => Placement::Nowhere,
        cells if cells.count() > MAX_COVER_CELLS => Placement::Everywhere,
        cells => Placement::Cells(cells),
    }
}

/// The wishes of one (category, cell), as two parallel lists.
#[derive(Debug, Default)]
struct WishBucket {
    near: Vec<Near>,
    terms: Vec<Terms>,
}

impl WishBucket {
    fn push(&mut self, near: Near, terms: Terms) {
        self.near.push(near);
        self.terms.push(terms);
    }

    fn remove(&mut self, slot: u32) {
        if let Some(at) = self.terms.iter().position(|terms| terms.slot == slot) {
            self.near.swap_remove(at);
            self.terms.swap_remove(at);
        }
    }

    fn is_empty(&self) -> bool {
        self.terms.is_empty()
    }

    /// Every wish here that the screen keeps, with its verdict. The distance and keyword
    /// tests come first: they drop most wishes and read only [`Near`].
    fn screen(&self, probe: &Probe, found: &mut impl FnMut(&Terms, Verdict)) {
        for (near, terms) in self.near.iter().zip(&self.terms) {
            let chord_sq = chord_sq(&near.centre, &probe.centre);
            if chord_sq <= near.outer_sq && near.keys & !probe.keys == 0 {
                let verdict = terms.verdict(probe, chord_sq);
                if verdict != Verdict::No {
                    found(terms, verdict);
                }
            }
        }
    }

    fn heap_bytes(&self) -> usize {
        vec_bytes(&self.near) + vec_bytes(&self.terms)
    }
}

/// The active wishes, indexed for matching new and changed offers.
#[derive(Debug, Default)]
pub struct MatchIndex {
    wishes: Slab<Wish>,
    buckets: HashMap<(Uuid, Cell), WishBucket, SeededKeys>,
    everywhere: usize,
}

impl MatchIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a wish, or replaces the one with the same id (an edit): returns the replaced one.
    pub fn insert(&mut self, wish: Wish) -> Option<Wish> {
        let replaced = self.remove(wish.id);
        let category = wish.category_id;
        let placement = placement(&wish);
        let near = Near {
            centre: unit_vector(wish.near),
            outer_sq: chord_bounds(wish.radius_km).0,
            keys: wish_mask(&wish.keywords),
        };
        let mut terms = Terms::new(0, &wish);
        terms.slot = self.wishes.put(wish.id, wish);
        let mut file = |cell: Cell| {
            self.buckets
                .entry((category, cell))
                .or_default()
                .push(near, terms);
        };
        match placement {
            Placement::Nowhere => {}
            Placement::Everywhere => {
                file(Cell::EVERYWHERE);
                self.everywhere += 1;
            }
            Placement::Cells(cover) => cover.cells().for_each(file),
        }
        replaced
    }

    /// Takes a wish out (deleted, fulfilled, expired); returns it if it was there.
    pub fn remove(&mut self, id: Uuid) -> Option<Wish> {
        let (slot, wish) = self.wishes.take(id)?;
        let mut unfile = |cell: Cell| {
            if let Some(bucket) = self.buckets.get_mut(&(wish.category_id, cell)) {
                bucket.remove(slot);
                if bucket.is_empty() {
                    self.buckets.remove(&(wish.category_id, cell));
                }
            }
        };
        match placement(&wish) {
            Placement::Nowhere => {}
            Placement::Everywhere => {
                unfile(Cell::EVERYWHERE);
                self.everywhere -= 1;
            }
            Placement::Cells(cover) => cover.cells().for_each(unfile),
        }
        Some(wish)
    }

    pub fn get(&self, id: Uuid) -> Option<&Wish> {
        self.wishes.by_id(id)
    }

    pub fn len(&self) -> usize {
        self.wishes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &Wish> {
        self.wishes.iter()
    }

    /// Calls `visit` with each bucket `offer` looks in: its category and each ancestor, in its
    /// own cell and, if any wish is filed there, "everywhere".
    fn for_each_bucket<'a>(
        &'a self,
        offer: &Offer,
        tree: &CategoryTree,
        mut visit: impl FnMut(&'a WishBucket),
    ) {
        let Some(cell) = cell_of(offer.location) else {
            return;
        };
        let cells = [
            Some(cell),
            (self.everywhere > 0).then_some(Cell::EVERYWHERE),
        ];
        for category in tree.ancestors_and_self(offer.category_id) {
            for &cell in cells.iter().flatten() {
                if let Some(bucket) = self.buckets.get(&(category, cell)) {
                    visit(bucket);
                }
            }
        }
    }

    /// Runs the screen for `offer` at `now` over every bucket it looks in.
    fn screen(
        &self,
        offer: &Offer,
        tree: &CategoryTree,
        now: DateTime<Utc>,
        mut found: impl FnMut(&Terms, Verdict),
    ) {
        let Some(probe) = Probe::new(offer, now) else {
            return;
        };
        self.for_each_bucket(offer, tree, |bucket| bucket.screen(&probe, &mut found));
    }

    /// The wishes `offer` may match, each once: a superset of its matches, far smaller than
    /// all wishes when categories and places spread. These are the wishes [`Self::matching`]
    /// accepts from their filed numbers or checks with [`super::matches()`]; the test of a
    /// wish's date against the present is left out, so they hold at any moment.
    pub fn candidates<'a>(
        &'a self,
        offer: &Offer,
        tree: &CategoryTree,
    ) -> impl Iterator<Item = &'a Wish> + 'a {
        let mut slots = Vec::new();
        self.screen(offer, tree, DateTime::<Utc>::MIN_UTC, |terms, _| {
            slots.push(terms.slot)
        });
        slots.into_iter().filter_map(|slot| self.wishes.get(slot))
    }

    /// How many filed entries a look-up for `offer` reads, before the screen leaves the
    /// [`Self::candidates`].
    pub fn entries_read(&self, offer: &Offer, tree: &CategoryTree) -> usize {
        let mut read = 0;
        self.for_each_bucket(offer, tree, |bucket| read += bucket.near.len());
        read
    }

    /// How many of the wishes that [`Self::matching`] finds for `offer` at `now` it has to
    /// read and check with [`super::matches()`]; it settles the others from their filed numbers.
    pub fn checked_in_full(&self, offer: &Offer, tree: &CategoryTree, now: DateTime<Utc>) -> usize {
        let mut checked = 0;
        self.screen(offer, tree, now, |_, verdict| {
            checked += usize::from(verdict == Verdict::Unsure)
        });
        checked
    }

    /// The ids of the wishes `offer` matches at `now`, exactly those [`super::scan_wishes`]
    /// finds, in no particular order.
    pub fn matching(&self, offer: &Offer, tree: &CategoryTree, now: DateTime<Utc>) -> Vec<Uuid> {
        let mut found = Vec::new();
        let mut unsure = Vec::new();
        self.screen(offer, tree, now, |terms, verdict| match verdict {
            Verdict::Yes => found.push(terms.id),
            Verdict::Unsure => unsure.push(terms.slot),
            Verdict::No => {}
        });
        if !unsure.is_empty() {
            let prepared = PreparedOffer::new(offer, tree);
            found.extend(
                unsure
                    .into_iter()
                    .filter_map(|slot| self.wishes.get(slot))
                    .filter(|wish| matches_prepared(wish, &prepared, now))
                    .map(|wish| wish.id),
            );
        }
        found
    }

    #[cfg(test)]
    pub(crate) fn buckets_are_empty(&self) -> bool {
        self.buckets.is_empty() && self.everywhere == 0
    }

    /// Roughly what the index holds on the heap, wishes included.
    pub fn approx_heap_bytes(&self) -> usize {
        let wishes: usize = self
            .wishes
            .iter()
            .map(|wish| {
                vec_bytes(&wish.keywords)
                    + wish.keywords.iter().map(String::capacity).sum::<usize>()
                    + vec_bytes(&wish.max_price)
                    + wish
                        .max_price
                        .iter()
                        .map(|limit| limit.currency.capacity())
                        .sum::<usize>()
            })
            .sum();
        self.wishes.heap_bytes()
            + wishes
            + map_bytes(&self.buckets)
            + self
                .buckets
                .values()
                .map(WishBucket::heap_bytes)
                .sum::<usize>()
    }
}

/// The current and announced offers, indexed for matching new and changed wishes.
#[derive(Debug, Default)]
pub struct OfferIndex {
    offers: Slab<Offer>,
    by_category: HashMap<Uuid, HashMap<Cell, Vec<u32>>>,
}

impl OfferIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds an offer, or replaces the one with the same id: returns the replaced one.
    pub fn insert(&mut self, offer: Offer) -> Option<Offer> {
        let replaced = self.remove(offer.id);
        let category = offer.category_id;
        let cell = cell_of(offer.location);
        let slot = self.offers.put(offer.id, offer);
        if let Some(cell) = cell {
            self.by_category
                .entry(category)
                .or_default()
                .entry(cell)
                .or_default()
                .push(slot);
        }
        replaced
    }

    /// Takes an offer out (withdrawn, reserved, expired); returns it if it was there.
    pub fn remove(&mut self, id: Uuid) -> Option<Offer> {
        let (slot, offer) = self.offers.take(id)?;
        let cell = cell_of(offer.location);
        if let (Some(cell), Some(cells)) = (cell, self.by_category.get_mut(&offer.category_id)) {
            if let Some(list) = cells.get_mut(&cell) {
                remove_slot(list, slot);
                if list.is_empty() {
                    cells.remove(&cell);
                }
            }
            if cells.is_empty() {
                self.by_category.remove(&offer.category_id);
            }
        }
        Some(offer)
    }

    pub fn get(&self, id: Uuid) -> Option<&Offer> {
        self.offers.by_id(id)
    }

    pub fn len(&self) -> usize {
        self.offers.len()
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn iter(&self) -> impl Iterator<Item = &Offer> {
        self.offers.iter()
    }

    fn candidate_lists(&self, wish: &Wish, tree: &CategoryTree) -> Vec<&[u32]> {
        let mut lists = Vec::new();
        let cover = cover(wish.near, wish.radius_km);
        if cover == Cover::Nowhere {
            return lists;
        }
        let reach = cover.count();
        for category in tree.descendants_and_self(wish.category_id) {
            let Some(cells) = self.by_category.get(&category) else {
                continue;
            };
            if reach >= cells.len() {
                lists.extend(cells.values().map(|list| &list[..]));
            } else {
                lists.extend(
                    cover
                        .cells()
                        .filter_map(|cell| cells.get(&cell))
                        .map(|list| &list[..]),
                );
            }
        }
        lists
    }

    /// The offers `wish` may match, each once: a superset of its matches.
    pub fn candidates<'a>(
        &'a self,
        wish: &Wish,
        tree: &CategoryTree,
    ) -> impl Iterator<Item = &'a Offer> + 'a {
        self.candidate_lists(wish, tree)
            .into_iter()
            .flatten()
            .filter_map(|&slot| self.offers.get(slot))
    }

    /// The ids of the offers `wish` matches at `now`, exactly those [`super::scan_offers`]
    /// finds, in no particular order.
    pub fn matching(&self, wish: &Wish, tree: &CategoryTree, now: DateTime<Utc>) -> Vec<Uuid> {
        self.candidates(wish, tree)
            .filter(|offer| matches(wish, offer, tree, now))
            .map(|offer| offer.id)
            .collect()
    }

    /// Roughly what the index holds on the heap, offers included.
    pub fn approx_heap_bytes(&self) -> usize {
        let offers: usize = self
            .offers
            .iter()
            .map(|offer| {
                offer.words.capacity()
                    + offer
                        .price
                        .as_ref()
                        .map_or(0, |price| price.currency.capacity())
            })
            .sum();
        self.offers.heap_bytes()
            + offers
            + map_bytes(&self.by_category)
            + self
                .by_category
                .values()
                .map(|cells| map_bytes(cells) + cells.values().map(vec_bytes).sum::<usize>())
                .sum::<usize>()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::matching::distance_km;

    /// A point `km` from `from` on a bearing (radians).
    fn destination(from: Location, bearing: f64, km: f64) -> Location {
        let (lat, lon) = (from.lat.to_radians(), from.lon.to_radians());
        let angle = km / EARTH_RADIUS_KM;
        let lat2 = (lat.sin() * angle.cos() + lat.cos() * angle.sin() * bearing.cos()).asin();
        let lon2 = lon
            + (bearing.sin() * angle.sin() * lat.cos()).atan2(angle.cos() - lat.sin() * lat2.sin());
        Location {
            lat: lat2.to_degrees(),
            lon: (lon2.to_degrees() + 540.0).rem_euclid(360.0) - 180.0,
        }
    }

    #[test]
    fn chord_bounds_only_settle_what_the_haversine_distance_says() {
        let mut settled = 0;
        for centre in [
            Location {
                lat: 52.07,
                lon: 4.30,
            },
            Location {
                lat: 0.0,
                lon: 179.99,
            },
            Location {
                lat: 89.9,
                lon: 0.0,
            },
            Location {
                lat: -33.9,
                lon: 18.4,
            },
        ] {
            let c = unit_vector(centre);
            for radius in [
                0.0, 0.001, 0.05, 1.0, 7.5, 20.0, 100.0, 2000.0, 6000.0, 19_000.0,
            ] {
                let (outer_sq, inner_sq) = chord_bounds(radius);
                for step in 0..36 {
                    let bearing = f64::from(step).to_radians() * 10.0;
                    for factor in [0.0, 0.5, 0.99, 0.9999, 1.0, 1.0001, 1.01, 2.0] {
                        let point = destination(centre, bearing, radius * factor);
                        let chord = chord_sq(&c, &unit_vector(point));
                        let within = distance_km(centre, point) <= radius;
                        if chord > outer_sq {
                            assert!(
                                !within,
                                "{radius} km × {factor}: out by chord, in by haversine"
                            );
                        }
                        if chord <= inner_sq {
                            assert!(
                                within,
                                "{radius} km × {factor}: in by chord, out by haversine"
                            );
                            settled += 1;
                        }
                    }
                }
            }
        }
        assert!(
            settled > 1000,
            "the inner bound settles most points well inside: {settled}"
        );
    }
}
