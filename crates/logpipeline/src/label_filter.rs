//! Label filters: `| level="error"`, `| status >= 400`, `| latency > 1s`, `| size > 20MB`,
//! `| addr = ip("10.0.0.0/8")`, combined with `and` (or `,`) and `or`.
//!
//! As Loki: a string matcher compares a missing label as empty (`__error__` reads the error);
//! a numeric, duration or bytes filter drops a line without the label, and keeps a line whose
//! value does not convert, with `__error__="LabelFilterErr"` and the conversion's message
//! (unless the line already has an error). An `ip` filter keeps any line that already has an
//! error. `and` evaluates both sides; `or` stops at a match.

use bongsu_model::MatchOp;
use regex::bytes::Regex;

use crate::filter::literal::{simplify, Needle};
use crate::ip::IpMatcher;
use crate::labels::{LabelsBuilder, ERROR_LABEL};
use crate::units::{parse_bytes, parse_duration, parse_float};
use crate::{StageError, ERR_LABEL_FILTER};

/// A comparison of a converted label value.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl CmpOp {
    fn holds<T: PartialOrd>(self, a: T, b: T) -> bool {
        match self {
            CmpOp::Eq => a == b,
            CmpOp::Ne => a != b,
            CmpOp::Gt => a > b,
            CmpOp::Ge => a >= b,
            CmpOp::Lt => a < b,
            CmpOp::Le => a <= b,
        }
    }
}

/// How a string filter tests a value (Loki rewrites simple regexes, as for line filters).
#[derive(Debug, Clone)]
pub enum StringTest {
    Equal(Box<Needle>),
    Contains(Box<Needle>),
    Regex(Regex),
    Shape(Box<Shape>),
    Any(Vec<StringTest>),
    Not(Box<StringTest>),
}

impl StringTest {
    fn matches(&self, v: &[u8]) -> bool {
        match self {
            StringTest::Equal(n) => n.equals(v),
            StringTest::Contains(n) => n.is_in(v),
            StringTest::Regex(r) => r.is_match(v),
            StringTest::Shape(s) => s.matches(v),
            StringTest::Any(ts) => ts.iter().any(|t| t.matches(v)),
            StringTest::Not(t) => !t.matches(v),
        }
    }
}

/// A regex of literal characters and `.` alone (`status=~"5.."`), matched a character at a
/// time: the anchored regex engine's per-call cost was most of such a filter's.
#[derive(Debug, Clone)]
pub struct Shape {
    /// A literal character, or `None` for `.` (any character but a newline, as in RE2).
    chars: Vec<Option<char>>,
    /// The compiled regex, for values that are not UTF-8.
    regex: Regex,
}

impl Shape {
    /// `None` unless `source` has a `.` and otherwise only characters that are not regex
    /// syntax (a plain literal is an [`StringTest::Equal`]).
    fn new(source: &str, regex: Regex) -> Option<Shape> {
        let meta = |c: char| "\\.+*?()[]{}^$|".contains(c);
        let chars: Vec<Option<char>> = source.chars().map(|c| (c != '.').then_some(c)).collect();
        let plain = source.chars().all(|c| c == '.' || !meta(c));
        (plain && chars.contains(&None)).then_some(Shape { chars, regex })
    }

    fn matches(&self, v: &[u8]) -> bool {
        if v.is_ascii() {
            // A byte per character: no decoding needed.
            return v.len() == self.chars.len()
                && v.iter().zip(&self.chars).all(|(&b, want)| match want {
                    Some(w) => u32::from(b) == u32::from(*w),
                    None => b != b'\n',
                });
        }
        let Ok(v) = std::str::from_utf8(v) else {
            return self.regex.is_match(v);
        };
        let mut chars = v.chars();
        for want in &self.chars {
            match (chars.next(), want) {
                (Some(c), Some(w)) if c == *w => {}
                (Some(c), None) if c != '\n' => {}
                _ => return false,
            }
        }
        chars.next().is_none()
    }
}

/// A compiled label filter.
#[derive(Debug, Clone)]
pub enum LabelFilter {
    /// Matches every line (`=~".*"`).
    Noop,
    String {
        name: String,
        test: StringTest,
    },
    Number {
        name: String,
        op: CmpOp,
        value: f64,
    },
    /// Nanoseconds.
    Duration {
        name: String,
        op: CmpOp,
        value: i64,
    },
    Bytes {
        name: String,
        op: CmpOp,
        value: u64,
    },
    Ip {
        name: String,
        negate: bool,
        matcher: IpMatcher,
    },
    And(Box<LabelFilter>, Box<LabelFilter>),
    Or(Box<LabelFilter>, Box<LabelFilter>),
}

impl LabelFilter {
    /// `name op "value"` with `=`, `!=`, `=~`, `!~` (regexes anchored, as in Loki).
    pub fn string(name: &str, op: MatchOp, value: &str) -> Result<LabelFilter, StageError> {
        let test = match op {
            MatchOp::Equal | MatchOp::NotEqual => {
                StringTest::Equal(Box::new(Needle::new(value, false)))
            }
            MatchOp::Regex | MatchOp::NotRegex => {
                let anchored = format!("^(?:{value})$");
                let regex = crate::goregex::compile(&anchored).map_err(StageError::Regex)?;
                match simplify(value) {
                    Some(s) if s.dot_star && s.literals[0].is_empty() => {
                        // `.*` matches every value: Loki makes the filter a no-op (a
                        // negated one keeps nothing).
                        return Ok(if op == MatchOp::Regex {
                            LabelFilter::Noop
                        } else {
                            LabelFilter::String {
                                name: name.to_string(),
                                test: StringTest::Any(Vec::new()),
                            }
                        });
                    }
                    Some(s) => {
                        let mut tests: Vec<StringTest> = s
                            .literals
                            .iter()
                            .map(|l| {
                                let n = Box::new(Needle::new(l, s.case_insensitive));
                                if s.dot_star {
                                    StringTest::Contains(n)
                                } else {
                                    StringTest::Equal(n)
                                }
                            })
                            .collect();
                        if tests.len() == 1 {
                            tests.remove(0)
                        } else {
                            StringTest::Any(tests)
                        }
                    }
                    None => match Shape::new(value, regex.clone()) {
                        Some(shape) => StringTest::Shape(Box::new(shape)),
                        None => StringTest::Regex(regex),
                    },
                }
            }
        };
        let test = match op {
            MatchOp::NotEqual | MatchOp::NotRegex => StringTest::Not(Box::new(test)),
            MatchOp::Equal | MatchOp::Regex => test,
        };
        Ok(LabelFilter::String {
            name: name.to_string(),
            test,
        })
    }

    /// `name op number`.
    pub fn number(name: &str, op: CmpOp, value: f64) -> LabelFilter {
        LabelFilter::Number {
            name: name.to_string(),
            op,
            value,
        }
    }

    /// `name op duration`, the duration in nanoseconds.
    pub fn duration(name: &str, op: CmpOp, nanos: i64) -> LabelFilter {
        LabelFilter::Duration {
            name: name.to_string(),
            op,
            value: nanos,
        }
    }

    /// `name op bytes`.
    pub fn bytes(name: &str, op: CmpOp, bytes: u64) -> LabelFilter {
        LabelFilter::Bytes {
            name: name.to_string(),
            op,
            value: bytes,
        }
    }

    /// `name = ip("pattern")` (`!=` with `negate`).
    pub fn ip(name: &str, negate: bool, pattern: &str) -> Result<LabelFilter, StageError> {
        Ok(LabelFilter::Ip {
            name: name.to_string(),
            negate,
            matcher: IpMatcher::new(pattern)?,
        })
    }

    pub fn and(left: LabelFilter, right: LabelFilter) -> LabelFilter {
        LabelFilter::And(Box::new(left), Box::new(right))
    }

    pub fn or(left: LabelFilter, right: LabelFilter) -> LabelFilter {
        LabelFilter::Or(Box::new(left), Box::new(right))
    }

    /// The one label this filter reads, when [`drops`](Self::drops) can judge it from that
    /// label's value alone (not for the error label, which the builder keeps apart).
    pub(crate) fn single_label(&self) -> Option<&str> {
        match self {
            LabelFilter::String { name, .. } if name != ERROR_LABEL => Some(name),
            LabelFilter::Number { name, .. }
            | LabelFilter::Duration { name, .. }
            | LabelFilter::Bytes { name, .. } => Some(name),
            _ => None,
        }
    }

    /// A non-empty text that every value this filter keeps starts with (`5` for `=~"5.."`),
    /// when it has one; values it keeps are then never empty.
    pub(crate) fn required_prefix(&self) -> Option<String> {
        let LabelFilter::String { name, test } = self else {
            return None;
        };
        let prefix: String = match test {
            StringTest::Equal(n) if !n.case_insensitive() => {
                std::str::from_utf8(n.text()).ok()?.to_string()
            }
            StringTest::Shape(shape) => shape.chars.iter().map_while(|c| *c).collect(),
            _ => return None,
        };
        (name != ERROR_LABEL && !prefix.is_empty() && !prefix.contains('\u{fffd}'))
            .then_some(prefix)
    }

    /// Whether [`process`](Self::process) drops a line whose label
    /// [`single_label`](Self::single_label) has `value` (`None`: the line has no such label).
    /// A value that does not convert keeps the line (with an error), so is never dropped.
    pub(crate) fn drops(&self, value: Option<&str>) -> bool {
        fn fails<T>(
            value: Option<&str>,
            convert: impl Fn(&str) -> Result<T, String>,
            holds: impl Fn(T) -> bool,
        ) -> bool {
            value.is_none_or(|v| convert(v).is_ok_and(|x| !holds(x)))
        }
        match self {
            LabelFilter::String { test, .. } => !test.matches(value.unwrap_or("").as_bytes()),
            LabelFilter::Number { op, value: b, .. } => {
                fails(value, parse_float, |a| op.holds(a, *b))
            }
            LabelFilter::Duration { op, value: b, .. } => {
                fails(value, parse_duration, |a| op.holds(a, *b))
            }
            LabelFilter::Bytes { op, value: b, .. } => {
                fails(value, parse_bytes, |a| op.holds(a, *b))
            }
            _ => false,
        }
    }

    /// Whether the line passes; may set `__error__`.
    pub fn process(&self, lb: &mut LabelsBuilder) -> bool {
        match self {
            LabelFilter::Noop => true,
            LabelFilter::String { name, test } => {
                let v = if name == ERROR_LABEL {
                    lb.err()
                } else {
                    lb.get(name).unwrap_or("")
                };
                test.matches(v.as_bytes())
            }
            LabelFilter::Number { name, op, value } => {
                convert_and_compare(lb, name, parse_float, |v| op.holds(v, *value))
            }
            LabelFilter::Duration { name, op, value } => {
                convert_and_compare(lb, name, parse_duration, |v| op.holds(v, *value))
            }
            LabelFilter::Bytes { name, op, value } => {
                convert_and_compare(lb, name, parse_bytes, |v| op.holds(v, *value))
            }
            LabelFilter::Ip {
                name,
                negate,
                matcher,
            } => {
                if lb.has_err() {
                    return true;
                }
                match lb.get(name) {
                    None => false,
                    Some(v) => matcher.matches_in(v.as_bytes()) != *negate,
                }
            }
            LabelFilter::And(l, r) => {
                let left = l.process(lb);
                let right = r.process(lb);
                left && right
            }
            LabelFilter::Or(l, r) => l.process(lb) || r.process(lb),
        }
    }
}

fn convert_and_compare<T>(
    lb: &mut LabelsBuilder,
    name: &str,
    convert: impl Fn(&str) -> Result<T, String>,
    compare: impl Fn(T) -> bool,
) -> bool {
    let Some(v) = lb.get(name) else {
        return false;
    };
    match convert(v) {
        Ok(v) => compare(v),
        Err(e) => {
            if !lb.has_err() {
                lb.set_error(ERR_LABEL_FILTER, &e);
            }
            true
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use bongsu_model::Labels;

    fn run(f: &LabelFilter, pairs: &[(&str, &str)]) -> (bool, String) {
        let mut lb = LabelsBuilder::new(Labels::from_pairs(pairs).unwrap());
        let keep = f.process(&mut lb);
        (keep, lb.result().to_string())
    }

    #[test]
    fn conversions_as_loki() {
        let f = LabelFilter::number("status", CmpOp::Ge, 400.0);
        assert!(run(&f, &[("status", "500")]).0);
        assert!(!run(&f, &[("status", "200")]).0);
        assert!(!run(&f, &[]).0);
        assert_eq!(
            run(&f, &[("status", "abc")]),
            (
                true,
                r#"{__error__="LabelFilterErr", __error_details__="strconv.ParseFloat: parsing \"abc\": invalid syntax", status="abc"}"#
                    .into()
            )
        );
        let f = LabelFilter::duration("d", CmpOp::Gt, 1_000_000_000);
        assert!(run(&f, &[("d", "1.5s")]).0);
        let f = LabelFilter::bytes("s", CmpOp::Gt, 20_000_000);
        assert!(run(&f, &[("s", "21MB")]).0);
    }

    /// The character-at-a-time test answers as the regex it stands for.
    #[test]
    fn shapes_match_as_their_regex() {
        for source in [
            "5..", ".", "a.b.", "..é", "x y.", "5.[0-9]", "5.+", "(?i)5.", "55",
        ] {
            let regex = crate::goregex::compile(&format!("^(?:{source})$")).unwrap();
            let Some(shape) = Shape::new(source, regex.clone()) else {
                assert!(
                    !source.contains('.') || source.contains(['[', '+', '(']),
                    "{source}"
                );
                continue;
            };
            for v in [
                "500", "5", "50", "5000", "", "5\n0", "a\nb\n", "aébé", "aXbY", "éé", "x yz",
            ] {
                assert_eq!(
                    shape.matches(v.as_bytes()),
                    regex.is_match(v.as_bytes()),
                    "{source} {v:?}"
                );
            }
            assert_eq!(
                shape.matches(b"5\xff0"),
                regex.is_match(b"5\xff0"),
                "{source}"
            );
        }
    }

    #[test]
    fn required_prefixes() {
        let prefix = |op, v: &str| LabelFilter::string("s", op, v).unwrap().required_prefix();
        assert_eq!(prefix(MatchOp::Regex, "5.."), Some("5".into()));
        assert_eq!(prefix(MatchOp::Regex, "ab.d"), Some("ab".into()));
        assert_eq!(prefix(MatchOp::Equal, "500"), Some("500".into()));
        assert_eq!(prefix(MatchOp::Regex, ".5"), None);
        assert_eq!(prefix(MatchOp::Equal, ""), None);
        assert_eq!(prefix(MatchOp::NotRegex, "5.."), None);
        assert_eq!(prefix(MatchOp::Regex, "(?i)abc"), None);
        assert_eq!(prefix(MatchOp::Regex, "5.*"), None);
        assert_eq!(
            LabelFilter::number("s", CmpOp::Ge, 500.0).required_prefix(),
            None
        );
    }

    #[test]
    fn strings() {
        let f = LabelFilter::string("a", MatchOp::Regex, "fo+").unwrap();
        assert!(run(&f, &[("a", "foo")]).0);
        assert!(!run(&f, &[("a", "xfoo")]).0);
        let f = LabelFilter::string("a", MatchOp::Regex, "(?i)foo").unwrap();
        assert!(run(&f, &[("a", "FOO")]).0);
        assert!(!run(&f, &[("a", "FOOD")]).0);
        let f = LabelFilter::string("a", MatchOp::NotEqual, "").unwrap();
        assert!(!run(&f, &[]).0);
        let f = LabelFilter::string("a", MatchOp::Regex, ".*").unwrap();
        assert!(matches!(f, LabelFilter::Noop));
        let f = LabelFilter::string("a", MatchOp::NotRegex, ".*").unwrap();
        assert!(!run(&f, &[("a", "x")]).0);
        let f = LabelFilter::string(ERROR_LABEL, MatchOp::Equal, "").unwrap();
        assert!(run(&f, &[]).0);
    }
}
