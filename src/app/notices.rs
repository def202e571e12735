//! The catalogue of notices: every kind of notification kringloop sends, with its payload,
//! whether a daily digest may gather it, and its mail templates in both languages.
//!
//! **Adding a kind** touches four places: a line in the `catalogue!` below (the variant, its
//! payload and its kind string, `daily` when a digest may gather it), the use case that calls
//! [`super::notifications::notify`] with it, and `templates/mail/<kind>.nl.txt` and
//! `<kind>.en.txt` (first line the subject, then the body, with a link to the page it is
//! about). A missing template does not build; a template that names a field its payload lacks
//! fails the unit test in [`crate::app::engine::mail`].
//!
//! The kind string is what the outbox's `event` column stores and what clients see in the
//! feed, so a kind is never renamed: stored rows and clients depend on it.

use crate::app::ledger::transfer::Party;
use crate::domain::account::OrganisationStatus;
use crate::domain::quantity::Quantity;
use chrono::NaiveDate;
use serde::Serialize;
use uuid::Uuid;

macro_rules! catalogue {
    ($(
        $(#[doc = $doc:literal])*
        $variant:ident($payload:ty) = $kind:literal $(, $daily:ident)?;
    )+) => {
        /// One notification about to be queued: its kind (the variant) and its payload.
        #[derive(Debug, Clone, Serialize)]
        #[serde(untagged)]
        pub enum Notice {
            $($(#[doc = $doc])* $variant($payload),)+
        }

        impl Notice {
            /// Every kind, as stored in the outbox's `event` column.
            pub const KINDS: &'static [&'static str] = &[$($kind),+];

            /// Every kind's mail templates: (kind, Dutch source, English source).
            pub(crate) const TEMPLATES: &'static [(&'static str, &'static str, &'static str)] =
                &[$((
                    $kind,
                    include_str!(concat!("../../templates/mail/", $kind, ".nl.txt")),
                    include_str!(concat!("../../templates/mail/", $kind, ".en.txt")),
                )),+];

            /// The kind, as stored in the outbox's `event` column.
            pub fn kind(&self) -> &'static str {
                match self {
                    $(Notice::$variant(_) => $kind,)+
                }
            }

            /// Whether a daily digest may gather a stored notification of `kind`, rather than
            /// a mail each; false for a kind not in the catalogue.
            pub fn digestible_kind(kind: &str) -> bool {
                match kind {
                    $($kind => catalogue!(@daily $($daily)?),)+
                    _ => false,
                }
            }

            /// One notice of every kind, each with its payload's default values: what the
            /// templates are rendered with in the tests.
            #[cfg(test)]
            pub(crate) fn samples() -> Vec<Notice> {
                vec![$(Notice::$variant(Default::default())),+]
            }
        }
    };
    (@daily daily) => { true };
    (@daily) => { false };
}

catalogue! {
    /// A listing matches a standing wish (to the demander).
    MatchNew(MatchNews) = "match_new", daily;
    /// An announced listing matches a standing wish (to the demander).
    MatchPredicted(MatchNews) = "match_predicted", daily;
    /// The announced listing of a match is available now (to the demander).
    MatchAvailable(MatchNews) = "match_available", daily;
    /// The announced listing of a match is expected on another day (to the demander).
    MatchDateChanged(MatchNews) = "match_date_changed", daily;
    /// A match no longer holds (to the demander).
    MatchRetracted(Retraction) = "match_retracted", daily;
    /// Several listings together cover a wish (to the demander).
    BundleProposed(BundleNews) = "bundle_proposed", daily;
    /// A listing matches someone's wish (to the donor).
    ListingMatched(WishedFor) = "listing_matched", daily;
    /// The demander accepted a match (to the donor).
    MatchAccepted(MatchAnswer) = "match_accepted";
    /// The demander declined a match (to the donor).
    MatchDeclined(MatchAnswer) = "match_declined";
    /// A listing's availability window passed (to the donor's owners).
    ListingExpired(ListingNews) = "listing_expired";
    /// A demander reserved part of a listing (to the donor).
    ReservationMade(ReservationNews) = "reservation_made";
    /// A held reservation was released because nobody handed it over in time (to both sides).
    ReservationExpired(ReservationNews) = "reservation_expired";
    /// A reservation was cancelled (to both sides).
    ReservationCancelled(ReservationNews) = "reservation_cancelled";
    /// The donor handed the reserved material over (to the demander).
    ReservationHandedOver(ReservationNews) = "reservation_handed_over";
    /// The demander confirmed the hand-over (to the donor).
    HandoverConfirmed(ReservationNews) = "handover_confirmed";
    /// The demander disputed the hand-over (to the donor).
    HandoverDisputed(ReservationNews) = "handover_disputed";
    /// A broker verified the organisation (to its owners).
    OrganisationVerified(OrganisationNews) = "organisation_verified";
    /// A broker took the organisation's verification back (to its owners).
    OrganisationUnverified(OrganisationNews) = "organisation_unverified";
    /// A broker suspended the organisation (to its owners).
    OrganisationSuspended(OrganisationNews) = "organisation_suspended";
    /// A broker suspended the organisation on the other side of an open reservation (to the
    /// members of this side).
    ReservationPartySuspended(PartySuspended) = "reservation_party_suspended";
    /// A broker took a listing off the market, with a reason (to the donor's members).
    ListingHidden(ListingModeration) = "listing_hidden";
    /// A broker put a hidden listing back on the market (to the donor's members).
    ListingRestored(ListingModeration) = "listing_restored";
    /// A broker took a wish out of matching, with a reason (to the demander's members).
    WishHidden(WishModeration) = "wish_hidden";
    /// A broker put a hidden wish back into matching (to the demander's members).
    WishRestored(WishModeration) = "wish_restored";
    /// Funds were held for a payment (to the payer).
    LedgerHoldPlaced(TransferNews) = "ledger_hold_placed";
    /// Held funds were paid (to both parties).
    LedgerHoldPosted(TransferNews) = "ledger_hold_posted";
    /// Held funds were released (to the payer).
    LedgerHoldVoided(TransferNews) = "ledger_hold_voided";
    /// A payment came in (to the payee).
    LedgerPaymentReceived(TransferNews) = "ledger_payment_received";
    /// The city issued local money (to the receiver).
    LedgerIssuanceReceived(TransferNews) = "ledger_issuance_received";
    /// A transfer was reversed (to both parties).
    LedgerTransferReversed(TransferNews) = "ledger_transfer_reversed";
    /// Demurrage was charged on a balance (to the account's organisation).
    LedgerDemurrageCharged(TransferNews) = "ledger_demurrage_charged";
    /// A hand-over's issuance waits for the broker's review (to the donor's members).
    IssuanceHeld(IssuanceNews) = "issuance_held";
    /// The broker refused a hand-over's issuance that was held (to the donor's members).
    IssuanceRejected(IssuanceNews) = "issuance_rejected";
    /// The day's digestible notifications in one mail (queued by the mail engine).
    Digest(DigestNews) = "digest";
    /// A link to choose a new password (to the account's address; mail only, see
    /// [`Notice::ACCOUNT_KINDS`]).
    PasswordReset(PasswordResetNews) = "password_reset";
    /// A link to confirm the account's e-mail address (to that address; mail only).
    EmailVerification(EmailVerificationNews) = "email_verification";
    /// An owner's invitation to join the organisation (to the invited address, which may have
    /// no account yet; mail only).
    Invitation(InvitationNews) = "invitation";
    /// An owner removed a member from the organisation (to the member removed).
    MemberRemoved(MembershipNews) = "member_removed";
    /// An owner passed ownership of the organisation on (to its members).
    OwnershipPassed(MembershipNews) = "ownership_passed";
}

impl Notice {
    /// Kinds about the account itself, carrying a secret link: sent by mail only (never to the
    /// in-app feed, which an access token alone can read), whatever the user's mail settings
    /// and quiet hours.
    pub const ACCOUNT_KINDS: &'static [&'static str] =
        &["password_reset", "email_verification", "invitation"];

    /// Whether `kind` is one of [`Notice::ACCOUNT_KINDS`].
    pub fn account_kind(kind: &str) -> bool {
        Self::ACCOUNT_KINDS.contains(&kind)
    }

    /// Whether a daily digest may gather this notice, rather than a mail each.
    pub fn digestible(&self) -> bool {
        Self::digestible_kind(self.kind())
    }

    /// What the notice is about for its recipient when many may come at once: the wish, for a
    /// demander's news of its matches; the lot, for a donor's news that it is wished for.
    /// Instant mail is capped per thread and recipient (see [`crate::app::engine::mail`]).
    pub fn thread(&self) -> Option<String> {
        let wish = |id: Uuid| Some(format!("wish:{id}"));
        match self {
            Notice::MatchNew(news)
            | Notice::MatchPredicted(news)
            | Notice::MatchAvailable(news)
            | Notice::MatchDateChanged(news) => wish(news.wish_id),
            Notice::MatchRetracted(retraction) => wish(retraction.news.wish_id),
            Notice::BundleProposed(bundle) => wish(bundle.wish_id),
            Notice::ListingMatched(wished) => Some(format!("listing:{}", wished.listing_id)),
            _ => None,
        }
    }

    /// What the owners of an organisation hear when a broker sets its status to `status`.
    pub fn organisation(status: OrganisationStatus, news: OrganisationNews) -> Notice {
        match status {
            OrganisationStatus::Verified => Notice::OrganisationVerified(news),
            OrganisationStatus::Unverified => Notice::OrganisationUnverified(news),
            OrganisationStatus::Suspended => Notice::OrganisationSuspended(news),
        }
    }

    /// The payload as stored in the outbox.
    pub fn payload(&self) -> serde_json::Result<serde_json::Value> {
        serde_json::to_value(self)
    }
}

/// A hand-over's claim to issuance, as its donor is told of it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct IssuanceNews {
    pub claim_id: Uuid,
    pub reservation_id: Uuid,
    /// The mass handed over, in kg (rounded to the nearest kg).
    pub mass_kg: i64,
    /// What the policy gives for it and what of that was paid, in minor units.
    pub amount: i64,
    pub paid: i64,
    /// Why it waits for the broker: `implausible_mass`, `over_cap` or `disputed`.
    pub because: String,
    /// The broker's reason, when refused.
    pub reason: Option<String>,
}

/// A match as its demander is told of it.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MatchNews {
    pub match_id: Uuid,
    pub wish_id: Uuid,
    pub listing_id: Uuid,
    pub title: String,
    /// 0–1000.
    pub score: i32,
    /// Why it matches: `{code, nl, en}` each, as the match stores them.
    pub reasons: serde_json::Value,
    pub predicted: bool,
    /// The day an announced listing is expected available.
    pub expected_on: Option<NaiveDate>,
    /// The wish asks for a daily digest.
    pub digest: bool,
}

/// A match that no longer holds, and why (`withdrawn`, `expired`, `taken`, `date_changed`, …).
#[derive(Debug, Clone, Default, Serialize)]
pub struct Retraction {
    #[serde(flatten)]
    pub news: MatchNews,
    pub because: String,
}

/// A bundle of listings that together cover a wish.
#[derive(Debug, Clone, Default, Serialize)]
pub struct BundleNews {
    pub bundle_id: Uuid,
    pub wish_id: Uuid,
    pub covered: i64,
    pub pickups: i32,
    pub donors: i32,
    pub total_distance_km: f64,
    /// The parts as the bundle stores them: `{listing_id, match_id, organisation_id, take,
    /// distance_km}` each.
    pub parts: serde_json::Value,
    /// The wish asks for a daily digest.
    pub digest: bool,
}

/// A match as the donor is told of it: which listing someone wishes for.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WishedFor {
    pub match_id: Uuid,
    pub listing_id: Uuid,
    pub wish_id: Uuid,
    pub title: String,
    pub predicted: bool,
    pub expected_on: Option<NaiveDate>,
}

/// The demander's answer to a match, alone or as part of a bundle.
#[derive(Debug, Clone, Default, Serialize)]
pub struct MatchAnswer {
    pub match_id: Uuid,
    pub listing_id: Uuid,
    /// `accepted` or `declined`.
    pub status: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub bundle_id: Option<Uuid>,
    /// How much of the listing the bundle takes.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub take: Option<Quantity>,
}

/// A listing, by its id and title.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ListingNews {
    pub listing_id: Uuid,
    pub title: String,
}

/// A reservation and where it stands.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReservationNews {
    pub reservation_id: Uuid,
    pub listing_id: Uuid,
    pub quantity: i64,
    pub unit: String,
    pub status: String,
}

/// An open reservation whose other side a broker suspended: the suspended organisation can
/// neither hand over, confirm nor cancel until it is reinstated.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PartySuspended {
    pub reservation_id: Uuid,
    pub listing_id: Uuid,
    pub quantity: i64,
    pub unit: String,
    /// The reservation's status: `held` or `handed_over`.
    pub status: String,
    /// The suspended organisation, and whether it gives (`donor`) or takes (`demander`).
    pub organisation_id: Uuid,
    pub organisation_name: String,
    pub side: String,
}

/// A listing a broker hid or restored, and why.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ListingModeration {
    pub listing_id: Uuid,
    pub title: String,
    /// The broker's reason: always given to hide, optional to restore.
    pub reason: Option<String>,
}

/// A wish a broker hid or restored, and why.
#[derive(Debug, Clone, Default, Serialize)]
pub struct WishModeration {
    pub wish_id: Uuid,
    /// The wished category's name in each language.
    pub category_nl: String,
    pub category_en: String,
    pub quantity: i64,
    pub unit: String,
    /// The broker's reason: always given to hide, optional to restore.
    pub reason: Option<String>,
}

/// An organisation and its new status.
#[derive(Debug, Clone, Serialize)]
pub struct OrganisationNews {
    pub organisation_id: Uuid,
    pub name: String,
    pub status: OrganisationStatus,
    /// Why the broker did it, when the broker said.
    pub reason: Option<String>,
}

impl Default for OrganisationNews {
    fn default() -> Self {
        OrganisationNews {
            organisation_id: Uuid::nil(),
            name: String::new(),
            status: OrganisationStatus::Verified,
            reason: None,
        }
    }
}

/// A transfer of local money (or euros) as its parties see it.
#[derive(Debug, Clone, Serialize)]
pub struct TransferNews {
    pub transfer_id: Uuid,
    /// The transfer's kind (`payment`, `issuance`, `demurrage`, …).
    pub kind: String,
    /// In minor units.
    pub amount: i64,
    pub from: Party,
    pub to: Party,
    pub memo: Option<String>,
    pub reference: Option<String>,
}

impl Default for TransferNews {
    fn default() -> Self {
        TransferNews {
            transfer_id: Uuid::nil(),
            kind: String::new(),
            amount: 0,
            from: Party::of(Uuid::nil()),
            to: Party::of(Uuid::nil()),
            memo: None,
            reference: None,
        }
    }
}

/// A user's digest: the notifications held for it on `day`.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DigestNews {
    pub day: NaiveDate,
    pub items: Vec<DigestItem>,
}

/// One held notification, as stored: its kind and payload.
#[derive(Debug, Clone, Default, Serialize)]
pub struct DigestItem {
    pub event: String,
    pub payload: serde_json::Value,
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashSet;

    #[test]
    fn every_kind_is_listed_once_and_has_a_sample() {
        let kinds: HashSet<&str> = Notice::KINDS.iter().copied().collect();
        assert_eq!(kinds.len(), Notice::KINDS.len(), "a kind is listed twice");
        let sampled: Vec<&str> = Notice::samples().iter().map(Notice::kind).collect();
        assert_eq!(sampled, Notice::KINDS);
    }

    #[test]
    fn only_news_of_matches_and_bundles_goes_into_a_digest() {
        let digestible: Vec<&str> = Notice::samples()
            .iter()
            .filter(|n| n.digestible())
            .map(Notice::kind)
            .collect();
        assert_eq!(
            digestible,
            [
                "match_new",
                "match_predicted",
                "match_available",
                "match_date_changed",
                "match_retracted",
                "bundle_proposed",
                "listing_matched"
            ]
        );
        assert!(!Notice::digestible_kind("no_such_kind"));
    }

    #[test]
    fn news_of_matches_is_threaded_by_wish_for_demanders_and_by_lot_for_donors() {
        let wish_id = Uuid::from_u128(1);
        let listing_id = Uuid::from_u128(2);
        let news = MatchNews {
            wish_id,
            listing_id,
            ..MatchNews::default()
        };
        let threaded: Vec<Option<String>> = Notice::samples()
            .into_iter()
            .filter(|n| n.digestible())
            .map(|n| n.thread())
            .collect();
        assert!(threaded.iter().all(Option::is_some), "{threaded:?}");
        assert_eq!(
            Notice::MatchNew(news).thread().as_deref(),
            Some("wish:00000000-0000-0000-0000-000000000001")
        );
        let wished = WishedFor {
            wish_id,
            listing_id,
            ..WishedFor::default()
        };
        assert_eq!(
            Notice::ListingMatched(wished).thread().as_deref(),
            Some("listing:00000000-0000-0000-0000-000000000002")
        );
        assert_eq!(Notice::MatchDeclined(MatchAnswer::default()).thread(), None);
    }

    #[test]
    fn payloads_keep_the_stored_shape() {
        let retraction = Notice::MatchRetracted(Retraction {
            news: MatchNews {
                title: "Deuren".into(),
                ..MatchNews::default()
            },
            because: "withdrawn".into(),
        });
        let payload = retraction.payload().unwrap();
        assert_eq!(payload["title"], "Deuren");
        assert_eq!(payload["because"], "withdrawn");
        assert!(payload.get("news").is_none());
        let answer = Notice::MatchDeclined(MatchAnswer::default())
            .payload()
            .unwrap();
        assert!(answer.get("bundle_id").is_none() && answer.get("take").is_none());
        assert_eq!(
            Notice::organisation(OrganisationStatus::Suspended, OrganisationNews::default()).kind(),
            "organisation_suspended"
        );
    }
}

/// A password reset as its account's owner is told of it: the secret of the link (only its
/// hash is stored) and how long it holds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct PasswordResetNews {
    pub token: String,
    pub valid_minutes: i64,
}

/// A link to confirm an address: the secret of the link (only its hash is stored) and how
/// long it holds.
#[derive(Debug, Clone, Default, Serialize)]
pub struct EmailVerificationNews {
    pub token: String,
    pub valid_hours: i64,
}

/// An invitation as the invited address is told of it: the secret of the link (only its hash
/// is stored), who invites, to what and for how long.
#[derive(Debug, Clone, Default, Serialize)]
pub struct InvitationNews {
    pub token: String,
    pub email: String,
    pub organisation_name: String,
    pub inviter_name: String,
    /// `owner` or `member`.
    pub role: String,
    pub valid_days: i64,
}

/// A change of membership: who (`member_name`) and by whom (`by_name`).
#[derive(Debug, Clone, Default, Serialize)]
pub struct MembershipNews {
    pub organisation_id: Uuid,
    pub organisation_name: String,
    pub member_id: Uuid,
    pub member_name: String,
    pub by_name: String,
}
