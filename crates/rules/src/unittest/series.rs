//! The series notation of rule unit tests and PromQL test scripts (Prometheus'
//! `ParseSeriesDesc`): `input_series` values (`1 2 _ stale 1+2x3 5x2 _x3`) and the
//! `series`/`labels` strings (`name{label="value"}`), with native histograms in upstream's
//! test notation (`{{schema:0 sum:5 count:4 buckets:[1 2 1]}}`, `{{..}}x3`,
//! `{{..}}+{{..}}x3`, `{{..}}-{{..}}x3`).

use bongsu_model::{FloatHistogram, Label, Labels};

/// One step of an input series.
#[derive(Debug, Clone, PartialEq)]
pub enum Step {
    Value(f64),
    /// `_`: no sample at this step.
    Missing,
    /// `stale`: a staleness marker.
    Stale,
    /// A native histogram; `hint_set` tells whether its text gave `counter_reset_hint` (an
    /// expected histogram's hint is compared only then, as upstream's promqltest).
    Histogram {
        h: Box<FloatHistogram>,
        hint_set: bool,
    },
}

/// Expands a `values` string into one step per interval.
pub fn parse_values(s: &str) -> Result<Vec<Step>, String> {
    let mut out = Vec::new();
    for tok in tokens(s) {
        expand(tok, &mut out).map_err(|e| format!("{e} in {s:?}"))?;
    }
    Ok(out)
}

/// Splits at whitespace outside `{{ … }}`.
fn tokens(s: &str) -> Vec<&str> {
    let mut out = Vec::new();
    let b = s.as_bytes();
    let (mut i, mut start, mut depth) = (0, None, 0usize);
    while i < b.len() {
        if b[i..].starts_with(b"{{") {
            depth += 1;
            start.get_or_insert(i);
            i += 2;
            continue;
        }
        if depth > 0 && b[i..].starts_with(b"}}") {
            depth -= 1;
            i += 2;
            continue;
        }
        if depth == 0 && b[i].is_ascii_whitespace() {
            if let Some(st) = start.take() {
                out.push(&s[st..i]);
            }
        } else {
            start.get_or_insert(i);
        }
        i += 1;
    }
    if let Some(st) = start {
        out.push(&s[st..]);
    }
    out
}

/// The `{{…}}` at the start of `s` and the rest.
fn split_histogram(s: &str) -> Result<(&str, &str), String> {
    let end = s
        .find("}}")
        .ok_or_else(|| format!("unterminated histogram {s:?}"))?;
    Ok((&s[..end + 2], &s[end + 2..]))
}

/// One histogram in test notation.
fn histogram(text: &str) -> Result<Step, String> {
    let h = parse_histogram(text)?;
    Ok(Step::Histogram {
        h: Box::new(h),
        hint_set: text.contains("counter_reset_hint"),
    })
}

fn parse_histogram(text: &str) -> Result<FloatHistogram, String> {
    bongsu_model::histogram::parse_test_notation(text)
}

/// Combines two histograms of an expansion (`+` or `-`).
fn combine(cur: &mut FloatHistogram, inc: &FloatHistogram, sub: bool) -> Result<(), String> {
    let r = if sub { cur.sub(inc) } else { cur.add(inc) };
    r.map(|_| ())
        .map_err(|e| format!("error combining histograms: {e}"))
}

/// `{{..}}`, `{{..}}xN`, `{{..}}+{{..}}xN` or `{{..}}-{{..}}xN`.
fn expand_histogram(tok: &str, out: &mut Vec<Step>) -> Result<(), String> {
    let (base, rest) = split_histogram(tok)?;
    if rest.is_empty() {
        out.push(histogram(base)?);
        return Ok(());
    }
    let times = |r: &str| -> Result<usize, String> {
        let n: usize = r
            .strip_prefix('x')
            .and_then(|n| n.parse().ok())
            .ok_or_else(|| format!("bad histogram series {tok:?}"))?;
        if n > MAX_STEPS {
            return Err(format!(
                "too many repetitions {tok:?} (at most {MAX_STEPS})"
            ));
        }
        Ok(n)
    };
    if rest.starts_with('x') {
        let n = times(rest)?;
        let step = histogram(base)?;
        out.extend(std::iter::repeat_n(step, n + 1));
        return Ok(());
    }
    let sub = rest.starts_with('-');
    let Some(rest) = rest.strip_prefix(['+', '-']) else {
        return Err(format!("bad histogram series {tok:?}"));
    };
    let (inc_text, rest) = split_histogram(rest)?;
    let n = times(rest)?;
    let base_h = parse_histogram(base)?;
    let inc = parse_histogram(inc_text)?;
    // As upstream, every value of the expansion carries whether the increment gave a hint.
    let hint_set = inc_text.contains("counter_reset_hint");
    let mut cur = base_h;
    out.push(Step::Histogram {
        h: Box::new(cur.clone()),
        hint_set,
    });
    for _ in 0..n {
        if cur.schema > inc.schema {
            return Err(format!(
                "error combining histograms: cannot merge from schema {} to {}",
                inc.schema, cur.schema
            ));
        }
        combine(&mut cur, &inc, sub)?;
        out.push(Step::Histogram {
            h: Box::new(cur.clone()),
            hint_set,
        });
    }
    Ok(())
}

/// A number as Go's `strconv.ParseFloat` reads the spellings series use (`Inf`, `NaN`,
/// exponents, hex integers).
pub fn number(s: &str) -> Result<f64, String> {
    let (sign, body) = match s.as_bytes().first() {
        Some(b'-') => (-1.0, &s[1..]),
        Some(b'+') => (1.0, &s[1..]),
        _ => (1.0, s),
    };
    if let Some(hex) = body.strip_prefix("0x").or_else(|| body.strip_prefix("0X")) {
        return i64::from_str_radix(hex, 16)
            .map(|v| sign * v as f64)
            .map_err(|_| format!("bad number {s:?}"));
    }
    body.parse::<f64>()
        .map(|v| sign * v)
        .map_err(|_| format!("bad number {s:?}"))
}

fn expand(tok: &str, out: &mut Vec<Step>) -> Result<(), String> {
    if tok.starts_with("{{") {
        return expand_histogram(tok, out);
    }
    let single = |t: &str| match t {
        "_" => Ok(Step::Missing),
        "stale" => Ok(Step::Stale),
        _ => number(t).map(Step::Value),
    };
    // `x` followed by digits repeats the head N more times.
    let rep = tok.rfind('x').filter(|&i| {
        i > 0 && i + 1 < tok.len() && tok[i + 1..].bytes().all(|b| b.is_ascii_digit())
    });
    let Some(x) = rep else {
        out.push(single(tok)?);
        return Ok(());
    };
    let n: usize = tok[x + 1..]
        .parse()
        .map_err(|_| format!("bad repetition {tok:?}"))?;
    if n > MAX_STEPS {
        return Err(format!(
            "too many repetitions {tok:?} (at most {MAX_STEPS})"
        ));
    }
    let head = &tok[..x];
    // `_xN` is N blanks, but a value repeated (`1xN`, `stalexN`) comes N + 1 times: the
    // grammar adds the value at time 0.
    if head == "_" {
        out.extend(std::iter::repeat_n(Step::Missing, n));
        return Ok(());
    }
    if head == "stale" {
        out.extend(std::iter::repeat_n(Step::Stale, n + 1));
        return Ok(());
    }
    let b = head.as_bytes();
    let split = (1..b.len())
        .rev()
        .find(|&i| (b[i] == b'+' || b[i] == b'-') && !matches!(b[i - 1], b'e' | b'E'));
    let (start, delta) = match split {
        Some(i) => (number(&head[..i])?, number(&head[i..])?),
        None => (number(head)?, 0.0),
    };
    // Repeated addition, as promtool, so results match bit for bit.
    let mut v = start;
    out.push(Step::Value(v));
    for _ in 0..n {
        v += delta;
        out.push(Step::Value(v));
    }
    Ok(())
}

/// Most steps one `aXN` token may expand to.
pub const MAX_STEPS: usize = 1_000_000;

/// Parses `name{label="value",…}` (Prometheus' `ParseMetric`).
pub fn parse_metric(s: &str) -> Result<Labels, String> {
    use promql_parser::label::MatchOp;
    use promql_parser::parser::Expr;
    let expr =
        bongsu_promql::parse_metric_selector(s).map_err(|e| format!("bad series {s:?}: {e}"))?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(format!("bad series {s:?}: not a series selector"));
    };
    if vs.offset.is_some() || vs.at.is_some() {
        return Err(format!("bad series {s:?}: not a series selector"));
    }
    let mut labels = Vec::new();
    if let Some(name) = &vs.name {
        labels.push(Label::new("__name__", name.as_str()));
    }
    for m in &vs.matchers.matchers {
        if !matches!(m.op, MatchOp::Equal) {
            return Err(format!("bad series {s:?}: only = matchers are allowed"));
        }
        if m.name == "__name__" && vs.name.is_some() {
            continue;
        }
        labels.push(Label::new(m.name.as_str(), m.value.as_str()));
    }
    Labels::new(labels).map_err(|e| format!("bad series {s:?}: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn notation() {
        assert_eq!(
            parse_values("1+2x2 _ stale 5x1 -1-1x1").unwrap(),
            vec![
                Step::Value(1.0),
                Step::Value(3.0),
                Step::Value(5.0),
                Step::Missing,
                Step::Stale,
                Step::Value(5.0),
                Step::Value(5.0),
                Step::Value(-1.0),
                Step::Value(-2.0),
            ]
        );
        assert_eq!(parse_values("_x2").unwrap(), vec![Step::Missing; 2]);
        assert_eq!(parse_values("stalex1").unwrap(), vec![Step::Stale; 2]);
        // `x` and digits repeat; other hex digits make a hex integer.
        assert_eq!(parse_values("0x3").unwrap(), vec![Step::Value(0.0); 4]);
        assert_eq!(
            parse_values("0xff -0x1f 1e3").unwrap(),
            vec![Step::Value(255.0), Step::Value(-31.0), Step::Value(1000.0)]
        );
        assert!(parse_values("1+x").is_err());
        assert!(parse_values("{{sum:1").is_err());
        let h = parse_values(
            "{{schema:0 sum:1 count:1 buckets:[1]}}+{{sum:2 count:2 buckets:[2]}}x2 _ {{sum:1}}x1",
        )
        .unwrap();
        assert_eq!(h.len(), 6);
        let Step::Histogram { h: last, hint_set } = &h[2] else {
            panic!("not a histogram: {:?}", h[2]);
        };
        assert!(!hint_set);
        assert_eq!(
            (last.count, last.sum, last.positive_buckets.clone()),
            (5.0, 5.0, vec![5.0])
        );
        assert_eq!(h[3], Step::Missing);
        let l = parse_metric(r#"up{job="a"}"#).unwrap();
        assert_eq!(l.get("job"), Some("a"));
        assert!(parse_metric(r#"up{job=~"a"}"#).is_err());
    }
}
