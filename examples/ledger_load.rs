//! Load for the ledger crash check (`bench/ledger-crash.sh`): sets up paying organisations,
//! sends payments from many clients and records every one the server acknowledged, then, after
//! the server was killed and restarted, sends the unanswered ones again with their keys.
//!
//!   ledger_load setup  <base-url> <broker-token> <organisations> <state.json>
//!   ledger_load run    <base-url> <state.json> <acked.txt> <seconds> <clients>
//!   ledger_load resend <base-url> <state.json> <acked.txt>
//!
//! `acked.txt` gets one line per acknowledged transfer: `<transfer id> <idempotency key>`;
//! requests that got no answer go to `<acked.txt>.unanswered` as JSON lines.

use serde_json::{json, Value};
use std::io::Write;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

type Error = Box<dyn std::error::Error + Send + Sync>;

fn main() -> Result<(), Error> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    match args.first().map(String::as_str) {
        Some("setup") if args.len() == 5 => {
            runtime.block_on(setup(&args[1], &args[2], args[3].parse()?, &args[4]))
        }
        Some("run") if args.len() == 6 => runtime.block_on(run(
            &args[1],
            &args[2],
            &args[3],
            args[4].parse()?,
            args[5].parse()?,
        )),
        Some("resend") if args.len() == 4 => runtime.block_on(resend(&args[1], &args[2], &args[3])),
        _ => Err("usage: see the top of examples/ledger_load.rs".into()),
    }
}

async fn send(
    client: &reqwest::Client,
    url: String,
    token: &str,
    key: Option<&str>,
    body: &Value,
) -> Result<(u16, Value), reqwest::Error> {
    let mut request = client.post(url).bearer_auth(token).json(body);
    if let Some(key) = key {
        request = request.header("Idempotency-Key", key);
    }
    let response = request.send().await?;
    let status = response.status().as_u16();
    let body = response.json().await.unwrap_or(Value::Null);
    Ok((status, body))
}

async fn setup(base: &str, broker: &str, organisations: usize, state: &str) -> Result<(), Error> {
    let client = reqwest::Client::new();
    let run = uuid::Uuid::now_v7().simple().to_string();
    let mut orgs = Vec::new();
    for i in 0..organisations {
        let email = format!("load{i}-{run}@ledger.test");
        let (status, registered) = send(
            &client,
            format!("{base}/api/v1/auth/register"),
            "",
            None,
            &json!({"email": email, "password": "correct horse battery", "display_name": "Load",
                    "organisation": {"name": format!("Load {i}"), "kind": "builder"}}),
        )
        .await?;
        if status != 201 {
            return Err(format!("register: {status} {registered}").into());
        }
        let org = registered["organisation"]["id"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        // The broker verifies only organisations whose owner confirmed their address; the
        // load has no mailbox, so it confirms them in the database (DATABASE_URL, psql).
        let confirmed = std::process::Command::new("psql")
            .arg(std::env::var("DATABASE_URL").unwrap_or_default())
            .args([
                "-qc",
                &format!(
                    "UPDATE users SET email_verified_at = now() WHERE organisation_id = '{org}'"
                ),
            ])
            .status()?;
        if !confirmed.success() {
            return Err("confirming the owner's address with psql failed".into());
        }
        let (status, _) = send(
            &client,
            format!("{base}/api/v1/admin/organisations/{org}/verify"),
            broker,
            None,
            &json!({}),
        )
        .await?;
        if status != 200 {
            return Err(format!("verify: {status}").into());
        }
        let (status, issued) = send(
            &client,
            format!("{base}/api/v1/admin/issuance"),
            broker,
            Some(&format!("setup-{org}")),
            &json!({"organisation_id": org, "amount": 1_000_000, "reason": "load test"}),
        )
        .await?;
        if status != 201 {
            return Err(format!("issue: {status} {issued}").into());
        }
        let (status, tokens) = send(
            &client,
            format!("{base}/api/v1/auth/token"),
            "",
            None,
            &json!({"email": email, "password": "correct horse battery"}),
        )
        .await?;
        if status != 200 {
            return Err(format!("login: {status}").into());
        }
        orgs.push(json!({"organisation_id": org, "token": tokens["access_token"]}));
    }
    std::fs::write(state, serde_json::to_vec(&orgs)?)?;
    Ok(())
}

fn read_state(state: &str) -> Result<Vec<(String, String)>, Error> {
    let orgs: Vec<Value> = serde_json::from_slice(&std::fs::read(state)?)?;
    Ok(orgs
        .iter()
        .map(|org| {
            (
                org["organisation_id"]
                    .as_str()
                    .unwrap_or_default()
                    .to_owned(),
                org["token"].as_str().unwrap_or_default().to_owned(),
            )
        })
        .collect())
}

async fn run(
    base: &str,
    state: &str,
    acked: &str,
    seconds: u64,
    clients: usize,
) -> Result<(), Error> {
    let orgs = Arc::new(read_state(state)?);
    let acked_file = Arc::new(Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(acked)?,
    ));
    let unanswered = Arc::new(Mutex::new(
        std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(format!("{acked}.unanswered"))?,
    ));
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(5))
        .build()?;
    let deadline = Instant::now() + Duration::from_secs(seconds);
    let counts = Arc::new([AtomicU64::new(0), AtomicU64::new(0), AtomicU64::new(0)]);
    let mut tasks = Vec::new();
    for client_no in 0..clients {
        let (orgs, acked_file, unanswered, client, counts) = (
            orgs.clone(),
            acked_file.clone(),
            unanswered.clone(),
            client.clone(),
            counts.clone(),
        );
        let base = base.to_owned();
        tasks.push(tokio::spawn(async move {
            let mut n: u64 = 0;
            let mut answered = true;
            // A client stops at its first unanswered request: the server is gone.
            while Instant::now() < deadline && answered {
                n += 1;
                let from = (client_no + n as usize) % orgs.len();
                let to = (from + 1 + (n as usize * 7) % (orgs.len() - 1)) % orgs.len();
                let key = format!("c{client_no}-{n}-{}", uuid::Uuid::now_v7().simple());
                let body = json!({"to_organisation_id": orgs[to].0, "amount": 1 + n % 50});
                let url = format!("{base}/api/v1/transfers");
                match send(&client, url, &orgs[from].1, Some(&key), &body).await {
                    Ok((status, answer)) if (200..300).contains(&status) => {
                        counts[0].fetch_add(1, Ordering::Relaxed);
                        let id = answer["id"].as_str().unwrap_or_default();
                        if let Ok(mut file) = acked_file.lock() {
                            let _ = writeln!(file, "{id} {key}");
                        }
                    }
                    Ok((status, answer)) => {
                        counts[1].fetch_add(1, Ordering::Relaxed);
                        eprintln!("refused: {status} {answer}");
                    }
                    Err(_) => {
                        answered = false;
                        counts[2].fetch_add(1, Ordering::Relaxed);
                        if let Ok(mut file) = unanswered.lock() {
                            let line = json!({"from": from, "key": key, "body": body});
                            let _ = writeln!(file, "{line}");
                        }
                    }
                }
            }
        }));
    }
    for task in tasks {
        task.await?;
    }
    println!(
        "acknowledged {}, refused {}, unanswered {}",
        counts[0].load(Ordering::Relaxed),
        counts[1].load(Ordering::Relaxed),
        counts[2].load(Ordering::Relaxed)
    );
    if counts[1].load(Ordering::Relaxed) > 0 {
        return Err("the server refused payments that should have gone through".into());
    }
    Ok(())
}

/// Sends each unanswered request again with its key: it either took effect before the crash
/// (the stored answer comes back) or did not (it takes effect now). Never twice.
async fn resend(base: &str, state: &str, acked: &str) -> Result<(), Error> {
    let orgs = read_state(state)?;
    let client = reqwest::Client::new();
    let text = std::fs::read_to_string(format!("{acked}.unanswered")).unwrap_or_default();
    let mut file = std::fs::OpenOptions::new().append(true).open(acked)?;
    let (mut replayed, mut fresh) = (0, 0);
    for line in text.lines() {
        let request: Value = serde_json::from_str(line)?;
        let from = request["from"].as_u64().unwrap_or_default() as usize;
        let key = request["key"].as_str().unwrap_or_default();
        let url = format!("{base}/api/v1/transfers");
        let response = client
            .post(url)
            .bearer_auth(&orgs[from].1)
            .header("Idempotency-Key", key)
            .json(&request["body"])
            .send()
            .await?;
        let was_replayed = response.headers().contains_key("idempotency-replayed");
        let status = response.status().as_u16();
        let answer: Value = response.json().await.unwrap_or(Value::Null);
        if status != 201 {
            return Err(format!("resent {key}: {status} {answer}").into());
        }
        if was_replayed {
            replayed += 1;
        } else {
            fresh += 1;
        }
        writeln!(file, "{} {key}", answer["id"].as_str().unwrap_or_default())?;
    }
    println!("resent: {replayed} had been committed before the crash, {fresh} had not");
    Ok(())
}
