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
    am.write_metrics(&mut bongsu_telemetry::Encoder::new(&mut out));
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

#[tokio::test]
async fn reload_outcomes_and_build_are_on_metrics() {
    let am = Alertmanager::start(Options::default(), None, Clock::new()).unwrap();
    let metrics = || {
        let mut out = String::new();
        am.write_metrics(&mut bongsu_telemetry::Encoder::new(&mut out));
        out
    };
    let value = |out: &str, name: &str| -> f64 {
        out.lines()
            .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{name} in\n{out}"))
    };
    let out = metrics();
    assert_eq!(
        value(&out, "alertmanager_config_last_reload_successful"),
        1.0
    );
    let loaded = value(
        &out,
        "alertmanager_config_last_reload_success_timestamp_seconds",
    );
    assert!(loaded > 1.6e9, "{out}");
    assert!(value(&out, "alertmanager_config_hash") > 0.0);
    assert!(
        out.contains(&format!(
            "alertmanager_build_info{{branch=\"\",goarch=\"{}\",goos=\"{}\",",
            match std::env::consts::ARCH {
                "x86_64" => "amd64",
                "aarch64" => "arm64",
                a => a,
            },
            std::env::consts::OS
        )),
        "{out}"
    );

    am.config_load_failed();
    let out = metrics();
    assert_eq!(
        value(&out, "alertmanager_config_last_reload_successful"),
        0.0
    );
    assert_eq!(
        value(
            &out,
            "alertmanager_config_last_reload_success_timestamp_seconds"
        ),
        loaded,
        "a failure keeps the last success's time"
    );
    am.apply_config(None).unwrap();
    assert_eq!(
        value(&metrics(), "alertmanager_config_last_reload_successful"),
        1.0
    );
    am.shutdown();
}
