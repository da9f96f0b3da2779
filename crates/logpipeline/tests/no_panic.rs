//! Random lines (and random structured metadata) never panic any stage: bad input is an
//! `__error__` label or a dropped line, never a crash.

use bongsu_logpipeline::filter::{LineFilter, LineMatchType};
use bongsu_logpipeline::format::{Decolorize, LabelFormat, LineFormat};
use bongsu_logpipeline::label_filter::{CmpOp, LabelFilter};
use bongsu_logpipeline::labels_ops::{DropLabels, KeepLabels, LabelSelector};
use bongsu_logpipeline::parser::json::JsonParser;
use bongsu_logpipeline::parser::json_expr::JsonExprParser;
use bongsu_logpipeline::parser::logfmt::LogfmtParser;
use bongsu_logpipeline::parser::regexp::RegexpParser;
use bongsu_logpipeline::parser::unpack::UnpackParser;
use bongsu_logpipeline::parser::PatternParser;
use bongsu_logpipeline::{
    Conversion, Extract, LabelsBuilder, Pipeline, SampleExtractor, Stage, Unwrap,
};
use bongsu_model::{Labels, MatchOp};
use proptest::prelude::*;

/// Every kind of stage, each reading labels the others may have set.
fn all_stages() -> Vec<Stage> {
    vec![
        Stage::Decolorize(Decolorize::new().unwrap()),
        Stage::LineFilter(LineFilter::new(LineMatchType::NotRegex, "^zzz$").unwrap()),
        Stage::LineFilter(LineFilter::new(LineMatchType::NotPattern, "<_>zzz<_>").unwrap()),
        Stage::LineFilter(
            LineFilter::ip("0.0.0.0/0")
                .unwrap()
                .negate()
                .negate()
                .negate(),
        ),
        Stage::Json(JsonParser::new()),
        Stage::JsonExpr(JsonExprParser::new(&[("p", "a.b[0]"), ("q", "c")]).unwrap()),
        Stage::Logfmt(LogfmtParser::new(true, true)),
        Stage::Logfmt(LogfmtParser::with_expressions(false, &[("lv", "level")]).unwrap()),
        Stage::Regexp(RegexpParser::new(r"(?P<word>\w+)").unwrap()),
        Stage::Pattern(PatternParser::new("<x> <y>").unwrap()),
        Stage::LabelFilter(LabelFilter::or(
            LabelFilter::number("x", CmpOp::Gt, 1.0),
            LabelFilter::or(
                LabelFilter::duration("y", CmpOp::Lt, 5),
                LabelFilter::bytes("word", CmpOp::Ne, 3),
            ),
        )),
        Stage::LineFormat(Box::new(
            LineFormat::new("{{.x}}{{ .y | ToUpper | trunc 3 }}{{ __line__ | b64enc }}").unwrap(),
        )),
        Stage::LabelFormat(Box::new(
            LabelFormat::new(&[("z", "{{ .word | int | add 1 }}", false), ("w", "x", true)])
                .unwrap(),
        )),
        Stage::Drop(DropLabels::new(vec![LabelSelector::Name("p".into())])),
        Stage::Keep(KeepLabels::new(vec![
            LabelSelector::Name("z".into()),
            LabelSelector::Name("w".into()),
            LabelSelector::Name("job".into()),
        ])),
        Stage::Unpack(UnpackParser::new()),
        Stage::LabelFilter(LabelFilter::string("__error__", MatchOp::Regex, ".*").unwrap()),
    ]
}

fn line_strategy() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        proptest::collection::vec(any::<u8>(), 0..200),
        "[ -~]{0,120}".prop_map(String::into_bytes),
        r#"\{("[a-z_ ]{0,4}":("[a-z\\"]{0,6}"|[0-9.e-]{1,6}|true|null|\[1\]|\{"b":[0-9]\}),?){0,5}\}?"#
            .prop_map(String::into_bytes),
        r#"([a-z]{1,4}=("[^"]{0,5}"?|[0-9a-z.]{0,5})? ?){0,6}"#.prop_map(String::into_bytes),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(512))]

    #[test]
    fn no_stage_panics(line in line_strategy(), meta in "[a-z_]{1,5}", ts in any::<i64>()) {
        let mut lb = LabelsBuilder::new(Labels::from_pairs(&[("job", "app"), ("x", "1")]).unwrap());
        let metadata = [(meta.clone(), "v".to_string())];
        // Each stage alone, then all of them chained.
        for stage in all_stages() {
            let mut p = Pipeline::new(vec![stage]);
            let _ = p.process(ts, &line, &metadata, &mut lb);
            let _ = lb.result();
        }
        let mut p = Pipeline::new(all_stages());
        let _ = p.process(ts, &line, &metadata, &mut lb);
        let _ = lb.result();
        for conversion in [Conversion::Float, Conversion::Duration, Conversion::Bytes] {
            let mut e = SampleExtractor::new(
                Pipeline::new(vec![Stage::Logfmt(LogfmtParser::new(false, false))]),
                Extract::Unwrap(Unwrap::new("x", conversion, Vec::new())),
            );
            let _ = e.process(ts, &line, &metadata, &mut lb);
        }
    }

    #[test]
    fn constructors_never_panic(s in "\\PC{0,24}") {
        let _ = LineFilter::regex(&s);
        let _ = LineFilter::pattern(&s);
        let _ = LineFilter::ip(&s);
        let _ = RegexpParser::new(&s);
        let _ = PatternParser::new(&s);
        let _ = JsonExprParser::new(&[("a", &s)]);
        let _ = LogfmtParser::with_expressions(false, &[("a", &s)]);
        let _ = LineFormat::new(&s);
        let _ = LabelFilter::string("a", MatchOp::Regex, &s);
    }
}
