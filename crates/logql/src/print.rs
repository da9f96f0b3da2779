//! `Display` for the AST: Loki's canonical text (its `String()`, what
//! `/loki/api/v1/format_query` answers), quirks included: binary expressions always in
//! parentheses, `and`-ed label filters as `( a , b )`, typed filters without spaces and with
//! Go's layouts (`duration>1m0s`, `size>=20MB`, `x==1`), a regex label filter Loki cannot
//! reduce to literals in backquotes, `offset` as Go prints a duration (`1h0m0s`), `vector`
//! with six decimals.
//!
//! Printing is lossless except where Loki's is not: byte sizes are rounded as go-humanize
//! rounds them (`20.2MB` prints `20MB`), `vector()` keeps six decimals, and the cardinality
//! of `ignoring () group_left` is not printed.
//!
//! Not here: parsing.

use std::fmt::{self, Display, Formatter, Write};
use std::time::Duration;

use bongsu_model::{MatchOp, Matcher};

use crate::ast::*;
use crate::go::{
    duration_string, format_bytes, format_float_6, format_float_f, format_float_v, quote,
};
use crate::simplify;

impl Display for Expr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Expr::Log(l) => l.fmt(f),
            Expr::Metric(m) => m.fmt(f),
        }
    }
}

/// Prometheus' `Matcher.String()`: the name quoted when it is not a classic label name.
struct PromMatcher<'a>(&'a Matcher);

impl Display for PromMatcher<'_> {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let m = self.0;
        let classic = m
            .name
            .chars()
            .enumerate()
            .all(|(i, c)| c == '_' || c.is_ascii_alphabetic() || (i > 0 && c.is_ascii_digit()))
            && !m.name.is_empty();
        if classic {
            f.write_str(&m.name)?;
        } else {
            f.write_str(&quote(&m.name))?;
        }
        write!(f, "{}{}", m.op, quote(&m.value))
    }
}

impl Display for LogExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        f.write_char('{')?;
        for (i, m) in self.matchers.iter().enumerate() {
            if i > 0 {
                f.write_str(", ")?;
            }
            PromMatcher(m).fmt(f)?;
        }
        f.write_char('}')?;
        for s in &self.stages {
            write!(f, " {s}")?;
        }
        Ok(())
    }
}

impl LineFilterOp {
    pub fn symbol(self) -> &'static str {
        match self {
            LineFilterOp::Contains => "|=",
            LineFilterOp::NotContains => "!=",
            LineFilterOp::Match => "|~",
            LineFilterOp::NotMatch => "!~",
            LineFilterOp::Pattern => "|>",
            LineFilterOp::NotPattern => "!>",
        }
    }
}

impl Display for LineMatch {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        if self.ip {
            write!(f, "ip({})", quote(&self.text))
        } else {
            f.write_str(&quote(&self.text))
        }
    }
}

fn extractions(f: &mut Formatter<'_>, params: &[Extraction]) -> fmt::Result {
    for (i, e) in params.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        write!(f, "{}={}", e.label, quote(&e.expression))?;
    }
    Ok(())
}

fn named_matchers(f: &mut Formatter<'_>, items: &[NamedMatcher]) -> fmt::Result {
    for (i, m) in items.iter().enumerate() {
        if i > 0 {
            f.write_char(',')?;
        }
        match m {
            NamedMatcher::Name(n) => f.write_str(n)?,
            NamedMatcher::Matcher(m) => PromMatcher(m).fmt(f)?,
        }
    }
    Ok(())
}

impl Display for Stage {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            Stage::LineFilter(lf) => {
                write!(f, "{}", lf.op.symbol())?;
                for (i, alt) in lf.alternatives.iter().enumerate() {
                    let sep = if i == 0 { " " } else { " or " };
                    write!(f, "{sep}{alt}")?;
                }
                Ok(())
            }
            Stage::Logfmt {
                strict,
                keep_empty,
                params,
            } => {
                f.write_str("| logfmt")?;
                if params.is_empty() {
                    if *strict {
                        f.write_str(" --strict")?;
                    }
                    if *keep_empty {
                        f.write_str(" --keep-empty")?;
                    }
                    return Ok(());
                }
                f.write_char(' ')?;
                if *strict {
                    f.write_str("--strict ")?;
                }
                if *keep_empty {
                    f.write_str("--keep-empty ")?;
                }
                extractions(f, params)
            }
            Stage::Json { params } if params.is_empty() => f.write_str("| json"),
            Stage::Json { params } => {
                f.write_str("| json ")?;
                extractions(f, params)
            }
            Stage::Regexp(r) => write!(f, "| regexp {}", quote(&r.source)),
            Stage::Pattern(p) => write!(f, "| pattern {}", quote(&p.source)),
            Stage::Unpack => f.write_str("| unpack"),
            Stage::LabelFilter(lf) => write!(f, "| {lf}"),
            Stage::LineFormat(t) => write!(f, "| line_format {}", quote(t)),
            Stage::LabelFormat(items) => {
                f.write_str("| label_format ")?;
                for (i, it) in items.iter().enumerate() {
                    if i > 0 {
                        f.write_char(',')?;
                    }
                    match &it.value {
                        LabelFormatValue::Rename(src) => write!(f, "{}={src}", it.name)?,
                        LabelFormatValue::Template(t) => write!(f, "{}={}", it.name, quote(t))?,
                    }
                }
                Ok(())
            }
            Stage::Decolorize => f.write_str("| decolorize"),
            Stage::Drop(items) => {
                f.write_str("| drop ")?;
                named_matchers(f, items)
            }
            Stage::Keep(items) => {
                f.write_str("| keep ")?;
                named_matchers(f, items)
            }
        }
    }
}

impl CmpOp {
    pub fn symbol(self) -> &'static str {
        match self {
            CmpOp::Eq => "==",
            CmpOp::Ne => "!=",
            CmpOp::Gt => ">",
            CmpOp::Ge => ">=",
            CmpOp::Lt => "<",
            CmpOp::Le => "<=",
        }
    }
}

impl Display for LabelFilter {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            LabelFilter::And(l, r) => write!(f, "( {l} , {r} )"),
            LabelFilter::Or(l, r) => write!(f, "( {l} or {r} )"),
            LabelFilter::String(m)
                if m.op == MatchOp::Regex && !simplify::loki_simplifies(&m.value) =>
            {
                // Loki prints the regex its filter kept, backquoted when it can be.
                if m.value.contains('`') {
                    write!(f, "{}=~{}", m.name, quote(&m.value))
                } else {
                    write!(f, "{}=~`{}`", m.name, m.value)
                }
            }
            LabelFilter::String(m) => PromMatcher(m).fmt(f),
            LabelFilter::Number { name, op, value } => {
                write!(f, "{name}{}{}", op.symbol(), format_float_f(*value))
            }
            LabelFilter::Duration { name, op, value } => {
                write!(f, "{name}{}{}", op.symbol(), duration_string(*value))
            }
            LabelFilter::Bytes { name, op, value } => {
                write!(f, "{name}{}{}", op.symbol(), format_bytes(*value))
            }
            LabelFilter::Ip {
                name, equal, text, ..
            } => {
                let eq = if *equal { "=" } else { "!=" };
                write!(f, "{name}{eq}ip({})", quote(text))
            }
        }
    }
}

/// Prometheus' `model.Duration.String()`: years and weeks only when exact.
fn prom_duration(d: Duration) -> String {
    let mut ms = u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
    if ms == 0 {
        return "0s".into();
    }
    let mut out = String::new();
    const DAY: u64 = 86_400_000;
    for (unit, mult, exact) in [
        ("y", 365 * DAY, true),
        ("w", 7 * DAY, true),
        ("d", DAY, false),
        ("h", 3_600_000, false),
        ("m", 60_000, false),
        ("s", 1000, false),
        ("ms", 1, false),
    ] {
        if exact && ms % mult != 0 {
            continue;
        }
        let v = ms / mult;
        if v > 0 {
            let _ = write!(out, "{v}{unit}");
            ms -= v * mult;
        }
    }
    out
}

impl Display for Unwrap {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self.conversion {
            Conversion::None => write!(f, " | unwrap {}", self.label)?,
            Conversion::Bytes => write!(f, " | unwrap bytes({})", self.label)?,
            Conversion::Duration => write!(f, " | unwrap duration({})", self.label)?,
            Conversion::DurationSeconds => write!(f, " | unwrap duration_seconds({})", self.label)?,
        }
        for pf in &self.post_filters {
            write!(f, " | {pf}")?;
        }
        Ok(())
    }
}

impl Display for LogRange {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        self.log.fmt(f)?;
        if let Some(u) = &self.unwrap {
            u.fmt(f)?;
        }
        write!(f, "[{}]", prom_duration(self.range))?;
        if self.offset != 0 {
            write!(f, " offset {}", duration_string(self.offset))?;
        }
        Ok(())
    }
}

impl Display for Grouping {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        let kw = if self.without { "without" } else { "by" };
        write!(f, " {kw} ({})", self.labels.join(","))
    }
}

impl Display for MetricExpr {
    fn fmt(&self, f: &mut Formatter<'_>) -> fmt::Result {
        match self {
            MetricExpr::Range(r) => {
                write!(f, "{}(", r.op.name())?;
                if let Some(p) = r.param {
                    write!(f, "{},", format_float_f(p))?;
                }
                write!(f, "{})", r.range)?;
                if let Some(g) = &r.grouping {
                    g.fmt(f)?;
                }
                Ok(())
            }
            MetricExpr::Vector(v) => {
                f.write_str(v.op.name())?;
                // `by ()` means "one group", Loki's default, and is not printed.
                if v.grouping.without || !v.grouping.labels.is_empty() {
                    v.grouping.fmt(f)?;
                }
                f.write_char('(')?;
                if v.op.takes_param() {
                    write!(f, "{},", v.param)?;
                }
                write!(f, "{})", v.expr)
            }
            MetricExpr::Binary(b) => {
                write!(f, "({} {}", b.lhs, b.op.symbol())?;
                if b.return_bool {
                    f.write_str(" bool")?;
                }
                let m = &b.matching;
                if m.on || !m.labels.is_empty() {
                    let on = if m.on { "on" } else { "ignoring" };
                    let mut group = match m.card {
                        Cardinality::OneToOne => String::new(),
                        Cardinality::ManyToOne => "group_left".into(),
                        Cardinality::OneToMany => "group_right".into(),
                    };
                    if !m.include.is_empty() {
                        group = format!("{group} ({})", m.include.join(","));
                    }
                    // Loki leaves the space before an empty group: `on (a)  rhs`.
                    write!(f, " {on} ({}) {group}", m.labels.join(","))?;
                }
                write!(f, " {})", b.rhs)
            }
            MetricExpr::Literal(v) => f.write_str(&format_float_v(*v)),
            MetricExpr::VectorLiteral(v) => write!(f, "vector({})", format_float_6(*v)),
            MetricExpr::LabelReplace(l) => write!(
                f,
                "label_replace({},{},{},{},{})",
                l.expr,
                quote(&l.dst),
                quote(&l.replacement),
                quote(&l.src),
                quote(&l.regex_source)
            ),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::prom_duration;
    use std::time::Duration;

    #[test]
    fn prometheus_durations() {
        assert_eq!(prom_duration(Duration::from_secs(8 * 86_400)), "8d");
        assert_eq!(prom_duration(Duration::from_secs(14 * 86_400)), "2w");
        assert_eq!(prom_duration(Duration::from_millis(90_500)), "1m30s500ms");
        assert_eq!(prom_duration(Duration::ZERO), "0s");
    }
}
