//! Resident memory of the head per active series.
//!
//! Creates `HEAD_MEMORY_SERIES` (default 1,000,000) node_exporter-shaped series (see
//! `support/node_series.rs`) in a `Db` in a temporary directory, WAL on, and appends
//! `HEAD_MEMORY_SAMPLES` (default 180) scrapes of them through `Db` appenders, 10,000 samples
//! per commit (the first scrape by label set, the others by ref, as a scraper does). 180
//! samples at 15 s leave every series with one full chunk in `chunks_head/` and an open chunk
//! of 60 samples, the average fill of an open chunk over its life.
//!
//! Reports, from `/proc/self/status`, the growth of VmRSS (and RssAnon / RssFile) per series,
//! after series creation and after all samples; the same after `malloc_trim(0)` (memory the
//! allocator holds but the head does not); the live heap bytes the head allocated (counted by
//! a wrapping global allocator, so allocator overhead and free lists are not in it); and the
//! head chunk files' bytes.
//!
//! `cargo bench --bench head_memory` (release); `HEAD_MEMORY_SERIES=100000` for a quick run.

#[path = "support/node_series.rs"]
mod node_series;

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicIsize, Ordering};
use std::time::Instant;

use node_series::{next_value, series_labels, templates, timestamp};

use bongsu_storage::{Appendable, SeriesRef};
use bongsu_tsdb::{Db, DbOptions};

/// Counts live heap bytes, as requested by the program (no allocator overhead).
struct Counting;

static LIVE_BYTES: AtomicIsize = AtomicIsize::new(0);
static LIVE_ALLOCS: AtomicIsize = AtomicIsize::new(0);

// SAFETY: every call is forwarded to `System` unchanged; only counters are added.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc(layout);
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
            LIVE_ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        System.dealloc(ptr, layout);
        LIVE_BYTES.fetch_sub(layout.size() as isize, Ordering::Relaxed);
        LIVE_ALLOCS.fetch_sub(1, Ordering::Relaxed);
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        let p = System.alloc_zeroed(layout);
        if !p.is_null() {
            LIVE_BYTES.fetch_add(layout.size() as isize, Ordering::Relaxed);
            LIVE_ALLOCS.fetch_add(1, Ordering::Relaxed);
        }
        p
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        let p = System.realloc(ptr, layout, new_size);
        if !p.is_null() {
            LIVE_BYTES.fetch_add(
                new_size as isize - layout.size() as isize,
                Ordering::Relaxed,
            );
        }
        p
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[cfg(all(target_os = "linux", target_env = "gnu"))]
fn malloc_trim() {
    extern "C" {
        fn malloc_trim(pad: usize) -> i32;
    }
    // SAFETY: glibc's malloc_trim only releases free memory back to the kernel.
    unsafe {
        malloc_trim(0);
    }
}

#[cfg(not(all(target_os = "linux", target_env = "gnu")))]
fn malloc_trim() {}

/// One reading of the process' memory.
#[derive(Clone, Copy, Default)]
struct Mem {
    rss: i64,
    anon: i64,
    file: i64,
    heap: i64,
    allocs: i64,
}

impl Mem {
    fn now() -> Mem {
        let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
        let kib = |key: &str| -> i64 {
            status
                .lines()
                .find_map(|l| l.strip_prefix(key))
                .and_then(|rest| rest.split_whitespace().next())
                .and_then(|n| n.parse::<i64>().ok())
                .map_or(0, |n| n * 1024)
        };
        Mem {
            rss: kib("VmRSS:"),
            anon: kib("RssAnon:"),
            file: kib("RssFile:"),
            heap: LIVE_BYTES.load(Ordering::Relaxed) as i64,
            allocs: LIVE_ALLOCS.load(Ordering::Relaxed) as i64,
        }
    }

    fn report(&self, what: &str, base: &Mem, series: usize) {
        let per = |a: i64, b: i64| (a - b) as f64 / series as f64;
        println!(
            "  {what:34} VmRSS {:7.1} B/series (RssAnon {:7.1}, RssFile {:5.1}); \
             live heap {:7.1} B/series in {:.2} allocations/series",
            per(self.rss, base.rss),
            per(self.anon, base.anon),
            per(self.file, base.file),
            per(self.heap, base.heap),
            per(self.allocs, base.allocs),
        );
    }
}

fn env_usize(name: &str, default: usize) -> usize {
    match std::env::var(name) {
        Ok(v) => v
            .parse()
            .unwrap_or_else(|_| panic!("{name}={v:?} is not a number")),
        Err(_) => default,
    }
}

/// Bytes of the regular files under `dir`: apparent size and blocks actually allocated.
fn dir_bytes(dir: &std::path::Path) -> (u64, u64) {
    use std::os::unix::fs::MetadataExt;
    let mut total = (0, 0);
    if let Ok(entries) = std::fs::read_dir(dir) {
        for e in entries.flatten() {
            if let Ok(m) = e.metadata() {
                if m.is_file() {
                    total.0 += m.len();
                    total.1 += m.blocks() * 512;
                } else if m.is_dir() {
                    let (a, b) = dir_bytes(&e.path());
                    total.0 += a;
                    total.1 += b;
                }
            }
        }
    }
    total
}

const BATCH: usize = 10_000;

fn main() {
    // `cargo bench` passes `--bench`; this binary takes no arguments.
    let n = env_usize("HEAD_MEMORY_SERIES", 1_000_000);
    let rounds = env_usize("HEAD_MEMORY_SAMPLES", 180) as u64;
    assert!(
        n > 0 && rounds > 0,
        "need at least one series and one sample"
    );

    let templates = templates();
    let dir = tempfile::tempdir().expect("temp dir");
    let db = Db::open(dir.path(), DbOptions::default()).expect("db opens");
    // The bench's own per-series state, allocated and touched before the baseline reading.
    let mut refs: Vec<SeriesRef> = vec![0; n];
    let mut values: Vec<f64> = vec![0.0; n];
    malloc_trim();
    let base = Mem::now();
    let started = Instant::now();

    for start in (0..n).step_by(BATCH) {
        let end = (start + BATCH).min(n);
        let mut app = db.appender();
        for i in start..end {
            let labels = series_labels(&templates, i);
            values[i] = next_value(&templates, i, 0, 0.0);
            refs[i] = app
                .append(&labels, timestamp(&templates, i, 0), values[i])
                .expect("append");
        }
        app.commit().expect("commit");
    }
    let created = Mem::now();
    let create_secs = started.elapsed().as_secs_f64();

    let appending = Instant::now();
    for round in 1..rounds {
        for start in (0..n).step_by(BATCH) {
            let end = (start + BATCH).min(n);
            let mut app = db.appender();
            for i in start..end {
                values[i] = next_value(&templates, i, round, values[i]);
                app.append_ref(refs[i], timestamp(&templates, i, round), values[i])
                    .expect("append_ref");
            }
            app.commit().expect("commit");
        }
    }
    let append_secs = appending.elapsed().as_secs_f64();
    let filled = Mem::now();
    malloc_trim();
    let trimmed = Mem::now();

    let stats = db.stats();
    assert_eq!(stats.head_series, n as u64, "every series is in the head");
    let (chunk_apparent, chunk_alloc) = dir_bytes(&dir.path().join("chunks_head"));
    let (wal_apparent, _) = dir_bytes(&dir.path().join("wal"));
    let samples = n as u64 * rounds;

    println!(
        "head memory: {n} series ({} per host page), {rounds} samples each ({samples} samples); \
         created in {create_secs:.1}s, then {:.0} samples/s appended by ref",
        templates.len(),
        (samples - n as u64) as f64 / append_secs
    );
    created.report("after creating the series", &base, n);
    filled.report("after all samples", &base, n);
    trimmed.report("after all samples + malloc_trim", &base, n);
    println!(
        "  chunks_head: {} B allocated on disk ({:.1} B/series, {:.3} B/sample), {} B apparent \
         (preallocated files), head_chunks_bytes {}; WAL {} B ({:.2} B/sample)",
        chunk_alloc,
        chunk_alloc as f64 / n as f64,
        chunk_alloc as f64 / samples as f64,
        chunk_apparent,
        stats.head_chunks_bytes,
        wal_apparent,
        wal_apparent as f64 / samples as f64,
    );
    println!(
        "RESULT head_memory series={n} samples_per_series={rounds} \
         rss_bytes_per_series={:.0} rss_anon_bytes_per_series={:.0} \
         rss_bytes_per_series_trimmed={:.0} heap_bytes_per_series={:.0}",
        (filled.rss - base.rss) as f64 / n as f64,
        (filled.anon - base.anon) as f64 / n as f64,
        (trimmed.rss - base.rss) as f64 / n as f64,
        (trimmed.heap - base.heap) as f64 / n as f64,
    );
    drop(db);
}
