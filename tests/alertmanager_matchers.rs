//! `tests/data/alertmanager/matchers.yml`: matcher lists with the matchers they parse to (as
//! Alertmanager prints them) or the exact error.

use std::path::Path;

use bongsu_alertmanager::matcher::Matchers;

#[derive(serde::Deserialize)]
#[serde(deny_unknown_fields)]
struct Case {
    input: String,
    #[serde(default)]
    want: Option<Vec<String>>,
    #[serde(default)]
    error: Option<String>,
}

#[test]
fn matcher_list_cases() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data/alertmanager/matchers.yml");
    let cases: Vec<Case> =
        serde_yaml_ng::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let mut failures = Vec::new();
    for case in &cases {
        let got = Matchers::parse(&case.input)
            .map(|ms| ms.iter().map(|m| m.to_string()).collect::<Vec<_>>())
            .map_err(|e| e.to_string());
        let want = match (&case.want, &case.error) {
            (Some(w), None) => Ok(w.clone()),
            (None, Some(e)) => Err(e.clone()),
            _ => panic!("{:?}: give exactly one of want and error", case.input),
        };
        if got != want {
            failures.push(format!("{:?}: got {got:?}, want {want:?}", case.input));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    println!("{} matcher lists checked", cases.len());
}
