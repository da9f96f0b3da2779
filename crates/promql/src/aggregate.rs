//! Aggregation operators (`sum avg min max count group stddev stdvar quantile count_values`;
//! the selecting ones, `topk bottomk limitk limit_ratio`, are in `select_k`) with
//! `by`/`without`, evaluated per group over all steps at once.

use std::collections::BTreeMap;

use promql_parser::parser::{AggregateExpr, Expr, LabelModifier};

use bongsu_model::{Labels, METRIC_NAME};

use super::binary::keep_labels;
use super::eval::{kahan_inc, Evaluated, Evaluator, StepSeries};
use super::functions::quantile;
use super::hist_aggregate::HGroups;
use super::keys::{KeyIndex, KeyLabels};
use super::numeric::Mean;
use super::select_k::Selection;
use super::PromqlError;

/// Per group and step, the running state of one aggregation (one variant per kind, so that
/// the state of a long range query stays small).
#[derive(Clone)]
enum Acc {
    /// Compensated sum.
    Sum {
        sum: f64,
        c: f64,
    },
    Avg(Mean),
    Count(f64),
    Group,
    /// The minimum or maximum so far.
    Extreme(f64),
    /// Plain Welford, as upstream's aggregation (unlike `stddev_over_time`, it does not
    /// compensate): count, running mean, sum of squared deviations.
    Dev {
        n: f64,
        mean: f64,
        m2: f64,
    },
    Quantile(Vec<f64>),
}

impl Acc {
    /// The state after the first value of a group at a step.
    fn first(op: &str, v: f64) -> Acc {
        match op {
            "sum" => Acc::Sum { sum: v, c: 0.0 },
            "avg" => {
                let mut m = Mean::default();
                m.push(v);
                Acc::Avg(m)
            }
            "count" => Acc::Count(1.0),
            "min" | "max" => Acc::Extreme(v),
            // A non-finite first value makes the deviation NaN.
            "stddev" | "stdvar" => Acc::Dev {
                n: 1.0,
                mean: v,
                m2: if v.is_finite() { 0.0 } else { f64::NAN },
            },
            "quantile" => Acc::Quantile(vec![v]),
            _ => Acc::Group,
        }
    }

    fn add(&mut self, op: &str, v: f64) {
        match self {
            Acc::Sum { sum, c } => (*sum, *c) = kahan_inc(v, *sum, *c),
            Acc::Avg(m) => m.push(v),
            Acc::Count(n) => *n += 1.0,
            Acc::Group => {}
            Acc::Extreme(x) => {
                let better = if op == "min" { *x > v } else { *x < v };
                if better || x.is_nan() {
                    *x = v;
                }
            }
            Acc::Dev { n, mean, m2 } => {
                *n += 1.0;
                let delta = v - *mean;
                *mean += delta / *n;
                *m2 += delta * (v - *mean);
            }
            Acc::Quantile(values) => values.push(v),
        }
    }

    fn finish(self, op: &str, q: f64) -> f64 {
        match self {
            Acc::Sum { sum, .. } if sum.is_infinite() => sum,
            Acc::Sum { sum, c } => sum + c,
            Acc::Avg(m) => m.value(),
            Acc::Count(n) => n,
            Acc::Group => 1.0,
            Acc::Extreme(x) => x,
            Acc::Dev { n, m2, .. } if op == "stddev" => (m2 / n).sqrt(),
            Acc::Dev { n, m2, .. } => m2 / n,
            Acc::Quantile(values) => quantile(q, values),
        }
    }
}

impl Evaluator<'_> {
    pub(super) fn aggregate(&self, agg: &AggregateExpr) -> Result<Evaluated, PromqlError> {
        let op = agg.op.to_string().to_lowercase();
        let input = self.eval_vector(&agg.expr)?;
        let steps = self.steps();
        // `by (__name__)` groups by a name even if its drop is pending (delayed name
        // removal); the groups then inherit the pending drop.
        let group_key = |s: &StepSeries| -> Labels {
            let labels = s.final_labels();
            match &agg.modifier {
                None => Labels::empty(),
                Some(LabelModifier::Include(by)) => keep_labels(&s.labels, &by.labels),
                Some(LabelModifier::Exclude(without)) => {
                    let mut drop: Vec<&str> = without.labels.iter().map(String::as_str).collect();
                    drop.push(METRIC_NAME);
                    labels.without(&drop)
                }
            }
        };
        match op.as_str() {
            "topk" | "bottomk" | "limitk" | "limit_ratio" => {
                let param = agg.param.as_deref();
                let k = self.param_scalar(param)?;
                let sel = Selection::of(&op)
                    .ok_or_else(|| PromqlError::Unsupported(format!("aggregation {op}")))?;
                return Ok(Evaluated::Vector(self.select_k(
                    sel,
                    input,
                    (&k, param),
                    group_key,
                    self.pos(&agg.expr),
                )?));
            }
            _ => {}
        }
        if op == "count_values" {
            let mut param = agg.param.as_deref();
            while let Some(Expr::Paren(p)) = param {
                param = Some(&p.expr);
            }
            if let Some(q) = param.and_then(|p| self.go_quoted(p)) {
                return Err(PromqlError::Execution(format!("invalid label name {q}")));
            }
            let Some(Expr::StringLiteral(label)) = param else {
                return Err(PromqlError::Execution(
                    "count_values needs a label name".into(),
                ));
            };
            let mut groups: BTreeMap<Labels, Vec<Option<f64>>> = BTreeMap::new();
            for s in &input {
                let key = group_key(s);
                for step in 0..steps {
                    // A histogram's value is its text form, as upstream's `String()`.
                    let value = match (s.values[step], s.hist(step)) {
                        (_, Some(h)) => h.to_string(),
                        (Some(v), None) => format_value(v),
                        (None, None) => continue,
                    };
                    let mut b = key.builder();
                    b.set(label.val.as_str(), value);
                    let labels = b
                        .build()
                        .map_err(|e| PromqlError::Execution(e.to_string()))?;
                    let acc = groups.entry(labels).or_insert_with(|| vec![None; steps]);
                    acc[step] = Some(acc[step].unwrap_or(0.0) + 1.0);
                }
            }
            return Ok(Evaluated::Vector(
                groups
                    .into_iter()
                    .map(|(labels, values)| StepSeries {
                        labels,
                        values,
                        drop_name: false,
                        hists: None,
                    })
                    .collect(),
            ));
        }
        let param = match op.as_str() {
            "quantile" => {
                let q = self.param_scalar(agg.param.as_deref())?;
                self.check_quantiles(&q, agg.param.as_deref());
                q
            }
            _ => Vec::new(),
        };
        if !matches!(
            op.as_str(),
            "sum" | "avg" | "count" | "group" | "min" | "max" | "stdvar" | "stddev" | "quantile"
        ) {
            return Err(PromqlError::Unsupported(format!("aggregation {op}")));
        }
        let rule = match &agg.modifier {
            None => KeyLabels::Only(&[]),
            Some(LabelModifier::Include(by)) => KeyLabels::Only(&by.labels),
            Some(LabelModifier::Exclude(without)) => KeyLabels::AllBut(&without.labels),
        };
        let mut index = KeyIndex::default();
        // Per group: the state at every step (none: no input there) and a pending drop.
        let mut groups: Vec<(Vec<Option<Acc>>, bool)> = Vec::new();
        // Native histograms of `sum` and `avg`, per group (only groups that have any).
        let mut hgroups: HGroups = Vec::new();
        let hpos = self.pos(&agg.expr);
        for s in &input {
            let g = index.id(rule, &s.labels);
            if g == groups.len() {
                groups.push((vec![None; steps], false));
            }
            let counted = self.aggregate_histograms(&op, s, g, &mut hgroups, hpos);
            let (acc, drop) = &mut groups[g];
            *drop |= s.drop_name;
            for (a, v) in acc.iter_mut().zip(&s.values) {
                let Some(v) = *v else { continue };
                match a {
                    Some(a) => a.add(&op, v),
                    None => *a = Some(Acc::first(&op, v)),
                }
            }
            // `count` and `group` count histograms as values.
            for i in counted {
                match &mut acc[i] {
                    Some(a) => a.add(&op, 0.0),
                    None => acc[i] = Some(Acc::first(&op, 0.0)),
                }
            }
        }
        let finish = |step: usize, a: Acc| -> f64 {
            let q = param.get(step).copied().unwrap_or(f64::NAN);
            a.finish(&op, q)
        };
        // Groups come out ordered by their labels, independent of the input order.
        let mut hgroups = hgroups.into_iter();
        let mut out: Vec<StepSeries> = index
            .into_keys()
            .into_iter()
            .zip(groups)
            .map(|(labels, (accs, drop_name))| {
                let mut values: Vec<Option<f64>> = Vec::with_capacity(accs.len());
                let mut hists = None;
                let haccs = hgroups.next().filter(|h| h.iter().any(Option::is_some));
                match haccs {
                    None => values.extend(
                        accs.into_iter()
                            .enumerate()
                            .map(|(i, a)| a.map(|a| finish(i, a))),
                    ),
                    Some(haccs) => {
                        let mut hs = Vec::with_capacity(accs.len());
                        for (i, (a, h)) in accs.into_iter().zip(haccs).enumerate() {
                            let mut has_float = a.is_some();
                            hs.push(self.finish_histograms(h, &mut has_float, hpos));
                            values.push(a.filter(|_| has_float).map(|a| finish(i, a)));
                        }
                        hists = Some(hs);
                    }
                }
                StepSeries {
                    labels,
                    values,
                    drop_name,
                    hists,
                }
            })
            .collect();
        out.sort_unstable_by(|a, b| a.labels.cmp(&b.labels));
        Ok(Evaluated::Vector(out))
    }

    /// Warns (once each) of a NaN φ, the largest φ above 1 and the smallest below 0.
    fn check_quantiles(&self, q: &[f64], param: Option<&Expr>) {
        let pos = param.and_then(|p| self.pos(p));
        let numbers = q.iter().copied().filter(|v| !v.is_nan());
        let (min, max) = numbers.fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), v| {
            (lo.min(v), hi.max(v))
        });
        self.annotate(|a| {
            if q.iter().any(|v| v.is_nan()) {
                a.invalid_quantile(f64::NAN, pos);
            }
            if max > 1.0 {
                a.invalid_quantile(max, pos);
            }
            if min < 0.0 {
                a.invalid_quantile(min, pos);
            }
        });
    }

    fn param_scalar(&self, param: Option<&Expr>) -> Result<Vec<f64>, PromqlError> {
        match param {
            Some(p) => self.eval_scalar(p),
            None => Err(PromqlError::Execution(
                "aggregation parameter missing".into(),
            )),
        }
    }
}

/// A float as Go's `strconv.FormatFloat(v, 'f', -1, 64)` writes it (count_values' labels).
pub(super) fn format_value(v: f64) -> String {
    if v.is_nan() {
        "NaN".into()
    } else if v.is_infinite() {
        if v > 0.0 {
            "+Inf".into()
        } else {
            "-Inf".into()
        }
    } else {
        format!("{v}")
    }
}
