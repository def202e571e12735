//! Storage: diesel models and queries, the migration runner and the local-cluster starter.

pub mod accounts;
pub mod categories;
pub mod cluster;
pub mod districts;
pub mod idempotency;
pub mod ledger;
pub mod listings;
pub mod matches;
pub mod migrate;
pub mod outbox;
pub mod passports;
pub mod prepared;
pub mod reservations;
pub mod schema;
pub mod wishes;

use diesel_async::pooled_connection::deadpool::{Object, Pool as DeadPool};
use diesel_async::pooled_connection::AsyncDieselConnectionManager;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use std::time::Duration;

pub type Pool = DeadPool<AsyncPgConnection>;
pub type PooledConn = Object<AsyncPgConnection>;

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
