//! Target groups: what `static_configs` say and what `file_sd_configs` files hold.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::Deserialize;

use crate::StaticConfig;

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

#[cfg(test)]
mod tests {
    use super::*;

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
