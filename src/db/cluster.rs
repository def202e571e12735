//! The embedded default: a PostgreSQL cluster that kringloop runs and owns under its data folder,
//! for machines that have PostgreSQL installed but no database set up for it.

use nix::unistd::{Gid, Uid, User};
use std::ffi::OsStr;
use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

/// Why the local cluster could not be started.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    #[error(
        "no PostgreSQL server binaries found (looked for initdb, pg_ctl and postgres in \
         KRINGLOOP_PG_BINDIR when set, else in PATH, `pg_config --bindir` and /usr/lib/postgresql/*/bin). Either set DATABASE_URL to a \
         PostgreSQL database you run, install PostgreSQL (for example `apt-get install postgresql`), \
         or start everything with `docker compose up`."
    )]
    NoBinaries,
    #[error("kringloop runs as root, so its PostgreSQL cluster must run as the `postgres` system user, which does not exist; create it or set DATABASE_URL")]
    NoPostgresUser,
    #[error("the data folder path {0:?} cannot hold a PostgreSQL socket (it must be absolute, without quotes, and short)")]
    UnusablePath(PathBuf),
    #[error("{what} failed: {detail}")]
    Command { what: String, detail: String },
    #[error("{what}: {source}")]
    Io {
        what: String,
        source: std::io::Error,
    },
}

fn io(what: impl Into<String>) -> impl FnOnce(std::io::Error) -> ClusterError {
    let what = what.into();
    move |source| ClusterError::Io { what, source }
}

/// Where to look for the server binaries; the real machine's places by default.
#[derive(Debug, Clone)]
pub struct BinarySearch {
    /// A folder named by configuration; when set, the only place looked at.
    pub explicit: Option<PathBuf>,
    pub path_var: Option<std::ffi::OsString>,
    pub pg_config: PathBuf,
    pub versions_root: PathBuf,
}

impl Default for BinarySearch {
    fn default() -> Self {
        Self {
            explicit: None,
            path_var: std::env::var_os("PATH"),
            pg_config: PathBuf::from("pg_config"),
            versions_root: PathBuf::from("/usr/lib/postgresql"),
        }
    }
}

const SERVER_BINARIES: [&str; 3] = ["initdb", "pg_ctl", "postgres"];

fn holds_server_binaries(dir: &Path) -> bool {
    SERVER_BINARIES.iter().all(|name| dir.join(name).is_file())
}

impl BinarySearch {
    /// The folder holding initdb, pg_ctl and postgres: PATH first, then `pg_config --bindir`,
    /// then the newest `<versions_root>/<version>/bin`.
    pub fn find(&self) -> Result<PathBuf, ClusterError> {
        if let Some(dir) = &self.explicit {
            return if holds_server_binaries(dir) {
                Ok(dir.clone())
            } else {
                Err(ClusterError::NoBinaries)
            };
        }
        if let Some(path_var) = &self.path_var {
            for dir in std::env::split_paths(path_var) {
                // A PATH entry often holds links (Debian's /usr/local/bin); the real folder is the
                // one whose siblings include the server itself.
                if let Ok(real) = fs::canonicalize(dir.join("pg_ctl")) {
                    if let Some(parent) = real.parent() {
                        if holds_server_binaries(parent) {
                            return Ok(parent.to_path_buf());
                        }
                    }
                }
            }
        }
        if let Ok(output) = Command::new(&self.pg_config)
            .arg("--bindir")
            .stderr(Stdio::null())
            .output()
        {
            if output.status.success() {
                let dir = PathBuf::from(String::from_utf8_lossy(&output.stdout).trim());
                if holds_server_binaries(&dir) {
                    return Ok(dir);
                }
            }
        }
        let mut versions: Vec<(u32, PathBuf)> = fs::read_dir(&self.versions_root)
            .into_iter()
            .flatten()
            .flatten()
            .filter_map(|entry| {
                let version = entry.file_name().to_str()?.parse::<u32>().ok()?;
                let bin = entry.path().join("bin");
                holds_server_binaries(&bin).then_some((version, bin))
            })
            .collect();
        versions.sort();
        versions
            .pop()
            .map(|(_, bin)| bin)
            .ok_or(ClusterError::NoBinaries)
    }
}

/// Options for a cluster that kringloop owns.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Skip fsync; for throwaway test clusters only.
    pub unsafe_fast: bool,
    pub search: BinarySearch,
}

/// A running PostgreSQL cluster under `<root>/postgres`, listening only on a Unix socket there.
#[derive(Debug)]
pub struct LocalCluster {
    bin_dir: PathBuf,
    pgdata: PathBuf,
    run_as: Option<(Uid, Gid)>,
    /// False when the server was already running (another kringloop process owns it).
    started_here: bool,
}

const PORT: u16 = 5432;

impl LocalCluster {
    /// Initialises the cluster on first use, then starts it (or adopts it when it already runs).
    pub fn start(root: &Path, options: &ClusterOptions) -> Result<Self, ClusterError> {
        let bin_dir = options.search.find()?;
        let run_as = if Uid::effective().is_root() {
            let user = User::from_name("postgres")
                .ok()
                .flatten()
                .ok_or(ClusterError::NoPostgresUser)?;
            Some((user.uid, user.gid))
        } else {
            None
        };
        fs::create_dir_all(root).map_err(io(format!("creating {}", root.display())))?;
        let root = fs::canonicalize(root).map_err(io(format!("resolving {}", root.display())))?;
        let pgdata = root.join("postgres");
        let socket = pgdata.join(format!(".s.PGSQL.{PORT}"));
        let usable = pgdata.is_absolute()
            && !pgdata.to_string_lossy().contains(['\'', '"', '\\', ' '])
            && socket.as_os_str().len() < 100;
        if !usable {
            return Err(ClusterError::UnusablePath(pgdata));
        }
        let mut cluster = LocalCluster {
            bin_dir,
            pgdata,
            run_as,
            started_here: false,
        };
        if !cluster.pgdata.join("PG_VERSION").exists() {
            cluster.init(options)?;
        }
        if !cluster.is_running() {
            cluster.run_pg_ctl(
                &["start", "-w", "-t", "60", "-l"],
                Some(&cluster.log_file()),
                options,
            )?;
            cluster.started_here = true;
        }
        Ok(cluster)
    }

    fn log_file(&self) -> PathBuf {
        self.pgdata.join("kringloop-server.log")
    }

    fn command(&self, program: &str) -> Command {
        let mut command = Command::new(self.bin_dir.join(program));
        command
            .current_dir("/")
            .env_remove("PGDATA")
            .stdin(Stdio::null());
        if let Some((uid, gid)) = self.run_as {
            command.uid(uid.as_raw()).gid(gid.as_raw());
        }
        command
    }

    fn init(&self, options: &ClusterOptions) -> Result<(), ClusterError> {
        fs::create_dir_all(&self.pgdata)
            .map_err(io(format!("creating {}", self.pgdata.display())))?;
        fs::set_permissions(&self.pgdata, fs::Permissions::from_mode(0o700))
            .map_err(io("restricting the cluster folder"))?;
        if let Some((uid, gid)) = self.run_as {
            nix::unistd::chown(&self.pgdata, Some(uid), Some(gid)).map_err(|errno| {
                ClusterError::Io {
                    what: "handing the cluster folder to the postgres user".into(),
                    source: errno.into(),
                }
            })?;
        }
        let mut initdb = self.command("initdb");
        initdb
            .args([
                "-U",
                "postgres",
                "--auth=trust",
                "-E",
                "UTF8",
                "--locale=C",
                "-D",
            ])
            .arg(&self.pgdata);
        if options.unsafe_fast {
            initdb.arg("--no-sync");
        }
        run(&mut initdb, "initdb")
    }

    fn run_pg_ctl(
        &self,
        args: &[&str],
        last: Option<&Path>,
        options: &ClusterOptions,
    ) -> Result<(), ClusterError> {
        let mut server_options = format!(
            "-c listen_addresses='' -k '{}' -p {PORT}",
            self.pgdata.display()
        );
        if options.unsafe_fast {
            server_options
                .push_str(" -c fsync=off -c synchronous_commit=off -c full_page_writes=off");
        }
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl.args(args);
        if let Some(last) = last {
            pg_ctl.arg(last);
        }
        pg_ctl
            .arg("-D")
            .arg(&self.pgdata)
            .arg("-o")
            .arg(server_options);
        // pg_ctl leaves the server running with our stdout; keep it off the terminal and pipes.
        pg_ctl.stdout(Stdio::null());
        run(&mut pg_ctl, "pg_ctl start")
    }

    fn is_running(&self) -> bool {
        self.command("pg_ctl")
            .arg("status")
            .arg("-D")
            .arg(&self.pgdata)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .map(|status| status.success())
            .unwrap_or(false)
    }

    /// A libpq-style connection string for `database` over the cluster's socket.
    pub fn connection_string(&self, database: &str) -> String {
        format!(
            "host={} port={PORT} user=postgres dbname={database}",
            self.pgdata.display()
        )
    }

    /// The folder holding the cluster's files.
    pub fn data_dir(&self) -> &Path {
        &self.pgdata
    }

    /// Stops the server when this process started it; one that was already running belongs
    /// to another process (a running `kringloop serve`, say) and is left alone.
    pub fn stop_if_started(&self) -> Result<(), ClusterError> {
        if self.started_here {
            self.stop()
        } else {
            Ok(())
        }
    }

    /// Stops the server, waiting for it to finish (fast shutdown: sessions are ended).
    pub fn stop(&self) -> Result<(), ClusterError> {
        let mut pg_ctl = self.command("pg_ctl");
        pg_ctl
            .args(["stop", "-w", "-m", "fast", "-D"])
            .arg(&self.pgdata)
            .stdout(Stdio::null());
        run(&mut pg_ctl, "pg_ctl stop")
    }

    /// Leaves behind a watcher that stops the cluster (immediate shutdown) and removes
    /// `remove` once process `pid` has exited; for throwaway clusters whose owner may exit
    /// without cleaning up. It signals the postmaster directly, which works for root too.
    pub fn stop_when_gone(&self, pid: u32, remove: Option<&Path>) -> Result<(), ClusterError> {
        let script = format!(
            "while kill -0 {pid} 2>/dev/null; do sleep 1; done; \
             pm=$(head -n 1 \"$0/postmaster.pid\" 2>/dev/null); \
             if [ -n \"$pm\" ]; then kill -QUIT \"$pm\" 2>/dev/null; \
               i=0; while kill -0 \"$pm\" 2>/dev/null && [ $i -lt 100 ]; do sleep 0.1; i=$((i+1)); done; fi; \
             if [ -n \"$1\" ]; then rm -rf \"$1\"; fi"
        );
        let mut watcher = Command::new("sh");
        watcher
            .arg("-c")
            .arg(script)
            .arg(&self.pgdata)
            .arg(remove.map(Path::as_os_str).unwrap_or_default())
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null());
        // Its own session, so that a Ctrl-C meant for the tests does not kill the watcher early.
        unsafe {
            watcher.pre_exec(|| {
                nix::unistd::setsid()
                    .map(|_| ())
                    .map_err(std::io::Error::from)
            });
        }
        watcher
            .spawn()
            .map(|_| ())
            .map_err(io("starting the cluster watcher"))
    }
}

fn run(command: &mut Command, what: &str) -> Result<(), ClusterError> {
    let output = command
        .stderr(Stdio::piped())
        .output()
        .map_err(io(format!("running {what}")))?;
    if output.status.success() {
        Ok(())
    } else {
        Err(ClusterError::Command {
            what: what.to_owned(),
            detail: String::from_utf8_lossy(&output.stderr).trim().to_owned(),
        })
    }
}

/// True when `name` is a plain identifier that may be spliced into CREATE DATABASE.
pub fn is_plain_identifier(name: impl AsRef<OsStr>) -> bool {
    let name = name.as_ref().to_string_lossy();
    !name.is_empty()
        && name.len() < 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && !name.starts_with(|c: char| c.is_ascii_digit())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn no_binaries_names_every_way_out() {
        let empty = std::env::temp_dir().join(format!("kringloop-nobin-{}", std::process::id()));
        fs::create_dir_all(&empty).unwrap();
        let search = BinarySearch {
            explicit: None,
            path_var: Some(empty.clone().into_os_string()),
            pg_config: empty.join("no-pg-config"),
            versions_root: empty.clone(),
        };
        let error = search.find().unwrap_err();
        let message = error.to_string();
        assert!(matches!(error, ClusterError::NoBinaries));
        for hint in ["DATABASE_URL", "install PostgreSQL", "docker compose up"] {
            assert!(message.contains(hint), "{message}");
        }
        fs::remove_dir_all(&empty).unwrap();
    }

    #[test]
    fn finds_the_newest_versioned_folder() {
        let root = std::env::temp_dir().join(format!("kringloop-versions-{}", std::process::id()));
        for version in ["13", "16"] {
            let bin = root.join(version).join("bin");
            fs::create_dir_all(&bin).unwrap();
            for name in SERVER_BINARIES {
                fs::write(bin.join(name), "").unwrap();
            }
        }
        let search = BinarySearch {
            explicit: None,
            path_var: None,
            pg_config: root.join("none"),
            versions_root: root.clone(),
        };
        assert_eq!(search.find().unwrap(), root.join("16").join("bin"));
        fs::remove_dir_all(&root).unwrap();
    }

    #[test]
    fn identifiers_are_checked() {
        assert!(is_plain_identifier("kringloop_test_1"));
        assert!(!is_plain_identifier("drop table; --"));
        assert!(!is_plain_identifier("1abc"));
    }
}
