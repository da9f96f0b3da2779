use bongsu_storage::memory::MemStorage;
use bongsu_storage::{Appendable, Queryable};

use super::*;
use crate::template::PromTemplates;

const MIN: i64 = 60_000;

fn rule(hold_min: u64, keep_min: u64) -> AlertingRule {
    AlertingRule::new(
        AlertDef {
            name: "HighLoad".into(),
            expr: "load > 1".into(),
            hold: Duration::from_secs(hold_min * 60),
            keep_firing_for: Duration::from_secs(keep_min * 60),
            labels: BTreeMap::from([("severity".to_string(), "page".to_string())]),
            annotations: BTreeMap::from([("summary".to_string(), "load is high".to_string())]),
            external_labels: BTreeMap::new(),
            external_url: String::new(),
        },
        true,
    )
}

fn result(v: f64) -> Vec<VectorSample> {
    vec![VectorSample {
        labels: Labels::from_pairs(&[("__name__", "load"), ("instance", "a")]).unwrap(),
        t: 0,
        v,
        h: None,
    }]
}

fn eval(r: &AlertingRule, res: &[VectorSample], ts: i64) -> Vec<OutputSample> {
    r.eval(res, ts, Duration::ZERO, 0, &PromTemplates::default())
        .unwrap()
}

fn states(out: &[OutputSample]) -> Vec<String> {
    out.iter()
        .filter(|s| s.labels.metric_name() == Some(ALERTS))
        .map(|s| s.labels.get(ALERT_STATE).unwrap_or_default().to_string())
        .collect()
}

#[test]
fn pending_then_firing() {
    let r = rule(5, 0);
    let out = eval(&r, &result(2.0), 0);
    assert_eq!(states(&out), ["pending"]);
    let alerts = r.active_alerts();
    assert_eq!(alerts.len(), 1);
    assert_eq!(
        alerts[0].labels,
        Labels::from_pairs(&[
            ("alertname", "HighLoad"),
            ("instance", "a"),
            ("severity", "page")
        ])
        .unwrap()
    );
    assert_eq!(alerts[0].annotations["summary"], "load is high");
    assert_eq!(states(&eval(&r, &result(3.0), 4 * MIN)), ["pending"]);
    assert_eq!(r.state(), AlertState::Pending);
    let out = eval(&r, &result(4.0), 5 * MIN);
    assert_eq!(states(&out), ["firing"]);
    let a = &r.active_alerts()[0];
    assert_eq!((a.active_at, a.fired_at, a.value), (0, Some(5 * MIN), 4.0));
    let for_state: Vec<f64> = out
        .iter()
        .filter(|s| s.labels.metric_name() == Some(ALERTS_FOR_STATE))
        .map(|s| s.v)
        .collect();
    assert_eq!(for_state, [0.0]);
    assert_eq!(r.state(), AlertState::Firing);
}

#[test]
fn without_for_fires_at_once_and_pending_alerts_vanish() {
    let r = rule(0, 0);
    assert_eq!(states(&eval(&r, &result(2.0), 0)), ["firing"]);
    let r = rule(5, 0);
    eval(&r, &result(2.0), 0);
    assert!(eval(&r, &[], MIN).is_empty());
    assert!(r.current_alerts().is_empty());
}

#[test]
fn resolved_alerts_are_kept_fifteen_minutes() {
    let r = rule(0, 0);
    eval(&r, &result(2.0), 0);
    assert!(eval(&r, &[], MIN).is_empty());
    assert!(r.active_alerts().is_empty());
    let kept = r.current_alerts();
    assert_eq!(kept[0].state, AlertState::Inactive);
    assert_eq!(kept[0].resolved_at, Some(MIN));
    eval(&r, &[], 16 * MIN);
    assert_eq!(r.current_alerts().len(), 1);
    eval(&r, &[], 16 * MIN + 1);
    assert!(r.current_alerts().is_empty());
    // A resolved alert that comes back starts over as a new alert.
    let r = rule(5, 0);
    eval(&r, &result(2.0), 0);
    eval(&r, &result(2.0), 5 * MIN);
    eval(&r, &[], 6 * MIN);
    assert_eq!(states(&eval(&r, &result(2.0), 7 * MIN)), ["pending"]);
    assert_eq!(r.active_alerts()[0].active_at, 7 * MIN);
}

#[test]
fn keep_firing_for_holds_a_firing_alert() {
    let r = rule(0, 10);
    eval(&r, &result(2.0), 0);
    assert_eq!(states(&eval(&r, &[], MIN)), ["firing"]);
    assert_eq!(r.active_alerts()[0].keep_firing_since, Some(MIN));
    assert_eq!(states(&eval(&r, &[], 10 * MIN)), ["firing"]);
    assert!(eval(&r, &[], 11 * MIN).is_empty());
    assert_eq!(r.current_alerts()[0].resolved_at, Some(11 * MIN));
    // Back in the result: the countdown resets.
    let r = rule(0, 10);
    eval(&r, &result(2.0), 0);
    eval(&r, &[], MIN);
    eval(&r, &result(2.0), 2 * MIN);
    assert_eq!(r.active_alerts()[0].keep_firing_since, None);
    // Pending alerts are not kept.
    let r = rule(5, 10);
    eval(&r, &result(2.0), 0);
    assert!(eval(&r, &[], MIN).is_empty());
}

#[test]
fn limit_duplicates_and_unrestored_rules() {
    let r = rule(0, 0);
    let two = vec![
        result(1.0).remove(0),
        VectorSample {
            labels: Labels::from_pairs(&[("instance", "b")]).unwrap(),
            t: 0,
            v: 1.0,
            h: None,
        },
    ];
    assert_eq!(
        r.eval(&two, 0, Duration::ZERO, 1, &PromTemplates::default()),
        Err("exceeded limit of 1 with 2 alerts".to_string())
    );
    assert!(r.current_alerts().is_empty());
    let same = vec![result(1.0).remove(0), result(2.0).remove(0)];
    assert_eq!(
        r.eval(&same, 0, Duration::ZERO, 0, &PromTemplates::default()),
        Err(ERR_DUPLICATE_ALERT.to_string())
    );
    r.set_restored(false);
    assert!(eval(&r, &result(1.0), 0).is_empty());
    assert_eq!(r.active_alerts().len(), 1);
    // The series are stamped at the evaluation time minus the query offset.
    r.set_restored(true);
    let out = r
        .eval(
            &result(1.0),
            10 * MIN,
            Duration::from_secs(60),
            0,
            &PromTemplates::default(),
        )
        .unwrap();
    assert!(out.iter().all(|s| s.t == 9 * MIN));
}

#[test]
fn templates_expand_with_alert_data_and_errors_show_in_the_text() {
    let mut r = rule(0, 0);
    r.external_labels = BTreeMap::from([("dc".to_string(), "eu1".to_string())]);
    r.external_url = "http://bongsu:9090".into();
    r.labels
        .insert("where".into(), "{{ $externalLabels.dc }}".into());
    r.annotations.insert(
        "description".into(),
        "{{ $labels.instance }} at {{ $value | humanize }} ({{ $externalURL }})".into(),
    );
    r.annotations
        .insert("broken".into(), "{{ query \"up\" }}".into());
    eval(&r, &result(2500.0), 0);
    let a = &r.active_alerts()[0];
    assert_eq!(a.labels.get("where"), Some("eu1"));
    assert_eq!(
        a.annotations["description"],
        "a at 2.5k (http://bongsu:9090)"
    );
    assert!(
        a.annotations["broken"]
            .starts_with("<error expanding template: error executing template __alert_HighLoad:"),
        "{}",
        a.annotations["broken"]
    );
    assert_eq!(a.annotations["summary"], "load is high");
}

#[test]
fn sending_and_resending() {
    let r = rule(5, 0);
    let delay = Duration::from_secs(60);
    let interval = Duration::from_secs(15);
    eval(&r, &result(2.0), 0);
    assert!(r.alerts_to_send(0, delay, interval).is_empty());
    eval(&r, &result(2.0), 5 * MIN);
    let sent = r.alerts_to_send(5 * MIN, delay, interval);
    assert_eq!(sent.len(), 1);
    assert_eq!(sent[0].valid_until, Some(5 * MIN + 4 * MIN));
    assert!(r
        .alerts_to_send(5 * MIN + 30_000, delay, interval)
        .is_empty());
    assert_eq!(r.alerts_to_send(6 * MIN + 1, delay, interval).len(), 1);
    eval(&r, &[], 7 * MIN);
    let resolved = r.alerts_to_send(7 * MIN, delay, interval);
    assert_eq!(resolved[0].state, AlertState::Inactive);
}

/// Writes `ALERTS_FOR_STATE` of the test rule's alert: `active_at_s` at each of `times`.
fn db_with_for_state(active_at_s: f64, times: &[i64]) -> MemStorage {
    let db = MemStorage::new();
    let labels = Labels::from_pairs(&[
        ("__name__", ALERTS_FOR_STATE),
        ("alertname", "HighLoad"),
        ("instance", "a"),
        ("severity", "page"),
    ])
    .unwrap();
    let mut app = db.appender();
    for &t in times {
        app.append(&labels, t, active_at_s).unwrap();
    }
    app.commit().unwrap();
    drop(app);
    db
}

#[test]
fn restore_after_restart() {
    let hour = 60 * MIN;
    let grace = Duration::from_secs(10 * 60);
    // Pending for 20 of 60 minutes when the server stopped at 1h; back at 1h30m: the 40
    // minutes left are kept, counted from the restart.
    let db = db_with_for_state(2400.0, &[hour - MIN, hour]);
    let r = rule(60, 0);
    r.set_restored(false);
    let now = hour + 30 * MIN;
    eval(&r, &result(2.0), now);
    r.restore_for_state(&*db.querier(now - 2 * hour, now).unwrap(), now, grace);
    assert!(r.is_restored());
    assert_eq!(r.active_alerts()[0].active_at, 40 * MIN + 30 * MIN);
    assert_eq!(
        states(&eval(&r, &result(2.0), 70 * MIN + hour - 1)),
        ["pending"]
    );
    assert_eq!(states(&eval(&r, &result(2.0), 70 * MIN + hour)), ["firing"]);

    // Five minutes left, less than the grace period: it fires a grace period after restart.
    let db = db_with_for_state(300.0, &[hour]);
    let r = rule(60, 0);
    r.set_restored(false);
    eval(&r, &result(2.0), now);
    r.restore_for_state(&*db.querier(now - 2 * hour, now).unwrap(), now, grace);
    assert_eq!(r.active_alerts()[0].active_at, now + 10 * MIN - hour);

    // Already firing when it stopped: the old activeAt comes back.
    let db = db_with_for_state(0.0, &[2 * hour]);
    let r = rule(60, 0);
    r.set_restored(false);
    let now = 2 * hour + MIN;
    eval(&r, &result(2.0), now);
    r.restore_for_state(&*db.querier(now - 2 * hour, now).unwrap(), now, grace);
    assert_eq!(states(&eval(&r, &result(2.0), now + 15_000)), ["firing"]);

    // A stale marker means the alert was not active: nothing restored.
    let db = db_with_for_state(bongsu_model::STALE_NAN, &[hour]);
    let r = rule(60, 0);
    r.set_restored(false);
    eval(&r, &result(2.0), now);
    r.restore_for_state(&*db.querier(0, now).unwrap(), now, grace);
    assert_eq!(r.active_alerts()[0].active_at, now);

    // `for` shorter than the grace period: nothing to restore.
    let r = rule(5, 0);
    r.set_restored(false);
    r.restore_for_state(&*db.querier(0, now).unwrap(), now, grace);
    assert!(r.is_restored());
}
