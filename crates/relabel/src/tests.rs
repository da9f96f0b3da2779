//! Table of relabeling cases: input labels, rules (as YAML, the way users write them),
//! expected output (`None` = dropped). Adding a case is adding a row.

use bongsu_model::Labels;

use super::*;

struct Case {
    name: &'static str,
    input: &'static [(&'static str, &'static str)],
    rules: &'static str,
    want: Option<&'static [(&'static str, &'static str)]>,
}

fn rules(yaml: &str) -> Vec<RelabelConfig> {
    let mut rules: Vec<RelabelConfig> = serde_yaml_ng::from_str(yaml).unwrap();
    for r in &mut rules {
        r.validate(NameValidationScheme::Utf8).unwrap();
    }
    rules
}

const CASES: &[Case] = &[
    Case {
        name: "replace with defaults copies the source",
        input: &[("a", "foo")],
        rules: "- {source_labels: [a], target_label: b}",
        want: Some(&[("a", "foo"), ("b", "foo")]),
    },
    Case {
        name: "replace with capture groups (Prometheus docs' example shape)",
        input: &[("a", "foo"), ("b", "bar")],
        rules: "- {source_labels: [a, b], regex: 'f(.*);(.*)r', target_label: c, replacement: 'ch${1}-ch${2}'}",
        want: Some(&[("a", "foo"), ("b", "bar"), ("c", "choo-chba")]),
    },
    Case {
        name: "replace: no match changes nothing",
        input: &[("a", "foo")],
        rules: "- {source_labels: [a], regex: 'x.*', target_label: b}",
        want: Some(&[("a", "foo")]),
    },
    Case {
        name: "replace: missing source labels read as empty strings",
        input: &[("a", "foo")],
        rules: "- {source_labels: [a, missing, a], target_label: b}",
        want: Some(&[("a", "foo"), ("b", "foo;;foo")]),
    },
    Case {
        name: "replace: empty result deletes the target",
        input: &[("a", "foo"), ("b", "bar")],
        rules: "- {source_labels: [missing], target_label: b}",
        want: Some(&[("a", "foo")]),
    },
    Case {
        name: "replace: static value with no sources (fast path)",
        input: &[("a", "foo")],
        rules: "- {target_label: env, replacement: prod}",
        want: Some(&[("a", "foo"), ("env", "prod")]),
    },
    Case {
        name: "replace: target label from a capture group",
        input: &[("__meta_tags", "label:team=db")],
        rules: "- {source_labels: [__meta_tags], regex: 'label:([^=]+)=(.*)', target_label: '${1}', replacement: '${2}'}",
        want: Some(&[("__meta_tags", "label:team=db"), ("team", "db")]),
    },
    Case {
        name: "replace: target expanding to an empty name is skipped",
        input: &[("a", "x")],
        rules: "- {source_labels: [a], regex: 'x(.*)', target_label: '${1}', replacement: v}",
        want: Some(&[("a", "x")]),
    },
    Case {
        name: "replace: custom separator",
        input: &[("a", "1"), ("b", "2")],
        rules: "- {source_labels: [a, b], separator: '', target_label: c}",
        want: Some(&[("a", "1"), ("b", "2"), ("c", "12")]),
    },
    Case {
        name: "replace: regex is fully anchored",
        input: &[("a", "xfoo")],
        rules: "- {source_labels: [a], regex: 'foo', target_label: b, replacement: hit}",
        want: Some(&[("a", "xfoo")]),
    },
    Case {
        name: "replace: $$ is a literal dollar",
        input: &[("a", "foo")],
        rules: "- {source_labels: [a], target_label: b, replacement: '$$1'}",
        want: Some(&[("a", "foo"), ("b", "$1")]),
    },
    Case {
        name: "keep: match keeps",
        input: &[("job", "node")],
        rules: "- {source_labels: [job], regex: 'no.*', action: keep}",
        want: Some(&[("job", "node")]),
    },
    Case {
        name: "keep: no match drops",
        input: &[("job", "node")],
        rules: "- {source_labels: [job], regex: 'x', action: keep}",
        want: None,
    },
    Case {
        name: "keep: missing label matches an empty regex",
        input: &[("job", "node")],
        rules: "- {source_labels: [missing], regex: '', action: keep}",
        want: Some(&[("job", "node")]),
    },
    Case {
        name: "drop: match drops",
        input: &[("__name__", "expensive_metric_total")],
        rules: "- {source_labels: [__name__], regex: 'expensive_metric.*', action: drop}",
        want: None,
    },
    Case {
        name: "drop: action is case-insensitive",
        input: &[("a", "x")],
        rules: "- {source_labels: [a], regex: x, action: DROP}",
        want: None,
    },
    Case {
        name: "drop: no match keeps",
        input: &[("__name__", "up")],
        rules: "- {source_labels: [__name__], regex: 'expensive.*', action: drop}",
        want: Some(&[("__name__", "up")]),
    },
    Case {
        name: "keepequal: equal keeps",
        input: &[("a", "1"), ("b", "1")],
        rules: "- {source_labels: [a], target_label: b, action: keepequal}",
        want: Some(&[("a", "1"), ("b", "1")]),
    },
    Case {
        name: "keepequal: different drops",
        input: &[("a", "1"), ("b", "2")],
        rules: "- {source_labels: [a], target_label: b, action: keepequal}",
        want: None,
    },
    Case {
        name: "dropequal: equal drops",
        input: &[("a", "1"), ("b", "1")],
        rules: "- {source_labels: [a], target_label: b, action: dropequal}",
        want: None,
    },
    Case {
        name: "dropequal: both missing are equal (empty)",
        input: &[("c", "1")],
        rules: "- {source_labels: [a], target_label: b, action: dropequal}",
        want: None,
    },
    Case {
        // md5("foo") = acbd18db4cc2f85c edef654fccc4a4d8; the last 8 bytes as a big-endian
        // u64 is 0xedef654fccc4a4d8 = 17145011766219326680, and that mod 1000 = 696.
        name: "hashmod: same value as Prometheus",
        input: &[("a", "foo")],
        rules: "- {source_labels: [a], modulus: 1000, target_label: shard, action: hashmod}",
        want: Some(&[("a", "foo"), ("shard", "696")]),
    },
    Case {
        // md5("localhost:9090") = bb18658653a4a80c 3cc99d899181f522; 0x3cc99d899181f522 % 8
        // is the low 3 bits of 0x22 = 2.
        name: "hashmod: sharding on __address__",
        input: &[("__address__", "localhost:9090")],
        rules: "- {source_labels: [__address__], modulus: 8, target_label: __tmp_hash, action: hashmod}",
        want: Some(&[("__address__", "localhost:9090"), ("__tmp_hash", "2")]),
    },
    Case {
        // md5("a;b") = 45d17989299efc43 21960bf46f2ebd0a; 0x21960bf46f2ebd0a % 7 = 2.
        name: "hashmod: joined sources",
        input: &[("a", "a"), ("b", "b")],
        rules: "- {source_labels: [a, b], modulus: 7, target_label: h, action: hashmod}",
        want: Some(&[("a", "a"), ("b", "b"), ("h", "2")]),
    },
    Case {
        name: "labelmap: copies matching labels under new names",
        input: &[("__meta_kubernetes_pod_label_app", "web"), ("other", "x")],
        rules: "- {action: labelmap, regex: '__meta_kubernetes_pod_label_(.+)'}",
        want: Some(&[
            ("__meta_kubernetes_pod_label_app", "web"),
            ("app", "web"),
            ("other", "x"),
        ]),
    },
    Case {
        name: "labelmap: later rules see the mapped labels, the rule itself does not",
        input: &[("a", "1")],
        rules: "- {action: labelmap, regex: '(.*)', replacement: 'x_$1'}\n- {action: labelmap, regex: 'x_(.*)', replacement: 'y_$1'}",
        want: Some(&[("a", "1"), ("x_a", "1"), ("y_a", "1")]),
    },
    Case {
        name: "labeldrop removes matching names",
        input: &[("a", "1"), ("b", "2"), ("__tmp_x", "3")],
        rules: "- {action: labeldrop, regex: '__tmp_.*|a'}",
        want: Some(&[("b", "2")]),
    },
    Case {
        name: "labelkeep keeps only matching names",
        input: &[("__name__", "up"), ("job", "a"), ("instance", "b")],
        rules: "- {action: labelkeep, regex: '__name__|job'}",
        want: Some(&[("__name__", "up"), ("job", "a")]),
    },
    Case {
        name: "lowercase and uppercase",
        input: &[("a", "MiXeD")],
        rules: "- {action: lowercase, source_labels: [a], target_label: lo}\n- {action: uppercase, source_labels: [a], target_label: up}",
        want: Some(&[("a", "MiXeD"), ("lo", "mixed"), ("up", "MIXED")]),
    },
    Case {
        name: "lowercase of missing source deletes the target",
        input: &[("t", "x")],
        rules: "- {action: lowercase, source_labels: [missing], target_label: t}",
        want: Some(&[]),
    },
    Case {
        name: "rules apply in order; a drop stops processing",
        input: &[("a", "1")],
        rules: "- {target_label: b, replacement: '2'}\n- {source_labels: [b], regex: '2', action: drop}\n- {target_label: c, replacement: '3'}",
        want: None,
    },
    Case {
        name: "UTF-8 target names are valid (Prometheus 3)",
        input: &[("a", "v")],
        rules: "- {source_labels: [a], target_label: 'ünïcode.name'}",
        want: Some(&[("a", "v"), ("ünïcode.name", "v")]),
    },
    Case {
        name: "null regex is the empty regex",
        input: &[("a", "")],
        rules: "- {source_labels: [a], regex: null, target_label: b, replacement: empty}",
        want: Some(&[("b", "empty")]),
    },
];

#[test]
fn relabel_cases() {
    let mut failures = Vec::new();
    for case in CASES {
        let input = Labels::from_pairs(case.input).unwrap();
        let got = relabel(&input, &rules(case.rules));
        let want = case.want.map(|w| Labels::from_pairs(w).unwrap());
        if got != want {
            failures.push(format!("{}: got {got:?}, want {want:?}", case.name));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

#[test]
fn legacy_scheme_skips_invalid_expanded_targets() {
    let mut r: Vec<RelabelConfig> = serde_yaml_ng::from_str(
        "- {source_labels: [a], regex: '(.*)', target_label: '${1}', replacement: v}",
    )
    .unwrap();
    r[0].validate(NameValidationScheme::Legacy).unwrap();
    let input = Labels::from_pairs(&[("a", "not-valid")]).unwrap();
    assert_eq!(relabel(&input, &r), Some(input.clone()));
    let input = Labels::from_pairs(&[("a", "ok_name")]).unwrap();
    assert_eq!(
        relabel(&input, &r).unwrap().get("ok_name"),
        Some("v"),
        "a valid expanded name is set"
    );
}

/// Invalid rules and Prometheus' messages for them.
#[test]
fn validation_errors() {
    let cases: &[(&str, &str)] = &[
        ("{action: null}", "relabel action cannot be empty"),
        ("{action: explode}", "unknown relabel action \"explode\""),
        ("{regex: 'abc(def'}", "error parsing regexp"),
        ("{action: hashmod, target_label: a}", "relabel configuration for hashmod requires non-zero modulus"),
        ("{source_labels: [a]}", "relabel configuration for replace action requires 'target_label' value"),
        ("{action: hashmod, modulus: 2}", "relabel configuration for hashmod action requires 'target_label' value"),
        ("{target_label: '$1-x'}", "\"$1-x\" is invalid 'target_label' for replace action"),
        ("{action: lowercase, target_label: a, replacement: b}", "'replacement' can not be set for lowercase action"),
        ("{action: uppercase}", "relabel configuration for uppercase action requires 'target_label' value"),
        ("{action: keepequal, target_label: a, regex: foo}", "keepequal action requires only 'source_labels' and `target_label`, and no other fields"),
        ("{action: dropequal, target_label: a, regex: '(.*)'}", "dropequal action requires only 'source_labels' and `target_label`, and no other fields"),
        ("{action: labelkeep, source_labels: []}", "labelkeep action requires only 'regex', and no other fields"),
        ("{action: labeldrop, separator: ','}", "labeldrop action requires only 'regex', and no other fields"),
        ("{action: labelmap, replacement: 'a-$1'}", "\"a-$1\" is invalid 'replacement' for labelmap action"),
        ("{target_label: a, sauce: b}", "unknown field `sauce`"),
    ];
    for (yaml, want) in cases {
        let err = match serde_yaml_ng::from_str::<RelabelConfig>(yaml) {
            Err(e) => e.to_string(),
            Ok(mut r) => match r.validate(NameValidationScheme::Utf8) {
                Err(e) => e.to_string(),
                Ok(()) => panic!("{yaml} was accepted"),
            },
        };
        assert!(err.contains(want), "{yaml}: got {err:?}, want {want:?}");
    }
    let mut legacy: RelabelConfig = serde_yaml_ng::from_str("{target_label: 'a.b'}").unwrap();
    assert!(legacy.validate(NameValidationScheme::Legacy).is_err());
}

#[test]
fn hash_mod_matches_prometheus() {
    // md5("") = d41d8cd98f00b204 e9800998ecf8427e; 0xe9800998ecf8427e % 10 = 8.
    assert_eq!(process::hash_mod("", 10), 8);
    // md5("10.0.0.1:9100") = 1eac7f871dc4b32a 4cfeac4083628b3d; 0x4cfeac4083628b3d % 3 = 2.
    assert_eq!(process::hash_mod("10.0.0.1:9100", 3), 2);
}

#[test]
fn no_rules_is_identity_and_programmatic_rules_work() {
    let input = Labels::from_pairs(&[("a", "1")]).unwrap();
    assert_eq!(relabel(&input, &[]), Some(input.clone()));
    let mut r = RelabelConfig {
        action: Action::Keep,
        source_labels: vec!["a".into()],
        ..RelabelConfig::default()
    }
    .with_regex("1|2")
    .unwrap();
    r.validate(NameValidationScheme::Utf8).unwrap();
    assert_eq!(relabel(&input, std::slice::from_ref(&r)), Some(input));
}
