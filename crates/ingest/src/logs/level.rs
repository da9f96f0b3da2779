//! Loki's log level discovery (`discover_log_levels`, on by default;
//! `pkg/distributor/field_detection.go`): each line without a `detected_level` gets one as
//! structured metadata, from a level label of its stream, a level in its structured metadata,
//! the OTLP severity number, a `level`-like field of a JSON or logfmt line, or the first level
//! word in the line; `unknown` when there is none.
//!
//! Runs on every line, so it scans bytes in place: no lower-casing copy, no JSON tree.

use bongsu_model::log::LogEntry;

/// The structured metadata name Loki writes.
pub const DETECTED_LEVEL: &str = "detected_level";

/// Loki's `DefaultAllowedLevelFields`, in its order of preference.
const LEVEL_FIELDS: [&str; 14] = [
    "level",
    "LEVEL",
    "Level",
    "log.level",
    "severity",
    "SEVERITY",
    "Severity",
    "SeverityText",
    "lvl",
    "LVL",
    "Lvl",
    "severity_text",
    "Severity_Text",
    "SEVERITY_TEXT",
];

/// Depth of JSON objects searched for a level field (Loki's `log_level_from_json_max_depth`).
const JSON_MAX_DEPTH: usize = 2;

const UNKNOWN: &str = "unknown";

/// Level words searched in a line, in Loki's order (which breaks ties at one position).
const LEVEL_WORDS: [(&str, &str); 9] = [
    ("trace", "trace"),
    ("debug", "debug"),
    ("fatal", "fatal"),
    ("critical", "critical"),
    ("error", "error"),
    ("err", "error"),
    ("warning", "warn"),
    ("warn", "warn"),
    ("info", "info"),
];

/// The level a stream's labels give all its lines (a `level`-like label), found once per
/// stream rather than per line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StreamLevel(Option<String>);

impl StreamLevel {
    pub fn of(labels: &[(String, String)]) -> StreamLevel {
        StreamLevel(find_field(labels).map(normalized))
    }

    /// Loki's `extractLogLevel` on one entry of the stream.
    pub fn add_level(&self, entry: &mut LogEntry) {
        if let Some((_, v)) = entry.metadata.iter_mut().find(|(n, _)| n == DETECTED_LEVEL) {
            if let Some(level) = known_level(v.as_bytes()) {
                if v != level {
                    *v = level.to_string();
                }
            }
            return;
        }
        let level = match &self.0 {
            Some(level) => level.clone(),
            None => match find_field(&entry.metadata) {
                Some(v) => normalized(v),
                None => level_of_entry(entry).to_string(),
            },
        };
        if !level.is_empty() {
            entry.metadata.push((DETECTED_LEVEL.to_string(), level));
        }
    }
}

/// Loki's `normalizeLogLevel`: a known spelling in lower case, anything else as it is.
fn normalized(v: &str) -> String {
    known_level(v.as_bytes()).map_or_else(|| v.to_string(), str::to_string)
}

fn find_field(pairs: &[(String, String)]) -> Option<&str> {
    LEVEL_FIELDS
        .iter()
        .find_map(|f| pairs.iter().find(|(n, _)| n == f).map(|(_, v)| v.as_str()))
}

/// Loki's `normalizeLogLevel` for known spellings (case-insensitive).
fn known_level(v: &[u8]) -> Option<&'static str> {
    let is = |words: &[&str]| words.iter().any(|w| v.eq_ignore_ascii_case(w.as_bytes()));
    Some(if is(&["trace", "trc"]) {
        "trace"
    } else if is(&["debug", "dbg"]) {
        "debug"
    } else if is(&["info", "inf", "information"]) {
        "info"
    } else if is(&["warn", "wrn", "warning"]) {
        "warn"
    } else if is(&["error", "err"]) {
        "error"
    } else if is(&["critical"]) {
        "critical"
    } else if is(&["fatal"]) {
        "fatal"
    } else {
        return None;
    })
}

fn level_of_entry(entry: &LogEntry) -> &'static str {
    if let Some((_, n)) = entry.metadata.iter().find(|(n, _)| n == "severity_number") {
        return match n.parse::<i64>() {
            Err(_) => "info",
            Ok(0) => UNKNOWN,
            Ok(n) if n <= 4 => "trace",
            Ok(n) if n <= 8 => "debug",
            Ok(n) if n <= 12 => "info",
            Ok(n) if n <= 16 => "warn",
            Ok(n) if n <= 20 => "error",
            Ok(n) if n <= 24 => "fatal",
            Ok(_) => UNKNOWN,
        };
    }
    level_of_line(&entry.line)
}

/// Loki's `extractLogLevelFromLogLine`.
fn level_of_line(line: &str) -> &'static str {
    let trimmed = line.trim();
    let field = if trimmed.starts_with('{') && trimmed.ends_with('}') {
        json_level(trimmed.as_bytes(), 0)
    } else if line.contains('=') {
        logfmt_level(line.as_bytes())
    } else {
        None
    };
    field
        .and_then(known_level)
        .unwrap_or_else(|| level_word(line.as_bytes()))
}

/// Loki's `detectLevelFromLogLine`: the level word that starts first, between word bounds.
fn level_word(line: &[u8]) -> &'static str {
    let left = |b: u8| {
        matches!(
            b,
            b' ' | b'\t' | b'\n' | b'[' | b'(' | b'{' | b'"' | b'\'' | b'=' | b'|'
        )
    };
    let right = |b: u8| {
        matches!(
            b,
            b' ' | b'\t'
                | b'\n'
                | b'['
                | b']'
                | b'('
                | b')'
                | b'{'
                | b'}'
                | b':'
                | b','
                | b'!'
                | b'"'
                | b'\''
                | b'='
                | b'|'
        )
    };
    for i in 0..line.len() {
        // Every level word starts with one of these letters: most positions end here.
        if !matches!(
            line[i] | 0x20,
            b't' | b'd' | b'f' | b'c' | b'e' | b'w' | b'i'
        ) || (i > 0 && !left(line[i - 1]))
        {
            continue;
        }
        let rest = &line[i..];
        for (word, level) in LEVEL_WORDS {
            let w = word.as_bytes();
            if rest.len() >= w.len()
                && rest[..w.len()].eq_ignore_ascii_case(w)
                && rest.get(w.len()).is_none_or(|b| right(*b))
            {
                return level;
            }
        }
    }
    UNKNOWN
}

/// The first level field with a string value in a JSON object, searching nested objects to
/// [`JSON_MAX_DEPTH`] (as `jsonparser.ObjectEach`: the raw, still escaped, value; on malformed
/// input, whatever was found before the error).
fn json_level(obj: &[u8], depth: usize) -> Option<&[u8]> {
    if depth >= JSON_MAX_DEPTH {
        return None;
    }
    let mut s = Scanner { b: obj, i: 0 };
    s.ws();
    s.eat(b'{')?;
    loop {
        s.ws();
        if s.eat(b'}').is_some() {
            return None;
        }
        let key = s.string()?;
        s.ws();
        s.eat(b':')?;
        s.ws();
        match s.peek()? {
            b'"' => {
                let value = s.string()?;
                if LEVEL_FIELDS.iter().any(|f| f.as_bytes() == key) {
                    return Some(value);
                }
            }
            b'{' => {
                let start = s.i;
                s.skip_value()?;
                if let Some(v) = json_level(&obj[start..s.i], depth + 1) {
                    return Some(v);
                }
            }
            _ => s.skip_value()?,
        }
        s.ws();
        s.eat(b',')?;
    }
}

struct Scanner<'a> {
    b: &'a [u8],
    i: usize,
}

impl<'a> Scanner<'a> {
    fn peek(&self) -> Option<u8> {
        self.b.get(self.i).copied()
    }

    fn ws(&mut self) {
        while matches!(self.peek(), Some(b' ' | b'\t' | b'\n' | b'\r')) {
            self.i += 1;
        }
    }

    fn eat(&mut self, c: u8) -> Option<()> {
        (self.peek()? == c).then(|| self.i += 1)
    }

    /// A string's raw content, without its quotes.
    fn string(&mut self) -> Option<&'a [u8]> {
        self.eat(b'"')?;
        let start = self.i;
        loop {
            match self.peek()? {
                b'\\' => self.i += 2,
                b'"' => {
                    self.i += 1;
                    return Some(&self.b[start..self.i - 1]);
                }
                _ => self.i += 1,
            }
        }
    }

    fn skip_value(&mut self) -> Option<()> {
        let mut depth = 0usize;
        loop {
            self.ws();
            match self.peek()? {
                b'"' => {
                    self.string()?;
                }
                b'{' | b'[' => {
                    depth += 1;
                    self.i += 1;
                }
                b'}' | b']' => {
                    depth = depth.checked_sub(1)?;
                    self.i += 1;
                }
                _ => {
                    while !matches!(
                        self.peek(),
                        None | Some(b',' | b'}' | b']' | b' ' | b'\t' | b'\n' | b'\r' | b'"')
                    ) {
                        self.i += 1;
                    }
                }
            }
            self.ws();
            if depth == 0 {
                return Some(());
            }
            if self.peek() == Some(b',') || self.peek() == Some(b':') {
                self.i += 1;
            }
        }
    }
}

/// The value of the most preferred level field of a logfmt line (keys compared ignoring
/// case, as Loki's `getValueUsingLogfmtParser`); scanning stops at malformed input.
fn logfmt_level(line: &[u8]) -> Option<&[u8]> {
    let mut best: Option<(usize, &[u8])> = None;
    let mut i = 0;
    while i < line.len() {
        while i < line.len() && line[i] <= b' ' {
            i += 1;
        }
        let key_start = i;
        while i < line.len() && line[i] > b' ' && line[i] != b'=' {
            if line[i] == b'"' {
                return best.map(|b| b.1);
            }
            i += 1;
        }
        let key = &line[key_start..i];
        let mut value: &[u8] = &[];
        if line.get(i) == Some(&b'=') {
            i += 1;
            if line.get(i) == Some(&b'"') {
                let start = i + 1;
                i = start;
                while i < line.len() && line[i] != b'"' {
                    i += if line[i] == b'\\' { 2 } else { 1 };
                }
                value = &line[start..i.min(line.len())];
                i += 1;
            } else {
                let start = i;
                while i < line.len() && line[i] > b' ' {
                    i += 1;
                }
                value = &line[start..i];
            }
        }
        if let Some(rank) = LEVEL_FIELDS
            .iter()
            .position(|f| key.eq_ignore_ascii_case(f.as_bytes()))
        {
            if best.is_none_or(|(r, _)| rank < r) {
                best = Some((rank, value));
                if rank == 0 {
                    break;
                }
            }
        }
    }
    best.map(|b| b.1)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn detect(labels: &[(&str, &str)], line: &str, metadata: &[(&str, &str)]) -> Option<String> {
        let labels: Vec<(String, String)> = labels
            .iter()
            .map(|(n, v)| (n.to_string(), v.to_string()))
            .collect();
        let mut e = LogEntry {
            ts: 0,
            line: line.to_string(),
            metadata: metadata
                .iter()
                .map(|(n, v)| (n.to_string(), v.to_string()))
                .collect(),
        };
        StreamLevel::of(&labels).add_level(&mut e);
        e.metadata
            .into_iter()
            .find(|(n, _)| n == DETECTED_LEVEL)
            .map(|(_, v)| v)
    }

    #[test]
    fn levels_as_loki() {
        let d = |line: &str| detect(&[], line, &[]).unwrap();
        assert_eq!(detect(&[("level", "WARNING")], "x", &[]).unwrap(), "warn");
        assert_eq!(detect(&[("level", "notice")], "x", &[]).unwrap(), "notice");
        assert_eq!(
            detect(&[], "x", &[("severity_text", "Error")]).unwrap(),
            "error"
        );
        assert_eq!(
            detect(&[], "x", &[("severity_number", "13")]).unwrap(),
            "warn"
        );
        assert_eq!(
            detect(&[], "x", &[("detected_level", "ERR")]).unwrap(),
            "error"
        );
        assert_eq!(d(r#"{"ts":1,"level":"ERROR","msg":"x"}"#), "error");
        assert_eq!(d(r#"{"a":{"lvl":"debug"},"msg":"info"}"#), "debug");
        // Too deep for the field search; the word search still finds it, as in Loki.
        assert_eq!(d(r#"{"a":{"b":{"level":"debug"}},"msg":"x"}"#), "debug");
        assert_eq!(d(r#"{"a":{"b":{"level":"loud"}},"msg":"x"}"#), "unknown");
        assert_eq!(d("time=1 level=warn msg=\"x error\""), "warn");
        assert_eq!(d("time=1 LEVEL=info"), "info");
        assert_eq!(d("an Error: happened"), "error");
        assert_eq!(d("misc:error here"), "unknown");
        assert_eq!(d("[INFO] then error"), "info");
        assert_eq!(d("nothing here"), "unknown");
        assert_eq!(d("errors everywhere"), "unknown");
        assert_eq!(d(r#"1.2.3.4 - - "GET /?a=b HTTP/1.1" 500"#), "unknown");
    }
}
