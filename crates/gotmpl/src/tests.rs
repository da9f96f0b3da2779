//! Table tests: `tests/data/template/*.cases` hold one case per line,
//! `TEMPLATE<TAB>=><TAB>EXPECTED`, where EXPECTED starting with `ERROR ` is a substring of the
//! expected error, `\n` and `\t` are escapes, and `#` starts a comment line. Each file runs
//! against the fixture dot below with the function set its name selects.

use std::collections::BTreeMap;
use std::sync::Arc;

use super::alertmanager::{Alert, Data, NotificationTemplates};
use super::funcs::alertmanager::funcs as am_funcs;
use super::prometheus::{alert_template_data, ExpandContext, Expander, QueryFn, QuerySample};
use super::time::Time;
use super::value::{ListKind, MapKind, Struct, Value};
use super::{FuncMap, MissingKey, Template};

fn labels(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
    pairs
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect()
}

/// The dot of the Go-semantics cases.
fn fixture() -> Value {
    let mut any = BTreeMap::new();
    any.insert("a".to_string(), Value::Int(1));
    any.insert("b".to_string(), Value::str("two"));
    any.insert(
        "list".to_string(),
        Value::list(
            ListKind::Any,
            vec![Value::Int(1), Value::Float(2.5), Value::str("x")],
        ),
    );
    Value::Struct(Struct::new(
        "main.T",
        vec![
            ("Str", Value::str("hello")),
            ("Empty", Value::str("")),
            ("Int", Value::Int(42)),
            ("Neg", Value::Int(-7)),
            ("Float", Value::Float(1234567.0)),
            ("Half", Value::Float(0.5)),
            ("True", Value::Bool(true)),
            ("False", Value::Bool(false)),
            ("Words", Value::strings(["a", "b", "c"])),
            ("None", Value::strings(Vec::<String>::new())),
            (
                "Labels",
                Value::string_map(
                    MapKind::Strings,
                    [("job", "node"), ("instance", "host:9100")],
                ),
            ),
            ("Any", Value::map(MapKind::Any, any)),
            (
                "Nested",
                Value::Struct(Struct::new("main.U", vec![("Name", Value::str("inner"))])),
            ),
            ("Time", Value::Time(Time::utc(1_435_065_584, 128_000_000))),
        ],
    ))
}

struct FakeQuery;

impl QueryFn for FakeQuery {
    fn query(&self, expr: &str, at_ms: i64) -> Result<Vec<QuerySample>, String> {
        match expr {
            "up" => Ok(vec![
                QuerySample {
                    labels: labels(&[("__name__", "up"), ("instance", "b:9100"), ("job", "node")]),
                    value: 1.0,
                },
                QuerySample {
                    labels: labels(&[("__name__", "up"), ("instance", "a:9100"), ("job", "node")]),
                    value: 0.0,
                },
            ]),
            "time()" => Ok(vec![QuerySample {
                labels: BTreeMap::new(),
                value: at_ms as f64 / 1000.0,
            }]),
            "none" => Ok(Vec::new()),
            _ => Err(format!("parse error: unknown query {expr:?}")),
        }
    }
}

fn prom_ctx() -> ExpandContext {
    ExpandContext {
        timestamp_ms: 1_700_000_000_000,
        query: Some(Arc::new(FakeQuery)),
        external_url: "http://prom.example:9090/prefix".to_string(),
    }
}

fn alert_data() -> Value {
    alert_template_data(
        &labels(&[
            ("alertname", "HighLoad"),
            ("instance", "host-1.example.com:9100"),
            ("severity", "page"),
        ]),
        &labels(&[("cluster", "eu-1")]),
        "http://prom.example:9090/prefix",
        1234.5678,
    )
}

fn am_data() -> Value {
    let alert = |status: &str, instance: &str, summary: &str| Alert {
        status: status.to_string(),
        labels: labels(&[
            ("alertname", "DiskFull"),
            ("instance", instance),
            ("job", "node"),
            ("severity", "warning"),
        ]),
        annotations: labels(&[("summary", summary), ("runbook", "http://runbooks/disk")]),
        starts_at: Time::utc(1_700_000_000, 0),
        ends_at: if status == "firing" {
            Time::zero()
        } else {
            Time::utc(1_700_003_600, 0)
        },
        generator_url: format!("http://prom/graph?{instance}"),
        fingerprint: format!("fp-{instance}"),
        logs_url: format!("http://prom/logs?query={instance}"),
    };
    Data::new(
        "team-x",
        labels(&[("alertname", "DiskFull")]),
        vec![
            alert("firing", "a:9100", "disk a full"),
            alert("resolved", "b:9100", "disk b full"),
            alert("firing", "c:9100", "disk c full"),
        ],
        "http://am.example:9093",
    )
    .to_value()
}

fn unescape(s: &str) -> String {
    s.replace("\\n", "\n").replace("\\t", "\t")
}

fn render(file: &str, text: &str) -> Result<String, String> {
    match file {
        "go.cases" | "printf.cases" => {
            let mut t = Template::new("t");
            t.parse(text).map_err(|e| e.to_string())?;
            t.execute(&fixture()).map_err(|e| e.to_string())
        }
        "html.cases" => {
            let mut t = Template::new("t")
                .funcs(&am_funcs())
                .missing_key(MissingKey::Zero);
            t.parse(text).map_err(|e| e.to_string())?;
            t.execute_template_html("t", &fixture())
                .map_err(|e| e.to_string())
        }
        "missingkey.cases" => {
            let mut t = Template::new("t").missing_key(MissingKey::Zero);
            t.parse(text).map_err(|e| e.to_string())?;
            t.execute(&fixture()).map_err(|e| e.to_string())
        }
        "prometheus.cases" => {
            let x = Expander::new(&prom_ctx());
            let (out, err) = x.expand_alert("HighLoad", text, &alert_data());
            match err {
                Some(e) => Err(e.to_string()),
                None => Ok(out),
            }
        }
        "alertmanager.cases" => {
            let mut set = NotificationTemplates::new();
            set.parse_file(
                "defs.tmpl",
                include_str!("../tests/data/template/defs.tmpl"),
            )
            .map_err(|e| e.to_string())?;
            set.execute_text(text, &am_data())
                .map_err(|e| e.to_string())
        }
        "defaults.cases" => NotificationTemplates::with_defaults()
            .execute_text(text, &am_data())
            .map_err(|e| e.to_string()),
        other => panic!("no function set for {other}"),
    }
}

#[test]
fn case_files() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/template");
    let mut failures = Vec::new();
    let mut count = 0;
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("case dir")
        .flatten()
        .map(|e| e.path())
        .collect();
    files.sort();
    for path in files
        .iter()
        .filter(|p| p.extension().is_some_and(|e| e == "cases"))
    {
        let file = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or_default()
            .to_string();
        let body = std::fs::read_to_string(path).expect("read cases");
        for (n, line) in body.lines().enumerate() {
            if line.trim().is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((text, want)) = line
                .split_once("\t=>\t")
                .or_else(|| line.split_once("\t=>").map(|(t, _)| (t, "")))
            else {
                failures.push(format!("{file}:{}: malformed case", n + 1));
                continue;
            };
            count += 1;
            let got = render(&file, &unescape(text));
            let want = unescape(want);
            let ok = match (&got, want.strip_prefix("ERROR ")) {
                (Err(e), Some(sub)) => e.contains(sub),
                (Ok(out), None) => *out == want,
                _ => false,
            };
            if !ok {
                failures.push(format!(
                    "{file}:{}: {text}\n   want: {want:?}\n    got: {got:?}",
                    n + 1
                ));
            }
        }
    }
    assert!(count > 0, "no cases found");
    assert!(
        failures.is_empty(),
        "{} of {count} cases failed:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn templates_can_be_redefined_and_looked_up() {
    let mut t = Template::new("main");
    t.parse(r#"{{define "a"}}one{{end}}{{template "a"}}"#)
        .unwrap();
    assert_eq!(t.execute(&Value::Nil).unwrap(), "one");
    t.parse_as("other", r#"{{define "a"}}two{{end}}"#).unwrap();
    assert_eq!(t.execute(&Value::Nil).unwrap(), "two");
    // An empty redefinition keeps the old body.
    t.parse_as("other2", r#"{{define "a"}} {{end}}"#).unwrap();
    assert_eq!(t.execute_template("a", &Value::Nil).unwrap(), "two");
    assert!(t.lookup("a"));
    let err = t
        .execute_template("nope", &Value::Nil)
        .unwrap_err()
        .to_string();
    assert_eq!(
        err,
        r#"template: no template "nope" associated with template "main""#
    );
}

#[test]
fn user_functions_and_errors() {
    let mut funcs = FuncMap::new();
    funcs.insert("double", |a| match a {
        [Value::Int(i)] => Ok(Value::Int(i * 2)),
        _ => Err(super::FuncError::Call("want one int".into())),
    });
    let mut t = Template::new("f").funcs(&funcs);
    t.parse("{{ double 21 }} {{ 4 | double }}").unwrap();
    assert_eq!(t.execute(&Value::Nil).unwrap(), "42 8");
    let mut t = Template::new("f").funcs(&funcs);
    t.parse(r#"{{ double "x" }}"#).unwrap();
    assert_eq!(
        t.execute(&Value::Nil).unwrap_err().to_string(),
        r#"template: f:1:3: executing "f" at <double "x">: error calling double: want one int"#
    );
}

#[test]
fn alert_templates_are_checked_at_load() {
    let x = Expander::new(&ExpandContext::default());
    assert!(x
        .parse_test_alert("A", "{{ $labels.job }} {{ humanize $value }}")
        .is_ok());
    let err = x
        .parse_test_alert("A", "{{ $nope }}")
        .unwrap_err()
        .to_string();
    assert_eq!(err, r#"template: __alert_A:1: undefined variable "$nope""#);
    let (text, err) = x.expand_alert("A", "{{ query \"up\" }}", &alert_data());
    assert!(
        text.starts_with("<error expanding template: error executing template __alert_A: "),
        "{text}"
    );
    assert!(err.is_some_and(|e| e
        .to_string()
        .ends_with("error calling query: query is not available in this context")));
}

#[test]
fn built_collections_are_bounded() {
    let funcs = am_funcs();
    let append = funcs.get("append").expect("append exists");
    let full = Value::list(
        ListKind::Any,
        vec![Value::Int(0); super::funcs::MAX_BUILT_ITEMS],
    );
    let err = append(&[full, Value::Int(1)]).unwrap_err();
    assert_eq!(
        err,
        super::FuncError::Call("append: more than 10000 items".into())
    );
}

#[test]
fn am_functions_render_times() {
    let mut t = Template::new("d").funcs(&am_funcs());
    t.parse(r#"{{ date "2006-01-02 15:04" .StartsAt }} {{ (index .Alerts 0).StartsAt.Format "Jan 2" }}"#)
        .unwrap();
    let data = Value::Struct(Struct::new(
        "x",
        vec![
            ("StartsAt", Value::Time(Time::utc(1_700_000_000, 0))),
            (
                "Alerts",
                Value::list(
                    ListKind::AlertSlice,
                    vec![Value::Struct(Struct::new(
                        "template.Alert",
                        vec![("StartsAt", Value::Time(Time::utc(0, 0)))],
                    ))],
                ),
            ),
        ],
    ));
    assert_eq!(t.execute(&data).unwrap(), "2023-11-14 22:13 Jan 1");
}

mod fuzz {
    use super::*;
    use proptest::prelude::*;

    const PIECES: [&str; 40] = [
        "{{",
        "}}",
        "{{-",
        " -}}",
        "{{/*",
        "*/}}",
        " ",
        "\n",
        ".",
        ".Str",
        ".Labels.job",
        "$",
        "$x",
        ":=",
        "=",
        "|",
        "(",
        ")",
        "\"s\"",
        "`r`",
        "'c'",
        "1",
        "-2.5e3",
        "0x1F",
        "if",
        "else",
        "end",
        "range",
        "with",
        "define",
        "template",
        "block",
        "break",
        "continue",
        "printf",
        "\"%5.2f %d %s %v %q\"",
        "len",
        "index",
        "eq",
        "humanize",
    ];

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(2000))]

        #[test]
        fn never_panics_on_token_soup(idx in proptest::collection::vec(0..PIECES.len(), 0..40)) {
            let text: String = idx.iter().map(|&i| PIECES[i]).collect();
            let x = Expander::new(&prom_ctx());
            let _ = x.expand("fuzz", &text, &fixture());
        }

        #[test]
        fn never_panics_on_bytes(text in "\\PC{0,60}") {
            let mut t = Template::new("fuzz");
            if t.parse(&text).is_ok() {
                let _ = t.execute(&fixture());
            }
        }

        #[test]
        fn printf_never_panics(format in "[%a-z0-9.+\\-# *\\[\\]]{0,20}", n in any::<i64>(), f in any::<f64>()) {
            let _ = super::super::fmt::sprintf(&format, &[Value::Int(n), Value::Float(f), Value::str("s")]);
        }
    }
}

#[test]
fn email_defaults_render_as_html() {
    let set = NotificationTemplates::with_defaults();
    let dot = am_data();
    let subject = set
        .execute_text(r#"{{ template "email.default.subject" . }}"#, &dot)
        .expect("subject");
    assert_eq!(subject, "[FIRING:2] DiskFull (node warning)");
    let html = set
        .execute_html(r#"{{ template "email.default.html" . }}"#, &dot)
        .expect("html");
    for want in [
        "<title>[FIRING:2] DiskFull (node warning)</title>",
        "3 alerts for alertname=DiskFull \n",
        r#"<a href="http://am.example:9093/#/alerts?receiver=team-x" style="color:#1f6fc5">View in Alertmanager</a>"#,
        "<h3 style=\"margin:16px 0 8px\">[2] Firing</h3>",
        "<h3 style=\"margin:16px 0 8px\">[1] Resolved</h3>",
        "instance = a:9100<br>\n",
        "summary = disk b full<br>\n",
        r#"<a href="http://prom/graph?c:9100" style="color:#1f6fc5">Source</a>"#,
        r#"<a href="http://am.example:9093" style="color:#888">Sent by Alertmanager</a>"#,
    ] {
        assert!(html.contains(want), "missing {want:?} in\n{html}");
    }
    let firing = html.find("[2] Firing").unwrap_or(usize::MAX);
    let resolved = html.find("[1] Resolved").unwrap_or(0);
    assert!(firing < resolved, "firing alerts come first:\n{html}");

    let mut set = NotificationTemplates::with_defaults();
    set.parse_file(
        "x.tmpl",
        r#"{{ define "x" }}{{ .CommonLabels.job }}{{ end }}"#,
    )
    .expect("parse");
    let html = set
        .execute_html(r#"<b>{{ "<&>" }}</b>{{ template "x" . }}"#, &dot)
        .expect("html");
    assert_eq!(html, "<b>&lt;&amp;&gt;</b>node");
}

/// Configuration strings are parsed once and kept, but each still sees only the set's
/// templates and its own `define`s, as upstream's per-call clone.
#[test]
fn configuration_strings_keep_their_own_definitions() {
    let mut set = NotificationTemplates::new();
    set.parse_file("a.tmpl", r#"{{ define "x" }}set{{ end }}"#)
        .unwrap();
    let dot = Value::str("d");
    let own = r#"{{ define "y" }}own{{ end }}{{ template "x" . }}-{{ template "y" . }}"#;
    assert_eq!(set.execute_text(own, &dot).unwrap(), "set-own");
    assert_eq!(set.execute_text(own, &dot).unwrap(), "set-own");
    assert!(set.execute_text(r#"{{ template "y" . }}"#, &dot).is_err());
    set.parse_file("b.tmpl", r#"{{ define "x" }}new{{ end }}"#)
        .unwrap();
    assert_eq!(set.execute_text(own, &dot).unwrap(), "new-own");
}
