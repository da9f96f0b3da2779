//! `bongsu check rules`: promtool's `check rules`, with its output, lint and exit codes; for
//! files of LogQL rules (`--backend=loki`, cortextool's flag) the same report with LogQL's
//! checks.

use std::io::Write;
use std::path::PathBuf;

use bongsu_relabel::NameValidationScheme;

use super::file::{parse_file_as, QueryLang, RuleGroups};
use super::template::TemplateExpander;

/// Exit code when a file has errors.
pub const EXIT_FAILURE: u8 = 1;
/// Exit code when only lint problems were found and `--lint-fatal` is set.
pub const EXIT_LINT: u8 = 3;

/// Settings of one `check rules` run.
pub struct CheckOptions<'a> {
    /// Report rules with the same name and labels (`--lint=duplicate-rules`, the default).
    pub lint_duplicates: bool,
    /// Lint problems fail the run (`--lint-fatal`).
    pub lint_fatal: bool,
    pub scheme: NameValidationScheme,
    pub templates: &'a dyn TemplateExpander,
    /// The files' expression language.
    pub lang: QueryLang,
}

/// Checks every file, writing promtool's report (`Checking F`, `SUCCESS: N rules found` or
/// `FAILED:` and the errors); returns the exit code. Write errors on the report are ignored,
/// as promtool ignores them.
pub fn check_rule_files(
    files: &[PathBuf],
    opts: &CheckOptions<'_>,
    out: &mut dyn Write,
    err: &mut dyn Write,
) -> u8 {
    let mut failed = false;
    let mut has_errors = false;
    for f in files {
        let _ = writeln!(out, "Checking {}", f.display());
        let groups = match parse_file_as(f, opts.lang, opts.scheme, opts.templates) {
            Ok(g) => g,
            Err(e) => {
                failed = true;
                has_errors = true;
                let _ = writeln!(err, "  FAILED:");
                for line in &e.0 {
                    let _ = writeln!(err, "{line}");
                }
                continue;
            }
        };
        let n: usize = groups.groups.iter().map(|g| g.rules.len()).sum();
        let dups = if opts.lint_duplicates {
            duplicate_rules(&groups)
        } else {
            Vec::new()
        };
        if dups.is_empty() {
            let _ = writeln!(out, "  SUCCESS: {n} rules found");
        } else {
            failed = true;
            let _ = writeln!(err, "  FAILED:");
            let _ = writeln!(err, "lint error {}", duplicates_message(&dups));
        }
        let _ = writeln!(out);
    }
    if failed && has_errors {
        EXIT_FAILURE
    } else if failed && opts.lint_fatal {
        EXIT_LINT
    } else {
        0
    }
}

type RuleKey = (String, Vec<(String, String)>);

/// Rules that share a name and labels (group labels, overridden by the rule's), each once,
/// sorted as promtool sorts them.
pub fn duplicate_rules(file: &RuleGroups) -> Vec<RuleKey> {
    let mut keys: Vec<RuleKey> = file
        .groups
        .iter()
        .flat_map(|g| {
            g.rules.iter().map(|r| {
                let mut labels = g.labels.clone();
                labels.extend(r.labels.iter().map(|(k, v)| (k.clone(), v.clone())));
                (r.name().to_string(), labels.into_iter().collect())
            })
        })
        .collect();
    keys.sort();
    let mut dups: Vec<RuleKey> = Vec::new();
    for pair in keys.windows(2) {
        if pair[0] == pair[1] && dups.last() != Some(&pair[1]) {
            dups.push(pair[1].clone());
        }
    }
    dups
}

fn duplicates_message(dups: &[RuleKey]) -> String {
    let mut m = format!("{} duplicate rule(s) found.\n", dups.len());
    for (metric, labels) in dups {
        m.push_str(&format!("Metric: {metric}\nLabel(s):\n"));
        for (k, v) in labels {
            m.push_str(&format!("\t{k}: {v}\n"));
        }
    }
    m.push_str("Might cause inconsistency while recording expressions");
    m
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::template::PromTemplates;

    fn run(texts: &[&str], fatal: bool) -> (u8, String, String) {
        run_as(texts, fatal, QueryLang::Promql)
    }

    fn run_as(texts: &[&str], fatal: bool, lang: QueryLang) -> (u8, String, String) {
        let dir = tempfile::tempdir().unwrap();
        let files: Vec<PathBuf> = texts
            .iter()
            .enumerate()
            .map(|(i, t)| {
                let p = dir.path().join(format!("{i}.yml"));
                std::fs::write(&p, t).unwrap();
                p
            })
            .collect();
        let (mut out, mut err) = (Vec::new(), Vec::new());
        let opts = CheckOptions {
            lint_duplicates: true,
            lint_fatal: fatal,
            scheme: NameValidationScheme::Utf8,
            templates: &PromTemplates::default(),
            lang,
        };
        let code = check_rule_files(&files, &opts, &mut out, &mut err);
        let dir_text = dir.path().display().to_string();
        let clean = |b: Vec<u8>| String::from_utf8(b).unwrap().replace(&dir_text, "D");
        (code, clean(out), clean(err))
    }

    #[test]
    fn promtool_output_and_exit_codes() {
        let good = "groups:\n- name: g\n  rules:\n  - record: a\n    expr: 1\n";
        assert_eq!(
            run(&[good], false),
            (
                0,
                "Checking D/0.yml\n  SUCCESS: 1 rules found\n\n".into(),
                String::new()
            )
        );
        let (code, _, err) = run(
            &[good, "groups:\n- name: g\n  rules:\n  - expr: 1\n"],
            false,
        );
        assert_eq!(code, 1);
        assert_eq!(
            err,
            "  FAILED:\nD/1.yml: 0:0: 0:0: group \"g\", rule 1, \"\": one of 'record' or 'alert' must be set\n"
        );
        let dup = "groups:\n- name: g\n  labels: {l: v}\n  rules:\n  - record: a\n    expr: 1\n  - record: a\n    expr: 2\n";
        let (code, _, err) = run(&[dup], false);
        assert_eq!(code, 0);
        assert_eq!(err, "  FAILED:\nlint error 1 duplicate rule(s) found.\nMetric: a\nLabel(s):\n\tl: v\nMight cause inconsistency while recording expressions\n");
        assert_eq!(run(&[dup], true).0, EXIT_LINT);
    }

    #[test]
    fn logql_files() {
        let good =
            "groups:\n- name: g\n  rules:\n  - record: a\n    expr: sum(rate({job=\"x\"}[1m]))\n";
        assert_eq!(
            run_as(&[good], false, QueryLang::Logql),
            (
                0,
                "Checking D/0.yml\n  SUCCESS: 1 rules found\n\n".into(),
                String::new()
            )
        );
        // Loki's parse error with its position in the expression; a log query is refused.
        let bad = "groups:\n- name: g\n  rules:\n  - alert: A\n    expr: count_over_time({job=\"x\"} |= [1m]) > 0\n  - record: b\n    expr: '{job=\"x\"}'\n";
        let (code, _, err) = run_as(&[bad], false, QueryLang::Logql);
        assert_eq!(code, EXIT_FAILURE);
        assert_eq!(
            err,
            "  FAILED:\nD/0.yml: 5:11: group \"g\", rule 1, \"A\": could not parse expression: parse error at line 0, col 30: syntax error: unexpected RANGE, expecting STRING or ip\n\
             D/0.yml: 7:11: group \"g\", rule 2, \"b\": could not parse expression: {job=\"x\"} is a log query; rules need a LogQL metric query (e.g. count_over_time({…}[5m]))\n"
        );
    }
}
