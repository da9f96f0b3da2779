//! LogQL's log pipeline stages with Loki's semantics: what `| json`, `|= "x"`,
//! `| status >= 400`, `| line_format "…"`, `| unwrap latency` do to one log line.
//!
//! Every stage is built from plain parameters (strings, numbers), not from a syntax tree: the
//! LogQL evaluator maps its AST nodes to these constructors. A [`Pipeline`] runs its stages
//! over `(timestamp, line, labels)`; the [`LabelsBuilder`] holds the line's labels in Loki's
//! model (stream labels, structured metadata, parsed labels, `__error__`), and gives the final
//! [`LabelsResult`] without allocating when it is the stream's or one seen before.
//!
//! Compatibility is the product: extracted names and values, `__error__` and
//! `__error_details__` values and formatted lines are Loki's, byte for byte where we could
//! confirm them from its code and tests (the case files under `tests/data/`).
//!
//! Modules: `labels` (the builder), `filter` (line filters), `parser` (json, logfmt, regexp,
//! pattern, unpack), `label_filter`, `format` (`line_format`, `label_format`, Loki's template
//! functions, `decolorize`), `labels_ops` (`drop`, `keep`), `sample` (`unwrap` and the
//! per-line samples of metric queries), `pipeline`; helpers `pattern`, `ip`, `units` (Go's
//! duration, float and humanize byte parsing) and `goregex` (RE2 syntax on the `regex` crate).
//!
//! Not here: parsing LogQL, reading the store, grouping series, the parser hints Loki uses
//! to extract fewer labels in metric queries (an optimisation; results are the same except
//! that Loki may then skip a line early — see `pipeline`, which has one exact early drop of
//! its own: the filter after a `pattern` parser, lent to it).

pub mod filter;
pub mod format;
pub mod goregex;
pub mod ip;
pub mod label_filter;
pub mod labels;
pub mod labels_ops;
pub mod parser;
pub mod pattern;
pub mod pipeline;
pub mod sample;
pub mod units;

pub use labels::{Category, LabelRef, LabelsBuilder, LabelsResult};
pub use pipeline::{Pipeline, Stage};
pub use sample::{Conversion, Extract, SampleExtractor, Unwrap};

/// `__error__` of a line the json or unpack parser could not parse.
pub const ERR_JSON: &str = "JSONParserErr";
/// `__error__` of a line `logfmt --strict` could not parse.
pub const ERR_LOGFMT: &str = "LogfmtParserErr";
/// `__error__` of a line whose label a numeric, duration or bytes filter could not convert.
pub const ERR_LABEL_FILTER: &str = "LabelFilterErr";
/// `__error__` of a line whose template failed in `line_format` or `label_format`.
pub const ERR_TEMPLATE_FORMAT: &str = "TemplateFormatErr";
/// `__error__` of a line whose unwrapped label could not be converted.
pub const ERR_SAMPLE_EXTRACTION: &str = "SampleExtractionErr";

/// Why a stage could not be built (a query error).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StageError {
    #[error("{0}")]
    Regex(String),
    #[error(transparent)]
    Pattern(#[from] pattern::PatternError),
    #[error(transparent)]
    Ip(#[from] ip::IpPatternError),
    /// A parser's or formatter's parameters, in Loki's words.
    #[error("{0}")]
    Expression(String),
    #[error("{0}")]
    Template(String),
}
