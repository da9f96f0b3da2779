//! The Loki-push client against a small receiver on 127.0.0.1 that records every push and
//! answers from a script of status codes.

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::body::Bytes;
use axum::extract::State;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::post;
use bongsu_ingest::logs::loki::proto::PushRequest;
use bongsu_logcollect::client::{Client, ClientConfig, ClientError, ClientMetrics};
use bongsu_logcollect::Entry;
use bongsu_model::Labels;
use prost::Message;

/// Every wait in these tests is bounded by this.
const WAIT: Duration = Duration::from_secs(20);

#[derive(Default)]
struct Receiver {
    pushes: Mutex<Vec<(HeaderMap, PushRequest)>>,
    /// Status codes to answer, in order; 204 once empty.
    script: Mutex<VecDeque<u16>>,
}

async fn push(
    State(r): State<Arc<Receiver>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, String) {
    let raw = snap::raw::Decoder::new()
        .decompress_vec(&body)
        .expect("snappy body");
    let req = PushRequest::decode(raw.as_slice()).expect("protobuf body");
    r.pushes.lock().unwrap().push((headers, req));
    let code = r.script.lock().unwrap().pop_front().unwrap_or(204);
    (
        StatusCode::from_u16(code).unwrap(),
        format!("answer {code}\nsecond line"),
    )
}

async fn receiver(script: &[u16]) -> (Arc<Receiver>, String) {
    let r = Arc::new(Receiver::default());
    r.script.lock().unwrap().extend(script);
    let app = axum::Router::new()
        .route("/loki/api/v1/push", post(push))
        .with_state(r.clone());
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/loki/api/v1/push", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });
    (r, url)
}

fn client(url: &str, extra: &str) -> (Client, Arc<ClientMetrics>) {
    let yaml = format!(
        "url: {url}\nbackoff_config: {{min_period: 10ms, max_period: 40ms, max_retries: 4}}\n{extra}"
    );
    let config: ClientConfig = serde_yaml_ng::from_str(&yaml).unwrap();
    let metrics = Arc::new(ClientMetrics::default());
    (Client::new(config, metrics.clone()).unwrap(), metrics)
}

fn entry(labels: &[(&str, &str)], ts: i64, line: &str) -> Entry {
    Entry {
        labels: Labels::from_pairs(labels).unwrap(),
        ts,
        line: line.into(),
        metadata: Vec::new(),
    }
}

async fn send(c: &Client, entries: Vec<Entry>) -> Result<(), ClientError> {
    tokio::time::timeout(WAIT, c.send(entries))
        .await
        .expect("send finishes")
}

fn host(url: &str) -> String {
    url.trim_start_matches("http://")
        .split('/')
        .next()
        .unwrap()
        .to_string()
}

#[tokio::test]
async fn push_body_labels_and_headers() {
    let (r, url) = receiver(&[]).await;
    let (c, metrics) = client(
        &url,
        "batchwait: 10ms\ntenant_id: team-a\nexternal_labels: {host: h1, job: ext}\n\
         headers: {X-Extra: yes}\nbasic_auth: {username: u, password: p}\n",
    );
    let entries = vec![
        entry(&[("job", "app")], 1_700_000_000_123_456_789, "first"),
        entry(&[("job", "app")], 1_700_000_001_000_000_000, "second"),
        entry(&[("job", "other")], 1_700_000_002_000_000_000, "third"),
    ];
    send(&c, entries).await.unwrap();
    let pushes = r.pushes.lock().unwrap().clone();
    assert_eq!(pushes.len(), 1);
    let (h, req) = &pushes[0];
    assert_eq!(h["content-type"], "application/x-protobuf");
    assert_eq!(h["x-scope-orgid"], "team-a");
    assert_eq!(h["x-extra"], "yes");
    assert_eq!(h["authorization"], "Basic dTpw");
    assert!(h["user-agent"].to_str().unwrap().starts_with("bongsu/"));
    let streams: Vec<(String, Vec<String>)> = req
        .streams
        .iter()
        .map(|s| {
            let lines = s
                .entries
                .iter()
                .map(|e| String::from_utf8(e.line.clone()).unwrap())
                .collect();
            (String::from_utf8(s.labels.clone()).unwrap(), lines)
        })
        .collect();
    assert_eq!(
        streams,
        [
            (
                r#"{host="h1", job="app"}"#.to_string(),
                vec!["first".to_string(), "second".to_string()]
            ),
            (
                r#"{host="h1", job="other"}"#.to_string(),
                vec!["third".to_string()]
            ),
        ]
    );
    assert_eq!(
        req.streams[0].entries[0].timestamp.unwrap().unix_nanos(),
        1_700_000_000_123_456_789
    );
    assert_eq!(metrics.sent_entries(&host(&url)), 3);
    c.stop().await;
}

#[tokio::test]
async fn retries_5xx_then_succeeds() {
    let (r, url) = receiver(&[500, 503]).await;
    let (c, metrics) = client(&url, "batchwait: 10ms\n");
    send(&c, vec![entry(&[("a", "b")], 1, "x")]).await.unwrap();
    assert_eq!(r.pushes.lock().unwrap().len(), 3);
    assert_eq!(metrics.sent_entries(&host(&url)), 1);
    c.stop().await;
}

#[tokio::test]
async fn no_retry_on_400() {
    let (r, url) = receiver(&[400]).await;
    let (c, metrics) = client(&url, "batchwait: 10ms\ntenant_id: t\n");
    let err = send(&c, vec![entry(&[("a", "b")], 1, "x")])
        .await
        .unwrap_err();
    match err {
        ClientError::Dropped { reason, message } => {
            assert_eq!(reason, "ingester_error");
            assert_eq!(
                message,
                "server returned HTTP status 400 Bad Request (400): answer 400"
            );
        }
        other => panic!("unexpected {other:?}"),
    }
    assert_eq!(r.pushes.lock().unwrap().len(), 1);
    assert_eq!(
        metrics.dropped_entries(&host(&url), "t", "ingester_error"),
        1
    );
    c.stop().await;
}

#[tokio::test]
async fn retries_run_out() {
    let (r, url) = receiver(&[500, 500, 500, 500, 500]).await;
    let (c, _) = client(&url, "batchwait: 10ms\n");
    let err = send(&c, vec![entry(&[("a", "b")], 1, "x")])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Dropped {
                reason: "ingester_error",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(
        r.pushes.lock().unwrap().len(),
        4,
        "max_retries attempts in all"
    );
    c.stop().await;
}

#[tokio::test]
async fn rate_limited_batches_retry_or_drop() {
    let (r, url) = receiver(&[429]).await;
    let (c, _) = client(&url, "batchwait: 10ms\n");
    send(&c, vec![entry(&[("a", "b")], 1, "x")]).await.unwrap();
    assert_eq!(r.pushes.lock().unwrap().len(), 2);
    c.stop().await;

    let (r, url) = receiver(&[429]).await;
    let (c, metrics) = client(&url, "batchwait: 10ms\ndrop_rate_limited_batches: true\n");
    let err = send(&c, vec![entry(&[("a", "b")], 1, "x")])
        .await
        .unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Dropped {
                reason: "rate_limited",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(r.pushes.lock().unwrap().len(), 1);
    assert_eq!(metrics.dropped_entries(&host(&url), "", "rate_limited"), 1);
    c.stop().await;
}

#[tokio::test]
async fn tenant_label_routes_and_is_removed() {
    let (r, url) = receiver(&[]).await;
    let (c, _) = client(&url, "batchwait: 10ms\ntenant_id: default\n");
    let entries = vec![
        entry(&[("a", "b")], 1, "to default"),
        entry(&[("a", "b"), ("__tenant_id__", "t2")], 1, "to t2"),
    ];
    send(&c, entries).await.unwrap();
    let pushes = r.pushes.lock().unwrap().clone();
    let mut seen: Vec<(String, String, String)> = pushes
        .iter()
        .map(|(h, req)| {
            (
                h["x-scope-orgid"].to_str().unwrap().to_string(),
                String::from_utf8(req.streams[0].labels.clone()).unwrap(),
                String::from_utf8(req.streams[0].entries[0].line.clone()).unwrap(),
            )
        })
        .collect();
    seen.sort();
    assert_eq!(
        seen,
        [
            ("default".into(), r#"{a="b"}"#.into(), "to default".into()),
            ("t2".into(), r#"{a="b"}"#.into(), "to t2".into()),
        ]
    );
}

#[tokio::test]
async fn batchsize_groups_and_splits_senders() {
    // Two senders of 10 bytes each fill a 20-byte batch: one request, both acknowledged.
    let (r, url) = receiver(&[]).await;
    let (c, _) = client(&url, "batchwait: 1h\nbatchsize: 20\n");
    let (a, b) = tokio::join!(
        send(&c, vec![entry(&[("s", "a")], 1, "aaaaaaaaaa")]),
        send(&c, vec![entry(&[("s", "b")], 2, "bbbbbbbbbb")]),
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(r.pushes.lock().unwrap().len(), 1);
    assert_eq!(r.pushes.lock().unwrap()[0].1.streams.len(), 2);

    // With room for one, the second sender's entry sends the first batch out.
    let (r, url) = receiver(&[]).await;
    let (c, _) = client(&url, "batchwait: 20ms\nbatchsize: 15\n");
    let (a, b) = tokio::join!(
        send(&c, vec![entry(&[("s", "a")], 1, "aaaaaaaaaa")]),
        send(&c, vec![entry(&[("s", "b")], 2, "bbbbbbbbbb")]),
    );
    a.unwrap();
    b.unwrap();
    assert_eq!(r.pushes.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn stop_sends_what_is_batched() {
    let (r, url) = receiver(&[]).await;
    let (c, _) = client(&url, "batchwait: 1h\n");
    let mut pending = Box::pin(c.send(vec![entry(&[("a", "b")], 1, "x")]));
    // The first poll queues the entry; a batch waiting for an hour is not acknowledged yet.
    let early = tokio::time::timeout(Duration::from_millis(20), &mut pending).await;
    assert!(early.is_err(), "acknowledged before it was sent: {early:?}");
    assert!(r.pushes.lock().unwrap().is_empty());
    tokio::time::timeout(WAIT, c.stop()).await.unwrap();
    tokio::time::timeout(WAIT, pending).await.unwrap().unwrap();
    assert_eq!(r.pushes.lock().unwrap().len(), 1);
}

#[tokio::test]
async fn a_large_send_is_split_at_batchsize() {
    let (r, url) = receiver(&[]).await;
    let (c, metrics) = client(&url, "batchwait: 1h\nbatchsize: 20\n");
    let lines = ["aaaaaaaaaa", "bbbbbbbbbb", "cccccccccc"];
    let entries = lines.iter().map(|l| entry(&[("s", "a")], 1, l)).collect();
    // Two entries fill the first batch; the third waits for `stop`.
    let mut pending = Box::pin(c.send(entries));
    let early = tokio::time::timeout(Duration::from_millis(20), &mut pending).await;
    assert!(
        early.is_err(),
        "acknowledged before its last entry was sent"
    );
    assert_eq!(r.pushes.lock().unwrap().len(), 1);
    tokio::time::timeout(WAIT, c.stop()).await.unwrap();
    tokio::time::timeout(WAIT, pending).await.unwrap().unwrap();
    let sizes: Vec<usize> = r
        .pushes
        .lock()
        .unwrap()
        .iter()
        .map(|(_, req)| req.streams[0].entries.len())
        .collect();
    assert_eq!(sizes, [2, 1]);
    assert_eq!(metrics.sent_entries(&host(&url)), 3);
}

#[tokio::test]
async fn a_send_fails_when_any_of_its_batches_is_dropped() {
    let (r, url) = receiver(&[400]).await;
    let (c, _) = client(&url, "batchwait: 10ms\nbatchsize: 10\n");
    let entries = vec![
        entry(&[("s", "a")], 1, "aaaaaaaaaa"),
        entry(&[("s", "a")], 2, "bbbbbbbbbb"),
    ];
    let err = send(&c, entries).await.unwrap_err();
    assert!(
        matches!(
            err,
            ClientError::Dropped {
                reason: "ingester_error",
                ..
            }
        ),
        "{err:?}"
    );
    assert_eq!(r.pushes.lock().unwrap().len(), 2);
    c.stop().await;
}

/// A log store that keeps what bongsu's own Loki push handler appends.
#[derive(Default)]
struct Kept(Mutex<Vec<bongsu_model::log::LogStream>>);

impl bongsu_storage::logs::LogAppendable for Kept {
    fn append_logs(
        &self,
        streams: &[bongsu_model::log::LogStream],
    ) -> Result<bongsu_storage::logs::LogAppendReport, bongsu_storage::StorageError> {
        let mut kept = self.0.lock().unwrap();
        kept.extend_from_slice(streams);
        Ok(bongsu_storage::logs::LogAppendReport {
            appended: streams.iter().map(|s| s.entries.len() as u64).sum(),
            rejected: Vec::new(),
        })
    }
}

/// The client against bongsu's own receiver (`bongsu-ingest`), as a bongsu agent pushing to a
/// bongsu server.
#[tokio::test]
async fn bongsu_receiver_stores_what_the_client_sends() {
    use bongsu_ingest::logs::{LogLimits, LogReceiver};
    let store = Arc::new(Kept::default());
    let receiver = Arc::new(LogReceiver::new(LogLimits::default()));
    let app = axum::Router::new().route(
        "/loki/api/v1/push",
        post({
            let store = store.clone();
            move |headers: HeaderMap, body: axum::body::Body| {
                let (receiver, store) = (receiver.clone(), store.clone());
                async move { receiver.handle_loki_push(store, &headers, body).await }
            }
        }),
    );
    let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}/loki/api/v1/push", l.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(l, app).await.unwrap() });

    let (c, _) = client(&url, "batchwait: 10ms\nexternal_labels: {agent: a1}\n");
    let now = jiff::Timestamp::now().as_nanosecond() as i64;
    let mut e = entry(&[("job", "syslog")], now, "stored line");
    e.metadata = vec![("trace_id".into(), "t1".into())];
    send(&c, vec![e]).await.unwrap();
    c.stop().await;
    let kept = store.0.lock().unwrap();
    assert_eq!(kept.len(), 1);
    assert_eq!(kept[0].labels.get("job"), Some("syslog"));
    assert_eq!(kept[0].labels.get("agent"), Some("a1"));
    assert_eq!(kept[0].entries[0].line, "stored line");
    assert_eq!(kept[0].entries[0].ts, now);
    // The receiver adds Loki's `detected_level` after what was sent.
    assert_eq!(
        kept[0].entries[0].metadata[0],
        ("trace_id".to_string(), "t1".to_string())
    );
}
