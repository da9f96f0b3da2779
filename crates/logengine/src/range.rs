//! Range aggregations (`count_over_time({…}[5m])`, `quantile_over_time(0.99, … | unwrap x
//! [5m]) by (app)`): every selected line that passes the pipeline gives a sample (1, its
//! length, or its unwrapped value) under its labels — reduced to the grouping when the range
//! aggregation has one, so samples of several streams share a window as in Loki — and each
//! step `t` aggregates the samples of a series in `(t - offset - range, t - offset]`.
//!
//! Functions follow Loki's `range_vector.go`: `rate` is a count (or sum) per second of the
//! range, `rate_counter` Prometheus' extrapolated counter rate, `quantile_over_time`
//! interpolates between ranks, `stddev`/`stdvar` are the population's.

use std::collections::HashMap;

use bongsu_logpipeline::{Conversion, Extract, LabelsBuilder, SampleExtractor, Unwrap};
use bongsu_logql::ast::{Conversion as AstConversion, Grouping, RangeAggregation, RangeOp};
use bongsu_logstore::{LogStore, ScanOptions, Selection};
use bongsu_model::{Label, Labels, MatchOp};

use crate::compile::{compile, label_filter};
use crate::series::{Collected, SeriesSet};
use crate::steps::{StepSeries, Steps};
use crate::{recycle, QueryError, MAX_SAMPLES};

pub(crate) fn evaluate(
    store: &LogStore,
    agg: &RangeAggregation,
    steps: &Steps,
) -> Result<Vec<StepSeries>, QueryError> {
    let range = i64::try_from(agg.range.range.as_nanos()).unwrap_or(i64::MAX);
    let offset = agg.range.offset;
    let (extractor, needles) = extractor(agg)?;
    // Samples of the first step's window through the last's.
    let lo = steps.start.saturating_sub(offset).saturating_sub(range);
    let hi = steps.end().saturating_sub(offset);
    let sel = store.select(&agg.range.log.matchers, lo.saturating_add(1), hi)?;
    let opts = ScanOptions {
        needles,
        ..ScanOptions::default()
    };
    // Streams are independent until their series meet: read them on every core, each worker
    // with its own pipeline copy, then merge the series by labels.
    let workers = crate::workers(sel.streams().len());
    // Streams differ in size: each worker takes the next one when done, the largest first, so
    // that no worker is left alone with a big stream at the end.
    let mut order: Vec<(u64, usize)> = sel
        .volumes()
        .iter()
        .enumerate()
        .map(|(i, &(_, _, entries))| (entries, i))
        .collect();
    order.sort_unstable_by(|a, b| b.cmp(a));
    let next = std::sync::atomic::AtomicUsize::new(0);
    let parts = crate::on_workers(workers, |_| {
        let mine = std::iter::from_fn(|| {
            let k = next.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            order.get(k).map(|&(_, i)| i)
        });
        collect(
            &sel,
            mine,
            &opts,
            &mut extractor.clone(),
            agg.grouping.as_ref(),
        )
    });
    let mut series: Vec<Collected> = Vec::new();
    let mut by_labels: HashMap<Labels, usize> = HashMap::new();
    let mut total = 0usize;
    for part in parts {
        for c in part? {
            total += c.samples.len();
            if total > MAX_SAMPLES {
                return Err(QueryError::Limit(format!(
                    "the query would hold more than {MAX_SAMPLES} samples in memory"
                )));
            }
            match by_labels.get(&c.labels) {
                Some(&i) => series[i].samples.extend(c.samples),
                None => {
                    by_labels.insert(c.labels.clone(), series.len());
                    series.push(c);
                }
            }
        }
    }
    if agg.op == RangeOp::AbsentOverTime {
        return Ok(absent(
            &agg.range.log.matchers,
            &series,
            steps,
            range,
            offset,
        ));
    }
    let mut out = Vec::with_capacity(series.len());
    for mut s in series {
        s.samples.sort_by_key(|&(t, _)| t);
        let mut values = Vec::with_capacity(steps.count);
        let (mut from, mut to) = (0usize, 0usize);
        for k in 0..steps.count {
            let end = steps.t(k).saturating_sub(offset);
            let start = end.saturating_sub(range);
            while to < s.samples.len() && s.samples[to].0 <= end {
                to += 1;
            }
            while from < to && s.samples[from].0 <= start {
                from += 1;
            }
            let window = &s.samples[from..to];
            values.push((!window.is_empty()).then(|| apply(agg, window, range)));
        }
        if values.iter().any(Option::is_some) {
            out.push(StepSeries {
                labels: s.labels,
                values,
            });
        }
    }
    Ok(out)
}

/// The samples of the streams `which` of `sel`, by output labels.
fn collect(
    sel: &Selection,
    which: impl Iterator<Item = usize>,
    opts: &ScanOptions,
    extractor: &mut SampleExtractor,
    grouping: Option<&Grouping>,
) -> Result<Vec<Collected>, QueryError> {
    let mut series = SeriesSet::new(grouping);
    let mut total = 0usize;
    let mut meta_buf: Vec<(&str, &str)> = Vec::new();
    for i in which {
        let stream = &sel.streams()[i];
        let mut lb = LabelsBuilder::new(stream.labels.clone());
        series.start_stream(&lb);
        let mut cursor = sel.cursor(i, opts);
        while let Some(e) = cursor.next()? {
            let mut meta = recycle(std::mem::take(&mut meta_buf));
            // Pushed by internal iteration: `extend` drives the store's chained iterator one
            // `next` at a time, which cost more than the rest of a line's metadata handling.
            e.metadata().for_each(|pair| meta.push(pair));
            let sample = extractor.process(e.ts, e.line.as_bytes(), &meta, &mut lb);
            meta_buf = recycle(meta);
            let Some(v) = sample else {
                continue;
            };
            series.push(&mut lb, (e.ts, v))?;
            total += 1;
            if total > MAX_SAMPLES {
                return Err(QueryError::Limit(format!(
                    "the query would hold more than {MAX_SAMPLES} samples in memory"
                )));
            }
        }
    }
    Ok(series.into_series())
}

/// The aggregation's pipeline and sample extraction, and its needles.
fn extractor(
    agg: &RangeAggregation,
) -> Result<(SampleExtractor, Vec<bongsu_logstore::Needle>), QueryError> {
    let compiled = compile(&agg.range.log.stages)?;
    let extract = match &agg.range.unwrap {
        Some(u) => {
            let post = u
                .post_filters
                .iter()
                .map(label_filter)
                .collect::<Result<Vec<_>, _>>()?;
            let conversion = match u.conversion {
                AstConversion::None => Conversion::Float,
                AstConversion::Bytes => Conversion::Bytes,
                AstConversion::Duration | AstConversion::DurationSeconds => Conversion::Duration,
            };
            Extract::Unwrap(Unwrap::new(&u.label, conversion, post))
        }
        None => match agg.op {
            RangeOp::BytesOverTime | RangeOp::BytesRate => Extract::Bytes,
            _ => Extract::Count,
        },
    };
    Ok((
        SampleExtractor::new(compiled.pipeline, extract),
        compiled.needles,
    ))
}

/// `absent_over_time`: 1, labelled by the selector's equality matchers, at the steps where no
/// series has a sample.
fn absent(
    matchers: &[bongsu_model::Matcher],
    series: &[Collected],
    steps: &Steps,
    range: i64,
    offset: i64,
) -> Vec<StepSeries> {
    let mut times: Vec<i64> = series
        .iter()
        .flat_map(|s| s.samples.iter().map(|x| x.0))
        .collect();
    times.sort_unstable();
    let mut values = Vec::with_capacity(steps.count);
    for k in 0..steps.count {
        let end = steps.t(k).saturating_sub(offset);
        let start = end.saturating_sub(range);
        let first_after = times.partition_point(|&t| t <= start);
        let present = times.get(first_after).is_some_and(|&t| t <= end);
        values.push((!present).then_some(1.0));
    }
    let mut seen = std::collections::HashSet::new();
    let labels: Vec<Label> = matchers
        .iter()
        .filter(|m| m.op == MatchOp::Equal && seen.insert(m.name.clone()))
        .map(|m| Label::new(m.name.as_str(), m.value.as_str()))
        .collect();
    if values.iter().all(Option::is_none) {
        return Vec::new();
    }
    vec![StepSeries {
        labels: Labels::new(labels).unwrap_or_default(),
        values,
    }]
}

fn apply(agg: &RangeAggregation, w: &[(i64, f64)], range: i64) -> f64 {
    let secs = range as f64 / 1e9;
    let sum = || w.iter().map(|s| s.1).sum::<f64>();
    match agg.op {
        RangeOp::CountOverTime => w.len() as f64,
        RangeOp::Rate if agg.range.unwrap.is_none() => w.len() as f64 / secs,
        RangeOp::Rate => sum() / secs,
        RangeOp::BytesRate => sum() / secs,
        RangeOp::BytesOverTime | RangeOp::SumOverTime => sum(),
        RangeOp::RateCounter => counter_rate(w, range),
        RangeOp::AvgOverTime => avg(w),
        RangeOp::MaxOverTime => w
            .iter()
            .fold(w[0].1, |m, s| if s.1 > m || m.is_nan() { s.1 } else { m }),
        RangeOp::MinOverTime => w
            .iter()
            .fold(w[0].1, |m, s| if s.1 < m || m.is_nan() { s.1 } else { m }),
        RangeOp::StdvarOverTime => variance(w),
        RangeOp::StddevOverTime => variance(w).sqrt(),
        RangeOp::QuantileOverTime => quantile(agg.param.unwrap_or(f64::NAN), w),
        RangeOp::FirstOverTime => w[0].1,
        RangeOp::LastOverTime => w[w.len() - 1].1,
        RangeOp::AbsentOverTime => 1.0,
    }
}

fn avg(w: &[(i64, f64)]) -> f64 {
    let (mut mean, mut count) = (0.0f64, 0.0f64);
    for &(_, v) in w {
        count += 1.0;
        if mean.is_infinite() {
            if v.is_infinite() && (mean > 0.0) == (v > 0.0) {
                continue;
            }
            if !v.is_infinite() && !v.is_nan() {
                continue;
            }
        }
        mean += v / count - mean / count;
    }
    mean
}

fn variance(w: &[(i64, f64)]) -> f64 {
    let (mut aux, mut count, mut mean) = (0.0f64, 0.0f64, 0.0f64);
    for &(_, v) in w {
        count += 1.0;
        let delta = v - mean;
        mean += delta / count;
        aux += delta * (v - mean);
    }
    aux / count
}

/// Loki's (and Prometheus') `quantile`: linear interpolation between ranks `φ·(n-1)`.
pub(crate) fn quantile(q: f64, w: &[(i64, f64)]) -> f64 {
    if w.is_empty() || q.is_nan() {
        return f64::NAN;
    }
    if q < 0.0 {
        return f64::NEG_INFINITY;
    }
    if q > 1.0 {
        return f64::INFINITY;
    }
    let mut v: Vec<f64> = w.iter().map(|s| s.1).collect();
    let n = v.len() as f64;
    let rank = q * (n - 1.0);
    let lower = rank.floor().max(0.0) as usize;
    let upper = ((lower + 1) as f64).min(n - 1.0) as usize;
    let weight = rank - rank.floor();
    // Only the two ranks are needed, not the whole order: the one at `lower` by selection,
    // the next as the least of those above it.
    let (_, &mut at_lower, above) = v.select_nth_unstable_by(lower, f64::total_cmp);
    let at_upper = if upper > lower {
        above
            .iter()
            .copied()
            .min_by(f64::total_cmp)
            .unwrap_or(at_lower)
    } else {
        at_lower
    };
    at_lower * (1.0 - weight) + at_upper * weight
}

/// Prometheus' extrapolated rate of a counter (Loki's `rate_counter`), times in milliseconds.
fn counter_rate(w: &[(i64, f64)], range: i64) -> f64 {
    if w.len() < 2 {
        return 0.0;
    }
    let ms = |t: i64| (t / 1_000_000) as f64;
    let range_ms = (range / 1_000_000) as f64;
    let (first, last) = (w[0], w[w.len() - 1]);
    let range_start = ms(first.0) - range_ms;
    let range_end = ms(last.0);
    let mut result = last.1 - first.1;
    let mut prev = 0.0;
    for &(_, v) in w {
        if v < prev {
            result += prev;
        }
        prev = v;
    }
    let mut to_start = (ms(first.0) - range_start) / 1000.0;
    let to_end = (range_end - ms(last.0)) / 1000.0;
    let sampled = (ms(last.0) - ms(first.0)) / 1000.0;
    let average = sampled / (w.len() - 1) as f64;
    if result > 0.0 && first.1 >= 0.0 {
        let to_zero = sampled * (first.1 / result);
        if to_zero < to_start {
            to_start = to_zero;
        }
    }
    let threshold = average * 1.1;
    let mut interval = sampled;
    interval += if to_start < threshold {
        to_start
    } else {
        average / 2.0
    };
    interval += if to_end < threshold {
        to_end
    } else {
        average / 2.0
    };
    if sampled == 0.0 {
        return 0.0;
    }
    result * (interval / sampled) / (range as f64 / 1e9)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quantile_interpolates_between_ranks() {
        let w: Vec<(i64, f64)> = [1.0, 2.0, 3.0, 4.0].iter().map(|&v| (0, v)).collect();
        assert_eq!(quantile(0.5, &w), 2.5);
        assert_eq!(quantile(0.99, &w), 3.0 + 0.97);
        assert_eq!(quantile(0.0, &w), 1.0);
        assert!(quantile(0.5, &[]).is_nan());
    }

    /// Selection picks the values a full sort would, ties, infinities and NaNs included.
    #[test]
    fn quantile_equals_the_sorted_definition() {
        let sorted_quantile = |q: f64, w: &[(i64, f64)]| {
            let mut v: Vec<f64> = w.iter().map(|s| s.1).collect();
            v.sort_by(f64::total_cmp);
            let n = v.len() as f64;
            let rank = q * (n - 1.0);
            let lower = rank.floor().max(0.0);
            let upper = (lower + 1.0).min(n - 1.0);
            let weight = rank - rank.floor();
            v[lower as usize] * (1.0 - weight) + v[upper as usize] * weight
        };
        let mut x = 7u64;
        for n in 1..60 {
            let w: Vec<(i64, f64)> = (0..n)
                .map(|_| {
                    x = x
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let v = match x >> 60 {
                        0 => f64::NAN,
                        1 => f64::INFINITY,
                        2 => f64::NEG_INFINITY,
                        3 => 5.0,
                        _ => (x >> 11) as f64 / 1e12 - 2e3,
                    };
                    (0, v)
                })
                .collect();
            for q in [0.0, 0.01, 0.25, 0.5, 0.9, 0.99, 1.0] {
                let (a, b) = (quantile(q, &w), sorted_quantile(q, &w));
                assert!(
                    a.to_bits() == b.to_bits() || (a.is_nan() && b.is_nan()),
                    "{q} {w:?}"
                );
            }
        }
    }

    #[test]
    fn population_variance() {
        let w: Vec<(i64, f64)> = [2.0, 4.0, 4.0, 4.0, 5.0, 5.0, 7.0, 9.0]
            .iter()
            .map(|&v| (0, v))
            .collect();
        assert_eq!(variance(&w), 4.0);
        assert_eq!(avg(&w), 5.0);
    }
}
