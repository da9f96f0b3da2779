//! The Prometheus text format 0.0.4, accepted as leniently as Prometheus accepts it.
//!
//! Lines are `# HELP name text`, `# TYPE name type`, other comments (skipped), blank lines
//! (skipped) and samples `name{labels} value [timestamp_ms]`. Spaces and tabs may separate and
//! surround tokens, a label set may end with a comma, and names may be quoted inside the braces
//! (`{"my.metric", "label.name"="v"}`) as in Prometheus 3.
//!
//! It checks each line on its own; unlike OpenMetrics, the format has no rules across lines
//! (ordering, grouping, histogram shape) that Prometheus enforces while parsing.

use super::lex::{parse_float, Cursor, LabelSyntax};
use super::{Entry, MetricType, ParseError, Parser, SeriesEntry};

const LABELS: LabelSyntax = LabelSyntax {
    spaces: true,
    trailing_comma: true,
    quoted_metric_name: true,
};

impl<'a> Parser<'a> {
    pub(super) fn next_text(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        while let Some((bytes, _)) = self.next_line() {
            let line = self.utf8(bytes)?;
            let entry = parse_line(line).map_err(|message| self.error(message))?;
            if entry.is_some() {
                return Ok(entry);
            }
        }
        Ok(None)
    }
}

/// One line; `None` for blank lines and plain comments.
fn parse_line(line: &str) -> Result<Option<Entry<'_>>, String> {
    let mut c = Cursor::new(line);
    c.skip_spaces();
    match c.peek() {
        None => Ok(None),
        Some(b'#') => parse_comment(c),
        Some(_) => parse_sample(c).map(|s| Some(Entry::Series(s))),
    }
}

/// A line starting with `#`: `HELP` or `TYPE` metadata, otherwise a comment.
fn parse_comment(mut c: Cursor<'_>) -> Result<Option<Entry<'_>>, String> {
    c.eat(b'#');
    if c.skip_spaces() == 0 {
        return Ok(None);
    }
    let is_help = c.eat_str("HELP");
    if !is_help && !c.eat_str("TYPE") {
        return Ok(None);
    }
    let keyword = if is_help { "HELP" } else { "TYPE" };
    if c.skip_spaces() == 0 {
        // `# HELPER ...` is an ordinary comment; `# HELP` alone names nothing.
        return if c.at_end() {
            Err(format!("expected a metric name after # {keyword}"))
        } else {
            Ok(None)
        };
    }
    let metric = c
        .metadata_name()
        .map_err(|e| format!("{e} after # {keyword}"))?;
    if !c.at_end() && c.skip_spaces() == 0 {
        return Err(format!(
            "expected a space after the metric name in # {keyword}, got {}",
            c.describe()
        ));
    }
    if is_help {
        return Ok(Some(Entry::Help {
            metric,
            text: super::lex::unescape(c.rest(), false),
        }));
    }
    let name = c.rest().trim_end_matches([' ', '\t']);
    let kind = match name {
        "counter" => MetricType::Counter,
        "gauge" => MetricType::Gauge,
        "histogram" => MetricType::Histogram,
        "summary" => MetricType::Summary,
        "untyped" => MetricType::Unknown,
        _ => return Err(format!("invalid metric type {name:?}")),
    };
    Ok(Some(Entry::Type { metric, kind }))
}

fn parse_sample(mut c: Cursor<'_>) -> Result<SeriesEntry<'_>, String> {
    let mut labels = Vec::new();
    let name = if c.eat(b'{') {
        c.label_set(LABELS, &mut labels)?
            .ok_or("missing metric name")?
    } else {
        let name = c
            .metric_name()
            .ok_or_else(|| format!("expected a metric name, got {}", c.describe()))?;
        c.skip_spaces();
        if c.eat(b'{') && c.label_set(LABELS, &mut labels)?.is_some() {
            return Err(format!("metric name {name:?} given twice"));
        }
        name
    };
    c.skip_spaces();
    let token = c.token();
    if token.is_empty() {
        return Err("expected a value".into());
    }
    let value = parse_float(token).ok_or_else(|| format!("invalid value {token:?}"))?;
    c.skip_spaces();
    let mut timestamp_ms = None;
    if !c.at_end() {
        let token = c.token();
        timestamp_ms = Some(
            token
                .parse::<i64>()
                .map_err(|_| format!("invalid timestamp {token:?}"))?,
        );
        c.skip_spaces();
        if !c.at_end() {
            return Err(format!("unexpected {:?} after the timestamp", c.rest()));
        }
    }
    Ok(SeriesEntry {
        name,
        labels,
        value,
        timestamp_ms,
        exemplar: None,
    })
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::super::Format;
    use super::*;

    fn parse_all(input: &str) -> Result<Vec<Entry<'_>>, ParseError> {
        let mut p = Parser::new(input.as_bytes(), Format::PrometheusText);
        let mut out = Vec::new();
        while let Some(e) = p.next_entry()? {
            out.push(e);
        }
        Ok(out)
    }

    fn series<'a>(e: &'a Entry<'a>) -> &'a SeriesEntry<'a> {
        match e {
            Entry::Series(s) => s,
            other => panic!("expected a series, got {other:?}"),
        }
    }

    #[test]
    fn every_entry_kind_and_comments() {
        let input = "# HELP a Some\\\\help\\n \\\"x\\\"\n# a comment\n\n#\n# TYPE a untyped \n\
                     a{b=\"c\",} 1.5 -1700\n  a 2\t\n# EOF\n";
        let entries = parse_all(input).unwrap();
        assert_eq!(entries.len(), 4);
        assert_eq!(
            entries[0],
            Entry::Help {
                metric: "a",
                text: Cow::Owned("Some\\help\n \\\"x\\\"".into())
            }
        );
        assert_eq!(
            entries[1],
            Entry::Type {
                metric: "a",
                kind: MetricType::Unknown
            }
        );
        let s = series(&entries[2]);
        assert_eq!((s.name, s.value, s.timestamp_ms), ("a", 1.5, Some(-1700)));
        assert_eq!(s.labels, vec![("b", Cow::Borrowed("c"))]);
        assert_eq!(series(&entries[3]).timestamp_ms, None);
    }

    #[test]
    fn values_and_escapes() {
        let entries = parse_all("a NaN\nb +Inf\nc -Inf\nd{x=\"q\\\"\\\\\\n\"} 1e3\n").unwrap();
        assert!(series(&entries[0]).value.is_nan());
        assert_eq!(series(&entries[1]).value, f64::INFINITY);
        assert_eq!(series(&entries[2]).value, f64::NEG_INFINITY);
        assert_eq!(series(&entries[3]).labels[0].1, "q\"\\\n");
    }

    #[test]
    fn quoted_names() {
        let entries =
            parse_all("{\"my.metric\", \"label.name\"=\"v\"} 1\n# TYPE \"my.metric\" gauge\n")
                .unwrap();
        let s = series(&entries[0]);
        assert_eq!(s.name, "my.metric");
        assert_eq!(s.labels, vec![("label.name", Cow::Borrowed("v"))]);
        assert_eq!(s.to_labels().unwrap().get("label.name"), Some("v"));
        assert!(matches!(
            entries[1],
            Entry::Type {
                metric: "my.metric",
                ..
            }
        ));
    }

    #[test]
    fn errors_carry_line_numbers() {
        for (input, line) in [
            ("a 1\n\nb 1 1.5\n", 3),
            ("a 1\nb{c=\"d\" 1\n", 2),
            ("# TYPE a meh\n", 1),
            ("a 1\nb\n", 2),
            ("a 1\na 0x1\n", 2),
            ("a 1\na 1 2 3\n", 2),
        ] {
            let err = parse_all(input).unwrap_err();
            assert_eq!(err.line, line, "{input:?}: {err}");
        }
        let mut p = Parser::new(b"a 1\n\n\nb{c=\"\xff\"} 1\n", Format::PrometheusText);
        assert!(p.next_entry().unwrap().is_some());
        assert_eq!(p.next_entry().unwrap_err().line, 4);
    }
}
