//! The engines: machinery that use cases run on, not use cases themselves.
//!
//! - [`matcher`]: this instance's indexes of standing wishes and open listings, kept in step
//!   with the database, and the queue of changed wishes and listings it works.
//! - [`stock`]: this instance's copy of the open stock, which most searches answer from.
//! - [`payments`]: the lanes that commit payments to one account together.
//! - [`mail`]: rendering notifications and delivering them over SMTP, digests included.
//! - [`tokens`]: the keys that sign and check access tokens, and refresh tokens.
//! - [`files`]: where uploaded files' bytes are kept (the data folder).

pub mod files;
pub mod mail;
pub mod matcher;
pub mod payments;
pub mod stock;
pub mod tokens;
