//! What every test file imports: the harness (a database and the app per test), the fixtures
//! (a market and builders for its data) and an SMTP sink.

mod fixtures;
mod harness;
mod smtp;

pub use fixtures::*;
pub use harness::*;
pub use smtp::*;
