//! The domain core: plain Rust values and rules, no HTTP, no SQL, no runtime.

pub mod account;
pub mod clock;
pub mod geo;
pub mod validation;
