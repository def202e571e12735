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

pub mod account;
pub mod clock;
pub mod custody;
pub mod district;
pub mod flows;
pub mod geo;
pub mod ledger;
pub mod listing;
pub mod matching;
pub mod outbox;
pub mod passport;
pub mod quantity;
pub mod reservation;
pub mod stock;
pub mod validation;
pub mod wish;
