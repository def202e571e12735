//! Keyset pages over id-ordered lists: the cursor is the last id of the page before.

use super::error::{AppError, AppResult};
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

/// One page of a keyset-paginated list.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// Pass as `cursor` to get the next page; absent on the last page.
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// A page of `items`, with a cursor taken from the last one when `more` follow.
    pub fn new(items: Vec<T>, more: bool, cursor: impl Fn(&T) -> String) -> Page<T> {
        let next_cursor = if more { items.last().map(cursor) } else { None };
        Page { items, next_cursor }
    }
}

/// The id a cursor names.
pub fn id_cursor(cursor: Option<&str>) -> AppResult<Option<Uuid>> {
    cursor
        .map(|raw| {
            Uuid::parse_str(raw).map_err(|_| AppError::BadRequest("the cursor is not valid".into()))
        })
        .transpose()
}

/// A page size within 1..=100.
pub fn page_size(limit: u32) -> i64 {
    i64::from(limit.clamp(1, 100))
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
        let page = Page::new(vec![1, 2], true, |n| n.to_string());
        assert_eq!(page.next_cursor.as_deref(), Some("2"));
        assert!(Page::new(vec![1], false, |n: &i32| n.to_string())
            .next_cursor
            .is_none());
        assert!(id_cursor(Some("nope")).is_err());
        assert_eq!(page_size(0), 1);
        assert_eq!(page_size(1000), 100);
    }
}
