//! Random input never panics the parser or the printer, and whatever parses prints to text
//! that parses again (Loki's `NaN`/`Inf` literals and lossy byte sizes aside, the AST too).

use bongsu_logql::{parse, parse_without_validation};
use proptest::prelude::*;

/// Fragments of LogQL, so random queries get deep into the grammar.
const FRAGMENTS: &[&str] = &[
    "{",
    "}",
    "a",
    "=",
    "\"x\"",
    "`y`",
    ",",
    "|",
    "|=",
    "!=",
    "|~",
    "!~",
    "|>",
    "!>",
    "or",
    "and",
    "json",
    "logfmt",
    "--strict",
    "regexp",
    "\"(?P<a>.)\"",
    "pattern",
    "\"<a> <_>\"",
    "line_format",
    "label_format",
    "drop",
    "keep",
    "unwrap",
    "bytes(",
    "duration(",
    "ip(",
    "(",
    ")",
    "[5m]",
    "[",
    "]",
    "offset",
    "1h",
    "-5m",
    "20MB",
    "1.5",
    "-",
    "+",
    "*",
    "/",
    "^",
    "==",
    ">",
    ">=",
    "<",
    "bool",
    "on",
    "ignoring",
    "group_left",
    "by",
    "without",
    "rate(",
    "count_over_time(",
    "sum",
    "topk(",
    "quantile_over_time(",
    "vector(",
    "label_replace(",
    "sort(",
    "0x1",
    "#",
    "\n",
    " ",
    "é",
    "\\",
    "'",
    "\"",
    "decolorize",
    "unpack",
    "__error__",
];

fn query() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            3 => prop::sample::select(FRAGMENTS).prop_map(str::to_string),
            1 => any::<String>(),
        ],
        0..40,
    )
    .prop_map(|parts| parts.join(" "))
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(3000))]

    #[test]
    fn never_panics(q in query()) {
        let _ = parse(&q);
        if let Ok(e) = parse_without_validation(&q) {
            let printed = e.to_string();
            let _ = parse_without_validation(&printed);
        }
    }

    #[test]
    fn arbitrary_text_never_panics(q in any::<String>()) {
        let _ = parse(&q);
    }
}

#[test]
fn deep_nesting_is_an_error() {
    let q = format!("{}1{}", "(".repeat(10_000), ")".repeat(10_000));
    let e = parse(&q).unwrap_err();
    assert!(e.msg.contains("nests deeper"), "{e}");
    let q = format!(
        "{{a=\"b\"}} | {}a=\"1\"{}",
        "(".repeat(10_000),
        ")".repeat(10_000)
    );
    assert!(parse(&q).is_err());
    let long = format!("{{a=\"{}\"}}", "x".repeat(bongsu_logql::MAX_QUERY_LEN));
    assert_eq!(
        parse(&long).unwrap_err().to_string(),
        format!(
            "parse error : input size too long ({} > {})",
            long.len(),
            bongsu_logql::MAX_QUERY_LEN
        )
    );
}
