//! Get All, paged: `pageSize` 1,000 from `pageIndex` 0 until a short page. Pages are
//! fetched `window` at a time concurrently, speculatively past the last known full page,
//! so N pages cost about N / window round trips. Order is kept; duplicates (a customer
//! seen on two pages because the list shifted) are dropped by id.

use std::collections::HashSet;
use std::future::Future;

use serde_json::Value;

use super::ApiError;

/// The page size the client asks for (the API's maximum).
pub const PAGE_SIZE: usize = 1000;
/// Pages fetched concurrently per round.
pub const WINDOW: usize = 4;
/// A guard against a server that ignores `pageIndex`.
const MAX_PAGES: usize = 100_000;

/// Fetch every page with `fetch(page_index)`.
pub async fn fetch_all<F, Fut>(
    page_size: usize,
    window: usize,
    fetch: F,
) -> Result<Vec<Value>, ApiError>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<Vec<Value>, ApiError>>,
{
    let window = window.max(1);
    let mut seen = HashSet::new();
    let mut out = Vec::new();
    let mut next = 0;
    while next < MAX_PAGES {
        let pages = futures_util::future::try_join_all((next..next + window).map(&fetch)).await?;
        let before = out.len();
        for page in pages {
            let short = page.len() < page_size;
            for item in page {
                let key = match item.get("id") {
                    Some(Value::String(s)) => Some(s.clone()),
                    Some(other) => Some(other.to_string()),
                    None => None,
                };
                if key.is_none_or(|k| seen.insert(k)) {
                    out.push(item);
                }
            }
            if short {
                return Ok(out);
            }
        }
        if out.len() == before {
            return Err(ApiError::Decode {
                method: "GET".into(),
                path: "/customers".into(),
                status: 200,
                reason:
                    "full pages repeat the same customers: the server seems to ignore pageIndex"
                        .into(),
            });
        }
        next += window;
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn pages(total: usize, size: usize, window: usize) -> (usize, Vec<usize>) {
        let calls = Mutex::new(Vec::new());
        let items: Vec<Value> = (0..total).map(|i| serde_json::json!({"id": i})).collect();
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let got = rt
            .block_on(fetch_all(size, window, |i| {
                calls.lock().unwrap().push(i);
                let page: Vec<Value> = items.iter().skip(i * size).take(size).cloned().collect();
                async move { Ok(page) }
            }))
            .unwrap();
        let ids: Vec<usize> = got
            .iter()
            .map(|v| v["id"].as_u64().unwrap() as usize)
            .collect();
        assert_eq!(ids, (0..total).collect::<Vec<_>>());
        let calls = calls.into_inner().unwrap();
        (got.len(), calls)
    }

    #[test]
    fn ten_thousand_in_three_rounds() {
        let (n, calls) = pages(10_000, 1000, 4);
        assert_eq!(n, 10_000);
        assert_eq!(calls.len(), 12);
    }

    #[test]
    fn edges() {
        assert_eq!(pages(0, 1000, 4).1.len(), 4);
        assert_eq!(pages(2500, 1000, 4).0, 2500);
        assert_eq!(pages(4000, 1000, 4).1.len(), 8);
        assert_eq!(pages(7, 2, 1).1.len(), 4);
    }

    #[test]
    fn duplicates_are_dropped_and_a_stuck_server_is_an_error() {
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap();
        let r = rt.block_on(fetch_all(2, 2, |_| async {
            Ok(vec![
                serde_json::json!({"id": "a"}),
                serde_json::json!({"id": "b"}),
            ])
        }));
        assert!(matches!(r, Err(ApiError::Decode { .. })));
    }
}
