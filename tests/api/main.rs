//! All integration tests, in one binary: one link, one template database.

mod abuse;
mod accounts;
mod auth;
mod catalog;
mod cluster;
mod deployment;
mod flows;
mod holds;
mod hostile_input;
mod ledger;
mod mail;
mod matcher_race;
mod migrations;
mod notices;
mod notifications;
mod openapi;
mod operations;
mod paging;
mod problems;
mod readme;
mod reservations;
mod search;
mod stock;
mod structure;
mod support;
mod wishes;
