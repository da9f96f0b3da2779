//! Log queries: the stream selector, pipeline stages, line and label filters, `unwrap`, and
//! the log range under a range aggregation (`{…} | … [5m] offset 1h`, in every order Loki's
//! grammar accepts).

use bongsu_model::{MatchOp, Matcher};
use regex::Regex;

use super::{is_kw, PResult, Parser};
use crate::ast::{
    Conversion, Extraction, LabelFormat, LabelFormatValue, LineFilter, LineFilterOp, LineMatch,
    LineMatcher, LogExpr, LogRange, NamedMatcher, RegexpParser, Stage, Unwrap,
};
use crate::error::ParseError;
use crate::lexer::Tok;
use crate::{go, ip, pattern};

pub(super) fn match_op(tok: &Tok) -> Option<MatchOp> {
    Some(match tok {
        Tok::Kw("=") => MatchOp::Equal,
        Tok::Kw("!=") => MatchOp::NotEqual,
        Tok::Kw("=~") => MatchOp::Regex,
        Tok::Kw("!~") => MatchOp::NotRegex,
        _ => return None,
    })
}

fn line_filter_op(tok: &Tok) -> Option<LineFilterOp> {
    Some(match tok {
        Tok::Kw("|=") => LineFilterOp::Contains,
        Tok::Kw("!=") => LineFilterOp::NotContains,
        Tok::Kw("|~") => LineFilterOp::Match,
        Tok::Kw("!~") => LineFilterOp::NotMatch,
        Tok::Kw("|>") => LineFilterOp::Pattern,
        Tok::Kw("!>") => LineFilterOp::NotPattern,
        _ => return None,
    })
}

/// A matcher as Prometheus' `labels.NewMatcher` builds it (regexes anchored, compiled), with
/// Go's wording for a bad regex.
pub(super) fn new_matcher(op: MatchOp, name: &str, value: &str) -> PResult<Matcher> {
    Matcher::new(op, name, value).map_err(|e| {
        let compiled = format!("^(?s:{value})$");
        let msg = match Regex::new(&compiled) {
            Err(re) => go::regex_error(&re, &compiled),
            Ok(_) => e.to_string(),
        };
        ParseError::semantic(msg)
    })
}

impl Parser {
    /// `{…}` and its pipeline. In a range (`in_range`), stops before `| unwrap`.
    pub(crate) fn log_expr(&mut self, in_range: bool) -> PResult<LogExpr> {
        let matchers = self.selector()?;
        let stages = self.stages(in_range)?;
        Ok(LogExpr { matchers, stages })
    }

    fn selector(&mut self) -> PResult<Vec<Matcher>> {
        self.expect_kw("{", &["{"])?;
        let mut out = Vec::new();
        if self.at_kw("}") {
            self.advance();
            return Ok(out);
        }
        let mut expecting: &[&str] = &["IDENTIFIER", "}"];
        loop {
            let name = self.expect_ident(expecting)?;
            let Some(op) = match_op(self.peek()?) else {
                return Err(self.unexpected(&["=", "=~", "!~", "!="]));
            };
            self.advance();
            let value = self.expect_str(&["STRING"])?;
            out.push(new_matcher(op, &name, &value)?);
            match self.peek()? {
                Tok::Kw(",") => {
                    self.advance();
                    expecting = &["IDENTIFIER"];
                }
                Tok::Kw("}") => {
                    self.advance();
                    return Ok(out);
                }
                _ => return Err(self.unexpected(&["}", ","])),
            }
        }
    }

    fn stages(&mut self, in_range: bool) -> PResult<Vec<Stage>> {
        let mut stages = Vec::new();
        loop {
            let tok = self.peek()?.clone();
            if let Some(op) = line_filter_op(&tok) {
                self.advance();
                self.line_filter(op, &mut stages)?;
                continue;
            }
            if !is_kw(&tok, "|") || (in_range && is_kw(self.peek2()?, "unwrap")) {
                return Ok(stages);
            }
            self.advance();
            stages.push(self.stage()?);
        }
    }

    /// The stage after a `|`.
    fn stage(&mut self) -> PResult<Stage> {
        let tok = self.peek()?.clone();
        let stage =
            match tok {
                Tok::Kw("logfmt") => {
                    self.advance();
                    let (mut strict, mut keep_empty) = (false, false);
                    while let Tok::Flag(f) = self.peek()? {
                        match *f {
                            "--strict" => strict = true,
                            _ => keep_empty = true,
                        }
                        self.advance();
                    }
                    let params = self.extractions()?;
                    Stage::Logfmt {
                        strict,
                        keep_empty,
                        params,
                    }
                }
                Tok::Kw("json") => {
                    self.advance();
                    Stage::Json {
                        params: self.extractions()?,
                    }
                }
                Tok::Kw("regexp") => {
                    self.advance();
                    let source = self.expect_str(&["STRING"])?;
                    Stage::Regexp(regexp_parser(source)?)
                }
                Tok::Kw("pattern") => {
                    self.advance();
                    let source = self.expect_str(&["STRING"])?;
                    Stage::Pattern(pattern::parse_parser(&source).map_err(|e| {
                        ParseError::semantic(format!("invalid pattern parser: {e}"))
                    })?)
                }
                Tok::Kw("unpack") => {
                    self.advance();
                    Stage::Unpack
                }
                Tok::Kw("decolorize") => {
                    self.advance();
                    Stage::Decolorize
                }
                Tok::Kw("line_format") => {
                    self.advance();
                    Stage::LineFormat(self.expect_str(&["STRING"])?)
                }
                Tok::Kw("label_format") => {
                    self.advance();
                    let mut out = Vec::new();
                    loop {
                        let name = self.expect_ident(&["IDENTIFIER"])?;
                        self.expect_kw("=", &["="])?;
                        let value = match self.peek()?.clone() {
                            Tok::Ident(s) => LabelFormatValue::Rename(s),
                            Tok::Str(s) => LabelFormatValue::Template(s),
                            _ => return Err(self.unexpected(&["IDENTIFIER", "STRING"])),
                        };
                        self.advance();
                        out.push(LabelFormat { name, value });
                        if !self.at_kw(",") {
                            break Stage::LabelFormat(out);
                        }
                        self.advance();
                    }
                }
                Tok::Kw(kw @ ("drop" | "keep")) => {
                    self.advance();
                    let mut out = Vec::new();
                    loop {
                        let name = self.expect_ident(&["IDENTIFIER"])?;
                        match match_op(self.peek()?) {
                            Some(op) => {
                                self.advance();
                                let value = self.expect_str(&["STRING"])?;
                                out.push(NamedMatcher::Matcher(new_matcher(op, &name, &value)?));
                            }
                            None => out.push(NamedMatcher::Name(name)),
                        }
                        if !self.at_kw(",") {
                            break if kw == "drop" {
                                Stage::Drop(out)
                            } else {
                                Stage::Keep(out)
                            };
                        }
                        self.advance();
                    }
                }
                Tok::Ident(_) | Tok::Kw("(") => Stage::LabelFilter(self.label_filter()?),
                _ => return Err(self.unexpected(&[])),
            };
        Ok(stage)
    }

    /// `a="path", b` after `json`/`logfmt` (possibly none).
    fn extractions(&mut self) -> PResult<Vec<Extraction>> {
        let mut out = Vec::new();
        if !matches!(self.peek()?, Tok::Ident(_)) {
            return Ok(out);
        }
        loop {
            let label = self.expect_ident(&["IDENTIFIER"])?;
            let expression = if self.at_kw("=") {
                self.advance();
                self.expect_str(&["STRING"])?
            } else {
                label.clone()
            };
            out.push(Extraction { label, expression });
            if !self.at_kw(",") {
                return Ok(out);
            }
            self.advance();
        }
    }

    /// The alternatives after a line filter operator; a negative `or` chain becomes one
    /// filter per alternative.
    fn line_filter(&mut self, op: LineFilterOp, stages: &mut Vec<Stage>) -> PResult<()> {
        let mut alternatives = vec![self.line_match(op)?];
        while self.at_kw("or") {
            self.advance();
            alternatives.push(self.line_match(op)?);
        }
        if op.is_negative() {
            for alt in alternatives {
                stages.push(Stage::LineFilter(LineFilter {
                    op,
                    alternatives: vec![alt],
                }));
            }
        } else {
            stages.push(Stage::LineFilter(LineFilter { op, alternatives }));
        }
        Ok(())
    }

    /// `"text"` or `ip("…")`, compiled for `op`.
    fn line_match(&mut self, op: LineFilterOp) -> PResult<LineMatch> {
        const EXPECTING: &[&str] = &["STRING", "ip"];
        match self.peek()?.clone() {
            Tok::Str(text) => {
                self.advance();
                let matcher = match op {
                    LineFilterOp::Contains | LineFilterOp::NotContains => {
                        LineMatcher::Contains(text.clone())
                    }
                    LineFilterOp::Match | LineFilterOp::NotMatch => match Regex::new(&text) {
                        Ok(r) => LineMatcher::Regex(r),
                        Err(e) => LineMatcher::Invalid(go::regex_error(&e, &text)),
                    },
                    LineFilterOp::Pattern | LineFilterOp::NotPattern => {
                        match pattern::parse_line_filter(&text) {
                            Ok(p) => LineMatcher::Pattern(p),
                            Err(e) => LineMatcher::Invalid(e),
                        }
                    }
                };
                Ok(LineMatch {
                    text,
                    ip: false,
                    matcher,
                })
            }
            Tok::Fun("ip") => {
                let text = self.ip_call()?;
                let matcher = match op {
                    LineFilterOp::Contains | LineFilterOp::NotContains => match ip::parse(&text) {
                        Ok(p) => LineMatcher::Ip(p),
                        Err(e) => LineMatcher::Invalid(e),
                    },
                    _ => LineMatcher::Invalid("ip: invalid operation".into()),
                };
                Ok(LineMatch {
                    text,
                    ip: true,
                    matcher,
                })
            }
            _ => Err(self.unexpected(EXPECTING)),
        }
    }

    /// `ip("…")`: the string.
    pub(super) fn ip_call(&mut self) -> PResult<String> {
        self.advance();
        self.expect_kw("(", &["("])?;
        let s = self.expect_str(&["STRING"])?;
        self.expect_kw(")", &[")"])?;
        Ok(s)
    }

    /// `| unwrap …` and the label filters after it, when they come next.
    fn unwrap(&mut self) -> PResult<Option<Unwrap>> {
        if !(self.at_kw("|") && is_kw(self.peek2()?, "unwrap")) {
            return Ok(None);
        }
        self.advance();
        self.advance();
        let (label, conversion) = match self.peek()?.clone() {
            Tok::Ident(l) => {
                self.advance();
                (l, Conversion::None)
            }
            Tok::Fun(f @ ("bytes" | "duration" | "duration_seconds")) => {
                self.advance();
                self.expect_kw("(", &["("])?;
                let l = self.expect_ident(&["IDENTIFIER"])?;
                self.expect_kw(")", &[")"])?;
                let conv = match f {
                    "bytes" => Conversion::Bytes,
                    "duration" => Conversion::Duration,
                    _ => Conversion::DurationSeconds,
                };
                (l, conv)
            }
            _ => {
                return Err(self.unexpected(&[
                    "IDENTIFIER",
                    "BYTES_CONV",
                    "DURATION_CONV",
                    "DURATION_SECONDS_CONV",
                ]))
            }
        };
        let mut post_filters = Vec::new();
        while self.at_kw("|") {
            self.advance();
            if !matches!(self.peek()?, Tok::Ident(_) | Tok::Kw("(")) {
                return Err(self.unexpected(&["IDENTIFIER", "("]));
            }
            post_filters.push(self.label_filter()?);
        }
        Ok(Some(Unwrap {
            label,
            conversion,
            post_filters,
        }))
    }

    /// `offset <duration>` if present; 0 otherwise.
    fn offset(&mut self) -> PResult<i64> {
        if !self.at_kw("offset") {
            return Ok(0);
        }
        self.advance();
        match self.peek()? {
            Tok::Duration(d) => {
                let d = *d;
                self.advance();
                Ok(d)
            }
            _ => Err(self.unexpected(&["DURATION"])),
        }
    }

    /// The argument of a range aggregation.
    pub(crate) fn log_range(&mut self) -> PResult<LogRange> {
        self.enter()?;
        let r = if self.at_kw("(") {
            self.advance();
            if self.at_kw("(") {
                let inner = self.log_range()?;
                self.expect_kw(")", &[])?;
                inner
            } else if self.at_kw("{") {
                let log = self.log_expr(true)?;
                let unwrap = self.unwrap()?;
                if matches!(self.peek()?, Tok::Range(_)) {
                    let r = self.after_selector(log, unwrap)?;
                    self.expect_kw(")", &[])?;
                    r
                } else {
                    self.expect_kw(")", &[])?;
                    let range = self.range()?;
                    let offset = self.offset()?;
                    let unwrap = match unwrap {
                        None if log.stages.is_empty() => self.unwrap()?,
                        u => u,
                    };
                    LogRange {
                        log,
                        range,
                        offset,
                        unwrap,
                    }
                }
            } else {
                return Err(self.unexpected(&["{", "("]));
            }
        } else {
            let log = self.log_expr(true)?;
            let unwrap = self.unwrap()?;
            self.after_selector(log, unwrap)?
        };
        self.leave();
        Ok(r)
    }

    /// `[range] [offset]`, then a pipeline and unwrap if none came before the range.
    fn after_selector(
        &mut self,
        mut log: LogExpr,
        mut unwrap: Option<Unwrap>,
    ) -> PResult<LogRange> {
        let range = self.range()?;
        let offset = self.offset()?;
        if log.stages.is_empty() && unwrap.is_none() {
            log.stages = self.stages(true)?;
            unwrap = self.unwrap()?;
        }
        Ok(LogRange {
            log,
            range,
            offset,
            unwrap,
        })
    }

    fn range(&mut self) -> PResult<std::time::Duration> {
        match self.peek()? {
            Tok::Range(d) => {
                let d = *d;
                self.advance();
                Ok(d)
            }
            _ => Err(self.unexpected(&[])),
        }
    }
}

/// Loki's `NewRegexpParser` checks, with its messages under `invalid regexp parser: `.
fn regexp_parser(source: String) -> PResult<RegexpParser> {
    let fail = |m: String| ParseError::semantic(format!("invalid regexp parser: {m}"));
    let regex = Regex::new(&source).map_err(|e| fail(go::regex_error(&e, &source)))?;
    let mut seen: Vec<&str> = Vec::new();
    for name in regex.capture_names().flatten() {
        if !valid_label_name(name) {
            return Err(fail(format!("invalid extracted label name '{name}'")));
        }
        if seen.contains(&name) {
            return Err(fail(format!("duplicate extracted label name '{name}'")));
        }
        seen.push(name);
    }
    if seen.is_empty() {
        return Err(fail("at least one named capture must be supplied".into()));
    }
    Ok(RegexpParser { source, regex })
}

/// Prometheus' UTF-8 label name rule: any non-empty valid UTF-8.
fn valid_label_name(name: &str) -> bool {
    !name.is_empty()
}
