//! Storage: diesel models and queries, the migration runner and the local-cluster starter.

pub mod accounts;
pub mod audit;
pub mod categories;
pub mod cluster;
pub mod districts;
pub mod flows;
pub mod idempotency;
pub mod ledger;
pub mod listings;
pub mod matches;
pub mod migrate;
pub mod open_data;
pub mod outbox;
pub mod passports;
pub mod prepared;
pub mod privacy;
pub mod reservations;
pub mod schema;
pub mod seed;
pub mod wishes;

use diesel_async::pooled_connection::deadpool::{Object, Pool as DeadPool};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use std::time::Duration;

pub type Pool = DeadPool<AsyncPgConnection>;
pub type PooledConn = Object<AsyncPgConnection>;
/// A connection, or a transaction on one: what every query of this layer takes.
pub type Conn = AsyncPgConnection;
/// What a statement can fail with.
pub use diesel::result::Error;
/// `conn.transaction(async |conn| …)`: one use case, one transaction. Use cases take it from
/// here, so that no layer above this one names the database crates.
pub use diesel_async::AsyncConnection as Atomic;

/// The kinds of schema rule a statement can break.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Rule {
    Unique,
    Check,
    ForeignKey,
}

/// Whether `error` is a violation of the named constraint (or unique index) of that kind.
pub fn broke(error: &Error, rule: Rule, constraint: &str) -> bool {
    use diesel::result::DatabaseErrorKind as Kind;
    match error {
        Error::DatabaseError(kind, info) => {
            let same_kind = matches!(
                (rule, kind),
                (Rule::Unique, Kind::UniqueViolation)
                    | (Rule::Check, Kind::CheckViolation)
                    | (Rule::ForeignKey, Kind::ForeignKeyViolation)
            );
            same_kind && info.constraint_name() == Some(constraint)
        }
        _ => false,
    }
}

/// A pool of connections to `url`; connections are opened lazily.
pub fn pool(url: &str, max_size: usize) -> anyhow::Result<Pool> {
    let manager = AsyncDieselConnectionManager::<AsyncPgConnection>::new(url);
    Ok(DeadPool::builder(manager)
        .max_size(max_size)
        .wait_timeout(Some(Duration::from_secs(10)))
        .create_timeout(Some(Duration::from_secs(10)))
        .runtime(deadpool::Runtime::Tokio1)
        .build()?)
}

/// Creates `database` through the admin connection `admin_url` unless it exists.
pub async fn ensure_database(admin_url: &str, database: &str) -> anyhow::Result<()> {
    anyhow::ensure!(
        cluster::is_plain_identifier(database),
        "unusable database name {database:?}"
    );
    let mut conn = AsyncPgConnection::establish(admin_url).await?;
    #[derive(diesel::QueryableByName)]
    struct Exists {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        exists: bool,
    }
    let found: Exists =
        diesel::sql_query("SELECT EXISTS (SELECT 1 FROM pg_database WHERE datname = $1) AS exists")
            .bind::<diesel::sql_types::Text, _>(database)
            .get_result(&mut conn)
            .await?;
    if !found.exists {
        diesel::sql_query(format!("CREATE DATABASE {database}"))
            .execute(&mut conn)
            .await?;
    }
    Ok(())
}
