use super::*;
use crate::types::test_alert;

#[tokio::test(start_paused = true)]
async fn resolved_alerts_go_at_the_gc_interval() {
    let opts = Options {
        alert_gc_interval: Duration::from_secs(60),
        ..Options::default()
    };
    let am = Alertmanager::start(opts, None, Clock::new()).unwrap();
    let now = am.clock.now();
    am.store.put(vec![
        test_alert(now, &[("alertname", "a")], Duration::from_secs(10)),
        test_alert(now, &[("alertname", "b")], Duration::from_secs(3600)),
    ]);
    tokio::time::sleep(Duration::from_secs(59)).await;
    assert_eq!(am.store.len(), 2);
    tokio::time::sleep(Duration::from_secs(2)).await;
    assert_eq!(am.store.len(), 1, "the resolved one is collected");
    am.shutdown();
}

#[tokio::test]
async fn a_zero_gc_interval_is_refused() {
    let opts = Options {
        alert_gc_interval: Duration::ZERO,
        ..Options::default()
    };
    let err = Alertmanager::start(opts, None, Clock::new()).err().unwrap();
    assert_eq!(
        err.to_string(),
        "the alert GC interval must be greater than zero"
    );
}

#[tokio::test]
async fn limits_and_their_counters_are_on_metrics() {
    let opts = Options {
        alert_limits: AlertLimits {
            per_alertname: Some(3),
            max_alerts: Some(1000),
        },
        max_aggregation_groups: Some(7),
        ..Options::default()
    };
    let am = Alertmanager::start(opts, None, Clock::new()).unwrap();
    let mut out = String::new();
    am.render_metrics(&mut out);
    for line in [
        "alertmanager_alerts_per_alert_limit 3",
        "alertmanager_alerts_limited_total 0",
        "bongsu_alertmanager_alerts_limit 1000",
        "bongsu_alertmanager_alerts_limited_total 0",
        "bongsu_alertmanager_subscriber_overflows_total 0",
        "alertmanager_dispatcher_aggregation_groups 0",
        "alertmanager_dispatcher_aggregation_group_limit_reached_total 0",
    ] {
        assert!(out.lines().any(|l| l == line), "{line} in\n{out}");
    }
    am.shutdown();
}
