//! Configuration: defaults, then an optional TOML file, then `KRINGLOOP_*` environment
//! variables (and `DATABASE_URL`). Secrets are wrapped so that they never print.

use figment::providers::{Env, Format, Serialized, Toml};
use figment::Figment;
use secrecy::SecretString;
use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    #[default]
    Text,
    Json,
}

#[derive(Debug, Clone, Deserialize)]
pub struct Settings {
    /// PostgreSQL to use; when absent kringloop runs its own cluster under `data_dir`.
    pub database_url: Option<SecretString>,
    pub bind: String,
    pub data_dir: PathBuf,
    /// Where the PostgreSQL server binaries are, for the embedded cluster; searched when absent.
    pub pg_bindir: Option<PathBuf>,
    /// Signing secret for access tokens; when absent one is generated and kept in `data_dir`.
    pub jwt_secret: Option<SecretString>,
    /// The address people use to reach the service; links in mail point here.
    pub public_url: Option<String>,
    pub smtp_url: Option<SecretString>,
    pub mail_from: String,
    pub log_format: LogFormat,
    /// HTTP worker threads; defaults to the number of cores.
    pub workers: Option<usize>,
    pub db_pool_size: usize,
    pub access_token_ttl_secs: i64,
    pub refresh_token_ttl_days: i64,
    /// Failed logins per account from one client address, and per client address, within the
    /// window before 429.
    pub login_max_failures_per_account: i64,
    pub login_max_failures_per_address: i64,
    pub login_window_secs: i64,
    /// Each failed login into an account answers this much later per earlier failure into it
    /// within the window (from any address; at most ten steps).
    pub login_slowdown_ms: u64,
    /// Proxies (addresses or CIDR ranges) whose `Forwarded` and `X-Forwarded-For` headers are
    /// believed: a comma-separated list in the environment, a list in the file; empty, none.
    #[serde(deserialize_with = "comma_separated")]
    pub trusted_proxies: Vec<String>,
    /// Largest JSON body accepted, in bytes.
    pub max_body_bytes: usize,
    /// Largest upload accepted (an inventory sheet), in bytes.
    pub max_upload_bytes: usize,
    /// The code of the city's local currency (three capital letters).
    pub local_currency: String,
    /// Mail delivery: attempts before a mail is left failed, the first wait between
    /// attempts (doubling each time) and its ceiling, and the time a send may take.
    pub mail_max_attempts: i32,
    pub mail_backoff_secs: i64,
    pub mail_backoff_max_secs: i64,
    pub mail_timeout_secs: u64,
    /// The hour (UTC) from which daily digests go out.
    pub digest_hour: u32,
    /// Instant mails one person gets about one wish (or, as its donor, one lot) within 24
    /// hours; the rest waits for the daily digest.
    pub mail_instant_per_wish: i64,
    /// Hours a reservation holds its quantity, and days to confirm or dispute a hand-over.
    pub reservation_hold_hours: i64,
    pub handover_confirm_days: i64,
    /// Searches answer from this instance's copy of the open stock where they can.
    pub search_memory: bool,
    /// How often that copy catches up with the database; 0: before every search.
    pub search_lag_ms: u64,
    /// Memory that password hashing may take at once (argon2: 19 MiB a hash).
    pub password_hashing_mib: usize,
    /// Registrations from one client address per hour before 429.
    pub registrations_per_address_per_hour: i64,
    /// A tile server for the stock map (`https://host/{z}/{x}/{y}.png`); without one the map
    /// shows the districts alone.
    pub map_tiles: Option<String>,
    /// Serves `/metrics` on this address (for example one only the monitoring network
    /// reaches) and no longer on `bind`.
    pub metrics_bind: Option<String>,
    /// Web origins (`https://console.example.nl`) whose pages may call the API from a browser:
    /// a comma-separated list in the environment, a list in the file; empty, none may. Open
    /// data may be read from any origin.
    #[serde(deserialize_with = "comma_separated")]
    pub cors_origins: Vec<String>,
    /// Keeps uploaded files (photos, PDFs) in this bucket of an S3-compatible store (MinIO,
    /// AWS S3, ...) instead of under `data_dir/files`. The bucket must exist.
    pub s3_bucket: Option<String>,
    /// The store's address (`http://minio:9000`); AWS's own when absent.
    pub s3_endpoint: Option<String>,
    /// The bucket's region (`us-east-1` when absent; MinIO accepts any).
    pub s3_region: Option<String>,
    pub s3_access_key_id: Option<SecretString>,
    pub s3_secret_access_key: Option<SecretString>,
}

/// A list given as one comma-separated string (as environment variables are) or as a list.
fn comma_separated<'de, D: serde::Deserializer<'de>>(
    deserializer: D,
) -> Result<Vec<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Given {
        Text(String),
        List(Vec<String>),
    }
    let items = match Given::deserialize(deserializer)? {
        Given::Text(text) => text.split(',').map(str::to_owned).collect(),
        Given::List(items) => items,
    };
    Ok(items
        .into_iter()
        .map(|item| item.trim().to_owned())
        .filter(|item| !item.is_empty())
        .collect())
}

#[derive(Serialize)]
struct Defaults {
    bind: &'static str,
    data_dir: &'static str,
    mail_from: &'static str,
    log_format: LogFormat,
    db_pool_size: usize,
    access_token_ttl_secs: i64,
    refresh_token_ttl_days: i64,
    login_max_failures_per_account: i64,
    login_max_failures_per_address: i64,
    login_window_secs: i64,
    login_slowdown_ms: u64,
    trusted_proxies: &'static str,
    max_body_bytes: usize,
    max_upload_bytes: usize,
    local_currency: &'static str,
    mail_max_attempts: i32,
    mail_backoff_secs: i64,
    mail_backoff_max_secs: i64,
    mail_timeout_secs: u64,
    digest_hour: u32,
    mail_instant_per_wish: i64,
    reservation_hold_hours: i64,
    handover_confirm_days: i64,
    search_memory: bool,
    search_lag_ms: u64,
    password_hashing_mib: usize,
    registrations_per_address_per_hour: i64,
    cors_origins: &'static str,
}

const DEFAULTS: Defaults = Defaults {
    bind: "127.0.0.1:8080",
    data_dir: "./kringloop-data",
    mail_from: "kringloop <noreply@localhost>",
    log_format: LogFormat::Text,
    db_pool_size: 16,
    access_token_ttl_secs: 900,
    refresh_token_ttl_days: 30,
    login_max_failures_per_account: 5,
    login_max_failures_per_address: 50,
    login_window_secs: 900,
    login_slowdown_ms: 200,
    trusted_proxies: "",
    max_body_bytes: 256 * 1024,
    max_upload_bytes: 20 * 1024 * 1024,
    local_currency: "KRL",
    mail_max_attempts: 8,
    mail_backoff_secs: 30,
    mail_backoff_max_secs: 3600,
    mail_timeout_secs: 10,
    digest_hour: 7,
    mail_instant_per_wish: 5,
    reservation_hold_hours: 72,
    handover_confirm_days: 7,
    search_memory: true,
    search_lag_ms: 250,
    password_hashing_mib: 256,
    registrations_per_address_per_hour: 20,
    cors_origins: "",
};

impl Settings {
    /// Reads the settings from the defaults, `file` (when given) and the environment.
    pub fn load(file: Option<&Path>) -> Result<Settings, figment::Error> {
        let mut figment = Figment::from(Serialized::defaults(DEFAULTS));
        if let Some(file) = file {
            figment = figment.merge(Toml::file_exact(file));
        }
        figment
            .merge(Env::prefixed("KRINGLOOP_").ignore(&["config"]))
            .merge(Env::raw().only(&["DATABASE_URL"]))
            .extract()
    }

    /// The public base URL, derived from the bind address when not configured.
    pub fn public_url(&self) -> String {
        match &self.public_url {
            Some(url) => url.trim_end_matches('/').to_owned(),
            None => format!("http://{}", self.bind),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn secrets_never_print() {
        figment::Jail::expect_with(|jail| {
            jail.set_env(
                "KRINGLOOP_JWT_SECRET",
                "super-secret-signing-key-0123456789",
            );
            jail.set_env("DATABASE_URL", "postgres://app:hunter2@db/kringloop");
            let settings = Settings::load(None)?;
            let printed = format!("{settings:?}");
            assert!(!printed.contains("super-secret"), "{printed}");
            assert!(!printed.contains("hunter2"), "{printed}");
            assert!(settings.database_url.is_some());
            Ok(())
        });
    }

    #[test]
    fn cors_origins_and_metrics_bind_from_the_environment_or_the_file() {
        figment::Jail::expect_with(|jail| {
            let settings = Settings::load(None)?;
            assert!(settings.cors_origins.is_empty());
            assert_eq!(settings.metrics_bind, None);
            jail.set_env(
                "KRINGLOOP_CORS_ORIGINS",
                "https://console.example.nl, http://localhost:5173,",
            );
            jail.set_env("KRINGLOOP_METRICS_BIND", "127.0.0.1:9464");
            let settings = Settings::load(None)?;
            assert_eq!(
                settings.cors_origins,
                ["https://console.example.nl", "http://localhost:5173"]
            );
            assert_eq!(settings.metrics_bind.as_deref(), Some("127.0.0.1:9464"));
            jail.create_file(
                "kringloop.toml",
                "cors_origins = [\"https://a.example.nl\"]\n",
            )?;
            jail.clear_env();
            let settings = Settings::load(Some(Path::new("kringloop.toml")))?;
            assert_eq!(settings.cors_origins, ["https://a.example.nl"]);
            Ok(())
        });
    }

    #[test]
    fn file_then_environment() {
        figment::Jail::expect_with(|jail| {
            jail.create_file(
                "kringloop.toml",
                "bind = \"0.0.0.0:9000\"\nlog_format = \"json\"\n",
            )?;
            jail.set_env("KRINGLOOP_BIND", "127.0.0.1:9100");
            let settings = Settings::load(Some(Path::new("kringloop.toml")))?;
            assert_eq!(settings.bind, "127.0.0.1:9100");
            assert_eq!(settings.log_format, LogFormat::Json);
            assert_eq!(settings.public_url(), "http://127.0.0.1:9100");
            assert_eq!(settings.data_dir, PathBuf::from("./kringloop-data"));
            Ok(())
        });
    }
}
