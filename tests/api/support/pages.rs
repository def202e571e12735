//! A browser without the browser, for the pages' rules: it keeps cookies, reads the CSRF
//! token a page's forms carry, and posts forms as a browser would (redirects not followed).

use std::collections::HashMap;

pub struct PageClient {
    base: String,
    client: reqwest::Client,
    pub cookies: HashMap<String, String>,
    /// The CSRF token of the last page read.
    pub csrf: String,
}

pub struct PageAnswer {
    pub status: u16,
    pub body: String,
    pub headers: reqwest::header::HeaderMap,
}

impl PageAnswer {
    pub fn location(&self) -> String {
        self.headers
            .get("location")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned()
    }

    pub fn set_cookies(&self) -> Vec<String> {
        self.headers
            .get_all("set-cookie")
            .iter()
            .filter_map(|v| v.to_str().ok().map(str::to_owned))
            .collect()
    }
}

impl PageClient {
    pub fn new(base: &str) -> PageClient {
        PageClient {
            base: base.trim_end_matches('/').to_owned(),
            client: reqwest::Client::builder()
                .redirect(reqwest::redirect::Policy::none())
                .build()
                .unwrap(),
            cookies: HashMap::new(),
            csrf: String::new(),
        }
    }

    fn cookie_header(&self) -> String {
        self.cookies
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()
            .join("; ")
    }

    fn keep(&mut self, answer: &PageAnswer) {
        for cookie in answer.set_cookies() {
            let pair = cookie.split(';').next().unwrap_or_default();
            if let Some((name, value)) = pair.split_once('=') {
                if value.is_empty() || cookie.contains("Max-Age=0") {
                    self.cookies.remove(name);
                } else {
                    self.cookies.insert(name.to_owned(), value.to_owned());
                }
            }
        }
        if let Some(start) = answer.body.find("name=\"csrf\" value=\"") {
            let rest = &answer.body[start + 19..];
            self.csrf = rest[..rest.find('"').unwrap()].to_owned();
        }
    }

    pub async fn get(&mut self, path: &str) -> PageAnswer {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        let answer = PageAnswer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        };
        self.keep(&answer);
        answer
    }

    /// Posts `fields` with the CSRF token of the last page read, from this site.
    pub async fn post(&mut self, path: &str, fields: &[(&str, &str)]) -> PageAnswer {
        let mut all: Vec<(&str, &str)> = vec![("csrf", &self.csrf)];
        all.extend_from_slice(fields);
        let body = serde_urlencoded::to_string(&all).unwrap();
        self.post_raw(path, body, &[("origin", &self.base.clone())])
            .await
    }

    pub async fn post_raw(
        &mut self,
        path: &str,
        body: String,
        headers: &[(&str, &str)],
    ) -> PageAnswer {
        let mut request = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("content-type", "application/x-www-form-urlencoded")
            .body(body);
        for (name, value) in headers {
            request = request.header(*name, *value);
        }
        let response = request.send().await.unwrap();
        let answer = PageAnswer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        };
        self.keep(&answer);
        answer
    }

    /// Posts a multipart form (as a file input sends it): `fields` as text parts, with the
    /// CSRF token of the last page read, and `file` as (file name, content type, bytes).
    pub async fn post_multipart(
        &mut self,
        path: &str,
        fields: &[(&str, &str)],
        file: (&str, &str, &[u8]),
    ) -> PageAnswer {
        let boundary = "kringloop-test-boundary-7d1f";
        let mut body = Vec::new();
        let csrf = self.csrf.clone();
        for (name, value) in std::iter::once(("csrf", csrf.as_str())).chain(fields.iter().copied())
        {
            body.extend_from_slice(
                format!(
                    "--{boundary}\r\nContent-Disposition: form-data; name=\"{name}\"\r\n\r\n{value}\r\n"
                )
                .as_bytes(),
            );
        }
        let (filename, content_type, bytes) = file;
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"file\"; filename=\"{filename}\"\r\nContent-Type: {content_type}\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(format!("\r\n--{boundary}--\r\n").as_bytes());
        let response = self
            .client
            .post(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .header("origin", self.base.clone())
            .header(
                "content-type",
                format!("multipart/form-data; boundary={boundary}"),
            )
            .body(body)
            .send()
            .await
            .unwrap();
        let answer = PageAnswer {
            status: response.status().as_u16(),
            headers: response.headers().clone(),
            body: response.text().await.unwrap(),
        };
        self.keep(&answer);
        answer
    }

    /// The bytes and content type at `path`, with this browser's cookies.
    pub async fn get_bytes(&mut self, path: &str) -> (u16, String, Vec<u8>) {
        let response = self
            .client
            .get(format!("{}{path}", self.base))
            .header("cookie", self.cookie_header())
            .send()
            .await
            .unwrap();
        let status = response.status().as_u16();
        let content_type = response
            .headers()
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_owned();
        (
            status,
            content_type,
            response.bytes().await.unwrap().to_vec(),
        )
    }

    /// Signs in through the login form; panics unless it worked.
    pub async fn sign_in(&mut self, email: &str, password: &str) {
        self.get("/login").await;
        let answer = self
            .post(
                "/login",
                &[
                    ("email", email),
                    ("password", password),
                    ("next", "/workspace"),
                ],
            )
            .await;
        assert_eq!(answer.status, 303, "{}", answer.body);
        assert!(self.cookies.contains_key("kringloop_session"));
    }
}
