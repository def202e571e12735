//! The embedded default: a PostgreSQL cluster that kringloop runs and owns under its data folder,
//! for machines that have PostgreSQL installed but no database set up for it.

use nix::fcntl::{Flock, FlockArg};
use nix::unistd::{Gid, Uid, User};
use std::ffi::OsStr;
use std::fs;
use std::io::{Read, Seek, Write};
use std::os::unix::fs::{MetadataExt, OpenOptionsExt, PermissionsExt};
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
    #[error(
        "the `postgres` user, which runs kringloop's PostgreSQL cluster when kringloop runs as root, \
         cannot enter {blocked:?} and so cannot reach the data folder {data_dir:?}. Set \
         KRINGLOOP_DATA_DIR to a folder `postgres` can reach (for example /var/lib/kringloop), \
         or set DATABASE_URL"
    )]
    Unreachable { data_dir: PathBuf, blocked: PathBuf },
    #[error(
        "the data folder {folder:?} is in use by another kringloop process ({holder}); stop it \
         first, or give this one another KRINGLOOP_DATA_DIR"
    )]
    InUse { folder: PathBuf, holder: String },
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

/// What the process wants the cluster for; it decides whether a data folder in use by another
/// kringloop can be shared.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub enum Purpose {
    /// A short command (`migrate`, `seed` …): it may use the cluster of a running server.
    #[default]
    Command,
    /// A server, which needs the folder to itself; the address is written into the lock file
    /// so that a second server can say who is there.
    Serve { address: String },
}

/// Options for a cluster that kringloop owns.
#[derive(Debug, Clone, Default)]
pub struct ClusterOptions {
    /// Skip fsync; for throwaway test clusters only.
    pub unsafe_fast: bool,
    pub search: BinarySearch,
    pub purpose: Purpose,
}

/// A running PostgreSQL cluster under `<root>/postgres`, listening only on a Unix socket there.
#[derive(Debug)]
pub struct LocalCluster {
    bin_dir: PathBuf,
    pgdata: PathBuf,
    run_as: Option<(Uid, Gid)>,
    /// False when the server was already running (another kringloop process owns it).
    started_here: bool,
    /// The data folder's lock, held while this process owns the folder; `None` when it uses
    /// the cluster of a running server.
    _lock: Option<Flock<fs::File>>,
}

const PORT: u16 = 5432;

/// The lock file in the data folder: it holds the owner's pid and what it serves on.
pub const LOCK_FILE: &str = "kringloop.lock";

/// Takes the data folder's lock, or says who holds it.
///
/// The lock is an `flock` on the file, so the kernel releases it when its owner dies however
/// it dies: a file left behind by a dead process is taken over without guessing from pids.
/// The file's text (pid, serving address) only serves to tell the operator who is there.
/// Returns `None` when a running server holds the folder and `purpose` may share it.
fn lock_data_folder(
    root: &Path,
    purpose: &Purpose,
) -> Result<Option<Flock<fs::File>>, ClusterError> {
    let path = root.join(LOCK_FILE);
    let file = fs::OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .mode(0o644)
        .open(&path)
        .map_err(io(format!("opening {}", path.display())))?;
    match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
        Ok(mut lock) => {
            let serving = match purpose {
                Purpose::Serve { address } => address.as_str(),
                Purpose::Command => "-",
            };
            let text = format!("pid {}\nserving {serving}\n", std::process::id());
            lock.set_len(0)
                .and_then(|()| lock.rewind())
                .and_then(|()| lock.write_all(text.as_bytes()))
                .map_err(io(format!("writing {}", path.display())))?;
            Ok(Some(lock))
        }
        Err((mut file, nix::errno::Errno::EWOULDBLOCK)) => {
            let mut text = String::new();
            // The holder may be writing its line right now; what it wrote so far is enough.
            let _ = file.read_to_string(&mut text);
            let field = |name: &str| {
                text.lines()
                    .find_map(|line| line.strip_prefix(name)?.strip_prefix(' '))
                    .map(str::trim)
                    .filter(|value| !value.is_empty())
            };
            let pid = field("pid").unwrap_or("unknown");
            let serving = field("serving").filter(|address| *address != "-");
            if let (Some(_), Purpose::Command) = (serving, purpose) {
                return Ok(None);
            }
            let holder = match serving {
                Some(address) => format!("pid {pid}, serving on {address}"),
                None => format!("pid {pid}, running a command"),
            };
            Err(ClusterError::InUse {
                folder: root.to_path_buf(),
                holder,
            })
        }
        Err((_, errno)) => Err(ClusterError::Io {
            what: format!("locking {}", path.display()),
            source: errno.into(),
        }),
    }
}

/// The first folder on the way to `path` (itself included) that a process of `uid` and `gids`
/// cannot enter, judged by the folders' modes; `None` when every one can be entered.
pub fn first_unreachable(path: &Path, uid: Uid, gids: &[Gid]) -> Option<PathBuf> {
    path.ancestors()
        .collect::<Vec<_>>()
        .into_iter()
        .rev()
        .find(|dir| {
            let Ok(meta) = fs::metadata(dir) else {
                return false;
            };
            let mode = meta.mode();
            let searchable = if meta.uid() == uid.as_raw() {
                mode & 0o100 != 0
            } else if gids.iter().any(|gid| gid.as_raw() == meta.gid()) {
                mode & 0o010 != 0
            } else {
                mode & 0o001 != 0
            };
            !searchable
        })
        .map(Path::to_path_buf)
}

impl LocalCluster {
    /// Initialises the cluster on first use, then starts it (or adopts it when it already runs).
    pub fn start(root: &Path, options: &ClusterOptions) -> Result<Self, ClusterError> {
        let bin_dir = options.search.find()?;
        let run_as = if Uid::effective().is_root() {
            let user = User::from_name("postgres")
                .ok()
                .flatten()
                .ok_or(ClusterError::NoPostgresUser)?;
            Some(user)
        } else {
            None
        };
        fs::create_dir_all(root).map_err(io(format!("creating {}", root.display())))?;
        let root = fs::canonicalize(root).map_err(io(format!("resolving {}", root.display())))?;
        let lock = lock_data_folder(&root, &options.purpose)?;
        if let Some(user) = &run_as {
            // initdb would only say "Permission denied", without naming the folder.
            let name = std::ffi::CString::new(user.name.as_str()).unwrap_or_default();
            let gids =
                nix::unistd::getgrouplist(&name, user.gid).unwrap_or_else(|_| vec![user.gid]);
            if let Some(blocked) = first_unreachable(&root, user.uid, &gids) {
                return Err(ClusterError::Unreachable {
                    data_dir: root,
                    blocked,
                });
            }
        }
        let run_as = run_as.map(|user| (user.uid, user.gid));
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
            _lock: None,
        };
        if lock.is_none() {
            // A running server owns the folder and its cluster; use that, start nothing.
            return Ok(cluster);
        }
        cluster._lock = lock;
        if !cluster.pgdata.join("PG_VERSION").exists() {
            cluster.init(options)?;
        }
        if cluster.is_running() {
            tracing::warn!(folder = %cluster.pgdata.display(), "the cluster was already running (left by a kringloop that is gone, or started by hand); using it, and leaving it running");
        } else {
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
        run(&mut initdb, "initdb")?;
        self.confine()
    }

    /// Writes into the cluster's own files that it listens on its socket only and lets in
    /// only local (socket) connections, so that it stays closed however it is started (by
    /// hand with `pg_ctl`, say) and not only when kringloop passes the options.
    fn confine(&self) -> Result<(), ClusterError> {
        let conf = self.pgdata.join("postgresql.conf");
        let mut file = fs::OpenOptions::new()
            .append(true)
            .open(&conf)
            .map_err(io(format!("opening {}", conf.display())))?;
        write!(
            file,
            "\n# Written by kringloop: a Unix socket in this folder only, no TCP.\n\
             listen_addresses = ''\n\
             unix_socket_directories = '{}'\n\
             port = {PORT}\n",
            self.pgdata.display()
        )
        .map_err(io(format!("writing {}", conf.display())))?;
        let hba = self.pgdata.join("pg_hba.conf");
        fs::write(
            &hba,
            "# Written by kringloop: only local (Unix socket) connections, from this folder's socket,\n\
             # whose folder only the cluster's owner can enter. No TCP connection is accepted.\n\
             # TYPE  DATABASE  USER  METHOD\n\
             local   all       all   trust\n",
        )
        .map_err(io(format!("writing {}", hba.display())))
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
            tracing::info!("stopping the PostgreSQL cluster");
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
    fn a_parent_the_user_cannot_enter_is_named() {
        let dir = tempfile::tempdir().unwrap();
        let closed = dir.path().join("home");
        let data = closed.join("kringloop-data");
        fs::create_dir_all(&data).unwrap();
        fs::set_permissions(dir.path(), fs::Permissions::from_mode(0o755)).unwrap();
        fs::set_permissions(&closed, fs::Permissions::from_mode(0o700)).unwrap();
        let owner = Uid::from_raw(fs::metadata(&closed).unwrap().uid());
        let stranger = Uid::from_raw(owner.as_raw().wrapping_add(4242));
        let no_group = [Gid::from_raw(4242)];
        assert_eq!(
            first_unreachable(&data, stranger, &no_group),
            Some(closed.clone())
        );
        assert_eq!(first_unreachable(&data, owner, &no_group), None);
        fs::set_permissions(&closed, fs::Permissions::from_mode(0o711)).unwrap();
        assert_eq!(first_unreachable(&data, stranger, &no_group), None);
        let message = ClusterError::Unreachable {
            data_dir: data,
            blocked: closed,
        }
        .to_string();
        assert!(message.contains("KRINGLOOP_DATA_DIR"), "{message}");
        assert!(message.contains("/home"), "{message}");
    }

    #[test]
    fn identifiers_are_checked() {
        assert!(is_plain_identifier("kringloop_test_1"));
        assert!(!is_plain_identifier("drop table; --"));
        assert!(!is_plain_identifier("1abc"));
    }
}
