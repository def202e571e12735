//! A pre-demolition inventory as a sheet: one row per element, its columns, how a row reads
//! into a passport's content and a quantity (and back, for the export of a site), and where a
//! passport rule's complaint stands in the sheet.

use super::passport::{
    Circularity, Component, Condition, Dimensions, Disassembly, Hazard, Origin, PassportContent,
    RStrategy,
};
use super::quantity::{MassUnit, Quantity, Unit, UnitMass};
use super::validation::{FieldErrors, Invalid};
use chrono::NaiveDate;
use std::collections::HashMap;

/// One column of the sheet: its header, whether a row must fill it, an example and what it
/// means. This list is the template and its documentation.
#[derive(Debug, Clone, Copy, serde::Serialize, utoipa::ToSchema)]
pub struct Column {
    pub name: &'static str,
    pub required: bool,
    pub example: &'static str,
    pub meaning: &'static str,
}

const fn column(
    name: &'static str,
    required: bool,
    example: &'static str,
    meaning: &'static str,
) -> Column {
    Column {
        name,
        required,
        example,
        meaning,
    }
}

/// The columns, in the order the template and the export write them.
pub const COLUMNS: &[Column] = &[
    column("name", true, "Eiken binnendeur 201,5 x 83 cm", "What the element is, 1 to 200 characters."),
    column("category", true, "doors-interior", "The category's code (GET /api/v1/categories)."),
    column("eural_code", false, "17 02 01", "EURAL (European List of Waste) code, six digits in pairs; a hazardous code needs hazards."),
    column("quantity", true, "8", "How many units, a whole number above zero."),
    column("unit", true, "piece", "piece, kg, t, m, m2 or m3."),
    column("length_mm", false, "2015", "Length in millimetres, 1 to 100000."),
    column("width_mm", false, "830", "Width in millimetres."),
    column("height_mm", false, "40", "Height (thickness) in millimetres."),
    column("materials", false, "oak 95%; steel 5%", "Materials and their share of the mass, separated by semicolons; shares add up to at most 100 %."),
    column("mass_per_unit_kg", false, "32", "Mass of one unit in kilograms (decimal point or comma); only for piece, m, m2 and m3."),
    column("condition", true, "good", "new, as_new, good, fair or poor."),
    column("location_in_building", false, "2nd floor, east wing", "Where in the building the element is."),
    column("available_from", false, "2026-09-01", "Expected release date (YYYY-MM-DD); the lot is announced until then, available at once when empty or past."),
    column("description", false, "Massief eiken, met kozijn", "Free text, up to 5000 characters."),
    column("hazards", false, "asbestos", "Hazardous substances, separated by semicolons; such a lot is announced only once cleared."),
    column("r_strategies", false, "reuse; refurbish", "reuse, repair, refurbish, remanufacture, repurpose, recycle; separated by semicolons."),
    column("disassembly", false, "easy", "easy, moderate or hard."),
    column("site", false, "Kantoor Binckhorstlaan", "The building or site the element comes from."),
    column("building_year", false, "1968", "The year the building was built."),
    column("embodied_co2e_g_per_kg", false, "460", "Cradle-to-gate embodied carbon, grams CO2e per kg."),
];

/// One row read: a passport's content, the quantity on offer and the release date.
#[derive(Debug, Clone, PartialEq)]
pub struct Element {
    pub content: PassportContent,
    pub quantity: Quantity,
    pub available_from: Option<NaiveDate>,
}

/// Where each known column stands in the sheet.
#[derive(Debug, Clone)]
pub struct Header {
    at: HashMap<&'static str, usize>,
}

/// The pointer of a cell: `/rows/{row}/{column}`, the row numbered as the sheet shows it (the
/// header is row 1).
pub fn cell(row: usize, column: &str) -> String {
    format!("/rows/{row}/{column}")
}

impl Header {
    /// Reads the header row: every required column present, none unknown or twice.
    pub fn read(cells: &[String]) -> Result<Header, FieldErrors> {
        let mut errors = FieldErrors::new();
        let mut at = HashMap::new();
        for (index, raw) in cells.iter().enumerate() {
            let name = raw.trim().trim_start_matches('\u{feff}').to_lowercase();
            if name.is_empty() {
                continue;
            }
            match COLUMNS.iter().find(|c| c.name == name) {
                Some(column) => {
                    if at.insert(column.name, index).is_some() {
                        errors.push(cell(1, &name), "duplicate", "the column is there twice");
                    }
                }
                None => errors.push(
                    cell(1, &name),
                    "unknown_column",
                    "no such column (see GET /api/v1/passports/inventory/columns)",
                ),
            }
        }
        for column in COLUMNS.iter().filter(|c| c.required) {
            if !at.contains_key(column.name) {
                errors.push(
                    cell(1, column.name),
                    "missing_column",
                    "this column is required",
                );
            }
        }
        errors.finish().map(|()| Header { at })
    }

    fn get<'a>(&self, cells: &'a [String], column: &str) -> Option<&'a str> {
        self.at
            .get(column)
            .and_then(|&i| cells.get(i))
            .map(|s| s.trim())
            .filter(|s| !s.is_empty())
    }
}

/// Whether a row has nothing in it (such rows are skipped, as spreadsheets leave them).
pub fn is_blank(cells: &[String]) -> bool {
    cells.iter().all(|c| c.trim().is_empty())
}

/// Parses a decimal written with a point or a comma into units of 10^-`scale`, rounded.
fn decimal(text: &str, scale: u32) -> Option<i64> {
    let text = text.trim().replace(',', ".");
    let value: f64 = text.parse().ok()?;
    let scaled = (value * 10f64.powi(scale as i32)).round();
    (scaled.is_finite() && scaled.abs() < 9e15).then_some(scaled as i64)
}

/// Writes units of 10^-`scale` as the shortest decimal.
fn decimal_text(value: i64, scale: u32) -> String {
    let divisor = 10i64.pow(scale);
    let whole = value / divisor;
    let fraction = (value % divisor).abs();
    if fraction == 0 {
        return whole.to_string();
    }
    let digits = format!("{fraction:0width$}", width = scale as usize);
    format!("{whole}.{}", digits.trim_end_matches('0'))
}

fn list(text: &str) -> impl Iterator<Item = &str> {
    text.split(';').map(str::trim).filter(|s| !s.is_empty())
}

/// `oak 95%` → ("oak", 950000 ppm).
fn share(text: &str) -> Option<(String, i64)> {
    let text = text.trim().trim_end_matches('%').trim_end();
    let split = text.rfind(|c: char| c.is_whitespace() || c == ':')?;
    let (material, percent) = text.split_at(split);
    let material = material.trim().trim_end_matches(':').trim();
    let ppm = decimal(&percent[1..], 4)?;
    (!material.is_empty()).then(|| (material.to_owned(), ppm))
}

/// Reads one row. `row` is its number in the sheet, for the pointers of its errors.
pub fn read_row(header: &Header, cells: &[String], row: usize) -> Result<Element, FieldErrors> {
    let mut errors = FieldErrors::new();
    let get = |column: &str| header.get(cells, column);
    let text = |column: &str| get(column).map(str::to_owned);
    let required = |column: &str, errors: &mut FieldErrors| {
        let value = get(column);
        if value.is_none() {
            errors.push(cell(row, column), "required", "must not be empty");
        }
        value
    };
    fn parsed<T: std::str::FromStr<Err = Invalid>>(
        value: Option<&str>,
        row: usize,
        column: &str,
        errors: &mut FieldErrors,
    ) -> Option<T> {
        errors.take(&cell(row, column), value?.to_lowercase().parse::<T>())
    }
    let whole = |column: &str, errors: &mut FieldErrors| -> Option<i64> {
        let value = get(column)?;
        match value.parse::<i64>() {
            Ok(n) => Some(n),
            Err(_) => {
                errors.push(cell(row, column), "not_a_number", "must be a whole number");
                None
            }
        }
    };

    let name = required("name", &mut errors).unwrap_or_default().to_owned();
    let category = required("category", &mut errors)
        .unwrap_or_default()
        .to_owned();
    let amount = required("quantity", &mut errors).and_then(|_| whole("quantity", &mut errors));
    let unit: Option<Unit> = parsed(required("unit", &mut errors), row, "unit", &mut errors);
    let condition: Option<Condition> = parsed(
        required("condition", &mut errors),
        row,
        "condition",
        &mut errors,
    );
    let quantity = match (amount, unit) {
        (Some(amount), Some(unit)) => {
            errors.take(&cell(row, "quantity"), Quantity::parse(amount, unit))
        }
        _ => None,
    };

    let mut composition = Vec::new();
    for part in get("materials").map(list).into_iter().flatten() {
        match share(part) {
            Some((material, fraction_ppm)) => composition.push(Component {
                material,
                fraction_ppm,
            }),
            None => errors.push(
                cell(row, "materials"),
                "invalid_share",
                format!("{part:?} is not a material and its share, like \"oak 95%\""),
            ),
        }
    }
    let unit_mass = match get("mass_per_unit_kg") {
        None => None,
        Some(kg) => {
            let per = unit.and_then(|unit| {
                MassUnit::ALL
                    .iter()
                    .copied()
                    .find(|per| per.as_unit() == unit)
            });
            match (decimal(kg, 3), per) {
                (None, _) => {
                    errors.push(
                        cell(row, "mass_per_unit_kg"),
                        "not_a_number",
                        "must be a number of kilograms",
                    );
                    None
                }
                (Some(_), None) if unit.is_some() => {
                    errors.push(
                        cell(row, "mass_per_unit_kg"),
                        "not_for_this_unit",
                        "only for piece, m, m2 and m3: kg and t weigh themselves",
                    );
                    None
                }
                (Some(grams), Some(per)) => Some(UnitMass { grams, per }),
                (Some(_), None) => None,
            }
        }
    };
    let available_from = match get("available_from") {
        None => None,
        Some(date) => {
            let parsed = NaiveDate::parse_from_str(date, "%Y-%m-%d")
                .or_else(|_| NaiveDate::parse_from_str(date, "%d-%m-%Y"));
            if parsed.is_err() {
                errors.push(
                    cell(row, "available_from"),
                    "invalid_date",
                    "must be a date, YYYY-MM-DD",
                );
            }
            parsed.ok()
        }
    };
    let mut r_strategies = Vec::new();
    for strategy in get("r_strategies").map(list).into_iter().flatten() {
        if let Some(strategy) =
            parsed::<RStrategy>(Some(strategy), row, "r_strategies", &mut errors)
        {
            r_strategies.push(strategy);
        }
    }
    let disassembly: Option<Disassembly> =
        parsed(get("disassembly"), row, "disassembly", &mut errors);
    let length_mm = whole("length_mm", &mut errors);
    let width_mm = whole("width_mm", &mut errors);
    let height_mm = whole("height_mm", &mut errors);
    let building_year = whole("building_year", &mut errors);
    let co2e = whole("embodied_co2e_g_per_kg", &mut errors);
    let small = |value: Option<i64>, column: &str, errors: &mut FieldErrors| -> Option<i32> {
        let value = value?;
        match i32::try_from(value) {
            Ok(v) => Some(v),
            Err(_) => {
                errors.push(cell(row, column), "out_of_range", "is far too large");
                None
            }
        }
    };
    let content = PassportContent {
        category,
        eural_code: text("eural_code"),
        nlsfb_code: None,
        name,
        description: text("description"),
        product: None,
        manufacturer: None,
        composition,
        hazards: get("hazards")
            .map(list)
            .into_iter()
            .flatten()
            .map(|substance| Hazard {
                substance: substance.to_owned(),
                note: None,
            })
            .collect(),
        dimensions: Dimensions {
            length_mm: small(length_mm, "length_mm", &mut errors),
            width_mm: small(width_mm, "width_mm", &mut errors),
            height_mm: small(height_mm, "height_mm", &mut errors),
        },
        unit_mass,
        condition: condition.unwrap_or(Condition::Poor),
        origin: Origin {
            site: text("site"),
            building_year: small(building_year, "building_year", &mut errors),
            location: None,
            location_in_building: text("location_in_building"),
        },
        circularity: Circularity {
            r_strategies,
            disassembly,
        },
        embodied_co2e_g_per_kg: small(co2e, "embodied_co2e_g_per_kg", &mut errors),
        documents: Vec::new(),
    };
    errors.finish()?;
    match quantity {
        Some(quantity) => Ok(Element {
            content,
            quantity,
            available_from,
        }),
        None => Err(FieldErrors::single(
            &cell(row, "quantity"),
            Invalid::new("required", "must not be empty"),
        )),
    }
}

/// The column a passport rule's pointer (`/dimensions/length_mm`) stands in.
pub fn column_of(pointer: &str) -> &'static str {
    let mut parts = pointer.trim_start_matches('/').split('/');
    let first = parts.next().unwrap_or_default();
    let second = parts.next().unwrap_or_default();
    match (first, second) {
        ("dimensions", "length_mm") => "length_mm",
        ("dimensions", "width_mm") => "width_mm",
        ("dimensions", "height_mm") => "height_mm",
        ("dimensions", _) => "length_mm",
        ("composition", _) => "materials",
        ("hazards", _) => "hazards",
        ("unit_mass", _) => "mass_per_unit_kg",
        ("origin", "building_year") => "building_year",
        ("origin", "location_in_building") => "location_in_building",
        ("origin", _) => "site",
        ("circularity", "disassembly") => "disassembly",
        ("circularity", _) => "r_strategies",
        (other, _) => COLUMNS
            .iter()
            .find(|c| c.name == other)
            .map_or("name", |c| c.name),
    }
}

/// The cells of a passport's row, in [`COLUMNS`] order: what the export of a site writes and
/// the import reads back.
pub fn write_row(
    content: &PassportContent,
    quantity: Quantity,
    available_from: Option<NaiveDate>,
) -> Vec<String> {
    let join = |items: Vec<String>| items.join("; ");
    let number = |value: Option<i32>| value.map(|v| v.to_string()).unwrap_or_default();
    COLUMNS
        .iter()
        .map(|column| match column.name {
            "name" => content.name.clone(),
            "category" => content.category.clone(),
            "eural_code" => content.eural_code.clone().unwrap_or_default(),
            "quantity" => quantity.amount.to_string(),
            "unit" => quantity.unit.as_str().to_owned(),
            "length_mm" => number(content.dimensions.length_mm),
            "width_mm" => number(content.dimensions.width_mm),
            "height_mm" => number(content.dimensions.height_mm),
            "materials" => join(
                content
                    .composition
                    .iter()
                    .map(|c| format!("{} {}%", c.material, decimal_text(c.fraction_ppm, 4)))
                    .collect(),
            ),
            "mass_per_unit_kg" => content
                .unit_mass
                .map(|m| decimal_text(m.grams, 3))
                .unwrap_or_default(),
            "condition" => content.condition.as_str().to_owned(),
            "location_in_building" => content
                .origin
                .location_in_building
                .clone()
                .unwrap_or_default(),
            "available_from" => available_from.map(|d| d.to_string()).unwrap_or_default(),
            "description" => content.description.clone().unwrap_or_default(),
            "hazards" => join(
                content
                    .hazards
                    .iter()
                    .map(|h| h.substance.clone())
                    .collect(),
            ),
            "r_strategies" => join(
                content
                    .circularity
                    .r_strategies
                    .iter()
                    .map(|r| r.as_str().to_owned())
                    .collect(),
            ),
            "disassembly" => content
                .circularity
                .disassembly
                .map(|d| d.as_str().to_owned())
                .unwrap_or_default(),
            "site" => content.origin.site.clone().unwrap_or_default(),
            "building_year" => number(content.origin.building_year),
            "embodied_co2e_g_per_kg" => number(content.embodied_co2e_g_per_kg),
            _ => String::new(),
        })
        .collect()
}

/// The header row, in [`COLUMNS`] order.
pub fn header_row() -> Vec<String> {
    COLUMNS.iter().map(|c| c.name.to_owned()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cells(values: &[&str]) -> Vec<String> {
        values.iter().map(|v| (*v).to_owned()).collect()
    }

    fn example_row() -> Vec<String> {
        COLUMNS.iter().map(|c| c.example.to_owned()).collect()
    }

    fn header() -> Header {
        Header::read(&header_row()).unwrap()
    }

    #[test]
    fn the_template_row_reads() {
        let element = read_row(&header(), &example_row(), 2).unwrap();
        assert_eq!(element.quantity, Quantity::parse(8, Unit::Piece).unwrap());
        assert_eq!(element.content.composition[0].fraction_ppm, 950_000);
        assert_eq!(element.content.unit_mass.unwrap().grams, 32_000);
        assert_eq!(element.content.hazards[0].substance, "asbestos");
        assert_eq!(element.available_from, NaiveDate::from_ymd_opt(2026, 9, 1));
    }

    #[test]
    fn a_row_written_reads_back_the_same() {
        let mut element = read_row(&header(), &example_row(), 2).unwrap();
        element.content.composition[0].fraction_ppm = 333_333;
        element.content.unit_mass = Some(UnitMass {
            grams: 1_250,
            per: MassUnit::Piece,
        });
        let written = write_row(&element.content, element.quantity, element.available_from);
        assert_eq!(read_row(&header(), &written, 2).unwrap(), element);
    }

    #[test]
    fn every_bad_cell_is_named() {
        let header = Header::read(&cells(&[
            "Name",
            "category",
            "quantity",
            "unit",
            "condition",
            "materials",
            "available_from",
            "mass_per_unit_kg",
            "length_mm",
        ]))
        .unwrap();
        let row = cells(&[
            "", "doors", "-1", "litre", "shiny", "oak", "soon", "heavy", "2 m",
        ]);
        let errors: Vec<String> = read_row(&header, &row, 7)
            .unwrap_err()
            .into_vec()
            .into_iter()
            .map(|e| e.pointer)
            .collect();
        for column in [
            "name",
            "unit",
            "condition",
            "materials",
            "available_from",
            "mass_per_unit_kg",
            "length_mm",
        ] {
            assert!(errors.contains(&cell(7, column)), "{column}: {errors:?}");
        }
    }

    #[test]
    fn headers_are_checked() {
        let errors: Vec<String> = Header::read(&cells(&["name", "colour", "name"]))
            .unwrap_err()
            .into_vec()
            .into_iter()
            .map(|e| e.pointer)
            .collect();
        assert!(errors.contains(&cell(1, "colour")));
        assert!(errors.contains(&cell(1, "name")));
        assert!(errors.contains(&cell(1, "category")));
    }

    #[test]
    fn rule_pointers_find_their_columns() {
        assert_eq!(column_of("/composition/1/fraction_ppm"), "materials");
        assert_eq!(column_of("/unit_mass/grams"), "mass_per_unit_kg");
        assert_eq!(column_of("/eural_code"), "eural_code");
        assert_eq!(column_of("/origin/building_year"), "building_year");
    }

    #[test]
    fn decimals_read_with_a_point_or_a_comma() {
        assert_eq!(decimal("32,5", 3), Some(32_500));
        assert_eq!(decimal_text(32_500, 3), "32.5");
        assert_eq!(decimal_text(950_000, 4), "95");
        assert_eq!(share("steel: 5 %"), Some(("steel".into(), 50_000)));
    }
}
