//! The protobuf parser against a real body: Prometheus 3.5.3's own `/metrics`, fetched once
//! as protobuf (`tests/data/prometheus-3.5-self.pb`) and once as text (`…self.txt`, a moment
//! later, so values differ but series do not). Read without native histograms, the protobuf
//! body must give exactly the text body's series and metadata types; read with them, its
//! native histograms must be valid and replace their classic series (kept with
//! `keep_classic` where the message has classic buckets).

use std::collections::BTreeSet;

use bongsu_exposition::proto::{format_openmetrics_float, ProtoOptions, ProtoParser};
use bongsu_exposition::{Entry, Format, Parser, SeriesEntry};

const PB: &[u8] = include_bytes!("data/prometheus-3.5-self.pb");
const TXT: &[u8] = include_bytes!("data/prometheus-3.5-self.txt");

/// A series as text, `le` and `quantile` normalised (text writes `1`, protobuf `1.0`).
fn key(s: &SeriesEntry<'_>) -> String {
    let mut labels: Vec<(String, String)> = s
        .labels
        .iter()
        .map(|(n, v)| {
            let v = match *n {
                "le" | "quantile" => v
                    .parse::<f64>()
                    .map_or(v.to_string(), format_openmetrics_float),
                _ => v.to_string(),
            };
            (n.to_string(), v)
        })
        .collect();
    labels.sort();
    format!("{}{labels:?}", s.name)
}

#[derive(Default)]
struct Read {
    series: BTreeSet<String>,
    types: BTreeSet<String>,
    histograms: Vec<String>,
}

fn read_text() -> Read {
    let mut p = Parser::new(TXT, Format::PrometheusText);
    let mut r = Read::default();
    while let Some(e) = p.next_entry().unwrap() {
        match e {
            Entry::Series(s) => {
                r.series.insert(key(&s));
            }
            Entry::Type { metric, kind } => {
                r.types.insert(format!("{metric} {}", kind.as_str()));
            }
            _ => {}
        }
    }
    r
}

fn read_proto(opts: ProtoOptions) -> Read {
    let mut p = ProtoParser::new(PB, opts);
    let mut r = Read::default();
    while let Some(e) = p.next_entry().unwrap() {
        match e {
            Entry::Series(s) => {
                r.series.insert(key(&s));
            }
            Entry::Type { metric, kind } => {
                r.types.insert(format!("{metric} {}", kind.as_str()));
            }
            Entry::Histogram { series, h } => {
                let f = h.to_float();
                f.validate()
                    .unwrap_or_else(|e| panic!("{}: {e}", series.name));
                r.histograms.push(key(&series));
            }
            _ => {}
        }
    }
    r
}

#[test]
fn classic_reading_matches_the_text_body() {
    let text = read_text();
    let proto = read_proto(ProtoOptions::default());
    assert!(proto.histograms.is_empty());
    assert_eq!(
        proto
            .series
            .symmetric_difference(&text.series)
            .collect::<Vec<_>>(),
        Vec::<&String>::new()
    );
    assert_eq!(proto.types, text.types);
    assert!(text.series.len() > 400, "{}", text.series.len());
}

#[test]
fn native_histograms_replace_their_classic_series() {
    let classic = read_proto(ProtoOptions::default());
    let native = read_proto(ProtoOptions {
        native_histograms: true,
        ..ProtoOptions::default()
    });
    assert!(!native.histograms.is_empty());
    for h in &native.histograms {
        let name = &h[..h.find('[').unwrap_or(h.len())];
        let bucket = format!("{name}_bucket");
        assert!(
            !native.series.iter().any(|s| s.starts_with(&bucket)),
            "{name} is native: no classic buckets"
        );
        assert!(classic.series.iter().any(|s| s.starts_with(&bucket)));
    }
    let both = read_proto(ProtoOptions {
        native_histograms: true,
        keep_classic: true,
        ..ProtoOptions::default()
    });
    // Classic series are kept for histograms that have classic buckets; a native-only
    // histogram has none to keep (read classically it is only `+Inf`, `_count`, `_sum`).
    assert!(both.series.is_subset(&classic.series));
    assert!(native.series.is_subset(&both.series));
    assert!(both.series.len() > native.series.len());
    assert_eq!(both.histograms, native.histograms);
}
