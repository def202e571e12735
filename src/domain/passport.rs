//! Material passports: the identity of a batch of material, validated here once, and the rule
//! that keeps hazardous lots out of public listings until they are cleared.

use super::geo::Location;
use super::quantity::UnitMass;
use super::validation::{bounded_text, FieldErrors, Invalid};
use serde::{Deserialize, Serialize};
use std::collections::HashSet;

/// How worn a lot is, best first.
#[derive(
    Debug,
    Clone,
    Copy,
    PartialEq,
    Eq,
    Hash,
    PartialOrd,
    Ord,
    Serialize,
    Deserialize,
    utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Condition {
    Poor,
    Fair,
    Good,
    AsNew,
    New,
}

text_enum!(Condition { Poor => "poor", Fair => "fair", Good => "good", AsNew => "as_new", New => "new" });

impl Condition {
    /// The condition of a stored rank; an unknown rank reads as the lowest.
    pub fn from_rank(rank: i16) -> Condition {
        Condition::ALL
            .iter()
            .copied()
            .find(|c| c.rank() == rank)
            .unwrap_or(Condition::Poor)
    }

    /// 1 (poor) to 5 (new): stored beside the name so that "at least good" is a comparison.
    pub fn rank(self) -> i16 {
        match self {
            Condition::Poor => 1,
            Condition::Fair => 2,
            Condition::Good => 3,
            Condition::AsNew => 4,
            Condition::New => 5,
        }
    }
}

/// The R-strategies a lot is suited for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RStrategy {
    Reuse,
    Repair,
    Refurbish,
    Remanufacture,
    Repurpose,
    Recycle,
}

text_enum!(RStrategy {
    Reuse => "reuse",
    Repair => "repair",
    Refurbish => "refurbish",
    Remanufacture => "remanufacture",
    Repurpose => "repurpose",
    Recycle => "recycle",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Disassembly {
    Easy,
    Moderate,
    Hard,
}

text_enum!(Disassembly { Easy => "easy", Moderate => "moderate", Hard => "hard" });

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum DocumentKind {
    /// Declares named hazardous substances removed or absent (for example an asbestos
    /// inventory's clearance).
    Clearance,
    Certificate,
    Datasheet,
    Photo,
    Other,
}

/// One material of the composition and its share of the mass.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Component {
    #[schema(example = "oak")]
    pub material: String,
    /// Share of the mass in parts per million (1 000 000 = 100 %).
    #[schema(example = 950000)]
    pub fraction_ppm: i64,
}

/// A hazardous substance the lot contains or may contain.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Hazard {
    #[schema(example = "asbestos")]
    pub substance: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

/// A document about the lot, fixed by its SHA-256.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Document {
    #[schema(example = "https://example.org/asbest-inventarisatie.pdf")]
    pub url: String,
    /// Lower-case hex SHA-256 of the document's bytes.
    pub sha256: String,
    pub kind: DocumentKind,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// For a clearance: the hazardous substances it clears.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub clears: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Dimensions {
    pub length_mm: Option<i32>,
    pub width_mm: Option<i32>,
    pub height_mm: Option<i32>,
}

#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Origin {
    /// The site or building the material comes from.
    pub site: Option<String>,
    pub building_year: Option<i32>,
    pub location: Option<Location>,
    /// Where in the building the element is (floor, wing, room), as a pre-demolition
    /// inventory records it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(example = "2nd floor, east wing")]
    pub location_in_building: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Circularity {
    #[serde(default)]
    pub r_strategies: Vec<RStrategy>,
    pub disassembly: Option<Disassembly>,
}

/// Everything a passport says about its material. This is also the documented export form
/// (`kringloop-passport/1`): what is exported imports to the same content.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PassportContent {
    /// The category's code (see `GET /categories`).
    #[schema(example = "doors-interior")]
    pub category: String,
    /// EURAL (European List of Waste) code, `NN NN NN`.
    #[schema(example = "17 02 01")]
    pub eural_code: Option<String>,
    pub nlsfb_code: Option<String>,
    #[schema(example = "Oak interior doors, 201.5 × 83 cm")]
    pub name: String,
    pub description: Option<String>,
    pub product: Option<String>,
    pub manufacturer: Option<String>,
    #[serde(default)]
    pub composition: Vec<Component>,
    #[serde(default)]
    pub hazards: Vec<Hazard>,
    #[serde(default)]
    pub dimensions: Dimensions,
    pub unit_mass: Option<UnitMass>,
    pub condition: Condition,
    #[serde(default)]
    pub origin: Origin,
    #[serde(default)]
    pub circularity: Circularity,
    /// Cradle-to-gate embodied carbon, grams CO2e per kg of material.
    pub embodied_co2e_g_per_kg: Option<i32>,
    #[serde(default)]
    pub documents: Vec<Document>,
}

/// What validation needs to know of the world: the EURAL code's standing and today's year.
#[derive(Debug, Clone, Copy)]
pub struct PassportContext {
    /// `None` when the code is not on the list; `Some(hazardous)` otherwise.
    pub eural: Option<Option<bool>>,
    pub current_year: i32,
}

pub const MAX_DIMENSION_MM: i32 = 100_000;
pub const MAX_UNIT_MASS_G: i64 = 1_000_000_000;
pub const MAX_CO2E_G_PER_KG: i32 = 1_000_000;

fn optional_text(errors: &mut FieldErrors, pointer: &str, value: &Option<String>, max: usize) {
    if let Some(text) = value {
        errors.take(pointer, bounded_text(text, 1, max));
    }
}

/// Checks a document on its own; `hazards` are the substances it may clear.
pub fn validate_document(
    document: &Document,
    hazards: &[Hazard],
    pointer: &str,
    errors: &mut FieldErrors,
) {
    let url = document.url.trim();
    if !(url.starts_with("https://") || url.starts_with("http://"))
        || url.len() > 2000
        || url.contains(char::is_whitespace)
    {
        errors.push(
            format!("{pointer}/url"),
            "invalid_url",
            "must be an http(s) URL of at most 2000 characters",
        );
    }
    let hash_ok = document.sha256.len() == 64
        && document
            .sha256
            .bytes()
            .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
    if !hash_ok {
        errors.push(
            format!("{pointer}/sha256"),
            "invalid_sha256",
            "must be 64 lower-case hex digits",
        );
    }
    optional_text(errors, &format!("{pointer}/title"), &document.title, 200);
    if !document.clears.is_empty() && document.kind != DocumentKind::Clearance {
        errors.push(
            format!("{pointer}/clears"),
            "not_a_clearance",
            "only a clearance document clears substances",
        );
    }
    for (j, substance) in document.clears.iter().enumerate() {
        if !hazards
            .iter()
            .any(|h| h.substance.trim().eq_ignore_ascii_case(substance.trim()))
        {
            errors.push(
                format!("{pointer}/clears/{j}"),
                "unknown_hazard",
                format!("{substance:?} is not among the passport's hazards"),
            );
        }
    }
}

impl PassportContent {
    /// Validates every field; errors point into the request body.
    pub fn validate(&self, context: PassportContext) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::new();
        errors.take("/name", bounded_text(&self.name, 1, 200));
        optional_text(&mut errors, "/description", &self.description, 5000);
        optional_text(&mut errors, "/product", &self.product, 200);
        optional_text(&mut errors, "/manufacturer", &self.manufacturer, 200);
        optional_text(&mut errors, "/nlsfb_code", &self.nlsfb_code, 20);

        if let Some(code) = &self.eural_code {
            let well_formed = code.len() == 8
                && code.bytes().enumerate().all(|(i, b)| {
                    if i == 2 || i == 5 {
                        b == b' '
                    } else {
                        b.is_ascii_digit()
                    }
                });
            if !well_formed {
                errors.push(
                    "/eural_code",
                    "invalid_eural_code",
                    "must be six digits in pairs, like \"17 02 01\"",
                );
            } else {
                match context.eural {
                    None | Some(None) => errors.push(
                        "/eural_code",
                        "unknown_eural_code",
                        "is not on the European List of Waste",
                    ),
                    Some(Some(true)) if self.hazards.is_empty() => errors.push(
                        "/hazards",
                        "hazards_required",
                        format!(
                            "EURAL {code} is a hazardous waste code: name the hazardous substances"
                        ),
                    ),
                    Some(Some(_)) => {}
                }
            }
        }

        let mut total: i64 = 0;
        let mut materials = HashSet::new();
        for (i, component) in self.composition.iter().enumerate() {
            errors.take(
                &format!("/composition/{i}/material"),
                bounded_text(&component.material, 1, 100),
            );
            if !materials.insert(component.material.trim().to_lowercase()) {
                errors.push(
                    format!("/composition/{i}/material"),
                    "duplicate",
                    "is listed twice",
                );
            }
            if !(1..=1_000_000).contains(&component.fraction_ppm) {
                errors.push(
                    format!("/composition/{i}/fraction_ppm"),
                    "out_of_range",
                    "must lie between 1 and 1000000",
                );
            } else {
                total += component.fraction_ppm;
            }
        }
        if total > 1_000_000 {
            errors.push(
                "/composition",
                "over_100_percent",
                format!("mass fractions add up to {total} ppm, more than 100 %"),
            );
        }

        let mut substances = HashSet::new();
        for (i, hazard) in self.hazards.iter().enumerate() {
            errors.take(
                &format!("/hazards/{i}/substance"),
                bounded_text(&hazard.substance, 1, 100),
            );
            optional_text(
                &mut errors,
                &format!("/hazards/{i}/note"),
                &hazard.note,
                1000,
            );
            if !substances.insert(hazard.substance.trim().to_lowercase()) {
                errors.push(
                    format!("/hazards/{i}/substance"),
                    "duplicate",
                    "is listed twice",
                );
            }
        }

        for (name, value) in [
            ("length_mm", self.dimensions.length_mm),
            ("width_mm", self.dimensions.width_mm),
            ("height_mm", self.dimensions.height_mm),
        ] {
            if let Some(mm) = value {
                if !(1..=MAX_DIMENSION_MM).contains(&mm) {
                    errors.push(
                        format!("/dimensions/{name}"),
                        "out_of_range",
                        format!("must lie between 1 and {MAX_DIMENSION_MM}"),
                    );
                }
            }
        }
        if let Some(mass) = self.unit_mass {
            if !(1..=MAX_UNIT_MASS_G).contains(&mass.grams) {
                errors.push(
                    "/unit_mass/grams",
                    "out_of_range",
                    format!("must lie between 1 and {MAX_UNIT_MASS_G}"),
                );
            }
        }

        optional_text(&mut errors, "/origin/site", &self.origin.site, 200);
        optional_text(
            &mut errors,
            "/origin/location_in_building",
            &self.origin.location_in_building,
            200,
        );
        if let Some(year) = self.origin.building_year {
            if !(1000..=context.current_year).contains(&year) {
                errors.push(
                    "/origin/building_year",
                    "out_of_range",
                    format!("must lie between 1000 and {}", context.current_year),
                );
            }
        }
        if let Some(location) = self.origin.location {
            Location::parse(location.lat, location.lon, "/origin/location", &mut errors);
        }

        let mut strategies = HashSet::new();
        for (i, strategy) in self.circularity.r_strategies.iter().enumerate() {
            if !strategies.insert(*strategy) {
                errors.push(
                    format!("/circularity/r_strategies/{i}"),
                    "duplicate",
                    "is listed twice",
                );
            }
        }
        if let Some(co2e) = self.embodied_co2e_g_per_kg {
            if !(0..=MAX_CO2E_G_PER_KG).contains(&co2e) {
                errors.push(
                    "/embodied_co2e_g_per_kg",
                    "out_of_range",
                    format!("must lie between 0 and {MAX_CO2E_G_PER_KG}"),
                );
            }
        }
        for (i, document) in self.documents.iter().enumerate() {
            validate_document(
                document,
                &self.hazards,
                &format!("/documents/{i}"),
                &mut errors,
            );
        }
        errors.finish()
    }

    /// Hazardous substances that no clearance document clears.
    pub fn uncleared_hazards(&self) -> Vec<&str> {
        self.hazards
            .iter()
            .map(|hazard| hazard.substance.trim())
            .filter(|substance| {
                !self.documents.iter().any(|document| {
                    document.kind == DocumentKind::Clearance
                        && document
                            .clears
                            .iter()
                            .any(|cleared| cleared.trim().eq_ignore_ascii_case(substance))
                })
            })
            .collect()
    }

    /// May this lot be offered publicly? Not while a hazard is uncleared.
    pub fn check_listable(&self) -> Result<(), Invalid> {
        let uncleared = self.uncleared_hazards();
        if uncleared.is_empty() {
            Ok(())
        } else {
            Err(Invalid::new(
                "hazard_not_cleared",
                format!("attach a clearance document for: {}", uncleared.join(", ")),
            ))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::quantity::MassUnit;

    pub(crate) fn doors() -> PassportContent {
        PassportContent {
            category: "doors-interior".into(),
            eural_code: Some("17 02 01".into()),
            nlsfb_code: None,
            name: "Oak interior doors".into(),
            description: Some("Solid oak, with frames".into()),
            product: None,
            manufacturer: None,
            composition: vec![
                Component {
                    material: "oak".into(),
                    fraction_ppm: 950_000,
                },
                Component {
                    material: "steel".into(),
                    fraction_ppm: 50_000,
                },
            ],
            hazards: vec![],
            dimensions: Dimensions {
                length_mm: Some(2015),
                width_mm: Some(830),
                height_mm: Some(40),
            },
            unit_mass: Some(UnitMass {
                grams: 32_000,
                per: MassUnit::Piece,
            }),
            condition: Condition::Good,
            origin: Origin {
                site: Some("Binckhorst".into()),
                building_year: Some(1968),
                location: None,
                location_in_building: None,
            },
            circularity: Circularity {
                r_strategies: vec![RStrategy::Reuse],
                disassembly: Some(Disassembly::Easy),
            },
            embodied_co2e_g_per_kg: Some(460),
            documents: vec![],
        }
    }

    const CONTEXT: PassportContext = PassportContext {
        eural: Some(Some(false)),
        current_year: 2026,
    };

    fn pointers(errors: FieldErrors) -> Vec<String> {
        errors.into_vec().into_iter().map(|e| e.pointer).collect()
    }

    #[test]
    fn a_good_passport_passes() {
        doors().validate(CONTEXT).unwrap();
        doors().check_listable().unwrap();
    }

    #[test]
    fn fractions_cannot_exceed_100_percent() {
        let mut passport = doors();
        passport.composition[1].fraction_ppm = 60_000;
        assert_eq!(
            pointers(passport.validate(CONTEXT).unwrap_err()),
            ["/composition"]
        );
        passport.composition[1].fraction_ppm = 0;
        assert_eq!(
            pointers(passport.validate(CONTEXT).unwrap_err()),
            ["/composition/1/fraction_ppm"]
        );
    }

    #[test]
    fn eural_codes_must_exist_and_hazardous_ones_need_hazards() {
        let mut passport = doors();
        passport.eural_code = Some("17-02-01".into());
        assert_eq!(
            pointers(passport.validate(CONTEXT).unwrap_err()),
            ["/eural_code"]
        );
        passport.eural_code = Some("17 99 99".into());
        let unknown = PassportContext {
            eural: Some(None),
            ..CONTEXT
        };
        assert_eq!(
            pointers(passport.validate(unknown).unwrap_err()),
            ["/eural_code"]
        );
        passport.eural_code = Some("17 06 05".into());
        let hazardous = PassportContext {
            eural: Some(Some(true)),
            ..CONTEXT
        };
        assert_eq!(
            pointers(passport.validate(hazardous).unwrap_err()),
            ["/hazards"]
        );
        passport.hazards.push(Hazard {
            substance: "asbestos".into(),
            note: None,
        });
        passport.validate(hazardous).unwrap();
    }

    #[test]
    fn a_hazard_blocks_listing_until_a_clearance_names_it() {
        let mut passport = doors();
        passport.hazards.push(Hazard {
            substance: "Asbestos".into(),
            note: Some("in the door seals".into()),
        });
        assert_eq!(
            passport.check_listable().unwrap_err().code,
            "hazard_not_cleared"
        );
        passport.documents.push(Document {
            url: "https://example.org/photo.jpg".into(),
            sha256: "a".repeat(64),
            kind: DocumentKind::Photo,
            title: None,
            clears: vec![],
        });
        assert!(passport.check_listable().is_err(), "a photo clears nothing");
        passport.documents.push(Document {
            url: "https://example.org/clearance.pdf".into(),
            sha256: "b".repeat(64),
            kind: DocumentKind::Clearance,
            title: Some("Vrijgave asbest".into()),
            clears: vec!["asbestos".into()],
        });
        passport.validate(CONTEXT).unwrap();
        passport.check_listable().unwrap();
    }

    #[test]
    fn documents_are_checked() {
        let mut passport = doors();
        passport.documents.push(Document {
            url: "ftp://x".into(),
            sha256: "XYZ".into(),
            kind: DocumentKind::Photo,
            title: None,
            clears: vec!["lead".into()],
        });
        assert_eq!(
            pointers(passport.validate(CONTEXT).unwrap_err()),
            [
                "/documents/0/url",
                "/documents/0/sha256",
                "/documents/0/clears",
                "/documents/0/clears/0"
            ]
        );
    }

    #[test]
    fn ranges_are_enforced() {
        let mut passport = doors();
        passport.dimensions.length_mm = Some(-1);
        passport.unit_mass = Some(UnitMass {
            grams: 0,
            per: MassUnit::Piece,
        });
        passport.origin.building_year = Some(2999);
        passport.origin.location = Some(Location {
            lat: 100.0,
            lon: 0.0,
        });
        passport.embodied_co2e_g_per_kg = Some(-3);
        passport.circularity.r_strategies = vec![RStrategy::Reuse, RStrategy::Reuse];
        assert_eq!(
            pointers(passport.validate(CONTEXT).unwrap_err()),
            [
                "/dimensions/length_mm",
                "/unit_mass/grams",
                "/origin/building_year",
                "/origin/location/lat",
                "/circularity/r_strategies/1",
                "/embodied_co2e_g_per_kg"
            ]
        );
    }

    #[test]
    fn conditions_rank_in_order() {
        assert!(Condition::New > Condition::Good);
        assert_eq!(
            Condition::ALL.iter().map(|c| c.rank()).collect::<Vec<_>>(),
            [1, 2, 3, 4, 5]
        );
    }
}
