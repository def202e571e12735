//! All integration tests, in one binary: one link, one template database.

mod accounts;
mod auth;
mod catalog;
mod cluster;
mod flows;
mod ledger;
mod mail;
mod migrations;
mod notifications;
mod openapi;
mod operations;
mod problems;
mod reservations;
mod search;
mod stock;
mod support;
mod wishes;
