//! The parsed query, as the evaluator consumes it: every value parsed (numbers, durations,
//! byte sizes), every regex compiled, every pattern and IP range read, templates kept as text.
//! Loki's own tree has quirks of its grammar (line filters chained through `Left`/`Or`
//! pointers, literals that carry errors); this one has the meaning only, and `print` gives
//! back Loki's canonical text from it.
//!
//! Not here: parsing (`parser`), printing (`print`), evaluation.

use std::time::Duration;

use bongsu_model::Matcher;
use regex::Regex;

use crate::ip::IpPattern;
use crate::pattern::Pattern;

/// A whole query: a log query (lines) or a metric query (samples).
#[derive(Debug, Clone, PartialEq)]
pub enum Expr {
    Log(LogExpr),
    Metric(MetricExpr),
}

/// `{matchers} stages…`: the streams the matchers select, through the pipeline in order.
#[derive(Debug, Clone, PartialEq)]
pub struct LogExpr {
    /// At least one of them does not match the empty string (checked at parse time).
    pub matchers: Vec<Matcher>,
    pub stages: Vec<Stage>,
}

/// One pipeline stage, applied to each line in order.
#[derive(Debug, Clone, PartialEq)]
pub enum Stage {
    LineFilter(LineFilter),
    /// `| logfmt [--strict] [--keep-empty] [params]`; no params: every key becomes a label.
    Logfmt {
        strict: bool,
        keep_empty: bool,
        params: Vec<Extraction>,
    },
    /// `| json [params]`; no params: every field becomes a label.
    Json {
        params: Vec<Extraction>,
    },
    /// `| regexp "…"`: named captures become labels.
    Regexp(RegexpParser),
    /// `| pattern "…"`: named captures become labels.
    Pattern(Pattern),
    /// `| unpack`: the JSON object's fields become labels, `_entry` the line.
    Unpack,
    /// `| <label filter>`: keeps lines whose labels pass.
    LabelFilter(LabelFilter),
    /// `| line_format "…"`: the Go template (not parsed here) that rewrites the line.
    LineFormat(String),
    /// `| label_format a="{{…}}", b=c`.
    LabelFormat(Vec<LabelFormat>),
    /// `| decolorize`: strips ANSI colour sequences.
    Decolorize,
    /// `| drop a, b="x"`: removes labels (the named ones, or those whose value matches).
    Drop(Vec<NamedMatcher>),
    /// `| keep a, b="x"`: keeps only those labels.
    Keep(Vec<NamedMatcher>),
}

/// `|= "a" or "b"`: a line passes when one of `alternatives` matches (`op` positive) or
/// when it contains none of them (negative ops). A negative `or` chain is split by the parser
/// into one filter per alternative, as Loki does (`!= "a" or "b"` ≡ `!= "a" != "b"`).
#[derive(Debug, Clone, PartialEq)]
pub struct LineFilter {
    pub op: LineFilterOp,
    /// Never empty; more than one only for positive ops.
    pub alternatives: Vec<LineMatch>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LineFilterOp {
    /// `|=`
    Contains,
    /// `!=`
    NotContains,
    /// `|~`
    Match,
    /// `!~`
    NotMatch,
    /// `|>`
    Pattern,
    /// `!>`
    NotPattern,
}

impl LineFilterOp {
    pub fn is_negative(self) -> bool {
        matches!(
            self,
            LineFilterOp::NotContains | LineFilterOp::NotMatch | LineFilterOp::NotPattern
        )
    }
}

/// One alternative of a line filter: its text as written and what tests a line.
#[derive(Debug, Clone)]
pub struct LineMatch {
    /// The string as written (after unquoting); printed back as is.
    pub text: String,
    /// Whether it was written `ip("…")`.
    pub ip: bool,
    pub matcher: LineMatcher,
}

impl PartialEq for LineMatch {
    fn eq(&self, other: &LineMatch) -> bool {
        self.text == other.text && self.ip == other.ip
    }
}

/// What tests a line for one alternative.
#[derive(Debug, Clone)]
pub enum LineMatcher {
    /// `|=`/`!=` text: a substring test (`""` matches every line).
    Contains(String),
    /// `|~`/`!~`: unanchored.
    Regex(Regex),
    /// `|>`/`!>`: a pattern of literals and `<_>` (unnamed captures only).
    Pattern(Pattern),
    /// `ip("…")` with any op: lines holding an address in the range.
    Ip(IpPattern),
    /// Loki accepts the query and fails when it builds the pipeline; this is that error,
    /// for the evaluator to return then (e.g. `|~ "("`, `|= ip("x")`, `|> "<a>"`).
    Invalid(String),
}

/// `name` or `name="path"` after `json`/`logfmt`. `json a` means `a="a"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Extraction {
    pub label: String,
    /// A JSON path (`a.b[0]`, `["x y"]`) for `json`, a key for `logfmt`; evaluated later.
    pub expression: String,
}

/// `| regexp "…"`, validated as Loki does at parse time.
#[derive(Debug, Clone)]
pub struct RegexpParser {
    pub source: String,
    /// Unanchored; has at least one named capture, names valid and unique.
    pub regex: Regex,
}

impl PartialEq for RegexpParser {
    fn eq(&self, other: &RegexpParser) -> bool {
        self.source == other.source
    }
}

/// `dst=src` (rename) or `dst="{{template}}"`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LabelFormat {
    pub name: String,
    pub value: LabelFormatValue,
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LabelFormatValue {
    /// Renames the label `src` to `name`.
    Rename(String),
    /// A Go template (not parsed here) giving the new value.
    Template(String),
}

/// An item of `drop`/`keep`: a label name, or a matcher on the label's value.
#[derive(Debug, Clone, PartialEq)]
pub enum NamedMatcher {
    Name(String),
    Matcher(Matcher),
}

/// A filter on a line's labels (after parsers). Labels missing from a line compare as `""`
/// for `String`; the typed filters convert the value and set `__error__` when they cannot.
#[derive(Debug, Clone, PartialEq)]
pub enum LabelFilter {
    /// `a and b`, `a, b` and `a b` alike.
    And(Box<LabelFilter>, Box<LabelFilter>),
    Or(Box<LabelFilter>, Box<LabelFilter>),
    /// `name="v"`, `name!="v"`, `name=~"re"`, `name!~"re"` (regexes anchored, compiled).
    String(Matcher),
    Number {
        name: String,
        op: CmpOp,
        value: f64,
    },
    /// Go's `time.ParseDuration` of the value is compared with `value` (nanoseconds).
    Duration {
        name: String,
        op: CmpOp,
        value: i64,
    },
    /// go-humanize's `ParseBytes` of the value is compared with `value`.
    Bytes {
        name: String,
        op: CmpOp,
        value: u64,
    },
    /// `name = ip("…")` / `name != ip("…")`.
    Ip {
        name: String,
        equal: bool,
        /// As written, printed back.
        text: String,
        /// `Err` is Loki's message at pipeline build time (the parse itself succeeds).
        pattern: Result<IpPattern, String>,
    },
}

/// The comparison of a typed label filter. `=` and `==` are both `Eq`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum CmpOp {
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

/// A query that yields samples.
#[derive(Debug, Clone, PartialEq)]
pub enum MetricExpr {
    Range(RangeAggregation),
    Vector(VectorAggregation),
    Binary(BinaryExpr),
    /// A number; `1 + 1` is already folded to `2`, as Loki does.
    Literal(f64),
    /// `vector(1)`: one series without labels.
    VectorLiteral(f64),
    LabelReplace(LabelReplace),
}

/// `op([param,] logRange) [by|without (…)]`.
#[derive(Debug, Clone, PartialEq)]
pub struct RangeAggregation {
    pub op: RangeOp,
    /// Only `quantile_over_time`'s φ, always present there.
    pub param: Option<f64>,
    pub range: LogRange,
    /// Only on the ops Loki allows it on (`avg/min/max/stddev/stdvar/quantile/first/last`).
    pub grouping: Option<Grouping>,
}

/// The log selection under a range aggregation.
#[derive(Debug, Clone, PartialEq)]
pub struct LogRange {
    pub log: LogExpr,
    /// `[5m]`: Prometheus' duration, whole milliseconds.
    pub range: Duration,
    /// `offset 1h`, nanoseconds, possibly negative; 0 when absent.
    pub offset: i64,
    /// Present exactly for the ops that read values (`*_over_time` but count/bytes, and
    /// optionally `rate`, `absent_over_time`).
    pub unwrap: Option<Unwrap>,
}

/// `| unwrap [conv(]label[)] | filters…`.
#[derive(Debug, Clone, PartialEq)]
pub struct Unwrap {
    pub label: String,
    pub conversion: Conversion,
    /// Label filters after the unwrap (typically `__error__=""`).
    pub post_filters: Vec<LabelFilter>,
}

/// How an unwrapped label value becomes a number.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Conversion {
    /// A float.
    None,
    /// `bytes(x)`: go-humanize sizes.
    Bytes,
    /// `duration(x)` / `duration_seconds(x)`: Go durations, in seconds.
    Duration,
    DurationSeconds,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RangeOp {
    Rate,
    RateCounter,
    CountOverTime,
    BytesRate,
    BytesOverTime,
    AvgOverTime,
    SumOverTime,
    MinOverTime,
    MaxOverTime,
    StdvarOverTime,
    StddevOverTime,
    QuantileOverTime,
    FirstOverTime,
    LastOverTime,
    AbsentOverTime,
}

/// `by (a, b)` / `without (a)`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Grouping {
    pub without: bool,
    pub labels: Vec<String>,
}

/// `op [grouping] ([param,] expr) [grouping]`.
#[derive(Debug, Clone, PartialEq)]
pub struct VectorAggregation {
    pub op: VectorOp,
    /// `k` of `topk`/`bottomk`/`approx_topk` (> 0); 0 for the others.
    pub param: i64,
    pub expr: Box<MetricExpr>,
    /// `by ()` with no labels (and no grouping at all) means one output series.
    pub grouping: Grouping,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum VectorOp {
    Sum,
    Avg,
    Min,
    Max,
    Stddev,
    Stdvar,
    Count,
    Topk,
    Bottomk,
    Sort,
    SortDesc,
    ApproxTopk,
}

/// `lhs op [bool] [on|ignoring (…)] [group_left|group_right (…)] rhs`. Never two literals
/// (those are folded).
#[derive(Debug, Clone, PartialEq)]
pub struct BinaryExpr {
    pub op: BinaryOp,
    pub lhs: Box<MetricExpr>,
    pub rhs: Box<MetricExpr>,
    /// `bool` on a comparison: 0/1 instead of filtering.
    pub return_bool: bool,
    pub matching: VectorMatching,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BinaryOp {
    Or,
    And,
    Unless,
    Add,
    Sub,
    Mul,
    Div,
    Mod,
    Pow,
    Eq,
    Ne,
    Gt,
    Ge,
    Lt,
    Le,
}

impl BinaryOp {
    pub fn is_set_op(self) -> bool {
        matches!(self, BinaryOp::Or | BinaryOp::And | BinaryOp::Unless)
    }

    pub fn is_comparison(self) -> bool {
        matches!(
            self,
            BinaryOp::Eq | BinaryOp::Ne | BinaryOp::Gt | BinaryOp::Ge | BinaryOp::Lt | BinaryOp::Le
        )
    }
}

/// How series of the two sides pair up (Prometheus' vector matching).
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct VectorMatching {
    pub card: Cardinality,
    /// `on (…)` (true) or `ignoring (…)`; `on ()` is `on: true` with no labels.
    pub on: bool,
    pub labels: Vec<String>,
    /// `group_left (…)` / `group_right (…)` extra labels.
    pub include: Vec<String>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Cardinality {
    #[default]
    OneToOne,
    /// `group_left`
    ManyToOne,
    /// `group_right`
    OneToMany,
}

/// `label_replace(expr, "dst", "replacement", "src", "regex")`.
#[derive(Debug, Clone)]
pub struct LabelReplace {
    pub expr: Box<MetricExpr>,
    pub dst: String,
    pub replacement: String,
    pub src: String,
    pub regex_source: String,
    /// `^(?:regex)$`.
    pub regex: Regex,
}

impl PartialEq for LabelReplace {
    fn eq(&self, other: &LabelReplace) -> bool {
        self.expr == other.expr
            && self.dst == other.dst
            && self.replacement == other.replacement
            && self.src == other.src
            && self.regex_source == other.regex_source
    }
}

impl RangeOp {
    pub fn name(self) -> &'static str {
        match self {
            RangeOp::Rate => "rate",
            RangeOp::RateCounter => "rate_counter",
            RangeOp::CountOverTime => "count_over_time",
            RangeOp::BytesRate => "bytes_rate",
            RangeOp::BytesOverTime => "bytes_over_time",
            RangeOp::AvgOverTime => "avg_over_time",
            RangeOp::SumOverTime => "sum_over_time",
            RangeOp::MinOverTime => "min_over_time",
            RangeOp::MaxOverTime => "max_over_time",
            RangeOp::StdvarOverTime => "stdvar_over_time",
            RangeOp::StddevOverTime => "stddev_over_time",
            RangeOp::QuantileOverTime => "quantile_over_time",
            RangeOp::FirstOverTime => "first_over_time",
            RangeOp::LastOverTime => "last_over_time",
            RangeOp::AbsentOverTime => "absent_over_time",
        }
    }

    pub(crate) fn from_name(s: &str) -> Option<RangeOp> {
        const ALL: [RangeOp; 15] = [
            RangeOp::Rate,
            RangeOp::RateCounter,
            RangeOp::CountOverTime,
            RangeOp::BytesRate,
            RangeOp::BytesOverTime,
            RangeOp::AvgOverTime,
            RangeOp::SumOverTime,
            RangeOp::MinOverTime,
            RangeOp::MaxOverTime,
            RangeOp::StdvarOverTime,
            RangeOp::StddevOverTime,
            RangeOp::QuantileOverTime,
            RangeOp::FirstOverTime,
            RangeOp::LastOverTime,
            RangeOp::AbsentOverTime,
        ];
        ALL.into_iter().find(|o| o.name() == s)
    }
}

impl VectorOp {
    pub fn name(self) -> &'static str {
        match self {
            VectorOp::Sum => "sum",
            VectorOp::Avg => "avg",
            VectorOp::Min => "min",
            VectorOp::Max => "max",
            VectorOp::Stddev => "stddev",
            VectorOp::Stdvar => "stdvar",
            VectorOp::Count => "count",
            VectorOp::Topk => "topk",
            VectorOp::Bottomk => "bottomk",
            VectorOp::Sort => "sort",
            VectorOp::SortDesc => "sort_desc",
            VectorOp::ApproxTopk => "approx_topk",
        }
    }

    pub(crate) fn from_name(s: &str) -> Option<VectorOp> {
        const ALL: [VectorOp; 12] = [
            VectorOp::Sum,
            VectorOp::Avg,
            VectorOp::Min,
            VectorOp::Max,
            VectorOp::Stddev,
            VectorOp::Stdvar,
            VectorOp::Count,
            VectorOp::Topk,
            VectorOp::Bottomk,
            VectorOp::Sort,
            VectorOp::SortDesc,
            VectorOp::ApproxTopk,
        ];
        ALL.into_iter().find(|o| o.name() == s)
    }

    /// `topk`, `bottomk`, `approx_topk`: the ones with a `k`.
    pub fn takes_param(self) -> bool {
        matches!(
            self,
            VectorOp::Topk | VectorOp::Bottomk | VectorOp::ApproxTopk
        )
    }
}

impl BinaryOp {
    pub fn symbol(self) -> &'static str {
        match self {
            BinaryOp::Or => "or",
            BinaryOp::And => "and",
            BinaryOp::Unless => "unless",
            BinaryOp::Add => "+",
            BinaryOp::Sub => "-",
            BinaryOp::Mul => "*",
            BinaryOp::Div => "/",
            BinaryOp::Mod => "%",
            BinaryOp::Pow => "^",
            BinaryOp::Eq => "==",
            BinaryOp::Ne => "!=",
            BinaryOp::Gt => ">",
            BinaryOp::Ge => ">=",
            BinaryOp::Lt => "<",
            BinaryOp::Le => "<=",
        }
    }
}
