//! Line filters: `|= "x"`, `!= "x"`, `|~ "re"`, `!~ "re"`, `|> "pattern"`, `!> "pattern"`,
//! `|= ip("…")`, `!= ip("…")`, and their `or` chains.
//!
//! A filter only reads the line. Regexes Loki would run as substring searches (see
//! [`literal::simplify`]) run as such here too. `!= "a" or "b"` means neither: Loki turns
//! `not (a or b)` into `not a and not b`, which [`LineFilter::negate`] does as well.

pub mod literal;

use regex::bytes::Regex;

use crate::ip::IpMatcher;
use crate::pattern::Pattern;
use crate::StageError;
use literal::{simplify, Needle};

/// The operator of a line filter.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineMatchType {
    /// `|=`
    Contains,
    /// `!=`
    NotContains,
    /// `|~`
    Regex,
    /// `!~`
    NotRegex,
    /// `|>`
    Pattern,
    /// `!>`
    NotPattern,
}

impl LineMatchType {
    fn negated(self) -> bool {
        matches!(
            self,
            LineMatchType::NotContains | LineMatchType::NotRegex | LineMatchType::NotPattern
        )
    }
}

/// A compiled line filter.
#[derive(Debug, Clone)]
pub enum LineFilter {
    /// Matches every line (`|= ""`, `|~ ".*"`).
    True,
    /// Matches non-empty lines (`|~ ".+"`).
    NotEmpty,
    Contains(Box<Needle>),
    Regex(Regex),
    Pattern(Pattern),
    Ip(IpMatcher),
    Not(Box<LineFilter>),
    And(Vec<LineFilter>),
    Or(Vec<LineFilter>),
}

impl LineFilter {
    /// `|= text` (`!=` with `negate`).
    pub fn contains(text: &str) -> LineFilter {
        if text.is_empty() {
            return LineFilter::True;
        }
        LineFilter::Contains(Box::new(Needle::new(text, false)))
    }

    /// `|~ regex`, as a substring search when Loki would simplify it.
    pub fn regex(regex: &str) -> Result<LineFilter, StageError> {
        // Compile first so that a bad regex is an error even where it would be simplified.
        let compiled = crate::goregex::compile(regex).map_err(StageError::Regex)?;
        if regex == ".+" {
            // Loki's `ExistsFilter`: any non-empty line, even one of only newlines.
            return Ok(LineFilter::NotEmpty);
        }
        let Some(s) = simplify(regex) else {
            return Ok(LineFilter::Regex(compiled));
        };
        let mut alternatives = s
            .literals
            .iter()
            .map(|l| {
                if l.is_empty() {
                    LineFilter::True
                } else {
                    LineFilter::Contains(Box::new(Needle::new(l, s.case_insensitive)))
                }
            })
            .collect::<Vec<_>>();
        Ok(if alternatives.len() == 1 {
            alternatives.remove(0)
        } else {
            LineFilter::Or(alternatives)
        })
    }

    /// `|> pattern`.
    pub fn pattern(pattern: &str) -> Result<LineFilter, StageError> {
        Ok(LineFilter::Pattern(Pattern::line_filter(pattern)?))
    }

    /// `|= ip("pattern")`.
    pub fn ip(pattern: &str) -> Result<LineFilter, StageError> {
        Ok(LineFilter::Ip(IpMatcher::new(pattern)?))
    }

    /// A filter from an operator and its argument (for `ip(…)` use [`LineFilter::ip`]).
    pub fn new(ty: LineMatchType, arg: &str) -> Result<LineFilter, StageError> {
        let f = match ty {
            LineMatchType::Contains | LineMatchType::NotContains => LineFilter::contains(arg),
            LineMatchType::Regex | LineMatchType::NotRegex => LineFilter::regex(arg)?,
            LineMatchType::Pattern | LineMatchType::NotPattern => LineFilter::pattern(arg)?,
        };
        Ok(if ty.negated() { f.negate() } else { f })
    }

    /// The filter a parsed LogQL line filter stands for: its `or` alternatives (plain or
    /// `ip(…)`) joined, negated for `!=`, `!~`, `!>`. An alternative the parser marked invalid
    /// is refused with its message.
    pub fn from_logql(f: &bongsu_logql::ast::LineFilter) -> Result<LineFilter, StageError> {
        use bongsu_logql::ast::{LineFilterOp, LineMatcher};
        let ty = match f.op {
            LineFilterOp::Contains | LineFilterOp::NotContains => LineMatchType::Contains,
            LineFilterOp::Match | LineFilterOp::NotMatch => LineMatchType::Regex,
            LineFilterOp::Pattern | LineFilterOp::NotPattern => LineMatchType::Pattern,
        };
        let mut alts = Vec::with_capacity(f.alternatives.len());
        for alt in &f.alternatives {
            if let LineMatcher::Invalid(msg) = &alt.matcher {
                return Err(StageError::Expression(msg.clone()));
            }
            alts.push(if alt.ip {
                LineFilter::ip(&alt.text)?
            } else {
                LineFilter::new(ty, &alt.text)?
            });
        }
        let filter = match alts.len() {
            1 => alts.remove(0),
            _ => LineFilter::or(alts),
        };
        Ok(if f.op.is_negative() {
            filter.negate()
        } else {
            filter
        })
    }

    /// The negation; `not (a or b)` becomes `not a and not b` as in Loki.
    pub fn negate(self) -> LineFilter {
        match self {
            LineFilter::Or(fs) => LineFilter::And(fs.into_iter().map(LineFilter::negate).collect()),
            LineFilter::Not(f) => *f,
            f => LineFilter::Not(Box::new(f)),
        }
    }

    /// Matches when any of `filters` does (`|= "a" or "b"`).
    pub fn or(filters: Vec<LineFilter>) -> LineFilter {
        LineFilter::Or(filters)
    }

    /// Matches when all of `filters` do (consecutive filters).
    pub fn and(filters: Vec<LineFilter>) -> LineFilter {
        LineFilter::And(filters)
    }

    /// Whether the line passes.
    pub fn matches(&self, line: &[u8]) -> bool {
        match self {
            LineFilter::True => true,
            LineFilter::NotEmpty => !line.is_empty(),
            LineFilter::Contains(n) => n.is_in(line),
            LineFilter::Regex(r) => r.is_match(line),
            LineFilter::Pattern(p) => p.test(line),
            LineFilter::Ip(ip) => !line.is_empty() && ip.matches_in(line),
            LineFilter::Not(f) => !f.matches(line),
            LineFilter::And(fs) => fs.iter().all(|f| f.matches(line)),
            LineFilter::Or(fs) => fs.iter().any(|f| f.matches(line)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn filters() {
        let f = LineFilter::new(LineMatchType::Regex, "(?i)error").unwrap();
        assert!(matches!(f, LineFilter::Contains(_)));
        assert!(f.matches(b"an ERROR"));
        let f = LineFilter::new(LineMatchType::NotContains, "a").unwrap();
        assert!(f.matches(b"xyz"));
        let f = LineFilter::or(vec![LineFilter::contains("a"), LineFilter::contains("b")]).negate();
        assert!(!f.matches(b"xbx"));
        assert!(f.matches(b"xyz"));
        let f = LineFilter::new(LineMatchType::Regex, "fo+").unwrap();
        assert!(matches!(f, LineFilter::Regex(_)));
        assert!(LineFilter::new(LineMatchType::Regex, "(").is_err());
        assert!(LineFilter::ip("10.0.0.0/8")
            .unwrap()
            .matches(b"ip=10.1.2.3"));
    }
}
