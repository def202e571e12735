//! A district's balance of listed stock: every lot is a history of events, and the stock at any
//! instant is what those events leave open, so stock_end = stock_start + listed − handed over −
//! withdrawn/expired holds by construction.

use chrono::{DateTime, Utc};

/// One lot's history, as far as the balance needs it.
#[derive(Debug, Clone)]
pub struct LotHistory {
    /// When the lot entered the stock (listed and available).
    pub listed_at: DateTime<Utc>,
    pub listed_g: i64,
    /// Hand-overs out of the lot: when and how much.
    pub handed_over: Vec<(DateTime<Utc>, i64)>,
    /// When the lot was withdrawn or expired with what was left; `None` while open or closed
    /// by hand-overs.
    pub ended_at: Option<DateTime<Utc>>,
}

#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct StockBalance {
    pub stock_start_g: i64,
    pub listed_g: i64,
    pub handed_over_g: i64,
    pub withdrawn_g: i64,
    pub stock_end_g: i64,
}

/// The mass a lot's events move, each at its instant: an event before the lot was listed (a
/// clock skew, a reservation on an announced lot) counts at the listing instant, and nothing
/// leaves a lot that it did not hold.
fn events(lot: &LotHistory) -> Vec<(DateTime<Utc>, i64, Kind)> {
    let mut out = vec![(lot.listed_at, lot.listed_g.max(0), Kind::Listed)];
    let mut left = lot.listed_g.max(0);
    let mut handed: Vec<_> = lot.handed_over.clone();
    handed.sort();
    for (at, grams) in handed {
        let grams = grams.clamp(0, left);
        left -= grams;
        out.push((at.max(lot.listed_at), grams, Kind::HandedOver));
    }
    if let Some(at) = lot.ended_at {
        out.push((at.max(lot.listed_at), left, Kind::Withdrawn));
    }
    out
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    Listed,
    HandedOver,
    Withdrawn,
}

/// The open mass of the lots at `at` (events at `at` itself count as done).
pub fn stock_at(lots: &[LotHistory], at: DateTime<Utc>) -> i64 {
    lots.iter()
        .flat_map(events)
        .filter(|(t, _, _)| *t < at)
        .map(|(_, g, kind)| if kind == Kind::Listed { g } else { -g })
        .sum()
}

/// The balance over `[from, to)`.
pub fn balance(lots: &[LotHistory], from: DateTime<Utc>, to: DateTime<Utc>) -> StockBalance {
    let mut out = StockBalance {
        stock_start_g: stock_at(lots, from),
        stock_end_g: stock_at(lots, to),
        ..StockBalance::default()
    };
    for (_, grams, kind) in lots
        .iter()
        .flat_map(events)
        .filter(|(t, _, _)| *t >= from && *t < to)
    {
        match kind {
            Kind::Listed => out.listed_g += grams,
            Kind::HandedOver => out.handed_over_g += grams,
            Kind::Withdrawn => out.withdrawn_g += grams,
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::Duration;
    use proptest::prelude::*;

    fn day(n: i64) -> DateTime<Utc> {
        DateTime::<Utc>::UNIX_EPOCH + Duration::days(n)
    }

    #[test]
    fn a_lot_partly_handed_over_then_withdrawn() {
        let lot = LotHistory {
            listed_at: day(10),
            listed_g: 1000,
            handed_over: vec![(day(12), 300)],
            ended_at: Some(day(20)),
        };
        let b = balance(&[lot], day(11), day(30));
        assert_eq!(
            b,
            StockBalance {
                stock_start_g: 1000,
                listed_g: 0,
                handed_over_g: 300,
                withdrawn_g: 700,
                stock_end_g: 0
            }
        );
    }

    prop_compose! {
        fn lot()(listed in 0i64..100, grams in 0i64..10_000,
                 outs in proptest::collection::vec((-20i64..150, 0i64..5_000), 0..5),
                 ended in proptest::option::of(-20i64..150)) -> LotHistory {
            LotHistory {
                listed_at: day(listed),
                listed_g: grams,
                handed_over: outs.into_iter().map(|(d, g)| (day(d), g)).collect(),
                ended_at: ended.map(day),
            }
        }
    }

    proptest! {
        #[test]
        fn the_identity_holds_on_any_history(
            lots in proptest::collection::vec(lot(), 0..20),
            from in -10i64..160,
            len in 0i64..100,
        ) {
            let b = balance(&lots, day(from), day(from + len));
            prop_assert_eq!(
                b.stock_end_g,
                b.stock_start_g + b.listed_g - b.handed_over_g - b.withdrawn_g
            );
            prop_assert!(b.stock_start_g >= 0 && b.stock_end_g >= 0);
        }
    }
}
