//! The crate graph is the architecture: this test reads the resolved dependency graph from
//! `cargo metadata` and fails when a library crate gains a dependency its layer must not have
//! (ARCHITECTURE.md lists the same rules as Architecture Invariants).
//!
//! Two kinds of rule, both over normal (non-dev, non-build) dependencies:
//! - `ALLOWED`: the bongsu crates each library crate may depend on, directly. A new edge
//!   between our crates is a design decision: make it here, in ARCHITECTURE.md, on purpose.
//! - `FORBIDDEN`: crates (ours or external) a library crate must not reach even transitively,
//!   e.g. no HTTP stack or async runtime under the storage engine.

use std::collections::{BTreeMap, BTreeSet};
use std::process::Command;

use serde_json::Value;

/// Each library crate and the bongsu crates it may depend on directly.
const ALLOWED: &[(&str, &[&str])] = &[
    ("bongsu-model", &[]),
    ("bongsu-yaml", &[]),
    ("bongsu-httpclient", &[]),
    ("bongsu-storage", &["bongsu-model"]),
    ("bongsu-exposition", &["bongsu-model"]),
    ("bongsu-relabel", &["bongsu-model"]),
    ("bongsu-discovery", &["bongsu-model"]),
    ("bongsu-gotmpl", &["bongsu-model"]),
    (
        "bongsu-logpipeline",
        &["bongsu-model", "bongsu-gotmpl", "bongsu-logql"],
    ),
    ("bongsu-telemetry", &[]),
    (
        "bongsu-tsdb",
        &["bongsu-model", "bongsu-storage", "bongsu-telemetry"],
    ),
    (
        "bongsu-logstore",
        &["bongsu-model", "bongsu-storage", "bongsu-tsdb"],
    ),
    (
        "bongsu-promql",
        &["bongsu-model", "bongsu-storage", "bongsu-telemetry"],
    ),
    (
        "bongsu-logengine",
        &[
            "bongsu-model",
            "bongsu-promql",
            "bongsu-logql",
            "bongsu-logpipeline",
            "bongsu-logstore",
        ],
    ),
    (
        "bongsu-config",
        &[
            "bongsu-model",
            "bongsu-yaml",
            "bongsu-relabel",
            "bongsu-httpclient",
            "bongsu-discovery",
        ],
    ),
    (
        "bongsu-rules",
        &[
            "bongsu-model",
            "bongsu-storage",
            "bongsu-promql",
            "bongsu-relabel",
            "bongsu-config",
            "bongsu-gotmpl",
            "bongsu-telemetry",
            // LogQL rules: the parser only; queries run through `rules::LogQuerier`.
            "bongsu-logql",
        ],
    ),
    (
        "bongsu-notifier",
        &[
            "bongsu-model",
            "bongsu-relabel",
            "bongsu-config",
            "bongsu-httpclient",
            "bongsu-discovery",
            "bongsu-telemetry",
        ],
    ),
    (
        "bongsu-scrape",
        &[
            "bongsu-model",
            "bongsu-storage",
            "bongsu-exposition",
            "bongsu-relabel",
            "bongsu-config",
            "bongsu-httpclient",
            "bongsu-discovery",
            "bongsu-telemetry",
        ],
    ),
    ("bongsu-ingest", &["bongsu-model", "bongsu-storage"]),
    (
        "bongsu-logcollect",
        &[
            "bongsu-model",
            "bongsu-yaml",
            "bongsu-storage",
            "bongsu-relabel",
            "bongsu-httpclient",
            "bongsu-discovery",
            "bongsu-gotmpl",
            "bongsu-logql",
            "bongsu-logpipeline",
            "bongsu-ingest",
            "bongsu-telemetry",
        ],
    ),
    ("bongsu-logql", &["bongsu-model"]),
    // Anomaly detection: models over values, detectors over PromQL results and an Appender.
    (
        "bongsu-anomaly",
        &[
            "bongsu-model",
            "bongsu-storage",
            "bongsu-promql",
            "bongsu-telemetry",
        ],
    ),
    (
        "bongsu-remoteread",
        &[
            "bongsu-model",
            "bongsu-storage",
            "bongsu-config",
            "bongsu-httpclient",
            "bongsu-telemetry",
            "bongsu-ingest",
        ],
    ),
    (
        "bongsu-remotewrite",
        &[
            "bongsu-model",
            "bongsu-tsdb",
            "bongsu-relabel",
            "bongsu-config",
            "bongsu-httpclient",
            "bongsu-telemetry",
            "bongsu-ingest",
        ],
    ),
    (
        "bongsu-alertmanager",
        &[
            "bongsu-model",
            "bongsu-yaml",
            "bongsu-httpclient",
            "bongsu-gotmpl",
            "bongsu-telemetry",
        ],
    ),
    (
        "bongsu-api",
        &[
            "bongsu-model",
            "bongsu-storage",
            "bongsu-remoteread",
            "bongsu-tsdb",
            "bongsu-promql",
            "bongsu-rules",
            "bongsu-notifier",
            "bongsu-scrape",
            "bongsu-ingest",
            "bongsu-alertmanager",
            "bongsu-telemetry",
            "bongsu-logql",
            "bongsu-logengine",
            "bongsu-logstore",
        ],
    ),
];

/// HTTP servers and clients.
const HTTP: &[&str] = &["axum", "hyper", "reqwest", "tower-http", "h2"];

/// What a crate must not reach through any path of normal dependencies.
const FORBIDDEN: &[(&str, &[&[&str]])] = &[
    // The data model is the bottom layer: no I/O, no runtime, no HTTP.
    ("bongsu-model", &[HTTP, &["tokio"]]),
    // The storage interface and engine know nothing of HTTP, PromQL or an async runtime.
    ("bongsu-storage", &[HTTP, &["tokio", "promql-parser"]]),
    (
        "bongsu-tsdb",
        &[HTTP, &["tokio", "promql-parser", "bongsu-promql"]],
    ),
    // Log pipeline stages work on one line at a time: no store, no HTTP, no runtime.
    (
        "bongsu-logpipeline",
        &[HTTP, &["tokio", "bongsu-storage", "bongsu-tsdb"]],
    ),
    // The log store: no HTTP, no query language (LogQL sits on top of it), no async runtime.
    (
        "bongsu-logstore",
        &[
            HTTP,
            &["tokio", "promql-parser", "bongsu-promql", "bongsu-logql"],
        ],
    ),
    // LogQL evaluation runs on blocking threads: no HTTP, no async runtime.
    ("bongsu-logengine", &[HTTP, &["tokio"]]),
    // The query engine sees storage only through the traits, and serves no HTTP.
    ("bongsu-promql", &[HTTP, &["tokio", "bongsu-tsdb"]]),
    // Rules evaluate through the engine and the storage traits, never the engine's files;
    // LogQL rules through `LogQuerier`, never the log store or its evaluator.
    (
        "bongsu-rules",
        &[&["axum", "bongsu-tsdb", "bongsu-logstore", "bongsu-logengine"]],
    ),
    // Scrapes and remote writes append through the storage traits.
    (
        "bongsu-scrape",
        &[&["bongsu-tsdb", "bongsu-promql", "axum"]],
    ),
    ("bongsu-ingest", &[&["bongsu-tsdb", "bongsu-promql"]]),
    // Collectors append through the storage traits: no store files, no query engines.
    (
        "bongsu-logcollect",
        &[&[
            "bongsu-tsdb",
            "bongsu-logstore",
            "bongsu-promql",
            "bongsu-logengine",
        ]],
    ),
    // Detectors query through the engine and write through the storage traits: no store
    // files, no HTTP, no rules or alerting of their own (alerting rules read their output).
    (
        "bongsu-anomaly",
        &[
            &[
                "bongsu-tsdb",
                "bongsu-rules",
                "bongsu-scrape",
                "bongsu-notifier",
                "bongsu-alertmanager",
                "bongsu-api",
            ],
            HTTP,
        ],
    ),
    // The sender reads the WAL and sends; it never queries, evaluates rules or scrapes.
    // The remote-read client merges through the storage traits: no store files, no engine.
    (
        "bongsu-remoteread",
        &[&[
            "bongsu-tsdb",
            "bongsu-promql",
            "bongsu-rules",
            "bongsu-scrape",
            "bongsu-notifier",
            "bongsu-api",
        ]],
    ),
    (
        "bongsu-remotewrite",
        &[&[
            "bongsu-promql",
            "bongsu-rules",
            "bongsu-scrape",
            "bongsu-notifier",
            "bongsu-api",
        ]],
    ),
    // Notification never sees storage, the query engine or rule evaluation.
    (
        "bongsu-notifier",
        &[&[
            "bongsu-storage",
            "bongsu-tsdb",
            "bongsu-promql",
            "bongsu-rules",
            "bongsu-alertmanager",
        ]],
    ),
    (
        "bongsu-alertmanager",
        &[&[
            "bongsu-storage",
            "bongsu-tsdb",
            "bongsu-promql",
            "bongsu-rules",
            "bongsu-config",
            "bongsu-notifier",
            "bongsu-scrape",
            "bongsu-ingest",
        ]],
    ),
];

/// Package name → names of its normal dependencies, for the host platform.
fn normal_dependency_graph() -> BTreeMap<String, BTreeSet<String>> {
    let host = rustc_host();
    let out = Command::new(env!("CARGO"))
        .args(["metadata", "--format-version", "1", "--locked", "--offline"])
        .args(["--filter-platform", &host])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .output()
        .expect("running cargo metadata");
    assert!(
        out.status.success(),
        "cargo metadata failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let meta: Value = serde_json::from_slice(&out.stdout).expect("cargo metadata JSON");
    let name_of: BTreeMap<&str, &str> = meta["packages"]
        .as_array()
        .expect("packages")
        .iter()
        .map(|p| (p["id"].as_str().unwrap(), p["name"].as_str().unwrap()))
        .collect();
    let mut graph = BTreeMap::new();
    for node in meta["resolve"]["nodes"].as_array().expect("resolve nodes") {
        let deps = node["deps"]
            .as_array()
            .expect("deps")
            .iter()
            .filter(|d| {
                d["dep_kinds"]
                    .as_array()
                    .is_some_and(|kinds| kinds.iter().any(|k| k["kind"].is_null()))
            })
            .map(|d| name_of[d["pkg"].as_str().unwrap()].to_string())
            .collect();
        graph.insert(name_of[node["id"].as_str().unwrap()].to_string(), deps);
    }
    graph
}

fn rustc_host() -> String {
    let out = Command::new("rustc")
        .arg("-vV")
        .output()
        .expect("running rustc -vV");
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .find_map(|l| l.strip_prefix("host: ").map(str::to_string))
        .expect("rustc -vV names the host")
}

/// Every crate `from` reaches, with one path to each (for the failure message).
fn reachable(
    graph: &BTreeMap<String, BTreeSet<String>>,
    from: &str,
) -> BTreeMap<String, Vec<String>> {
    let mut paths = BTreeMap::new();
    let mut stack = vec![(from.to_string(), vec![from.to_string()])];
    while let Some((name, path)) = stack.pop() {
        for dep in graph.get(&name).into_iter().flatten() {
            if !paths.contains_key(dep) {
                let mut p = path.clone();
                p.push(dep.clone());
                paths.insert(dep.clone(), p.clone());
                stack.push((dep.clone(), p));
            }
        }
    }
    paths
}

#[test]
fn library_crates_depend_only_on_their_allowed_layers() {
    let graph = normal_dependency_graph();
    let ours: BTreeSet<&str> = graph
        .keys()
        .map(String::as_str)
        .filter(|n| n.starts_with("bongsu-"))
        .collect();
    let listed: BTreeSet<&str> = ALLOWED.iter().map(|(c, _)| *c).collect();
    assert_eq!(
        ours, listed,
        "every library crate needs its line in ALLOWED (and in ARCHITECTURE.md)"
    );
    let mut errors = Vec::new();
    for (krate, allowed) in ALLOWED {
        for dep in &graph[*krate] {
            if dep.starts_with("bongsu") && !allowed.contains(&dep.as_str()) {
                errors.push(format!(
                    "{krate} depends on {dep}, which its layer must not"
                ));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}

#[test]
fn no_layer_reaches_what_it_must_not() {
    let graph = normal_dependency_graph();
    let mut errors = Vec::new();
    for (krate, lists) in FORBIDDEN {
        let reached = reachable(&graph, krate);
        for forbidden in lists.iter().copied().flatten() {
            if let Some(path) = reached.get(*forbidden) {
                errors.push(format!("{krate} reaches {forbidden}: {}", path.join(" → ")));
            }
        }
    }
    assert!(errors.is_empty(), "{}", errors.join("\n"));
}
