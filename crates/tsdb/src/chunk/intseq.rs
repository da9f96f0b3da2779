//! The integer sequence coder under both packed columns: timestamps, and values once scaled to
//! integers.
//!
//! For a sequence it tries differencing orders 0, 1 and 2 (raw, deltas, delta-of-deltas), divides
//! the residuals by their greatest common divisor, maps them to unsigned either by zigzag (for
//! residuals around zero, like a random walk's steps) or by subtracting their minimum (for
//! one-sided residuals, like a counter's increments or jittered scrape intervals), and Rice-codes
//! the result with the parameter that makes it smallest. A sequence whose residuals are all equal
//! (a constant, a counter at a fixed rate, perfectly regular timestamps) needs no residual bits.
//! The cheapest combination is measured exactly and written.
//!
//! All arithmetic wraps, so any `i64` sequence round-trips whatever its deltas. This module knows
//! nothing of samples, timestamps or floats; the byte layout is in `docs/format/chunks.md`.

use super::bstream::{get_uvarint, put_uvarint, unzigzag, zigzag, BitReader, BitWriter};
use super::ChunkError;

/// Header bits. Bits 0–1 hold the differencing order.
const ORDER_MASK: u8 = 0b11;
const FLAG_OFFSET: u8 = 1 << 2;
const FLAG_GCD: u8 = 1 << 3;
const FLAG_RESIDUALS: u8 = 1 << 4;
const KNOWN_BITS: u8 = ORDER_MASK | FLAG_OFFSET | FLAG_GCD | FLAG_RESIDUALS;

/// A Rice quotient of this many or more is escaped: this many zero bits, the bit length of the
/// value minus one in 6 bits, then the value itself. This bounds the cost of an outlier (a counter
/// reset, a gap in scrapes) to about 90 bits instead of a unary run of any length.
const ESCAPE: u32 = 16;

/// How the residuals are mapped to the unsigned numbers that are Rice-coded.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Transform {
    ZigZag,
    /// Subtract this base (the minimum residual).
    Offset(i64),
}

/// One way to code a sequence, with its exact size.
#[derive(Debug, Clone, Copy)]
struct Plan {
    order: usize,
    transform: Transform,
    gcd: u64,
    /// The Rice parameter, or `None` when every mapped residual is zero.
    rice_k: Option<u32>,
    bytes: usize,
}

/// Appends the coded `vals` to `out`. An empty sequence is written as nothing.
pub(super) fn encode(vals: &[i64], out: &mut Vec<u8>) {
    if vals.is_empty() {
        return;
    }
    let mut residuals = Vec::with_capacity(vals.len());
    let mut mapped = Vec::with_capacity(vals.len());
    let mut best = None::<Plan>;
    for order in 0..=2 {
        residuals_of(vals, order, &mut residuals);
        let plan = plan_for(vals, order, &residuals, &mut mapped);
        if best.is_none_or(|b| plan.bytes < b.bytes) {
            best = Some(plan);
        }
    }
    if let Some(plan) = best {
        residuals_of(vals, plan.order, &mut residuals);
        write(vals, &plan, &residuals, out);
    }
}

/// The initial values stored verbatim for `order`: the first value, and for order 2 the first
/// delta. Returned as the zigzagged varint payloads.
fn initials(vals: &[i64], order: usize) -> impl Iterator<Item = u64> {
    let first = zigzag(vals[0]);
    let first_delta =
        (order == 2 && vals.len() >= 2).then(|| zigzag(vals[1].wrapping_sub(vals[0])));
    std::iter::once(first)
        .filter(move |_| order >= 1)
        .chain(first_delta)
}

/// Residuals of differencing `order` times, after the initial values.
fn residuals_of(vals: &[i64], order: usize, out: &mut Vec<i64>) {
    out.clear();
    match order {
        0 => out.extend_from_slice(vals),
        1 => out.extend(vals.windows(2).map(|w| w[1].wrapping_sub(w[0]))),
        _ => out.extend(vals.windows(3).map(|w| {
            w[2].wrapping_sub(w[1])
                .wrapping_sub(w[1].wrapping_sub(w[0]))
        })),
    }
}

fn varint_len(v: u64) -> usize {
    (64 - (v | 1).leading_zeros() as usize).div_ceil(7)
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

/// The cheapest plan for one order, given its residuals.
fn plan_for(vals: &[i64], order: usize, residuals: &[i64], mapped: &mut Vec<u64>) -> Plan {
    let fixed = 1 + initials(vals, order).map(varint_len).sum::<usize>();
    let (Some(&min), Some(&max)) = (residuals.iter().min(), residuals.iter().max()) else {
        return Plan {
            order,
            transform: Transform::ZigZag,
            gcd: 1,
            rice_k: None,
            bytes: fixed,
        };
    };
    if min == max {
        let transform = if min == 0 {
            Transform::ZigZag
        } else {
            Transform::Offset(min)
        };
        let base_len = if min == 0 { 0 } else { varint_len(zigzag(min)) };
        return Plan {
            order,
            transform,
            gcd: 1,
            rice_k: None,
            bytes: fixed + base_len,
        };
    }
    let g = residuals.iter().fold(0, |g, r| gcd(g, r.unsigned_abs()));
    // A divisor of 2^63 has no positive i64 form; such residuals are too rare to bother.
    let g = if g > 1 && g <= i64::MAX as u64 { g } else { 1 };
    let gcd_len = if g > 1 { varint_len(g) } else { 0 };
    let scaled = |r: i64| r / g as i64;

    mapped.clear();
    mapped.extend(residuals.iter().map(|&r| zigzag(scaled(r))));
    let (k, bits) = best_rice_k(mapped);
    let mut best = Plan {
        order,
        transform: Transform::ZigZag,
        gcd: g,
        rice_k: Some(k),
        bytes: fixed + gcd_len + 1 + bits.div_ceil(8),
    };
    let base = scaled(min);
    mapped.clear();
    mapped.extend(
        residuals
            .iter()
            .map(|&r| (scaled(r) as u64).wrapping_sub(base as u64)),
    );
    let (k, bits) = best_rice_k(mapped);
    let bytes = fixed + gcd_len + varint_len(zigzag(base)) + 1 + bits.div_ceil(8);
    if bytes < best.bytes {
        best = Plan {
            order,
            transform: Transform::Offset(base),
            gcd: g,
            rice_k: Some(k),
            bytes,
        };
    }
    best
}

fn rice_bits(u: u64, k: u32) -> usize {
    let q = u >> k;
    if q < u64::from(ESCAPE) {
        q as usize + 1 + k as usize
    } else {
        (ESCAPE + 6 + (64 - u.leading_zeros())) as usize
    }
}

/// The Rice parameter that codes `us` in the fewest bits, and that count. The optimum lies near
/// log2 of the mean, so only a few parameters around it are measured.
fn best_rice_k(us: &[u64]) -> (u32, usize) {
    let sum: u128 = us.iter().map(|&u| u128::from(u)).sum();
    let mean = (sum / us.len().max(1) as u128) as u64;
    let guess = 63 - (mean | 1).leading_zeros();
    (guess.saturating_sub(2)..=(guess + 1).min(63))
        .map(|k| (k, us.iter().map(|&u| rice_bits(u, k)).sum::<usize>()))
        .min_by_key(|&(_, bits)| bits)
        .unwrap_or((0, 0))
}

fn write(vals: &[i64], plan: &Plan, residuals: &[i64], out: &mut Vec<u8>) {
    let start = out.len();
    let mut header = plan.order as u8;
    if matches!(plan.transform, Transform::Offset(_)) {
        header |= FLAG_OFFSET;
    }
    if plan.gcd > 1 {
        header |= FLAG_GCD;
    }
    if plan.rice_k.is_some() {
        header |= FLAG_RESIDUALS;
    }
    out.push(header);
    for v in initials(vals, plan.order) {
        put_uvarint(out, v);
    }
    if plan.gcd > 1 {
        put_uvarint(out, plan.gcd);
    }
    if let Transform::Offset(base) = plan.transform {
        put_uvarint(out, zigzag(base));
    }
    if let Some(k) = plan.rice_k {
        out.push(k as u8);
        let g = plan.gcd as i64;
        let mut w = BitWriter::from_vec(std::mem::take(out));
        for &r in residuals {
            let r = r / g;
            let u = match plan.transform {
                Transform::ZigZag => zigzag(r),
                Transform::Offset(base) => (r as u64).wrapping_sub(base as u64),
            };
            write_rice(&mut w, u, k);
        }
        *out = w.into_vec();
    }
    debug_assert_eq!(out.len() - start, plan.bytes, "size estimate must be exact");
}

fn write_rice(w: &mut BitWriter, u: u64, k: u32) {
    let q = u >> k;
    if q < u64::from(ESCAPE) {
        w.write_bits(1, q as u32 + 1);
        w.write_bits(u, k);
    } else {
        let len = 64 - u.leading_zeros();
        w.write_bits(0, ESCAPE);
        w.write_bits(u64::from(len - 1), 6);
        w.write_bits(u, len);
    }
}

fn read_rice(r: &mut BitReader, k: u32) -> Result<u64, ChunkError> {
    const WHAT: &str = "Rice-coded residual";
    let q = r.read_zeros_then_one(ESCAPE, WHAT)?;
    if q < ESCAPE {
        Ok(u64::from(q) << k | r.read_bits(k, WHAT)?)
    } else {
        let len = r.read_bits(6, WHAT)? as u32 + 1;
        r.read_bits(len, WHAT)
    }
}

/// Decodes `n` integers written by [`encode`], passing each to `sink` in order. Returns the bytes
/// consumed. `n` must already be bounded by the caller.
pub(super) fn decode(buf: &[u8], n: usize, mut sink: impl FnMut(i64)) -> Result<usize, ChunkError> {
    if n == 0 {
        return Ok(0);
    }
    let header = *buf.first().ok_or(ChunkError::Truncated {
        what: "integer column header",
    })?;
    let order = usize::from(header & ORDER_MASK);
    if header & !KNOWN_BITS != 0 || order > 2 {
        return Err(ChunkError::Corrupt {
            what: "integer column header",
        });
    }
    let mut pos = 1;
    let mut prev = 0i64;
    let mut delta = 0i64;
    let mut emitted = 0;
    if order >= 1 {
        prev = unzigzag(get_uvarint(buf, &mut pos, "first integer")?);
        sink(prev);
        emitted = 1;
    }
    if order == 2 && n >= 2 {
        delta = unzigzag(get_uvarint(buf, &mut pos, "first integer delta")?);
        prev = prev.wrapping_add(delta);
        sink(prev);
        emitted = 2;
    }
    let g = if header & FLAG_GCD != 0 {
        get_uvarint(buf, &mut pos, "residual divisor")? as i64
    } else {
        1
    };
    let base = if header & FLAG_OFFSET != 0 {
        Some(unzigzag(get_uvarint(buf, &mut pos, "residual base")?))
    } else {
        None
    };
    let k = if header & FLAG_RESIDUALS != 0 {
        let k = *buf.get(pos).ok_or(ChunkError::Truncated {
            what: "Rice parameter",
        })?;
        pos += 1;
        if k > 63 {
            return Err(ChunkError::Corrupt {
                what: "Rice parameter",
            });
        }
        Some(u32::from(k))
    } else {
        None
    };
    let mut r = BitReader::new(&buf[pos..]);
    for _ in emitted..n {
        let u = match k {
            Some(k) => read_rice(&mut r, k)?,
            None => 0,
        };
        let residual = match base {
            Some(b) => b.wrapping_add(u as i64),
            None => unzigzag(u),
        }
        .wrapping_mul(g);
        prev = match order {
            0 => residual,
            1 => prev.wrapping_add(residual),
            _ => {
                delta = delta.wrapping_add(residual);
                prev.wrapping_add(delta)
            }
        };
        sink(prev);
    }
    Ok(pos + r.bytes_consumed())
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn round_trip(vals: &[i64]) -> usize {
        let mut buf = vec![0xAA];
        encode(vals, &mut buf);
        let mut got = Vec::new();
        let used = decode(&buf[1..], vals.len(), |v| got.push(v)).unwrap();
        assert_eq!(got, vals);
        assert_eq!(used, buf.len() - 1);
        used
    }

    fn sequences() -> impl Strategy<Value = Vec<i64>> {
        prop_oneof![
            proptest::collection::vec(any::<i64>(), 0..100),
            (any::<i64>(), 0..300usize).prop_map(|(v, n)| vec![v; n]),
            (any::<i64>(), any::<i64>(), 0..300usize).prop_map(|(a, d, n)| (0..n as i64)
                .map(|i| a.wrapping_add(d.wrapping_mul(i)))
                .collect()),
            (
                any::<i64>(),
                proptest::collection::vec(-100i64..100, 0..300)
            )
                .prop_map(|(start, steps)| {
                    steps
                        .iter()
                        .scan(start, |acc, s| {
                            *acc = acc.wrapping_add(s * 4096);
                            Some(*acc)
                        })
                        .collect()
                }),
            proptest::collection::vec(
                prop_oneof![Just(i64::MIN), Just(i64::MAX), Just(0i64), Just(-1i64)],
                0..50
            ),
        ]
    }

    proptest! {
        #[test]
        fn sequences_round_trip(vals in sequences()) {
            round_trip(&vals);
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..200), n in 0usize..500) {
            let _ = decode(&bytes, n, |_| {});
        }
    }

    #[test]
    fn special_shapes_are_small() {
        // A constant, a fixed-rate counter and regular timestamps cost only their header.
        assert!(round_trip(&[42; 120]) <= 3);
        assert!(round_trip(&(0..120).map(|i| 1_000 + 7 * i).collect::<Vec<_>>()) <= 4);
        assert!(
            round_trip(
                &(0..120)
                    .map(|i| 1_700_000_000_000 + 15_000 * i)
                    .collect::<Vec<_>>()
            ) <= 10
        );
        // Multiples of a page size cost little more than their quotients (the divisor and the
        // unscaled initial values).
        let pages: Vec<i64> = (0..120).map(|i| 4096 * ((i * 7919) % 13)).collect();
        let quotients: Vec<i64> = pages.iter().map(|p| p / 4096).collect();
        let (a, b) = (round_trip(&pages), round_trip(&quotients));
        assert!(a <= b + 4, "{a} vs {b}");
        assert_eq!(round_trip(&[]), 0);
        round_trip(&[i64::MIN]);
        round_trip(&[i64::MIN, i64::MAX]);
    }
}
