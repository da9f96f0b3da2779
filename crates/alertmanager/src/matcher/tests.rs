use super::*;

fn labels(pairs: &[(&str, &str)]) -> LabelSet {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

fn one(input: &str) -> (String, MatchOp, String) {
    let m = Matcher::parse(input).unwrap_or_else(|e| panic!("{input}: {e}"));
    (m.name, m.op, m.value)
}

#[test]
fn classic_forms() {
    let t = |n: &str, op, v: &str| (n.to_string(), op, v.to_string());
    assert_eq!(one(r#"foo="bar""#), t("foo", MatchOp::Equal, "bar"));
    assert_eq!(one("foo=bar"), t("foo", MatchOp::Equal, "bar"));
    assert_eq!(one(" foo != bar "), t("foo", MatchOp::NotEqual, "bar"));
    assert_eq!(one(r#"foo=~"ba.*""#), t("foo", MatchOp::Regex, "ba.*"));
    assert_eq!(one("foo!~ba.*"), t("foo", MatchOp::NotRegex, "ba.*"));
    assert_eq!(one("foo="), t("foo", MatchOp::Equal, ""));
    assert_eq!(one(r#"foo="""#), t("foo", MatchOp::Equal, ""));
    // OpenMetrics escapes; other backslashes stay literal.
    assert_eq!(
        one(r#"foo="a\"b\nc\\d\e""#),
        t("foo", MatchOp::Equal, "a\"b\nc\\d\\e")
    );
    assert_eq!(one(r"foo=~\d+"), t("foo", MatchOp::Regex, r"\d+"));
    assert_eq!(one("foo=bar=baz"), t("foo", MatchOp::Equal, "bar=baz"));
}

#[test]
fn utf8_forms_used_when_classic_fails() {
    let m = Matcher::parse(r#""foo bar"="baz""#).unwrap();
    assert_eq!((m.name.as_str(), m.value.as_str()), ("foo bar", "baz"));
    assert_eq!(m.to_string(), r#""foo bar"="baz""#);
    let m = Matcher::parse(r#"föö="x""#).unwrap();
    assert_eq!(m.name, "föö");
    let ms = Matchers::parse(r#"{"service.name"="api", env=~"prod|staging"}"#).unwrap();
    assert_eq!(ms.0.len(), 2);
    assert_eq!(ms.0[0].name, "service.name");
}

#[test]
fn errors_are_classic() {
    let e = Matcher::parse("foo").unwrap_err();
    assert_eq!(e.to_string(), "bad matcher format: foo");
    let e = Matcher::parse(r#"foo="bar"#).unwrap_err();
    assert_eq!(
        e.to_string(),
        r#"matcher value contains unescaped double quote: "bar"#
    );
    let e = Matcher::parse("{foo=bar}").unwrap_err();
    assert_eq!(e.to_string(), "unexpected open or close brace: {foo=bar}");
    assert!(Matcher::parse("foo=~(").is_err());
    assert!(Matchers::parse("a=b,c").is_err());
}

#[test]
fn lists() {
    let ms = Matchers::parse(r#"{foo = "bar", dings != "bums", }"#).unwrap();
    assert_eq!(ms.to_string(), r#"{foo="bar",dings!="bums"}"#);
    let ms = Matchers::parse(r#"{quote="She said: \"Hi, ladies!\"", x=~"5.."}"#).unwrap();
    assert_eq!(ms.0[0].value, "She said: \"Hi, ladies!\"");
    assert!(Matchers::parse("").unwrap().is_empty());
    assert!(Matchers::parse("{}").unwrap().is_empty());
}

#[test]
fn matching_semantics() {
    let l = labels(&[("foo", "bar"), ("multi", "a\nb")]);
    let m = |s: &str| Matcher::parse(s).unwrap().matches(&l);
    assert!(m("foo=bar"));
    assert!(m("foo=~b.r"));
    assert!(!m("foo=~b"), "anchored");
    assert!(m("foo!~x.*"));
    assert!(m(r#"absent="""#), "absent label is empty");
    assert!(m("absent=~.*"));
    assert!(!m("multi=~.*"), "dot does not match a newline, as in Go");
    assert!(m(r#"multi=~"a\nb""#));
}

#[test]
fn sort_order_and_rendering() {
    let mut ms = Matchers::parse(r#"b="1",a=~"x",a="x""#).unwrap();
    ms.sort();
    assert_eq!(ms.to_string(), r#"{a="x",a=~"x",b="1"}"#);
    let m = Matcher::new(MatchOp::Equal, "a", "q\"\\\n").unwrap();
    assert_eq!(m.to_string(), r#"a="q\"\\\n""#);
}

#[test]
fn equal_labels_treats_absent_as_empty() {
    let a = labels(&[("cluster", "x"), ("e", "")]);
    let b = labels(&[("cluster", "x")]);
    assert!(equal_labels(&["cluster".into(), "e".into()], &a, &b));
    let c = labels(&[("cluster", "y")]);
    assert!(!equal_labels(&["cluster".into()], &a, &c));
}

mod roundtrip {
    use super::*;
    use proptest::prelude::*;

    fn op() -> impl Strategy<Value = MatchOp> {
        prop_oneof![
            Just(MatchOp::Equal),
            Just(MatchOp::NotEqual),
            Just(MatchOp::Regex),
            Just(MatchOp::NotRegex),
        ]
    }

    proptest! {
        /// What Alertmanager prints, it reads back: silences and amtool pass matchers as text.
        #[test]
        fn printed_matchers_parse_back(
            name in "[a-zA-Z_][a-zA-Z0-9_]{0,8}|[ -~\\u{e9}\\u{4e2d}]{1,8}",
            value in "[ -~\\n\\u{e9}]{0,12}",
            op in op(),
        ) {
            let value = if matches!(op, MatchOp::Regex | MatchOp::NotRegex) {
                regex::escape(&value)
            } else {
                value
            };
            let m = Matcher::new(op, &name, &value).unwrap();
            let text = m.to_string();
            let back = Matchers::parse(&format!("{{{text}}}"))
                .unwrap_or_else(|e| panic!("{text}: {e}"));
            prop_assert_eq!(back.0.len(), 1, "{}", text);
            prop_assert_eq!(&back.0[0], &m, "{}", text);
        }
    }
}
