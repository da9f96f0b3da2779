//! Grafana dashboard JSON files for the UI's `/dashboards` and `/d/<uid>` pages:
//! `GET /api/v1/dashboards` (uid, title, tags, source and any error of each) and
//! `GET /api/v1/dashboards/<uid>` (one dashboard's JSON). Two places hold them: the ones
//! shipped in `web/dashboards/` (embedded at compile time) and the `*.json` files directly in
//! `--web.dashboards-dir`, read at each request so that an edited file shows on reload.
//!
//! A file that does not read or parse, or whose uid another file has too, is listed with its
//! error and answers that error when asked for; the others list as usual.
//!
//! Not here: rendering and variables (the browser's, `web/src/dashboards/`); writing
//! dashboards (files are edited on disk, as Grafana's file provisioning).

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use axum::extract::{Path as UrlPath, State};
use axum::response::{IntoResponse, Response};
use serde_json::{json, Value};

use crate::{ok_json, ok_json_warn, ApiError, ApiState};

/// Largest dashboard file read (Grafana's own dashboards are far below).
pub const MAX_DASHBOARD_BYTES: u64 = 8 << 20;

/// Most files read from `--web.dashboards-dir`; the rest are named in a warning.
pub const MAX_DASHBOARD_FILES: usize = 1_000;

#[derive(rust_embed::Embed)]
// Relative to this crate's Cargo.toml.
#[folder = "../../web/dashboards"]
struct Shipped;

/// One dashboard file, read.
struct Entry {
    uid: String,
    /// The dashboard's `title` (else its uid) and `tags`, kept when it is marked as an error.
    title: String,
    tags: Vec<String>,
    /// Where it came from: `shipped:<name>` or the file's path.
    source: String,
    dashboard: Result<Value, String>,
}

impl Entry {
    /// The entry of `bytes` from `source`, its uid from the JSON (`uid`) or else the file's
    /// name without `.json`, as Grafana's provisioning keeps a generated one.
    fn parse(source: String, stem: &str, bytes: Result<Vec<u8>, String>) -> Entry {
        let dashboard = bytes.and_then(|b| {
            let v: Value = serde_json::from_slice(&b)
                .map_err(|e| format!("{source} is not valid JSON: {e}"))?;
            match v {
                Value::Object(_) => Ok(v),
                _ => Err(format!(
                    "{source} holds no dashboard: a JSON object is expected"
                )),
            }
        });
        let uid = dashboard
            .as_ref()
            .ok()
            .and_then(|d| d.get("uid"))
            .and_then(Value::as_str)
            .filter(|u| !u.is_empty())
            .unwrap_or(stem)
            .to_string();
        let d = dashboard.as_ref().ok();
        let title = d
            .and_then(|d| d.get("title"))
            .and_then(Value::as_str)
            .unwrap_or(&uid)
            .to_string();
        let tags = d
            .and_then(|d| d.get("tags"))
            .and_then(Value::as_array)
            .map(|t| {
                t.iter()
                    .filter_map(Value::as_str)
                    .map(String::from)
                    .collect()
            })
            .unwrap_or_default();
        Entry {
            uid,
            title,
            tags,
            source,
            dashboard,
        }
    }

    fn summary(&self) -> Value {
        let mut v = json!({ "uid": self.uid, "title": self.title, "tags": self.tags, "source": self.source });
        if let Err(e) = &self.dashboard {
            v["error"] = Value::String(e.clone());
        }
        v
    }
}

/// Every dashboard, shipped ones first, then the folder's by file name; duplicate uids marked
/// as errors naming each file. Returns the warnings (the folder unreadable, too many files).
fn load(dir: Option<&Path>) -> (Vec<Entry>, Vec<String>) {
    let mut entries = Vec::new();
    let mut warnings = Vec::new();
    let mut shipped: Vec<_> = Shipped::iter().filter(|n| n.ends_with(".json")).collect();
    shipped.sort();
    for name in shipped {
        let bytes = Shipped::get(&name)
            .map(|f| f.data.into_owned())
            .ok_or_else(|| format!("shipped dashboard {name} is missing"));
        let stem = name.trim_end_matches(".json");
        entries.push(Entry::parse(format!("shipped:{name}"), stem, bytes));
    }
    if let Some(dir) = dir {
        match json_files(dir) {
            Ok(mut files) => {
                if files.len() > MAX_DASHBOARD_FILES {
                    warnings.push(format!(
                        "{} holds {} dashboard files; only the first {MAX_DASHBOARD_FILES} are read",
                        dir.display(),
                        files.len()
                    ));
                    files.truncate(MAX_DASHBOARD_FILES);
                }
                for path in files {
                    let stem = path
                        .file_stem()
                        .map(|s| s.to_string_lossy().into_owned())
                        .unwrap_or_default();
                    let source = path.display().to_string();
                    let bytes = read_limited(&path);
                    entries.push(Entry::parse(source, &stem, bytes));
                }
            }
            Err(e) => warnings.push(format!(
                "cannot read the dashboards directory {}: {e}",
                dir.display()
            )),
        }
    }
    mark_duplicates(&mut entries);
    (entries, warnings)
}

/// The `*.json` files directly in `dir`, sorted by name.
fn json_files(dir: &Path) -> std::io::Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for e in std::fs::read_dir(dir)? {
        let path = e?.path();
        if path.extension().is_some_and(|x| x == "json") && path.is_file() {
            files.push(path);
        }
    }
    files.sort();
    Ok(files)
}

fn read_limited(path: &Path) -> Result<Vec<u8>, String> {
    let len = std::fs::metadata(path)
        .map_err(|e| format!("cannot read {}: {e}", path.display()))?
        .len();
    if len > MAX_DASHBOARD_BYTES {
        return Err(format!(
            "{} is {len} bytes, more than the {MAX_DASHBOARD_BYTES} a dashboard may be",
            path.display()
        ));
    }
    std::fs::read(path).map_err(|e| format!("cannot read {}: {e}", path.display()))
}

/// Entries sharing a uid all become errors naming every file that has it.
fn mark_duplicates(entries: &mut [Entry]) {
    let mut by_uid: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, e) in entries.iter().enumerate() {
        by_uid.entry(e.uid.clone()).or_default().push(i);
    }
    for (uid, idx) in by_uid {
        if idx.len() < 2 {
            continue;
        }
        let files: Vec<&str> = idx.iter().map(|&i| entries[i].source.as_str()).collect();
        let msg = format!(
            "dashboard uid {uid:?} is used by more than one file: {}",
            files.join(" and ")
        );
        for i in idx {
            entries[i].dashboard = Err(msg.clone());
        }
    }
}

async fn loaded(s: &ApiState) -> Result<(Vec<Entry>, Vec<String>), ApiError> {
    let dir = s.0.dashboards_dir.clone();
    tokio::task::spawn_blocking(move || load(dir.as_deref()))
        .await
        .map_err(|e| ApiError::Internal(format!("reading dashboards: {e}")))
}

/// `GET /api/v1/dashboards`.
pub(crate) async fn list(State(s): State<ApiState>) -> Response {
    match loaded(&s).await {
        Ok((entries, warnings)) => {
            let list: Vec<Value> = entries.iter().map(Entry::summary).collect();
            ok_json_warn(Value::Array(list).to_string(), &warnings)
        }
        Err(e) => e.into_response(),
    }
}

/// `GET /api/v1/dashboards/<uid>`: `{uid, source, dashboard}`.
pub(crate) async fn get(State(s): State<ApiState>, UrlPath(uid): UrlPath<String>) -> Response {
    let (entries, _) = match loaded(&s).await {
        Ok(l) => l,
        Err(e) => return e.into_response(),
    };
    let Some(entry) = entries.into_iter().find(|e| e.uid == uid) else {
        return ApiError::NotFound(format!("no dashboard has the uid {uid:?}")).into_response();
    };
    match entry.dashboard {
        Ok(d) => {
            ok_json(json!({ "uid": entry.uid, "source": entry.source, "dashboard": d }).to_string())
        }
        Err(e) => ApiError::Execution(e).into_response(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn shipped_dashboards_parse_with_distinct_uids() {
        let (entries, warnings) = load(None);
        assert!(warnings.is_empty());
        assert!(entries.len() >= 3, "three dashboards are shipped");
        for e in &entries {
            assert!(e.dashboard.is_ok(), "{}: {:?}", e.source, e.dashboard);
        }
    }

    #[test]
    fn bad_files_and_duplicate_uids_are_errors_of_their_own() {
        let dir = std::env::temp_dir().join(format!("bongsu-dash-{}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        std::fs::write(dir.join("a.json"), r#"{"uid":"same","title":"A"}"#).unwrap();
        std::fs::write(dir.join("b.json"), r#"{"uid":"same","title":"B"}"#).unwrap();
        std::fs::write(dir.join("broken.json"), "{").unwrap();
        std::fs::write(dir.join("fine.json"), r#"{"title":"Fine","tags":["x"]}"#).unwrap();
        std::fs::write(dir.join("notes.txt"), "not a dashboard").unwrap();
        let (entries, _) = load(Some(&dir));
        std::fs::remove_dir_all(&dir).unwrap();
        let by = |uid: &str| entries.iter().filter(|e| e.uid == uid).collect::<Vec<_>>();
        let same = by("same");
        assert_eq!(same.len(), 2);
        for e in same {
            let err = e.dashboard.as_ref().unwrap_err();
            assert!(err.contains("a.json") && err.contains("b.json"), "{err}");
        }
        assert!(by("broken")[0]
            .dashboard
            .as_ref()
            .unwrap_err()
            .contains("not valid JSON"));
        let fine = by("fine")[0].summary();
        assert_eq!(fine["title"], "Fine");
        assert_eq!(fine["tags"], json!(["x"]));
        assert!(entries.iter().all(|e| !e.source.ends_with("notes.txt")));
    }
}
