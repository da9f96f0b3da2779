//! Parsing request parameters the way Prometheus' HTTP API does: times as Unix seconds or
//! RFC 3339, durations as seconds or Prometheus duration strings, repeated `match[]`.

use std::time::Duration;

use crate::config::parse_prometheus_duration;
use crate::model::{MatchOp, Matcher, METRIC_NAME};

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

/// A time as Prometheus accepts it: Unix seconds (fractions allowed) or RFC 3339. Returns ms.
pub fn parse_time(s: &str) -> Result<i64, String> {
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() {
            return Err(format!("cannot parse {s:?} to a valid timestamp"));
        }
        let ms = (f * 1000.0).round();
        if ms.abs() > 9.2e18 {
            return Err(format!("cannot parse {s:?} to a valid timestamp"));
        }
        return Ok(ms as i64);
    }
    match humantime::parse_rfc3339_weak(s) {
        Ok(t) => Ok(match t.duration_since(std::time::UNIX_EPOCH) {
            Ok(d) => d.as_millis() as i64,
            Err(e) => -(e.duration().as_millis() as i64),
        }),
        Err(_) => Err(format!("cannot parse {s:?} to a valid timestamp")),
    }
}

/// A duration as Prometheus accepts it: seconds (fractions allowed) or `1h30m`-style.
pub fn parse_duration(s: &str) -> Result<Duration, String> {
    if let Ok(f) = s.parse::<f64>() {
        if !f.is_finite() || !(0.0..=9.2e15).contains(&f) {
            return Err(format!("cannot parse {s:?} to a valid duration"));
        }
        return Ok(Duration::from_millis((f * 1000.0).round() as u64));
    }
    parse_prometheus_duration(s).ok_or_else(|| format!("cannot parse {s:?} to a valid duration"))
}

/// Parses a series selector (`match[]`) into matchers.
pub fn parse_selector(s: &str) -> Result<Vec<Matcher>, String> {
    use promql_parser::label::MatchOp as P;
    use promql_parser::parser::Expr;
    let expr = promql_parser::parser::parse(s)?;
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
    fn times() {
        assert_eq!(parse_time("1435781451.781").unwrap(), 1_435_781_451_781);
        assert_eq!(
            parse_time("2015-07-01T20:10:51.781Z").unwrap(),
            1_435_781_451_781
        );
        assert!(parse_time("yesterday").is_err());
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
    }
}
