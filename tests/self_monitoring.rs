//! Self-monitoring as Prometheus users run it: bongsu scrapes its own `/metrics` every second
//! and evaluates the alerting rules of the prometheus-mixin and the alertmanager-mixin
//! (`tests/data/self_monitoring/mixin_alerts.yml`). Every series selector of those rules must
//! return series — the metric exists under Prometheus' name with the labels the rule selects
//! by — unless `not_exported.txt` names the metric and says why; every rule must evaluate
//! healthy; and a few values are checked against what the test knows.

mod common;

use std::cell::Cell;
use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::PathBuf;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use common::server::{free_port, Server};
use promql_parser::parser::{self, Expr, VectorSelector};
use reqwest::StatusCode;
use serde_json::Value;

fn data(file: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data/self_monitoring")
        .join(file)
}

/// Every vector selector of `expr`, including those under range selectors.
fn selectors(expr: &Expr, out: &mut Vec<VectorSelector>) {
    match expr {
        Expr::VectorSelector(vs) => out.push(vs.clone()),
        Expr::MatrixSelector(ms) => out.push(ms.vs.clone()),
        Expr::Aggregate(a) => {
            selectors(&a.expr, out);
            if let Some(p) = &a.param {
                selectors(p, out);
            }
        }
        Expr::Unary(u) => selectors(&u.expr, out),
        Expr::Binary(b) => {
            selectors(&b.lhs, out);
            selectors(&b.rhs, out);
        }
        Expr::Paren(p) => selectors(&p.expr, out),
        Expr::Subquery(s) => selectors(&s.expr, out),
        Expr::Call(c) => c.args.args.iter().for_each(|a| selectors(a, out)),
        Expr::NumberLiteral(_) | Expr::StringLiteral(_) | Expr::Extension(_) => {}
    }
}

/// `metric name → why bongsu does not export it`.
fn not_exported() -> BTreeMap<String, String> {
    fs::read_to_string(data("not_exported.txt"))
        .unwrap()
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'))
        .map(|l| {
            let (name, why) = l.split_once(char::is_whitespace).unwrap();
            (name.to_string(), why.trim().to_string())
        })
        .collect()
}

/// The API as the test uses it, counting the queries it sends.
struct Api<'a> {
    server: &'a Server,
    queries: Cell<u64>,
}

impl Api<'_> {
    /// The result of an instant query (which must succeed).
    fn query(&self, q: &str) -> Vec<Value> {
        let r = self
            .server
            .http
            .get(self.server.url("/api/v1/query"))
            .query(&[("query", q)])
            .send()
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK, "{q}");
        self.queries.set(self.queries.get() + 1);
        let body: Value = r.json().unwrap();
        body["data"]["result"].as_array().unwrap().clone()
    }

    /// The single value of `q`.
    fn value(&self, q: &str) -> f64 {
        let result = self.query(q);
        assert_eq!(result.len(), 1, "{q}: {result:?}");
        result[0]["value"][1].as_str().unwrap().parse().unwrap()
    }

    fn rules(&self) -> Vec<Value> {
        let r = self
            .server
            .http
            .get(self.server.url("/api/v1/rules"))
            .send();
        let body: Value = r.unwrap().json().unwrap();
        body["data"]["groups"]
            .as_array()
            .unwrap()
            .iter()
            .flat_map(|g| g["rules"].as_array().unwrap().clone())
            .collect()
    }

    /// A sample of `/metrics` by its series as written there (`name` or `name{labels}`).
    fn exposed(&self, series: &str) -> f64 {
        let text = self
            .server
            .http
            .get(self.server.url("/metrics"))
            .send()
            .unwrap()
            .text()
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(series)?.strip_prefix(' ')?.parse().ok())
            .unwrap_or_else(|| panic!("{series} on /metrics:\n{text}"))
    }
}

fn now_secs() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs_f64()
}

#[test]
fn mixin_alerts_find_their_metrics_and_evaluate() {
    let tmp = tempfile::tempdir().unwrap();
    let rules_file = data("mixin_alerts.yml");
    let port = free_port();
    let config = tmp.path().join("bongsu.yml");
    fs::write(
        &config,
        format!(
            "global: {{scrape_interval: 1s, evaluation_interval: 1s}}\n\
             rule_files: [{rules:?}]\n\
             alerting:\n  alertmanagers: [{{static_configs: [{{targets: ['127.0.0.1:{port}']}}]}}]\n\
             scrape_configs:\n  - job_name: bongsu\n    static_configs: [{{targets: ['127.0.0.1:{port}']}}]\n",
            rules = rules_file.display().to_string()
        ),
    )
    .unwrap();
    let started = now_secs();
    let server = Server::spawn_on(
        port,
        vec![
            "--config.file".into(),
            config.into(),
            "--storage.tsdb.path".into(),
            tmp.path().join("data").into(),
        ],
        tmp.path().join("bongsu.log"),
    );
    let api = Api {
        server: &server,
        queries: Cell::new(0),
    };

    // The selectors of every alert, by the metric they select.
    let groups: Value = serde_yaml_ng::from_str(&fs::read_to_string(&rules_file).unwrap()).unwrap();
    let mut wanted: BTreeMap<String, Vec<String>> = BTreeMap::new();
    let groups = groups["groups"].as_array().unwrap();
    let rules_in = |g: &Value| g["rules"].as_array().unwrap().len();
    let rule_count: usize = groups.iter().map(rules_in).sum();
    let prometheus_rules = groups
        .iter()
        .find(|g| g["name"] == "prometheus")
        .map(rules_in)
        .unwrap();
    for rule in groups.iter().flat_map(|g| g["rules"].as_array().unwrap()) {
        let expr = rule["expr"].as_str().unwrap();
        let mut found = Vec::new();
        selectors(&parser::parse(expr).unwrap(), &mut found);
        for vs in found {
            let name = vs.name.clone().expect("mixin selectors name their metric");
            wanted.entry(name).or_default().push(vs.to_string());
        }
    }
    let absent = not_exported();
    for name in absent.keys() {
        assert!(
            wanted.contains_key(name),
            "{name} is listed in not_exported.txt but no rule selects it"
        );
    }

    // Scrapes every second fill in everything within a few seconds; give a debug build time.
    let missing = |api: &Api<'_>| -> Vec<String> {
        wanted
            .iter()
            .filter(|(name, _)| !absent.contains_key(*name))
            .flat_map(|(_, sels)| sels)
            .filter(|s| api.query(s).is_empty())
            .cloned()
            .collect()
    };
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut still_missing = missing(&api);
    while !still_missing.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(200));
        still_missing = missing(&api);
    }
    assert!(
        still_missing.is_empty(),
        "selectors of mixin alerts without series: {still_missing:#?}\nlog:\n{}",
        server.log()
    );
    for (name, why) in &absent {
        for s in &wanted[name] {
            assert!(
                api.query(s).is_empty(),
                "{s} returns series: remove {name} ({why}) from not_exported.txt"
            );
        }
    }

    // Every rule loaded and evaluated healthy.
    let rules = server.wait_for("every rule to be evaluated", || {
        let rules = api.rules();
        (rules.len() == rule_count && rules.iter().all(|r| r["health"] != "unknown"))
            .then_some(rules)
    });
    let unhealthy: BTreeSet<String> = rules
        .iter()
        .filter(|r| r["health"] != "ok")
        .map(|r| format!("{}: {}", r["name"], r["lastError"]))
        .collect();
    assert!(unhealthy.is_empty(), "{unhealthy:#?}");

    // Values the test knows.
    let group_key = format!("{};prometheus", rules_file.display());
    assert_eq!(
        api.value(&format!(
            "prometheus_rule_group_rules{{job=\"bongsu\",rule_group={group_key:?}}}"
        )),
        prometheus_rules as f64,
        "the prometheus group's rules"
    );
    assert_eq!(
        api.value(
            r#"prometheus_sd_discovered_targets{job="bongsu",config="bongsu",name="scrape"}"#
        ),
        1.0
    );
    assert_eq!(
        api.value(r#"prometheus_engine_queries_concurrent_max{job="bongsu"}"#),
        20.0,
        "--query.max-concurrency's default"
    );
    assert_eq!(
        api.value(r#"prometheus_config_last_reload_successful{job="bongsu"}"#),
        1.0
    );
    assert_eq!(api.value(r#"prometheus_ready{job="bongsu"}"#), 1.0);
    assert_eq!(
        api.query(r#"prometheus_build_info{job="bongsu",version!="",goos!="",goarch!=""}"#)
            .len(),
        1
    );
    assert!(api.exposed("process_open_fds") > 0.0);
    assert!(api.exposed("process_resident_memory_bytes") > 0.0);
    let start = api.exposed("process_start_time_seconds");
    assert!(
        start > started - 2.0 && start < now_secs() + 1.0,
        "process_start_time_seconds {start}, test started at {started}"
    );
    let loaded = api.exposed("prometheus_config_last_reload_success_timestamp_seconds");
    assert!(loaded > started - 1.0 && loaded < now_secs(), "{loaded}");
    // Only this test queries: the counter is the queries it made, each answered 200.
    assert_eq!(
        api.exposed(r#"prometheus_http_requests_total{code="200",handler="/api/v1/query"}"#),
        api.queries.get() as f64
    );
    assert!(
        api.exposed(r#"prometheus_http_requests_total{code="200",handler="/api/v1/rules"}"#) >= 1.0
    );
}
