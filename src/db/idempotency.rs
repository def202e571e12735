//! Rows and queries for idempotency keys and the first answers stored with them.

use super::schema::idempotency_keys;
use chrono::{DateTime, Utc};
use diesel::prelude::*;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use uuid::Uuid;

#[derive(Debug, Insertable)]
#[diesel(table_name = idempotency_keys)]
pub struct NewKeyRow<'a> {
    pub scope: Uuid,
    pub method: &'a str,
    pub path: &'a str,
    pub key: &'a str,
    pub request_hash: &'a [u8],
    pub created_at: DateTime<Utc>,
}

#[derive(Debug, Clone, Queryable, Selectable)]
#[diesel(table_name = idempotency_keys, check_for_backend(diesel::pg::Pg))]
pub struct KeyRow {
    pub request_hash: Vec<u8>,
    pub status: Option<i16>,
    pub response_body: Option<Vec<u8>>,
}

/// Claims the key; true when this transaction is the first to use it. A concurrent
/// transaction holding the same key makes this wait until it ends, so that afterwards the
/// stored answer can be read.
pub async fn claim(conn: &mut AsyncPgConnection, row: &NewKeyRow<'_>) -> QueryResult<bool> {
    let inserted = diesel::insert_into(idempotency_keys::table)
        .values(row)
        .on_conflict_do_nothing()
        .execute(conn)
        .await?;
    Ok(inserted == 1)
}

fn by_key<'a>(
    scope: Uuid,
    method: &'a str,
    path: &'a str,
    key: &'a str,
) -> idempotency_keys::BoxedQuery<'a, diesel::pg::Pg> {
    idempotency_keys::table
        .filter(idempotency_keys::scope.eq(scope))
        .filter(idempotency_keys::method.eq(method))
        .filter(idempotency_keys::path.eq(path))
        .filter(idempotency_keys::key.eq(key))
        .into_boxed()
}

pub async fn find(
    conn: &mut AsyncPgConnection,
    scope: Uuid,
    method: &str,
    path: &str,
    key: &str,
) -> QueryResult<Option<KeyRow>> {
    by_key(scope, method, path, key)
        .select(KeyRow::as_select())
        .first(conn)
        .await
        .optional()
}

/// Stores the answer of the request that claimed the key.
pub async fn complete(
    conn: &mut AsyncPgConnection,
    scope: Uuid,
    method: &str,
    path: &str,
    key: &str,
    status: i16,
    body: &[u8],
) -> QueryResult<()> {
    diesel::update(
        idempotency_keys::table
            .filter(idempotency_keys::scope.eq(scope))
            .filter(idempotency_keys::method.eq(method))
            .filter(idempotency_keys::path.eq(path))
            .filter(idempotency_keys::key.eq(key)),
    )
    .set((
        idempotency_keys::status.eq(status),
        idempotency_keys::response_body.eq(body),
    ))
    .execute(conn)
    .await
    .map(drop)
}

/// Deletes keys made before `before`; how many.
pub async fn purge(conn: &mut AsyncPgConnection, before: DateTime<Utc>) -> QueryResult<usize> {
    diesel::delete(idempotency_keys::table.filter(idempotency_keys::created_at.lt(before)))
        .execute(conn)
        .await
}
