//! Password hashing (argon2) on the blocking pool, bounded by a memory budget, and the check
//! against a decoy for unknown users.
//!
//! Each argon2 hash holds its memory cost (19 MiB with the default parameters) while it runs.
//! Unbounded, 200 registrations at once took a server from 30 MB to 3 GB; so at most
//! `budget / cost` hashes run at once, and a request that cannot get its turn within a moment
//! is answered 503 with `Retry-After`. The decoy check of an unknown address goes through the
//! same bound, so it costs what a wrong password costs.

use crate::app::error::{AppError, AppResult};
use crate::domain::account::Password;
use argon2::password_hash::{
    rand_core::OsRng, PasswordHash, PasswordHasher, PasswordVerifier, SaltString,
};
use argon2::{Argon2, Params};
use std::sync::{Arc, OnceLock};
use std::time::Duration;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

/// How long a request waits for a turn to hash before it is told to come back.
const WAIT: Duration = Duration::from_secs(2);

/// The hashing of passwords, at most so many at once.
#[derive(Debug, Clone)]
pub struct Passwords {
    turns: Arc<Semaphore>,
}

impl Passwords {
    /// As many hashes at once as `budget_mib` of memory holds (one at least).
    pub fn new(budget_mib: usize) -> Passwords {
        let cost_mib = (Params::DEFAULT_M_COST as usize).div_ceil(1024).max(1);
        Passwords {
            turns: Arc::new(Semaphore::new((budget_mib / cost_mib).max(1))),
        }
    }

    /// How many hashes may run at once.
    pub fn capacity(&self) -> usize {
        self.turns.available_permits()
    }

    async fn turn(&self) -> AppResult<OwnedSemaphorePermit> {
        match tokio::time::timeout(WAIT, self.turns.clone().acquire_owned()).await {
            Ok(Ok(permit)) => Ok(permit),
            _ => Err(AppError::Busy {
                retry_after_secs: 1,
            }),
        }
    }

    pub async fn hash(&self, password: Password) -> AppResult<String> {
        let turn = self.turn().await?;
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
            let salt = SaltString::generate(&mut OsRng);
            Argon2::default()
                .hash_password(password.expose().as_bytes(), &salt)
                .map(|hash| hash.to_string())
                .map_err(|error| AppError::Internal(anyhow::anyhow!("hashing failed: {error}")))
        })
        .await?
    }

    /// Checks `password` against `stored`, or against a decoy hash when there is no such user,
    /// so that an unknown address takes as long to refuse as a wrong password.
    pub async fn verify(&self, stored: Option<String>, password: String) -> AppResult<bool> {
        static DECOY: OnceLock<String> = OnceLock::new();
        let turn = self.turn().await?;
        tokio::task::spawn_blocking(move || {
            let _turn = turn;
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
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_budget_decides_how_many_hash_at_once() {
        assert_eq!(Passwords::new(256).capacity(), 13);
        assert_eq!(Passwords::new(19).capacity(), 1);
        assert_eq!(Passwords::new(0).capacity(), 1);
    }

    #[tokio::test]
    async fn a_hash_waits_for_its_turn_and_is_refused_when_none_comes() {
        let passwords = Passwords::new(1);
        let held = passwords.turn().await.unwrap();
        let refused = tokio::time::timeout(WAIT * 2, passwords.turn())
            .await
            .unwrap();
        assert!(matches!(refused, Err(AppError::Busy { .. })));
        drop(held);
        assert!(passwords.turn().await.is_ok());
    }
}
