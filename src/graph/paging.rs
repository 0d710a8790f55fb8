//! Reads a whole Graph collection through `@odata.nextLink` only (never a hand-built skiptoken),
//! with limits: pages, records, a nextLink seen twice (a loop), and a nextLink that leaves the
//! Graph origin (it would carry the token elsewhere).

use std::collections::HashSet;

use reqwest::header::HeaderMap;
use serde::Deserialize;
use serde::de::DeserializeOwned;
use url::Url;

use crate::graph::http::{GraphHttp, redact_query};
use crate::tenant::TenantError;

/// One page: `{"value":[...], "@odata.nextLink":"..."}`.
#[derive(Deserialize)]
struct Page<T> {
    value: Vec<T>,
    #[serde(rename = "@odata.nextLink", default)]
    next_link: Option<String>,
}

/// What a collection read counted.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct CollectionStats {
    pub pages: u32,
    pub records: u64,
}

/// Reads every page of `first_url`, turning each record with `keep` (which may drop it).
pub async fn read_collection<T, U>(
    http: &GraphHttp,
    first_url: &str,
    headers: &HeaderMap,
    what: &str,
    mut keep: impl FnMut(T) -> Result<Option<U>, TenantError>,
) -> Result<(Vec<U>, CollectionStats), TenantError>
where
    T: DeserializeOwned,
{
    let origin = origin_of(first_url)?;
    let mut seen: HashSet<String> = HashSet::new();
    let mut next = Some(first_url.to_string());
    let mut kept = Vec::new();
    let mut stats = CollectionStats::default();
    while let Some(url) = next.take() {
        if stats.pages >= http.limits.max_pages_per_collection {
            return Err(TenantError::Malformed {
                detail: format!(
                    "{what}: more than {} pages; the collection never ends",
                    http.limits.max_pages_per_collection
                ),
            });
        }
        if !seen.insert(url.clone()) {
            return Err(TenantError::Malformed {
                detail: format!("{what}: page {} links back to an earlier page ({})", stats.pages, redact_query(&url)),
            });
        }
        let body = http.get(&url, headers).await?;
        let page: Page<T> = serde_json::from_slice(&body).map_err(|error| TenantError::Malformed {
            detail: format!("{what}: page {} is not a Graph collection page: {error}", stats.pages + 1),
        })?;
        drop(body);
        stats.pages += 1;
        stats.records += page.value.len() as u64;
        if stats.records > http.limits.max_records_per_collection {
            return Err(TenantError::Malformed {
                detail: format!("{what}: more than {} records", http.limits.max_records_per_collection),
            });
        }
        for record in page.value {
            if let Some(value) = keep(record)? {
                kept.push(value);
            }
        }
        next = page.next_link.map(|link| check_next_link(&origin, link, what)).transpose()?;
    }
    Ok((kept, stats))
}

/// GETs one object (the policy singletons).
pub async fn read_object<T: DeserializeOwned>(http: &GraphHttp, url: &str, what: &str) -> Result<T, TenantError> {
    let body = http.get(url, &HeaderMap::new()).await?;
    serde_json::from_slice(&body).map_err(|error| TenantError::Malformed {
        detail: format!("{what}: the reply is not the expected object: {error}"),
    })
}

fn origin_of(url: &str) -> Result<url::Origin, TenantError> {
    Url::parse(url)
        .map(|parsed| parsed.origin())
        .map_err(|error| TenantError::Malformed { detail: format!("{}: not a URL: {error}", redact_query(url)) })
}

fn check_next_link(origin: &url::Origin, link: String, what: &str) -> Result<String, TenantError> {
    let link_origin = origin_of(&link)?;
    if &link_origin != origin {
        return Err(TenantError::Malformed {
            detail: format!("{what}: @odata.nextLink points to another host ({})", link_origin.ascii_serialization()),
        });
    }
    Ok(link)
}
