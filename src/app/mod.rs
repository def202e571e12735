//! Use cases: one function per thing a user does, each one database transaction, in a module
//! (or a folder, once it outgrows one file) per feature.
//!
//! Beside the features: [`actor`] (who is asking), [`error`] (every problem a use case can
//! answer), [`paging`], [`idempotency`], [`notices`] (every kind of notification) and
//! [`notifications`] (writing them to the outbox), which the use cases share, and [`engine`],
//! the machinery they run on.

pub mod accounts;
pub mod actor;
pub mod audit;
pub mod categories;
pub mod districts;
pub mod engine;
pub mod error;
pub mod feed;
pub mod flows;
pub mod idempotency;
pub mod inventory;
pub mod ledger;
pub mod listings;
pub mod moderation;
pub mod notices;
pub mod notifications;
pub mod open_data;
pub mod outbox;
pub mod paging;
pub mod passport_files;
pub mod passports;
pub mod reservations;
pub mod seed;
pub mod wishes;

use crate::db::{Pool, PooledConn};
use crate::domain::clock::Clock;
use chrono::{DateTime, Duration, SubsecRound, Utc};
use error::AppResult;
use std::sync::Arc;

/// Limits that use cases enforce, from the settings.
#[derive(Debug, Clone)]
pub struct Policy {
    pub refresh_token_ttl: Duration,
    pub login_max_failures_per_account: i64,
    pub login_max_failures_per_address: i64,
    pub login_window: Duration,
    /// The wait added to a failed login per earlier failure into the same account.
    pub login_slowdown: std::time::Duration,
    /// The code of the city's local currency, beside EUR.
    pub local_currency: String,
    /// How long a reservation holds its quantity before it is released.
    pub reservation_hold: Duration,
    /// How long the demander has to confirm or dispute a hand-over.
    pub handover_confirm: Duration,
    /// Registrations from one client address within `registration_window` before 429.
    pub registrations_per_address: i64,
    pub registration_window: Duration,
}

/// What every use case may reach: the database, the clock, the token keys and the policy.
pub struct Ctx {
    pub pool: Pool,
    /// Payments between organisations, committed together when they arrive together.
    pub payments: engine::payments::Payments,
    pub clock: Arc<dyn Clock>,
    pub tokens: engine::tokens::AccessTokens,
    /// Password hashing, bounded by a memory budget.
    pub passwords: accounts::passwords::Passwords,
    pub policy: Policy,
    pub public_url: String,
    /// Category subtrees for searches, kept a few seconds.
    pub subtrees: categories::Subtrees,
    /// This instance's copy of the open stock, which most searches answer from.
    pub stock: engine::stock::StockCopy,
    /// This instance's matcher and its indexes.
    pub matcher: engine::matcher::Matcher,
    /// SMTP, when configured; without it mail waits in the outbox.
    pub mailer: Option<engine::mail::Mailer>,
    pub delivery: engine::mail::DeliveryPolicy,
    /// The stock map's tile server, when one is configured.
    pub map_tiles: Option<String>,
    /// The newest migration this build embeds; `/readyz` checks that it was applied.
    pub latest_migration: String,
    /// Largest upload (an inventory sheet) accepted, in bytes.
    pub max_upload_bytes: usize,
    /// Where uploaded files' bytes are kept.
    pub files: Arc<dyn engine::files::FileStore>,
}

impl Ctx {
    pub async fn conn(&self) -> AppResult<PooledConn> {
        Ok(self.pool.get().await?)
    }

    /// Now, at the database's precision (microseconds), so that what is stored compares
    /// equal to what was computed.
    pub fn now(&self) -> DateTime<Utc> {
        self.clock.now().trunc_subsecs(6)
    }
}

impl std::fmt::Debug for Ctx {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Ctx")
            .field("public_url", &self.public_url)
            .field("policy", &self.policy)
            .finish_non_exhaustive()
    }
}
