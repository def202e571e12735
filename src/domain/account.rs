//! Organisations and their users: the values that identify them and the rules for admitting them.

use super::geo::Location;
use super::validation::{bounded_text, FieldErrors, Invalid};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use std::fmt;

/// What an organisation is; decides nothing yet, but is shown to others and used in analysis.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationKind {
    Contractor,
    Makerspace,
    Builder,
    Recycler,
    Initiative,
    Municipality,
    Hub,
}

/// Only a verified organisation may list, wish and reserve.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrganisationStatus {
    Unverified,
    Verified,
    Suspended,
}

/// A user's place in their organisation.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OrgRole {
    Owner,
    Member,
}

/// The language a user reads mail and messages in.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, Hash, Default, Serialize, Deserialize, utoipa::ToSchema,
)]
#[serde(rename_all = "snake_case")]
pub enum Locale {
    #[default]
    Nl,
    En,
}

text_enum!(OrganisationKind {
    Contractor => "contractor",
    Makerspace => "makerspace",
    Builder => "builder",
    Recycler => "recycler",
    Initiative => "initiative",
    Municipality => "municipality",
    Hub => "hub",
});
text_enum!(OrganisationStatus { Unverified => "unverified", Verified => "verified", Suspended => "suspended" });
text_enum!(OrgRole { Owner => "owner", Member => "member" });
text_enum!(Locale { Nl => "nl", En => "en" });

/// A syntactically valid e-mail address, trimmed. Uniqueness ignores case.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Email(String);

impl Email {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        if trimmed.len() > 254 {
            return Err(Invalid::new("too_long", "must be at most 254 characters"));
        }
        if !email_address::EmailAddress::is_valid(trimmed) || !trimmed.contains('.') {
            return Err(Invalid::new(
                "invalid_email",
                "is not a valid e-mail address",
            ));
        }
        Ok(Self(trimmed.to_owned()))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// A password as typed; never printed, never stored.
#[derive(Clone)]
pub struct Password(SecretString);

impl Password {
    pub const MIN_CHARS: usize = 10;
    /// Bounds the work a single hash may cost.
    pub const MAX_CHARS: usize = 128;

    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let chars = raw.chars().count();
        if chars < Self::MIN_CHARS {
            return Err(Invalid::new(
                "too_short",
                format!("must be at least {} characters", Self::MIN_CHARS),
            ));
        }
        if chars > Self::MAX_CHARS {
            return Err(Invalid::new(
                "too_long",
                format!("must be at most {} characters", Self::MAX_CHARS),
            ));
        }
        Ok(Self(SecretString::from(raw.to_owned())))
    }

    /// A password chosen anew (at registration, change or reset): as [`Password::parse`], and
    /// not one of the most common passwords, a keyboard run or a repeated pattern, nor the
    /// account's own e-mail address or name (`personal`: the address, the display name, the
    /// organisation's name). Folded first: case, spaces and punctuation do not make it
    /// another password, nor do digits added at the end.
    pub fn parse_new(raw: &str, personal: &[&str]) -> Result<Self, Invalid> {
        let password = Self::parse(raw)?;
        let folded = fold(raw);
        let core = folded.trim_end_matches(|c: char| c.is_ascii_digit());
        let mut personal_words: Vec<String> = Vec::new();
        for item in personal {
            personal_words.push(fold(item));
            if let Some((local, _)) = item.split_once('@') {
                personal_words.push(fold(local));
            }
        }
        if personal_words
            .iter()
            .filter(|word| word.chars().count() >= 3)
            .any(|word| *word == folded || word == core)
        {
            return Err(Invalid::new(
                "password_is_personal",
                "must not be your e-mail address or your name",
            ));
        }
        if is_common(&folded) || is_common(core) || is_run(&folded) {
            return Err(Invalid::new(
                "common_password",
                "is one of the most common passwords and is guessed first; choose another, \
                 for example a few words that do not belong together",
            ));
        }
        Ok(password)
    }

    pub fn expose(&self) -> &str {
        self.0.expose_secret()
    }
}

/// Lowercased letters and digits only.
fn fold(text: &str) -> String {
    text.chars()
        .filter(|c| c.is_alphanumeric())
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_common(folded: &str) -> bool {
    static LIST: std::sync::OnceLock<std::collections::HashSet<&'static str>> =
        std::sync::OnceLock::new();
    let list = LIST.get_or_init(|| {
        include_str!("common_passwords.txt")
            .lines()
            .map(str::trim)
            .filter(|line| !line.is_empty() && !line.starts_with('#'))
            .collect()
    });
    // Digits alone ("1234567890", "0000000000") are guessed as early as any word.
    folded.is_empty() || folded.chars().all(|c| c.is_ascii_digit()) || list.contains(folded)
}

/// A run along the alphabet, the digits or a keyboard row, or a short pattern repeated.
fn is_run(folded: &str) -> bool {
    const RUNS: &[&str] = &[
        "abcdefghijklmnopqrstuvwxyz",
        "zyxwvutsrqponmlkjihgfedcba",
        "12345678901234567890",
        "09876543210987654321",
        "qwertyuiopasdfghjklzxcvbnm",
        "azertyuiopqsdfghjklmwxcvbn",
        "mnbvcxzlkjhgfdsapoiuytrewq",
        "1qaz2wsx3edc4rfv5tgb6yhn7ujm8ik9ol0p",
    ];
    if RUNS.iter().any(|run| run.contains(folded)) {
        return true;
    }
    let chars: Vec<char> = folded.chars().collect();
    (1..=4).any(|period| {
        chars.len() > period && (period..chars.len()).all(|i| chars[i] == chars[i - period])
    })
}

impl fmt::Debug for Password {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("Password(<redacted>)")
    }
}

/// A Dutch Chamber of Commerce (KvK) number: eight digits.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KvkNumber(String);

impl KvkNumber {
    pub fn parse(raw: &str) -> Result<Self, Invalid> {
        let trimmed = raw.trim();
        if trimmed.len() == 8 && trimmed.bytes().all(|b| b.is_ascii_digit()) {
            Ok(Self(trimmed.to_owned()))
        } else {
            Err(Invalid::new("invalid_kvk_number", "must be eight digits"))
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An organisation as it asks to be admitted.
#[derive(Debug, Clone)]
pub struct NewOrganisation {
    pub name: String,
    pub kind: OrganisationKind,
    pub kvk_number: Option<KvkNumber>,
    pub address: Option<String>,
    pub location: Option<Location>,
}

/// A person signing up, with the organisation they found.
#[derive(Debug, Clone)]
pub struct Registration {
    pub email: Email,
    pub password: Password,
    pub display_name: String,
    pub locale: Locale,
    pub organisation: NewOrganisation,
}

/// The raw fields of a registration, as a client sent them.
#[derive(Debug, Clone)]
pub struct RegistrationInput<'a> {
    pub email: &'a str,
    pub password: &'a str,
    pub display_name: &'a str,
    pub locale: Option<Locale>,
    pub organisation_name: &'a str,
    pub organisation_kind: OrganisationKind,
    pub kvk_number: Option<&'a str>,
    pub address: Option<&'a str>,
    pub location: Option<(f64, f64)>,
}

impl Registration {
    /// Validates every field and reports all that are wrong, with JSON pointers into the body.
    pub fn parse(input: RegistrationInput<'_>) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::new();
        let email = errors.take("/email", Email::parse(input.email));
        let password = errors.take(
            "/password",
            Password::parse_new(
                input.password,
                &[input.email, input.display_name, input.organisation_name],
            ),
        );
        let display_name = errors.take("/display_name", bounded_text(input.display_name, 1, 100));
        let name = errors.take(
            "/organisation/name",
            bounded_text(input.organisation_name, 1, 200),
        );
        let kvk_number = match input.kvk_number {
            Some(raw) => errors
                .take("/organisation/kvk_number", KvkNumber::parse(raw))
                .map(Some),
            None => Some(None),
        };
        let address = match input.address {
            Some(raw) => errors
                .take("/organisation/address", bounded_text(raw, 1, 500))
                .map(Some),
            None => Some(None),
        };
        let location = match input.location {
            Some((lat, lon)) => {
                Location::parse(lat, lon, "/organisation/location", &mut errors).map(Some)
            }
            None => Some(None),
        };
        match (
            email,
            password,
            display_name,
            name,
            kvk_number,
            address,
            location,
        ) {
            (
                Some(email),
                Some(password),
                Some(display_name),
                Some(name),
                Some(kvk_number),
                Some(address),
                Some(location),
            ) if errors.is_empty() => Ok(Registration {
                email,
                password,
                display_name,
                locale: input.locale.unwrap_or_default(),
                organisation: NewOrganisation {
                    name,
                    kind: input.organisation_kind,
                    kvk_number,
                    address,
                    location,
                },
            }),
            _ => Err(errors),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> RegistrationInput<'static> {
        RegistrationInput {
            email: "  sloop@example.nl ",
            password: "correct horse battery",
            display_name: "Sanne de Sloper",
            locale: None,
            organisation_name: "Sloopbedrijf Haaglanden",
            organisation_kind: OrganisationKind::Contractor,
            kvk_number: Some("12345678"),
            address: None,
            location: Some((52.07, 4.30)),
        }
    }

    #[test]
    fn accepts_a_valid_registration() {
        let registration = Registration::parse(valid()).unwrap();
        assert_eq!(registration.email.as_str(), "sloop@example.nl");
        assert_eq!(registration.locale, Locale::Nl);
        assert_eq!(
            registration.organisation.kvk_number.unwrap().as_str(),
            "12345678"
        );
    }

    #[test]
    fn reports_every_bad_field() {
        let input = RegistrationInput {
            email: "not-an-address",
            password: "short",
            display_name: " ",
            kvk_number: Some("1234"),
            location: Some((123.0, 4.0)),
            ..valid()
        };
        let errors = Registration::parse(input).unwrap_err().into_vec();
        let pointers: Vec<_> = errors.iter().map(|e| e.pointer.as_str()).collect();
        assert_eq!(
            pointers,
            [
                "/email",
                "/password",
                "/display_name",
                "/organisation/kvk_number",
                "/organisation/location/lat"
            ]
        );
    }

    #[test]
    fn common_and_personal_passwords_are_refused() {
        for common in [
            "password123",
            "Wachtwoord!!",
            "welkom2024!",
            "1234567890",
            "qwertyuiop",
            "abcdefghijk",
            "aaaaaaaaaaaa",
            "abcabcabcabc",
            "Passw0rd2024",
            "i love you 12",
        ] {
            let refused = Password::parse_new(common, &[]).unwrap_err();
            assert_eq!(refused.code, "common_password", "{common}");
        }
        let personal = ["sanne.devries@sloop.nl", "Sanne de Vries", "Sloop BV"];
        for mine in [
            "sanne.devries@sloop.nl",
            "SanneDeVries",
            "sanne de vries 2024",
            "sanne.devries1",
        ] {
            let refused = Password::parse_new(mine, &personal).unwrap_err();
            assert_eq!(refused.code, "password_is_personal", "{mine}");
        }
        assert!(Password::parse_new("correct horse battery", &personal).is_ok());
        assert!(Password::parse_new("kraanvogel op de slooplocatie", &personal).is_ok());
    }

    #[test]
    fn password_never_prints() {
        let password = Password::parse("correct horse battery").unwrap();
        assert!(!format!("{password:?}").contains("horse"));
    }

    #[test]
    fn enums_round_trip_through_text() {
        for kind in OrganisationKind::ALL {
            assert_eq!(kind.as_str().parse::<OrganisationKind>().unwrap(), *kind);
        }
        assert!("broker".parse::<OrganisationKind>().is_err());
        assert_eq!(
            "verified".parse::<OrganisationStatus>().unwrap(),
            OrganisationStatus::Verified
        );
    }
}
