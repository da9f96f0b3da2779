//! [`Pipeline`]: the stages of a log query run in order over one line at a time.
//!
//! The evaluator builds one pipeline per query (it holds per-stage scratch buffers, so one
//! per thread) and one [`LabelsBuilder`] per stream, then calls [`Pipeline::process`] for
//! each entry. A stage either keeps the line, drops it, or rewrites it (formatters, `unpack`,
//! `decolorize`); rewrites go to one of two buffers the pipeline reuses, so filters and
//! parsers never copy the line and a line is never copied more than once per rewrite.
//!
//! Loki short-circuits parsers with "parser hints" (a label filter on a just-parsed label may
//! drop the line before the parser finishes); we run every stage in order instead, which
//! gives the same kept lines and labels except when a later stage would have changed that
//! label before its filter — there Loki's early drop is arguably a bug we do not copy. One
//! early drop that changes nothing is ours: a `pattern` parser followed right away by a
//! filter on one of its captures is lent that filter, and drops the lines it would drop
//! before setting any label (see `parser::pattern`).

use crate::filter::LineFilter;
use crate::format::{Decolorize, LabelFormat, LineFormat};
use crate::label_filter::LabelFilter;
use crate::labels::LabelsBuilder;
use crate::labels_ops::{DropLabels, KeepLabels};
use crate::parser::json::JsonParser;
use crate::parser::json_expr::JsonExprParser;
use crate::parser::logfmt::LogfmtParser;
use crate::parser::regexp::RegexpParser;
use crate::parser::unpack::UnpackParser;
use crate::parser::PatternParser;

/// One stage of a pipeline: one constructor per LogQL stage kind.
#[derive(Clone)]
pub enum Stage {
    LineFilter(LineFilter),
    Json(JsonParser),
    JsonExpr(JsonExprParser),
    Logfmt(LogfmtParser),
    Regexp(RegexpParser),
    Pattern(PatternParser),
    Unpack(UnpackParser),
    LabelFilter(LabelFilter),
    LineFormat(Box<LineFormat>),
    LabelFormat(Box<LabelFormat>),
    Decolorize(Decolorize),
    Drop(DropLabels),
    Keep(KeepLabels),
}

/// What a stage did with the line.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Outcome {
    Keep,
    Drop,
    /// The new line is in the output buffer.
    Rewritten,
}

impl Stage {
    fn process(
        &mut self,
        ts: i64,
        line: &[u8],
        lb: &mut LabelsBuilder,
        out: &mut Vec<u8>,
    ) -> Outcome {
        let keep = |b: bool| if b { Outcome::Keep } else { Outcome::Drop };
        let rewritten = |b: bool| {
            if b {
                Outcome::Rewritten
            } else {
                Outcome::Keep
            }
        };
        match self {
            Stage::LineFilter(f) => keep(f.matches(line)),
            Stage::Json(p) => {
                p.process(line, lb);
                Outcome::Keep
            }
            Stage::JsonExpr(p) => {
                p.process(line, lb);
                Outcome::Keep
            }
            Stage::Logfmt(p) => {
                p.process(line, lb);
                Outcome::Keep
            }
            Stage::Regexp(p) => {
                p.process(line, lb);
                Outcome::Keep
            }
            Stage::Pattern(p) => keep(p.process(line, lb)),
            Stage::Unpack(p) => rewritten(p.process(line, lb, out)),
            Stage::LabelFilter(f) => keep(f.process(lb)),
            Stage::LineFormat(f) => rewritten(f.process(ts, line, lb, out)),
            Stage::LabelFormat(f) => {
                f.process(ts, line, lb);
                Outcome::Keep
            }
            Stage::Decolorize(d) => rewritten(d.process(line, out)),
            Stage::Drop(d) => {
                d.process(lb);
                Outcome::Keep
            }
            Stage::Keep(k) => {
                k.process(lb);
                Outcome::Keep
            }
        }
    }
}

/// Stages `i - 1` and `i`, the first mutable.
fn pair_at(stages: &mut [Stage], i: usize) -> (&mut Stage, &Stage) {
    let (front, back) = stages.split_at_mut(i);
    (&mut front[i - 1], &back[0])
}

/// A log query's stages.
#[derive(Clone, Default)]
pub struct Pipeline {
    stages: Vec<Stage>,
    /// The two buffers rewrites alternate between.
    bufs: [Vec<u8>; 2],
}

impl Pipeline {
    pub fn new(mut stages: Vec<Stage>) -> Pipeline {
        for i in 1..stages.len() {
            if let (Stage::Pattern(p), Stage::LabelFilter(f)) = pair_at(&mut stages, i) {
                p.set_next_filter(f);
            }
        }
        Pipeline {
            stages,
            bufs: Default::default(),
        }
    }

    /// Whether the pipeline has no stages (lines and labels pass unchanged).
    pub fn is_empty(&self) -> bool {
        self.stages.is_empty()
    }

    /// Runs the stages over one entry: `lb` is reset and given the entry's structured
    /// metadata first. Returns the final line, or `None` when a stage dropped it; the line's
    /// labels are then `lb.result()`.
    pub fn process<'a, N: AsRef<str>, V: AsRef<str>>(
        &'a mut self,
        ts: i64,
        line: &'a [u8],
        metadata: &[(N, V)],
        lb: &mut LabelsBuilder,
    ) -> Option<&'a [u8]> {
        lb.start_line(metadata);
        let Pipeline { stages, bufs } = self;
        // Where the current line is: the input, or one of the buffers.
        let mut current: Option<usize> = None;
        for stage in stages.iter_mut() {
            let (front, back) = bufs.split_at_mut(1);
            let (input, out, out_index): (&[u8], &mut Vec<u8>, usize) = match current {
                None => (line, &mut front[0], 0),
                Some(0) => (&front[0], &mut back[0], 1),
                Some(_) => (&back[0], &mut front[0], 0),
            };
            match stage.process(ts, input, lb, out) {
                Outcome::Keep => {}
                Outcome::Drop => return None,
                Outcome::Rewritten => current = Some(out_index),
            }
        }
        Some(match current {
            None => line,
            Some(i) => &self.bufs[i],
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_model::{Labels, MatchOp};

    #[test]
    fn chains_and_rewrites() {
        let mut p = Pipeline::new(vec![
            Stage::LineFilter(LineFilter::contains("level")),
            Stage::Logfmt(LogfmtParser::new(false, false)),
            Stage::LabelFilter(LabelFilter::string("level", MatchOp::Equal, "error").unwrap()),
            Stage::LineFormat(Box::new(LineFormat::new("{{.msg}}!").unwrap())),
            Stage::LineFormat(Box::new(LineFormat::new("[{{__line__}}]").unwrap())),
        ]);
        let mut lb = LabelsBuilder::new(Labels::from_pairs(&[("job", "x")]).unwrap());
        let none: &[(&str, &str)] = &[];
        assert_eq!(
            p.process(0, b"level=error msg=boom", none, &mut lb),
            Some(&b"[boom!]"[..])
        );
        assert_eq!(
            lb.result().to_string(),
            r#"{job="x", level="error", msg="boom"}"#
        );
        assert_eq!(p.process(0, b"level=info msg=ok", none, &mut lb), None);
        assert_eq!(p.process(0, b"nothing", none, &mut lb), None);
    }
}
