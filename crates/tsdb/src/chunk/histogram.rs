//! The integer histogram chunk (Prometheus' `chunkenc.EncHistogram`, encoding 2 in Prometheus'
//! chunk files), bit for bit as `chunkenc/histogram.go` writes it: a 3-byte header (sample count
//! u16 BE, counter-reset header bits), the layout, then per sample the timestamp, count and zero
//! count as varbit delta-of-deltas, the sum XOR-coded and every bucket as a varbit
//! delta-of-delta. A histogram whose layout is wider than the chunk's recodes the chunk
//! ("forward inserts"); one that lacks empty buckets of the chunk gets them ("backward
//! inserts"); a counter reset, schema or threshold change, or a stale marker followed by a
//! value starts a new chunk, as upstream's `AppendHistogram` decides.
//!
//! Byte layout: `docs/format/chunks.md`. Not here: when the head cuts chunks for time or size.

use bongsu_model::{CounterResetHint, Histogram, Span};

use super::bstream::{BitReader, BitWriter};
use super::histogram_meta::{
    adjust_for_inserts, count_spans, expand_spans_and_buckets, expand_spans_both_ways, insert,
    new_chunk_writer, put_varbit_int, put_varbit_uint, read_varbit_int, read_varbit_uint,
    set_count, set_header, CounterResetHeader, Insert, Layout, FLAG_POS, HEADER_LEN,
};
use super::xor::{XorValueDecoder, XorValueEncoder};
use super::{ChunkError, MAX_CHUNK_SAMPLES};

/// What appending a histogram did.
#[derive(Debug)]
pub enum HistogramAppend<C> {
    /// Appended to this chunk.
    Appended,
    /// This chunk was rewritten with a wider layout and the histogram appended.
    Recoded,
    /// The histogram does not fit: it is the first sample of this new chunk, which follows.
    NewChunk(C),
}

/// The appender's view of the last sample.
#[derive(Debug, Clone, Default)]
struct State {
    layout: Layout,
    t: i64,
    cnt: u64,
    zcnt: u64,
    t_delta: i64,
    cnt_delta: i64,
    zcnt_delta: i64,
    p_buckets: Vec<i64>,
    n_buckets: Vec<i64>,
    p_deltas: Vec<i64>,
    n_deltas: Vec<i64>,
    sum: f64,
    sum_enc: XorValueEncoder,
}

/// An integer histogram chunk being appended to (the head's open chunk) or just decoded.
#[derive(Debug, Clone)]
pub struct HistogramChunk {
    w: BitWriter,
    num: usize,
    st: State,
}

impl Default for HistogramChunk {
    fn default() -> HistogramChunk {
        HistogramChunk::new()
    }
}

/// Inserts that make a histogram fit a chunk, as upstream's `appendable` returns them.
#[derive(Debug, Default)]
pub(crate) struct Fit {
    pub pf: Vec<Insert>,
    pub nf: Vec<Insert>,
    pub pb: Vec<Insert>,
    pub nb: Vec<Insert>,
    pub ok: bool,
    pub header: Option<CounterResetHeader>,
}

impl HistogramChunk {
    pub fn new() -> HistogramChunk {
        HistogramChunk {
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

    /// Upstream's `appendable` for counter histograms.
    pub(crate) fn appendable(&self, h: &Histogram) -> Fit {
        let mut fit = Fit {
            header: Some(CounterResetHeader::NotCounterReset),
            ..Fit::default()
        };
        let st = &self.st;
        if self.num > 0 && self.header() == CounterResetHeader::Gauge {
            return fit;
        }
        if h.counter_reset_hint == CounterResetHint::CounterReset {
            fit.header = Some(CounterResetHeader::CounterReset);
            return fit;
        }
        if h.is_stale() {
            fit.ok = true;
            return fit;
        }
        if bongsu_model::is_stale_nan(st.sum) {
            fit.header = Some(CounterResetHeader::Unknown);
            return fit;
        }
        if h.count < st.cnt {
            fit.header = Some(CounterResetHeader::CounterReset);
            return fit;
        }
        if h.schema != st.layout.schema || h.zero_threshold != st.layout.zero_threshold {
            fit.header = Some(CounterResetHeader::Unknown);
            return fit;
        }
        if h.uses_custom_buckets() && h.custom_values != st.layout.custom_values {
            fit.header = Some(CounterResetHeader::CounterReset);
            return fit;
        }
        if h.zero_count < st.zcnt {
            fit.header = Some(CounterResetHeader::CounterReset);
            return fit;
        }
        let p = expand_spans_and_buckets(
            &st.layout.positive_spans,
            &h.positive_spans,
            &st.p_buckets,
            &h.positive_buckets,
            true,
        );
        let n = expand_spans_and_buckets(
            &st.layout.negative_spans,
            &h.negative_spans,
            &st.n_buckets,
            &h.negative_buckets,
            true,
        );
        match (p, n) {
            (Some((pf, pb)), Some((nf, nb))) => {
                fit.pf = pf;
                fit.pb = pb;
                fit.nf = nf;
                fit.nb = nb;
                fit.ok = true;
            }
            _ => fit.header = Some(CounterResetHeader::CounterReset),
        }
        fit
    }

    /// Writes one sample with the chunk's current layout (upstream's `appendHistogram`).
    fn write_sample(&mut self, t: i64, h: &Histogram) {
        let stale_h;
        let h = if h.is_stale() {
            stale_h = Histogram {
                sum: h.sum,
                ..Histogram::default()
            };
            &stale_h
        } else {
            h
        };
        let w = &mut self.w;
        let st = &mut self.st;
        let (mut t_delta, mut cnt_delta, mut zcnt_delta) = (0, 0, 0);
        if self.num == 0 {
            st.layout = Layout {
                schema: h.schema,
                zero_threshold: h.zero_threshold,
                positive_spans: h.positive_spans.clone(),
                negative_spans: h.negative_spans.clone(),
                custom_values: h.custom_values.clone(),
            };
            st.layout.write(w);
            let np = count_spans(&h.positive_spans).unwrap_or(0);
            let nn = count_spans(&h.negative_spans).unwrap_or(0);
            st.p_buckets = vec![0; np];
            st.p_deltas = vec![0; np];
            st.n_buckets = vec![0; nn];
            st.n_deltas = vec![0; nn];
            st.sum_enc = XorValueEncoder::default();
            put_varbit_int(w, t);
            put_varbit_uint(w, h.count);
            put_varbit_uint(w, h.zero_count);
            st.sum_enc.encode(w, h.sum);
            for b in h.positive_buckets.iter().chain(&h.negative_buckets) {
                put_varbit_int(w, *b);
            }
        } else {
            t_delta = t.wrapping_sub(st.t);
            cnt_delta = (h.count as i64).wrapping_sub(st.cnt as i64);
            zcnt_delta = (h.zero_count as i64).wrapping_sub(st.zcnt as i64);
            let t_dod = t_delta.wrapping_sub(st.t_delta);
            let (mut cnt_dod, mut zcnt_dod) = (
                cnt_delta.wrapping_sub(st.cnt_delta),
                zcnt_delta.wrapping_sub(st.zcnt_delta),
            );
            if h.is_stale() {
                (cnt_dod, zcnt_dod) = (0, 0);
            }
            put_varbit_int(w, t_dod);
            put_varbit_int(w, cnt_dod);
            put_varbit_int(w, zcnt_dod);
            st.sum_enc.encode(w, h.sum);
            for (bs, (prev, deltas)) in [
                (&h.positive_buckets, (&st.p_buckets, &mut st.p_deltas)),
                (&h.negative_buckets, (&st.n_buckets, &mut st.n_deltas)),
            ] {
                // Validation and `appendable` make the lengths agree; zip keeps a histogram
                // that does not (never appended) from panicking.
                for ((b, p), d) in bs.iter().zip(prev.iter()).zip(deltas.iter_mut()) {
                    let delta = b.wrapping_sub(*p);
                    put_varbit_int(w, delta.wrapping_sub(*d));
                    *d = delta;
                }
            }
        }
        st.t = t;
        st.cnt = h.count;
        st.zcnt = h.zero_count;
        st.t_delta = t_delta;
        st.cnt_delta = cnt_delta;
        st.zcnt_delta = zcnt_delta;
        let np = h.positive_buckets.len().min(st.p_buckets.len());
        st.p_buckets[..np].copy_from_slice(&h.positive_buckets[..np]);
        let nn = h.negative_buckets.len().min(st.n_buckets.len());
        st.n_buckets[..nn].copy_from_slice(&h.negative_buckets[..nn]);
        st.sum = h.sum;
        self.num += 1;
        set_count(self.w.bytes_mut(), self.num as u16);
    }

    /// This chunk re-encoded with the wider spans, every old sample given the inserted buckets.
    fn recode(&self, pf: &[Insert], nf: &[Insert], ps: &[Span], ns: &[Span]) -> HistogramChunk {
        let mut out = HistogramChunk::new();
        let (np, nn) = (count_spans(ps).unwrap_or(0), count_spans(ns).unwrap_or(0));
        // The chunk was written by this appender, so it decodes.
        let old = decode_histogram_chunk(self.bytes()).unwrap_or_default();
        for (t, mut h) in old {
            h.positive_spans = ps.to_vec();
            h.negative_spans = ns.to_vec();
            if !pf.is_empty() {
                h.positive_buckets = insert(&h.positive_buckets, np, pf, true);
            }
            if !nf.is_empty() {
                h.negative_buckets = insert(&h.negative_buckets, nn, nf, true);
            }
            out.write_sample(t, &h);
        }
        out.set_header(self.header());
        out
    }

    fn backward(h: &mut Histogram, pb: &[Insert], nb: &[Insert]) {
        if !pb.is_empty() {
            let n = count_spans(&h.positive_spans).unwrap_or(0);
            h.positive_buckets = insert(&h.positive_buckets, n, pb, true);
        }
        if !nb.is_empty() {
            let n = count_spans(&h.negative_spans).unwrap_or(0);
            h.negative_buckets = insert(&h.negative_buckets, n, nb, true);
        }
    }

    fn start_new(header: CounterResetHeader, t: i64, h: &Histogram) -> HistogramChunk {
        let mut c = HistogramChunk::new();
        c.set_header(header);
        c.write_sample(t, h);
        c
    }

    /// Appends `h` at `t` (after the last sample), as upstream's `AppendHistogram` with
    /// `appendOnly` false. `prev` is the series' previous chunk when this one was just cut, so
    /// that the first sample's counter-reset header is known. The caller keeps chunks under
    /// [`MAX_CHUNK_SAMPLES`].
    pub fn append(
        &mut self,
        prev: Option<&HistogramChunk>,
        t: i64,
        h: &Histogram,
    ) -> HistogramAppend<HistogramChunk> {
        debug_assert!(self.num < MAX_CHUNK_SAMPLES);
        if self.num == 0 {
            self.write_sample(t, h);
            match h.counter_reset_hint {
                CounterResetHint::Gauge => self.set_header(CounterResetHeader::Gauge),
                CounterResetHint::CounterReset => self.set_header(CounterResetHeader::CounterReset),
                _ => {
                    if let Some(header) = prev.and_then(|p| p.appendable(h).header) {
                        self.set_header(header);
                    }
                }
            }
            return HistogramAppend::Appended;
        }
        // Copied only when buckets must be added to fit the chunk's layout.
        let mut h = std::borrow::Cow::Borrowed(h);
        if h.counter_reset_hint != CounterResetHint::Gauge {
            let fit = self.appendable(&h);
            let header = fit.header.unwrap_or(CounterResetHeader::Unknown);
            if !fit.ok || header != CounterResetHeader::NotCounterReset {
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
        // Gauge histograms: layouts merge both ways.
        let st = &self.st;
        let gauge_ok = !(self.num > 0 && self.header() != CounterResetHeader::Gauge)
            && (h.is_stale()
                || (!bongsu_model::is_stale_nan(st.sum)
                    && h.schema == st.layout.schema
                    && h.zero_threshold == st.layout.zero_threshold
                    && (!h.uses_custom_buckets() || h.custom_values == st.layout.custom_values)));
        if !gauge_ok {
            return HistogramAppend::NewChunk(Self::start_new(CounterResetHeader::Gauge, t, &h));
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

    /// Bytes held on the heap.
    pub fn heap_size(&self) -> usize {
        self.w.capacity()
    }
}

/// Checks a histogram chunk's header and returns (sample count, counter-reset header, stream).
pub(crate) fn split_header(bytes: &[u8]) -> Result<(usize, CounterResetHeader, &[u8]), ChunkError> {
    if bytes.len() < HEADER_LEN {
        return Err(ChunkError::Truncated {
            what: "histogram chunk header",
        });
    }
    let n = u16::from_be_bytes([bytes[0], bytes[1]]) as usize;
    Ok((
        n,
        CounterResetHeader::of_byte(bytes[FLAG_POS]),
        &bytes[HEADER_LEN..],
    ))
}

/// Bucket counts of a layout, bounded by the bits there are to read them.
pub(crate) fn bucket_counts(l: &Layout, r_bits: usize) -> Result<(usize, usize), ChunkError> {
    let bad = || ChunkError::Corrupt {
        what: "histogram spans (more buckets than the chunk has bits)",
    };
    let np = count_spans(&l.positive_spans).ok_or_else(bad)?;
    let nn = count_spans(&l.negative_spans).ok_or_else(bad)?;
    if np.saturating_add(nn) > r_bits {
        return Err(bad());
    }
    Ok((np, nn))
}

/// Decodes a whole integer histogram chunk. Stale markers come back as a histogram holding
/// only the stale sum, as upstream's iterator gives them.
pub fn decode_histogram_chunk(bytes: &[u8]) -> Result<Vec<(i64, Histogram)>, ChunkError> {
    const WHAT: &str = "histogram sample";
    let (n, header, stream) = split_header(bytes)?;
    let mut out = Vec::with_capacity(n.min(MAX_CHUNK_SAMPLES));
    if n == 0 {
        return Ok(out);
    }
    let mut r = BitReader::new(stream);
    let layout = Layout::read(&mut r)?;
    let (np, nn) = bucket_counts(&layout, stream.len() * 8)?;
    let (mut t, mut cnt, mut zcnt) = (0i64, 0u64, 0u64);
    let (mut t_delta, mut cnt_delta, mut zcnt_delta) = (0i64, 0i64, 0i64);
    let mut buckets = vec![0i64; np + nn];
    let mut deltas = vec![0i64; np + nn];
    let mut sum_dec = XorValueDecoder::default();
    for i in 0..n {
        let sum;
        if i == 0 {
            t = read_varbit_int(&mut r, WHAT)?;
            cnt = read_varbit_uint(&mut r, WHAT)?;
            zcnt = read_varbit_uint(&mut r, WHAT)?;
            sum = sum_dec.decode(&mut r)?;
            for b in buckets.iter_mut() {
                *b = read_varbit_int(&mut r, WHAT)?;
            }
        } else {
            t_delta = t_delta.wrapping_add(read_varbit_int(&mut r, WHAT)?);
            t = t.wrapping_add(t_delta);
            cnt_delta = cnt_delta.wrapping_add(read_varbit_int(&mut r, WHAT)?);
            cnt = (cnt as i64).wrapping_add(cnt_delta) as u64;
            zcnt_delta = zcnt_delta.wrapping_add(read_varbit_int(&mut r, WHAT)?);
            zcnt = (zcnt as i64).wrapping_add(zcnt_delta) as u64;
            sum = sum_dec.decode(&mut r)?;
            if !bongsu_model::is_stale_nan(sum) {
                for (b, d) in buckets.iter_mut().zip(deltas.iter_mut()) {
                    *d = d.wrapping_add(read_varbit_int(&mut r, WHAT)?);
                    *b = b.wrapping_add(*d);
                }
            }
        }
        if bongsu_model::is_stale_nan(sum) {
            out.push((
                t,
                Histogram {
                    sum,
                    ..Histogram::default()
                },
            ));
            continue;
        }
        out.push((
            t,
            Histogram {
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
