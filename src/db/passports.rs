//! Rows and queries for passports and their custody chain.

use super::schema::{custody_events, listings, passport_files, passports};
use crate::domain::custody::CustodyEvent;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use std::collections::HashMap;
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = passports, check_for_backend(diesel::pg::Pg))]
pub struct PassportRow {
    pub id: Uuid,
    pub code: String,
    pub organisation_id: Uuid,
    pub category_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub content: serde_json::Value,
    pub listable: bool,
    pub unit_mass_g: Option<i64>,
    pub mass_unit: Option<String>,
    pub embodied_co2e_g_per_kg: Option<i32>,
    pub origin_district_id: Option<Uuid>,
    pub custody_head: String,
    pub custody_seq: i32,
    pub version: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = passports)]
pub struct NewPassportRow<'a> {
    pub id: Uuid,
    pub code: &'a str,
    pub organisation_id: Uuid,
    pub category_id: Uuid,
    pub parent_id: Option<Uuid>,
    pub content: &'a serde_json::Value,
    pub name: &'a str,
    pub eural_code: Option<&'a str>,
    pub condition_rank: i16,
    pub unit_mass_g: Option<i64>,
    pub mass_unit: Option<&'a str>,
    pub embodied_co2e_g_per_kg: Option<i32>,
    pub listable: bool,
    pub origin_lat: Option<f64>,
    pub origin_lon: Option<f64>,
    pub origin_district_id: Option<Uuid>,
    pub custody_head: &'a str,
    pub custody_seq: i32,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    /// The inventory sheet that made it, if one did.
    pub import_id: Option<Uuid>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = custody_events, check_for_backend(diesel::pg::Pg))]
pub struct CustodyRow {
    pub seq: i32,
    pub kind: String,
    pub organisation_id: Option<Uuid>,
    pub payload: serde_json::Value,
    pub at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    row: &NewPassportRow<'_>,
) -> QueryResult<PassportRow> {
    diesel::insert_into(passports::table)
        .values(row)
        .returning(PassportRow::as_returning())
        .get_result(conn)
        .await
}

/// Inserts many passports in statements of up to 2 000 rows (PostgreSQL takes 65 535
/// parameters a statement).
pub async fn insert_many(
    conn: &mut AsyncPgConnection,
    rows: &[NewPassportRow<'_>],
) -> QueryResult<()> {
    for chunk in rows.chunks(2_000) {
        diesel::insert_into(passports::table)
            .values(chunk)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// Appends the events of many passports whose heads the caller sets itself (new passports
/// whose rows were written with their final head).
pub async fn insert_custody_many(
    conn: &mut AsyncPgConnection,
    events: &[(Uuid, &CustodyEvent)],
) -> QueryResult<()> {
    for chunk in events.chunks(5_000) {
        let values: Vec<_> = chunk
            .iter()
            .map(|(passport_id, event)| {
                (
                    custody_events::id.eq(Uuid::now_v7()),
                    custody_events::passport_id.eq(*passport_id),
                    custody_events::seq.eq(event.seq),
                    custody_events::kind.eq(event.kind.as_str()),
                    custody_events::organisation_id.eq(event.organisation_id),
                    custody_events::payload.eq(&event.payload),
                    custody_events::at.eq(event.at),
                    custody_events::prev_hash.eq(&event.prev_hash),
                    custody_events::hash.eq(&event.hash),
                )
            })
            .collect();
        diesel::insert_into(custody_events::table)
            .values(values)
            .execute(conn)
            .await?;
    }
    Ok(())
}

/// An organisation's passports made by one inventory sheet, in sheet order.
pub async fn of_import(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    import_id: Uuid,
) -> QueryResult<Vec<PassportRow>> {
    passports::table
        .filter(passports::organisation_id.eq(organisation_id))
        .filter(passports::import_id.eq(import_id))
        .select(PassportRow::as_select())
        .order(passports::id)
        .load(conn)
        .await
}

/// An organisation's passports whose material comes from `site` (all when `None`), oldest
/// first.
pub async fn of_site(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    site: Option<&str>,
) -> QueryResult<Vec<PassportRow>> {
    let mut query = passports::table
        .filter(passports::organisation_id.eq(organisation_id))
        .select(PassportRow::as_select())
        .order(passports::id)
        .into_boxed();
    if let Some(site) = site {
        query = query.filter(
            diesel::dsl::sql::<diesel::sql_types::Bool>("content->'origin'->>'site' = ")
                .bind::<diesel::sql_types::Text, _>(site.to_owned()),
        );
    }
    query.load(conn).await
}

/// A passport's offer as an inventory sheet shows it: amount, unit, available_from and when
/// the listing was made.
pub type Offer = (i64, String, DateTime<Utc>, DateTime<Utc>);

/// The latest listing of each passport.
pub async fn latest_offers(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, Offer>> {
    let rows: Vec<(Uuid, Offer)> = listings::table
        .filter(listings::passport_id.eq_any(ids))
        .select((
            listings::passport_id,
            (
                listings::quantity,
                listings::unit,
                listings::available_from,
                listings::created_at,
            ),
        ))
        .order((listings::passport_id, listings::created_at))
        .load(conn)
        .await?;
    // Oldest first, so the latest of each passport is the one kept.
    Ok(rows.into_iter().collect())
}

/// The payload of each passport's first custody event.
pub async fn first_payloads(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<HashMap<Uuid, serde_json::Value>> {
    let rows: Vec<(Uuid, serde_json::Value)> = custody_events::table
        .filter(custody_events::passport_id.eq_any(ids))
        .filter(custody_events::seq.eq(1))
        .select((custody_events::passport_id, custody_events::payload))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<PassportRow>> {
    passports::table
        .find(id)
        .select(PassportRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn lock(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<PassportRow>> {
    passports::table
        .find(id)
        .select(PassportRow::as_select())
        .for_update()
        .first(conn)
        .await
        .optional()
}

/// An organisation's passports in id (creation) order after `after`.
pub async fn of_organisation(
    conn: &mut AsyncPgConnection,
    organisation_id: Uuid,
    after: Option<Uuid>,
    limit: i64,
) -> QueryResult<Vec<PassportRow>> {
    let mut query = passports::table
        .filter(passports::organisation_id.eq(organisation_id))
        .select(PassportRow::as_select())
        .order(passports::id)
        .limit(limit)
        .into_boxed();
    if let Some(after) = after {
        query = query.filter(passports::id.gt(after));
    }
    query.load(conn).await
}

/// Whether the passport has ever been listed, which makes it public.
pub async fn is_listed(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    diesel::select(diesel::dsl::exists(
        listings::table.filter(listings::passport_id.eq(id)),
    ))
    .get_result(conn)
    .await
}

pub async fn update_content(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    content: &serde_json::Value,
    listable: bool,
    now: DateTime<Utc>,
) -> QueryResult<()> {
    diesel::update(passports::table.find(id))
        .set((
            passports::content.eq(content),
            passports::listable.eq(listable),
            passports::version.eq(passports::version + 1),
            passports::updated_at.eq(now),
        ))
        .execute(conn)
        .await
        .map(drop)
}

/// Appends an event and moves the passport's chain head in the same statement pair; the
/// caller holds the passport's row lock, so the chain cannot fork.
pub async fn append_custody(
    conn: &mut AsyncPgConnection,
    passport_id: Uuid,
    event: &CustodyEvent,
) -> QueryResult<()> {
    diesel::insert_into(custody_events::table)
        .values((
            custody_events::id.eq(Uuid::now_v7()),
            custody_events::passport_id.eq(passport_id),
            custody_events::seq.eq(event.seq),
            custody_events::kind.eq(event.kind.as_str()),
            custody_events::organisation_id.eq(event.organisation_id),
            custody_events::payload.eq(&event.payload),
            custody_events::at.eq(event.at),
            custody_events::prev_hash.eq(&event.prev_hash),
            custody_events::hash.eq(&event.hash),
        ))
        .execute(conn)
        .await?;
    diesel::update(passports::table.find(passport_id))
        .set((
            passports::custody_head.eq(&event.hash),
            passports::custody_seq.eq(event.seq),
        ))
        .execute(conn)
        .await
        .map(drop)
}

pub async fn custody(
    conn: &mut AsyncPgConnection,
    passport_id: Uuid,
) -> QueryResult<Vec<CustodyRow>> {
    custody_events::table
        .filter(custody_events::passport_id.eq(passport_id))
        .select(CustodyRow::as_select())
        .order(custody_events::seq)
        .load(conn)
        .await
}

/// Splits off a new passport for part of `parent`'s material, held by `organisation_id`: the
/// same content and classification, `parent` as its parent, and an empty custody chain for
/// the caller to start.
pub async fn split(
    conn: &mut AsyncPgConnection,
    parent: Uuid,
    id: Uuid,
    code: &str,
    organisation_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<PassportRow> {
    use diesel::sql_types::{Text, Timestamptz, Uuid as SqlUuid};
    diesel::sql_query(
        "INSERT INTO passports (id, code, organisation_id, category_id, parent_id, content, name, \
         eural_code, condition_rank, unit_mass_g, mass_unit, embodied_co2e_g_per_kg, listable, \
         origin_lat, origin_lon, origin_district_id, custody_head, custody_seq, version, \
         created_at, updated_at) \
         SELECT $1, $2, $3, category_id, id, content, name, eural_code, condition_rank, \
         unit_mass_g, mass_unit, embodied_co2e_g_per_kg, listable, origin_lat, origin_lon, \
         origin_district_id, '', 0, 1, $4, $4 FROM passports WHERE id = $5",
    )
    .bind::<SqlUuid, _>(id)
    .bind::<Text, _>(code)
    .bind::<SqlUuid, _>(organisation_id)
    .bind::<Timestamptz, _>(now)
    .bind::<SqlUuid, _>(parent)
    .execute(conn)
    .await?;
    lock(conn, id).await?.ok_or(diesel::result::Error::NotFound)
}

/// Hands the whole passport to another organisation.
pub async fn set_holder(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    organisation_id: Uuid,
    now: DateTime<Utc>,
) -> QueryResult<PassportRow> {
    diesel::update(passports::table.find(id))
        .set((
            passports::organisation_id.eq(organisation_id),
            passports::version.eq(passports::version + 1),
            passports::updated_at.eq(now),
        ))
        .returning(PassportRow::as_returning())
        .get_result(conn)
        .await
}

/// A file uploaded to a passport (its bytes are in the file store).
#[derive(Debug, Clone, Queryable, Selectable, Insertable)]
#[diesel(table_name = passport_files, check_for_backend(diesel::pg::Pg))]
pub struct PassportFileRow {
    pub id: Uuid,
    pub passport_id: Uuid,
    pub sha256: String,
    pub media_type: String,
    pub size: i64,
    pub has_thumbnail: bool,
    pub title: Option<String>,
    pub created_at: DateTime<Utc>,
}

pub async fn insert_file(conn: &mut AsyncPgConnection, row: &PassportFileRow) -> QueryResult<()> {
    diesel::insert_into(passport_files::table)
        .values(row)
        .execute(conn)
        .await
        .map(drop)
}

pub async fn file(
    conn: &mut AsyncPgConnection,
    passport_id: Uuid,
    id: Uuid,
) -> QueryResult<Option<PassportFileRow>> {
    passport_files::table
        .filter(passport_files::passport_id.eq(passport_id))
        .filter(passport_files::id.eq(id))
        .select(PassportFileRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// A passport's files, oldest first.
pub async fn files(
    conn: &mut AsyncPgConnection,
    passport_id: Uuid,
) -> QueryResult<Vec<PassportFileRow>> {
    passport_files::table
        .filter(passport_files::passport_id.eq(passport_id))
        .order(passport_files::id.asc())
        .select(PassportFileRow::as_select())
        .load(conn)
        .await
}
