//! Rows and queries for districts, and re-assigning stored points when districts change.

use super::schema::{districts, listings, organisations, passports};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel::sql_types::{Array, Uuid as SqlUuid};
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = districts, check_for_backend(diesel::pg::Pg))]
pub struct DistrictRow {
    pub id: Uuid,
    pub code: String,
    pub name: String,
    pub geometry: serde_json::Value,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
    pub retired_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Insertable, AsChangeset)]
#[diesel(table_name = districts)]
pub struct NewDistrictRow<'a> {
    pub id: Uuid,
    pub code: &'a str,
    pub name: &'a str,
    pub geometry: &'a serde_json::Value,
    pub min_lat: f64,
    pub min_lon: f64,
    pub max_lat: f64,
    pub max_lon: f64,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

/// The current districts, those points are assigned to.
pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<DistrictRow>> {
    districts::table
        .filter(districts::retired_at.is_null())
        .select(DistrictRow::as_select())
        .order(districts::code)
        .load(conn)
        .await
}

/// Current and retired districts: flows and history keep naming retired ones.
pub async fn all_with_retired(conn: &mut AsyncPgConnection) -> QueryResult<Vec<DistrictRow>> {
    districts::table
        .select(DistrictRow::as_select())
        .order((districts::retired_at.is_not_null(), districts::code))
        .load(conn)
        .await
}

/// Inserts or updates by code, keeping the id of a district that already exists (and bringing
/// a retired one back).
pub async fn upsert(conn: &mut AsyncPgConnection, row: &NewDistrictRow<'_>) -> QueryResult<Uuid> {
    diesel::insert_into(districts::table)
        .values(row)
        .on_conflict(districts::code)
        .do_update()
        .set((
            districts::name.eq(row.name),
            districts::geometry.eq(row.geometry),
            districts::min_lat.eq(row.min_lat),
            districts::min_lon.eq(row.min_lon),
            districts::max_lat.eq(row.max_lat),
            districts::max_lon.eq(row.max_lon),
            districts::updated_at.eq(row.updated_at),
            districts::retired_at.eq(None::<DateTime<Utc>>),
        ))
        .returning(districts::id)
        .get_result(conn)
        .await
}

/// Retires every current district not in `keep`: recorded flows and history still name it, so
/// it is never deleted.
pub async fn retire_except(
    conn: &mut AsyncPgConnection,
    keep: &[Uuid],
    now: DateTime<Utc>,
) -> QueryResult<usize> {
    diesel::update(
        districts::table
            .filter(districts::id.ne_all(keep))
            .filter(districts::retired_at.is_null()),
    )
    .set((
        districts::retired_at.eq(Some(now)),
        districts::updated_at.eq(now),
    ))
    .execute(conn)
    .await
}

/// Every stored point that districts apply to, by table: (table, id, lat, lon).
pub struct Points {
    pub organisations: Vec<(Uuid, f64, f64)>,
    pub passports: Vec<(Uuid, f64, f64)>,
    pub listings: Vec<(Uuid, f64, f64)>,
}

pub async fn points(conn: &mut AsyncPgConnection) -> QueryResult<Points> {
    let organisations: Vec<(Uuid, Option<f64>, Option<f64>)> = organisations::table
        .select((organisations::id, organisations::lat, organisations::lon))
        .load(conn)
        .await?;
    let passports: Vec<(Uuid, Option<f64>, Option<f64>)> = passports::table
        .select((passports::id, passports::origin_lat, passports::origin_lon))
        .load(conn)
        .await?;
    let listings = listings::table
        .select((listings::id, listings::pickup_lat, listings::pickup_lon))
        .load(conn)
        .await?;
    let located = |rows: Vec<(Uuid, Option<f64>, Option<f64>)>| {
        rows.into_iter()
            .filter_map(|(id, lat, lon)| Some((id, lat?, lon?)))
            .collect()
    };
    Ok(Points {
        organisations: located(organisations),
        passports: located(passports),
        listings,
    })
}

/// Sets each row's district in one statement per table.
pub async fn assign(
    conn: &mut AsyncPgConnection,
    table: &str,
    column: &str,
    ids: &[Uuid],
    district_ids: &[Option<Uuid>],
) -> QueryResult<usize> {
    debug_assert!(matches!(table, "organisations" | "passports" | "listings"));
    diesel::sql_query(format!(
        "UPDATE {table} SET {column} = v.district FROM unnest($1, $2) AS v(id, district) WHERE {table}.id = v.id"
    ))
    .bind::<Array<SqlUuid>, _>(ids)
    .bind::<Array<diesel::sql_types::Nullable<SqlUuid>>, _>(district_ids)
    .execute(conn)
    .await
}

/// Locks the districts against other uploads until the transaction ends.
pub async fn lock_all(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query("LOCK TABLE districts IN EXCLUSIVE MODE")
        .execute(conn)
        .await?;
    Ok(())
}
