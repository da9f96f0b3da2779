//! Head append throughput (samples/s) through `Db` appenders, WAL on (the default), into a
//! temporary directory.
//!
//! The series are node_exporter-shaped (see `support/node_series.rs`). Every iteration is one
//! commit holding one sample per series, as one scrape is:
//!
//! - `labels/1000`: 1,000 samples appended by label set (the path of a scrape without a
//!   series cache, and of the importer).
//! - `ref/1000`, `ref/10000`: by the ref the first scrape returned, as a scraper appends.
//! - `ref_2threads/10000`: two threads, each committing 10,000 samples of its own series at
//!   once (throughput counts both). Each thread is one core; the machine may have fewer free.
//! - `create/1000`: the first scrape of 1,000 new series (series creation, WAL series records).
//!
//! Single-threaded figures are per core. The head grows for the whole run (no compaction), as
//! it does between two block cuts.

#[path = "support/node_series.rs"]
mod node_series;

use std::time::Duration;

use criterion::{criterion_group, BenchmarkId, Criterion, Throughput};
use node_series::{next_value, series_labels, templates, timestamp, Template};

use bongsu_model::Labels;
use bongsu_storage::{Appendable, SeriesRef};
use bongsu_tsdb::{Db, DbOptions};

/// Values are precomputed for this many scrapes and reused cyclically (counters then look
/// reset, which real counters also do), so the timed loop does no value arithmetic.
const VALUE_ROUNDS: usize = 120;

/// A set of series in one `Db`, with precomputed samples.
struct Fleet {
    _dir: tempfile::TempDir,
    db: Db,
    templates: Vec<Template>,
    labels: Vec<Labels>,
    refs: Vec<SeriesRef>,
    /// `values[round % VALUE_ROUNDS][series]`.
    values: Vec<Vec<f64>>,
    round: u64,
}

impl Fleet {
    /// `n` series, with their first scrape appended (so they exist and have refs).
    fn new(n: usize) -> Fleet {
        let dir = tempfile::tempdir().expect("temp dir");
        let db = Db::open(dir.path(), DbOptions::default()).expect("db opens");
        let templates = templates();
        let labels: Vec<Labels> = (0..n).map(|i| series_labels(&templates, i)).collect();
        let mut values = Vec::with_capacity(VALUE_ROUNDS);
        let mut prev = vec![0.0; n];
        for round in 0..VALUE_ROUNDS as u64 {
            for (i, p) in prev.iter_mut().enumerate() {
                *p = next_value(&templates, i, round, *p);
            }
            values.push(prev.clone());
        }
        let mut fleet = Fleet {
            _dir: dir,
            db,
            templates,
            labels,
            refs: Vec::new(),
            values,
            round: 0,
        };
        let mut app = fleet.db.appender();
        for i in 0..n {
            let (t, v) = fleet.sample(i);
            fleet
                .refs
                .push(app.append(&fleet.labels[i], t, v).expect("append"));
        }
        app.commit().expect("commit");
        drop(app);
        fleet.round = 1;
        fleet
    }

    fn sample(&self, i: usize) -> (i64, f64) {
        (
            timestamp(&self.templates, i, self.round),
            self.values[self.round as usize % VALUE_ROUNDS][i],
        )
    }

    /// One scrape of series `range`, appended by ref, as one commit.
    fn scrape_ref(&self, range: std::ops::Range<usize>) {
        let mut app = self.db.appender();
        for i in range {
            let (t, v) = self.sample(i);
            app.append_ref(self.refs[i], t, v).expect("append_ref");
        }
        app.commit().expect("commit");
    }

    /// One scrape of all series, appended by label set, as one commit.
    fn scrape_labels(&self) {
        let mut app = self.db.appender();
        for (i, labels) in self.labels.iter().enumerate() {
            let (t, v) = self.sample(i);
            app.append(labels, t, v).expect("append");
        }
        app.commit().expect("commit");
    }
}

fn bench_head(c: &mut Criterion) {
    let mut g = c.benchmark_group("head_append");
    g.sample_size(30)
        .warm_up_time(Duration::from_secs(2))
        .measurement_time(Duration::from_secs(6));

    g.throughput(Throughput::Elements(1_000));
    let mut fleet = Fleet::new(1_000);
    g.bench_function(BenchmarkId::new("labels", 1_000), |b| {
        b.iter(|| {
            fleet.scrape_labels();
            fleet.round += 1;
        })
    });
    drop(fleet);

    let mut fleet = Fleet::new(1_000);
    g.bench_function(BenchmarkId::new("ref", 1_000), |b| {
        b.iter(|| {
            fleet.scrape_ref(0..1_000);
            fleet.round += 1;
        })
    });
    drop(fleet);

    g.throughput(Throughput::Elements(10_000));
    let mut fleet = Fleet::new(10_000);
    g.bench_function(BenchmarkId::new("ref", 10_000), |b| {
        b.iter(|| {
            fleet.scrape_ref(0..10_000);
            fleet.round += 1;
        })
    });
    drop(fleet);

    g.throughput(Throughput::Elements(20_000));
    let mut fleet = Fleet::new(20_000);
    g.bench_function(BenchmarkId::new("ref_2threads", 10_000), |b| {
        b.iter(|| {
            let f = &fleet;
            std::thread::scope(|s| {
                s.spawn(|| f.scrape_ref(0..10_000));
                s.spawn(|| f.scrape_ref(10_000..20_000));
            });
            fleet.round += 1;
        })
    });
    drop(fleet);

    // Series creation: every iteration is the first scrape of 1,000 series never seen before.
    g.throughput(Throughput::Elements(1_000));
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path(), DbOptions::default()).expect("db opens");
    let tpl = templates();
    let mut next = 0usize;
    g.bench_function(BenchmarkId::new("create", 1_000), |b| {
        b.iter_batched(
            || {
                let labels: Vec<Labels> = (next..next + 1_000)
                    .map(|i| series_labels(&tpl, i))
                    .collect();
                next += 1_000;
                labels
            },
            |labels| {
                let mut app = db.appender();
                for (i, l) in labels.iter().enumerate() {
                    app.append(l, node_series::T0, i as f64).expect("append");
                }
                app.commit().expect("commit");
            },
            criterion::BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, bench_head);

fn main() {
    benches();
    Criterion::default().configure_from_args().final_summary();
}
