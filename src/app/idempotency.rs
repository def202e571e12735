//! Idempotency keys: a request that moves money or quantity carries an `Idempotency-Key`; its
//! first answer is stored with the key in the same transaction as its effect, and a retry
//! gets that answer again, byte for byte, instead of a second effect.
//!
//! Only answers of requests that succeeded are stored: a request that failed left no effect,
//! and its key is free to be tried again.

use super::error::{AppError, AppResult};
use crate::db::idempotency::{self as q, NewKeyRow};
use crate::db::Conn;
use chrono::{DateTime, Utc};
use serde::Serialize;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// How long keys are kept at least; the housekeeping job deletes older ones.
pub const RETENTION: chrono::Duration = chrono::Duration::hours(24);

/// A client's key: 1 to 255 visible ASCII characters.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdempotencyKey(String);

impl IdempotencyKey {
    pub fn parse(raw: &str) -> AppResult<IdempotencyKey> {
        let visible = raw.bytes().all(|b| (0x21..=0x7e).contains(&b));
        if (1..=255).contains(&raw.len()) && visible {
            Ok(IdempotencyKey(raw.to_owned()))
        } else {
            Err(AppError::IdempotencyKeyInvalid)
        }
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// One keyed request: whose it is (an organisation or a user), which route, the key, and a
/// hash of what was asked.
#[derive(Debug, Clone)]
pub struct KeyedRequest {
    scope: Uuid,
    method: String,
    path: String,
    key: IdempotencyKey,
    request_hash: [u8; 32],
}

impl KeyedRequest {
    /// `request` is hashed in its canonical JSON form (object keys sorted), so that the same
    /// request sent with other spacing or key order is still the same request.
    pub fn new(
        scope: Uuid,
        method: &str,
        path: &str,
        key: IdempotencyKey,
        request: &impl Serialize,
    ) -> AppResult<KeyedRequest> {
        let canonical = serde_json::to_value(request)
            .and_then(|value| serde_json::to_vec(&value))
            .map_err(|error| AppError::Internal(error.into()))?;
        Ok(KeyedRequest {
            scope,
            method: method.to_owned(),
            path: path.to_owned(),
            key,
            request_hash: Sha256::digest(&canonical).into(),
        })
    }
}

/// An answer as it goes over the wire: the status and the exact bytes of the JSON body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    pub status: u16,
    pub body: Vec<u8>,
    /// True when this is the stored first answer, given again.
    pub replayed: bool,
}

impl Answer {
    pub fn json(status: u16, value: &impl Serialize) -> AppResult<Answer> {
        Ok(Answer {
            status,
            body: serde_json::to_vec(value).map_err(|error| AppError::Internal(error.into()))?,
            replayed: false,
        })
    }
}

/// Runs `effect` once per key, inside the caller's transaction: the key is claimed first (a
/// concurrent request with the same key waits here until the first one ends), the effect
/// runs, and its answer is stored before the transaction commits. A retry gets the stored
/// answer; the same key with a different request is refused. Without a key the effect simply
/// runs.
pub async fn once<F>(
    conn: &mut Conn,
    request: Option<&KeyedRequest>,
    now: DateTime<Utc>,
    effect: F,
) -> AppResult<Answer>
where
    F: AsyncFnOnce(&mut Conn) -> AppResult<Answer>,
{
    let Some(request) = request else {
        return effect(conn).await;
    };
    let KeyedRequest {
        scope,
        method,
        path,
        key,
        request_hash,
    } = request;
    let claimed = q::claim(
        conn,
        &NewKeyRow {
            scope: *scope,
            method,
            path,
            key: key.as_str(),
            request_hash,
            created_at: now,
        },
    )
    .await?;
    if !claimed {
        let stored = q::find(conn, *scope, method, path, key.as_str())
            .await?
            .ok_or_else(|| AppError::Internal(anyhow::anyhow!("claimed key vanished")))?;
        if stored.request_hash != request_hash {
            return Err(AppError::IdempotencyKeyReused);
        }
        return match (stored.status, stored.response_body) {
            (Some(status), Some(body)) => Ok(Answer {
                status: status as u16,
                body,
                replayed: true,
            }),
            _ => Err(AppError::Internal(anyhow::anyhow!(
                "an idempotency key without its answer"
            ))),
        };
    }
    let answer = effect(conn).await?;
    let status = i16::try_from(answer.status)
        .map_err(|_| AppError::Internal(anyhow::anyhow!("status out of range")))?;
    q::complete(
        conn,
        *scope,
        method,
        path,
        key.as_str(),
        status,
        &answer.body,
    )
    .await?;
    Ok(answer)
}

/// Deletes keys older than the retention; how many.
pub async fn purge(conn: &mut Conn, now: DateTime<Utc>) -> AppResult<usize> {
    Ok(q::purge(conn, now - RETENTION).await?)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_are_visible_ascii() {
        assert!(IdempotencyKey::parse("3f1c2a9e-7b1d-4c55-9e0a-1b2c3d4e5f60").is_ok());
        assert!(IdempotencyKey::parse(&"k".repeat(255)).is_ok());
        for bad in ["", " ", "with space", "tab\t", "é", &"k".repeat(256)] {
            assert!(IdempotencyKey::parse(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn the_hash_ignores_key_order_but_not_values() {
        let key = || IdempotencyKey::parse("k").unwrap();
        let scope = Uuid::now_v7();
        let a = KeyedRequest::new(
            scope,
            "POST",
            "/t",
            key(),
            &serde_json::json!({"a": 1, "b": 2}),
        );
        let b = KeyedRequest::new(
            scope,
            "POST",
            "/t",
            key(),
            &serde_json::json!({"b": 2, "a": 1}),
        );
        let c = KeyedRequest::new(
            scope,
            "POST",
            "/t",
            key(),
            &serde_json::json!({"a": 1, "b": 3}),
        );
        assert_eq!(a.unwrap().request_hash, b.unwrap().request_hash);
        let c = c.unwrap();
        let a = KeyedRequest::new(
            scope,
            "POST",
            "/t",
            key(),
            &serde_json::json!({"a": 1, "b": 2}),
        );
        assert_ne!(a.unwrap().request_hash, c.request_hash);
    }
}
