//! `NhcbParser` on text bodies, entry by entry.

use super::*;
use crate::Format;

/// Every entry as a line: `type NAME`, `SERIES VALUE` or `SERIES nhcb COUNT SUM [BOUNDS]`.
fn lines(body: &str, keep_classic: bool) -> Vec<String> {
    lines_in(body, Format::PrometheusText, keep_classic)
}

fn lines_in(body: &str, format: Format, keep_classic: bool) -> Vec<String> {
    let mut p = NhcbParser::new(Parser::new(body.as_bytes(), format), keep_classic);
    let mut out = Vec::new();
    while let Some(e) = p.next_entry().unwrap() {
        out.push(match e {
            Entry::Type { metric, .. } => format!("type {metric}"),
            Entry::Help { metric, .. } => format!("help {metric}"),
            Entry::Unit { metric, .. } => format!("unit {metric}"),
            Entry::Series(s) => format!("{} {}", s.to_labels().unwrap(), s.value),
            Entry::Histogram { series, h } => {
                let f = h.to_float();
                format!(
                    "{} nhcb {} {} {:?} {:?}",
                    series.to_labels().unwrap(),
                    f.count,
                    f.sum,
                    f.custom_values,
                    f.positive_buckets
                )
            }
        });
    }
    out.into_iter().map(|l| l.replacen("{}", "", 1)).collect()
}

const BODY: &str = "# TYPE h histogram\n\
h_bucket{a=\"1\",le=\"0.5\"} 1\n\
h_bucket{a=\"1\",le=\"1\"} 3\n\
h_bucket{a=\"1\",le=\"+Inf\"} 4\n\
h_count{a=\"1\"} 4\n\
h_sum{a=\"1\"} 2.5\n\
h_bucket{a=\"2\",le=\"+Inf\"} 0\n\
h_count{a=\"2\"} 0\n\
h_sum{a=\"2\"} 0\n\
# TYPE g gauge\n\
g 1\n";

#[test]
fn classic_histograms_become_nhcbs() {
    assert_eq!(
        lines(BODY, false),
        [
            "type h",
            "h{a=\"1\"} nhcb 4 2.5 [0.5, 1.0] [1.0, 2.0, 1.0]",
            "h{a=\"2\"} nhcb 0 0 [] []",
            "type g",
            "g 1",
        ]
    );
}

#[test]
fn classic_series_kept_when_asked() {
    let got = lines(BODY, true);
    assert_eq!(got.len(), 1 + 8 + 2 + 2);
    assert_eq!(got[1], "h_bucket{a=\"1\", le=\"0.5\"} 1");
    assert_eq!(got[6], "h{a=\"1\"} nhcb 4 2.5 [0.5, 1.0] [1.0, 2.0, 1.0]");
    assert_eq!(got[7], "h_bucket{a=\"2\", le=\"+Inf\"} 0");
}

#[test]
fn untyped_and_broken_histograms() {
    // Without `# TYPE … histogram` nothing is converted.
    assert_eq!(
        lines("h_bucket{le=\"+Inf\"} 1\nh_count 1\n", false),
        ["h_bucket{le=\"+Inf\"} 1", "h_count 1"]
    );
    // Counts that are not cumulative: the group is dropped silently, as upstream.
    assert_eq!(
        lines(
            "# TYPE h histogram\nh_bucket{le=\"1\"} 5\nh_bucket{le=\"+Inf\"} 3\nh_count 3\n",
            false
        ),
        ["type h"]
    );
    // Float counts give a float NHCB; a missing +Inf bucket takes the count.
    assert_eq!(
        lines(
            "# TYPE h histogram\nh_bucket{le=\"1\"} 0.5\nh_count 1.5\nh_sum 3\n",
            false
        ),
        ["type h", "h nhcb 1.5 3 [1.0] [0.5, 1.0]"]
    );
}

#[test]
fn openmetrics_created_series_end_the_group() {
    let body = "# TYPE h histogram\n\
h_bucket{le=\"1.0\"} 1\n\
h_bucket{le=\"+Inf\"} 2\n\
h_count 2\n\
h_sum 3.0\n\
h_created 1.5e9\n\
# TYPE gh gaugehistogram\n\
gh_bucket{le=\"+Inf\"} 1\n\
gh_gcount 1\n\
gh_gsum 1\n\
# EOF\n";
    assert_eq!(
        lines_in(body, Format::OpenMetrics, false),
        [
            "type h",
            "h nhcb 2 3 [1.0] [1.0, 1.0]",
            "h_created 1500000000",
            "type gh",
            "gh_bucket{le=\"+Inf\"} 1",
            "gh_gcount 1",
            "gh_gsum 1",
        ]
    );
}

proptest::proptest! {
    #[test]
    fn never_panics_or_stalls(
        text in "(# TYPE h histogram\n|h_bucket\\{le=\"(1|2|\\+Inf|x)\"\\} [0-9]\n|h_count [0-9]\n|h_sum [0-9]\n|g 1\n|# EOF\n|[a-z_{}=\" .\n]){0,40}",
        keep in proptest::prelude::any::<bool>(),
    ) {
        for format in [Format::PrometheusText, Format::OpenMetrics] {
            let mut p = NhcbParser::new(Parser::new(text.as_bytes(), format), keep);
            // At most one NHCB per series, so twice the lines bounds the entries.
            let bound = 2 * (text.lines().count() + 2);
            let mut n = 0;
            while let Ok(Some(_)) = p.next_entry() {
                n += 1;
                proptest::prop_assert!(n <= bound, "too many entries");
            }
        }
    }
}
