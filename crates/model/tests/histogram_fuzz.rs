//! Random histograms through every operation: valid ones keep the arithmetic's invariants
//! (addition commutes, Kahan addition agrees with plain addition, subtraction undoes
//! addition, compaction and resolution reduction keep the observations), and invalid ones
//! (spans disagreeing with buckets, negative offsets, odd schemas) never panic.

use bongsu_model::histogram::{
    parse_test_notation, CounterResetHint, FloatHistogram, Histogram, Span,
};

/// Rounds per test: `HISTOGRAM_FUZZ_ROUNDS` (default 5000), for longer runs by hand.
fn rounds() -> usize {
    std::env::var("HISTOGRAM_FUZZ_ROUNDS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(5000)
}

/// xorshift64*: deterministic, no dependency.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: u64) -> u64 {
        self.next() % n.max(1)
    }
    fn range(&mut self, lo: i64, hi: i64) -> i64 {
        lo + self.below((hi - lo + 1) as u64) as i64
    }
}

/// Spans; the first starts at `first_min` or later.
fn spans(r: &mut Rng, first_min: i64) -> (Vec<Span>, usize) {
    let n = r.below(4) as usize;
    let mut out = Vec::new();
    let mut total = 0;
    for i in 0..n {
        let offset = if i == 0 {
            r.range(first_min, 5)
        } else {
            r.range(0, 4)
        } as i32;
        let length = r.range(0, 4) as u32;
        total += length as usize;
        out.push(Span { offset, length });
    }
    (out, total)
}

fn valid(r: &mut Rng) -> FloatHistogram {
    let custom = r.below(4) == 0;
    let mut h = FloatHistogram {
        counter_reset_hint: CounterResetHint::from_u8(r.below(4) as u8).unwrap_or_default(),
        sum: r.range(-50, 50) as f64 / 4.0,
        ..FloatHistogram::default()
    };
    if custom {
        h.schema = -53;
        let n = r.range(0, 6) as usize;
        let mut b = 0.0;
        for _ in 0..n {
            b += r.range(1, 3) as f64 / 2.0;
            h.custom_values.push(b);
        }
        let (sp, total) = spans(r, 0);
        // Keep the spans within the bounds.
        let covered: i64 = sp.iter().map(|s| s.offset as i64 + s.length as i64).sum();
        if covered <= n as i64 + 1 {
            h.positive_spans = sp;
            h.positive_buckets = (0..total).map(|_| r.range(0, 9) as f64).collect();
        }
    } else {
        h.schema = r.range(-4, 8) as i32;
        h.zero_threshold = [0.0, 0.001, 0.5, 1.0][r.below(4) as usize];
        h.zero_count = r.range(0, 5) as f64;
        // No buckets inside the zero bucket (bucket 1 ends above 1 in every schema).
        let first = if h.zero_threshold > 0.0 { 1 } else { -6 };
        let (sp, total) = spans(r, first);
        h.positive_spans = sp;
        h.positive_buckets = (0..total).map(|_| r.range(0, 9) as f64).collect();
        let (sn, total) = spans(r, first);
        h.negative_spans = sn;
        h.negative_buckets = (0..total).map(|_| r.range(0, 9) as f64).collect();
    }
    h.count = h.zero_count
        + h.positive_buckets.iter().sum::<f64>()
        + h.negative_buckets.iter().sum::<f64>();
    h
}

fn mangled(r: &mut Rng) -> FloatHistogram {
    let mut h = valid(r);
    match r.below(6) {
        0 => h.positive_buckets.push(1.0),
        1 => {
            h.positive_buckets.pop();
        }
        2 => h.positive_spans.push(Span {
            offset: -3,
            length: 2,
        }),
        3 => h.schema = [9, -5, -9, 52, -53, 100, i32::MIN][r.below(7) as usize],
        4 => h.custom_values = vec![3.0, 1.0, f64::NAN],
        _ => h.negative_spans.push(Span {
            offset: 2,
            length: 7,
        }),
    }
    h
}

/// Observations per bucket bound, for comparing layouts that differ in empty buckets.
fn populated(h: &FloatHistogram) -> Vec<(f64, f64, f64)> {
    h.all_buckets()
        .filter(|b| b.count != 0.0)
        .map(|b| (b.lower, b.upper, b.count))
        .collect()
}

fn close(a: &FloatHistogram, b: &FloatHistogram) -> bool {
    let (pa, pb) = (populated(a), populated(b));
    (a.count - b.count).abs() < 1e-9
        && pa.len() == pb.len()
        && pa
            .iter()
            .zip(&pb)
            .all(|(x, y)| x.0 == y.0 && x.1 == y.1 && (x.2 - y.2).abs() < 1e-9)
}

#[test]
fn valid_histograms_keep_invariants() {
    let mut r = Rng(0x9E37_79B9_7F4A_7C15);
    for round in 0..rounds() {
        let a = valid(&mut r);
        let b = valid(&mut r);
        assert!(
            a.validate().is_ok(),
            "{round}: generated invalid {a:?}: {:?}",
            a.validate()
        );

        let mut ab = a.clone();
        let mut ba = b.clone();
        let r1 = ab.add(&b);
        let r2 = ba.add(&a);
        assert_eq!(r1.is_ok(), r2.is_ok());
        if r1.is_err() {
            assert_ne!(a.uses_custom_buckets(), b.uses_custom_buckets());
            continue;
        }
        ab.compact(0);
        ba.compact(0);
        // Upstream's merge counts some observations twice when the widened zero bucket ends
        // inside a bucket of the lower schema; addition commutes when that cannot happen.
        let clean = a.schema == b.schema || a.zero_threshold == b.zero_threshold;
        assert!(
            !clean || close(&ab, &ba),
            "{round}: a+b != b+a\n a={a:?}\n b={b:?}\n ab={ab}\n ba={ba}"
        );
        assert!(ab.validate().is_ok(), "{round}: sum invalid {ab:?}");

        let mut k = a.clone();
        let (c, _) = k.kahan_add(&b, None).unwrap();
        k.add(&c).unwrap();
        k.compact(0);
        assert!(!clean || close(&k, &ab), "{round}: kahan {k} != {ab}");

        // Subtraction undoes addition when nothing was merged (same schema, same zero bucket,
        // same custom bounds).
        if a.schema == b.schema
            && a.zero_threshold == b.zero_threshold
            && a.custom_values == b.custom_values
        {
            let mut back = ab.clone();
            back.sub(&b).unwrap();
            back.compact(0);
            let mut a0 = a.clone();
            a0.compact(0);
            assert!(
                close(&back, &a0),
                "{round}: (a+b)-b != a\n a={a0}\n got={back}"
            );
        }

        let mut unknown = a.clone();
        unknown.counter_reset_hint = CounterResetHint::Unknown;
        assert!(
            !unknown.detect_reset(&a),
            "{round}: reset against itself {a:?}"
        );
        let mut grown = a.clone();
        if !grown.uses_custom_buckets() || grown.custom_values == b.custom_values {
            grown.counter_reset_hint = CounterResetHint::Unknown;
            grown.add(&b).unwrap();
            if grown.schema == a.schema && grown.zero_threshold == a.zero_threshold {
                assert!(
                    !grown.detect_reset(&a),
                    "{round}: growth seen as reset\n a={a:?}\n g={grown:?}"
                );
            }
        }

        for max_empty in [0, 1, 3] {
            let mut c = a.clone();
            c.compact(max_empty);
            assert!(c.validate().is_ok());
            assert!(
                close(&c, &a),
                "{round}: compact({max_empty}) changed {a} to {c}"
            );
            assert!(c.equals(&c.clone()));
        }
        if !a.uses_custom_buckets() && a.schema > -4 {
            let mut low = a.clone();
            low.reduce_resolution(a.schema - 1).unwrap();
            assert!(low.validate().is_ok());
            assert_eq!(low.count, a.count);
            let total = |h: &FloatHistogram| {
                h.positive_buckets
                    .iter()
                    .chain(&h.negative_buckets)
                    .sum::<f64>()
            };
            assert_eq!(total(&low), total(&a));
            let mut int = to_int(&a);
            int.reduce_resolution(a.schema - 1).unwrap();
            assert_eq!(int.to_float().positive_buckets, low.positive_buckets);
        }
        let mut int = to_int(&a);
        assert!(int.validate().is_ok(), "{round}: {:?}", int.validate());
        int.compact(2);
        assert!(int.validate().is_ok());
        assert!(close(&int.to_float(), &a));
        assert_eq!(int.to_string(), int.to_float().to_string());

        // (`custom_values:[]` is printed but not parsed, as upstream.)
        if !(a.uses_custom_buckets() && a.custom_values.is_empty()) {
            let text = bongsu_model::histogram::format_test_notation(&a);
            let back = parse_test_notation(&text).unwrap();
            assert!(close(&back, &a), "{round}: notation {text}");
        }
    }
}

fn to_int(h: &FloatHistogram) -> Histogram {
    let delta = |b: &[f64]| {
        let mut prev = 0i64;
        b.iter()
            .map(|v| {
                let d = *v as i64 - prev;
                prev = *v as i64;
                d
            })
            .collect()
    };
    Histogram {
        counter_reset_hint: h.counter_reset_hint,
        schema: h.schema,
        zero_threshold: h.zero_threshold,
        zero_count: h.zero_count as u64,
        count: h.count as u64,
        sum: h.sum,
        positive_spans: h.positive_spans.clone(),
        negative_spans: h.negative_spans.clone(),
        positive_buckets: delta(&h.positive_buckets),
        negative_buckets: delta(&h.negative_buckets),
        custom_values: h.custom_values.clone(),
    }
}

#[test]
fn invalid_histograms_never_panic() {
    let mut r = Rng(0xD1B5_4A32_D192_ED03);
    for _ in 0..rounds() {
        let a = mangled(&mut r);
        let b = if r.below(2) == 0 {
            mangled(&mut r)
        } else {
            valid(&mut r)
        };
        let _ = a.validate();
        let _ = a.to_string();
        let _ = a.all_buckets().count();
        let _ = a.all_reverse_buckets().count();
        let _ = a
            .positive_buckets_iter_with_schema(a.schema.saturating_sub(1))
            .count();
        let _ = a.detect_reset(&b);
        let _ = b.detect_reset(&a);
        let _ = a.equals(&b);
        let _ = a.clone().add(&b);
        let _ = b.clone().add(&a);
        let _ = a.clone().sub(&b);
        let _ = a.clone().kahan_add(&b, None);
        let _ = b.clone().kahan_add(&a, None);
        let _ = a.clone().compact(r.below(3) as usize);
        let _ = a.clone().reduce_resolution(a.schema.saturating_sub(1));
        let _ = a.clone().trim_buckets(1.5, r.below(2) == 0);
        let _ = a.copy_to_schema(0);
        let _ = bongsu_model::histogram::format_test_notation(&a);
        let _ = a.to_classic();
        let int = to_int(&a);
        let _ = int.validate();
        let _ = int.to_string();
        let _ = int.clone().compact(2);
        let _ = int.clone().reduce_resolution(int.schema.saturating_sub(1));
    }
}
