//! Grafana's LogQL editor grammar tests (`conformance/logql/lezer-expression.txt` in the
//! shared folder): every query the editor grammar accepts without an error node must parse,
//! print, and parse back to the same AST. Queries whose lezer tree holds an error node (`⚠`:
//! an unterminated string, a trailing comma, a bare duration) are ones Loki refuses too; the
//! runner checks we refuse them, and `tests/data/lexer.cases` pins the messages.
//!
//! Loki's stream-selector rule is not the editor's concern: queries such as `{label=""}`
//! parse with `parse_without_validation` and fail `parse` with Loki's message only.

use std::path::PathBuf;

use bongsu_logql::{parse, parse_without_validation, ERR_NO_SPECIFIC_MATCHER};

/// Accepted by the editor grammar, refused by Loki's checks, with Loki's message.
const LOKI_REFUSES: &[(&str, &str)] = &[(
    "Log query with regexp parser",
    "parse error : invalid regexp parser: at least one named capture must be supplied",
)];

/// Loki's printer rounds byte sizes (`20.2MB` prints as `20MB`): the round trip keeps the
/// text, not the value.
const LOSSY_PRINT: &[&str] = &["Log query with duration and bytes as floats"];

/// What `parse` (with validation) says beyond the matcher rule.
const VALIDATION_REFUSES: &[(&str, &str)] = &[(
    "Sort",
    "parse error : sort and sort_desc doesn't allow grouping by ",
)];

fn conformance_file() -> Option<PathBuf> {
    let rel = "conformance/logql/lezer-expression.txt";
    let manifest = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    // In CI `shared/` sits beside the checkout; on a developer machine at /work/shared.
    let candidates = [
        manifest.join("../../../shared").join(rel),
        PathBuf::from("/work/shared").join(rel),
    ];
    candidates.into_iter().find(|p| p.exists())
}

struct Case {
    title: String,
    query: String,
    lezer_error: bool,
}

fn cases(text: &str) -> Vec<Case> {
    let mut out = Vec::new();
    let mut lines = text.lines().peekable();
    while let Some(line) = lines.next() {
        let Some(title) = line.strip_prefix("# ") else {
            continue;
        };
        let mut query = Vec::new();
        for l in lines.by_ref() {
            if l.trim() == "==>" {
                break;
            }
            query.push(l);
        }
        let mut tree = String::new();
        while let Some(l) = lines.peek() {
            if l.starts_with("# ") {
                break;
            }
            tree.push_str(lines.next().unwrap_or_default());
        }
        out.push(Case {
            title: title.to_string(),
            query: query.join("\n").trim().to_string(),
            lezer_error: tree.contains('⚠'),
        });
    }
    out
}

#[test]
fn lezer_expressions() {
    let Some(path) = conformance_file() else {
        eprintln!("skipped: shared/conformance/logql/lezer-expression.txt not found");
        return;
    };
    let text = std::fs::read_to_string(&path).expect("readable conformance file");
    let cases = cases(&text);
    assert_eq!(cases.len(), 80, "case count in {}", path.display());
    let mut failures = Vec::new();
    let (mut accepted, mut validated, mut refused) = (0, 0, 0);
    for c in &cases {
        if c.lezer_error {
            match parse(&c.query) {
                Err(_) => refused += 1,
                Ok(e) => failures.push(format!("{}: Loki refuses, we accept as {e}", c.title)),
            }
            continue;
        }
        if let Some((_, want)) = LOKI_REFUSES.iter().find(|(t, _)| *t == c.title) {
            match parse_without_validation(&c.query) {
                Err(e) if e.to_string() == *want => refused += 1,
                other => failures.push(format!("{}: want {want}, got {other:?}", c.title)),
            }
            continue;
        }
        let expr = match parse_without_validation(&c.query) {
            Ok(e) => e,
            Err(e) => {
                failures.push(format!("{}: {e}\n    {}", c.title, c.query));
                continue;
            }
        };
        accepted += 1;
        match parse(&c.query) {
            Ok(_) => validated += 1,
            Err(e) if e.msg == ERR_NO_SPECIFIC_MATCHER => {}
            Err(e)
                if VALIDATION_REFUSES
                    .iter()
                    .any(|(t, m)| *t == c.title && e.to_string() == *m) => {}
            Err(e) => failures.push(format!("{}: validation: {e}", c.title)),
        }
        let printed = expr.to_string();
        match parse_without_validation(&printed) {
            Ok(again) if again == expr => {}
            Ok(again)
                if LOSSY_PRINT.contains(&c.title.as_str()) && again.to_string() == printed => {}
            Ok(again) => failures.push(format!(
                "{}: round trip differs\n    {printed}\n    {again}",
                c.title
            )),
            Err(e) => failures.push(format!(
                "{}: printed form fails: {e}\n    {printed}",
                c.title
            )),
        }
    }
    eprintln!(
        "lezer: {accepted} accepted ({validated} also pass Loki's validation), {refused} refused as Loki does, of {}",
        cases.len()
    );
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}
