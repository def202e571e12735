//! Embedded migrations, run before the server starts and checked by `/readyz`.

use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::{AsyncPgConnection, RunQueryDsl};
use diesel_migrations::{embed_migrations, EmbeddedMigrations, MigrationHarness};

pub const MIGRATIONS: EmbeddedMigrations = embed_migrations!("migrations");

/// The key of the session-level advisory lock that migration runs take, so that replicas
/// starting at once apply each migration once instead of racing on the same DDL. Any fixed
/// number works as long as nothing else in the database uses it; this one spells "kringloo".
pub const MIGRATION_LOCK_KEY: i64 = 0x6B72_696E_676C_6F6F;

/// Applies every pending migration to the database at `url`, returning their versions.
///
/// Diesel's migration harness is synchronous; it runs on a blocking thread through the
/// async connection wrapper, so that no async worker is blocked and no runtime is nested.
/// The whole run holds [`MIGRATION_LOCK_KEY`]: a second run waits, then finds nothing pending.
pub async fn run_pending(url: &str) -> anyhow::Result<Vec<String>> {
    let url = url.to_owned();
    tokio::task::spawn_blocking(move || -> anyhow::Result<Vec<String>> {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url)?;
        advisory_lock(&mut conn, "pg_advisory_lock")?;
        let applied = conn
            .run_pending_migrations(MIGRATIONS)
            .map(|applied| applied.iter().map(ToString::to_string).collect())
            .map_err(|error| anyhow::anyhow!("migration failed: {error}"));
        // The lock also ends with the session; unlocking explicitly frees it at once even when
        // the connection lingers.
        let unlocked = advisory_lock(&mut conn, "pg_advisory_unlock");
        let applied = applied?;
        unlocked?;
        Ok(applied)
    })
    .await?
}

fn advisory_lock(
    conn: &mut AsyncConnectionWrapper<AsyncPgConnection>,
    function: &str,
) -> anyhow::Result<()> {
    diesel::RunQueryDsl::execute(
        diesel::sql_query(format!("SELECT {function}($1)"))
            .bind::<diesel::sql_types::BigInt, _>(MIGRATION_LOCK_KEY),
        conn,
    )
    .map_err(|error| anyhow::anyhow!("{function} for the migrations: {error}"))?;
    Ok(())
}

/// The version of the newest embedded migration.
pub fn latest_version() -> String {
    let migrations = MigrationSource::<Pg>::migrations(&MIGRATIONS).unwrap_or_default();
    migrations
        .iter()
        .map(|m| m.name().version().to_string())
        .max()
        .unwrap_or_default()
}

/// True when the newest embedded migration has been applied to the database behind `conn`.
pub async fn is_current(conn: &mut AsyncPgConnection, latest: &str) -> QueryResult<bool> {
    #[derive(QueryableByName)]
    struct Applied {
        #[diesel(sql_type = diesel::sql_types::Bool)]
        applied: bool,
    }
    let found: Applied = diesel::sql_query(
        "SELECT EXISTS (SELECT 1 FROM __diesel_schema_migrations WHERE version = $1) AS applied",
    )
    .bind::<diesel::sql_types::Text, _>(latest)
    .get_result(conn)
    .await?;
    Ok(found.applied)
}
