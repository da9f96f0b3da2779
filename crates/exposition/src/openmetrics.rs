//! OpenMetrics 1.0 text: the line grammar.
//!
//! Each line is parsed on its own (`parse_metadata`, `parse_sample`) into an [`Entry`]; the
//! rules that span lines live in `om_validate.rs`, which every entry passes through.
//!
//! It does not parse anything only the text format has (`untyped`, free comments, blank lines).

use bongsu_model::{Label, Labels};

use super::lex::{parse_float, Cursor, LabelPairs, LabelSyntax};
use super::{Entry, Exemplar, MetricType, ParseError, Parser, SeriesEntry, State};

/// The spec's limit on an exemplar's label names and values together, in code points.
const MAX_EXEMPLAR_LABEL_CHARS: usize = 128;

const SAMPLE_LABELS: LabelSyntax = LabelSyntax {
    spaces: false,
    trailing_comma: false,
    quoted_metric_name: true,
};

const EXEMPLAR_LABELS: LabelSyntax = LabelSyntax {
    quoted_metric_name: false,
    ..SAMPLE_LABELS
};

impl<'a> Parser<'a> {
    pub(super) fn next_openmetrics(&mut self) -> Result<Option<Entry<'a>>, ParseError> {
        let Some((bytes, terminated)) = self.next_line() else {
            return Err(ParseError {
                line: self.line + 1,
                message: "missing \"# EOF\" at the end".into(),
            });
        };
        let line = self.utf8(bytes)?;
        let line_no = self.line;
        let State::OpenMetrics(validator) = &mut self.state else {
            return Err(self.error("internal: OpenMetrics line read by another parser"));
        };
        if line == "# EOF" {
            if let Some(v) = validator {
                v.finish()?;
            }
            if !self.at_end() {
                return Err(ParseError {
                    line: line_no + 1,
                    message: "data after \"# EOF\"".into(),
                });
            }
            return Ok(None);
        }
        if !terminated {
            return Err(ParseError {
                line: line_no,
                message: "missing \"# EOF\" at the end (last line has no newline)".into(),
            });
        }
        let at = |message: String| ParseError {
            line: line_no,
            message,
        };
        if line.is_empty() {
            return Err(at("blank lines are not allowed".into()));
        }
        if line.starts_with('#') {
            let entry = parse_metadata(line).map_err(at)?;
            if let Some(v) = validator {
                v.on_metadata(&entry, line_no)?;
            }
            Ok(Some(entry))
        } else {
            let (series, ts_seconds) = parse_sample(line).map_err(at)?;
            if let Some(v) = validator {
                v.on_sample(&series, ts_seconds, line_no)?;
            }
            Ok(Some(Entry::Series(series)))
        }
    }
}

/// A `# HELP`, `# TYPE` or `# UNIT` line (`# EOF` is handled by the caller).
fn parse_metadata(line: &str) -> Result<Entry<'_>, String> {
    let mut c = Cursor::new(line);
    let keyword = if c.eat_str("# HELP ") {
        "HELP"
    } else if c.eat_str("# TYPE ") {
        "TYPE"
    } else if c.eat_str("# UNIT ") {
        "UNIT"
    } else {
        return Err(format!(
            "expected \"# HELP \", \"# TYPE \", \"# UNIT \" or \"# EOF\", got {line:?}"
        ));
    };
    let metric = c
        .metadata_name()
        .map_err(|e| format!("{e} after # {keyword}"))?;
    if !c.eat(b' ') {
        return Err(format!(
            "expected a space after the metric name in # {keyword}, got {}",
            c.describe()
        ));
    }
    let rest = c.rest();
    Ok(match keyword {
        "HELP" => Entry::Help {
            metric,
            text: super::lex::unescape(rest, true),
        },
        "TYPE" => Entry::Type {
            metric,
            kind: parse_type(rest).ok_or_else(|| format!("invalid metric type {rest:?}"))?,
        },
        _ => Entry::Unit { metric, unit: rest },
    })
}

fn parse_type(s: &str) -> Option<MetricType> {
    Some(match s {
        "counter" => MetricType::Counter,
        "gauge" => MetricType::Gauge,
        "histogram" => MetricType::Histogram,
        "gaugehistogram" => MetricType::GaugeHistogram,
        "summary" => MetricType::Summary,
        "info" => MetricType::Info,
        "stateset" => MetricType::StateSet,
        "unknown" => MetricType::Unknown,
        _ => return None,
    })
}

/// A sample line: `name{labels} value [timestamp] [# {labels} value [timestamp]]`, single
/// spaces only. Also returns the timestamp in seconds, which the validator compares exactly.
fn parse_sample(line: &str) -> Result<(SeriesEntry<'_>, Option<f64>), String> {
    let mut c = Cursor::new(line);
    let mut labels = Vec::new();
    let name = if c.eat(b'{') {
        c.label_set(SAMPLE_LABELS, &mut labels)?
            .ok_or("missing metric name")?
    } else {
        let name = c
            .metric_name()
            .ok_or_else(|| format!("expected a metric name, got {}", c.describe()))?;
        if c.eat(b'{') && c.label_set(SAMPLE_LABELS, &mut labels)?.is_some() {
            return Err(format!("metric name {name:?} given twice"));
        }
        name
    };
    if !c.eat(b' ') {
        return Err(format!(
            "expected a space before the value, got {}",
            c.describe()
        ));
    }
    let value = number(&mut c, "value")?;
    let mut entry = SeriesEntry {
        name,
        labels,
        value,
        timestamp_ms: None,
        exemplar: None,
    };
    let mut ts_seconds = None;
    if c.at_end() {
        return Ok((entry, ts_seconds));
    }
    expect_space(&mut c, "value")?;
    if c.peek() != Some(b'#') {
        let secs = timestamp(&mut c)?;
        ts_seconds = Some(secs);
        entry.timestamp_ms = Some(seconds_to_ms(secs));
        if c.at_end() {
            return Ok((entry, ts_seconds));
        }
        expect_space(&mut c, "timestamp")?;
    }
    if !c.eat_str("# {") {
        return Err(format!(
            "expected \"# {{\" to start an exemplar, got {:?}",
            c.rest()
        ));
    }
    entry.exemplar = Some(parse_exemplar(&mut c)?);
    Ok((entry, ts_seconds))
}

/// The exemplar after its `# {`, to the end of the line.
fn parse_exemplar(c: &mut Cursor<'_>) -> Result<Exemplar, String> {
    let mut pairs: LabelPairs<'_> = Vec::new();
    c.label_set(EXEMPLAR_LABELS, &mut pairs)?;
    let chars: usize = pairs
        .iter()
        .map(|(n, v)| n.chars().count() + v.chars().count())
        .sum();
    if chars > MAX_EXEMPLAR_LABEL_CHARS {
        return Err(format!(
            "exemplar labels have {chars} characters, more than the limit of {MAX_EXEMPLAR_LABEL_CHARS}"
        ));
    }
    expect_space(c, "exemplar labels")?;
    let value = number(c, "exemplar value")?;
    let mut timestamp_ms = None;
    if !c.at_end() {
        expect_space(c, "exemplar value")?;
        timestamp_ms = Some(seconds_to_ms(timestamp(c)?));
        if !c.at_end() {
            return Err(format!(
                "unexpected {:?} after the exemplar timestamp",
                c.rest()
            ));
        }
    }
    let labels = Labels::new(
        pairs
            .iter()
            .map(|(n, v)| Label::new(*n, v.as_ref()))
            .collect(),
    )
    .map_err(|e| format!("invalid exemplar labels: {e}"))?;
    Ok(Exemplar {
        labels,
        value,
        timestamp_ms,
    })
}

fn expect_space(c: &mut Cursor<'_>, after: &str) -> Result<(), String> {
    if c.eat(b' ') {
        Ok(())
    } else {
        Err(format!(
            "expected a space after the {after}, got {}",
            c.describe()
        ))
    }
}

fn number(c: &mut Cursor<'_>, what: &str) -> Result<f64, String> {
    let token = c.token();
    parse_float(token).ok_or_else(|| format!("invalid {what} {token:?}"))
}

/// A timestamp in (float) seconds; it must be finite.
fn timestamp(c: &mut Cursor<'_>) -> Result<f64, String> {
    let token = c.token();
    match parse_float(token) {
        Some(secs) if secs.is_finite() => Ok(secs),
        _ => Err(format!("invalid timestamp {token:?}")),
    }
}

/// Seconds to milliseconds as Prometheus converts them: multiply, then truncate toward zero
/// (saturating where Go's conversion would be undefined).
fn seconds_to_ms(secs: f64) -> i64 {
    (secs * 1000.0) as i64
}

#[cfg(test)]
mod tests {
    use std::borrow::Cow;

    use super::super::{Format, Validation};
    use super::*;

    fn parse_all(input: &str) -> Result<Vec<Entry<'_>>, ParseError> {
        parse_bytes(input.as_bytes())
    }

    #[test]
    fn compatible_mode_accepts_what_prometheus_accepts() {
        // A summary written per target, its _sum and _count between the targets' quantiles, as
        // backfill files and some exporters do; Prometheus and promtool accept it.
        let input = "# TYPE s unknown\ns{q=\"0\",i=\"a\"} 0 1\ns_count{i=\"a\"} 0 1\ns{q=\"0\",i=\"b\"} 0 1\n# EOF\n";
        assert!(
            parse_all(input).is_err(),
            "strict OpenMetrics rejects the repeated family"
        );
        let mut p = Parser::new(input.as_bytes(), Format::OpenMetrics);
        let mut n = 0;
        while let Some(e) = p.next_entry().unwrap() {
            n += usize::from(matches!(e, Entry::Series(_)));
        }
        assert_eq!(n, 3);
        // Grammar errors stay errors in every mode.
        let bad = "s{q=\"0\"} x 1\n# EOF\n";
        assert_eq!(
            Parser::new(bad.as_bytes(), Format::OpenMetrics)
                .next_entry()
                .unwrap_err()
                .line,
            1
        );
    }

    fn parse_bytes(input: &[u8]) -> Result<Vec<Entry<'_>>, ParseError> {
        let mut p = Parser::with_validation(input, Format::OpenMetrics, Validation::Strict);
        let mut out = Vec::new();
        while let Some(e) = p.next_entry()? {
            out.push(e);
        }
        Ok(out)
    }

    fn error_line(input: &str) -> usize {
        parse_all(input).unwrap_err().line
    }

    #[test]
    fn every_entry_kind() {
        let input = "# TYPE a_seconds histogram\n# UNIT a_seconds seconds\n# HELP a_seconds Some \\\"help\\\"\\n\n\
                     a_seconds_bucket{le=\"+Inf\"} 1 # {trace_id=\"x\"} 0.5 1.5\n# EOF\n";
        let entries = parse_all(input).unwrap();
        assert_eq!(
            entries[0],
            Entry::Type {
                metric: "a_seconds",
                kind: MetricType::Histogram
            }
        );
        assert_eq!(
            entries[1],
            Entry::Unit {
                metric: "a_seconds",
                unit: "seconds"
            }
        );
        assert_eq!(
            entries[2],
            Entry::Help {
                metric: "a_seconds",
                text: Cow::Owned("Some \"help\"\n".into())
            }
        );
        let Entry::Series(s) = &entries[3] else {
            panic!("expected a series, got {:?}", entries[3]);
        };
        assert_eq!(s.name, "a_seconds_bucket");
        assert_eq!(s.labels, vec![("le", Cow::Borrowed("+Inf"))]);
        assert_eq!(s.value, 1.0);
        assert_eq!(s.timestamp_ms, None);
        let ex = s.exemplar.as_ref().unwrap();
        assert_eq!(ex.labels, Labels::from_pairs(&[("trace_id", "x")]).unwrap());
        assert_eq!(ex.value, 0.5);
        assert_eq!(ex.timestamp_ms, Some(1500));
        assert_eq!(
            s.to_labels().unwrap().to_string(),
            "a_seconds_bucket{le=\"+Inf\"}"
        );
    }

    #[test]
    fn timestamps_convert_like_prometheus() {
        let input = "a 1 1.5\nb 1 1.0019\nc 1 2e3\nd 1 -0.5\ne 1 1e30\n# EOF\n";
        let got: Vec<Option<i64>> = parse_all(input)
            .unwrap()
            .into_iter()
            .map(|e| match e {
                Entry::Series(s) => s.timestamp_ms,
                _ => None,
            })
            .collect();
        assert_eq!(
            got,
            vec![
                Some(1500),
                Some(1001),
                Some(2_000_000),
                Some(-500),
                Some(i64::MAX)
            ]
        );
    }

    #[test]
    fn escapes_in_labels_and_names() {
        let entries =
            parse_all("{\"my.metric\",\"a.b\"=\"x\\\\y\\\"z\\n\",c=\"\\q\"} 1\n# EOF\n").unwrap();
        let Entry::Series(s) = &entries[0] else {
            panic!("expected a series");
        };
        assert_eq!(s.name, "my.metric");
        assert_eq!(s.labels[0], ("a.b", Cow::Owned("x\\y\"z\n".into())));
        assert_eq!(s.labels[1], ("c", Cow::Owned("\\q".into())));
    }

    #[test]
    fn errors_carry_line_numbers() {
        assert_eq!(error_line("a 1\nb x\n# EOF\n"), 2);
        assert_eq!(error_line("a 1\n\n# EOF\n"), 2);
        assert_eq!(error_line("a 1\n"), 2);
        assert_eq!(error_line("a 1\n# EOF\nb 1\n"), 3);
        assert_eq!(error_line("a 1\nb 1\na 2\n# EOF\n"), 3);
        assert_eq!(
            error_line("# TYPE h histogram\nh_bucket{le=\"1\"} 0\n# EOF\n"),
            2
        );
        assert_eq!(
            parse_bytes(b"a 1\nb{c=\"\xff\"} 1\n# EOF\n")
                .unwrap_err()
                .line,
            2
        );
    }

    #[test]
    fn exemplar_rules() {
        assert!(parse_all("# TYPE a counter\na_total 1 # {} 1\n# EOF\n").is_ok());
        assert!(parse_all("# TYPE a gauge\na 1 # {a=\"b\"} 1\n# EOF\n").is_err());
        assert!(parse_all("# TYPE a counter\na_total 1 # {a=\"b\"} 1 \n# EOF\n").is_err());
        let long = "x".repeat(128);
        assert!(parse_all(&format!(
            "# TYPE a counter\na_total 1 # {{a=\"{long}\"}} 1\n# EOF\n"
        ))
        .is_err());
    }

    #[test]
    fn compatible_accepts_negative_sums() {
        let input = "# TYPE a histogram\na_bucket{le=\"-1\"} 1\na_bucket{le=\"+Inf\"} 1\na_sum -3\na_count 1\n# EOF\n";
        assert!(parse_all(input).is_err());
        let mut p = Parser::new(input.as_bytes(), Format::OpenMetrics);
        while p.next_entry().unwrap().is_some() {}
    }
}
