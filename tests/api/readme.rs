//! The README's walk-through pastes as written: every variable it uses is set before, it calls
//! no tool beyond curl, jq and the shell's own, and run in order against the service it does
//! what it says without one problem answer.

use crate::support::*;
use std::collections::HashSet;
use std::path::Path;

/// What the walk-through may call: what it says it needs (curl, jq, GNU date) and cargo.
const TOOLS: [&str; 6] = ["curl", "jq", "date", "echo", "printf", "cargo"];

/// The README's `sh` blocks, in order.
fn sh_blocks() -> Vec<String> {
    let readme =
        std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let mut blocks = Vec::new();
    let mut rest = readme.as_str();
    while let Some(start) = rest.find("```sh\n") {
        let body = &rest[start + 6..];
        let end = body.find("```").expect("an sh block without its end");
        blocks.push(body[..end].to_owned());
        rest = &body[end..];
    }
    blocks
}

/// What a script does, as far as these checks need: the commands it calls and, in order, the
/// variables it sets and uses.
#[derive(Debug, Default)]
struct Script {
    commands: Vec<(usize, String)>,
    /// (line, name, true when set, false when used)
    variables: Vec<(usize, String, bool)>,
}

#[derive(Clone, Copy, PartialEq)]
enum Context {
    Top,
    Double,
    Substitution,
}

/// Reads a script the way bash splits it into commands, near enough for the README: quotes,
/// `$(…)`, pipes, `;`, `&&`, comments and continued lines.
fn scan(script: &str) -> Script {
    let chars: Vec<char> = script.chars().collect();
    let mut out = Script::default();
    let mut stack = vec![Context::Top];
    let mut line = 1;
    let mut at_command = true;
    let mut i = 0;
    let name_at = |i: usize| -> String {
        chars[i..]
            .iter()
            .take_while(|c| c.is_ascii_alphanumeric() || **c == '_')
            .collect()
    };
    while i < chars.len() {
        let c = chars[i];
        let context = *stack.last().unwrap();
        if c == '\n' {
            line += 1;
            if context != Context::Double {
                at_command = true;
            }
            i += 1;
            continue;
        }
        if context != Context::Double && at_command {
            if c == ' ' || c == '\t' {
                i += 1;
                continue;
            }
            if c == '#' {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            let word = name_at(i);
            if !word.is_empty() && chars.get(i + word.len()) == Some(&'=') {
                out.variables.push((line, word.clone(), true));
                i += word.len() + 1;
                at_command = false;
                continue;
            }
            if !word.is_empty() {
                out.commands.push((line, word.clone()));
                i += word.len();
                at_command = false;
                continue;
            }
            at_command = false;
        }
        match (context, c) {
            (Context::Top | Context::Substitution, '#')
                if i == 0 || chars[i - 1].is_whitespace() =>
            {
                while i < chars.len() && chars[i] != '\n' {
                    i += 1;
                }
                continue;
            }
            (_, '\\') => {
                if chars.get(i + 1) == Some(&'\n') {
                    line += 1;
                }
                i += 2;
                continue;
            }
            (Context::Top | Context::Substitution, '\'') => {
                i += 1;
                while i < chars.len() && chars[i] != '\'' {
                    line += usize::from(chars[i] == '\n');
                    i += 1;
                }
            }
            (Context::Top | Context::Substitution, '"') => stack.push(Context::Double),
            (Context::Double, '"') => {
                stack.pop();
            }
            (_, '$') if chars.get(i + 1) == Some(&'(') => {
                stack.push(Context::Substitution);
                at_command = true;
                i += 2;
                continue;
            }
            (_, '$') => {
                let braced = chars.get(i + 1) == Some(&'{');
                let name = name_at(i + 1 + usize::from(braced));
                if !name.is_empty() {
                    out.variables.push((line, name, false));
                }
            }
            (Context::Substitution, ')') => {
                stack.pop();
            }
            (Context::Top | Context::Substitution, '|' | ';') => at_command = true,
            (Context::Top | Context::Substitution, '&') if chars.get(i + 1) == Some(&'&') => {
                at_command = true;
                i += 1;
            }
            _ => {}
        }
        i += 1;
    }
    out
}

#[test]
fn the_scan_sees_commands_and_variables_where_bash_does() {
    let script = scan(
        "A=1 # a comment with $NOPE\n\
         B=$(echo \"$A\" | jq -r '.x | $y') && uuidgen\n\
         curl -d \"{\\\"a\\\": \\\"$B\\\"}\" \\\n  -H 'x: $C'\n",
    );
    let commands: Vec<&str> = script.commands.iter().map(|(_, c)| c.as_str()).collect();
    assert_eq!(commands, ["echo", "jq", "uuidgen", "curl"]);
    let variables: Vec<(&str, bool)> = script
        .variables
        .iter()
        .map(|(_, name, set)| (name.as_str(), *set))
        .collect();
    assert_eq!(
        variables,
        [("A", true), ("B", true), ("A", false), ("B", false)]
    );
}

#[test]
fn the_readme_walk_through_sets_every_variable_before_use_and_calls_only_known_tools() {
    let blocks = sh_blocks();
    assert!(blocks.len() >= 4, "the README has its sh blocks");
    let script = scan(&blocks.join("\n"));
    let mut set = HashSet::new();
    let mut unset = Vec::new();
    for (line, name, assigns) in &script.variables {
        if *assigns {
            set.insert(name.clone());
        } else if !set.contains(name) {
            unset.push(format!("${name} (line {line} of the sh blocks)"));
        }
    }
    assert!(unset.is_empty(), "used before it is set: {unset:?}");
    let unknown: Vec<String> = script
        .commands
        .iter()
        .filter(|(_, command)| !TOOLS.contains(&command.as_str()))
        .map(|(line, command)| format!("{command} (line {line})"))
        .collect();
    assert!(
        unknown.is_empty(),
        "tools the walk-through does not say it needs: {unknown:?}"
    );
}

async fn have(tool: &str) -> bool {
    tokio::process::Command::new(tool)
        .arg("--version")
        .output()
        .await
        .is_ok_and(|out| out.status.success())
}

/// The walk-through, run as written against a fresh instance: the broker made by the real
/// binary, `$API` this instance's address, everything else as pasted.
#[actix_web::test]
async fn the_readme_walk_through_runs_as_written() {
    for tool in ["bash", "curl", "jq"] {
        if !have(tool).await {
            eprintln!("SKIPPED: the walk-through needs {tool}, which this machine lacks");
            return;
        }
    }
    let app = TestApp::spawn().await;
    let blocks = sh_blocks();
    // The first block is the quick start (serve, test); the walk-through follows.
    let mut script = String::from("set -euo pipefail\n");
    for block in &blocks[1..] {
        script.push_str(block);
        script.push('\n');
    }
    let binary = env!("CARGO_BIN_EXE_kringloop");
    let broker = "cargo run --release -- create-broker";
    assert!(script.contains(broker), "the walk-through makes a broker");
    script = script.replace(broker, &format!("{binary} create-broker"));
    // Paths in the README are from the checkout's root.
    script = script.replace(
        "@../shared/",
        &format!("@{}/../shared/", env!("CARGO_MANIFEST_DIR")),
    );
    let mailpit = "http://localhost:8025";
    assert!(
        script.contains(mailpit),
        "the walk-through reads the verification link from Mailpit"
    );
    script = script.replace(mailpit, &mailbox(&app));
    let api = "API=http://127.0.0.1:8080/api/v1";
    assert!(script.contains(api), "the walk-through sets $API");
    script = script.replace(api, &format!("API={}/api/v1", app.base));
    // The last answer may end without a newline.
    script.push_str(
        "echo; printf '%s\\n' \"$DONOR_ORG\" \"$PASSPORT\" \"$LISTING\" \"$MAKER_ORG\" \"$WISH\" \
         \"$MATCH\" \"$RES\" \"$D\"\n",
    );
    // The walk-through writes files (an inventory, labels, an export) where it runs: a folder
    // of its own, not the checkout.
    let workdir = tempfile::tempdir().unwrap();
    let run = tokio::process::Command::new("bash")
        .arg("-c")
        .arg(&script)
        .current_dir(workdir.path())
        .env("DATABASE_URL", &app.db_url)
        .env("KRINGLOOP_DATA_DIR", tempfile::tempdir().unwrap().keep())
        .env("RUST_LOG", "warn")
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&run.stdout);
    let stderr = String::from_utf8_lossy(&run.stderr);
    assert!(run.status.success(), "{stderr}\n{stdout}");
    assert!(
        !stdout.contains("urn:kringloop:problem:"),
        "a step was refused:\n{stdout}"
    );
    let ids: Vec<&str> = stdout.lines().rev().take(8).collect();
    for id in &ids {
        assert!(
            uuid::Uuid::parse_str(id).is_ok(),
            "not an id: {id:?}\n{stdout}"
        );
    }
    // What it says happened: the doors were matched, reserved through the accepted match,
    // handed over and confirmed, and the flow is recorded.
    let done = app
        .sql_count(
            "SELECT count(*) AS count FROM reservations r JOIN matches m ON m.id = r.match_id \
             WHERE r.status = 'handed_over' AND r.confirmation = 'confirmed' \
             AND m.status = 'accepted'",
        )
        .await;
    assert_eq!(done, 1, "{stdout}");
    assert_eq!(
        app.sql_count("SELECT count(*) AS count FROM flows").await,
        1
    );
}

/// Mailpit's `GET /api/v1/message/latest`, as far as the walk-through reads it: the newest
/// mail in the outbox (where mail waits when no SMTP server is set), rendered as the mail
/// engine renders it; answers its base URL.
fn mailbox(app: &TestApp) -> String {
    #[derive(diesel::QueryableByName)]
    struct Latest {
        #[diesel(sql_type = diesel::sql_types::Text)]
        event: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        payload: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        locale: String,
        #[diesel(sql_type = diesel::sql_types::Text)]
        display_name: String,
    }
    async fn latest(db_url: String, public_url: String) -> actix_web::HttpResponse {
        use diesel_async::{AsyncConnection, AsyncPgConnection, RunQueryDsl};
        let mut conn = AsyncPgConnection::establish(&db_url).await.unwrap();
        let row: Latest = diesel::sql_query(
            "SELECT o.event, o.payload::text AS payload, u.locale, u.display_name \
             FROM outbox o JOIN users u ON u.id = o.recipient_user_id \
             WHERE o.channel = 'email' ORDER BY o.id DESC LIMIT 1",
        )
        .get_result(&mut conn)
        .await
        .unwrap();
        let payload: serde_json::Value = serde_json::from_str(&row.payload).unwrap();
        let mail = kringloop::app::engine::mail::render(
            &row.event,
            &row.locale,
            &row.display_name,
            &payload,
            &public_url,
        )
        .unwrap();
        actix_web::HttpResponse::Ok()
            .json(serde_json::json!({"Subject": mail.subject, "Text": mail.body}))
    }
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let db_url = app.db_url.clone();
    let public_url = app.base.clone();
    let server = actix_web::HttpServer::new(move || {
        let db_url = db_url.clone();
        let public_url = public_url.clone();
        actix_web::App::new().route(
            "/api/v1/message/latest",
            actix_web::web::get().to(move || latest(db_url.clone(), public_url.clone())),
        )
    })
    .workers(1)
    .listen(listener)
    .unwrap()
    .run();
    actix_web::rt::spawn(server);
    base
}
