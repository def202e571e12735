//! Password hashing (argon2) on the blocking pool, and the check against a decoy for unknown users.

use crate::app::error::{AppError, AppResult};
use crate::domain::account::Password;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::Argon2;
use std::sync::OnceLock;

pub(crate) async fn hash_password(password: Password) -> AppResult<String> {
    tokio::task::spawn_blocking(move || {
        let salt = SaltString::generate(&mut OsRng);
        Argon2::default()
            .hash_password(password.expose().as_bytes(), &salt)
            .map(|hash| hash.to_string())
            .map_err(|error| AppError::Internal(anyhow::anyhow!("hashing failed: {error}")))
    })
    .await?
}

/// Checks `password` against `stored`, or against a decoy hash when there is no such user, so
/// that an unknown address takes as long to refuse as a wrong password.
pub(crate) async fn verify_password(stored: Option<String>, password: String) -> AppResult<bool> {
    static DECOY: OnceLock<String> = OnceLock::new();
    tokio::task::spawn_blocking(move || {
        let decoy = DECOY.get_or_init(|| {
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(b"kringloop decoy password", &salt)
                .map(|h| h.to_string())
                .unwrap_or_default()
        });
        let known = stored.is_some();
        let phc = stored.unwrap_or_else(|| decoy.clone());
        let matches = PasswordHash::new(&phc)
            .map(|hash| {
                Argon2::default()
                    .verify_password(password.as_bytes(), &hash)
                    .is_ok()
            })
            .unwrap_or(false);
        known && matches
    })
    .await
    .map_err(Into::into)
}
