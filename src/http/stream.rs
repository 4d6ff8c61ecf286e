//! Bodies streamed a page at a time (a manifest's parcels, an EPCIS
//! document's events): any size answers in bounded memory.

use std::future::Future;

use actix_web::web::Bytes;
use futures_util::{stream, Stream, StreamExt};

use crate::error::AppError;

/// A page's rows and the key the next page starts from (None: it was the
/// last).
pub type Fetched<K, R> = (Vec<R>, Option<K>);

/// `head`, then every page that `fetch` answers, from the key `start` on,
/// written by `render` (told whether it is the first page), then `tail`.
/// An empty page ends the body.
///
/// Once the head is sent the status is too: a failing page ends the body
/// short, which the client sees as a broken transfer rather than as a
/// complete document.
pub fn paged<K, R, F, Fut, W>(
    head: String,
    start: K,
    fetch: F,
    mut render: W,
    tail: &'static str,
) -> impl Stream<Item = Result<Bytes, AppError>>
where
    K: 'static,
    R: 'static,
    F: Fn(K) -> Fut + 'static,
    Fut: Future<Output = Result<Fetched<K, R>, AppError>> + 'static,
    W: FnMut(&[R], bool) -> String + 'static,
{
    let pages = stream::unfold(Some((start, true)), move |state| {
        let fetching = state.map(|(key, first)| (fetch(key), first));
        async move {
            let (page, first) = fetching?;
            match page.await {
                Ok((rows, _)) if rows.is_empty() => None,
                Ok((rows, next)) => Some((Ok((rows, first)), next.map(|key| (key, false)))),
                Err(e) => Some((Err(e), None)),
            }
        }
    })
    .map(move |page| page.map(|(rows, first)| Bytes::from(render(&rows, first))));
    stream::once(async move { Ok(Bytes::from(head)) })
        .chain(pages)
        .chain(stream::once(async move {
            Ok(Bytes::from_static(tail.as_bytes()))
        }))
}

/// A page's items as JSON array elements: `write` renders one, and a comma
/// goes before every item but the very first of the list.
pub fn json_items<R>(rows: &[R], first_page: bool, mut write: impl FnMut(&R) -> String) -> String {
    let mut out = String::new();
    for (i, row) in rows.iter().enumerate() {
        if !(first_page && i == 0) {
            out.push(',');
        }
        out.push_str(&write(row));
    }
    out
}
