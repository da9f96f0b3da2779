//! Rule evaluation cost: one evaluation of a group of 1,000 alerting rules over 10,000 series,
//! the target load (Prometheus' default 15 s interval would give it 15 s).
//!
//! The data: 100 metrics (`m0` … `m99`) × 100 instances, 5 minutes of samples every 15 s, in
//! a `Db` in a temporary directory. Rule `i` is `m{i % 100} > threshold` with `for: 5m`, so
//! each selects 100 series and about half of its series are alerts; the first evaluation (not
//! timed) creates the alerts, the timed ones update them and write `ALERTS` and
//! `ALERTS_FOR_STATE` (2 × ~50,000 samples per evaluation, each at a new timestamp).
//!
//! CPU share at a 15 s interval = time per evaluation / 15 s (one core).

use std::collections::BTreeMap;
use std::time::Duration;

use criterion::{criterion_group, Criterion};

use bongsu_model::Labels;
use bongsu_promql::Engine;
use bongsu_relabel::NameValidationScheme;
use bongsu_rules::group::{EvalContext, Group, GroupSettings};
use bongsu_rules::{parse, PromTemplates};
use bongsu_storage::Appendable;
use bongsu_tsdb::{Db, DbOptions};

const METRICS: usize = 100;
const INSTANCES: usize = 100;
const RULES: usize = 1_000;
const STEP_MS: i64 = 15_000;
const T0: i64 = 1_700_000_000_000;

fn bench_rules(c: &mut Criterion) {
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path(), DbOptions::default()).expect("db opens");
    let mut app = db.appender();
    for m in 0..METRICS {
        for i in 0..INSTANCES {
            let name = format!("m{m}");
            let instance = format!("host-{i}:9100");
            let labels = Labels::from_pairs(&[
                ("__name__", &name),
                ("instance", &instance),
                ("job", "node"),
            ])
            .expect("labels");
            for k in 0..20 {
                app.append(&labels, T0 + k * STEP_MS, (i as f64) / 100.0)
                    .expect("append");
            }
        }
    }
    app.commit().expect("commit");

    let mut text = String::from("groups:\n- name: bench\n  rules:\n");
    for r in 0..RULES {
        text.push_str(&format!(
            "  - alert: A{r}\n    expr: m{} > {}\n    for: 5m\n    labels: {{severity: page}}\n",
            r % METRICS,
            0.5 + (r % 10) as f64 / 100.0
        ));
    }
    let def = parse(&text, NameValidationScheme::Utf8, &PromTemplates::default())
        .expect("rules parse")
        .groups
        .remove(0);
    let ext = BTreeMap::new();
    let group = Group::new(
        "bench.yml",
        def,
        &GroupSettings {
            default_interval: Duration::from_secs(15),
            external_labels: &ext,
            external_url: "",
            restored: true,
        },
    );
    let engine = Engine::default();
    let ctx = EvalContext {
        db: &db,
        engine: &engine,
        templates: &PromTemplates::default(),
        default_query_offset: Duration::ZERO,
        resend_delay: Duration::from_secs(60),
        sink: None,
        logs: None,
    };
    let mut ts = T0 + 19 * STEP_MS;
    group.eval(&ctx, ts);

    let mut g = c.benchmark_group("rules");
    g.sample_size(10)
        .warm_up_time(Duration::from_secs(1))
        .measurement_time(Duration::from_secs(20));
    g.bench_function("eval_1000_alerting_rules_10k_series", |b| {
        b.iter(|| {
            // Each evaluation at a new millisecond, still within the data's lookback.
            ts += 1;
            group.eval(&ctx, ts);
        })
    });
    g.finish();
}

criterion_group!(benches, bench_rules);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
