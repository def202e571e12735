//! The matcher's pure core: when a wish and an offer match and how well, the indexes that find
//! candidates without scanning everything, and bundles of offers that together cover a wish.

mod bundle;
mod grid;
mod index;
mod keywords;
mod score;
pub mod status;
mod tree;

pub use bundle::{bundle, Bundle, BundlePart, MAX_BUNDLE_DONORS};
pub use grid::{distance_km, is_valid as is_valid_location, EARTH_RADIUS_KM};
pub use index::{MatchIndex, OfferIndex};
pub use score::{score, PriceFit, Reason, Scored, Timing, VAN_KG_CO2E_PER_TONNE_KM, WEIGHTS};
pub use tree::CategoryTree;

use super::geo::Location;
use super::listing::ListingStatus;
use super::passport::{Condition, Dimensions};
use super::quantity::{Quantity, Unit};
use super::validation::{bounded_text, FieldErrors};
use chrono::{DateTime, Utc};
use status::RetractionCause;
use std::collections::HashSet;
use uuid::Uuid;

pub const MAX_KEYWORDS: usize = 10;
pub const MAX_KEYWORD_CHARS: usize = 50;
pub const MAX_RADIUS_KM: f64 = 100.0;
pub const MAX_DIMENSION_MM: i32 = 100_000;
pub const MAX_PRICE_LIMITS: usize = 10;

/// Bounds in millimetres on one dimension; either side may be open.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MmRange {
    pub min: Option<i32>,
    pub max: Option<i32>,
}

impl MmRange {
    pub fn is_bounded(self) -> bool {
        self.min.is_some() || self.max.is_some()
    }

    /// Whether `value` lies within the bounds. Without bounds anything does, a missing value
    /// included; with a bound, a missing value does not.
    pub fn admits(self, value: Option<i32>) -> bool {
        if !self.is_bounded() {
            return true;
        }
        value.is_some_and(|v| {
            self.min.is_none_or(|min| v >= min) && self.max.is_none_or(|max| v <= max)
        })
    }
}

/// A wish's bounds on the passport's dimensions.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct AttributeBounds {
    pub length_mm: MmRange,
    pub width_mm: MmRange,
    pub height_mm: MmRange,
}

impl AttributeBounds {
    fn pairs(&self, dimensions: &Dimensions) -> [(&'static str, MmRange, Option<i32>); 3] {
        [
            ("length_mm", self.length_mm, dimensions.length_mm),
            ("width_mm", self.width_mm, dimensions.width_mm),
            ("height_mm", self.height_mm, dimensions.height_mm),
        ]
    }

    /// Whether every bounded dimension is known and within its bounds.
    pub fn admits(&self, dimensions: &Dimensions) -> bool {
        self.pairs(dimensions)
            .iter()
            .all(|&(_, range, value)| range.admits(value))
    }

    /// How many dimensions are bounded, and how many of those `dimensions` meets.
    pub fn fit(&self, dimensions: &Dimensions) -> (u32, u32) {
        self.pairs(dimensions)
            .iter()
            .filter(|(_, range, _)| range.is_bounded())
            .fold((0, 0), |(bounded, met), &(_, range, value)| {
                (bounded + 1, met + u32::from(range.admits(value)))
            })
    }
}

/// An amount in minor units (cents) of a currency, per unit of the quantity it goes with.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnitPrice {
    pub currency: String,
    pub amount: i64,
}

/// A demander's standing wish, as the matcher sees it.
#[derive(Debug, Clone, PartialEq)]
pub struct Wish {
    pub id: Uuid,
    /// Offers in this category or any below it match.
    pub category_id: Uuid,
    /// Each must be found in the offer's words (see [`matches()`]).
    pub keywords: Vec<String>,
    pub attributes: AttributeBounds,
    pub condition_min: Option<Condition>,
    pub quantity: Quantity,
    pub near: Location,
    pub radius_km: f64,
    /// The wish wants nothing after this moment, and announced supply must be expected by then.
    pub needed_by: Option<DateTime<Utc>>,
    /// The most it will pay per unit of its quantity, per currency. Empty: any price; free
    /// offers fit whatever the limits.
    pub max_price: Vec<UnitPrice>,
    /// Whether announced (not yet available) supply counts.
    pub include_announced: bool,
}

/// What the matcher sees of a listing.
#[derive(Debug, Clone, PartialEq)]
pub struct Offer {
    pub id: Uuid,
    /// The donor.
    pub organisation_id: Uuid,
    pub category_id: Uuid,
    /// Lower-case text that keywords are sought in: title, description, materials, product.
    /// Build it with [`Offer::words_of`].
    pub words: String,
    pub dimensions: Dimensions,
    pub condition: Condition,
    /// What is not held by reservations, in `unit`.
    pub quantity_available: i64,
    pub unit: Unit,
    /// The mass of one `unit` from the passport, when known; kg and t need none.
    pub grams_per_unit: Option<i64>,
    pub location: Location,
    /// Only announced and available listings match.
    pub status: ListingStatus,
    pub available_from: DateTime<Utc>,
    /// Per unit; `None` is free.
    pub price: Option<UnitPrice>,
}

impl Offer {
    /// Lower-cases texts and joins them with spaces into [`Offer::words`].
    pub fn words_of<'a>(texts: impl IntoIterator<Item = &'a str>) -> String {
        let mut words = String::new();
        for text in texts {
            if !words.is_empty() {
                words.push(' ');
            }
            words.extend(text.chars().flat_map(char::to_lowercase));
        }
        words
    }

    /// Grams in one unit of the offer: fixed for kg and t, from the passport otherwise.
    pub fn unit_grams(&self) -> Option<i64> {
        unit_grams(self.unit).or(self.grams_per_unit.filter(|&g| g > 0))
    }
}

fn unit_grams(unit: Unit) -> Option<i64> {
    match unit {
        Unit::Kg => Some(1_000),
        Unit::T => Some(1_000_000),
        _ => None,
    }
}

impl Wish {
    /// Checks what a client sent; errors carry JSON pointers into the wish as sent.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        if self.keywords.len() > MAX_KEYWORDS {
            errors.push(
                "/keywords",
                "too_many",
                format!("at most {MAX_KEYWORDS} keywords"),
            );
        }
        let mut seen = HashSet::new();
        for (i, keyword) in self.keywords.iter().enumerate() {
            let pointer = format!("/keywords/{i}");
            let Some(keyword) = errors.take(&pointer, bounded_text(keyword, 1, MAX_KEYWORD_CHARS))
            else {
                continue;
            };
            if !keyword.starts_with(char::is_alphanumeric) {
                errors.push(pointer, "not_a_word", "must start with a letter or digit");
            } else if !seen.insert(keyword.to_lowercase()) {
                errors.push(pointer, "duplicate", "is listed twice");
            }
        }
        for (name, range, _) in self.attributes.pairs(&Dimensions::default()) {
            for (side, value) in [("min", range.min), ("max", range.max)] {
                if value.is_some_and(|v| !(0..=MAX_DIMENSION_MM).contains(&v)) {
                    errors.push(
                        format!("/attributes/{name}/{side}"),
                        "out_of_range",
                        format!("must lie between 0 and {MAX_DIMENSION_MM}"),
                    );
                }
            }
            if let (Some(min), Some(max)) = (range.min, range.max) {
                if min > max {
                    errors.push(
                        format!("/attributes/{name}"),
                        "min_above_max",
                        "min must not exceed max",
                    );
                }
            }
        }
        errors.take(
            "/quantity/amount",
            Quantity::parse(self.quantity.amount, self.quantity.unit),
        );
        Location::parse(self.near.lat, self.near.lon, "/near", &mut errors);
        if !(self.radius_km > 0.0 && self.radius_km <= MAX_RADIUS_KM) {
            errors.push(
                "/radius_km",
                "out_of_range",
                format!("must be above 0 and at most {MAX_RADIUS_KM} km"),
            );
        }
        if self.max_price.len() > MAX_PRICE_LIMITS {
            errors.push(
                "/max_price",
                "too_many",
                format!("at most {MAX_PRICE_LIMITS} currencies"),
            );
        }
        let mut currencies = HashSet::new();
        for (i, limit) in self.max_price.iter().enumerate() {
            if !is_currency_code(&limit.currency) {
                errors.push(
                    format!("/max_price/{i}/currency"),
                    "invalid_currency",
                    "must be 3 to 10 capital letters or digits, starting with a letter",
                );
            } else if !currencies.insert(limit.currency.as_str()) {
                errors.push(
                    format!("/max_price/{i}/currency"),
                    "duplicate",
                    "is listed twice",
                );
            }
            if limit.amount < 0 {
                errors.push(
                    format!("/max_price/{i}/amount"),
                    "out_of_range",
                    "must not be negative",
                );
            }
        }
        errors.finish()
    }
}

fn is_currency_code(code: &str) -> bool {
    (3..=10).contains(&code.len())
        && code.starts_with(|c: char| c.is_ascii_uppercase())
        && code
            .chars()
            .all(|c| c.is_ascii_uppercase() || c.is_ascii_digit())
}

/// Whether `offer` satisfies every criterion of `wish` at `now`. The conjunction of:
///
/// - **category**: the offer's category is the wish's or lies below it in `tree`;
/// - **quantity**: the offer has something left (`quantity_available > 0`); a partial quantity
///   matches, coverage goes into the [`score`];
/// - **units**: the same unit, or the wish is by mass (kg, t) and the offer can be weighed
///   ([`Offer::unit_grams`]);
/// - **timing**: the wish's `needed_by`, if any, is not past; an available offer matches; an
///   announced one only if the wish includes announced supply and, with a `needed_by`, is
///   expected by then (`available_from <= needed_by`); other statuses never match;
/// - **condition**: at least `condition_min`;
/// - **distance**: both points valid and the haversine distance at most `radius_km`;
/// - **attributes**: every bounded dimension known and within bounds;
/// - **price**: free (no price or zero) always fits; otherwise the wish has no limits, or a
///   limit in the offer's currency that the price per unit does not exceed (compared per gram
///   when the units differ);
/// - **keywords**: each found in the offer's words at the start of a word, ignoring case
///   ("deur" finds "deuren"; "hout" does not find "eikenhouten").
pub fn matches(wish: &Wish, offer: &Offer, tree: &CategoryTree, now: DateTime<Utc>) -> bool {
    matches_prepared(wish, &PreparedOffer::new(offer, tree), now)
}

/// The side of a pair whose change a matcher job follows.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Side {
    Listing,
    Wish,
}

/// Why a stored match no longer holds, judged from the pair as it stands now, or `None` when it
/// still fits (and the match stands). `wish` is `None` once the wish is no longer active and
/// `offer` once the listing is gone; the offer carries the listing's status whatever it is.
/// What fails on both sides' account (distance, price, dates) is put down to `changed`, the
/// side whose change is being followed: a pair is never retracted for a cause that is not so.
pub fn retraction_cause(
    wish: Option<&Wish>,
    offer: Option<&Offer>,
    changed: Side,
    tree: &CategoryTree,
    now: DateTime<Utc>,
) -> Option<RetractionCause> {
    let Some(wish) = wish else {
        return Some(RetractionCause::WishChanged);
    };
    let Some(offer) = offer else {
        return Some(RetractionCause::Withdrawn);
    };
    if matches(wish, offer, tree, now) {
        return None;
    }
    Some(match offer.status {
        ListingStatus::Withdrawn => RetractionCause::Withdrawn,
        ListingStatus::Expired => RetractionCause::Expired,
        ListingStatus::Reserved | ListingStatus::Closed => RetractionCause::Taken,
        _ if offer.quantity_available <= 0 => RetractionCause::Taken,
        // The wish's own date passed: nothing the donor did.
        _ if wish.needed_by.is_some_and(|by| by < now) => RetractionCause::WishChanged,
        _ if changed == Side::Wish => RetractionCause::WishChanged,
        ListingStatus::Announced if !timing_fits(wish, offer, now) => RetractionCause::DateChanged,
        _ => RetractionCause::Changed,
    })
}

/// An offer with its category's ancestors looked up once for many wishes.
pub(crate) struct PreparedOffer<'a> {
    offer: &'a Offer,
    ancestors: Vec<Uuid>,
}

impl<'a> PreparedOffer<'a> {
    pub(crate) fn new(offer: &'a Offer, tree: &CategoryTree) -> Self {
        PreparedOffer {
            offer,
            ancestors: tree.ancestors_and_self(offer.category_id).collect(),
        }
    }
}

pub(crate) fn matches_prepared(
    wish: &Wish,
    prepared: &PreparedOffer<'_>,
    now: DateTime<Utc>,
) -> bool {
    let offer = prepared.offer;
    prepared.ancestors.contains(&wish.category_id)
        && offer.quantity_available > 0
        && timing_fits(wish, offer, now)
        && wish.condition_min.is_none_or(|min| offer.condition >= min)
        && common_measure(wish, offer).is_some()
        && within_reach(wish, offer)
        && wish.attributes.admits(&offer.dimensions)
        && price_fits(wish, offer)
        && wish
            .keywords
            .iter()
            .all(|keyword| keywords::keyword_found(keyword, &offer.words))
}

fn timing_fits(wish: &Wish, offer: &Offer, now: DateTime<Utc>) -> bool {
    if wish.needed_by.is_some_and(|by| by < now) {
        return false;
    }
    match offer.status {
        ListingStatus::Available => true,
        ListingStatus::Announced => {
            wish.include_announced && wish.needed_by.is_none_or(|by| offer.available_from <= by)
        }
        _ => false,
    }
}

fn within_reach(wish: &Wish, offer: &Offer) -> bool {
    grid::is_valid(wish.near)
        && grid::is_valid(offer.location)
        && wish.radius_km >= 0.0
        && distance_km(wish.near, offer.location) <= wish.radius_km
}

/// The wish's quantity and one unit of the offer in a common measure: grams when the wish is by
/// mass (kg, t) and the offer can be weighed, else the wish's unit when the offer counts in it
/// too. `None` when the two cannot be compared. For one wish the measure is the same for every
/// offer, so amounts of different offers add up.
pub(crate) fn common_measure(wish: &Wish, offer: &Offer) -> Option<(i128, i128)> {
    let need = i128::from(wish.quantity.amount);
    match unit_grams(wish.quantity.unit) {
        Some(wish_grams) => Some((
            need * i128::from(wish_grams),
            i128::from(offer.unit_grams()?),
        )),
        None => (wish.quantity.unit == offer.unit).then_some((need, 1)),
    }
}

/// The wish's limit for the offer's currency, if the offer is priced and the wish has one.
pub(crate) fn price_limit<'w>(wish: &'w Wish, offer: &Offer) -> Option<&'w UnitPrice> {
    let price = offer.price.as_ref()?;
    wish.max_price
        .iter()
        .find(|limit| limit.currency == price.currency)
}

fn price_fits(wish: &Wish, offer: &Offer) -> bool {
    let Some(price) = offer.price.as_ref().filter(|p| p.amount > 0) else {
        return true;
    };
    if wish.max_price.is_empty() {
        return true;
    }
    let Some(limit) = price_limit(wish, offer) else {
        return false;
    };
    if wish.quantity.unit == offer.unit {
        return price.amount <= limit.amount;
    }
    // Per gram: amount / offer_grams <= limit / wish_grams.
    match (unit_grams(wish.quantity.unit), offer.unit_grams()) {
        (Some(wish_grams), Some(offer_grams)) => {
            i128::from(price.amount) * i128::from(wish_grams)
                <= i128::from(limit.amount) * i128::from(offer_grams)
        }
        _ => false,
    }
}

/// The plain scan: every wish checked with [`matches()`], in the order given. The oracle the
/// index is tested against, and the baseline it is measured against.
pub fn scan_wishes<'a>(
    wishes: impl IntoIterator<Item = &'a Wish>,
    offer: &Offer,
    tree: &CategoryTree,
    now: DateTime<Utc>,
) -> Vec<Uuid> {
    let prepared = PreparedOffer::new(offer, tree);
    wishes
        .into_iter()
        .filter(|wish| matches_prepared(wish, &prepared, now))
        .map(|wish| wish.id)
        .collect()
}

/// The plain scan the other way: every offer checked with [`matches()`], in the order given.
pub fn scan_offers<'a>(
    offers: impl IntoIterator<Item = &'a Offer>,
    wish: &Wish,
    tree: &CategoryTree,
    now: DateTime<Utc>,
) -> Vec<Uuid> {
    offers
        .into_iter()
        .filter(|offer| matches(wish, offer, tree, now))
        .map(|offer| offer.id)
        .collect()
}

#[cfg(test)]
pub(crate) mod fixtures;

#[cfg(test)]
mod tests;
