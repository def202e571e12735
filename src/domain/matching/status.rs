//! The lifecycles of a match (open → accepted / declined, retracted when the pair no longer
//! fits, open again when it fits again) and of a bundle proposal (proposed → accepted, or
//! superseded by a better one).

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum MatchStatus {
    /// Found and told; the demander has not answered.
    Open,
    Accepted,
    Declined,
    /// The pair no longer fits (the listing or the wish changed or went).
    Retracted,
}

text_enum!(MatchStatus {
    Open => "open",
    Accepted => "accepted",
    Declined => "declined",
    Retracted => "retracted",
});

/// What can happen to a match.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MatchEvent {
    /// The demander accepted it (or reserved the listing through it).
    Accept,
    Decline,
    /// The pair no longer fits.
    Retract,
    /// A retracted pair fits again: it is a new occurrence of the match.
    Reopen,
    /// The pair was scored again and still fits: the answer, if any, stands.
    Refresh,
}

impl MatchEvent {
    pub const ALL: [MatchEvent; 5] = [
        MatchEvent::Accept,
        MatchEvent::Decline,
        MatchEvent::Retract,
        MatchEvent::Reopen,
        MatchEvent::Refresh,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a match that is {from} cannot be {event:?}")]
pub struct IllegalMatchTransition {
    pub from: MatchStatus,
    pub event: MatchEvent,
}

impl MatchStatus {
    /// Whether the demander may still answer it.
    pub fn is_open(self) -> bool {
        self == MatchStatus::Open
    }

    /// Whether the pair still fits (every status but retracted).
    pub fn is_live(self) -> bool {
        self != MatchStatus::Retracted
    }

    pub fn apply(self, event: MatchEvent) -> Result<MatchStatus, IllegalMatchTransition> {
        use MatchEvent as E;
        use MatchStatus as S;
        let next = match (self, event) {
            (S::Open, E::Accept) => S::Accepted,
            (S::Open, E::Decline) => S::Declined,
            (S::Open | S::Accepted | S::Declined, E::Retract) => S::Retracted,
            (S::Retracted, E::Reopen) => S::Open,
            (S::Open | S::Accepted | S::Declined, E::Refresh) => self,
            (from, event) => return Err(IllegalMatchTransition { from, event }),
        };
        Ok(next)
    }
}

/// Why a match was retracted, as the demander is told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum RetractionCause {
    /// The donor withdrew the listing.
    Withdrawn,
    /// The listing's availability ended.
    Expired,
    /// Others reserved or received all of it.
    Taken,
    /// An announced listing's date moved past what the wish allows.
    DateChanged,
    /// The listing changed and no longer fits.
    Changed,
    /// The demander changed or deleted the wish.
    WishChanged,
    /// The broker suspended the organisation on either side.
    Suspended,
    /// The broker hid the listing or the wish.
    Hidden,
}

impl RetractionCause {
    /// Whether the demander is told: not of what they did to their own wish.
    pub fn tells_demander(self) -> bool {
        self != RetractionCause::WishChanged
    }
}

text_enum!(RetractionCause {
    Withdrawn => "withdrawn",
    Expired => "expired",
    Taken => "taken",
    DateChanged => "date_changed",
    Changed => "changed",
    WishChanged => "wish_changed",
    Suspended => "suspended",
    Hidden => "hidden",
});

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BundleStatus {
    /// The wish's current proposal; at most one per wish.
    Proposed,
    /// The demander took it as a whole; it is no longer worked out again.
    Accepted,
    /// A better proposal, or none, replaced it.
    Superseded,
}

text_enum!(BundleStatus {
    Proposed => "proposed",
    Accepted => "accepted",
    Superseded => "superseded",
});

/// What can happen to a bundle proposal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleEvent {
    Accept,
    Supersede,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a bundle that is {from} cannot be {event:?}")]
pub struct IllegalBundleTransition {
    pub from: BundleStatus,
    pub event: BundleEvent,
}

impl BundleStatus {
    /// The statuses of a wish's current bundle: the one shown to the demander.
    pub const CURRENT: [BundleStatus; 2] = [BundleStatus::Proposed, BundleStatus::Accepted];

    pub fn apply(self, event: BundleEvent) -> Result<BundleStatus, IllegalBundleTransition> {
        match (self, event) {
            (BundleStatus::Proposed, BundleEvent::Accept) => Ok(BundleStatus::Accepted),
            (BundleStatus::Proposed, BundleEvent::Supersede) => Ok(BundleStatus::Superseded),
            (from, event) => Err(IllegalBundleTransition { from, event }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_match_transition_is_decided() {
        use MatchEvent as E;
        use MatchStatus as S;
        let legal = [
            (S::Open, E::Accept, S::Accepted),
            (S::Open, E::Decline, S::Declined),
            (S::Open, E::Retract, S::Retracted),
            (S::Accepted, E::Retract, S::Retracted),
            (S::Declined, E::Retract, S::Retracted),
            (S::Retracted, E::Reopen, S::Open),
            (S::Open, E::Refresh, S::Open),
            (S::Accepted, E::Refresh, S::Accepted),
            (S::Declined, E::Refresh, S::Declined),
        ];
        crate::domain::assert_every_move(S::ALL, &E::ALL, &legal, S::apply, |refused| refused.from);
    }

    #[test]
    fn an_answered_match_cannot_be_answered_again() {
        for answered in [MatchStatus::Accepted, MatchStatus::Declined] {
            assert!(!answered.is_open());
            assert!(answered.apply(MatchEvent::Accept).is_err());
            assert!(answered.apply(MatchEvent::Decline).is_err());
        }
        assert!(!MatchStatus::Retracted.is_live());
        assert!(MatchStatus::Declined.is_live());
    }

    #[test]
    fn only_a_proposed_bundle_moves() {
        assert_eq!(
            BundleStatus::Proposed.apply(BundleEvent::Accept),
            Ok(BundleStatus::Accepted)
        );
        assert_eq!(
            BundleStatus::Proposed.apply(BundleEvent::Supersede),
            Ok(BundleStatus::Superseded)
        );
        for done in [BundleStatus::Accepted, BundleStatus::Superseded] {
            assert!(done.apply(BundleEvent::Accept).is_err());
            assert!(done.apply(BundleEvent::Supersede).is_err());
        }
        assert!(!BundleStatus::CURRENT.contains(&BundleStatus::Superseded));
    }

    #[test]
    fn the_text_forms_round_trip() {
        for status in MatchStatus::ALL {
            assert_eq!(status.as_str().parse::<MatchStatus>().ok(), Some(*status));
        }
        for status in BundleStatus::ALL {
            assert_eq!(status.as_str().parse::<BundleStatus>().ok(), Some(*status));
        }
    }
}
