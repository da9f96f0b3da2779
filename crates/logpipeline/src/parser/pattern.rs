//! `| pattern "<ip> - <_> …"`: each named capture of Loki's pattern expression as a label
//! (the matching is `crate::pattern`'s).
//!
//! When the next stage filters on one of the captures (`| pattern "… <status> …" |
//! status=~"5.."`), the pipeline lends the parser that filter: a line the filter would drop
//! is dropped before any label is set, which on a selective filter saves most of the parser's
//! work. When every value the filter keeps starts with some text (`5` for `=~"5.."`), a line
//! must hold the literal before the capture followed by that text (`" 5`), and one search
//! for it drops most lines before any capture is found. Lines kept are parsed in full and go
//! through the filter stage as before, so what comes out is unchanged.

use super::set_parsed_once;
use crate::label_filter::LabelFilter;
use crate::labels::{LabelsBuilder, DUPLICATE_SUFFIX};
use crate::pattern::Pattern;
use crate::StageError;

/// The `pattern` parser stage.
#[derive(Debug, Clone)]
pub struct PatternParser {
    pattern: Pattern,
    next_filter: Option<Box<NextFilter>>,
    name_buf: String,
}

/// The filter of the stage after the parser, on the label of named capture `index`.
#[derive(Debug, Clone)]
struct NextFilter {
    index: usize,
    filter: LabelFilter,
    /// The literal before the capture and the text every value the filter keeps starts
    /// with: a line without it is dropped by one search.
    needle: Option<memchr::memmem::Finder<'static>>,
}

impl PatternParser {
    pub fn new(pattern: &str) -> Result<PatternParser, StageError> {
        Ok(PatternParser {
            pattern: Pattern::parser(pattern)?,
            next_filter: None,
            name_buf: String::new(),
        })
    }

    /// Lends the parser the filter of the stage right after it, if the filter reads one of
    /// the captures; returns whether it was taken.
    ///
    /// Not taken when another capture could also end up under the filter's label (`<a>` is
    /// renamed `a_extracted` when a stream label is `a`, which a capture `<a_extracted>`
    /// would share): then which value the filter sees depends on more than one capture.
    pub(crate) fn set_next_filter(&mut self, filter: &LabelFilter) -> bool {
        let Some(label) = filter.single_label() else {
            return false;
        };
        let names = self.pattern.names();
        let Some(index) = names.iter().position(|n| n == label) else {
            return false;
        };
        let renamed_onto = |n: &String| {
            n.len() + DUPLICATE_SUFFIX.len() == label.len()
                && label.starts_with(n.as_str())
                && label.ends_with(DUPLICATE_SUFFIX)
        };
        if names.iter().any(renamed_onto) {
            return false;
        }
        let needle = self
            .pattern
            .literal_before(index)
            .zip(filter.required_prefix())
            .map(|(literal, prefix)| {
                let text = [literal, prefix.as_bytes()].concat();
                memchr::memmem::Finder::new(&text).into_owned()
            });
        self.next_filter = Some(Box::new(NextFilter {
            index,
            filter: filter.clone(),
            needle,
        }));
        true
    }

    /// Parses the line into `lb`; false when the lent filter drops the line (then `lb` is
    /// left as it was).
    pub fn process(&mut self, line: &[u8], lb: &mut LabelsBuilder) -> bool {
        let PatternParser {
            pattern,
            next_filter,
            name_buf,
        } = self;
        if let Some(next) = next_filter {
            let label = &pattern.names()[next.index];
            // The capture sets the label under its own name unless a stream or metadata label
            // has it (it would be renamed) or an earlier parser set it (it would be skipped);
            // no other capture can set it (see `set_next_filter`).
            let own = !lb.base_has(label) && !lb.has_metadata(label) && !lb.extracted(label);
            // Kept, the value was captured (absent reads as empty, which the filter drops)
            // and starts with the prefix, so the line holds the literal and the prefix.
            let without_needle = next
                .needle
                .as_ref()
                .is_some_and(|n| own && n.find(line).is_none());
            if without_needle {
                return false;
            }
            let drops = match pattern.capture(line, next.index).filter(|_| own) {
                Some(v) => next.filter.drops(Some(&text(v))),
                None => next.filter.drops(lb.get(label)),
            };
            if drops {
                return false;
            }
        }
        pattern.captures(line, |i, v| {
            set_parsed_once(lb, &pattern.names()[i], &text(v), name_buf);
        });
        true
    }
}

/// A capture as label text: invalid UTF-8 replaced, as Loki does. Store lines are valid
/// UTF-8, and checking that is cheaper than `from_utf8_lossy`'s chunked walk.
fn text(v: &[u8]) -> std::borrow::Cow<'_, str> {
    match std::str::from_utf8(v) {
        Ok(s) => s.into(),
        Err(_) => String::from_utf8_lossy(v),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::label_filter::CmpOp;
    use crate::parser::logfmt::LogfmtParser;
    use crate::pipeline::{Pipeline, Stage};
    use bongsu_model::{Labels, MatchOp};
    use proptest::prelude::*;

    fn filters() -> Vec<LabelFilter> {
        let s = |n: &str, op, v: &str| LabelFilter::string(n, op, v).unwrap();
        vec![
            s("status", MatchOp::Regex, "5.."),
            s("status", MatchOp::NotEqual, ""),
            s("a", MatchOp::Equal, "x"),
            s("a_extracted", MatchOp::Regex, "x.*"),
            s("b", MatchOp::NotRegex, ".*"),
            LabelFilter::number("status", CmpOp::Ge, 500.0),
            LabelFilter::duration("b", CmpOp::Lt, 2_000_000_000),
            LabelFilter::bytes("a", CmpOp::Gt, 2),
        ]
    }

    /// Lines, stream labels, metadata and an earlier parser in every combination that decides
    /// which value a filter on a capture sees: the lent filter must drop exactly the lines the
    /// filter stage drops, and leave the kept ones as they were.
    #[test]
    fn lent_filter_changes_nothing() {
        let patterns = [
            "<a> <status> <_>",
            "<a> x <a_extracted>",
            "<status>",
            "x<a> <b>",
        ];
        let streams = [
            vec![("job", "j")],
            vec![("status", "500")],
            vec![("a", "s"), ("b", "1s")],
        ];
        let metadata = [vec![], vec![("status", "503")], vec![("a", "m")]];
        let words = prop::sample::select(vec![
            "x",
            "a",
            "500",
            "503",
            "20",
            "1s",
            "3s",
            "xx",
            "status=512",
            "a=q",
            "\u{e9}",
            "",
        ]);
        let line = prop::collection::vec(words, 0..5).prop_map(|w| w.join(" "));
        let case = (
            line,
            0..patterns.len(),
            0..streams.len(),
            0..metadata.len(),
            0..8usize,
            any::<bool>(),
        );
        let lent = std::cell::Cell::new(0);
        let filters = filters();
        proptest!(ProptestConfig::with_cases(5_000), |((line, p, s, m, f, logfmt) in case)| {
            let filter = &filters[f];
            let build = |apart: bool| {
                let mut stages = Vec::new();
                if logfmt {
                    stages.push(Stage::Logfmt(LogfmtParser::new(false, false)));
                }
                stages.push(Stage::Pattern(PatternParser::new(patterns[p]).unwrap()));
                if apart {
                    stages.push(Stage::LabelFilter(LabelFilter::Noop));
                }
                stages.push(Stage::LabelFilter(filter.clone()));
                Pipeline::new(stages)
            };
            let run = |mut pipeline: Pipeline| {
                let mut lb = LabelsBuilder::new(Labels::from_pairs(&streams[s]).unwrap());
                let kept = pipeline.process(0, line.as_bytes(), &metadata[m], &mut lb).is_some();
                (kept, lb.result().to_string())
            };
            let (fused, apart) = (run(build(false)), run(build(true)));
            prop_assert_eq!(fused.0, apart.0);
            if fused.0 {
                prop_assert_eq!(fused.1, apart.1);
            }
            let mut probe = PatternParser::new(patterns[p]).unwrap();
            lent.set(lent.get() + usize::from(probe.set_next_filter(filter)));
        });
        assert!(lent.get() > 1000, "{}", lent.get());
    }

    #[test]
    fn filter_not_lent_when_a_capture_could_be_renamed_onto_its_label() {
        let mut p = PatternParser::new("<a> <a_extracted>").unwrap();
        let f = LabelFilter::string("a_extracted", MatchOp::Equal, "x").unwrap();
        assert!(!p.set_next_filter(&f));
        let f = LabelFilter::string("a", MatchOp::Equal, "x").unwrap();
        assert!(p.set_next_filter(&f));
        let f = LabelFilter::string("__error__", MatchOp::Equal, "").unwrap();
        assert!(!PatternParser::new("<__error__>")
            .unwrap()
            .set_next_filter(&f));
    }
}
