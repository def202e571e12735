//! The `kringloop` command: serve (the default), migrate, create-broker, seed, openapi,
//! verify, import.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kringloop::app::Ctx;
use kringloop::config::Settings;
use kringloop::db::cluster::Purpose;
use kringloop::domain::clock::SystemClock;
use kringloop::{app, db, http, startup, telemetry};
use secrecy::{ExposeSecret, SecretString};
use std::io::{BufRead, IsTerminal};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "kringloop",
    version,
    about = "The open service a city runs to keep building materials in its own loop",
    long_about = "The open service a city runs to keep building materials in its own loop.\n\n\
                  With DATABASE_URL unset, kringloop runs its own PostgreSQL cluster under its \
                  data folder (KRINGLOOP_DATA_DIR). Every setting can also come from a TOML \
                  file (--config) or a KRINGLOOP_* environment variable; see README.md."
)]
struct Cli {
    /// A TOML file with settings; environment variables override it.
    #[arg(long, global = true, env = "KRINGLOOP_CONFIG")]
    config: Option<PathBuf>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Serve the API and run the background jobs (the default); migrates first.
    Serve,
    /// Apply pending database migrations, say which, and exit.
    Migrate,
    /// Create a broker account (the city's materials broker).
    CreateBroker {
        /// The broker's e-mail address, used to log in.
        #[arg(long)]
        email: String,
        /// Read the password as one line from standard input instead of prompting for it.
        #[arg(long)]
        password_stdin: bool,
        /// The broker's name as others see it.
        #[arg(long, default_value = "Materialenmakelaar")]
        name: String,
        /// The municipality organisation the broker belongs to; created when missing.
        #[arg(long, default_value = "Gemeente")]
        organisation: String,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Import a pre-demolition inventory (CSV or XLSX, columns as in
    /// GET /api/v1/passports/inventory/columns) as passports and listings of a verified
    /// organisation, in one transaction; progress on stderr.
    Import {
        /// The sheet.
        file: PathBuf,
        /// The organisation the elements belong to: its id or exact name.
        #[arg(long)]
        organisation: String,
        /// Where the lots are collected (with --lon); the organisation's place when absent.
        #[arg(long, requires = "lon", allow_negative_numbers = true)]
        lat: Option<f64>,
        #[arg(long, requires = "lat", allow_negative_numbers = true)]
        lon: Option<f64>,
        /// The pickup address.
        #[arg(long)]
        address: Option<String>,
        /// Import the valid rows and list the bad ones, instead of nothing when one is bad.
        #[arg(long)]
        valid_rows_only: bool,
    },
    /// Check an exported passport (kringloop-passport/2) offline: exits 0 when its custody
    /// chain, content and embedded files hold, 1 naming the first event that does not.
    Verify {
        /// The export, as `GET /api/v1/passports/{id}/export` gave it; `-` reads stdin.
        file: PathBuf,
    },
    /// Load data: a small demo city (`--demo`) or synthetic stock (`--synthetic N`).
    Seed {
        /// Load the demo city, or what of it is missing; districts already loaded are kept.
        #[arg(long, conflicts_with = "synthetic")]
        demo: bool,
        /// Add N synthetic listings (each with its own passport) around The Hague.
        #[arg(long, value_name = "N")]
        synthetic: Option<i64>,
        /// N synthetic hand-over flows over the last five years (progress on stderr).
        #[arg(long, value_name = "N")]
        synthetic_flows: Option<i64>,
    },
}

fn main() {
    let cli = Cli::parse();
    if let Err(error) = run(cli) {
        eprintln!("kringloop: {error:#}");
        std::process::exit(1);
    }
}

fn run(cli: Cli) -> anyhow::Result<()> {
    let command = cli.command.unwrap_or(Command::Serve);
    if let Command::Openapi = command {
        print!("{}", http::openapi_json());
        return Ok(());
    }
    if let Command::Verify { file } = &command {
        return verify(file);
    }
    let settings = Settings::load(cli.config.as_deref()).context("reading the configuration")?;
    telemetry::init(settings.log_format);
    let runtime = actix_web::rt::System::new();
    match command {
        Command::Serve => runtime.block_on(startup::serve(settings)),
        Command::Openapi | Command::Verify { .. } => Ok(()),
        Command::Migrate => runtime.block_on(on_database(&settings, async |url| {
            let applied = db::migrate::run_pending(url.expose_secret()).await?;
            if applied.is_empty() {
                println!(
                    "no migration was pending; the database is at {}",
                    db::migrate::latest_version()
                );
            }
            for version in applied {
                println!("applied {version}");
            }
            Ok(())
        })),
        Command::CreateBroker {
            email,
            password_stdin,
            name,
            organisation,
        } => {
            let password = read_password(password_stdin)?;
            runtime.block_on(on_database(&settings, async |url| {
                let ctx = migrated_context(&settings, url).await?;
                let user = app::accounts::organisations::create_broker(
                    &ctx,
                    &email,
                    &password,
                    &name,
                    &organisation,
                )
                .await
                .map_err(explain)?;
                println!("broker {} created (user id {})", user.email, user.id);
                Ok(())
            }))
        }
        Command::Import {
            file,
            organisation,
            lat,
            lon,
            address,
            valid_rows_only,
        } => {
            let bytes =
                std::fs::read(&file).with_context(|| format!("reading {}", file.display()))?;
            runtime.block_on(on_database(&settings, async |url| {
                let ctx = migrated_context(&settings, url).await?;
                let actor = app::inventory::organisation_actor(&ctx, &organisation)
                    .await
                    .map_err(explain)?;
                let options = app::inventory::ImportOptions {
                    pickup: lat.zip(lon).map(|(lat, lon)| {
                        (kringloop::domain::geo::Location { lat, lon }, address.clone())
                    }),
                    valid_rows_only,
                };
                let started = std::time::Instant::now();
                let mut progress: Option<Progress> = None;
                let report = app::inventory::import(&ctx, &actor, &bytes, options, |done, total| {
                    progress
                        .get_or_insert_with(|| Progress::new(total as i64, "inventory rows"))
                        .at(done as i64)
                })
                .await
                .map_err(explain)?;
                if let Some(progress) = &progress {
                    progress.finish();
                }
                for skipped in &report.skipped {
                    eprintln!("skipped {}: {}", skipped.pointer, skipped.detail);
                }
                println!(
                    "{} passports ({} listed, {} of them announced) from {} rows in {:.1} s; import {}",
                    report.created,
                    report.listed,
                    report.announced,
                    report.rows,
                    started.elapsed().as_secs_f64(),
                    report.import_id
                );
                Ok(())
            }))
        }
        Command::Seed {
            demo,
            synthetic,
            synthetic_flows,
        } => {
            anyhow::ensure!(
                demo || synthetic.is_some() || synthetic_flows.is_some(),
                "say --demo, --synthetic N or --synthetic-flows N"
            );
            runtime.block_on(on_database(&settings, async |url| {
                let ctx = migrated_context(&settings, url).await?;
                if demo {
                    let report = app::seed::demo(&ctx).await.map_err(explain)?;
                    println!(
                        "demo city loaded ({} organisations and {} lots added now); accounts (password {}):",
                        report.organisations_made,
                        report.lots_made,
                        app::seed::DEMO_PASSWORD
                    );
                    for account in report.accounts {
                        println!("  {account}");
                    }
                    for note in report.notes {
                        println!("note: {note}");
                    }
                }
                if let Some(count) = synthetic {
                    let started = std::time::Instant::now();
                    let mut progress = Progress::new(count, "synthetic listings");
                    let made =
                        app::seed::synthetic_with_progress(&ctx, count, |made| progress.at(made))
                            .await
                            .map_err(explain)?;
                    progress.finish();
                    println!(
                        "{made} synthetic listings in {:.1} s",
                        started.elapsed().as_secs_f64()
                    );
                }
                if let Some(count) = synthetic_flows {
                    let started = std::time::Instant::now();
                    let mut progress = Progress::new(count, "synthetic flows");
                    let made = app::flows::seed::synthetic_flows(&ctx, count, 5, |done, _| {
                        progress.at(done)
                    })
                    .await
                    .map_err(explain)?;
                    progress.finish();
                    println!(
                        "{made} synthetic flows in {:.1} s",
                        started.elapsed().as_secs_f64()
                    );
                }
                Ok(())
            }))
        }
    }
}

/// `kringloop verify FILE`: the verdict on an export, read from a file or stdin.
fn verify(file: &std::path::Path) -> anyhow::Result<()> {
    let text = if file == std::path::Path::new("-") {
        std::io::read_to_string(std::io::stdin()).context("reading stdin")?
    } else {
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?
    };
    let export: serde_json::Value =
        serde_json::from_str(&text).context("the export is not JSON")?;
    let verdict =
        kringloop::domain::passport_export::verify(&export).map_err(anyhow::Error::msg)?;
    match &verdict.broken_at {
        None => {
            println!(
                "valid: {} events, head {}{}, {} file(s) checked",
                verdict.events,
                verdict.head.as_deref().unwrap_or("(none)"),
                if verdict.content_bound {
                    ""
                } else {
                    " (no event fixes the content: a chain begun before content hashes)"
                },
                verdict.files_checked
            );
            Ok(())
        }
        Some(broken) => {
            let at = match (broken.seq, broken.kind) {
                (Some(seq), Some(kind)) => format!("event {seq} ({kind})"),
                (Some(seq), None) => format!("event {seq}"),
                _ => "outside the chain".to_owned(),
            };
            let reason = serde_json::to_value(broken.reason)
                .ok()
                .and_then(|v| v.as_str().map(str::to_owned))
                .unwrap_or_default();
            anyhow::bail!("broken at {at}: {reason}: {}", broken.detail)
        }
    }
}

/// Opens the database for a command (using the cluster of a running server when there is
/// one), runs `work`, and stops the cluster afterwards only when this command started it.
async fn on_database(
    settings: &Settings,
    work: impl AsyncFnOnce(&SecretString) -> anyhow::Result<()>,
) -> anyhow::Result<()> {
    let database = startup::open_database(settings, Purpose::Command).await?;
    let result = work(&database.url).await;
    if let Some(cluster) = &database.cluster {
        cluster.stop_if_started()?;
    }
    result
}

async fn migrated_context(settings: &Settings, url: &SecretString) -> anyhow::Result<Ctx> {
    db::migrate::run_pending(url.expose_secret()).await?;
    startup::context(settings, url, Arc::new(SystemClock))
}

/// A use case's error as a sentence for the terminal; validation errors field by field (a
/// line each when there are many, as a sheet's are).
fn explain(error: app::error::AppError) -> anyhow::Error {
    match error {
        app::error::AppError::Validation(errors) => {
            let lines: Vec<String> = errors
                .into_vec()
                .iter()
                .map(|e| format!("{}: {}", e.pointer.trim_start_matches('/'), e.detail))
                .collect();
            let separator = if lines.len() > 3 { "\n" } else { "; " };
            anyhow::anyhow!("{}", lines.join(separator))
        }
        other => anyhow::anyhow!("{other}"),
    }
}

/// Progress of long work on stderr: a bar on a terminal, a line every 10 % otherwise (logs
/// of a container or CI job should not fill with redraws).
struct Progress {
    total: i64,
    what: &'static str,
    bar: Option<indicatif::ProgressBar>,
    next_tenth: i64,
}

impl Progress {
    fn new(total: i64, what: &'static str) -> Self {
        let bar = std::io::stderr().is_terminal().then(|| {
            let bar = indicatif::ProgressBar::new(total.max(0) as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{msg} [{bar:40}] {human_pos}/{human_len} ({elapsed} so far, {eta} left)",
            ) {
                bar.set_style(style.progress_chars("=> "));
            }
            bar.set_message(what);
            bar
        });
        Progress {
            total,
            what,
            bar,
            next_tenth: 1,
        }
    }

    fn at(&mut self, done: i64) {
        if let Some(bar) = &self.bar {
            bar.set_position(done.max(0) as u64);
            return;
        }
        let total = self.total.max(1);
        let tenths = done.saturating_mul(10) / total;
        if tenths >= self.next_tenth {
            eprintln!(
                "{}: {} % ({done} of {})",
                self.what,
                tenths * 10,
                self.total
            );
            self.next_tenth = tenths + 1;
        }
    }

    fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
        }
    }
}

/// The password: one line from stdin with `--password-stdin` (or when stdin is not a
/// terminal), else a prompt that does not echo what is typed.
fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !from_stdin && stdin.is_terminal() {
        return rpassword::prompt_password("password for the broker: ")
            .context("reading the password");
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}
