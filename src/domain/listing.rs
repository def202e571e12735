//! The listing lifecycle as a state machine: announced → available → reserved → closed, or
//! withdrawn / expired.

use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ListingStatus {
    /// The site is scheduled; the material is not free yet.
    Announced,
    Available,
    /// Fully held by reservations.
    Reserved,
    /// Everything has been handed over.
    Closed,
    Withdrawn,
    Expired,
}

text_enum!(ListingStatus {
    Announced => "announced",
    Available => "available",
    Reserved => "reserved",
    Closed => "closed",
    Withdrawn => "withdrawn",
    Expired => "expired",
});

/// What can happen to a listing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ListingEvent {
    /// `available_from` has come.
    Open,
    /// The last unit was reserved.
    ReserveFully,
    /// A reservation released units; `opened` tells whether `available_from` has come.
    Release {
        opened: bool,
    },
    /// Everything reserved was handed over.
    Close,
    Withdraw,
    /// `available_until` has passed.
    Expire,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a listing that is {from} cannot be {action}")]
pub struct IllegalTransition {
    pub from: ListingStatus,
    pub action: &'static str,
}

impl ListingEvent {
    fn action(self) -> &'static str {
        match self {
            ListingEvent::Open => "opened",
            ListingEvent::ReserveFully => "fully reserved",
            ListingEvent::Release { .. } => "released",
            ListingEvent::Close => "closed",
            ListingEvent::Withdraw => "withdrawn",
            ListingEvent::Expire => "expired",
        }
    }
}

impl ListingStatus {
    /// The status a new listing starts in.
    pub fn initial(available_from: DateTime<Utc>, now: DateTime<Utc>) -> ListingStatus {
        if available_from > now {
            ListingStatus::Announced
        } else {
            ListingStatus::Available
        }
    }

    /// Whether the lot is still on offer (shown in stock and open data).
    pub fn is_open(self) -> bool {
        matches!(self, ListingStatus::Announced | ListingStatus::Available)
    }

    /// Whether the owner may still change the offer.
    pub fn is_editable(self) -> bool {
        self.is_open()
    }

    pub fn apply(self, event: ListingEvent) -> Result<ListingStatus, IllegalTransition> {
        use ListingEvent as E;
        use ListingStatus as S;
        let next = match (self, event) {
            (S::Announced, E::Open) => S::Available,
            (S::Announced | S::Available, E::ReserveFully) => S::Reserved,
            (S::Reserved, E::Release { opened: true }) => S::Available,
            (S::Reserved, E::Release { opened: false }) => S::Announced,
            (S::Reserved, E::Close) => S::Closed,
            (S::Announced | S::Available, E::Withdraw) => S::Withdrawn,
            (S::Announced | S::Available, E::Expire) => S::Expired,
            (from, event) => {
                return Err(IllegalTransition {
                    from,
                    action: event.action(),
                })
            }
        };
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use ListingEvent as E;
    use ListingStatus as S;

    const EVENTS: [ListingEvent; 7] = [
        E::Open,
        E::ReserveFully,
        E::Release { opened: true },
        E::Release { opened: false },
        E::Close,
        E::Withdraw,
        E::Expire,
    ];

    #[test]
    fn starts_announced_only_for_the_future() {
        let now = Utc::now();
        assert_eq!(
            S::initial(now + chrono::Duration::days(30), now),
            S::Announced
        );
        assert_eq!(S::initial(now, now), S::Available);
        assert_eq!(
            S::initial(now - chrono::Duration::days(1), now),
            S::Available
        );
    }

    #[test]
    fn every_transition_is_decided() {
        let legal = [
            (S::Announced, E::Open, S::Available),
            (S::Announced, E::ReserveFully, S::Reserved),
            (S::Available, E::ReserveFully, S::Reserved),
            (S::Reserved, E::Release { opened: true }, S::Available),
            (S::Reserved, E::Release { opened: false }, S::Announced),
            (S::Reserved, E::Close, S::Closed),
            (S::Announced, E::Withdraw, S::Withdrawn),
            (S::Available, E::Withdraw, S::Withdrawn),
            (S::Announced, E::Expire, S::Expired),
            (S::Available, E::Expire, S::Expired),
        ];
        crate::domain::assert_every_move(S::ALL, &EVENTS, &legal, S::apply, |refused| refused.from);
    }

    #[test]
    fn finished_listings_stay_finished() {
        for end in [S::Closed, S::Withdrawn, S::Expired] {
            assert!(!end.is_open());
            assert!(EVENTS.iter().all(|event| end.apply(*event).is_err()));
        }
    }
}
