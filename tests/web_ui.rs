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
        "/logs",
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

/// `/api/v1/dashboards`: the shipped dashboards and the folder's, read at each request (an
/// edit shows at once); a bad file and a duplicated uid are errors of their own files only.
#[test]
fn dashboards_api_lists_shipped_and_folder_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("dashboards");
    std::fs::create_dir(&dir).unwrap();
    std::fs::write(
        dir.join("mine.json"),
        r#"{"uid":"mine","title":"Mine","tags":["t"],"panels":[]}"#,
    )
    .unwrap();
    let s = Server::spawn(
        vec![
            "--storage.tsdb.path".into(),
            tmp.path().join("data").into_os_string(),
            "--config.file".into(),
            quiet_config(tmp.path()).into_os_string(),
            "--web.dashboards-dir".into(),
            dir.clone().into_os_string(),
        ],
        tmp.path().join("server.log"),
    );
    let http = Client::builder().timeout(WAIT).build().unwrap();
    let get = |path: &str| -> (StatusCode, serde_json::Value) {
        let r = http.get(s.url(path)).send().unwrap();
        (r.status(), r.json().unwrap())
    };
    let list = |v: &serde_json::Value| -> Vec<(String, Option<String>)> {
        v["data"]
            .as_array()
            .unwrap()
            .iter()
            .map(|d| {
                (
                    d["uid"].as_str().unwrap().to_string(),
                    d["error"].as_str().map(String::from),
                )
            })
            .collect()
    };

    let (status, body) = get("/api/v1/dashboards");
    assert_eq!(status, StatusCode::OK);
    let uids = list(&body);
    for shipped in ["bongsu-health", "node-exporter", "service-red", "mine"] {
        assert!(
            uids.contains(&(shipped.to_string(), None)),
            "{shipped} in {uids:?}"
        );
    }
    let mine = body["data"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["uid"] == "mine")
        .unwrap();
    assert_eq!(mine["title"], "Mine");
    assert_eq!(mine["tags"], serde_json::json!(["t"]));

    let (status, body) = get("/api/v1/dashboards/node-exporter");
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["dashboard"]["uid"], "node-exporter");
    assert!(body["data"]["dashboard"]["panels"].is_array());

    // Files are read at each request: a broken file and a second "mine" show up at once.
    std::fs::write(dir.join("broken.json"), "{\"uid\": ").unwrap();
    std::fs::write(dir.join("again.json"), r#"{"uid":"mine","title":"Again"}"#).unwrap();
    let (_, body) = get("/api/v1/dashboards");
    let uids = list(&body);
    assert!(uids.contains(&("service-red".to_string(), None)));
    let broken = uids.iter().find(|(u, _)| u == "broken").unwrap();
    assert!(broken.1.as_deref().unwrap().contains("not valid JSON"));
    let (status, body) = get("/api/v1/dashboards/mine");
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
    let err = body["error"].as_str().unwrap();
    assert!(
        err.contains("again.json") && err.contains("mine.json"),
        "{err}"
    );
    let (status, body) = get("/api/v1/dashboards/nope");
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(body["errorType"], "not_found");
}
