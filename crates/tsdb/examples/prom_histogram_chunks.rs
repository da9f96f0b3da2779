//! Reads Prometheus block chunk files (`<block>/chunks/NNNNNN`), checks that bongsu's histogram
//! chunk encoders write every histogram and float histogram chunk in them byte for byte, and
//! measures bytes per histogram sample, in Prometheus' files and in a bongsu block written
//! from the same samples.
//!
//! usage: prom_histogram_chunks [--bongsu-block DIR] CHUNK_FILE...
//!
//! Chunks are re-encoded by appending their decoded samples to a new chunk; the counter-reset
//! header bits are left out of the comparison (they come from the series' previous chunk).
//! For the bongsu block, consecutive histogram chunks of one kind whose times follow on are
//! taken as one series (Prometheus writes a series' chunks one after another). The last line
//! is `RESULT key=value …`.

use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use bongsu_model::{HistogramSample, HistogramValue, Labels};
use bongsu_tsdb::block::BlockWriter;
use bongsu_tsdb::chunk::{
    decode_float_histogram_chunk, decode_histogram_chunk, FloatHistogramChunk, HistogramAppend,
    HistogramChunk,
};

/// Prometheus' chunk file magic and header size.
const MAGIC: [u8; 4] = [0x85, 0xBD, 0x40, 0xDD];
const HEADER: usize = 8;

#[derive(Default)]
struct Totals {
    chunks: u64,
    samples: u64,
    chunk_bytes: u64,
    file_bytes: u64,
    mismatches: u64,
    other_chunks: u64,
}

fn uvarint(b: &[u8], pos: &mut usize) -> Option<u64> {
    let mut v = 0u64;
    for i in 0..10 {
        let byte = *b.get(*pos)?;
        *pos += 1;
        v |= u64::from(byte & 0x7f) << (7 * i);
        if byte < 0x80 {
            return Some(v);
        }
    }
    None
}

/// Whether our bytes equal theirs but for the counter-reset header bits.
fn same(ours: &[u8], theirs: &[u8]) -> bool {
    ours.len() == theirs.len()
        && ours.len() >= 3
        && ours[..2] == theirs[..2]
        && ours[2] & 0x3f == theirs[2] & 0x3f
        && ours[3..] == theirs[3..]
}

fn recode_int(data: &[u8]) -> Result<(Vec<u8>, Vec<HistogramSample>), String> {
    let hs = decode_histogram_chunk(data).map_err(|e| e.to_string())?;
    let mut c = HistogramChunk::new();
    for (t, h) in &hs {
        if !matches!(c.append(None, *t, h), HistogramAppend::Appended) {
            return Err(format!("sample at {t} did not append in place"));
        }
    }
    let samples = hs
        .into_iter()
        .map(|(t, h)| HistogramSample {
            t,
            h: HistogramValue::Int(Arc::new(h)),
        })
        .collect();
    Ok((c.bytes().to_vec(), samples))
}

fn recode_float(data: &[u8]) -> Result<(Vec<u8>, Vec<HistogramSample>), String> {
    let hs = decode_float_histogram_chunk(data).map_err(|e| e.to_string())?;
    let mut c = FloatHistogramChunk::new();
    for (t, h) in &hs {
        if !matches!(c.append(None, *t, h), HistogramAppend::Appended) {
            return Err(format!("sample at {t} did not append in place"));
        }
    }
    let samples = hs
        .into_iter()
        .map(|(t, h)| HistogramSample {
            t,
            h: HistogramValue::Float(Arc::new(h)),
        })
        .collect();
    Ok((c.bytes().to_vec(), samples))
}

fn main() -> ExitCode {
    let mut args = std::env::args().skip(1);
    let mut block_dir: Option<PathBuf> = None;
    let mut files = Vec::new();
    while let Some(a) = args.next() {
        if a == "--bongsu-block" {
            block_dir = args.next().map(PathBuf::from);
        } else {
            files.push(PathBuf::from(a));
        }
    }
    if files.is_empty() {
        eprintln!("usage: prom_histogram_chunks [--bongsu-block DIR] CHUNK_FILE...");
        return ExitCode::from(2);
    }
    let mut tot = Totals::default();
    // Series rebuilt from consecutive chunks: (encoding, samples).
    let mut series: Vec<(u8, Vec<HistogramSample>)> = Vec::new();
    for f in &files {
        let b = match std::fs::read(f) {
            Ok(b) => b,
            Err(e) => {
                eprintln!("{}: {e}", f.display());
                return ExitCode::from(2);
            }
        };
        if b.len() < HEADER || b[..4] != MAGIC {
            eprintln!("{}: not a Prometheus chunk file", f.display());
            return ExitCode::from(2);
        }
        tot.file_bytes += b.len() as u64;
        let mut pos = HEADER;
        while pos < b.len() {
            let Some(len) = uvarint(&b, &mut pos) else {
                break;
            };
            let Some(&enc) = b.get(pos) else { break };
            let start = pos + 1;
            let end = start + len as usize;
            if end + 4 > b.len() {
                eprintln!("{}: chunk at {pos} runs past the end", f.display());
                return ExitCode::from(1);
            }
            let data = &b[start..end];
            pos = end + 4;
            let res = match enc {
                2 => recode_int(data),
                3 => recode_float(data),
                _ => {
                    tot.other_chunks += 1;
                    continue;
                }
            };
            tot.chunks += 1;
            tot.chunk_bytes += data.len() as u64;
            match res {
                Ok((ours, samples)) => {
                    if !same(&ours, data) {
                        tot.mismatches += 1;
                        if tot.mismatches <= 3 {
                            eprintln!(
                                "MISMATCH {} chunk at {}: ours {} bytes, Prometheus {} bytes",
                                f.display(),
                                start - 1,
                                ours.len(),
                                data.len()
                            );
                        }
                    }
                    tot.samples += samples.len() as u64;
                    let follows = series.last().is_some_and(|(e, s)| {
                        *e == enc
                            && s.last()
                                .zip(samples.first())
                                .is_some_and(|(a, b)| a.t < b.t)
                    });
                    if follows {
                        if let Some((_, s)) = series.last_mut() {
                            s.extend(samples);
                        }
                    } else {
                        series.push((enc, samples));
                    }
                }
                Err(e) => {
                    tot.mismatches += 1;
                    eprintln!("{}: chunk at {}: {e}", f.display(), start - 1);
                }
            }
        }
    }
    let mut bongsu = String::new();
    if let Some(dir) = block_dir {
        match write_block(&dir, &series) {
            Ok((chunks, total)) => {
                bongsu = format!(
                    " bongsu_chunk_bytes={chunks} bongsu_block_bytes={total} bongsu_chunk_bytes_per_sample={:.3}",
                    chunks as f64 / tot.samples.max(1) as f64
                )
            }
            Err(e) => {
                eprintln!("bongsu block: {e}");
                return ExitCode::from(1);
            }
        }
    }
    println!(
        "RESULT prom_histogram_chunks={} prom_other_chunks={} histogram_samples={} prom_chunk_data_bytes={} prom_chunk_file_bytes={} prom_chunk_bytes_per_sample={:.3} series={} mismatches={}{bongsu}",
        tot.chunks,
        tot.other_chunks,
        tot.samples,
        tot.chunk_bytes,
        tot.file_bytes,
        tot.chunk_bytes as f64 / tot.samples.max(1) as f64,
        series.len(),
        tot.mismatches
    );
    if tot.mismatches > 0 {
        ExitCode::from(1)
    } else {
        ExitCode::SUCCESS
    }
}

/// Writes the series into one bongsu block under `dir`; returns (chunk files bytes, block bytes).
fn write_block(
    dir: &std::path::Path,
    series: &[(u8, Vec<HistogramSample>)],
) -> Result<(u64, u64), String> {
    std::fs::create_dir_all(dir).map_err(|e| e.to_string())?;
    let mint = series
        .iter()
        .filter_map(|(_, s)| s.first())
        .map(|s| s.t)
        .min()
        .unwrap_or(0);
    let maxt = series
        .iter()
        .filter_map(|(_, s)| s.last())
        .map(|s| s.t)
        .max()
        .unwrap_or(0);
    let mut w = BlockWriter::new(dir, mint, maxt + 1, 1, Vec::new()).map_err(|e| e.to_string())?;
    // Labels sort as strings: zero-padded numbers keep the order.
    for (i, (_, s)) in series.iter().enumerate() {
        let labels =
            Labels::from_pairs(&[("series", &format!("{i:08}"))]).map_err(|e| e.to_string())?;
        w.add_series_with_histograms(labels, &[], s)
            .map_err(|e| e.to_string())?;
    }
    let meta = w
        .finish()
        .map_err(|e| e.to_string())?
        .ok_or("empty block")?;
    let bdir = dir.join(&meta.ulid);
    let size = |p: &std::path::Path| -> u64 {
        std::fs::read_dir(p)
            .map(|rd| {
                rd.filter_map(Result::ok)
                    .filter_map(|e| e.metadata().ok())
                    .filter(|m| m.is_file())
                    .map(|m| m.len())
                    .sum()
            })
            .unwrap_or(0)
    };
    let chunks = size(&bdir.join("chunks"));
    Ok((chunks, chunks + size(&bdir)))
}
