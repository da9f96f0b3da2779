use super::*;
use crate::template::PromTemplates;

fn errs(text: &str) -> Vec<String> {
    parse(text, NameValidationScheme::Utf8, &PromTemplates::default())
        .unwrap_err()
        .0
}

#[test]
fn parses_groups_and_rules() {
    let g = parse(
        "groups:\n- name: g\n  interval: 30s\n  limit: 3\n  labels: {team: a}\n  rules:\n  - alert: A\n    expr: up == 0\n    for: 5m\n    keep_firing_for: 1m\n    labels: {sev: 1}\n    annotations: {s: x}\n  - record: r:x\n    expr: sum(up)\n",
        NameValidationScheme::Utf8,
        &PromTemplates::default(),
    )
    .unwrap();
    let g = &g.groups[0];
    assert_eq!(g.interval, Some(Duration::from_secs(30)));
    assert_eq!(g.limit, 3);
    assert_eq!(g.rules[0].for_, Duration::from_secs(300));
    assert_eq!(g.rules[0].labels["sev"], "1");
    assert_eq!(g.rules[1].name(), "r:x");
    assert_eq!(
        parse("", NameValidationScheme::Utf8, &PromTemplates::default()).unwrap(),
        RuleGroups::default()
    );
    let two = parse(
        "groups:\n- name: a\n---\ngroups: []\n",
        NameValidationScheme::Utf8,
        &PromTemplates::default(),
    )
    .unwrap();
    assert_eq!(two.groups[0].name, "a");
}

#[test]
fn errors_in_prometheus_words() {
    assert_eq!(
        errs("groups:\n  - name: yolo\n    rules:\n      - record: yolo\n        expr: rate(hi)\n"),
        ["5:15: group \"yolo\", rule 1, \"yolo\": could not parse expression: 1:6: parse error: expected type range vector in call to function \"rate\", got instant vector"]
    );
    assert_eq!(
        errs("groups:\n  - name: yolo\n    rules:\n      - record: ylo\n"),
        ["0:0: group \"yolo\", rule 1, \"ylo\": field 'expr' must be set in rule"]
    );
    assert_eq!(
        errs("groups:\n- name: g\n  rules:\n  - alert: a\n    expr: 1\n    annotation: {}\n"),
        ["yaml: unmarshal errors:\n  line 6: field annotation not found in type rulefmt.Rule"]
    );
    assert_eq!(
        errs("groups:\n- name: g\n  intervall: 1m\n"),
        ["yaml: unmarshal errors:\n  line 3: field intervall not found in type rulefmt.RuleGroup"]
    );
    assert_eq!(
        errs("groups:\n- name: g\n  interval: 1x\n"),
        ["not a valid duration string: \"1x\""]
    );
    assert_eq!(
        errs("groups:\n- name: \"\"\n- name: \"\"\n"),
        [
            "2:3: Groupname must not be empty",
            "3:3: Groupname must not be empty",
            "3:3: groupname: \"\" is repeated in the same file"
        ]
    );
    assert_eq!(
        errs("groups:\n- name: g\n  labels: {__name__: x}\n"),
        ["invalid label name: __name__"]
    );
}

#[test]
fn legacy_names() {
    assert!(valid_metric_name(NameValidationScheme::Legacy, "a:b_1"));
    assert!(!valid_metric_name(NameValidationScheme::Legacy, "1a"));
    assert!(valid_metric_name(NameValidationScheme::Utf8, "a.b"));
    let e = parse(
        "groups:\n- name: g\n  rules:\n  - record: a.b\n    expr: 1\n",
        NameValidationScheme::Legacy,
        &PromTemplates::default(),
    )
    .unwrap_err();
    assert_eq!(
        e.0,
        ["4:13: group \"g\", rule 1, \"a.b\": invalid recording rule name: a.b"]
    );
}
