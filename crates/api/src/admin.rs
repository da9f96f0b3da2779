//! Prometheus' TSDB admin API: `snapshot`, `delete_series` and `clean_tombstones` under
//! `/api/v1/admin/tsdb/`, served only with `--web.enable-admin-api` (off by default, as in
//! Prometheus; without it each answers Prometheus' 500 `unavailable` "admin APIs disabled").
//! They change or copy stored data, so, like `/-/reload`, they refuse a request another web
//! site made a browser send (`origin`).
//!
//! Parameters, answers and errors are Prometheus': a snapshot is named
//! `<YYYYMMDDTHHMMSSZ>-<16 hex digits>` under `<data dir>/snapshots`; deletions and cleaning
//! answer 204. Not here: the operations themselves (`tsdb::Db::snapshot`, `delete`,
//! `clean_tombstones`).

use std::path::PathBuf;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::{HeaderMap, StatusCode};
use axum::response::{IntoResponse, Response};

use bongsu_model::Matcher;
use bongsu_tsdb::TsdbError;

use super::params::parse_matchers;
use super::{
    blocking, invalid_param, json, ok_json, origin, param_time, params, ApiError, ApiState,
};

/// Prometheus' error text while the admin API is off.
const ADMIN_DISABLED: &str = "admin APIs disabled";

/// Where snapshots go, inside the data directory.
const SNAPSHOTS_DIR: &str = "snapshots";

/// Why an admin request is not carried out, if it is not: it came from another site, or the
/// admin API is off.
fn refusal(s: &ApiState, headers: &HeaderMap) -> Option<Response> {
    if let Some(refused) = origin::cross_site_refusal(headers) {
        return Some(refused);
    }
    (!s.0.admin).then(|| ApiError::Disabled(ADMIN_DISABLED).into_response())
}

/// `POST|PUT /api/v1/admin/tsdb/snapshot?skip_head=<bool>`: links every block into a new
/// directory under `<data dir>/snapshots` and, unless `skip_head`, writes the head there as a
/// block; answers its name.
pub(super) async fn snapshot(
    State(s): State<ApiState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    if let Some(refused) = refusal(&s, &headers) {
        return refused;
    }
    let run = async {
        let p = params(q, &body)?;
        let skip_head = match p.get("skip_head") {
            None | Some("") => false,
            Some(v) => parse_go_bool(v).ok_or_else(|| {
                invalid_param(
                    "skip_head",
                    format_args!(
                        "unable to parse boolean: strconv.ParseBool: parsing {v:?}: invalid syntax"
                    ),
                )
            })?,
        };
        let db = s.db()?;
        let name = snapshot_name();
        let dir: PathBuf = db.dir().join(SNAPSHOTS_DIR).join(&name);
        blocking(move || {
            std::fs::create_dir_all(&dir)
                .map_err(|e| ApiError::Internal(format!("create snapshot directory: {e}")))?;
            db.snapshot(&dir, !skip_head).map_err(|e| {
                // A failed snapshot is of no use: leave no partial copy behind.
                let _ = std::fs::remove_dir_all(&dir);
                ApiError::Internal(format!("create snapshot: {e}"))
            })
        })
        .await?;
        let mut data = String::from("{\"name\":");
        json::write_str(&mut data, &name);
        data.push('}');
        Ok::<_, ApiError>(ok_json(data))
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// `POST|PUT /api/v1/admin/tsdb/delete_series?match[]=<selector>&start=<t>&end=<t>`: deletes
/// the samples of the selected series in the range (default: all time); 204.
pub(super) async fn delete_series(
    State(s): State<ApiState>,
    headers: HeaderMap,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Response {
    if let Some(refused) = refusal(&s, &headers) {
        return refused;
    }
    let run = async {
        let p = params(q, &body)?;
        let selectors = p.all("match[]");
        if selectors.is_empty() {
            return Err(ApiError::BadData("no match[] parameter provided".into()));
        }
        let start = param_time(&p, "start", i64::MIN)?;
        let end = param_time(&p, "end", i64::MAX)?;
        // All selectors are checked before anything is deleted (Prometheus deletes those
        // before a bad one). As in Prometheus, `{}` is accepted and selects nothing.
        let sets: Vec<Vec<Matcher>> = selectors
            .into_iter()
            .map(|m| parse_matchers(m).map_err(|e| invalid_param("match[]", e)))
            .collect::<Result<_, _>>()?;
        let db = s.db()?;
        blocking(move || {
            for set in &sets {
                db.delete(start, end, set).map_err(internal)?;
            }
            Ok(())
        })
        .await?;
        Ok(StatusCode::NO_CONTENT.into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

/// `POST|PUT /api/v1/admin/tsdb/clean_tombstones`: rewrites the blocks holding deleted samples
/// without them; 204.
pub(super) async fn clean_tombstones(State(s): State<ApiState>, headers: HeaderMap) -> Response {
    if let Some(refused) = refusal(&s, &headers) {
        return refused;
    }
    let run = async {
        let db = s.db()?;
        blocking(move || db.clean_tombstones().map_err(internal)).await?;
        Ok::<_, ApiError>(StatusCode::NO_CONTENT.into_response())
    };
    run.await.unwrap_or_else(IntoResponse::into_response)
}

fn internal(e: TsdbError) -> ApiError {
    ApiError::Internal(e.to_string())
}

/// Go's `strconv.ParseBool`, which Prometheus reads `skip_head` with.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "true" | "TRUE" | "True" => Some(true),
        "0" | "f" | "F" | "false" | "FALSE" | "False" => Some(false),
        _ => None,
    }
}

/// `<now as YYYYMMDDTHHMMSSZ, UTC>-<63 random bits in 16 hex digits>`, as Prometheus names
/// snapshots.
fn snapshot_name() -> String {
    let now = jiff::Timestamp::now().strftime("%Y%m%dT%H%M%SZ");
    format!("{now}-{:016x}", rand::random::<u64>() >> 1)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_names_and_booleans_as_prometheus() {
        let name = snapshot_name();
        let (time, hex) = name.split_once('-').unwrap();
        assert_eq!(time.len(), 16, "{name}");
        assert!(time.as_bytes()[8] == b'T' && time.ends_with('Z'), "{name}");
        assert!(
            hex.len() == 16 && hex.bytes().all(|b| b.is_ascii_hexdigit()),
            "{name}"
        );
        assert_ne!(snapshot_name(), name, "random parts differ");
        assert_eq!(parse_go_bool("T"), Some(true));
        assert_eq!(parse_go_bool("False"), Some(false));
        assert_eq!(parse_go_bool("yes"), None);
        assert_eq!(parse_go_bool("tRUE"), None);
    }
}
