use super::*;
use crate::matcher::LabelSet;
use jiff::Timestamp;

fn alert(start: i64, end: i64, updated: i64) -> Alert {
    Alert {
        labels: LabelSet::from([("alertname".to_string(), "x".to_string())]),
        annotations: LabelSet::new(),
        starts_at: Timestamp::from_second(start).unwrap(),
        ends_at: Timestamp::from_second(end).unwrap(),
        generator_url: String::new(),
        updated_at: Timestamp::from_second(updated).unwrap(),
        timeout: false,
    }
}

#[tokio::test]
async fn merges_overlapping_and_replaces_disjoint() {
    let store = AlertStore::new(Clock::starting_at(Timestamp::from_second(1000).unwrap()));
    let (initial, mut rx) = store.subscribe();
    assert!(initial.is_empty());
    store.put(vec![alert(100, 2000, 100)]);
    store.put(vec![alert(200, 3000, 200)]);
    let a = store.list().pop().unwrap();
    assert_eq!(
        a.starts_at.as_second(),
        100,
        "overlap keeps the earliest start"
    );
    assert_eq!(a.ends_at.as_second(), 3000);
    store.put(vec![alert(5000, 6000, 300)]);
    let a = store.list().pop().unwrap();
    assert_eq!(
        a.starts_at.as_second(),
        5000,
        "a later firing replaces the old one"
    );
    for _ in 0..3 {
        assert!(rx.recv().await.is_some());
    }
    assert_eq!(store.len(), 1);
}

#[tokio::test]
async fn gc_drops_resolved() {
    let store = AlertStore::new(Clock::starting_at(Timestamp::from_second(1000).unwrap()));
    let a = alert(100, 500, 100);
    let gone = a.fingerprint();
    store.put(vec![a]);
    let mut b = alert(100, 5000, 100);
    b.labels.insert("b".into(), "1".into());
    let kept = b.fingerprint();
    store.put(vec![b]);
    let unknown = Fingerprint(7);
    store.mark_processed([gone, kept, unknown]);
    assert!(
        !store.is_processed(unknown),
        "only stored alerts are marked"
    );
    assert_eq!(store.gc(), vec![gone]);
    assert_eq!(store.len(), 1);
    assert!(!store.is_processed(gone), "the marker goes with the alert");
    assert!(store.is_processed(kept));
}

const HOUR: std::time::Duration = std::time::Duration::from_secs(3600);

fn clock() -> Clock {
    Clock::starting_at(Timestamp::from_second(1_000_000).unwrap())
}

fn named(c: &Clock, name: &str, instance: usize, lasts: std::time::Duration) -> Alert {
    crate::types::test_alert(
        c.now(),
        &[("alertname", name), ("instance", &instance.to_string())],
        lasts,
    )
}

fn metrics(store: &AlertStore) -> String {
    let mut out = String::new();
    store.write_metrics(&mut bongsu_telemetry::Encoder::new(&mut out));
    out
}

#[tokio::test]
async fn per_alertname_limit_counts_firing_alerts_only() {
    let c = clock();
    let store = AlertStore::new(c).with_limits(AlertLimits {
        per_alertname: Some(2),
        max_alerts: None,
    });
    store.put((0..3).map(|i| named(&c, "x", i, HOUR)).collect());
    store.put(vec![named(&c, "y", 0, HOUR)]);
    assert_eq!(store.len(), 3, "two of x, one of y");
    assert!(store.get(named(&c, "x", 2, HOUR).fingerprint()).is_none());
    assert_eq!(store.limited(), (1, 0));
    // A stored alert is always updated; once resolved it leaves room for another.
    store.put(vec![named(&c, "x", 0, std::time::Duration::ZERO)]);
    store.put(vec![named(&c, "x", 2, HOUR)]);
    assert_eq!(store.len(), 4);
    store.put(vec![named(&c, "x", 3, HOUR)]);
    assert_eq!(store.limited(), (2, 0));
    let m = metrics(&store);
    assert!(
        m.contains("\nalertmanager_alerts_per_alert_limit 2\n"),
        "{m}"
    );
    assert!(m.contains("\nalertmanager_alerts_limited_total 2\n"), "{m}");
}

#[tokio::test]
async fn max_alerts_collects_resolved_ones_then_drops_new_ones() {
    let c = clock();
    let store = AlertStore::new(c).with_limits(AlertLimits {
        per_alertname: None,
        max_alerts: Some(2),
    });
    store.put((0..3).map(|i| named(&c, "x", i, HOUR)).collect());
    assert_eq!(store.len(), 2);
    assert_eq!(store.limited(), (0, 1));
    let resolved = named(&c, "x", 0, std::time::Duration::ZERO);
    store.mark_processed([resolved.fingerprint()]);
    store.put(vec![resolved.clone()]);
    store.put(vec![named(&c, "x", 2, HOUR)]);
    assert_eq!(store.len(), 2, "the resolved alert made room");
    assert!(store.get(resolved.fingerprint()).is_none());
    assert!(!store.is_processed(resolved.fingerprint()));
    store.put(vec![named(&c, "x", 3, HOUR)]);
    assert_eq!(store.limited(), (0, 2));
    let m = metrics(&store);
    assert!(m.contains("\nbongsu_alertmanager_alerts_limit 2\n"), "{m}");
    assert!(
        m.contains("\nbongsu_alertmanager_alerts_limited_total 2\n"),
        "{m}"
    );
    assert!(
        m.contains("\nalertmanager_alerts_per_alert_limit 0\n"),
        "0: no limit, as upstream shows it"
    );
}

#[tokio::test]
async fn a_subscriber_that_falls_behind_re_reads_the_store() {
    let c = clock();
    let store = AlertStore::new(c).with_limits(AlertLimits {
        per_alertname: None,
        max_alerts: None,
    });
    let (_, mut sub) = store.subscribe();
    let n = SUBSCRIBER_CAPACITY + 10;
    store.put((0..n).map(|i| named(&c, "x", i, HOUR)).collect());
    // Changed while the subscriber is behind: it must see the newest state.
    let mut changed = named(&c, "x", 0, HOUR);
    changed.annotations.insert("summary".into(), "new".into());
    store.put(vec![changed.clone()]);
    assert!(metrics(&store).contains("\nbongsu_alertmanager_subscriber_overflows_total 1\n"));
    let mut seen = HashMap::new();
    for _ in 0..n {
        let a = sub.recv().await.unwrap();
        assert!(seen.insert(a.fingerprint(), a).is_none(), "each alert once");
    }
    assert_eq!(seen[&changed.fingerprint()].annotations["summary"], "new");
    // Back in step: the channel carries new alerts again.
    store.put(vec![named(&c, "y", 0, HOUR)]);
    assert_eq!(alertname(&sub.recv().await.unwrap()), "y");
    drop(store);
    assert!(sub.recv().await.is_none(), "the store is gone");
}
