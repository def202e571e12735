//! A global grid of roughly square cells, and the cells a circle on the earth can touch.
//!
//! Rows are bands of equal latitude height; each row is cut into a whole number of columns, as
//! many as fit while keeping a column at least [`CELL_KM`] wide at the row's poleward edge (an
//! equirectangular projection per row). A point lies in exactly one cell; a circle is covered by
//! the cells its bounding box touches. The cover is conservative: every point that
//! [`distance_km`] puts within the radius lies in a covering cell, also after rounding.

use crate::domain::geo::Location;
use std::f64::consts::{FRAC_PI_2, PI};

/// The mean radius of the earth (IUGG), used for every distance in matching.
pub const EARTH_RADIUS_KM: f64 = 6371.0088;

/// The side of a grid cell. Measured against 5 and 20 km on benchmark P1: 10 km cells find
/// matches as fast as 5 km cells, with half the index memory and a third of the build time (the
/// index's screen by distance makes the extra area cheap); 20 km cells slow small indexes down.
pub(crate) const CELL_KM: f64 = 10.0;

/// A cover with more cells than this is treated as "everywhere" by the wish index.
pub(crate) const MAX_COVER_CELLS: usize = 4096;

const CELL_DEG: f64 = CELL_KM / (EARTH_RADIUS_KM * PI / 180.0);

/// Extra angle, in radians, that covers absorb rounding with: far more than any rounding of
/// [`distance_km`], far less than a metre.
const MARGIN_RAD: f64 = 1e-9;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub(crate) struct Cell {
    row: i32,
    col: i32,
}

impl Cell {
    /// Not a place: the key under which wishes that reach too many cells are kept.
    pub(crate) const EVERYWHERE: Cell = Cell { row: -1, col: -1 };
}

/// Whether a point has finite coordinates within the WGS84 ranges; others match nothing.
pub fn is_valid(location: Location) -> bool {
    location.lat.is_finite()
        && location.lon.is_finite()
        && (-90.0..=90.0).contains(&location.lat)
        && (-180.0..=180.0).contains(&location.lon)
}

/// Great-circle distance by the haversine formula, in km.
pub fn distance_km(a: Location, b: Location) -> f64 {
    let (lat_a, lat_b) = (a.lat.to_radians(), b.lat.to_radians());
    let half_dlat = (lat_b - lat_a) / 2.0;
    let half_dlon = (b.lon - a.lon).to_radians() / 2.0;
    let h = half_dlat.sin().powi(2) + lat_a.cos() * lat_b.cos() * half_dlon.sin().powi(2);
    2.0 * EARTH_RADIUS_KM * h.clamp(0.0, 1.0).sqrt().asin()
}

fn rows() -> i32 {
    (180.0 / CELL_DEG).ceil() as i32
}

fn columns(row: i32) -> i32 {
    let south = -90.0 + f64::from(row) * CELL_DEG;
    let north = (south + CELL_DEG).min(90.0);
    let poleward = south.abs().max(north.abs()).min(90.0);
    let width = 360.0 * poleward.to_radians().cos();
    ((width / CELL_DEG).floor() as i32).max(1)
}

fn row_of(lat: f64) -> i32 {
    (((lat + 90.0) / CELL_DEG).floor() as i32).clamp(0, rows() - 1)
}

fn col_of(columns: i32, lon: f64) -> i32 {
    let width = 360.0 / f64::from(columns);
    (((lon + 180.0).rem_euclid(360.0) / width).floor() as i32).clamp(0, columns - 1)
}

/// The one cell a valid point lies in.
pub(crate) fn cell_of(location: Location) -> Option<Cell> {
    if !is_valid(location) {
        return None;
    }
    let row = row_of(location.lat);
    Some(Cell {
        row,
        col: col_of(columns(row), location.lon),
    })
}

/// The cells a circle may reach.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) enum Cover {
    /// The centre or radius is not valid: the circle reaches nothing.
    Nowhere,
    /// Rows `south..=north`, each between two longitudes (degrees, east of `west` up to
    /// `east`, which may lie beyond ±180), or whole rows when `whole_rows`.
    Rows {
        south: i32,
        north: i32,
        west: f64,
        east: f64,
        whole_rows: bool,
    },
}

/// The cells touched by the bounding box of the circle of `radius_km` around `center`.
pub(crate) fn cover(center: Location, radius_km: f64) -> Cover {
    if !is_valid(center) || radius_km.is_nan() || radius_km < 0.0 {
        return Cover::Nowhere;
    }
    let reach = radius_km / EARTH_RADIUS_KM * (1.0 + 1e-9) + MARGIN_RAD;
    let lat = center.lat.to_radians();
    let (lat_lo, lat_hi) = (lat - reach, lat + reach);
    let south = row_of(lat_lo.max(-FRAC_PI_2).to_degrees());
    let north = row_of(lat_hi.min(FRAC_PI_2).to_degrees());
    if lat_lo <= -FRAC_PI_2 || lat_hi >= FRAC_PI_2 {
        // The circle holds a pole: every longitude.
        return Cover::Rows {
            south,
            north,
            west: -180.0,
            east: 180.0,
            whole_rows: true,
        };
    }
    let dlon = ((reach.sin() / lat.cos()).min(1.0).asin() * (1.0 + 1e-9) + MARGIN_RAD).to_degrees();
    Cover::Rows {
        south,
        north,
        west: center.lon - dlon,
        east: center.lon + dlon,
        whole_rows: 2.0 * dlon >= 360.0,
    }
}

/// The columns of `row` between `west` and `east`: first column and how many, going east.
fn row_span(row: i32, west: f64, east: f64, whole_rows: bool) -> (i32, i32, i32) {
    let n = columns(row);
    let width = 360.0 / f64::from(n);
    if whole_rows || east - west >= 360.0 - 2.0 * width {
        return (0, n, n);
    }
    let first = col_of(n, west);
    let last = col_of(n, east);
    (first, (last - first).rem_euclid(n) + 1, n)
}

impl Cover {
    /// How many cells the cover holds, without listing them.
    pub(crate) fn count(&self) -> usize {
        match *self {
            Cover::Nowhere => 0,
            Cover::Rows {
                south,
                north,
                west,
                east,
                whole_rows,
            } => (south..=north)
                .map(|row| row_span(row, west, east, whole_rows).1 as usize)
                .sum(),
        }
    }

    pub(crate) fn cells(&self) -> impl Iterator<Item = Cell> + '_ {
        let rows = match *self {
            Cover::Nowhere => None,
            Cover::Rows { south, north, .. } => Some(south..=north),
        };
        rows.into_iter().flatten().flat_map(move |row| {
            let (first, count, n) = match *self {
                Cover::Nowhere => (0, 0, 1),
                Cover::Rows {
                    west,
                    east,
                    whole_rows,
                    ..
                } => row_span(row, west, east, whole_rows),
            };
            (0..count).map(move |step| Cell {
                row,
                col: (first + step) % n,
            })
        })
    }
}

#[cfg(test)]
pub(crate) fn corner(near: Location, rows: i32, cols: i32) -> Location {
    let row = (row_of(near.lat) + rows).clamp(0, self::rows() - 1);
    let n = columns(row);
    let col = (col_of(n, near.lon) + cols).rem_euclid(n);
    Location {
        lat: -90.0 + f64::from(row) * CELL_DEG,
        lon: -180.0 + f64::from(col) * 360.0 / f64::from(n),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(lat: f64, lon: f64) -> Location {
        Location { lat, lon }
    }

    #[test]
    fn cells_are_about_cell_km_square() {
        let den_haag = at(52.07, 4.30);
        let north = at(52.07 + CELL_DEG, 4.30);
        assert!((distance_km(den_haag, north) - CELL_KM).abs() < 1e-9);
        let row = row_of(52.07);
        let width_deg = 360.0 / f64::from(columns(row));
        let east = at(52.07, 4.30 + width_deg);
        let width_km = distance_km(den_haag, east);
        assert!((CELL_KM..CELL_KM * 1.02).contains(&width_km), "{width_km}");
    }

    #[test]
    fn distance_is_haversine() {
        // Den Haag Centraal to Rotterdam Centraal, about 21 km as the crow flies.
        let d = distance_km(at(52.0809, 4.3240), at(51.9244, 4.4695));
        assert!((20.0..21.5).contains(&d), "{d}");
        assert_eq!(distance_km(at(10.0, 179.9), at(10.0, -179.9)).round(), 22.0);
    }

    #[test]
    fn a_circle_is_covered_where_it_reaches() {
        let center = at(52.07, 4.30);
        let cover = cover(center, 12.0);
        let cells: Vec<Cell> = cover.cells().collect();
        assert_eq!(cells.len(), cover.count());
        for step in 0..720 {
            let bearing = f64::from(step).to_radians() / 2.0;
            for km in [0.0, 6.0, 11.999] {
                let dlat = km * bearing.cos() / 111.2;
                let dlon = km * bearing.sin() / (111.2 * 52.07_f64.to_radians().cos());
                let point = at(52.07 + dlat, 4.30 + dlon);
                if distance_km(center, point) <= 12.0 {
                    assert!(cells.contains(&cell_of(point).unwrap()));
                }
            }
        }
    }

    #[test]
    fn covers_wrap_at_the_date_line_and_hold_poles() {
        let cover_east = cover(at(0.0, 179.99), 10.0);
        let cells: Vec<Cell> = cover_east.cells().collect();
        assert!(cells.contains(&cell_of(at(0.0, -179.99)).unwrap()));
        assert!(cells.contains(&cell_of(at(0.0, 179.99)).unwrap()));
        let polar = cover(at(89.99, 0.0), 5.0);
        let cells: Vec<Cell> = polar.cells().collect();
        assert!(cells.contains(&cell_of(at(89.995, 120.0)).unwrap()));
        assert!(cells.contains(&cell_of(at(90.0, -180.0)).unwrap()));
        assert_eq!(cover(at(91.0, 0.0), 1.0), Cover::Nowhere);
        assert_eq!(cover(at(0.0, 0.0), f64::NAN), Cover::Nowhere);
        assert!(cover(at(0.0, 0.0), f64::INFINITY).count() > MAX_COVER_CELLS);
    }
}
