//! The local currency's rules: amounts in integer minor units, the currency's configuration,
//! issuance per kg diverted, the two-phase transfer state machine and demurrage.

use super::validation::{bounded_text, FieldErrors, Invalid};
use chrono::{DateTime, Datelike, TimeZone, Utc};
use serde::{Deserialize, Serialize};
use std::collections::BTreeMap;
use utoipa::ToSchema;

/// The largest amount one transfer may move, in minor units: far beyond any real deal, and
/// small enough that sums over millions of transfers stay within `i64`.
pub const MAX_AMOUNT: i64 = 1_000_000_000_000;
/// The largest issuance rate, in minor units per kg.
pub const MAX_RATE_PER_KG: i64 = 1_000_000_000;
/// The largest credit limit a broker may grant, in minor units.
pub const MAX_CREDIT_LIMIT: i64 = MAX_AMOUNT;

/// A positive amount of the local currency in minor units.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
pub struct Amount(i64);

impl Amount {
    /// An amount that a transfer can move: 1..=`MAX_AMOUNT` minor units.
    pub fn parse(minor_units: i64) -> Result<Amount, Invalid> {
        if minor_units <= 0 {
            return Err(Invalid::new(
                "not_positive",
                "must be at least 1 minor unit",
            ));
        }
        if minor_units > MAX_AMOUNT {
            return Err(Invalid::new(
                "out_of_range",
                format!("must be at most {MAX_AMOUNT} minor units"),
            ));
        }
        Ok(Amount(minor_units))
    }

    pub fn minor_units(self) -> i64 {
        self.0
    }
}

/// The code of the local currency: 3 to 10 capital letters.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct CurrencyCode(String);

impl CurrencyCode {
    pub fn parse(raw: &str) -> Result<CurrencyCode, Invalid> {
        let ok = (3..=10).contains(&raw.len()) && raw.bytes().all(|b| b.is_ascii_uppercase());
        if ok {
            Ok(CurrencyCode(raw.to_owned()))
        } else {
            Err(Invalid::new(
                "invalid_code",
                "must be 3 to 10 capital letters A-Z",
            ))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// Minor units credited per kg diverted: a default and rates per category code. A category's
/// rate covers its subcategories unless they have their own.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct IssuancePolicy {
    /// Minor units per kg for categories without a rate of their own (0: none).
    pub default_per_kg: i64,
    /// Minor units per kg, by category code.
    #[serde(default)]
    pub per_category: BTreeMap<String, i64>,
}

impl IssuancePolicy {
    /// The rate for a category given its code and its ancestors' codes, nearest first.
    pub fn rate_per_kg<'a>(&self, lineage: impl IntoIterator<Item = &'a str>) -> i64 {
        lineage
            .into_iter()
            .find_map(|code| self.per_category.get(code).copied())
            .unwrap_or(self.default_per_kg)
    }

    /// What a hand-over of `mass_grams` of a category earns its donor, in minor units:
    /// rate × grams / 1000, rounded down (the policy never pays out more than it says;
    /// fractions of a minor unit are not paid). Zero for no mass or no rate.
    pub fn issuance_for<'a>(
        &self,
        lineage: impl IntoIterator<Item = &'a str>,
        mass_grams: i64,
    ) -> i64 {
        if mass_grams <= 0 {
            return 0;
        }
        let rate = i128::from(self.rate_per_kg(lineage));
        let amount = rate * i128::from(mass_grams) / 1000;
        i64::try_from(amount.min(i128::from(MAX_AMOUNT))).unwrap_or(MAX_AMOUNT)
    }

    fn check(&self, errors: &mut FieldErrors) {
        if !(0..=MAX_RATE_PER_KG).contains(&self.default_per_kg) {
            errors.push(
                "/issuance_policy/default_per_kg",
                "out_of_range",
                format!("must lie between 0 and {MAX_RATE_PER_KG}"),
            );
        }
        for (code, rate) in &self.per_category {
            if !(0..=MAX_RATE_PER_KG).contains(rate) {
                errors.push(
                    format!("/issuance_policy/per_category/{code}"),
                    "out_of_range",
                    format!("must lie between 0 and {MAX_RATE_PER_KG}"),
                );
            }
        }
    }
}

/// The currency as the broker configures it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CurrencyConfig {
    pub code: CurrencyCode,
    pub name: String,
    /// Minor units per unit are 10^decimals.
    pub decimals: u8,
    /// Micro-euros per whole unit, for showing euro equivalents; never used to settle.
    pub eur_rate_micros: Option<i64>,
    /// Basis points of the idle balance charged per month.
    pub demurrage_bp_per_month: Option<i32>,
    pub issuance: IssuancePolicy,
}

/// The configuration as a client sends it, before checking.
#[derive(Debug, Clone)]
pub struct CurrencyInput {
    pub code: String,
    pub name: String,
    pub decimals: i64,
    pub eur_rate_micros: Option<i64>,
    pub demurrage_bp_per_month: Option<i64>,
    pub issuance: IssuancePolicy,
}

impl CurrencyConfig {
    /// Checks every field and reports all that are wrong.
    pub fn parse(input: CurrencyInput) -> Result<CurrencyConfig, FieldErrors> {
        let mut errors = FieldErrors::new();
        let code = errors.take("/code", CurrencyCode::parse(&input.code));
        let name = errors.take("/name", bounded_text(&input.name, 1, 100));
        if !(0..=6).contains(&input.decimals) {
            errors.push("/decimals", "out_of_range", "must lie between 0 and 6");
        }
        if let Some(rate) = input.eur_rate_micros {
            if !(1..=1_000_000_000_000).contains(&rate) {
                errors.push(
                    "/eur_rate_micros",
                    "out_of_range",
                    "must lie between 1 and 10^12 micro-euros per unit",
                );
            }
        }
        if let Some(bp) = input.demurrage_bp_per_month {
            if !(1..=10_000).contains(&bp) {
                errors.push(
                    "/demurrage_bp_per_month",
                    "out_of_range",
                    "must lie between 1 and 10000 basis points (leave it out for none)",
                );
            }
        }
        input.issuance.check(&mut errors);
        errors.finish()?;
        match (code, name) {
            (Some(code), Some(name)) => Ok(CurrencyConfig {
                code,
                name,
                decimals: input.decimals as u8,
                eur_rate_micros: input.eur_rate_micros,
                demurrage_bp_per_month: input.demurrage_bp_per_month.map(|bp| bp as i32),
                issuance: input.issuance,
            }),
            _ => Err(FieldErrors::single(
                "/code",
                Invalid::new("invalid", "must be valid"),
            )),
        }
    }

    /// Code and decimals give every stored amount its meaning: once money has moved they are
    /// fixed.
    pub fn changes_meaning_of_amounts(&self, code: &str, decimals: i16) -> bool {
        self.code.as_str() != code || i16::from(self.decimals) != decimals
    }
}

/// Why money moves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferKind {
    /// From one organisation to another.
    Payment,
    /// Minted by the broker's policy or by hand.
    Issuance,
    /// Charged on idle balances into the sink.
    Demurrage,
    /// Undoes a posted transfer.
    Reversal,
    /// Pays for a deal (a reservation's hold, posted at hand-over).
    Settlement,
}

text_enum!(TransferKind {
    Payment => "payment",
    Issuance => "issuance",
    Demurrage => "demurrage",
    Reversal => "reversal",
    Settlement => "settlement",
});

/// Where a transfer stands. Single-phase transfers are posted at once; two-phase ones start
/// pending (the debit side's funds are held) and are posted or voided exactly once.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    Pending,
    Posted,
    Voided,
}

text_enum!(TransferStatus {
    Pending => "pending",
    Posted => "posted",
    Voided => "voided",
});

impl TransferStatus {
    /// The one allowed change: pending to posted or voided.
    pub fn settle(self, to: TransferStatus) -> Result<TransferStatus, Invalid> {
        match (self, to) {
            (TransferStatus::Pending, TransferStatus::Posted | TransferStatus::Voided) => Ok(to),
            (TransferStatus::Pending, TransferStatus::Pending) => Err(Invalid::new(
                "not_a_change",
                "a pending transfer can only be posted or voided",
            )),
            (from, _) => Err(Invalid::new(
                "already_settled",
                format!("the transfer is already {from}"),
            )),
        }
    }

    /// Only posted transfers moved money, so only they can be reversed.
    pub fn can_reverse(self, kind: TransferKind) -> Result<(), Invalid> {
        if kind == TransferKind::Reversal {
            return Err(Invalid::new(
                "is_reversal",
                "a reversal is not reversed; make a new transfer instead",
            ));
        }
        if self != TransferStatus::Posted {
            return Err(Invalid::new(
                "not_posted",
                format!("only posted transfers can be reversed; this one is {self}"),
            ));
        }
        Ok(())
    }
}

/// Checks a payment between two organisations' accounts.
pub fn check_payment(from: uuid::Uuid, to: uuid::Uuid, amount: i64) -> Result<Amount, FieldErrors> {
    let mut errors = FieldErrors::new();
    let amount = errors.take("/amount", Amount::parse(amount));
    if from == to {
        errors.push(
            "/to_organisation_id",
            "self_transfer",
            "must be another organisation than your own",
        );
    }
    errors.finish()?;
    amount.ok_or_else(|| FieldErrors::single("/amount", Invalid::new("invalid", "invalid")))
}

/// An optional free text such as a memo or a reason: trimmed, 1 to `max` characters.
pub fn note(raw: Option<&str>, max: usize) -> Result<Option<String>, Invalid> {
    raw.map(|text| bounded_text(text, 1, max)).transpose()
}

/// A calendar month (UTC), the period demurrage is charged for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct Month {
    pub year: i32,
    pub month: u32,
}

impl Month {
    pub fn of(at: DateTime<Utc>) -> Month {
        Month {
            year: at.year(),
            month: at.month(),
        }
    }

    pub fn previous(self) -> Month {
        if self.month == 1 {
            Month {
                year: self.year - 1,
                month: 12,
            }
        } else {
            Month {
                year: self.year,
                month: self.month - 1,
            }
        }
    }

    pub fn next(self) -> Month {
        if self.month == 12 {
            Month {
                year: self.year + 1,
                month: 1,
            }
        } else {
            Month {
                year: self.year,
                month: self.month + 1,
            }
        }
    }

    /// The first instant of the month.
    pub fn start(self) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(self.year, self.month, 1, 0, 0, 0)
            .single()
            .unwrap_or(DateTime::<Utc>::MIN_UTC)
    }

    /// `YYYY-MM`, the key that makes a charge happen once per account and month.
    pub fn key(self) -> String {
        format!("{:04}-{:02}", self.year, self.month)
    }
}

/// The idle part of a balance over a period: what stayed unspent throughout it, i.e. the
/// lowest balance the account had in the period (its balance at the start and after each
/// movement), and no more than what is available now (balance less holds). Never negative.
pub fn idle_balance(
    balance_at_start: i64,
    balances_during: impl IntoIterator<Item = i64>,
    available_now: i64,
) -> i64 {
    balances_during
        .into_iter()
        .fold(balance_at_start, i64::min)
        .min(available_now)
        .max(0)
}

/// Demurrage on an idle balance: basis points of it, rounded down, so that a charge never
/// exceeds the rate and never takes more than the idle balance.
pub fn demurrage_charge(idle: i64, bp_per_month: i32) -> i64 {
    if idle <= 0 || bp_per_month <= 0 {
        return 0;
    }
    let charge = i128::from(idle) * i128::from(bp_per_month.min(10_000)) / 10_000;
    i64::try_from(charge).unwrap_or(idle).min(idle)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn input() -> CurrencyInput {
        CurrencyInput {
            code: "KRL".into(),
            name: "Kringloop".into(),
            decimals: 2,
            eur_rate_micros: Some(1_000_000),
            demurrage_bp_per_month: Some(50),
            issuance: IssuancePolicy::default(),
        }
    }

    #[test]
    fn amounts_are_positive_and_bounded() {
        assert_eq!(Amount::parse(1).unwrap().minor_units(), 1);
        assert_eq!(Amount::parse(0).unwrap_err().code, "not_positive");
        assert_eq!(Amount::parse(-5).unwrap_err().code, "not_positive");
        assert_eq!(
            Amount::parse(MAX_AMOUNT + 1).unwrap_err().code,
            "out_of_range"
        );
    }

    #[test]
    fn currency_codes() {
        assert!(CurrencyCode::parse("KRL").is_ok());
        assert!(CurrencyCode::parse("HAAGSEPEN").is_ok());
        for bad in ["KR", "krl", "KRL1", "ABCDEFGHIJK", "K L", ""] {
            assert!(CurrencyCode::parse(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn configuration_reports_every_bad_field() {
        let config = CurrencyConfig::parse(input()).unwrap();
        assert_eq!(config.decimals, 2);
        let errors = CurrencyConfig::parse(CurrencyInput {
            code: "x".into(),
            name: " ".into(),
            decimals: 7,
            eur_rate_micros: Some(0),
            demurrage_bp_per_month: Some(10_001),
            issuance: IssuancePolicy {
                default_per_kg: -1,
                per_category: [("doors".to_owned(), -3)].into(),
            },
        })
        .unwrap_err()
        .into_vec();
        let pointers: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/code",
                "/name",
                "/decimals",
                "/eur_rate_micros",
                "/demurrage_bp_per_month",
                "/issuance_policy/default_per_kg",
                "/issuance_policy/per_category/doors"
            ]
        );
    }

    #[test]
    fn code_and_decimals_fix_the_meaning_of_amounts() {
        let config = CurrencyConfig::parse(input()).unwrap();
        assert!(!config.changes_meaning_of_amounts("KRL", 2));
        assert!(config.changes_meaning_of_amounts("KRL", 3));
        assert!(config.changes_meaning_of_amounts("HGP", 2));
    }

    #[test]
    fn the_nearest_category_rate_wins() {
        let policy = IssuancePolicy {
            default_per_kg: 1,
            per_category: [("wood".to_owned(), 10), ("beams".to_owned(), 25)].into(),
        };
        assert_eq!(policy.rate_per_kg(["beams", "wood"]), 25);
        assert_eq!(policy.rate_per_kg(["planks", "wood"]), 10);
        assert_eq!(policy.rate_per_kg(["glass"]), 1);
        // 2.5 kg of beams at 25 per kg: 62.5, rounded down.
        assert_eq!(policy.issuance_for(["beams", "wood"], 2_500), 62);
        assert_eq!(policy.issuance_for(["glass"], 999), 0);
        assert_eq!(policy.issuance_for(["glass"], 0), 0);
        assert_eq!(policy.issuance_for(["glass"], -5), 0);
        assert_eq!(IssuancePolicy::default().issuance_for(["glass"], 10_000), 0);
    }

    #[test]
    fn pending_settles_exactly_once() {
        use TransferStatus::*;
        assert_eq!(Pending.settle(Posted), Ok(Posted));
        assert_eq!(Pending.settle(Voided), Ok(Voided));
        assert!(Pending.settle(Pending).is_err());
        for from in [Posted, Voided] {
            for to in TransferStatus::ALL {
                assert_eq!(from.settle(*to).unwrap_err().code, "already_settled");
            }
        }
    }

    #[test]
    fn only_posted_non_reversals_reverse() {
        assert!(TransferStatus::Posted
            .can_reverse(TransferKind::Payment)
            .is_ok());
        assert!(TransferStatus::Posted
            .can_reverse(TransferKind::Issuance)
            .is_ok());
        assert!(TransferStatus::Pending
            .can_reverse(TransferKind::Payment)
            .is_err());
        assert!(TransferStatus::Voided
            .can_reverse(TransferKind::Settlement)
            .is_err());
        assert!(TransferStatus::Posted
            .can_reverse(TransferKind::Reversal)
            .is_err());
    }

    #[test]
    fn payments_go_to_someone_else() {
        let a = uuid::Uuid::now_v7();
        let b = uuid::Uuid::now_v7();
        assert_eq!(check_payment(a, b, 5).unwrap().minor_units(), 5);
        let errors = check_payment(a, a, 0).unwrap_err().into_vec();
        assert_eq!(errors.len(), 2);
    }

    #[test]
    fn months() {
        let at = Utc.with_ymd_and_hms(2026, 1, 15, 12, 0, 0).unwrap();
        assert_eq!(Month::of(at).previous().key(), "2025-12");
        assert_eq!(Month::of(at).next().key(), "2026-02");
        assert_eq!(
            Month::of(at).start(),
            Utc.with_ymd_and_hms(2026, 1, 1, 0, 0, 0).unwrap()
        );
        assert_eq!(
            Month {
                year: 2026,
                month: 12
            }
            .next()
            .key(),
            "2027-01"
        );
    }

    #[test]
    fn idle_is_the_lowest_balance_and_what_is_available() {
        assert_eq!(idle_balance(100, [80, 120], 120), 80);
        assert_eq!(idle_balance(100, [], 60), 60);
        assert_eq!(idle_balance(-5, [10], 10), 0);
        assert_eq!(demurrage_charge(10_000, 50), 50);
        assert_eq!(demurrage_charge(199, 50), 0);
        assert_eq!(demurrage_charge(0, 50), 0);
        assert_eq!(demurrage_charge(500, 10_000), 500);
    }

    proptest! {
        #[test]
        fn issuance_is_linear_and_rounded_down(rate in 0..MAX_RATE_PER_KG, grams in 0..100_000_000i64) {
            let policy = IssuancePolicy { default_per_kg: rate, per_category: BTreeMap::new() };
            let paid = policy.issuance_for(["x"], grams);
            let exact = i128::from(rate) * i128::from(grams);
            prop_assert!(i128::from(paid) * 1000 <= exact);
            prop_assert!(paid == MAX_AMOUNT || exact < (i128::from(paid) + 1) * 1000);
            prop_assert!(paid >= 0);
        }

        #[test]
        fn demurrage_never_takes_more_than_idle(
            start in -1_000_000i64..1_000_000,
            during in proptest::collection::vec(-1_000_000i64..1_000_000, 0..20),
            available in -1_000_000i64..1_000_000,
            bp in 1..=10_000i32,
        ) {
            let idle = idle_balance(start, during.iter().copied(), available);
            prop_assert!(idle >= 0);
            prop_assert!(idle <= available.max(0));
            prop_assert!(during.iter().all(|b| idle <= (*b).max(0)));
            let charge = demurrage_charge(idle, bp);
            prop_assert!((0..=idle).contains(&charge));
            prop_assert!(i128::from(charge) * 10_000 <= i128::from(idle) * i128::from(bp));
        }
    }
}
