//! node_exporter-shaped series for the head benches.
//!
//! The series of one real node_exporter page (`../shared/bench/node_exporter_page.txt`, 507
//! series; `BONGSU_NODE_PAGE` overrides the path) are repeated once per host with `instance`
//! and `job` added, so label sets have `__name__`, `instance`, `job` and the page's own labels
//! (`cpu`, `mode`, `device`, `collector`, …) with their real variety. Without the page a
//! synthetic one of the same shape is used. Values start at the page's and move as the metric's
//! kind suggests (counters grow, gauges walk, 0/1 and info metrics stay constant), so chunk
//! sizes are realistic.

#![allow(dead_code)] // Each bench binary uses part of this module.

use std::path::{Path, PathBuf};

use bongsu_exposition::{Entry, Format, MetricType, Parser};
use bongsu_model::{Label, Labels};

/// Scrape interval of the generated samples.
pub const INTERVAL_MS: i64 = 15_000;
/// First sample time: aligned to a 2 h block range, so appends do not cross a range boundary
/// (which would cut chunks early) within the first two hours.
pub const T0: i64 = 1_700_006_400_000;

/// One series of the page, without `instance` and `job`.
pub struct Template {
    pub labels: Vec<(String, String)>,
    /// The value on the page.
    pub start: f64,
    /// A counter, or a histogram's or summary's counter-like part.
    pub counterish: bool,
}

fn page_text() -> Option<String> {
    let candidates = [
        std::env::var_os("BONGSU_NODE_PAGE").map(PathBuf::from),
        Some(Path::new(env!("CARGO_MANIFEST_DIR")).join("../shared/bench/node_exporter_page.txt")),
        Some(PathBuf::from("/work/shared/bench/node_exporter_page.txt")),
    ];
    candidates
        .into_iter()
        .flatten()
        .find_map(|p| std::fs::read_to_string(p).ok())
}

fn counterish(name: &str, declared_counter: bool) -> bool {
    declared_counter
        || ["_total", "_count", "_bucket", "_sum"]
            .iter()
            .any(|s| name.ends_with(s))
}

/// A page of the same shape as node_exporter's, for when the real one is not there.
fn synthetic_page() -> Vec<Template> {
    let mut out = Vec::new();
    let mut push = |labels: Vec<(&str, String)>, start: f64| {
        let name = labels[0].1.clone();
        out.push(Template {
            counterish: counterish(&name, false),
            labels: labels
                .into_iter()
                .map(|(n, v)| (n.to_string(), v))
                .collect(),
            start,
        });
    };
    for cpu in 0..2 {
        for mode in [
            "idle", "iowait", "irq", "nice", "softirq", "steal", "system", "user",
        ] {
            push(
                vec![
                    ("__name__", "node_cpu_seconds_total".into()),
                    ("cpu", cpu.to_string()),
                    ("mode", mode.into()),
                ],
                12_345.67,
            );
        }
    }
    for collector in 0..46 {
        push(
            vec![
                ("__name__", "node_scrape_collector_success".into()),
                ("collector", format!("collector{collector}")),
            ],
            1.0,
        );
        push(
            vec![
                ("__name__", "node_scrape_collector_duration_seconds".into()),
                ("collector", format!("collector{collector}")),
            ],
            0.000_123,
        );
    }
    for device in ["eth0", "eth1", "lo", "docker0"] {
        for m in 0..40 {
            push(
                vec![
                    ("__name__", format!("node_network_metric{m}_total")),
                    ("device", device.into()),
                ],
                1_234_567.0,
            );
        }
    }
    for m in 0..237 {
        push(
            vec![("__name__", format!("node_memory_metric{m}_bytes"))],
            1.5e9,
        );
    }
    out
}

/// The series of one host's page.
pub fn templates() -> Vec<Template> {
    let Some(text) = page_text() else {
        eprintln!("node_exporter page not found; using a synthetic page of the same shape");
        return synthetic_page();
    };
    let mut parser = Parser::new(text.as_bytes(), Format::PrometheusText);
    let mut out = Vec::new();
    let mut counters = std::collections::HashSet::new();
    while let Ok(Some(entry)) = parser.next_entry() {
        if let Entry::Type {
            metric,
            kind: MetricType::Counter,
        } = entry
        {
            counters.insert(metric.to_string());
        } else if let Entry::Series(s) = entry {
            let mut labels = vec![("__name__".to_string(), s.name.to_string())];
            labels.extend(
                s.labels
                    .iter()
                    .filter(|(_, v)| !v.is_empty())
                    .map(|(n, v)| (n.to_string(), v.to_string())),
            );
            let start = if s.value.is_finite() { s.value } else { 0.0 };
            out.push(Template {
                counterish: counterish(s.name, counters.contains(s.name)),
                labels,
                start,
            });
        }
    }
    if out.is_empty() {
        return synthetic_page();
    }
    out
}

/// Series `i` of a fleet: host `i / templates.len()` scraping template `i % templates.len()`.
pub fn series_labels(templates: &[Template], i: usize) -> Labels {
    let host = i / templates.len();
    let t = &templates[i % templates.len()];
    let mut labels: Vec<Label> = t
        .labels
        .iter()
        .map(|(n, v)| Label::new(n.as_str(), v.as_str()))
        .collect();
    labels.push(Label::new("instance", format!("host-{host:05}:9100")));
    labels.push(Label::new("job", "node"));
    Labels::new_series(labels).expect("generated label sets are valid")
}

/// Deterministic pseudo-random numbers (splitmix64 of a key), so runs are repeatable.
pub fn mix(mut x: u64) -> u64 {
    x = x.wrapping_add(0x9E37_79B9_7F4A_7C15);
    x = (x ^ (x >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
    x = (x ^ (x >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
    x ^ (x >> 31)
}

/// Timestamp of scrape `round` of series `i`: every host scrapes every 15 s at its own offset,
/// with a few milliseconds of jitter, as real scrapes have.
pub fn timestamp(templates: &[Template], i: usize, round: u64) -> i64 {
    let host = (i / templates.len()) as u64;
    let offset = (mix(host) % 10_000) as i64;
    let jitter = (mix(host << 32 | round) % 21) as i64 - 10;
    T0 + offset + round as i64 * INTERVAL_MS + jitter
}

/// How one series' value moves: the model of `../shared/bench/gen_node_dataset.py`.
struct Motion {
    is_int: bool,
    start: f64,
    counterish: bool,
    /// Gauges that never change (about 60%: info metrics, limits, flags).
    fixed: bool,
    /// Mean counter increment per scrape (0 for idle counters, about 30%).
    rate: f64,
    /// Standard deviation of a moving gauge's step.
    vol: f64,
}

fn unit(x: u64) -> f64 {
    (x >> 11) as f64 / (1u64 << 53) as f64
}

fn motion(templates: &[Template], i: usize) -> Motion {
    let t = &templates[i % templates.len()];
    let key = mix(i as u64 ^ 0x5EED);
    let r = |k: u64| unit(mix(key ^ k));
    let v0 = t.start;
    let is_int = v0.fract() == 0.0;
    let mut start = v0 * (0.5 + r(1));
    if is_int {
        start = start.round();
    }
    let mut rate = if t.counterish {
        v0.abs() / 1e6 * r(2) * (INTERVAL_MS / 1000) as f64
    } else {
        0.0
    };
    if t.counterish && r(3) < 0.3 {
        rate = 0.0;
    }
    Motion {
        is_int,
        start,
        counterish: t.counterish,
        fixed: !t.counterish && r(4) < 0.6,
        rate,
        vol: v0.abs() * 0.01 * r(5),
    }
}

/// Rounds to 6 significant digits, as `%.6g` does.
fn six_digits(v: f64) -> f64 {
    if v == 0.0 || !v.is_finite() {
        return v;
    }
    let scale = 10f64.powi(5 - v.abs().log10().floor() as i32);
    (v * scale).round() / scale
}

/// Value of scrape `round` of series `i`, given the previous one: counters grow by
/// exponentially distributed increments, 40% of gauges random-walk, integers stay integers.
pub fn next_value(templates: &[Template], i: usize, round: u64, prev: f64) -> f64 {
    let m = motion(templates, i);
    if round == 0 {
        return m.start;
    }
    let r = |k: u64| unit(mix(((i as u64) << 24 | round) ^ (k << 60)));
    let mut v = prev;
    if m.counterish {
        if m.rate > 0.0 {
            let inc = -(1.0 - r(1)).ln() * m.rate;
            v += if m.is_int { inc.round() } else { inc };
        }
    } else if !m.fixed && m.vol > 0.0 {
        // Box-Muller: a standard normal step.
        let gauss = (-2.0 * (1.0 - r(2)).ln()).sqrt() * (std::f64::consts::TAU * r(3)).cos();
        v += gauss * m.vol;
        if m.is_int {
            v = v.round();
        }
        if m.start >= 0.0 && v < 0.0 {
            v = -v;
        }
    }
    if m.is_int {
        v
    } else {
        six_digits(v)
    }
}
