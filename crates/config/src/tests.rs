//! Unit tests of loading: defaults, inheritance, error wording. The conformance suite
//! (`tests/config_conformance.rs`) covers Prometheus' own good and bad files.

use std::time::Duration;

use super::*;

fn parse(yaml: &str) -> Result<Config, ConfigError> {
    Config::parse(yaml, "test.yml")
}

fn error(yaml: &str) -> String {
    parse(yaml).unwrap_err().to_string()
}

#[test]
fn default_config_loads() {
    let c = Config::load(None).unwrap();
    assert_eq!(c.global.scrape_interval, Duration::from_secs(15));
    assert_eq!(c.scrape_configs.len(), 1);
    assert_eq!(
        c.scrape_configs[0].static_configs[0].targets,
        ["localhost:9090"]
    );
}

#[test]
fn empty_file_has_prometheus_defaults() {
    for text in ["", "global:\n", "# nothing\n"] {
        let c = parse(text).unwrap();
        assert_eq!(c.global.scrape_interval, Duration::from_secs(60));
        assert_eq!(c.global.scrape_timeout, Duration::from_secs(10));
        assert_eq!(c.global.evaluation_interval, Duration::from_secs(60));
    }
}

#[test]
fn jobs_inherit_global_settings() {
    let c = parse(
        "global:\n  scrape_interval: 5s\n  sample_limit: 100\n  body_size_limit: 1MB\n\
         scrape_configs:\n  - job_name: a\n  - job_name: b\n    scrape_interval: 1m\n    sample_limit: 7\n",
    )
    .unwrap();
    let a = &c.scrape_configs[0];
    assert_eq!(a.scrape_interval, Duration::from_secs(5));
    // The timeout defaults to 10s but never exceeds the interval.
    assert_eq!(a.scrape_timeout, Duration::from_secs(5));
    assert_eq!((a.sample_limit, a.body_size_limit), (100, 1 << 20));
    assert_eq!(a.metrics_path, "/metrics");
    assert_eq!(a.scheme, "http");
    assert!(a.honor_timestamps && a.enable_compression && a.http.follow_redirects);
    assert_eq!(a.scrape_protocols, ScrapeProtocol::DEFAULT);
    let b = &c.scrape_configs[1];
    assert_eq!(b.scrape_interval, Duration::from_secs(60));
    // Prometheus takes the global timeout (itself capped at the global interval).
    assert_eq!(b.scrape_timeout, Duration::from_secs(5));
    assert_eq!(b.sample_limit, 7);
}

#[test]
fn errors_read_like_prometheus() {
    let cases = [
        ("scrape_config: []\n", "field scrape_config not found in type config.plain"),
        ("global:\n  scrape_interval: 5x\n", "not a valid duration string: \"5x\""),
        ("scrape_configs:\n  - job_name: a\n    scrape_interval: 5s\n    scrape_timeout: 6s\n",
         "scrape timeout greater than scrape interval for scrape config with job name \"a\""),
        ("scrape_configs:\n  - job_name: a\n  - job_name: a\n", "found multiple scrape configs with job name \"a\""),
        ("scrape_configs:\n  - job_name: a\n    scheme: ftp\n", "scheme must be \"http\" or \"https\""),
        ("scrape_configs:\n  - job_name: a\n    basic_auth: {username: u, password: p, password_file: f}\n",
         "at most one of basic_auth password & password_file must be configured"),
        ("scrape_configs:\n  - job_name: a\n    basic_auth: {username: u}\n    authorization: {credentials: c}\n",
         "at most one of basic_auth, oauth2 & authorization must be configured"),
        ("scrape_configs:\n  - job_name: a\n    tls_config: {cert_file: c}\n",
         "exactly one of key or key_file must be configured when a client certificate is configured"),
        ("scrape_configs:\n  - job_name: a\n    tls_config: {min_version: TLS9}\n", "unknown variant `TLS9`"),
        ("scrape_configs:\n  - job_name: a\n    tls_config: {bogus: 1}\n", "field bogus not found in type tls_config"),
        ("global:\n  external_labels: {a: 1}\nglobal: {}\n", "field global already set in type config.plain"),
    ];
    for (yaml, want) in cases {
        let got = error(yaml);
        assert!(got.contains(want), "{yaml}: got {got:?}, want {want:?}");
    }
    assert!(
        error("scrape_config: []\n").contains("line 1:"),
        "line numbers are kept"
    );
}

#[test]
fn unsupported_features_fail_naming_the_job() {
    let e = parse("scrape_configs:\n  - job_name: k8s\n    kubernetes_sd_configs: [{role: pod}]\n")
        .unwrap_err();
    assert!(e.is_unsupported());
    assert!(
        e.to_string()
            .contains("kubernetes_sd_configs is not supported by bongsu yet for scrape config with job name \"k8s\""),
        "{e}"
    );
    let e = parse("scrape_configs:\n  - job_name: o\n    oauth2: {client_id: a, token_url: b}\n")
        .unwrap_err();
    assert!(
        e.is_unsupported() && e.to_string().contains("oauth2 is not supported"),
        "{e}"
    );
    let e = parse("remote_write:\n  - url: http://x/\n    sigv4: {region: x}\n").unwrap_err();
    assert!(
        e.is_unsupported() && e.to_string().contains("sigv4 is not supported"),
        "{e}"
    );
    assert!(!parse("scrape_configs:\n  - job_name: ''\n")
        .unwrap_err()
        .is_unsupported());
}

#[test]
fn legacy_bearer_token_becomes_authorization() {
    let c = parse("scrape_configs:\n  - job_name: a\n    bearer_token: 1234\n").unwrap();
    let auth = c.scrape_configs[0].http.authorization.as_ref().unwrap();
    assert_eq!(
        (auth.kind.as_str(), auth.credentials.expose()),
        ("Bearer", "1234")
    );
    assert!(!format!("{c:?}").contains("1234"), "secrets never print");
}

#[test]
fn relative_paths_follow_the_config_file() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("jobs")).unwrap();
    std::fs::write(
        dir.path().join("jobs/extra.yml"),
        "scrape_configs:\n  - job_name: extra\n    file_sd_configs: [{files: [t/*.json]}]\n",
    )
    .unwrap();
    let main = dir.path().join("prometheus.yml");
    std::fs::write(
        &main,
        "rule_files: [rules/*.yml]\nlog_rule_files: [logs/*.yml]\nscrape_config_files: [jobs/*.yml]\n\
         scrape_configs:\n  - job_name: main\n    basic_auth: {username: u, password_file: pw}\n",
    )
    .unwrap();
    let c = Config::load(Some(&main)).unwrap();
    assert_eq!(c.rule_file_patterns(), [dir.path().join("rules/*.yml")]);
    assert_eq!(c.log_rule_file_patterns(), [dir.path().join("logs/*.yml")]);
    assert_eq!(c.scrape_configs.len(), 2);
    let ba = c.scrape_configs[0].http.basic_auth.as_ref().unwrap();
    assert_eq!(
        ba.password_file.as_deref(),
        Some(dir.path().join("pw").as_path())
    );
    assert_eq!(
        c.scrape_configs[1].file_sd_configs[0].files,
        [dir.path().join("jobs/t/*.json")]
    );
    // The password file is read when used, not at load.
    std::fs::write(dir.path().join("pw"), "secret\n").unwrap();
    assert_eq!(ba.password().unwrap().expose(), "secret");

    std::fs::write(
        dir.path().join("jobs/dup.yml"),
        "scrape_configs:\n  - job_name: main\n",
    )
    .unwrap();
    let e = Config::load(Some(&main)).unwrap_err().to_string();
    assert!(
        e.contains(
            "found multiple scrape configs with job name \"main\", first found in main config file"
        ),
        "{e}"
    );
}
