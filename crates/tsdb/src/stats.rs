//! Snapshots of the database's figures for `/metrics` and the status pages: what the layers
//! above may know of the head and the blocks, copied out, so they never hold or reach into
//! the engine's state.

use std::collections::HashMap;
use std::sync::atomic::Ordering;

use bongsu_model::METRIC_NAME;

use crate::Db;

/// Figures about the database at one moment.
#[derive(Debug, Clone, Default)]
pub struct DbStats {
    pub head_series: u64,
    /// `i64::MAX` while the head is empty.
    pub head_min_time: i64,
    /// `i64::MIN` while the head is empty.
    pub head_max_time: i64,
    pub blocks: usize,
    pub blocks_bytes: u64,
    pub wal_bytes: u64,
    pub head_chunks_bytes: u64,
    /// The oldest sample's time over head and blocks, if any.
    pub min_time: Option<i64>,
    /// Counters since the database was opened.
    pub samples_appended: u64,
    /// Native histogram samples appended (Prometheus' `type="histogram"`).
    pub histograms_appended: u64,
    pub out_of_order_samples: u64,
    pub out_of_bounds_samples: u64,
    /// Histogram samples refused as out of order / out of bounds (`type="histogram"`).
    pub out_of_order_histograms: u64,
    pub out_of_bounds_histograms: u64,
    pub series_created: u64,
    pub series_removed: u64,
    /// Chunks in the head, open and closed.
    pub head_chunks: u64,
}

/// The head's cardinality, as Prometheus' `/api/v1/status/tsdb` reports it: totals, and the
/// largest entries of each list, by count then name.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct HeadCardinality {
    pub num_series: u64,
    pub num_label_pairs: u64,
    pub chunk_count: u64,
    /// `i64::MAX`/`i64::MIN` while the head is empty.
    pub min_time: i64,
    pub max_time: i64,
    pub series_count_by_metric_name: Vec<(String, u64)>,
    pub label_value_count_by_label_name: Vec<(String, u64)>,
    pub memory_in_bytes_by_label_name: Vec<(String, u64)>,
    pub series_count_by_label_value_pair: Vec<(String, u64)>,
}

impl Db {
    pub fn stats(&self) -> DbStats {
        let head = self.head();
        let blocks = self.blocks();
        let wal_bytes = head.wal().as_ref().map_or(0, |w| w.size_bytes());
        let head_min = head.min_time();
        let block_min = blocks.first().map(|b| b.meta().min_time);
        let min_time = match (block_min, head_min) {
            (Some(b), h) => Some(b.min(h)),
            (None, i64::MAX) => None,
            (None, h) => Some(h),
        };
        let counter = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        DbStats {
            head_series: head.num_series(),
            head_min_time: head_min,
            head_max_time: head.max_time(),
            blocks: blocks.len(),
            blocks_bytes: blocks.iter().map(|b| b.size()).sum(),
            wal_bytes,
            head_chunks_bytes: head.chunk_disk_size(),
            min_time,
            samples_appended: counter(&head.stats.samples_appended),
            histograms_appended: counter(&head.stats.histograms_appended),
            out_of_order_samples: counter(&head.stats.out_of_order),
            out_of_bounds_samples: counter(&head.stats.out_of_bounds),
            out_of_order_histograms: counter(&head.stats.out_of_order_histograms),
            out_of_bounds_histograms: counter(&head.stats.out_of_bounds_histograms),
            series_created: counter(&head.stats.series_created),
            series_removed: counter(&head.stats.series_removed),
            head_chunks: counter(&head.stats.chunks),
        }
    }

    /// Walks every head series once; lists keep their `limit` largest entries.
    pub fn head_cardinality(&self, limit: usize) -> HeadCardinality {
        let head = self.head();
        // label name → label value → series count
        let mut pairs: HashMap<String, HashMap<String, u64>> = HashMap::new();
        let (mut chunks, mut series) = (0u64, 0u64);
        head.for_each_series(|ms| {
            series += 1;
            chunks += ms.num_chunks() as u64;
            for l in ms.labels.iter() {
                *pairs
                    .entry(l.name.to_string())
                    .or_default()
                    .entry(l.value.to_string())
                    .or_default() += 1;
            }
        });
        let mut by_metric = Vec::new();
        let mut values_by_name = Vec::new();
        let mut bytes_by_name = Vec::new();
        let mut by_pair = Vec::new();
        let mut num_pairs = 0u64;
        for (name, values) in &pairs {
            num_pairs += values.len() as u64;
            values_by_name.push((name.clone(), values.len() as u64));
            let mut bytes = 0u64;
            for (value, &n) in values {
                if name == METRIC_NAME {
                    by_metric.push((value.clone(), n));
                }
                by_pair.push((format!("{name}={value}"), n));
                bytes += value.len() as u64 * n;
            }
            bytes_by_name.push((name.clone(), bytes));
        }
        let top = |mut v: Vec<(String, u64)>| {
            v.sort_by(|a, b| b.1.cmp(&a.1).then_with(|| a.0.cmp(&b.0)));
            v.truncate(limit);
            v
        };
        let empty = series == 0;
        HeadCardinality {
            num_series: series,
            num_label_pairs: num_pairs,
            chunk_count: chunks,
            min_time: if empty { i64::MAX } else { head.min_time() },
            max_time: if empty { i64::MIN } else { head.max_time() },
            series_count_by_metric_name: top(by_metric),
            label_value_count_by_label_name: top(values_by_name),
            memory_in_bytes_by_label_name: top(bytes_by_name),
            series_count_by_label_value_pair: top(by_pair),
        }
    }
}
