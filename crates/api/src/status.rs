//! `/api/v1/status/*`: build information (a Prometheus-compatible `version`, so that clients
//! like Grafana enable the features they gate on it), the loaded configuration with secrets
//! masked, command-line flags, runtime information, head cardinality statistics, block
//! metadata and WAL replay progress.

use std::time::SystemTime;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use serde_json::json;

use bongsu_telemetry::BuildInfo;

use super::{blocking, ok_json, params, ApiError, ApiState};

/// The Prometheus version whose HTTP API bongsu implements, reported as `version`.
pub const PROMETHEUS_COMPATIBLE_VERSION: &str = "3.0.0";

/// What `status/buildinfo` and `prometheus_build_info` report: the compatible version, with
/// bongsu's own in `revision` and `goversion`.
pub(super) const BUILD: BuildInfo = BuildInfo {
    version: PROMETHEUS_COMPATIBLE_VERSION,
    revision: concat!("bongsu-", env!("CARGO_PKG_VERSION")),
    branch: "bongsu",
    goversion: concat!("none (bongsu ", env!("CARGO_PKG_VERSION"), ", Rust)"),
};

/// Most entries `status/tsdb`'s `limit` may ask for, as upstream.
const MAX_TSDB_LIMIT: usize = 10_000;

/// What `status/config` and `status/runtimeinfo` report about the configuration.
pub(super) struct ConfigStatus {
    pub yaml: String,
    pub reload_success: bool,
    pub last_config_time: SystemTime,
}

/// Go's RFC 3339 with nanoseconds and trailing zeros trimmed, as Prometheus' JSON times.
fn rfc3339(t: SystemTime) -> String {
    let s = humantime::format_rfc3339_nanos(t).to_string();
    let Some((secs, frac)) = s.trim_end_matches('Z').split_once('.') else {
        return s;
    };
    let frac = frac.trim_end_matches('0');
    if frac.is_empty() {
        format!("{secs}Z")
    } else {
        format!("{secs}.{frac}Z")
    }
}

pub(super) async fn buildinfo() -> Response {
    ok_json(
        json!({
            "version": BUILD.version,
            "revision": BUILD.revision,
            "branch": BUILD.branch,
            "buildUser": "",
            "buildDate": "",
            "goVersion": BUILD.goversion,
        })
        .to_string(),
    )
}

pub(super) async fn config(State(s): State<ApiState>) -> Response {
    let yaml = s.0.config.lock().yaml.clone();
    ok_json(json!({ "yaml": yaml }).to_string())
}

pub(super) async fn flags(State(s): State<ApiState>) -> Response {
    let map: serde_json::Map<String, serde_json::Value> =
        s.0.flags
            .iter()
            .map(|(k, v)| (k.clone(), json!(v)))
            .collect();
    ok_json(serde_json::Value::Object(map).to_string())
}

pub(super) async fn runtimeinfo(State(s): State<ApiState>) -> Response {
    let (reload_success, last_config) = {
        let c = s.0.config.lock();
        (c.reload_success, c.last_config_time)
    };
    let hostname = std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_string())
        .unwrap_or_default();
    let cwd = std::env::current_dir()
        .map(|d| d.display().to_string())
        .unwrap_or_default();
    let threads = std::thread::available_parallelism().map_or(1, |n| n.get());
    ok_json(
        json!({
            "startTime": rfc3339(s.0.start_time),
            "CWD": cwd,
            "hostname": hostname,
            "serverTime": rfc3339(SystemTime::now()),
            "reloadConfigSuccess": reload_success,
            "lastConfigTime": rfc3339(last_config),
            "corruptionCount": 0,
            "goroutineCount": 0,
            "GOMAXPROCS": threads,
            "GOMEMLIMIT": 0,
            "GOGC": "",
            "GODEBUG": "",
            "storageRetention": s.0.storage_retention,
        })
        .to_string(),
    )
}

/// `status/tsdb`: the head's series, label pairs, chunks and time range, and the `limit`
/// (default 10) largest entries of each cardinality list, as Prometheus' head statistics.
pub(super) async fn tsdb(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
) -> Result<Response, ApiError> {
    let p = params(q, &Bytes::new())?;
    let limit = match p.get("limit").filter(|l| !l.is_empty()) {
        None => 10,
        Some(l) => match l.parse::<i64>() {
            Ok(n) if n >= 1 => {
                let n = usize::try_from(n).unwrap_or(usize::MAX);
                if n > MAX_TSDB_LIMIT {
                    return Err(ApiError::BadData(format!(
                        "limit must not exceed {MAX_TSDB_LIMIT}"
                    )));
                }
                n
            }
            _ => return Err(ApiError::BadData("limit must be a positive number".into())),
        },
    };
    let db = s.db()?;
    let body = blocking(move || {
        let c = db.head_cardinality(limit);
        let list = |v: Vec<(String, u64)>| {
            v.into_iter()
                .map(|(name, value)| json!({"name": name, "value": value}))
                .collect::<Vec<_>>()
        };
        Ok(json!({
            "headStats": {
                "numSeries": c.num_series,
                "numLabelPairs": c.num_label_pairs,
                "chunkCount": c.chunk_count,
                "minTime": c.min_time,
                "maxTime": c.max_time,
            },
            "seriesCountByMetricName": list(c.series_count_by_metric_name),
            "labelValueCountByLabelName": list(c.label_value_count_by_label_name),
            "memoryInBytesByLabelName": list(c.memory_in_bytes_by_label_name),
            "seriesCountByLabelValuePair": list(c.series_count_by_label_value_pair),
        })
        .to_string())
    })
    .await?;
    Ok(ok_json(body))
}

/// `status/tsdb/blocks`: the `meta.json` of every block, oldest first.
pub(super) async fn tsdb_blocks(State(s): State<ApiState>) -> Result<Response, ApiError> {
    let db = s.db()?;
    let metas = db.block_metas();
    let body = serde_json::to_string(&json!({ "blocks": metas }))
        .map_err(|e| ApiError::Internal(format!("error getting block metadata: {e}")))?;
    Ok(ok_json(body))
}

/// `status/walreplay`: replay is finished once the database is open, so `current` is the
/// last segment.
pub(super) async fn walreplay(State(s): State<ApiState>) -> Result<Response, ApiError> {
    let db = s.db()?;
    let segments: Vec<u64> = std::fs::read_dir(db.dir().join("wal"))
        .map(|entries| {
            entries
                .filter_map(|e| e.ok()?.file_name().to_str()?.parse::<u64>().ok())
                .collect()
        })
        .unwrap_or_default();
    let min = segments.iter().copied().min().unwrap_or(0);
    let max = segments.iter().copied().max().unwrap_or(0);
    Ok(ok_json(
        json!({"min": min, "max": max, "current": max}).to_string(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_style_times() {
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_millis(1_500);
        assert_eq!(rfc3339(t), "1970-01-01T00:00:01.5Z");
        let t = SystemTime::UNIX_EPOCH + std::time::Duration::from_secs(2);
        assert_eq!(rfc3339(t), "1970-01-01T00:00:02Z");
    }
}
