//! Rules on LogQL in the real binary, end to end: lines pushed with Loki's push API, a
//! recording rule from `log_rule_files` whose series PromQL answers, an alerting rule that
//! fires into the built-in Alertmanager with a `/logs` generator URL, Loki's ruler APIs
//! (`/prometheus/api/v1/rules|alerts`, `/loki/api/v1/rules…`), and `check rules` /
//! `check config` on a bad LogQL rule file.
//!
//! Every wait polls with a bound, so a slow machine makes the test slower, not flaky.

mod common;
#[path = "common/loki.rs"]
mod loki;

use std::ffi::OsString;
use std::fs;
use std::path::Path;
use std::process::Command;
use std::time::{SystemTime, UNIX_EPOCH};

use common::server::{Server, BIN};
use loki::push_json;
use serde_json::{json, Value};

const RULES: &str = r#"groups:
  - name: shop
    interval: 1s
    labels: {team: web}
    rules:
      - record: app:errors:count1m
        expr: sum by (app) (count_over_time({app="shop"} |= "ERROR" [1m]))
      - alert: ShopErrors
        expr: sum by (app, host) (count_over_time({app="shop"} |= "ERROR" [1m])) > 2
        labels: {severity: page}
        annotations:
          summary: '{{ $labels.host }}: {{ $value }} errors'
"#;

const BAD_RULES: &str = r#"groups:
  - name: bad
    rules:
      - record: a
        expr: count_over_time({app="shop"} |= [1m])
      - alert: B
        expr: '{app="shop"} |= "ERROR"'
"#;

fn start(dir: &Path) -> Server {
    fs::create_dir_all(dir.join("logs")).unwrap();
    fs::write(dir.join("logs/shop.yml"), RULES).unwrap();
    let config = dir.join("prometheus.yml");
    fs::write(
        &config,
        "global:\n  evaluation_interval: 1s\nlog_rule_files: [logs/*.yml]\nscrape_configs: []\n",
    )
    .unwrap();
    let args: Vec<OsString> = vec![
        "--storage.tsdb.path".into(),
        dir.join("data").into(),
        "--config.file".into(),
        config.into(),
        "--web.external-url=http://bongsu.test/".into(),
        "--logs.ingestion-rate-mb=0".into(),
    ];
    Server::spawn(args, dir.join("server.log"))
}

fn get_json(s: &Server, path: &str) -> Value {
    s.http.get(s.url(path)).send().unwrap().json().unwrap()
}

fn push_lines(s: &Server) {
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let values: Vec<Value> = ["INFO ok", "ERROR a", "ERROR b", "INFO ok", "ERROR c"]
        .iter()
        .enumerate()
        .map(|(i, l)| json!([(now + i as u128).to_string(), l]))
        .collect();
    let body = json!({"streams": [{"stream": {"app": "shop", "host": "h1"}, "values": values}]});
    let (code, text) = push_json(s, body.to_string().as_bytes());
    assert_eq!(code, 204, "{text}");
}

#[test]
fn log_rules_record_alert_and_answer_lokis_ruler_api() {
    let dir = tempfile::tempdir().unwrap();
    let s = start(dir.path());
    push_lines(&s);

    // The recording rule's series, through PromQL.
    let recorded = s.wait_for("the recorded series", || {
        let v = get_json(&s, "/api/v1/query?query=app:errors:count1m");
        let r = v["data"]["result"].as_array()?.first()?.clone();
        (r["value"][1] == "3").then_some(r)
    });
    assert_eq!(
        recorded["metric"],
        json!({"__name__": "app:errors:count1m", "app": "shop", "team": "web"})
    );

    // The alert reaches the built-in Alertmanager with its logs link.
    let alert = s.wait_for("the alert in the Alertmanager", || {
        let v = get_json(&s, "/api/v2/alerts");
        v.as_array()?
            .iter()
            .find(|a| a["labels"]["alertname"] == "ShopErrors")
            .cloned()
    });
    assert_eq!(alert["annotations"]["summary"], "h1: 3 errors");
    let url = alert["generatorURL"].as_str().unwrap();
    let parsed = reqwest::Url::parse(url).unwrap();
    assert_eq!(
        (parsed.host_str(), parsed.path()),
        (Some("bongsu.test"), "/logs")
    );
    let pairs: Vec<(String, String)> = parsed.query_pairs().into_owned().collect();
    assert_eq!(pairs[0].0, "query");
    assert_eq!(
        pairs[0].1,
        r#"{app="shop"} |= "ERROR" | app="shop" | host="h1""#
    );
    assert_eq!(pairs[1].0, "from");
    assert!(pairs[1].1.parse::<i64>().is_ok(), "{url}");

    // Loki's ruler API: only log rules, Prometheus' shape with Loki's fields.
    let rules = get_json(&s, "/prometheus/api/v1/rules");
    assert_eq!(rules["status"], "success");
    assert_eq!(
        (&rules["errorType"], &rules["error"]),
        (&json!(""), &json!(""))
    );
    let group = &rules["data"]["groups"][0];
    assert_eq!(group["name"], "shop");
    assert!(group["file"].as_str().unwrap().ends_with("logs/shop.yml"));
    assert_eq!(group["interval"], 1);
    let rec = &group["rules"][0];
    assert_eq!(rec["type"], "recording");
    assert_eq!(
        rec["query"],
        r#"sum by (app) (count_over_time({app="shop"} |= "ERROR" [1m]))"#
    );
    assert_eq!(
        (&rec["health"], &rec["lastError"]),
        (&json!("ok"), &json!(""))
    );
    let al = &group["rules"][1];
    assert_eq!(
        (&al["type"], &al["state"]),
        (&json!("alerting"), &json!("firing"))
    );
    assert_eq!(al["alerts"][0]["labels"]["host"], "h1");
    assert_eq!(al["alerts"][0]["value"], "3e+00");
    let alerts = get_json(&s, "/prometheus/api/v1/alerts");
    assert_eq!(
        alerts["data"]["alerts"][0]["labels"]["alertname"],
        "ShopErrors"
    );
    let only_alerts = get_json(&s, "/prometheus/api/v1/rules?type=alert");
    assert_eq!(
        only_alerts["data"]["groups"][0]["rules"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
    // Prometheus' own API lists log rules with the others (the UI's rules page), and the
    // alert state is in the TSDB as for PromQL rules.
    let all = get_json(&s, "/api/v1/rules");
    assert_eq!(all["data"]["groups"][0]["name"], "shop");
    let all = get_json(&s, "/api/v1/alerts");
    assert_eq!(
        all["data"]["alerts"][0]["labels"]["alertname"],
        "ShopErrors"
    );
    // Written once the `for` state is restored, after the group's second evaluation.
    s.wait_for("ALERTS_FOR_STATE of the alert", || {
        let v = get_json(&s, "/api/v1/query?query=ALERTS_FOR_STATE");
        (v["data"]["result"][0]["metric"]["alertname"] == "ShopErrors").then_some(())
    });

    // The rule configuration API: YAML, namespaces are the rule files.
    let r = s.http.get(s.url("/loki/api/v1/rules")).send().unwrap();
    assert_eq!(r.status(), 200);
    let listed: serde_yaml_ng::Value = serde_yaml_ng::from_str(&r.text().unwrap()).unwrap();
    let (namespace, groups) = listed.as_mapping().unwrap().iter().next().unwrap();
    let namespace = namespace.as_str().unwrap().to_string();
    assert!(namespace.ends_with("logs/shop.yml"), "{namespace}");
    assert_eq!(groups[0]["name"].as_str(), Some("shop"));
    assert_eq!(groups[0]["interval"].as_str(), Some("1s"));
    assert_eq!(groups[0]["rules"][1]["alert"].as_str(), Some("ShopErrors"));
    // The namespace is one path segment: its slashes are escaped.
    let at = |base: &str, rest: &[&str]| {
        let mut u = reqwest::Url::parse(&s.url(base)).unwrap();
        u.path_segments_mut().unwrap().push(&namespace).extend(rest);
        u
    };
    for u in [
        at("/loki/api/v1/rules", &["shop"]),
        at("/api/prom/rules", &["shop"]),
    ] {
        let r = s.http.get(u.clone()).send().unwrap();
        assert_eq!(r.status(), 200, "{u}");
        let g: serde_yaml_ng::Value = serde_yaml_ng::from_str(&r.text().unwrap()).unwrap();
        assert_eq!(g["rules"][0]["record"].as_str(), Some("app:errors:count1m"));
    }
    let r = s
        .http
        .get(at("/loki/api/v1/rules", &["nope"]))
        .send()
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.text().unwrap()),
        (404, "group does not exist\n".into())
    );
    let r = s
        .http
        .post(at("/loki/api/v1/rules", &[]))
        .body("name: x\nrules: []\n")
        .send()
        .unwrap();
    assert_eq!(
        (r.status().as_u16(), r.text().unwrap()),
        (500, "SetRuleGroup unsupported in rule local store\n".into())
    );
    let r = s
        .http
        .delete(at("/loki/api/v1/rules", &["shop"]))
        .send()
        .unwrap();
    assert_eq!(r.status(), 500);
    let v: Value = r.json().unwrap();
    assert_eq!(
        v["error"],
        "DeleteRuleGroup unsupported in rule local store"
    );
}

#[test]
fn check_rules_and_config_report_bad_logql() {
    let dir = tempfile::tempdir().unwrap();
    let bad = dir.path().join("bad.yml");
    fs::write(&bad, BAD_RULES).unwrap();
    let out = Command::new(BIN)
        .args(["check", "rules", "--backend=loki"])
        .arg(&bad)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(r#"5:15: group "bad", rule 1, "a": could not parse expression: parse error at line 0, col "#),
        "{stderr}"
    );
    assert!(
        stderr.contains("is a log query; rules need a LogQL metric query"),
        "{stderr}"
    );

    let good = dir.path().join("good.yml");
    fs::write(&good, RULES).unwrap();
    let out = Command::new(BIN)
        .args(["check", "rules", "--backend=loki"])
        .arg(&good)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(0));
    assert!(String::from_utf8(out.stdout)
        .unwrap()
        .contains("SUCCESS: 2 rules found"));

    let config = dir.path().join("prometheus.yml");
    fs::write(&config, "log_rule_files: [bad.yml]\n").unwrap();
    let out = Command::new(BIN)
        .args(["check", "config"])
        .arg(&config)
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    let stdout = String::from_utf8(out.stdout).unwrap();
    assert!(stdout.contains("Checking "), "{stdout}");
    assert!(String::from_utf8(out.stderr)
        .unwrap()
        .contains("is a log query"));
}
