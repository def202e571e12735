//! Access tokens (short-lived HS256 JWTs) and opaque refresh tokens.

use crate::app::error::AppError;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use chrono::{DateTime, Utc};
use jsonwebtoken::{Algorithm, DecodingKey, EncodingKey, Header, Validation};
use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The claims of an access token. All four registered claims are required.
#[derive(Debug, Serialize, Deserialize)]
pub struct Claims {
    pub iss: String,
    pub aud: String,
    pub sub: Uuid,
    pub iat: i64,
    pub exp: i64,
}

/// Signs and checks access tokens with one pinned algorithm, issuer and audience.
pub struct AccessTokens {
    encoding: EncodingKey,
    decoding: DecodingKey,
    validation: Validation,
    issuer: String,
    pub ttl: chrono::Duration,
}

impl std::fmt::Debug for AccessTokens {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessTokens")
            .field("issuer", &self.issuer)
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}

pub const AUDIENCE: &str = "kringloop-api";

impl AccessTokens {
    pub fn new(secret: &SecretString, issuer: &str, ttl: chrono::Duration) -> anyhow::Result<Self> {
        let bytes = secret.expose_secret().as_bytes();
        anyhow::ensure!(
            bytes.len() >= 32,
            "the JWT secret must be at least 32 bytes long"
        );
        let mut validation = Validation::new(Algorithm::HS256);
        validation.set_issuer(&[issuer]);
        validation.set_audience(&[AUDIENCE]);
        validation.set_required_spec_claims(&["exp", "sub", "iss", "aud"]);
        // Expiry is checked against the service's clock below, so that tests can move time.
        validation.validate_exp = false;
        Ok(Self {
            encoding: EncodingKey::from_secret(bytes)?,
            decoding: DecodingKey::from_secret(bytes)?,
            validation,
            issuer: issuer.to_owned(),
            ttl,
        })
    }

    pub fn issue(&self, user_id: Uuid, now: DateTime<Utc>) -> Result<String, AppError> {
        let claims = Claims {
            iss: self.issuer.clone(),
            aud: AUDIENCE.to_owned(),
            sub: user_id,
            iat: now.timestamp(),
            exp: (now + self.ttl).timestamp(),
        };
        jsonwebtoken::encode(&Header::new(Algorithm::HS256), &claims, &self.encoding)
            .map_err(|error| AppError::Internal(error.into()))
    }

    /// The user a token speaks for, when it is well-formed, correctly signed and current.
    pub fn verify(&self, token: &str, now: DateTime<Utc>) -> Result<Uuid, AppError> {
        let data = jsonwebtoken::decode::<Claims>(token, &self.decoding, &self.validation)
            .map_err(|_| AppError::Unauthenticated("the access token is not valid"))?;
        if data.claims.exp <= now.timestamp() {
            return Err(AppError::Unauthenticated("the access token has expired"));
        }
        Ok(data.claims.sub)
    }
}

/// A fresh opaque refresh token and the hash under which it is stored.
pub fn new_refresh_token() -> (String, Vec<u8>) {
    use argon2::password_hash::rand_core::{OsRng, RngCore};
    let mut bytes = [0u8; 32];
    OsRng.fill_bytes(&mut bytes);
    let token = URL_SAFE_NO_PAD.encode(bytes);
    let hash = hash_refresh_token(&token);
    (token, hash)
}

pub fn hash_refresh_token(token: &str) -> Vec<u8> {
    Sha256::digest(token.as_bytes()).to_vec()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn tokens() -> AccessTokens {
        let secret = SecretString::from("0123456789abcdef0123456789abcdef".to_owned());
        AccessTokens::new(
            &secret,
            "https://kringloop.test",
            chrono::Duration::minutes(15),
        )
        .unwrap()
    }

    #[test]
    fn a_token_is_good_until_it_expires() {
        let tokens = tokens();
        let now = Utc::now();
        let user = Uuid::now_v7();
        let token = tokens.issue(user, now).unwrap();
        assert_eq!(tokens.verify(&token, now).unwrap(), user);
        assert!(tokens
            .verify(&token, now + chrono::Duration::minutes(16))
            .is_err());
    }

    #[test]
    fn refresh_tokens_are_random_and_hashed() {
        let (a, hash_a) = new_refresh_token();
        let (b, _) = new_refresh_token();
        assert_ne!(a, b);
        assert_eq!(hash_refresh_token(&a), hash_a);
        assert!(a.len() >= 43);
    }
}
