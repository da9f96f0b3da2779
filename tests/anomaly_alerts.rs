//! Anomaly detection end to end (issue #20): a detector over a seasonal series (a one-minute
//! wave with ripples, computed from `time()`, so it has history from the start) fitted from
//! that history, an alerting rule on its `anomaly_score`, the built-in Alertmanager and a
//! webhook. With a spike injected at a known time the webhook is called for the detector's
//! alert; the same series without the spike, watched as long, never alerts.
//!
//! The detector is given no threshold: what is abnormal is learnt from the wave's history.

mod common;

use std::ffi::OsString;
use std::fs;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::mpsc;
use std::thread;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::server::{Server, WAIT};

/// Long enough for the spike to be scored and alerted; the control watches as long.
const WATCH: Duration = Duration::from_secs(45);

/// A webhook that hands every request body to the returned channel.
fn webhook() -> (String, mpsc::Receiver<String>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let (tx, rx) = mpsc::channel();
    thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { continue };
            let _ = s.set_read_timeout(Some(Duration::from_secs(5)));
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            // Headers, then Content-Length bytes of body.
            let body = loop {
                let Ok(n) = s.read(&mut chunk) else {
                    break None;
                };
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).into_owned();
                if let Some(end) = text.find("\r\n\r\n") {
                    let len = text[..end]
                        .lines()
                        .find_map(|l| {
                            l.to_ascii_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse::<usize>().unwrap_or(0))
                        })
                        .unwrap_or(0);
                    if buf.len() >= end + 4 + len {
                        break Some(
                            String::from_utf8_lossy(&buf[end + 4..end + 4 + len]).into_owned(),
                        );
                    }
                }
            };
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
            if let Some(b) = body {
                let _ = tx.send(b);
            }
        }
    });
    (url, rx)
}

fn now_s() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// Starts bongsu with a detector over the wave, the spike (if any) from `spike_at` for 10 s.
fn start(dir: &std::path::Path, spike_at: Option<u64>, hook: &str) -> Server {
    fs::create_dir_all(dir).unwrap();
    let spike = match spike_at {
        Some(t) => format!(
            " + 120 * (vector(time()) >= bool {t}) * (vector(time()) < bool {})",
            t + 10
        ),
        None => String::new(),
    };
    fs::write(
        dir.join("detectors.yml"),
        format!(
            "detectors:\n  - name: synthetic\n    query: '100 + 50 * sin(2 * pi() * vector(time()) / 60) + 3 * sin(vector(time()) * 1.7){spike}'\n    interval: 1s\n    history: 5m\n    model: {{class: holt_winters, seasons: [1m], z: 4}}\n"
        ),
    )
    .unwrap();
    fs::write(
        dir.join("rules.yml"),
        "groups:\n  - name: anomaly\n    interval: 1s\n    rules:\n      - alert: SyntheticAnomaly\n        expr: anomaly_score{for=\"synthetic\"} > 1\n",
    )
    .unwrap();
    fs::write(
        dir.join("bongsu.yml"),
        "global: {evaluation_interval: 1s}\nscrape_configs: []\nrule_files: [rules.yml]\nanomaly_detection_files: [detectors.yml]\n",
    )
    .unwrap();
    fs::write(
        dir.join("alertmanager.yml"),
        format!(
            "route: {{receiver: hook, group_wait: 1s, group_interval: 1s}}\nreceivers:\n  - name: hook\n    webhook_configs: [{{url: '{hook}'}}]\n"
        ),
    )
    .unwrap();
    let args: Vec<OsString> = vec![
        "--config.file".into(),
        dir.join("bongsu.yml").into(),
        "--storage.tsdb.path".into(),
        dir.join("data").into(),
        "--alertmanager.config.file".into(),
        dir.join("alertmanager.yml").into(),
    ];
    Server::spawn(args, dir.join("bongsu.log"))
}

#[test]
fn a_spike_alerts_through_the_webhook_and_the_plain_wave_does_not() {
    let tmp = tempfile::tempdir().unwrap();
    let (spiky_hook, spiky_rx) = webhook();
    let (plain_hook, plain_rx) = webhook();
    let spike_at = now_s() + 20;
    let spiky = start(&tmp.path().join("spiky"), Some(spike_at), &spiky_hook);
    let plain = start(&tmp.path().join("plain"), None, &plain_hook);

    let began = Instant::now();
    let body = spiky_rx
        .recv_timeout(WATCH + WAIT)
        .unwrap_or_else(|_| panic!("no webhook call for the spike; log:\n{}", spiky.log()));
    assert!(
        body.contains("\"alertname\":\"SyntheticAnomaly\""),
        "{body}"
    );
    assert!(body.contains("\"for\":\"synthetic\""), "{body}");
    assert!(
        now_s() >= spike_at,
        "alerted before the spike: {body}\n{}",
        spiky.log()
    );

    let rest = WATCH.saturating_sub(began.elapsed());
    if let Ok(body) = plain_rx.recv_timeout(rest) {
        panic!(
            "the wave without a spike alerted: {body}\nlog:\n{}",
            plain.log()
        );
    }
    // The control was scored all along (no alert because nothing was anomalous, not
    // because nothing was scored): a score every second of the last half minute, all below 1.
    let answer = plain
        .http
        .get(plain.url("/api/v1/query"))
        .query(&[(
            "query",
            "count_over_time(anomaly_score[30s]) > 25 and max_over_time(anomaly_score[30s]) < 1",
        )])
        .send()
        .unwrap()
        .text()
        .unwrap();
    assert!(answer.contains("\"for\":\"synthetic\""), "{answer}");
}
