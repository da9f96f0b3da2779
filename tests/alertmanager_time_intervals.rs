//! `tests/data/alertmanager/time_intervals.yml`: named time intervals loaded through
//! `alertmanager.yml`, and instants that must fall inside or outside each.

use std::collections::BTreeMap;
use std::path::Path;

use bongsu_alertmanager::config::Config;
use bongsu_alertmanager::timeinterval::any_contains_time;

#[derive(serde::Deserialize)]
struct File {
    config: String,
    cases: BTreeMap<String, Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    #[serde(default)]
    inside: Vec<String>,
    #[serde(default)]
    outside: Vec<String>,
}

#[test]
fn time_interval_cases() {
    let path =
        Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/alertmanager/time_intervals.yml");
    let file: File = serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let cfg = Config::parse(&file.config, None).unwrap();
    assert_eq!(
        cfg.time_intervals.len(),
        file.cases.len(),
        "a case per interval"
    );
    for (name, case) in &file.cases {
        let intervals = &cfg.time_intervals[name];
        for (instants, want) in [(&case.inside, true), (&case.outside, false)] {
            for t in instants {
                let ts: jiff::Timestamp = t.parse().unwrap_or_else(|e| panic!("{t}: {e}"));
                assert_eq!(any_contains_time(intervals, ts), want, "{name} at {t}");
            }
        }
    }
}
