//! What every test file imports: the harness (a database and the app per test), the fixtures
//! (a market and builders for its data), the links mailed to an address, an SMTP sink, and two ways to use the pages: a
//! cookie-keeping HTTP client ([`pages`]) and a real headless Chromium ([`browser`]).

mod browser;
mod fixtures;
mod harness;
mod mailbox;
mod pages;
mod smtp;

pub use browser::*;
pub use fixtures::*;
pub use harness::*;
pub use mailbox::*;
pub use pages::*;
pub use smtp::*;
