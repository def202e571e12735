//! All integration tests, in one binary: one link, one template database.

mod accounts;
mod auth;
mod cluster;
mod migrations;
mod openapi;
mod operations;
mod problems;
mod support;
