//! `GET|POST /loki/api/v1/patterns`: log patterns of the selected streams with their line
//! counts per step, in Loki's shape
//! `{"status":"success","data":[{"pattern":"…","level":"…","samples":[[secs,count],…]}]}`.
//!
//! Parameters as Loki's `ParsePatternsQuery`: `query` (label matchers only), `start`/`end`/
//! `since` (1 h), `step` (default: the range over 250 points; at least 10 s is used). Loki
//! mines patterns as lines arrive; we mine them at query time over the newest lines of the
//! range (see `logengine::patterns` for the bound and the other differences). The pattern text
//! is written with `<`, `>` and `&` escaped as Go's `WriteStringWithHTMLEscaped` writes them.

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::http::header;
use axum::response::{IntoResponse, Response};
use bongsu_logengine::{patterns as mine, PatternSeries};

use super::params::{bounds, matchers_only, params, step, DEFAULT_QUERY_SINCE_NS};
use super::query::query_error;
use super::{blocking, LokiError};
use crate::json::write_str;
use crate::ApiState;

pub(super) async fn patterns(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let p = params(q, &body)?;
    let (start, end) = bounds(&p, DEFAULT_QUERY_SINCE_NS)?;
    let step = step(&p, start, end)?;
    let matchers = matchers_only(p.get("query").unwrap_or(""))?;
    let store = s.logs()?;
    let series = blocking(&s, move || {
        mine(&store, &matchers, start, end, step).map_err(query_error)
    })
    .await?;
    let mut body = String::from("{\"status\":\"success\",\"data\":");
    write_series(&mut body, &series);
    body.push('}');
    Ok(([(header::CONTENT_TYPE, "application/json")], body).into_response())
}

fn write_series(out: &mut String, series: &[PatternSeries]) {
    out.push('[');
    for (i, s) in series.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"pattern\":");
        let mut text = String::new();
        write_str(&mut text, &s.pattern);
        out.push_str(
            &text
                .replace('<', "\\u003c")
                .replace('>', "\\u003e")
                .replace('&', "\\u0026"),
        );
        out.push_str(",\"level\":");
        write_str(out, &s.level);
        out.push_str(",\"samples\":[");
        for (j, (t, n)) in s.samples.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push('[');
            out.push_str(&t.to_string());
            out.push(',');
            out.push_str(&n.to_string());
            out.push(']');
        }
        out.push_str("]}");
    }
    out.push(']');
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn patterns_in_lokis_shape() {
        let mut out = String::new();
        write_series(
            &mut out,
            &[PatternSeries {
                pattern: "a <_> & b".into(),
                level: "info".into(),
                samples: vec![(10, 3), (20, 0)],
            }],
        );
        assert_eq!(
            out,
            r#"[{"pattern":"a \u003c_\u003e \u0026 b","level":"info","samples":[[10,3],[20,0]]}]"#
        );
    }
}
