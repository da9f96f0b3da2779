//! `bongsu test rules` beyond the upstream cases: templates with `query`, `$externalLabels`
//! and `$externalURL`, `group_eval_order`, and a failing expectation reported with exit 1.

use bongsu_rules::unittest::{test_rule_files, TestOptions};

const RULES: &str = r#"
groups:
  - name: first
    rules:
      - record: job:up:sum
        expr: sum by (job) (up)
  - name: second
    rules:
      - alert: FewUp
        expr: job:up:sum < 2
        labels:
          dc: '{{ $externalLabels.dc }}'
        annotations:
          total: '{{ with query "count(up)" }}{{ . | first | value }}{{ end }} targets'
          link: '{{ $externalURL }}/alerts'
"#;

fn test_file(exp_total: &str) -> String {
    format!(
        r#"
rule_files: [rules.yml]
evaluation_interval: 1m
group_eval_order: [first, second]
tests:
  - name: few up
    external_labels: {{dc: eu1}}
    external_url: http://bongsu.example
    input_series:
      - series: 'up{{job="api", instance="a"}}'
        values: 1x5
      - series: 'up{{job="api", instance="b"}}'
        values: 0x5
    alert_rule_test:
      - eval_time: 2m
        alertname: FewUp
        exp_alerts:
          - exp_labels: {{job: api, dc: eu1}}
            exp_annotations:
              total: "{exp_total} targets"
              link: http://bongsu.example/alerts
    promql_expr_test:
      - expr: job:up:sum
        eval_time: 2m
        exp_samples:
          - labels: 'job:up:sum{{job="api"}}'
            value: 1
"#
    )
}

fn run(test: &str, run: &[&str]) -> (u8, String) {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("rules.yml"), RULES).unwrap();
    let path = dir.path().join("test.yml");
    std::fs::write(&path, test).unwrap();
    let opts = TestOptions {
        run: run.iter().map(|s| s.to_string()).collect(),
        logs: Some(std::sync::Arc::new(bongsu::log_rules::TempLogStores)),
    };
    let mut out = Vec::new();
    let code = test_rule_files(&[path], &opts, &mut out);
    (code, String::from_utf8(out).unwrap())
}

#[test]
fn templates_query_and_external_data() {
    let (code, out) = run(&test_file("2"), &[]);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("SUCCESS"), "{out}");
}

#[test]
fn a_wrong_expectation_fails_and_run_filters_it_out() {
    let (code, out) = run(&test_file("3"), &[]);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("FAILED:"), "{out}");
    assert!(out.contains("alertname: FewUp, time: 2m"), "{out}");
    assert!(out.contains(r#"total="2 targets""#), "{out}");
    let (code, out) = run(&test_file("3"), &["^other$"]);
    assert_eq!(code, 0, "{out}");
}
