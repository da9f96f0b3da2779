//! Target discovery: `static_configs` and `file_sd_configs`, producing target groups, and the
//! turning of a group's targets into scrape targets through `relabel_configs`.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use super::target::Target;
use crate::config::StaticConfig;
use crate::model::{Label, Labels, LabelsBuilder};
use crate::relabel::{relabel, RelabelConfig};

/// Targets sharing labels, from one source.
#[derive(Debug, Clone, PartialEq)]
pub struct TargetGroup {
    /// `__address__` of each target.
    pub targets: Vec<String>,
    pub labels: Vec<(String, String)>,
    /// Where the group came from (for logs): `static/0`, a file path…
    pub source: String,
}

/// One group per entry of a `static_configs` list, named `static/<index>`.
pub fn static_groups(configs: &[StaticConfig]) -> Vec<TargetGroup> {
    configs
        .iter()
        .enumerate()
        .map(|(i, s)| TargetGroup {
            targets: s.targets.clone(),
            labels: s
                .labels
                .iter()
                .map(|(n, v)| (n.clone(), v.clone()))
                .collect(),
            source: format!("static/{i}"),
        })
        .collect()
}

/// A target group as written in a file_sd file (YAML or JSON).
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct FileGroup {
    #[serde(default)]
    targets: Vec<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
}

/// Most bytes of one file_sd file read; larger files are reported and skipped.
pub const MAX_SD_FILE_BYTES: u64 = 64 * 1024 * 1024;

/// Expands the patterns of a file_sd config: a `*` or `?` in the file name part matches
/// files of that directory, as Prometheus' filepath.Glob does for the last element.
pub fn expand_patterns(patterns: &[String]) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for p in patterns {
        let path = Path::new(p);
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default();
        if !name.contains(['*', '?']) {
            out.push(path.to_path_buf());
            continue;
        }
        let dir = path
            .parent()
            .filter(|d| !d.as_os_str().is_empty())
            .unwrap_or(Path::new("."));
        let Ok(entries) = std::fs::read_dir(dir) else {
            continue;
        };
        let mut found: Vec<PathBuf> = entries
            .filter_map(Result::ok)
            .filter(|e| e.file_name().to_str().is_some_and(|n| wildcard(name, n)))
            .map(|e| e.path())
            .collect();
        found.sort();
        out.extend(found);
    }
    out
}

/// `*` matches any run of characters, `?` one character.
fn wildcard(pattern: &str, name: &str) -> bool {
    let (p, n): (Vec<char>, Vec<char>) = (pattern.chars().collect(), name.chars().collect());
    let (mut pi, mut ni, mut star, mut mark) = (0, 0, None, 0);
    while ni < n.len() {
        if pi < p.len() && (p[pi] == '?' || p[pi] == n[ni]) {
            pi += 1;
            ni += 1;
        } else if pi < p.len() && p[pi] == '*' {
            star = Some(pi);
            mark = ni;
            pi += 1;
        } else if let Some(s) = star {
            pi = s + 1;
            mark += 1;
            ni = mark;
        } else {
            return false;
        }
    }
    p[pi..].iter().all(|c| *c == '*')
}

/// Reads one file_sd file. Groups get `__meta_filepath`.
pub fn read_file_groups(path: &Path) -> Result<Vec<TargetGroup>, String> {
    let meta = std::fs::metadata(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if meta.len() > MAX_SD_FILE_BYTES {
        return Err(format!(
            "{}: larger than {MAX_SD_FILE_BYTES} bytes",
            path.display()
        ));
    }
    let text = std::fs::read_to_string(path).map_err(|e| format!("{}: {e}", path.display()))?;
    let ext = path
        .extension()
        .and_then(|e| e.to_str())
        .unwrap_or_default();
    let groups: Vec<FileGroup> = match ext {
        "json" => serde_json::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?,
        "yml" | "yaml" => {
            serde_yaml_ng::from_str(&text).map_err(|e| format!("{}: {e}", path.display()))?
        }
        _ => {
            return Err(format!(
                "{}: file_sd files must end in .json, .yml or .yaml",
                path.display()
            ))
        }
    };
    let file = path.display().to_string();
    Ok(groups
        .into_iter()
        .enumerate()
        .map(|(i, g)| {
            let mut labels: Vec<(String, String)> = g.labels.into_iter().collect();
            labels.push(("__meta_filepath".into(), file.clone()));
            TargetGroup {
                targets: g.targets,
                labels,
                source: format!("{file}:{i}"),
            }
        })
        .collect())
}

/// What target label population needs from the scrape config.
pub struct PopulateSettings<'a> {
    pub job: &'a str,
    pub scheme: &'a str,
    pub metrics_path: &'a str,
    pub params: &'a [(String, Vec<String>)],
    pub interval: &'a str,
    pub timeout: &'a str,
    pub relabel_configs: &'a [RelabelConfig],
}

/// Outcome for one discovered target.
pub enum Populated {
    Active(Target),
    /// Dropped by relabeling (or left without an address); kept for `/api/v1/targets`.
    Dropped(Labels),
}

/// Builds a target from a discovered address and its group's labels, as Prometheus'
/// `PopulateLabels` does: job-level defaults, then relabeling, then `instance` and the URL.
pub fn populate(address: &str, group: &TargetGroup, s: &PopulateSettings<'_>) -> Populated {
    let mut b = LabelsBuilder::new();
    for (n, v) in &group.labels {
        b.set(n.as_str(), v.as_str());
    }
    b.set("__address__", address);
    let mut discovered = match b.build() {
        Ok(l) => l,
        Err(_) => return Populated::Dropped(Labels::empty()),
    };
    let mut defaults: Vec<(String, String)> = vec![
        ("job".into(), s.job.to_string()),
        ("__scheme__".into(), s.scheme.to_string()),
        ("__metrics_path__".into(), s.metrics_path.to_string()),
        ("__scrape_interval__".into(), s.interval.to_string()),
        ("__scrape_timeout__".into(), s.timeout.to_string()),
    ];
    for (name, values) in s.params {
        if let Some(first) = values.first() {
            defaults.push((format!("__param_{name}"), first.clone()));
        }
    }
    let mut b = discovered.builder();
    for (n, v) in defaults {
        if discovered.get(&n).is_none() {
            b.set(n, v);
        }
    }
    discovered = b.build().unwrap_or(discovered);
    let Some(relabeled) = relabel(&discovered, s.relabel_configs) else {
        return Populated::Dropped(discovered);
    };
    let Some(addr) = relabeled
        .get("__address__")
        .filter(|a| !a.is_empty())
        .map(str::to_string)
    else {
        return Populated::Dropped(discovered);
    };
    let scheme = relabeled.get("__scheme__").unwrap_or("http").to_string();
    let path = relabeled
        .get("__metrics_path__")
        .unwrap_or("/metrics")
        .to_string();
    // Query parameters: the config's, with `__param_*` labels overriding the first value.
    let mut query: Vec<(String, String)> = Vec::new();
    for (name, values) in s.params {
        match relabeled.get(&format!("__param_{name}")) {
            Some(v) => query.push((name.clone(), v.to_string())),
            None => query.extend(values.iter().map(|v| (name.clone(), v.clone()))),
        }
    }
    for l in relabeled.iter() {
        if let Some(name) = l.name.strip_prefix("__param_") {
            if !s.params.iter().any(|(n, _)| n == name) {
                query.push((name.to_string(), l.value.to_string()));
            }
        }
    }
    let mut url = format!("{scheme}://{addr}{path}");
    if !query.is_empty() {
        let encoded = serde_urlencoded::to_string(&query).unwrap_or_default();
        url.push(if path.contains('?') { '&' } else { '?' });
        url.push_str(&encoded);
    }
    let mut kept: Vec<Label> = relabeled
        .iter()
        .filter(|l| !l.name.starts_with("__"))
        .cloned()
        .collect();
    if !kept.iter().any(|l| &*l.name == "instance") {
        kept.push(Label::new("instance", addr.as_str()));
    }
    match Labels::new(kept) {
        Ok(labels) => Populated::Active(Target::new(s.job.to_string(), discovered, labels, url)),
        Err(_) => Populated::Dropped(discovered),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn settings(relabel: &[RelabelConfig]) -> PopulateSettings<'_> {
        PopulateSettings {
            job: "node",
            scheme: "http",
            metrics_path: "/metrics",
            params: &[],
            interval: "15s",
            timeout: "10s",
            relabel_configs: relabel,
        }
    }

    #[test]
    fn populate_defaults_and_url() {
        let g = TargetGroup {
            targets: vec![],
            labels: vec![("env".into(), "prod".into())],
            source: "static/0".into(),
        };
        let Populated::Active(t) = populate("h:9100", &g, &settings(&[])) else {
            panic!("dropped")
        };
        assert_eq!(t.url, "http://h:9100/metrics");
        assert_eq!(
            t.labels.to_string(),
            "{env=\"prod\", instance=\"h:9100\", job=\"node\"}"
        );
        assert_eq!(t.discovered.get("__scrape_interval__"), Some("15s"));
        let params = vec![("module".to_string(), vec!["http_2xx".to_string()])];
        let s = PopulateSettings {
            params: &params,
            ..settings(&[])
        };
        let Populated::Active(t) = populate("h:9115", &g, &s) else {
            panic!("dropped")
        };
        assert_eq!(t.url, "http://h:9115/metrics?module=http_2xx");
    }

    #[test]
    fn relabeling_can_drop_or_rewrite() {
        let g = TargetGroup {
            targets: vec![],
            labels: vec![],
            source: "s".into(),
        };
        let drop: RelabelConfig =
            serde_yaml_ng::from_str("{action: drop, source_labels: [__address__], regex: 'h:.*'}")
                .unwrap();
        assert!(matches!(
            populate("h:1", &g, &settings(&[drop])),
            Populated::Dropped(_)
        ));
        let rewrite: RelabelConfig = serde_yaml_ng::from_str(
            "{source_labels: [__address__], regex: '(.*):.*', target_label: instance}",
        )
        .unwrap();
        let Populated::Active(t) = populate("h:1", &g, &settings(&[rewrite])) else {
            panic!("dropped")
        };
        assert_eq!(t.labels.get("instance"), Some("h"));
        assert_eq!(t.url, "http://h:1/metrics");
    }

    #[test]
    fn wildcards_and_files() {
        assert!(
            wildcard("*.json", "a.json")
                && !wildcard("*.json", "a.yml")
                && wildcard("t?.y*", "t1.yaml")
        );
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("a.json"),
            r#"[{"targets":["x:1","y:2"],"labels":{"team":"a"}}]"#,
        )
        .unwrap();
        std::fs::write(dir.path().join("b.yml"), "- targets: ['z:3']\n").unwrap();
        let pattern = format!("{}/*.json", dir.path().display());
        let files = expand_patterns(&[pattern]);
        assert_eq!(files.len(), 1);
        let groups = read_file_groups(&files[0]).unwrap();
        assert_eq!(groups[0].targets, vec!["x:1", "y:2"]);
        assert!(groups[0].labels.contains(&("team".into(), "a".into())));
        assert_eq!(
            read_file_groups(&dir.path().join("b.yml")).unwrap()[0].targets,
            vec!["z:3"]
        );
        std::fs::write(dir.path().join("bad.json"), "{").unwrap();
        assert!(read_file_groups(&dir.path().join("bad.json")).is_err());
    }
}
