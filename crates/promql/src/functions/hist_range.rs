//! Range functions over series that hold native histograms (in some of their windows): the
//! histogram rate (`rate increase delta irate idelta`), `resets`, `changes`,
//! `sum_over_time`, `avg_over_time`, `first_over_time`, `last_over_time`, and the float-only
//! functions with upstream's annotations for the histograms they ignore.

use promql_parser::parser::Expr;

use bongsu_model::{CounterResetHint, FloatHistogram, Labels, Sample, METRIC_NAME};

use super::super::eval::{Evaluator, StepSeries, Windows};
use super::super::function::Function;
use super::super::hist_annotations::HistOp;
use super::super::hist_ops::{self, OpError};
use super::super::value::HistogramPoint;
use super::super::PromqlError;
use super::over_time;
use super::rate::{extrapolated_rate, extrapolation_factor, instant_value};

/// A function of one series' float and histogram windows at a step's time.
type WindowFn<'a> = dyn Fn(&Labels, &[Sample], &[HistogramPoint], i64) -> Out + 'a;

/// One step's result.
enum Out {
    None,
    F(f64),
    H(Box<FloatHistogram>),
}

impl Evaluator<'_> {
    /// `f` over series with histograms (`w` holds only such series).
    pub(super) fn histogram_range_function(
        &self,
        f: Function,
        args: &[&Expr],
        first: &Expr,
        w: Windows,
    ) -> Result<Vec<StepSeries>, PromqlError> {
        let pos = self.pos(first);
        let keep_name = matches!(f, Function::LastOverTime | Function::FirstOverTime);
        let range = w.range;
        let kernel: Box<WindowFn<'_>> = match f {
            Function::Rate | Function::Increase | Function::Delta => {
                let counter = f != Function::Delta;
                let is_rate = f == Function::Rate;
                Box::new(move |l, fs, hs, t| {
                    self.rate(l, fs, hs, (t - range, t), (counter, is_rate), pos)
                })
            }
            Function::Irate | Function::Idelta => {
                let is_rate = f == Function::Irate;
                Box::new(move |l, fs, hs, _| self.instant_rate(l, fs, hs, is_rate, pos))
            }
            Function::Resets | Function::Changes => {
                let resets = f == Function::Resets;
                Box::new(move |_, fs, hs, _| Out::F(count_changes(fs, hs, resets) as f64))
            }
            Function::SumOverTime | Function::AvgOverTime => {
                let avg = f == Function::AvgOverTime;
                Box::new(move |l, fs, hs, _| self.sum_over_time(l, fs, hs, avg, pos))
            }
            Function::LastOverTime | Function::FirstOverTime => {
                let last = f == Function::LastOverTime;
                Box::new(move |_, fs, hs, _| {
                    let f = if last { fs.last() } else { fs.first() };
                    let h = if last { hs.last() } else { hs.first() };
                    match (f, h) {
                        (Some(f), Some(h)) if (f.t > h.t) == last => Out::F(f.v),
                        (_, Some(h)) => Out::H(h.h.clone()),
                        (Some(f), None) => Out::F(f.v),
                        (None, None) => Out::None,
                    }
                })
            }
            _ => return self.floats_of_mixed(f, args, first, w),
        };
        let mut out = Vec::with_capacity(w.series.len());
        for ((labels, samples), hs) in w.series.iter().zip(&w.hists) {
            if self.out_of_time() {
                break;
            }
            let mut values = vec![None; w.times.len()];
            let mut hists = vec![None; w.times.len()];
            for (i, &t) in w.times.iter().enumerate() {
                let (fs, hw) = (w.window(samples, t), w.hist_window(hs, t));
                if fs.is_empty() && hw.is_empty() {
                    continue;
                }
                match kernel(labels, fs, hw, t) {
                    Out::None => {}
                    Out::F(v) => values[i] = Some(v),
                    Out::H(h) => hists[i] = Some(h),
                }
            }
            let s = StepSeries {
                labels: labels.clone(),
                values,
                drop_name: !keep_name,
                hists: hists.iter().any(Option::is_some).then_some(hists),
            };
            if s.any_value() {
                out.push(s);
            }
        }
        Ok(out)
    }

    /// The float-only range functions on series with histograms: computed on the floats, with
    /// an info where a window also held histograms.
    fn floats_of_mixed(
        &self,
        f: Function,
        args: &[&Expr],
        first: &Expr,
        w: Windows,
    ) -> Result<Vec<StepSeries>, PromqlError> {
        let pos = self.pos(first);
        for ((labels, samples), hs) in w.series.iter().zip(&w.hists) {
            let mixed = w
                .times
                .iter()
                .any(|&t| !w.window(samples, t).is_empty() && !w.hist_window(hs, t).is_empty());
            if mixed {
                let metric = labels.get(METRIC_NAME).unwrap_or("");
                self.annotate(|a| a.histogram_ignored_in_mixed_range(metric, pos));
            }
        }
        let floats = Windows {
            times: w.times,
            range: w.range,
            hists: vec![Vec::new(); w.series.len()],
            series: w.series,
        };
        self.float_range_function(f, args, first, floats)
    }

    /// `rate`, `increase` or `delta` of one window.
    fn rate(
        &self,
        labels: &Labels,
        fs: &[Sample],
        hs: &[HistogramPoint],
        (start, end): (i64, i64),
        (counter, is_rate): (bool, bool),
        pos: Option<usize>,
    ) -> Out {
        let metric = labels.get(METRIC_NAME).unwrap_or("");
        if !fs.is_empty() && !hs.is_empty() {
            self.annotate(|a| a.mixed_floats_histograms(metric, pos));
            return Out::None;
        }
        if hs.is_empty() {
            return extrapolated_rate(fs, start, end, (counter, true), is_rate)
                .map_or(Out::None, Out::F);
        }
        if hs.len() < 2 {
            return Out::None;
        }
        let Some(mut h) = self.histogram_rate(hs, counter, metric, pos) else {
            return Out::None;
        };
        let (first, last) = (&hs[0], &hs[hs.len() - 1]);
        let to_zero =
            (counter && h.count > 0.0 && first.h.count >= 0.0).then(|| first.h.count / h.count);
        let factor =
            extrapolation_factor((first.t, last.t, hs.len()), (start, end), to_zero, is_rate);
        h.mul(factor);
        Out::H(Box::new(h))
    }

    /// Upstream's `histogramRate`: the last histogram minus the first, counter resets added
    /// back, as a gauge histogram.
    fn histogram_rate(
        &self,
        hs: &[HistogramPoint],
        counter: bool,
        metric: &str,
        pos: Option<usize>,
    ) -> Option<FloatHistogram> {
        let gauge = CounterResetHint::Gauge;
        let mut prev: FloatHistogram = (*hs[0].h).clone();
        let last = &hs[hs.len() - 1].h;
        let mut custom = prev.uses_custom_buckets();
        if counter && (prev.counter_reset_hint == gauge || last.counter_reset_hint == gauge) {
            self.annotate(|a| a.not_counter(metric, pos));
        }
        if counter && hist_ops::detect_reset(&hs[1].h, &prev) {
            // A reset right after the first: the first does not count, nor its layout.
            prev = FloatHistogram {
                schema: hs[1].h.schema,
                custom_values: hs[1].h.custom_values.clone(),
                ..FloatHistogram::default()
            };
            custom = hs[1].h.uses_custom_buckets();
        }
        if last.uses_custom_buckets() != custom {
            self.annotate(|a| a.mixed_exponential_custom(metric, pos));
            return None;
        }
        let mut min_schema = last.schema.min(prev.schema);
        for p in &hs[1..hs.len() - 1] {
            if !counter {
                continue;
            }
            if p.h.counter_reset_hint == gauge {
                self.annotate(|a| a.not_counter(metric, pos));
            }
            min_schema = min_schema.min(p.h.schema);
            if p.h.uses_custom_buckets() != custom {
                self.annotate(|a| a.mixed_exponential_custom(metric, pos));
                return None;
            }
        }
        let mut h = hist_ops::copy_to_schema(last, min_schema);
        match hist_ops::sub(&mut h, &prev) {
            Ok(o) if o.nhcb_bounds_reconciled => {
                self.annotate(|a| a.mismatched_custom_buckets(HistOp::Sub, pos))
            }
            Ok(_) => {}
            Err(OpError::IncompatibleSchema) => {
                self.annotate(|a| a.mixed_exponential_custom(metric, pos));
                return None;
            }
            Err(OpError::Other) => return None,
        }
        if counter {
            let mut prev = &prev;
            for p in &hs[1..] {
                if hist_ops::detect_reset(&p.h, prev) {
                    match hist_ops::add(&mut h, prev) {
                        Ok(o) if o.nhcb_bounds_reconciled => {
                            self.annotate(|a| a.mismatched_custom_buckets(HistOp::Add, pos))
                        }
                        Ok(_) => {}
                        Err(OpError::IncompatibleSchema) => {
                            self.annotate(|a| a.mixed_exponential_custom(metric, pos));
                            return None;
                        }
                        Err(OpError::Other) => return None,
                    }
                }
                prev = &p.h;
            }
        } else if hs[0].h.counter_reset_hint != gauge || last.counter_reset_hint != gauge {
            self.annotate(|a| a.not_gauge(metric, pos));
        }
        h.counter_reset_hint = gauge;
        hist_ops::compact(&mut h);
        Some(h)
    }

    /// `irate` or `idelta` of one window: from its last two samples, of one kind.
    fn instant_rate(
        &self,
        labels: &Labels,
        fs: &[Sample],
        hs: &[HistogramPoint],
        is_rate: bool,
        pos: Option<usize>,
    ) -> Out {
        let metric = labels.get(METRIC_NAME).unwrap_or("");
        if fs.len() + hs.len() < 2 {
            return Out::None;
        }
        // The last two samples of either kind.
        let last_f = fs.len().checked_sub(1).map(|i| fs[i].t);
        let last_h = hs.len().checked_sub(1).map(|i| hs[i].t);
        let prev_is_h = |last_is_h: bool| -> Option<bool> {
            let (nf, nh) = if last_is_h {
                (fs.len(), hs.len() - 1)
            } else {
                (fs.len() - 1, hs.len())
            };
            let pf = nf.checked_sub(1).map(|i| fs[i].t);
            let ph = nh.checked_sub(1).map(|i| hs[i].t);
            match (pf, ph) {
                (Some(a), Some(b)) => Some(b > a),
                (Some(_), None) => Some(false),
                (None, Some(_)) => Some(true),
                (None, None) => None,
            }
        };
        let last_is_h = match (last_f, last_h) {
            (Some(a), Some(b)) => b > a,
            (None, Some(_)) => true,
            _ => false,
        };
        let Some(prev_h) = prev_is_h(last_is_h) else {
            return Out::None;
        };
        match (prev_h, last_is_h) {
            (false, false) => instant_value(fs, is_rate).map_or(Out::None, Out::F),
            (true, true) => {
                let (p, l) = (&hs[hs.len() - 2], &hs[hs.len() - 1]);
                let dt = l.t - p.t;
                if dt == 0 {
                    return Out::None;
                }
                let gauge = CounterResetHint::Gauge;
                let (ph, lh) = (&p.h, &l.h);
                if is_rate && (lh.counter_reset_hint == gauge || ph.counter_reset_hint == gauge) {
                    self.annotate(|a| a.not_counter(metric, pos));
                }
                if !is_rate && (lh.counter_reset_hint != gauge || ph.counter_reset_hint != gauge) {
                    self.annotate(|a| a.not_gauge(metric, pos));
                }
                let mut h: FloatHistogram = (**lh).clone();
                if !is_rate || !hist_ops::detect_reset(lh, ph) {
                    match hist_ops::sub(&mut h, ph) {
                        Err(OpError::IncompatibleSchema) => {
                            self.annotate(|a| a.mixed_exponential_custom(metric, pos));
                            return Out::None;
                        }
                        Err(OpError::Other) => return Out::None,
                        Ok(o) if o.nhcb_bounds_reconciled => {
                            self.annotate(|a| a.mismatched_custom_buckets(HistOp::Sub, pos))
                        }
                        Ok(_) => {}
                    }
                }
                h.counter_reset_hint = gauge;
                hist_ops::compact(&mut h);
                if is_rate {
                    h.div(dt as f64 / 1000.0);
                }
                Out::H(Box::new(h))
            }
            _ => {
                self.annotate(|a| a.mixed_floats_histograms(metric, pos));
                Out::None
            }
        }
    }

    /// `sum_over_time` or `avg_over_time` of one window.
    fn sum_over_time(
        &self,
        labels: &Labels,
        fs: &[Sample],
        hs: &[HistogramPoint],
        avg: bool,
        pos: Option<usize>,
    ) -> Out {
        let metric = labels.get(METRIC_NAME).unwrap_or("");
        if !fs.is_empty() && !hs.is_empty() {
            self.annotate(|a| a.mixed_floats_histograms(metric, pos));
            return Out::None;
        }
        if hs.is_empty() {
            return Out::F(if avg {
                over_time::avg(fs)
            } else {
                over_time::sum(fs)
            });
        }
        let (mut reset, mut not_reset, mut reconciled) = (false, false, false);
        let mut track = |h: &FloatHistogram| match h.counter_reset_hint {
            CounterResetHint::CounterReset => reset = true,
            CounterResetHint::NotCounterReset => not_reset = true,
            _ => {}
        };
        let mut sum: FloatHistogram = (*hs[0].h).clone();
        let mut c = None;
        let mut mean = hist_ops::HistMean::new(&hs[0].h);
        track(&sum);
        for p in &hs[1..] {
            track(&p.h);
            let added = if avg {
                mean.push(&p.h).map(|()| false)
            } else {
                hist_ops::kahan_add(&mut sum, &p.h, &mut c).map(|o| o.nhcb_bounds_reconciled)
            };
            match added {
                Ok(r) => reconciled |= r,
                Err(OpError::IncompatibleSchema) => {
                    self.annotate(|a| a.mixed_exponential_custom(metric, pos));
                    return Out::None;
                }
                Err(OpError::Other) => return Out::None,
            }
        }
        reconciled |= mean.reconciled;
        if reset && not_reset {
            self.annotate(|a| a.counter_reset_collision(HistOp::Agg, pos));
        }
        if reconciled {
            self.annotate(|a| a.mismatched_custom_buckets(HistOp::Agg, pos));
        }
        if avg {
            sum = mean.finish();
        } else {
            hist_ops::kahan_finish(&mut sum, c, None);
        }
        hist_ops::compact(&mut sum);
        Out::H(Box::new(sum))
    }
}

/// `resets` (`resets` true) or `changes` of one window, floats and histograms in time order:
/// a switch of kind counts as one.
fn count_changes(fs: &[Sample], hs: &[HistogramPoint], resets: bool) -> usize {
    enum V<'a> {
        F(f64),
        H(&'a FloatHistogram),
    }
    let (mut i, mut j) = (0, 0);
    let mut prev: Option<V> = None;
    let mut n = 0;
    while i < fs.len() || j < hs.len() {
        let cur = if j >= hs.len() || (i < fs.len() && fs[i].t < hs[j].t) {
            i += 1;
            V::F(fs[i - 1].v)
        } else {
            j += 1;
            V::H(&hs[j - 1].h)
        };
        if let Some(p) = &prev {
            let changed = match (p, &cur) {
                (V::F(a), V::F(b)) => {
                    if resets {
                        b < a
                    } else {
                        b != a && !(a.is_nan() && b.is_nan())
                    }
                }
                (V::H(a), V::H(b)) => {
                    if resets {
                        hist_ops::detect_reset(b, a)
                    } else {
                        !hist_ops::equals(b, a)
                    }
                }
                _ => true,
            };
            n += usize::from(changed);
        }
        prev = Some(cur);
    }
    n
}
