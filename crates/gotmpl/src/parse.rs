//! Parses template text into trees (the AST), as Go's `text/template/parse` does.
//!
//! One source text gives its main tree plus one tree per `{{define}}`/`{{block}}`. The parser
//! checks what Go checks at parse time: functions exist, variables are declared, `break` and
//! `continue` sit inside `range`, every control structure is closed. Errors are Go's
//! `template: NAME:LINE: message`. Nesting is bounded so hostile input cannot exhaust the stack.

use std::sync::Arc;

use super::ast::{Arg, Branch, Command, Node, Number, Operand, Pipe, Tree};
use super::lexer::{lex, Tok, Token};

/// How deep parentheses and control structures may nest.
pub const MAX_NESTING: usize = 100;

/// Parses `text` as template `name`; returns all trees it defines, the main one first.
pub fn parse(name: &str, text: &str, has_func: &dyn Fn(&str) -> bool) -> Result<Vec<Tree>, String> {
    let source: Arc<str> = Arc::from(text);
    let parse_name: Arc<str> = Arc::from(name);
    let err_at = |pos: usize, msg: String| {
        let line = 1 + text[..pos.min(text.len())].matches('\n').count();
        format!("template: {name}:{line}: {msg}")
    };
    let tokens = lex(text).map_err(|e| err_at(e.pos, e.msg))?;
    let mut p = Parser {
        toks: tokens,
        i: 0,
        vars: vec!["$".to_string()],
        range_depth: 0,
        depth: 0,
        has_func,
        defs: Vec::new(),
    };
    let root = p.top().map_err(|(pos, msg)| err_at(pos, msg))?;
    let mut trees = vec![Tree {
        name: name.to_string(),
        parse_name: parse_name.clone(),
        source: source.clone(),
        root,
    }];
    for (def_name, pos, root) in std::mem::take(&mut p.defs) {
        if let Some(prev) = trees.iter().find(|t| t.name == def_name) {
            if !is_empty(&prev.root) && !is_empty(&root) {
                return Err(err_at(
                    pos,
                    format!("template: multiple definition of template {def_name:?}"),
                ));
            }
            if is_empty(&root) {
                continue;
            }
            trees.retain(|t| t.name != def_name);
        }
        trees.push(Tree {
            name: def_name,
            parse_name: parse_name.clone(),
            source: source.clone(),
            root,
        });
    }
    Ok(trees)
}

/// Go's `IsEmptyTree`: only whitespace text.
pub fn is_empty(list: &[Node]) -> bool {
    list.iter()
        .all(|n| matches!(n, Node::Text(t) if t.trim().is_empty()))
}

type PResult<T> = Result<T, (usize, String)>;

struct Parser<'a> {
    toks: Vec<Token>,
    i: usize,
    vars: Vec<String>,
    range_depth: usize,
    depth: usize,
    has_func: &'a dyn Fn(&str) -> bool,
    defs: Vec<(String, usize, Vec<Node>)>,
}

/// How an item list ended.
enum ListEnd {
    End,
    Else(usize),
    Eof,
}

fn describe(t: &Tok) -> String {
    match t {
        Tok::Text(s) => format!("{s:?}"),
        Tok::LeftDelim => "\"{{\"".into(),
        Tok::RightDelim => "\"}}\"".into(),
        Tok::Space => "space".into(),
        Tok::Ident(s) | Tok::Number(s) => format!("{s:?}"),
        Tok::Keyword(k) => format!("<{k}>"),
        Tok::Field(s) => format!("<.{s}>"),
        Tok::Variable(s) => format!("<{s}>"),
        Tok::Dot => "<.>".into(),
        Tok::Str(q, _) | Tok::Char(q, _) => q.clone(),
        Tok::Bool(b) => format!("\"{b}\""),
        Tok::Nil => "<nil>".into(),
        Tok::Pipe => "\"|\"".into(),
        Tok::LParen => "\"(\"".into(),
        Tok::RParen => "\")\"".into(),
        Tok::Declare => "\":=\"".into(),
        Tok::Assign => "\"=\"".into(),
        Tok::Comma => "\",\"".into(),
        Tok::Punct(c) => format!("{:?}", c.to_string()),
        Tok::Eof => "EOF".into(),
    }
}

impl Parser<'_> {
    fn next(&mut self) -> Token {
        let t = self.toks[self.i.min(self.toks.len() - 1)].clone();
        if self.i < self.toks.len() - 1 {
            self.i += 1;
        }
        t
    }

    fn peek(&self) -> &Token {
        &self.toks[self.i.min(self.toks.len() - 1)]
    }

    fn skip_space(&mut self) {
        while self.peek().tok == Tok::Space {
            self.i += 1;
        }
    }

    fn next_non_space(&mut self) -> Token {
        self.skip_space();
        self.next()
    }

    fn peek_non_space(&mut self) -> &Token {
        self.skip_space();
        self.peek()
    }

    fn unexpected<T>(&self, t: &Token, context: &str) -> PResult<T> {
        Err((
            t.pos,
            format!("unexpected {} in {context}", describe(&t.tok)),
        ))
    }

    fn expect_right(&mut self, context: &str) -> PResult<()> {
        let t = self.next_non_space();
        if t.tok != Tok::RightDelim {
            return self.unexpected(&t, context);
        }
        Ok(())
    }

    fn enter(&mut self, pos: usize) -> PResult<()> {
        self.depth += 1;
        if self.depth > MAX_NESTING {
            return Err((pos, format!("nesting deeper than {MAX_NESTING} levels")));
        }
        Ok(())
    }

    fn top(&mut self) -> PResult<Vec<Node>> {
        let mut list = Vec::new();
        loop {
            let t = self.peek().clone();
            match t.tok {
                Tok::Eof => return Ok(list),
                Tok::LeftDelim => {
                    let save = self.i;
                    self.next();
                    if self.peek_non_space().tok == Tok::Keyword("define") {
                        self.next();
                        self.definition()?;
                        continue;
                    }
                    self.i = save;
                }
                _ => {}
            }
            match self.text_or_action()? {
                Ok(node) => list.push(node),
                Err(ListEnd::End) => return Err((t.pos, "unexpected {{end}}".into())),
                Err(ListEnd::Else(pos)) => return Err((pos, "unexpected {{else}}".into())),
                Err(ListEnd::Eof) => return Ok(list),
            }
        }
    }

    fn definition(&mut self) -> PResult<()> {
        let t = self.next_non_space();
        let Tok::Str(_, name) = t.tok else {
            return self.unexpected(&t, "define clause");
        };
        self.expect_right("define clause")?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        let (list, end) = self.item_list()?;
        self.vars = saved;
        match end {
            ListEnd::End => {}
            ListEnd::Else(pos) => return Err((pos, "unexpected {{else}}".into())),
            ListEnd::Eof => return Err((t.pos, "unexpected EOF".into())),
        }
        self.defs.push((name, t.pos, list));
        Ok(())
    }

    /// Nodes until `{{end}}` or `{{else}}`.
    fn item_list(&mut self) -> PResult<(Vec<Node>, ListEnd)> {
        let mut list = Vec::new();
        loop {
            match self.text_or_action()? {
                Ok(node) => list.push(node),
                Err(ListEnd::Eof) => {
                    let pos = self.peek().pos;
                    return Err((pos, "unexpected EOF".into()));
                }
                Err(end) => return Ok((list, end)),
            }
        }
    }

    fn text_or_action(&mut self) -> PResult<Result<Node, ListEnd>> {
        let t = self.next();
        match t.tok {
            Tok::Text(s) => Ok(Ok(Node::Text(s))),
            Tok::LeftDelim => self.action(),
            Tok::Eof => Ok(Err(ListEnd::Eof)),
            _ => self.unexpected(&t, "input"),
        }
    }

    fn action(&mut self) -> PResult<Result<Node, ListEnd>> {
        let t = self.peek_non_space().clone();
        if let Tok::Keyword(k) = t.tok {
            self.next();
            return match k {
                "block" => self.block(t.pos).map(Ok),
                "break" | "continue" => {
                    if self.range_depth == 0 {
                        return Err((t.pos, format!("{{{{{k}}}}} outside {{{{range}}}}")));
                    }
                    self.expect_right(k)?;
                    Ok(Ok(if k == "break" {
                        Node::Break
                    } else {
                        Node::Continue
                    }))
                }
                "else" => {
                    // `else if` / `else with` leave the keyword for the control parser.
                    if !matches!(self.peek_non_space().tok, Tok::Keyword("if" | "with")) {
                        self.expect_right("else")?;
                    }
                    Ok(Err(ListEnd::Else(t.pos)))
                }
                "end" => {
                    self.expect_right("end")?;
                    Ok(Err(ListEnd::End))
                }
                "if" | "range" | "with" => self.control(k, t.pos).map(Ok),
                "template" => self.template_call().map(Ok),
                _ => self.unexpected(&t, "command"),
            };
        }
        let pipe = self.pipeline("command", Tok::RightDelim)?;
        Ok(Ok(Node::Action(pipe)))
    }

    fn control(&mut self, context: &'static str, pos: usize) -> PResult<Node> {
        self.enter(pos)?;
        let mark = self.vars.len();
        let pipe = self.pipeline(context, Tok::RightDelim)?;
        if context == "range" {
            self.range_depth += 1;
        }
        let (list, end) = self.item_list()?;
        if context == "range" {
            self.range_depth -= 1;
        }
        let else_list = match end {
            ListEnd::End => None,
            ListEnd::Else(else_pos) => {
                let chained = match self.peek_non_space().tok {
                    Tok::Keyword(k @ ("if" | "with")) if k == context => Some(k),
                    Tok::Keyword(k @ ("if" | "with")) => {
                        return Err((else_pos, format!("unexpected <{k}> in else")));
                    }
                    _ => None,
                };
                if let Some(k) = chained {
                    let kpos = self.next().pos;
                    Some(vec![self.control(k, kpos)?])
                } else {
                    let (list, end) = self.item_list()?;
                    if !matches!(end, ListEnd::End) {
                        return Err((else_pos, "expected end; found {{else}}".into()));
                    }
                    Some(list)
                }
            }
            ListEnd::Eof => return Err((pos, "unexpected EOF".into())),
        };
        self.vars.truncate(mark);
        self.depth -= 1;
        let branch = Branch {
            pipe,
            list,
            else_list,
        };
        Ok(match context {
            "if" => Node::If(branch),
            "with" => Node::With(branch),
            _ => Node::Range(branch),
        })
    }

    fn template_call(&mut self) -> PResult<Node> {
        let t = self.next_non_space();
        let Tok::Str(_, name) = t.tok else {
            return self.unexpected(&t, "template clause");
        };
        // Go locates a template call at its name.
        let pos = t.pos;
        let pipe = if self.peek_non_space().tok != Tok::RightDelim {
            Some(self.pipeline("template clause", Tok::RightDelim)?)
        } else {
            self.next();
            None
        };
        Ok(Node::Template { pos, name, pipe })
    }

    fn block(&mut self, pos: usize) -> PResult<Node> {
        let t = self.next_non_space();
        let Tok::Str(_, name) = t.tok else {
            return self.unexpected(&t, "block clause");
        };
        let pipe = self.pipeline("block clause", Tok::RightDelim)?;
        let saved = std::mem::replace(&mut self.vars, vec!["$".to_string()]);
        self.enter(pos)?;
        let (list, end) = self.item_list()?;
        self.depth -= 1;
        self.vars = saved;
        if !matches!(end, ListEnd::End) {
            return Err((pos, "unexpected {{else}} in block clause".into()));
        }
        self.defs.push((name.clone(), pos, list));
        Ok(Node::Template {
            pos,
            name,
            pipe: Some(pipe),
        })
    }

    fn pipeline(&mut self, context: &str, end: Tok) -> PResult<Pipe> {
        let pos = self.peek_non_space().pos;
        let mut pipe = Pipe {
            pos,
            is_assign: false,
            decl: Vec::new(),
            cmds: Vec::new(),
        };
        // Declarations: `$x :=`, `$x =`, `$i, $e :=`.
        loop {
            let save = self.i;
            let Tok::Variable(name) = self.peek_non_space().tok.clone() else {
                break;
            };
            self.next();
            let after = self.peek().tok.clone();
            match self.peek_non_space().tok {
                Tok::Declare | Tok::Assign => {
                    pipe.is_assign = self.next().tok == Tok::Assign;
                    pipe.decl.push(name.clone());
                    if pipe.is_assign {
                        if !self.vars.contains(&name) {
                            return Err((pos, format!("undefined variable {name:?}")));
                        }
                    } else {
                        self.vars.extend(pipe.decl.iter().cloned());
                    }
                    break;
                }
                Tok::Comma => {
                    self.next();
                    pipe.decl.push(name);
                    if context != "range" || pipe.decl.len() >= 2 {
                        return Err((pos, format!("too many declarations in {context}")));
                    }
                    if !matches!(self.peek_non_space().tok, Tok::Variable(_)) {
                        let t = self.peek().clone();
                        return self.unexpected(&t, "declaration");
                    }
                    continue;
                }
                _ if after == Tok::Space || !pipe.decl.is_empty() => {
                    if !pipe.decl.is_empty() {
                        let t = self.peek().clone();
                        return self.unexpected(&t, "declaration");
                    }
                    self.i = save;
                    break;
                }
                _ => {
                    self.i = save;
                    break;
                }
            }
        }
        loop {
            let t = self.peek_non_space().clone();
            if t.tok == end {
                self.next();
                if pipe.cmds.is_empty() {
                    return Err((t.pos, format!("missing value for {context}")));
                }
                for (i, c) in pipe.cmds.iter().enumerate().skip(1) {
                    if matches!(
                        c.args[0].kind,
                        Arg::Bool(_) | Arg::Dot | Arg::Nil | Arg::Number(..) | Arg::Str(..)
                    ) {
                        return Err((
                            c.pos,
                            format!("non executable command in pipeline stage {}", i + 1),
                        ));
                    }
                }
                return Ok(pipe);
            }
            match t.tok {
                Tok::Bool(_)
                | Tok::Char(..)
                | Tok::Dot
                | Tok::Field(_)
                | Tok::Ident(_)
                | Tok::Number(_)
                | Tok::Nil
                | Tok::Str(..)
                | Tok::Variable(_)
                | Tok::LParen => {
                    let cmd = self.command()?;
                    pipe.cmds.push(cmd);
                }
                _ => return self.unexpected(&t, context),
            }
        }
    }

    fn command(&mut self) -> PResult<Command> {
        let pos = self.peek_non_space().pos;
        let mut cmd = Command {
            pos,
            args: Vec::new(),
        };
        loop {
            self.skip_space();
            if let Some(op) = self.operand()? {
                cmd.args.push(op);
            }
            let at = self.i;
            let t = self.next();
            match t.tok {
                Tok::Space => continue,
                Tok::RightDelim | Tok::RParen => self.i = at,
                Tok::Pipe => {}
                _ => return self.unexpected(&t, "operand"),
            }
            break;
        }
        if cmd.args.is_empty() {
            return Err((pos, "empty command".into()));
        }
        Ok(cmd)
    }

    fn operand(&mut self) -> PResult<Option<Operand>> {
        let Some(term) = self.term()? else {
            return Ok(None);
        };
        let mut fields = Vec::new();
        // Go places a chain at its first field (where the error context points).
        let chain_pos = self.peek().pos;
        while let Tok::Field(f) = &self.peek().tok {
            fields.push(f.clone());
            self.next();
        }
        if fields.is_empty() {
            return Ok(Some(term));
        }
        let pos = chain_pos;
        let kind = match term.kind {
            Arg::Field(mut f) => {
                f.extend(fields);
                Arg::Field(f)
            }
            Arg::Variable(mut v) => {
                v.extend(fields);
                Arg::Variable(v)
            }
            Arg::Bool(_) | Arg::Str(..) | Arg::Number(..) | Arg::Nil | Arg::Dot => {
                return Err((
                    pos,
                    format!("unexpected . after term {:?}", term_text(&term.kind)),
                ));
            }
            other => Arg::Chain(
                Box::new(Operand {
                    pos: term.pos,
                    kind: other,
                }),
                fields,
            ),
        };
        Ok(Some(Operand { pos, kind }))
    }

    fn term(&mut self) -> PResult<Option<Operand>> {
        self.skip_space();
        let at = self.i;
        let t = self.next();
        let pos = t.pos;
        let kind = match t.tok {
            Tok::Ident(name) => {
                if !(self.has_func)(&name) {
                    return Err((pos, format!("function {name:?} not defined")));
                }
                Arg::Ident(name)
            }
            Tok::Dot => Arg::Dot,
            Tok::Nil => Arg::Nil,
            Tok::Variable(name) => {
                if !self.vars.contains(&name) {
                    return Err((pos, format!("undefined variable {name:?}")));
                }
                Arg::Variable(vec![name])
            }
            Tok::Field(f) => Arg::Field(vec![f]),
            Tok::Bool(b) => Arg::Bool(b),
            Tok::Char(text, c) => Arg::Number(text, Number::Int(i64::from(c))),
            Tok::Number(text) => match parse_number(&text) {
                Some(n) => Arg::Number(text, n),
                None => return Err((pos, format!("illegal number syntax: {text:?}"))),
            },
            Tok::Str(quoted, value) => Arg::Str(quoted, value),
            Tok::LParen => {
                self.enter(pos)?;
                let pipe = self.pipeline("parenthesized pipeline", Tok::RParen)?;
                self.depth -= 1;
                Arg::Pipe(Box::new(pipe))
            }
            _ => {
                self.i = at;
                return Ok(None);
            }
        };
        Ok(Some(Operand { pos, kind }))
    }
}

fn term_text(a: &Arg) -> String {
    match a {
        Arg::Bool(b) => b.to_string(),
        Arg::Str(q, _) | Arg::Number(q, _) => q.clone(),
        Arg::Nil => "nil".into(),
        _ => ".".into(),
    }
}

/// A Go number literal: integers (with `0x`/`0o`/`0b`/`0` prefixes and `_`) stay integers,
/// anything with a fraction or exponent is a float64.
fn parse_number(text: &str) -> Option<Number> {
    let clean = text.replace('_', "");
    let (neg, body) = match clean.as_bytes().first() {
        Some(b'-') => (true, &clean[1..]),
        Some(b'+') => (false, &clean[1..]),
        _ => (false, clean.as_str()),
    };
    if body.ends_with('i') {
        return None;
    }
    let lower = body.to_ascii_lowercase();
    let int = if let Some(h) = lower.strip_prefix("0x") {
        if h.contains(['.', 'p']) {
            None
        } else {
            i64::from_str_radix(h, 16).ok()
        }
    } else if let Some(o) = lower.strip_prefix("0o") {
        i64::from_str_radix(o, 8).ok()
    } else if let Some(b) = lower.strip_prefix("0b") {
        i64::from_str_radix(b, 2).ok()
    } else if lower.contains(['.', 'e']) {
        None
    } else if lower.len() > 1 && lower.starts_with('0') {
        i64::from_str_radix(&lower[1..], 8).ok()
    } else {
        lower.parse::<i64>().ok()
    };
    if let Some(i) = int {
        return Some(Number::Int(if neg { -i } else { i }));
    }
    // The one integer whose magnitude does not fit: -9223372036854775808.
    if neg && lower.parse::<i128>().ok() == Some(-i128::from(i64::MIN)) {
        return Some(Number::Int(i64::MIN));
    }
    if lower.starts_with("0x") || lower.starts_with("0o") || lower.starts_with("0b") {
        return None;
    }
    let f: f64 = lower.parse().ok()?;
    Some(Number::Float(if neg { -f } else { f }))
}
