//! The text forms of histograms and buckets as upstream prints them (`String()`): Go's `%g`
//! for floats, `[lo,hi)` with mathematical brackets for buckets, negative buckets first
//! (ascending), then the zero bucket, then positive buckets, empty buckets left out.

use std::fmt;

use super::buckets::Bucket;
use super::{FloatHistogram, Histogram};

/// Go's `%g` (and `%v`) of a float: shortest round-trip digits, exponent form when the
/// exponent is < -4 or ≥ 6, `+Inf`, `-Inf`, `NaN`.
pub fn go_g(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let sci = format!("{v:e}");
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mantissa.starts_with('-');
    let digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    let nd = digits.len() as i32;
    let dp = exp + 1;
    let mut out = String::from(if neg { "-" } else { "" });
    if !(-4..6).contains(&exp) {
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push('e');
        out.push(if exp < 0 { '-' } else { '+' });
        out.push_str(&format!("{:02}", exp.abs()));
    } else if dp <= 0 {
        out.push_str("0.");
        out.push_str(&"0".repeat((-dp) as usize));
        out.push_str(&digits);
    } else if dp >= nd {
        out.push_str(&digits);
        out.push_str(&"0".repeat((dp - nd) as usize));
    } else {
        out.push_str(&digits[..dp as usize]);
        out.push('.');
        out.push_str(&digits[dp as usize..]);
    }
    out
}

/// A bucket count as Go's `%v` prints it.
pub trait BucketCountFmt {
    fn go_v(&self) -> String;
}

impl BucketCountFmt for f64 {
    fn go_v(&self) -> String {
        go_g(*self)
    }
}

impl BucketCountFmt for u64 {
    fn go_v(&self) -> String {
        self.to_string()
    }
}

impl<C: BucketCountFmt> fmt::Display for Bucket<C> {
    /// `[lo,hi):count`, `[`/`]` for inclusive bounds, `(`/`)` for exclusive ones.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}{},{}{}:{}",
            if self.lower_inclusive { '[' } else { '(' },
            go_g(self.lower),
            go_g(self.upper),
            if self.upper_inclusive { ']' } else { ')' },
            self.count.go_v()
        )
    }
}

impl fmt::Display for FloatHistogram {
    /// `{count:…, sum:…, <negative buckets>, <zero bucket>, <positive buckets>}`.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{count:{}, sum:{}", go_g(self.count), go_g(self.sum))?;
        let negative: Vec<Bucket<f64>> = self
            .negative_buckets_iter()
            .filter(|b| b.count != 0.0)
            .collect();
        for b in negative.iter().rev() {
            write!(f, ", {b}")?;
        }
        if self.zero_count != 0.0 {
            write!(f, ", {}", self.zero_bucket())?;
        }
        for b in self.positive_buckets_iter().filter(|b| b.count != 0.0) {
            write!(f, ", {b}")?;
        }
        f.write_str("}")
    }
}

impl fmt::Display for Histogram {
    /// As [`FloatHistogram`]'s, with integer counts.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{{count:{}, sum:{}", self.count, go_g(self.sum))?;
        let negative: Vec<Bucket<u64>> = self
            .negative_buckets_iter()
            .filter(|b| b.count != 0)
            .collect();
        for b in negative.iter().rev() {
            write!(f, ", {b}")?;
        }
        if self.zero_count != 0 {
            write!(f, ", {}", self.zero_bucket())?;
        }
        for b in self.positive_buckets_iter().filter(|b| b.count != 0) {
            write!(f, ", {b}")?;
        }
        f.write_str("}")
    }
}
