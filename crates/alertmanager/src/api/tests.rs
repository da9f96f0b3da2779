use std::time::Duration;

use serde_json::{json, Value};

use super::*;
use crate::server::Options;
use crate::silence::SilenceLimits;
use crate::types::Clock;

/// An Alertmanager with `opts`, its API served on a free port of 127.0.0.1.
async fn serve(opts: Options) -> (Arc<Alertmanager>, String) {
    let am = Alertmanager::start(opts, None, Clock::new()).unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let app = router(am.clone());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (am, format!("http://{addr}"))
}

async fn post(url: &str, body: &Value) -> (u16, Value) {
    let r = reqwest::Client::new()
        .post(url)
        .header("content-type", "application/json")
        .body(body.to_string())
        .timeout(Duration::from_secs(30))
        .send()
        .await
        .unwrap();
    let code = r.status().as_u16();
    let bytes = r.bytes().await.unwrap();
    (code, serde_json::from_slice(&bytes).unwrap_or(Value::Null))
}

fn silence(comment: &str) -> Value {
    json!({"matchers": [{"name": "job", "value": "api", "isRegex": false}],
           "startsAt": "2026-01-01T00:00:00Z", "endsAt": "2999-01-01T00:00:00Z",
           "createdBy": "t", "comment": comment})
}

#[tokio::test]
async fn silence_limits_answer_400_with_upstreams_text() {
    let limits = SilenceLimits {
        max_silences: Some(1),
        max_silence_size_bytes: Some(400),
    };
    let (am, url) = serve(Options {
        silence_limits: limits,
        ..Options::default()
    })
    .await;
    let url = format!("{url}/api/v2/silences");
    let (code, body) = post(&url, &silence(&"x".repeat(400))).await;
    assert_eq!(code, 400);
    let text = body.as_str().unwrap();
    assert!(
        text.starts_with("silence exceeded maximum size: ")
            && text.ends_with(" bytes (limit: 400 bytes)"),
        "{text}"
    );
    let (code, body) = post(&url, &silence("ok")).await;
    assert_eq!(code, 200, "{body}");
    let (code, body) = post(&url, &silence("one more")).await;
    assert_eq!(
        (code, body),
        (
            400,
            json!("exceeded maximum number of silences: 1 (limit: 1)")
        )
    );
    assert_eq!(am.silences.list().len(), 1);
    am.shutdown();
}

/// Cross-site pages can send `text/plain` and form bodies without a preflight: the
/// state-changing endpoints refuse them with Alertmanager's 415, JSON with parameters passes.
#[tokio::test]
async fn posts_need_a_json_body() {
    let (am, url) = serve(Options::default()).await;
    let client = reqwest::Client::new();
    for (path, body) in [
        ("/api/v2/silences", silence("csrf").to_string()),
        ("/api/v2/alerts", "[]".to_string()),
    ] {
        for (sent, named) in [
            (Some("text/plain"), "text/plain"),
            (
                Some("application/x-www-form-urlencoded"),
                "application/x-www-form-urlencoded",
            ),
            (None, "application/octet-stream"),
        ] {
            let mut req = client.post(format!("{url}{path}")).body(body.clone());
            if let Some(ct) = sent {
                req = req.header("content-type", ct);
            }
            let r = req.send().await.unwrap();
            assert_eq!(r.status().as_u16(), 415, "{path} {sent:?}");
            let got: Value = serde_json::from_slice(&r.bytes().await.unwrap()).unwrap();
            assert_eq!(
                got,
                json!({"code": 415, "message": format!("unsupported media type \"{named}\", only [application/json] are allowed")})
            );
        }
        let r = client
            .post(format!("{url}{path}"))
            .header("content-type", "application/json; charset=utf-8")
            .body(body)
            .send()
            .await
            .unwrap();
        assert_eq!(r.status().as_u16(), 200, "{path}");
    }
    am.shutdown();
}
