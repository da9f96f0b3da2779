//! Where each node of a parsed query starts in the query text, for the "(line:col)" that
//! Prometheus appends to annotations. `promql-parser` keeps no positions, so the query is
//! tokenized again here and walked together with the AST: every node consumes its own tokens
//! in source order. The parser has already accepted the query, so the walk only has to
//! recognise, not validate; if it ever loses its way, the nodes it did not reach have no
//! position and their annotations say so, as upstream does for an invalid position.

use std::collections::{HashMap, HashSet};

use promql_parser::parser::{AggregateExpr, BinaryExpr, Call, Expr, VectorSelector};

use super::function::{Function, ResolvedCalls};

/// Start offsets (bytes) of the nodes of one AST, keyed by node address. The AST must not
/// move while the map is used (the evaluator borrows it for the whole query).
#[derive(Debug, Default)]
pub(crate) struct Positions {
    starts: HashMap<usize, usize>,
    /// String literals whose escapes (`\xff`, octal) make bytes that are not UTF-8. Upstream
    /// keeps those bytes, so e.g. such a label name is invalid; `promql-parser` turns each
    /// byte into a code point, so only the source text tells.
    not_utf8: HashMap<usize, String>,
    /// Binary expressions written with a histogram trim operator (`</`: true, `>/`: false),
    /// which the crate parsed as `<` / `>`.
    trims: HashMap<usize, bool>,
    /// Vector selectors that read histograms' count and sum only (see `hist_stats`).
    stats_selectors: HashSet<usize>,
    /// The function of every call, resolved once per query (see `function`).
    functions: ResolvedCalls,
}

impl Positions {
    pub(crate) fn locate(query: &str, expr: &Expr) -> Positions {
        let mut w = Walker {
            toks: tokenize(query),
            k: 0,
            out: Positions::default(),
        };
        // Walking stops at the first token it does not expect; what was found stays.
        let _ = w.expr(expr);
        let mut out = w.out;
        let trims = &out.trims;
        out.stats_selectors = super::hist_stats::stats_selectors(expr, &|b| {
            trims.contains_key(&(b as *const BinaryExpr as usize))
        });
        out.functions = ResolvedCalls::of(expr);
        out
    }

    /// Whether `expr` is a string literal that upstream would decode to invalid UTF-8.
    pub(crate) fn is_not_utf8(&self, expr: &Expr) -> bool {
        self.not_utf8.contains_key(&key(expr))
    }

    /// Such a literal as Go's `%q` prints its bytes (`"a\xc5z"`).
    pub(crate) fn go_quoted(&self, expr: &Expr) -> Option<&str> {
        self.not_utf8.get(&key(expr)).map(String::as_str)
    }

    /// Whether any binary expression is a histogram trim.
    pub(crate) fn has_trims(&self) -> bool {
        !self.trims.is_empty()
    }

    /// `Some(true)` for `</`, `Some(false)` for `>/`, if `b` is written with one.
    pub(crate) fn trim(&self, b: &BinaryExpr) -> Option<bool> {
        self.trims.get(&(b as *const BinaryExpr as usize)).copied()
    }

    /// Whether `vs` reads histograms' count and sum only (see `hist_stats`).
    pub(crate) fn stats_only(&self, vs: &VectorSelector) -> bool {
        self.stats_selectors
            .contains(&super::hist_stats::selector_key(vs))
    }

    /// The function `call` calls; `None` for a name the registry lacks.
    pub(crate) fn function(&self, call: &Call) -> Option<Function> {
        self.functions.get(call)
    }

    /// The start offset of `expr`, if known.
    pub(crate) fn start(&self, expr: &Expr) -> Option<usize> {
        self.starts.get(&key(expr)).copied()
    }
}

fn key(expr: &Expr) -> usize {
    expr as *const Expr as usize
}

/// `line:col` of a byte offset, both 1-based, columns counted in bytes as upstream does.
pub(crate) fn line_col(query: &str, pos: usize) -> String {
    let before = query.get(..pos).unwrap_or(query).as_bytes();
    let line = 1 + before.iter().filter(|&&b| b == b'\n').count();
    let col = match before.iter().rposition(|&b| b == b'\n') {
        Some(nl) => pos - nl,
        None => pos + 1,
    };
    format!("{line}:{col}")
}

/// Whether a quoted string literal, decoded as Go's `strconv.Unquote` does (`\x` and octal
/// escapes are single bytes), is valid UTF-8.
fn go_unquotes_to_utf8(raw: &str) -> bool {
    if raw.starts_with('`') || !raw.contains('\\') {
        return true;
    }
    let body = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
    let mut bytes = Vec::with_capacity(body.len());
    let mut chars = body.chars().peekable();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some(e) = chars.next() else { break };
        let mut digits = |n: usize, radix: u32| {
            let mut v = 0u32;
            for _ in 0..n {
                v = v * radix + chars.next().and_then(|d| d.to_digit(radix)).unwrap_or(0);
            }
            v
        };
        match e {
            'x' => bytes.push(digits(2, 16) as u8),
            '0'..='7' => {
                let v = (e as u32 - '0' as u32) * 64 + digits(2, 8);
                bytes.push(v as u8);
            }
            'u' | 'U' => {
                let v = digits(if e == 'u' { 4 } else { 8 }, 16);
                let c = char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER);
                let mut buf = [0; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            }
            // Single-character escapes are ASCII.
            _ => bytes.push(b'a'),
        }
    }
    std::str::from_utf8(&bytes).is_ok()
}

/// A quoted literal's bytes (decoded as Go does) quoted as Go's `strconv.Quote`: bytes that
/// are not UTF-8 as `\xNN`.
fn go_quote_bytes(raw: &str) -> String {
    let body = raw.get(1..raw.len().saturating_sub(1)).unwrap_or("");
    let mut bytes = Vec::with_capacity(body.len());
    let mut chars = body.chars();
    while let Some(c) = chars.next() {
        if c != '\\' {
            let mut buf = [0; 4];
            bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
            continue;
        }
        let Some(e) = chars.next() else { break };
        let mut digits = |n: usize, radix: u32| {
            (0..n).fold(0u32, |v, _| {
                v * radix + chars.next().and_then(|d| d.to_digit(radix)).unwrap_or(0)
            })
        };
        let single = match e {
            'x' => Some(digits(2, 16) as u8),
            '0'..='7' => Some(((e as u32 - '0' as u32) * 64 + digits(2, 8)) as u8),
            'n' => Some(b'\n'),
            't' => Some(b'\t'),
            'r' => Some(b'\r'),
            'a' => Some(7),
            'b' => Some(8),
            'f' => Some(12),
            'v' => Some(11),
            'u' | 'U' => {
                let v = digits(if e == 'u' { 4 } else { 8 }, 16);
                let c = char::from_u32(v).unwrap_or(char::REPLACEMENT_CHARACTER);
                let mut buf = [0; 4];
                bytes.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                None
            }
            other => Some(other as u8),
        };
        bytes.extend(single);
    }
    let mut out = String::from("\"");
    for chunk in bytes.utf8_chunks() {
        for c in chunk.valid().chars() {
            match c {
                '"' => out.push_str("\\\""),
                '\\' => out.push_str("\\\\"),
                '\n' => out.push_str("\\n"),
                '\t' => out.push_str("\\t"),
                '\r' => out.push_str("\\r"),
                c if c.is_control() => out.push_str(&format!("\\x{:02x}", c as u32)),
                c => out.push(c),
            }
        }
        for b in chunk.invalid() {
            out.push_str(&format!("\\x{b:02x}"));
        }
    }
    out.push('"');
    out
}

#[derive(Debug, Clone, Copy, PartialEq)]
enum Kind {
    Ident,
    Number,
    Str,
    Punct,
}

#[derive(Debug, Clone)]
struct Tok<'q> {
    kind: Kind,
    text: &'q str,
    at: usize,
}

fn tokenize(q: &str) -> Vec<Tok<'_>> {
    let b = q.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    while i < b.len() {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        if c == b'#' {
            while i < b.len() && b[i] != b'\n' {
                i += 1;
            }
            continue;
        }
        let start = i;
        let kind = if c.is_ascii_alphabetic() || c == b'_' || c == b':' {
            while i < b.len() && (b[i].is_ascii_alphanumeric() || b[i] == b'_' || b[i] == b':') {
                i += 1;
            }
            Kind::Ident
        } else if c.is_ascii_digit() || (c == b'.' && b.get(i + 1).is_some_and(u8::is_ascii_digit))
        {
            i += 1;
            while i < b.len() {
                let d = b[i];
                let exp_sign = (d == b'+' || d == b'-')
                    && matches!(b[i - 1], b'e' | b'E')
                    && !q[start..i].starts_with("0x");
                if d.is_ascii_alphanumeric() || d == b'.' || d == b'_' || exp_sign {
                    i += 1;
                } else {
                    break;
                }
            }
            Kind::Number
        } else if c == b'"' || c == b'\'' || c == b'`' {
            i += 1;
            while i < b.len() && b[i] != c {
                if b[i] == b'\\' && c != b'`' {
                    i += 1;
                }
                i += 1;
            }
            i = (i + 1).min(b.len());
            Kind::Str
        } else {
            let two = q.get(i..i + 2).unwrap_or("");
            i += if matches!(two, "==" | "!=" | ">=" | "<=" | "=~" | "!~" | "</" | ">/") {
                2
            } else {
                // A whole UTF-8 character, so that slicing stays on boundaries.
                q[i..].chars().next().map_or(1, char::len_utf8)
            };
            Kind::Punct
        };
        out.push(Tok {
            kind,
            text: &q[start..i],
            at: start,
        });
    }
    out
}

/// The walk failed to follow the AST (a bug here, never an input error).
struct Lost;

struct Walker<'q> {
    toks: Vec<Tok<'q>>,
    k: usize,
    out: Positions,
}

impl<'q> Walker<'q> {
    fn peek(&self) -> Option<Tok<'q>> {
        self.toks.get(self.k).cloned()
    }

    fn is(&self, text: &str) -> bool {
        self.peek().is_some_and(|t| t.text == text)
    }

    fn is_ident(&self, text: &str) -> bool {
        self.peek()
            .is_some_and(|t| t.kind == Kind::Ident && t.text.eq_ignore_ascii_case(text))
    }

    fn take(&mut self) -> Result<(), Lost> {
        if self.k < self.toks.len() {
            self.k += 1;
            Ok(())
        } else {
            Err(Lost)
        }
    }

    fn expect(&mut self, text: &str) -> Result<(), Lost> {
        if self.is(text) {
            self.take()
        } else {
            Err(Lost)
        }
    }

    /// Skips a bracketed group starting at the current token (`(`, `[` or `{`).
    fn skip_group(&mut self) -> Result<(), Lost> {
        let mut depth = 0usize;
        loop {
            let t = self.peek().ok_or(Lost)?.text;
            self.k += 1;
            match t {
                "(" | "[" | "{" => depth += 1,
                ")" | "]" | "}" => {
                    depth = depth.checked_sub(1).ok_or(Lost)?;
                    if depth == 0 {
                        return Ok(());
                    }
                }
                _ => {}
            }
            if depth == 0 {
                return Err(Lost);
            }
        }
    }

    fn record(&mut self, e: &Expr) -> Result<(), Lost> {
        let at = self.peek().ok_or(Lost)?.at;
        self.out.starts.insert(key(e), at);
        Ok(())
    }

    fn expr(&mut self, e: &Expr) -> Result<(), Lost> {
        // A unary plus leaves no node behind.
        while self.is("+") && !matches!(e, Expr::NumberLiteral(_)) {
            self.take()?;
        }
        self.record(e)?;
        match e {
            Expr::NumberLiteral(_) => {
                // `-1` is folded into the literal, which then starts at its sign.
                while self.is("+") || self.is("-") {
                    self.take()?;
                }
                self.take()
            }
            Expr::StringLiteral(_) => {
                let raw = self.peek().ok_or(Lost)?.text;
                if !go_unquotes_to_utf8(raw) {
                    self.out.not_utf8.insert(key(e), go_quote_bytes(raw));
                }
                self.take()
            }
            Expr::Paren(p) => {
                self.expect("(")?;
                self.expr(&p.expr)?;
                self.expect(")")
            }
            Expr::Unary(u) => {
                self.expect("-")?;
                self.expr(&u.expr)
            }
            Expr::VectorSelector(vs) => {
                self.selector(vs)?;
                self.modifiers()
            }
            Expr::MatrixSelector(ms) => {
                self.selector(&ms.vs)?;
                if self.is("[") {
                    self.skip_group()?;
                }
                self.modifiers()
            }
            Expr::Subquery(sq) => {
                self.expr(&sq.expr)?;
                if self.is("[") {
                    self.skip_group()?;
                }
                self.modifiers()
            }
            Expr::Call(call) => self.call(call),
            Expr::Aggregate(agg) => self.aggregate(agg),
            Expr::Binary(b) => self.binary(b),
            Expr::Extension(_) => Err(Lost),
        }
    }

    fn selector(&mut self, vs: &VectorSelector) -> Result<(), Lost> {
        if vs.name.is_some() && self.peek().is_some_and(|t| t.kind == Kind::Ident) {
            self.take()?;
        }
        if self.is("{") {
            self.skip_group()?;
        }
        Ok(())
    }

    /// `offset <duration>` and `@ <time>`, in either order.
    fn modifiers(&mut self) -> Result<(), Lost> {
        loop {
            if self.is_ident("offset") {
                self.take()?;
                while self.is("-") || self.is("+") {
                    self.take()?;
                }
                if self.is("(") {
                    self.skip_group()?;
                } else {
                    self.take()?;
                }
            } else if self.is("@") {
                self.take()?;
                while self.is("-") || self.is("+") {
                    self.take()?;
                }
                let call = self.is_ident("start") || self.is_ident("end");
                self.take()?;
                if call && self.is("(") {
                    self.skip_group()?;
                }
            } else {
                return Ok(());
            }
        }
    }

    fn call(&mut self, call: &Call) -> Result<(), Lost> {
        self.take()?;
        self.expect("(")?;
        for (i, arg) in call.args.args.iter().enumerate() {
            if i > 0 {
                self.expect(",")?;
            }
            self.expr(arg)?;
        }
        if self.is(",") {
            self.take()?;
        }
        self.expect(")")
    }

    fn grouping(&mut self) -> Result<(), Lost> {
        if self.is_ident("by") || self.is_ident("without") {
            self.take()?;
            self.skip_group()?;
        }
        Ok(())
    }

    fn aggregate(&mut self, agg: &AggregateExpr) -> Result<(), Lost> {
        self.take()?;
        self.grouping()?;
        self.expect("(")?;
        if let Some(p) = &agg.param {
            self.expr(p)?;
            self.expect(",")?;
        }
        self.expr(&agg.expr)?;
        self.expect(")")?;
        self.grouping()
    }

    fn binary(&mut self, b: &BinaryExpr) -> Result<(), Lost> {
        self.expr(&b.lhs)?;
        // The histogram trim operators reach the crate as `<` and `>`.
        if let Some(t) = self
            .toks
            .get(self.k)
            .filter(|t| matches!(t.text, "</" | ">/"))
        {
            let upper = t.text == "</";
            self.out
                .trims
                .insert(b as *const BinaryExpr as usize, upper);
        }
        self.take()?;
        if self.is_ident("bool") {
            self.take()?;
        }
        for words in [
            &["on", "ignoring"][..],
            &["group_left", "group_right"],
            &["fill", "fill_left", "fill_right"],
            &["fill", "fill_left", "fill_right"],
        ] {
            if words.iter().any(|w| self.is_ident(w)) {
                self.take()?;
                if self.is("(") {
                    self.skip_group()?;
                }
            }
        }
        self.expr(&b.rhs)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_quotes_invalid_bytes() {
        assert_eq!(go_quote_bytes(r#""a\xc5z""#), r#""a\xc5z""#);
        assert_eq!(go_quote_bytes(r#""\xff\n\"""#), r#""\xff\n\"""#);
        assert_eq!(go_quote_bytes(r#"'\303\251\377'"#), r#""é\xff""#);
    }

    #[test]
    fn go_string_bytes() {
        assert!(go_unquotes_to_utf8(r#""plain""#));
        assert!(!go_unquotes_to_utf8(r#""\xff""#));
        assert!(go_unquotes_to_utf8(r#""\xc3\xbf""#));
        assert!(!go_unquotes_to_utf8(r#"'\377'"#));
        assert!(go_unquotes_to_utf8(r#""\u00ff\n""#));
        assert!(go_unquotes_to_utf8(r#"`\xff`"#));
    }

    fn find<'e>(e: &'e Expr, pred: &dyn Fn(&Expr) -> bool) -> Option<&'e Expr> {
        if pred(e) {
            return Some(e);
        }
        match e {
            Expr::Paren(p) => find(&p.expr, pred),
            Expr::Unary(u) => find(&u.expr, pred),
            Expr::Subquery(s) => find(&s.expr, pred),
            Expr::Call(c) => c.args.args.iter().find_map(|a| find(a, pred)),
            Expr::Aggregate(a) => a
                .param
                .as_deref()
                .and_then(|p| find(p, pred))
                .or_else(|| find(&a.expr, pred)),
            Expr::Binary(b) => find(&b.lhs, pred).or_else(|| find(&b.rhs, pred)),
            _ => None,
        }
    }

    fn pos_of(q: &str, pred: &dyn Fn(&Expr) -> bool) -> String {
        let e = promql_parser::parser::parse(q).expect("valid query");
        let p = Positions::locate(q, &e);
        let node = find(&e, pred).expect("node");
        line_col(q, p.start(node).expect("located"))
    }

    fn is_call(name: &'static str) -> impl Fn(&Expr) -> bool {
        move |e| matches!(e, Expr::Call(c) if c.func.name == name)
    }

    #[test]
    fn calls_selectors_and_params() {
        assert_eq!(pos_of("sort(foo)", &is_call("sort")), "1:1");
        assert_eq!(pos_of("-1 * sort_desc(foo)", &is_call("sort_desc")), "1:6");
        assert_eq!(
            pos_of("histogram_quantile(0.8, series)", &|e| matches!(
                e,
                Expr::VectorSelector(_)
            )),
            "1:25"
        );
        assert_eq!(
            pos_of(
                "sum by (x) (rate(foo{a=\"(\"}[5m] offset 1m @ start()))\n + rate(bar_total[1m])",
                &|e| matches!(e, Expr::MatrixSelector(m) if m.vs.name.as_deref() == Some("bar_total"))
            ),
            "2:9"
        );
        assert_eq!(
            pos_of("quantile without(point)(NaN, data)", &|e| matches!(
                e,
                Expr::NumberLiteral(_)
            )),
            "1:25"
        );
        assert_eq!(
            pos_of(
                "foo / on(a) group_left(b) -bar + max_over_time(bar[1m:10s])",
                &|e| { matches!(e, Expr::Call(_)) }
            ),
            "1:34"
        );
    }
}
