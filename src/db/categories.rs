//! Rows and queries for the category tree and the EURAL list.

use super::schema::{categories, eural_codes, listings, passports};
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = categories, check_for_backend(diesel::pg::Pg))]
pub struct CategoryRow {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub code: String,
    pub name_nl: String,
    pub name_en: String,
    pub eural_codes: Vec<Option<String>>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Insertable)]
#[diesel(table_name = categories)]
pub struct NewCategoryRow<'a> {
    pub id: Uuid,
    pub parent_id: Option<Uuid>,
    pub code: &'a str,
    pub name_nl: &'a str,
    pub name_en: &'a str,
    pub eural_codes: &'a [String],
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, AsChangeset)]
#[diesel(table_name = categories)]
pub struct CategoryChanges<'a> {
    pub parent_id: Option<Option<Uuid>>,
    pub name_nl: Option<&'a str>,
    pub name_en: Option<&'a str>,
    pub eural_codes: Option<&'a [String]>,
    pub updated_at: DateTime<Utc>,
}

pub async fn all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<CategoryRow>> {
    categories::table
        .select(CategoryRow::as_select())
        .order((categories::code, categories::id))
        .load(conn)
        .await
}

pub async fn find(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<Option<CategoryRow>> {
    categories::table
        .find(id)
        .select(CategoryRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// The codes of the categories `ids`, by id.
pub async fn codes(
    conn: &mut AsyncPgConnection,
    ids: &[Uuid],
) -> QueryResult<std::collections::HashMap<Uuid, String>> {
    let rows: Vec<(Uuid, String)> = categories::table
        .filter(categories::id.eq_any(ids))
        .select((categories::id, categories::code))
        .load(conn)
        .await?;
    Ok(rows.into_iter().collect())
}

pub async fn find_by_code(
    conn: &mut AsyncPgConnection,
    code: &str,
) -> QueryResult<Option<CategoryRow>> {
    categories::table
        .filter(categories::code.eq(code))
        .select(CategoryRow::as_select())
        .first(conn)
        .await
        .optional()
}

pub async fn insert(
    conn: &mut AsyncPgConnection,
    row: &NewCategoryRow<'_>,
) -> QueryResult<CategoryRow> {
    diesel::insert_into(categories::table)
        .values(row)
        .returning(CategoryRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn update(
    conn: &mut AsyncPgConnection,
    id: Uuid,
    changes: &CategoryChanges<'_>,
) -> QueryResult<CategoryRow> {
    diesel::update(categories::table.find(id))
        .set(changes)
        .returning(CategoryRow::as_returning())
        .get_result(conn)
        .await
}

pub async fn delete(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<usize> {
    diesel::delete(categories::table.find(id))
        .execute(conn)
        .await
}

/// Whether any passport, listing or child category refers to the category.
pub async fn is_in_use(conn: &mut AsyncPgConnection, id: Uuid) -> QueryResult<bool> {
    let children = diesel::select(diesel::dsl::exists(
        categories::table.filter(categories::parent_id.eq(id)),
    ));
    let passports = diesel::select(diesel::dsl::exists(
        passports::table.filter(passports::category_id.eq(id)),
    ));
    let listings = diesel::select(diesel::dsl::exists(
        listings::table.filter(listings::category_id.eq(id)),
    ));
    Ok(children.get_result(conn).await?
        || passports.get_result(conn).await?
        || listings.get_result(conn).await?)
}

/// `Some(hazardous)` for a code on the European List of Waste, `None` otherwise.
pub async fn eural_hazardous(
    conn: &mut AsyncPgConnection,
    code: &str,
) -> QueryResult<Option<bool>> {
    eural_codes::table
        .find(code)
        .select(eural_codes::hazardous)
        .first(conn)
        .await
        .optional()
}

/// The whole European List of Waste: each code and whether it is hazardous.
pub async fn eural_all(conn: &mut AsyncPgConnection) -> QueryResult<Vec<(String, bool)>> {
    eural_codes::table
        .select((eural_codes::code, eural_codes::hazardous))
        .load(conn)
        .await
}

/// Those of `codes` that are not on the European List of Waste.
pub async fn unknown_eural_codes(
    conn: &mut AsyncPgConnection,
    codes: &[String],
) -> QueryResult<Vec<String>> {
    let known: Vec<String> = eural_codes::table
        .filter(eural_codes::code.eq_any(codes))
        .select(eural_codes::code)
        .load(conn)
        .await?;
    Ok(codes
        .iter()
        .filter(|code| !known.contains(code))
        .cloned()
        .collect())
}

/// Locks the tree against other changes to it until the transaction ends, so that two moves
/// cannot make a cycle; reading it stays free.
pub async fn lock_tree(conn: &mut AsyncPgConnection) -> QueryResult<()> {
    diesel::sql_query("LOCK TABLE categories IN SHARE ROW EXCLUSIVE MODE")
        .execute(conn)
        .await?;
    Ok(())
}
