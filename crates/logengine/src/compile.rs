//! From the AST's stages to the pipeline's: each LogQL stage becomes its `bongsu-logpipeline`
//! constructor, and the literal substrings every selected line must contain become store
//! needles.
//!
//! Needles are taken only from line filters before the first stage that rewrites the line
//! (`line_format`, `decolorize`, `unpack`): later filters test another text. A positive `|=`
//! with one literal is a needle; so is `|~` with a regex that is a plain literal, or `(?i)`
//! and a literal without `k` or `s` (the only ASCII letters `(?i)` also matches with non-ASCII
//! characters: KELVIN SIGN, LONG S), as an ASCII-case-insensitive needle.

use bongsu_logpipeline::filter::LineFilter as PipeLineFilter;
use bongsu_logpipeline::format::{Decolorize, LabelFormat, LineFormat};
use bongsu_logpipeline::label_filter::{CmpOp as PipeCmp, LabelFilter as PipeLabelFilter};
use bongsu_logpipeline::labels_ops::{DropLabels, KeepLabels, LabelSelector};
use bongsu_logpipeline::parser::json::JsonParser;
use bongsu_logpipeline::parser::json_expr::JsonExprParser;
use bongsu_logpipeline::parser::logfmt::LogfmtParser;
use bongsu_logpipeline::parser::regexp::RegexpParser;
use bongsu_logpipeline::parser::unpack::UnpackParser;
use bongsu_logpipeline::parser::PatternParser;
use bongsu_logpipeline::{Pipeline, Stage as PipeStage, StageError};
use bongsu_logql::ast::{
    CmpOp, LabelFilter, LabelFormatValue, LineFilter, LineFilterOp, LineMatcher, NamedMatcher,
    Stage,
};
use bongsu_logstore::Needle;

use crate::QueryError;

/// A log expression's stages, compiled.
pub(crate) struct Compiled {
    pub pipeline: Pipeline,
    pub needles: Vec<Needle>,
}

fn bad(e: StageError) -> QueryError {
    QueryError::BadQuery(e.to_string())
}

/// Compiles `stages` (a query's, or an unwrap's post-filters appended by the caller).
pub(crate) fn compile(stages: &[Stage]) -> Result<Compiled, QueryError> {
    let mut out = Vec::with_capacity(stages.len());
    let mut needles = Vec::new();
    let mut line_unchanged = true;
    for stage in stages {
        if line_unchanged {
            if let Stage::LineFilter(f) = stage {
                needles.extend(needle_of(f));
            }
        }
        if matches!(
            stage,
            Stage::LineFormat(_) | Stage::Decolorize | Stage::Unpack
        ) {
            line_unchanged = false;
        }
        out.push(stage_of(stage)?);
    }
    Ok(Compiled {
        pipeline: Pipeline::new(out),
        needles,
    })
}

fn needle_of(f: &LineFilter) -> Option<Needle> {
    let [alt] = f.alternatives.as_slice() else {
        return None;
    };
    if alt.ip {
        return None;
    }
    match (f.op, &alt.matcher) {
        (LineFilterOp::Contains, LineMatcher::Contains(s)) if !s.is_empty() => Some(Needle::new(s)),
        (LineFilterOp::Match, LineMatcher::Regex(_)) => {
            let src = alt.text.as_str();
            let (insensitive, lit) = match src.strip_prefix("(?i)") {
                Some(rest) => (true, rest),
                None => (false, src),
            };
            let plain = !lit.is_empty() && !lit.chars().any(|c| "\\.+*?()|[]{}^$".contains(c));
            if !plain {
                return None;
            }
            if !insensitive {
                return Some(Needle::new(lit));
            }
            let folds_beyond_ascii = lit.chars().any(|c| matches!(c, 'k' | 'K' | 's' | 'S'));
            (lit.is_ascii() && !folds_beyond_ascii).then(|| Needle::ascii_case_insensitive(lit))
        }
        _ => None,
    }
}

fn stage_of(stage: &Stage) -> Result<PipeStage, QueryError> {
    Ok(match stage {
        Stage::LineFilter(f) => PipeStage::LineFilter(PipeLineFilter::from_logql(f).map_err(bad)?),
        Stage::Logfmt {
            strict,
            keep_empty,
            params,
        } => {
            if params.is_empty() {
                PipeStage::Logfmt(LogfmtParser::new(*strict, *keep_empty))
            } else {
                let exprs: Vec<(&str, &str)> = params
                    .iter()
                    .map(|p| (p.label.as_str(), p.expression.as_str()))
                    .collect();
                PipeStage::Logfmt(LogfmtParser::with_expressions(*strict, &exprs).map_err(bad)?)
            }
        }
        Stage::Json { params } => {
            if params.is_empty() {
                PipeStage::Json(JsonParser::new())
            } else {
                let exprs: Vec<(&str, &str)> = params
                    .iter()
                    .map(|p| (p.label.as_str(), p.expression.as_str()))
                    .collect();
                PipeStage::JsonExpr(JsonExprParser::new(&exprs).map_err(bad)?)
            }
        }
        Stage::Regexp(r) => PipeStage::Regexp(RegexpParser::new(&r.source).map_err(bad)?),
        Stage::Pattern(p) => PipeStage::Pattern(PatternParser::new(&p.source).map_err(bad)?),
        Stage::Unpack => PipeStage::Unpack(UnpackParser::new()),
        Stage::LabelFilter(f) => PipeStage::LabelFilter(label_filter(f)?),
        Stage::LineFormat(t) => PipeStage::LineFormat(Box::new(LineFormat::new(t).map_err(bad)?)),
        Stage::LabelFormat(entries) => {
            let list: Vec<(&str, &str, bool)> = entries
                .iter()
                .map(|e| match &e.value {
                    LabelFormatValue::Rename(src) => (e.name.as_str(), src.as_str(), true),
                    LabelFormatValue::Template(t) => (e.name.as_str(), t.as_str(), false),
                })
                .collect();
            PipeStage::LabelFormat(Box::new(LabelFormat::new(&list).map_err(bad)?))
        }
        Stage::Decolorize => PipeStage::Decolorize(Decolorize::new().map_err(bad)?),
        Stage::Drop(list) => PipeStage::Drop(DropLabels::new(selectors(list))),
        Stage::Keep(list) => PipeStage::Keep(KeepLabels::new(selectors(list))),
    })
}

fn selectors(list: &[NamedMatcher]) -> Vec<LabelSelector> {
    list.iter()
        .map(|m| match m {
            NamedMatcher::Name(n) => LabelSelector::Name(n.clone()),
            NamedMatcher::Matcher(m) => LabelSelector::Matcher(m.clone()),
        })
        .collect()
}

fn cmp(op: CmpOp) -> PipeCmp {
    match op {
        CmpOp::Eq => PipeCmp::Eq,
        CmpOp::Ne => PipeCmp::Ne,
        CmpOp::Gt => PipeCmp::Gt,
        CmpOp::Ge => PipeCmp::Ge,
        CmpOp::Lt => PipeCmp::Lt,
        CmpOp::Le => PipeCmp::Le,
    }
}

pub(crate) fn label_filter(f: &LabelFilter) -> Result<PipeLabelFilter, QueryError> {
    Ok(match f {
        LabelFilter::And(a, b) => PipeLabelFilter::and(label_filter(a)?, label_filter(b)?),
        LabelFilter::Or(a, b) => PipeLabelFilter::or(label_filter(a)?, label_filter(b)?),
        LabelFilter::String(m) => PipeLabelFilter::string(&m.name, m.op, &m.value).map_err(bad)?,
        LabelFilter::Number { name, op, value } => PipeLabelFilter::number(name, cmp(*op), *value),
        LabelFilter::Duration { name, op, value } => {
            PipeLabelFilter::duration(name, cmp(*op), *value)
        }
        LabelFilter::Bytes { name, op, value } => PipeLabelFilter::bytes(name, cmp(*op), *value),
        LabelFilter::Ip {
            name,
            equal,
            text,
            pattern,
        } => {
            if let Err(msg) = pattern {
                return Err(QueryError::BadQuery(msg.clone()));
            }
            PipeLabelFilter::ip(name, !*equal, text).map_err(bad)?
        }
    })
}
