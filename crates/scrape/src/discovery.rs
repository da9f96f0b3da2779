//! Turning a discovered group's targets into scrape targets through `relabel_configs`
//! (Prometheus' `PopulateLabels`).

use bongsu_discovery::TargetGroup;
use bongsu_model::{Label, Labels, LabelsBuilder};
use bongsu_relabel::{relabel, RelabelConfig};

use super::histograms::HistogramRules;
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
    /// The job's histogram settings, which a target may override by label.
    pub histograms: HistogramRules,
}

/// The labels by which relabeling may change a target's histogram settings (Prometheus'
/// `__scrape_native_histograms__` and friends), with the words of its errors.
const HISTOGRAM_LABELS: [(&str, &str); 3] = [
    (
        "__convert_classic_histograms_to_nhcb__",
        "convert classic histograms to nhcb",
    ),
    (
        "__always_scrape_classic_histograms__",
        "always scrape classic histograms",
    ),
    ("__scrape_native_histograms__", "scrape native histograms"),
];

/// Go's `strconv.ParseBool`.
fn parse_go_bool(s: &str) -> Option<bool> {
    match s {
        "1" | "t" | "T" | "TRUE" | "true" | "True" => Some(true),
        "0" | "f" | "F" | "FALSE" | "false" | "False" => Some(false),
        _ => None,
    }
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
    let h = &s.histograms;
    for ((name, _), on) in HISTOGRAM_LABELS
        .iter()
        .zip([h.convert_nhcb, h.keep_classic, h.native])
    {
        defaults.push(((*name).into(), on.to_string()));
    }
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
    let mut overrides = [None; 3];
    for ((name, desc), slot) in HISTOGRAM_LABELS.iter().zip(overrides.iter_mut()) {
        if let Some(v) = relabeled.get(name).filter(|v| !v.is_empty()) {
            match parse_go_bool(v) {
                Some(b) => *slot = Some(b),
                None => {
                    return Populated::Failed(format!(
                        "error parsing {desc}: strconv.ParseBool: parsing {v:?}: invalid syntax"
                    ))
                }
            }
        }
    }
    let histograms = HistogramRules {
        convert_nhcb: overrides[0].unwrap_or(h.convert_nhcb),
        keep_classic: overrides[1].unwrap_or(h.keep_classic),
        native: overrides[2].unwrap_or(h.native),
        ..*h
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
        Ok(labels) => Populated::Active(
            Target::new(s.job.to_string(), discovered, labels, url).with_histograms(histograms),
        ),
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
            histograms: HistogramRules::default(),
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
    fn histogram_settings_by_target_label() {
        let g = TargetGroup {
            targets: vec![],
            labels: vec![],
            source: "s".into(),
        };
        let Populated::Active(t) = populate("h:1", &g, &settings(&[])) else {
            panic!("dropped")
        };
        assert_eq!(
            t.discovered.get("__scrape_native_histograms__"),
            Some("false")
        );
        assert!(!t.histograms.unwrap().native);
        let on: RelabelConfig = serde_yaml_ng::from_str(
            "{target_label: __scrape_native_histograms__, replacement: 'true'}",
        )
        .unwrap();
        let Populated::Active(t) = populate("h:1", &g, &settings(&[on])) else {
            panic!("dropped")
        };
        assert!(t.histograms.unwrap().native);
        let bad: RelabelConfig = serde_yaml_ng::from_str(
            "{target_label: __always_scrape_classic_histograms__, replacement: 'yes'}",
        )
        .unwrap();
        let Populated::Failed(e) = populate("h:1", &g, &settings(&[bad])) else {
            panic!("an invalid boolean fails the target")
        };
        assert_eq!(
            e,
            "error parsing always scrape classic histograms: strconv.ParseBool: parsing \"yes\": invalid syntax"
        );
    }
}
