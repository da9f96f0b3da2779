//! Parsing request parameters the way Prometheus' HTTP API does: times as Unix seconds or
//! RFC 3339, durations as seconds or Prometheus duration strings, repeated `match[]`.

use std::time::Duration;

use bongsu_model::parse_prometheus_duration;
use bongsu_model::{MatchOp, Matcher, METRIC_NAME};

/// Request parameters from the URL query and, for form POSTs, the body.
#[derive(Debug, Default)]
pub struct Params(Vec<(String, String)>);

impl Params {
    pub fn parse(query: Option<&str>, body: Option<&[u8]>) -> Result<Params, String> {
        let mut all: Vec<(String, String)> = Vec::new();
        if let Some(q) = query {
            all.extend(
                serde_urlencoded::from_str::<Vec<(String, String)>>(q)
                    .map_err(|e| format!("invalid query string: {e}"))?,
            );
        }
        if let Some(b) = body.filter(|b| !b.is_empty()) {
            all.extend(
                serde_urlencoded::from_bytes::<Vec<(String, String)>>(b)
                    .map_err(|e| format!("invalid form body: {e}"))?,
            );
        }
        Ok(Params(all))
    }

    /// The first value of `name`, if given.
    pub fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    /// Every value of `name` (for repeated parameters like `match[]`).
    pub fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }
}

/// Prometheus' `MaxTime` (the end of optional time ranges) in ms; `-MAX_TIME_MS` is about its
/// `MinTime`. Times are clamped to this range, so that arithmetic on them (lookback, range
/// length) cannot overflow.
pub const MAX_TIME_MS: i64 = (i64::MAX / 1000 - 62_135_596_801) * 1000 + 999;

/// A time as Prometheus accepts it: Unix seconds (fractions allowed) or RFC 3339. Returns ms,
/// clamped to `±MAX_TIME_MS`.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() {
            return Err(format!("cannot parse {s:?} to a valid timestamp"));
        }
        let ms = (f * 1000.0).round();
        return Ok(if ms >= MAX_TIME_MS as f64 {
            MAX_TIME_MS
        } else if ms <= -MAX_TIME_MS as f64 {
            -MAX_TIME_MS
        } else {
            ms as i64
        });
    }
    match humantime::parse_rfc3339_weak(s) {
        Ok(t) => Ok(match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => i64::try_from(d.as_millis()).unwrap_or(i64::MAX),
            Err(e) => -i64::try_from(e.duration().as_millis()).unwrap_or(i64::MAX),
        }
        .clamp(-MAX_TIME_MS, MAX_TIME_MS)),
        Err(_) => Err(format!("cannot parse {s:?} to a valid timestamp")),
    }
}

/// A duration as Prometheus accepts it: seconds (fractions allowed) or `1h30m`-style, at most
/// Go's longest duration (about 292 years), as upstream.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    let invalid = || format!("cannot parse {s:?} to a valid duration");
    let longest = i64::MAX as f64 / 1e9;
    if let Ok(f) = s.parse::<f64>() {
        if f.is_finite() && f.abs() > longest {
            return Err(format!(
                "cannot parse {s:?} to a valid duration. It overflows int64"
            ));
        }
        if !f.is_finite() || f < 0.0 {
            return Err(invalid());
        }
        return Ok(Duration::from_millis((f * 1000.0).round() as u64));
    }
    parse_prometheus_duration(s)
        .filter(|d| d.as_secs_f64() <= longest)
        .ok_or_else(invalid)
}

/// Parses a series selector (`match[]`) into matchers, refusing one whose every matcher
/// matches the empty string (it would select every series).
pub fn parse_selector(s: &str) -> Result<Vec<Matcher>, String> {
    let out = parse_matchers(s)?;
    if out.iter().all(Matcher::matches_empty) {
        return Err("match[] must contain at least one non-empty matcher".into());
    }
    Ok(out)
}

/// Parses a series selector into matchers as Prometheus' `ParseMetricSelector` does: `{}`
/// gives none, `{a=""}` one that matches every series without `a`.
pub fn parse_matchers(s: &str) -> Result<Vec<Matcher>, String> {
    /// A label no series has, for the matcher added below.
    const PAD: &str = "__bongsu_pad__";
    let first = selector_matchers(s);
    // `promql-parser` refuses a selector whose matchers all match "" (it checks as for a
    // query); with one more matcher it parses, and that one is dropped again.
    let Some(inner) = s.trim_start().strip_prefix('{').filter(|_| first.is_err()) else {
        return first;
    };
    match selector_matchers(&format!("{{{PAD}=\"x\",{inner}")) {
        Ok(mut ms) => {
            ms.retain(|m| m.name != PAD);
            Ok(ms)
        }
        Err(_) => first,
    }
}

fn selector_matchers(s: &str) -> Result<Vec<Matcher>, String> {
    use promql_parser::label::MatchOp as P;
    use promql_parser::parser::Expr;
    let expr = bongsu_promql::parse_metric_selector(s).map_err(|e| e.to_string())?;
    let Expr::VectorSelector(vs) = expr else {
        return Err(format!("expected a series selector, got {s:?}"));
    };
    let mut out = Vec::new();
    if let Some(name) = vs.name {
        out.push(Matcher::equal(METRIC_NAME, &name));
    }
    for m in vs.matchers.matchers {
        let op = match m.op {
            P::Equal => MatchOp::Equal,
            P::NotEqual => MatchOp::NotEqual,
            P::Re(_) => MatchOp::Regex,
            P::NotRe(_) => MatchOp::NotRegex,
        };
        out.push(Matcher::new(op, &m.name, &m.value).map_err(|e| e.to_string())?);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn selectors_matching_the_empty_string_parse_for_deletions() {
        assert_eq!(parse_matchers("{}").unwrap(), vec![]);
        assert_eq!(parse_matchers(" { } ").unwrap(), vec![]);
        assert_eq!(
            parse_matchers("{a=\"\", b!=\"x\"}").unwrap(),
            vec![
                Matcher::equal("a", ""),
                Matcher::new(MatchOp::NotEqual, "b", "x").unwrap()
            ]
        );
        assert_eq!(
            parse_matchers("up{").unwrap_err(),
            "1:4: parse error: unexpected end of input inside braces"
        );
        assert!(parse_matchers("{").is_err());
        assert!(parse_matchers("{,}").is_err());
        assert!(parse_selector("{}").is_err());
    }

    #[test]
    fn times() {
        assert_eq!(parse_time("1435781451.781").unwrap(), 1_435_781_451_781);
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z").unwrap(),
            1_435_781_451_781
        );
        assert!(parse_time("yesterday").is_err());
        assert_eq!(parse_time("1e300").unwrap(), MAX_TIME_MS);
        assert_eq!(parse_time("-1e300").unwrap(), -MAX_TIME_MS);
        assert!(parse_time("NaN").is_err());
    }

    #[test]
    fn durations() {
        assert_eq!(parse_duration("15").unwrap(), Duration::from_secs(15));
        assert_eq!(parse_duration("0.5").unwrap(), Duration::from_millis(500));
        assert_eq!(parse_duration("1h30m").unwrap(), Duration::from_secs(5400));
        assert_eq!(parse_duration("100ms").unwrap(), Duration::from_millis(100));
        assert_eq!(
            parse_duration("1m30s500ms").unwrap(),
            Duration::from_millis(90_500)
        );
        assert!(parse_duration("30m1h").is_err());
        assert!(parse_duration("5x").is_err());
        assert!(parse_duration("-1").is_err());
        assert_eq!(
            parse_duration("1e14").unwrap_err(),
            "cannot parse \"1e14\" to a valid duration. It overflows int64"
        );
        assert!(parse_duration("300y").is_err());
        assert!(parse_duration("200y").is_ok());
    }
}
