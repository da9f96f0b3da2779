//! Rules on LogQL (Loki's ruler): groups from `log_rule_files` whose expressions are LogQL
//! metric queries. They run in the same groups, state machine and manager as PromQL rules;
//! this module owns what differs:
//!
//! - [`LogQuerier`], the seam through which a LogQL rule runs its query at an instant (the
//!   binary implements it over the log store; this crate never names the store or the LogQL
//!   evaluator);
//! - [`parse_metric_query`]: the check that an expression is a LogQL *metric* query;
//! - [`LogQueryFn`]: the `query` template function of LogQL rules, which runs LogQL as Loki's
//!   ruler's does;
//! - [`logs_link`]: the generator URL of a LogQL alert, the `/logs` explorer on the lines
//!   behind it.
//!
//! Not here: evaluation of LogQL (`logengine`, behind [`LogQuerier`]), the file format
//! (`file`, shared with PromQL rules).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use bongsu_gotmpl::fmt::quote as go_quote;
use bongsu_gotmpl::prometheus::{QueryFn, QuerySample};
use bongsu_logql::{Expr, LogExpr, MetricExpr};
use bongsu_promql::VectorSample;

use crate::alerting::{Alert, ALERT_NAME};

/// The health error of a LogQL rule when the server has no log store to query.
pub const ERR_NO_LOG_STORE: &str =
    "LogQL rules need the log store, which is not available in this server";

/// How far before an alert became active its logs link starts.
pub const LINK_BEFORE_ACTIVE: Duration = Duration::from_secs(10 * 60);
/// How far after an alert resolved its logs link ends.
pub const LINK_AFTER_RESOLVED: Duration = Duration::from_secs(5 * 60);

/// Runs LogQL metric queries for log rules. Implemented by the binary over the log store; a
/// fake in tests.
pub trait LogQuerier: Send + Sync {
    /// The instant-vector result of the metric query `expr` at `at_ms` (Unix milliseconds); a
    /// scalar result is one sample without labels. The error is the rule's health message.
    fn instant_query(&self, expr: &Expr, at_ms: i64) -> Result<Vec<VectorSample>, String>;
}

/// Parses a rule's `expr` as LogQL and requires a metric query: a log query yields lines,
/// which a rule can neither record nor alert on. Errors are Loki's parse errors (with their
/// line and column in the expression).
pub fn parse_metric_query(expr: &str) -> Result<Expr, String> {
    let parsed = bongsu_logql::parse(expr).map_err(|e| e.to_string())?;
    match parsed {
        Expr::Metric(_) => Ok(parsed),
        Expr::Log(_) => Err(format!(
            "{expr} is a log query; rules need a LogQL metric query (e.g. count_over_time({{…}}[5m]))"
        )),
    }
}

/// The first log selection under a range (in print order) of a metric query: what the lines
/// behind its samples are.
pub fn first_log_selection(expr: &MetricExpr) -> Option<&LogExpr> {
    match expr {
        MetricExpr::Range(r) => Some(&r.range.log),
        MetricExpr::Vector(v) => first_log_selection(&v.expr),
        MetricExpr::Binary(b) => {
            first_log_selection(&b.lhs).or_else(|| first_log_selection(&b.rhs))
        }
        MetricExpr::LabelReplace(l) => first_log_selection(&l.expr),
        MetricExpr::Literal(_) | MetricExpr::VectorLiteral(_) => None,
    }
}

/// The `/logs` link of an alert of a LogQL rule (the shared contract of issue #16): the
/// rule's first log selection narrowed by `| name="value"` for each alert label that came
/// from the query's result (not the rule's `labels`, not `alertname`), in name order; from
/// ten minutes before the alert became active to five minutes after it resolved (open-ended
/// while it is active).
pub fn logs_link(
    external_url: &str,
    selection: Option<&str>,
    rule_labels: &BTreeMap<String, String>,
    alert: &Alert,
) -> String {
    let mut q = url::form_urlencoded::Serializer::new(String::new());
    if let Some(sel) = selection {
        let mut query = sel.to_string();
        for l in alert.labels.iter() {
            if &*l.name == ALERT_NAME || rule_labels.contains_key(&*l.name) {
                continue;
            }
            query.push_str(&format!(" | {}={}", l.name, go_quote(&l.value)));
        }
        q.append_pair("query", &query);
    }
    q.append_pair(
        "from",
        &(alert.active_at - ms(LINK_BEFORE_ACTIVE)).to_string(),
    );
    if let Some(r) = alert.resolved_at {
        q.append_pair("to", &(r + ms(LINK_AFTER_RESOLVED)).to_string());
    }
    format!("{}/logs?{}", external_url.trim_end_matches('/'), q.finish())
}

fn ms(d: Duration) -> i64 {
    i64::try_from(d.as_millis()).unwrap_or(i64::MAX)
}

/// The `query` template function of LogQL rules: the text is a LogQL metric query, run
/// through the rules' [`LogQuerier`] (Loki's ruler gives its templates a LogQL `QueryFunc`).
pub struct LogQueryFn {
    pub logs: Arc<dyn LogQuerier>,
}

impl QueryFn for LogQueryFn {
    fn query(&self, expr: &str, at_ms: i64) -> Result<Vec<QuerySample>, String> {
        let parsed = parse_metric_query(expr)?;
        let v = self.logs.instant_query(&parsed, at_ms)?;
        Ok(v.into_iter()
            .map(|s| QuerySample {
                labels: s
                    .labels
                    .iter()
                    .map(|l| (l.name.to_string(), l.value.to_string()))
                    .collect(),
                value: s.v,
            })
            .collect())
    }
}

#[cfg(test)]
mod tests {
    use bongsu_model::Labels;

    use super::*;
    use crate::alerting::AlertState;

    fn alert(pairs: &[(&str, &str)], resolved_at: Option<i64>) -> Alert {
        Alert {
            state: AlertState::Firing,
            labels: Labels::from_pairs(pairs).unwrap(),
            annotations: BTreeMap::new(),
            value: 1.0,
            active_at: 3_600_000,
            fired_at: None,
            resolved_at,
            last_sent_at: None,
            valid_until: None,
            keep_firing_since: None,
        }
    }

    fn selection(q: &str) -> String {
        let Ok(Expr::Metric(m)) = bongsu_logql::parse(q) else {
            panic!("not a metric query: {q}")
        };
        first_log_selection(&m).unwrap().to_string()
    }

    #[test]
    fn first_selection_in_print_order() {
        assert_eq!(
            selection(
                r#"sum by (job) (rate({job="a"} |= "x" | json [5m])) / sum(rate({job="b"}[5m]))"#
            ),
            r#"{job="a"} |= "x" | json"#
        );
        assert_eq!(
            selection(r#"vector(1) + sum_over_time({job="c"} | unwrap x [1m])"#),
            r#"{job="c"}"#
        );
    }

    #[test]
    fn link_narrows_by_result_labels_and_spans_the_alert() {
        let rule_labels = BTreeMap::from([("severity".to_string(), "page".to_string())]);
        let a = alert(
            &[
                ("alertname", "Errors"),
                ("severity", "page"),
                ("job", "nginx"),
                ("host", "web \"1\""),
            ],
            None,
        );
        let sel = r#"{job="nginx"} |= " 500 ""#;
        assert_eq!(
            logs_link("http://h:9090/", Some(sel), &rule_labels, &a),
            "http://h:9090/logs?query=%7Bjob%3D%22nginx%22%7D+%7C%3D+%22+500+%22+%7C+host%3D%22web+%5C%221%5C%22%22+%7C+job%3D%22nginx%22&from=3000000"
        );
        let resolved = alert(&[("alertname", "Errors")], Some(4_000_000));
        assert_eq!(
            logs_link("http://h:9090", Some(r#"{a="b"}"#), &rule_labels, &resolved),
            "http://h:9090/logs?query=%7Ba%3D%22b%22%7D&from=3000000&to=4300000"
        );
        assert_eq!(
            logs_link("http://h:9090", None, &rule_labels, &resolved),
            "http://h:9090/logs?from=3000000&to=4300000"
        );
    }

    #[test]
    fn log_queries_are_refused() {
        assert!(parse_metric_query(r#"count_over_time({a="b"}[1m])"#).is_ok());
        let e = parse_metric_query(r#"{a="b"} |= "x""#).unwrap_err();
        assert!(e.contains("is a log query"), "{e}");
        let e = parse_metric_query(r#"count_over_time({a="b"} |= [1m])"#).unwrap_err();
        assert!(e.starts_with("parse error at line "), "{e}");
    }
}
