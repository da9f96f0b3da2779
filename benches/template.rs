//! Template expansion cost: one alerting-rule annotation as the rule manager renders it (parse
//! + execute, per alert and evaluation), and one Alertmanager notification body over 100 alerts.

use std::collections::BTreeMap;
use std::hint::black_box;

use criterion::{criterion_group, criterion_main, Criterion};

use bongsu_gotmpl::alertmanager::{Alert, Data, NotificationTemplates};
use bongsu_gotmpl::prometheus::{alert_template_data, ExpandContext, Expander};
use bongsu_gotmpl::time::Time;

const ANNOTATION: &str = "{{ $labels.instance }} of job {{ $labels.job }} has been down for more than 5 minutes (value {{ $value | humanize }}, {{ $externalLabels.cluster }}).";

const NOTIFICATION: &str = r#"{{ define "body" -}}
[{{ .Status | toUpper }}{{ if eq .Status "firing" }}:{{ .Alerts.Firing | len }}{{ end }}] {{ .GroupLabels.SortedPairs.Values | join " " }}
{{ range .Alerts.Firing }}Labels:
{{ range .Labels.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Annotations:
{{ range .Annotations.SortedPairs }} - {{ .Name }} = {{ .Value }}
{{ end }}Source: {{ .GeneratorURL }}
{{ end }}{{ end }}"#;

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn bench(c: &mut Criterion) {
    let expander = Expander::new(&ExpandContext {
        timestamp_ms: 1_700_000_000_000,
        query: None,
        external_url: "http://localhost:9090".into(),
    });
    let data = alert_template_data(
        &labels(&[
            ("alertname", "InstanceDown"),
            ("instance", "host-1:9100"),
            ("job", "node"),
        ]),
        &labels(&[("cluster", "eu-1")]),
        "http://localhost:9090",
        0.0,
    );
    c.bench_function("template/alert_annotation", |b| {
        b.iter(|| black_box(expander.expand_alert("InstanceDown", ANNOTATION, &data)))
    });

    let alerts = (0..100)
        .map(|i| Alert {
            status: if i % 4 == 0 { "resolved" } else { "firing" }.into(),
            labels: labels(&[
                ("alertname", "DiskFull"),
                ("instance", &format!("host-{i}:9100")),
                ("job", "node"),
                ("severity", "warning"),
            ]),
            annotations: labels(&[
                ("summary", "disk is full"),
                ("runbook", "http://runbooks/disk"),
            ]),
            starts_at: Time::utc(1_700_000_000, 0),
            ends_at: Time::zero(),
            generator_url: format!("http://prom:9090/graph?g0.expr=disk{i}"),
            fingerprint: format!("{i:016x}"),
            logs_url: format!("http://prom:9090/logs?query=%7Binstance%3D%22host-{i}%3A9100%22%7D"),
        })
        .collect();
    let value = Data::new(
        "team",
        labels(&[("alertname", "DiskFull")]),
        alerts,
        "http://am:9093",
    )
    .to_value();
    let mut set = NotificationTemplates::new();
    set.parse_file("bench.tmpl", NOTIFICATION)
        .expect("bench template parses");
    c.bench_function("template/notification_100_alerts", |b| {
        b.iter(|| black_box(set.execute("body", &value).expect("renders")))
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
