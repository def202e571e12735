//! The lifecycle of one outbox row (one notification, one recipient, one channel): pending
//! until delivered, skipped, held for the daily digest or given up on; a broker may send a
//! failed one again.

use serde::{Deserialize, Serialize};

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutboxStatus {
    /// Waiting for its next attempt (`next_attempt_at`).
    Pending,
    Delivered,
    /// Every attempt failed; a broker may retry it.
    Failed,
    /// The recipient does not want mail.
    Skipped,
    /// Held for the recipient's daily digest.
    Digest,
    /// Sent as part of a digest.
    Digested,
}

text_enum!(OutboxStatus {
    Pending => "pending",
    Delivered => "delivered",
    Failed => "failed",
    Skipped => "skipped",
    Digest => "digest",
    Digested => "digested",
});

/// What can happen to an outbox row.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OutboxEvent {
    Deliver,
    /// The recipient turned mail off.
    Skip,
    /// The recipient wants it in the daily digest.
    HoldForDigest,
    /// Its digest went out.
    Digest,
    /// Not now (quiet hours, or an attempt failed with attempts left): it stays pending.
    PutOff,
    /// The last attempt failed.
    GiveUp,
    /// A broker sends a failed one again.
    Retry,
}

impl OutboxEvent {
    pub const ALL: [OutboxEvent; 7] = [
        OutboxEvent::Deliver,
        OutboxEvent::Skip,
        OutboxEvent::HoldForDigest,
        OutboxEvent::Digest,
        OutboxEvent::PutOff,
        OutboxEvent::GiveUp,
        OutboxEvent::Retry,
    ];
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("an outbox row that is {from} cannot take {event:?}")]
pub struct IllegalTransition {
    pub from: OutboxStatus,
    pub event: OutboxEvent,
}

impl OutboxStatus {
    /// The status a new row starts in: the in-app feed has it at once, mail waits its turn.
    pub fn initial(in_app: bool) -> OutboxStatus {
        if in_app {
            OutboxStatus::Delivered
        } else {
            OutboxStatus::Pending
        }
    }

    pub fn apply(self, event: OutboxEvent) -> Result<OutboxStatus, IllegalTransition> {
        use OutboxEvent as E;
        use OutboxStatus as S;
        let next = match (self, event) {
            (S::Pending, E::Deliver) => S::Delivered,
            (S::Pending, E::Skip) => S::Skipped,
            (S::Pending, E::HoldForDigest) => S::Digest,
            (S::Pending, E::PutOff) => S::Pending,
            (S::Pending, E::GiveUp) => S::Failed,
            (S::Digest, E::Digest) => S::Digested,
            (S::Failed, E::Retry) => S::Pending,
            (from, event) => return Err(IllegalTransition { from, event }),
        };
        Ok(next)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use OutboxEvent as E;
    use OutboxStatus as S;

    #[test]
    fn every_transition_is_decided() {
        let legal = [
            (S::Pending, E::Deliver, S::Delivered),
            (S::Pending, E::Skip, S::Skipped),
            (S::Pending, E::HoldForDigest, S::Digest),
            (S::Pending, E::PutOff, S::Pending),
            (S::Pending, E::GiveUp, S::Failed),
            (S::Digest, E::Digest, S::Digested),
            (S::Failed, E::Retry, S::Pending),
        ];
        crate::domain::assert_every_move(S::ALL, &E::ALL, &legal, S::apply, |refused| refused.from);
    }

    #[test]
    fn delivered_mail_is_never_sent_again() {
        for done in [S::Delivered, S::Skipped, S::Digested] {
            assert!(E::ALL.iter().all(|event| done.apply(*event).is_err()));
        }
    }

    #[test]
    fn in_app_rows_start_delivered() {
        assert_eq!(S::initial(true), S::Delivered);
        assert_eq!(S::initial(false), S::Pending);
    }
}
