//! The trim-operator cases (`h </ x`, `h >/ x`) of upstream's
//! `promql/promqltest/testdata/native_histograms.test`, kept in
//! `tests/data/histogram/trim.test` and evaluated on the loaded histograms directly.

use bongsu_model::histogram::FloatHistogram;

/// promqltest's `almost.Equal` with its default epsilon.
fn almost(a: f64, b: f64) -> bool {
    const EPS: f64 = 0.000001;
    if a == b || (a.is_nan() && b.is_nan()) {
        return true;
    }
    let diff = (a - b).abs();
    let abs_sum = a.abs() + b.abs();
    if a == 0.0 || b == 0.0 || abs_sum < f64::MIN_POSITIVE {
        return diff < EPS * f64::MIN_POSITIVE;
    }
    diff / abs_sum.min(f64::MAX) < EPS
}

/// promqltest's `compareNativeHistogram` (after both were compacted).
fn histograms_match(exp: &FloatHistogram, got: &FloatHistogram) -> bool {
    let buckets =
        |a: &[f64], b: &[f64]| a.len() == b.len() && a.iter().zip(b).all(|(x, y)| almost(*x, *y));
    let mut e = exp.clone();
    let mut g = got.clone();
    e.compact(0);
    g.compact(0);
    e.schema == g.schema
        && almost(e.count, g.count)
        && almost(e.sum, g.sum)
        && (!e.uses_custom_buckets() || e.custom_values == g.custom_values)
        && e.zero_threshold == g.zero_threshold
        && almost(e.zero_count, g.zero_count)
        && e.negative_spans == g.negative_spans
        && buckets(&e.negative_buckets, &g.negative_buckets)
        && e.positive_spans == g.positive_spans
        && buckets(&e.positive_buckets, &g.positive_buckets)
}

/// Splits `name{labels} {{…}}` into the name, the label part (`{}` when absent) and the
/// histogram text.
fn series_line(line: &str) -> (String, String, String) {
    let line = line.trim();
    let h_at = line.find("{{").unwrap_or(line.len());
    let sel = line[..h_at].trim();
    let (name, labels) = match sel.find('{') {
        Some(i) => (sel[..i].to_string(), sel[i..].to_string()),
        None => (sel.to_string(), "{}".to_string()),
    };
    (name, labels, line[h_at..].trim().to_string())
}

/// The trim-operator cases of upstream's `native_histograms.test` (`h </ x`, `h >/ x`).
#[test]
fn trim_operators_as_promqltest() {
    use bongsu_model::histogram::parse_test_notation;
    let path = format!(
        "{}/tests/data/histogram/trim.test",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    let mut loaded: Vec<(String, String, FloatHistogram)> = Vec::new();
    let mut checked = 0;
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        i += 1;
        if line.starts_with("load ") {
            while i < lines.len()
                && lines[i].starts_with(char::is_whitespace)
                && !lines[i].trim().is_empty()
            {
                let (name, labels, h) = series_line(lines[i]);
                i += 1;
                if !h.starts_with("{{") {
                    continue; // A float series.
                }
                loaded.retain(|(n, l, _)| !(n == &name && l == &labels));
                loaded.push((name, labels, parse_test_notation(&h).unwrap()));
            }
            continue;
        }
        let Some(expr) = line.strip_prefix("eval instant at 1m ") else {
            continue;
        };
        let parts: Vec<&str> = expr.split_whitespace().collect();
        let [metric, op @ ("</" | ">/"), rhs] = parts[..] else {
            continue;
        };
        if metric.contains('(') {
            continue;
        }
        let rhs: f64 = match rhs {
            "+Inf" | "Inf" => f64::INFINITY,
            "-Inf" => f64::NEG_INFINITY,
            r => r.parse().unwrap(),
        };
        let mut expected = Vec::new();
        while i < lines.len()
            && lines[i].starts_with(char::is_whitespace)
            && !lines[i].trim().is_empty()
        {
            expected.push(series_line(lines[i]));
            i += 1;
        }
        for (name, labels, h) in loaded.iter().filter(|(n, _, _)| n == metric) {
            let mut got = h.clone();
            got.trim_buckets(rhs, op == "</");
            let (_, _, want) = expected
                .iter()
                .find(|(_, l, _)| l == labels)
                .unwrap_or_else(|| panic!("{expr}: no expected line for {name}{labels}"));
            let want = parse_test_notation(want).unwrap();
            assert!(
                histograms_match(&want, &got),
                "{expr} on {name}{labels}:\n want {want}\n got  {got}\n ({got:?})"
            );
            checked += 1;
        }
    }
    assert!(checked > 80, "only {checked} trim cases found");
}
