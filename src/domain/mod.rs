//! The domain core: plain Rust values and rules, no HTTP, no SQL, no runtime.

/// Gives a unit-only enum its text form (as stored and as sent), `FromStr` and `Display`.
macro_rules! text_enum {
    ($ty:ty { $($variant:ident => $text:literal),+ $(,)? }) => {
        impl $ty {
            pub const ALL: &'static [$ty] = &[$(<$ty>::$variant),+];

            pub fn as_str(self) -> &'static str {
                match self { $(<$ty>::$variant => $text),+ }
            }
        }

        impl std::str::FromStr for $ty {
            type Err = $crate::domain::validation::Invalid;

            fn from_str(s: &str) -> Result<Self, $crate::domain::validation::Invalid> {
                match s {
                    $($text => Ok(<$ty>::$variant),)+
                    _ => Err($crate::domain::validation::Invalid::new(
                        "unknown_value",
                        format!("must be one of: {}", [$($text),+].join(", ")),
                    )),
                }
            }
        }

        impl std::fmt::Display for $ty {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

/// For the lifecycles' tests: applies every event to every status and checks that exactly the
/// `legal` moves succeed, each to its status, and that a refused move names where it started.
#[cfg(test)]
pub(crate) fn assert_every_move<S, E, R>(
    statuses: &[S],
    events: &[E],
    legal: &[(S, E, S)],
    apply: impl Fn(S, E) -> Result<S, R>,
    refused_from: impl Fn(&R) -> S,
) where
    S: Copy + PartialEq + std::fmt::Debug,
    E: Copy + PartialEq + std::fmt::Debug,
    R: std::fmt::Debug,
{
    for &from in statuses {
        for &event in events {
            let expected = legal
                .iter()
                .find(|(f, e, _)| *f == from && *e == event)
                .map(|(_, _, to)| *to);
            match (apply(from, event), expected) {
                (Ok(to), Some(want)) => assert_eq!(to, want, "{from:?} + {event:?}"),
                (Err(refused), None) => assert_eq!(refused_from(&refused), from),
                (got, want) => panic!("{from:?} + {event:?}: got {got:?}, want {want:?}"),
            }
        }
    }
}

pub mod account;
pub mod audit;
pub mod clock;
pub mod custody;
pub mod district;
pub mod flows;
pub mod geo;
pub mod inventory;
pub mod issuance;
pub mod label;
pub mod ledger;
pub mod listing;
pub mod matching;
pub mod moderation;
pub mod outbox;
pub mod passport;
pub mod passport_export;
pub mod quantity;
pub mod reservation;
pub mod stock;
pub mod upload;
pub mod validation;
pub mod wish;
