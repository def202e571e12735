//! An SMTP sink for the tests: accepts every message and keeps it, and can be stopped and
//! started again on the same port to play an outage.

use super::harness::test_settings;
use kringloop::config::Settings;
use secrecy::SecretString;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::task::JoinSet;

/// One received mail: the envelope recipients and the raw message.
#[derive(Debug, Clone)]
pub struct Mail {
    pub to: Vec<String>,
    pub data: String,
}

impl Mail {
    pub fn header(&self, name: &str) -> Option<String> {
        let prefix = format!("{}:", name.to_ascii_lowercase());
        self.data
            .lines()
            .take_while(|line| !line.is_empty())
            .find(|line| line.to_ascii_lowercase().starts_with(&prefix))
            .map(|line| line[prefix.len()..].trim().to_owned())
    }

    /// The body with quoted-printable soft line breaks and escapes undone.
    pub fn text(&self) -> String {
        let body = self.data.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        let joined = body.replace("=\r\n", "");
        let mut out = Vec::new();
        let bytes = joined.as_bytes();
        let mut i = 0;
        while i < bytes.len() {
            if bytes[i] == b'=' && i + 2 < bytes.len() {
                if let Ok(b) = u8::from_str_radix(&joined[i + 1..i + 3], 16) {
                    out.push(b);
                    i += 3;
                    continue;
                }
            }
            out.push(bytes[i]);
            i += 1;
        }
        String::from_utf8_lossy(&out).into_owned()
    }
}

pub struct SmtpSink {
    pub addr: SocketAddr,
    mails: Arc<Mutex<Vec<Mail>>>,
    tasks: JoinSet<()>,
}

impl SmtpSink {
    pub async fn start() -> SmtpSink {
        Self::start_on(0).await
    }

    /// Starts on `port` (0: any free port), keeping mail in a fresh store.
    pub async fn start_on(port: u16) -> SmtpSink {
        Self::start_with(port, Arc::default()).await
    }

    async fn start_with(port: u16, mails: Arc<Mutex<Vec<Mail>>>) -> SmtpSink {
        let listener = TcpListener::bind(("127.0.0.1", port)).await.unwrap();
        let addr = listener.local_addr().unwrap();
        let mut tasks = JoinSet::new();
        let store = mails.clone();
        tasks.spawn(async move {
            let mut sessions = JoinSet::new();
            loop {
                let Ok((stream, _)) = listener.accept().await else {
                    return;
                };
                sessions.spawn(session(stream, store.clone()));
            }
        });
        SmtpSink { addr, mails, tasks }
    }

    pub fn url(&self) -> String {
        format!("smtp://127.0.0.1:{}", self.addr.port())
    }

    /// The test settings, mailing through this sink; a failed mail is retried after 30 s.
    pub fn settings(&self) -> Settings {
        let mut settings = test_settings();
        settings.smtp_url = Some(SecretString::from(self.url()));
        settings.mail_backoff_secs = 30;
        settings
    }

    /// The subjects of the mails sent to `address`, in the order they came.
    pub fn subjects_to(&self, address: &str) -> Vec<String> {
        self.mails()
            .iter()
            .filter(|m| m.to.iter().any(|t| t == address))
            .map(|m| m.header("Subject").unwrap_or_default())
            .collect()
    }

    pub fn mails(&self) -> Vec<Mail> {
        self.mails.lock().unwrap().clone()
    }

    /// Stops listening and drops every open session.
    pub async fn stop(mut self) -> (u16, Arc<Mutex<Vec<Mail>>>) {
        self.tasks.shutdown().await;
        (self.addr.port(), self.mails.clone())
    }

    /// Starts again on the same port, keeping the mail received so far.
    pub async fn restart(port: u16, mails: Arc<Mutex<Vec<Mail>>>) -> SmtpSink {
        Self::start_with(port, mails).await
    }
}

async fn session(stream: TcpStream, mails: Arc<Mutex<Vec<Mail>>>) {
    let (read, mut write) = stream.into_split();
    let mut lines = BufReader::new(read);
    let mut to = Vec::new();
    if write.write_all(b"220 sink ESMTP\r\n").await.is_err() {
        return;
    }
    let mut line = String::new();
    loop {
        line.clear();
        match lines.read_line(&mut line).await {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        let command = line.trim_end().to_ascii_uppercase();
        let reply: &[u8] = if command.starts_with("EHLO") {
            b"250-sink\r\n250-8BITMIME\r\n250 SMTPUTF8\r\n"
        } else if command.starts_with("HELO") || command.starts_with("MAIL") {
            b"250 OK\r\n"
        } else if command.starts_with("RCPT") {
            let address = line.trim_end()[8..].trim();
            to.push(address.trim_matches(|c| c == '<' || c == '>').to_owned());
            b"250 OK\r\n"
        } else if command == "DATA" {
            if write.write_all(b"354 go ahead\r\n").await.is_err() {
                return;
            }
            let mut data = String::new();
            loop {
                line.clear();
                match lines.read_line(&mut line).await {
                    Ok(0) | Err(_) => return,
                    Ok(_) => {}
                }
                if line == ".\r\n" {
                    break;
                }
                data.push_str(line.strip_prefix('.').unwrap_or(&line));
            }
            mails.lock().unwrap().push(Mail {
                to: std::mem::take(&mut to),
                data,
            });
            b"250 queued\r\n"
        } else if command == "QUIT" {
            let _ = write.write_all(b"221 bye\r\n").await;
            return;
        } else {
            b"250 OK\r\n"
        };
        if write.write_all(reply).await.is_err() {
            return;
        }
    }
}
