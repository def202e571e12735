//! Material passports: creating, reading, documenting, exporting and importing them, and the
//! custody chain that travels with them.

use super::actor::Actor;
use super::error::{AppError, AppResult};
use super::paging::{id_cursor, page_size, split, Page};
use super::{districts, Ctx};
use crate::db::categories as categories_q;
use crate::db::passports::{self as q, NewPassportRow, PassportRow};
use crate::db::{Atomic, Conn};
use crate::domain::custody::{self, content_hash, CustodyEvent, CustodyKind, GENESIS};
use crate::domain::label::Label;
use crate::domain::passport::{validate_document, Document, PassportContent, PassportContext};
use crate::domain::passport_export::{
    self, ExportedFile, Verdict, CONTENT_HASH_FIELD, FORMAT_V1, FORMAT_V2,
};
use crate::domain::validation::FieldErrors;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use chrono::{DateTime, Datelike, Utc};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

/// The name of the export format written now; [`FORMAT_V1`] is still imported.
pub const EXPORT_FORMAT: &str = FORMAT_V2;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Passport {
    pub id: Uuid,
    /// Short code for labels on the material.
    #[schema(example = "KL-7H3K-Q9XD")]
    pub code: String,
    pub organisation_id: Uuid,
    pub category_id: Uuid,
    /// The passport this one was split from.
    pub parent_id: Option<Uuid>,
    #[serde(flatten)]
    #[schema(schema_with = content_beside_more)]
    pub content: PassportContent,
    /// False while a hazardous substance has no clearance document: such a lot is not listed.
    pub listable: bool,
    pub uncleared_hazards: Vec<String>,
    pub origin_district_id: Option<Uuid>,
    /// The custody chain, oldest first.
    pub custody: Vec<CustodyEvent>,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// [`PassportContent`]'s schema as part of a larger object: a request may hold nothing else
/// (`additionalProperties: false`), a passport holds more, so that rule is left out here.
fn content_beside_more() -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::Schema;
    use utoipa::openapi::RefOr;
    let mut schema = <PassportContent as utoipa::PartialSchema>::schema();
    if let RefOr::T(Schema::Object(object)) = &mut schema {
        object.additional_properties = None;
    }
    schema
}

/// The custody chain and whether it verifies.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Custody {
    pub passport_id: Uuid,
    pub verified: bool,
    pub events: Vec<CustodyEvent>,
}

/// The documented, portable form of a passport (see `docs/passport-chain.md`).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PassportExport {
    /// `kringloop-passport/2` as exported now; `kringloop-passport/1` (content alone) is
    /// still imported.
    #[schema(example = "kringloop-passport/2")]
    pub format: String,
    /// The passport's code (format 2).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    pub passport: PassportContent,
    /// The whole custody chain, oldest first (format 2).
    #[serde(default)]
    pub custody: Vec<CustodyEvent>,
    /// The passport's files: their hashes, and their bytes when asked (format 2).
    #[serde(default)]
    pub files: Vec<ExportedFile>,
}

/// The hash of a passport's content as a content-setting event records it.
pub(crate) fn content_sha256(content: &PassportContent) -> AppResult<String> {
    let value = serde_json::to_value(content).map_err(|e| AppError::Internal(e.into()))?;
    Ok(content_hash(&value))
}

/// The content hash of a stored passport, read the way an export writes it.
pub(crate) fn row_content_sha256(row: &PassportRow) -> AppResult<String> {
    content_sha256(&content_of(row)?)
}

pub(crate) fn content_of(row: &PassportRow) -> AppResult<PassportContent> {
    serde_json::from_value(row.content.clone()).map_err(|error| {
        AppError::Internal(anyhow::anyhow!(
            "stored passport {} does not parse: {error}",
            row.id
        ))
    })
}

fn events_of(rows: Vec<crate::db::passports::CustodyRow>) -> AppResult<Vec<CustodyEvent>> {
    rows.into_iter()
        .map(|row| {
            Ok(CustodyEvent {
                seq: row.seq,
                kind: row.kind.parse().map_err(|_| {
                    AppError::Internal(anyhow::anyhow!("unknown custody kind {:?}", row.kind))
                })?,
                organisation_id: row.organisation_id,
                payload: row.payload,
                at: row.at,
                prev_hash: row.prev_hash,
                hash: row.hash,
            })
        })
        .collect()
}

pub(crate) async fn view(conn: &mut Conn, row: PassportRow) -> AppResult<Passport> {
    let content = content_of(&row)?;
    let custody = events_of(q::custody(conn, row.id).await?)?;
    Ok(Passport {
        id: row.id,
        code: row.code,
        organisation_id: row.organisation_id,
        category_id: row.category_id,
        parent_id: row.parent_id,
        listable: row.listable,
        uncleared_hazards: content
            .uncleared_hazards()
            .into_iter()
            .map(str::to_owned)
            .collect(),
        content,
        origin_district_id: row.origin_district_id,
        custody,
        version: row.version,
        created_at: row.created_at,
        updated_at: row.updated_at,
    })
}

pub(crate) fn new_code() -> String {
    const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
    let mut bytes = [0u8; 8];
    OsRng.fill_bytes(&mut bytes);
    let chars: String = bytes
        .iter()
        .map(|b| ALPHABET[(*b as usize) % 32] as char)
        .collect();
    format!("KL-{}-{}", &chars[..4], &chars[4..])
}

/// Appends the next custody event to a passport whose row the caller has locked.
pub async fn record_custody(
    conn: &mut Conn,
    passport: &PassportRow,
    kind: CustodyKind,
    organisation_id: Option<Uuid>,
    payload: serde_json::Value,
    at: DateTime<Utc>,
) -> AppResult<CustodyEvent> {
    let previous = (passport.custody_seq > 0)
        .then_some((passport.custody_head.as_str(), passport.custody_seq));
    let event = CustodyEvent::next(previous, kind, organisation_id, payload, at);
    q::append_custody(conn, passport.id, &event).await?;
    Ok(event)
}

/// Validates content against the category list and the EURAL list.
async fn check(conn: &mut Conn, content: &PassportContent, now: DateTime<Utc>) -> AppResult<Uuid> {
    let category = categories_q::find_by_code(conn, content.category.trim()).await?;
    let eural = match &content.eural_code {
        Some(code) => Some(categories_q::eural_hazardous(conn, code).await?),
        None => None,
    };
    let context = PassportContext {
        eural,
        current_year: now.year(),
    };
    let mut errors = match content.validate(context) {
        Ok(()) => FieldErrors::new(),
        Err(errors) => errors,
    };
    if category.is_none() {
        errors.push(
            "/category",
            "unknown_category",
            "no category with that code (see GET /categories)",
        );
    }
    errors.finish()?;
    Ok(category.map(|c| c.id).unwrap_or_default())
}

/// Creates a passport for the actor's (verified) organisation.
pub async fn create(
    ctx: &Ctx,
    actor: &Actor,
    content: PassportContent,
    kind: CustodyKind,
) -> AppResult<Passport> {
    create_from(ctx, actor, content, kind, None).await
}

/// Creates a passport; `source` (the code and chain head of an imported export) goes into its
/// first event.
async fn create_from(
    ctx: &Ctx,
    actor: &Actor,
    content: PassportContent,
    kind: CustodyKind,
    source: Option<serde_json::Value>,
) -> AppResult<Passport> {
    actor.require_verified()?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let category_id = check(&mut conn, &content, now).await?;
    let district = match content.origin.location {
        Some(location) => districts::index(&mut conn)
            .await?
            .locate(location.lat, location.lon),
        None => None,
    };
    let organisation_id = actor.organisation_id;
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            let stored =
                serde_json::to_value(&content).map_err(|e| AppError::Internal(e.into()))?;
            let code = new_code();
            let row = q::insert(
                conn,
                &NewPassportRow {
                    id: Uuid::now_v7(),
                    code: &code,
                    organisation_id,
                    category_id,
                    parent_id: None,
                    content: &stored,
                    name: content.name.trim(),
                    eural_code: content.eural_code.as_deref(),
                    condition_rank: content.condition.rank(),
                    unit_mass_g: content.unit_mass.map(|m| m.grams),
                    mass_unit: content.unit_mass.map(|m| m.per.as_str()),
                    embodied_co2e_g_per_kg: content.embodied_co2e_g_per_kg,
                    listable: content.check_listable().is_ok(),
                    origin_lat: content.origin.location.map(|l| l.lat),
                    origin_lon: content.origin.location.map(|l| l.lon),
                    origin_district_id: district,
                    custody_head: GENESIS,
                    custody_seq: 0,
                    created_at: now,
                    updated_at: now,
                    import_id: None,
                },
            )
            .await?;
            let mut payload = serde_json::json!({"code": row.code, "name": content.name.trim(),
                                                 "category": content.category,
                                                 CONTENT_HASH_FIELD: content_sha256(&content)?});
            if let Some(source) = source {
                payload["source"] = source;
            }
            record_custody(conn, &row, kind, Some(organisation_id), payload, now).await?;
            Ok(row)
        })
        .await?;
    view(&mut conn, row).await
}

/// The passport when the actor may see it: its owner and brokers always, anyone once it has
/// been listed. Otherwise it does not exist for them.
pub(crate) async fn visible(
    conn: &mut Conn,
    actor: Option<&Actor>,
    id: Uuid,
) -> AppResult<PassportRow> {
    let row = q::find(conn, id)
        .await?
        .ok_or(AppError::NotFound("passport"))?;
    let privileged = actor.is_some_and(|a| a.organisation_id == row.organisation_id || a.is_broker);
    if privileged || q::is_listed(conn, id).await? {
        Ok(row)
    } else {
        Err(AppError::NotFound("passport"))
    }
}

pub async fn get(ctx: &Ctx, actor: Option<&Actor>, id: Uuid) -> AppResult<Passport> {
    let mut conn = ctx.conn().await?;
    let row = visible(&mut conn, actor, id).await?;
    view(&mut conn, row).await
}

/// The passport's public address: its page, where its label's QR code leads.
pub fn public_address(ctx: &Ctx, id: Uuid) -> String {
    format!("{}/passports/{id}", ctx.public_url)
}

/// The label of a passport the actor may see.
pub async fn label(ctx: &Ctx, actor: Option<&Actor>, id: Uuid) -> AppResult<Label> {
    let mut conn = ctx.conn().await?;
    let row = visible(&mut conn, actor, id).await?;
    Ok(Label {
        url: public_address(ctx, row.id),
        name: content_of(&row)?.name,
        code: row.code,
    })
}

/// The labels of every passport one inventory sheet made for the actor's organisation.
pub async fn import_labels(ctx: &Ctx, actor: &Actor, import_id: Uuid) -> AppResult<Vec<Label>> {
    let mut conn = ctx.conn().await?;
    let rows = q::of_import(&mut conn, actor.organisation_id, import_id).await?;
    if rows.is_empty() {
        return Err(AppError::NotFound("import"));
    }
    rows.into_iter()
        .map(|row| {
            Ok(Label {
                url: public_address(ctx, row.id),
                name: content_of(&row)?.name,
                code: row.code,
            })
        })
        .collect()
}

pub async fn custody(ctx: &Ctx, actor: Option<&Actor>, id: Uuid) -> AppResult<Custody> {
    let mut conn = ctx.conn().await?;
    let row = visible(&mut conn, actor, id).await?;
    let events = events_of(q::custody(&mut conn, row.id).await?)?;
    Ok(Custody {
        passport_id: row.id,
        verified: custody::verify(&events),
        events,
    })
}

/// The passport's export; `embed_files` puts each file's bytes in it too.
pub async fn export(
    ctx: &Ctx,
    actor: Option<&Actor>,
    id: Uuid,
    embed_files: bool,
) -> AppResult<PassportExport> {
    let mut conn = ctx.conn().await?;
    let row = visible(&mut conn, actor, id).await?;
    let custody = events_of(q::custody(&mut conn, row.id).await?)?;
    let files = exported_files(ctx, &mut conn, row.id, embed_files).await?;
    Ok(PassportExport {
        format: EXPORT_FORMAT.to_owned(),
        code: Some(row.code.clone()),
        passport: content_of(&row)?,
        custody,
        files,
    })
}

fn format_error(detail: String) -> AppError {
    FieldErrors::single(
        "/format",
        crate::domain::validation::Invalid::new("unknown_format", detail),
    )
    .into()
}

/// Checks an exported passport (format 2) offline: no database, no rights needed.
pub fn verify(export: &serde_json::Value) -> AppResult<Verdict> {
    passport_export::verify(export).map_err(format_error)
}

/// Imports an export as a new passport of the actor's organisation. A format-2 export must
/// verify; its code and chain head are kept in the new chain's first event.
pub async fn import(ctx: &Ctx, actor: &Actor, export: PassportExport) -> AppResult<Passport> {
    let source = match export.format.as_str() {
        FORMAT_V1 => None,
        FORMAT_V2 => {
            let value = serde_json::to_value(&export).map_err(|e| AppError::Internal(e.into()))?;
            let verdict = verify(&value)?;
            if let Some(broken) = verdict.broken_at {
                let pointer = broken
                    .seq
                    .map_or("/files".to_owned(), |seq| format!("/custody/{}", seq - 1));
                return Err(FieldErrors::single(
                    &pointer,
                    crate::domain::validation::Invalid::new(
                        "chain_broken",
                        format!("the custody chain does not hold: {}", broken.detail),
                    ),
                )
                .into());
            }
            Some(serde_json::json!({"code": export.code, "head": verdict.head}))
        }
        _ => {
            return Err(format_error(format!(
                "must be {FORMAT_V2:?} or {FORMAT_V1:?}"
            )))
        }
    };
    create_from(ctx, actor, export.passport, CustodyKind::Imported, source).await
}

/// The actor's own passports, oldest first.
pub async fn list_own(
    ctx: &Ctx,
    actor: &Actor,
    cursor: Option<&str>,
    limit: u32,
) -> AppResult<Page<Passport>> {
    let after = id_cursor(cursor)?;
    let limit = page_size(limit);
    let mut conn = ctx.conn().await?;
    let rows = q::of_organisation(&mut conn, actor.organisation_id, after, limit + 1).await?;
    let (rows, more) = split(rows, limit);
    let mut items = Vec::with_capacity(rows.len());
    for row in rows {
        items.push(view(&mut conn, row).await?);
    }
    Ok(Page::new(items, more, |p| p.id.to_string()))
}

/// Attaches a document (for example the clearance of a hazard) to the owner's passport.
pub async fn attach_document(
    ctx: &Ctx,
    actor: &Actor,
    id: Uuid,
    document: Document,
) -> AppResult<Passport> {
    actor.require_verified()?;
    let now = ctx.now();
    let mut conn = ctx.conn().await?;
    let row = conn
        .transaction::<_, AppError, _>(async move |conn| {
            attach_in(conn, actor, id, document, now).await
        })
        .await?;
    view(&mut conn, row).await
}

/// The passport when the actor's organisation holds it; otherwise 403 if they may see it, 404
/// if not.
pub(crate) async fn held(
    conn: &mut Conn,
    actor: &Actor,
    row: PassportRow,
) -> AppResult<PassportRow> {
    if row.organisation_id == actor.organisation_id {
        return Ok(row);
    }
    let visible = actor.is_broker || q::is_listed(conn, row.id).await?;
    Err(if visible {
        AppError::Forbidden("only the organisation that holds the passport may change it")
    } else {
        AppError::NotFound("passport")
    })
}

/// Attaches a document inside the caller's transaction: checks it, adds it to the content and
/// records it (with its hash) in the custody chain. Returns the updated row.
pub(crate) async fn attach_in(
    conn: &mut Conn,
    actor: &Actor,
    id: Uuid,
    document: Document,
    now: DateTime<Utc>,
) -> AppResult<PassportRow> {
    let row = q::lock(conn, id)
        .await?
        .ok_or(AppError::NotFound("passport"))?;
    let row = held(conn, actor, row).await?;
    let mut content = content_of(&row)?;
    let mut errors = FieldErrors::new();
    validate_document(&document, &content.hazards, "", &mut errors);
    if content.documents.len() >= 50 {
        errors.push("", "too_many", "a passport holds at most 50 documents");
    }
    errors.finish()?;
    let mut payload = serde_json::json!({"url": document.url, "sha256": document.sha256,
                                         "kind": document.kind, "clears": document.clears});
    content.documents.push(document);
    payload[CONTENT_HASH_FIELD] = content_sha256(&content)?.into();
    let stored = serde_json::to_value(&content).map_err(|e| AppError::Internal(e.into()))?;
    q::update_content(conn, id, &stored, content.check_listable().is_ok(), now).await?;
    record_custody(
        conn,
        &row,
        CustodyKind::DocumentAttached,
        Some(actor.organisation_id),
        payload,
        now,
    )
    .await?;
    q::find(conn, id)
        .await?
        .ok_or(AppError::NotFound("passport"))
}

/// Where the bytes of a passport's file are kept in the file store.
pub(crate) fn file_key(passport_id: Uuid, id: Uuid) -> String {
    format!("passports/{passport_id}/{id}")
}

/// The files of a passport as its export lists them, with their bytes when `embed`.
async fn exported_files(
    ctx: &Ctx,
    conn: &mut Conn,
    passport_id: Uuid,
    embed: bool,
) -> AppResult<Vec<ExportedFile>> {
    use base64::Engine;
    let mut files = Vec::new();
    for row in q::files(conn, passport_id).await? {
        let data = if embed {
            let bytes = ctx
                .files
                .get(&file_key(passport_id, row.id))
                .await
                .map_err(AppError::Internal)?
                .ok_or_else(|| AppError::Internal(anyhow::anyhow!("file {} missing", row.id)))?;
            Some(base64::engine::general_purpose::STANDARD.encode(bytes))
        } else {
            None
        };
        files.push(ExportedFile {
            sha256: row.sha256,
            media_type: row.media_type,
            size: row.size,
            data,
        });
    }
    Ok(files)
}
