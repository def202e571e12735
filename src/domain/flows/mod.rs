//! Stream analysis: months, grouping by a level of the category tree, the transport a flow
//! costs, the district balance, disclosure control for open data and supply forecasts.

pub mod balance;
pub mod disclosure;
pub mod forecast;
pub mod pipeline;

use super::geo::Location;
use super::matching::VAN_KG_CO2E_PER_TONNE_KM;
use super::validation::Invalid;
use chrono::{DateTime, Datelike, NaiveDate, TimeZone, Utc};
use std::collections::HashMap;
use uuid::Uuid;

/// A calendar month (UTC), the grain of every rollup and report.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Month {
    /// Months since year 0: consecutive months are consecutive numbers.
    index: i32,
}

impl Month {
    pub fn new(year: i32, month: u32) -> Option<Month> {
        (1..=12).contains(&month).then(|| Month {
            index: year * 12 + month as i32 - 1,
        })
    }

    /// Parses `YYYY-MM`.
    pub fn parse(text: &str) -> Result<Month, Invalid> {
        let bad = || Invalid::new("invalid_month", "must be a month as YYYY-MM");
        let (year, month) = text.split_once('-').ok_or_else(bad)?;
        // Digits only: `parse` would also take a sign (`+123-+1`).
        let digits = year
            .bytes()
            .chain(month.bytes())
            .all(|b| b.is_ascii_digit());
        if year.len() != 4 || month.len() != 2 || !digits {
            return Err(bad());
        }
        let year: i32 = year.parse().map_err(|_| bad())?;
        let month: u32 = month.parse().map_err(|_| bad())?;
        Month::new(year, month).ok_or_else(bad)
    }

    pub fn of(at: DateTime<Utc>) -> Month {
        Month {
            index: at.year() * 12 + at.month0() as i32,
        }
    }

    pub fn of_date(date: NaiveDate) -> Month {
        Month {
            index: date.year() * 12 + date.month0() as i32,
        }
    }

    pub fn year(self) -> i32 {
        self.index.div_euclid(12)
    }

    pub fn month(self) -> u32 {
        self.index.rem_euclid(12) as u32 + 1
    }

    pub fn first_day(self) -> NaiveDate {
        NaiveDate::from_ymd_opt(self.year(), self.month(), 1).unwrap_or(NaiveDate::MIN)
    }

    /// The first instant of the month.
    pub fn start(self) -> DateTime<Utc> {
        Utc.from_utc_datetime(&self.first_day().and_hms_opt(0, 0, 0).unwrap_or_default())
    }

    pub fn plus(self, months: i32) -> Month {
        Month {
            index: self.index + months,
        }
    }

    /// How many months from `self` to `later` (negative when `later` is earlier).
    pub fn until(self, later: Month) -> i32 {
        later.index - self.index
    }
}

impl std::fmt::Display for Month {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{:04}-{:02}", self.year(), self.month())
    }
}

/// Great-circle distance between two points in km, as the matcher measures it.
pub fn distance_km(lat_a: f64, lon_a: f64, lat_b: f64, lon_b: f64) -> f64 {
    super::matching::distance_km(
        Location {
            lat: lat_a,
            lon: lon_a,
        },
        Location {
            lat: lat_b,
            lon: lon_b,
        },
    )
}

/// The transport a hand-over cost, in grams CO2e: a light van carrying `mass_g` for `km`.
pub fn transport_co2e_g(mass_g: i64, km: f64) -> i64 {
    (mass_g.max(0) as f64 / 1e6 * km.max(0.0) * VAN_KG_CO2E_PER_TONNE_KM * 1000.0).round() as i64
}

/// The category tree as parent links, to group leaves under their ancestor at a level (0 is the
/// roots) when a report is read, so that moving a category never rewrites a rollup.
#[derive(Debug, Clone, Default)]
pub struct Tree {
    parent: HashMap<Uuid, Option<Uuid>>,
}

impl Tree {
    pub fn new(links: impl IntoIterator<Item = (Uuid, Option<Uuid>)>) -> Tree {
        Tree {
            parent: links.into_iter().collect(),
        }
    }

    /// The path from the root to `id`, both included; cut short on a cycle or an unknown id.
    fn path(&self, id: Uuid) -> Vec<Uuid> {
        let mut path = vec![id];
        let mut at = id;
        while let Some(Some(up)) = self.parent.get(&at) {
            if path.contains(up) {
                break;
            }
            path.push(*up);
            at = *up;
        }
        path.reverse();
        path
    }

    /// The ancestor of `id` at `level`, or `id` itself when it is not that deep.
    pub fn at_level(&self, id: Uuid, level: usize) -> Uuid {
        let path = self.path(id);
        path.get(level).copied().unwrap_or(id)
    }

    /// `id` and every category below it.
    pub fn subtree(&self, id: Uuid) -> Vec<Uuid> {
        self.parent
            .keys()
            .copied()
            .filter(|&c| self.path(c).contains(&id))
            .collect()
    }

    pub fn ids(&self) -> impl Iterator<Item = Uuid> + '_ {
        self.parent.keys().copied()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn months_parse_print_and_count() {
        let m = Month::parse("2026-11").unwrap();
        assert_eq!(m.to_string(), "2026-11");
        assert_eq!(m.plus(2).to_string(), "2027-01");
        assert_eq!(m.plus(-11).to_string(), "2025-12");
        assert_eq!(m.until(m.plus(14)), 14);
        for bad in [
            "2026-13", "2026-00", "26-01", "2026/01", "x", "2026-1", "+123-+1", "-202-01",
        ] {
            assert!(Month::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn transport_is_a_tenth_of_a_kilo_per_tonne_km() {
        // 2 t over 15 km: 3 kg.
        assert_eq!(transport_co2e_g(2_000_000, 15.0), 3000);
        assert_eq!(transport_co2e_g(0, 15.0), 0);
    }

    #[test]
    fn a_leaf_groups_under_its_ancestor_at_a_level() {
        let (root, mid, leaf) = (Uuid::from_u128(1), Uuid::from_u128(2), Uuid::from_u128(3));
        let tree = Tree::new([(root, None), (mid, Some(root)), (leaf, Some(mid))]);
        assert_eq!(tree.at_level(leaf, 0), root);
        assert_eq!(tree.at_level(leaf, 1), mid);
        assert_eq!(tree.at_level(leaf, 5), leaf);
        let mut below = tree.subtree(mid);
        below.sort();
        assert_eq!(below, vec![mid, leaf]);
    }
}
