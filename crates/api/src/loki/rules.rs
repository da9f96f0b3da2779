//! Loki's ruler API over the LogQL rule groups (`log_rule_files`): the Prometheus-style
//! `/prometheus/api/v1/rules` and `/prometheus/api/v1/alerts` (which Grafana's alerting view
//! reads for a Loki data source) in the shapes of Loki's `ruler/base/api.go`, and the
//! cortex-style rule configuration API (`/loki/api/v1/rules[/{namespace}[/{groupName}]]`,
//! also under `/api/prom/rules`) as YAML, namespaces being the rule files.
//!
//! Rules come from files, as with Loki's `local` rule storage, which is read-only: creating
//! or deleting groups answers with that storage's errors.
//!
//! Not here: PromQL rules (`/api/v1/rules` lists both kinds), evaluation (`bongsu-rules`).

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;

use axum::extract::{Path, RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use serde::Serialize;
use serde_json::{json, Map, Value};

use bongsu_model::format_prometheus_duration;
use bongsu_rules::alerting::Alert;
use bongsu_rules::group::{Group, RuleKind};
use bongsu_rules::{QueryLang, RuleGroup};

use crate::params::Params;
use crate::rules::{go_exp, go_time, labels_json, map_json, ms_time, num};
use crate::ApiState;

/// Loki's "no rule groups found" (`ErrNoRuleGroups`).
const ERR_NO_RULE_GROUPS: &str = "no rule groups found";
/// Loki's `rulestore.ErrGroupNotFound`.
const ERR_GROUP_NOT_FOUND: &str = "group does not exist";

impl ApiState {
    fn log_rule_groups(&self) -> Vec<Arc<Group>> {
        let mut groups: Vec<Arc<Group>> = self
            .rule_groups()
            .into_iter()
            .filter(|g| g.lang == QueryLang::Logql)
            .collect();
        // Loki keeps groups in file order (stable: names stay in file order).
        groups.sort_by(|a, b| a.file.cmp(&b.file));
        groups
    }
}

/// Loki's JSON envelope: `errorType` and `error` are always present.
fn envelope(status: StatusCode, data: Value, error_type: &str, error: &str) -> Response {
    let body = json!({
        "status": if status.is_success() { "success" } else { "error" },
        "data": data,
        "errorType": error_type,
        "error": error,
    });
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

fn alert_json(a: &Alert) -> Value {
    json!({
        "labels": labels_json(&a.labels),
        "annotations": map_json(&a.annotations),
        "state": a.state.as_str(),
        "activeAt": ms_time(a.active_at),
        "value": go_exp(a.value),
    })
}

/// `GET /prometheus/api/v1/rules`: the LogQL groups, filtered by `rule_name`, `rule_group`,
/// `file` (repeatable) and `type` (`alert` or `record`), as Loki's `PrometheusRules`.
pub(super) async fn prometheus_rules(State(s): State<ApiState>, RawQuery(q): RawQuery) -> Response {
    let p = match Params::parse(q.as_deref(), None) {
        Ok(p) => p,
        Err(e) => return envelope(StatusCode::BAD_REQUEST, Value::Null, "bad_data", &e),
    };
    let set = |name: &str| -> HashSet<&str> { p.all(name).into_iter().collect() };
    let (names, group_names, files) = (set("rule_name"), set("rule_group"), set("file"));
    let typ = p.get("type").unwrap_or_default().to_ascii_lowercase();
    if !["", "alert", "record"].contains(&typ.as_str()) {
        let msg = format!("not supported value {typ:?}");
        return envelope(StatusCode::BAD_REQUEST, Value::Null, "bad_data", &msg);
    }
    let mut groups = Vec::new();
    for g in s.log_rule_groups() {
        if (!group_names.is_empty() && !group_names.contains(g.name.as_str()))
            || (!files.is_empty() && !files.contains(g.file.as_str()))
        {
            continue;
        }
        let mut rules = Vec::new();
        for (r, def) in g.rules.iter().zip(&g.definition().rules) {
            if !names.is_empty() && !names.contains(r.name()) {
                continue;
            }
            let status = r.status();
            let mut o = Map::new();
            match &r.kind {
                RuleKind::Alerting(a) => {
                    if typ == "record" {
                        continue;
                    }
                    o.insert("state".into(), json!(a.state().as_str()));
                    o.insert("name".into(), json!(a.name));
                    o.insert("query".into(), json!(def.expr));
                    o.insert("duration".into(), num(a.hold.as_secs_f64()));
                    o.insert("labels".into(), map_json(&a.labels));
                    o.insert("annotations".into(), map_json(&a.annotations));
                    let alerts: Vec<Value> = a.active_alerts().iter().map(alert_json).collect();
                    o.insert("alerts".into(), Value::Array(alerts));
                }
                RuleKind::Recording(rec) => {
                    if typ == "alert" {
                        continue;
                    }
                    o.insert("name".into(), json!(rec.name));
                    o.insert("query".into(), json!(def.expr));
                    o.insert("labels".into(), map_json(&rec.labels));
                }
            }
            o.insert("health".into(), json!(status.health.as_str()));
            o.insert(
                "lastError".into(),
                json!(status.last_error.unwrap_or_default()),
            );
            let kind = match r.kind {
                RuleKind::Alerting(_) => "alerting",
                RuleKind::Recording(_) => "recording",
            };
            o.insert("type".into(), json!(kind));
            o.insert(
                "lastEvaluation".into(),
                json!(go_time(status.last_evaluation)),
            );
            o.insert(
                "evaluationTime".into(),
                num(status.evaluation_time.as_secs_f64()),
            );
            rules.push(Value::Object(o));
        }
        if rules.is_empty() && !(names.is_empty() && typ.is_empty()) {
            continue;
        }
        let stats = g.stats();
        groups.push(json!({
            "name": g.name,
            "file": g.file,
            "rules": rules,
            "interval": num(g.interval.as_secs_f64()),
            "limit": g.limit,
            "lastEvaluation": go_time(stats.last_evaluation),
            "evaluationTime": num(stats.evaluation_time.as_secs_f64()),
        }));
    }
    envelope(StatusCode::OK, json!({ "groups": groups }), "", "")
}

/// `GET /prometheus/api/v1/alerts`: the active alerts of LogQL rules.
pub(super) async fn prometheus_alerts(State(s): State<ApiState>) -> Response {
    let mut alerts = Vec::new();
    for g in s.log_rule_groups() {
        for r in &g.rules {
            if let RuleKind::Alerting(a) = &r.kind {
                alerts.extend(a.active_alerts().iter().map(alert_json));
            }
        }
    }
    envelope(StatusCode::OK, json!({ "alerts": alerts }), "", "")
}

/// A group as Prometheus' `rulefmt.RuleGroup` marshals to YAML.
#[derive(Serialize)]
struct YamlGroup<'a> {
    name: &'a str,
    #[serde(skip_serializing_if = "Option::is_none")]
    interval: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    query_offset: Option<String>,
    #[serde(skip_serializing_if = "is_zero")]
    limit: i64,
    rules: Vec<YamlRule<'a>>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
}

#[derive(Serialize)]
struct YamlRule<'a> {
    #[serde(skip_serializing_if = "str::is_empty")]
    record: &'a str,
    #[serde(skip_serializing_if = "str::is_empty")]
    alert: &'a str,
    expr: &'a str,
    #[serde(rename = "for", skip_serializing_if = "Option::is_none")]
    for_: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    keep_firing_for: Option<String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    labels: &'a BTreeMap<String, String>,
    #[serde(skip_serializing_if = "BTreeMap::is_empty")]
    annotations: &'a BTreeMap<String, String>,
}

fn is_zero(v: &i64) -> bool {
    *v == 0
}

fn duration(d: std::time::Duration) -> Option<String> {
    (!d.is_zero()).then(|| format_prometheus_duration(d))
}

fn yaml_group(g: &RuleGroup) -> YamlGroup<'_> {
    YamlGroup {
        name: &g.name,
        interval: g.interval.and_then(duration),
        query_offset: g.query_offset.and_then(duration),
        limit: g.limit,
        rules: g
            .rules
            .iter()
            .map(|r| YamlRule {
                record: &r.record,
                alert: &r.alert,
                expr: &r.expr,
                for_: duration(r.for_),
                keep_firing_for: duration(r.keep_firing_for),
                labels: &r.labels,
                annotations: &r.annotations,
            })
            .collect(),
        labels: &g.labels,
    }
}

fn yaml<T: Serialize>(value: &T) -> Response {
    match serde_yaml_ng::to_string(value) {
        Ok(text) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "application/yaml")],
            text,
        )
            .into_response(),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, &e.to_string()),
    }
}

/// Go's `http.Error`: a plain-text line.
fn plain(status: StatusCode, msg: &str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!("{msg}\n"),
    )
        .into_response()
}

/// The YAML map of namespaces (rule files) to their groups, `namespace` alone when given.
fn list(s: &ApiState, namespace: Option<&str>) -> Response {
    let groups = s.log_rule_groups();
    let mut out: BTreeMap<&str, Vec<YamlGroup<'_>>> = BTreeMap::new();
    for g in &groups {
        if namespace.is_some_and(|n| n != g.file) {
            continue;
        }
        out.entry(&g.file)
            .or_default()
            .push(yaml_group(g.definition()));
    }
    if out.is_empty() {
        return plain(StatusCode::NOT_FOUND, ERR_NO_RULE_GROUPS);
    }
    yaml(&out)
}

/// `GET /loki/api/v1/rules`.
pub(super) async fn list_rules(State(s): State<ApiState>) -> Response {
    list(&s, None)
}

/// `GET /loki/api/v1/rules/{namespace}`.
pub(super) async fn namespace_rules(
    State(s): State<ApiState>,
    Path(namespace): Path<String>,
) -> Response {
    list(&s, Some(&namespace))
}

/// `GET /loki/api/v1/rules/{namespace}/{groupName}`.
pub(super) async fn group_rules(
    State(s): State<ApiState>,
    Path((namespace, group)): Path<(String, String)>,
) -> Response {
    let groups = s.log_rule_groups();
    match groups
        .iter()
        .find(|g| g.file == namespace && g.name == group)
    {
        Some(g) => yaml(&yaml_group(g.definition())),
        None => plain(StatusCode::NOT_FOUND, ERR_GROUP_NOT_FOUND),
    }
}

/// `POST /loki/api/v1/rules/{namespace}`: Loki's local rule storage cannot store groups.
pub(super) async fn set_group() -> Response {
    plain(
        StatusCode::INTERNAL_SERVER_ERROR,
        "SetRuleGroup unsupported in rule local store",
    )
}

/// `DELETE /loki/api/v1/rules/{namespace}`.
pub(super) async fn delete_namespace() -> Response {
    envelope(
        StatusCode::INTERNAL_SERVER_ERROR,
        Value::Null,
        "server_error",
        "DeleteNamespace unsupported in rule local store",
    )
}

/// `DELETE /loki/api/v1/rules/{namespace}/{groupName}`.
pub(super) async fn delete_group() -> Response {
    envelope(
        StatusCode::INTERNAL_SERVER_ERROR,
        Value::Null,
        "server_error",
        "DeleteRuleGroup unsupported in rule local store",
    )
}
