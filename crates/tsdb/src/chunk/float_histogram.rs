//! The float histogram chunk (Prometheus' `chunkenc.EncFloatHistogram`, encoding 3 in
//! Prometheus' chunk files), bit for bit as `chunkenc/float_histogram.go` writes it: the same
//! header and layout as the integer chunk, then per sample the timestamp as a varbit
//! delta-of-delta and count, zero count, sum and every bucket each XOR-coded against its own
//! previous value. The append rules are the integer chunk's (see `histogram.rs`).
//!
//! Byte layout: `docs/format/chunks.md`.

use bongsu_model::{CounterResetHint, FloatHistogram, Span};

use super::bstream::{BitReader, BitWriter};
use super::histogram::{bucket_counts, split_header, HistogramAppend};
use super::histogram_meta::{
    adjust_for_inserts, count_spans, expand_spans_and_buckets, expand_spans_both_ways, insert,
    new_chunk_writer, put_varbit_int, read_varbit_int, set_count, set_header, CounterResetHeader,
    Insert, Layout, FLAG_POS,
};
use super::xor::{XorValueDecoder, XorValueEncoder};
use super::{ChunkError, MAX_CHUNK_SAMPLES};

#[derive(Debug, Clone, Default)]
struct State {
    layout: Layout,
    t: i64,
    t_delta: i64,
    cnt: f64,
    zcnt: f64,
    sum: f64,
    encs: [XorValueEncoder; 3],
    p_buckets: Vec<f64>,
    n_buckets: Vec<f64>,
    p_encs: Vec<XorValueEncoder>,
    n_encs: Vec<XorValueEncoder>,
}

/// A float histogram chunk being appended to or just decoded.
#[derive(Debug, Clone)]
pub struct FloatHistogramChunk {
    w: BitWriter,
    num: usize,
    st: State,
}

impl Default for FloatHistogramChunk {
    fn default() -> FloatHistogramChunk {
        FloatHistogramChunk::new()
    }
}

struct Fit {
    pf: Vec<Insert>,
    nf: Vec<Insert>,
    pb: Vec<Insert>,
    nb: Vec<Insert>,
    ok: bool,
    reset: bool,
}

impl FloatHistogramChunk {
    pub fn new() -> FloatHistogramChunk {
        FloatHistogramChunk {
            w: new_chunk_writer(),
            num: 0,
            st: State::default(),
        }
    }

    pub fn bytes(&self) -> &[u8] {
        self.w.bytes()
    }

    pub fn num_samples(&self) -> usize {
        self.num
    }

    pub fn header(&self) -> CounterResetHeader {
        CounterResetHeader::of_byte(self.w.bytes()[FLAG_POS])
    }

    fn set_header(&mut self, h: CounterResetHeader) {
        set_header(self.w.bytes_mut(), h);
    }

    pub fn heap_size(&self) -> usize {
        self.w.capacity()
    }

    /// Upstream's float `appendable` for counter histograms.
    fn appendable(&self, h: &FloatHistogram) -> Fit {
        let mut fit = Fit {
            pf: Vec::new(),
            nf: Vec::new(),
            pb: Vec::new(),
            nb: Vec::new(),
            ok: false,
            reset: false,
        };
        let st = &self.st;
        if self.num > 0 && self.header() == CounterResetHeader::Gauge {
            return fit;
        }
        if h.counter_reset_hint == CounterResetHint::CounterReset {
            fit.reset = true;
            return fit;
        }
        if h.is_stale() {
            fit.ok = true;
            return fit;
        }
        if bongsu_model::is_stale_nan(st.sum) {
            return fit;
        }
        if h.count < st.cnt {
            fit.reset = true;
            return fit;
        }
        if h.schema != st.layout.schema || h.zero_threshold != st.layout.zero_threshold {
            return fit;
        }
        if h.uses_custom_buckets() && h.custom_values != st.layout.custom_values {
            fit.reset = true;
            return fit;
        }
        if h.zero_count < st.zcnt {
            fit.reset = true;
            return fit;
        }
        let p = expand_spans_and_buckets(
            &st.layout.positive_spans,
            &h.positive_spans,
            &st.p_buckets,
            &h.positive_buckets,
            false,
        );
        let n = expand_spans_and_buckets(
            &st.layout.negative_spans,
            &h.negative_spans,
            &st.n_buckets,
            &h.negative_buckets,
            false,
        );
        match (p, n) {
            (Some((pf, pb)), Some((nf, nb))) => {
                (fit.pf, fit.pb, fit.nf, fit.nb) = (pf, pb, nf, nb);
                fit.ok = true;
            }
            _ => fit.reset = true,
        }
        fit
    }

    /// Upstream's `appendFloatHistogram`.
    fn write_sample(&mut self, t: i64, h: &FloatHistogram) {
        let stale_h;
        let h = if h.is_stale() {
            stale_h = FloatHistogram {
                sum: h.sum,
                ..FloatHistogram::default()
            };
            &stale_h
        } else {
            h
        };
        let w = &mut self.w;
        let st = &mut self.st;
        let mut t_delta = 0;
        if self.num == 0 {
            st.layout = Layout {
                schema: h.schema,
                zero_threshold: h.zero_threshold,
                positive_spans: h.positive_spans.clone(),
                negative_spans: h.negative_spans.clone(),
                custom_values: h.custom_values.clone(),
            };
            st.layout.write(w);
            st.encs = Default::default();
            put_varbit_int(w, t);
            for (e, v) in st.encs.iter_mut().zip([h.count, h.zero_count, h.sum]) {
                e.encode(w, v);
            }
            st.p_encs = vec![XorValueEncoder::default(); h.positive_buckets.len()];
            st.n_encs = vec![XorValueEncoder::default(); h.negative_buckets.len()];
            st.p_buckets = h.positive_buckets.clone();
            st.n_buckets = h.negative_buckets.clone();
        } else {
            t_delta = t.wrapping_sub(st.t);
            put_varbit_int(w, t_delta.wrapping_sub(st.t_delta));
            for (e, v) in st.encs.iter_mut().zip([h.count, h.zero_count, h.sum]) {
                e.encode(w, v);
            }
        }
        let first = self.num == 0;
        for (bs, encs, prev) in [
            (&h.positive_buckets, &mut st.p_encs, &mut st.p_buckets),
            (&h.negative_buckets, &mut st.n_encs, &mut st.n_buckets),
        ] {
            for (i, b) in bs.iter().enumerate() {
                if let Some(e) = encs.get_mut(i) {
                    e.encode(w, *b);
                    if !first {
                        prev[i] = *b;
                    }
                }
            }
        }
        st.cnt = h.count;
        st.zcnt = h.zero_count;
        st.sum = h.sum;
        st.t = t;
        st.t_delta = t_delta;
        self.num += 1;
        set_count(self.w.bytes_mut(), self.num as u16);
    }

    fn recode(
        &self,
        pf: &[Insert],
        nf: &[Insert],
        ps: &[Span],
        ns: &[Span],
    ) -> FloatHistogramChunk {
        let mut out = FloatHistogramChunk::new();
        let (np, nn) = (count_spans(ps).unwrap_or(0), count_spans(ns).unwrap_or(0));
        let old = decode_float_histogram_chunk(self.bytes()).unwrap_or_default();
        for (t, mut h) in old {
            h.positive_spans = ps.to_vec();
            h.negative_spans = ns.to_vec();
            if !pf.is_empty() {
                h.positive_buckets = insert(&h.positive_buckets, np, pf, false);
            }
            if !nf.is_empty() {
                h.negative_buckets = insert(&h.negative_buckets, nn, nf, false);
            }
            out.write_sample(t, &h);
        }
        out.set_header(self.header());
        out
    }

    fn backward(h: &mut FloatHistogram, pb: &[Insert], nb: &[Insert]) {
        if !pb.is_empty() {
            let n = count_spans(&h.positive_spans).unwrap_or(0);
            h.positive_buckets = insert(&h.positive_buckets, n, pb, false);
        }
        if !nb.is_empty() {
            let n = count_spans(&h.negative_spans).unwrap_or(0);
            h.negative_buckets = insert(&h.negative_buckets, n, nb, false);
        }
    }

    fn start_new(
        header: Option<CounterResetHeader>,
        t: i64,
        h: &FloatHistogram,
    ) -> FloatHistogramChunk {
        let mut c = FloatHistogramChunk::new();
        if let Some(header) = header {
            c.set_header(header);
        }
        c.write_sample(t, h);
        c
    }

    /// Appends `h` at `t`, as upstream's `AppendFloatHistogram` with `appendOnly` false; see
    /// [`super::HistogramChunk::append`].
    pub fn append(
        &mut self,
        prev: Option<&FloatHistogramChunk>,
        t: i64,
        h: &FloatHistogram,
    ) -> HistogramAppend<FloatHistogramChunk> {
        debug_assert!(self.num < MAX_CHUNK_SAMPLES);
        if self.num == 0 {
            self.write_sample(t, h);
            match h.counter_reset_hint {
                CounterResetHint::Gauge => self.set_header(CounterResetHeader::Gauge),
                CounterResetHint::CounterReset => self.set_header(CounterResetHeader::CounterReset),
                _ => {
                    if let Some(p) = prev {
                        self.set_header(if p.appendable(h).reset {
                            CounterResetHeader::CounterReset
                        } else {
                            CounterResetHeader::NotCounterReset
                        });
                    }
                }
            }
            return HistogramAppend::Appended;
        }
        // Copied only when buckets must be added to fit the chunk's layout.
        let mut h = std::borrow::Cow::Borrowed(h);
        if h.counter_reset_hint != CounterResetHint::Gauge {
            let fit = self.appendable(&h);
            if !fit.ok || fit.reset {
                let header = fit.reset.then_some(CounterResetHeader::CounterReset);
                return HistogramAppend::NewChunk(Self::start_new(header, t, &h));
            }
            if !fit.pb.is_empty() || !fit.nb.is_empty() {
                if fit.pf.is_empty() && fit.nf.is_empty() {
                    h.to_mut().positive_spans = self.st.layout.positive_spans.clone();
                    h.to_mut().negative_spans = self.st.layout.negative_spans.clone();
                } else {
                    h.to_mut().positive_spans = adjust_for_inserts(&h.positive_spans, &fit.pb);
                    h.to_mut().negative_spans = adjust_for_inserts(&h.negative_spans, &fit.nb);
                }
                Self::backward(h.to_mut(), &fit.pb, &fit.nb);
            }
            if !fit.pf.is_empty() || !fit.nf.is_empty() {
                let mut c = self.recode(&fit.pf, &fit.nf, &h.positive_spans, &h.negative_spans);
                c.write_sample(t, &h);
                *self = c;
                return HistogramAppend::Recoded;
            }
            self.write_sample(t, &h);
            return HistogramAppend::Appended;
        }
        let st = &self.st;
        let gauge_ok = !(self.num > 0 && self.header() != CounterResetHeader::Gauge)
            && (h.is_stale()
                || (!bongsu_model::is_stale_nan(st.sum)
                    && h.schema == st.layout.schema
                    && h.zero_threshold == st.layout.zero_threshold
                    && (!h.uses_custom_buckets() || h.custom_values == st.layout.custom_values)));
        if !gauge_ok {
            let header = Some(CounterResetHeader::Gauge);
            return HistogramAppend::NewChunk(Self::start_new(header, t, &h));
        }
        if h.is_stale() {
            self.write_sample(t, &h);
            return HistogramAppend::Appended;
        }
        let (pf, pb, pm) = expand_spans_both_ways(&st.layout.positive_spans, &h.positive_spans);
        let (nf, nb, nm) = expand_spans_both_ways(&st.layout.negative_spans, &h.negative_spans);
        if !pb.is_empty() || !nb.is_empty() {
            h.to_mut().positive_spans = pm;
            h.to_mut().negative_spans = nm;
            Self::backward(h.to_mut(), &pb, &nb);
        }
        if !pf.is_empty() || !nf.is_empty() {
            let mut c = self.recode(&pf, &nf, &h.positive_spans, &h.negative_spans);
            c.write_sample(t, &h);
            *self = c;
            return HistogramAppend::Recoded;
        }
        self.write_sample(t, &h);
        HistogramAppend::Appended
    }
}

/// Decodes a whole float histogram chunk; stale markers come back holding only the stale sum.
pub fn decode_float_histogram_chunk(
    bytes: &[u8],
) -> Result<Vec<(i64, FloatHistogram)>, ChunkError> {
    const WHAT: &str = "float histogram sample";
    let (n, header, stream) = split_header(bytes)?;
    let mut out = Vec::with_capacity(n.min(MAX_CHUNK_SAMPLES));
    if n == 0 {
        return Ok(out);
    }
    let mut r = BitReader::new(stream);
    let layout = Layout::read(&mut r)?;
    let (np, nn) = bucket_counts(&layout, stream.len() * 8)?;
    let (mut t, mut t_delta) = (0i64, 0i64);
    let mut decs: [XorValueDecoder; 3] = Default::default();
    let mut bdecs = vec![XorValueDecoder::default(); np + nn];
    let mut buckets = vec![0f64; np + nn];
    for i in 0..n {
        if i == 0 {
            t = read_varbit_int(&mut r, WHAT)?;
        } else {
            t_delta = t_delta.wrapping_add(read_varbit_int(&mut r, WHAT)?);
            t = t.wrapping_add(t_delta);
        }
        let cnt = decs[0].decode(&mut r)?;
        let zcnt = decs[1].decode(&mut r)?;
        let sum = decs[2].decode(&mut r)?;
        if i > 0 && bongsu_model::is_stale_nan(sum) {
            out.push((
                t,
                FloatHistogram {
                    sum,
                    ..FloatHistogram::default()
                },
            ));
            continue;
        }
        for (b, d) in buckets.iter_mut().zip(bdecs.iter_mut()) {
            *b = d.decode(&mut r)?;
        }
        if bongsu_model::is_stale_nan(sum) {
            out.push((
                t,
                FloatHistogram {
                    sum,
                    ..FloatHistogram::default()
                },
            ));
            continue;
        }
        out.push((
            t,
            FloatHistogram {
                counter_reset_hint: header.hint_for(i + 1),
                schema: layout.schema,
                zero_threshold: layout.zero_threshold,
                zero_count: zcnt,
                count: cnt,
                sum,
                positive_spans: layout.positive_spans.clone(),
                negative_spans: layout.negative_spans.clone(),
                positive_buckets: buckets[..np].to_vec(),
                negative_buckets: buckets[np..].to_vec(),
                custom_values: layout.custom_values.clone(),
            },
        ));
    }
    Ok(out)
}
