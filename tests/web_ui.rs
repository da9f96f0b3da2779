//! The web UI as the server serves it: Prometheus 3's redirects (`/` and `/graph`), the app
//! shell at the UI's paths only (API and unknown paths keep their 404s), content types,
//! caching (hashed assets kept for good, the shell revalidated by ETag) and gzip. What the
//! pages do in a browser is `tests/browser/`'s.

mod common;

use common::server::{quiet_config, Server, WAIT};
use reqwest::blocking::Client;
use reqwest::header;
use reqwest::StatusCode;

fn start(tmp: &std::path::Path) -> Server {
    let args = vec![
        "--storage.tsdb.path".into(),
        tmp.join("data").into_os_string(),
        "--config.file".into(),
        quiet_config(tmp).into_os_string(),
    ];
    Server::spawn(args, tmp.join("server.log"))
}

/// A client that shows redirects and encodings instead of following and decoding them.
fn raw_client() -> Client {
    Client::builder()
        .timeout(WAIT)
        .redirect(reqwest::redirect::Policy::none())
        .no_gzip()
        .build()
        .unwrap()
}

#[test]
fn ui_routes_redirects_caching_and_compression() {
    let tmp = tempfile::tempdir().unwrap();
    let s = start(tmp.path());
    let http = raw_client();
    let get = |path: &str| http.get(s.url(path)).send().unwrap();

    // Prometheus 3's redirects: `/` to the query page, `/graph` (alerts' generatorURL) to
    // `/query` with the panels' query string unchanged.
    let r = get("/");
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(r.headers()[header::LOCATION], "/query");
    let r = get("/graph?g0.expr=up%7Bjob%3D%22a%22%7D&g0.tab=1");
    assert_eq!(r.status(), StatusCode::FOUND);
    assert_eq!(
        r.headers()[header::LOCATION],
        "/query?g0.expr=up%7Bjob%3D%22a%22%7D&g0.tab=1"
    );
    assert_eq!(get("/graph").headers()[header::LOCATION], "/query");

    // The shell at every UI path, revalidated by ETag.
    let shell = get("/query");
    assert_eq!(shell.status(), StatusCode::OK);
    assert_eq!(
        shell.headers()[header::CONTENT_TYPE],
        "text/html; charset=utf-8"
    );
    assert_eq!(shell.headers()[header::CACHE_CONTROL], "no-cache");
    let etag = shell.headers()[header::ETAG].clone();
    let html = shell.text().unwrap();
    for path in [
        "/alerts",
        "/rules",
        "/targets",
        "/service-discovery",
        "/alertmanager-discovery",
        "/status",
        "/tsdb-status",
        "/flags",
        "/config",
        "/alertmanager/alerts",
        "/alertmanager/silences",
        "/dashboards",
        "/d/node-exporter",
    ] {
        let r = get(path);
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(r.text().unwrap(), html, "{path}");
    }
    let r = http
        .get(s.url("/query"))
        .header(header::IF_NONE_MATCH, etag.clone())
        .send()
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_MODIFIED);
    assert_eq!(r.headers()[header::ETAG], etag);

    // Paths outside the UI keep their 404s, the API's included.
    for path in ["/nope", "/api/v1/nope", "/assets/nope.js", "/query/extra"] {
        assert_eq!(get(path).status(), StatusCode::NOT_FOUND, "{path}");
    }

    // The assets the shell names: right types, cached for good (their names carry a hash),
    // gzipped for a client that accepts it.
    let asset = |ext: &str| {
        html.split('"')
            .find(|s| s.starts_with("/assets/") && s.ends_with(ext))
            .unwrap_or_else(|| panic!("the shell names no {ext} asset: {html}"))
            .to_string()
    };
    for (ext, content_type) in [
        (".js", "text/javascript; charset=utf-8"),
        (".css", "text/css; charset=utf-8"),
        (".txt", "text/plain; charset=utf-8"),
    ] {
        let path = asset(ext);
        let r = http
            .get(s.url(&path))
            .header(header::ACCEPT_ENCODING, "gzip")
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{path}");
        assert_eq!(r.headers()[header::CONTENT_TYPE], content_type, "{path}");
        assert_eq!(
            r.headers()[header::CACHE_CONTROL],
            "public, max-age=31536000, immutable"
        );
        assert_eq!(r.headers()[header::CONTENT_ENCODING], "gzip", "{path}");
        assert!(r.headers().contains_key(header::ETAG));
    }
    let icon = get("/favicon.svg");
    assert_eq!(icon.status(), StatusCode::OK);
    assert_eq!(icon.headers()[header::CONTENT_TYPE], "image/svg+xml");
}
