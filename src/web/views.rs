//! What the pages show of the use cases' answers: flat, named, in the visitor's language.

use super::i18n::{self, Lang};
use super::page::PageError;
use super::session::Visitor;
use crate::app::accounts::{self, Me};
use crate::app::listings::Listing;
use crate::app::passports::Passport;
use crate::app::{categories, districts, Ctx};
use crate::domain::district::centre_of;
use serde::Serialize;
use std::collections::HashMap;
use uuid::Uuid;

pub const CONDITIONS: &[&str] = &["poor", "fair", "good", "as_new", "new"];
pub const UNITS: &[&str] = &["piece", "kg", "t", "m", "m2", "m3"];
pub const MASS_UNITS: &[&str] = &["piece", "m", "m2", "m3"];

/// The visitor's word for `key`.
pub fn t(visitor: &Visitor, key: &str) -> &'static str {
    i18n::strings(visitor.lang).get(key).copied().unwrap_or("")
}

/// A note of what was just done (`?notice=key` after a form), from a known key only.
pub fn notice_text(visitor: &Visitor, key: Option<&str>) -> Option<&'static str> {
    let key = key?;
    if !key.chars().all(|c| c.is_ascii_lowercase() || c == '_') {
        return None;
    }
    Some(t(visitor, &format!("notice_{key}"))).filter(|text| !text.is_empty())
}

/// The signed-in visitor's user and organisation, for the frame of the page.
pub async fn me(ctx: &Ctx, visitor: &Visitor) -> Result<Option<Me>, PageError> {
    match &visitor.actor {
        Some(actor) => Ok(Some(accounts::me(ctx, actor).await?)),
        None => Ok(None),
    }
}

/// JSON for a `<script type="application/json">` block: `<` escaped so that no text in it
/// can close the block.
pub fn script_json(value: &impl Serialize) -> String {
    serde_json::to_string(value)
        .unwrap_or_else(|_| "null".into())
        .replace('<', "\\u003c")
        .replace('>', "\\u003e")
        .replace('&', "\\u0026")
}

#[derive(Debug, Clone, Serialize)]
pub struct CategoryOption {
    pub id: Uuid,
    pub code: String,
    pub label: String,
    pub eural: String,
}

impl CategoryOption {
    /// Every category, named in `lang`, sorted by name.
    pub async fn all(ctx: &Ctx, lang: Lang) -> Result<Vec<CategoryOption>, PageError> {
        let mut options: Vec<CategoryOption> = categories::list(ctx)
            .await?
            .into_iter()
            .map(|c| CategoryOption {
                id: c.id,
                label: match lang {
                    Lang::Nl => c.name_nl,
                    Lang::En => c.name_en,
                },
                code: c.code,
                eural: c.eural_codes.join(", "),
            })
            .collect();
        options.sort_by_key(|c| c.label.to_lowercase());
        Ok(options)
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct DistrictOption {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub retired: bool,
    #[serde(skip)]
    pub centre: Option<(f64, f64)>,
}

impl DistrictOption {
    /// The districts in use, sorted by name.
    pub async fn all(ctx: &Ctx) -> Result<Vec<DistrictOption>, PageError> {
        Self::load(ctx, false).await
    }

    pub async fn load(ctx: &Ctx, with_retired: bool) -> Result<Vec<DistrictOption>, PageError> {
        let mut options: Vec<DistrictOption> = districts::list(ctx, with_retired)
            .await?
            .into_iter()
            .map(|d| DistrictOption {
                id: d.id,
                centre: centre_of(&d.geometry),
                code: d.code,
                name: d.name,
                retired: d.retired_at.is_some(),
            })
            .collect();
        options.sort_by(|a, b| a.name.cmp(&b.name));
        Ok(options)
    }
}

pub fn district_names(districts: &[DistrictOption]) -> HashMap<Uuid, String> {
    districts.iter().map(|d| (d.id, d.name.clone())).collect()
}

/// A lot as a list or a page shows it.
#[derive(Debug, Clone, Serialize)]
pub struct LotView {
    pub id: Uuid,
    pub title: String,
    pub status: String,
    pub quantity: i64,
    pub available: i64,
    pub unit: String,
    pub mass_kg: Option<i64>,
    pub condition: String,
    pub available_from: String,
    pub price: Option<String>,
    pub district: Option<String>,
    pub distance_km: Option<String>,
    pub lat: f64,
    pub lon: f64,
    pub address: Option<String>,
    pub note: Option<String>,
}

impl LotView {
    /// `rounded`: the location to three decimals (about 100 m), as open data gives it.
    pub fn of(lot: Listing, districts: &HashMap<Uuid, String>, rounded: bool) -> LotView {
        let round = |x: f64| {
            if rounded {
                crate::domain::geo::coarse(x)
            } else {
                x
            }
        };
        LotView {
            id: lot.id,
            title: lot.title,
            status: lot.status.as_str().to_owned(),
            quantity: lot.quantity.amount,
            available: lot.quantity_available,
            unit: lot.quantity.unit.as_str().to_owned(),
            mass_kg: lot.mass_kg,
            condition: lot.condition.as_str().to_owned(),
            available_from: lot.available_from.to_rfc3339(),
            price: lot
                .price
                .map(|p| format!("{}.{:02} {}", p.amount / 100, p.amount % 100, p.currency)),
            district: lot.district_id.and_then(|id| districts.get(&id).cloned()),
            distance_km: lot.distance_km.map(|km| format!("{km:.1}")),
            lat: round(lot.pickup.lat),
            lon: round(lot.pickup.lon),
            address: if rounded { None } else { lot.pickup.address },
            note: lot.note,
        }
    }
}

#[derive(Debug, Clone, Serialize)]
pub struct ComponentView {
    pub material: String,
    pub percent: String,
}

#[derive(Debug, Clone, Serialize)]
pub struct DocumentView {
    pub url: String,
    pub title: Option<String>,
    pub kind: String,
    pub clears: Vec<String>,
}

/// A passport as its page and the lot page show it.
#[derive(Debug, Clone, Serialize)]
pub struct PassportView {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub category: String,
    pub eural_code: Option<String>,
    pub description: Option<String>,
    pub condition: String,
    pub composition: Vec<ComponentView>,
    pub dimensions: Option<String>,
    pub hazards: Vec<String>,
    pub uncleared: Vec<String>,
    pub listable: bool,
    pub documents: Vec<DocumentView>,
    pub custody: Vec<crate::domain::custody::CustodyEvent>,
    pub lat: Option<f64>,
    pub lon: Option<f64>,
}

impl PassportView {
    pub fn of(passport: &Passport) -> PassportView {
        let content = &passport.content;
        let d = content.dimensions;
        let dimensions = [d.length_mm, d.width_mm, d.height_mm]
            .iter()
            .map(|mm| mm.map(|mm| mm.to_string()))
            .collect::<Option<Vec<_>>>()
            .map(|parts| format!("{} mm", parts.join(" × ")));
        PassportView {
            id: passport.id,
            code: passport.code.clone(),
            name: content.name.clone(),
            category: content.category.clone(),
            eural_code: content.eural_code.clone(),
            description: content.description.clone(),
            condition: content.condition.as_str().to_owned(),
            composition: content
                .composition
                .iter()
                .map(|c| ComponentView {
                    material: c.material.clone(),
                    percent: format!("{:.0}", c.fraction_ppm as f64 / 10_000.0),
                })
                .collect(),
            dimensions,
            hazards: content
                .hazards
                .iter()
                .map(|h| h.substance.clone())
                .collect(),
            uncleared: passport.uncleared_hazards.clone(),
            listable: passport.listable,
            documents: content
                .documents
                .iter()
                .map(|doc| DocumentView {
                    url: doc.url.clone(),
                    title: doc.title.clone(),
                    kind: serde_json::to_value(doc.kind)
                        .ok()
                        .and_then(|v| v.as_str().map(str::to_owned))
                        .unwrap_or_else(|| "other".into()),
                    clears: doc.clears.clone(),
                })
                .collect(),
            custody: passport.custody.clone(),
            lat: content.origin.location.map(|l| l.lat),
            lon: content.origin.location.map(|l| l.lon),
        }
    }
}
