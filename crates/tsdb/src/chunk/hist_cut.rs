//! Encoding a series' histogram samples into histogram chunks in one go (for blocks, and for
//! anything that hands out Prometheus chunks, like a streamed remote-read answer): a new chunk
//! on a kind change, whenever the encoding asks for one (counter reset, schema change, …), at
//! every multiple of `window_ms` and after `max_samples` histograms; each chunk after the first
//! of a kind learns its counter-reset header from the one before, as in Prometheus' head.

use bongsu_model::{HistogramSample, HistogramValue};

use super::{Encoding, FloatHistogramChunk, HistogramAppend, HistogramChunk};

/// One encoded histogram chunk: Prometheus' chunk bytes and the times of its first and last
/// sample.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EncodedHistogramChunk {
    pub min_time: i64,
    pub max_time: i64,
    /// [`Encoding::Histogram`] or [`Encoding::FloatHistogram`]; `prometheus_code()` gives
    /// Prometheus' encoding byte (2 or 3).
    pub encoding: Encoding,
    pub bytes: Vec<u8>,
}

enum Open {
    Int(HistogramChunk),
    Float(FloatHistogramChunk),
}

impl Open {
    fn num_samples(&self) -> usize {
        match self {
            Open::Int(c) => c.num_samples(),
            Open::Float(c) => c.num_samples(),
        }
    }

    fn finish(self, min_time: i64, max_time: i64) -> EncodedHistogramChunk {
        let (encoding, bytes) = match self {
            Open::Int(c) => (Encoding::Histogram, c.bytes().to_vec()),
            Open::Float(c) => (Encoding::FloatHistogram, c.bytes().to_vec()),
        };
        EncodedHistogramChunk {
            min_time,
            max_time,
            encoding,
            bytes,
        }
    }

    /// A new chunk holding `h`, its header taken from `prev` when of the same kind.
    fn start(prev: Option<&Open>, t: i64, h: &HistogramValue) -> Open {
        match h {
            HistogramValue::Int(h) => {
                let mut c = HistogramChunk::new();
                let p = match prev {
                    Some(Open::Int(p)) => Some(p),
                    _ => None,
                };
                c.append(p, t, h);
                Open::Int(c)
            }
            HistogramValue::Float(h) => {
                let mut c = FloatHistogramChunk::new();
                let p = match prev {
                    Some(Open::Float(p)) => Some(p),
                    _ => None,
                };
                c.append(p, t, h);
                Open::Float(c)
            }
        }
    }
}

/// Encodes `hs` (sorted by time, no duplicates: checked, `Err` names the first time out of
/// order) into chunks.
pub fn encode_histogram_chunks(
    hs: &[HistogramSample],
    max_samples: usize,
    window_ms: i64,
) -> Result<Vec<EncodedHistogramChunk>, i64> {
    let mut out = Vec::new();
    // The open chunk, its first and last time, and the end of its window.
    let mut open: Option<(Open, i64, i64, i64)> = None;
    let window_end = |t: i64| (t.div_euclid(window_ms) + 1).saturating_mul(window_ms);
    for s in hs {
        let Some((chunk, _, max, end)) = open.as_mut() else {
            open = Some((Open::start(None, s.t, &s.h), s.t, s.t, window_end(s.t)));
            continue;
        };
        if s.t <= *max {
            return Err(s.t);
        }
        let same_kind = matches!(
            (&*chunk, &s.h),
            (Open::Int(_), HistogramValue::Int(_)) | (Open::Float(_), HistogramValue::Float(_))
        );
        let cut = !same_kind || s.t >= *end || chunk.num_samples() >= max_samples;
        let new = if cut {
            Some(Open::start(Some(chunk), s.t, &s.h))
        } else {
            let r = match (&mut *chunk, &s.h) {
                (Open::Int(c), HistogramValue::Int(h)) => c.append(None, s.t, h).map_new(Open::Int),
                (Open::Float(c), HistogramValue::Float(h)) => {
                    c.append(None, s.t, h).map_new(Open::Float)
                }
                _ => None,
            };
            if r.is_none() {
                *max = s.t;
            }
            r
        };
        if let Some(c) = new {
            if let Some((old, old_min, old_max, _)) = open.take() {
                out.push(old.finish(old_min, old_max));
            }
            open = Some((c, s.t, s.t, window_end(s.t)));
        }
    }
    if let Some((c, min, max, _)) = open {
        out.push(c.finish(min, max));
    }
    Ok(out)
}

impl<C> HistogramAppend<C> {
    /// The new chunk, mapped, if the append started one.
    pub(crate) fn map_new<D>(self, f: impl FnOnce(C) -> D) -> Option<D> {
        match self {
            HistogramAppend::NewChunk(c) => Some(f(c)),
            _ => None,
        }
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;

    use bongsu_model::{Histogram, Span};

    use super::*;
    use crate::chunk::{decode_histograms, CounterResetHeader};

    fn h(count: u64) -> Histogram {
        Histogram {
            count,
            positive_spans: vec![Span {
                offset: 0,
                length: 1,
            }],
            positive_buckets: vec![count as i64],
            ..Histogram::default()
        }
    }

    fn sample(t: i64, v: HistogramValue) -> HistogramSample {
        HistogramSample { t, h: v }
    }

    #[test]
    fn cuts_at_windows_kinds_resets_and_sizes() {
        let int = |c| HistogramValue::Int(Arc::new(h(c)));
        let float = |c| HistogramValue::Float(Arc::new(h(c).to_float()));
        let hs = vec![
            sample(0, int(1)),
            sample(10, int(2)),
            sample(20, int(1)),    // counter reset
            sample(30, float(5)),  // kind change
            sample(100, float(6)), // window
            sample(110, float(7)),
            sample(120, float(8)), // size
        ];
        let cs = encode_histogram_chunks(&hs, 2, 100).unwrap();
        let spans: Vec<(i64, i64, Encoding)> = cs
            .iter()
            .map(|c| (c.min_time, c.max_time, c.encoding))
            .collect();
        assert_eq!(
            spans,
            vec![
                (0, 10, Encoding::Histogram),
                (20, 20, Encoding::Histogram),
                (30, 30, Encoding::FloatHistogram),
                (100, 110, Encoding::FloatHistogram),
                (120, 120, Encoding::FloatHistogram),
            ]
        );
        assert_eq!(
            CounterResetHeader::of_byte(cs[1].bytes[2]),
            CounterResetHeader::CounterReset
        );
        assert_eq!(
            CounterResetHeader::of_byte(cs[4].bytes[2]),
            CounterResetHeader::NotCounterReset
        );
        let mut back = Vec::new();
        for c in &cs {
            decode_histograms(c.encoding, &c.bytes, &mut back).unwrap();
        }
        let ts: Vec<i64> = back.iter().map(|s| s.t).collect();
        assert_eq!(ts, vec![0, 10, 20, 30, 100, 110, 120]);
        assert_eq!(
            encode_histogram_chunks(&[sample(5, int(1)), sample(5, int(1))], 10, 100),
            Err(5)
        );
    }
}
