//! The cases of Prometheus' remote-write sender compliance suite
//! (`prometheus/compliance`, `remote_write_sender/cases`), re-expressed against bongsu's sender:
//! series and samples written to the WAL (as a scrape writes them) must reach a receiver in
//! the test exactly, with the protocol's headers, retried on 5xx and not on other 4xx.

mod common;

use std::collections::BTreeMap;

use common::*;

const STALE_NAN_BITS: u64 = 0x7ff0_0000_0000_0002;

/// What a scrape of the suite's targets writes: a counter, a gauge, a classic histogram and a
/// summary (one series per bucket and quantile), `up` (1 for a good target, 0 for an invalid
/// one) and a staleness marker, all with job and instance labels.
fn scrape_like(d: &mut Data) -> BTreeMap<Series, Vec<Sample>> {
    let job_instance = [("instance", "localhost:9100"), ("job", "test")];
    let own: [&[(&str, &str)]; 11] = [
        &[("__name__", "up")],
        &[("__name__", "up"), ("job", "invalid")],
        &[("__name__", "http_requests_total"), ("method", "GET")],
        &[("__name__", "temperature_celsius")],
        &[("__name__", "latency_seconds_bucket"), ("le", "0.1")],
        &[("__name__", "latency_seconds_bucket"), ("le", "+Inf")],
        &[("__name__", "latency_seconds_sum")],
        &[("__name__", "latency_seconds_count")],
        &[("__name__", "rpc_seconds"), ("quantile", "0.5")],
        &[("__name__", "rpc_seconds_sum")],
        &[("__name__", "going_away")],
    ];
    let mut series: Vec<Series> = Vec::new();
    for (i, labels) in own.iter().enumerate() {
        let mut pairs: Vec<(&str, &str)> = labels.to_vec();
        for l in job_instance {
            if !pairs.iter().any(|(n, _)| *n == l.0) {
                pairs.push(l);
            }
        }
        pairs.sort();
        d.series(i as u64 + 1, &pairs);
        series.push(
            pairs
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        );
    }
    let mut want: BTreeMap<Series, Vec<Sample>> = BTreeMap::new();
    for scrape in 0..3i64 {
        let t = 1_700_000_000_000 + scrape * 15_000;
        let mut batch = Vec::new();
        for (i, labels) in series.iter().enumerate() {
            let v = match i {
                1 => 0.0,
                10 if scrape == 2 => f64::from_bits(STALE_NAN_BITS),
                _ => (scrape * 10 + i as i64) as f64 + 0.25,
            };
            batch.push((i as u64 + 1, t, v));
            want.entry(labels.clone())
                .or_default()
                .push((t, v.to_bits()));
        }
        d.samples(&batch);
    }
    want
}

fn by_series(got: Vec<(Series, Sample)>) -> BTreeMap<Series, Vec<Sample>> {
    let mut m: BTreeMap<Series, Vec<Sample>> = BTreeMap::new();
    for (l, s) in got {
        m.entry(l).or_default().push(s);
    }
    m
}

async fn run_case(extra: &str) -> (Receiver, BTreeMap<Series, Vec<Sample>>) {
    let rx = Receiver::start().await;
    let mut d = Data::new();
    let rw = d.sender();
    let cfg = config(&rx.url, "", extra);
    rw.apply(&cfg.remote_write, &cfg.global.external_labels)
        .await
        .unwrap();
    started(d.dir.path()).await;
    let want = scrape_like(&mut d);
    let total: usize = want.values().map(Vec::len).sum();
    wait_until("every sample", || rx.accepted().len() >= total).await;
    rw.stop().await;
    (rx, want)
}

#[tokio::test]
async fn samples_labels_timestamps_and_staleness_arrive_exactly() {
    for extra in ["", "    protobuf_message: io.prometheus.write.v2.Request\n"] {
        let (rx, want) = run_case(extra).await;
        let got = rx.accepted();
        for (labels, _) in &got {
            // sorted, not repeated, no empty values, a name, job and instance
            let names: Vec<&str> = labels.iter().map(|l| l.0.as_str()).collect();
            let mut sorted = names.clone();
            sorted.sort();
            sorted.dedup();
            assert_eq!(names, sorted, "labels sorted and unique: {labels:?}");
            assert!(labels.iter().all(|l| !l.1.is_empty()), "{labels:?}");
            for n in ["__name__", "job", "instance"] {
                assert!(names.contains(&n), "{n} missing in {labels:?}");
            }
        }
        let got = by_series(got);
        // Per series in timestamp order, values bit-exact (the stale marker included).
        assert_eq!(got, want, "protocol {extra:?}");
        let going = got
            .iter()
            .find(|(l, _)| l.iter().any(|x| x.1 == "going_away"))
            .unwrap();
        assert_eq!(going.1[2].1, STALE_NAN_BITS);
        let up_invalid = got
            .iter()
            .find(|(l, _)| l.iter().any(|x| x.1 == "invalid"))
            .unwrap();
        assert!(up_invalid.1.iter().all(|s| f64::from_bits(s.1) == 0.0));
    }
}

#[tokio::test]
async fn headers_of_both_protocols() {
    for (extra, content_type, version) in [
        ("    headers: {X-Scope-OrgID: tenant-1}\n", "application/x-protobuf", "0.1.0"),
        (
            "    headers: {X-Scope-OrgID: tenant-1}\n    protobuf_message: io.prometheus.write.v2.Request\n",
            "application/x-protobuf;proto=io.prometheus.write.v2.Request",
            "2.0.0",
        ),
    ] {
        let (rx, _) = run_case(extra).await;
        for r in rx.requests() {
            let h = |n: &str| r.headers.get(n).map(|v| v.to_str().unwrap().to_string());
            assert_eq!(h("content-encoding").as_deref(), Some("snappy"));
            assert_eq!(h("content-type").as_deref(), Some(content_type));
            assert_eq!(h("x-prometheus-remote-write-version").as_deref(), Some(version));
            assert!(h("user-agent").unwrap().starts_with("bongsu/"));
            assert_eq!(h("x-scope-orgid").as_deref(), Some("tenant-1"));
        }
    }
}

/// Sends the suite's samples with the receiver answering `script` first.
async fn with_answers(
    script: &[(u16, Option<&'static str>)],
    extra: &str,
) -> (Receiver, usize, String) {
    let rx = Receiver::start().await;
    rx.script(script);
    let mut d = Data::new();
    let rw = d.sender();
    let cfg = config(&rx.url, &format!(", max_samples_per_send: 1000{extra}"), "");
    rw.apply(&cfg.remote_write, &cfg.global.external_labels)
        .await
        .unwrap();
    started(d.dir.path()).await;
    let want = scrape_like(&mut d);
    let total: usize = want.values().map(Vec::len).sum();
    let n = script.len();
    wait_until("the scripted answers", || rx.requests().len() >= n).await;
    // One more WAL record after the scripted answers are used up: it must arrive too.
    d.samples(&[(1, 1_800_000_000_000, 1.0)]);
    wait_until("the last sample", || {
        rx.accepted().iter().any(|(_, s)| s.0 == 1_800_000_000_000)
    })
    .await;
    let m = metrics(&rw);
    rw.stop().await;
    (rx, total, m)
}

#[tokio::test]
async fn retries_on_500_until_accepted() {
    let (rx, total, m) = with_answers(&[(500, None), (503, None)], "").await;
    assert_eq!(rx.accepted().len(), total + 1, "every sample once");
    let reqs = rx.requests();
    assert_eq!(reqs[0].series, reqs[1].series, "the same batch again");
    assert_eq!(reqs[1].series, reqs[2].series);
    assert_eq!(
        metric(&m, "prometheus_remote_storage_samples_retried_total"),
        2.0 * total as f64
    );
    assert_eq!(
        metric(&m, "prometheus_remote_storage_samples_failed_total"),
        0.0
    );
}

#[tokio::test]
async fn no_retries_on_400() {
    let (rx, total, m) = with_answers(&[(400, None)], "").await;
    let reqs = rx.requests();
    assert_eq!(reqs.len(), 2, "the refused batch is not sent again");
    assert_eq!(rx.accepted().len(), 1);
    assert_eq!(
        metric(&m, "prometheus_remote_storage_samples_failed_total"),
        total as f64
    );
    assert_eq!(
        metric(&m, "prometheus_remote_storage_samples_retried_total"),
        0.0
    );
}

#[tokio::test]
async fn http_429_is_retried_only_when_asked() {
    let (rx, total, _) = with_answers(&[(429, Some("0"))], "").await;
    assert_eq!(rx.accepted().len(), 1, "429 dropped by default");
    assert_eq!(rx.requests().len(), 2);
    let (rx, total2, m) = with_answers(&[(429, Some("1"))], ", retry_on_http_429: true").await;
    assert_eq!(total, total2);
    assert_eq!(rx.accepted().len(), total + 1, "429 retried when asked");
    assert_eq!(
        metric(&m, "prometheus_remote_storage_samples_retried_total"),
        total as f64
    );
}

#[tokio::test]
async fn external_labels_then_write_relabel_configs() {
    let rx = Receiver::start().await;
    let mut d = Data::new();
    let rw = d.sender();
    let yaml = format!(
        "global:\n  external_labels: {{region: eu, job: overridden}}\nremote_write:\n  - url: {}\n    queue_config: {{batch_send_deadline: 50ms}}\n    write_relabel_configs:\n      - {{source_labels: [__name__], regex: drop_me, action: drop}}\n      - {{target_label: region, replacement: eu-west, source_labels: [region], regex: eu}}\n",
        rx.url
    );
    let cfg = bongsu_config::Config::parse(&yaml, "t.yml").unwrap();
    rw.apply(&cfg.remote_write, &cfg.global.external_labels)
        .await
        .unwrap();
    started(d.dir.path()).await;
    d.series(1, &[("__name__", "keep"), ("job", "own")]);
    d.series(2, &[("__name__", "drop_me"), ("job", "own")]);
    d.samples(&[(1, 10, 1.0), (2, 10, 2.0), (1, 20, 3.0)]);
    wait_until("the kept samples", || rx.accepted().len() >= 2).await;
    let m = metrics(&rw);
    rw.stop().await;
    let got = by_series(rx.accepted());
    let want_labels: Series = [("__name__", "keep"), ("job", "own"), ("region", "eu-west")]
        .iter()
        .map(|(a, b)| (a.to_string(), b.to_string()))
        .collect();
    assert_eq!(got.keys().collect::<Vec<_>>(), vec![&want_labels]);
    assert_eq!(
        metric(&m, "prometheus_remote_storage_samples_dropped_total"),
        1.0
    );
    assert_eq!(metric(&m, "prometheus_remote_storage_samples_total"), 2.0);
}
