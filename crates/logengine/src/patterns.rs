//! Log patterns (Loki's `/loki/api/v1/patterns`, Grafana Logs Drilldown's Patterns tab):
//! lines clustered into templates such as `<_> - <_> "GET <_> HTTP/1.1" 200 <_>`, each with
//! its count of lines per step.
//!
//! Loki mines patterns as lines arrive, in its pattern ingester, with the Drain algorithm
//! (He et al., "Drain: An Online Log Parsing Approach with Fixed Depth Tree", ICWS 2017); we
//! mine them when asked, over the newest [`PATTERN_LINE_LIMIT`] lines of the selected streams
//! in the range, with our own Drain of the same shape and parameters: one tree per stream and
//! level (`detected_level` metadata), lines tokenized by the stream's format (guessed from its
//! first line read: JSON lines by their message field, logfmt lines by pairs with time-like
//! values replaced, other lines at spaces and punctuation), a line joining the most similar
//! cluster of its token count and prefix when at least [`SIM_THRESHOLD`] of its tokens match.
//! Patterns of several streams are merged by text and level; those with fewer than
//! [`MIN_CLUSTER_SIZE`] lines are dropped and at most [`MAX_PATTERNS`] kept, largest first,
//! as Loki's querier does.
//!
//! Differences: patterns reflect only the lines mined for the request (Loki's span the
//! ingester's memory, at most 3 h back, then its persisted ones); a tree holds at most
//! [`MAX_CLUSTERS`] clusters and further unmatched lines are not counted (Loki evicts the
//! least recently used cluster); samples run from a pattern's first to its last step with
//! zeros between; non-ASCII punctuation does not split tokens (Go's `unicode.IsPunct` does).

use std::collections::{BTreeMap, HashMap};
use std::ops::ControlFlow;

use bongsu_logpipeline::parser::json_scan::{unescape, Kind, Members};
use bongsu_logpipeline::parser::logfmt;
use bongsu_logstore::{Direction, LogStore, ScanOptions};
use bongsu_model::Matcher;

use crate::QueryError;

/// Most lines mined for one request (the newest in range).
pub const PATTERN_LINE_LIMIT: usize = 50_000;
/// A line joins a cluster when at least this share of its tokens equal the cluster's.
pub const SIM_THRESHOLD: f64 = 0.3;
/// Tree depth (Loki's `LogClusterDepth`): the first `depth - 2` tokens route a line.
const CLUSTER_DEPTH: usize = 30;
const MAX_NODE_DEPTH: usize = CLUSTER_DEPTH - 2;
/// Children of a tree node before new tokens share a wildcard child.
const MAX_CHILDREN: usize = 15;
/// Clusters one tree holds.
pub const MAX_CLUSTERS: usize = 300;
/// Lines longer than this are not mined (Loki's `MaxAllowedLineLength`).
const MAX_LINE_LENGTH: usize = 3000;
/// Lines with fewer or more tokens are not mined.
const MIN_TOKENS: usize = 4;
const MAX_TOKENS: usize = 80;
/// The punctuation tokenizer stops after this many tokens.
const TOKENIZER_MAX_TOKENS: usize = 127;
/// Patterns seen on fewer lines are dropped (Loki's querier's `minClusterSize`).
pub const MIN_CLUSTER_SIZE: u64 = 30;
/// Most patterns returned (Loki's `maxPatterns`).
pub const MAX_PATTERNS: usize = 300;
/// The smallest step, and the resolution lines are counted at before steps (Loki's
/// `TimeResolution` / `SampleInterval`), in ns.
pub const PATTERN_RESOLUTION_NS: i64 = 10_000_000_000;
/// The wildcard token.
const PARAM: &str = "<_>";
/// JSON fields whose text is mined, the first present (Loki's default
/// `pattern_ingester_tokenizable_json_fields`).
const JSON_MESSAGE_FIELDS: [&str; 6] = ["log", "message", "msg", "msg_", "_msg", "content"];
/// Levels a tree may be kept under; others count as `unknown` (Loki's `constants.LogLevels`).
const LEVELS: [&str; 8] = [
    "unknown", "debug", "info", "warn", "error", "fatal", "critical", "trace",
];

/// One pattern of the answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PatternSeries {
    pub pattern: String,
    pub level: String,
    /// `(Unix seconds of the step's start, lines)`, every step from the first to the last.
    pub samples: Vec<(i64, u64)>,
}

/// How a stream's lines are cut into tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Logfmt,
    Plain,
}

impl Format {
    /// Loki's `DetectLogFormat` on a stream's first line.
    fn guess(line: &str) -> Format {
        if line.len() >= 2 && line.starts_with('{') && line.ends_with('}') {
            Format::Json
        } else if looks_logfmt(line) {
            Format::Logfmt
        } else {
            Format::Plain
        }
    }
}

/// Loki's logfmt heuristic: the line is `key=value` pairs (word keys; values bare without
/// spaces, or quoted) separated by single spaces.
fn looks_logfmt(line: &str) -> bool {
    let mut rest = line;
    loop {
        let Some(eq) = rest.find('=') else {
            return false;
        };
        let key = &rest[..eq];
        if key.is_empty() || !key.chars().all(|c| c.is_alphanumeric() || c == '_') {
            return false;
        }
        let value = &rest[eq + 1..];
        let end = if let Some(quoted) = value.strip_prefix('"') {
            match quoted.find('"') {
                Some(0) | None => return false,
                Some(q) => q + 2,
            }
        } else {
            let end = value.find(' ').unwrap_or(value.len());
            if end == 0 {
                return false;
            }
            end
        };
        match value[end..].strip_prefix(' ') {
            None if end == value.len() => return true,
            None => return false,
            Some(next) => rest = next,
        }
    }
}

/// A line's tokens and, for the punctuation tokenizer, the token indexes a space follows.
struct Tokens {
    tokens: Vec<String>,
    spaces_after: Vec<usize>,
}

/// Loki's punctuation tokenizer: letters, digits and `_ - . : /` make tokens; a space ends
/// one (and is remembered for printing); `=` and other ASCII punctuation end one and are a
/// token of their own.
fn tokenize_plain(line: &str) -> Option<Tokens> {
    if line.len() > MAX_LINE_LENGTH {
        return None;
    }
    let mut t = Tokens {
        tokens: Vec::new(),
        spaces_after: Vec::new(),
    };
    let mut start = 0;
    for (i, c) in line.char_indices() {
        if t.tokens.len() >= TOKENIZER_MAX_TOKENS {
            break;
        }
        if c.is_alphanumeric() || matches!(c, '_' | '-' | '.' | ':' | '/') {
            continue;
        }
        // Go's `unicode.IsPunct` in ASCII: punctuation, not symbols such as `+ $ < > | ~`.
        let punct = c.is_ascii_punctuation() && !"$+<=>^`|~".contains(c);
        if c == ' ' || c == '=' || punct {
            if i > start {
                t.tokens.push(line[start..i].to_string());
            }
            if c == ' ' {
                // A leading space has no token before it and is not printed back.
                if let Some(last) = t.tokens.len().checked_sub(1) {
                    t.spaces_after.push(last);
                }
            } else {
                t.tokens.push(c.to_string());
            }
            start = i + c.len_utf8();
        }
    }
    if start < line.len() && t.tokens.len() < TOKENIZER_MAX_TOKENS {
        t.tokens.push(line[start..].to_string());
    }
    Some(t)
}

/// Loki's logfmt tokenizer: key and value tokens in turn, time-like and trace id values
/// replaced by the wildcard.
fn tokenize_logfmt(line: &str) -> Option<Tokens> {
    if line.len() > MAX_LINE_LENGTH {
        return None;
    }
    let mut tokens = Vec::new();
    for (k, v) in logfmt::pairs(line.as_bytes())? {
        let variable = ["ts", "traceID", "time", "timestamp"]
            .iter()
            .any(|n| k.eq_ignore_ascii_case(n))
            || k == "t";
        tokens.push(k);
        tokens.push(if variable { PARAM.to_string() } else { v });
    }
    Some(Tokens {
        tokens,
        spaces_after: Vec::new(),
    })
}

/// Loki's JSON tokenizer: the first message field that is a string, tokenized as plain text.
fn tokenize_json(line: &str) -> Option<Tokens> {
    let mut found: [Option<&[u8]>; JSON_MESSAGE_FIELDS.len()] = Default::default();
    for member in Members::new(line.as_bytes()) {
        let Ok((key, value, kind)) = member else {
            break;
        };
        if let Some(i) = JSON_MESSAGE_FIELDS
            .iter()
            .position(|f| f.as_bytes() == &*key)
        {
            if kind == Kind::String && found[i].is_none() {
                found[i] = Some(value);
            }
        }
    }
    let raw = found.into_iter().flatten().next()?;
    let msg = unescape(raw)?;
    tokenize_plain(&String::from_utf8_lossy(&msg))
}

/// Joins a cluster's tokens back into text: the plain tokenizer's tokens with their spaces,
/// logfmt's as `key=value` pairs, JSON's between wildcards; runs of wildcards become one.
fn join(format: Format, tokens: &[String], spaces_after: &[usize]) -> String {
    let mut out = String::new();
    match format {
        Format::Plain | Format::Json => {
            if format == Format::Json {
                out.push_str(PARAM);
            }
            let mut spaces = spaces_after.iter().peekable();
            for (i, t) in tokens.iter().enumerate() {
                out.push_str(t);
                while spaces.next_if(|&&s| s == i).is_some() {
                    out.push(' ');
                }
            }
            if format == Format::Json {
                out.push_str(PARAM);
            }
        }
        Format::Logfmt => {
            for (i, pair) in tokens.chunks(2).enumerate() {
                if i > 0 {
                    out.push(' ');
                }
                out.push_str(&pair[0]);
                out.push('=');
                let v = pair.get(1).map_or("", String::as_str);
                // go-logfmt quotes values with spaces, `=`, quotes or control characters.
                if v.chars()
                    .any(|c| c <= ' ' || c == '=' || c == '"' || c == '\u{7f}')
                {
                    out.push_str(&format!("{v:?}"));
                } else {
                    out.push_str(v);
                }
            }
        }
    }
    let run = format!("{PARAM}{PARAM}");
    while out.contains(&run) {
        out = out.replace(&run, PARAM);
    }
    out
}

/// A cluster: its template and its lines per sample interval.
struct Cluster {
    tokens: Vec<String>,
    spaces_after: Vec<usize>,
    /// Lines per [`PATTERN_RESOLUTION_NS`]-aligned start, in ns.
    samples: BTreeMap<i64, u64>,
}

/// A node of the prefix tree: children by token, clusters at the leaves.
#[derive(Default)]
struct Node {
    children: HashMap<String, Node>,
    clusters: Vec<usize>,
}

/// One Drain tree: the clusters of one stream and level.
struct Drain {
    format: Format,
    root: Node,
    clusters: Vec<Cluster>,
}

impl Drain {
    fn new(format: Format) -> Drain {
        Drain {
            format,
            root: Node::default(),
            clusters: Vec::new(),
        }
    }

    /// Adds a line at `ts` (ns) to its cluster, creating one if none is similar enough.
    fn train(&mut self, line: &str, ts: i64) {
        let tokenized = match self.format {
            Format::Json => tokenize_json(line),
            Format::Logfmt => tokenize_logfmt(line),
            Format::Plain => tokenize_plain(line),
        };
        let Some(t) = tokenized else {
            return;
        };
        if t.tokens.len() < MIN_TOKENS || t.tokens.len() > MAX_TOKENS {
            return;
        }
        let bucket = ts - ts.rem_euclid(PATTERN_RESOLUTION_NS);
        let id = match self.search(&t.tokens) {
            Some(id) => {
                let c = &mut self.clusters[id];
                for (have, new) in c.tokens.iter_mut().zip(&t.tokens) {
                    if have != new {
                        *have = PARAM.to_string();
                    }
                }
                id
            }
            None if self.clusters.len() >= MAX_CLUSTERS => return,
            None => {
                self.clusters.push(Cluster {
                    tokens: t.tokens,
                    spaces_after: t.spaces_after,
                    samples: BTreeMap::new(),
                });
                let id = self.clusters.len() - 1;
                self.insert(id);
                id
            }
        };
        *self.clusters[id].samples.entry(bucket).or_default() += 1;
    }

    /// The leaf a line routes to: by token count, then its first tokens (or wildcards).
    fn search(&self, tokens: &[String]) -> Option<usize> {
        let mut node = self.root.children.get(&tokens.len().to_string())?;
        // Depth 1 is the token count's node; each of the first tokens goes one deeper.
        for (depth, t) in (1..).zip(tokens) {
            if depth >= MAX_NODE_DEPTH || depth == tokens.len() {
                break;
            }
            node = node.children.get(t).or_else(|| node.children.get(PARAM))?;
        }
        // The most similar cluster, more wildcards winning ties.
        let mut best: Option<(f64, usize, usize)> = None;
        for &id in &node.clusters {
            let c = &self.clusters[id];
            let params = c.tokens.iter().filter(|t| *t == PARAM).count();
            let same = c
                .tokens
                .iter()
                .zip(tokens)
                .filter(|(a, b)| *a != PARAM && a == b)
                .count();
            let sim = same as f64 / c.tokens.len() as f64;
            if best.is_none_or(|(s, p, _)| sim > s || (sim == s && params > p)) {
                best = Some((sim, params, id));
            }
        }
        best.filter(|(s, _, _)| *s >= SIM_THRESHOLD)
            .map(|(_, _, id)| id)
    }

    /// Adds cluster `id` to the tree; a token with digits, or one past the node's
    /// [`MAX_CHILDREN`], goes under the wildcard child.
    fn insert(&mut self, id: usize) {
        let tokens = &self.clusters[id].tokens;
        let count = tokens.len();
        let mut node = self.root.children.entry(count.to_string()).or_default();
        for (depth, t) in (1..).zip(tokens) {
            if depth >= MAX_NODE_DEPTH || depth >= count {
                break;
            }
            let key = if node.children.contains_key(t) {
                t.as_str()
            } else if t.chars().any(char::is_numeric) {
                PARAM
            } else if node.children.contains_key(PARAM) {
                if node.children.len() < MAX_CHILDREN {
                    t.as_str()
                } else {
                    PARAM
                }
            } else if node.children.len() + 1 < MAX_CHILDREN {
                t.as_str()
            } else {
                PARAM
            };
            node = node.children.entry(key.to_string()).or_default();
        }
        node.clusters.push(id);
    }
}

/// Loki's known level of a line's `detected_level`, or `unknown`.
fn level_of(detected: Option<&str>) -> &'static str {
    let lower = detected.map(str::to_ascii_lowercase);
    LEVELS
        .iter()
        .find(|l| lower.as_deref() == Some(**l))
        .copied()
        .unwrap_or(LEVELS[0])
}

/// The patterns of the streams matching `matchers` over `[start, end)` with their lines per
/// `step` (ns, at least [`PATTERN_RESOLUTION_NS`]), largest first.
pub fn patterns(
    store: &LogStore,
    matchers: &[Matcher],
    start: i64,
    end: i64,
    step: i64,
) -> Result<Vec<PatternSeries>, QueryError> {
    if end <= start {
        return Ok(Vec::new());
    }
    let step = step.max(PATTERN_RESOLUTION_NS);
    let sel = store.select(matchers, start, end - 1)?;
    let opts = ScanOptions {
        direction: Direction::Backward,
        limit: Some(PATTERN_LINE_LIMIT),
        needles: Vec::new(),
    };
    // Trees by stream and level; a stream's format is guessed from its first line read.
    let mut trees: HashMap<(u32, &'static str), Drain> = HashMap::new();
    let mut formats: HashMap<u32, Format> = HashMap::new();
    sel.scan(&opts, |stream, e| {
        let format = *formats
            .entry(stream.id)
            .or_insert_with(|| Format::guess(e.line));
        let level = level_of(
            e.metadata()
                .find(|(k, _)| *k == "detected_level")
                .map(|(_, v)| v),
        );
        trees
            .entry((stream.id, level))
            .or_insert_with(|| Drain::new(format))
            .train(e.line, e.ts);
        ControlFlow::Continue(())
    })?;
    // Merge by text and level, counting per step.
    let mut merged: HashMap<(String, &'static str), BTreeMap<i64, u64>> = HashMap::new();
    for ((_, level), tree) in &trees {
        for c in &tree.clusters {
            let text = join(tree.format, &c.tokens, &c.spaces_after);
            if text.is_empty() {
                continue;
            }
            let steps = merged.entry((text, level)).or_default();
            for (&t, &n) in &c.samples {
                *steps.entry(t - t.rem_euclid(step)).or_default() += n;
            }
        }
    }
    let mut out: Vec<(u64, PatternSeries)> = merged
        .into_iter()
        .map(|((pattern, level), steps)| {
            let total = steps.values().sum();
            let (first, last) = match (steps.keys().next(), steps.keys().next_back()) {
                (Some(&f), Some(&l)) => (f, l),
                _ => (0, -1),
            };
            let mut samples = Vec::new();
            let mut t = first;
            while t <= last {
                samples.push((t / 1_000_000_000, steps.get(&t).copied().unwrap_or(0)));
                t += step;
            }
            let level = level.to_string();
            (
                total,
                PatternSeries {
                    pattern,
                    level,
                    samples,
                },
            )
        })
        .filter(|(total, _)| *total >= MIN_CLUSTER_SIZE)
        .collect();
    out.sort_by(|a, b| {
        b.0.cmp(&a.0)
            .then_with(|| a.1.pattern.cmp(&b.1.pattern))
            .then_with(|| a.1.level.cmp(&b.1.level))
    });
    out.truncate(MAX_PATTERNS);
    Ok(out.into_iter().map(|(_, p)| p).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn plain(line: &str) -> Vec<String> {
        tokenize_plain(line).map(|t| t.tokens).unwrap_or_default()
    }

    #[test]
    fn tokenizers_as_lokis() {
        assert_eq!(
            plain(r#"GET /a/b?x=1 took 12.5ms"#),
            ["GET", "/a/b", "?", "x", "=", "1", "took", "12.5ms"]
        );
        let t = tokenize_plain("a  b").unwrap();
        assert_eq!((t.tokens.len(), &t.spaces_after[..]), (2, &[0, 0][..]));
        assert_eq!(join(Format::Plain, &t.tokens, &t.spaces_after), "a  b");
        let t = tokenize_logfmt(r#"ts=2024 level=info msg="a b""#).unwrap();
        assert_eq!(t.tokens, ["ts", PARAM, "level", "info", "msg", "a b"]);
        assert_eq!(
            join(Format::Logfmt, &t.tokens, &[]),
            r#"ts=<_> level=info msg="a b""#
        );
        let t = tokenize_json(r#"{"level":"x","msg":"user 7 logged in"}"#).unwrap();
        assert_eq!(
            join(Format::Json, &t.tokens, &t.spaces_after),
            "<_>user 7 logged in<_>"
        );
        assert!(tokenize_json(r#"{"level":"x"}"#).is_none());
        assert_eq!(Format::guess(r#"a=1 b="x y" c=z"#), Format::Logfmt);
        assert_eq!(Format::guess("a=1 b"), Format::Plain);
        assert_eq!(Format::guess(r#"{"a":1}"#), Format::Json);
    }

    #[test]
    fn similar_lines_share_a_template() {
        let mut d = Drain::new(Format::Plain);
        for i in 0..40 {
            d.train(
                &format!("user u{i} logged in from 10.0.0.{i}"),
                i * 1_000_000_000,
            );
        }
        d.train("disk full on /dev/sda1 now", 0);
        assert_eq!(d.clusters.len(), 2);
        let c = &d.clusters[0];
        assert_eq!(
            join(Format::Plain, &c.tokens, &c.spaces_after),
            "user <_> logged in from <_>"
        );
        assert_eq!(c.samples.values().sum::<u64>(), 40);
        assert_eq!(c.samples.len(), 4);
        assert_eq!(level_of(Some("WARN")), "warn");
        assert_eq!(level_of(Some("notice")), "unknown");
    }
}
