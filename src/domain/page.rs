//! Cursor pagination: every list answers `{items, next_cursor}`.
//!
//! Lists are ordered by id, and ids sort by creation time, so the cursor is
//! the last id (or sort key) of the previous page, followed by a short check
//! (`<key>.<8 hex digits>`): a cursor depot did not hand out — mistyped,
//! edited, or an id pasted in — is refused, rather than silently answering
//! a page after some arbitrary key. The check is a checksum, not a secret:
//! a cursor only says where a page starts, never what the caller may see.

use sha2::{Digest, Sha256};

pub const DEFAULT_LIMIT: i64 = 50;
pub const MAX_LIMIT: i64 = 500;
/// The message for a cursor depot could not have handed out.
pub const CURSOR_ERROR: &str = "is not a cursor depot handed out; pass a page's next_cursor as is";
/// The longest sort key a cursor carries (stock's `<lot id>_<location id>`).
const MAX_KEY: usize = 130;

/// The check of a key: 8 hex digits of its SHA-256, under a label of its own
/// so that no other hash depot writes is a valid check.
fn check_of(key: &str) -> String {
    let digest = Sha256::new()
        .chain_update(b"depot cursor\0")
        .chain_update(key.as_bytes())
        .finalize();
    digest[..4].iter().map(|b| format!("{b:02x}")).collect()
}

/// The cursor handed out for a page that ends at `key`.
pub fn encode_cursor(key: &str) -> String {
    format!("{key}.{}", check_of(key))
}

/// The key of a cursor depot handed out; None for anything else.
pub fn decode_cursor(cursor: &str) -> Option<&str> {
    let (key, check) = cursor.rsplit_once('.')?;
    let well_formed = !key.is_empty()
        && key.len() <= MAX_KEY
        && key.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_');
    (well_formed && check == check_of(key)).then_some(key)
}

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
        let after = match cursor.filter(|c| !c.is_empty()) {
            None => None,
            Some(c) => Some(decode_cursor(&c).ok_or(CURSOR_ERROR)?.to_string()),
        };
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
            rows.last().map(|r| encode_cursor(id(r)))
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
    fn a_cursor_must_be_one_depot_handed_out() {
        let handed_out = encode_cursor("mer_01ABC");
        let ok = PageRequest::parse(Some(handed_out.clone()), None).unwrap();
        assert_eq!(ok.after.as_deref(), Some("mer_01ABC"));
        let edited = handed_out.replace("ABC", "ABD");
        let long = encode_cursor(&"a".repeat(131));
        for bad in [
            "a\0b",
            "a b",
            "x'--",
            "mer_01ABC",
            "mer_01ABC.00000000",
            &edited,
            &long,
        ] {
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
        assert_eq!(page.next_cursor, Some(encode_cursor("b")));
        let last = Page::from_rows(vec!["c"], &request, |s| s);
        assert_eq!(last.next_cursor, None);
    }
}
