//! Geographic values: a WGS84 point with validated coordinates, and the rounding that
//! publishes a point without pinning it down.

use super::validation::{FieldErrors, Invalid};
use serde::{Deserialize, Serialize};

/// A point on the earth in WGS84 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Location {
    /// Latitude in degrees, -90 to 90.
    pub lat: f64,
    /// Longitude in degrees, -180 to 180.
    pub lon: f64,
}

impl Location {
    /// Checks the ranges; errors are recorded under `pointer`/lat and `pointer`/lon.
    pub fn parse(lat: f64, lon: f64, pointer: &str, errors: &mut FieldErrors) -> Option<Location> {
        let lat_ok = errors
            .take(&format!("{pointer}/lat"), check_range(lat, 90.0))
            .is_some();
        let lon_ok = errors
            .take(&format!("{pointer}/lon"), check_range(lon, 180.0))
            .is_some();
        (lat_ok && lon_ok).then_some(Location { lat, lon })
    }
}

/// Rounds a coordinate to three decimals: about 110 m north–south, 70 m east–west here. What
/// open data and anyone who may not know a pickup point exactly are shown.
pub fn coarse(degrees: f64) -> f64 {
    (degrees * 1000.0).round() / 1000.0
}

fn check_range(value: f64, bound: f64) -> Result<f64, Invalid> {
    if value.is_finite() && (-bound..=bound).contains(&value) {
        Ok(value)
    } else {
        Err(Invalid::new(
            "out_of_range",
            format!("must lie between -{bound} and {bound}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn coarse_keeps_three_decimals() {
        assert_eq!(coarse(52.070_512_3), 52.071);
        assert_eq!(coarse(4.300_449_9), 4.300);
        assert_eq!(coarse(-4.300_5), -4.301);
    }

    #[test]
    fn rejects_out_of_range_coordinates() {
        let mut errors = FieldErrors::new();
        assert!(Location::parse(52.07, 4.30, "/location", &mut errors).is_some());
        assert!(Location::parse(91.0, 4.30, "/location", &mut errors).is_none());
        assert!(Location::parse(52.0, -180.5, "/x", &mut errors).is_none());
        let pointers: Vec<_> = errors.into_vec().into_iter().map(|e| e.pointer).collect();
        assert_eq!(pointers, ["/location/lat", "/x/lon"]);
    }
}
