//! Selectors: an instant vector selector's newest sample per step (lookback, staleness), the
//! windows of matrix selectors and subqueries, and a range vector as an instant query's
//! result. Native histograms are converted to [`FloatHistogram`] once, here, and travel
//! beside the floats from then on.

use promql_parser::parser::{MatrixSelector, SubqueryExpr, VectorSelector};

use bongsu_model::{is_stale_nan, CounterResetHint, HistogramSample, Sample};

use super::super::hist_stats::stats_only;
use super::super::value::{HistogramPoint, Point, RangeSeries};
use super::super::PromqlError;
use super::{
    duration_ms, min_max, Evaluated, Evaluator, HistColumn, StepSeries, Windows,
    DEFAULT_SUBQUERY_STEP_MS,
};

/// A series' histogram samples (stale markers included), as the engine computes with them.
fn all_float_histograms(hs: &[HistogramSample]) -> Vec<HistogramPoint> {
    hs.iter()
        .map(|s| HistogramPoint {
            t: s.t,
            h: Box::new(s.h.to_float()),
        })
        .collect()
}

/// A series' histogram samples, stale markers dropped, as the engine computes with them.
fn float_histograms(hs: &[HistogramSample]) -> Vec<HistogramPoint> {
    hs.iter()
        .filter_map(|s| {
            let h = s.h.to_float();
            (!h.is_stale()).then(|| HistogramPoint {
                t: s.t,
                h: Box::new(h),
            })
        })
        .collect()
}

impl Evaluator<'_> {
    /// An instant vector selector; with `timestamps`, each value is its sample's time in
    /// seconds (what `timestamp()` of a selector returns).
    pub(in super::super) fn vector_selector(
        &self,
        vs: &VectorSelector,
        timestamps: bool,
    ) -> Result<Evaluated, PromqlError> {
        let times = self.step_times(&vs.offset, &vs.at);
        let (lo, hi) = min_max(&times);
        let series = self.select(vs, lo - self.lookback + 1, hi)?;
        // One value per step and series is about to be held: sparse series over many steps
        // cost memory that their few samples did not count.
        self.ctx.charge(series.len().saturating_mul(times.len()))?;
        let mut out = Vec::with_capacity(series.len());
        let stats = self.positions.stats_only(vs);
        for s in series {
            let (values, hists) = if s.histograms.is_empty() {
                (self.float_steps(&s.samples, &times, timestamps), None)
            } else if stats {
                let mut hs = all_float_histograms(&s.histograms);
                stats_only(&mut hs);
                self.mixed_steps(&s.samples, &hs, &times, timestamps)
            } else {
                let hs = all_float_histograms(&s.histograms);
                self.mixed_steps(&s.samples, &hs, &times, timestamps)
            };
            if let Some(hs) = &hists {
                // A histogram weighs its size in float samples (one is charged above).
                let extra: usize = hs.iter().flatten().map(|h| (h.size() + 8) / 16 - 1).sum();
                self.ctx.charge(extra)?;
            }
            let step = StepSeries {
                labels: s.labels,
                values,
                drop_name: false,
                hists,
            };
            if step.any_value() {
                out.push(step);
            }
        }
        Ok(Evaluated::Vector(out))
    }

    /// The newest float in `(t - lookback, t]` at every step, unless it marks the series stale.
    fn float_steps(&self, samples: &[Sample], times: &[i64], timestamps: bool) -> Vec<Option<f64>> {
        let mut next = 0;
        times
            .iter()
            .map(|&t| {
                if next > 0 && samples[next - 1].t > t {
                    // Steps do not go back in time; start over rather than be wrong.
                    next = samples.partition_point(|x| x.t <= t);
                }
                while next < samples.len() && samples[next].t <= t {
                    next += 1;
                }
                let last = samples[..next].last()?;
                let fresh = last.t > t - self.lookback && !is_stale_nan(last.v);
                fresh.then_some(if timestamps {
                    last.t as f64 / 1000.0
                } else {
                    last.v
                })
            })
            .collect()
    }

    /// As `float_steps` for a series with histograms: the newest sample of either kind wins
    /// (a stale marker of either kind hides the series).
    fn mixed_steps(
        &self,
        samples: &[Sample],
        hs: &[HistogramPoint],
        times: &[i64],
        timestamps: bool,
    ) -> (Vec<Option<f64>>, HistColumn) {
        let mut values = Vec::with_capacity(times.len());
        let mut hists = Vec::with_capacity(times.len());
        for &t in times {
            let f = samples.partition_point(|x| x.t <= t);
            let h = hs.partition_point(|x| x.t <= t);
            let last_f = f.checked_sub(1).map(|i| &samples[i]);
            let last_h = h.checked_sub(1);
            let use_hist = match (last_f, last_h) {
                (_, None) => false,
                (None, Some(_)) => true,
                (Some(lf), Some(i)) => hs[i].t > lf.t,
            };
            let (mut v, mut hv) = (None, None);
            if use_hist {
                if let Some(i) = last_h {
                    let st = hs[i].t;
                    let fh = &hs[i].h;
                    if st > t - self.lookback && !fh.is_stale() {
                        if timestamps {
                            v = Some(st as f64 / 1000.0);
                        } else {
                            hv = Some(fh.clone());
                        }
                    }
                }
            } else if let Some(lf) = last_f {
                if lf.t > t - self.lookback && !is_stale_nan(lf.v) {
                    v = Some(if timestamps {
                        lf.t as f64 / 1000.0
                    } else {
                        lf.v
                    });
                }
            }
            values.push(v);
            hists.push(hv);
        }
        let hists = hists.iter().any(Option::is_some).then_some(hists);
        (values, hists)
    }

    pub(in super::super) fn matrix_windows(
        &self,
        ms: &MatrixSelector,
    ) -> Result<Windows, PromqlError> {
        let times = self.step_times(&ms.vs.offset, &ms.vs.at);
        let range = duration_ms(&ms.range);
        let (lo, hi) = min_max(&times);
        let series = self.select(&ms.vs, lo - range + 1, hi)?;
        let stats = self.positions.stats_only(&ms.vs);
        let mut hists = Vec::with_capacity(series.len());
        let series = series
            .into_iter()
            .map(|mut s| {
                s.samples.retain(|x| !is_stale_nan(x.v));
                let mut hs = float_histograms(&s.histograms);
                if stats {
                    stats_only(&mut hs);
                }
                hists.push(hs);
                (s.labels, s.samples)
            })
            .collect();
        Ok(Windows {
            times,
            range,
            series,
            hists,
        })
    }

    /// Evaluates a subquery's inner expression once, over all steps any outer window needs,
    /// aligned to multiples of the subquery step as upstream does.
    pub(in super::super) fn subquery_windows(
        &self,
        sq: &SubqueryExpr,
    ) -> Result<Windows, PromqlError> {
        let times = self.step_times(&sq.offset, &sq.at);
        let range = duration_ms(&sq.range);
        let step = sq
            .step
            .as_ref()
            .map(duration_ms)
            .filter(|&s| s > 0)
            .unwrap_or(DEFAULT_SUBQUERY_STEP_MS);
        let (lo, hi) = min_max(&times);
        let first = lo - range;
        // Go's truncating division, then rounded up to the first step inside the range.
        let mut start = step * (first / step);
        if start < first {
            start += step;
        }
        let inner = Evaluator {
            db: self.db,
            ctx: self.ctx,
            positions: self.positions,
            annotations: self.annotations,
            lookback: self.lookback,
            delayed_name_removal: self.delayed_name_removal,
            start,
            end: hi.max(start),
            step,
            query_start: self.query_start,
            query_end: self.query_end,
            query_step: self.query_step,
        };
        // Every inner step holds at least one value: refuse before materialising them.
        self.ctx.charge(inner.steps())?;
        let inner_times = inner.times();
        let Evaluated::Vector(v) = inner.eval(&sq.expr)? else {
            return Err(PromqlError::Execution(
                "subquery is only allowed on instant vector".into(),
            ));
        };
        let mut hists = Vec::with_capacity(v.len());
        let series = v
            .into_iter()
            .map(|s| {
                let samples = inner_times
                    .iter()
                    .zip(&s.values)
                    .filter_map(|(&t, v)| v.map(|v| Sample { t, v }))
                    .collect();
                let labels = s.final_labels();
                hists.push(match s.hists {
                    None => Vec::new(),
                    Some(h) => inner_times
                        .iter()
                        .zip(h)
                        .filter_map(|(&t, h)| {
                            let mut h = h?;
                            // As upstream: explicit reset hints would be missed or counted
                            // twice by the subquery's steps; readers compare instead.
                            if matches!(
                                h.counter_reset_hint,
                                CounterResetHint::CounterReset | CounterResetHint::NotCounterReset
                            ) {
                                h.counter_reset_hint = CounterResetHint::Unknown;
                            }
                            Some(HistogramPoint { t, h })
                        })
                        .collect(),
                });
                (labels, samples)
            })
            .collect();
        Ok(Windows {
            times,
            range,
            series,
            hists,
        })
    }

    pub(in super::super) fn raw_matrix(&self, w: Windows) -> Result<Evaluated, PromqlError> {
        if self.steps() != 1 {
            return Err(PromqlError::Parse(
                "invalid expression type \"range vector\" for range query, must be Scalar or instant Vector".into(),
            ));
        }
        let t = w.times[0];
        let out = w
            .series
            .iter()
            .zip(&w.hists)
            .map(|((labels, samples), hs)| RangeSeries {
                points: w
                    .window(samples, t)
                    .iter()
                    .map(|x| Point { t: x.t, v: x.v })
                    .collect(),
                histograms: w.hist_window(hs, t).to_vec(),
                labels: labels.clone(),
            })
            .filter(|s| !s.points.is_empty() || !s.histograms.is_empty())
            .collect();
        Ok(Evaluated::Matrix(out))
    }
}
