//! Which files a scrape config tails, as Promtail's file target manager decides: each
//! discovered target (`static_configs`, `file_sd_configs` files re-read at every sync) is
//! relabeled; one without `__path__` is dropped; `__path__` is a glob (with `**`) and
//! `__path_exclude__` one whose matches are left out; labels starting with `__` are removed and
//! `filename` is set to each matched file.
//!
//! Not here: reading the files, or re-running this (the tailer does every
//! `target_config.sync_period`).

use std::collections::HashSet;
use std::path::PathBuf;
use std::time::Duration;

use bongsu_discovery::{expand_patterns, read_file_groups, static_groups};
use bongsu_model::{Label, Labels};

use crate::config::ScrapeConfig;

/// Most files matched by all globs together; more are left out with a warning, so one `/**`
/// cannot open every file of the machine.
pub const MAX_FILES: usize = 10_000;

/// One file to tail.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FileTarget {
    pub path: PathBuf,
    /// The target's labels with `filename`.
    pub labels: Labels,
    /// Index of the scrape config in the file.
    pub job: usize,
    /// `decompression`'s initial delay: the file is compressed and read once.
    pub gz_delay: Option<Duration>,
}

/// Every file the scrape configs name now, each once (the first config naming a file wins).
pub fn discover(configs: &[ScrapeConfig]) -> Vec<FileTarget> {
    let mut out = Vec::new();
    let mut seen = HashSet::new();
    for (job, sc) in configs.iter().enumerate() {
        let mut groups = static_groups(&sc.static_configs);
        for f in &sc.file_sd_configs {
            let patterns: Vec<String> = f
                .files
                .iter()
                .map(|p| p.to_string_lossy().into_owned())
                .collect();
            for file in expand_patterns(&patterns) {
                match read_file_groups(&file) {
                    Ok(g) => groups.extend(g),
                    Err(e) => {
                        tracing::error!(job = %sc.job_name, error = %e, "reading a file_sd file")
                    }
                }
            }
        }
        for g in &groups {
            for t in &g.targets {
                let mut pairs: Vec<(&str, &str)> = g
                    .labels
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                pairs.retain(|(n, _)| *n != "__address__");
                pairs.push(("__address__", t));
                let Ok(labels) = Labels::from_pairs(&pairs) else {
                    tracing::warn!(job = %sc.job_name, source = %g.source, "invalid target labels");
                    continue;
                };
                let Some(labels) = bongsu_relabel::relabel(&labels, &sc.relabel_configs) else {
                    continue;
                };
                let Some(pattern) = labels.get("__path__").filter(|p| !p.is_empty()) else {
                    continue;
                };
                let exclude = labels
                    .get("__path_exclude__")
                    .and_then(|e| glob::Pattern::new(e).ok());
                let kept: Vec<Label> = labels
                    .iter()
                    .filter(|l| !l.name.starts_with("__"))
                    .cloned()
                    .collect();
                let paths = match glob::glob(pattern) {
                    Ok(p) => p,
                    Err(e) => {
                        tracing::warn!(job = %sc.job_name, pattern, error = %e, "invalid __path__ glob");
                        continue;
                    }
                };
                for path in paths.flatten() {
                    if !path.is_file() || exclude.as_ref().is_some_and(|x| x.matches_path(&path)) {
                        continue;
                    }
                    if !seen.insert(path.clone()) {
                        continue;
                    }
                    if out.len() >= MAX_FILES {
                        tracing::warn!(
                            limit = MAX_FILES,
                            "more files match than bongsu tails; the rest are left out"
                        );
                        return out;
                    }
                    let mut ls = kept.clone();
                    ls.retain(|l| &*l.name != "filename");
                    ls.push(Label::new("filename", path.to_string_lossy().as_ref()));
                    let Ok(labels) = Labels::new(ls) else {
                        continue;
                    };
                    out.push(FileTarget {
                        path,
                        labels,
                        job,
                        gz_delay: sc.decompression.as_ref().map(|d| d.initial_delay),
                    });
                }
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::LogConfig;

    #[test]
    fn globs_excludes_relabeling_and_labels() {
        let d = tempfile::tempdir().unwrap();
        let root = d.path().display();
        for f in [
            "a.log",
            "sub/b.log",
            "sub/deep/c.log",
            "sub/secret.log",
            "x.txt",
        ] {
            let p = d.path().join(f);
            std::fs::create_dir_all(p.parent().unwrap()).unwrap();
            std::fs::write(p, "x\n").unwrap();
        }
        let yml = format!(
            r#"
scrape_configs:
  - job_name: files
    static_configs:
      - targets: [localhost]
        labels:
          job: app
          __path__: {root}/**/*.log
          __path_exclude__: {root}/sub/secret.log
    relabel_configs:
      - target_label: env
        replacement: prod
  - job_name: none
    static_configs:
      - labels: {{__path__: {root}/x.txt}}
"#
        );
        let cfg = LogConfig::parse(&yml, "t.yml", false).unwrap();
        let mut got = discover(&cfg.scrape_configs);
        got.sort_by(|a, b| a.path.cmp(&b.path));
        let names: Vec<String> = got
            .iter()
            .map(|t| t.path.strip_prefix(d.path()).unwrap().display().to_string())
            .collect();
        assert_eq!(names, ["a.log", "sub/b.log", "sub/deep/c.log"]);
        let l = &got[0].labels;
        assert_eq!(l.get("job"), Some("app"));
        assert_eq!(l.get("env"), Some("prod"));
        assert_eq!(l.get("filename"), Some(got[0].path.to_str().unwrap()));
        assert_eq!(l.len(), 3, "{l}");
    }
}
