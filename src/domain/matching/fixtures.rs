//! Wishes, offers and a small taxonomy for the matcher's tests.

use super::{AttributeBounds, CategoryTree, Offer, Wish};
use crate::domain::geo::Location;
use crate::domain::listing::ListingStatus;
use crate::domain::passport::{Condition, Dimensions};
use crate::domain::quantity::{Quantity, Unit};
use chrono::{DateTime, Duration, TimeZone, Utc};
use uuid::Uuid;

pub(crate) fn id(n: u128) -> Uuid {
    Uuid::from_u128(n)
}

pub(crate) const MATERIALS: Uuid = Uuid::from_u128(1);
pub(crate) const DOORS: Uuid = Uuid::from_u128(2);
pub(crate) const INTERIOR_DOORS: Uuid = Uuid::from_u128(3);
pub(crate) const EXTERIOR_DOORS: Uuid = Uuid::from_u128(4);
pub(crate) const TIMBER: Uuid = Uuid::from_u128(5);

/// materials ─ doors ─ interior doors
///           │       └ exterior doors
///           └ timber
pub(crate) fn tree() -> CategoryTree {
    CategoryTree::new([
        (MATERIALS, None),
        (DOORS, Some(MATERIALS)),
        (INTERIOR_DOORS, Some(DOORS)),
        (EXTERIOR_DOORS, Some(DOORS)),
        (TIMBER, Some(MATERIALS)),
    ])
}

pub(crate) fn now() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 5, 1, 12, 0, 0).unwrap()
}

pub(crate) fn days(n: i64) -> Duration {
    Duration::days(n)
}

/// The makerspace's address in Den Haag.
pub(crate) const HOME: Location = Location {
    lat: 52.07,
    lon: 4.30,
};

/// A point `km` due north of `from`.
pub(crate) fn north_of(from: Location, km: f64) -> Location {
    Location {
        lat: from.lat + (km / super::EARTH_RADIUS_KM).to_degrees(),
        lon: from.lon,
    }
}

/// 20 doors within 10 km, any condition, price or date, announced supply welcome.
pub(crate) fn wish() -> Wish {
    Wish {
        id: id(1000),
        category_id: DOORS,
        keywords: vec![],
        attributes: AttributeBounds::default(),
        condition_min: None,
        quantity: Quantity {
            amount: 20,
            unit: Unit::Piece,
        },
        near: HOME,
        radius_km: 10.0,
        needed_by: None,
        max_price: vec![],
        include_announced: true,
    }
}

/// 8 good oak interior doors of 32 kg, free, available 2 km north of [`HOME`].
pub(crate) fn offer() -> Offer {
    Offer {
        id: id(2000),
        organisation_id: id(3000),
        category_id: INTERIOR_DOORS,
        words: Offer::words_of(["Eikenhouten binnendeuren", "Massief eiken, met kozijn"]),
        dimensions: Dimensions {
            length_mm: Some(2015),
            width_mm: Some(830),
            height_mm: Some(40),
        },
        condition: Condition::Good,
        quantity_available: 8,
        unit: Unit::Piece,
        grams_per_unit: Some(32_000),
        location: north_of(HOME, 2.0),
        status: ListingStatus::Available,
        available_from: now() - days(1),
        price: None,
    }
}
