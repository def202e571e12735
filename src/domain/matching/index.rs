//! Candidate indexes, so that a new offer meets only the wishes that can want it, and a new wish
//! only the offers it can want, instead of all of them.
//!
//! [`MatchIndex`] files each wish under (its category, each grid cell its circle's bounding box
//! touches, the key of one of its keywords), with a small screen (its centre, reach, minimum
//! condition and whether it takes announced supply). An offer looks in its category and each
//! ancestor, its own cell, and the keys of its words; the screen drops wishes that are surely
//! out of reach or too demanding, and every wish left is checked exactly with
//! [`super::matches()`]. A wish that [`super::matches()`] accepts is always found: its category is
//! the offer's or an ancestor, the offer's point lies within its radius and so in one of its
//! cells, its keyword's leading characters begin one of the offer's words, and the screen only
//! drops what [`super::matches()`] rejects. So the index gives exactly the plain scan's matches (a
//! property test checks this on random data, cell edges, circle rims, the date line and the
//! pole included).
//!
//! Costs: filing a wish touches each cell of its bounding box, about (2·radius / 10 km + 2)²
//! (under 500 for a valid 100 km radius); removing one also scans those cells' lists; a look-up
//! reads a handful of hash buckets, then the lists found.
//!
//! [`OfferIndex`] is the same the other way: offers by (category, cell); a wish looks in its
//! category's subtree and the cells its circle reaches.

use super::grid::{cell_of, cover, Cell, Cover, MAX_COVER_CELLS};
use super::keywords::{offer_keys, wish_key};
use super::{matches, matches_prepared, CategoryTree, Offer, PreparedOffer, Wish, EARTH_RADIUS_KM};
use crate::domain::geo::Location;
use crate::domain::listing::ListingStatus;
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

fn remove_entry(list: &mut Vec<Entry>, slot: u32) {
    if let Some(at) = list.iter().position(|entry| entry.slot == slot) {
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

/// A wish as filed in a bucket: its slot, and enough to rule out most offers without reading
/// the wish itself.
///
/// The screen only rejects what [`super::matches()`] rejects too. Distance: the chord between two
/// points on the unit sphere is never longer than the arc, so an offer whose chord to the
/// centre exceeds radius / R is out of reach; `reach_sq` adds 1e-5 (about 64 m) and a relative
/// 1e-5 to that, far more than the rounding of the `f32` unit vectors (below 1e-6). Condition and
/// announced supply are compared exactly.
#[derive(Debug, Clone, Copy)]
struct Entry {
    slot: u32,
    centre: [f32; 3],
    reach_sq: f32,
    /// 0 without a minimum, else the minimum's rank.
    condition_min: u8,
    takes_announced: bool,
}

impl Entry {
    fn new(slot: u32, wish: &Wish) -> Entry {
        let reach = wish.radius_km / EARTH_RADIUS_KM * (1.0 + 1e-5) + 1e-5;
        Entry {
            slot,
            centre: unit_vector(wish.near),
            reach_sq: (reach * reach) as f32,
            condition_min: wish.condition_min.map_or(0, |c| c.rank() as u8),
            takes_announced: wish.include_announced,
        }
    }

    fn may_match(&self, probe: &Probe) -> bool {
        let [dx, dy, dz] = [0, 1, 2].map(|i| self.centre[i] - probe.centre[i]);
        dx * dx + dy * dy + dz * dz <= self.reach_sq
            && self.condition_min <= probe.condition
            && (self.takes_announced || !probe.announced)
    }
}

/// What [`Entry::may_match`] needs of an offer.
struct Probe {
    centre: [f32; 3],
    condition: u8,
    announced: bool,
}

impl Probe {
    fn new(offer: &Offer) -> Probe {
        Probe {
            centre: unit_vector(offer.location),
            condition: offer.condition.rank() as u8,
            announced: offer.status == ListingStatus::Announced,
        }
    }
}

/// Hashes keyword keys, which are hashes already, with a per-index random seed: cheaper than
/// the default hasher, and a crafted keyword cannot predict where its key lands.
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
        for &byte in bytes {
            self.write_u64(u64::from(byte));
        }
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

/// The wishes of one (category, cell): those without a keyword key, and the others by key.
#[derive(Debug, Default)]
struct WishBucket {
    unkeyed: Vec<Entry>,
    keyed: HashMap<u64, Vec<Entry>, SeededKeys>,
}

impl WishBucket {
    fn list(&mut self, key: Option<u64>) -> &mut Vec<Entry> {
        match key {
            None => &mut self.unkeyed,
            Some(key) => self.keyed.entry(key).or_default(),
        }
    }

    fn remove(&mut self, key: Option<u64>, slot: u32) {
        match key {
            None => remove_entry(&mut self.unkeyed, slot),
            Some(key) => {
                if let Some(list) = self.keyed.get_mut(&key) {
                    remove_entry(list, slot);
                    if list.is_empty() {
                        self.keyed.remove(&key);
                    }
                }
            }
        }
    }

    fn is_empty(&self) -> bool {
        self.unkeyed.is_empty() && self.keyed.is_empty()
    }

    fn heap_bytes(&self) -> usize {
        vec_bytes(&self.unkeyed)
            + map_bytes(&self.keyed)
            + self.keyed.values().map(vec_bytes).sum::<usize>()
    }
}

/// The active wishes, indexed for matching new and changed offers.
#[derive(Debug, Default)]
pub struct MatchIndex {
    wishes: Slab<Wish>,
    buckets: HashMap<(Uuid, Cell), WishBucket>,
    everywhere: usize,
}

impl MatchIndex {
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds a wish, or replaces the one with the same id (an edit): returns the replaced one.
    pub fn insert(&mut self, wish: Wish) -> Option<Wish> {
        let replaced = self.remove(wish.id);
        let key = wish_key(&wish.keywords);
        let category = wish.category_id;
        let placement = placement(&wish);
        let mut entry = Entry::new(0, &wish);
        entry.slot = self.wishes.put(wish.id, wish);
        match placement {
            Placement::Nowhere => {}
            Placement::Everywhere => {
                self.everywhere += 1;
                self.buckets
                    .entry((category, Cell::EVERYWHERE))
                    .or_default()
                    .list(key)
                    .push(entry);
            }
            Placement::Cells(cover) => {
                for cell in cover.cells() {
                    self.buckets
                        .entry((category, cell))
                        .or_default()
                        .list(key)
                        .push(entry);
                }
            }
        }
        replaced
    }

    /// Takes a wish out (deleted, fulfilled, expired); returns it if it was there.
    pub fn remove(&mut self, id: Uuid) -> Option<Wish> {
        let (slot, wish) = self.wishes.take(id)?;
        let key = wish_key(&wish.keywords);
        let mut unfile = |cell: Cell| {
            if let Some(bucket) = self.buckets.get_mut(&(wish.category_id, cell)) {
                bucket.remove(key, slot);
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

    fn candidate_lists(&self, offer: &Offer, tree: &CategoryTree) -> Vec<&[Entry]> {
        let mut lists = Vec::new();
        let Some(cell) = cell_of(offer.location) else {
            return lists;
        };
        let cells = [
            Some(cell),
            (self.everywhere > 0).then_some(Cell::EVERYWHERE),
        ];
        let mut keys = None;
        for category in tree.ancestors_and_self(offer.category_id) {
            for &cell in cells.iter().flatten() {
                let Some(bucket) = self.buckets.get(&(category, cell)) else {
                    continue;
                };
                if !bucket.unkeyed.is_empty() {
                    lists.push(&bucket.unkeyed[..]);
                }
                if !bucket.keyed.is_empty() {
                    let keys = keys.get_or_insert_with(|| offer_keys(&offer.words));
                    for key in keys.iter() {
                        if let Some(list) = bucket.keyed.get(key) {
                            lists.push(&list[..]);
                        }
                    }
                }
            }
        }
        lists
    }

    /// The wishes `offer` may match, each once: a superset of its matches, far smaller than
    /// all wishes when categories and places spread. These are what [`Self::matching`] checks
    /// with [`super::matches()`].
    pub fn candidates<'a>(
        &'a self,
        offer: &Offer,
        tree: &CategoryTree,
    ) -> impl Iterator<Item = &'a Wish> + 'a {
        let probe = Probe::new(offer);
        self.candidate_lists(offer, tree)
            .into_iter()
            .flatten()
            .filter(move |entry| entry.may_match(&probe))
            .filter_map(|entry| self.wishes.get(entry.slot))
    }

    /// How many filed entries a look-up for `offer` reads, before the screen by distance,
    /// condition and announced supply leaves the [`Self::candidates`].
    pub fn entries_read(&self, offer: &Offer, tree: &CategoryTree) -> usize {
        self.candidate_lists(offer, tree)
            .iter()
            .map(|list| list.len())
            .sum()
    }

    /// The ids of the wishes `offer` matches at `now`, exactly those [`super::scan_wishes`]
    /// finds, in no particular order.
    pub fn matching(&self, offer: &Offer, tree: &CategoryTree, now: DateTime<Utc>) -> Vec<Uuid> {
        let prepared = PreparedOffer::new(offer, tree);
        self.candidates(offer, tree)
            .filter(|wish| matches_prepared(wish, &prepared, now))
            .map(|wish| wish.id)
            .collect()
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
