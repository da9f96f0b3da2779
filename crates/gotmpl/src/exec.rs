//! Executes parsed trees against a [`Value`], as Go's `text/template` `Execute` does.
//!
//! Owns the walk (text, actions, `if`/`with`/`range` with `else`, `break`/`continue`,
//! `template` calls), variables and their scopes, field and method lookup with the
//! `missingkey` option, function calls (with the lazily evaluated `and`/`or`), and Go's error
//! text `template: NAME:LINE:COL: executing "NAME" at <CONTEXT>: MESSAGE`.

use std::sync::Arc;

use super::ast::{Arg, Branch, Command, Node, Number, Operand, Pipe, Tree};
use super::fmt;
use super::funcs::{builtins, check_len, FuncError};
use super::html;
use super::methods::call_method;
use super::value::Value;
use super::{Error, MissingKey, Template};

/// How deep `{{template}}` calls and control structures may nest together during execution
/// (Go allows 100,000 template calls; ours use the native stack).
pub const MAX_EXEC_DEPTH: usize = 200;
/// How many bytes of function and method results one execution may build in all.
pub const MAX_BUILT_BYTES: u64 = 256 << 20;
/// How many nodes one execution may walk: bounds the time of `{{range}}` over large inputs.
pub const MAX_STEPS: u64 = 10_000_000;
/// The most output one execution may produce.
pub const MAX_OUTPUT_BYTES: usize = 16 << 20;

enum Flow {
    Normal,
    Break,
    Continue,
}

pub(super) struct State<'a> {
    tmpl: &'a Template,
    tree: Arc<Tree>,
    vars: Vec<(String, Value)>,
    depth: usize,
    steps: u64,
    built: u64,
    /// `html/template` mode: what actions print is HTML-escaped (see [`html::escape`]) and
    /// HTML comments are left out.
    html: bool,
    /// In `html` mode: inside an HTML comment, where nothing is written.
    in_comment: bool,
    pub out: String,
}

type R<T> = Result<T, Error>;

impl<'a> State<'a> {
    pub fn new(tmpl: &'a Template, tree: Arc<Tree>, dot: &Value, html: bool) -> Self {
        State {
            html,
            in_comment: false,
            tmpl,
            tree,
            vars: vec![("$".to_string(), dot.clone())],
            depth: 0,
            steps: 0,
            built: 0,
            out: String::new(),
        }
    }

    pub fn run(&mut self, dot: &Value) -> R<()> {
        let tree = self.tree.clone();
        self.walk_list(dot, &tree.root)?;
        if self.in_comment {
            return Err(Error::Exec(format!(
                "html/template:{}: ends inside an HTML comment",
                tree.name
            )));
        }
        Ok(())
    }

    /// Writes template text; in `html` mode without its HTML comments, as Go's escaper
    /// elides them (a comment may span actions, whose output is then dropped too).
    fn write_text(&mut self, text: &str) -> R<()> {
        if !self.html {
            return self.write(0, text);
        }
        for piece in html::outside_comments(text, &mut self.in_comment) {
            self.write(0, piece)?;
        }
        Ok(())
    }

    fn err(
        &self,
        pos: usize,
        context: &dyn std::fmt::Display,
        msg: impl std::fmt::Display,
    ) -> Error {
        let src = &self.tree.source;
        let pos = pos.min(src.len());
        let before = &src[..pos];
        let line = 1 + before.matches('\n').count();
        let col = before.rfind('\n').map_or(pos, |nl| pos - nl - 1);
        Error::Exec(format!(
            "template: {}:{line}:{col}: executing {:?} at <{context}>: {msg}",
            self.tree.parse_name, self.tree.name
        ))
    }

    fn write(&mut self, pos: usize, s: &str) -> R<()> {
        if self.out.len() + s.len() > MAX_OUTPUT_BYTES {
            return Err(self.err(
                pos,
                &"output",
                format!("output exceeds {MAX_OUTPUT_BYTES} bytes"),
            ));
        }
        self.out.push_str(s);
        Ok(())
    }

    fn walk_list(&mut self, dot: &Value, list: &[Node]) -> R<Flow> {
        for node in list {
            match self.walk(dot, node)? {
                Flow::Normal => {}
                flow => return Ok(flow),
            }
        }
        Ok(Flow::Normal)
    }

    fn walk(&mut self, dot: &Value, node: &Node) -> R<Flow> {
        self.steps += 1;
        if self.steps > MAX_STEPS {
            return Err(self.limit(format!("more than {MAX_STEPS} steps")));
        }
        match node {
            Node::Text(t) => self.write_text(t)?,
            Node::Action(pipe) => {
                let v = self.eval_pipeline(dot, pipe)?;
                if pipe.decl.is_empty() && !self.in_comment {
                    let text = match (&v, self.html) {
                        (Value::Nil, false) => "<no value>".to_string(),
                        (Value::Nil, true) => String::new(),
                        (Value::Html(s), true) => s.to_string(),
                        (v, true) => html::escape(&fmt::to_string(v)),
                        (v, false) => fmt::to_string(v),
                    };
                    self.write(pipe.pos, &text)?;
                }
            }
            Node::If(b) | Node::With(b) => {
                self.enter()?;
                let mark = self.vars.len();
                let result = self.walk_if(dot, b, matches!(node, Node::With(_)));
                self.vars.truncate(mark);
                self.depth -= 1;
                return result;
            }
            Node::Range(b) => {
                self.enter()?;
                let result = self.walk_range(dot, b);
                self.depth -= 1;
                return result;
            }
            Node::Template { pos, name, pipe } => {
                let context = match pipe {
                    Some(p) => format!("{{{{template {name:?} {p}}}}}"),
                    None => format!("{{{{template {name:?}}}}}"),
                };
                let Some(tree) = self.tmpl.trees.get(name).cloned() else {
                    return Err(self.err(*pos, &context, format!("template {name:?} not defined")));
                };
                if self.depth >= MAX_EXEC_DEPTH {
                    let msg = format!("exceeded maximum template depth ({MAX_EXEC_DEPTH})");
                    return Err(self.err(*pos, &context, msg));
                }
                let new_dot = match pipe {
                    Some(p) => self.eval_pipeline(dot, p)?,
                    None => Value::Nil,
                };
                let saved_vars =
                    std::mem::replace(&mut self.vars, vec![("$".to_string(), new_dot.clone())]);
                let saved_tree = std::mem::replace(&mut self.tree, tree.clone());
                self.depth += 1;
                let result = self.walk_list(&new_dot, &tree.root);
                self.depth -= 1;
                self.tree = saved_tree;
                self.vars = saved_vars;
                result?;
            }
            Node::Break => return Ok(Flow::Break),
            Node::Continue => return Ok(Flow::Continue),
        }
        Ok(Flow::Normal)
    }

    /// Counts one level of control-structure nesting against `MAX_EXEC_DEPTH`.
    fn enter(&mut self) -> R<()> {
        if self.depth >= MAX_EXEC_DEPTH {
            return Err(self.limit(format!(
                "exceeded maximum template depth ({MAX_EXEC_DEPTH})"
            )));
        }
        self.depth += 1;
        Ok(())
    }

    fn limit(&self, msg: String) -> Error {
        Error::Exec(format!(
            "template: {}: executing {:?}: {msg}",
            self.tree.parse_name, self.tree.name
        ))
    }

    fn walk_if(&mut self, dot: &Value, b: &Branch, is_with: bool) -> R<Flow> {
        let v = self.eval_pipeline(dot, &b.pipe)?;
        if v.truth() {
            let new_dot = if is_with { v } else { dot.clone() };
            self.walk_list(&new_dot, &b.list)
        } else if let Some(list) = &b.else_list {
            self.walk_list(dot, list)
        } else {
            Ok(Flow::Normal)
        }
    }

    fn walk_range(&mut self, dot: &Value, b: &Branch) -> R<Flow> {
        let mark = self.vars.len();
        let v = self.eval_pipeline(dot, &b.pipe)?;
        let items: Box<dyn Iterator<Item = (Value, Value)>> = match &v {
            Value::List(l) => {
                let items = l.items.clone();
                Box::new((0..items.len()).map(move |i| (Value::Int(i as i64), items[i].clone())))
            }
            Value::Map(m) => Box::new(
                m.entries
                    .iter()
                    .map(|(k, e)| (Value::str(k), e.clone()))
                    .collect::<Vec<_>>()
                    .into_iter(),
            ),
            Value::Int(n) => Box::new((0..*n).map(|i| (Value::Int(i), Value::Int(i)))),
            Value::Nil => Box::new(std::iter::empty()),
            other => {
                return Err(self.err(
                    b.pipe.pos,
                    &b.pipe,
                    format!("range can't iterate over {}", fmt::to_string(other)),
                ));
            }
        };
        let mut items = items.peekable();
        if items.peek().is_none() {
            let flow = match &b.else_list {
                Some(list) => self.walk_list(dot, list)?,
                None => Flow::Normal,
            };
            self.vars.truncate(mark);
            return Ok(flow);
        }
        let inner_mark = self.vars.len();
        for (index, elem) in items {
            self.steps += 1;
            if self.steps > MAX_STEPS {
                return Err(self.limit(format!("more than {MAX_STEPS} steps")));
            }
            let ndecl = b.pipe.decl.len();
            if ndecl > 0 {
                if b.pipe.is_assign {
                    let (first, second) = if ndecl > 1 {
                        (index.clone(), Some(elem.clone()))
                    } else {
                        (elem.clone(), None)
                    };
                    self.set_var(&b.pipe.decl[0], first);
                    if let Some(e) = second {
                        self.set_var(&b.pipe.decl[1], e);
                    }
                } else {
                    let top = self.vars.len();
                    self.vars[top - 1].1 = elem.clone();
                    if ndecl > 1 {
                        self.vars[top - 2].1 = index.clone();
                    }
                }
            }
            let flow = self.walk_list(&elem, &b.list)?;
            self.vars.truncate(inner_mark);
            if let Flow::Break = flow {
                break;
            }
        }
        self.vars.truncate(mark);
        Ok(Flow::Normal)
    }

    fn set_var(&mut self, name: &str, v: Value) {
        if let Some(slot) = self.vars.iter_mut().rev().find(|(n, _)| n == name) {
            slot.1 = v;
        }
    }

    fn var(&self, name: &str) -> Value {
        self.vars
            .iter()
            .rev()
            .find(|(n, _)| n == name)
            .map_or(Value::Nil, |(_, v)| v.clone())
    }

    fn eval_pipeline(&mut self, dot: &Value, pipe: &Pipe) -> R<Value> {
        let mut value: Option<Value> = None;
        for cmd in &pipe.cmds {
            value = Some(self.eval_command(dot, cmd, value)?);
        }
        let value = value.unwrap_or(Value::Nil);
        for name in &pipe.decl {
            if pipe.is_assign {
                self.set_var(name, value.clone());
            } else {
                self.vars.push((name.clone(), value.clone()));
            }
        }
        Ok(value)
    }

    fn eval_command(&mut self, dot: &Value, cmd: &Command, fin: Option<Value>) -> R<Value> {
        let first = &cmd.args[0];
        match &first.kind {
            Arg::Field(names) => {
                return self.eval_fields(dot, dot.clone(), first, names, &cmd.args[1..], fin)
            }
            Arg::Variable(names) => {
                let v = self.var(&names[0]);
                if names.len() == 1 {
                    self.not_a_function(cmd, first, &fin)?;
                    return Ok(v);
                }
                return self.eval_fields(dot, v, first, &names[1..], &cmd.args[1..], fin);
            }
            Arg::Chain(base, names) => {
                let v = self.eval_arg(dot, base)?;
                return self.eval_fields(dot, v, first, names, &cmd.args[1..], fin);
            }
            Arg::Ident(name) => return self.eval_function(dot, name, cmd, fin),
            _ => {}
        }
        self.not_a_function(cmd, first, &fin)?;
        match &first.kind {
            Arg::Nil => Err(self.err(first.pos, first, "nil is not a command")),
            _ => self.eval_arg(dot, first),
        }
    }

    fn not_a_function(&self, cmd: &Command, first: &Operand, fin: &Option<Value>) -> R<()> {
        if cmd.args.len() > 1 || fin.is_some() {
            return Err(self.err(
                first.pos,
                first,
                format!("can't give argument to non-function {first}"),
            ));
        }
        Ok(())
    }

    /// An argument's value (not a command: functions inside need parentheses).
    fn eval_arg(&mut self, dot: &Value, op: &Operand) -> R<Value> {
        Ok(match &op.kind {
            Arg::Dot => dot.clone(),
            Arg::Nil => Value::Nil,
            Arg::Bool(b) => Value::Bool(*b),
            Arg::Number(_, Number::Int(i)) => Value::Int(*i),
            Arg::Number(_, Number::Float(f)) => Value::Float(*f),
            Arg::Str(_, s) => Value::str(s),
            Arg::Field(names) => self.eval_fields(dot, dot.clone(), op, names, &[], None)?,
            Arg::Variable(names) => {
                let v = self.var(&names[0]);
                self.eval_fields(dot, v, op, &names[1..], &[], None)?
            }
            Arg::Chain(base, names) => {
                let v = self.eval_arg(dot, base)?;
                self.eval_fields(dot, v, op, names, &[], None)?
            }
            Arg::Pipe(p) => {
                let mark = self.vars.len();
                let v = self.eval_pipeline(dot, p)?;
                self.vars.truncate(mark);
                v
            }
            Arg::Ident(name) => {
                let cmd = Command {
                    pos: op.pos,
                    args: Vec::new(),
                };
                self.call(dot, name, &cmd, op, &[], None)?
            }
        })
    }

    /// Walks `.A.B.C` from `recv`; only the last element may take arguments (a method).
    fn eval_fields(
        &mut self,
        dot: &Value,
        mut recv: Value,
        node: &Operand,
        names: &[String],
        args: &[Operand],
        fin: Option<Value>,
    ) -> R<Value> {
        if names.is_empty() {
            return Ok(recv);
        }
        for (i, name) in names.iter().enumerate() {
            let last = i == names.len() - 1;
            let (args, fin) = if last {
                (args, fin.clone())
            } else {
                (&[][..], None)
            };
            recv = self.eval_field(dot, recv, name, node, args, fin)?;
        }
        Ok(recv)
    }

    fn eval_field(
        &mut self,
        dot: &Value,
        recv: Value,
        name: &str,
        node: &Operand,
        args: &[Operand],
        fin: Option<Value>,
    ) -> R<Value> {
        if let Value::Nil = recv {
            if self.tmpl.missing_key == MissingKey::Error {
                return Err(self.err(
                    node.pos,
                    node,
                    format!("nil data; no entry for key {name:?}"),
                ));
            }
            return Ok(Value::Nil);
        }
        let has_args = !args.is_empty() || fin.is_some();
        let mut argv = Vec::with_capacity(args.len() + 1);
        for a in args {
            argv.push(self.eval_arg(dot, a)?);
        }
        if let Some(f) = fin.clone() {
            argv.push(f);
        }
        if let Some(result) = call_method(&recv, name, &argv) {
            let v = result.map_err(|e| match e {
                FuncError::Call(m) => {
                    self.err(node.pos, node, format!("error calling {name}: {m}"))
                }
                FuncError::Args(m) => self.err(node.pos, node, m),
            })?;
            self.charge(&v)?;
            return Ok(v);
        }
        match &recv {
            Value::Struct(s) => match s.field(name) {
                Some(v) => {
                    if has_args {
                        return Err(self.err(
                            node.pos,
                            node,
                            format!("{name} has arguments but cannot be invoked as function"),
                        ));
                    }
                    Ok(v.clone())
                }
                None => Err(self.err(
                    node.pos,
                    node,
                    format!("can't evaluate field {name} in type {}", s.type_name),
                )),
            },
            Value::Map(m) => {
                if has_args {
                    return Err(self.err(
                        node.pos,
                        node,
                        format!("{name} is not a method but has arguments"),
                    ));
                }
                match m.entries.get(name) {
                    Some(v) => Ok(v.clone()),
                    None => match self.tmpl.missing_key {
                        MissingKey::Default => Ok(Value::Nil),
                        MissingKey::Zero => Ok(Value::zero_of(m.kind)),
                        MissingKey::Error => Err(self.err(
                            node.pos,
                            node,
                            format!("map has no entry for key {name:?}"),
                        )),
                    },
                }
            }
            other => Err(self.err(
                node.pos,
                node,
                format!("can't evaluate field {name} in type {}", other.type_name()),
            )),
        }
    }

    fn eval_function(
        &mut self,
        dot: &Value,
        name: &str,
        cmd: &Command,
        fin: Option<Value>,
    ) -> R<Value> {
        let node = &cmd.args[0];
        self.call(dot, name, cmd, node, &cmd.args[1..], fin)
    }

    fn call(
        &mut self,
        dot: &Value,
        name: &str,
        cmd: &Command,
        node: &Operand,
        args: &[Operand],
        fin: Option<Value>,
    ) -> R<Value> {
        let ctx: &dyn std::fmt::Display = if cmd.args.is_empty() { node } else { cmd };
        // `and` and `or` stop evaluating at the first argument that decides the result.
        if (name == "and" || name == "or") && !self.tmpl.funcs.contains(name) {
            let total = args.len() + usize::from(fin.is_some());
            if total == 0 {
                return Err(self.err(
                    cmd.pos,
                    ctx,
                    format!("wrong number of args for {name}: want at least 1 got 0"),
                ));
            }
            let mut v = Value::Nil;
            for a in args {
                v = self.eval_arg(dot, a)?;
                if v.truth() == (name == "or") {
                    return Ok(v);
                }
            }
            if let Some(f) = fin {
                v = f;
            }
            return Ok(v);
        }
        let mut argv = Vec::with_capacity(args.len() + 1);
        for a in args {
            argv.push(self.eval_arg(dot, a)?);
        }
        if let Some(f) = fin {
            argv.push(f);
        }
        let result = match self.tmpl.funcs.get(name) {
            Some(f) => f(&argv),
            None => match builtins::lookup(name) {
                Some(f) => f(&argv),
                None => {
                    return Err(self.err(
                        cmd.pos,
                        ctx,
                        format!("{name:?} is not a defined function"),
                    ))
                }
            },
        };
        let result = result.and_then(|v| match v.as_str() {
            Some(s) => check_len(name, s.len()).map(|()| v),
            None => Ok(v),
        });
        let v = result.map_err(|e| match e {
            FuncError::Call(m) => self.err(cmd.pos, ctx, format!("error calling {name}: {m}")),
            FuncError::Args(m) => self.err(cmd.pos, ctx, m),
        })?;
        self.charge(&v)?;
        Ok(v)
    }

    /// Counts what a call built against `MAX_BUILT_BYTES`, so a long loop of large results
    /// ends in an error instead of running for hours.
    fn charge(&mut self, v: &Value) -> R<()> {
        self.built += match v {
            Value::Str(s) | Value::Html(s) | Value::Url(s) => s.len() as u64,
            Value::List(l) => 16 * l.items.len() as u64,
            Value::Map(m) => 48 * m.entries.len() as u64,
            _ => 0,
        };
        if self.built > MAX_BUILT_BYTES {
            return Err(self.limit(format!("function results exceed {MAX_BUILT_BYTES} bytes")));
        }
        Ok(())
    }
}
