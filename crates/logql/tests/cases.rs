//! Our own LogQL cases, `tests/data/*.cases`, checked against Loki's docs and source:
//!
//! ```text
//! # comment
//! <query>
//! => <Loki's canonical print>      (and the print parses back to the same AST)
//! =>~ <Loki's canonical print>     (a lossy print: only the text is stable)
//! =>! <Loki's canonical print>     (a print Loki cannot read back either, e.g. `NaN`)
//! !! <Loki's exact error>
//! !!novalidate <error>             (also without validation; default: with `parse` only)
//! ```

use std::path::PathBuf;

use bongsu_logql::{parse, parse_without_validation};

#[test]
fn data_cases() {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .expect("tests/data")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.extension().is_some_and(|x| x == "cases"))
        .collect();
    files.sort();
    let (mut total, mut failures) = (0, Vec::new());
    for file in files {
        let text = std::fs::read_to_string(&file).expect("readable case file");
        let name = file
            .file_name()
            .unwrap_or_default()
            .to_string_lossy()
            .to_string();
        let mut query: Option<(usize, &str)> = None;
        for (n, line) in text.lines().enumerate() {
            if line.is_empty() || line.starts_with('#') {
                continue;
            }
            let Some((qline, q)) = query else {
                query = Some((n + 1, line));
                continue;
            };
            query = None;
            total += 1;
            let at = format!("{name}:{qline}: {q}");
            if let Some(want) = line.strip_prefix("!! ") {
                match parse(q) {
                    Err(e) if e.to_string() == want => {}
                    other => failures.push(format!("{at}\n  want error {want}\n  got {other:?}")),
                }
            } else if let Some(want) = line.strip_prefix("!!novalidate ") {
                for got in [parse(q), parse_without_validation(q)] {
                    match got {
                        Err(e) if e.to_string() == want => {}
                        other => {
                            failures.push(format!("{at}\n  want error {want}\n  got {other:?}"))
                        }
                    }
                }
            } else if let Some((mode, want)) = ["=> ", "=>~ ", "=>! "]
                .iter()
                .find_map(|m| line.strip_prefix(m).map(|w| (m.trim(), w)))
            {
                let expr = match parse(q) {
                    Ok(e) => e,
                    Err(e) => {
                        failures.push(format!("{at}\n  want {want}\n  got error {e}"));
                        continue;
                    }
                };
                let printed = expr.to_string();
                if printed != want {
                    failures.push(format!("{at}\n  want {want}\n  got  {printed}"));
                    continue;
                }
                if mode == "=>!" {
                    continue;
                }
                match parse(&printed) {
                    Ok(again)
                        if again == expr || (mode == "=>~" && again.to_string() == printed) => {}
                    Ok(again) => failures.push(format!("{at}\n  round trip: {again}")),
                    Err(e) => failures.push(format!("{at}\n  print does not parse: {e}")),
                }
            } else {
                failures.push(format!("{name}:{}: expected =>, =>~, =>! or !!", n + 1));
            }
        }
        if let Some((n, _)) = query {
            failures.push(format!("{name}:{n}: query without expectation"));
        }
    }
    eprintln!("{total} cases");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
