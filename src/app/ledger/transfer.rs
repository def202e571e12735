//! A transfer as its parties see it, and the answer that shows one.

use crate::app::error::{stored, AppResult};
use crate::app::idempotency::Answer;
use crate::db::ledger::{TransferRow, DEMURRAGE_ACCOUNT, ISSUANCE_ACCOUNT};
use crate::domain::ledger::{TransferKind, TransferStatus};
use chrono::{DateTime, Utc};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// One side of a transfer: an organisation's account or a system account.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Party {
    pub account_id: Uuid,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub organisation_id: Option<Uuid>,
    /// `issuance` (where money comes from) or `demurrage` (where it goes).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub system: Option<&'static str>,
}

impl Party {
    pub fn of(account_id: Uuid) -> Party {
        let system = match account_id {
            ISSUANCE_ACCOUNT => Some("issuance"),
            DEMURRAGE_ACCOUNT => Some("demurrage"),
            _ => None,
        };
        Party {
            account_id,
            organisation_id: system.is_none().then_some(account_id),
            system,
        }
    }
}

/// An immutable movement of money; only a pending one changes, once, to posted or voided.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Transfer {
    pub id: Uuid,
    pub kind: TransferKind,
    pub status: TransferStatus,
    pub from: Party,
    pub to: Party,
    /// Minor units of `currency`.
    pub amount: i64,
    pub currency: String,
    pub memo: Option<String>,
    pub reference: Option<String>,
    /// The transfer this one reverses.
    pub reverses_id: Option<Uuid>,
    pub created_at: DateTime<Utc>,
    pub posted_at: Option<DateTime<Utc>>,
    pub voided_at: Option<DateTime<Utc>>,
}

impl Transfer {
    pub fn view(row: TransferRow, currency: &str) -> AppResult<Transfer> {
        Ok(Transfer {
            id: row.id,
            kind: stored(&row.kind)?,
            status: stored(&row.status)?,
            from: Party::of(row.debit_account_id),
            to: Party::of(row.credit_account_id),
            amount: row.amount,
            currency: currency.to_owned(),
            memo: row.memo,
            reference: row.reference,
            reverses_id: row.reverses_id,
            created_at: row.created_at,
            posted_at: row.posted_at,
            voided_at: row.voided_at,
        })
    }
}

/// The answer that shows a transfer, its amount in the currency `code`.
pub(crate) fn transfer_answer(status: u16, row: TransferRow, code: &str) -> AppResult<Answer> {
    Answer::json(status, &Transfer::view(row, code)?)
}
