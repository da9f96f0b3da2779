//! The web UI's routes: the app shell (`web/dist/index.html`) at each path the UI shows a page
//! at, its content-hashed assets under `/assets/`, the favicon, and Prometheus 3's redirects
//! (`/` → `/query`; `/graph?…` → `/query?…`, since alerts' `generatorURL` points at `/graph`).
//! The files are built by `web/build.sh`, committed, and embedded at compile time, so the
//! binary serves them with no `web/` directory and `cargo build` needs no Node.
//!
//! Not here: the pages (client-side, `web/src/`) and any data: the UI reads the same
//! `/api/v1` and `/api/v2` as any other client. Paths outside the UI's keep the server's 404.

use std::borrow::Cow;

use axum::body::{Body, Bytes};
use axum::extract::{Path, RawQuery};
use axum::http::{header, HeaderMap, HeaderValue, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::Router;

#[derive(rust_embed::Embed)]
// Relative to this crate's Cargo.toml.
#[folder = "../../web/dist"]
struct Dist;

/// The paths the UI's router shows a page at: Prometheus 3's, then the Alertmanager's and the
/// dashboards' and the log explorer's. The shell answers each; the page itself may say it is not built yet.
const APP_PATHS: &[&str] = &[
    "/query",
    "/alerts",
    "/rules",
    "/targets",
    "/service-discovery",
    "/alertmanager-discovery",
    "/status",
    "/tsdb-status",
    "/flags",
    "/config",
    "/alertmanager/{*page}",
    "/dashboards",
    "/d/{*uid}",
    "/logs",
];

/// Assets are named by their content's hash, so a browser may keep them for good.
const CACHE_IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// The shell and the favicon keep their names across builds: revalidated (ETag) on each use.
const CACHE_REVALIDATE: &str = "no-cache";

/// The UI's routes, for any router state.
pub(crate) fn routes<S: Clone + Send + Sync + 'static>() -> Router<S> {
    let mut router = Router::new()
        .route("/", get(|| async { found("/query") }))
        .route("/graph", get(graph))
        .route("/favicon.svg", get(favicon))
        .route("/assets/{*file}", get(asset));
    for path in APP_PATHS {
        router = router.route(path, get(shell));
    }
    router
}

/// A 302, as Prometheus' redirects answer.
fn found(location: &str) -> Response {
    match HeaderValue::from_str(location) {
        Ok(v) => (StatusCode::FOUND, [(header::LOCATION, v)]).into_response(),
        Err(_) => (StatusCode::FOUND, [(header::LOCATION, "/query")]).into_response(),
    }
}

/// `/graph`, the query page of Prometheus 2 and of alerts' links: the query page, keeping the
/// panels in the query string.
async fn graph(RawQuery(query): RawQuery) -> Response {
    match query.filter(|q| !q.is_empty()) {
        Some(q) => found(&format!("/query?{q}")),
        None => found("/query"),
    }
}

async fn shell(headers: HeaderMap) -> Response {
    file("index.html", &headers, CACHE_REVALIDATE)
}

async fn favicon(headers: HeaderMap) -> Response {
    file("favicon.svg", &headers, CACHE_REVALIDATE)
}

async fn asset(Path(name): Path<String>, headers: HeaderMap) -> Response {
    file(&format!("assets/{name}"), &headers, CACHE_IMMUTABLE)
}

/// An embedded file with its content type, caching header and ETag (its SHA-256), or 304 when
/// the browser's copy has that ETag.
fn file(path: &str, headers: &HeaderMap, cache: &'static str) -> Response {
    let Some(f) = Dist::get(path) else {
        return (StatusCode::NOT_FOUND, "404 page not found\n").into_response();
    };
    let etag = etag(&f.metadata.sha256_hash());
    let common = [
        (header::CACHE_CONTROL, HeaderValue::from_static(cache)),
        (
            header::X_CONTENT_TYPE_OPTIONS,
            HeaderValue::from_static("nosniff"),
        ),
    ];
    if matches_etag(headers, &etag) {
        return (StatusCode::NOT_MODIFIED, common, [(header::ETAG, etag)]).into_response();
    }
    let mime = f.metadata.mimetype();
    let content_type = if mime.starts_with("text/") {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    };
    let body = match f.data {
        Cow::Borrowed(b) => Bytes::from_static(b),
        Cow::Owned(v) => Bytes::from(v),
    };
    (
        common,
        [(header::ETAG, etag)],
        [(header::CONTENT_TYPE, content_type)],
        Body::from(body),
    )
        .into_response()
}

/// A strong ETag from the first 16 bytes of the file's SHA-256.
fn etag(sha256: &[u8; 32]) -> String {
    let mut s = String::with_capacity(34);
    s.push('"');
    for b in &sha256[..16] {
        s.push_str(&format!("{b:02x}"));
    }
    s.push('"');
    s
}

/// Whether `If-None-Match` names `etag` (or is `*`); weak validators match too, as RFC 9110's
/// weak comparison for GET has it.
fn matches_etag(headers: &HeaderMap, etag: &str) -> bool {
    headers
        .get_all(header::IF_NONE_MATCH)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .map(|t| t.trim())
        .any(|t| t == "*" || t.strip_prefix("W/").unwrap_or(t) == etag)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shell_points_at_embedded_assets() {
        let index = Dist::get("index.html").expect("web/dist/index.html is embedded");
        let html = std::str::from_utf8(&index.data).expect("UTF-8");
        let mut refs = 0;
        for part in html.split("/assets/").skip(1) {
            let name = part.split('"').next().unwrap_or_default();
            assert!(
                Dist::get(&format!("assets/{name}")).is_some(),
                "index.html names assets/{name}, which web/dist lacks"
            );
            refs += 1;
        }
        assert_eq!(
            refs, 3,
            "index.html names the script, the stylesheet and the licences"
        );
    }

    #[test]
    fn if_none_match_accepts_lists_weak_tags_and_star() {
        let mut h = HeaderMap::new();
        h.insert(
            header::IF_NONE_MATCH,
            HeaderValue::from_static("\"x\", W/\"abc\""),
        );
        assert!(matches_etag(&h, "\"abc\""));
        assert!(!matches_etag(&h, "\"abd\""));
        h.insert(header::IF_NONE_MATCH, HeaderValue::from_static("*"));
        assert!(matches_etag(&h, "\"abc\""));
        assert!(!matches_etag(&HeaderMap::new(), "\"abc\""));
    }
}
