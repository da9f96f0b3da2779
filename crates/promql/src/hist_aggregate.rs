//! Native histograms in aggregations: `sum` and `avg` add them (with upstream's annotations
//! for counter-reset hint conflicts, reconciled custom buckets and incompatible schemas),
//! `count` and `group` count them, the other aggregations ignore them with an info.

use bongsu_model::{CounterResetHint, FloatHistogram, METRIC_NAME};

use super::eval::{Evaluator, StepSeries};
use super::hist_annotations::HistOp;
use super::hist_ops::{self, HistMean, OpError};

/// The histograms of one group at one step.
#[derive(Clone)]
pub(super) struct HAcc {
    sum: FloatHistogram,
    /// Kahan compensation of `sum`.
    c: Option<FloatHistogram>,
    /// `avg`'s running mean (instead of `sum`).
    mean: Option<HistMean>,
    reset: bool,
    not_reset: bool,
    incompatible: bool,
}

/// Per group, per step.
pub(super) type HGroups = Vec<Vec<Option<HAcc>>>;

impl HAcc {
    fn new(op: &str, h: &FloatHistogram) -> HAcc {
        let mut a = HAcc {
            sum: h.clone(),
            c: None,
            mean: (op == "avg").then(|| HistMean::new(h)),
            reset: false,
            not_reset: false,
            incompatible: false,
        };
        a.track(h);
        a
    }

    fn track(&mut self, h: &FloatHistogram) {
        match h.counter_reset_hint {
            CounterResetHint::CounterReset => self.reset = true,
            CounterResetHint::NotCounterReset => self.not_reset = true,
            _ => {}
        }
    }
}

impl Evaluator<'_> {
    /// Feeds the histograms of `s` (in group `g`) to `hg`; for aggregations that do not take
    /// histograms, notes that they were ignored. Returns for `count`/`group` the steps where
    /// the series holds a histogram (they count as values).
    pub(super) fn aggregate_histograms(
        &self,
        op: &str,
        s: &StepSeries,
        g: usize,
        hg: &mut HGroups,
        pos: Option<usize>,
    ) -> Vec<usize> {
        let Some(hs) = &s.hists else {
            return Vec::new();
        };
        let present = hs.iter().enumerate().filter(|(_, h)| h.is_some());
        match op {
            "count" | "group" => present.map(|(i, _)| i).collect(),
            "sum" | "avg" => {
                while hg.len() <= g {
                    hg.push(vec![None; hs.len()]);
                }
                let metric = s.labels.get(METRIC_NAME).unwrap_or("");
                for (i, h) in hs.iter().enumerate() {
                    let Some(h) = h.as_deref() else { continue };
                    match &mut hg[g][i] {
                        None => hg[g][i] = Some(HAcc::new(op, h)),
                        Some(a) if a.incompatible => {}
                        Some(a) => {
                            a.track(h);
                            let added = match &mut a.mean {
                                Some(m) => m.push(h).map(|()| m.reconciled),
                                None => hist_ops::kahan_add(&mut a.sum, h, &mut a.c)
                                    .map(|o| o.nhcb_bounds_reconciled),
                            };
                            match added {
                                Ok(true) => {
                                    self.annotate(|x| x.mismatched_custom_buckets(HistOp::Agg, pos))
                                }
                                Ok(false) => {}
                                Err(OpError::IncompatibleSchema) => {
                                    self.annotate(|x| x.mixed_exponential_custom(metric, pos));
                                    a.incompatible = true;
                                }
                                Err(OpError::Other) => a.incompatible = true,
                            }
                        }
                    }
                }
                Vec::new()
            }
            _ => {
                if present.count() > 0 {
                    self.annotate(|a| a.histogram_ignored_in_aggregation(op, pos));
                }
                Vec::new()
            }
        }
    }

    /// The result of a group's histograms at a step, given whether it also had floats there
    /// (then neither stands, with a warning).
    pub(super) fn finish_histograms(
        &self,
        acc: Option<HAcc>,
        has_float: &mut bool,
        pos: Option<usize>,
    ) -> Option<Box<FloatHistogram>> {
        let mut a = acc?;
        if *has_float {
            self.annotate(|x| x.mixed_floats_histograms_agg(pos));
            *has_float = false;
            return None;
        }
        if a.reset && a.not_reset {
            self.annotate(|x| x.counter_reset_collision(HistOp::Agg, pos));
        }
        if a.incompatible {
            return None;
        }
        match a.mean {
            Some(m) => a.sum = m.finish(),
            None => hist_ops::kahan_finish(&mut a.sum, a.c, None),
        }
        hist_ops::compact(&mut a.sum);
        Some(Box::new(a.sum))
    }
}
