//! The test harness: one PostgreSQL per test run (DATABASE_URL, or a throwaway cluster), a
//! template database migrated once, a fresh copy per test, and the app on a random port, with
//! one method per kind of request. What the data in a test is lives in `fixtures`.

use chrono::Utc;
use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
use kringloop::app::Ctx;
use kringloop::config::Settings;
use kringloop::db::cluster::{ClusterOptions, LocalCluster};
use kringloop::domain::clock::ManualClock;
use kringloop::{db, http, startup};
use secrecy::SecretString;
use serde_json::{json, Value};
use sha2::{Digest, Sha256};
use std::net::TcpListener;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, OnceLock};

pub const JWT_SECRET: &str = "test-secret-that-is-long-enough-0123456789";

struct Server {
    admin_url: String,
    template: String,
}

static SERVER: OnceLock<Server> = OnceLock::new();
static NEXT_DB: AtomicUsize = AtomicUsize::new(0);

/// Replaces the database of a connection string (URL or key=value form).
pub fn with_database(url: &str, database: &str) -> String {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        let (base, query) = match url.split_once('?') {
            Some((base, query)) => (base, Some(query)),
            None => (url, None),
        };
        let scheme_end = base.find("://").map(|i| i + 3).unwrap_or(0);
        let host_end = base[scheme_end..]
            .find('/')
            .map(|i| i + scheme_end)
            .unwrap_or(base.len());
        let mut out = format!("{}/{}", &base[..host_end], database);
        if let Some(query) = query {
            out.push('?');
            out.push_str(query);
        }
        out
    } else {
        let mut parts: Vec<String> = url
            .split_whitespace()
            .filter(|part| !part.starts_with("dbname="))
            .map(str::to_owned)
            .collect();
        parts.push(format!("dbname={database}"));
        parts.join(" ")
    }
}

fn migrations_fingerprint() -> String {
    let mut files: Vec<_> =
        walk(std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("migrations"));
    files.sort();
    let mut hasher = Sha256::new();
    for file in files {
        hasher.update(file.to_string_lossy().as_bytes());
        hasher.update(std::fs::read(&file).unwrap());
    }
    hex(&hasher.finalize()[..6])
}

fn walk(dir: std::path::PathBuf) -> Vec<std::path::PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap().flatten() {
        let path = entry.path();
        if path.is_dir() {
            out.extend(walk(path));
        } else {
            out.push(path);
        }
    }
    out
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The admin connection string: DATABASE_URL, or a throwaway cluster for this test process.
fn admin_url() -> String {
    if let Ok(url) = std::env::var("DATABASE_URL") {
        return url;
    }
    let dir = tempfile::Builder::new()
        .prefix("kl-test-")
        .tempdir()
        .unwrap()
        .keep();
    let cluster = LocalCluster::start(
        &dir,
        &ClusterOptions {
            unsafe_fast: true,
            ..Default::default()
        },
    )
    .expect("starting a throwaway PostgreSQL cluster (or set DATABASE_URL)");
    cluster
        .stop_when_gone(std::process::id(), Some(&dir))
        .unwrap();
    cluster.connection_string("postgres")
}

fn server() -> &'static Server {
    SERVER.get_or_init(|| {
        // Runs on its own thread and runtime: tests call this from inside their own runtimes.
        std::thread::spawn(|| {
            tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap()
                .block_on(async {
                    let admin_url = admin_url();
                    let template = format!("kringloop_tpl_{}", migrations_fingerprint());
                    prepare_template(&admin_url, &template).await;
                    drop_stale_databases(&admin_url).await;
                    Server {
                        admin_url,
                        template,
                    }
                })
        })
        .join()
        .unwrap()
    })
}

#[derive(diesel::QueryableByName)]
struct Name {
    #[diesel(sql_type = diesel::sql_types::Text)]
    name: String,
}

/// Builds the template under a lock, so that parallel test processes build it once.
async fn prepare_template(admin_url: &str, template: &str) {
    let mut conn = AsyncPgConnection::establish(admin_url).await.unwrap();
    diesel::sql_query("SELECT pg_advisory_lock(727274)")
        .execute(&mut conn)
        .await
        .unwrap();
    let existing: Vec<Name> =
        diesel::sql_query("SELECT datname AS name FROM pg_database WHERE datname = $1")
            .bind::<diesel::sql_types::Text, _>(template)
            .load(&mut conn)
            .await
            .unwrap();
    if existing.is_empty() {
        let building = format!("{template}_build");
        diesel::sql_query(format!("DROP DATABASE IF EXISTS {building}"))
            .execute(&mut conn)
            .await
            .unwrap();
        diesel::sql_query(format!("CREATE DATABASE {building}"))
            .execute(&mut conn)
            .await
            .unwrap();
        db::migrate::run_pending(&with_database(admin_url, &building))
            .await
            .unwrap();
        diesel::sql_query(format!("ALTER DATABASE {building} RENAME TO {template}"))
            .execute(&mut conn)
            .await
            .unwrap();
    }
    diesel::sql_query("SELECT pg_advisory_unlock(727274)")
        .execute(&mut conn)
        .await
        .unwrap();
}

/// Test databases are named `kt_<pid>_<n>`; those of processes that are gone are dropped.
async fn drop_stale_databases(admin_url: &str) {
    let mut conn = AsyncPgConnection::establish(admin_url).await.unwrap();
    let names: Vec<Name> =
        diesel::sql_query("SELECT datname AS name FROM pg_database WHERE datname LIKE 'kt\\_%'")
            .load(&mut conn)
            .await
            .unwrap();
    for Name { name } in names {
        let pid: Option<i32> = name.split('_').nth(1).and_then(|p| p.parse().ok());
        let alive = pid.is_some_and(|pid| std::path::Path::new(&format!("/proc/{pid}")).exists());
        if !alive {
            let _ = diesel::sql_query(format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
                .execute(&mut conn)
                .await;
        }
    }
}

/// A fresh database copied from the template; returns its connection string.
pub async fn fresh_database() -> String {
    let server = server();
    let name = format!(
        "kt_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    let mut conn = AsyncPgConnection::establish(&server.admin_url)
        .await
        .unwrap();
    diesel::sql_query(format!(
        "CREATE DATABASE {name} TEMPLATE {}",
        server.template
    ))
    .execute(&mut conn)
    .await
    .unwrap();
    with_database(&server.admin_url, &name)
}

/// An empty database with no migrations applied.
pub async fn empty_database() -> String {
    let server = server();
    let name = format!(
        "kt_{}_{}",
        std::process::id(),
        NEXT_DB.fetch_add(1, Ordering::SeqCst)
    );
    let mut conn = AsyncPgConnection::establish(&server.admin_url)
        .await
        .unwrap();
    diesel::sql_query(format!("CREATE DATABASE {name}"))
        .execute(&mut conn)
        .await
        .unwrap();
    with_database(&server.admin_url, &name)
}

pub fn test_settings() -> Settings {
    let mut settings = Settings::load(None).unwrap();
    settings.jwt_secret = Some(SecretString::from(JWT_SECRET.to_owned()));
    settings.public_url = Some("https://kringloop.test".into());
    settings.max_body_bytes = 64 * 1024;
    settings.db_pool_size = 8;
    // Every search sees every change committed before it.
    settings.search_lag_ms = 0;
    // Every test signs up from 127.0.0.1; the throttle has tests of its own.
    settings.registrations_per_address_per_hour = 10_000;
    // Failed logins answer at once; the slow-down has a test of its own.
    settings.login_slowdown_ms = 0;
    // Uploaded files go to a folder of this test's own (never the working directory).
    settings.data_dir = tempfile::tempdir().unwrap().keep();
    settings
}

/// The running app of one test, with its own database.
pub struct TestApp {
    pub base: String,
    /// Where `/metrics` is served when the settings gave a `metrics_bind` (port 0: any).
    pub metrics_base: Option<String>,
    pub client: reqwest::Client,
    pub ctx: Arc<Ctx>,
    pub clock: ManualClock,
    pub db_url: String,
}

impl TestApp {
    pub async fn spawn() -> TestApp {
        Self::spawn_with(test_settings()).await
    }

    pub async fn spawn_with(settings: Settings) -> TestApp {
        let filter = tracing_subscriber::EnvFilter::try_from_default_env()
            .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,tracing_actix_web=error"));
        drop(
            tracing_subscriber::fmt()
                .with_env_filter(filter)
                .with_test_writer()
                .try_init(),
        );
        let db_url = fresh_database().await;
        let clock = ManualClock::new(Utc::now());
        Self::spawn_on(settings, db_url, clock).await
    }

    /// A second instance of the service on this one's database, sharing its clock.
    pub async fn spawn_beside(&self, settings: Settings) -> TestApp {
        Self::spawn_on(settings, self.db_url.clone(), self.clock.clone()).await
    }

    async fn spawn_on(settings: Settings, db_url: String, clock: ManualClock) -> TestApp {
        let ctx = startup::context(
            &settings,
            &SecretString::from(db_url.clone()),
            Arc::new(clock.clone()),
        )
        .unwrap();
        let ctx = actix_web::web::Data::new(ctx);
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        let options = http::ServerOptions::from_settings(&settings, 1).unwrap();
        let metrics_base = options
            .metrics
            .as_ref()
            .map(|listener| format!("http://{}", listener.local_addr().unwrap()));
        let server = http::server(ctx.clone(), listener, options).unwrap();
        actix_web::rt::spawn(server);
        TestApp {
            base,
            metrics_base,
            client: reqwest::Client::new(),
            ctx: ctx.into_inner(),
            clock,
            db_url,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn get(&self, path: &str, token: Option<&str>) -> Response {
        let mut request = self.client.get(self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Response::from(request.send().await.unwrap()).await
    }

    /// A signed-in GET whose answer is text (a CSV sheet, an SVG): asserts 200.
    pub async fn get_text(&self, path: &str, token: &str) -> String {
        let response = self
            .client
            .get(self.url(path))
            .bearer_auth(token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), 200, "{path}");
        response.text().await.unwrap()
    }

    pub async fn post(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let mut request = self.client.post(self.url(path)).json(body);
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        Response::from(request.send().await.unwrap()).await
    }

    /// Searches the stock: `GET /api/v1/listings?{query}`.
    pub async fn search(&self, query: &str, token: Option<&str>) -> Response {
        self.get(&format!("/api/v1/listings?{query}"), token).await
    }

    /// The owner withdraws a listing; the answer is the test's to judge.
    pub async fn withdraw(&self, listing_id: &str, token: Option<&str>) -> Response {
        self.post(
            &format!("/api/v1/listings/{listing_id}/withdraw"),
            token,
            &json!({}),
        )
        .await
    }

    /// Registers an owner with a new organisation; returns the registration answer.
    pub async fn register(&self, email: &str, kind: &str) -> Value {
        self.register_in(email, kind, "en").await
    }

    /// Registers an owner who reads `locale`, with a new organisation in the city centre.
    pub async fn register_in(&self, email: &str, kind: &str, locale: &str) -> Value {
        let response = self
            .post(
                "/api/v1/auth/register",
                None,
                &json!({
                    "email": email,
                    "password": "correct horse battery",
                    "display_name": "Owner",
                    "locale": locale,
                    "organisation": {"name": format!("Org of {email}"), "kind": kind,
                                     "location": {"lat": 52.0705, "lon": 4.3007}}
                }),
            )
            .await;
        assert_eq!(response.status, 201, "{}", response.body);
        response.body
    }

    /// Logs in again (a test that moves the clock past a token's life needs a new one).
    pub async fn token(&self, email: &str) -> String {
        self.login(email).await["access_token"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    pub async fn login(&self, email: &str) -> Value {
        let response = self
            .post(
                "/api/v1/auth/token",
                None,
                &json!({"email": email, "password": "correct horse battery"}),
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.body);
        response.body
    }

    /// Registers and logs in; returns (access token, organisation id).
    pub async fn member(&self, email: &str, kind: &str) -> (String, String) {
        let registered = self.register(email, kind).await;
        let tokens = self.login(email).await;
        (
            tokens["access_token"].as_str().unwrap().to_owned(),
            registered["organisation"]["id"]
                .as_str()
                .unwrap()
                .to_owned(),
        )
    }

    /// A broker account; returns its access token.
    pub async fn broker(&self) -> String {
        let created = kringloop::app::accounts::organisations::create_broker(
            &self.ctx,
            "broker@gemeente.test",
            "correct horse battery",
            "Makelaar",
            "Gemeente Den Haag",
        )
        .await;
        // Asked for twice in one test, the broker exists already.
        assert!(
            matches!(
                created,
                Ok(_) | Err(kringloop::app::error::AppError::Conflict { .. })
            ),
            "{created:?}"
        );
        self.token("broker@gemeente.test").await
    }

    /// A verified organisation's owner, whose address is confirmed; returns (access token,
    /// organisation id).
    pub async fn verified_member(&self, email: &str, kind: &str, broker: &str) -> (String, String) {
        let (token, org) = self.member(email, kind).await;
        super::mailbox::confirm_email(self, email).await;
        let verified = self
            .post(
                &format!("/api/v1/admin/organisations/{org}/verify"),
                Some(broker),
                &json!({}),
            )
            .await;
        assert_eq!(verified.status, 200, "{}", verified.body);
        (token, org)
    }

    pub async fn put(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send(reqwest::Method::PUT, path, token, Some(body), &[])
            .await
    }

    pub async fn patch(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        self.send(reqwest::Method::PATCH, path, token, Some(body), &[])
            .await
    }

    pub async fn delete(&self, path: &str, token: Option<&str>) -> Response {
        self.send(reqwest::Method::DELETE, path, token, None, &[])
            .await
    }

    /// A POST with a fresh `Idempotency-Key`, for requests that move money or quantity.
    pub async fn post_keyed(&self, path: &str, token: Option<&str>, body: &Value) -> Response {
        let key = uuid::Uuid::now_v7().to_string();
        self.send(
            reqwest::Method::POST,
            path,
            token,
            Some(body),
            &[("Idempotency-Key", &key)],
        )
        .await
    }

    pub async fn send(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&Value>,
        headers: &[(&str, &str)],
    ) -> Response {
        let mut request = self.client.request(method, self.url(path));
        if let Some(token) = token {
            request = request.bearer_auth(token);
        }
        if let Some(body) = body {
            request = request.json(body);
        }
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        Response::from(request.send().await.unwrap()).await
    }

    /// Uploads The Hague's 44 districts (the shared reference data) as the broker.
    pub async fn upload_districts(&self, broker: &str) -> Value {
        let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("../shared/data/districts-den-haag.geojson");
        let geojson: Value =
            serde_json::from_str(&std::fs::read_to_string(&path).unwrap()).unwrap();
        let response = self
            .send(
                reqwest::Method::PUT,
                "/api/v1/admin/districts",
                Some(broker),
                Some(&geojson),
                &[],
            )
            .await;
        assert_eq!(response.status, 200, "{}", response.body);
        response.body
    }

    /// The ids a query returns in a column named `id`, in its order.
    pub async fn sql_ids(&self, query: &str) -> Vec<String> {
        #[derive(diesel::QueryableByName)]
        struct Id {
            #[diesel(sql_type = diesel::sql_types::Uuid)]
            id: uuid::Uuid,
        }
        let mut conn = AsyncPgConnection::establish(&self.db_url).await.unwrap();
        let rows: Vec<Id> = diesel::sql_query(query).load(&mut conn).await.unwrap();
        rows.into_iter().map(|row| row.id.to_string()).collect()
    }

    /// Runs one statement on the test's database; the number of rows it touched.
    pub async fn sql(&self, statement: &str) -> Result<usize, diesel::result::Error> {
        let mut conn = AsyncPgConnection::establish(&self.db_url).await.unwrap();
        diesel::sql_query(statement).execute(&mut conn).await
    }

    pub async fn sql_count(&self, query: &str) -> i64 {
        #[derive(diesel::QueryableByName)]
        struct Count {
            #[diesel(sql_type = diesel::sql_types::BigInt)]
            count: i64,
        }
        let mut conn = AsyncPgConnection::establish(&self.db_url).await.unwrap();
        let row: Count = diesel::sql_query(query)
            .get_result(&mut conn)
            .await
            .unwrap();
        row.count
    }
}

/// A response read whole: status, headers and JSON body (Null when not JSON).
pub struct Response {
    pub status: u16,
    pub headers: reqwest::header::HeaderMap,
    pub body: Value,
}

impl Response {
    pub async fn from(response: reqwest::Response) -> Response {
        let status = response.status().as_u16();
        let headers = response.headers().clone();
        let bytes = response.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Response {
            status,
            headers,
            body,
        }
    }

    /// The `items` of a page; asserts that the answer is one.
    pub fn items(&self) -> &Vec<Value> {
        assert_eq!(self.status, 200, "{}", self.body);
        self.body["items"]
            .as_array()
            .unwrap_or_else(|| panic!("no items in {}", self.body))
    }

    pub fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    /// Asserts a problem+json answer of this status and kind.
    pub fn assert_problem(&self, status: u16, kind: &str) {
        assert_eq!(self.status, status, "{}", self.body);
        assert_eq!(
            self.content_type(),
            "application/problem+json",
            "{}",
            self.body
        );
        assert_eq!(
            self.body["type"],
            format!("urn:kringloop:problem:{kind}"),
            "{}",
            self.body
        );
        assert_eq!(self.body["status"], status);
        assert!(self.body["title"].is_string());
    }
}

/// A port nobody listens on right now, for a process a test starts.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}
