//! Label and ordering functions: `label_replace label_join absent sort sort_desc
//! sort_by_label sort_by_label_desc`.

use std::cmp::Ordering;

use promql_parser::label::MatchOp;
use promql_parser::parser::Expr;
use regex::Regex;

use bongsu_model::{Label, Labels, METRIC_NAME};

use super::super::eval::{Evaluated, Evaluator, StepSeries};
use super::super::function::Function;
use super::super::PromqlError;
use super::string_arg;

impl Evaluator<'_> {
    pub(super) fn label_function(
        &self,
        f: Function,
        args: &[&Expr],
    ) -> Result<Option<Evaluated>, PromqlError> {
        let Some(first) = args.first() else {
            return Ok(None);
        };
        let out = match f {
            Function::LabelReplace => {
                let dst = string_arg(args.get(1))?;
                let repl = string_arg(args.get(2))?;
                let src = string_arg(args.get(3))?;
                let re_s = string_arg(args.get(4))?;
                let re = Regex::new(&format!("^(?s:{re_s})$")).map_err(|_| {
                    PromqlError::Execution(format!(
                        "invalid regular expression in label_replace(): {re_s}"
                    ))
                })?;
                if !valid_label_name(dst) || args.get(1).is_some_and(|a| self.is_not_utf8(a)) {
                    return Err(PromqlError::Execution(format!(
                        "invalid destination label name in label_replace(): {dst}"
                    )));
                }
                let mut v = self.eval_vector(first)?;
                for s in &mut v {
                    // A pending name drop is still visible here, and undone by setting a name.
                    let value = s.labels.get(src).unwrap_or("");
                    if let Some(caps) = re.captures(value) {
                        let mut res = String::new();
                        caps.expand(repl, &mut res);
                        s.labels = set_label(&s.labels, dst, &res)?;
                        s.drop_name &= dst != METRIC_NAME;
                    }
                }
                v
            }
            Function::LabelJoin => {
                let dst = string_arg(args.get(1))?;
                let sep = string_arg(args.get(2))?;
                let srcs = args[3.min(args.len())..]
                    .iter()
                    .map(|a| string_arg(Some(a)))
                    .collect::<Result<Vec<_>, _>>()?;
                if !valid_label_name(dst) || args.get(1).is_some_and(|a| self.is_not_utf8(a)) {
                    return Err(PromqlError::Execution(format!(
                        "invalid destination label name in label_join(): {dst}"
                    )));
                }
                let mut v = self.eval_vector(first)?;
                for s in &mut v {
                    let joined: Vec<&str> =
                        srcs.iter().map(|n| s.labels.get(n).unwrap_or("")).collect();
                    s.labels = set_label(&s.labels, dst, &joined.join(sep))?;
                    s.drop_name &= dst != METRIC_NAME;
                }
                v
            }
            Function::Absent => {
                let v = self.eval_vector(first)?;
                let values = (0..self.steps())
                    .map(|i| (!v.iter().any(|s| s.has_value(i))).then_some(1.0))
                    .collect();
                vec![StepSeries {
                    labels: absent_labels(first),
                    values,
                    drop_name: false,
                    hists: None,
                }]
            }
            Function::Sort | Function::SortDesc => {
                let mut v = self.eval_vector(first)?;
                // sort and sort_desc order floats; histograms are left out, as upstream.
                for s in &mut v {
                    s.hists = None;
                }
                v.retain(StepSeries::any_value);
                let desc = f == Function::SortDesc;
                // Only instant queries have an order; NaN sorts last either way.
                v.sort_by(|a, b| {
                    let (x, y) = (
                        a.values[0].unwrap_or(f64::NAN),
                        b.values[0].unwrap_or(f64::NAN),
                    );
                    match (x.is_nan(), y.is_nan()) {
                        (true, true) => std::cmp::Ordering::Equal,
                        (true, false) => std::cmp::Ordering::Greater,
                        (false, true) => std::cmp::Ordering::Less,
                        _ if desc => y.total_cmp(&x),
                        _ => x.total_cmp(&y),
                    }
                });
                v
            }
            Function::SortByLabel | Function::SortByLabelDesc => {
                let names = args[1.min(args.len())..]
                    .iter()
                    .map(|a| string_arg(Some(a)))
                    .collect::<Result<Vec<_>, _>>()?;
                let mut v = self.eval_vector(first)?;
                v.sort_by(|a, b| {
                    let (la, lb) = (a.final_labels(), b.final_labels());
                    let by = names
                        .iter()
                        .map(|n| natural_cmp(la.get(n).unwrap_or(""), lb.get(n).unwrap_or("")))
                        .find(|o| o.is_ne())
                        .unwrap_or_else(|| la.cmp(&lb));
                    if f == Function::SortByLabelDesc {
                        by.reverse()
                    } else {
                        by
                    }
                });
                v
            }
            _ => return Ok(None),
        };
        Ok(Some(Evaluated::Vector(out)))
    }
}

/// The natural order `sort_by_label` uses (that of Go's `facette/natsort`): runs of digits
/// compare as numbers (leading zeros skipped, a longer run is larger), other bytes as bytes.
fn natural_cmp(a: &str, b: &str) -> Ordering {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    let (mut i, mut j) = (0, 0);
    loop {
        match (i < a.len(), j < b.len()) {
            (false, false) => return Ordering::Equal,
            (false, true) => return Ordering::Less,
            (true, false) => return Ordering::Greater,
            _ => {}
        }
        if a[i].is_ascii_digit() && b[j].is_ascii_digit() {
            let (ra, rb) = (digit_run(a, &mut i), digit_run(b, &mut j));
            let o = ra.len().cmp(&rb.len()).then_with(|| ra.cmp(rb));
            if o.is_ne() {
                return o;
            }
            continue;
        }
        if a[i] != b[j] {
            return a[i].cmp(&b[j]);
        }
        i += 1;
        j += 1;
    }
}

/// The run of digits at `*pos` without its leading zeros (a last zero stays), advancing
/// `*pos` past it.
fn digit_run<'s>(s: &'s [u8], pos: &mut usize) -> &'s [u8] {
    while s[*pos] == b'0' && *pos + 1 < s.len() {
        *pos += 1;
    }
    let start = *pos;
    *pos += 1;
    while *pos < s.len() && s[*pos].is_ascii_digit() {
        *pos += 1;
    }
    &s[start..*pos]
}

/// Label names may be any non-empty UTF-8 since Prometheus 3. (`promql-parser` turns a byte
/// escape like `"\xff"` into the code point U+00FF; the evaluator checks the source text.)
fn valid_label_name(n: &str) -> bool {
    !n.is_empty()
}

fn set_label(labels: &Labels, name: &str, value: &str) -> Result<Labels, PromqlError> {
    let mut b = labels.builder();
    if value.is_empty() {
        b.del(name);
    } else {
        b.set(name, value);
    }
    b.build().map_err(|e| PromqlError::Execution(e.to_string()))
}

/// The labels `absent` reports: the selector's equality matchers (a name matched twice is
/// left out, as its value is ambiguous).
pub(super) fn absent_labels(expr: &Expr) -> Labels {
    let vs = match expr {
        Expr::VectorSelector(vs) => vs,
        Expr::MatrixSelector(ms) => &ms.vs,
        _ => return Labels::empty(),
    };
    let mut out: Vec<Label> = Vec::new();
    let mut dup: Vec<&str> = Vec::new();
    for m in &vs.matchers.matchers {
        if m.name == METRIC_NAME {
            continue;
        }
        if out.iter().any(|l| *l.name == *m.name) {
            dup.push(&m.name);
            continue;
        }
        if matches!(m.op, MatchOp::Equal) {
            out.push(Label::new(m.name.as_str(), m.value.as_str()));
        }
    }
    out.retain(|l| !dup.contains(&&*l.name));
    Labels::new(out).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::natural_cmp;
    use std::cmp::Ordering::*;

    #[test]
    fn natural_order() {
        assert_eq!(natural_cmp("2", "10"), Less);
        assert_eq!(natural_cmp("4m600", "4m1000"), Less);
        assert_eq!(natural_cmp("1.2.3", "1.11.3"), Less);
        assert_eq!(natural_cmp("a007", "a7"), Equal);
        assert_eq!(natural_cmp("a", "a1"), Less);
        assert_eq!(natural_cmp("b", "a1"), Greater);
        assert_eq!(natural_cmp("x0", "x"), Greater);
    }
}
