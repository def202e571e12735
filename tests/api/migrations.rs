//! Every migration's down.sql undoes its up.sql exactly, and the migrations apply from scratch.

use crate::support::empty_database;
use diesel::migration::MigrationSource;
use diesel::pg::Pg;
use diesel::prelude::*;
use diesel_async::async_connection_wrapper::AsyncConnectionWrapper;
use diesel_async::AsyncPgConnection;
use diesel_migrations::MigrationHarness;
use kringloop::db::migrate::MIGRATIONS;

#[derive(QueryableByName, PartialEq, Eq, Debug)]
struct Line {
    #[diesel(sql_type = diesel::sql_types::Text)]
    line: String,
}

/// Everything a migration can create in the public schema, as sorted lines of text.
fn snapshot(conn: &mut AsyncConnectionWrapper<AsyncPgConnection>) -> Vec<String> {
    let queries = [
        "SELECT 'column ' || table_name || '.' || column_name || ' ' || data_type || ' ' || is_nullable \
         || ' ' || coalesce(column_default, '') AS line FROM information_schema.columns \
         WHERE table_schema = 'public' AND table_name <> '__diesel_schema_migrations'",
        "SELECT 'index ' || indexdef AS line FROM pg_indexes WHERE schemaname = 'public' \
         AND tablename <> '__diesel_schema_migrations'",
        "SELECT 'constraint ' || conrelid::regclass::text || ' ' || conname || ' ' || pg_get_constraintdef(c.oid) AS line \
         FROM pg_constraint c JOIN pg_namespace n ON n.oid = c.connamespace WHERE n.nspname = 'public' \
         AND conrelid::regclass::text <> '__diesel_schema_migrations'",
        "SELECT 'type ' || typname AS line FROM pg_type t JOIN pg_namespace n ON n.oid = t.typnamespace \
         WHERE n.nspname = 'public' AND t.typtype IN ('e', 'd', 'c') AND t.typrelid = 0",
        "SELECT 'function ' || p.proname || '(' || pg_get_function_identity_arguments(p.oid) || ')' AS line \
         FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace WHERE n.nspname = 'public'",
        "SELECT 'extension ' || extname AS line FROM pg_extension",
        "SELECT 'trigger ' || tgname AS line FROM pg_trigger WHERE NOT tgisinternal",
        "SELECT 'sequence ' || sequence_name AS line FROM information_schema.sequences WHERE sequence_schema = 'public'",
    ];
    let mut lines: Vec<String> = queries
        .iter()
        .flat_map(|query| diesel::sql_query(*query).load::<Line>(conn).unwrap())
        .map(|line| line.line)
        .collect();
    lines.sort();
    lines
}

#[actix_web::test]
async fn every_down_undoes_its_up() {
    let url = empty_database().await;
    tokio::task::spawn_blocking(move || {
        let mut conn = AsyncConnectionWrapper::<AsyncPgConnection>::establish(&url).unwrap();
        diesel::migration::MigrationConnection::setup(&mut conn).unwrap();
        let migrations = MigrationSource::<Pg>::migrations(&MIGRATIONS).unwrap();
        assert!(!migrations.is_empty());
        for migration in &migrations {
            let before = snapshot(&mut conn);
            conn.run_migration(migration).unwrap();
            let after_up = snapshot(&mut conn);
            assert_ne!(before, after_up, "{} changes nothing", migration.name());
            conn.revert_migration(migration).unwrap();
            assert_eq!(
                before,
                snapshot(&mut conn),
                "down.sql of {} does not undo its up.sql",
                migration.name()
            );
            conn.run_migration(migration).unwrap();
            assert_eq!(
                after_up,
                snapshot(&mut conn),
                "{} does not apply again after its down.sql",
                migration.name()
            );
        }
        assert!(!conn.has_pending_migration(MIGRATIONS).unwrap());
    })
    .await
    .unwrap();
}
