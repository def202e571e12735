//! The wish lifecycle: a wish stands (active) until its organisation deletes it. A deleted wish
//! is kept, without matches, so that its past matches and flows still name it.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum WishStatus {
    /// Standing: the matcher looks for listings for it.
    Active,
    Deleted,
}

text_enum!(WishStatus {
    Active => "active",
    Deleted => "deleted",
});

/// What can happen to a wish.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WishEvent {
    /// Its fields changed; it stays active.
    Change,
    Delete,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a wish that is {from} cannot be {event:?}")]
pub struct IllegalTransition {
    pub from: WishStatus,
    pub event: WishEvent,
}

impl WishStatus {
    pub fn apply(self, event: WishEvent) -> Result<WishStatus, IllegalTransition> {
        match (self, event) {
            (WishStatus::Active, WishEvent::Change) => Ok(WishStatus::Active),
            (WishStatus::Active, WishEvent::Delete) => Ok(WishStatus::Deleted),
            (from, event) => Err(IllegalTransition { from, event }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_active_wish_changes_or_is_deleted() {
        assert_eq!(
            WishStatus::Active.apply(WishEvent::Change),
            Ok(WishStatus::Active)
        );
        assert_eq!(
            WishStatus::Active.apply(WishEvent::Delete),
            Ok(WishStatus::Deleted)
        );
    }

    #[test]
    fn a_deleted_wish_stays_deleted() {
        for event in [WishEvent::Change, WishEvent::Delete] {
            assert!(WishStatus::Deleted.apply(event).is_err());
        }
        assert_eq!(
            "deleted".parse::<WishStatus>().ok(),
            Some(WishStatus::Deleted)
        );
        assert!("removed".parse::<WishStatus>().is_err());
    }
}
