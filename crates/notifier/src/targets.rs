//! The Alertmanagers of one `alertmanagers` entry: its static and file-discovered targets,
//! relabeled through `__address__`, `__scheme__` and `__alerts_path__` into the URLs alerts
//! are posted to, as Prometheus' `AlertmanagerFromGroup`.

use std::path::Path;

use bongsu_config::AlertmanagerConfig;
use bongsu_discovery::{expand_patterns, read_file_groups, static_groups, TargetGroup};
use bongsu_model::{Labels, LabelsBuilder};
use bongsu_relabel::relabel;

const ALERTS_PATH: &str = "__alerts_path__";

/// The Alertmanagers of one config after discovery and relabeling.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Discovered {
    /// URLs to post alerts to, without duplicates, in discovery order.
    pub active: Vec<String>,
    /// URLs of the targets relabeling dropped, for `/api/v1/alertmanagers`.
    pub dropped: Vec<String>,
}

/// `{path_prefix}/api/v2/alerts` with single slashes.
fn alerts_path(prefix: &str) -> String {
    let prefix = prefix.trim_matches('/');
    if prefix.is_empty() {
        "/api/v2/alerts".to_string()
    } else {
        format!("/{prefix}/api/v2/alerts")
    }
}

fn url_of(l: &Labels) -> String {
    format!(
        "{}://{}{}",
        l.get("__scheme__").unwrap_or("http"),
        l.get("__address__").unwrap_or(""),
        l.get(ALERTS_PATH).unwrap_or("")
    )
}

/// Every target group of `cfg`: static ones, then those in its file_sd files now.
fn groups(cfg: &AlertmanagerConfig) -> Vec<TargetGroup> {
    let mut out = static_groups(&cfg.static_configs);
    for f in &cfg.file_sd_configs {
        let patterns: Vec<String> = f.files.iter().map(|p| p.display().to_string()).collect();
        for path in expand_patterns(&patterns) {
            match read_file_groups(Path::new(&path)) {
                Ok(g) => out.extend(g),
                Err(e) => {
                    tracing::error!(file = %path.display(), error = %e, "reading Alertmanager file_sd file failed")
                }
            }
        }
    }
    out
}

/// Discovers and relabels the Alertmanagers of `cfg`.
pub fn discover(cfg: &AlertmanagerConfig) -> Discovered {
    let path = alerts_path(&cfg.path_prefix);
    let mut d = Discovered::default();
    for g in groups(cfg) {
        for addr in &g.targets {
            let mut b = LabelsBuilder::new();
            for (n, v) in &g.labels {
                b.set(n.as_str(), v.as_str());
            }
            b.set("__address__", addr.as_str());
            b.set("__scheme__", cfg.scheme.as_str());
            b.set(ALERTS_PATH, path.as_str());
            let Ok(labels) = b.build() else { continue };
            match relabel(&labels, &cfg.relabel_configs) {
                Some(l) if l.get("__address__").is_some_and(|a| !a.is_empty()) => {
                    let url = url_of(&l);
                    if !d.active.contains(&url) {
                        d.active.push(url);
                    }
                }
                _ => d.dropped.push(url_of(&labels)),
            }
        }
    }
    d
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_config::Config;

    fn first_am(yaml: &str) -> AlertmanagerConfig {
        Config::parse(yaml, "test.yml")
            .unwrap()
            .alerting
            .alertmanagers[0]
            .clone()
    }

    #[test]
    fn relabels_address_scheme_and_path() {
        let am = first_am(
            r#"
alerting:
  alertmanagers:
    - path_prefix: /am/
      static_configs: [{targets: ['a:9093', 'b:9093', 'a:9093'], labels: {env: prod}}]
      relabel_configs:
        - {source_labels: [__address__], regex: 'b:.*', action: drop}
        - {target_label: __scheme__, replacement: https}
"#,
        );
        assert_eq!(
            discover(&am),
            Discovered {
                active: vec!["https://a:9093/am/api/v2/alerts".into()],
                dropped: vec!["http://b:9093/am/api/v2/alerts".into()],
            }
        );
    }

    #[test]
    fn file_sd_targets_are_read() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(
            dir.path().join("am.yml"),
            "- targets: ['f:9093']\n  labels: {dc: x}\n",
        )
        .unwrap();
        let am = first_am(&format!(
            "alerting:\n  alertmanagers:\n    - file_sd_configs: [{{files: ['{}/*.yml']}}]\n      relabel_configs:\n        - {{source_labels: [dc], regex: y, action: keep}}\n",
            dir.path().display()
        ));
        assert_eq!(discover(&am).dropped, ["http://f:9093/api/v2/alerts"]);
    }

    #[test]
    fn alerts_path_can_be_relabeled() {
        let am = first_am(
            r#"
alerting:
  alertmanagers:
    - static_configs: [{targets: ['a:9093']}]
      relabel_configs:
        - {target_label: __alerts_path__, replacement: /x/api/v2/alerts}
"#,
        );
        assert_eq!(discover(&am).active, ["http://a:9093/x/api/v2/alerts"]);
    }
}
