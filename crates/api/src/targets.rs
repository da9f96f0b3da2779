//! `/api/v1/targets`, `/api/v1/targets/metadata` and `/api/v1/metadata`, from the scrape
//! manager's pools, in Prometheus' shapes.

use std::collections::BTreeMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::{json, Map, Value};

use bongsu_model::Labels;
use bongsu_scrape::append::Metadata;
use bongsu_scrape::target::Target;

use super::params::parse_selector;
use super::{ok_json, params, ApiError, ApiState};

fn labels_json(l: &Labels) -> Value {
    Value::Object(
        l.iter()
            .map(|l| (l.name.to_string(), Value::String(l.value.to_string())))
            .collect(),
    )
}

fn rfc3339(t: Option<std::time::SystemTime>) -> String {
    match t {
        Some(t) => humantime::format_rfc3339_millis(t).to_string(),
        None => "0001-01-01T00:00:00Z".to_string(),
    }
}

fn duration(d: std::time::Duration) -> String {
    humantime::format_duration(d).to_string().replace(' ', "")
}

pub(super) async fn targets(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(q, &Bytes::new())?;
    // As Prometheus: case-insensitive, and any other value shows neither list (no error).
    let state = p.get("state").unwrap_or("").trim().to_ascii_lowercase();
    let show_active = ["", "any", "active"].contains(&state.as_str());
    let show_dropped = ["", "any", "dropped"].contains(&state.as_str());
    let pool_filter = p.get("scrapePool");
    let mut active = Vec::new();
    let mut dropped = Vec::new();
    let mut dropped_counts = Map::new();
    for pool in s.scrape_pools() {
        if pool_filter.is_some_and(|f| f != pool.job) {
            continue;
        }
        if show_active {
            for t in pool.active() {
                let h = t.health();
                active.push(json!({
                    "discoveredLabels": labels_json(&t.discovered),
                    "labels": labels_json(&t.labels),
                    "scrapePool": pool.job,
                    "scrapeUrl": t.url,
                    "globalUrl": t.url,
                    "lastError": h.last_error,
                    "lastScrape": rfc3339(h.last_scrape),
                    "lastScrapeDuration": h.last_duration.as_secs_f64(),
                    "health": h.state,
                    "scrapeInterval": duration(pool.interval()),
                    "scrapeTimeout": duration(pool.timeout()),
                }));
            }
        }
        let d = pool.dropped();
        dropped_counts.insert(pool.job.clone(), json!(d.len()));
        if show_dropped {
            dropped.extend(
                d.iter()
                    .map(|l| json!({"discoveredLabels": labels_json(l), "scrapePool": pool.job})),
            );
        }
    }
    let data = json!({
        "activeTargets": active,
        "droppedTargets": dropped,
        "droppedTargetCounts": dropped_counts,
    });
    Ok(ok_json(data.to_string()))
}

fn metadata_json(m: &Metadata) -> (String, String, String) {
    (
        m.kind.map_or("unknown", |k| k.as_str()).to_string(),
        m.help.clone(),
        m.unit.clone(),
    )
}

fn parse_limit(v: Option<&str>) -> Result<usize, ApiError> {
    match v {
        None | Some("") => Ok(usize::MAX),
        Some(s) => match s.parse::<i64>() {
            Ok(n) if n <= 0 => Ok(usize::MAX),
            Ok(n) => Ok(n as usize),
            Err(_) => Err(ApiError::BadData(format!(
                "invalid parameter \"limit\": {s:?}"
            ))),
        },
    }
}

pub(super) async fn targets_metadata(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(q, &Bytes::new())?;
    let limit = parse_limit(p.get("limit"))?;
    let metric = p.get("metric").filter(|m| !m.is_empty());
    let matchers = match p.get("match_target").filter(|m| !m.is_empty()) {
        Some(sel) => parse_selector(sel).map_err(ApiError::BadData)?,
        None => Vec::new(),
    };
    let matches = |t: &Target| {
        matchers
            .iter()
            .all(|m| m.matches(t.labels.get(&m.name).unwrap_or("")))
    };
    let mut out = Vec::new();
    // As Prometheus: `limit` bounds the targets matched. It is checked before each target,
    // so the target that reaches it contributes all its entries.
    'pools: for pool in s.scrape_pools() {
        for t in pool.active().iter().filter(|t| matches(t)) {
            if out.len() >= limit {
                break 'pools;
            }
            let md = t.metadata();
            match metric {
                // With `metric`, entries leave the name out (Prometheus' `omitempty`).
                Some(m) => {
                    if let Some(entry) = md.get(m) {
                        let (kind, help, unit) = metadata_json(entry);
                        out.push(json!({"target": labels_json(&t.labels), "type": kind, "help": help, "unit": unit}));
                    }
                }
                None => {
                    let mut names: Vec<&String> = md.keys().collect();
                    names.sort();
                    for name in names {
                        let (kind, help, unit) = metadata_json(&md[name]);
                        out.push(json!({"target": labels_json(&t.labels), "metric": name, "type": kind, "help": help, "unit": unit}));
                    }
                }
            }
        }
    }
    Ok(ok_json(Value::Array(out).to_string()))
}

pub(super) async fn metadata(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(q, &Bytes::new())?;
    let limit = parse_limit(p.get("limit"))?;
    let per_metric = parse_limit(p.get("limit_per_metric"))?;
    let metric = p.get("metric").filter(|m| !m.is_empty());
    let mut all: BTreeMap<String, Vec<(String, String, String)>> = BTreeMap::new();
    for pool in s.scrape_pools() {
        for t in pool.active() {
            for (name, m) in t.metadata().iter() {
                if metric.is_some_and(|want| want != name) {
                    continue;
                }
                let entry = metadata_json(m);
                let list = all.entry(name.clone()).or_default();
                if !list.contains(&entry) {
                    list.push(entry);
                }
            }
        }
    }
    let mut out = Map::new();
    for (name, list) in all.into_iter().take(limit) {
        let items: Vec<Value> = list
            .into_iter()
            .take(per_metric)
            .map(|(k, h, u)| json!({"type": k, "help": h, "unit": u}))
            .collect();
        out.insert(name, Value::Array(items));
    }
    Ok(ok_json(Value::Object(out).to_string()))
}

/// `scrape_pools`: the jobs, sorted.
pub(super) async fn scrape_pools(State(s): State<ApiState>) -> Response {
    let mut names: Vec<String> = s.scrape_pools().iter().map(|p| p.job.clone()).collect();
    names.sort();
    let mut out = String::from("{\"scrapePools\":");
    out.push_str(&super::json::string_list(names));
    out.push('}');
    ok_json(out)
}
