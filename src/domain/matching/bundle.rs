//! Bundles: several offers of one category that together cover a wish no single offer covers.

use super::{common_measure, distance_km, matches, CategoryTree, Offer, Wish};
use crate::domain::quantity::Quantity;
use chrono::{DateTime, Utc};
use std::collections::{BTreeMap, HashMap, HashSet};
use uuid::Uuid;

/// A bundle draws on at most this many donors.
pub const MAX_BUNDLE_DONORS: usize = 10;

/// The improvement step stops after this many improvements.
const IMPROVEMENT_PASSES: usize = 10;

/// Offers that together cover one wish.
#[derive(Debug, Clone, PartialEq)]
pub struct Bundle {
    /// The one category all parts share.
    pub category_id: Uuid,
    /// Largest first; every part is needed.
    pub parts: Vec<BundlePart>,
    /// What the parts cover together in the wish's unit, rounded down; at least the wish's
    /// quantity.
    pub covered: i64,
    /// One per part.
    pub pickups: usize,
    pub donors: usize,
    /// The sum of the parts' distances from the wish's centre.
    pub total_distance_km: f64,
}

#[derive(Debug, Clone, PartialEq)]
pub struct BundlePart {
    pub offer_id: Uuid,
    pub organisation_id: Uuid,
    /// How much to take, in the offer's unit.
    pub take: Quantity,
    pub distance_km: f64,
}

struct Lot<'a> {
    offer: &'a Offer,
    /// The offer's available quantity in the wish's common measure.
    amount: i128,
    /// One offer unit in that measure.
    per_unit: i128,
    distance_km: f64,
}

/// Proposes a bundle for `wish` from `candidates` when no single one of them covers its
/// quantity.
///
/// Only candidates that [`matches()`] accepts take part, so every part meets the wish's
/// category, size bounds, condition, distance, timing, price and unit; and all parts share
/// one exact category, so that the lots are alike. Within each category the choice is:
///
/// 1. greedy: lots by largest available quantity (ties: nearer, then id), skipping lots of an
///    eleventh donor, until the quantity is covered; if that fails, the same greedy over the
///    lots of the ten donors with most to offer;
/// 2. improvement, at most ten times: drop a lot that is not needed (the
///    farthest such), else replace one chosen lot by one unchosen lot when coverage and the
///    donor limit still hold and the total distance shrinks (the largest gain).
///
/// Guarantees: returns `None` when a single matching candidate covers the wish (the plain match
/// is the answer) or when no set of matching candidates of one category from at most
/// [`MAX_BUNDLE_DONORS`] donors covers it; otherwise a bundle that covers the quantity, from at
/// most ten donors, never with more pickups or (with as many) a longer total distance than the
/// greedy choice. Without the donor limit biting, greedy by size uses the fewest pickups
/// possible, so the bundle does too. The best category wins by pickups, then total distance.
///
/// The chosen lots are taken whole, largest first, except the last, of which only what is
/// still missing is taken (rounded up to a whole unit of that offer).
pub fn bundle(
    wish: &Wish,
    candidates: &[Offer],
    tree: &CategoryTree,
    now: DateTime<Utc>,
) -> Option<Bundle> {
    let mut seen = HashSet::new();
    let mut need = None;
    let mut by_category: BTreeMap<Uuid, Vec<Lot<'_>>> = BTreeMap::new();
    for offer in candidates {
        if !seen.insert(offer.id) || !matches(wish, offer, tree, now) {
            continue;
        }
        let Some((wanted, per_unit)) = common_measure(wish, offer) else {
            continue;
        };
        need = Some(wanted);
        let amount = i128::from(offer.quantity_available) * per_unit;
        if amount >= wanted {
            return None;
        }
        by_category.entry(offer.category_id).or_default().push(Lot {
            offer,
            amount,
            per_unit,
            distance_km: distance_km(wish.near, offer.location),
        });
    }
    let need = need?;
    let mut best: Option<(Vec<usize>, Vec<Lot<'_>>, f64, Uuid)> = None;
    for (category_id, mut lots) in by_category {
        lots.sort_by(|a, b| {
            b.amount
                .cmp(&a.amount)
                .then(a.distance_km.total_cmp(&b.distance_km))
                .then(a.offer.id.cmp(&b.offer.id))
        });
        let Some(chosen) = greedy(&lots, need, None).or_else(|| {
            let donors = richest_donors(&lots);
            greedy(&lots, need, Some(&donors))
        }) else {
            continue;
        };
        let chosen = improve(&lots, chosen, need);
        let distance: f64 = chosen.iter().map(|&i| lots[i].distance_km).sum();
        let better = best
            .as_ref()
            .is_none_or(|(best_chosen, _, best_distance, _)| {
                (chosen.len(), distance) < (best_chosen.len(), *best_distance)
            });
        if better {
            best = Some((chosen, lots, distance, category_id));
        }
    }
    let (mut chosen, lots, total_distance_km, category_id) = best?;
    chosen.sort_unstable();
    let mut missing = need;
    let mut covered = 0;
    let mut parts = Vec::with_capacity(chosen.len());
    for &i in &chosen {
        let lot = &lots[i];
        let units = if lot.amount <= missing {
            i128::from(lot.offer.quantity_available)
        } else {
            (missing + lot.per_unit - 1) / lot.per_unit
        };
        missing -= units * lot.per_unit;
        covered += units * lot.per_unit;
        parts.push(BundlePart {
            offer_id: lot.offer.id,
            organisation_id: lot.offer.organisation_id,
            take: Quantity {
                amount: units as i64,
                unit: lot.offer.unit,
            },
            distance_km: lot.distance_km,
        });
    }
    let donors = parts
        .iter()
        .map(|p| p.organisation_id)
        .collect::<HashSet<_>>()
        .len();
    Some(Bundle {
        category_id,
        pickups: parts.len(),
        covered: (covered * i128::from(wish.quantity.amount) / need) as i64,
        parts,
        donors,
        total_distance_km,
    })
}

/// Lots (indexes into the sorted `lots`) taken largest first until `need` is covered; only
/// from `donors` when given, and never from more than the donor limit.
fn greedy(lots: &[Lot<'_>], need: i128, donors: Option<&HashSet<Uuid>>) -> Option<Vec<usize>> {
    let mut chosen = Vec::new();
    let mut used = HashSet::new();
    let mut sum = 0;
    for (i, lot) in lots.iter().enumerate() {
        if sum >= need {
            break;
        }
        let donor = lot.offer.organisation_id;
        if donors.is_some_and(|allowed| !allowed.contains(&donor))
            || (!used.contains(&donor) && used.len() == MAX_BUNDLE_DONORS)
        {
            continue;
        }
        used.insert(donor);
        chosen.push(i);
        sum += lot.amount;
    }
    (sum >= need).then_some(chosen)
}

/// The donors with most to offer in total, at most the donor limit (ties by id). If they cannot
/// cover a need, no set of that many donors can.
fn richest_donors(lots: &[Lot<'_>]) -> HashSet<Uuid> {
    let mut totals: HashMap<Uuid, i128> = HashMap::new();
    for lot in lots {
        *totals.entry(lot.offer.organisation_id).or_default() += lot.amount;
    }
    let mut totals: Vec<(Uuid, i128)> = totals.into_iter().collect();
    totals.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    totals
        .into_iter()
        .take(MAX_BUNDLE_DONORS)
        .map(|(donor, _)| donor)
        .collect()
}

fn improve(lots: &[Lot<'_>], mut chosen: Vec<usize>, need: i128) -> Vec<usize> {
    for _ in 0..IMPROVEMENT_PASSES {
        let sum: i128 = chosen.iter().map(|&i| lots[i].amount).sum();
        let droppable = chosen
            .iter()
            .enumerate()
            .filter(|&(_, &i)| sum - lots[i].amount >= need)
            .max_by(|a, b| lots[*a.1].distance_km.total_cmp(&lots[*b.1].distance_km));
        if let Some((at, _)) = droppable {
            chosen.remove(at);
            continue;
        }
        let mut best: Option<(usize, usize, f64)> = None;
        for (at, &out) in chosen.iter().enumerate() {
            for (candidate, lot) in lots.iter().enumerate() {
                if chosen.contains(&candidate) {
                    continue;
                }
                let gain = lots[out].distance_km - lot.distance_km;
                if gain <= 0.0
                    || sum - lots[out].amount + lot.amount < need
                    || best.is_some_and(|(_, _, best_gain)| gain <= best_gain)
                {
                    continue;
                }
                let donors: HashSet<Uuid> = chosen
                    .iter()
                    .filter(|&&i| i != out)
                    .map(|&i| lots[i].offer.organisation_id)
                    .chain([lot.offer.organisation_id])
                    .collect();
                if donors.len() <= MAX_BUNDLE_DONORS {
                    best = Some((at, candidate, gain));
                }
            }
        }
        match best {
            Some((at, candidate, _)) => chosen[at] = candidate,
            None => break,
        }
    }
    chosen
}
