//! `GET /federate`: the newest sample within the lookback delta of every series matching any
//! `match[]`, in the Prometheus text format, as upstream's federation handler writes it:
//! families by metric name (all `untyped`), the series' labels, then the external labels the
//! series does not already have (with `instance=""` when it has no instance), and the sample's
//! own timestamp. Stale series are left out. Native histograms are not stored, so none are
//! written.

use std::collections::BTreeMap;

use axum::extract::{RawQuery, State};
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};

use bongsu_model::{is_stale_nan, Labels, METRIC_NAME};
use bongsu_storage::Queryable;

use super::params::{parse_selector, Params};
use super::{json, now_ms, ApiState};

/// The content type of the text format version 0.0.4, which Prometheus answers by default.
const TEXT_FORMAT: &str = "text/plain; version=0.0.4; charset=utf-8";

fn plain(status: StatusCode, msg: String) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        msg + "\n",
    )
        .into_response()
}

pub(super) async fn federate(State(s): State<ApiState>, RawQuery(q): RawQuery) -> Response {
    let p = match Params::parse(q.as_deref(), None) {
        Ok(p) => p,
        Err(e) => {
            return plain(
                StatusCode::BAD_REQUEST,
                format!("error parsing form values: {e}"),
            )
        }
    };
    let sets = match p
        .all("match[]")
        .into_iter()
        .map(parse_selector)
        .collect::<Result<Vec<_>, _>>()
    {
        Ok(sets) => sets,
        Err(e) => return plain(StatusCode::BAD_REQUEST, e),
    };
    let Ok(db) = s.db() else {
        return plain(StatusCode::SERVICE_UNAVAILABLE, "TSDB not ready".into());
    };
    let external = s.0.external_labels.lock().clone();
    let lookback = s.0.engine.lookback_ms;
    let work = move || -> Result<String, String> {
        let maxt = now_ms();
        let querier = db
            .querier(maxt - lookback, maxt)
            .map_err(|e| e.to_string())?;
        // Deduplicated across match[] sets, in label order.
        let mut latest: BTreeMap<Labels, (i64, f64)> = BTreeMap::new();
        for set in &sets {
            for series in querier.select(set).map_err(|e| e.to_string())? {
                if let Some(last) = series.samples.last() {
                    if !is_stale_nan(last.v) {
                        latest.insert(series.labels, (last.t, last.v));
                    }
                }
            }
        }
        let mut samples: Vec<_> = latest.into_iter().collect();
        // Stable: series of one name stay in label order.
        samples.sort_by(|a, b| a.0.get(METRIC_NAME).cmp(&b.0.get(METRIC_NAME)));
        Ok(render(&samples, &external))
    };
    match tokio::task::spawn_blocking(work).await {
        Ok(Ok(body)) => ([(header::CONTENT_TYPE, TEXT_FORMAT)], body).into_response(),
        Ok(Err(e)) => plain(StatusCode::INTERNAL_SERVER_ERROR, e),
        Err(e) => plain(StatusCode::INTERNAL_SERVER_ERROR, e.to_string()),
    }
}

/// The text format of `samples` (sorted by metric name) with `external` labels added.
fn render(samples: &[(Labels, (i64, f64))], external: &Labels) -> String {
    let mut extra: Vec<(&str, &str)> = external.iter().map(|l| (&*l.name, &*l.value)).collect();
    if !extra.iter().any(|(n, _)| *n == "instance") {
        extra.push(("instance", ""));
        extra.sort();
    }
    let mut out = String::new();
    let mut last_name: Option<&str> = None;
    for (labels, (t, v)) in samples {
        let Some(name) = labels.get(METRIC_NAME) else {
            continue;
        };
        if last_name != Some(name) {
            out.push_str("# TYPE ");
            out.push_str(name);
            out.push_str(" untyped\n");
            last_name = Some(name);
        }
        out.push_str(name);
        let mut pairs: Vec<(&str, &str)> = labels
            .iter()
            .filter(|l| &*l.name != METRIC_NAME && !l.value.is_empty())
            .map(|l| (&*l.name, &*l.value))
            .collect();
        let own = pairs.len();
        for &(n, v) in &extra {
            if !pairs[..own].iter().any(|(name, _)| *name == n) {
                pairs.push((n, v));
            }
        }
        if !pairs.is_empty() {
            out.push('{');
            for (i, (n, v)) in pairs.iter().enumerate() {
                if i > 0 {
                    out.push(',');
                }
                out.push_str(n);
                out.push_str("=\"");
                escape_label_value(&mut out, v);
                out.push('"');
            }
            out.push('}');
        }
        out.push(' ');
        out.push_str(&go_float(*v));
        out.push(' ');
        out.push_str(&t.to_string());
        out.push('\n');
    }
    out
}

fn escape_label_value(out: &mut String, v: &str) {
    for c in v.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
}

/// A value as the text format writes it (Go's `strconv.FormatFloat(v, 'g', -1, 64)`).
fn go_float(v: f64) -> String {
    if v.is_nan() {
        return "NaN".into();
    }
    if v.is_infinite() {
        return if v > 0.0 { "+Inf" } else { "-Inf" }.into();
    }
    if v == 0.0 {
        return if v.is_sign_negative() { "-0" } else { "0" }.into();
    }
    // With the shortest precision, Go's 'g' switches to the exponent form when the decimal
    // exponent is below -4 or 6 and above.
    let exp = format!("{v:e}")
        .split_once('e')
        .and_then(|(_, e)| e.parse::<i32>().ok())
        .unwrap_or(0);
    if (-4..6).contains(&exp) {
        json::format_decimal(v)
    } else {
        json::go_exponent(v)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn floats_as_go_writes_them() {
        assert_eq!(go_float(1.0), "1");
        assert_eq!(go_float(123456.0), "123456");
        assert_eq!(go_float(1234567.0), "1.234567e+06");
        assert_eq!(go_float(0.0001), "0.0001");
        assert_eq!(go_float(0.00001), "1e-05");
        assert_eq!(go_float(-2.5e-10), "-2.5e-10");
        assert_eq!(go_float(1e21), "1e+21");
        assert_eq!(go_float(f64::NEG_INFINITY), "-Inf");
    }

    #[test]
    fn external_labels_and_families() {
        let a = Labels::from_pairs(&[("__name__", "a"), ("job", "j")]).unwrap();
        let b =
            Labels::from_pairs(&[("__name__", "b"), ("instance", "i"), ("zone", "own")]).unwrap();
        let ext = Labels::from_pairs(&[("zone", "eu")]).unwrap();
        let out = render(&[(a, (1000, 1.0)), (b, (2000, 2.0))], &ext);
        assert_eq!(
            out,
            "# TYPE a untyped\na{job=\"j\",instance=\"\",zone=\"eu\"} 1 1000\n# TYPE b untyped\nb{instance=\"i\",zone=\"own\"} 2 2000\n"
        );
    }
}
