//! The `kringloop` command: serve (the default), migrate, create-broker, openapi.

use anyhow::Context as _;
use clap::{Parser, Subcommand};
use kringloop::config::Settings;
use kringloop::domain::clock::SystemClock;
use kringloop::{app, db, http, startup, telemetry};
use std::io::{BufRead, IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

#[derive(Parser)]
#[command(
    name = "kringloop",
    version,
    about = "The open service a city runs to keep building materials in its own loop"
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
    /// Serve the API (the default).
    Serve,
    /// Apply pending database migrations and exit.
    Migrate,
    /// Create a broker account (the city's materials broker).
    CreateBroker {
        #[arg(long)]
        email: String,
        /// Read the password from standard input instead of prompting.
        #[arg(long)]
        password_stdin: bool,
        #[arg(long, default_value = "Materialenmakelaar")]
        name: String,
        /// The municipality organisation the broker belongs to; created when missing.
        #[arg(long, default_value = "Gemeente")]
        organisation: String,
    },
    /// Print the OpenAPI document.
    Openapi,
    /// Load data: a small demo city (`--demo`) or synthetic stock (`--synthetic N`).
    Seed {
        #[arg(long, conflicts_with = "synthetic")]
        demo: bool,
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
    if let Some(Command::Openapi) = cli.command {
        print!("{}", http::openapi_json());
        return Ok(());
    }
    let settings = Settings::load(cli.config.as_deref()).context("reading the configuration")?;
    telemetry::init(settings.log_format);
    let runtime = actix_web::rt::System::new();
    match cli.command {
        None | Some(Command::Serve) => runtime.block_on(startup::serve(settings)),
        Some(Command::Migrate) => runtime.block_on(async {
            let database = startup::open_database(&settings).await?;
            let result =
                db::migrate::run_pending(secrecy::ExposeSecret::expose_secret(&database.url)).await;
            if let Some(cluster) = &database.cluster {
                cluster.stop_if_started()?;
            }
            for version in result? {
                println!("applied {version}");
            }
            Ok(())
        }),
        Some(Command::CreateBroker {
            email,
            password_stdin,
            name,
            organisation,
        }) => {
            let password = read_password(password_stdin)?;
            runtime.block_on(async {
                let database = startup::open_database(&settings).await?;
                let result = async {
                    db::migrate::run_pending(secrecy::ExposeSecret::expose_secret(&database.url))
                        .await?;
                    let ctx = startup::context(&settings, &database.url, Arc::new(SystemClock))?;
                    let user = app::accounts::organisations::create_broker(
                        &ctx,
                        &email,
                        &password,
                        &name,
                        &organisation,
                    )
                    .await
                    .map_err(|error| match error {
                        app::error::AppError::Validation(errors) => anyhow::anyhow!(
                            "{}",
                            errors
                                .into_vec()
                                .iter()
                                .map(|e| format!(
                                    "{}: {}",
                                    e.pointer.trim_start_matches('/'),
                                    e.detail
                                ))
                                .collect::<Vec<_>>()
                                .join("; ")
                        ),
                        other => anyhow::anyhow!("{other}"),
                    })?;
                    println!("broker {} created (user id {})", user.email, user.id);
                    anyhow::Ok(())
                }
                .await;
                if let Some(cluster) = &database.cluster {
                    cluster.stop_if_started()?;
                }
                result
            })
        }
        Some(Command::Openapi) => Ok(()),
        Some(Command::Seed {
            demo,
            synthetic,
            synthetic_flows,
        }) => runtime.block_on(async {
            anyhow::ensure!(
                demo || synthetic.is_some() || synthetic_flows.is_some(),
                "say --demo, --synthetic N or --synthetic-flows N"
            );
            let database = startup::open_database(&settings).await?;
            let result = async {
                db::migrate::run_pending(secrecy::ExposeSecret::expose_secret(&database.url))
                    .await?;
                let ctx = startup::context(&settings, &database.url, Arc::new(SystemClock))?;
                if demo {
                    let accounts = app::seed::demo(&ctx).await.map_err(anyhow::Error::from)?;
                    println!(
                        "demo city loaded; accounts (password {}):",
                        app::seed::DEMO_PASSWORD
                    );
                    for account in accounts {
                        println!("  {account}");
                    }
                }
                if let Some(count) = synthetic {
                    let started = std::time::Instant::now();
                    let made = app::seed::synthetic(&ctx, count)
                        .await
                        .map_err(anyhow::Error::from)?;
                    println!(
                        "{made} synthetic listings in {:.1} s",
                        started.elapsed().as_secs_f64()
                    );
                }
                if let Some(count) = synthetic_flows {
                    let started = std::time::Instant::now();
                    let made = app::flows::seed::synthetic_flows(&ctx, count, 5, |done, all| {
                        eprintln!("{done}/{all} flows");
                    })
                    .await
                    .map_err(anyhow::Error::from)?;
                    println!(
                        "{made} synthetic flows in {:.1} s",
                        started.elapsed().as_secs_f64()
                    );
                }
                anyhow::Ok(())
            }
            .await;
            if let Some(cluster) = &database.cluster {
                cluster.stop_if_started()?;
            }
            result
        }),
    }
}

fn read_password(from_stdin: bool) -> anyhow::Result<String> {
    let stdin = std::io::stdin();
    if !from_stdin && stdin.is_terminal() {
        eprint!("password for the broker: ");
        std::io::stderr().flush()?;
    }
    let mut line = String::new();
    stdin.lock().read_line(&mut line)?;
    Ok(line.trim_end_matches(['\n', '\r']).to_owned())
}
