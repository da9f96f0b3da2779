//! Routing cases under `tests/data/alertmanager/routing/`: each file holds an
//! `alertmanager.yml` and alerts with, in order, the routes that take them (receiver,
//! inherited options, route key, group key). Options a case leaves out must be the defaults.

use std::collections::BTreeMap;
use std::path::Path;
use std::time::Duration;

use bongsu_alertmanager::config::Config;
use bongsu_alertmanager::route::{
    Route, DEFAULT_GROUP_INTERVAL, DEFAULT_GROUP_WAIT, DEFAULT_REPEAT_INTERVAL,
};
use bongsu_model::parse_prometheus_duration;

#[derive(serde::Deserialize)]
struct File {
    config: String,
    cases: Vec<Case>,
}

#[derive(serde::Deserialize)]
struct Case {
    labels: BTreeMap<String, String>,
    routes: Vec<Expected>,
}

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Expected {
    receiver: String,
    key: String,
    #[serde(default)]
    group_by: Vec<String>,
    #[serde(default)]
    group_by_all: bool,
    #[serde(default)]
    group_wait: Option<String>,
    #[serde(default)]
    group_interval: Option<String>,
    #[serde(default)]
    repeat_interval: Option<String>,
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    group_key: Option<String>,
}

fn duration(s: &Option<String>, default: Duration) -> Duration {
    s.as_deref()
        .map(|s| parse_prometheus_duration(s).unwrap_or_else(|| panic!("bad duration {s}")))
        .unwrap_or(default)
}

#[test]
fn routing_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/alertmanager/routing");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    files.sort();
    assert!(!files.is_empty());
    let mut count = 0;
    for path in files {
        let name = path.file_name().unwrap().to_string_lossy().into_owned();
        let file: File = serde_yaml_ng::from_str(&std::fs::read_to_string(&path).unwrap())
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        let cfg = Config::parse(&file.config, None).unwrap_or_else(|e| panic!("{name}: {e}"));
        let tree = Route::new(&cfg.route);
        for case in &file.cases {
            let got = tree.match_labels(&case.labels);
            let at = format!("{name} {:?}", case.labels);
            assert_eq!(
                got.len(),
                case.routes.len(),
                "{at}: routes {:?}",
                got.iter().map(|r| r.key()).collect::<Vec<_>>()
            );
            for (route, want) in got.iter().zip(&case.routes) {
                let o = &route.opts;
                assert_eq!(o.receiver, want.receiver, "{at}");
                assert_eq!(route.key(), want.key, "{at}");
                let mut group_by = want.group_by.clone();
                group_by.sort();
                assert_eq!(
                    o.group_by.iter().cloned().collect::<Vec<_>>(),
                    group_by,
                    "{at}"
                );
                assert_eq!(o.group_by_all, want.group_by_all, "{at}");
                assert_eq!(
                    o.group_wait,
                    duration(&want.group_wait, DEFAULT_GROUP_WAIT),
                    "{at}"
                );
                assert_eq!(
                    o.group_interval,
                    duration(&want.group_interval, DEFAULT_GROUP_INTERVAL),
                    "{at}"
                );
                assert_eq!(
                    o.repeat_interval,
                    duration(&want.repeat_interval, DEFAULT_REPEAT_INTERVAL),
                    "{at}"
                );
                assert_eq!(o.labels, want.labels, "{at}");
                if let Some(gk) = &want.group_key {
                    assert_eq!(
                        &route.group_key(&route.group_labels(&case.labels)),
                        gk,
                        "{at}"
                    );
                }
                count += 1;
            }
        }
    }
    println!("{count} routed alerts checked");
}
