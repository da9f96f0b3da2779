//! `/api/v1/rules` and `/api/v1/alerts`, from the rule manager's groups, in Prometheus'
//! shapes.

use std::collections::{BTreeMap, HashSet};
use std::time::{SystemTime, UNIX_EPOCH};

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{json, Map, Value};

use bongsu_model::{Labels, Matcher};
use bongsu_rules::alerting::Alert;
use bongsu_rules::group::{RuleKind, RuleStatus};

use super::params::parse_selector;
use super::{ok_json, params, ApiError, ApiState};

pub(crate) fn labels_json(l: &Labels) -> Value {
    Value::Object(
        l.iter()
            .map(|l| (l.name.to_string(), Value::String(l.value.to_string())))
            .collect(),
    )
}

pub(crate) fn map_json(m: &BTreeMap<String, String>) -> Value {
    Value::Object(
        m.iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect(),
    )
}

/// Go's `time.Time` in JSON (RFC 3339 with nanoseconds, trailing zeros dropped, UTC); the
/// zero time for "never".
pub(crate) fn go_time(t: Option<SystemTime>) -> String {
    let Some(t) = t else {
        return "0001-01-01T00:00:00Z".to_string();
    };
    let s = humantime::format_rfc3339_nanos(t).to_string();
    match s.split_once('.') {
        Some((secs, frac)) => {
            let digits = frac.trim_end_matches('Z').trim_end_matches('0');
            if digits.is_empty() {
                format!("{secs}Z")
            } else {
                format!("{secs}.{digits}Z")
            }
        }
        None => s,
    }
}

pub(crate) fn ms_time(ms: i64) -> String {
    let t = u64::try_from(ms)
        .ok()
        .map(|m| UNIX_EPOCH + std::time::Duration::from_millis(m));
    go_time(t)
}

/// Go's `strconv.FormatFloat(v, 'e', -1, 64)`: `1e+00`, `2.5e-01`, `NaN`, `+Inf`.
pub(crate) fn go_exp(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let s = format!("{v:e}");
    let (mantissa, exp) = s.split_once('e').unwrap_or((&s, "0"));
    let (sign, digits) = match exp.strip_prefix('-') {
        Some(d) => ('-', d),
        None => ('+', exp),
    };
    format!("{mantissa}e{sign}{digits:0>2}")
}

/// A number as Go's encoder writes it: whole numbers without a fraction (`15`, not `15.0`).
pub(crate) fn num(v: f64) -> Value {
    if v.fract() == 0.0 && v.abs() < 1e15 {
        json!(v as i64)
    } else {
        json!(v)
    }
}

fn alert_json(a: &Alert) -> Value {
    let mut o = Map::new();
    o.insert("labels".into(), labels_json(&a.labels));
    o.insert("annotations".into(), map_json(&a.annotations));
    o.insert("state".into(), json!(a.state.as_str()));
    o.insert("activeAt".into(), json!(ms_time(a.active_at)));
    if let Some(k) = a.keep_firing_since {
        o.insert("keepFiringSince".into(), json!(ms_time(k)));
    }
    o.insert("value".into(), json!(go_exp(a.value)));
    Value::Object(o)
}

fn status_fields(o: &mut Map<String, Value>, s: &RuleStatus) {
    o.insert("health".into(), json!(s.health.as_str()));
    if let Some(e) = &s.last_error {
        o.insert("lastError".into(), json!(e));
    }
    o.insert(
        "evaluationTime".into(),
        num(s.evaluation_time.as_secs_f64()),
    );
    o.insert("lastEvaluation".into(), json!(go_time(s.last_evaluation)));
}

/// Matcher sets are ORed, matchers within a set ANDed, over the rule's labels.
fn matches_sets(sets: &[Vec<Matcher>], labels: &BTreeMap<String, String>) -> bool {
    sets.is_empty()
        || sets.iter().any(|set| {
            set.iter()
                .all(|m| m.matches(labels.get(&m.name).map_or("", String::as_str)))
        })
}

fn invalid(param: &str, msg: impl std::fmt::Display) -> ApiError {
    ApiError::BadData(format!("invalid parameter {param:?}: {msg}"))
}

pub(super) async fn rules(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(q, &Bytes::new())?;
    let set =
        |name: &str| -> HashSet<String> { p.all(name).into_iter().map(str::to_string).collect() };
    let (rule_names, group_names, files) = (set("rule_name[]"), set("rule_group[]"), set("file[]"));
    let sets = p
        .all("match[]")
        .into_iter()
        .map(parse_selector)
        .collect::<Result<Vec<_>, _>>()
        .map_err(ApiError::BadData)?;
    let typ = p.get("type").unwrap_or_default().to_ascii_lowercase();
    if !["", "alert", "record"].contains(&typ.as_str()) {
        return Err(invalid("type", format!("not supported value {typ:?}")));
    }
    let exclude_alerts = match p
        .get("exclude_alerts")
        .unwrap_or_default()
        .to_ascii_lowercase()
        .as_str()
    {
        "" | "false" | "f" | "0" => false,
        "true" | "t" | "1" => true,
        other => {
            return Err(invalid(
                "exclude_alerts",
                format!("error converting exclude_alerts: strconv.ParseBool: parsing {other:?}: invalid syntax"),
            ))
        }
    };
    if p.get("group_limit").is_some() || p.get("group_next_token").is_some() {
        return Err(ApiError::BadData(
            "pagination of rule groups (group_limit, group_next_token) is not supported yet".into(),
        ));
    }
    let mut groups = Vec::new();
    for g in s.rule_groups() {
        if (!group_names.is_empty() && !group_names.contains(&g.name))
            || (!files.is_empty() && !files.contains(&g.file))
        {
            continue;
        }
        let mut rules = Vec::new();
        for r in &g.rules {
            if !matches_sets(&sets, r.labels())
                || (!rule_names.is_empty() && !rule_names.contains(r.name()))
            {
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
                    o.insert("query".into(), json!(r.query()));
                    o.insert("duration".into(), num(a.hold.as_secs_f64()));
                    o.insert("keepFiringFor".into(), num(a.keep_firing_for.as_secs_f64()));
                    o.insert("labels".into(), map_json(&a.labels));
                    o.insert("annotations".into(), map_json(&a.annotations));
                    let alerts = if exclude_alerts {
                        Value::Null
                    } else {
                        Value::Array(a.active_alerts().iter().map(alert_json).collect())
                    };
                    o.insert("alerts".into(), alerts);
                    status_fields(&mut o, &status);
                    o.insert("type".into(), json!("alerting"));
                }
                RuleKind::Recording(rec) => {
                    if typ == "alert" {
                        continue;
                    }
                    o.insert("name".into(), json!(rec.name));
                    o.insert("query".into(), json!(r.query()));
                    o.insert("labels".into(), map_json(&rec.labels));
                    status_fields(&mut o, &status);
                    o.insert("type".into(), json!("recording"));
                }
            }
            rules.push(Value::Object(o));
        }
        if rules.is_empty() {
            continue;
        }
        let stats = g.stats();
        groups.push(json!({
            "name": g.name,
            "file": g.file,
            "rules": rules,
            "interval": num(g.interval.as_secs_f64()),
            "limit": g.limit,
            "evaluationTime": num(stats.evaluation_time.as_secs_f64()),
            "lastEvaluation": go_time(stats.last_evaluation),
        }));
    }
    Ok(ok_json(json!({ "groups": groups }).to_string()))
}

pub(super) async fn alerts(State(s): State<ApiState>) -> Result<Response, ApiError> {
    let mut alerts = Vec::new();
    for g in s.rule_groups() {
        for r in &g.rules {
            if let RuleKind::Alerting(a) = &r.kind {
                alerts.extend(a.active_alerts().iter().map(alert_json));
            }
        }
    }
    Ok(ok_json(json!({ "alerts": alerts }).to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_formats() {
        assert_eq!(go_exp(1.0), "1e+00");
        assert_eq!(go_exp(0.25), "2.5e-01");
        assert_eq!(go_exp(12345.0), "1.2345e+04");
        assert_eq!(go_exp(1e-300), "1e-300");
        assert_eq!(go_exp(f64::NAN), "NaN");
        assert_eq!(ms_time(1_500), "1970-01-01T00:00:01.5Z");
        assert_eq!(ms_time(0), "1970-01-01T00:00:00Z");
        assert_eq!(go_time(None), "0001-01-01T00:00:00Z");
        assert_eq!(num(15.0).to_string(), "15");
        assert_eq!(num(0.25).to_string(), "0.25");
    }
}
