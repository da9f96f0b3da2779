//! `info(v [, {data label selector}])`: adds to each series of `v` the data labels of the
//! info series (`target_info` by default) that share its identifying labels (`instance`,
//! `job`), as upstream's experimental `info()` does.

use std::collections::{BTreeMap, HashMap, HashSet};

use promql_parser::parser::{AtModifier, Expr, Offset, VectorSelector};

use bongsu_model::{is_stale_nan, Labels, MatchOp, Matcher, METRIC_NAME};

use super::super::eval::{duplicate_labelset, selector_matchers, Evaluated, Evaluator, StepSeries};
use super::super::hist_binary::Res;
use super::super::PromqlError;

const TARGET_INFO: &str = "target_info";
const IDENTIFYING: [&str; 2] = ["instance", "job"];

impl Evaluator<'_> {
    pub(super) fn info(&self, args: &[&Expr]) -> Result<Evaluated, PromqlError> {
        let Some(&base_expr) = args.first() else {
            return Err(PromqlError::Execution("info() needs a vector".into()));
        };
        let base = self.eval_vector(base_expr)?;
        // Data label matchers by label name; those on the name choose the info metrics.
        let mut data: BTreeMap<String, Vec<Matcher>> = BTreeMap::new();
        let name_matchers: Vec<Matcher> = match args.get(1) {
            Some(Expr::VectorSelector(vs)) => {
                for m in selector_matchers(vs)? {
                    data.entry(m.name.clone()).or_default().push(m);
                }
                data.get(METRIC_NAME).cloned().unwrap_or_default()
            }
            Some(_) => {
                return Err(PromqlError::Execution(
                    "info() expects a label selector as its second argument".into(),
                ))
            }
            None => vec![Matcher::equal(METRIC_NAME, TARGET_INFO)],
        };
        let effective = effective_name_matchers(name_matchers);
        // Series of `v` that are info series themselves pass through unchanged.
        let ignored: Vec<bool> = base
            .iter()
            .map(|s| {
                let name = s.labels.get(METRIC_NAME).unwrap_or("");
                effective.iter().all(|m| m.matches(name))
            })
            .collect();
        let mut id_values: BTreeMap<&str, HashSet<&str>> = BTreeMap::new();
        for (s, _) in base.iter().zip(&ignored).filter(|(_, ig)| !**ig) {
            for l in IDENTIFYING {
                if let Some(v) = s.labels.get(l).filter(|v| !v.is_empty()) {
                    id_values.entry(l).or_default().insert(v);
                }
            }
        }
        let info_names = data.remove(METRIC_NAME).unwrap_or_default();
        let info = if id_values.is_empty() {
            Vec::new()
        } else {
            let mut matchers = Vec::new();
            for (l, vals) in &id_values {
                let mut vals: Vec<String> = vals.iter().map(|v| regex::escape(v)).collect();
                vals.sort();
                matchers.push(
                    Matcher::new(MatchOp::Regex, l, &vals.join("|"))
                        .map_err(|e| PromqlError::Execution(e.to_string()))?,
                );
            }
            matchers.extend(data.values().flatten().cloned());
            matchers.extend(effective_name_matchers(info_names));
            self.info_series(base_expr, &matchers)?
        };

        let sig = |name: &str, labels: &Labels| -> Vec<String> {
            let mut sig = vec![name.to_string()];
            for l in IDENTIFYING {
                sig.push(labels.get(l).map_or(String::new(), |v| format!("{l}={v}")));
            }
            sig
        };
        let info_metrics: Vec<&str> = {
            let mut names: Vec<&str> = info
                .iter()
                .map(|(l, _)| l.get(METRIC_NAME).unwrap_or(""))
                .collect();
            names.sort_unstable();
            names.dedup();
            names
        };
        let info_sigs: Vec<Vec<String>> = info
            .iter()
            .map(|(l, _)| sig(l.get(METRIC_NAME).unwrap_or(""), l))
            .collect();
        // Per base series, its signature for each info metric, computed once for all steps.
        let base_sigs: Vec<Vec<Vec<String>>> = base
            .iter()
            .map(|s| info_metrics.iter().map(|n| sig(n, &s.labels)).collect())
            .collect();
        let all_match_empty = data.values().flatten().all(|m| m.matches(""));
        let steps = self.steps();
        let mut out: Vec<StepSeries> = Vec::new();
        let mut index: HashMap<Labels, usize> = HashMap::new();
        for step in 0..steps {
            // The newest info series per signature.
            let mut by_sig: HashMap<&Vec<String>, (usize, i64)> = HashMap::new();
            for (i, (labels, times)) in info.iter().enumerate() {
                let Some(t) = times[step] else { continue };
                match by_sig.get(&info_sigs[i]) {
                    Some(&(_, et)) if et > t => {}
                    Some(&(e, et)) if et == t => {
                        return Err(PromqlError::Execution(format!(
                            "found duplicate series for info metric: existing {} @ {et}, new {} @ {t}",
                            info[e].0, labels
                        )));
                    }
                    _ => {
                        by_sig.insert(&info_sigs[i], (i, t));
                    }
                }
            }
            for (bi, s) in base.iter().enumerate() {
                // Base histograms keep their value too.
                let v = match (s.values[step], s.hist(step)) {
                    (Some(f), _) => Res::F(f),
                    (None, Some(h)) => Res::H(Box::new(h.clone())),
                    (None, None) => continue,
                };
                let labels = if ignored[bi] {
                    s.labels.clone()
                } else {
                    let mut added: BTreeMap<&str, &str> = BTreeMap::new();
                    let mut seen = false;
                    for sig in &base_sigs[bi] {
                        let Some(&(ii, _)) = by_sig.get(sig) else {
                            continue;
                        };
                        seen = true;
                        for l in info[ii].0.iter() {
                            if &*l.name == METRIC_NAME
                                || (!data.is_empty() && !data.contains_key(&*l.name))
                            {
                                continue;
                            }
                            if added.get(&*l.name).is_some_and(|v| *v != &*l.value) {
                                return Err(PromqlError::Execution(format!(
                                    "conflicting label: {}",
                                    l.name
                                )));
                            }
                            if s.labels.get(&l.name).is_none() {
                                added.insert(&l.name, &l.value);
                            }
                        }
                    }
                    if !seen && !all_match_empty {
                        continue;
                    }
                    let mut b = s.labels.builder();
                    for (n, v) in added {
                        b.set(n, v);
                    }
                    b.build()
                        .map_err(|e| PromqlError::Execution(e.to_string()))?
                };
                let i = *index.entry(labels.clone()).or_insert_with(|| {
                    out.push(StepSeries {
                        labels,
                        values: vec![None; steps],
                        drop_name: s.drop_name,
                        hists: None,
                    });
                    out.len() - 1
                });
                if out[i].has_value(step) {
                    return Err(duplicate_labelset());
                }
                out[i].set(step, v);
            }
        }
        Ok(Evaluated::Vector(out))
    }

    /// The info series and, per step, the time of the sample found (lookback, staleness), at
    /// the `@` and `offset` of the first selector of `base`.
    #[allow(clippy::type_complexity)]
    fn info_series(
        &self,
        base: &Expr,
        matchers: &[Matcher],
    ) -> Result<Vec<(Labels, Vec<Option<i64>>)>, PromqlError> {
        let (offset, at) = first_selector_time(base);
        let times = self.step_times(&offset, &at);
        let lo = times.iter().copied().min().unwrap_or(0);
        let hi = times.iter().copied().max().unwrap_or(0);
        let lookback = self.lookback();
        let series = self.select_series(matchers, lo - lookback + 1, hi)?;
        if let Some(s) = series.iter().find(|s| !s.histograms.is_empty()) {
            return Err(PromqlError::Execution(format!(
                "this should be an info metric, with float samples: {}",
                s.labels
            )));
        }
        Ok(series
            .into_iter()
            .map(|s| {
                let found = times
                    .iter()
                    .map(|&t| {
                        let i = s.samples.partition_point(|x| x.t <= t);
                        let last = s.samples[..i].last()?;
                        (last.t > t - lookback && !is_stale_nan(last.v)).then_some(last.t)
                    })
                    .collect();
                (s.labels, found)
            })
            .collect())
    }
}

/// The name matchers that pick info metrics: as given if one of them is `=` or `=~`, else
/// also `__name__=~".+_info"`; without any, `target_info`.
fn effective_name_matchers(matchers: Vec<Matcher>) -> Vec<Matcher> {
    if matchers
        .iter()
        .any(|m| matches!(m.op, MatchOp::Equal | MatchOp::Regex))
    {
        return matchers;
    }
    if matchers.is_empty() {
        return vec![Matcher::equal(METRIC_NAME, TARGET_INFO)];
    }
    let mut out = Vec::with_capacity(matchers.len() + 1);
    if let Ok(m) = Matcher::new(MatchOp::Regex, METRIC_NAME, ".+_info") {
        out.push(m);
    }
    out.extend(matchers);
    out
}

/// The `offset` and `@` that apply to the first selector of `e` (in source order), taking
/// those of an enclosing subquery when the selector has no `@`.
fn first_selector_time(e: &Expr) -> (Option<Offset>, Option<AtModifier>) {
    fn walk<'e>(e: &'e Expr, path: &mut Vec<&'e Expr>) -> Option<&'e VectorSelector> {
        match e {
            Expr::VectorSelector(vs) => return Some(vs),
            Expr::MatrixSelector(ms) => return Some(&ms.vs),
            _ => {}
        }
        path.push(e);
        let r = match e {
            Expr::Paren(p) => walk(&p.expr, path),
            Expr::Unary(u) => walk(&u.expr, path),
            Expr::Subquery(sq) => walk(&sq.expr, path),
            Expr::Call(c) => c.args.args.iter().find_map(|a| walk(a, path)),
            Expr::Aggregate(a) => a
                .param
                .as_deref()
                .and_then(|p| walk(p, path))
                .or_else(|| walk(&a.expr, path)),
            Expr::Binary(b) => walk(&b.lhs, path).or_else(|| walk(&b.rhs, path)),
            _ => None,
        };
        if r.is_none() {
            path.pop();
        }
        r
    }
    let mut path = Vec::new();
    let Some(vs) = walk(e, &mut path) else {
        return (None, None);
    };
    let mut offset_ms = offset_ms_of(&vs.offset);
    let mut at = vs.at.clone();
    for p in path.iter().rev() {
        if at.is_some() {
            break;
        }
        if let Expr::Subquery(sq) = p {
            offset_ms += offset_ms_of(&sq.offset);
            at = sq.at.clone();
        }
    }
    let offset = match offset_ms {
        0 => None,
        ms if ms > 0 => Some(Offset::Pos(std::time::Duration::from_millis(ms as u64))),
        ms => Some(Offset::Neg(std::time::Duration::from_millis(
            ms.unsigned_abs(),
        ))),
    };
    (offset, at)
}

fn offset_ms_of(o: &Option<Offset>) -> i64 {
    match o {
        None => 0,
        Some(Offset::Pos(d)) => d.as_millis() as i64,
        Some(Offset::Neg(d)) => -(d.as_millis() as i64),
    }
}
