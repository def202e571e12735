//! Bringing the service up: finding or starting the database, migrating, building the
//! context, serving, and shutting down cleanly.

use crate::app::accounts::passwords::Passwords;
use crate::app::engine::files::{DiskStore, FileStore, S3Config, S3Store};
use crate::app::engine::mail::{DeliveryPolicy, InstantCap, Mailer};
use crate::app::engine::payments::Payments;
use crate::app::engine::stock::StockCopy;
use crate::app::engine::tokens::AccessTokens;
use crate::app::{Ctx, Policy};
use crate::config::Settings;
use crate::db::cluster::{BinarySearch, ClusterOptions, LocalCluster, Purpose};
use crate::domain::clock::{Clock, SystemClock};
use crate::{db, http, jobs};
use actix_web::web;
use anyhow::Context as _;
use argon2::password_hash::rand_core::{OsRng, RngCore};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::Duration as Span;
use secrecy::{ExposeSecret, SecretString};
use std::fs;
use std::io::Write;
use std::net::TcpListener;
use std::os::unix::fs::OpenOptionsExt;
use std::sync::Arc;
use std::time::Duration;

/// The database the service runs on, and the cluster it owns when it started one.
pub struct Database {
    pub url: SecretString,
    pub cluster: Option<LocalCluster>,
}

pub const DATABASE_NAME: &str = "kringloop";

/// Uses `DATABASE_URL` when set; otherwise takes the data folder's lock, starts the cluster
/// under it (or uses the one a running server owns, for a command) and makes sure the
/// database exists.
pub async fn open_database(settings: &Settings, purpose: Purpose) -> anyhow::Result<Database> {
    if let Some(url) = &settings.database_url {
        return Ok(Database {
            url: url.clone(),
            cluster: None,
        });
    }
    let root = settings.data_dir.clone();
    let options = ClusterOptions {
        search: BinarySearch {
            explicit: settings.pg_bindir.clone(),
            ..BinarySearch::default()
        },
        purpose,
        ..ClusterOptions::default()
    };
    let cluster =
        tokio::task::spawn_blocking(move || LocalCluster::start(&root, &options)).await??;
    tracing::info!(folder = %cluster.data_dir().display(), "running kringloop's own PostgreSQL cluster (set DATABASE_URL to use another)");
    db::ensure_database(&cluster.connection_string("postgres"), DATABASE_NAME).await?;
    let url = SecretString::from(cluster.connection_string(DATABASE_NAME));
    Ok(Database {
        url,
        cluster: Some(cluster),
    })
}

/// The configured JWT secret, or one generated once and kept in the data folder.
pub fn jwt_secret(settings: &Settings) -> anyhow::Result<SecretString> {
    if let Some(secret) = &settings.jwt_secret {
        return Ok(secret.clone());
    }
    let path = settings.data_dir.join("jwt-secret");
    if let Ok(existing) = fs::read_to_string(&path) {
        if existing.trim().len() >= 32 {
            return Ok(SecretString::from(existing.trim().to_owned()));
        }
    }
    fs::create_dir_all(&settings.data_dir)
        .with_context(|| format!("creating {}", settings.data_dir.display()))?;
    let mut bytes = [0u8; 48];
    OsRng.fill_bytes(&mut bytes);
    let secret = URL_SAFE_NO_PAD.encode(bytes);
    let mut file = fs::OpenOptions::new()
        .write(true)
        .create(true)
        .truncate(true)
        .mode(0o600)
        .open(&path)
        .with_context(|| format!("writing {}", path.display()))?;
    file.write_all(secret.as_bytes())?;
    tracing::warn!(file = %path.display(), "KRINGLOOP_JWT_SECRET is not set; generated a signing secret and kept it in the data folder");
    Ok(SecretString::from(secret))
}

/// The context every use case runs in.
pub fn context(
    settings: &Settings,
    url: &SecretString,
    clock: Arc<dyn Clock>,
) -> anyhow::Result<Ctx> {
    let secret = jwt_secret(settings)?;
    let public_url = settings.public_url();
    let mail_timeout = Duration::from_secs(settings.mail_timeout_secs.max(1));
    let pool = db::pool(url.expose_secret(), settings.db_pool_size)?;
    Ok(Ctx {
        payments: Payments::new(pool.clone(), settings.db_pool_size),
        pool,
        clock,
        tokens: AccessTokens::new(
            &secret,
            &public_url,
            Span::seconds(settings.access_token_ttl_secs),
        )?,
        policy: Policy {
            refresh_token_ttl: Span::days(settings.refresh_token_ttl_days),
            login_max_failures_per_account: settings.login_max_failures_per_account,
            login_max_failures_per_address: settings.login_max_failures_per_address,
            login_window: Span::seconds(settings.login_window_secs),
            login_slowdown: std::time::Duration::from_millis(settings.login_slowdown_ms),
            local_currency: settings.local_currency.clone(),
            reservation_hold: Span::hours(settings.reservation_hold_hours.max(1)),
            handover_confirm: Span::days(settings.handover_confirm_days.max(1)),
            registrations_per_address: settings.registrations_per_address_per_hour.max(1),
            registration_window: Span::hours(1),
        },
        passwords: Passwords::new(settings.password_hashing_mib),
        public_url,
        map_tiles: settings.map_tiles.clone().filter(|t| !t.trim().is_empty()),
        subtrees: Default::default(),
        stock: StockCopy::new(
            settings.search_memory,
            Duration::from_millis(settings.search_lag_ms),
        ),
        matcher: Default::default(),
        mailer: settings
            .smtp_url
            .as_ref()
            .map(|url| Mailer::new(url.expose_secret(), &settings.mail_from, mail_timeout))
            .transpose()
            .context("KRINGLOOP_SMTP_URL or KRINGLOOP_MAIL_FROM is not usable")?,
        delivery: DeliveryPolicy {
            max_attempts: settings.mail_max_attempts.max(1),
            backoff_base: Span::seconds(settings.mail_backoff_secs.max(1)),
            backoff_max: Span::seconds(settings.mail_backoff_max_secs.max(1)),
            send_timeout: mail_timeout,
            digest_hour: settings.digest_hour.min(23),
            instant_cap: InstantCap::new(settings.mail_instant_per_wish),
        },
        latest_migration: db::migrate::latest_version(),
        max_upload_bytes: settings.max_upload_bytes,
        files: file_store(settings)?,
    })
}

/// Where uploaded files are kept: the S3 bucket when one is configured, else the data folder.
pub fn file_store(settings: &Settings) -> anyhow::Result<Arc<dyn FileStore>> {
    match settings.s3_bucket.as_deref().map(str::trim) {
        Some(bucket) if !bucket.is_empty() => Ok(Arc::new(
            S3Store::new(S3Config {
                bucket: bucket.to_owned(),
                endpoint: settings
                    .s3_endpoint
                    .clone()
                    .filter(|e| !e.trim().is_empty()),
                region: settings.s3_region.clone().filter(|r| !r.trim().is_empty()),
                access_key_id: settings.s3_access_key_id.clone(),
                secret_access_key: settings.s3_secret_access_key.clone(),
            })
            .context("KRINGLOOP_S3_* does not describe a usable store")?,
        )),
        _ => Ok(Arc::new(DiskStore::new(settings.data_dir.join("files")))),
    }
}

/// `kringloop serve`: database, migrations, HTTP, background jobs; stops on SIGINT/SIGTERM
/// and then stops the cluster it started (never one it found running).
pub async fn serve(settings: Settings) -> anyhow::Result<()> {
    let purpose = Purpose::Serve {
        address: settings.bind.clone(),
    };
    let database = open_database(&settings, purpose).await?;
    let result = serve_on(&settings, &database.url).await;
    if let Some(cluster) = &database.cluster {
        cluster.stop_if_started()?;
    }
    result
}

async fn serve_on(settings: &Settings, url: &SecretString) -> anyhow::Result<()> {
    let applied = db::migrate::run_pending(url.expose_secret()).await?;
    if !applied.is_empty() {
        tracing::info!(?applied, "applied migrations");
    }
    let ctx = web::Data::new(context(settings, url, Arc::new(SystemClock))?);
    ctx.files
        .check()
        .await
        .context("the store for uploaded files is not usable")?;
    let listener =
        TcpListener::bind(&settings.bind).with_context(|| format!("binding {}", settings.bind))?;
    let workers = settings
        .workers
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(2, |n| n.get()));
    let options = http::ServerOptions::from_settings(settings, workers)?;
    let server = http::server(ctx.clone(), listener, options)?;
    tracing::info!(address = %settings.bind, public_url = %ctx.public_url, "kringloop is serving");
    if let Some(address) = &settings.metrics_bind {
        tracing::info!(%address, "metrics are served on their own address");
    }
    let ctx = ctx.into_inner();
    let jobs = [
        tokio::spawn(jobs::housekeeping::run_forever(
            ctx.clone(),
            Duration::from_secs(600),
        )),
        tokio::spawn(jobs::lifecycle::run_forever(
            ctx.clone(),
            Duration::from_secs(60),
        )),
        tokio::spawn(jobs::matcher::run_forever(
            ctx.clone(),
            url.clone(),
            Duration::from_secs(30),
        )),
        tokio::spawn(jobs::delivery::run_forever(
            ctx.clone(),
            Duration::from_secs(5),
        )),
        tokio::spawn(jobs::demurrage::run_forever(
            ctx.clone(),
            Duration::from_secs(3600),
        )),
        tokio::spawn(jobs::stock::run_forever(ctx)),
    ];
    let result = server.await;
    for job in jobs {
        job.abort();
    }
    tracing::info!("kringloop has stopped");
    Ok(result?)
}
