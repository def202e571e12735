//! Districts: named polygons uploaded as GeoJSON, and assigning points to them.

use super::validation::FieldErrors;
use geo::{BoundingRect, Intersects, MultiPolygon, Point, Polygon, Rect, Validation};
use uuid::Uuid;

/// A district as parsed from an upload, before it has an id.
#[derive(Debug, Clone)]
pub struct DistrictShape {
    pub code: String,
    pub name: String,
    pub shape: MultiPolygon<f64>,
    /// The geometry as GeoJSON, for storage and for clients.
    pub geometry: serde_json::Value,
    pub bounds: Rect<f64>,
}

fn string_property(feature: &geojson::Feature, key: &str) -> Option<String> {
    feature
        .property(key)
        .and_then(|value| value.as_str())
        .map(|s| s.trim().to_owned())
        .filter(|s| !s.is_empty())
}

/// Parses a FeatureCollection of named (Multi)Polygons in WGS84. Every problem is reported with
/// a pointer to its feature and the feature's name.
pub fn parse_feature_collection(
    raw: &serde_json::Value,
) -> Result<Vec<DistrictShape>, FieldErrors> {
    let mut errors = FieldErrors::new();
    let collection = match serde_json::from_value::<geojson::FeatureCollection>(raw.clone()) {
        Ok(collection) => collection,
        Err(error) => {
            errors.push(
                "",
                "invalid_geojson",
                format!("not a GeoJSON FeatureCollection: {error}"),
            );
            return Err(errors);
        }
    };
    if collection.features.is_empty() {
        errors.push("/features", "required", "must hold at least one district");
    }
    if collection.features.len() > 1000 {
        errors.push("/features", "too_many", "must hold at most 1000 districts");
        return Err(errors);
    }
    let mut shapes = Vec::new();
    let mut codes = std::collections::HashSet::new();
    for (i, feature) in collection.features.iter().enumerate() {
        let pointer = format!("/features/{i}");
        let Some(name) = string_property(feature, "name") else {
            errors.push(
                format!("{pointer}/properties/name"),
                "required",
                "every district needs a name",
            );
            continue;
        };
        let label = format!("district {name:?}");
        if name.chars().count() > 200 {
            errors.push(
                format!("{pointer}/properties/name"),
                "too_long",
                "must be at most 200 characters",
            );
        }
        let code = string_property(feature, "code").unwrap_or_else(|| name.clone());
        if code.chars().count() > 64 {
            errors.push(
                format!("{pointer}/properties/code"),
                "too_long",
                format!("{label}: must be at most 64 characters"),
            );
        }
        if !codes.insert(code.clone()) {
            errors.push(
                format!("{pointer}/properties/code"),
                "duplicate",
                format!("{label}: code {code:?} is used twice"),
            );
        }
        let Some(geometry) = &feature.geometry else {
            errors.push(
                format!("{pointer}/geometry"),
                "required",
                format!("{label} has no geometry"),
            );
            continue;
        };
        let shape: MultiPolygon<f64> = match &geometry.value {
            geojson::GeometryValue::Polygon { .. } => {
                match Polygon::<f64>::try_from(&geometry.value) {
                    Ok(polygon) => MultiPolygon(vec![polygon]),
                    Err(error) => {
                        errors.push(
                            format!("{pointer}/geometry"),
                            "invalid_geometry",
                            format!("{label}: {error}"),
                        );
                        continue;
                    }
                }
            }
            geojson::GeometryValue::MultiPolygon { .. } => {
                match MultiPolygon::<f64>::try_from(&geometry.value) {
                    Ok(multi) => multi,
                    Err(error) => {
                        errors.push(
                            format!("{pointer}/geometry"),
                            "invalid_geometry",
                            format!("{label}: {error}"),
                        );
                        continue;
                    }
                }
            }
            _ => {
                errors.push(
                    format!("{pointer}/geometry"),
                    "not_a_polygon",
                    format!("{label} must be a Polygon or MultiPolygon"),
                );
                continue;
            }
        };
        let in_range = shape
            .0
            .iter()
            .flat_map(|p| {
                p.exterior()
                    .coords()
                    .chain(p.interiors().iter().flat_map(|r| r.coords()))
            })
            .all(|c| {
                c.x.is_finite()
                    && c.y.is_finite()
                    && (-180.0..=180.0).contains(&c.x)
                    && (-90.0..=90.0).contains(&c.y)
            });
        if !in_range {
            errors.push(
                format!("{pointer}/geometry"),
                "out_of_range",
                format!("{label}: coordinates must be WGS84 longitude, latitude"),
            );
            continue;
        }
        if let Err(problem) = shape.check_validation() {
            errors.push(
                format!("{pointer}/geometry"),
                "invalid_polygon",
                format!("{label}: {problem}"),
            );
            continue;
        }
        let Some(bounds) = shape.bounding_rect() else {
            errors.push(
                format!("{pointer}/geometry"),
                "empty_geometry",
                format!("{label} has no area"),
            );
            continue;
        };
        let geometry_json = serde_json::to_value(geometry).unwrap_or(serde_json::Value::Null);
        shapes.push(DistrictShape {
            code,
            name,
            shape,
            geometry: geometry_json,
            bounds,
        });
    }
    errors.finish().map(|()| shapes)
}

/// Districts in memory, for assigning points to them.
#[derive(Debug, Default, Clone)]
pub struct DistrictIndex {
    districts: Vec<(Uuid, Rect<f64>, MultiPolygon<f64>)>,
}

impl DistrictIndex {
    pub fn new(districts: impl IntoIterator<Item = (Uuid, MultiPolygon<f64>)>) -> Self {
        let districts = districts
            .into_iter()
            .filter_map(|(id, shape)| shape.bounding_rect().map(|bounds| (id, bounds, shape)))
            .collect();
        DistrictIndex { districts }
    }

    /// The district containing the point (on a shared border: the first one listed).
    pub fn locate(&self, lat: f64, lon: f64) -> Option<Uuid> {
        let point = Point::new(lon, lat);
        self.districts
            .iter()
            .filter(|(_, bounds, _)| bounds.intersects(&point))
            .find(|(_, _, shape)| shape.intersects(&point))
            .map(|(id, _, _)| *id)
    }

    pub fn is_empty(&self) -> bool {
        self.districts.is_empty()
    }
}

/// Reads a stored GeoJSON geometry back into a shape.
pub fn shape_of(geometry: &serde_json::Value) -> Option<MultiPolygon<f64>> {
    let geometry = serde_json::from_value::<geojson::Geometry>(geometry.clone()).ok()?;
    match geometry.value {
        geojson::GeometryValue::Polygon { .. } => Polygon::try_from(&geometry.value)
            .ok()
            .map(|p| MultiPolygon(vec![p])),
        geojson::GeometryValue::MultiPolygon { .. } => MultiPolygon::try_from(&geometry.value).ok(),
        _ => None,
    }
}

/// A district's centre (its centroid) as (lat, lon): where "near this district" measures from.
pub fn centre_of(geometry: &serde_json::Value) -> Option<(f64, f64)> {
    use geo::Centroid;
    let point = shape_of(geometry)?.centroid()?;
    Some((point.y(), point.x()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn square(name: &str, x0: f64, y0: f64) -> serde_json::Value {
        json!({"type": "Feature", "properties": {"name": name, "code": name.to_lowercase()},
               "geometry": {"type": "Polygon", "coordinates": [[[x0, y0], [x0 + 0.1, y0], [x0 + 0.1, y0 + 0.1], [x0, y0 + 0.1], [x0, y0]]]}})
    }

    #[test]
    fn parses_and_locates() {
        let upload = json!({"type": "FeatureCollection", "features": [square("Centrum", 4.3, 52.0), square("Oost", 4.4, 52.0)]});
        let shapes = parse_feature_collection(&upload).unwrap();
        assert_eq!(shapes.len(), 2);
        let ids = [Uuid::now_v7(), Uuid::now_v7()];
        let index = DistrictIndex::new(shapes.into_iter().zip(ids).map(|(s, id)| (id, s.shape)));
        assert_eq!(index.locate(52.05, 4.35), Some(ids[0]));
        assert_eq!(index.locate(52.05, 4.45), Some(ids[1]));
        assert_eq!(index.locate(51.0, 4.35), None);
    }

    #[test]
    fn a_self_intersecting_polygon_is_named() {
        let bowtie = json!({"type": "Feature", "properties": {"name": "Strik"},
            "geometry": {"type": "Polygon", "coordinates": [[[4.0, 52.0], [4.1, 52.1], [4.1, 52.0], [4.0, 52.1], [4.0, 52.0]]]}});
        let upload = json!({"type": "FeatureCollection", "features": [square("Centrum", 4.3, 52.0), bowtie]});
        let errors = parse_feature_collection(&upload).unwrap_err().into_vec();
        assert_eq!(errors.len(), 1);
        assert_eq!(errors[0].pointer, "/features/1/geometry");
        assert!(errors[0].detail.contains("Strik"), "{}", errors[0].detail);
    }

    #[test]
    fn bad_uploads_are_refused() {
        for (upload, pointer) in [
            (json!({"type": "Point", "coordinates": [4.0, 52.0]}), ""),
            (
                json!({"type": "FeatureCollection", "features": []}),
                "/features",
            ),
            (
                json!({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {}, "geometry": null}]}),
                "/features/0/properties/name",
            ),
            (
                json!({"type": "FeatureCollection", "features": [{"type": "Feature", "properties": {"name": "P"},
                "geometry": {"type": "Point", "coordinates": [4.0, 52.0]}}]}),
                "/features/0/geometry",
            ),
            (
                json!({"type": "FeatureCollection", "features": [square("Ver", 200.0, 52.0)]}),
                "/features/0/geometry",
            ),
            (
                json!({"type": "FeatureCollection", "features": [square("Twee", 4.0, 52.0), square("Twee", 4.5, 52.0)]}),
                "/features/1/properties/code",
            ),
        ] {
            let errors = parse_feature_collection(&upload).unwrap_err().into_vec();
            assert_eq!(errors[0].pointer, pointer, "{upload}");
        }
    }
}
