//! The embedded default: with no DATABASE_URL the real binary runs its own PostgreSQL cluster
//! under its data folder, keeps the data across restarts, and stops the cluster when it stops.

use crate::support::free_port;
use serde_json::json;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

const BINARY: &str = env!("CARGO_BIN_EXE_kringloop");

fn kringloop(data_dir: &Path, bind: &str, args: &[&str]) -> Command {
    let mut command = Command::new(BINARY);
    command
        .args(args)
        .env_remove("DATABASE_URL")
        .env_remove("KRINGLOOP_JWT_SECRET")
        .env("KRINGLOOP_DATA_DIR", data_dir)
        .env("KRINGLOOP_BIND", bind)
        .env("RUST_LOG", "warn")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit());
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
        assert!(
            child.try_wait().unwrap().is_none(),
            "kringloop exited before it was ready"
        );
        assert!(
            Instant::now() < deadline,
            "kringloop was not ready within a minute"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn terminate(child: &mut Child) {
    nix::sys::signal::kill(
        nix::unistd::Pid::from_raw(child.id() as i32),
        nix::sys::signal::Signal::SIGTERM,
    )
    .unwrap();
    let status = child.wait().unwrap();
    assert!(status.success(), "kringloop exited with {status}");
}

fn cluster_running(data_dir: &Path) -> bool {
    data_dir.join("postgres/postmaster.pid").exists()
}

#[actix_web::test]
async fn runs_its_own_cluster_and_keeps_data_across_restarts() {
    let dir = tempfile::Builder::new()
        .prefix("kl-own-")
        .tempdir()
        .unwrap();
    let data = dir.path().join("data");
    let port = free_port();
    let bind = format!("127.0.0.1:{port}");
    let base = format!("http://{bind}");
    let client = reqwest::Client::new();

    let mut first = kringloop(&data, &bind, &[]).spawn().unwrap();
    wait_ready(&client, &base, &mut first).await;
    assert!(data.join("postgres/PG_VERSION").exists());
    assert_cluster_files_allow_local_connections_only(&data.join("postgres"));
    let secret = std::fs::read_to_string(data.join("jwt-secret")).unwrap();
    let registered = client
        .post(format!("{base}/api/v1/auth/register"))
        .json(&json!({"email": "sanne@sloop.test", "password": "correct horse battery", "display_name": "Sanne",
                      "organisation": {"name": "Sloop", "kind": "contractor"}}))
        .send()
        .await
        .unwrap();
    assert_eq!(registered.status(), 201);
    terminate(&mut first);
    assert!(
        !cluster_running(&data),
        "the cluster should stop with the service"
    );

    // A broker made from the command line against the same data folder.
    let mut create = kringloop(
        &data,
        &bind,
        &[
            "create-broker",
            "--email",
            "makelaar@gemeente.test",
            "--password-stdin",
        ],
    )
    .spawn()
    .unwrap();
    {
        use std::io::Write;
        create
            .stdin
            .take()
            .unwrap()
            .write_all(b"correct horse battery\n")
            .unwrap();
    }
    let output = create.wait_with_output().unwrap();
    assert!(output.status.success());
    assert!(
        String::from_utf8_lossy(&output.stdout).contains("broker makelaar@gemeente.test created")
    );

    let mut second = kringloop(&data, &bind, &["serve"]).spawn().unwrap();
    wait_ready(&client, &base, &mut second).await;
    assert_eq!(
        std::fs::read_to_string(data.join("jwt-secret")).unwrap(),
        secret,
        "the secret is kept"
    );
    for email in ["sanne@sloop.test", "makelaar@gemeente.test"] {
        let login = client
            .post(format!("{base}/api/v1/auth/token"))
            .json(&json!({"email": email, "password": "correct horse battery"}))
            .send()
            .await
            .unwrap();
        assert_eq!(login.status(), 200, "{email} can log in after a restart");
    }
    terminate(&mut second);
    assert!(!cluster_running(&data));
}

/// The cluster's own files keep it off TCP, not only the options kringloop starts it with.
fn assert_cluster_files_allow_local_connections_only(pgdata: &Path) {
    let conf = std::fs::read_to_string(pgdata.join("postgresql.conf")).unwrap();
    // The last setting of a name wins in postgresql.conf.
    let listen = conf
        .lines()
        .map(|line| line.split('#').next().unwrap_or_default().trim())
        .rfind(|line| line.starts_with("listen_addresses"));
    assert_eq!(listen, Some("listen_addresses = ''"), "{conf}");
    let hba = std::fs::read_to_string(pgdata.join("pg_hba.conf")).unwrap();
    let rules: Vec<&str> = hba
        .lines()
        .map(str::trim)
        .filter(|line| !line.is_empty() && !line.starts_with('#'))
        .collect();
    assert!(!rules.is_empty(), "{hba}");
    for rule in rules {
        assert!(
            rule.starts_with("local "),
            "a rule that is not local: {rule}"
        );
    }
}

#[test]
fn without_binaries_it_says_what_to_do() {
    let dir = tempfile::tempdir().unwrap();
    // Hide every PostgreSQL installation the search knows of.
    let output = Command::new(BINARY)
        .args(["migrate"])
        .env_remove("DATABASE_URL")
        .env("PATH", dir.path())
        .env("KRINGLOOP_DATA_DIR", dir.path().join("data"))
        .env("KRINGLOOP_PG_BINDIR", dir.path())
        .output()
        .unwrap();
    assert!(!output.status.success());
    let stderr = String::from_utf8_lossy(&output.stderr);
    for hint in ["DATABASE_URL", "install PostgreSQL", "docker compose up"] {
        assert!(stderr.contains(hint), "{stderr}");
    }
}
