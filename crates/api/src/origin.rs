//! Refusing state-changing requests that another web site made a browser send. A page on any
//! site can make its visitor's browser POST a simple request (no preflight) to
//! `http://localhost:9090/-/quit`; browsers say where such a request comes from, tools like
//! `curl` say nothing. So: `Sec-Fetch-Site` other than `same-origin` or `none` (typed by the
//! user) is refused, and without it an `Origin` whose host differs from the request's `Host`.
//! A request with neither header (curl, Prometheus tooling) passes, as with Prometheus.

use axum::http::header::{HOST, ORIGIN};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

/// The 403 answer when the request came from another site.
pub(crate) fn cross_site_refusal(headers: &HeaderMap) -> Option<Response> {
    from_another_site(headers).then(|| {
        (
            StatusCode::FORBIDDEN,
            "cross-site request refused: this endpoint only takes requests from the same origin or from tools\n",
        )
            .into_response()
    })
}

fn from_another_site(headers: &HeaderMap) -> bool {
    let value = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some(site) = value("sec-fetch-site") {
        return !matches!(site, "same-origin" | "none");
    }
    let Some(origin) = headers.get(ORIGIN).and_then(|v| v.to_str().ok()) else {
        return false;
    };
    // `Origin: null` comes from sandboxed or file pages: another site too.
    let origin_host = origin.split_once("://").map(|(_, rest)| rest);
    let host = headers.get(HOST).and_then(|v| v.to_str().ok());
    match (origin_host, host) {
        (Some(o), Some(h)) => !o.eq_ignore_ascii_case(h),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(&'static str, &'static str)]) -> HeaderMap {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        h
    }

    #[test]
    fn other_sites_are_refused_and_tools_pass() {
        for (pairs, refused) in [
            (vec![], false),
            (vec![("host", "localhost:9090")], false),
            (vec![("sec-fetch-site", "same-origin")], false),
            (vec![("sec-fetch-site", "none")], false),
            (vec![("sec-fetch-site", "cross-site")], true),
            (vec![("sec-fetch-site", "same-site")], true),
            (
                vec![
                    ("host", "localhost:9090"),
                    ("origin", "http://localhost:9090"),
                ],
                false,
            ),
            (
                vec![
                    ("host", "localhost:9090"),
                    ("origin", "http://evil.example"),
                ],
                true,
            ),
            (
                vec![
                    ("host", "localhost:9090"),
                    ("origin", "http://localhost:8080"),
                ],
                true,
            ),
            (vec![("host", "localhost:9090"), ("origin", "null")], true),
        ] {
            assert_eq!(from_another_site(&headers(&pairs)), refused, "{pairs:?}");
        }
    }
}
