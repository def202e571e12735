//! Moderation: the broker takes a listing or a wish off the market, with a reason, until it is
//! restored. Its owner still reads it (with the reason) but cannot change it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;

/// A listing or wish the broker has hidden.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, ToSchema)]
pub struct Hidden {
    /// When the broker hid it.
    pub at: DateTime<Utc>,
    /// The broker's reason, as the owner was told it.
    pub reason: String,
}

impl Hidden {
    /// From the stored columns, which are set and cleared together.
    pub fn of(at: Option<DateTime<Utc>>, reason: Option<String>) -> Option<Hidden> {
        at.map(|at| Hidden {
            at,
            reason: reason.unwrap_or_default(),
        })
    }
}
