//! `bongsu import openmetrics`: turning an OpenMetrics text file into blocks, as
//! `promtool tsdb create-blocks-from openmetrics` does.
//!
//! The file is read twice. The first pass parses and validates all of it (a bad line stops
//! the import with its line number before anything is written) and counts samples per block
//! window. The second pass gathers the samples of as many consecutive windows as fit in
//! [`MAX_SAMPLES_IN_MEMORY`] and writes one block per window. Blocks are written atomically;
//! if writing fails midway, the blocks this import already wrote are removed again.

use std::collections::{BTreeMap, HashMap, HashSet};
use std::fmt::Write as _;
use std::fs::File;
use std::io::IsTerminal;
use std::path::{Path, PathBuf};

use indicatif::{ProgressBar, ProgressStyle};
use memmap2::Mmap;
use thiserror::Error;

use bongsu_exposition::{Entry, Format, Parser, SeriesEntry};
use bongsu_model::{Labels, Sample};
use bongsu_tsdb::block::{Block, BlockError, BlockWriter};

/// Samples gathered in memory before blocks are written (~16 bytes each).
pub const MAX_SAMPLES_IN_MEMORY: u64 = 64 * 1024 * 1024;

#[derive(Debug, Error)]
pub enum ImportError {
    #[error("{path}: {source}")]
    Io {
        path: PathBuf,
        source: std::io::Error,
    },
    #[error("{path}:{line}: {message}")]
    Input {
        path: PathBuf,
        line: usize,
        message: String,
    },
    #[error(transparent)]
    Block(#[from] BlockError),
}

/// What an import wrote.
#[derive(Debug, Default, Clone)]
pub struct ImportStats {
    pub samples: u64,
    /// Distinct series in the file.
    pub series: u64,
    pub blocks: Vec<String>,
    /// Samples dropped because their series already had a sample at that timestamp.
    pub duplicates: u64,
}

/// Imports `file` into blocks of `block_range_ms` under `out_dir`.
pub fn import_openmetrics(
    file: &Path,
    out_dir: &Path,
    block_range_ms: i64,
) -> Result<ImportStats, ImportError> {
    let io = |e| ImportError::Io {
        path: file.to_path_buf(),
        source: e,
    };
    let f = File::open(file).map_err(io)?;
    // SAFETY: the input is only read; a file changed while importing gives wrong input, which
    // the parser rejects or imports, but never unsafety in the parser, which bounds-checks.
    let input = unsafe { Mmap::map(&f) }.map_err(io)?;
    std::fs::create_dir_all(out_dir).map_err(|e| ImportError::Io {
        path: out_dir.to_path_buf(),
        source: e,
    })?;

    let progress = progress_bar(input.len() as u64 * 2);
    let (windows, series) = first_pass(&input, file, block_range_ms, &progress)?;
    let mut stats = ImportStats {
        series,
        ..ImportStats::default()
    };
    let result = second_pass(
        &input,
        file,
        out_dir,
        block_range_ms,
        &windows,
        &progress,
        &mut stats,
    );
    progress.finish_and_clear();
    if let Err(e) = result {
        for ulid in &stats.blocks {
            let _ = Block::delete_dir(&out_dir.join(ulid));
        }
        return Err(e);
    }
    Ok(stats)
}

fn progress_bar(len: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(len);
    if let Ok(style) =
        ProgressStyle::with_template("{spinner} {msg} [{bar:40}] {bytes}/{total_bytes} ({eta})")
    {
        bar.set_style(style.progress_chars("=> "));
    }
    bar
}

/// Parses every series entry of the file, calling `f` with its entry and timestamp. An error
/// message from `f` is reported at the entry's line.
fn for_each_sample(
    input: &[u8],
    path: &Path,
    progress: &ProgressBar,
    mut f: impl FnMut(&SeriesEntry<'_>, i64) -> Result<(), String>,
) -> Result<(), ImportError> {
    let mut parser = Parser::new(input, Format::OpenMetrics);
    let base = progress.position();
    let mut n = 0u64;
    let err = |line: usize, message: String| ImportError::Input {
        path: path.to_path_buf(),
        line,
        message,
    };
    loop {
        let entry = parser.next_entry().map_err(|e| err(e.line, e.message))?;
        let Some(entry) = entry else { break };
        let Entry::Series(s) = entry else { continue };
        let Some(t) = s.timestamp_ms else {
            return Err(err(
                parser.line(),
                "sample has no timestamp; backfilling needs explicit timestamps".into(),
            ));
        };
        f(&s, t).map_err(|m| err(parser.line(), m))?;
        n += 1;
        if n.is_multiple_of(65_536) {
            // The entry's name points into `input`, which gives the bytes read so far.
            let offset = (s.name.as_ptr() as usize).saturating_sub(input.as_ptr() as usize);
            progress.set_position(base + offset as u64);
        }
    }
    progress.set_position(base + input.len() as u64);
    Ok(())
}

/// Validates the whole file; returns the number of samples per block window start and the
/// number of distinct series.
fn first_pass(
    input: &[u8],
    path: &Path,
    range: i64,
    progress: &ProgressBar,
) -> Result<(BTreeMap<i64, u64>, u64), ImportError> {
    progress.set_message("checking");
    let mut windows: BTreeMap<i64, u64> = BTreeMap::new();
    let mut series: HashSet<Labels> = HashSet::new();
    let mut last: Option<Labels> = None;
    for_each_sample(input, path, progress, |s, t| {
        let labels = s.to_labels().map_err(|e| e.to_string())?;
        // Files list a series' samples together: skip the set lookup for runs of one series.
        if last.as_ref() != Some(&labels) {
            series.insert(labels.clone());
            last = Some(labels);
        }
        *windows.entry(t.div_euclid(range) * range).or_default() += 1;
        Ok(())
    })?;
    Ok((windows, series.len() as u64))
}

fn second_pass(
    input: &[u8],
    path: &Path,
    out_dir: &Path,
    range: i64,
    windows: &BTreeMap<i64, u64>,
    progress: &ProgressBar,
    stats: &mut ImportStats,
) -> Result<(), ImportError> {
    progress.set_message("writing blocks");
    let starts: Vec<(i64, u64)> = windows.iter().map(|(s, n)| (*s, *n)).collect();
    let mut i = 0;
    while i < starts.len() {
        // Gather consecutive windows while they fit in memory (at least one).
        let mut j = i + 1;
        let mut total = starts[i].1;
        while j < starts.len() && total + starts[j].1 <= MAX_SAMPLES_IN_MEMORY {
            total += starts[j].1;
            j += 1;
        }
        let (lo, hi) = (starts[i].0, starts[j - 1].0 + range);
        let mut series: HashMap<String, (Labels, Vec<Sample>)> = HashMap::new();
        let mut key = String::new();
        progress.set_position(input.len() as u64);
        for_each_sample(input, path, progress, |s, t| {
            if t < lo || t >= hi {
                return Ok(());
            }
            key.clear();
            key.push_str(s.name);
            for (n, v) in &s.labels {
                let _ = write!(key, "\u{0}{n}\u{0}{v}");
            }
            let entry = match series.get_mut(key.as_str()) {
                Some(e) => e,
                None => {
                    let labels = s.to_labels().map_err(|e| e.to_string())?;
                    series.entry(key.clone()).or_insert((labels, Vec::new()))
                }
            };
            entry.1.push(Sample { t, v: s.value });
            Ok(())
        })?;
        let mut all: Vec<(Labels, Vec<Sample>)> = series.into_values().collect();
        all.sort_by(|a, b| a.0.cmp(&b.0));
        for (_, samples) in &mut all {
            samples.sort_by_key(|s| s.t);
            let before = samples.len();
            samples.dedup_by_key(|s| s.t);
            stats.duplicates += (before - samples.len()) as u64;
        }
        for &(window_start, _) in &starts[i..j] {
            let window_end = window_start + range;
            let in_window: Vec<(&Labels, &[Sample])> = all
                .iter()
                .map(|(labels, samples)| {
                    let a = samples.partition_point(|s| s.t < window_start);
                    let b = samples.partition_point(|s| s.t < window_end);
                    (labels, &samples[a..b])
                })
                .filter(|(_, samples)| !samples.is_empty())
                .collect();
            // The block spans its samples, not its whole window, as promtool's blocks do: a
            // block ending in the future would keep the head from taking samples until then.
            let (Some(mint), Some(last)) = (
                in_window.iter().map(|(_, s)| s[0].t).min(),
                in_window.iter().map(|(_, s)| s[s.len() - 1].t).max(),
            ) else {
                continue;
            };
            let mut writer = BlockWriter::new(out_dir, mint, last + 1, 1, Vec::new())?;
            for (labels, samples) in in_window {
                if let Err(e) = writer.add_series(labels.clone(), samples) {
                    writer.abort();
                    return Err(e.into());
                }
            }
            if let Some(meta) = writer.finish()? {
                stats.samples += meta.stats.num_samples;
                stats.blocks.push(meta.ulid);
            }
        }
        i = j;
    }
    Ok(())
}
