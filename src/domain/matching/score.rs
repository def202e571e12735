//! How well a match fits: a score from 0 to 1000 and the reasons behind it, in Dutch or English.

use super::{
    common_measure, distance_km, grid, price_limit, timing_fits, CategoryTree, Offer, Wish,
};
use crate::domain::account::Locale;
use crate::domain::listing::ListingStatus;
use crate::domain::passport::Condition;
use crate::domain::quantity::Unit;
use chrono::{DateTime, NaiveDate, Utc};

/// Transport emissions of a loaded light van, per tonne carried one kilometre: a round figure
/// for light commercial vehicles, used only to tell matches apart; replace it when the city
/// adopts its own.
pub const VAN_KG_CO2E_PER_TONNE_KM: f64 = 0.1;

/// The most each part adds to a score: category, attributes, quantity, distance, timing,
/// price, condition. They add up to 1000.
pub const WEIGHTS: [u32; 7] = [150, 100, 250, 250, 100, 100, 50];

#[derive(Debug, Clone, PartialEq)]
pub struct Scored {
    /// 0 to 1000, higher is better; the same inputs always give the same score.
    pub score: u32,
    /// One reason per part of the score, in the order of [`WEIGHTS`].
    pub reasons: Vec<Reason>,
}

/// Why a match scored as it did, with the figures to show; [`Reason::text`] words it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Reason {
    /// How many levels below the wished category the offer's lies; `None`: outside it.
    Category {
        depth: Option<u32>,
    },
    /// How many dimensions the wish bounds, and how many of those the offer meets.
    Attributes {
        bounded: u32,
        met: u32,
    },
    /// What the offer covers of the wish, in the wish's unit (rounded down).
    Quantity {
        offered: i64,
        wanted: i64,
        unit: Unit,
        percent: u32,
    },
    /// The distance in metres, and the estimated transport emissions in grams CO2e for the
    /// part of the offer the wish needs, when its mass is known.
    Distance {
        metres: u64,
        transport_co2e_g: Option<u64>,
    },
    Timing(Timing),
    Price(PriceFit),
    Condition {
        condition: Condition,
        min: Option<Condition>,
    },
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Timing {
    AvailableNow {
        needed_by: Option<NaiveDate>,
    },
    Expected {
        on: NaiveDate,
        needed_by: Option<NaiveDate>,
    },
    /// The offer cannot serve the wish in time (or is no longer on offer).
    TooLate,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PriceFit {
    Free,
    /// Per `unit` of the offer; `limit` is the wish's for that currency, per unit of the wish.
    Priced {
        amount: i64,
        currency: String,
        unit: Unit,
        limit: Option<(i64, Unit)>,
    },
}

/// Scores how well `offer` serves `wish`. Meant for matching pairs, but defined (and lower)
/// for any pair. Parts, each up to its [`WEIGHTS`] entry:
///
/// - category: full for the wished category itself, 40 fewer per level below, at least 50;
/// - attributes: the share of bounded dimensions met (full without bounds);
/// - quantity: the share of the wish the offer covers;
/// - distance: falls linearly from full at the wish's centre to nothing at its radius;
/// - timing: full when available now, 80 % when expected by `needed_by`, 70 % when expected
///   and the wish has no date;
/// - price: full when free, half plus up to half for the room left under the limit when priced
///   (half without a limit);
/// - condition: a fifth per condition rank.
pub fn score(wish: &Wish, offer: &Offer, tree: &CategoryTree, now: DateTime<Utc>) -> Scored {
    let [w_category, w_attributes, w_quantity, w_distance, w_timing, w_price, w_condition] =
        WEIGHTS;
    let mut points = 0u32;
    let mut reasons = Vec::with_capacity(WEIGHTS.len());

    let depth = tree.depth_below(wish.category_id, offer.category_id);
    points += depth.map_or(0, |d| w_category.saturating_sub(40 * d).max(50));
    reasons.push(Reason::Category { depth });

    let (bounded, met) = wish.attributes.fit(&offer.dimensions);
    points += (w_attributes * met)
        .checked_div(bounded)
        .unwrap_or(w_attributes);
    reasons.push(Reason::Attributes { bounded, met });

    let wanted = wish.quantity.amount;
    let measure = common_measure(wish, offer);
    let (offered, percent) = match measure {
        Some((need, per_unit)) if need > 0 => {
            let offered = i128::from(offer.quantity_available.max(0)) * per_unit;
            let covered = offered.min(need);
            points += (i128::from(w_quantity) * covered / need) as u32;
            let in_wish_units = offered * i128::from(wanted) / need;
            (
                in_wish_units.min(i128::from(i64::MAX)) as i64,
                (covered * 100 / need) as u32,
            )
        }
        _ => (0, 0),
    };
    reasons.push(Reason::Quantity {
        offered,
        wanted,
        unit: wish.quantity.unit,
        percent,
    });

    let reachable = grid::is_valid(wish.near) && grid::is_valid(offer.location);
    let km = if reachable {
        distance_km(wish.near, offer.location)
    } else {
        f64::INFINITY
    };
    if km <= wish.radius_km {
        let share = if wish.radius_km > 0.0 {
            1.0 - km / wish.radius_km
        } else {
            1.0
        };
        points += (f64::from(w_distance) * share).round() as u32;
    }
    let transport_co2e_g = reachable
        .then(|| transported_grams(wish, offer))
        .flatten()
        .map(|grams| {
            // grams / 1e6 t × km × VAN kg/t·km × 1000 g/kg
            (grams as f64 / 1e6 * km * VAN_KG_CO2E_PER_TONNE_KM * 1000.0).round() as u64
        });
    reasons.push(Reason::Distance {
        metres: if reachable {
            (km * 1000.0).round() as u64
        } else {
            u64::MAX
        },
        transport_co2e_g,
    });

    let needed_by = wish.needed_by.map(|at| at.date_naive());
    let timing = if !timing_fits(wish, offer, now) {
        Timing::TooLate
    } else if offer.status == ListingStatus::Announced {
        Timing::Expected {
            on: offer.available_from.date_naive(),
            needed_by,
        }
    } else {
        Timing::AvailableNow { needed_by }
    };
    points += match timing {
        Timing::AvailableNow { .. } => w_timing,
        Timing::Expected {
            needed_by: Some(_), ..
        } => w_timing * 8 / 10,
        Timing::Expected {
            needed_by: None, ..
        } => w_timing * 7 / 10,
        Timing::TooLate => 0,
    };
    reasons.push(Reason::Timing(timing));

    let price = match offer.price.as_ref().filter(|p| p.amount > 0) {
        None => {
            points += w_price;
            PriceFit::Free
        }
        Some(price) => {
            let limit = price_limit(wish, offer);
            if let Some(limit) = limit {
                let room = (limit.amount - price.amount).max(0);
                let part = if limit.amount > 0 {
                    i128::from(w_price / 2) * i128::from(room) / i128::from(limit.amount)
                } else {
                    0
                };
                points += w_price / 2 + part.min(i128::from(w_price / 2)) as u32;
            } else {
                points += w_price / 2;
            }
            PriceFit::Priced {
                amount: price.amount,
                currency: price.currency.clone(),
                unit: offer.unit,
                limit: limit.map(|l| (l.amount, wish.quantity.unit)),
            }
        }
    };
    reasons.push(Reason::Price(price));

    points += w_condition * offer.condition.rank() as u32 / 5;
    reasons.push(Reason::Condition {
        condition: offer.condition,
        min: wish.condition_min,
    });

    Scored {
        score: points.min(1000),
        reasons,
    }
}

/// The mass that would travel: the offer, but no more of it than the wish needs.
fn transported_grams(wish: &Wish, offer: &Offer) -> Option<i128> {
    let grams_per_unit = i128::from(offer.unit_grams()?);
    let (need, per_unit) = common_measure(wish, offer)?;
    let offered = i128::from(offer.quantity_available.max(0)) * per_unit;
    // In offer units: the covered share of the measure, divided back by the per-unit measure.
    let units = offered.min(need) / per_unit.max(1);
    Some(units * grams_per_unit)
}

impl Reason {
    /// The reason as a sentence for the recipient.
    pub fn text(&self, locale: Locale) -> String {
        let nl = locale == Locale::Nl;
        match self {
            Reason::Category { depth: Some(0) } => pick(
                nl,
                "Precies de gevraagde categorie",
                "Exactly the category you asked for",
            ),
            Reason::Category { depth: Some(1) } => pick(
                nl,
                "In een subcategorie (1 niveau lager)",
                "In a subcategory (1 level down)",
            ),
            Reason::Category { depth: Some(n) } => {
                if nl {
                    format!("In een subcategorie ({n} niveaus lager)")
                } else {
                    format!("In a subcategory ({n} levels down)")
                }
            }
            Reason::Category { depth: None } => pick(
                nl,
                "Buiten de gevraagde categorie",
                "Outside the category you asked for",
            ),
            Reason::Attributes { bounded: 0, .. } => {
                pick(nl, "Geen maateisen", "No size requirements")
            }
            Reason::Attributes { bounded: 1, met: 1 } => {
                pick(nl, "Voldoet aan de maateis", "Meets the size requirement")
            }
            Reason::Attributes { bounded, met } if met == bounded => {
                if nl {
                    format!("Voldoet aan alle {bounded} maateisen")
                } else {
                    format!("Meets all {bounded} size requirements")
                }
            }
            Reason::Attributes { bounded, met } => {
                if nl {
                    format!("Voldoet aan {met} van {bounded} maateisen")
                } else {
                    format!("Meets {met} of {bounded} size requirements")
                }
            }
            Reason::Quantity {
                offered,
                wanted,
                unit,
                percent,
            } => {
                let wanted_text = amount_with_unit(*wanted, *unit, nl);
                if *percent >= 100 {
                    if nl {
                        format!("Dekt alles wat u zoekt: {wanted_text} ({offered} aangeboden)")
                    } else {
                        format!("Covers all you need: {wanted_text} ({offered} on offer)")
                    }
                } else if nl {
                    format!("Dekt {percent}% van wat u zoekt: {offered} van {wanted_text}")
                } else {
                    format!("Covers {percent}% of what you need: {offered} of {wanted_text}")
                }
            }
            Reason::Distance {
                metres: u64::MAX, ..
            } => pick(nl, "Afstand onbekend", "Distance unknown"),
            Reason::Distance {
                metres,
                transport_co2e_g,
            } => {
                let km = tenths(metres.saturating_add(50) / 100, nl);
                let co2 = transport_co2e_g.map(|g| {
                    if g < 50 {
                        pick(nl, "minder dan 0,1", "less than 0.1")
                    } else {
                        tenths((g + 50) / 100, nl)
                    }
                });
                match (nl, co2) {
                    (true, Some(co2)) => {
                        format!("Op {km} km; vervoer per bestelbus ongeveer {co2} kg CO2e")
                    }
                    (false, Some(co2)) => {
                        format!("{km} km away; transport by van about {co2} kg CO2e")
                    }
                    (true, None) => format!("Op {km} km"),
                    (false, None) => format!("{km} km away"),
                }
            }
            Reason::Timing(timing) => timing_text(*timing, nl),
            Reason::Price(PriceFit::Free) => pick(nl, "Gratis", "Free"),
            Reason::Price(PriceFit::Priced {
                amount,
                currency,
                unit,
                limit,
            }) => {
                let price = format!(
                    "{} {currency} {} {}",
                    money(*amount, nl),
                    pick(nl, "per", "per"),
                    unit_name(*unit, 1, nl)
                );
                match limit {
                    None => price,
                    Some((limit, limit_unit)) => {
                        let limit = format!(
                            "{} {currency} {} {}",
                            money(*limit, nl),
                            pick(nl, "per", "per"),
                            unit_name(*limit_unit, 1, nl)
                        );
                        if nl {
                            format!("{price}, binnen uw maximum van {limit}")
                        } else {
                            format!("{price}, within your limit of {limit}")
                        }
                    }
                }
            }
            Reason::Condition { condition, min } => {
                let condition_text = condition_name(*condition, nl);
                match (nl, min) {
                    (true, Some(min)) => format!(
                        "Staat: {condition_text} (u vroeg minstens {})",
                        condition_name(*min, nl)
                    ),
                    (false, Some(min)) => format!(
                        "Condition: {condition_text} (you asked for at least {})",
                        condition_name(*min, nl)
                    ),
                    (true, None) => format!("Staat: {condition_text}"),
                    (false, None) => format!("Condition: {condition_text}"),
                }
            }
        }
    }
}

fn timing_text(timing: Timing, nl: bool) -> String {
    match timing {
        Timing::AvailableNow { needed_by: None } => pick(nl, "Nu beschikbaar", "Available now"),
        Timing::AvailableNow {
            needed_by: Some(by),
        } => {
            if nl {
                format!("Nu beschikbaar, vóór uw datum {by}")
            } else {
                format!("Available now, before your date {by}")
            }
        }
        Timing::Expected {
            on,
            needed_by: None,
        } => {
            if nl {
                format!("Naar verwachting beschikbaar op {on}")
            } else {
                format!("Expected to be available on {on}")
            }
        }
        Timing::Expected {
            on,
            needed_by: Some(by),
        } => {
            let days = (by - on).num_days();
            match (nl, days) {
                (true, 0) => {
                    format!("Naar verwachting beschikbaar op {on}, de dag dat u het nodig hebt")
                }
                (false, 0) => format!("Expected to be available on {on}, the day you need it"),
                (true, 1) => {
                    format!("Naar verwachting beschikbaar op {on}, 1 dag voordat u het nodig hebt")
                }
                (false, 1) => format!("Expected to be available on {on}, 1 day before you need it"),
                (true, n) => format!(
                    "Naar verwachting beschikbaar op {on}, {n} dagen voordat u het nodig hebt"
                ),
                (false, n) => {
                    format!("Expected to be available on {on}, {n} days before you need it")
                }
            }
        }
        Timing::TooLate => pick(nl, "Niet op tijd beschikbaar", "Not available in time"),
    }
}

fn pick(nl: bool, dutch: &str, english: &str) -> String {
    if nl { dutch } else { english }.to_owned()
}

/// A count of tenths as a decimal with one digit: "2.4", Dutch "2,4".
fn tenths(tenths: u64, nl: bool) -> String {
    format!(
        "{}{}{}",
        tenths / 10,
        if nl { ',' } else { '.' },
        tenths % 10
    )
}

/// Minor units as an amount with two decimals: "12.50", Dutch "12,50".
fn money(minor: i64, nl: bool) -> String {
    let sign = if minor < 0 { "-" } else { "" };
    let minor = minor.unsigned_abs();
    format!(
        "{sign}{}{}{:02}",
        minor / 100,
        if nl { ',' } else { '.' },
        minor % 100
    )
}

fn unit_name(unit: Unit, amount: i64, nl: bool) -> &'static str {
    match (unit, amount == 1, nl) {
        (Unit::Piece, true, true) => "stuk",
        (Unit::Piece, false, true) => "stuks",
        (Unit::Piece, true, false) => "piece",
        (Unit::Piece, false, false) => "pieces",
        (Unit::Kg, ..) => "kg",
        (Unit::T, ..) => "t",
        (Unit::M, ..) => "m",
        (Unit::M2, ..) => "m²",
        (Unit::M3, ..) => "m³",
    }
}

fn amount_with_unit(amount: i64, unit: Unit, nl: bool) -> String {
    format!("{amount} {}", unit_name(unit, amount, nl))
}

fn condition_name(condition: Condition, nl: bool) -> &'static str {
    match (condition, nl) {
        (Condition::Poor, true) => "slecht",
        (Condition::Fair, true) => "redelijk",
        (Condition::Good, true) => "goed",
        (Condition::AsNew, true) => "als nieuw",
        (Condition::New, true) => "nieuw",
        (Condition::Poor, false) => "poor",
        (Condition::Fair, false) => "fair",
        (Condition::Good, false) => "good",
        (Condition::AsNew, false) => "as new",
        (Condition::New, false) => "new",
    }
}
