//! kringloop: the open service a city runs to keep building materials in its own loop.
//!
//! Dependencies point one way: `http` → `app` (use cases) → `domain` and `db`.
//! `jobs` runs background work on top of `app` and `db`.

pub mod app;
pub mod config;
pub mod db;
pub mod domain;
pub mod http;
pub mod jobs;
pub mod startup;
pub mod telemetry;
pub mod web;
