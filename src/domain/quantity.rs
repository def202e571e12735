//! Quantities with explicit units, and their conversion to mass.

use super::validation::Invalid;
use serde::{Deserialize, Serialize};

/// The unit a lot is counted in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Unit {
    Piece,
    Kg,
    T,
    M,
    M2,
    M3,
}

text_enum!(Unit { Piece => "piece", Kg => "kg", T => "t", M => "m", M2 => "m2", M3 => "m3" });

/// What a passport's unit mass is given per.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MassUnit {
    Piece,
    M,
    M2,
    M3,
}

text_enum!(MassUnit { Piece => "piece", M => "m", M2 => "m2", M3 => "m3" });

impl MassUnit {
    pub fn as_unit(self) -> Unit {
        match self {
            MassUnit::Piece => Unit::Piece,
            MassUnit::M => Unit::M,
            MassUnit::M2 => Unit::M2,
            MassUnit::M3 => Unit::M3,
        }
    }
}

/// The mass of one piece, metre, square metre or cubic metre of a material, in grams.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct UnitMass {
    /// Grams per `per`.
    pub grams: i64,
    pub per: MassUnit,
}

/// The largest amount accepted in any unit; far beyond any lot, far below overflow.
pub const MAX_AMOUNT: i64 = 1_000_000_000;

/// A positive whole amount of a unit.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Quantity {
    pub amount: i64,
    pub unit: Unit,
}

impl Quantity {
    pub fn parse(amount: i64, unit: Unit) -> Result<Quantity, Invalid> {
        if amount <= 0 {
            return Err(Invalid::new(
                "not_positive",
                "must be a whole number above zero",
            ));
        }
        if amount > MAX_AMOUNT {
            return Err(Invalid::new(
                "too_large",
                format!("must be at most {MAX_AMOUNT}"),
            ));
        }
        Ok(Quantity { amount, unit })
    }
}

/// Grams in one `unit`: fixed for kg and t, through the passport's unit mass otherwise.
pub fn grams_per_unit(unit: Unit, unit_mass: Option<UnitMass>) -> Option<i64> {
    match unit {
        Unit::Kg => Some(1_000),
        Unit::T => Some(1_000_000),
        other => unit_mass
            .filter(|mass| mass.per.as_unit() == other)
            .map(|mass| mass.grams),
    }
}

/// The mass of `amount` units in whole kilograms, rounded to the nearest kilogram.
pub fn mass_kg(amount: i64, grams_per_unit: i64) -> i64 {
    let grams = i128::from(amount) * i128::from(grams_per_unit);
    ((grams + 500) / 1000).clamp(0, i128::from(i64::MAX)) as i64
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn kilograms_and_tonnes_always_weigh() {
        assert_eq!(grams_per_unit(Unit::Kg, None), Some(1_000));
        assert_eq!(grams_per_unit(Unit::T, None), Some(1_000_000));
        assert_eq!(grams_per_unit(Unit::Piece, None), None);
    }

    #[test]
    fn other_units_weigh_through_the_unit_mass() {
        let door = UnitMass {
            grams: 32_000,
            per: MassUnit::Piece,
        };
        assert_eq!(grams_per_unit(Unit::Piece, Some(door)), Some(32_000));
        assert_eq!(
            grams_per_unit(Unit::M2, Some(door)),
            None,
            "a door mass says nothing about m2"
        );
        assert_eq!(mass_kg(8, 32_000), 256);
        assert_eq!(mass_kg(3, 1_400), 4);
    }

    #[test]
    fn amounts_are_positive_and_bounded() {
        assert!(Quantity::parse(1, Unit::Piece).is_ok());
        assert_eq!(
            Quantity::parse(0, Unit::Kg).unwrap_err().code,
            "not_positive"
        );
        assert_eq!(
            Quantity::parse(-5, Unit::Kg).unwrap_err().code,
            "not_positive"
        );
        assert_eq!(
            Quantity::parse(MAX_AMOUNT + 1, Unit::T).unwrap_err().code,
            "too_large"
        );
        assert_eq!(mass_kg(MAX_AMOUNT, i64::MAX / 2), i64::MAX, "no overflow");
    }

    #[test]
    fn units_have_text_forms() {
        for unit in Unit::ALL {
            assert_eq!(unit.as_str().parse::<Unit>().unwrap(), *unit);
        }
        assert!("litre".parse::<Unit>().is_err());
    }
}
