use std::collections::{BTreeMap, HashMap};

use tokio::sync::mpsc;
use tokio::time::Instant;

use super::*;
use crate::config::Config;
use crate::inhibit::Inhibitor;
use crate::nflog::NotificationLog;
use crate::notify::{BoxFuture, Integration, Notifier, NotifyContext, NotifyError, NotifyMetrics};
use crate::silence::{Silence, SilenceMatcher, Silences, DEFAULT_RETENTION};
use crate::types::test_alert;

type Sent = (Duration, NotifyContext, Vec<Alert>);

struct Recorder {
    start: Instant,
    tx: mpsc::UnboundedSender<Sent>,
}

impl Notifier for Recorder {
    fn notify<'a>(
        &'a self,
        ctx: &'a NotifyContext,
        alerts: &'a [Alert],
    ) -> BoxFuture<'a, Result<(), NotifyError>> {
        let _ = self
            .tx
            .send((self.start.elapsed(), ctx.clone(), alerts.to_vec()));
        Box::pin(async { Ok(()) })
    }
}

struct Harness {
    clock: Clock,
    store: Arc<AlertStore>,
    silences: Arc<Silences>,
    rx: mpsc::UnboundedReceiver<Sent>,
    dispatcher: Arc<Dispatcher>,
}

const CONFIG: &str = "
route:
  receiver: r
  group_by: [alertname]
  group_wait: 30s
  group_interval: 5m
  repeat_interval: 1h
receivers:
- name: r
inhibit_rules:
- source_matchers: [severity=critical]
  target_matchers: [severity=warning]
  equal: [alertname]
";

fn harness(config: &str, send_resolved: bool) -> Harness {
    harness_with(config, send_resolved, None)
}

/// A harness whose dispatcher makes at most `max_groups` groups.
fn harness_with(config: &str, send_resolved: bool, max_groups: Option<usize>) -> Harness {
    let cfg = Config::parse(config, None).unwrap();
    let clock = Clock::new();
    let store = Arc::new(AlertStore::new(clock));
    let silences = Arc::new(Silences::open(None, DEFAULT_RETENTION, clock).unwrap());
    let (inhibitor, _task) = Inhibitor::start(&cfg.inhibit_rules, &store);
    let (tx, rx) = mpsc::unbounded_channel();
    let integ = Arc::new(Integration {
        kind: "webhook",
        index: 0,
        send_resolved,
        notifier: Box::new(Recorder {
            start: Instant::now(),
            tx,
        }),
    });
    let pipeline = Arc::new(Pipeline {
        receivers: HashMap::from([("r".to_string(), vec![integ])]),
        inhibitor,
        silences: silences.clone(),
        nflog: Arc::new(NotificationLog::open(None, clock).unwrap()),
        time_intervals: cfg.time_intervals.clone(),
        clock,
        external_url: String::new(),
        metrics: Arc::new(NotifyMetrics::default()),
        store: store.clone(),
    });
    let dispatcher = Dispatcher::start(
        Arc::new(Route::new(&cfg.route)),
        pipeline,
        &store,
        Arc::new(GroupLimit::new(max_groups)),
    );
    Harness {
        clock,
        store,
        silences,
        rx,
        dispatcher,
    }
}

impl Harness {
    fn alert(&self, pairs: &[(&str, &str)], lasts: Duration) -> Alert {
        test_alert(self.clock.now(), pairs, lasts)
    }

    async fn next(&mut self) -> Sent {
        tokio::time::timeout(Duration::from_secs(100_000), self.rx.recv())
            .await
            .expect("a notification")
            .expect("open channel")
    }

    fn names(alerts: &[Alert]) -> Vec<String> {
        alerts
            .iter()
            .map(|a| a.labels["instance"].clone())
            .collect()
    }
}

const HOUR: Duration = Duration::from_secs(3600);
const DAY: Duration = Duration::from_secs(86400);

#[tokio::test(start_paused = true)]
async fn group_wait_interval_and_repeat() {
    let mut h = harness(CONFIG, true);
    h.store
        .put(vec![h.alert(&[("alertname", "a"), ("instance", "1")], DAY)]);
    let (t, ctx, alerts) = h.next().await;
    assert_eq!(t, Duration::from_secs(30), "first flush after group_wait");
    assert_eq!(ctx.group_key, "{}:{alertname=\"a\"}");
    assert_eq!(Harness::names(&alerts), ["1"]);
    tokio::time::sleep(Duration::from_secs(10)).await;
    h.store
        .put(vec![h.alert(&[("alertname", "a"), ("instance", "2")], DAY)]);
    let (t, _, alerts) = h.next().await;
    assert_eq!(
        t,
        Duration::from_secs(330),
        "next flush after group_interval"
    );
    assert_eq!(Harness::names(&alerts), ["1", "2"]);
    let (t, _, alerts) = h.next().await;
    // Nothing changed until the repeat interval passed: 330s + 1h, rounded up to a flush.
    assert_eq!(t, Duration::from_secs(30 + 14 * 300));
    assert_eq!(alerts.len(), 2);
    assert_eq!(h.dispatcher.groups().len(), 1);
}

#[tokio::test(start_paused = true)]
async fn resolved_alerts_are_sent_once_and_forgotten() {
    let mut h = harness(CONFIG, true);
    h.store.put(vec![
        h.alert(&[("alertname", "a"), ("instance", "1")], HOUR),
        h.alert(
            &[("alertname", "a"), ("instance", "2")],
            Duration::from_secs(100),
        ),
    ]);
    let (_, _, alerts) = h.next().await;
    assert_eq!(alerts.len(), 2);
    let (t, ctx, alerts) = h.next().await;
    assert_eq!(t, Duration::from_secs(330));
    let resolved: Vec<bool> = alerts.iter().map(|a| a.resolved_at(ctx.now)).collect();
    assert_eq!(resolved, [false, true]);
    let g = &h.dispatcher.groups()[0];
    assert_eq!(
        g.alerts().len(),
        1,
        "the notified resolved alert is dropped"
    );
    let (t, ctx, alerts) = h.next().await;
    assert!(t > HOUR, "{t:?}");
    assert!(alerts.iter().all(|a| a.resolved_at(ctx.now)));
}

#[tokio::test(start_paused = true)]
async fn old_alerts_flush_at_once_and_without_send_resolved_only_firing() {
    let mut h = harness(CONFIG, false);
    let mut a = h.alert(&[("alertname", "a"), ("instance", "1")], DAY);
    a.starts_at = crate::types::sub(a.starts_at, HOUR);
    let b = h.alert(
        &[("alertname", "a"), ("instance", "2")],
        Duration::from_secs(10),
    );
    h.store.put(vec![a, b]);
    let (t, _, alerts) = h.next().await;
    assert_eq!(
        t,
        Duration::ZERO,
        "an alert older than group_wait flushes at once"
    );
    assert_eq!(alerts.len(), 2);
    let (t, _, alerts) = h.next().await;
    assert!(
        t > HOUR,
        "a newly resolved alert alone sends nothing: {t:?}"
    );
    assert_eq!(Harness::names(&alerts), ["1"]);
}

#[tokio::test(start_paused = true)]
async fn silences_and_inhibition_suppress() {
    let mut h = harness(CONFIG, true);
    let now = h.clock.now();
    h.silences
        .set(Silence {
            id: String::new(),
            matchers: vec![SilenceMatcher {
                name: "instance".into(),
                value: "silenced".into(),
                is_regex: false,
                is_equal: true,
            }],
            starts_at: now,
            ends_at: add(now, DAY),
            updated_at: now,
            created_by: "t".into(),
            comment: String::new(),
            annotations: LabelSet::new(),
        })
        .unwrap();
    h.store.put(vec![
        h.alert(&[("alertname", "a"), ("instance", "silenced")], DAY),
        h.alert(
            &[
                ("alertname", "a"),
                ("instance", "w"),
                ("severity", "warning"),
            ],
            DAY,
        ),
        h.alert(
            &[
                ("alertname", "a"),
                ("instance", "c"),
                ("severity", "critical"),
            ],
            DAY,
        ),
        h.alert(
            &[
                ("alertname", "b"),
                ("instance", "w2"),
                ("severity", "warning"),
            ],
            DAY,
        ),
    ]);
    let mut got = BTreeMap::new();
    for _ in 0..2 {
        let (_, ctx, alerts) = h.next().await;
        got.insert(ctx.group_key, Harness::names(&alerts));
    }
    assert_eq!(got["{}:{alertname=\"a\"}"], ["c"]);
    assert_eq!(got["{}:{alertname=\"b\"}"], ["w2"]);
}

#[tokio::test(start_paused = true)]
async fn mute_time_intervals_hold_notifications() {
    let cfg = "
route:
  receiver: r
  group_wait: 1s
  routes:
  - matchers: [alertname=muted]
    mute_time_intervals: [always]
receivers:
- name: r
time_intervals:
- name: always
  time_intervals:
  - weekdays: ['sunday:saturday']
";
    let mut h = harness(cfg, true);
    h.store.put(vec![
        h.alert(&[("alertname", "muted"), ("instance", "m")], DAY),
        h.alert(&[("alertname", "open"), ("instance", "o")], DAY),
    ]);
    let (_, _, alerts) = h.next().await;
    assert_eq!(Harness::names(&alerts), ["o"]);
    assert!(
        tokio::time::timeout(HOUR, h.rx.recv()).await.is_err(),
        "the muted route sends nothing"
    );
}

#[tokio::test(start_paused = true)]
async fn the_group_limit_leaves_alerts_out_until_a_group_is_dropped() {
    let mut h = harness_with(CONFIG, true, Some(1));
    let a = h.alert(
        &[("alertname", "a"), ("instance", "1")],
        Duration::from_secs(60),
    );
    let b = h.alert(&[("alertname", "b"), ("instance", "1")], DAY);
    h.store.put(vec![a, b.clone()]);
    let (_, ctx, alerts) = h.next().await;
    assert_eq!(ctx.group_key, "{}:{alertname=\"a\"}");
    assert_eq!(alerts.len(), 1);
    assert_eq!(h.dispatcher.groups().len(), 1);
    let mut m = String::new();
    h.dispatcher
        .write_metrics(&mut bongsu_telemetry::Encoder::new(&mut m));
    assert!(
        m.contains("\nalertmanager_dispatcher_aggregation_group_limit_reached_total 1"),
        "{m}"
    );
    assert!(
        m.contains("\nalertmanager_dispatcher_aggregation_groups 1\n"),
        "{m}"
    );
    // `a` resolves, is notified and forgotten, and its empty group dropped: room for `b`,
    // which gets in when it is sent again.
    let (t, _, _) = h.next().await;
    assert_eq!(t, Duration::from_secs(330));
    tokio::time::sleep(Duration::from_secs(60)).await;
    assert!(h.dispatcher.groups().is_empty());
    h.store.put(vec![b]);
    let (t, ctx, _) = h.next().await;
    assert_eq!(
        t,
        Duration::from_secs(390),
        "older than group_wait: at once"
    );
    assert_eq!(ctx.group_key, "{}:{alertname=\"b\"}");
}
