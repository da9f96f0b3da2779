use bongsu_model::is_stale_nan;

use super::*;
use crate::file::parse;
use crate::template::PromTemplates;

static TEMPLATES: PromTemplates = PromTemplates::new();
use bongsu_storage::memory::MemStorage;
use bongsu_storage::Appendable;

const SEC: i64 = 1000;

fn groups(text: &str) -> Vec<RuleGroup> {
    parse(
        text,
        bongsu_relabel::NameValidationScheme::Utf8,
        &PromTemplates::default(),
    )
    .unwrap()
    .groups
}

fn group(text: &str) -> Group {
    let ext = BTreeMap::new();
    let s = GroupSettings {
        default_interval: Duration::from_secs(15),
        external_labels: &ext,
        external_url: "",
        restored: true,
    };
    Group::new("rules.yml", groups(text).remove(0), &s)
}

fn ctx<'a>(db: &'a MemStorage, engine: &'a Engine) -> EvalContext<'a> {
    EvalContext {
        db,
        engine,
        templates: &TEMPLATES,
        default_query_offset: Duration::ZERO,
        resend_delay: Duration::from_secs(60),
        sink: None,
        logs: None,
    }
}

type Pairs<'a> = &'a [(&'a str, &'a str)];

fn load(db: &MemStorage, series: &[(Pairs<'_>, i64, f64)]) {
    let mut app = db.appender();
    for (pairs, t, v) in series {
        app.append(&Labels::from_pairs(pairs).unwrap(), *t, *v)
            .unwrap();
    }
    app.commit().unwrap();
}

fn samples(db: &MemStorage, metric: &str) -> Vec<(String, Vec<(i64, f64)>)> {
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    q.select(&[bongsu_model::Matcher::equal("__name__", metric)])
        .unwrap()
        .into_iter()
        .map(|s| {
            (
                s.labels.to_string(),
                s.samples.iter().map(|x| (x.t, x.v)).collect(),
            )
        })
        .collect()
}

const RULES: &str = "groups:
- name: g
  labels: {team: a}
  rules:
  - record: job:up:sum
    expr: sum by (job) (up)
  - alert: Down
    expr: up == 0
    for: 30s
";

#[test]
fn records_and_alerts_into_storage() {
    let db = MemStorage::new();
    let engine = Engine::default();
    load(
        &db,
        &[
            (
                &[("__name__", "up"), ("job", "x"), ("instance", "1")],
                0,
                1.0,
            ),
            (
                &[("__name__", "up"), ("job", "x"), ("instance", "2")],
                0,
                0.0,
            ),
        ],
    );
    let g = group(RULES);
    g.eval(&ctx(&db, &engine), 10 * SEC);
    assert_eq!(
        samples(&db, "job:up:sum"),
        [(
            r#"job:up:sum{job="x", team="a"}"#.to_string(),
            vec![(10 * SEC, 1.0)]
        )]
    );
    let alerts = samples(&db, "ALERTS");
    assert_eq!(alerts.len(), 1);
    assert!(
        alerts[0].0.contains(r#"alertstate="pending""#),
        "{alerts:?}"
    );
    assert_eq!(g.rules[0].status().health, Health::Ok);
    assert!(g.rules[1].status().last_evaluation.is_some());

    // Pending becomes firing: the pending series gets a stale marker.
    g.eval(&ctx(&db, &engine), 40 * SEC);
    let alerts = samples(&db, "ALERTS");
    let pending = alerts.iter().find(|(l, _)| l.contains("pending")).unwrap();
    assert!(is_stale_nan(pending.1.last().unwrap().1));
    assert!(alerts.iter().any(|(l, _)| l.contains("firing")));
}

#[test]
fn failures_set_health_and_scalars_record() {
    let db = MemStorage::new();
    let engine = Engine::default();
    let g = group(
        "groups:
- name: g
  rules:
  - record: answer
    expr: '42'
  - record: bad
    expr: '\"text\"'
",
    );
    g.eval(&ctx(&db, &engine), 5 * SEC);
    assert_eq!(samples(&db, "answer")[0].1, [(5 * SEC, 42.0)]);
    let s = g.rules[1].status();
    assert_eq!(s.health, Health::Err);
    assert_eq!(
        s.last_error.as_deref(),
        Some("rule result is not a vector or scalar")
    );
    assert_eq!(
        (g.metrics.evaluations.get(), g.metrics.failures.get()),
        (2, 1)
    );
    // A reload's replacement group continues the counts.
    let next = group("groups:\n- name: g\n  rules:\n  - record: answer\n    expr: '43'\n");
    next.copy_state_from(&g);
    next.eval(&ctx(&db, &engine), 6 * SEC);
    assert_eq!(
        (next.metrics.evaluations.get(), next.metrics.failures.get()),
        (3, 1)
    );
}

#[test]
fn query_offset_and_removed_rules() {
    let db = MemStorage::new();
    let engine = Engine::default();
    load(&db, &[(&[("__name__", "m")], 0, 3.0)]);
    let old = group("groups:\n- name: g\n  query_offset: 5s\n  rules:\n  - record: a\n    expr: m\n  - record: b\n    expr: m\n");
    old.eval(&ctx(&db, &engine), 20 * SEC);
    assert_eq!(samples(&db, "a")[0].1, [(15 * SEC, 3.0)]);
    // A reload drops rule `b`: its series is marked stale at the next evaluation.
    let new =
        group("groups:\n- name: g\n  query_offset: 5s\n  rules:\n  - record: a\n    expr: m\n");
    assert!(!new.same_definition(&old));
    new.copy_state_from(&old);
    new.eval(&ctx(&db, &engine), 35 * SEC);
    let b = &samples(&db, "b")[0].1;
    assert_eq!(b.len(), 2);
    assert!(is_stale_nan(b[1].1) && b[1].0 == 30 * SEC);
    // Removing the group marks everything stale.
    new.mark_all_stale(&db, 50 * SEC);
    assert!(is_stale_nan(samples(&db, "a")[0].1.last().unwrap().1));
}

#[test]
fn evaluation_slots() {
    let g = group(RULES);
    let interval = 15_000_000_000i128;
    let now = 1_700_000_000_123_456_789i128;
    let slot = g.eval_timestamp(now);
    assert!(slot <= now && now - slot < interval);
    assert_eq!(g.eval_timestamp(slot), slot);
    assert_eq!(g.eval_timestamp(slot + interval - 1), slot);
    assert_eq!((slot - g.hash() as i128 % interval) % interval, 0);
    // Prometheus' labels hash of {file="rules.yml", name="g"}.
    assert_eq!(
        g.hash(),
        xxhash_rust::xxh64::xxh64(b"file\xffrules.yml\xffname\xffg\xff", 0)
    );
}

#[test]
fn recording_rules_append_histograms() {
    let db = MemStorage::new();
    let engine = Engine::default();
    let h =
        bongsu_model::histogram::parse_test_notation("{{schema:0 count:3 sum:4 buckets:[1 2]}}")
            .unwrap();
    let mut app = db.appender();
    for i in ["1", "2"] {
        let l = Labels::from_pairs(&[("__name__", "lat"), ("i", i)]).unwrap();
        let v = bongsu_model::HistogramValue::Float(std::sync::Arc::new(h.clone()));
        app.append_histogram(&l, 0, v).unwrap();
    }
    app.commit().unwrap();
    let g = group("groups:\n- name: g\n  rules:\n  - record: lat:sum\n    expr: sum(lat)\n");
    g.eval(&ctx(&db, &engine), 10 * SEC);
    let q = db.querier(i64::MIN, i64::MAX).unwrap();
    let got = q
        .select(&[bongsu_model::Matcher::equal("__name__", "lat:sum")])
        .unwrap();
    assert_eq!(got.len(), 1);
    assert!(got[0].samples.is_empty());
    let sum = got[0].histograms[0].h.to_float();
    assert_eq!(got[0].histograms[0].t, 10 * SEC);
    assert_eq!((sum.count, sum.sum), (6.0, 8.0));
    assert_eq!(sum.positive_buckets, vec![2.0, 4.0]);
}
