//! Cursor pagination: every list answers `{items, next_cursor}`.
//!
//! Lists are ordered by id, and ids sort by creation time, so the cursor is
//! simply the last id of the previous page.

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;
/// The message for a cursor depot could not have handed out.
pub const CURSOR_ERROR: &str = "is not a cursor depot handed out; pass a page's next_cursor as is";

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PageRequest {
    /// Return items whose id sorts after this one.
    pub after: Option<String>,
    pub limit: i64,
}

impl PageRequest {
    pub fn parse(cursor: Option<String>, limit: Option<i64>) -> Result<PageRequest, String> {
        let limit = limit.unwrap_or(DEFAULT_LIMIT);
        if !(1..=MAX_LIMIT).contains(&limit) {
            return Err(format!("must be from 1 to {MAX_LIMIT}"));
        }
        let after = cursor.filter(|c| !c.is_empty());
        if let Some(c) = &after {
            // Cursors are ids depot handed out: short, ASCII letters, digits and '_'.
            if c.len() > 64 || !c.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(CURSOR_ERROR.into());
            }
        }
        Ok(PageRequest { after, limit })
    }

    /// Rows to fetch: one more than the page, to learn whether another follows.
    pub fn fetch(&self) -> i64 {
        self.limit + 1
    }
}

/// One page of a list, with the cursor of the next page if there is one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    pub next_cursor: Option<String>,
}

impl<T> Page<T> {
    /// Builds a page from up to `request.fetch()` rows ordered by id.
    pub fn from_rows(mut rows: Vec<T>, request: &PageRequest, id: impl Fn(&T) -> &str) -> Page<T> {
        let more = rows.len() as i64 > request.limit;
        rows.truncate(request.limit as usize);
        let next_cursor = if more {
            rows.last().map(|r| id(r).to_string())
        } else {
            None
        };
        Page {
            items: rows,
            next_cursor,
        }
    }

    pub fn map<U>(self, f: impl FnMut(T) -> U) -> Page<U> {
        Page {
            items: self.items.into_iter().map(f).collect(),
            next_cursor: self.next_cursor,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn limit_defaults_and_is_bounded() {
        assert_eq!(PageRequest::parse(None, None).unwrap().limit, DEFAULT_LIMIT);
        assert!(PageRequest::parse(None, Some(0)).is_err());
        assert!(PageRequest::parse(None, Some(MAX_LIMIT + 1)).is_err());
    }

    #[test]
    fn a_cursor_must_look_like_an_id() {
        let ok = PageRequest::parse(Some("mer_01ABC".into()), None).unwrap();
        assert_eq!(ok.after.as_deref(), Some("mer_01ABC"));
        for bad in ["a\0b", "a b", "x'--", &"a".repeat(65)] {
            assert_eq!(
                PageRequest::parse(Some(bad.to_string()), None),
                Err(CURSOR_ERROR.to_string()),
                "{bad:?}"
            );
        }
    }

    #[test]
    fn a_full_fetch_yields_a_cursor_and_a_short_one_does_not() {
        let request = PageRequest::parse(None, Some(2)).unwrap();
        let page = Page::from_rows(vec!["a", "b", "c"], &request, |s| s);
        assert_eq!(page.items, vec!["a", "b"]);
        assert_eq!(page.next_cursor.as_deref(), Some("b"));
        let last = Page::from_rows(vec!["c"], &request, |s| s);
        assert_eq!(last.next_cursor, None);
    }
}
