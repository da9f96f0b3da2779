//! Warnings and infos a query returns next to its value, with Prometheus' texts (its
//! `util/annotations`): collected during evaluation, deduplicated by message, and rendered
//! with the "(line:col)" of the node they are about. The native-histogram ones are in
//! `hist_annotations`.

use std::collections::BTreeMap;

use super::functions::civil;
use super::position::line_col;

const WARNING: &str = "PromQL warning";
const INFO: &str = "PromQL info";

/// Histogram buckets were forced monotonic: where, when and by how much, merged over every
/// step and group that needed it.
#[derive(Debug, Clone, Copy)]
struct Monotonicity {
    min_t: i64,
    max_t: i64,
    min_bucket: f64,
    max_bucket: f64,
    max_diff: f64,
    count: usize,
}

#[derive(Debug, Clone)]
struct Item {
    warning: bool,
    pos: Option<usize>,
    monotonicity: Option<Monotonicity>,
}

/// The annotations of one query, keyed by their message without position.
#[derive(Debug, Clone, Default)]
pub(crate) struct Annotations {
    items: BTreeMap<String, Item>,
}

impl Annotations {
    fn add(&mut self, warning: bool, msg: String, pos: Option<usize>) {
        // A repeated annotation keeps one entry; the latest position stands, as upstream.
        self.items.insert(
            msg,
            Item {
                warning,
                pos,
                monotonicity: None,
            },
        );
    }

    pub(crate) fn warn(&mut self, msg: impl std::fmt::Display, pos: Option<usize>) {
        self.add(true, format!("{WARNING}: {msg}"), pos);
    }

    pub(crate) fn info(&mut self, msg: impl std::fmt::Display, pos: Option<usize>) {
        self.add(false, format!("{INFO}: {msg}"), pos);
    }

    /// "quantile value should be between 0 and 1" (φ outside [0, 1] or NaN).
    pub(crate) fn invalid_quantile(&mut self, q: f64, pos: Option<usize>) {
        self.warn(
            format_args!(
                "quantile value should be between 0 and 1, got {}",
                go_g(q, None)
            ),
            pos,
        );
    }

    /// limit_ratio's ratio outside [-1, 1], capped to `to`.
    pub(crate) fn invalid_ratio(&mut self, r: f64, to: f64, pos: Option<usize>) {
        self.warn(
            format_args!(
                "ratio value should be between -1 and 1, got {}, capping to {}",
                go_g(r, None),
                go_g(to, None)
            ),
            pos,
        );
    }

    /// rate()/increase() of a metric whose name does not look like a counter's.
    pub(crate) fn possible_non_counter(&mut self, metric: &str, pos: Option<usize>) {
        self.info(
            format_args!(
                "metric might not be a counter, name does not end in _total/_sum/_count/_bucket: {metric:?}"
            ),
            pos,
        );
    }

    /// A classic histogram bucket without a parseable `le`.
    pub(crate) fn bad_bucket_label(&mut self, metric: &str, le: &str, pos: Option<usize>) {
        let mut msg = format!("bucket label \"le\" is missing or has a malformed value of {le:?}");
        if !metric.is_empty() {
            msg.push_str(&format!(" for metric name {metric:?}"));
        }
        self.warn(msg, pos);
    }

    pub(crate) fn sort_in_range_query(&mut self, pos: Option<usize>) {
        self.warn(
            "sort is ineffective for range queries since results are always ordered by labels",
            pos,
        );
    }

    /// histogram_quantile had to force the bucket counts of a classic histogram monotonic.
    pub(crate) fn forced_monotonicity(
        &mut self,
        metric: &str,
        pos: Option<usize>,
        t: i64,
        (min_bucket, max_bucket, max_diff): (f64, f64, f64),
    ) {
        let mut msg = format!("{INFO}: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile)");
        if !metric.is_empty() {
            msg.push_str(&format!(" for metric name {metric:?}"));
        }
        let new = Monotonicity {
            min_t: t,
            max_t: t,
            min_bucket,
            max_bucket,
            max_diff,
            count: 0,
        };
        let item = self.items.entry(msg).or_insert(Item {
            warning: false,
            pos,
            monotonicity: None,
        });
        item.monotonicity = Some(match item.monotonicity {
            None => new,
            Some(m) => Monotonicity {
                min_t: m.min_t.min(t),
                max_t: m.max_t.max(t),
                min_bucket: m.min_bucket.min(min_bucket),
                max_bucket: m.max_bucket.max(max_bucket),
                max_diff: m.max_diff.max(max_diff),
                count: m.count + 1,
            },
        });
    }

    /// The warnings and the infos as the API shows them, each with the position of its node
    /// in `query`; the order is by message.
    pub(crate) fn render(&self, query: &str) -> (Vec<String>, Vec<String>) {
        let (mut warnings, mut infos) = (Vec::new(), Vec::new());
        for (msg, item) in &self.items {
            let pos = match item.pos {
                Some(p) if p <= query.len() => line_col(query, p),
                _ => "invalid position".to_string(),
            };
            let text = match item.monotonicity {
                Some(m) => format!(
                    "{msg}, from buckets {} to {}, with a max diff of {}, over {} samples from {} to {} ({pos})",
                    go_g(m.min_bucket, None),
                    go_g(m.max_bucket, None),
                    go_g(m.max_diff, Some(2)),
                    m.count + 1,
                    rfc3339_seconds(m.min_t),
                    rfc3339_seconds(m.max_t),
                ),
                None => format!("{msg} ({pos})"),
            };
            if item.warning {
                warnings.push(text);
            } else {
                infos.push(text);
            }
        }
        (warnings, infos)
    }
}

/// Go's `time.Unix(ms/1000, 0).UTC().Format(time.RFC3339)`, for any time.
fn rfc3339_seconds(ms: i64) -> String {
    // Go's integer division truncates towards zero.
    let secs = ms / 1000;
    let (y, mo, d) = civil(secs.div_euclid(86_400));
    let s = secs.rem_euclid(86_400);
    format!(
        "{y:04}-{mo:02}-{d:02}T{:02}:{:02}:{:02}Z",
        s / 3600,
        s % 3600 / 60,
        s % 60
    )
}

/// Go's `%g` (shortest digits) or `%.<p>g` of a float.
pub(crate) fn go_g(v: f64, precision: Option<usize>) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    let sci = match precision {
        None => format!("{v:e}"),
        Some(p) => format!("{:.*e}", p.max(1) - 1, v),
    };
    let (mantissa, exp) = sci.split_once('e').unwrap_or((&sci, "0"));
    let exp: i32 = exp.parse().unwrap_or(0);
    let neg = mantissa.starts_with('-');
    let mut digits: String = mantissa.chars().filter(char::is_ascii_digit).collect();
    while digits.len() > 1 && digits.ends_with('0') {
        digits.pop();
    }
    let nd = digits.len() as i32;
    let dp = exp + 1;
    let eprec = match precision {
        None => 6,
        Some(p) => {
            let p = p.max(1) as i32;
            if p > nd && nd >= dp {
                nd
            } else {
                p
            }
        }
    };
    let mut out = String::from(if neg { "-" } else { "" });
    if exp < -4 || exp >= eprec {
        out.push_str(&digits[..1]);
        if nd > 1 {
            out.push('.');
            out.push_str(&digits[1..]);
        }
        out.push_str(&format!(
            "e{}{:02}",
            if exp < 0 { '-' } else { '+' },
            exp.abs()
        ));
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_g_matches_go() {
        for (v, p, want) in [
            (0.5, None, "0.5"),
            (-0.5, None, "-0.5"),
            (1.5, None, "1.5"),
            (100000.0, None, "100000"),
            (1234567.0, None, "1.234567e+06"),
            (0.0001, None, "0.0001"),
            (0.00001, None, "1e-05"),
            (0.0, None, "0"),
            (f64::NAN, None, "NaN"),
            (f64::NEG_INFINITY, None, "-Inf"),
            (5.0, Some(2), "5"),
            (0.5, Some(2), "0.5"),
            (120.0, Some(2), "1.2e+02"),
            (12.0, Some(2), "12"),
            (0.123456, Some(2), "0.12"),
        ] {
            assert_eq!(go_g(v, p), want, "{v} {p:?}");
        }
    }

    #[test]
    fn dedup_and_render() {
        let q = "rate(foo[1m]) + rate(foo[5m])";
        let mut a = Annotations::default();
        a.possible_non_counter("foo", Some(0));
        a.possible_non_counter("foo", Some(16));
        a.invalid_quantile(f64::NAN, Some(5));
        let (w, i) = a.render(q);
        assert_eq!(
            w,
            ["PromQL warning: quantile value should be between 0 and 1, got NaN (1:6)"]
        );
        assert_eq!(i, ["PromQL info: metric might not be a counter, name does not end in _total/_sum/_count/_bucket: \"foo\" (1:17)"]);
    }

    #[test]
    fn monotonicity_merges() {
        let mut a = Annotations::default();
        a.forced_monotonicity("m", Some(0), 60_000, (1.0, 2.0, 0.5));
        a.forced_monotonicity("m", Some(7), 0, (0.5, 1.0, 3.0));
        let (_, i) = a.render("histogram_quantile(0.5, m)");
        assert_eq!(rfc3339_seconds(-30_000_000), "1969-12-31T15:40:00Z");
        assert_eq!(rfc3339_seconds(-1500), "1969-12-31T23:59:59Z");
        assert_eq!(i, ["PromQL info: input to histogram_quantile needed to be fixed for monotonicity (see https://prometheus.io/docs/prometheus/latest/querying/functions/#histogram_quantile) for metric name \"m\", from buckets 0.5 to 2, with a max diff of 3, over 2 samples from 1970-01-01T00:00:00Z to 1970-01-01T00:01:00Z (1:1)"]);
    }
}
