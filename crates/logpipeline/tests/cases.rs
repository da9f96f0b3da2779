//! Runs the case files under `tests/data/*.cases`: stage specs + an input line + stream
//! labels ⇒ the output line and labels, or `dropped`, or a sample value.
//!
//! A case starts with `=== name`; then, one per line (`#` starts a comment line):
//! - `labels: {a="b", c="d"}` stream labels, `metadata: {k="v"}` structured metadata,
//!   `ts: <unix ns>`;
//! - `stage: <spec>` in order (see [`stage`] for the mini syntax, a LogQL look-alike);
//! - `sample: count|bytes|unwrap [duration|bytes] NAME` and `post: <label filter>` for
//!   metric extraction;
//! - `line: <rest of the line>` (or `line-q: "Go-quoted"` for escapes);
//! - `want: dropped`, or `want-line: …`/`want-line-q: "…"`, `want-labels: {…}` (Loki's
//!   `labels.String()` form), `want-sample: <float>`, `want-error: <constructor error>`.

use std::fs;
use std::path::Path;

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
use bongsu_logpipeline::units::{parse_bytes, parse_duration};
use bongsu_logpipeline::{
    Conversion, Extract, LabelsBuilder, Pipeline, SampleExtractor, Stage, StageError, Unwrap,
};
use bongsu_model::{Label, Labels, MatchOp, Matcher};

/// Splits a spec into words and quoted strings (`"…"` with Go escapes, `` `…` `` raw).
fn tokens(s: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    while let Some(&c) = chars.peek() {
        if c.is_whitespace() {
            chars.next();
        } else if c == '"' || c == '`' {
            chars.next();
            let mut t = String::new();
            while let Some(d) = chars.next() {
                if d == c {
                    break;
                }
                if d == '\\' && c == '"' {
                    match chars.next() {
                        Some('n') => t.push('\n'),
                        Some('t') => t.push('\t'),
                        Some('e') => t.push('\u{1b}'),
                        Some(o) => t.push(o),
                        None => {}
                    }
                } else {
                    t.push(d);
                }
            }
            out.push(format!("\u{0}{t}"));
        } else {
            let mut t = String::new();
            while let Some(&d) = chars.peek() {
                if d.is_whitespace() || d == '"' || d == '`' {
                    break;
                }
                t.push(d);
                chars.next();
            }
            out.push(t);
        }
    }
    out
}

/// A quoted token's text (quoted tokens are marked with a leading NUL by [`tokens`]).
fn unquote(t: &str) -> Option<&str> {
    t.strip_prefix('\u{0}')
}

fn quoted(t: &str) -> String {
    unquote(t).unwrap_or(t).to_string()
}

/// `a="b"`, `a=b`, `a=~"b"` words: name, operator, value (the value token follows a
/// trailing operator when quoted).
fn assignments(toks: &[String]) -> Vec<(String, String, String, bool)> {
    // Commas between entries are optional.
    let toks: Vec<String> = toks
        .iter()
        .filter(|t| t.as_str() != ",")
        .map(|t| match unquote(t) {
            Some(_) => t.clone(),
            None => t.trim_end_matches(',').to_string(),
        })
        .collect();
    let mut out = Vec::new();
    let mut i = 0;
    while i < toks.len() {
        let t = &toks[i];
        let ops = ["=~", "!~", "!=", "="];
        let (name, op, rest) = ops
            .iter()
            .find_map(|op| t.find(op).map(|p| (&t[..p], *op, &t[p + op.len()..])))
            .unwrap_or((t.as_str(), "", ""));
        if !op.is_empty() && rest.is_empty() && i + 1 < toks.len() {
            out.push((name.into(), op.into(), quoted(&toks[i + 1]), true));
            i += 2;
        } else {
            out.push((name.into(), op.into(), rest.into(), false));
            i += 1;
        }
    }
    out
}

fn match_op(op: &str) -> MatchOp {
    match op {
        "=" | "==" => MatchOp::Equal,
        "!=" => MatchOp::NotEqual,
        "=~" => MatchOp::Regex,
        "!~" => MatchOp::NotRegex,
        o => panic!("bad match op {o}"),
    }
}

/// `name op value [and|or name op value]…`, left to right.
fn label_filter(toks: &[String]) -> Result<LabelFilter, StageError> {
    let one = |t: &[String]| -> Result<LabelFilter, StageError> {
        let (name, op) = (t[0].as_str(), t[1].as_str());
        if t[2] == "ip" {
            return LabelFilter::ip(name, op == "!=", &quoted(&t[3]));
        }
        if let Some(v) = unquote(&t[2]) {
            return LabelFilter::string(name, match_op(op), v);
        }
        let cmp = match op {
            "==" | "=" => CmpOp::Eq,
            "!=" => CmpOp::Ne,
            ">" => CmpOp::Gt,
            ">=" => CmpOp::Ge,
            "<" => CmpOp::Lt,
            "<=" => CmpOp::Le,
            o => panic!("bad cmp op {o}"),
        };
        let v = &t[2];
        Ok(if let Ok(n) = v.parse::<f64>() {
            LabelFilter::number(name, cmp, n)
        } else if let Ok(d) = parse_duration(v) {
            LabelFilter::duration(name, cmp, d)
        } else {
            LabelFilter::bytes(name, cmp, parse_bytes(v).expect("bytes literal"))
        })
    };
    let width = |t: &[String]| if t[2] == "ip" { 4 } else { 3 };
    let w = width(toks);
    let mut f = one(&toks[..w])?;
    let mut rest = &toks[w..];
    while !rest.is_empty() {
        let w = width(&rest[1..]);
        let right = one(&rest[1..=w])?;
        f = match rest[0].as_str() {
            "and" | "," => LabelFilter::and(f, right),
            "or" => LabelFilter::or(f, right),
            o => panic!("bad label filter joiner {o}"),
        };
        rest = &rest[w + 1..];
    }
    Ok(f)
}

fn selectors(toks: &[String]) -> Vec<LabelSelector> {
    assignments(toks)
        .into_iter()
        .map(|(name, op, value, _)| {
            if op.is_empty() {
                LabelSelector::Name(name)
            } else {
                LabelSelector::Matcher(Matcher::new(match_op(&op), &name, &value).unwrap())
            }
        })
        .collect()
}

/// One `stage:` spec.
fn stage(spec: &str) -> Result<Stage, StageError> {
    let toks = tokens(spec);
    let args = &toks[1..];
    let flags = |f: &str| args.iter().any(|a| a == f);
    let exprs = || {
        assignments(args)
            .into_iter()
            .filter(|(n, _, _, _)| !n.starts_with("--"))
            // A bare name extracts the key of that name.
            .map(|(n, op, v, _)| {
                if op.is_empty() {
                    (n.clone(), n)
                } else {
                    (n, v)
                }
            })
            .collect::<Vec<_>>()
    };
    Ok(match toks[0].as_str() {
        "json" if args.is_empty() => Stage::Json(JsonParser::new()),
        "json" => {
            let e = exprs();
            let e: Vec<(&str, &str)> = e.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
            Stage::JsonExpr(JsonExprParser::new(&e)?)
        }
        "logfmt" => {
            let e = exprs();
            if e.is_empty() {
                Stage::Logfmt(LogfmtParser::new(flags("--strict"), flags("--keep-empty")))
            } else {
                let e: Vec<(&str, &str)> =
                    e.iter().map(|(a, b)| (a.as_str(), b.as_str())).collect();
                Stage::Logfmt(LogfmtParser::with_expressions(flags("--strict"), &e)?)
            }
        }
        "regexp" => Stage::Regexp(RegexpParser::new(&quoted(&args[0]))?),
        "pattern" => Stage::Pattern(PatternParser::new(&quoted(&args[0]))?),
        "unpack" => Stage::Unpack(UnpackParser::new()),
        "decolorize" => Stage::Decolorize(Decolorize::new()?),
        "line" => {
            let ty = match args[0].as_str() {
                "|=" => LineMatchType::Contains,
                "!=" => LineMatchType::NotContains,
                "|~" => LineMatchType::Regex,
                "!~" => LineMatchType::NotRegex,
                "|>" => LineMatchType::Pattern,
                "!>" => LineMatchType::NotPattern,
                o => panic!("bad line filter op {o}"),
            };
            let negated = matches!(
                ty,
                LineMatchType::NotContains | LineMatchType::NotRegex | LineMatchType::NotPattern
            );
            let mut alternatives = Vec::new();
            let mut rest = &args[1..];
            while !rest.is_empty() {
                if rest[0] == "or" {
                    rest = &rest[1..];
                    continue;
                }
                if rest[0] == "ip" {
                    alternatives.push(LineFilter::ip(&quoted(&rest[1]))?);
                    rest = &rest[2..];
                    continue;
                }
                let positive = match ty {
                    LineMatchType::NotContains => LineMatchType::Contains,
                    LineMatchType::NotRegex => LineMatchType::Regex,
                    LineMatchType::NotPattern => LineMatchType::Pattern,
                    t => t,
                };
                alternatives.push(LineFilter::new(positive, &quoted(&rest[0]))?);
                rest = &rest[1..];
            }
            let f = if alternatives.len() == 1 {
                alternatives.remove(0)
            } else {
                LineFilter::or(alternatives)
            };
            Stage::LineFilter(if negated { f.negate() } else { f })
        }
        "label" => Stage::LabelFilter(label_filter(args)?),
        "line_format" => Stage::LineFormat(Box::new(LineFormat::new(&quoted(&args[0]))?)),
        "label_format" => {
            let a = assignments(args);
            let e: Vec<(&str, &str, bool)> = a
                .iter()
                .map(|(n, _, v, q)| (n.as_str(), v.as_str(), !q))
                .collect();
            Stage::LabelFormat(Box::new(LabelFormat::new(&e)?))
        }
        "drop" => Stage::Drop(DropLabels::new(selectors(args))),
        "keep" => Stage::Keep(KeepLabels::new(selectors(args))),
        other => panic!("unknown stage {other}"),
    })
}

/// `{a="b", c="d"}` (values Go-quoted).
fn parse_labels(s: &str) -> Vec<(String, String)> {
    let inner = s.trim().trim_start_matches('{').trim_end_matches('}');
    let toks = tokens(&inner.replace(", ", " ").replace("=\"", "= \""));
    assignments(&toks)
        .into_iter()
        .map(|(n, _, v, _)| (n, v))
        .collect()
}

#[derive(Default)]
struct Case {
    name: String,
    file: String,
    labels: Vec<(String, String)>,
    metadata: Vec<(String, String)>,
    ts: i64,
    stages: Vec<String>,
    sample: Option<String>,
    post: Vec<String>,
    line: String,
    want: Vec<(String, String)>,
}

fn unquote_line(v: &str) -> String {
    quoted(&tokens(v)[0])
}

fn run(case: &Case) -> Result<(), String> {
    let built: Result<Vec<Stage>, StageError> = case.stages.iter().map(|s| stage(s)).collect();
    let want = |k: &str| {
        case.want
            .iter()
            .find(|(w, _)| w == k)
            .map(|(_, v)| v.clone())
    };
    let stages = match built {
        Ok(s) => s,
        Err(e) => {
            return match want("want-error") {
                Some(w) if w == e.to_string() => Ok(()),
                w => Err(format!("stage error {e:?} (`{e}`), want {w:?}")),
            }
        }
    };
    if let Some(w) = want("want-error") {
        return Err(format!("stages built, want error {w:?}"));
    }
    let labels = Labels::new(
        case.labels
            .iter()
            .map(|(n, v)| Label::new(n.as_str(), v.as_str()))
            .collect(),
    )
    .map_err(|e| e.to_string())?;
    let mut lb = LabelsBuilder::new(labels);
    let pipeline = Pipeline::new(stages);
    let (line_out, sample) = if let Some(spec) = &case.sample {
        let t = tokens(spec);
        let extract = match t[0].as_str() {
            "count" => Extract::Count,
            "bytes" => Extract::Bytes,
            "unwrap" => {
                let (conv, name) = match t[1].as_str() {
                    "duration" => (Conversion::Duration, &t[2]),
                    "bytes" => (Conversion::Bytes, &t[2]),
                    _ => (Conversion::Float, &t[1]),
                };
                let post = case
                    .post
                    .iter()
                    .map(|p| label_filter(&tokens(p)))
                    .collect::<Result<_, _>>()
                    .map_err(|e| e.to_string())?;
                Extract::Unwrap(Unwrap::new(name, conv, post))
            }
            o => panic!("bad sample {o}"),
        };
        let mut ex = SampleExtractor::new(pipeline, extract);
        let s = ex.process(case.ts, case.line.as_bytes(), &case.metadata, &mut lb);
        (None, s.map(|v| v.to_string()))
    } else {
        let mut p = pipeline;
        let out = p
            .process(case.ts, case.line.as_bytes(), &case.metadata, &mut lb)
            .map(|l| String::from_utf8_lossy(l).into_owned());
        let dropped = out.is_none();
        (out, (!dropped).then(String::new))
    };
    if want("want").as_deref() == Some("dropped") {
        return match sample {
            None => Ok(()),
            Some(_) => Err(format!("kept (line {line_out:?}), want dropped")),
        };
    }
    if sample.is_none() {
        return Err("dropped".into());
    }
    let mut errs = Vec::new();
    if let Some(w) = want("want-line") {
        if line_out.as_deref() != Some(w.as_str()) {
            errs.push(format!("line {line_out:?}, want {w:?}"));
        }
    }
    if let Some(w) = want("want-sample") {
        if sample.as_deref() != Some(w.as_str()) {
            errs.push(format!("sample {sample:?}, want {w:?}"));
        }
    }
    if let Some(w) = want("want-labels") {
        let got = lb.result().to_string();
        if got != w {
            errs.push(format!("labels\n   got {got}\n  want {w}"));
        }
    }
    if errs.is_empty() {
        Ok(())
    } else {
        Err(errs.join("\n"))
    }
}

fn load(path: &Path) -> Vec<Case> {
    let text = fs::read_to_string(path).expect("case file");
    let file = path.file_name().unwrap().to_string_lossy().to_string();
    let mut cases: Vec<Case> = Vec::new();
    for raw in text.lines() {
        if raw.trim_start().starts_with('#') || raw.trim().is_empty() {
            continue;
        }
        if let Some(name) = raw.strip_prefix("=== ") {
            cases.push(Case {
                name: name.to_string(),
                file: file.clone(),
                ..Case::default()
            });
            continue;
        }
        let c = cases.last_mut().expect("a case starts with ===");
        let (key, value) = raw
            .split_once(": ")
            .unwrap_or((raw.trim_end_matches(':'), ""));
        match key {
            "labels" => c.labels = parse_labels(value),
            "metadata" => c.metadata = parse_labels(value),
            "ts" => c.ts = value.parse().expect("ts"),
            "stage" => c.stages.push(value.to_string()),
            "sample" => c.sample = Some(value.to_string()),
            "post" => c.post.push(value.to_string()),
            "line" => c.line = value.to_string(),
            "line-q" => c.line = unquote_line(value),
            "want-line-q" => c.want.push(("want-line".into(), unquote_line(value))),
            k if k.starts_with("want") => c.want.push((k.to_string(), value.to_string())),
            k => panic!("{file}: unknown key {k:?}"),
        }
    }
    cases
}

#[test]
fn case_files() {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/data");
    let mut paths: Vec<_> = fs::read_dir(&dir)
        .expect("tests/data")
        .map(|e| e.expect("entry").path())
        .filter(|p| p.extension().is_some_and(|e| e == "cases"))
        .collect();
    paths.sort();
    let mut failures = Vec::new();
    let mut count = 0;
    for path in paths {
        for case in load(&path) {
            count += 1;
            if let Err(e) = run(&case) {
                failures.push(format!("{} / {}:\n  {e}", case.file, case.name));
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
