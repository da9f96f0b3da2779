//! Turning a discovered group's targets into scrape targets through `relabel_configs`
//! (Prometheus' `PopulateLabels`).

use bongsu_discovery::TargetGroup;
use bongsu_model::{Label, Labels, LabelsBuilder};
use bongsu_relabel::{relabel, RelabelConfig};

use super::target::Target;

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
    /// Its labels are not a valid label set (Prometheus' failed target creation, counted in
    /// `prometheus_target_sync_failed_total`); says why.
    Failed(String),
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
        Err(e) => return Populated::Failed(format!("discovered labels of {address}: {e}")),
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
        Err(e) => Populated::Failed(format!("target labels of {addr}: {e}")),
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
}
