//! Bucket bounds and schema rules: which schemas exist, where a bucket of an exponential
//! schema (or of custom bounds) starts and ends, and which bucket of a lower-resolution
//! schema a bucket falls into. The exponential bounds come from upstream's precalculated
//! table so that every bound is bit-identical to Prometheus'.

use super::bounds_table::EXPONENTIAL_BOUNDS;
use super::{CUSTOM_BUCKETS_SCHEMA, EXPONENTIAL_SCHEMA_MAX, EXPONENTIAL_SCHEMA_MIN};

/// The widest range of exponential schemas accepted on input (reduced to the supported range
/// by whoever ingests them).
pub const EXPONENTIAL_SCHEMA_MAX_RESERVED: i32 = 52;
pub const EXPONENTIAL_SCHEMA_MIN_RESERVED: i32 = -9;

pub fn is_custom_buckets_schema(s: i32) -> bool {
    s == CUSTOM_BUCKETS_SCHEMA
}

pub fn is_exponential_schema(s: i32) -> bool {
    (EXPONENTIAL_SCHEMA_MIN..=EXPONENTIAL_SCHEMA_MAX).contains(&s)
}

pub fn is_exponential_schema_reserved(s: i32) -> bool {
    (EXPONENTIAL_SCHEMA_MIN_RESERVED..=EXPONENTIAL_SCHEMA_MAX_RESERVED).contains(&s)
}

/// A schema this crate computes with: exponential `-4..=8` or custom buckets.
pub fn is_valid_schema(s: i32) -> bool {
    is_custom_buckets_schema(s) || is_exponential_schema(s)
}

/// A schema accepted on input, possibly after reducing the resolution to a valid one.
pub fn is_known_schema(s: i32) -> bool {
    is_custom_buckets_schema(s) || is_exponential_schema_reserved(s)
}

/// Whether two sets of custom bounds are the same (compared as numbers).
pub fn custom_bucket_bounds_match(a: &[f64], b: &[f64]) -> bool {
    a.len() == b.len() && a.iter().zip(b).all(|(x, y)| x == y)
}

/// The index, in `target_schema` (≤ `origin_schema`), of the bucket holding bucket `idx` of
/// `origin_schema`.
pub(crate) fn target_idx(idx: i32, origin_schema: i32, target_schema: i32) -> i32 {
    // Clamped so that invalid schemas cannot overflow the shift.
    let shift = (origin_schema as i64 - target_schema as i64).clamp(0, 31);
    (idx.wrapping_sub(1) >> shift).wrapping_add(1)
}

/// The upper bound of bucket `idx` (the lower bound is that of `idx - 1`). For custom buckets,
/// `idx == len` is +Inf and `idx == -1` is -Inf; other out-of-range indexes (only possible
/// with an invalid histogram) give NaN rather than a panic.
pub(crate) fn get_bound(idx: i32, schema: i32, custom_values: &[f64]) -> f64 {
    if is_custom_buckets_schema(schema) {
        let len = custom_values.len() as i64;
        let idx = idx as i64;
        return if idx == len {
            f64::INFINITY
        } else if idx == -1 {
            f64::NEG_INFINITY
        } else if idx >= 0 && idx < len {
            custom_values[idx as usize]
        } else {
            f64::NAN
        };
    }
    get_bound_exponential(idx, schema)
}

/// The upper bound of bucket `idx` of an exponential schema. The last bucket for finite
/// numbers ends at `f64::MAX` (its formula would give +Inf, the bound of the ±Inf bucket).
pub(crate) fn get_bound_exponential(idx: i32, schema: i32) -> f64 {
    if schema < 0 {
        let exp = (idx as i64) << schema.saturating_neg().min(40);
        if exp == 1024 {
            return f64::MAX;
        }
        return ldexp(1.0, exp);
    }
    let schema = schema.min(EXPONENTIAL_SCHEMA_MAX);
    let frac_idx = (idx & ((1 << schema) - 1)) as usize;
    let frac = EXPONENTIAL_BOUNDS[schema as usize][frac_idx];
    let exp = ((idx >> schema) as i64) + 1;
    if frac == 0.5 && exp == 1025 {
        return f64::MAX;
    }
    ldexp(frac, exp)
}

/// `frac · 2^exp`, as Go's `math.Ldexp` (exact for normal results, one rounding into
/// subnormals).
pub(crate) fn ldexp(frac: f64, exp: i64) -> f64 {
    if frac == 0.0 || !frac.is_finite() {
        return frac;
    }
    let mut x = frac;
    let mut e = exp.clamp(-2200, 2200);
    while e > 1000 {
        x *= pow2(1000);
        e -= 1000;
    }
    while e < -1000 {
        x *= pow2(-1000);
        e += 1000;
    }
    x * pow2(e as i32)
}

/// `2^e` for `-1022 <= e <= 1023`, built from its bits.
fn pow2(e: i32) -> f64 {
    f64::from_bits(((e + 1023) as u64) << 52)
}
