//! Keyset pagination for every list: the query parameters ([`PageQuery`]), the page
//! ([`Page`]) and one opaque cursor scheme.
//!
//! A cursor is the base64url (no padding) of a JSON payload that names where the page before
//! ended: the last id for lists ordered by id ([`id_cursor`]), or a richer position such as the
//! stock search's (sort key and id) through [`encode_cursor`] and [`decode_cursor`]. Clients
//! pass `next_cursor` back unread, so a list may change what its payload holds.

use super::error::{AppError, AppResult};
use crate::domain::validation::{FieldErrors, Invalid};
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use base64::Engine;
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use uuid::Uuid;

/// The largest page any list answers; a larger `limit` is refused, not cut down.
pub const MAX_LIMIT: u32 = 100;

/// The page size of a list that does not say otherwise.
pub const DEFAULT_LIMIT: u32 = 50;

/// Which page of a list to answer: the query parameters every list takes.
#[derive(Debug, Clone, Default, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
#[serde(deny_unknown_fields)]
pub struct PageQuery {
    /// `next_cursor` of the previous page; absent for the first page.
    pub cursor: Option<String>,
    /// Page size, 1 to 100 (default 50; the stock search's is 20). Outside that: 422.
    #[param(minimum = 1, maximum = 100)]
    pub limit: Option<u32>,
}

impl PageQuery {
    /// The page size asked for, or `default`; outside 1..=[`MAX_LIMIT`] it is invalid.
    pub fn limit_or(&self, default: u32) -> Result<u32, Invalid> {
        let limit = self.limit.unwrap_or(default);
        if (1..=MAX_LIMIT).contains(&limit) {
            Ok(limit)
        } else {
            Err(Invalid::new(
                "out_of_range",
                format!("must lie between 1 and {MAX_LIMIT}"),
            ))
        }
    }

    /// The page size asked for, or [`DEFAULT_LIMIT`]; outside the bounds a 422 naming `/limit`.
    pub fn limit(&self) -> AppResult<u32> {
        self.limit_or(DEFAULT_LIMIT)
            .map_err(|invalid| FieldErrors::single("/limit", invalid).into())
    }
}

/// One page of a keyset-paginated list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page of `items`, with a cursor on the position `after` gives for the last one when
    /// `more` follow.
    pub fn new<C: Serialize>(items: Vec<T>, more: bool, after: impl Fn(&T) -> C) -> Page<T> {
        let next_cursor = if more {
            items.last().map(|item| encode_cursor(&after(item)))
        } else {
            None
        };
        Page { items, next_cursor }
    }
}

/// The cursor of a page that ended at `position`.
pub fn encode_cursor(position: &impl Serialize) -> String {
    // Serialising plain structs and ids cannot fail; an empty cursor would be refused anyway.
    URL_SAFE_NO_PAD.encode(serde_json::to_vec(position).unwrap_or_default())
}

/// The position a cursor names; `None` when it is not a cursor of this kind.
pub fn decode_cursor<P: DeserializeOwned>(raw: &str) -> Option<P> {
    let bytes = URL_SAFE_NO_PAD.decode(raw).ok()?;
    serde_json::from_slice(&bytes).ok()
}

/// The id a cursor of an id-ordered list names.
pub fn id_cursor(cursor: Option<&str>) -> AppResult<Option<Uuid>> {
    cursor
        .map(|raw| {
            decode_cursor::<Uuid>(raw)
                .ok_or_else(|| AppError::BadRequest("the cursor is not valid".into()))
        })
        .transpose()
}

/// A page size as the queries take it; [`PageQuery`] has refused any outside the bounds.
pub fn page_size(limit: u32) -> i64 {
    i64::from(limit.clamp(1, MAX_LIMIT))
}

/// Rows fetched with `limit + 1`: the page's rows, and whether more follow.
pub fn split<R>(mut rows: Vec<R>, limit: i64) -> (Vec<R>, bool) {
    let more = rows.len() as i64 > limit;
    rows.truncate(limit as usize);
    (rows, more)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_extra_row_says_more_follow() {
        assert_eq!(split(vec![1, 2, 3], 2), (vec![1, 2], true));
        assert_eq!(split(vec![1, 2], 2), (vec![1, 2], false));
        assert!(Page::new(vec![1], false, |n: &i32| *n)
            .next_cursor
            .is_none());
    }

    #[test]
    fn an_id_cursor_names_the_last_id_opaquely() {
        let ids = vec![Uuid::now_v7(), Uuid::now_v7()];
        let page = Page::new(ids.clone(), true, |id| *id);
        let cursor = page.next_cursor.unwrap();
        assert!(!cursor.contains(&ids[1].to_string()));
        assert_eq!(id_cursor(Some(&cursor)).unwrap(), Some(ids[1]));
        assert!(id_cursor(Some("nope")).is_err());
        assert!(id_cursor(Some(&ids[1].to_string())).is_err());
        assert_eq!(id_cursor(None).unwrap(), None);
    }

    #[test]
    fn a_limit_outside_the_bounds_is_refused_not_cut_down() {
        let asking = |limit| PageQuery {
            cursor: None,
            limit,
        };
        assert_eq!(asking(None).limit().unwrap(), DEFAULT_LIMIT);
        assert_eq!(asking(None).limit_or(20).unwrap(), 20);
        assert_eq!(asking(Some(100)).limit().unwrap(), 100);
        assert_eq!(asking(Some(1)).limit().unwrap(), 1);
        assert!(matches!(
            asking(Some(101)).limit(),
            Err(AppError::Validation(_))
        ));
        assert!(asking(Some(0)).limit().is_err());
    }
}
