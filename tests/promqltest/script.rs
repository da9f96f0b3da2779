//! Parsing of upstream promqltest scripts (`promql/promqltest/README.md`): commands, series
//! notation with its expansions, durations and expected results.

pub use bongsu_rules::unittest::series::{number, parse_values, Step};

/// A series descriptor: labels as sorted (name, value) pairs, `__name__` included.
pub type SeriesLabels = Vec<(String, String)>;

#[derive(Debug, Clone)]
pub enum Expected {
    /// `<labels> <value>` lines (for range queries `<labels> <values...>`).
    Series(Vec<(SeriesLabels, Vec<Step>)>),
    Scalar(f64),
    String(String),
}

#[derive(Debug, Clone)]
pub enum Eval {
    Instant { t: i64 },
    Range { start: i64, end: i64, step: i64 },
}

#[derive(Debug, Clone)]
pub struct EvalCmd {
    pub line: usize,
    pub expr: String,
    pub kind: Eval,
    pub fail: Option<FailMatch>,
    pub ordered: bool,
    /// `expect range vector from A to B step S`: an instant query yielding a matrix.
    pub range_vector: Option<(i64, i64, i64)>,
    pub expected: Expected,
    /// An expected histogram the notation parser refused (the eval is skipped, counted).
    pub unreadable: bool,
    pub warn: Annotations,
    pub info: Annotations,
}

/// What an eval expects of one kind of annotation (warnings or infos).
#[derive(Debug, Clone, Default)]
pub struct Annotations {
    /// `expect warn` / `expect info` lines (a bare one matches any message).
    pub expected: Vec<FailMatch>,
    /// `expect no_warn` / `expect no_info`.
    pub none: bool,
    /// Legacy `eval_warn` / `eval_info`: at least one.
    pub some: bool,
}

#[derive(Debug, Clone)]
pub enum FailMatch {
    Any,
    Msg(String),
    Regex(String),
}

#[derive(Debug, Clone)]
pub enum Command {
    Load {
        step: i64,
        series: Vec<(SeriesLabels, Vec<Step>)>,
        /// `load_with_nhcb`: classic histograms are also stored as native histograms with
        /// custom buckets.
        nhcb: bool,
        /// Series this runner cannot load (start timestamps), with the reason.
        unsupported: Vec<(SeriesLabels, &'static str)>,
    },
    Clear,
    Eval(Box<EvalCmd>),
}

/// Parses a Prometheus duration (`1h5m`, `10s53ms`, `0`), optionally negative, into ms.
pub fn parse_duration(s: &str) -> Result<i64, String> {
    let (neg, body) = match s.strip_prefix('-') {
        Some(rest) => (true, rest),
        None => (false, s),
    };
    if body == "0" {
        return Ok(0);
    }
    let mut total = 0i64;
    let mut rest = body;
    if rest.is_empty() {
        return Err(format!("bad duration {s:?}"));
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return Err(format!("bad duration {s:?}"));
        }
        let n: i64 = rest[..digits]
            .parse()
            .map_err(|_| format!("bad duration {s:?}"))?;
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit())
            .unwrap_or(rest.len());
        let mult = match &rest[..unit_len] {
            "ms" => 1,
            "s" => 1000,
            "m" => 60_000,
            "h" => 3_600_000,
            "d" => 86_400_000,
            "w" => 7 * 86_400_000,
            "y" => 365 * 86_400_000,
            u => return Err(format!("bad duration unit {u:?} in {s:?}")),
        };
        rest = &rest[unit_len..];
        total += n * mult;
    }
    Ok(if neg { -total } else { total })
}

/// Reads a possibly quoted label name or value; returns it and the rest of the input.
fn read_string(s: &str) -> Result<(String, &str), String> {
    let s = s.trim_start();
    let Some(q) = s.chars().next().filter(|c| matches!(c, '"' | '\'' | '`')) else {
        let end = s
            .find(|c: char| !(c.is_alphanumeric() || c == '_' || c == ':' || c == '.'))
            .unwrap_or(s.len());
        return Ok((s[..end].to_string(), &s[end..]));
    };
    let mut out = String::new();
    let mut chars = s[1..].char_indices();
    while let Some((i, c)) = chars.next() {
        if c == q {
            return Ok((out, &s[1 + i + 1..]));
        }
        if c == '\\' && q != '`' {
            match chars.next() {
                Some((_, 'n')) => out.push('\n'),
                Some((_, 't')) => out.push('\t'),
                Some((_, c)) => out.push(c),
                None => break,
            }
        } else {
            out.push(c);
        }
    }
    Err(format!("unterminated string in {s:?}"))
}

/// Parses `name{l="v",...}` (either part optional) at the start of `s`; returns the labels and
/// the remaining text.
pub fn parse_series(s: &str) -> Result<(SeriesLabels, &str), String> {
    let s = s.trim_start();
    let mut labels = Vec::new();
    let (name, mut rest) = if s.starts_with('{') {
        (String::new(), s)
    } else {
        read_string(s)?
    };
    if !name.is_empty() {
        labels.push(("__name__".to_string(), name));
    }
    if let Some(inner) = rest.strip_prefix('{') {
        rest = inner;
        loop {
            rest = rest.trim_start();
            if let Some(r) = rest.strip_prefix('}') {
                rest = r;
                break;
            }
            let (n, r) = read_string(rest)?;
            let r = r.trim_start();
            if let Some(r) = r.strip_prefix('=') {
                let (v, r) = read_string(r)?;
                labels.push((n, v));
                rest = r.trim_start();
            } else {
                // A lone quoted string in braces is the metric name.
                labels.push(("__name__".to_string(), n));
                rest = r;
            }
            rest = rest.strip_prefix(',').unwrap_or(rest);
        }
    }
    labels.sort();
    Ok((labels, rest))
}

/// A command line ends the previous command's block even without a blank line between.
fn is_command(line: &str) -> bool {
    let word = line.split_whitespace().next().unwrap_or("");
    word == "clear" || word.starts_with("eval") || word.starts_with("load")
}

/// Parses a whole script into commands, each tagged with its 1-based line.
pub fn parse_script(text: &str) -> Result<Vec<Command>, String> {
    let lines: Vec<&str> = text.lines().collect();
    let mut cmds = Vec::new();
    let mut i = 0;
    while i < lines.len() {
        let line = lines[i].trim();
        let lineno = i + 1;
        i += 1;
        if line.trim().is_empty() || line.trim_start().starts_with('#') {
            continue;
        }
        // The command's block: following lines up to a blank one.
        let mut block = Vec::new();
        while i < lines.len() && !lines[i].trim().is_empty() && !is_command(lines[i]) {
            if !lines[i].trim_start().starts_with('#') {
                block.push(lines[i].trim());
            }
            i += 1;
        }
        let err = |e: String| format!("line {lineno}: {e}");
        let (word, rest) = line.split_once(' ').unwrap_or((line, ""));
        match word {
            "clear" => cmds.push(Command::Clear),
            "load" | "load_with_nhcb" => {
                let rest = rest.trim();
                let step_s = rest.split_whitespace().next().unwrap_or("");
                let step = parse_duration(step_s).map_err(err)?;
                let mut series = Vec::new();
                let mut unsupported = Vec::new();
                for l in block {
                    let (labels, vals) = parse_series(l).map_err(err)?;
                    if vals.trim_start().starts_with("@st") {
                        unsupported.push((labels, "start timestamps"));
                    } else {
                        // A series given twice in one load takes its later values, as upstream.
                        let values = match parse_values(vals) {
                            Ok(v) => v,
                            // Histograms this build cannot read yet.
                            Err(_) if vals.contains("{{") => {
                                unsupported.push((labels, "native histograms"));
                                continue;
                            }
                            Err(e) => return Err(err(e)),
                        };
                        series.retain(|(l, _)| *l != labels);
                        series.push((labels, values));
                    }
                }
                cmds.push(Command::Load {
                    step,
                    series,
                    nhcb: word == "load_with_nhcb",
                    unsupported,
                });
            }
            w if w.starts_with("eval") => {
                let cmd = parse_eval(lineno, w, rest, &block).map_err(err)?;
                cmds.push(Command::Eval(Box::new(cmd)));
            }
            other => return Err(err(format!("unknown command {other:?}"))),
        }
    }
    Ok(cmds)
}

fn parse_eval(line: usize, word: &str, rest: &str, block: &[&str]) -> Result<EvalCmd, String> {
    let mut fail = (word == "eval_fail").then_some(FailMatch::Any);
    let mut ordered = word == "eval_ordered";
    let mut warn = Annotations {
        some: word == "eval_warn",
        ..Annotations::default()
    };
    let mut info = Annotations {
        some: word == "eval_info",
        ..Annotations::default()
    };
    let words: Vec<&str> = rest.split_whitespace().collect();
    let (kind, expr) = match words.as_slice() {
        ["instant", "at", t, ..] => {
            let skip = rest.find(t).map(|p| p + t.len()).unwrap_or(rest.len());
            (
                Eval::Instant {
                    t: parse_duration(t)?,
                },
                rest[skip..].trim(),
            )
        }
        ["range", "from", a, "to", b, "step", s, ..] => {
            let skip = rest.find(" step ").map(|p| p + 6).unwrap_or(rest.len());
            let after = rest[skip..].trim_start();
            let expr = after.get(s.len()..).unwrap_or("").trim();
            (
                Eval::Range {
                    start: parse_duration(a)?,
                    end: parse_duration(b)?,
                    step: parse_duration(s)?,
                },
                expr,
            )
        }
        _ => return Err(format!("bad eval {rest:?}")),
    };
    let mut range_vector = None;
    let mut scalar = None;
    let mut string = None;
    let mut series = Vec::new();
    let mut unreadable = false;
    for l in block {
        if let Some(e) = l.strip_prefix("expect ") {
            let e = e.trim();
            let (kind, rest) = e.split_once(char::is_whitespace).unwrap_or((e, ""));
            let matcher = || {
                let rest = rest.trim();
                if let Some(m) = rest.strip_prefix("msg:") {
                    FailMatch::Msg(m.trim().to_string())
                } else if let Some(r) = rest.strip_prefix("regex:") {
                    FailMatch::Regex(r.trim().to_string())
                } else {
                    FailMatch::Any
                }
            };
            if kind == "fail" {
                fail = Some(matcher());
            } else if kind == "warn" {
                warn.expected.push(matcher());
            } else if kind == "info" {
                info.expected.push(matcher());
            } else if kind == "no_warn" {
                warn.none = true;
            } else if kind == "no_info" {
                info.none = true;
            } else if e == "ordered" {
                ordered = true;
            } else if let Some(r) = e.strip_prefix("range vector from ") {
                let w: Vec<&str> = r.split_whitespace().collect();
                let [a, "to", b, "step", s] = w.as_slice() else {
                    return Err(format!("bad expect range vector {e:?}"));
                };
                range_vector = Some((parse_duration(a)?, parse_duration(b)?, parse_duration(s)?));
            } else if let Some(s) = e.strip_prefix("string ") {
                string = Some(read_string(s.trim())?.0);
            }
            continue;
        }
        if l.starts_with('{') || l.starts_with(|c: char| c.is_alphabetic() || c == '_' || c == '"')
        {
            // A bare `NaN` / `Inf` is a scalar, not a metric name.
            if !l.contains(' ') && number(l).is_ok() {
                scalar = Some(number(l)?);
                continue;
            }
            let (labels, vals) = parse_series(l)?;
            match parse_values(vals) {
                Ok(v) => series.push((labels, v)),
                // Histograms this build cannot read yet: the eval is skipped.
                Err(_) if vals.contains("{{") => unreadable = true,
                Err(e) => return Err(e),
            }
        } else {
            scalar = Some(number(l.trim())?);
        }
    }
    let expected = if let Some(s) = string {
        Expected::String(s)
    } else if let Some(v) = scalar {
        Expected::Scalar(v)
    } else {
        Expected::Series(series)
    };
    Ok(EvalCmd {
        line,
        expr: expr.to_string(),
        kind,
        fail,
        ordered,
        range_vector,
        expected,
        unreadable,
        warn,
        info,
    })
}
