//! Links into the `/logs` explorer: the explorer's URL (`<base>/logs?query=…&from=…&to=…`,
//! times in Unix milliseconds) and the logs link of an alert that did not come from a LogQL
//! rule, or of a metric series: the log streams sharing its `job`, `instance` and `service`
//! around its time.
//!
//! Not here: the link of a LogQL rule's alert (the rules engine builds it from the rule's log
//! selection, as that alert's generatorURL, which [`alert_logs_url`] then keeps), and the
//! browser's copy of these rules (`web/src/logslink.js`, which must agree with this file).

/// Labels naming where a series' or an alert's logs come from, in the selector's order.
pub const LOG_SOURCE_LABELS: [&str; 3] = ["job", "instance", "service"];

/// How long before an alert starts its logs link begins: what led up to it.
pub const LOGS_BEFORE_ALERT_MS: i64 = 10 * 60 * 1000;

/// How long after a resolved alert ends its logs link still shows: how it settled.
pub const LOGS_AFTER_RESOLVED_MS: i64 = 5 * 60 * 1000;

/// `<external_url>/logs?query=…&from=…&to=…`, each parameter only when given. The query is
/// form-encoded (`+` for spaces), as the explorer's `URLSearchParams` reads it.
pub fn logs_url(
    external_url: &str,
    query: Option<&str>,
    from_ms: Option<i64>,
    to_ms: Option<i64>,
) -> String {
    let mut params = url::form_urlencoded::Serializer::new(String::new());
    if let Some(q) = query {
        params.append_pair("query", q);
    }
    if let Some(t) = from_ms {
        params.append_pair("from", &t.to_string());
    }
    if let Some(t) = to_ms {
        params.append_pair("to", &t.to_string());
    }
    let params = params.finish();
    let base = external_url.trim_end_matches('/');
    if params.is_empty() {
        format!("{base}/logs")
    } else {
        format!("{base}/logs?{params}")
    }
}

/// A LogQL string literal: double-quoted, with `"`, `\` and control characters escaped (JSON's
/// escapes, which LogQL's Go-style strings read the same; the browser uses `JSON.stringify`).
pub fn logql_string(value: &str) -> String {
    serde_json::Value::from(value).to_string()
}

/// `{job="…", instance="…", service="…"}` with those of [`LOG_SOURCE_LABELS`] that `label`
/// has, in that order; `None` when it has none of them.
pub fn log_source_selector<'a>(label: impl Fn(&str) -> Option<&'a str>) -> Option<String> {
    let pairs: Vec<String> = LOG_SOURCE_LABELS
        .iter()
        .filter_map(|name| label(name).map(|v| format!("{name}={}", logql_string(v))))
        .collect();
    (!pairs.is_empty()).then(|| format!("{{{}}}", pairs.join(", ")))
}

/// Whether `url` (absolute, on any host, or a path) already opens the logs explorer: its path
/// ends in `/logs`, so an explorer under a path prefix counts too.
pub fn is_logs_url(url: &str) -> bool {
    if url.is_empty() {
        return false;
    }
    // A path is read against a placeholder origin, as the browser reads it against its own.
    url::Url::parse("http://base.invalid/")
        .and_then(|base| base.join(url))
        .is_ok_and(|u| u.path().ends_with("/logs"))
}

/// The logs link of an alert not built from a LogQL rule (a PromQL rule's, or one pushed to
/// the Alertmanager): its generatorURL when that already opens `/logs`; otherwise the logs of
/// its [`log_source_selector`] from [`LOGS_BEFORE_ALERT_MS`] before `starts_at_ms` to
/// [`LOGS_AFTER_RESOLVED_MS`] after `resolved_at_ms` (open-ended while it fires).
pub fn alert_logs_url<'a>(
    external_url: &str,
    label: impl Fn(&str) -> Option<&'a str>,
    starts_at_ms: i64,
    resolved_at_ms: Option<i64>,
    generator_url: &str,
) -> String {
    if is_logs_url(generator_url) {
        return generator_url.to_string();
    }
    logs_url(
        external_url,
        log_source_selector(label).as_deref(),
        Some(starts_at_ms.saturating_sub(LOGS_BEFORE_ALERT_MS)),
        resolved_at_ms.map(|t| t.saturating_add(LOGS_AFTER_RESOLVED_MS)),
    )
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use serde_json::Value;

    use super::*;

    /// Cases the browser's copy (`web/test/logslink.test.mjs`) runs too.
    const CASES: &str = include_str!("../../../tests/data/logs_links.json");

    fn labels(v: &Value) -> BTreeMap<String, String> {
        v.as_object()
            .unwrap()
            .iter()
            .map(|(k, v)| (k.clone(), v.as_str().unwrap().to_string()))
            .collect()
    }

    #[test]
    fn shared_cases() {
        let cases: Value = serde_json::from_str(CASES).unwrap();
        let mut failures = Vec::new();
        for c in cases["alerts"].as_array().unwrap() {
            let l = labels(&c["labels"]);
            let got = alert_logs_url(
                "",
                |n| l.get(n).map(String::as_str),
                c["startsAt"].as_i64().unwrap(),
                c["resolvedAt"].as_i64(),
                c["generatorURL"].as_str().unwrap(),
            );
            if got != c["want"].as_str().unwrap() {
                failures.push(format!("{}: got {got}", c["name"]));
            }
        }
        for c in cases["series"].as_array().unwrap() {
            let l = labels(&c["metric"]);
            let got = log_source_selector(|n| l.get(n).map(String::as_str))
                .map(|q| logs_url("", Some(&q), c["start"].as_i64(), c["end"].as_i64()));
            if got.as_deref() != c["want"].as_str() {
                failures.push(format!("{}: got {got:?}", c["name"]));
            }
        }
        assert!(failures.is_empty(), "{}", failures.join("\n"));
    }

    #[test]
    fn links_go_under_the_external_url() {
        let l = BTreeMap::from([("job".to_string(), "node".to_string())]);
        let got = alert_logs_url(
            "http://h:9090/",
            |n| l.get(n).map(String::as_str),
            600_000,
            None,
            "",
        );
        assert_eq!(
            got,
            "http://h:9090/logs?query=%7Bjob%3D%22node%22%7D&from=0"
        );
        assert_eq!(logs_url("http://h/p", None, None, None), "http://h/p/logs");
    }

    #[test]
    fn the_query_reads_back_as_the_selector() {
        let l = BTreeMap::from([
            ("instance".to_string(), "x\"\\y\u{1}".to_string()),
            ("job".to_string(), "a b".to_string()),
        ]);
        let got = alert_logs_url("http://h", |n| l.get(n).map(String::as_str), 0, None, "");
        let query = url::Url::parse(&got)
            .unwrap()
            .query_pairs()
            .find(|(k, _)| k == "query")
            .map(|(_, v)| v.into_owned());
        assert_eq!(
            query.as_deref(),
            Some(r#"{job="a b", instance="x\"\\y\u0001"}"#)
        );
    }

    #[test]
    fn times_at_the_edges_saturate() {
        let got = alert_logs_url("", |_| None, i64::MIN, Some(i64::MAX), "");
        assert_eq!(got, format!("/logs?from={}&to={}", i64::MIN, i64::MAX));
    }
}
