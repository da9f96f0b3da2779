//! LogQL groups: the same evaluation as PromQL groups, with the query run by a fake
//! [`LogQuerier`] and alerts linking their lines.

use std::sync::{Arc, Mutex};

use bongsu_model::alert::Alert as Notification;
use bongsu_storage::memory::MemStorage;
use bongsu_storage::Queryable;

use super::*;
use crate::alerting::AlertState;
use crate::file::parse_as;
use crate::logs::LogQueryFn;
use crate::send::SendAlerts;
use crate::template::PromTemplates;

const SEC: i64 = 1000;

/// Answers every query with the samples set for it, and records the queries asked.
#[derive(Default)]
struct FakeLogs {
    answers: Mutex<Vec<(String, Vec<VectorSample>)>>,
    asked: Mutex<Vec<(String, i64)>>,
}

impl FakeLogs {
    fn answer(&self, query: &str, samples: &[(&[(&str, &str)], f64)]) {
        let v = samples
            .iter()
            .map(|(pairs, v)| VectorSample {
                labels: Labels::from_pairs(pairs).unwrap(),
                t: 0,
                v: *v,
                h: None,
            })
            .collect();
        // Keyed by Loki's canonical text, which the rule hands over.
        let query = bongsu_logql::parse(query).unwrap().to_string();
        let mut a = self.answers.lock().unwrap();
        a.retain(|(q, _)| *q != query);
        a.push((query, v));
    }
}

impl LogQuerier for FakeLogs {
    fn instant_query(
        &self,
        expr: &bongsu_logql::Expr,
        at_ms: i64,
    ) -> Result<Vec<VectorSample>, String> {
        let q = expr.to_string();
        self.asked.lock().unwrap().push((q.clone(), at_ms));
        let a = self.answers.lock().unwrap();
        a.iter()
            .find(|(k, _)| *k == q)
            .map(|(_, v)| v.clone())
            .ok_or_else(|| format!("no answer for {q}"))
    }
}

const RULES: &str = r#"groups:
- name: nginx
  labels: {team: web}
  rules:
  - record: job:nginx_errors:rate1m
    expr: sum by (job) (rate({job="nginx"} |= " 500 " [1m]))
  - alert: NginxErrors
    expr: sum by (job, host) (count_over_time({job="nginx"} |= " 500 " [1m])) > 2
    for: 1m
    labels: {severity: page}
    annotations:
      summary: '{{ $labels.host }} has {{ $value }} errors; {{ query "sum(count_over_time({job=\"nginx\"}[1m]))" | first | value }} lines'
"#;

const RATE: &str = r#"sum by (job) (rate({job="nginx"} |= " 500 " [1m]))"#;
const COUNT: &str = r#"sum by (job, host) (count_over_time({job="nginx"} |= " 500 " [1m])) > 2"#;
const ALL: &str = r#"sum(count_over_time({job="nginx"}[1m]))"#;

fn group() -> Group {
    let def = parse_as(
        RULES,
        QueryLang::Logql,
        bongsu_relabel::NameValidationScheme::Utf8,
        &PromTemplates::default(),
    )
    .unwrap()
    .groups
    .remove(0);
    let ext = BTreeMap::new();
    let s = GroupSettings {
        default_interval: Duration::from_secs(30),
        external_labels: &ext,
        external_url: "http://bongsu:9090",
        restored: true,
    };
    Group::new("logs.yml", def, &s)
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

#[test]
fn logql_rules_record_alert_and_link_their_lines() {
    let db = MemStorage::new();
    let engine = Engine::default();
    let logs = Arc::new(FakeLogs::default());
    logs.answer(RATE, &[(&[("job", "nginx")], 0.5)]);
    logs.answer(COUNT, &[(&[("job", "nginx"), ("host", "web-01")], 3.0)]);
    logs.answer(ALL, &[(&[], 40.0)]);
    let templates = PromTemplates::with_query(Arc::new(LogQueryFn { logs: logs.clone() }));
    let sent = Mutex::new(Vec::new());
    let sink = SendAlerts::new("http://bongsu:9090", |a: Vec<Notification>| {
        sent.lock().unwrap().extend(a)
    });
    let ctx = EvalContext {
        db: &db,
        engine: &engine,
        templates: &PromTemplates::new(),
        default_query_offset: Duration::ZERO,
        resend_delay: Duration::from_secs(60),
        sink: Some(&sink),
        logs: Some(LogContext {
            querier: &*logs,
            templates: &templates,
        }),
    };
    let g = group();
    assert_eq!(g.lang, QueryLang::Logql);
    // The API shows Loki's canonical text of the expression.
    assert_eq!(
        g.rules[0].query(),
        r#"sum by (job)(rate({job="nginx"} |= " 500 "[1m]))"#
    );
    g.eval(&ctx, 600 * SEC);
    g.eval(&ctx, 660 * SEC);
    assert_eq!(
        samples(&db, "job:nginx_errors:rate1m"),
        [(
            r#"job:nginx_errors:rate1m{job="nginx", team="web"}"#.to_string(),
            vec![(600 * SEC, 0.5), (660 * SEC, 0.5)]
        )]
    );
    for r in &g.rules {
        assert_eq!(r.status().health, Health::Ok, "{}", r.name());
    }
    let RuleKind::Alerting(a) = &g.rules[1].kind else {
        panic!("not an alerting rule")
    };
    let alerts = a.active_alerts();
    assert_eq!(alerts[0].state, AlertState::Firing);
    assert_eq!(
        alerts[0].annotations["summary"],
        "web-01 has 3 errors; 40 lines"
    );
    assert!(samples(&db, "ALERTS")
        .iter()
        .any(|(l, _)| l.contains(r#"alertstate="firing""#)));
    let sent = sent.into_inner().unwrap();
    assert_eq!(sent.len(), 1);
    assert_eq!(
        sent[0].generator_url,
        format!(
            "http://bongsu:9090/logs?{}",
            url::form_urlencoded::Serializer::new(String::new())
                .append_pair(
                    "query",
                    r#"{job="nginx"} |= " 500 " | host="web-01" | job="nginx""#
                )
                .append_pair("from", &(600 * SEC - 600 * SEC).to_string())
                .finish()
        )
    );
    let asked = logs.asked.lock().unwrap();
    let all = bongsu_logql::parse(ALL).unwrap().to_string();
    assert!(asked.contains(&(all, 660 * SEC)), "{asked:?}");
}

#[test]
fn logql_rules_without_a_log_store_fail_clearly() {
    let db = MemStorage::new();
    let engine = Engine::default();
    let ctx = EvalContext {
        db: &db,
        engine: &engine,
        templates: &PromTemplates::new(),
        default_query_offset: Duration::ZERO,
        resend_delay: Duration::from_secs(60),
        sink: None,
        logs: None,
    };
    let g = group();
    g.eval(&ctx, 60 * SEC);
    for r in &g.rules {
        let s = r.status();
        assert_eq!(s.health, Health::Err);
        assert_eq!(s.last_error.as_deref(), Some(ERR_NO_LOG_STORE));
    }
    assert!(samples(&db, "job:nginx_errors:rate1m").is_empty());
}
