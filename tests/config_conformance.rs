//! Prometheus' own configuration test files (`../shared/conformance/config/`, see its
//! SOURCE.txt): every `*.good.yml` must load and every `*.bad.yml` must fail, with Prometheus'
//! message where EXPECTED_ERRORS.yaml gives one. Files using a feature bongsu refuses as
//! unsupported are listed below and must fail with exactly that error.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use bongsu_config::{Config, ConfigError};

/// Good files that use a feature bongsu does not support yet; each must fail with
/// "… is not supported by bongsu yet".
///
/// | file | unsupported feature |
/// |---|---|
const UNSUPPORTED_GOOD: &[(&str, &str)] = &[
    (
        "conf.good.yml",
        "dns_sd_configs (and other discovery, oauth2, tracing)",
    ),
    (
        "kubernetes_empty_apiserver.good.yml",
        "kubernetes_sd_configs",
    ),
    (
        "kubernetes_kubeconfig_without_apiserver.good.yml",
        "kubernetes_sd_configs",
    ),
    (
        "kubernetes_selectors_endpoints.good.yml",
        "kubernetes_sd_configs",
    ),
    (
        "kubernetes_selectors_ingress.good.yml",
        "kubernetes_sd_configs",
    ),
    (
        "kubernetes_selectors_node.good.yml",
        "kubernetes_sd_configs",
    ),
    ("kubernetes_selectors_pod.good.yml", "kubernetes_sd_configs"),
    (
        "kubernetes_selectors_service.good.yml",
        "kubernetes_sd_configs",
    ),
    ("roundtrip.good.yml", "discovery mechanisms, oauth2"),
    (
        "scrape_config_files_glob.good.yml",
        "vultr_sd_configs, in scrape_configs/scrape_config_files2.good.yml",
    ),
    ("scrape_interval_larger.good.yml", "dns_sd_configs"),
];

/// Bad files in EXPECTED_ERRORS.yaml that fail as "not supported" before bongsu reaches
/// Prometheus' check: the check is inside a discovery mechanism bongsu does not parse. A
/// name prefix stands for every file of that mechanism.
const UNSUPPORTED_BAD_PREFIXES: &[&str] = &[
    "azure_",
    "ec2_",
    "eureka_",
    "hetzner_",
    "http_",
    "ionos_",
    "kubernetes_",
    "lightsail_",
    "marathon_",
    "oci_",
    "openstack_",
    "outscale_",
    "ovhcloud_",
    "puppetdb_",
    "scaleway_",
    "stackit_",
    "uyuni_",
];

fn data_dir() -> Option<PathBuf> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/conformance/config");
    dir.is_dir().then_some(dir)
}

/// EXPECTED_ERRORS.yaml: a list of {file, error_contains}.
fn expected_errors(dir: &Path) -> BTreeMap<String, String> {
    #[derive(serde::Deserialize)]
    struct Entry {
        file: String,
        error_contains: String,
    }
    let text = std::fs::read_to_string(dir.join("EXPECTED_ERRORS.yaml")).unwrap();
    let entries: Vec<Entry> = serde_yaml_ng::from_str(&text).unwrap();
    entries
        .into_iter()
        .map(|e| (e.file, e.error_contains))
        .collect()
}

#[test]
fn prometheus_config_test_files() {
    let Some(dir) = data_dir() else {
        println!("skipped: conformance data not found");
        return;
    };
    let expected = expected_errors(&dir);
    let mut names: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    let (mut good, mut good_total, mut bad, mut bad_total) = (0, 0, 0, 0);
    let (mut unsupported, mut skipped) = (Vec::new(), Vec::new());
    let mut failures = Vec::new();
    for name in &names {
        let path = dir.join(name);
        let is_good = name.ends_with(".good.yml");
        let is_bad = name.ends_with(".bad.yml");
        if !is_good && !is_bad {
            // Mode- or option-dependent files (agent mode, validation modes, …), rule files
            // and directories referenced by other files: see SOURCE.txt.
            skipped.push(name.clone());
            continue;
        }
        let result = Config::load(Some(&path));
        if is_good {
            good_total += 1;
            let listed = UNSUPPORTED_GOOD.iter().any(|(f, _)| f == name);
            match (&result, listed) {
                (Ok(_), false) => good += 1,
                (Err(e), true) if e.is_unsupported() => {
                    good += 1;
                    unsupported.push(format!("{name}: {e}"));
                }
                (Ok(_), true) => {
                    failures.push(format!("{name}: loads, remove it from UNSUPPORTED_GOOD"))
                }
                (Err(e), _) => failures.push(format!("{name}: {e}")),
            }
            continue;
        }
        bad_total += 1;
        let Err(e) = result else {
            failures.push(format!("{name}: loaded, but must fail"));
            continue;
        };
        let allowed_unsupported = UNSUPPORTED_BAD_PREFIXES.iter().any(|p| name.starts_with(p));
        match expected.get(name) {
            Some(_) if e.is_unsupported() && allowed_unsupported => {
                bad += 1;
                unsupported.push(format!("{name}: {e}"));
            }
            Some(want) => {
                // Prometheus' tests load files as `testdata/<name>`.
                let want = want.replace(&format!("testdata/{name}"), &path.display().to_string());
                if error_text(&e).contains(&want) {
                    bad += 1;
                } else {
                    failures.push(format!(
                        "{name}: got {e:?}\n    want it to contain {want:?}"
                    ));
                }
            }
            None => bad += 1,
        }
    }
    println!("config conformance ({}):", dir.display());
    println!("| set  | pass | total |");
    println!("|------|------|-------|");
    println!("| good | {good:>4} | {good_total:>5} |");
    println!("| bad  | {bad:>4} | {bad_total:>5} |");
    println!("failing as unsupported (expected, {}):", unsupported.len());
    for u in &unsupported {
        println!("  {u}");
    }
    println!("skipped ({}): {}", skipped.len(), skipped.join(", "));
    assert!(
        failures.is_empty(),
        "{} failures:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn error_text(e: &ConfigError) -> String {
    e.to_string()
}
