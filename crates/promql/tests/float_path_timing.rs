//! Times float-only range queries over 500 series (ignored by default; for comparing builds):
//! `cargo test -p bongsu-promql --release --test float_path_timing -- --ignored --nocapture`.

use std::time::{Duration, Instant};

use bongsu_model::Labels;
use bongsu_promql::Engine;
use bongsu_storage::memory::MemStorage;
use bongsu_storage::Appendable;

#[test]
#[ignore]
fn float_path_timing() {
    let db = MemStorage::new();
    let mut app = db.appender();
    for s in 0..500 {
        let l = Labels::from_pairs(&[
            ("__name__", "m"),
            ("i", &s.to_string()),
            ("g", &(s % 10).to_string()),
        ])
        .unwrap();
        for k in 0..1440i64 {
            app.append(&l, k * 15_000, (k * (s % 7 + 1)) as f64)
                .unwrap();
        }
    }
    app.commit().unwrap();
    let engine = Engine::default();
    for q in [
        "m",
        "sum by (g) (rate(m[5m]))",
        "m * 2 + m",
        "m / ignoring(g) m",
        "max_over_time(m[10m])",
    ] {
        let mut best = Duration::MAX;
        for _ in 0..5 {
            let t = Instant::now();
            engine
                .range_query(&db, q, 3_600_000, 21_600_000, Duration::from_secs(60))
                .unwrap();
            best = best.min(t.elapsed());
        }
        println!("TIMING {q:<28} {:>8.2} ms", best.as_secs_f64() * 1000.0);
    }
}
