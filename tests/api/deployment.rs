//! What an operator meets in the first week: concurrent migrations, a second server on the
//! same data folder, request logs, repeatable demo seeding and the commands' own output.

use crate::support::{empty_database, free_port, fresh_database, TestApp};
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use kringloop::db::migrate::{run_pending, MIGRATIONS};
use std::io::Read;

use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_kringloop");

/// The binary with a clean environment of settings: its own data folder and address.
fn kringloop(data_dir: &Path, bind: &str, args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("KRINGLOOP_JWT_SECRET")
        .env_remove("KRINGLOOP_LOG_FORMAT")
        .env("KRINGLOOP_DATA_DIR", data_dir)
        .env("KRINGLOOP_BIND", bind)
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    command
}

async fn wait_ready(client: &reqwest::Client, base: &str, child: &mut Child) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(response) = client.get(format!("{base}/readyz")).send().await {
            if response.status() == 200 {
                return;
            }
        }
        if let Some(status) = child.try_wait().unwrap() {
            let mut stderr = String::new();
            child
                .stderr
                .take()
                .unwrap()
                .read_to_string(&mut stderr)
                .unwrap();
            panic!("kringloop exited with {status} before it was ready: {stderr}");
        }
        assert!(
            Instant::now() < deadline,
            "kringloop was not ready within a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn sigterm(child: &Child) {
    // It may have exited already; then there is nothing to stop.
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .ok();
}

/// A server the test started; stopped (SIGTERM, so that it stops its cluster) even when an
/// assertion fails first.
struct Running(Option<Child>);

impl Running {
    fn child(&mut self) -> &mut Child {
        self.0.as_mut().unwrap()
    }

    fn id(&self) -> u32 {
        self.0.as_ref().unwrap().id()
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        if let Some(mut child) = self.0.take() {
            sigterm(&child);
            drop(child.wait());
        }
    }
}

/// Stops the server with SIGTERM; returns what it wrote to stderr.
fn terminate(mut running: Running) -> String {
    let child = running.0.take().unwrap();
    sigterm(&child);
    let output = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
    assert!(
        output.status.success(),
        "kringloop exited with {}: {stderr}",
        output.status
    );
    stderr
}

/// The pid of a process that has exited, for a lock file left behind by a crash.
fn dead_pid() -> u32 {
    let mut child = Command::new("true").spawn().unwrap();
    let pid = child.id();
    child.wait().unwrap();
    pid
}

#[actix_web::test]
async fn concurrent_migration_runs_apply_each_migration_once() {
    let url = empty_database().await;
    let runs = (0..4).map(|_| run_pending(&url));
    let results = futures_util::future::join_all(runs).await;
    let mut applied = 0;
    for result in results {
        applied += result.expect("every run succeeds").len();
    }
    let embedded = diesel::migration::MigrationSource::<diesel::pg::Pg>::migrations(&MIGRATIONS)
        .unwrap()
        .len();
    assert_eq!(
        applied, embedded,
        "each migration applied by exactly one run"
    );
    #[derive(diesel::QueryableByName)]
    struct Count {
        #[diesel(sql_type = diesel::sql_types::BigInt)]
        count: i64,
    }
    let mut conn = AsyncPgConnection::establish(&url).await.unwrap();
    let rows: Count = diesel::sql_query("SELECT count(*) AS count FROM __diesel_schema_migrations")
        .get_result(&mut conn)
        .await
        .unwrap();
    assert_eq!(rows.count as usize, embedded);
}

#[actix_web::test]
async fn a_second_server_on_the_same_data_folder_refuses_and_leaves_the_first_running() {
    let dir = tempfile::Builder::new()
        .prefix("kl-two-")
        .tempdir()
        .unwrap();
    let data = dir.path().join("data");
    std::fs::create_dir_all(&data).unwrap();
    // A lock left by a server that crashed is taken over.
    std::fs::write(
        data.join("kringloop.lock"),
        format!("pid {}\nserving 127.0.0.1:1\n", dead_pid()),
    )
    .unwrap();
    let bind = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{bind}");
    let client = reqwest::Client::new();
    let mut first = Running(Some(kringloop(&data, &bind, &["serve"]).spawn().unwrap()));
    wait_ready(&client, &base, first.child()).await;
    let lock = std::fs::read_to_string(data.join("kringloop.lock")).unwrap();
    assert!(lock.contains(&format!("pid {}", first.id())), "{lock}");
    assert!(lock.contains(&bind), "{lock}");

    // The second one, as an operator would start it by mistake: same folder, same address.
    let second = kringloop(&data, &bind, &["serve"]).output().unwrap();
    assert!(!second.status.success());
    let stderr = String::from_utf8_lossy(&second.stderr);
    assert!(stderr.contains("in use"), "{stderr}");
    assert!(stderr.contains(&format!("pid {}", first.id())), "{stderr}");
    assert!(stderr.contains(&bind), "{stderr}");

    // The first server and its database were not disturbed.
    for _ in 0..5 {
        let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
        assert_eq!(ready.status(), 200, "the first server lost its database");
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    // A command may use the running server's cluster, and leaves it running.
    let migrate = kringloop(&data, &bind, &["migrate"]).output().unwrap();
    assert!(
        migrate.status.success(),
        "{}",
        String::from_utf8_lossy(&migrate.stderr)
    );
    let ready = client.get(format!("{base}/readyz")).send().await.unwrap();
    assert_eq!(
        ready.status(),
        200,
        "a command stopped the server's cluster"
    );
    terminate(first);
    assert!(!data.join("postgres/postmaster.pid").exists());
}

#[actix_web::test]
async fn every_request_is_logged_once_with_its_id_and_no_colour() {
    let url = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let bind = format!("127.0.0.1:{}", free_port());
    let base = format!("http://{bind}");
    let client = reqwest::Client::new();
    let mut server = Running(Some(
        kringloop(dir.path(), &bind, &["serve"])
            .env("DATABASE_URL", &url)
            .spawn()
            .unwrap(),
    ));
    wait_ready(&client, &base, server.child()).await;
    let response = client
        .get(format!(
            "{base}/api/v1/organisations/01a22385-1fdd-7714-a7d3-904521947761"
        ))
        .header("x-request-id", "trace-4711")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), 401);
    assert_eq!(response.headers()["x-request-id"], "trace-4711");
    let stderr = terminate(server);
    assert!(
        !stderr.contains('\u{1b}'),
        "colour codes in a pipe: {stderr}"
    );
    let lines: Vec<&str> = stderr
        .lines()
        .filter(|line| line.contains("request_id=trace-4711") && line.contains(" request "))
        .collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    for part in [
        "method=GET",
        "route=/api/v1/organisations/{id}",
        "status=401",
        "duration_ms=",
        " INFO ",
    ] {
        assert!(lines[0].contains(part), "{part} missing: {}", lines[0]);
    }
}

#[actix_web::test]
async fn a_request_id_sent_is_the_one_answered() {
    let app = TestApp::spawn().await;
    let sent = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "lb-7f3a9c")
        .send()
        .await
        .unwrap();
    assert_eq!(sent.headers()["x-request-id"], "lb-7f3a9c");
    // One that cannot go into a log line unchanged is replaced by a generated one.
    let odd = app
        .client
        .get(app.url("/healthz"))
        .header("x-request-id", "two words")
        .send()
        .await
        .unwrap();
    let id = odd.headers()["x-request-id"].to_str().unwrap();
    assert_eq!(id.len(), 36, "{id}");
}

#[actix_web::test]
async fn the_demo_city_loads_twice_and_keeps_real_districts() {
    let app = TestApp::spawn().await;
    let first = kringloop::app::seed::demo(&app.ctx).await.unwrap();
    assert_eq!((first.organisations_made, first.lots_made), (6, 8));
    let again = kringloop::app::seed::demo(&app.ctx).await.unwrap();
    assert_eq!((again.organisations_made, again.lots_made), (0, 0));
    assert_eq!(again.accounts, first.accounts);
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM listings")
            .await,
        8
    );
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM districts WHERE code LIKE 'DEMO-%'")
            .await,
        4
    );

    // A city that uploaded its own districts keeps them.
    let city = TestApp::spawn().await;
    let broker = city.broker().await;
    city.upload_districts(&broker).await;
    let before = city
        .sql_count("SELECT count(*) AS count FROM districts")
        .await;
    let report = kringloop::app::seed::demo(&city.ctx).await.unwrap();
    assert_eq!(
        city.sql_count("SELECT count(*) AS count FROM districts")
            .await,
        before
    );
    assert_eq!(
        city.sql_count("SELECT count(*) AS count FROM districts WHERE code LIKE 'DEMO-%'")
            .await,
        0
    );
    assert!(
        report.notes.iter().any(|note| note.contains("kept")),
        "{:?}",
        report.notes
    );
}

#[actix_web::test]
async fn commands_say_what_they_did() {
    let url = fresh_database().await;
    let dir = tempfile::tempdir().unwrap();
    let run = |args: &[&str]| {
        let output = kringloop(dir.path(), "127.0.0.1:0", args)
            .env("DATABASE_URL", &url)
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&output.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&output.stderr).into_owned();
        assert!(output.status.success(), "{args:?}: {stderr}");
        (stdout, stderr)
    };
    let (stdout, _) = run(&["migrate"]);
    assert!(stdout.contains("no migration was pending"), "{stdout}");

    let (stdout, stderr) = run(&["seed", "--synthetic", "4000"]);
    assert!(stdout.contains("4000 synthetic listings"), "{stdout}");
    // Not a terminal: a line per tenth reached, no bar redraws.
    assert!(stderr.contains("50 % (2000 of 4000)"), "{stderr}");
    assert!(stderr.contains("100 % (4000 of 4000)"), "{stderr}");
    assert!(!stderr.contains('\r'), "{stderr}");

    let (help, _) = run(&["seed", "--help"]);
    for flag in ["--demo", "--synthetic"] {
        let line = help
            .lines()
            .find(|line| line.trim_start().starts_with(flag))
            .unwrap_or_else(|| panic!("{help}"));
        assert!(
            line.trim().len() > flag.len() + 12,
            "{flag} has no help: {line}"
        );
    }
    let (help, _) = run(&["create-broker", "--help"]);
    assert!(help.contains("e-mail address"), "{help}");
}
