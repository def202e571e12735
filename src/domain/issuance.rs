//! Issuance by the policy, and what keeps it from minting money: a hand-over's claim and its
//! lifecycle (awaiting the demander's word, then paid, or held for the broker who pays or
//! rejects it), the plausible mass per unit of a category, and the monthly cap.
//!
//! **The plausible mass per unit.** A unit may weigh at most [`SLACK`] times what the same
//! volume of the category's material weighs, where the volume per unit is
//! - `m3`: one cubic metre;
//! - `m2`: one square metre times the thickness, the smallest declared dimension (at most 1 m;
//!   1 m when none is declared);
//! - `m`: one metre times the cross-section, the product of the two smallest declared
//!   dimensions (at most 1 m²; 1 m² when fewer than two are declared);
//! - `piece`: the box of the three declared dimensions, and never more than the category's
//!   heaviest plausible piece ([`MassBounds::max_kg_per_piece`], or
//!   [`DEFAULT_MAX_KG_PER_PIECE`] when no category up the tree names one); without all three
//!   dimensions only that ceiling applies.
//!
//! Declared dimensions can only lower a bound, never raise it past the ceiling: they are
//! declared by the same party as the mass. The material is the nearest category's up the tree
//! that names one with a known density; a category without one is bounded by the densest
//! material known (copper, 8 900 kg/m³, which also covers lead once doubled). Units of mass
//! (`kg`, `t`) have no bound: a kilogram weighs a kilogram.

use super::passport::Dimensions;
use super::quantity::Unit;
use serde::{Deserialize, Serialize};

/// How far above the material's own density a unit may be before it is held: composites,
/// reinforcement, moisture and a generous reading of the dimensions all fit in a factor 2.
pub const SLACK: i64 = 2;
/// The heaviest plausible piece when no category up the tree says (kg).
pub const DEFAULT_MAX_KG_PER_PIECE: i64 = 1_000;
/// The largest thickness (m2) or side of a cross-section (m) counted, in mm.
const MAX_THICKNESS_MM: i64 = 1_000;

/// Where a hand-over's claim to issuance stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClaimStatus {
    /// Handed over; the demander has not confirmed yet and the window is open.
    Awaiting,
    /// Waiting for the broker, who pays or rejects it (`held_because` says why).
    Held,
    /// Issued (`paid` minor units; 0 when the policy gives nothing for the category).
    Paid,
    /// The broker refused it; what was paid within the cap stays paid.
    Rejected,
}

text_enum!(ClaimStatus {
    Awaiting => "awaiting",
    Held => "held",
    Paid => "paid",
    Rejected => "rejected",
});

/// Why a claim waits for the broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HeldBecause {
    /// The mass per unit is above the plausible bound for the category.
    ImplausibleMass,
    /// Paying it in full would pass the organisation's monthly cap; what fitted was paid.
    OverCap,
    /// The demander disputed the hand-over: nothing is paid unless the broker, having looked
    /// into it, approves.
    Disputed,
}

text_enum!(HeldBecause {
    ImplausibleMass => "implausible_mass",
    OverCap => "over_cap",
    Disputed => "disputed",
});

/// What can happen to a claim.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ClaimEvent {
    /// Settled and paid in full.
    Pay,
    /// Settled, but held for the broker.
    Hold,
    /// The broker pays a held claim.
    Approve,
    /// The broker refuses a held claim.
    Reject,
}

impl ClaimEvent {
    pub const ALL: [ClaimEvent; 4] = [
        ClaimEvent::Pay,
        ClaimEvent::Hold,
        ClaimEvent::Approve,
        ClaimEvent::Reject,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a claim that is {from} cannot take {event:?}")]
pub struct IllegalClaimMove {
    pub from: ClaimStatus,
    pub event: ClaimEvent,
}

impl ClaimStatus {
    pub fn apply(self, event: ClaimEvent) -> Result<ClaimStatus, IllegalClaimMove> {
        use ClaimEvent as E;
        use ClaimStatus as S;
        match (self, event) {
            (S::Awaiting, E::Pay) | (S::Held, E::Approve) => Ok(S::Paid),
            (S::Awaiting, E::Hold) => Ok(S::Held),
            (S::Held, E::Reject) => Ok(S::Rejected),
            (from, event) => Err(IllegalClaimMove { from, event }),
        }
    }
}

/// What the demander said of the hand-over, as far as issuance is concerned.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Word {
    Confirmed,
    /// The window passed without a word: as good as confirmed.
    Lapsed,
    Disputed,
}

/// What a category's mass rules say, nearest category first for each on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct MassBounds {
    /// The density of the category's material in kg/m³, when one is known.
    pub density_kg_m3: Option<i64>,
    /// The heaviest plausible piece of the category, in kg.
    pub max_kg_per_piece: Option<i64>,
    /// The densest material known, for categories without a density of their own.
    pub densest_kg_m3: i64,
}

/// The heaviest plausible unit of a category in grams, by the rule in this module's
/// documentation; `None` for units of mass.
pub fn plausible_grams_per_unit(
    unit: Unit,
    dimensions: &Dimensions,
    bounds: &MassBounds,
) -> Option<i64> {
    let density = i128::from(bounds.density_kg_m3.unwrap_or(bounds.densest_kg_m3).max(1));
    let slack = i128::from(SLACK);
    let mut sides: Vec<i128> = [
        dimensions.length_mm,
        dimensions.width_mm,
        dimensions.height_mm,
    ]
    .into_iter()
    .flatten()
    .filter(|mm| *mm > 0)
    .map(i128::from)
    .collect();
    sides.sort_unstable();
    let max_side = i128::from(MAX_THICKNESS_MM);
    // kg/m³ is g/dm³: grams = density × volume in mm³ / 10^6.
    let grams = match unit {
        Unit::Kg | Unit::T => return None,
        Unit::M3 => slack * density * 1_000,
        Unit::M2 => {
            let thickness = sides.first().copied().unwrap_or(max_side).min(max_side);
            slack * density * thickness
        }
        Unit::M => {
            let section = match sides.as_slice() {
                [a, b, ..] => (a * b).min(max_side * max_side),
                _ => max_side * max_side,
            };
            slack * density * section / 1_000
        }
        Unit::Piece => {
            let ceiling =
                i128::from(bounds.max_kg_per_piece.unwrap_or(DEFAULT_MAX_KG_PER_PIECE)) * 1_000;
            match sides.as_slice() {
                [a, b, c] => ceiling.min(slack * density * a * b * c / 1_000_000),
                _ => ceiling,
            }
        }
    };
    Some(i64::try_from(grams.max(1)).unwrap_or(i64::MAX))
}

/// How a claim is settled: what is paid now, and why the rest (or all of it) waits for the
/// broker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Settlement {
    pub pay: i64,
    pub held_because: Option<HeldBecause>,
}

/// Settles a claim worth `amount` by the policy: a dispute or an implausible mass pays
/// nothing and holds it; otherwise it is paid up to what is left of the monthly `cap` after
/// `paid_this_month`, and the rest is held (`over_cap`).
pub fn settle(
    word: Word,
    amount: i64,
    grams_per_unit: i64,
    plausible_g_per_unit: Option<i64>,
    paid_this_month: i64,
    cap: Option<i64>,
) -> Settlement {
    let held = |because| Settlement {
        pay: 0,
        held_because: Some(because),
    };
    if word == Word::Disputed {
        return held(HeldBecause::Disputed);
    }
    if plausible_g_per_unit.is_some_and(|bound| grams_per_unit > bound) {
        return held(HeldBecause::ImplausibleMass);
    }
    let amount = amount.max(0);
    let room = cap.map_or(amount, |cap| cap.saturating_sub(paid_this_month).max(0));
    let pay = amount.min(room);
    Settlement {
        pay,
        held_because: (pay < amount).then_some(HeldBecause::OverCap),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ClaimEvent as E;
    use ClaimStatus as S;

    fn dims(l: i32, w: i32, h: i32) -> Dimensions {
        Dimensions {
            length_mm: Some(l),
            width_mm: Some(w),
            height_mm: Some(h),
        }
    }

    const DOORS: MassBounds = MassBounds {
        density_kg_m3: None,
        max_kg_per_piece: Some(300),
        densest_kg_m3: 8_900,
    };

    #[test]
    fn every_claim_move_is_decided() {
        let legal = [
            (S::Awaiting, E::Pay, S::Paid),
            (S::Awaiting, E::Hold, S::Held),
            (S::Held, E::Approve, S::Paid),
            (S::Held, E::Reject, S::Rejected),
        ];
        crate::domain::assert_every_move(S::ALL, &E::ALL, &legal, S::apply, |refused| refused.from);
    }

    #[test]
    fn a_door_is_bounded_by_its_category_ceiling() {
        // 2015 × 830 × 40 mm as solid copper, doubled, is 1 190 kg; a door is at most 300.
        let bound = plausible_grams_per_unit(Unit::Piece, &dims(2015, 830, 40), &DOORS);
        assert_eq!(bound, Some(300_000));
        assert_eq!(
            plausible_grams_per_unit(Unit::Piece, &Dimensions::default(), &DOORS),
            Some(300_000)
        );
    }

    #[test]
    fn dimensions_lower_the_bound_by_the_materials_density() {
        let softwood = MassBounds {
            density_kg_m3: Some(500),
            max_kg_per_piece: Some(2_000),
            densest_kg_m3: 8_900,
        };
        // A beam of 4 m × 200 × 100 mm: 0.08 m³ × 500 kg/m³ × 2 = 80 kg.
        assert_eq!(
            plausible_grams_per_unit(Unit::Piece, &dims(4_000, 200, 100), &softwood),
            Some(80_000)
        );
        // Per metre of it: 0.02 m² × 1 m × 1 000 kg/m³ = 20 kg.
        assert_eq!(
            plausible_grams_per_unit(Unit::M, &dims(4_000, 200, 100), &softwood),
            Some(20_000)
        );
        // A square metre of 18 mm board: 18 kg.
        let board = Dimensions {
            height_mm: Some(18),
            ..Dimensions::default()
        };
        assert_eq!(
            plausible_grams_per_unit(Unit::M2, &board, &softwood),
            Some(18_000)
        );
        // A cubic metre whatever the dimensions.
        assert_eq!(
            plausible_grams_per_unit(Unit::M3, &board, &softwood),
            Some(1_000_000)
        );
    }

    #[test]
    fn inflated_dimensions_do_not_raise_the_ceiling() {
        let huge = dims(100_000, 100_000, 100_000);
        assert_eq!(
            plausible_grams_per_unit(Unit::Piece, &huge, &DOORS),
            Some(300_000)
        );
        // m2 and m count at most 1 m of thickness and 1 m² of cross-section.
        let concrete = MassBounds {
            density_kg_m3: Some(2_400),
            max_kg_per_piece: Some(40_000),
            densest_kg_m3: 8_900,
        };
        assert_eq!(
            plausible_grams_per_unit(Unit::M2, &huge, &concrete),
            Some(4_800_000)
        );
        assert_eq!(
            plausible_grams_per_unit(Unit::M, &huge, &concrete),
            Some(4_800_000)
        );
        assert_eq!(
            plausible_grams_per_unit(Unit::M2, &Dimensions::default(), &concrete),
            Some(4_800_000)
        );
    }

    #[test]
    fn without_a_piece_ceiling_the_default_applies_and_mass_units_have_no_bound() {
        let bounds = MassBounds {
            densest_kg_m3: 8_900,
            ..MassBounds::default()
        };
        assert_eq!(
            plausible_grams_per_unit(Unit::Piece, &Dimensions::default(), &bounds),
            Some(DEFAULT_MAX_KG_PER_PIECE * 1_000)
        );
        assert_eq!(
            plausible_grams_per_unit(Unit::Kg, &dims(1, 1, 1), &bounds),
            None
        );
        assert_eq!(
            plausible_grams_per_unit(Unit::T, &dims(1, 1, 1), &bounds),
            None
        );
        // Tiny dimensions still allow a gram.
        assert_eq!(
            plausible_grams_per_unit(Unit::Piece, &dims(1, 1, 1), &bounds),
            Some(1)
        );
    }

    #[test]
    fn a_plausible_confirmed_claim_is_paid_in_full() {
        let paid = settle(Word::Confirmed, 800, 32_000, Some(300_000), 0, None);
        assert_eq!(
            paid,
            Settlement {
                pay: 800,
                held_because: None
            }
        );
        assert_eq!(
            settle(Word::Lapsed, 800, 32_000, None, 10_000, None).pay,
            800
        );
        assert_eq!(
            settle(Word::Confirmed, 0, 32_000, None, 0, Some(0)).held_because,
            None
        );
    }

    #[test]
    fn disputes_and_implausible_masses_pay_nothing() {
        assert_eq!(
            settle(Word::Disputed, 800, 32_000, Some(300_000), 0, None),
            Settlement {
                pay: 0,
                held_because: Some(HeldBecause::Disputed)
            }
        );
        assert_eq!(
            settle(Word::Confirmed, 800, 1_000_000_000, Some(300_000), 0, None),
            Settlement {
                pay: 0,
                held_because: Some(HeldBecause::ImplausibleMass)
            }
        );
        // At the bound is still plausible.
        assert_eq!(
            settle(Word::Confirmed, 800, 300_000, Some(300_000), 0, None).pay,
            800
        );
    }

    #[test]
    fn the_cap_pays_what_fits_and_holds_the_rest() {
        assert_eq!(
            settle(Word::Confirmed, 800, 1, None, 9_500, Some(10_000)),
            Settlement {
                pay: 500,
                held_because: Some(HeldBecause::OverCap)
            }
        );
        assert_eq!(
            settle(Word::Confirmed, 800, 1, None, 12_000, Some(10_000)),
            Settlement {
                pay: 0,
                held_because: Some(HeldBecause::OverCap)
            }
        );
        assert_eq!(
            settle(Word::Confirmed, 800, 1, None, 9_200, Some(10_000)).held_because,
            None
        );
    }

    #[test]
    fn the_text_forms_round_trip() {
        for status in S::ALL {
            assert_eq!(status.as_str().parse::<S>(), Ok(*status));
        }
        for because in HeldBecause::ALL {
            assert_eq!(because.as_str().parse::<HeldBecause>(), Ok(*because));
        }
    }
}
