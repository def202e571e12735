//! What every test file imports: the harness (a database and the app per test), the fixtures
//! (a market and builders for its data), the links mailed to an address, an SMTP sink, two
//! ways to use the pages: a cookie-keeping HTTP client ([`pages`]) and a real headless
//! Chromium ([`browser`]); and an S3-compatible server for the file store ([`s3`]).

mod browser;
mod fixtures;
mod harness;
mod mailbox;
mod pages;
mod s3;
mod smtp;

pub use browser::*;
pub use fixtures::*;
pub use harness::*;
pub use mailbox::*;
pub use pages::*;
pub use s3::*;
pub use smtp::*;
