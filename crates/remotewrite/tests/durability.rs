//! Nothing acknowledged to the WAL is lost: across a receiver outage, and across a restart of
//! the sender, which resumes from its progress file; and a new queue starts at the end of the
//! WAL.

mod common;

use std::collections::BTreeSet;

use common::*;

fn timestamps(rx: &Receiver) -> Vec<i64> {
    rx.accepted().iter().map(|(_, s)| s.0).collect()
}

#[tokio::test]
async fn receiver_down_then_up_loses_nothing() {
    let rx = Receiver::start().await;
    // The receiver is "down" (503) for its first 6 answers.
    rx.script(&[(503, None); 6]);
    let mut d = Data::new();
    let rw = d.sender();
    let cfg = config(&rx.url, ", max_samples_per_send: 10", "");
    rw.apply(&cfg.remote_write, &cfg.global.external_labels)
        .await
        .unwrap();
    started(d.dir.path()).await;
    d.series(1, &[("__name__", "m")]);
    for t in 0..100 {
        d.samples(&[(1, t, t as f64)]);
    }
    wait_until("all 100 samples", || timestamps(&rx).len() >= 100).await;
    rw.stop().await;
    let got = timestamps(&rx);
    assert_eq!(got, (0..100).collect::<Vec<_>>(), "each once, in order");
}

#[tokio::test]
async fn a_restarted_sender_resumes_from_its_progress() {
    let rx = Receiver::start().await;
    let mut d = Data::new();
    let cfg = config(&rx.url, "", "");
    let rw = d.sender();
    rw.apply(&cfg.remote_write, &cfg.global.external_labels)
        .await
        .unwrap();
    started(d.dir.path()).await;
    d.series(1, &[("__name__", "m")]);
    d.samples(&[(1, 1, 1.0), (1, 2, 2.0)]);
    wait_until("the first samples", || timestamps(&rx).len() >= 2).await;
    rw.stop().await;

    // Written while no sender runs, then a new WAL segment (as a restarted server opens one).
    d.samples(&[(1, 3, 3.0)]);
    d.wal.next_segment().unwrap();
    d.series(2, &[("__name__", "n")]);
    d.samples(&[(1, 4, 4.0), (2, 4, 40.0)]);

    let rw = d.sender();
    rw.apply(&cfg.remote_write, &cfg.global.external_labels)
        .await
        .unwrap();
    wait_until("the samples written while stopped", || {
        timestamps(&rx).len() >= 5
    })
    .await;
    rw.stop().await;
    let got = rx.accepted();
    let distinct: BTreeSet<(String, i64)> =
        got.iter().map(|(l, s)| (l[0].1.clone(), s.0)).collect();
    let want: BTreeSet<(String, i64)> = [("m", 1), ("m", 2), ("m", 3), ("m", 4), ("n", 4)]
        .iter()
        .map(|(n, t)| (n.to_string(), *t))
        .collect();
    assert_eq!(distinct, want);
    assert_eq!(got.len(), 5, "nothing acknowledged was sent twice");
}

#[tokio::test]
async fn a_new_queue_starts_at_the_end_of_the_wal() {
    let rx = Receiver::start().await;
    let mut d = Data::new();
    d.series(1, &[("__name__", "old")]);
    d.samples(&[(1, 1, 1.0)]);
    let rw = d.sender();
    let cfg = config(&rx.url, "", "");
    rw.apply(&cfg.remote_write, &cfg.global.external_labels)
        .await
        .unwrap();
    started(d.dir.path()).await;
    d.samples(&[(1, 2, 2.0)]);
    wait_until("the new sample", || !timestamps(&rx).is_empty()).await;
    rw.stop().await;
    assert_eq!(
        timestamps(&rx),
        vec![2],
        "the series is known, its old sample not sent"
    );
}

#[tokio::test]
async fn reload_keeps_progress_when_only_settings_change() {
    let rx = Receiver::start().await;
    let mut d = Data::new();
    let rw = d.sender();
    let cfg = config(&rx.url, "", "");
    rw.apply(&cfg.remote_write, &cfg.global.external_labels)
        .await
        .unwrap();
    started(d.dir.path()).await;
    d.series(1, &[("__name__", "m")]);
    d.samples(&[(1, 1, 1.0)]);
    wait_until("the first sample", || timestamps(&rx).len() == 1).await;
    // Same url and name, other queue settings: re-created, resuming after what was sent.
    let changed = config(&rx.url, ", max_shards: 3", "");
    rw.apply(&changed.remote_write, &changed.global.external_labels)
        .await
        .unwrap();
    d.samples(&[(1, 2, 2.0)]);
    wait_until("the second sample", || timestamps(&rx).len() >= 2).await;
    let m = metrics(&rw);
    rw.stop().await;
    assert_eq!(timestamps(&rx), vec![1, 2]);
    assert_eq!(metric(&m, "prometheus_remote_storage_shards_max"), 3.0);
}
