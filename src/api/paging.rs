//! Get All, paged, told truthfully or failed: `pageSize` 1,000 from `pageIndex` 0, pages
//! fetched concurrently a few at a time, in order, and **only an empty page ends the
//! list**. A short page does not: a server that caps `pageSize` below what was asked (and
//! says so in `page_size`), or that returns one page one item short although more follow,
//! cannot make dimctl stop early and miss customers. The cost is one request more per
//! listing than it has pages (`ceil(N / page size) + 1` at least; the first round asks
//! for two pages (one for a filtered look-up, which an empty first page ends), later
//! rounds for [`WINDOW`], so a round past the end costs a few speculative requests that
//! come back empty).
//!
//! A page that breaks the API's promises is an error naming its `pageIndex`, never "no
//! customers": a page without `data` or with `data` that is not an array (the envelope
//! parser refuses those), more items than its own `page_size`, a customer without an id,
//! the same id on two pages, a page that repeats an earlier one, items after an empty page,
//! or a listing longer than the caller's bound (`--max-customers`). No page already
//! fetched is ever thrown away.

use std::collections::HashMap;
use std::future::Future;

use serde_json::Value;

use super::ApiError;

/// The page size the client asks for (the API's maximum).
pub const PAGE_SIZE: usize = 1000;
/// Pages fetched concurrently per round (after the first, which asks for two).
pub const WINDOW: usize = 4;
/// The default bound on customers one listing may return (`--max-customers`).
pub const DEFAULT_MAX_CUSTOMERS: usize = 1_000_000;

/// One page as the server answered it: its items as JSON values, or already made into
/// what the caller keeps (the HTTP client turns a page of customers into
/// [`crate::model::LiveCustomer`]s on a blocking thread, pages in parallel).
#[derive(Debug, Clone, PartialEq)]
pub struct Page<T = Value> {
    pub items: Vec<T>,
    /// The server's own `page_size`, when it reports one.
    pub page_size: Option<usize>,
}

impl<T> Default for Page<T> {
    fn default() -> Self {
        Page {
            items: Vec::new(),
            page_size: None,
        }
    }
}

/// An item of a listing: what its id is (`None`: it has none, an error).
pub trait Listed {
    fn listed_id(&self) -> Option<String>;
}

impl Listed for Value {
    fn listed_id(&self) -> Option<String> {
        id_of(self)
    }
}

impl Listed for crate::model::LiveCustomer {
    fn listed_id(&self) -> Option<String> {
        Some(self.id.clone())
    }
}

/// The error for an item without an id on page `index`.
pub fn without_id(path: &str, index: usize) -> ApiError {
    bad(
        path,
        format!("pageIndex {index} holds a customer without an id"),
    )
}

/// How a listing is paged and bounded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Paging {
    /// Pages fetched in the first round: 2 for a full listing (most accounts fit one
    /// page, and the empty second page ends it in the same round trip), 1 for a filtered
    /// look-up (which usually finds nothing, and an empty first page ends it).
    pub first: usize,
    /// Pages fetched at once after the first round.
    pub window: usize,
    /// More customers than this is an error (a server that keeps returning new pages).
    pub max_items: usize,
}

impl Default for Paging {
    fn default() -> Self {
        Paging {
            first: 2,
            window: WINDOW,
            max_items: DEFAULT_MAX_CUSTOMERS,
        }
    }
}

fn bad(path: &str, reason: String) -> ApiError {
    ApiError::Decode {
        method: "GET".into(),
        path: path.into(),
        status: 200,
        reason,
    }
}

/// An item's `id`, usable as [`crate::model::live`] judges one (a non-empty string or a
/// number).
fn id_of(item: &Value) -> Option<String> {
    crate::model::live::id_of(item.as_object()?, "id")
}

/// A digest of a page's ids in order (SipHash with fixed keys: the same on every run).
fn digest<I: Listed>(items: &[I]) -> u64 {
    use std::hash::{Hash, Hasher};
    let mut h = std::hash::DefaultHasher::new();
    for item in items {
        item.listed_id().hash(&mut h);
    }
    h.finish()
}

/// Fetch every page with `fetch(page_index)`; `path` names the collection in errors.
pub async fn fetch_all<F, Fut>(path: &str, paging: Paging, fetch: F) -> Result<Vec<Value>, ApiError>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<Page, ApiError>>,
{
    fetch_all_into(path, paging, fetch, Ok).await
}

/// [`fetch_all`], turning each item into what the caller keeps (`keep`) as soon as its
/// page has passed the checks, so a listing of 100,000 is never held as JSON values all at
/// once (only the pages of one round are).
pub async fn fetch_all_into<F, Fut, I, T, K>(
    path: &str,
    paging: Paging,
    fetch: F,
    mut keep: K,
) -> Result<Vec<T>, ApiError>
where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = Result<Page<I>, ApiError>>,
    I: Listed,
    K: FnMut(I) -> Result<T, ApiError>,
{
    let window = paging.window.max(1);
    // Which page each id was first seen on, and each page's length and digest of its ids
    // (to name a repeated page without keeping every id twice).
    let mut seen: HashMap<String, usize> = HashMap::new();
    let mut page_ids: Vec<(usize, u64)> = Vec::new();
    let mut out = Vec::new();
    let mut ended: Option<usize> = None;
    let mut next = 0;
    let mut round = 0;
    loop {
        let size = if round == 0 {
            paging.first.max(1)
        } else {
            window
        };
        round += 1;
        let pages = futures_util::future::try_join_all((next..next + size).map(&fetch)).await?;
        for (offset, page) in pages.into_iter().enumerate() {
            let index = next + offset;
            if let Some(end) = ended {
                if !page.items.is_empty() {
                    return Err(bad(
                        path,
                        format!(
                            "pageIndex {index} has {} customers although pageIndex {end} was empty: the listing is inconsistent",
                            page.items.len()
                        ),
                    ));
                }
                continue;
            }
            if page.items.is_empty() {
                ended = Some(index);
                continue;
            }
            if let Some(ps) = page.page_size
                && ps > 0
                && page.items.len() > ps
            {
                return Err(bad(
                    path,
                    format!(
                        "pageIndex {index} holds {} customers, more than its own page_size {ps}",
                        page.items.len()
                    ),
                ));
            }
            for item in &page.items {
                let Some(id) = item.listed_id() else {
                    return Err(without_id(path, index));
                };
                if let Some(&first) = seen.get(&id) {
                    let this = (page.items.len(), digest(&page.items));
                    if let Some(p) = page_ids.iter().position(|earlier| *earlier == this) {
                        return Err(bad(
                            path,
                            format!(
                                "pageIndex {index} repeats pageIndex {p}: the server seems to ignore pageIndex"
                            ),
                        ));
                    }
                    return Err(bad(
                        path,
                        format!(
                            "customer id {id} is listed on pageIndex {first} and again on pageIndex {index}: the listing shifted or repeats; try again"
                        ),
                    ));
                }
                seen.insert(id, index);
            }
            page_ids.push((page.items.len(), digest(&page.items)));
            for item in page.items {
                out.push(keep(item)?);
            }
            if out.len() > paging.max_items {
                return Err(bad(
                    path,
                    format!(
                        "the listing passed {} customers at pageIndex {index} and still returns full pages; stopped (raise --max-customers if the account is really that large)",
                        paging.max_items
                    ),
                ));
            }
        }
        if ended.is_some() {
            return Ok(out);
        }
        next += size;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;

    fn rt() -> tokio::runtime::Runtime {
        tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
    }

    /// A server holding `total` items that serves pages of `cap` (whatever was asked),
    /// reporting `page_size`.
    fn listing(total: usize, cap: usize, window: usize) -> (Vec<Value>, Vec<usize>) {
        let calls = Mutex::new(Vec::new());
        let items: Vec<Value> = (0..total).map(|i| serde_json::json!({"id": i})).collect();
        let got = rt()
            .block_on(fetch_all(
                "/customers",
                Paging {
                    window,
                    ..Paging::default()
                },
                |i| {
                    calls.lock().unwrap().push(i);
                    let page: Vec<Value> = items.iter().skip(i * cap).take(cap).cloned().collect();
                    async move {
                        Ok(Page {
                            items: page,
                            page_size: Some(cap),
                        })
                    }
                },
            ))
            .unwrap();
        (got, calls.into_inner().unwrap())
    }

    fn ids(v: &[Value]) -> Vec<usize> {
        v.iter()
            .map(|v| v["id"].as_u64().unwrap() as usize)
            .collect()
    }

    #[test]
    fn ten_thousand_in_order_with_a_bounded_number_of_requests() {
        let (got, calls) = listing(10_000, 1000, 4);
        assert_eq!(ids(&got), (0..10_000).collect::<Vec<_>>());
        // 10 full pages + the empty 11th, rounds of 2, 4, 4, 4 = 14 requests.
        assert_eq!(calls.len(), 14);
    }

    #[test]
    fn edges_cost_one_page_more_than_the_data() {
        assert_eq!(listing(0, 1000, 4).1.len(), 2);
        assert_eq!(listing(7, 1000, 4).1.len(), 2);
        assert_eq!(listing(2500, 1000, 4).0.len(), 2500);
        assert_eq!(ids(&listing(7, 2, 1).0), (0..7).collect::<Vec<_>>());
    }

    #[test]
    fn a_server_capping_the_page_size_is_followed_to_the_end() {
        let (got, _) = listing(2_345, 100, 4);
        assert_eq!(ids(&got), (0..2_345).collect::<Vec<_>>());
    }

    #[test]
    fn a_short_page_in_the_middle_does_not_end_the_list() {
        // Page 1 comes back one short although pages 2 and 3 follow.
        let got = rt()
            .block_on(fetch_all("/customers", Paging::default(), |i| async move {
                let n = match i {
                    0 | 2 => 10,
                    1 => 9,
                    3 => 4,
                    _ => 0,
                };
                Ok(Page {
                    items: (0..n)
                        .map(|k| serde_json::json!({"id": i * 100 + k}))
                        .collect(),
                    page_size: Some(10),
                })
            }))
            .unwrap();
        assert_eq!(got.len(), 10 + 9 + 10 + 4);
    }

    fn fails(pages: Vec<Vec<Value>>, max_items: usize) -> String {
        let r = rt().block_on(fetch_all(
            "/customers",
            Paging {
                max_items,
                ..Paging::default()
            },
            |i| {
                let items = pages.get(i).cloned().unwrap_or_default();
                async move {
                    Ok(Page {
                        items,
                        page_size: Some(2),
                    })
                }
            },
        ));
        match r {
            Err(e @ ApiError::Decode { .. }) => e.to_string(),
            other => panic!("expected an error, got {other:?}"),
        }
    }

    #[test]
    fn lies_are_errors_naming_the_page() {
        use serde_json::json;
        let ab = vec![json!({"id": "a"}), json!({"id": "b"})];
        let e = fails(vec![ab.clone(), ab.clone()], 100);
        assert!(e.contains("pageIndex 1 repeats pageIndex 0"), "{e}");
        let e = fails(
            vec![ab.clone(), vec![json!({"id": "c"}), json!({"id": "a"})]],
            100,
        );
        assert!(
            e.contains("id a is listed on pageIndex 0 and again on pageIndex 1"),
            "{e}"
        );
        let e = fails(vec![vec![json!({"name": "no id"})]], 100);
        assert!(
            e.contains("pageIndex 0 holds a customer without an id"),
            "{e}"
        );
        let cd = vec![json!({"id": "c"}), json!({"id": "d"})];
        let e = fails(vec![ab.clone(), cd, vec![], vec![json!({"id": "e"})]], 100);
        assert!(
            e.contains("pageIndex 3 has 1 customers although pageIndex 2"),
            "{e}"
        );
        let e = fails(
            vec![vec![json!({"id": 1}), json!({"id": 2}), json!({"id": 3})]],
            100,
        );
        assert!(e.contains("more than its own page_size 2"), "{e}");
    }

    #[test]
    fn a_listing_past_the_bound_stops_with_an_error() {
        let n = std::sync::atomic::AtomicUsize::new(0);
        let r = rt().block_on(fetch_all(
            "/customers",
            Paging {
                max_items: 50,
                ..Paging::default()
            },
            |_| {
                let base = n.fetch_add(10, std::sync::atomic::Ordering::SeqCst);
                async move {
                    Ok(Page {
                        items: (base..base + 10)
                            .map(|k| serde_json::json!({"id": k}))
                            .collect(),
                        page_size: Some(10),
                    })
                }
            },
        ));
        let e = r.unwrap_err().to_string();
        assert!(e.contains("passed 50 customers"), "{e}");
    }
}
