//! The portable form of a passport (`kringloop-passport/2`) and its offline check: the
//! custody chain, the content each content-setting event fixed, and the bytes of the files.
//! The rules are written down in `docs/passport-chain.md`; this is their one implementation.

use super::custody::{content_hash, event_hash, sha256_hex, CustodyEvent, CustodyKind, GENESIS};
use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The first format: the content alone, no chain. Still imported.
pub const FORMAT_V1: &str = "kringloop-passport/1";
/// The content, the whole custody chain and the files' hashes (optionally their bytes).
pub const FORMAT_V2: &str = "kringloop-passport/2";

/// The payload field in which a content-setting event records the content's hash.
pub const CONTENT_HASH_FIELD: &str = "content_sha256";

/// A file of the passport (a photo, a PDF) as exported: its hash always, its bytes on request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ExportedFile {
    /// Lower-case hex SHA-256 of the bytes as stored (photos: after their metadata was
    /// stripped); the same hash as the passport's document for this file.
    pub sha256: String,
    #[schema(example = "image/jpeg")]
    pub media_type: String,
    pub size: i64,
    /// The bytes, standard base64, when the export was asked `?files=embed`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub data: Option<String>,
}

/// Why a chain does not hold, as a stable code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum BreakReason {
    /// The event does not read as an event (a field missing or of the wrong type).
    Malformed,
    /// Its `seq` is not one more than the event before it (an event removed, added or moved).
    Sequence,
    /// Its `prev_hash` is not the hash of the event before it.
    PrevHash,
    /// Its `hash` is not the hash of its own fields.
    Hash,
    /// The passport's content (or code) differs from what this event fixed.
    Content,
    /// The document this event attached differs from the passport's document.
    Document,
    /// A file's bytes do not have the hash this event fixed.
    File,
    /// A file or document is in the export that no event accounts for.
    NotInChain,
}

/// Where and why the chain breaks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ChainBreak {
    /// The `seq` (1-based position) of the first event that does not hold; absent when what
    /// breaks is outside every event (a file no event names).
    pub seq: Option<i32>,
    pub kind: Option<CustodyKind>,
    pub reason: BreakReason,
    pub detail: String,
}

/// The result of checking an export.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct Verdict {
    /// True when the chain, the content and every embedded file hold.
    pub valid: bool,
    pub format: String,
    pub events: usize,
    /// The hash of the last event: what a holder can compare with the service's
    /// `GET /passports/{id}/custody`.
    pub head: Option<String>,
    /// Whether an event fixes the content (chains begun before content hashes do not).
    pub content_bound: bool,
    /// How many files came with their bytes and were hashed.
    pub files_checked: usize,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub broken_at: Option<ChainBreak>,
}

struct Found {
    index: usize,
    reason: BreakReason,
    detail: String,
}

fn found(index: usize, reason: BreakReason, detail: impl Into<String>) -> Found {
    Found {
        index,
        reason,
        detail: detail.into(),
    }
}

/// Checks an exported passport offline. `export` is the document as read (a JSON value, so
/// that a tampered field is reported where it is rather than refused as unreadable).
pub fn verify(export: &Value) -> Result<Verdict, String> {
    let format = export["format"].as_str().unwrap_or_default().to_owned();
    if format == FORMAT_V1 {
        return Err(format!(
            "{FORMAT_V1} carries no custody chain; export the passport again to get {FORMAT_V2}"
        ));
    }
    if format != FORMAT_V2 {
        return Err(format!("format must be {FORMAT_V2:?}"));
    }
    let raw_events = export["custody"]
        .as_array()
        .ok_or("custody must be the list of events")?;
    let content = export
        .get("passport")
        .filter(|p| p.is_object())
        .ok_or("passport must be the passport's content")?;
    let files: Vec<ExportedFile> = match export.get("files") {
        None | Some(Value::Null) => Vec::new(),
        Some(files) => serde_json::from_value(files.clone())
            .map_err(|error| format!("files do not read: {error}"))?,
    };

    let mut events = Vec::with_capacity(raw_events.len());
    let mut broken = None;
    for (index, raw) in raw_events.iter().enumerate() {
        match serde_json::from_value::<CustodyEvent>(raw.clone()) {
            Ok(event) => events.push(event),
            Err(error) => {
                broken = Some(found(index, BreakReason::Malformed, error.to_string()));
                break;
            }
        }
    }
    if broken.is_none() {
        broken = check_links(&events);
    }
    let bound = events
        .iter()
        .any(|e| e.payload.get(CONTENT_HASH_FIELD).is_some());
    let mut files_checked = 0;
    if broken.is_none() {
        broken = check_content(&events, content, export["code"].as_str())
            .err()
            .or_else(|| match check_files(&events, content, &files) {
                Ok(checked) => {
                    files_checked = checked;
                    None
                }
                Err(found) => Some(found),
            });
    }
    let broken_at = broken.map(|found| {
        let event = events.get(found.index);
        ChainBreak {
            seq: (found.index < raw_events.len()).then_some(found.index as i32 + 1),
            kind: event.map(|e| e.kind),
            reason: found.reason,
            detail: found.detail,
        }
    });
    Ok(Verdict {
        valid: broken_at.is_none(),
        format,
        events: raw_events.len(),
        head: events.last().map(|e| e.hash.clone()),
        content_bound: bound,
        files_checked,
        broken_at,
    })
}

/// Each event follows the one before: its place, the previous hash, its own hash.
fn check_links(events: &[CustodyEvent]) -> Option<Found> {
    let mut prev = GENESIS.to_owned();
    for (index, event) in events.iter().enumerate() {
        let seq = index as i32 + 1;
        if event.seq != seq {
            return Some(found(
                index,
                BreakReason::Sequence,
                format!("event {seq} says it is event {}", event.seq),
            ));
        }
        if event.prev_hash != prev {
            return Some(found(
                index,
                BreakReason::PrevHash,
                format!("prev_hash is not the hash of event {}", seq - 1),
            ));
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
            return Some(found(
                index,
                BreakReason::Hash,
                "the event's fields do not hash to its hash",
            ));
        }
        prev = hash;
    }
    None
}

fn documents(content: &Value) -> &[Value] {
    content["documents"].as_array().map_or(&[], Vec::as_slice)
}

/// The content with only its first `n` documents, as it stood when the `n`th was attached.
fn with_documents(content: &Value, n: usize) -> Value {
    let mut earlier = content.clone();
    if let Some(list) = earlier.get_mut("documents").and_then(Value::as_array_mut) {
        list.truncate(n);
    }
    earlier
}

/// The events that fix the content: the first sets it whole, each later one (a
/// `document_attached`) adds one document.
fn content_events(events: &[CustodyEvent]) -> Vec<usize> {
    events
        .iter()
        .enumerate()
        .filter(|(_, e)| e.payload.get(CONTENT_HASH_FIELD).is_some())
        .map(|(index, _)| index)
        .collect()
}

/// Which content event fixed document `position`, given how many the first event fixed.
fn event_of_document(bearing: &[usize], base: usize, position: usize) -> usize {
    if position < base {
        bearing[0]
    } else {
        bearing[position - base + 1]
    }
}

fn check_content(
    events: &[CustodyEvent],
    content: &Value,
    code: Option<&str>,
) -> Result<(), Found> {
    if let (Some(first), Some(code)) = (events.first(), code) {
        if let Some(recorded) = first.payload.get("code").and_then(Value::as_str) {
            if recorded != code {
                return Err(found(
                    0,
                    BreakReason::Content,
                    format!("the code {code:?} is not the code {recorded:?} this event fixed"),
                ));
            }
        }
    }
    let bearing = content_events(events);
    let Some(&first) = bearing.first() else {
        return Ok(());
    };
    let documents = documents(content);
    let attached = bearing.len() - 1;
    for &index in &bearing[1..] {
        if events[index].kind != CustodyKind::DocumentAttached {
            return Err(found(
                index,
                BreakReason::Content,
                "only the first content event may set the content; later ones attach documents",
            ));
        }
    }
    if documents.len() < attached {
        let missing = bearing[documents.len() + 1];
        return Err(found(
            missing,
            BreakReason::Document,
            "the document this event attached is missing",
        ));
    }
    let base = documents.len() - attached;
    let expect = |index: usize, at: usize| -> Result<(), Found> {
        let recorded = events[index].payload[CONTENT_HASH_FIELD]
            .as_str()
            .unwrap_or_default();
        if content_hash(&with_documents(content, at)) == recorded {
            Ok(())
        } else {
            Err(found(
                index,
                BreakReason::Content,
                "the passport's content differs from the content this event fixed",
            ))
        }
    };
    expect(first, base)?;
    for (i, &index) in bearing[1..].iter().enumerate() {
        let position = base + i;
        let payload = &events[index].payload;
        let document = &documents[position];
        for field in ["url", "sha256", "kind"] {
            if payload.get(field) != document.get(field) {
                return Err(found(
                    index,
                    BreakReason::Document,
                    format!(
                        "document {position}'s {field} differs from the one this event attached"
                    ),
                ));
            }
        }
        expect(index, position + 1)?;
    }
    Ok(())
}

/// Every exported file is a document of the passport; those with bytes hash to it.
fn check_files(
    events: &[CustodyEvent],
    content: &Value,
    files: &[ExportedFile],
) -> Result<usize, Found> {
    let bearing = content_events(events);
    let documents = documents(content);
    let base = documents.len() + 1 - bearing.len().max(1);
    let mut checked = 0;
    for (i, file) in files.iter().enumerate() {
        let position = documents
            .iter()
            .position(|d| d["sha256"].as_str() == Some(file.sha256.as_str()));
        let Some(position) = position else {
            return Err(found(
                events.len(),
                BreakReason::NotInChain,
                format!(
                    "file {i} ({}) is not a document of the passport",
                    file.sha256
                ),
            ));
        };
        let index = if bearing.is_empty() {
            events.len().saturating_sub(1)
        } else {
            event_of_document(&bearing, base, position)
        };
        let Some(data) = &file.data else { continue };
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(data)
            .map_err(|_| {
                found(
                    index,
                    BreakReason::File,
                    format!("file {i}'s data is not base64"),
                )
            })?;
        if sha256_hex(&bytes) != file.sha256 || bytes.len() as i64 != file.size {
            return Err(found(
                index,
                BreakReason::File,
                format!("file {i}'s bytes are not the bytes whose hash this event fixed"),
            ));
        }
        checked += 1;
    }
    Ok(checked)
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::{TimeZone, Utc};
    use serde_json::json;

    const PHOTO: &[u8] = b"not really a jpeg, but bytes all the same";

    fn document(url: &str, sha256: &str, kind: &str) -> Value {
        json!({"url": url, "sha256": sha256, "kind": kind})
    }

    /// A passport created with one document, given a second, listed: four events.
    fn export() -> Value {
        let at = Utc.with_ymd_and_hms(2026, 3, 1, 9, 0, 0).unwrap();
        let org = Some(uuid::Uuid::from_u128(7));
        let first_doc = document("https://example.org/a.pdf", &"a".repeat(64), "datasheet");
        let photo_sha = sha256_hex(PHOTO);
        let photo = document("https://example.org/p.jpg", &photo_sha, "photo");
        let mut content = json!({"name": "doors", "category": "doors-interior",
                                 "composition": [{"material": "oak", "fraction_ppm": 1000000}],
                                 "origin": {"location": {"lat": 52.068, "lon": 4.345}},
                                 "documents": [first_doc]});
        let created = CustodyEvent::next(
            None,
            CustodyKind::Created,
            org,
            json!({"code": "KL-AAAA-BBBB", "content_sha256": content_hash(&content)}),
            at,
        );
        let listed = CustodyEvent::next(
            Some((&created.hash, created.seq)),
            CustodyKind::Listed,
            org,
            json!({"listing_id": "x"}),
            at,
        );
        content["documents"]
            .as_array_mut()
            .unwrap()
            .push(photo.clone());
        let mut payload = photo;
        payload["content_sha256"] = json!(content_hash(&content));
        let attached = CustodyEvent::next(
            Some((&listed.hash, listed.seq)),
            CustodyKind::DocumentAttached,
            org,
            payload,
            at,
        );
        let handed = CustodyEvent::next(
            Some((&attached.hash, attached.seq)),
            CustodyKind::HandedOver,
            None,
            json!({"to": "y"}),
            at,
        );
        json!({
            "format": FORMAT_V2,
            "code": "KL-AAAA-BBBB",
            "passport": content,
            "custody": [created, listed, attached, handed],
            "files": [{"sha256": photo_sha, "media_type": "image/jpeg", "size": PHOTO.len(),
                       "data": base64::engine::general_purpose::STANDARD.encode(PHOTO)}],
        })
    }

    fn broken(export: &Value) -> (Option<i32>, BreakReason) {
        let verdict = verify(export).unwrap();
        assert!(!verdict.valid);
        let at = verdict.broken_at.unwrap();
        (at.seq, at.reason)
    }

    #[test]
    fn an_untouched_export_holds() {
        let verdict = verify(&export()).unwrap();
        assert!(verdict.valid, "{verdict:?}");
        assert!(verdict.content_bound);
        assert_eq!(verdict.files_checked, 1);
        assert_eq!(verdict.events, 4);
    }

    #[test]
    fn each_field_of_each_event_is_found_where_it_was_changed() {
        let fields: [(&str, Value); 7] = [
            ("seq", json!(9)),
            ("kind", json!("withdrawn")),
            ("organisation_id", json!(uuid::Uuid::from_u128(8))),
            ("payload", json!({"listing_id": "z"})),
            ("at", json!("2026-03-01T09:00:00.000001Z")),
            ("prev_hash", json!("1".repeat(64))),
            ("added", json!("a field no event had")),
        ];
        for seq in 1..=4 {
            for (field, value) in &fields {
                let mut tampered = export();
                tampered["custody"][seq - 1][*field] = value.clone();
                let (at, _) = broken(&tampered);
                assert_eq!(at, Some(seq as i32), "{field} of event {seq}");
            }
            let mut hash = export();
            hash["custody"][seq - 1]["hash"] = json!("f".repeat(64));
            assert_eq!(broken(&hash), (Some(seq as i32), BreakReason::Hash));
        }
        let mut malformed = export();
        malformed["custody"][2]["seq"] = json!("three");
        assert_eq!(broken(&malformed), (Some(3), BreakReason::Malformed));
        let mut dropped = export();
        dropped["custody"].as_array_mut().unwrap().remove(1);
        assert_eq!(broken(&dropped), (Some(2), BreakReason::Sequence));
    }

    #[test]
    fn content_is_found_at_the_event_that_fixed_it() {
        for (pointer, value) in [
            ("/name", json!("windows")),
            ("/composition/0/fraction_ppm", json!(999999)),
            ("/origin/location/lat", json!(52.0681)),
            ("/documents/0/sha256", json!("b".repeat(64))),
        ] {
            let mut tampered = export();
            *tampered["passport"].pointer_mut(pointer).unwrap() = value;
            assert_eq!(
                broken(&tampered),
                (Some(1), BreakReason::Content),
                "{pointer}"
            );
        }
        let mut extra = export();
        extra["passport"]["description"] = json!("added later");
        assert_eq!(broken(&extra), (Some(1), BreakReason::Content));
        let mut code = export();
        code["code"] = json!("KL-ZZZZ-ZZZZ");
        assert_eq!(broken(&code), (Some(1), BreakReason::Content));

        let mut second = export();
        second["passport"]["documents"][1]["url"] = json!("https://example.org/q.jpg");
        assert_eq!(broken(&second), (Some(3), BreakReason::Document));
        let mut title = export();
        title["passport"]["documents"][1]["title"] = json!("a title");
        assert_eq!(broken(&title), (Some(3), BreakReason::Content));
        let mut missing = export();
        missing["passport"]["documents"] = json!([]);
        assert_eq!(broken(&missing), (Some(3), BreakReason::Document));
    }

    #[test]
    fn files_are_found_at_the_event_that_attached_them() {
        let mut bytes = export();
        bytes["files"][0]["data"] =
            json!(base64::engine::general_purpose::STANDARD.encode(b"other bytes"));
        assert_eq!(broken(&bytes), (Some(3), BreakReason::File));
        let mut hash = export();
        hash["files"][0]["sha256"] = json!("c".repeat(64));
        assert_eq!(broken(&hash), (None, BreakReason::NotInChain));
        let mut no_bytes = export();
        no_bytes["files"][0].as_object_mut().unwrap().remove("data");
        let verdict = verify(&no_bytes).unwrap();
        assert!(verdict.valid);
        assert_eq!(verdict.files_checked, 0);
    }

    #[test]
    fn the_first_format_and_strangers_are_refused() {
        assert!(verify(&json!({"format": FORMAT_V1, "passport": {}}))
            .unwrap_err()
            .contains("no custody chain"));
        assert!(verify(&json!({"format": "x"})).is_err());
        assert!(verify(&json!({"format": FORMAT_V2, "passport": {}})).is_err());
    }
}
