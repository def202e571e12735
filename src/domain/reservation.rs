//! The reservation lifecycle as a state machine: held → handed_over, or cancelled / expired;
//! after a hand-over the demander confirms or disputes it once, within a window. Also the hold
//! rule: how long a reservation keeps its lot.

use chrono::{DateTime, Duration, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ReservationStatus {
    /// The quantity (and any funds) are held for the demander until `expires_at`.
    Held,
    /// The donor handed the material over; payment and custody moved.
    HandedOver,
    /// A party ended the hold before hand-over.
    Cancelled,
    /// The hold ran out before hand-over.
    Expired,
}

text_enum!(ReservationStatus {
    Held => "held",
    HandedOver => "handed_over",
    Cancelled => "cancelled",
    Expired => "expired",
});

/// What the demander said of a hand-over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Confirmation {
    Confirmed,
    Disputed,
}

text_enum!(Confirmation {
    Confirmed => "confirmed",
    Disputed => "disputed",
});

/// What can happen to a reservation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ReservationEvent {
    /// The hold ran out.
    Expire,
    /// A party ended the hold.
    Cancel,
    /// The donor handed the material over.
    HandOver,
    /// The demander confirmed the hand-over.
    Confirm,
    /// The demander disputed the hand-over.
    Dispute,
}

impl ReservationEvent {
    pub const ALL: [ReservationEvent; 5] = [
        ReservationEvent::Expire,
        ReservationEvent::Cancel,
        ReservationEvent::HandOver,
        ReservationEvent::Confirm,
        ReservationEvent::Dispute,
    ];

    /// The demander's word this event records, for the two that record one.
    pub fn confirmation(self) -> Option<Confirmation> {
        match self {
            ReservationEvent::Confirm => Some(Confirmation::Confirmed),
            ReservationEvent::Dispute => Some(Confirmation::Disputed),
            _ => None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a reservation that is {from} cannot take {event:?}")]
pub struct IllegalTransition {
    pub from: ReservationStatus,
    pub event: ReservationEvent,
}

impl ReservationStatus {
    /// Whether the reservation still holds quantity of its listing.
    pub fn is_held(self) -> bool {
        self == ReservationStatus::Held
    }

    /// The status after `event`. Confirming and disputing leave a hand-over handed over (the
    /// word is kept beside it); whether the window is still open is [`may_acknowledge`]'s.
    pub fn apply(self, event: ReservationEvent) -> Result<ReservationStatus, IllegalTransition> {
        use ReservationEvent as E;
        use ReservationStatus as S;
        let next = match (self, event) {
            (S::Held, E::Expire) => S::Expired,
            (S::Held, E::Cancel) => S::Cancelled,
            (S::Held, E::HandOver) => S::HandedOver,
            (S::HandedOver, E::Confirm | E::Dispute) => S::HandedOver,
            (from, event) => return Err(IllegalTransition { from, event }),
        };
        Ok(next)
    }
}

/// When a hold made at `now` on a lot available from `available_from` runs out. The hold runs
/// from when the material can be collected: a reservation on an announced lot would otherwise
/// expire before anyone could fetch it.
pub fn hold_expires_at(
    hold: Duration,
    available_from: DateTime<Utc>,
    now: DateTime<Utc>,
) -> DateTime<Utc> {
    now.max(available_from) + hold
}

/// Whether the demander may still confirm or dispute: handed over, nothing said yet, and the
/// window (`confirm_by`) not passed.
pub fn may_acknowledge(
    status: ReservationStatus,
    said: Option<Confirmation>,
    confirm_by: Option<DateTime<Utc>>,
    now: DateTime<Utc>,
) -> bool {
    status == ReservationStatus::HandedOver
        && said.is_none()
        && confirm_by.is_some_and(|by| now <= by)
}

#[cfg(test)]
mod tests {
    use super::*;
    use ReservationEvent as E;
    use ReservationStatus as S;

    fn at(rfc3339: &str) -> DateTime<Utc> {
        DateTime::parse_from_rfc3339(rfc3339)
            .map(|t| t.with_timezone(&Utc))
            .unwrap_or_default()
    }

    #[test]
    fn every_transition_is_decided() {
        let legal = [
            (S::Held, E::Expire, S::Expired),
            (S::Held, E::Cancel, S::Cancelled),
            (S::Held, E::HandOver, S::HandedOver),
            (S::HandedOver, E::Confirm, S::HandedOver),
            (S::HandedOver, E::Dispute, S::HandedOver),
        ];
        crate::domain::assert_every_move(S::ALL, &E::ALL, &legal, S::apply, |refused| refused.from);
    }

    #[test]
    fn ended_reservations_stay_ended() {
        for end in [S::Cancelled, S::Expired] {
            assert!(!end.is_held());
            assert!(E::ALL.iter().all(|event| end.apply(*event).is_err()));
        }
    }

    #[test]
    fn the_text_forms_round_trip() {
        for status in S::ALL {
            assert_eq!(status.as_str().parse::<S>(), Ok(*status));
        }
        assert!("handed over".parse::<S>().is_err());
        assert_eq!(E::Dispute.confirmation(), Some(Confirmation::Disputed));
        assert_eq!(E::Cancel.confirmation(), None);
    }

    #[test]
    fn a_hold_on_an_available_lot_runs_from_now() {
        let now = at("2026-12-01T10:00:00Z");
        let hold = Duration::hours(72);
        assert_eq!(
            hold_expires_at(hold, now - Duration::days(3), now),
            at("2026-12-04T10:00:00Z")
        );
        assert_eq!(hold_expires_at(hold, now, now), at("2026-12-04T10:00:00Z"));
    }

    #[test]
    fn a_hold_on_an_announced_lot_runs_from_when_it_can_be_collected() {
        let now = at("2026-12-01T10:00:00Z");
        let available_from = at("2026-12-20T08:00:00Z");
        let expires = hold_expires_at(Duration::hours(72), available_from, now);
        assert_eq!(expires, at("2026-12-23T08:00:00Z"));
        assert!(expires > now + Duration::hours(72));
    }

    #[test]
    fn only_an_unanswered_hand_over_within_its_window_may_be_acknowledged() {
        let now = at("2026-12-01T10:00:00Z");
        let by = Some(now + Duration::days(7));
        assert!(may_acknowledge(S::HandedOver, None, by, now));
        assert!(may_acknowledge(
            S::HandedOver,
            None,
            by,
            now + Duration::days(7)
        ));
        assert!(!may_acknowledge(
            S::HandedOver,
            None,
            by,
            now + Duration::days(8)
        ));
        assert!(!may_acknowledge(
            S::HandedOver,
            Some(Confirmation::Confirmed),
            by,
            now
        ));
        assert!(!may_acknowledge(S::HandedOver, None, None, now));
        assert!(!may_acknowledge(S::Held, None, by, now));
    }
}
