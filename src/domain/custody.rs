//! The custody chain of a passport: append-only events, each hashing its canonical content
//! together with the previous event's hash, so that anyone holding an export can verify it.

use chrono::{DateTime, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};
use serde_json::Value;
use sha2::{Digest, Sha256};
use uuid::Uuid;

/// The hash the first event links to.
pub const GENESIS: &str = "0000000000000000000000000000000000000000000000000000000000000000";

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum CustodyKind {
    Created,
    Imported,
    DocumentAttached,
    Listed,
    Reserved,
    ReservationReleased,
    HandedOver,
    Split,
    Transformed,
    Withdrawn,
}

text_enum!(CustodyKind {
    Created => "created",
    Imported => "imported",
    DocumentAttached => "document_attached",
    Listed => "listed",
    Reserved => "reserved",
    ReservationReleased => "reservation_released",
    HandedOver => "handed_over",
    Split => "split",
    Transformed => "transformed",
    Withdrawn => "withdrawn",
});

/// One event as stored and as exported.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct CustodyEvent {
    pub seq: i32,
    pub kind: CustodyKind,
    /// The organisation that caused the event.
    pub organisation_id: Option<Uuid>,
    #[schema(value_type = Object)]
    #[serde(deserialize_with = "an_object")]
    pub payload: Value,
    pub at: DateTime<Utc>,
    pub prev_hash: String,
    pub hash: String,
}

/// An event's payload is always a JSON object; an export that says otherwise is not one.
fn an_object<'de, D: serde::Deserializer<'de>>(deserializer: D) -> Result<Value, D::Error> {
    let value = <Value as serde::Deserialize>::deserialize(deserializer)?;
    if value.is_object() {
        Ok(value)
    } else {
        Err(serde::de::Error::custom(
            "an event's payload must be an object",
        ))
    }
}

/// The text that is hashed: the previous hash, then the event's fields as canonical JSON.
fn preimage(
    prev_hash: &str,
    seq: i32,
    kind: CustodyKind,
    organisation_id: Option<Uuid>,
    payload: &Value,
    at: DateTime<Utc>,
) -> String {
    let content = serde_json::json!({
        "seq": seq,
        "kind": kind.as_str(),
        "organisation_id": organisation_id,
        "payload": payload,
        "at": at.to_rfc3339_opts(SecondsFormat::Micros, true),
    });
    format!("{prev_hash}\n{}", canonical_json(&content))
}

/// The hash of an event following `prev_hash`.
pub fn event_hash(
    prev_hash: &str,
    seq: i32,
    kind: CustodyKind,
    organisation_id: Option<Uuid>,
    payload: &Value,
    at: DateTime<Utc>,
) -> String {
    sha256_hex(preimage(prev_hash, seq, kind, organisation_id, payload, at).as_bytes())
}

/// Lower-case hex SHA-256 of some bytes.
pub fn sha256_hex(bytes: &[u8]) -> String {
    Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The hash a content-setting event records of the passport's content: SHA-256 of its
/// canonical JSON (see `docs/passport-chain.md`).
pub fn content_hash(content: &Value) -> String {
    sha256_hex(canonical_json(content).as_bytes())
}

impl CustodyEvent {
    /// The next event after `previous` (or the first), with its hash.
    pub fn next(
        previous: Option<(&str, i32)>,
        kind: CustodyKind,
        organisation_id: Option<Uuid>,
        payload: Value,
        at: DateTime<Utc>,
    ) -> CustodyEvent {
        let (prev_hash, seq) = match previous {
            Some((hash, seq)) => (hash.to_owned(), seq + 1),
            None => (GENESIS.to_owned(), 1),
        };
        let hash = event_hash(&prev_hash, seq, kind, organisation_id, &payload, at);
        CustodyEvent {
            seq,
            kind,
            organisation_id,
            payload,
            at,
            prev_hash,
            hash,
        }
    }
}

/// True when the events form an unbroken chain from the genesis hash, each hash matching its
/// content.
pub fn verify(events: &[CustodyEvent]) -> bool {
    let mut prev = GENESIS.to_owned();
    for (index, event) in events.iter().enumerate() {
        let expected_seq = index as i32 + 1;
        if event.seq != expected_seq || event.prev_hash != prev {
            return false;
        }
        let hash = event_hash(
            &prev,
            event.seq,
            event.kind,
            event.organisation_id,
            &event.payload,
            event.at,
        );
        if hash != event.hash {
            return false;
        }
        prev = hash;
    }
    true
}

/// JSON with object keys sorted at every level and no insignificant white space.
pub fn canonical_json(value: &Value) -> String {
    match value {
        Value::Object(map) => {
            let mut keys: Vec<&String> = map.keys().collect();
            keys.sort();
            let fields: Vec<String> = keys
                .into_iter()
                .map(|key| {
                    format!(
                        "{}:{}",
                        Value::String(key.clone()),
                        canonical_json(&map[key])
                    )
                })
                .collect();
            format!("{{{}}}", fields.join(","))
        }
        Value::Array(items) => format!(
            "[{}]",
            items
                .iter()
                .map(canonical_json)
                .collect::<Vec<_>>()
                .join(",")
        ),
        other => other.to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn chain() -> Vec<CustodyEvent> {
        let at = Utc::now();
        let org = Some(Uuid::now_v7());
        let first = CustodyEvent::next(
            None,
            CustodyKind::Created,
            org,
            json!({"name": "doors"}),
            at,
        );
        let second = CustodyEvent::next(
            Some((&first.hash, first.seq)),
            CustodyKind::Listed,
            org,
            json!({"listing_id": "x"}),
            at,
        );
        let third = CustodyEvent::next(
            Some((&second.hash, second.seq)),
            CustodyKind::HandedOver,
            None,
            json!({"to": "y", "quantity": 5}),
            at,
        );
        vec![first, second, third]
    }

    #[test]
    fn an_untouched_chain_verifies() {
        let events = chain();
        assert_eq!(events[0].prev_hash, GENESIS);
        assert!(verify(&events));
        assert!(verify(&[]));
    }

    #[test]
    fn any_change_breaks_it() {
        let mut payload = chain();
        payload[1].payload = json!({"listing_id": "z"});
        assert!(!verify(&payload));

        let mut dropped = chain();
        dropped.remove(1);
        assert!(!verify(&dropped));

        let mut reordered = chain();
        reordered.swap(1, 2);
        assert!(!verify(&reordered));

        let mut time = chain();
        time[2].at += chrono::Duration::microseconds(1);
        assert!(!verify(&time));
    }

    #[test]
    fn canonical_json_sorts_keys_at_every_level() {
        let a = json!({"b": 1, "a": {"z": [1, {"y": 2, "x": 3}], "c": "é"}});
        assert_eq!(
            canonical_json(&a),
            r#"{"a":{"c":"é","z":[1,{"x":3,"y":2}]},"b":1}"#
        );
    }
}
