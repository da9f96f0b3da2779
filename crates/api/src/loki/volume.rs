//! `index/volume` and `index/volume_range`: bytes of the selected streams, aggregated as Loki's
//! index does (`seriesvolume`, `queryrange.NewVolumeMiddleware`), as a vector at `end` or a
//! matrix with one point per step bucket.
//!
//! Aggregation (`aggregateBy`): `series` (the default) groups streams by their labels
//! projected onto `targetLabels`, or onto the names of the query's matchers when none are
//! given (all labels for an empty query); `labels` gives one series `{name=""}` per label name
//! (of `targetLabels` only, when given) with the bytes of the streams carrying it. Each bucket
//! keeps its `limit` largest groups (ties by name). Buckets are Loki's: aligned to the step,
//! the first starting at `start` and the last ending at `end`; a bucket's point is stamped with
//! its end (`step - 1ms` after its aligned start, as Loki prints it).
//!
//! Bytes are counted by the store without decompressing: head lines exactly, a chunk shared out
//! over the buckets by the part of its time span each covers (Loki prorates the same way).
//! Loki's index counts kilobytes of chunks; we count bytes, so figures differ by that rounding.

use std::collections::HashMap;

use axum::body::Bytes;
use axum::extract::{RawQuery, State};
use axum::response::Response;
use bongsu_model::{Labels, Matcher};

use super::meta::store_error;
use super::params::{bounds, int_param, params, selector, step, DEFAULT_QUERY_SINCE_NS};
use super::{blocking, LokiError};
use crate::json::{write_str, write_timestamp};
use crate::params::Params;
use crate::{ok_json, ApiState};

/// Groups `limit` keeps per bucket unless given (Loki's `defaultVolumeLimit`).
const DEFAULT_VOLUME_LIMIT: i64 = 100;
/// Most groups one bucket may hold before the limit applies (Loki's `volume_max_series`).
pub const MAX_VOLUME_SERIES: usize = 1000;

const MS: i64 = 1_000_000;

/// How streams are grouped.
#[derive(Debug, Clone, PartialEq)]
enum By {
    /// By the projection of the labels onto these names (all labels when `None`).
    Series(Option<Vec<String>>),
    /// One group per label name, only these names when given.
    Labels(Option<Vec<String>>),
}

/// A volume request: which streams, over what, grouped how, with what limit.
struct VolumeRequest {
    matchers: Vec<Matcher>,
    start: i64,
    end: i64,
    by: By,
    limit: usize,
}

/// One bucket: inclusive ns bounds and the millisecond timestamp Loki gives its point.
#[derive(Debug, Clone, Copy, PartialEq)]
struct Bucket {
    from: i64,
    through: i64,
    at_ms: i64,
}

fn parse(p: &Params) -> Result<VolumeRequest, LokiError> {
    let limit = match int_param(p, "limit", DEFAULT_VOLUME_LIMIT)? {
        0 => DEFAULT_VOLUME_LIMIT,
        l if l < 0 => return Err(LokiError::bad("limit must be a positive value")),
        l => l,
    };
    let (start, end) = bounds(p, DEFAULT_QUERY_SINCE_NS)?;
    let matchers = selector(p.get("query"))?;
    let target: Option<Vec<String>> = p
        .get("targetLabels")
        .filter(|s| !s.is_empty())
        .map(|s| s.split(',').map(|x| x.trim().to_string()).collect());
    let by = match p.get("aggregateBy").unwrap_or("") {
        "" | "series" => By::Series(target.or_else(|| {
            (!matchers.is_empty()).then(|| matchers.iter().map(|m| m.name.clone()).collect())
        })),
        "labels" => By::Labels(target),
        _ => return Err(LokiError::bad("invalid aggregation option")),
    };
    Ok(VolumeRequest {
        matchers,
        start,
        end,
        by,
        limit: usize::try_from(limit).unwrap_or(usize::MAX),
    })
}

/// Loki's `util.ForInterval` with an inclusive end: buckets aligned to `step`, the first from
/// `start`, the last to `end`. Our bounds are exact nanoseconds; Loki leaves a 1 ms gap before
/// each aligned start, which only shows in the stamp.
fn buckets(start: i64, end: i64, step: i64) -> Vec<Bucket> {
    let mut out = Vec::new();
    let mut s = start - start.rem_euclid(step);
    while s < end {
        let next = s.saturating_add(step);
        let (through, at) = if next >= end {
            (end, end)
        } else {
            (next - 1, next - MS)
        };
        out.push(Bucket {
            from: s.max(start),
            through,
            at_ms: at.div_euclid(MS),
        });
        s = next;
    }
    out
}

/// The groups one stream's bytes count towards.
fn groups_of(labels: &Labels, by: &By) -> Vec<Group> {
    match by {
        By::Series(names) => vec![labels
            .iter()
            .filter(|l| {
                names
                    .as_ref()
                    .is_none_or(|n| n.iter().any(|n| **n == *l.name))
            })
            .map(|l| (l.name.to_string(), l.value.to_string()))
            .collect()],
        By::Labels(names) => labels
            .iter()
            .filter(|l| {
                names
                    .as_ref()
                    .is_none_or(|n| n.iter().any(|n| **n == *l.name))
            })
            .map(|l| vec![(l.name.to_string(), String::new())])
            .collect(),
    }
}

/// Loki's name of a group, by which ties are ordered: the label set as Prometheus prints it,
/// or the label name.
fn group_name(key: &[(String, String)], by: &By) -> String {
    match by {
        By::Labels(_) => key.first().map(|(n, _)| n.clone()).unwrap_or_default(),
        By::Series(_) => {
            let pairs: Vec<String> = key.iter().map(|(n, v)| format!("{n}={v:?}")).collect();
            format!("{{{}}}", pairs.join(", "))
        }
    }
}

/// A group's labels, sorted by name (`{name=""}` when aggregating by label name).
type Group = Vec<(String, String)>;
/// A series of the answer: its labels and its points `(ms, bytes)` in time order.
type Series = (Group, Vec<(i64, u64)>);

/// Groups each bucket's per-stream bytes, keeps each bucket's `limit` largest groups, and
/// orders the series as Loki: by their first point, largest first, then by name.
fn aggregate(
    streams: &[&Labels],
    bytes: &[Vec<u64>],
    buckets: &[Bucket],
    by: &By,
    limit: usize,
) -> Result<Vec<Series>, LokiError> {
    let stream_groups: Vec<Vec<Group>> = streams.iter().map(|l| groups_of(l, by)).collect();
    let mut series: HashMap<Group, Vec<(i64, u64)>> = HashMap::new();
    for (b, bucket) in buckets.iter().enumerate() {
        let mut groups: HashMap<&Group, u64> = HashMap::new();
        for (s, gs) in stream_groups.iter().enumerate() {
            let n = bytes[s][b];
            if n == 0 {
                continue;
            }
            for g in gs {
                *groups.entry(g).or_default() += n;
            }
        }
        if groups.len() > MAX_VOLUME_SERIES {
            return Err(LokiError::bad(format!(
                "the query hit the max number of series limit (limit: {MAX_VOLUME_SERIES} series)"
            )));
        }
        let mut ranked: Vec<(String, &Group, u64)> = groups
            .into_iter()
            .map(|(k, v)| (group_name(k, by), k, v))
            .collect();
        ranked.sort_by(|a, b| b.2.cmp(&a.2).then_with(|| a.0.cmp(&b.0)));
        ranked.truncate(limit);
        for (_, key, v) in ranked {
            series
                .entry(key.clone())
                .or_default()
                .push((bucket.at_ms, v));
        }
    }
    let mut out: Vec<(String, Series)> = series
        .into_iter()
        .map(|(k, points)| (group_name(&k, by), (k, points)))
        .collect();
    out.sort_by(|a, b| {
        let first = |s: &Series| s.1.first().map_or(0, |p| p.1);
        first(&b.1).cmp(&first(&a.1)).then_with(|| a.0.cmp(&b.0))
    });
    Ok(out.into_iter().map(|(_, s)| s).collect())
}

/// Selects, counts and aggregates on the blocking pool.
async fn run(s: &ApiState, r: VolumeRequest, buckets: Vec<Bucket>) -> Result<String, LokiError> {
    let store = s.logs()?;
    let series = blocking(s, move || {
        let sel = store
            .select(&r.matchers, r.start, r.end)
            .map_err(store_error)?;
        let bounds: Vec<(i64, i64)> = buckets.iter().map(|b| (b.from, b.through)).collect();
        let bytes = sel.volume_buckets(&bounds);
        let labels: Vec<&Labels> = sel.streams().iter().map(|s| &s.labels).collect();
        aggregate(&labels, &bytes, &buckets, &r.by, r.limit)
    })
    .await?;
    Ok(write(&series))
}

/// Loki's `toPrometheusData`: a vector when no series has more than one point.
fn write(series: &[Series]) -> String {
    let matrix = series.iter().any(|s| s.1.len() > 1);
    let mut out = String::from(if matrix {
        "{\"resultType\":\"matrix\",\"result\":["
    } else {
        "{\"resultType\":\"vector\",\"result\":["
    });
    for (i, (labels, points)) in series.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str("{\"metric\":{");
        for (j, (n, v)) in labels.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            write_str(&mut out, n);
            out.push(':');
            write_str(&mut out, v);
        }
        out.push_str(if matrix {
            "},\"values\":["
        } else {
            "},\"value\":"
        });
        for (j, (at, v)) in points.iter().enumerate() {
            if j > 0 {
                out.push(',');
            }
            out.push('[');
            write_timestamp(&mut out, *at);
            out.push_str(",\"");
            out.push_str(&v.to_string());
            out.push_str("\"]");
        }
        out.push_str(if matrix { "]}" } else { "}" });
    }
    out.push_str("]}");
    out
}

/// `GET|POST /loki/api/v1/index/volume`: one bucket `[start, end]`, stamped at `end`.
pub(super) async fn volume(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let r = parse(&params(q, &body)?)?;
    let bucket = Bucket {
        from: r.start,
        through: r.end,
        at_ms: r.end.div_euclid(MS),
    };
    Ok(ok_json(run(&s, r, vec![bucket]).await?))
}

/// `GET|POST /loki/api/v1/index/volume_range`: one bucket per step.
pub(super) async fn volume_range(
    State(s): State<ApiState>,
    RawQuery(q): RawQuery,
    body: Bytes,
) -> Result<Response, LokiError> {
    let p = params(q, &body)?;
    let r = parse(&p)?;
    let step = step(&p, r.start, r.end)?;
    let buckets = buckets(r.start, r.end, step);
    Ok(ok_json(run(&s, r, buckets).await?))
}

#[cfg(test)]
mod tests {
    use super::*;

    const S: i64 = 1_000_000_000;

    #[test]
    fn buckets_as_loki_splits_the_range() {
        let b = buckets(1000 * S + S / 2, 1600 * S, 300 * S);
        let got: Vec<(i64, i64, i64)> = b.iter().map(|b| (b.from, b.through, b.at_ms)).collect();
        assert_eq!(
            got,
            vec![
                (1000 * S + S / 2, 1200 * S - 1, 1_199_999),
                (1200 * S, 1500 * S - 1, 1_499_999),
                (1500 * S, 1600 * S, 1_600_000),
            ]
        );
        assert!(buckets(5 * S, 5 * S, S).is_empty());
    }

    #[test]
    fn groups_by_series_projection_or_by_label_name() {
        let l = Labels::from_pairs(&[("app", "a"), ("env", "prod"), ("job", "j")]).unwrap();
        let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
            v.iter()
                .map(|(a, b)| (a.to_string(), b.to_string()))
                .collect()
        };
        assert_eq!(
            groups_of(&l, &By::Series(Some(vec!["job".into(), "env".into()]))),
            vec![pairs(&[("env", "prod"), ("job", "j")])]
        );
        assert_eq!(groups_of(&l, &By::Series(None)).len(), 1);
        assert_eq!(
            groups_of(&l, &By::Labels(Some(vec!["app".into()]))),
            vec![pairs(&[("app", "")])]
        );
        assert_eq!(groups_of(&l, &By::Labels(None)).len(), 3);
    }

    #[test]
    fn each_bucket_keeps_its_largest_groups() {
        let a = Labels::from_pairs(&[("job", "a")]).unwrap();
        let b = Labels::from_pairs(&[("job", "b")]).unwrap();
        let bk = |at_ms| Bucket {
            from: 0,
            through: 0,
            at_ms,
        };
        let by = By::Series(Some(vec!["job".into()]));
        let out = aggregate(
            &[&a, &b],
            &[vec![5, 1], vec![3, 9]],
            &[bk(1), bk(2)],
            &by,
            1,
        )
        .unwrap();
        assert_eq!(out.len(), 2);
        // Ordered by their first point, largest first.
        assert_eq!(out[0].1, vec![(2, 9)]);
        assert_eq!(out[1].1, vec![(1, 5)]);
        assert_eq!(
            write(&out),
            r#"{"resultType":"vector","result":[{"metric":{"job":"b"},"value":[0.002,"9"]},{"metric":{"job":"a"},"value":[0.001,"5"]}]}"#
        );
    }
}
