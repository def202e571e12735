//! A real S3-compatible server for the file store's tests: moto's server (PyPI `moto[server]`,
//! which `.ci/run` installs), started on a free port with one bucket, stopped when dropped.

use super::free_port;
use std::process::{Child, Command, Stdio};
use std::time::Duration;

pub struct S3Server {
    pub endpoint: String,
    pub bucket: String,
    child: Child,
}

impl S3Server {
    pub async fn start() -> S3Server {
        let program = std::env::var("MOTO_SERVER").unwrap_or_else(|_| "moto_server".into());
        let port = free_port();
        let child = Command::new(&program)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap_or_else(|error| {
                panic!(
                    "the S3 store test needs moto's server ({program}: {error}); \
                     pip install 'moto[server]' and put moto_server on PATH or in MOTO_SERVER \
                     (.ci/run installs it)"
                )
            });
        let server = S3Server {
            endpoint: format!("http://127.0.0.1:{port}"),
            bucket: "kringloop-files".into(),
            child,
        };
        let client = reqwest::Client::new();
        for _ in 0..200 {
            // Creating the bucket is also the sign that the server is up.
            if let Ok(answer) = client
                .put(format!("{}/{}", server.endpoint, server.bucket))
                .send()
                .await
            {
                assert!(answer.status().is_success(), "bucket: {}", answer.status());
                return server;
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("moto's server did not answer on port {port}");
    }

    /// The bucket's objects as (key, size), listed straight from the server (not through
    /// kringloop).
    pub async fn objects(&self) -> Vec<(String, u64)> {
        let listing = reqwest::Client::new()
            .get(format!("{}/{}?list-type=2", self.endpoint, self.bucket))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let between = |text: &str, open: &str, close: &str| -> Option<String> {
            let start = text.find(open)? + open.len();
            Some(text[start..start + text[start..].find(close)?].to_owned())
        };
        listing
            .split("<Contents>")
            .skip(1)
            .map(|entry| {
                (
                    between(entry, "<Key>", "</Key>").unwrap(),
                    between(entry, "<Size>", "</Size>")
                        .unwrap()
                        .parse()
                        .unwrap(),
                )
            })
            .collect()
    }
}

impl Drop for S3Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}
