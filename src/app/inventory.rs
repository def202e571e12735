//! Pre-demolition inventories: a sheet (CSV or XLSX) of elements becomes passports and
//! announced listings in one transaction, or nothing and the list of every bad cell; and the
//! passports of a site go back out as a sheet in the same columns.

use super::actor::{still_verified, Actor};
use super::error::{AppError, AppResult};
use super::passports::{content_sha256, new_code};
use super::{districts, Ctx};
use crate::db::accounts as accounts_q;
use crate::db::categories as categories_q;
use crate::db::listings::{self as listings_q, NewListingRow};
use crate::db::matches as matches_q;
use crate::db::passports::{self as q, NewPassportRow};
use crate::db::Atomic;
use crate::domain::custody::{CustodyEvent, CustodyKind, GENESIS};
use crate::domain::geo::Location;
use crate::domain::inventory::{self, cell, column_of, Element, Header, COLUMNS};
use crate::domain::listing::ListingStatus;
use crate::domain::passport::PassportContext;
use crate::domain::passport_export::CONTENT_HASH_FIELD;
use crate::domain::quantity::{grams_per_unit, Quantity};
use crate::domain::validation::{FieldErrors, Invalid};
use chrono::{DateTime, Datelike, NaiveDate, Utc};
use serde::Serialize;
use std::collections::HashMap;
use utoipa::ToSchema;
use uuid::Uuid;

/// At most this many rows in one sheet.
pub const MAX_ROWS: usize = 50_000;
/// At most this many errors are listed; a last one says how many more there were.
const MAX_ERRORS: usize = 1_000;
/// Rows written per step (and per progress report).
const STEP: usize = 1_000;

/// How a sheet is imported.
#[derive(Debug, Clone, Default)]
pub struct ImportOptions {
    /// Where the lots are collected; the organisation's own place when absent.
    pub pickup: Option<(Location, Option<String>)>,
    /// Import the valid rows and skip the others, instead of nothing when any row is bad.
    pub valid_rows_only: bool,
}

/// One row made into a passport (and a listing, unless a hazard is not cleared yet).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportedRow {
    /// The row's number in the sheet (the header is row 1).
    pub row: usize,
    pub passport_id: Uuid,
    pub code: String,
    pub listing_id: Option<Uuid>,
}

/// A cell that did not pass (with `valid_rows_only`, its row was skipped).
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct SkippedCell {
    /// `/rows/{row}/{column}`.
    pub pointer: String,
    pub code: String,
    pub detail: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct ImportReport {
    /// Shared by the passports of this sheet: `GET /passports/imports/{id}/labels` prints
    /// their labels.
    pub import_id: Uuid,
    pub rows: usize,
    pub created: usize,
    pub listed: usize,
    pub announced: usize,
    pub passports: Vec<ImportedRow>,
    pub skipped: Vec<SkippedCell>,
}

/// The template: the header and one example row.
pub fn template_csv() -> String {
    let mut writer = csv::Writer::from_writer(Vec::new());
    let _ = writer.write_record(inventory::header_row());
    let _ = writer.write_record(COLUMNS.iter().map(|c| c.example));
    String::from_utf8(writer.into_inner().unwrap_or_default()).unwrap_or_default()
}

fn sheet_error(detail: impl Into<String>) -> AppError {
    FieldErrors::single("/rows", Invalid::new("unreadable_sheet", detail)).into()
}

/// The rows of a sheet: XLSX (recognised by its content, a ZIP) or CSV in UTF-8 separated by
/// commas, semicolons or tabs (whichever the header has most of).
pub fn read_sheet(bytes: &[u8]) -> AppResult<Vec<Vec<String>>> {
    let rows = if bytes.starts_with(b"PK\x03\x04") {
        read_xlsx(bytes)?
    } else {
        read_csv(bytes)?
    };
    if rows.len() > MAX_ROWS + 1 {
        return Err(sheet_error(format!(
            "a sheet holds at most {MAX_ROWS} rows"
        )));
    }
    Ok(rows)
}

fn read_csv(bytes: &[u8]) -> AppResult<Vec<Vec<String>>> {
    let text = std::str::from_utf8(bytes)
        .map_err(|_| sheet_error("a CSV sheet must be UTF-8 text (or send XLSX)"))?;
    let first = text.lines().next().unwrap_or_default();
    let delimiter = [b',', b';', b'\t']
        .into_iter()
        .max_by_key(|d| first.bytes().filter(|b| b == d).count())
        .unwrap_or(b',');
    let mut reader = csv::ReaderBuilder::new()
        .has_headers(false)
        .flexible(true)
        .delimiter(delimiter)
        .from_reader(text.as_bytes());
    reader
        .records()
        .enumerate()
        .map(|(i, record)| {
            record
                .map(|r| r.iter().map(str::to_owned).collect())
                .map_err(|error| sheet_error(format!("row {}: {error}", i + 1)))
        })
        .collect()
}

fn read_xlsx(bytes: &[u8]) -> AppResult<Vec<Vec<String>>> {
    use calamine::{Data, Reader, Xlsx};
    let mut workbook = Xlsx::new(std::io::Cursor::new(bytes))
        .map_err(|error| sheet_error(format!("not a readable XLSX workbook: {error}")))?;
    let range = workbook
        .worksheet_range_at(0)
        .ok_or_else(|| sheet_error("the workbook has no sheet"))?
        .map_err(|error| sheet_error(format!("the first sheet does not read: {error}")))?;
    // Rows as the sheet numbers them, even when it starts lower than A1.
    let (top, _) = range.start().unwrap_or((0, 0));
    let mut rows = vec![Vec::new(); top as usize];
    for row in range.rows() {
        rows.push(
            row.iter()
                .map(|cell| match cell {
                    Data::Empty => String::new(),
                    Data::String(s) | Data::DateTimeIso(s) | Data::DurationIso(s) => s.clone(),
                    Data::Int(i) => i.to_string(),
                    Data::Float(f) if f.fract() == 0.0 && f.abs() < 1e15 => (*f as i64).to_string(),
                    Data::Float(f) => f.to_string(),
                    Data::Bool(b) => b.to_string(),
                    Data::DateTime(d) => d
                        .as_datetime()
                        .map(|d| d.date().to_string())
                        .unwrap_or_default(),
                    Data::Error(e) => format!("#{e:?}"),
                })
                .collect(),
        );
    }
    Ok(rows)
}

/// What the rows are checked against: the categories and the European List of Waste.
struct Lists {
    categories: HashMap<String, (Uuid, String)>,
    eural: HashMap<String, bool>,
}

/// Reads and checks every row; the valid ones come back with their row numbers.
fn check_rows(
    rows: &[Vec<String>],
    lists: &Lists,
    now: DateTime<Utc>,
) -> AppResult<(Vec<(usize, Element)>, FieldErrors)> {
    let header = Header::read(rows.first().map_or(&[][..], Vec::as_slice))?;
    let mut valid = Vec::new();
    let mut errors = FieldErrors::new();
    for (index, cells) in rows.iter().enumerate().skip(1) {
        if inventory::is_blank(cells) {
            continue;
        }
        let row = index + 1;
        let element = match inventory::read_row(&header, cells, row) {
            Ok(element) => element,
            Err(bad) => {
                for error in bad.into_vec() {
                    errors.push(error.pointer, error.code, error.detail);
                }
                continue;
            }
        };
        let content = &element.content;
        let context = PassportContext {
            eural: content
                .eural_code
                .as_ref()
                .map(|code| lists.eural.get(code).copied()),
            current_year: now.year(),
        };
        let mut bad = match content.validate(context) {
            Ok(()) => Vec::new(),
            Err(found) => found.into_vec(),
        };
        if !lists.categories.contains_key(content.category.trim()) {
            bad.push(crate::domain::validation::FieldError {
                pointer: "/category".into(),
                code: "unknown_category",
                detail: "no category with that code (see GET /api/v1/categories)".into(),
            });
        }
        if bad.is_empty() {
            valid.push((row, element));
        }
        for error in bad {
            errors.push(
                cell(row, column_of(&error.pointer)),
                error.code,
                error.detail,
            );
        }
    }
    Ok((valid, errors))
}

fn capped(errors: FieldErrors) -> FieldErrors {
    let all = errors.into_vec();
    let more = all.len().saturating_sub(MAX_ERRORS);
    let mut kept = FieldErrors::new();
    for error in all.into_iter().take(MAX_ERRORS) {
        kept.push(error.pointer, error.code, error.detail);
    }
    if more > 0 {
        kept.push(
            "/rows",
            "more_errors",
            format!("and {more} more not listed"),
        );
    }
    kept
}

/// Imports a sheet for the actor's (verified) organisation; `progress` hears how many rows
/// are written so far, of how many.
pub async fn import(
    ctx: &Ctx,
    actor: &Actor,
    bytes: &[u8],
    options: ImportOptions,
    mut progress: impl FnMut(usize, usize) + Send,
) -> AppResult<ImportReport> {
    actor.require_verified()?;
    let now = ctx.now();
    let rows = read_sheet(bytes)?;
    let mut conn = ctx.conn().await?;
    let lists = Lists {
        categories: categories_q::all(&mut conn)
            .await?
            .into_iter()
            .map(|c| (c.code, (c.id, format!("{} {}", c.name_nl, c.name_en))))
            .collect(),
        eural: categories_q::eural_all(&mut conn)
            .await?
            .into_iter()
            .collect(),
    };
    let (valid, errors) = check_rows(&rows, &lists, now)?;
    let skipped: Vec<SkippedCell> = if options.valid_rows_only {
        capped(errors)
            .into_vec()
            .into_iter()
            .map(|e| SkippedCell {
                pointer: e.pointer,
                code: e.code.to_owned(),
                detail: e.detail,
            })
            .collect()
    } else {
        capped(errors).finish()?;
        Vec::new()
    };
    if valid.is_empty() && skipped.is_empty() {
        return Err(sheet_error("the sheet has no rows below its header"));
    }
    let (pickup, address) = match options.pickup {
        Some(pickup) => pickup,
        None => {
            let organisation = accounts_q::find_organisation(&mut conn, actor.organisation_id)
                .await?
                .ok_or(AppError::NotFound("organisation"))?;
            match (organisation.lat, organisation.lon) {
                (Some(lat), Some(lon)) => (Location { lat, lon }, organisation.address),
                _ => {
                    return Err(FieldErrors::single(
                        "/pickup",
                        Invalid::new(
                            "required",
                            "the organisation has no place: say where the lots are collected",
                        ),
                    )
                    .into())
                }
            }
        }
    };
    let district = districts::index(&mut conn)
        .await?
        .locate(pickup.lat, pickup.lon);
    let import_id = Uuid::now_v7();
    let organisation = actor.organisation_id;
    let total = valid.len();
    let report = conn
        .transaction::<_, AppError, _>(async |conn| {
            still_verified(conn, actor).await?;
            let mut report = ImportReport {
                import_id,
                rows: total
                    + skipped
                        .iter()
                        .map(|s| row_of(&s.pointer))
                        .collect::<std::collections::HashSet<_>>()
                        .len(),
                created: 0,
                listed: 0,
                announced: 0,
                passports: Vec::with_capacity(total),
                skipped: skipped.clone(),
            };
            for step in valid.chunks(STEP) {
                write_step(
                    conn,
                    step,
                    &lists,
                    Place {
                        organisation,
                        pickup,
                        address: address.as_deref(),
                        district,
                        import_id,
                    },
                    now,
                    &mut report,
                )
                .await?;
                progress(report.created, total);
            }
            Ok(report)
        })
        .await?;
    ctx.matcher.wake.notify_one();
    Ok(report)
}

fn row_of(pointer: &str) -> usize {
    pointer
        .split('/')
        .nth(2)
        .and_then(|r| r.parse().ok())
        .unwrap_or(0)
}

#[derive(Clone, Copy)]
struct Place<'a> {
    organisation: Uuid,
    pickup: Location,
    address: Option<&'a str>,
    district: Option<Uuid>,
    import_id: Uuid,
}

/// Writes one step of rows: passports with their chains, listings, matcher jobs.
async fn write_step(
    conn: &mut crate::db::Conn,
    step: &[(usize, Element)],
    lists: &Lists,
    place: Place<'_>,
    now: DateTime<Utc>,
    report: &mut ImportReport,
) -> AppResult<()> {
    struct Made {
        row: usize,
        id: Uuid,
        code: String,
        category_id: Uuid,
        content: serde_json::Value,
        listing: Option<(Uuid, ListingStatus, DateTime<Utc>)>,
        search_text: String,
        events: Vec<CustodyEvent>,
    }
    let mut made = Vec::with_capacity(step.len());
    for (row, element) in step {
        let mut content = element.content.clone();
        content.origin.location = Some(place.pickup);
        let (category_id, category_words) = lists.categories[content.category.trim()].clone();
        let id = Uuid::now_v7();
        let code = new_code();
        let available_from = element
            .available_from
            .and_then(|d| d.and_hms_opt(0, 0, 0))
            .map(|d| d.and_utc())
            .filter(|from| *from > now)
            .unwrap_or(now);
        let created = CustodyEvent::next(
            None,
            CustodyKind::Created,
            Some(place.organisation),
            serde_json::json!({
                "code": code, "name": content.name.trim(), "category": content.category,
                CONTENT_HASH_FIELD: content_sha256(&content)?,
                "inventory": {"import_id": place.import_id, "row": row,
                              "quantity": element.quantity,
                              "available_from": element.available_from},
            }),
            now,
        );
        let mut events = vec![created];
        let listing = if content.check_listable().is_ok() {
            let listing_id = Uuid::now_v7();
            let status = ListingStatus::initial(available_from, now);
            let head = &events[0];
            events.push(CustodyEvent::next(
                Some((&head.hash, head.seq)),
                CustodyKind::Listed,
                Some(place.organisation),
                serde_json::json!({"listing_id": listing_id, "quantity": element.quantity,
                                   "status": status, "available_from": available_from}),
                now,
            ));
            Some((listing_id, status, available_from))
        } else {
            None
        };
        let search_text = [
            content.name.as_str(),
            content.description.as_deref().unwrap_or_default(),
            "",
            "",
            category_words.as_str(),
        ]
        .join(" ");
        made.push(Made {
            row: *row,
            id,
            code,
            category_id,
            content: serde_json::to_value(&content).map_err(|e| AppError::Internal(e.into()))?,
            listing,
            search_text,
            events,
        });
    }
    let passports: Vec<NewPassportRow> = made
        .iter()
        .zip(step)
        .map(|(m, (_, element))| {
            let content = &element.content;
            // Every chain made above has its first event; an empty one would stand at genesis.
            let (head_hash, head_seq) = m
                .events
                .last()
                .map_or((GENESIS, 0), |head| (head.hash.as_str(), head.seq));
            NewPassportRow {
                id: m.id,
                code: &m.code,
                organisation_id: place.organisation,
                category_id: m.category_id,
                parent_id: None,
                content: &m.content,
                name: content.name.trim(),
                eural_code: content.eural_code.as_deref(),
                condition_rank: content.condition.rank(),
                unit_mass_g: content.unit_mass.map(|m| m.grams),
                mass_unit: content.unit_mass.map(|m| m.per.as_str()),
                embodied_co2e_g_per_kg: content.embodied_co2e_g_per_kg,
                listable: m.listing.is_some(),
                origin_lat: Some(place.pickup.lat),
                origin_lon: Some(place.pickup.lon),
                origin_district_id: place.district,
                custody_head: head_hash,
                custody_seq: head_seq,
                created_at: now,
                updated_at: now,
                import_id: Some(place.import_id),
            }
        })
        .collect();
    q::insert_many(conn, &passports).await?;
    let events: Vec<(Uuid, &CustodyEvent)> = made
        .iter()
        .flat_map(|m| m.events.iter().map(move |e| (m.id, e)))
        .collect();
    q::insert_custody_many(conn, &events).await?;
    let listings: Vec<NewListingRow> = made
        .iter()
        .zip(step)
        .filter_map(|(m, (_, element))| {
            let (listing_id, status, available_from) = m.listing?;
            let content = &element.content;
            let quantity: Quantity = element.quantity;
            Some(NewListingRow {
                id: listing_id,
                passport_id: m.id,
                organisation_id: place.organisation,
                category_id: m.category_id,
                title: content.name.trim(),
                status: status.as_str(),
                unit: quantity.unit.as_str(),
                quantity: quantity.amount,
                quantity_available: quantity.amount,
                mass_g_per_unit: grams_per_unit(quantity.unit, content.unit_mass),
                available_from,
                available_until: None,
                pickup_lat: place.pickup.lat,
                pickup_lon: place.pickup.lon,
                pickup_address: place.address,
                district_id: place.district,
                price_amount: None,
                price_currency: None,
                condition_rank: content.condition.rank(),
                note: None,
                search_text: &m.search_text,
                created_at: now,
                updated_at: now,
            })
        })
        .collect();
    listings_q::insert_many(conn, &listings).await?;
    let listing_ids: Vec<Uuid> = listings.iter().map(|l| l.id).collect();
    matches_q::enqueue_jobs(conn, "listing", &listing_ids, now).await?;
    for m in made {
        report.created += 1;
        if let Some((_, status, _)) = m.listing {
            report.listed += 1;
            if status == ListingStatus::Announced {
                report.announced += 1;
            }
        }
        report.passports.push(ImportedRow {
            row: m.row,
            passport_id: m.id,
            code: m.code,
            listing_id: m.listing.map(|(id, _, _)| id),
        });
    }
    Ok(())
}

/// The actor's passports from `site` (all when `None`) as an inventory sheet in the import's
/// columns: the quantity and release date of each one's latest listing, or of its sheet row
/// when it was never listed.
pub async fn export_sheet(ctx: &Ctx, actor: &Actor, site: Option<&str>) -> AppResult<String> {
    let mut conn = ctx.conn().await?;
    let rows = q::of_site(&mut conn, actor.organisation_id, site).await?;
    let ids: Vec<Uuid> = rows.iter().map(|r| r.id).collect();
    let offered = q::latest_offers(&mut conn, &ids).await?;
    let first_events = q::first_payloads(&mut conn, &ids).await?;
    let mut writer = csv::Writer::from_writer(Vec::new());
    let csv_error = |e: csv::Error| AppError::Internal(e.into());
    writer
        .write_record(inventory::header_row())
        .map_err(csv_error)?;
    for row in rows {
        let content: crate::domain::passport::PassportContent =
            serde_json::from_value(row.content.clone())
                .map_err(|e| AppError::Internal(e.into()))?;
        let (quantity, available_from) = match offered.get(&row.id) {
            Some((amount, unit, from, created)) => (
                Some(Quantity {
                    amount: *amount,
                    unit: super::error::stored(unit)?,
                }),
                (from > created).then(|| from.date_naive()),
            ),
            None => {
                let sheet = first_events.get(&row.id).map(|p| &p["inventory"]);
                (
                    sheet.and_then(|s| serde_json::from_value(s["quantity"].clone()).ok()),
                    sheet.and_then(|s| {
                        serde_json::from_value::<NaiveDate>(s["available_from"].clone()).ok()
                    }),
                )
            }
        };
        let Some(quantity) = quantity else { continue };
        writer
            .write_record(inventory::write_row(&content, quantity, available_from))
            .map_err(csv_error)?;
    }
    let bytes = writer
        .into_inner()
        .map_err(|e| AppError::Internal(anyhow::anyhow!("{e}")))?;
    String::from_utf8(bytes).map_err(|e| AppError::Internal(e.into()))
}

/// The verified organisation an operator imports for from the command line, by id or exact
/// name, acting as it.
pub async fn organisation_actor(ctx: &Ctx, organisation: &str) -> AppResult<Actor> {
    let mut conn = ctx.conn().await?;
    let found = match organisation.parse::<Uuid>() {
        Ok(id) => accounts_q::find_organisation(&mut conn, id).await?,
        Err(_) => accounts_q::find_organisation_by_name(&mut conn, organisation).await?,
    };
    let found = found.ok_or(AppError::NotFound("organisation"))?;
    Ok(Actor {
        user_id: Uuid::nil(),
        organisation_id: found.id,
        organisation_status: super::error::stored(&found.status)?,
        org_role: crate::domain::account::OrgRole::Owner,
        is_broker: false,
        locale: crate::domain::account::Locale::Nl,
    })
}
