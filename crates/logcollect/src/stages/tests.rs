//! The stage cases under `crates/logcollect/tests/data/stages/*.yaml`, run by one runner.
//!
//! Each file is a list of cases: `stages` (the `pipeline_stages` YAML), and either `error`
//! (the build error's text) or `in` (entries) with `out` (the entries expected out, in
//! order; per entry only the fields written are compared: `labels`, `ts`, `line`,
//! `metadata`, and `extracted` for the named keys), `flush` (a time to flush at after the
//! inputs), `dropped` (reason → count) and `series` (the `metrics` series written by
//! `append_to`, each `labels` and `value`), `sort_by_ts` (compare in time order). Times are Unix nanoseconds or RFC 3339 texts.
//! Most cases re-express those of Promtail's `stages/*_test.go`.

use std::collections::BTreeMap;
use std::path::Path;

use bongsu_model::Labels;
use bongsu_storage::memory::MemStorage;
use bongsu_storage::Queryable;
use serde::Deserialize;
use serde_yaml_ng::Value as Yaml;

use super::item::Item;
use super::metrics::PipelineMetrics;
use super::pipeline::{self, Context, Pipeline};
use super::value::Value;
use crate::Entry;

#[derive(Deserialize)]
struct Case {
    name: String,
    stages: Yaml,
    #[serde(default)]
    error: Option<String>,
    #[serde(default, rename = "in")]
    input: Vec<InEntry>,
    #[serde(default)]
    out: Vec<OutEntry>,
    #[serde(default)]
    flush: Option<Yaml>,
    #[serde(default)]
    dropped: BTreeMap<String, u64>,
    #[serde(default)]
    series: Option<Vec<SeriesCase>>,
    /// Compare the entries out in time order (where Promtail's own order is a race).
    #[serde(default)]
    sort_by_ts: bool,
}

#[derive(Deserialize)]
struct InEntry {
    #[serde(default)]
    labels: BTreeMap<String, String>,
    #[serde(default)]
    ts: Option<Yaml>,
    line: String,
}

#[derive(Deserialize)]
struct OutEntry {
    labels: Option<BTreeMap<String, String>>,
    ts: Option<Yaml>,
    line: Option<String>,
    metadata: Option<Vec<(String, String)>>,
    #[serde(default)]
    extracted: BTreeMap<String, Yaml>,
}

#[derive(Deserialize)]
struct SeriesCase {
    labels: BTreeMap<String, String>,
    value: f64,
}

fn time(v: &Yaml) -> i64 {
    match v {
        Yaml::Number(n) => n.as_i64().expect("integer time"),
        Yaml::String(s) => s
            .parse::<jiff::Timestamp>()
            .map(|t| t.as_nanosecond() as i64)
            .unwrap_or_else(|e| panic!("bad time {s}: {e}")),
        other => panic!("bad time {other:?}"),
    }
}

fn value(v: &Yaml) -> Value {
    match v {
        Yaml::Null => Value::Null,
        Yaml::Bool(b) => Value::Bool(*b),
        Yaml::Number(n) => Value::Num(n.as_f64().expect("number")),
        Yaml::String(s) => Value::Str(s.clone()),
        other => panic!("extracted values are scalars, not {other:?}"),
    }
}

fn run_case(file: &str, c: &Case) {
    let ctx_name = format!("{file}: {}", c.name);
    let metrics = PipelineMetrics::default();
    let ctx = Context {
        metrics: metrics.clone(),
    };
    let built = pipeline::build(&c.stages, &ctx);
    if let Some(want) = &c.error {
        let err = built.err().map(|e| e.to_string());
        assert_eq!(err.as_deref(), Some(want.as_str()), "{ctx_name}");
        assert_eq!(
            Pipeline::check(&c.stages)
                .err()
                .map(|e| e.to_string())
                .as_deref(),
            Some(want.as_str()),
            "{ctx_name}: check"
        );
        return;
    }
    let mut stages = built.unwrap_or_else(|e| panic!("{ctx_name}: {e}"));
    let mut got: Vec<Item> = Vec::new();
    for e in &c.input {
        let labels = Labels::from_pairs(
            &e.labels
                .iter()
                .map(|(n, v)| (n.as_str(), v.as_str()))
                .collect::<Vec<_>>(),
        )
        .expect("labels");
        let entry = Entry {
            labels,
            ts: e.ts.as_ref().map_or(0, time),
            line: e.line.clone(),
            metadata: Vec::new(),
        };
        got.extend(pipeline::run(&mut stages, vec![Item::from_entry(entry)]));
    }
    if let Some(at) = &c.flush {
        got.extend(pipeline::flush(&mut stages, time(at)));
    }
    if c.sort_by_ts {
        got.sort_by_key(|i| i.ts);
    }
    assert_eq!(got.len(), c.out.len(), "{ctx_name}: entries out: {got:#?}");
    for (i, (g, w)) in got.iter().zip(&c.out).enumerate() {
        if let Some(l) = &w.labels {
            assert_eq!(&g.labels, l, "{ctx_name}: labels of entry {i}");
        }
        if let Some(ts) = &w.ts {
            assert_eq!(g.ts, time(ts), "{ctx_name}: ts of entry {i}");
        }
        if let Some(line) = &w.line {
            assert_eq!(&g.line, line, "{ctx_name}: line of entry {i}");
        }
        if let Some(m) = &w.metadata {
            assert_eq!(&g.metadata, m, "{ctx_name}: metadata of entry {i}");
        }
        for (k, v) in &w.extracted {
            match k.strip_prefix('!') {
                // `!name:` means the key must be absent.
                Some(absent) => assert!(
                    !g.extracted.contains_key(absent),
                    "{ctx_name}: extracted {absent} of entry {i} should be absent"
                ),
                None => assert_eq!(
                    g.extracted.get(k.as_str()),
                    Some(&value(v)),
                    "{ctx_name}: extracted {k} of entry {i}"
                ),
            }
        }
    }
    for (reason, n) in &c.dropped {
        assert_eq!(metrics.dropped(reason), *n, "{ctx_name}: dropped {reason}");
    }
    if let Some(want) = &c.series {
        let db = MemStorage::new();
        metrics.append_to(&db, 1_000).expect("append");
        let q = db.querier(0, 2_000).expect("querier");
        let mut got: BTreeMap<String, f64> = BTreeMap::new();
        for s in q.select(&[]).expect("select") {
            got.insert(s.labels.to_string(), s.samples[0].v);
        }
        let want: BTreeMap<String, f64> = want
            .iter()
            .map(|s| {
                let pairs: Vec<(&str, &str)> = s
                    .labels
                    .iter()
                    .map(|(n, v)| (n.as_str(), v.as_str()))
                    .collect();
                (
                    Labels::from_pairs(&pairs).expect("labels").to_string(),
                    s.value,
                )
            })
            .collect();
        assert_eq!(got, want, "{ctx_name}: series");
    }
}

#[test]
fn stage_cases() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/stages");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("case directory")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "yaml"))
        .collect();
    files.sort();
    assert!(!files.is_empty(), "no case files in {}", dir.display());
    let mut n = 0;
    for f in files {
        let text = std::fs::read_to_string(&f).expect("read");
        let name = f
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .into_owned();
        let cases: Vec<Case> =
            serde_yaml_ng::from_str(&text).unwrap_or_else(|e| panic!("{name}: {e}"));
        for c in &cases {
            run_case(&name, c);
            n += 1;
        }
    }
    assert!(n > 0);
}

#[test]
fn pipelines_move_between_threads() {
    fn send<T: Send>() {}
    send::<Pipeline>();
    send::<PipelineMetrics>();
}

#[test]
fn the_support_table_names_every_stage() {
    let table = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("STAGES.md"))
        .expect("STAGES.md");
    for name in super::stage_names() {
        assert!(
            table.contains(&format!("`{name}`")),
            "STAGES.md lacks {name}"
        );
    }
}
